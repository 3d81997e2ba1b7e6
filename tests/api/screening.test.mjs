// The child exploitation screening tool (issue 12, part 2): tools as
// versioned data (drafts, publication, immutability, supersession, every
// problem of a bad version at once), screenings (answers checked against
// their version, the score computed on the server and kept with its version,
// a client-sent score refused), who sees and changes them, the chronology
// entry, the audit rows, the partnership's report as JSON and CSV, every
// access cell, and the demo data's sample tool.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { request, psql } from './lib/client.mjs';
import { as, tokenFor } from './lib/people.mjs';

const policeAdmin = tokenFor('police', 'admin', 'police-admin');
const yjLead = tokenFor('youth_justice', 'safeguarding_lead', 'yj-lead');
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
const errorsOf = (body) => body.errors.map((e) => `${e.field}:${e.code}`).sort();
async function post(path, token, body, status = 201) {
  const res = await request('POST', path, { token, body });
  assert.equal(res.status, status, `${path}: ${res.text.slice(0, 400)}`);
  return res.body;
}
const audits = (action, id) => psql(`select count(*) from safeguard.audit_events where action = '${action}' and resource_id = '${id}'`);

// Version 1 and 2 of a tool: the same indicators, other weights and thresholds.
const sections = (w = [3, 2, 2, 1]) => [
  { id: 'missing', title: 'Going missing', indicators: [
    { id: 'missing_24h', text: 'Missing for more than 24 hours', weight: w[0], counts: ['yes'] },
    { id: 'found_away', text: 'Found out of the area', weight: w[1], counts: ['yes', 'not_known'] }] },
  { id: 'associates', title: 'Associates', indicators: [
    { id: 'older_associates', text: 'Older associates of concern', weight: w[2], counts: ['yes'] },
    { id: 'new_phone', text: 'Unexplained new phone', weight: w[3], counts: ['yes'], required: false }] },
];
const thresholds = (low, medium) => [
  { min: medium + 1, max: null, level: 'high', next_step: 'panel_referral' },
  { min: 0, max: low, level: 'low', next_step: 'no_further_action' },
  { min: low + 1, max: medium, level: 'medium', next_step: 'front_door_referral' },
];
const answers = { missing_24h: 'yes', found_away: 'not_known', older_associates: 'no', new_phone: 'yes' };

async function newTool() {
  return post('/v1/screening-tools', as.admin, { name: `Exploitation screening ${randomUUID().slice(0, 8)}`, description: 'The partnership tool' });
}
async function publish(tool, body) {
  const v = await post(`/v1/screening-tools/${tool.id}/versions`, as.admin, body);
  return post(`/v1/screening-tools/${tool.id}/versions/${v.version}/publication`, as.admin, undefined, 200);
}
// A child of CSC in the network of youth justice and police, in the report's test area.
async function newChild(fields = {}) {
  const c = await post('/v1/children', as.cscSocialWorker, { first_name: 'Scr', last_name: 'Child', date_of_birth: '2010-02-02', postcode: 'TR21 0HE', ...fields });
  for (const token of [as.youthJustice, as.police]) await post(`/v1/children/${c.id}/involvements`, token, { reason: 'working with the child' });
  return c;
}
async function screen(child, tool, token = as.youthJustice, extra = {}) {
  const s = await post(`/v1/children/${child.id}/screenings`, token, { tool_id: tool.id, answers, notes: 'Seen near the station', ...extra });
  return post(`/v1/screenings/${s.id}/submission`, token, undefined, 200);
}

