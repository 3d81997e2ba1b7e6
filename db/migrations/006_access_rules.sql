-- 006_access_rules: the access rules settled after the security review
-- (issue 8), enforced here as the second line behind the C checks.
--
-- 1. Idempotency keys belong to an issuer, an agency and a subject together:
--    the same sub and key under another agency is another key.  The child
--    audit rows of the first answer are kept with it, so a replay of an answer
--    about a child is audited again.
-- 2. Token revocations name the agency whose token they revoke (null: any
--    agency).  An agency's admin revokes only its own agency's tokens; the
--    partnership's admins any.
-- 3. Only CSC (social workers, safeguarding leads) or the agency that created
--    a family may change who is in it, so adding a child to a family never
--    opens the family to an agency its creator did not choose.
-- 4. Self-declared involvement is break-glass: each declaration is recorded
--    for CSC's safeguarding leads to review or end, and the access log marks
--    what an agency read through one.
-- 5. The audit trail: the partnership's auditors read all of it; an agency's
--    auditor its own staff's actions and the events about children in its
--    network.
-- Nothing here redefines child_visible or family_visible: the rules below
-- call them, whatever they say about invitations.

-- ---- 1. idempotency keys ------------------------------------------------------

alter table safeguard.idempotency_keys
	add column issuer text not null default '',
	add column agency text not null default '',
	add column request_id text not null default '',
	-- the child audit rows the first answer wrote: [{"action": ..., "id": ...}]
	add column audit jsonb not null default '[]'::jsonb check (jsonb_typeof(audit) = 'array');
-- keys stored before this migration have no agency: they are never replayed
alter table safeguard.idempotency_keys drop constraint idempotency_keys_pkey;
alter table safeguard.idempotency_keys add primary key (issuer, agency, sub, key);
drop index safeguard.idempotency_keys_age;
create index idempotency_keys_age on safeguard.idempotency_keys (issuer, agency, sub, created_at);
drop policy idempotency_own on safeguard.idempotency_keys;
create policy idempotency_own on safeguard.idempotency_keys for all to safeguard_api
	using (sub = safeguard.app_sub() and agency = safeguard.app_agency())
	with check (sub = safeguard.app_sub() and agency = safeguard.app_agency());

-- A request may read back the audit rows it wrote itself (to keep the child
-- rows with an idempotent answer); request ids come from nginx, never from
-- the client.
create policy audit_own_request on safeguard.audit_events for select to safeguard_api
	using (request_id = nullif(current_setting('app.request_id', true), '') and actor_sub = safeguard.app_sub());

-- ---- 2. token revocations --------------------------------------------------------

alter table safeguard.token_revocations
	add column agency text references safeguard.agencies (code);  -- the token's agency; null: any
alter table safeguard.token_revocations drop constraint token_revocations_pkey;
create unique index token_revocations_scope on safeguard.token_revocations (jti, coalesce(agency, ''));
drop policy revocations_write on safeguard.token_revocations;
create policy revocations_write on safeguard.token_revocations for insert to safeguard_api
	with check (safeguard.app_has_role('admin') and revoked_by = safeguard.app_sub()
	            and revoked_by_agency = safeguard.app_agency()
	            and (safeguard.app_agency() = 'partnership' or agency = safeguard.app_agency()));

-- ---- 3. who changes a family's members ---------------------------------------

