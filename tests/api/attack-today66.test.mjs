// A hostile partner agency against three changes: 066's referral document
// (it must be 031's, byte for byte, for every caller and every state, read
// as the caller), the referrals list's first page from (-infinity, nil uuid)
// (every page walked, edited cursors), and nginx's 404 for every method on a
// path it does not serve (with 405 and Allow only where GET answers).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { psql, BASE } from './lib/client.mjs';
import { who, ROLES, call, ok, problem, makePanel, makeChild, refer, accept, makeMeeting, today, sql, DOC_031 } from './lib/panels.mjs';

const AGENCIES = ['police', 'youth_justice', 'csc', 'health', 'education', 'voluntary', 'mental_health', 'partnership'];
const chair = () => who('police', 'panel_chair');
const yj = () => who('youth_justice', 'panel_member');
const subOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sub;
// every caller the API takes (a social_worker token is CSC's only)
const CALLERS = AGENCIES.flatMap((a) => ROLES.filter((r) => r !== 'social_worker' || a === 'csc').map((r) => [a, r]));

const DOC_NOW = 'select j.doc from safeguard.panel_referral_doc(r) j(doc)';

// One statement run as the API's role with a caller's identity set as the
// pool sets it (begin_request), in a transaction rolled back: its one text.
function asCaller(agency, roles, sub, statement) {
  const out = psql(`begin; set local role safeguard_api;
    select 'ID:' || safeguard.begin_request(${sql(sub)}, ${sql(agency)}, ${sql(roles)}, 'attack66', '', '')::text;
    select 'OUT:' || coalesce((${statement})::text, 'NULL'); rollback;`);
  const line = out.split('\n').find((l) => l.startsWith('OUT:'));
  assert.ok(line !== undefined, out);
  return line.slice(4);
}

