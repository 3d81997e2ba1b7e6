-- 003_chronology: each agency's chronology of significant events about a
-- child, and chronology requests: children's social care asks named agencies
-- to share their chronologies about a child or family for a set period, and
-- the contributions are merged into one consolidated timeline.
--
-- Entries are read by their own agency, by CSC, and by the agencies of an
-- open chronology request they were shared into (the requester for good;
-- invited agencies until share_until or closure).  Entries are amended by new
-- versions and withdrawn with a reason; nothing here is ever deleted.

create table safeguard.chronology_entries (
	id uuid primary key,
	seq bigint generated always as identity unique,  -- recorded order
	agency text not null references safeguard.agencies (code),
	author_sub text not null,
	event_date date not null,
	event_date_end date check (event_date_end is null or event_date_end >= event_date),
	date_precision text not null check (date_precision in ('day', 'month', 'year', 'approximate')),
	event_time time,
	category text not null,
	summary text not null check (length(summary) between 1 and 500),
	details text check (length(details) <= 10000),
	impact text not null check (impact in ('positive', 'negative', 'neutral', 'unknown')),
	impact_description text check (length(impact_description) <= 2000),
	action_taken text check (length(action_taken) <= 2000),
	no_action_reason text check (length(no_action_reason) <= 2000),
	significance text not null check (significance in ('low', 'medium', 'high')),
	source text check (length(source) <= 200),
	status text not null default 'active' check (status in ('active', 'withdrawn')),
	withdrawn_reason text,
	withdrawn_at timestamptz,
	withdrawn_by text,
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	updated_at timestamptz not null default clock_timestamp(),
	updated_by text not null,
	-- the entry as the API shows it (entry_json), kept current by every write,
	-- so that long timelines are read without building JSON row by row; when
	-- null (bulk-loaded rows) readers build it on the fly
	doc text,
	check (action_taken is not null or no_action_reason is not null),
	check ((status = 'withdrawn') = (withdrawn_reason is not null))
);
create index chronology_entries_agency on safeguard.chronology_entries (agency, event_date);

create table safeguard.chronology_entry_children (
	entry_id uuid not null references safeguard.chronology_entries (id) deferrable initially deferred,
	child_id uuid not null references safeguard.children (id),
	primary key (entry_id, child_id)
);
create index chronology_entry_children_child on safeguard.chronology_entry_children (child_id, entry_id);

-- Every earlier version of an entry, as it was, with who replaced it and when.
create table safeguard.chronology_entry_versions (
	entry_id uuid not null references safeguard.chronology_entries (id),
	version integer not null,
	snapshot jsonb not null,
	recorded_by text not null,
	recorded_at timestamptz not null,
	primary key (entry_id, version)
);

create table safeguard.chronology_requests (
	id uuid primary key,
	requesting_agency text not null references safeguard.agencies (code),
	requested_by text not null,
	child_id uuid references safeguard.children (id),
	family_id uuid references safeguard.families (id),
	purpose text not null check (length(purpose) between 1 and 2000),
	lawful_basis text not null check (lawful_basis in
		('children_act_1989_s17', 'children_act_1989_s47', 'dpa_2018_sch1_para18', 'consent')),
	period_from date not null,
	period_to date not null check (period_to >= period_from),
	respond_by date not null,
	share_until timestamptz not null,
	closed_at timestamptz,
	closed_by text,
	created_at timestamptz not null default clock_timestamp(),
	check ((child_id is null) <> (family_id is null))
);

create table safeguard.chronology_request_children (
	request_id uuid not null references safeguard.chronology_requests (id) deferrable initially deferred,
	child_id uuid not null references safeguard.children (id),
	primary key (request_id, child_id)
);

create table safeguard.chronology_request_agencies (
	request_id uuid not null references safeguard.chronology_requests (id) deferrable initially deferred,
	agency text not null references safeguard.agencies (code),
	status text not null default 'pending' check (status in ('pending', 'submitted', 'no_involvement')),
	submitted_at timestamptz,
	submitted_by text,
	primary key (request_id, agency)
);
create index chronology_request_agencies_agency on safeguard.chronology_request_agencies (agency, request_id);

create table safeguard.chronology_contributions (
	request_id uuid not null references safeguard.chronology_requests (id),
	agency text not null references safeguard.agencies (code),
	entry_id uuid not null references safeguard.chronology_entries (id),
	primary key (request_id, entry_id)
);
create index chronology_contributions_entry on safeguard.chronology_contributions (entry_id);