create function safeguard.family_manageable(fam uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if not (safeguard.app_has_role('social_worker') or safeguard.app_has_role('safeguarding_lead')) then
		return false;
	end if;
	return safeguard.app_agency() = 'csc'
	    or exists (select 1 from safeguard.families f where f.id = fam and f.created_by_agency = safeguard.app_agency());
end
$$;

-- May the caller move this child from the family it is in now (as the
-- statement sees it: the row before the update) to new_family?  Unchanged
-- membership always passes, so a member's network still edits the child.
create function safeguard.family_change_allowed(child uuid, new_family uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	old_family uuid;
begin
	select c.family_id into old_family from safeguard.children c where c.id = child;
	if old_family is not distinct from new_family then
		return true;
	end if;
	return (old_family is null or safeguard.family_manageable(old_family))
	   and (new_family is null or safeguard.family_manageable(new_family));
end
$$;

create policy children_family_change on safeguard.children as restrictive for update to safeguard_api
	using (true) with check (safeguard.family_change_allowed(id, family_id));
create policy children_family_insert on safeguard.children as restrictive for insert to safeguard_api
	with check (family_id is null or safeguard.family_manageable(family_id));

-- ---- 4. self-declared involvements -------------------------------------------------

create table safeguard.declared_involvements (
	id uuid primary key default gen_random_uuid(),
	child_id uuid not null references safeguard.children (id),
	agency text not null references safeguard.agencies (code),
	reason text not null,
	declared_by text not null,
	declared_at timestamptz not null,
	status text not null default 'unreviewed' check (status in ('unreviewed', 'reviewed', 'ended')),
	reviewed_by text,
	reviewed_at timestamptz,
	ended_by text,
	ended_at timestamptz,
	end_reason text check (end_reason is null or length(end_reason) between 1 and 1000),
	check ((reviewed_at is null) = (reviewed_by is null)),
	check ((status = 'ended') = (ended_at is not null and ended_by is not null and end_reason is not null))
);
-- one live declaration per child and agency (the network row it stands for)
create unique index declared_involvements_live on safeguard.declared_involvements (child_id, agency)
	where status <> 'ended';
create index declared_involvements_queue on safeguard.declared_involvements (status, declared_at, id);
create index declared_involvements_child on safeguard.declared_involvements (child_id, agency, declared_at);

-- Every declared network row, however it is written (the API, demo data,
-- a bulk load), is a declaration to review: one set-based insert per
-- statement, so that loading a million rows costs one statement, not a
-- million.
create function safeguard.record_declarations() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	insert into safeguard.declared_involvements (child_id, agency, reason, declared_by, declared_at)
	select a.child_id, a.agency, coalesce(nullif(a.reason, ''), '(no reason given)'), a.joined_by, a.joined_at
	from added a where a.how = 'declared';
	return null;
end
$$;
create trigger child_network_declared after insert on safeguard.child_network
	referencing new table as added for each statement execute function safeguard.record_declarations();

insert into safeguard.declared_involvements (child_id, agency, reason, declared_by, declared_at)
select child_id, agency, coalesce(nullif(reason, ''), '(no reason given)'), joined_by, joined_at
from safeguard.child_network where how = 'declared';

-- Did agency read the child through a declaration of its own at that time?
-- (For the access log, whoever reads it.)
create function safeguard.declared_involvement_at(child text, p_agency text, at timestamptz) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if child is null or child !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
		return false;
	end if;
	return exists (select 1 from safeguard.declared_involvements d
	               where d.child_id = child::uuid and d.agency = p_agency and d.declared_at <= at
	                 and (d.ended_at is null or d.ended_at > at));
end
$$;

-- A declaration as the API shows it.
create function safeguard.declared_involvement_json(d safeguard.declared_involvements) returns jsonb
language sql stable
as $$
	select jsonb_build_object(
		'id', d.id, 'child_id', d.child_id, 'agency', d.agency, 'reason', d.reason, 'declared_by', d.declared_by,
		'declared_at', to_char(d.declared_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'status', d.status, 'reviewed_by', d.reviewed_by,
		'reviewed_at', to_char(d.reviewed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'ended_by', d.ended_by,
		'ended_at', to_char(d.ended_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		'end_reason', d.end_reason)
$$;

alter table safeguard.declared_involvements enable row level security;
create policy declared_review on safeguard.declared_involvements for all to safeguard_api
	using (safeguard.app_agency() = 'csc' and safeguard.app_has_role('safeguarding_lead'))
	with check (safeguard.app_agency() = 'csc' and safeguard.app_has_role('safeguarding_lead'));
grant select, update on safeguard.declared_involvements to safeguard_api;

-- Ending a declared involvement takes the agency out of the network.
create policy network_end on safeguard.child_network for delete to safeguard_api
	using (how = 'declared' and safeguard.app_agency() = 'csc' and safeguard.app_has_role('safeguarding_lead'));
grant delete on safeguard.child_network to safeguard_api;

-- ---- 5. the audit trail ---------------------------------------------------------------

create function safeguard.audit_event_visible(p_actor_agency text, p_type text, p_id text) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if safeguard.app_has_role('auditor') then
		if safeguard.app_agency() = 'partnership' or p_actor_agency = safeguard.app_agency() then
			return true;
		end if;
		if p_type = 'child' and p_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
		   and safeguard.child_visible(p_id::uuid) then
			return true;
		end if;
	end if;
	-- a CSC safeguarding lead reads any child's access log
	return p_type = 'child' and safeguard.app_agency() = 'csc' and safeguard.app_has_role('safeguarding_lead');
end
$$;

drop policy audit_read on safeguard.audit_events;
create policy audit_read on safeguard.audit_events for select to safeguard_api
	using (safeguard.audit_event_visible(actor_agency, resource_type, resource_id));
