// What migration 031 must not change while it makes a panel's case list
// and an action's update cheaper: each referral in the list exactly as its
// own GET shows it (every field, in every state, the child's name only while
// the reader may see the child), one child audit row per referral shown; an
// action's PATCH answered as its GET then shows it, the history snapshot the
// answer without overdue, and the same audit rows as before; and row-level
// security on every panel table (now a set of the caller's panels found
// once per statement) showing and changing exactly what panel_reader let it.
// Migration 066 builds a referral's document another way: the list and the
// GET must answer 031's document byte for byte.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { psql } from './lib/client.mjs';
import { who, call, ok, problem, makePanel, makeChild, refer, accept, makeMeeting, makeAction, today, sql, asApi, DOC_031 } from './lib/panels.mjs';

const chair = () => who('police', 'panel_chair');
const yj = () => who('youth_justice', 'panel_member');

// The audit rows a request wrote: [action, resource type, resource id], in order.
const auditOf = (requestId) => {
  const out = psql(`select action || ' ' || resource_type || ' ' || resource_id from safeguard.audit_events
    where request_id = ${sql(requestId)} order by occurred_at, resource_id`);
  return out ? out.split('\n').map((l) => l.split(' ')) : [];
};
const instant = (expr) => `to_char(${expr} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const row = (q) => JSON.parse(psql(q));


const REFERRAL_KEYS = ['chronology_request_id', 'child', 'child_id', 'closure_reason', 'cme_case_id', 'created_at', 'criteria',
  'current_risk_level', 'decline_reason', 'family_id', 'history', 'id', 'next_review_date', 'open', 'panel_id', 'reason',
  'referred_by', 'referring_agency', 'risk_level', 'screening_id', 'status', 'updated_at', 'version'].sort();
const ACTION_KEYS = ['child_id', 'created_at', 'created_by', 'description', 'due_date', 'escalated', 'escalations', 'id',
  'meeting_id', 'overdue', 'owner_agency', 'owner_name', 'panel_id', 'progress_note', 'referral_id', 'status', 'updated_at',
  'updated_by', 'version'].sort();

// A referral as the API has always shown it, built from the stored rows
// field by field: what the list and the GET must both answer.
function expectedReferral(id, { child, currentRisk, nextReview }) {
  const r = row(`select json_build_object('panel_id', panel_id, 'child_id', child_id, 'referring_agency', referring_agency,
    'referred_by', referred_by, 'reason', reason, 'risk_level', risk_level, 'criteria', criteria, 'status', status,
    'status_reason', status_reason, 'closure_reason', closure_reason, 'version', version,
    'created_at', ${instant('created_at')}, 'updated_at', ${instant('updated_at')})
    from safeguard.panel_referrals where id = ${sql(id)}`);
  const history = row(`select coalesce(json_agg(json_build_object('status', status, 'reason', reason,
    'closure_reason', closure_reason, 'by', actor_sub, 'agency', actor_agency, 'at', ${instant('occurred_at')}) order by version), '[]')
    from safeguard.panel_referral_events where referral_id = ${sql(id)}`);
  return {
    id, panel_id: r.panel_id, child_id: r.child_id, child, family_id: null, referring_agency: r.referring_agency,
    referred_by: r.referred_by, reason: r.reason, risk_level: r.risk_level, current_risk_level: currentRisk ?? r.risk_level,
    next_review_date: nextReview ?? null, criteria: r.criteria, chronology_request_id: null, screening_id: null, cme_case_id: null,
    status: r.status, open: ['submitted', 'accepted', 'reopened'].includes(r.status),
    decline_reason: r.status === 'declined' ? r.status_reason : null, closure_reason: r.closure_reason, history,
    version: r.version, created_at: r.created_at, updated_at: r.updated_at,
  };
}

describe('rendering: a panel\'s case list', () => {
  let panel, refs, children, discussed;
  before(async () => {
    panel = await makePanel({ members: ['youth_justice', 'csc'] });
    children = [];
    for (let i = 0; i < 4; i++) children.push(await makeChild('csc', { first_name: `Render${i}` }));
    refs = [];
    for (const c of children) refs.push(await refer(panel, c));
    // 0 submitted; 1 accepted and discussed (risk and review now); 2 declined; 3 closed
    await accept(refs[1]);
    const m = await makeMeeting(panel, [refs[1]]);
    discussed = (await ok('POST', `/v1/panel-meetings/${m.id}/discussions`, yj(), {
      referral_id: refs[1].id, summary: 'engaging with the youth offending team', risk_level: 'low', next_review_date: today(14),
    }, 201)).body;
    await ok('POST', `/v1/panel-referrals/${refs[2].id}/decision`, chair(), { outcome: 'declined', reason: 'no offending risk' });
    await accept(refs[3]);
    await ok('POST', `/v1/panel-referrals/${refs[3].id}/closure`, chair(), { reason: 'aged_out', note: 'eighteen now' });
  });

  it('shows each referral as the stored rows make it, in every state, exactly as its GET does', async () => {
    const res = await ok('GET', `/v1/panels/${panel.id}/referrals`, yj());
    assert.deepEqual(res.body.items.map((x) => x.id), refs.map((x) => x.id));
    assert.equal(res.body.next_cursor, null);
    const name = (c) => ({ first_name: c.first_name, last_name: c.last_name, date_of_birth: c.date_of_birth });
    // youth justice sees a child while its referral is open, not after a decline or a closure
    const want = [
      expectedReferral(refs[0].id, { child: name(children[0]) }),
      expectedReferral(refs[1].id, { child: name(children[1]), currentRisk: 'low', nextReview: discussed.next_review_date }),
      expectedReferral(refs[2].id, { child: null }),
      expectedReferral(refs[3].id, { child: null }),
    ];
    for (const [i, item] of res.body.items.entries()) {
      assert.deepEqual(Object.keys(item).sort(), REFERRAL_KEYS);
      assert.deepEqual(item, want[i]);
      const one = await ok('GET', `/v1/panel-referrals/${item.id}`, yj());
      assert.deepEqual(one.body, item);
    }
    assert.deepEqual(res.body.items.map((x) => [x.status, x.decline_reason, x.closure_reason, x.history.length]),
      [['submitted', null, null, 1], ['accepted', null, null, 2], ['declined', 'no offending risk', null, 2], ['closed', null, 'aged_out', 3]]);
    // CSC, in every child's network, sees every name
    const csc = await ok('GET', `/v1/panels/${panel.id}/referrals`, who('csc', 'panel_member'));
    assert.deepEqual(csc.body.items.map((x) => x.child?.first_name), children.map((c) => c.first_name));
  });

  it('answers the list and each GET, as text, with 031\'s document as the caller reads it', async () => {
    // 066 builds the document another way; it must be the same bytes.
    const page = (caller) => asApi(caller, `select '{"items":[' || string_agg((${DOC_031})::text, ',' order by r.created_at, r.id)
      || '],"next_cursor":null}' from safeguard.panel_referrals r where r.panel_id = ${sql(panel.id)}`).out;
    const one = (caller, id) => asApi(caller, `select (${DOC_031})::text from safeguard.panel_referrals r where r.id = ${sql(id)}`).out;
    for (const [token, caller] of [[yj(), { agency: 'youth_justice', roles: 'panel_member' }],
      [who('csc', 'panel_member'), { agency: 'csc', roles: 'panel_member' }]]) {
      const list = await ok('GET', `/v1/panels/${panel.id}/referrals`, token);
      assert.equal(list.text, page(caller), caller.agency);
      for (const r of refs) assert.equal((await ok('GET', `/v1/panel-referrals/${r.id}`, token)).text, one(caller, r.id));
    }
  });

  it('writes one child audit row per referral shown, page by page, and nothing else', async () => {
    const first = await ok('GET', `/v1/panels/${panel.id}/referrals?limit=3`, yj());
    const byId = (a, b) => a[2].localeCompare(b[2]);
    assert.deepEqual(auditOf(first.headers.get('x-request-id')).sort(byId),
      refs.slice(0, 3).map((x) => ['child.panel_referral.read', 'child', x.child_id]).sort(byId));
    const next = await ok('GET', `/v1/panels/${panel.id}/referrals?limit=3&cursor=${first.body.next_cursor}`, yj());
    assert.deepEqual(next.body.items.map((x) => x.id), [refs[3].id]);
    assert.deepEqual(auditOf(next.headers.get('x-request-id')), [['child.panel_referral.read', 'child', refs[3].child_id]]);
    const closed = await ok('GET', `/v1/panels/${panel.id}/referrals?status=closed`, yj());
    assert.deepEqual(closed.body.items.map((x) => x.id), [refs[3].id]);
    assert.deepEqual(auditOf(closed.headers.get('x-request-id')), [['child.panel_referral.read', 'child', refs[3].child_id]]);
  });

  it('row-level security shows the panel\'s referrals, their history and discussions to its readers only', async () => {
    const count = (who_, table) => asApi(who_, `select count(*) from safeguard.${table} where panel_id = ${sql(panel.id)}`).out;
    const referrer = psql(`select referred_by from safeguard.panel_referrals where id = ${sql(refs[0].id)}`);
    for (const [caller, want] of [
      [{ agency: 'youth_justice', roles: 'panel_member' }, ['4', '8', '1']],
      [{ agency: 'csc', roles: 'safeguarding_lead' }, ['4', '8', '1']],
      [{ agency: 'police', roles: 'panel_chair' }, ['4', '8', '1']],
      // a member agency without a reader's role; a reader's role outside the panel
      [{ agency: 'youth_justice', roles: 'practitioner' }, ['0', '0', '0']],
      [{ agency: 'health', roles: 'panel_member,panel_chair,safeguarding_lead' }, ['0', '0', '0']],
      // the referrer reads back its own referrals and their history, not the panel's discussions
      [{ agency: 'csc', roles: 'social_worker', sub: referrer }, ['4', '8', '0']],
      [{ agency: 'health', roles: 'social_worker', sub: referrer }, ['0', '0', '0']],
    ]) {
      assert.deepEqual(['panel_referrals', 'panel_referral_events', 'panel_discussions'].map((t) => count(caller, t)), want,
        JSON.stringify(caller));
    }
  });
});

describe('rendering: an action\'s progress update', () => {
  let panel, referral;
  before(async () => {
    panel = await makePanel({ members: ['youth_justice', 'csc'] });
    referral = await refer(panel, await makeChild('csc'));
  });

  it('answers the action as its GET then shows it, keeps the answer as the history snapshot and writes the same audit rows', async () => {
    const { id } = (await makeAction(panel, { referral_id: referral.id, owner_name: 'Yan' })).body;
    // an escalation raised and resolved, so that the document carries one
    await ok('POST', `/v1/panel-actions/${id}/escalation`, yj(), { reason: 'needs CSC too' }, 201);
    await ok('POST', `/v1/panel-actions/${id}/escalation/resolution`, chair(), { resolution: 'stays with youth justice' });
    const cur = await ok('GET', `/v1/panel-actions/${id}`, yj());
    const res = await ok('PATCH', `/v1/panel-actions/${id}`, yj(), { status: 'in_progress', progress_note: 'first visit done' },
      200, { 'If-Match': cur.headers.get('etag') });
    assert.deepEqual(Object.keys(res.body).sort(), ACTION_KEYS);
    const stored = row(`select json_build_object('updated_by', updated_by, 'updated_at', ${instant('updated_at')})
      from safeguard.panel_actions where id = ${sql(id)}`);
    assert.deepEqual(res.body, { ...cur.body, status: 'in_progress', progress_note: 'first visit done', version: cur.body.version + 1, ...stored });
    assert.equal(res.body.escalations.length, 1);
    assert.equal(res.body.escalations[0].resolution, 'stays with youth justice');
    assert.equal(res.body.child_id, referral.child_id);
    const after = await ok('GET', `/v1/panel-actions/${id}`, yj());
    assert.deepEqual(after.body, res.body);
    assert.equal(after.headers.get('etag'), res.headers.get('etag'));
    const { overdue, ...snapshot } = res.body;
    assert.equal(overdue, false);
    assert.deepEqual(row(`select snapshot from safeguard.panel_action_history where action_id = ${sql(id)} and version = ${res.body.version}`), snapshot);
    assert.equal(psql(`select change from safeguard.panel_action_history where action_id = ${sql(id)} and version = ${res.body.version}`), 'updated');
    assert.deepEqual(auditOf(res.headers.get('x-request-id')), [
      ['panel_action.update', 'panel_action', id], ['child.panel_action.read', 'child', referral.child_id]]);
  });

  it('an action about no child: no child audit row; a stale If-Match changes and audits nothing', async () => {
    const { id } = (await makeAction(panel)).body;
    const cur = await ok('GET', `/v1/panel-actions/${id}`, yj());
    const res = await ok('PATCH', `/v1/panel-actions/${id}`, yj(), { status: 'in_progress' }, 200, { 'If-Match': cur.headers.get('etag') });
    assert.deepEqual([res.body.child_id, res.body.status, res.body.version], [null, 'in_progress', cur.body.version + 1]);
    assert.deepEqual(auditOf(res.headers.get('x-request-id')), [['panel_action.update', 'panel_action', id]]);
    const stale = problem(await call('PATCH', `/v1/panel-actions/${id}`, yj(), { status: 'done' }, { 'If-Match': cur.headers.get('etag') }), 412, 'precondition-failed');
    assert.deepEqual(auditOf(stale.headers.get('x-request-id')), []);
    assert.equal((await ok('GET', `/v1/panel-actions/${id}`, yj())).body.status, 'in_progress');
  });

  it('row-level security lets only the panel\'s readers see an action, and only its owner\'s readers or the chair change it', async () => {
    const { id } = (await makeAction(panel, { referral_id: referral.id })).body;
    const seen = (caller) => asApi(caller, `select count(*) from safeguard.panel_actions where id = ${sql(id)}`).out;
    const changed = (caller) => asApi(caller, `with u as (update safeguard.panel_actions set progress_note = 'rls',
      updated_by = safeguard.app_sub() where id = ${sql(id)} returning 1) select count(*) from u`).out;
    for (const [caller, want] of [
      [{ agency: 'youth_justice', roles: 'panel_member' }, ['1', '1']],
      [{ agency: 'csc', roles: 'panel_member' }, ['1', '0']],
      [{ agency: 'police', roles: 'panel_chair' }, ['1', '1']],
      [{ agency: 'youth_justice', roles: 'practitioner' }, ['0', '0']],
      [{ agency: 'health', roles: 'panel_member' }, ['0', '0']],
    ]) {
      assert.deepEqual([seen(caller), changed(caller)], want, JSON.stringify(caller));
    }
    // history and escalations follow the action
    for (const table of ['panel_action_history', 'panel_action_escalations']) {
      assert.equal(asApi({ agency: 'health', roles: 'panel_member' }, `select count(*) from safeguard.${table} where action_id = ${sql(id)}`).out, '0');
    }
    assert.equal(asApi({ agency: 'csc', roles: 'panel_member' }, `select count(*) from safeguard.panel_action_history where action_id = ${sql(id)}`).out, '1');
  });
});
