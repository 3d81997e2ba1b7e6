// attack-stored.test.mjs - a hostile partner agency against what the last
// releases stored or folded into one call: the panel's read of a linked
// chronology request (017, 021, 022), the stored consolidated timeline (020,
// 021: never stale, never another request's, never unaudited, out of the
// API role's reach) and the one-round-trip writes of a child and a
// chronology entry (020: duplicates, children out of reach, Idempotency-Key
// replays, a revoked token, the database down; nothing partial committed).
// Each case asserts the answer (status, problem type, body) and the
// database after it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { psql, request, sh } from './lib/client.mjs';
import { who, admin, problem, fields, call, ok, makePanel, makeChild, refer, today, sql, asApi } from './lib/panels.mjs';
import { tokenFor, nhsNumber, upn } from './lib/people.mjs';
import { rs256 } from './lib/tokens.mjs';

const sw = () => who('csc', 'social_worker');
const policeLead = () => who('police', 'safeguarding_lead');
const instant = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const entryBody = (childIds, summary, extra = {}) => ({
  child_ids: childIds, event_date: today(-10), date_precision: 'day', category: 'missing_episode',
  summary, impact: 'negative', significance: 'medium', action_taken: 'found and returned home', ...extra,
});
const requestBody = (extra) => ({
  agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47',
  period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: instant(Date.now() + 3600e3), ...extra,
});
const count = (q) => Number(psql(q));
// the audit rows one request wrote: "action|type|id", sorted
const auditOf = (rid) => psql(`select action || '|' || resource_type || '|' || resource_id from safeguard.audit_events
  where request_id = ${sql(rid)} order by 1`).split('\n').filter(Boolean);
// The consolidated entries as the database computes them directly, for the
// requesting agency (the truth a stored timeline must equal).
const truth = (req) => JSON.parse(psql(`begin;
  select set_config('app.sub', 'truth', true), set_config('app.agency', 'csc', true), set_config('app.roles', 'social_worker', true);
  select safeguard.consolidated_json('${req}'); commit;`).split('\n').pop());

// A police child with an entry police shares with CSC's request; a risk
// meeting (csc, youth justice, voluntary) with CSC's referral naming it.
async function scene() {
  const panel = await makePanel({ type: 'risk_meeting', members: ['csc', 'youth_justice', 'voluntary'] });
  const child = await makeChild('police');
  const shared = (await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([child.id], 'first account'), 201)).body;
  const req = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: child.id }), 201)).body;
  await ok('POST', `/v1/chronology-requests/${req.id}/contributions`, policeLead(), { entry_ids: [shared.id] });
  const referral = await refer(panel, child, sw(), { chronology_request_id: req.id });
  return { panel, child, shared, req, referral };
}

