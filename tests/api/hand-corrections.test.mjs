// hand-corrections.test.mjs - the changes the API never makes, made in the
// database by hand, that move a child's panel or CME-officer access leave
// the audit rows the API's own moves leave (migration 054).
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
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { session, waitedOrDone } from './lib/sessions.mjs';
import { who, ok, makePanel, makeChild, refer, accept, today, sql } from './lib/panels.mjs';

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
