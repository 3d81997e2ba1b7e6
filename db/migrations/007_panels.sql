-- 007_panels: the partnership's multi-agency panels (issue 10): panels and
-- their member agencies, referrals of children with their state machine,
-- meetings with agendas, case discussions and versioned minutes, decisions
-- that are superseded but never edited, and the action log each agency
-- answers to, with escalations to the chair.
--
-- Who sees what.  A panel itself (type, name, area, members, chair) is the
-- partnership's public terms of reference.  Its cases, meetings, minutes,
-- decisions and actions are read by its member agencies' panel members,
-- panel chairs and safeguarding leads, and by no one else (panel_reader).
-- Chair actions need a panel_chair of the chair agency (panel_chair_of).
-- While a child's referral is open (submitted, accepted or reopened), every
-- member agency sees the child: derived from the live referral
-- (child_on_open_panel), never stored as a grant, so closing or declining
-- the referral ends it.  History (referral transitions, minutes versions,
-- action changes) is written by triggers, so no path can skip it; the API
-- role may not write it, and nobody may change it.
--
-- Tables have RLS enabled but not forced, as in 002: the API role is always
-- subject to it; the owner's SECURITY DEFINER functions read across.

-- ---- panels ---------------------------------------------------------------------

create table safeguard.panels (
	id uuid primary key,
	type text not null check (type in ('cme', 'missing_exploited', 'joint_police_yj', 'risk_meeting')),
	name text not null check (length(name) between 1 and 200),
	area text check (length(area) between 1 and 100),
	chair_agency text not null references safeguard.agencies (code),
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	updated_at timestamptz not null default clock_timestamp(),
	created_by text not null,
	-- one missing-and-exploited panel per area; the risk meeting is chaired by police
	check (type <> 'missing_exploited' or area is not null),
	check (type <> 'risk_meeting' or chair_agency = 'police')
);
create index panels_page on safeguard.panels (created_at, id);

create table safeguard.panel_members (
	panel_id uuid not null references safeguard.panels (id) deferrable initially deferred,
	agency text not null references safeguard.agencies (code),
	primary key (panel_id, agency)
);
create index panel_members_agency on safeguard.panel_members (agency, panel_id);

-- ---- referrals --------------------------------------------------------------------

create table safeguard.panel_referrals (
	id uuid primary key,
	panel_id uuid not null references safeguard.panels (id),
	child_id uuid not null references safeguard.children (id),
	family_id uuid references safeguard.families (id),
	referring_agency text not null references safeguard.agencies (code),
	referred_by text not null,
	reason text not null check (length(reason) between 1 and 4000),
	risk_level text not null check (risk_level in ('low', 'medium', 'high')),
	criteria jsonb not null default '{}'::jsonb check (jsonb_typeof(criteria) = 'object'),
	chronology_request_id uuid references safeguard.chronology_requests (id),
	screening_id uuid,  -- the screenings area links it once it exists
	status text not null default 'submitted'
		check (status in ('submitted', 'accepted', 'declined', 'closed', 'reopened')),
	status_reason text check (length(status_reason) between 1 and 4000),  -- of the last transition
	closure_reason text check (closure_reason in ('risk_reduced', 'back_in_education',
		'moved_out_of_area_with_handover', 'aged_out', 'transferred')),
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	updated_at timestamptz not null default clock_timestamp(),
	updated_by text not null,
	check (status <> 'declined' or status_reason is not null),
	check ((status = 'closed') = (closure_reason is not null))
);
-- one open referral of a child per panel
create unique index panel_referrals_one_open on safeguard.panel_referrals (panel_id, child_id)
	where status in ('submitted', 'accepted', 'reopened');
create index panel_referrals_open_child on safeguard.panel_referrals (child_id, panel_id)
	where status in ('submitted', 'accepted', 'reopened');
create index panel_referrals_child on safeguard.panel_referrals (child_id, created_at);
create index panel_referrals_page on safeguard.panel_referrals (panel_id, created_at, id);

