// children-page.test.mjs - the children list (035): an agency that sees
// few children of a large register gets its pages without the register
// being read and checked row by row, and every agency's list is exactly
// the children row-level security lets it see, in order, page after page.
// safeguard.child_page starts from the children the caller can see by each
// way child_visible admits one (network, an invitation to an open request,
// a panel with an open referral, a live CME case): a way missing there
// would drop children from these lists, which the comparisons below catch.
import { describe, it, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { who, ok, makePanel, makeChild, refer, today, sql } from './lib/panels.mjs';

const instant = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

// The ids the caller's row-level security shows, in the list's order.
function truth(agency, roles) {
  return psql(`begin; set local role safeguard_api;
    select set_config('app.sub', 'page-truth', true), set_config('app.agency', ${sql(agency)}, true),
           set_config('app.roles', ${sql(roles)}, true), set_config('app.request_id', 'page-truth', true);
    select 'ids:' || coalesce(string_agg(id::text, ',' order by created_at, id), '') from safeguard.children;
    rollback;`).split('\n').pop().replace(/^ids:/, '').split(',').filter(Boolean);
}

// Every page of the list, limit at a time: the ids in order.
async function listAll(token, limit, query = '') {
  const ids = [];
  let path = `/v1/children?limit=${limit}${query}`;
  for (let pages = 0; path; pages++) {
    assert.ok(pages < 1000, 'the list ends');
    const res = await ok('GET', path, token);
    assert.ok(res.body.items.length <= limit);
    ids.push(...res.body.items.map((c) => c.id));
    path = res.body.next_cursor ? `/v1/children?limit=${limit}${query}&cursor=${encodeURIComponent(res.body.next_cursor)}` : null;
  }
  return ids;
}

// the agency's network now
const networkOf = (agency) => Number(psql(`select count(*) from safeguard.child_network where agency = ${sql(agency)}`));

// child_in_network's calls while the list's own statement runs once, as
// the API role (rolled back).
function networkChecks(agency, roles, limit) {
  const out = psql(`begin; set local track_functions = 'all'; set local role safeguard_api;
    select set_config('app.sub', 'page-count', true), set_config('app.agency', ${sql(agency)}, true),
           set_config('app.roles', ${sql(roles)}, true), set_config('app.request_id', 'page-count', true);
    select count(*) from safeguard.children c where c.id = any ((select safeguard.child_page(null, null, ${limit + 1}, null, null))::uuid[]);
    reset role;
    select pg_stat_get_xact_function_calls('safeguard.child_in_network'::regproc);
    rollback;`);
  return Number(out.split('\n').pop());
}

describe('the children list of an agency that sees few', () => {
  const seen = {};
  // the agency that sees least of the register so far: the one these cases are about
  let A;
  const network = () => networkOf(A);
  before(async () => {
    const sizes = psql(`select string_agg(a || '=' || (select count(*) from safeguard.child_network n where n.agency = a), ',')
      from unnest(array['district', 'voluntary', 'partnership', 'mental_health', 'youth_justice']) a`)
      .split(',').map((kv) => kv.split('=')).map(([a, n]) => [a, Number(n)]).sort((x, y) => x[1] - y[1]);
    A = sizes[0][0];
    const grown = sizes[0][1] + 4;
    // a register that agency sees an eighth of or less: what the list counts as few
    const total = Number(psql('select count(*) from safeguard.children'));
    // and more of them after the cursor below than a bounded page may check
    const more = Math.max(400, 8 * grown + 50 - total, grown + 300);
    // a register of which the agency sees little: 400 or more children of
    // CSC's, then the agency's own, one on a request it is invited to, one
    // on a panel it sits on, one with a live CME case
    const csc = who('csc', 'social_worker');
    const register = [];
    for (let i = 0; i < Math.ceil(more / 10); i++) {
      register.push(...(await Promise.all(Array.from({ length: 10 }, () => ok('POST', '/v1/children', csc, {
        first_name: 'Register', last_name: `Child${randomUUID().slice(0, 6)}`, date_of_birth: '2012-01-02' }, 201))))
        .map((r) => r.body.id));
    }
    // a cursor just after the first of them: a page from there passes the
    // others before any child the agency sees
    const [t, id] = psql(`select created_at::text || '|' || id from safeguard.children
      where id = any (array[${register.map(sql).join(', ')}]::uuid[]) order by created_at, id limit 1`).split('|');
    seen.cursor = `c1.${Buffer.from(JSON.stringify([t, id])).toString('base64url')}`;
    seen.own = await makeChild(A);
    seen.requested = await makeChild('csc');
    await ok('POST', '/v1/chronology-requests', csc, {
      agencies: [A], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47', child_id: seen.requested.id,
      period_from: today(-100), period_to: today(0), respond_by: today(7), share_until: instant(Date.now() + 3600e3),
    }, 201);
    seen.panel = await makeChild('csc');
    const panel = await makePanel({ type: 'risk_meeting', members: ['csc', A] });
    await refer(panel, seen.panel, csc);
    // the register's size as the planner knows it (autovacuum's analyse, at once)
    psql('analyze safeguard.children');
    seen.cme = await makeChild('csc');
    await ok('POST', '/v1/cme-cases', csc, { child_id: seen.cme.id, reason: 'not_attending', since: today(-10),
      what_is_known: 'Not seen in school.' }, 201);
  });

  it('the list of an agency that sees few is every child it sees, by each way, page after page, and nothing else', async () => {
    const token = who(A, 'practitioner');
    const want = truth(A, 'practitioner');
    for (const c of [seen.own, seen.requested, seen.panel]) assert.ok(want.includes(c.id), 'row-level security shows it');
    assert.ok(!want.includes(seen.cme.id));
    for (const limit of [1, 2, 50]) assert.deepEqual(await listAll(token, limit), want, `limit ${limit}`);
  });

  it('the CME officer\'s list has the live case\'s child', async () => {
    const token = who('education', 'safeguarding_lead');
    const want = truth('education', 'safeguarding_lead');
    assert.ok(want.includes(seen.cme.id));
    assert.deepEqual(await listAll(token, 3), want);
  });

  it('every agency\'s list, in every reading role, is what row-level security shows', async () => {
    for (const [agency, roles] of [['csc', 'social_worker'], ['police', 'practitioner'], ['health', 'safeguarding_lead'],
      ['mental_health', 'practitioner'], ['education', 'practitioner'], ['youth_justice', 'practitioner'],
      ['district', 'safeguarding_lead'], ['voluntary', 'practitioner'], ['partnership', 'practitioner']]) {
      const want = truth(agency, roles);
      assert.deepEqual(await listAll(who(agency, roles), 200), want, `${agency} ${roles}`);
    }
  });

  it('with the filters, the same: a status, a family', async () => {
    const token = who(A, 'practitioner');
    const status = psql(`select education_status from safeguard.children where id = ${sql(seen.own.id)}`);
    const want = truth(A, 'practitioner').filter((id) => psql(`select education_status from safeguard.children where id = ${sql(id)}`) === status);
    assert.deepEqual(await listAll(token, 1, `&education_status=${status}`), want);
  });

  it('one page over HTTP checks a bounded number of children, not the register', async () => {
    // counted by every backend (track_functions), sent within ten seconds of going idle
    const calls = () => Number(psql(`select coalesce((select calls from pg_stat_user_functions
      where schemaname = 'safeguard' and funcname = 'child_in_network'), 0)`));
    psql(`alter system set track_functions = 'all'`);
    psql('select pg_reload_conf()');
    try {
      await sleep(11000);
      const before0 = calls();
      const res = await ok('GET', `/v1/children?limit=1&cursor=${encodeURIComponent(seen.cursor)}`, who(A, 'practitioner'));
      assert.deepEqual(res.body.items.map((c) => c.id), [seen.own.id]);
      await sleep(11000);
      const register = Number(psql('select count(*) from safeguard.children'));
      const made = calls() - before0;
      assert.ok(made <= 4 * 2 + 200 + network() + 10, `child_in_network ran ${made} times over a register of ${register}`);
    } finally {
      psql('alter system reset track_functions');
      psql('select pg_reload_conf()');
    }
  });

  it('a page checks a bounded number of children, not the register', () => {
    const register = Number(psql('select count(*) from safeguard.children'));
    assert.ok(register > 400, `${register}`);
    // the walk is 4 x (limit + 1) + 200 rows at most, then only the caller's own
    const checks = networkChecks(A, 'practitioner', 1);
    assert.ok(checks <= 4 * 2 + 200 + network() + 10, `child_in_network ran ${checks} times over a register of ${register}`);
  });
});
