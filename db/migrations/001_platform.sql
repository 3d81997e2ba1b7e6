-- 001_platform: the schema, reference data, the audit trail, token
-- revocations and idempotency keys.
--
-- Objects belong to safeguard_owner.  The API connects as safeguard_api,
-- which owns nothing and cannot bypass row-level security; every table it
-- touches has RLS enabled and forced.  Each request's transaction first sets
-- app.sub, app.agency, app.roles and app.request_id (db.c), and the policies
-- read them through the functions below.

create schema if not exists safeguard authorization safeguard_owner;
grant usage on schema safeguard to safeguard_api;

create function safeguard.app_sub() returns text language sql stable
as $$ select nullif(current_setting('app.sub', true), '') $$;

create function safeguard.app_agency() returns text language sql stable
as $$ select nullif(current_setting('app.agency', true), '') $$;

create function safeguard.app_has_role(role text) returns boolean language sql stable
as $$ select role = any (string_to_array(coalesce(current_setting('app.roles', true), ''), ',')) $$;

create table safeguard.agencies (
	code text primary key check (code ~ '^[a-z_]{2,32}$'),
	name text not null,
	description text not null
);

insert into safeguard.agencies (code, name, description) values
	('csc', 'Children''s social care', 'The local authority''s children''s social care service'),
	('police', 'Police', 'The local police force, including its schools officers'),
	('health', 'Health', 'NHS providers: hospitals, GPs, school nurses and health visitors'),
	('mental_health', 'Mental health', 'Child and adolescent mental health services'),
	('education', 'Education', 'Schools, colleges and the local authority''s education services'),
	('youth_justice', 'Youth justice', 'The youth justice and exploitation service'),
	('district', 'District councils', 'District and city councils: housing and community safety'),
	('voluntary', 'Voluntary sector', 'Voluntary and community organisations working with children'),
	('partnership', 'Safeguarding partnership', 'The partnership''s business unit');

alter table safeguard.agencies enable row level security;
alter table safeguard.agencies force row level security;
create policy agencies_read on safeguard.agencies for select to safeguard_api using (true);
grant select on safeguard.agencies to safeguard_api;

-- The audit trail: append-only.  The API role may insert rows about itself
-- and auditors may read; nobody may change or remove a row (the trigger
-- holds even for the owner).
create table safeguard.audit_events (
	id uuid primary key default gen_random_uuid(),
	occurred_at timestamptz not null default clock_timestamp(),
	request_id text not null,
	actor_sub text not null,
	actor_agency text not null,  -- no foreign key: the token's allow-list vouches, and audit inserts stay cheap
	action text not null,
	resource_type text not null,
	resource_id text,
	outcome text not null check (outcome in ('success', 'denied', 'failure')),
	details jsonb not null default '{}'::jsonb
);
create index audit_events_time on safeguard.audit_events (occurred_at desc, id desc);
create index audit_events_actor on safeguard.audit_events (actor_sub, occurred_at desc);
create index audit_events_resource on safeguard.audit_events (resource_type, resource_id, occurred_at desc);

create function safeguard.audit_events_immutable() returns trigger language plpgsql
as $$ begin raise exception 'audit events are append-only'; end $$;
create trigger audit_events_no_change before update or delete on safeguard.audit_events
	for each row execute function safeguard.audit_events_immutable();
create trigger audit_events_no_truncate before truncate on safeguard.audit_events
	for each statement execute function safeguard.audit_events_immutable();

alter table safeguard.audit_events enable row level security;
alter table safeguard.audit_events force row level security;
create policy audit_write on safeguard.audit_events for insert to safeguard_api
	with check (actor_sub = safeguard.app_sub() and actor_agency = safeguard.app_agency());
create policy audit_read on safeguard.audit_events for select to safeguard_api
	using (safeguard.app_has_role('auditor'));
grant select, insert on safeguard.audit_events to safeguard_api;

-- Revoked token ids.  Every request checks its jti here, whoever the caller.
create table safeguard.token_revocations (
	jti text primary key check (length(jti) between 1 and 200),
	revoked_at timestamptz not null default now(),
	revoked_by text not null,
	revoked_by_agency text not null references safeguard.agencies (code)
);
alter table safeguard.token_revocations enable row level security;
alter table safeguard.token_revocations force row level security;
create policy revocations_read on safeguard.token_revocations for select to safeguard_api using (true);
create policy revocations_write on safeguard.token_revocations for insert to safeguard_api
	with check (safeguard.app_has_role('admin') and revoked_by = safeguard.app_sub());
grant select, insert on safeguard.token_revocations to safeguard_api;

-- Idempotency keys: the first response to a POST, stored in the transaction
-- of the write it describes, visible only to the subject that sent it.
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
alter table safeguard.idempotency_keys enable row level security;
alter table safeguard.idempotency_keys force row level security;
create policy idempotency_own on safeguard.idempotency_keys for all to safeguard_api
	using (sub = safeguard.app_sub()) with check (sub = safeguard.app_sub());
-- kept for a day: each new key clears its subject's keys older than that
grant select, insert, delete on safeguard.idempotency_keys to safeguard_api;
create index idempotency_keys_age on safeguard.idempotency_keys (sub, created_at);
