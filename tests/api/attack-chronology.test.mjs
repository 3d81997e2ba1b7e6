// A second hostile review of the chronology (entries, requests, the
// consolidated timeline), the token layer and nginx, after issue 8 was fixed.
// One describe per finding: findings 1-5 were fixed with these tests and
// assert the fixed behaviour; findings 6-10 need a migration or a change in
// another area, so their tests are marked `todo` (they run and report, but do
// not fail the suite) and say where the fix belongs: drop the `todo` with the
// fix.  The last describe keeps what held, as regressions to watch.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request, psql } from './lib/client.mjs';
import { as, tokenFor } from './lib/people.mjs';
import { mint, split, segments, twinS, es256 } from './lib/tokens.mjs';
import { who, makePanel, makeChild, refer } from './lib/panels.mjs';

const day = (offset) => {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
};
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

async function post(path, token, body, status = 201, headers = {}) {
  const res = await request('POST', path, { token, body, headers });
  assert.equal(res.status, status, `${path}: ${res.text.slice(0, 300)}`);
  return res.body;
}

const newChild = (token = as.cscSocialWorker) =>
  post('/v1/children', token, { first_name: 'Atk', last_name: 'Child', date_of_birth: '2012-03-04' });

// A CSC family of n children with a carer; the agencies given declared into
// every child's network.
async function newFamily(n, agencies = [], carer = '07700 900111') {
  const fam = await post('/v1/families', as.cscSocialWorker, {
    name: `Attack ${randomUUID().slice(0, 8)}`, carers: [{ name: 'Pat Carer', relationship: 'mother', contact: carer }],
  });
  const children = [];
  for (let i = 0; i < n; i++) {
    const c = await newChild();
    await post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: c.id, relationship: 'sibling' });
    for (const token of agencies) await post(`/v1/children/${c.id}/involvements`, token, { reason: 'working with the family' });
    children.push(c);
  }
  return { fam, children };
}

const entry = (childIds, fields = {}) => ({
  child_ids: childIds, event_date: day(-10), date_precision: 'day', category: 'home_visit',
  summary: 'visited the family', impact: 'neutral', significance: 'low', action_taken: 'recorded', ...fields,
});

const requestBody = (fields) => ({
  agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: day(-400), period_to: day(0), respond_by: day(7), share_until: inSeconds(3600), ...fields,
});

const shared = (requestId) => psql(`select coalesce(string_agg(entry_id::text, ',' order by entry_id), '')
  from safeguard.chronology_contributions where request_id = '${requestId}'`);
const sorted = (ids) => [...ids].sort().join(',');

// Runs sql as the API's database role with the identity of agency: only
// row-level security stands between it and the tables.  The output, or the
// error's first line.
function asRole(agency, sub, roles, sql) {
  try {
    return psql(`begin; set local role safeguard_api;
      select from (select set_config('app.sub', '${sub}', true), set_config('app.agency', '${agency}', true),
        set_config('app.roles', '${roles}', true)) identity;
      ${sql}; rollback;`);
  } catch (e) {
    return e.message.split('\n')[0];
  }
}

const tally = (answers) => answers.reduce((t, r) => ({ ...t, [r.status]: (t[r.status] || 0) + 1 }), {});

// ---- fixed here ---------------------------------------------------------------

