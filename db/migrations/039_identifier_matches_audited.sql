-- 039: what the database tells the API role beyond a record's own readers,
-- each now checked or audited (a review of every security-definer function
-- the API role may call).
--
-- 1. An identifier names a child whoever holds it: creating or updating a
--    child with an NHS number or UPN that another child holds is answered
--    409 with that child's id (possible-duplicate), so that the caller can
--    declare involvement instead; the caller may be outside the child's
--    network.  That is a search by identifier, and a search is audited, but
--    this one left no row.  child_by_identifier now writes one
--    ('child.identifier_match', on the child found, with the kind of
--    identifier, never the identifier itself), and takes the child being
--    updated (p_self) so that a child's own identifier is no match: before,
--    "limit 1" could pick the child itself and hide another holding the
--    other identifier until the unique index refused the update.
-- 2. declared_involvement_at answered any caller for any child and agency
--    whether that agency had declared involvement at a time (the audit
--    trail shows it beside each row): it now answers only a caller who may
--    see that agency's audit rows about the child, the audit_read rule.
-- 3. sync_log, sync_log_request and sync_log_shared_entries write the change
--    feed of any record with no check; only the owner's triggers call them,
--    so the API role may no longer.

set search_path = safeguard, pg_temp;

create function safeguard.child_by_identifier(p_nhs text, p_upn text, p_self uuid) returns uuid
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
declare
	found uuid;
	kind text;
begin
	select c.id, case when p_nhs is not null and c.nhs_number = p_nhs then 'nhs_number' else 'upn' end
	into found, kind
	from safeguard.children c
	where ((p_nhs is not null and c.nhs_number = p_nhs) or (p_upn is not null and c.upn = p_upn))
	  and c.id is distinct from p_self
	limit 1;
	if found is not null then
		insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action, resource_type, resource_id,
			outcome, details)
		values (current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'),
			'child.identifier_match', 'child', found::text, 'success', jsonb_build_object('kind', kind));
	end if;
	return found;
end
$$;
revoke all on function safeguard.child_by_identifier(text, text, uuid) from public;
grant execute on function safeguard.child_by_identifier(text, text, uuid) to safeguard_api;

-- the two arguments of child_create (023) and of the previous release
create or replace function safeguard.child_by_identifier(p_nhs text, p_upn text) returns uuid
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.child_by_identifier(p_nhs, p_upn, null);
end
$$;

create or replace function safeguard.declared_involvement_at(child text, p_agency text, at timestamptz) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	if child is null or child !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
	   or not safeguard.audit_event_visible(p_agency, 'child', child) then
		return false;
	end if;
	return exists (select 1 from safeguard.declared_involvements d
	               where d.child_id = child::uuid and d.agency = p_agency and d.declared_at <= at
	                 and (d.ended_at is null or d.ended_at > at));
end
$$;

revoke all on function safeguard.sync_log(text, uuid) from public, safeguard_api;
revoke all on function safeguard.sync_log_request(uuid) from public, safeguard_api;
revoke all on function safeguard.sync_log_shared_entries(uuid) from public, safeguard_api;
