// attack-definers.test.mjs - a hostile review of migrations 048 and 050: the
// definers that now write their own audit rows (a child's chronology and its
// panel referrals), the idempotency purge's stored retention, the trigger
// that audits a panel's membership changes, and the triggers that log the
// facts a way of seeing a record depends on.  Every role of every agency is
// tried on each route; the database is also called directly as the API role
// with chosen arguments.  The audit rows are counted by request id: each
// request writes exactly the rows of what it showed, once.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import { ROLES, who, admin, call, ok, makePanel, makeChild, refer, today, sql, asApi } from './lib/panels.mjs';
import { openCursor, plainCursor, sealCursor } from './lib/sealed-cursor.mjs';

const AGENCIES = ['csc', 'police', 'health', 'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership'];
// a chronology position as the server would seal it (the tests hold the instance's key)
const cursorOf = (...parts) => sealCursor(parts);
const rid = (res) => res.headers.get('x-request-id');

// The audit rows of one request: "action resource_id" lines, sorted.
const trail = (requestId, like = '%') => psql(`select string_agg(action || ' ' || resource_id, E'\\n' order by action, resource_id)
  from safeguard.audit_events where request_id = ${sql(requestId)} and action like ${sql(like)}`).split('\n').filter(Boolean);
const rows = (action, ids) => [...new Set(ids)].map((id) => `${action} ${id}`).sort();

