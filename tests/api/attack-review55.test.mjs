// attack-review55.test.mjs - a hostile partner agency and a careless operator
// against 052-055: the access rows a change writes for children its maker
// never saw (055), the locks that order those changes (052, 054) when the
// API makes several at once, and a share window's end (053).
//
// 1. An agency's auditor reads its own staff's events, but not the access
//    rows their changes wrote about children the agency cannot see; it still
//    reads every event its staff made about a child they were shown, after
//    the agency's access ended; the partnership's auditor reads all.
// 2. Membership changes, referral moves and CME case and chair changes made
//    at once through the API: no 5xx, and each success left its audit rows.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { who, admin, ok, call, makePanel, makeChild, refer, accept, today, sql } from './lib/panels.mjs';
import { tokenFor, as } from './lib/people.mjs';
import { syncAll, said } from './lib/sync.mjs';

const rid = (res) => res.headers.get('x-request-id');
const chair = () => who('police', 'panel_chair');

// A fresh auditor of an agency (its own sub, so its reads are its own).
const auditor = (agency) => tokenFor(agency, 'auditor', `r55-aud-${agency}-${randomUUID().slice(0, 8)}`);

// Every event the caller reads through GET /v1/audit-events for a query.
async function trail(token, query) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < 50; i++) {
    const res = await call('GET', `/v1/audit-events?${query}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, token);
    assert.equal(res.status, 200, `${query}: ${res.status} ${JSON.stringify(res.body)}`);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
    if (!cursor) return items;
  }
  assert.fail('the trail ends');
}
const aboutChild = (token, child) => trail(token, `resource_type=child&resource_id=${child}`);
const byRequest = (id) => JSON.parse(psql(`select coalesce(json_agg(json_build_object('action', action, 'child', resource_id,
  'agency', actor_agency, 'details', details) order by action, resource_id), '[]') from safeguard.audit_events where request_id = ${sql(id)}`));

async function patchPanel(panelId, token, body) {
  const cur = await ok('GET', `/v1/panels/${panelId}`, admin());
  return call('PATCH', `/v1/panels/${panelId}`, token, body, { 'If-Match': cur.headers.get('etag') });
}
// A correction by hand under an agency's identity: its request id.
function byHand(agency, statements) {
  const id = `r55-ticket-${randomUUID()}`;
  psql(`begin; select set_config('app.sub', 'r55.operator', true), set_config('app.agency', ${sql(agency)}, true),
    set_config('app.request_id', ${sql(id)}, true); ${statements}; commit;`);
  return id;
}
const notify = async (child) => (await ok('POST', '/v1/cme-cases', who('csc', 'social_worker'), {
  child_id: child.id, reason: 'not_attending', since: today(-3), school_urn: '123456', school_name: 'Demo Academy',
  what_is_known: 'Not seen in school since the start of the week.',
}, 201)).body;
const deleteCase = (k) => `delete from safeguard.cme_case_order where case_id = ${sql(k.id)};
  delete from safeguard.cme_enquiries where case_id = ${sql(k.id)};
  delete from safeguard.cme_cases where id = ${sql(k.id)}`;

describe('055: an agency auditor and the access rows its staff\'s changes wrote', () => {
  it('an agency admin changes a panel\'s members: its auditor does not read the children, the partnership\'s does', async () => {
    const panel = await makePanel({ type: 'joint_police_yj', chair: 'police', members: ['youth_justice', 'csc'] });
    const child = await makeChild('csc');
    await accept(await refer(panel, child));
    // voluntary sits on nothing here and has the child nowhere in its network
    assert.equal((await call('GET', `/v1/children/${child.id}`, who('voluntary', 'safeguarding_lead'))).status, 404);
    const res = await patchPanel(panel.id, who('voluntary', 'admin'), { member_agencies: ['youth_justice', 'csc', 'health'] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const rows = byRequest(rid(res)).filter((r) => r.action.startsWith('child.panel_access.'));
    assert.deepEqual(rows, [{ action: 'child.panel_access.start', child: child.id, agency: 'voluntary',
      details: { panel_id: panel.id, agency: 'health', cause: 'membership' } }]);
    // voluntary's auditor: the panel.update its admin made, but no row naming the child
    const mine = (await trail(auditor('voluntary'), 'agency=voluntary&action=child.panel_access.start'));
    assert.ok(!mine.some((e) => e.resource_id === child.id), 'voluntary\'s auditor reads a child it cannot see');
    assert.deepEqual(await aboutChild(auditor('voluntary'), child.id), []);
    const upd = await trail(auditor('voluntary'), `action=panel.update&resource_id=${panel.id}`);
    assert.equal(upd.length, 1, 'its own admin\'s panel.update');
    // health, now seeing the child, reads the row; the partnership reads it
    assert.ok((await aboutChild(auditor('health'), child.id)).some((e) => e.request_id === rid(res)));
    assert.ok((await aboutChild(auditor('partnership'), child.id)).some((e) => e.request_id === rid(res)));
  });

  it('an agency still reads what its staff read about a child after its access ended (child.read, no cause)', async () => {
    const panel = await makePanel({ type: 'joint_police_yj', chair: 'police', members: ['youth_justice', 'csc'] });
    const child = await makeChild('csc');
    const referral = await refer(panel, child);
    await accept(referral);
    const reader = tokenFor('youth_justice', 'panel_member', `r55-yj-${randomUUID().slice(0, 8)}`);
    const read = await ok('GET', `/v1/children/${child.id}`, reader);
    await ok('POST', `/v1/panel-referrals/${referral.id}/closure`, chair(), { reason: 'risk_reduced' });
    assert.equal((await call('GET', `/v1/children/${child.id}`, reader)).status, 404, 'youth justice no longer sees the child');
    const yj = await aboutChild(auditor('youth_justice'), child.id);
    assert.ok(yj.some((e) => e.request_id === rid(read) && e.action === 'child.read'), 'its staff\'s child.read');
    // the partnership reads every row about the child the database holds
    const all = Number(psql(`select count(*) from safeguard.audit_events where resource_type = 'child' and resource_id = ${sql(child.id)}`));
    assert.equal((await aboutChild(auditor('partnership'), child.id)).length, all);
  });

  it('an open referral deleted by hand under an agency\'s name: that agency\'s auditor does not read the child', async () => {
    const panel = await makePanel({ type: 'joint_police_yj', chair: 'police', members: ['youth_justice', 'csc'] });
    const child = await makeChild('csc');
    const referral = await refer(panel, child);
    const id = byHand('voluntary', `delete from safeguard.panel_referral_events where referral_id = ${sql(referral.id)};
      delete from safeguard.panel_referrals where id = ${sql(referral.id)}`);
    assert.deepEqual(byRequest(id), [{ action: 'child.panel_access.end', child: child.id, agency: 'voluntary',
      details: { panel_id: panel.id, referral_id: referral.id, cause: 'deleted' } }]);
    assert.deepEqual(await aboutChild(auditor('voluntary'), child.id), []);
    assert.ok(!(await trail(auditor('voluntary'), 'agency=voluntary&action=child.panel_access.end')).some((e) => e.resource_id === child.id));
  });

  // README ("The audit trail") says a case deleted by hand is read only for
  // a child the agency sees; 055's policy passes a cause for
  // child.panel_access.* only, so child.cme_case.close {cause: 'deleted'}
  // is read as the maker's own event.
  it('a live CME case deleted by hand under an agency\'s name: that agency\'s auditor does not read the child', async () => {
    const child = await makeChild('csc');
    const k = await notify(child);
    assert.equal((await call('GET', `/v1/children/${child.id}`, who('voluntary', 'safeguarding_lead'))).status, 404);
    const id = byHand('voluntary', deleteCase(k));
    assert.deepEqual(byRequest(id), [{ action: 'child.cme_case.close', child: child.id, agency: 'voluntary',
      details: { cme_case_id: k.id, cause: 'deleted' } }]);
    assert.deepEqual(await aboutChild(auditor('voluntary'), child.id), []);
  });
});

// Each answer of a race: a success, or a refusal the API documents (a
// stale If-Match, a move the referral's state no longer allows), never 5xx.
function noFault(results, label) {
  for (const res of results) {
    assert.ok(res.status < 500, `${label}: ${res.status} ${JSON.stringify(res.body)}`);
    if (res.status >= 400) assert.ok([409, 412, 422].includes(res.status), `${label}: ${res.status} ${JSON.stringify(res.body)}`);
  }
}
// The actions a request's audit rows name, sorted.
const actionsOf = (res) => [...new Set(byRequest(rid(res)).map((r) => r.action))].sort();

describe('052/054 through the API: changes that move the same access, made at once', () => {
  it('a panel\'s members changed while its referral is closed, reopened and decided, 20 times: no 5xx, no lost row', async () => {
    for (let i = 0; i < 20; i++) {
      const panel = await makePanel({ type: 'joint_police_yj', chair: 'police', members: ['youth_justice', 'csc'] });
      const child = await makeChild('csc');
      const referral = await refer(panel, child);
      const cur = await ok('GET', `/v1/panels/${panel.id}`, admin());
      const etag = cur.headers.get('etag');
      const round1 = await Promise.all([
        call('PATCH', `/v1/panels/${panel.id}`, who('voluntary', 'admin'), { member_agencies: ['youth_justice', 'csc', 'health'] }, { 'If-Match': etag }),
        call('POST', `/v1/panel-referrals/${referral.id}/decision`, chair(), { outcome: 'accepted' }),
      ]);
      noFault(round1, `round 1 of ${i}`);
      assert.equal(round1[0].status, 200);
      assert.equal(round1[1].status, 200);
      assert.deepEqual(actionsOf(round1[0]), ['child.panel_access.start', 'panel.update']);
      assert.ok(actionsOf(round1[1]).includes('panel_referral.accept') || actionsOf(round1[1]).some((a) => a.startsWith('panel_referral.')));
      const etag2 = (await ok('GET', `/v1/panels/${panel.id}`, admin())).headers.get('etag');
      const round2 = await Promise.all([
        call('PATCH', `/v1/panels/${panel.id}`, admin(), { member_agencies: ['youth_justice', 'csc', 'education'] }, { 'If-Match': etag2 }),
        call('POST', `/v1/panel-referrals/${referral.id}/closure`, chair(), { reason: 'risk_reduced' }),
        call('POST', `/v1/panel-referrals/${referral.id}/reopening`, chair(), { reason: 'seen with older peers again' }),
      ]);
      noFault(round2, `round 2 of ${i}`);
      assert.equal(round2[0].status, 200);
      assert.equal(round2[1].status, 200);
      assert.ok(actionsOf(round2[0]).includes('panel.update'));
      assert.ok(actionsOf(round2[1]).includes('child.panel_access.end'), JSON.stringify(byRequest(rid(round2[1]))));
      if (round2[2].status === 200) assert.ok(actionsOf(round2[2]).includes('child.panel_access.start'));
      // (the API's referral rows name no agency: an end by the closure
      // covers health whichever came first, so the per-agency rows are not
      // summed here; access-audit-race asserts each order exactly)
    }
  });

  it('CME cases opened and closed while the CME chair changes, 20 times: no 5xx, no lost row', async () => {
    const chairs = psql(`select coalesce(string_agg(distinct chair_agency, ','), '') from safeguard.panels where type = 'cme'`).split(',');
    const free = ['voluntary', 'district', 'mental_health', 'youth_justice'].filter((a) => !chairs.includes(a));
    assert.ok(free.length >= 2, `agencies free of CME chairs: ${chairs}`);
    const made = (await ok('POST', '/v1/panels', admin(), {
      type: 'cme', name: `CME r55 ${randomUUID().slice(0, 6)}`, chair_agency: free[0], member_agencies: ['csc'],
    }, 201)).body;
    try {
      for (let i = 0; i < 20; i++) {
        const child = await makeChild('csc');
        const live = await notify(await makeChild('csc'));
        const officer = who('education', 'safeguarding_lead');
        await ok('POST', `/v1/cme-cases/${live.id}/enquiries`, officer, { enquiry_date: today(0), method: 'home_visit', outcome: 'no_contact' }, 201);
        await ok('POST', `/v1/cme-cases/${live.id}/resolution`, officer, { resolution: 'elective_home_education' });
        const etag = (await ok('GET', `/v1/panels/${made.id}`, admin())).headers.get('etag');
        const res = await Promise.all([
          call('PATCH', `/v1/panels/${made.id}`, admin(), { chair_agency: free[(i + 1) % 2], member_agencies: ['csc'] }, { 'If-Match': etag }),
          call('POST', '/v1/cme-cases', who('csc', 'social_worker'), {
            child_id: child.id, reason: 'not_attending', since: today(-3), school_urn: '123456', school_name: 'Demo Academy',
            what_is_known: 'Not seen in school since the start of the week.',
          }),
          call('POST', `/v1/cme-cases/${live.id}/closure`, officer),
        ]);
        noFault(res, `round ${i}`);
        assert.deepEqual(res.map((r) => r.status), [200, 201, 200], res.map((r) => JSON.stringify(r.body)).join('\n'));
        assert.ok(actionsOf(res[0]).includes('panel.update'));
        assert.ok(actionsOf(res[2]).includes('child.cme_case.close'), JSON.stringify(byRequest(rid(res[2]))));
        // the new case's child: the agency that chairs now holds access by the rows
        const now = free[(i + 1) % 2];
        const net = Number(psql(`select coalesce(sum(case when action = 'child.panel_access.start' then 1 else -1 end), 0)
          from safeguard.audit_events where resource_id = ${sql(child.id)} and action like 'child.panel_access.%'
            and details->>'cause' = 'cme_chair' and details->>'agency' = ${sql(now)}`));
        const started = Number(psql(`select count(*) from safeguard.audit_events where resource_id = ${sql(child.id)}
          and request_id = ${sql(rid(res[1]))}`));
        assert.ok(started >= 1, 'the case\'s own rows');
        assert.ok(net === 0 || net === 1, `net cme_chair rows for ${now}: ${net}`);
      }
    } finally {
      psql(`begin; select set_config('app.sub', 'r55', true), set_config('app.agency', 'partnership', true),
        set_config('app.request_id', 'r55-cleanup', true);
        delete from safeguard.panel_members where panel_id = ${sql(made.id)};
        delete from safeguard.panels where id = ${sql(made.id)}; commit;`);
    }
  });
});

describe('053: a share window ends on a family named three ways and changed in the log on the same page', () => {
  it('one item for the family, listing no child police may not see; the children tombstoned once', async () => {
    const post = async (path, token, body) => (await ok('POST', path, token, body, 201)).body;
    const lead = tokenFor('police', 'safeguarding_lead', `r55-lead-${randomUUID().slice(0, 8)}`);
    const named = await post('/v1/families', as.cscSocialWorker, { name: `r55 named ${randomUUID().slice(0, 6)}` });
    const moved = await post('/v1/families', lead, { name: `r55 moved ${randomUUID().slice(0, 6)}` });
    const kid = () => post('/v1/children', as.cscSocialWorker, { first_name: 'Review', last_name: `Child${randomUUID().slice(0, 4)}`, date_of_birth: '2011-02-03' });
    const [k1, k2] = [await kid(), await kid()];
    for (const k of [k1, k2]) await post(`/v1/families/${named.id}/members`, as.cscSocialWorker, { child_id: k.id, relationship: 'child' });
    const day = (o) => new Date(Date.now() + o * 86400000).toISOString().slice(0, 10);
    const req = await post('/v1/chronology-requests', as.cscSocialWorker, {
      agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47', family_id: named.id,
      period_from: day(-400), period_to: day(0), respond_by: day(7),
      share_until: new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    // both children move to police's family after the request opened (the request still names the first)
    psql(`update safeguard.children set family_id = ${sql(moved.id)} where id in (${sql(k1.id)}, ${sql(k2.id)})`);
    const police = tokenFor('police', 'practitioner', `r55-dev-${randomUUID().slice(0, 8)}`);
    const open = await syncAll(police);
    const up = open.items.filter((i) => i.id === moved.id);
    assert.deepEqual(up.map((i) => i.change), ['upsert']);
    assert.deepEqual(up[0].record.members.map((m) => m.child_id).sort(), [k1.id, k2.id].sort());
    // the family changes in the log, then the window ends (no write), both after the device's cursor
    const etag = (await ok('GET', `/v1/families/${moved.id}`, lead)).headers.get('etag');
    const patched = await call('PATCH', `/v1/families/${moved.id}`, lead, { name: `r55 renamed ${randomUUID().slice(0, 6)}` }, { 'If-Match': etag });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    psql(`begin; set local session_replication_role = replica;
      update safeguard.chronology_requests set share_until = now() where id = ${sql(req.id)}; commit;`);
    for (const limit of [200, 1, 2]) {
      const after = await syncAll(police, open.cursor, limit);
      const pageIds = after.items.map((i) => `${i.id}:${i.change}`);
      assert.equal(new Set(pageIds).size, pageIds.length, `limit ${limit}: an item twice: ${pageIds}`);
      assert.deepEqual(said(after.items, moved.id), ['upsert'], `limit ${limit}`);
      assert.deepEqual(after.items.find((i) => i.id === moved.id).record.members, [], `limit ${limit}: no child police may not see`);
      assert.deepEqual(said(after.items, k1.id), ['tombstone']);
      assert.deepEqual(said(after.items, k2.id), ['tombstone']);
      assert.deepEqual(said(after.items, named.id), ['tombstone']);
      // no item names a child police may not see, in any record
      const text = JSON.stringify(after.items.filter((i) => i.change === 'upsert'));
      assert.ok(!text.includes(k1.id) && !text.includes(k2.id), `limit ${limit}: an upsert names a subject child`);
    }
  });
});
