// Hostile partners on children missing education and the screening tool
// (issue 12): forged cursors, calendar dates at the edges, the database's
// row-level security on its own, and what the partnership's report shows.
// Each test states what must hold; they were written as attacks.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { request, psql } from './lib/client.mjs';
import { as, tokenFor } from './lib/people.mjs';

const officer = tokenFor('education', 'safeguarding_lead', 'a4-cme-officer');

const utcDay = (offset = 0) => {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
};
function problem(res, status, type) {
  assert.equal(res.status, status, `expected ${status} ${type}, got ${res.status}: ${res.text.slice(0, 400)}`);
  assert.equal(res.body.type, `/problems/${type}`);
  return res.body;
}
const errorsOf = (body) => (body.errors ?? []).map((e) => `${e.field}:${e.code}`).sort();
async function post(path, token, body, status = 201) {
  const res = await request('POST', path, { token, body });
  assert.equal(res.status, status, `${path}: ${res.text.slice(0, 400)}`);
  return res.body;
}
const cursorOf = (parts) => `c1.${Buffer.from(JSON.stringify(parts)).toString('base64url')}`;
async function newChild(fields = {}, token = as.cscSocialWorker) {
  return post('/v1/children', token, { first_name: 'Attack', last_name: 'Four', date_of_birth: '2012-03-03', ...fields });
}
const notification = (childId, fields = {}) => ({
  child_id: childId, reason: 'not_attending', since: utcDay(-10), what_is_known: 'Not seen in school.', ...fields,
});

