// A second hostile review of the chronology (entries, requests, the
// consolidated timeline), the token layer and nginx, after issue 8 was fixed.
// One describe per finding: findings 1-5 were fixed with these tests and
// findings 6-9 after the review (migration 013, the children and families
// handlers, the JSON string cap), with the review's decision on closed
// requests; all assert the fixed behaviour.  Finding 10 needs a change in
// another area, so its test is marked `todo` (it runs and reports, but does
// not fail the suite) and says where the fix belongs: drop the `todo` with
// the fix.  The last describe keeps what held, as regressions to watch.
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
import { checkConfig } from './lib/stack.mjs';

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

// ---- fixed after the review (migration 013 and the C beside it) ----------------

// What row-level security lets a session of agency change: the count of rows
// an update touched, or the error's first line.
const rlsUpdated = (agency, sub, roles, table, set, id) => asRole(agency, sub, roles,
  `with u as (update safeguard.${table} set ${set} where id = '${id}' returning 1) select count(*) from u`);

function forbidden(res, why) {
  assert.equal(res.status, 403, res.text.slice(0, 300));
  assert.equal(res.body.type, '/problems/forbidden');
  assert.match(res.body.detail, why);
}

// A child in a CSC family of its own (one carer), to be invited or referred.
async function childInFamily() {
  const { fam, children: [kid] } = await newFamily(1);
  return { fam, kid };
}

// The invited or panel agency (token, its database identity) reads the child
// and its family, and may change neither: 403 saying why on both PATCHes,
// nothing changed, and row-level security alone touches no row.
async function readsButMayNotChange({ token, agency, sub, roles }, fam, kid) {
  const child = await request('GET', `/v1/children/${kid.id}`, { token });
  assert.equal(child.status, 200, 'it reads the child');
  const family = await request('GET', `/v1/families/${fam.id}`, { token });
  assert.equal(family.status, 200, 'it reads the family');
  forbidden(await request('PATCH', `/v1/children/${kid.id}`, {
    token, body: { preferred_name: 'Changed' }, headers: { 'If-Match': child.headers.get('etag') },
  }), /lets it read but not change the record/);
  forbidden(await request('PATCH', `/v1/families/${fam.id}`, {
    token, body: { carers: [] }, headers: { 'If-Match': family.headers.get('etag') },
  }), /lets it read but not change it/);
  assert.equal(psql(`select coalesce(preferred_name, '-') || ',' || version from safeguard.children where id = '${kid.id}'`), `-,${child.body.version}`);
  assert.equal(psql(`select jsonb_array_length(carers) || ',' || version from safeguard.families where id = '${fam.id}'`), `1,${fam.version + 1}`);
  assert.equal(rlsUpdated(agency, sub, roles, 'children', "preferred_name = 'rls'", kid.id), '0');
  assert.equal(rlsUpdated(agency, sub, roles, 'families', 'carers = \'[]\'', fam.id), '0');
}

