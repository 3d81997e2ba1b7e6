-- 004_forward_fixes: what 001, 002 and 003 gained after they were first
-- applied, as a migration of its own.
--
-- Until release 1 those three files were edited in place, so a database
-- migrated by an earlier copy of them never got the edits (issue 9: the
-- idempotency clean-up failed with "permission denied for table
-- idempotency_keys").  Every statement below brings a database migrated by
-- any earlier copy of 001-003 (back to their first commits, 840774e,
-- 54b8cbd and 1412146) to exactly what today's files build, and leaves a
-- database built from today's files as it is: columns are added only when
-- missing, functions are replaced by the same text, policies are set to the
-- same expressions.  tests/run.sh proves both (a pg_dump of an upgraded and
-- of a fresh database must be equal).
--
-- From now on migrations are forward-only: an applied file is never edited
-- (stack.sh migrate refuses a changed file, the service refuses to start,
-- and CI rejects the edit); a change is a new numbered file.

-- "already exists, skipping" is the point here, not news
set client_min_messages = warning;

-- ---- 001_platform ------------------------------------------------------------

-- ca0751c: audit inserts no longer check the agency against a foreign key.
alter table safeguard.audit_events drop constraint if exists audit_events_actor_agency_fkey;

-- 353279d: idempotency keys keep the response headers, between content_type
-- and body.  A database without the column gets the table rebuilt, rows
-- kept, so that its columns are in the same order as a fresh database's
-- (an added column would come last).  The rows are read with row-level
-- security lifted for the owner (the policy is for the API role only).
do $$
begin
	if not exists (select 1 from pg_attribute
	               where attrelid = 'safeguard.idempotency_keys'::regclass and attname = 'headers'
	                 and not attisdropped) then
		alter table safeguard.idempotency_keys no force row level security;
		alter table safeguard.idempotency_keys rename to idempotency_keys_before_004;
		alter table safeguard.idempotency_keys_before_004
			rename constraint idempotency_keys_pkey to idempotency_keys_before_004_pkey;
		alter table safeguard.idempotency_keys_before_004
			rename constraint idempotency_keys_key_check to idempotency_keys_before_004_key_check;
		create table safeguard.idempotency_keys (
			sub text not null,
			key text not null check (length(key) between 1 and 200),
			request_hash text not null,
			status integer not null,
			content_type text not null,
			headers text not null default '',  -- ETag and Location, as "Name: value" lines
			body text not null,
			created_at timestamptz not null default now(),
			primary key (sub, key)
		);
		insert into safeguard.idempotency_keys (sub, key, request_hash, status, content_type, body, created_at)
			select sub, key, request_hash, status, content_type, body, created_at
			from safeguard.idempotency_keys_before_004;
		drop table safeguard.idempotency_keys_before_004;
		alter table safeguard.idempotency_keys enable row level security;
		alter table safeguard.idempotency_keys force row level security;
		create policy idempotency_own on safeguard.idempotency_keys for all to safeguard_api
			using (sub = safeguard.app_sub()) with check (sub = safeguard.app_sub());
		grant select, insert on safeguard.idempotency_keys to safeguard_api;
	end if;
end
$$;

-- 96b0e65: kept for a day; each new key clears its subject's keys older
-- than that, so the API role deletes, and an index finds them.
grant select, insert, delete on safeguard.idempotency_keys to safeguard_api;
create index if not exists idempotency_keys_age on safeguard.idempotency_keys (sub, created_at);

-- ---- 002_children ------------------------------------------------------------

-- 72b7d69: the visibility checks are PL/pgSQL (plans cached per session).
create or replace function safeguard.child_visible(child uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.app_agency() = 'csc'
	    or exists (select 1 from safeguard.child_network n
	               where n.child_id = child and n.agency = safeguard.app_agency());
end
$$;

create or replace function safeguard.family_visible(fam uuid, creator text) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.app_agency() = 'csc' or creator = safeguard.app_agency()
	    or exists (select 1 from safeguard.children c join safeguard.child_network n on n.child_id = c.id
	               where c.family_id = fam and n.agency = safeguard.app_agency());
end
$$;

-- ---- 003_chronology ----------------------------------------------------------

-- ca0751c: the entry as the API shows it, kept by every write (the last
-- column in a fresh database too); null on older rows, which readers build
-- on the fly (9397148).
alter table safeguard.chronology_entries add column if not exists doc text;

-- 72b7d69: the visibility checks are PL/pgSQL.
create or replace function safeguard.request_readable(req uuid) returns boolean
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

create or replace function safeguard.entry_shared_with_me(entry uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.chronology_contributions c
	               where c.entry_id = entry and safeguard.request_readable(c.request_id));
end
$$;

create or replace function safeguard.entry_agency(entry uuid) returns text
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$ begin return (select agency from safeguard.chronology_entries where id = entry); end $$;

create or replace function safeguard.request_visible_to_me(req uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.chronology_requests r where r.id = req
	               and r.requesting_agency = safeguard.app_agency())
	    or exists (select 1 from safeguard.chronology_request_agencies a
	               where a.request_id = req and a.agency = safeguard.app_agency());
end
$$;

-- ca0751c: the cheap test first; 353279d: a new version is recorded by
-- whoever amends or withdraws, not only by the version's author.
alter policy entry_children_read on safeguard.chronology_entry_children
	using (safeguard.app_agency() = 'csc' or safeguard.entry_agency(entry_id) = safeguard.app_agency()
	       or safeguard.entry_shared_with_me(entry_id));
alter policy entry_versions_write on safeguard.chronology_entry_versions
	with check (safeguard.entry_agency(entry_id) = safeguard.app_agency());

-- ca0751c: entry_json returns json (it was jsonb) and is built by
-- entry_json_with.  A return type cannot be replaced, so the old function
-- is dropped first, only where it still returns jsonb (nothing depends on
-- it: SQL function bodies are not tracked as dependencies).
do $$
begin
	if (select prorettype from pg_proc
	    where oid = 'safeguard.entry_json(safeguard.chronology_entries)'::regprocedure) = 'jsonb'::regtype then
		drop function safeguard.entry_json(safeguard.chronology_entries);
	end if;
end
$$;

create or replace function safeguard.entry_json_with(e safeguard.chronology_entries, child_ids jsonb) returns json
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

create or replace function safeguard.entry_json(e safeguard.chronology_entries) returns json language sql stable
as $$
	select safeguard.entry_json_with(e, (select jsonb_agg(c.child_id order by c.child_id)
	                                     from safeguard.chronology_entry_children c where c.entry_id = e.id))
$$;

-- ca0751c, 9397148: the big reads check access once, up front.
create or replace function safeguard.child_chronology(child uuid, p_from date, p_to date, p_category text, p_agency text,
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

create or replace function safeguard.consolidated_json(req uuid) returns text
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select '[' || coalesce(string_agg(coalesce(e.doc, safeguard.entry_json(e)::text), ','
	                                  order by e.event_date, coalesce(e.event_time, '00:00'), e.seq), '')
	       || ']'
	from safeguard.chronology_contributions c
	join safeguard.chronology_entries e on e.id = c.entry_id
	where c.request_id = req and (select safeguard.request_readable(req))
$$;

create or replace function safeguard.consolidated_items(req uuid)
returns table (id uuid, agency text, category text, event_date text, event_date_end text, status text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select e.id, e.agency, e.category, e.event_date::text, coalesce(e.event_date_end::text, ''), e.status
	from safeguard.chronology_contributions c
	join safeguard.chronology_entries e on e.id = c.entry_id
	where c.request_id = req and (select safeguard.request_readable(req))
	order by e.event_date, coalesce(e.event_time, '00:00'), e.seq
$$;

-- ---- schema_migrations ---------------------------------------------------------

-- The sha256 of each applied file, so that an edited file is refused
-- (stack.sh migrate, and the service at start and in /readyz).  stack.sh
-- adds the column before it applies anything, so that it can record the
-- checksum of every file it applies; this covers a database migrated by
-- other means.
alter table safeguard.schema_migrations add column if not exists checksum text;
