// seen-pages.test.mjs - three lists a caller sees little of (037): the audit
// trail for an agency's auditor, the bookings and completions for a
// safeguarding lead, the training charges.  Each page reads about a page of
// rows, not the table, and each caller's list, page after page, is exactly
// the rows its row-level security shows (for the audit trail, its agency's
// part of them).  Counted, not timed: the calls of the audit policy's
// function (track_functions) and the rows read from the training tables
// (pg_stat_user_tables), as every backend sends them within ten seconds of
// going idle.  Before 037, on a register of 100,000 bookings and 500,000
// audit rows:
//  * the audit trail was sorted by its output column occurred_at::text, so
//    every row the auditor sees was read, checked and sorted for a page
//    (382,665 rows checked, 20 s);
//  * a lead's bookings and completions read the whole table to find their
//    agency's few (100,000 rows for 12, 216 ms);
//  * the charges read every booking and sorted all their charges for a page
//    (100,000 bookings and 20,000 charges, 226 ms).
// And before 049, an agency that sees few children (district) still walked
// and checked every event about a child to fill its page (16.6 s on a trail
// of 300,000 events about children it does not see); it now reads the
// events of the children it sees, and an agency that sees many (more than
// audit_children_seen's cap) walks the trail as before.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID, createHash } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { tokenFor } from './lib/people.mjs';
import { ok, sql } from './lib/panels.mjs';

const FILL = 1500;
const MANY = 600; // children in mental health's network here: more than audit_children_seen's cap (500)
const BOOKINGS = 5000; // with a charge for one in five
const settle = () => sleep(11000);

// A caller: its token and the identity a request sets for it.
function caller(agency, roles) {
  const sub = `seen-${agency}-${roles}-${Math.random().toString(36).slice(2, 8)}`;
  return { agency, roles, sub, token: tokenFor(agency, roles, sub) };
}

// What a query returns as the API role with the caller's identity: its
// ids in order, or with digest, their number and the md5 of the list (a
// whole trail is too long to carry back).
function truth(c, query, digest = false) {
  const agg = "coalesce(string_agg(id::text, ','), '')";
  const out = psql(`begin; set local role safeguard_api;
    select set_config('app.sub', ${sql(c.sub)}, true), set_config('app.agency', ${sql(c.agency)}, true),
           set_config('app.roles', ${sql(c.roles)}, true), set_config('app.request_id', 'seen-truth', true);
    select 'ids:' || ${digest ? `count(*) || ':' || md5(${agg})` : agg} from (${query}) q;
    rollback;`).split('\n').pop().replace(/^ids:/, '');
  return digest ? out : out.split(',').filter(Boolean);
}
const digestOf = (ids) => `${ids.length}:${createHash('md5').update(ids.join(',')).digest('hex')}`;

// Every page of a list, 200 at a time: the ids in order.
async function listAll(token, path) {
  const ids = [];
  let next = `${path}${path.includes('?') ? '&' : '?'}limit=200`;
  for (let pages = 0; next; pages++) {
    assert.ok(pages < 1000, 'the list ends');
    const res = await ok('GET', next, token);
    ids.push(...res.body.items.map((x) => x.id));
    next = res.body.next_cursor ? `${path}${path.includes('?') ? '&' : '?'}limit=200&cursor=${encodeURIComponent(res.body.next_cursor)}` : null;
  }
  return ids;
}

// Rows read from the tables so far, as counted by every backend.
const rowsRead = (tables) => Number(psql(`select coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)
  from pg_stat_user_tables where schemaname = 'safeguard' and relname in (${tables.map(sql).join(', ')})`));
const auditChecks = () => Number(psql(`select coalesce((select calls from pg_stat_user_functions
  where schemaname = 'safeguard' and funcname = 'audit_event_visible'), 0)`));

async function counted(count, action) {
  await settle();
  const before0 = count();
  await action();
  await settle();
  return count() - before0;
}

