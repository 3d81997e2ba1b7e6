// sweep.test.mjs - every operation with a JSON body, swept with bodies
// generated from its schema in openapi/openapi.yaml (lib/sweep.mjs): the
// minimal valid body, each optional field added alone, each field null, of
// the wrong type, empty, blank, at its maxLength and one past, integers at
// their bounds and one past, an unknown enum value, an unknown field, {}, []
// and bare scalars; for a PATCH each writable field alone with a correct
// If-Match.  Each is sent as a role the access table allows, at a real
// record made for it.  For every request: no 5xx, a 4xx is a problem with a
// type, the answer is one the contract documents (the request helper checks);
// the minimal body (a PATCH: some field alone) is accepted; a body the schema
// forbids is never accepted.  Known defects are `todo` cases below, each with
// the request that shows it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { request, psql } from './lib/client.mjs';
import { nhsNumber, upn } from './lib/people.mjs';
import { accept, makeMeeting, today } from './lib/panels.mjs';
import { person, course, session, startedAgo, iso, inDays } from './lib/training.mjs';
import { bodySchema, variants } from './lib/sweep.mjs';
import {
  instant, as, ok, post, sw, cscLead, policeP, chair, admin, TA, officer, child, family, policeEntry, riskPanel,
  referral, unheldMeeting, action, SECTIONS, THRESHOLDS, tool, publishedTool, screening, cmeCase, booking, attend, watch, sanitizerCases,
} from './lib/sweep-fixtures.mjs';

// The records the sweep aims at, and its callers: lib/sweep-fixtures.mjs.

