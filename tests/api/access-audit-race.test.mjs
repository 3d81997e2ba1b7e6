// access-audit-race.test.mjs - two changes that move the same access at the
// same time each audit what the other did (migration 052).
//
// An agency sees a child while it sits on a panel with an open referral of
// the child (050's rows on a membership change, one row per open referral's
// child for the agency), and the CME panel's chair agency sees every child
// with a live missing-education case (051's rows on a CME chair change, one
// per live case's child).  Each side computed its rows from what had
// committed when its statement ran, so of two changes made at once the one
// committed second could miss the first's.  Here one transaction is held
// open in a database session after its change; the other runs (through the
// API, or a second session); it either finishes or is seen waiting for the
// first (pg_blocking_pids), and then the first commits.  The audit rows of
// the second are asserted exactly: they must know the first, as if the two
// had run one after the other.  Without the locks the second does not wait,
// and its rows are those of a world without the first.
import { describe, it, before, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { session, waitedOrDone } from './lib/sessions.mjs';
import { who, admin, ok, call, makePanel, makeChild, refer, accept, today, sql } from './lib/panels.mjs';

const rid = (res) => res.headers.get('x-request-id');
const chair = () => who('police', 'panel_chair');

// An open transaction in a session of its own, as a correction by hand
// made under an identity (so its triggers may audit it), that has made its
// change: {s, id}.  Closed by commit().
async function held(statement) {
  const id = `access-race-${randomUUID()}`;
  const s = await session();
  await s.run(`begin;
    select set_config('app.sub', 'access-race', true), set_config('app.agency', 'partnership', true),
           set_config('app.request_id', ${sql(id)}, true);`);
  await s.run(statement);
  return { s, id };
}
async function commit(h) {
  await h.s.run('commit;');
  await h.s.close();
}

// A change through the API, started while `h` is held: the state it
// reached ('waiting' for h, or 'done'), then h committed, then its answer.
async function whileHeld(h, start) {
  const answer = start();
  const state = await waitedOrDone(h.s.pid, answer);
  await commit(h);
  return { state, res: await answer };
}

async function patchPanel(panelId, body) {
  const cur = await ok('GET', `/v1/panels/${panelId}`, admin());
  return () => call('PATCH', `/v1/panels/${panelId}`, admin(), body, { 'If-Match': cur.headers.get('etag') });
}

// The panel access rows one request (or held transaction) wrote about the
// children given: "act agency cause child panel", sorted.
const accessRows = (requestId, kids) => psql(`select string_agg(replace(action, 'child.panel_access.', '') || ' '
    || coalesce(details->>'agency', '-') || ' ' || coalesce(details->>'cause', '-') || ' ' || resource_id || ' '
    || (details->>'panel_id'), E'\\n' order by 1)
  from safeguard.audit_events where request_id = ${sql(requestId)} and action like 'child.panel_access.%'
   and resource_id = any (array[${kids.map(sql).join(', ')}]::text[])`).split('\n').filter(Boolean).sort();
const expectRows = (lines, kids) => lines.flatMap(([act, agency, cause, panel]) => kids.map((k) => `${act} ${agency} ${cause} ${k} ${panel}`)).sort();

describe('a membership change and a referral of the same panel at once', () => {
  // a panel of police (chair), youth justice and CSC, with an accepted referral of a child
  async function caseOnPanel(members = ['youth_justice', 'csc']) {
    const panel = await makePanel({ type: 'joint_police_yj', chair: 'police', members });
    const child = await makeChild('csc');
    const referral = await refer(panel, child);
    await accept(referral);
    return { panel, child, referral };
  }
  const reopen = (r) => `update safeguard.panel_referrals set status = 'reopened', status_reason = 'seen with older peers again',
    closure_reason = null, updated_by = 'access-race' where id = ${sql(r.id)}`;

  it('an agency joins while the child\'s referral is reopened: the joining audits the child', async () => {
    const { panel, child, referral } = await caseOnPanel();
    await ok('POST', `/v1/panel-referrals/${referral.id}/closure`, chair(), { reason: 'risk_reduced' });
    const h = await held(reopen(referral));
    const { state, res } = await whileHeld(h, await patchPanel(panel.id, { member_agencies: ['youth_justice', 'csc', 'health'] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // health sits on the panel and the referral is open: its access started, and one row says so
    assert.deepEqual(accessRows(rid(res), [child.id]), expectRows([['start', 'health', 'membership', panel.id]], [child.id]));
    assert.equal(psql(`select status from safeguard.panel_referrals where id = ${sql(referral.id)}`), 'reopened');
    assert.equal(state, 'waiting', 'the membership change waited for the reopening');
  });

  it('an agency joins while the child\'s referral is closed: no start for an access that never was', async () => {
    const { panel, child, referral } = await caseOnPanel();
    const h = await held(`update safeguard.panel_referrals set status = 'closed', closure_reason = 'risk_reduced',
      status_reason = null, updated_by = 'access-race' where id = ${sql(referral.id)}`);
    const { state, res } = await whileHeld(h, await patchPanel(panel.id, { member_agencies: ['youth_justice', 'csc', 'health'] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(accessRows(rid(res), [child.id]), []);
    assert.equal(state, 'waiting');
  });

  it('an agency leaves while the child\'s referral is reopened: the leaving ends its access to the child', async () => {
    const { panel, child, referral } = await caseOnPanel(['youth_justice', 'csc', 'health']);
    await ok('POST', `/v1/panel-referrals/${referral.id}/closure`, chair(), { reason: 'risk_reduced' });
    const h = await held(reopen(referral));
    const { state, res } = await whileHeld(h, await patchPanel(panel.id, { member_agencies: ['youth_justice', 'csc'] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(accessRows(rid(res), [child.id]), expectRows([['end', 'health', 'membership', panel.id]], [child.id]));
    assert.equal(state, 'waiting');
  });

  it('an agency joins while an open referral is deleted by hand: no start for a child it never saw', async () => {
    const { panel, child, referral } = await caseOnPanel();
    const h = await held(`delete from safeguard.panel_referral_events where referral_id = ${sql(referral.id)};
      delete from safeguard.panel_referrals where id = ${sql(referral.id)}`);
    const { state, res } = await whileHeld(h, await patchPanel(panel.id, { member_agencies: ['youth_justice', 'csc', 'health'] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(accessRows(rid(res), [child.id]), []);
    // the deletion ended the members' access itself, as its identity (054)
    assert.deepEqual(accessRows(h.id, [child.id]), expectRows([['end', '-', 'deleted', panel.id]], [child.id]));
    assert.equal(state, 'waiting');
  });

  it('an agency added by hand while a referral is made by hand: the adding audits the child', async () => {
    const panel = await makePanel({ type: 'joint_police_yj', chair: 'police', members: ['youth_justice', 'csc'] });
    const child = await makeChild('csc');
    const h = await held(`insert into safeguard.panel_referrals (id, panel_id, child_id, referring_agency, referred_by, reason,
      risk_level, criteria, updated_by) values (${sql(randomUUID())}, ${sql(panel.id)}, ${sql(child.id)}, 'csc', 'access-race',
      'missing and found with older peers', 'high', '{"offending_risk": true, "safeguarding_concern": true}', 'access-race')`);
    const joining = await held(`select 1`);
    const step = joining.s.run(`insert into safeguard.panel_members (panel_id, agency) values (${sql(panel.id)}, 'health')`);
    const state = await waitedOrDone(h.s.pid, step);
    await commit(h);
    await step;
    await commit(joining);
    assert.deepEqual(accessRows(joining.id, [child.id]), expectRows([['start', 'health', 'membership', panel.id]], [child.id]));
    assert.equal(state, 'waiting');
  });
});

describe('the CME chairs, and the CME chairs against the live cases, at once', () => {
  let kids, x, y, z;
  const made = [];

  const cmePanel = async (chairAgency) => {
    const res = await ok('POST', '/v1/panels', admin(), {
      type: 'cme', name: `CME race ${randomUUID().slice(0, 6)}`, chair_agency: chairAgency, member_agencies: ['csc'],
    }, 201);
    made.push(res.body.id);
    return res.body;
  };
  const notify = async (child) => (await ok('POST', '/v1/cme-cases', who('csc', 'social_worker'), {
    child_id: child.id, reason: 'not_attending', since: today(-3), school_urn: '123456', school_name: 'Demo Academy',
    what_is_known: 'Not seen in school since the start of the week.',
  }, 201)).body;
  const cmeRows = (requestId, children) => accessRows(requestId, children).filter((l) => l.split(' ')[2] === 'cme_chair');

  before(async () => {
    // three agencies that chair no CME panel (another suite's CME panel is every suite's CME officer)
    const chairs = psql(`select coalesce(string_agg(distinct chair_agency, ','), '') from safeguard.panels where type = 'cme'`).split(',');
    [x, y, z] = ['voluntary', 'district', 'mental_health', 'youth_justice', 'health', 'police'].filter((a) => !chairs.includes(a));
    assert.ok(x && y && z, `agencies free of CME chairs: ${chairs}`);
    kids = [];
    for (let i = 0; i < 2; i++) {
      const c = await makeChild('csc');
      await notify(c);
      kids.push(c.id);
    }
  });

  afterEach(async () => {
    // no CME panel of this suite outlives its test: a CME chair is every other suite's CME officer
    if (!made.length) return;
    const h = await held(`delete from safeguard.panel_members where panel_id = any (array[${made.map(sql).join(', ')}]::uuid[]);
      delete from safeguard.panels where id = any (array[${made.map(sql).join(', ')}]::uuid[])`);
    await commit(h);
    made.length = 0;
  });

  it('two CME chairs handed over at once: the agency that chaired both loses its access, once', async () => {
    const p1 = await cmePanel(x);
    const p2 = await cmePanel(x);
    const h = await held(`update safeguard.panels set chair_agency = ${sql(y)} where id = ${sql(p1.id)}`);
    const { state, res } = await whileHeld(h, await patchPanel(p2.id, { chair_agency: z, member_agencies: ['csc'] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(cmeRows(h.id, kids), expectRows([['start', y, 'cme_chair', p1.id]], kids));
    // the second sees x gone from the first panel: x chairs nothing now
    assert.deepEqual(cmeRows(rid(res), kids), expectRows([['end', x, 'cme_chair', p2.id], ['start', z, 'cme_chair', p2.id]], kids));
    assert.equal(state, 'waiting');
  });

  it('a CME panel deleted by hand while its chair\'s other one is handed over: that agency\'s access ends', async () => {
    const p1 = await cmePanel(x);
    const p2 = await cmePanel(x);
    const h = await held(`delete from safeguard.panel_members where panel_id = ${sql(p1.id)};
      delete from safeguard.panels where id = ${sql(p1.id)}`);
    const { state, res } = await whileHeld(h, await patchPanel(p2.id, { chair_agency: z, member_agencies: ['csc'] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(cmeRows(h.id, kids), []);
    assert.deepEqual(cmeRows(rid(res), kids), expectRows([['end', x, 'cme_chair', p2.id], ['start', z, 'cme_chair', p2.id]], kids));
    assert.equal(state, 'waiting');
  });

  it('two CME panels created for one agency at once: its access starts once', async () => {
    const first = randomUUID();
    made.push(first);
    const h = await held(`insert into safeguard.panels (id, type, name, chair_agency, created_by)
      values (${sql(first)}, 'cme', 'CME race by hand', ${sql(x)}, 'access-race')`);
    const { state, res } = await whileHeld(h, () => call('POST', '/v1/panels', admin(), {
      type: 'cme', name: `CME race ${randomUUID().slice(0, 6)}`, chair_agency: x, member_agencies: ['csc'],
    }));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    made.push(res.body.id);
    assert.deepEqual(cmeRows(h.id, kids), expectRows([['start', x, 'cme_chair', first]], kids));
    assert.deepEqual(cmeRows(rid(res), kids), []);
    assert.equal(state, 'waiting');
  });

  it('a case opened while the CME chair changes: the change audits the new case\'s child', async () => {
    const p = await cmePanel(x);
    const c = await makeChild('csc');
    const h = await held(`insert into safeguard.cme_cases (id, child_id, reason, missing_since, school_urn, school_name,
      what_is_known, notifying_agency, notified_by, updated_by) values (${sql(randomUUID())}, ${sql(c.id)}, 'not_attending',
      ${sql(today(-2))}, '123456', 'Demo Academy', 'Not seen since Monday.', 'csc', 'access-race', 'access-race')`);
    const { state, res } = await whileHeld(h, await patchPanel(p.id, { chair_agency: y, member_agencies: ['csc'] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(cmeRows(rid(res), [...kids, c.id]),
      expectRows([['end', x, 'cme_chair', p.id], ['start', y, 'cme_chair', p.id]], [...kids, c.id]));
    assert.equal(state, 'waiting');
  });

  it('a live case deleted by hand while the CME chair changes: the change does not audit its child', async () => {
    const p = await cmePanel(x);
    const c = await makeChild('csc');
    const k = await notify(c);
    const h = await held(`delete from safeguard.cme_case_order where case_id = ${sql(k.id)};
      delete from safeguard.cme_cases where id = ${sql(k.id)}`);
    const { state, res } = await whileHeld(h, await patchPanel(p.id, { chair_agency: y, member_agencies: ['csc'] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(cmeRows(rid(res), [...kids, c.id]),
      expectRows([['end', x, 'cme_chair', p.id], ['start', y, 'cme_chair', p.id]], kids));
    assert.equal(state, 'waiting');
  });

  it('a case closed while the CME chair changes: the change does not audit its child', async () => {
    const p = await cmePanel(x);
    const c = await makeChild('csc');
    const k = await notify(c);
    const officer = who('education', 'safeguarding_lead');
    await ok('POST', `/v1/cme-cases/${k.id}/enquiries`, officer, { enquiry_date: today(0), method: 'home_visit', outcome: 'no_contact' }, 201);
    await ok('POST', `/v1/cme-cases/${k.id}/resolution`, officer, { resolution: 'elective_home_education' });
    const h = await held(`update safeguard.cme_cases set status = 'closed', closed_at = clock_timestamp(), closed_by = 'access-race',
      updated_by = 'access-race' where id = ${sql(k.id)}`);
    const { state, res } = await whileHeld(h, await patchPanel(p.id, { chair_agency: y, member_agencies: ['csc'] }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(cmeRows(rid(res), [...kids, c.id]),
      expectRows([['end', x, 'cme_chair', p.id], ['start', y, 'cme_chair', p.id]], kids));
    assert.equal(state, 'waiting');
  });
});
