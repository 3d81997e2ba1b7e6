// A hostile partner agency against delta sync (GET /v1/changes) and the
// keyed PATCH (Idempotency-Key on every PATCH): answers that would hand a
// caller data or ids it may not see, keys reused across records, agencies
// and methods, replays after the record moved on or after the caller lost
// access, and 412s that would tell a stranger a record's current ETag.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { as, tokenFor } from './lib/people.mjs';
import { openCursor, sealCursor } from './lib/sealed-cursor.mjs';
import { syncAll as sync } from './lib/sync.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const person = (agency, role = 'practitioner', sub = `attack-${agency}-${randomUUID().slice(0, 8)}`) => tokenFor(agency, role, sub);
const subOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sub;
const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

async function ok(method, path, token, body, headers = {}) {
  const res = await request(method, path, { token, body, headers });
  assert.ok(res.status >= 200 && res.status < 300, `${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}
const post = async (path, token, body) => (await ok('POST', path, token, body)).body;

function problem(res, status, type) {
  assert.equal(res.status, status, `expected ${status} ${type}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(res.body.type, `/problems/${type}`);
  return res;
}

const newChild = (token, fields = {}) => post('/v1/children', token, {
  first_name: 'Attack', last_name: `Sync-${randomUUID().slice(0, 8)}`, date_of_birth: '2013-03-04', ...fields,
});
const entryBody = (childIds, fields = {}) => ({
  child_ids: childIds, event_date: day(-5), date_precision: 'day', category: 'home_visit',
  summary: 'visited', impact: 'neutral', significance: 'low', action_taken: 'recorded', ...fields,
});
const requestBody = (fields) => ({
  agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: day(-400), period_to: day(0), respond_by: day(7), share_until: inSeconds(3600), ...fields,
});

const about = (items, id) => items.filter((i) => i.id === id);
const audits = (where) => Number(psql(`select count(*) from safeguard.audit_events where ${where}`));

describe('keyed PATCH attacked', () => {
  it('a replay to a caller who has since lost access to the child is a 404 carrying nothing, and audits no read', async () => {
    const child = await newChild(as.cscSocialWorker);
    const nurse = person('health');
    await post(`/v1/children/${child.id}/involvements`, nurse, { reason: 'health visitor' });
    const key = `lost-${randomUUID()}`;
    const send = () => request('PATCH', `/v1/children/${child.id}`, {
      token: nurse, body: { preferred_name: 'Secret' }, headers: { 'If-Match': '"v1"', 'Idempotency-Key': key },
    });
    const first = await send();
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.last_name, child.last_name);
    // the involvement ends: the nurse may no longer see the child
    await post(`/v1/children/${child.id}/involvements/health/ending`, as.cscLead, { reason: 'discharged' });
    problem(await request('GET', `/v1/children/${child.id}`, { token: nurse }), 404, 'not-found');
    // the queued retry must not hand back the child's data
    const retry = problem(await send(), 404, 'not-found');
    assert.equal(retry.headers.get('idempotent-replayed'), null);
    assert.equal(retry.headers.get('etag'), null);
    assert.ok(!retry.text.includes(child.last_name), 'no personal data in the answer');
    assert.ok(!retry.text.includes('Secret'));
    assert.equal(audits(`action = 'child.read' and resource_id = '${child.id}' and actor_sub = ${lit(subOf(nurse))}
      and details->>'replay' = 'true'`), 0);
    // nothing applied twice, and the stored answer is still the first one (not overwritten by the 404)
    assert.equal(psql(`select version from safeguard.children where id = '${child.id}'`), '2');
    assert.equal(psql(`select status from safeguard.idempotency_keys where sub = ${lit(subOf(nurse))} and key = ${lit(key)}`), '200');
    // access back (declared again): the replay is the first answer again
    await post(`/v1/children/${child.id}/involvements`, nurse, { reason: 'back in clinic' });
    const back = await send();
    assert.equal(back.status, 200, back.text);
    assert.equal(back.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(back.body, first.body);
    assert.equal(psql(`select version from safeguard.children where id = '${child.id}'`), '2');
  });

  it('a replay after the record changed again is the first answer, never a second write', async () => {
    const me = person('police');
    const child = await newChild(me);
    const key = `again-${randomUUID()}`;
    const send = () => request('PATCH', `/v1/children/${child.id}`, {
      token: me, body: { preferred_name: 'One' }, headers: { 'If-Match': '"v1"', 'Idempotency-Key': key },
    });
    const first = await send();
    assert.equal(first.status, 200, first.text);
    await ok('PATCH', `/v1/children/${child.id}`, me, { preferred_name: 'Two' }, { 'If-Match': '"v2"' });
    const retry = await send();
    assert.equal(retry.status, 200);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.headers.get('etag'), first.headers.get('etag'));
    assert.match(retry.headers.get('etag'), /^"v2-[0-9a-f]{16}"$/);
    assert.deepEqual(retry.body, first.body);
    assert.equal(psql(`select version || ' ' || preferred_name from safeguard.children where id = '${child.id}'`), '3 Two');
    assert.equal(audits(`action = 'child.update' and resource_id = '${child.id}'`), 2);
  });

  it('the same sub and key from another agency is another key: never the first agency\'s answer', async () => {
    const sub = `shared-sub-${randomUUID()}`;
    const police = tokenFor('police', 'practitioner', sub);
    const child = await newChild(police);
    const key = `cross-${randomUUID()}`;
    const send = (token) => request('PATCH', `/v1/children/${child.id}`, {
      token, body: { preferred_name: 'Cross' }, headers: { 'If-Match': '"v1"', 'Idempotency-Key': key },
    });
    assert.equal((await send(police)).status, 200);
    for (const agency of ['voluntary', 'health', 'education']) {
      const res = problem(await send(tokenFor(agency, 'practitioner', sub)), 404, 'not-found');
      assert.equal(res.headers.get('idempotent-replayed'), null);
      assert.equal(res.headers.get('etag'), null, 'no ETag for a record the caller may not see');
      assert.ok(!res.text.includes(child.last_name));
    }
    assert.equal(psql(`select version from safeguard.children where id = '${child.id}'`), '2');
    assert.equal(psql(`select string_agg(agency, ',') from safeguard.idempotency_keys where sub = ${lit(sub)} and key = ${lit(key)}`), 'police');
  });

  it('a key across records, across PATCH and POST, and a PATCH key reused on a POST: 422, nothing written', async () => {
    const me = person('csc', 'social_worker');
    const a = await newChild(me);
    const b = await newChild(me);
    const key = `multi-${randomUUID()}`;
    const patch = (id) => request('PATCH', `/v1/children/${id}`, {
      token: me, body: { preferred_name: 'M' }, headers: { 'If-Match': '"v1"', 'Idempotency-Key': key },
    });
    assert.equal((await patch(a.id)).status, 200);
    problem(await patch(b.id), 422, 'idempotency-key-reuse');
    const last = `Never-${randomUUID().slice(0, 8)}`;
    problem(await request('POST', '/v1/children', {
      token: me, body: { first_name: 'No', last_name: last, date_of_birth: '2015-01-01' }, headers: { 'Idempotency-Key': key },
    }), 422, 'idempotency-key-reuse');
    assert.equal(psql(`select count(*) from safeguard.children where last_name = ${lit(last)}`), '0');
    assert.equal(psql(`select version from safeguard.children where id = '${b.id}'`), '1');
    // the same key on a family PATCH of another kind of record: 422 too
    const fam = await post('/v1/families', me, { name: 'Keyed' });
    problem(await request('PATCH', `/v1/families/${fam.id}`, {
      token: me, body: { name: 'X' }, headers: { 'If-Match': '"v1"', 'Idempotency-Key': key },
    }), 422, 'idempotency-key-reuse');
    assert.equal(psql(`select name from safeguard.families where id = '${fam.id}'`), 'Keyed');
  });

  it('a 412 carries the current ETag only to a caller who may see the record; others get 404 without it', async () => {
    const child = await newChild(as.cscSocialWorker);
    for (const token of [person('voluntary'), person('police'), person('health'), as.auditor]) {
      const res = await request('PATCH', `/v1/children/${child.id}`, {
        token, body: { preferred_name: 'Z' }, headers: { 'If-Match': '"v0"', 'Idempotency-Key': `s-${randomUUID()}` },
      });
      assert.ok([403, 404].includes(res.status), `${res.status} ${res.text}`);
      assert.equal(res.headers.get('etag'), null);
    }
    const stale = problem(await request('PATCH', `/v1/children/${child.id}`, {
      token: as.cscSocialWorker, body: { preferred_name: 'Z' }, headers: { 'If-Match': '"v0"' },
    }), 412, 'precondition-failed');
    assert.equal(stale.headers.get('etag'), '"v1"');
    assert.equal(psql(`select version from safeguard.children where id = '${child.id}'`), '1');
  });
});

