// audit-sweep.test.mjs - the audit rule across every route: every answer that
// carries a child's data wrote that child's audit row, in the request's own
// transaction (DESIGN.md 5, api/README.md "A request's life").
//
// A world is built through the API (children in a family, a chronology
// request with contributions and entries, a panel with referrals, meetings,
// discussions, decisions and actions, a CME case, a screening, training),
// then every operation of the contract (openapi/openapi.yaml) that can
// answer 2xx is called, as the roles the access table allows, including the
// callers who see a child only through a live fact: an agency invited to an
// open chronology request, a panel member with an open referral of the child,
// the CME officer while the child's case is open.  Keyed retries (the same
// Idempotency-Key twice) replay answers and are checked the same way.
//
// For every answer, each uuid the body carries (anywhere: JSON, CSV,
// iCalendar) that is a row of safeguard.children, and for a 2xx under
// /v1/children/{id} the child the path names, must have an audit row with the
// answer's X-Request-Id, resource_type 'child' (or the route's documented
// row: DOCUMENTED), the caller's sub and agency and outcome 'success'; that
// holds for a 4xx that names a child too (the 409 possible-duplicate).  A
// 412 or a 4xx that carries no child must leave no successful child row (a
// HEAD and a 304 write the rows of the read they stand for: KNOWN below).  For the GET routes the reverse holds too: no child row of the
// request names a child the answer did not carry, directly or through an
// entry, family or referral it carries (every list is also read a row a
// page, so a look-ahead row shows).  An operation of the contract the sweep
// never had a 2xx from fails its case, so a new route must be added here.
// What is audited by design though the answer carries no child (a HEAD, a
// 304) is in KNOWN, each pinned by a case of its own.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { request, psql } from './lib/client.mjs';
import { nhsNumber } from './lib/people.mjs';
import { operations } from './lib/openapi.mjs';
import { today } from './lib/panels.mjs';
import { iso, inDays, startedAgo, person } from './lib/training.mjs';

