-- 051: three leftovers of the facts a way of seeing a record depends on.
--
-- 1. Who chairs a CME panel decides which agency's panel chairs are the CME
--    officer (cme_officer, 009), who sees every child with a live missing-
--    education case.  048 logs such a change to the change log, but the
--    audit trail said nothing of the access it starts or ends, while a
--    panel's membership change writes child.panel_access.start/end rows
--    for the children whose access moves (050).  A statement that creates,
--    deletes, retypes or re-chairs panels now writes, for each agency that
--    starts or stops chairing a CME panel (one that still chairs another
--    CME panel, or chaired one already, gains and loses nothing), one row
--    per child with a live case: 050's shape, cause 'cme_chair', the panel
--    whose change it was (the lowest id, when one statement changed several
--    of that agency's).  The triggers are per statement, with the
--    statement's old and new rows: a per-row trigger sees the table as the
--    whole statement left it, so of two panels re-chaired in one statement
--    each would take the other's new chair for one the agency held before.
--    An update that moves no CME chair (a rename, a version) compares two
--    short lists and writes nothing.
--    As 050's rows, they are written as the request's identity: a change
--    made with none (by hand in the database) is refused, as a membership
--    change of a panel with open referrals already is.
--
-- 2. An open panel referral shows its members the child (child_on_open_panel)
--    and the family it named when it was made (family_on_open_panel, its
--    subject family, fixed at referral).  A family is rendered with the
--    members its caller may see (family_json, 002), so the referral opening
--    and closing, or an agency joining or leaving the panel, also changes
--    the child's family as an agency that sees that family another way (it
--    made it, or another member is in its network) gets it.  018 and 048
--    logged the referral's subject family only: a child that had since
--    left it for another family left the other family unlogged, and a
--    device holding that family kept listing the child, name and date of
--    birth, after the child's panel access ended (or never listed it while
--    it lasted).  The referral's triggers now log the child's family as it
--    is now too (048's sync_log_child_and_family), besides the subject
--    family: sync_on_panel (018), sync_log_panel_open (048) and the deleted
--    referral in sync_on_fact_moved (048), restated whole with nothing else
--    changed.  A chronology request's subject children are the same case
--    (an invited agency sees them while the request is live, and the
--    request names the family they were in when it was opened): its
--    triggers (018's sync_log_request and sync_on_request) now log each
--    subject child's family as it is now too.
--
-- 3. sync_window (047) admitted every log row to CSC, whose policies show
--    it every child, family and entry that exists (child_visible,
--    family_writable, entries_read): the rows of a record deleted from the
--    database too, which the log's policy (sync_changes_read: the record
--    as its caller may read it, or shown to it) admits only to a caller
--    that was shown the record.  CSC's way is now the record existing, as
--    every other agency's ways already imply (each reads a row that refers
--    to the record); a deleted record's rows reach CSC only as shown, by
--    the window's last way, as the policy says.

set search_path = safeguard, pg_temp;

-- ---- 1. a CME panel's chair audits the access it moves ---------------------------------

create function safeguard.cme_chair_access_audit() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	touched uuid[] := '{}';  -- the statement's new rows (the table holds them now)
	old_ids uuid[] := '{}';  -- its old CME rows, by id (an agency's row names its first panel)
	old_chairs text[] := '{}';
	new_ids uuid[] := '{}';  -- its new CME rows, by id
	new_chairs text[] := '{}';
	was text[];
	now_ text[];
begin
	-- only the transition tables this statement's event has may be read
	if tg_op <> 'INSERT' then
		select coalesce(array_agg(o.id order by o.id), '{}'), coalesce(array_agg(o.chair_agency order by o.id), '{}')
		into old_ids, old_chairs
		from old_panels o where o.type = 'cme';
	end if;
	if tg_op <> 'DELETE' then
		select coalesce(array_agg(n.id), '{}') into touched from new_panels n;
		select coalesce(array_agg(n.id order by n.id), '{}'), coalesce(array_agg(n.chair_agency order by n.id), '{}')
		into new_ids, new_chairs
		from new_panels n where n.type = 'cme';
	end if;
	if cardinality(old_ids) = 0 and cardinality(new_ids) = 0 then
		return null;  -- no CME panel before or after: a rename, a panel of another type
	end if;
	-- the agencies chairing a CME panel after the statement, and before it
	-- (the rows it did not touch, and the old ones of those it did)
	now_ := array(select distinct p.chair_agency from safeguard.panels p where p.type = 'cme');
	was := array(select p.chair_agency from safeguard.panels p where p.type = 'cme' and p.id <> all (touched)
	             union select unnest(old_chairs));
	if now_ @> was and was @> now_ then
		return null;
	end if;
	insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id,
		outcome, details)
	select current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'),
		'child.panel_access.' || m.act, 'child', c.child_id::text, 'success',
		jsonb_build_object('panel_id', m.panel_id, 'agency', m.agency, 'cause', 'cme_chair')
	from (select 'start' as act, a as agency, new_ids[array_position(new_chairs, a)] as panel_id
	      from unnest(now_) a where a <> all (was)
	      union all
	      select 'end', a, old_ids[array_position(old_chairs, a)]
	      from unnest(was) a where a <> all (now_)) m
	cross join (select distinct cc.child_id from safeguard.cme_cases cc where cc.status <> 'closed') c
	order by m.act, m.agency, c.child_id;
	return null;
