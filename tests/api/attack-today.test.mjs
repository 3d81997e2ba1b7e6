// attack-today.test.mjs - a hostile review of the day's changes: query
// string lengths counted in characters (api/input/query.c), nginx's 404 for
// TRACE on a path under /v1 that no route matches, and sync_record_visible
// restated in PL/pgSQL (065) against 018's SQL definition, for every role of
// every agency.  (stack.sh's removal of a cluster whose admin password went
// is proved by tests/tools/stack-secrets.sh.)
//
// Each case asserts the answer (status, problem type, body fields) or what
// the database answers.  A case for a defect found here and not fixed is a
// todo naming what is wrong and where the fix belongs.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { request, psql, rawRequest } from './lib/client.mjs';
import { ROLES, sql, problem, fields } from './lib/panels.mjs';
import { tokenFor } from './lib/people.mjs';

const auditor = () => tokenFor('partnership', 'auditor', `today-auditor-${randomUUID().slice(0, 8)}`);
const enc = (s) => encodeURIComponent(s);
const GRIN = '\u{1F600}'; // four bytes in UTF-8, one character

describe('query strings: lengths in characters, encodings refused with the parameter named', () => {
  it('four-byte characters at each limit pass, one past is too_long; combining marks count each', async () => {
    const t = auditor();
    for (const [name, max] of [['actor', 200], ['resource_type', 100], ['action', 100], ['resource_id', 200]]) {
      const at = await request('GET', `/v1/audit-events?${name}=${enc(GRIN.repeat(max))}`, { token: t });
      assert.equal(at.status, 200, `${name} at ${max}: ${at.text.slice(0, 200)}`);
      assert.deepEqual(at.body.items, []);
      const past = problem(await request('GET', `/v1/audit-events?${name}=${enc(GRIN.repeat(max + 1))}`, { token: t }), 400, 'invalid-query');
      assert.deepEqual(fields(past), [`${name}:too_long`]);
      assert.equal(past.body.errors[0].message, `must be at most ${max} characters`);
    }
    // "e" and a combining acute accent are two characters, as the contract counts
    const accents = problem(await request('GET', `/v1/audit-events?actor=${enc('e\u0301'.repeat(101))}`, { token: t }), 400, 'invalid-query');
    assert.deepEqual(fields(accents), ['actor:too_long']);
  });

  it('invalid UTF-8, overlong forms, surrogates, past U+10FFFF, NUL and broken escapes: 400 invalid_encoding, the worker alive', async () => {
    const t = auditor();
    const bad = ['%C0%AF', '%E0%80%AF', '%F0%80%80%AF', '%ED%A0%80', '%ED%BF%BF', '%F4%90%80%80', '%F8%88%80%80%80', '%80', '%C3',
      '%F0%9F%98', `${'%F0%9F%98%80'.repeat(200)}%F0%9F%98`, '%00', 'a%00b', '%', '%4', '%G0', '%%41', '%C3%28', '%FF%FE'];
    for (const v of bad) {
      const res = problem(await request('GET', `/v1/audit-events?actor=${v}`, { token: t }), 400, 'invalid-query');
      assert.deepEqual(fields(res), ['actor:invalid_encoding'], v);
    }
    // a key that is not UTF-8 is named as sent
    const key = problem(await request('GET', '/v1/audit-events?act%FFor=x', { token: t }), 400, 'invalid-query');
    assert.deepEqual(fields(key), ['act%FFor:invalid_encoding']);
    // the largest code point and a zero-width space are text
    for (const v of ['%F4%8F%BF%BF', '%EF%BF%BF', '%E2%80%8B']) {
      assert.equal((await request('GET', `/v1/audit-events?actor=${v}`, { token: t })).status, 200, v);
    }
    assert.equal((await request('GET', '/readyz')).status, 200);
  });
});

describe('TRACE on a path under /v1 that no route matches', () => {
  const paths = ['/v1/nothing', '/v1%2Fnothing', '/v1/a/../nothing', '/v1/nothing?x=%00', `/v1/${'a'.repeat(3000)}`];

  it('404 not-found with the pool\'s 404 headers (Cache-Control, X-Request-Id, security headers, Vary)', async () => {
    const t = auditor();
    for (const path of paths) {
      const trace = await rawRequest('TRACE', path, t);
      const pool = await rawRequest('GET', '/v1/nothing', t);
      assert.equal(trace.status, 404, path);
      assert.equal(pool.status, 404);
      const body = JSON.parse(trace.text);
      assert.equal(body.type, '/problems/not-found', path);
      assert.equal(body.request_id, trace.headers['x-request-id'], path);
      assert.match(trace.headers['x-request-id'], /^[0-9a-f]{32}$/);
      assert.equal(trace.headers.allow, undefined, path);
      for (const h of ['cache-control', 'content-type', 'x-content-type-options', 'referrer-policy', 'x-frame-options',
        'strict-transport-security', 'vary', 'access-control-allow-origin']) {
        assert.equal(trace.headers[h], pool.headers[h], `${path}: ${h}`);
      }
    }
  });

  it('a route\'s own 405 keeps its Allow, whatever the path\'s spelling', async () => {
    const t = auditor();
    for (const path of ['/v1/children', '/v1//children', '/v1/./children', '/v1/x/../children', '/v1/%63hildren', '/v1%2Fchildren?q=1']) {
      const res = await rawRequest('TRACE', path, t);
      assert.equal(res.status, 405, path);
      assert.deepEqual(res.headers.allow.split(', ').sort(), ['GET', 'HEAD', 'POST'], path);
      assert.equal(JSON.parse(res.text).type, '/problems/method-not-allowed');
    }
  });

  it('nginx\'s own 404 carries the pool\'s Content-Security-Policy', async () => {
    const t = auditor();
    const trace = await rawRequest('TRACE', '/v1/nothing', t);
    const pool = await rawRequest('GET', '/v1/nothing', t);
    assert.equal(trace.headers['content-security-policy'], pool.headers['content-security-policy']);
    assert.ok(pool.headers['content-security-policy']);
    // nginx's 405 and its 400 for a malformed request line carry it too
    const refused = await rawRequest('TRACE', '/v1/children', t);
    assert.equal(refused.status, 405);
    assert.equal(refused.headers['content-security-policy'], pool.headers['content-security-policy']);
    const bad = await rawRequest('GET', '/v1/children/%', t);
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['content-security-policy'], pool.headers['content-security-policy']);
  });
});

