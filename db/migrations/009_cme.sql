-- 009_cme: children missing education (issue 12, part 1): the school
-- calendar that school days are counted on, CME cases worked by the CME
-- officer with enquiries, and a child's "on a child protection plan" flag.
--
-- Who sees a case: the child's network (CSC always), exactly as for the
-- child, and the CME officer (education's safeguarding lead, and the chair
-- of a CME panel, a panel_chair of its chair agency: safeguard.cme_officer).  While a
-- case is not closed the CME officer also sees the child, derived from the
-- live case (child_cme_case_live), never stored as a grant: closing the case
-- ends it.  The tables have RLS enabled but not forced, as in 002: the API
-- role is always subject to it; the owner's SECURITY DEFINER functions read
-- across.

-- ---- the child register: on a child protection plan ----------------------------

-- A case is flagged at once for a child who is looked after (002) or on a
-- child protection plan.  Default false; set through PATCH /v1/children/{id}
-- like looked_after, and shown by child_json.
alter table safeguard.children add column child_protection_plan boolean not null default false;

create or replace function safeguard.child_json(c safeguard.children) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', c.id, 'first_name', c.first_name, 'last_name', c.last_name, 'preferred_name', c.preferred_name,
		'date_of_birth', c.date_of_birth, 'gender', c.gender, 'nhs_number', c.nhs_number, 'upn', c.upn,
		'address', case when c.address_town is null and cardinality(c.address_lines) = 0 then null
		                else jsonb_build_object('lines', to_jsonb(c.address_lines), 'town', c.address_town) end,
		'postcode', c.postcode, 'school_urn', c.school_urn, 'education_status', c.education_status,
		'not_on_roll_since', c.not_on_roll_since, 'ehcp', c.ehcp, 'looked_after', c.looked_after,
		'child_protection_plan', c.child_protection_plan,
		'family_id', c.family_id, 'family_relationship', c.family_relationship, 'version', c.version,
		'created_at', to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_at', to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'created_by_agency', c.created_by_agency)
$$;

-- ---- the school calendar --------------------------------------------------------------

-- Terms, holidays (half terms, Christmas, Easter, summer, INSET days) and
-- bank holidays, managed by admins.  A school day is a weekday that is not a
-- holiday or bank holiday and not in a gap between two consecutive terms;
-- before the first term and after the last one the calendar knows, every
-- weekday that is not a holiday counts.  Terms never overlap each other
-- (the exclusion constraint settles it, also between concurrent writers).
create table safeguard.school_calendar (
	id uuid primary key,
	kind text not null check (kind in ('term', 'holiday', 'bank_holiday')),
	name text not null check (length(name) between 1 and 200),
	starts_on date not null,
	ends_on date not null,
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	created_by text not null,
	check (ends_on >= starts_on and ends_on - starts_on <= 366),
	check (kind <> 'bank_holiday' or ends_on = starts_on),
	constraint school_calendar_terms_apart exclude using gist (daterange(starts_on, ends_on, '[]') with &&)
		where (kind = 'term')
);
create unique index school_calendar_one_bank_holiday on safeguard.school_calendar (starts_on)
	where kind = 'bank_holiday';
create index school_calendar_dates on safeguard.school_calendar (starts_on, ends_on);

alter table safeguard.school_calendar enable row level security;
create policy school_calendar_read on safeguard.school_calendar for select to safeguard_api using (true);
create policy school_calendar_add on safeguard.school_calendar for insert to safeguard_api
	with check (safeguard.app_has_role('admin') and created_by = safeguard.app_sub());
create policy school_calendar_remove on safeguard.school_calendar for delete to safeguard_api
	using (safeguard.app_has_role('admin'));
grant select, insert, delete on safeguard.school_calendar to safeguard_api;

-- Every range of days on which schools are closed: holidays, bank holidays,
-- and the gaps between consecutive terms.
create function safeguard.school_closures() returns table (starts_on date, ends_on date)
language sql stable
as $$
	select h.starts_on, h.ends_on from safeguard.school_calendar h where h.kind in ('holiday', 'bank_holiday')
	union all
	select t.ends_on + 1, t.next_start - 1
	from (select s.ends_on, lead(s.starts_on) over (order by s.starts_on) as next_start
	      from safeguard.school_calendar s where s.kind = 'term') t
	where t.next_start > t.ends_on + 1
$$;

