// The audit trail: auditors only, what a revocation writes, the filters,
// newest-first pagination through next_cursor and Link, and append-only for
// the API's database role.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { rs256 } from './lib/tokens.mjs';

const auditor = (sub = 'audra') => rs256({ sub, agency: 'partnership', roles: ['auditor'] });
const admin = (sub) => rs256({ sub, agency: 'partnership', roles: ['admin'] });
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const seconds = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const auditCount = () => Number(psql('select count(*) from safeguard.audit_events'));

async function events(query) {
  const res = await request('GET', `/v1/audit-events?${query}`, { token: auditor() });
  assert.equal(res.status, 200, res.text);
  return res.body.items;
}

describe('the audit trail', () => {
  // One admin of its own per run, so the filters see only this suite's rows:
  // two revocations, a pause of 3 s, three more.
  const actor = `audit-admin-${randomUUID()}`;
  const early = [];
  const late = [];
  let boundary;
  let countAtStart;

  before(async () => {
    countAtStart = auditCount();
    const revoke = async (list, i) => {
      const jti = `audit-${i}-${randomUUID()}`;
      const res = await request('POST', '/v1/token-revocations', { token: admin(actor), body: { jti } });
      assert.equal(res.status, 201, res.text);
      list.push(jti);
    };
    for (let i = 0; i < 2; i++) await revoke(early, i);
    await sleep(1500);
    boundary = Date.now();
    await sleep(1500);
    for (let i = 2; i < 5; i++) await revoke(late, i);
  });

  after(() => {
    assert.ok(auditCount() >= countAtStart, 'the audit table never shrinks');
  });

  it('an auditor can list audit events', async () => {
    const res = await request('GET', '/v1/audit-events', { token: auditor() });
    assert.equal(res.status, 200, res.text);
    assert.ok(Array.isArray(res.body.items));
    assert.ok(res.body.items.length > 0 && res.body.items.length <= 50, `default limit 50: ${res.body.items.length}`);
  });

  it('a practitioner, an admin and a safeguarding lead get 403 forbidden', async () => {
    for (const token of [rs256(), admin('ada'), rs256({ agency: 'csc', roles: ['safeguarding_lead'] })]) {
      const res = await request('GET', '/v1/audit-events', { token });
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.type, '/problems/forbidden');
    }
  });

  it('a revocation is recorded as token.revoke with its actor, agency and jti', async () => {
    const jti = early[0];
    const items = await events(`resource_id=${encodeURIComponent(jti)}`);
    assert.equal(items.length, 1, JSON.stringify(items));
    const e = items[0];
    assert.equal(e.action, 'token.revoke');
    assert.equal(e.actor_sub, actor);
    assert.equal(e.actor_agency, 'partnership');
    assert.equal(e.resource_type, 'token');
    assert.equal(e.resource_id, jti);
    assert.equal(e.outcome, 'success');
    assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(typeof e.details, 'object');
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'token.revoke' and resource_id = '${jti}' and actor_sub = '${actor}'`), '1');
  });

  it('reading the trail is itself audited as audit.read', async () => {
    const reader = `reader-${randomUUID()}`;
    const res = await request('GET', '/v1/audit-events?limit=1', { token: auditor(reader) });
    assert.equal(res.status, 200);
    const items = await events(`actor=${reader}`);
    assert.equal(items.length, 1, JSON.stringify(items));
    assert.equal(items[0].action, 'audit.read');
    assert.equal(items[0].resource_type, 'audit_event');
    assert.equal(items[0].resource_id, null);
    assert.equal(items[0].request_id, res.headers.get('x-request-id'));
  });

  it('the actor filter returns exactly that actor\'s events', async () => {
    const items = await events(`actor=${actor}&limit=200`);
    assert.deepEqual(items.map((e) => e.resource_id).sort(), [...early, ...late].sort());
    assert.ok(items.every((e) => e.actor_sub === actor));
  });

  it('the action filter returns only that action', async () => {
    const revokes = await events('action=token.revoke&limit=200');
    assert.ok(revokes.length >= 5);
    assert.ok(revokes.every((e) => e.action === 'token.revoke'));
    const reads = await events('action=audit.read&limit=200');
    assert.ok(reads.length >= 1);
    assert.ok(reads.every((e) => e.action === 'audit.read'));
    assert.deepEqual(await events(`actor=${actor}&action=audit.read`), []);
  });

  it('from and to narrow the results to a time window', async () => {
    const cut = seconds(boundary);
    const lateOnes = await events(`actor=${actor}&from=${cut}`);
    assert.deepEqual(lateOnes.map((e) => e.resource_id).sort(), [...late].sort());
    const earlyOnes = await events(`actor=${actor}&to=${cut}`);
    assert.deepEqual(earlyOnes.map((e) => e.resource_id).sort(), [...early].sort());
    const all = await events(`actor=${actor}&from=${seconds(boundary - 3600e3)}&to=${seconds(boundary + 3600e3)}`);
    assert.equal(all.length, 5);
    assert.deepEqual(await events(`actor=${actor}&from=${seconds(boundary + 3600e3)}`), []);
  });

  it('limit=2 pages newest first through next_cursor and Link, with no repeats', async () => {
    const expected = [...early, ...late].reverse();
    // by Link
    const byLink = [];
    let path = `/v1/audit-events?actor=${actor}&limit=2`;
    for (let pages = 0; path && pages < 10; pages++) {
      const res = await request('GET', path, { token: auditor() });
      assert.equal(res.status, 200, res.text);
      assert.ok(res.body.items.length <= 2);
      byLink.push(...res.body.items);
      const link = res.headers.get('link');
      if (res.body.next_cursor === null) {
        assert.equal(link, null);
        path = null;
      } else {
        const url = new URL(/^<([^>]+)>;\s*rel="next"$/.exec(link)[1], process.env.SG_BASE_URL);
        assert.equal(url.searchParams.get('cursor'), res.body.next_cursor);
        assert.equal(url.searchParams.get('actor'), actor, 'the Link keeps the filters');
        assert.equal(url.searchParams.get('limit'), '2', 'the Link keeps the limit');
        path = url.pathname + url.search;
      }
    }
    assert.deepEqual(byLink.map((e) => e.resource_id), expected);
    assert.equal(new Set(byLink.map((e) => e.id)).size, byLink.length, 'no repeats');
    const times = byLink.map((e) => Date.parse(e.occurred_at));
    assert.deepEqual([...times].sort((a, b) => b - a), times, 'newest first');
    // by next_cursor
    const byCursor = [];
    let cursor = null;
    for (let pages = 0; pages < 10; pages++) {
      const res = await request('GET', `/v1/audit-events?actor=${actor}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: auditor() });
      byCursor.push(...res.body.items);
      cursor = res.body.next_cursor;
      if (!cursor) break;
    }
    assert.deepEqual(byCursor.map((e) => e.id), byLink.map((e) => e.id));
  });

  it('the API database role cannot UPDATE or DELETE audit rows, and the count does not fall', () => {
    const count = auditCount();
    const id = psql('select id from safeguard.audit_events order by occurred_at desc limit 1');
    assert.ok(id, 'there is a row to try to change');
    for (const sql of [
      `update safeguard.audit_events set action = 'forged' where id = '${id}'`,
      `delete from safeguard.audit_events where id = '${id}'`,
      'delete from safeguard.audit_events',
      'truncate safeguard.audit_events',
    ]) {
      assert.throws(() => psql(`set role safeguard_api; ${sql};`), /permission denied/, sql);
    }
    assert.notEqual(psql(`select action from safeguard.audit_events where id = '${id}'`), 'forged');
    assert.ok(auditCount() >= count);
  });
});
