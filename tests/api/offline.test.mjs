// An outreach worker's app that queues writes offline and retries them on a
// bad network (issue 13): an Idempotency-Key outlives a weekend (kept
// SG_IDEMPOTENCY_TTL, a week unless configured, range-checked at start), a
// PATCH honours the key exactly as a POST does (replay, 422 on another body
// or resource, 409 while in progress), a 412 carries the record's current
// ETag, and a PATCH names every bad field in one answer.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { request, psql } from './lib/client.mjs';
import { validateResponse, DOCUMENT } from './lib/openapi.mjs';
import { as, tokenFor } from './lib/people.mjs';
import { stopPool, assertSettingRange } from './lib/stack.mjs';

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const until = async (check, ms) => {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await check()) return true;
  return false;
};
const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;
const errorsOf = (res) => res.body.errors.map((e) => `${e.field}:${e.code}`).sort();

function problem(res, status, type) {
  assert.equal(res.status, status, `expected ${status} ${type}, got ${res.status}: ${res.text?.slice(0, 300)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(res.body.type, `/problems/${type}`);
  return res;
}

async function newChild(token, fields = {}) {
  const res = await request('POST', '/v1/children', {
    token, body: { first_name: 'Queued', last_name: `Offline-${randomUUID().slice(0, 8)}`, date_of_birth: '2012-05-05', ...fields },
  });
  assert.equal(res.status, 201, res.text);
  return res;
}

// Stops the pool and brings the stack up again with extra settings (the
// pool reads its configuration once, at start).
async function restartPool(env = {}) {
  assert.ok(await stopPool(), 'the pool stopped');
  execFileSync('bash', ['nginx/stack.sh', 'up', 'test'], {
    cwd: process.env.SG_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  // nginx's reload closes its old workers' idle keep-alive connections: let
  // fetch's pool see that before the next request goes out on one
  await sleep(300);
  assert.ok(await until(async () => (await request('GET', '/readyz', { validate: false }).catch(() => ({}))).status === 200, 10000),
    'the pool is ready');
}

// Moves a key's first answer back in time, as a queue held offline would find it.
const age = (sub, key, interval) => psql(`update safeguard.idempotency_keys set created_at = now() - interval ${lit(interval)}
  where sub = ${lit(sub)} and key = ${lit(key)} returning 1`);

describe('Idempotency-Key retention', () => {
  it('a key older than 24 hours but inside the week still replays; past the TTL it is a new request', async () => {
    const sub = `offline-${randomUUID()}`;
    const t = tokenFor('police', 'practitioner', sub);
    const key = `queue-${randomUUID()}`;
    const body = { first_name: 'Weekend', last_name: `Queue-${randomUUID().slice(0, 8)}`, date_of_birth: '2014-02-02' };
    const send = () => request('POST', '/v1/children', { token: t, body, headers: { 'Idempotency-Key': key } });
    const count = () => psql(`select count(*) from safeguard.children where last_name = ${lit(body.last_name)}`);

    const first = await send();
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers.get('idempotent-replayed'), null);

    // Friday evening to Monday morning: 62 hours, past the old 24; the app's
    // first request on Monday is another one of its queue (with its own key)
    assert.equal(age(sub, key, '62 hours'), '1');
    const stale = `stale-${randomUUID()}`;
    const other = await request('POST', '/v1/children', {
      token: t, body: { ...body, last_name: `${body.last_name}-b` }, headers: { 'Idempotency-Key': stale },
    });
    assert.equal(other.status, 201);
    const monday = await send();
    assert.equal(monday.status, 201, monday.text);
    assert.equal(monday.headers.get('idempotent-replayed'), 'true');
    assert.equal(monday.body.id, first.body.id);
    assert.equal(monday.headers.get('location'), first.headers.get('location'));
    assert.equal(count(), '1', 'nothing created twice');

    // six days and 23 hours: still inside the week
    assert.equal(age(sub, key, '6 days 23 hours'), '1');
    assert.equal((await send()).headers.get('idempotent-replayed'), 'true');
    assert.equal(count(), '1');

    // a key of the same caller that expired long ago goes with the next keyed request
    assert.equal(age(sub, stale, '8 days'), '1');

    // past the week: the key is gone, and the same request is a new one
    assert.equal(age(sub, key, '7 days 1 minute'), '1');
    const late = await send();
    assert.equal(late.status, 201, late.text);
    assert.equal(late.headers.get('idempotent-replayed'), null);
    assert.notEqual(late.body.id, first.body.id);
    assert.equal(count(), '2');
    // the key now holds the new answer, stored afresh; the stale key is gone
    assert.equal(psql(`select body::jsonb->>'id' from safeguard.idempotency_keys where sub = ${lit(sub)} and key = ${lit(key)}
      and created_at > now() - interval '1 minute'`), late.body.id);
    assert.equal(psql(`select count(*) from safeguard.idempotency_keys where sub = ${lit(sub)} and key = ${lit(stale)}`), '0');
    // and the retry of the new request replays it
    const again = await send();
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, late.body.id);
    assert.equal(count(), '2');
  });

  it('the deployment\'s SG_IDEMPOTENCY_TTL is the one that counts', async () => {
    await restartPool({ SG_IDEMPOTENCY_TTL: '3600' });
    try {
      const sub = `hourly-${randomUUID()}`;
      const t = tokenFor('police', 'practitioner', sub);
      const body = { first_name: 'Hourly', last_name: `Queue-${randomUUID().slice(0, 8)}`, date_of_birth: '2014-02-02' };
      const send = (key) => request('POST', '/v1/children', { token: t, body, headers: { 'Idempotency-Key': key } });
      const key = `hour-${randomUUID()}`;
      const first = await send(key);
      assert.equal(first.status, 201, first.text);
      assert.equal(age(sub, key, '50 minutes'), '1');
      assert.equal((await send(key)).headers.get('idempotent-replayed'), 'true');
      assert.equal(age(sub, key, '61 minutes'), '1');
      const late = await send(key);
      assert.equal(late.status, 201);
      assert.equal(late.headers.get('idempotent-replayed'), null);
      assert.equal(psql(`select count(*) from safeguard.children where last_name = ${lit(body.last_name)}`), '2');
    } finally {
      await restartPool();
    }
  });

  it('SG_IDEMPOTENCY_TTL is range-checked at start: out of range, the service refuses to start and says why', () => {
    assertSettingRange('SG_IDEMPOTENCY_TTL', [undefined, '', '3600', '604800', '2592000'],
      ['3599', '2592001', '0', '-604800', '7d', 'week', '604800 ', '1e6'],
      /refusing to start.*SG_IDEMPOTENCY_TTL must be an integer from 3600 to 2592000/);
  });

  it("an expired answer goes even when its caller never comes back; a live one stays", async () => {
    // stored answers can hold a child's data: the workers purge expired ones, whoever's (025)
    const gone = [`never-back-${randomUUID()}`, `lost-phone-${randomUUID()}`];
    const kept = `still-queued-${randomUUID()}`;
    // each as a worker stores it: with the deployment's TTL, a week here (050)
    const row = (sub, age) => `insert into safeguard.idempotency_keys (issuer, agency, sub, key, request_hash, status, content_type, body, keep_seconds, created_at)
      values ('https://idp.safeguard.test', 'police', ${lit(sub)}, 'k1', 'h', 201, 'application/json', '{"first_name":"Personal"}', 604800, now() - interval ${lit(age)})`;
    psql([row(gone[0], '8 days'), row(gone[1], '30 days'), row(kept, '6 days 23 hours')].join('; '));
    // a worker purges at start, when idle, then every few minutes
    await restartPool();
    const subs = [...gone, kept].map(lit).join(', ');
    assert.ok(await until(() => psql(`select count(*) from safeguard.idempotency_keys where sub in (${subs})`) === '1', 10000),
      'the expired answers were purged');
    assert.equal(psql(`select sub from safeguard.idempotency_keys where sub in (${subs})`), kept);
    // the API's own role cannot delete another caller's answers: the purge is the only way
    assert.equal(psql(`begin; set local role safeguard_api; select set_config('app.sub', 'x', true), set_config('app.agency', 'police', true);
      delete from safeguard.idempotency_keys where sub = ${lit(kept)}; commit; select count(*) from safeguard.idempotency_keys where sub = ${lit(kept)}`).split('\n').pop(), '1');
  });
});

describe('PATCH with Idempotency-Key', () => {
  it('a retried PATCH replays the first answer (status, body, ETag) and changes nothing twice', async () => {
    const sub = `patcher-${randomUUID()}`;
    const t = tokenFor('police', 'practitioner', sub);
    const child = (await newChild(t)).body;
    const path = `/v1/children/${child.id}`;
    const key = `patch-${randomUUID()}`;
    const send = (body = { preferred_name: 'Sunny' }, headers = {}, p = path) => request('PATCH', p, {
      token: t, body, headers: { 'If-Match': '"v1"', 'Idempotency-Key': key, ...headers },
    });

    const first = await send();
    assert.equal(first.status, 200, first.text);
    assert.match(first.headers.get('etag'), /^"v2-[0-9a-f]{16}"$/);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    // the answer was lost; the app sends the same request again, If-Match and all
    const retry = await send();
    assert.equal(retry.status, 200, retry.text);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.headers.get('etag'), first.headers.get('etag'));
    assert.deepEqual(retry.body, first.body);
    assert.equal(psql(`select version || ' ' || preferred_name from safeguard.children where id = '${child.id}'`), '2 Sunny');
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.update' and resource_id = '${child.id}'`), '1');
    // the replay shows the child's data again: audited as a read, marked as a replay
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.read' and resource_id = '${child.id}'
      and actor_sub = ${lit(sub)} and details->>'replay' = 'true' and details->>'original_action' = 'child.update'`), '1');
    // stored with the write: issuer, agency and subject, in the same transaction
    assert.equal(psql(`select count(*) from safeguard.idempotency_keys where sub = ${lit(sub)} and key = ${lit(key)}
      and agency = 'police' and issuer = ${lit(process.env.SG_ISSUER)} and status = 200 and headers like 'ETag: "v2-%'`), '1');

    // the same key with another body, or on another record: 422, nothing written
    problem(await send({ preferred_name: 'Other' }), 422, 'idempotency-key-reuse');
    const second = (await newChild(t)).body;
    problem(await send(undefined, {}, `/v1/children/${second.id}`), 422, 'idempotency-key-reuse');
    assert.equal(psql(`select version from safeguard.children where id in ('${child.id}', '${second.id}') order by version`), '1\n2');

    // the same key from another subject is another key (and meets the ETag rule)
    const stranger = await request('PATCH', path, {
      token: tokenFor('police', 'practitioner', `other-${randomUUID()}`), body: { preferred_name: 'Sunny' },
      headers: { 'If-Match': '"v1"', 'Idempotency-Key': key },
    });
    problem(stranger, 412, 'precondition-failed');
    assert.equal(stranger.headers.get('etag'), '"v2"');

    // without a key, the retry is the 412 it always was, now with the current ETag
    const unkeyed = await request('PATCH', path, { token: t, body: { preferred_name: 'Sunny' }, headers: { 'If-Match': '"v1"' } });
    problem(unkeyed, 412, 'precondition-failed');
    assert.equal(unkeyed.headers.get('etag'), '"v2"');

    // a malformed key is refused as on a POST
    const bad = await send(undefined, { 'Idempotency-Key': 'no spaces allowed' });
    assert.deepEqual(errorsOf(problem(bad, 400, 'validation-failed')), ['Idempotency-Key:invalid_format']);

    // a POST's key sent again on a PATCH is another request: 422
    const postKey = `post-${randomUUID()}`;
    const made = await request('POST', '/v1/children', {
      token: t, body: { first_name: 'Key', last_name: 'Reuse', date_of_birth: '2015-01-01' }, headers: { 'Idempotency-Key': postKey },
    });
    assert.equal(made.status, 201);
    problem(await request('PATCH', `/v1/children/${made.body.id}`, {
      token: t, body: { preferred_name: 'K' }, headers: { 'If-Match': '"v1"', 'Idempotency-Key': postKey },
    }), 422, 'idempotency-key-reuse');
  });

  it('while the first attempt is still running, the same key is 409 idempotency-in-progress with Retry-After', async () => {
    const t = tokenFor('police', 'practitioner', `busy-patch-${randomUUID()}`);
    const child = (await newChild(t)).body;
    const key = `busy-${randomUUID()}`;
    const send = () => request('PATCH', `/v1/children/${child.id}`, {
      token: t, body: { preferred_name: 'Busy' }, headers: { 'If-Match': '"v1"', 'Idempotency-Key': key },
    });
    // the first request stops at storing its answer, still holding its key
    const holder = spawn('psql', [process.env.DATABASE_URL_ADMIN, '-Xqc',
      'begin; lock table safeguard.idempotency_keys in exclusive mode; select pg_sleep(1.5); commit;'], { stdio: 'ignore' });
    try {
      assert.ok(await until(() => psql(`select count(*) from pg_locks where relation = 'safeguard.idempotency_keys'::regclass
        and mode = 'ExclusiveLock' and granted`) === '1', 3000), 'the table is locked');
      const first = send();
      assert.ok(await until(() => psql(`select count(*) from pg_locks where relation = 'safeguard.idempotency_keys'::regclass
        and not granted`) === '1', 3000), 'the first request waits on the lock');
      const second = problem(await send(), 409, 'idempotency-in-progress');
      assert.equal(second.headers.get('retry-after'), '1');
      assert.equal((await first).status, 200);
    } finally {
      holder.kill();
    }
    const after = await send();
    assert.equal(after.headers.get('idempotent-replayed'), 'true');
    assert.equal(psql(`select version from safeguard.children where id = '${child.id}'`), '2');
  });

  it('every PATCH operation of the contract takes Idempotency-Key and documents its 409 and 422; 412 documents the ETag', () => {
    const doc = YAML.parse(readFileSync(DOCUMENT, 'utf8'));
    const patches = Object.entries(doc.paths).filter(([, item]) => item.patch).map(([path, item]) => ({ path, op: item.patch }));
    assert.ok(patches.length >= 11, `${patches.length} PATCH operations`);
    for (const o of patches) {
      const refs = (o.op.parameters ?? []).map((p) => p.$ref);
      assert.ok(refs.includes('#/components/parameters/IdempotencyKey'), `${o.path}: Idempotency-Key`);
      for (const code of ['409', '412', '422']) assert.ok(o.op.responses[code], `${o.path}: ${code}`);
      assert.ok(o.op.responses['200'].headers?.['Idempotent-Replayed'], `${o.path}: Idempotent-Replayed`);
    }
    // a 412 without its ETag breaks the contract
    const bad = { type: '/problems/precondition-failed', title: 'Precondition Failed', status: 412, detail: 'd', request_id: 'r1' };
    assert.throws(() => validateResponse({ method: 'PATCH', path: `/v1/children/${randomUUID()}`, status: 412,
      headers: { 'content-type': 'application/problem+json', 'x-request-id': 'r1', 'cache-control': 'no-store' }, body: bad }), /ETag/i);
  });
});

describe('a 412 carries the current ETag', () => {
  it('on a family PATCH and on removing a member (DELETE)', async () => {
    const fam = await request('POST', '/v1/families', { token: as.cscSocialWorker, body: { name: 'The Retriers' } });
    assert.equal(fam.status, 201, fam.text);
    const c = (await newChild(as.cscSocialWorker)).body;
    const added = await request('POST', `/v1/families/${fam.body.id}/members`, {
      token: as.cscSocialWorker, body: { child_id: c.id, relationship: 'sibling' },
    });
    assert.equal(added.status, 201, added.text);
    const current = (await request('GET', `/v1/families/${fam.body.id}`, { token: as.cscSocialWorker })).headers.get('etag');
    const stale = await request('PATCH', `/v1/families/${fam.body.id}`, {
      token: as.cscSocialWorker, body: { name: 'Late' }, headers: { 'If-Match': '"v0"' },
    });
    problem(stale, 412, 'precondition-failed');
    // the current version: the GET's tag less the digest of its answer
    const version = current.replace(/-[0-9a-f]{16}"$/, '"');
    assert.notEqual(version, current);
    assert.equal(stale.headers.get('etag'), version);
    const gone = await request('DELETE', `/v1/families/${fam.body.id}/members/${c.id}`, {
      token: as.cscSocialWorker, headers: { 'If-Match': '"v0"' },
    });
    problem(gone, 412, 'precondition-failed');
    assert.equal(gone.headers.get('etag'), version);
    assert.equal(psql(`select count(*) from safeguard.children where family_id = '${fam.body.id}'`), '1');
    // and with that ETag the change goes through
    const ok = await request('DELETE', `/v1/families/${fam.body.id}/members/${c.id}`, {
      token: as.cscSocialWorker, headers: { 'If-Match': gone.headers.get('etag') },
    });
    assert.equal(ok.status, 204, ok.text);
  });
});

describe('a PATCH names every bad field at once', () => {
  it('a panel: the field checks and the panel\'s rules (which read its type) in one answer', async () => {
    const made = await request('POST', '/v1/panels', {
      token: as.admin, body: { type: 'risk_meeting', name: `ORM ${randomUUID().slice(0, 6)}`, chair_agency: 'police', member_agencies: ['csc'] },
    });
    assert.equal(made.status, 201, made.text);
    const path = `/v1/panels/${made.body.id}`;
    const bad = await request('PATCH', path, {
      token: as.admin, headers: { 'If-Match': '"v1"' },
      body: { name: 5, area: '', chair_agency: 'csc', member_agencies: ['health', 'health'], type: 'cme' },
    });
    assert.deepEqual(errorsOf(problem(bad, 400, 'validation-failed')), [
      'area:required', 'chair_agency:police_chair', 'member_agencies[1]:duplicate', 'name:invalid_type', 'type:read_only',
    ]);
    // a rule alone, and a field alone, are each reported too
    assert.deepEqual(errorsOf(problem(await request('PATCH', path, {
      token: as.admin, headers: { 'If-Match': '"v1"' }, body: { chair_agency: 'health' },
    }), 400, 'validation-failed')), ['chair_agency:police_chair']);
    assert.equal(psql(`select version || ' ' || chair_agency from safeguard.panels where id = '${made.body.id}'`), '1 police');
    // a valid change keeps the type, and its retry replays
    const key = `panel-${randomUUID()}`;
    const send = () => request('PATCH', path, { token: as.admin, headers: { 'If-Match': '"v1"', 'Idempotency-Key': key }, body: { area: 'North' } });
    const ok = await send();
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual([ok.body.type, ok.body.area, ok.body.version], ['risk_meeting', 'North', 2]);
    const again = await send();
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(psql(`select version || ' ' || type from safeguard.panels where id = '${made.body.id}'`), '2 risk_meeting');
    const stale = problem(await request('PATCH', path, { token: as.admin, headers: { 'If-Match': '"v1"' }, body: { area: 'South' } }), 412, 'precondition-failed');
    assert.equal(stale.headers.get('etag'), '"v2"');
  });
});