// Each case: the operation, the caller, and target() giving the path (and
// optionally the caller and field values that fit the record).  fresh: the
// operation changes its record's state, so every variant that may succeed
// gets a new record.
const CASES = [
  { op: 'POST /v1/token-revocations', token: admin, target: async () => ({ path: '/v1/token-revocations', good: { jti: () => randomUUID() } }) },
  { op: 'POST /v1/children', token: sw, target: async () => ({ path: '/v1/children', good: {
    nhs_number: () => nhsNumber(), upn: () => upn(), postcode: 'TR21 0HE', date_of_birth: '2011-03-04', not_on_roll_since: '2025-01-06', school_urn: '123456' } }) },
  { op: 'POST /v1/children/search', token: policeP, target: async () => ({ path: '/v1/children/search', good: { nhs_number: () => nhsNumber() } }) },
  { op: 'PATCH /v1/children/{id}', token: sw, target: async () => ({ path: `/v1/children/${(await child()).id}`, good: {
    nhs_number: () => nhsNumber(), upn: () => upn(), postcode: 'TR21 0HE', date_of_birth: '2011-03-04', not_on_roll_since: '2025-01-06', school_urn: '123456' } }) },
  { op: 'POST /v1/children/{id}/involvements', token: policeP, fresh: true, target: async () => ({ path: `/v1/children/${(await child()).id}/involvements` }) },
  { op: 'POST /v1/children/{id}/involvements/{agency}/ending', token: cscLead, fresh: true, target: async () => {
    const c = await child();
    await post(`/v1/children/${c.id}/involvements`, as('health', 'practitioner'), { reason: 'registered with the practice' });
    return { path: `/v1/children/${c.id}/involvements/health/ending` };
  } },
  { op: 'POST /v1/families', token: sw, target: async () => ({ path: '/v1/families' }) },
  { op: 'PATCH /v1/families/{id}', token: sw, target: async () => ({ path: `/v1/families/${(await family()).id}` }) },
  { op: 'POST /v1/families/{id}/members', token: sw, target: async () => ({ path: `/v1/families/${(await family()).id}/members`, good: { child_id: async () => (await child()).id } }) },
  { op: 'POST /v1/chronology-entries', token: policeP, needs: { action_taken: 'Recorded' }, target: async (token) => ({ path: '/v1/chronology-entries', good: {
    child_ids: [(await child(token)).id], event_date: today(-5), event_date_end: today(-4), action_taken: 'Recorded' } }) },
  { op: 'PATCH /v1/chronology-entries/{id}', token: policeP, target: async (token) => ({ path: `/v1/chronology-entries/${(await policeEntry(token)).e.id}`, good: {
    event_date: today(-6), event_date_end: today(-4) } }) },
  { op: 'POST /v1/chronology-entries/{id}/withdrawal', token: policeP, fresh: true, target: async (token) => ({ path: `/v1/chronology-entries/${(await policeEntry(token)).e.id}/withdrawal` }) },
  { op: 'POST /v1/chronology-requests', token: cscLead, target: async () => ({ path: '/v1/chronology-requests', good: {
    child_id: (await child()).id, family_id: null, agencies: ['police'], period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: instant(1) } }) },
  { op: 'POST /v1/chronology-requests/{id}/contributions', token: policeP, fresh: true, target: async (token) => {
    const { c, e } = await policeEntry(token);
    const r = await post('/v1/chronology-requests', cscLead(), { child_id: c.id, agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
      period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: instant(1) }, 201);
    return { path: `/v1/chronology-requests/${r.id}/contributions`, good: { entry_ids: [e.id] } };
  } },
  { op: 'POST /v1/panels', token: admin, target: async () => ({ path: '/v1/panels', good: {
    type: 'joint_police_yj', name: () => `Sweep panel ${randomUUID().slice(0, 8)}`, area: null, chair_agency: 'police', member_agencies: ['police', 'youth_justice'] } }) },
  { op: 'PATCH /v1/panels/{id}', token: admin, target: async () => ({ path: `/v1/panels/${(await riskPanel()).id}`, good: {
    name: () => `Sweep panel ${randomUUID().slice(0, 8)}`, chair_agency: 'police', member_agencies: ['police', 'csc', 'education'], area: 'North' } }) },
  { op: 'POST /v1/panels/{id}/referrals', token: sw, target: async () => ({ path: `/v1/panels/${(await riskPanel()).id}/referrals`, good: {
    child_id: async () => (await child()).id, family_id: null, chronology_request_id: null, screening_id: null } }) },
  { op: 'POST /v1/panel-referrals/{id}/decision', token: chair, fresh: true, target: async () => ({ path: `/v1/panel-referrals/${(await referral(await riskPanel())).id}/decision`, good: { outcome: 'accepted' } }) },
  { op: 'POST /v1/panel-referrals/{id}/closure', token: chair, fresh: true, target: async () => {
    const r = await referral(await riskPanel());
    await accept(r, chair());
    return { path: `/v1/panel-referrals/${r.id}/closure` };
  } },
  { op: 'POST /v1/panel-referrals/{id}/reopening', token: chair, fresh: true, target: async () => {
    const r = await referral(await riskPanel());
    await accept(r, chair());
    await post(`/v1/panel-referrals/${r.id}/closure`, chair(), { reason: 'risk_reduced' });
    return { path: `/v1/panel-referrals/${r.id}/reopening` };
  } },
  { op: 'POST /v1/panels/{id}/meetings', token: chair, target: async () => {
    const p = await riskPanel();
    const r = await referral(p);
    return { path: `/v1/panels/${p.id}/meetings`, good: { scheduled_at: () => instant(3), agenda: [r.id] } };
  } },
  { op: 'PATCH /v1/panel-meetings/{id}', token: chair, target: async () => {
    const p = await riskPanel();
    const r = await referral(p);
    return { path: `/v1/panel-meetings/${(await unheldMeeting(p)).id}`, good: { scheduled_at: () => instant(4), agenda: [r.id] } };
  } },
  { op: 'POST /v1/panel-meetings/{id}/attendance', token: chair, fresh: true, target: async () => ({
    path: `/v1/panel-meetings/${(await post(`/v1/panels/${(await riskPanel()).id}/meetings`, chair(), { kind: 'formal', scheduled_at: instant(-1 / 24) }, 201)).id}/attendance`,
    good: { agencies: ['police'], held_at: () => instant(-1 / 48) } }) },
  { op: 'POST /v1/panel-meetings/{id}/cancellation', token: chair, fresh: true, target: async () => ({ path: `/v1/panel-meetings/${(await unheldMeeting(await riskPanel())).id}/cancellation` }) },
  { op: 'PATCH /v1/panel-meetings/{id}/minutes', token: chair, target: async () => ({ path: `/v1/panel-meetings/${(await makeMeeting(await riskPanel(), [], { chair: chair() })).id}/minutes` }) },
  { op: 'POST /v1/panel-meetings/{id}/discussions', token: chair, fresh: true, target: async () => {
    const p = await riskPanel();
    const r = await referral(p);
    await accept(r, chair());
    const m = await makeMeeting(p, [r], { chair: chair() });
    return { path: `/v1/panel-meetings/${m.id}/discussions`, good: { referral_id: r.id, next_review_date: today(14) } };
  } },
  { op: 'POST /v1/panel-meetings/{id}/decisions', token: chair, target: async () => {
    const p = await riskPanel();
    const r = await referral(p);
    await accept(r, chair());
    const m = await makeMeeting(p, [r], { chair: chair() });
    return { path: `/v1/panel-meetings/${m.id}/decisions`, good: { referral_id: r.id, supersedes: null } };
  } },
  { op: 'POST /v1/panel-actions', token: chair, target: async () => {
    const p = await riskPanel();
    const r = await referral(p);
    await accept(r, chair());
    const m = await makeMeeting(p, [r], { chair: chair() });
    return { path: '/v1/panel-actions', good: { panel_id: p.id, referral_id: r.id, meeting_id: m.id, owner_agency: 'csc', due_date: today(7) } };
  } },
  { op: 'PATCH /v1/panel-actions/{id}', token: cscLead, target: async () => ({ path: `/v1/panel-actions/${(await action(await riskPanel())).id}`, good: { status: 'in_progress' } }) },
  { op: 'POST /v1/panel-actions/{id}/escalation', token: cscLead, fresh: true, target: async () => ({ path: `/v1/panel-actions/${(await action(await riskPanel())).id}/escalation` }) },
  { op: 'POST /v1/panel-actions/{id}/escalation/resolution', token: chair, fresh: true, target: async () => {
    const a = await action(await riskPanel());
    await post(`/v1/panel-actions/${a.id}/escalation`, cscLead(), { reason: 'This is for education.' }, 201);
    return { path: `/v1/panel-actions/${a.id}/escalation/resolution`, good: { due_date: today(10), owner_agency: 'education', status: 'open' } };
  } },
  { op: 'POST /v1/courses', token: TA, target: async () => ({ path: '/v1/courses', good: { title: () => `Sweep course ${randomUUID().slice(0, 6)}`, format: 'webinar' } }) },
  { op: 'PATCH /v1/courses/{id}', token: TA, target: async () => ({ path: `/v1/courses/${(await course(TA(), { status: 'draft' })).id}` }) },
  { op: 'POST /v1/courses/{id}/sessions', token: TA, target: async () => ({ path: `/v1/courses/${(await course(TA())).id}/sessions`, good: {
    starts_at: iso(inDays(20)), ends_at: iso(inDays(20, 12)), booking_closes_at: iso(inDays(19)), mode: 'online', online_url: 'https://meet.example.org/sweep' } }) },
  { op: 'POST /v1/courses/{id}/completions', token: () => person('education', 'practitioner'), fresh: true, target: async () => ({
    path: `/v1/courses/${(await course(TA(), { format: 'e_learning', duration_minutes: 20 })).id}/completions`, good: { completed_at: () => instant(0) } }) },
  { op: 'PATCH /v1/training-sessions/{id}', token: TA, target: async () => ({ path: `/v1/training-sessions/${(await session(TA(), (await course(TA())).id)).id}`, good: {
    starts_at: iso(inDays(20)), ends_at: iso(inDays(20, 12)), booking_closes_at: iso(inDays(19)), mode: 'online', online_url: 'https://meet.example.org/sweep' } }) },
  { op: 'POST /v1/training-sessions/{id}/cancellation', token: TA, fresh: true, target: async () => ({ path: `/v1/training-sessions/${(await session(TA(), (await course(TA())).id)).id}/cancellation` }) },
  { op: 'POST /v1/training-sessions/{id}/bookings', token: () => person('police', 'practitioner'), fresh: true, target: async () => ({
    path: `/v1/training-sessions/${(await session(TA(), (await course(TA())).id, { capacity: 50 })).id}/bookings` }) },
  { op: 'POST /v1/bookings/{id}/cancellation', token: TA, fresh: true, target: async () => {
    const { b, who } = await booking();
    return { path: `/v1/bookings/${b.id}/cancellation`, token: who };
  } },
  { op: 'PUT /v1/bookings/{id}/attendance', token: TA, fresh: true, target: async () => {
    const { s, b } = await booking();
    startedAgo(s.id);
    return { path: `/v1/bookings/${b.id}/attendance` };
  } },
  { op: 'POST /v1/bookings/{id}/evaluations', token: TA, fresh: true, target: async () => {
    const { s, b, who } = await booking();
    startedAgo(s.id);
    await attend(b);
    return { path: `/v1/bookings/${b.id}/evaluations`, token: who, good: { respondent: 'delegate' } };
  } },
  { op: 'POST /v1/training-charges/{id}/waiver', token: TA, fresh: true, target: async () => {
    const { s, b } = await booking();
    startedAgo(s.id);
    await attend(b, 'no_show');
    const charge = psql(`select id from safeguard.training_charges where booking_id = '${b.id}'`);
    return { path: `/v1/training-charges/${charge}/waiver` };
  } },
  { op: 'POST /v1/school-calendar', token: admin, fresh: true, target: async () => {
    const d = randomPastDay();
    return { path: '/v1/school-calendar', good: { starts_on: d, ends_on: d } };
  } },
  { op: 'POST /v1/cme-cases', token: () => as('education', 'practitioner'), target: async (token) => ({ path: '/v1/cme-cases', good: {
    child_id: async () => (await child(token)).id, since: today(-3), school_urn: '123456' } }) },
  { op: 'POST /v1/cme-cases/{id}/enquiries', token: officer, target: async () => ({ path: `/v1/cme-cases/${(await cmeCase()).id}/enquiries`, good: { enquiry_date: today(0) } }) },
  { op: 'POST /v1/cme-cases/{id}/resolution', token: officer, fresh: true, needs: { school_urn: '123456' }, target: async () => {
    const k = await cmeCase();
    await post(`/v1/cme-cases/${k.id}/enquiries`, officer(), { enquiry_date: today(0), method: 'home_visit', outcome: 'no_contact' }, 201);
    return { path: `/v1/cme-cases/${k.id}/resolution`, good: { school_urn: '123456', panel_id: null, risk_level: null } };
  } },
  { op: 'POST /v1/screening-tools', token: admin, target: async () => ({ path: '/v1/screening-tools', good: { name: () => `Sweep tool ${randomUUID().slice(0, 8)}` } }) },
  { op: 'POST /v1/screening-tools/{id}/versions', token: admin, fresh: true, target: async () => ({ path: `/v1/screening-tools/${(await tool()).id}/versions`, good: { sections: SECTIONS, thresholds: THRESHOLDS } }) },
  { op: 'PATCH /v1/screening-tools/{id}/versions/{version}', token: admin, target: async () => {
    const t = await tool();
    const v = await post(`/v1/screening-tools/${t.id}/versions`, admin(), { sections: SECTIONS, thresholds: THRESHOLDS }, 201);
    return { path: `/v1/screening-tools/${t.id}/versions/${v.version}`, good: { sections: SECTIONS, thresholds: THRESHOLDS } };
  } },
  { op: 'POST /v1/children/{id}/screenings', token: policeP, target: async (token) => {
    const { tool: t, version } = await publishedTool();
    return { path: `/v1/children/${(await child(token)).id}/screenings`, good: { tool_id: t.id, tool_version: version, answers: { missing_24h: 'yes' }, supersedes: null } };
  } },
  { op: 'PATCH /v1/screenings/{id}', token: policeP, target: async (token) => ({ path: `/v1/screenings/${(await screening(token)).s.id}`, good: { answers: { missing_24h: 'no' } } }) },
  { op: 'POST /v1/screenings/{id}/outcome', token: () => as('police', 'safeguarding_lead'), fresh: true, target: async (token) => {
    const { s } = await screening(token);
    await post(`/v1/screenings/${s.id}/submission`, token, undefined, 200);
    return { path: `/v1/screenings/${s.id}/outcome`, good: { decision: 'none', panel_id: null } };
  } },
];