describe('delta sync attacked', () => {
  it('limits and since at and past their bounds: 400, never a 500', async () => {
    const me = person('police');
    for (const q of ['limit=0', 'limit=201', 'limit=-1', 'limit=1e2', 'limit=', 'limit=99999999999999999999']) {
      const res = await request('GET', `/v1/changes?${q}`, { token: me });
      problem(res, 400, 'invalid-query');
    }
    for (const q of ['limit=1', 'limit=200']) assert.equal((await request('GET', `/v1/changes?${q}`, { token: me })).status, 200);
    for (const q of [`since=${'a'.repeat(1025)}`, 'since=', 'cursor=']) {
      const res = await request('GET', `/v1/changes?${q}`, { token: me });
      assert.equal(res.status, 400, `${q}: ${res.status}`);
    }
    // a cursor past the end: an xid far ahead, an instant in the future
    const { cursor } = await sync(me);
    // (positions sealed with the instance's own key: the server checks them again)
    const parts = openCursor(cursor);
    const forge = (p) => sealCursor(p);
    for (const p of [[String(BigInt(parts[0]) + 1000000n), '0', parts[2], parts[3]],
      [parts[0], parts[1], '2999-01-01 00:00:00.000000+00', parts[3]],
      ['-1', '0', parts[2], parts[3]], [parts[0], '-1', parts[2], parts[3]],
      ['18446744073709551616', '0', parts[2], parts[3]]]) {
      const res = await request('GET', `/v1/changes?since=${forge(p)}`, { token: me });
      assert.equal(res.status, 400, `${JSON.stringify(p)}: ${res.status} ${res.text}`);
    }
  });

  it('roles without a caseload: 403 in every agency', async () => {
    for (const [agency, role] of [['partnership', 'auditor'], ['partnership', 'admin'], ['csc', 'training_admin'],
      ['police', 'auditor'], ['health', 'admin'], ['education', 'training_admin']]) {
      problem(await request('GET', '/v1/changes', { token: tokenFor(agency, role, `nocase-${randomUUID()}`) }), 403, 'forbidden');
    }
  });

  it('a cursor from another caller or agency, or forged back to the start, grants nothing', async () => {
    const csc = person('csc', 'social_worker');
    const hidden = await newChild(csc);
    const c0 = (await sync(csc)).cursor;
    await ok('PATCH', `/v1/children/${hidden.id}`, csc, { preferred_name: 'Mine' }, { 'If-Match': '"v1"' });
    const vol = person('voluntary');
    const parts = openCursor(c0);
    const zero = sealCursor(['0', '0', '2000-01-01 00:00:00.000000+00', '00000000-0000-0000-0000-000000000000']);
    for (const c of [c0, zero]) {
      const { items } = await sync(vol, c);
      assert.deepEqual(about(items, hidden.id), []);
    }
    assert.ok(parts.length === 4);
    assert.equal(audits(`resource_id = '${hidden.id}' and actor_sub = ${lit(subOf(vol))}`), 0);
  });

  it('a family upsert lists only the members the caller may see, and audits only those', async () => {
    const lead = person('csc', 'social_worker');
    const fam = await post('/v1/families', lead, { name: `Split ${randomUUID().slice(0, 6)}` });
    const seen = await newChild(lead, { first_name: 'Seen' });
    const unseen = await newChild(lead, { first_name: 'Unseen' });
    for (const c of [seen, unseen]) await post(`/v1/families/${fam.id}/members`, lead, { child_id: c.id, relationship: 'child' });
    const nurse = person('health');
    const n0 = (await sync(nurse)).cursor;
    await post(`/v1/children/${seen.id}/involvements`, nurse, { reason: 'clinic' });
    const { items } = await sync(nurse, n0);
    const f = about(items, fam.id);
    if (f.length) {
      assert.deepEqual(f[0].record.members.map((m) => m.child_id), [seen.id]);
      assert.deepEqual(f[0].record, (await ok('GET', `/v1/families/${fam.id}`, nurse)).body);
    }
    assert.deepEqual(about(items, unseen.id), []);
    assert.ok(!JSON.stringify(items).includes(unseen.last_name));
    assert.equal(audits(`resource_id = '${unseen.id}' and actor_sub = ${lit(subOf(nurse))}`), 0);
  });

  it('a child seen only through a request that closed is not upserted again when it changes; a tombstone at most', async () => {
    const kid = await newChild(as.cscSocialWorker);
    const officer = person('police');
    const o0 = (await sync(officer)).cursor;
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: kid.id }));
    const open = await sync(officer, o0);
    assert.deepEqual(about(open.items, kid.id).map((i) => i.change), ['upsert']);
    await post(`/v1/chronology-requests/${req.id}/closure`, as.cscSocialWorker);
    await ok('PATCH', `/v1/children/${kid.id}`, as.cscSocialWorker, { preferred_name: 'After close' }, { 'If-Match': '"v1"' });
    const after = await sync(officer, open.cursor);
    assert.deepEqual(about(after.items, kid.id), [{ kind: 'child', id: kid.id, change: 'tombstone' }]);
    assert.ok(!JSON.stringify(after.items).includes('After close'));
  });

  it('another agency\'s unshared entry about a child both may see: never in the caller\'s sync', async () => {
    const kid = await newChild(as.cscSocialWorker);
    const nurse = person('health');
    const officer = person('police');
    await post(`/v1/children/${kid.id}/involvements`, nurse, { reason: 'clinic' });
    await post(`/v1/children/${kid.id}/involvements`, officer, { reason: 'missing episode' });
    const o0 = (await sync(officer)).cursor;
    const e = await post('/v1/chronology-entries', nurse, entryBody([kid.id], { summary: 'health only' }));
    const { items } = await sync(officer, o0);
    assert.deepEqual(about(items, e.id), []);
    assert.ok(!JSON.stringify(items).includes('health only'));
    assert.equal(audits(`resource_id = '${e.id}' and actor_sub = ${lit(subOf(officer))}`), 0);
  });

  // 018 counted the child rows an entry's answer wrote (its child_ids) as the
  // child shown, so the unseen sibling's every change was a tombstone (028).
  it('a sibling named in a shared entry, never shown to the reader: no tombstone when it changes', async () => {
    const a = await newChild(as.cscSocialWorker, { first_name: 'Subject' });
    const b = await newChild(as.cscSocialWorker, { first_name: 'Sibling' });
    const fam = await post('/v1/families', as.cscSocialWorker, { name: `Siblings ${randomUUID().slice(0, 6)}` });
    for (const c of [a, b]) await post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: c.id, relationship: 'child' });
    const nurse = person('health');
    for (const c of [a, b]) await post(`/v1/children/${c.id}/involvements`, nurse, { reason: 'clinic' });
    const e = await post('/v1/chronology-entries', nurse, entryBody([a.id, b.id], { summary: 'both at clinic' }));
    const officer = person('police');
    const o0 = (await sync(officer)).cursor;
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: a.id, agencies: ['police', 'health'] }));
    await post(`/v1/chronology-requests/${req.id}/contributions`, nurse, { entry_ids: [e.id] });
    const open = await sync(officer, o0);
    assert.deepEqual(about(open.items, e.id).map((i) => i.change), ['upsert']);
    problem(await request('GET', `/v1/children/${b.id}`, { token: officer }), 404, 'not-found');
    assert.deepEqual(about(open.items, b.id), []);
    // the answer named both children (the entry's child_ids): audited as an entry's children, once each
    const sub = subOf(officer);
    assert.deepEqual(about(open.items, e.id)[0].record.child_ids.sort(), [a.id, b.id].sort());
    for (const c of [a, b]) {
      assert.equal(audits(`action = 'child.chronology_entry.sync' and resource_id = '${c.id}' and actor_sub = ${lit(sub)}`), 1);
    }
    assert.equal(audits(`action = 'child.sync' and resource_id = '${b.id}' and actor_sub = ${lit(sub)}`), 0);
    // and the entry read by its own GET, which names the sibling too: the upsert is exactly that answer
    const got = await ok('GET', `/v1/chronology-entries/${e.id}`, officer);
    assert.deepEqual(about(open.items, e.id)[0].record, got.body);
    // the sibling changes: the officer never saw its record, so hears nothing of it
    const etag = (await ok('GET', `/v1/children/${b.id}`, as.cscSocialWorker)).headers.get('etag');
    await ok('PATCH', `/v1/children/${b.id}`, as.cscSocialWorker, { preferred_name: 'Moved' }, { 'If-Match': etag });
    const after = await sync(officer, open.cursor);
    assert.deepEqual(about(after.items, b.id), [], 'a tombstone tells the officer the unseen sibling changed');
  });

  // 018 made every later change of a record the caller lost another
  // tombstone, so a former reader kept learning when it changed (028).
  it('a record lost once is tombstoned once: later changes tell the former reader nothing more', async () => {
    const child = await newChild(as.cscSocialWorker);
    const reader = person('health');
    const r0 = (await sync(reader)).cursor;
    await post(`/v1/children/${child.id}/involvements`, reader, { reason: 'seen in clinic' });
    const seen = await sync(reader, r0);
    await post(`/v1/children/${child.id}/involvements/health/ending`, as.cscLead, { reason: 'no longer involved' });
    const gone = await sync(reader, seen.cursor);
    assert.deepEqual(about(gone.items, child.id), [{ kind: 'child', id: child.id, change: 'tombstone' }]);
    const cur = (await ok('GET', `/v1/children/${child.id}`, as.cscSocialWorker)).headers.get('etag');
    await ok('PATCH', `/v1/children/${child.id}`, as.cscSocialWorker, { preferred_name: 'Later' }, { 'If-Match': cur });
    assert.deepEqual(about((await sync(reader, gone.cursor)).items, child.id), [], 'every later change of the child is signalled');
  });
});

