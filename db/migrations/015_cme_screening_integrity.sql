-- 015_cme_screening_integrity.sql - what 009's and 010's row-level security
-- left to the API's own code, held in the database as well: a caller with
-- the API role and its own app.* settings (a hole in the API, a statement
-- written wrong) must not be able to
--   * re-point a CME case at another child: the CME officer sees every child
--     with a live case (child_cme_case_live), so moving a case to a child
--     would give the officer that child; nor rewrite what the notifier said,
--     nor skip the case's states;
--   * log an enquiry on a case that is resolved or closed;
--   * submit a screening with a score, level or area of its own choosing
--     (the score is the server's, from the version it was completed on),
--     or move a draft to another version, agency or author.

-- ---- CME cases ---------------------------------------------------------------------------

-- What a case was notified as never changes; its states move only forward,
-- one step at a time (enquiries may be logged again and again).
create function safeguard.cme_cases_notification_fixed() returns trigger language plpgsql
as $$
begin
	if (new.id, new.child_id, new.reason, new.missing_since, new.school_urn, new.school_name, new.what_is_known,
	    new.notifying_agency, new.notified_by, new.created_at)
	   is distinct from (old.id, old.child_id, old.reason, old.missing_since, old.school_urn, old.school_name,
	                     old.what_is_known, old.notifying_agency, old.notified_by, old.created_at) then
		raise exception 'what a CME case was notified as is never changed' using errcode = 'integrity_constraint_violation';
	end if;
	if new.status <> old.status and (old.status, new.status) not in
	   (('open', 'enquiries'), ('enquiries', 'resolved'), ('resolved', 'closed')) then
		raise exception 'a CME case moves open -> enquiries -> resolved -> closed, not % -> %', old.status, new.status
			using errcode = 'integrity_constraint_violation';
	end if;
	return new;
end
$$;
-- after cme_cases_closed_stay (triggers fire in name order): a closed case says so first
create trigger cme_cases_notification_fixed before update on safeguard.cme_cases
	for each row execute function safeguard.cme_cases_notification_fixed();

-- Enquiries are logged while the case is open or under enquiry.  Reads the
-- case across row-level security: the rule is about the case, not the caller.
create function safeguard.cme_enquiries_case_live() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if not exists (select 1 from safeguard.cme_cases c where c.id = new.case_id and c.status in ('open', 'enquiries')) then
		raise exception 'enquiries are logged while the CME case is open' using errcode = 'integrity_constraint_violation';
	end if;
	return new;
end
$$;
create trigger cme_enquiries_case_live before insert on safeguard.cme_enquiries
	for each row execute function safeguard.cme_enquiries_case_live();

-- ---- screenings --------------------------------------------------------------------------

-- A draft keeps what it was completed on, and by whom; it only ever becomes
-- submitted, and then the score, level, next step and area are computed
-- here, from the version and the child, whatever the statement said (the
-- API's own statement computes the same).  Before submission they are null.
-- After screenings_locked (name order), which holds submitted screenings.
create function safeguard.screenings_scored() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if old.status <> 'draft' then
		return new;
	end if;
	if (new.id, new.child_id, new.tool_version_id, new.agency, new.author_sub, new.supersedes, new.created_at)
	   is distinct from (old.id, old.child_id, old.tool_version_id, old.agency, old.author_sub, old.supersedes,
	                     old.created_at) then
		raise exception 'a draft screening stays on its child, tool version, agency and author'
			using errcode = 'integrity_constraint_violation';
	end if;
	if new.status = 'draft' then
		new.score := null;
		new.level := null;
		new.recommended_next_step := null;
		new.area := null;
		return new;
	end if;
	if new.status <> 'submitted' then
		raise exception 'a draft screening is submitted before anything else' using errcode = 'integrity_constraint_violation';
	end if;
	select x.score, x.level, x.next_step into new.score, new.level, new.recommended_next_step
	from safeguard.screening_tool_versions v, safeguard.screening_score(v.sections, v.thresholds, new.answers) x
	where v.id = new.tool_version_id;
	new.area := (select nullif(upper(split_part(c.postcode, ' ', 1)), '') from safeguard.children c
	             where c.id = new.child_id);
	return new;
end
$$;
create trigger screenings_scored before update on safeguard.screenings
	for each row execute function safeguard.screenings_scored();

-- A draft (the only thing the API role inserts, 010's policy) is inserted
-- with nothing computed yet.
create function safeguard.screenings_unscored() returns trigger language plpgsql
as $$
begin
	if new.status <> 'draft' then
		return new;
	end if;
	new.score := null;
	new.level := null;
	new.recommended_next_step := null;
	new.area := null;
	return new;
end
$$;
create trigger screenings_unscored before insert on safeguard.screenings
	for each row execute function safeguard.screenings_unscored();

