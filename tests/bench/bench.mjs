// bench.mjs - `make bench`: the API's speed as ratios against baselines
// measured in the same run on the same machine.
//
// Baselines: nginx answering by itself (`return 200`), nginx in front of a
// bare libfcgi "hello" pool with the API's pool size and socket settings, and
// `pgbench -S -M prepared` on the same PostgreSQL.  Then each API target at
// 16, 64 and 256 connections with wrk: requests/s, p50, p99, non-2xx.  The
// table goes to stdout, the same figures to var/bench/latest.json.
//
// Then 200 delegates book one 20-place training session at once: the time
// until every answer is in, and the places given (never more than 20).
//
// Environment: BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default
// "16,64,256"), SCALE=large to run the reads against `make seed-large` data,
// SG_WORKERS (the pool's size, and the hello pool's), BENCH_TARGETS (run only
// the targets named, comma-separated, exactly as the table names them; the
// two baselines always run), BENCH_PG (PostgreSQL settings for the run, e.g.
// "commit_delay=200,commit_siblings=4", applied with ALTER SYSTEM and a
// reload, recorded in the report).
//
// Then the database's ceiling (flights.mjs): PostgreSQL alone doing what one
// request of GET child, POST child and POST entry asks of it, with pgbench at
// 16 and 64 clients, as a ratio to the hello pool too: the most each route
// could reach here whatever nginx and the pool do.
//
// Each target's row also says where its CPU went: the milliseconds of CPU
// per request used by the pool (master and workers), nginx (master and
// workers) and PostgreSQL (the postmaster and its backends), read from
// /proc before and after the run (not for a DATABASE_URL elsewhere).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFlights } from './flights.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VAR = join(ROOT, 'var', 'bench');
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS || '16,64,256').split(',').map(Number);
const WORKERS = Number(process.env.SG_WORKERS || Math.max(4, 2 * cpus().length));
const LARGE = process.env.SCALE === 'large';
// names are split at commas outside parentheses: "(2,000)" is part of a name
const ONLY = (process.env.BENCH_TARGETS || '').split(/,(?![^(]*\))/).map((t) => t.trim()).filter(Boolean);
const PG_SETTINGS = (process.env.BENCH_PG || '').split(',').map((t) => t.trim()).filter(Boolean)
  .map((kv) => kv.split('=').map((x) => x.trim()));

const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', ...opts });
const stack = (...args) => sh('bash', ['nginx/stack.sh', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });

// CPU time, in milliseconds, of each process group: a master's pid (from its
// pid file) and its children's, utime + stime from /proc/PID/stat, and the
// master's cutime + cstime, where a child that exited and was reaped (a
// worker recycled, a backend gone) leaves its time.
const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
function pidIn(file) {
  try {
    return Number(readFileSync(file, 'utf8').split('\n')[0]) || null;
  } catch {
    return null;
  }
}
function cpuMs(master) {
  if (!master) return null;
  const kids = spawnSync('pgrep', ['-P', String(master)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  let ticks = 0;
  for (const pid of [master, ...kids]) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
      if (pid === master) ticks += Number(f[13]) + Number(f[14]); // cutime, cstime
    } catch {
      /* gone since */
    }
  }
  return (ticks * 1000) / HZ;
}

function token(claims) {
  const env = { ...process.env, SG_KEYS: join(VAR, 'keys', 'private'), ...claims };
  return sh(join(ROOT, 'var', 'build', 'safeguard-token'), [], { env }).trim();
}

