// Delta sync (GET /v1/changes, issue 13 section 3): upserts exactly as each
// record's GET, tombstones for records that left the caller's view (an
// involvement ended, a request closed, a request's window passed with no
// write), never a word about a record the caller never saw, cursors that
// resume exactly and grant nothing, the audit rows of every record a page
// carries, and no change lost to concurrent writers.  Then the same route
// attacked as a hostile partner would: every role of every agency, forged
// cursors, values at and past the limits.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { request, psql } from './lib/client.mjs';
import { as, tokenFor } from './lib/people.mjs';
import { makePanel, makeChild, refer, accept, who } from './lib/panels.mjs';
import { openCursor, plainCursor, sealCursor } from './lib/sealed-cursor.mjs';
import { syncAll as sync } from './lib/sync.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const person = (agency, role = 'practitioner') => tokenFor(agency, role, `sync-${agency}-${randomUUID().slice(0, 8)}`);
const subOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sub;

async function ok(method, path, token, body, headers = {}) {
  const res = await request(method, path, { token, body, headers });
  assert.ok(res.status >= 200 && res.status < 300, `${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}
const post = async (path, token, body) => (await ok('POST', path, token, body)).body;

function problem(res, status, type) {
  assert.equal(res.status, status, `expected ${status} ${type}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.equal(res.body.type, `/problems/${type}`);
  return res;
}

const newChild = (token, fields = {}) =>
  post('/v1/children', token, { first_name: 'Sync', last_name: 'Child', date_of_birth: '2012-03-04', ...fields });

async function update(token, id, body) {
  const cur = await ok('GET', `/v1/children/${id}`, token);
  return (await ok('PATCH', `/v1/children/${id}`, token, body, { 'If-Match': cur.headers.get('etag') })).body;
}

const entryBody = (childIds, fields = {}) => ({
  child_ids: childIds, event_date: day(-5), date_precision: 'day', category: 'home_visit',
  summary: 'visited', impact: 'neutral', significance: 'low', action_taken: 'recorded', ...fields,
});

const requestBody = (fields) => ({
  agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: day(-400), period_to: day(0), respond_by: day(7), share_until: inSeconds(3600), ...fields,
});

// One page: checked against the contract (by the client) and the limit.
async function page(token, query) {
  const res = await request('GET', `/v1/changes${query ? `?${query}` : ''}`, { token });
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const limit = Number(new URLSearchParams(query).get('limit') || 50);
  assert.ok(res.body.items.length <= limit);
  if (res.body.next_cursor) {
    assert.equal(res.body.sync_cursor, res.body.next_cursor);
    assert.match(res.headers.get('link'), /rel="next"/);
  }
  return res;
}

const about = (items, id) => items.filter((i) => i.id === id);

// Audit rows of action about id by the subject sub.
const audited = (action, type, id, sub) => Number(psql(`select count(*) from safeguard.audit_events
  where action = '${action}' and resource_type = '${type}' and resource_id = '${id}' and actor_sub = '${sub}'`));

describe('upserts: the latest state, once, exactly as its GET', () => {
  it('a child created then updated twice appears once, as it is now', async () => {
    const me = person('district');
    const { cursor } = await sync(me);
    const child = await newChild(me);
    await update(me, child.id, { preferred_name: 'Sy' });
    await update(me, child.id, { gender: 'female' });
    const { items } = await sync(me, cursor);
    const mine = about(items, child.id);
    assert.equal(mine.length, 1, JSON.stringify(items));
    assert.deepEqual(Object.keys(mine[0]), ['kind', 'id', 'change', 'record']);
    assert.equal(mine[0].kind, 'child');
    assert.equal(mine[0].change, 'upsert');
    assert.equal(mine[0].record.version, 3);
    assert.deepEqual(mine[0].record, (await ok('GET', `/v1/children/${child.id}`, me)).body);
  });

  it('families and entries as their own GETs; every record carried is audited, the look-ahead one is not', async () => {
    const lead = person('district', 'safeguarding_lead');
    const { cursor } = await sync(lead);
    const fam = await post('/v1/families', lead, { name: 'Sync family', carers: [{ name: 'Pat', relationship: 'mother' }] });
    const kid = await newChild(lead, { first_name: 'Kin' });
    await post(`/v1/families/${fam.id}/members`, lead, { child_id: kid.id, relationship: 'child' });
    const e = await post('/v1/chronology-entries', lead, entryBody([kid.id]));
    const sub = subOf(lead);
    const before = {
      child: audited('child.sync', 'child', kid.id, sub),
      family: audited('family.sync', 'family', fam.id, sub),
      entry: audited('chronology_entry.sync', 'chronology_entry', e.id, sub),
    };
    const { items } = await sync(lead, cursor);
    const byId = Object.fromEntries(items.map((i) => [i.id, i]));
    assert.deepEqual(byId[fam.id].record, (await ok('GET', `/v1/families/${fam.id}`, lead)).body);
    assert.equal(byId[fam.id].kind, 'family');
    assert.deepEqual(byId[e.id].record, (await ok('GET', `/v1/chronology-entries/${e.id}`, lead)).body);
    assert.equal(byId[e.id].kind, 'chronology_entry');
    assert.deepEqual(byId[kid.id].record, (await ok('GET', `/v1/children/${kid.id}`, lead)).body);
    // the child came in its own upsert, as a member of the family and as the entry's child: one row
    // for the answer, as for every answer that carries a child
    assert.equal(audited('child.sync', 'child', kid.id, sub), before.child + 1);
    assert.equal(audited('family.sync', 'family', fam.id, sub), before.family + 1);
    assert.equal(audited('chronology_entry.sync', 'chronology_entry', e.id, sub), before.entry + 1);
    assert.equal(Number(psql(`select count(*) from safeguard.audit_events where actor_sub = '${sub}' and action like '%.sync'
      and actor_agency <> 'district'`)), 0);

    // limit=1 over two new children: the second is looked at, not returned, not audited
    const start = (await sync(lead, cursor)).cursor;
    const a = await newChild(lead, { first_name: 'First' });
    const b = await newChild(lead, { first_name: 'Second' });
    const one = await page(lead, `since=${start}&limit=1`);
    assert.deepEqual(one.body.items.map((i) => i.id), [a.id]);
    assert.ok(one.body.next_cursor);
    assert.equal(audited('child.sync', 'child', a.id, sub), 1);
    assert.equal(audited('child.sync', 'child', b.id, sub), 0);
    const two = await page(lead, `cursor=${one.body.next_cursor}&limit=1`);
    assert.deepEqual(two.body.items.map((i) => i.id), [b.id]);
    assert.equal(audited('child.sync', 'child', b.id, sub), 1);
  });
});

describe('tombstones: records that left the caller\'s view', () => {
  it('an involvement ended: a tombstone (kind and id only) for who read it, nothing for who never did', async () => {
    const child = await newChild(as.cscSocialWorker);
    const reader = person('health');
    const never = person('health');
    const r0 = (await sync(reader)).cursor;
    const n0 = (await sync(never)).cursor;
    await post(`/v1/children/${child.id}/involvements`, reader, { reason: 'seen in clinic' });
    const seen = await sync(reader, r0);
    assert.equal(about(seen.items, child.id)[0].change, 'upsert');
    await post(`/v1/children/${child.id}/involvements/health/ending`, as.cscLead, { reason: 'no longer involved' });
    const gone = await sync(reader, seen.cursor);
    assert.deepEqual(about(gone.items, child.id), [{ kind: 'child', id: child.id, change: 'tombstone' }]);
    // the same agency, another person who was never shown it: not even a tombstone
    const other = await sync(never, n0);
    assert.deepEqual(about(other.items, child.id), []);
    // and a later write to it tells neither of them anything new but the tombstone
    await update(as.cscSocialWorker, child.id, { preferred_name: 'Later' });
    assert.deepEqual(about((await sync(never, other.cursor)).items, child.id), []);
  });

  it('a chronology request closed, and one whose window passed with no write: tombstones for child, family and entry', async () => {
    // a CSC family of one child; health in its network writes an entry and shares it into two requests
    const fam = await post('/v1/families', as.cscSocialWorker, { name: `Sync ${randomUUID().slice(0, 6)}` });
    const kid = await newChild(as.cscSocialWorker);
    await post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: kid.id, relationship: 'child' });
    const nurse = person('health');
    await post(`/v1/children/${kid.id}/involvements`, nurse, { reason: 'health visitor' });
    const e = await post('/v1/chronology-entries', nurse, entryBody([kid.id]));
    const officer = person('police');
    const outsider = person('police');
    let oc = (await sync(officer)).cursor;
    const x0 = (await sync(outsider)).cursor;

    for (const ending of ['closed', 'expired']) {
      const req = await post('/v1/chronology-requests', as.cscSocialWorker,
        requestBody({ family_id: fam.id, agencies: ['police', 'health'] }));
      await post(`/v1/chronology-requests/${req.id}/contributions`, nurse, { entry_ids: [e.id] });
      const open = await sync(officer, oc);
      const kinds = (id) => about(open.items, id).map((i) => `${i.kind}:${i.change}`);
      assert.deepEqual(kinds(kid.id), ['child:upsert']);
      assert.deepEqual(kinds(fam.id), ['family:upsert']);
      assert.deepEqual(kinds(e.id), ['chronology_entry:upsert']);
      if (ending === 'closed') {
        await post(`/v1/chronology-requests/${req.id}/closure`, as.cscSocialWorker);
      } else {
        // time passes: the window ends with no write at all (triggers off for this one statement;
        // now() here is later than the last sync, as an end of window the clock reached would be)
        const logged = psql('select count(*) from safeguard.sync_changes');
        psql(`begin; set local session_replication_role = replica;
          update safeguard.chronology_requests set share_until = now() where id = '${req.id}'; commit;`);
        assert.equal(psql('select count(*) from safeguard.sync_changes'), logged, 'the window passing is no write');
      }
      // one item a page: the closing comes from the log, the window's end from the ended windows, both paged
      const after = await sync(officer, open.cursor, 1);
      assert.ok(after.pages >= 3);
      for (const [kind, id] of [['child', kid.id], ['family', fam.id], ['chronology_entry', e.id]]) {
        assert.deepEqual(about(after.items, id), [{ kind, id, change: 'tombstone' }], `${ending}: ${kind}`);
      }
      // nothing more comes of it
      assert.deepEqual((await sync(officer, after.cursor)).items.filter((i) => [kid.id, fam.id, e.id].includes(i.id)), []);
      oc = after.cursor;
    }
    // a police officer who never synced or read them while they were shared: nothing, ever
    const x = await sync(outsider, x0);
    assert.deepEqual(x.items.filter((i) => [kid.id, fam.id, e.id].includes(i.id)), []);
  });

  it('a panel referral closed: a tombstone for the member agency\'s reader, nothing for its other staff', async () => {
    const panel = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
    const reader = person('youth_justice', 'panel_member');
    const other = person('youth_justice', 'panel_member');
    const r0 = (await sync(reader)).cursor;
    const o0 = (await sync(other)).cursor;
    const child = await makeChild('csc');
    const referral = await refer(panel, child);
    await accept(referral);
    const open = await sync(reader, r0);
    assert.deepEqual(about(open.items, child.id).map((i) => i.change), ['upsert']);
    await ok('POST', `/v1/panel-referrals/${referral.id}/closure`, who('police', 'panel_chair'), { reason: 'risk_reduced' });
    assert.deepEqual(about((await sync(reader, open.cursor)).items, child.id), [{ kind: 'child', id: child.id, change: 'tombstone' }]);
    assert.deepEqual(about((await sync(other, o0)).items, child.id), []);
  });

  it('an entry a panel reads through the request its referral names: an upsert, then a tombstone when the window ends', async () => {
    const panel = await makePanel({ type: 'risk_meeting', members: ['csc', 'youth_justice'] });
    const child = await makeChild('police');
    const police = who('police', 'safeguarding_lead');
    const shared = await post('/v1/chronology-entries', police, entryBody([child.id], { summary: 'found with older peers' }));
    const kept = await post('/v1/chronology-entries', police, entryBody([child.id], { summary: 'not shared' }));
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: child.id, agencies: ['police'] }));
    await post(`/v1/chronology-requests/${req.id}/contributions`, police, { entry_ids: [shared.id] });
    const member = person('youth_justice', 'panel_member');
    const m0 = (await sync(member)).cursor;
    await refer(panel, child, as.cscSocialWorker, { chronology_request_id: req.id });
    const open = await sync(member, m0);
    assert.deepEqual(about(open.items, shared.id).map((i) => i.change), ['upsert']);
    assert.deepEqual(about(open.items, kept.id), []);
    psql(`begin; set local session_replication_role = replica;
      update safeguard.chronology_requests set share_until = now() where id = '${req.id}'; commit;`);
    const after = await sync(member, open.cursor);
    assert.deepEqual(about(after.items, shared.id), [{ kind: 'chronology_entry', id: shared.id, change: 'tombstone' }]);
    assert.deepEqual(about(after.items, kept.id), []);
    // the child stays visible to the panel (the referral is open): no tombstone for it
    assert.deepEqual(about(after.items, child.id), []);
  });

  it('a record the caller never saw never appears, whatever happens to it', async () => {
    const vol = person('voluntary');
    const v0 = (await sync(vol)).cursor;
    const hidden = await newChild(as.cscSocialWorker);
    await update(as.cscSocialWorker, hidden.id, { preferred_name: 'H' });
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: hidden.id }));
    await post(`/v1/chronology-requests/${req.id}/closure`, as.cscSocialWorker);
    const { items } = await sync(vol, v0);
    assert.deepEqual(about(items, hidden.id), []);
    // from the very beginning of the log too
    assert.deepEqual(about((await sync(vol)).items, hidden.id), []);
  });
});

