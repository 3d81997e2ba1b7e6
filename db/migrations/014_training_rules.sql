-- 014_training_rules: the training rules held by the database too, not only
-- by the handlers (findings of a hostile review of 008).
--
-- Row-level security is the second line: a statement run as the API's role
-- with a person's identity (app.sub, app.agency, app.roles) may do what that
-- person may do through the API, and nothing more.  008's policies checked
-- only whose row it was, so with a delegate's identity one could book a
-- seven-minute briefing as a practitioner, a draft course or a closed,
-- cancelled or started session; rewrite one's own booking (its session, its
-- agency, attended or no_show back to cancelled, a late cancellation as a
-- free one); raise a charge of any amount on a colleague's booking as their
-- agency's lead; record anyone's evaluation of anyone's booking (and so
-- block the real one); and record completing a course that is not
-- e-learning, or not published, at any date.  Here:
--   * a new booking must be one the API would make: the session scheduled
--     and open, the course published, the caller in its audience, the next
--     place in the queue, confirmed exactly when a place is free;
--   * a delegate's change to their own booking is a cancellation and only
--     that (a trigger: policies cannot compare a row with its old version),
--     and a late cancellation or a no-show never commits without its charge;
--   * a delegate raises only the late-cancellation charge of their own
--     late-cancelled booking, at the deployment's terms, outstanding;
--   * evaluations follow attendance: the delegate's own, or a manager's of
--     someone else's attended booking once it is due;
--   * completions: published e-learning within the audience, not in the
--     future nor before the course existed.
-- Training admins keep what 008 gave them.
--
-- Also: the link of an online session is shown only to those who hold a
-- place in it and to training admins (008 showed it to every reader of the
-- catalogue, so anyone could join a full webinar without a place); and the
-- session lock also holds the course (FOR SHARE), so a course changed while
-- a booking is in flight cannot make the booking's own checks disagree.

-- ---- who may book -------------------------------------------------------------------

-- Whether the caller's roles or agency are in a course's audience (an empty
-- list admits everyone), as training_audience_refusal decides in the API.
create function safeguard.training_in_audience(roles text[], agencies text[]) returns boolean
language sql stable
as $$
	select (cardinality(roles) = 0
	        or roles && string_to_array(coalesce(current_setting('app.roles', true), ''), ','))
	   and (cardinality(agencies) = 0 or safeguard.app_agency() = any (agencies))
$$;

-- Whether the caller may make this booking now: what bookings_create checks
-- under the session's lock, checked again on the row itself.
create function safeguard.training_may_book(session uuid, status text, seq integer) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	ok boolean;
begin
	select s.status = 'scheduled' and c.status = 'published' and now() < s.booking_closes_at and now() < s.starts_at
	       and safeguard.training_in_audience(c.audience_roles, c.audience_agencies)
	       and seq = n.next_seq
	       and training_may_book.status = case when n.taken < s.capacity then 'confirmed' else 'waitlisted' end
	  into ok
	  from safeguard.training_sessions s join safeguard.training_courses c on c.id = s.course_id
	 cross join lateral (select count(*) filter (where safeguard.training_holds_place(b.status)) as taken,
	                            coalesce(max(b.queue_seq), 0) + 1 as next_seq
	                       from safeguard.training_bookings b where b.session_id = s.id) n
	 where s.id = session;
	return coalesce(ok, false);
end
$$;

drop policy training_bookings_create on safeguard.training_bookings;
create policy training_bookings_create on safeguard.training_bookings for insert to safeguard_api
	with check (delegate_sub = safeguard.app_sub() and delegate_agency = safeguard.app_agency()
	            and status in ('confirmed', 'waitlisted') and promoted_at is null and cancelled_by is null
	            and cancellation_reason is null and attendance_marked_by is null and version = 1
	            and created_at >= now() and updated_at >= now()
	            and safeguard.training_may_book(session_id, status, queue_seq));

-- ---- what a delegate may change -------------------------------------------------------

