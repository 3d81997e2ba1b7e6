// attack-audit.test.mjs - a hostile partner agency against the audit trail
// (GET /v1/audit-events), in particular its path for an agency that sees few
// children (049: audit_children_seen lists them, the page reads each one's
// newest events and merges them; past the cap it walks the trail as before).
//
// Every role of every agency, every filter: an auditor pages through exactly
// the rows row-level security (audit_event_visible) admits in the window,
// nothing lost or repeated, also across events with the same occurred_at and
// events whose resource_id is a seen child's id written in another form; the
// others are refused.  Forged and borrowed cursors and limits at and past
// the bounds never answer 500 nor show a row the caller may not see.  Access
// that ends (a declared involvement, a chronology request's window or the
// request itself, a panel referral, a CME case) takes the child's events off
// the auditor's next page.  As the API role: audit_children_seen for every
// identity, child_candidates refused.  The cap: an agency whose candidates
// are exactly the cap reads the few children's events, one more walks, and
// both page exactly their part.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, psql } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import { ROLES, sql, asApi } from './lib/panels.mjs';

const AGENCIES = ['csc', 'police', 'health', 'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership'];
const ACTORS = ['csc', 'police', 'health', 'mental_health', 'education', 'district', 'voluntary'];
const TAG = randomUUID().slice(0, 8);
// this run's events: an hour of a random day in 2001, so reruns never meet
const BASE = Date.UTC(2001, 0, 1) + Math.floor(Math.random() * 360) * 86400e3;
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
const FROM = iso(BASE), TO = iso(BASE + 3600e3);

function caller(agency, roles) {
  const sub = `aa-${TAG}-${agency}-${[].concat(roles).join('-')}`;
  return { agency, roles: [].concat(roles).join(','), sub, token: tokenFor(agency, roles, sub) };
}

// The rows row-level security shows the caller, newest first: the truth.
function truth(c, where = 'true') {
  const out = psql(`begin; set local role safeguard_api;
    select set_config('app.sub', ${sql(c.sub)}, true), set_config('app.agency', ${sql(c.agency)}, true),
           set_config('app.roles', ${sql(c.roles)}, true), set_config('app.request_id', 'aa-truth', true);
    select 'ids:' || coalesce(string_agg(id::text, ',' order by occurred_at desc, id desc), '')
    from safeguard.audit_events where ${where};
    rollback;`).split('\n').pop().replace(/^ids:/, '');
  return out.split(',').filter(Boolean);
}
const windowed = (extra = 'true') => `occurred_at >= ${sql(FROM)} and occurred_at < ${sql(TO)} and ${extra}`;

// What audit_children_seen answers the caller, as the API role.
function seen(c) {
  const r = asApi({ agency: c.agency, roles: c.roles, sub: c.sub },
    `select coalesce(array_to_string(safeguard.audit_children_seen(), ','), 'NULL')`);
  assert.equal(r.err, undefined, r.err);
  return r.out.trim();
}

const cursorOf = (c) => JSON.parse(Buffer.from(c.slice(3), 'base64url').toString());
const forge = (parts) => `c1.${Buffer.from(JSON.stringify(parts)).toString('base64url')}`;

