// The chronology's findings from the hostile review (issue 8): access through
// a chronology request that ends with the request (closure, expiry) and a
// bounded share window; a child audit row for every child an answer carries,
// also on a 304; bad input that once answered 500 (duplicate entry_ids,
// out-of-range cursor times, UTC offsets past 15:59); CSV cells that a
// spreadsheet would run as formulas.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { as } from './lib/people.mjs';
import { openCursor, plainCursor, sealCursor } from './lib/sealed-cursor.mjs';

const day = (offset) => {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
};
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const inDays = (n) => inSeconds(n * 86400);

async function post(path, token, body, status = 201) {
  const res = await request('POST', path, { token, body });
  assert.equal(res.status, status, `${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

function problem(res, status, type) {
  assert.equal(res.status, status, `expected ${status} ${type}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.equal(res.body.type, `/problems/${type}`);
  return res;
}

const newChild = (token = as.cscSocialWorker, fields = {}) =>
  post('/v1/children', token, { first_name: 'Sec', last_name: 'Child', date_of_birth: '2011-02-03', ...fields });

// A CSC family of n children with carers; the given agencies declared into
// every child's network.
async function newFamily(n, agencies = []) {
  const fam = await post('/v1/families', as.cscSocialWorker, {
    name: `Family ${randomUUID().slice(0, 8)}`, carers: [{ name: 'Pat Carer', relationship: 'mother', contact: '07700 900999' }],
  });
  const children = [];
  for (let i = 0; i < n; i++) {
    const c = await newChild(as.cscSocialWorker, { first_name: `Kid${i}` });
    await post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: c.id, relationship: 'sibling' });
    for (const token of agencies) await post(`/v1/children/${c.id}/involvements`, token, { reason: 'working with the family' });
    children.push(c);
  }
  return { fam, children };
}

const entry = (childIds, fields = {}) => ({
  child_ids: childIds, event_date: day(-10), date_precision: 'day', category: 'home_visit',
  summary: 'visited the family', impact: 'neutral', significance: 'low', action_taken: 'recorded', ...fields,
});

const requestBody = (fields) => ({
  agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: day(-400), period_to: day(0), respond_by: day(7), share_until: inSeconds(3600), ...fields,
});

// How many child audit rows of action each child has.
function audits(action, ids) {
  const rows = psql(`select resource_id || '=' || count(*) from safeguard.audit_events
    where resource_type = 'child' and action = '${action}' and resource_id in (${ids.map((i) => `'${i}'`).join(',')})
    group by resource_id`);
  const got = Object.fromEntries(ids.map((i) => [i, 0]));
  for (const line of rows.split('\n').filter(Boolean)) {
    const [id, n] = line.split('=');
    got[id] = Number(n);
  }
  return got;
}
const plus = (before, by, ids) => Object.fromEntries(Object.entries(before).map(([id, n]) => [id, n + (ids.includes(id) ? by : 0)]));

// What police may reach of a child and its family: [child, network, family].
async function policeReach(child, fam) {
  return [
    (await request('GET', `/v1/children/${child.id}`, { token: as.police })).status,
    (await request('GET', `/v1/children/${child.id}/network`, { token: as.police })).status,
    (await request('GET', `/v1/families/${fam.id}`, { token: as.police })).status,
  ];
}

// Rows police's database session sees of a child, under row-level security.
const rlsSees = (childId, agency = 'police') => psql(`begin; set local role safeguard_api;
  select set_config('app.sub', 'x', true), set_config('app.agency', '${agency}', true), set_config('app.roles', 'practitioner', true);
  select 'rows=' || count(*) from safeguard.children where id = '${childId}'; rollback;`).match(/rows=(\d+)/)[1];

