// Security: the findings of the hostile review (issue 8) and the access rules
// settled after it, each asserted on the API and, where the database holds the
// rule too, on row-level security directly:
//   - no body crashes a worker (null members, the family carers: null case);
//   - only CSC or a family's creator changes who is in it (the Carter family);
//   - idempotency keys belong to issuer, agency and subject, replays are audited;
//   - a list audits exactly the children it returns;
//   - self-declared involvements are reviewed and ended by CSC, and marked in the access log;
//   - an agency's auditor reads only its part of the trail;
//   - an agency's admin revokes only its own agency's tokens.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { as, tokenFor } from './lib/people.mjs';
import { rs256 } from './lib/tokens.mjs';

const uid = () => randomUUID().slice(0, 8);
const sqlText = (s) => `'${String(s).replace(/'/g, "''")}'`;

function problem(res, status, type) {
  assert.equal(res.status, status, `${status} expected: ${res.text}`);
  assert.equal(res.body.type, `/problems/${type}`, res.text);
  return res;
}

async function createChild(token, extra = {}) {
  const res = await request('POST', '/v1/children', {
    token, body: { first_name: 'Sec', last_name: `Test-${uid()}`, date_of_birth: '2014-03-03', ...extra },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function createFamily(token, body) {
  const res = await request('POST', '/v1/families', { token, body });
  assert.equal(res.status, 201, res.text);
  return res;
}

async function addMember(token, familyId, childId, relationship = 'sibling') {
  return request('POST', `/v1/families/${familyId}/members`, { token, body: { child_id: childId, relationship } });
}

async function crashes() {
  const res = await request('GET', '/metrics');
  assert.equal(res.status, 200);
  const m = /^safeguard_worker_restarts_total\{cause="crash"\} (\d+)$/m.exec(res.text);
  assert.ok(m, 'the crash counter is exported');
  return Number(m[1]);
}

// Runs statements as the API's database role with the identity a request
// would set; `sql` may refer to nothing but literals.
function asApi({ agency, roles, sub = 'rls-test' }, sql) {
  return psql(`begin; set local role safeguard_api;
    select set_config('app.sub', ${sqlText(sub)}, true), set_config('app.agency', ${sqlText(agency)}, true),
      set_config('app.roles', ${sqlText(roles)}, true), set_config('app.request_id', ${sqlText(`rls-${uid()}`)}, true);
    ${sql};
    rollback;`);
}

describe('finding 1: no request body kills a worker', () => {
  let family;
  let child;
  let before0;

  before(async () => {
    before0 = await crashes();
    child = await createChild(as.cscSocialWorker);
  });

  it('POST /v1/families with "carers": null creates a family with no carers', async () => {
    const res = await createFamily(as.cscSocialWorker, { name: 'Null Carers', carers: null });
    family = res;
    assert.deepEqual(res.body.carers, []);
    assert.equal(psql(`select carers::text from safeguard.families where id = '${res.body.id}'`), '[]');
  });

  it('PATCH of a family with "carers": null clears them', async () => {
    const made = await createFamily(as.cscSocialWorker, { name: 'Carers', carers: [{ name: 'Jo Bloggs', relationship: 'father', contact: null }] });
    const res = await request('PATCH', `/v1/families/${made.body.id}`, {
      token: as.cscSocialWorker, headers: { 'If-Match': made.headers.get('etag') }, body: { carers: null },
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.carers, []);
  });

  // Null for every member, a null body and bodies of the wrong type: each is
  // an answer (2xx or 400), never a lost worker.
  const nullBodies = () => [
    ['POST', '/v1/families', { name: null, carers: null }, 400],
    ['POST', '/v1/families', { name: 'N', carers: [null, { name: null, relationship: null, contact: null }] }, 400],
    ['POST', '/v1/children', {
      first_name: 'Nul', last_name: 'Members', date_of_birth: '2015-01-01', preferred_name: null, gender: null,
      nhs_number: null, upn: null, address: null, postcode: null, school_urn: null, not_on_roll_since: null,
    }, 201],
    ['POST', '/v1/children', {
      first_name: null, last_name: null, date_of_birth: null, education_status: null, ehcp: null, looked_after: null,
    }, 400],
    ['POST', '/v1/children', { first_name: 'A', last_name: 'B', date_of_birth: '2015-01-01', address: { lines: [null], town: null } }, 400],
    ['POST', '/v1/children/search', { nhs_number: null, upn: null, first_name: null, last_name: null, date_of_birth: null }, 400],
    ['POST', `/v1/children/${child.id}/involvements`, { reason: null }, 400],
    ['POST', `/v1/families/${family.body.id}/members`, { child_id: null, relationship: null }, 400],
    ['PATCH', `/v1/families/${family.body.id}`, { name: null, carers: [null] }, 400],
    ['PATCH', `/v1/children/${child.id}`, { first_name: null, address: { lines: null } }, 400],
    ['POST', '/v1/chronology-entries', {
      child_ids: [null], event_date: null, date_precision: null, category: null, summary: null, impact: null,
      significance: null, action_taken: null, no_action_reason: null,
    }, 400],
    ['POST', '/v1/chronology-requests', {
      child_id: null, family_id: null, agencies: [null], purpose: null, lawful_basis: null, period_from: null,
      period_to: null, respond_by: null, share_until: null,
    }, 400],
    ['POST', `/v1/chronology-requests/${randomUUID()}/contributions`, { entry_ids: null, no_involvement: null }, 400],
    ['POST', '/v1/token-revocations', { jti: null, agency: null }, 400],
    ['POST', `/v1/children/${child.id}/involvements/police/ending`, { reason: null }, 400],
  ];
  const tokenOf = (path) => (path.startsWith('/v1/token') ? as.admin : path.endsWith('/ending') ? as.cscLead : as.cscSocialWorker);

  it('null for every member of every body answers 201 or 400', async () => {
    for (const [method, path, body, status] of nullBodies()) {
      // a PATCH's field errors are answered after its precondition (with the merged record's): send the current ETag
      const etag = method === 'PATCH' && (await request('GET', path, { token: tokenOf(path) })).headers.get('etag');
      const res = await request(method, path, { token: tokenOf(path), body, headers: method === 'PATCH' ? { 'If-Match': etag } : {} });
      assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
    }
  });

  it('a body that is null, an array, a string or a number is 400 on every route that takes one', async () => {
    const routes = [['POST', '/v1/families'], ['POST', '/v1/children'], ['POST', '/v1/children/search'],
      ['POST', `/v1/families/${family.body.id}/members`], ['POST', '/v1/chronology-entries'], ['POST', '/v1/chronology-requests'],
      ['POST', '/v1/token-revocations'], ['POST', `/v1/children/${child.id}/involvements`],
      ['POST', `/v1/children/${child.id}/involvements/police/ending`]];
    for (const [method, path] of routes) {
      for (const raw of ['null', '[null]', '"x"', '0', '{"a":{"b":null}}']) {
        const res = await request(method, path, { token: tokenOf(path), rawBody: raw, headers: { 'Content-Type': 'application/json' } });
        assert.equal(res.status, 400, `${method} ${path} ${raw}: ${res.text}`);
      }
    }
  });

  it('no worker crashed along the way', async () => {
    assert.equal(await crashes(), before0);
  });
});

describe('finding 3: only CSC or the family\'s creator changes who is in it', () => {
  // The review's scenario: a police lead moved a child out of one family and
  // into the CSC-created Carter family; health, involved only with the moved
  // child, could then read the Carters' carers and their phone numbers.
  const policeLead = tokenFor('police', 'safeguarding_lead', `police-lead-${uid()}`);
  const healthLead = tokenFor('health', 'safeguarding_lead', `health-lead-${uid()}`);
  let carter;
  let old;
  let moved;
  let sibling;

  before(async () => {
    sibling = await createChild(as.police); // police is in a Carter child's network, so it sees the family
    carter = (await createFamily(as.cscSocialWorker, {
      name: 'Carter', carers: [{ name: 'Dana Carter', relationship: 'mother', contact: '07700 900123' }],
    })).body;
    assert.equal((await addMember(as.cscSocialWorker, carter.id, sibling.id, 'child')).status, 201);
    moved = await createChild(as.health); // health's child; police declares involvement
    assert.equal((await request('POST', `/v1/children/${moved.id}/involvements`, { token: policeLead, body: { reason: 'missing episode' } })).status, 201);
    old = (await createFamily(policeLead, { name: `Old-${uid()}` })).body;
    assert.equal((await addMember(policeLead, old.id, moved.id, 'child')).status, 201);
  });

  it('the police lead may take the child out of the family police created', async () => {
    const fam = await request('GET', `/v1/families/${old.id}`, { token: policeLead });
    const res = await request('DELETE', `/v1/families/${old.id}/members/${moved.id}`, { token: policeLead, headers: { 'If-Match': fam.headers.get('etag') } });
    assert.equal(res.status, 204, res.text);
  });

  it('but may not add it to the CSC-created Carter family it can see: 403, and nothing changes', async () => {
    assert.equal((await request('GET', `/v1/families/${carter.id}`, { token: policeLead })).status, 200, 'police sees the Carters');
    const res = problem(await addMember(policeLead, carter.id, moved.id), 403, 'forbidden');
    assert.match(res.body.detail, /children's social care or the agency that created/);
    assert.equal(psql(`select family_id is null from safeguard.children where id = '${moved.id}'`), 't');
  });

  it('so health, involved only with the moved child, still cannot read the Carters or their carers', async () => {
    problem(await request('GET', `/v1/families/${carter.id}`, { token: healthLead }), 404, 'not-found');
  });

  it('nor may the police lead take a child out of the Carter family (403); an agency that cannot see it gets 404', async () => {
    const fam = await request('GET', `/v1/families/${carter.id}`, { token: as.cscSocialWorker });
    problem(await request('DELETE', `/v1/families/${carter.id}/members/${sibling.id}`, { token: policeLead, headers: { 'If-Match': fam.headers.get('etag') } }), 403, 'forbidden');
    problem(await addMember(healthLead, carter.id, moved.id), 404, 'not-found');
    assert.equal(psql(`select family_id from safeguard.children where id = '${sibling.id}'`), carter.id);
  });

  it('row-level security refuses the same move to the API role, whatever the C does', () => {
    const police = { agency: 'police', roles: 'safeguarding_lead' };
    assert.throws(() => asApi(police, `update safeguard.children set family_id = '${carter.id}', family_relationship = 'child'
      where id = '${moved.id}'`), /row-level security/);
    assert.throws(() => asApi(police, `update safeguard.children set family_id = null, family_relationship = null
      where id = '${sibling.id}'`), /row-level security/);
    // a police practitioner may still edit the child it sees in the Carter family (membership unchanged)
    assert.match(asApi({ agency: 'police', roles: 'practitioner' }, `update safeguard.children set gender = gender
      where id = '${sibling.id}' returning 'updated'`), /updated/);
    // CSC may move it
    assert.match(asApi({ agency: 'csc', roles: 'social_worker' }, `update safeguard.children set family_id = '${carter.id}',
      family_relationship = 'child' where id = '${moved.id}' returning 'moved'`), /moved/);
  });

  it('CSC decides: once CSC adds the child, its network sees the family it is in', async () => {
    assert.equal((await addMember(as.cscSocialWorker, carter.id, moved.id)).status, 201);
    const res = await request('GET', `/v1/families/${carter.id}`, { token: healthLead });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.members.map((m) => m.child_id), [moved.id]);
  });
});

describe('finding 4: idempotency keys belong to issuer, agency and subject; replays are audited', () => {
  const sub = `shared-${uid()}`;
  const police = tokenFor('police', 'practitioner', sub);
  const health = tokenFor('health', 'practitioner', sub);
  const key = `idem-${uid()}`;
  const body = { first_name: 'Only', last_name: `Police-${uid()}`, date_of_birth: '2012-02-02' };
  let first;

  it('the same sub and key from another agency is another key: no replay of police\'s child to health', async () => {
    first = await request('POST', '/v1/children', { token: police, body, headers: { 'Idempotency-Key': key } });
    assert.equal(first.status, 201, first.text);
    const other = await request('POST', '/v1/children', { token: health, body, headers: { 'Idempotency-Key': key } });
    assert.equal(other.status, 201, other.text);
    assert.equal(other.headers.get('idempotent-replayed'), null);
    assert.notEqual(other.body.id, first.body.id);
    assert.equal(other.body.created_by_agency, 'health');
    problem(await request('GET', `/v1/children/${first.body.id}`, { token: health }), 404, 'not-found');
    assert.equal(psql(`select string_agg(agency || ':' || (issuer = ${sqlText(process.env.SG_ISSUER)}), ',' order by agency)
      from safeguard.idempotency_keys where key = ${sqlText(key)} and sub = ${sqlText(sub)}`), 'health:true,police:true');
  });

  it('a replay of an answer about a child writes the child\'s audit row again, marked as a replay', async () => {
    const count = () => Number(psql(`select count(*) from safeguard.audit_events where resource_type = 'child' and resource_id = '${first.body.id}'`));
    const before0 = count();
    const again = await request('POST', '/v1/children', { token: police, body, headers: { 'Idempotency-Key': key } });
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, first.body.id);
    assert.equal(count(), before0 + 1);
    const row = psql(`select action || '|' || actor_agency || '|' || (details->>'replay') || '|' || (details->>'original_request_id')
      || '|' || (details->>'original_action') from safeguard.audit_events where request_id = ${sqlText(again.headers.get('x-request-id'))}
      and resource_id = '${first.body.id}'`);
    assert.equal(row, `child.read|police|true|${first.headers.get('x-request-id')}|child.create`);
  });

  it('a replay of a family answer audits every member child it shows', async () => {
    const lead = tokenFor('csc', 'social_worker', `sw-${uid()}`);
    const a = await createChild(lead);
    const b = await createChild(lead);
    const fam = (await createFamily(lead, { name: `Replay-${uid()}` })).body;
    await addMember(lead, fam.id, a.id);
    const k = `member-${uid()}`;
    const add = await request('POST', `/v1/families/${fam.id}/members`, { token: lead, body: { child_id: b.id, relationship: 'sibling' }, headers: { 'Idempotency-Key': k } });
    assert.equal(add.status, 201);
    const replay = await request('POST', `/v1/families/${fam.id}/members`, { token: lead, body: { child_id: b.id, relationship: 'sibling' }, headers: { 'Idempotency-Key': k } });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const audited = psql(`select string_agg(distinct resource_id, ',' order by resource_id) from safeguard.audit_events
      where request_id = ${sqlText(replay.headers.get('x-request-id'))} and action = 'child.read' and details->>'replay' = 'true'`);
    assert.equal(audited, [a.id, b.id].sort().join(','));
  });
});

describe('finding 6: a list audits exactly the children it returns', () => {
  it('limit=1 writes one child.read row for its request, not one for the look-ahead row', async () => {
    const reader = tokenFor('district', 'practitioner', `district-${uid()}`);
    await createChild(reader);
    await createChild(reader);
    const res = await request('GET', '/v1/children?limit=1', { token: reader });
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, 1);
    assert.ok(res.body.next_cursor);
    const rows = psql(`select string_agg(resource_id, ',') from safeguard.audit_events
      where request_id = ${sqlText(res.headers.get('x-request-id'))} and action = 'child.read'`);
    assert.equal(rows, res.body.items[0].id);
  });
});

describe('self-declared involvement is break-glass: CSC reviews and ends it', () => {
  const volunteerSub = `vol-${uid()}`;
  const volunteer = tokenFor('voluntary', 'practitioner', volunteerSub);
  const teacher = tokenFor('education', 'practitioner', `teacher-${uid()}`);
  let child;
  let other;

  before(async () => {
    child = await createChild(as.police);
    other = await createChild(as.police);
    assert.equal((await request('POST', `/v1/children/${child.id}/involvements`, { token: volunteer, body: { reason: 'mentoring scheme' } })).status, 201);
    assert.equal((await request('POST', `/v1/children/${other.id}/involvements`, { token: teacher, body: { reason: 'new pupil' } })).status, 201);
  });

  it('CSC safeguarding leads list new declarations to review; nobody else may', async () => {
    const res = await request('GET', `/v1/involvements?status=unreviewed&child_id=${child.id}`, { token: as.cscLead });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.items.length, 1);
    const d = res.body.items[0];
    assert.deepEqual([d.child_id, d.agency, d.reason, d.status, d.declared_by, d.reviewed_at, d.ended_at],
      [child.id, 'voluntary', 'mentoring scheme', 'unreviewed', volunteerSub, null, null]);
    for (const token of [as.cscSocialWorker, as.policeLead, as.auditor, as.admin]) {
      problem(await request('GET', '/v1/involvements', { token }), 403, 'forbidden');
    }
    problem(await request('GET', '/v1/involvements?status=open', { token: as.cscLead }), 400, 'invalid-query');
  });

  it('the access log marks what an agency read through its own declaration', async () => {
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: volunteer })).status, 200);
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: as.police })).status, 200);
    const log = await request('GET', `/v1/children/${child.id}/access-log`, { token: as.cscLead });
    assert.equal(log.status, 200);
    const reads = log.body.items.filter((e) => e.action === 'child.read');
    assert.ok(reads.some((e) => e.actor_agency === 'voluntary' && e.declared_involvement === true), JSON.stringify(reads));
    assert.ok(reads.some((e) => e.actor_agency === 'police' && e.declared_involvement === false), JSON.stringify(reads));
  });

  it('marking one reviewed takes it out of the queue, keeps the agency in the network, and is audited', async () => {
    problem(await request('POST', `/v1/children/${child.id}/involvements/voluntary/review`, { token: as.cscSocialWorker }), 403, 'forbidden');
    const res = await request('POST', `/v1/children/${child.id}/involvements/voluntary/review`, { token: as.cscLead });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'reviewed');
    assert.equal(res.body.reviewed_by, 'csc-lead');
    const again = await request('POST', `/v1/children/${child.id}/involvements/voluntary/review`, { token: as.cscLead });
    assert.equal(again.status, 200);
    assert.equal(again.body.reviewed_at, res.body.reviewed_at);
    const queue = await request('GET', `/v1/involvements?status=unreviewed&child_id=${child.id}`, { token: as.cscLead });
    assert.deepEqual(queue.body.items, []);
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: volunteer })).status, 200);
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.involvement.review'
      and resource_id = '${child.id}' and details->>'agency' = 'voluntary'`), '1');
  });

  it('ending one takes the agency out of the network at once, with the reason, audited', async () => {
    problem(await request('POST', `/v1/children/${other.id}/involvements/education/ending`, { token: as.cscLead, body: {} }), 400, 'validation-failed');
    const res = await request('POST', `/v1/children/${other.id}/involvements/education/ending`, { token: as.cscLead, body: { reason: 'no record of this pupil' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.status, 'ended');
    assert.equal(res.body.end_reason, 'no record of this pupil');
    problem(await request('GET', `/v1/children/${other.id}`, { token: teacher }), 404, 'not-found');
    const network = await request('GET', `/v1/children/${other.id}/network`, { token: as.police });
    assert.deepEqual(network.body.items.map((m) => m.agency), ['police']);
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.involvement.end'
      and resource_id = '${other.id}' and details->>'agency' = 'education'`), '1');
    const ended = await request('GET', `/v1/involvements?status=ended&child_id=${other.id}`, { token: as.cscLead });
    assert.deepEqual(ended.body.items.map((d) => d.agency), ['education']);
    // nothing live is left to end; police created the child, which is not a declaration
    problem(await request('POST', `/v1/children/${other.id}/involvements/education/ending`, { token: as.cscLead, body: { reason: 'again' } }), 404, 'not-found');
    problem(await request('POST', `/v1/children/${other.id}/involvements/police/ending`, { token: as.cscLead, body: { reason: 'x' } }), 404, 'not-found');
    problem(await request('POST', `/v1/children/${other.id}/involvements/nobody/review`, { token: as.cscLead }), 404, 'not-found');
    problem(await request('POST', '/v1/children/not-a-uuid/involvements/police/review', { token: as.cscLead }), 404, 'not-found');
  });

  it('the access log still marks what the ended declaration let its agency read', async () => {
    const teacherReads = psql(`select count(*) from safeguard.audit_events where resource_id = '${other.id}' and actor_agency = 'education' and action = 'child.read'`);
    const log = await request('GET', `/v1/children/${other.id}/access-log`, { token: as.cscLead });
    const marked = log.body.items.filter((e) => e.actor_agency === 'education' && e.action === 'child.read');
    assert.equal(String(marked.length), teacherReads);
    const declared = log.body.items.filter((e) => e.action === 'child.involvement.declare');
    assert.ok(declared.every((e) => e.declared_involvement === true), JSON.stringify(declared));
  });

  it('row-level security: only CSC safeguarding leads end a declaration or change its review', () => {
    const rows = asApi({ agency: 'police', roles: 'safeguarding_lead' }, `
      with d as (delete from safeguard.child_network where child_id = '${child.id}' returning 1) select 'deleted=' || count(*) from d;
      select 'seen=' || count(*) from safeguard.declared_involvements`);
    assert.match(rows, /deleted=0/);
    assert.match(rows, /seen=0/);
    const lead = asApi({ agency: 'csc', roles: 'safeguarding_lead' },
      `select 'seen=' || count(*) from safeguard.declared_involvements where child_id = '${child.id}'`);
    assert.match(lead, /seen=1/);
  });
});