describe('finding 1: sharing an entry that is already shared answered 500', () => {
  it('a contribution that keeps, adds and drops entries answers 200 and leaves exactly the new set', async () => {
    const c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const [e1, e2, e3] = [await post('/v1/chronology-entries', as.police, entry([c.id])),
      await post('/v1/chronology-entries', as.police, entry([c.id])), await post('/v1/chronology-entries', as.police, entry([c.id]))];
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id }));
    const url = `/v1/chronology-requests/${r.id}/contributions`;
    await post(url, as.police, { entry_ids: [e1.id] }, 200);
    // e1 again, with e2: this was a unique violation (500) on every try
    await post(url, as.police, { entry_ids: [e1.id, e2.id] }, 200);
    assert.equal(shared(r.id), sorted([e1.id, e2.id]));
    await post(url, as.police, { entry_ids: [e2.id.toUpperCase(), e3.id] }, 200);
    assert.equal(shared(r.id), sorted([e2.id, e3.id]));
    await post(url, as.police2, { entry_ids: [e3.id] }, 200);
    assert.equal(shared(r.id), e3.id);
    const cons = await request('GET', `/v1/chronology-requests/${r.id}/chronology`, { token: as.cscSocialWorker });
    assert.deepEqual(cons.body.entries.map((e) => e.id), [e3.id]);
    await post(url, as.police, { no_involvement: true }, 200);
    assert.equal(shared(r.id), '');
  });
});

describe('finding 2: concurrent contributions of one agency answered 500', () => {
  it('twelve at once from two police officers all answer 200, and one set is left', async () => {
    const c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await post('/v1/chronology-entries', as.police, entry([c.id]))).id);
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id }));
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => request('POST', `/v1/chronology-requests/${r.id}/contributions`, {
      token: i % 2 ? as.police : as.police2, body: { entry_ids: i % 3 ? ids : ids.slice(0, 2) },
    })));
    assert.deepEqual(tally(answers), { 200: 12 }, answers.map((a) => a.text.slice(0, 120)).join('\n'));
    // serialised: the result is one of the sets sent, never a mixture
    assert.ok([sorted(ids), sorted(ids.slice(0, 2))].includes(shared(r.id)), shared(r.id));
  });
});

describe('finding 3: concurrent withdrawals of one entry both succeeded, and others answered 500', () => {
  it('ten at once: one 200, nine 409 conflict, one version recorded, the first reason kept', async () => {
    const c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const e = await post('/v1/chronology-entries', as.police, entry([c.id]));
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => request('POST', `/v1/chronology-entries/${e.id}/withdrawal`, {
      token: as.police, body: { reason: `reason ${i}` },
    })));
    assert.deepEqual(tally(answers), { 200: 1, 409: 9 });
    for (const a of answers.filter((x) => x.status === 409)) assert.equal(a.body.type, '/problems/conflict');
    const won = answers.find((a) => a.status === 200).body;
    assert.equal(psql(`select withdrawn_reason || '|' || version from safeguard.chronology_entries where id = '${e.id}'`), `${won.withdrawn_reason}|2`);
    assert.equal(psql(`select string_agg(version::text, ',') from safeguard.chronology_entry_versions where entry_id = '${e.id}'`), '1');
    const versions = await request('GET', `/v1/chronology-entries/${e.id}/versions`, { token: as.police });
    assert.deepEqual(versions.body.items.map((v) => v.version), [1, 2]);
  });
});

describe('finding 4: nginx redirects named the client\'s Host header, and /v1 answered an HTML page', () => {
  it('the /docs redirect names a path only, whatever Host says', async () => {
    // fetch() will not send another Host: node:http will
    const res = await new Promise((resolve, reject) => {
      const req = http.get(`${process.env.SG_BASE_URL}/docs`, { headers: { Host: 'evil.example' } }, (r) => {
        r.resume();
        r.on('end', () => resolve(r));
      });
      req.on('error', reject);
    });
    assert.equal(res.statusCode, 301);
    assert.equal(res.headers.location, '/docs/');
  });

  it('/v1 is a problem+json 404, not a redirect to /v1/', async () => {
    const res = await request('GET', '/v1', { validate: false });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type'), /^application\/problem\+json/);
    assert.equal(res.body.type, '/problems/not-found');
    assert.equal(res.headers.get('location'), null);
  });
});

