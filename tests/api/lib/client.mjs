// client.mjs - the suites' HTTP client.  Every response is validated against
// the OpenAPI document unless a test says otherwise, so every body the suites
// see is checked against the contract.  Also: psql for database assertions
// and sh for the repository's scripts.
import { execFileSync, execSync } from 'node:child_process';
import { validateResponse } from './openapi.mjs';

const BASE = process.env.SG_BASE_URL || 'http://127.0.0.1:18080';

export async function request(method, path, { token, body, rawBody, headers = {}, validate = true } = {}) {
  const h = { ...headers };
  if (token !== undefined && token !== null) h.Authorization = `Bearer ${token}`;
  let payload = rawBody;
  if (body !== undefined && rawBody === undefined) {
    payload = JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
  }
  const res = await fetch(BASE + path, { method, headers: h, body: payload, redirect: 'manual' });
  const text = await res.text();
  const ctype = res.headers.get('content-type') || '';
  let parsed = text;
  if (/json/.test(ctype) && text) parsed = JSON.parse(text);
  if (validate) validateResponse({ method, path, status: res.status, headers: res.headers, body: res.status === 304 || !text ? undefined : parsed });
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, opts) => request('POST', path, opts);
export const patch = (path, opts) => request('PATCH', path, opts);
export const del = (path, opts) => request('DELETE', path, opts);

// One SQL script through psql as the database's administrator; its output, trimmed.
export function psql(sql) {
  return execFileSync('psql', [process.env.DATABASE_URL_ADMIN, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
}

export function sh(cmd) {
  return execSync(cmd, { cwd: process.env.SG_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
