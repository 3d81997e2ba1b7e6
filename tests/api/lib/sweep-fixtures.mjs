// sweep-fixtures.mjs - what the contract-driven sweeps share (sweep.test.mjs
// for bodies, sweep-params.test.mjs for paths, query strings and headers):
// callers by role, the records they aim at, made through the API, and the
// checks that no worker died and no sanitizer spoke while a sweep ran.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from './client.mjs';
import { tokenFor } from './people.mjs';
import { makePanel, refer, today } from './panels.mjs';
import { person, course, session, book, manager } from './training.mjs';

export const instant = (days) => new Date(Date.now() + days * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');
// A fresh token for every use: the sweep spreads its requests across callers
// (the per-token rate limit) and a token names its caller in the audit trail.
export const as = (agency, role) => tokenFor(agency, role, `sweep-${agency}-${role}-${randomUUID().slice(0, 6)}`);

export async function ok(method, path, token, body, status) {
  const res = await request(method, path, { token, body });
  assert.ok(status ? res.status === status : res.status < 300, `${method} ${path}: ${res.status} ${res.text.slice(0, 400)}`);
  return res.body;
}
export const post = (path, token, body, status) => ok('POST', path, token, body, status);

// --- the records the sweep aims at -----------------------------------------
export const sw = () => as('csc', 'social_worker');
export const cscLead = () => as('csc', 'safeguarding_lead');
export const policeP = () => as('police', 'practitioner');
export const chair = () => as('police', 'panel_chair');
export const admin = () => as('partnership', 'admin');
export const TA = () => as('csc', 'training_admin');
export const officer = () => as('education', 'safeguarding_lead');

export async function child(token = sw(), fields = {}) {
  return post('/v1/children', token, { first_name: 'Sweep', last_name: `Child${randomUUID().slice(0, 4)}`, date_of_birth: '2011-03-04', ...fields }, 201);
}
export async function family() {
  return post('/v1/families', sw(), { name: `Sweep family ${randomUUID().slice(0, 6)}` }, 201);
}
export async function policeEntry(token) {
  const c = await child(token);
  const e = await post('/v1/chronology-entries', token, {
    child_ids: [c.id], event_date: today(-5), date_precision: 'day', category: 'home_visit', summary: 'visited',
    impact: 'neutral', significance: 'low', action_taken: 'recorded',
  }, 201);
  return { c, e };
}
// A risk meeting chaired by police with CSC and education as members.
export const riskPanel = () => makePanel({ type: 'risk_meeting', chair: 'police', members: ['police', 'csc', 'education'] });
export async function referral(panel) {
  return refer(panel, await child(), as('csc', 'social_worker'), { criteria: {} });
}
export async function unheldMeeting(panel, agenda = []) {
  return post(`/v1/panels/${panel.id}/meetings`, chair(), { kind: 'formal', scheduled_at: instant(2), agenda }, 201);
}
export async function action(panel, extra = {}) {
  return post('/v1/panel-actions', chair(), { panel_id: panel.id, description: 'Arrange a return interview', owner_agency: 'csc', due_date: today(7), ...extra }, 201);
}
export const SECTIONS = [{ id: 'missing', title: 'Going missing', indicators: [
  { id: 'missing_24h', text: 'Missing for more than 24 hours', weight: 3, counts: ['yes'] },
  { id: 'new_phone', text: 'Unexplained new phone', weight: 1, counts: ['yes'], required: false }] }];
export const THRESHOLDS = [{ min: 0, max: 1, level: 'low', next_step: 'no_further_action' }, { min: 2, max: null, level: 'high', next_step: 'panel_referral' }];
export async function tool() {
  return post('/v1/screening-tools', admin(), { name: `Sweep tool ${randomUUID().slice(0, 8)}` }, 201);
}
let published; // one published tool version, for the screenings
export async function publishedTool() {
  if (!published) {
    published = (async () => {
      const t = await tool();
      const v = await post(`/v1/screening-tools/${t.id}/versions`, admin(), { sections: SECTIONS, thresholds: THRESHOLDS }, 201);
      await post(`/v1/screening-tools/${t.id}/versions/${v.version}/publication`, admin(), undefined, 200);
      return { tool: t, version: v.version };
    })();
  }
  return published;
}
export async function screening(token) {
  const { tool: t, version } = await publishedTool();
  const c = await child(token);
  return { c, s: await post(`/v1/children/${c.id}/screenings`, token, { tool_id: t.id, tool_version: version, answers: { missing_24h: 'yes' } }, 201) };
}
export async function cmeCase() {
  const c = await child(as('education', 'practitioner'));
  return post('/v1/cme-cases', as('education', 'practitioner'), { child_id: c.id, reason: 'not_attending', since: today(-3), what_is_known: 'Not seen in school.' }, 201);
}
export async function booking(opts = {}) {
  const c = await course(TA(), opts.course ?? {});
  const s = await session(TA(), c.id, { capacity: 20, ...(opts.session ?? {}) });
  const who = person('police', 'practitioner');
  const res = await book(who, s.id, { body: manager });
  assert.equal(res.status, 201, res.text);
  return { s, b: res.body, who };
}
export const attend = (b, status = 'attended') => ok('PUT', `/v1/bookings/${b.id}/attendance`, TA(), { status }, 200);

// The sanitizers' reports (a build with SANITIZE=... writes them to
// SG_VAR/log/sanitizer/report.*, a folder the service user may write to,
// since under root the workers run as that user) and the pool's log, where a
// worker's death (SIGABRT from abort_on_error, or any other crash) and the
// sanitizer's own complaint appear.  watch() is called when a suite's module
// loads; its two checks run at the suite's end.
const LOG = () => join(process.env.SG_VAR, 'log');
const REPORTS = () => join(LOG(), 'sanitizer');
const sanitizerReports = () => {
  try {
    return readdirSync(REPORTS()).filter((f) => f.startsWith('report.'));
  } catch {
    return [];
  }
};
const apiLogSize = () => {
  try {
    return statSync(join(LOG(), 'api.log')).size;
  } catch {
    return 0;
  }
};
export function watch() {
  const reportsBefore = new Set(sanitizerReports());
  const apiLogFrom = apiLogSize();
  return {
    freshReports() {
      const fresh = sanitizerReports().filter((f) => !reportsBefore.has(f));
      return { fresh, text: fresh.map((f) => readFileSync(join(REPORTS(), f), 'utf8').slice(0, 2000)).join('\n') };
    },
    badLogLines() {
      const log = readFileSync(join(LOG(), 'api.log')).subarray(apiLogFrom).toString('utf8');
      return log.split('\n').filter((l) => /"msg":"worker died"|AddressSanitizer|LeakSanitizer|runtime error:|sanitizer\/report\.\d+/.test(l));
    },
  };
}

// The two cases every sweep ends with: no sanitizer report and no worker
// death (nor a sanitizer's line) in the pool's log while it ran.
export function sanitizerCases(watched) {
  describe('the sweep under the sanitizers', () => {
    it('left no sanitizer report', async () => {
      const { fresh, text } = watched.freshReports();
      assert.deepEqual(fresh, [], text);
    });
    it('no worker died and no sanitizer spoke in the pool\'s log while the sweep ran', async () => {
      assert.deepEqual(watched.badLogLines(), []);
    });
  });
}
