-- 063: the CME case list answers when today's school-day count is negative.
--
-- 038's cme_case_page turns the cursor into a bound on the stored counts,
-- today's count minus the cursor's days, in bigint; without a cursor the
-- days are bigint's maximum.  school_day_ord counts from 2000-01-03 and is
-- negative when the calendar's closures up to today hold more weekdays
-- than that span: a term recorded long ago (the contract takes dates from
-- 1900) and the next one, the gap between two terms being a closure.  Then
-- the subtraction overflowed ("bigint out of range") and GET
-- /v1/cme-cases was a 500 for every caller, with or without a filter or a
-- cursor, until the entry was deleted.  The bound is now computed in
-- numeric and clamped as before; nothing else changes.
-- (tests/api/sweep-params.test.mjs: "GET /v1/cme-cases answers while a
-- term far in the past ...")

set search_path = safeguard, pg_temp;

-- 038's cme_case_page, restated: v_since is computed in numeric.
create or replace function safeguard.cme_case_page(p_status text, p_child uuid, p_days bigint, p_id uuid, p_limit integer,
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
	-- the cursor as bounds on the stored counts (clamped: any 18 digits pass the cursor's check;
	-- in numeric: today's count is negative when the calendar closes more weekdays than
	-- 2000-01-03 to today holds, and that minus no cursor's bigint maximum overflowed)
	v_since integer := greatest(least(v_t::numeric - v_days, 2147483647), -2147483648)::integer;
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
