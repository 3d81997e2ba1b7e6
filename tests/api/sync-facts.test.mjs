// Delta sync and the facts behind visibility (migration 048): when a fact a
// way of seeing a record depends on changes, the records it shows or hides
// get a row in the change log, so a device already synced past their last
// change gets the record it may now see, and the tombstone of one it no
// longer may.  The CME officer first (a CME panel created, its chair agency
// changed through the API, its type changed, the panel deleted), then the
// facts only the database itself can move (a correction by hand), each
// asserted through GET /v1/changes of a device that synced before.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { tokenFor, as } from './lib/people.mjs';
import { makePanel, admin, sql } from './lib/panels.mjs';

const utcDay = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const device = (agency, role = 'practitioner') => tokenFor(agency, role, `facts-${agency}-${role}-${randomUUID().slice(0, 8)}`);

async function ok(method, path, token, body, headers = {}) {
  const res = await request(method, path, { token, body, headers });
  assert.ok(res.status >= 200 && res.status < 300, `${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}
const post = async (path, token, body) => (await ok('POST', path, token, body)).body;

// A whole sync from since (null: the first): every page until next_cursor is null.
async function sync(token, since = null) {
  const items = [];
  let q = new URLSearchParams({ limit: '200', ...(since ? { since } : {}) });
  for (let pages = 1; ; pages++) {
    const res = await request('GET', `/v1/changes?${q}`, { token });
    assert.equal(res.status, 200, res.text.slice(0, 300));
    items.push(...res.body.items);
    if (!res.body.next_cursor) return { items, cursor: res.body.sync_cursor };
    q = new URLSearchParams({ limit: '200', cursor: res.body.next_cursor });
    assert.ok(pages < 1000, 'a sync that does not end');
  }
}
// What a sync said about a record: ['upsert'], ['tombstone'] or [].
const said = (items, id) => items.filter((i) => i.id === id).map((i) => i.change);

// A device that synced up to now: a token and where its next sync starts.
async function synced(agency, role) {
  const token = device(agency, role);
  return { token, cursor: (await sync(token)).cursor };
}
// The device's next sync (moving its cursor), and what it said about id.
async function next(dev, id) {
  const s = await sync(dev.token, dev.cursor);
  dev.cursor = s.cursor;
  return said(s.items, id);
}

const newChild = (token) =>
  post('/v1/children', token, { first_name: 'Facts', last_name: `Child${randomUUID().slice(0, 4)}`, date_of_birth: '2011-02-03' });
const notification = (childId) => ({
  child_id: childId, reason: 'not_attending', since: utcDay(-3), school_urn: '123456', school_name: 'Demo Academy',
  what_is_known: 'Not seen in school since the start of the week.',
});
const logRows = (id) => Number(psql(`select count(*) from safeguard.sync_changes where record_id = ${sql(id)}`));

describe('the CME officer: who chairs a CME panel', () => {
  // two agencies that chair no CME panel now (CSC sees every child, and
  // education's safeguarding lead is the officer whoever chairs)
  let x, y, child, panel, chairX, chairY;

  before(async () => {
    const chairs = psql(`select string_agg(distinct chair_agency, ',') from safeguard.panels where type = 'cme'`).split(',');
    [x, y] = ['district', 'voluntary', 'mental_health', 'youth_justice', 'health', 'police'].filter((a) => !chairs.includes(a));
    assert.ok(x && y, `agencies free of CME chairs: ${chairs}`);
    // a child only CSC's network holds, with a live missing-education case
    child = await newChild(as.cscSocialWorker);
    await post('/v1/cme-cases', as.cscSocialWorker, notification(child.id));
  });

  it('a CME panel created: its chair agency\'s panel_chair device gets the children with live cases', async () => {
    chairX = await synced(x, 'panel_chair');
    assert.deepEqual(await next(chairX, child.id), []);
    panel = await makePanel({ type: 'cme', chair: x, members: ['csc'] });
    assert.deepEqual(await next(chairX, child.id), ['upsert']);
    // (GET agrees: the device may read it now)
    await ok('GET', `/v1/children/${child.id}`, chairX.token);
  });

  it('its chair agency changed (PATCH): the new chair\'s device gets the child, the old chair\'s its tombstone', async () => {
    chairY = await synced(y, 'panel_chair');
    const cur = await ok('GET', `/v1/panels/${panel.id}`, admin());
    await ok('PATCH', `/v1/panels/${panel.id}`, admin(), { chair_agency: y }, { 'If-Match': cur.headers.get('etag') });
    assert.deepEqual(await next(chairY, child.id), ['upsert']);
    assert.deepEqual(await next(chairX, child.id), ['tombstone']);
    assert.equal((await request('GET', `/v1/children/${child.id}`, { token: chairX.token })).status, 404);
  });

  it('a rename, or a chair change of a panel of another type, writes nothing to the log', async () => {
    const before = logRows(child.id);
    const cur = await ok('GET', `/v1/panels/${panel.id}`, admin());
    await ok('PATCH', `/v1/panels/${panel.id}`, admin(), { name: `CME renamed ${randomUUID().slice(0, 6)}` },
      { 'If-Match': cur.headers.get('etag') });
    const other = await makePanel({ type: 'joint_police_yj', chair: 'police', members: ['youth_justice', 'csc'] });
    const o = await ok('GET', `/v1/panels/${other.id}`, admin());
    await ok('PATCH', `/v1/panels/${other.id}`, admin(), { chair_agency: 'youth_justice', member_agencies: ['police', 'csc'] },
      { 'If-Match': o.headers.get('etag') });
    assert.equal(logRows(child.id), before);
  });

  it('its type changed (in the database): away from cme a tombstone, back to cme the child again', async () => {
    psql(`update safeguard.panels set type = 'joint_police_yj' where id = ${sql(panel.id)}`);
    assert.deepEqual(await next(chairY, child.id), ['tombstone']);
    psql(`update safeguard.panels set type = 'cme' where id = ${sql(panel.id)}`);
    assert.deepEqual(await next(chairY, child.id), ['upsert']);
  });

  it('the panel deleted (in the database): the chair\'s device gets the tombstone', async () => {
    psql(`begin; delete from safeguard.panel_members where panel_id = ${sql(panel.id)};
      delete from safeguard.panels where id = ${sql(panel.id)}; commit;`);
    assert.deepEqual(await next(chairY, child.id), ['tombstone']);
  });
});
