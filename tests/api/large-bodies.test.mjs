// large-bodies.test.mjs - answers of 32 KB and more leave the worker in
// FastCGI records of up to 64 KB that it writes itself (core/worker.c),
// not through libfcgi's stream.  Bodies spanning one, two and many records
// must arrive whole and exact, with their Content-Length, compressed or
// not; HEAD sends the length and no body; a client that leaves in the
// middle of one costs nothing but that answer.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { BASE, request } from './lib/client.mjs';
import { who, ok, today } from './lib/panels.mjs';

async function crashes() {
  const res = await request('GET', '/metrics');
  const m = /^safeguard_worker_restarts_total\{cause="crash"\} (\d+)$/m.exec(res.text);
  assert.ok(m, 'the crash counter is exported');
  return Number(m[1]);
}

// The raw answer to a GET: {head, body} as bytes on the wire.
function raw(path, token, extra = '') {
  const { hostname, port } = new URL(BASE);
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.connect(Number(port), hostname, () => s.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n`
      + `Authorization: Bearer ${token}\r\nConnection: close\r\n${extra}\r\n`));
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => {
      const all = Buffer.concat(chunks);
      const at = all.indexOf('\r\n\r\n');
      resolve({ head: all.subarray(0, at).toString(), body: all.subarray(at + 4) });
    });
    s.on('error', reject);
  });
}

describe('large answers', () => {
  const lead = who('health', 'safeguarding_lead');
  let child;
  before(async () => {
    // one child with enough long entries that its chronology page runs to
    // several records: 150 entries of about 2 KB each
    child = (await ok('POST', '/v1/children', lead, { first_name: 'Large', last_name: 'Answer', date_of_birth: '2011-02-03' }, 201)).body;
    const long = 'A long account of what happened, kept in full. '.repeat(36);
    await Promise.all(Array.from({ length: 150 }, (_, i) => ok('POST', '/v1/chronology-entries', lead, {
      child_ids: [child.id], event_date: today(-200 + i), date_precision: 'day', category: 'home_visit',
      summary: `visit ${i}`, details: long, impact: 'neutral', significance: 'low', action_taken: 'recorded',
    }, 201)));
  });

  it('bodies of one record, two records and many arrive whole, with their exact Content-Length', async () => {
    for (const limit of [20, 40, 150]) {
      const path = `/v1/children/${child.id}/chronology?limit=${limit}`;
      const res = await ok('GET', path, lead);
      assert.equal(res.body.items.length, limit);
      assert.deepEqual(res.body.items.map((e) => e.summary), Array.from({ length: limit }, (_, i) => `visit ${i}`));
      const { head, body } = await raw(path, lead);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
      assert.equal(body.length, length, `limit ${limit}: the bytes sent are the length announced`);
      // the same document but for the next page's cursor, sealed afresh each time (a new nonce, the same length)
      const unsealed = (t) => t.replace(/"next_cursor":"s1\.[A-Za-z0-9_-]+"/, '"next_cursor":"s1.*"');
      assert.equal(unsealed(body.toString()), unsealed(res.text));
      if (limit < 150) assert.notEqual(unsealed(res.text), res.text, 'a next cursor');
      if (limit === 20) assert.ok(length < 65528, `${length}`);
      if (limit === 40) assert.ok(length > 65528 && length < 2 * 65528, `${length}`);
      if (limit === 150) assert.ok(length > 4 * 65528, `${length}`);
    }
  });

  it('compressed by nginx, the same document', async () => {
    const path = `/v1/children/${child.id}/chronology?limit=150`;
    const plain = await ok('GET', path, lead);
    const { head, body } = await raw(path, lead, 'Accept-Encoding: gzip\r\n');
    assert.match(head, /content-encoding: gzip/i);
    // chunked: take the chunks' data
    let data = Buffer.alloc(0);
    for (let at = 0; at < body.length;) {
      const eol = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, eol).toString(), 16);
      if (!size) break;
      data = Buffer.concat([data, body.subarray(eol + 2, eol + 2 + size)]);
      at = eol + 2 + size + 2;
    }
    assert.equal(gunzipSync(data).toString(), plain.text);
  });

  it('HEAD of a large answer: its length, no body', async () => {
    const path = `/v1/children/${child.id}/chronology?limit=150`;
    const get = await ok('GET', path, lead);
    const head = await request('HEAD', path, { token: lead, validate: false, headers: { 'Accept-Encoding': 'identity' } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(get.text)));
    assert.equal(head.text, '');
  });

  it('clients that leave in the middle of a large answer cost no worker, and the next answers are whole', async () => {
    const before0 = await crashes();
    const { hostname, port } = new URL(BASE);
    const path = `/v1/children/${child.id}/chronology?limit=150`;
    await Promise.all(Array.from({ length: 24 }, () => new Promise((resolve) => {
      const s = net.connect(Number(port), hostname, () => s.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n`
        + `Authorization: Bearer ${lead}\r\n\r\n`));
      // gone after the first bytes
      s.once('data', () => { s.destroy(); resolve(); });
      s.on('error', resolve);
    })));
    const after = await Promise.all(Array.from({ length: 8 }, () => ok('GET', path, lead)));
    for (const res of after) assert.equal(res.body.items.length, 150);
    assert.equal(await crashes(), before0, 'no worker crashed');
  });
});