describe('finding 6: an invited agency or a panel member agency may change the child and its family', () => {
  // DESIGN section 4: read/update a child or family is CSC's and the
  // network's.  005 and 007 put invitations and open panel referrals into
  // child_visible, which the update policies used too.  013: children_update
  // and families_update ask child_writable/family_writable (the network), and
  // the handlers answer 403 to a caller who sees the record but may not
  // change it (kit_child_writable; families.c).
  it('an invited police officer reads the child and its family but changes neither (403, nothing written, RLS alone too)', async () => {
    const { fam, kid } = await childInFamily();
    await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
    await readsButMayNotChange({ token: as.police, agency: 'police', sub: 'pc-alice', roles: 'practitioner' }, fam, kid);
  });

  it('an agency sitting on a panel with the child\'s open referral reads but changes neither', async () => {
    const { fam, kid } = await childInFamily();
    const panel = await makePanel({ members: ['youth_justice', 'csc', 'voluntary'] });
    await refer(panel, kid);
    const sub = `vol-${randomUUID().slice(0, 8)}`;
    await readsButMayNotChange({ token: tokenFor('voluntary', 'practitioner', sub), agency: 'voluntary', sub, roles: 'practitioner' }, fam, kid);
  });

  it('an invited agency may not take the child into a family it created (422 not_in_network) nor out of one (403)', async () => {
    const { fam, kid } = await childInFamily();
    const lone = await newChild();
    await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: lone.id }));
    const own = await post('/v1/families', as.policeLead, { name: 'Police family' });
    const res = await request('POST', `/v1/families/${own.id}/members`, { token: as.policeLead, body: { child_id: lone.id, relationship: 'child' } });
    assert.equal(res.status, 422);
    assert.equal(res.body.type, '/problems/invalid-reference');
    assert.deepEqual(res.body.errors.map((e) => `${e.field}:${e.code}`), ['child_id:not_in_network']);
    assert.equal(psql(`select coalesce(family_id::text, '-') from safeguard.children where id = '${lone.id}'`), '-');
    // a family police created, with a CSC child in it that police only reads
    const etag = (await request('GET', `/v1/families/${fam.id}`, { token: as.cscSocialWorker })).headers.get('etag');
    assert.equal((await request('DELETE', `/v1/families/${fam.id}/members/${kid.id}`, { token: as.cscSocialWorker, headers: { 'If-Match': etag } })).status, 204);
    await post(`/v1/families/${own.id}/members`, as.cscSocialWorker, { child_id: kid.id, relationship: 'child' });
    await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: kid.id }));
    const ownEtag = (await request('GET', `/v1/families/${own.id}`, { token: as.policeLead })).headers.get('etag');
    forbidden(await request('DELETE', `/v1/families/${own.id}/members/${kid.id}`, { token: as.policeLead, headers: { 'If-Match': ownEtag } }),
      /lets it read but not change the record/);
    assert.equal(psql(`select family_id from safeguard.children where id = '${kid.id}'`), own.id);
  });

  it('an invited agency may not notify a child missing education, which sets the child\'s register entry (403)', async () => {
    const c = await newChild();
    await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id }));
    const res = await request('POST', '/v1/cme-cases', { token: as.police, body: {
      child_id: c.id, reason: 'not_attending', since: day(-3), school_urn: '123456', school_name: 'Demo Academy', what_is_known: 'not seen',
    } });
    forbidden(res, /lets it read but not change the record/);
    assert.equal(psql(`select count(*) || ',' || (select education_status from safeguard.children where id = '${c.id}')
      from safeguard.cme_cases where child_id = '${c.id}'`), '0,on_roll');
    assert.match(asRole('police', 'pc-alice', 'practitioner', `insert into safeguard.cme_cases (id, child_id, reason, missing_since, what_is_known,
      notifying_agency, notified_by) values ('${randomUUID()}', '${c.id}', 'not_attending', current_date, 'x', 'police', 'pc-alice')`),
    /row-level security/);
  });

  it('the network still changes both: a declared agency PATCHes the child and the family (200)', async () => {
    const { fam, children: [kid] } = await newFamily(1, [as.police]);
    const child = await request('GET', `/v1/children/${kid.id}`, { token: as.police });
    const res = await request('PATCH', `/v1/children/${kid.id}`, { token: as.police, body: { preferred_name: 'Kiddo' }, headers: { 'If-Match': child.headers.get('etag') } });
    assert.equal(res.status, 200, res.text.slice(0, 200));
    const family = await request('GET', `/v1/families/${fam.id}`, { token: as.police });
    const fres = await request('PATCH', `/v1/families/${fam.id}`, { token: as.police, body: { name: 'Renamed by the network' }, headers: { 'If-Match': family.headers.get('etag') } });
    assert.equal(fres.status, 200, fres.text.slice(0, 200));
    assert.equal(psql(`select name from safeguard.families where id = '${fam.id}'`), 'Renamed by the network');
  });

  it('row-level security: nobody changes who created a family', () => {
    const fam = psql("select id from safeguard.families where created_by_agency = 'csc' limit 1");
    assert.match(asRole('csc', 'csc-sw', 'social_worker', `update safeguard.families set created_by_agency = 'police' where id = '${fam}'`),
      /permission denied/);
  });
});