// A call as the API role, committed, under a request id of its own: (request
// id, output lines) or (request id, the error's first line).
// (end 'rollback': leaves nothing behind, for changes other suites would see)
function direct({ agency, roles, sub = 'definer-attacker' }, statement, end = 'commit') {
  const id = `attack-definers-${randomUUID()}`;
  try {
    const out = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', ${sql(sub)}, true), set_config('app.agency', ${sql(agency)}, true),
             set_config('app.roles', ${sql(roles)}, true), set_config('app.request_id', ${sql(id)}, true);
      ${statement}; ${end};`);
    return { rid: id, out: out.split('\n').slice(1) };
  } catch (e) {
    return { rid: id, err: e.message.split('\n')[0] };
  }
}

// ---- 1. a child's chronology ---------------------------------------------------------

describe('a child\'s chronology pages every entry once and audits exactly what it shows (050)', () => {
  const S = {};
  const DATE = today(-20);

  before(async () => {
    const csc = who('csc', 'social_worker');
    S.fam = (await ok('POST', '/v1/families', csc, { name: `Definers ${randomUUID().slice(0, 8)}` }, 201)).body;
    S.kids = [];
    for (let i = 0; i < 3; i++) {
      const c = await makeChild('csc');
      await ok('POST', `/v1/families/${S.fam.id}/members`, csc, { child_id: c.id, relationship: 'sibling' }, 201);
      for (const agency of ['police', 'health', 'education'])
        await ok('POST', `/v1/children/${c.id}/involvements`, who(agency, 'practitioner'), { reason: 'working with the family' }, 201);
      S.kids.push(c.id);
    }
    const [A, B, C] = S.kids;
    const entry = (token, ids, fields) => ok('POST', '/v1/chronology-entries', token, {
      child_ids: ids, event_date: DATE, date_precision: 'day', category: 'home_visit', summary: 'visited the family',
      impact: 'neutral', significance: 'low', action_taken: 'recorded', ...fields,
    }, 201);
    // many entries on one key (date, time), others on null time, 00:00 (the
    // same key as null) and other days; siblings vary from row to row so a
    // look-ahead row's siblings differ from the page's
    const plan = [
      ['csc', [A], { event_time: '10:00' }], ['csc', [A, B], { event_time: '10:00' }], ['police', [A, C], { event_time: '10:00' }],
      ['csc', [A], { event_time: '10:00' }], ['health', [A, B], { event_time: '10:00' }], ['csc', [A, C], { event_time: '10:00' }],
      ['police', [A], { event_time: '10:00' }], ['csc', [A, B, C], {}], ['police', [A, B], { event_time: '00:00' }],
      ['csc', [A, C], { event_time: '00:00' }], ['health', [A], {}], ['csc', [A, B], { event_date: today(-30), category: 'strategy_meeting' }],
      ['police', [A, C], { event_date: today(-5), category: 'strategy_meeting' }], ['education', [A, B], { event_date: today(-40) }],
      ['csc', [A], { event_date: today(-5), event_date_end: today(-1) }], ['police', [A, B], { event_date: today(-5) }],
    ];
    for (const [agency, ids, fields] of plan)
      await entry(who(agency, agency === 'csc' ? 'social_worker' : 'practitioner'), ids, fields);
  });

  // The entries of child A an agency reads, in the route's order, from the
  // tables (not from the function under test): [{id, kids}].
  const expected = (agency, where = 'true') => psql(`select e.id || '|' || (select string_agg(x.child_id::text, ',')
      from safeguard.chronology_entry_children x where x.entry_id = e.id)
    from safeguard.chronology_entry_children c join safeguard.chronology_entries e on e.id = c.entry_id
    where c.child_id = ${sql(S.kids[0])} and (e.agency = ${sql(agency)} or ${sql(agency)} = 'csc') and ${where}
    order by e.event_date, coalesce(e.event_time, '00:00'), e.seq`).split('\n').filter(Boolean)
    .map((l) => ({ id: l.split('|')[0], kids: l.split('|')[1].split(',') }));

  // Pages the chronology of child A to its end; asserts on every page what
  // it shows, its cursor and its audit rows.  The ids read, in order.
  async function pageAll(token, query, want) {
    const got = [];
    let cursor = null;
    for (let page = 0; page < 100; page++) {
      const res = await call('GET', `/v1/children/${S.kids[0]}/chronology?${query}${cursor ? `&cursor=${cursor}` : ''}`, token);
      assert.equal(res.status, 200, res.text);
      const items = res.body.items;
      got.push(...items.map((e) => e.id));
      // one child.chronology.read per child shown: the child and each sibling of the page's entries
      assert.deepEqual(trail(rid(res)), rows('child.chronology.read', [S.kids[0], ...items.flatMap((e) => e.child_ids)]),
        `${query} page ${page}`);
      const more = got.length < want.length;
      assert.equal(Boolean(res.body.next_cursor), more, `${query} page ${page}: next_cursor exactly when there is more`);
      if (!more) break;
      cursor = res.body.next_cursor;
    }
    assert.deepEqual(got, want.map((e) => e.id), `${query}: every entry once, in order`);
    return got;
  }

  it('every role of every agency: all of its entries, once, at every page size; refused callers leave no row', async () => {
    for (const agency of AGENCIES) {
      for (const role of ROLES) {
        const token = who(agency, role);
        const first = await call('GET', `/v1/children/${S.kids[0]}/chronology?limit=1`, token);
        if (first.status !== 200) {
          assert.ok([401, 403, 404].includes(first.status), `${agency} ${role}: ${first.status}`);
          assert.deepEqual(trail(rid(first)), [], `${agency} ${role}: a refused read is not audited`);
          continue;
        }
        const want = expected(agency);
        for (const limit of role === 'practitioner' || role === 'social_worker' ? [1, 2, 3, 7, 200] : [2])
          await pageAll(token, `limit=${limit}`, want);
      }
    }
  });

  it('each filter pages the same rows as the table holds', async () => {
    const csc = who('csc', 'safeguarding_lead');
    const cases = [
      ['agency=police', "e.agency = 'police'"],
      ['category=strategy_meeting', "e.category = 'strategy_meeting'"],
      [`from=${today(-6)}`, `coalesce(e.event_date_end, e.event_date) >= ${sql(today(-6))}`],
      [`to=${DATE}`, `e.event_date <= ${sql(DATE)}`],
      [`from=${DATE}&to=${DATE}&agency=csc`, `coalesce(e.event_date_end, e.event_date) >= ${sql(DATE)} and e.event_date <= ${sql(DATE)} and e.agency = 'csc'`],
    ];
    for (const [q, where] of cases)
      for (const limit of [1, 4]) await pageAll(csc, `${q}&limit=${limit}`, expected('csc', where));
    await pageAll(who('police', 'practitioner'), 'category=home_visit&limit=1', expected('police', "e.category = 'home_visit'"));
  });

  it('an edited cursor: a position inside a run of equal keys goes on after it exactly; a malformed one is a 400 with no audit row', async () => {
    const csc = who('csc', 'social_worker');
    const all = expected('csc');
    const seqOf = (id) => psql(`select seq from safeguard.chronology_entries where id = ${sql(id)}`);
    // the third entry of the 10:00 run, as a client could forge it
    const run = all.filter((e) => psql(`select event_date = ${sql(DATE)} and event_time = '10:00' from safeguard.chronology_entries where id = ${sql(e.id)}`) === 't');
    assert.ok(run.length >= 6);
    const at = all.findIndex((e) => e.id === run[2].id);
    const res = await ok('GET', `/v1/children/${S.kids[0]}/chronology?limit=3&cursor=${cursorOf(DATE, '10:00:00', seqOf(run[2].id))}`, csc);
    assert.deepEqual(res.body.items.map((e) => e.id), all.slice(at + 1, at + 4).map((e) => e.id));
    assert.deepEqual(trail(rid(res)), rows('child.chronology.read', [S.kids[0], ...all.slice(at + 1, at + 4).flatMap((e) => e.kids)]));
    // a position past the end: an empty page, no cursor, the child's row only
    const end = await ok('GET', `/v1/children/${S.kids[0]}/chronology?cursor=${cursorOf('2999-12-31', '23:59:59', '999999999999999999')}`, csc);
    assert.deepEqual(end.body.items, []);
    assert.equal(end.body.next_cursor, null);
    assert.deepEqual(trail(rid(end)), rows('child.chronology.read', [S.kids[0]]));
    for (const bad of [
      cursorOf(DATE, '10:00', '1'), cursorOf('1899-12-31', '10:00:00', '1'), cursorOf(DATE, '24:00:00', '1'),
      cursorOf(DATE, '10:00:00', '-1'), cursorOf(DATE, '10:00:00', '1234567890123456789'), cursorOf(DATE, '10:00:00'),
      cursorOf(DATE, null, '1'), cursorOf('2026-02-30', '10:00:00', '1'), 'c1.!!!', `${cursorOf(DATE, '10:00:00', '1')}x`,
      // a real position in the plain form, as a client could make it: the recorded order is sealed
      plainCursor([DATE, '10:00:00', seqOf(run[2].id)]),
    ]) {
      const r = await call('GET', `/v1/children/${S.kids[0]}/chronology?cursor=${encodeURIComponent(bad)}`, csc);
      assert.equal(r.status, 400, `${bad}: ${r.text}`);
      assert.equal(r.body.type, '/problems/invalid-cursor');
      assert.deepEqual(trail(rid(r)), [], bad);
    }
  });

  it('called directly, with any limit or position, no entry leaves without its children\'s rows, and none is written twice', async () => {
    const all = expected('csc');
    const [A] = S.kids;
    const seqOf = (id) => psql(`select seq from safeguard.chronology_entries where id = ${sql(id)}`);
    const afters = [['null', 'null', 'null'], [sql(DATE), "'10:00'", seqOf(all[3].id)], [sql(DATE), 'null', 'null'],
      ['null', "'10:00'", '0'], [sql('1900-01-01'), "'00:00'", '0']];
    for (const [d, t, s] of afters) {
      for (const lim of ['0', '1', '2', '5', '2147483647', 'null']) {
        const r = direct({ agency: 'csc', roles: 'social_worker' }, `select coalesce(j::json->>'child_ids', '-') || '|' || coalesce(event_date, '-')
          from safeguard.child_chronology(${sql(A)}, null, null, null, null, ${d}, ${t}, ${s}, ${lim})`);
        assert.equal(r.err, undefined, `lim ${lim} after ${d} ${t} ${s}`);
        const shown = r.out.filter((l) => !l.startsWith('-|'));
        const kids = shown.flatMap((l) => JSON.parse(l.split('|')[0]));
        // the look-ahead row, when there is one, is the lim-th and carries nothing
        if (lim !== 'null' && lim !== '0' && r.out.length === Number(lim)) assert.equal(r.out.at(-1), '-|-', `lim ${lim}`);
        assert.equal(shown.length, lim === 'null' ? r.out.length : Math.min(r.out.length, Math.max(Number(lim) - 1, 0)));
        assert.deepEqual(trail(r.rid), rows('child.chronology.read', [A, ...kids]), `lim ${lim} after ${d} ${t} ${s}`);
      }
    }
    // a negative limit is an error the API cannot send (its limit is 1..200): nothing shown, nothing kept
    const neg = direct({ agency: 'csc', roles: 'social_worker' },
      `select j from safeguard.child_chronology(${sql(A)}, null, null, null, null, null, null, null, -1)`);
    assert.match(neg.err ?? '', /LIMIT must not be negative/);
    assert.deepEqual(trail(neg.rid), []);
    // an agency that may not see the child: nothing, and no row, whatever it asks
    for (const [agency, roles] of [['voluntary', 'practitioner'], ['district', 'admin'], ['partnership', 'auditor']]) {
      const r = direct({ agency, roles }, `select count(*) from safeguard.child_chronology(${sql(A)}, null, null, null, null, null, null, null, null)`);
      assert.deepEqual(r.out, ['0'], agency);
      assert.deepEqual(trail(r.rid), [], agency);
    }
  });
});

// ---- 2. a child's panel referrals --------------------------------------------------------

describe('a child\'s panel referrals: one audit row per request that shows them (050)', () => {
  it('every role of every agency, every page size: each referral once, one child.panel_referrals.read per 200, none otherwise', async () => {
    const c = await makeChild('csc');
    const refs = [];
    for (let i = 0; i < 4; i++) refs.push(await refer(await makePanel({ type: 'risk_meeting', members: ['youth_justice', 'csc'] }), c));
    await ok('POST', `/v1/children/${c.id}/involvements`, who('police', 'practitioner'), { reason: 'missing episodes' }, 201);
    const want = psql(`select string_agg(id::text, ',' order by created_at, id) from safeguard.panel_referrals where child_id = ${sql(c.id)}`).split(',');
    assert.deepEqual([...want].sort(), refs.map((r) => r.id).sort());
    for (const agency of AGENCIES) {
      for (const role of ROLES) {
        const token = who(agency, role);
        for (const limit of [1, 3, 200]) {
          const got = [];
          let cursor = null;
          for (let page = 0; page < 10; page++) {
            const res = await call('GET', `/v1/children/${c.id}/panel-referrals?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, token);
            if (res.status !== 200) {
              assert.ok([401, 403, 404].includes(res.status), `${agency} ${role}: ${res.status}`);
              assert.deepEqual(trail(rid(res)), [], `${agency} ${role}: refused, not audited`);
              break;
            }
            assert.deepEqual(trail(rid(res)), rows('child.panel_referrals.read', [c.id]), `${agency} ${role} limit ${limit}`);
            got.push(...res.body.items.map((i) => i.referral_id));
            assert.equal(Boolean(res.body.next_cursor), got.length < want.length);
            if (!res.body.next_cursor) {
              assert.deepEqual(got, want, `${agency} ${role} limit ${limit}`);
              break;
            }
            cursor = res.body.next_cursor;
          }
        }
      }
    }
    // directly: the caller who may see the child gets every referral and one row; another gets neither
    const d = direct({ agency: 'police', roles: 'practitioner' }, `select id from safeguard.child_panel_referrals(${sql(c.id)})`);
    assert.deepEqual(d.out, want);
    assert.deepEqual(trail(d.rid), rows('child.panel_referrals.read', [c.id]));
    const n = direct({ agency: 'voluntary', roles: 'panel_chair' }, `select id from safeguard.child_panel_referrals(${sql(c.id)})`);
    assert.deepEqual(n.out, []);
    assert.deepEqual(trail(n.rid), []);
  });
});