// 018's definition, as it was before 065 restated it: the reference.
const DEF_018 = `create function pg_temp.visible_018(p_kind text, p_id uuid) returns boolean
language sql stable set search_path = safeguard, pg_temp
as $f$
	select case p_kind
		when 'child' then exists (select 1 from safeguard.children c where c.id = p_id)
		when 'family' then exists (select 1 from safeguard.families f where f.id = p_id)
		else exists (select 1 from safeguard.chronology_entries e where e.id = p_id)
	end
$f$`;

describe('065: sync_record_visible answers as 018\'s did', () => {
  // records of its own, so that the comparison is never vacuous when the
  // suite runs alone: a child police records (in police's network only)
  before(async () => {
    const police = tokenFor('police', 'practitioner', `today-police-${randomUUID().slice(0, 8)}`);
    const made = await request('POST', '/v1/children', {
      token: police, body: { first_name: 'Today', last_name: `Compare${randomUUID().slice(0, 6)}`, date_of_birth: '2014-05-06' },
    });
    assert.equal(made.status, 201, made.text);
  });

  it('for every role of every agency (and a subject that acted, and one that did not), over every kind of record', () => {
    const agencies = psql('select code from safeguard.agencies order by code').split('\n');
    const roleSets = [...ROLES, '', ROLES.join(',')];
    const ctx = [];
    for (const agency of agencies) {
      const subs = ['today-nobody', ...psql(`select distinct actor_sub from safeguard.audit_events
        where actor_agency = ${sql(agency)} and actor_sub is not null order by 1 limit 1`).split('\n').filter(Boolean)];
      for (const roles of roleSets) for (const sub of subs) ctx.push({ agency, roles, sub });
    }
    // Records of every kind (a bounded sample of each, the newest first:
    // the other suites' closed windows, referrals, cases and moves), an id
    // that is no record, and a kind that is none.
    const statements = [DEF_018, `create temp table recs as
      (select 'child'::text kind, id from safeguard.children order by created_at desc limit 150)
      union all (select 'family', id from safeguard.families order by id limit 150)
      union all (select 'chronology_entry', id from safeguard.chronology_entries order by id limit 150)
      union all select 'child', gen_random_uuid() union all select 'family', gen_random_uuid()
      union all (select 'no_such_kind', id from safeguard.chronology_entries limit 1)`,
    'grant select on pg_temp.recs to safeguard_api'];
    for (const c of ctx) {
      statements.push('set role safeguard_api',
        `select set_config('app.sub', ${sql(c.sub)}, false), set_config('app.agency', ${sql(c.agency)}, false),
           set_config('app.roles', ${sql(c.roles)}, false)`,
        `select 'ctx', ${sql(`${c.agency}/${c.roles}/${c.sub}`)},
           count(*) filter (where pg_temp.visible_018(kind, id) is distinct from safeguard.sync_record_visible(kind, id)),
           count(*) filter (where pg_temp.visible_018(kind, id)), count(*) from pg_temp.recs`,
        'reset role');
    }
    // one session (psql -c would print the last statement's rows only)
    const out = execFileSync('psql', [process.env.DATABASE_URL_ADMIN, '-XAtq', '-v', 'ON_ERROR_STOP=1'],
      { input: `${statements.join(';\n')};\n`, encoding: 'utf8', maxBuffer: 1 << 26 });
    const lines = out.split('\n').filter((l) => l.startsWith('ctx|'));
    assert.equal(lines.length, ctx.length);
    const rows = lines.map((l) => l.split('|')).map(([, who, diff, seen, all]) => ({ who, diff: +diff, seen: +seen, all: +all }));
    assert.deepEqual(rows.filter((r) => r.diff !== 0).map((r) => `${r.who}: ${r.diff} of ${r.all}`), []);
    // not vacuous: some callers see some records and not others
    assert.ok(rows.some((r) => r.seen > 0 && r.seen < r.all), 'no caller sees part of the records');
    assert.ok(rows.some((r) => r.seen === 0), 'every caller sees something');
  });
});
