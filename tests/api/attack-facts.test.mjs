// attack-facts.test.mjs - a hostile partner agency against what migration
// 051 changed: the audit rows of a CME panel's chair (the CME officer's
// access), the families a referral or a request logs to the change log as
// well as the one it names, and CSC's sync window.  Each case was tried as
// an attack through the API (the database only where the API cannot reach,
// said so); each asserts status, problem type, body fields and what the
// database holds after.  A case that shows a defect the API alone cannot
// close is a todo, with what a fix must do.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import { who, admin, ok, call, problem, fields, makePanel, makeChild, today, sql, ROLES, asApi } from './lib/panels.mjs';
import { syncAll as sync, said } from './lib/sync.mjs';

const AGENCIES = ['csc', 'police', 'health', 'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership'];
const rid = (res) => res.headers.get('x-request-id');
const subOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sub;
const utcDay = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const inSeconds = (s) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const notification = (childId) => ({
  child_id: childId, reason: 'not_attending', since: utcDay(-3), school_urn: '123456', school_name: 'Demo Academy',
  what_is_known: 'Not seen in school since the start of the week.',
});
const cmeChairs = () => psql(`select coalesce(string_agg(distinct chair_agency, ','), '') from safeguard.panels where type = 'cme'`).split(',').filter(Boolean);
// agencies that chair no CME panel now (CSC sees every child; education's lead is the officer whoever chairs)
const freeAgencies = () => ['voluntary', 'district', 'mental_health', 'youth_justice', 'health', 'police'].filter((a) => !cmeChairs().includes(a));

// The CME access rows one request wrote: "act agency child panel cause" lines, sorted.
const accessRows = (requestId) => psql(`select coalesce(string_agg(replace(action, 'child.panel_access.', '') || ' '
    || (details->>'agency') || ' ' || resource_id || ' ' || (details->>'panel_id') || ' ' || (details->>'cause'), E'\\n'
    order by action, details->>'agency', resource_id, details->>'cause'), '')
  from safeguard.audit_events where request_id = ${sql(requestId)} and action like 'child.panel_access.%'`).split('\n').filter(Boolean);
const cmeRowsAbout = (requestId, kids) => accessRows(requestId).filter((l) => l.endsWith(' cme_chair') && kids.some((k) => l.includes(k)));
const expectRows = (pairs, kids) => pairs.flatMap(([act, agency, panel]) => kids.map((k) => `${act} ${agency} ${k} ${panel} cme_chair`)).sort();

async function liveCase(childId) {
  return (await ok('POST', '/v1/cme-cases', who('csc', 'social_worker'), notification(childId), 201)).body;
}
async function closedCase(childId) {
  const kase = await liveCase(childId);
  const officer = who('education', 'safeguarding_lead');
  await ok('POST', `/v1/cme-cases/${kase.id}/enquiries`, officer, { enquiry_date: today(0), method: 'home_visit', outcome: 'no_contact' }, 201);
  await ok('POST', `/v1/cme-cases/${kase.id}/resolution`, officer, { resolution: 'elective_home_education' });
  await ok('POST', `/v1/cme-cases/${kase.id}/closure`, officer);
  return kase;
}
const etagOf = async (path, token = admin()) => (await ok('GET', path, token)).headers.get('etag');
const patchPanel = async (panel, body, token = admin()) =>
  call('PATCH', `/v1/panels/${panel.id}`, token, body, { 'If-Match': await etagOf(`/v1/panels/${panel.id}`, token) });
// A correction by hand, as an identity (a CME panel's chair or type moved in the database must name who).
const byHand = (statement) => psql(`begin;
  select set_config('app.sub', 'attack-facts', true), set_config('app.agency', 'partnership', true),
         set_config('app.request_id', ${sql(`attack-facts-${randomUUID()}`)}, true);
  ${statement}; commit;`);
const dropPanel = (p) => byHand(`delete from safeguard.panel_members where panel_id = ${sql(p.id)};
  delete from safeguard.panels where id = ${sql(p.id)}`);