// Days from 1900 (the first the contract takes) to 1949, for calendar entries:
// far from any school day a case counts and from the years other suites use.
function randomPastDay() {
  const d = new Date(Date.UTC(1900, 0, 1) + Math.floor(Math.random() * 18000) * 86400000);
  return d.toISOString().slice(0, 10);
}

// --- known defects: skipped by the sweep, shown as todo cases below --------
// key `${op} ${variant}` -> [a regex of keys, what is wrong and where the fix
// belongs]; empty while none is known.  (Fixed: criteria null answered 403,
// address.town null refused, and lengths counted in bytes in children's
// addresses and screening tools' texts.)
const KNOWN = [];
const known = (key) => KNOWN.find(([re]) => re.test(key))?.[1];

// --- the sweep --------------------------------------------------------------
const resolveGood = async (v) => (typeof v === 'function' ? v() : v);

async function sweepOne(c) {
  const [method, template] = c.op.split(' ');
  const flat = bodySchema(method, template);
  assert.ok(flat, `${c.op} has no JSON request body in the contract`);
  const patch = method === 'PATCH';
  const token = c.token();
  const shared = await c.target(token);
  const names = variants(flat, () => undefined, { patch, needs: c.needs }).map((v) => v.name);
  const findings = [];
  const accepted = [];
  const refused = []; // variants that a correct server may accept but this one refused (for triage)
  for (const [i, name] of names.entries()) {
    if (known(`${c.op} ${name}`)) continue;
    let v = variants(flat, () => undefined, { patch, needs: c.needs })[i];
    const t = v.valid && c.fresh ? await c.target(token) : shared;
    // the record's own values where the generator would sample one
    const good = {};
    for (const [k, val] of Object.entries(t.good ?? {})) good[k] = await resolveGood(val);
    v = variants(flat, (k) => good[k], { patch, needs: c.needs })[i];
    const caller = t.token ?? token;
    const headers = {};
    if (patch) {
      const g = await request('GET', t.path, { token: caller });
      if (g.headers.get('etag')) headers['If-Match'] = g.headers.get('etag');
    }
    const shown = `${method} ${t.path} ${v.raw !== undefined ? `raw ${JSON.stringify(String(v.raw).slice(0, 120))}` : JSON.stringify(v.body)?.slice(0, 300)}${headers['If-Match'] ? ' (If-Match: the GET\'s ETag)' : ''}`;
    let res;
    try {
      res = await request(method, t.path, v.raw !== undefined
        ? { token: caller, rawBody: v.raw, headers: { ...headers, 'Content-Type': 'application/json' } }
        : { token: caller, body: v.body, headers });
    } catch (e) {
      findings.push(`${name}: answer not in the contract: ${e.message.slice(0, 400)}\n    ${shown}`);
      continue;
    }
    if (res.status >= 500) findings.push(`${name}: ${res.status} ${res.text.slice(0, 200)}\n    ${shown}`);
    else if (res.status >= 400 && (typeof res.body !== 'object' || !res.body?.type)) findings.push(`${name}: ${res.status} without a problem type\n    ${shown}`);
    else if (res.status < 300) {
      accepted.push(name);
      if (!v.valid && !/(^|\.)(blanks|control|nul|lone-surrogate):/.test(name)) findings.push(`${name}: accepted (${res.status}) a body the schema forbids\n    ${shown}`);
    } else if (/maxLength-(multibyte|astral)/.test(name) && res.status === 400
      && (res.body.errors ?? []).some((e) => e.code !== 'not_allowed' && e.code !== 'required' && e.field.replace(/\[\d+\]/g, '').split('.').pop() === name.split(':').pop())) {
      // a schema's maxLength counts characters: the same field at its maxLength in ASCII is taken
      findings.push(`${name}: refused a value of maxLength characters (${res.text.slice(0, 200)}): its length was counted in bytes\n    ${shown}`);
    } else if (v.valid && name !== 'minimal') {
      refused.push(`${name}: ${res.status} ${res.body.type} ${JSON.stringify(res.body.errors ?? res.body.detail).slice(0, 200)}`);
    } else if (name === 'minimal') {
      findings.push(`${name}: the minimal valid body was refused: ${res.status} ${res.text.slice(0, 300)}\n    ${shown}`);
    }
  }
  return { findings, accepted, refused, count: names.length };
}

