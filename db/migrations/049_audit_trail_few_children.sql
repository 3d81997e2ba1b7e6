-- 049: the audit trail of an agency that sees few of the children.
--
-- An agency's auditor reads its own staff's events and the events about
-- the children its agency sees (037, 041).  The second part walked the
-- whole trail in its order (audit_events_time) and checked each event
-- about a child with child_visible until the page was full.  For an agency
-- that sees few children (a district council: 60 of 100,000) nearly every
-- event fails the check, so a page read and checked the whole trail: on a
-- trail of 300,000 events a page took 16.6 s, past the request timeout.
--
-- The API now asks audit_children_seen for the children the caller's
-- agency sees, when they are few, and reads the newest events of each of
-- them by audit_events_resource (a page's worth of each at most), merged
-- in the trail's order: 45-55 ms for the same page.  When they are many
-- (or the caller is CSC, which sees every child) it returns NULL and the
-- API walks the trail as before, which for such an agency fills a page
-- after a few hundred events.
--
-- No policy changes: the API's statement still reads every event under
-- row-level security (audit_read) and still says in its WHERE clause that
-- the event is about a child its agency sees.  The function returns only
-- ids of children the caller's agency sees (each checked with
-- child_visible), and only to an auditor.
--
-- "Few": at most 2 * sqrt(children in the register), and never under 500.
-- Reading a page costs at most a page of checked events for each of them,
-- against the walk's one checked event per event in the trail; the
-- square root keeps the first below the second for a trail of at least a
-- few events per child.
--
-- The ways a child is seen are now listed once, in child_candidates, which
-- both this function and the children list's child_page (035, restated
-- below with nothing else changed) read.  A new way to see a child must be
-- added there as well as to child_visible (009) and sync_window (046);
-- tests/api/children-page.test.mjs and tests/api/seen-pages.test.mjs
-- compare them with child_visible for every agency.

set search_path = safeguard, pg_temp;

-- The children the caller's agency can see by each way child_visible (009)
-- admits one: its network, an open in-window chronology request it is
-- invited to, an open referral to a panel it sits on, a live CME case for
-- the CME officer.  Candidates: each must still pass child_visible.  Plain
-- SQL, run inside the definer functions below as their owner; the API role
-- may not call it.
create function safeguard.child_candidates() returns setof uuid
language sql stable
as $$
	select n.child_id from safeguard.child_network n where n.agency = safeguard.app_agency()
	union
	select rc.child_id from safeguard.chronology_request_agencies a
	join safeguard.chronology_requests r on r.id = a.request_id
	join safeguard.chronology_request_children rc on rc.request_id = r.id
	where a.agency = safeguard.app_agency() and r.closed_at is null and now() < r.share_until
	union
	select pr.child_id from safeguard.panel_members m
	join safeguard.panel_referrals pr on pr.panel_id = m.panel_id
	where m.agency = safeguard.app_agency() and pr.status in ('submitted', 'accepted', 'reopened')
	union
	select cc.child_id from safeguard.cme_cases cc
	where safeguard.cme_officer() and cc.status <> 'closed'
$$;
revoke all on function safeguard.child_candidates() from public;

-- The children the caller's agency sees, for its auditor's trail: NULL
-- when they are more than the cap or the caller is CSC (walk the trail),
-- none to a caller who is not an auditor.
create function safeguard.audit_children_seen() returns text[]
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	me text := safeguard.app_agency();
	cap integer;
	cand uuid[];
begin
	if not safeguard.app_has_role('auditor') or me is null then
		return '{}';
	end if;
	if me = 'csc' then
		return null;
	end if;
	select greatest(500, 2 * sqrt(greatest(c.reltuples, 0)))::integer into cap
	from pg_catalog.pg_class c where c.oid = 'safeguard.children'::regclass;
	cand := array(select k from safeguard.child_candidates() k limit cap + 1);
	if cardinality(cand) > cap then
		return null;
	end if;
	return array(select k::text from unnest(cand) k where safeguard.child_visible(k) order by 1);
end
$$;
revoke all on function safeguard.audit_children_seen() from public;
grant execute on function safeguard.audit_children_seen() to safeguard_api;

-- 035's child_page, its candidates from child_candidates.
create or replace function safeguard.child_page(after_t timestamptz, after_id uuid, lim integer, p_status text, p_family uuid)
returns uuid[]
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	me text := safeguard.app_agency();
	ids uuid[] := '{}';
	cand uuid[];
	scanned integer := 0;
	walk integer := 4 * lim + 200; -- rows of the register walked before starting from the caller's children
	c record;
begin
	if lim is null or lim < 1 then
		return ids;
	end if;
	-- the next rows of the register in its order, at most walk of them, and
	-- of those the first lim the caller may see (one statement: the walk
	-- stops as soon as the page is full)
	ids := array(select w.id from (select k.id, k.created_at from safeguard.children k
	                               where (after_t is null or (k.created_at, k.id) > (after_t, after_id))
	                                 and (p_status is null or k.education_status = p_status)
	                                 and (p_family is null or k.family_id = p_family)
	                               order by k.created_at, k.id
	                               limit walk) w
	             where safeguard.child_visible(w.id)
	             order by w.created_at, w.id
	             limit lim);
	if cardinality(ids) < lim and me <> 'csc' then
		select count(*) into scanned from (select 1 from safeguard.children k
		                                   where (after_t is null or (k.created_at, k.id) > (after_t, after_id))
		                                     and (p_status is null or k.education_status = p_status)
		                                     and (p_family is null or k.family_id = p_family)
		                                   limit walk) w;
	end if;
	-- a full page, or the whole rest of the register walked, or CSC (which sees every child)
	if cardinality(ids) >= lim or scanned < walk or me = 'csc' then
		return ids;
	end if;
	-- the children the caller can see by each way: taken first, then read by
	-- key in the list's order, checked one by one until the page is full
	cand := array(select safeguard.child_candidates());
	ids := '{}';
	for c in select k.id from safeguard.children k
	         where k.id = any (cand)
	           and (after_t is null or (k.created_at, k.id) > (after_t, after_id))
	           and (p_status is null or k.education_status = p_status)
	           and (p_family is null or k.family_id = p_family)
	         order by k.created_at, k.id loop
		if safeguard.child_visible(c.id) then
			ids := ids || c.id;
			exit when cardinality(ids) >= lim;
		end if;
	end loop;
	return ids;
end
$$;
