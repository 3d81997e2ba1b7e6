// panel-chronology.test.mjs - what a panel reads of the chronology request a
// referral links (issue 10, "a panel never reveals other agencies'
// chronology entries; linking a chronology request gives the panel what
// that request already shares, for its window"), the link's validation, and
// the race between a membership change and the writes that need the
// membership.  Every ending of the read is tried (referral declined or
// closed, request closed, share window passed) and the database is checked
// as well as the API: audit rows, and row-level security alone.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql, request } from './lib/client.mjs';
import {
  ROLES, who, admin, problem, fields, call, ok, makePanel, makeChild, refer, accept, makeAction, today, sql, asApi,
} from './lib/panels.mjs';
import { tokenFor } from './lib/people.mjs';

const AGENCIES = ['csc', 'police', 'health', 'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership'];
const READER_ROLES = ['panel_member', 'panel_chair', 'safeguarding_lead'];
const instant = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const sw = () => who('csc', 'social_worker');
const policeChair = () => who('police', 'panel_chair');

const entryBody = (childIds, summary, fields = {}) => ({
  child_ids: childIds, event_date: today(-10), date_precision: 'day', category: 'missing_episode',
  summary, impact: 'negative', significance: 'medium', action_taken: 'found and returned home', ...fields,
});
const requestBody = (fields) => ({
  agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: instant(Date.now() + 3600e3), ...fields,
});
const ids = (res) => res.body.entries.map((e) => e.id).sort();
const chronology = (referral, token) => call('GET', `/v1/panel-referrals/${referral.id}/chronology`, token);

// A child police created (so police, and CSC, write its chronology); a
// request by CSC inviting police, health and education; police submits one
// of its two entries, health says it has no involvement, education (which
// declared involvement and wrote an entry) has not answered; CSC's own
// entry is in no contribution.  A risk meeting (police chair) with CSC,
// youth justice and voluntary, and CSC's referral naming the request.
async function scene({ members = ['csc', 'youth_justice', 'voluntary'], requestFields = {} } = {}) {
  const panel = await makePanel({ type: 'risk_meeting', members });
  const child = await makeChild('police');
  await ok('POST', `/v1/children/${child.id}/involvements`, who('education', 'safeguarding_lead'), { reason: 'pupil absent' }, 201);
  const shared = (await ok('POST', '/v1/chronology-entries', who('police', 'safeguarding_lead'), entryBody([child.id], 'missing overnight, found with older peers'), 201)).body;
  const unshared = (await ok('POST', '/v1/chronology-entries', who('police', 'safeguarding_lead'), entryBody([child.id], 'police intelligence not shared'), 201)).body;
  const cscOwn = (await ok('POST', '/v1/chronology-entries', sw(), entryBody([child.id], 'CSC case note'), 201)).body;
  const eduOwn = (await ok('POST', '/v1/chronology-entries', who('education', 'safeguarding_lead'), entryBody([child.id], 'education note, not answered yet'), 201)).body;
  const req = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: child.id, agencies: ['police', 'health', 'education'], ...requestFields }), 201)).body;
  await ok('POST', `/v1/chronology-requests/${req.id}/contributions`, who('police', 'safeguarding_lead'), { entry_ids: [shared.id] });
  await ok('POST', `/v1/chronology-requests/${req.id}/contributions`, who('health', 'safeguarding_lead'), { no_involvement: true });
  const referral = await refer(panel, child, sw(), { chronology_request_id: req.id });
  return { panel, child, shared, unshared, cscOwn, eduOwn, req, referral };
}