-- A delegate (the API's role, not a training admin) changes their booking
-- only by cancelling it while it is live and the session has not started:
-- late_cancelled exactly when a confirmed place is given up past the free
-- cut-off, and nothing but the cancellation's own columns.  Promotions run
-- in training_promote as the owner, migrations and tests as the admin: this
-- holds only the API's role.
create function safeguard.training_bookings_guard() returns trigger
language plpgsql set search_path = safeguard, pg_temp
as $$
declare
	starts timestamptz;
	due text;
begin
	if current_user <> 'safeguard_api' or safeguard.app_has_role('training_admin') then
		return new;
	end if;
	select s.starts_at into starts from safeguard.training_sessions s where s.id = old.session_id;
	-- the status the terms give this cancellation now
	due := case when old.status = 'confirmed' and now() >= safeguard.training_free_cancellation_until(starts)
	            then 'late_cancelled' else 'cancelled' end;
	if old.status not in ('confirmed', 'waitlisted') or now() >= starts or new.status is distinct from due
	   or new.cancelled_by is distinct from safeguard.app_sub()
	   or (new.id, new.session_id, new.delegate_sub, new.delegate_name, new.delegate_email, new.delegate_agency,
	       new.line_manager_name, new.line_manager_email, new.queue_seq, new.promoted_at,
	       new.attendance_marked_at, new.attendance_marked_by, new.created_at)
	      is distinct from
	      (old.id, old.session_id, old.delegate_sub, old.delegate_name, old.delegate_email, old.delegate_agency,
	       old.line_manager_name, old.line_manager_email, old.queue_seq, old.promoted_at,
	       old.attendance_marked_at, old.attendance_marked_by, old.created_at) then
		raise exception 'row-level security of training_bookings: a delegate changes their own booking only by cancelling it, as the terms say'
			using errcode = 'insufficient_privilege';
	end if;
	return new;
end
$$;
create trigger training_bookings_guard before update on safeguard.training_bookings
	for each row execute function safeguard.training_bookings_guard();

-- ---- charges ------------------------------------------------------------------------------
-- A booking late-cancelled or marked no_show carries its charge (waived or
-- withdrawn later, but there), whatever path changed it: checked at commit,
-- after the statement that raises the charge, on the row as it is then.
create function safeguard.training_bookings_charged() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if exists (select 1 from safeguard.training_bookings b where b.id = new.id and b.status in ('late_cancelled', 'no_show'))
	   and not exists (select 1 from safeguard.training_charges ch where ch.booking_id = new.id) then
		raise exception 'training booking % is late_cancelled or no_show without its charge', new.id
			using errcode = 'check_violation';
	end if;
	return null;
end
$$;
create constraint trigger training_bookings_charged after insert or update of status on safeguard.training_bookings
	deferrable initially deferred for each row execute function safeguard.training_bookings_charged();


drop policy training_charges_create on safeguard.training_charges;
create policy training_charges_create on safeguard.training_charges for insert to safeguard_api
	with check (raised_by = safeguard.app_sub()
	            and (safeguard.app_has_role('training_admin')
	                 or (reason = 'late_cancellation' and status = 'outstanding' and raised_at >= now()
	                     and waived_at is null and waived_by is null and waiver_reason is null
	                     and withdrawn_at is null and withdrawn_reason is null
	                     and (amount_pence, currency) = (select t.charge_pence, t.currency from safeguard.training_settings t)
	                     and exists (select 1 from safeguard.training_bookings b
	                                 where b.id = booking_id and b.delegate_sub = safeguard.app_sub()
	                                   and b.status = 'late_cancelled'))));

-- ---- evaluations --------------------------------------------------------------------------

-- Whether the caller may give this evaluation of the booking: the delegate's
-- of their own attended booking; a manager's of another person's attended
-- booking once the set time has passed.  (That the caller is the manager
-- named on it is the API's check: the database does not hold the token's
-- email.)
create function safeguard.training_may_evaluate(booking uuid, respondent text) returns boolean
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select exists (
		select 1 from safeguard.training_bookings b
		join safeguard.training_sessions s on s.id = b.session_id
		cross join safeguard.training_settings t
		where b.id = booking and b.status = 'attended'
		  and case respondent
		      when 'delegate' then b.delegate_sub = safeguard.app_sub()
		      when 'manager' then b.delegate_sub <> safeguard.app_sub() and now() >= s.ends_at + t.manager_evaluation_after
		      else false end)
$$;

drop policy training_evaluations_create on safeguard.training_evaluations;
create policy training_evaluations_create on safeguard.training_evaluations for insert to safeguard_api
	with check (respondent_sub = safeguard.app_sub() and submitted_at >= now()
	            and safeguard.training_may_evaluate(booking_id, respondent));

-- ---- completions --------------------------------------------------------------------------

-- Whether the caller may record completing the course at that time: what
-- completions_create checks.
create function safeguard.training_may_complete(course uuid, completed timestamptz) returns boolean
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select exists (
		select 1 from safeguard.training_courses c
		where c.id = course and c.status = 'published' and c.format = 'e_learning'
		  and safeguard.training_in_audience(c.audience_roles, c.audience_agencies)
		  and completed <= clock_timestamp() + interval '1 minute'
		  and c.created_at <= completed + interval '1 minute')
$$;

drop policy training_completions_create on safeguard.training_completions;
create policy training_completions_create on safeguard.training_completions for insert to safeguard_api
	with check (delegate_sub = safeguard.app_sub() and delegate_agency = safeguard.app_agency()
	            and created_at >= now() and safeguard.training_may_complete(course_id, completed_at));

-- ---- the session lock holds the course ------------------------------------------------------

-- As 008, and the course's row FOR SHARE: a change to the course (its
-- audience, its status) waits for the booking in flight, so the checks the
-- handler makes and the policy above see the same course.
create or replace function safeguard.training_session_lock(session uuid)
returns table (session_status text, course_status text, format text, audience_roles text[],
	audience_agencies text[], capacity integer, taken integer, waiting integer, next_seq integer,
	closed boolean, started boolean, late boolean)
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
declare
	course uuid;