-- School days from p_from to p_to, both included: the weekdays of a
-- generated series, minus the weekdays of the closures that fall in it (each
-- day once, however many closures cover it).  0 when p_to is before p_from.
-- Plain SQL over a few hundred rows at most, so that lists can sort and page
-- by it in the database.
create function safeguard.school_days(p_from date, p_to date) returns integer
language sql stable
as $$
	select case when p_from is null or p_to is null or p_to < p_from then 0 else
		(select count(*)::integer from generate_series(p_from, p_to, interval '1 day') d
		 where extract(isodow from d) < 6)
		- (select count(distinct d)::integer from safeguard.school_closures() c,
		          generate_series(greatest(c.starts_on, p_from), least(c.ends_on, p_to), interval '1 day') d
		   where c.starts_on <= p_to and c.ends_on >= p_from and extract(isodow from d) < 6)
	end
$$;

create function safeguard.school_calendar_json(s safeguard.school_calendar) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', s.id, 'kind', s.kind, 'name', s.name, 'starts_on', s.starts_on, 'ends_on', s.ends_on,
		'version', s.version, 'created_by', s.created_by,
		'created_at', to_char(s.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
$$;

-- ---- CME cases ---------------------------------------------------------------------------

create table safeguard.cme_cases (
	id uuid primary key,
	child_id uuid not null references safeguard.children (id),
	reason text not null check (reason in ('not_on_roll', 'removed_from_roll', 'not_attending',
		'moved_away_no_destination', 'excluded_without_provision')),
	missing_since date not null,
	school_urn text check (school_urn ~ '^[0-9]{6,7}$'),
	school_name text check (length(school_name) between 1 and 200),
	what_is_known text not null check (length(what_is_known) between 1 and 4000),
	notifying_agency text not null references safeguard.agencies (code),
	notified_by text not null,
	status text not null default 'open' check (status in ('open', 'enquiries', 'resolved', 'closed')),
	-- where the child went, once an enquiry confirmed it
	destination text check (length(destination) between 1 and 500),
	destination_confirmed_on date,
	resolution text check (resolution in ('back_on_roll', 'elective_home_education', 'moved_out_of_area',
		'referred_to_cme_panel')),
	resolution_school_urn text check (resolution_school_urn ~ '^[0-9]{6,7}$'),
	resolution_note text check (length(resolution_note) between 1 and 4000),
	resolved_on date,
	resolved_by text,
	closed_at timestamptz,
	closed_by text,
	-- the CME panel's referral of the child (the panels area), once linked
	panel_referral_id uuid,
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	updated_at timestamptz not null default clock_timestamp(),
	updated_by text not null,
	check ((status in ('resolved', 'closed')) = (resolution is not null)),
	check ((resolution is null) = (resolved_on is null)),
	check ((status = 'closed') = (closed_at is not null)),
	check ((destination is null) = (destination_confirmed_on is null)),
	check (resolution is distinct from 'back_on_roll' or resolution_school_urn is not null),
	check (resolution is distinct from 'moved_out_of_area' or destination_confirmed_on is not null)
);
-- at most one open case per child: a second notification is 409 naming it
create unique index cme_cases_one_open on safeguard.cme_cases (child_id) where status in ('open', 'enquiries');
create index cme_cases_child on safeguard.cme_cases (child_id, created_at);
create index cme_cases_status on safeguard.cme_cases (status, created_at);

create table safeguard.cme_enquiries (
	id uuid primary key,
	case_id uuid not null references safeguard.cme_cases (id),
	enquiry_date date not null,
	method text not null check (method in ('home_visit', 'phone', 'letter', 'email', 'school',
		'other_local_authority', 'police', 'health', 'other')),
	outcome text not null check (outcome in ('no_contact', 'contact_made', 'destination_confirmed',
		'on_roll_confirmed', 'ehe_confirmed', 'other')),
	note text check (length(note) between 1 and 4000),
	destination text check (length(destination) between 1 and 500),
	recorded_by text not null,
	recorded_agency text not null references safeguard.agencies (code),
	created_at timestamptz not null default clock_timestamp(),
	check ((outcome = 'destination_confirmed') = (destination is not null))
);
create index cme_enquiries_case on safeguard.cme_enquiries (case_id, enquiry_date, created_at);

-- A closed case is history: nothing changes it, whoever asks.
create function safeguard.cme_cases_closed() returns trigger language plpgsql
as $$
begin
	if old.status = 'closed' then
		raise exception 'a closed CME case is never changed';
	end if;
	return new;
end
$$;
create trigger cme_cases_closed_stay before update on safeguard.cme_cases
	for each row execute function safeguard.cme_cases_closed();

-- The CME officer: education's safeguarding lead, or the CME panel's chair
-- (a panel_chair of the agency that chairs a CME panel, 007).  PERM_CME_WORK
-- in access.c lets every panel_chair through; this says which.
create function safeguard.cme_officer() returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return (safeguard.app_agency() = 'education' and safeguard.app_has_role('safeguarding_lead'))
	    or (safeguard.app_has_role('panel_chair')
	        and exists (select 1 from safeguard.panels p
	                    where p.type = 'cme' and p.chair_agency = safeguard.app_agency()));
end
$$;

-- The caller is the CME officer and the child has a case that is not closed.
create function safeguard.child_cme_case_live(child uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.cme_officer()
	   and exists (select 1 from safeguard.cme_cases c where c.child_id = child and c.status <> 'closed');
end
$$;

-- A child's visibility gains the CME officer's route: one more named fact
-- in 005's OR (as 007 added the open panel referrals), every fact derived
-- from live rows.  A plain SQL function, so the planner inlines it; create or
-- replace keeps the function's OID, which the policies hold.
create or replace function safeguard.child_visible(child uuid) returns boolean
language sql stable
as $$
	select safeguard.app_agency() = 'csc'
	    or safeguard.child_in_network(child)
	    or safeguard.child_shared_by_request(child)
	    or safeguard.child_on_open_panel(child)
	    or safeguard.child_cme_case_live(child)
$$;

-- May the caller see this case (and its enquiries)?
create function safeguard.cme_case_visible(cme_case uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.cme_cases c
	               where c.id = cme_case and (safeguard.cme_officer() or safeguard.child_visible(c.child_id)));
end
$$;

alter table safeguard.cme_cases enable row level security;
create policy cme_cases_read on safeguard.cme_cases for select to safeguard_api
	using (safeguard.cme_officer() or safeguard.child_visible(child_id));
-- any agency in the child's network notifies
create policy cme_cases_notify on safeguard.cme_cases for insert to safeguard_api
	with check (notifying_agency = safeguard.app_agency() and notified_by = safeguard.app_sub()
	            and status = 'open' and safeguard.child_visible(child_id));
-- the CME officer works it
create policy cme_cases_work on safeguard.cme_cases for update to safeguard_api
	using (safeguard.cme_officer()) with check (safeguard.cme_officer());
grant select, insert, update on safeguard.cme_cases to safeguard_api;

alter table safeguard.cme_enquiries enable row level security;
create policy cme_enquiries_read on safeguard.cme_enquiries for select to safeguard_api
	using (safeguard.cme_case_visible(case_id));
create policy cme_enquiries_add on safeguard.cme_enquiries for insert to safeguard_api
	with check (safeguard.cme_officer() and recorded_by = safeguard.app_sub()
	            and recorded_agency = safeguard.app_agency());
grant select, insert on safeguard.cme_enquiries to safeguard_api;

-- ---- the CME panel ----------------------------------------------------------------------

-- Resolving a case as referred to the CME panel creates the panel's
-- referral of the child (the panels area, 007): the case names the referral
-- (cme_cases.panel_referral_id) and the referral names the case it came
-- from.  The referral is made as the CME officer, under the panels' own
-- row-level security (safeguard.panel_referral_from, 010).
alter table safeguard.panel_referrals add column cme_case_id uuid references safeguard.cme_cases (id);

-- What a referral is never changes (011 holds the panels' own columns): the
-- case it came from is set when it is made, or never.
create function safeguard.panel_referrals_cme_case_fixed() returns trigger language plpgsql
as $$
begin
	if old.cme_case_id is distinct from new.cme_case_id then
		raise exception 'panel_referrals.cme_case_id is never changed' using errcode = 'integrity_constraint_violation';
	end if;
	return new;
end
$$;
create trigger panel_referrals_cme_case_fixed before update on safeguard.panel_referrals
	for each row execute function safeguard.panel_referrals_cme_case_fixed();

-- 007's referral as the API shows it, with the CME case it came from.
create or replace function safeguard.panel_referral_json(r safeguard.panel_referrals) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', r.id, 'panel_id', r.panel_id, 'child_id', r.child_id,
		'child', (select jsonb_build_object('first_name', c.first_name, 'last_name', c.last_name,
		                                    'date_of_birth', c.date_of_birth)
		          from safeguard.children c where c.id = r.child_id),
		'family_id', r.family_id, 'referring_agency', r.referring_agency, 'referred_by', r.referred_by,
		'reason', r.reason, 'risk_level', r.risk_level,
		'current_risk_level', coalesce(d.risk_level, r.risk_level), 'next_review_date', d.next_review_date,
		'criteria', r.criteria, 'chronology_request_id', r.chronology_request_id, 'screening_id', r.screening_id,
		'cme_case_id', r.cme_case_id,
		'status', r.status, 'open', r.status in ('submitted', 'accepted', 'reopened'),
		'decline_reason', case when r.status = 'declined' then r.status_reason end,
		'closure_reason', r.closure_reason,
		'history', coalesce((select jsonb_agg(jsonb_build_object(
			'status', e.status, 'reason', e.reason, 'closure_reason', e.closure_reason, 'by', e.actor_sub,
			'agency', e.actor_agency, 'at', safeguard.panel_instant(e.occurred_at)) order by e.version)
			from safeguard.panel_referral_events e where e.referral_id = r.id), '[]'::jsonb),
		'version', r.version, 'created_at', safeguard.panel_instant(r.created_at),
		'updated_at', safeguard.panel_instant(r.updated_at))
	from (values (1)) one
	left join lateral (select d.risk_level, d.next_review_date
	                   from safeguard.panel_discussions d join safeguard.panel_meetings m on m.id = d.meeting_id
	                   where d.referral_id = r.id
	                   order by m.held_at desc, d.created_at desc limit 1) d on true
$$;

-- School days a case counts: from the day the child went missing to
-- yesterday's end of a resolved case (it was resolved on resolved_on), or to
-- today (UTC, the API's clock) while it is not resolved.
create function safeguard.cme_school_days(c safeguard.cme_cases) returns integer language sql stable
as $$
	select safeguard.school_days(c.missing_since, coalesce(c.resolved_on - 1, (now() at time zone 'UTC')::date))
$$;

-- A case as the API shows it, given its school days missed.  The child's
-- name and flags come while the caller may see the child (row-level
-- security on children), else the child is null and so are its flags.
create function safeguard.cme_case_json_with(c safeguard.cme_cases, missed integer) returns jsonb
language sql stable
as $$
	select jsonb_build_object(
		'id', c.id, 'child_id', c.child_id,
		'child', (select jsonb_build_object('first_name', ch.first_name, 'last_name', ch.last_name,
		                                    'date_of_birth', ch.date_of_birth, 'education_status', ch.education_status,
		                                    'looked_after', ch.looked_after,
		                                    'child_protection_plan', ch.child_protection_plan)
		          from safeguard.children ch where ch.id = c.child_id),
		'reason', c.reason, 'since', c.missing_since, 'school_urn', c.school_urn, 'school_name', c.school_name,
		'what_is_known', c.what_is_known, 'notifying_agency', c.notifying_agency, 'notified_by', c.notified_by,
		'status', c.status, 'open', c.status in ('open', 'enquiries'),
		'school_days_missed', missed,
		'flags', f.flags, 'flagged', jsonb_array_length(f.flags) > 0,
		'destination', c.destination, 'destination_confirmed_on', c.destination_confirmed_on,
		'resolution', c.resolution, 'resolution_school_urn', c.resolution_school_urn,
		'resolution_note', c.resolution_note, 'resolved_on', c.resolved_on, 'resolved_by', c.resolved_by,
		'closed_at', to_char(c.closed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'closed_by', c.closed_by, 'panel_referral_id', c.panel_referral_id,
		'enquiries', coalesce((select jsonb_agg(jsonb_build_object(
			'id', e.id, 'enquiry_date', e.enquiry_date, 'method', e.method, 'outcome', e.outcome, 'note', e.note,
			'destination', e.destination, 'recorded_by', e.recorded_by, 'recorded_agency', e.recorded_agency,
			'created_at', to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
			order by e.enquiry_date, e.created_at, e.id)
			from safeguard.cme_enquiries e where e.case_id = c.id), '[]'::jsonb),
		'version', c.version,
		'created_at', to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_at', to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_by', c.updated_by)
	from (select to_jsonb(array_remove(array[
		case when missed > 20 then 'over_20_school_days' end,
		case when ch.looked_after then 'looked_after' end,
		case when ch.child_protection_plan then 'child_protection_plan' end], null)) as flags
	      from (values (1)) one
	      left join safeguard.children ch on ch.id = c.child_id) f
$$;

create function safeguard.cme_case_json(c safeguard.cme_cases) returns jsonb language sql stable
as $$ select safeguard.cme_case_json_with(c, safeguard.cme_school_days(c)) $$;

-- What the consolidated chronology's out-of-education rule needs of the
-- cases of a request's subject children: since when, and the day the child
-- was back in education (back on roll, home education confirmed) or gone
-- from the area with the destination confirmed; null while the case is open
-- and when it went to the CME panel.  Checks the request is readable.
create function safeguard.consolidated_cme_cases(req uuid)
returns table (child_id uuid, since text, back_on text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select c.child_id, c.missing_since::text,
	       case when c.resolution in ('back_on_roll', 'elective_home_education', 'moved_out_of_area')
	            then c.resolved_on::text end
	from safeguard.chronology_request_children rc
	join safeguard.cme_cases c on c.child_id = rc.child_id
	where rc.request_id = req and (select safeguard.request_readable(req))
	order by c.missing_since, c.id
$$;
