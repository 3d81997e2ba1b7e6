// The multi-agency chronology: entries (siblings, versions, withdrawal,
// who reads them), requests and their share window, pre-fill,
// contributions, the consolidated timeline (ordering, sibling merging, CSV)
// and each pattern with data that triggers it and data that just misses it.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { as, tokenFor } from './lib/people.mjs';

const day = (offset) => {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
};
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

async function post(path, token, body, status = 201) {
  const res = await request('POST', path, { token, body });
  assert.equal(res.status, status, `${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function newChild(token = as.cscSocialWorker, fields = {}) {
  return post('/v1/children', token, { first_name: 'Chron', last_name: 'Child', date_of_birth: '2010-06-06', ...fields });
}

// A family of n children created by CSC, with the given agencies declared
// into every child's network.
async function newFamily(n, agencies = {}) {
  const fam = await post('/v1/families', as.cscSocialWorker, { name: `Family ${randomUUID().slice(0, 8)}` });
  const children = [];
  for (let i = 0; i < n; i++) {
    const c = await newChild(as.cscSocialWorker, { first_name: `Kid${i}` });
    await post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: c.id, relationship: 'sibling' });
    for (const token of Object.values(agencies)) await post(`/v1/children/${c.id}/involvements`, token, { reason: 'working with the family' });
    children.push(c);
  }
  return { fam, children };
}

function entry(childIds, fields = {}) {
  return {
    child_ids: childIds, event_date: day(-10), date_precision: 'day', category: 'home_visit',
    summary: 'visited the family', impact: 'neutral', significance: 'low', action_taken: 'recorded', ...fields,
  };
}

function requestBody(fields) {
  return {
    agencies: ['police', 'health'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
    period_from: day(-400), period_to: day(0), respond_by: day(7), share_until: inSeconds(3600), ...fields,
  };
}

describe('chronology entries', () => {
  let fam, kids;
  before(async () => ({ fam, children: kids } = await newFamily(3, { police: as.police })));

  it('records one entry about several siblings, with the agency and author from the token', async () => {
    const e = await post('/v1/chronology-entries', as.police, entry([kids[0].id, kids[1].id], { source: 'neighbour' }));
    assert.equal(e.agency, 'police');
    assert.equal(e.author, 'pc-alice');
    assert.deepEqual([...e.child_ids].sort(), [kids[0].id, kids[1].id].sort());
    assert.equal(psql(`select count(*) from safeguard.chronology_entry_children where entry_id = '${e.id}'`), '2');
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.chronology.add' and resource_id in ('${kids[0].id}', '${kids[1].id}')`), '2');
  });

  it('refuses children of different families, children outside the network, and a missing action', async () => {
    const stranger = await newChild(as.police);
    let res = await request('POST', '/v1/chronology-entries', { token: as.police, body: entry([kids[0].id, stranger.id]) });
    assert.equal(res.status, 422);
    assert.equal(res.body.errors[0].code, 'not_siblings');
    const hidden = await newChild(as.health);
    res = await request('POST', '/v1/chronology-entries', { token: as.police, body: entry([hidden.id]) });
    assert.equal(res.status, 422);
    assert.equal(res.body.errors[0].code, 'not_found');
    res = await request('POST', '/v1/chronology-entries', {
      token: as.police, body: entry([kids[0].id], { action_taken: null, event_date: day(2), event_date_end: day(-20), summary: 'x'.repeat(501), category: 'party' }),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e) => `${e.field}:${e.code}`).sort(), [
      'action_taken:required', 'category:invalid_value', 'event_date:in_future', 'event_date_end:before_start', 'summary:too_long',
    ]);
    assert.equal(psql(`select count(*) from safeguard.chronology_entries where summary = '${'x'.repeat(501)}'`), '0');
  });

  it('is read by its own agency and CSC; another agency gets 404 by id', async () => {
    const e = await post('/v1/chronology-entries', as.police, entry([kids[2].id]));
    for (const [token, status] of [[as.police2, 200], [as.cscPractitioner, 200], [as.health, 404], [as.education, 404], [as.auditor, 403]]) {
      assert.equal((await request('GET', `/v1/chronology-entries/${e.id}`, { token })).status, status);
    }
    const rows = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'x', true), set_config('app.agency', 'health', true), set_config('app.roles', 'practitioner', true);
      select 'rows=' || count(*) from safeguard.chronology_entries where id = '${e.id}'; rollback;`);
    assert.match(rows, /rows=0/);
  });

  it('amends by new versions, kept with the amender, and only by the author or the lead', async () => {
    const e = await post('/v1/chronology-entries', as.police, entry([kids[0].id], { summary: 'first account' }));
    let res = await request('PATCH', `/v1/chronology-entries/${e.id}`, { token: as.police, body: { summary: 'second account' } });
    assert.equal(res.status, 428);
    res = await request('PATCH', `/v1/chronology-entries/${e.id}`, { token: as.police2, body: { summary: 'not mine' }, headers: { 'If-Match': '"v1"' } });
    assert.equal(res.status, 403);
    res = await request('PATCH', `/v1/chronology-entries/${e.id}`, { token: as.police, body: { summary: 'second account', child_ids: [] }, headers: { 'If-Match': '"v1"' } });
    assert.equal(res.status, 400);
    res = await request('PATCH', `/v1/chronology-entries/${e.id}`, { token: as.police, body: { summary: 'second account' }, headers: { 'If-Match': '"v1"' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.version, 2);
    res = await request('PATCH', `/v1/chronology-entries/${e.id}`, { token: as.policeLead, body: { significance: 'high' }, headers: { 'If-Match': '"v2"' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.updated_by, 'police-lead');
    const versions = await request('GET', `/v1/chronology-entries/${e.id}/versions`, { token: as.police });
    assert.deepEqual(versions.body.items.map((v) => [v.version, v.entry.summary, v.recorded_by]), [
      [1, 'first account', 'pc-alice'], [2, 'second account', 'pc-alice'], [3, 'second account', 'police-lead'],
    ]);
    assert.equal((await request('GET', `/v1/chronology-entries/${e.id}/versions`, { token: as.health })).status, 404);
  });

  it('withdraws with a reason, keeps the entry listed, and refuses further changes', async () => {
    const e = await post('/v1/chronology-entries', as.police, entry([kids[1].id], { summary: 'recorded in error' }));
    assert.equal((await request('POST', `/v1/chronology-entries/${e.id}/withdrawal`, { token: as.police2, body: { reason: 'x' } })).status, 403);
    const w = await post(`/v1/chronology-entries/${e.id}/withdrawal`, as.police, { reason: 'wrong child' }, 200);
    assert.equal(w.status, 'withdrawn');
    assert.equal(w.withdrawn_reason, 'wrong child');
    assert.equal((await request('POST', `/v1/chronology-entries/${e.id}/withdrawal`, { token: as.police, body: { reason: 'again' } })).status, 409);
    assert.equal((await request('PATCH', `/v1/chronology-entries/${e.id}`, { token: as.police, body: { summary: 'x' }, headers: { 'If-Match': `"v${w.version}"` } })).status, 409);
    const list = await request('GET', `/v1/children/${kids[1].id}/chronology?limit=200`, { token: as.police });
    assert.ok(list.body.items.some((x) => x.id === e.id && x.status === 'withdrawn'));
    assert.equal(psql(`select count(*) from safeguard.chronology_entries where id = '${e.id}'`), '1');
  });
});

describe("a child's chronology", () => {
  it('orders by date, then time (untimed first), then recorded order, across periods and approximate dates', async () => {
    const c = await newChild(as.police);
    const make = (fields) => post('/v1/chronology-entries', as.police, entry([c.id], fields));
    const late = await make({ event_date: '2025-03-10', summary: 'late' });
    const timed = await make({ event_date: '2025-03-01', event_time: '15:30', summary: 'afternoon' });
    const morning = await make({ event_date: '2025-03-01', event_time: '09:05', summary: 'morning' });
    const untimed = await make({ event_date: '2025-03-01', summary: 'sometime' });
    const period = await make({ event_date: '2025-02-01', event_date_end: '2025-04-30', summary: 'period' });
    const approx = await make({ event_date: '2025-01-01', date_precision: 'approximate', summary: 'approximately' });
    const sameAsUntimed = await make({ event_date: '2025-03-01', summary: 'recorded later' });
    const got = await request('GET', `/v1/children/${c.id}/chronology`, { token: as.police });
    assert.deepEqual(got.body.items.map((e) => e.summary),
      ['approximately', 'period', 'sometime', 'recorded later', 'morning', 'afternoon', 'late']);
    void [late, timed, morning, untimed, period, approx, sameAsUntimed];
    const filtered = await request('GET', `/v1/children/${c.id}/chronology?from=2025-03-05&to=2025-03-31`, { token: as.police });
    assert.deepEqual(filtered.body.items.map((e) => e.summary), ['period', 'late']);
    const paged = await request('GET', `/v1/children/${c.id}/chronology?limit=3`, { token: as.police });
    const rest = await request('GET', `/v1/children/${c.id}/chronology?limit=10&cursor=${encodeURIComponent(paged.body.next_cursor)}`, { token: as.police });
    assert.deepEqual([...paged.body.items, ...rest.body.items].map((e) => e.summary), got.body.items.map((e) => e.summary));
  });

  it("shows an agency its own entries and CSC everyone's", async () => {
    const c = await newChild(as.cscSocialWorker);
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    await post(`/v1/children/${c.id}/involvements`, as.health, { reason: 'x' });
    await post('/v1/chronology-entries', as.police, entry([c.id], { summary: 'police' }));
    await post('/v1/chronology-entries', as.health, entry([c.id], { summary: 'health' }));
    const police = await request('GET', `/v1/children/${c.id}/chronology`, { token: as.police });
    assert.deepEqual(police.body.items.map((e) => e.agency), ['police']);
    const csc = await request('GET', `/v1/children/${c.id}/chronology`, { token: as.cscPractitioner });
    assert.deepEqual(csc.body.items.map((e) => e.agency).sort(), ['health', 'police']);
    const byAgency = await request('GET', `/v1/children/${c.id}/chronology?agency=health`, { token: as.cscPractitioner });
    assert.deepEqual(byAgency.body.items.map((e) => e.agency), ['health']);
  });
});

describe('chronology requests', () => {
  it('is opened by social workers and CSC leads only, and shows the invited agencies the children while open', async () => {
    const { fam, children } = await newFamily(2);
    for (const token of [as.police, as.policeLead, as.cscPractitioner]) {
      assert.equal((await request('POST', '/v1/chronology-requests', { token, body: requestBody({ family_id: fam.id }) })).status, 403);
    }
    const r = await post('/v1/chronology-requests', as.cscLead, requestBody({ family_id: fam.id }));
    assert.deepEqual([...r.child_ids].sort(), children.map((c) => c.id).sort());
    assert.deepEqual(r.agencies.map((a) => `${a.agency}:${a.status}`), ['health:pending', 'police:pending']);
    // the invitation is the access: nothing is stored in the network
    assert.equal(psql(`select count(*) from safeguard.child_network where child_id in ('${children[0].id}', '${children[1].id}') and agency <> 'csc'`), '0');
    assert.equal((await request('GET', `/v1/children/${children[0].id}`, { token: as.health })).status, 200);
    const bad = await request('POST', '/v1/chronology-requests', {
      token: as.cscLead,
      body: requestBody({ family_id: fam.id, child_id: children[0].id, agencies: ['police', 'police', 'nasa'], lawful_basis: 'because', period_to: day(-500), respond_by: day(-1), share_until: inSeconds(-60) }),
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e) => `${e.field}:${e.code}`).sort(), [
      'agencies[1]:duplicate', 'agencies[2]:invalid_value', 'child_id:one_of', 'lawful_basis:invalid_value',
      'period_to:before_start', 'respond_by:in_past', 'share_until:in_past',
    ]);
  });

  it('lists requests made or joined, derives overdue, pre-fills the draft and takes contributions', async () => {
    const c = await newChild(as.cscSocialWorker);
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const inside = await post('/v1/chronology-entries', as.police, entry([c.id], { event_date: day(-30), summary: 'inside' }));
    await post('/v1/chronology-entries', as.police, entry([c.id], { event_date: day(-300), summary: 'before the period' }));
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id, period_from: day(-60) }));
    const draft = await request('GET', `/v1/chronology-requests/${r.id}/draft`, { token: as.police });
    assert.deepEqual(draft.body.items.map((d) => [d.entry.summary, d.shared]), [['inside', false]]);
    assert.equal((await request('GET', `/v1/chronology-requests/${r.id}/draft`, { token: as.education })).status, 404);
    const sent = await post(`/v1/chronology-requests/${r.id}/contributions`, as.police, { entry_ids: [inside.id] }, 200);
    assert.equal(sent.agencies.find((a) => a.agency === 'police').status, 'submitted');
    const redraft = await request('GET', `/v1/chronology-requests/${r.id}/draft`, { token: as.police });
    assert.deepEqual(redraft.body.items.map((d) => d.shared), [true]);
    const none = await post(`/v1/chronology-requests/${r.id}/contributions`, as.health, { no_involvement: true }, 200);
    assert.equal(none.agencies.find((a) => a.agency === 'health').status, 'no_involvement');
    const wrong = await request('POST', `/v1/chronology-requests/${r.id}/contributions`, { token: as.police, body: { entry_ids: [randomUUID()] } });
    assert.equal(wrong.status, 422);
    assert.equal((await request('POST', `/v1/chronology-requests/${r.id}/contributions`, { token: as.police, body: { entry_ids: [], no_involvement: true } })).status, 400);
    psql(`update safeguard.chronology_requests set respond_by = current_date - 1 where id = '${r.id}'`);
    const r2 = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id, agencies: ['education'] }));
    psql(`update safeguard.chronology_requests set respond_by = current_date - 1 where id = '${r2.id}'`);
    const shown = await request('GET', `/v1/chronology-requests/${r2.id}`, { token: as.cscSocialWorker });
    assert.equal(shown.body.agencies[0].status, 'overdue');
    const listed = await request('GET', '/v1/chronology-requests?status=open&limit=200', { token: as.police });
    assert.ok(listed.body.items.some((x) => x.id === r.id));
    assert.ok(!listed.body.items.some((x) => x.id === r2.id));
    assert.equal((await request('GET', `/v1/chronology-requests/${r2.id}`, { token: as.police })).status, 404);
  });
});

describe('the consolidated timeline', () => {
  it('merges every agency in event order, siblings once, with CSV for a case review', async () => {
    const { fam, children } = await newFamily(2, { police: as.police, health: as.health });
    const both = await post('/v1/chronology-entries', as.police, entry(children.map((c) => c.id), { event_date: day(-20), summary: 'both siblings, "quoted"' }));
    const one = await post('/v1/chronology-entries', as.health, entry([children[1].id], { event_date: day(-25), summary: '=cmd()' }));
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.police, { entry_ids: [both.id] }, 200);
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.health, { entry_ids: [one.id] }, 200);
    const view = await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.health });
    assert.equal(view.status, 200);
    assert.deepEqual(view.body.entries.map((e) => e.id), [one.id, both.id]);
    assert.equal(view.body.entries[1].child_ids.length, 2);
    assert.equal(view.body.request.id, r.id);
    const csv = await request('GET', `/v1/chronology-requests/${r.id}/chronology.csv`, { token: as.cscSocialWorker });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type'), /^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^"event_date","event_date_end"/);
    assert.match(lines[1], /"'=cmd\(\)"/);
    assert.match(lines[2], /"both siblings, ""quoted"""/);
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'chronology_request.consolidated.read' and resource_id = '${r.id}'`), '2');
    // one representation per route: Accept does not turn the JSON into CSV (a generated client types each)
    const json = await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.cscSocialWorker, headers: { Accept: 'text/csv' } });
    assert.equal(json.status, 200);
    assert.match(json.headers.get('content-type'), /^application\/json/);
    assert.equal(json.body.entries.length, 2);
    // an invited agency may now read the shared entry by id, an uninvited one may not
    assert.equal((await request('GET', `/v1/chronology-entries/${both.id}`, { token: as.health })).status, 200);
    assert.equal((await request('GET', `/v1/chronology-entries/${both.id}`, { token: as.education })).status, 404);
  });

  it('closes to invited agencies when the share window passes, never to the requester', async () => {
    const c = await newChild(as.cscSocialWorker);
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id, share_until: inSeconds(3) }));
    const e = await post('/v1/chronology-entries', as.police, entry([c.id]));
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.police, { entry_ids: [e.id] }, 200);
    assert.equal((await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.police })).status, 200);
    assert.equal((await request('GET', `/v1/chronology-entries/${e.id}`, { token: as.health })).status, 200);
    assert.equal((await request('GET', `/v1/chronology-entries/${e.id}`, { token: as.education })).status, 404);
    await new Promise((ok) => setTimeout(ok, 4000));
    assert.equal((await request('GET', `/v1/chronology-entries/${e.id}`, { token: as.health })).status, 404);
    assert.equal((await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.police })).status, 404);
    assert.equal((await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.health })).status, 404);
    const own = await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.cscSocialWorker });
    assert.equal(own.status, 200);
    assert.equal(own.body.request.status, 'expired');
    // the request itself is no longer the invited agency's to see (013): 404 like any unknown request
    const late = await request('POST', `/v1/chronology-requests/${r.id}/contributions`, { token: as.health, body: { no_involvement: true } });
    assert.equal(late.status, 404);
    assert.equal(late.body.type, '/problems/not-found');
  });

  it('closes to invited agencies at closure by the requester', async () => {
    const c = await newChild(as.cscSocialWorker);
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id }));
    const e = await post('/v1/chronology-entries', as.health, entry([c.id]));
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.health, { entry_ids: [e.id] }, 200);
    assert.equal((await request('GET', `/v1/chronology-entries/${e.id}`, { token: as.police })).status, 200);
    assert.equal((await request('POST', `/v1/chronology-requests/${r.id}/closure`, { token: as.police })).status, 403);
    const key = { 'Idempotency-Key': `close-${r.id}` };
    const closing = await request('POST', `/v1/chronology-requests/${r.id}/closure`, { token: as.cscLead, headers: key });
    assert.equal(closing.status, 200);
    assert.equal(closing.body.status, 'closed');
    const retried = await request('POST', `/v1/chronology-requests/${r.id}/closure`, { token: as.cscLead, headers: key });
    assert.equal(retried.status, 200);
    assert.equal(retried.headers.get('idempotent-replayed'), 'true');
    assert.equal((await request('POST', `/v1/chronology-requests/${r.id}/closure`, { token: as.cscLead })).status, 409);
    assert.equal((await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.police })).status, 404);
    assert.equal((await request('GET', `/v1/chronology-entries/${e.id}`, { token: as.police })).status, 404);
    assert.equal((await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.cscSocialWorker })).status, 200);
  });
});

