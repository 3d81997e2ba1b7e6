// client.mjs - the suites' HTTP client, plus psql and sh.
//
//   request(method, path, {token, body, rawBody, headers, validate = true})
//     -> {status, headers, body, text}
//
// `body` is sent as JSON (Content-Type application/json unless a header says
// otherwise); `rawBody` (string or Buffer) is sent as is.  The answer's body is
// parsed when its media type is JSON (application/json, application/problem+json
// or any +json); otherwise it is the text.  Unless `validate: false`, every
// response is checked against openapi/openapi.yaml, so every body the suites
// see is checked against the contract.
import http from 'node:http';
import { execFileSync, execSync } from 'node:child_process';
import { validateResponse } from './openapi.mjs';

export const BASE = process.env.SG_BASE_URL || 'http://127.0.0.1:18080';

const isJson = (ctype) => /^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i.test(ctype);

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
  if (text && isJson(ctype)) {
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new Error(`${method} ${path} -> ${res.status}: ${ctype} body is not JSON (${e.message}): ${text.slice(0, 300)}`);
    }
  }
  if (validate) {
    validateResponse({ method, path, status: res.status, headers: res.headers, body: res.status === 304 || !text ? undefined : parsed });
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

// A request through node:http, for the methods fetch() refuses (TRACE):
// { status, headers, text }, never validated (nginx's own answers).
export function rawRequest(method, path, token) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${BASE}${path}`, { method, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, opts) => request('POST', path, opts);
export const patch = (path, opts) => request('PATCH', path, opts);
export const del = (path, opts) => request('DELETE', path, opts);

// Runs SQL through psql as the test database's administrator and returns its
// unaligned, tuples-only output, trimmed.  Throws (with psql's stderr in the
// message) when a statement fails.
export function psql(sql) {
  try {
    return execFileSync('psql', [process.env.DATABASE_URL_ADMIN, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (e) {
    throw new Error(`psql failed: ${(e.stderr || e.message).trim()}`);
  }
}

// Runs a shell command from the repository root; its stdout.
export function sh(cmd, { env } = {}) {
  return execSync(cmd, {
    cwd: process.env.SG_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
}