// SQL run as the API's own role with a caller's app.* settings: row-level
// security alone, as if the API had a hole.
function asApi(agency, roles, sub, sql) {
  const url = process.env.DATABASE_URL_ADMIN;
  const script = `set role safeguard_api; select set_config('app.agency', '${agency}', false),
    set_config('app.roles', '${roles}', false), set_config('app.sub', '${sub}', false); ${sql}`;
  try {
    return { ok: true, out: execFileSync('psql', [url, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() };
  } catch (e) {
    return { ok: false, out: String(e.stderr || e.message) };
  }
}
const lastLine = (r) => r.out.split('\n').filter(Boolean).pop();

describe('the officer list and forged cursors', () => {
  it('refuses a forged cursor whose school-day count does not fit, never 500', async () => {
    // a cursor is base64url JSON, unsigned: anyone can write one; the days key
    // passes as 18 digits and then overflowed the statement's int
    for (const days of ['99999999999', '2147483648', '999999999999999999']) {
      const res = await request('GET', `/v1/cme-cases?status=open&cursor=${cursorOf([days, randomUUID()])}`, { token: officer });
      assert.ok(res.status === 200 || res.status === 400, `cursor days ${days}: ${res.status} ${res.text.slice(0, 200)}`);
      if (res.status === 400) assert.equal(res.body.type, '/problems/invalid-cursor');
    }
  });
  it('a forged cursor only moves the position: a page after it is still the caller\'s own cases', async () => {
    const child = await newChild();
    const c = await post('/v1/cme-cases', as.cscSocialWorker, notification(child.id));
    // voluntary has nothing to do with the child: no cursor shows it the case
    for (const cur of [cursorOf(['2147483647', '00000000-0000-0000-0000-000000000000']), cursorOf(['0', 'ffffffff-ffff-ffff-ffff-ffffffffffff'])]) {
      const res = await request('GET', `/v1/cme-cases?limit=200&cursor=${cur}`, { token: as.voluntary });
      assert.equal(res.status, 200, res.text);
      assert.ok(!res.body.items.some((x) => x.id === c.id));
    }
  });
});

describe('the school calendar at the edges', () => {
  it('holds a term before 1970 to a year, with the field named, not a conflict', async () => {
    const res = await request('POST', '/v1/school-calendar', { token: as.admin, body: { kind: 'term', name: 'A long old term', starts_on: '1950-01-02', ends_on: '1969-06-30' } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['ends_on:too_long']);
    assert.equal(psql(`select count(*) from safeguard.school_calendar where name = 'A long old term'`), '0');
  });
  it('holds a bank holiday before 1970 to one day, and an old entry to its start', async () => {
    let res = await request('POST', '/v1/school-calendar', { token: as.admin, body: { kind: 'bank_holiday', name: 'Old bank holiday', starts_on: '1960-05-02', ends_on: '1960-05-03' } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['ends_on:one_day']);
    res = await request('POST', '/v1/school-calendar', { token: as.admin, body: { kind: 'holiday', name: 'Backwards holiday', starts_on: '1960-05-10', ends_on: '1960-05-03' } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['ends_on:before_start']);
    // straddling the epoch too
    res = await request('POST', '/v1/school-calendar', { token: as.admin, body: { kind: 'holiday', name: 'Epoch holiday', starts_on: '1969-12-31', ends_on: '1969-12-01' } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['ends_on:before_start']);
  });
  it('counts school days over a span that ends before 1970 like any other', async () => {
    const res = await request('GET', '/v1/school-calendar/school-days?from=1969-12-29&to=1969-12-31', { token: as.police });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.weekdays, 3);
  });
});

// A tool of two indicators (weights 1 and 9) whose published version says
// low below 5 and high from 5.
const toolBody = {
  sections: [{ id: 'only', title: 'Only', indicators: [
    { id: 'small', text: 'A small sign', weight: 1, counts: ['yes'] },
    { id: 'big', text: 'A big sign', weight: 9, counts: ['yes'] }] }],
  thresholds: [{ min: 0, max: 4, level: 'low', next_step: 'no_further_action' },
    { min: 5, max: null, level: 'high', next_step: 'panel_referral' }],
};
async function publishedTool() {
  const tool = await post('/v1/screening-tools', as.admin, { name: `Attack tool ${randomUUID().slice(0, 8)}` });
  const v = await post(`/v1/screening-tools/${tool.id}/versions`, as.admin, toolBody);
  await post(`/v1/screening-tools/${tool.id}/versions/${v.version}/publication`, as.admin, undefined, 200);
  return tool;
}

describe('row-level security alone, as the API role with a caller\'s settings', () => {
  it('the CME officer cannot re-point a case at a child to gain that child', async () => {
    const mine = await newChild();
    const c = await post('/v1/cme-cases', as.cscSocialWorker, notification(mine.id));
    // a child only police knows: no route of the officer's reaches it
    const other = await newChild({ first_name: 'Hidden' }, as.police);
    const see = () => lastLine(asApi('education', 'safeguarding_lead', 'a4-cme-officer', `select count(*) from safeguard.children where id = '${other.id}'`));
    assert.equal(see(), '0');
    const moved = asApi('education', 'safeguarding_lead', 'a4-cme-officer', `update safeguard.cme_cases set child_id = '${other.id}' where id = '${c.id}'`);
    assert.equal(moved.ok, false, 'the case moved to another child');
    assert.equal(psql(`select child_id from safeguard.cme_cases where id = '${c.id}'`), mine.id);
    assert.equal(see(), '0');
  });
  it('the CME officer cannot rewrite who notified a case or what they said', async () => {
    const child = await newChild();
    const c = await post('/v1/cme-cases', as.cscSocialWorker, notification(child.id));
    const r = asApi('education', 'safeguarding_lead', 'a4-cme-officer',
      `update safeguard.cme_cases set notifying_agency = 'education', notified_by = 'a4-cme-officer', what_is_known = 'nothing', missing_since = current_date where id = '${c.id}'`);
    assert.equal(r.ok, false, 'the notification was rewritten');
    assert.equal(psql(`select notifying_agency || ' ' || what_is_known from safeguard.cme_cases where id = '${c.id}'`), 'csc Not seen in school.');
  });
  it('nobody adds an enquiry to a closed case', async () => {
    const child = await newChild();
    const c = await post('/v1/cme-cases', as.cscSocialWorker, notification(child.id));
    await post(`/v1/cme-cases/${c.id}/enquiries`, officer, { enquiry_date: utcDay(0), method: 'phone', outcome: 'ehe_confirmed' });
    await post(`/v1/cme-cases/${c.id}/resolution`, officer, { resolution: 'elective_home_education' }, 200);
    await post(`/v1/cme-cases/${c.id}/closure`, officer, undefined, 200);
    const r = asApi('education', 'safeguarding_lead', 'a4-cme-officer',
      `insert into safeguard.cme_enquiries (id, case_id, enquiry_date, method, outcome, recorded_by, recorded_agency)
       values (gen_random_uuid(), '${c.id}', current_date, 'phone', 'no_contact', 'a4-cme-officer', 'education')`);
    assert.equal(r.ok, false, 'a closed case gained an enquiry');
    assert.equal(psql(`select count(*) from safeguard.cme_enquiries where case_id = '${c.id}'`), '1');
  });
  it('an agency cannot move its draft screening to a child outside its network', async () => {
    const tool = await publishedTool();
    const child = await newChild();
    await post(`/v1/children/${child.id}/involvements`, as.youthJustice, { reason: 'working with the child' });
    const draft = await post(`/v1/children/${child.id}/screenings`, as.youthJustice, { tool_id: tool.id, answers: { small: 'yes' } });
    const other = await newChild({ first_name: 'Elsewhere' }, as.police);
    const r = asApi('youth_justice', 'practitioner', 'yj-yan', `update safeguard.screenings set child_id = '${other.id}' where id = '${draft.id}'`);
    assert.equal(r.ok, false, 'the draft moved to a child youth justice cannot see');
    assert.equal(psql(`select child_id from safeguard.screenings where id = '${draft.id}'`), child.id);
  });
  it('a draft is not submitted with a score of the client\'s choosing', async () => {
    const tool = await publishedTool();
    const child = await newChild();
    await post(`/v1/children/${child.id}/involvements`, as.youthJustice, { reason: 'working with the child' });
    const draft = await post(`/v1/children/${child.id}/screenings`, as.youthJustice, { tool_id: tool.id, answers: { small: 'yes', big: 'yes' } });
    // the answers score 10, high; the forged row says 0, low
    const r = asApi('youth_justice', 'practitioner', 'yj-yan',
      `update safeguard.screenings set status = 'submitted', score = 0, level = 'low', recommended_next_step = 'no_further_action',
       submitted_at = now(), submitted_by = 'yj-yan' where id = '${draft.id}'`);
    const row = psql(`select status || ' ' || coalesce(score::text, '-') || ' ' || coalesce(level, '-') from safeguard.screenings where id = '${draft.id}'`);
    assert.ok(!r.ok || row === 'submitted 10 high', `a submitted screening reads ${row}`);
  });
});

describe('cases and screenings across agencies', () => {
  it('a case for a child outside the caller\'s network is 404, as is reading another agency\'s case or screening', async () => {
    const child = await newChild();
    let res = await request('POST', '/v1/cme-cases', { token: as.voluntary, body: notification(child.id) });
    problem(res, 404, 'not-found');
    assert.equal(psql(`select count(*) from safeguard.cme_cases where child_id = '${child.id}'`), '0');
    const c = await post('/v1/cme-cases', as.cscSocialWorker, notification(child.id));
    problem(await request('GET', `/v1/cme-cases/${c.id}`, { token: as.voluntary }), 404, 'not-found');
    // a panel chair of an agency that chairs no CME panel: the route, then the database, say no
    problem(await request('POST', `/v1/cme-cases/${c.id}/enquiries`, { token: tokenFor('voluntary', 'panel_chair', 'a4-vchair'), body: { enquiry_date: utcDay(0), method: 'phone', outcome: 'no_contact' } }), 403, 'forbidden');
    const tool = await publishedTool();
    await post(`/v1/children/${child.id}/involvements`, as.youthJustice, { reason: 'working with the child' });
    const s = await post(`/v1/children/${child.id}/screenings`, as.youthJustice, { tool_id: tool.id, answers: { small: 'yes', big: 'no' } });
    await post(`/v1/screenings/${s.id}/submission`, as.youthJustice, undefined, 200);
    for (const token of [as.voluntary, as.mentalHealth, tokenFor('police', 'panel_chair', 'a4-pchair')]) {
      problem(await request('GET', `/v1/screenings/${s.id}`, { token }), 404, 'not-found');
      problem(await request('GET', `/v1/children/${child.id}/screenings`, { token }), 404, 'not-found');
    }
  });
  it('the CME officer\'s route into the child lasts while the case is not closed, and ends with it', async () => {
    const child = await newChild();
    const seen = async () => (await request('GET', `/v1/children/${child.id}`, { token: officer })).status;
    assert.equal(await seen(), 404);
    const c = await post('/v1/cme-cases', as.cscSocialWorker, notification(child.id));
    assert.equal(await seen(), 200);
    await post(`/v1/cme-cases/${c.id}/enquiries`, officer, { enquiry_date: utcDay(0), method: 'phone', outcome: 'on_roll_confirmed' });
    await post(`/v1/cme-cases/${c.id}/resolution`, officer, { resolution: 'back_on_roll', school_urn: '123456' }, 200);
    assert.equal(await seen(), 200);
    await post(`/v1/cme-cases/${c.id}/closure`, officer, undefined, 200);
    assert.equal(await seen(), 404);
    // the case stays the officer's to read, without the child's name or flags
    const k = (await request('GET', `/v1/cme-cases/${c.id}`, { token: officer })).body;
    assert.deepEqual([k.status, k.child, k.flags], ['closed', null, []]);
    // and a closed case is not worked again
    problem(await request('POST', `/v1/cme-cases/${c.id}/closure`, { token: officer }), 409, 'conflict');
    problem(await request('POST', `/v1/cme-cases/${c.id}/enquiries`, { token: officer, body: { enquiry_date: utcDay(0), method: 'phone', outcome: 'no_contact' } }), 409, 'conflict');
  });
  it('answers for another version\'s indicators, and a client\'s score, are refused', async () => {
    const tool = await publishedTool();
    const child = await newChild();
    await post(`/v1/children/${child.id}/involvements`, as.youthJustice, { reason: 'working with the child' });
    let res = await request('POST', `/v1/children/${child.id}/screenings`, { token: as.youthJustice, body: { tool_id: tool.id, answers: { small: 'yes', missing_24h: 'yes', big: 'maybe' } } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['answers.big:invalid_value', 'answers.missing_24h:unknown_indicator']);
    res = await request('POST', `/v1/children/${child.id}/screenings`, { token: as.youthJustice, body: { tool_id: tool.id, answers: { small: 'yes' }, score: 0, level: 'low' } });
    assert.equal(res.status, 400, res.text);
    assert.equal(psql(`select count(*) from safeguard.screenings where child_id = '${child.id}'`), '0');
  });
});

describe('tool versions at the limits', () => {
  it('takes the most indicators at the heaviest weight, and refuses one more', async () => {
    const tool = await post('/v1/screening-tools', as.admin, { name: `Big tool ${randomUUID().slice(0, 8)}` });
    const sections = Array.from({ length: 20 }, (_, s) => ({ id: `s${s}`, title: `Section ${s}`, indicators:
      Array.from({ length: 50 }, (_, i) => ({ id: `s${s}_i${i}`, text: 'x', weight: 100, counts: ['yes'] })) }));
    const thresholds = [{ min: 0, max: 99999, level: 'low', next_step: 'no_further_action' }, { min: 100000, max: 100000, level: 'high', next_step: 'panel_referral' }];
    const v = await post(`/v1/screening-tools/${tool.id}/versions`, as.admin, { sections, thresholds });
    assert.equal(v.max_score, 100000);
    const more = structuredClone(sections);
    more[0].indicators.push({ id: 'one_more', text: 'x', weight: 101, counts: ['yes'] });
    const res = await request('PATCH', `/v1/screening-tools/${tool.id}/versions/1`, { token: as.admin, body: { sections: more }, headers: { 'If-Match': '"v1"' } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['sections[0].indicators:invalid_value']);
    await post(`/v1/screening-tools/${tool.id}/versions/1/publication`, as.admin, undefined, 200);
    const child = await newChild();
    await post(`/v1/children/${child.id}/involvements`, as.youthJustice, { reason: 'working with the child' });
    const all = Object.fromEntries(sections.flatMap((s) => s.indicators.map((i) => [i.id, 'yes'])));
    const d = await post(`/v1/children/${child.id}/screenings`, as.youthJustice, { tool_id: tool.id, answers: all });
    const done = await post(`/v1/screenings/${d.id}/submission`, as.youthJustice, undefined, 200);
    assert.deepEqual([done.score, done.level], [100000, 'high']);
  });
});

describe('reading a child is not screening it', () => {
  // The CME officer sees a child with a live case (009) without education
  // being in its network; a screening is the network's (DESIGN.md 4), and
  // becomes an entry of the officer's agency in the child's chronology.
  it('the CME officer, seeing the child only through a case, does not complete a screening of it', async () => {
    const tool = await publishedTool();
    const child = await newChild();
    await post('/v1/cme-cases', as.cscSocialWorker, notification(child.id));
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: officer })).status, 200);
    const res = await request('POST', `/v1/children/${child.id}/screenings`, { token: officer, body: { tool_id: tool.id, answers: { small: 'yes' } } });
    problem(res, 403, 'forbidden');
    const r = asApi('education', 'safeguarding_lead', 'a4-cme-officer',
      `insert into safeguard.screenings (id, child_id, tool_version_id, agency, author_sub, updated_by)
       select gen_random_uuid(), '${child.id}', v.id, 'education', 'a4-cme-officer', 'a4-cme-officer'
       from safeguard.screening_tool_versions v where v.tool_id = '${tool.id}'`);
    assert.equal(r.ok, false, 'row-level security let the officer write a screening');
    assert.equal(psql(`select count(*) from safeguard.screenings where child_id = '${child.id}'`), '0');
    // education joining the network makes it the network's work like any other
    await post(`/v1/children/${child.id}/involvements`, officer, { reason: 'the CME officer working with the family' });
    await post(`/v1/children/${child.id}/screenings`, officer, { tool_id: tool.id, answers: { small: 'yes' } });
  });
});
