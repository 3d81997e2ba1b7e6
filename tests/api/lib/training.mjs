// training.mjs - what the training suites share: delegates with a name and
// an email in their tokens (a booking records both), courses and sessions
// made by a training admin, dates in the deployment's time zone, and the
// training terms changed for one test and put back.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rs256 } from './tokens.mjs';
import { request, psql } from './client.mjs';

// A token for one person; `name` and `email` default from the sub.
export function person(agency, roles, sub = `t-${agency}-${randomUUID().slice(0, 8)}`, extra = {}) {
  return rs256({
    sub, agency, roles: [].concat(roles), name: `Delegate ${sub}`, email: `${sub}@${agency}.example.org`,
    exp: Math.floor(Date.now() / 1000) + 3600, ...extra,
  });
}

export const subOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sub;

export const admin = () => person('partnership', 'training_admin', `tadmin-${randomUUID().slice(0, 8)}`);

export const manager = { line_manager_name: 'Mo Patel', line_manager_email: 'mo.patel@example.org' };

// Europe/London calendar arithmetic, as the deployment counts days.
const ZONE = 'Europe/London';
export const ymd = (d, zone = ZONE) => new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
const hm = (d, zone = ZONE) => new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
export const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Today's date in the zone plus n days, YYYY-MM-DD. */
export function localDate(n = 0, zone = ZONE) {
  const [y, m, d] = ymd(new Date(), zone).split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** The UTC instant (RFC 3339) of a wall-clock time on a date in the zone. */
export function localInstant(date, time, zone = ZONE) {
  const [y, m, d] = date.split('-').map(Number);
  const [hh, mm] = time.split(':').map(Number);
  for (let off = -14 * 60; off <= 14 * 60; off += 15) {
    const t = new Date(Date.UTC(y, m - 1, d, hh, mm) - off * 60000);
    if (ymd(t, zone) === date && hm(t, zone) === time) return iso(t);
  }
  throw new Error(`no instant for ${date} ${time} in ${zone}`);
}

export const inDays = (days, hours = 10) => new Date(Date.now() + days * 86400000 + hours * 3600000);

export async function course(token, body = {}) {
  const res = await request('POST', '/v1/courses', {
    token,
    body: { title: `Course ${randomUUID().slice(0, 6)}`, format: 'webinar', organiser: 'Partnership business unit', status: 'published', ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

export async function session(token, courseId, body = {}) {
  const start = inDays(20);
  const res = await request('POST', `/v1/courses/${courseId}/sessions`, {
    token,
    body: { starts_at: iso(start), ends_at: iso(new Date(start.getTime() + 2 * 3600000)), mode: 'online', capacity: 10, ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

export async function book(token, sessionId, { headers = {}, body = manager, validate = true } = {}) {
  return request('POST', `/v1/training-sessions/${sessionId}/bookings`, { token, body, headers, validate });
}

export async function cancel(token, bookingId, body = {}) {
  return request('POST', `/v1/bookings/${bookingId}/cancellation`, { token, body });
}

/** Moves a session into the past (it started `hoursAgo` hours ago and ran for two hours). */
export function startedAgo(sessionId, hoursAgo = 3) {
  psql(`update safeguard.training_sessions set starts_at = now() - interval '${hoursAgo} hours',
        ends_at = now() - interval '${hoursAgo} hours' + interval '2 hours',
        booking_closes_at = now() - interval '${hoursAgo} hours' where id = '${sessionId}'`);
}

/** Runs fn with the training terms changed, and puts them back whatever happens. */
export async function withTerms(set, fn) {
  const before = psql(`select row_to_json(t) from safeguard.training_settings t`);
  psql(`update safeguard.training_settings set ${set}`);
  try {
    return await fn();
  } finally {
    const b = JSON.parse(before);
    psql(`update safeguard.training_settings set time_zone = '${b.time_zone}', cancellation_cutoff_days = ${b.cancellation_cutoff_days},
          charge_pence = ${b.charge_pence}, currency = '${b.currency}', manager_evaluation_after = '${b.manager_evaluation_after}'`);
  }
}