describe('finding 7: an invitation or a referral follows a child into a family it was never about', () => {
  // family_visible opened any family with a visible child.  013: a request
  // or referral records the family it is about (subject_family_id: the
  // family it names, or its child's family when it was opened, fixed), and
  // through it family_visible opens that family only.
  async function moveTo(child, from, to) {
    const etag = (await request('GET', `/v1/families/${from.id}`, { token: as.cscSocialWorker })).headers.get('etag');
    assert.equal((await request('DELETE', `/v1/families/${from.id}/members/${child.id}`, { token: as.cscSocialWorker, headers: { 'If-Match': etag } })).status, 204);
    await post(`/v1/families/${to.id}/members`, as.cscSocialWorker, { child_id: child.id, relationship: 'sibling' });
  }
  const unrelated = () => post('/v1/families', as.cscSocialWorker, { name: 'Unrelated', carers: [{ name: 'Sam Other', relationship: 'father', contact: '07700 900222' }] });

  it('police, invited for family F, does not read family G after CSC moves a child there, and still reads F', async () => {
    const { fam, children } = await newFamily(2);
    const other = await unrelated();
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
    assert.equal(psql(`select subject_family_id from safeguard.chronology_requests where id = '${r.id}'`), fam.id);
    assert.equal((await request('GET', `/v1/families/${other.id}`, { token: as.police })).status, 404, 'before the move');
    await moveTo(children[1], fam, other);
    const res = await request('GET', `/v1/families/${other.id}`, { token: as.police });
    assert.equal(res.status, 404, `police reads the other family's carers: ${res.text.slice(0, 200)}`);
    assert.equal((await request('GET', `/v1/children/${children[1].id}`, { token: as.police })).status, 200, 'the subject child is still shared');
    assert.equal((await request('GET', `/v1/families/${fam.id}`, { token: as.police })).status, 200, 'the family the request is about');
  });

  it('a request about one child opens the family it was in when the request opened, and no other', async () => {
    const { fam, children: [kid] } = await newFamily(1);
    const other = await unrelated();
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: kid.id }));
    assert.equal(psql(`select subject_family_id from safeguard.chronology_requests where id = '${r.id}'`), fam.id);
    assert.equal((await request('GET', `/v1/families/${fam.id}`, { token: as.police })).status, 200);
    await moveTo(kid, fam, other);
    assert.equal((await request('GET', `/v1/families/${other.id}`, { token: as.police })).status, 404);
    // fixed when opened: not even the database's owner moves it
    psql(`update safeguard.chronology_requests set subject_family_id = '${other.id}' where id = '${r.id}'`);
    assert.equal(psql(`select subject_family_id from safeguard.chronology_requests where id = '${r.id}'`), fam.id);
  });

  it('a panel member agency reads the referred child\'s family, not the one CSC moves the child to', async () => {
    const { fam, children: [kid] } = await newFamily(1);
    const other = await unrelated();
    const panel = await makePanel({ members: ['youth_justice', 'csc', 'voluntary'] });
    const referral = await refer(panel, kid);
    assert.equal(psql(`select subject_family_id from safeguard.panel_referrals where id = '${referral.id}'`), fam.id);
    const voluntary = who('voluntary', 'practitioner');
    assert.equal((await request('GET', `/v1/families/${fam.id}`, { token: voluntary })).status, 200);
    await moveTo(kid, fam, other);
    assert.equal((await request('GET', `/v1/children/${kid.id}`, { token: voluntary })).status, 200, 'the referred child');
    assert.equal((await request('GET', `/v1/families/${other.id}`, { token: voluntary })).status, 404);
  });
});

