// The panels' action log (issue 10): setting actions (chair only, due date
// not in the past, owner a member), each agency's tray and its filters,
// overdue derived from the due date across a date boundary, progress by the
// owner agency only (If-Match), the escalation round trip to the chair,
// the history of every change, and the CSV exports protected against
// formula injection.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { who, problem, fields, call, ok, makePanel, makeChild, refer, accept, makeMeeting, makeAction, today, audited } from './lib/panels.mjs';

const chair = () => who('police', 'panel_chair');
const yj = () => who('youth_justice', 'panel_member');

describe('actions: setting them', () => {
  let panel;
  before(async () => { panel = await makePanel({ members: ['youth_justice', 'csc'] }); });

  it('the chair sets an action on a referral and a meeting of the panel', async () => {
    const r = await refer(panel, await makeChild('csc'));
    const m = await makeMeeting(panel, [r]);
    const res = await makeAction(panel, { referral_id: r.id, meeting_id: m.id, owner_name: 'Yan', due_date: today() });
    assert.deepEqual([res.body.status, res.body.overdue, res.body.escalated, res.body.child_id, res.body.version], ['open', false, false, r.child_id, 1]);
    assert.equal(res.headers.get('location'), `/v1/panel-actions/${res.body.id}`);
    assert.equal(audited('panel_action.create', res.body.id), 1);
    assert.equal(audited('child.panel_action.read', r.child_id), 1);
  });

  it('refuses a due date in the past (400), an owner outside the panel and foreign references (422), and creates nothing', async () => {
    const before = psql(`select count(*) from safeguard.panel_actions where panel_id = '${panel.id}'`);
    let res = problem(await call('POST', '/v1/panel-actions', chair(), { panel_id: panel.id, description: 'x', owner_agency: 'youth_justice', due_date: today(-1) }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['due_date:in_past']);
    res = problem(await call('POST', '/v1/panel-actions', chair(), { panel_id: panel.id, description: '', owner_agency: 'nhs', due_date: '2026-13-01', status: 'done' }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['description:required', 'due_date:invalid_date', 'owner_agency:invalid_value', 'status:read_only']);
    const other = await makePanel({ members: ['csc', 'youth_justice'] });
    const otherRef = await refer(other, await makeChild('csc'));
    res = problem(await call('POST', '/v1/panel-actions', chair(), { panel_id: panel.id, description: 'x', owner_agency: 'health', due_date: today(1), referral_id: otherRef.id, meeting_id: randomUUID() }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['meeting_id:not_found', 'owner_agency:not_a_member', 'referral_id:not_found']);
    res = problem(await call('POST', '/v1/panel-actions', chair(), { panel_id: randomUUID(), description: 'x', owner_agency: 'csc', due_date: today(1) }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['panel_id:not_found']);
    assert.equal(psql(`select count(*) from safeguard.panel_actions where panel_id = '${panel.id}'`), before);
  });

  for (const [agency, role, want] of [
    ['police', 'panel_chair', 201], ['csc', 'panel_chair', 403], ['health', 'panel_chair', 403],
    ['police', 'panel_member', 403], ['youth_justice', 'safeguarding_lead', 403], ['partnership', 'admin', 403],
  ]) {
    it(`a ${role} of ${agency} sets an action: ${want}`, async () => {
      const res = await call('POST', '/v1/panel-actions', who(agency, role), { panel_id: panel.id, description: 'x', owner_agency: 'csc', due_date: today(3) });
      if (want === 201) assert.equal(res.status, 201, JSON.stringify(res.body)); else problem(res, want, 'forbidden');
    });
  }

  it('replays a create with the same Idempotency-Key', async () => {
    const key = `act-${randomUUID()}`;
    const body = { panel_id: panel.id, description: `once ${key}`, owner_agency: 'csc', due_date: today(2) };
    const a = await ok('POST', '/v1/panel-actions', chair(), body, 201, { 'Idempotency-Key': key });
    const b = await ok('POST', '/v1/panel-actions', chair(), body, 201, { 'Idempotency-Key': key });
    assert.equal(b.body.id, a.body.id);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(psql(`select count(*) from safeguard.panel_actions where description = 'once ${key}'`), '1');
  });
});

describe('actions: the tray, its filters and overdue across a date boundary', () => {
  let panel, other;
  before(async () => {
    panel = await makePanel({ members: ['youth_justice', 'csc', 'health'] });
    other = await makePanel({ members: ['youth_justice', 'csc'] });
  });

  it('overdue is derived from the due date as it is read: due today is not overdue, due yesterday is', async () => {
    const a = (await makeAction(panel, { due_date: today() })).body;
    let got = await ok('GET', `/v1/panel-actions/${a.id}`, yj());
    assert.equal(got.body.overdue, false);
    // move the due date across midnight in the database: nothing about overdue is stored
    psql(`update safeguard.panel_actions set due_date = (now() at time zone 'UTC')::date - 1 where id = '${a.id}'`);
    got = await ok('GET', `/v1/panel-actions/${a.id}`, yj());
    assert.equal(got.body.overdue, true);
    assert.equal(got.body.due_date, today(-1));
    let tray = await ok('GET', `/v1/panel-actions?panel=${panel.id}&overdue=true`, yj());
    assert.deepEqual(tray.body.items.map((x) => x.id), [a.id]);
    // done: no longer overdue, whatever the date
    await ok('PATCH', `/v1/panel-actions/${a.id}`, yj(), { status: 'done' }, 200, { 'If-Match': got.headers.get('etag') });
    tray = await ok('GET', `/v1/panel-actions?panel=${panel.id}&overdue=true`, yj());
    assert.deepEqual(tray.body.items, []);
    assert.equal(psql(`select count(*) from information_schema.columns where table_name = 'panel_actions' and column_name like '%overdue%'`), '0');
  });

  it('filters by panel, owner agency (mine), status, overdue, due_before and referral, a page at a time', async () => {
    panel = await makePanel({ members: ['youth_justice', 'csc', 'health'] }); // its own: no actions of other tests
    const r = await refer(panel, await makeChild('csc'));
    const mine1 = (await makeAction(panel, { due_date: today(1), referral_id: r.id })).body;
    const mine2 = (await makeAction(panel, { due_date: today(5) })).body;
    const theirs = (await makeAction(panel, { due_date: today(2), owner_agency: 'health' })).body;
    const elsewhere = (await makeAction(other, { due_date: today(1) })).body;
    const late = (await makeAction(panel, { due_date: today(3) })).body;
    psql(`update safeguard.panel_actions set due_date = (now() at time zone 'UTC')::date - 3 where id = '${late.id}'`);
    const ids = async (q, token = yj()) => (await ok('GET', `/v1/panel-actions?${q}`, token)).body.items.map((x) => x.id);
    assert.deepEqual(await ids(`panel=${panel.id}&owner_agency=mine`), [late.id, mine1.id, mine2.id]);
    assert.deepEqual(await ids(`panel=${panel.id}&owner_agency=health`), [theirs.id]);
    assert.deepEqual(await ids(`panel=${panel.id}&owner_agency=mine&overdue=true`), [late.id]);
    assert.deepEqual(await ids(`panel=${panel.id}&owner_agency=mine&overdue=false`), [mine1.id, mine2.id]);
    assert.deepEqual(await ids(`panel=${panel.id}&due_before=${today(2)}`), [late.id, mine1.id]);
    assert.deepEqual(await ids(`referral=${r.id}`), [mine1.id]);
    assert.deepEqual(await ids(`panel=${other.id}`), [elsewhere.id]);
    assert.deepEqual(await ids(`panel=${panel.id}&status=in_progress`), []);
    // health's own tray, on the same panel
    assert.deepEqual(await ids(`panel=${panel.id}&owner_agency=mine`, who('health', 'safeguarding_lead')), [theirs.id]);
    // an agency outside the panels sees none of their actions
    assert.deepEqual(await ids(`panel=${panel.id}`, who('education', 'panel_member')), []);
    const p1 = await ok('GET', `/v1/panel-actions?panel=${panel.id}&limit=2`, yj());
    const p2 = await ok('GET', `/v1/panel-actions?panel=${panel.id}&limit=2&cursor=${p1.body.next_cursor}`, yj());
    assert.deepEqual([...p1.body.items, ...p2.body.items].map((x) => x.id), [late.id, mine1.id, theirs.id, mine2.id]);
    assert.equal(p2.body.next_cursor, null);
    for (const q of ['overdue=maybe', 'owner_agency=ours', 'status=late', 'due_before=tomorrow', 'panel=x', 'colour=red', 'cursor=zzz']) {
      const res = await call('GET', `/v1/panel-actions?${q}`, yj());
      problem(res, 400, q.startsWith('cursor') ? 'invalid-cursor' : 'invalid-query');
    }
    problem(await call('GET', '/v1/panel-actions', who('youth_justice', 'practitioner')), 403, 'forbidden');
    problem(await call('GET', '/v1/panel-actions', who('partnership', 'auditor')), 403, 'forbidden');
  });
});

describe('actions: progress by the owner agency only', () => {
  let panel;
  before(async () => { panel = await makePanel({ members: ['youth_justice', 'csc'] }); });

  it('the owner updates with If-Match (428 without, 412 stale); other members 403, outsiders 404', async () => {
    const made = await makeAction(panel);
    const id = made.body.id;
    problem(await call('PATCH', `/v1/panel-actions/${id}`, yj(), { status: 'in_progress' }), 428, 'precondition-required');
    problem(await call('PATCH', `/v1/panel-actions/${id}`, yj(), { status: 'in_progress' }, { 'If-Match': '"v9"' }), 412, 'precondition-failed');
    for (const [agency, role, want] of [['csc', 'panel_member', 403], ['police', 'panel_chair', 403], ['csc', 'safeguarding_lead', 403], ['health', 'panel_member', 404], ['youth_justice', 'practitioner', 403]]) {
      problem(await call('PATCH', `/v1/panel-actions/${id}`, who(agency, role), { status: 'in_progress' }, { 'If-Match': '"v1"' }), want, want === 403 ? 'forbidden' : 'not-found');
    }
    const res = await ok('PATCH', `/v1/panel-actions/${id}`, who('youth_justice', 'safeguarding_lead'), { status: 'in_progress', progress_note: 'booked', owner_name: 'Yan' }, 200, { 'If-Match': '"v1"' });
    assert.deepEqual([res.body.status, res.body.progress_note, res.body.owner_name, res.body.version], ['in_progress', 'booked', 'Yan', 2]);
    assert.match(res.headers.get('etag'), /^"v2-[0-9a-f]{16}"$/);
    assert.equal(audited('panel_action.update', id), 1);
  });

  it('only the chair cancels or changes owner, due date or description: the owner is told to escalate (400)', async () => {
    const id = (await makeAction(panel)).body.id;
    const res = problem(await call('PATCH', `/v1/panel-actions/${id}`, yj(), { status: 'cancelled', due_date: today(30), owner_agency: 'csc', description: 'easier' }, { 'If-Match': '"v1"' }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['description:chair_only', 'due_date:chair_only', 'owner_agency:chair_only', 'status:chair_only']);
    problem(await call('PATCH', `/v1/panel-actions/${id}`, yj(), { version: 5, overdue: false }, { 'If-Match': '"v1"' }), 400, 'validation-failed');
    assert.equal(psql(`select status || ':' || version from safeguard.panel_actions where id = '${id}'`), 'open:1');
  });

  it('a done action is closed to updates and escalation (409 naming the state)', async () => {
    const id = (await makeAction(panel)).body.id;
    await ok('PATCH', `/v1/panel-actions/${id}`, yj(), { status: 'done' }, 200, { 'If-Match': '"v1"' });
    let res = problem(await call('PATCH', `/v1/panel-actions/${id}`, yj(), { status: 'open' }, { 'If-Match': '"v2"' }), 409, 'conflict');
    assert.match(res.body.detail, /the action is done;/);
    res = problem(await call('POST', `/v1/panel-actions/${id}/escalation`, yj(), { reason: 'late disagreement' }), 409, 'conflict');
    assert.match(res.body.detail, /the action is done;/);
  });

  it('reads: members of the panel (any of its case roles), not outsiders', async () => {
    const id = (await makeAction(panel)).body.id;
    for (const [agency, role, want] of [['youth_justice', 'panel_member', 200], ['csc', 'safeguarding_lead', 200], ['police', 'panel_chair', 200],
      ['health', 'safeguarding_lead', 404], ['education', 'panel_chair', 404], ['csc', 'practitioner', 403], ['partnership', 'admin', 403]]) {
      const res = await call('GET', `/v1/panel-actions/${id}`, who(agency, role));
      if (want === 200) assert.equal(res.status, 200); else problem(res, want, want === 403 ? 'forbidden' : 'not-found');
    }
    problem(await call('GET', `/v1/panel-actions/${randomUUID()}`, yj()), 404, 'not-found');
  });
});

describe('actions: the escalation round trip and the history', () => {
  let panel;
  before(async () => { panel = await makePanel({ members: ['youth_justice', 'csc'] }); });

  it('the owner escalates with a reason; the chair resolves it, reassigning and moving the due date', async () => {
    const id = (await makeAction(panel)).body.id;
    problem(await call('POST', `/v1/panel-actions/${id}/escalation`, who('csc', 'panel_member'), { reason: 'not ours' }), 403, 'forbidden');
    problem(await call('POST', `/v1/panel-actions/${id}/escalation`, yj(), {}), 400, 'validation-failed');
    problem(await call('POST', `/v1/panel-actions/${id}/escalation/resolution`, chair(), { resolution: 'nothing to resolve' }), 409, 'conflict');
    const esc = await ok('POST', `/v1/panel-actions/${id}/escalation`, yj(), { reason: 'The return interview is CSC\'s under the protocol' }, 201);
    assert.equal(esc.body.escalated, true);
    assert.equal(esc.body.escalations.length, 1);
    assert.equal(esc.body.escalations[0].resolution, null);
    problem(await call('POST', `/v1/panel-actions/${id}/escalation`, yj(), { reason: 'again' }), 409, 'conflict');
    problem(await call('POST', `/v1/panel-actions/${id}/escalation/resolution`, who('youth_justice', 'panel_chair'), { resolution: 'x' }), 403, 'forbidden');
    problem(await call('POST', `/v1/panel-actions/${id}/escalation/resolution`, who('health', 'panel_chair'), { resolution: 'x' }), 404, 'not-found');
    problem(await call('POST', `/v1/panel-actions/${id}/escalation/resolution`, chair(), { resolution: 'x', owner_agency: 'health' }), 422, 'invalid-reference');
    problem(await call('POST', `/v1/panel-actions/${id}/escalation/resolution`, chair(), { resolution: 'x', due_date: today(-2) }), 400, 'validation-failed');
    const done = await ok('POST', `/v1/panel-actions/${id}/escalation/resolution`, chair(), { resolution: 'CSC leads, YJ attends', owner_agency: 'csc', due_date: today(10), owner_name: null });
    assert.deepEqual([done.body.escalated, done.body.owner_agency, done.body.due_date, done.body.escalations[0].resolution],
      [false, 'csc', today(10), 'CSC leads, YJ attends']);
    problem(await call('POST', `/v1/panel-actions/${id}/escalation/resolution`, chair(), { resolution: 'again' }), 409, 'conflict');
    // the new owner now holds it; the old one cannot update it
    problem(await call('PATCH', `/v1/panel-actions/${id}`, yj(), { status: 'done' }, { 'If-Match': done.headers.get('etag') }), 403, 'forbidden');
    await ok('PATCH', `/v1/panel-actions/${id}`, who('csc', 'panel_member'), { status: 'done' }, 200, { 'If-Match': done.headers.get('etag') });

    const h = await ok('GET', `/v1/panel-actions/${id}/history`, who('csc', 'safeguarding_lead'));
    assert.deepEqual(h.body.items.map((v) => [v.version, v.change, v.action.owner_agency, v.action.status, v.changed_agency]), [
      [1, 'created', 'youth_justice', 'open', 'police'],
      [2, 'escalated', 'youth_justice', 'open', 'youth_justice'],
      [3, 'resolved', 'csc', 'open', 'police'],
      [4, 'updated', 'csc', 'done', 'csc'],
    ]);
    const page = await ok('GET', `/v1/panel-actions/${id}/history?limit=3`, yj());
    const rest = await ok('GET', `/v1/panel-actions/${id}/history?limit=3&cursor=${page.body.next_cursor}`, yj());
    assert.deepEqual(rest.body.items.map((v) => v.version), [4]);
    problem(await call('GET', `/v1/panel-actions/${id}/history`, who('health', 'panel_member')), 404, 'not-found');
    assert.equal(psql(`select count(*) from safeguard.panel_action_history where action_id = '${id}'`), '4');
    assert.equal(audited('panel_action.escalate', id), 1);
    assert.equal(audited('panel_action.escalation.resolve', id), 1);
    // history is the database's: the API role cannot write or change it
    assert.throws(() => psql(`begin; set local role safeguard_api; insert into safeguard.panel_action_history
      (action_id, version, panel_id, change, snapshot, changed_by, changed_agency) values ('${id}', 9, '${panel.id}', 'updated', '{}', 'x', 'csc'); commit;`), /permission denied/);
  });

  it('the chair cancels an action by resolving its escalation', async () => {
    const id = (await makeAction(panel)).body.id;
    await ok('POST', `/v1/panel-actions/${id}/escalation`, yj(), { reason: 'no longer needed: the child moved' }, 201);
    const res = await ok('POST', `/v1/panel-actions/${id}/escalation/resolution`, chair(), { resolution: 'agreed', status: 'cancelled' });
    assert.deepEqual([res.body.status, res.body.overdue], ['cancelled', false]);
  });
});

describe('CSV exports: action log and case list', () => {
  let panel, referral;
  before(async () => {
    panel = await makePanel({ members: ['youth_justice', 'csc'] });
    referral = await refer(panel, await makeChild('csc', { first_name: '=cmd|\'/C calc\'!A0', last_name: 'O"Brien' }));
    await accept(referral);
  });

  it('the action log: a row per action, every formula-like cell neutralised, quotes doubled', async () => {
    const nasty = ['=HYPERLINK("http://x")', '+44 7700 900000', '-1+1', '@SUM(A1)', '\tTAB first', '\rCR first', 'plain, with "quotes"'];
    for (const d of nasty) await makeAction(panel, { description: d, referral_id: referral.id });
    const res = await ok('GET', `/v1/panels/${panel.id}/action-log`, yj());
    assert.match(res.headers.get('content-type'), /^text\/csv/);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="panel-${panel.id}-actions.csv"`);
    const rows = res.body.split('\r\n').filter(Boolean);
    assert.equal(rows[0], '"id","due_date","status","overdue","owner_agency","owner_name","description","progress_note","escalated","referral_id","child_id","meeting_id","created_at","updated_at"');
    assert.equal(rows.length, 1 + nasty.length);
    for (const cell of ['"\'=HYPERLINK(""http://x"")"', '"\'+44 7700 900000"', '"\'-1+1"', '"\'@SUM(A1)"', '"\'\tTAB first"', '"\'\rCR first"', '"plain, with ""quotes"""']) {
      assert.ok(res.body.includes(cell), `${JSON.stringify(cell)} in ${res.body}`);
    }
    // no cell starts with a formula character once its quote is opened
    for (const m of res.body.matchAll(/(^|,)"([^"]|"")/gm)) assert.doesNotMatch(m[2], /^[=+\-@\t\r]$/);
    assert.equal(audited('panel.action_log.export', panel.id), 1);
    assert.ok(audited('child.panel_export.read', referral.child_id) >= 1);
  });

  it('the case list: a row per referral, the child named while visible, neutralised', async () => {
    const res = await ok('GET', `/v1/panels/${panel.id}/case-list`, who('police', 'safeguarding_lead'));
    const rows = res.body.split('\r\n').filter(Boolean);
    assert.equal(rows[0], '"referral_id","child_id","first_name","last_name","date_of_birth","status","current_risk_level","referred_risk_level","next_review_date","referring_agency","referred_at","closure_reason"');
    assert.equal(rows.length, 2);
    assert.ok(rows[1].startsWith(`"${referral.id}","${referral.child_id}","'=cmd|'/C calc'!A0","O""Brien","2010-05-06","accepted","high","high",""`), rows[1]);
    assert.equal(audited('panel.case_list.export', panel.id), 1);
  });

  it('outsiders get 404, roles without case access 403', async () => {
    for (const path of ['action-log', 'case-list']) {
      problem(await call('GET', `/v1/panels/${panel.id}/${path}`, who('health', 'safeguarding_lead')), 404, 'not-found');
      problem(await call('GET', `/v1/panels/${panel.id}/${path}`, who('youth_justice', 'practitioner')), 403, 'forbidden');
      problem(await call('GET', `/v1/panels/${randomUUID()}/${path}`, yj()), 404, 'not-found');
    }
  });
});
