// timeline-held.test.mjs - the consolidated timeline a worker holds (029):
// each stored timeline carries the digest of what it stores, a read names
// the digest its worker holds, and the database sends the entries only when
// they differ.  The cache must decide nothing: every read still asks the
// database whether the caller may read, still writes its audit rows, and
// never shows a timeline older than the last change, whichever worker
// answers.  Each case asserts the answers and the database after them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { psql } from './lib/client.mjs';
import { assertSettingRange } from './lib/stack.mjs';
import { who, problem, call, ok, makePanel, makeChild, refer, today, sql, asApi } from './lib/panels.mjs';

const sw = () => who('csc', 'social_worker');
const policeLead = () => who('police', 'safeguarding_lead');
const instant = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const count = (q) => Number(psql(q));
const entryBody = (childIds, summary) => ({
  child_ids: childIds, event_date: today(-10), date_precision: 'day', category: 'missing_episode',
  summary, impact: 'negative', significance: 'medium', action_taken: 'found and returned home',
});
// more reads than workers, in parallel, so that every worker of the pool
// answers some of them (and holds the timeline afterwards)
const READS = 16;
const readAll = (path, token) => Promise.all(Array.from({ length: READS }, () => call('GET', path, token)));

// A police child with an entry shared with CSC's request about it, and a
// risk meeting with CSC's referral naming the request.
async function scene() {
  const panel = await makePanel({ type: 'risk_meeting', members: ['csc', 'youth_justice'] });
  const child = await makeChild('police');
  const entry = (await ok('POST', '/v1/chronology-entries', policeLead(), entryBody([child.id], 'first account'), 201)).body;
  const req = (await ok('POST', '/v1/chronology-requests', sw(), {
    agencies: ['police'], purpose: 'strategy discussion', lawful_basis: 'children_act_1989_s47', child_id: child.id,
    period_from: today(-400), period_to: today(0), respond_by: today(7), share_until: instant(Date.now() + 3600e3),
  }, 201)).body;
  await ok('POST', `/v1/chronology-requests/${req.id}/contributions`, policeLead(), { entry_ids: [entry.id] });
  const referral = await refer(panel, child, sw(), { chronology_request_id: req.id });
  return { child, entry, req, referral, path: `/v1/chronology-requests/${req.id}/chronology` };
}

const stored = (req) => psql(`select digest || '|' || (digest = encode(sha256(convert_to(entries || E'\\x1e' || items, 'UTF8')), 'hex'))
  || '|' || (built_gen = gen) from safeguard.consolidated_cache where request_id = ${sql(req)}`).split('|');