describe('the panel\'s read of a linked request, attacked', () => {
  it('an entry shared only through the panel: readable by id while live, 404 after the window, the request or the referral ends', async () => {
    const yj = who('youth_justice', 'safeguarding_lead');
    for (const ending of ['window', 'request', 'referral']) {
      const S = await scene();
      const live = await ok('GET', `/v1/chronology-entries/${S.shared.id}`, yj);
      assert.equal(live.body.id, S.shared.id);
      if (ending === 'window') psql(`update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = '${S.req.id}'`);
      if (ending === 'request') await ok('POST', `/v1/chronology-requests/${S.req.id}/closure`, sw());
      if (ending === 'referral') {
        await ok('POST', `/v1/panel-referrals/${S.referral.id}/decision`, who('police', 'panel_chair'), { outcome: 'accepted' });
        await ok('POST', `/v1/panel-referrals/${S.referral.id}/closure`, who('police', 'panel_chair'), { reason: 'risk_reduced' });
      }
      const before = count(`select count(*) from safeguard.audit_events where resource_id = '${S.shared.id}'`);
      for (const path of [`/v1/chronology-entries/${S.shared.id}`, `/v1/chronology-entries/${S.shared.id}/versions`]) {
        const res = problem(await call('GET', path, yj), 404, 'not-found');
        const unknown = await call('GET', path.replace(/[0-9a-f-]{36}/, randomUUID()), yj);
        assert.equal(res.body.detail, unknown.body.detail, `${ending}: ${path} answers as an unknown id`);
      }
      // the referral itself stays readable to the panel (or is its record), so its read says why
      problem(await call('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, yj), 404, 'not-found');
      assert.equal(count(`select count(*) from safeguard.audit_events where resource_id = '${S.shared.id}'`), before, 'a 404 audits no read');
    }
  });

  it('the referral closed while the panel reads: every read is 200 with the timeline or 404, never a 500; the ones after are 404', async () => {
    const S = await scene();
    await ok('POST', `/v1/panel-referrals/${S.referral.id}/decision`, who('police', 'panel_chair'), { outcome: 'accepted' });
    const readers = ['youth_justice', 'voluntary', 'csc'].map((agency) => who(agency, 'panel_member'));
    const reads = Array.from({ length: 24 }, (_, i) => call('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, readers[i % 3]));
    await ok('POST', `/v1/panel-referrals/${S.referral.id}/closure`, who('police', 'panel_chair'), { reason: 'risk_reduced' });
    for (const res of await Promise.all(reads)) {
      assert.ok(res.status === 200 || res.status === 404, `${res.status}`);
      if (res.status === 200) assert.deepEqual(res.body.entries.map((e) => e.id), [S.shared.id]);
      // a refused read wrote no audit row
      if (res.status === 404) assert.deepEqual(auditOf(res.headers.get('x-request-id')), []);
    }
    for (const t of readers) problem(await call('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, t), 404, 'not-found');
  });

  it('a warm store outlives no window: the invited agency, after share_until, is 404 like the panel', async () => {
    const S = await scene();
    await ok('GET', `/v1/chronology-requests/${S.req.id}/chronology`, policeLead());
    await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', 'panel_member'));
    assert.equal(count(`select count(*) from safeguard.consolidated_cache where request_id = '${S.req.id}' and built_gen = gen`), 1);
    psql(`update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = '${S.req.id}'`);
    problem(await call('GET', `/v1/chronology-requests/${S.req.id}/chronology`, policeLead()), 404, 'not-found');
    problem(await call('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', 'panel_member')), 404, 'not-found');
    assert.equal(asApi({ agency: 'police', roles: 'safeguarding_lead' }, `select count(*) from safeguard.consolidated_read('${S.req.id}', 'x', 'x', 'x', null, 'x')`).out, '0');
    // the requester still reads it, from the same store
    await ok('GET', `/v1/chronology-requests/${S.req.id}/chronology`, sw());
  });

  it('an entry amended after it was shared: the panel reads the current version only, never the earlier text', async () => {
    const S = await scene();
    const cur = await ok('GET', `/v1/chronology-entries/${S.shared.id}`, policeLead());
    await ok('PATCH', `/v1/chronology-entries/${S.shared.id}`, policeLead(), { summary: 'corrected account' }, 200, { 'If-Match': cur.headers.get('etag') });
    const yj = who('youth_justice', 'safeguarding_lead');
    const versions = await ok('GET', `/v1/chronology-entries/${S.shared.id}/versions`, yj);
    assert.ok(!versions.text.includes('first account'), 'the earlier version stays police\'s');
    const read = await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, yj);
    assert.deepEqual(read.body.entries.map((e) => e.summary), ['corrected account']);
  });

  it('the CME resolution and the screening outcome take no chronology_request_id: 400, nothing written', async () => {
    const S = await scene();
    const cme = await call('POST', `/v1/cme-cases/${randomUUID()}/resolution`, who('education', 'safeguarding_lead'),
      { resolution: 'referred_to_cme_panel', risk_level: 'high', chronology_request_id: S.req.id });
    problem(cme, 400, 'validation-failed');
    assert.ok(fields(cme).some((f) => f.startsWith('chronology_request_id:')), JSON.stringify(cme.body));
    const scr = await call('POST', `/v1/screenings/${randomUUID()}/outcome`, policeLead(),
      { outcome: 'refer_to_panel', chronology_request_id: S.req.id });
    problem(scr, 400, 'validation-failed');
    assert.ok(fields(scr).some((f) => f.startsWith('chronology_request_id:')), JSON.stringify(scr.body));
    // the only referral naming the request is CSC's own
    assert.equal(count(`select count(*) from safeguard.panel_referrals where chronology_request_id = '${S.req.id}'`), 1);
  });

  it('a member agency\'s practitioner and every non-reader role: 403 on the route; row-level security gives them nothing', async () => {
    const S = await scene();
    for (const role of ['practitioner', 'auditor', 'training_admin'])
      problem(await call('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', role)), 403, 'forbidden');
    for (const roles of ['practitioner', 'auditor', 'admin']) {
      const r = asApi({ agency: 'youth_justice', roles }, `select count(*) from safeguard.consolidated_read('${S.req.id}', 'x', 'x', 'x', null, 'x')`);
      assert.equal(r.out, '0', roles);
    }
    // the same roles of the panel's readers read it
    assert.equal(asApi({ agency: 'youth_justice', roles: 'panel_member' }, `select count(*) from safeguard.consolidated_read('${S.req.id}', 'x', 'x', 'x', null, 'x')`).out, '1');
  });

  it('a safeguarding lead of CSC links a request a CSC social worker made (the agency is the requester); another agency\'s chair may not', async () => {
    const S = await scene();
    const P2 = await makePanel({ type: 'risk_meeting', members: ['csc', 'police', 'district'] });
    const r = await refer(P2, S.child, who('csc', 'safeguarding_lead'), { chronology_request_id: S.req.id });
    assert.equal(r.chronology_request_id, S.req.id);
    const P3 = await makePanel({ type: 'risk_meeting', members: ['csc', 'police'] });
    const res = problem(await call('POST', `/v1/panels/${P3.id}/referrals`, who('police', 'panel_chair'), {
      child_id: S.child.id, reason: 'r', risk_level: 'high', chronology_request_id: S.req.id,
    }), 422, 'invalid-reference');
    assert.deepEqual(fields(res), ['chronology_request_id:not_requester']);
    assert.equal(count(`select count(*) from safeguard.panel_referrals where panel_id = '${P3.id}'`), 0);
  });
});

describe('the stored consolidated timeline, attacked', () => {
  it('the API role can neither read nor write the store, nor bump it', () => {
    const csc = { agency: 'csc', roles: 'social_worker' };
    for (const stmt of [
      'select count(*) from safeguard.consolidated_cache',
      `insert into safeguard.consolidated_cache (request_id, gen, built_gen, entries) values ('${randomUUID()}', 0, 0, '[]')`,
      'update safeguard.consolidated_cache set built_gen = gen',
      'delete from safeguard.consolidated_cache',
      // the change triggers' own call: making any request's store stale
      `select safeguard.consolidated_touch('${randomUUID()}')`,
    ]) assert.match(asApi(csc, stmt).err ?? 'allowed', /permission denied/, stmt);
  });

  it('every read writes its rows, warm or cold: the request (or referral) and one per child', async () => {
    const S = await scene();
    for (let i = 0; i < 3; i++) {
      const res = await ok('GET', `/v1/chronology-requests/${S.req.id}/chronology`, sw());
      assert.deepEqual(auditOf(res.headers.get('x-request-id')), [
        `child.chronology_request.consolidated.read|child|${S.child.id}`,
        `chronology_request.consolidated.read|chronology_request|${S.req.id}`,
      ].sort(), `read ${i}`);
    }
    assert.equal(count(`select count(*) from safeguard.consolidated_cache where request_id = '${S.req.id}' and built_gen = gen`), 1, 'the store is warm');
    for (let i = 0; i < 2; i++) {
      const res = await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('voluntary', 'panel_member'));
      assert.deepEqual(auditOf(res.headers.get('x-request-id')), [
        `child.panel_referral.chronology.read|child|${S.child.id}`,
        `panel_referral.chronology.read|panel_referral|${S.referral.id}`,
      ]);
    }
  });

  it('two requests about the same child never show each other\'s timeline, warm or cold', async () => {
    const S = await scene();
    const other = (await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([S.child.id], 'second request only'), 201)).body;
    const req2 = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: S.child.id }), 201)).body;
    await ok('POST', `/v1/chronology-requests/${req2.id}/contributions`, policeLead(), { entry_ids: [other.id] });
    for (let i = 0; i < 2; i++) {
      const [a, b] = await Promise.all([S.req.id, req2.id].map((q) => ok('GET', `/v1/chronology-requests/${q}/chronology`, sw())));
      assert.deepEqual(a.body.entries.map((e) => e.id), [S.shared.id]);
      assert.deepEqual(b.body.entries.map((e) => e.id), [other.id]);
    }
  });

  it('amendments, withdrawals and contributions raced against reads: the last read always equals what the database computes', async () => {
    const S = await scene();
    const extra = [];
    for (let i = 0; i < 4; i++) extra.push((await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([S.child.id], `extra ${i}`), 201)).body);
    let stop = false;
    const statuses = [];
    const readers = Array.from({ length: 3 }, async (_, n) => {
      while (!stop) {
        const res = n === 2 ? await call('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', 'panel_member'))
          : await call('GET', `/v1/chronology-requests/${S.req.id}/chronology`, sw());
        statuses.push(res.status);
      }
    });
    // an entry withdrawn after it was shared stays in the contribution
    // (the timeline shows it withdrawn); a new contribution names only
    // active entries
    try {
      for (let i = 0; i < 8; i++) {
        const target = extra[i >= 6 ? i - 6 : i % 4];
        const ids = [S.shared.id, ...extra.slice(0, 1 + (i % 4)).map((e) => e.id)];
        if (i < 6) await ok('POST', `/v1/chronology-requests/${S.req.id}/contributions`, policeLead(), { entry_ids: ids });
        const cur = await ok('GET', `/v1/chronology-entries/${target.id}`, policeLead());
        if (i >= 6) await ok('POST', `/v1/chronology-entries/${target.id}/withdrawal`, policeLead(), { reason: 'recorded in error' });
        else await ok('PATCH', `/v1/chronology-entries/${target.id}`, policeLead(), { summary: `amended ${i}` }, 200, { 'If-Match': cur.headers.get('etag') });
      }
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    assert.deepEqual([...new Set(statuses)], [200]);
    const want = truth(S.req.id);
    const csc = await ok('GET', `/v1/chronology-requests/${S.req.id}/chronology`, sw());
    const panel = await ok('GET', `/v1/panel-referrals/${S.referral.id}/chronology`, who('youth_justice', 'panel_member'));
    assert.deepEqual(csc.body.entries, want);
    assert.deepEqual(panel.body.entries, want);
    assert.ok(want.some((e) => e.status === 'withdrawn') && want.some((e) => /^amended/.test(e.summary)), 'the changes are in the truth');
  });

  // The same, made certain: a session holds the entries table while the
  // read builds the timeline, the sibling's entry is taken out of the
  // contribution meanwhile, then the session lets go.  The entries the read
  // shows and the children it audits come from one snapshot.
  it('a build the change lands in the middle of: the entries shown and the children audited agree', async () => {
    const fam = (await ok('POST', '/v1/families', sw(), { name: `Held family ${randomUUID().slice(0, 6)}` }, 201)).body;
    const a = await makeChild('police');
    const b = await makeChild('police');
    for (const c of [a, b]) await ok('POST', `/v1/families/${fam.id}/members`, sw(), { child_id: c.id, relationship: 'child' }, 201);
    const one = (await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([a.id], 'about a'), 201)).body;
    const both = (await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([a.id, b.id], 'about both'), 201)).body;
    const req = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: a.id }), 201)).body;
    await ok('POST', `/v1/chronology-requests/${req.id}/contributions`, policeLead(), { entry_ids: [one.id, both.id] });
    const holder = spawn('psql', [process.env.DATABASE_URL_ADMIN, '-XAtq'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    holder.stdout.on('data', (d) => { out += d; });
    holder.stdin.write("begin; lock table safeguard.chronology_entries in access exclusive mode; select 'held';\n");
    for (let i = 0; i < 100 && !out.includes('held'); i++) await sleep(20);
    let res;
    try {
      const reading = call('GET', `/v1/chronology-requests/${req.id}/chronology`, sw());
      await sleep(400);
      psql(`set statement_timeout = '2s'; delete from safeguard.chronology_contributions where request_id = '${req.id}' and entry_id = '${both.id}'`);
      holder.stdin.write('rollback;\n');
      holder.stdin.end();
      res = await reading;
    } finally {
      holder.kill();
    }
    assert.equal(res.status, 200, res.text);
    const shown = res.body.entries.map((e) => e.id);
    assert.ok(shown.includes(both.id), 'the read began before the change, so it shows the entry about both');
    const audited = auditOf(res.headers.get('x-request-id')).filter((r) => r.startsWith('child.')).map((r) => r.split('|')[2]).sort();
    const named = [...new Set(res.body.entries.flatMap((e) => e.child_ids))].sort();
    assert.deepEqual(audited, [...new Set([a.id, ...named])].sort(), `shown ${shown.length} entries`);
    // and the next read is the truth
    const again = await ok('GET', `/v1/chronology-requests/${req.id}/chronology`, sw());
    assert.deepEqual(again.body.entries, truth(req.id));
    assert.deepEqual(again.body.entries.map((e) => e.id), [one.id]);
  });

  // A read that builds the stored timeline while a contribution changes
  // must take the entries and the children they are about from one
  // snapshot: a read that shows an entry about a sibling writes the
  // sibling's audit row.  The entries are large so that building them
  // takes a while, and the sibling's entry comes and goes meanwhile.
  it('a read that shows an entry about a child always audits that child, while contributions change under it', async () => {
    const fam = (await ok('POST', '/v1/families', sw(), { name: `Race family ${randomUUID().slice(0, 6)}` }, 201)).body;
    const a = await makeChild('police');
    const b = await makeChild('police');
    for (const c of [a, b]) await ok('POST', `/v1/families/${fam.id}/members`, sw(), { child_id: c.id, relationship: 'child' }, 201);
    const big = 'x'.repeat(9000);
    const many = [];
    for (let i = 0; i < 160; i += 8) {
      const writer = tokenFor('police', 'safeguarding_lead', `bulk-${i}`);
      many.push(...(await Promise.all(Array.from({ length: 8 }, (_, j) =>
        ok('POST', '/v1/chronology-entries', writer, entryBody([a.id], `bulk ${i + j}`, { details: big }), 201)))).map((r) => r.body.id));
    }
    const both = (await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([a.id, b.id], 'about both'), 201)).body;
    const req = (await ok('POST', '/v1/chronology-requests', sw(), requestBody({ child_id: a.id }), 201)).body;
    let stop = false;
    const bad = [];
    let seen = 0;
    const readers = Array.from({ length: 3 }, async (_, n) => {
      const reader = tokenFor('csc', 'social_worker', `race-reader-${n}-${randomUUID().slice(0, 6)}`);
      while (!stop) {
        const res = await call('GET', `/v1/chronology-requests/${req.id}/chronology`, reader);
        if (res.status !== 200) {
          bad.push(`status ${res.status}`);
          continue;
        }
        if (!res.body.entries.some((e) => e.id === both.id)) continue;
        seen++;
        const rows = auditOf(res.headers.get('x-request-id'));
        if (!rows.includes(`child.chronology_request.consolidated.read|child|${b.id}`)) bad.push(res.headers.get('x-request-id'));
      }
    });
    try {
      for (let i = 0; i < 40; i++) {
        await ok('POST', `/v1/chronology-requests/${req.id}/contributions`, policeLead(), { entry_ids: i % 2 ? many : [...many, both.id] });
        await sleep(5);
      }
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    assert.ok(seen > 0, 'some reads showed the entry about both');
    assert.deepEqual(bad, [], `${bad.length} of ${seen} reads showed the sibling's entry without the sibling's audit row`);
  });
});

