// contract.test.mjs - the contract as a client reads it from a running
// instance: /openapi.yaml names the address that serves it (any port or
// scheme), and every problem `type` resolves, on the same host, to the page
// that explains it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { BASE } from './lib/client.mjs';
import { DOCUMENT } from './lib/openapi.mjs';

const doc = YAML.parse(readFileSync(DOCUMENT, 'utf8'));

describe('the served document', () => {
  it('names a server relative to wherever it is served, so a client built from it calls this instance', async () => {
    const res = await fetch(`${BASE}/openapi.yaml`);
    assert.equal(res.status, 200);
    const served = YAML.parse(await res.text());
    assert.deepEqual(served.servers.map((s) => s.url), ['/']);
    // resolved against the document's own URL, the server is this instance
    assert.equal(new URL(served.servers[0].url, `${BASE}/openapi.yaml`).href, `${BASE}/`);
  });
});

describe('problem types resolve to their explanation', () => {
  const types = doc.components.schemas.Problem.properties.type.enum;
  let page;

  it('serves the problems page', async () => {
    const res = await fetch(`${BASE}/docs/problems.html`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.match(res.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
    page = await res.text();
    assert.match(page, /<h1>Problems and error codes<\/h1>/);
    assert.ok(!/(src|href)="https?:\/\//.test(page), 'nothing loaded from elsewhere');
  });

  it('redirects every documented type to its section of the page, on the same host', async () => {
    assert.ok(types.length > 20);
    for (const type of types) {
      const res = await fetch(new URL(type, `${BASE}/v1/children`), { redirect: 'manual' });
      assert.equal(res.status, 302, type);
      const slug = type.slice('/problems/'.length);
      assert.equal(res.headers.get('location'), `/docs/problems.html#${slug}`, type);
      assert.ok(page.includes(`<section id="${slug}">`), `${type} has a section`);
    }
  });

  it('explains every error code', () => {
    for (const code of doc.components.schemas.FieldError.properties.code.enum) {
      assert.ok(page.includes(`<tr id="code-${code}">`), code);
    }
  });

  it('answers anything else under /problems/ as not found', async () => {
    for (const path of ['/problems/', '/problems/Not_A_Type', '/problems/a/b']) {
      const res = await fetch(`${BASE}${path}`, { redirect: 'manual' });
      assert.equal(res.status, 404, path);
      assert.equal((await res.json()).type, '/problems/not-found', path);
    }
  });
});
