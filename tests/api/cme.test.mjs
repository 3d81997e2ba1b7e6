// Children missing education (issue 12, part 1): the school calendar and
// school-day counting across holidays and bank holidays, CME cases (one open
// per child, the state machine, the destination rule), the register kept in
// step and audited, the 20-day and looked-after / child-protection flags,
// the officer's list in order and in pages, every access cell, and the
// consolidated chronology's out-of-education pattern on a Jacob-like history.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { as, tokenFor } from './lib/people.mjs';

const officer = tokenFor('education', 'safeguarding_lead', 'cme-officer');
const cmeChair = tokenFor('education', 'panel_chair', 'cme-chair');
const policeAdmin = tokenFor('police', 'admin', 'police-admin');

const utcDay = (offset = 0) => {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
};
const monthsAgo = (n) => {
  const d = new Date();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() - n);
  return d.toISOString().slice(0, 10);
};
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

function problem(res, status, type) {
  assert.equal(res.status, status, `expected ${status} ${type}, got ${res.status}: ${res.text.slice(0, 400)}`);
  assert.equal(res.body.type, `/problems/${type}`);
  return res.body;
}
const errorsOf = (body) => body.errors.map((e) => `${e.field}:${e.code}`).sort();

async function post(path, token, body, status = 201, headers = {}) {
  const res = await request('POST', path, { token, body, headers });
  assert.equal(res.status, status, `${path}: ${res.text.slice(0, 400)}`);
  return res.body;
}

async function newChild(fields = {}, token = as.cscSocialWorker) {
  return post('/v1/children', token, { first_name: 'Cme', last_name: 'Child', date_of_birth: '2011-05-05', ...fields });
}
// A child created by CSC with education (the school) in its network.
async function schoolChild(fields = {}) {
  const c = await newChild(fields);
  await post(`/v1/children/${c.id}/involvements`, as.education, { reason: 'pupil at the school' });
  return c;
}
const notification = (childId, fields = {}) => ({
  child_id: childId, reason: 'not_attending', since: utcDay(-3), school_urn: '123456', school_name: 'Demo Academy',
  what_is_known: 'Not seen in school since the start of the week; phone calls unanswered.', ...fields,
});
const enquiry = (fields = {}) => ({ enquiry_date: utcDay(0), method: 'home_visit', outcome: 'no_contact', ...fields });
// The latest day from which exactly n school days run to today (UTC), by the database's own count.
const sinceFor = (n) => psql(`select max(d)::date::text from generate_series((now() at time zone 'UTC')::date - 150,
  (now() at time zone 'UTC')::date, interval '1 day') d
  where safeguard.school_days(d::date, (now() at time zone 'UTC')::date) = ${n}`);
const audits = (action, id) => psql(`select count(*) from safeguard.audit_events where action = '${action}' and resource_id = '${id}'`);
const makePanel = (body) => post('/v1/panels', as.admin, { name: `${body.type} panel ${randomUUID().slice(0, 6)}`, ...body });

// The partnership's CME panel, chaired by education (its panel_chair is the
// CME panel's chair, who works cases with the CME officer); health sits on it.
let cme;
before(async () => {
  cme = await makePanel({ type: 'cme', chair_agency: 'education', member_agencies: ['education', 'csc', 'health'] });
});