describe('finding 8: row-level security alone does not stop what the C stops, across agencies', () => {
  // The C refuses all of these; 013 makes the database refuse them too, for
  // a session of the API's role with any identity.
  let kid, elsewhere, hers, mine, r, closed;
  before(async () => {
    kid = await newChild();
    elsewhere = await newChild();
    for (const c of [kid, elsewhere]) await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const own = await newChild(as.health);
    hers = await post('/v1/chronology-entries', as.health, entry([own.id]));
    mine = await post('/v1/chronology-entries', as.police, entry([kid.id]));
    r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: kid.id, agencies: ['police'] }));
    closed = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: kid.id, agencies: ['police'] }));
    await post(`/v1/chronology-requests/${closed.id}/contributions`, as.police, { entry_ids: [mine.id] }, 200);
    await post(`/v1/chronology-requests/${closed.id}/closure`, as.cscSocialWorker, undefined, 200);
  });
  const police = (sql) => asRole('police', 'pc-alice', 'practitioner', sql);

  it('the API refuses health a contribution to a request it was not asked to (404: it may not see it)', async () => {
    const res = await request('POST', `/v1/chronology-requests/${r.id}/contributions`, { token: as.health, body: { entry_ids: [hers.id] } });
    assert.equal(res.status, 404);
    assert.equal(res.body.type, '/problems/not-found');
    assert.equal(shared(r.id), '');
  });

  it('contributions: not invited, a closed request, an entry about another child, another agency\'s entry', async () => {
    const other = await post('/v1/chronology-entries', as.police, entry([elsewhere.id]));
    for (const [agency, sub, req, e] of [
      ['health', 'nurse-hana', r.id, hers.id],   // not invited
      ['police', 'pc-alice', closed.id, mine.id], // closed
      ['police', 'pc-alice', r.id, other.id],     // about a child the request is not about
      ['police', 'pc-alice', r.id, hers.id],      // health's entry
    ]) {
      const out = asRole(agency, sub, 'practitioner', `insert into safeguard.chronology_contributions values ('${req}', '${agency}', '${e}'); select 'inserted'`);
      assert.match(out, /row-level security/, `${agency} ${e}: ${out}`);
    }
    assert.equal(police(`insert into safeguard.chronology_contributions values ('${r.id}', 'police', '${mine.id}'); select 'inserted'`), 'inserted', 'what the C does');
    // nor taken back from a closed request
    assert.equal(police(`with d as (delete from safeguard.chronology_contributions where request_id = '${closed.id}' returning 1) select count(*) from d`), '0');
    assert.equal(shared(closed.id), mine.id);
  });

  it('an entry\'s children: not to another agency\'s entry, not by a colleague, never added later', () => {
    const colleague = asRole('police', 'pc-bob', 'practitioner', `insert into safeguard.chronology_entry_children values ('${mine.id}', '${elsewhere.id}'); select 'inserted'`);
    for (const out of [
      police(`insert into safeguard.chronology_entry_children values ('${hers.id}', '${kid.id}'); select 'inserted'`),
      colleague,
      police(`insert into safeguard.chronology_entry_children values ('${mine.id}', '${elsewhere.id}'); select 'inserted'`),
    ]) assert.match(out, /row-level security/, out);
  });

  it('a request\'s children, agencies and window: fixed once it is open, for any CSC session and its requester', () => {
    const other = psql(`select id from safeguard.children where id <> '${kid.id}' limit 1`);
    for (const [who_, roles] of [['csc-prac', 'practitioner'], ['csc-sw', 'social_worker']]) {
      for (const sql of [
        `insert into safeguard.chronology_request_children values ('${r.id}', '${other}'); select 'inserted'`,
        `insert into safeguard.chronology_request_agencies (request_id, agency) values ('${r.id}', 'voluntary'); select 'inserted'`,
      ]) assert.match(asRole('csc', who_, roles, sql), /row-level security/, `${who_}: ${sql}`);
      for (const set of ["share_until = '9999-12-31'", `child_id = '${other}'`, "purpose = 'changed'"]) {
        assert.match(asRole('csc', who_, roles, `update safeguard.chronology_requests set ${set} where id = '${r.id}'`), /permission denied/, set);
      }
    }
    // a closed request is never opened again; an open one is closed only by its requester's social worker or lead
    assert.equal(asRole('csc', 'csc-sw', 'social_worker', `with u as (update safeguard.chronology_requests set closed_at = null, closed_by = null where id = '${closed.id}' returning 1) select count(*) from u`), '0');
    assert.equal(asRole('csc', 'csc-prac', 'practitioner', `with u as (update safeguard.chronology_requests set closed_at = now(), closed_by = 'csc-prac' where id = '${r.id}' returning 1) select count(*) from u`), '0');
    assert.equal(psql(`select (closed_at is null) || ',' || (share_until < now() + interval '1 day') from safeguard.chronology_requests where id = '${r.id}'`), 'true,true');
  });

  it('a request opened with children of its own choosing, a window past 3650 days or a made-up opening time is refused', () => {
    const open = (fields, children) => asRole('csc', 'csc-sw', 'social_worker', `
      insert into safeguard.chronology_requests (id, requesting_agency, requested_by, child_id, purpose, lawful_basis,
        period_from, period_to, respond_by, share_until${fields.created_at ? ', created_at' : ''})
      values ('${fields.id}', 'csc', 'csc-sw', '${kid.id}', 'rls', 'consent', '2020-01-01', '2020-02-01', current_date,
        ${fields.share_until}${fields.created_at ? `, ${fields.created_at}` : ''});
      insert into safeguard.chronology_request_children values ('${fields.id}', '${children}');
      insert into safeguard.chronology_request_agencies (request_id, agency) values ('${fields.id}', 'police');
      select 'opened'`);
    assert.equal(open({ id: randomUUID(), share_until: "now() + interval '1 day'" }, kid.id), 'opened', 'what the C does');
    assert.match(open({ id: randomUUID(), share_until: "now() + interval '1 day'" }, elsewhere.id), /row-level security/);
    assert.match(open({ id: randomUUID(), share_until: "'9999-12-31'" }, kid.id), /chronology_requests_share_window/);
    assert.match(open({ id: randomUUID(), share_until: "'2100-01-01'", created_at: "'2099-01-01'" }, kid.id), /row-level security/);
  });

  it('an agency\'s answer to a closed request is not changed', () => {
    assert.equal(police(`with u as (update safeguard.chronology_request_agencies set status = 'no_involvement', submitted_by = 'pc-alice'
      where request_id = '${closed.id}' returning 1) select count(*) from u`), '0');
    assert.match(police(`update safeguard.chronology_request_agencies set request_id = '${closed.id}' where request_id = '${r.id}'`), /permission denied/);
  });

  it('an entry\'s author, agency and rendering are not the client\'s; a withdrawn entry never changes; a change is the next version', async () => {
    const e = await post('/v1/chronology-entries', as.police, entry([kid.id]));
    const rendered = () => psql(`select doc::jsonb = safeguard.entry_json(e)::jsonb from safeguard.chronology_entries e where id = '${e.id}'`);
    assert.equal(rendered(), 't');
    // doc written by the author: the database renders it again
    assert.equal(police(`update safeguard.chronology_entries set doc = '{"summary": "forged"}' where id = '${e.id}'; select 'updated'`), 'updated');
    assert.equal(psql(`select doc::jsonb ->> 'summary' from safeguard.chronology_entries where id = '${e.id}'`), 'visited the family');
    for (const set of ["author_sub = 'pc-bob'", "agency = 'health'", "created_at = now() - interval '1 year'"]) {
      assert.match(police(`update safeguard.chronology_entries set ${set} where id = '${e.id}'`), /permission denied/, set);
    }
    // a change without its version recorded first
    assert.match(police(`update safeguard.chronology_entries set summary = 'quietly', version = version + 1 where id = '${e.id}'`), /recorded first/);
    assert.match(police(`update safeguard.chronology_entries set summary = 'quietly' where id = '${e.id}'`), /its next version/);
    // an amendment as the C makes it, and the same signed with another officer's name
    const amend = (by) => police(`insert into safeguard.chronology_entry_versions (entry_id, version, snapshot, recorded_by, recorded_at)
      select id, version, doc::jsonb, updated_by, updated_at from safeguard.chronology_entries where id = '${e.id}';
      update safeguard.chronology_entries set summary = 'amended', version = version + 1, updated_at = clock_timestamp(),
        updated_by = '${by}' where id = '${e.id}'; select 'amended'`);
    assert.equal(amend('pc-alice'), 'amended');
    assert.match(amend('pc-bob'), /row-level security/);
    await post(`/v1/chronology-entries/${e.id}/withdrawal`, as.police, { reason: 'wrong child' }, 200);
    assert.match(police(`update safeguard.chronology_entries set status = 'active', withdrawn_reason = null, withdrawn_at = null,
      withdrawn_by = null, version = version + 1 where id = '${e.id}'`), /never changed/);
    assert.equal(psql(`select status || ',' || version from safeguard.chronology_entries where id = '${e.id}'`), 'withdrawn,2');
  });

  it('an entry\'s versions are only ever the entry as it is, recorded by whoever may change it', async () => {
    const e = await post('/v1/chronology-entries', as.police, entry([kid.id]));
    const snapshot = (v) => `insert into safeguard.chronology_entry_versions (entry_id, version, snapshot, recorded_by, recorded_at)
      select id, ${v}, coalesce(doc::jsonb, safeguard.entry_json(e)::jsonb), updated_by, updated_at from safeguard.chronology_entries e
      where id = '${e.id}'; select 'recorded'`;
    for (const [sub, sql] of [
      ['pc-bob', snapshot('version')], // a colleague who is not its author
      ['pc-alice', snapshot('version + 5')], // a version that is not the current one
      ['pc-alice', `insert into safeguard.chronology_entry_versions values ('${e.id}', 1, '{"summary": "forged"}', 'pc-alice', now()); select 'recorded'`],
    ]) assert.match(asRole('police', sub, 'practitioner', sql), /row-level security/, `${sub}: ${sql}`);
    assert.equal(asRole('police', 'pc-alice', 'practitioner', snapshot('version')), 'recorded', 'what the C does');
    assert.equal(asRole('police', 'police-lead', 'safeguarding_lead', snapshot('version')), 'recorded', 'the agency\'s lead');
  });

  it('entry_agency() names the agency of an entry the caller may see, and nothing else', () => {
    const ask = (agency, id) => asRole(agency, 'x', 'practitioner', `select coalesce(safeguard.entry_agency('${id}'), '-')`);
    assert.equal(ask('health', mine.id), '-');
    assert.equal(ask('health', randomUUID()), '-');
    assert.equal(ask('police', mine.id), 'police');
    assert.equal(ask('csc', mine.id), 'police');
    assert.equal(ask('police', hers.id), '-');
  });
});