describe('066: a referral\'s document is 031\'s, byte for byte, for every caller and every state', () => {
  let panel, other;
  const refs = {};
  let rows; // every referral of both panels as jsonb rows read by the administrator

  before(async () => {
    panel = await makePanel();
    other = await makePanel({ chair: 'csc', members: ['youth_justice', 'police', 'health'] });
    // names: unicode, quotes and escapes through the API; over-long values and control characters by hand
    const uni = await makeChild('csc', { first_name: 'Zoë "Jo" O\'Neil \\ 🙂', last_name: 'Ñúñez‑Łódź 北京 \u2028x' });
    const long = await makeChild('csc', { first_name: 'A'.repeat(100), last_name: 'é'.repeat(100) });
    const ctl = await makeChild('csc');
    psql(`update safeguard.children set first_name = ${sql('x\t\n\u0001\u001f\u007f</script>' + 'ÿ'.repeat(5000))},
      last_name = ${sql('"\\u0000 \'' + 'q'.repeat(3000))} where id = ${sql(ctl.id)}`);
    const plain = await Promise.all([1, 2, 3, 4, 5].map(() => makeChild('csc')));
    refs.submitted = await refer(panel, uni);
    refs.accepted = await refer(panel, long);
    refs.declined = await refer(panel, ctl);
    refs.closed = await refer(panel, plain[0]);
    refs.reopened = await refer(panel, plain[1]);
    refs.discussed = await refer(panel, plain[2], undefined, { risk_level: 'low' });
    refs.emptyHistory = await refer(panel, plain[3]);
    refs.otherPanel = await refer(other, plain[4], who('csc', 'social_worker'));
    await accept(refs.accepted);
    await ok('POST', `/v1/panel-referrals/${refs.declined.id}/decision`, chair(), { outcome: 'declined', reason: 'no "offending" risk \u00e9' });
    await accept(refs.closed);
    await ok('POST', `/v1/panel-referrals/${refs.closed.id}/closure`, chair(), { reason: 'risk_reduced', note: 'closed ✓' });
    await accept(refs.reopened);
    await ok('POST', `/v1/panel-referrals/${refs.reopened.id}/closure`, chair(), { reason: 'risk_reduced' });
    await ok('POST', `/v1/panel-referrals/${refs.reopened.id}/reopening`, chair(), { reason: 'missing again' });
    await accept(refs.discussed);
    // two held meetings: the later discussion wins; a meeting of another panel discusses nothing here
    const m1 = await makeMeeting(panel, [refs.discussed, refs.reopened]);
    await ok('POST', `/v1/panel-meetings/${m1.id}/discussions`, yj(), {
      referral_id: refs.discussed.id, summary: 'first', risk_level: 'high', next_review_date: today(30) }, 201);
    await ok('POST', `/v1/panel-meetings/${m1.id}/discussions`, yj(), {
      referral_id: refs.reopened.id, summary: 'reopened case', risk_level: 'low', next_review_date: null }, 201);
    const m2 = await makeMeeting(panel, [refs.discussed]);
    await ok('POST', `/v1/panel-meetings/${m2.id}/discussions`, yj(), {
      referral_id: refs.discussed.id, summary: 'second', risk_level: 'medium', next_review_date: today(7) }, 201);
    psql(`delete from safeguard.panel_referral_events where referral_id = ${sql(refs.emptyHistory.id)}`);
    rows = psql(`select to_jsonb(r)::text from safeguard.panel_referrals r where panel_id in (${sql(panel.id)}, ${sql(other.id)})
      order by created_at, id`).split('\n');
    assert.equal(rows.length, 8);
  });

  it('in SQL, as the API role with every agency\'s and role\'s identity, every referral row gives 031\'s text (RLS on what it embeds included)', () => {
    // each row fed to both functions whether or not the caller may read the referral itself,
    // so children, events, discussions and meetings are read under the caller's policies
    const values = rows.map((j) => `(jsonb_populate_record(null::safeguard.panel_referrals, ${sql(j)}))`).join(',');
    const stmt = `select coalesce(string_agg(case when (${DOC_031})::text is distinct from (${DOC_NOW})::text
        then r.id::text || ' 031=' || coalesce((${DOC_031})::text, 'NULL') || ' 066=' || coalesce((${DOC_NOW})::text, 'NULL') end, E'\\n'), '')
        || '|' || count(*) || '|' || count(*) filter (where (${DOC_031}) -> 'child' = 'null'::jsonb)
        || '|' || count(*) filter (where (${DOC_031}) -> 'history' = '[]'::jsonb)
      from (select (x).* from (values ${values}) v(x)) r`;
    const seenBy = new Map();
    for (const [agency, role] of [...CALLERS, ['police', 'panel_chair,panel_member'], ['csc', 'social_worker,panel_chair']]) {
      const [diff, n, noChild, noHistory] = asCaller(agency, role, `${agency}-${role}-doc`, stmt).split('|');
      assert.equal(diff, '', `${agency}/${role}: 066 differs from 031`);
      assert.equal(n, '8');
      seenBy.set(`${agency}/${role}`, [Number(noChild), Number(noHistory)]);
    }
    // the case list export's statement (exports.c), with 031's document in place of 066's: the same rows
    const exportWith = (doc) => `select coalesce(string_agg(concat_ws('|', r.id, r.child_id, c.first_name, c.last_name, c.date_of_birth,
        r.status, j.doc->>'current_risk_level', r.risk_level, j.doc->>'next_review_date', r.referring_agency,
        safeguard.panel_instant(r.created_at), r.closure_reason), E'\\n' order by r.created_at, r.id), '')
      from safeguard.panel_referrals r left join safeguard.children c on c.id = r.child_id
      cross join lateral (${doc}) as j(doc) where r.panel_id = ${sql(panel.id)}`;
    for (const [agency, role] of CALLERS) {
      const sub = `${agency}-${role}-export`;
      const was = asCaller(agency, role, sub, exportWith(DOC_031));
      assert.equal(asCaller(agency, role, sub, exportWith(DOC_NOW)), was, `${agency}/${role} export`);
    }
    // the comparison covered callers that see every child and callers that see none, full and empty histories
    assert.deepEqual(seenBy.get('csc/social_worker')[0], 0);
    assert.ok([...seenBy.values()].some(([c]) => c === 8), JSON.stringify([...seenBy]));
    assert.ok([...seenBy.values()].some(([, h]) => h === 8), JSON.stringify([...seenBy]));
    assert.ok([...seenBy.values()].some(([, h]) => h === 1), JSON.stringify([...seenBy]));
  });

  it('the list and each GET answer 031\'s document as the caller, every agency and role', async () => {
    const mine = Object.entries(refs).filter(([k]) => k !== 'otherPanel').map(([, r]) => r.id);
    for (const [agency, role] of CALLERS) {
      const token = who(agency, role);
      const sub = subOf(token);
      const list = await call('GET', `/v1/panels/${panel.id}/referrals?limit=200`, token);
      if (list.status === 200) {
        assert.deepEqual(list.body.items.map((i) => i.id).sort(), [...mine].sort(), `${agency}/${role}`);
        for (const item of list.body.items) {
          const want = asCaller(agency, role, sub, `select (${DOC_031})::text from safeguard.panel_referrals r where r.id = ${sql(item.id)}`);
          assert.ok(list.text.includes(want), `${agency}/${role} list ${item.id}`);
          assert.deepEqual(item, JSON.parse(want));
        }
      } else {
        assert.ok([403, 404].includes(list.status), `${agency}/${role}: ${list.status}`);
      }
      for (const id of mine) {
        const one = await call('GET', `/v1/panel-referrals/${id}`, token);
        if (one.status !== 200) {
          assert.ok([403, 404].includes(one.status), `${agency}/${role} ${id}: ${one.status}`);
          continue;
        }
        const want = asCaller(agency, role, sub, `select (${DOC_031})::text from safeguard.panel_referrals r where r.id = ${sql(id)}`);
        assert.equal(one.text, want, `${agency}/${role} GET ${id}`);
      }
    }
  });

  it('the state changes the document shows: declined reason, closure, reopened, latest discussion, empty history', async () => {
    const get = async (id, token = who('csc', 'social_worker')) => (await ok('GET', `/v1/panel-referrals/${id}`, token)).body;
    const d = await get(refs.declined.id);
    assert.deepEqual([d.status, d.open, d.decline_reason], ['declined', false, 'no "offending" risk \u00e9']);
    assert.equal(d.child.first_name, 'x\t\n\u0001\u001f\u007f</script>' + 'ÿ'.repeat(5000));
    assert.equal(d.child.last_name, '"\\u0000 \'' + 'q'.repeat(3000));
    const c = await get(refs.closed.id);
    assert.deepEqual([c.status, c.open, c.closure_reason, c.decline_reason], ['closed', false, 'risk_reduced', null]);
    const r = await get(refs.reopened.id, chair());
    assert.deepEqual([r.status, r.open, r.history.map((h) => h.status)], ['reopened', true, ['submitted', 'accepted', 'closed', 'reopened']]);
    assert.deepEqual([r.current_risk_level, r.next_review_date], ['low', null]);
    const s = await get(refs.discussed.id, chair());
    assert.deepEqual([s.risk_level, s.current_risk_level, s.next_review_date], ['low', 'medium', today(7)]);
    assert.deepEqual((await get(refs.emptyHistory.id)).history, []);
    // the referrer that reads no panel cases sees the referral as made: no discussion's risk or review
    const asMade = await get(refs.discussed.id);
    assert.deepEqual([asMade.current_risk_level, asMade.next_review_date], ['low', null]);
    // youth justice sees the child only through the open referral; once declined, not at all
    const u = await get(refs.submitted.id, yj());
    assert.deepEqual(u.child.first_name, 'Zoë "Jo" O\'Neil \\ 🙂');
    assert.equal((await get(refs.declined.id, yj())).child, null);
  });
});