describe('finding 5: one header made nginx spend a quarter of a second in its rate-limit regex', () => {
  // "Bearer", 30,000 spaces and no dot: the per-token map's \s+ followed by
  // .* backtracked quadratically until PCRE's match limit (error -47, an
  // alert with the whole header in the error log), so a few such requests a
  // second from one address stalled every client.  The answer was always a
  // 401; what shows the backtracking is the match limit in nginx's log.
  it('the header is answered 401 without PCRE reaching its match limit', async () => {
    const log = join(process.env.SG_VAR, 'log', 'nginx-error.log');
    const size = existsSync(log) ? statSync(log).size : 0;
    for (const ws of [' ', '\t']) {
      const res = await fetch(`${process.env.SG_BASE_URL}/v1/me`, { headers: { Authorization: `Bearer${ws.repeat(30000)}x` } });
      assert.equal(res.status, 401);
      assert.equal((await res.json()).type, '/problems/unauthorized');
    }
    const added = existsSync(log) ? readFileSync(log).subarray(size).toString('latin1') : '';
    assert.doesNotMatch(added, /pcre2?_(match|exec)\(\) failed/);
  });
});

// ---- not fixed here: write-ups in the report, tests that fail today ------------

describe('finding 6: an invited agency may change the child and its family (005 made the invitation a write grant)', () => {
  // DESIGN section 4: read/update a child or family is CSC's and the network's;
  // an invited agency "sees the child" while the request is live.  005 put
  // the invitation into child_visible and family_visible, which the update
  // policies and the C checks (kit_child_visible) also use, so the invitation
  // became a write grant.  Fix: a migration giving children_update and
  // families_update a network-only test (csc, child_in_network, the family's
  // creator), and the children and families handlers a 403 for a record the
  // caller sees only through an invitation.
  let fam, kid;
  before(async () => {
    ({ fam, children: [kid] } = await newFamily(1));
    await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
  });

  it('PATCH of the child by the invited police officer is refused and changes nothing', { todo: 'needs a migration: update policies on the network, not child_visible' }, async () => {
    const seen = await request('GET', `/v1/children/${kid.id}`, { token: as.police });
    assert.equal(seen.status, 200, 'police reads the child while invited');
    const res = await request('PATCH', `/v1/children/${kid.id}`, {
      token: as.police, body: { preferred_name: 'Changed by police' }, headers: { 'If-Match': seen.headers.get('etag') },
    });
    assert.ok([403, 404].includes(res.status), `PATCH answered ${res.status}`);
    assert.equal(psql(`select coalesce(preferred_name, '-') from safeguard.children where id = '${kid.id}'`), '-');
  });

  it('PATCH of the family (its carers) by the invited police officer is refused', { todo: 'needs a migration: families_update on the network' }, async () => {
    const seen = await request('GET', `/v1/families/${fam.id}`, { token: as.police });
    assert.equal(seen.status, 200);
    const res = await request('PATCH', `/v1/families/${fam.id}`, {
      token: as.police, body: { carers: [] }, headers: { 'If-Match': seen.headers.get('etag') },
    });
    assert.ok([403, 404].includes(res.status), `PATCH answered ${res.status}`);
    assert.equal(psql(`select jsonb_array_length(carers) from safeguard.families where id = '${fam.id}'`), '1');
  });

  it('row-level security alone refuses the invited agency an update of the child', { todo: 'needs a migration' }, () => {
    assert.equal(asRole('police', 'pc-alice', 'practitioner',
      `with u as (update safeguard.children set preferred_name = 'rls' where id = '${kid.id}' returning 1) select count(*) from u`), '0');
  });

  // 007 added the open panel referral to child_visible the same way: an
  // agency sitting on the panel may change the referred child.
  it('PATCH of a child by an agency that sits on a panel with its open referral is refused', { todo: 'needs a migration: update policies on the network' }, async () => {
    const panel = await makePanel({ members: ['youth_justice', 'csc', 'voluntary'] });
    const child = await makeChild('csc');
    await refer(panel, child);
    const voluntary = who('voluntary', 'practitioner');
    const seen = await request('GET', `/v1/children/${child.id}`, { token: voluntary });
    assert.equal(seen.status, 200, 'the panel member agency reads the child');
    const res = await request('PATCH', `/v1/children/${child.id}`, {
      token: voluntary, body: { preferred_name: 'Changed by a panel member' }, headers: { 'If-Match': seen.headers.get('etag') },
    });
    assert.ok([403, 404].includes(res.status), `PATCH answered ${res.status}`);
    assert.equal(psql(`select coalesce(preferred_name, '-') from safeguard.children where id = '${child.id}'`), '-');
  });
});

