// A request's path: 404 vs 405, media types, size caps in the pool and in
// nginx, strict JSON, validation, query strings, roles, idempotency, the
// headers every answer carries, and the routes outside /v1.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { rs256 } from './lib/tokens.mjs';

const admin = () => rs256({ sub: 'ada', agency: 'partnership', roles: ['admin'] });
const problem = (res, status, type) => {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(res.body.type, `/problems/${type}`);
  assert.equal(res.body.status, status);
  assert.equal(res.body.request_id, res.headers.get('x-request-id'));
};

describe('routing', () => {
  it('404 for an unknown path, in /v1 and outside it', async () => {
    problem(await request('GET', '/v1/nothing-here', { token: rs256(), validate: false }), 404, 'not-found');
    problem(await request('GET', '/v1/me/', { token: rs256(), validate: false }), 404, 'not-found');
    problem(await request('GET', '/wp-admin', { validate: false }), 404, 'not-found');
  });

  it('405 with Allow for a known path and another method', async () => {
    const res = await request('DELETE', '/v1/me', { token: rs256() });
    problem(res, 405, 'method-not-allowed');
    assert.equal(res.headers.get('allow'), 'GET');
    const both = await request('PUT', '/v1/children', { token: rs256() });
    assert.equal(both.status, 405);
    assert.equal(both.headers.get('allow'), 'POST, GET');
  });
});