begin
	select s.course_id into course from safeguard.training_sessions s
	 where s.id = session
	   and (safeguard.training_course_visible(s.course_id)
	        or exists (select 1 from safeguard.training_bookings b
	                   where b.session_id = s.id and safeguard.training_may_see(b.delegate_sub, b.delegate_agency)))
	   for no key update;
	if not found then
		return;
	end if;
	perform 1 from safeguard.training_courses c where c.id = course for share;
	return query
	select s.status, c.status, c.format, c.audience_roles, c.audience_agencies, s.capacity,
	       n.taken, n.waiting, n.next_seq,
	       now() >= s.booking_closes_at, now() >= s.starts_at,
	       now() >= safeguard.training_free_cancellation_until(s.starts_at)
	  from safeguard.training_sessions s join safeguard.training_courses c on c.id = s.course_id
	 cross join lateral (select count(*) filter (where safeguard.training_holds_place(b.status))::integer as taken,
	                            count(*) filter (where b.status = 'waitlisted')::integer as waiting,
	                            coalesce(max(b.queue_seq), 0) + 1 as next_seq
	                       from safeguard.training_bookings b where b.session_id = s.id) n
	 where s.id = session;
end
$$;

-- ---- the meeting link -----------------------------------------------------------------------

-- Whether the caller sees a session's online link: training admins, and
-- whoever holds a place in it (confirmed, or on the register).
create function safeguard.training_link_visible(session uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.app_has_role('training_admin')
	    or exists (select 1 from safeguard.training_bookings b
	               where b.session_id = session and b.delegate_sub = safeguard.app_sub()
	                 and safeguard.training_holds_place(b.status));
end
$$;

create or replace function safeguard.training_session_json(s safeguard.training_sessions) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', s.id, 'course_id', s.course_id, 'course_title', c.title, 'format', c.format,
		'starts_at', safeguard.training_instant(s.starts_at), 'ends_at', safeguard.training_instant(s.ends_at),
		'duration_minutes', (extract(epoch from s.ends_at - s.starts_at) / 60)::integer,
		'mode', s.mode, 'venue', s.venue,
		'online_url', case when safeguard.training_link_visible(s.id) then s.online_url end,
		'capacity', s.capacity,
		'booking_closes_at', safeguard.training_instant(s.booking_closes_at),
		'free_cancellation_until', safeguard.training_instant(safeguard.training_free_cancellation_until(s.starts_at)),
		'status', s.status,
		'booking_open', s.status = 'scheduled' and c.status = 'published' and now() < s.booking_closes_at,
		'places_taken', n.taken, 'places_left', greatest(s.capacity - n.taken, 0), 'waiting', n.waiting,
		'cancelled_at', safeguard.training_instant(s.cancelled_at), 'cancellation_reason', s.cancellation_reason,
		'version', s.version,
		'created_at', safeguard.training_instant(s.created_at),
		'updated_at', safeguard.training_instant(s.updated_at))
	from safeguard.training_courses c, safeguard.training_session_counts(s.id) n
	where c.id = s.course_id
