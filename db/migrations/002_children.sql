-- 002_children: children, families and each child's network of agencies.
--
-- Visibility is the network: children's social care sees every child; any
-- other agency sees a child only while it is in that child's network.  The
-- policies below say the same as the C checks, so a query that forgot a
-- check still returns nothing it should not.  These tables have RLS enabled
-- but not forced: the API role (which owns nothing) is always subject to it,
-- while the owner's few SECURITY DEFINER functions (visibility, the
-- identifier search) can read across the network.

create table safeguard.families (
	id uuid primary key default gen_random_uuid(),
	name text not null check (length(name) between 1 and 200),
	carers jsonb not null default '[]'::jsonb check (jsonb_typeof(carers) = 'array'),
	version integer not null default 1,
	created_at timestamptz not null default now(),
	updated_at timestamptz not null default now(),
	created_by_agency text not null references safeguard.agencies (code)
);

create table safeguard.children (
	id uuid primary key default gen_random_uuid(),
	first_name text not null,
	last_name text not null,
	preferred_name text,
	date_of_birth date not null,
	gender text,
	nhs_number text unique check (nhs_number ~ '^[0-9]{10}$'),
	upn text unique check (upn ~ '^[A-Z][0-9]{11}[0-9A-Z]$'),
	address_lines text[] not null default '{}',
	address_town text,
	postcode text,
	school_urn text,
	education_status text not null default 'on_roll' check (education_status in
		('on_roll', 'not_on_roll', 'elective_home_education', 'missing_education', 'alternative_provision')),
	not_on_roll_since date,
	ehcp boolean not null default false,
	looked_after boolean not null default false,
	family_id uuid references safeguard.families (id),
	family_relationship text,
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	updated_at timestamptz not null default clock_timestamp(),
	created_by_agency text not null references safeguard.agencies (code),
	check (not_on_roll_since is null or not_on_roll_since >= date_of_birth),
	check ((family_id is null) = (family_relationship is null))
);
create index children_page on safeguard.children (created_at, id);
create index children_family on safeguard.children (family_id) where family_id is not null;
create index children_names on safeguard.children (lower(last_name), lower(first_name), date_of_birth);

create table safeguard.child_network (
	-- deferred: a new child's 'created' row goes in just before the child,
	-- so that the child is visible to its creator when it is returned
	child_id uuid not null references safeguard.children (id) deferrable initially deferred,
	agency text not null references safeguard.agencies (code),
	joined_at timestamptz not null default now(),
	how text not null check (how in ('created', 'declared', 'invited', 'panel')),
	reason text,
	joined_by text not null,
	primary key (child_id, agency)
);
create index child_network_agency on safeguard.child_network (agency, child_id);