-- Every state a referral has been in, written by a trigger.
create table safeguard.panel_referral_events (
	referral_id uuid not null references safeguard.panel_referrals (id),
	version integer not null,
	panel_id uuid not null,
	status text not null,
	reason text,
	closure_reason text,
	actor_sub text not null,
	actor_agency text not null,
	occurred_at timestamptz not null default clock_timestamp(),
	primary key (referral_id, version)
);

-- ---- meetings, minutes, discussions, decisions -------------------------------------

create table safeguard.panel_meetings (
	id uuid primary key,
	panel_id uuid not null references safeguard.panels (id),
	kind text not null check (kind in ('formal', 'officer')),
	scheduled_at timestamptz not null,
	location text check (length(location) between 1 and 200),
	agenda uuid[] not null default '{}' check (cardinality(agenda) <= 100),  -- referral ids, in order
	status text not null default 'scheduled' check (status in ('scheduled', 'held', 'minutes_approved', 'cancelled')),
	held_at timestamptz,
	attended_by text[] not null default '{}',
	cancelled_reason text check (length(cancelled_reason) between 1 and 2000),
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	updated_at timestamptz not null default clock_timestamp(),
	created_by text not null,
	updated_by text not null,
	check ((status in ('held', 'minutes_approved')) = (held_at is not null)),
	check ((status = 'cancelled') = (cancelled_reason is not null))
);
create index panel_meetings_page on safeguard.panel_meetings (panel_id, scheduled_at, id);

create table safeguard.panel_minutes (
	meeting_id uuid primary key references safeguard.panel_meetings (id),
	panel_id uuid not null,
	text text not null default '' check (length(text) <= 20000),
	status text not null default 'draft' check (status in ('draft', 'approved')),
	version integer not null default 1,
	updated_by text not null,
	updated_at timestamptz not null default clock_timestamp(),
	approved_by text,
	approved_at timestamptz,
	check ((status = 'approved') = (approved_at is not null))
);

-- Every version of the minutes, written by a trigger.
create table safeguard.panel_minutes_versions (
	meeting_id uuid not null references safeguard.panel_minutes (meeting_id),
	version integer not null,
	panel_id uuid not null,
	text text not null,
	status text not null,
	recorded_by text not null,
	recorded_agency text not null,
	recorded_at timestamptz not null default clock_timestamp(),
	primary key (meeting_id, version)
);

create table safeguard.panel_discussions (
	id uuid primary key,
	meeting_id uuid not null references safeguard.panel_meetings (id),
	referral_id uuid not null references safeguard.panel_referrals (id),
	panel_id uuid not null,
	summary text not null check (length(summary) between 1 and 10000),
	risk_level text not null check (risk_level in ('low', 'medium', 'high')),
	next_review_date date,
	recorded_by text not null,
	recorded_agency text not null,
	created_at timestamptz not null default clock_timestamp(),
	unique (meeting_id, referral_id)
);
create index panel_discussions_referral on safeguard.panel_discussions (referral_id, created_at, id);

create table safeguard.panel_decisions (
	id uuid primary key,
	panel_id uuid not null references safeguard.panels (id),
	meeting_id uuid not null references safeguard.panel_meetings (id),
	referral_id uuid references safeguard.panel_referrals (id),
	text text not null check (length(text) between 1 and 4000),
	supersedes uuid unique references safeguard.panel_decisions (id),  -- each decision is superseded once
	recorded_by text not null,
	recorded_agency text not null,
	created_at timestamptz not null default clock_timestamp()
);
create index panel_decisions_meeting on safeguard.panel_decisions (meeting_id, created_at, id);

-- Decisions are never edited: a correction is a new decision.
create function safeguard.panel_decisions_immutable() returns trigger language plpgsql
as $$ begin raise exception 'panel decisions are never edited: record a new decision that supersedes it'; end $$;
create trigger panel_decisions_no_change before update or delete on safeguard.panel_decisions
	for each row execute function safeguard.panel_decisions_immutable();

-- ---- actions ------------------------------------------------------------------------

