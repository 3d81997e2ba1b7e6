-- 042: a page of delta sync (GET /v1/changes) costs what the caller may be
-- told, not what the log holds.
--
-- Each page reads up to 5,000 rows of the change log (018's p_scan).  It
-- read them under the log's row-level security, which checks every row
-- (may the caller see the record now, else was it ever shown it: chains of
-- definer functions, about 180 us a row), and checked every later change
-- of the record the same way to keep its latest change only.  For an agency
-- that sees few of the records a large log is about, nearly every row was
-- checked and dropped: a first sync of a 500,000-row log was about 100
-- pages of 250-600 ms each.
--
-- sync_window now picks, in one statement, the rows of the page's part of
-- the log worth checking: each record at its latest change, and of those
-- only the ones the caller could be told about, by plain index probes: a
-- record of the caller's agency's network or one it could see by each of
-- the ways the records' read policies admit one (the same ways as 035's
-- child_page, for families and entries too), or one the audit trail says
-- this caller was shown.  It answers positions in the log only, never a
-- record's id, so it tells a direct caller nothing the log's policy
-- withholds.  sync_page then reads each picked row of the log under that
-- policy, and its record under the record's own policies, as before: the
-- policies still decide; the window only spares the rows they would drop.
--
-- The ways are a superset of the policies' (a panel's records are picked
-- for any role of a member agency, while the policies ask for a panel
-- reader's role): a row picked in vain costs one policy check, as every
-- row did.  A way the window misses would lose a record from sync, so a
-- new way to see a child, a family or an entry must be added here as well
-- as to its policy; tests/api/sync-window.test.mjs compares a whole sync
-- with what the policies show, for every role of every agency.
-- CSC sees every record: its window picks every latest change.

set search_path = safeguard, pg_temp;

-- The positions (xid, seq) of the first p_max rows of the log after
-- (p_xid, p_seq), below the bound p_bound and at or before (p_to_xid,
-- p_to_seq) when that is given, that are their record's latest change below
-- the bound and whose record the caller may see by some way or was shown,
-- in log order.  SECURITY DEFINER to read the log without checking each row
-- as the caller.  It stops at p_max, so a caller that sees much reads about
-- a page of the log, as before, not the whole part a page may scan.
create function safeguard.sync_window(p_xid xid8, p_seq bigint, p_bound xid8, p_to_xid xid8, p_to_seq bigint,
	p_max integer)
returns table (xid xid8, seq bigint)
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	me text := safeguard.app_agency();
	sub text := safeguard.app_sub();
	officer boolean := safeguard.cme_officer();
begin
	return query
	select c.xid, c.seq from safeguard.sync_changes c
	where c.xid < p_bound and (c.xid, c.seq) > (p_xid, p_seq)
	  and (p_to_xid is null or (c.xid, c.seq) <= (p_to_xid, p_to_seq))
	  and not exists (select 1 from safeguard.sync_changes d
	                  where d.record_id = c.record_id and d.kind = c.kind and d.xid < p_bound
	                    and (d.xid, d.seq) > (c.xid, c.seq))
	  and (me = 'csc'
	       or case c.kind
	          when 'child' then
	               -- child_visible (009): the network, a live request the agency is
	               -- invited to, an open referral to a panel it sits on, a live
	               -- missing-education case for the CME officer
	               exists (select 1 from safeguard.child_network n
	                       where n.child_id = c.record_id and n.agency = me)
	            or exists (select 1 from safeguard.chronology_request_children rc
	                       join safeguard.chronology_requests r on r.id = rc.request_id
	                       join safeguard.chronology_request_agencies a on a.request_id = r.id and a.agency = me
	                       where rc.child_id = c.record_id and r.closed_at is null and now() < r.share_until)
	            or exists (select 1 from safeguard.panel_referrals pr
	                       join safeguard.panel_members m on m.panel_id = pr.panel_id and m.agency = me
	                       where pr.child_id = c.record_id and pr.status in ('submitted', 'accepted', 'reopened'))
	            or (officer and exists (select 1 from safeguard.cme_cases cc
	                                    where cc.child_id = c.record_id and cc.status <> 'closed'))
	          when 'family' then
	               -- family_visible (013): made by the agency, a member in its
	               -- network, the subject of a live request it is invited to or
	               -- of an open referral to a panel it sits on
	               exists (select 1 from safeguard.families f
	                       where f.id = c.record_id and f.created_by_agency = me)
	            or exists (select 1 from safeguard.children k
	                       join safeguard.child_network n on n.child_id = k.id and n.agency = me
	                       where k.family_id = c.record_id)
	            or exists (select 1 from safeguard.chronology_requests r
	                       join safeguard.chronology_request_agencies a on a.request_id = r.id and a.agency = me
	                       where r.subject_family_id = c.record_id and r.closed_at is null and now() < r.share_until)
	            or exists (select 1 from safeguard.panel_referrals pr
	                       join safeguard.panel_members m on m.panel_id = pr.panel_id and m.agency = me
	                       where pr.subject_family_id = c.record_id
	                         and pr.status in ('submitted', 'accepted', 'reopened'))
	          else
	               -- entries_read (003, 004) and entries_read_panel (017): the
	               -- agency's own, shared into a request it made (only CSC opens
	               -- requests today, and CSC is picked above) or is invited to
	               -- while live, or into one a panel it sits on reads
	               exists (select 1 from safeguard.chronology_entries e
	                       where e.id = c.record_id and e.agency = me)
	            or exists (select 1 from safeguard.chronology_contributions co
	                       join safeguard.chronology_requests r on r.id = co.request_id
	                       where co.entry_id = c.record_id
	                         and (r.requesting_agency = me
	                              or (r.closed_at is null and now() < r.share_until
	                                  and (exists (select 1 from safeguard.chronology_request_agencies a
	                                               where a.request_id = r.id and a.agency = me)
	                                       or exists (select 1 from safeguard.panel_referrals pr
	                                                  join safeguard.panel_members m
	                                                    on m.panel_id = pr.panel_id and m.agency = me
	                                                  where pr.chronology_request_id = r.id
	                                                    and pr.status in ('submitted', 'accepted', 'reopened'))))))
	          end
	       -- shown once (018's sync_shown): a tombstone may be due
	       or exists (select 1 from safeguard.audit_events au
	                  where au.resource_type = c.kind and au.resource_id = c.record_id::text
	                    and au.actor_sub = sub and au.actor_agency = me and au.outcome = 'success'))
	order by c.xid, c.seq
	limit greatest(p_max, 1);