describe('1. a CME panel\'s chair through the API: who sees the children with live cases, and what the trail says', () => {
  let x, y, kids, shut, made = [];

  before(async () => {
    [x, y] = freeAgencies();
    assert.ok(x && y, `agencies free of CME chairs: ${cmeChairs()}`);
    kids = [(await makeChild('csc')).id, (await makeChild('csc')).id];
    for (const k of kids) await liveCase(k);
    shut = (await makeChild('csc')).id;
    await closedCase(shut);
  });
  // no CME panel of this suite outlives it (a CME chair is every other suite's CME officer): deleted,
  // or, once it holds referrals or actions, retyped away from cme
  after(() => {
    for (const p of made) {
      try { dropPanel(p); } catch { byHand(`update safeguard.panels set type = 'joint_police_yj' where id = ${sql(p.id)}`); }
    }
  });

  it('a CME panel created by an admin of any agency: one start row per live child, for the chair, naming the new panel; none for a closed case', async () => {
    const res = await ok('POST', '/v1/panels', admin(), { type: 'cme', name: `Attack CME ${randomUUID().slice(0, 6)}`, chair_agency: x, member_agencies: ['csc'] }, 201);
    made.push(res.body);
    assert.deepEqual(cmeRowsAbout(rid(res), [...kids, shut]), expectRows([['start', x, res.body.id]], kids));
    // the rows are the request's own identity's, successful, about children
    assert.equal(psql(`select count(*) from safeguard.audit_events where request_id = ${sql(rid(res))}
      and action like 'child.panel_access.%' and (actor_agency <> 'partnership' or outcome <> 'success' or resource_type <> 'child')`), '0');
    // and the chair's panel_chair does see a live child now, not the closed one
    assert.equal((await call('GET', `/v1/children/${kids[0]}`, who(x, 'panel_chair'))).status, 200);
    problem(await call('GET', `/v1/children/${shut}`, who(x, 'panel_chair')), 404, 'not-found');
  });

  it('an idempotent retry of the same POST replays the answer and writes no second panel and no second set of rows', async () => {
    const key = randomUUID();
    const body = { type: 'cme', name: `Attack CME idem ${randomUUID().slice(0, 6)}`, chair_agency: x, member_agencies: ['csc'] };
    const first = await ok('POST', '/v1/panels', admin(), body, 201, { 'Idempotency-Key': key });
    made.push(first.body);
    assert.deepEqual(cmeRowsAbout(rid(first), kids), [], `${x} chaired a CME panel already`);
    const again = await ok('POST', '/v1/panels', admin(), body, 201, { 'Idempotency-Key': key });
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, first.body.id);
    assert.deepEqual(accessRows(rid(again)), []);
    assert.equal(psql(`select count(*) from safeguard.panels where name = ${sql(body.name)}`), '1');
  });

  it('x\'s two CME panels re-chaired one after the other: nothing moves until the second, which ends x (naming that panel)', async () => {
    const [a, b] = made;
    const one = await patchPanel(a, { chair_agency: y, member_agencies: ['csc'] });
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(cmeRowsAbout(rid(one), kids), expectRows([['start', y, a.id]], kids), 'x still chairs b');
    const two = await patchPanel(b, { chair_agency: y, member_agencies: ['csc'] });
    assert.equal(two.status, 200, two.text);
    assert.deepEqual(cmeRowsAbout(rid(two), kids), expectRows([['end', x, b.id]], kids));
    problem(await call('GET', `/v1/children/${kids[0]}`, who(x, 'panel_chair')), 404, 'not-found');
    // a rename, a new area: nothing
    const renamed = await patchPanel(a, { name: `Attack CME renamed ${randomUUID().slice(0, 6)}`, area: 'East' });
    assert.equal(renamed.status, 200, renamed.text);
    assert.deepEqual(accessRows(rid(renamed)), []);
  });

  it('a chair change refused (stale If-Match 412, an owner of open actions leaving 409, a bad body 400/422) moves nothing and writes no row', async () => {
    const [a] = made; // chaired by y, members csc and y
    const chairOfA = () => psql(`select chair_agency from safeguard.panels where id = ${sql(a.id)}`);
    // stale
    const stale = await call('PATCH', `/v1/panels/${a.id}`, admin(), { chair_agency: x, member_agencies: ['csc'] }, { 'If-Match': '"0"' });
    problem(stale, 412, 'precondition-failed');
    assert.deepEqual(accessRows(rid(stale)), []);
    // csc owns an open action of the panel and would leave with the chair change
    const action = await ok('POST', '/v1/panel-actions', who(y, 'panel_chair'), {
      panel_id: a.id, description: 'Find the school place', owner_agency: 'csc', due_date: today(7),
    }, 201);
    const leaving = await patchPanel(a, { chair_agency: x, member_agencies: [y] });
    problem(leaving, 409, 'conflict');
    assert.match(leaving.body.detail, /csc still owns open actions/);
    assert.deepEqual(accessRows(rid(leaving)), []);
    assert.equal(chairOfA(), y);
    await ok('PATCH', `/v1/panel-actions/${action.body.id}`, who('csc', 'safeguarding_lead'), { status: 'done' }, 200,
      { 'If-Match': action.headers.get('etag') });
    // bodies: the type is not the caller's to set, an agency that does not exist, a risk meeting rule is never reached
    const typed = await patchPanel(a, { type: 'risk_meeting' });
    problem(typed, 400, 'validation-failed');
    assert.deepEqual(fields(typed), ['type:read_only']);
    const nobody = await patchPanel(a, { chair_agency: 'ofsted', member_agencies: ['csc', 'nobody'] });
    problem(nobody, 400, 'validation-failed');
    assert.deepEqual(fields(nobody), ['chair_agency:invalid_value', 'member_agencies[1]:invalid_value']);
    const twice = await patchPanel(a, { chair_agency: x, member_agencies: ['csc', 'csc'] });
    problem(twice, 400, 'validation-failed');
    const empty = await patchPanel(a, { chair_agency: null, member_agencies: [] });
    problem(empty, 400, 'validation-failed');
    for (const res of [typed, nobody, twice, empty]) assert.deepEqual(accessRows(rid(res)), []);
    assert.equal(chairOfA(), y);
  });

  it('a chair change with membership changes in one PATCH: the chair\'s rows and the membership rows, each naming its own cause', async () => {
    const [a] = made;
    const k = await makeChild('csc');
    const ref = await ok('POST', `/v1/panels/${a.id}/referrals`, who('csc', 'social_worker'), {
      child_id: k.id, reason: 'not in school for a term', risk_level: 'medium', criteria: { missing_education: true },
    }, 201);
    const before = psql(`select string_agg(agency, ',') from safeguard.panel_members where panel_id = ${sql(a.id)}`).split(',');
    const third = ['health', 'police', 'mental_health'].find((g) => ![x, y].includes(g));
    const res = await patchPanel(a, { chair_agency: x, member_agencies: ['csc', third] });
    assert.equal(res.status, 200, res.text);
    const after = ['csc', third, x];
    // who left the panel ends its open referral's child, who joined starts it; y stops chairing, x chairs
    assert.deepEqual(accessRows(rid(res)).filter((l) => l.includes(k.id)),
      [...before.filter((g) => !after.includes(g)).map((g) => `end ${g} ${k.id} ${a.id} membership`),
        ...after.filter((g) => !before.includes(g)).map((g) => `start ${g} ${k.id} ${a.id} membership`)].sort());
    // (y still chairs the second panel: it gains and loses nothing)
    assert.deepEqual(cmeRowsAbout(rid(res), kids), expectRows([['start', x, a.id]], kids));
    await ok('POST', `/v1/panel-referrals/${ref.body.id}/decision`, who(x, 'panel_chair'), { outcome: 'accepted' });
    await ok('POST', `/v1/panel-referrals/${ref.body.id}/closure`, who(x, 'panel_chair'), { reason: 'risk_reduced' });
  });

  it('non-admin roles of every agency: POST and PATCH /v1/panels are 403 whether the panel exists or not; an unknown panel is 404 to an admin', async () => {
    const [a] = made;
    const ghost = randomUUID();
    for (const agency of AGENCIES) {
      for (const role of ROLES.filter((r) => r !== 'admin' && (r !== 'social_worker' || agency === 'csc'))) {
        const t = who(agency, role);
        const made1 = await call('POST', '/v1/panels', t, { type: 'cme', name: 'Hostile CME', chair_agency: agency, member_agencies: [agency] });
        problem(made1, 403, 'forbidden');
        const real = await call('PATCH', `/v1/panels/${a.id}`, t, { chair_agency: agency }, { 'If-Match': '"1"' });
        const none = await call('PATCH', `/v1/panels/${ghost}`, t, { chair_agency: agency }, { 'If-Match': '"1"' });
        problem(real, 403, 'forbidden');
        problem(none, 403, 'forbidden');
        assert.equal(real.body.detail, none.body.detail, `${agency} ${role}: the answer does not depend on the panel existing`);
      }
    }
    assert.equal(psql(`select count(*) from safeguard.panels where name = 'Hostile CME'`), '0');
    problem(await call('PATCH', `/v1/panels/${ghost}`, admin(), { chair_agency: 'police' }, { 'If-Match': '"1"' }), 404, 'not-found');
  });

  it('an admin of another agency creates a CME panel: the chair rows are written as that admin', async () => {
    // (the trail names who made the change: the leak this opens is the next todo)
    const [free] = freeAgencies();
    assert.ok(free, 'a third agency free of CME chairs');
    const theirAdmin = who(free, 'admin');
    const res = await ok('POST', '/v1/panels', theirAdmin, { type: 'cme', name: `Attack CME ${free} ${randomUUID().slice(0, 6)}`, chair_agency: free, member_agencies: ['csc'] }, 201);
    made.push(res.body);
    assert.deepEqual(cmeRowsAbout(rid(res), kids), expectRows([['start', free, res.body.id]], kids));
    assert.equal(psql(`select count(distinct actor_agency) || ' ' || min(actor_agency) from safeguard.audit_events
      where request_id = ${sql(rid(res))} and action = 'child.panel_access.start'`), `1 ${free}`);
  });

  // An agency's auditor reads all of its own staff's events (audit_event_visible, 006; audit.c's
  // own-agency part).  The chair trigger (as 050's membership trigger) writes, as the admin who
  // made the change, one row per child with a live missing-education case: an admin of an agency
  // that sees none of those children hands its auditor the id of every child missing education
  // in the partnership, which it may neither read nor learn exists (404 to its own staff).
  // Fix (SQL, 006's audit_event_visible and the audit_read policy): an agency's own-staff clause
  // must not admit a 'child' event whose action is child.panel_access.start/end about a child its
  // agency does not see (child_visible), unless the auditor is the partnership's; audit.c's
  // own-agency part then reads fewer rows through the same policy (no C change needed).
  it('an agency\'s auditor does not learn, through its admin\'s panel change, which children it cannot see have live cases', async () => {
    // an agency whose staff see none of the children, whose admin makes a CME chair start
    const [chair, other = chair] = freeAgencies();
    assert.ok(chair, 'an agency free of CME chairs');
    const res = await ok('POST', '/v1/panels', who(other, 'admin'), { type: 'cme', name: `Attack CME leak ${randomUUID().slice(0, 6)}`, chair_agency: chair, member_agencies: ['csc'] }, 201);
    made.push(res.body);
    assert.deepEqual(cmeRowsAbout(rid(res), kids), expectRows([['start', chair, res.body.id]], kids));
    // other's staff may not see the children: 404
    for (const k of kids) problem(await call('GET', `/v1/children/${k}`, who(other, 'practitioner')), 404, 'not-found');
    const seen = await ok('GET', `/v1/audit-events?actor=${encodeURIComponent(subOf(who(other, 'admin')))}&limit=200`, who(other, 'auditor'));
    assert.ok(seen.body.items.some((e) => e.request_id === rid(res) && e.action === 'panel.create'), 'the auditor reads its admin\'s events');
    const ids = seen.body.items.filter((e) => e.request_id === rid(res)).map((e) => e.resource_id);
    assert.deepEqual(ids.filter((id) => kids.includes(id)), [], 'child ids of live CME cases in the admin agency\'s trail');
  });

  // The same for 050's membership rows: an admin of an agency that sits on no panel and sees no
  // child changes a panel's members; its auditor reads the ids of the panel's open referrals'
  // children, which 050 took away from admins (panel_open_children) as the panel's cases that
  // only its member agencies read.  The same fix covers it.
  it('an agency\'s auditor does not learn, through its admin\'s membership change, which children a panel it does not sit on has open referrals for', async () => {
    const panel = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
    const k = await makeChild('csc');
    await ok('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), {
      child_id: k.id, reason: 'missing and found with older peers', risk_level: 'high', criteria: { offending_risk: true, safeguarding_concern: true },
    }, 201);
    const res = await patchPanel(panel, { member_agencies: ['youth_justice', 'csc', 'health'] }, who('district', 'admin'));
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(accessRows(rid(res)), [`start health ${k.id} ${panel.id} membership`]);
    problem(await call('GET', `/v1/children/${k.id}`, who('district', 'practitioner')), 404, 'not-found');
    const seen = await ok('GET', `/v1/audit-events?actor=${encodeURIComponent(subOf(who('district', 'admin')))}&limit=200`, who('district', 'auditor'));
    assert.ok(seen.body.items.some((e) => e.request_id === rid(res) && e.action === 'panel.update'), 'the auditor reads its admin\'s events');
    assert.deepEqual(seen.body.items.filter((e) => e.resource_id === k.id).map((e) => e.action), []);
  });

  // CSC sees every child (child_visible): its panel chairs gain and lose nothing by chairing a CME
  // panel, but the trigger writes a start and an end row per live child for csc, each a claim
  // that access moved which did not.  Fix (SQL, cme_chair_access_audit): leave csc out of the
  // agencies that start or stop (as an agency that chairs another CME panel is).
  it('a CME panel chaired by CSC: no access moves, so no access row', async () => {
    if (cmeChairs().includes('csc')) return;
    const res = await ok('POST', '/v1/panels', admin(), { type: 'cme', name: `Attack CME csc ${randomUUID().slice(0, 6)}`, chair_agency: 'csc', member_agencies: ['csc'] }, 201);
    made.push(res.body);
    assert.deepEqual(cmeRowsAbout(rid(res), kids), []);
  });
});