describe('finding 9: a narrative within 10,000 characters is refused when it is over 20,000 bytes', () => {
  // jsonx's string cap (api/core/worker.c) counts bytes, the field specs
  // characters: max_string is now 4 bytes for each character of the longest
  // string a spec allows (80,000 for 20,000-character minutes).
  it('details of 10,000 emoji (40,000 bytes) are accepted and stored whole', async () => {
    const c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const res = await request('POST', '/v1/chronology-entries', { token: as.police, body: entry([c.id], { details: '\u{1F600}'.repeat(10000) }) });
    assert.equal(res.status, 201, res.text.slice(0, 200));
    assert.equal(psql(`select length(details) || ',' || octet_length(details) from safeguard.chronology_entries where id = '${res.body.id}'`), '10000,40000');
  });

  it('but 10,001 characters are refused by the field spec (400 validation-failed)', async () => {
    const c = await newChild();
    await post(`/v1/children/${c.id}/involvements`, as.police, { reason: 'x' });
    const res = await request('POST', '/v1/chronology-entries', { token: as.police, body: entry([c.id], { details: 'x'.repeat(10001) }) });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e) => `${e.field}:${e.code}`), ['details:too_long']);
  });
});

describe('decision: an invited agency reads the request itself only while it is live', () => {
  // The purpose text says why a child is discussed: the requester reads its
  // request always, an invited agency while it is open and in its window,
  // like its timeline (request_visible_to_me, 013).
  it('closure and expiry hide the request, its list entry and its rows from the invited agency, not from the requester', async () => {
    const c = await newChild();
    const closed = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id, purpose: `closing ${randomUUID()}` }));
    const expired = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id, purpose: `expiring ${randomUUID()}` }));
    const listed = async (id) => (await request('GET', '/v1/chronology-requests?limit=200', { token: as.police })).body.items.some((x) => x.id === id);
    for (const x of [closed, expired]) {
      const res = await request('GET', `/v1/chronology-requests/${x.id}`, { token: as.police });
      assert.equal(res.status, 200);
      assert.equal(res.body.purpose, x.purpose);
      assert.ok(await listed(x.id));
    }
    await post(`/v1/chronology-requests/${closed.id}/closure`, as.cscSocialWorker, undefined, 200);
    psql(`update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = '${expired.id}'`);
    for (const x of [closed, expired]) {
      for (const p of [`/v1/chronology-requests/${x.id}`, `/v1/chronology-requests/${x.id}/draft`]) {
        const res = await request('GET', p, { token: as.police });
        assert.equal(res.status, 404, p);
        assert.equal(res.body.type, '/problems/not-found');
      }
      const late = await request('POST', `/v1/chronology-requests/${x.id}/contributions`, { token: as.police, body: { no_involvement: true } });
      assert.equal(late.status, 404);
      assert.equal(await listed(x.id), false);
      assert.equal(asRole('police', 'pc-alice', 'practitioner', `select
        (select count(*) from safeguard.chronology_requests where id = '${x.id}') || ',' ||
        (select count(*) from safeguard.chronology_request_agencies where request_id = '${x.id}') || ',' ||
        (select count(*) from safeguard.chronology_request_children where request_id = '${x.id}')`), '0,0,0');
      const mine = await request('GET', `/v1/chronology-requests/${x.id}`, { token: as.cscSocialWorker });
      assert.equal(mine.status, 200, 'the requester');
      assert.equal(mine.body.purpose, x.purpose);
    }
  });
});