describe('the contract-driven sweep of every JSON body', { concurrency: 6 }, () => {
  for (const c of CASES) {
    it(`${c.op}: no 5xx, problems with a type, only documented answers; the minimal body accepted`, async () => {
      const { findings, accepted, refused, count } = await sweepOne(c);
      if (process.env.SWEEP_REPORT) appendFileSync(process.env.SWEEP_REPORT, `${JSON.stringify({ op: c.op, count, accepted, refused })}\n`);
      assert.deepEqual(findings, [], `${c.op}:\n  ${findings.join('\n  ')}`);
      if (c.op.startsWith('PATCH')) assert.ok(accepted.some((n) => n.startsWith('alone:')), `${c.op}: no field alone was accepted`);
      else assert.ok(accepted.includes('minimal'), `${c.op}: the minimal body was not accepted`);
    });
  }
});

describe('the sweep covers the contract', () => {
  it('every operation with a JSON request body is swept', async () => {
    const { operations } = await import('./lib/openapi.mjs');
    const swept = new Set(CASES.map((c) => c.op));
    const missing = operations().filter((op) => {
      const [m, t] = op.split(' ');
      return ['POST', 'PATCH', 'PUT'].includes(m) && bodySchema(m, t) && !swept.has(op);
    });
    assert.deepEqual(missing, []);
  });
});

