// hand-corrections.test.mjs - the changes the API never makes, made in the
// database by hand, that move a child's panel or CME-officer access leave
// the audit rows the API's own moves leave (migrations 054, 058).
//
// A panel member moved by an update (another agency, or another panel)
// ends the old membership's access and starts the new one's, as 050's
// insert and delete do, and waits for the changes of either panel's open
// referrals (052's lock, on both panels); an open referral deleted ends the
// members' access to its child as a closure does; a live CME case deleted
// ends the CME officer's as a closure does.  Each is written as the
// identity the correction names in its transaction, and a correction that
// names none is refused with nothing changed.  The rows are asserted
// exactly, by the request id the correction named.
//
// 058: a referral or a CME case inserted by hand, a referral's status
// changed by hand (closed, declined, reopened) and a case closed by hand
// write the rows the API's own moves write, from one writer in the
// database, so the API's moves write each of them once; a member moved by
// an update while its agency owns open actions of the panel is refused, as
// a member deleted is (017); CSC joining, leaving or moved writes no access
// row (it sees every child).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { session, waitedOrDone } from './lib/sessions.mjs';
import { who, ok, makePanel, makeChild, makeAction, refer, accept, today, sql } from './lib/panels.mjs';

const SUB = 'jo.bloggs';
const identity = (id) => `select set_config('app.sub', ${sql(SUB)}, true), set_config('app.agency', 'partnership', true),
  set_config('app.request_id', ${sql(id)}, true);`;

// A correction made by hand under an identity, in one transaction: the
// request id it named.
function corrected(statements) {
  const id = `ticket-${randomUUID()}`;
  psql(`begin; ${identity(id)} ${statements}; commit;`);
  return id;
}
// A correction made with no identity: its error's first line (it must fail).
function refused(statements) {
  try {
    psql(`begin; ${statements}; commit;`);
  } catch (e) {
    return e.message.split('\n')[0];
  }
  assert.fail('the correction was made with no identity');
}

// Every audit row the correction wrote, as {action, child, details}, each
// checked to be the correction's identity's.
function rowsOf(id) {
  const rows = JSON.parse(psql(`select coalesce(json_agg(json_build_object('action', action, 'type', resource_type,
      'child', resource_id, 'sub', actor_sub, 'agency', actor_agency, 'outcome', outcome, 'details', details)
      order by action, resource_id, details::text), '[]') from safeguard.audit_events where request_id = ${sql(id)}`));
  for (const r of rows) {
    assert.deepEqual([r.type, r.sub, r.agency, r.outcome], ['child', SUB, 'partnership', 'success'], JSON.stringify(r));
  }
  return rows.map(({ action, child, details }) => ({ action, child, details }));
}
const byChild = (rows) => [...rows].sort((a, b) => (a.action + a.child + JSON.stringify(a.details)).localeCompare(b.action + b.child + JSON.stringify(b.details)));
const membership = (act, panel, agency, kids) => kids.map((child) => ({
  action: `child.panel_access.${act}`, child, details: { panel_id: panel, agency, cause: 'membership' },
}));
// Rows about a child, by anyone, since a mark (the audit trail only grows).
const mark = () => psql('select clock_timestamp()');
const rowsAbout = (child, since) => Number(psql(`select count(*) from safeguard.audit_events
  where resource_id = ${sql(child)} and occurred_at > ${sql(since)}`));

const chair = () => who('police', 'panel_chair');
const members = (panelId) => psql(`select string_agg(agency, ',' order by agency) from safeguard.panel_members
  where panel_id = ${sql(panelId)}`);
// A referral of a child made, then accepted (open), or closed.
async function referred(panel, { status = 'accepted' } = {}) {
  const child = await makeChild('csc');
  const referral = await refer(panel, child);
  if (status !== 'submitted') await accept(referral);
  if (status === 'closed') await ok('POST', `/v1/panel-referrals/${referral.id}/closure`, chair(), { reason: 'risk_reduced' });
  return { child, referral };
}
const deleteReferral = (r) => `delete from safeguard.panel_referral_events where referral_id = ${sql(r.id)};
  delete from safeguard.panel_referrals where id = ${sql(r.id)}`;