describe('access through a chronology request lasts as long as the request', () => {
  it('an invited agency reads the child, its network and its family while the request is open; closure ends it at once', async () => {
    const { fam, children } = await newFamily(2);
    assert.deepEqual(await policeReach(children[0], fam), [404, 404, 404], 'not in the network before the invitation');
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
    assert.deepEqual(await policeReach(children[0], fam), [200, 200, 200]);
    const family = await request('GET', `/v1/families/${fam.id}`, { token: as.police });
    assert.equal(family.body.carers[0].contact, '07700 900999');
    assert.equal(rlsSees(children[1].id), '1');
    // the invitation stores nothing: it is derived from the live request
    assert.equal(psql(`select count(*) from safeguard.child_network where child_id in ('${children[0].id}', '${children[1].id}') and agency = 'police'`), '0');
    assert.equal((await request('GET', `/v1/children/${children[0].id}`, { token: as.education })).status, 404, 'an agency not invited');
    const etag = (await request('GET', `/v1/children/${children[0].id}`, { token: as.police })).headers.get('etag');

    await post(`/v1/chronology-requests/${r.id}/closure`, as.cscSocialWorker, undefined, 200);
    for (const c of children) assert.deepEqual(await policeReach(c, fam), [404, 404, 404]);
    const patchRes = await request('PATCH', `/v1/children/${children[0].id}`, { token: as.police, body: { preferred_name: 'Taken' }, headers: { 'If-Match': etag } });
    problem(patchRes, 404, 'not-found');
    assert.equal(psql(`select coalesce(preferred_name, '-') from safeguard.children where id = '${children[0].id}'`), '-');
    assert.equal(rlsSees(children[1].id), '0');
    assert.equal((await request('GET', `/v1/children/${children[0].id}`, { token: as.cscPractitioner })).status, 200, 'CSC still sees it');
  });

  it('the same when the share window passes', async () => {
    const { fam, children } = await newFamily(1);
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
    assert.deepEqual(await policeReach(children[0], fam), [200, 200, 200]);
    const etag = (await request('GET', `/v1/children/${children[0].id}`, { token: as.police })).headers.get('etag');
    psql(`update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = '${r.id}'`);
    assert.deepEqual(await policeReach(children[0], fam), [404, 404, 404]);
    problem(await request('PATCH', `/v1/children/${children[0].id}`, { token: as.police, body: { preferred_name: 'Late' }, headers: { 'If-Match': etag } }), 404, 'not-found');
    assert.equal(rlsSees(children[0].id), '0');
  });

  it('covers only the request\'s children: a request about one sibling does not show the other', async () => {
    const { fam, children } = await newFamily(2);
    await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: children[0].id }));
    assert.equal((await request('GET', `/v1/children/${children[0].id}`, { token: as.police })).status, 200);
    assert.equal((await request('GET', `/v1/children/${children[1].id}`, { token: as.police })).status, 404);
    const family = await request('GET', `/v1/families/${fam.id}`, { token: as.police });
    assert.equal(family.status, 200);
    assert.deepEqual(family.body.members.map((m) => m.child_id), [children[0].id]);
  });

  it('keeps access while another open request still invites the agency', async () => {
    const c = await newChild();
    const first = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id }));
    await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id }));
    await post(`/v1/chronology-requests/${first.id}/closure`, as.cscSocialWorker, undefined, 200);
    assert.equal((await request('GET', `/v1/children/${c.id}`, { token: as.police })).status, 200);
  });

  it('no stored invitation can exist: the network refuses \'invited\' rows', () => {
    assert.equal(psql("select count(*) from safeguard.child_network where how = 'invited'"), '0');
    assert.throws(() => psql(`insert into safeguard.child_network (child_id, agency, how, joined_by)
      select id, 'voluntary', 'invited', 'x' from safeguard.children limit 1`), /child_network_how_check/);
  });
});

describe('the share window is bounded', () => {
  it('share_until past the deployment maximum (90 days) answers 422 share-window-too-long and stores nothing', async () => {
    const c = await newChild();
    for (const until of ['9999-12-31T00:00:00Z', inDays(91)]) {
      const purpose = `too long ${randomUUID()}`;
      const res = problem(await request('POST', '/v1/chronology-requests', { token: as.cscSocialWorker, body: requestBody({ child_id: c.id, share_until: until, purpose }) }),
        422, 'share-window-too-long');
      assert.deepEqual(res.body.errors.map((e) => `${e.field}:${e.code}`), ['share_until:too_far']);
      assert.match(res.body.detail, /90 days/);
      assert.equal(psql(`select count(*) from safeguard.chronology_requests where purpose = '${purpose}'`), '0');
    }
    const ok = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id, share_until: inDays(89) }));
    assert.equal(ok.status, 'open');
  });
});

