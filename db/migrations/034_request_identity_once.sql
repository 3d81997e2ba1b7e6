-- 034: two more calls on every request's path keep their plans.
--
-- 1. begin_request (024), which every request runs first, set the email
--    and then called 012's begin_request for the rest: two PL/pgSQL calls,
--    each switching search_path on the way in and out.  It now sets the
--    five settings in one statement and checks the revocation itself, with
--    the same effect, the same error (SGREV) and the same rights.
-- 2. request_json (003) was a SQL function that cannot be inlined, so it
--    was parsed and planned again on every read of a chronology request
--    (every consolidated timeline read loads its request): in PL/pgSQL its
--    plans are kept for the session.  The same document, under the same
--    row-level security.

set search_path = safeguard, pg_temp;

create or replace function safeguard.begin_request(p_sub text, p_agency text, p_roles text, p_request_id text,
	p_jti text, p_email text)
returns void
language plpgsql
set search_path = safeguard, pg_temp
as $$
begin
	perform set_config('app.email', lower(coalesce(p_email, '')), true), set_config('app.sub', p_sub, true),
	        set_config('app.agency', p_agency, true), set_config('app.roles', p_roles, true),
	        set_config('app.request_id', p_request_id, true);
	-- a revocation names the token's agency, or none for every agency (012)
	if p_jti <> '' and exists (select 1 from safeguard.token_revocations
	                           where jti = p_jti and (agency is null or agency = p_agency)) then
		raise exception 'token revoked' using errcode = 'SGREV';
	end if;
end
$$;

create or replace function safeguard.request_json(r safeguard.chronology_requests) returns jsonb
language plpgsql stable
as $$
begin
	return jsonb_build_object(
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
			from safeguard.chronology_request_agencies a where a.request_id = r.id), '[]'::jsonb));
end
$$;