// One wrk run; returns {rps, p50_ms, p99_ms, non2xx, errors, requests}.
function wrk(url, { connections, method = 'GET', body, token: tok, tokens, ifMatch }) {
  const env = { ...process.env, BENCH_METHOD: method };
  if (body) env.BENCH_BODY = JSON.stringify(body);
  if (ifMatch) env.BENCH_IF_MATCH = ifMatch;
  if (tok) env.BENCH_TOKEN = tok;
  if (tokens) env.BENCH_TOKENS = tokens;
  const threads = Math.min(2, connections);
  const out = sh('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${SECONDS}s`, '--timeout', '5s',
    '--latency', '-s', join(ROOT, 'tests', 'bench', 'request.lua'), url], { env });
  const ms = (v, unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60000 }[unit]);
  const pct = (p) => {
    const m = out.match(new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s|m)`));
    return m ? ms(m[1], m[2]) : null;
  };
  const non2xx = Number((out.match(/Non-2xx or 3xx responses: (\d+)/) || [0, 0])[1]);
  const sock = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const errors = sock ? sock.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0;
  return {
    rps: Number((out.match(/Requests\/sec:\s+([\d.]+)/) || [0, 0])[1]),
    p50_ms: pct(50),
    p99_ms: pct(99),
    non2xx,
    errors,
    requests: Number((out.match(/(\d+) requests in/) || [0, 0])[1]),
  };
}

// 200 delegates booking a 20-place session at the same moment, as when
// booking opens: every booking takes the session's row lock in turn.
async function bookingRace(api) {
  const iso = (t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const post = async (path, tok, body) => {
    const r = await fetch(api + path, { method: 'POST', headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };
  const run = Date.now();
  const trainer = token({ AGENCY: 'partnership', ROLES: 'training_admin', SUB: 'bench-trainer', TTL: '7200' });
  const course = await post('/v1/courses', trainer, { title: `Bench: booking opens ${run}`, format: 'webinar', organiser: 'bench', status: 'published' });
  const start = Date.now() + 30 * 86400000;
  const session = await post(`/v1/courses/${course.body.id}/sessions`, trainer, { starts_at: iso(start), ends_at: iso(start + 7200000), mode: 'online', capacity: 20 });
  const delegates = Array.from({ length: 200 }, (_, i) => token({ AGENCY: 'police', ROLES: 'practitioner', SUB: `bench-delegate-${run}-${i}`,
    NAME: `Delegate ${i}`, EMAIL: `delegate${i}@police.example.org`, TTL: '7200' }));
  const t0 = performance.now();
  const answers = await Promise.all(delegates.map((d) => post(`/v1/training-sessions/${session.body.id}/bookings`, d,
    { line_manager_name: 'Bench Manager', line_manager_email: 'manager@police.example.org' })));
  const settleMs = performance.now() - t0;
  const positions = answers.filter((a) => a.body.status === 'waitlisted').map((a) => a.body.waitlist_position).sort((a, b) => a - b);
  return {
    bookings: 200, capacity: 20, settle_ms: Math.round(settleMs),
    places_given: answers.filter((a) => a.body.status === 'confirmed').length,
    waitlisted: positions.length, positions_dense: positions.every((p, i) => p === i + 1),
    non_201: answers.filter((a) => a.status !== 201).length,
  };
}

function pgbench(adminUrl) {
  const url = new URL(adminUrl);
  const env = { ...process.env, PGPASSWORD: decodeURIComponent(url.password) };
  const base = ['-h', url.hostname, '-p', url.port, '-U', decodeURIComponent(url.username)];
  spawnSync('psql', [...base, '-d', 'postgres', '-Xqc', 'drop database if exists pgbench'], { env });
  sh('psql', [...base, '-d', 'postgres', '-Xqc', 'create database pgbench'], { env });
  sh('pgbench', [...base, '-i', '-q', '-s', '10', 'pgbench'], { env, stdio: 'ignore' });
  const results = {};
  for (const c of CONNECTIONS.filter((c) => c <= 64)) {
    const out = sh('pgbench', [...base, '-S', '-M', 'prepared', '-c', String(c), '-j', '2', '-T', String(SECONDS),
      '-n', 'pgbench'], { env });
    results[c] = Number((out.match(/tps = ([\d.]+)/) || [0, 0])[1]);
  }
  return results;
}

// The database's ceiling for the three routes the goals name (flights.mjs),
// the way the pool reaches PostgreSQL, as the API's role; none for a
// DATABASE_URL.
function databaseCeiling(stateDir, adminUrl, child, bodyOf) {
  if (process.env.DATABASE_URL) return [];
  // the unix socket, or TCP where its path would be too long (stack.sh)
  const sockDir = existsSync(join(stateDir, 'pgsock')) ? join(stateDir, 'pgsock') : '127.0.0.1';
  const jti = '0123456789abcdef0123456789abcdef';
  try {
    return ceilingFlights(sockDir, adminUrl, child, bodyOf, jti);
  } catch (e) {
    process.stderr.write(`  warning: the database's ceiling was not measured: ${e.message.split('\n')[0]}\n`);
    return [];
  }
}

