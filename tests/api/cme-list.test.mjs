// cme-list.test.mjs - the CME case list (038): most school days missed
// first, paged by stored cumulative counts an index serves, and exactly the
// answer 009's statement gave (every case's school days counted with
// safeguard.school_days, then sorted): the same cases, numbers, flags and
// order, page after page, for each caller and on other days, and after the
// calendar changes.  And a page's work is bounded by the page: 009 counted
// the school days of every matching case (one school_days call each) and
// checked the caller's access to each; the list now reads up to a page of
// each of its three walks.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { psql } from './lib/client.mjs';
import { who, ok, admin, today, sql } from './lib/panels.mjs';

// As the caller (the API role, its identity set as a request sets it), in
// a transaction rolled back: the last line of the output.
function asCaller(agency, roles, body) {
  return psql(`begin; set local role safeguard_api;
    select set_config('app.sub', 'cme-list', true), set_config('app.agency', ${sql(agency)}, true),
           set_config('app.roles', ${sql(roles)}, true), set_config('app.request_id', 'cme-list', true);
    ${body}
    rollback;`).split('\n').pop();
}

// 009's list, the reference: every case the caller sees with the status,
// its school days counted on day d, sorted; "id days" in order.
function reference(agency, roles, status, d) {
  const filter = status ? `and (c.status = ${sql(status)} or (${sql(status)} = 'open' and c.status = 'enquiries'))` : '';
  return asCaller(agency, roles, `select 'ids:' || coalesce(string_agg(id || ' ' || days, ',' order by days desc, id), '')
    from (select c.id, safeguard.school_days(c.missing_since, coalesce(c.resolved_on - 1, ${sql(d)}::date)) as days
          from safeguard.cme_cases c where true ${filter}) x;`).replace(/^ids:/, '').split(',').filter(Boolean);
}

// Every page of safeguard.cme_case_page on day d, limit at a time, as the
// caller: "id days" in order (and the flag of each checked below).
function pages(agency, roles, status, d, limit) {
  return asCaller(agency, roles, `select 'ids:' || coalesce(string_agg(x, ','), '') from (
    with recursive p(n, days, id, acc) as (
      select 0, null::bigint, null::uuid, array[]::text[]
      union all
      select p.n + 1, q.days, q.id, p.acc || q.items from p, lateral (
        select (array_agg(g.days order by g.days desc, g.id))[cardinality(array_agg(g.id))] as days,
               (array_agg(g.id order by g.days desc, g.id))[cardinality(array_agg(g.id))] as id,
               array_agg(g.id || ' ' || g.days order by g.days desc, g.id) as items
        from safeguard.cme_case_page(${status ? sql(status) : 'null'}, null, p.days, p.id, ${limit}, ${sql(d)}::date) g) q
      where q.id is not null and p.n < 1000)
    select unnest(acc) as x from (select acc from p order by n desc limit 1) last) y;`)
    .replace(/^ids:/, '').split(',').filter(Boolean);
}

// Every page over HTTP: the items, in order.
async function listAll(token, limit, status) {
  const out = [];
  const q = status ? `&status=${status}` : '';
  let path = `/v1/cme-cases?limit=${limit}${q}`;
  for (let n = 0; path; n++) {
    assert.ok(n < 1000, 'the list ends');
    const res = await ok('GET', path, token);
    out.push(...res.body.items);
    path = res.body.next_cursor ? `/v1/cme-cases?limit=${limit}${q}&cursor=${encodeURIComponent(res.body.next_cursor)}` : null;
  }
  return out;
}

const CALLERS = [['education', 'safeguarding_lead'], ['csc', 'social_worker'], ['police', 'practitioner'],
  ['health', 'safeguarding_lead'], ['voluntary', 'practitioner']];
const STATUSES = [null, 'open', 'enquiries', 'resolved', 'closed'];

