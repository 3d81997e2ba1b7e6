// stack.mjs - what the suites do to the test instance's pool itself.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// The pool's master pid, and its workers' pids.
export const poolMaster = () => Number(readFileSync(join(process.env.SG_VAR, 'run', 'pool.pid'), 'utf8'));
export function poolWorkers() {
  try {
    return execFileSync('pgrep', ['-P', String(poolMaster())], { encoding: 'utf8' }).trim().split('\n').map(Number).filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

// The pool's start-up check (`safeguard-api --check`) with a minimal good
// configuration and settings (a setting undefined: unset); spawnSync's result.
export function checkConfig(settings = {}) {
  const env = {
    PATH: process.env.PATH, DATABASE_URL: 'postgresql:///none', SG_JWT_ISSUER: 'https://idp.test',
    SG_JWT_KEY_DIR: join(process.env.SG_VAR, 'keys', 'public'), SG_CURSOR_KEY_FILE: join(process.env.SG_VAR, 'secrets', 'cursor.key'),
    ...settings,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return spawnSync(process.env.SG_BIN || join(process.env.SG_ROOT, 'var/build/safeguard-api'), ['--check'], { encoding: 'utf8', env });
}

// Stops the pool's master (SIGTERM: requests in flight finish) and waits up
// to 10 s for it to be gone; true when it is.
export async function stopPool() {
  const master = poolMaster();
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
  const check = (value) => checkConfig({ [name]: value });
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
