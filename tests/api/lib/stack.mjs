// stack.mjs - what the suites do to the test instance's pool itself.
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
