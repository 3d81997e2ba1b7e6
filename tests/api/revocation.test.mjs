// revocation.test.mjs - a revoked token is found out by the identity
// statement that travels with the request's first statement (migration 012):
// the error aborts the flight, so the statement never runs.  Whatever the
// route, the answer is a 401 and nothing was read, written or audited.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import { rs256 } from './lib/tokens.mjs';

const sqlText = (s) => `'${String(s).replace(/'/g, "''")}'`;

describe('a revoked token runs nothing', () => {
  const jti = `revoked-${randomUUID()}`;
  const sub = `revoked-${randomUUID()}`;
  const revoked = rs256({ sub, agency: 'csc', roles: ['social_worker'], jti });
  let child;

  before(async () => {
    const csc = tokenFor('csc', 'social_worker', `sw-${randomUUID()}`);
    const res = await request('POST', '/v1/children', { token: csc, body: { first_name: 'Rev', last_name: 'Oked', date_of_birth: '2014-04-04' } });
    assert.equal(res.status, 201, res.text);
    child = res.body;
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: revoked })).status, 200, 'readable before');
    const admin = tokenFor('csc', 'admin', `admin-${randomUUID()}`);
    assert.equal((await request('POST', '/v1/token-revocations', { token: admin, body: { jti } })).status, 201);
  });

  const audited = () => Number(psql(`select count(*) from safeguard.audit_events where actor_sub = ${sqlText(sub)}`));

  for (const [what, call] of [
    ['a one-statement read (GET child)', () => request('GET', `/v1/children/${child.id}`, { token: revoked })],
    ['a list (GET children)', () => request('GET', '/v1/children?limit=5', { token: revoked })],
    ['a read of several statements (the network)', () => request('GET', `/v1/children/${child.id}/network`, { token: revoked })],
    ['a write (POST child)', () => request('POST', '/v1/children', { token: revoked, body: { first_name: 'Never', last_name: 'Written', date_of_birth: '2014-04-04' } })],
    ['a write with an Idempotency-Key', () => request('POST', '/v1/children', { token: revoked, headers: { 'Idempotency-Key': `k-${randomUUID()}` }, body: { first_name: 'Never', last_name: 'Keyed', date_of_birth: '2014-04-04' } })],
    ['a route that answers before any statement (a malformed id)', () => request('GET', '/v1/children/not-a-uuid', { token: revoked })],
  ]) {
    it(`${what}: 401, nothing read, written or audited`, async () => {
      const before = audited();
      const res = await call();
      assert.equal(res.status, 401, res.text);
      assert.equal(res.body.type, '/problems/unauthorized');
      assert.match(res.headers.get('www-authenticate') || '', /invalid_token/);
      assert.equal(audited(), before, 'no audit row: the statement never ran');
    });
  }

  it('wrote no child and stored no idempotent answer', () => {
    assert.equal(psql("select count(*) from safeguard.children where first_name = 'Never'"), '0');
    assert.equal(psql(`select count(*) from safeguard.idempotency_keys where sub = ${sqlText(sub)}`), '0');
  });
});
