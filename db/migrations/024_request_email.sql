-- 024_request_email: the token's email is part of the request's identity,
-- so a line manager's evaluation is bound by row-level security too.
--
-- A line manager is whoever a delegate named on their booking, known only
-- by email.  Until now the API passed the token's email to
-- training_manager_requests and training_managed_booking as a parameter,
-- and 014's policy on manager's evaluations checked only that the booking
-- was someone else's and due: with the API's role, any caller could list
-- any manager's requests (by passing that email) and record any manager's
-- evaluation (and so block the real one).  Here:
--   * begin_request gains the email and sets app.email with app.sub and
--     the others (db.c calls this one); the revocation check is 012's own;
--   * safeguard.app_email() reads it, lower-cased, as the bookings' manager
--     emails have always been compared (lower() on both sides, 008);
--   * a manager's evaluation needs the booking's line manager email to be
--     the caller's; the API's role lists a manager's requests and reads a
--     managed booking through functions that take no email and use
--     app.email, and may no longer call 008's, which take any email.
-- A token without an email sets app.email to '' and is no one's manager.

-- ---- the identity ----------------------------------------------------------------------

create function safeguard.app_email() returns text language sql stable
as $$ select nullif(lower(current_setting('app.email', true)), '') $$;

-- As 012's, and the email: set before the revocation check, which is 012's
-- function itself (a revoked token fails this call with SGREV the same way).
create function safeguard.begin_request(p_sub text, p_agency text, p_roles text, p_request_id text, p_jti text,
	p_email text)
returns void
language plpgsql
set search_path = safeguard, pg_temp
as $$
begin
	perform set_config('app.email', lower(coalesce(p_email, '')), true);
	perform safeguard.begin_request(p_sub, p_agency, p_roles, p_request_id, p_jti);
end
$$;
revoke all on function safeguard.begin_request(text, text, text, text, text, text) from public;
grant execute on function safeguard.begin_request(text, text, text, text, text, text) to safeguard_api;

-- ---- the manager's evaluation ------------------------------------------------------------

-- The two functions that take the email (008's) stay, for their owner
-- only: the API's role calls these, which pass the caller's own.
revoke all on function safeguard.training_manager_requests(text) from public;
revoke all on function safeguard.training_managed_booking(uuid, text) from public;

-- Evaluations the caller is asked for as a line manager (008's
-- training_manager_requests, for app.email).
create function safeguard.training_manager_requests()
returns table (booking_id uuid, delegate_name text, course_title text, session_ends_at text, due_from text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$ select * from safeguard.training_manager_requests(safeguard.app_email()) $$;

-- The booking a manager's evaluation is about, when the caller's email is
-- its line manager's: (status, due, due_from) or no row (008's, for app.email).
create function safeguard.training_managed_booking(booking uuid)
returns table (status text, due boolean, due_from text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$ select * from safeguard.training_managed_booking(booking, safeguard.app_email()) $$;

-- As 014's, and a manager's evaluation is the named line manager's: the
-- caller's email is the one on the booking (the booking is one the caller
-- manages, above).  014's policy on inserting an evaluation
-- (training_evaluations_create) tests this function, as does the API's
-- insert, so both hold the new condition.
create or replace function safeguard.training_may_evaluate(booking uuid, respondent text) returns boolean
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select case respondent
	       when 'delegate' then exists (select 1 from safeguard.training_bookings b
	                                    where b.id = booking and b.status = 'attended'
	                                      and b.delegate_sub = safeguard.app_sub())
	       when 'manager' then exists (select 1 from safeguard.training_managed_booking(booking) m
	                                   join safeguard.training_bookings b on b.id = booking
	                                   where m.status = 'attended' and m.due
	                                     and b.delegate_sub <> safeguard.app_sub())
	       else false end
$$;