// Every page of a query to its end: ids in order, none twice.
async function listAll(token, query, limit, start = null) {
  const ids = [];
  let cursor = start;
  for (let pages = 0; ; pages++) {
    assert.ok(pages < 2000, 'the list ends');
    const res = await request('GET', `/v1/audit-events?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
    assert.equal(res.status, 200, `${query}: ${res.status} ${res.text}`);
    assert.ok(res.body.items.length <= limit);
    ids.push(...res.body.items.map((e) => e.id));
    cursor = res.body.next_cursor;
    if (!cursor) break;
    assert.equal(res.body.items.length, limit, 'a page with a next cursor is full');
  }
  assert.equal(new Set(ids).size, ids.length, `${query}: no event twice`);
  return ids;
}

describe('a hostile agency against the audit trail', () => {
  const kid = {};
  for (const k of ['net', 'reqOpen', 'reqPast', 'reqClosed', 'panOpen', 'panClosed', 'cmeLive', 'cmeClosed', 'hidden',
    'endNet', 'endReq', 'endPan', 'endCme']) kid[k] = randomUUID();
  const req = { open: randomUUID(), past: randomUUID(), closed: randomUUID(), end: randomUUID() };
  const panel = randomUUID();
  const ref = { open: randomUUID(), closed: randomUUID(), end: randomUUID() };
  const cme = { live: randomUUID(), closed: randomUUID(), end: randomUUID() };
  const pad = []; // children padded into district's network for the cap
  const variants = (id) => [id, id.toUpperCase(), id.replace(/-/g, '')];
  const auditors = AGENCIES.map((a) => caller(a, 'auditor'));
  const cmeAuditor = caller('education', ['auditor', 'safeguarding_lead']); // an auditor who is also the CME officer

  before(() => {
    const kids = Object.values(kid);
    // every kid: CSC's; each also seen by one way, or once seen and no longer
    const events = [];
    let n = 0;
    for (const id of kids) {
      for (const actor of ACTORS) {
        for (const rid of variants(id)) {
          // forty instants in the window, so most pages end inside a tie
          events.push(`(${sql(iso(BASE + (Math.floor(n / 9) % 13) * 1000 + 500))}, ${sql(`aa-${TAG}`)}, ${sql(`aa-${TAG}-${actor}`)}, ${sql(actor)},
            ${sql(n % 3 ? 'child.read' : 'child.update')}, 'child', ${sql(rid)}, 'success')`);
          n++;
        }
      }
    }
    for (const actor of ACTORS) {
      events.push(`(${sql(iso(BASE + (n++ % 40) * 1000 + 500))}, ${sql(`aa-${TAG}`)}, ${sql(`aa-${TAG}-${actor}`)}, ${sql(actor)}, 'family.read', 'family', ${sql(randomUUID())}, 'success')`);
      events.push(`(${sql(iso(BASE + (n++ % 40) * 1000 + 500))}, ${sql(`aa-${TAG}`)}, ${sql(`aa-${TAG}-${actor}`)}, ${sql(actor)}, 'child.read', 'child', null, 'success')`);
    }
    // stored in ascending id order: an index's ties then come lowest id first,
    // the opposite of the trail's order (a read that ends a tie by its own
    // order rather than by id loses rows)
    const withIds = events.map((e) => [randomUUID(), e]).sort((x, y) => (x[0] < y[0] ? -1 : 1));
    events.splice(0, events.length, ...withIds.map(([id, e]) => `(${sql(id)}, ${e.slice(1)}`));
    const past = `now() - interval '200 days'`;
    psql(`set session_replication_role = replica;
      insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency)
        select k::uuid, 'Attack', 'Audit', '2012-03-04', 'csc' from unnest(array[${kids.map(sql).join(', ')}]) k;
      insert into safeguard.child_network (child_id, agency, how, reason, joined_by)
        select k::uuid, 'csc', 'created', null, 'aa' from unnest(array[${kids.map(sql).join(', ')}]) k;
      insert into safeguard.child_network (child_id, agency, how, reason, joined_by) values
        (${sql(kid.net)}, 'police', 'declared', 'attack audit', 'aa'), (${sql(kid.net)}, 'voluntary', 'declared', 'attack audit', 'aa'),
        (${sql(kid.endNet)}, 'voluntary', 'declared', 'attack audit', 'aa');
      insert into safeguard.chronology_requests (id, requesting_agency, requested_by, child_id, purpose, lawful_basis,
          period_from, period_to, respond_by, share_until, closed_at, closed_by, created_at) values
        (${sql(req.open)}, 'csc', 'aa', ${sql(kid.reqOpen)}, 'attack audit', 'consent', '2010-01-01', '2020-01-01', current_date + 10,
         now() + interval '30 days', null, null, now()),
        (${sql(req.past)}, 'csc', 'aa', ${sql(kid.reqPast)}, 'attack audit', 'consent', '2010-01-01', '2020-01-01', current_date - 100,
         now() - interval '1 day', null, null, ${past}),
        (${sql(req.closed)}, 'csc', 'aa', ${sql(kid.reqClosed)}, 'attack audit', 'consent', '2010-01-01', '2020-01-01', current_date + 10,
         now() + interval '30 days', now() - interval '1 hour', 'aa', now()),
        (${sql(req.end)}, 'csc', 'aa', ${sql(kid.endReq)}, 'attack audit', 'consent', '2010-01-01', '2020-01-01', current_date + 10,
         now() + interval '30 days', null, null, now());
      insert into safeguard.chronology_request_children (request_id, child_id) values
        (${sql(req.open)}, ${sql(kid.reqOpen)}), (${sql(req.past)}, ${sql(kid.reqPast)}),
        (${sql(req.closed)}, ${sql(kid.reqClosed)}), (${sql(req.end)}, ${sql(kid.endReq)});
      insert into safeguard.chronology_request_agencies (request_id, agency)
        select r::uuid, 'health' from unnest(array[${Object.values(req).map(sql).join(', ')}]) r;
      insert into safeguard.panels (id, type, name, chair_agency, created_by) values
        (${sql(panel)}, 'joint_police_yj', ${sql(`attack audit ${TAG}`)}, 'police', 'aa');
      insert into safeguard.panel_members (panel_id, agency) values (${sql(panel)}, 'police'), (${sql(panel)}, 'mental_health');
      insert into safeguard.panel_referrals (id, panel_id, child_id, referring_agency, referred_by, reason, risk_level, status,
          closure_reason, updated_by) values
        (${sql(ref.open)}, ${sql(panel)}, ${sql(kid.panOpen)}, 'csc', 'aa', 'attack audit', 'high', 'accepted', null, 'aa'),
        (${sql(ref.closed)}, ${sql(panel)}, ${sql(kid.panClosed)}, 'csc', 'aa', 'attack audit', 'high', 'closed', 'risk_reduced', 'aa'),
        (${sql(ref.end)}, ${sql(panel)}, ${sql(kid.endPan)}, 'csc', 'aa', 'attack audit', 'high', 'accepted', null, 'aa');
      insert into safeguard.cme_cases (id, child_id, reason, missing_since, what_is_known, notifying_agency, notified_by, status,
          resolution, resolved_on, closed_at, updated_by) values
        (${sql(cme.live)}, ${sql(kid.cmeLive)}, 'not_attending', current_date - 20, 'attack audit', 'csc', 'aa', 'open', null, null, null, 'aa'),
        (${sql(cme.closed)}, ${sql(kid.cmeClosed)}, 'not_attending', current_date - 20, 'attack audit', 'csc', 'aa', 'closed',
         'elective_home_education', current_date - 1, now(), 'aa'),
        (${sql(cme.end)}, ${sql(kid.endCme)}, 'not_attending', current_date - 20, 'attack audit', 'csc', 'aa', 'open', null, null, null, 'aa');
      insert into safeguard.audit_events (id, occurred_at, request_id, actor_sub, actor_agency, action, resource_type, resource_id, outcome)
        values ${events.join(',\n')};`);
  });

  after(() => {
    const kids = [...Object.values(kid), ...pad];
    psql(`set session_replication_role = replica;
      delete from safeguard.cme_cases where id in (${Object.values(cme).map(sql).join(', ')});
      delete from safeguard.panel_referrals where panel_id = ${sql(panel)};
      delete from safeguard.panel_members where panel_id = ${sql(panel)};
      delete from safeguard.panels where id = ${sql(panel)};
      delete from safeguard.chronology_request_agencies where request_id in (${Object.values(req).map(sql).join(', ')});
      delete from safeguard.chronology_request_children where request_id in (${Object.values(req).map(sql).join(', ')});
      delete from safeguard.chronology_requests where id in (${Object.values(req).map(sql).join(', ')});
      delete from safeguard.child_network where child_id = any (array[${kids.map(sql).join(', ')}]::uuid[]);
      delete from safeguard.children where id = any (array[${kids.map(sql).join(', ')}]::uuid[]);`);
  });

  it('only an auditor reads the trail: every other role of every agency is refused', async () => {
    for (const agency of AGENCIES) {
      for (const role of ROLES) {
        if (role === 'auditor') continue;
        const res = await request('GET', `/v1/audit-events?from=${FROM}&to=${TO}`, { token: caller(agency, role).token });
        // a social worker is CSC's only: any other agency's token is not accepted
        assert.equal(res.status, role === 'social_worker' && agency !== 'csc' ? 401 : 403, `${agency} ${role}: ${res.text}`);
      }
    }
  });

  it('each auditor pages through exactly the events row-level security admits, with every filter', async () => {
    const net = kid.net;
    const filters = [
      ['', 'true'],
      [`actor=aa-${TAG}-police`, `actor_sub = ${sql(`aa-${TAG}-police`)}`],
      ['agency=police', `actor_agency = 'police'`],
      ['agency=voluntary', `actor_agency = 'voluntary'`],
      ['action=child.update', `action = 'child.update'`],
      ['resource_type=child', `resource_type = 'child'`],
      ['resource_type=family', `resource_type = 'family'`],
      ...variants(net).map((v) => [`resource_id=${v}`, `resource_id = ${sql(v)}`]),
      ...variants(kid.reqOpen).map((v) => [`resource_id=${v}`, `resource_id = ${sql(v)}`]),
      [`resource_id=${kid.hidden}`, `resource_id = ${sql(kid.hidden)}`],
    ];
    let some = 0;
    for (const c of [...auditors, cmeAuditor]) {
      // the no-filter list paged by 1, 7 and 200; the filters by 7
      for (const limit of [1, 7, 200]) {
        assert.deepEqual(await listAll(c.token, `from=${FROM}&to=${TO}`, limit), truth(c, windowed()), `${c.agency} ${c.roles} by ${limit}`);
      }
      for (const [q, where] of filters.slice(1)) {
        const want = truth(c, windowed(where));
        some += want.length;
        assert.deepEqual(await listAll(c.token, `from=${FROM}&to=${TO}&${q}`, 7), want, `${c.agency} ${c.roles} ${q}`);
      }
      // part of the window, by its instants (from inclusive, to exclusive)
      const from = iso(BASE + 10500), to = iso(BASE + 30500);
      assert.deepEqual(await listAll(c.token, `from=${from}&to=${to}`, 7),
        truth(c, `occurred_at >= ${sql(from)} and occurred_at < ${sql(to)}`), `${c.agency} ${c.roles} part of the window`);
    }
    assert.ok(some > 0);
    // what each sees, named: the ways that admit and the ones that ended
    const about = (c) => new Set(truth(c, windowed(`resource_type = 'child' and actor_agency <> ${sql(c.agency)}`))
      .map((id) => psql(`select resource_id from safeguard.audit_events where id = ${sql(id)}`)));
    const by = Object.fromEntries(auditors.map((c) => [c.agency, about(c)]));
    assert.ok(by.police.has(kid.net) && by.voluntary.has(kid.net) && by.voluntary.has(kid.endNet));
    assert.ok(by.health.has(kid.reqOpen) && by.health.has(kid.endReq) && !by.health.has(kid.reqPast) && !by.health.has(kid.reqClosed));
    assert.ok(by.mental_health.has(kid.panOpen) && by.mental_health.has(kid.endPan) && !by.mental_health.has(kid.panClosed));
    assert.ok(!by.education.has(kid.cmeLive));
    const cmeSees = about(cmeAuditor);
    assert.ok(cmeSees.has(kid.cmeLive) && cmeSees.has(kid.endCme) && !cmeSees.has(kid.cmeClosed));
    for (const c of auditors.slice(0, 8)) {
      // never a child's id in another form, never the hidden child (but to CSC), from another agency's staff
      for (const id of by[c.agency]) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, c.agency);
      if (!['csc', 'partnership'].includes(c.agency)) assert.ok(!by[c.agency].has(kid.hidden), c.agency);
    }
    assert.ok(by.csc.has(kid.hidden));
  });

  it('forged, borrowed and other paths\' cursors and limits at and past the bounds never answer 500 nor show more', async () => {
    const vol = auditors.find((c) => c.agency === 'voluntary');
    const part = truth(vol, windowed());
    const all = new Set(part);
    const first = await request('GET', `/v1/audit-events?from=${FROM}&to=${TO}&limit=3`, { token: vol.token });
    assert.equal(first.status, 200);
    // the partnership's cursor (the whole trail's path), CSC's (the walk), the voluntary one (few)
    const cursors = [];
    for (const c of [auditors[8], auditors[0], vol]) {
      const res = await request('GET', `/v1/audit-events?from=${FROM}&to=${TO}&limit=5`, { token: c.token });
      cursors.push(res.body.next_cursor);
    }
    const [t, id] = cursorOf(cursors[0]);
    const [year] = [t.slice(0, 4)];
    cursors.push(
      forge([t, '00000000-0000-0000-0000-000000000000']), forge([t, 'ffffffff-ffff-ffff-ffff-ffffffffffff']),
      forge([t, id.toUpperCase()]), forge(['9999-12-31 23:59:59.999999+00', id]), forge(['0001-01-01 00:00:00+00', id]),
      forge([`${year}-02-29 00:00:00+00`, id]), forge(['2001-01-01 00:00:00.1234567+00', id]), forge([t.replace('+00', '+01'), id]),
      forge(['infinity', id]), forge(['-infinity', id]), forge([t, 'not-a-uuid']), forge([t]), forge([t, id, id]), forge([t, null]),
      forge([t, 7]), forge({ t, id }), `c1.${'A'.repeat(1020)}`, 'c1.', `c2.${cursors[0].slice(3)}`, `${cursors[0]}=`,
    );
    for (const cursor of cursors) {
      for (const limit of ['1', '200', '0', '201', '-1', '99999999999999999999', '1e2', '', ' 5']) {
        const res = await request('GET', `/v1/audit-events?from=${FROM}&to=${TO}&limit=${encodeURIComponent(limit)}&cursor=${encodeURIComponent(cursor)}`,
          { token: vol.token });
        assert.ok(res.status === 200 || res.status === 400, `${cursor} ${limit}: ${res.status} ${res.text}`);
        if (res.status === 400) {
          assert.ok(['/problems/invalid-cursor', '/problems/invalid-query'].includes(res.body.type), res.text);
          continue;
        }
        for (const e of res.body.items) assert.ok(all.has(e.id), `${cursor}: ${e.id} is not voluntary's`);
      }
    }
    // a borrowed cursor moves the position only: the rest is the borrower's own part after it
    const [bt, bid] = cursorOf(cursors[0]);
    const rest = await listAll(vol.token, `from=${FROM}&to=${TO}`, 4, cursors[0]);
    assert.deepEqual(rest, truth(vol, windowed(`(occurred_at, id) < (${sql(bt)}::timestamptz, ${sql(bid)}::uuid)`)));
  });

  it('access that ends takes the child\'s events off the auditor\'s next page', async () => {
    const health = auditors.find((c) => c.agency === 'health');
    const vol = auditors.find((c) => c.agency === 'voluntary');
    const mh = auditors.find((c) => c.agency === 'mental_health');
    const ends = [
      [vol, kid.endNet, `delete from safeguard.child_network where child_id = ${sql(kid.endNet)} and agency = 'voluntary'`],
      [health, kid.endReq, `update safeguard.chronology_requests set share_until = now() - interval '1 second' where id = ${sql(req.end)}`],
      [mh, kid.endPan, `update safeguard.panel_referrals set status = 'closed', closure_reason = 'risk_reduced' where id = ${sql(ref.end)}`],
      [cmeAuditor, kid.endCme, `update safeguard.cme_cases set status = 'closed', resolution = 'elective_home_education',
        resolved_on = current_date, closed_at = now() where id = ${sql(cme.end)}`],
    ];
    const childEvents = (id) => new Set(psql(`select id from safeguard.audit_events where resource_type = 'child' and resource_id = ${sql(id)}
      and ${windowed()}`).split('\n'));
    for (const [c, child, end] of ends) {
      const about = childEvents(child);
      const before0 = await listAll(c.token, `from=${FROM}&to=${TO}`, 200);
      assert.ok(before0.some((id) => about.has(id)), `${c.agency} sees ${child} before`);
      assert.notEqual(seen(c), 'NULL', `${c.agency} reads the few children's events`);
      assert.ok(seen(c).split(',').includes(child));
      const page = await request('GET', `/v1/audit-events?from=${FROM}&to=${TO}&limit=3`, { token: c.token });
      psql(`set session_replication_role = replica; ${end}`);
      assert.ok(!seen(c).split(',').includes(child), `${c.agency}: ${child} no longer listed`);
      const [t, id] = cursorOf(page.body.next_cursor);
      const rest = await listAll(c.token, `from=${FROM}&to=${TO}`, 5, page.body.next_cursor);
      // the actor's own agency's events about the child stay (its staff's)
      const theirs = new Set(truth(c, windowed(`actor_agency = ${sql(c.agency)}`)));
      for (const e of rest) assert.ok(!about.has(e) || theirs.has(e), `${c.agency}: an event about ${child} after its access ended`);
      assert.deepEqual(rest, truth(c, windowed(`(occurred_at, id) < (${sql(t)}::timestamptz, ${sql(id)}::uuid)`)));
      assert.deepEqual(await listAll(c.token, `from=${FROM}&to=${TO}`, 7), truth(c, windowed()));
    }
    // the ways that never admitted stay shut
    for (const [c, child] of [[health, kid.reqPast], [health, kid.reqClosed], [mh, kid.panClosed], [cmeAuditor, kid.cmeClosed]]) {
      assert.ok(!seen(c).split(',').includes(child), `${c.agency} ${child}`);
    }
  });

  it('as the API role: audit_children_seen answers every identity as child_visible does; child_candidates is refused', () => {
    for (const agency of AGENCIES) {
      for (const role of ROLES) {
        const c = caller(agency, role);
        const got = seen(c);
        if (role !== 'auditor') {
          assert.equal(got, '', `${agency} ${role} is not an auditor`);
          continue;
        }
        if (agency === 'csc') {
          assert.equal(got, 'NULL');
          continue;
        }
        const want = asApi(c, `select coalesce(string_agg(c.id::text, ',' order by c.id::text), '') from safeguard.children c
          where safeguard.child_visible(c.id)`).out.trim();
        assert.equal(got, want, `${agency} auditor`);
      }
      assert.match(asApi(caller(agency, 'auditor'), 'select safeguard.child_candidates()').err ?? '', /permission denied/);
    }
    assert.equal(seen(cmeAuditor).split(',').includes(kid.cmeLive), true);
    // no agency, an unknown one, roles that only look like an auditor's
    for (const [agency, roles] of [['', 'auditor'], ['nowhere', 'auditor'], ['police', 'auditors'], ['police', 'Auditor'], ['police', '']]) {
      assert.equal(seen({ agency, roles, sub: 'aa' }), '', `${agency} ${roles}`);
    }
    assert.match(asApi({ agency: 'police', roles: 'auditor' }, 'select safeguard.child_candidates()').err ?? '', /permission denied/);
  });

  it('the cap: an agency with exactly the cap of children reads their events, one more walks, and both page the same', async () => {
    const district = auditors.find((c) => c.agency === 'district');
    const cap = Number(psql(`select greatest(500, 2 * sqrt(greatest(reltuples, 0)))::integer from pg_class
      where oid = 'safeguard.children'::regclass`));
    const have = Number(psql(`begin; select set_config('app.agency', 'district', true), set_config('app.roles', 'auditor', true);
      select count(*) from safeguard.child_candidates(); rollback;`).split('\n').pop());
    assert.ok(have < cap, `district has ${have} of ${cap}`);
    const add = (k) => {
      const ids = Array.from({ length: k }, () => randomUUID());
      pad.push(...ids);
      psql(`set session_replication_role = replica;
        insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency)
          select k::uuid, 'Attack', 'Pad', '2012-03-04', 'csc' from unnest(array[${ids.map(sql).join(', ')}]) k;
        insert into safeguard.child_network (child_id, agency, how, reason, joined_by)
          select k::uuid, 'district', 'declared', 'attack audit', 'aa' from unnest(array[${ids.map(sql).join(', ')}]) k;
        insert into safeguard.audit_events (occurred_at, request_id, actor_sub, actor_agency, action, resource_type, resource_id, outcome)
          select ${sql(FROM)}::timestamptz + (i % 40) * interval '1 second' + interval '0.5 second', ${sql(`aa-${TAG}`)}, 'aa-pad', 'csc',
                 'child.read', 'child', k, 'success' from unnest(array[${ids.slice(0, 20).map(sql).join(', ')}]::text[]) with ordinality p(k, i);`);
    };
    add(cap - have);
    const atCap = seen(district);
    assert.notEqual(atCap, 'NULL', 'at the cap: the few children listed');
    assert.equal(atCap.split(',').length, cap);
    const want = truth(district, windowed());
    const padded = psql(`select id from safeguard.audit_events where actor_sub = 'aa-pad' and ${windowed()}`).split('\n');
    assert.equal(padded.length, 20);
    for (const id of padded) assert.ok(want.includes(id), 'the padded children\'s events are district\'s');
    const few = [];
    for (const limit of [1, 7, 200]) few.push(await listAll(district.token, `from=${FROM}&to=${TO}`, limit));
    for (const ids of few) assert.deepEqual(ids, want);
    assert.deepEqual(await listAll(district.token, `from=${FROM}&to=${TO}&resource_type=child`, 7), truth(district, windowed(`resource_type = 'child'`)));
    add(1);
    assert.equal(seen(district), 'NULL', 'past the cap: the trail walked');
    // the one more child's one event joins the part
    const more = truth(district, windowed());
    assert.deepEqual(more.filter((id) => !want.includes(id)).length, 1);
    for (const limit of [1, 7, 200]) assert.deepEqual(await listAll(district.token, `from=${FROM}&to=${TO}`, limit), more);
    assert.deepEqual(await listAll(district.token, `from=${FROM}&to=${TO}&resource_type=child`, 7), truth(district, windowed(`resource_type = 'child'`)));
  });
});