describe('a panel member moved by an update', () => {
  let a, b, a1, a2, b1, closedOnA;

  before(async () => {
    a = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
    b = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
    a1 = (await referred(a)).child.id;
    a2 = (await referred(a, { status: 'submitted' })).child.id;
    b1 = (await referred(b)).child.id;
    closedOnA = (await referred(a, { status: 'closed' })).child.id;
  });

  it('to another agency: the old agency\'s access ends and the new one\'s starts, for each open referral\'s child', () => {
    const since = mark();
    const id = corrected(`update safeguard.panel_members set agency = 'voluntary' where panel_id = ${sql(a.id)} and agency = 'youth_justice'`);
    assert.equal(members(a.id), 'csc,police,voluntary');
    const kids = [a1, a2].sort();
    assert.deepEqual(rowsOf(id), byChild([...membership('end', a.id, 'youth_justice', kids), ...membership('start', a.id, 'voluntary', kids)]));
    assert.equal(rowsAbout(closedOnA, since), 0, 'a closed referral\'s child gained and lost nothing');
  });

  it('to another panel: its access to the old panel\'s children ends, and to the new panel\'s starts', () => {
    const id = corrected(`update safeguard.panel_members set panel_id = ${sql(b.id)} where panel_id = ${sql(a.id)} and agency = 'voluntary'`);
    assert.equal(members(a.id), 'csc,police');
    assert.equal(members(b.id), 'csc,police,voluntary,youth_justice');
    assert.deepEqual(rowsOf(id), byChild([...membership('end', a.id, 'voluntary', [a1, a2].sort()), ...membership('start', b.id, 'voluntary', [b1])]));
  });

  it('with no identity: refused, the member where it was, no row written', () => {
    const since = mark();
    const err = refused(`update safeguard.panel_members set agency = 'health' where panel_id = ${sql(b.id)} and agency = 'voluntary'`);
    assert.match(err, /unrecognized configuration parameter "app\.(request_id|sub|agency)"/);
    assert.equal(members(b.id), 'csc,police,voluntary,youth_justice');
    assert.equal(rowsAbout(b1, since), 0);
  });

  it('with the identity an earlier transaction of the session left empty: refused', () => {
    const err = refused(`${identity('ticket-earlier')} commit; begin;
      update safeguard.panel_members set agency = 'health' where panel_id = ${sql(b.id)} and agency = 'voluntary'`);
    assert.match(err, /row-level security/);
    assert.equal(members(b.id), 'csc,police,voluntary,youth_justice');
  });

  it('between panels with no open referral: nothing to write, and no identity needed', async () => {
    const c = await makePanel({ chair: 'police', members: ['youth_justice', 'csc', 'health'] });
    const d = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
    psql(`update safeguard.panel_members set panel_id = ${sql(d.id)} where panel_id = ${sql(c.id)} and agency = 'health'`);
    assert.equal(members(d.id), 'csc,health,police,youth_justice');
  });

  // The move locks both panels' rows before it changes anything: a referral
  // of either panel made at the same time (it shares its panel's row, 052)
  // is waited for and then seen, so the move's rows count it.
  for (const side of ['the panel it joins', 'the panel it leaves']) {
    it(`waits for a referral opened on ${side} at the same time, and audits its child`, async () => {
      const from = await makePanel({ chair: 'police', members: ['youth_justice', 'csc', 'health'] });
      const to = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
      const panel = side === 'the panel it joins' ? to : from;
      const child = await makeChild('csc');
      const held = await session();
      const heldId = `ticket-${randomUUID()}`;
      await held.run(`begin; ${identity(heldId)}
        insert into safeguard.panel_referrals (id, panel_id, child_id, referring_agency, referred_by, reason, risk_level,
          criteria, updated_by) values (${sql(randomUUID())}, ${sql(panel.id)}, ${sql(child.id)}, 'csc', ${sql(SUB)},
          'missing and found with older peers', 'high', '{"offending_risk": true, "safeguarding_concern": true}', ${sql(SUB)})`);
      const mover = await session();
      const id = `ticket-${randomUUID()}`;
      await mover.run(`begin; ${identity(id)}`);
      const step = mover.run(`update safeguard.panel_members set panel_id = ${sql(to.id)}
        where panel_id = ${sql(from.id)} and agency = 'health'`);
      const state = await waitedOrDone(held.pid, step);
      await held.run('commit;');
      await held.close();
      await step;
      await mover.run('commit;');
      await mover.close();
      assert.equal(state, 'waiting', 'the move waited for the referral');
      assert.deepEqual(rowsOf(id), membership(side === 'the panel it joins' ? 'start' : 'end', panel.id, 'health', [child.id]));
    });
  }
});

