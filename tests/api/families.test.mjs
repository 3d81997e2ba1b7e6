// Families: who may create and link them, who sees them, members limited to
// the children the caller may see, carers, preconditions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { as } from './lib/people.mjs';

async function child(token, first = 'Sib') {
  const res = await request('POST', '/v1/children', { token, body: { first_name: first, last_name: 'Family', date_of_birth: '2013-01-01' } });
  assert.equal(res.status, 201);
  return res.body;
}
async function family(token, body = { name: 'The Testers', carers: [{ name: 'Pat Tester', relationship: 'mother', contact: '07700 900999' }] }) {
  const res = await request('POST', '/v1/families', { token, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res;
}

describe('families', () => {
  for (const [who, token, status] of [
    ['a social worker', as.cscSocialWorker, 201], ['a police safeguarding lead', as.policeLead, 201],
    ['a practitioner', as.police, 403], ['a panel chair', as.panelChair, 403], ['an auditor', as.auditor, 403],
  ]) {
    it(`creating answers ${status} to ${who}`, async () => {
      const res = await request('POST', '/v1/families', { token, body: { name: 'F' } });
      assert.equal(res.status, status);
    });
  }

  it('groups siblings; an agency sees the family through a member in its network, and only the members it may see', async () => {
    const a = await child(as.police, 'Amy');
    const b = await child(as.cscSocialWorker, 'Bea');
    const fam = (await family(as.cscSocialWorker)).body;
    assert.equal((await request('GET', `/v1/families/${fam.id}`, { token: as.police })).status, 404);
    for (const c of [a, b]) {
      const res = await request('POST', `/v1/families/${fam.id}/members`, { token: as.cscSocialWorker, body: { child_id: c.id, relationship: 'sibling' } });
      assert.equal(res.status, 201);
    }
    const csc = await request('GET', `/v1/families/${fam.id}`, { token: as.cscSocialWorker });
    assert.deepEqual(csc.body.members.map((m) => m.first_name).sort(), ['Amy', 'Bea']);
    assert.equal(csc.body.carers[0].name, 'Pat Tester');
    const police = await request('GET', `/v1/families/${fam.id}`, { token: as.police });
    assert.equal(police.status, 200);
    assert.deepEqual(police.body.members.map((m) => m.first_name), ['Amy']);
    assert.equal((await request('GET', `/v1/families/${fam.id}`, { token: as.health })).status, 404);
    const kid = await request('GET', `/v1/children/${a.id}`, { token: as.police });
    assert.equal(kid.body.family_id, fam.id);
    assert.equal(kid.body.family_relationship, 'sibling');
    assert.equal((await request('GET', `/v1/children?family_id=${fam.id}`, { token: as.cscSocialWorker })).body.items.length, 2);
  });

  it('the children list filtered by family pages through its members alone, for every caller, before and after unfiltered lists', async () => {
    // the filtered list has a statement of its own: a plan kept for the
    // unfiltered list (read many times first) must never serve it
    const kids = [];
    for (const name of ['Ona', 'Pia', 'Rae']) kids.push(await child(as.police, name));
    const fam = (await family(as.policeLead)).body;
    for (const c of kids) {
      const res = await request('POST', `/v1/families/${fam.id}/members`, { token: as.policeLead, body: { child_id: c.id, relationship: 'sibling' } });
      assert.equal(res.status, 201);
    }
    for (let i = 0; i < 8; i++) assert.equal((await request('GET', '/v1/children?limit=2', { token: as.police })).status, 200);
    const walk = async (token) => {
      const seen = [];
      let url = `/v1/children?family_id=${fam.id}&limit=1`;
      for (let n = 0; url && n < 10; n++) {
        const res = await request('GET', url, { token });
        assert.equal(res.status, 200);
        seen.push(...res.body.items.map((c) => c.id));
        url = res.body.next_cursor ? `/v1/children?family_id=${fam.id}&limit=1&cursor=${res.body.next_cursor}` : null;
      }
      return seen;
    };
    assert.deepEqual(await walk(as.police), kids.map((c) => c.id));
    assert.deepEqual(await walk(as.cscSocialWorker), kids.map((c) => c.id));
    assert.deepEqual(await walk(as.health), []);
    // and the unfiltered list after them is still the register's first page
    const first = await request('GET', '/v1/children?limit=1', { token: as.cscSocialWorker });
    assert.equal(first.body.items[0].id, psql(`select id from safeguard.children order by created_at, id limit 1`));
  });

  it('refuses a child outside the network (422), a child already in a family (409) and a practitioner (403)', async () => {
    const hidden = await child(as.health, 'Hid');
    const fam = (await family(as.policeLead)).body;
    let res = await request('POST', `/v1/families/${fam.id}/members`, { token: as.policeLead, body: { child_id: hidden.id, relationship: 'child' } });
    assert.equal(res.status, 422);
    assert.equal(res.body.type, '/problems/invalid-reference');
    const mine = await child(as.police, 'Mine');
    res = await request('POST', `/v1/families/${fam.id}/members`, { token: as.policeLead, body: { child_id: mine.id, relationship: 'child' } });
    assert.equal(res.status, 201);
    const other = (await family(as.policeLead, { name: 'Other' })).body;
    res = await request('POST', `/v1/families/${other.id}/members`, { token: as.policeLead, body: { child_id: mine.id, relationship: 'child' } });
    assert.equal(res.status, 409);
    res = await request('POST', `/v1/families/${fam.id}/members`, { token: as.police, body: { child_id: mine.id, relationship: 'child' } });
    assert.equal(res.status, 403);
    res = await request('POST', `/v1/families/${fam.id}/members`, { token: as.policeLead, body: { child_id: 'nope', relationship: 'cousin' } });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors.map((e) => e.field).sort(), ['child_id', 'relationship']);
  });

  it('removes a member with If-Match, and changes name and carers with If-Match', async () => {
    const c = await child(as.cscSocialWorker, 'Leaver');
    const created = await family(as.cscSocialWorker);
    const fam = created.body;
    const added = await request('POST', `/v1/families/${fam.id}/members`, { token: as.cscSocialWorker, body: { child_id: c.id, relationship: 'child' } });
    const etag = added.headers.get('etag');
    assert.equal((await request('DELETE', `/v1/families/${fam.id}/members/${c.id}`, { token: as.cscSocialWorker })).status, 428);
    assert.equal((await request('DELETE', `/v1/families/${fam.id}/members/${c.id}`, { token: as.cscSocialWorker, headers: { 'If-Match': '"v1"' } })).status, 412);
    const gone = await request('DELETE', `/v1/families/${fam.id}/members/${c.id}`, { token: as.cscSocialWorker, headers: { 'If-Match': etag } });
    assert.equal(gone.status, 204);
    assert.equal(psql(`select family_id is null from safeguard.children where id = '${c.id}'`), 't');
    const patched = await request('PATCH', `/v1/families/${fam.id}`, {
      token: as.cscSocialWorker, headers: { 'If-Match': gone.headers.get('etag') },
      body: { name: 'Renamed', carers: [{ name: 'New Carer', relationship: 'aunt' }] },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'Renamed');
    assert.deepEqual(patched.body.carers, [{ name: 'New Carer', relationship: 'aunt' }]);
    const bad = await request('PATCH', `/v1/families/${fam.id}`, {
      token: as.cscSocialWorker, headers: { 'If-Match': patched.headers.get('etag') }, body: { carers: [{ name: '' }], id: 'x' },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e) => e.field).sort(), ['carers[0].name', 'carers[0].relationship', 'id']);
    assert.equal((await request('GET', `/v1/families/${randomUUID()}`, { token: as.cscSocialWorker })).status, 404);
  });
});

// issue 13, a correctness bug: a family embeds its members' names and dates
// of birth, so a change to a member must change the family's ETag, or a
// caching client keeps showing the old name after a 304.
describe('families: reading is not changing', () => {
  it('an agency invited to a request about the family reads it; a PATCH is 403 saying why and changes nothing', async () => {
    const fam = (await family(as.cscSocialWorker)).body;
    const kid = await child(as.cscSocialWorker, 'Inv');
    assert.equal((await request('POST', `/v1/families/${fam.id}/members`, { token: as.cscSocialWorker, body: { child_id: kid.id, relationship: 'child' } })).status, 201);
    const day = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
    const r = await request('POST', '/v1/chronology-requests', { token: as.cscSocialWorker, body: {
      family_id: fam.id, agencies: ['education'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
      period_from: day(-30), period_to: day(0), respond_by: day(7), share_until: new Date(Date.now() + 3600000).toISOString().replace(/\.\d+Z$/, 'Z'),
    } });
    assert.equal(r.status, 201);
    const seen = await request('GET', `/v1/families/${fam.id}`, { token: as.education });
    assert.equal(seen.status, 200);
    assert.equal(seen.body.carers[0].contact, '07700 900999');
    const res = await request('PATCH', `/v1/families/${fam.id}`, { token: as.education, body: { carers: null }, headers: { 'If-Match': seen.headers.get('etag') } });
    assert.equal(res.status, 403);
    assert.equal(res.body.type, '/problems/forbidden');
    assert.match(res.body.detail, /read but not change it/);
    assert.equal(psql(`select jsonb_array_length(carers) || ':' || version from safeguard.families where id = '${fam.id}'`), '1:2');
  });
});

describe('the family ETag follows its members', () => {
  it('changes when a member child changes, so If-None-Match answers 200 with the new name', async () => {
    const c = await child(as.cscSocialWorker, 'Etta');
    const fam = (await family(as.cscSocialWorker)).body;
    assert.equal((await request('POST', `/v1/families/${fam.id}/members`, { token: as.cscSocialWorker, body: { child_id: c.id, relationship: 'child' } })).status, 201);
    const before = await request('GET', `/v1/families/${fam.id}`, { token: as.cscSocialWorker });
    const tag = before.headers.get('etag');
    assert.ok(tag);
    assert.equal((await request('GET', `/v1/families/${fam.id}`, { token: as.cscSocialWorker, headers: { 'If-None-Match': tag } })).status, 304);
    const childTag = (await request('GET', `/v1/children/${c.id}`, { token: as.cscSocialWorker })).headers.get('etag');
    const upd = await request('PATCH', `/v1/children/${c.id}`, { token: as.cscSocialWorker, headers: { 'If-Match': childTag }, body: { first_name: 'Etty', date_of_birth: '2013-02-02' } });
    assert.equal(upd.status, 200, upd.text);
    const after = await request('GET', `/v1/families/${fam.id}`, { token: as.cscSocialWorker, headers: { 'If-None-Match': tag } });
    assert.equal(after.status, 200, 'the old tag no longer matches');
    assert.notEqual(after.headers.get('etag'), tag);
    const m = after.body.members.find((x) => x.child_id === c.id);
    assert.equal(m.first_name, 'Etty');
    assert.equal(m.date_of_birth, '2013-02-02');
    // If-Match guards the family's own record: a member's change is no lost update of its name, so
    // the tag read before it still makes the change; once the family itself changed, that tag is stale
    const ok = await request('PATCH', `/v1/families/${fam.id}`, { token: as.cscSocialWorker, headers: { 'If-Match': tag }, body: { name: 'Renamed' } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.name, 'Renamed');
    assert.equal((await request('PATCH', `/v1/families/${fam.id}`, { token: as.cscSocialWorker, headers: { 'If-Match': tag }, body: { name: 'Lost' } })).status, 412);
    assert.equal(psql(`select name from safeguard.families where id = '${fam.id}'`), 'Renamed');
  });

  it('changes when one member leaves the caller\'s view as another of the same version comes into it', async () => {
    const fam = (await family(as.cscSocialWorker)).body;
    const [x, y] = [await child(as.cscSocialWorker, 'Xena'), await child(as.cscSocialWorker, 'Yann')];
    for (const c of [x, y]) {
      assert.equal((await request('POST', `/v1/families/${fam.id}/members`, { token: as.cscSocialWorker, body: { child_id: c.id, relationship: 'child' } })).status, 201);
    }
    const version = (c) => psql(`select version from safeguard.children where id = '${c.id}'`);
    assert.equal(version(x), version(y), 'two members of one version');
    const network = (c, on) => psql(on
      ? `insert into safeguard.child_network (child_id, agency, how, reason, joined_by) values ('${c.id}', 'police', 'declared', 'etag case', 'etag-test')`
      : `delete from safeguard.child_network where child_id = '${c.id}' and agency = 'police'`);
    network(x, true);
    const seen = await request('GET', `/v1/families/${fam.id}`, { token: as.police });
    assert.equal(seen.status, 200, seen.text);
    assert.deepEqual(seen.body.members.map((m) => m.child_id), [x.id]);
    network(x, false);
    network(y, true);
    const now = await request('GET', `/v1/families/${fam.id}`, { token: as.police, headers: { 'If-None-Match': seen.headers.get('etag') } });
    assert.equal(now.status, 200, 'the family lists someone else now: not 304');
    assert.deepEqual(now.body.members.map((m) => m.child_id), [y.id]);
    assert.notEqual(now.headers.get('etag'), seen.headers.get('etag'));
    assert.equal((await request('GET', `/v1/families/${fam.id}`, { token: as.police, headers: { 'If-None-Match': now.headers.get('etag') } })).status, 304);
  });
});
