-- 012_request_identity.sql - a request's identity and its revocation check as
-- one function, which fails (SQLSTATE SGREV) for a revoked token.  The API
-- sends BEGIN, this call and the request's first statement in one flight
-- (libpq's pipeline mode): when the token is revoked, the error aborts the
-- flight before the statement runs, so a revoked token never reads or writes
-- anything, and the common case costs one round trip instead of two.
create function safeguard.begin_request(p_sub text, p_agency text, p_roles text, p_request_id text, p_jti text)
returns void
language plpgsql
set search_path = safeguard, pg_temp
as $$
begin
	perform set_config('app.sub', p_sub, true), set_config('app.agency', p_agency, true),
	        set_config('app.roles', p_roles, true), set_config('app.request_id', p_request_id, true);
	-- a revocation names the token's agency, or none for every agency
	if p_jti <> '' and exists (select 1 from safeguard.token_revocations
	                           where jti = p_jti and (agency is null or agency = p_agency)) then
		raise exception 'token revoked' using errcode = 'SGREV';
	end if;
end
$$;
revoke all on function safeguard.begin_request(text, text, text, text, text) from public;
grant execute on function safeguard.begin_request(text, text, text, text, text) to safeguard_api;
