-- 044: 042's window, measured on a log of 300,000 changes (100,000
-- children, 200,000 entries; a quarter of the children and half the entries
-- police's), gave up less than it took for callers that see much.
--
-- - The planner answered each way with a hash of every record the caller
--   may see by it, built on every page: 100,000 of police's entries and
--   25,000 of its children for a page that met 1,600 changes.  A page of
--   200 for a police practitioner took 232 ms against 028's 138.  Each way
--   is now one index probe per change met (offset 0 keeps the planner from
--   hashing it): 133 ms, and 54-57 ms against 028's 60-62 for a page of 50.
--   A district practitioner, which sees 201 of the 300,000 records: 105
--   ms a page (62 pages for its whole first sync), 028's 676.
-- - CSC sees every record, so its window picked every change and each
--   picked row cost a statement of its own to read: 41 ms a page of 200
--   against 028's 31.  CSC reads the log directly again, as 028 did,
--   stopping at a full page.
--
-- The ways themselves are 042's; tests/api/sync-window.test.mjs still
-- compares a whole first sync with the policies for every role of every
-- agency.

set search_path = safeguard, pg_temp;

create or replace function safeguard.sync_window(p_xid xid8, p_seq bigint, p_bound xid8, p_to_xid xid8, p_to_seq bigint,
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
	                       where n.child_id = c.record_id and n.agency = me offset 0)
	            or exists (select 1 from safeguard.chronology_request_children rc
	                       join safeguard.chronology_requests r on r.id = rc.request_id
	                       join safeguard.chronology_request_agencies a on a.request_id = r.id and a.agency = me
	                       where rc.child_id = c.record_id and r.closed_at is null and now() < r.share_until offset 0)
	            or exists (select 1 from safeguard.panel_referrals pr
	                       join safeguard.panel_members m on m.panel_id = pr.panel_id and m.agency = me
	                       where pr.child_id = c.record_id and pr.status in ('submitted', 'accepted', 'reopened') offset 0)
	            or (officer and exists (select 1 from safeguard.cme_cases cc
	                                    where cc.child_id = c.record_id and cc.status <> 'closed' offset 0))
	          when 'family' then
	               -- family_visible (013): made by the agency, a member in its
	               -- network, the subject of a live request it is invited to or
	               -- of an open referral to a panel it sits on
	               exists (select 1 from safeguard.families f
	                       where f.id = c.record_id and f.created_by_agency = me offset 0)
	            or exists (select 1 from safeguard.children k
	                       join safeguard.child_network n on n.child_id = k.id and n.agency = me
	                       where k.family_id = c.record_id offset 0)
	            or exists (select 1 from safeguard.chronology_requests r
	                       join safeguard.chronology_request_agencies a on a.request_id = r.id and a.agency = me
	                       where r.subject_family_id = c.record_id and r.closed_at is null and now() < r.share_until offset 0)
	            or exists (select 1 from safeguard.panel_referrals pr
	                       join safeguard.panel_members m on m.panel_id = pr.panel_id and m.agency = me
	                       where pr.subject_family_id = c.record_id
	                         and pr.status in ('submitted', 'accepted', 'reopened') offset 0)
	          else
	               -- entries_read (003, 004) and entries_read_panel (017): the
	               -- agency's own, shared into a request it made (only CSC opens
	               -- requests today, and CSC is picked above) or is invited to
	               -- while live, or into one a panel it sits on reads
	               exists (select 1 from safeguard.chronology_entries e
	                       where e.id = c.record_id and e.agency = me offset 0)
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
	                                                    and pr.status in ('submitted', 'accepted', 'reopened'))))) offset 0)
	          end
	       -- shown once (018's sync_shown): a tombstone may be due
	       or exists (select 1 from safeguard.audit_events au
	                  where au.resource_type = c.kind and au.resource_id = c.record_id::text
	                    and au.actor_sub = sub and au.actor_agency = me and au.outcome = 'success' offset 0))
	order by c.xid, c.seq
	limit greatest(p_max, 1);
end
$$;

-- 042's sync_page; CSC reads the log itself (above), every other caller its window.
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
			continue when item is null and not safeguard.sync_shown_since(y.kind, y.record_id, p_xid, p_seq);
			n := n + 1;
			exit when n > p_limit;
			if item is null then
				children := null;
			end if;
			item := safeguard.sync_item(y.kind, y.record_id, item);
			pos := array[y.xid::text, y.seq::text, safeguard.sync_instant(v_now), v_last::text];
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
