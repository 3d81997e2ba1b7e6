// sweep-params.test.mjs - the contract-driven sweep of what is not a JSON
// body (sweep.test.mjs sweeps the bodies): every operation's path, every
// query parameter the contract declares and the headers a client sends.
//
//   - paths: every operation without a JSON body (reads, deletions and the
//     bodiless POSTs: closures, submissions, approvals), as a role the access
//     table allows, at a real record made for it; then with each id edited:
//     malformed, nil, an id of another kind of record, a well-formed unknown
//     one, over-long, with junk, a NUL, an encoded slash, and the same id
//     spelled otherwise (percent-encoded, upper case);
//   - query strings: every parameter of every operation, from its schema
//     (lib/sweep.mjs queryVariants): absent, empty, each enum value and an
//     unknown one, integers at their bounds and one past, non-integers, dates
//     malformed and out of range, booleans spelled otherwise, NUL, bad escapes
//     and bad UTF-8, over-long and multibyte values; repeated and unknown
//     parameters; cursors issued, edited, truncated and from another route;
//   - headers: If-Match / If-None-Match malformed and well formed where
//     they are declared (a fresh record for each If-Match) and where they are
//     not; Idempotency-Key at and past its limits, replayed, reused with
//     another body and at another record; Content-Type wrong, missing and with
//     parameters, and a body sent where none is taken; Accept not JSON;
//     Authorization malformed (blanks, two tokens, the scheme's case).
//
// For every request: no 5xx, a 4xx is a problem with a type, the answer is
// one the contract documents (the request helper checks); where the contract
// decides (a value it allows, a value it forbids), the status and the
// problem's type too.  At the end: no worker died and no sanitizer spoke.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { request, psql } from './lib/client.mjs';
import { accept, makeMeeting, refer, today } from './lib/panels.mjs';
import { course, session, startedAgo } from './lib/training.mjs';
import { bodySchema, variants, parameters, queryVariants, validQueryValue, hasJsonBody, allOperations } from './lib/sweep.mjs';
import {
  instant, as, ok, post, sw, cscLead, policeP, chair, admin, TA, officer, child, family, policeEntry, riskPanel,
  referral, action, SECTIONS, THRESHOLDS, tool, publishedTool, screening, cmeCase, booking, attend, watch, sanitizerCases,
} from './lib/sweep-fixtures.mjs';

const watched = watch();
const auditor = () => as('partnership', 'auditor');
const NIL = '00000000-0000-0000-0000-000000000000';

// The minimal body the contract allows for an operation, with the fields
// given (for the records the world needs and the header sweep).
const minimal = (method, template, good = {}) => variants(bodySchema(method, template), (k) => good[k])[0].body;

// --- the world: one record of every kind, made once -----------------------
const W = {};
async function world() {
  const policeToken = policeP();
  W.child = await child();
  W.fam = await family();
  await post(`/v1/families/${W.fam.id}/members`, sw(), minimal('POST', '/v1/families/{id}/members', { child_id: W.child.id }), 201);
  ({ c: W.policeChild, e: W.entry } = await policeEntry(policeToken));
  W.request = await post('/v1/chronology-requests', cscLead(), minimal('POST', '/v1/chronology-requests', {
    child_id: W.policeChild.id, agencies: ['police'], period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: instant(1) }), 201);
  W.panel = await riskPanel();
  W.ref = await referral(W.panel);
  await accept(W.ref, chair());
  W.refShared = await refer(W.panel, W.policeChild, sw(), { criteria: {}, chronology_request_id: W.request.id });
  W.meeting = await makeMeeting(W.panel, [W.ref], { chair: chair() });
  W.decision = await post(`/v1/panel-meetings/${W.meeting.id}/decisions`, chair(),
    minimal('POST', '/v1/panel-meetings/{id}/decisions', { referral_id: W.ref.id, supersedes: null }), 201);
  W.action = await action(W.panel);
  W.course = await course(TA());
  W.session = await session(TA(), W.course.id);
  const att = await booking();
  startedAgo(att.s.id);
  await attend(att.b);
  W.booking = att.b;
  W.booker = att.who;
  W.certificate = (await ok('GET', `/v1/bookings/${att.b.id}/certificate`, att.who)).number;
  const ns = await booking();
  startedAgo(ns.s.id);
  await attend(ns.b, 'no_show');
  W.charge = psql(`select id from safeguard.training_charges where booking_id = '${ns.b.id}'`);
  W.calendar = await post('/v1/school-calendar', admin(), calendarEntry(), 201);
  W.cme = await cmeCase();
  W.tool = await publishedTool();
  W.screeningBy = policeToken;
  ({ c: W.screenedChild, s: W.screening } = await screening(policeToken));
}
function calendarEntry() {
  const d = new Date(Date.UTC(1900, 0, 1) + Math.floor(Math.random() * 18000) * 86400000).toISOString().slice(0, 10);
  return minimal('POST', '/v1/school-calendar', { starts_on: d, ends_on: d, kind: 'holiday' });
}
const etagOf = async (path, token) => (await request('GET', path, { token })).headers.get('etag');

