// db-work.test.mjs - the work one request does in the database does not
// grow with the register (030).  Counted, not timed: PostgreSQL counts the
// calls of each function within a transaction
// (pg_stat_get_xact_function_calls, with track_functions on), so each case
// runs a request's own statement as the API role and asserts how many times
// the per-child checks and the entry's rendering ran.  Before 030 a new
// chronology entry evaluated the visibility of every child the caller can
// see, and rendered the entry twice.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { who, ok, makeChild, today, sql } from './lib/panels.mjs';

const body = {
  event_date: today(-3), date_precision: 'day', category: 'home_visit', summary: 'counted visit',
  impact: 'neutral', significance: 'low', action_taken: 'recorded',
};

// Runs statement as the API role for agency (rolled back) and answers the
// calls of each function named, within that transaction: {name: calls}.
function callsOf(agency, roles, statement, names) {
  const out = psql(`begin; set local track_functions = 'all';
    set local role safeguard_api;
    select set_config('app.sub', 'counted', true), set_config('app.agency', ${sql(agency)}, true),
           set_config('app.roles', ${sql(roles)}, true), set_config('app.request_id', 'counted', true);
    ${statement};
    reset role;
    select string_agg(n || '=' || coalesce(pg_stat_get_xact_function_calls(('safeguard.' || n)::regproc), 0), ',')
    from unnest(array[${names.map(sql).join(', ')}]) n;
    rollback;`);
  return Object.fromEntries(out.split('\n').pop().split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
}

describe('database work per request', () => {
  const children = [];
  before(async () => {
    // a register the caller sees a good part of
    for (let i = 0; i < 40; i++) children.push(await makeChild('police'));
  });

  it('a new chronology entry checks the children it names, not every child the caller sees, and renders the entry once', () => {
    const visible = Number(psql(`select count(*) from safeguard.child_network where agency = 'police'`));
    assert.ok(visible >= 40, `${visible}`);
    const calls = callsOf('police', 'practitioner', `select missing, doc is not null from safeguard.chronology_entry_create(
      ${sql(randomUUID())}, ${sql(JSON.stringify(body))}, ${sql(JSON.stringify([children[0].id]))})`,
    ['child_in_network', 'entry_json', 'audit_write']);
    assert.ok(calls.child_in_network <= 4, `child_in_network ran ${calls.child_in_network} times for one named child`);
    assert.equal(calls.entry_json, 1, 'the entry is rendered once');
    assert.equal(calls.audit_write, 2, 'its audit rows: the entry and its child');
  });

  it('naming two children of one family costs two lookups, still not a scan of the register', async () => {
    const lead = who('police', 'safeguarding_lead');
    const family = (await ok('POST', '/v1/families', lead, { name: `Counted ${randomUUID().slice(0, 4)}` }, 201)).body;
    for (const c of [children[1], children[2]]) {
      await ok('POST', `/v1/families/${family.id}/members`, lead, { child_id: c.id, relationship: 'sibling' }, 201);
    }
    const calls = callsOf('police', 'practitioner', `select missing, not_siblings from safeguard.chronology_entry_create(
      ${sql(randomUUID())}, ${sql(JSON.stringify(body))}, ${sql(JSON.stringify([children[1].id, children[2].id]))})`,
    ['child_in_network', 'entry_json']);
    assert.ok(calls.child_in_network <= 8, `child_in_network ran ${calls.child_in_network} times for two named children`);
    assert.equal(calls.entry_json, 1);
  });

  it('an unknown or unwritable child is named back in the order given, as before', () => {
    const unknown = randomUUID();
    const out = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'counted', true), set_config('app.agency', 'health', true),
             set_config('app.roles', 'practitioner', true), set_config('app.request_id', 'counted', true);
      select missing::text from safeguard.chronology_entry_create(${sql(randomUUID())}, ${sql(JSON.stringify(body))},
        ${sql(JSON.stringify([unknown, children[3].id]))});
      rollback;`);
    assert.deepEqual(JSON.parse(out.split('\n').pop()), [unknown, children[3].id]);
  });
});
