// The children's register: the access table for every route, the network
// rule (404 outside it, and row-level security behind it), validation,
// duplicates, idempotency, preconditions, pagination, search and the access log.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { as, tokenFor, nhsNumber, upn } from './lib/people.mjs';

const json = (token, body, headers = {}) => ({ token, body, headers });

async function createChild(token, fields = {}) {
  const res = await request('POST', '/v1/children', json(token, {
    first_name: 'Test', last_name: 'Child', date_of_birth: '2012-04-05', ...fields,
  }));
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

const problem = (res, status, type) => {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.type, `/problems/${type}`);
  assert.ok(res.body.request_id);
};

describe('children: creating', () => {
  it('registers a child, normalises the postcode and puts the creator in the network', async () => {
    const nhs = nhsNumber();
    const child = await createChild(as.police, {
      nhs_number: nhs, postcode: 'ox1  1aa', address: { lines: ['1 High St'], town: 'Oxford' },
      education_status: 'not_on_roll', not_on_roll_since: '2024-09-01',
    });
    assert.equal(child.postcode, 'OX1 1AA');
    assert.equal(child.created_by_agency, 'police');
    assert.equal(child.version, 1);
    assert.equal(psql(`select agency || ':' || how from safeguard.child_network where child_id = '${child.id}'`), 'police:created');
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.create' and resource_id = '${child.id}'`), '1');
  });

  for (const [who, token, status] of [
    ['a practitioner', as.police, 201], ['a safeguarding lead', as.healthLead, 201], ['a social worker', as.cscSocialWorker, 201],
    ['a panel member', as.panelMember, 403], ['a panel chair', as.panelChair, 403], ['a training admin', as.trainingAdmin, 403],
    ['an auditor', as.auditor, 403], ['an admin', as.admin, 403],
  ]) {
    it(`answers ${status} to ${who}`, async () => {
      const res = await request('POST', '/v1/children', json(token, { first_name: 'A', last_name: 'B', date_of_birth: '2015-01-01' }));
      assert.equal(res.status, status);
      if (status === 403) assert.equal(res.body.type, '/problems/forbidden');
    });
  }

  it('rejects server-owned fields (mass assignment) and creates nothing', async () => {
    const before = psql('select count(*) from safeguard.children');
    const res = await request('POST', '/v1/children', json(as.police, {
      first_name: 'A', last_name: 'B', date_of_birth: '2015-01-01', id: randomUUID(), created_by_agency: 'csc', version: 7,
    }));
    problem(res, 400, 'validation-failed');
    const fields = res.body.errors.map((e) => `${e.field}:${e.code}`).sort();
    assert.deepEqual(fields, ['created_by_agency:read_only', 'id:read_only', 'version:read_only']);
    assert.equal(psql('select count(*) from safeguard.children'), before);
  });

  it('reports every invalid field at once', async () => {
    const res = await request('POST', '/v1/children', json(as.police, {
      first_name: '', last_name: 'x'.repeat(101), date_of_birth: '2999-01-01', nhs_number: '9434765918', upn: 'A12345678901X',
      postcode: 'NOT A POSTCODE', education_status: 'missing_education', school_urn: '12', colour: 'blue',
    }));
    problem(res, 400, 'validation-failed');
    const got = Object.fromEntries(res.body.errors.map((e) => [e.field, e.code]));
    assert.deepEqual(got, {
      colour: 'unknown_field', first_name: 'required', last_name: 'too_long', nhs_number: 'invalid_nhs_number',
      upn: 'invalid_upn', postcode: 'invalid_postcode', school_urn: 'invalid_urn', date_of_birth: 'in_future',
      not_on_roll_since: 'required',
    });
  });

  it('answers a bad NHS number, a future date of birth and a status without its date in one answer', async () => {
    const before = psql('select count(*) from safeguard.children');
    const res = await request('POST', '/v1/children', json(as.police, {
      first_name: 'A', last_name: 'B', date_of_birth: '2999-01-01', nhs_number: '9434765918', education_status: 'not_on_roll',
    }));
    problem(res, 400, 'validation-failed');
    assert.deepEqual(res.body.errors.map((e) => `${e.field}:${e.code}`).sort(),
      ['date_of_birth:in_future', 'nhs_number:invalid_nhs_number', 'not_on_roll_since:required']);
    assert.equal(psql('select count(*) from safeguard.children'), before);
  });

  it('reports a malformed field once, not again by the rules that would read it', async () => {
    const res = await request('POST', '/v1/children', json(as.police, {
      first_name: 'A', last_name: 'B', date_of_birth: '2015-02-30', education_status: 'not_on_roll', not_on_roll_since: 'soon',
    }));
    problem(res, 400, 'validation-failed');
    assert.deepEqual(res.body.errors.map((e) => `${e.field}:${e.code}`).sort(),
      ['date_of_birth:invalid_date', 'not_on_roll_since:invalid_date']);
  });

  it('checks dates: at most 25 years ago, not on roll since not before birth', async () => {
    const old = new Date(); old.setUTCFullYear(old.getUTCFullYear() - 26);
    let res = await request('POST', '/v1/children', json(as.police, { first_name: 'A', last_name: 'B', date_of_birth: old.toISOString().slice(0, 10) }));
    problem(res, 400, 'validation-failed');
    assert.equal(res.body.errors[0].code, 'too_old');
    res = await request('POST', '/v1/children', json(as.police, {
      first_name: 'A', last_name: 'B', date_of_birth: '2015-06-01', education_status: 'not_on_roll', not_on_roll_since: '2015-05-31',
    }));
    problem(res, 400, 'validation-failed');
    assert.deepEqual(res.body.errors.map((e) => e.code), ['before_birth']);
    res = await request('POST', '/v1/children', json(as.police, { first_name: 'A', last_name: 'B', date_of_birth: '2015-02-30' }));
    problem(res, 400, 'validation-failed');
  });

  it('answers 409 with the existing id for a registered NHS number or UPN, never a second record', async () => {
    const nhs = nhsNumber();
    const pupil = upn();
    const first = await createChild(as.police, { nhs_number: nhs, upn: pupil });
    let res = await request('POST', '/v1/children', json(as.health, { first_name: 'X', last_name: 'Y', date_of_birth: '2014-01-01', nhs_number: nhs }));
    problem(res, 409, 'possible-duplicate');
    assert.equal(res.body.existing_id, first.id);
    res = await request('POST', '/v1/children', json(as.health, { first_name: 'X', last_name: 'Y', date_of_birth: '2014-01-01', upn: pupil }));
    problem(res, 409, 'possible-duplicate');
    assert.equal(res.body.existing_id, first.id);
    assert.equal(psql(`select count(*) from safeguard.children where nhs_number = '${nhs}' or upn = '${pupil}'`), '1');
  });

  it('a 409 that names a child is a search by identifier: its audit row stays (the kind, never the identifier), on create, keyed create and update (039)', async () => {
    const nhs = nhsNumber();
    const pupil = upn();
    const first = await createChild(as.police, { nhs_number: nhs, upn: pupil });
    const rows = () => psql(`select actor_sub || ':' || actor_agency || ':' || outcome || ':' || details::text from safeguard.audit_events
      where action = 'child.identifier_match' and resource_id = '${first.id}' order by occurred_at`).split('\n').filter(Boolean);
    assert.deepEqual(rows(), []);
    const dup = { first_name: 'X', last_name: 'Y', date_of_birth: '2014-01-01' };
    problem(await request('POST', '/v1/children', json(as.health, { ...dup, nhs_number: nhs })), 409, 'possible-duplicate');
    problem(await request('POST', '/v1/children', json(as.health, { ...dup, upn: pupil }, { 'Idempotency-Key': `dup-${randomUUID()}` })), 409, 'possible-duplicate');
    const other = await createChild(as.health, dup);
    const res = await request('PATCH', `/v1/children/${other.id}`, json(as.health, { nhs_number: nhs }, { 'If-Match': '"v1"' }));
    problem(res, 409, 'possible-duplicate');
    assert.equal(res.body.existing_id, first.id);
    assert.deepEqual(rows(), ['nurse-hana:health:success:{"kind": "nhs_number"}', 'nurse-hana:health:success:{"kind": "upn"}',
      'nurse-hana:health:success:{"kind": "nhs_number"}']);
    // the update was not made; nothing but the audit row was kept
    assert.equal(psql(`select coalesce(nhs_number, '-') || ':' || version from safeguard.children where id = '${other.id}'`), '-:1');
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.update' and resource_id = '${other.id}'`), '0');
  });

  it('an update keeping a child\'s own identifier is no match; another child holding its other identifier is, whichever comes first (039)', async () => {
    const nhs = nhsNumber();
    const pupil = upn();
    const mine = await createChild(as.police, { nhs_number: nhs });
    const theirs = await createChild(as.police, { upn: pupil });
    let res = await request('PATCH', `/v1/children/${mine.id}`, json(as.police, { nhs_number: nhs, first_name: 'Kept' }, { 'If-Match': '"v1"' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.identifier_match' and resource_id = '${mine.id}'`), '0');
    res = await request('PATCH', `/v1/children/${mine.id}`, json(as.police, { nhs_number: nhs, upn: pupil }, { 'If-Match': '"v2"' }));
    problem(res, 409, 'possible-duplicate');
    assert.equal(res.body.existing_id, theirs.id);
  });

  it('replays an idempotent create: same key and body, same answer, one row; other body 422', async () => {
    const key = `create-${randomUUID()}`;
    const nhs = nhsNumber();
    const body = { first_name: 'Idem', last_name: 'Potent', date_of_birth: '2013-03-03', nhs_number: nhs };
    const a = await request('POST', '/v1/children', json(as.police, body, { 'Idempotency-Key': key }));
    const b = await request('POST', '/v1/children', json(as.police, body, { 'Idempotency-Key': key }));
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.deepEqual(b.body, a.body);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(psql(`select count(*) from safeguard.children where nhs_number = '${nhs}'`), '1');
    const c = await request('POST', '/v1/children', json(as.police, { ...body, first_name: 'Other' }, { 'Idempotency-Key': key }));
    problem(c, 422, 'idempotency-key-reuse');
  });
});

describe('children: who sees what', () => {
  let child;
  before(async () => { child = await createChild(as.police, { nhs_number: nhsNumber() }); });

  for (const [who, token, status] of [
    ['the creating agency', () => as.police, 200], ['another police officer', () => as.police2, 200],
    ['CSC', () => as.cscPractitioner, 200], ['a panel member of an agency in the network', () => as.panelMember, 200],
    ['an agency outside the network', () => as.health, 404], ['another agency outside it', () => as.education, 404],
    ['a training admin', () => as.trainingAdmin, 403], ['an auditor', () => as.auditor, 403], ['an admin', () => as.admin, 403],
  ]) {
    it(`GET answers ${status} to ${who}`, async () => {
      const res = await request('GET', `/v1/children/${child.id}`, { token: token() });
      assert.equal(res.status, status);
      if (status === 200) assert.equal(res.body.id, child.id);
      if (status === 404) assert.equal(res.body.type, '/problems/not-found');
    });
  }

  it('answers 404 for every route on a child outside the network, and changes nothing', async () => {
    const version = psql(`select version from safeguard.children where id = '${child.id}'`);
    const etag = '"v1"';
    const routes = [
      ['GET', `/v1/children/${child.id}`], ['PATCH', `/v1/children/${child.id}`, { preferred_name: 'Hacked' }],
      ['GET', `/v1/children/${child.id}/network`], ['GET', `/v1/children/${child.id}/chronology`],
    ];
    for (const [method, path, body] of routes) {
      const res = await request(method, path, { token: as.health, body, headers: { 'If-Match': etag } });
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    assert.equal(psql(`select version from safeguard.children where id = '${child.id}'`), version);
    assert.equal(psql(`select preferred_name is null from safeguard.children where id = '${child.id}'`), 't');
  });

  it('never lists a child outside the network', async () => {
    let cursor = null;
    const seen = new Set();
    do {
      const res = await request('GET', `/v1/children?limit=200${cursor ? `&cursor=${cursor}` : ''}`, { token: as.health });
      assert.equal(res.status, 200);
      res.body.items.forEach((c) => seen.add(c.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    assert.ok(!seen.has(child.id));
  });

  it('row-level security returns no rows to the API role under another agency, even without the C checks', () => {
    const rows = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'x', true), set_config('app.agency', 'health', true), set_config('app.roles', 'practitioner', true);
      select 'rows=' || count(*) from safeguard.children where id = '${child.id}';
      select 'network=' || count(*) from safeguard.child_network where child_id = '${child.id}';
      rollback;`);
    assert.match(rows, /rows=0/);
    assert.match(rows, /network=0/);
    const police = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'x', true), set_config('app.agency', 'police', true), set_config('app.roles', 'practitioner', true);
      select 'rows=' || count(*) from safeguard.children where id = '${child.id}';
      rollback;`);
    assert.match(police, /rows=1/);
  });

  it('row-level security refuses an update of an invisible child by the API role', () => {
    psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'x', true), set_config('app.agency', 'health', true), set_config('app.roles', 'practitioner', true);
      update safeguard.children set first_name = 'Changed' where id = '${child.id}';
      commit;`);
    assert.equal(psql(`select first_name from safeguard.children where id = '${child.id}'`), 'Test');
  });
});

describe('children: updates and preconditions', () => {
  it('needs If-Match (428), refuses a stale ETag (412), answers ETag and 304', async () => {
    const child = await createChild(as.police);
    const got = await request('GET', `/v1/children/${child.id}`, { token: as.police });
    const etag = got.headers.get('etag');
    assert.match(etag, /^"v1-[0-9a-f]{16}"$/, 'the version, then a digest of the representation');
    const cached = await request('GET', `/v1/children/${child.id}`, { token: as.police, headers: { 'If-None-Match': etag } });
    assert.equal(cached.status, 304);
    problem(await request('PATCH', `/v1/children/${child.id}`, { token: as.police, body: { preferred_name: 'Jo' } }), 428, 'precondition-required');
    const ok = await request('PATCH', `/v1/children/${child.id}`, { token: as.police, body: { preferred_name: 'Jo' }, headers: { 'If-Match': etag } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.preferred_name, 'Jo');
    assert.match(ok.headers.get('etag'), /^"v2-[0-9a-f]{16}"$/);
    // the answer's tag is the one a GET gives now: If-None-Match with it is 304
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: as.police, headers: { 'If-None-Match': ok.headers.get('etag') } })).status, 304);
    problem(await request('PATCH', `/v1/children/${child.id}`, { token: as.police, body: { preferred_name: 'Lost' }, headers: { 'If-Match': etag } }),
      412, 'precondition-failed');
    assert.equal(psql(`select preferred_name || ':' || version from safeguard.children where id = '${child.id}'`), 'Jo:2');
    const cleared = await request('PATCH', `/v1/children/${child.id}`, { token: as.police, body: { preferred_name: null }, headers: { 'If-Match': '"v2"' } });
    assert.equal(cleared.body.preferred_name, null);
  });

  it('validates the record as it would be after the change', async () => {
    const child = await createChild(as.police);
    const res = await request('PATCH', `/v1/children/${child.id}`, {
      token: as.police, body: { education_status: 'missing_education', family_id: randomUUID() }, headers: { 'If-Match': '"v1"' },
    });
    problem(res, 400, 'validation-failed');
    // the patch's own error and the merged record's, in one answer
    assert.deepEqual(res.body.errors.map((e) => `${e.field}:${e.code}`).sort(), ['family_id:read_only', 'not_on_roll_since:required']);
    const res2 = await request('PATCH', `/v1/children/${child.id}`, {
      token: as.police, body: { education_status: 'missing_education' }, headers: { 'If-Match': '"v1"' },
    });
    problem(res2, 400, 'validation-failed');
    assert.deepEqual(res2.body.errors.map((e) => `${e.field}:${e.code}`), ['not_on_roll_since:required']);
  });

  it('answers every bad field of a PATCH at once: its own and the merged record\'s, and changes nothing', async () => {
    const nhs = nhsNumber();
    const child = await createChild(as.police, { nhs_number: nhs });
    const res = await request('PATCH', `/v1/children/${child.id}`, {
      token: as.police, headers: { 'If-Match': '"v1"' },
      body: { nhs_number: '9434765918', date_of_birth: '2999-01-01', education_status: 'not_on_roll', upn: 12 },
    });
    problem(res, 400, 'validation-failed');
    assert.deepEqual(res.body.errors.map((e) => `${e.field}:${e.code}`).sort(),
      ['date_of_birth:in_future', 'nhs_number:invalid_nhs_number', 'not_on_roll_since:required', 'upn:invalid_type']);
    assert.equal(psql(`select nhs_number || ':' || date_of_birth || ':' || education_status || ':' || version
      from safeguard.children where id = '${child.id}'`), `${nhs}:2012-04-05:on_roll:1`);
    // the record is read first: a bad PATCH of a child you may not see is 404, without If-Match 428
    problem(await request('PATCH', `/v1/children/${child.id}`, { token: as.health, headers: { 'If-Match': '"v1"' }, body: { nhs_number: 'x' } }),
      404, 'not-found');
    problem(await request('PATCH', `/v1/children/${child.id}`, { token: as.police, body: { nhs_number: 'x' } }), 428, 'precondition-required');
  });

  it('lets only practitioners, leads and social workers change a record', async () => {
    const child = await createChild(as.police);
    problem(await request('PATCH', `/v1/children/${child.id}`, { token: as.panelMember, body: { gender: 'x' }, headers: { 'If-Match': '"v1"' } }), 403, 'forbidden');
    assert.equal((await request('PATCH', `/v1/children/${child.id}`, { token: as.policeLead, body: { gender: 'x' }, headers: { 'If-Match': '"v1"' } })).status, 200);
  });
});

describe('children: reading is not changing', () => {
  // An invitation to a chronology request (or a seat on a panel with an open
  // referral) shows the child; changing it is CSC's and the network's (013).
  it('an invited agency reads the child, a PATCH is 403 saying why and changes nothing; after closure it is 404', async () => {
    const child = await createChild(as.cscSocialWorker);
    const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
    const r = await request('POST', '/v1/chronology-requests', json(as.cscSocialWorker, {
      child_id: child.id, agencies: ['health'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
      period_from: day(-30), period_to: day(0), respond_by: day(7), share_until: new Date(Date.now() + 3600000).toISOString().replace(/\.\d+Z$/, 'Z'),
    }));
    assert.equal(r.status, 201);
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: as.health })).status, 200);
    const res = await request('PATCH', `/v1/children/${child.id}`, { token: as.health, body: { gender: 'x' }, headers: { 'If-Match': '"v1"' } });
    problem(res, 403, 'forbidden');
    assert.match(res.body.detail, /chronology request or a panel referral/);
    assert.equal(psql(`select coalesce(gender, '-') || ':' || version from safeguard.children where id = '${child.id}'`), '-:1');
    assert.equal((await request('POST', `/v1/chronology-requests/${r.body.id}/closure`, { token: as.cscSocialWorker })).status, 200);
    problem(await request('PATCH', `/v1/children/${child.id}`, { token: as.health, body: { gender: 'x' }, headers: { 'If-Match': '"v1"' } }), 404, 'not-found');
    // CSC changes it whatever the network
    assert.equal((await request('PATCH', `/v1/children/${child.id}`, { token: as.cscPractitioner, body: { gender: 'x' }, headers: { 'If-Match': '"v1"' } })).status, 200);
  });
});

describe('children: search, involvement and the network', () => {
  it('answers a visible match in full and an invisible one as its id only, auditing no identifier', async () => {
    const nhs = nhsNumber();
    const surname = `Person${randomUUID().slice(0, 8)}`;
    const child = await createChild(as.police, { nhs_number: nhs, first_name: 'Searchable', last_name: surname, date_of_birth: '2011-11-11' });
    const mine = await request('POST', '/v1/children/search', json(as.police, { nhs_number: nhs }));
    assert.equal(mine.status, 200);
    assert.equal(mine.body.items.length, 1);
    assert.equal(mine.body.items[0].first_name, 'Searchable');
    const theirs = await request('POST', '/v1/children/search', json(as.health, { first_name: 'searchable', last_name: surname.toUpperCase(), date_of_birth: '2011-11-11' }));
    assert.deepEqual(theirs.body.items, [{ id: child.id, in_network: false }]);
    const audited = psql(`select details::text from safeguard.audit_events where action = 'child.search' and actor_agency = 'health' order by occurred_at desc limit 1`);
    assert.match(audited, /name_and_date_of_birth/);
    assert.ok(!audited.includes('Searchable') && !audited.includes('2011-11-11') && !audited.includes(surname));
    const none = await request('POST', '/v1/children/search', json(as.health, { nhs_number: nhsNumber() }));
    assert.deepEqual(none.body.items, []);
  });

  it('refuses a search that is not exactly one kind', async () => {
    problem(await request('POST', '/v1/children/search', json(as.health, { first_name: 'A', last_name: 'B' })), 400, 'validation-failed');
    problem(await request('POST', '/v1/children/search', json(as.health, { nhs_number: nhsNumber(), upn: upn() })), 400, 'validation-failed');
    problem(await request('POST', '/v1/children/search', json(as.health, {})), 400, 'validation-failed');
  });

  it('lets an agency declare involvement with a reason, then see the child and its network', async () => {
    const child = await createChild(as.police);
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: as.voluntary })).status, 404);
    problem(await request('POST', `/v1/children/${child.id}/involvements`, json(as.voluntary, {})), 400, 'validation-failed');
    const joined = await request('POST', `/v1/children/${child.id}/involvements`, json(as.voluntary, { reason: 'mentoring scheme' }));
    assert.equal(joined.status, 201);
    assert.equal(joined.body.how, 'declared');
    assert.equal(joined.body.agency, 'voluntary');
    const again = await request('POST', `/v1/children/${child.id}/involvements`, json(as.voluntary, { reason: 'again' }));
    assert.equal(again.status, 200);
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: as.voluntary })).status, 200);
    const network = await request('GET', `/v1/children/${child.id}/network`, { token: as.voluntary });
    assert.deepEqual(network.body.items.map((m) => `${m.agency}:${m.how}`), ['police:created', 'voluntary:declared']);
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.involvement.declare' and resource_id = '${child.id}'`), '1');
    problem(await request('POST', `/v1/children/${randomUUID()}/involvements`, json(as.voluntary, { reason: 'x' })), 404, 'not-found');
    problem(await request('POST', `/v1/children/${child.id}/involvements`, json(as.panelMember, { reason: 'x' })), 403, 'forbidden');
  });
});

describe('children: pagination', () => {
  it('walks 250 children in pages with no repeats and no gaps', async () => {
    const creator = tokenFor('district', 'practitioner', `district-${randomUUID()}`);
    const ids = new Set();
    for (let batch = 0; batch < 25; batch++) {
      const made = await Promise.all(Array.from({ length: 10 }, (_, i) => createChild(creator, { first_name: `P${batch}-${i}` })));
      made.forEach((c) => ids.add(c.id));
    }
    const seen = [];
    let path = '/v1/children?limit=40';
    for (;;) {
      const page = await request('GET', path, { token: creator });
      assert.equal(page.status, 200);
      assert.ok(page.body.items.length <= 40);
      seen.push(...page.body.items.map((c) => c.id));
      if (!page.body.next_cursor) {
        assert.equal(page.headers.get('link'), null);
        break;
      }
      assert.match(page.headers.get('link'), /rel="next"/);
      path = `/v1/children?limit=40&cursor=${encodeURIComponent(page.body.next_cursor)}`;
    }
    const mine = seen.filter((id) => ids.has(id));
    assert.equal(mine.length, 250);
    assert.equal(new Set(mine).size, 250);
  });

  it('refuses a forged cursor', async () => {
    problem(await request('GET', '/v1/children?cursor=c1.bm90LWEtY3Vyc29y', { token: as.police }), 400, 'invalid-cursor');
    problem(await request('GET', '/v1/children?limit=0', { token: as.police }), 400, 'invalid-query');
  });
});

describe('children: the access log', () => {
  it('shows who read and changed a child, to CSC safeguarding leads and auditors only', async () => {
    const child = await createChild(as.police);
    await request('GET', `/v1/children/${child.id}`, { token: as.police2 });
    for (const [token, status] of [[as.cscLead, 200], [as.auditor, 200], [as.cscPractitioner, 403], [as.policeLead, 403], [as.police, 403]]) {
      const res = await request('GET', `/v1/children/${child.id}/access-log`, { token });
      assert.equal(res.status, status);
    }
    const log = await request('GET', `/v1/children/${child.id}/access-log`, { token: as.cscLead });
    const actions = log.body.items.map((e) => `${e.actor_sub}:${e.action}`);
    assert.ok(actions.includes('pc-bob:child.read'), actions.join());
    assert.ok(actions.includes('pc-alice:child.create'), actions.join());
    problem(await request('GET', `/v1/children/${randomUUID()}/access-log`, { token: as.cscLead }), 404, 'not-found');
  });

  it('records every child a list returns as a read', async () => {
    const reader = tokenFor('mental_health', 'practitioner', `mh-${randomUUID()}`);
    const child = await createChild(reader);
    const res = await request('GET', '/v1/children?limit=200', { token: reader });
    assert.ok(res.body.items.some((c) => c.id === child.id));
    assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.read' and resource_id = '${child.id}'
      and actor_agency = 'mental_health'`), '1');
  });
});