describe('screening tools', () => {
  it('are created and published by the partnership\'s admins only; read by case roles and admins', async () => {
    for (const token of [policeAdmin, as.cscLead, as.auditor, as.trainingAdmin]) {
      problem(await request('POST', '/v1/screening-tools', { token, body: { name: 'Not mine' } }), 403, 'forbidden');
    }
    const tool = await newTool();
    assert.deepEqual([tool.published_version, tool.versions, tool.version], [null, [], 1]);
    problem(await request('POST', '/v1/screening-tools', { token: as.admin, body: { name: tool.name } }), 409, 'conflict');
    for (const token of [as.police, as.panelMember, as.admin, policeAdmin]) assert.equal((await request('GET', `/v1/screening-tools/${tool.id}`, { token })).status, 200);
    for (const token of [as.auditor, as.trainingAdmin]) problem(await request('GET', '/v1/screening-tools', { token }), 403, 'forbidden');
    for (const token of [policeAdmin, as.cscLead]) {
      problem(await request('POST', `/v1/screening-tools/${tool.id}/versions`, { token, body: { sections: sections(), thresholds: thresholds(2, 5) } }), 403, 'forbidden');
    }
    assert.equal(audits('screening_tool.create', tool.id), '1');
    const list = await request('GET', '/v1/screening-tools?limit=200', { token: as.health });
    assert.ok(list.body.items.some((t) => t.id === tool.id));
    problem(await request('GET', `/v1/screening-tools/${randomUUID()}`, { token: as.health }), 404, 'not-found');
  });

  it('refuses a bad version with every problem listed, and stores nothing', async () => {
    const tool = await newTool();
    const bad = sections();
    bad[1].id = 'missing'; // a section id twice
    bad[1].indicators[0].id = 'missing_24h'; // an indicator id used in another section
    bad[1].indicators.push({ id: 'found_away', text: '', weight: 101, counts: ['yes', 'yes', 'maybe'], colour: 'red' });
    const res = await request('POST', `/v1/screening-tools/${tool.id}/versions`, {
      token: as.admin,
      body: {
        sections: bad,
        thresholds: [
          { min: 1, max: 3, level: 'low', next_step: 'no_further_action' }, // 0 is held by none: a gap
          { min: 3, max: 6, level: 'medium', next_step: 'front_door_referral' }, // 3 twice: an overlap
          { min: 8, max: 9, level: 'high', next_step: 'panel_referral' }, // 7 by none
        ],
      },
    });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), [
      'sections[1].id:duplicate',
      'sections[1].indicators[0].id:duplicate',
      'sections[1].indicators[2].colour:unknown_field',
      'sections[1].indicators[2].counts[1]:duplicate',
      'sections[1].indicators[2].counts[2]:invalid_value',
      'sections[1].indicators[2].id:duplicate',
      'sections[1].indicators[2].text:invalid_value',
      'sections[1].indicators[2].weight:out_of_range',
      'thresholds[0].min:gap',
      'thresholds[1]:overlap',
      'thresholds[2].min:gap',
    ]);
    const open = await request('POST', `/v1/screening-tools/${tool.id}/versions`, {
      // an open-ended threshold below another overlaps it; 8 (the highest score) is held by none
      token: as.admin, body: { sections: sections(), thresholds: [{ min: 0, max: null, level: 'low', next_step: 'no_further_action' }, { min: 5, max: 7, level: 'high', next_step: 'panel_referral' }], score: 3 },
    });
    assert.deepEqual(errorsOf(problem(open, 400, 'validation-failed')), ['score:unknown_field', 'thresholds[1].max:gap', 'thresholds[1]:overlap']);
    assert.equal(psql(`select count(*) from safeguard.screening_tool_versions where tool_id = '${tool.id}'`), '0');
  });

  it('drafts, changes the draft, publishes; a published version is immutable and the next supersedes it', async () => {
    const tool = await newTool();
    const res = await request('POST', `/v1/screening-tools/${tool.id}/versions`, { token: as.admin, body: { sections: sections(), thresholds: thresholds(2, 5), notes: 'first' } });
    assert.equal(res.status, 201, res.text);
    const draft = res.body;
    assert.equal(res.headers.get('location'), `/v1/screening-tools/${tool.id}/versions/1`);
    assert.deepEqual([draft.version, draft.status, draft.max_score, draft.revision], [1, 'draft', 8, 1]);
    assert.deepEqual(draft.thresholds.map((t) => t.min), [0, 3, 6]); // stored in score order
    assert.equal(draft.sections[0].indicators[0].required, true); // required unless it says not
    assert.equal(draft.sections[1].indicators[1].required, false);
    // one draft at a time; drafts are the admins'
    problem(await request('POST', `/v1/screening-tools/${tool.id}/versions`, { token: as.admin, body: { sections: sections(), thresholds: thresholds(2, 5) } }), 409, 'conflict');
    problem(await request('GET', `/v1/screening-tools/${tool.id}/versions/1`, { token: as.police }), 404, 'not-found');
    assert.deepEqual((await request('GET', `/v1/screening-tools/${tool.id}`, { token: as.police })).body.versions, []);
    // a draft changes with If-Match, checked as a whole
    let p = await request('PATCH', `/v1/screening-tools/${tool.id}/versions/1`, { token: as.admin, body: { notes: 'x' } });
    problem(p, 428, 'precondition-required');
    const overlapping = [{ min: 0, max: 3, level: 'low', next_step: 'no_further_action' }, { min: 3, max: 5, level: 'medium', next_step: 'front_door_referral' }, { min: 6, max: null, level: 'high', next_step: 'panel_referral' }];
    p = await request('PATCH', `/v1/screening-tools/${tool.id}/versions/1`, { token: as.admin, body: { thresholds: overlapping }, headers: { 'If-Match': '"v1"' } });
    assert.deepEqual(errorsOf(problem(p, 400, 'validation-failed')), ['thresholds[1]:overlap']);
    // a malformed field and the version's rules, in one answer
    p = await request('PATCH', `/v1/screening-tools/${tool.id}/versions/1`, { token: as.admin, body: { thresholds: overlapping, notes: 7 }, headers: { 'If-Match': '"v1"' } });
    assert.deepEqual(errorsOf(problem(p, 400, 'validation-failed')), ['notes:invalid_type', 'thresholds[1]:overlap']);
    p = await request('PATCH', `/v1/screening-tools/${tool.id}/versions/1`, { token: as.admin, body: { notes: 'first, reviewed' }, headers: { 'If-Match': '"v1"' } });
    assert.equal(p.status, 200, p.text);
    // a tool version is over 1 KB, so nginx compresses it and marks the ETag weak (W/"v2-..."): the same version
    assert.deepEqual([p.body.revision, p.body.notes], [2, 'first, reviewed']);
    assert.match(p.headers.get('etag'), /^(W\/)?"v2-[0-9a-f]{16}"$/);
    p = await request('PATCH', `/v1/screening-tools/${tool.id}/versions/1`, { token: as.admin, body: { notes: 'y' }, headers: { 'If-Match': '"v1"' } });
    problem(p, 412, 'precondition-failed');
    assert.equal(p.headers.get('etag'), '"v2"', 'the 412 carries the current ETag');
    // publication
    const v1 = await post(`/v1/screening-tools/${tool.id}/versions/1/publication`, as.admin, undefined, 200);
    assert.deepEqual([v1.status, v1.published_by], ['published', 'admin-ada']);
    assert.equal((await request('GET', `/v1/screening-tools/${tool.id}/versions/1`, { token: as.police })).status, 200);
    assert.match(problem(await request('PATCH', `/v1/screening-tools/${tool.id}/versions/1`, { token: as.admin, body: { notes: 'z' }, headers: { 'If-Match': '"v2"' } }), 409, 'conflict').detail, /the version is published; a published version is immutable/);
    assert.match(problem(await request('POST', `/v1/screening-tools/${tool.id}/versions/1/publication`, { token: as.admin }), 409, 'conflict').detail, /the version is published/);
    // immutable in the database too, whoever asks
    assert.throws(() => psql(`update safeguard.screening_tool_versions set max_score = 99 where tool_id = '${tool.id}' and version = 1`), /immutable/);
    // version 2 supersedes it
    await publish(tool, { sections: sections([5, 2, 2, 1]), thresholds: thresholds(2, 5) });
    const t = (await request('GET', `/v1/screening-tools/${tool.id}`, { token: as.police })).body;
    assert.equal(t.published_version, 2);
    assert.deepEqual(t.versions.map((v) => [v.version, v.status]), [[1, 'superseded'], [2, 'published']]);
    for (const bad of ['0', '01', '99999', 'x']) problem(await request('GET', `/v1/screening-tools/${tool.id}/versions/${bad}`, { token: as.police }), 404, 'not-found');
    assert.equal(audits('screening_tool.version.publish', tool.id), '2');
  });
});