describe('a panel reads the timeline of the request its referral names, while both are live', () => {
  let S;
  before(async () => {
    S = await scene();
  });

  it('the readers of member agencies read exactly what the request shows its invited agencies', async () => {
    const invited = await ok('GET', `/v1/chronology-requests/${S.req.id}/chronology`, who('police', 'safeguarding_lead'));
    for (const [agency, role] of [['youth_justice', 'panel_member'], ['voluntary', 'safeguarding_lead'], ['police', 'panel_chair'], ['csc', 'panel_member']]) {
      const res = await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who(agency, role));
      assert.deepEqual(ids(res), [S.shared.id], `${role} of ${agency}`);
      assert.deepEqual(res.body.entries, invited.body.entries);
      assert.deepEqual(res.body.patterns, invited.body.patterns);
      assert.equal(res.body.request.id, S.req.id);
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
  });

  it('never an entry that is not in a submitted contribution: not the unshared one, CSC\'s own, nor a pending agency\'s', async () => {
    const res = await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', 'panel_member'));
    for (const e of [S.unshared, S.cscOwn, S.eduOwn]) assert.ok(!ids(res).includes(e.id));
    assert.ok(!res.text.includes('not shared') && !res.text.includes('CSC case note') && !res.text.includes('not answered yet'));
    // nor through the entry itself, the child's chronology or the request's own routes
    for (const e of [S.unshared, S.cscOwn, S.eduOwn]) problem(await call('GET', `/v1/chronology-entries/${e.id}`, who('youth_justice', 'panel_member')), 404, 'not-found');
    assert.deepEqual((await ok('GET', `/v1/children/${S.child.id}/chronology`, who('youth_justice', 'safeguarding_lead'))).body.items, []);
    problem(await call('GET', `/v1/chronology-requests/${S.req.id}/chronology`, who('youth_justice', 'safeguarding_lead')), 404, 'not-found');
    problem(await call('GET', `/v1/chronology-requests/${S.req.id}`, who('youth_justice', 'safeguarding_lead')), 404, 'not-found');
    // police shares a second entry: the panel sees it at once; takes it back: gone at once
    await ok('POST', `/v1/chronology-requests/${S.req.id}/contributions`, who('police', 'safeguarding_lead'), { entry_ids: [S.shared.id, S.unshared.id] });
    assert.deepEqual(ids(await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', 'panel_member'))), [S.shared.id, S.unshared.id].sort());
    await ok('POST', `/v1/chronology-requests/${S.req.id}/contributions`, who('police', 'safeguarding_lead'), { entry_ids: [S.shared.id] });
    assert.deepEqual(ids(await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', 'panel_member'))), [S.shared.id]);
  });

  it('every read is audited in its transaction: the referral, and each child the timeline shows', async () => {
    const sub = `yj-reader-${randomUUID().slice(0, 8)}`;
    const res = await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, tokenFor('youth_justice', 'panel_member', sub));
    const rid = res.headers.get('x-request-id');
    const rows = psql(`select action || '|' || resource_type || '|' || resource_id || '|' || actor_agency || '|' || coalesce(details->>'chronology_request_id', '')
      from safeguard.audit_events where request_id = ${sql(rid)} and actor_sub = ${sql(sub)} order by action, resource_id`).split('\n');
    assert.deepEqual(rows, [
      `child.panel_referral.chronology.read|child|${S.child.id}|youth_justice|`,
      `panel_referral.chronology.read|panel_referral|${S.referral.id}|youth_justice|${S.req.id}`,
    ]);
    // a 404 writes none
    const before = psql(`select count(*) from safeguard.audit_events where action like '%panel_referral.chronology.read'`);
    problem(await chronology(S.referral, who('health', 'safeguarding_lead')), 404, 'not-found');
    assert.equal(psql(`select count(*) from safeguard.audit_events where action like '%panel_referral.chronology.read'`), before);
  });

  it('every role of every agency: member readers 200; other roles 403; everyone else 404, exactly as an unknown referral', async () => {
    const members = ['csc', 'youth_justice', 'voluntary', 'police'];
    const bad = [];
    for (const agency of AGENCIES) {
      for (const role of ROLES.filter((r) => r !== 'social_worker' || agency === 'csc')) {
        const want = !READER_ROLES.includes(role) ? 403 : members.includes(agency) ? 200 : 404;
        const res = await chronology(S.referral, who(agency, role));
        if (res.status !== want) bad.push(`${role} of ${agency}: ${res.status}, want ${want}`);
        else if (want === 404) {
          const unknown = await call('GET', `/v1/panel-referrals/${randomUUID()}/chronology`, who(agency, role));
          if (unknown.status !== 404 || unknown.body.type !== res.body.type || unknown.body.detail !== res.body.detail)
            bad.push(`${role} of ${agency}: the 404 differs from an unknown referral's`);
        } else if (want === 403) assert.equal(res.body.type, '/problems/forbidden');
      }
    }
    assert.deepEqual(bad, []);
  });

  it('row-level security alone gives a member reader the shared entry and its contribution, nothing else', () => {
    const yj = { agency: 'youth_justice', roles: 'panel_member' };
    const entries = `select string_agg(id::text, ',' order by id) from safeguard.chronology_entries
      where id in ('${S.shared.id}', '${S.unshared.id}', '${S.cscOwn.id}', '${S.eduOwn.id}')`;
    assert.equal(asApi(yj, entries).out, S.shared.id);
    assert.equal(asApi(yj, `select count(*) from safeguard.chronology_contributions where request_id = '${S.req.id}'`).out, '1');
    assert.equal(asApi(yj, `select count(*) from safeguard.chronology_entry_children where entry_id = '${S.shared.id}'`).out, '1');
    // the request itself, its children and agencies stay the requester's and the invited agencies'
    assert.equal(asApi(yj, `select count(*) from safeguard.chronology_requests where id = '${S.req.id}'`).out, '0');
    assert.equal(asApi(yj, `select count(*) from safeguard.chronology_request_agencies where request_id = '${S.req.id}'`).out, '0');
    // a practitioner of the member agency, and readers of agencies off the panel (health, invited, reads it by
    // its invitation, not the panel): nothing
    for (const who_ of [{ agency: 'youth_justice', roles: 'practitioner' }, { agency: 'district', roles: 'panel_member' }, { agency: 'mental_health', roles: 'panel_chair' }]) {
      assert.equal(asApi(who_, entries).out, '', JSON.stringify(who_));
      assert.equal(asApi(who_, `select count(*) from safeguard.consolidated_read('${S.req.id}', 'x', 'chronology_request', 'x', null, 'x', null)`).out, '0');
    }
    assert.equal(JSON.parse(asApi(yj, `select entries from safeguard.consolidated_read('${S.req.id}', 'x', 'chronology_request', 'x', null, 'x', null)`).out).map((e) => e.id).join(), S.shared.id);
  });
});

describe('the read ends with the referral, the request or the window, at once', () => {
  it('declined: 404; a new referral of the child reads again', async () => {
    const S = await scene();
    await ok('POST', `/v1/panel-referrals/${S.referral.id}/decision`, policeChair(), { outcome: 'declined', reason: 'not for this panel' });
    problem(await chronology(S.referral, who('youth_justice', 'panel_member')), 404, 'not-found');
    assert.equal(asApi({ agency: 'youth_justice', roles: 'panel_member' }, `select count(*) from safeguard.chronology_entries where id = '${S.shared.id}'`).out, '0');
  });

  it('closed: 404 for every reader, in the API and row-level security; reopened: readable again', async () => {
    const S = await scene();
    await accept(S.referral);
    await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('voluntary', 'safeguarding_lead'));
    await ok('POST', `/v1/panel-referrals/${S.referral.id}/closure`, policeChair(), { reason: 'risk_reduced' });
    for (const [agency, role] of [['youth_justice', 'panel_member'], ['voluntary', 'safeguarding_lead'], ['police', 'panel_chair']])
      problem(await chronology(S.referral, who(agency, role)), 404, 'not-found');
    problem(await call('GET', `/v1/chronology-entries/${S.shared.id}`, who('voluntary', 'safeguarding_lead')), 404, 'not-found');
    assert.equal(asApi({ agency: 'voluntary', roles: 'safeguarding_lead' }, `select count(*) from safeguard.consolidated_read('${S.req.id}', 'x', 'chronology_request', 'x', null, 'x', null)`).out, '0');
    // the referral itself stays the panel's record, with its link
    assert.equal((await ok('GET', `/v1/panel-referrals/${S.referral.id}`, who('voluntary', 'safeguarding_lead'))).body.chronology_request_id, S.req.id);
    await ok('POST', `/v1/panel-referrals/${S.referral.id}/reopening`, policeChair(), { reason: 'missing again' });
    assert.deepEqual(ids(await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('voluntary', 'safeguarding_lead'))), [S.shared.id]);
  });

  it('the request closed: 404, while the requester still reads it', async () => {
    const S = await scene();
    await ok('POST', `/v1/chronology-requests/${S.req.id}/closure`, sw());
    problem(await chronology(S.referral, who('youth_justice', 'panel_member')), 404, 'not-found');
    problem(await chronology(S.referral, who('csc', 'panel_member')), 404, 'not-found');
    assert.equal(asApi({ agency: 'youth_justice', roles: 'panel_member' }, `select count(*) from safeguard.chronology_contributions where request_id = '${S.req.id}'`).out, '0');
    await ok('GET', `/v1/chronology-requests/${S.req.id}/chronology`, sw());
  });

  it('the share window passed: 404 at once; moved back (by hand) it reads again, derived from the row', async () => {
    const S = await scene();
    await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', 'panel_member'));
    psql(`update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = '${S.req.id}'`);
    problem(await chronology(S.referral, who('youth_justice', 'panel_member')), 404, 'not-found');
    problem(await chronology(S.referral, who('police', 'panel_chair')), 404, 'not-found');
    assert.equal(asApi({ agency: 'youth_justice', roles: 'panel_member' }, `select count(*) from safeguard.chronology_entries where id = '${S.shared.id}'`).out, '0');
    psql(`update safeguard.chronology_requests set share_until = now() + interval '1 hour' where id = '${S.req.id}'`);
    await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', 'panel_member'));
  });

  it('an agency taken off the panel loses it at once; a referral naming no request is 404', async () => {
    const S = await scene();
    await ok('PATCH', `/v1/panels/${S.panel.id}`, admin(), { member_agencies: ['csc', 'youth_justice'] }, 200, { 'If-Match': '"v1"' });
    problem(await chronology(S.referral, who('voluntary', 'safeguarding_lead')), 404, 'not-found');
    await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', 'panel_member'));
    const plain = await refer(S.panel, await makeChild('csc'));
    problem(await chronology(plain, who('youth_justice', 'panel_member')), 404, 'not-found');
  });
});

describe('the link: a request about the child that the referrer\'s agency reads', () => {
  it('about another child: 422 not_about_child, nothing written', async () => {
    const P = await makePanel({ type: 'risk_meeting', members: ['csc', 'youth_justice'] });
    const c = await makeChild('csc');
    const other = await makeChild('csc');
    const req = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: other.id }), 201)).body;
    const res = problem(await call('POST', `/v1/panels/${P.id}/referrals`, sw(), { child_id: c.id, reason: 'r', risk_level: 'low', chronology_request_id: req.id }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['chronology_request_id:not_about_child']);
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where panel_id = '${P.id}'`), '0');
  });

  it('about the child\'s family (a sibling\'s request for the family): taken', async () => {
    const P = await makePanel({ type: 'risk_meeting', members: ['csc', 'youth_justice'] });
    const fam = (await ok('POST', '/v1/families', sw(), { name: `Link family ${randomUUID().slice(0, 6)}` }, 201)).body;
    const c = await makeChild('csc');
    await ok('POST', `/v1/families/${fam.id}/members`, sw(), { child_id: c.id, relationship: 'child' }, 201);
    const req = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ family_id: fam.id }), 201)).body;
    const r = await refer(P, c, sw(), { chronology_request_id: req.id });
    assert.equal(r.chronology_request_id, req.id);
  });

  it('a request the referrer\'s agency was never invited to: 422 not_found, as an unknown one (existence not told)', async () => {
    const P = await makePanel({ type: 'risk_meeting', members: ['youth_justice', 'csc'] });
    const c = await makeChild('youth_justice'); // in youth justice's network
    const req = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: c.id, agencies: ['police'] }), 201)).body;
    const lead = who('youth_justice', 'safeguarding_lead');
    const hidden = problem(await call('POST', `/v1/panels/${P.id}/referrals`, lead, { child_id: c.id, reason: 'r', risk_level: 'low', chronology_request_id: req.id }), 422, 'invalid-reference');
    const unknown = problem(await call('POST', `/v1/panels/${P.id}/referrals`, lead, { child_id: c.id, reason: 'r', risk_level: 'low', chronology_request_id: randomUUID() }), 422, 'invalid-reference');
    assert.deepEqual(hidden.body.errors, unknown.body.errors);
    assert.deepEqual(fields(hidden), ['chronology_request_id:not_found']);
    // invited, and live: the invited agency reads it but it is the requester's to give to a panel (022);
    // after the window passed (the invitation no longer reads it): not_found again
    const inv = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: c.id, agencies: ['youth_justice'] }), 201)).body;
    assert.deepEqual(fields(problem(await call('POST', `/v1/panels/${P.id}/referrals`, lead, { child_id: c.id, reason: 'r', risk_level: 'low', chronology_request_id: inv.id }), 422, 'invalid-reference')), ['chronology_request_id:not_requester']);
    psql(`update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = '${inv.id}'`);
    assert.deepEqual(fields(problem(await call('POST', `/v1/panels/${P.id}/referrals`, lead, { child_id: c.id, reason: 'r', risk_level: 'low', chronology_request_id: inv.id }), 422, 'invalid-reference')), ['chronology_request_id:not_found']);
    psql(`update safeguard.chronology_requests set share_until = now() + interval '1 hour' where id = '${inv.id}'`);
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where panel_id = '${P.id}'`), '0');
    // the requester (CSC, a member) gives it to the panel
    const given = await ok('POST', `/v1/panels/${P.id}/referrals`, sw(), { child_id: c.id, reason: 'r', risk_level: 'low', chronology_request_id: inv.id }, 201);
    assert.equal(given.body.chronology_request_id, inv.id);
  });

  it('row-level security alone refuses a referral naming another child\'s request or one the agency may not read', async () => {
    const P = await makePanel({ type: 'risk_meeting', members: ['csc', 'youth_justice'] });
    const c = await makeChild('youth_justice');
    const other = await makeChild('youth_justice');
    const theirs = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: other.id, agencies: ['youth_justice'] }), 201)).body;
    const hidden = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: c.id, agencies: ['police'] }), 201)).body;
    const mine = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: c.id, agencies: ['youth_justice'] }), 201)).body;
    const insert = (req) => `insert into safeguard.panel_referrals (id, panel_id, child_id, referring_agency, referred_by, reason, risk_level, chronology_request_id, updated_by)
      values (gen_random_uuid(), '${P.id}', '${c.id}', 'youth_justice', 'rls-attacker', 'r', 'low', '${req}', 'rls-attacker'); select 'inserted'`;
    const yj = { agency: 'youth_justice', roles: 'safeguarding_lead' };
    // another child's request, one youth justice may not read, and one it reads as an invited agency
    // but did not make (022): each refused by the database alone
    for (const req of [theirs.id, hidden.id, mine.id]) assert.match(asApi(yj, insert(req)).err ?? 'inserted', /row-level security/);
    // a family named with the referral proves nothing: the child's own family in the register does
    const G = (await ok('POST', '/v1/families', sw(), { name: `Other family ${randomUUID().slice(0, 6)}` }, 201)).body;
    const g = await makeChild('youth_justice');
    await ok('POST', `/v1/families/${G.id}/members`, sw(), { child_id: g.id, relationship: 'child' }, 201);
    const famReq = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ family_id: G.id, agencies: ['youth_justice'] }), 201)).body;
    const spoofed = `insert into safeguard.panel_referrals (id, panel_id, child_id, family_id, referring_agency, referred_by, reason, risk_level, chronology_request_id, updated_by)
      values (gen_random_uuid(), '${P.id}', '${c.id}', '${G.id}', 'youth_justice', 'rls-attacker', 'r', 'low', '${famReq.id}', 'rls-attacker'); select 'inserted'`;
    assert.match(asApi(yj, spoofed).err ?? 'inserted', /row-level security/);
    // the requester's own agency: inserted
    const csc = { agency: 'csc', roles: 'social_worker' };
    const cscInsert = `insert into safeguard.panel_referrals (id, panel_id, child_id, referring_agency, referred_by, reason, risk_level, chronology_request_id, updated_by)
      values (gen_random_uuid(), '${P.id}', '${c.id}', 'csc', 'rls-attacker', 'r', 'low', '${mine.id}', 'rls-attacker'); select 'inserted'`;
    assert.equal(asApi({ ...csc, sub: 'rls-attacker' }, cscInsert).out, 'inserted');
  });
});