$$;

-- What a booking, charge or certificate says about its session (as 008),
-- with the link when `link` says so.
create function safeguard.training_session_brief(session uuid, link boolean)
returns jsonb
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	out jsonb;
begin
	select jsonb_build_object(
		'id', s.id, 'course_id', c.id, 'course_title', c.title, 'format', c.format, 'organiser', c.organiser,
		'starts_at', safeguard.training_instant(s.starts_at), 'ends_at', safeguard.training_instant(s.ends_at),
		'duration_minutes', (extract(epoch from s.ends_at - s.starts_at) / 60)::integer,
		'mode', s.mode, 'venue', s.venue, 'online_url', case when link then s.online_url end, 'status', s.status,
		'free_cancellation_until', safeguard.training_instant(safeguard.training_free_cancellation_until(s.starts_at)))
	  into out
	  from safeguard.training_sessions s join safeguard.training_courses c on c.id = s.course_id
	 where s.id = session
	   and (c.status = 'published' or safeguard.app_has_role('training_admin')
	        or exists (select 1 from safeguard.training_bookings b
	                   where b.session_id = s.id and safeguard.training_may_see(b.delegate_sub, b.delegate_agency)));
	return out;
end
$$;

create or replace function safeguard.training_session_brief(session uuid)
returns jsonb
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.training_session_brief(session, safeguard.training_link_visible(session));
end
$$;

-- As 008, with the link for the booking's own delegate when it holds a
-- place: decided on the row itself, which the statement that inserts or
-- promotes it cannot yet read back.
create or replace function safeguard.training_booking_json(b safeguard.training_bookings) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', b.id, 'session_id', b.session_id,
		'session', safeguard.training_session_brief(b.session_id, safeguard.training_link_visible(b.session_id)
		           or (b.delegate_sub = safeguard.app_sub() and safeguard.training_holds_place(b.status))),
		'delegate', jsonb_build_object('sub', b.delegate_sub, 'name', b.delegate_name, 'email', b.delegate_email,
		                               'agency', b.delegate_agency),
		'line_manager', jsonb_build_object('name', b.line_manager_name, 'email', b.line_manager_email),
		'status', b.status,
		'waitlist_position', case when b.status = 'waitlisted'
		                          then safeguard.training_waitlist_position(b.session_id, b.queue_seq) end,
		'promoted', b.promoted_at is not null, 'promoted_at', safeguard.training_instant(b.promoted_at),
		'cancelled_at', safeguard.training_instant(b.cancelled_at), 'cancelled_by', b.cancelled_by,
		'cancellation_reason', b.cancellation_reason,
		'attendance_marked_at', safeguard.training_instant(b.attendance_marked_at),
		'charge', (select jsonb_build_object('id', ch.id, 'reason', ch.reason, 'amount_pence', ch.amount_pence,
		                                     'currency', ch.currency, 'status', ch.status)
		           from safeguard.training_charges ch where ch.booking_id = b.id),
		'certificate_number', (select ce.number from safeguard.training_certificates ce
		                       where ce.booking_id = b.id and ce.revoked_at is null),
		'version', b.version,
		'created_at', safeguard.training_instant(b.created_at),
		'updated_at', safeguard.training_instant(b.updated_at))
$$;