// --- every operation without a JSON body: who calls it, at which record ----
// path(W) for reads; target() for an operation that changes its record: a
// fresh record each time it may succeed ({path, token, headers}).
const READS = {
  'GET /healthz': { token: sw, path: () => '/healthz' },
  'GET /readyz': { token: sw, path: () => '/readyz' },
  'GET /v1/me': { token: sw, path: () => '/v1/me' },
  'GET /v1/agencies': { token: sw, path: () => '/v1/agencies' },
  'GET /v1/audit-events': { token: auditor, path: () => '/v1/audit-events' },
  'GET /v1/changes': { token: sw, path: () => '/v1/changes' },
  'GET /v1/children': { token: sw, path: () => '/v1/children' },
  'GET /v1/children/{id}': { token: sw, path: () => `/v1/children/${W.child.id}` },
  'GET /v1/involvements': { token: cscLead, path: () => '/v1/involvements' },
  'GET /v1/children/{id}/network': { token: sw, path: () => `/v1/children/${W.child.id}/network` },
  'GET /v1/children/{id}/access-log': { token: cscLead, path: () => `/v1/children/${W.child.id}/access-log` },
  'GET /v1/children/{id}/chronology': { token: sw, path: () => `/v1/children/${W.policeChild.id}/chronology` },
  'GET /v1/families/{id}': { token: sw, path: () => `/v1/families/${W.fam.id}` },
  'GET /v1/chronology-entries/{id}': { token: () => W.screeningBy, path: () => `/v1/chronology-entries/${W.entry.id}` },
  'GET /v1/chronology-entries/{id}/versions': { token: () => W.screeningBy, path: () => `/v1/chronology-entries/${W.entry.id}/versions` },
  'GET /v1/chronology-requests': { token: cscLead, path: () => '/v1/chronology-requests' },
  'GET /v1/chronology-requests/{id}': { token: cscLead, path: () => `/v1/chronology-requests/${W.request.id}` },
  'GET /v1/chronology-requests/{id}/draft': { token: policeP, path: () => `/v1/chronology-requests/${W.request.id}/draft` },
  'GET /v1/chronology-requests/{id}/chronology': { token: cscLead, path: () => `/v1/chronology-requests/${W.request.id}/chronology` },
  'GET /v1/chronology-requests/{id}/chronology.csv': { token: cscLead, path: () => `/v1/chronology-requests/${W.request.id}/chronology.csv` },
  'GET /v1/panels': { token: chair, path: () => '/v1/panels' },
  'GET /v1/panels/{id}': { token: chair, path: () => `/v1/panels/${W.panel.id}` },
  'GET /v1/panels/{id}/referrals': { token: chair, path: () => `/v1/panels/${W.panel.id}/referrals` },
  'GET /v1/panel-referrals/{id}': { token: chair, path: () => `/v1/panel-referrals/${W.ref.id}` },
  'GET /v1/panel-referrals/{id}/chronology': { token: chair, path: () => `/v1/panel-referrals/${W.refShared.id}/chronology` },
  'GET /v1/panel-referrals/{id}/discussions': { token: chair, path: () => `/v1/panel-referrals/${W.ref.id}/discussions` },
  'GET /v1/children/{id}/panel-referrals': { token: sw, path: () => `/v1/children/${W.ref.child_id}/panel-referrals` },
  'GET /v1/panels/{id}/meetings': { token: chair, path: () => `/v1/panels/${W.panel.id}/meetings` },
  'GET /v1/panel-meetings/{id}': { token: chair, path: () => `/v1/panel-meetings/${W.meeting.id}` },
  'GET /v1/panel-meetings/{id}/minutes': { token: chair, path: () => `/v1/panel-meetings/${W.meeting.id}/minutes` },
  'GET /v1/panel-meetings/{id}/minutes/versions': { token: chair, path: () => `/v1/panel-meetings/${W.meeting.id}/minutes/versions` },
  'GET /v1/panel-meetings/{id}/discussions': { token: chair, path: () => `/v1/panel-meetings/${W.meeting.id}/discussions` },
  'GET /v1/panel-meetings/{id}/decisions': { token: chair, path: () => `/v1/panel-meetings/${W.meeting.id}/decisions` },
  'GET /v1/panel-decisions/{id}': { token: chair, path: () => `/v1/panel-decisions/${W.decision.id}` },
  'GET /v1/panel-actions': { token: chair, path: () => '/v1/panel-actions' },
  'GET /v1/panel-actions/{id}': { token: chair, path: () => `/v1/panel-actions/${W.action.id}` },
  'GET /v1/panel-actions/{id}/history': { token: chair, path: () => `/v1/panel-actions/${W.action.id}/history` },
  'GET /v1/panels/{id}/action-log': { token: chair, path: () => `/v1/panels/${W.panel.id}/action-log` },
  'GET /v1/panels/{id}/case-list': { token: chair, path: () => `/v1/panels/${W.panel.id}/case-list` },
  'GET /v1/courses': { token: TA, path: () => '/v1/courses' },
  'GET /v1/courses/{id}': { token: TA, path: () => `/v1/courses/${W.course.id}` },
  'GET /v1/courses/{id}/sessions': { token: TA, path: () => `/v1/courses/${W.course.id}/sessions` },
  'GET /v1/completions': { token: TA, path: () => '/v1/completions' },
  'GET /v1/training-sessions/{id}': { token: TA, path: () => `/v1/training-sessions/${W.session.id}` },
  'GET /v1/training-sessions/{id}/bookings': { token: TA, path: () => `/v1/training-sessions/${W.session.id}/bookings` },
  'GET /v1/me/bookings': { token: () => W.booker, path: () => '/v1/me/bookings' },
  'GET /v1/me/bookings.ics': { token: () => W.booker, path: () => '/v1/me/bookings.ics' },
  'GET /v1/me/evaluation-requests': { token: () => W.booker, path: () => '/v1/me/evaluation-requests' },
  'GET /v1/bookings': { token: TA, path: () => '/v1/bookings' },
  'GET /v1/bookings/{id}': { token: TA, path: () => `/v1/bookings/${W.booking.id}` },
  'GET /v1/bookings/{id}/certificate': { token: () => W.booker, path: () => `/v1/bookings/${W.booking.id}/certificate` },
  'GET /v1/bookings/{id}/evaluations': { token: TA, path: () => `/v1/bookings/${W.booking.id}/evaluations` },
  'GET /v1/training-charges': { token: TA, path: () => '/v1/training-charges' },
  'GET /v1/training-charges.csv': { token: TA, path: () => '/v1/training-charges.csv' },
  'GET /v1/certificates/{number}': { token: TA, path: () => `/v1/certificates/${W.certificate}` },
  'GET /v1/school-calendar': { token: admin, path: () => '/v1/school-calendar' },
  'GET /v1/school-calendar/school-days': { token: admin, path: () => '/v1/school-calendar/school-days' },
  'GET /v1/school-calendar/{id}': { token: admin, path: () => `/v1/school-calendar/${W.calendar.id}` },
  'GET /v1/cme-cases': { token: officer, path: () => '/v1/cme-cases' },
  'GET /v1/cme-cases/{id}': { token: officer, path: () => `/v1/cme-cases/${W.cme.id}` },
  'GET /v1/screening-tools': { token: admin, path: () => '/v1/screening-tools' },
  'GET /v1/screening-tools/{id}': { token: admin, path: () => `/v1/screening-tools/${W.tool.tool.id}` },
  'GET /v1/screening-tools/{id}/versions/{version}': { token: admin, path: () => `/v1/screening-tools/${W.tool.tool.id}/versions/${W.tool.version}` },
  'GET /v1/children/{id}/screenings': { token: () => W.screeningBy, path: () => `/v1/children/${W.screenedChild.id}/screenings` },
  'GET /v1/screenings/{id}': { token: () => W.screeningBy, path: () => `/v1/screenings/${W.screening.id}` },
  'GET /v1/screening-report': { token: admin, path: () => '/v1/screening-report' },
  'GET /v1/screening-report.csv': { token: admin, path: () => '/v1/screening-report.csv' },
};
const WRITES = {
  'POST /v1/children/{id}/involvements/{agency}/review': { token: cscLead, target: async () => {
    const c = await child();
    await post(`/v1/children/${c.id}/involvements`, as('health', 'practitioner'), { reason: 'registered with the practice' });
    return { path: `/v1/children/${c.id}/involvements/health/review` };
  } },
  'DELETE /v1/families/{id}/members/{child_id}': { token: sw, target: async () => {
    const f = await family();
    const c = await child();
    const res = await request('POST', `/v1/families/${f.id}/members`, { token: sw(), body: minimal('POST', '/v1/families/{id}/members', { child_id: c.id }) });
    assert.equal(res.status, 201, res.text);
    return { path: `/v1/families/${f.id}/members/${c.id}`, headers: { 'If-Match': res.headers.get('etag') } };
  } },
  'POST /v1/chronology-requests/{id}/closure': { token: cscLead, target: async () => {
    const c = await child();
    const r = await post('/v1/chronology-requests', cscLead(), minimal('POST', '/v1/chronology-requests', {
      child_id: c.id, agencies: ['police'], period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: instant(1) }), 201);
    return { path: `/v1/chronology-requests/${r.id}/closure` };
  } },
  'POST /v1/panel-meetings/{id}/minutes/approval': { token: chair, target: async () => {
    const m = await makeMeeting(await riskPanel(), [], { chair: chair() });
    return { path: `/v1/panel-meetings/${m.id}/minutes/approval`, headers: { 'If-Match': await etagOf(`/v1/panel-meetings/${m.id}/minutes`, chair()) } };
  } },
  'DELETE /v1/school-calendar/{id}': { token: admin, target: async () => {
    const e = await post('/v1/school-calendar', admin(), calendarEntry(), 201);
    return { path: `/v1/school-calendar/${e.id}`, headers: { 'If-Match': await etagOf(`/v1/school-calendar/${e.id}`, admin()) } };
  } },
  'POST /v1/cme-cases/{id}/closure': { token: officer, target: async () => {
    const k = await cmeCase();
    await post(`/v1/cme-cases/${k.id}/enquiries`, officer(), { enquiry_date: today(0), method: 'home_visit', outcome: 'ehe_confirmed' }, 201);
    await post(`/v1/cme-cases/${k.id}/resolution`, officer(), { resolution: 'elective_home_education' }, 200);
    return { path: `/v1/cme-cases/${k.id}/closure` };
  } },
  'POST /v1/screening-tools/{id}/versions/{version}/publication': { token: admin, target: async () => {
    const t = await tool();
    const v = await post(`/v1/screening-tools/${t.id}/versions`, admin(), { sections: SECTIONS, thresholds: THRESHOLDS }, 201);
    return { path: `/v1/screening-tools/${t.id}/versions/${v.version}/publication` };
  } },
  'POST /v1/screenings/{id}/submission': { token: policeP, target: async (token) => ({ path: `/v1/screenings/${(await screening(token)).s.id}/submission` }) },
};