describe('an agency leaving a panel while an action is given to it, or it refers', () => {
  it('at once, many times: never an open action of a non-member; each request a clear answer', async (t) => {
    const rounds = 12;
    const outcomes = [];
    const panels = [];
    for (let i = 0; i < rounds; i++) {
      const P = await makePanel({ type: 'risk_meeting', members: ['csc', 'health', 'youth_justice'] });
      panels.push(`'${P.id}'`);
      const leave = () => call('PATCH', `/v1/panels/${P.id}`, admin(), { member_agencies: ['csc', 'youth_justice'] }, { 'If-Match': '"v1"' });
      const give = () => call('POST', '/v1/panel-actions', policeChair(), { panel_id: P.id, description: `race ${i}`, owner_agency: 'health', due_date: today(3) });
      const [patch, action] = i % 2 ? await Promise.all([give(), leave()]).then(([a, p]) => [p, a]) : await Promise.all([leave(), give()]);
      if (patch.status === 200) {
        problem(action, 422, 'invalid-reference');
        assert.deepEqual(fields(action), ['owner_agency:not_a_member']);
      } else {
        problem(patch, 409, 'conflict');
        assert.equal(action.status, 201, JSON.stringify(action.body));
      }
      outcomes.push(`${patch.status}/${action.status}`);
      assert.equal(psql(`select count(*) from safeguard.panel_actions where panel_id = '${P.id}'`), action.status === 201 ? '1' : '0');
      assert.equal(psql(`select count(*) from safeguard.panel_members where panel_id = '${P.id}' and agency = 'health'`), patch.status === 200 ? '0' : '1');
    }
    assert.equal(psql(`select count(*) from safeguard.panel_actions a where a.panel_id in (${panels.join()})
      and a.status in ('open', 'in_progress')
      and not exists (select 1 from safeguard.panel_members m where m.panel_id = a.panel_id and m.agency = a.owner_agency)`), '0');
    t.diagnostic(`PATCH/action answers: ${outcomes.join(' ')}`);
  });

  it('a referral by the leaving agency at once: made while a member (201, the change then stands) or refused (403)', async () => {
    for (let i = 0; i < 8; i++) {
      const P = await makePanel({ type: 'risk_meeting', members: ['csc', 'youth_justice'] });
      const c = await makeChild('youth_justice');
      const [patch, ref] = await Promise.all([
        call('PATCH', `/v1/panels/${P.id}`, admin(), { member_agencies: ['csc'] }, { 'If-Match': '"v1"' }),
        call('POST', `/v1/panels/${P.id}/referrals`, who('youth_justice', 'safeguarding_lead'), { child_id: c.id, reason: 'r', risk_level: 'low' }),
      ]);
      assert.equal(patch.status, 200, JSON.stringify(patch.body));
      if (ref.status !== 201) problem(ref, 403, 'forbidden');
      const made = psql(`select count(*) from safeguard.panel_referrals where panel_id = '${P.id}'`);
      assert.equal(made, ref.status === 201 ? '1' : '0');
      // a referral stands only if its agency sat on the panel when it was made: its row came first
      if (ref.status === 201)
        assert.equal(psql(`select count(*) from safeguard.audit_events where action = 'child.panel_access.end' and resource_id = '${c.id}' and details->>'cause' = 'membership'`), '1');
    }
  });

  it('the database alone holds it: no owner off the panel, no member leaving with open actions', async () => {
    const P = await makePanel({ type: 'risk_meeting', members: ['csc', 'health'] });
    const a = (await makeAction(P, { owner_agency: 'health' })).body;
    assert.throws(() => psql(`delete from safeguard.panel_members where panel_id = '${P.id}' and agency = 'health'`), /still owns open actions/);
    assert.throws(() => psql(`update safeguard.panel_actions set owner_agency = 'district' where id = '${a.id}'`), /not a member/);
    assert.throws(() => psql(`insert into safeguard.panel_actions (id, panel_id, description, owner_agency, due_date, created_by, updated_by)
      values (gen_random_uuid(), '${P.id}', 'd', 'education', current_date, 'x', 'x')`), /not a member/);
    // done, it lets the agency go
    psql(`update safeguard.panel_actions set status = 'done' where id = '${a.id}'`);
    psql(`delete from safeguard.panel_members where panel_id = '${P.id}' and agency = 'health'`);
    assert.equal(psql(`select count(*) from safeguard.panel_members where panel_id = '${P.id}'`), '2');
  });

  it('the chair reassigning an escalated action to an agency off the panel: 422 not_a_member', async () => {
    const P = await makePanel({ type: 'risk_meeting', members: ['csc', 'health'] });
    const a = (await makeAction(P, { owner_agency: 'health' })).body;
    await ok('POST', `/v1/panel-actions/${a.id}/escalation`, who('health', 'panel_member'), { reason: 'not ours' }, 201);
    const res = problem(await call('POST', `/v1/panel-actions/${a.id}/escalation/resolution`, policeChair(), { resolution: 'to district', owner_agency: 'district' }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['owner_agency:not_a_member']);
    assert.equal((await request('GET', `/v1/panel-actions/${a.id}`, { token: who('health', 'panel_member') })).body.owner_agency, 'health');
  });
});

describe('attacked as a hostile partner agency', () => {
  let A, B;
  before(async () => {
    A = await scene({ members: ['csc', 'youth_justice'] });
    B = await scene({ members: ['csc', 'voluntary'] });
  });

  it('edited ids: a reader of A asking for B\'s referral, other records\' ids, ids that are not UUIDs: 404, never a 500', async () => {
    const yj = who('youth_justice', 'panel_member');
    await ok('GET', `/v1/panel-referrals/${A.referral.id}/chronology`, yj);
    problem(await chronology(B.referral, yj), 404, 'not-found');
    problem(await chronology(A.referral, who('voluntary', 'safeguarding_lead')), 404, 'not-found');
    // the ids of the request, the panel, the child and an entry, in the referral's place
    for (const id of [A.req.id, A.panel.id, A.child.id, A.shared.id, 'not-a-uuid', `${A.referral.id}x`, '%00', A.referral.id.replace(/-/g, '')]) {
      const res = await call('GET', `/v1/panel-referrals/${encodeURIComponent(id)}/chronology`, yj);
      assert.equal(res.status, 404, `${id}: ${res.status}`);
    }
    // the same referral id in capitals is the same referral, or a 404: never another's
    const upper = await call('GET', `/v1/panel-referrals/${A.referral.id.toUpperCase()}/chronology`, yj);
    assert.ok(upper.status === 404 || (upper.status === 200 && upper.body.request.id === A.req.id));
    // no write, and no other method
    for (const method of ['POST', 'PATCH', 'PUT', 'DELETE']) {
      const res = await call(method, `/v1/panel-referrals/${A.referral.id}/chronology`, yj, method === 'DELETE' ? undefined : {});
      assert.equal(res.status, 405, method);
    }
  });

  it('the panel grant opens none of the request\'s own routes, its CSV, nor another agency\'s unshared entries', async () => {
    const yj = who('youth_justice', 'safeguarding_lead');
    for (const path of [`/v1/chronology-requests/${A.req.id}`, `/v1/chronology-requests/${A.req.id}/chronology`, `/v1/chronology-requests/${A.req.id}/chronology.csv`])
      problem(await call('GET', path, yj), 404, 'not-found');
    problem(await call('GET', `/v1/chronology-requests/${A.req.id}/draft`, yj), 404, 'not-found');
    problem(await call('POST', `/v1/chronology-requests/${A.req.id}/contributions`, yj, { no_involvement: true }), 404, 'not-found');
    assert.equal(psql(`select count(*) from safeguard.chronology_request_agencies where request_id = '${A.req.id}' and agency = 'youth_justice'`), '0');
    const list = await ok('GET', '/v1/chronology-requests?limit=200', yj);
    assert.ok(!list.body.items.some((i) => i.id === A.req.id), 'the request is not in the panel reader\'s list');
    // the shared entry reads by id while live, as it does for the invited agencies; the others never
    await ok('GET', `/v1/chronology-entries/${A.shared.id}`, yj);
    for (const e of [A.unshared, A.cscOwn, A.eduOwn, B.shared]) problem(await call('GET', `/v1/chronology-entries/${e.id}`, yj), 404, 'not-found');
  });

  it('a chair linking, in its own panel, a request about another child or one its agency was not invited to: 422', async () => {
    const P = await makePanel({ type: 'risk_meeting', members: ['csc'] });
    const c = await makeChild('police');
    const chair = policeChair();
    const other = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: (await makeChild('police')).id, agencies: ['police'] }), 201)).body;
    const notInvited = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: c.id, agencies: ['health'] }), 201)).body;
    assert.deepEqual(fields(problem(await call('POST', `/v1/panels/${P.id}/referrals`, chair, { child_id: c.id, reason: 'r', risk_level: 'low', chronology_request_id: other.id }), 422, 'invalid-reference')), ['chronology_request_id:not_requester']);
    assert.deepEqual(fields(problem(await call('POST', `/v1/panels/${P.id}/referrals`, chair, { child_id: c.id, reason: 'r', risk_level: 'low', chronology_request_id: notInvited.id }), 422, 'invalid-reference')), ['chronology_request_id:not_found']);
    // closed, the request it was invited to is not linked either
    const closed = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: c.id, agencies: ['police'] }), 201)).body;
    await ok('POST', `/v1/chronology-requests/${closed.id}/closure`, sw());
    assert.deepEqual(fields(problem(await call('POST', `/v1/panels/${P.id}/referrals`, chair, { child_id: c.id, reason: 'r', risk_level: 'low', chronology_request_id: closed.id }), 422, 'invalid-reference')), ['chronology_request_id:not_found']);
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where panel_id = '${P.id}'`), '0');
  });

  it('the link is never moved afterwards, by any session: the chair, or the referral\'s own row', async () => {
    const chairA = { agency: 'police', roles: 'panel_chair' };
    const res = asApi(chairA, `update safeguard.panel_referrals set chronology_request_id = '${B.req.id}' where id = '${A.referral.id}'; select 'moved'`);
    assert.ok(res.err, `the link moved: ${res.out}`);
    assert.equal(psql(`select chronology_request_id from safeguard.panel_referrals where id = '${A.referral.id}'`), A.req.id);
  });

  it('after each ending, every reader of every member agency is refused, with the same answer as an unknown referral', async () => {
    const S = await scene({ members: ['csc', 'youth_justice', 'voluntary', 'education'] });
    const readers = ['csc', 'youth_justice', 'voluntary', 'education', 'police'].flatMap((a) => READER_ROLES.map((r) => [a, r]));
    const unknown = (await call('GET', `/v1/panel-referrals/${randomUUID()}/chronology`, who('csc', 'panel_member'))).body;
    const refusedAll = async (why) => {
      for (const [a, r] of readers) {
        const res = problem(await chronology(S.referral, who(a, r)), 404, 'not-found');
        assert.equal(res.body.type, unknown.type, `${why}: ${r} of ${a}`);
      }
    };
    for (const [a, r] of readers) await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who(a, r));
    psql(`update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = '${S.req.id}'`);
    await refusedAll('window passed');
    psql(`update safeguard.chronology_requests set share_until = now() + interval '1 hour' where id = '${S.req.id}'`);
    await accept(S.referral);
    await ok('POST', `/v1/panel-referrals/${S.referral.id}/closure`, policeChair(), { reason: 'aged_out' });
    await refusedAll('referral closed');
    await ok('POST', `/v1/panel-referrals/${S.referral.id}/reopening`, policeChair(), { reason: 'again' });
    await ok('POST', `/v1/chronology-requests/${S.req.id}/closure`, sw());
    await refusedAll('request closed');
  });
});