// ---- 2. a child's families in the change log, through the API only ------------------------

// a family's members as the sync's upsert lists them, 'tombstone', or 'not sent'
const familyIn = (items, id) => {
  const all = items.filter((i) => i.id === id);
  if (all.length === 0) return 'not sent';
  assert.equal(all.length, 1, JSON.stringify(all));
  return all[0].change === 'upsert' ? all[0].record.members.map((m) => m.child_id).sort() : all[0].change;
};
async function device(agency, role = 'practitioner') {
  const token = tokenFor(agency, role, `attack-facts-${agency}-${role}-${randomUUID().slice(0, 8)}`);
  const first = await sync(token);
  return { token, first: first.items, cursor: first.cursor };
}
async function step(dev, ids) {
  const s = await sync(dev.token, dev.cursor);
  dev.cursor = s.cursor;
  return Object.fromEntries(Object.entries(ids).map(([name, [kind, id]]) => [name, kind === 'family' ? familyIn(s.items, id) : said(s.items, id)]));
}
const csw = () => who('csc', 'social_worker');
const newFamily = async (token, label) => (await ok('POST', '/v1/families', token, { name: `Attack facts ${label} ${randomUUID().slice(0, 6)}` }, 201)).body;
const join = (fam, child) => ok('POST', `/v1/families/${fam.id}/members`, csw(), { child_id: child.id, relationship: 'child' }, 201);
async function leave(fam, child) {
  const res = await call('DELETE', `/v1/families/${fam.id}/members/${child.id}`, csw(), undefined,
    { 'If-Match': await etagOf(`/v1/families/${fam.id}`, csw()) });
  assert.ok(res.status === 200 || res.status === 204, `leave: ${res.status} ${res.text}`);
}