describe('the school calendar', () => {
  // 2024-25, as a deployment would hold it: terms, a half term, Christmas and
  // Easter between terms, and bank holidays (one in a gap, one in term).
  const year = [
    { kind: 'term', name: 'Autumn term 2024', starts_on: '2024-09-04', ends_on: '2024-12-20' },
    { kind: 'holiday', name: 'Autumn half term 2024', starts_on: '2024-10-28', ends_on: '2024-11-01' },
    { kind: 'bank_holiday', name: 'Christmas Day', starts_on: '2024-12-25', ends_on: '2024-12-25' },
    { kind: 'term', name: 'Spring term 2025', starts_on: '2025-01-06', ends_on: '2025-04-04' },
    { kind: 'bank_holiday', name: 'Good Friday', starts_on: '2025-04-18', ends_on: '2025-04-18' },
    { kind: 'term', name: 'Summer term 2025', starts_on: '2025-04-22', ends_on: '2025-07-22' },
    { kind: 'bank_holiday', name: 'Early May bank holiday', starts_on: '2025-05-05', ends_on: '2025-05-05' },
  ];
  const created = [];
  before(async () => {
    psql(`delete from safeguard.school_calendar where starts_on between '2024-08-01' and '2025-08-31'`);
    for (const e of year) created.push(await post('/v1/school-calendar', as.admin, e));
  });
  const days = async (from, to, token = as.police) => {
    const res = await request('GET', `/v1/school-calendar/school-days?from=${from}&to=${to}`, { token });
    assert.equal(res.status, 200, res.text);
    return res.body;
  };

  it('counts weekdays minus a half term', async () => {
    // 2024-10-21 (Mon) to 2024-11-08 (Fri): 15 weekdays, 5 of them half term
    assert.deepEqual(await days('2024-10-21', '2024-11-08'), { from: '2024-10-21', to: '2024-11-08', school_days: 10, weekdays: 15 });
  });
  it('closes the gap between terms once, with a bank holiday inside it', async () => {
    // 2024-12-16 to 2025-01-10: 20 weekdays; 2024-12-21..2025-01-05 is between terms (10 weekdays), Christmas Day among them
    assert.equal((await days('2024-12-16', '2025-01-10')).school_days, 10);
    // Easter: 2025-03-31 to 04-25, 20 weekdays; 04-05..04-21 between terms (11 weekdays), Good Friday among them
    assert.equal((await days('2025-03-31', '2025-04-25')).school_days, 9);
  });
  it('takes a bank holiday out of a term', async () => {
    // 2025-04-28 to 2025-05-09: 10 weekdays, the early May bank holiday on the 5th
    assert.equal((await days('2025-04-28', '2025-05-09')).school_days, 9);
    assert.equal((await days('2025-05-05', '2025-05-05')).school_days, 0);
    assert.equal((await days('2025-05-06', '2025-05-06')).school_days, 1);
    assert.equal((await days('2025-05-10', '2025-05-11')).school_days, 0); // a weekend
  });
  it('refuses a count without both dates, backwards, or over ten years', async () => {
    let res = await request('GET', '/v1/school-calendar/school-days?from=2025-01-01', { token: as.police });
    assert.deepEqual(errorsOf(problem(res, 400, 'invalid-query')), ['to:required']);
    res = await request('GET', '/v1/school-calendar/school-days?from=2025-01-02&to=2025-01-01', { token: as.police });
    assert.deepEqual(errorsOf(problem(res, 400, 'invalid-query')), ['to:before_start']);
    res = await request('GET', '/v1/school-calendar/school-days?from=2000-01-01&to=2025-01-01', { token: as.police });
    assert.deepEqual(errorsOf(problem(res, 400, 'invalid-query')), ['to:too_long']);
    res = await request('GET', '/v1/school-calendar/school-days?from=2025-02-30&to=2025-03-01', { token: as.police });
    assert.deepEqual(errorsOf(problem(res, 400, 'invalid-query')), ['from:invalid_date']);
    problem(await request('GET', '/v1/school-calendar/school-days?from=2025-01-01&to=2025-01-02'), 401, 'unauthorized');
  });
  it('lists by date and kind in pages, shows one entry with its ETag', async () => {
    let res = await request('GET', '/v1/school-calendar?from=2024-09-01&to=2025-08-31&kind=bank_holiday', { token: as.health });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.items.map((e) => e.starts_on), ['2024-12-25', '2025-04-18', '2025-05-05']);
    res = await request('GET', '/v1/school-calendar?from=2024-09-01&to=2025-08-31&limit=4', { token: as.health });
    const next = await request('GET', `/v1/school-calendar?from=2024-09-01&to=2025-08-31&limit=4&cursor=${res.body.next_cursor}`, { token: as.health });
    assert.deepEqual([...res.body.items, ...next.body.items].map((e) => e.name), [...year].sort((a, b) => a.starts_on.localeCompare(b.starts_on)).map((e) => e.name));
    assert.equal(next.body.next_cursor, null);
    problem(await request('GET', '/v1/school-calendar?cursor=bogus', { token: as.health }), 400, 'invalid-cursor');
    res = await request('GET', `/v1/school-calendar/${created[0].id}`, { token: as.youthJustice });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('etag'), /^"v1-[0-9a-f]{16}"$/);
    assert.equal((await request('GET', `/v1/school-calendar/${created[0].id}`, { token: as.youthJustice, headers: { 'If-None-Match': res.headers.get('etag') } })).status, 304);
    problem(await request('GET', `/v1/school-calendar/${randomUUID()}`, { token: as.health }), 404, 'not-found');
  });
  it('is managed by admins only, with every bad field at once; terms never overlap, one bank holiday a day', async () => {
    const entry = { kind: 'holiday', name: 'INSET day', starts_on: '2025-06-02', ends_on: '2025-06-02' };
    for (const token of [as.cscLead, as.auditor, as.trainingAdmin, officer]) problem(await request('POST', '/v1/school-calendar', { token, body: entry }), 403, 'forbidden');
    const inset = await post('/v1/school-calendar', policeAdmin, entry); // an admin of any agency
    assert.equal(inset.created_by, 'police-admin');
    assert.equal(audits('school_calendar.create', inset.id), '1');
    let res = await request('POST', '/v1/school-calendar', { token: as.admin, body: { kind: 'bank_holiday', name: '', starts_on: '2025-06-03', ends_on: '2025-06-04', id: randomUUID() } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['ends_on:one_day', 'id:read_only', 'name:required']);
    res = await request('POST', '/v1/school-calendar', { token: as.admin, body: { kind: 'term', name: 'x', starts_on: '2025-06-03', ends_on: '2025-06-01' } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['ends_on:before_start']);
    res = await request('POST', '/v1/school-calendar', { token: as.admin, body: { kind: 'term', name: 'Overlap', starts_on: '2025-04-01', ends_on: '2025-04-30' } });
    assert.match(problem(res, 409, 'conflict').detail, /overlaps another term/);
    res = await request('POST', '/v1/school-calendar', { token: as.admin, body: { kind: 'bank_holiday', name: 'Again', starts_on: '2025-05-05', ends_on: '2025-05-05' } });
    assert.match(problem(res, 409, 'conflict').detail, /bank holiday on that day/);
    assert.equal(psql(`select count(*) from safeguard.school_calendar where name in ('Overlap', 'Again')`), '0');
    // removing needs the ETag; then the day counts again
    assert.equal((await days('2025-06-02', '2025-06-02')).school_days, 0);
    problem(await request('DELETE', `/v1/school-calendar/${inset.id}`, { token: as.admin }), 428, 'precondition-required');
    const stale = await request('DELETE', `/v1/school-calendar/${inset.id}`, { token: as.admin, headers: { 'If-Match': '"v9"' } });
    problem(stale, 412, 'precondition-failed');
    assert.equal(stale.headers.get('etag'), '"v1"', 'the 412 carries the current ETag');
    problem(await request('DELETE', `/v1/school-calendar/${inset.id}`, { token: as.cscLead, headers: { 'If-Match': '"v1"' } }), 403, 'forbidden');
    res = await request('DELETE', `/v1/school-calendar/${inset.id}`, { token: as.admin, headers: { 'If-Match': '"v1"' } });
    assert.equal(res.status, 204);
    assert.equal((await days('2025-06-02', '2025-06-02')).school_days, 1);
    assert.equal(audits('school_calendar.delete', inset.id), '1');
    problem(await request('DELETE', `/v1/school-calendar/${inset.id}`, { token: as.admin, headers: { 'If-Match': '"v1"' } }), 404, 'not-found');
  });
});

