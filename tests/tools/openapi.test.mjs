// openapi.test.mjs - the checks on the checks.  validateResponse must be able
// to fail: wrong bodies, statuses, content types, headers and broken
// conventions are all caught, and right ones pass.  The document itself must
// keep the conventions every route shares, and check-routes.mjs must report
// a difference either way.  No server needed: `node --test tests/tools/`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { validateResponse, operations, DOCUMENT } from '../api/lib/openapi.mjs';

const RID = '0123456789abcdef0123456789abcdef';
const json = { 'content-type': 'application/json; charset=utf-8', 'x-request-id': RID, 'cache-control': 'no-store' };
const problemHeaders = { ...json, 'content-type': 'application/problem+json' };
const me = {
  sub: 'alice', agency: 'police', roles: ['practitioner'], jti: 'j1',
  issued_at: '2026-11-22T10:00:00Z', expires_at: '2026-11-22T11:00:00Z',
};
const problem = (slug, status, extra = {}) => ({
  type: `/problems/${slug}`, title: 'T', status, detail: 'd', request_id: RID, ...extra,
});
const event = {
  id: '6f1c2d3e-4b5a-4c6d-8e7f-a0b1c2d3e4f5', occurred_at: '2026-11-22T23:53:12.325832Z', request_id: RID,
  actor_sub: 'ed', actor_agency: 'education', action: 'token.revoke', resource_type: 'token', resource_id: 'j1',
  outcome: 'success', details: {},
};

const ok = (res) => assert.doesNotThrow(() => validateResponse(res));
const bad = (res, re) => assert.throws(() => validateResponse(res), re);
const getMe = (over) => ({ method: 'GET', path: '/v1/me', status: 200, headers: json, body: me, ...over });

describe('validateResponse accepts what the document describes', () => {
  it('a body that matches, with plain-object or WHATWG headers in any case', () => {
    ok(getMe());
    ok(getMe({ headers: new Headers(json) }));
    ok(getMe({ headers: { 'Content-Type': 'application/json', 'X-Request-Id': RID, 'CACHE-CONTROL': 'no-store' } }));
    ok(getMe({ method: 'get', path: '/v1/me?' }));
  });
  it('problems with their headers, and a 405 with Allow on a documented path', () => {
    ok(getMe({ status: 401, headers: { ...problemHeaders, 'www-authenticate': 'Bearer realm="safeguard"' }, body: problem('unauthorized', 401) }));
    ok(getMe({
      status: 401,
      headers: { ...problemHeaders, 'www-authenticate': 'Bearer realm="safeguard", error="invalid_token", error_description="the token has expired"' },
      body: problem('unauthorized', 401),
    }));
    ok({ method: 'DELETE', path: '/v1/token-revocations', status: 405, headers: { ...problemHeaders, allow: 'POST' }, body: problem('method-not-allowed', 405) });
    const errors = [{ field: 'limit', code: 'out_of_range', message: 'must be between 1 and 200' }];
    ok({ method: 'GET', path: '/v1/audit-events?limit=0', status: 400, headers: problemHeaders, body: problem('invalid-query', 400, { errors }) });
    ok({ method: 'GET', path: '/v1/audit-events?cursor=x', status: 400, headers: problemHeaders, body: problem('invalid-cursor', 400) });
    ok({ method: 'GET', path: '/readyz', status: 503, headers: { ...problemHeaders, 'retry-after': '2' }, body: problem('not-ready', 503) });
  });
  it('a list page, with Link exactly when next_cursor is set', () => {
    ok({ method: 'GET', path: '/v1/audit-events?limit=1', status: 200, headers: json, body: { items: [event], next_cursor: null } });
    ok({
      method: 'GET', path: '/v1/audit-events?limit=1', status: 200,
      headers: { ...json, link: '</v1/audit-events?limit=1&cursor=c1.abc>; rel="next"' },
      body: { items: [event], next_cursor: 'c1.abc' },
    });
    ok({
      method: 'GET', path: '/v1/agencies', status: 200, headers: json,
      body: { items: [{ code: 'csc', name: "Children's social care", description: 'x' }], next_cursor: null },
    });
  });
  it('text/plain metrics, a created revocation and its replay, a 304 without a body', () => {
    ok({ method: 'GET', path: '/metrics', status: 200, headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'x-request-id': RID }, body: '# HELP x\n' });
    const revocation = { jti: 'j1', agency: null, revoked_at: '2026-11-22T10:00:00Z', revoked_by: 'root' };
    ok({ method: 'POST', path: '/v1/token-revocations', status: 201, headers: json, body: revocation });
    ok({ method: 'POST', path: '/v1/token-revocations', status: 201, headers: { ...json, 'idempotent-replayed': 'true' }, body: revocation });
    ok({ method: 'POST', path: '/v1/token-revocations', status: 200, headers: json, body: revocation });
    ok({ method: 'GET', path: '/v1/children/6f1c2d3e-4b5a-4c6d-8e7f-a0b1c2d3e4f5', status: 304, headers: { 'x-request-id': RID, 'cache-control': 'no-store', etag: '"v3"' } });
  });
});

