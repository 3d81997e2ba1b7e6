// The response validator itself must be able to fail: wrong bodies, wrong
// statuses, wrong content types and missing headers are all caught.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateResponse, operations } from '../api/lib/openapi.mjs';

const json = { 'content-type': 'application/json', 'x-request-id': 'r', 'cache-control': 'no-store' };
const me = { sub: 'a', agency: 'police', roles: ['practitioner'], issued_at: '2026-01-01T00:00:00Z', expires_at: '2026-01-01T01:00:00Z' };

describe('the OpenAPI response validator', () => {
  it('accepts a body that matches', () => {
    validateResponse({ method: 'GET', path: '/v1/me', status: 200, headers: json, body: me });
  });
  it('rejects a missing required field', () => {
    assert.throws(() => validateResponse({ method: 'GET', path: '/v1/me', status: 200, headers: json, body: { ...me, sub: undefined } }), /sub/);
  });
  it('rejects an extra property', () => {
    assert.throws(() => validateResponse({ method: 'GET', path: '/v1/me', status: 200, headers: json, body: { ...me, admin: true } }), /admin/);
  });
  it('rejects an undocumented status and an unknown operation', () => {
    assert.throws(() => validateResponse({ method: 'GET', path: '/v1/me', status: 418, headers: json, body: me }), /not documented/);
    assert.throws(() => validateResponse({ method: 'GET', path: '/v1/nothing', status: 200, headers: json, body: me }), /no such operation/);
  });
  it('rejects the wrong content type and a missing required header', () => {
    assert.throws(() => validateResponse({ method: 'GET', path: '/v1/me', status: 200, headers: { ...json, 'content-type': 'text/html' }, body: me }), /content type/);
    assert.throws(() => validateResponse({ method: 'GET', path: '/v1/me', status: 200, headers: { 'content-type': 'application/json' }, body: me }), /X-Request-Id/);
  });
  it('matches path templates and validates problems', () => {
    const problem = { type: '/problems/not-found', title: 'Not Found', status: 404, detail: 'x', request_id: 'r' };
    validateResponse({ method: 'GET', path: '/v1/children/123?x=1', status: 404, headers: { ...json, 'content-type': 'application/problem+json' }, body: problem });
    assert.throws(() => validateResponse({ method: 'GET', path: '/v1/children/123', status: 404, headers: { ...json, 'content-type': 'application/problem+json' }, body: { ...problem, type: 'about:blank' } }), /type/);
    assert.ok(operations().includes('GET /v1/children/{id}'));
  });
});