describe('finding 7: the invitation follows a subject child into a family the request never named', () => {
  // A request about family F invites police; CSC moves F's child B into
  // family G while it is open.  B stays a subject (subjects are fixed when
  // the request opens), and family_visible opens any family with a visible
  // child, so police now reads G's carers and their phone numbers.  Fix (a
  // migration): through an invitation, family_visible opens only the family
  // the request was opened for (chronology_requests.family_id) or, for a
  // request about one child, that child's family when it opened (to be
  // recorded on the request).
  it('police, invited for family F, does not read family G after CSC moves a child there', { todo: 'needs a migration: family_visible by the request\'s family' }, async () => {
    const { fam, children } = await newFamily(2);
    const other = await post('/v1/families', as.cscSocialWorker, { name: 'Unrelated', carers: [{ name: 'Sam Other', relationship: 'father', contact: '07700 900222' }] });
    await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
    assert.equal((await request('GET', `/v1/families/${other.id}`, { token: as.police })).status, 404, 'before the move');
    const etag = (await request('GET', `/v1/families/${fam.id}`, { token: as.cscSocialWorker })).headers.get('etag');
    const out = await request('DELETE', `/v1/families/${fam.id}/members/${children[1].id}`, { token: as.cscSocialWorker, headers: { 'If-Match': etag } });
    assert.equal(out.status, 204);
    await post(`/v1/families/${other.id}/members`, as.cscSocialWorker, { child_id: children[1].id, relationship: 'sibling' });
    const res = await request('GET', `/v1/families/${other.id}`, { token: as.police });
    assert.equal(res.status, 404, `police reads the other family's carers: ${res.text.slice(0, 200)}`);
  });
});

describe('finding 8: row-level security alone does not stop what the C stops, across agencies', () => {
  // The C refuses both (403 not invited, 422 not eligible; entries are only
  // given children when created).  Fix (a migration):
  //   contributions_write: also invited to the request, the request open, and
  //     the entry about one of its subject children;
  //   entry_children_create: also the entry's agency is the caller's (and the
  //     entry has no children yet, or only its author adds them).
  let kid, hers, r;
  before(async () => {
    kid = await newChild();
    await post(`/v1/children/${kid.id}/involvements`, as.police, { reason: 'x' });
    const own = await newChild(as.health);
    hers = await post('/v1/chronology-entries', as.health, entry([own.id]));
    r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: kid.id, agencies: ['police'] }));
  });

  it('the API refuses health a contribution to a request it was not asked to (404: it may not see it)', async () => {
    const res = await request('POST', `/v1/chronology-requests/${r.id}/contributions`, { token: as.health, body: { entry_ids: [hers.id] } });
    assert.equal(res.status, 404);
    assert.equal(res.body.type, '/problems/not-found');
    assert.equal(shared(r.id), '');
  });

  it('row-level security alone refuses the same insert', { todo: 'needs a migration: contributions_write' }, () => {
    const out = asRole('health', 'nurse-hana', 'practitioner',
      `insert into safeguard.chronology_contributions values ('${r.id}', 'health', '${hers.id}'); select 'inserted'`);
    assert.match(out, /row-level security/, out);
  });

  it('row-level security alone refuses police attaching a child to health\'s entry', { todo: 'needs a migration: entry_children_create' }, () => {
    const out = asRole('police', 'pc-alice', 'practitioner',
      `insert into safeguard.chronology_entry_children values ('${hers.id}', '${kid.id}'); select 'inserted'`);
    assert.match(out, /row-level security/, out);
  });

  // Each of these gives another agency access to a child, which the C never
  // does after a request opens (and never past SG_MAX_SHARE_DAYS); the
  // policies let any CSC session do them.  Fix (a migration): no insert into
  // chronology_request_children or chronology_request_agencies for a request
  // that already has them (or only in the transaction that created it), and
  // requests_close allowing only closed_at/closed_by to change (a trigger or
  // column grants), with a hard cap on share_until (check share_until <=
  // created_at + interval '3650 days', the largest SG_MAX_SHARE_DAYS).
  it('row-level security alone refuses a CSC session widening an open request', { todo: 'needs a migration: request children, agencies and window fixed once opened' }, () => {
    const other = psql(`select id from safeguard.children where id <> '${kid.id}' limit 1`);
    for (const sql of [
      `insert into safeguard.chronology_request_children values ('${r.id}', '${other}'); select 'inserted'`,
      `insert into safeguard.chronology_request_agencies (request_id, agency) values ('${r.id}', 'voluntary'); select 'inserted'`,
      `update safeguard.chronology_requests set share_until = '9999-12-31' where id = '${r.id}'; select 'updated'`,
    ]) {
      const out = asRole('csc', 'csc-prac', 'practitioner', sql);
      assert.match(out, /row-level security|violates/, `${sql}: ${out}`);
    }
  });
});

