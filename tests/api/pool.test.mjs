// The pool under faults: a killed worker is replaced, a dead database gives
// a quick 503 and recovers by itself, SIGHUP loses nothing, a request past
// the time limit gets 504 and its worker is replaced.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, sh } from './lib/client.mjs';
import { rs256 } from './lib/tokens.mjs';

const master = () => Number(readFileSync(join(process.env.SG_VAR, 'run', 'pool.pid'), 'utf8'));
const workers = () => {
  try {
    return execFileSync('pgrep', ['-P', String(master())], { encoding: 'utf8' }).trim().split('\n').map(Number).filter(Boolean).sort();
  } catch {
    return [];
  }
};
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
async function until(check, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

describe('the pool', () => {
  after(async () => {
    sh('bash db/pg.sh start test');
    await until(async () => (await request('GET', '/readyz', { validate: false })).status === 200, 10000);
  });

  it('replaces a worker killed with SIGKILL, and the next requests succeed', async () => {
    const before = workers();
    assert.ok(before.length >= 2);
    process.kill(before[0], 'SIGKILL');
    assert.ok(await until(() => workers().length === before.length && !workers().includes(before[0]), 3000), 'replaced');
    const t = rs256();
    for (let i = 0; i < 20; i++) assert.equal((await request('GET', '/v1/me', { token: t })).status, 200);
    const metrics = await request('GET', '/metrics');
    assert.match(metrics.text, /safeguard_worker_restarts_total\{cause="crash"\} [1-9]/);
  });

  it('recycles a worker after its request budget, losing no request', async () => {
    const budget = Number(process.env.SG_MAX_REQUESTS || 10000);
    const count = () => Number((/safeguard_worker_restarts_total\{cause="recycled"\} (\d+)/.exec(sh('curl -s $SG_BASE_URL/metrics')) || [0, 0])[1]);
    const before = count();
    const n = Math.min(budget * workers().length + 50, 3000);
    for (let i = 0; i < n; i += 25) {
      const t = rs256({ sub: `recycle-${i}` }); // a token per batch stays under the per-token rate limit
      const batch = await Promise.all(Array.from({ length: 25 }, () => request('GET', '/v1/me', { token: t })));
      assert.deepEqual([...new Set(batch.map((r) => r.status))], [200]);
    }
    if (budget <= 1000) assert.ok(count() > before, 'a worker was recycled');
  });

  it('answers 503 with Retry-After within two seconds while PostgreSQL is down, then recovers without a restart', async () => {
    const pid = master();
    const t = rs256();
    assert.equal((await request('GET', '/v1/me', { token: t })).status, 200);
    sh('bash db/pg.sh stop test');
    for (let i = 0; i < 5; i++) {
      const start = Date.now();
      const res = await request('GET', '/v1/me', { token: t });
      const took = Date.now() - start;
      assert.equal(res.status, 503);
      assert.equal(res.body.type, '/problems/service-unavailable');
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      assert.ok(took < 2000, `answered in ${took} ms`);
    }
    assert.equal((await request('GET', '/readyz')).status, 503);
    sh('bash db/pg.sh start test');
    assert.ok(await until(async () => (await request('GET', '/v1/me', { token: t })).status === 200, 10000), 'recovered');
    assert.equal(master(), pid, 'the pool was not restarted');
  });

  it('replaces every worker on SIGHUP with no request lost', async () => {
    const before = workers();
    const t = rs256();
    let done = false;
    const statuses = [];
    const loop = (async () => {
      while (!done) statuses.push((await request('GET', '/v1/me', { token: t })).status);
    })();
    await sleep(200);
    process.kill(master(), 'SIGHUP');
    assert.ok(await until(() => workers().every((w) => !before.includes(w)) && workers().length === before.length, 5000), 'all replaced');
    await sleep(300);
    done = true;
    await loop;
    assert.ok(statuses.length > 20);
    assert.deepEqual([...new Set(statuses)], [200]);
  });

  it('answers 504 past the time limit and replaces the worker', async () => {
    const before = workers();
    const holder = spawn('psql', [process.env.DATABASE_URL_ADMIN, '-Xqc',
      'begin; lock table safeguard.agencies in access exclusive mode; select pg_sleep(8); commit;']);
    await sleep(500);
    const start = Date.now();
    const res = await request('GET', '/v1/agencies', { token: rs256() });
    assert.equal(res.status, 504);
    assert.equal(res.body.type, '/problems/gateway-timeout');
    assert.ok(Date.now() - start < (Number(process.env.SG_REQUEST_TIMEOUT) + 2) * 1000);
    holder.kill();
    assert.ok(await until(() => workers().length === before.length && before.some((w) => !workers().includes(w)), 5000), 'a worker was replaced');
    assert.equal((await request('GET', '/v1/me', { token: rs256() })).status, 200);
  });
});
