// sessions.mjs - a database session the suites hold open, to interleave
// two transactions in a set order: statements run one step at a time in a
// psql process of its own (as the test database's administrator), so a
// transaction stays open between steps while something else runs.
//
//   const s = await session();           // connected; s.pid is its backend
//   await s.run('begin; ...');           // resolves once the step has run
//   const step = s.run('...');           // a step that may wait for a lock
//   await waitedOrDone(s.pid, step)      // 'waiting' (pg_blocking_pids) or 'done'
//   await s.close();
//
// Each step ends with a marker psql writes to stderr (unbuffered); a failed
// statement stops psql (ON_ERROR_STOP) and rejects the step with its error.
import { spawn } from 'node:child_process';
import { psql } from './client.mjs';

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

export async function session() {
  const proc = spawn('psql', [process.env.DATABASE_URL_ADMIN, '-XAtq', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  let seq = 0;
  const pending = new Map(); // marker -> {ok, fail}
  const failAll = (why) => {
    for (const p of pending.values()) p.fail(new Error(why));
    pending.clear();
  };
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    err += chunk;
    for (const [mark, p] of pending) {
      const at = err.indexOf(`${mark}\n`);
      if (at >= 0) {
        pending.delete(mark);
        p.ok(err.slice(0, at));
        err = err.slice(at + mark.length + 1);
      }
    }
  });
  proc.on('exit', (code) => failAll(`psql exited (${code}): ${err.trim()}`));
  const s = {
    pid: null,
    // One step: its statements, then the marker.  What psql wrote to stderr
    // before the marker (\warn output) is the step's value.  A last
    // statement left open is ended here, so that the step runs it.
    run(statements) {
      const mark = `-- step ${++seq} done --`;
      const done = new Promise((ok, fail) => pending.set(mark, { ok, fail }));
      const text = statements.trim();
      const last = text.split('\n').pop().trim();
      proc.stdin.write(`${text}${text.endsWith(';') || last.startsWith('\\') ? '' : ';'}\n\\warn '${mark}'\n`);
      return done;
    },
    async close() {
      proc.stdin.end();
      await new Promise((ok) => (proc.exitCode !== null ? ok() : proc.on('exit', ok)));
    },
  };
  s.pid = Number((await s.run('select pg_backend_pid() as backend \\gset\n\\warn :backend')).trim());
  return s;
}

// Waits (up to 10 s) until another backend waits for a lock the session
// `holder` holds, or until `step` (a promise) settles first: 'waiting' or
// 'done'.  Either is an observable state, not a guess about timing.
export async function waitedOrDone(holder, step) {
  let settled = false;
  step.then(() => (settled = true), () => (settled = true));
  for (const end = Date.now() + 10000; Date.now() < end; await sleep(20)) {
    if (settled) return 'done';
    if (psql(`select count(*) from pg_stat_activity where ${Number(holder)} = any (pg_blocking_pids(pid))`) !== '0') return 'waiting';
  }
  throw new Error(`nothing waited for backend ${holder}, and the step did not finish, in 10 s`);
}