end
$$;
create trigger panels_cme_access_created after insert on safeguard.panels
	referencing new table as new_panels
	for each statement execute function safeguard.cme_chair_access_audit();
create trigger panels_cme_access_changed after update on safeguard.panels
	referencing old table as old_panels new table as new_panels
	for each statement execute function safeguard.cme_chair_access_audit();
create trigger panels_cme_access_deleted after delete on safeguard.panels
	referencing old table as old_panels
	for each statement execute function safeguard.cme_chair_access_audit();

-- ---- 2. a referral or a request logs its children's families as they are now --------

-- 018's sync_on_panel: the child's family as well as the subject family.
create or replace function safeguard.sync_on_panel() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	panel uuid;
	x record;
begin
	if tg_table_name = 'panel_referrals' then
		if tg_op = 'INSERT' or old.status is distinct from new.status then
			perform safeguard.sync_log_child_and_family(new.child_id);
			perform safeguard.sync_log('family', new.subject_family_id);
			perform safeguard.sync_log_shared_entries(new.chronology_request_id);
		end if;
		return null;
	end if;
	if tg_op = 'DELETE' then
		panel := old.panel_id;
	else
		panel := new.panel_id;
	end if;
	for x in select r.child_id, r.subject_family_id, r.chronology_request_id from safeguard.panel_referrals r
	         where r.panel_id = panel and r.status in ('submitted', 'accepted', 'reopened') loop
		perform safeguard.sync_log_child_and_family(x.child_id);
		perform safeguard.sync_log('family', x.subject_family_id);
		perform safeguard.sync_log_shared_entries(x.chronology_request_id);
	end loop;
	return null;
end
$$;

-- 048's sync_log_panel_open: the same.
create or replace function safeguard.sync_log_panel_open(p_panel uuid) returns void
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	x record;
begin
	for x in select r.child_id, r.subject_family_id, r.chronology_request_id from safeguard.panel_referrals r
	         where r.panel_id = p_panel and r.status in ('submitted', 'accepted', 'reopened') loop
		perform safeguard.sync_log_child_and_family(x.child_id);
		perform safeguard.sync_log('family', x.subject_family_id);
		perform safeguard.sync_log_shared_entries(x.chronology_request_id);
	end loop;
end
$$;

-- 048's sync_on_fact_moved: an open referral deleted logs its child's family too.
create or replace function safeguard.sync_on_fact_moved() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	case tg_table_name
	when 'child_network' then
		perform safeguard.sync_log_child_and_family(old.child_id);
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log_child_and_family(new.child_id);
		end if;
	when 'chronology_request_children' then
		perform safeguard.sync_log_child_and_family(old.child_id);
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log_child_and_family(new.child_id);
		end if;
	when 'chronology_request_agencies' then
		perform safeguard.sync_log_request(old.request_id);
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log_request(new.request_id);
		end if;
	when 'chronology_requests' then
		-- the requester reads the entries shared into it (entries_read); a
		-- deleted request's rows are read before it goes, or are gone and
		-- were logged by their own triggers
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log_request(new.id);
		else
			perform safeguard.sync_log_request(old.id);
			perform safeguard.sync_log('family', old.subject_family_id);
		end if;
	when 'chronology_contributions' then
		perform safeguard.sync_log('chronology_entry', old.entry_id);
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log('chronology_entry', new.entry_id);
		end if;
	when 'panel_members' then
		perform safeguard.sync_log_panel_open(old.panel_id);
		if tg_op = 'UPDATE' then
			perform safeguard.sync_log_panel_open(new.panel_id);
		end if;
	when 'panel_referrals' then -- an open referral deleted
		perform safeguard.sync_log_child_and_family(old.child_id);
		perform safeguard.sync_log('family', old.subject_family_id);
		perform safeguard.sync_log_shared_entries(old.chronology_request_id);
	when 'cme_cases' then -- a live case deleted
		perform safeguard.sync_log_child_and_family(old.child_id);
	when 'children' then
		perform safeguard.sync_log('child', old.id);
		perform safeguard.sync_log('family', old.family_id);
	when 'families' then
		perform safeguard.sync_log('family', old.id);
	when 'chronology_entries' then
		perform safeguard.sync_log('chronology_entry', old.id);
	end case;
	return null;
