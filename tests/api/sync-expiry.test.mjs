// Delta sync and a chronology request's share window running out (053).
// An invited agency sees the request's subject children while the window
// lasts; a family it sees another way (it made the family, or another member
// is in its network) is rendered with the members it may see (family_json),
// so while the window lasts its copy lists the child, name and date of
// birth.  The window's end is no write (nothing logs it): the sync finds it
// (sync_expired) and must re-send that family without the child, whether it
// is the family the request named or the one the child has moved to since.
// Each case is asserted through GET /v1/changes of a device that synced
// while the window lasted, the window ended in the database with the log's
// triggers off for that one statement, as the clock reaching it would.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { tokenFor, as } from './lib/people.mjs';
import { sql } from './lib/panels.mjs';
import { syncAll as sync, said } from './lib/sync.mjs';

const utcDay = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const device = (agency, role = 'practitioner') => tokenFor(agency, role, `expiry-${agency}-${role}-${randomUUID().slice(0, 8)}`);
const subOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sub;

async function ok(method, path, token, body, headers = {}) {
  const res = await request(method, path, { token, body, headers });
  assert.ok(res.status >= 200 && res.status < 300, `${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}
const post = async (path, token, body) => (await ok('POST', path, token, body)).body;

// The children a family's one upsert in items lists (as the caller sees them).
const members = (items, famId) => {
  const up = items.filter((i) => i.id === famId);
  assert.deepEqual(up.map((i) => i.change), ['upsert'], `one upsert of the family: ${JSON.stringify(up)}`);
  return up[0].record.members.map((m) => m.child_id);
};

const newChild = (token) =>
  post('/v1/children', token, { first_name: 'Expiry', last_name: `Child${randomUUID().slice(0, 4)}`, date_of_birth: '2011-02-03' });
const newFamily = (token, label) => post('/v1/families', token, { name: `Expiry ${label} ${randomUUID().slice(0, 6)}` });
const join = (fam, child) => post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: child.id, relationship: 'child' });
const requestBody = (fields) => ({
  agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: utcDay(-400), period_to: utcDay(0), respond_by: utcDay(7), share_until: inSeconds(3600), ...fields,
});
const policeLead = () => tokenFor('police', 'safeguarding_lead', `expiry-police-lead-${randomUUID().slice(0, 8)}`);

// The window ends now, with no write to the log (its triggers off for this statement).
function windowEnds(reqId) {
  const logged = psql('select count(*) from safeguard.sync_changes');
  psql(`begin; set local session_replication_role = replica;
    update safeguard.chronology_requests set share_until = now() where id = ${sql(reqId)}; commit;`);
  assert.equal(psql('select count(*) from safeguard.sync_changes'), logged, 'the window passing is no write');
}
const audited = (action, type, id, sub) => Number(psql(`select count(*) from safeguard.audit_events
  where action = '${action}' and resource_type = '${type}' and resource_id = '${id}' and actor_sub = '${sub}'`));

describe('a share window ends: the family the invited agency sees another way is re-sent without the child', () => {
  it('the child moved from the family the request names to one police made: that family comes without it', async () => {
    const named = await newFamily(as.cscSocialWorker, 'named');
    const moved = await newFamily(policeLead(), 'moved');
    const child = await newChild(as.cscSocialWorker);
    await join(named, child);
    // a police device that synced before the request: shown the moved family (no members yet), never the child
    const outsider = device('police');
    const x0 = await sync(outsider);
    assert.deepEqual(members(x0.items, moved.id), []);
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: child.id }));
    assert.equal(psql(`select subject_family_id from safeguard.chronology_requests where id = ${sql(req.id)}`), named.id);
    // the child moves after the request opened (its register entry), the request still naming the first family
    psql(`update safeguard.children set family_id = ${sql(moved.id)} where id = ${sql(child.id)}`);
    const police = device('police');
    const open = await sync(police);
    assert.deepEqual(said(open.items, child.id), ['upsert']);
    assert.deepEqual(members(open.items, moved.id), [child.id]);
    assert.deepEqual(members(open.items, named.id), []);

    windowEnds(req.id);
    const sub = subOf(police);
    const before = audited('family.sync', 'family', moved.id, sub);
    const after = await sync(police, open.cursor);
    assert.deepEqual(said(after.items, child.id), ['tombstone']);
    assert.deepEqual(members(after.items, moved.id), []);
    assert.deepEqual(after.items.find((i) => i.id === moved.id).record, (await ok('GET', `/v1/families/${moved.id}`, police)).body);
    // the family police was shown only through the request: its tombstone, as before
    assert.deepEqual(said(after.items, named.id), ['tombstone']);
    // the upsert is a read like any other: audited
    assert.equal(audited('family.sync', 'family', moved.id, sub), before + 1);
    // nothing more comes of it
    const again = await sync(police, after.cursor);
    assert.deepEqual(again.items.filter((i) => [child.id, moved.id, named.id].includes(i.id)), []);
    // the device that synced before the request: never a word of the child or the family it was
    // never shown; the moved family once (its change in the log, and the window's end, on one page),
    // as it is now
    const x = await sync(outsider, x0.cursor);
    assert.deepEqual(x.items.filter((i) => [child.id, named.id].includes(i.id)), []);
    assert.deepEqual(members(x.items, moved.id), []);
  });

  it('the family the request names, which police made: it comes without the child, not skipped as still visible', async () => {
    const fam = await newFamily(policeLead(), 'named');
    const child = await newChild(as.cscSocialWorker);
    await join(fam, child);
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
    const police = device('police');
    const open = await sync(police);
    assert.deepEqual(said(open.items, child.id), ['upsert']);
    assert.deepEqual(members(open.items, fam.id), [child.id]);
    windowEnds(req.id);
    const after = await sync(police, open.cursor);
    assert.deepEqual(said(after.items, child.id), ['tombstone']);
    assert.deepEqual(members(after.items, fam.id), []);
    assert.deepEqual(said((await sync(police, after.cursor)).items, fam.id), []);
  });

  it('the family the request names, in which another member is in police\'s network: the same', async () => {
    const fam = await newFamily(as.cscSocialWorker, 'network');
    const child = await newChild(as.cscSocialWorker);
    const sibling = await newChild(policeLead());
    await join(fam, child);
    await join(fam, sibling);
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: child.id }));
    assert.equal(psql(`select subject_family_id from safeguard.chronology_requests where id = ${sql(req.id)}`), fam.id);
    const police = device('police');
    const open = await sync(police);
    assert.deepEqual(members(open.items, fam.id).sort(), [child.id, sibling.id].sort());
    windowEnds(req.id);
    const after = await sync(police, open.cursor);
    assert.deepEqual(said(after.items, child.id), ['tombstone']);
    assert.deepEqual(said(after.items, sibling.id), []);
    assert.deepEqual(members(after.items, fam.id), [sibling.id]);
  });

  it('the child moved to a family police cannot see and was never shown: not a word of it', async () => {
    const named = await newFamily(as.cscSocialWorker, 'named');
    const other = await newFamily(as.cscSocialWorker, 'unseen');
    const child = await newChild(as.cscSocialWorker);
    await join(named, child);
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: child.id }));
    psql(`update safeguard.children set family_id = ${sql(other.id)} where id = ${sql(child.id)}`);
    const police = device('police');
    const open = await sync(police);
    assert.deepEqual(said(open.items, child.id), ['upsert']);
    assert.deepEqual(said(open.items, other.id), []);
    windowEnds(req.id);
    const after = await sync(police, open.cursor);
    assert.deepEqual(said(after.items, child.id), ['tombstone']);
    assert.deepEqual(said(after.items, other.id), []);
  });

  it('one item a page: the cursor moves past each of the window\'s items, none lost, none twice', async () => {
    const named = await newFamily(as.cscSocialWorker, 'named');
    const moved = await newFamily(policeLead(), 'moved');
    const [k1, k2] = [await newChild(as.cscSocialWorker), await newChild(as.cscSocialWorker)];
    await join(named, k1);
    await join(named, k2);
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: named.id }));
    psql(`update safeguard.children set family_id = ${sql(moved.id)} where id = ${sql(k1.id)}`);
    const police = device('police');
    const open = await sync(police);
    assert.deepEqual(members(open.items, moved.id), [k1.id]);
    windowEnds(req.id);
    const after = await sync(police, open.cursor, 1);
    const mine = after.items.filter((i) => [k1.id, k2.id, named.id, moved.id].includes(i.id));
    assert.deepEqual(mine.map((i) => `${i.id}:${i.change}`).sort(),
      [`${k1.id}:tombstone`, `${k2.id}:tombstone`, `${named.id}:tombstone`, `${moved.id}:upsert`].sort());
    assert.ok(after.pages >= 4);
    assert.deepEqual(members(after.items, moved.id), []);
    // a page read again from the same cursor is the same page: the upsert comes again
    const first = await sync(police, open.cursor, 200);
    assert.deepEqual(members(first.items, moved.id), []);
    assert.deepEqual((await sync(police, after.cursor)).items.filter((i) => mine.some((m) => m.id === i.id)), []);
  });

  it('the family changed in the log after the cursor comes once, as the log has it, at any page size (057)', async () => {
    const named = await newFamily(as.cscSocialWorker, 'named');
    const lead = policeLead();
    const moved = await newFamily(lead, 'moved');
    const child = await newChild(as.cscSocialWorker);
    await join(named, child);
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: child.id }));
    psql(`update safeguard.children set family_id = ${sql(moved.id)} where id = ${sql(child.id)}`);
    const police = device('police');
    const open = await sync(police);
    assert.deepEqual(members(open.items, moved.id), [child.id]);
    // after the device's cursor: the family renamed, then another record police sees, then the window ends
    const etag = (await ok('GET', `/v1/families/${moved.id}`, lead)).headers.get('etag');
    const name = `Expiry renamed ${randomUUID().slice(0, 6)}`;
    await ok('PATCH', `/v1/families/${moved.id}`, lead, { name }, { 'If-Match': etag });
    const later = await newChild(lead);
    windowEnds(req.id);
    for (const limit of [1, 2, 200]) {
      const after = await sync(police, open.cursor, limit);
      // one upsert (members asserts it), without the child, with the change the log holds
      assert.deepEqual(members(after.items, moved.id), [], `limit ${limit}`);
      assert.equal(after.items.find((i) => i.id === moved.id).record.name, name, `limit ${limit}`);
      assert.deepEqual(said(after.items, child.id), ['tombstone'], `limit ${limit}`);
      assert.deepEqual(said(after.items, later.id), ['upsert'], `limit ${limit}`);
    }
  });
});