describe('cursors', () => {
  it('resume exactly: page by page, from any page\'s sync_cursor, and from the final one', async () => {
    const me = person('district');
    const start = (await sync(me)).cursor;
    const made = [];
    for (let i = 0; i < 5; i++) made.push((await newChild(me, { first_name: `P${i}` })).id);
    const p1 = await page(me, `since=${start}&limit=2`);
    const p2 = await page(me, `cursor=${p1.body.next_cursor}&limit=2`);
    const p3 = await page(me, `cursor=${p2.body.next_cursor}&limit=2`);
    assert.deepEqual([p1, p2, p3].map((p) => p.body.items.length), [2, 2, 1]);
    assert.equal(p3.body.next_cursor, null);
    assert.deepEqual([...p1.body.items, ...p2.body.items, ...p3.body.items].map((i) => i.id), made);
    // page 1's sync_cursor, as `since`, resumes exactly after page 1
    const again = await sync(me, p1.body.sync_cursor, 2);
    assert.deepEqual(again.items.map((i) => i.id), made.slice(2));
    // the link header's query keeps since and adds cursor: the cursor wins
    const link = p1.headers.get('link').match(/<([^>]+)>/)[1];
    const viaLink = await request('GET', link, { token: me });
    assert.deepEqual(viaLink.body.items.map((i) => i.id), made.slice(2, 4));
    // the final cursor: nothing new, nothing again
    assert.deepEqual((await sync(me, p3.body.sync_cursor)).items, []);
    const later = await newChild(me);
    assert.deepEqual((await sync(me, p3.body.sync_cursor)).items.map((i) => i.id), [later.id]);
  });

  it('nothing new: ETag "changes-none", and 304 for a poll that sends it back', async () => {
    const me = person('district');
    const { cursor } = await sync(me);
    const empty = await page(me, `since=${cursor}`);
    assert.deepEqual(empty.body.items, []);
    assert.equal(empty.headers.get('etag'), '"changes-none"');
    const poll = await request('GET', `/v1/changes?since=${cursor}`, { token: me, headers: { 'If-None-Match': '"changes-none"' } });
    assert.equal(poll.status, 304);
    assert.equal(poll.text, '');
    const c = await newChild(me);
    const changed = await request('GET', `/v1/changes?since=${cursor}`, { token: me, headers: { 'If-None-Match': '"changes-none"' } });
    assert.equal(changed.status, 200);
    assert.equal(changed.headers.get('etag'), null);
    assert.deepEqual(changed.body.items.map((i) => i.id), [c.id]);
  });

  it('an edited, forged or foreign cursor is a 400 or grants nothing', async () => {
    const me = person('district');
    const { cursor } = await sync(me);
    const parts = openCursor(cursor);
    const forge = (p) => sealCursor(p);
    const bad = [
      `${cursor.slice(0, -2)}!!`, 'c1.', 'c2.' + cursor.slice(3), cursor.slice(3), 'x'.repeat(1024),
      forge(parts.slice(0, 3)), forge([...parts, 'x']), forge([Number(parts[0]), parts[1], parts[2], parts[3]]),
      forge(['-1', parts[1], parts[2], parts[3]]), forge([parts[0], '-5', parts[2], parts[3]]),
      forge(['1e3', parts[1], parts[2], parts[3]]), forge(['9'.repeat(19), parts[1], parts[2], parts[3]]),
      forge([parts[0], '9'.repeat(19), parts[2], parts[3]]),
      forge(['999999999999999999', '0', parts[2], parts[3]]), // past the end of the log
      forge([parts[0], parts[1], '2999-01-01 00:00:00+00', parts[3]]), // past now
      forge([parts[0], parts[1], '1899-12-31 00:00:00+00', parts[3]]),
      forge([parts[0], parts[1], '2026-02-30 00:00:00+00', parts[3]]),
      forge([parts[0], parts[1], '2026-01-01 24:00:00+00', parts[3]]),
      forge([parts[0], parts[1], '2026-01-01 00:00:00+01', parts[3]]),
      forge([parts[0], parts[1], parts[2], 'not-a-uuid']),
      forge([parts[0], parts[1], parts[2], "'; select 1; --"]),
      // a real position in the plain form other lists use, or sealed with another key: the client cannot make one
      plainCursor(parts), `c1.${cursor.slice(3)}`, sealCursor(parts, 'another-secret-0123456789abcdef-0123456789'),
    ];
    for (const c of bad) {
      for (const name of ['since', 'cursor']) {
        const res = await request('GET', `/v1/changes?${name}=${encodeURIComponent(c)}`, { token: me });
        if (c.length > 1024) problem(res, 400, 'invalid-query');
        else problem(res, 400, 'invalid-cursor');
      }
    }
    // at the edge: the very start of the log is a valid position (it grants nothing)
    const zero = forge(['0', '0', '1900-01-01 00:00:00+00', '00000000-0000-0000-0000-000000000000']);
    const fromZero = await sync(me, zero);
    // another caller's cursor, from the start: only what this caller may see, never the other's records
    const owner = person('youth_justice');
    const o0 = (await sync(owner)).cursor;
    const secret = await newChild(owner);
    const theirs = await sync(owner, o0);
    assert.deepEqual(about(theirs.items, secret.id).map((i) => i.change), ['upsert']);
    for (const c of [o0, theirs.cursor, zero]) {
      assert.deepEqual(about((await sync(me, c)).items, secret.id), []);
    }
    assert.deepEqual(about(fromZero.items, secret.id), []);
  });

  it('limits: 1 and 200 work, 0, 201, -1 and words are 400', async () => {
    const me = person('district');
    for (const l of ['1', '200']) assert.equal((await page(me, `limit=${l}`)).status, 200);
    for (const l of ['0', '201', '-1', 'ten', '1.5', '', '99999999999999999999']) {
      problem(await request('GET', `/v1/changes?limit=${l}`, { token: me }), 400, 'invalid-query');
    }
    problem(await request('GET', '/v1/changes?updated_since=2026-01-01', { token: me }), 400, 'invalid-query');
    problem(await request('GET', '/v1/changes?since=', { token: me }), 400, 'invalid-query');
    assert.equal((await request('GET', '/v1/changes', {})).status, 401);
    assert.equal((await request('POST', '/v1/changes', { token: me, body: {} })).status, 405);
  });
});