describe('the timeline a worker holds', () => {
  it('after a change every worker answers the new timeline, never the one it held', async () => {
    const S = await scene();
    for (const res of await readAll(S.path, sw())) assert.deepEqual(res.body.entries.map((e) => e.summary), ['first account']);
    const [before, matches] = stored(S.req.id);
    assert.equal(matches, 'true', 'the digest is of what is stored');
    const cur = await ok('GET', `/v1/chronology-entries/${S.entry.id}`, policeLead());
    await ok('PATCH', `/v1/chronology-entries/${S.entry.id}`, policeLead(), { summary: 'corrected account' }, 200,
      { 'If-Match': cur.headers.get('etag') });
    const reads = await readAll(S.path, sw());
    for (const res of reads) {
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.entries.map((e) => e.summary), ['corrected account']);
    }
    // every answer is the same bytes: held or sent, one timeline
    assert.equal(new Set(reads.map((r) => JSON.stringify(r.body))).size, 1);
    const [after, matchesAfter, built] = stored(S.req.id);
    assert.notEqual(after, before, 'a change is a new digest');
    assert.equal(matchesAfter, 'true');
    assert.equal(built, 'true');
  });

  it('held or sent, every read writes its own audit rows: the read and each child shown', async () => {
    const S = await scene();
    const rows = () => count(`select count(*) from safeguard.audit_events where request_id in
      (select request_id from safeguard.audit_events where action = 'chronology_request.consolidated.read' and resource_id = ${sql(S.req.id)})`);
    const reads = [...await readAll(S.path, sw()), ...await readAll(S.path, sw())];
    assert.ok(reads.every((r) => r.status === 200));
    // one row for the read and one for the child, per read
    assert.equal(rows(), 2 * reads.length);
    for (const r of reads) {
      const rid = r.headers.get('x-request-id');
      assert.equal(psql(`select string_agg(action || ':' || resource_id, ',' order by action) from safeguard.audit_events
        where request_id = ${sql(rid)}`), `child.chronology_request.consolidated.read:${S.child.id},chronology_request.consolidated.read:${S.req.id}`);
    }
  });

  it('a worker holding the timeline still asks: the window passes, the request closes, the referral ends, each 404 at once', async () => {
    for (const ending of ['window', 'request', 'referral']) {
      const S = await scene();
      const police = policeLead();
      const panelReader = who('youth_justice', 'panel_member');
      const viaPanel = `/v1/panel-referrals/${S.referral.id}/chronology`;
      for (const r of await readAll(S.path, police)) assert.equal(r.status, 200);
      for (const r of await readAll(viaPanel, panelReader)) assert.equal(r.status, 200);
      if (ending === 'window') psql(`update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = ${sql(S.req.id)}`);
      if (ending === 'request') await ok('POST', `/v1/chronology-requests/${S.req.id}/closure`, sw());
      if (ending === 'referral') {
        await ok('POST', `/v1/panel-referrals/${S.referral.id}/decision`, who('police', 'panel_chair'), { outcome: 'accepted' });
        await ok('POST', `/v1/panel-referrals/${S.referral.id}/closure`, who('police', 'panel_chair'), { reason: 'risk_reduced' });
      }
      const audited = count(`select count(*) from safeguard.audit_events where resource_id = ${sql(S.child.id)}`);
      if (ending !== 'referral') for (const r of await readAll(S.path, police)) problem(r, 404, 'not-found');
      for (const r of await readAll(viaPanel, panelReader)) problem(r, 404, 'not-found');
      assert.equal(count(`select count(*) from safeguard.audit_events where resource_id = ${sql(S.child.id)}`), audited,
        `${ending}: a refused read audits nothing`);
      // the requester still reads it, from whatever its workers hold
      const mine = await ok('GET', S.path, sw());
      assert.deepEqual(mine.body.entries.map((e) => e.id), [S.entry.id]);
    }
  });

  it('the database sends entries only for a digest it does not store, and only to a reader', async () => {
    const S = await scene();
    await ok('GET', S.path, sw());
    const [digest] = stored(S.req.id);
    const read = (who_, have) => asApi(who_, `select coalesce(digest, '-') || '|' || (entries is null) || '|' || (items is null)
      from safeguard.consolidated_read(${sql(S.req.id)}, 'chronology_request.consolidated.read', 'chronology_request',
      ${sql(S.req.id)}, null, 'child.chronology_request.consolidated.read', ${have === null ? 'null' : sql(have)})`);
    const csc = { agency: 'csc', roles: 'social_worker' };
    assert.equal(read(csc, digest).out, `${digest}|true|true`, 'the digest held: no entries');
    assert.equal(read(csc, null).out, `${digest}|false|false`, 'nothing held: the entries');
    assert.equal(read(csc, digest.replace(/^./, (c) => (c === '0' ? '1' : '0'))).out, `${digest}|false|false`, 'another digest: the entries');
    // an agency that may not read it gets no row, whatever digest it names
    assert.equal(read({ agency: 'health', roles: 'safeguarding_lead' }, digest).out, '');
    assert.equal(read({ agency: 'education', roles: 'practitioner' }, null).out, '');
  });

  it('the old call (021) builds with the digest too, so no stored timeline is kept under another build\'s digest', async () => {
    const S = await scene();
    await ok('GET', S.path, sw());
    const [before] = stored(S.req.id);
    const cur = await ok('GET', `/v1/chronology-entries/${S.entry.id}`, policeLead());
    await ok('PATCH', `/v1/chronology-entries/${S.entry.id}`, policeLead(), { summary: 'amended through the old call' }, 200,
      { 'If-Match': cur.headers.get('etag') });
    // the release before 029 reads through the six-argument call, and commits
    const old = psql(`begin; set local role safeguard_api;
      select set_config('app.sub', 'old-release', true), set_config('app.agency', 'csc', true),
             set_config('app.roles', 'social_worker', true), set_config('app.request_id', 'old-release', true);
      select entries from safeguard.consolidated_read(${sql(S.req.id)}, 'x', 'chronology_request', ${sql(S.req.id)}, null, 'x');
      commit;`);
    assert.match(old, /amended through the old call/);
    const [after, matches, built] = stored(S.req.id);
    assert.notEqual(after, before);
    assert.equal(matches, 'true');
    assert.equal(built, 'true');
    const res = await ok('GET', S.path, sw());
    assert.deepEqual(res.body.entries.map((e) => e.summary), ['amended through the old call']);
  });
});

describe('the memory a worker holds timelines in (SG_TIMELINE_CACHE_MB)', () => {
  it('is range-checked at start: 0 (hold none) to 1024; anything else refuses to start and says why', () => {
    assertSettingRange('SG_TIMELINE_CACHE_MB', [undefined, '', '0', '32', '1024'],
      ['-1', '1025', '32M', '1e3', ' 32', '+32', '99999999999999999999'],
      /refusing to start.*SG_TIMELINE_CACHE_MB must be an integer from 0 to 1024/);
  });
});