create table safeguard.panel_actions (
	id uuid primary key,
	panel_id uuid not null references safeguard.panels (id),
	referral_id uuid references safeguard.panel_referrals (id),
	meeting_id uuid references safeguard.panel_meetings (id),
	description text not null check (length(description) between 1 and 2000),
	owner_agency text not null references safeguard.agencies (code),
	owner_name text check (length(owner_name) between 1 and 200),
	due_date date not null,  -- overdue is derived from it, never stored
	status text not null default 'open' check (status in ('open', 'in_progress', 'done', 'cancelled')),
	progress_note text check (length(progress_note) between 1 and 4000),
	escalated boolean not null default false,  -- an escalation to the chair is open
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	created_by text not null,
	updated_at timestamptz not null default clock_timestamp(),
	updated_by text not null
);
create index panel_actions_owner on safeguard.panel_actions (owner_agency, due_date, id);
create index panel_actions_panel on safeguard.panel_actions (panel_id, due_date, id);

create table safeguard.panel_action_escalations (
	id uuid primary key,
	action_id uuid not null references safeguard.panel_actions (id),
	panel_id uuid not null,
	reason text not null check (length(reason) between 1 and 2000),
	raised_by text not null,
	raised_agency text not null,
	raised_at timestamptz not null default clock_timestamp(),
	resolution text check (length(resolution) between 1 and 2000),
	resolved_by text,
	resolved_at timestamptz,
	check ((resolved_at is null) = (resolution is null))
);
create unique index panel_action_escalations_open on safeguard.panel_action_escalations (action_id)
	where resolved_at is null;
create index panel_action_escalations_action on safeguard.panel_action_escalations (action_id, raised_at);

-- Every version of an action, written by a trigger.
create table safeguard.panel_action_history (
	action_id uuid not null references safeguard.panel_actions (id),
	version integer not null,
	panel_id uuid not null,
	change text not null check (change in ('created', 'updated', 'escalated', 'resolved')),
	snapshot jsonb not null,
	changed_by text not null,
	changed_agency text not null,
	changed_at timestamptz not null default clock_timestamp(),
	primary key (action_id, version)
);

-- ---- who stands where ------------------------------------------------------------------

-- PL/pgSQL, as in 002: the policies call them per row and their plans are cached.
create function safeguard.panel_member_agency(panel uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.panel_members m
	               where m.panel_id = panel and m.agency = safeguard.app_agency());
end
$$;