// ---- 3. idempotency retention --------------------------------------------------------------

describe('no caller shortens another caller\'s idempotency retention (050)', () => {
  it('the API role cannot change keep_seconds, store or delete another caller\'s answer; no purge call takes a live answer', async () => {
    const t = who('health', 'practitioner');
    const key = `victim-${randomUUID()}`;
    const body = { first_name: 'Kept', last_name: `Key-${randomUUID().slice(0, 8)}`, date_of_birth: '2014-04-04' };
    const first = await call('POST', '/v1/children', t, body, { 'Idempotency-Key': key });
    assert.equal(first.status, 201, first.text);
    const sub = psql(`select sub from safeguard.idempotency_keys where key = ${sql(key)}`);
    // two hours old: live under the deployment's week
    psql(`update safeguard.idempotency_keys set created_at = now() - interval '2 hours' where key = ${sql(key)}`);
    const hostile = [{ agency: 'health', roles: 'admin', sub: 'someone-else' }, { agency: 'police', roles: 'practitioner', sub }];
    for (const who_ of hostile) {
      const upd = direct(who_, `update safeguard.idempotency_keys set keep_seconds = 3600 where key = ${sql(key)}`);
      assert.match(upd.err ?? 'allowed', /permission denied/);
      const del = direct(who_, `delete from safeguard.idempotency_keys where key = ${sql(key)} returning 1`);
      assert.deepEqual(del.out ?? [], []);
      // storing an answer in the victim's name (a short retention, its key) is refused by the policy
      const ins = direct(who_, `insert into safeguard.idempotency_keys (issuer, agency, sub, key, request_hash, status, content_type, body, keep_seconds)
        values ('${process.env.SG_ISSUER}', 'health', ${sql(sub)}, ${sql(`${key}-2`)}, 'h', '201', 'application/json', '{}', 3600)`);
      assert.match(ins.err ?? 'allowed', /row-level security/);
      // a caller may store its own answer with the shortest retention: only its own
      const own = direct(who_, `insert into safeguard.idempotency_keys (issuer, agency, sub, key, request_hash, status, content_type, body, keep_seconds, created_at)
        values ('${process.env.SG_ISSUER}', current_setting('app.agency'), current_setting('app.sub'), ${sql(`own-${randomUUID()}`)}, 'h', '201', 'application/json', '{}', 3600, now() - interval '2 hours')`);
      assert.equal(own.err, undefined);
      for (const args of ['0, 5000', '-1, 5000', 'null, null', '3600, 2147483647', '1, -1', '-9223372036854775808, 5000'])
        assert.equal(direct(who_, `call safeguard.idempotency_purge(${args})`).err, undefined, args);
      assert.equal(psql(`select keep_seconds from safeguard.idempotency_keys where key = ${sql(key)}`), '604800');
    }
    // the retry within the TTL replays: one child
    const again = await call('POST', '/v1/children', t, body, { 'Idempotency-Key': key });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(psql(`select count(*) from safeguard.children where last_name = ${sql(body.last_name)}`), '1');
  });
});

