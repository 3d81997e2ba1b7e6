-- 045: a record that left a caller's view by a share window's end is one
-- tombstone, not two.
--
-- 028 made a tombstone come once: after it, the record's later changes
-- tell a former reader nothing, because it was not shown the record since
-- the change its cursor passed.  A share window's end is no change in the
-- log, though, so after a window-end tombstone the record's next change
-- was measured from the change before the window ended, and the former
-- reader got a second tombstone (attack-sync.test.mjs kept it as a todo).
-- Counting the window's end as a change would be wrong the other way: the
-- record may still have been visible another way then, so no tombstone
-- was handed, and the client still holds its copy.
--
-- So a tombstone is now recorded where it is handed: sync_page writes an
-- audit row (`<kind>.sync_tombstone`, its details the item's position) for
-- each one it returns, in the page's transaction.  A record is not
-- tombstoned again while the caller's latest tombstone of it is newer than
-- its latest showing and the caller's cursor has passed that tombstone's
-- position (the client stored the page that carried it).  A page read
-- again from the same cursor (an answer lost to the network) is still the
-- same page: its tombstones are not yet passed, so they come again.  A
-- tombstone is not a showing (sync_shown_since leaves its rows out).

set search_path = safeguard, pg_temp;

-- The item of a tombstone, with its audit row: the caller was told to drop
-- the record at position p_pos of its sync.  Runs as the caller (the audit
-- trail's insert policy: its own rows only).
create function safeguard.sync_tombstone(p_kind text, p_id uuid, p_pos text[]) returns text
language plpgsql volatile set search_path = safeguard, pg_temp
as $$
begin
	insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id,
		outcome, details)
	values (current_setting('app.request_id'), safeguard.app_sub(), safeguard.app_agency(), p_kind || '.sync_tombstone',
		p_kind, p_id::text, 'success', jsonb_build_object('position', to_jsonb(p_pos)));
	return safeguard.sync_item(p_kind, p_id, null);
end
$$;

-- Has the caller been told to drop the record since it was last shown it,
-- by a tombstone its cursor (p_xid, p_seq; p_t, p_e) has passed?  A
-- tombstone from the log sits at (xid, seq), one from an ended share window
-- at (instant, id) in the windows' order; the cursor has passed it when its
-- own part of that order is at or beyond it.  SECURITY DEFINER to read the
-- caller's own audit rows (018's policy for the owner); answers a yes or no.
create function safeguard.sync_tombstoned(p_kind text, p_id uuid, p_xid xid8, p_seq bigint, p_t timestamptz,
	p_e uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	v_shown timestamptz;
begin
	select max(a.occurred_at) into v_shown from safeguard.audit_events a
	where a.resource_type = p_kind and a.resource_id = p_id::text
	  and a.actor_sub = safeguard.app_sub() and a.actor_agency = safeguard.app_agency() and a.outcome = 'success'
	  and a.action not in ('child.chronology_entry.read', 'child.chronology_entry.sync', 'child.chronology.read')
	  and a.action not like '%.sync_tombstone';
	return exists (select 1 from safeguard.audit_events a
	               where a.resource_type = p_kind and a.resource_id = p_id::text
	                 and a.actor_sub = safeguard.app_sub() and a.actor_agency = safeguard.app_agency()
	                 and a.action = p_kind || '.sync_tombstone' and a.occurred_at >= coalesce(v_shown, '-infinity')
	                 and case when a.details->'position'->>3 = 'ffffffff-ffff-ffff-ffff-ffffffffffff'
	                          then ((a.details->'position'->>0)::xid8, (a.details->'position'->>1)::bigint) <= (p_xid, p_seq)
	                          else ((a.details->'position'->>2)::timestamptz, (a.details->'position'->>3)::uuid) <= (p_t, p_e)
	                     end);
end
$$;
revoke all on function safeguard.sync_tombstoned(text, uuid, xid8, bigint, timestamptz, uuid) from public;
grant execute on function safeguard.sync_tombstoned(text, uuid, xid8, bigint, timestamptz, uuid) to safeguard_api;

-- 028's rule, with a tombstone's own audit row left out: being told to drop
-- a record is not being shown it.
create or replace function safeguard.sync_shown_since(p_kind text, p_id uuid, p_xid xid8, p_seq bigint) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	v_since timestamptz;
begin
	select max(c.at) into v_since from safeguard.sync_changes c
	where c.record_id = p_id and c.kind = p_kind and (c.xid, c.seq) <= (p_xid, p_seq);
	return exists (select 1 from safeguard.audit_events a
	               where a.resource_type = p_kind and a.resource_id = p_id::text
	                 and a.actor_sub = safeguard.app_sub() and a.actor_agency = safeguard.app_agency()
	                 and a.outcome = 'success' and a.occurred_at >= coalesce(v_since, '-infinity')
	                 -- an entry's answer names its children, it does not show them (028)
	                 and a.action not in ('child.chronology_entry.read', 'child.chronology_entry.sync',
	                                      'child.chronology.read')
	                 and a.action not like '%.sync_tombstone');
end
$$;

-- 044's sync_page, each tombstone handed through sync_tombstone and none
-- handed again once the cursor has passed it (sync_tombstoned).
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
		continue when safeguard.sync_record_visible(x.kind, x.record_id)
		           or safeguard.sync_tombstoned(x.kind, x.record_id, p_xid, p_seq, p_t, p_e);
		n := n + 1;
		exit when n > p_limit;
		pos := array[p_xid::text, p_seq::text, safeguard.sync_instant(x.expired_at), x.record_id::text];
		item := safeguard.sync_tombstone(x.kind, x.record_id, pos);
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