describe('the referrals list\'s pages from (-infinity, nil uuid): every page, edited cursors', () => {
  let panel, other, ids, byStatus;
  const cursor = (parts) => `c1.${Buffer.from(JSON.stringify(parts)).toString('base64url')}`;
  const NIL = '00000000-0000-0000-0000-000000000000';
  const FFF = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
  const auditedChildren = (requestId) => psql(`select coalesce(string_agg(resource_id, ',' order by resource_id), '')
    from safeguard.audit_events where request_id = ${sql(requestId)} and action = 'child.panel_referral.read' and resource_type = 'child'`);

  before(async () => {
    panel = await makePanel();
    other = await makePanel();
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await refer(panel, await makeChild('csc')));
    await accept(made[1]);
    await accept(made[3]);
    await ok('POST', `/v1/panel-referrals/${made[5].id}/decision`, chair(), { outcome: 'declined', reason: 'no' });
    // two referrals at the same instant: the id breaks the tie
    // (created_at is fixed by a trigger: the administrator skips it in this session only)
    psql(`set session_replication_role = replica; update safeguard.panel_referrals set created_at = (select created_at from safeguard.panel_referrals where id = ${sql(made[2].id)})
      where id = ${sql(made[4].id)}`);
    await refer(other, await makeChild('csc'));
    const rows = psql(`select id || ' ' || status || ' ' || child_id from safeguard.panel_referrals where panel_id = ${sql(panel.id)}
      order by created_at, id`).split('\n').map((l) => l.split(' '));
    ids = rows.map(([id]) => id);
    byStatus = (s) => rows.filter(([, st]) => st === s).map(([id]) => id);
    assert.equal(ids.length, 7);
  });

  async function walk(token, query) {
    const seen = [];
    let next = null;
    for (let n = 0; n < 50; n++) {
      const res = await ok('GET', `/v1/panels/${panel.id}/referrals?${query}${next ? `&cursor=${next}` : ''}`, token);
      const page = res.body.items;
      assert.deepEqual(auditedChildren(res.headers.get('x-request-id')), page.map((i) => i.child_id).sort().join(','), `audit ${query}`);
      for (const i of page) assert.equal(i.panel_id, panel.id);
      seen.push(...page.map((i) => i.id));
      next = res.body.next_cursor ?? null;
      if (!next) return seen;
    }
    assert.fail('no last page');
  }

  it('walks every page at limit 1, 2 and 200, with and without the status filter, as the chair and a member: each once, in order', async () => {
    for (const token of [chair(), yj(), who('csc', 'panel_member')]) {
      for (const limit of [1, 2, 200]) {
        assert.deepEqual(await walk(token, `limit=${limit}`), ids, `limit ${limit}`);
        for (const s of ['submitted', 'accepted', 'declined', 'closed']) {
          assert.deepEqual(await walk(token, `limit=${limit}&status=${s}`), byStatus(s), `limit ${limit} status ${s}`);
        }
      }
    }
  });

  it('edited cursors: far past and the nil uuid is the first page, far future empty, another panel\'s cursor moves only the position', async () => {
    const page = async (c, q = 'limit=200') => {
      const res = await ok('GET', `/v1/panels/${panel.id}/referrals?${q}&cursor=${c}`, yj());
      assert.deepEqual(auditedChildren(res.headers.get('x-request-id')), res.body.items.map((i) => i.child_id).sort().join(','));
      return res.body.items.map((i) => i.id);
    };
    assert.deepEqual(await page(cursor(['1900-01-01 00:00:00+00', NIL])), ids);
    assert.deepEqual(await page(cursor(['1900-01-01 00:00:00.000001+00', FFF])), ids);
    assert.deepEqual(await page(cursor(['9999-12-31 23:59:59.999999+00', FFF])), []);
    assert.deepEqual(await page(cursor(['9999-12-31 23:59:59+00', NIL])), []);
    // a position at a referral's own instant with the nil / ffff uuid: that instant's rows from the tie on
    const at = psql(`select created_at::text from safeguard.panel_referrals where id = ${sql(ids[2])}`);
    const tied = psql(`select count(*) from safeguard.panel_referrals where panel_id = ${sql(panel.id)} and created_at = ${sql(at)}`);
    assert.equal(tied, '2');
    assert.deepEqual(await page(cursor([at, NIL])), ids.slice(2));
    assert.deepEqual(await page(cursor([at, FFF])), ids.slice(4));
    // another panel's cursor: a position only, never its rows
    const theirs = (await ok('GET', `/v1/panels/${other.id}/referrals?limit=1`, chair())).body;
    const otherId = theirs.items[0].id;
    const res = await ok('GET', `/v1/panels/${other.id}/referrals?limit=1`, chair());
    assert.equal(res.body.next_cursor ?? null, null);
    const otherAt = psql(`select created_at::text from safeguard.panel_referrals where id = ${sql(otherId)}`);
    const got = await page(cursor([otherAt, otherId]));
    assert.ok(!got.includes(otherId));
    assert.deepEqual(got, []); // the other panel's referral was made after all of this one's
    // a cursor this panel issued, used with the status filter
    const first = (await ok('GET', `/v1/panels/${panel.id}/referrals?limit=3`, yj())).body;
    assert.deepEqual(await page(first.next_cursor, 'limit=200&status=submitted'), byStatus('submitted').filter((id) => ids.indexOf(id) > 2));
  });

  it('malformed or out-of-range cursors are 400 invalid-cursor, never a 500, and audit nothing', async () => {
    const bad = [
      cursor(['-infinity', NIL]), cursor(['infinity', FFF]), cursor(['-infinity', FFF]), cursor(['infinity', NIL]),
      cursor(['epoch', NIL]), cursor(['now', NIL]), cursor(['today', NIL]), cursor(['allballs', NIL]),
      cursor(['0001-01-01 00:00:00+00', NIL]), cursor(['1899-12-31 23:59:59+00', NIL]), cursor(['10000-01-01 00:00:00+00', NIL]),
      cursor(['2026-02-29 00:00:00+00', NIL]), cursor(['2026-01-01 24:00:00+00', NIL]), cursor(['2026-01-01 23:59:60+00', NIL]),
      cursor(['2026-01-01 00:00:00+01', NIL]), cursor(['2026-01-01 00:00:00Z', NIL]), cursor(['2026-01-01T00:00:00+00', NIL]),
      cursor(['2026-01-01 00:00:00.1234567+00', NIL]), cursor(['2026-01-01 00:00:00+00 BC', NIL]),
      cursor(['2026-01-01 00:00:00+00', 'not-a-uuid']), cursor(['2026-01-01 00:00:00+00', '']), cursor(['2026-01-01 00:00:00+00', `${NIL}x`]),
      cursor(['2026-01-01 00:00:00+00']), cursor(['2026-01-01 00:00:00+00', NIL, NIL]), cursor([null, NIL]), cursor([1, NIL]),
      cursor({ a: 1 }), cursor('x'), cursor([]), 'c1.', 'c1.!!!', 'c2.' + cursor(['2026-01-01 00:00:00+00', NIL]).slice(3),
      `s1.${'A'.repeat(40)}`, 'c1.' + Buffer.from('["2026-01-01 00:00:00+00","' + NIL + '"').toString('base64url'),
      'c1.' + Buffer.from('["2026-01-01 00:00:00+00\\u0000","' + NIL + '"]').toString('base64url'),
      encodeURIComponent(cursor(['2026-01-01 00:00:00+00', NIL]) + '='), `c1.${'A'.repeat(1020)}`,
    ];
    for (const c of bad) {
      for (const token of [chair(), yj()]) {
        const res = await call('GET', `/v1/panels/${panel.id}/referrals?cursor=${c.includes('%') ? c : encodeURIComponent(c)}`, token);
        assert.notEqual(res.status, 500, c);
        problem(res, 400, c.length > 1024 ? 'invalid-query' : 'invalid-cursor');
        assert.equal(auditedChildren(res.headers.get('x-request-id')), '', c);
      }
    }
    // the page's size and the filter are checked as before
    for (const q of ['limit=0', 'limit=201', 'limit=-1', 'limit=1.5', 'limit=x', 'status=open', 'status=', 'status=Submitted']) {
      const res = await call('GET', `/v1/panels/${panel.id}/referrals?${q}`, chair());
      problem(res, 400, 'invalid-query');
    }
    // an upper-case uuid in a cursor: a position like any other
    const upper = await ok('GET', `/v1/panels/${panel.id}/referrals?cursor=${cursor(['1900-01-01 00:00:00+00', FFF.toUpperCase()])}`, chair());
    assert.deepEqual(upper.body.items.map((i) => i.id), ids);
    // a non-reader learns nothing from a cursor: 404 whatever it sends
    for (const c of [cursor(['-infinity', NIL]), cursor(['1900-01-01 00:00:00+00', NIL])]) {
      problem(await call('GET', `/v1/panels/${panel.id}/referrals?cursor=${c}`, who('health', 'panel_member')), 404, 'not-found');
    }
  });
});