-- Reads the panel's cases, meetings, minutes, decisions and actions.
create function safeguard.panel_reader(panel uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return (safeguard.app_has_role('panel_member') or safeguard.app_has_role('panel_chair')
	        or safeguard.app_has_role('safeguarding_lead'))
	   and safeguard.panel_member_agency(panel);
end
$$;

-- Writes case discussions and draft minutes.
create function safeguard.panel_recorder(panel uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return (safeguard.app_has_role('panel_member') or safeguard.app_has_role('panel_chair'))
	   and safeguard.panel_member_agency(panel);
end
$$;

-- The panel's chair: a panel_chair of its chair agency.
create function safeguard.panel_chair_of(panel uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.app_has_role('panel_chair')
	   and exists (select 1 from safeguard.panels p where p.id = panel and p.chair_agency = safeguard.app_agency());
end
$$;

-- Refers a child: a safeguarding lead or social worker of a member agency, or the chair.
create function safeguard.panel_may_refer(panel uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return ((safeguard.app_has_role('safeguarding_lead') or safeguard.app_has_role('social_worker'))
	        and safeguard.panel_member_agency(panel))
	    or safeguard.panel_chair_of(panel);
end
$$;

-- The caller's agency sits on a panel with an open referral of the child.
create function safeguard.child_on_open_panel(child uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.panel_referrals r
	               join safeguard.panel_members m on m.panel_id = r.panel_id
	               where r.child_id = child and r.status in ('submitted', 'accepted', 'reopened')
	                 and m.agency = safeguard.app_agency());
end
$$;

-- A child's visibility gains the open-panel route: one more named fact in
-- 005's OR (a plain SQL function the planner inlines; the facts are the
-- SECURITY DEFINER functions), keeping everything 005 allows.  The access
-- is derived from the live referral, never stored; create or replace keeps
-- the function's OID, which the policies of 002 and 003 hold.
create or replace function safeguard.child_visible(child uuid) returns boolean
language sql stable
as $$
	select safeguard.app_agency() = 'csc'
	    or safeguard.child_in_network(child)
	    or safeguard.child_shared_by_request(child)
	    or safeguard.child_on_open_panel(child)
$$;

-- The agencies with open actions on a panel, for the admin who changes its
-- membership (an agency that still owns actions may not leave); admins do
-- not read the actions themselves.
create function safeguard.panel_open_action_owners(panel uuid) returns text[]
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if not safeguard.app_has_role('admin') then
		return '{}';
	end if;
	return coalesce((select array_agg(distinct a.owner_agency order by a.owner_agency)
	                 from safeguard.panel_actions a
	                 where a.panel_id = panel and a.status in ('open', 'in_progress')), '{}');
end
$$;

-- The panels a child is on, for the child's network: which panel and the
-- referral's state, nothing of the case itself.
create function safeguard.child_panel_referrals(child uuid)
returns table (j text, created_at text, id uuid)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select jsonb_build_object(
		'referral_id', r.id, 'panel_id', p.id, 'panel_type', p.type, 'panel_name', p.name, 'area', p.area,
		'chair_agency', p.chair_agency, 'status', r.status,
		'open', r.status in ('submitted', 'accepted', 'reopened'),
		'referred_at', to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_at', to_char(r.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text,
		r.created_at::text, r.id
	from safeguard.panel_referrals r join safeguard.panels p on p.id = r.panel_id
	where r.child_id = child and (select safeguard.child_visible(child))
	order by r.created_at, r.id
$$;

-- ---- history, by triggers -------------------------------------------------------------

-- Every change is a new version, whoever makes it (a fix by hand too), so
-- that ETags change with the row and each version has its history row.
create function safeguard.panel_next_version() returns trigger language plpgsql
as $$
begin
	if new.version <= old.version then
		new.version := old.version + 1;
	end if;
	return new;
end
$$;
create trigger panels_version before update on safeguard.panels
	for each row execute function safeguard.panel_next_version();
create trigger panel_referrals_version before update on safeguard.panel_referrals
	for each row execute function safeguard.panel_next_version();
create trigger panel_meetings_version before update on safeguard.panel_meetings
	for each row execute function safeguard.panel_next_version();
create trigger panel_minutes_version before update on safeguard.panel_minutes
	for each row execute function safeguard.panel_next_version();
create trigger panel_actions_version before update on safeguard.panel_actions
	for each row execute function safeguard.panel_next_version();

create function safeguard.panel_referral_record() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if tg_op = 'UPDATE' and new.status is not distinct from old.status then
		return new;
	end if;
	insert into safeguard.panel_referral_events (referral_id, version, panel_id, status, reason, closure_reason,
		actor_sub, actor_agency)
	values (new.id, new.version, new.panel_id, new.status,
	        case when tg_op = 'INSERT' then null else new.status_reason end,
	        case when new.status = 'closed' then new.closure_reason end,
	        coalesce(safeguard.app_sub(), 'system'), coalesce(safeguard.app_agency(), 'partnership'));
	return new;
end
$$;
create trigger panel_referrals_history after insert or update on safeguard.panel_referrals
	for each row execute function safeguard.panel_referral_record();

create function safeguard.panel_minutes_record() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	insert into safeguard.panel_minutes_versions (meeting_id, version, panel_id, text, status, recorded_by,
		recorded_agency)
	values (new.meeting_id, new.version, new.panel_id, new.text, new.status,
	        coalesce(safeguard.app_sub(), 'system'), coalesce(safeguard.app_agency(), 'partnership'));
	return new;
end
$$;
create trigger panel_minutes_history after insert or update on safeguard.panel_minutes
	for each row execute function safeguard.panel_minutes_record();

-- ---- JSON as the API shows it ------------------------------------------------------

create function safeguard.panel_instant(t timestamptz) returns text language sql stable
as $$ select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

create function safeguard.panel_json(p safeguard.panels) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', p.id, 'type', p.type, 'name', p.name, 'area', p.area, 'chair_agency', p.chair_agency,
		'member_agencies', coalesce((select jsonb_agg(m.agency order by m.agency)
		                             from safeguard.panel_members m where m.panel_id = p.id), '[]'::jsonb),
		'version', p.version, 'created_at', safeguard.panel_instant(p.created_at),
		'updated_at', safeguard.panel_instant(p.updated_at))
$$;

-- The child's name and date of birth come only while the caller may see
-- the child (row-level security on children); the risk level and review
-- date now are those of the latest case discussion.
create function safeguard.panel_referral_json(r safeguard.panel_referrals) returns jsonb language sql stable
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

create function safeguard.panel_meeting_json(m safeguard.panel_meetings) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', m.id, 'panel_id', m.panel_id, 'kind', m.kind, 'scheduled_at', safeguard.panel_instant(m.scheduled_at),
		'location', m.location, 'agenda', to_jsonb(m.agenda), 'status', m.status,
		'held_at', safeguard.panel_instant(m.held_at), 'attended_by', to_jsonb(m.attended_by),
		'cancelled_reason', m.cancelled_reason,
		'minutes_status', (select n.status from safeguard.panel_minutes n where n.meeting_id = m.id),
		'version', m.version, 'created_by', m.created_by, 'created_at', safeguard.panel_instant(m.created_at),
		'updated_at', safeguard.panel_instant(m.updated_at))
$$;

create function safeguard.panel_minutes_json(n safeguard.panel_minutes) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'meeting_id', n.meeting_id, 'panel_id', n.panel_id, 'text', n.text, 'status', n.status,
		'version', n.version, 'updated_by', n.updated_by, 'updated_at', safeguard.panel_instant(n.updated_at),
		'approved_by', n.approved_by, 'approved_at', safeguard.panel_instant(n.approved_at))
$$;

create function safeguard.panel_discussion_json(d safeguard.panel_discussions) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', d.id, 'meeting_id', d.meeting_id, 'referral_id', d.referral_id, 'panel_id', d.panel_id,
		'child_id', (select r.child_id from safeguard.panel_referrals r where r.id = d.referral_id),
		'summary', d.summary, 'risk_level', d.risk_level, 'next_review_date', d.next_review_date,
		'recorded_by', d.recorded_by, 'recorded_agency', d.recorded_agency,
		'created_at', safeguard.panel_instant(d.created_at))