describe('2. a referred child moving between families through the API while the referral is open', () => {
  // voluntary sits on the panel: it sees the child while the referral is open, the family the
  // referral named (named, CSC's) while it is open, and its own family (own) always, listing
  // the child exactly while it may see the child.  elsewhere is a family CSC made that voluntary
  // never may see.
  let panel, ref, child, named, own, elsewhere, dev;
  const chair = () => who('police', 'panel_chair');
  const ids = () => ({ child: ['child', child.id], named: ['family', named.id], own: ['family', own.id], elsewhere: ['family', elsewhere.id] });

  before(async () => {
    panel = await makePanel({ chair: 'police', members: ['youth_justice', 'csc', 'voluntary'] });
    named = await newFamily(csw(), 'named');
    own = await newFamily(who('voluntary', 'safeguarding_lead'), 'own');
    elsewhere = await newFamily(csw(), 'elsewhere');
    child = await makeChild('csc');
    await join(named, child);
    ref = (await ok('POST', `/v1/panels/${panel.id}/referrals`, csw(), {
      child_id: child.id, reason: 'missing and found with older peers', risk_level: 'high',
      criteria: { offending_risk: true, safeguarding_concern: true },
    }, 201)).body;
    await ok('POST', `/v1/panel-referrals/${ref.id}/decision`, chair(), { outcome: 'accepted' });
    dev = await device('voluntary', 'panel_member');
    assert.deepEqual(said(dev.first, child.id), ['upsert']);
    assert.deepEqual(familyIn(dev.first, named.id), [child.id]);
    assert.deepEqual(familyIn(dev.first, own.id), []);
    assert.equal(familyIn(dev.first, elsewhere.id), 'not sent');
  });

  it('the child moves from the named family to voluntary\'s own: both families follow, and the child', async () => {
    await leave(named, child);
    await join(own, child);
    assert.deepEqual(await step(dev, ids()), { child: ['upsert'], named: [], own: [child.id], elsewhere: 'not sent' });
  });

  it('the referral closed: the child\'s tombstone, its family without it, the named family\'s tombstone', async () => {
    await ok('POST', `/v1/panel-referrals/${ref.id}/closure`, chair(), { reason: 'risk_reduced' });
    assert.deepEqual(await step(dev, ids()), { child: ['tombstone'], named: 'tombstone', own: [], elsewhere: 'not sent' });
    problem(await call('GET', `/v1/children/${child.id}`, dev.token), 404, 'not-found');
  });

  it('reopened: the child, its family listing it, the named family again (without it)', async () => {
    await ok('POST', `/v1/panel-referrals/${ref.id}/reopening`, chair(), { reason: 'missing again' });
    assert.deepEqual(await step(dev, ids()), { child: ['upsert'], named: [], own: [child.id], elsewhere: 'not sent' });
  });

  it('the child moves on to a family voluntary never may see: its own family drops it, the other is never sent', async () => {
    await leave(own, child);
    await join(elsewhere, child);
    assert.deepEqual(await step(dev, ids()), { child: ['upsert'], named: 'not sent', own: [], elsewhere: 'not sent' });
    problem(await call('GET', `/v1/families/${elsewhere.id}`, dev.token), 404, 'not-found');
  });

  it('back to its own family, then voluntary leaves the panel (PATCH): the tombstone, the family without it, the named family\'s tombstone', async () => {
    await leave(elsewhere, child);
    await join(own, child);
    assert.deepEqual(await step(dev, ids()), { child: ['upsert'], named: 'not sent', own: [child.id], elsewhere: 'not sent' });
    const res = await patchPanel(panel, { member_agencies: ['youth_justice', 'csc'] });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(await step(dev, ids()), { child: ['tombstone'], named: 'tombstone', own: [], elsewhere: 'not sent' });
  });

  it('while off the panel the child moves to the family voluntary may not see and back: voluntary is told nothing of the child or that family', async () => {
    await leave(own, child);
    await join(elsewhere, child);
    const out = await step(dev, ids());
    await leave(elsewhere, child);
    await join(own, child);
    const back = await step(dev, ids());
    // its own family is re-sent (a member left and came back), never listing a child it may not see
    assert.deepEqual({ out, back }, {
      out: { child: [], named: 'not sent', own: [], elsewhere: 'not sent' },
      back: { child: [], named: 'not sent', own: [], elsewhere: 'not sent' },
    });
  });

  it('voluntary rejoins: the child and its family listing it again', async () => {
    const res = await patchPanel(panel, { member_agencies: ['youth_justice', 'csc', 'voluntary'] });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(await step(dev, ids()), { child: ['upsert'], named: [], own: [child.id], elsewhere: 'not sent' });
  });
});

