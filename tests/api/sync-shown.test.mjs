// sync-shown.test.mjs - which audit rows count as a record shown to its
// caller, for delta sync (GET /v1/changes), the change log's policy and
// sync_window (migration 047).
//
// A tombstone, and a record's change positions, go only to a caller the
// audit trail shows was given the record.  Until 047 every audit action of
// the caller about the record counted except a few listed by hand, so an
// answer that only named a child (a 409 possible-duplicate, a declined
// referral read by a panel member) made the child's later changes reach a
// caller who may not see it: a tombstone in its sync, its change positions
// from the log and the window.  047's allow-list (sync_action_shows) counts
// only the actions whose answer carried the record itself.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { tokenFor, nhsNumber } from './lib/people.mjs';
import { who, ok, makePanel, makeChild, refer, asApi, sql } from './lib/panels.mjs';
import { openCursor } from './lib/sealed-cursor.mjs';

const subOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sub;
const person = (agency, role = 'practitioner') => tokenFor(agency, role, `shown-${agency}-${randomUUID().slice(0, 8)}`);
const post = async (path, token, body, status = 201) => (await ok('POST', path, token, body, status)).body;

async function sync(token, cursor = null) {
  const items = [];
  for (let pages = 1; ; pages++) {
    const q = new URLSearchParams({ limit: '200', ...(cursor ? { cursor } : {}) });
    const res = await request('GET', `/v1/changes?${q}`, { token });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    items.push(...res.body.items);
    if (!res.body.next_cursor) return { items, cursor: res.body.sync_cursor };
    cursor = res.body.next_cursor;
    assert.ok(pages < 2000, 'a sync that does not end');
  }
}
const about = (items, id) => items.filter((i) => i.id === id).map((i) => `${i.kind}:${i.change}`);

async function patchChild(id, fields) {
  const csc = who('csc', 'social_worker');
  const cur = await ok('GET', `/v1/children/${id}`, csc);
  await ok('PATCH', `/v1/children/${id}`, csc, fields, 200, { 'If-Match': cur.headers.get('etag') });
}

// As the API's role with the caller's identity: how many of the child's
// rows the log's policy lets it read, how many positions of the child's
// changes sync_window answers it (matched against the positions read as
// the owner, not through the policy), and what sync_shown and
// sync_shown_since (from the log's start) answer about the child.
function watched(token, agency, roles, childId) {
  const caller = { agency, roles, sub: subOf(token) };
  const positions = psql(`select string_agg(format('(%L::xid8, %s)', xid, seq), ',') from safeguard.sync_changes
    where record_id = '${childId}'`);
  assert.ok(positions, 'the child has changes in the log');
  const { out, err } = asApi(caller, `select
      (select count(*) from safeguard.sync_changes where record_id = '${childId}') || ',' ||
      (select count(*) from safeguard.sync_window('0', 0, pg_snapshot_xmin(pg_current_snapshot()), null, null, 1000000) w
        where (w.xid, w.seq) in (${positions})) || ',' ||
      safeguard.sync_shown('child', '${childId}') || ',' ||
      safeguard.sync_shown_since('child', '${childId}', '0', 0)`);
  assert.equal(err, undefined, err);
  const [log, window, shown, since] = out.split(',');
  return { log: Number(log), window: Number(window), shown, since };
}
const NOT_SHOWN = { log: 0, window: 0, shown: 'false', since: 'false' };
const audited = (token, action, id) => Number(psql(`select count(*) from safeguard.audit_events
  where actor_sub = ${sql(subOf(token))} and action = ${sql(action)} and resource_id = ${sql(id)}`));

