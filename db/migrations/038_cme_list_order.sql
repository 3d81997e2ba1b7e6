-- 038: the CME case list reads what its page needs, not every case.
--
-- GET /v1/cme-cases (the officer's weekly list, most school days missed
-- first) counted the school days of every case that matched, each with
-- 009's school_days (a generated series of days from the day the child
-- went missing, minus the calendar's closures), to sort them: 162-475 ms
-- a page on a register of 100,000 children, growing with the cases and
-- the calendar.  School days are now a difference of two cumulative
-- counts: school_day_ord(d) is the number of school days up to d (from
-- a fixed Monday; negative before it), so the school days from a to b
-- are school_day_ord(b) - school_day_ord(a - 1), never below 0.  Each
-- case keeps the count at the day before it went missing (since_ord)
-- and, once resolved, its final count (final_days) in cme_case_order,
-- kept by triggers on the cases and recomputed for every case when the
-- calendar changes.  A case that is not resolved has missed
-- school_day_ord(today) - since_ord days, so "most missed first" is
-- since_ord ascending, which an index serves page by page;  a resolved
-- case's count is final_days, served by another.  A page reads up to a
-- page of each and merges them (cme_case_page); what each case shows is
-- the count 009 gives it, the same number, order and cursor
-- (tests/api/cme-list.test.mjs compares them, on other days too).

set search_path = safeguard, pg_temp;

-- ---- school days as cumulative counts ----------------------------------------------

-- Weekdays from 2000-01-03 (a Monday) to d, both included; for d before
-- it, minus the weekdays after d and before it.  So the weekdays from a to
-- b are weekday_ord(b) - weekday_ord(a - 1).
create function safeguard.weekday_ord(d date) returns integer language sql immutable parallel safe
as $$
	select 5 * ((n - m) / 7) + least(m, 5)
	from (select d - date '2000-01-03' + 1 as n) x, lateral (select ((x.n % 7) + 7) % 7 as m) y
$$;

