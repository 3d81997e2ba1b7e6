// Panel meetings (issue 10): scheduling with an agenda of open referrals,
// the meeting's states (each illegal move 409 naming the state), case
// discussions per referral per meeting, versioned minutes (If-Match), their
// approval by the chair only (two chairs at once: one wins), and decisions
// that are never edited but superseded.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import { who, problem, fields, call, ok, makePanel, makeChild, refer, accept, makeMeeting, today, audited } from './lib/panels.mjs';

const chair = () => who('police', 'panel_chair');
const future = (days) => new Date(Date.now() + days * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');

describe('meetings: scheduling and states', () => {
  let panel, referral;
  before(async () => {
    panel = await makePanel({ members: ['youth_justice', 'csc'] });
    referral = await refer(panel, await makeChild('csc'));
  });

  it('schedules a meeting with an agenda of open referrals; readers list and read it', async () => {
    const res = await ok('POST', `/v1/panels/${panel.id}/meetings`, chair(), { kind: 'officer', scheduled_at: future(3), location: 'Room 1', agenda: [referral.id] }, 201);
    assert.equal(res.body.status, 'scheduled');
    assert.deepEqual(res.body.agenda, [referral.id]);
    assert.equal(res.headers.get('location'), `/v1/panel-meetings/${res.body.id}`);
    const got = await ok('GET', `/v1/panel-meetings/${res.body.id}`, who('youth_justice', 'panel_member'));
    assert.deepEqual(got.body, res.body);
    assert.equal((await call('GET', `/v1/panel-meetings/${res.body.id}`, who('youth_justice', 'panel_member'), undefined, { 'If-None-Match': got.headers.get('etag') })).status, 304);
    const list = await ok('GET', `/v1/panels/${panel.id}/meetings?kind=officer&status=scheduled`, who('csc', 'safeguarding_lead'));
    assert.ok(list.body.items.some((m) => m.id === res.body.id));
    assert.ok(list.body.items.every((m) => m.kind === 'officer' && m.status === 'scheduled'));
    problem(await call('GET', `/v1/panel-meetings/${res.body.id}`, who('health', 'panel_member')), 404, 'not-found');
    problem(await call('GET', `/v1/panels/${panel.id}/meetings`, who('health', 'safeguarding_lead')), 404, 'not-found');
    assert.equal(audited('panel_meeting.create', res.body.id), 1);
  });

  it('pages the meetings in scheduled order', async () => {
    const p = await makePanel({ members: ['csc', 'youth_justice'] });
    const made = [];
    for (const d of [5, 1, 3]) made.push((await ok('POST', `/v1/panels/${p.id}/meetings`, chair(), { kind: 'formal', scheduled_at: future(d) }, 201)).body);
    const a = await ok('GET', `/v1/panels/${p.id}/meetings?limit=2`, chair());
    const b = await ok('GET', `/v1/panels/${p.id}/meetings?limit=2&cursor=${a.body.next_cursor}`, chair());
    assert.deepEqual([...a.body.items, ...b.body.items].map((m) => m.id), [made[1].id, made[2].id, made[0].id]);
  });

  it('refuses an agenda item that is not an open referral of the panel (422) and nothing is created', async () => {
    const other = await makePanel({ members: ['csc', 'youth_justice'] });
    const elsewhere = await refer(other, await makeChild('csc'));
    const declined = await refer(panel, await makeChild('csc'));
    await ok('POST', `/v1/panel-referrals/${declined.id}/decision`, chair(), { outcome: 'declined', reason: 'no' });
    const before = psql(`select count(*) from safeguard.panel_meetings where panel_id = '${panel.id}'`);
    const res = problem(await call('POST', `/v1/panels/${panel.id}/meetings`, chair(), { kind: 'formal', scheduled_at: future(1), agenda: [referral.id, elsewhere.id, randomUUID(), declined.id] }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['agenda[1]:not_found', 'agenda[2]:not_found', 'agenda[3]:not_found']);
    const bad = problem(await call('POST', `/v1/panels/${panel.id}/meetings`, chair(), { kind: 'weekly', scheduled_at: 'tomorrow', agenda: [referral.id, referral.id, 'x'] }), 400, 'validation-failed');
    assert.deepEqual(fields(bad), ['agenda[1]:duplicate', 'agenda[2]:invalid_uuid', 'kind:invalid_value', 'scheduled_at:invalid_instant']);
    assert.equal(psql(`select count(*) from safeguard.panel_meetings where panel_id = '${panel.id}'`), before);
  });

  it('only the chair schedules: another member\'s chair 403, an outside chair 403 on a visible panel', async () => {
    problem(await call('POST', `/v1/panels/${panel.id}/meetings`, who('csc', 'panel_chair'), { kind: 'formal', scheduled_at: future(1) }), 403, 'forbidden');
    problem(await call('POST', `/v1/panels/${panel.id}/meetings`, who('health', 'panel_chair'), { kind: 'formal', scheduled_at: future(1) }), 403, 'forbidden');
    problem(await call('POST', `/v1/panels/${panel.id}/meetings`, who('police', 'panel_member'), { kind: 'formal', scheduled_at: future(1) }), 403, 'forbidden');
  });

  it('moves a scheduled meeting with If-Match (428, 412), then holds it; a held meeting is not moved (409)', async () => {
    const m = (await ok('POST', `/v1/panels/${panel.id}/meetings`, chair(), { kind: 'formal', scheduled_at: future(2) }, 201)).body;
    problem(await call('PATCH', `/v1/panel-meetings/${m.id}`, chair(), { location: 'Hall' }), 428, 'precondition-required');
    problem(await call('PATCH', `/v1/panel-meetings/${m.id}`, chair(), { location: 'Hall' }, { 'If-Match': '"v7"' }), 412, 'precondition-failed');
    problem(await call('PATCH', `/v1/panel-meetings/${m.id}`, who('csc', 'panel_chair'), { location: 'Hall' }, { 'If-Match': '"v1"' }), 403, 'forbidden');
    const moved = await ok('PATCH', `/v1/panel-meetings/${m.id}`, chair(), { location: 'Hall', agenda: [referral.id] }, 200, { 'If-Match': '"v1"' });
    assert.equal(moved.body.location, 'Hall');
    assert.deepEqual(moved.body.agenda, [referral.id]);
    problem(await call('PATCH', `/v1/panel-meetings/${m.id}`, chair(), { status: 'held' }, { 'If-Match': '"v2"' }), 400, 'validation-failed');
    const held = await ok('POST', `/v1/panel-meetings/${m.id}/attendance`, chair(), { agencies: ['police', 'csc'] });
    assert.equal(held.body.status, 'held');
    assert.equal(held.body.minutes_status, 'draft');
    assert.deepEqual(held.body.attended_by, ['police', 'csc']);
    const res = problem(await call('PATCH', `/v1/panel-meetings/${m.id}`, chair(), { location: 'Elsewhere' }, { 'If-Match': held.headers.get('etag') }), 409, 'conflict');
    assert.match(res.body.detail, /the meeting is held;/);
  });

  it('holds only with member agencies present, and not in the future', async () => {
    const m = (await ok('POST', `/v1/panels/${panel.id}/meetings`, chair(), { kind: 'formal', scheduled_at: future(0) }, 201)).body;
    const res = problem(await call('POST', `/v1/panel-meetings/${m.id}/attendance`, chair(), { agencies: ['police', 'health'] }), 422, 'invalid-reference');
    assert.match(res.body.errors[0].message, /health is not a member/);
    problem(await call('POST', `/v1/panel-meetings/${m.id}/attendance`, chair(), { agencies: ['police'], held_at: future(2) }), 400, 'validation-failed');
    problem(await call('POST', `/v1/panel-meetings/${m.id}/attendance`, chair(), { agencies: [] }), 400, 'validation-failed');
    assert.equal(psql(`select status from safeguard.panel_meetings where id = '${m.id}'`), 'scheduled');
  });

  // the states a meeting reaches and every move from each
  async function meetingIn(state) {
    const m = await makeMeeting(panel, [], { held: state !== 'scheduled' && state !== 'cancelled' });
    if (state === 'cancelled') await ok('POST', `/v1/panel-meetings/${m.id}/cancellation`, chair(), { reason: 'not quorate' });
    if (state === 'minutes_approved') {
      const n = await ok('GET', `/v1/panel-meetings/${m.id}/minutes`, chair());
      await ok('POST', `/v1/panel-meetings/${m.id}/minutes/approval`, chair(), undefined, 200, { 'If-Match': n.headers.get('etag') });
    }
    return m;
  }
  const moves = {
    attendance: { body: { agencies: ['police'] }, from: ['scheduled'] },
    cancellation: { body: { reason: 'chair unwell' }, from: ['scheduled'] },
  };
  for (const state of ['scheduled', 'held', 'minutes_approved', 'cancelled']) {
    for (const [move, { body, from }] of Object.entries(moves)) {
      const legal = from.includes(state);
      it(`${move} of a ${state} meeting: ${legal ? 'allowed' : '409 naming the state'}`, async () => {
        const m = await meetingIn(state);
        const res = await call('POST', `/v1/panel-meetings/${m.id}/${move}`, chair(), body);
        if (legal) {
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(res.body.status, move === 'attendance' ? 'held' : 'cancelled');
        } else {
          problem(res, 409, 'conflict');
          assert.match(res.body.detail, new RegExp(`the meeting is ${state};`));
          assert.equal(psql(`select status from safeguard.panel_meetings where id = '${m.id}'`), state);
        }
      });
    }
  }

  it('cancels with a reason only (400 without)', async () => {
    const m = await makeMeeting(panel, [], { held: false });
    problem(await call('POST', `/v1/panel-meetings/${m.id}/cancellation`, chair(), {}), 400, 'validation-failed');
    const res = await ok('POST', `/v1/panel-meetings/${m.id}/cancellation`, chair(), { reason: 'not quorate' });
    assert.equal(res.body.cancelled_reason, 'not quorate');
    assert.equal(audited('panel_meeting.cancel', m.id), 1);
  });
});

describe('minutes: versions, approval by the chair, read-only after', () => {
  let panel;
  before(async () => { panel = await makePanel({ members: ['youth_justice', 'csc'] }); });

  it('are not there before the meeting is held (404)', async () => {
    const m = await makeMeeting(panel, [], { held: false });
    problem(await call('GET', `/v1/panel-meetings/${m.id}/minutes`, chair()), 404, 'not-found');
  });

  it('members write versions with If-Match; every version is kept', async () => {
    const m = await makeMeeting(panel);
    const member = who('youth_justice', 'panel_member');
    const v1 = await ok('GET', `/v1/panel-meetings/${m.id}/minutes`, member);
    assert.deepEqual([v1.body.text, v1.body.status, v1.body.version], ['', 'draft', 1]);
    problem(await call('PATCH', `/v1/panel-meetings/${m.id}/minutes`, member, { text: 'x' }), 428, 'precondition-required');
    const v2 = await ok('PATCH', `/v1/panel-meetings/${m.id}/minutes`, member, { text: 'First draft' }, 200, { 'If-Match': v1.headers.get('etag') });
    problem(await call('PATCH', `/v1/panel-meetings/${m.id}/minutes`, chair(), { text: 'Lost update' }, { 'If-Match': v1.headers.get('etag') }), 412, 'precondition-failed');
    const v3 = await ok('PATCH', `/v1/panel-meetings/${m.id}/minutes`, chair(), { text: 'Second draft' }, 200, { 'If-Match': v2.headers.get('etag') });
    assert.equal(v3.body.version, 3);
    const versions = await ok('GET', `/v1/panel-meetings/${m.id}/minutes/versions?limit=2`, who('csc', 'safeguarding_lead'));
    const rest = await ok('GET', `/v1/panel-meetings/${m.id}/minutes/versions?limit=2&cursor=${versions.body.next_cursor}`, who('csc', 'safeguarding_lead'));
    assert.deepEqual([...versions.body.items, ...rest.body.items].map((v) => [v.version, v.text, v.recorded_agency]),
      [[1, '', 'police'], [2, 'First draft', 'youth_justice'], [3, 'Second draft', 'police']]);
    // a safeguarding lead reads but does not write; outsiders see nothing
    problem(await call('PATCH', `/v1/panel-meetings/${m.id}/minutes`, who('csc', 'safeguarding_lead'), { text: 'x' }, { 'If-Match': v3.headers.get('etag') }), 403, 'forbidden');
    problem(await call('PATCH', `/v1/panel-meetings/${m.id}/minutes`, who('health', 'panel_member'), { text: 'x' }, { 'If-Match': v3.headers.get('etag') }), 404, 'not-found');
    problem(await call('GET', `/v1/panel-meetings/${m.id}/minutes`, who('health', 'safeguarding_lead')), 404, 'not-found');
    problem(await call('GET', `/v1/panel-meetings/${m.id}/minutes/versions`, who('health', 'panel_chair')), 404, 'not-found');
    // over 20,000 characters: too_long, the field named
    const long = await call('PATCH', `/v1/panel-meetings/${m.id}/minutes`, member, { text: 'x'.repeat(20001) }, { 'If-Match': v3.headers.get('etag') });
    assert.equal(long.status, 400);
    assert.deepEqual(long.body.errors.map((e) => `${e.field}:${e.code}`), ['text:too_long']);
    assert.equal(psql(`select version from safeguard.panel_minutes where meeting_id = '${m.id}'`), '3');
  });

  it('only the chair approves; approved minutes are read-only (409), and so is the meeting', async () => {
    const m = await makeMeeting(panel);
    const member = who('youth_justice', 'panel_member');
    const n = await ok('PATCH', `/v1/panel-meetings/${m.id}/minutes`, member, { text: 'Agreed.' }, 200, { 'If-Match': '"v1"' });
    problem(await call('POST', `/v1/panel-meetings/${m.id}/minutes/approval`, who('youth_justice', 'panel_chair'), undefined, { 'If-Match': n.headers.get('etag') }), 403, 'forbidden');
    problem(await call('POST', `/v1/panel-meetings/${m.id}/minutes/approval`, member, undefined, { 'If-Match': n.headers.get('etag') }), 403, 'forbidden');
    problem(await call('POST', `/v1/panel-meetings/${m.id}/minutes/approval`, chair()), 428, 'precondition-required');
    problem(await call('POST', `/v1/panel-meetings/${m.id}/minutes/approval`, chair(), undefined, { 'If-Match': '"v1"' }), 412, 'precondition-failed');
    const approved = await ok('POST', `/v1/panel-meetings/${m.id}/minutes/approval`, chair(), undefined, 200, { 'If-Match': n.headers.get('etag') });
    assert.equal(approved.body.status, 'approved');
    assert.equal(approved.body.approved_by, approved.body.updated_by);
    assert.equal((await ok('GET', `/v1/panel-meetings/${m.id}`, chair())).body.status, 'minutes_approved');
    let res = problem(await call('PATCH', `/v1/panel-meetings/${m.id}/minutes`, member, { text: 'changed after' }, { 'If-Match': approved.headers.get('etag') }), 409, 'conflict');
    assert.match(res.body.detail, /approved/);
    res = problem(await call('POST', `/v1/panel-meetings/${m.id}/minutes/approval`, chair(), undefined, { 'If-Match': approved.headers.get('etag') }), 409, 'conflict');
    assert.equal(psql(`select text || ':' || version from safeguard.panel_minutes where meeting_id = '${m.id}'`), 'Agreed.:3');
    // row-level security holds the same: the API role cannot change approved minutes
    const changed = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'x', true), set_config('app.agency', 'police', true), set_config('app.roles', 'panel_chair', true);
      with u as (update safeguard.panel_minutes set text = 'forged' where meeting_id = '${m.id}' returning 1) select count(*) from u; commit;`);
    assert.equal(changed.split('\n').pop(), '0');
    assert.equal(psql(`select text from safeguard.panel_minutes where meeting_id = '${m.id}'`), 'Agreed.');
    assert.equal(audited('panel_minutes.approve', m.id), 1);
  });

  it('two chairs approving at once: one wins, the other gets 409 or 412, and it is approved once', async () => {
    const m = await makeMeeting(panel);
    const other = who('police', 'panel_chair'); // a second chair of the same agency
    const second = tokenFor('police', 'panel_chair', 'second-chair');
    const n = await ok('PATCH', `/v1/panel-meetings/${m.id}/minutes`, other, { text: 'Race' }, 200, { 'If-Match': '"v1"' });
    const etag = n.headers.get('etag');
    const [a, b] = await Promise.all([
      call('POST', `/v1/panel-meetings/${m.id}/minutes/approval`, other, undefined, { 'If-Match': etag }),
      call('POST', `/v1/panel-meetings/${m.id}/minutes/approval`, second, undefined, { 'If-Match': etag }),
    ]);
    const statuses = [a.status, b.status].sort();
    assert.equal(statuses[0], 200, JSON.stringify([a.body, b.body]));
    assert.ok([409, 412].includes(statuses[1]), JSON.stringify([a.body, b.body]));
    assert.equal(psql(`select count(*) from safeguard.panel_minutes_versions where meeting_id = '${m.id}' and status = 'approved'`), '1');
    assert.equal(audited('panel_minutes.approve', m.id), 1);
  });
});

describe('case discussions', () => {
  let panel, referral, meeting;
  before(async () => {
    panel = await makePanel({ members: ['youth_justice', 'csc'] });
    referral = await refer(panel, await makeChild('csc'));
    await accept(referral);
    meeting = await makeMeeting(panel, [referral]);
  });

  it('one per referral on the agenda; it sets the referral\'s current risk and review date', async () => {
    const member = who('youth_justice', 'panel_member');
    const d = await ok('POST', `/v1/panel-meetings/${meeting.id}/discussions`, member, { referral_id: referral.id, summary: 'engaging well', risk_level: 'low', next_review_date: today(21) }, 201);
    assert.equal(d.body.child_id, referral.child_id);
    assert.equal(d.body.recorded_agency, 'youth_justice');
    problem(await call('POST', `/v1/panel-meetings/${meeting.id}/discussions`, chair(), { referral_id: referral.id, summary: 'again', risk_level: 'low' }), 409, 'conflict');
    const r = await ok('GET', `/v1/panel-referrals/${referral.id}`, member);
    assert.deepEqual([r.body.risk_level, r.body.current_risk_level, r.body.next_review_date], ['high', 'low', today(21)]);
    const list = await ok('GET', `/v1/panel-meetings/${meeting.id}/discussions`, who('csc', 'safeguarding_lead'));
    assert.deepEqual(list.body.items.map((x) => x.id), [d.body.id]);
    const byRef = await ok('GET', `/v1/panel-referrals/${referral.id}/discussions`, who('csc', 'safeguarding_lead'));
    assert.deepEqual(byRef.body.items.map((x) => x.id), [d.body.id]);
    problem(await call('GET', `/v1/panel-meetings/${meeting.id}/discussions`, who('health', 'safeguarding_lead')), 404, 'not-found');
    assert.equal(audited('child.panel_discussion.create', referral.child_id), 1);
    assert.ok(audited('child.panel_discussion.read', referral.child_id) >= 2);
  });

  it('refuses a referral not on the agenda (422), a lead who only reads (403), an outsider (404)', async () => {
    const other = await refer(panel, await makeChild('csc'));
    const res = problem(await call('POST', `/v1/panel-meetings/${meeting.id}/discussions`, chair(), { referral_id: other.id, summary: 's', risk_level: 'low' }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['referral_id:not_found']);
    problem(await call('POST', `/v1/panel-meetings/${meeting.id}/discussions`, who('csc', 'safeguarding_lead'), { referral_id: referral.id, summary: 's', risk_level: 'low' }), 403, 'forbidden');
    problem(await call('POST', `/v1/panel-meetings/${meeting.id}/discussions`, who('health', 'panel_member'), { referral_id: referral.id, summary: 's', risk_level: 'low' }), 404, 'not-found');
    const bad = problem(await call('POST', `/v1/panel-meetings/${meeting.id}/discussions`, chair(), { referral_id: referral.id, summary: '', risk_level: 'dire', next_review_date: '2026-02-30' }), 400, 'validation-failed');
    assert.deepEqual(fields(bad), ['next_review_date:invalid_date', 'risk_level:invalid_value', 'summary:required']);
  });

  it('a scheduled meeting, or one whose minutes are approved, takes no discussion (409)', async () => {
    const r = await refer(panel, await makeChild('csc'));
    const scheduled = await makeMeeting(panel, [r], { held: false });
    let res = problem(await call('POST', `/v1/panel-meetings/${scheduled.id}/discussions`, chair(), { referral_id: r.id, summary: 's', risk_level: 'low' }), 409, 'conflict');
    assert.match(res.body.detail, /the meeting is scheduled;/);
    const done = await makeMeeting(panel, [r]);
    await ok('POST', `/v1/panel-meetings/${done.id}/minutes/approval`, chair(), undefined, 200, { 'If-Match': '"v1"' });
    res = problem(await call('POST', `/v1/panel-meetings/${done.id}/discussions`, chair(), { referral_id: r.id, summary: 's', risk_level: 'low' }), 409, 'conflict');
    assert.match(res.body.detail, /the meeting is minutes_approved;/);
  });
});

describe('decisions: never edited, superseded', () => {
  let panel, referral, meeting;
  before(async () => {
    panel = await makePanel({ members: ['youth_justice', 'csc'] });
    referral = await refer(panel, await makeChild('csc'));
    meeting = await makeMeeting(panel, [referral]);
  });

  it('a correction supersedes a decision once; the old one reads as superseded', async () => {
    const first = await ok('POST', `/v1/panel-meetings/${meeting.id}/decisions`, chair(), { text: 'Strategy meeting in 10 days', referral_id: referral.id }, 201);
    assert.equal(first.body.status, 'current');
    assert.equal(first.headers.get('location'), `/v1/panel-decisions/${first.body.id}`);
    const fix = await ok('POST', `/v1/panel-meetings/${meeting.id}/decisions`, chair(), { text: 'Strategy meeting in 5 days', referral_id: referral.id, supersedes: first.body.id }, 201);
    assert.equal(fix.body.supersedes, first.body.id);
    const old = await ok('GET', `/v1/panel-decisions/${first.body.id}`, who('youth_justice', 'panel_member'));
    assert.deepEqual([old.body.status, old.body.superseded_by, old.body.text], ['superseded', fix.body.id, 'Strategy meeting in 10 days']);
    problem(await call('POST', `/v1/panel-meetings/${meeting.id}/decisions`, chair(), { text: 'again', supersedes: first.body.id }), 409, 'conflict');
    const list = await ok('GET', `/v1/panel-meetings/${meeting.id}/decisions?limit=1`, who('csc', 'safeguarding_lead'));
    const rest = await ok('GET', `/v1/panel-meetings/${meeting.id}/decisions?cursor=${list.body.next_cursor}`, who('csc', 'safeguarding_lead'));
    assert.deepEqual([...list.body.items, ...rest.body.items].map((d) => d.id), [first.body.id, fix.body.id]);
    assert.equal(audited('panel_decision.supersede', first.body.id), 1);
  });

  it('a PATCH or DELETE is 405 (GET only), and the database refuses any edit', async () => {
    const d = await ok('POST', `/v1/panel-meetings/${meeting.id}/decisions`, chair(), { text: 'Final' }, 201);
    for (const method of ['PATCH', 'DELETE', 'PUT']) {
      const res = problem(await call(method, `/v1/panel-decisions/${d.body.id}`, chair(), method === 'DELETE' ? undefined : { text: 'edited' }), 405, 'method-not-allowed');
      assert.equal(res.headers.get('allow'), 'GET, HEAD'); // HEAD comes with every GET
    }
    assert.throws(() => psql(`update safeguard.panel_decisions set text = 'edited' where id = '${d.body.id}'`), /never edited/);
    assert.equal(psql(`select text from safeguard.panel_decisions where id = '${d.body.id}'`), 'Final');
  });

  it('only the chair decides; references must be the panel\'s (422); readers only read', async () => {
    const other = await makePanel({ members: ['csc', 'youth_justice'] });
    const otherRef = await refer(other, await makeChild('csc'));
    problem(await call('POST', `/v1/panel-meetings/${meeting.id}/decisions`, who('youth_justice', 'panel_chair'), { text: 'x' }), 403, 'forbidden');
    problem(await call('POST', `/v1/panel-meetings/${meeting.id}/decisions`, who('youth_justice', 'panel_member'), { text: 'x' }), 403, 'forbidden');
    problem(await call('POST', `/v1/panel-meetings/${meeting.id}/decisions`, who('health', 'panel_chair'), { text: 'x' }), 404, 'not-found');
    const res = problem(await call('POST', `/v1/panel-meetings/${meeting.id}/decisions`, chair(), { text: 'x', referral_id: otherRef.id, supersedes: randomUUID() }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['referral_id:not_found', 'supersedes:not_found']);
    problem(await call('GET', `/v1/panel-decisions/${randomUUID()}`, chair()), 404, 'not-found');
    const d = await ok('POST', `/v1/panel-meetings/${meeting.id}/decisions`, chair(), { text: 'Visible' }, 201);
    problem(await call('GET', `/v1/panel-decisions/${d.body.id}`, who('health', 'safeguarding_lead')), 404, 'not-found');
    problem(await call('GET', `/v1/panel-decisions/${d.body.id}`, who('youth_justice', 'practitioner')), 403, 'forbidden');
  });

  it('a scheduled meeting takes no decision (409 naming the state)', async () => {
    const scheduled = await makeMeeting(panel, [], { held: false });
    const res = problem(await call('POST', `/v1/panel-meetings/${scheduled.id}/decisions`, chair(), { text: 'early' }), 409, 'conflict');
    assert.match(res.body.detail, /the meeting is scheduled;/);
  });
});