describe('screenings', () => {
  let tool, child;
  before(async () => {
    tool = await newTool();
    await publish(tool, { sections: sections(), thresholds: thresholds(2, 5) });
    child = await newChild();
  });

  it('are computed on the server, from the version they were completed on', async () => {
    const draft = await post(`/v1/children/${child.id}/screenings`, as.youthJustice, { tool_id: tool.id, tool_version: 1, answers, notes: 'Seen near the station' });
    assert.deepEqual([draft.status, draft.score, draft.level, draft.tool.version], ['draft', null, null, 1]);
    // a score sent by the client is refused, not used
    for (const field of [{ score: 0 }, { level: 'low' }, { recommended_next_step: 'no_further_action' }]) {
      const res = await request('POST', `/v1/children/${child.id}/screenings`, { token: as.youthJustice, body: { tool_id: tool.id, answers, ...field } });
      assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), [`${Object.keys(field)[0]}:read_only`]);
      const patch = await request('PATCH', `/v1/screenings/${draft.id}`, { token: as.youthJustice, body: field, headers: { 'If-Match': '"v1"' } });
      assert.deepEqual(errorsOf(problem(patch, 400, 'validation-failed')), [`${Object.keys(field)[0]}:read_only`]);
    }
    const v1 = await post(`/v1/screenings/${draft.id}/submission`, as.youthJustice, undefined, 200);
    // missing_24h yes (3) + found_away not_known (2) + new_phone yes (1) = 6: high on version 1 (6 and more)
    assert.deepEqual([v1.status, v1.score, v1.level, v1.recommended_next_step, v1.submitted_by], ['submitted', 6, 'high', 'panel_referral', 'yj-yan']);
    assert.equal(psql(`select score || ' ' || level || ' ' || area from safeguard.screenings where id = '${v1.id}'`), '6 high TR21');
    // version 2 weighs the same answers differently; the old screening keeps its score
    await publish(tool, { sections: sections([1, 1, 2, 1]), thresholds: thresholds(3, 4) });
    const v2 = await screen(await newChild(), tool);
    assert.deepEqual([v2.tool.version, v2.score, v2.level, v2.recommended_next_step], [2, 3, 'low', 'no_further_action']);
    const again = (await request('GET', `/v1/screenings/${v1.id}`, { token: as.youthJustice })).body;
    assert.deepEqual([again.tool.version, again.score, again.level], [1, 6, 'high']);
    // starting on the superseded version is refused, naming the published one
    const res = await request('POST', `/v1/children/${child.id}/screenings`, { token: as.youthJustice, body: { tool_id: tool.id, tool_version: 1, answers } });
    assert.match(problem(res, 422, 'invalid-reference').errors[0].message, /screen against version 2/);
    const none = await newTool();
    assert.deepEqual(errorsOf(problem(await request('POST', `/v1/children/${child.id}/screenings`, { token: as.youthJustice, body: { tool_id: none.id } }), 422, 'invalid-reference')), ['tool_id:not_published']);
  });

  it('checks every answer against the version, listing every problem; a submission needs every required answer', async () => {
    let res = await request('POST', `/v1/children/${child.id}/screenings`, {
      token: as.youthJustice, body: { tool_id: tool.id, answers: { missing_24h: 'maybe', shoe_size: 'yes', older_associates: 'no', found_away: 3 } },
    });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['answers.found_away:invalid_value', 'answers.missing_24h:invalid_value', 'answers.shoe_size:unknown_indicator']);
    const d = await post(`/v1/children/${child.id}/screenings`, as.youthJustice, { tool_id: tool.id, answers: { new_phone: 'yes' } });
    res = await request('POST', `/v1/screenings/${d.id}/submission`, { token: as.youthJustice });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['answers.found_away:required', 'answers.missing_24h:required', 'answers.older_associates:required']);
    assert.equal(psql(`select status from safeguard.screenings where id = '${d.id}'`), 'draft');
    res = await request('PATCH', `/v1/screenings/${d.id}`, { token: as.youthJustice, body: { answers: { ...answers, pets: 'no' } }, headers: { 'If-Match': '"v1"' } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['answers.pets:unknown_indicator']);
    // a malformed field and the answers that do not fit the version, in one answer
    res = await request('PATCH', `/v1/screenings/${d.id}`, { token: as.youthJustice, body: { notes: 5, answers: { ...answers, pets: 'no', missing_24h: 'maybe' }, score: 1 }, headers: { 'If-Match': '"v1"' } });
    assert.deepEqual(errorsOf(problem(res, 400, 'validation-failed')), ['answers.missing_24h:invalid_value', 'answers.pets:unknown_indicator', 'notes:invalid_type', 'score:read_only']);
    assert.equal(psql(`select version from safeguard.screenings where id = '${d.id}'`), '1');
    res = await request('PATCH', `/v1/screenings/${d.id}`, { token: as.youthJustice, body: { answers }, headers: { 'If-Match': '"v1"' } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual([res.body.answers, res.body.notes, res.body.version], [answers, null, 2]);
    res = await request('PATCH', `/v1/screenings/${d.id}`, { token: as.youthJustice, body: { notes: 'Mother worried' }, headers: { 'If-Match': '"v2"' } });
    assert.deepEqual([res.body.answers, res.body.notes], [answers, 'Mother worried']); // answers kept when not sent
    res = await request('PATCH', `/v1/screenings/${d.id}`, { token: as.youthJustice, body: { notes: 'late' }, headers: { 'If-Match': '"v1"' } });
    problem(res, 412, 'precondition-failed');
    assert.equal(res.headers.get('etag'), '"v3"', 'the 412 carries the current ETag');
    // null clears the notes; the answers stay
    res = await request('PATCH', `/v1/screenings/${d.id}`, { token: as.youthJustice, body: { notes: null }, headers: { 'If-Match': '"v3"' } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual([res.body.answers, res.body.notes, res.body.version], [answers, null, 4]);
    const s = await post(`/v1/screenings/${d.id}/submission`, as.youthJustice, undefined, 200);
    assert.equal(s.status, 'submitted');
  });

  it('is locked once submitted: never edited, never submitted again; superseded by a new one of its agency', async () => {
    const c = await newChild();
    const first = await screen(c, tool);
    assert.match(problem(await request('PATCH', `/v1/screenings/${first.id}`, { token: as.youthJustice, body: { notes: 'edit' }, headers: { 'If-Match': `"v${first.version}"` } }), 409, 'conflict').detail, /^the screening is submitted; a submitted screening is never edited/);
    problem(await request('POST', `/v1/screenings/${first.id}/submission`, { token: as.youthJustice }), 409, 'conflict');
    assert.throws(() => psql(`update safeguard.screenings set score = 0 where id = '${first.id}'`), /never edited/);
    // only its own agency supersedes it, and only a submitted screening of the child
    let res = await request('POST', `/v1/children/${c.id}/screenings`, { token: as.police, body: { tool_id: tool.id, supersedes: first.id } });
    assert.deepEqual(errorsOf(problem(res, 422, 'invalid-reference')), ['supersedes:other_agency']);
    res = await request('POST', `/v1/children/${child.id}/screenings`, { token: as.youthJustice, body: { tool_id: tool.id, supersedes: first.id } });
    assert.deepEqual(errorsOf(problem(res, 422, 'invalid-reference')), ['supersedes:not_found']);
    const second = await screen(c, tool, as.youthJustice, { supersedes: first.id, answers: { ...answers, missing_24h: 'no' } });
    assert.equal(second.supersedes, first.id);
    const old = (await request('GET', `/v1/screenings/${first.id}`, { token: as.cscPractitioner })).body;
    assert.deepEqual([old.status, old.superseded_by, old.score], ['superseded', second.id, first.score]);
    res = await request('POST', `/v1/children/${c.id}/screenings`, { token: as.youthJustice, body: { tool_id: tool.id, supersedes: first.id } });
    assert.deepEqual(errorsOf(problem(res, 422, 'invalid-reference')), ['supersedes:not_submitted']);
    // two drafts racing to supersede the same screening: the second submission is 409
    const a = await post(`/v1/children/${c.id}/screenings`, as.youthJustice, { tool_id: tool.id, answers, supersedes: second.id });
    const b = await post(`/v1/children/${c.id}/screenings`, as.youthJustice, { tool_id: tool.id, answers, supersedes: second.id });
    await post(`/v1/screenings/${a.id}/submission`, as.youthJustice, undefined, 200);
    assert.match(problem(await request('POST', `/v1/screenings/${b.id}/submission`, { token: as.youthJustice }), 409, 'conflict').detail, /superseded already/);
  });

  it('answers 403 and writes nothing when the agency leaves the panel as the outcome\'s referral is made', async () => {
    // the losing side of the race with a membership change (017), made
    // certain: a trigger that fires first takes the agency off the panel
    const north = await post('/v1/panels', as.admin, { type: 'missing_exploited', name: `North ${randomUUID().slice(0, 6)}`, area: 'North', chair_agency: 'police', member_agencies: ['police', 'youth_justice', 'csc'] });
    const c = await newChild();
    const d = await post(`/v1/children/${c.id}/screenings`, as.youthJustice, { tool_id: tool.id, answers });
    const s = await post(`/v1/screenings/${d.id}/submission`, as.youthJustice, undefined, 200);
    psql(`create function safeguard.test_leave_first() returns trigger language plpgsql security definer as $$
      begin delete from safeguard.panel_members where panel_id = new.panel_id and agency = new.referring_agency; return new; end $$;
      create trigger aaa_test_leave_first before insert on safeguard.panel_referrals for each row execute function safeguard.test_leave_first()`);
    try {
      const res = await request('POST', `/v1/screenings/${s.id}/outcome`, { token: yjLead, body: { decision: 'panel_referral', panel_id: north.id } });
      assert.match(problem(res, 403, 'forbidden').detail, /not a member of this panel/);
    } finally {
      psql('drop trigger aaa_test_leave_first on safeguard.panel_referrals; drop function safeguard.test_leave_first()');
    }
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where child_id = '${c.id}'`), '0');
    assert.equal(psql(`select decision is null from safeguard.screenings where id = '${s.id}'`), 't');
    assert.equal(psql(`select count(*) from safeguard.panel_members where panel_id = '${north.id}' and agency = 'youth_justice'`), '1');
  });

  it('records the outcome once, by its agency, on a screening nothing supersedes; a panel referral is made and linked', async () => {
    const north = await post('/v1/panels', as.admin, { type: 'missing_exploited', name: `North ${randomUUID().slice(0, 6)}`, area: 'North', chair_agency: 'police', member_agencies: ['police', 'youth_justice', 'csc'] });
    const cmePanel = await post('/v1/panels', as.admin, { type: 'cme', name: `CME ${randomUUID().slice(0, 6)}`, chair_agency: 'education', member_agencies: ['education', 'youth_justice'] });
    const c = await newChild();
    const d = await post(`/v1/children/${c.id}/screenings`, as.youthJustice, { tool_id: tool.id, answers });
    assert.match(problem(await request('POST', `/v1/screenings/${d.id}/outcome`, { token: as.youthJustice, body: { decision: 'none' } }), 409, 'conflict').detail, /^the screening is draft/);
    const s = await post(`/v1/screenings/${d.id}/submission`, as.youthJustice, undefined, 200);
    problem(await request('POST', `/v1/screenings/${s.id}/outcome`, { token: as.police, body: { decision: 'none' } }), 403, 'forbidden');
    assert.deepEqual(errorsOf(problem(await request('POST', `/v1/screenings/${s.id}/outcome`, { token: yjLead, body: { decision: 'ignore' } }), 400, 'validation-failed')), ['decision:invalid_value']);
    const out = (body, token = yjLead) => request('POST', `/v1/screenings/${s.id}/outcome`, { token, body });
    assert.deepEqual(errorsOf(problem(await out({ decision: 'panel_referral' }), 400, 'validation-failed')), ['panel_id:required']);
    assert.deepEqual(errorsOf(problem(await out({ decision: 'none', panel_id: north.id }), 400, 'validation-failed')), ['panel_id:not_allowed']);
    assert.deepEqual(errorsOf(problem(await out({ decision: 'panel_referral', panel_id: cmePanel.id }), 422, 'invalid-reference')), ['panel_id:not_missing_exploited']);
    assert.deepEqual(errorsOf(problem(await out({ decision: 'panel_referral', panel_id: randomUUID() }), 422, 'invalid-reference')), ['panel_id:not_found']);
    // a practitioner records outcomes, but a panel referral is a lead's or a social worker's (the panels' rule)
    assert.match(problem(await out({ decision: 'panel_referral', panel_id: north.id }, as.youthJustice), 403, 'forbidden').detail, /refers a child to it/);
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where child_id = '${c.id}'`), '0');
    const done = await post(`/v1/screenings/${s.id}/outcome`, yjLead, { decision: 'panel_referral', note: 'To the North panel', panel_id: north.id }, 200);
    assert.deepEqual([done.outcome.decision, done.outcome.note, done.outcome.decided_by], ['panel_referral', 'To the North panel', 'yj-lead']);
    const ref = await request('GET', `/v1/panel-referrals/${done.outcome.panel_referral_id}`, { token: yjLead });
    assert.equal(ref.status, 200, ref.text);
    assert.deepEqual([ref.body.panel_id, ref.body.child_id, ref.body.screening_id, ref.body.risk_level, ref.body.reason, ref.body.referred_by],
      [north.id, c.id, s.id, s.level, 'To the North panel', 'yj-lead']);
    assert.deepEqual(ref.body.criteria, { exploitation_risk: true });
    assert.match(problem(await out({ decision: 'none' }), 409, 'conflict').detail, /never changed/);
    assert.equal(audits('screening.outcome', s.id), '1');
    assert.equal(audits('panel_referral.create', done.outcome.panel_referral_id), '1');
    // a later screening's referral to the same panel links the open one
    const again = await screen(c, tool, as.youthJustice, { supersedes: s.id });
    const linked = await post(`/v1/screenings/${again.id}/outcome`, yjLead, { decision: 'panel_referral', panel_id: north.id }, 200);
    assert.equal(linked.outcome.panel_referral_id, done.outcome.panel_referral_id);
    assert.equal(audits('panel_referral.link', done.outcome.panel_referral_id), '1');
  });

  it('is seen by the child\'s network (CSC always), a draft by its agency only; 404 elsewhere; every read audited', async () => {
    const c = await newChild();
    const s = await screen(c, tool);
    const d = await post(`/v1/children/${c.id}/screenings`, as.youthJustice, { tool_id: tool.id });
    for (const [token, status] of [[as.youthJustice, 200], [as.police, 200], [as.cscPractitioner, 200], [as.health, 404], [as.education, 404]]) {
      assert.equal((await request('GET', `/v1/screenings/${s.id}`, { token })).status, status);
    }
    for (const [token, status] of [[as.youthJustice, 200], [as.police, 404], [as.cscPractitioner, 404]]) {
      assert.equal((await request('GET', `/v1/screenings/${d.id}`, { token })).status, status);
    }
    problem(await request('GET', `/v1/screenings/${s.id}`, { token: as.auditor }), 403, 'forbidden');
    problem(await request('GET', `/v1/screenings/${s.id}`, { token: as.admin }), 403, 'forbidden');
    problem(await request('POST', `/v1/children/${c.id}/screenings`, { token: as.health, body: { tool_id: tool.id } }), 404, 'not-found');
    problem(await request('POST', `/v1/children/${c.id}/screenings`, { token: as.auditor, body: { tool_id: tool.id } }), 403, 'forbidden');
    let list = await request('GET', `/v1/children/${c.id}/screenings`, { token: as.youthJustice });
    assert.deepEqual(list.body.items.map((x) => x.id), [s.id, d.id]);
    list = await request('GET', `/v1/children/${c.id}/screenings`, { token: as.police });
    assert.deepEqual(list.body.items.map((x) => x.id), [s.id]);
    list = await request('GET', `/v1/children/${c.id}/screenings?limit=1`, { token: as.youthJustice });
    assert.deepEqual([list.body.items.length, typeof list.body.next_cursor], [1, 'string']);
    problem(await request('GET', `/v1/children/${c.id}/screenings`, { token: as.health }), 404, 'not-found');
    const etag = (await request('GET', `/v1/screenings/${s.id}`, { token: as.police })).headers.get('etag');
    assert.equal((await request('GET', `/v1/screenings/${s.id}`, { token: as.police, headers: { 'If-None-Match': etag } })).status, 304);
    assert.ok(Number(audits('child.screening.read', c.id)) >= 5);
    assert.equal(audits('child.screenings.read', c.id), '3');
    for (const a of ['child.screening.create', 'child.screening.submit']) assert.ok(Number(audits(a, c.id)) >= 1, a);
    // row-level security says the same
    const rows = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'x', true), set_config('app.agency', 'police', true), set_config('app.roles', 'practitioner', true);
      select 'rows=' || count(*) from safeguard.screenings where child_id = '${c.id}'; rollback;`);
    assert.match(rows, /rows=1/);
  });

  it('appears in the child\'s chronology as an entry of its agency', async () => {
    const c = await newChild();
    const s = await screen(c, tool);
    const chron = await request('GET', `/v1/children/${c.id}/chronology?category=screening`, { token: as.youthJustice });
    assert.equal(chron.status, 200, chron.text);
    assert.equal(chron.body.items.length, 1);
    const e = chron.body.items[0];
    assert.equal(e.id, s.chronology_entry_id);
    assert.deepEqual([e.agency, e.author, e.category, e.event_date, e.significance], ['youth_justice', 'yj-yan', 'screening', utcDay(0), s.level]);
    assert.match(e.summary, new RegExp(`version 2\\): score ${s.score} of 5, level ${s.level}`));
    assert.match(e.action_taken, /^Recommended next step: /);
    // another agency's chronology does not show it; CSC's does
    assert.equal((await request('GET', `/v1/children/${c.id}/chronology?category=screening`, { token: as.police })).body.items.length, 0);
    assert.equal((await request('GET', `/v1/children/${c.id}/chronology?category=screening`, { token: as.cscPractitioner })).body.items.length, 1);
    // the category is one a practitioner may use by hand too
    await post('/v1/chronology-entries', as.police, {
      child_ids: [c.id], event_date: utcDay(-1), date_precision: 'day', category: 'screening', summary: 'Screened on paper',
      impact: 'unknown', significance: 'medium', action_taken: 'Scanned into the record',
    });
  });
});

describe('the partnership\'s report', () => {
  it('counts screenings by month, area, level and outcome, without names or counts under 5, as JSON and CSV', async () => {
    const tool = await newTool();
    await publish(tool, { sections: sections(), thresholds: thresholds(2, 5) });
    const area = (c) => ({ postcode: 'ZE3 9JZ', ...c });
    for (let i = 0; i < 5; i++) await screen(await newChild(area()), tool); // 6: high, pending
    await screen(await newChild(area()), tool, as.youthJustice, { answers: { ...answers, missing_24h: 'no', found_away: 'no' } }); // 1: low
    await screen(await newChild({ postcode: null }), tool, as.police); // high, pending, area unknown
    const res = await request('GET', `/v1/screening-report?from=${utcDay(-40)}&to=${utcDay(0)}`, { token: as.admin });
    assert.equal(res.status, 200, res.text);
    const month = utcDay(0).slice(0, 7);
    const item = (a, level) => res.body.items.find((i) => i.month === month && i.area === a && i.level === level && i.outcome === 'pending');
    // the only screenings in ZE3 (a fresh database for every run): five are shown, one is withheld
    assert.deepEqual(item('ZE3', 'high'), { month, area: 'ZE3', level: 'high', outcome: 'pending', screenings: 5, suppressed: false });
    assert.deepEqual(item('ZE3', 'low'), { month, area: 'ZE3', level: 'low', outcome: 'pending', screenings: null, suppressed: true });
    assert.ok(res.body.items.every((i) => (i.screenings === null) === i.suppressed && (i.screenings === null || i.screenings >= 5)));
    const keys = res.body.items.map((i) => `${i.month}|${i.area}|${i.level}|${i.outcome}`);
    assert.deepEqual(keys, [...keys].sort(), 'in order');
    assert.equal(res.body.from, `${utcDay(-40).slice(0, 7)}-01`, 'whole months');
    assert.ok(!res.text.includes('Scr') && !res.text.includes('yj-yan'), 'no names');
    // the CSV has its own route; the report's route answers JSON whatever Accept says
    const asked = await request('GET', `/v1/screening-report?from=${utcDay(-40)}`, { token: yjLead, headers: { Accept: 'text/csv' } });
    assert.equal(asked.status, 200);
    assert.match(asked.headers.get('content-type'), /^application\/json/);
    assert.ok(Array.isArray(asked.body.items));
    const csv = await request('GET', `/v1/screening-report.csv?from=${utcDay(-40)}`, { token: yjLead });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type'), /^text\/csv/);
    assert.match(csv.headers.get('content-disposition'), /^attachment; filename="screenings-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = csv.text.split('\r\n');
    assert.equal(lines[0], '"month","area","level","outcome","screenings"');
    assert.ok(lines.includes(`"${month}","ZE3","high","pending","5"`));
    assert.ok(lines.includes(`"${month}","ZE3","low","pending","<5"`));
    assert.ok(lines.slice(1).every((l) => l === '' || /^("[^"]*",){4}"(\d+|<5)"$/.test(l)));
    assert.ok(Number(psql(`select count(*) from safeguard.audit_events where action = 'screening.report.read' and actor_sub = 'yj-lead'`)) >= 2);
    // the CSV route keeps the report's checks and readers
    assert.deepEqual(errorsOf(problem(await request('GET', '/v1/screening-report.csv?from=2026-02-01&to=2026-01-01', { token: as.admin }), 400, 'invalid-query')), ['to:before_start']);
    problem(await request('GET', '/v1/screening-report.csv', { token: as.police }), 403, 'forbidden');
  });

  it('is for the partnership\'s admins and auditors and every lead; a bad range is 400', async () => {
    for (const token of [as.auditor, as.policeLead, as.healthLead, as.cscLead]) assert.equal((await request('GET', '/v1/screening-report', { token })).status, 200);
    for (const token of [as.police, as.cscSocialWorker, as.panelChair, tokenFor('police', 'auditor', 'police-audit'), policeAdmin, as.trainingAdmin]) {
      problem(await request('GET', '/v1/screening-report', { token }), 403, 'forbidden');
    }
    assert.deepEqual(errorsOf(problem(await request('GET', '/v1/screening-report?from=2026-02-01&to=2026-01-01', { token: as.admin }), 400, 'invalid-query')), ['to:before_start']);
    assert.deepEqual(errorsOf(problem(await request('GET', '/v1/screening-report?from=2010-01-01&to=2026-01-01', { token: as.admin }), 400, 'invalid-query')), ['to:too_long']);
    assert.deepEqual(errorsOf(problem(await request('GET', '/v1/screening-report?month=2026-01', { token: as.admin }), 400, 'invalid-query')), ['month:unknown_parameter']);
    // the database checks the role itself: a practitioner reading the function directly gets nothing
    const rows = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'x', true), set_config('app.agency', 'police', true), set_config('app.roles', 'practitioner', true);
      select 'rows=' || count(*) from safeguard.screening_report('2000-01-01', '2100-01-01'); rollback;`);
    assert.match(rows, /rows=0/);
  });
});