describe('2. a requested child moving between families through the API while the request is open', () => {
  let req, child, named, own, elsewhere, dev;
  const ids = () => ({ child: ['child', child.id], named: ['family', named.id], own: ['family', own.id], elsewhere: ['family', elsewhere.id] });

  before(async () => {
    named = await newFamily(csw(), 'named');
    own = await newFamily(who('police', 'safeguarding_lead'), 'own');
    elsewhere = await newFamily(csw(), 'elsewhere');
    child = await makeChild('csc');
    await join(named, child);
    req = (await ok('POST', '/v1/chronology-requests', csw(), {
      child_id: child.id, agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
      period_from: utcDay(-400), period_to: utcDay(0), respond_by: utcDay(7), share_until: inSeconds(3600),
    }, 201)).body;
    dev = await device('police');
    assert.deepEqual(said(dev.first, child.id), ['upsert']);
    assert.deepEqual(familyIn(dev.first, named.id), [child.id]);
    assert.deepEqual(familyIn(dev.first, own.id), []);
  });

  it('the child moves to police\'s own family, then elsewhere and back: police\'s families follow, the other is never sent', async () => {
    await leave(named, child);
    await join(own, child);
    const moved = await step(dev, ids());
    await leave(own, child);
    await join(elsewhere, child);
    const away = await step(dev, ids());
    await leave(elsewhere, child);
    await join(own, child);
    const back = await step(dev, ids());
    assert.deepEqual({ moved, away, back }, {
      moved: { child: ['upsert'], named: [], own: [child.id], elsewhere: 'not sent' },
      away: { child: ['upsert'], named: 'not sent', own: [], elsewhere: 'not sent' },
      back: { child: ['upsert'], named: 'not sent', own: [child.id], elsewhere: 'not sent' },
    });
  });

  it('the request closed: the child\'s tombstone, police\'s family without it, the named family\'s tombstone', async () => {
    await ok('POST', `/v1/chronology-requests/${req.id}/closure`, csw());
    assert.deepEqual(await step(dev, ids()), { child: ['tombstone'], named: 'tombstone', own: [], elsewhere: 'not sent' });
    problem(await call('GET', `/v1/families/${named.id}`, dev.token), 404, 'not-found');
  });
});