$$;

create function safeguard.panel_decision_json(d safeguard.panel_decisions) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', d.id, 'panel_id', d.panel_id, 'meeting_id', d.meeting_id, 'referral_id', d.referral_id,
		'text', d.text, 'supersedes', d.supersedes,
		'superseded_by', (select s.id from safeguard.panel_decisions s where s.supersedes = d.id),
		'status', case when exists (select 1 from safeguard.panel_decisions s where s.supersedes = d.id)
		               then 'superseded' else 'current' end,
		'recorded_by', d.recorded_by, 'recorded_agency', d.recorded_agency,
		'created_at', safeguard.panel_instant(d.created_at))
$$;

-- Overdue: due before today (UTC, the API's clock) and neither done nor cancelled.
create function safeguard.panel_action_overdue(due date, status text) returns boolean language sql stable
as $$ select status in ('open', 'in_progress') and due < (now() at time zone 'UTC')::date $$;

create function safeguard.panel_action_json(a safeguard.panel_actions) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', a.id, 'panel_id', a.panel_id, 'referral_id', a.referral_id,
		'child_id', (select r.child_id from safeguard.panel_referrals r where r.id = a.referral_id),
		'meeting_id', a.meeting_id, 'description', a.description, 'owner_agency', a.owner_agency,
		'owner_name', a.owner_name, 'due_date', a.due_date, 'status', a.status,
		'overdue', safeguard.panel_action_overdue(a.due_date, a.status), 'progress_note', a.progress_note,
		'escalated', a.escalated,
		'escalations', coalesce((select jsonb_agg(jsonb_build_object(
			'id', e.id, 'reason', e.reason, 'raised_by', e.raised_by, 'raised_agency', e.raised_agency,
			'raised_at', safeguard.panel_instant(e.raised_at), 'resolution', e.resolution,
			'resolved_by', e.resolved_by, 'resolved_at', safeguard.panel_instant(e.resolved_at))
			order by e.raised_at, e.id)
			from safeguard.panel_action_escalations e where e.action_id = a.id), '[]'::jsonb),
		'version', a.version, 'created_by', a.created_by, 'created_at', safeguard.panel_instant(a.created_at),
		'updated_by', a.updated_by, 'updated_at', safeguard.panel_instant(a.updated_at))
