// The audit trail: auditors only, what a revocation writes, filters,
// newest-first pagination, and append-only for the API's database role.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { rs256 } from './lib/tokens.mjs';

const auditor = () => rs256({ sub: 'audra', agency: 'partnership', roles: ['auditor'] });
const admin = (sub = 'ada') => rs256({ sub, agency: 'partnership', roles: ['admin'] });

describe('the audit trail', () => {
  const actor = `admin-${randomUUID()}`;
  const jtis = [];
  before(async () => {
    for (let i = 0; i < 5; i++) {
      const jti = `audit-${i}-${randomUUID()}`;
      jtis.push(jti);
      assert.equal((await request('POST', '/v1/token-revocations', { token: admin(actor), body: { jti } })).status, 201);
    }
  });

  it('is for auditors: a practitioner, an admin and a CSC lead get 403', async () => {
    assert.equal((await request('GET', '/v1/audit-events', { token: auditor() })).status, 200);
    for (const token of [rs256(), admin(), rs256({ agency: 'csc', roles: ['safeguarding_lead'] })]) {
      const res = await request('GET', '/v1/audit-events', { token });
      assert.equal(res.status, 403);
      assert.equal(res.body.type, '/problems/forbidden');
    }
  });

  it('records a revocation with its actor, agency and resource', async () => {
    const res = await request('GET', `/v1/audit-events?actor=${actor}&action=token.revoke&limit=200`, { token: auditor() });
    assert.equal(res.body.items.length, 5);
    const e = res.body.items.find((x) => x.resource_id === jtis[0]);
    assert.equal(e.actor_agency, 'partnership');
    assert.equal(e.resource_type, 'token');
    assert.equal(e.outcome, 'success');
    assert.match(e.request_id, /^[0-9a-f]{32}$/);
  });

  it('filters by actor, action, resource and time, and pages newest first with no repeats', async () => {
    const one = await request('GET', `/v1/audit-events?resource_type=token&resource_id=${jtis[2]}`, { token: auditor() });
    assert.deepEqual(one.body.items.map((e) => e.resource_id), [jtis[2]]);
    const future = new Date(Date.now() + 3600e3).toISOString();
    assert.deepEqual((await request('GET', `/v1/audit-events?actor=${actor}&from=${future}`, { token: auditor() })).body.items, []);
    const past = new Date(Date.now() - 3600e3).toISOString();
    assert.equal((await request('GET', `/v1/audit-events?actor=${actor}&from=${past}&to=${future}`, { token: auditor() })).body.items.length, 5);
    const seen = [];
    let path = `/v1/audit-events?actor=${actor}&limit=2`;
    for (let pages = 0; pages < 10; pages++) {
      const page = await request('GET', path, { token: auditor() });
      seen.push(...page.body.items);
      if (!page.body.next_cursor) break;
      const link = page.headers.get('link');
      assert.match(link, /rel="next"/);
      path = link.match(/<([^>]+)>/)[1];
      assert.match(path, new RegExp(`actor=${actor}`));
    }
    assert.deepEqual(seen.map((e) => e.resource_id), [...jtis].reverse());
    const times = seen.map((e) => e.occurred_at);
    assert.deepEqual([...times].sort().reverse(), times);
  });

  it('audits reading it', async () => {
    const before = Number(psql("select count(*) from safeguard.audit_events where action = 'audit.read' and actor_sub = 'audra'"));
    await request('GET', '/v1/audit-events?limit=1', { token: auditor() });
    assert.equal(Number(psql("select count(*) from safeguard.audit_events where action = 'audit.read' and actor_sub = 'audra'")), before + 1);
  });

  it('is append-only: the API role cannot update or delete, and the count never falls', () => {
    const count = Number(psql('select count(*) from safeguard.audit_events'));
    for (const sql of ['update safeguard.audit_events set action = \'x\'', 'delete from safeguard.audit_events', 'truncate safeguard.audit_events']) {
      assert.throws(() => psql(`begin; set local role safeguard_api; ${sql}; commit;`), /permission denied/);
    }
    // not even the owner: its row-level security shows it no rows to change,
    // and a trigger refuses a truncate
    psql("begin; set local role safeguard_owner; delete from safeguard.audit_events; commit;");
    assert.throws(() => psql("begin; set local role safeguard_owner; truncate safeguard.audit_events; commit;"), /append-only/);
    assert.ok(Number(psql('select count(*) from safeguard.audit_events')) >= count);
  });

  it('lets the API role write rows only about its own identity', () => {
    assert.throws(() => psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'x', true), set_config('app.agency', 'police', true), set_config('app.request_id', 'r', true);
      insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, outcome)
        values ('r', 'someone-else', 'police', 'forged', 'child', 'success'); commit;`), /row-level security/);
  });
});