-- May the caller's agency read this request (and its consolidated view)?
-- The requester always; an invited agency until the share window closes.
create function safeguard.request_readable(req uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (
		select 1 from safeguard.chronology_requests r
		where r.id = req
		  and (r.requesting_agency = safeguard.app_agency()
		       or (r.closed_at is null and now() < r.share_until
		           and exists (select 1 from safeguard.chronology_request_agencies a
		                       where a.request_id = r.id and a.agency = safeguard.app_agency()))));
end
$$;

-- Was this entry shared into a request the caller's agency may read?
create function safeguard.entry_shared_with_me(entry uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.chronology_contributions c
	               where c.entry_id = entry and safeguard.request_readable(c.request_id));
end
$$;

create function safeguard.entry_agency(entry uuid) returns text
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$ begin return (select agency from safeguard.chronology_entries where id = entry); end $$;

alter table safeguard.chronology_entries enable row level security;
create policy entries_read on safeguard.chronology_entries for select to safeguard_api
	using (agency = safeguard.app_agency() or safeguard.app_agency() = 'csc'
	       or safeguard.entry_shared_with_me(id));
create policy entries_create on safeguard.chronology_entries for insert to safeguard_api
	with check (agency = safeguard.app_agency() and author_sub = safeguard.app_sub());
create policy entries_amend on safeguard.chronology_entries for update to safeguard_api
	using (agency = safeguard.app_agency()
	       and (author_sub = safeguard.app_sub() or safeguard.app_has_role('safeguarding_lead')))
	with check (agency = safeguard.app_agency());
grant select, insert, update on safeguard.chronology_entries to safeguard_api;

alter table safeguard.chronology_entry_children enable row level security;
create policy entry_children_read on safeguard.chronology_entry_children for select to safeguard_api
	using (safeguard.app_agency() = 'csc' or safeguard.entry_agency(entry_id) = safeguard.app_agency()
	       or safeguard.entry_shared_with_me(entry_id));
-- an entry may only be about children in the author's network
create policy entry_children_create on safeguard.chronology_entry_children for insert to safeguard_api
	with check (safeguard.child_visible(child_id));
grant select, insert on safeguard.chronology_entry_children to safeguard_api;

alter table safeguard.chronology_entry_versions enable row level security;
create policy entry_versions_read on safeguard.chronology_entry_versions for select to safeguard_api
	using (safeguard.entry_agency(entry_id) = safeguard.app_agency() or safeguard.app_agency() = 'csc');
create policy entry_versions_write on safeguard.chronology_entry_versions for insert to safeguard_api
	with check (safeguard.entry_agency(entry_id) = safeguard.app_agency());
grant select, insert on safeguard.chronology_entry_versions to safeguard_api;

-- The requester and every invited agency see the request itself.
create function safeguard.request_visible_to_me(req uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.chronology_requests r where r.id = req
	               and r.requesting_agency = safeguard.app_agency())
	    or exists (select 1 from safeguard.chronology_request_agencies a
	               where a.request_id = req and a.agency = safeguard.app_agency());
end
$$;

alter table safeguard.chronology_requests enable row level security;
create policy requests_read on safeguard.chronology_requests for select to safeguard_api
	using (safeguard.request_visible_to_me(id));
create policy requests_create on safeguard.chronology_requests for insert to safeguard_api
	with check (requesting_agency = safeguard.app_agency() and requested_by = safeguard.app_sub()
	            and safeguard.app_agency() = 'csc'
	            and (safeguard.app_has_role('social_worker') or safeguard.app_has_role('safeguarding_lead')));
create policy requests_close on safeguard.chronology_requests for update to safeguard_api
	using (requesting_agency = safeguard.app_agency());
grant select, insert, update on safeguard.chronology_requests to safeguard_api;

alter table safeguard.chronology_request_children enable row level security;
create policy request_children_read on safeguard.chronology_request_children for select to safeguard_api
	using (safeguard.request_visible_to_me(request_id));
create policy request_children_create on safeguard.chronology_request_children for insert to safeguard_api
	with check (safeguard.app_agency() = 'csc');
grant select, insert on safeguard.chronology_request_children to safeguard_api;

alter table safeguard.chronology_request_agencies enable row level security;
create policy request_agencies_read on safeguard.chronology_request_agencies for select to safeguard_api
	using (safeguard.request_visible_to_me(request_id));
create policy request_agencies_create on safeguard.chronology_request_agencies for insert to safeguard_api
	with check (safeguard.app_agency() = 'csc');
-- an agency answers for itself
create policy request_agencies_answer on safeguard.chronology_request_agencies for update to safeguard_api
	using (agency = safeguard.app_agency()) with check (agency = safeguard.app_agency());
grant select, insert, update on safeguard.chronology_request_agencies to safeguard_api;

alter table safeguard.chronology_contributions enable row level security;
create policy contributions_read on safeguard.chronology_contributions for select to safeguard_api
	using (safeguard.request_readable(request_id));
create policy contributions_write on safeguard.chronology_contributions for insert to safeguard_api
	with check (agency = safeguard.app_agency() and safeguard.entry_agency(entry_id) = safeguard.app_agency());
create policy contributions_withdraw on safeguard.chronology_contributions for delete to safeguard_api
	using (agency = safeguard.app_agency());
grant select, insert, delete on safeguard.chronology_contributions to safeguard_api;

-- An invited agency joins the subject children's network.
create policy network_invited on safeguard.child_network for insert to safeguard_api
	with check (how = 'invited' and safeguard.app_agency() = 'csc'
	            and (safeguard.app_has_role('social_worker') or safeguard.app_has_role('safeguarding_lead')));

-- An entry as the API shows it, given its children.
create function safeguard.entry_json_with(e safeguard.chronology_entries, child_ids jsonb) returns json
language sql stable
as $$
	select json_build_object(
		'id', e.id, 'agency', e.agency, 'author', e.author_sub, 'child_ids', coalesce(child_ids, '[]'::jsonb),
		'event_date', e.event_date, 'event_date_end', e.event_date_end, 'date_precision', e.date_precision,
		'event_time', to_char(e.event_time, 'HH24:MI'), 'category', e.category, 'summary', e.summary,
		'details', e.details, 'impact', e.impact, 'impact_description', e.impact_description,
		'action_taken', e.action_taken, 'no_action_reason', e.no_action_reason,
		'significance', e.significance, 'source', e.source, 'status', e.status,
		'withdrawn_reason', e.withdrawn_reason,
		'withdrawn_at', to_char(e.withdrawn_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'version', e.version,
		'created_at', to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_at', to_char(e.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_by', e.updated_by)
$$;

create function safeguard.entry_json(e safeguard.chronology_entries) returns json language sql stable
as $$
	select safeguard.entry_json_with(e, (select jsonb_agg(c.child_id order by c.child_id)
	                                     from safeguard.chronology_entry_children c where c.entry_id = e.id))
$$;

-- The big reads check access once, up front, then read without a policy
-- check per row: a child's chronology (own agency's entries, CSC all) and a
-- request's consolidated timeline (request_readable).
create function safeguard.child_chronology(child uuid, p_from date, p_to date, p_category text, p_agency text,
	after_date date, after_time time, after_seq bigint, lim integer)
returns table (j text, event_date text, event_time text, seq text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select coalesce(e.doc, safeguard.entry_json(e)::text), e.event_date::text,
	       to_char(coalesce(e.event_time, '00:00'), 'HH24:MI:SS'), e.seq::text
	from safeguard.chronology_entry_children c
	join safeguard.chronology_entries e on e.id = c.entry_id
	where c.child_id = child
	  and (select safeguard.child_visible(child))
	  and (e.agency = safeguard.app_agency() or safeguard.app_agency() = 'csc')
	  and (p_from is null or coalesce(e.event_date_end, e.event_date) >= p_from)
	  and (p_to is null or e.event_date <= p_to)
	  and (p_category is null or e.category = p_category)
	  and (p_agency is null or e.agency = p_agency)
	  and (after_date is null or (e.event_date, coalesce(e.event_time, '00:00'), e.seq) > (after_date, after_time, after_seq))
	order by e.event_date, coalesce(e.event_time, '00:00'), e.seq
	limit lim
$$;

-- The consolidated entries of a request as one JSON array, in event order.
create function safeguard.consolidated_json(req uuid) returns text
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select '[' || coalesce(string_agg(coalesce(e.doc, safeguard.entry_json(e)::text), ','
	                                  order by e.event_date, coalesce(e.event_time, '00:00'), e.seq), '')
	       || ']'
	from safeguard.chronology_contributions c
	join safeguard.chronology_entries e on e.id = c.entry_id
	where c.request_id = req and (select safeguard.request_readable(req))
$$;

-- What the pattern rules need of the same entries.
create function safeguard.consolidated_items(req uuid)
returns table (id uuid, agency text, category text, event_date text, event_date_end text, status text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select e.id, e.agency, e.category, e.event_date::text, coalesce(e.event_date_end::text, ''), e.status
	from safeguard.chronology_contributions c
	join safeguard.chronology_entries e on e.id = c.entry_id
	where c.request_id = req and (select safeguard.request_readable(req))
	order by e.event_date, coalesce(e.event_time, '00:00'), e.seq
$$;

-- A request as the API shows it: per-agency status, with overdue derived
-- from respond_by, never stored.
create function safeguard.request_json(r safeguard.chronology_requests) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', r.id, 'requesting_agency', r.requesting_agency, 'requested_by', r.requested_by,
		'child_id', r.child_id, 'family_id', r.family_id,
		'child_ids', coalesce((select jsonb_agg(c.child_id order by c.child_id)
		                       from safeguard.chronology_request_children c where c.request_id = r.id), '[]'::jsonb),
		'purpose', r.purpose, 'lawful_basis', r.lawful_basis,
		'period_from', r.period_from, 'period_to', r.period_to, 'respond_by', r.respond_by,
		'share_until', to_char(r.share_until at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'closed_at', to_char(r.closed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		'created_at', to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'status', case when r.closed_at is not null then 'closed'
		               when now() >= r.share_until then 'expired' else 'open' end,
		'agencies', coalesce((select jsonb_agg(jsonb_build_object(
			'agency', a.agency,
			'status', case when a.status = 'pending' and current_date > r.respond_by then 'overdue' else a.status end,
			'submitted_at', to_char(a.submitted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
			order by a.agency)
			from safeguard.chronology_request_agencies a where a.request_id = r.id), '[]'::jsonb))
$$;
