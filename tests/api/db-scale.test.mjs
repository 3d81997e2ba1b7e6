// db-scale.test.mjs - a route's work in the database grows with what the
// request names, not with the register.  Counted, not timed: PostgreSQL
// counts each function's calls (track_functions), and each backend sends its
// counts at the end of a transaction (within ten seconds when it sent some
// less than a second before), so each case reads the counts before and after
// one request through the API and asserts how many times the per-record
// access checks ran.  Before these fixes:
//  * replaying an idempotent answer about a child looked up the children it
//    names with a NOT EXISTS that became a hash anti-join: every child of the
//    register was read and its visibility evaluated (100,398 child_in_network
//    calls and 17 s for two children in a register of 100,000);
//  * sharing entries into a chronology request checked the entries named
//    with an EXISTS that became a semi-join over every entry about the
//    request's children, every agency's, each one's access evaluated (3,732
//    entry_shared_with_me and 2,200 entry_agency calls to share 5 entries of
//    a family with 2,000);
//  * every page of changes read every chronology request ever made to find
//    the few whose share window had just ended (no index on share_until:
//    50,074 rows read to find 5);
//  * a page of chronology requests read every request ever made, and
//    checked the caller's access to each (50,157 request_visible_to_me calls
//    and 1.2 s for CSC's first page of 50,000 requests).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { psql } from './lib/client.mjs';
import { who, ok, makeChild, today, sql } from './lib/panels.mjs';

const CHECKS = ['child_in_network', 'child_shared_by_request', 'child_on_open_panel', 'entry_agency',
  'entry_shared_with_me', 'request_visible_to_me'];