// No sanitizer report and no worker death while the sweep ran
// (lib/sweep-fixtures.mjs).
const watched = watch();
sanitizerCases(watched);

// --- the defects the sweep found, each with the request that shows it ------
describe('the defects the sweep found, fixed', () => {
  it('POST /v1/panels/{id}/referrals with "criteria": null (documented as allowed) is accepted, not 403', async () => {
      const p = await riskPanel();
      const c = await child();
      const res = await request('POST', `/v1/panels/${p.id}/referrals`, {
        token: sw(), body: { child_id: c.id, reason: 'missing twice this month', risk_level: 'high', criteria: null },
      });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.criteria, {});
    });
  it('POST /v1/children with "address": {"lines": [...], "town": null} (documented as allowed) is accepted', async () => {
      const res = await request('POST', '/v1/children', {
        token: sw(), body: { first_name: 'Sweep', last_name: 'Town', date_of_birth: '2011-03-04', address: { lines: ['1 High Street'], town: null } },
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.address.town ?? null, null);
    });
  it('PATCH /v1/children/{id} with "address": {"lines": [...], "town": null} (documented as allowed) is accepted', async () => {
      const c = await child();
      const g = await request('GET', `/v1/children/${c.id}`, { token: sw() });
      const res = await request('PATCH', `/v1/children/${c.id}`, {
        token: sw(), headers: { 'If-Match': g.headers.get('etag') }, body: { address: { lines: ['1 High Street'], town: null } },
      });
      assert.equal(res.status, 200, res.text);
    });
});