-- School days up to d, counted as weekday_ord is: weekdays minus the
-- weekdays of the calendar's closures (009's school_closures, merged so
-- that a day two closures cover counts once) up to d.  The school days
-- from a to b (009's school_days) are school_day_ord(b) -
-- school_day_ord(a - 1) when that is positive, else 0.
create function safeguard.school_day_ord(d date) returns integer language sql stable
as $$
	with c as (select s.starts_on, s.ends_on,
	                  max(s.ends_on) over (order by s.starts_on, s.ends_on rows between unbounded preceding
	                                       and 1 preceding) as reach
	           from safeguard.school_closures() s where s.starts_on <= d),
	g as (select c.starts_on, c.ends_on,
	             count(*) filter (where c.reach is null or c.starts_on > c.reach) over (order by c.starts_on, c.ends_on) as span
	      from c),
	m as (select min(g.starts_on) as starts_on, max(g.ends_on) as ends_on from g group by g.span)
	select safeguard.weekday_ord(d)
	       - coalesce(sum(safeguard.weekday_ord(least(m.ends_on, d)) - safeguard.weekday_ord(m.starts_on - 1)), 0)::integer
	from m
$$;

-- ---- what the case list sorts by ---------------------------------------------------

-- One row per case: the cumulative count at the day before the child went
-- missing, and the school days missed once the case is resolved (null
-- before).  No personal data; read under the cases' own rule.
create table safeguard.cme_case_order (
	case_id uuid primary key references safeguard.cme_cases (id),
	child_id uuid not null,
	since_ord integer not null,
	final_days integer
);
-- the cases not resolved, most days missed (lowest count at their start) first
create index cme_case_order_live on safeguard.cme_case_order (since_ord, case_id) where final_days is null;
-- the resolved ones, most days missed first
create index cme_case_order_done on safeguard.cme_case_order ((-final_days), case_id) where final_days is not null;

alter table safeguard.cme_case_order enable row level security;
-- as cme_cases_read (009): the list joins the case too, which is read under its own policy
create policy cme_case_order_read on safeguard.cme_case_order for select to safeguard_api
	using (safeguard.cme_officer() or safeguard.child_visible(child_id));
grant select on safeguard.cme_case_order to safeguard_api;

-- A case's row, from the case as it is now.  SECURITY DEFINER: the API's
-- role reads the order and never writes it.  A case's writer and a change
-- of the calendar exclude each other (this lock, shared among the cases'
-- writers, exclusive for the calendar's, held to commit): a case counted
-- on the calendar as it was while a change of it was being made would keep
-- the old count after the recount.
create function safeguard.cme_case_order_keep() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	v_since integer;
begin
	perform pg_advisory_xact_lock_shared(hashtext('safeguard.cme_case_order'));
	v_since := safeguard.school_day_ord(new.missing_since - 1);
	insert into safeguard.cme_case_order (case_id, child_id, since_ord, final_days)
	values (new.id, new.child_id, v_since,
	        case when new.resolved_on is not null
	             then greatest(0, safeguard.school_day_ord(new.resolved_on - 1) - v_since) end)
	on conflict (case_id) do update
	set child_id = excluded.child_id, since_ord = excluded.since_ord, final_days = excluded.final_days;
	return null;
end
$$;
create trigger cme_cases_order after insert or update on safeguard.cme_cases
	for each row execute function safeguard.cme_case_order_keep();

-- Every case's row again, after a change of the calendar (rare: an
-- admin's), each distinct day counted once, once the cases' writers that
-- began before it committed (the lock above: this statement sees them).
create function safeguard.cme_case_order_fill() returns void
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	perform pg_advisory_xact_lock(hashtext('safeguard.cme_case_order'));
	with days as (select d, safeguard.school_day_ord(d) as ord
	              from (select c.missing_since - 1 as d from safeguard.cme_cases c
	                    union select c.resolved_on - 1 from safeguard.cme_cases c where c.resolved_on is not null) x),
	want as (select c.id, c.child_id, s.ord as since_ord,
	                case when c.resolved_on is not null then greatest(0, r.ord - s.ord) end as final_days
	         from safeguard.cme_cases c join days s on s.d = c.missing_since - 1
	         left join days r on r.d = c.resolved_on - 1)
	insert into safeguard.cme_case_order (case_id, child_id, since_ord, final_days)
	select want.id, want.child_id, want.since_ord, want.final_days from want
	on conflict (case_id) do update
	set child_id = excluded.child_id, since_ord = excluded.since_ord, final_days = excluded.final_days
	where (cme_case_order.since_ord, cme_case_order.final_days)
	      is distinct from (excluded.since_ord, excluded.final_days);
end
$$;
create function safeguard.cme_case_order_refresh() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	perform safeguard.cme_case_order_fill();
	return null;
end
$$;
create trigger school_calendar_cme_order after insert or update or delete or truncate on safeguard.school_calendar
	for each statement execute function safeguard.cme_case_order_refresh();

-- the cases there are today
select safeguard.cme_case_order_fill();

-- One page of the case list, as 009's list statement made it: the cases
-- the caller may see (row-level security, as the caller) with the status
-- asked for ('open' is open or under enquiry) and of the child asked for,
-- most school days missed on p_today first, then by id, after the cursor
-- (days, id); p_limit rows of (the case as the API shows it, its school
-- days missed, id, child).  A child's cases are few: counted and sorted.
-- Otherwise three walks of at most p_limit visible cases each, by the
-- indexes: the cases not resolved that missed a school day (since_ord
-- below today's count), those that missed none yet (their count at today's
-- or past it: 0 days, ordered by id), and the resolved ones; the page is
-- the first p_limit of the three merged.  No cursor is the position before
-- every case, so that each walk's bound is an index condition; each call is
-- planned with its values (a generic plan, which PL/pgSQL would settle on
-- after a few calls, reads and checks every case before it sorts them).
create function safeguard.cme_case_page(p_status text, p_child uuid, p_days bigint, p_id uuid, p_limit integer,
	p_today date default null)
returns table (j text, days integer, id uuid, child_id uuid)
language plpgsql stable set search_path = safeguard, pg_temp set plan_cache_mode = force_custom_plan
as $$
declare
	v_t integer := safeguard.school_day_ord(coalesce(p_today, (now() at time zone 'UTC')::date));
	v_live boolean := p_status is null or p_status in ('open', 'enquiries');
	v_done boolean := p_status is null or p_status in ('resolved', 'closed');
	v_days bigint := coalesce(p_days, 9223372036854775807);
	v_id uuid := coalesce(p_id, '00000000-0000-0000-0000-000000000000');
	-- the cursor as bounds on the stored counts (clamped: any 18 digits pass the cursor's check)
	v_since integer := greatest(least(v_t::bigint - v_days, 2147483647), -2147483648)::integer;
	v_final integer := least(v_days, 2147483647)::integer;
begin
	if p_child is not null then
		return query
		select safeguard.cme_case_json_with(c, d.days)::text, d.days, c.id, c.child_id
		from safeguard.cme_cases c join safeguard.cme_case_order o on o.case_id = c.id,
		     lateral (select coalesce(o.final_days, greatest(0, v_t - o.since_ord)) as days) d
		where c.child_id = p_child
		  and (p_status is null or c.status = p_status or (p_status = 'open' and c.status = 'enquiries'))
		  and (d.days < v_days or (d.days = v_days and c.id > v_id))
		order by d.days desc, c.id limit p_limit;
		return;
	end if;
	return query
	with cand as (
		(select o.case_id, v_t - o.since_ord as days from safeguard.cme_case_order o
		 join safeguard.cme_cases c on c.id = o.case_id
		 where v_live and o.final_days is null and o.since_ord < v_t and (o.since_ord, o.case_id) > (v_since, v_id)
		   and (p_status is null or c.status = p_status or (p_status = 'open' and c.status = 'enquiries'))
		 order by o.since_ord, o.case_id limit p_limit)
		union all
		(select o.case_id, 0 from safeguard.cme_case_order o
		 join safeguard.cme_cases c on c.id = o.case_id
		 where v_live and o.final_days is null and o.since_ord >= v_t and (v_days > 0 or o.case_id > v_id)
		   and (p_status is null or c.status = p_status or (p_status = 'open' and c.status = 'enquiries'))
		 order by o.case_id limit p_limit)
		union all
		(select o.case_id, o.final_days from safeguard.cme_case_order o
		 join safeguard.cme_cases c on c.id = o.case_id
		 where v_done and o.final_days is not null and (-o.final_days, o.case_id) > (-v_final, v_id)
		   and (p_status is null or c.status = p_status)
		 order by -o.final_days, o.case_id limit p_limit)),
	page as (select cand.case_id, cand.days from cand order by cand.days desc, cand.case_id limit p_limit)
	select safeguard.cme_case_json_with(c, page.days)::text, page.days, c.id, c.child_id
	from page join safeguard.cme_cases c on c.id = page.case_id
	order by page.days desc, c.id;
end
$$;