describe('a page reads a bounded part of the log', () => {
  it('a page that met only changes the caller may not see is empty, with a next_cursor, and resumes', async () => {
    const me = person('district');
    const sub = subOf(me);
    const start = (await sync(me)).cursor;
    const mine = [];
    for (let i = 0; i < 3; i++) {
      mine.push((await newChild(me, { first_name: `B${i}` })).id);
      await newChild(as.cscSocialWorker); // a change this caller may not see, in between
    }
    // sync_page as the API runs it (its role, the caller's identity), reading 1 row of the log per page
    const pageOf = (pos) => psql(`begin; set local role safeguard_api;
      select set_config('app.sub', '${sub}', true), set_config('app.agency', 'district', true),
             set_config('app.roles', 'practitioner', true), set_config('app.request_id', 'sync-test', true);
      select coalesce(item::json->>'id', '-'), more, array_to_string(pos, ',') from safeguard.sync_page(
        '${pos[0]}', ${pos[1]}, '${pos[2]}', '${pos[3]}', 50, 1); rollback;`);
    let pos = openCursor(start);
    const seen = [];
    let empty = 0;
    for (let n = 0; n < 20; n++) {
      const rows = pageOf(pos).split('\n').slice(1).map((l) => l.split('|')); // after set_config's line
      const last = rows[rows.length - 1];
      const items = rows.slice(0, -1).map((r) => r[0]);
      assert.ok(items.length <= 1);
      if (items.length === 0 && last[1] === 't') empty++;
      seen.push(...items);
      pos = last[2].split(',');
      if (last[1] === 'f') break;
    }
    assert.deepEqual(seen, mine);
    assert.ok(empty >= 1, 'a page that read only what the caller may not see');
    // the same through the API: every page at most limit, all of them together exactly the changes
    assert.deepEqual((await sync(me, start, 1)).items.map((i) => i.id), mine);
  });
});