describe('an open referral deleted', () => {
  let panel;
  before(async () => {
    panel = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
  });

  for (const status of ['submitted', 'accepted']) {
    it(`(${status}): the members' access to its child ends, one row naming the referral`, async () => {
      const { child, referral } = await referred(panel, { status });
      const id = corrected(deleteReferral(referral));
      assert.equal(psql(`select count(*) from safeguard.panel_referrals where id = ${sql(referral.id)}`), '0');
      assert.deepEqual(rowsOf(id), [{ action: 'child.panel_access.end', child: child.id,
        details: { panel_id: panel.id, referral_id: referral.id, cause: 'deleted' } }]);
    });
  }

  it('reopened: the same', async () => {
    const { child, referral } = await referred(panel, { status: 'closed' });
    await ok('POST', `/v1/panel-referrals/${referral.id}/reopening`, chair(), { reason: 'missing again' });
    const id = corrected(deleteReferral(referral));
    assert.deepEqual(rowsOf(id), [{ action: 'child.panel_access.end', child: child.id,
      details: { panel_id: panel.id, referral_id: referral.id, cause: 'deleted' } }]);
  });

  it('a closed one: no access ended, no row', async () => {
    const { referral } = await referred(panel, { status: 'closed' });
    assert.deepEqual(rowsOf(corrected(deleteReferral(referral))), []);
  });

  it('with no identity: refused, the referral still there, no row written', async () => {
    const { child, referral } = await referred(panel);
    const since = mark();
    assert.match(refused(deleteReferral(referral)), /unrecognized configuration parameter "app\.(request_id|sub|agency)"/);
    assert.equal(psql(`select status from safeguard.panel_referrals where id = ${sql(referral.id)}`), 'accepted');
    assert.equal(rowsAbout(child.id, since), 0);
  });
});

describe('a live CME case deleted', () => {
  const officer = () => who('education', 'safeguarding_lead');
  const notify = async (child) => (await ok('POST', '/v1/cme-cases', who('csc', 'social_worker'), {
    child_id: child.id, reason: 'not_attending', since: today(-3), school_urn: '123456', school_name: 'Demo Academy',
    what_is_known: 'Not seen in school since the start of the week.',
  }, 201)).body;
  const deleteCase = (k) => `delete from safeguard.cme_case_order where case_id = ${sql(k.id)};
    delete from safeguard.cme_enquiries where case_id = ${sql(k.id)};
    delete from safeguard.cme_cases where id = ${sql(k.id)}`;
  const left = [];
  after(() => {
    // a refused deletion leaves its live case: every CME officer would see its child
    for (const k of left) corrected(deleteCase(k));
  });

  it('open: the CME officer\'s access to its child ends, the row a closure writes', async () => {
    const child = await makeChild('csc');
    const k = await notify(child);
    const id = corrected(deleteCase(k));
    assert.equal(psql(`select count(*) from safeguard.cme_cases where id = ${sql(k.id)}`), '0');
    assert.deepEqual(rowsOf(id), [{ action: 'child.cme_case.close', child: child.id, details: { cme_case_id: k.id, cause: 'deleted' } }]);
  });

  it('under enquiry, then resolved: the same', async () => {
    for (const resolve of [false, true]) {
      const child = await makeChild('csc');
      const k = await notify(child);
      await ok('POST', `/v1/cme-cases/${k.id}/enquiries`, officer(), { enquiry_date: today(0), method: 'home_visit', outcome: 'no_contact' }, 201);
      if (resolve) await ok('POST', `/v1/cme-cases/${k.id}/resolution`, officer(), { resolution: 'elective_home_education' });
      const id = corrected(deleteCase(k));
      assert.deepEqual(rowsOf(id), [{ action: 'child.cme_case.close', child: child.id, details: { cme_case_id: k.id, cause: 'deleted' } }]);
    }
  });

  it('a closed one: no access ended, no row', async () => {
    const child = await makeChild('csc');
    const k = await notify(child);
    await ok('POST', `/v1/cme-cases/${k.id}/enquiries`, officer(), { enquiry_date: today(0), method: 'home_visit', outcome: 'no_contact' }, 201);
    await ok('POST', `/v1/cme-cases/${k.id}/resolution`, officer(), { resolution: 'elective_home_education' });
    await ok('POST', `/v1/cme-cases/${k.id}/closure`, officer());
    assert.deepEqual(rowsOf(corrected(deleteCase(k))), []);
  });

  it('with no identity: refused, the case still there, no row written', async () => {
    const child = await makeChild('csc');
    const k = await notify(child);
    left.push(k);
    const since = mark();
    assert.match(refused(deleteCase(k)), /unrecognized configuration parameter "app\.(request_id|sub|agency)"/);
    assert.equal(psql(`select status from safeguard.cme_cases where id = ${sql(k.id)}`), 'open');
    assert.equal(rowsAbout(child.id, since), 0);
  });
});