$$;

-- After the JSON functions: the snapshot is the action as the API showed it.
create function safeguard.panel_action_record() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	insert into safeguard.panel_action_history (action_id, version, panel_id, change, snapshot, changed_by,
		changed_agency)
	values (new.id, new.version, new.panel_id,
	        case when tg_op = 'INSERT' then 'created'
	             when new.escalated and not old.escalated then 'escalated'
	             when old.escalated and not new.escalated then 'resolved'
	             else 'updated' end,
	        safeguard.panel_action_json(new) - 'overdue',
	        coalesce(safeguard.app_sub(), 'system'), coalesce(safeguard.app_agency(), 'partnership'));
	return new;
end
$$;
create trigger panel_actions_history after insert or update on safeguard.panel_actions
	for each row execute function safeguard.panel_action_record();

-- ---- row-level security ----------------------------------------------------------------

alter table safeguard.panels enable row level security;
create policy panels_read on safeguard.panels for select to safeguard_api using (true);
create policy panels_create on safeguard.panels for insert to safeguard_api
	with check (safeguard.app_has_role('admin') and created_by = safeguard.app_sub());
create policy panels_update on safeguard.panels for update to safeguard_api
	using (safeguard.app_has_role('admin')) with check (safeguard.app_has_role('admin'));
grant select, insert, update on safeguard.panels to safeguard_api;

alter table safeguard.panel_members enable row level security;
create policy panel_members_read on safeguard.panel_members for select to safeguard_api using (true);
create policy panel_members_add on safeguard.panel_members for insert to safeguard_api
	with check (safeguard.app_has_role('admin'));
create policy panel_members_remove on safeguard.panel_members for delete to safeguard_api
	using (safeguard.app_has_role('admin'));
grant select, insert, delete on safeguard.panel_members to safeguard_api;

-- The referrer reads back what it referred (the answer to its POST); the
-- routes that read cases need a reader's role as well.
alter table safeguard.panel_referrals enable row level security;
create policy panel_referrals_read on safeguard.panel_referrals for select to safeguard_api
	using (safeguard.panel_reader(panel_id) or referred_by = safeguard.app_sub());
create policy panel_referrals_create on safeguard.panel_referrals for insert to safeguard_api
	with check (referring_agency = safeguard.app_agency() and referred_by = safeguard.app_sub()
	            and status = 'submitted' and safeguard.panel_may_refer(panel_id)
	            and safeguard.child_visible(child_id));
create policy panel_referrals_decide on safeguard.panel_referrals for update to safeguard_api
	using (safeguard.panel_chair_of(panel_id)) with check (safeguard.panel_chair_of(panel_id));
grant select, insert, update on safeguard.panel_referrals to safeguard_api;

alter table safeguard.panel_referral_events enable row level security;
create policy panel_referral_events_read on safeguard.panel_referral_events for select to safeguard_api
	using (safeguard.panel_reader(panel_id) or actor_sub = safeguard.app_sub());
grant select on safeguard.panel_referral_events to safeguard_api;

alter table safeguard.panel_meetings enable row level security;
create policy panel_meetings_read on safeguard.panel_meetings for select to safeguard_api
	using (safeguard.panel_reader(panel_id));
create policy panel_meetings_create on safeguard.panel_meetings for insert to safeguard_api
	with check (safeguard.panel_chair_of(panel_id));