function ceilingFlights(sockDir, adminUrl, child, bodyOf, jti) {
  return runFlights(ROOT, {
    flights: [
      { target: 'GET /v1/children/{id}', name: 'sql_child_get', file: 'api/areas/children/children.c', params: [child] },
      { target: 'POST /v1/children', name: 'sql_child_create', file: 'api/areas/children/children.c',
        params: [null, JSON.stringify(bodyOf('POST /v1/children'))], fresh: [1] },
      { target: 'POST /v1/chronology-entries', name: 'sql_entry_create', file: 'api/areas/chronology/entries.c',
        params: [null, JSON.stringify(bodyOf('POST /v1/chronology-entries')),
          JSON.stringify(bodyOf('POST /v1/chronology-entries').child_ids)], fresh: [1] },
    ],
    identity: ['bench-police', 'police', 'practitioner', 'bench-flight', jti, ''],
    // the pool's size (its connections to PostgreSQL), and more clients
    clients: [...new Set([WORKERS, 16, 64])],
    seconds: SECONDS,
    sockDir,
    port: new URL(adminUrl).port,
    password: readFileSync(join(VAR, 'secrets', 'api.pw'), 'utf8').trim(),
    scriptDir: VAR,
  });
}

async function main() {
  mkdirSync(VAR, { recursive: true });
  sh('make', ['-s', 'build']);
  sh('cc', ['-O2', '-Wall', '-Werror', '-o', join(ROOT, 'var', 'build', 'bench-hello'),
    join(ROOT, 'tests', 'bench', 'hello.c'), '-lfcgi']);

  if (!LARGE) stack('reset', 'bench');
  stack('up', 'bench');
  const adminUrl = stack('admin-url', 'bench').trim();
  for (const [k, v] of PG_SETTINGS) {
    if (!/^[a-z_]+$/.test(k) || !/^[\w.]+$/.test(v || '')) throw new Error(`BENCH_PG: cannot use ${k}=${v}`);
    sh('psql', [adminUrl, '-Xqc', `alter system set ${k} = '${v}'`]);
  }
  if (PG_SETTINGS.length) sh('psql', [adminUrl, '-Xqc', 'select pg_reload_conf()']);
  const seeded = sh('psql', [adminUrl, '-XAtqc',
    "select count(*) from safeguard.chronology_requests where id = '00000000-0000-4000-8000-0000000b0a01'"]).trim();
  if (seeded !== '1') {
    sh('psql', [adminUrl, '-Xq', '-v', 'ON_ERROR_STOP=1', '-c', 'set role safeguard_owner',
      '-f', join(ROOT, 'tests', 'bench', 'seed.sql')], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const env = Object.fromEntries(readFileSync(join(VAR, 'instance.env'), 'utf8').trim().split('\n').map((l) => l.split('=')));
  const API = `http://127.0.0.1:${env.PORT}`;
  // the baseline listens next to the bench instance (BENCH_PORT moves both),
  // so two checkouts can bench side by side
  const BASELINE_PORT = Number(process.env.BENCH_BASELINE_PORT || Number(env.PORT) + 1);
  // the baselines: bare nginx, and nginx + the hello pool
  const stateDir = stack('state-dir', 'bench').trim();
  const helloSock = join(stateDir, 'hello.sock');
  const hello = spawn(join(ROOT, 'var', 'build', 'bench-hello'), [helloSock, String(WORKERS)], { stdio: 'ignore', detached: true });
  const conf = readFileSync(join(ROOT, 'tests', 'bench', 'nginx-baseline.conf.in'), 'utf8')
    .replaceAll('@VAR@', VAR).replaceAll('@STATE@', stateDir).replaceAll('@PORT@', String(BASELINE_PORT))
    .replaceAll('@HELLO_SOCKET@', helloSock);
  writeFileSync(join(VAR, 'conf', 'nginx-baseline.conf'), conf);
  const nginxArgs = ['-p', join(stateDir, 'nginx'), '-e', join(VAR, 'log', 'nginx-baseline-error.log'),
    '-c', join(VAR, 'conf', 'nginx-baseline.conf')];
  sh('nginx', nginxArgs);
  spawnSync('sleep', ['0.5']);

  const police = token({ AGENCY: 'police', ROLES: 'practitioner', SUB: 'bench-police', TTL: '7200' });
  const csc = token({ AGENCY: 'csc', ROLES: 'social_worker', SUB: 'bench-csc', TTL: '7200' });
  const child = '00000000-0000-4000-8003-000000000001';
  const solo = '00000000-0000-4000-8000-0000000b0c99';
  const request = '00000000-0000-4000-8000-0000000b0a01';
  const panelMember = token({ AGENCY: 'police', ROLES: 'panel_member', SUB: 'bench-panel', TTL: '7200' });
  const panel = '00000000-0000-4000-8000-0000000b0b01';
  const action = '00000000-0000-4000-8005-000000000065';

  const targets = [
    { name: 'nginx return 200', url: `http://127.0.0.1:${BASELINE_PORT}/return200`, baseline: true },
    { name: 'nginx + libfcgi hello', url: `http://127.0.0.1:${BASELINE_PORT}/hello`, baseline: true },
    { name: 'GET /v1/me', url: `${API}/v1/me`, token: police },
    { name: 'GET /v1/children/{id}', url: `${API}/v1/children/${child}`, token: police },
    { name: 'GET /v1/children?limit=50', url: `${API}/v1/children?limit=50`, token: police },
    { name: 'POST /v1/children', url: `${API}/v1/children`, token: police, method: 'POST', write: true,
      body: { first_name: 'Bench', last_name: 'Write', date_of_birth: '2012-03-04', education_status: 'on_roll' } },
    { name: 'GET /v1/children/{id}/chronology (100)', url: `${API}/v1/children/${solo}/chronology?limit=100`, token: police },
    { name: 'GET consolidated timeline (2,000)', url: `${API}/v1/chronology-requests/${request}/chronology`, token: csc },
    { name: 'POST /v1/chronology-entries', url: `${API}/v1/chronology-entries`, token: police, method: 'POST', write: true,
      body: { child_ids: ['00000000-0000-4000-8003-000000000002'], event_date: '2025-06-01', date_precision: 'day', category: 'home_visit',
        summary: 'benchmark visit', impact: 'neutral', significance: 'low', action_taken: 'recorded' } },
    { name: 'GET /v1/panels/{id}/referrals (50)', url: `${API}/v1/panels/${panel}/referrals`, token: panelMember },
    // If-Match: * (any version): every request an update, none refused as stale
    { name: 'PATCH /v1/panel-actions/{id}', url: `${API}/v1/panel-actions/${action}`, token: panelMember, method: 'PATCH',
      write: true, ifMatch: '*', body: { status: 'in_progress', progress_note: 'benchmark progress' } },
  ];
  const bodies = Object.fromEntries(targets.map((t) => [t.name, t.body]));
  const bodyOf = (name) => bodies[name];
  if (LARGE) targets.splice(0, targets.length, ...targets.filter((t) => t.baseline || !t.write));
  if (ONLY.length) targets.splice(0, targets.length, ...targets.filter((t) => t.baseline || ONLY.includes(t.name)));

  // When wrk stops, the requests its connections had sent are still queued
  // on the pool's socket, and the pool answers them all: after a slow
  // target at 256 connections that is up to a second of work, which the
  // next run's first requests would wait behind (the 0.5-1 s p99 of the
  // first run of each target once was exactly that queue).  A request to
  // the pool answers only after the queue ahead of it: each run starts
  // when it has.
  const drain = (t) => {
    if (!t.baseline) sh('curl', ['-s', '-o', '/dev/null', '--max-time', '30', `${API}/readyz`]);
  };
  const results = [];
  for (const t of targets) {
    for (const c of CONNECTIONS) {
      drain(t);
      const masters = { pool: pidIn(join(VAR, 'run', 'pool.pid')), nginx: pidIn(join(VAR, 'run', 'nginx.pid')),
        postgres: pidIn(join(stateDir, 'pg', 'postmaster.pid')) };
      const before = t.baseline ? {} : Object.fromEntries(Object.entries(masters).map(([k, m]) => [k, cpuMs(m)]));
      const r = wrk(t.url, { connections: c, method: t.method, body: t.body, token: t.token, ifMatch: t.ifMatch });
      const cpu = t.baseline || !r.requests ? null : Object.fromEntries(Object.entries(masters).map(([k, m]) => {
        const after = cpuMs(m);
        return [k, after === null || before[k] === null ? null : Number(((after - before[k]) / r.requests).toFixed(3))];
      }));
      results.push({ target: t.name, connections: c, ...r, cpu_ms_per_request: cpu });
      process.stderr.write(`  ${t.name} @${c}: ${r.rps.toFixed(0)} req/s p50 ${r.p50_ms} ms p99 ${r.p99_ms} ms non-2xx ${r.non2xx}\n`);
    }
  }

  // token verification without the cache: a different token on every request
  if (!ONLY.length) {
    const tokenFile = join(VAR, 'tokens.txt');
    const many = [];
    for (let i = 0; i < 1500; i++) many.push(token({ AGENCY: 'police', ROLES: 'practitioner', SUB: `bench-${i}`, TTL: '7200' }));
    writeFileSync(tokenFile, many.join('\n') + '\n');
    drain({});
    const uncached = wrk(`${API}/v1/me`, { connections: 64, tokens: tokenFile });
    results.push({ target: 'GET /v1/me, every token new (no cache)', connections: 64, ...uncached });
  }

  drain({});
  const race = ONLY.length ? null : await bookingRace(API);
  if (race) process.stderr.write(`  200 concurrent bookings (20 places): settled in ${race.settle_ms} ms, ${race.places_given} places given\n`);

  const pg = ONLY.length ? {} : pgbench(adminUrl);
  const ceiling = ONLY.length ? [] : databaseCeiling(stateDir, adminUrl, child, bodyOf);
  if (PG_SETTINGS.length) {
    for (const [k] of PG_SETTINGS) sh('psql', [adminUrl, '-Xqc', `alter system reset ${k}`]);
    sh('psql', [adminUrl, '-Xqc', 'select pg_reload_conf()']);
  }

  spawnSync('nginx', [...nginxArgs, '-s', 'quit']);
  try { process.kill(hello.pid, 'SIGTERM'); } catch { /* already gone */ }
  // the hello pool passes SIGTERM to its workers and exits: wait for it
  for (let i = 0; i < 50 && spawnSync('pgrep', ['-f', helloSock]).status === 0; i++) spawnSync('sleep', ['0.1']);
  if (spawnSync('pgrep', ['-f', helloSock]).status === 0) process.stderr.write('  warning: the hello pool did not exit\n');
  stack('down', 'bench');

  const hello64 = (c) => results.find((r) => r.target === 'nginx + libfcgi hello' && r.connections === c)?.rps || 1;
  const rows = results.map((r) => ({ ...r, ratio_to_hello: Number((r.rps / hello64(r.connections)).toFixed(3)) }));
  const report = {
    date: new Date().toISOString(),
    cores: cpus().length,
    workers: WORKERS,
    seconds: SECONDS,
    scale: LARGE ? 'large' : 'demo',
    postgres_settings: Object.fromEntries(PG_SETTINGS),
    targets: ONLY.length ? ONLY : 'all',
    pgbench_select_tps: pg,
    // as a ratio to the hello pool at 64 connections, the goals' column
    database_ceiling: ceiling.map((f) => ({ ...f, ratio_to_hello_64: Number((f.tps / hello64(64)).toFixed(3)) })),
    training_booking_race: race,
    results: rows,
  };
  // a partial run (BENCH_TARGETS) does not replace the full table the README quotes
  const out = ONLY.length ? 'partial.json' : 'latest.json';
  writeFileSync(join(VAR, out), JSON.stringify(report, null, 2) + '\n');

  const pad = (s, n) => String(s).padEnd(n);
  const num = (v, d = 1) => (v === null || v === undefined ? '-' : Number(v).toFixed(d));
  console.log(`\nSafeguard benchmark, ${report.date.slice(0, 10)}, ${report.cores} cores, ${WORKERS} workers, ${SECONDS}s per run\n`);
  console.log(`| ${pad('target', 44)} | conns | req/s    | p50 ms | p99 ms | non-2xx | × hello | CPU ms/req pool, nginx, PostgreSQL |`);
  console.log(`|${'-'.repeat(46)}|-------|----------|--------|--------|---------|---------|------------------------------------|`);
  for (const r of rows) {
    const cpu = r.cpu_ms_per_request ? [r.cpu_ms_per_request.pool, r.cpu_ms_per_request.nginx, r.cpu_ms_per_request.postgres]
      .map((v) => num(v, 2)).join(', ') : '';
    console.log(`| ${pad(r.target, 44)} | ${pad(r.connections, 5)} | ${pad(num(r.rps, 0), 8)} | ${pad(num(r.p50_ms, 2), 6)} | ` +
      `${pad(num(r.p99_ms, 2), 6)} | ${pad(r.non2xx + r.errors, 7)} | ${pad(num(r.ratio_to_hello, 2), 7)} | ${pad(cpu, 34)} |`);
  }
  console.log(`\npgbench -S -M prepared (tps by clients): ${Object.entries(pg).map(([c, v]) => `${c}: ${v.toFixed(0)}`).join(', ')}`);
  if (report.database_ceiling.length) {
    console.log('\nThe database\'s ceiling: PostgreSQL alone doing one request\'s flight (BEGIN, identity, statement, COMMIT), pgbench:');
    console.log(`| ${pad('flight of', 44)} | clients | tps      | × hello @64 |`);
    console.log(`|${'-'.repeat(46)}|---------|----------|-------------|`);
    for (const f of report.database_ceiling) {
      console.log(`| ${pad(f.flight, 44)} | ${pad(f.clients, 7)} | ${pad(num(f.tps, 0), 8)} | ${pad(num(f.ratio_to_hello_64, 2), 11)} |`);
    }
  }
  if (race) {
    console.log(`200 concurrent bookings of a 20-place session: settled in ${race.settle_ms} ms, ${race.places_given} places given, ` +
      `${race.waitlisted} waitlisted (positions ${race.positions_dense ? 'dense' : 'NOT dense'}), non-201: ${race.non_201}`);
  }
  console.log(`written to var/bench/${out}`);
}

main();
