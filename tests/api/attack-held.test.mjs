// attack-held.test.mjs - a hostile partner agency and a careless deployment
// against the timeline a worker holds (029): a worker keeps the last few
// timelines it sent under the request's id and the digest the database
// stores with them, names that digest on the next read, and the database
// sends entries only when they differ; the patterns are kept per held
// timeline with their inputs.  The cache must decide nothing: never another
// request's timeline, never one older than a committed change, never one
// to a caller who may not read it, never a read without its audit rows,
// never patterns of old inputs, never a 500 (more timelines than slots,
// timelines over the size cap, workers recycled), and the database's
// calls must not be turned against it by the API role.  Each case asserts
// the answers and the database after them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import { who, problem, call, ok, makePanel, makeChild, refer, today, sql, asApi, ROLES } from './lib/panels.mjs';

const sw = () => who('csc', 'social_worker');
const policeLead = () => who('police', 'safeguarding_lead');
const yjMember = () => who('youth_justice', 'panel_member');
const instant = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const count = (q) => Number(psql(q));
const AGENCIES = ['csc', 'police', 'health', 'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership'];
const entryBody = (childIds, summary, extra = {}) => ({
  child_ids: childIds, event_date: today(-10), date_precision: 'day', category: 'home_visit',
  summary, impact: 'neutral', significance: 'medium', action_taken: 'recorded', ...extra,
});
const requestBody = (extra) => ({
  agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: instant(Date.now() + 3600e3), ...extra,
});
// the audit rows one API request wrote: "action|type|id", sorted
const auditOf = (rid) => psql(`select action || '|' || resource_type || '|' || resource_id from safeguard.audit_events
  where request_id = ${sql(rid)} order by 1`).split('\n').filter(Boolean);
// The entries as the database computes them now, without any store (the
// truth every answer must equal): their ids, in order.
const truth = (req) => JSON.parse(psql(`begin;
  select set_config('app.sub', 'truth', true), set_config('app.agency', 'csc', true), set_config('app.roles', 'social_worker', true);
  select safeguard.consolidated_json(${sql(req)}); commit;`).split('\n').pop());
// the ids of a CSV answer's rows, in order (the id is the last cell)
const csvIds = (res) => res.text.trim().split('\r\n').slice(1).map((l) => l.match(/([0-9a-f-]{36})"?$/)[1]);
// what an answer shows: the entries' "id:summary:status", in order
const shown = (res) => (res.headers.get('content-type').startsWith('text/csv')
  ? csvIds(res)
  : res.body.entries.map((e) => `${e.id}:${e.summary}:${e.status}`));
const truthShown = (req, csv = false) => truth(req).map((e) => (csv ? e.id : `${e.id}:${e.summary}:${e.status}`));
// Every stored timeline's digest is of what it stores (a row built with
// one build's entries under another's digest would be served as held).
const storeConsistent = () => count(`select count(*) from safeguard.consolidated_cache where digest is not null
  and digest <> encode(sha256(convert_to(coalesce(entries, '') || E'\\x1e' || coalesce(items, ''), 'UTF8')), 'hex')`);
const digestOf = (req) => psql(`select coalesce(digest, '') from safeguard.consolidated_cache where request_id = ${sql(req)}`);
// more parallel reads than workers, so that every worker answers (and holds)
const READS = 16;
const readAll = (path, token, n = READS) => Promise.all(Array.from({ length: n }, () => call('GET', path, token)));
const amend = async (entryId, token, fieldsToSet) => {
  const cur = await ok('GET', `/v1/chronology-entries/${entryId}`, token);
  return ok('PATCH', `/v1/chronology-entries/${entryId}`, token, fieldsToSet, 200, { 'If-Match': cur.headers.get('etag') });
};

// A police child with an entry police shares with CSC's request about it;
// a risk meeting (csc, youth justice, voluntary) with CSC's referral naming
// the request.  paths: the three routes that answer the timeline.
async function scene({ summary = 'first account', child = null } = {}) {
  const panel = await makePanel({ type: 'risk_meeting', members: ['csc', 'youth_justice', 'voluntary'] });
  child ??= await makeChild('police');
  const entry = (await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([child.id], summary), 201)).body;
  const req = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: child.id }), 201)).body;
  await ok('POST', `/v1/chronology-requests/${req.id}/contributions`, policeLead(), { entry_ids: [entry.id] });
  const referral = await refer(panel, child, sw(), { chronology_request_id: req.id });
  return {
    panel, child, entry, req, referral,
    json: `/v1/chronology-requests/${req.id}/chronology`,
    csv: `/v1/chronology-requests/${req.id}/chronology.csv`,
    viaPanel: `/v1/panel-referrals/${referral.id}/chronology`,
  };
}
// each route with a reader of it
const routes = (S) => [[S.json, sw()], [S.csv, sw()], [S.viaPanel, yjMember()]];