describe('the stored consolidated timeline', () => {
  // The timeline is rendered once per change (020) and kept: every change
  // that shows in it must show on the next read, and every read is audited.
  it('follows amendments, withdrawals, late contributions and children, and audits each read', async () => {
    const { fam, children } = await newFamily(2, { police: as.police, health: as.health });
    const a = await post('/v1/chronology-entries', as.police, entry([children[0].id], { event_date: day(-20), summary: 'first' }));
    const b = await post('/v1/chronology-entries', as.police, entry([children[0].id], { event_date: day(-10), summary: 'second' }));
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.police, { entry_ids: [a.id, b.id] }, 200);
    const read = async () => {
      const v = await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.cscSocialWorker });
      assert.equal(v.status, 200);
      return v.body.entries;
    };
    assert.deepEqual((await read()).map((e) => e.summary), ['first', 'second']);
    assert.equal(psql(`select built_gen = gen from safeguard.consolidated_cache where request_id = '${r.id}'`), 't');
    // an amendment (a new version of the entry)
    const shown = await request('GET', `/v1/chronology-entries/${a.id}`, { token: as.police });
    const amended = await request('PATCH', `/v1/chronology-entries/${a.id}`, { token: as.police, headers: { 'If-Match': shown.headers.get('etag') }, body: { summary: 'first, amended' } });
    assert.equal(amended.status, 200);
    assert.deepEqual((await read()).map((e) => [e.summary, e.version]), [['first, amended', 2], ['second', 1]]);
    // a withdrawal keeps the entry, marked
    await post(`/v1/chronology-entries/${b.id}/withdrawal`, as.police, { reason: 'recorded on the wrong child' }, 200);
    assert.deepEqual((await read()).map((e) => e.status), ['active', 'withdrawn']);
    // a late contribution by another agency, about the other sibling
    const h = await post('/v1/chronology-entries', as.health, entry([children[1].id], { event_date: day(-15), summary: 'health' }));
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.health, { entry_ids: [h.id] }, 200);
    assert.deepEqual((await read()).map((e) => e.summary), ['first, amended', 'health', 'second']);
    // five reads, each audited for the request and for both children, stored or not
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'chronology_request.consolidated.read' and resource_id = '${r.id}'`), '4');
    for (const c of children) {
      assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.chronology_request.consolidated.read' and resource_id = '${c.id}'`), '4');
    }
    // a reader that built from an older snapshot never stores over a newer change
    psql(`update safeguard.consolidated_cache set gen = gen + 1 where request_id = '${r.id}'`);
    assert.equal(psql(`select built_gen = gen from safeguard.consolidated_cache where request_id = '${r.id}'`), 'f');
    assert.equal((await read()).length, 3);
    assert.equal(psql(`select built_gen = gen from safeguard.consolidated_cache where request_id = '${r.id}'`), 't');
  });

  it('is not the API role\'s to read or change directly', async () => {
    assert.throws(() => psql('set role safeguard_api; select count(*) from safeguard.consolidated_cache'), /permission denied/);
    assert.throws(() => psql('set role safeguard_api; delete from safeguard.consolidated_cache'), /permission denied/);
  });
});