describe('every answer with a child\'s data audits each child in it', () => {
  // A family of three; police entries: e1 about kids 0 and 1 (earlier), e2
  // about kids 0 and 2 (later); a request for the family with police's
  // contribution.
  let kids, ids, e1, e2, r;
  before(async () => {
    const { fam, children } = await newFamily(3, [as.police]);
    kids = children;
    ids = kids.map((k) => k.id);
    e1 = await post('/v1/chronology-entries', as.police, entry([ids[0], ids[1]], { event_date: day(-20), summary: 'first' }));
    e2 = await post('/v1/chronology-entries', as.police, entry([ids[0], ids[2]], { event_date: day(-5), summary: 'second' }));
    r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.police, { entry_ids: [e1.id, e2.id] }, 200);
  });

  it('an entry read audits the entry\'s children, and so does a 304', async () => {
    const action = 'child.chronology_entry.read';
    let before = audits(action, ids);
    const res = await request('GET', `/v1/chronology-entries/${e1.id}`, { token: as.police });
    assert.equal(res.status, 200);
    assert.deepEqual(audits(action, ids), plus(before, 1, [ids[0], ids[1]]));
    before = audits(action, ids);
    const again = await request('GET', `/v1/chronology-entries/${e1.id}`, { token: as.police, headers: { 'If-None-Match': res.headers.get('etag') } });
    assert.equal(again.status, 304);
    assert.deepEqual(audits(action, ids), plus(before, 1, [ids[0], ids[1]]));
  });

  it('an entry\'s versions audit its children', async () => {
    const action = 'child.chronology_entry.versions.read';
    const before = audits(action, ids);
    assert.equal((await request('GET', `/v1/chronology-entries/${e2.id}/versions`, { token: as.police })).status, 200);
    assert.deepEqual(audits(action, ids), plus(before, 1, [ids[0], ids[2]]));
  });

  it('a child\'s chronology audits the child and every sibling of the page, not of the look-ahead row', async () => {
    const action = 'child.chronology.read';
    let before = audits(action, ids);
    const page = await request('GET', `/v1/children/${ids[0]}/chronology?limit=1`, { token: as.police });
    assert.deepEqual(page.body.items.map((e) => e.id), [e1.id]);
    assert.deepEqual(audits(action, ids), plus(before, 1, [ids[0], ids[1]]));
    before = audits(action, ids);
    await request('GET', `/v1/children/${ids[0]}/chronology`, { token: as.police });
    assert.deepEqual(audits(action, ids), plus(before, 1, ids));
  });

  it('the draft audits the children of its entries', async () => {
    const action = 'child.chronology_request.draft.read';
    const before = audits(action, ids);
    const draft = await request('GET', `/v1/chronology-requests/${r.id}/draft`, { token: as.police });
    assert.equal(draft.status, 200);
    assert.equal(draft.body.items.length, 2);
    assert.deepEqual(audits(action, ids), plus(before, 1, ids));
  });

  it('a request, shown or listed, audits its children (not those of the look-ahead row)', async () => {
    const action = 'child.chronology_request.read';
    let before = audits(action, ids);
    assert.equal((await request('GET', `/v1/chronology-requests/${r.id}`, { token: as.police })).status, 200);
    assert.deepEqual(audits(action, ids), plus(before, 1, ids));
    // an older request about another child stands behind r in police's list
    before = audits(action, ids);
    const list = await request('GET', '/v1/chronology-requests?limit=1', { token: as.police });
    assert.deepEqual(list.body.items.map((x) => x.id), [r.id]);
    assert.ok(list.body.next_cursor);
    assert.deepEqual(audits(action, ids), plus(before, 1, ids));
    const next = await request('GET', `/v1/chronology-requests?limit=1&cursor=${encodeURIComponent(list.body.next_cursor)}`, { token: as.police });
    const behind = next.body.items[0].child_ids;
    assert.ok(behind.every((id) => !ids.includes(id)));
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = '${action}'
      and request_id = '${list.headers.get('x-request-id')}'`), '3');
  });

  it('the consolidated timeline, as JSON and as CSV, audits every child it shows', async () => {
    const action = 'child.chronology_request.consolidated.read';
    let before = audits(action, ids);
    assert.equal((await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.cscSocialWorker })).status, 200);
    assert.deepEqual(audits(action, ids), plus(before, 1, ids));
    before = audits(action, ids);
    const csv = await request('GET', `/v1/chronology-requests/${r.id}/chronology.csv`, { token: as.police });
    assert.equal(csv.status, 200);
    assert.deepEqual(audits(action, ids), plus(before, 1, ids));
    // one statement, one row per child and read: the rows share the request id
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = '${action}'
      and request_id = '${csv.headers.get('x-request-id')}'`), '3');
  });
});