describe('validateResponse rejects what the document does not describe', () => {
  it('a missing required field, an extra property, a wrong type or value', () => {
    const { sub, ...noSub } = me;
    bad(getMe({ body: noSub }), /must have required property 'sub'/);
    bad(getMe({ body: { ...me, admin: true } }), /must NOT have additional properties \(admin\)/);
    bad(getMe({ body: { ...me, roles: [] } }), /roles must NOT have fewer than 1 items/);
    bad(getMe({ body: { ...me, agency: 'mi5' } }), /agency must be equal to one of the allowed values/);
    bad(getMe({ body: { ...me, expires_at: '2026-11-22T11:00:00+01:00' } }), /expires_at must match pattern/);
    bad(getMe({ body: JSON.stringify(me) }), /not parsed as JSON/);
  });
  it('an undocumented status, an unknown operation, a method the path does not answer', () => {
    bad(getMe({ status: 418 }), /status 418 is not documented for GET \/v1\/me/);
    bad(getMe({ path: '/v1/nothing' }), /no such operation/);
    bad(getMe({ path: '/v1/me/extra' }), /no such operation/);
    bad(getMe({ method: 'POST' }), /no such operation.*answers GET/);
  });
  it('a content type the response does not list, or a body where none is documented', () => {
    bad(getMe({ headers: { ...json, 'content-type': 'text/html' } }), /content type "text\/html" is not one of application\/json/);
    bad(getMe({ headers: { ...json, 'content-type': undefined } }), /content type "" is not one of/);
    bad(getMe({ status: 404, headers: json, body: problem('not-found', 404) }), /content type .* is not one of application\/problem\+json/);
    bad({ method: 'GET', path: '/v1/children/x', status: 304, headers: { 'x-request-id': RID, 'cache-control': 'no-store', etag: '"v1"' }, body: me }, /a body .* where none is documented/);
  });
  it('a missing or malformed required header', () => {
    bad(getMe({ headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } }), /required header X-Request-Id is missing/);
    bad(getMe({ headers: { ...json, 'x-request-id': 'r r' } }), /header X-Request-Id: "r r" does not match/);
    bad(getMe({ headers: { ...json, 'x-request-id': 'r'.repeat(65) } }), /header X-Request-Id: "r+" does not match/);
    bad(getMe({ headers: { ...json, 'cache-control': undefined } }), /required header Cache-Control is missing/);
    bad(getMe({ headers: { ...json, 'cache-control': 'private' } }), /header Cache-Control: "private" does not match/);
    bad(getMe({ status: 401, headers: problemHeaders, body: problem('unauthorized', 401) }), /required header WWW-Authenticate is missing/);
    bad(getMe({ status: 429, headers: problemHeaders, body: problem('rate-limited', 429) }), /required header Retry-After is missing/);
    bad({ method: 'DELETE', path: '/v1/token-revocations', status: 405, headers: problemHeaders, body: problem('method-not-allowed', 405) }, /required header Allow is missing/);
    bad({ method: 'DELETE', path: '/v1/token-revocations', status: 405, headers: { ...problemHeaders, allow: 'GET, POST' }, body: problem('method-not-allowed', 405) }, /Allow "GET, POST" is not the documented methods POST/);
    bad({ method: 'POST', path: '/v1/token-revocations', status: 201, headers: { ...json, 'idempotent-replayed': 'yes' }, body: { jti: 'j', revoked_at: '2026-11-22T10:00:00Z', revoked_by: 'r' } }, /Idempotent-Replayed/);
  });
  it('HEAD as GET without a body, and HEAD in the Allow of a path with GET', () => {
    ok({ method: 'HEAD', path: '/v1/me', status: 200, headers: json });
    ok({ method: 'HEAD', path: '/v1/children/x', status: 304, headers: { 'x-request-id': RID, 'cache-control': 'no-store', etag: '"v1"' } });
    bad({ method: 'HEAD', path: '/v1/me', status: 200, headers: json, body: me }, /a HEAD answer has a body/);
    bad({ method: 'HEAD', path: '/v1/me', status: 200, headers: { ...json, 'x-request-id': undefined } }, /required header X-Request-Id is missing/);
    bad({ method: 'HEAD', path: '/v1/token-revocations', status: 200, headers: json }, /no such operation/);
    ok({ method: 'DELETE', path: '/v1/me', status: 405, headers: { ...problemHeaders, allow: 'GET, HEAD' }, body: problem('method-not-allowed', 405) });
    bad({ method: 'DELETE', path: '/v1/me', status: 405, headers: { ...problemHeaders, allow: 'GET' }, body: problem('method-not-allowed', 405) }, /Allow "GET" is not the documented methods/);
  });
  it('a problem of the wrong kind, status or request id, or without its errors', () => {
    bad(getMe({ status: 404, headers: problemHeaders, body: problem('forbidden', 404) }), /type must be equal to constant/);
    bad(getMe({ status: 404, headers: problemHeaders, body: { ...problem('not-found', 404), type: 'about:blank' } }), /type must be equal to one of the allowed values/);
    bad(getMe({ status: 404, headers: problemHeaders, body: problem('not-found', 403) }), /status must be equal to constant/);
    bad(getMe({ status: 404, headers: problemHeaders, body: problem('not-found', 404, { request_id: 'f'.repeat(32) }) }), /request_id .* is not the X-Request-Id/);
    bad(getMe({ status: 404, headers: problemHeaders, body: { ...problem('not-found', 404), stack: 'at foo()' } }), /additional properties \(stack\)/);
    bad(getMe({ status: 400, headers: problemHeaders, body: problem('validation-failed', 400) }), /must have required property 'errors'/);
    bad(getMe({ status: 400, headers: problemHeaders, body: problem('invalid-json', 400, { errors: [{ field: 'a', code: 'b', message: 'c' }] }) }), /type must be equal to one of the allowed values/);
    bad(getMe({ status: 400, headers: problemHeaders, body: problem('invalid-query', 400, { errors: [{ field: 'a', code: 'b' }] }) }), /must have required property 'message'/);
  });
  it('a list page whose Link and next_cursor disagree', () => {
    const page = { method: 'GET', path: '/v1/audit-events?limit=1', status: 200 };
    bad({ ...page, headers: json, body: { items: [event], next_cursor: 'c1.abc' } }, /there is no Link/);
    bad({ ...page, headers: { ...json, link: '</v1/audit-events?cursor=c1.abc>; rel="next"' }, body: { items: [event], next_cursor: null } }, /on the last page/);
    bad({ ...page, headers: { ...json, link: '</v1/audit-events?cursor=c1.xyz>; rel="next"' }, body: { items: [event], next_cursor: 'c1.abc' } }, /cursor=next_cursor/);
    bad({ ...page, headers: { ...json, link: '</v1/me?cursor=c1.abc>; rel="next"' }, body: { items: [event], next_cursor: 'c1.abc' } }, /does not name the requested path/);
    bad({ ...page, headers: json, body: { items: [{ ...event, outcome: 'maybe' }], next_cursor: null } }, /outcome must be equal to one of the allowed values/);
    bad({ ...page, headers: json, body: { items: [event] } }, /must have required property 'next_cursor'/);
  });
});