// ---- 4. panel membership --------------------------------------------------------------------

describe('a panel\'s membership change audits each open child once per agency moved, and only when it stands (050)', () => {
  const access = (requestId) => trail(requestId, 'child.panel_access.%');
  const moved = (kids, pairs) => pairs.flatMap(([act, agency]) => kids.map((id) => `child.panel_access.${act} ${id}`))
    .sort();
  const details = (requestId) => psql(`select string_agg(action || ' ' || (details->>'agency'), ',' order by action, details->>'agency')
    from (select distinct action, details from safeguard.audit_events where request_id = ${sql(requestId)} and action like 'child.panel_access.%') x`);

  it('every role of every agency: only an admin\'s change stands and writes rows; refused and no-op changes write none', async () => {
    const panel = await makePanel({ type: 'missing_exploited', area: 'North', chair: 'police', members: ['youth_justice', 'csc'] });
    const kids = [await makeChild('csc'), await makeChild('csc')];
    for (const c of kids) await refer(panel, c);
    // a declined referral's child is not an open child
    const closed = await makeChild('csc');
    const r3 = await refer(panel, closed);
    // (a decline by hand ends the members' access, written as an identity: 058)
    psql(`select set_config('app.sub', 'definers-test', false), set_config('app.agency', 'partnership', false), set_config('app.request_id', 'definers-test-fixture', false);
      update safeguard.panel_referrals set status = 'declined', status_reason = 'not for this panel' where id = ${sql(r3.id)}`);
    const ids = kids.map((c) => c.id);
    let version = Number(psql(`select version from safeguard.panels where id = ${sql(panel.id)}`));
    for (const agency of AGENCIES) {
      for (const role of ROLES) {
        const add = agency === 'partnership' ? 'health' : agency === 'police' ? 'education' : agency;
        const res = await call('PATCH', `/v1/panels/${panel.id}`, who(agency, role), { member_agencies: [...new Set(['youth_justice', 'csc', add])] },
          { 'If-Match': `"v${version}"` });
        if (role !== 'admin') {
          assert.ok([401, 403].includes(res.status), `${agency} ${role}: ${res.status}`);
          assert.deepEqual(access(rid(res)), [], `${agency} ${role}`);
          continue;
        }
        assert.equal(res.status, 200, res.text);
        version++;
        const joined = ['youth_justice', 'csc'].includes(add) ? [] : [['start', add]];
        assert.deepEqual(access(rid(res)), moved(ids, joined), `${agency} admin`);
        // and back: the one that joined leaves
        const back = await ok('PATCH', `/v1/panels/${panel.id}`, who(agency, role), { member_agencies: ['youth_justice', 'csc'] }, 200,
          { 'If-Match': `"v${version}"` });
        version++;
        assert.deepEqual(access(rid(back)), moved(ids, joined.map(([, a]) => ['end', a])), `${agency} admin, back`);
      }
    }
    // a rename, or the same members named again in another order: nothing moved
    const same = await ok('PATCH', `/v1/panels/${panel.id}`, admin(), { name: `renamed ${randomUUID().slice(0, 6)}`, member_agencies: ['csc', 'youth_justice'] },
      200, { 'If-Match': `"v${version}"` });
    version++;
    assert.deepEqual(access(rid(same)), []);
    // a stale If-Match (412), an invalid body (400/422): nothing stands, nothing audited
    const stale = await call('PATCH', `/v1/panels/${panel.id}`, admin(), { member_agencies: ['health'] }, { 'If-Match': `"v${version - 1}"` });
    assert.equal(stale.status, 412);
    assert.deepEqual(access(rid(stale)), []);
    const invalid = await call('PATCH', `/v1/panels/${panel.id}`, admin(), { member_agencies: ['health', 'nobody'] }, { 'If-Match': `"v${version}"` });
    assert.ok([400, 422].includes(invalid.status), invalid.text);
    assert.deepEqual(access(rid(invalid)), []);
    // an agency that owns an open action may not leave (409): the other agency's join is refused with it
    await ok('POST', '/v1/panel-actions', who('police', 'panel_chair'), {
      panel_id: panel.id, description: 'Arrange a return interview', owner_agency: 'youth_justice', due_date: today(7),
    }, 201);
    version = Number(psql(`select version from safeguard.panels where id = ${sql(panel.id)}`));
    const refused = await call('PATCH', `/v1/panels/${panel.id}`, admin(), { member_agencies: ['csc', 'health'] }, { 'If-Match': `"v${version}"` });
    assert.equal(refused.status, 409, refused.text);
    assert.deepEqual(access(rid(refused)), []);
    assert.equal(psql(`select string_agg(agency, ',' order by agency) from safeguard.panel_members where panel_id = ${sql(panel.id)}`),
      'csc,police,youth_justice');
    // the chair moves: the old chair leaves (not listed), the new one joins, one row per open child each
    const chair = await ok('PATCH', `/v1/panels/${panel.id}`, admin(), { chair_agency: 'youth_justice', member_agencies: ['csc', 'youth_justice'] }, 200,
      { 'If-Match': `"v${version}"` });
    assert.deepEqual(access(rid(chair)), moved(ids, [['end', 'police']]));
    assert.equal(details(rid(chair)), 'child.panel_access.end police');
  });
});