describe('the audit trail: the partnership\'s auditors read all, an agency\'s auditor its own part', () => {
  const policeAuditor = tokenFor('police', 'auditor', `police-audit-${uid()}`);
  const partnershipAuditor = tokenFor('partnership', 'auditor', `p-audit-${uid()}`);
  const nurseSub = `nurse-${uid()}`;
  const officerSub = `officer-${uid()}`;
  const nurse = tokenFor('health', 'practitioner', nurseSub);
  const officer = tokenFor('police', 'practitioner', officerSub);
  let healthOnly;
  let policeChild;

  before(async () => {
    healthOnly = await createChild(nurse);
    policeChild = await createChild(officer);
    // health joins the police child's network and reads it: an event about a child in police's network
    assert.equal((await request('POST', `/v1/children/${policeChild.id}/involvements`, { token: nurse, body: { reason: 'school nurse' } })).status, 201);
    assert.equal((await request('GET', `/v1/children/${policeChild.id}`, { token: nurse })).status, 200);
  });

  const events = async (token, query) => {
    const res = await request('GET', `/v1/audit-events?${query}&limit=200`, { token });
    assert.equal(res.status, 200, res.text);
    return res.body.items;
  };

  it('an agency\'s auditor sees nothing of another agency\'s staff about a child outside its network', async () => {
    assert.deepEqual(await events(policeAuditor, `resource_id=${healthOnly.id}`), []);
    assert.deepEqual(await events(policeAuditor, 'agency=health&resource_type=child')
      .then((items) => items.filter((e) => e.resource_id === healthOnly.id)), []);
    const all = await events(partnershipAuditor, `resource_id=${healthOnly.id}`);
    assert.ok(all.some((e) => e.action === 'child.create' && e.actor_agency === 'health'), JSON.stringify(all));
  });

  it('it sees its own staff\'s actions and every event about a child in its network', async () => {
    const officers = await events(policeAuditor, `actor=${officerSub}`);
    assert.ok(officers.some((e) => e.action === 'child.create' && e.resource_id === policeChild.id), JSON.stringify(officers));
    // the nurse's actions: about the police child yes, about her own agency's child no
    const nurses = await events(policeAuditor, `actor=${nurseSub}`);
    assert.ok(nurses.length > 0 && nurses.every((e) => e.resource_id === policeChild.id), JSON.stringify(nurses));
    const about = await events(policeAuditor, `resource_id=${policeChild.id}`);
    assert.ok(about.some((e) => e.action === 'child.create' && e.actor_agency === 'police'), JSON.stringify(about));
    assert.ok(about.some((e) => e.action === 'child.read' && e.actor_agency === 'health'), JSON.stringify(about));
    const own = await events(policeAuditor, 'agency=police&action=child.create');
    assert.ok(own.some((e) => e.resource_id === policeChild.id));
    assert.ok(own.every((e) => e.actor_agency === 'police'));
  });

  it('a child\'s access log: an agency\'s auditor only for a child in its network (404 otherwise)', async () => {
    problem(await request('GET', `/v1/children/${healthOnly.id}/access-log`, { token: policeAuditor }), 404, 'not-found');
    assert.equal((await request('GET', `/v1/children/${policeChild.id}/access-log`, { token: policeAuditor })).status, 200);
    assert.equal((await request('GET', `/v1/children/${healthOnly.id}/access-log`, { token: partnershipAuditor })).status, 200);
  });

  it('row-level security scopes the trail the same way for the API role', () => {
    const count = (who) => asApi(who, `select 'n=' || count(*) from safeguard.audit_events where resource_id = '${healthOnly.id}'`);
    assert.match(count({ agency: 'police', roles: 'auditor' }), /n=0\b/);
    assert.doesNotMatch(count({ agency: 'partnership', roles: 'auditor' }), /n=0\b/);
    assert.doesNotMatch(count({ agency: 'health', roles: 'auditor' }), /n=0\b/);
    assert.match(count({ agency: 'police', roles: 'practitioner' }), /n=0\b/);
    const mine = asApi({ agency: 'police', roles: 'auditor' },
      `select 'n=' || count(*) from safeguard.audit_events where resource_id = '${policeChild.id}' and actor_agency = 'health'`);
    assert.doesNotMatch(mine, /n=0\b/);
  });
});