describe('who may sync', () => {
  it('every role of every agency: the case roles sync, nobody else (403)', async () => {
    const agencies = ['csc', 'police', 'health', 'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership'];
    const roles = ['practitioner', 'safeguarding_lead', 'social_worker', 'panel_chair', 'panel_member', 'training_admin', 'auditor', 'admin'];
    const caseRoles = new Set(['practitioner', 'safeguarding_lead', 'social_worker', 'panel_chair', 'panel_member']);
    for (const agency of agencies) {
      for (const role of roles) {
        const res = await request('GET', '/v1/changes?limit=1', { token: tokenFor(agency, role, `sync-role-${agency}-${role}`) });
        if (role === 'social_worker' && agency !== 'csc') assert.equal(res.status, 401, 'a social worker is CSC\'s only');
        else if (caseRoles.has(role)) assert.equal(res.status, 200, `${agency} ${role}`);
        else problem(res, 403, 'forbidden');
      }
    }
  });

  it('a hostile partner sees in a full sync only what its own GETs show', async () => {
    const police = person('police', 'safeguarding_lead');
    const all = await sync(police);
    const sample = all.items.filter((i) => i.change === 'upsert').slice(-20);
    for (const item of sample) {
      const path = { child: 'children', family: 'families', chronology_entry: 'chronology-entries' }[item.kind];
      assert.equal((await request('GET', `/v1/${path}/${item.id}`, { token: police })).status, 200);
    }
    // nothing CSC alone holds
    const cscOnly = await newChild(as.cscSocialWorker);
    assert.deepEqual(about((await sync(police, all.cursor)).items, cscOnly.id), []);
    // every tombstone names a record this person was shown (none yet: it is new)
    assert.deepEqual(all.items.filter((i) => i.change === 'tombstone'), []);
  });

  it('another agency\'s entry about a shared child, and the same subject under another agency: nothing', async () => {
    const child = await newChild(as.cscSocialWorker);
    const officer = person('police');
    const nurse = person('health');
    const o0 = (await sync(officer)).cursor;
    await post(`/v1/children/${child.id}/involvements`, officer, { reason: 'custody record' });
    await post(`/v1/children/${child.id}/involvements`, nurse, { reason: 'clinic' });
    const e = await post('/v1/chronology-entries', nurse, entryBody([child.id], { summary: 'disclosed at clinic' }));
    const got = await sync(officer, o0);
    assert.deepEqual(about(got.items, child.id).map((i) => i.change), ['upsert']);
    assert.deepEqual(about(got.items, e.id), []);
    // the nurse's own subject, presented under another agency's token: the nurse's reads grant it nothing
    const twin = tokenFor('voluntary', 'practitioner', subOf(nurse));
    await sync(nurse); // the nurse is shown the child and the entry
    await post(`/v1/children/${child.id}/involvements/health/ending`, as.cscLead, { reason: 'discharged' });
    const t = await sync(twin);
    assert.deepEqual(t.items.filter((i) => [child.id, e.id].includes(i.id)), []);
  });
});