describe('missing-education cases: notification', () => {
  it('is made by an agency in the network, sets the register, and is audited', async () => {
    const c = await schoolChild();
    const res = await request('POST', '/v1/cme-cases', { token: as.education, body: notification(c.id, { reason: 'removed_from_roll', since: utcDay(-10) }) });
    assert.equal(res.status, 201, res.text);
    const k = res.body;
    assert.equal(res.headers.get('location'), `/v1/cme-cases/${k.id}`);
    assert.match(res.headers.get('etag'), /^"v1-[0-9a-f]{16}"$/);
    assert.equal(k.status, 'open');
    assert.equal(k.open, true);
    assert.equal(k.notifying_agency, 'education');
    assert.equal(k.notified_by, 'teacher-ed');
    assert.equal(k.since, utcDay(-10));
    assert.deepEqual(k.enquiries, []);
    // the register agrees: not on roll since the day given
    const child = (await request('GET', `/v1/children/${c.id}`, { token: as.cscSocialWorker })).body;
    assert.equal(child.education_status, 'not_on_roll');
    assert.equal(child.not_on_roll_since, utcDay(-10));
    assert.equal(child.version, c.version + 1);
    assert.equal(psql(`select details->>'cme_case_id' from safeguard.audit_events where action = 'child.education_status.update' and resource_id = '${c.id}'`), k.id);
    assert.equal(audits('cme_case.create', k.id), '1');
    assert.equal(audits('child.cme_case.notify', c.id), '1');
    // not attending: on a roll, but missing education
    const d = await schoolChild();
    await post('/v1/cme-cases', as.education, notification(d.id, { reason: 'not_attending' }));
    assert.equal(psql(`select education_status || ' ' || not_on_roll_since from safeguard.children where id = '${d.id}'`), `missing_education ${utcDay(-3)}`);
  });

  it('allows one open case per child: a second is 409 naming the open one, also under a race', async () => {
    const c = await schoolChild();
    const first = await post('/v1/cme-cases', as.cscSocialWorker, notification(c.id));
    const again = problem(await request('POST', '/v1/cme-cases', { token: as.education, body: notification(c.id) }), 409, 'open-case-exists');
    assert.equal(again.existing_id, first.id);
    const d = await schoolChild();
    const both = await Promise.all([as.education, as.cscSocialWorker].map((token) => request('POST', '/v1/cme-cases', { token, body: notification(d.id) })));
    assert.deepEqual(both.map((r) => r.status).sort(), [201, 409]);
    const winner = both.find((r) => r.status === 201).body.id;
    assert.equal(both.find((r) => r.status === 409).body.existing_id, winner);
    assert.equal(psql(`select count(*) from safeguard.cme_cases where child_id = '${d.id}'`), '1');
  });

  it('is 404 for a child outside the network, and 400 for every bad field at once', async () => {
    const hidden = await newChild({}, as.health);
    problem(await request('POST', '/v1/cme-cases', { token: as.education, body: notification(hidden.id) }), 404, 'not-found');
    problem(await request('POST', '/v1/cme-cases', { token: as.education, body: notification(randomUUID()) }), 404, 'not-found');
    const c = await schoolChild({ date_of_birth: '2015-01-01' });
    let res = await request('POST', '/v1/cme-cases', {
      token: as.education,
      body: { ...notification(c.id), reason: 'bored', since: utcDay(2), school_urn: '12', what_is_known: '', status: 'closed' },
    });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['reason:invalid_value', 'school_urn:invalid_urn', 'since:in_future', 'status:read_only', 'what_is_known:required']);
    res = await request('POST', '/v1/cme-cases', { token: as.education, body: notification(c.id, { since: '2014-12-31' }) });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['since:before_birth']);
    assert.equal(psql(`select count(*) from safeguard.cme_cases where child_id = '${c.id}'`), '0');
    assert.equal(psql(`select education_status from safeguard.children where id = '${c.id}'`), 'on_roll');
  });

  it('honours Idempotency-Key: a retry replays the case, not a 409', async () => {
    const c = await schoolChild();
    const key = { 'Idempotency-Key': `cme-${c.id}` };
    const a = await request('POST', '/v1/cme-cases', { token: as.education, body: notification(c.id), headers: key });
    const b = await request('POST', '/v1/cme-cases', { token: as.education, body: notification(c.id), headers: key });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(b.body.id, a.body.id);
  });
});

