// stack.mjs - what the suites do to the test instance's pool itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// Stops the pool's master (SIGTERM: requests in flight finish) and waits up
// to 10 s for it to be gone; true when it is.
export async function stopPool() {
  const master = Number(readFileSync(join(process.env.SG_VAR, 'run', 'pool.pid'), 'utf8'));
  process.kill(master, 'SIGTERM');
  for (const end = Date.now() + 10000; Date.now() < end; await sleep(50)) {
    try {
      process.kill(master, 0);
    } catch {
      return true;
    }
  }
  return false;
}

// Asserts how the pool's start-up check (`safeguard-api --check`) takes one
// numeric setting: every value of good starts, every value of bad refuses to
// start with a message matching refusal.  (undefined: the setting unset.)
export function assertSettingRange(name, good, bad, refusal) {
  const check = (value) => spawnSync(process.env.SG_BIN || join(process.env.SG_ROOT, 'var/build/safeguard-api'), ['--check'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH, DATABASE_URL: 'postgresql:///none', SG_JWT_ISSUER: 'https://idp.test',
      SG_JWT_KEY_DIR: join(process.env.SG_VAR, 'keys', 'public'), ...(value === undefined ? {} : { [name]: value }),
    },
  });
  for (const value of good) {
    const out = check(value);
    assert.equal(out.status, 0, `${name}=${value}: ${out.stderr}`);
  }
  for (const value of bad) {
    const out = check(value);
    assert.equal(out.status, 1, `${name}=${value} was accepted`);
    assert.match(out.stderr + out.stdout, refusal, `${name}=${value}`);
  }
}