describe('an answer that only names a child does not show it to sync', () => {
  it('a 409 possible-duplicate naming a child outside the network: no tombstone, no change, no position', async () => {
    const nhs = nhsNumber();
    const child = await makeChild('csc', { nhs_number: nhs });
    const stranger = person('voluntary');
    const s0 = (await sync(stranger)).cursor;
    const res = await request('POST', '/v1/children', {
      token: stranger, body: { first_name: 'Other', last_name: 'Child', date_of_birth: '2014-01-01', nhs_number: nhs },
    });
    assert.equal(res.status, 409, res.text);
    assert.equal(res.body.type, '/problems/possible-duplicate');
    assert.equal(res.body.existing_id, child.id);
    assert.ok(!res.text.includes(child.last_name), 'the 409 carries the id only');
    // the naming is audited on the child (039): the row that must not count as a showing
    assert.equal(audited(stranger, 'child.identifier_match', child.id), 1);
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: stranger })).status, 404);
    await patchChild(child.id, { preferred_name: 'Changed' });
    await patchChild(child.id, { preferred_name: 'Changed again' });
    assert.deepEqual(about((await sync(stranger, s0)).items, child.id), [], 'the sync tells the stranger the child changed');
    assert.deepEqual(about((await sync(stranger)).items, child.id), [], 'a first sync tells it too');
    assert.equal(audited(stranger, 'child.sync_tombstone', child.id), 0);
    assert.deepEqual(watched(stranger, 'voluntary', 'practitioner', child.id), NOT_SHOWN);
  });

  it('a declined referral a panel member reads (the child\'s id, its name withheld): no tombstone, no change, no position', async () => {
    const panel = await makePanel({ type: 'risk_meeting', chair: 'police', members: ['voluntary', 'csc'] });
    const child = await makeChild('csc');
    const member = person('voluntary', 'panel_member');
    const m0 = (await sync(member)).cursor;
    const referral = await refer(panel, child, who('csc', 'social_worker'));
    await post(`/v1/panel-referrals/${referral.id}/decision`, who('police', 'panel_chair'),
      { outcome: 'declined', reason: 'not for this panel' }, 200);
    const list = await ok('GET', `/v1/panels/${panel.id}/referrals`, member);
    const read = list.body.items.find((r) => r.id === referral.id);
    assert.equal(read.child_id, child.id);
    assert.equal(read.child, null, 'the member may not see the child once the referral is declined');
    assert.ok(audited(member, 'child.panel_referral.read', child.id) >= 1, 'the read is audited on the child');
    await patchChild(child.id, { preferred_name: 'After the decision' });
    assert.deepEqual(about((await sync(member, m0)).items, child.id), []);
    assert.equal(audited(member, 'child.sync_tombstone', child.id), 0);
    assert.deepEqual(watched(member, 'voluntary', 'panel_member', child.id), NOT_SHOWN);
  });
});

