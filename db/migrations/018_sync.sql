-- 018_sync: the change log behind delta sync (GET /v1/changes, api/areas/sync/).
--
-- An outreach worker's app keeps its caseload (children, families,
-- chronology entries) fresh by asking what changed since its last sync.
-- What changed is recorded here by triggers, on the records themselves and
-- on every fact that changes who may see one (a child's network, a
-- chronology request opened, closed or answered, a contribution, a panel
-- referral opened or closed, a panel's members, a missing-education case,
-- a family's members), so no code path can forget to write it: the API's
-- role may read the log (under row-level security) but never write it.
--
-- Order without loss under concurrent writers.  A sequence alone is not
-- safe: a transaction holding seq 7 may commit after a reader has seen 8
-- and moved its cursor past 7.  Each row carries its transaction's id
-- (xid8, pg_current_xact_id()), and a reader is handed only rows whose
-- transaction is older than the oldest one still running when its statement
-- began (pg_snapshot_xmin(pg_current_snapshot())): every such transaction
-- has finished, so the rows below that bound are all there is and ever
-- will be, and any row written later has an id at or above it.  Within the
-- bound rows are ordered by (xid, seq); a cursor is a position in that
-- order, and the bound itself ((xmin, 0)) is where a sync that reached the
-- end resumes.  A transaction that stays open holds the bound back (its
-- own and later changes wait), it never makes anyone skip a change.
--
-- What a caller is told (sync_page): for each record changed past its
-- cursor, its current state if the caller may see it now (the records'
-- own policies, as their GET routes), else a tombstone carrying only its
-- kind and id if the audit trail shows this caller (same subject, same
-- agency) was shown that record (sync_shown), else nothing.  Access lost
-- by time alone (a chronology request's share window passing, with no
-- write) is found at sync time from the requests whose window ended
-- between the cursor's instant and now (sync_expired).

create table safeguard.sync_changes (
	seq bigint generated always as identity,
	xid xid8 not null default pg_current_xact_id(),
	kind text not null check (kind in ('child', 'family', 'chronology_entry')),
	record_id uuid not null,
	primary key (xid, seq)
);
-- a record's later changes (one row per record per transaction), and the triggers' "already logged"
create index sync_changes_record on safeguard.sync_changes (record_id, kind, xid, seq);

-- Logs a change of a record in the current transaction, once per
-- transaction.  SECURITY DEFINER: the API's role has no insert on the log.
create function safeguard.sync_log(p_kind text, p_id uuid) returns void
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if p_id is null then
		return;
	end if;
	insert into safeguard.sync_changes (kind, record_id)
	select p_kind, p_id
	where not exists (select 1 from safeguard.sync_changes c
	                  where c.record_id = p_id and c.kind = p_kind and c.xid = pg_current_xact_id());
end
$$;

-- Everything a chronology request's visibility decides: its subject
-- children, its family, and the entries shared into it.
create function safeguard.sync_log_request(req uuid) returns void
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
		perform safeguard.sync_log(x.k, x.id);
	end loop;
end
$$;

-- The entries shared into a request (which an open referral naming it
-- shares with its panel, 017).
create function safeguard.sync_log_shared_entries(req uuid) returns void
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	x record;
begin
	for x in select c.entry_id from safeguard.chronology_contributions c where c.request_id = req loop
		perform safeguard.sync_log('chronology_entry', x.entry_id);
	end loop;
end
$$;

create function safeguard.sync_on_child() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	perform safeguard.sync_log('child', new.id);
	-- a family's representation lists its members' names and dates of birth
	perform safeguard.sync_log('family', new.family_id);
	if tg_op = 'UPDATE' and old.family_id is distinct from new.family_id then
		perform safeguard.sync_log('family', old.family_id);
	end if;
	return null;
end
$$;
create trigger children_sync after insert or update on safeguard.children
	for each row execute function safeguard.sync_on_child();

create function safeguard.sync_on_family() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	perform safeguard.sync_log('family', new.id);
	return null;
end
$$;
create trigger families_sync after insert or update on safeguard.families
	for each row execute function safeguard.sync_on_family();

-- A child's network (created, declared, panel; an involvement ended): who
-- sees the child, and its family.
create function safeguard.sync_on_network() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	child uuid;
begin
	if tg_op = 'DELETE' then
		child := old.child_id;
	else
		child := new.child_id;
	end if;
	perform safeguard.sync_log('child', child);
	perform safeguard.sync_log('family', (select c.family_id from safeguard.children c where c.id = child));
	return null;
end
$$;
create trigger child_network_sync after insert or delete on safeguard.child_network
	for each row execute function safeguard.sync_on_network();

-- An entry, its children (named in its document) and its sharing into a request.
create function safeguard.sync_on_entry() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if tg_table_name = 'chronology_entries' then
		perform safeguard.sync_log('chronology_entry', new.id);
	elsif tg_op = 'DELETE' then
		perform safeguard.sync_log('chronology_entry', old.entry_id);
	else
		perform safeguard.sync_log('chronology_entry', new.entry_id);
	end if;
	return null;
end
$$;
create trigger chronology_entries_sync after insert or update on safeguard.chronology_entries
	for each row execute function safeguard.sync_on_entry();
create trigger chronology_entry_children_sync after insert on safeguard.chronology_entry_children
	for each row execute function safeguard.sync_on_entry();
create trigger chronology_contributions_sync after insert or delete on safeguard.chronology_contributions
	for each row execute function safeguard.sync_on_entry();

-- A request opened (its children and agencies), closed, or its window moved.
create function safeguard.sync_on_request() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if tg_table_name = 'chronology_requests' then
		if tg_op = 'INSERT' or old.closed_at is distinct from new.closed_at
		   or old.share_until is distinct from new.share_until then
			perform safeguard.sync_log_request(new.id);
		end if;
	elsif tg_table_name = 'chronology_request_children' then
		perform safeguard.sync_log('child', new.child_id);
	elsif tg_op = 'DELETE' then -- an agency no longer invited
		perform safeguard.sync_log_request(old.request_id);
	else -- an agency invited
		perform safeguard.sync_log_request(new.request_id);
	end if;
	return null;
end
$$;
create trigger chronology_requests_sync after insert or update on safeguard.chronology_requests
	for each row execute function safeguard.sync_on_request();
create trigger chronology_request_children_sync after insert on safeguard.chronology_request_children
	for each row execute function safeguard.sync_on_request();
create trigger chronology_request_agencies_sync after insert or delete on safeguard.chronology_request_agencies
	for each row execute function safeguard.sync_on_request();

-- A panel referral opened or closed (its child, its family, the entries of
-- the request it names), or a panel's members changed (the same of each of
-- its open referrals).
create function safeguard.sync_on_panel() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	panel uuid;
	x record;
