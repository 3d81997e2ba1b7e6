-- 010_screening: the child exploitation screening tool (issue 12, part 2).
--
-- The partnership's screening form is data, never code: a tool has numbered
-- versions, each with sections of indicators (text, weight, the answers
-- that count, required or not) and score thresholds that map to a level and
-- to the pathway's recommended next step.  The partnership's admins draft a
-- version and publish it; a published version is immutable (a trigger holds
-- it, for the owner too) and is superseded by the next one published.
--
-- A screening is completed about a child by a member of an agency in the
-- child's network against the tool's published version; submitting it
-- locks it, and the server computes its score, level and recommended next
-- step from that version (screening_score).  A submitted screening is never
-- edited: a new one supersedes it; its outcome (the decision taken) is
-- recorded once.  Drafts are seen by their own agency only; submitted
-- screenings by the child's network (CSC always).  A submitted screening is
-- also an entry of its agency in the child's chronology, category
-- 'screening' (chronology_entries.category is free text in 003: the value
-- list lives in the entries' field spec, which gains it).
--
-- RLS is enabled but not forced, as in 002: the owner's SECURITY DEFINER
-- report reads across, checking the caller's role itself.

-- ---- tools and versions ------------------------------------------------------------

-- The partnership's admins: PERM_SCREENING_TOOL_PUBLISH in access.c.
create function safeguard.screening_tool_admin() returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.app_agency() = 'partnership' and safeguard.app_has_role('admin');
end
$$;

create table safeguard.screening_tools (
	id uuid primary key,
	name text not null unique check (length(name) between 1 and 200),
	description text check (length(description) between 1 and 2000),
	version integer not null default 1,  -- of the tool record: its ETag, bumped by every version change
	created_at timestamptz not null default clock_timestamp(),
	created_by text not null,
	updated_at timestamptz not null default clock_timestamp()
);
create index screening_tools_page on safeguard.screening_tools (created_at, id);

create table safeguard.screening_tool_versions (
	id uuid primary key,
	tool_id uuid not null references safeguard.screening_tools (id),
	version integer not null check (version between 1 and 9999),
	status text not null default 'draft' check (status in ('draft', 'published', 'superseded')),
	-- checked by the API before they are stored (tools.c): see the OpenAPI document
	sections jsonb not null check (jsonb_typeof(sections) = 'array'),
	thresholds jsonb not null check (jsonb_typeof(thresholds) = 'array'),
	max_score integer not null check (max_score >= 0),
	notes text check (length(notes) between 1 and 2000),
	revision integer not null default 1,  -- of a draft: its ETag
	published_at timestamptz,
	published_by text,
	superseded_at timestamptz,
	created_at timestamptz not null default clock_timestamp(),
	created_by text not null,
	updated_at timestamptz not null default clock_timestamp(),
	unique (tool_id, version),
	check ((status = 'draft') = (published_at is null)),
	check ((status = 'superseded') = (superseded_at is not null))
);
-- one published version and at most one draft per tool
create unique index screening_tool_versions_published on safeguard.screening_tool_versions (tool_id)
	where status = 'published';
create unique index screening_tool_versions_draft on safeguard.screening_tool_versions (tool_id)
	where status = 'draft';

-- A published version is immutable: its only change is being superseded.
create function safeguard.screening_tool_versions_guard() returns trigger language plpgsql
as $$
declare
	moving constant text[] := array['status', 'superseded_at', 'updated_at'];
begin
	if tg_op = 'DELETE' then
		if old.status <> 'draft' then
			raise exception 'a published screening tool version is never removed';
		end if;
		return old;
	end if;
	if old.status = 'draft' then
		return new;
	end if;
	if old.status = 'published' and new.status in ('published', 'superseded')
	   and (to_jsonb(new) - moving) = (to_jsonb(old) - moving) then
		return new;
	end if;
	raise exception 'a published screening tool version is immutable: publish a new version';
end
$$;
create trigger screening_tool_versions_immutable before update or delete on safeguard.screening_tool_versions
	for each row execute function safeguard.screening_tool_versions_guard();

alter table safeguard.screening_tools enable row level security;
create policy screening_tools_read on safeguard.screening_tools for select to safeguard_api using (true);
create policy screening_tools_create on safeguard.screening_tools for insert to safeguard_api
	with check (safeguard.screening_tool_admin() and created_by = safeguard.app_sub());
create policy screening_tools_update on safeguard.screening_tools for update to safeguard_api
	using (safeguard.screening_tool_admin()) with check (safeguard.screening_tool_admin());
grant select, insert, update on safeguard.screening_tools to safeguard_api;

-- drafts are the admins' work in progress
alter table safeguard.screening_tool_versions enable row level security;
create policy screening_versions_read on safeguard.screening_tool_versions for select to safeguard_api
	using (status <> 'draft' or safeguard.screening_tool_admin());
create policy screening_versions_create on safeguard.screening_tool_versions for insert to safeguard_api
	with check (safeguard.screening_tool_admin() and status = 'draft' and created_by = safeguard.app_sub());
create policy screening_versions_update on safeguard.screening_tool_versions for update to safeguard_api
	using (safeguard.screening_tool_admin()) with check (safeguard.screening_tool_admin());
grant select, insert, update on safeguard.screening_tool_versions to safeguard_api;

create function safeguard.screening_version_json(v safeguard.screening_tool_versions) returns jsonb
language sql stable
as $$
	select jsonb_build_object(
		'id', v.id, 'tool_id', v.tool_id, 'tool_name', t.name, 'version', v.version, 'status', v.status,
		'sections', v.sections, 'thresholds', v.thresholds, 'max_score', v.max_score, 'notes', v.notes,
		'revision', v.revision,
		'published_at', to_char(v.published_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'published_by', v.published_by,
		'superseded_at', to_char(v.superseded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'created_by', v.created_by,
		'created_at', to_char(v.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_at', to_char(v.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
	from safeguard.screening_tools t where t.id = v.tool_id
$$;

-- A tool with its versions (those the caller may see: drafts for admins).
create function safeguard.screening_tool_json(t safeguard.screening_tools) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', t.id, 'name', t.name, 'description', t.description,
		'published_version', (select v.version from safeguard.screening_tool_versions v
		                      where v.tool_id = t.id and v.status = 'published'),
		'versions', coalesce((select jsonb_agg(jsonb_build_object(
			'version', v.version, 'status', v.status,
			'published_at', to_char(v.published_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
			'superseded_at', to_char(v.superseded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
			order by v.version)
			from safeguard.screening_tool_versions v where v.tool_id = t.id), '[]'::jsonb),
		'version', t.version, 'created_by', t.created_by,
		'created_at', to_char(t.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_at', to_char(t.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
$$;

-- The score of answers on a version: the weights of the indicators whose
-- answer is one that counts; then the threshold that holds the score gives
-- the level and the recommended next step.  The API checked that the
-- thresholds cover every score from 0 to max_score exactly once.
create function safeguard.screening_score(sections jsonb, thresholds jsonb, answers jsonb)
returns table (score integer, level text, next_step text)
language sql immutable
as $$
	with s as (
		select coalesce(sum((i->>'weight')::integer), 0)::integer as score
		from jsonb_array_elements(sections) sec, jsonb_array_elements(sec->'indicators') i
		where (i->'counts') ? (answers->>(i->>'id')))
	select s.score, t->>'level', t->>'next_step'
	from s, jsonb_array_elements(thresholds) t
	where s.score >= (t->>'min')::integer
	  and (jsonb_typeof(t->'max') is distinct from 'number' or s.score <= (t->>'max')::integer)
	order by (t->>'min')::integer desc
	limit 1
$$;

-- ---- screenings ----------------------------------------------------------------------

create table safeguard.screenings (
	id uuid primary key,
	child_id uuid not null references safeguard.children (id),
	tool_version_id uuid not null references safeguard.screening_tool_versions (id),
	agency text not null references safeguard.agencies (code),
	author_sub text not null,
	status text not null default 'draft' check (status in ('draft', 'submitted', 'superseded')),
	answers jsonb not null default '{}'::jsonb check (jsonb_typeof(answers) = 'object'),
	notes text check (length(notes) between 1 and 4000),
	-- computed by the server on submission, never taken from a client
	score integer,
	level text check (level in ('low', 'medium', 'high')),
	recommended_next_step text check (recommended_next_step in ('no_further_action', 'front_door_referral',
		'panel_referral')),
	-- the child's postcode district when it was submitted, for the partnership's report (no names)
	area text,
	submitted_at timestamptz,
	submitted_by text,
	supersedes uuid references safeguard.screenings (id),
	superseded_at timestamptz,
	-- the decision taken on it, recorded once
	decision text check (decision in ('none', 'front_door_referral', 'panel_referral')),
	decision_note text check (length(decision_note) between 1 and 4000),
	decided_at timestamptz,
	decided_by text,
	panel_referral_id uuid,  -- the panel referral it led to (the panels area), once linked
	-- its entry in the child's chronology, written in the same transaction as the submission
	chronology_entry_id uuid references safeguard.chronology_entries (id) deferrable initially deferred,
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	updated_at timestamptz not null default clock_timestamp(),
	updated_by text not null,
	check ((status = 'draft') = (submitted_at is null)),
	check (status = 'draft' or (score is not null and level is not null and recommended_next_step is not null)),
	check ((status = 'superseded') = (superseded_at is not null)),
	check ((decision is null) = (decided_at is null)),
	check (decision is null or status <> 'draft')
);
create index screenings_child on safeguard.screenings (child_id, created_at, id);
create index screenings_submitted on safeguard.screenings (submitted_at) where submitted_at is not null;
-- a submitted screening is superseded by one submitted screening at most
create unique index screenings_superseded_once on safeguard.screenings (supersedes)
	where supersedes is not null and status <> 'draft';

-- A submitted screening is never edited: it may only be superseded, and
-- have its outcome (and the panel referral it led to) recorded once.
create function safeguard.screenings_guard() returns trigger language plpgsql
as $$
declare
	moving constant text[] := array['status', 'superseded_at', 'decision', 'decision_note', 'decided_at',
		'decided_by', 'panel_referral_id', 'version', 'updated_at', 'updated_by'];
begin
	if old.status = 'draft' then
		return new;
	end if;
	if (to_jsonb(new) - moving) <> (to_jsonb(old) - moving)
	   or (new.status <> old.status and not (old.status = 'submitted' and new.status = 'superseded'))
	   or (old.decision is not null and (new.decision, new.decision_note, new.decided_at, new.decided_by)
	                                    is distinct from (old.decision, old.decision_note, old.decided_at, old.decided_by))
	   or (old.panel_referral_id is not null and new.panel_referral_id is distinct from old.panel_referral_id) then
		raise exception 'a submitted screening is never edited: supersede it with a new one';
	end if;
	return new;
end
$$;
create trigger screenings_locked before update on safeguard.screenings
	for each row execute function safeguard.screenings_guard();

alter table safeguard.screenings enable row level security;
create policy screenings_read on safeguard.screenings for select to safeguard_api
	using (safeguard.child_visible(child_id) and (status <> 'draft' or agency = safeguard.app_agency()));
create policy screenings_create on safeguard.screenings for insert to safeguard_api
	with check (agency = safeguard.app_agency() and author_sub = safeguard.app_sub() and status = 'draft'
	            and safeguard.child_visible(child_id));
create policy screenings_update on safeguard.screenings for update to safeguard_api
	using (agency = safeguard.app_agency() and safeguard.child_visible(child_id))
	with check (agency = safeguard.app_agency());
grant select, insert, update on safeguard.screenings to safeguard_api;

create function safeguard.screening_json(s safeguard.screenings) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', s.id, 'child_id', s.child_id,
		'tool', jsonb_build_object('id', t.id, 'name', t.name, 'version', v.version, 'max_score', v.max_score),
		'agency', s.agency, 'author', s.author_sub, 'status', s.status, 'answers', s.answers, 'notes', s.notes,
		'score', s.score, 'level', s.level, 'recommended_next_step', s.recommended_next_step,
		'submitted_at', to_char(s.submitted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'submitted_by', s.submitted_by, 'supersedes', s.supersedes,
		'superseded_by', (select n.id from safeguard.screenings n where n.supersedes = s.id and n.status <> 'draft'),
		'superseded_at', to_char(s.superseded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'outcome', case when s.decision is not null then jsonb_build_object(
			'decision', s.decision, 'note', s.decision_note, 'decided_by', s.decided_by,
			'decided_at', to_char(s.decided_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
			'panel_referral_id', s.panel_referral_id) end,
		'chronology_entry_id', s.chronology_entry_id, 'version', s.version,
		'created_at', to_char(s.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_at', to_char(s.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_by', s.updated_by)
	from safeguard.screening_tool_versions v join safeguard.screening_tools t on t.id = v.tool_id
	where v.id = s.tool_version_id
$$;

-- ---- the partnership's report ------------------------------------------------------------

-- Who reads it: the partnership's admins and auditors, and any agency's
-- safeguarding lead (PERM_SCREENING_REPORT in access.c).
create function safeguard.screening_report_reader() returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return (safeguard.app_agency() = 'partnership'
	        and (safeguard.app_has_role('admin') or safeguard.app_has_role('auditor')))
	    or safeguard.app_has_role('safeguarding_lead');
end
$$;

-- Submitted screenings (superseded ones too: each was a screening done) by
-- month of submission (UTC), the child's postcode district then, level and
-- the decision taken ('pending' until one is): counts only, no names, no ids.
create function safeguard.screening_report(p_from date, p_to date)
returns table (month text, area text, level text, outcome text, screenings integer)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select to_char(s.submitted_at at time zone 'UTC', 'YYYY-MM'), coalesce(s.area, 'unknown'), s.level,
	       coalesce(s.decision, 'pending'), count(*)::integer
	from safeguard.screenings s
	where s.submitted_at is not null
	  and s.submitted_at >= p_from::timestamp at time zone 'UTC'
	  and s.submitted_at < (p_to + 1)::timestamp at time zone 'UTC'
	  and (select safeguard.screening_report_reader())
	group by 1, 2, 3, 4
	order by 1, 2, 3, 4
$$;

-- ---- referrals to panels ------------------------------------------------------------

-- The child's open referral to a panel, for a CME case or a screening that
-- asks for one when the child has it already: the case or screening names
-- it, and the referral stays as it was made (what a referral is never
-- changes, 011).  The caller may not read the panel's cases (a social
-- worker refers but is no panel reader), so this reads across, after
-- checking the caller may refer the child to the panel: the panels' rule
-- (011), a referrer of a member agency in the child's network (or CSC).
create function safeguard.panel_open_referral(p_panel uuid, p_child uuid) returns uuid
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if not (safeguard.panel_may_refer(p_panel)
	        and (safeguard.app_agency() = 'csc' or safeguard.child_in_network(p_child))) then
		return null;
	end if;
	return (select r.id from safeguard.panel_referrals r
	        where r.panel_id = p_panel and r.child_id = p_child and r.status in ('submitted', 'accepted', 'reopened'));
end
$$;

-- A referral of a child to a panel from a CME case (the CME officer
-- resolving it) or a screening (its agency recording the outcome), naming
-- where it came from: inserted as the caller, under the panels' row-level
-- security (007, 011), so who may refer is the panels' rule; when the
-- child already has an open referral to the panel, that one is answered
-- instead.  (referral id, whether it was created)
create function safeguard.panel_referral_from(p_panel uuid, p_child uuid, p_reason text, p_risk text,
	p_criteria jsonb, p_cme_case uuid, p_screening uuid)
returns table (referral_id uuid, created boolean)
language plpgsql volatile set search_path = safeguard, pg_temp
as $$
declare
	rid uuid := gen_random_uuid();
begin
	insert into safeguard.panel_referrals (id, panel_id, child_id, referring_agency, referred_by, reason, risk_level,
		criteria, cme_case_id, screening_id, updated_by)
	values (rid, p_panel, p_child, safeguard.app_agency(), safeguard.app_sub(), p_reason, p_risk, p_criteria,
		p_cme_case, p_screening, safeguard.app_sub())
	on conflict (panel_id, child_id) where status in ('submitted', 'accepted', 'reopened') do nothing;
	if found then
		return query select rid, true;
	else
		return query select safeguard.panel_open_referral(p_panel, p_child), false;
	end if;
end
$$;