describe('the held timeline: never another request\'s, never stale', () => {
  it('more requests than a worker holds, read at once on all three routes: every answer is its own request\'s', async () => {
    const scenes = [];
    for (let i = 0; i < 7; i++) scenes.push(await scene({ summary: `request ${i} only` }));
    for (let round = 0; round < 3; round++) {
      const jobs = [];
      for (const S of scenes) for (const [path, token] of routes(S)) for (let k = 0; k < 3; k++) jobs.push([S, path, call('GET', path, token)]);
      for (const [S, path, pending] of jobs) {
        const res = await pending;
        assert.equal(res.status, 200, `${path}: ${res.text.slice(0, 200)}`);
        assert.deepEqual(shown(res), truthShown(S.req.id, path.endsWith('.csv')), path);
        if (!path.endsWith('.csv')) {
          assert.equal(res.body.request.id, S.req.id);
          assert.ok(!res.text.includes(`request ${(scenes.indexOf(S) + 1) % 7} only`));
        }
      }
      // one request changes between rounds: the others' answers stay theirs
      await amend(scenes[round].entry.id, policeLead(), { summary: `request ${round} amended` });
    }
    assert.equal(storeConsistent(), 0);
  });

  it('a request\'s id written in capitals: the same timeline, its read audited under the request\'s id as any other read', async () => {
    const S = await scene();
    const upper = (p) => p.replace(S.req.id, S.req.id.toUpperCase());
    for (const path of [S.json, S.csv]) {
      const [plain, shouted] = [await ok('GET', path, sw()), await ok('GET', upper(path), sw())];
      assert.deepEqual(shown(shouted), shown(plain));
      // an audit search by the request's id finds every read of it
      assert.deepEqual(auditOf(shouted.headers.get('x-request-id')), [
        `child.chronology_request.consolidated.read|child|${S.child.id}`,
        `chronology_request.consolidated.read|chronology_request|${S.req.id}`,
      ], upper(path));
      if (path === S.csv) assert.match(shouted.headers.get('content-disposition'), new RegExp(`chronology-${S.req.id}\\.csv`));
    }
    // held under one key: a change is seen through either spelling, by every worker
    await amend(S.entry.id, policeLead(), { summary: 'amended after the capitals' });
    for (const path of [S.json, upper(S.json)]) {
      for (const r of await readAll(path, sw())) assert.deepEqual(r.body.entries.map((e) => e.summary), ['amended after the capitals']);
    }
    assert.equal(count(`select count(*) from safeguard.audit_events where resource_id = ${sql(S.req.id.toUpperCase())}`), 0);
  });

  it('two requests with the same timeline share a digest, yet a change to one never shows in the other', async () => {
    const A = await scene({ summary: 'shared by both' });
    const reqB = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: A.child.id }), 201)).body;
    await ok('POST', `/v1/chronology-requests/${reqB.id}/contributions`, policeLead(), { entry_ids: [A.entry.id] });
    const pathB = `/v1/chronology-requests/${reqB.id}/chronology`;
    await Promise.all([readAll(A.json, sw()), readAll(pathB, sw())]);
    assert.equal(digestOf(A.req.id), digestOf(reqB.id), 'one content, one digest');
    // B alone gains an entry
    const onlyB = (await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([A.child.id], 'only in B'), 201)).body;
    await ok('POST', `/v1/chronology-requests/${reqB.id}/contributions`, policeLead(), { entry_ids: [A.entry.id, onlyB.id] });
    const [as, bs] = await Promise.all([readAll(A.json, sw()), readAll(pathB, sw())]);
    for (const r of as) assert.deepEqual(r.body.entries.map((e) => e.id), [A.entry.id]);
    for (const r of bs) assert.deepEqual(r.body.entries.map((e) => e.id).sort(), [A.entry.id, onlyB.id].sort());
    assert.notEqual(digestOf(A.req.id), digestOf(reqB.id));
    // the API role naming A's digest for B gets B's entries, not "you hold it"
    const csc = { agency: 'csc', roles: 'social_worker' };
    const r = asApi(csc, `select (entries is null) || '|' || digest from safeguard.consolidated_read(${sql(reqB.id)}, 'x', 'chronology_request', 'x', null, 'x', ${sql(digestOf(A.req.id))})`);
    assert.equal(r.out, `false|${digestOf(reqB.id)}`);
  });

  it('each kind of change, committed, is what the next reads show on every route, whichever worker answers', async () => {
    const S = await scene();
    const more = (await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([S.child.id], 'second entry'), 201)).body;
    const changes = [
      ['amended', () => amend(S.entry.id, policeLead(), { summary: 'amended account' })],
      ['contribution grows', () => ok('POST', `/v1/chronology-requests/${S.req.id}/contributions`, policeLead(), { entry_ids: [S.entry.id, more.id] })],
      ['withdrawn', () => ok('POST', `/v1/chronology-entries/${more.id}/withdrawal`, policeLead(), { reason: 'recorded in error' })],
      ['amended again', () => amend(S.entry.id, policeLead(), { summary: 'amended twice' })],
      ['contribution shrinks', () => ok('POST', `/v1/chronology-requests/${S.req.id}/contributions`, policeLead(), { entry_ids: [S.entry.id] })],
    ];
    for (const [what, change] of changes) {
      for (const [path, token] of routes(S)) for (const r of await readAll(path, token)) assert.equal(r.status, 200);
      await change();
      for (const [path, token] of routes(S)) {
        const want = truthShown(S.req.id, path.endsWith('.csv'));
        for (const r of await readAll(path, token)) assert.deepEqual(shown(r), want, `${what}: ${path}`);
      }
    }
    assert.ok(truthShown(S.req.id).some((s) => s.endsWith(':amended twice:active')));
    assert.equal(storeConsistent(), 0);
  });

  it('writers and readers at once: no read started after a change committed shows what was before it', async () => {
    const S = await scene({ summary: 'v0' });
    let committed = 0;
    let stop = false;
    const bad = [];
    let reads = 0;
    const readers = [...routes(S), ...routes(S)].map(async ([path, token], n) => {
      const reader = n < 3 ? token : (path === S.viaPanel ? who('voluntary', 'panel_member') : tokenFor('csc', 'social_worker', `held-race-${n}`));
      while (!stop) {
        const floor = committed;
        const res = await call('GET', path, reader);
        reads++;
        if (res.status !== 200) {
          bad.push(`${path}: ${res.status}`);
          continue;
        }
        if (path.endsWith('.csv')) {
          const m = res.text.match(/"v(\d+)"/);
          if (!m || Number(m[1]) < floor) bad.push(`${path}: v${m?.[1]} after v${floor} committed`);
        } else {
          const v = Number(res.body.entries[0].summary.slice(1));
          if (v < floor) bad.push(`${path}: v${v} after v${floor} committed`);
          const rows = auditOf(res.headers.get('x-request-id'));
          if (rows.length !== 2) bad.push(`${path}: ${rows.length} audit rows`);
        }
      }
    });
    try {
      for (let v = 1; v <= 25; v++) {
        await amend(S.entry.id, policeLead(), { summary: `v${v}` });
        committed = v;
      }
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    assert.ok(reads > 50, `${reads} reads`);
    assert.deepEqual(bad, []);
    assert.equal(storeConsistent(), 0);
  });
});