describe('delta sync attacked: a window that ended with no write', () => {
  // A window's end is no change in the log, so the first change after it
  // was measured from the change before the window ended, and the former
  // reader (shown the child during the window) got a second tombstone.  Each
  // tombstone now leaves an audit row with its position (045), and one the
  // caller's cursor has passed, newer than its last showing, is not handed
  // again.
  it('the tombstone comes once; the child\'s later changes tell the former reader nothing', async () => {
    const kid = await newChild(as.cscSocialWorker);
    const officer = person('police');
    const o0 = (await sync(officer)).cursor;
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: kid.id }));
    const open = await sync(officer, o0);
    assert.deepEqual(about(open.items, kid.id).map((i) => i.change), ['upsert']);
    psql(`begin; set local session_replication_role = replica;
      update safeguard.chronology_requests set share_until = now() where id = '${req.id}'; commit;`);
    const ended = await sync(officer, open.cursor);
    assert.deepEqual(about(ended.items, kid.id), [{ kind: 'child', id: kid.id, change: 'tombstone' }]);
    let cursor = ended.cursor;
    for (const name of ['Later', 'Later still']) {
      const etag = (await ok('GET', `/v1/children/${kid.id}`, as.cscSocialWorker)).headers.get('etag');
      await ok('PATCH', `/v1/children/${kid.id}`, as.cscSocialWorker, { preferred_name: name }, { 'If-Match': etag });
      const next = await sync(officer, cursor);
      assert.deepEqual(about(next.items, kid.id), [], `${name}: the change is signalled`);
      cursor = next.cursor;
    }
  });

  it('a page read again from the same cursor hands its tombstone again; once passed, never again', async () => {
    const kid = await newChild(as.cscSocialWorker);
    const officer = person('police');
    const o0 = (await sync(officer)).cursor;
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: kid.id }));
    const open = await sync(officer, o0);
    assert.deepEqual(about(open.items, kid.id).map((i) => i.change), ['upsert']);
    psql(`begin; set local session_replication_role = replica;
      update safeguard.chronology_requests set share_until = now() where id = '${req.id}'; commit;`);
    // the answer is lost to the network: the app asks again from the same cursor, twice
    const tomb = [{ kind: 'child', id: kid.id, change: 'tombstone' }];
    assert.deepEqual(about((await sync(officer, open.cursor)).items, kid.id), tomb);
    const again = await sync(officer, open.cursor);
    assert.deepEqual(about(again.items, kid.id), tomb, 'the re-read page still carries it');
    // each handing is audited, and carries no data
    assert.equal(Number(psql(`select count(*) from safeguard.audit_events where action = 'child.sync_tombstone'
      and resource_id = '${kid.id}' and actor_sub = '${subOf(officer)}' and details ? 'position'`)), 2);
    // passed: the child's later change tells the officer nothing
    const etag = (await ok('GET', `/v1/children/${kid.id}`, as.cscSocialWorker)).headers.get('etag');
    await ok('PATCH', `/v1/children/${kid.id}`, as.cscSocialWorker, { preferred_name: 'Moved on' }, { 'If-Match': etag });
    assert.deepEqual(about((await sync(officer, again.cursor)).items, kid.id), []);
    // shown again later (a new invitation), then gone again: a new tombstone, once
    const req2 = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: kid.id }));
    const reopened = await sync(officer, again.cursor);
    assert.deepEqual(about(reopened.items, kid.id).map((i) => i.change), ['upsert']);
    await post(`/v1/chronology-requests/${req2.id}/closure`, as.cscSocialWorker);
    const closed = await sync(officer, reopened.cursor);
    assert.deepEqual(about(closed.items, kid.id), tomb);
    assert.deepEqual(about((await sync(officer, closed.cursor)).items, kid.id), []);
  });
});