// --- paths -------------------------------------------------------------------
// The segments of a path that fill the template's {parameters}.
function slots(template, path) {
  const t = template.split('/');
  const p = path.split('/');
  return t.map((seg, i) => (seg.startsWith('{') ? { i, name: seg.slice(1, -1), value: p[i] } : null)).filter(Boolean);
}
const withSegment = (path, i, value) => path.split('/').map((s, j) => (j === i ? value : s)).join('/');
const pctAll = (s) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

// Edits of one path parameter: [name, segment, expected status, problem type];
// a status of null: any 4xx problem.  The edits that change the path's shape
// (OFF_CONTRACT) reach no operation of the contract, so the contract's
// validator cannot judge them: they must be a 4xx problem all the same.
function edits(slot, otherId) {
  const v = slot.value;
  const uuid = /^[0-9a-f-]{36}$/.test(v);
  const nf = [404, '/problems/not-found'];
  const bad = [400, '/problems/invalid-request'];
  const out = [
    ['malformed', 'not-a-uuid', ...nf],
    ['unknown', randomUUID(), ...nf],
    ['nil', NIL, ...nf],
    ['over-long', 'f'.repeat(600), ...nf],
    ['very-long', 'f'.repeat(20000), null, null], // past nginx's header buffers: its 400 (414)
    ['trailing-junk', `${v}x`, ...nf],
    ['encoded-space', `${v}%20`, ...nf],
    ['nul', `${v}%00`, ...bad],
    ['encoded-slash', `${v}%2Fx`, ...nf],
    ['multibyte', encodeURIComponent('\u00e9\u{1F600}'), ...nf],
    ['bad-utf8', '%C3%28', ...nf],
    ['empty', '', null, null],
  ];
  if (uuid) {
    out.push(['other-kind', otherId, ...nf]);
    out.push(['no-hyphens', v.replace(/-/g, ''), ...nf]);
    out.push(['braces', `%7B${v}%7D`, ...nf]);
  } else if (slot.name === 'version') {
    for (const [n, s] of [['zero', '0'], ['negative', '-1'], ['huge', '99999999999999999999'], ['fraction', '1.5'], ['leading-zero', `0${v}`], ['plus', `%2B${v}`]]) out.push([n, s, ...nf]);
  } else if (slot.name === 'agency') {
    out.push(['unknown-agency', 'nobody', ...nf], ['upper-case', v.toUpperCase(), ...nf]);
  }
  return out;
}

const OFF_CONTRACT = new Set(['very-long', 'nul', 'encoded-slash', 'empty']);

async function send(method, path, token, opts = {}) {
  try {
    return await request(method, path, { token, ...opts });
  } catch (e) {
    return { error: e.message };
  }
}
// A finding for an answer that breaks the rules every request keeps.
function rules(res, shown) {
  if (res.error) return `answer not in the contract: ${res.error.slice(0, 400)}\n    ${shown}`;
  if (res.status >= 500) return `${res.status} ${res.text.slice(0, 200)}\n    ${shown}`;
  if (res.status >= 400 && (typeof res.body !== 'object' || !res.body?.type)) return `${res.status} without a problem type\n    ${shown}`;
  return null;
}
const short = (s) => (s.length > 160 ? `${s.slice(0, 150)}...(${s.length})` : s);