describe('the held timeline: only to its readers, always audited', () => {
  it('every role of every agency on the three routes, with the timeline held by every worker: readers 200, others 403/404 auditing nothing', async () => {
    const S = await scene();
    for (const [path, token] of routes(S)) await readAll(path, token);
    const got = { json: [], csv: [], panel: [] };
    for (const agency of AGENCIES) {
      for (const role of ROLES) {
        if (role === 'social_worker' && agency !== 'csc') continue; // refused at 401: CSC's role only
        const t = tokenFor(agency, role, `held-matrix-${agency}-${role}-${randomUUID().slice(0, 6)}`);
        for (const [k, path] of [['json', S.json], ['csv', S.csv], ['panel', S.viaPanel]]) {
          const res = await call('GET', path, t);
          if (res.status === 200) {
            got[k].push(`${agency}:${role}`);
            assert.deepEqual(shown(res), truthShown(S.req.id, k === 'csv'));
            assert.equal(auditOf(res.headers.get('x-request-id')).length, 2, `${agency}:${role} ${k}`);
          } else {
            assert.ok([403, 404].includes(res.status), `${agency}:${role} ${k}: ${res.status}`);
            problem(res, res.status, res.status === 403 ? 'forbidden' : 'not-found');
            assert.ok(!res.text.includes(S.entry.id) && !res.text.includes('first account'));
            assert.deepEqual(auditOf(res.headers.get('x-request-id')), [], `${agency}:${role} ${k}: a refused read audits nothing`);
          }
        }
      }
    }
    // the requester and the invited agency, in each role that reads cases;
    // through the referral, the panel's readers of its chair and member agencies
    const caseRoles = ['practitioner', 'safeguarding_lead', 'social_worker', 'panel_chair', 'panel_member'];
    const want = ['csc', 'police'].flatMap((a) => caseRoles.filter((r) => r !== 'social_worker' || a === 'csc').map((r) => `${a}:${r}`));
    const readersOfPanel = ['police', 'csc', 'youth_justice', 'voluntary'].flatMap((a) => ['safeguarding_lead', 'panel_chair', 'panel_member'].map((r) => `${a}:${r}`));
    assert.deepEqual(got.json.sort(), want.sort(), 'json');
    assert.deepEqual(got.csv.sort(), want.sort(), 'csv');
    assert.deepEqual(got.panel.sort(), readersOfPanel.sort(), 'panel');
  });

  it('held by every worker, then the window passes, the request closes, the referral closes or is declined, the invitation goes: 404 at once, nothing audited', async () => {
    for (const ending of ['window', 'request', 'referral closed', 'referral declined', 'invitation']) {
      const S = await scene();
      for (const path of [S.json, S.csv]) for (const r of await readAll(path, policeLead())) assert.equal(r.status, 200);
      for (const r of await readAll(S.viaPanel, yjMember())) assert.equal(r.status, 200);
      if (ending === 'window') psql(`update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = ${sql(S.req.id)}`);
      if (ending === 'request') await ok('POST', `/v1/chronology-requests/${S.req.id}/closure`, sw());
      if (ending === 'referral closed') {
        await ok('POST', `/v1/panel-referrals/${S.referral.id}/decision`, who('police', 'panel_chair'), { outcome: 'accepted' });
        await ok('POST', `/v1/panel-referrals/${S.referral.id}/closure`, who('police', 'panel_chair'), { reason: 'risk_reduced' });
      }
      if (ending === 'referral declined') {
        await ok('POST', `/v1/panel-referrals/${S.referral.id}/decision`, who('police', 'panel_chair'), { outcome: 'declined', reason: 'not for this panel' });
      }
      if (ending === 'invitation') psql(`delete from safeguard.chronology_request_agencies where request_id = ${sql(S.req.id)} and agency = 'police'`);
      const audited = count(`select count(*) from safeguard.audit_events where resource_id = ${sql(S.child.id)}`);
      const invitedEnds = !ending.startsWith('referral');
      const panelEnds = ending !== 'invitation';
      if (invitedEnds) for (const path of [S.json, S.csv]) for (const r of await readAll(path, policeLead())) problem(r, 404, 'not-found');
      if (panelEnds) for (const r of await readAll(S.viaPanel, yjMember())) problem(r, 404, 'not-found');
      assert.equal(count(`select count(*) from safeguard.audit_events where resource_id = ${sql(S.child.id)}`), audited, `${ending}: a refused read audits nothing`);
      // nor does the database answer them, whatever digest they name
      const d = digestOf(S.req.id);
      // (a practitioner: police chairs the panel, so its panel readers read the timeline through it)
      for (const [agency, roles, ends] of [['police', 'practitioner', invitedEnds], ['youth_justice', 'panel_member', panelEnds]]) {
        if (!ends) continue;
        for (const have of [d, null]) {
          const r = asApi({ agency, roles }, `select count(*) from safeguard.consolidated_read(${sql(S.req.id)}, 'x', 'chronology_request', 'x', null, 'x', ${have ? sql(have) : 'null'})`);
          assert.equal(r.out, '0', `${ending}: ${agency} naming ${have ? 'the digest' : 'nothing'}`);
        }
      }
      // the requester still reads it
      const mine = await ok('GET', S.json, sw());
      assert.deepEqual(mine.body.entries.map((e) => e.id), [S.entry.id]);
    }
  });

  it('siblings: every read, held or sent, on each route, writes the read row and one row per child shown', async () => {
    const fam = (await ok('POST', '/v1/families', sw(), { name: `Held family ${randomUUID().slice(0, 6)}` }, 201)).body;
    const a = await makeChild('police');
    const b = await makeChild('police');
    for (const c of [a, b]) await ok('POST', `/v1/families/${fam.id}/members`, sw(), { child_id: c.id, relationship: 'child' }, 201);
    const S = await scene({ child: a });
    const both = (await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([a.id, b.id], 'about both'), 201)).body;
    for (let round = 0; round < 2; round++) {
      for (const [path, token] of routes(S)) {
        const viaPanel = path === S.viaPanel;
        const action = viaPanel ? 'panel_referral.chronology.read' : 'chronology_request.consolidated.read';
        const reads = [...await readAll(path, token), ...await readAll(path, token)];
        const children = round === 0 ? [a.id] : [a.id, b.id];
        for (const r of reads) {
          assert.equal(r.status, 200);
          assert.deepEqual(auditOf(r.headers.get('x-request-id')), [
            ...children.map((c) => `child.${action}|child|${c}`),
            viaPanel ? `${action}|panel_referral|${S.referral.id}` : `${action}|chronology_request|${S.req.id}`,
          ].sort(), `${path} round ${round}`);
        }
      }
      // the entry about both joins: the sibling is shown, and audited, by every worker
      await ok('POST', `/v1/chronology-requests/${S.req.id}/contributions`, policeLead(), { entry_ids: [S.entry.id, both.id] });
    }
  });
});