describe('decision: "today" is the deployment\'s date (SG_TIME_ZONE), not UTC\'s', () => {
  // From midnight to 1am in British summer time UTC is still on yesterday:
  // today's date was refused as "in the future".  kit_today answers in
  // SG_TIME_ZONE (default Europe/London); tests/unit/kit_test.c moves the
  // zone to UTC+14, where it is UTC's tomorrow.
  const london = () => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date());

  it('today\'s date in London is accepted as a date of birth, an event date and a respond_by', async () => {
    const today = london();
    const c = await post('/v1/children', as.cscSocialWorker, { first_name: 'Born', last_name: 'Today', date_of_birth: today });
    const e = await post('/v1/chronology-entries', as.cscSocialWorker, entry([c.id], { event_date: today }));
    assert.equal(e.event_date, today);
    const r = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: c.id, respond_by: today }));
    assert.equal(r.respond_by, today);
  });

  it('the service refuses to start on a zone that does not exist', () => {
    const check = (zone) => checkConfig({ SG_TIME_ZONE: zone });
    for (const zone of ['Europe/London', 'Pacific/Kiritimati', 'UTC']) assert.equal(check(zone).status, 0, `${zone}: ${check(zone).stderr}`);
    for (const zone of ['Mars/Olympus_Mons', '../../../etc/passwd', 'Europe', 'GMT0BST,M3.5.0/1,M10.5.0']) {
      const out = check(zone);
      assert.equal(out.status, 1, zone);
      assert.match(out.stderr + out.stdout, /refusing to start.*SG_TIME_ZONE must name a time zone under \/usr\/share\/zoneinfo/, zone);
    }
  });
});

