// sync-window.test.mjs - a page of delta sync checks the records the caller
// could be told about, not every row of the log it reads (042).
//
// 042's window picks a page's rows by the ways a caller may see a record
// (its network, a live request it is invited to, a panel it sits on, a
// live CME case for the CME officer, its own entries, entries shared into
// requests) or was shown one, and only those are checked by the policies.
// A way it missed would silently drop a record from sync, so the first
// suite compares, for every role of every agency, a whole first sync with
// every logged record the record policies show that caller, on a register
// holding each way.  The second counts the policy checks of a page that
// meets a thousand changes its caller may not see: before 042 each of them
// ran the log's policy (a network check, then the audit trail).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import { ROLES, who, ok, makePanel, makeChild, refer, accept, asApi, sql, today } from './lib/panels.mjs';

const subOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sub;
const AGENCIES = ['csc', 'police', 'health', 'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership'];
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const post = async (path, token, body, status = 201) => (await ok('POST', path, token, body, status)).body;
const entryBody = (childIds, fields = {}) => ({
  child_ids: childIds, event_date: today(-5), date_precision: 'day', category: 'home_visit',
  summary: 'visited', impact: 'neutral', significance: 'low', action_taken: 'recorded', ...fields,
});
const requestBody = (fields) => ({
  purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: inSeconds(3600), ...fields,
});

// Every upsert of a whole first sync, as "kind:id" (sorted), or null when the role may not sync.
async function firstSync(token) {
  const ids = [];
  let q = 'limit=200';
  for (let pages = 1; ; pages++) {
    const res = await request('GET', `/v1/changes?${q}`, { token });
    if (res.status === 403) return null;
    assert.equal(res.status, 200, res.text.slice(0, 300));
    for (const i of res.body.items) {
      assert.equal(i.change, 'upsert', `a first sync of a new subject has nothing to retract: ${JSON.stringify(i)}`);
      ids.push(`${i.kind}:${i.id}`);
    }
    if (!res.body.next_cursor) return ids.sort();
    q = `limit=200&cursor=${encodeURIComponent(res.body.next_cursor)}`;
    assert.ok(pages < 2000, 'a sync that does not end');
  }
}

// Every record the caller's policies show it that the change log holds
// (records loaded with the log's triggers off are in no one's sync).
function policiesShow(agency, role) {
  const { out, err } = asApi({ agency, roles: role, sub: 'window-check' }, `
    select k || ':' || id from (
      select 'child' as k, c.id from safeguard.children c
      union all select 'family', f.id from safeguard.families f
      union all select 'chronology_entry', e.id from safeguard.chronology_entries e) r
    where exists (select 1 from safeguard.sync_changes s where s.kind = r.k and s.record_id = r.id)`);
  assert.equal(err, undefined, err);
  return out.split('\n').filter(Boolean).sort();
}

