// A single resource's ETag is its representation's: "v<version>-<digest of
// the body>".  Many representations carry fields derived at read time that
// change no stored version (a session's places and waiting list, an
// action's overdue flag), so a tag of the version alone answered If-None-Match with
// 304 for a body that had changed.  If-Match is held to the version part:
// it guards the stored record against a lost update, and a derived field
// that moved since the client read it is not one.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { as } from './lib/people.mjs';
import { admin as trainingAdmin, person, course, session, book } from './lib/training.mjs';
import { who, makePanel, makeAction, ok, sql, today } from './lib/panels.mjs';

const TAG = /^"v\d+-[0-9a-f]{16}"$/;

async function tagged(path, token) {
  const res = await request('GET', path, { token });
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.match(res.headers.get('etag'), TAG);
  return res;
}
const revalidate = (path, token, etag) => request('GET', path, { token, headers: { 'If-None-Match': etag } });

describe('a derived field changes the tag, so If-None-Match answers 200 with it', () => {
  it('a training session: a booking takes a place; an edit with the tag read before it still applies', async () => {
    const TA = trainingAdmin();
    const s = await session(TA, (await course(TA)).id);
    const path = `/v1/training-sessions/${s.id}`;
    const before = await tagged(path, TA);
    assert.equal((await revalidate(path, TA, before.headers.get('etag'))).status, 304);
    const booked = await book(person('police', 'practitioner'), s.id);
    assert.equal(booked.status, 201, booked.text);
    const after = await revalidate(path, TA, before.headers.get('etag'));
    assert.equal(after.status, 200, 'a place was taken: not 304');
    assert.equal(after.body.places_taken, before.body.places_taken + 1);
    assert.equal(after.body.version, before.body.version, 'no stored change');
    assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
    assert.equal((await revalidate(path, TA, after.headers.get('etag'))).status, 304);
    // the stored record did not change, so the tag read before the booking still guards an edit
    const edit = await request('PATCH', path, { token: TA, body: { capacity: 12 }, headers: { 'If-Match': before.headers.get('etag') } });
    assert.equal(edit.status, 200, edit.text);
    assert.equal(edit.body.capacity, 12);
    assert.match(edit.headers.get('etag'), TAG);
    // ... and once it has, that tag is stale
    const lost = await request('PATCH', path, { token: TA, body: { capacity: 11 }, headers: { 'If-Match': before.headers.get('etag') } });
    assert.equal(lost.status, 412);
    assert.equal(lost.body.type, '/problems/precondition-failed');
    assert.equal(psql(`select capacity from safeguard.training_sessions where id = ${sql(s.id)}`), '12');
  });

  it('a panel action: its due date passes (no write) and it becomes overdue', async () => {
    const panel = await makePanel();
    const action = (await makeAction(panel, { due_date: today(3) })).body;
    const owner = who('youth_justice', 'panel_member');
    const path = `/v1/panel-actions/${action.id}`;
    const before = await tagged(path, owner);
    assert.equal(before.body.overdue, false);
    // the clock reaching the due date, as no write: the stored version stays
    psql(`begin; set local session_replication_role = replica;
      update safeguard.panel_actions set due_date = current_date - 1 where id = ${sql(action.id)}; commit;`);
    assert.equal(psql(`select version from safeguard.panel_actions where id = ${sql(action.id)}`), String(before.body.version));
    const after = await revalidate(path, owner, before.headers.get('etag'));
    assert.equal(after.status, 200, 'overdue now: not 304');
    assert.equal(after.body.overdue, true);
    const done = await ok('PATCH', path, owner, { status: 'done' }, 200, { 'If-Match': before.headers.get('etag') });
    assert.equal(done.body.status, 'done');
  });
});

describe('If-Match holds the version part of the tag', () => {
  // (a weak tag alone is taken as its strong one: nginx makes the ETag of a
  // compressed answer weak, and takes the W/ off again on the way in)
  it('the tag a GET gives, the bare version tag and a list of them pass; another version or junk after it do not', async () => {
    const child = (await request('POST', '/v1/children', {
      token: as.police, body: { first_name: 'Match', last_name: `Child${randomUUID().slice(0, 4)}`, date_of_birth: '2012-01-02' },
    })).body;
    const path = `/v1/children/${child.id}`;
    const patch = (etag, name) => request('PATCH', path, { token: as.police, body: { preferred_name: name }, headers: { 'If-Match': etag } });
    let tag = (await tagged(path, as.police)).headers.get('etag');
    for (const bad of [tag.replace('"v1-', '"v2-'), `"v0", W/${tag}`, tag.replace(/"$/, 'x"').replace('-', 'x'), '"v1x"', '"v10"']) {
      const res = await patch(bad, 'No');
      assert.equal(res.status, 412, `If-Match ${bad}: ${res.status}`);
      assert.equal(res.body.type, '/problems/precondition-failed');
      assert.equal(res.headers.get('etag'), '"v1"', 'the 412 names the version to send');
    }
    let res = await patch(tag, 'One');
    assert.equal(res.status, 200, res.text);
    tag = res.headers.get('etag');
    res = await patch('"v2"', 'Two');
    assert.equal(res.status, 200, 'the bare version tag (a 412 gives it) is the version');
    res = await patch(`"v0-0000000000000000", ${res.headers.get('etag')}`, 'Three');
    assert.equal(res.status, 200, 'one of a list');
    assert.equal(psql(`select preferred_name || ':' || version from safeguard.children where id = ${sql(child.id)}`), 'Three:4');
  });
});