create policy panel_meetings_update on safeguard.panel_meetings for update to safeguard_api
	using (safeguard.panel_chair_of(panel_id)) with check (safeguard.panel_chair_of(panel_id));
grant select, insert, update on safeguard.panel_meetings to safeguard_api;

-- Approved minutes are read-only: no policy lets any row that is approved be updated.
alter table safeguard.panel_minutes enable row level security;
create policy panel_minutes_read on safeguard.panel_minutes for select to safeguard_api
	using (safeguard.panel_reader(panel_id));
create policy panel_minutes_open on safeguard.panel_minutes for insert to safeguard_api
	with check (safeguard.panel_chair_of(panel_id) and status = 'draft');
create policy panel_minutes_write on safeguard.panel_minutes for update to safeguard_api
	using (status = 'draft' and safeguard.panel_recorder(panel_id))
	with check (safeguard.panel_recorder(panel_id) and (status = 'draft' or safeguard.panel_chair_of(panel_id)));
grant select, insert, update on safeguard.panel_minutes to safeguard_api;

alter table safeguard.panel_minutes_versions enable row level security;
create policy panel_minutes_versions_read on safeguard.panel_minutes_versions for select to safeguard_api
	using (safeguard.panel_reader(panel_id));
grant select on safeguard.panel_minutes_versions to safeguard_api;

alter table safeguard.panel_discussions enable row level security;
create policy panel_discussions_read on safeguard.panel_discussions for select to safeguard_api
	using (safeguard.panel_reader(panel_id));
create policy panel_discussions_create on safeguard.panel_discussions for insert to safeguard_api
	with check (safeguard.panel_recorder(panel_id) and recorded_by = safeguard.app_sub()
	            and recorded_agency = safeguard.app_agency());
grant select, insert on safeguard.panel_discussions to safeguard_api;

alter table safeguard.panel_decisions enable row level security;
create policy panel_decisions_read on safeguard.panel_decisions for select to safeguard_api
	using (safeguard.panel_reader(panel_id));
create policy panel_decisions_create on safeguard.panel_decisions for insert to safeguard_api
	with check (safeguard.panel_chair_of(panel_id) and recorded_by = safeguard.app_sub());
grant select, insert on safeguard.panel_decisions to safeguard_api;

-- The owner agency updates its actions; the chair creates them and resolves escalations.
alter table safeguard.panel_actions enable row level security;
create policy panel_actions_read on safeguard.panel_actions for select to safeguard_api
	using (safeguard.panel_reader(panel_id));
create policy panel_actions_create on safeguard.panel_actions for insert to safeguard_api
	with check (safeguard.panel_chair_of(panel_id) and created_by = safeguard.app_sub());
create policy panel_actions_update on safeguard.panel_actions for update to safeguard_api
	using (safeguard.panel_reader(panel_id)
	       and (owner_agency = safeguard.app_agency() or safeguard.panel_chair_of(panel_id)))
	with check (safeguard.panel_reader(panel_id) and updated_by = safeguard.app_sub());
grant select, insert, update on safeguard.panel_actions to safeguard_api;

alter table safeguard.panel_action_escalations enable row level security;
create policy panel_action_escalations_read on safeguard.panel_action_escalations for select to safeguard_api
	using (safeguard.panel_reader(panel_id));
create policy panel_action_escalations_raise on safeguard.panel_action_escalations for insert to safeguard_api
	with check (safeguard.panel_reader(panel_id) and raised_by = safeguard.app_sub()
	            and raised_agency = safeguard.app_agency());
create policy panel_action_escalations_resolve on safeguard.panel_action_escalations for update to safeguard_api
	using (safeguard.panel_chair_of(panel_id)) with check (resolved_by = safeguard.app_sub());
grant select, insert, update on safeguard.panel_action_escalations to safeguard_api;

alter table safeguard.panel_action_history enable row level security;
create policy panel_action_history_read on safeguard.panel_action_history for select to safeguard_api
	using (safeguard.panel_reader(panel_id));
grant select on safeguard.panel_action_history to safeguard_api;