describe('lengths are counted in characters, as the contract counts them', () => {
  const e200 = (n) => '\u00e9'.repeat(n);
  it('POST /v1/children with an address whose town and line are 100 characters of "é" is accepted', async () => {
    const res = await request('POST', '/v1/children', {
      token: sw(), body: { first_name: 'Sweep', last_name: 'Long', date_of_birth: '2011-03-04', address: { lines: [e200(100)], town: e200(100) } },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.address.town, e200(100));
  });
  it('POST /v1/screening-tools/{id}/versions with a section title of 200 and an indicator text of 1000 characters of "é" is accepted', async () => {
    const t = await tool();
    const sections = [{ id: 'missing', title: e200(200), indicators: [{ id: 'missing_24h', text: e200(1000), weight: 3, counts: ['yes'] }] }];
    const res = await request('POST', `/v1/screening-tools/${t.id}/versions`, {
      token: admin(), body: { sections, thresholds: [{ min: 0, max: 1, level: 'low', next_step: 'no_further_action' }, { min: 2, max: null, level: 'high', next_step: 'panel_referral' }] },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.sections[0].title, e200(200));
  });
  it('the same fields one character past their maxLength are refused (the check stays)', async () => {
    const res = await request('POST', '/v1/children', {
      token: sw(), body: { first_name: 'Sweep', last_name: 'Long', date_of_birth: '2011-03-04', address: { lines: ['1 High Street'], town: 'x'.repeat(101) } },
    });
    assert.equal(res.status, 400, res.text);
    assert.ok(res.body.errors.some((e) => e.field === 'address.town'));
  });
});
