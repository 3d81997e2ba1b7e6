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
import { tokenFor } from './lib/people.mjs';

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
  it('a live CME case deleted by hand under an agency\'s name: that agency\'s auditor does not read the child', { todo: '055 passes no cause for child.cme_case.close' }, async () => {
    const child = await makeChild('csc');
    const k = await notify(child);
    assert.equal((await call('GET', `/v1/children/${child.id}`, who('voluntary', 'safeguarding_lead'))).status, 404);
    const id = byHand('voluntary', deleteCase(k));
    assert.deepEqual(byRequest(id), [{ action: 'child.cme_case.close', child: child.id, agency: 'voluntary',
      details: { cme_case_id: k.id, cause: 'deleted' } }]);
    assert.deepEqual(await aboutChild(auditor('voluntary'), child.id), []);
  });
});
