// flights.test.mjs - the checks on tests/bench/flights.mjs, which measures
// the database's ceiling in `make bench`: it reads a statement as the C
// source sends it (macros expanded), builds a pgbench script of one flight,
// and that flight does in the test database what the API's request does
// (the same rows, the same audit row), so the ceiling it measures is the
// route's own work.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { statementText, flightScript, runFlights } from '../bench/flights.mjs';
import { get, post, psql, sh } from '../api/lib/client.mjs';
import { tokenFor } from '../api/lib/people.mjs';

const ROOT = process.env.SG_ROOT;
const VAR = process.env.SG_VAR;

describe('flights.mjs reads the statements the C sources send', () => {
  it('a statement built by macros, with its literals joined', () => {
    const text = statementText(ROOT, 'api/areas/children/children.c', 'sql_child_get');
    assert.match(text, /^with c as \(select safeguard\.child_json\(c\)::text as j/);
    // AUDIT_FROM expanded, the literals joined without their quotes
    assert.match(text, /insert into safeguard\.audit_events \(request_id, actor_sub, actor_agency, action, resource_type,/);
    assert.match(text, /'child\.read', 'child', id::text, 'success' from c\) select j, version from c$/);
    assert.doesNotMatch(text, /" "/);
    assert.equal(statementText(ROOT, 'api/core/db.c', 'sql_identity'),
      'select safeguard.begin_request($1, $2, $3, $4, $5, $6)');
  });

  it('an escaped quote in a literal, and a statement that is not there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flights-'));
    const file = join(dir, 'x.c');
    writeFileSync(file, '#include "db.h"\nDB_SQL(sql_x, 2, "select \'{\\"a\\": 1}\'::jsonb," " $1, $1 || $2");\n');
    assert.equal(statementText(ROOT, file, 'sql_x'), 'select \'{"a": 1}\'::jsonb, $1, $1 || $2');
    assert.throws(() => statementText(ROOT, file, 'sql_y'), /no statement sql_y/);
    // a fresh id must stand for a parameter used once
    assert.throws(() => flightScript(ROOT, { file, name: 'sql_x', params: [null, 'b'], fresh: [1] }, ['s', 'a', 'r', 'q', 'j', '']),
      /\$1 is not used once/);
  });

  it('one flight: BEGIN, the identity, the statement and COMMIT in one pipeline', () => {
    const { script, defines } = flightScript(ROOT, { file: 'api/areas/children/children.c', name: 'sql_child_create',
      params: [null, '{"x":1}'], fresh: [1] }, ['sub', 'police', 'practitioner', 'req', 'jti', '']);
    assert.equal(script, ['\\startpipeline', 'begin;', "select safeguard.begin_request(:i1, :i2, :i3, :i4, :i5, '');",
      'select doc, version, existing from safeguard.child_create(gen_random_uuid(), :p2::jsonb);', 'commit;',
      '\\endpipeline', ''].join('\n'));
    assert.deepEqual(defines, { i1: 'sub', i2: 'police', i3: 'practitioner', i4: 'req', i5: 'jti', p2: '{"x":1}' });
  });
});

describe('a flight does what the request does', { skip: !!process.env.DATABASE_URL && 'not the local cluster' }, () => {
  const sub = `flight-${randomUUID()}`;
  const police = tokenFor('police', 'practitioner', sub);
  let child;
  let run;
  before(async () => {
    const made = await post('/v1/children', { token: police,
      body: { first_name: 'Flight', last_name: 'Check', date_of_birth: '2013-05-06', education_status: 'on_roll' } });
    assert.equal(made.status, 201);
    child = made.body.id;
    const port = readFileSync(join(VAR, 'instance.env'), 'utf8').match(/^PGPORT=(\d+)/m)[1];
    // the pool's way to PostgreSQL: the unix socket, or TCP (stack.sh)
    const sock = join(sh('bash nginx/stack.sh state-dir test').trim(), 'pgsock');
    const host = existsSync(sock) ? sock : '127.0.0.1';
    run = (flight, requestId, clients = [1]) => runFlights(ROOT, {
      flights: [{ target: flight.name, ...flight }],
      identity: [sub, 'police', 'practitioner', requestId, randomUUID().replaceAll('-', ''), ''],
      // a few transactions, not a timed run: the suites after this one meet the database it leaves
      clients, transactions: 3, sockDir: host, port,
      password: readFileSync(join(VAR, 'secrets', 'api.pw'), 'utf8').trim(), scriptDir: mkdtempSync(join(tmpdir(), 'flights-')),
    });
  });

  it('GET child: the audit row the API writes, once per transaction, as the caller', async () => {
    const read = await get(`/v1/children/${child}`, { token: police });
    assert.equal(read.status, 200);
    const requestId = `flight-${randomUUID()}`;
    const [r] = run({ name: 'sql_child_get', file: 'api/areas/children/children.c', params: [child] }, requestId);
    assert.ok(r.tps > 0);
    assert.equal(r.transactions, 3);
    const row = (where) => psql(`select action, resource_type, resource_id, outcome, details::text, actor_agency
      from safeguard.audit_events where ${where} limit 1`);
    const fromApi = row(`request_id = '${read.headers.get('x-request-id')}'`);
    assert.equal(fromApi, `child.read|child|${child}|success|{}|police`);
    assert.equal(row(`request_id = '${requestId}'`), fromApi);
    const counts = psql(`select count(*), count(distinct id), count(*) filter (where actor_sub <> '${sub}')
      from safeguard.audit_events where request_id = '${requestId}'`).split('|').map(Number);
    assert.deepEqual(counts, [3, 3, 0]);
  });

  it('POST child: a new child in the caller\'s network at each transaction', async () => {
    const name = `Flight${Date.now()}`;
    const [r] = run({ name: 'sql_child_create', file: 'api/areas/children/children.c',
      params: [null, JSON.stringify({ first_name: name, last_name: 'Made', date_of_birth: '2012-03-04', education_status: 'on_roll' })],
      fresh: [1] }, `flight-${randomUUID()}`);
    const made = Number(psql(`select count(*) from safeguard.children c join safeguard.child_network n
      on n.child_id = c.id and n.agency = 'police' where c.first_name = '${name}'`));
    assert.equal(made, r.transactions);
    assert.equal(made, 3);
    const other = await get('/v1/children?limit=200', { token: tokenFor('district', 'practitioner') });
    assert.equal(other.body.items.filter((c) => c.first_name === name).length, 0);
  });

  it('POST entry: an entry on the child, audited as the API audits it', () => {
    const summary = `flight ${randomUUID()}`;
    run({ name: 'sql_entry_create', file: 'api/areas/chronology/entries.c', params: [null,
      JSON.stringify({ child_ids: [child], event_date: '2025-06-01', date_precision: 'day', category: 'home_visit',
        summary, impact: 'neutral', significance: 'low', action_taken: 'recorded' }), JSON.stringify([child])],
    fresh: [1] }, `flight-${randomUUID()}`);
    const n = Number(psql(`select count(*) from safeguard.chronology_entries where summary = '${summary}' and agency = 'police'`));
    assert.equal(n, 3);
    assert.equal(Number(psql(`select count(*) from safeguard.audit_events a join safeguard.chronology_entries e
      on a.resource_id = e.id::text where e.summary = '${summary}' and a.action = 'chronology_entry.create'`)), n);
  });

  it('a flight that fails is an error, not a figure', () => {
    assert.throws(() => run({ name: 'sql_child_get', file: 'api/areas/children/children.c', params: ['not-a-uuid'] },
      `flight-${randomUUID()}`), /pgbench|failed/);
  });
});