describe('the one-round-trip writes, attacked', () => {
  const child = (extra = {}) => ({ first_name: 'Round', last_name: `Trip${randomUUID().slice(0, 4)}`, date_of_birth: '2012-03-04', ...extra });

  it('a duplicate NHS number or UPN, from any agency: 409 with the existing id, nothing written', async () => {
    for (const [k, v] of [['nhs_number', nhsNumber()], ['upn', upn()]]) {
      const first = await ok('POST', '/v1/children', who('health', 'practitioner'), child({ [k]: v }), 201);
      for (const agency of ['health', 'education', 'voluntary']) {
        const res = problem(await call('POST', '/v1/children', who(agency, 'practitioner'), child({ [k]: v })), 409, 'possible-duplicate');
        assert.equal(res.body.existing_id, first.body.id, `${k} from ${agency}`);
        // the refused write audits only what the caller learnt: which child holds the identifier (039)
        assert.deepEqual(auditOf(res.headers.get('x-request-id')), [`child.identifier_match|child|${first.body.id}`]);
      }
      assert.equal(count(`select count(*) from safeguard.children where ${k} = ${sql(v)}`), 1);
      assert.equal(count(`select count(*) from safeguard.child_network n where n.child_id not in (select id from safeguard.children)`), 0, 'no orphan network row');
      assert.equal(psql(`select string_agg(agency, ',') from safeguard.child_network where child_id = '${first.body.id}'`), 'health');
    }
  });

  it('concurrent duplicates: exactly one 201; every other 409 names the winner', async () => {
    for (let round = 0; round < 3; round++) {
      const nhs = nhsNumber();
      const answers = await Promise.all(['health', 'police', 'education', 'voluntary', 'district', 'csc'].map((agency) =>
        request('POST', '/v1/children', { token: who(agency, agency === 'csc' ? 'social_worker' : 'practitioner'), body: child({ nhs_number: nhs }), validate: false })));
      const made = answers.filter((x) => x.status === 201);
      assert.equal(made.length, 1, JSON.stringify(answers.map((x) => x.status)));
      for (const x of answers.filter((y) => y.status !== 201)) {
        assert.equal(x.status, 409);
        assert.equal(x.body.type, '/problems/possible-duplicate');
        assert.equal(x.body.existing_id, made[0].body.id, 'a concurrent loser names the child that won');
      }
      assert.equal(count(`select count(*) from safeguard.children where nhs_number = '${nhs}'`), 1);
      assert.equal(count(`select count(*) from safeguard.child_network where child_id = '${made[0].body.id}'`), 1);
      assert.equal(count(`select count(*) from safeguard.audit_events where action = 'child.create' and resource_id = '${made[0].body.id}'`), 1);
    }
  });

  it('an entry about a child outside the network, an unknown child, or children of several families: 422, nothing written', async () => {
    const mine = await makeChild('police');
    const theirs = await makeChild('health');
    const other = await makeChild('police');
    const ghost = randomUUID();
    for (const [ids, want, status] of [
      [[theirs.id], [`child_ids:not_found`]],
      [[ghost], [`child_ids:not_found`]],
      [[mine.id, theirs.id], [`child_ids:not_found`]],
      [[mine.id, other.id], [`child_ids:not_siblings`]],
      [[mine.id, mine.id.toUpperCase()], ['child_ids[1]:duplicate'], 400],
    ]) {
      const summary = `refused ${randomUUID()}`;
      const res = problem(await call('POST', '/v1/chronology-entries', policeLead(), entryBody(ids, summary)), status ?? 422, status ? 'validation-failed' : 'invalid-reference');
      assert.deepEqual([...new Set(fields(res))], want, JSON.stringify(ids));
      assert.equal(count(`select count(*) from safeguard.chronology_entries where summary = ${sql(summary)}`), 0);
      assert.deepEqual(auditOf(res.headers.get('x-request-id')), []);
      assert.ok(!res.text.includes(theirs.first_name) && !res.text.includes(theirs.last_name));
    }
    assert.equal(count(`select count(*) from safeguard.chronology_entry_children ec where not exists (select 1 from safeguard.chronology_entries e where e.id = ec.entry_id)`), 0);
  });

  it('Idempotency-Key: the same body replays the one row, another body is 422, concurrent retries write once', async () => {
    const target = await makeChild('police');
    for (const [path, token, body, other, table] of [
      ['/v1/children', who('police', 'practitioner'), child({ nhs_number: nhsNumber() }), child({ nhs_number: nhsNumber() }), 'children'],
      ['/v1/chronology-entries', policeLead(), entryBody([target.id], `keyed ${randomUUID()}`), entryBody([target.id], 'another body'), 'chronology_entries'],
    ]) {
      const key = `attack-${randomUUID()}`;
      const first = await ok('POST', path, token, body, 201, { 'Idempotency-Key': key });
      const again = await ok('POST', path, token, body, 201, { 'Idempotency-Key': key });
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.body.id, first.body.id);
      assert.deepEqual(again.body, first.body);
      // the replay shows the child's data again: audited as a read, marked as a replay of the first
      const childId = table === 'children' ? first.body.id : target.id;
      assert.deepEqual(psql(`select action || '|' || resource_id || '|' || (details->>'replay') || '|' || (details->>'original_request_id')
        from safeguard.audit_events where request_id = ${sql(again.headers.get('x-request-id'))}`).split('\n'),
      [`child.read|${childId}|true|${first.headers.get('x-request-id')}`]);
      problem(await call('POST', path, token, other, { 'Idempotency-Key': key }), 422, 'idempotency-key-reuse');
      assert.equal(count(`select count(*) from safeguard.${table} where id = '${first.body.id}'`), 1);
      // concurrent retries of a fresh key: one row, every answer is it (or a 409 to retry)
      const key2 = `attack-${randomUUID()}`;
      const body2 = table === 'children' ? child({ nhs_number: nhsNumber() }) : entryBody([target.id], `raced ${randomUUID()}`);
      const answers = await Promise.all(Array.from({ length: 6 }, () => call('POST', path, token, body2, { 'Idempotency-Key': key2 })));
      const made = answers.filter((x) => x.status === 201);
      assert.ok(made.length >= 1 && answers.every((x) => x.status === 201 || (x.status === 409 && x.body.type === '/problems/idempotency-in-progress')), JSON.stringify(answers.map((x) => x.status)));
      assert.equal(new Set(made.map((x) => x.body.id)).size, 1);
      const col = table === 'children' ? `nhs_number = ${sql(body2.nhs_number)}` : `summary = ${sql(body2.summary)}`;
      assert.equal(count(`select count(*) from safeguard.${table} where ${col}`), 1);
    }
  });

  it('a revoked token: 401 for both writes, with or without a key; nothing written, nothing audited', async () => {
    const target = await makeChild('police');
    const jti = `attack-${randomUUID()}`;
    const sub = `attack-revoked-${randomUUID().slice(0, 8)}`;
    const token = rs256({ sub, agency: 'police', roles: ['safeguarding_lead'], jti });
    await ok('POST', '/v1/token-revocations', who('police', 'admin'), { jti }, 201);
    const summary = `revoked ${randomUUID()}`;
    for (const headers of [{}, { 'Idempotency-Key': `k-${randomUUID()}` }]) {
      for (const [path, body] of [['/v1/children', child({ last_name: 'Revoked' })], ['/v1/chronology-entries', entryBody([target.id], summary)]]) {
        const res = problem(await call('POST', path, token, body, headers), 401, 'unauthorized');
        assert.match(res.headers.get('www-authenticate') ?? '', /invalid_token/);
      }
    }
    assert.equal(count(`select count(*) from safeguard.chronology_entries where summary = ${sql(summary)}`), 0);
    assert.equal(count(`select count(*) from safeguard.child_network where joined_by = ${sql(sub)}`), 0);
    assert.equal(count(`select count(*) from safeguard.audit_events where actor_sub = ${sql(sub)}`), 0);
  });

  describe('the database down', () => {
    let restarted = false;
    const restart = async () => {
      if (restarted) return;
      restarted = true;
      sh('bash db/pg.sh start test');
      for (let i = 0; i < 100; i++) {
        const res = await request('GET', '/readyz', { validate: false }).catch(() => null);
        if (res?.status === 200) return;
        await sleep(100);
      }
    };
    after(restart);

    it('503 with Retry-After for both writes, quickly; after recovery nothing of them was written', async () => {
      const target = await makeChild('police');
      const nhs = nhsNumber();
      const summary = `down ${randomUUID()}`;
      sh('bash db/pg.sh stop test');
      try {
        for (const [path, body] of [['/v1/children', child({ nhs_number: nhs })], ['/v1/chronology-entries', entryBody([target.id], summary)]]) {
          for (const headers of [{}, { 'Idempotency-Key': `k-${randomUUID()}` }]) {
            const start = Date.now();
            const res = problem(await call('POST', path, policeLead(), body, headers), 503, 'service-unavailable');
            assert.ok(Number(res.headers.get('retry-after')) >= 1);
            assert.ok(Date.now() - start < 3000, 'no hang');
          }
        }
      } finally {
        await restart();
      }
      assert.equal(count(`select count(*) from safeguard.children where nhs_number = '${nhs}'`), 0);
      assert.equal(count(`select count(*) from safeguard.chronology_entries where summary = ${sql(summary)}`), 0);
      // and the pool serves both writes again
      await ok('POST', '/v1/children', policeLead(), child({ nhs_number: nhs }), 201);
      await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([target.id], summary), 201);
    });
  });
});