// ---- 3. CSC's window ---------------------------------------------------------------------

// Whether sync_window, called as the API's role with a caller's identity, hands that caller the
// last log row of a record: the window is read from just before that row (its position taken
// as the administrator: the log's own policy hides the row from a caller that may not see it).
function inWindow(agency, roles, sub, recordId) {
  const [xid, seq] = psql(`select d.xid || ' ' || d.seq from safeguard.sync_changes d where d.record_id = ${sql(recordId)}
    order by d.xid desc, d.seq desc limit 1`).split(' ');
  const r = asApi({ agency, roles, sub }, `select count(*) from safeguard.sync_window('${xid}'::xid8, ${seq} - 1,
    pg_snapshot_xmin(pg_current_snapshot()), null, null, 1) w where (w.xid, w.seq) = ('${xid}'::xid8, ${seq})`);
  assert.equal(r.err, undefined, r.err);
  return r.out.trim() === '1';
}

describe('3. CSC\'s sync window: the records that exist, and the deleted ones it was shown', () => {
  it('a family made and deleted between two syncs of a CSC device, never read: not in CSC\'s window, nothing on the device; one it read is a tombstone', async () => {
    const maker = who('district', 'safeguarding_lead');
    const reader = tokenFor('csc', 'safeguarding_lead', `attack-facts-csc-${randomUUID().slice(0, 8)}`);
    const sub = subOf(reader);
    const dev = { token: reader, cursor: (await sync(reader)).cursor };
    const unseen = await newFamily(maker, 'unseen');
    const seen = await newFamily(maker, 'seen');
    await ok('GET', `/v1/families/${seen.id}`, reader);
    psql(`delete from safeguard.families where id in (${sql(unseen.id)}, ${sql(seen.id)})`);
    assert.equal(inWindow('csc', 'safeguarding_lead', sub, unseen.id), false, 'CSC\'s window holds the deleted family it never saw');
    assert.equal(inWindow('csc', 'safeguarding_lead', sub, seen.id), true, 'the one it read is in its window');
    // (and a family that exists is in CSC's window whoever made it)
    const alive = await newFamily(maker, 'alive');
    assert.equal(inWindow('csc', 'safeguarding_lead', sub, alive.id), true);
    const s = await sync(dev.token, dev.cursor);
    assert.deepEqual(said(s.items, unseen.id), []);
    assert.deepEqual(said(s.items, seen.id), ['tombstone']);
  });

  it('a child CSC never read still reaches CSC\'s device while it exists (CSC sees every child), and after an edit', async () => {
    const dev = await device('csc', 'practitioner');
    const k = await makeChild('health');
    let s = await step(dev, { k: ['child', k.id] });
    assert.deepEqual(s, { k: ['upsert'] });
    await ok('PATCH', `/v1/children/${k.id}`, who('health', 'safeguarding_lead'), { preferred_name: 'Kay' }, 200,
      { 'If-Match': await etagOf(`/v1/children/${k.id}`, who('health', 'safeguarding_lead')) });
    s = await step(dev, { k: ['child', k.id] });
    assert.deepEqual(s, { k: ['upsert'] });
  });
});