-- Whether the caller's agency may see a child.  The policy checks run per
-- row, so they are PL/pgSQL: their plans are cached for the session, where a
-- SQL function's body would be parsed again in every query.
create function safeguard.child_visible(child uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.app_agency() = 'csc'
	    or exists (select 1 from safeguard.child_network n
	               where n.child_id = child and n.agency = safeguard.app_agency());
end
$$;

create function safeguard.family_visible(fam uuid, creator text) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.app_agency() = 'csc' or creator = safeguard.app_agency()
	    or exists (select 1 from safeguard.children c join safeguard.child_network n on n.child_id = c.id
	               where c.family_id = fam and n.agency = safeguard.app_agency());
end
$$;

-- Exact-identifier search across every child, visible or not: the caller
-- learns only an id and whether it is in their network.
create function safeguard.child_search(p_nhs text, p_upn text, p_first text, p_last text, p_dob date)
returns table (id uuid, in_network boolean)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select c.id, safeguard.child_visible(c.id) from safeguard.children c
	where (p_nhs is not null and c.nhs_number = p_nhs)
	   or (p_upn is not null and c.upn = p_upn)
	   or (p_first is not null and lower(c.first_name) = lower(p_first) and lower(c.last_name) = lower(p_last)
	       and c.date_of_birth = p_dob)
	order by c.created_at, c.id
	limit 20
$$;

-- The owner of a duplicate identifier, whoever can see it (409 answers).
create function safeguard.child_by_identifier(p_nhs text, p_upn text) returns uuid
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select id from safeguard.children
	where (p_nhs is not null and nhs_number = p_nhs) or (p_upn is not null and upn = p_upn)
	limit 1
$$;

-- Whether a child exists at all (declaring involvement in one outside the network).
create function safeguard.child_exists(child uuid) returns boolean
language sql stable security definer set search_path = safeguard, pg_temp
as $$ select exists (select 1 from safeguard.children where id = child) $$;

alter table safeguard.children enable row level security;
create policy children_read on safeguard.children for select to safeguard_api
	using (safeguard.child_visible(id));
create policy children_create on safeguard.children for insert to safeguard_api
	with check (created_by_agency = safeguard.app_agency());
create policy children_update on safeguard.children for update to safeguard_api
	using (safeguard.child_visible(id)) with check (safeguard.child_visible(id));
grant select, insert, update on safeguard.children to safeguard_api;

alter table safeguard.child_network enable row level security;
create policy network_read on safeguard.child_network for select to safeguard_api
	using (safeguard.child_visible(child_id));
create policy network_join on safeguard.child_network for insert to safeguard_api
	with check (agency = safeguard.app_agency() and joined_by = safeguard.app_sub()
	            and ((how = 'created' and not safeguard.child_exists(child_id))
	                 or (how = 'declared' and length(reason) > 0)));
grant select, insert on safeguard.child_network to safeguard_api;

alter table safeguard.families enable row level security;
create policy families_read on safeguard.families for select to safeguard_api
	using (safeguard.family_visible(id, created_by_agency));
create policy families_create on safeguard.families for insert to safeguard_api
	with check (created_by_agency = safeguard.app_agency());
create policy families_update on safeguard.families for update to safeguard_api
	using (safeguard.family_visible(id, created_by_agency));
grant select, insert, update on safeguard.families to safeguard_api;

-- A CSC safeguarding lead reads a child's access log; auditors read all.
drop policy audit_read on safeguard.audit_events;
create policy audit_read on safeguard.audit_events for select to safeguard_api
	using (safeguard.app_has_role('auditor')
	       or (resource_type = 'child' and safeguard.app_agency() = 'csc'
	           and safeguard.app_has_role('safeguarding_lead')));

-- A child as the API shows it.
create function safeguard.child_json(c safeguard.children) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', c.id, 'first_name', c.first_name, 'last_name', c.last_name, 'preferred_name', c.preferred_name,
		'date_of_birth', c.date_of_birth, 'gender', c.gender, 'nhs_number', c.nhs_number, 'upn', c.upn,
		'address', case when c.address_town is null and cardinality(c.address_lines) = 0 then null
		                else jsonb_build_object('lines', to_jsonb(c.address_lines), 'town', c.address_town) end,
		'postcode', c.postcode, 'school_urn', c.school_urn, 'education_status', c.education_status,
		'not_on_roll_since', c.not_on_roll_since, 'ehcp', c.ehcp, 'looked_after', c.looked_after,
		'family_id', c.family_id, 'family_relationship', c.family_relationship, 'version', c.version,
		'created_at', to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_at', to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'created_by_agency', c.created_by_agency)
$$;

create function safeguard.family_json(f safeguard.families) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', f.id, 'name', f.name, 'carers', f.carers, 'version', f.version,
		'created_at', to_char(f.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'updated_at', to_char(f.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'created_by_agency', f.created_by_agency,
		'members', coalesce((select jsonb_agg(jsonb_build_object('child_id', c.id, 'relationship', c.family_relationship,
		                                                         'first_name', c.first_name, 'last_name', c.last_name,
		                                                         'date_of_birth', c.date_of_birth)
		                                      order by c.date_of_birth, c.id)
		                     from safeguard.children c where c.family_id = f.id), '[]'::jsonb))
$$;