end
$$;

-- 018's sync_log_request: each subject child's family as it is now, besides
-- the request's family.
create or replace function safeguard.sync_log_request(req uuid) returns void
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	x record;
begin
	for x in select 'child' as k, rc.child_id as id from safeguard.chronology_request_children rc
	         where rc.request_id = req
	         union all select 'family', r.subject_family_id from safeguard.chronology_requests r where r.id = req
	         union all select 'chronology_entry', c.entry_id from safeguard.chronology_contributions c
	         where c.request_id = req loop
		if x.k = 'child' then
			perform safeguard.sync_log_child_and_family(x.id);
		else
			perform safeguard.sync_log(x.k, x.id);
		end if;
	end loop;
end
$$;

-- 018's sync_on_request: a subject child added logs its family too.
create or replace function safeguard.sync_on_request() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if tg_table_name = 'chronology_requests' then
		if tg_op = 'INSERT' or old.closed_at is distinct from new.closed_at
		   or old.share_until is distinct from new.share_until then
			perform safeguard.sync_log_request(new.id);
		end if;
	elsif tg_table_name = 'chronology_request_children' then
		perform safeguard.sync_log_child_and_family(new.child_id);
	elsif tg_op = 'DELETE' then -- an agency no longer invited
		perform safeguard.sync_log_request(old.request_id);
	else -- an agency invited
		perform safeguard.sync_log_request(new.request_id);
	end if;
	return null;
end
$$;

-- ---- 3. CSC's window: the records that exist ---------------------------------------

-- 047's sync_window, CSC's way being the record existing.  Each way is still
-- a probe of its own with offset 0; CSC's is one primary-key probe per row.
create or replace function safeguard.sync_window(p_xid xid8, p_seq bigint, p_bound xid8, p_to_xid xid8, p_to_seq bigint,
	p_max integer)
returns table (xid xid8, seq bigint)
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	me text := safeguard.app_agency();
	sub text := safeguard.app_sub();
	officer boolean := safeguard.cme_officer();
	reader boolean := safeguard.app_panel_reader_role();
begin
	return query
	select c.xid, c.seq from safeguard.sync_changes c
	where c.xid < p_bound and (c.xid, c.seq) > (p_xid, p_seq)
	  and (p_to_xid is null or (c.xid, c.seq) <= (p_to_xid, p_to_seq))
	  and not exists (select 1 from safeguard.sync_changes d
	                  where d.record_id = c.record_id and d.kind = c.kind and d.xid < p_bound
	                    and (d.xid, d.seq) > (c.xid, c.seq))
	  and ((me = 'csc'
	        -- CSC sees every child (child_visible), family (family_writable)
	        -- and entry (entries_read) that exists
	        and case c.kind
	            when 'child' then exists (select 1 from safeguard.children k where k.id = c.record_id offset 0)
	            when 'family' then exists (select 1 from safeguard.families f where f.id = c.record_id offset 0)
	            else exists (select 1 from safeguard.chronology_entries e where e.id = c.record_id offset 0)
	            end)
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
	               -- requests today) or is invited to while live, or, for a panel
	               -- reader's role (017's app_panel_reader_role), into one a
	               -- panel it sits on reads
	               exists (select 1 from safeguard.chronology_entries e
	                       where e.id = c.record_id and e.agency = me offset 0)
	            or exists (select 1 from safeguard.chronology_contributions co
	                       join safeguard.chronology_requests r on r.id = co.request_id
	                       where co.entry_id = c.record_id
	                         and (r.requesting_agency = me
	                              or (r.closed_at is null and now() < r.share_until
	                                  and (exists (select 1 from safeguard.chronology_request_agencies a
	                                               where a.request_id = r.id and a.agency = me)
	                                       or (reader and exists (select 1 from safeguard.panel_referrals pr
	                                                  join safeguard.panel_members m
	                                                    on m.panel_id = pr.panel_id and m.agency = me
	                                                  where pr.chronology_request_id = r.id
	                                                    and pr.status in ('submitted', 'accepted', 'reopened')))))) offset 0)
	          end
	       -- shown once (sync_shown, by the list): a tombstone may be due
	       or exists (select 1 from safeguard.audit_events au
	                  where au.resource_type = c.kind and au.resource_id = c.record_id::text
	                    and au.actor_sub = sub and au.actor_agency = me and au.outcome = 'success'
	                    and safeguard.sync_action_shows(au.action) offset 0))
	order by c.xid, c.seq
	limit greatest(p_max, 1);
end
$$;
