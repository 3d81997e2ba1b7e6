// Faults under load, each with what it proves:
//  - writes with Idempotency-Key from a client that retries until it has an
//    answer, while workers are killed again and again: every acknowledged
//    write is in the database exactly once, none twice;
//  - PostgreSQL restarted under load: nothing hangs past the limit, 503 with
//    Retry-After meanwhile, full recovery without restarting the pool, and
//    the same ledger check;
//  - SIGTERM: a request in flight completes;
//  - a client sending its body a byte at a time holds no worker.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { request, psql, sh } from './lib/client.mjs';
import { tokenFor, nhsNumber } from './lib/people.mjs';
import { poolMaster, poolWorkers } from './lib/stack.mjs';

const master = poolMaster;
const workers = poolWorkers;
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const LIMIT_MS = (Number(process.env.SG_REQUEST_TIMEOUT) + 2) * 1000;

// Creates a child, retrying with the same key until the API gives an answer
// that is not a transient failure.  Returns the final status.
async function writeWithRetries(token, nhs, log) {
  const key = `ledger-${nhs}`;
  const body = { first_name: 'Ledger', last_name: 'Entry', date_of_birth: '2014-02-02', nhs_number: nhs };
  for (let attempt = 0; attempt < 200; attempt++) {
    const start = Date.now();
    let res;
    try {
      res = await request('POST', '/v1/children', { token, body, headers: { 'Idempotency-Key': key }, validate: false });
    } catch {
      await sleep(50);
      continue;
    }
    log.push(Date.now() - start);
    if ([502, 503, 504, 409].includes(res.status)) {
      await sleep(res.status === 503 ? 200 : 30);
      continue;
    }
    return res.status;
  }
  return 0;
}

function ledgerCheck(acked) {
  const list = acked.map((n) => `'${n}'`).join(',');
  const rows = psql(`select nhs_number || ':' || count(*) from safeguard.children where nhs_number in (${list}) group by nhs_number`)
    .split('\n').filter(Boolean);
  assert.equal(rows.length, acked.length, 'every acknowledged write is in the database');
  for (const r of rows) assert.match(r, /:1$/, `written once: ${r}`);
}

describe('faults under load', () => {
  after(async () => {
    sh('bash db/pg.sh start test');
    sh('bash nginx/stack.sh up test');
  });

  it('loses and duplicates no write while workers are killed again and again', async () => {
    const token = tokenFor('police', 'practitioner', `ledger-${randomUUID()}`);
    const numbers = Array.from({ length: 300 }, () => nhsNumber());
    const latencies = [];
    let killing = true;
    let kills = 0;
    const killer = (async () => {
      while (killing) {
        const ws = workers();
        if (ws.length) {
          try {
            process.kill(ws[Math.floor(Math.random() * ws.length)], 'SIGKILL');
            kills++;
          } catch { /* already gone */ }
        }
        await sleep(25);
      }
    })();
    const statuses = [];
    for (let i = 0; i < numbers.length; i += 12) {
      statuses.push(...await Promise.all(numbers.slice(i, i + 12).map((n) => writeWithRetries(token, n, latencies))));
    }
    killing = false;
    await killer;
    assert.ok(kills > 10, `workers killed: ${kills}`);
    assert.deepEqual([...new Set(statuses)], [201]);
    ledgerCheck(numbers);
    assert.ok(Math.max(...latencies) < LIMIT_MS, 'no request hung');
  });

  it('survives a PostgreSQL restart under load: quick 503s, recovery without a pool restart, no lost write', async () => {
    const pid = master();
    const token = tokenFor('health', 'practitioner', `restart-${randomUUID()}`);
    const numbers = Array.from({ length: 60 }, () => nhsNumber());
    const latencies = [];
    const writes = (async () => {
      const out = [];
      for (let i = 0; i < numbers.length; i += 6) {
        out.push(...await Promise.all(numbers.slice(i, i + 6).map((n) => writeWithRetries(token, n, latencies))));
      }
      return out;
    })();
    await sleep(300);
    sh('bash db/pg.sh stop test');
    const down = await request('GET', '/v1/me', { token });
    assert.equal(down.status, 503);
    assert.ok(Number(down.headers.get('retry-after')) >= 1);
    await sleep(1500);
    sh('bash db/pg.sh start test');
    const statuses = await writes;
    assert.deepEqual([...new Set(statuses)], [201]);
    ledgerCheck(numbers);
    assert.ok(Math.max(...latencies) < LIMIT_MS, `slowest answer ${Math.max(...latencies)} ms`);
    assert.equal(master(), pid, 'the pool was not restarted');
  });

  it('lets a request in flight finish on SIGTERM', async () => {
    const token = tokenFor('police', 'practitioner', 'drain');
    const holder = spawn('psql', [process.env.DATABASE_URL_ADMIN, '-Xqc',
      'begin; lock table safeguard.agencies in access exclusive mode; select pg_sleep(1.5); commit;']);
    await sleep(400);
    const inflight = request('GET', '/v1/agencies', { token });
    await sleep(300);
    const pid = master();
    process.kill(pid, 'SIGTERM');
    const res = await inflight;
    holder.kill();
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, 9);
    for (let i = 0; i < 50; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(100);
    }
    assert.throws(() => process.kill(pid, 0), 'the master exited after draining');
    sh('bash nginx/stack.sh up test');
    assert.equal((await request('GET', '/v1/me', { token })).status, 200);
  });

  it('holds no worker for a client sending its body a byte at a time', async () => {
    const url = new URL(process.env.SG_BASE_URL);
    const token = tokenFor('csc', 'social_worker', 'slow');
    const body = JSON.stringify({ name: 'Slow family' });
    const slow = Array.from({ length: 2 * workers().length }, () => {
      const s = connect(Number(url.port), url.hostname);
      s.on('error', () => {});
      s.write(`POST /v1/families HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      let i = 0;
      const timer = setInterval(() => (i < body.length - 1 ? s.write(body[i++]) : null), 300);
      return { s, timer };
    });
    await sleep(500);
    const fast = tokenFor('police', 'practitioner', 'fast');
    const start = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, () => request('GET', '/v1/me', { token: fast })));
    assert.deepEqual([...new Set(answers.map((r) => r.status))], [200]);
    assert.ok(Date.now() - start < 2000, 'answered while slow bodies trickle in');
    for (const { s, timer } of slow) {
      clearInterval(timer);
      s.destroy();
    }
  });
});