begin
	if tg_table_name = 'panel_referrals' then
		if tg_op = 'INSERT' or old.status is distinct from new.status then
			perform safeguard.sync_log('child', new.child_id);
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
		perform safeguard.sync_log('child', x.child_id);
		perform safeguard.sync_log('family', x.subject_family_id);
		perform safeguard.sync_log_shared_entries(x.chronology_request_id);
	end loop;
	return null;
end
$$;
create trigger panel_referrals_sync after insert or update on safeguard.panel_referrals
	for each row execute function safeguard.sync_on_panel();
create trigger panel_members_sync after insert or delete on safeguard.panel_members
	for each row execute function safeguard.sync_on_panel();

-- A missing-education case opened or closed: the CME officer sees its child while it is live.
create function safeguard.sync_on_cme_case() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if tg_op = 'INSERT' or old.status is distinct from new.status then
		perform safeguard.sync_log('child', new.child_id);
	end if;
	return null;
end
$$;
create trigger cme_cases_sync after insert or update on safeguard.cme_cases
	for each row execute function safeguard.sync_on_cme_case();

-- The records that exist today are the start of the log: a first sync
-- (no cursor) is every record of the caseload the caller may see.
insert into safeguard.sync_changes (kind, record_id)
select 'child', id from safeguard.children
union all select 'family', id from safeguard.families
union all select 'chronology_entry', id from safeguard.chronology_entries;

-- ---- what a caller may be told ---------------------------------------------------

-- May the caller see the record now?  Asked as the caller (no SECURITY
-- DEFINER): the record's own read policies decide, the ones its GET runs
-- under (child_visible, family_visible, the entries' policies, and any
-- later one), so this can never say more than the record's route.
create function safeguard.sync_record_visible(p_kind text, p_id uuid) returns boolean
language sql stable set search_path = safeguard, pg_temp
as $$
	select case p_kind
		when 'child' then exists (select 1 from safeguard.children c where c.id = p_id)
		when 'family' then exists (select 1 from safeguard.families f where f.id = p_id)
		else exists (select 1 from safeguard.chronology_entries e where e.id = p_id)
	end
$$;

