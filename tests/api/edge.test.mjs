// The edge (nginx) with requests fetch cannot send, over raw sockets: errors
// nginx finds while reading the request line or the framing (a NUL or ".."
// above the root in the path, a lower-case method, a request line over 32 KB,
// a Transfer-Encoding it does not know, an HTTP version it does not serve,
// junk, plain HTTP on the HTTPS port) answer a problem+json like every other
// answer, never nginx's HTML pages (issue 8, finding 8).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rs256 } from './lib/tokens.mjs';

const base = new URL(process.env.SG_BASE_URL || 'http://127.0.0.1:18080');
const tlsPort = () => Number(Object.fromEntries(readFileSync(join(process.env.SG_VAR, 'instance.env'), 'utf8')
  .trim().split('\n').map((l) => l.split('=')))['TLS_PORT']);

// Sends exactly these bytes and reads one response: the status line, the
// headers (names in lower case) and a body of Content-Length bytes (or up to
// the close).
function raw(bytes, { port = Number(base.port), timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: base.hostname, port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) return reject(err);
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no complete response head: ${JSON.stringify(text.slice(0, 300))}`));
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine);
      if (!m) return reject(new Error(`not an HTTP/1.x status line: ${JSON.stringify(statusLine)}`));
      resolve({ status: Number(m[1]), statusLine, headers, text: buf.subarray(end + 4).toString('utf8') });
    };
    const timer = setTimeout(() => finish(buf.length ? undefined : new Error('no answer in time')), timeout);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
      if (len && buf.length >= end + 4 + Number(len[1])) finish();
    });
    sock.on('end', () => finish());
    sock.on('error', (e) => (buf.length ? finish() : finish(e)));
    sock.write(bytes);
  });
}

// An RFC 9457 problem with the status on the status line and in the body.
function problem(res, status, type, what) {
  const where = `${what}: ${res.statusLine} ${res.headers['content-type'] ?? ''} ${res.text.slice(0, 200)}`;
  assert.equal(res.status, status, where);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json(;|$)/, where);
  let body;
  assert.doesNotThrow(() => { body = JSON.parse(res.text); }, where);
  assert.equal(body.type, `/problems/${type}`, where);
  assert.equal(body.status, status, where);
  assert.equal(typeof body.title, 'string', where);
  assert.ok(body.detail && typeof body.detail === 'string', where);
  assert.equal(body.request_id, res.headers['x-request-id'], where);
  assert.equal(res.headers['cache-control'], 'no-store', where);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', where);
  return body;
}

const get = (target, extra = '') => `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;

describe('the edge: malformed requests answer problem+json (issue 8, finding 8)', () => {
  const cases = {
    'a NUL (%00) in the path': [get('/v1/me%00'), 400, 'invalid-request'],
    'a NUL (%00) inside an id': [get('/v1/children/%00abc', `Authorization: Bearer ${rs256()}\r\n`), 400, 'invalid-request'],
    'a path that climbs above the root': [get('/v1/../../etc/passwd'), 400, 'invalid-request'],
    'a lower-case method': ['get /v1/me HTTP/1.1\r\nHost: localhost\r\n\r\n', 400, 'invalid-request'],
    'a mixed-case method': ['Post /v1/token-revocations HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n', 400, 'invalid-request'],
    'a request line over 32 KB': [get(`/v1/${'a'.repeat(33 * 1024)}`), 400, 'headers-too-large'],
    'a query string that makes the request line over 32 KB': [get(`/v1/me?q=${'a'.repeat(40 * 1024)}`), 400, 'headers-too-large'],
    'Transfer-Encoding: gzip': [
      'POST /v1/token-revocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n',
      400, 'invalid-request'],
    'Transfer-Encoding: chunked, chunked': [
      'POST /v1/token-revocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n',
      400, 'invalid-request'],
    'Transfer-Encoding with Content-Length': [
      'POST /v1/token-revocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
      400, 'invalid-request'],
    'a malformed chunk size': [
      'POST /v1/token-revocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n',
      400, 'invalid-request'],
    'HTTP/2.0 in the request line': ['GET /v1/me HTTP/2.0\r\nHost: localhost\r\n\r\n', 400, 'invalid-request'],
    'HTTP/1.1 without Host': ['GET /v1/me HTTP/1.1\r\n\r\n', 400, 'invalid-request'],
    'a header name with a space': [get('/v1/me', 'Bad Header: x\r\n'), 400, 'invalid-request'],
    'two Host headers': [get('/v1/me', 'Host: other\r\n'), 400, 'invalid-request'],
    'binary junk instead of a request line': ['\x00\x01\x02junk\r\n\r\n', 400, 'invalid-request'],
    'headers over 32 KB': [get('/v1/me', `X-Padding: ${'p'.repeat(33 * 1024)}\r\n`), 400, 'headers-too-large'],
  };

  for (const [name, [bytes, status, type]] of Object.entries(cases)) {
    it(`${name} answers ${status} ${type}`, async () => {
      problem(await raw(bytes), status, type, name);
    });
  }

  it('the reason is in the detail (Transfer-Encoding, HTTP version, request line)', async () => {
    assert.match(problem(await raw(cases['Transfer-Encoding: gzip'][0]), 400, 'invalid-request', 'gzip').detail, /Transfer-Encoding/);
    assert.match(problem(await raw(cases['HTTP/2.0 in the request line'][0]), 400, 'invalid-request', 'HTTP/2.0').detail, /HTTP\/1\.1/);
    assert.match(problem(await raw(cases['a request line over 32 KB'][0]), 400, 'headers-too-large', 'long').detail, /request line/);
  });

  it('plain HTTP sent to the HTTPS port answers 400 invalid-request', async () => {
    problem(await raw(get('/healthz'), { port: tlsPort() }), 400, 'invalid-request', 'plain HTTP on the TLS port');
  });

  it('the problem pages themselves are not served: 404 not-found', async () => {
    for (const path of ['/_problem/400', '/_problem/500', '/_problem/429']) {
      problem(await raw(get(path)), 404, 'not-found', path);
    }
  });

  it('a well-formed request on the same port still reaches the API', async () => {
    const res = await raw(get('/v1/me', `Authorization: Bearer ${rs256()}\r\nConnection: close\r\n`));
    assert.equal(res.status, 200, res.text);
    assert.equal(JSON.parse(res.text).sub, 'alice');
  });
});