// ---- 4. every role of every agency against a CME child, its case and its family ----------

describe('4. every role of every agency: a child with a live missing-education case, its case and its family', () => {
  let child, kase, fam;
  before(async () => {
    child = await makeChild('csc');
    fam = await newFamily(csw(), 'cme');
    await join(fam, child);
    kase = await liveCase(child.id);
  });

  it('200 to those who may see them, else the very answer a record that does not exist gets (404, or 403 by role)', async () => {
    const ghost = randomUUID();
    const wrong = [];
    for (const agency of AGENCIES) {
      for (const role of ROLES.filter((r) => r !== 'social_worker' || agency === 'csc')) {
        const t = who(agency, role);
        const caseRole = !['training_admin', 'auditor', 'admin'].includes(role);
        // the CME officer now: education's lead, or a panel_chair of an agency chairing a CME panel
        const officer = (agency === 'education' && role === 'safeguarding_lead') || (role === 'panel_chair' && cmeChairs().includes(agency));
        const may = { child: caseRole && (agency === 'csc' || officer), case: caseRole && (agency === 'csc' || officer), family: caseRole && agency === 'csc' };
        for (const [what, path, ghostPath] of [
          ['child', `/v1/children/${child.id}`, `/v1/children/${ghost}`],
          ['case', `/v1/cme-cases/${kase.id}`, `/v1/cme-cases/${ghost}`],
          ['family', `/v1/families/${fam.id}`, `/v1/families/${ghost}`],
        ]) {
          const real = await call('GET', path, t);
          if (may[what]) {
            if (real.status !== 200) wrong.push(`${agency} ${role} ${what}: ${real.status}, expected 200`);
            continue;
          }
          const none = await call('GET', ghostPath, t);
          if (real.status !== none.status || real.body?.type !== none.body?.type || ![403, 404].includes(real.status))
            wrong.push(`${agency} ${role} ${what}: ${real.status} ${real.body?.type} vs ${none.status} ${none.body?.type}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });
});

describe('4. every role of every agency: a CME panel\'s referral of a child with a live case', () => {
  let panel, child, ref;
  const members = ['csc', 'health'];
  before(async () => {
    const [free] = freeAgencies();
    assert.ok(free, 'an agency free of CME chairs');
    panel = await makePanel({ type: 'cme', chair: free, members });
    child = await makeChild('csc');
    await liveCase(child.id);
    ref = (await ok('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'safeguarding_lead'), {
      child_id: child.id, reason: 'not in school for a term', risk_level: 'medium', criteria: { missing_education: true },
    }, 201)).body;
  });
  after(() => {
    // retyped away from cme (it holds a referral): no other suite's CME officer depends on it
    byHand(`update safeguard.panels set type = 'joint_police_yj' where id = ${sql(panel.id)}`);
  });

  it('the panel\'s readers (its member agencies\' panel roles and leads) read it; every other caller gets what a panel or referral that does not exist gets', async () => {
    const ghost = randomUUID();
    const wrong = [];
    const sitting = [...members, panel.chair_agency];
    for (const agency of AGENCIES) {
      for (const role of ROLES.filter((r) => r !== 'social_worker' || agency === 'csc')) {
        const t = who(agency, role);
        const reader = sitting.includes(agency) && ['panel_member', 'panel_chair', 'safeguarding_lead'].includes(role);
        for (const [what, path, ghostPath] of [
          ['list', `/v1/panels/${panel.id}/referrals`, `/v1/panels/${ghost}/referrals`],
          ['referral', `/v1/panel-referrals/${ref.id}`, `/v1/panel-referrals/${ghost}`],
        ]) {
          const real = await call('GET', path, t);
          if (reader) {
            if (real.status !== 200) wrong.push(`${agency} ${role} ${what}: ${real.status}, expected 200`);
            else if (what === 'list' && !real.body.items.some((i) => i.id === ref.id)) wrong.push(`${agency} ${role} list: the referral missing`);
            continue;
          }
          const none = await call('GET', ghostPath, t);
          if (real.status !== none.status || real.body?.type !== none.body?.type || ![403, 404].includes(real.status))
            wrong.push(`${agency} ${role} ${what}: ${real.status} ${real.body?.type} vs ${none.status} ${none.body?.type}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });
});