describe('missing-education cases: who may do what', () => {
  let c, k;
  before(async () => {
    c = await schoolChild();
    k = await post('/v1/cme-cases', as.education, notification(c.id));
  });

  it('is read by the network (CSC always) and the CME officer; 404 elsewhere; every read audited', async () => {
    for (const [token, status] of [[as.education, 200], [as.cscPractitioner, 200], [officer, 200], [cmeChair, 200], [as.police, 404], [as.health, 404]]) {
      problemOr(await request('GET', `/v1/cme-cases/${k.id}`, { token }), status);
    }
    for (const token of [as.auditor, as.admin, as.trainingAdmin]) problem(await request('GET', `/v1/cme-cases/${k.id}`, { token }), 403, 'forbidden');
    problem(await request('GET', '/v1/cme-cases/not-a-uuid', { token: as.education }), 404, 'not-found');
    assert.ok(Number(audits('child.cme_case.read', c.id)) >= 4);
    const res = await request('GET', `/v1/cme-cases/${k.id}`, { token: as.education });
    assert.equal((await request('GET', `/v1/cme-cases/${k.id}`, { token: as.education, headers: { 'If-None-Match': res.headers.get('etag') } })).status, 304);
    // row-level security says the same as the C checks
    const rows = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'x', true), set_config('app.agency', 'police', true), set_config('app.roles', 'practitioner', true);
      select 'rows=' || count(*) from safeguard.cme_cases where id = '${k.id}'; rollback;`);
    assert.match(rows, /rows=0/);
  });

  it('is notified by practitioners, leads and social workers; worked by the CME officer and a CME panel\'s chair only', async () => {
    const d = await schoolChild();
    for (const token of [as.auditor, as.admin, as.panelMember, tokenFor('education', 'panel_member', 'ed-pm')]) {
      problem(await request('POST', '/v1/cme-cases', { token, body: notification(d.id) }), 403, 'forbidden');
    }
    for (const token of [as.education, as.cscLead, as.cscSocialWorker, as.healthLead, as.police, tokenFor('education', 'practitioner', 'head'), as.admin]) {
      problem(await request('POST', `/v1/cme-cases/${k.id}/enquiries`, { token, body: enquiry() }), 403, 'forbidden');
      problem(await request('POST', `/v1/cme-cases/${k.id}/resolution`, { token, body: { resolution: 'elective_home_education' } }), 403, 'forbidden');
      problem(await request('POST', `/v1/cme-cases/${k.id}/closure`, { token }), 403, 'forbidden');
    }
    // every panel chair may use the route; the database says who chairs a CME panel
    const policeChair = tokenFor('police', 'panel_chair', 'police-chair');
    assert.match(problem(await request('POST', `/v1/cme-cases/${k.id}/enquiries`, { token: policeChair, body: enquiry() }), 403, 'forbidden').detail, /CME panel's chair/);
    assert.equal(psql(`select status from safeguard.cme_cases where id = '${k.id}'`), 'open');
    await post(`/v1/cme-cases/${k.id}/enquiries`, cmeChair, enquiry({ method: 'phone', outcome: 'contact_made', note: 'Mother answered' }));
    const withOfficer = await post(`/v1/cme-cases/${k.id}/enquiries`, officer, enquiry({ method: 'school' }));
    assert.deepEqual(withOfficer.enquiries.map((e) => [e.recorded_by, e.recorded_agency]), [['cme-chair', 'education'], ['cme-officer', 'education']]);
    problem(await request('POST', `/v1/cme-cases/${randomUUID()}/enquiries`, { token: officer, body: enquiry() }), 404, 'not-found');
  });

  it('lets the CME officer see the child while the case is live, not after it is closed', async () => {
    const e = await newChild({}, as.health); // education is not in this child's network
    const kk = await post('/v1/cme-cases', as.health, notification(e.id));
    assert.equal((await request('GET', `/v1/children/${e.id}`, { token: officer })).status, 200);
    assert.equal((await request('GET', `/v1/children/${e.id}`, { token: as.education })).status, 404); // not the officer
    await post(`/v1/cme-cases/${kk.id}/enquiries`, officer, enquiry({ outcome: 'ehe_confirmed' }));
    await post(`/v1/cme-cases/${kk.id}/resolution`, officer, { resolution: 'elective_home_education' }, 200);
    assert.equal((await request('GET', `/v1/children/${e.id}`, { token: officer })).status, 200);
    const closed = await post(`/v1/cme-cases/${kk.id}/closure`, officer, undefined, 200);
    assert.equal(closed.status, 'closed');
    assert.equal((await request('GET', `/v1/children/${e.id}`, { token: officer })).status, 404);
    assert.equal((await request('GET', `/v1/cme-cases/${kk.id}`, { token: officer })).status, 200); // the case itself stays the officer's
  });
});

function problemOr(res, status) {
  assert.equal(res.status, status, res.text.slice(0, 300));
  if (status >= 400) assert.equal(res.body.type, status === 404 ? '/problems/not-found' : res.body.type);
}

describe('missing-education cases: the way through', () => {
  it('goes open -> enquiries -> resolved -> closed; any other move is 409 naming the state', async () => {
    const c = await schoolChild();
    const k = await post('/v1/cme-cases', as.education, notification(c.id, { since: utcDay(-20) }));
    let res = await request('POST', `/v1/cme-cases/${k.id}/resolution`, { token: officer, body: { resolution: 'back_on_roll', school_urn: '654321' } });
    assert.match(problem(res, 409, 'conflict').detail, /^the case is open; log an enquiry/);
    problem(await request('POST', `/v1/cme-cases/${k.id}/closure`, { token: officer }), 409, 'conflict');
    res = await request('POST', `/v1/cme-cases/${k.id}/enquiries`, { token: officer, body: enquiry({ enquiry_date: utcDay(-21) }) });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['enquiry_date:before_since']);
    res = await request('POST', `/v1/cme-cases/${k.id}/enquiries`, { token: officer, body: enquiry({ enquiry_date: utcDay(1), method: 'pigeon', destination: 'Leeds' }) });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['destination:not_allowed', 'enquiry_date:in_future', 'method:invalid_value']);
    const e = await post(`/v1/cme-cases/${k.id}/enquiries`, officer, enquiry({ enquiry_date: utcDay(-2), outcome: 'on_roll_confirmed', note: 'Started at Demo Primary on Monday' }));
    assert.equal(e.status, 'enquiries');
    assert.equal(e.version, 2);
    res = await request('POST', `/v1/cme-cases/${k.id}/resolution`, { token: officer, body: { resolution: 'back_on_roll' } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['school_urn:required']);
    const r = await post(`/v1/cme-cases/${k.id}/resolution`, officer, { resolution: 'back_on_roll', school_urn: '654321', note: 'On roll at Demo Primary' }, 200);
    assert.equal(r.status, 'resolved');
    assert.equal(r.open, false);
    assert.equal(r.resolution, 'back_on_roll');
    assert.equal(r.resolution_school_urn, '654321');
    assert.equal(r.resolved_on, utcDay(0));
    assert.equal(r.resolved_by, 'cme-officer');
    // the register is back on roll, with the school, and that is audited
    const child = (await request('GET', `/v1/children/${c.id}`, { token: as.cscSocialWorker })).body;
    assert.deepEqual([child.education_status, child.not_on_roll_since, child.school_urn], ['on_roll', null, '654321']);
    assert.equal(psql(`select string_agg(details->>'education_status', ',' order by occurred_at) from safeguard.audit_events
      where action = 'child.education_status.update' and resource_id = '${c.id}'`), 'missing_education,on_roll');
    for (const [path, body] of [['enquiries', enquiry()], ['resolution', { resolution: 'elective_home_education' }]]) {
      assert.match(problem(await request('POST', `/v1/cme-cases/${k.id}/${path}`, { token: officer, body }), 409, 'conflict').detail, /^the case is resolved;/);
    }
    const closed = await post(`/v1/cme-cases/${k.id}/closure`, officer, undefined, 200);
    assert.equal(closed.closed_by, 'cme-officer');
    assert.match(problem(await request('POST', `/v1/cme-cases/${k.id}/closure`, { token: officer }), 409, 'conflict').detail, /^the case is closed;/);
    assert.match(problem(await request('POST', `/v1/cme-cases/${k.id}/enquiries`, { token: officer, body: enquiry() }), 409, 'conflict').detail, /^the case is closed;/);
    // a closed case is history, whoever tries to change it
    assert.throws(() => psql(`update safeguard.cme_cases set what_is_known = 'changed' where id = '${k.id}'`), /a closed CME case is never changed/);
    // and the child may be notified again
    await post('/v1/cme-cases', as.education, notification(c.id));
    for (const a of ['cme_case.create', 'cme_case.enquiry.create', 'cme_case.resolve', 'cme_case.close']) assert.equal(audits(a, k.id), '1', a);
  });

  it('resolves a child removed from roll as moved away only once the destination is confirmed (422 says so)', async () => {
    const c = await schoolChild();
    const k = await post('/v1/cme-cases', as.education, notification(c.id, { reason: 'removed_from_roll', what_is_known: 'Parent said the family is moving to Leeds' }));
    await post(`/v1/cme-cases/${k.id}/enquiries`, officer, enquiry({ method: 'phone', outcome: 'contact_made' }));
    let res = await request('POST', `/v1/cme-cases/${k.id}/resolution`, { token: officer, body: { resolution: 'moved_out_of_area' } });
    assert.match(problem(res, 422, 'destination-not-confirmed').detail, /removed from roll cannot be resolved as moved away until the destination is confirmed/);
    assert.equal(psql(`select status from safeguard.cme_cases where id = '${k.id}'`), 'enquiries');
    res = await request('POST', `/v1/cme-cases/${k.id}/enquiries`, { token: officer, body: enquiry({ outcome: 'destination_confirmed' }) });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['destination:required']);
    const confirmed = await post(`/v1/cme-cases/${k.id}/enquiries`, officer, enquiry({ method: 'other_local_authority', outcome: 'destination_confirmed', destination: 'Leeds City Council: on roll at Park School' }));
    assert.equal(confirmed.destination, 'Leeds City Council: on roll at Park School');
    assert.equal(confirmed.destination_confirmed_on, utcDay(0));
    const r = await post(`/v1/cme-cases/${k.id}/resolution`, officer, { resolution: 'moved_out_of_area', note: 'Handed over to Leeds' }, 200);
    assert.equal(r.resolution, 'moved_out_of_area');
    // another reason needs the same confirmation
    const d = await schoolChild();
    const kk = await post('/v1/cme-cases', as.education, notification(d.id, { reason: 'moved_away_no_destination' }));
    await post(`/v1/cme-cases/${kk.id}/enquiries`, officer, enquiry());
    assert.match(problem(await request('POST', `/v1/cme-cases/${kk.id}/resolution`, { token: officer, body: { resolution: 'moved_out_of_area' } }), 422, 'destination-not-confirmed').detail, /until the destination is confirmed/);
  });

  it('resolves as home education: the register follows', async () => {
    const c = await schoolChild();
    const k = await post('/v1/cme-cases', as.education, notification(c.id));
    await post(`/v1/cme-cases/${k.id}/enquiries`, officer, enquiry({ outcome: 'ehe_confirmed' }));
    let res = await request('POST', `/v1/cme-cases/${k.id}/resolution`, { token: officer, body: { resolution: 'elective_home_education', school_urn: '123456' } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['school_urn:not_allowed']);
    await post(`/v1/cme-cases/${k.id}/resolution`, officer, { resolution: 'elective_home_education' }, 200);
    assert.equal(psql(`select education_status || '|' || coalesce(not_on_roll_since::text, '') from safeguard.children where id = '${c.id}'`), 'elective_home_education|');
  });
});

describe('missing-education cases: referral to the CME panel', () => {
  // A second CME panel (so that one must be named), and another kind of panel.
  let other, joint;
  before(async () => {
    other = await makePanel({ type: 'cme', chair_agency: 'csc', member_agencies: ['csc'] });
    joint = await makePanel({ type: 'joint_police_yj', chair_agency: 'police', member_agencies: ['police', 'youth_justice', 'education'] });
  });
  async function underEnquiry() {
    const c = await schoolChild();
    const k = await post('/v1/cme-cases', as.education, notification(c.id, { reason: 'excluded_without_provision' }));
    await post(`/v1/cme-cases/${k.id}/enquiries`, officer, enquiry({ outcome: 'contact_made' }));
    return { c, k };
  }
  const refer = (k, body, token = officer) => request('POST', `/v1/cme-cases/${k.id}/resolution`, { token, body: { resolution: 'referred_to_cme_panel', ...body } });

  it('answers 403 and writes nothing when the officer\'s agency leaves the panel as the referral is made', async () => {
    // the losing side of the race with a membership change (017), made
    // certain: a trigger that fires first takes the agency off the panel
    const { c, k } = await underEnquiry();
    psql(`create function safeguard.test_leave_first() returns trigger language plpgsql security definer as $$
      begin delete from safeguard.panel_members where panel_id = new.panel_id and agency = new.referring_agency; return new; end $$;
      create trigger aaa_test_leave_first before insert on safeguard.panel_referrals for each row execute function safeguard.test_leave_first()`);
    try {
      const res = await refer(k, { panel_id: cme.id, risk_level: 'high' });
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.type, '/problems/forbidden');
      assert.match(res.body.detail, /not a member of this panel/);
    } finally {
      psql('drop trigger aaa_test_leave_first on safeguard.panel_referrals; drop function safeguard.test_leave_first()');
    }
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where child_id = '${c.id}'`), '0');
    assert.equal(psql(`select status from safeguard.cme_cases where id = '${k.id}'`), 'enquiries');
    assert.equal(psql(`select count(*) from safeguard.panel_members where panel_id = '${cme.id}' and agency = 'education'`), '1');
  });

  it('creates the panel referral as the CME officer, each naming the other; the panel then sees the child', async () => {
    const { c, k } = await underEnquiry();
    assert.equal((await request('GET', `/v1/children/${c.id}`, { token: as.health })).status, 404);
    const res = await refer(k, { panel_id: cme.id, risk_level: 'high', note: 'Excluded in September; no provision offered' });
    assert.equal(res.status, 200, res.text);
    const r = res.body;
    assert.deepEqual([r.status, r.resolution], ['resolved', 'referred_to_cme_panel']);
    assert.match(r.panel_referral_id, /^[0-9a-f-]{36}$/);
    const ref = await request('GET', `/v1/panel-referrals/${r.panel_referral_id}`, { token: officer });
    assert.equal(ref.status, 200, ref.text);
    assert.deepEqual([ref.body.panel_id, ref.body.child_id, ref.body.cme_case_id, ref.body.status, ref.body.risk_level, ref.body.referring_agency, ref.body.referred_by],
      [cme.id, c.id, k.id, 'submitted', 'high', 'education', 'cme-officer']);
    assert.deepEqual(ref.body.criteria, { missing_education: true });
    assert.equal(ref.body.reason, 'Excluded in September; no provision offered');
    // the panel's member agencies see the child while the referral is open (the panels' rule)
    assert.equal((await request('GET', `/v1/children/${c.id}`, { token: as.health })).status, 200);
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'panel_referral.create' and resource_id = '${r.panel_referral_id}' and details->>'cme_case_id' = '${k.id}'`), '1');
    assert.equal(audits('child.panel_access.start', c.id), '1');
    // still missing education: the register is left as the case set it
    assert.equal(psql(`select education_status from safeguard.children where id = '${c.id}'`), 'missing_education');
  });

  it('names the child\'s open referral to the CME panel instead of making a second one', async () => {
    const { c, k } = await underEnquiry();
    const existing = await post(`/v1/panels/${cme.id}/referrals`, as.cscSocialWorker, { child_id: c.id, reason: 'Excluded and not in any provision', risk_level: 'medium' });
    const res = await refer(k, { panel_id: cme.id, risk_level: 'high' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.panel_referral_id, existing.id);
    // the referral stays as it was made (what a referral is never changes)
    const ref = (await request('GET', `/v1/panel-referrals/${existing.id}`, { token: officer })).body;
    assert.deepEqual([ref.cme_case_id, ref.risk_level, ref.referred_by], [null, 'medium', 'csc-sw']);
    assert.throws(() => psql(`update safeguard.panel_referrals set cme_case_id = '${k.id}' where id = '${existing.id}'`), /never changed/);
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where child_id = '${c.id}'`), '1');
    assert.equal(audits('panel_referral.link', existing.id), '1');
  });

  it('needs a risk level and a CME panel it may refer to: 400, 422 and 403, nothing changed', async () => {
    const { c, k } = await underEnquiry();
    let res = await refer(k, { panel_id: cme.id });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['risk_level:required']);
    res = await request('POST', `/v1/cme-cases/${k.id}/resolution`, { token: officer, body: { resolution: 'elective_home_education', risk_level: 'low', panel_id: cme.id } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['panel_id:not_allowed', 'risk_level:not_allowed']);
    res = await refer(k, { risk_level: 'low' }); // two CME panels: name one
    assert.deepEqual(errorsOf(problem(res, 422, 'invalid-reference')), ['panel_id:required']);
    res = await refer(k, { panel_id: joint.id, risk_level: 'low' });
    assert.deepEqual(errorsOf(problem(res, 422, 'invalid-reference')), ['panel_id:not_cme']);
    res = await refer(k, { panel_id: randomUUID(), risk_level: 'low' });
    assert.deepEqual(errorsOf(problem(res, 422, 'invalid-reference')), ['panel_id:not_found']);
    // education is not a member of the other CME panel, and its chair is CSC's
    res = await refer(k, { panel_id: other.id, risk_level: 'low' });
    assert.match(problem(res, 403, 'forbidden').detail, /refers a child to it/);
    assert.equal(psql(`select status from safeguard.cme_cases where id = '${k.id}'`), 'enquiries');
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where child_id = '${c.id}'`), '0');
    // a child is referred from its network: the officer who sees it only through the case may not
    const e = await newChild({}, as.health);
    const ke = await post('/v1/cme-cases', as.health, notification(e.id));
    await post(`/v1/cme-cases/${ke.id}/enquiries`, officer, enquiry());
    assert.match(problem(await refer(ke, { panel_id: cme.id, risk_level: 'low' }), 403, 'forbidden').detail, /from its network/);
    // the CME panel's chair refers too
    res = await refer(k, { panel_id: cme.id, risk_level: 'medium' }, cmeChair);
    assert.equal(res.status, 200, res.text);
    assert.equal((await request('GET', `/v1/panel-referrals/${res.body.panel_referral_id}`, { token: cmeChair })).body.referred_by, 'cme-chair');
  });
});

describe('school days missed, the flags and the officer list', () => {
  it('counts school days from since to today, by the calendar', async () => {
    const c = await schoolChild();
    const since = '2025-04-28'; // in the test calendar: the early May bank holiday follows
    const k = await post('/v1/cme-cases', as.education, notification(c.id, { since }));
    const expected = (await request('GET', `/v1/school-calendar/school-days?from=${since}&to=${utcDay(0)}`, { token: as.education })).body.school_days;
    assert.equal(k.school_days_missed, expected);
    const weekdays = (await request('GET', `/v1/school-calendar/school-days?from=${since}&to=${utcDay(0)}`, { token: as.education })).body.weekdays;
    assert.ok(k.school_days_missed < weekdays, 'holidays and bank holidays are not school days');
  });

  it('flags past 20 school days, and at once for a looked-after child or one on a child protection plan', async () => {
    const at20 = await schoolChild();
    const at21 = await schoolChild();
    const looked = await schoolChild({ looked_after: true });
    const plan = await schoolChild();
    // the plan flag is on the child record (009), set like any other field
    const etag = (await request('GET', `/v1/children/${plan.id}`, { token: as.cscSocialWorker })).headers.get('etag');
    const p = await request('PATCH', `/v1/children/${plan.id}`, { token: as.cscSocialWorker, body: { child_protection_plan: true }, headers: { 'If-Match': etag } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.child_protection_plan, true);
    const k20 = await post('/v1/cme-cases', as.education, notification(at20.id, { since: sinceFor(20) }));
    const k21 = await post('/v1/cme-cases', as.education, notification(at21.id, { since: sinceFor(21) }));
    const kl = await post('/v1/cme-cases', as.education, notification(looked.id, { since: utcDay(0) }));
    const kp = await post('/v1/cme-cases', as.education, notification(plan.id, { since: utcDay(0) }));
    assert.deepEqual([k20.school_days_missed, k20.flags, k20.flagged], [20, [], false]);
    assert.deepEqual([k21.school_days_missed, k21.flags, k21.flagged], [21, ['over_20_school_days'], true]);
    assert.deepEqual([kl.flags, kl.flagged], [['looked_after'], true]);
    assert.deepEqual([kp.flags, kp.flagged], [['child_protection_plan'], true]);
    assert.ok(kl.school_days_missed <= 1);
  });

  it('lists the open cases for the weekly meeting, most school days missed first, in pages', async () => {
    const made = [];
    for (const n of [2, 35, 12, 60, 12]) {
      const c = await schoolChild();
      made.push({ n, k: await post('/v1/cme-cases', as.education, notification(c.id, { since: sinceFor(n) })) });
    }
    // a resolved case is not on the list
    const gone = made[1].k;
    await post(`/v1/cme-cases/${gone.id}/enquiries`, officer, enquiry({ outcome: 'on_roll_confirmed' }));
    await post(`/v1/cme-cases/${gone.id}/resolution`, officer, { resolution: 'back_on_roll', school_urn: '123456' }, 200);
    const seen = [];
    let cursor = null;
    for (let page = 0; page < 100; page++) {
      const res = await request('GET', `/v1/cme-cases?status=open&limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: officer });
      assert.equal(res.status, 200, res.text);
      seen.push(...res.body.items);
      cursor = res.body.next_cursor;
      if (!cursor) break;
    }
    assert.equal(new Set(seen.map((k) => k.id)).size, seen.length, 'no case twice');
    assert.ok(seen.every((k) => k.open && ['open', 'enquiries'].includes(k.status)));
    for (let i = 1; i < seen.length; i++) {
      const [a, b] = [seen[i - 1], seen[i]];
      assert.ok(a.school_days_missed > b.school_days_missed || (a.school_days_missed === b.school_days_missed && a.id < b.id), `order at ${i}`);
    }
    const mine = seen.filter((k) => made.some((m) => m.k.id === k.id));
    assert.deepEqual(mine.map((k) => k.school_days_missed), [60, 12, 12, 2]);
    assert.ok(!seen.some((k) => k.id === gone.id));
    // every open case of the database, as the officer sees them all
    assert.equal(seen.length, Number(psql(`select count(*) from safeguard.cme_cases where status in ('open', 'enquiries')`)));
    // the network sees only its children's cases; filters by child and status
    const byChild = await request('GET', `/v1/cme-cases?child_id=${made[0].k.child_id}`, { token: as.cscPractitioner });
    assert.deepEqual(byChild.body.items.map((k) => k.id), [made[0].k.id]);
    const police = await request('GET', '/v1/cme-cases?status=open', { token: as.police });
    assert.ok(!police.body.items.some((k) => made.some((m) => m.k.id === k.id)));
    const resolved = await request('GET', `/v1/cme-cases?status=resolved&child_id=${gone.child_id}`, { token: officer });
    assert.deepEqual(resolved.body.items.map((k) => k.status), ['resolved']);
    problem(await request('GET', '/v1/cme-cases?status=lost', { token: officer }), 400, 'invalid-query');
    problem(await request('GET', '/v1/cme-cases?cursor=abc', { token: officer }), 400, 'invalid-cursor');
    problem(await request('GET', '/v1/cme-cases', { token: as.auditor }), 403, 'forbidden');
    // every child on a page is audited as read
    assert.ok(Number(audits('child.cme_case.read', made[3].k.child_id)) >= 1);
  });
});