describe('the document keeps the shared conventions', () => {
  const doc = YAML.parse(readFileSync(DOCUMENT, 'utf8'));
  const deref = (o) => { while (o?.$ref) o = o.$ref.slice(2).split('/').reduce((a, k) => a[k], doc); return o; };
  const ops = Object.entries(doc.paths).flatMap(([p, item]) => Object.entries(item)
    .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
    .map(([m, op]) => ({ name: `${m.toUpperCase()} ${p}`, path: p, method: m, op, params: [...(item.parameters ?? []), ...(op.parameters ?? [])].map(deref) })));

  it('has the routes of the contract, and operations() lists every one', () => {
    for (const route of ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /v1/me', 'GET /v1/agencies', 'GET /v1/audit-events', 'POST /v1/token-revocations']) {
      assert.ok(operations().includes(route), route);
    }
    assert.deepEqual([...operations()].sort(), ops.map((o) => o.name).sort());
  });
  it('gives every response X-Request-Id, and every /v1 response Cache-Control: no-store', () => {
    for (const { name, path, op } of ops) {
      for (const [status, r] of Object.entries(op.responses)) {
        const headers = deref(r).headers ?? {};
        assert.ok(deref(headers['X-Request-Id'])?.required, `${name} ${status}: X-Request-Id`);
        if (path.startsWith('/v1/')) assert.ok(deref(headers['Cache-Control'])?.required, `${name} ${status}: Cache-Control`);
      }
    }
  });
  it('documents the problems every /v1 route may answer, with their headers', () => {
    const always = ['400', '401', '403', '404', '405', '413', '415', '429', '500', '503'];
    const need = { 401: 'WWW-Authenticate', 405: 'Allow', 429: 'Retry-After', 503: 'Retry-After' };
    for (const { name, path, method, op } of ops) {
      if (path.startsWith('/v1/')) {
        for (const s of [...always, ...(method === 'post' ? ['409', '422'] : [])]) assert.ok(op.responses[s], `${name} documents ${s}`);
      }
      for (const [s, h] of Object.entries(need)) {
        if (op.responses[s]) assert.ok(deref(deref(op.responses[s]).headers?.[h])?.required, `${name} ${s} has ${h}`);
      }
      for (const [s, r] of Object.entries(op.responses)) {
        if (Number(s) >= 400) assert.ok(deref(r).content?.['application/problem+json'], `${name} ${s} is a problem`);
      }
    }
  });
  it('pages every list with limit and cursor, documents its Link header, and names its item type directly', () => {
    let lists = 0;
    for (const { name, op, params } of ops) {
      const schema = op.responses['200'] && deref(deref(op.responses['200']).content?.['application/json']?.schema);
      if (!schema?.properties?.items || !schema.properties.next_cursor) continue;
      lists++;
      // what a client generator reads: items.items, not an allOf narrowing a shared envelope
      const { items } = schema.properties;
      assert.equal(items.type, 'array', `${name}: items is an array`);
      assert.ok(items.items?.$ref || items.items?.oneOf || items.items?.type, `${name}: items names its item type`);
      assert.equal(schema.additionalProperties, false, `${name}: the envelope is closed`);
      if (schema.properties.next_cursor.type === 'null') continue; // one page by design: no limit, cursor or Link
      assert.ok(params.some((p) => p.name === 'limit' && p.schema.minimum === 1 && p.schema.maximum === 200), `${name}: limit 1..200`);
      assert.ok(params.some((p) => p.name === 'cursor'), `${name}: cursor`);
      assert.ok(deref(op.responses['200']).headers?.Link, `${name}: Link`);
    }
    assert.ok(lists >= 20, `${lists} lists found`);
  });
  it('narrows no shared schema with allOf in a response (generators ignore the narrowing)', () => {
    const narrowed = [];
    const walk = (node, where) => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`));
      if (!node || typeof node !== 'object') return;
      if (Array.isArray(node.allOf) && node.allOf.some((b) => b.$ref) && node.allOf.some((b) => b.properties?.items)) narrowed.push(where);
      for (const [k, v] of Object.entries(node)) if (k !== 'example' && k !== 'examples') walk(v, `${where}/${k}`);
    };
    walk(doc.paths, '#/paths');
    walk(doc.components.schemas, '#/components/schemas');
    assert.deepEqual(narrowed, []);
  });
  it('closes every object schema of its own (additionalProperties or unevaluatedProperties false)', () => {
    const schemas = doc.components.schemas;
    // a base of shared fields may stay open when every schema built on it closes itself
    const closedUsers = (name) => Object.values(schemas).filter((s) => s.allOf?.some((b) => b.$ref === `#/components/schemas/${name}`));
    const open = [];
    // closed: the node sits in the allOf of a schema with unevaluatedProperties: false
    const walk = (node, where, closed = false) => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`, closed));
      if (!node || typeof node !== 'object') return;
      if (!closed && node.type === 'object' && node.properties && node.additionalProperties !== false && node.unevaluatedProperties !== false) open.push(where);
      for (const [k, v] of Object.entries(node)) {
        if (k !== 'example' && k !== 'examples') walk(v, `${where}/${k}`, k === 'allOf' && node.unevaluatedProperties === false);
      }
    };
    for (const [name, s] of Object.entries(schemas)) {
      const users = closedUsers(name);
      if (users.length && users.every((u) => u.unevaluatedProperties === false)) continue;
      walk(s, `#/components/schemas/${name}`);
    }
    walk(doc.paths, '#/paths');
    assert.deepEqual(open, []);
  });
  it('describes the bearer scheme and every problem type in the introduction', () => {
    assert.equal(doc.openapi, '3.1.0');
    // relative: the document names whichever address serves it (any port, http or https)
    assert.deepEqual(doc.servers.map((s) => s.url), ['/']);
    const bearer = doc.components.securitySchemes.bearer;
    assert.equal(bearer.scheme, 'bearer');
    for (const word of ['RS256', 'ES256', 'kid', 'iss', 'aud', 'sub', 'exp', 'iat', 'agency', 'roles']) assert.match(bearer.description, new RegExp(word));
    for (const type of doc.components.schemas.Problem.properties.type.enum) assert.ok(doc.info.description.includes(`\`${type}\``), type);
  });
});