describe('bodies', () => {
  const post = (opts) => request('POST', '/v1/token-revocations', { token: admin(), ...opts });

  it('415 unless the body is application/json', async () => {
    problem(await post({ rawBody: '{"jti":"x"}', headers: { 'Content-Type': 'text/plain' } }), 415, 'unsupported-media-type');
    problem(await post({ rawBody: '{"jti":"x"}', headers: { 'Content-Type': 'application/jsonp' } }), 415, 'unsupported-media-type');
    const ok = await post({ rawBody: JSON.stringify({ jti: `charset-${randomUUID()}` }), headers: { 'Content-Type': 'application/json; charset=utf-8' } });
    assert.equal(ok.status, 201);
  });

  it('413 from the pool over its cap, and from nginx over 1 MiB', async () => {
    const big = (n) => JSON.stringify({ jti: 'x', pad: 'y'.repeat(n) });
    const pool = await post({ rawBody: big(300 * 1024), headers: { 'Content-Type': 'application/json' } });
    problem(pool, 413, 'payload-too-large');
    assert.match(pool.body.detail, /at most/);
    const edge = await post({ rawBody: big(2 * 1024 * 1024), headers: { 'Content-Type': 'application/json' } });
    problem(edge, 413, 'payload-too-large');
    assert.match(edge.body.detail, /1 MiB/);
  });

  it('400 invalid-json for duplicate keys, invalid UTF-8, deep nesting and truncation', async () => {
    const cases = {
      duplicate: Buffer.from('{"jti":"a","jti":"b"}'),
      utf8: Buffer.concat([Buffer.from('{"jti":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      nesting: Buffer.from(`${'['.repeat(100)}${']'.repeat(100)}`),
      truncated: Buffer.from('{"jti":"abc"'),
      nul: Buffer.from('{"jti":"a\\u0000b"}'),
    };
    for (const [name, raw] of Object.entries(cases)) {
      const res = await post({ rawBody: raw, headers: { 'Content-Type': 'application/json' } });
      problem(res, 400, 'invalid-json');
      assert.ok(res.body.detail.length > 5, name);
    }
  });

  it('400 validation-failed listing every bad field at once', async () => {
    let res = await post({ body: { jti: 'ok', extra: 1 } });
    problem(res, 400, 'validation-failed');
    assert.deepEqual(res.body.errors.map((e) => [e.field, e.code]), [['extra', 'unknown_field']]);
    res = await post({ body: { jti: 5, other: true } });
    assert.deepEqual(res.body.errors.map((e) => e.field).sort(), ['jti', 'other']);
    res = await post({ body: {} });
    assert.deepEqual(res.body.errors.map((e) => [e.field, e.code]), [['jti', 'required']]);
    res = await post({ body: ['jti'] });
    problem(res, 400, 'validation-failed');
  });

  it('403 for a role that may not use the route; its body is never looked at', async () => {
    problem(await request('POST', '/v1/token-revocations', { token: rs256(), body: { jti: 'x' } }), 403, 'forbidden');
    problem(await request('POST', '/v1/token-revocations', { token: rs256(), rawBody: 'not json', headers: { 'Content-Type': 'application/json' } }), 403, 'forbidden');
  });
});

describe('query strings', () => {
  const auditor = () => rs256({ sub: 'audra', agency: 'partnership', roles: ['auditor'] });
  it('400 for unknown, repeated, malformed and out-of-range parameters', async () => {
    let res = await request('GET', '/v1/audit-events?colour=red&limit=0', { token: auditor() });
    problem(res, 400, 'invalid-query');
    assert.deepEqual(res.body.errors.map((e) => [e.field, e.code]).sort(), [['colour', 'unknown_parameter'], ['limit', 'out_of_range']]);
    for (const qs of ['limit=201', 'limit=abc', 'limit=1&limit=2', 'from=yesterday', 'agency=mi6', 'actor=%zz']) {
      problem(await request('GET', `/v1/audit-events?${qs}`, { token: auditor() }), 400, 'invalid-query');
    }
    problem(await request('GET', '/v1/me?x=1', { token: rs256() }), 400, 'invalid-query');
  });
  it('400 invalid-cursor for a cursor it did not issue', async () => {
    for (const c of ['garbage', 'c1.', 'c1.WyJhIl0', 'c1.WyJub3QgYSB0aW1lIiwibm90IGEgdXVpZCJd']) {
      problem(await request('GET', `/v1/audit-events?cursor=${c}`, { token: auditor() }), 400, 'invalid-cursor');
    }
  });
});

describe('idempotency', () => {
  it('replays the first answer for the same key and body, one row; 422 for another body; 400 for a bad key', async () => {
    const key = `k-${randomUUID()}`;
    const jti = `idem-${randomUUID()}`;
    const t = admin();
    const a = await request('POST', '/v1/token-revocations', { token: t, body: { jti }, headers: { 'Idempotency-Key': key } });
    const b = await request('POST', '/v1/token-revocations', { token: t, body: { jti }, headers: { 'Idempotency-Key': key } });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.deepEqual(b.body, a.body);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(a.headers.get('idempotent-replayed'), null);
    assert.equal(psql(`select count(*) from safeguard.token_revocations where jti = '${jti}'`), '1');
    assert.equal(psql(`select count(*) from safeguard.idempotency_keys where key = '${key}'`), '1');
    problem(await request('POST', '/v1/token-revocations', { token: t, body: { jti: `${jti}-2` }, headers: { 'Idempotency-Key': key } }), 422, 'idempotency-key-reuse');
    problem(await request('POST', '/v1/token-revocations', { token: t, body: { jti }, headers: { 'Idempotency-Key': 'bad key!' } }), 400, 'validation-failed');
    // another caller's key is another key
    const other = await request('POST', '/v1/token-revocations', { token: rs256({ sub: 'other-admin', agency: 'partnership', roles: ['admin'] }), body: { jti: `${jti}-3` }, headers: { 'Idempotency-Key': key } });
    assert.equal(other.status, 201);
    const again = await request('POST', '/v1/token-revocations', { token: t, body: { jti } });
    assert.equal(again.status, 200);
  });

  it('answers 409 while the first request with the key is still running', async () => {
    const key = `busy-${randomUUID()}`;
    const t = admin();
    psql('select 1');
    // hold the key's advisory lock the way a running request does
    const { spawn } = await import('node:child_process');
    const holder = spawn('psql', [process.env.DATABASE_URL_ADMIN, '-Xqc',
      `begin; select pg_advisory_xact_lock(hashtextextended('ada:${key}', 7)); select pg_sleep(3); commit;`]);
    await new Promise((ok) => setTimeout(ok, 700));
    const res = await request('POST', '/v1/token-revocations', { token: t, body: { jti: `busy-${randomUUID()}` }, headers: { 'Idempotency-Key': key } });
    problem(res, 409, 'idempotency-in-progress');
    holder.kill();
  });
});

describe('every answer', () => {
  it('carries X-Request-Id, and Cache-Control no-store on /v1', async () => {
    for (const [path, token] of [['/v1/me', rs256()], ['/v1/me', undefined], ['/v1/agencies', rs256()], ['/v1/nope', rs256()]]) {
      const res = await request('GET', path, { token, validate: false });
      assert.match(res.headers.get('x-request-id') || '', /^[0-9a-f]{32}$/, path);
      assert.equal(res.headers.get('cache-control'), 'no-store', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    }
    const a = await request('GET', '/v1/me', { token: rs256() });
    const b = await request('GET', '/v1/me', { token: rs256() });
    assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
  });

  it('lists the nine agencies', async () => {
    const res = await request('GET', '/v1/agencies', { token: rs256() });
    assert.deepEqual(res.body.items.map((a) => a.code).sort(),
      ['csc', 'district', 'education', 'health', 'mental_health', 'partnership', 'police', 'voluntary', 'youth_justice']);
    assert.equal(res.body.next_cursor, null);
  });

  it('health, readiness, metrics, the contract and the docs page', async () => {
    assert.deepEqual((await request('GET', '/healthz')).body, { status: 'ok' });
    const ready = await request('GET', '/readyz');
    assert.equal(ready.body.status, 'ready');
    assert.equal(ready.body.schema_version, Number(psql('select max(version) from safeguard.schema_migrations')));
    const metrics = await request('GET', '/metrics');
    assert.match(metrics.text, /^safeguard_requests_total\{route="me.show",status="200"\} \d+$/m);
    assert.match(metrics.text, /safeguard_request_duration_seconds_bucket\{route="me.show",le="\+Inf"\}/);
    assert.match(metrics.text, /safeguard_worker_restarts_total\{cause="crash"\}/);
    const doc = await fetch(`${process.env.SG_BASE_URL}/openapi.yaml`);
    assert.equal(doc.status, 200);
    assert.match(await doc.text(), /^openapi: 3\.1\.0$/m);
    const docs = await fetch(`${process.env.SG_BASE_URL}/docs/`);
    assert.equal(docs.status, 200);
    const html = await docs.text();
    assert.match(html, /redoc\.standalone\.js/);
    assert.ok(!/https?:\/\//.test(html.replace(/<!--[\s\S]*?-->/g, '')), 'the docs page loads nothing from the network');
    assert.equal((await fetch(`${process.env.SG_BASE_URL}/docs/redoc.standalone.js`)).status, 200);
  });

  it('answers 429 with Retry-After when one token floods the API', async () => {
    const t = rs256({ sub: 'flood' });
    const answers = await Promise.all(Array.from({ length: 700 }, () => request('GET', '/v1/me', { token: t })));
    const limited = answers.filter((r) => r.status === 429);
    assert.ok(limited.length > 0, 'some requests were limited');
    problem(limited[0], 429, 'rate-limited');
    assert.ok(Number(limited[0].headers.get('retry-after')) >= 1);
    assert.ok(answers.every((r) => r.status === 200 || r.status === 429));
    assert.equal((await request('GET', '/v1/me', { token: rs256() })).status, 200, 'another token is not limited');
  });

  it('refuses oversized headers at nginx with a problem body', async () => {
    const res = await request('GET', '/v1/me', { token: rs256(), headers: { 'X-Padding': 'p'.repeat(40 * 1024) }, validate: false });
    problem(res, 400, 'headers-too-large');
  });

  it('serves HTTPS with the generated certificate', async () => {
    const { execFileSync } = await import('node:child_process');
    const env = Object.fromEntries((await import('node:fs')).readFileSync(`${process.env.SG_VAR}/instance.env`, 'utf8').trim().split('\n').map((l) => l.split('=')));
    const out = execFileSync('curl', ['-sS', '--cacert', `${process.env.SG_VAR}/tls/server.crt`, '-D', '-',
      `https://localhost:${env.TLS_PORT}/healthz`], { encoding: 'utf8' });
    assert.match(out, /^HTTP\/1\.1 200/);
    assert.match(out, /strict-transport-security: max-age=31536000/i);
    assert.match(out, /\{"status":"ok"\}/);
  });
});