describe('writing into a chronology is for the child\'s network and the agencies a live request invited (026)', () => {
  it('a panel\'s agency that sees the child only through an open referral reads it but writes nothing about it', async () => {
    // a joint panel (police chairs; youth justice and CSC sit on it): CSC refers a child only it knows
    const P = await makePanel({ type: 'joint_police_yj', chair: 'police', members: ['police', 'youth_justice', 'csc'] });
    const c = await makeChild('csc');
    await refer(P, c);
    const yjPractitioner = who('youth_justice', 'practitioner');
    const yjMember = who('youth_justice', 'panel_member');
    assert.equal((await call('GET', `/v1/children/${c.id}`, yjPractitioner)).status, 200, 'the panel\'s agency sees the child');
    for (const token of [yjPractitioner, yjMember]) {
      const res = problem(await call('POST', '/v1/chronology-entries', token, entryBody([c.id], 'seen at the panel')), 422, 'invalid-reference');
      assert.deepEqual(fields(res), ['child_ids:not_found']);
    }
    assert.equal(psql(`select count(*) from safeguard.chronology_entry_children where child_id = '${c.id}'`), '0');
    // row-level security alone refuses it too
    const yj = { agency: 'youth_justice', roles: 'practitioner' };
    const entry = randomUUID();
    const direct = asApi(yj, `with e as (insert into safeguard.chronology_entries (id, agency, author_sub, updated_by, event_date, date_precision, category, summary, impact, significance, action_taken)
      values ('${entry}', 'youth_justice', 'rls-attacker', 'rls-attacker', current_date, 'day', 'home_visit', 'x', 'neutral', 'low', 'recorded') returning id)
      insert into safeguard.chronology_entry_children (entry_id, child_id) select id, '${c.id}' from e; select 'inserted'`);
    assert.match(direct.err ?? 'inserted', /row-level security/);
    // declaring involvement (audited, reviewed by CSC) puts the agency in the network: then it writes
    await ok('POST', `/v1/children/${c.id}/involvements`, yjPractitioner, { reason: 'worked with the child since the panel' }, 201);
    await ok('POST', '/v1/chronology-entries', yjPractitioner, entryBody([c.id], 'after declaring'), 201);
  });

  it('an agency invited to a live request about the child writes its entries, and stops when the request closes', async () => {
    const c = await makeChild('csc');
    const req = (await ok('POST', '/v1/chronology-requests', who('csc', 'social_worker'), requestBody({ child_id: c.id, agencies: ['health'] }), 201)).body;
    const health = who('health', 'practitioner');
    await ok('POST', '/v1/chronology-entries', health, entryBody([c.id], 'A&E attendance'), 201);
    await ok('POST', `/v1/chronology-requests/${req.id}/closure`, who('csc', 'social_worker'));
    assert.deepEqual(fields(problem(await call('POST', '/v1/chronology-entries', health, entryBody([c.id], 'too late')), 422, 'invalid-reference')), ['child_ids:not_found']);
  });
});