describe('a whole first sync is every record the policies show, by every way of seeing one', () => {
  const made = {};
  before(async () => {
    const csc = who('csc', 'social_worker');
    // the network: police's own child and entry
    made.policeChild = await makeChild('police');
    made.policeEntry = await post('/v1/chronology-entries', who('police', 'safeguarding_lead'), entryBody([made.policeChild.id]));
    // a live request about a family, inviting district (not in the network) and health, which shares an entry
    made.family = await post('/v1/families', csc, { name: `Window ${randomUUID().slice(0, 6)}` });
    made.sibling = await makeChild('csc');
    await post(`/v1/families/${made.family.id}/members`, csc, { child_id: made.sibling.id, relationship: 'child' });
    const nurse = who('health', 'practitioner');
    await post(`/v1/children/${made.sibling.id}/involvements`, nurse, { reason: 'health visitor' });
    made.healthEntry = await post('/v1/chronology-entries', nurse, entryBody([made.sibling.id]));
    const req = await post('/v1/chronology-requests', csc, requestBody({ family_id: made.family.id, agencies: ['district', 'health'] }));
    await post(`/v1/chronology-requests/${req.id}/contributions`, nurse, { entry_ids: [made.healthEntry.id] }, 200);
    // a panel voluntary sits on, with an open referral naming a request police shared an entry into
    const panel = await makePanel({ type: 'risk_meeting', chair: 'police', members: ['voluntary', 'csc'] });
    made.referred = await makeChild('police');
    made.referredFamily = await post('/v1/families', csc, { name: `Window panel ${randomUUID().slice(0, 6)}` });
    await post(`/v1/families/${made.referredFamily.id}/members`, csc, { child_id: made.referred.id, relationship: 'child' });
    made.panelEntry = await post('/v1/chronology-entries', who('police', 'safeguarding_lead'), entryBody([made.referred.id], { summary: 'seen with older peers' }));
    const req2 = await post('/v1/chronology-requests', csc, requestBody({ child_id: made.referred.id, agencies: ['police'] }));
    await post(`/v1/chronology-requests/${req2.id}/contributions`, who('police', 'safeguarding_lead'), { entry_ids: [made.panelEntry.id] }, 200);
    await accept(await refer(panel, made.referred, csc, { chronology_request_id: req2.id }));
    // a family police made and no child of it yet; a CSC family whose member mental health works with
    made.policeFamily = await post('/v1/families', who('police', 'safeguarding_lead'), { name: `Window police ${randomUUID().slice(0, 6)}` });
    made.networkFamily = await post('/v1/families', csc, { name: `Window network ${randomUUID().slice(0, 6)}` });
    made.member = await makeChild('csc');
    await post(`/v1/families/${made.networkFamily.id}/members`, csc, { child_id: made.member.id, relationship: 'child' });
    await post(`/v1/children/${made.member.id}/involvements`, who('mental_health', 'practitioner'), { reason: 'camhs' });
    // a live missing-education case, which the CME officer (education's lead) works
    made.missing = await makeChild('csc');
    await post('/v1/cme-cases', csc, {
      child_id: made.missing.id, reason: 'not_attending', since: today(-3), school_urn: '123456', school_name: 'Demo Academy',
      what_is_known: 'Not seen in school since the start of the week.',
    });
  });

  it('each way is on the register (the comparisons below would otherwise prove less)', () => {
    const has = (agency, role, kind, id) => policiesShow(agency, role).includes(`${kind}:${id}`);
    assert.ok(has('police', 'practitioner', 'chronology_entry', made.policeEntry.id), 'an own entry');
    assert.ok(has('district', 'practitioner', 'child', made.sibling.id), 'a child through an invitation');
    assert.ok(has('district', 'practitioner', 'family', made.family.id), 'a family through an invitation');
    assert.ok(has('district', 'practitioner', 'chronology_entry', made.healthEntry.id), 'an entry through an invitation');
    assert.ok(has('voluntary', 'panel_member', 'child', made.referred.id), 'a child through a panel');
    assert.ok(has('voluntary', 'panel_member', 'chronology_entry', made.panelEntry.id), 'an entry through a panel');
    assert.ok(!has('voluntary', 'practitioner', 'chronology_entry', made.panelEntry.id), 'a panel entry is a panel reader\'s only');
    assert.ok(has('voluntary', 'panel_member', 'family', made.referredFamily.id), 'a family through a panel');
    assert.ok(has('police', 'practitioner', 'family', made.policeFamily.id), 'a family its agency made');
    assert.ok(has('mental_health', 'practitioner', 'family', made.networkFamily.id), 'a family with a member in the network');
    assert.ok(has('education', 'safeguarding_lead', 'child', made.missing.id), 'a child through a CME case');
    assert.ok(has('csc', 'practitioner', 'child', made.policeChild.id), 'CSC sees every child');
  });

  for (const agency of AGENCIES) {
    it(`${agency}: every role that syncs gets exactly what its policies show`, async () => {
      let synced = 0;
      for (const role of ROLES) {
        if (role === 'social_worker' && agency !== 'csc') continue; // refused at the token
        const got = await firstSync(tokenFor(agency, role, `window-${agency}-${role}-${randomUUID().slice(0, 6)}`));
        if (got === null) continue;
        synced++;
        const want = policiesShow(agency, role);
        const missing = want.filter((k) => !got.includes(k));
        const extra = got.filter((k) => !want.includes(k));
        assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${agency} ${role}`);
      }
      if (agency !== 'partnership') assert.ok(synced > 0, `no role of ${agency} syncs`);
    });
  }
});

describe('a record deleted from the database: CSC\'s window admits its changes only as the log\'s policy does (051)', () => {
  // The log keeps a deleted record's rows.  Its policy admits them to a
  // caller shown the record (a tombstone is due) and to no one else; CSC's
  // window admitted every row of the log, so a direct call told a CSC caller
  // the positions of changes of records it was never shown and cannot read.
  const tag = `window-deleted-${randomUUID().slice(0, 8)}`;
  const ids = {};
  const shown = `${tag}-shown`;
  before(async () => {
    ids.child = randomUUID();
    ids.family = randomUUID();
    psql(`insert into safeguard.families (id, name, created_by_agency) values (${sql(ids.family)}, ${sql(tag)}, 'csc');
      insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency)
      values (${sql(ids.child)}, 'Deleted', 'Child', date '2012-01-01', 'csc');
      insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id, outcome)
      values (${sql(tag)}, ${sql(shown)}, 'csc', 'child.read', 'child', ${sql(ids.child)}, 'success');`);
    const lead = who('police', 'safeguarding_lead');
    ids.entry = (await post('/v1/chronology-entries', lead, entryBody([(await makeChild('police')).id]))).id;
    psql(`begin; delete from safeguard.chronology_entry_children where entry_id = ${sql(ids.entry)};
      delete from safeguard.chronology_entry_versions where entry_id = ${sql(ids.entry)};
      delete from safeguard.chronology_entries where id = ${sql(ids.entry)};
      delete from safeguard.children where id = ${sql(ids.child)};
      delete from safeguard.families where id = ${sql(ids.family)}; commit;`);
  });

  // As a CSC caller, per kind: how many of the deleted records' log rows the
  // window answers (a record's latest, at most) and how many of them the
  // log's policy lets the caller read.  The positions come from the
  // administrator: the caller may not read those the policy withholds.
  function seen(sub) {
    const rows = psql(`select kind || ',' || xid || ',' || seq from safeguard.sync_changes
      where record_id in (${Object.values(ids).map(sql).join(', ')})`).split('\n').map((l) => l.split(','));
    const xids = rows.map((r) => BigInt(r[1]));
    const lo = xids.reduce((a, b) => (b < a ? b : a)) - 1n;
    const hi = xids.reduce((a, b) => (b > a ? b : a)) + 1n;
    const { out, err } = asApi({ agency: 'csc', roles: 'social_worker', sub }, `
      with pos (kind, x, s) as (values ${rows.map(([k, x, q]) => `(${sql(k)}, ${sql(x)}::xid8, ${q}::bigint)`).join(', ')}),
      w as (select w.xid, w.seq from safeguard.sync_window(${sql(lo)}::xid8, 0, ${sql(hi)}::xid8, null, null, 1000000) w)
      select string_agg(k.kind || '=' || (select count(*) from pos q join w on w.xid = q.x and w.seq = q.s where q.kind = k.kind)
                        || '/' || (select count(*) from pos q join safeguard.sync_changes c on c.xid = q.x and c.seq = q.s
                                   where q.kind = k.kind), ',' order by k.kind)
      from (select distinct kind from pos) k`);
    assert.equal(err, undefined, err);
    return out;
  }

  it('a CSC caller never shown them: no position, as no row; the one shown the child: its latest position, as its rows', () => {
    const rows = (id) => psql(`select count(*) from safeguard.sync_changes where record_id = ${sql(id)}`);
    // the log holds each record's creation and deletion, and the records are gone
    assert.ok(Number(rows(ids.child)) >= 2 && Number(rows(ids.family)) >= 2 && Number(rows(ids.entry)) >= 2);
    assert.equal(psql(`select count(*) from safeguard.children where id = ${sql(ids.child)}`), '0');
    assert.equal(seen(`${tag}-other`), 'child=0/0,chronology_entry=0/0,family=0/0');
    assert.equal(seen(shown), `child=1/${rows(ids.child)},chronology_entry=0/0,family=0/0`);
  });
});

// Runs a statement as the API role for a caller (rolled back) and answers
// the calls of each function named within that transaction.
function callsOf(agency, roles, statement, names) {
  const out = psql(`begin; set local track_functions = 'all';
    set local role safeguard_api;
    select set_config('app.sub', 'window-counted', true), set_config('app.agency', ${sql(agency)}, true),
           set_config('app.roles', ${sql(roles)}, true), set_config('app.request_id', 'window-counted', true);
    select string_agg(coalesce(p.item::json->>'id', '-') || '/' || p.more, ',') from (${statement}) p;
    reset role;
    select string_agg(n || '=' || coalesce(pg_stat_get_xact_function_calls(('safeguard.' || n)::regproc), 0), ',')
    from unnest(array[${names.map(sql).join(', ')}]) n;
    rollback;`).split('\n');
  const [rows, calls] = out.slice(-2);
  return { ...Object.fromEntries(calls.split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)])), rows: rows.split(',') };
}

describe('a page checks what its caller could be told, not the whole log', () => {
  const tag = `sync-window-${randomUUID().slice(0, 8)}`;
  let start;
  before(() => {
    // the log's last position, then a thousand changes only CSC may see
    start = psql('select xid || \',\' || seq from safeguard.sync_changes order by xid desc, seq desc limit 1').split(',');
    psql(`insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency)
      select md5(${sql(tag)} || i)::uuid, 'Window', 'Child' || i, date '2012-01-01', 'csc' from generate_series(1, 1000) i;
      insert into safeguard.child_network (child_id, agency, how, joined_by)
      select md5(${sql(tag)} || i)::uuid, 'csc', 'created', ${sql(tag)} from generate_series(1, 1000) i;`);
  });
  after(() => psql(`begin; set local session_replication_role = replica;
    delete from safeguard.sync_changes where record_id in (select md5(${sql(tag)} || i)::uuid from generate_series(1, 1000) i);
    delete from safeguard.child_network where joined_by = ${sql(tag)};
    delete from safeguard.children where id in (select md5(${sql(tag)} || i)::uuid from generate_series(1, 1000) i);
    commit;`));

  const page = (limit = 50) => `select * from safeguard.sync_page(${sql(start[0])}, ${start[1]}, now(),
    'ffffffff-ffff-ffff-ffff-ffffffffffff', ${limit})`;

  it('a district practitioner meeting 1,000 changes it may not see checks none of them, and its page says so', () => {
    const calls = callsOf('district', 'practitioner', page(), ['child_in_network', 'sync_shown', 'sync_shown_since', 'child_shared_by_request']);
    // before 042: 1,000 network checks and 1,000 audit-trail checks (the log's policy on each row)
    assert.ok(calls.child_in_network <= 5, `child_in_network ran ${calls.child_in_network} times`);
    assert.ok(calls.sync_shown <= 5, `sync_shown ran ${calls.sync_shown} times`);
    assert.ok(calls.sync_shown_since <= 5, `sync_shown_since ran ${calls.sync_shown_since} times`);
    assert.deepEqual(calls.rows, ['-/false'], 'no item, and nothing more below the bound');
    // called directly, the window answers positions only, and none of these
    const direct = asApi({ agency: 'district', roles: 'practitioner' }, `select count(*) from safeguard.sync_window(
      ${sql(start[0])}, ${start[1]}, pg_snapshot_xmin(pg_current_snapshot()), null, null, 5000)`);
    assert.deepEqual(direct, { out: '0' });
    assert.deepEqual(asApi({ agency: 'csc', roles: 'social_worker' }, `select count(*) from safeguard.sync_window(
      ${sql(start[0])}, ${start[1]}, pg_snapshot_xmin(pg_current_snapshot()), null, null, 5000)`), { out: '1000' });
  });

  it('CSC, which may see all of them, gets a page of 50 and the rest after it; its page checks about a page', () => {
    const calls = callsOf('csc', 'social_worker', page(), ['sync_shown', 'sync_shown_since']);
    assert.equal(calls.rows.length, 51, 'fifty items and the last row');
    assert.ok(calls.rows.slice(0, 50).every((r) => r.endsWith('/false')));
    assert.equal(calls.rows[50], '-/true');
    assert.equal(calls.sync_shown_since, 0, 'every item it met was one it may see');
  });

  it('a window of rows the policies then drop ends a short page, and the change after them still comes', async () => {
    // 110 children CSC's alone, each once shown to this voluntary practitioner (its audit trail,
    // dated before the children's changes): the window picks them for a tombstone that may be
    // due, and the page drops them, since nothing was shown since their last change
    const vol = tokenFor('voluntary', 'practitioner', `window-short-${randomUUID().slice(0, 6)}`);
    const short = `${tag}-short`;
    psql(`insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency)
      select md5(${sql(short)} || i)::uuid, 'Short', 'Child' || i, date '2012-01-01', 'csc' from generate_series(1, 110) i;
      insert into safeguard.child_network (child_id, agency, how, joined_by)
      select md5(${sql(short)} || i)::uuid, 'csc', 'created', ${sql(short)} from generate_series(1, 110) i;
      insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id, outcome, occurred_at)
      select ${sql(short)}, ${sql(subOf(vol))}, 'voluntary', 'child.read', 'child', md5(${sql(short)} || i)::uuid::text, 'success',
             now() - interval '1 day' from generate_series(1, 110) i;`);
    let cursor;
    for (let q = 'limit=200'; ;) {
      const res = await request('GET', `/v1/changes?${q}`, { token: vol });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      cursor = res.body.sync_cursor;
      if (!res.body.next_cursor) break;
      q = `limit=200&cursor=${encodeURIComponent(cursor)}`;
    }
    psql(`update safeguard.children set preferred_name = 'Changed' where id in (select md5(${sql(short)} || i)::uuid from generate_series(1, 110) i)`);
    const mine = await post('/v1/children', vol, { first_name: 'After', last_name: 'Them', date_of_birth: '2013-02-03' });
    // one item a page: a window is 102 rows, and 110 of them are dropped
    const items = [];
    let pages = 0;
    let empty = 0;
    for (let q = `limit=1&cursor=${encodeURIComponent(cursor)}`; ; pages++) {
      const res = await request('GET', `/v1/changes?${q}`, { token: vol });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      items.push(...res.body.items);
      if (res.body.items.length === 0 && res.body.next_cursor) empty++;
      if (!res.body.next_cursor) break;
      q = `limit=1&cursor=${encodeURIComponent(res.body.next_cursor)}`;
      assert.ok(pages < 50, 'a sync that does not end');
    }
    assert.ok(empty >= 1, `a page ended short at its window: ${pages} pages, ${JSON.stringify(items.map((i) => i.id))}`);
    assert.deepEqual(items.map((i) => `${i.kind}:${i.id}:${i.change}`), [`child:${mine.id}:upsert`]);
    psql(`begin; set local session_replication_role = replica;
      delete from safeguard.sync_changes where record_id in (select md5(${sql(short)} || i)::uuid from generate_series(1, 110) i);
      delete from safeguard.child_network where joined_by = ${sql(short)};
      delete from safeguard.children where id in (select md5(${sql(short)} || i)::uuid from generate_series(1, 110) i);
      commit;`);
  });

  it('a panel\'s entries the caller\'s role may not read are not in its window: no page cut short by them, and the change after them comes', async () => {
    // a panel voluntary sits on reads, with its referral, the entries of the request it names:
    // a panel reader's role only.  042's window picked them for any role of a member agency
    // (and told a direct caller their positions); 043 asks for the role, as the policy does.
    // A short page (a full window of rows the policies drop) is attack-window.test.mjs's.
    const panel = await makePanel({ type: 'risk_meeting', chair: 'police', members: ['voluntary', 'csc'] });
    const child = await makeChild('police');
    const vol = tokenFor('voluntary', 'practitioner', `window-short-${randomUUID().slice(0, 6)}`);
    let cursor;
    for (let q = 'limit=200'; ;) {
      const res = await request('GET', `/v1/changes?${q}`, { token: vol });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      cursor = res.body.sync_cursor;
      if (!res.body.next_cursor) break;
      q = `limit=200&cursor=${encodeURIComponent(cursor)}`;
    }
    const lead = who('police', 'safeguarding_lead');
    const entries = [];
    for (let i = 0; i < 110; i++) entries.push((await post('/v1/chronology-entries', lead, entryBody([child.id], { summary: `short ${i}` }))).id);
    const csc = who('csc', 'social_worker');
    const req = await post('/v1/chronology-requests', csc, requestBody({ child_id: child.id, agencies: ['police'] }));
    await post(`/v1/chronology-requests/${req.id}/contributions`, lead, { entry_ids: entries }, 200);
    await refer(panel, child, csc, { chronology_request_id: req.id }); // logs the child, then the entries it shares
    const cur = await ok('GET', `/v1/children/${child.id}`, lead);
    await ok('PATCH', `/v1/children/${child.id}`, lead, { preferred_name: 'Short' }, 200, { 'If-Match': cur.headers.get('etag') });
    // the child's latest change is now after the 110 entries
    // one item a page: a window is 102 rows, and 110 entries the practitioner may not read are not picked
    const items = [];
    let pages = 0;
    let short = 0;
    for (let q = `limit=1&cursor=${encodeURIComponent(cursor)}`; ; pages++) {
      const res = await request('GET', `/v1/changes?${q}`, { token: vol });
      assert.equal(res.status, 200, res.text.slice(0, 300));
      items.push(...res.body.items);
      if (res.body.items.length === 0 && res.body.next_cursor) short++;
      if (!res.body.next_cursor) break;
      q = `limit=1&cursor=${encodeURIComponent(res.body.next_cursor)}`;
      assert.ok(pages < 50, 'a sync that does not end');
    }
    assert.equal(short, 0, `a page ended short at its window: ${pages} pages, ${JSON.stringify(items)}`);
    assert.deepEqual(items.map((i) => `${i.kind}:${i.id}:${i.change}`), [`child:${child.id}:upsert`]);
  });
});
