-- 013_write_access: reading is not writing, and row-level security says
-- everything the C says about the chronology (the third hostile review,
-- findings 6, 7 and 8, and its decision on closed requests).
--
-- 1. Changing a child or a family is for CSC and the network (DESIGN.md 4:
--    "read/update a child or family: CSC; any agency in the child's
--    network").  005 and 007 made an invitation to a chronology request and
--    a seat on a panel with an open referral part of child_visible, which
--    the update policies also used, so both became write grants.  They are
--    read-only routes: the update policies now ask child_writable and
--    family_writable, which leave them out.  The API answers 403 saying so
--    to a caller who sees the record but may not change it.  Notifying a
--    child missing education (which sets the child's register entry) is the
--    network's too; the CME officer's case work keeps its own update policy.
-- 2. An invitation or a referral shows the family it is about, no other.
--    family_visible opened any family with a visible child, so an agency
--    invited for family F read family G's carers once CSC moved a subject
--    child there.  A request or referral now records the family it is about
--    (subject_family_id): the family it names, or, when it names a child
--    only, the family the child was in when it was opened, fixed from then
--    on.  Through an invitation or a referral, family_visible opens that
--    family only.
-- 3. A chronology request is read by an invited agency only while it is
--    open and in its window (the requester always), like its timeline.
-- 4. The chronology's writes, as the C makes them and no other way:
--    contributions only by an invited agency, to an open request, of its own
--    active entries about the request's children; an entry's children only
--    by its author, when it is created; a request's children and agencies
--    only by its requester in the transaction that opens it, its window
--    never moved and at most 3650 days (the largest SG_MAX_SHARE_DAYS); an
--    agency's answer only while the request is open; an entry's author,
--    agency and rendering (doc) never written by a client, a withdrawn entry
--    never changed, every change a new version with the one it replaces
--    recorded, and a recorded version only ever the entry as it is; and
--    entry_agency() answers only about an entry the caller may see.

-- ---- 1. changing a child or a family: CSC and the network ----------------------

-- May the caller's agency change this child?  CSC, or an agency in its
-- network (it created the child or declared involvement).  Like
-- child_visible, a plain SQL function the planner inlines.  Another route
-- that must write a child (the CME officer working a case, below) is a
-- permissive update policy of its own, never a widening of this.
create function safeguard.child_writable(child uuid) returns boolean
language sql stable
as $$
	select safeguard.app_agency() = 'csc' or safeguard.child_in_network(child)
$$;

-- May the caller's agency change this family (its name and carers)?  CSC,
-- the agency that created it, or one in the network of one of its members.
-- Who is in it stays family_manageable's (006).
create function safeguard.family_writable(fam uuid, creator text) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.app_agency() = 'csc' or creator = safeguard.app_agency()
	    or exists (select 1 from safeguard.children c
	               where c.family_id = fam and safeguard.child_in_network(c.id));
end
$$;

alter policy children_update on safeguard.children
	using (safeguard.child_writable(id)) with check (safeguard.child_writable(id));
-- The CME officer's work on a live case sets the child's education status
-- in the register (009): a route of its own, not a reader's.
create policy children_cme_work on safeguard.children for update to safeguard_api
	using (safeguard.child_cme_case_live(id)) with check (safeguard.child_cme_case_live(id));
-- Notifying a child missing education is the network's (DESIGN.md 4), and
-- sets the child's register entry: not a reader's either.
alter policy cme_cases_notify on safeguard.cme_cases
	with check (notifying_agency = safeguard.app_agency() and notified_by = safeguard.app_sub()
	            and status = 'open' and safeguard.child_writable(child_id));
alter policy families_update on safeguard.families
	using (safeguard.family_writable(id, created_by_agency))
	with check (safeguard.family_writable(id, created_by_agency));
-- the creator is who may manage the members: never changed by an update
revoke update on safeguard.families from safeguard_api;
grant update (name, carers, version, updated_at) on safeguard.families to safeguard_api;

-- ---- 2. the family an invitation or a referral shows ---------------------------

alter table safeguard.chronology_requests add column subject_family_id uuid references safeguard.families (id);
alter table safeguard.panel_referrals add column subject_family_id uuid references safeguard.families (id);
-- requests and referrals opened before today: the family they named, or
-- their child's family as it is now (the nearest record of what it was).
-- Filling in a new column is not a change of the referral: its version (an
-- ETag) stays as it is.
update safeguard.chronology_requests r
set subject_family_id = coalesce(r.family_id, (select c.family_id from safeguard.children c where c.id = r.child_id));
alter table safeguard.panel_referrals disable trigger panel_referrals_version;
update safeguard.panel_referrals r
set subject_family_id = coalesce(r.family_id, (select c.family_id from safeguard.children c where c.id = r.child_id));
alter table safeguard.panel_referrals enable trigger panel_referrals_version;
create index chronology_requests_open_family on safeguard.chronology_requests (subject_family_id)
	where closed_at is null;
create index panel_referrals_open_family on safeguard.panel_referrals (subject_family_id)
	where status in ('submitted', 'accepted', 'reopened');

-- The family is set when the row is written first and never changes,
-- whoever writes (a value given is replaced).
create function safeguard.subject_family_fixed() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if tg_op = 'INSERT' then
		new.subject_family_id := coalesce(new.family_id,
			(select c.family_id from safeguard.children c where c.id = new.child_id));
	else
		new.subject_family_id := old.subject_family_id;
	end if;
	return new;
end
$$;
create trigger chronology_requests_subject_family before insert or update on safeguard.chronology_requests
	for each row execute function safeguard.subject_family_fixed();
create trigger panel_referrals_subject_family before insert or update on safeguard.panel_referrals
	for each row execute function safeguard.subject_family_fixed();

-- Is the caller's agency invited to an open, in-window request about this family?
create function safeguard.family_shared_by_request(fam uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.chronology_requests r
	               join safeguard.chronology_request_agencies a
	                 on a.request_id = r.id and a.agency = safeguard.app_agency()
	               where r.subject_family_id = fam and r.closed_at is null and now() < r.share_until);
end
$$;

-- Does the caller's agency sit on a panel with an open referral about this family?
create function safeguard.family_on_open_panel(fam uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.panel_referrals r
	               join safeguard.panel_members m on m.panel_id = r.panel_id and m.agency = safeguard.app_agency()
	               where r.subject_family_id = fam and r.status in ('submitted', 'accepted', 'reopened'));
end
$$;

-- Who may change a family sees it; an invitation or a referral shows the
-- family it is about, while it is live.  Its members list still shows only
-- the children the caller may see (family_json reads them under the
-- children's policies).
create or replace function safeguard.family_visible(fam uuid, creator text) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.family_writable(fam, creator)
	    or safeguard.family_shared_by_request(fam)
	    or safeguard.family_on_open_panel(fam);
end
$$;

-- ---- 3. a request is read by an invited agency while it is live ------------------

-- The requester always; an invited agency while the request is open and in
-- its window (request_readable, as for its timeline).  Create or replace
-- keeps the OID the policies of 003 hold.
create or replace function safeguard.request_visible_to_me(req uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.request_readable(req);
end
$$;

-- ---- 4. the chronology's writes ----------------------------------------------------

-- Is the caller's agency invited to this request, and is it open and in its window?
create function safeguard.request_open_to_me(req uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.chronology_requests r
	               join safeguard.chronology_request_agencies a
	                 on a.request_id = r.id and a.agency = safeguard.app_agency()
	               where r.id = req and r.closed_at is null and now() < r.share_until);
end
$$;

-- Contributions: the invited agency's own active entry about one of the
-- request's children, while the request is open; taken back only then.
create function safeguard.contribution_allowed(req uuid, entry uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.request_open_to_me(req)
	   and exists (select 1 from safeguard.chronology_entries e
	               where e.id = entry and e.agency = safeguard.app_agency() and e.status = 'active'
	                 and exists (select 1 from safeguard.chronology_entry_children ec
	                             join safeguard.chronology_request_children rc on rc.child_id = ec.child_id
	                             where rc.request_id = req and ec.entry_id = e.id));
end
$$;
alter policy contributions_write on safeguard.chronology_contributions
	with check (agency = safeguard.app_agency() and safeguard.contribution_allowed(request_id, entry_id));
alter policy contributions_withdraw on safeguard.chronology_contributions
	using (agency = safeguard.app_agency() and safeguard.request_open_to_me(request_id));

-- An entry's children: given by its author when it is created (an entry
-- with children never gains more; a client never changes them).  A STABLE
-- function sees the table as the inserting statement began, so all the
-- children of one insert pass and nothing after.
create function safeguard.entry_children_open(entry uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.chronology_entries e
	               where e.id = entry and e.agency = safeguard.app_agency() and e.author_sub = safeguard.app_sub())
	   and not exists (select 1 from safeguard.chronology_entry_children ec where ec.entry_id = entry);
end
$$;
alter policy entry_children_create on safeguard.chronology_entry_children
	with check (safeguard.child_visible(child_id) and safeguard.entry_children_open(entry_id));

-- A request's children and agencies: written by its requester in the
-- transaction that opens it (the request row was written by this
-- transaction and is still open), the children being the child it names or
-- the family's.  Nobody widens a request once it is open.
create function safeguard.request_opening(req uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.chronology_requests r
	               where r.id = req and r.requesting_agency = safeguard.app_agency()
	                 and r.requested_by = safeguard.app_sub() and r.closed_at is null
	                 and r.xmin = pg_current_xact_id()::xid);
end
$$;

create function safeguard.request_subject_ok(req uuid, child uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.request_opening(req)
	   and exists (select 1 from safeguard.chronology_requests r
	               where r.id = req and (r.child_id = child
	                     or exists (select 1 from safeguard.children c where c.id = child and c.family_id = r.family_id)));
end
$$;
alter policy request_children_create on safeguard.chronology_request_children
	with check (safeguard.request_subject_ok(request_id, child_id));
alter policy request_agencies_create on safeguard.chronology_request_agencies
	with check (safeguard.request_opening(request_id) and status = 'pending'
	            and submitted_at is null and submitted_by is null);

-- The request itself: opened now (created_at is not chosen by the client,
-- so the cap below is from the real opening), the window at most 3650
-- days, and an update only closes it, by its requester's social worker or
-- safeguarding lead.
alter policy requests_create on safeguard.chronology_requests
	with check (requesting_agency = safeguard.app_agency() and requested_by = safeguard.app_sub()
	            and safeguard.app_agency() = 'csc'
	            and (safeguard.app_has_role('social_worker') or safeguard.app_has_role('safeguarding_lead'))
	            and closed_at is null and closed_by is null
	            and created_at between now() and clock_timestamp());
alter table safeguard.chronology_requests add constraint chronology_requests_share_window
	check (share_until <= created_at + interval '3650 days');
alter policy requests_close on safeguard.chronology_requests
	using (requesting_agency = safeguard.app_agency() and closed_at is null
	       and (safeguard.app_has_role('social_worker') or safeguard.app_has_role('safeguarding_lead')))
	with check (requesting_agency = safeguard.app_agency() and closed_at is not null
	            and closed_by = safeguard.app_sub());
revoke update on safeguard.chronology_requests from safeguard_api;
grant update (closed_at, closed_by) on safeguard.chronology_requests to safeguard_api;

-- An agency answers for itself, while the request is open.
alter policy request_agencies_answer on safeguard.chronology_request_agencies
	using (agency = safeguard.app_agency() and safeguard.request_open_to_me(request_id))
	with check (agency = safeguard.app_agency() and submitted_by = safeguard.app_sub());
revoke update on safeguard.chronology_request_agencies from safeguard_api;
grant update (status, submitted_at, submitted_by) on safeguard.chronology_request_agencies to safeguard_api;

-- Entries: the client writes what an amendment or a withdrawal changes,
-- never the id, agency, author, creation time or order; the change is
-- signed by the caller.
alter policy entries_amend on safeguard.chronology_entries
	using (agency = safeguard.app_agency()
	       and (author_sub = safeguard.app_sub() or safeguard.app_has_role('safeguarding_lead')))
	with check (agency = safeguard.app_agency() and updated_by = safeguard.app_sub()
	            and (status = 'active' or withdrawn_by = safeguard.app_sub()));
revoke update on safeguard.chronology_entries from safeguard_api;
grant update (event_date, event_date_end, date_precision, event_time, category, summary, details, impact,
	impact_description, action_taken, no_action_reason, significance, source, status, withdrawn_reason,
	withdrawn_at, withdrawn_by, version, updated_at, updated_by, doc)
	on safeguard.chronology_entries to safeguard_api;

-- Whoever writes an entry (the API, a fix by hand): doc is the database's
-- own rendering (null on insert, when the children are not in yet: readers
-- build a null doc on the fly; rendered again on every update); a
-- withdrawn entry never changes; any other change is the next version, and
-- the version it replaces must have been recorded first.
create function safeguard.chronology_entry_guard() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	was safeguard.chronology_entries;
	now_is safeguard.chronology_entries;
begin
	if tg_op = 'INSERT' then
		new.doc := null;
		return new;
	end if;
	was := old;
	now_is := new;
	was.doc := null;
	now_is.doc := null;
	if now_is is distinct from was then
		if old.status = 'withdrawn' then
			raise exception 'a withdrawn chronology entry is never changed' using errcode = 'check_violation';
		end if;
		if new.version <> old.version + 1 then
			raise exception 'a change of a chronology entry is its next version' using errcode = 'check_violation';
		end if;
		if not exists (select 1 from safeguard.chronology_entry_versions v
		               where v.entry_id = old.id and v.version = old.version) then
			raise exception 'the version a change replaces is recorded first' using errcode = 'check_violation';
		end if;
	end if;
	new.doc := safeguard.entry_json(new)::text;
	return new;
end
$$;
create trigger chronology_entries_guard before insert or update on safeguard.chronology_entries
	for each row execute function safeguard.chronology_entry_guard();

-- A recorded version is the entry as it is now, recorded by whoever may
-- change it, just before the change: nothing else can be inserted.
create function safeguard.entry_version_current(entry uuid, p_version integer, p_snapshot jsonb, p_by text,
	p_at timestamptz) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.chronology_entries e
	               where e.id = entry and e.agency = safeguard.app_agency()
	                 and (e.author_sub = safeguard.app_sub() or safeguard.app_has_role('safeguarding_lead'))
	                 and e.status = 'active' and e.version = p_version
	                 and e.updated_by = p_by and e.updated_at = p_at
	                 and coalesce(e.doc::jsonb, safeguard.entry_json(e)::jsonb) = p_snapshot);
end
$$;
alter policy entry_versions_write on safeguard.chronology_entry_versions
	with check (safeguard.entry_version_current(entry_id, version, snapshot, recorded_by, recorded_at));

-- The agency of an entry the caller may see (its own agency's, CSC any, or
-- one shared with it), else null: no session learns from it that an entry
-- exists or whose it is.
create or replace function safeguard.entry_agency(entry uuid) returns text
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return (select e.agency from safeguard.chronology_entries e
	        where e.id = entry
	          and (e.agency = safeguard.app_agency() or safeguard.app_agency() = 'csc'
	               or safeguard.entry_shared_with_me(e.id)));
end
$$;