// ---- 058 -------------------------------------------------------------------------------------

const opened = (panel, referral, child, act = 'start', extra = {}) => ({ action: `child.panel_access.${act}`, child,
  details: { panel_id: panel, referral_id: referral, ...extra } });
const insertReferral = (id, panel, child, { status = 'submitted', more = '' } = {}) => `insert into safeguard.panel_referrals (id, panel_id,
    child_id, referring_agency, referred_by, reason, risk_level, criteria, updated_by, status${more ? ', status_reason, closure_reason' : ''})
  values (${sql(id)}, ${sql(panel)}, ${sql(child)}, 'csc', ${sql(SUB)}, 'missing and found with older peers', 'high',
    '{"offending_risk": true, "safeguarding_concern": true}', ${sql(SUB)}, ${sql(status)}${more ? `, ${more}` : ''})`;
const setStatus = (r, status, more = "status_reason = 'corrected by hand', closure_reason = null") =>
  `update safeguard.panel_referrals set status = ${sql(status)}, ${more} where id = ${sql(r.id)}`;
const statusOf = (r) => psql(`select status from safeguard.panel_referrals where id = ${sql(r.id)}`);

describe('a referral inserted or moved by hand (058)', () => {
  let panel;
  before(async () => {
    panel = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
  });

  it('inserted open: the members\' access to its child starts, the row the API\'s referral writes; inserted declined or closed: none', async () => {
    const child = await makeChild('csc');
    const rid = randomUUID();
    const id = corrected(`${insertReferral(randomUUID(), panel.id, child.id, { status: 'declined', more: "'not for this panel', null" })};
      ${insertReferral(randomUUID(), panel.id, child.id, { status: 'closed', more: "null, 'risk_reduced'" })};
      ${insertReferral(rid, panel.id, child.id)}`);
    assert.deepEqual(rowsOf(id), [opened(panel.id, rid, child.id)]);
  });

  it('closed, then reopened: the end and the start, as the API\'s closure and reopening', async () => {
    const { child, referral } = await referred(panel);
    const closing = corrected(setStatus(referral, 'closed', "status_reason = null, closure_reason = 'risk_reduced'"));
    assert.equal(statusOf(referral), 'closed');
    assert.deepEqual(rowsOf(closing), [opened(panel.id, referral.id, child.id, 'end')]);
    const reopening = corrected(setStatus(referral, 'reopened'));
    assert.equal(statusOf(referral), 'reopened');
    assert.deepEqual(rowsOf(reopening), [opened(panel.id, referral.id, child.id, 'start')]);
  });

  it('declined: the end, as the API\'s decline; accepted: nothing moves, no row', async () => {
    const declined = await referred(panel, { status: 'submitted' });
    assert.deepEqual(rowsOf(corrected(setStatus(declined.referral, 'declined'))),
      [opened(panel.id, declined.referral.id, declined.child.id, 'end')]);
    const accepted = await referred(panel, { status: 'submitted' });
    assert.deepEqual(rowsOf(corrected(setStatus(accepted.referral, 'accepted', 'status_reason = null'))), []);
    assert.equal(statusOf(accepted.referral), 'accepted');
  });

  it('closed and reopened in one transaction: both rows', async () => {
    const { child, referral } = await referred(panel);
    const id = corrected(`${setStatus(referral, 'closed', "status_reason = null, closure_reason = 'risk_reduced'")};
      ${setStatus(referral, 'reopened')}`);
    assert.deepEqual(rowsOf(id), [opened(panel.id, referral.id, child.id, 'end'), opened(panel.id, referral.id, child.id, 'start')]);
  });

  it('with no identity: refused, nothing inserted or moved, no row written', async () => {
    const child = await makeChild('csc');
    const since = mark();
    const rid = randomUUID();
    assert.match(refused(insertReferral(rid, panel.id, child.id)), /unrecognized configuration parameter "app\.(request_id|sub|agency)"/);
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where id = ${sql(rid)}`), '0');
    const { child: other, referral } = await referred(panel);
    const since2 = mark();
    assert.match(refused(setStatus(referral, 'closed', "status_reason = null, closure_reason = 'risk_reduced'")),
      /unrecognized configuration parameter "app\.(request_id|sub|agency)"/);
    assert.equal(statusOf(referral), 'accepted');
    assert.equal(rowsAbout(child.id, since), 0);
    assert.equal(rowsAbout(other.id, since2), 0);
  });
});

describe('a CME case inserted or closed by hand (058)', () => {
  const insertCase = (id, child, status = 'open') => `insert into safeguard.cme_cases (id, child_id, reason, missing_since,
      what_is_known, notifying_agency, notified_by, updated_by, status, resolution, resolved_on, closed_at)
    values (${sql(id)}, ${sql(child)}, 'not_attending', current_date - 3, 'Not seen since Monday.', 'csc', ${sql(SUB)}, ${sql(SUB)},
      ${sql(status)}, ${status === 'open' ? 'null, null, null' : status === 'resolved' ? "'elective_home_education', current_date, null"
        : "'elective_home_education', current_date, now()"})`;
  const closeCase = (id) => `update safeguard.cme_cases set status = 'closed', closed_at = now(), closed_by = ${sql(SUB)} where id = ${sql(id)}`;
  const caseStatus = (id) => psql(`select status from safeguard.cme_cases where id = ${sql(id)}`);
  const live = [];
  after(() => {
    // a live case made here would show its child to every CME officer
    for (const k of live) {
      if (caseStatus(k) === 'open') corrected(`update safeguard.cme_cases set status = 'enquiries' where id = ${sql(k)}`);
      if (caseStatus(k) === 'enquiries') {
        corrected(`update safeguard.cme_cases set status = 'resolved', resolution = 'elective_home_education', resolved_on = current_date
          where id = ${sql(k)}`);
      }
      if (caseStatus(k) === 'resolved') corrected(closeCase(k));
    }
  });

  it('inserted live: the CME officer\'s access starts, the row the API\'s notification writes; inserted closed: none', async () => {
    for (const status of ['open', 'resolved']) {
      const child = await makeChild('csc');
      const k = randomUUID();
      live.push(k);
      const id = corrected(`${insertCase(randomUUID(), child.id, 'closed')}; ${insertCase(k, child.id, status)}`);
      assert.deepEqual(rowsOf(id), [{ action: 'child.cme_case.notify', child: child.id, details: {} }], status);
    }
  });

  it('closed by hand: the row the API\'s closure writes', async () => {
    const child = await makeChild('csc');
    const k = randomUUID();
    live.push(k);
    corrected(insertCase(k, child.id, 'resolved'));
    const id = corrected(closeCase(k));
    assert.equal(caseStatus(k), 'closed');
    assert.deepEqual(rowsOf(id), [{ action: 'child.cme_case.close', child: child.id, details: {} }]);
  });

  it('with no identity: refused, nothing inserted or closed, no row written', async () => {
    const child = await makeChild('csc');
    const k = randomUUID();
    const since = mark();
    assert.match(refused(insertCase(k, child.id)), /unrecognized configuration parameter "app\.(request_id|sub|agency)"/);
    assert.equal(psql(`select count(*) from safeguard.cme_cases where id = ${sql(k)}`), '0');
    const other = await makeChild('csc');
    const k2 = randomUUID();
    live.push(k2);
    corrected(insertCase(k2, other.id, 'resolved'));
    const since2 = mark();
    assert.match(refused(closeCase(k2)), /unrecognized configuration parameter "app\.(request_id|sub|agency)"/);
    assert.equal(caseStatus(k2), 'resolved');
    assert.equal(rowsAbout(child.id, since), 0);
    assert.equal(rowsAbout(other.id, since2), 0);
  });
});

// The access rows one API request wrote: each is the request's, once.
const rid = (res) => res.headers.get('x-request-id');
const accessRows = (requestId) => JSON.parse(psql(`select coalesce(json_agg(json_build_object('action', action, 'child', resource_id,
    'details', details) order by occurred_at, id), '[]') from safeguard.audit_events where request_id = ${sql(requestId)}
    and (action like 'child.panel_access.%' or action in ('child.cme_case.notify', 'child.cme_case.close'))`));

describe('the API\'s own moves write each access row once (058)', () => {
  const officer = () => who('education', 'safeguarding_lead');

  it('a referral made, declined; made, accepted, closed and reopened: one row for each move of access', async () => {
    const panel = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
    const child = await makeChild('csc');
    const made = await ok('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), {
      child_id: child.id, reason: 'missing and found with older peers', risk_level: 'high', criteria: { offending_risk: true, safeguarding_concern: true },
    }, 201);
    const r = made.body.id;
    assert.deepEqual(accessRows(rid(made)), [opened(panel.id, r, child.id)]);
    const declined = await ok('POST', `/v1/panel-referrals/${r}/decision`, chair(), { outcome: 'declined', reason: 'not for this panel' });
    assert.deepEqual(accessRows(rid(declined)), [opened(panel.id, r, child.id, 'end')]);
    const again = await ok('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), {
      child_id: child.id, reason: 'missing again', risk_level: 'high', criteria: { offending_risk: true, safeguarding_concern: true },
    }, 201);
    const r2 = again.body.id;
    assert.deepEqual(accessRows(rid(again)), [opened(panel.id, r2, child.id)]);
    const accepted = await ok('POST', `/v1/panel-referrals/${r2}/decision`, chair(), { outcome: 'accepted' });
    assert.deepEqual(accessRows(rid(accepted)), []);
    const closed = await ok('POST', `/v1/panel-referrals/${r2}/closure`, chair(), { reason: 'risk_reduced' });
    assert.deepEqual(accessRows(rid(closed)), [opened(panel.id, r2, child.id, 'end')]);
    const reopened = await ok('POST', `/v1/panel-referrals/${r2}/reopening`, chair(), { reason: 'missing again' });
    assert.deepEqual(accessRows(rid(reopened)), [opened(panel.id, r2, child.id, 'start')]);
    // the referral's own row first, then the child's, as the API wrote them
    assert.deepEqual(psql(`select string_agg(action, ' ' order by occurred_at, id) from safeguard.audit_events
      where request_id = ${sql(rid(closed))} and action not like '%.read'`).split(' '), ['panel_referral.close', 'child.panel_access.end']);
  });

  it('a CME case notified, worked, referred to the CME panel and closed: one row for each move of access', async () => {
    const cme = await makePanel({ type: 'cme', chair: 'education', members: ['csc', 'health'] });
    const child = await makeChild('education');
    const made = await ok('POST', '/v1/cme-cases', officer(), {
      child_id: child.id, reason: 'not_attending', since: today(-3), school_urn: '123456', school_name: 'Demo Academy',
      what_is_known: 'Not seen in school since the start of the week.',
    }, 201);
    const k = made.body.id;
    assert.deepEqual(accessRows(rid(made)), [{ action: 'child.cme_case.notify', child: child.id, details: {} }]);
    const enquired = await ok('POST', `/v1/cme-cases/${k}/enquiries`, officer(), { enquiry_date: today(0), method: 'home_visit', outcome: 'no_contact' }, 201);
    assert.deepEqual(accessRows(rid(enquired)), []);
    const resolved = await ok('POST', `/v1/cme-cases/${k}/resolution`, officer(), { resolution: 'referred_to_cme_panel', panel_id: cme.id, risk_level: 'high' });
    const r = resolved.body.panel_referral_id;
    assert.deepEqual(accessRows(rid(resolved)), [opened(cme.id, r, child.id, 'start', { cme_case_id: k })]);
    const closed = await ok('POST', `/v1/cme-cases/${k}/closure`, officer());
    assert.deepEqual(accessRows(rid(closed)), [{ action: 'child.cme_case.close', child: child.id, details: {} }]);
    assert.deepEqual(psql(`select string_agg(action, ' ' order by occurred_at, id) from safeguard.audit_events
      where request_id = ${sql(rid(closed))} and action not like '%.read'`).split(' '), ['cme_case.close', 'child.cme_case.close']);
    // the referral the resolution made stays open: the CME panel's members keep the child
    await ok('POST', `/v1/panel-referrals/${r}/decision`, who('education', 'panel_chair'), { outcome: 'declined', reason: 'back on roll' });
  });
});

describe('a member moved by an update while its agency owns open actions of the panel (058)', () => {
  for (const [what, set] of [['to another agency', () => "agency = 'voluntary'"], ['to another panel', (other) => `panel_id = ${sql(other.id)}`]]) {
    it(`${what}: refused, as its leaving is (017), the member where it was, no row`, async () => {
      const panel = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
      const other = await makePanel({ type: 'risk_meeting', chair: 'police', members: ['csc'] });
      const { child } = await referred(panel);
      await makeAction(panel, { owner_agency: 'youth_justice' });
      const since = mark();
      const err = refused(`${identity(`ticket-${randomUUID()}`)}
        update safeguard.panel_members set ${set(other)} where panel_id = ${sql(panel.id)} and agency = 'youth_justice'`);
      assert.match(err, /youth_justice still owns open actions of panel/);
      assert.equal(members(panel.id), 'csc,police,youth_justice');
      assert.equal(members(other.id), 'csc,police');
      assert.equal(rowsAbout(child.id, since), 0);
    });
  }
});

describe('CSC joining, leaving or moved on a panel by hand (058)', () => {
  it('writes no access row for csc, which sees every child; the agency it is moved to starts its access', async () => {
    const panel = await makePanel({ chair: 'police', members: ['youth_justice', 'csc'] });
    const { child } = await referred(panel);
    const left = corrected(`delete from safeguard.panel_members where panel_id = ${sql(panel.id)} and agency = 'csc'`);
    assert.equal(members(panel.id), 'police,youth_justice');
    assert.deepEqual(rowsOf(left), []);
    const joined = corrected(`insert into safeguard.panel_members (panel_id, agency) values (${sql(panel.id)}, 'csc')`);
    assert.equal(members(panel.id), 'csc,police,youth_justice');
    assert.deepEqual(rowsOf(joined), []);
    const moved = corrected(`update safeguard.panel_members set agency = 'health' where panel_id = ${sql(panel.id)} and agency = 'csc'`);
    assert.equal(members(panel.id), 'health,police,youth_justice');
    assert.deepEqual(rowsOf(moved), membership('start', panel.id, 'health', [child.id]));
    const back = corrected(`update safeguard.panel_members set agency = 'csc' where panel_id = ${sql(panel.id)} and agency = 'health'`);
    assert.deepEqual(rowsOf(back), membership('end', panel.id, 'health', [child.id]));
  });
});