const RUN = randomUUID().slice(0, 8);
const instant = (days) => new Date(Date.now() + days * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

// --- callers: one subject per agency and role, a fresh token (jti) per call --
const caller = (agency, role, tag = '') => ({ agency, role, sub: `asw-${agency}-${role}${tag}-${RUN}` });
const SW = caller('csc', 'social_worker');
const CSCL = caller('csc', 'safeguarding_lead');
const CSCP = caller('csc', 'practitioner');
const POL = caller('police', 'practitioner');
const POLL = caller('police', 'safeguarding_lead');
const HEALTH = caller('health', 'practitioner'); // sees the family only through the open request
const EDU_PM = caller('education', 'panel_member'); // sees the referred child only through the open referral
const EDU_P = caller('education', 'practitioner');
const OFFICER = caller('education', 'safeguarding_lead'); // the CME officer: the case's child through the open case
const CHAIR = caller('police', 'panel_chair');
const PM = caller('police', 'panel_member');
const CME_CHAIR = caller('education', 'panel_chair'); // chairs a CME panel: a CME officer
const VOL = caller('voluntary', 'practitioner'); // outside every network
const AUD = caller('partnership', 'auditor');
const AUD_CSC = caller('csc', 'auditor');
const ADMIN = caller('partnership', 'admin');
const TA = caller('csc', 'training_admin');
const DELEGATE = caller('police', 'practitioner', '-delegate');
const LEADP = caller('police', 'safeguarding_lead', '-training');

// --- every request the sweep makes, kept for the checks ---------------------
const calls = [];
let serial = 0;
async function hit(op, who, path, { body, headers = {}, label = '', rawBody, head = false } = {}) {
  const method = head ? 'HEAD' : op.split(' ')[0];
  const rid = `asw-${RUN}-${++serial}`;
  const token = person(who.agency, who.role, who.sub); // a name and an email: a booking records both
  const res = await request(method, path, {
    token, body, rawBody, headers: { 'X-Request-Id': rid, ...headers },
  });
  calls.push({
    op, label, who, method, path, status: res.status, rid: res.headers.get('x-request-id'), sent: rid,
    text: typeof res.text === 'string' ? res.text : '', replayed: res.headers.get('idempotent-replayed'),
    etag: res.headers.get('etag'),
  });
  return res;
}
// a call that must succeed (the world depends on it)
async function must(op, who, path, opts = {}, status) {
  const res = await hit(op, who, path, opts);
  assert.ok(status ? res.status === status : res.status < 300, `${op} ${path} as ${who.agency}/${who.role}: ${res.status} ${res.text.slice(0, 400)}`);
  return res;
}
// PATCH (and the actions that ask for one) with the record's ETag
async function etagOf(getOp, who, path) {
  const g = await must(getOp, who, path);
  return g.headers.get('etag');
}

// --- the world and the calls --------------------------------------------------
const W = {};
async function world() {
  // children: A and B siblings in family F (CSC), E a third (csc), a child for the search
  const child = async (who, extra = {}, label = '') => (await must('POST /v1/children', who, '/v1/children', {
    body: { first_name: 'Audit', last_name: `Sweep${randomUUID().slice(0, 4)}`, date_of_birth: '2011-03-04', ...extra }, label,
  }, 201)).body;
  W.A = await child(SW, { nhs_number: nhsNumber() });
  W.B = await child(SW);
  W.E = await child(SW);
  // a keyed create, replayed
  const key = `asw-${RUN}-child`;
  const kbody = { first_name: 'Audit', last_name: 'Keyed', date_of_birth: '2012-01-02' };
  W.K = (await must('POST /v1/children', SW, '/v1/children', { body: kbody, headers: { 'Idempotency-Key': key } }, 201)).body;
  await must('POST /v1/children', SW, '/v1/children', { body: kbody, headers: { 'Idempotency-Key': key }, label: 'replay' }, 201);

  W.F = (await must('POST /v1/families', SW, '/v1/families', { body: { name: `Audit family ${RUN}` } }, 201)).body;
  await must('POST /v1/families/{id}/members', SW, `/v1/families/${W.F.id}/members`, { body: { child_id: W.A.id, relationship: 'child' } });
  await must('POST /v1/families/{id}/members', SW, `/v1/families/${W.F.id}/members`, { body: { child_id: W.B.id, relationship: 'sibling' } });
  await must('POST /v1/families/{id}/members', SW, `/v1/families/${W.F.id}/members`, { body: { child_id: W.E.id, relationship: 'sibling' } });
  let tag = await etagOf('GET /v1/families/{id}', SW, `/v1/families/${W.F.id}`);
  await must('PATCH /v1/families/{id}', SW, `/v1/families/${W.F.id}`, { body: { name: `Audit family ${RUN} renamed` }, headers: { 'If-Match': tag } });
  await must('DELETE /v1/families/{id}/members/{child_id}', SW, `/v1/families/${W.F.id}/members/${W.E.id}`, { headers: { 'If-Match': await etagOf('GET /v1/families/{id}', SW, `/v1/families/${W.F.id}`) } }, 204);

  // the child: read, update (keyed, replayed), conditional reads
  const cpath = `/v1/children/${W.A.id}`;
  tag = await etagOf('GET /v1/children/{id}', SW, cpath);
  const pkey = `asw-${RUN}-patch`;
  const p1 = await must('PATCH /v1/children/{id}', SW, cpath, { body: { preferred_name: 'Ace' }, headers: { 'If-Match': tag, 'Idempotency-Key': pkey } });
  await must('PATCH /v1/children/{id}', SW, cpath, { body: { preferred_name: 'Ace' }, headers: { 'If-Match': tag, 'Idempotency-Key': pkey }, label: 'replay' });
  await must('GET /v1/children/{id}', SW, cpath, { headers: { 'If-None-Match': p1.headers.get('etag') }, label: 'not-modified' }, 304);
  await must('PATCH /v1/children/{id}', SW, cpath, { body: { preferred_name: 'Stale' }, headers: { 'If-Match': tag }, label: 'stale' }, 412);
  await must('GET /v1/children/{id}', VOL, cpath, { label: 'not-visible' }, 404);
  await must('GET /v1/children', SW, '/v1/children?limit=200');
  await must('GET /v1/children', SW, `/v1/children?family_id=${W.F.id}`);
  await must('POST /v1/children/search', POL, '/v1/children/search', { body: { nhs_number: W.A.nhs_number } });
  await must('POST /v1/children/search', VOL, '/v1/children/search', { body: { nhs_number: W.A.nhs_number }, label: 'outside-network' });

  // police joins A's network by declaring involvement; health's lead declares on B (reviewed, then ended)
  await must('POST /v1/children/{id}/involvements', POL, `${cpath}/involvements`, { body: { reason: 'arrested with older peers' } });
  await must('POST /v1/children/{id}/involvements', caller('district', 'practitioner'), `/v1/children/${W.B.id}/involvements`, { body: { reason: 'housing officer' } });
  await must('GET /v1/involvements', CSCL, '/v1/involvements');
  await must('GET /v1/involvements', CSCL, '/v1/involvements?limit=1'); // the look-ahead row is not audited
  await must('POST /v1/children/{id}/involvements/{agency}/review', CSCL, `/v1/children/${W.B.id}/involvements/district/review`);
  await must('POST /v1/children/{id}/involvements/{agency}/ending', CSCL, `/v1/children/${W.B.id}/involvements/district/ending`, { body: { reason: 'no longer involved' } });
  // a search that finds a child the caller sees answers the record itself
  await must('POST /v1/children/search', POL, '/v1/children/search', { body: { nhs_number: W.A.nhs_number }, label: 'in-network' });
  await must('POST /v1/children/search', SW, '/v1/children/search', { body: { first_name: W.B.first_name, last_name: W.B.last_name, date_of_birth: W.B.date_of_birth } });
  await must('GET /v1/children/{id}/network', SW, `${cpath}/network`);
  await must('GET /v1/children/{id}/network', POL, `${cpath}/network`);
  await must('GET /v1/children/{id}', POL, cpath);

  // chronology entries: police on A (keyed, replayed), CSC on A and B
  const ebody = { child_ids: [W.A.id], event_date: today(-10), date_precision: 'day', category: 'missing_episode', summary: 'Missing overnight',
    impact: 'negative', significance: 'high', action_taken: 'Return interview' };
  const ekey = `asw-${RUN}-entry`;
  W.EP = (await must('POST /v1/chronology-entries', POL, '/v1/chronology-entries', { body: ebody, headers: { 'Idempotency-Key': ekey } }, 201)).body;
  await must('POST /v1/chronology-entries', POL, '/v1/chronology-entries', { body: ebody, headers: { 'Idempotency-Key': ekey }, label: 'replay' }, 201);
  W.EC = (await must('POST /v1/chronology-entries', SW, '/v1/chronology-entries', { body: { ...ebody, child_ids: [W.A.id, W.B.id], category: 'home_visit', summary: 'Home visit', impact: 'neutral', significance: 'low' } }, 201)).body;
  W.EW = (await must('POST /v1/chronology-entries', POL, '/v1/chronology-entries', { body: { ...ebody, summary: 'Entered in error' } }, 201)).body;
  const epath = `/v1/chronology-entries/${W.EP.id}`;
  await must('GET /v1/chronology-entries/{id}', POL, epath);
  await must('GET /v1/chronology-entries/{id}', SW, epath);
  tag = await etagOf('GET /v1/chronology-entries/{id}', POL, epath);
  await must('PATCH /v1/chronology-entries/{id}', POL, epath, { body: { summary: 'Missing overnight, found in town' }, headers: { 'If-Match': tag } });
  await must('GET /v1/chronology-entries/{id}/versions', POL, `${epath}/versions`);
  await must('POST /v1/chronology-entries/{id}/withdrawal', POL, `/v1/chronology-entries/${W.EW.id}/withdrawal`, {
    body: { reason: 'entered in error' }, headers: { 'If-Match': await etagOf('GET /v1/chronology-entries/{id}', POL, `/v1/chronology-entries/${W.EW.id}`) } });
  await must('GET /v1/children/{id}/chronology', SW, `${cpath}/chronology`);
  await must('GET /v1/children/{id}/chronology', POL, `${cpath}/chronology`);

  // a chronology request about the family: police and health invited
  W.R = (await must('POST /v1/chronology-requests', CSCL, '/v1/chronology-requests', { body: {
    family_id: W.F.id, agencies: ['police', 'health'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
    period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: instant(5) } }, 201)).body;
  const rpath = `/v1/chronology-requests/${W.R.id}`;
  W.EH = (await must('POST /v1/chronology-entries', caller('health', 'safeguarding_lead'), '/v1/chronology-entries', {
    body: { ...ebody, child_ids: [W.B.id], category: 'hospital_attendance', summary: 'A and E attendance' } }, 201)).body;
  await must('GET /v1/chronology-requests', CSCL, '/v1/chronology-requests');
  await must('GET /v1/chronology-requests', HEALTH, '/v1/chronology-requests');
  await must('GET /v1/chronology-requests/{id}', CSCL, rpath);
  await must('GET /v1/chronology-requests/{id}', HEALTH, rpath);
  await must('GET /v1/chronology-requests/{id}/draft', POL, `${rpath}/draft`);
  await must('GET /v1/chronology-requests/{id}/draft', HEALTH, `${rpath}/draft`);
  const cokey = `asw-${RUN}-contribution`;
  await must('POST /v1/chronology-requests/{id}/contributions', POL, `${rpath}/contributions`, { body: { entry_ids: [W.EP.id] }, headers: { 'Idempotency-Key': cokey } });
  await must('POST /v1/chronology-requests/{id}/contributions', POL, `${rpath}/contributions`, { body: { entry_ids: [W.EP.id] }, headers: { 'Idempotency-Key': cokey }, label: 'replay' });
  await must('POST /v1/chronology-requests/{id}/contributions', caller('health', 'safeguarding_lead'), `${rpath}/contributions`, { body: { entry_ids: [W.EH.id] } });
  for (const who of [CSCL, HEALTH, POL]) {
    await must('GET /v1/chronology-requests/{id}/chronology', who, `${rpath}/chronology`);
    await must('GET /v1/chronology-requests/{id}/chronology.csv', who, `${rpath}/chronology.csv`);
  }
  // through the open request only
  await must('GET /v1/children/{id}', HEALTH, cpath);
  await must('GET /v1/families/{id}', HEALTH, `/v1/families/${W.F.id}`);
  await must('GET /v1/children', HEALTH, '/v1/children?limit=200');
  await must('GET /v1/children/{id}/chronology', HEALTH, `${cpath}/chronology`);
  await must('GET /v1/chronology-entries/{id}', HEALTH, `/v1/chronology-entries/${W.EP.id}`);

  // a screening tool, published; a screening of A by police's lead
  W.T = (await must('POST /v1/screening-tools', ADMIN, '/v1/screening-tools', { body: { name: `Audit tool ${RUN}` } }, 201)).body;
  const SECTIONS = [{ id: 'missing', title: 'Going missing', indicators: [{ id: 'missing_24h', text: 'Missing for more than 24 hours', weight: 3, counts: ['yes'] }] }];
  const THRESHOLDS = [{ min: 0, max: 1, level: 'low', next_step: 'no_further_action' }, { min: 2, max: null, level: 'high', next_step: 'panel_referral' }];
  const tpath = `/v1/screening-tools/${W.T.id}`;
  const v = (await must('POST /v1/screening-tools/{id}/versions', ADMIN, `${tpath}/versions`, { body: { sections: SECTIONS, thresholds: THRESHOLDS } }, 201)).body;
  tag = await etagOf('GET /v1/screening-tools/{id}/versions/{version}', ADMIN, `${tpath}/versions/${v.version}`);
  await must('PATCH /v1/screening-tools/{id}/versions/{version}', ADMIN, `${tpath}/versions/${v.version}`, { body: { notes: 'first' }, headers: { 'If-Match': tag } });
  await must('POST /v1/screening-tools/{id}/versions/{version}/publication', ADMIN, `${tpath}/versions/${v.version}/publication`);
  await must('GET /v1/screening-tools', POL, '/v1/screening-tools');
  await must('GET /v1/screening-tools/{id}', POL, tpath);
  const sbody = { tool_id: W.T.id, tool_version: v.version, answers: { missing_24h: 'yes' } };
  const skey = `asw-${RUN}-screening`;
  W.S = (await must('POST /v1/children/{id}/screenings', POLL, `${cpath}/screenings`, { body: sbody, headers: { 'Idempotency-Key': skey } }, 201)).body;
  await must('POST /v1/children/{id}/screenings', POLL, `${cpath}/screenings`, { body: sbody, headers: { 'Idempotency-Key': skey }, label: 'replay' }, 201);
  const spath = `/v1/screenings/${W.S.id}`;
  tag = await etagOf('GET /v1/screenings/{id}', POLL, spath);
  await must('PATCH /v1/screenings/{id}', POLL, spath, { body: { notes: 'seen at school' }, headers: { 'If-Match': tag } });
  await must('POST /v1/screenings/{id}/submission', POLL, `${spath}/submission`, { headers: { 'If-Match': await etagOf('GET /v1/screenings/{id}', POLL, spath) } });
  await must('POST /v1/screenings/{id}/outcome', POLL, `${spath}/outcome`, { body: { decision: 'front_door_referral' } });
  // a screening whose outcome refers the child to a missing and exploited panel
  const ME = (await must('POST /v1/panels', ADMIN, '/v1/panels', { body: { type: 'missing_exploited', name: `Audit ME panel ${RUN}`, area: 'North', chair_agency: 'police', member_agencies: ['police', 'csc'] } }, 201)).body;
  const S2 = (await must('POST /v1/children/{id}/screenings', POLL, `${cpath}/screenings`, { body: { tool_id: W.T.id, tool_version: v.version, answers: { missing_24h: 'yes' } } }, 201)).body;
  await must('POST /v1/screenings/{id}/submission', POLL, `/v1/screenings/${S2.id}/submission`, { headers: { 'If-Match': await etagOf('GET /v1/screenings/{id}', POLL, `/v1/screenings/${S2.id}`) } });
  await must('POST /v1/screenings/{id}/outcome', POLL, `/v1/screenings/${S2.id}/outcome`, { body: { decision: 'panel_referral', panel_id: ME.id } });
  await must('GET /v1/panels/{id}/referrals', CHAIR, `/v1/panels/${ME.id}/referrals`);
  await must('GET /v1/children/{id}/screenings', SW, `${cpath}/screenings`);
  await must('GET /v1/screenings/{id}', SW, spath);
  await must('GET /v1/screening-report', ADMIN, `/v1/screening-report?from=${today(-30)}&to=${today(1)}`);
  await must('GET /v1/screening-report.csv', AUD, `/v1/screening-report.csv?from=${today(-30)}&to=${today(1)}`);

  // a panel: police chairs, police, CSC and education members
  W.P = (await must('POST /v1/panels', ADMIN, '/v1/panels', { body: { type: 'risk_meeting', name: `Audit risk panel ${RUN}`, chair_agency: 'police', member_agencies: ['police', 'csc', 'education'] } }, 201)).body;
  const ppath = `/v1/panels/${W.P.id}`;
  tag = await etagOf('GET /v1/panels/{id}', ADMIN, ppath);
  await must('PATCH /v1/panels/{id}', ADMIN, ppath, { body: { area: 'North' }, headers: { 'If-Match': tag } });
  await must('GET /v1/panels', CHAIR, '/v1/panels');
  const refBody = { child_id: W.A.id, family_id: W.F.id, reason: 'missing and found with older peers', risk_level: 'high', chronology_request_id: W.R.id };
  const rkey = `asw-${RUN}-referral`;
  W.REF = (await must('POST /v1/panels/{id}/referrals', SW, `${ppath}/referrals`, { body: refBody, headers: { 'Idempotency-Key': rkey } }, 201)).body;
  await must('POST /v1/panels/{id}/referrals', SW, `${ppath}/referrals`, { body: refBody, headers: { 'Idempotency-Key': rkey }, label: 'replay' }, 201);
  const refpath = `/v1/panel-referrals/${W.REF.id}`;
  await must('POST /v1/panel-referrals/{id}/decision', CHAIR, `${refpath}/decision`, { body: { outcome: 'accepted' } });
  W.REF2 = (await must('POST /v1/panels/{id}/referrals', SW, `${ppath}/referrals`, { body: { child_id: W.B.id, reason: 'peer of A', risk_level: 'medium' } }, 201)).body;
  const ref2 = `/v1/panel-referrals/${W.REF2.id}`;
  await must('POST /v1/panel-referrals/{id}/decision', CHAIR, `${ref2}/decision`, { body: { outcome: 'accepted' } });
  await must('POST /v1/panel-referrals/{id}/closure', CHAIR, `${ref2}/closure`, { body: { reason: 'risk_reduced' } });
  await must('POST /v1/panel-referrals/{id}/reopening', CHAIR, `${ref2}/reopening`, { body: { reason: 'missing again' } });
  // meetings
  W.M = (await must('POST /v1/panels/{id}/meetings', CHAIR, `${ppath}/meetings`, { body: { kind: 'formal', scheduled_at: instant(-1 / 24), agenda: [W.REF.id, W.REF2.id] } }, 201)).body;
  const mpath = `/v1/panel-meetings/${W.M.id}`;
  tag = await etagOf('GET /v1/panel-meetings/{id}', CHAIR, mpath);
  await must('PATCH /v1/panel-meetings/{id}', CHAIR, mpath, { body: { location: 'Room 2' }, headers: { 'If-Match': tag } });
  await must('POST /v1/panel-meetings/{id}/attendance', CHAIR, `${mpath}/attendance`, { body: { agencies: ['police', 'csc', 'education'] } });
  const M2 = (await must('POST /v1/panels/{id}/meetings', CHAIR, `${ppath}/meetings`, { body: { kind: 'officer', scheduled_at: instant(3), agenda: [W.REF.id] } }, 201)).body;
  await must('POST /v1/panel-meetings/{id}/cancellation', CHAIR, `/v1/panel-meetings/${M2.id}/cancellation`, { body: { reason: 'not quorate' } });
  tag = await etagOf('GET /v1/panel-meetings/{id}/minutes', CHAIR, `${mpath}/minutes`);
  await must('PATCH /v1/panel-meetings/{id}/minutes', CHAIR, `${mpath}/minutes`, { body: { text: 'Present: police, CSC, education. A: risk high.' }, headers: tag ? { 'If-Match': tag } : {} });
  W.DISC = (await must('POST /v1/panel-meetings/{id}/discussions', CHAIR, `${mpath}/discussions`, { body: { referral_id: W.REF.id, summary: 'Still going missing', risk_level: 'high', next_review_date: today(14) } }, 201)).body;
  W.DEC = (await must('POST /v1/panel-meetings/{id}/decisions', CHAIR, `${mpath}/decisions`, { body: { referral_id: W.REF.id, text: 'Strategy discussion within 5 days' } }, 201)).body;
  await must('POST /v1/panel-meetings/{id}/decisions', CHAIR, `${mpath}/decisions`, { body: { text: 'Panel-wide: review the missing protocol' } }, 201);
  const akey = `asw-${RUN}-action`;
  const abody = { panel_id: W.P.id, referral_id: W.REF.id, meeting_id: W.M.id, description: 'Return interview', owner_agency: 'csc', due_date: today(7) };
  W.ACT = (await must('POST /v1/panel-actions', CHAIR, '/v1/panel-actions', { body: abody, headers: { 'Idempotency-Key': akey } }, 201)).body;
  await must('POST /v1/panel-actions', CHAIR, '/v1/panel-actions', { body: abody, headers: { 'Idempotency-Key': akey }, label: 'replay' }, 201);
  const apath = `/v1/panel-actions/${W.ACT.id}`;
  tag = await etagOf('GET /v1/panel-actions/{id}', CSCL, apath);
  await must('PATCH /v1/panel-actions/{id}', CSCL, apath, { body: { status: 'in_progress', progress_note: 'booked' }, headers: { 'If-Match': tag } });
  await must('POST /v1/panel-actions/{id}/escalation', CSCL, `${apath}/escalation`, { body: { reason: 'This is for education.' } }, 201);
  await must('POST /v1/panel-actions/{id}/escalation/resolution', CHAIR, `${apath}/escalation/resolution`, { body: { resolution: 'CSC keeps it.' } });
  // the panel's readers: the chair, a member, CSC's lead, and education's member (through the open referral)
  for (const who of [CHAIR, PM, EDU_PM, CSCL, OFFICER, caller('csc', 'panel_member')]) {
    await must('GET /v1/panels/{id}', who, ppath);
    await must('GET /v1/panels/{id}/referrals', who, `${ppath}/referrals`);
    await must('GET /v1/panel-referrals/{id}', who, refpath);
    await must('GET /v1/panel-referrals/{id}/discussions', who, `${refpath}/discussions`);
    await must('GET /v1/panels/{id}/meetings', who, `${ppath}/meetings`);
    await must('GET /v1/panel-meetings/{id}', who, mpath);
    await must('GET /v1/panel-meetings/{id}/minutes', who, `${mpath}/minutes`);
    await must('GET /v1/panel-meetings/{id}/minutes/versions', who, `${mpath}/minutes/versions`);
    await must('GET /v1/panel-meetings/{id}/discussions', who, `${mpath}/discussions`);
    await must('GET /v1/panel-meetings/{id}/decisions', who, `${mpath}/decisions`);
    await must('GET /v1/panel-decisions/{id}', who, `/v1/panel-decisions/${W.DEC.id}`);
    await must('GET /v1/panel-actions', who, `/v1/panel-actions?panel=${W.P.id}`);
    await must('GET /v1/panel-actions/{id}', who, apath);
    await must('GET /v1/panel-actions/{id}/history', who, `${apath}/history`);
    await must('GET /v1/panels/{id}/action-log', who, `${ppath}/action-log`);
    await must('GET /v1/panels/{id}/case-list', who, `${ppath}/case-list`);
    await must('GET /v1/children/{id}/panel-referrals', who, `${cpath}/panel-referrals`);
  }
  await must('GET /v1/panel-referrals/{id}', SW, refpath); // its referrer
  await must('GET /v1/panel-referrals/{id}/chronology', CHAIR, `${refpath}/chronology`);
  await must('GET /v1/panel-referrals/{id}/chronology', EDU_PM, `${refpath}/chronology`);
  await must('GET /v1/children/{id}', EDU_PM, cpath);
  await must('GET /v1/children', EDU_PM, '/v1/children?limit=200');
  await must('GET /v1/families/{id}', EDU_PM, `/v1/families/${W.F.id}`);
  tag = await etagOf('GET /v1/panel-meetings/{id}/minutes', CHAIR, `${mpath}/minutes`);
  await must('POST /v1/panel-meetings/{id}/minutes/approval', CHAIR, `${mpath}/minutes/approval`, { headers: { 'If-Match': tag } });

  // children missing education: D, known to CSC only; the officer sees D through the case
  W.D = await child(SW);
  const kbodyC = { child_id: W.D.id, reason: 'not_attending', since: today(-3), what_is_known: 'Not seen in school.' };
  const ckey = `asw-${RUN}-cme`;
  W.CME = (await must('POST /v1/cme-cases', SW, '/v1/cme-cases', { body: kbodyC, headers: { 'Idempotency-Key': ckey } }, 201)).body;
  await must('POST /v1/cme-cases', SW, '/v1/cme-cases', { body: kbodyC, headers: { 'Idempotency-Key': ckey }, label: 'replay' }, 201);
  const kpath = `/v1/cme-cases/${W.CME.id}`;
  await must('GET /v1/cme-cases', OFFICER, '/v1/cme-cases');
  await must('GET /v1/cme-cases', SW, '/v1/cme-cases');
  await must('GET /v1/cme-cases/{id}', OFFICER, kpath);
  await must('GET /v1/cme-cases/{id}', SW, kpath);
  await must('GET /v1/children/{id}', OFFICER, `/v1/children/${W.D.id}`);
  await must('GET /v1/children', OFFICER, '/v1/children?limit=200');
  // a CME panel's chair is a CME officer too (education chairs it, as in
  // the CME suites: an agency that chairs one sees every open case's child,
  // which would change what other suites' agencies see)
  W.CMEP = (await must('POST /v1/panels', ADMIN, '/v1/panels', { body: { type: 'cme', name: `Audit CME panel ${RUN}`, chair_agency: 'education', member_agencies: ['education', 'csc'] } }, 201)).body;
  await must('GET /v1/cme-cases/{id}', CME_CHAIR, kpath);
  await must('GET /v1/children/{id}', CME_CHAIR, `/v1/children/${W.D.id}`);
  await must('GET /v1/cme-cases', CME_CHAIR, '/v1/cme-cases');
  await must('POST /v1/cme-cases/{id}/enquiries', OFFICER, `${kpath}/enquiries`, { body: { enquiry_date: today(0), method: 'home_visit', outcome: 'no_contact' } }, 201);
  await must('POST /v1/cme-cases/{id}/resolution', OFFICER, `${kpath}/resolution`, { body: { resolution: 'back_on_roll', school_urn: '123456' } });
  await must('POST /v1/cme-cases/{id}/closure', OFFICER, `${kpath}/closure`);
  // a second case, resolved by a referral to the CME panel (the answer names the referral and the child)
  // (education's own child: a child is referred from its network)
  const D2 = await child(EDU_P, { looked_after: true });
  const K2 = (await must('POST /v1/cme-cases', EDU_P, '/v1/cme-cases', { body: { ...kbodyC, child_id: D2.id } }, 201)).body;
  await must('POST /v1/cme-cases/{id}/enquiries', OFFICER, `/v1/cme-cases/${K2.id}/enquiries`, { body: { enquiry_date: today(0), method: 'phone', outcome: 'no_contact' } }, 201);
  await must('POST /v1/cme-cases/{id}/resolution', OFFICER, `/v1/cme-cases/${K2.id}/resolution`, { body: { resolution: 'referred_to_cme_panel', panel_id: W.CMEP.id, risk_level: 'high' } });
  await must('GET /v1/panels/{id}/referrals', CME_CHAIR, `/v1/panels/${W.CMEP.id}/referrals`);
  await must('GET /v1/panels/{id}/case-list', CME_CHAIR, `/v1/panels/${W.CMEP.id}/case-list`);

  // the closed case: whoever still reads it reads its child's id
  await hit('GET /v1/cme-cases/{id}', OFFICER, kpath, { label: 'closed' });
  await hit('GET /v1/cme-cases/{id}', CME_CHAIR, kpath, { label: 'closed' });
  await hit('GET /v1/children/{id}', OFFICER, `/v1/children/${W.D.id}`, { label: 'case-closed' });

  // every case role of CSC and police on the child's own reads
  for (const who of [SW, CSCL, CSCP, POL, POLL, CHAIR, PM]) {
    await must('GET /v1/children/{id}', who, cpath);
    await must('GET /v1/families/{id}', who, `/v1/families/${W.F.id}`);
    await must('GET /v1/children/{id}/chronology', who, `${cpath}/chronology`);
    await must('GET /v1/children/{id}/screenings', who, `${cpath}/screenings`);
    await must('GET /v1/children/{id}/panel-referrals', who, `${cpath}/panel-referrals`);
  }
  // pages: the children list and the delta sync, followed by their cursors
  const follow = async (op, who, first, pages = 4) => {
    let next = first;
    for (let i = 0; i < pages && next; i++) {
      const res = await must(op, who, next);
      next = res.body.next_cursor ? `${first.split('?')[0]}?limit=3&cursor=${encodeURIComponent(res.body.next_cursor)}` : null;
    }
  };
  await follow('GET /v1/children', SW, '/v1/children?limit=3');
  await follow('GET /v1/changes', SW, '/v1/changes?limit=3');
  await follow('GET /v1/changes', HEALTH, '/v1/changes?limit=3');
  await follow('GET /v1/children/{id}/chronology', SW, `${cpath}/chronology?limit=1`);

  // the delta sync, the audit trail, the access log
  await must('GET /v1/changes', SW, '/v1/changes?limit=200');
  await must('GET /v1/changes', HEALTH, '/v1/changes?limit=200');
  for (const who of [EDU_PM, OFFICER, CME_CHAIR, POL, CHAIR]) await must('GET /v1/changes', who, '/v1/changes?limit=200');
  await must('GET /v1/children/{id}/access-log', CSCL, `${cpath}/access-log`);
  await must('GET /v1/children/{id}/access-log', AUD_CSC, `${cpath}/access-log`);
  await must('GET /v1/audit-events', AUD, `/v1/audit-events?resource_type=child&resource_id=${W.A.id}`);
  await must('GET /v1/audit-events', AUD_CSC, `/v1/audit-events?limit=20`);

  // a keyed read-and-write by health while invited: its referral-free way to B
  const HL = caller('health', 'safeguarding_lead', '-keyed');
  const hkey = `asw-${RUN}-health`;
  const hbody = { ...ebody, child_ids: [W.B.id], category: 'hospital_attendance', summary: 'Seen again' };
  await must('POST /v1/chronology-entries', HL, '/v1/chronology-entries', { body: hbody, headers: { 'Idempotency-Key': hkey } }, 201);
  await must('POST /v1/chronology-entries', HL, '/v1/chronology-entries', { body: hbody, headers: { 'Idempotency-Key': hkey }, label: 'replay' }, 201);

  // the request closed: health no longer sees the family (404, no read claimed)
  const clkey = `asw-${RUN}-closure`;
  await must('POST /v1/chronology-requests/{id}/closure', CSCL, `${rpath}/closure`, { headers: { 'Idempotency-Key': clkey } });
  await must('POST /v1/chronology-requests/{id}/closure', CSCL, `${rpath}/closure`, { headers: { 'Idempotency-Key': clkey }, label: 'replay' });
  // the keyed retry after the window: answered as the request would be now
  // (a replay only to a caller who still sees every child; else no read)
  await hit('POST /v1/chronology-entries', HL, '/v1/chronology-entries', { body: hbody, headers: { 'Idempotency-Key': hkey }, label: 'after-window' });
  // health's device syncs after the window: tombstones for what it was shown
  await must('GET /v1/changes', HEALTH, '/v1/changes?limit=200', { label: 'after-window' });
  await hit('GET /v1/chronology-requests/{id}/chronology', HEALTH, `${rpath}/chronology`, { label: 'after-window' });

  // B's referral closed: education's member keeps the panel's records, not the child
  await must('POST /v1/panel-referrals/{id}/closure', CHAIR, `${ref2}/closure`, { body: { reason: 'risk_reduced' } });
  await hit('GET /v1/panel-referrals/{id}', EDU_PM, ref2, { label: 'closed' });
  await hit('GET /v1/panels/{id}/case-list', EDU_PM, `${ppath}/case-list`, { label: 'closed' });
  await hit('GET /v1/panels/{id}/referrals', EDU_PM, `${ppath}/referrals?status=closed`, { label: 'closed' });
  await hit('GET /v1/children/{id}', EDU_PM, `/v1/children/${W.B.id}`, { label: 'closed' });

  // a duplicate identifier: the 409 names the child that holds it (audited, 039)
  await must('POST /v1/children', VOL, '/v1/children', { body: { first_name: 'Dup', last_name: 'Licate', date_of_birth: '2011-03-04', nhs_number: W.A.nhs_number }, label: 'duplicate' }, 409);
  await must('GET /v1/children/{id}', HEALTH, `/v1/children/${W.B.id}`, { label: 'window-closed' }, 404);

  // system and training: no child data, called so that the coverage is whole
  await must('GET /healthz', VOL, '/healthz');
  await must('GET /readyz', VOL, '/readyz');
  await must('GET /metrics', ADMIN, '/metrics');
  await must('GET /v1/me', VOL, '/v1/me');
  await must('GET /v1/agencies', VOL, '/v1/agencies');
  await must('POST /v1/token-revocations', ADMIN, '/v1/token-revocations', { body: { jti: randomUUID() } });
  const c = (await must('POST /v1/courses', TA, '/v1/courses', { body: { title: `Audit course ${RUN}`, format: 'webinar', organiser: 'Partnership', status: 'published' } }, 201)).body;
  tag = await etagOf('GET /v1/courses/{id}', TA, `/v1/courses/${c.id}`);
  await must('PATCH /v1/courses/{id}', TA, `/v1/courses/${c.id}`, { body: { description: 'for leads' }, headers: { 'If-Match': tag } });
  await must('GET /v1/courses', DELEGATE, '/v1/courses');
  const start = inDays(20);
  const s = (await must('POST /v1/courses/{id}/sessions', TA, `/v1/courses/${c.id}/sessions`, { body: { starts_at: iso(start), ends_at: iso(new Date(start.getTime() + 7200000)), mode: 'online', capacity: 10 } }, 201)).body;
  tag = await etagOf('GET /v1/training-sessions/{id}', TA, `/v1/training-sessions/${s.id}`);
  await must('PATCH /v1/training-sessions/{id}', TA, `/v1/training-sessions/${s.id}`, { body: { capacity: 12 }, headers: { 'If-Match': tag } });
  await must('GET /v1/courses/{id}/sessions', DELEGATE, `/v1/courses/${c.id}/sessions`);
  const manager = { line_manager_name: 'Mo Patel', line_manager_email: 'mo.patel@example.org' };
  const b = (await must('POST /v1/training-sessions/{id}/bookings', DELEGATE, `/v1/training-sessions/${s.id}/bookings`, { body: manager }, 201)).body;
  const b2 = (await must('POST /v1/training-sessions/{id}/bookings', LEADP, `/v1/training-sessions/${s.id}/bookings`, { body: manager }, 201)).body;
  await must('GET /v1/training-sessions/{id}/bookings', TA, `/v1/training-sessions/${s.id}/bookings`);
  await must('GET /v1/me/bookings', DELEGATE, '/v1/me/bookings');
  await must('GET /v1/me/bookings.ics', DELEGATE, '/v1/me/bookings.ics');
  await must('GET /v1/bookings', LEADP, '/v1/bookings');
  await must('GET /v1/bookings/{id}', DELEGATE, `/v1/bookings/${b.id}`);
  startedAgo(s.id);
  await must('PUT /v1/bookings/{id}/attendance', TA, `/v1/bookings/${b.id}/attendance`, { body: { status: 'attended' } });
  await must('PUT /v1/bookings/{id}/attendance', TA, `/v1/bookings/${b2.id}/attendance`, { body: { status: 'no_show' } });
  await must('POST /v1/bookings/{id}/evaluations', DELEGATE, `/v1/bookings/${b.id}/evaluations`, { body: { respondent: 'delegate', rating: 4 } }, 201);
  await must('GET /v1/bookings/{id}/evaluations', DELEGATE, `/v1/bookings/${b.id}/evaluations`);
  await must('GET /v1/me/evaluation-requests', DELEGATE, '/v1/me/evaluation-requests');
  const cert = await must('GET /v1/bookings/{id}/certificate', DELEGATE, `/v1/bookings/${b.id}/certificate`);
  assert.ok(cert.text.length > 0);
  const number = psql(`select number from safeguard.training_certificates where booking_id = '${b.id}'`);
  await must('GET /v1/certificates/{number}', TA, `/v1/certificates/${number}`);
  await must('GET /v1/training-charges', TA, '/v1/training-charges');
  await must('GET /v1/training-charges.csv', TA, '/v1/training-charges.csv');
  const charge = psql(`select id from safeguard.training_charges where booking_id = '${b2.id}'`);
  await must('POST /v1/training-charges/{id}/waiver', TA, `/v1/training-charges/${charge}/waiver`, { body: { reason: 'bereavement' } });
  const s2 = (await must('POST /v1/courses/{id}/sessions', TA, `/v1/courses/${c.id}/sessions`, { body: { starts_at: iso(inDays(30)), ends_at: iso(inDays(30, 12)), mode: 'online', capacity: 10 } }, 201)).body;
  const b3 = (await must('POST /v1/training-sessions/{id}/bookings', DELEGATE, `/v1/training-sessions/${s2.id}/bookings`, { body: manager }, 201)).body;
  await must('POST /v1/bookings/{id}/cancellation', DELEGATE, `/v1/bookings/${b3.id}/cancellation`, { body: {} });
  await must('POST /v1/training-sessions/{id}/cancellation', TA, `/v1/training-sessions/${s2.id}/cancellation`, { body: { reason: 'trainer ill' } });
  const el = (await must('POST /v1/courses', TA, '/v1/courses', { body: { title: `Audit e-learning ${RUN}`, format: 'e_learning', organiser: 'Partnership', status: 'published', duration_minutes: 20 } }, 201)).body;
  await must('POST /v1/courses/{id}/completions', EDU_P, `/v1/courses/${el.id}/completions`, { body: {} }, 201);
  await must('GET /v1/completions', TA, '/v1/completions');
  // the school calendar
  const day = `19${String(10 + Math.floor(Math.random() * 40))}-0${1 + Math.floor(Math.random() * 8)}-1${Math.floor(Math.random() * 9)}`;
  const cal = (await must('POST /v1/school-calendar', ADMIN, '/v1/school-calendar', { body: { kind: 'holiday', name: 'Audit day', starts_on: day, ends_on: day } }, 201)).body;
  await must('GET /v1/school-calendar', EDU_P, '/v1/school-calendar');
  await must('GET /v1/school-calendar/school-days', EDU_P, `/v1/school-calendar/school-days?from=${today(-30)}&to=${today(0)}`);
  tag = await etagOf('GET /v1/school-calendar/{id}', EDU_P, `/v1/school-calendar/${cal.id}`);
  await must('DELETE /v1/school-calendar/{id}', ADMIN, `/v1/school-calendar/${cal.id}`, { headers: { 'If-Match': tag } }, 204);
}

// Every single resource read with an ETag, read again with If-None-Match by
// the same caller: a 304 carries no child and must claim no read.
// And every GET route once with HEAD (the GET's handler runs, the answer
// has no body): it carries no child either.
async function conditionalReads() {
  const seen = new Set();
  const heads = new Set();
  const pages = new Set();
  for (const c of [...calls]) {
    if (c.method !== 'GET' || c.status !== 200) continue;
    if (c.etag && !seen.has(`${c.op} ${c.who.sub}`)) {
      seen.add(`${c.op} ${c.who.sub}`);
      await hit(c.op, c.who, c.path, { headers: { 'If-None-Match': c.etag }, label: 'not-modified' });
    }
    // a list read one item a page, two pages: the look-ahead row is not the page's
    if (!pages.has(c.op) && /"next_cursor"/.test(c.text) && carried(c, false, true).size) {
      pages.add(c.op);
      const base = c.path.replace(/([?&])limit=\d+&?/, '$1').replace(/[?&]$/, '');
      const one = `${base}${base.includes('?') ? '&' : '?'}limit=1`;
      const first = await hit(c.op, c.who, one, { label: 'limit-1' });
      if (first.status === 200 && first.body.next_cursor) {
        await hit(c.op, c.who, `${one}&cursor=${encodeURIComponent(first.body.next_cursor)}`, { label: 'limit-1 page 2' });
      }
    }
    if (!heads.has(c.op) && carried(c, false, true).size) {
      heads.add(c.op);
      await hit(c.op, c.who, c.path, { head: true, label: 'head' });
    }
  }
}

// psql with the statement on stdin: the sweep's ids are too many for a
// command line
function psqlIn(sql) {
  return execFileSync('psql', [process.env.DATABASE_URL_ADMIN, '-XAtq', '-v', 'ON_ERROR_STOP=1'], {
    input: sql, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'],
  }).trim();
}

// --- the checks ----------------------------------------------------------------
let checked = null; // { children: Set, rows: Map rid -> [row] }
let worldError = null;
before(async () => {
  try {
    await world();
    await conditionalReads();
  } catch (e) {
    worldError = e;
  }
  const ids = new Set();
  for (const c of calls) for (const m of c.text.match(UUID) ?? []) ids.add(m.toLowerCase());
  const arr = `'{${[...ids].join(',')}}'::uuid[]`;
  const children = new Set(ids.size ? psqlIn(`select id from safeguard.children where id = any(${arr})`).split('\n').filter(Boolean) : []);
  // the children an entry, a family or a referral the answer carries names
  const names = new Map();
  if (ids.size) {
    for (const line of psqlIn(`select entry_id, child_id from safeguard.chronology_entry_children where entry_id = any(${arr})
        union all select family_id, id from safeguard.children where family_id = any(${arr})
        union all select id, child_id from safeguard.panel_referrals where id = any(${arr})`).split('\n').filter(Boolean)) {
      const [rec, child] = line.split('|');
      if (!names.has(rec)) names.set(rec, new Set());
      names.get(rec).add(child);
    }
  }
  const rows = new Map();
  const out = psqlIn(`select coalesce(json_agg(json_build_object('rid', request_id, 'sub', actor_sub, 'agency', actor_agency, 'action', action,
    'type', resource_type, 'id', resource_id, 'outcome', outcome, 'details', details)), '[]') from safeguard.audit_events where request_id like 'asw-${RUN}-%'`);
  for (const r of JSON.parse(out)) {
    if (!rows.has(r.rid)) rows.set(r.rid, []);
    rows.get(r.rid).push(r);
  }
  checked = { children, names, rows };
}, { timeout: 120000 });

const show = (c) => `${c.method} ${c.path}${c.label ? ` [${c.label}]` : ''} as ${c.who.agency}/${c.who.role} -> ${c.status}`;
// the children an answer carries (their ids, anywhere in the body); with
// named, also the children of the entries, families and referrals it
// carries, which an audit row may name (the reverse check)
const carried = (c, named = false, raw = false) => {
  if (raw) return new Set(c.text.match(UUID) ?? []); // before the checks: any id at all
  const out = new Set();
  // an answer under a child's own path is about that child (its network,
  // chronology, screenings, referrals, access log)
  const own = /^\/v1\/children\/([0-9a-f-]{36})(\/|\?|$)/.exec(c.path)?.[1];
  if (own && c.status < 300 && checked.children.has(own)) out.add(own);
  for (const x of (c.text.match(UUID) ?? []).map((u) => u.toLowerCase())) {
    if (checked.children.has(x)) out.add(x);
    if (named) for (const k of checked.names.get(x) ?? []) out.add(k);
  }
  return out;
};
const childRows = (c) => (checked.rows.get(c.rid) ?? []).filter((r) => r.type === 'child' && r.outcome === 'success');

// What is wrong with one answer, as lines.
function findings(c) {
  const out = [];
  if (c.rid !== c.sent) out.push(`${show(c)}: X-Request-Id ${c.rid} is not the one sent (${c.sent})`);
  const rows = childRows(c);
  // a child an answer carries, whatever its status (a 409 possible-duplicate
  // names one), has its row
  if ((c.status < 300 || carried(c).size) && c.method !== 'HEAD') {
    for (const id of carried(c)) {
      const mine = [...rows.filter((r) => r.id === id), ...(checked.rows.get(c.rid) ?? []).filter((r) => r.outcome === 'success' && DOCUMENTED[c.op]?.(r, id))];
      if (!mine.some((r) => r.sub === c.who.sub && r.agency === c.who.agency)) {
        out.push(`${show(c)}: carries child ${id}, no audit row (the request's child rows: ${JSON.stringify(rows.map((r) => `${r.action} ${r.id}`))})`);
      }
    }
    if (c.label === 'replay' && c.replayed !== 'true') out.push(`${show(c)}: the keyed retry was not replayed`);
    if (c.method === 'GET') {
      // the answer's children, and the child its path names (a child's network, screenings...)
      const body = new Set([...carried(c, true), ...(c.path.match(UUID) ?? [])]);
      for (const r of rows) {
        if (!body.has(r.id)) out.push(`${show(c)}: audit row ${r.action} names child ${r.id}, which the answer did not carry`);
      }
    }
  } else {
    // no child data in the answer: no successful read of a child claimed
    for (const r of rows) out.push(`${show(c)}: answer carries no child, yet audit row ${r.action} ${r.id} (${r.outcome})`);
  }
  return out;
}

// routes whose audit row for a child is documented otherwise than one row
// per child: (row, child id) -> whether the row records that child
const DOCUMENTED = {
  // a match outside the caller's network is answered with its id only
  // (enough to declare involvement): the search's one row lists the matches
  // in details (DESIGN.md 4: "the search is audited"; 047)
  'POST /v1/children/search': (r, id) => r.action === 'child.search' && (r.details?.matches ?? []).includes(id),
  // the trail's own rows name children by id: the read of the trail is
  // audited as one audit.read row (a child's own view of it, the access
  // log, as child.access_log.read on the child)
  'GET /v1/audit-events': (r) => r.action === 'audit.read',
};

// operations that no caller can make answer 2xx (none known) -> why
const NO_2XX = {};
// Known defects: [a regex over the findings' text, what is wrong and where
// the fix belongs].  A finding that matches is left out of its operation's
// case and shown by a todo case of its own below, which passes once fixed.
// By design, not defects: a HEAD and a 304 are audited as the GET they
// stand for (the README says so): a HEAD's headers and a 304 tell the caller
// about the current record, and a 304 tells it the copy it shows is current.
// Their rows name children the answer itself did not carry; the cases below
// pin that they are written, so that a change to it is a decision.
const KNOWN = [
  [/\[head\].* -> 200: answer carries no child, yet audit row/, 'a HEAD is audited as the GET it stands for'],
  [/\[not-modified\].* -> 304: answer carries no child, yet audit row/, 'a 304 is audited as the read it confirms'],
];
const known = (line) => KNOWN.find(([re]) => re.test(line));

describe('every answer carrying a child wrote that child\'s audit row', () => {
  it('the world was built (every setup call answered as expected)', () => {
    if (worldError) throw worldError;
  });
  for (const op of operations()) {
    it(`${op}`, () => {
      const mine = calls.filter((c) => c.op === op);
      if (NO_2XX[op]) return;
      assert.ok(mine.some((c) => c.status >= 200 && c.status < 300), `${op}: the sweep never had a 2xx answer from it (calls: ${mine.map(show).join('; ') || 'none'})`);
      const bad = mine.flatMap(findings).filter((f) => !known(f));
      assert.deepEqual(bad, []);
    });
  }
  for (const [re, why] of KNOWN) {
    it(`by design: ${why}`, () => {
      assert.ok(calls.flatMap(findings).some((f) => re.test(f)), `no answer wrote such rows: ${why}`);
    });
  }
  it('lists the operations whose answers carried a child (AUDIT_SWEEP_REPORT=1)', () => {
    if (!process.env.AUDIT_SWEEP_REPORT) return;
    for (const op of operations()) {
      const mine = calls.filter((c) => c.op === op && c.status < 300);
      const n = mine.filter((c) => carried(c).size > 0).length;
      console.log(`${n ? 'CHILD ' : 'none  '} ${op} (${n}/${mine.length})`);
      for (const c of calls.filter((x) => x.op === op && x.label && x.label !== 'replay')) {
        console.log(`    ${show(c)} rows ${(checked.rows.get(c.rid) ?? []).map((r) => `${r.action}/${r.outcome}`).join(' ')}`);
      }
    }
  });
  it('every call the sweep made is an operation of the contract', () => {
    const known = new Set(operations());
    assert.deepEqual([...new Set(calls.map((c) => c.op))].filter((op) => !known.has(op)), []);
  });
  it('the sweep saw children through every way of seeing one (network, request, referral, CME case)', () => {
    const via = (who, id) => calls.some((c) => c.who === who && c.status === 200 && carried(c).has(id));
    assert.ok(via(HEALTH, W.B.id), 'health, invited to the request, read B');
    assert.ok(via(EDU_PM, W.A.id), 'education\'s panel member read A through the open referral');
    assert.ok(via(OFFICER, W.D.id), 'the CME officer read D through the open case');
    assert.ok(via(POL, W.A.id), 'police read A through its declared involvement');
  });
});