describe('revocation: an agency\'s admin revokes only its own agency\'s tokens', () => {
  const policeAdmin = tokenFor('police', 'admin', `police-admin-${uid()}`);
  const me = (token) => request('GET', '/v1/me', { token });

  it('an admin of police revoking with agency health is 403, and nothing is recorded', async () => {
    const jti = `cross-${uid()}`;
    const res = problem(await request('POST', '/v1/token-revocations', { token: policeAdmin, body: { jti, agency: 'health' } }), 403, 'forbidden');
    assert.match(res.body.detail, /own agency/);
    assert.equal(psql(`select count(*) from safeguard.token_revocations where jti = ${sqlText(jti)}`), '0');
  });

  it('an admin of police revokes a police token, which leaves a health token with the same jti working', async () => {
    const jti = `shared-jti-${uid()}`;
    const policeToken = rs256({ sub: 'pc', agency: 'police', roles: ['practitioner'], jti });
    const healthToken = rs256({ sub: 'hv', agency: 'health', roles: ['practitioner'], jti });
    const res = await request('POST', '/v1/token-revocations', { token: policeAdmin, body: { jti } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.agency, 'police');
    problem(await me(policeToken), 401, 'unauthorized');
    assert.equal((await me(healthToken)).status, 200);
    const audited = psql(`select details->>'agency' from safeguard.audit_events where action = 'token.revoke' and resource_id = ${sqlText(jti)}`);
    assert.equal(audited, 'police');
  });

  it('the partnership\'s admins revoke any agency\'s tokens, or every token with the jti', async () => {
    const jti = `p-${uid()}`;
    const police = rs256({ sub: 'pc', agency: 'police', roles: ['practitioner'], jti });
    const health = rs256({ sub: 'hv', agency: 'health', roles: ['practitioner'], jti });
    const scoped = await request('POST', '/v1/token-revocations', { token: as.admin, body: { jti, agency: 'health' } });
    assert.equal(scoped.status, 201, scoped.text);
    assert.equal(scoped.body.agency, 'health');
    problem(await me(health), 401, 'unauthorized');
    assert.equal((await me(police)).status, 200);
    const all = await request('POST', '/v1/token-revocations', { token: as.admin, body: { jti } });
    assert.equal(all.status, 201);
    assert.equal(all.body.agency, null);
    problem(await me(police), 401, 'unauthorized');
  });

  it('row-level security refuses an agency\'s admin a revocation for another agency', () => {
    assert.throws(() => asApi({ agency: 'police', roles: 'admin', sub: 'pa' }, `insert into safeguard.token_revocations
      (jti, agency, revoked_by, revoked_by_agency) values ('rls-${uid()}', 'health', 'pa', 'police')`), /row-level security/);
    assert.match(asApi({ agency: 'police', roles: 'admin', sub: 'pa' }, `insert into safeguard.token_revocations
      (jti, agency, revoked_by, revoked_by_agency) values ('rls-${uid()}', 'police', 'pa', 'police') returning 'ok'`), /ok/);
    assert.throws(() => asApi({ agency: 'police', roles: 'admin', sub: 'pa' }, `insert into safeguard.token_revocations
      (jti, agency, revoked_by, revoked_by_agency) values ('rls-${uid()}', null, 'pa', 'police')`), /row-level security/);
  });
});