// ---- fixed: the per-token limit is charged after verification ----------------

describe('finding 10: requests with a forged signature drain the rate-limit bucket of the token they copy', () => {
  // nginx keyed the per-token limit on header.payload, so that both ES256
  // twins shared a bucket; nginx cannot verify signatures, so a request with
  // a victim's header.payload and any signature (401) was charged to the
  // victim's bucket.  The claims of a token are not secret (base64, not
  // encrypted): whoever had seen them could keep its holder at 429 from any
  // address.  The pool now keeps the per-token limit (core/ratelimit.c),
  // charged only after verification and keyed on the verified claims;
  // nginx keeps only its per-address zone.
  it('a flood of forged requests does not keep the real token at 429', async () => {
    const victim = es256({ sub: `victim-${randomUUID()}` });
    const [h, p] = split(victim);
    const forged = `Bearer ${segments(h, p, 'A'.repeat(86))}`;
    const get = (authorization) => fetch(`${process.env.SG_BASE_URL}/v1/me`, { headers: { Authorization: authorization } })
      .then(async (r) => { await r.text(); return r.status; });
    // the flood runs until it has sent more forged requests than the
    // token's bucket holds plus what the bucket got back meanwhile (so,
    // charged to the token as before, they would have emptied it whatever
    // the machine's load), then the victim asks ten times while it goes on
    const rate = Number(process.env.SG_RATE_PER_TOKEN || 50);
    const holds = Number(process.env.SG_RATE_BURST_TOKEN || 2 * rate) + 1;
    const started = Date.now();
    let stop = false;
    let sent = 0;
    const flood = Array.from({ length: 16 }, async () => {
      while (!stop) {
        const status = await get(forged);
        assert.notEqual(status, 200);
        sent++;
      }
    });
    const emptied = () => sent - (rate * (Date.now() - started)) / 1000 > holds + 20;
    while (!emptied() && Date.now() - started < 20000) await new Promise((resolve) => setTimeout(resolve, 5));
    const outpaced = emptied();
    const mine = [];
    while (mine.length < 10) mine.push(await get(`Bearer ${victim}`));
    stop = true;
    await Promise.all(flood);
    assert.ok(outpaced, `the flood never outran the bucket's refill (${sent} requests)`);
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
    // the request itself is gone from health's view too (013): 404, not 409
    const late = await request('POST', `/v1/chronology-requests/${r.id}/contributions`, { token: as.health, body: { no_involvement: true } });
    assert.equal(late.status, 404);
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
      (select count(*) from safeguard.consolidated_read('${r.id}', 'x', 'chronology_request', 'x', null, 'x', null))`);
    assert.equal(counts, '0,0,0,0,0,0,0');
    for (const sql of [
      `insert into safeguard.chronology_request_agencies (request_id, agency) values ('${r.id}', 'voluntary')`,
      `insert into safeguard.chronology_request_children values ('${r.id}', '${c.id}')`,
      // police moving its invitation to a request it was not asked to
      `update safeguard.chronology_request_agencies set request_id = '${elsewhere.id}' where request_id = '${r.id}' and agency = 'police'`,
    ]) assert.match(asRole('police', 'pc-alice', 'practitioner', sql), /row-level security|permission denied/, sql);
    assert.equal(asRole('health', 'nurse-hana', 'safeguarding_lead',
      `with u as (update safeguard.chronology_entries set summary = 'x' where id = '${e.id}' returning 1) select count(*) from u`), '0');
  });
});