describe('the CME case list, by stored counts', () => {
  const tag = `cme-list-${randomUUID()}-`;
  let open;
  before(async () => {
    // children of csc's (some also police's), with cases since days spread
    // over four years: open, under enquiry, resolved and closed; a few
    // since today or the days just before it (none or one school day)
    psql(`insert into safeguard.children (id, first_name, last_name, date_of_birth, created_by_agency, looked_after)
      select md5(${sql(tag)} || i)::uuid, 'List', 'Child' || i, date '2012-03-04', 'csc', i % 9 = 0
      from generate_series(1, 300) i;
      insert into safeguard.child_network (child_id, agency, how, reason, joined_by)
      select md5(${sql(tag)} || i)::uuid, 'csc', 'created', null, 'cme-list' from generate_series(1, 300) i
      union all select md5(${sql(tag)} || i)::uuid, 'police', 'declared', 'list', 'cme-list'
      from generate_series(1, 300) i where i % 3 = 0;
      -- a live case inserted or closed writes its access row as an identity (058)
      select set_config('app.sub', 'cme-list', false), set_config('app.agency', 'partnership', false), set_config('app.request_id', 'cme-list-fixture', false);
      insert into safeguard.cme_cases (id, child_id, reason, missing_since, what_is_known, notifying_agency, notified_by,
        updated_by)
      select md5(${sql(tag)} || 'case' || i)::uuid, md5(${sql(tag)} || i)::uuid, 'not_attending',
        case when i > 290 then current_date - (i - 291) else current_date - (i * 97) % 1400 end, 'seeded', 'csc', 'cme-list',
        'cme-list'
      from generate_series(1, 300) i;
      update safeguard.cme_cases set status = 'enquiries' where id in (select md5(${sql(tag)} || 'case' || i)::uuid
        from generate_series(1, 300) i where i % 4 <> 1);
      update safeguard.cme_cases set status = 'resolved', resolution = 'elective_home_education',
        resolved_on = least(current_date, missing_since + 1 + (extract(doy from missing_since)::int % 300)), resolved_by = 'cme-list'
      where id in (select md5(${sql(tag)} || 'case' || i)::uuid from generate_series(1, 140) i where i % 4 in (2, 3));
      update safeguard.cme_cases set status = 'closed', closed_at = now(), closed_by = 'cme-list'
      where id in (select md5(${sql(tag)} || 'case' || i)::uuid from generate_series(1, 140) i where i % 4 = 3);`);
    // a calendar over those years, from this year back: terms, half terms, a bank holiday
    const y = Number(today().slice(0, 4));
    for (let year = y - 4; year <= y; year++) {
      for (const [kind, name, from, to] of [['term', 'Autumn', '09-08', '12-18'], ['term', 'Spring', '01-07', '03-27'],
        ['holiday', 'Half term', '10-26', '10-30'], ['bank_holiday', 'May day', '05-06', '05-06']]) {
        psql(`insert into safeguard.school_calendar (id, kind, name, starts_on, ends_on, created_by)
          select gen_random_uuid(), ${sql(kind)}, ${sql(`${name} ${year} list`)}, ${sql(`${year}-${from}`)}, ${sql(`${year}-${to}`)}, 'cme-list'
          where not exists (select 1 from safeguard.school_calendar s where s.kind = ${sql(kind)}
            and daterange(s.starts_on, s.ends_on, '[]') && daterange(${sql(`${year}-${from}`)}, ${sql(`${year}-${to}`)}, '[]'))`);
      }
    }
    open = Number(psql(`select count(*) from safeguard.cme_cases where status in ('open', 'enquiries')`));
  });
  // the calendar is the deployment's: the suites after this one count school days on their own
  after(() => psql(`delete from safeguard.school_calendar where created_by = 'cme-list'`));

  it('every caller\'s pages are 009\'s order and counts, on several days', () => {
    const days = [today(0), today(-300), today(45)];
    for (const [agency, roles] of CALLERS) {
      for (const status of STATUSES) {
        for (const d of days) {
          const want = reference(agency, roles, status, d);
          for (const limit of agency === 'education' ? [4, 200] : [11, 200]) {
            assert.deepEqual(pages(agency, roles, status, d, limit), want, `${agency} ${roles} ${status} ${d} limit ${limit}`);
          }
        }
      }
    }
  });

  it('over HTTP: the same items, numbers, flags and order as 009 gave, page after page', async () => {
    for (const [agency, roles] of CALLERS) {
      for (const status of STATUSES) {
        const want = reference(agency, roles, status, today());
        for (const limit of [3, 200]) {
          const got = await listAll(who(agency, roles), limit, status);
          assert.deepEqual(got.map((c) => `${c.id} ${c.school_days_missed}`), want, `${agency} ${roles} ${status} ${limit}`);
          for (const c of got) {
            assert.equal(c.flags.includes('over_20_school_days'), c.school_days_missed > 20);
            assert.equal(c.flagged, c.flags.length > 0);
          }
        }
      }
    }
  });

  it('a child\'s cases, by status, are 009\'s too', async () => {
    const children = psql(`select string_agg(child_id || ' ' || id, ',') from (select child_id, id from safeguard.cme_cases
      where child_id in (select md5(${sql(tag)} || i)::uuid from generate_series(1, 300, 37) i)) x`).split(',').map((p) => p.split(' '));
    assert.ok(children.length >= 8);
    for (const [child, kase] of children) {
      for (const status of STATUSES) {
        const want = reference('education', 'safeguarding_lead', status, today()).filter((x) => x.startsWith(`${kase} `));
        const res = await ok('GET', `/v1/cme-cases?child_id=${child}${status ? `&status=${status}` : ''}`, who('education', 'safeguarding_lead'));
        assert.deepEqual(res.body.items.map((c) => `${c.id} ${c.school_days_missed}`), want, `${child} ${status}`);
      }
    }
  });

  it('a change of the calendar recounts every case', async () => {
    const y = Number(today().slice(0, 4)) - 2;
    const before0 = reference('education', 'safeguarding_lead', null, today());
    const made = await ok('POST', '/v1/school-calendar', admin(), {
      kind: 'holiday', name: 'List closure', starts_on: `${y}-11-02`, ends_on: `${y}-11-20` }, 201);
    const want = reference('education', 'safeguarding_lead', null, today());
    assert.notDeepEqual(want, before0, 'the closure changes some counts');
    assert.deepEqual((await listAll(who('education', 'safeguarding_lead'), 50)).map((c) => `${c.id} ${c.school_days_missed}`), want);
    await ok('DELETE', `/v1/school-calendar/${made.body.id}`, admin(), undefined, 204, { 'If-Match': made.headers.get('etag') });
    assert.deepEqual(reference('education', 'safeguarding_lead', null, today()), before0);
    assert.deepEqual(pages('education', 'safeguarding_lead', null, today(), 50), before0);
  });

  it('a page counts no school days and checks a bounded number of cases, not every case', async () => {
    assert.ok(open >= 100, `${open} open cases`);
    const counted = ['school_days', 'cme_officer', 'child_in_network'];
    const calls = () => Object.fromEntries(psql(`select string_agg(n || '=' || coalesce((select sum(f.calls) from pg_stat_user_functions f
      where f.schemaname = 'safeguard' and f.funcname = n), 0), ',') from unnest(array[${counted.map(sql).join(', ')}]) n`)
      .split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
    psql(`alter system set track_functions = 'all'`);
    psql('select pg_reload_conf()');
    try {
      await sleep(11000);
      const before0 = calls();
      const res = await ok('GET', '/v1/cme-cases?status=open&limit=5', who('education', 'safeguarding_lead'));
      assert.equal(res.body.items.length, 5);
      await sleep(11000);
      const now = calls();
      const made = Object.fromEntries(counted.map((n) => [n, now[n] - before0[n]]));
      // 009 counted every matching case's school days (open of them) and checked each one's access
      assert.ok(made.school_days <= 6, `school_days ran ${made.school_days} times for a page of 5 (open cases: ${open})`);
      // each of the three walks reads at most a page (and the look-ahead), each row under two policies
      assert.ok(made.cme_officer <= 2 * 3 * 6 + 12, `cme_officer ran ${made.cme_officer} times for a page of 5 (open cases: ${open})`);
    } finally {
      psql('alter system reset track_functions');
      psql('select pg_reload_conf()');
    }
  });
});