async function sweepPath(op) {
  const [method, template] = op.split(' ');
  const c = READS[op] ?? WRITES[op];
  const findings = [];
  const write = !READS[op];
  // the query parameters the contract requires, valid, on every request
  const rq = parameters(method, template).filter((p) => p.in === 'query' && p.required)
    .map((p, i) => `${i ? '&' : '?'}${p.name}=${encodeURIComponent(validQueryValue(p))}`).join('');
  const fresh = async () => {
    const token = c.token();
    const t = write ? await c.target(token) : { path: c.path() };
    return { token: t.token ?? token, path: t.path, headers: t.headers ?? {} };
  };
  // the record as it is, and the same id spelled otherwise: the same answer
  // (an operation that changes its record gets a fresh one for each)
  const spellings = [['as-is', null]];
  for (const s of slots(template, (await fresh()).path)) {
    if (/^[0-9a-f-]{36}$/.test(s.value)) spellings.push(['percent-encoded', s.name], ['upper-case', s.name]);
  }
  for (const [name, slotName] of spellings) {
    const t = await fresh();
    const s = slots(template, t.path).find((x) => x.name === slotName);
    const p = s ? withSegment(t.path, s.i, name === 'percent-encoded' ? pctAll(s.value) : s.value.toUpperCase()) : t.path;
    const res = await send(method, p + rq, t.token, { headers: t.headers });
    const f = rules(res, `${method} ${short(p)}`);
    const label = s ? `${name}:${s.name}` : name;
    if (f) findings.push(`${label}: ${f}`);
    else if (res.status >= 300 && res.status !== 304) findings.push(`${label}: ${res.status} ${res.body?.type} ${res.text.slice(0, 200)}\n    ${method} ${short(p)}`);
  }
  // an unknown query parameter: refused before anything is read or changed;
  // a read answers HEAD as GET, without the body
  {
    const t = await fresh();
    const p = `${t.path}${rq || '?'}${rq ? '&' : ''}sweep_unknown=1`;
    const res = await send(method, p, t.token, { headers: t.headers });
    const f = rules(res, `${method} ${short(p)}`);
    if (f) findings.push(`unknown-parameter: ${f}`);
    else if (res.status !== 400 || res.body.type !== '/problems/invalid-query') findings.push(`unknown-parameter: ${res.status} ${res.body?.type ?? ''}, expected 400 /problems/invalid-query\n    ${method} ${short(p)}`);
    else if (write) {
      const again = await send(method, t.path + rq, t.token, { headers: t.headers });
      if (again.error || again.status >= 300) findings.push(`unknown-parameter: the refused request changed the record (then ${again.status ?? again.error})\n    ${method} ${short(p)}`);
    }
    if (method === 'GET') {
      const g = await send('GET', t.path + rq, t.token);
      const h = await send('HEAD', t.path + rq, t.token);
      const fh = rules(h, `HEAD ${short(t.path)}`);
      if (fh && !/without a problem type/.test(fh)) findings.push(`HEAD: ${fh}`);
      else if (h.status !== g.status || h.text !== '') findings.push(`HEAD: ${h.status} with ${h.text.length} bytes, GET ${g.status}\n    HEAD ${short(t.path)}`);
    }
  }
  // each parameter edited, the others real
  const t = await fresh();
  for (const s of slots(template, t.path)) {
    // a real id of another kind of record (a panel's where a child's is meant)
    const otherId = s.name === 'child_id' || template.startsWith('/v1/children/') ? W.panel.id : W.child.id;
    for (const [name, seg, status, type] of edits(s, otherId)) {
      const p = withSegment(t.path, s.i, seg);
      const headers = { ...t.headers };
      const off = OFF_CONTRACT.has(name);
      const res = await send(method, p + rq, t.token, { headers, validate: !off });
      const shown = `${method} ${short(p)}`;
      let f = rules(res, shown);
      if (!f && off && !(res.status >= 400 && res.status < 500 && /^application\/problem\+json/.test(res.headers.get('content-type')))) {
        f = `${res.status} ${res.headers.get('content-type')}: not a 4xx problem\n    ${shown}`;
      }
      if (f) findings.push(`${s.name}=${name}: ${f}`);
      else if (status && (res.status !== status || res.body?.type !== type)) {
        findings.push(`${s.name}=${name}: ${res.status} ${res.body?.type ?? ''}, expected ${status} ${type}\n    ${shown}`);
      }
    }
  }
  return findings;
}

// --- query strings -----------------------------------------------------------
// A real cursor of each list (a page of one, when the caller sees two rows).
const CURSORS = new Map();
async function cursorOf(op) {
  if (!CURSORS.has(op)) {
    const c = READS[op];
    const path = c.path();
    const res = await request('GET', `${path}${path.includes('?') ? '&' : '?'}limit=1`, { token: c.token() });
    CURSORS.set(op, res.status === 200 ? res.body.next_cursor ?? null : null);
  }
  return CURSORS.get(op);
}