describe('the held patterns', () => {
  const patterns = async (S) => {
    const reads = [...await readAll(S.json, sw()), ...await readAll(S.viaPanel, yjMember())];
    const seen = new Set(reads.map((r) => JSON.stringify(r.body.patterns)));
    assert.equal(seen.size, 1, 'every worker, on both routes, finds the same patterns');
    return JSON.parse([...seen][0]);
  };
  const codes = (ps) => ps.map((p) => `${p.code}:${p.child_id ?? ''}:${p.to}`).sort();

  it('the roll status, a CME case, the period and a withdrawal change the patterns at once, though the timeline stays held', async () => {
    const S = await scene();
    const child = S.child.id;
    assert.deepEqual(codes(await patterns(S)), []);
    const digest = digestOf(S.req.id);
    // the register: off roll for 60 days (no change to the timeline itself)
    psql(`update safeguard.children set education_status = 'not_on_roll', not_on_roll_since = current_date - 60 where id = ${sql(child)}`);
    assert.deepEqual(codes(await patterns(S)), [`out_of_education:${child}:${today(0)}`], 'the register');
    assert.equal(digestOf(S.req.id), digest, 'the timeline is still the one held');
    // an open CME case says it instead (its pattern runs to the period's end)
    const cme = randomUUID();
    // a live case inserted by hand writes its access row as an identity (058)
    psql(`select set_config('app.sub', 'held-test', false), set_config('app.agency', 'partnership', false), set_config('app.request_id', 'held-test-fixture', false);
      insert into safeguard.cme_cases (id, child_id, reason, missing_since, what_is_known, notifying_agency, notified_by, updated_by)
      values (${sql(cme)}, ${sql(child)}, 'not_on_roll', current_date - 60, 'left school', 'education', 'held-test', 'held-test')`);
    assert.deepEqual(codes(await patterns(S)), [`out_of_education:${child}:${today(0)}`], 'the open case');
    // the period ends earlier: the open case runs to the new end
    psql(`update safeguard.chronology_requests set period_to = current_date - 5 where id = ${sql(S.req.id)}`);
    assert.deepEqual(codes(await patterns(S)), [`out_of_education:${child}:${today(-5)}`], 'the period');
    // resolved, back on roll: nothing
    psql(`update safeguard.cme_cases set status = 'enquiries' where id = ${sql(cme)};
      update safeguard.cme_cases set status = 'resolved', resolution = 'back_on_roll', resolution_school_urn = '123456', resolved_by = 'held-test', resolved_on = current_date - 50 where id = ${sql(cme)};
      update safeguard.children set education_status = 'on_roll', not_on_roll_since = null where id = ${sql(child)}`);
    assert.deepEqual(codes(await patterns(S)), [], 'resolved');
    assert.equal(digestOf(S.req.id), digest);
    // three missing episodes in 30 days from the timeline itself, then one withdrawn
    const missing = [];
    for (let i = 0; i < 3; i++) {
      missing.push((await ok('POST', '/v1/chronology-entries', policeLead(),
        entryBody([child], `missing ${i}`, { category: 'missing_episode', event_date: today(-20 + i), impact: 'negative' }), 201)).body.id);
    }
    await ok('POST', `/v1/chronology-requests/${S.req.id}/contributions`, policeLead(), { entry_ids: [S.entry.id, ...missing] });
    assert.deepEqual((await patterns(S)).map((p) => p.code), ['missing_episodes_cluster']);
    await ok('POST', `/v1/chronology-entries/${missing[1]}/withdrawal`, policeLead(), { reason: 'duplicate report' });
    assert.deepEqual(await patterns(S), [], 'a withdrawn entry counts for nothing');
  });
});