describe('check-routes.mjs', () => {
  const tool = fileURLToPath(new URL('./check-routes.mjs', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'routes-'));
  const run = (lines) => {
    const file = join(dir, `routes-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(file, lines.join('\n') + '\n');
    return spawnSync(process.execPath, [tool, file], { encoding: 'utf8' });
  };
  it('passes with a one-line summary when the routes are the documented operations', () => {
    const r = run([...operations()].reverse());
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^routes match openapi\.yaml: \d+ operations\n$/);
  });
  it('is an error (exit 2) without a readable route list, or with an empty one', () => {
    const missing = spawnSync(process.execPath, [tool, join(dir, 'none')], { encoding: 'utf8' });
    assert.equal(missing.status, 2);
    assert.equal(spawnSync(process.execPath, [tool], { encoding: 'utf8' }).status, 2);
    assert.equal(run([]).status, 2);
    assert.equal(run(['GET']).status, 2, 'a line that is not METHOD /path');
  });
  it('fails and names both differences', () => {
    const r = run([...operations().slice(1), 'GET /v1/secret']);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /routed but not in openapi\.yaml: GET \/v1\/secret/);
    assert.match(r.stdout, new RegExp(`in openapi\\.yaml but not routed: ${operations()[0].replace(/[/{}]/g, '\\$&')}`));
  });
  it('fails on a route listed twice', () => {
    const r = run([...operations(), operations()[0]]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /routed twice/);
  });
});