end
$$;
revoke all on function safeguard.sync_window(xid8, bigint, xid8, xid8, bigint, integer) from public;
grant execute on function safeguard.sync_window(xid8, bigint, xid8, xid8, bigint, integer) to safeguard_api;

-- 028's sync_page, reading the log's part of a page through sync_window:
-- each picked row is read under the log's policy and its record under its
-- own, as before.  A window may pick rows the policies then drop (a
-- panel's records for a role that does not read them, a record whose
-- tombstone was already sent), so it picks twice a page and a hundred more;
-- when those did not fill the page the page ends at the last of them and
-- says more (a short page, never a lost change).  Everything else is 028's.
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
	w record;
	x record;
	h record;
	v_max integer := 2 * greatest(p_limit, 1) + 100;
	picked integer := 0;
	v_last_xid xid8;
	v_last_seq bigint;
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
	-- tombstones for access that ended with a share window, in window order
	for x in select * from safeguard.sync_expired(p_t, p_e, v_now) loop
		continue when safeguard.sync_record_visible(x.kind, x.record_id);
		n := n + 1;
		exit when n > p_limit;
		item := safeguard.sync_item(x.kind, x.record_id, null);
		pos := array[p_xid::text, p_seq::text, safeguard.sync_instant(x.expired_at), x.record_id::text];
		return next;
	end loop;
	-- the log below the bound, each record at its latest change only, at most p_scan rows of it
	-- (whoever may see them: a small caseload in a large log is many pages, each one bounded)
	if n <= p_limit then
		select * into h from safeguard.sync_horizon(p_xid, p_seq, v_xmin, p_scan);
		for w in select * from safeguard.sync_window(p_xid, p_seq, v_xmin, h.xid, h.seq, v_max) loop
			picked := picked + 1;
			v_last_xid := w.xid; v_last_seq := w.seq;
			-- the row under the log's policy: the caller may see its record, or was shown it
			select c.xid, c.seq, c.kind, c.record_id into x from safeguard.sync_changes c
			where c.xid = w.xid and c.seq = w.seq;
			continue when not found;
			item := null; children := null; family := null; entry := null;
			if x.kind = 'child' then
				select safeguard.child_json(c)::text, array[c.id] into item, children
				from safeguard.children c where c.id = x.record_id;
			elsif x.kind = 'family' then
				select safeguard.family_json(f)::text, f.id,
				       array(select m.id from safeguard.children m where m.family_id = f.id)
				into item, family, children from safeguard.families f where f.id = x.record_id;
			else
				select coalesce(e.doc, safeguard.entry_json(e)::text), e.id into item, entry
				from safeguard.chronology_entries e where e.id = x.record_id;
				-- its children (child_ids) are audited by the API as an entry's
				-- (child.chronology_entry.sync): it names them, it does not show them
			end if;
			-- never seen, never told
			continue when item is null and not safeguard.sync_shown_since(x.kind, x.record_id, p_xid, p_seq);
			n := n + 1;
			exit when n > p_limit;
			if item is null then
				children := null;
			end if;
			item := safeguard.sync_item(x.kind, x.record_id, item);
			pos := array[x.xid::text, x.seq::text, safeguard.sync_instant(v_now), v_last::text];
			return next;
		end loop;
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
