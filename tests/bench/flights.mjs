// flights.mjs - a route's database work without nginx, the pool or HTTP.
//
// `make bench` asks how fast PostgreSQL alone does what one request of a
// route asks of it: the same flight the pool sends (BEGIN, the identity and
// revocation check, the route's statement, COMMIT, pipelined as one round
// trip), as the API's role over the same unix socket, run by pgbench.  Its
// rate is the most the route can reach on this machine whatever nginx and the
// pool do, so the bench prints it beside the route's own rate.
//
// The statements are not copied here: each is read from the C source it is
// sent from (the preprocessor expands the macros that build it), so the
// flight measured is the one the code sends.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The text of DB_SQL(NAME, ...) in FILE, after the preprocessor.
export function statementText(root, file, name) {
  const out = execFileSync('cc', ['-E', '-P', '-D_GNU_SOURCE', '-Iapi/core', '-Iapi/input', '-Iapi',
    '-I/usr/include/postgresql', file], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const at = out.indexOf(`${name} = {"${name}", `);
  if (at < 0) throw new Error(`${file}: no statement ${name}`);
  let i = at + name.length * 2 + 8;
  let text = '';
  // adjacent string literals, up to the parameter count
  for (;;) {
    while (/\s/.test(out[i])) i++;
    if (out[i] !== '"') break;
    for (i++; out[i] !== '"'; i++) {
      if (out[i] === '\\') {
        i++;
        text += { n: '\n', t: '\t' }[out[i]] ?? out[i];
      } else {
        text += out[i];
      }
    }
    i++;
  }
  if (!/^\s*,\s*\d+\s*,/.test(out.slice(i))) throw new Error(`${file}: cannot read ${name}`);
  return text;
}

// A pgbench script of one flight: STATEMENT's $n become the variables pn
// (given to pgbench with -D), or fresh ids where FRESH names them (a write
// needs a new id each time: gen_random_uuid() in place of the parameter).
// Returns {script, defines}.
export function flightScript(root, { file, name, params, fresh = [] }, identity) {
  // pgbench takes no empty variable: an empty value is written as ''
  const identitySql = statementText(root, 'api/core/db.c', 'sql_identity')
    .replace(/\$(\d+)/g, (_, n) => (identity[n - 1] === '' ? "''" : `:i${n}`));
  let sql = statementText(root, file, name);
  for (const n of fresh) {
    if (sql.split(new RegExp(`\\$${n}(?!\\d)`)).length !== 2) throw new Error(`${name}: $${n} is not used once`);
    sql = sql.replace(new RegExp(`\\$${n}(?!\\d)(::uuid)?`), 'gen_random_uuid()');
  }
  sql = sql.replace(/\$(\d+)/g, ':p$1');
  const defines = {};
  identity.forEach((v, i) => { if (v !== '') defines[`i${i + 1}`] = v; });
  params.forEach((v, i) => { if (v !== null) defines[`p${i + 1}`] = v; });
  const script = ['\\startpipeline', 'begin;', `${identitySql};`, `${sql};`, 'commit;', '\\endpipeline', ''].join('\n');
  return { script, defines };
}

// Runs each flight with pgbench at each client count, as the API's role over
// the unix socket at SOCKDIR (or a host): for SECONDS, or TRANSACTIONS a
// client when given.  Returns [{flight, clients, tps, transactions}].
export function runFlights(root, { flights, identity, clients, seconds, transactions, sockDir, port, password, scriptDir }) {
  const results = [];
  for (const f of flights) {
    const { script, defines } = flightScript(root, f, identity);
    const path = join(scriptDir, `flight-${f.name}.sql`);
    writeFileSync(path, script);
    const args = ['-n', '-h', sockDir, '-p', String(port), '-U', 'safeguard_api', '-M', 'prepared', '-j', '2',
      ...(transactions ? ['-t', String(transactions)] : ['-T', String(seconds)]), '-f', path];
    for (const [k, v] of Object.entries(defines)) args.push('-D', `${k}=${v}`);
    for (const c of clients) {
      const out = execFileSync('pgbench', [...args, '-c', String(c), 'safeguard'],
        { cwd: root, encoding: 'utf8', env: { ...process.env, PGPASSWORD: password } });
      const failed = Number((out.match(/number of failed transactions: (\d+)/) || [0, 0])[1]);
      const done = Number((out.match(/number of transactions actually processed: (\d+)/) || [0, 0])[1]);
      if (failed || !done) throw new Error(`${f.target}: pgbench flight failed (${failed} failed, ${done} done)`);
      results.push({ flight: f.target, clients: c, tps: Number((out.match(/tps = ([\d.]+)/) || [0, 0])[1]), transactions: done });
    }
  }
  return results;
}