describe('a caller who was shown the child still hears that it left', () => {
  it('read while in the network, then the involvement ends: exactly one tombstone, and the log still its', async () => {
    const child = await makeChild('csc');
    const nurse = person('health');
    const n0 = (await sync(nurse)).cursor;
    await post(`/v1/children/${child.id}/involvements`, nurse, { reason: 'health visitor' });
    assert.equal((await ok('GET', `/v1/children/${child.id}`, nurse)).body.last_name, child.last_name);
    const seen = await sync(nurse, n0);
    assert.deepEqual(about(seen.items, child.id), ['child:upsert']);
    await post(`/v1/children/${child.id}/involvements/health/ending`, who('csc', 'safeguarding_lead'), { reason: 'discharged' }, 200);
    await patchChild(child.id, { preferred_name: 'Gone' });
    const gone = await sync(nurse, seen.cursor);
    assert.deepEqual(about(gone.items, child.id), ['child:tombstone']);
    await patchChild(child.id, { preferred_name: 'Gone again' });
    assert.deepEqual(about((await sync(nurse, gone.cursor)).items, child.id), [], 'one tombstone, not one a change');
    // shown: the log's policy still lets the API role read the child's changes for the nurse
    const w = watched(nurse, 'health', 'practitioner', child.id);
    assert.ok(w.log > 0, JSON.stringify(w));
    assert.deepEqual({ ...w, log: 0 }, { log: 0, window: 1, shown: 'true', since: 'true' });
  });

  it('tombstoned once, then a 409 names the child to it again: no second tombstone, the first still stands', async () => {
    const nhs = nhsNumber();
    const child = await makeChild('csc', { nhs_number: nhs });
    const nurse = person('health');
    const n0 = (await sync(nurse)).cursor;
    await post(`/v1/children/${child.id}/involvements`, nurse, { reason: 'health visitor' });
    await ok('GET', `/v1/children/${child.id}`, nurse);
    await post(`/v1/children/${child.id}/involvements/health/ending`, who('csc', 'safeguarding_lead'), { reason: 'discharged' }, 200);
    await patchChild(child.id, { preferred_name: 'Gone' });
    const gone = await sync(nurse, n0);
    assert.deepEqual(about(gone.items, child.id), ['child:tombstone']);
    const res = await request('POST', '/v1/children', {
      token: nurse, body: { first_name: 'Other', last_name: 'Child', date_of_birth: '2014-01-01', nhs_number: nhs },
    });
    assert.equal(res.status, 409, res.text);
    assert.equal(audited(nurse, 'child.identifier_match', child.id), 1);
    await patchChild(child.id, { preferred_name: 'Gone again' });
    assert.deepEqual(about((await sync(nurse, gone.cursor)).items, child.id), [], 'the 409 made the child shown again');
    assert.equal(audited(nurse, 'child.sync_tombstone', child.id), 1);
    // called directly: the tombstone the cursor passed is still newer than the last showing
    const [x, s, t, e] = openCursor(gone.cursor);
    const got = asApi({ agency: 'health', roles: 'practitioner', sub: subOf(nurse) },
      `select safeguard.sync_tombstoned('child', '${child.id}', ${sql(x)}, ${s}, ${sql(t)}, ${sql(e)})`);
    assert.deepEqual(got, { out: 't' });
  });

  it('read by GET only (never synced) while in the network: the tombstone still comes', async () => {
    const child = await makeChild('csc');
    const nurse = person('health');
    const n0 = (await sync(nurse)).cursor;
    await post(`/v1/children/${child.id}/involvements`, nurse, { reason: 'health visitor' });
    await ok('GET', `/v1/children/${child.id}`, nurse);
    await post(`/v1/children/${child.id}/involvements/health/ending`, who('csc', 'safeguarding_lead'), { reason: 'discharged' }, 200);
    await patchChild(child.id, { preferred_name: 'Gone' });
    assert.deepEqual(about((await sync(nurse, n0)).items, child.id), ['child:tombstone']);
  });
});

describe('the list itself', () => {
  it('shows: the record\'s own answers; not: naming, tombstones, and any action not listed', () => {
    const shows = (a) => psql(`select safeguard.sync_action_shows(${sql(a)})`);
    for (const a of ['child.create', 'child.read', 'child.update', 'child.sync', 'family.read', 'family.sync',
      'chronology_entry.read', 'chronology_entry.sync']) assert.equal(shows(a), 't', a);
    for (const a of ['child.identifier_match', 'child.search', 'child.panel_referral.read', 'child.cme_case.read',
      'child.chronology_entry.read', 'child.chronology.read', 'child.chronology_request.consolidated.read',
      'child.involvement.declare', 'child.sync_tombstone', 'family.sync_tombstone', 'child.some_new_action', '']) {
      assert.equal(shows(a), 'f', a);
    }
    assert.equal(psql('select safeguard.sync_action_shows(null) is not true'), 't');
    // the API's role may not call it (only the definer functions ask it)
    assert.match(asApi({ agency: 'police', roles: 'practitioner' }, "select safeguard.sync_action_shows('child.read')").err ?? '',
      /permission denied/);
  });
});
