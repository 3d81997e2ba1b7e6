// panels.mjs - what the panels suites share: a cast of callers across
// agencies and roles, and steps that build a panel, a child, a referral, a
// held meeting and an action through the API (each asserting its status).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './client.mjs';
import { tokenFor } from './people.mjs';
import { readFileSync } from 'node:fs';

// (a social_worker token is CSC's only: other agencies' are refused at 401)
export const ROLES = ['practitioner', 'safeguarding_lead', 'social_worker', 'panel_chair', 'panel_member', 'training_admin', 'auditor', 'admin'];

// One token per agency and role, minted once.
const minted = new Map();
export function who(agency, role) {
  const k = `${agency}:${role}`;
  if (!minted.has(k)) minted.set(k, tokenFor(agency, role, `${agency}-${role}-${randomUUID().slice(0, 8)}`));
  return minted.get(k);
}
export const admin = () => who('partnership', 'admin');

export const today = (offsetDays = 0) => new Date(Date.now() + offsetDays * 86400000).toISOString().slice(0, 10);
export const sql = (s) => `'${String(s).replace(/'/g, "''")}'`;

export function problem(res, status, type) {
  assert.equal(res.status, status, `expected ${status} ${type}, got ${res.status}: ${typeof res.body === 'string' ? res.body : JSON.stringify(res.body)}`);
  assert.equal(res.body.type, `/problems/${type}`);
  assert.equal(res.body.status, status);
  return res;
}
export const fields = (res) => (res.body.errors ?? []).map((e) => `${e.field}:${e.code}`).sort();

export async function call(method, path, token, body, headers = {}) {
  return request(method, path, { token, body, headers });
}
export async function ok(method, path, token, body, status = 200, headers = {}) {
  const res = await call(method, path, token, body, headers);
  assert.equal(res.status, status, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

// A panel chaired by chair with the members given (admin creates it).
export async function makePanel({ type = 'joint_police_yj', chair = 'police', members = ['youth_justice', 'csc'], area = null, name } = {}) {
  const res = await ok('POST', '/v1/panels', admin(), {
    type, name: name ?? `${type} panel ${randomUUID().slice(0, 6)}`, chair_agency: chair, member_agencies: members, ...(area ? { area } : {}),
  }, 201);
  return res.body;
}

// A child created by agency (which puts it in the agency's network).
export async function makeChild(agency = 'csc', fields = {}) {
  const res = await ok('POST', '/v1/children', who(agency, agency === 'csc' ? 'social_worker' : 'safeguarding_lead'), {
    first_name: 'Panel', last_name: `Child${randomUUID().slice(0, 4)}`, date_of_birth: '2010-05-06', ...fields,
  }, 201);
  return res.body;
}

export const JOINT = { offending_risk: true, safeguarding_concern: true };

export async function refer(panel, child, token = who('csc', 'social_worker'), extra = {}) {
  const res = await ok('POST', `/v1/panels/${panel.id}/referrals`, token, {
    child_id: child.id, reason: 'missing and found with older peers', risk_level: 'high', criteria: JOINT, ...extra,
  }, 201);
  return res.body;
}

export async function accept(referral, chair = who('police', 'panel_chair')) {
  return (await ok('POST', `/v1/panel-referrals/${referral.id}/decision`, chair, { outcome: 'accepted' })).body;
}

// A meeting of panel with referrals on its agenda, held when held is true.
export async function makeMeeting(panel, referrals = [], { held = true, chair = who(panel.chair_agency, 'panel_chair') } = {}) {
  let m = (await ok('POST', `/v1/panels/${panel.id}/meetings`, chair, {
    kind: 'formal', scheduled_at: new Date(Date.now() - 3600000).toISOString().replace(/\.\d+Z$/, 'Z'), agenda: referrals.map((r) => r.id),
  }, 201)).body;
  if (held) m = (await ok('POST', `/v1/panel-meetings/${m.id}/attendance`, chair, { agencies: [panel.chair_agency] })).body;
  return m;
}

export async function makeAction(panel, fields = {}, chair = who(panel.chair_agency, 'panel_chair')) {
  const res = await ok('POST', '/v1/panel-actions', chair, {
    panel_id: panel.id, description: 'Arrange a return interview', owner_agency: 'youth_justice', due_date: today(7), ...fields,
  }, 201);
  return res;
}

// Audit rows of an action on a resource, counted in the database.
export const audited = (action, resourceId) =>
  Number(psql(`select count(*) from safeguard.audit_events where action = ${sql(action)} and resource_id = ${sql(resourceId)}`));

// Runs statements as the API's database role with a caller's identity, in
// a transaction that is rolled back: {out} (the last statement's rows) or
// {err} (the error's first line).
export function asApi({ agency, roles, sub = 'rls-attacker' }, statements) {
  try {
    const out = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', ${sql(sub)}, true), set_config('app.agency', ${sql(agency)}, true),
             set_config('app.roles', ${sql(roles)}, true), set_config('app.request_id', 'rls-test', true);
      ${statements}; rollback;`);
    return { out: out.split('\n').slice(1).join('\n') };
  } catch (e) {
    return { err: e.message.split('\n')[0] };
  }
}

// 031's panel_referral_doc, as an expression on a referral row r: the
// document as it was before 066 built it another way, which every referral
// answer must still equal byte for byte.  Read from the migration itself
// (applied files never change), so it is 031's word for word.
export const DOC_031 = (() => {
  const text = readFileSync(new URL('../../../db/migrations/031_panel_rendering.sql', import.meta.url), 'utf8');
  const m = text.match(/create function safeguard\.panel_referral_doc\(r safeguard\.panel_referrals\)[^$]*\$\$([\s\S]*?)\$\$;/);
  if (!m) throw new Error('031_panel_rendering.sql: no panel_referral_doc');
  return m[1].trim();
})();