describe('the consolidated chronology sees children out of education', () => {
  // A child, the agencies' entries, one request with every agency invited and
  // contributing: the request's patterns.
  const tokens = { police: as.police, health: as.health, education: as.education, youth_justice: as.youthJustice };
  async function timeline(child, entries, period = {}) {
    const ids = {};
    for (const [agency, fields] of entries) {
      if (!ids[agency]) {
        await request('POST', `/v1/children/${child.id}/involvements`, { token: tokens[agency], body: { reason: 'working with the child' } });
        ids[agency] = [];
      }
      const e = await post('/v1/chronology-entries', tokens[agency], {
        child_ids: [child.id], date_precision: 'day', summary: 'event', impact: 'negative', significance: 'high',
        action_taken: 'recorded', category: 'home_visit', ...fields,
      });
      ids[agency].push(e.id);
    }
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, {
      child_id: child.id, agencies: Object.keys(ids), purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
      period_from: monthsAgo(25), period_to: utcDay(0), respond_by: utcDay(7), share_until: inSeconds(3600), ...period,
    });
    for (const [agency, list] of Object.entries(ids)) await post(`/v1/chronology-requests/${r.id}/contributions`, tokens[agency], { entry_ids: list }, 200);
    const view = await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.cscSocialWorker });
    assert.equal(view.status, 200, view.text);
    return { ids, patterns: view.body.patterns };
  }
  const missing = (date) => ({ event_date: date, category: 'missing_episode' });

  it('Jacob: off roll for 22 months, repeated missing episodes, an arrest: every pattern fires', async () => {
    const jacob = await newChild({ first_name: 'Jacob', date_of_birth: '2008-03-14' });
    const offRoll = monthsAgo(22);
    const { ids, patterns } = await timeline(jacob, [
      // the school's record: off roll, with no end date typed
      ['education', { event_date: offRoll, category: 'not_on_roll', summary: 'Removed from roll; no school place since' }],
      // rising contact: one entry three months ago, two the month after, then the cluster
      ['youth_justice', { event_date: monthsAgo(3), category: 'referral' }],
      ['youth_justice', { event_date: monthsAgo(2), category: 'home_visit' }],
      ['health', { event_date: monthsAgo(2), category: 'hospital_attendance' }],
      ['police', missing(monthsAgo(1))],
      ['police', missing(addDays(monthsAgo(1), 5))],
      ['police', missing(addDays(monthsAgo(1), 12))],
      ['police', { event_date: addDays(monthsAgo(1), 14), category: 'arrest', summary: 'Arrested with older males, cannabis found' }],
      ['health', { event_date: addDays(monthsAgo(1), 15), category: 'injury', summary: 'Stab wound treated at A&E' }],
    ]);
    const codes = [...new Set(patterns.map((p) => p.code))].sort();
    assert.deepEqual(codes, ['exploitation_indicators', 'missing_episodes_cluster', 'out_of_education', 'rising_frequency']);
    const ooe = patterns.find((p) => p.code === 'out_of_education' && p.entry_ids.length === 1);
    assert.deepEqual(ooe.entry_ids, ids.education);
    assert.deepEqual([ooe.from, ooe.to], [offRoll, utcDay(0)]); // open-ended: until the period ends (today)
    assert.deepEqual(patterns.find((p) => p.code === 'exploitation_indicators').agencies.sort(), ['health', 'police']);
  });

  it('an open CME case counts until the period ends, and the pattern names the child', async () => {
    const c = await schoolChild();
    await post('/v1/cme-cases', as.education, notification(c.id, { reason: 'not_on_roll', since: monthsAgo(22) }));
    const { patterns } = await timeline(c, [['police', { event_date: utcDay(-5) }]]);
    assert.equal(patterns.length, 1, JSON.stringify(patterns));
    assert.deepEqual([patterns[0].code, patterns[0].child_id, patterns[0].from, patterns[0].to, patterns[0].entry_ids],
      ['out_of_education', c.id, monthsAgo(22), utcDay(0), []]);
    assert.match(patterns[0].description, /missing education case/);
    // a period that ends before 21 school days have passed raises nothing
    const short = await timeline(c, [['police', { event_date: monthsAgo(22) }]], { period_from: monthsAgo(23), period_to: addDays(monthsAgo(22), 7) });
    assert.deepEqual(short.patterns, []);
  });

  it('an open-ended not-on-roll entry lasts until the child is back on roll, no longer', async () => {
    const c = await schoolChild();
    const since = sinceFor(60);
    const k = await post('/v1/cme-cases', as.education, notification(c.id, { reason: 'not_on_roll', since }));
    await post(`/v1/cme-cases/${k.id}/enquiries`, officer, enquiry({ outcome: 'on_roll_confirmed' }));
    await post(`/v1/cme-cases/${k.id}/resolution`, officer, { resolution: 'back_on_roll', school_urn: '123456' }, 200);
    // back on roll ten school days after since (as if resolved then): the entry lasted ten school days
    const back = psql(`select min(d)::date::text from generate_series('${since}'::date, '${since}'::date + 40, interval '1 day') d
      where safeguard.school_days('${since}'::date, d::date) = 11`);
    psql(`update safeguard.cme_cases set resolved_on = '${back}' where id = '${k.id}'`);
    const { patterns } = await timeline(c, [['education', { event_date: since, category: 'not_on_roll' }]]);
    assert.deepEqual(patterns, []);
    // without the return, the same entry runs to today and fires
    const d = await schoolChild();
    const open = await timeline(d, [['education', { event_date: since, category: 'not_on_roll' }]]);
    assert.deepEqual(open.patterns.map((p) => p.code), ['out_of_education']);
  });
});

function addDays(ymd, n) {
  const d = new Date(`${ymd}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