describe('finding 9: a narrative within 10,000 characters is refused when it is over 20,000 bytes', () => {
  // jsonx's string cap (api/core/worker.c, max_string 20000) counts bytes,
  // the field specs characters: details may hold 10,000 characters, which is
  // up to 40,000 bytes of UTF-8.  Fix: max_string 40000 (4 x the longest
  // string any spec allows).
  it('details of 10,000 emoji (40,000 bytes) are accepted', { todo: 'api/core/worker.c: max_string 40000' }, async () => {
    const c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const res = await request('POST', '/v1/chronology-entries', { token: as.police, body: entry([c.id], { details: '\u{1F600}'.repeat(10000) }) });
    assert.equal(res.status, 201, res.text.slice(0, 200));
  });

  it('but 10,001 characters are refused by the field spec (400 validation-failed)', async () => {
    const c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const res = await request('POST', '/v1/chronology-entries', { token: as.police, body: entry([c.id], { details: 'x'.repeat(10001) }) });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e) => `${e.field}:${e.code}`), ['details:too_long']);
  });
});

describe('finding 10: requests with a forged signature drain the rate-limit bucket of the token they copy', () => {
  // nginx keys the per-token limit on header.payload, so that both ES256
  // twins share a bucket; nginx cannot verify signatures, so a request with
  // a victim's header.payload and any signature (401) is charged to the
  // victim's bucket.  The claims of a token are not secret (base64, not
  // encrypted): whoever has seen them can keep its holder at 429 from any
  // address.  Fix: limit per verified caller in the pool (a shared-memory
  // bucket keyed by issuer and jti, or sub, after verification) and keep
  // nginx's per-token zone for unverified floods only, or key nginx on the
  // whole token and accept the twin's second bucket.
  it('a flood of forged requests does not keep the real token at 429', { todo: 'needs a per-caller limit after verification' }, async () => {
    const victim = es256({ sub: `victim-${randomUUID()}` });
    const [h, p] = split(victim);
    const forged = `Bearer ${segments(h, p, 'A'.repeat(86))}`;
    const get = (authorization) => fetch(`${process.env.SG_BASE_URL}/v1/me`, { headers: { Authorization: authorization } })
      .then(async (r) => { await r.text(); return r.status; });
    // the flood runs until the victim has asked ten times, each time just
    // after a forged request was refused for its bucket (so the bucket is
    // full whatever the machine's load)
    let stop = false;
    let full = false;
    const flood = Array.from({ length: 16 }, async () => {
      while (!stop) {
        const status = await get(forged);
        assert.notEqual(status, 200);
        if (status === 429) full = true;
      }
    });
    const mine = [];
    for (let waited = 0; mine.length < 10 && waited < 20000; waited += 5) {
      if (full) {
        full = false;
        mine.push(await get(`Bearer ${victim}`));
      } else {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    stop = true;
    await Promise.all(flood);
    assert.equal(mine.length, 10, 'the flood never filled the bucket');
    assert.deepEqual(mine, Array(10).fill(200));
  });
});

// ---- what held ---------------------------------------------------------------------

describe('held: what the attacks did not break', () => {
  it('an Idempotency-Key of the same sub under another agency is another key: no replay of police\'s entry to health (006)', async () => {
    const c = await newChild();
    const sub = `shared-${randomUUID()}`;
    const police = tokenFor('police', 'practitioner', sub);
    const health = tokenFor('health', 'practitioner', sub);
    for (const t of [police, health]) await post(`/v1/children/${c.id}/involvements`, t, { reason: 'x' });
    const key = { 'Idempotency-Key': `k-${randomUUID()}` };
    const first = await post('/v1/chronology-entries', police, entry([c.id]), 201, key);
    assert.equal(first.agency, 'police');
    const res = await request('POST', '/v1/chronology-entries', { token: health, body: entry([c.id]), headers: key });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('idempotent-replayed'), null, 'a replay of police\'s answer');
    assert.equal(res.body.agency, 'health');
  });

  it('an invited police lead may not take a child out of CSC\'s family (family_manageable, 006)', async () => {
    const { fam: f, children: [, second] } = await newFamily(2);
    await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: f.id }));
    const seen = await request('GET', `/v1/families/${f.id}`, { token: as.policeLead });
    assert.equal(seen.status, 200);
    const res = await request('DELETE', `/v1/families/${f.id}/members/${second.id}`, { token: as.policeLead, headers: { 'If-Match': seen.headers.get('etag') } });
    assert.ok([403, 404].includes(res.status), `DELETE answered ${res.status}`);
    assert.equal(psql(`select family_id from safeguard.children where id = '${second.id}'`), f.id);
  });

  it('an invited agency loses a shared entry, its versions and the timeline when the window passes', async () => {
    const { children: [c] } = await newFamily(1, [as.police]);
    const e = await post('/v1/chronology-entries', as.police, entry([c.id]));
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id, agencies: ['police', 'health'] }));
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.police, { entry_ids: [e.id] }, 200);
    const paths = [`/v1/chronology-entries/${e.id}`, `/v1/chronology-entries/${e.id}/versions`, `/v1/chronology-requests/${r.id}/chronology`];
    for (const p of paths) assert.equal((await request('GET', p, { token: as.health })).status, 200, p);
    psql(`update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = '${r.id}'`);
    for (const p of paths) assert.equal((await request('GET', p, { token: as.health })).status, 404, p);
    const late = await request('POST', `/v1/chronology-requests/${r.id}/contributions`, { token: as.health, body: { no_involvement: true } });
    assert.equal(late.status, 409);
    assert.equal(asRole('health', 'nurse-hana', 'practitioner',
      `select count(*) from safeguard.chronology_entries where id = '${e.id}'`), '0');
  });

  it('contributions refuse another agency\'s entry, a withdrawn entry and an entry about a sibling not asked about', async () => {
    const { children: [a, b] } = await newFamily(2, [as.police, as.health]);
    const theirs = await post('/v1/chronology-entries', as.health, entry([a.id]));
    const gone = await post('/v1/chronology-entries', as.police, entry([a.id]));
    await post(`/v1/chronology-entries/${gone.id}/withdrawal`, as.police, { reason: 'wrong child' }, 200);
    const sibling = await post('/v1/chronology-entries', as.police, entry([b.id]));
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: a.id }));
    const res = await request('POST', `/v1/chronology-requests/${r.id}/contributions`, { token: as.police, body: { entry_ids: [theirs.id, gone.id, sibling.id] } });
    assert.equal(res.status, 422);
    assert.deepEqual(res.body.errors.map((x) => `${x.field}:${x.code}`), ['entry_ids[0]:not_eligible', 'entry_ids[1]:not_eligible', 'entry_ids[2]:not_eligible']);
    assert.equal(shared(r.id), '');
  });

  it('a cursor from another route or caller only moves a position; a mismatched one is 400 invalid-cursor', async () => {
    const c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    for (let i = 0; i < 2; i++) await post('/v1/chronology-entries', as.police, entry([c.id]));
    const list = await request('GET', '/v1/chronology-requests?limit=1', { token: as.cscSocialWorker });
    assert.ok(list.body.next_cursor);
    const res = await request('GET', `/v1/children/${c.id}/chronology?cursor=${encodeURIComponent(list.body.next_cursor)}`, { token: as.police });
    assert.equal(res.status, 400);
    assert.equal(res.body.type, '/problems/invalid-cursor');
    const page = await request('GET', `/v1/children/${c.id}/chronology?limit=1`, { token: as.police });
    const csc = await request('GET', `/v1/children/${c.id}/chronology?cursor=${encodeURIComponent(page.body.next_cursor)}`, { token: as.cscLead });
    assert.equal(csc.status, 200);
    assert.ok(csc.body.items.every((x) => x.agency === 'police'), 'CSC reads what it may, from that position');
  });

  it('a revoked jti refuses both ES256 signature twins', async () => {
    const jti = `twin-${randomUUID()}`;
    const tok = mint({ kid: 'dev-es256', claims: { jti } });
    const [h, p, s] = split(tok);
    const twin = segments(h, p, twinS(Buffer.from(s, 'base64url')).toString('base64url'));
    for (const t of [tok, twin]) assert.equal((await request('GET', '/v1/me', { token: t })).status, 200);
    await post('/v1/token-revocations', as.admin, { jti });
    for (const t of [tok, twin]) assert.equal((await request('GET', '/v1/me', { token: t })).status, 401);
  });

  it('row-level security alone hides police\'s entries, versions, requests and contributions from another agency', async () => {
    const c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const e = await post('/v1/chronology-entries', as.police, entry([c.id]));
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id }));
    const elsewhere = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id, agencies: ['voluntary'] }));
    await post(`/v1/chronology-requests/${r.id}/contributions`, as.police, { entry_ids: [e.id] }, 200);
    await post(`/v1/chronology-entries/${e.id}/withdrawal`, as.police, { reason: 'x' }, 200);
    const counts = asRole('health', 'nurse-hana', 'safeguarding_lead', `select
      (select count(*) from safeguard.chronology_entries where id = '${e.id}') || ',' ||
      (select count(*) from safeguard.chronology_entry_children where entry_id = '${e.id}') || ',' ||
      (select count(*) from safeguard.chronology_entry_versions where entry_id = '${e.id}') || ',' ||
      (select count(*) from safeguard.chronology_requests where id = '${r.id}') || ',' ||
      (select count(*) from safeguard.chronology_contributions where request_id = '${r.id}') || ',' ||
      (select count(*) from safeguard.chronology_request_children where request_id = '${r.id}') || ',' ||
      length(safeguard.consolidated_json('${r.id}'))`);
    assert.equal(counts, '0,0,0,0,0,0,2');
    for (const sql of [
      `insert into safeguard.chronology_request_agencies (request_id, agency) values ('${r.id}', 'voluntary')`,
      `insert into safeguard.chronology_request_children values ('${r.id}', '${c.id}')`,
      // police moving its invitation to a request it was not asked to
      `update safeguard.chronology_request_agencies set request_id = '${elsewhere.id}' where request_id = '${r.id}' and agency = 'police'`,
    ]) assert.match(asRole('police', 'pc-alice', 'practitioner', sql), /row-level security/, sql);
    assert.equal(asRole('health', 'nurse-hana', 'safeguarding_lead',
      `with u as (update safeguard.chronology_entries set summary = 'x' where id = '${e.id}' returning 1) select count(*) from u`), '0');
  });
});