describe('the demo data', () => {
  it('ships one sample tool, clearly named as a sample, this year\'s terms and two CME cases', () => {
    // loaded into the test database (after the demo children it refers to) in a transaction that is rolled back
    const file = join(process.env.SG_ROOT, 'db', 'demo', '004_cme_screening.sql');
    const children = join(process.env.SG_ROOT, 'db', 'demo', '001_demo.sql');
    const out = execFileSync('psql', [process.env.DATABASE_URL_ADMIN, '-XAtq', '-v', 'ON_ERROR_STOP=1',
      '-c', 'begin', '-c', 'set role safeguard_owner', '-f', children, '-f', file,
      '-c', `select t.name || '|' || v.status || '|' || v.max_score from safeguard.screening_tools t
             join safeguard.screening_tool_versions v on v.tool_id = t.id where t.id = '00000000-0000-4000-8000-0000000d0001'`,
      '-c', `select count(*) from safeguard.school_calendar where kind = 'term' and starts_on between '2026-09-01' and '2027-07-31'`,
      '-c', `select safeguard.school_days('2026-10-19', '2026-11-06')`,
      '-c', `select count(*) from safeguard.cme_cases where id::text like '00000000-0000-4000-8000-0000000c%'`,
      '-c', 'rollback'], { encoding: 'utf8' }).trim().split('\n');
    assert.match(out[0], /^SAMPLE exploitation screening tool \(demo only\)\|published\|19$/);
    assert.deepEqual(out.slice(1), ['3', '10', '2']); // three terms; the half term closes a week of three
    // and its sample version passes the API's own checks: republished as a new version unchanged
    const v = JSON.parse(execFileSync('psql', [process.env.DATABASE_URL_ADMIN, '-XAtq', '-v', 'ON_ERROR_STOP=1',
      '-c', 'begin', '-c', 'set role safeguard_owner', '-f', children, '-f', file,
      '-c', `select json_build_object('sections', sections, 'thresholds', thresholds) from safeguard.screening_tool_versions where id = '00000000-0000-4000-8000-0000000d0101'`,
      '-c', 'rollback'], { encoding: 'utf8' }).trim());
    return (async () => {
      const tool = await newTool();
      const draft = await post(`/v1/screening-tools/${tool.id}/versions`, as.admin, v);
      assert.equal(draft.max_score, 19);
    })();
  });
});

// Completing a screening is for the child's network (DESIGN.md section 4):
// an agency that reads the child only through an invitation to a live
// chronology request gets 403, in the API and in row-level security (016).
describe('screenings are completed by the network, not by readers', () => {
  it('an invited agency reads the child but may not screen it', async () => {
    const tool = await newTool();
    await publish(tool, { sections: sections(), thresholds: thresholds(3, 6) });
    const child = await post('/v1/children', as.cscSocialWorker, { first_name: 'Inv', last_name: 'Ited', date_of_birth: '2011-03-03' });
    const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
    await post('/v1/chronology-requests', as.cscSocialWorker, {
      child_id: child.id, agencies: ['mental_health'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
      period_from: day(-400), period_to: day(0), respond_by: day(7), share_until: new Date(Date.now() + 3600e3).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    const reader = tokenFor('mental_health', 'practitioner', 'mh-reader');
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: reader })).status, 200, 'the invitation reads the child');
    const res = await request('POST', `/v1/children/${child.id}/screenings`, { token: reader, body: { tool_id: tool.id, answers } });
    problem(res, 403, 'forbidden');
    assert.equal(psql(`select count(*) from safeguard.screenings where child_id = '${child.id}'`), '0');
  });
});
