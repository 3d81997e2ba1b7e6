// Panels and referrals (issue 10): panels and their membership, every
// access cell of the panel routes (every role of member and non-member
// agencies), the referral state machine (each illegal transition), the joint
// panel's criteria, the child's visibility while a referral is open (API and
// row-level security), and a scenario from referral to closure with its
// audit rows checked in the database.  Meetings, minutes and decisions are
// in panel-meetings.test.mjs; actions and CSV in panel-actions.test.mjs.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { psql } from './lib/client.mjs';
import {
  ROLES, who, admin, problem, fields, call, ok, makePanel, makeChild, refer, accept, makeMeeting, makeAction, today,
  JOINT, audited, sql,
} from './lib/panels.mjs';

const chair = () => who('police', 'panel_chair');

describe('panels: create, read, change membership', () => {
  it('creates one panel of each type; the chair agency is always a member', async () => {
    for (const [type, chairAgency, members, area] of [
      ['cme', 'education', ['csc', 'health'], null],
      ['missing_exploited', 'police', ['csc', 'health', 'district'], 'North'],
      ['joint_police_yj', 'police', ['youth_justice'], null],
      ['risk_meeting', 'police', ['csc', 'mental_health'], null],
    ]) {
      const res = await ok('POST', '/v1/panels', admin(), { type, name: `${type} test`, chair_agency: chairAgency, member_agencies: members, ...(area ? { area } : {}) }, 201);
      assert.equal(res.body.type, type);
      assert.equal(res.body.area, area);
      assert.deepEqual(res.body.member_agencies, [...new Set([...members, chairAgency])].sort());
      assert.equal(res.headers.get('location'), `/v1/panels/${res.body.id}`);
      assert.match(res.headers.get('etag'), /^"v1-[0-9a-f]{16}"$/);
      assert.equal(psql(`select count(*) from safeguard.panel_members where panel_id = '${res.body.id}'`), String(res.body.member_agencies.length));
      assert.equal(audited('panel.create', res.body.id), 1);
    }
  });

  it('refuses bad panels with every bad field at once, and creates nothing', async () => {
    const before = psql('select count(*) from safeguard.panels');
    problem(await call('POST', '/v1/panels', admin(), { type: 'book_club', name: 'x', chair_agency: 'police', member_agencies: ['csc'] }), 400, 'validation-failed');
    let res = problem(await call('POST', '/v1/panels', admin(), { type: 'missing_exploited', name: '', chair_agency: 'nhs', member_agencies: ['csc', 'csc'], id: randomUUID() }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['area:required', 'chair_agency:invalid_value', 'id:read_only', 'member_agencies[1]:duplicate', 'name:required']);
    res = problem(await call('POST', '/v1/panels', admin(), { type: 'risk_meeting', name: 'x', chair_agency: 'csc', member_agencies: ['police'] }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['chair_agency:police_chair']);
    res = problem(await call('POST', '/v1/panels', admin(), { type: 'joint_police_yj', name: 'x', chair_agency: 'csc', member_agencies: ['health'] }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['member_agencies:police_required', 'member_agencies:youth_justice_required']);
    assert.equal(psql('select count(*) from safeguard.panels'), before);
  });

  it('replays a create with the same Idempotency-Key and creates one panel', async () => {
    const key = `panel-${randomUUID()}`;
    const body = { type: 'cme', name: `CME ${key}`, chair_agency: 'education', member_agencies: ['csc'] };
    const first = await ok('POST', '/v1/panels', admin(), body, 201, { 'Idempotency-Key': key });
    const again = await ok('POST', '/v1/panels', admin(), body, 201, { 'Idempotency-Key': key });
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, first.body.id);
    assert.equal(psql(`select count(*) from safeguard.panels where name = ${sql(body.name)}`), '1');
    problem(await call('POST', '/v1/panels', admin(), { ...body, name: 'other' }, { 'Idempotency-Key': key }), 422, 'idempotency-key-reuse');
  });

  it('lists panels by type, a page at a time, and shows one with an ETag (304 when unchanged)', async () => {
    const a = await makePanel({ type: 'risk_meeting', members: ['csc'] });
    await makePanel({ type: 'risk_meeting', members: ['health'] });
    const page1 = await ok('GET', '/v1/panels?type=risk_meeting&limit=1', who('health', 'practitioner'));
    assert.equal(page1.body.items.length, 1);
    assert.ok(page1.body.next_cursor);
    assert.ok(page1.body.items.every((p) => p.type === 'risk_meeting'));
    const page2 = await ok('GET', `/v1/panels?type=risk_meeting&limit=1&cursor=${page1.body.next_cursor}`, who('health', 'practitioner'));
    assert.notEqual(page2.body.items[0].id, page1.body.items[0].id);
    problem(await call('GET', '/v1/panels?type=tea_party', admin()), 400, 'invalid-query');
    problem(await call('GET', '/v1/panels?cursor=bogus', admin()), 400, 'invalid-cursor');
    const one = await ok('GET', `/v1/panels/${a.id}`, who('voluntary', 'practitioner'));
    assert.deepEqual(one.body, a);
    const again = await call('GET', `/v1/panels/${a.id}`, who('voluntary', 'practitioner'), undefined, { 'If-None-Match': one.headers.get('etag') });
    assert.equal(again.status, 304);
    problem(await call('GET', `/v1/panels/${randomUUID()}`, admin()), 404, 'not-found');
    problem(await call('GET', '/v1/panels/not-a-uuid', admin()), 404, 'not-found');
  });

  it('changes membership with If-Match (428 without, 412 stale); type is not writable', async () => {
    const p = await makePanel({ type: 'cme', chair: 'education', members: ['csc'] });
    problem(await call('PATCH', `/v1/panels/${p.id}`, admin(), { member_agencies: ['csc', 'health'] }), 428, 'precondition-required');
    problem(await call('PATCH', `/v1/panels/${p.id}`, admin(), { member_agencies: ['health'] }, { 'If-Match': '"v9"' }), 412, 'precondition-failed');
    const res = problem(await call('PATCH', `/v1/panels/${p.id}`, admin(), { type: 'risk_meeting' }, { 'If-Match': '"v1"' }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['type:read_only']);
    const changed = await ok('PATCH', `/v1/panels/${p.id}`, admin(), { member_agencies: ['health'], name: 'CME renamed' }, 200, { 'If-Match': '"v1"' });
    assert.deepEqual(changed.body.member_agencies, ['education', 'health']); // the chair stays
    assert.equal(changed.body.version, 2);
    assert.match(changed.headers.get('etag'), /^"v2-[0-9a-f]{16}"$/);
    assert.equal(audited('panel.update', p.id), 1);
  });

  it('keeps an agency that owns open actions on the panel (409) until they are closed', async () => {
    const p = await makePanel({ members: ['youth_justice', 'csc'] });
    await makeAction(p, { owner_agency: 'csc' });
    const res = problem(await call('PATCH', `/v1/panels/${p.id}`, admin(), { member_agencies: ['youth_justice'] }, { 'If-Match': '"v1"' }), 409, 'conflict');
    assert.match(res.body.detail, /csc still owns open actions/);
    assert.equal(psql(`select count(*) from safeguard.panel_members where panel_id = '${p.id}' and agency = 'csc'`), '1');
  });

  for (const role of ROLES) {
    const reads = ['practitioner', 'safeguarding_lead', 'social_worker', 'panel_chair', 'panel_member', 'admin'].includes(role);
    it(`GET /v1/panels answers ${reads ? 200 : 403} to a ${role}; only an admin creates`, async () => {
      const res = await call('GET', '/v1/panels', who(role === 'social_worker' ? 'csc' : 'health', role));
      if (reads) assert.equal(res.status, 200); else problem(res, 403, 'forbidden');
      if (role !== 'admin') {
        const agency = role === 'social_worker' ? 'csc' : 'partnership';
        problem(await call('POST', '/v1/panels', who(agency, role), { type: 'cme', name: 'x', chair_agency: 'education', member_agencies: ['csc'] }), 403, 'forbidden');
        problem(await call('PATCH', `/v1/panels/${randomUUID()}`, who(agency, role), { name: 'x' }, { 'If-Match': '"v1"' }), 403, 'forbidden');
      }
    });
  }
});

describe('panels: who reads and refers, cell by cell', () => {
  // joint panel chaired by police, members youth_justice and csc; health and education outside
  let panel, referral, child;
  const MEMBERS = ['police', 'youth_justice', 'csc'];
  const OUTSIDE = ['health', 'education'];
  const CASE_ROLES = ['panel_member', 'panel_chair', 'safeguarding_lead'];
  before(async () => {
    panel = await makePanel({ members: ['youth_justice', 'csc'] });
    child = await makeChild('csc');
    referral = await refer(panel, child);
  });

  for (const agency of [...MEMBERS, ...OUTSIDE]) {
    for (const role of ROLES.filter((r) => r !== 'social_worker' || agency === 'csc')) {
      const member = MEMBERS.includes(agency);
      const want = !CASE_ROLES.includes(role) ? 403 : member ? 200 : 404;
      it(`a ${role} of ${agency} (${member ? 'member' : 'outside'}) reads the referral, the case list and the meetings: ${want}`, async () => {
        for (const path of [`/v1/panel-referrals/${referral.id}`, `/v1/panels/${panel.id}/referrals`, `/v1/panels/${panel.id}/meetings`,
          `/v1/panels/${panel.id}/case-list`, `/v1/panel-referrals/${referral.id}/discussions`]) {
          const res = await call('GET', path, who(agency, role));
          // the referrer (this social worker made the referral) reads back that one referral, nothing else
          const referrer = agency === 'csc' && role === 'social_worker' && path === `/v1/panel-referrals/${referral.id}`;
          if (want === 200 || referrer) assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
          else problem(res, want, want === 403 ? 'forbidden' : 'not-found');
        }
      });
    }
  }

  for (const [agency, role, want] of [
    ['csc', 'social_worker', 201], ['youth_justice', 'safeguarding_lead', 201], ['police', 'panel_chair', 201],
    ['csc', 'practitioner', 403], ['youth_justice', 'panel_member', 403], ['csc', 'panel_chair', 403],
    ['health', 'safeguarding_lead', 403], ['partnership', 'admin', 403], ['partnership', 'auditor', 403],
  ]) {
    it(`a ${role} of ${agency} refers a child: ${want}`, async () => {
      const c = await makeChild('csc');
      // the referrer must see the child: declare involvement for agencies outside CSC
      if (agency !== 'csc') await ok('POST', `/v1/children/${c.id}/involvements`, who(agency, 'safeguarding_lead'), { reason: 'working with the child' }, 201);
      const res = await call('POST', `/v1/panels/${panel.id}/referrals`, who(agency, role), { child_id: c.id, reason: 'r', risk_level: 'low', criteria: JOINT });
      if (want === 201) {
        assert.equal(res.status, 201, JSON.stringify(res.body));
        assert.equal(res.body.referring_agency, agency);
        assert.equal(res.body.status, 'submitted');
      } else {
        problem(res, 403, 'forbidden');
        assert.equal(psql(`select count(*) from safeguard.panel_referrals where child_id = '${c.id}'`), '0');
      }
    });
  }

  for (const [agency, role, want] of [
    ['police', 'panel_chair', 200], ['youth_justice', 'panel_chair', 403], ['csc', 'panel_chair', 403],
    ['health', 'panel_chair', 404], ['police', 'panel_member', 403], ['police', 'safeguarding_lead', 403], ['partnership', 'admin', 403],
  ]) {
    it(`a ${role} of ${agency} decides a referral: ${want}`, async () => {
      const r = await refer(panel, await makeChild('csc'));
      const res = await call('POST', `/v1/panel-referrals/${r.id}/decision`, who(agency, role), { outcome: 'accepted' });
      if (want === 200) assert.equal(res.status, 200, JSON.stringify(res.body));
      else problem(res, want, want === 403 ? 'forbidden' : 'not-found');
      assert.equal(psql(`select status from safeguard.panel_referrals where id = '${r.id}'`), want === 200 ? 'accepted' : 'submitted');
    });
  }

  it('row-level security gives the referral and its events to member readers only', () => {
    const asApi = (agency, roles) => psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'rls-test', true), set_config('app.agency', '${agency}', true), set_config('app.roles', '${roles}', true);
      select (select count(*) from safeguard.panel_referrals where id = '${referral.id}') || ':' ||
             (select count(*) from safeguard.panel_referral_events where referral_id = '${referral.id}'); commit;`).split('\n').pop();
    assert.equal(asApi('youth_justice', 'panel_member'), '1:1');
    assert.equal(asApi('police', 'safeguarding_lead'), '1:1');
    assert.equal(asApi('youth_justice', 'practitioner'), '0:0');
    assert.equal(asApi('health', 'panel_member'), '0:0');
    assert.equal(asApi('partnership', 'auditor'), '0:0');
  });
});

describe('referrals: input, references and the joint panel criteria', () => {
  let panel;
  before(async () => { panel = await makePanel({ members: ['youth_justice', 'csc'] }); });

  it('names the missing criterion of the joint panel (422 criteria-not-met) and creates nothing', async () => {
    const c = await makeChild('csc');
    const base = { child_id: c.id, reason: 'r', risk_level: 'high' };
    let res = problem(await call('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), base), 422, 'criteria-not-met');
    assert.deepEqual(fields(res), ['criteria.offending_risk:criterion_not_met', 'criteria.safeguarding_concern:criterion_not_met']);
    res = problem(await call('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), { ...base, criteria: { offending_risk: true } }), 422, 'criteria-not-met');
    assert.deepEqual(fields(res), ['criteria.safeguarding_concern:criterion_not_met']);
    res = problem(await call('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), { ...base, criteria: { offending_risk: false, safeguarding_concern: true } }), 422, 'criteria-not-met');
    assert.deepEqual(fields(res), ['criteria.offending_risk:criterion_not_met']);
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where child_id = '${c.id}'`), '0');
    const made = await refer(panel, c);
    assert.deepEqual(made.criteria, JOINT);
  });

  it('other panel types take a referral without those criteria', async () => {
    const cme = await makePanel({ type: 'cme', chair: 'education', members: ['csc'] });
    const c = await makeChild('csc');
    const res = await ok('POST', `/v1/panels/${cme.id}/referrals`, who('csc', 'social_worker'), { child_id: c.id, reason: 'out of school 30 days', risk_level: 'medium', criteria: { missing_education: true } }, 201);
    assert.equal(res.body.status, 'submitted');
  });

  it('refuses a child outside the referrer\'s visibility (422) and a family that is not the child\'s', async () => {
    const hidden = await makeChild('health'); // csc sees every child: refer as youth justice, which does not
    const res = problem(await call('POST', `/v1/panels/${panel.id}/referrals`, who('youth_justice', 'safeguarding_lead'), { child_id: hidden.id, reason: 'r', risk_level: 'low', criteria: JOINT }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['child_id:not_found']);
    problem(await call('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), { child_id: randomUUID(), reason: 'r', risk_level: 'low', criteria: JOINT }), 422, 'invalid-reference');
    const fam = await ok('POST', '/v1/families', who('csc', 'social_worker'), { name: 'Other family' }, 201);
    const c = await makeChild('csc');
    const bad = problem(await call('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), { child_id: c.id, family_id: fam.body.id, chronology_request_id: randomUUID(), reason: 'r', risk_level: 'low', criteria: JOINT }), 422, 'invalid-reference');
    assert.deepEqual(fields(bad), ['chronology_request_id:not_found', 'family_id:not_the_childs_family']);
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where child_id in ('${hidden.id}', '${c.id}')`), '0');
  });

  it('links a chronology request about the child that the referrer reads', async () => {
    const c = await makeChild('csc');
    const req = await ok('POST', '/v1/chronology-requests', who('csc', 'social_worker'), {
      child_id: c.id, agencies: ['police'], purpose: 'panel referral', lawful_basis: 'children_act_1989_s47',
      period_from: '2024-01-01', period_to: today(), respond_by: today(7), share_until: new Date(Date.now() + 30 * 86400000).toISOString().replace(/\.\d+Z$/, 'Z'),
    }, 201);
    const r = await refer(panel, c, who('csc', 'social_worker'), { chronology_request_id: req.body.id });
    assert.equal(r.chronology_request_id, req.body.id);
  });

  it('validates every field at once: risk level, reason, criteria names and types', async () => {
    const res = problem(await call('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), {
      child_id: 'nope', reason: '', risk_level: 'extreme', criteria: { offending_risk: 'yes', mood: true }, status: 'accepted',
    }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['child_id:invalid_uuid', 'criteria.mood:unknown_field', 'criteria.offending_risk:invalid_type', 'reason:required', 'risk_level:invalid_value', 'status:read_only']);
  });

  it('takes one open referral of a child per panel (409), and a new one after closure', async () => {
    const c = await makeChild('csc');
    const r = await refer(panel, c);
    problem(await call('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), { child_id: c.id, reason: 'again', risk_level: 'low', criteria: JOINT }), 409, 'conflict');
    await accept(r);
    await ok('POST', `/v1/panel-referrals/${r.id}/closure`, chair(), { reason: 'risk_reduced' });
    await refer(panel, c);
    // and the old one cannot be reopened while the new one is open
    problem(await call('POST', `/v1/panel-referrals/${r.id}/reopening`, chair(), { reason: 'again' }), 409, 'conflict');
  });

  it('replays a referral with the same Idempotency-Key', async () => {
    const c = await makeChild('csc');
    const key = `ref-${randomUUID()}`;
    const body = { child_id: c.id, reason: 'r', risk_level: 'low', criteria: JOINT };
    const a = await ok('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), body, 201, { 'Idempotency-Key': key });
    const b = await ok('POST', `/v1/panels/${panel.id}/referrals`, who('csc', 'social_worker'), body, 201, { 'Idempotency-Key': key });
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(b.body.id, a.body.id);
    assert.equal(psql(`select count(*) from safeguard.panel_referrals where child_id = '${c.id}'`), '1');
  });

  it('filters the case list by status, a page at a time, and audits each child it names', async () => {
    const p = await makePanel({ members: ['csc', 'youth_justice'] });
    const kids = [await makeChild('csc'), await makeChild('csc'), await makeChild('csc')];
    const refs = [];
    for (const k of kids) refs.push(await refer(p, k));
    await accept(refs[0]);
    const lead = who('police', 'safeguarding_lead');
    const acc = await ok('GET', `/v1/panels/${p.id}/referrals?status=accepted`, lead);
    assert.deepEqual(acc.body.items.map((r) => r.id), [refs[0].id]);
    const page1 = await ok('GET', `/v1/panels/${p.id}/referrals?limit=2`, lead);
    assert.equal(page1.body.items.length, 2);
    const page2 = await ok('GET', `/v1/panels/${p.id}/referrals?limit=2&cursor=${page1.body.next_cursor}`, lead);
    assert.deepEqual([...page1.body.items, ...page2.body.items].map((r) => r.id), refs.map((r) => r.id));
    assert.equal(page2.body.next_cursor, null);
    problem(await call('GET', `/v1/panels/${p.id}/referrals?status=lost`, lead), 400, 'invalid-query');
    for (const k of kids) assert.ok(audited('child.panel_referral.read', k.id) >= 1, k.id);
  });
});

describe('referrals: the state machine', () => {
  let panel;
  before(async () => { panel = await makePanel({ members: ['youth_justice', 'csc'] }); });

  // a referral brought to each state
  async function inState(state) {
    const r = await refer(panel, await makeChild('csc'));
    if (state === 'submitted') return r;
    if (state === 'declined') return (await ok('POST', `/v1/panel-referrals/${r.id}/decision`, chair(), { outcome: 'declined', reason: 'no offending' })).body;
    await accept(r);
    if (state === 'accepted') return r;
    await ok('POST', `/v1/panel-referrals/${r.id}/closure`, chair(), { reason: 'aged_out' });
    if (state === 'closed') return r;
    await ok('POST', `/v1/panel-referrals/${r.id}/reopening`, chair(), { reason: 'again' });
    return r;
  }
  const moves = {
    decision: { body: { outcome: 'accepted' }, from: ['submitted'] },
    closure: { body: { reason: 'risk_reduced' }, from: ['accepted', 'reopened'] },
    reopening: { body: { reason: 'missing again' }, from: ['closed'] },
  };
  for (const state of ['submitted', 'accepted', 'declined', 'closed', 'reopened']) {
    for (const [move, { body, from }] of Object.entries(moves)) {
      const legal = from.includes(state);
      it(`${move} of ${state === 'accepted' ? 'an' : 'a'} ${state} referral: ${legal ? 'allowed' : '409 naming the state'}`, async () => {
        const r = await inState(state);
        const version = psql(`select version from safeguard.panel_referrals where id = '${r.id}'`);
        const res = await call('POST', `/v1/panel-referrals/${r.id}/${move}`, chair(), body);
        if (legal) {
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.equal(res.body.status, { decision: 'accepted', closure: 'closed', reopening: 'reopened' }[move]);
          assert.equal(res.body.version, Number(version) + 1);
        } else {
          problem(res, 409, 'conflict');
          assert.match(res.body.detail, new RegExp(`the referral is ${state};`));
          assert.equal(psql(`select version from safeguard.panel_referrals where id = '${r.id}'`), version);
        }
      });
    }
  }

  it('needs a reason to decline and a listed reason to close (400, nothing changes)', async () => {
    const r = await refer(panel, await makeChild('csc'));
    let res = problem(await call('POST', `/v1/panel-referrals/${r.id}/decision`, chair(), { outcome: 'declined' }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['reason:required']);
    problem(await call('POST', `/v1/panel-referrals/${r.id}/decision`, chair(), { outcome: 'maybe' }), 400, 'validation-failed');
    await accept(r);
    res = problem(await call('POST', `/v1/panel-referrals/${r.id}/closure`, chair(), {}), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['reason:required']);
    res = problem(await call('POST', `/v1/panel-referrals/${r.id}/closure`, chair(), { reason: 'bored' }), 400, 'validation-failed');
    assert.deepEqual(fields(res), ['reason:invalid_value']);
    assert.equal(psql(`select status from safeguard.panel_referrals where id = '${r.id}'`), 'accepted');
  });

  it('keeps every state in the history, with who, the agency and the reasons', async () => {
    const r = await inState('reopened');
    await ok('POST', `/v1/panel-referrals/${r.id}/closure`, chair(), { reason: 'moved_out_of_area_with_handover', note: 'handed over' });
    const res = await ok('GET', `/v1/panel-referrals/${r.id}`, chair());
    assert.deepEqual(res.body.history.map((h) => [h.status, h.reason, h.closure_reason, h.agency]), [
      ['submitted', null, null, 'csc'], ['accepted', null, null, 'police'], ['closed', null, 'aged_out', 'police'],
      ['reopened', 'again', null, 'police'], ['closed', 'handed over', 'moved_out_of_area_with_handover', 'police'],
    ]);
    assert.equal(psql(`select count(*) from safeguard.panel_referral_events where referral_id = '${r.id}'`), '5');
  });

  it('answers 404 for an unknown referral on every sub-resource', async () => {
    for (const [m, b] of [['decision', { outcome: 'accepted' }], ['closure', { reason: 'aged_out' }], ['reopening', { reason: 'x' }]]) {
      problem(await call('POST', `/v1/panel-referrals/${randomUUID()}/${m}`, chair(), b), 404, 'not-found');
    }
    problem(await call('GET', `/v1/panel-referrals/${randomUUID()}`, chair()), 404, 'not-found');
  });
});

describe('referrals: the child is seen by the panel while the referral is open', () => {
  it('a member agency sees the child while submitted or accepted, not after closure, again after reopening', async () => {
    const panel = await makePanel({ members: ['youth_justice', 'csc'] });
    const c = await makeChild('csc');
    const yj = who('youth_justice', 'practitioner');
    const outsider = who('health', 'practitioner');
    problem(await call('GET', `/v1/children/${c.id}`, yj), 404, 'not-found');
    const r = await refer(panel, c);
    await ok('GET', `/v1/children/${c.id}`, yj);
    problem(await call('GET', `/v1/children/${c.id}`, outsider), 404, 'not-found');
    await accept(r);
    await ok('GET', `/v1/children/${c.id}`, yj);
    // the reader sees the child's name in the case while it is open
    assert.equal((await ok('GET', `/v1/panel-referrals/${r.id}`, who('youth_justice', 'panel_member'))).body.child.first_name, 'Panel');
    await ok('POST', `/v1/panel-referrals/${r.id}/closure`, chair(), { reason: 'risk_reduced' });
    problem(await call('GET', `/v1/children/${c.id}`, yj), 404, 'not-found');
    const closed = await ok('GET', `/v1/panel-referrals/${r.id}`, who('youth_justice', 'panel_member'));
    assert.equal(closed.body.child, null);
    await ok('POST', `/v1/panel-referrals/${r.id}/reopening`, chair(), { reason: 'missing again' });
    await ok('GET', `/v1/children/${c.id}`, yj);
    // nothing was stored as a grant in the child's network
    assert.equal(psql(`select string_agg(agency, ',') from safeguard.child_network where child_id = '${c.id}'`), 'csc');
    assert.equal(audited('child.panel_access.start', c.id), 2);
    assert.equal(audited('child.panel_access.end', c.id), 1);
  });

  it('a declined referral gives no access', async () => {
    const panel = await makePanel({ members: ['youth_justice', 'csc'] });
    const c = await makeChild('csc');
    const r = await refer(panel, c);
    await ok('POST', `/v1/panel-referrals/${r.id}/decision`, chair(), { outcome: 'declined', reason: 'not for this panel' });
    problem(await call('GET', `/v1/children/${c.id}`, who('youth_justice', 'practitioner')), 404, 'not-found');
    assert.equal(audited('child.panel_access.end', c.id), 1);
  });

  it('row-level security says the same: children and child_visible follow the open referral', async () => {
    const panel = await makePanel({ members: ['youth_justice', 'csc'] });
    const c = await makeChild('csc');
    const seen = () => psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'rls', true), set_config('app.agency', 'youth_justice', true), set_config('app.roles', 'practitioner', true);
      select (select count(*) from safeguard.children where id = '${c.id}') || ':' || safeguard.child_visible('${c.id}'); commit;`).split('\n').pop();
    assert.equal(seen(), '0:false');
    const r = await refer(panel, c);
    assert.equal(seen(), '1:true');
    await accept(r);
    await ok('POST', `/v1/panel-referrals/${r.id}/closure`, chair(), { reason: 'transferred' });
    assert.equal(seen(), '0:false');
  });

  it('the child\'s network sees which panels the child is on; outsiders 404', async () => {
    const panel = await makePanel({ members: ['youth_justice', 'csc'] });
    const c = await makeChild('health');
    await ok('POST', `/v1/children/${c.id}/involvements`, who('csc', 'social_worker'), { reason: 'assessment' }, 201);
    const r = await refer(panel, c);
    const res = await ok('GET', `/v1/children/${c.id}/panel-referrals`, who('health', 'practitioner'));
    assert.deepEqual(res.body.items.map((i) => [i.referral_id, i.panel_id, i.status, i.open]), [[r.id, panel.id, 'submitted', true]]);
    assert.equal(res.body.items[0].reason, undefined); // not the case itself
    problem(await call('GET', `/v1/children/${c.id}/panel-referrals`, who('education', 'practitioner')), 404, 'not-found');
    problem(await call('GET', `/v1/children/${c.id}/panel-referrals`, who('partnership', 'auditor')), 403, 'forbidden');
    assert.equal(audited('child.panel_referrals.read', c.id), 1);
  });
});

describe('panels: a case from referral to closure, audited in the database', () => {
  it('refer, accept, meet, discuss, decide, act, minute, approve, close', async () => {
    const panel = await makePanel({ type: 'missing_exploited', area: 'City', members: ['youth_justice', 'csc', 'health'] });
    const c = await makeChild('csc');
    const sw = who('csc', 'social_worker');
    const r = await refer(panel, c, sw, { criteria: { exploitation_risk: true, missing_episodes: true } });
    await accept(r);
    const m = await makeMeeting(panel, [r]);
    const d = await ok('POST', `/v1/panel-meetings/${m.id}/discussions`, who('health', 'panel_member'), { referral_id: r.id, summary: 'found in the city centre twice', risk_level: 'medium', next_review_date: today(14) }, 201);
    const dec = await ok('POST', `/v1/panel-meetings/${m.id}/decisions`, chair(), { text: 'Disruption plan; NRM referral', referral_id: r.id }, 201);
    const act = await makeAction(panel, { referral_id: r.id, meeting_id: m.id, owner_agency: 'health' });
    await ok('PATCH', `/v1/panel-actions/${act.body.id}`, who('health', 'panel_member'), { status: 'done', progress_note: 'seen by the school nurse' }, 200, { 'If-Match': act.headers.get('etag') });
    const minutes = await ok('GET', `/v1/panel-meetings/${m.id}/minutes`, chair());
    const written = await ok('PATCH', `/v1/panel-meetings/${m.id}/minutes`, chair(), { text: 'Risk reduced to medium.' }, 200, { 'If-Match': minutes.headers.get('etag') });
    await ok('POST', `/v1/panel-meetings/${m.id}/minutes/approval`, chair(), undefined, 200, { 'If-Match': written.headers.get('etag') });
    const closed = await ok('POST', `/v1/panel-referrals/${r.id}/closure`, chair(), { reason: 'risk_reduced' });
    assert.equal(closed.body.status, 'closed');
    assert.equal(closed.body.current_risk_level, 'medium');

    const trail = psql(`select string_agg(action || '@' || resource_type || '@' || actor_agency, ' ' order by occurred_at, id)
      from safeguard.audit_events where resource_id in ('${r.id}', '${c.id}', '${m.id}', '${d.body.id}', '${dec.body.id}', '${act.body.id}')
      and action not like '%.read'`).split(' ');
    assert.deepEqual(trail, [
      'child.create@child@csc',
      'panel_referral.create@panel_referral@csc', 'child.panel_access.start@child@csc',
      'panel_referral.accept@panel_referral@police',
      'panel_meeting.create@panel_meeting@police', 'panel_meeting.hold@panel_meeting@police',
      'panel_discussion.create@panel_discussion@health', 'child.panel_discussion.create@child@health',
      'panel_decision.create@panel_decision@police', 'child.panel_decision.create@child@police',
      'panel_action.create@panel_action@police', 'panel_action.update@panel_action@health',
      'panel_minutes.write@panel_meeting@police', 'panel_minutes.approve@panel_meeting@police',
      'panel_referral.close@panel_referral@police', 'child.panel_access.end@child@police',
    ]);
    // every audit row of the case carries the request it came from
    assert.equal(psql(`select count(*) from safeguard.audit_events where resource_id = '${r.id}' and request_id !~ '^[0-9a-f]{32}$'`), '0');
    assert.equal(psql(`select details->>'panel_id' from safeguard.audit_events where action = 'child.panel_access.end' and resource_id = '${c.id}'`), panel.id);
    // the auditor reads the trail (and not the case)
    const auditor = who('partnership', 'auditor');
    const events = await ok('GET', `/v1/audit-events?resource_type=panel_referral&resource_id=${r.id}`, auditor);
    assert.deepEqual(events.body.items.map((e) => e.action).sort(), ['panel_referral.accept', 'panel_referral.close', 'panel_referral.create']);
    problem(await call('GET', `/v1/panel-referrals/${r.id}`, auditor), 403, 'forbidden');
  });
});

describe('demo data', () => {
  it('db/demo loads one panel of each type (applied in order, in a transaction rolled back here)', () => {
    const dir = join(process.env.SG_ROOT, 'db', 'demo');
    const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
    assert.ok(files.includes('002_panels.sql'), files.join(','));
    const body = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    const out = psql(`begin; set local role safeguard_owner; ${body}
      select string_agg(type, ',' order by type) from safeguard.panels where created_by = 'demo';
      select count(*) from safeguard.panel_actions where created_by = 'demo' and safeguard.panel_action_overdue(due_date, status); rollback;`);
    const lines = out.split('\n').filter(Boolean);
    assert.deepEqual(lines.slice(-2), ['cme,joint_police_yj,missing_exploited,risk_meeting', '1']);
  });

  it('db/demo loads where children have live missing-education cases and no CME panel is chaired yet', async () => {
    // the demo's CME panel starts its chair's access to every child with a live case: the
    // access rows (051) are written as the loading session's identity, request id included
    const k = await makeChild();
    await ok('POST', '/v1/cme-cases', who('csc', 'social_worker'), {
      child_id: k.id, reason: 'not_attending', since: today(-3), school_urn: '123456', school_name: 'Demo Academy',
      what_is_known: 'Not seen in school since the start of the week.',
    }, 201);
    const dir = join(process.env.SG_ROOT, 'db', 'demo');
    const body = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    // a fresh session, as `make run` loads it; the other CME panels gone for the transaction only
    const out = psql(`begin; set local session_replication_role = replica;
      delete from safeguard.panels where type = 'cme';
      set local session_replication_role = origin; set local role safeguard_owner; ${body}
      select count(*) from safeguard.audit_events where request_id = 'demo-data' and action = 'child.panel_access.start'
        and resource_id = ${sql(k.id)} and details ->> 'agency' = 'education'; rollback;`);
    assert.equal(out.split('\n').filter(Boolean).pop(), '1');
  });
});