-- Was the caller (this subject of this agency) ever shown the record?  The
-- audit trail records every answer that carried a child, a family or an
-- entry (sync's own upserts included), so a tombstone goes only to someone
-- who already knew the id: it never tells anyone a record exists.
create function safeguard.sync_shown(p_kind text, p_id uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.audit_events a
	               where a.resource_type = p_kind and a.resource_id = p_id::text
	                 and a.actor_sub = safeguard.app_sub() and a.actor_agency = safeguard.app_agency()
	                 and a.outcome = 'success');
end
$$;

-- sync_shown reads the audit trail as the functions' owner, whom 001's
-- forced row-level security shows nothing: it may read the current caller's
-- own rows, and only those.
create policy audit_own_actions_for_sync on safeguard.audit_events for select to safeguard_owner
	using (actor_sub = safeguard.app_sub() and actor_agency = safeguard.app_agency());

alter table safeguard.sync_changes enable row level security;
-- a change is the caller's to read while it may see the record, or once it was shown it
create policy sync_changes_read on safeguard.sync_changes for select to safeguard_api
	using (safeguard.sync_record_visible(kind, record_id) or safeguard.sync_shown(kind, record_id));
grant select on safeguard.sync_changes to safeguard_api;

-- The records the caller was shown through a chronology request (invited,
-- or through a panel, 017) whose share window ended by p_to, after the
-- position (p_after_t, p_after_id), in that order: (the instant the window
-- ended, kind, id).
-- A request closed before its window ended is left out (its closing was
-- logged).  Only records the caller was shown: the caller decides nothing
-- here, this reads requests it can no longer read.
create function safeguard.sync_expired(p_after_t timestamptz, p_after_id uuid, p_to timestamptz)
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
		union all select reqs.share_until, 'chronology_entry', c.entry_id from reqs
		join safeguard.chronology_contributions c on c.request_id = reqs.id)
	select min(share_until), kind, id from recs
	where (share_until, id) > (p_after_t, p_after_id) and safeguard.sync_shown(kind, id)
	group by kind, id
	order by 1, 3, 2
$$;

-- One page of the caller's changes after the position (p_xid, p_seq) in the
-- log and (p_t, p_e) in the share windows that ended; p_xid null is a first
-- sync (the whole log, no ended windows).  Runs as the caller: a record is
-- read under its own row-level security, as its GET reads it.
--
-- Rows: up to p_limit items (item: the JSON text of {kind, id, change,
-- record?}, the record exactly as its GET renders it; children: the
-- children it carries, for their audit rows; family/entry: the id of a
-- family or entry it carries, for theirs; pos: its position), then one last
-- row (item null) whose pos is where to resume and whose more says whether
-- another item followed (it was not returned: not rendered for the caller,
-- not audited).  A position past the end (a transaction not yet below the
-- bound, an instant not yet reached) answers the last row only, with
-- valid false.
create function safeguard.sync_page(p_xid xid8, p_seq bigint, p_t timestamptz, p_e uuid, p_limit integer,
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
				children := array(select json_array_elements_text(item::json->'child_ids')::uuid);
			end if;
			-- never seen, never told
			continue when item is null and not safeguard.sync_shown(x.kind, x.record_id);
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

-- The position of the p_scan-th change after (p_xid, p_seq) below the bound,
-- or nothing when fewer remain: how far one page reads the log.  SECURITY
-- DEFINER to count rows the caller may not see; it answers a position only.
create function safeguard.sync_horizon(p_xid xid8, p_seq bigint, p_bound xid8, p_scan integer)
returns table (xid xid8, seq bigint)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select c.xid, c.seq from safeguard.sync_changes c
	where c.xid < p_bound and (c.xid, c.seq) > (p_xid, p_seq)
	order by c.xid, c.seq offset greatest(p_scan, 1) - 1 limit 1
$$;

-- An instant as a cursor carries it (what input/validate.c's
-- validate_pg_timestamp accepts), whatever the session's time zone.
create function safeguard.sync_instant(t timestamptz) returns text
language sql stable
as $$ select to_char(t at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' $$;

-- An item of a page as JSON text: an upsert carries the record's own JSON
-- text as it is (no re-encoding), a tombstone only its kind and id.
create function safeguard.sync_item(p_kind text, p_id uuid, p_record text) returns text
language sql immutable
as $$
	select '{"kind":"' || p_kind || '","id":"' || p_id || '","change":"'
	       || case when p_record is null then 'tombstone"}' else 'upsert","record":' || p_record || '}' end
$$;