async function sweepQuery(op) {
  const [method, template] = op.split(' ');
  const c = READS[op];
  const base = c.path();
  const token = c.token();
  const params = parameters(method, template).filter((p) => p.in === 'query');
  // the parameters the contract requires, valid, with every variant of another
  const required = params.filter((p) => p.required);
  const withRequired = (qs, except) => [...required.filter((p) => p.name !== except).map((p) => `${p.name}=${encodeURIComponent(validQueryValue(p))}`), qs]
    .filter(Boolean).join('&');
  const findings = [];
  const cases = [{ name: 'absent', qs: '', expect: 'ok' }, { name: 'unknown-parameter', qs: 'sweep_unknown=1', expect: 'refuse', types: ['/problems/invalid-query'] },
    { name: 'bare-question-mark', qs: '?', expect: 'any' }, { name: 'lone-ampersands', qs: '&&', expect: 'ok' },
    { name: 'key-nul', qs: 'a%00=1', expect: 'refuse', types: ['/problems/invalid-query'] },
    { name: 'key-bad-utf8', qs: '%C3=1', expect: 'refuse', types: ['/problems/invalid-query'] },
    { name: 'parameter-upper-case', qs: params[0] ? `${params[0].name.toUpperCase()}=1` : 'X=1', expect: 'refuse', types: ['/problems/invalid-query'] }];
  for (const p of params) cases.push(...queryVariants(p));
  for (const p of required) cases.push({ name: `${p.name}:absent`, param: p.name, qs: '', expect: 'refuse', types: ['/problems/invalid-query'] });
  if (params.some((p) => p.name === 'limit')) {
    cases.push({ name: 'repeated:limit', qs: 'limit=5&limit=6', expect: 'refuse', types: ['/problems/invalid-query'] });
    cases.push({ name: 'repeated-same:limit', qs: 'limit=5&limit=5', expect: 'refuse', types: ['/problems/invalid-query'] });
    cases.push({ name: 'no-equals:limit', qs: 'limit', expect: 'refuse', types: ['/problems/invalid-query'] });
  }
  if (params.some((p) => p.name === 'cursor')) {
    const cur = await cursorOf(op);
    const otherOp = op === 'GET /v1/children' ? 'GET /v1/panels' : 'GET /v1/children';
    const foreign = await cursorOf(otherOp);
    const CUR = ['/problems/invalid-cursor'];
    if (cur) {
      const e = encodeURIComponent;
      cases.push({ name: 'cursor:issued', qs: `cursor=${e(cur)}`, expect: 'ok' });
      cases.push({ name: 'cursor:issued-with-limit', qs: `limit=1&cursor=${e(cur)}`, expect: 'ok' });
      cases.push({ name: 'cursor:truncated', qs: `cursor=${e(cur.slice(0, Math.floor(cur.length / 2)))}`, expect: 'refuse', types: CUR });
      cases.push({ name: 'cursor:last-char-off', qs: `cursor=${e(cur.slice(0, -1))}`, expect: 'any', types: CUR });
      const mid = Math.floor(cur.length / 2);
      const flip = cur[mid] === 'A' ? 'B' : 'A';
      cases.push({ name: 'cursor:one-char-changed', qs: `cursor=${e(cur.slice(0, mid) + flip + cur.slice(mid + 1))}`, expect: 'any', types: CUR });
      cases.push({ name: 'cursor:appended', qs: `cursor=${e(`${cur}AAAA`)}`, expect: 'refuse', types: CUR });
      cases.push({ name: 'cursor:doubled', qs: `cursor=${e(cur + cur)}`, expect: 'refuse', types: CUR });
      cases.push({ name: 'cursor:repeated', qs: `cursor=${e(cur)}&cursor=${e(cur)}`, expect: 'refuse', types: ['/problems/invalid-query'] });
    }
    // a plain cursor is a position the caller could choose (README: keyset
    // pages), so another list's may be taken where its keys have the same kinds
    if (foreign) cases.push({ name: `cursor:from ${otherOp}`, qs: `cursor=${encodeURIComponent(foreign)}`, expect: 'any', types: CUR });
  }
  if (op === 'GET /v1/changes') {
    // since: the sync_cursor a page hands out (sealed), edited, and a plain cursor
    const page = await request('GET', `${base}?limit=1`, { token });
    const since = page.body?.sync_cursor;
    const plain = await cursorOf('GET /v1/children');
    const e = encodeURIComponent;
    const CUR = ['/problems/invalid-cursor'];
    if (since) {
      cases.push({ name: 'since:issued', qs: `since=${e(since)}`, expect: 'ok' });
      cases.push({ name: 'since:truncated', qs: `since=${e(since.slice(0, Math.floor(since.length / 2)))}`, expect: 'refuse', types: CUR });
      const mid = Math.floor(since.length / 2);
      cases.push({ name: 'since:one-char-changed', qs: `since=${e(since.slice(0, mid) + (since[mid] === 'A' ? 'B' : 'A') + since.slice(mid + 1))}`, expect: 'refuse', types: CUR });
      cases.push({ name: 'since:appended', qs: `since=${e(`${since}AAAA`)}`, expect: 'refuse', types: CUR });
      cases.push({ name: 'since:as cursor', qs: `cursor=${e(since)}`, expect: 'any', types: CUR });
    } else findings.push(`GET /v1/changes?limit=1 gave no sync_cursor: ${page.status}`);
    if (plain) cases.push({ name: 'since:a plain cursor of GET /v1/children', qs: `since=${e(plain)}`, expect: 'refuse', types: CUR });
  }
  for (const v of cases) {
    const qs = withRequired(v.qs, v.param);
    const path = qs === '' ? base : `${base}?${qs}`;
    const res = await send(method, path, token);
    const shown = `${method} ${short(path)}`;
    const f = rules(res, shown);
    if (f) findings.push(`${v.name}: ${f}`);
    else if (v.expect === 'ok' && res.status >= 300) findings.push(`${v.name}: refused a value the contract allows: ${res.status} ${res.text.slice(0, 200)}\n    ${shown}`);
    else if (v.expect === 'refuse' && (res.status !== 400 || !v.types.includes(res.body?.type))) {
      findings.push(`${v.name}: ${res.status} ${res.body?.type ?? ''}, expected 400 ${v.types.join(' or ')}\n    ${shown}`);
    } else if (v.expect === 'any' && res.status === 400 && v.types && !v.types.includes(res.body?.type)) {
      findings.push(`${v.name}: 400 ${res.body?.type}, expected ${v.types.join(' or ')}\n    ${shown}`);
    }
  }
  return findings;
}

// --- the sweep ---------------------------------------------------------------
// [regex of `${op} ${finding}`, what is wrong and where the fix belongs];
// empty while none is known (the fixed ones are at the end of this file)
const KNOWN = [];
const known = (op, f) => KNOWN.find(([re]) => re.test(`${op} ${f}`));
const unknown = (op, findings) => findings.filter((f) => !known(op, f));

describe('the contract-driven sweep of paths, query strings and headers', { concurrency: 8 }, () => {
  before(world);
  for (const op of [...Object.keys(READS), ...Object.keys(WRITES)]) {
    it(`${op}: the record, and its ids edited`, async () => {
      const findings = unknown(op, await sweepPath(op));
      assert.deepEqual(findings, [], `${op}:\n  ${findings.join('\n  ')}`);
    });
  }
  for (const op of Object.keys(READS)) {
    it(`${op}: every query parameter`, async () => {
      const findings = unknown(op, await sweepQuery(op));
      assert.deepEqual(findings, [], `${op}:\n  ${findings.join('\n  ')}`);
    });
  }
});

