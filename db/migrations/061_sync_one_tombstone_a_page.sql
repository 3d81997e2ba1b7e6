-- 061: a record that leaves a caller's view at a window's end is one
-- tombstone on a page, not two.
--
-- A page reads the ended share windows first, then the change log.  When
-- the caller's cursor is older than a child's last change, and the caller
-- was shown the child since (a GET, another device of the same user), and
-- then the child's window ended, both parts tombstoned it: the window's
-- part for the window, the log's part for the change.  045's record of a
-- tombstone (sync_tombstoned) stops the second only once the cursor has
-- passed the first, which is the next page, so at 200 items a page the two
-- came together (found by a hostile review, attack-recent.test; at one
-- item a page they fall on two pages, and the second is already stopped).
-- The log's part now skips a tombstone the window's part handed on the
-- same page.  Nothing else changes.

set search_path = safeguard, pg_temp;

-- 057's sync_page: a record the window's part tombstones on a page is not
-- tombstoned again by the log's part of the same page.
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
	v_tombed text[] := '{}';  -- the records the window's part of this page tombstoned, kind:id
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
			-- changed in the log after the cursor: the log's part sends it, as it is then
			continue when exists (select 1 from safeguard.sync_changes d
			                      where d.record_id = x.record_id and d.kind = 'family'
			                        and (d.xid, d.seq) > (p_xid, p_seq) and d.xid < v_xmin);
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
			v_tombed := v_tombed || (x.kind || ':' || x.record_id);
			item := safeguard.sync_tombstone(x.kind, x.record_id, pos);
		else
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
			-- (nor told twice on one page: the window's part may have told it)
			continue when item is null
			              and ((y.kind || ':' || y.record_id) = any (v_tombed)
			                   or not safeguard.sync_shown_since(y.kind, y.record_id, p_xid, p_seq)
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
