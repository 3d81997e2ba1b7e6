// Delta sync and the facts behind visibility (migration 048): when a fact a
// way of seeing a record depends on changes, the records it shows or hides
// get a row in the change log, so a device already synced past their last
// change gets the record it may now see, and the tombstone of one it no
// longer may.  The CME officer first (a CME panel created, its chair agency
// changed through the API, its type changed, the panel deleted), then a
// referred or requested child that moved to another family (051: each change
// of the referral's or request's reach logs the family the child is in now,
// not only the one it names), then the facts only the database itself can
// move (a correction by hand), each asserted through GET /v1/changes of a
// device that synced before.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { tokenFor, as } from './lib/people.mjs';
import { makePanel, admin, sql } from './lib/panels.mjs';
import { syncAll as sync, said } from './lib/sync.mjs';

const utcDay = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const device = (agency, role = 'practitioner') => tokenFor(agency, role, `facts-${agency}-${role}-${randomUUID().slice(0, 8)}`);

async function ok(method, path, token, body, headers = {}) {
  const res = await request(method, path, { token, body, headers });
  assert.ok(res.status >= 200 && res.status < 300, `${method} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  return res;
}
const post = async (path, token, body) => (await ok('POST', path, token, body)).body;


// A device that synced up to now: a token, what its first sync carried,
// and where its next sync starts.
async function synced(agency, role) {
  const token = device(agency, role);
  const first = await sync(token);
  return { token, first: first.items, cursor: first.cursor };
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
// The children a family's upsert in items lists (its members as the caller sees them).
const members = (items, famId) => {
  const up = items.filter((i) => i.id === famId && i.change === 'upsert');
  assert.equal(up.length, 1, `one upsert of the family: ${JSON.stringify(items.filter((i) => i.id === famId))}`);
  return up[0].record.members.map((m) => m.child_id);
};
// A correction by hand in the database, made as an identity: a change of
// who chairs a CME panel (051), a panel member moved, an open referral or a
// live CME case deleted (054) writes the audit rows of the access it moves,
// as the identity it was made as.
const byHand = (statement) => psql(`begin;
  select set_config('app.sub', 'sync-facts', true), set_config('app.agency', 'partnership', true),
         set_config('app.request_id', ${sql(`sync-facts-${randomUUID()}`)}, true);
  ${statement}; commit;`);
const logRows = (id) => Number(psql(`select count(*) from safeguard.sync_changes where record_id = ${sql(id)}`));

describe('the CME officer: a case opened and closed', () => {
  it('the officer\'s device gets the child, and the family it already sees listing it; at closure, the tombstone and the family without it', async () => {
    const lead = tokenFor('education', 'safeguarding_lead', `facts-education-lead-${randomUUID().slice(0, 8)}`);
    const fam = await post('/v1/families', lead, { name: `Facts CME ${randomUUID().slice(0, 6)}` });
    const child = await newChild(as.cscSocialWorker);
    await post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: child.id, relationship: 'child' });
    let s = await sync(lead);
    assert.deepEqual(said(s.items, child.id), []);
    assert.deepEqual(members(s.items, fam.id), []);
    const kase = await post('/v1/cme-cases', as.cscSocialWorker, notification(child.id));
    s = await sync(lead, s.cursor);
    assert.deepEqual(said(s.items, child.id), ['upsert']);
    assert.deepEqual(members(s.items, fam.id), [child.id]);
    // worked to its end by the officer (the register changes at resolution, not at closure)
    await post(`/v1/cme-cases/${kase.id}/enquiries`, lead, { enquiry_date: utcDay(0), method: 'home_visit', outcome: 'no_contact' });
    await post(`/v1/cme-cases/${kase.id}/resolution`, lead, { resolution: 'elective_home_education' });
    s = await sync(lead, s.cursor);
    await post(`/v1/cme-cases/${kase.id}/closure`, lead);
    s = await sync(lead, s.cursor);
    assert.deepEqual(said(s.items, child.id), ['tombstone']);
    assert.deepEqual(members(s.items, fam.id), []);
  });
});

describe('the CME officer: who chairs a CME panel', () => {
  // two agencies that chair no CME panel now (CSC sees every child, and
  // education's safeguarding lead is the officer whoever chairs); the child
  // is in a family x made, which x's staff see whoever chairs
  let x, y, child, fam, panel, chairX, chairY;

  before(async () => {
    const chairs = psql(`select string_agg(distinct chair_agency, ',') from safeguard.panels where type = 'cme'`).split(',');
    [x, y] = ['district', 'voluntary', 'mental_health', 'youth_justice', 'health', 'police'].filter((a) => !chairs.includes(a));
    assert.ok(x && y, `agencies free of CME chairs: ${chairs}`);
    // a child only CSC's network holds, with a live missing-education case
    child = await newChild(as.cscSocialWorker);
    fam = await post('/v1/families', tokenFor(x, 'safeguarding_lead', `facts-${x}-lead`), { name: `Facts ${randomUUID().slice(0, 6)}` });
    await post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: child.id, relationship: 'child' });
    await post('/v1/cme-cases', as.cscSocialWorker, notification(child.id));
  });

  it('a CME panel created: its chair agency\'s panel_chair device gets the children with live cases', async () => {
    chairX = await synced(x, 'panel_chair');
    assert.deepEqual(said(chairX.first, child.id), []);
    assert.deepEqual(members(chairX.first, fam.id), []);
    panel = await makePanel({ type: 'cme', chair: x, members: ['csc'] });
    const s = await sync(chairX.token, chairX.cursor);
    chairX.cursor = s.cursor;
    assert.deepEqual(said(s.items, child.id), ['upsert']);
    assert.deepEqual(members(s.items, fam.id), [child.id]);
    // (GET agrees: the device may read it now)
    await ok('GET', `/v1/children/${child.id}`, chairX.token);
  });

  it('its chair agency changed (PATCH): the new chair\'s device gets the child, the old chair\'s its tombstone', async () => {
    chairY = await synced(y, 'panel_chair');
    assert.deepEqual(said(chairY.first, child.id), []);
    const cur = await ok('GET', `/v1/panels/${panel.id}`, admin());
    await ok('PATCH', `/v1/panels/${panel.id}`, admin(), { chair_agency: y }, { 'If-Match': cur.headers.get('etag') });
    assert.deepEqual(await next(chairY, child.id), ['upsert']);
    const s = await sync(chairX.token, chairX.cursor);
    chairX.cursor = s.cursor;
    assert.deepEqual(said(s.items, child.id), ['tombstone']);
    assert.deepEqual(members(s.items, fam.id), []);
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
    byHand(`update safeguard.panels set type = 'joint_police_yj' where id = ${sql(panel.id)}`);
    assert.deepEqual(await next(chairY, child.id), ['tombstone']);
    byHand(`update safeguard.panels set type = 'cme' where id = ${sql(panel.id)}`);
    assert.deepEqual(await next(chairY, child.id), ['upsert']);
  });

  it('the panel deleted (in the database): the chair\'s device gets the tombstone', async () => {
    byHand(`delete from safeguard.panel_members where panel_id = ${sql(panel.id)};
      delete from safeguard.panels where id = ${sql(panel.id)}`);
    assert.deepEqual(await next(chairY, child.id), ['tombstone']);
  });
});

describe('a referred child that left the family its referral names (051)', () => {
  // A referral shows its panel's members the child and the family it named
  // when it was made (fixed).  The child has since moved to a family that
  // voluntary made, which voluntary sees whoever is referred: its copy lists
  // the child exactly while voluntary may see the child.  Every change of
  // the referral's reach must log that family too, not only the one named.
  let panel, ref, child, named, moved, dev;
  const police = () => tokenFor('police', 'panel_chair', 'facts-police-chair');
  const patchPanel = async (body) => {
    const cur = await ok('GET', `/v1/panels/${panel.id}`, admin());
    await ok('PATCH', `/v1/panels/${panel.id}`, admin(), body, { 'If-Match': cur.headers.get('etag') });
  };

  before(async () => {
    panel = await makePanel({ chair: 'police', members: ['youth_justice', 'csc', 'voluntary'] });
    named = await post('/v1/families', as.cscSocialWorker, { name: `Facts named ${randomUUID().slice(0, 6)}` });
    moved = await post('/v1/families', tokenFor('voluntary', 'safeguarding_lead', 'facts-voluntary-lead'), { name: `Facts moved ${randomUUID().slice(0, 6)}` });
    child = await newChild(as.cscSocialWorker);
    await post(`/v1/families/${named.id}/members`, as.cscSocialWorker, { child_id: child.id, relationship: 'child' });
    ref = await post(`/v1/panels/${panel.id}/referrals`, as.cscSocialWorker, {
      child_id: child.id, reason: 'missing and found with older peers', risk_level: 'high',
      criteria: { offending_risk: true, safeguarding_concern: true },
    });
    await ok('POST', `/v1/panel-referrals/${ref.id}/decision`, police(), { outcome: 'accepted' });
    // the child moves to voluntary's family (its register entry), the referral still naming the first
    psql(`update safeguard.children set family_id = ${sql(moved.id)} where id = ${sql(child.id)}`);
    assert.equal(psql(`select subject_family_id from safeguard.panel_referrals where id = ${sql(ref.id)}`), named.id);
    dev = await synced('voluntary', 'panel_member');
    assert.deepEqual(said(dev.first, child.id), ['upsert']);
    assert.deepEqual(members(dev.first, moved.id), [child.id]);
  });

  // The device's next sync: what it said of the child, and the moved family's members.
  async function nextOf() {
    const s = await sync(dev.token, dev.cursor);
    dev.cursor = s.cursor;
    return { child: said(s.items, child.id), family: said(s.items, moved.id).length ? members(s.items, moved.id) : 'not sent' };
  }

  it('the referral closed: the child\'s tombstone, and its family without it', async () => {
    await ok('POST', `/v1/panel-referrals/${ref.id}/closure`, police(), { reason: 'risk_reduced' });
    assert.deepEqual(await nextOf(), { child: ['tombstone'], family: [] });
  });

  it('reopened: the child, and its family listing it', async () => {
    await ok('POST', `/v1/panel-referrals/${ref.id}/reopening`, police(), { reason: 'missing again' });
    assert.deepEqual(await nextOf(), { child: ['upsert'], family: [child.id] });
  });

  it('voluntary leaves the panel: the tombstone, and the family without the child', async () => {
    await patchPanel({ member_agencies: ['youth_justice', 'csc'] });
    assert.deepEqual(await nextOf(), { child: ['tombstone'], family: [] });
  });

  it('a member moved to voluntary (in the database): the child, and the family listing it', async () => {
    byHand(`update safeguard.panel_members set agency = 'voluntary' where panel_id = ${sql(panel.id)} and agency = 'youth_justice'`);
    assert.deepEqual(await nextOf(), { child: ['upsert'], family: [child.id] });
  });

  it('the open referral deleted (in the database): the tombstone, and the family without the child', async () => {
    byHand(`delete from safeguard.panel_referral_events where referral_id = ${sql(ref.id)};
      delete from safeguard.panel_referrals where id = ${sql(ref.id)}`);
    assert.deepEqual(await nextOf(), { child: ['tombstone'], family: [] });
  });
});

describe('a request\'s subject child that left the family the request names (051)', () => {
  // The same for a chronology request: police, invited, sees the child while
  // the request is live; the child has moved to a family police made.
  let req, child, moved, dev;

  before(async () => {
    const named = await post('/v1/families', as.cscSocialWorker, { name: `Facts named ${randomUUID().slice(0, 6)}` });
    moved = await post('/v1/families', policeLead(), { name: `Facts moved ${randomUUID().slice(0, 6)}` });
    child = await newChild(as.cscSocialWorker);
    await post(`/v1/families/${named.id}/members`, as.cscSocialWorker, { child_id: child.id, relationship: 'child' });
    req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: child.id }));
    psql(`update safeguard.children set family_id = ${sql(moved.id)} where id = ${sql(child.id)}`);
    assert.equal(psql(`select subject_family_id from safeguard.chronology_requests where id = ${sql(req.id)}`), named.id);
    dev = await synced('police');
    assert.deepEqual(said(dev.first, child.id), ['upsert']);
    assert.deepEqual(members(dev.first, moved.id), [child.id]);
  });

  async function nextOf() {
    const s = await sync(dev.token, dev.cursor);
    dev.cursor = s.cursor;
    return { child: said(s.items, child.id), family: said(s.items, moved.id).length ? members(s.items, moved.id) : 'not sent' };
  }

  it('police uninvited, then invited again (in the database): the child and the family follow', async () => {
    psql(`delete from safeguard.chronology_request_agencies where request_id = ${sql(req.id)} and agency = 'police'`);
    const out = await nextOf();
    psql(`insert into safeguard.chronology_request_agencies (request_id, agency) values (${sql(req.id)}, 'police')`);
    const back = await nextOf();
    assert.deepEqual({ out, back }, { out: { child: ['tombstone'], family: [] }, back: { child: ['upsert'], family: [child.id] } });
  });

  it('the request closed: the child\'s tombstone, and its family without it', async () => {
    await ok('POST', `/v1/chronology-requests/${req.id}/closure`, as.cscSocialWorker);
    assert.deepEqual(await nextOf(), { child: ['tombstone'], family: [] });
  });
});

// The facts below change only in the database (the API never moves or
// deletes these rows): a correction by hand must reach the devices too.
const entryBody = (childId) => ({
  child_ids: [childId], event_date: utcDay(-5), date_precision: 'day', category: 'home_visit',
  summary: 'visited', impact: 'neutral', significance: 'low', action_taken: 'recorded',
});
const requestBody = (fields) => ({
  agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: utcDay(-400), period_to: utcDay(0), respond_by: utcDay(7), share_until: inSeconds(3600), ...fields,
});
const policeLead = () => tokenFor('police', 'safeguarding_lead', `facts-police-lead-${randomUUID().slice(0, 8)}`);

describe('facts moved or deleted in the database', () => {
  it('a network row moved to another agency: that agency gets the child, the one it left its tombstone', async () => {
    const nurse = device('health');
    const child = await newChild(nurse);
    const was = await synced('health');
    const now = await synced('district');
    assert.deepEqual(said(was.first, child.id), ['upsert']);
    assert.deepEqual(said(now.first, child.id), []);
    psql(`update safeguard.child_network set agency = 'district' where child_id = ${sql(child.id)} and agency = 'health'`);
    assert.deepEqual(await next(now, child.id), ['upsert']);
    assert.deepEqual(await next(was, child.id), ['tombstone']);
  });

  it('a request\'s subject child moved to another child, then removed: the invited agency follows both', async () => {
    const [k1, k2] = [await newChild(as.cscSocialWorker), await newChild(as.cscSocialWorker)];
    // k1 is in a family police made: police's copy lists k1 only while it may see k1
    const fam = await post('/v1/families', policeLead(), { name: `Facts ${randomUUID().slice(0, 6)}` });
    await post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: k1.id, relationship: 'child' });
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: k1.id }));
    const police = await synced('police');
    assert.deepEqual(said(police.first, k1.id), ['upsert']);
    assert.deepEqual(said(police.first, k2.id), []);
    assert.deepEqual(members(police.first, fam.id), [k1.id]);
    psql(`update safeguard.chronology_request_children set child_id = ${sql(k2.id)} where request_id = ${sql(req.id)}`);
    const moved = await sync(police.token, police.cursor);
    police.cursor = moved.cursor;
    assert.deepEqual(said(moved.items, k2.id), ['upsert']);
    assert.deepEqual(said(moved.items, k1.id), ['tombstone']);
    assert.deepEqual(members(moved.items, fam.id), []);
    psql(`delete from safeguard.chronology_request_children where request_id = ${sql(req.id)}`);
    assert.deepEqual(await next(police, k2.id), ['tombstone']);
  });

  it('an invitation moved to another agency: that agency gets the child, the one uninvited its tombstone', async () => {
    const k = await newChild(as.cscSocialWorker);
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: k.id }));
    const police = await synced('police');
    const health = await synced('health');
    assert.deepEqual(said(police.first, k.id), ['upsert']);
    assert.deepEqual(said(health.first, k.id), []);
    psql(`update safeguard.chronology_request_agencies set agency = 'health' where request_id = ${sql(req.id)} and agency = 'police'`);
    assert.deepEqual(await next(health, k.id), ['upsert']);
    assert.deepEqual(await next(police, k.id), ['tombstone']);
  });

  it('a request\'s requester changed: the new requesting agency gets the entries shared into it', async () => {
    const lead = policeLead();
    const k = await newChild(lead);
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: k.id }));
    const e = await post('/v1/chronology-entries', lead, entryBody(k.id));
    await post(`/v1/chronology-requests/${req.id}/contributions`, lead, { entry_ids: [e.id] });
    const district = await synced('district');
    assert.deepEqual(said(district.first, e.id), []);
    psql(`update safeguard.chronology_requests set requesting_agency = 'district' where id = ${sql(req.id)}`);
    assert.deepEqual(await next(district, e.id), ['upsert']);
  });

  it('a request deleted before its invitations: the invited agency gets the tombstone of the family it was about', async () => {
    const fam = await post('/v1/families', as.cscSocialWorker, { name: `Facts ${randomUUID().slice(0, 6)}` });
    const k = await newChild(as.cscSocialWorker);
    await post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: k.id, relationship: 'child' });
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ family_id: fam.id }));
    // the child leaves the family (its subject children stay as they were opened), so that
    // only the request names the family; police's device takes that change in
    psql(`update safeguard.children set family_id = null, family_relationship = null where id = ${sql(k.id)}`);
    const police = await synced('police');
    assert.deepEqual(said(police.first, fam.id), ['upsert']);
    assert.deepEqual(said(police.first, k.id), ['upsert']);
    // the agencies after the request: their own trigger then finds no request to name the family
    psql(`begin; delete from safeguard.chronology_request_children where request_id = ${sql(req.id)};
      delete from safeguard.chronology_requests where id = ${sql(req.id)};
      delete from safeguard.chronology_request_agencies where request_id = ${sql(req.id)}; commit;`);
    const after = await sync(police.token, police.cursor);
    assert.deepEqual(said(after.items, fam.id), ['tombstone']);
    assert.deepEqual(said(after.items, k.id), ['tombstone']);
  });

  it('a contribution moved to another entry: the invited agency gets that entry, and the tombstone of the one it replaced', async () => {
    const lead = policeLead();
    const k = await newChild(lead);
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, requestBody({ child_id: k.id, agencies: ['police', 'health'] }));
    const e1 = await post('/v1/chronology-entries', lead, entryBody(k.id));
    const e2 = await post('/v1/chronology-entries', lead, entryBody(k.id));
    await post(`/v1/chronology-requests/${req.id}/contributions`, lead, { entry_ids: [e1.id] });
    const health = await synced('health');
    assert.deepEqual(said(health.first, e1.id), ['upsert']);
    assert.deepEqual(said(health.first, e2.id), []);
    psql(`update safeguard.chronology_contributions set entry_id = ${sql(e2.id)} where request_id = ${sql(req.id)}`);
    const moved = await sync(health.token, health.cursor);
    assert.deepEqual(said(moved.items, e2.id), ['upsert']);
    assert.deepEqual(said(moved.items, e1.id), ['tombstone']);
  });

  it('a panel member moved to another agency, then the open referral deleted: each agency follows', async () => {
    const panel = await makePanel({ chair: 'police', members: ['youth_justice', 'csc', 'district'] });
    const k = await newChild(as.cscSocialWorker);
    const ref = await post(`/v1/panels/${panel.id}/referrals`, as.cscSocialWorker, {
      child_id: k.id, reason: 'missing and found with older peers', risk_level: 'high',
      criteria: { offending_risk: true, safeguarding_concern: true },
    });
    const district = await synced('district');
    const voluntary = await synced('voluntary');
    assert.deepEqual(said(district.first, k.id), ['upsert']);
    assert.deepEqual(said(voluntary.first, k.id), []);
    byHand(`update safeguard.panel_members set agency = 'voluntary' where panel_id = ${sql(panel.id)} and agency = 'district'`);
    assert.deepEqual(await next(voluntary, k.id), ['upsert']);
    assert.deepEqual(await next(district, k.id), ['tombstone']);
    byHand(`delete from safeguard.panel_referral_events where referral_id = ${sql(ref.id)};
      delete from safeguard.panel_referrals where id = ${sql(ref.id)}`);
    assert.deepEqual(await next(voluntary, k.id), ['tombstone']);
  });

  it('a live CME case deleted: the CME officer\'s device gets the child\'s tombstone, and its family without the child', async () => {
    const k = await newChild(as.cscSocialWorker);
    const fam = await post('/v1/families', tokenFor('education', 'safeguarding_lead', 'facts-education-lead'), { name: `Facts ${randomUUID().slice(0, 6)}` });
    await post(`/v1/families/${fam.id}/members`, as.cscSocialWorker, { child_id: k.id, relationship: 'child' });
    const kase = await post('/v1/cme-cases', as.cscSocialWorker, notification(k.id));
    const officer = await synced('education', 'safeguarding_lead');
    assert.deepEqual(said(officer.first, k.id), ['upsert']);
    assert.deepEqual(members(officer.first, fam.id), [k.id]);
    byHand(`delete from safeguard.cme_case_order where case_id = ${sql(kase.id)};
      delete from safeguard.cme_cases where id = ${sql(kase.id)}`);
    const after = await sync(officer.token, officer.cursor);
    assert.deepEqual(said(after.items, k.id), ['tombstone']);
    assert.deepEqual(members(after.items, fam.id), []);
  });

  it('an entry, a family and a child deleted: the devices that were shown them get their tombstones', async () => {
    // an entry (its children and versions go with it; neither writes the log)
    const lead = policeLead();
    const k = await newChild(lead);
    const e = await post('/v1/chronology-entries', lead, entryBody(k.id));
    const author = { token: lead, cursor: (await sync(lead)).cursor };
    psql(`begin; delete from safeguard.chronology_entry_children where entry_id = ${sql(e.id)};
      delete from safeguard.chronology_entry_versions where entry_id = ${sql(e.id)};
      delete from safeguard.chronology_entries where id = ${sql(e.id)}; commit;`);
    assert.deepEqual(await next(author, e.id), ['tombstone']);
    // a family with no members
    const maker = tokenFor('district', 'safeguarding_lead', `facts-district-lead-${randomUUID().slice(0, 8)}`);
    const fam = await post('/v1/families', maker, { name: `Facts ${randomUUID().slice(0, 6)}` });
    const owner = { token: maker, cursor: (await sync(maker)).cursor };
    psql(`delete from safeguard.families where id = ${sql(fam.id)}`);
    assert.deepEqual(await next(owner, fam.id), ['tombstone']);
    // a child no network holds any more (CSC still sees it): CSC's reader
    // read it, and its cursor is past that ending (a cursor is a position
    // only: another device's serves)
    const c = await newChild(lead);
    psql(`delete from safeguard.child_network where child_id = ${sql(c.id)}`);
    const csc = tokenFor('csc', 'safeguarding_lead', `facts-csc-lead-${randomUUID().slice(0, 8)}`);
    await ok('GET', `/v1/children/${c.id}`, csc);
    const reader = { token: csc, cursor: (await sync(device('district'))).cursor };
    psql(`delete from safeguard.children where id = ${sql(c.id)}`);
    assert.deepEqual(await next(reader, c.id), ['tombstone']);
  });
});
