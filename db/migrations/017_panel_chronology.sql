-- 017_panel_chronology: what a panel may read of a chronology request it
-- was given, and membership changes that race with the panel's writes
-- (issue 10).
--
-- 1. "A panel never reveals other agencies' chronology entries; linking a
--    chronology request gives the panel what that request already shares,
--    for its window."  A referral has named a chronology request since 007
--    and that gave nothing.  Now, while a referral is open and the request
--    it names is open and in its share window, the readers of the referral's
--    panel (panel members, panel chairs and safeguarding leads of its member
--    agencies) read that request's consolidated timeline: the entries the
--    invited agencies submitted to it, nothing else of any agency's
--    chronology.  Derived from the live referral and request like 005's
--    child_shared_by_request, never stored: closing the referral, closing
--    the request or the window passing ends it in the same instant.
--    request_shared_with_panel is the fact; the consolidated view's
--    functions and the chronology tables' read policies use it.
-- 2. The link itself is held here too: a referral names only a request about
--    its child (the child is one of its subjects, or the request is about
--    the child's family) that the referrer's agency may read (requester, or
--    invited while the request is live), whoever inserts the row.  What a
--    referral is never changes (011), so the link is set once.
-- 3. An agency left a panel while the chair gave it an action (or it made a
--    referral): the membership change and the write each checked the other
--    in their own snapshot, so an open action could end up owned by an
--    agency that was no longer a member.  Now the write locks the panel row
--    FOR SHARE and the membership change FOR UPDATE, and each checks the
--    other after it holds the lock, in triggers, whoever writes.

-- ---- 1. the request a referral shares with its panel ----------------------------------

-- the open referrals that name a request, from the request
create index panel_referrals_open_request on safeguard.panel_referrals (chronology_request_id)
	where chronology_request_id is not null and status in ('submitted', 'accepted', 'reopened');

-- Does the caller hold a role that reads panel cases (panel_reader's, 007)?
create function safeguard.app_panel_reader_role() returns boolean language sql stable
as $$
	select safeguard.app_has_role('panel_member') or safeguard.app_has_role('panel_chair')
	    or safeguard.app_has_role('safeguarding_lead')
$$;

-- Does the caller read, through a panel, what this chronology request
-- shares?  A panel reader's role (panel_reader, 007), the request open and
-- in its window, and an open referral naming it on a panel the caller's
-- agency sits on.  The role first: most callers stop there.
create function safeguard.request_shared_with_panel(req uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if not safeguard.app_panel_reader_role() then
		return false;
	end if;
	return exists (select 1 from safeguard.chronology_requests q
	               where q.id = req and q.closed_at is null and now() < q.share_until)
	   and exists (select 1 from safeguard.panel_referrals r
	               join safeguard.panel_members m on m.panel_id = r.panel_id and m.agency = safeguard.app_agency()
	               where r.chronology_request_id = req and r.status in ('submitted', 'accepted', 'reopened'));
end
$$;

-- Was this entry submitted to a request that the caller reads through a panel?
create function safeguard.entry_shared_with_panel(entry uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if not safeguard.app_panel_reader_role() then
		return false;
	end if;
	return exists (select 1 from safeguard.chronology_contributions c
	               where c.entry_id = entry and safeguard.request_shared_with_panel(c.request_id));
end
$$;

-- Who reads a request's consolidated timeline: its readers (003), and the
-- readers of a panel with an open referral naming it, while it is live.
create function safeguard.consolidated_readable(req uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.request_readable(req) or safeguard.request_shared_with_panel(req);
end
$$;

-- The referral's request as its panel's reader reads it: (request id, the
-- request as the API shows it), one row while the caller reads the
-- referral's panel, the referral is open and its request open and in its
-- window; no row otherwise, exactly as for a referral without a request.
create function safeguard.panel_referral_request(referral uuid) returns table (request_id uuid, request text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select q.id, safeguard.request_json(q)::text
	from safeguard.panel_referrals r
	join safeguard.chronology_requests q on q.id = r.chronology_request_id
	where r.id = referral and r.status in ('submitted', 'accepted', 'reopened')
	  and q.closed_at is null and now() < q.share_until
	  and safeguard.panel_reader(r.panel_id)
	  and safeguard.request_shared_with_panel(q.id)
$$;

-- The consolidated view's functions (003, 005, 009) check
-- consolidated_readable instead of request_readable: the same entries, in
-- the same order, for one more kind of reader.  Create or replace keeps
-- their OIDs and text otherwise.
create or replace function safeguard.consolidated_json(req uuid) returns text
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select '[' || coalesce(string_agg(coalesce(e.doc, safeguard.entry_json(e)::text), ','
	                                  order by e.event_date, coalesce(e.event_time, '00:00'), e.seq), '')
	       || ']'
	from safeguard.chronology_contributions c
	join safeguard.chronology_entries e on e.id = c.entry_id
	where c.request_id = req and (select safeguard.consolidated_readable(req))
$$;

create or replace function safeguard.consolidated_items(req uuid)
returns table (id uuid, agency text, category text, event_date text, event_date_end text, status text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select e.id, e.agency, e.category, e.event_date::text, coalesce(e.event_date_end::text, ''), e.status
	from safeguard.chronology_contributions c
	join safeguard.chronology_entries e on e.id = c.entry_id
	where c.request_id = req and (select safeguard.consolidated_readable(req))
	order by e.event_date, coalesce(e.event_time, '00:00'), e.seq
$$;

create or replace function safeguard.consolidated_children(req uuid) returns uuid[]
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select coalesce(array_agg(distinct x.child_id), '{}') from (
		select rc.child_id from safeguard.chronology_request_children rc where rc.request_id = req
		union
		select ec.child_id from safeguard.chronology_contributions c
		join safeguard.chronology_entry_children ec on ec.entry_id = c.entry_id
		where c.request_id = req) x
	where (select safeguard.consolidated_readable(req))
$$;

create or replace function safeguard.consolidated_cme_cases(req uuid)
returns table (child_id uuid, since text, back_on text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select c.child_id, c.missing_since::text,
	       case when c.resolution in ('back_on_roll', 'elective_home_education', 'moved_out_of_area')
	            then c.resolved_on::text end
	from safeguard.chronology_request_children rc
	join safeguard.cme_cases c on c.child_id = rc.child_id
	where rc.request_id = req and (select safeguard.consolidated_readable(req))
	order by c.missing_since, c.id
$$;

-- What the patterns need of the request and its subject children, which
-- the consolidated view read under row-level security until now (the
-- requester and the invited agencies see both): a panel's reader sees
-- neither the request nor, through it, the children, and gets the same
-- patterns as the invited agencies all the same.
create function safeguard.consolidated_rolls(req uuid) returns table (child_id uuid, not_on_roll_since text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select c.id, case when c.education_status in ('not_on_roll', 'missing_education')
	                  then c.not_on_roll_since::text end
	from safeguard.children c
	join safeguard.chronology_request_children rc on rc.child_id = c.id
	where rc.request_id = req and (select safeguard.consolidated_readable(req))
$$;

create function safeguard.consolidated_period_end(req uuid) returns text
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select least(r.period_to, (now() at time zone 'UTC')::date)::text from safeguard.chronology_requests r
	where r.id = req and (select safeguard.consolidated_readable(req))
$$;

-- The rows of the shared timeline, to the panel's readers while it lasts:
-- the contributions, their entries and the entries' children (the request
-- itself, its children and agencies stay the requester's and the invited
-- agencies': the panel reads them only as panel_referral_request shows).
create policy contributions_read_panel on safeguard.chronology_contributions for select to safeguard_api
	using (safeguard.request_shared_with_panel(request_id));
create policy entries_read_panel on safeguard.chronology_entries for select to safeguard_api
	using (safeguard.entry_shared_with_panel(id));
create policy entry_children_read_panel on safeguard.chronology_entry_children for select to safeguard_api
	using (safeguard.entry_shared_with_panel(entry_id));

-- ---- 2. the link, held on insert ------------------------------------------------------

-- May a referral of child name this request?  The caller's agency reads it
-- (request_readable: the requester, or invited while it is live) and it is
-- about the child: the child is one of its subjects, or it is about the
-- family the child is in (as the register says, never as the referral
-- says: a family_id given with the referral proves nothing).
create function safeguard.panel_request_link_ok(req uuid, child uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.request_readable(req)
	   and (exists (select 1 from safeguard.chronology_request_children rc
	                where rc.request_id = req and rc.child_id = child)
	        or exists (select 1 from safeguard.chronology_requests q
	                   join safeguard.children c on c.id = child and c.family_id = q.subject_family_id
	                   where q.id = req));
end
$$;

-- Restrictive: on top of whichever policy lets the referral in (the panels'
-- own, 011), so no path names a request it may not.
create policy panel_referrals_request_link on safeguard.panel_referrals as restrictive for insert to safeguard_api
	with check (chronology_request_id is null or safeguard.panel_request_link_ok(chronology_request_id, child_id));

-- ---- 3. membership and the writes that depend on it ----------------------------------

-- An open action's owner and a referral's agency sit on the panel when the
-- row is written, checked under the panel row's share lock, which a
-- membership change's update lock waits for (and the other way round): the
-- check after the lock is a fresh look (a volatile function's statements
-- each take a new snapshot), so it sees a change that committed while it
-- waited.  SECURITY DEFINER: the lock needs UPDATE on panels, which only
-- admins have.  integrity_constraint_violation (class 23): the API answers
-- it as the conflict it is.
create function safeguard.panel_member_write() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	writer text;  -- the agency the row makes answerable to the panel
begin
	if tg_table_name = 'panel_actions' then
		if new.status not in ('open', 'in_progress')
		   or (tg_op = 'UPDATE' and new.owner_agency is not distinct from old.owner_agency
		       and old.status in ('open', 'in_progress')) then
			return new;  -- no new live ownership: a progress update takes no lock
		end if;
		writer := new.owner_agency;
	else
		writer := new.referring_agency;
	end if;
	perform 1 from safeguard.panels p where p.id = new.panel_id for share;
	if not exists (select 1 from safeguard.panel_members m where m.panel_id = new.panel_id and m.agency = writer) then
		raise exception '% is not a member of panel %', writer, new.panel_id
			using errcode = 'integrity_constraint_violation';
	end if;
	return new;
end
$$;
create trigger panel_actions_owner_member before insert or update on safeguard.panel_actions
	for each row execute function safeguard.panel_member_write();
create trigger panel_referrals_agency_member before insert on safeguard.panel_referrals
	for each row execute function safeguard.panel_member_write();

-- An agency leaves a panel only without open actions of it, checked under
-- the panel row's update lock.
create function safeguard.panel_member_leave() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	perform 1 from safeguard.panels p where p.id = old.panel_id for update;
	if exists (select 1 from safeguard.panel_actions a
	           where a.panel_id = old.panel_id and a.owner_agency = old.agency
	             and a.status in ('open', 'in_progress')) then
		raise exception '% still owns open actions of panel %', old.agency, old.panel_id
			using errcode = 'integrity_constraint_violation';
	end if;
	return old;
end
$$;
create trigger panel_members_leave before delete on safeguard.panel_members
	for each row execute function safeguard.panel_member_leave();
