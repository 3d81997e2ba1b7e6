-- 028_sync_tombstone_once: a record that left a caller's view is a
-- tombstone once, not at every later change of it, and a child an entry
-- names but the caller never saw is never one.
--
-- 018 handed a tombstone for every change of a record the caller may not
-- see but was shown at any time, so a former reader (an involvement ended,
-- a request closed) went on learning, sync after sync, each time the record
-- was written: a watch on a child it may no longer see.  A client needs a
-- tombstone only while it may hold a copy: when it was shown the record
-- after the record's last change at or before its cursor (the change its
-- cursor already took it past, the one that ended its access included).
-- Its first sync (no cursor) still counts every time it was shown.
--
-- And 018 counted as "shown" the audit rows of the children an entry names
-- (its child_ids): an entry shared into a request may name a sibling the
-- reader may not see, and that sibling's every change came as a tombstone
-- to someone who never saw its record.  A child is shown by its own
-- answers, not by an entry naming it: sync now audits an entry's children
-- as the entry's GET does, under their own action, and neither counts, nor
-- does a child's chronology (whose entries may name the sibling).  The
-- rule reads only the log and the caller's own audit rows, so a page read
-- again from the same cursor is the same page.
--
-- Each change now carries the start of its transaction (now()): every
-- audit row of that transaction or a later one is at or after it.  The
-- changes logged before this migration carry -infinity: for them the rule
-- is 018's (shown at any time).

alter table safeguard.sync_changes add column at timestamptz not null default '-infinity';
alter table safeguard.sync_changes alter column at set default now();

-- Was the caller (this subject of this agency) shown the record after its
-- last change at or before the position (p_xid, p_seq)?  SECURITY DEFINER:
-- it reads the log's rows whoever may see them, and answers a yes or no
-- about the caller's own audit rows only (018's policy for the owner).
create function safeguard.sync_shown_since(p_kind text, p_id uuid, p_xid xid8, p_seq bigint) returns boolean
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
	                 -- an entry's answer names its children, it does not show them: an entry
	                 -- shared across agencies may name a child the reader may not see (its
	                 -- GET, its sync, and a child's chronology listing it)
	                 and a.action not in ('child.chronology_entry.read', 'child.chronology_entry.sync',
	                                      'child.chronology.read'));
end
$$;

-- 018's sync_page, with sync_shown_since for the log's tombstones (the
-- ended share windows keep 018's rule: each window ends once).
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
	x record;
	h record;
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
		for x in select c.xid, c.seq, c.kind, c.record_id from safeguard.sync_changes c
		         where c.xid < v_xmin and (c.xid, c.seq) > (p_xid, p_seq)
		           and (h.xid is null or (c.xid, c.seq) <= (h.xid, h.seq))
		           and not exists (select 1 from safeguard.sync_changes d
		                           where d.record_id = c.record_id and d.kind = c.kind and d.xid < v_xmin
		                             and (d.xid, d.seq) > (c.xid, c.seq))
		         order by c.xid, c.seq loop
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
	elsif h.xid is not null then
		more := true; -- the scan stopped short of the bound: go on from where it stopped
		pos := array[h.xid::text, h.seq::text, safeguard.sync_instant(v_now), v_last::text];
	else
		pos := array[v_xmin::text, '0', safeguard.sync_instant(v_now), v_last::text];
	end if;
	return next;
end
$$;
