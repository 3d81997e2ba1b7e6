// The delta sync's sealed cursor and its keys (api/input/cursor.c): the pool
// refuses to start without a good key file, and a key rotated by SIGHUP
// keeps the cursors devices hold while the old key stays listed, and only
// then.  (These tests rewrite the instance's key file and reload the pool;
// they restore both.)
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import { checkConfig, poolMaster, poolWorkers } from './lib/stack.mjs';
import { cursorKeyFile, openCursor } from './lib/sealed-cursor.mjs';

const master = poolMaster;
const workers = poolWorkers;
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// SIGHUP, then wait until every worker is a new one (they hold the keys)
async function reload() {
  const before = workers();
  process.kill(master(), 'SIGHUP');
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    const now = workers();
    if (now.length >= before.length && now.every((w) => !before.includes(w))) return;
  }
  assert.fail('the workers were not replaced');
}

const changes = async (token, cursor) => request('GET', `/v1/changes?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });

describe('the cursor key file', () => {
  it('the pool refuses to start without one, or with one it cannot use, and names the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-cursor-'));
    const file = (name, text) => { const p = join(dir, name); writeFileSync(p, text); return p; };
    const check = (keyFile) => checkConfig({ SG_CURSOR_KEY_FILE: keyFile });
    const long = (c) => c.repeat(40);
    for (const [keyFile, reason] of [
      [undefined, /SG_CURSOR_KEY_FILE must be set/],
      ['', /SG_CURSOR_KEY_FILE must be set/],
      [join(dir, 'missing'), /cannot read the cursor key file .*missing/],
      [file('empty', ''), /holds no secret/],
      [file('blank', '\n\n'), /holds no secret/],
      [file('short', 'only-thirty-one-characters-long\n'), /at least 32 characters/],
      [file('five', `${[1, 2, 3, 4, 5].map((i) => long(String(i))).join('\n')}\n`), /1 to 4 secrets/],
    ]) {
      const out = check(keyFile);
      assert.equal(out.status, 1, `${keyFile} was accepted`);
      assert.match(out.stderr + out.stdout, /refusing to start/);
      assert.match(out.stderr + out.stdout, reason, String(keyFile));
    }
    for (const text of [`${'x'.repeat(32)}\n`, long('a'), `${long('a')}\r\n\n${long('b')}\n`, [1, 2, 3, 4].map((i) => long(String(i))).join('\n')]) {
      const out = check(file(`good-${randomUUID()}`, text));
      assert.equal(out.status, 0, `${JSON.stringify(text)}: ${out.stderr}`);
    }
  });
});

describe('a key rotated by SIGHUP', () => {
  const original = readFileSync(cursorKeyFile(), 'utf8');
  after(async () => {
    writeFileSync(cursorKeyFile(), original);
    await reload();
  });

  it('old cursors open while the old key is listed after the new one, and not after it is dropped', async () => {
    const me = tokenFor('district', 'practitioner', `rotate-${randomUUID().slice(0, 8)}`);
    const old = original.split('\n')[0].trim();
    const fresh = `rotated-${randomUUID()}`;
    const first = await changes(me);
    assert.equal(first.status, 200);
    const held = first.body.sync_cursor;
    assert.ok(openCursor(held, old), 'sealed with the key in force');
    // the new key first, the old one kept: the held cursor still works; new ones are sealed with the new key
    writeFileSync(cursorKeyFile(), `${fresh}\n${old}\n`);
    await reload();
    const during = await changes(me, held);
    assert.equal(during.status, 200, during.text);
    assert.ok(openCursor(during.body.sync_cursor, fresh), 'sealed with the new key');
    assert.equal(openCursor(during.body.sync_cursor, old), null);
    // the old key dropped: the held cursor is refused, the new one still works
    writeFileSync(cursorKeyFile(), `${fresh}\n`);
    await reload();
    const after2 = await changes(me, held);
    assert.equal(after2.status, 400);
    assert.equal(after2.body.type, '/problems/invalid-cursor');
    assert.equal((await changes(me, during.body.sync_cursor)).status, 200);
  });

  it('a reload with a bad key file is refused and the running keys stay', async () => {
    const me = tokenFor('district', 'practitioner', `badreload-${randomUUID().slice(0, 8)}`);
    const held = (await changes(me)).body.sync_cursor;
    const before = workers();
    writeFileSync(cursorKeyFile(), 'short\n');
    process.kill(master(), 'SIGHUP');
    await sleep(500);
    assert.deepEqual(workers().sort(), before.sort(), 'the workers were replaced on a bad key file');
    const res = await changes(me, held);
    assert.equal(res.status, 200, res.text);
    writeFileSync(cursorKeyFile(), original);
  });
});