describe('nginx: a path outside /v1 it does not serve is 404 for every method; 405 with Allow only where GET answers', () => {
  const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];
  // node:http with the path as written (a URL would resolve its dot segments before sending)
  const raw = (method, path) => new Promise((resolve, reject) => {
    const u = new URL(BASE);
    const req = http.request({ host: u.hostname, port: u.port, method, path }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
  const allowOf = (res) => (res.headers.allow ?? '').split(',').map((m) => m.trim()).filter(Boolean).sort();

  // Every answer nginx or the pool writes for these paths: a problem (JSON, CSP) unless it is the page itself.
  function assertProblem(res, status, type, what) {
    assert.equal(res.status, status, `${what}: ${res.status} ${res.text.slice(0, 120)}`);
    assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/, what);
    assert.ok(res.headers['content-security-policy'], `${what}: no CSP`);
    if (res.text) {
      assert.doesNotMatch(res.text, /<html/i, what);
      assert.equal(JSON.parse(res.text).type, `/problems/${type}`, what);
    }
  }

  it('paths nothing serves: 404 not-found for every method, no Allow', async () => {
    for (const path of ['/', '/nothing', '/v1', '/v1/', '/v1/nothing', '/problems/Bad', '/problems/not-found/', '/openapi.yaml/',
      '/docsx', '/%6eothing', '//nothing', '/v2/children', '/problems/', '/problems', '/%2564ocs/', '/DOCS/', '/openapi.yaml;x',
      '/problems/not-found%2F', '/metrics/', '/healthz/', '/readyz%20', '/docs/..']) {
      for (const m of METHODS) {
        const res = await raw(m, path);
        assertProblem(res, 404, 'not-found', `${m} ${path}`);
        assert.equal(res.headers.allow, undefined, `${m} ${path}`);
      }
    }
  });

  it('the docs, the contract and the pool\'s own paths: GET and HEAD answer, every other method 405 with Allow: GET, HEAD', async () => {
    for (const path of ['/docs/', '/docs/problems.html', '/docs/index.html', '/openapi.yaml', '/%64ocs/', '/%6fpenapi.yaml', '//docs/',
      '/healthz', '/readyz', '/metrics',
      '/docs%2F', '/docs%2Fproblems.html', '/./docs/', '/v1/../docs/', '/docs/.', '/openapi.yaml?']) {
      for (const m of ['GET', 'HEAD']) {
        const res = await raw(m, path);
        assert.equal(res.status, 200, `${m} ${path}`);
        assert.equal(res.headers['x-content-type-options'], 'nosniff', `${m} ${path}`);
      }
      for (const m of METHODS.slice(2)) {
        const res = await raw(m, path);
        assertProblem(res, 405, 'method-not-allowed', `${m} ${path}`);
        assert.deepEqual(allowOf(res), ['GET', 'HEAD'], `${m} ${path}`);
      }
    }
  });

  it('a path that leaves /docs by dot segments reaches the route it names, with that route\'s Allow', async () => {
    for (const path of ['/docs/../v1/children', '/docs/%2e%2e/v1/children', '/docs/./../v1/children']) {
      assertProblem(await raw('GET', path), 401, 'unauthorized', `GET ${path}`);
      for (const m of ['PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE']) {
        const res = await raw(m, path);
        assertProblem(res, 405, 'method-not-allowed', `${m} ${path}`);
        assert.deepEqual(allowOf(res), ['GET', 'HEAD', 'POST'], `${m} ${path}`);
      }
    }
    // above the root: nginx's own 400, as a problem
    for (const path of ['/../etc/passwd', '/docs/%2e%2e/%2e%2e/etc/passwd', '/docs/..%2f..%2fetc/passwd', '/openapi.yaml%00']) {
      for (const m of ['GET', 'PUT', 'TRACE']) assertProblem(await raw(m, path), 400, 'invalid-request', `${m} ${path}`);
    }
  });

  it('a file under /docs/ that does not exist: 404 for every method, as GET answers it', async () => {
    for (const path of ['/docs/nothing', '/docs/x/y.html', '/%64ocs/nothing', '/docs/problems.html/']) {
      assertProblem(await raw('GET', path), 404, 'not-found', `GET ${path}`);
      for (const m of METHODS.slice(2)) {
        const res = await raw(m, path);
        assertProblem(res, 404, 'not-found', `${m} ${path}`);
        assert.equal(res.headers.allow, undefined, `${m} ${path}`);
      }
    }
  });

  // The redirects keep nginx's short HTML body (a browser's way to the docs page); they carry the
  // headers every answer of nginx's carries, and refuse every other method as the files do.
  it('/docs and /problems/<slug> (redirects): a method other than GET and HEAD is 405 Allow: GET, HEAD, as TRACE is', async () => {
    for (const path of ['/docs', '//docs', '/problems/not-found', '/problems/no-such-slug']) {
      for (const m of ['GET', 'HEAD']) {
        const res = await raw(m, path);
        assert.ok([301, 302].includes(res.status), `${m} ${path}: ${res.status}`);
        assert.equal(res.headers['x-content-type-options'], 'nosniff', `${m} ${path}`);
        assert.match(res.headers['x-request-id'] ?? '', /^[0-9a-f]{32}$/, `${m} ${path}`);
      }
      for (const m of METHODS.slice(2)) {
        const res = await raw(m, path);
        assertProblem(res, 405, 'method-not-allowed', `${m} ${path}`);
        assert.deepEqual(allowOf(res), ['GET', 'HEAD'], `${m} ${path}`);
      }
    }
  });

  it('TRACE on /docs and /problems/<slug> is 405 Allow: GET, HEAD (as a problem with CSP), never nginx\'s HTML', async () => {
    for (const path of ['/docs', '//docs', '/problems/not-found', '/problems/no-such-slug']) {
      const res = await raw('TRACE', path);
      assertProblem(res, 405, 'method-not-allowed', `TRACE ${path}`);
      assert.deepEqual(allowOf(res), ['GET', 'HEAD'], `TRACE ${path}`);
    }
  });
});