// --- headers -------------------------------------------------------------------
const declares = (op, name) => parameters(...op.split(' ')).some((p) => p.in === 'header' && p.name === name);
const INM = (etag) => [
  ['the ETag', etag, [304]],
  ['stale, well-formed', '"v999-0000000000000000"', [200]],
  ['garbage', 'garbage', [200]],
  ['empty quotes', '""', [200]],
  ['one quote', '"', [200]],
  ['weak form of the ETag', `W/${etag}`, [200, 304]], // If-None-Match compares weakly: 304 is right
  ['star', '*', [200, 304]],
  ['a list holding the ETag', `"x", ${etag}`, [200, 304]],
  ['over-long', `"${'v'.repeat(6000)}"`, [200]],
];
// The answers If-Match may have: [name, value, statuses, problem type when refused]
const IM = (etag) => [
  ['absent', undefined, [428], '/problems/precondition-required'],
  ['garbage', 'garbage', [412], '/problems/precondition-failed'],
  ['empty', '', [428, 412], null],
  ['empty quotes', '""', [412], '/problems/precondition-failed'],
  ['stale, well-formed', '"v999-0000000000000000"', [412], '/problems/precondition-failed'],
  ['version only, stale', '"v999"', [412], '/problems/precondition-failed'],
  ['huge version', '"v99999999999999999999999-0"', [412], '/problems/precondition-failed'],
  ['negative version', '"v-1-0"', [412], '/problems/precondition-failed'],
  // nginx marks the ETag of a compressed answer weak, and takes the W/ off
  // If-Match again (nginx.conf.in): the weak form of the ETag is the ETag
  ['weak form of the ETag', `W/${etag}`, [200, 204], null],
  ['weak and stale', 'W/"v999-0000000000000000"', [412], '/problems/precondition-failed'],
  ['star', '*', [200, 204, 412], '/problems/precondition-failed'],
  ['a list holding the ETag', `"x", ${etag}`, [200, 204, 412], '/problems/precondition-failed'],
  ['the ETag without quotes', etag.replace(/"/g, ''), [412], '/problems/precondition-failed'],
  ['over-long and stale', `"v999-${'0'.repeat(6000)}"`, [412], '/problems/precondition-failed'],
  ['the ETag\'s version, another digest', etag.replace(/-[0-9a-f]+"$/, '-0"'), [200, 204], null], // only the version is compared (README)
  ['the ETag', etag, [200, 204], null],
];
// The operations that declare If-Match, each with a fresh record and a body
// a correct server takes: the bodiless ones of WRITES and two PATCHes.
const IF_MATCH = {
  ...Object.fromEntries(Object.entries(WRITES).filter(([op]) => declares(op, 'If-Match')).map(([op, c]) => [op, async () => {
    const token = c.token();
    const t = await c.target(token);
    return { method: op.split(' ')[0], path: t.path, token: t.token ?? token, etag: t.headers['If-Match'] };
  }])),
  'PATCH /v1/families/{id}': async () => {
    const f = await family();
    return { method: 'PATCH', path: `/v1/families/${f.id}`, token: sw(), body: { name: `Sweep family ${randomUUID().slice(0, 6)}` }, etag: await etagOf(`/v1/families/${f.id}`, sw()) };
  },
  'PATCH /v1/children/{id}': async () => {
    const c = await child();
    return { method: 'PATCH', path: `/v1/children/${c.id}`, token: sw(), body: { first_name: 'Swept' }, etag: await etagOf(`/v1/children/${c.id}`, sw()) };
  },
};

async function sweepHeaders() {
  const findings = [];
  const check = (name, res, shown, want, type) => {
    const f = rules(res, shown);
    if (f) findings.push(`${name}: ${f}`);
    else if (want && !want.includes(res.status)) findings.push(`${name}: ${res.status} ${res.body?.type ?? ''}, expected ${want.join(' or ')}\n    ${shown}`);
    else if (type && res.status >= 400 && res.body.type !== type) findings.push(`${name}: ${res.status} ${res.body.type}, expected ${type}\n    ${shown}`);
  };
  // If-None-Match on every read that declares it; ignored by those that do not
  for (const [op, c] of Object.entries(READS)) {
    const token = c.token();
    const path = c.path();
    const first = await request('GET', path, { token });
    // the delta sync tags only an answer with nothing new ("changes-none")
    const etag = op === 'GET /v1/changes' ? '"changes-none"' : first.headers.get('etag');
    if (declares(op, 'If-None-Match') && !etag) {
      findings.push(`${op}: declares If-None-Match, but its answer (${first.status}) has no ETag\n    GET ${path}`);
    } else if (declares(op, 'If-None-Match')) {
      for (const [name, value, w] of INM(etag)) {
        const want = op === 'GET /v1/changes' ? [200, 304] : w;
        check(`${op} If-None-Match ${name}`, await send('GET', path, token, { headers: { 'If-None-Match': value }, validate: name !== 'over-long' }), `GET ${path} If-None-Match: ${short(value)}`, want);
      }
    } else if (op.startsWith('GET /v1/') && !op.includes('/changes')) {
      for (const value of ['*', 'garbage', '"v1-0000000000000000"']) {
        check(`${op} If-None-Match ${value} (not declared)`, await send('GET', path, token, { headers: { 'If-None-Match': value } }), `GET ${path} If-None-Match: ${value}`, [first.status]);
      }
    }
    // If-Match on a read, and Idempotency-Key on a read: ignored
    check(`${op} If-Match on a read`, await send('GET', path, token, { headers: { 'If-Match': 'garbage' } }), `GET ${path} If-Match: garbage`, [first.status]);
  }
  // If-Match where it is declared: a fresh record for each
  for (const [op, make] of Object.entries(IF_MATCH)) {
    const probe = await make();
    for (const [name, value, want, type] of IM(probe.etag)) {
      const t = await make();
      // the values made from the ETag, made again from this record's
      const v = name === 'the ETag' ? t.etag : name === 'weak form of the ETag' ? `W/${t.etag}` : name === 'a list holding the ETag' ? `"x", ${t.etag}`
        : name === 'the ETag without quotes' ? t.etag.replace(/"/g, '') : name === 'the ETag\'s version, another digest' ? t.etag.replace(/-[0-9a-f]+"$/, '-0"') : value;
      const headers = v === undefined ? {} : { 'If-Match': v };
      check(`${op} If-Match ${name}`, await send(t.method, t.path, t.token, { headers, body: t.body, validate: !name.startsWith('over-long') }), `${t.method} ${t.path} If-Match: ${short(String(v))}`, want, type);
    }
  }
  // If-Match on a write that does not declare it: ignored
  for (const op of ['POST /v1/chronology-requests/{id}/closure', 'POST /v1/screenings/{id}/submission']) {
    const c = WRITES[op];
    const token = c.token();
    const t = await c.target(token);
    check(`${op} If-Match (not declared)`, await send('POST', t.path, t.token ?? token, { headers: { 'If-Match': '"v999-0"' } }), `POST ${t.path} If-Match: "v999-0"`, [200]);
  }
  return findings;
}

// A check of one answer, noted in findings: the contract's rules, then the
// statuses wanted and, for a refusal, its problem type.
const checker = (findings) => (name, res, shown, want, type) => {
  const f = rules(res, shown);
  if (f) findings.push(`${name}: ${f}`);
  else if (!want.includes(res.status)) findings.push(`${name}: ${res.status} ${res.body?.type ?? ''} ${res.text.slice(0, 200)}, expected ${want.join(' or ')}\n    ${shown}`);
  else if (type && res.status >= 400 && res.body?.type !== type) findings.push(`${name}: ${res.status} ${res.body?.type}, expected ${type}\n    ${shown}`);
};

async function sweepIdempotency() {
  const findings = [];
  const check = checker(findings);
  const body = () => ({ name: `Sweep family ${randomUUID().slice(0, 6)}` });
  const VF = '/problems/validation-failed';
  for (const [name, key, want, type] of [
    ['at its limit', `k${'x'.repeat(199)}`, [201], null],
    ['one past its limit', `k${'x'.repeat(200)}`, [400], VF],
    ['far past its limit', `k${'x'.repeat(5000)}`, [400], VF],
    ['every allowed character', `AZaz09_.:-${randomUUID()}`, [201], null],
    ['empty', '', [201, 400], VF],
    ['blank', ' ', [201, 400], VF],
    ['a space inside', 'a b', [400], VF],
    ['a slash', 'a/b', [400], VF],
    ['a quote', 'a"b', [400], VF],
    ['latin-1', 'caf\u00e9', [400], VF],
    ['a comma (two keys?)', 'a,b', [400], VF],
  ]) {
    const token = sw();
    const k = name.startsWith('at') || name.startsWith('every') ? key.slice(0, -8) + randomUUID().slice(0, 8) : key;
    check(`POST /v1/families Idempotency-Key ${name}`, await send('POST', '/v1/families', token, { body: body(), headers: { 'Idempotency-Key': k } }), `POST /v1/families Idempotency-Key: ${short(k)}`, want, type);
  }
  // a retry replays; the same key with another body, or at another record, is 422
  const token = sw();
  const key = `sweep-${randomUUID()}`;
  const b = body();
  const first = await send('POST', '/v1/families', token, { body: b, headers: { 'Idempotency-Key': key } });
  check('Idempotency-Key first', first, 'POST /v1/families', [201]);
  const again = await send('POST', '/v1/families', token, { body: b, headers: { 'Idempotency-Key': key } });
  check('Idempotency-Key retried', again, 'POST /v1/families (retried)', [201]);
  if (again.status === 201 && (again.body.id !== first.body.id || again.headers.get('idempotent-replayed') !== 'true')) findings.push('Idempotency-Key retried: not a replay of the first answer');
  check('Idempotency-Key with another body', await send('POST', '/v1/families', token, { body: body(), headers: { 'Idempotency-Key': key } }),
    'POST /v1/families (the same key, another body)', [422], '/problems/idempotency-key-reuse');
  check('Idempotency-Key with the body reordered', await send('POST', '/v1/families', token, { rawBody: JSON.stringify(b).replace(/^\{/, '{ '), headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' } }),
    'POST /v1/families (the same key, the same body spaced otherwise)', [201, 422], '/problems/idempotency-key-reuse');
  check('Idempotency-Key on another route', await send('POST', '/v1/chronology-requests', token, { body: {}, headers: { 'Idempotency-Key': key } }),
    'POST /v1/chronology-requests (the same key)', [400, 422]);
  // a bodiless POST: the same key at another record is 422
  const w = WRITES['POST /v1/screenings/{id}/submission'];
  const st = w.token();
  const t1 = await w.target(st);
  const t2 = await w.target(st);
  const k2 = `sweep-${randomUUID()}`;
  check('Idempotency-Key bodiless', await send('POST', t1.path, st, { headers: { 'Idempotency-Key': k2 } }), `POST ${t1.path}`, [200]);
  const replay = await send('POST', t1.path, st, { headers: { 'Idempotency-Key': k2 } });
  check('Idempotency-Key bodiless retried', replay, `POST ${t1.path} (retried)`, [200]);
  if (replay.headers?.get('idempotent-replayed') !== 'true') findings.push(`Idempotency-Key bodiless retried: not replayed\n    POST ${t1.path}`);
  check('Idempotency-Key bodiless at another record', await send('POST', t2.path, st, { headers: { 'Idempotency-Key': k2 } }), `POST ${t2.path} (the same key)`, [422], '/problems/idempotency-key-reuse');
  // a GET does not take one: ignored
  check('Idempotency-Key on a GET', await send('GET', `/v1/children/${W.child.id}`, sw(), { headers: { 'Idempotency-Key': 'a b' } }), 'GET /v1/children/{id} Idempotency-Key: a b', [200]);
  return findings;
}

async function sweepContentType() {
  const findings = [];
  const check = checker(findings);
  const UM = '/problems/unsupported-media-type';
  const CT = [
    ['missing', undefined, [415], UM],
    ['text/plain', 'text/plain', [415], UM],
    ['with charset=utf-8', 'application/json; charset=utf-8', [201], null],
    ['with charset=UTF-8, no space', 'application/json;charset=UTF-8', [201], null],
    ['with a quoted charset', 'application/json; charset="utf-8"', [201, 415], UM],
    ['upper case', 'Application/JSON', [201], null],
    ['with charset=latin1', 'application/json; charset=latin1', [201, 415], UM],
    ['with another parameter', 'application/json; profile=x', [201, 415], UM],
    ['a trailing semicolon', 'application/json;', [201, 415], UM],
    ['a longer name', 'application/jsonx', [415], UM],
    ['json-seq', 'application/json-seq', [415], UM],
    ['a +json type', 'application/merge-patch+json', [201, 415], UM],
    ['form', 'application/x-www-form-urlencoded', [415], UM],
    ['multipart', 'multipart/form-data; boundary=x', [415], UM],
    ['two types', 'application/json, text/plain', [201, 415], UM],
    ['empty', '', [415], UM],
    ['over-long', `application/json; x=${'y'.repeat(3000)}`, [201, 400, 415], null],
  ];
  for (const [name, ctype, want, type] of CT) {
    const headers = ctype === undefined ? {} : { 'Content-Type': ctype };
    const res = await send('POST', '/v1/families', sw(), { rawBody: JSON.stringify({ name: `Sweep family ${randomUUID().slice(0, 6)}` }), headers });
    check(`POST /v1/families Content-Type ${name}`, res, `POST /v1/families Content-Type: ${short(String(ctype))}`, want, type);
  }
  // a PATCH and a PUT too
  for (const [name, ctype, want, type] of [['text/plain', 'text/plain', [415], UM], ['with charset=utf-8', 'application/json; charset=utf-8', [200], null], ['missing', undefined, [415], UM]]) {
    const f = await family();
    const token = sw();
    const etag = await etagOf(`/v1/families/${f.id}`, token);
    const headers = { 'If-Match': etag, ...(ctype === undefined ? {} : { 'Content-Type': ctype }) };
    check(`PATCH /v1/families/{id} Content-Type ${name}`, await send('PATCH', `/v1/families/${f.id}`, token, { rawBody: JSON.stringify({ name: 'Swept' }), headers }),
      `PATCH /v1/families/${f.id} Content-Type: ${ctype}`, want, type);
  }
  // a body where none is taken: bodiless POSTs with a JSON body, a text body, a Content-Type alone
  for (const [name, opts] of [
    ['a JSON body', { rawBody: '{"x":1}', headers: { 'Content-Type': 'application/json' } }],
    ['an empty JSON object', { rawBody: '{}', headers: { 'Content-Type': 'application/json' } }],
    ['a text body', { rawBody: 'hello', headers: { 'Content-Type': 'text/plain' } }],
    ['a Content-Type alone', { headers: { 'Content-Type': 'text/plain' } }],
  ]) {
    for (const op of ['POST /v1/screenings/{id}/submission', 'POST /v1/chronology-requests/{id}/closure']) {
      const c = WRITES[op];
      const token = c.token();
      const t = await c.target(token);
      check(`${op} with ${name}`, await send('POST', t.path, t.token ?? token, opts), `POST ${t.path} with ${name}`, [200, 400, 413, 415]);
    }
  }
  return findings;
}

async function sweepAcceptAndAuthorization() {
  const findings = [];
  const check = checker(findings);
  for (const accept of ['text/html', 'application/xml', '*/*', 'application/problem+json', 'text/csv', 'application/json;q=0', 'application/pdf', '', 'x'.repeat(3000)]) {
    for (const op of ['GET /v1/children/{id}', 'GET /v1/children', 'GET /v1/training-charges.csv', 'GET /v1/bookings/{id}/certificate', 'GET /v1/me/bookings.ics']) {
      const c = READS[op];
      const path = c.path();
      check(`${op} Accept: ${short(accept)}`, await send('GET', path, c.token(), { headers: { Accept: accept } }), `GET ${path} Accept: ${short(accept)}`, [200]);
    }
    check(`POST /v1/families Accept: ${short(accept)}`, await send('POST', '/v1/families', sw(), { body: { name: 'Sweep family' }, headers: { Accept: accept } }), `POST /v1/families Accept: ${short(accept)}`, [201]);
  }
  const UN = '/problems/unauthorized';
  const tok = sw();
  for (const [name, value, want] of [
    ['two blanks', `Bearer  ${tok}`, [200, 401]],
    ['a tab', `Bearer\t${tok}`, [200, 401]],
    ['a trailing blank', `Bearer ${tok} `, [200, 401]],
    ['lower-case scheme', `bearer ${tok}`, [200]],
    ['upper-case scheme', `BEARER ${tok}`, [200]],
    ['two tokens', `Bearer ${tok} ${tok}`, [401]],
    ['two headers', `Bearer ${tok}, Bearer ${tok}`, [401]],
    ['quoted', `Bearer "${tok}"`, [401]],
    ['no scheme', tok, [401]],
    ['scheme alone', 'Bearer', [401]],
    ['scheme and a blank', 'Bearer ', [401]],
    ['Basic', 'Basic dXNlcjpwYXNz', [401]],
    ['a dot appended', `Bearer ${tok}.`, [401]],
    ['a segment dropped', `Bearer ${tok.split('.').slice(0, 2).join('.')}`, [401]],
    ['latin-1 inside', `Bearer ${tok.slice(0, 20)}\u00e9${tok.slice(21)}`, [401]],
    ['over-long', `Bearer ${tok}${'A'.repeat(7000)}`, [400, 401]],
    ['empty', '', [401]],
  ]) {
    for (const path of ['/v1/me', `/v1/children/${W.child.id}`]) {
      const res = await send('GET', path, undefined, { headers: { Authorization: value }, validate: name !== 'over-long' });
      check(`GET ${path} Authorization ${name}`, res, `GET ${path} Authorization: ${short(value)}`, want, name === 'over-long' ? null : UN);
      if (res.status === 401 && !/^Bearer/.test(res.headers.get('www-authenticate') ?? '')) findings.push(`Authorization ${name}: 401 without WWW-Authenticate: Bearer`);
    }
  }
  return findings;
}

describe('the contract-driven sweep of headers', { concurrency: 4 }, () => {
  before(async () => {
    if (!W.child) await world();
  });
  for (const [name, fn] of [['If-Match and If-None-Match, declared or not', sweepHeaders], ['Idempotency-Key at and past its limits, and reused', sweepIdempotency],
    ['Content-Type wrong, missing and with parameters; a body where none is taken', sweepContentType], ['Accept not JSON; Authorization malformed', sweepAcceptAndAuthorization]]) {
    it(`${name}: no 5xx, only documented answers, the refusals' types`, async () => {
      const findings = unknown('headers', await fn());
      assert.deepEqual(findings, [], findings.join('\n  '));
    });
  }
});

describe('the sweep covers the contract', () => {
  it('every operation without a JSON body is swept (GET /metrics answers only the host)', () => {
    const swept = new Set([...Object.keys(READS), ...Object.keys(WRITES)]);
    const missing = allOperations().map(([m, t]) => `${m} ${t}`)
      .filter((op) => !hasJsonBody(...op.split(' ')) && !swept.has(op) && op !== 'GET /metrics');
    assert.deepEqual(missing, []);
  });
});

sanitizerCases(watched);

describe('the defects the sweep found', () => {
  for (const [, what] of KNOWN) it(what, { todo: true }, () => assert.fail(what));
});

describe('the defects the sweep found, fixed', () => {
  // Two terms far in the past: the weekdays between them are a closure, so
  // the calendar closes more weekdays up to today than 2000-01-03 to today
  // holds, and today's school-day count (038's school_day_ord) is negative.
  async function farPastTerms() {
    const made = [];
    for (const year of [1901, 1948]) {
      for (let tries = 0; tries < 20; tries++) {
        const d = new Date(Date.UTC(year, 0, 1) + Math.floor(Math.random() * 360) * 86400000).toISOString().slice(0, 10);
        const res = await request('POST', '/v1/school-calendar', { token: admin(), body: { kind: 'term', name: 'Sweep term', starts_on: d, ends_on: d } });
        if (res.status === 201) {
          made.push(res.body.id);
          break;
        }
        assert.equal(res.status, 409, res.text);
      }
    }
    assert.equal(made.length, 2);
    return made;
  }
  async function removeEntries(ids) {
    for (const id of ids) {
      const etag = await etagOf(`/v1/school-calendar/${id}`, admin());
      assert.equal((await request('DELETE', `/v1/school-calendar/${id}`, { token: admin(), headers: { 'If-Match': etag } })).status, 204);
    }
  }
  it('GET /v1/cme-cases answers (it was a 500, "bigint out of range") while a term far in the past makes today\'s school-day count negative', async () => {
    const k = await cmeCase();
    const terms = await farPastTerms();
    try {
      assert.ok(Number(psql('select safeguard.school_day_ord(current_date)')) < 0, 'the calendar does not make today\'s count negative');
      const officerToken = officer();
      for (const qs of ['', '?status=open', `?child_id=${k.child_id}`, '?limit=1']) {
        const res = await request('GET', `/v1/cme-cases${qs}`, { token: officerToken });
        assert.equal(res.status, 200, `GET /v1/cme-cases${qs}: ${res.text}`);
      }
      const mine = await request('GET', `/v1/cme-cases?child_id=${k.child_id}`, { token: officerToken });
      assert.deepEqual(mine.body.items.map((c) => c.id), [k.id]);
    } finally {
      await removeEntries(terms);
    }
  });
  it('GET /v1/audit-events takes a filter of maxLength characters of "é" (it counted bytes: a 400 at half the length)', async () => {
    const token = auditor();
    for (const [name, max] of [['actor', 200], ['action', 100], ['resource_type', 100], ['resource_id', 200]]) {
      const res = await request('GET', `/v1/audit-events?${name}=${encodeURIComponent('\u00e9'.repeat(max))}`, { token });
      assert.equal(res.status, 200, `${name}: ${res.text}`);
      const past = await request('GET', `/v1/audit-events?${name}=${encodeURIComponent('\u00e9'.repeat(max + 1))}`, { token });
      assert.equal(past.status, 400, past.text);
      assert.equal(past.body.type, '/problems/invalid-query');
      assert.deepEqual(past.body.errors.map((e) => `${e.field}:${e.code}`), [`${name}:too_long`]);
    }
  });
});