// {name: calls} of each function in CHECKS, as counted so far by every backend.
function totals() {
  const out = psql(`select string_agg(n || '=' || coalesce((select f.calls from pg_stat_user_functions f
    where f.schemaname = 'safeguard' and f.funcname = n), 0), ',')
    from unnest(array[${CHECKS.map(sql).join(', ')}]) n`);
  return Object.fromEntries(out.split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
}

// A backend sends its counts when it goes idle, or within ten seconds when
// it sent some less than a second before: a quiet wait longer than that
// leaves none pending.
const settle = () => sleep(11000);

// The calls of each function in CHECKS that action (one request) made, read
// after every backend has sent its counts.  The database is quiet before
// (each case's data is made in before(), which settles) and after.
async function callsOf(action) {
  const before = totals();
  await action();
  await settle();
  const now = totals();
  return Object.fromEntries(CHECKS.map((n) => [n, now[n] - before[n]]));
}

const entry = (childIds) => ({
  child_ids: childIds, event_date: today(-3), date_precision: 'day', category: 'home_visit',
  summary: 'counted visit', impact: 'neutral', significance: 'low', action_taken: 'recorded',
});

const requestBody = (childId) => ({
  child_id: childId, agencies: ['police', 'health'], purpose: 'strategy discussion',
  lawful_basis: 'children_act_1989_s47', period_from: today(-400), period_to: today(0), respond_by: today(7),
  share_until: new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z'),
});

describe('database work per request, at the size of the register', () => {
  const police = who('police', 'practitioner');
  const health = who('health', 'safeguarding_lead');
  let register;
  // replayed: an entry about a police child, written with an Idempotency-Key
  const replay = { key: randomUUID() };
  // shared: a child with a long history, mostly health's, and a request about it
  const shared = { mine: [] };
  before(async () => {
    psql(`alter system set track_functions = 'all'`);
    psql('select pg_reload_conf()');
    // a register larger than any bound below, most of it not police's, each
    // child with a short history of police's
    for (let i = 0; i < 30; i++) {
      const c = await makeChild(i % 3 ? 'health' : 'police');
      if (i % 3) await ok('POST', `/v1/children/${c.id}/involvements`, police, { reason: 'working with the child' }, 201);
      await ok('POST', '/v1/chronology-entries', police, entry([c.id]), 201);
    }
    register = Number(psql('select count(*) from safeguard.children'));
    replay.child = await makeChild('police');
    replay.first = await ok('POST', '/v1/chronology-entries', police, entry([replay.child.id]), 201,
      { 'Idempotency-Key': replay.key });
    const child = await makeChild('csc');
    await ok('POST', `/v1/children/${child.id}/involvements`, police, { reason: 'working with the child' }, 201);
    await ok('POST', `/v1/children/${child.id}/involvements`, health, { reason: 'working with the child' }, 201);
    for (let i = 0; i < 4; i++) {
      shared.mine.push((await ok('POST', '/v1/chronology-entries', police, entry([child.id]), 201)).body.id);
    }
    for (let i = 0; i < 30; i++) await ok('POST', '/v1/chronology-entries', health, entry([child.id]), 201);
    shared.request = (await ok('POST', '/v1/chronology-requests', who('csc', 'social_worker'), requestBody(child.id),
      201)).body;
    // requests enough that a page is a small part of them, most closed
    const csc = who('csc', 'social_worker');
    const subject = await makeChild('csc');
    for (let i = 0; i < 100; i++) {
      const r = (await ok('POST', '/v1/chronology-requests', csc, requestBody(subject.id), 201)).body;
      if (i % 4) await ok('POST', `/v1/chronology-requests/${r.id}/closure`, csc, undefined, 200);
    }
    // the planner's statistics of the register as it is now
    psql('analyze safeguard.children, safeguard.chronology_entries, safeguard.chronology_entry_children,'
      + ' safeguard.chronology_requests, safeguard.chronology_request_children');
    await settle();
  });
  after(() => {
    psql('alter system reset track_functions');
    psql('select pg_reload_conf()');
  });

  it('replaying an idempotent answer about a child looks up that child, not every child of the register', async () => {
    let again;
    const calls = await callsOf(async () => {
      again = await ok('POST', '/v1/chronology-entries', police, entry([replay.child.id]), 201,
        { 'Idempotency-Key': replay.key });
    });
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.text, replay.first.text, 'the first answer, replayed');
    assert.ok(calls.child_in_network >= 1, `the named child is checked (${calls.child_in_network})`);
    assert.ok(calls.child_in_network <= 4,
      `child_in_network ran ${calls.child_in_network} times for one named child (register: ${register})`);
    assert.ok(calls.child_on_open_panel <= 4, `child_on_open_panel ran ${calls.child_on_open_panel} times`);
    // the replay is audited as a read of the child, as before
    const rid = again.headers.get('x-request-id');
    assert.equal(psql(`select string_agg(resource_id || ' ' || (details->>'replay'), ',') from safeguard.audit_events
      where request_id = ${sql(rid)} and action = 'child.read'`), `${replay.child.id} true`);
  });

  it('sharing entries into a request checks the entries named, not every entry about its children', async () => {
    const url = `/v1/chronology-requests/${shared.request.id}/contributions`;
    const calls = await callsOf(() => ok('POST', url, police, { entry_ids: shared.mine.slice(0, 3) }, 200));
    assert.ok(calls.entry_agency + calls.entry_shared_with_me <= 12,
      `entry_agency ran ${calls.entry_agency} and entry_shared_with_me ${calls.entry_shared_with_me} times `
      + 'to share 3 of the child\'s 34 entries');
    assert.equal(psql(`select string_agg(entry_id::text, ',' order by entry_id) from safeguard.chronology_contributions
      where request_id = ${sql(shared.request.id)}`), shared.mine.slice(0, 3).sort().join(','));
    // an entry of another agency's, or about another child, is still refused by name
    const other = await makeChild('police');
    const elsewhere = (await ok('POST', '/v1/chronology-entries', police, entry([other.id]), 201)).body.id;
    const theirs = psql(`select e.id from safeguard.chronology_entries e join safeguard.chronology_entry_children c
      on c.entry_id = e.id where c.child_id = (select child_id from safeguard.chronology_requests
      where id = ${sql(shared.request.id)}) and e.agency = 'health' limit 1`);
    const refused = await ok('POST', url, police, { entry_ids: [shared.mine[3], elsewhere, theirs] }, 422);
    assert.deepEqual(refused.body.errors.map((e) => `${e.field}:${e.code}`),
      ['entry_ids[1]:not_eligible', 'entry_ids[2]:not_eligible']);
  });

  it('a page of chronology requests checks the requests of the page, not every request ever made', async () => {
    let page;
    const calls = await callsOf(async () => {
      page = (await ok('GET', '/v1/chronology-requests?limit=5', who('csc', 'social_worker'))).body;
    });
    const total = Number(psql('select count(*) from safeguard.chronology_requests'));
    assert.ok(calls.request_visible_to_me >= 1, `the page's requests are checked (${calls.request_visible_to_me})`);
    // each request shown (and the look-ahead) is checked with its agencies' and children's rows, by
    // the page and by each request's document: a bound by the page, far below the requests there are
    assert.ok(total >= 100, `${total}`);
    assert.ok(calls.request_visible_to_me <= 60,
      `request_visible_to_me ran ${calls.request_visible_to_me} times for a page of 5 (requests: ${total})`);
    // the page is the newest five, as before
    assert.deepEqual(page.items.map((r) => r.id), psql(`select string_agg(id::text, ',' order by created_at desc, id desc)
      from (select id, created_at from safeguard.chronology_requests order by created_at desc, id desc limit 5) x`).split(','));
  });

  it('a page of changes finds the share windows that just ended by their time, not by reading every request', () => {
    // 3,000 requests whose windows ended long ago, loaded as the database's
    // owner would (rolled back): none of them is read
    const out = psql(`begin; set local session_replication_role = replica;
      insert into safeguard.chronology_requests (id, requesting_agency, requested_by, child_id, purpose, lawful_basis,
        period_from, period_to, respond_by, share_until, closed_at, closed_by, created_at)
      select gen_random_uuid(), 'csc', 'counted', gen_random_uuid(), 'counted', 'children_act_1989_s47',
        current_date - 800, current_date - 500, current_date - 490, now() - interval '400 days' + i * interval '1 hour',
        now() - interval '500 days', 'counted', now() - interval '600 days'
      from generate_series(1, 3000) i;
      set local role safeguard_api;
      select set_config('app.sub', 'counted', true), set_config('app.agency', 'police', true),
             set_config('app.roles', 'practitioner', true), set_config('app.request_id', 'counted', true);
      select count(*) from safeguard.sync_expired(now() - interval '1 day', 'ffffffff-ffff-ffff-ffff-ffffffffffff', now());
      reset role;
      select pg_stat_get_xact_tuples_returned('safeguard.chronology_requests'::regclass);
      rollback;`);
    const read = Number(out.split('\n').pop());
    assert.ok(read < 100, `${read} requests read to find the windows that ended in the last day`);
  });
});
