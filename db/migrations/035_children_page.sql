-- 035: a page of the children list costs the same for an agency that sees
-- few children of a large register as for one that sees many.
--
-- The list read the register in its order and let row-level security
-- (children_read: child_visible) drop what the caller may not see, until
-- the page was full.  For CSC, which sees every child, and for an agency
-- that sees many, that stops after a page.  For one that sees few (a
-- district council, the partnership's own staff), it read and checked the
-- whole register to fill a page: 10.6 s for an empty page at 100,000
-- children, past the request timeout.
--
-- For an agency whose network is a small part of the register
-- (child_list_sparse), the API now reads a page through child_page, which
-- picks the page's ids: it walks the register in order for at most a
-- bounded number of rows; when those do not fill the page, it starts
-- instead from the children the caller can see by each of the ways
-- child_visible (009) admits one: the agency's network, an open in-window
-- request it is invited to, an open referral to a panel it sits on, a live
-- CME case for the CME officer.  Every id it returns has passed
-- child_visible, and the API's statement reads the page's children under
-- row-level security again.  Other agencies keep the statement as it was,
-- which for them stops after about a page (checking each child twice, as
-- child_page's way would, halved its throughput).  A new way to see a
-- child must be added here as well as to child_visible;
-- tests/api/children-page.test.mjs compares the two for every agency.

-- Does the caller's agency see so small a part of the register that
-- reading it in order to fill a page would read far more than a page?
-- Its network (at most 5,000 of it counted) against the register's size,
-- an eighth of it or less,
-- as last analysed; never for CSC, which sees every child, nor before the
-- register was first analysed.
create function safeguard.child_list_sparse() returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	me text := safeguard.app_agency();
	n bigint;
	total real;
begin
	if me = 'csc' then
		return false;
	end if;
	select c.reltuples into total from pg_catalog.pg_class c where c.oid = 'safeguard.children'::regclass;
	select count(*) into n from (select 1 from safeguard.child_network k where k.agency = me limit 5000) x;
	return n * 8 < total;
end
$$;
revoke all on function safeguard.child_list_sparse() from public;
grant execute on function safeguard.child_list_sparse() to safeguard_api;

set search_path = safeguard, pg_temp;

-- The ids of a page of the children list, in (created_at, id) order after
-- the cursor (after_t, after_id; null for the first page), with the list's
-- filters (status, family), at most lim of them, each one the caller may
-- see.  SECURITY DEFINER to read the register's order without checking
-- every row it passes; each id is checked with child_visible as the caller.
create function safeguard.child_page(after_t timestamptz, after_id uuid, lim integer, p_status text, p_family uuid)
returns uuid[]
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	me text := safeguard.app_agency();
	ids uuid[] := '{}';
	cand uuid[];
	officer boolean := safeguard.cme_officer();
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
	cand := array(select n.child_id from safeguard.child_network n where n.agency = me
	              union
	              select rc.child_id from safeguard.chronology_request_agencies a
	              join safeguard.chronology_requests r on r.id = a.request_id
	              join safeguard.chronology_request_children rc on rc.request_id = r.id
	              where a.agency = me and r.closed_at is null and now() < r.share_until
	              union
	              select pr.child_id from safeguard.panel_members m
	              join safeguard.panel_referrals pr on pr.panel_id = m.panel_id
	              where m.agency = me and pr.status in ('submitted', 'accepted', 'reopened')
	              union
	              select cc.child_id from safeguard.cme_cases cc
	              where officer and cc.status <> 'closed');
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
revoke all on function safeguard.child_page(timestamptz, uuid, integer, text, uuid) from public;
grant execute on function safeguard.child_page(timestamptz, uuid, integer, text, uuid) to safeguard_api;