describe('bad input answers 400, never 500', () => {
  let c, r, e;
  before(async () => {
    c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    e = await post('/v1/chronology-entries', as.police, entry([c.id]));
    r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id }));
  });

  it('duplicate entry_ids (also in another case) answer 400 validation-failed naming each repeat', async () => {
    const res = problem(await request('POST', `/v1/chronology-requests/${r.id}/contributions`, {
      token: as.police, body: { entry_ids: [e.id, e.id, e.id.toUpperCase()] },
    }), 400, 'validation-failed');
    assert.deepEqual(res.body.errors.map((x) => `${x.field}:${x.code}`).sort(), ['entry_ids[1]:duplicate', 'entry_ids[2]:duplicate']);
    assert.equal(psql(`select count(*) from safeguard.chronology_contributions where request_id = '${r.id}'`), '0');
    const upper = await request('POST', `/v1/chronology-requests/${r.id}/contributions`, { token: as.police, body: { entry_ids: [e.id.toUpperCase()] } });
    assert.equal(upper.status, 200, upper.text);
  });

  it('a child chronology cursor with an out-of-range time answers 400 invalid-cursor', async () => {
    // sealed as the server seals them (the tests hold the instance's key): the server checks the parts again
    for (const time of ['99:99:99', '24:00:00', '23:60:00', '12:00']) {
      problem(await request('GET', `/v1/children/${c.id}/chronology?cursor=${sealCursor(['2025-01-01', time, '1'])}`, { token: as.police }), 400, 'invalid-cursor');
    }
    const fine = await request('GET', `/v1/children/${c.id}/chronology?cursor=${sealCursor(['2025-01-01', '23:59:59', '1'])}`, { token: as.police });
    assert.equal(fine.status, 200, fine.text);
  });

  it('a child chronology cursor is sealed: the entries\' shared recorded order can be neither read nor chosen', async () => {
    const kid = await newChild();
    await post(`/v1/children/${kid.id}/involvements`, as.police, { reason: 'x' });
    for (let i = 0; i < 3; i++) await post('/v1/chronology-entries', as.police, entry([kid.id], { event_date: day(-10 + i) }));
    const first = await request('GET', `/v1/children/${kid.id}/chronology?limit=1`, { token: as.police });
    assert.equal(first.status, 200, first.text);
    const next = first.body.next_cursor;
    assert.match(next, /^s1\./);
    assert.throws(() => JSON.parse(Buffer.from(next.slice(3), 'base64url').toString()));
    const parts = openCursor(next);
    assert.equal(parts.length, 3);
    assert.equal(parts[2], psql(`select seq from safeguard.chronology_entries where id = '${first.body.items[0].id}'`));
    // the next page follows from it; the same position made plain is refused
    const second = await request('GET', `/v1/children/${kid.id}/chronology?limit=1&cursor=${next}`, { token: as.police });
    assert.equal(second.status, 200, second.text);
    assert.notEqual(second.body.items[0].id, first.body.items[0].id);
    problem(await request('GET', `/v1/children/${kid.id}/chronology?limit=1&cursor=${plainCursor(parts)}`, { token: as.police }), 400, 'invalid-cursor');
  });

  it('UTC offsets past 15:59 in share_until and in the audit trail\'s from answer 400', async () => {
    const date = day(2);
    for (const offset of ['+16:00', '-16:00', '+99:00', '+15:60']) {
      const res = problem(await request('POST', '/v1/chronology-requests', { token: as.cscSocialWorker, body: requestBody({ child_id: c.id, share_until: `${date}T12:00:00${offset}` }) }),
        400, 'validation-failed');
      assert.deepEqual(res.body.errors.map((x) => x.field), ['share_until']);
      const audit = problem(await request('GET', `/v1/audit-events?from=${encodeURIComponent(`2026-01-01T00:00:00${offset}`)}`, { token: as.auditor }), 400, 'invalid-query');
      assert.deepEqual(audit.body.errors.map((x) => x.field), ['from']);
    }
    assert.equal((await request('POST', '/v1/chronology-requests', { token: as.cscSocialWorker, body: requestBody({ child_id: c.id, share_until: `${date}T12:00:00+15:59` }) })).status, 201);
    assert.equal((await request('GET', `/v1/audit-events?limit=1&from=${encodeURIComponent('2026-01-01T00:00:00-15:59')}`, { token: as.auditor })).status, 200);
  });
});

describe('CSV never carries a formula', () => {
  it('neutralises cells starting with = + - @, TAB or CR', async () => {
    const c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const summaries = ['\t=1+1', '\r=cmd', '=SUM(A1)', '+1', '-1', '@x', 'plain'];
    const entries = [];
    for (const [i, summary] of summaries.entries()) entries.push((await post('/v1/chronology-entries', as.police, entry([c.id], { summary, event_date: day(-30 + i) }))).id);
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id }));
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.police, { entry_ids: entries }, 200);
    const csv = await request('GET', `/v1/chronology-requests/${r.id}/chronology.csv`, { token: as.cscSocialWorker });
    assert.equal(csv.status, 200);
    for (const s of summaries.slice(0, -1)) assert.ok(csv.text.includes(`"'${s}"`), `${JSON.stringify(s)} is neutralised`);
    assert.ok(csv.text.includes('"plain"'));
    assert.ok(!csv.text.includes(`"'plain"`));
  });
});