describe('lists a caller sees little of', () => {
  const lead = (agency) => caller(agency, 'safeguarding_lead');
  const leads = ['health', 'district', 'education'].map(lead);
  const admin = caller('partnership', 'training_admin');
  const delegate = caller('health', 'practitioner');
  const auditors = ['district', 'health', 'csc', 'partnership', 'mental_health'].map((a) => caller(a, 'auditor'));
  const hidden = randomUUID(); // a child only CSC sees
  const many = `select md5('seen-many-' || i)::uuid as id, i from generate_series(1, ${MANY}) i`;
  const few = [randomUUID(), randomUUID(), randomUUID()]; // children in district's network

  // audit_children_seen as a caller would call it: the ids, comma-separated,
  // or NULL
  const seen = (c) => psql(`begin; set local role safeguard_api;
    select set_config('app.sub', ${sql(c.sub)}, true), set_config('app.agency', ${sql(c.agency)}, true),
           set_config('app.roles', ${sql(c.roles)}, true), set_config('app.request_id', 'seen-truth', true);
    select 'ids:' || coalesce(array_to_string(safeguard.audit_children_seen(), ','), 'NULL');
    rollback;`).split('\n').pop().replace(/^ids:/, '');

  before(async () => {
    const course = sql(randomUUID()), session = sql(randomUUID());
    psql(`alter system set track_functions = 'all'`);
    psql('select pg_reload_conf()');
    // a table far larger than a page: bookings, charges and completions of
    // health's delegates (one of them the caller above), dated after every
    // other test's, and audit rows of CSC's work, dated before
    psql(`set session_replication_role = replica;
      insert into safeguard.training_courses (id, title, format, organiser, duration_minutes, status, published_at, created_by)
        values (${course}, 'Seen pages', 'e_learning', 'Partnership', 30, 'published', now(), 'seen');
      insert into safeguard.training_sessions (id, course_id, starts_at, ends_at, mode, online_url, capacity, booking_closes_at, created_by)
        values (${session}, ${course}, now() - interval '2 days',
                now() - interval '2 days' + interval '1 hour', 'online', 'https://meet.example/seen', 5000, now() - interval '3 days', 'seen');
      insert into safeguard.training_bookings (id, session_id, delegate_sub, delegate_name, delegate_email, delegate_agency,
          line_manager_name, line_manager_email, status, queue_seq, cancelled_at, created_at, updated_at)
        select gen_random_uuid(), ${session},
               case when i % 500 = 0 then ${sql(delegate.sub)} else 'seen-' || i end, 'Seen', 'seen@example.org', 'health',
               'Manager', 'm@example.org', 'late_cancelled', i, now(), timestamptz '2090-01-01' + i * interval '1 minute',
               timestamptz '2090-01-01' + i * interval '1 minute'
        from generate_series(1, ${BOOKINGS}) i;
      insert into safeguard.training_charges (id, booking_id, reason, amount_pence, currency, raised_at, raised_by)
        select gen_random_uuid(), b.id, 'late_cancellation', 5000, 'GBP', b.created_at, 'seen'
        from safeguard.training_bookings b where b.session_id = ${session} and b.queue_seq % 5 = 0;
      insert into safeguard.training_completions (id, course_id, delegate_sub, delegate_name, delegate_email, delegate_agency,
          completed_at, created_at)
        select gen_random_uuid(), ${course},
               case when i = 500 then ${sql(delegate.sub)} else 'seen-' || i end, 'Seen', 'seen@example.org',
               'health', now(), timestamptz '2090-01-01' + i * interval '1 minute'
        from generate_series(1, ${FILL}) i;
      insert into safeguard.audit_events (occurred_at, request_id, actor_sub, actor_agency, action, resource_type, outcome)
        select now() - interval '3 years' - i * interval '1 second', 'seen-filler', 'seen-filler', 'csc', 'seen.filler',
               'seen_filler', 'success'
        from generate_series(1, ${2 * FILL}) i;
      insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency)
        values (${sql(hidden)}, 'Seen', 'Hidden', '2014-01-01', 'csc');
      insert into safeguard.child_network (child_id, agency, how, joined_by) values (${sql(hidden)}, 'csc', 'created', 'seen');
      insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency)
        select m.id, 'Seen', 'Many' || m.i, '2014-01-01', 'csc' from (${many}) m;
      insert into safeguard.child_network (child_id, agency, how, reason, joined_by)
        select m.id, 'mental_health', 'declared', 'seen pages', 'seen' from (${many}) m;
      insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency)
        select f::uuid, 'Seen', 'Few', '2014-01-01', 'district' from unnest(array[${few.map(sql).join(', ')}]) f;
      insert into safeguard.child_network (child_id, agency, how, joined_by)
        select f::uuid, 'district', 'created', 'seen' from unnest(array[${few.map(sql).join(', ')}]) f;
      -- events about children, three years old: the hidden child's, one in
      -- every ten among them about a child of mental health's, one in a
      -- hundred about one of district's
      insert into safeguard.audit_events (occurred_at, request_id, actor_sub, actor_agency, action, resource_type, resource_id,
          outcome)
        select now() - interval '3 years' - i * interval '1 second' - interval '1 millisecond', 'seen-filler', 'seen-filler',
               'csc', 'child.read', 'child',
               case when i % 10 = 0 then md5('seen-many-' || (1 + i % ${MANY}))::uuid::text
                    when i % 100 = 5 then (array[${few.map(sql).join(', ')}])[1 + i % 3]
                    else ${sql(hidden)} end, 'success'
        from generate_series(1, ${2 * FILL}) i;
      analyze safeguard.children; analyze safeguard.child_network;
      analyze safeguard.training_bookings; analyze safeguard.training_charges; analyze safeguard.training_completions;
      analyze safeguard.training_settings;
      analyze safeguard.audit_events;`);
    // a page's worth of district's own rows at the top of the trail
    for (let i = 0; i < 6; i++) await ok('GET', '/v1/audit-events?limit=1', auditors[0].token);
  });
  after(() => {
    // mental health's many children leave the register (their events stay:
    // the trail is append-only)
    psql(`set session_replication_role = replica;
      delete from safeguard.child_network where child_id in (select id from (${many}) m);
      delete from safeguard.children where id in (select id from (${many}) m);
      delete from safeguard.child_network where child_id in (${few.map(sql).join(', ')});
      delete from safeguard.children where id in (${few.map(sql).join(', ')});`);
    psql('alter system reset track_functions');
    psql('select pg_reload_conf()');
  });

  it('every caller pages through exactly the bookings and completions its row-level security shows', async () => {
    for (const c of [...leads, admin, delegate]) {
      // a delegate reads their own bookings elsewhere (/v1/me/bookings)
      if (c !== delegate) assert.deepEqual(await listAll(c.token, '/v1/bookings'),
        truth(c, 'select id from safeguard.training_bookings order by created_at, id'), `${c.agency} ${c.roles}`);
      assert.deepEqual(await listAll(c.token, '/v1/completions'),
        truth(c, 'select id from safeguard.training_completions order by created_at, id'), `${c.agency} ${c.roles}`);
    }
    assert.ok(truth(leads[0], 'select id from safeguard.training_bookings').length >= BOOKINGS);
    assert.equal(truth(delegate, 'select id from safeguard.training_completions').length, 1);
    assert.deepEqual(await listAll(leads[0].token, '/v1/bookings?status=late_cancelled&agency=health'),
      truth(leads[0], `select id from safeguard.training_bookings where status = 'late_cancelled' and delegate_agency = 'health'
        order by created_at, id`));
  });

  it('the charges are every charge whose booking the training admin sees, in order', async () => {
    const q = (where) => `select ch.id from safeguard.training_charges ch join safeguard.training_bookings b on b.id = ch.booking_id
      ${where} order by ch.raised_at, ch.id`;
    assert.deepEqual(await listAll(admin.token, '/v1/training-charges'), truth(admin, q('')));
    assert.deepEqual(await listAll(admin.token, '/v1/training-charges?agency=health&status=outstanding'),
      truth(admin, q(`where b.delegate_agency = 'health' and ch.status = 'outstanding'`)));
  });

  it('each auditor pages through exactly its part of the trail', async () => {
    const now = new Date(Date.now() - 2000).toISOString().replace(/\.\d+Z$/, 'Z');
    // mental health, past the cap, walks the trail checking each event about
    // a child, and its children's events are the three-year-old filler: its
    // part is read from two years back, so that the walk does not check
    // every other suite's reads of children on the way (a test instance's
    // request times out after three seconds)
    const old = new Date(Date.now() - 2 * 365 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
    await sleep(3000);
    for (const c of auditors) {
      const to = c.agency === 'mental_health' ? old : now;
      const part = c.agency === 'partnership' ? '' : `and (actor_agency = ${sql(c.agency)} or (resource_type = 'child'
        and case when resource_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
        then safeguard.child_visible(resource_id::uuid) else false end))`;
      const want = truth(c, `select id from safeguard.audit_events where occurred_at < ${sql(to)} ${part}
        order by occurred_at desc, id desc`, true);
      // district's own reads above, CSC's work
      if (c.agency !== 'health') assert.notEqual(want.split(':')[0], '0', c.agency);
      assert.equal(digestOf(await listAll(c.token, `/v1/audit-events?to=${to}`)), want, c.agency);
    }
  });

  // district's page comes from its own events at the top of the trail; the
  // events about children are walked until one district sees (at most all
  // of them: the other suites' reads of children district does not see),
  // the rest of the trail not at all
  it('a page of the audit trail checks the agency\'s events and those about children, not the trail', async () => {
    const count = (where) => Number(psql(`select count(*) from safeguard.audit_events ${where}`));
    const checks = await counted(auditChecks, async () => {
      const res = await ok('GET', '/v1/audit-events?limit=5', auditors[0].token);
      assert.equal(res.body.items.length, 5);
    });
    const total = count(''), children = count(`where resource_type = 'child'`);
    assert.ok(total > 2 * FILL);
    assert.ok(checks <= children + 50 && checks < total / 2,
      `${checks} audit rows checked for a page of 5 (${children} about children of ${total})`);
  });

  // 049: the children an agency's auditor reads the events of, when its
  // agency sees few; NULL when it sees many (mental health here, past the
  // cap) or every child (CSC); none for a role that is not an auditor
  it('audit_children_seen gives an auditor exactly the children child_visible admits, when they are few', () => {
    // the cap, and the candidates each agency's auditor starts from (as the
    // owner would count them), decide which agencies get a list
    const cap = Number(psql(`select greatest(500, 2 * sqrt(greatest(c.reltuples, 0)))::integer
      from pg_catalog.pg_class c where c.oid = 'safeguard.children'::regclass`));
    const candidates = (c) => Number(psql(`select set_config('app.agency', ${sql(c.agency)}, false),
      set_config('app.roles', ${sql(c.roles)}, false), set_config('app.sub', ${sql(c.sub)}, false);
      select count(*) from safeguard.child_candidates()`).split('\n').pop());
    let listed = 0;
    for (const agency of ['police', 'health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership']) {
      const c = caller(agency, 'auditor');
      const got = seen(c);
      if (candidates(c) > cap) {
        assert.equal(got, 'NULL', agency);
        continue;
      }
      const want = truth(c, 'select c.id::text as id from safeguard.children c where safeguard.child_visible(c.id) order by 1');
      assert.equal(digestOf(got.split(',').filter(Boolean)), digestOf(want), agency);
      listed += want.length;
    }
    assert.ok(listed >= 3, 'district\'s three children at least are listed');
    assert.equal(seen(caller('csc', 'auditor')), 'NULL');
    assert.equal(seen(auditors[4]), 'NULL', 'mental health sees more than the cap');
    assert.equal(seen(caller('district', 'practitioner')), '');
    assert.equal(seen(caller('police', 'safeguarding_lead')), '');
  });

  it('an agency that sees few children reads the events about them, not every event about a child', async () => {
    // three years back: only the filler events about children, one in a
    // hundred about one of district's three (walking the trail to find five
    // of them checked 400 events)
    const to = new Date(Date.now() - 2 * 365 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
    const checked = await counted(auditChecks, async () => {
      const res = await ok('GET', `/v1/audit-events?limit=5&to=${to}`, auditors[0].token);
      assert.equal(res.body.items.length, 5);
      for (const e of res.body.items) assert.ok(few.includes(e.resource_id), e.resource_id);
    });
    // each child district sees costs one check (its newest event), then
    // those with events no older than the page's at most six each
    const children = seen(auditors[0]).split(',').filter(Boolean).length;
    assert.ok(checked < children + 50,
      `${checked} audit rows checked for district's page of 5 (${children} children, ${2 * FILL} events about children)`);
    // an agency that sees many walks the trail until its page is full: one
    // event in ten is about one of mental health's children
    const many = await counted(auditChecks, async () => {
      const res = await ok('GET', `/v1/audit-events?limit=5&to=${to}`, auditors[4].token);
      assert.equal(res.body.items.length, 5);
      for (const e of res.body.items) assert.equal(e.resource_type, 'child');
    });
    assert.ok(many < 200, `${many} audit rows checked for mental health's page of 5`);
  });

  it('a page of bookings or completions reads about a page of rows, not the table', async () => {
    for (const [path, table] of [['/v1/bookings', 'training_bookings'], ['/v1/completions', 'training_completions']]) {
      const read = await counted(() => rowsRead([table]), () => ok('GET', `${path}?limit=5`, leads[1].token));
      assert.ok(read < 300, `${read} rows of ${table} read for district's lead`);
    }
  });

  it('a page of charges reads about a page of charges and bookings, not every booking', async () => {
    const read = await counted(() => rowsRead(['training_bookings', 'training_charges']), async () => {
      const res = await ok('GET', '/v1/training-charges?limit=5', admin.token);
      assert.equal(res.body.items.length, 5);
    });
    assert.ok(read < 300, `${read} rows of bookings and charges read for a page of 5 charges`);
  });
});