// ---- 5. the change log's fact triggers (048) ----------------------------------------------

describe('the facts\' triggers give a caller nothing it may not see, and fail no legal change (048)', () => {
  it('a CME panel created, re-chaired and retyped, by the route or directly: no error, and no log row the caller may read about another\'s child', async () => {
    // a child with a live CME case, seen only by CSC and education
    const c = await makeChild('csc');
    psql(`select set_config('app.sub', 'definers-test', false), set_config('app.agency', 'partnership', false), set_config('app.request_id', 'definers-test-fixture', false);
      insert into safeguard.cme_cases (id, child_id, reason, missing_since, what_is_known, notifying_agency, notified_by, updated_by)
      values (gen_random_uuid(), ${sql(c.id)}, 'not_on_roll', current_date - 30, 'left school', 'education', 'definers-test', 'definers-test')`);
    const caller = { agency: 'voluntary', roles: 'admin' };
    const seen = () => `select count(*) from safeguard.sync_changes where record_id = ${sql(c.id)}`;
    // by the route: a CME panel created and re-chaired by a voluntary admin
    const cme = await makePanel({ type: 'cme', chair: 'education', members: ['csc'] });
    const re = await call('PATCH', `/v1/panels/${cme.id}`, who('voluntary', 'admin'), { chair_agency: 'health', member_agencies: ['csc'] }, { 'If-Match': '"v1"' });
    assert.equal(re.status, 200, re.text);
    // and back (a CME panel's chair is every other suite's CME officer)
    await ok('PATCH', `/v1/panels/${cme.id}`, admin(), { chair_agency: 'education', member_agencies: ['csc'] }, 200, { 'If-Match': '"v2"' });
    assert.ok(Number(psql(`select count(*) from safeguard.sync_changes where record_id = ${sql(c.id)}`)) >= 1);
    // directly (rolled back), each trigger fired by the API role as an admin of an agency that does not see the child
    for (const stmt of [
      `insert into safeguard.panels (id, type, name, chair_agency, created_by) values (gen_random_uuid(), 'cme', 'direct cme', 'voluntary', 'definer-attacker')`,
      `update safeguard.panels set chair_agency = 'voluntary' where id = ${sql(cme.id)}`,
      `update safeguard.panels set type = 'joint_police_yj' where id = ${sql(cme.id)}`,
    ]) {
      const r = direct(caller, `${stmt}; select (${seen()})`, 'rollback');
      assert.equal(r.err, undefined, stmt);
      // the log's rows about the child stay hidden from this caller (its policy), whatever it fired
      assert.deepEqual(r.out.slice(-1), ['0'], stmt);
    }
    // nor does its feed carry the child
    const feed = await ok('GET', '/v1/changes?limit=200', who('voluntary', 'practitioner'));
    assert.ok(!JSON.stringify(feed.body).includes(c.id));
  });
});

