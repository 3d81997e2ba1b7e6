-- 053: a share window's end re-sends the families the caller still sees,
-- the child's current family among them.
--
-- A chronology request shows an invited agency (or a panel reading it,
-- 017) its subject children while its share window lasts.  A family is
-- rendered with the members its caller may see (family_json, 002), so a
-- family the agency sees another way (it made it, or another member is in
-- its network) lists the child, name and date of birth, exactly while the
-- window lasts.  A window's end is no write: the sync finds it at sync time
-- (sync_expired, 018) and sync_page turned each record the caller was shown
-- into a tombstone, or into nothing when the caller could still see it.
-- Two gaps followed, both leaving a device listing the child in a family
-- after its access to the child had ended:
--
-- 1. sync_page skipped every record still visible, so a family seen another
--    way was never re-sent at a window's end, even the request's own
--    subject family.  A child or an entry renders the same for every
--    caller, so skipping them is right; a family does not.  A family the
--    caller still sees is now an upsert, as it is now, audited as every
--    upsert of a page is (its id and its members' ids in the row's family
--    and children columns, as the log's upserts give them).
-- 2. sync_expired named the request's subject family only, the one the
--    children were in when the request was opened.  A child that moved
--    since is listed by the family it is in now, which 051 made every
--    change of the request's reach log (sync_log_request, sync_on_request)
--    but which the window's end never reached.  sync_expired now names each
--    subject child's current family too, still only if the caller was shown
--    it (sync_shown), in the same order (the instant the window ended, id):
--    a family named twice (the subject family, and a child's) is one row,
--    as before.
--
-- A family a page upserts at a window's end is not upserted again by the
-- log's part of the same page: the page's snapshot is one, so the second
-- would be the same state again.  The cursor is as before: each item of the
-- ended windows sits at (the instant its window ended, its id), strictly
-- after the one before it, upsert or tombstone alike.

set search_path = safeguard, pg_temp;

-- 018's sync_expired, each subject child's family as it is now besides the
-- request's subject family.
create or replace function safeguard.sync_expired(p_after_t timestamptz, p_after_id uuid, p_to timestamptz)
returns table (expired_at timestamptz, kind text, record_id uuid)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	with reqs as (
		select r.id, r.share_until, r.subject_family_id from safeguard.chronology_requests r
		where r.share_until >= p_after_t and r.share_until <= p_to
		  and (r.closed_at is null or r.closed_at >= r.share_until)
		  -- invited, or reading it through a panel with an open referral naming it (017)
		  and (exists (select 1 from safeguard.chronology_request_agencies a
		               where a.request_id = r.id and a.agency = safeguard.app_agency())
		       or exists (select 1 from safeguard.panel_referrals pr
		                  join safeguard.panel_members m on m.panel_id = pr.panel_id
		                   and m.agency = safeguard.app_agency()
		                  where pr.chronology_request_id = r.id
		                    and pr.status in ('submitted', 'accepted', 'reopened')))),
	recs as (
		select reqs.share_until, 'child' as kind, rc.child_id as id from reqs
		join safeguard.chronology_request_children rc on rc.request_id = reqs.id
		union all select reqs.share_until, 'family', reqs.subject_family_id from reqs
		where reqs.subject_family_id is not null
		-- the family each subject child is in now (it lists the child while the window lasts)
		union all select reqs.share_until, 'family', k.family_id from reqs
		join safeguard.chronology_request_children rc on rc.request_id = reqs.id
		join safeguard.children k on k.id = rc.child_id
		where k.family_id is not null
		union all select reqs.share_until, 'chronology_entry', c.entry_id from reqs
		join safeguard.chronology_contributions c on c.request_id = reqs.id)
	select min(share_until), kind, id from recs
	where (share_until, id) > (p_after_t, p_after_id) and safeguard.sync_shown(kind, id)
	group by kind, id
	order by 1, 3, 2
$$;

-- 045's sync_page: at a window's end a family the caller still sees is an
-- upsert, and not upserted again by the log's part of the page.
create or replace function safeguard.sync_page(p_xid xid8, p_seq bigint, p_t timestamptz, p_e uuid, p_limit integer,
	p_scan integer default 5000)
returns table (item text, children uuid[], family uuid, entry uuid, pos text[], more boolean, valid boolean)
language plpgsql volatile set search_path = safeguard, pg_temp
as $$
declare
	v_xmin xid8 := pg_snapshot_xmin(pg_current_snapshot());
	v_now timestamptz := now();
	v_last uuid := 'ffffffff-ffff-ffff-ffff-ffffffffffff';
	n integer := 0;
	cur refcursor;
	x record;
	y record;
	h record;
	v_max integer := 2 * greatest(p_limit, 1) + 100;
	picked integer := 0;
	v_last_xid xid8;
	v_last_seq bigint;
	v_sent uuid[] := '{}';  -- the families this page upserted at a window's end
begin
	more := false;
	valid := true;
	if p_xid is null then
		p_xid := '0'; p_seq := 0; p_t := v_now; p_e := v_last;
	end if;
	if p_xid > v_xmin or p_t > v_now then
		valid := false;
		return next;
		return;
	end if;
	-- access that ended with a share window, in window order: a tombstone for
	-- a record the caller no longer sees; a family it still sees another way
	-- as it is now (its members are the ones the caller sees); a child or an
	-- entry it still sees renders as before, so nothing
	for x in select * from safeguard.sync_expired(p_t, p_e, v_now) loop
		item := null; children := null; family := null; entry := null;
		if x.kind = 'family' then
			select safeguard.family_json(f)::text, f.id,
			       array(select m.id from safeguard.children m where m.family_id = f.id)
			into item, family, children from safeguard.families f where f.id = x.record_id;
		elsif safeguard.sync_record_visible(x.kind, x.record_id) then
			continue;
		end if;
		continue when item is null and safeguard.sync_tombstoned(x.kind, x.record_id, p_xid, p_seq, p_t, p_e);
		n := n + 1;
		exit when n > p_limit;
		pos := array[p_xid::text, p_seq::text, safeguard.sync_instant(x.expired_at), x.record_id::text];
		if item is null then
			children := null; family := null;
			item := safeguard.sync_tombstone(x.kind, x.record_id, pos);
		else
			v_sent := v_sent || x.record_id;
			item := safeguard.sync_item(x.kind, x.record_id, item);
		end if;
		return next;
	end loop;
	-- the log below the bound, each record at its latest change only, at most p_scan rows of it
	-- (whoever may see them: a small caseload in a large log is many pages, each one bounded)
	if n <= p_limit then
		select * into h from safeguard.sync_horizon(p_xid, p_seq, v_xmin, p_scan);
		if safeguard.app_agency() = 'csc' then
			-- CSC may see every record: the log in order, as 028 read it, stopping at a full page
			open cur for select c.xid, c.seq, c.kind, c.record_id from safeguard.sync_changes c
			             where c.xid < v_xmin and (c.xid, c.seq) > (p_xid, p_seq)
			               and (h.xid is null or (c.xid, c.seq) <= (h.xid, h.seq))
			               and not exists (select 1 from safeguard.sync_changes d
			                               where d.record_id = c.record_id and d.kind = c.kind and d.xid < v_xmin
			                                 and (d.xid, d.seq) > (c.xid, c.seq))
			             order by c.xid, c.seq;
		else
			open cur for select w.xid, w.seq, null::text as kind, null::uuid as record_id
			             from safeguard.sync_window(p_xid, p_seq, v_xmin, h.xid, h.seq, v_max) w;
		end if;
		loop
			fetch cur into y;
			exit when not found;
			if y.kind is null then
				picked := picked + 1;
				v_last_xid := y.xid; v_last_seq := y.seq;
				-- the row under the log's policy: the caller may see its record, or was shown it
				select c.xid, c.seq, c.kind, c.record_id into y from safeguard.sync_changes c
				where c.xid = v_last_xid and c.seq = v_last_seq;
				continue when not found;
			end if;
			-- upserted at a window's end on this page: the same state again
			continue when y.kind = 'family' and y.record_id = any (v_sent);
			item := null; children := null; family := null; entry := null;
			if y.kind = 'child' then
				select safeguard.child_json(c)::text, array[c.id] into item, children
				from safeguard.children c where c.id = y.record_id;
			elsif y.kind = 'family' then
				select safeguard.family_json(f)::text, f.id,
				       array(select m.id from safeguard.children m where m.family_id = f.id)
				into item, family, children from safeguard.families f where f.id = y.record_id;
			else
				select coalesce(e.doc, safeguard.entry_json(e)::text), e.id into item, entry
				from safeguard.chronology_entries e where e.id = y.record_id;
				-- its children (child_ids) are audited by the API as an entry's
				-- (child.chronology_entry.sync): it names them, it does not show them
			end if;
			-- never seen, never told
			continue when item is null
			              and (not safeguard.sync_shown_since(y.kind, y.record_id, p_xid, p_seq)
			                   or safeguard.sync_tombstoned(y.kind, y.record_id, p_xid, p_seq, p_t, p_e));
			n := n + 1;
			exit when n > p_limit;
			pos := array[y.xid::text, y.seq::text, safeguard.sync_instant(v_now), v_last::text];
			if item is null then
				children := null;
				item := safeguard.sync_tombstone(y.kind, y.record_id, pos);
			else
				item := safeguard.sync_item(y.kind, y.record_id, item);
			end if;
			return next;
		end loop;
		close cur;
	end if;
	item := null; children := null; family := null; entry := null;
	if n > p_limit then
		more := true; -- pos: the last item returned
	elsif picked >= v_max then
		more := true; -- the window stopped at its size: go on after the last row it picked
		pos := array[v_last_xid::text, v_last_seq::text, safeguard.sync_instant(v_now), v_last::text];
	elsif h.xid is not null then
		more := true; -- the scan stopped short of the bound: go on from where it stopped
		pos := array[h.xid::text, h.seq::text, safeguard.sync_instant(v_now), v_last::text];
	else
		pos := array[v_xmin::text, '0', safeguard.sync_instant(v_now), v_last::text];
	end if;
	return next;
end
$$;