describe('the held timeline under load and at its limits', () => {
  it('workers recycled (SG_MAX_REQUESTS), more timelines than slots: every read 200 and its own', async () => {
    const scenes = [];
    for (let i = 0; i < 6; i++) scenes.push(await scene({ summary: `recycled ${i}` }));
    const tokens = Array.from({ length: 6 }, (_, i) => tokenFor('csc', 'social_worker', `held-recycle-${i}-${randomUUID().slice(0, 6)}`));
    // each worker's connection: a recycled worker connects anew
    const pids = () => psql(`select pid from pg_stat_activity where usename = 'safeguard_api'`).split('\n');
    const before = pids();
    let n = 0;
    const wrong = [];
    let want = scenes.map((S) => [truthShown(S.req.id), truthShown(S.req.id, true)]);
    for (let batch = 0; batch < 110; batch++) { // 1,760 reads: more than 4 workers x 400
      const jobs = Array.from({ length: 16 }, (_, k) => {
        const S = scenes[(batch + k) % scenes.length];
        const path = k % 4 === 3 ? S.csv : S.json;
        return call('GET', path, tokens[k % tokens.length]).then((res) => [S, path, res]);
      });
      for (const [S, path, res] of await Promise.all(jobs)) {
        n++;
        if (res.status !== 200) wrong.push(`${path}: ${res.status} ${res.text.slice(0, 120)}`);
        else if (JSON.stringify(shown(res)) !== JSON.stringify(want[scenes.indexOf(S)][path.endsWith('.csv') ? 1 : 0])) wrong.push(`${path}: another timeline`);
      }
      if (batch === 55) {
        await amend(scenes[0].entry.id, policeLead(), { summary: 'recycled 0 amended' });
        want = scenes.map((S) => [truthShown(S.req.id), truthShown(S.req.id, true)]);
      }
    }
    assert.equal(n, 1760);
    assert.deepEqual(wrong, []);
    const after = pids();
    assert.ok(after.some((p) => !before.includes(p)), `workers recycled: ${before} then ${after}`);
  });

  it('a timeline over the size a worker holds, growing past it and shrinking back: each read 200 and complete, patterns too', async () => {
    const S = await scene();
    // 1,900 entries of 9 kB each (17 MB of entries: more than half what a worker holds), written directly
    const grow = () => psql(`with e as (
        insert into safeguard.chronology_entries (id, agency, author_sub, updated_by, event_date, date_precision, category, summary,
          details, impact, significance, action_taken)
        select gen_random_uuid(), 'police', 'held-bulk', 'held-bulk', current_date - 30 + (g % 3), 'day',
          case when g <= 3 then 'missing_episode' else 'home_visit' end, 'bulk ' || g, repeat('x', 9000), 'neutral', 'low', 'recorded'
        from generate_series(1, 1900) g returning id)
      insert into safeguard.chronology_contributions (request_id, agency, entry_id)
      select ${sql(S.req.id)}, 'police', id from e;
      update safeguard.chronology_entries e set doc = safeguard.entry_json(e)::text where author_sub = 'held-bulk' and doc is null`);
    for (const r of await readAll(S.json, sw(), 8)) assert.equal(r.status, 200);
    grow();
    // the first read builds it (one at a time: a build of 17 MB takes a while)
    await ok('GET', S.json, sw());
    for (let round = 0; round < 2; round++) {
      for (const [path, token] of routes(S)) {
        // one at a time, on every worker (17 MB a read; a worker holds none of it)
        for (let k = 0; k < 5; k++) {
          const r = await call('GET', path, token);
          assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 200)}`);
          if (path.endsWith('.csv')) assert.equal(csvIds(r).length, 1901);
          else {
            assert.equal(r.body.entries.length, 1901);
            assert.deepEqual(r.body.patterns.map((p) => p.code), ['missing_episodes_cluster']);
          }
        }
      }
    }
    const size = count(`select octet_length(entries) from safeguard.consolidated_cache where request_id = ${sql(S.req.id)}`);
    assert.ok(size > (16 << 20), `stored ${size} bytes: over what a worker holds of one timeline`);
    // back under the size: held again, and still right
    psql(`delete from safeguard.chronology_contributions where request_id = ${sql(S.req.id)} and entry_id in
      (select id from safeguard.chronology_entries where author_sub = 'held-bulk' and summary <> 'bulk 1')`);
    for (const r of await readAll(S.json, sw())) assert.equal(r.body.entries.length, 2);
    assert.equal(storeConsistent(), 0);
  });
});

describe('the database\'s calls, from the API role', () => {
  const csc = { agency: 'csc', roles: 'social_worker' };
  const read7 = (who_, req, have, extra = {}) => asApi(who_, `select coalesce(digest, '-') || '|' || (entries is null) || '|' || (items is null)
    from safeguard.consolidated_read(${req === null ? 'null' : sql(req)}, ${extra.action === undefined ? `'chronology_request.consolidated.read'` : extra.action},
    'chronology_request', 'x', null, ${extra.childAction === undefined ? `'child.chronology_request.consolidated.read'` : extra.childAction},
    ${have === null ? 'null' : sql(have)}); select count(*) from safeguard.audit_events where request_id = 'rls-test'`);

  it('crafted digests, nulls and another request\'s digest: entries unless the digest is exactly this request\'s stored one; audit rows either way', async () => {
    const S = await scene();
    const T = await scene({ summary: 'another request' });
    await ok('GET', S.json, sw());
    await ok('GET', T.json, sw());
    const d = digestOf(S.req.id);
    const dT = digestOf(T.req.id);
    assert.notEqual(d, dT);
    for (const [have, held] of [[d, true], [null, false], ['', false], [d.toUpperCase(), false], [` ${d}`, false], [dT, false],
      [d.slice(0, 63), false], [`${d}00`, false], ["' or true --", false]]) {
      const r = read7(csc, S.req.id, have);
      assert.ok(!r.err, r.err);
      const [row, audits] = r.out.split('\n');
      assert.equal(row, `${d}|${held}|${held}`, JSON.stringify(have));
      assert.equal(audits, '2', 'the read row and the child\'s');
    }
    // an unknown or null request: no row, nothing written
    for (const req of [randomUUID(), null]) assert.equal(read7(csc, req, d).out, '0');
    // no audit action: the read fails, nothing is answered
    assert.match(read7(csc, S.req.id, d, { childAction: 'null' }).err ?? 'answered', /null value|violates/);
    assert.match(read7(csc, S.req.id, d, { action: 'null' }).err ?? 'answered', /null value|violates/);
    // the same readers through it, and no other way to the stored timeline (036)
    for (const [who_, rows] of [[csc, '1'], [{ agency: 'health', roles: 'safeguarding_lead' }, '0'], [{ agency: 'police', roles: 'practitioner' }, '1']]) {
      assert.equal(asApi(who_, `select count(*) from safeguard.consolidated_read(${sql(S.req.id)}, 'x', 'chronology_request', 'x', null, 'x', ${sql(d)})`).out, rows, who_.agency);
      for (const call of [`consolidated_stored(${sql(S.req.id)}, ${sql(d)})`, `consolidated_stored(${sql(S.req.id)})`])
        assert.match(asApi(who_, `select count(*) from safeguard.${call}`).err ?? 'allowed', /permission denied for function consolidated_stored/);
    }
    // nor may the API role write a digest into the store
    assert.match(asApi(csc, `update safeguard.consolidated_cache set digest = ${sql(dT)}`).err ?? 'allowed', /permission denied/);
    assert.equal(digestOf(S.req.id), d);
    assert.equal(storeConsistent(), 0);
  });

  it('the old call (021\'s six arguments) after a change and raced with the new: every stored digest is of its entries', async () => {
    const S = await scene({ summary: 'o0' });
    await Promise.all([...await readAll(S.json, sw(), 8)]);
    const oldRead = (sub) => psql(`begin; set local role safeguard_api;
      select set_config('app.sub', ${sql(sub)}, true), set_config('app.agency', 'csc', true),
             set_config('app.roles', 'social_worker', true), set_config('app.request_id', ${sql(sub)}, true);
      select entries from safeguard.consolidated_read(${sql(S.req.id)}, 'chronology_request.consolidated.read', 'chronology_request',
        ${sql(S.req.id)}, null, 'child.chronology_request.consolidated.read');
      commit;`);
    const run = randomUUID().slice(0, 8);
    for (let v = 1; v <= 6; v++) {
      const change = amend(S.entry.id, policeLead(), { summary: `o${v}` });
      const old = oldRead(`old-${run}-${v}`);
      const news = readAll(S.json, sw(), 8);
      await change;
      assert.match(old, /"o\d"/);
      for (const r of await news) assert.equal(r.status, 200);
      assert.equal(storeConsistent(), 0, `after change ${v}`);
      assert.match(oldRead(`old-after-${run}-${v}`), new RegExp(`"o${v}"`));
      for (const r of await readAll(S.json, sw())) assert.deepEqual(r.body.entries.map((e) => e.summary), [`o${v}`]);
      // the old call audited as the new does
      assert.equal(count(`select count(*) from safeguard.audit_events where request_id = ${sql(`old-after-${run}-${v}`)}`), 2);
    }
    const [matches, built] = psql(`select (digest = encode(sha256(convert_to(entries || E'\\x1e' || items, 'UTF8')), 'hex')) || '|' || (built_gen = gen)
      from safeguard.consolidated_cache where request_id = ${sql(S.req.id)}`).split('|');
    assert.equal(matches, 'true');
    assert.equal(built, 'true');
  });
});