describe('patterns across agencies', () => {
  // One child, entries by agency, one request, every agency contributing;
  // returns the pattern codes the timeline reports.
  async function patternsFor(entries, childFields = {}) {
    const c = await newChild(as.cscSocialWorker, childFields);
    const tokens = { police: as.police, health: as.health, education: as.education, youth_justice: as.youthJustice };
    const ids = {};
    for (const [agency, fields] of entries) {
      if (!ids[agency]) {
        await post(`/v1/children/${c.id}/involvements`, tokens[agency], { reason: 'x' });
        ids[agency] = [];
      }
      ids[agency].push((await post('/v1/chronology-entries', tokens[agency], entry([c.id], fields))).id);
    }
    const r = await post('/v1/chronology-requests', as.cscSocialWorker,
      requestBody({ child_id: c.id, agencies: Object.keys(ids).length ? Object.keys(ids) : ['police'], period_from: '2020-01-01' }));
    for (const [agency, list] of Object.entries(ids)) await post(`/v1/chronology-requests/${r.id}/contributions`, tokens[agency], { entry_ids: list }, 200);
    const view = await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.cscSocialWorker });
    assert.equal(view.status, 200);
    return view.body.patterns;
  }
  const codes = (patterns) => patterns.map((p) => p.code).sort();
  const missing = (date) => ({ event_date: date, category: 'missing_episode', impact: 'negative' });

  it('three missing episodes within 30 days: triggers; over 31 days: does not', async () => {
    const hit = await patternsFor([['police', missing('2025-01-01')], ['police', missing('2025-01-15')], ['police', missing('2025-01-31')]]);
    assert.deepEqual(codes(hit), ['missing_episodes_cluster']);
    assert.equal(hit[0].entry_ids.length, 3);
    assert.deepEqual([hit[0].from, hit[0].to], ['2025-01-01', '2025-01-31']);
    const miss = await patternsFor([['police', missing('2025-01-01')], ['police', missing('2025-01-15')], ['police', missing('2025-02-01')]]);
    assert.deepEqual(codes(miss), []);
  });

  it('out of education for more than 20 school days: 21 triggers, 20 does not', async () => {
    // 2025-03-03 is a Monday: to 2025-03-31 is 21 school days, to 2025-03-28 is 20
    const hit = await patternsFor([['education', { event_date: '2025-03-03', event_date_end: '2025-03-31', category: 'not_on_roll' }]]);
    assert.deepEqual(codes(hit), ['out_of_education']);
    const miss = await patternsFor([['education', { event_date: '2025-03-03', event_date_end: '2025-03-28', category: 'not_on_roll' }]]);
    assert.deepEqual(codes(miss), []);
    const register = await patternsFor([], { education_status: 'missing_education', not_on_roll_since: day(-60) });
    assert.deepEqual(codes(register), ['out_of_education']);
    assert.ok(register[0].child_id);
  });

  it('a missing episode with an offence from another agency within 30 days triggers; the same agency, or 31 days apart, does not', async () => {
    const hit = await patternsFor([['police', missing('2025-05-01')], ['health', { event_date: '2025-05-20', category: 'injury' }]]);
    assert.deepEqual(codes(hit), ['exploitation_indicators']);
    assert.deepEqual(hit[0].agencies.sort(), ['health', 'police']);
    const sameAgency = await patternsFor([['police', missing('2025-05-01')], ['police', { event_date: '2025-05-20', category: 'arrest' }]]);
    assert.deepEqual(codes(sameAgency), []);
    const tooFar = await patternsFor([['police', missing('2025-05-01')], ['health', { event_date: '2025-06-01', category: 'injury' }]]);
    assert.deepEqual(codes(tooFar), []);
  });

  it('entries rising month on month for three months trigger; a flat month does not', async () => {
    const months = (counts) => counts.flatMap((n, m) => Array.from({ length: n }, (_, i) => ['youth_justice', { event_date: `2025-0${m + 1}-${String(i + 2).padStart(2, '0')}` }]));
    assert.deepEqual(codes(await patternsFor(months([1, 2, 3]))), ['rising_frequency']);
    assert.deepEqual(codes(await patternsFor(months([1, 2, 2]))), []);
  });

  it('leaves withdrawn entries out of the patterns', async () => {
    const c = await newChild(as.cscSocialWorker);
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const ids = [];
    for (const d of ['2025-01-01', '2025-01-10', '2025-01-20']) ids.push((await post('/v1/chronology-entries', as.police, entry([c.id], missing(d)))).id);
    await post(`/v1/chronology-entries/${ids[2]}/withdrawal`, as.police, { reason: 'duplicate' }, 200);
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id, agencies: ['police'], period_from: '2020-01-01' }));
    const sent = await request('POST', `/v1/chronology-requests/${r.id}/contributions`, { token: as.police, body: { entry_ids: ids } });
    assert.equal(sent.status, 422); // a withdrawn entry cannot be shared
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.police, { entry_ids: ids.slice(0, 2) }, 200);
    const view = await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.cscSocialWorker });
    assert.deepEqual(view.body.patterns, []);
    void tokenFor;
  });
});