describe('no change lost to concurrent writers', () => {
  const run = (sql) => new Promise((resolve, reject) => execFile('psql',
    [process.env.DATABASE_URL_ADMIN, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], (err, out) => (err ? reject(err) : resolve(out))));

  it('a change committed after a later one is still handed out (the bound holds the later one back)', async () => {
    const me = person('district');
    const slow = await newChild(me, { first_name: 'Slow' });
    const fast = await newChild(me, { first_name: 'Fast' });
    const start = (await sync(me)).cursor;
    // a writer takes its transaction id first, then commits last
    const tag = randomUUID().slice(0, 8);
    const held = run(`begin; update safeguard.children set preferred_name = 'slow-${tag}', version = version + 1 where id = '${slow.id}';
      select pg_sleep(2); commit;`);
    for (let i = 0; i < 100 && psql(`select count(*) from pg_stat_activity where query like '%slow-${tag}%' and state = 'active' and pid <> pg_backend_pid()`) === '0'; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await update(me, fast.id, { preferred_name: 'fast' });
    const during = await sync(me, start);
    // the later change waits behind the open transaction: the cursor never passes the earlier one
    assert.deepEqual(during.items.map((i) => i.id), []);
    await held;
    const after = await sync(me, during.cursor);
    const got = Object.fromEntries(after.items.map((i) => [i.id, i.record.preferred_name]));
    assert.deepEqual(got, { [slow.id]: `slow-${tag}`, [fast.id]: 'fast' });
  });

  it('writers and a syncing reader at once: the reader\'s copy ends equal to the database', async () => {
    const writers = [person('district'), person('district'), person('district')];
    const reader = person('district', 'safeguarding_lead');
    let { cursor } = await sync(reader);
    const copy = new Map();
    const apply = (items) => {
      for (const i of items) {
        if (i.change === 'tombstone') copy.delete(i.id);
        else {
          const had = copy.get(i.id);
          if (had) assert.ok(i.record.version >= had.version, 'a record never goes back');
          copy.set(i.id, i.record);
        }
      }
    };
    let writing = true;
    const ids = [];
    const work = writers.map(async (w, n) => {
      for (let k = 0; k < 8; k++) {
        const c = await newChild(w, { first_name: `W${n}k${k}` });
        ids.push(c.id);
        await update(w, c.id, { preferred_name: `v2-${k}` });
      }
    });
    const syncing = (async () => {
      let rounds = 0;
      while (writing || rounds < 1) {
        const s = await sync(reader, cursor, 3);
        apply(s.items);
        cursor = s.cursor;
        rounds++;
      }
      return rounds;
    })();
    await Promise.all(work);
    writing = false;
    const rounds = await syncing;
    assert.ok(rounds > 1, 'the reader synced while the writers wrote');
    apply((await sync(reader, cursor)).items);
    assert.equal(ids.length, 24);
    for (const id of ids) {
      const now = (await ok('GET', `/v1/children/${id}`, reader)).body;
      assert.deepEqual(copy.get(id), now, `child ${id}`);
    }
  });
});

before(() => {
  assert.ok(process.env.DATABASE_URL_ADMIN, 'DATABASE_URL_ADMIN');
});