// ---- 6. the sync cursor does not count other people's changes -------------------------------

describe('a sync position says nothing of the log rows a caller may not read', () => {
  // A sync position is (transaction, sequence, ...), and the sequence is the
  // change log's, shared by every record of every agency: the gap between
  // two of a caller's own records' positions is the number of rows logged
  // between them, whoever may read them.  A caller who may both manage
  // panels and sync (or two who collude) could add an agency to any panel
  // between two of its own writes and read off how many open children the
  // panel has (their rows, their families' and shared entries'), the count
  // 050 stopped telling admins.  So the cursor is sealed: the caller can
  // neither read a position nor make one to bisect the log with.
  it('the caller can neither read the gap between its own positions nor forge a start to find it', async () => {
    const spy = tokenFor('voluntary', ['admin', 'practitioner'], `spy-${randomUUID().slice(0, 8)}`);
    const panel = await makePanel({ type: 'missing_exploited', area: 'North', chair: 'police', members: ['youth_justice', 'csc'] });
    for (let i = 0; i < 5; i++) await refer(panel, await makeChild('csc'));
    const marker = async () => (await ok('POST', '/v1/children', spy, { first_name: 'Spy', last_name: 'Marker', date_of_birth: '2012-01-01' }, 201)).body.id;
    const a = await marker();
    await ok('PATCH', `/v1/panels/${panel.id}`, spy, { member_agencies: ['youth_justice', 'csc', 'health'] }, 200, { 'If-Match': '"v1"' });
    const b = await marker();
    await marker(); // so that b's page has a next one, whose cursor is b's position
    const seqOf = (id) => psql(`select max(seq) from safeguard.sync_changes where record_id = ${sql(id)}`);
    const logged = Number(seqOf(b)) - Number(seqOf(a)) - 1;
    assert.ok(logged >= 5);
    const start = psql(`select xid from safeguard.sync_changes where record_id = ${sql(a)} order by seq desc limit 1`);
    const startAt = [String(BigInt(start) - 1n), '0', '2000-01-01 00:00:00+00', 'ffffffff-ffff-ffff-ffff-ffffffffffff'];
    // the attacker's way in, a start it chose, in the form every other list uses: refused
    const plain = await call('GET', `/v1/changes?limit=1&cursor=${plainCursor(startAt)}`, spy);
    assert.equal(plain.status, 400);
    assert.equal(plain.body.type, '/problems/invalid-cursor');
    // from a start only the server could seal (this test holds the instance's key), page one item at a time
    let cursor = sealCursor(startAt);
    const pos = {}, text = {};
    for (let i = 0; i < 50 && !(pos[a] && pos[b]); i++) {
      const res = await ok('GET', `/v1/changes?limit=1&cursor=${cursor}`, spy);
      if (!res.body.next_cursor) break;
      const readable = (() => { try { return JSON.parse(Buffer.from(res.body.next_cursor.slice(3), 'base64url').toString()); } catch { return null; } })();
      assert.equal(readable, null, 'the caller reads its position');
      for (const item of res.body.items) {
        pos[item.id ?? item.record?.id] = openCursor(res.body.next_cursor);
        text[item.id ?? item.record?.id] = res.body.next_cursor;
      }
      cursor = res.body.next_cursor;
    }
    // the server's own view still has the gap (so the seal is what hides it), and the two look alike
    assert.ok(pos[a] && pos[b], 'both markers were paged');
    assert.equal(Number(pos[b][1]) - Number(pos[a][1]) - 1, logged);
    assert.equal(text[a].length, text[b].length);
    assert.notEqual(text[a], text[b]);
  });
});
