-- 008_training: the partnership's training system.  Courses (e-learning,
-- webinars, seven-minute briefings for designated safeguarding leads,
-- learning events from case reviews), their sessions, bookings with a
-- waiting list, cancellations, the register, non-attendance charges,
-- certificates, e-learning completions and evaluations.
--
-- Races are settled here, not in a worker: every booking, cancellation and
-- promotion in a session first locks the session's row (FOR NO KEY UPDATE,
-- through training_session_lock or training_promote), so places and
-- waiting-list positions are decided one at a time, and a trigger checks
-- again, under the same lock, that no session ever holds more places than
-- its capacity.  The waiting list is the arrival order (queue_seq, unique
-- per session); a position is that order's rank among those still waiting,
-- so positions can neither skip nor repeat.
--
-- These rows hold staff personal data, not children's: delegates see their
-- own, an agency's safeguarding lead sees that agency's, training admins see
-- all.  Like 002, the tables have RLS enabled but not forced, so the few
-- SECURITY DEFINER functions below (locks, counts, promotions) can see the
-- whole session while the API role only ever sees what the policies allow.

-- ---- terms of the deployment ---------------------------------------------------

-- One row: the partnership's published terms.  A deployment changes them
-- with SQL (see README.md, "Training terms"); the API only reads them.
create table safeguard.training_settings (
	singleton boolean primary key default true check (singleton),
	-- the cut-off counts calendar days in this zone
	time_zone text not null default 'Europe/London',
	cancellation_cutoff_days integer not null default 6 check (cancellation_cutoff_days between 0 and 90),
	charge_pence integer not null default 5000 check (charge_pence between 0 and 1000000),
	currency text not null default 'GBP' check (currency ~ '^[A-Z]{3}$'),
	manager_evaluation_after interval not null default '3 months' check (manager_evaluation_after >= interval '0'),
	certificate_prefix text not null default 'SGP' check (certificate_prefix ~ '^[A-Z]{2,8}$')
);

create function safeguard.training_settings_check() returns trigger language plpgsql
as $$
begin
	-- an unknown zone raises here rather than in the middle of a booking
	perform now() at time zone new.time_zone;
	return new;
end
$$;
create trigger training_settings_check before insert or update on safeguard.training_settings
	for each row execute function safeguard.training_settings_check();
insert into safeguard.training_settings default values;

alter table safeguard.training_settings enable row level security;
create policy training_settings_read on safeguard.training_settings for select to safeguard_api using (true);
grant select on safeguard.training_settings to safeguard_api;

-- ---- tables ------------------------------------------------------------------------

create table safeguard.training_courses (
	id uuid primary key,
	title text not null check (length(title) between 1 and 200),
	description text not null default '' check (length(description) <= 5000),
	format text not null check (format in ('e_learning', 'webinar', 'seven_minute_briefing', 'learning_event')),
	organiser text not null check (length(organiser) between 1 and 200),
	-- who may book: empty means every role (agency)
	audience_roles text[] not null default '{}' check (audience_roles <@ array['practitioner', 'safeguarding_lead',
		'social_worker', 'panel_chair', 'panel_member', 'training_admin', 'auditor', 'admin']),
	audience_agencies text[] not null default '{}' check (audience_agencies <@ array['csc', 'police', 'health',
		'mental_health', 'education', 'youth_justice', 'district', 'voluntary', 'partnership']),
	-- {title, reference, published_on, url}: the review whose lessons it carries
	case_review jsonb check (case_review is null or jsonb_typeof(case_review) = 'object'),
	duration_minutes integer check (duration_minutes between 1 and 1440),
	status text not null default 'draft' check (status in ('draft', 'published', 'retired')),
	published_at timestamptz,
	retired_at timestamptz,
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	updated_at timestamptz not null default clock_timestamp(),
	created_by text not null,
	-- seven-minute briefings are for designated safeguarding leads
	check (format <> 'seven_minute_briefing' or audience_roles = '{safeguarding_lead}'),
	check (format <> 'learning_event' or case_review is not null),
	check (format <> 'e_learning' or duration_minutes is not null),
	check (status <> 'draft' or published_at is null),
	check (status <> 'published' or published_at is not null),
	check ((status = 'retired') = (retired_at is not null))
);
create index training_courses_page on safeguard.training_courses (created_at, id);

create table safeguard.training_sessions (
	id uuid primary key,
	course_id uuid not null references safeguard.training_courses (id),
	starts_at timestamptz not null,
	ends_at timestamptz not null,
	mode text not null check (mode in ('online', 'venue')),
	venue jsonb check (venue is null or jsonb_typeof(venue) = 'object'),
	online_url text check (length(online_url) between 1 and 500),
	capacity integer not null check (capacity between 1 and 5000),
	booking_closes_at timestamptz not null,
	status text not null default 'scheduled' check (status in ('scheduled', 'cancelled')),
	cancelled_at timestamptz,
	cancelled_by text,
	cancellation_reason text check (length(cancellation_reason) between 1 and 1000),
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	updated_at timestamptz not null default clock_timestamp(),
	created_by text not null,
	check (ends_at > starts_at and ends_at <= starts_at + interval '24 hours'),
	check (booking_closes_at <= starts_at),
	check ((mode = 'venue') = (venue is not null)),
	check ((status = 'cancelled') = (cancelled_at is not null and cancellation_reason is not null))
);
create index training_sessions_course on safeguard.training_sessions (course_id, starts_at, id);

-- Statuses that hold one of the session's places.
create function safeguard.training_holds_place(status text) returns boolean language sql immutable
as $$ select status in ('confirmed', 'attended', 'no_show') $$;

create table safeguard.training_bookings (
	id uuid primary key,
	session_id uuid not null references safeguard.training_sessions (id),
	-- the delegate, from their own token: no shared accounts
	delegate_sub text not null check (length(delegate_sub) between 1 and 200),
	delegate_name text not null check (length(delegate_name) between 1 and 200),
	delegate_email text not null check (length(delegate_email) between 3 and 200),
	delegate_agency text not null references safeguard.agencies (code),
	line_manager_name text not null check (length(line_manager_name) between 1 and 200),
	line_manager_email text not null check (length(line_manager_email) between 3 and 200),
	status text not null check (status in ('confirmed', 'waitlisted', 'cancelled', 'late_cancelled',
		'session_cancelled', 'attended', 'no_show')),
	-- arrival order in the session: the waiting list's order
	queue_seq integer not null check (queue_seq > 0),
	promoted_at timestamptz,
	cancelled_at timestamptz,
	cancelled_by text,
	cancellation_reason text check (length(cancellation_reason) <= 1100),
	attendance_marked_at timestamptz,
	attendance_marked_by text,
	version integer not null default 1,
	created_at timestamptz not null default clock_timestamp(),
	updated_at timestamptz not null default clock_timestamp(),
	unique (session_id, queue_seq),
	check ((status in ('cancelled', 'late_cancelled', 'session_cancelled')) = (cancelled_at is not null)),
	check ((status in ('attended', 'no_show')) = (attendance_marked_at is not null))
);
-- one active booking per person per session
create unique index training_bookings_one_active on safeguard.training_bookings (session_id, delegate_sub)
	where status in ('confirmed', 'waitlisted', 'attended', 'no_show');
create index training_bookings_waiting on safeguard.training_bookings (session_id, queue_seq) where status = 'waitlisted';
create index training_bookings_delegate on safeguard.training_bookings (delegate_sub, created_at, id);
create index training_bookings_page on safeguard.training_bookings (created_at, id);
create index training_bookings_agency on safeguard.training_bookings (delegate_agency, created_at, id);
create index training_bookings_manager on safeguard.training_bookings (lower(line_manager_email)) where status = 'attended';

-- Non-attendance charges: a late cancellation or a no-show, recovered
-- through the line manager; waived by a training admin with a reason, or
-- withdrawn when the register is corrected or the session cancelled.
create table safeguard.training_charges (
	id uuid primary key,
	booking_id uuid not null unique references safeguard.training_bookings (id),
	reason text not null check (reason in ('late_cancellation', 'no_show')),
	amount_pence integer not null check (amount_pence >= 0),
	currency text not null check (currency ~ '^[A-Z]{3}$'),
	status text not null default 'outstanding' check (status in ('outstanding', 'waived', 'withdrawn')),
	raised_at timestamptz not null default clock_timestamp(),
	raised_by text not null,
	waived_at timestamptz,
	waived_by text,
	waiver_reason text check (length(waiver_reason) between 1 and 1000),
	withdrawn_at timestamptz,
	withdrawn_reason text,
	check ((status = 'waived') = (waived_at is not null and waiver_reason is not null)),
	check ((status = 'withdrawn') = (withdrawn_at is not null))
);
create index training_charges_page on safeguard.training_charges (raised_at, id);

create sequence safeguard.training_certificate_numbers;
create table safeguard.training_certificates (
	number text primary key check (number ~ '^[A-Z]{2,8}-[0-9]{4}-[0-9]{6,}$'),
	booking_id uuid not null unique references safeguard.training_bookings (id),
	issued_at timestamptz not null default clock_timestamp(),
	-- a register corrected to no_show revokes it; the number is never reused
	revoked_at timestamptz
);

create table safeguard.training_completions (
	id uuid primary key,
	course_id uuid not null references safeguard.training_courses (id),
	delegate_sub text not null check (length(delegate_sub) between 1 and 200),
	delegate_name text not null check (length(delegate_name) between 1 and 200),
	delegate_email text not null check (length(delegate_email) between 3 and 200),
	delegate_agency text not null references safeguard.agencies (code),
	completed_at timestamptz not null,
	created_at timestamptz not null default clock_timestamp(),
	unique (course_id, delegate_sub)
);
create index training_completions_page on safeguard.training_completions (created_at, id);

create table safeguard.training_evaluations (
	id uuid primary key,
	booking_id uuid not null references safeguard.training_bookings (id),
	respondent text not null check (respondent in ('delegate', 'manager')),
	respondent_sub text not null,
	rating integer not null check (rating between 1 and 5),
	comments text check (length(comments) <= 2000),
	submitted_at timestamptz not null default clock_timestamp(),
	unique (booking_id, respondent)
);

-- ---- who sees whom --------------------------------------------------------------------

-- May the caller see a delegate's records?  Their own; their agency's as its
-- safeguarding lead; everyone's as a training admin.  Inlined into the
-- policies and the lists' own conditions.
create function safeguard.training_may_see(sub text, agency text) returns boolean language sql stable
as $$
	select sub = safeguard.app_sub() or safeguard.app_has_role('training_admin')
	    or (agency = safeguard.app_agency() and safeguard.app_has_role('safeguarding_lead'))
$$;

create function safeguard.training_booking_visible(booking uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return exists (select 1 from safeguard.training_bookings b
	               where b.id = booking and safeguard.training_may_see(b.delegate_sub, b.delegate_agency));
end
$$;

-- The catalogue: published courses for everyone, every course for admins.
create function safeguard.training_course_visible(course uuid) returns boolean
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return safeguard.app_has_role('training_admin')
	    or exists (select 1 from safeguard.training_courses c where c.id = course and c.status = 'published');
end
$$;

alter table safeguard.training_courses enable row level security;
create policy training_courses_read on safeguard.training_courses for select to safeguard_api
	using (status = 'published' or safeguard.app_has_role('training_admin'));
create policy training_courses_create on safeguard.training_courses for insert to safeguard_api
	with check (safeguard.app_has_role('training_admin') and created_by = safeguard.app_sub());
create policy training_courses_update on safeguard.training_courses for update to safeguard_api
	using (safeguard.app_has_role('training_admin')) with check (safeguard.app_has_role('training_admin'));
grant select, insert, update on safeguard.training_courses to safeguard_api;

alter table safeguard.training_sessions enable row level security;
create policy training_sessions_read on safeguard.training_sessions for select to safeguard_api
	using (safeguard.training_course_visible(course_id));
create policy training_sessions_create on safeguard.training_sessions for insert to safeguard_api
	with check (safeguard.app_has_role('training_admin') and created_by = safeguard.app_sub());
create policy training_sessions_update on safeguard.training_sessions for update to safeguard_api
	using (safeguard.app_has_role('training_admin')) with check (safeguard.app_has_role('training_admin'));
grant select, insert, update on safeguard.training_sessions to safeguard_api;

alter table safeguard.training_bookings enable row level security;
create policy training_bookings_read on safeguard.training_bookings for select to safeguard_api
	using (safeguard.training_may_see(delegate_sub, delegate_agency));
-- a delegate books for themselves only, and a new booking holds a place or waits
create policy training_bookings_create on safeguard.training_bookings for insert to safeguard_api
	with check (delegate_sub = safeguard.app_sub() and delegate_agency = safeguard.app_agency()
	            and status in ('confirmed', 'waitlisted'));
-- the delegate cancels their own; training admins run the register and the sessions
create policy training_bookings_update on safeguard.training_bookings for update to safeguard_api
	using (delegate_sub = safeguard.app_sub() or safeguard.app_has_role('training_admin'))
	with check (safeguard.app_has_role('training_admin')
	            or (delegate_sub = safeguard.app_sub() and status in ('cancelled', 'late_cancelled')));
grant select, insert, update on safeguard.training_bookings to safeguard_api;

alter table safeguard.training_charges enable row level security;
create policy training_charges_read on safeguard.training_charges for select to safeguard_api
	using (safeguard.app_has_role('training_admin') or safeguard.training_booking_visible(booking_id));
-- a late cancellation raises the delegate's own charge; the register raises no-shows
create policy training_charges_create on safeguard.training_charges for insert to safeguard_api
	with check (raised_by = safeguard.app_sub()
	            and (safeguard.app_has_role('training_admin')
	                 or (reason = 'late_cancellation' and safeguard.training_booking_visible(booking_id))));
create policy training_charges_update on safeguard.training_charges for update to safeguard_api
	using (safeguard.app_has_role('training_admin')) with check (safeguard.app_has_role('training_admin'));
grant select, insert, update on safeguard.training_charges to safeguard_api;

alter table safeguard.training_certificates enable row level security;
create policy training_certificates_read on safeguard.training_certificates for select to safeguard_api
	using (safeguard.app_has_role('training_admin') or safeguard.training_booking_visible(booking_id));
create policy training_certificates_issue on safeguard.training_certificates for insert to safeguard_api
	with check (safeguard.app_has_role('training_admin'));
create policy training_certificates_revoke on safeguard.training_certificates for update to safeguard_api
	using (safeguard.app_has_role('training_admin')) with check (safeguard.app_has_role('training_admin'));
grant select, insert, update on safeguard.training_certificates to safeguard_api;
grant usage on sequence safeguard.training_certificate_numbers to safeguard_api;

alter table safeguard.training_completions enable row level security;
create policy training_completions_read on safeguard.training_completions for select to safeguard_api
	using (safeguard.training_may_see(delegate_sub, delegate_agency));
create policy training_completions_create on safeguard.training_completions for insert to safeguard_api
	with check (delegate_sub = safeguard.app_sub() and delegate_agency = safeguard.app_agency());
grant select, insert on safeguard.training_completions to safeguard_api;

alter table safeguard.training_evaluations enable row level security;
create policy training_evaluations_read on safeguard.training_evaluations for select to safeguard_api
	using (respondent_sub = safeguard.app_sub() or safeguard.training_booking_visible(booking_id));
create policy training_evaluations_create on safeguard.training_evaluations for insert to safeguard_api
	with check (respondent_sub = safeguard.app_sub());
grant select, insert on safeguard.training_evaluations to safeguard_api;

-- ---- places and the waiting list ---------------------------------------------------------

-- Places taken and people waiting in a session (whoever booked them).
create function safeguard.training_session_counts(session uuid, out taken integer, out waiting integer)
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	select count(*) filter (where safeguard.training_holds_place(b.status)),
	       count(*) filter (where b.status = 'waitlisted')
	  into taken, waiting
	  from safeguard.training_bookings b where b.session_id = session;
end
$$;

-- A waiting booking's place in the queue: one more than those still waiting
-- ahead of it (counted without the booking itself, so that the statement
-- that inserts it can already say where it stands).
create function safeguard.training_waitlist_position(session uuid, seq integer) returns integer
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
begin
	return 1 + (select count(*) from safeguard.training_bookings b
	            where b.session_id = session and b.status = 'waitlisted' and b.queue_seq < seq);
end
$$;

-- Locks a session for a booking, a cancellation or the register, and
-- returns what the handler decides on, counted after the lock was granted
-- (a VOLATILE function's statements each take a fresh snapshot, so the
-- counts include everything committed by whoever held the lock before).
-- No row when the caller may see neither the course nor a booking in it.
-- `late`: a cancellation now would be past the free cut-off.
create function safeguard.training_session_lock(session uuid)
returns table (session_status text, course_status text, format text, audience_roles text[],
	audience_agencies text[], capacity integer, taken integer, waiting integer, next_seq integer,
	closed boolean, started boolean, late boolean)
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
begin
	perform 1 from safeguard.training_sessions s
	 where s.id = session
	   and (safeguard.training_course_visible(s.course_id)
	        or exists (select 1 from safeguard.training_bookings b
	                   where b.session_id = s.id and safeguard.training_may_see(b.delegate_sub, b.delegate_agency)))
	   for no key update;
	if not found then
		return;
	end if;
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

-- Fills a session's free places from the head of its waiting list, in
-- order, under the session's lock; returns the bookings it promoted.  Only
-- a scheduled session that has not started promotes anyone.
create function safeguard.training_promote(session uuid) returns setof uuid
language plpgsql volatile security definer set search_path = safeguard, pg_temp
as $$
declare
	cap integer;
	st text;
	starts timestamptz;
	free integer;
	promoted uuid;
begin
	select s.capacity, s.status, s.starts_at into cap, st, starts
	  from safeguard.training_sessions s where s.id = session for no key update;
	if not found or st <> 'scheduled' or now() >= starts then
		return;
	end if;
	select cap - count(*) into free from safeguard.training_bookings b
	 where b.session_id = session and safeguard.training_holds_place(b.status);
	while free > 0 loop
		promoted := null;
		update safeguard.training_bookings set status = 'confirmed', promoted_at = clock_timestamp(),
		       version = version + 1, updated_at = clock_timestamp()
		 where id = (select b.id from safeguard.training_bookings b
		              where b.session_id = session and b.status = 'waitlisted' order by b.queue_seq limit 1)
		returning id into promoted;
		exit when promoted is null;
		free := free - 1;
		return next promoted;
	end loop;
end
$$;

-- The database's own guard on capacity, whatever path wrote the row: a
-- booking that comes to hold a place takes the session's lock and counts
-- again.  (The handlers hold the lock already, so this never waits there.)
create function safeguard.training_bookings_capacity() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
declare
	cap integer;
	taken integer;
begin
	if not safeguard.training_holds_place(new.status)
	   or (tg_op = 'UPDATE' and safeguard.training_holds_place(old.status)) then
		return null;
	end if;
	select s.capacity into cap from safeguard.training_sessions s where s.id = new.session_id for no key update;
	select count(*) into taken from safeguard.training_bookings b
	 where b.session_id = new.session_id and safeguard.training_holds_place(b.status);
	if taken > cap then
		raise exception 'training session % would hold % places of %', new.session_id, taken, cap
			using errcode = 'check_violation';
	end if;
	return null;
end
$$;
create trigger training_bookings_capacity after insert or update of status on safeguard.training_bookings
	for each row execute function safeguard.training_bookings_capacity();

-- A session's capacity never drops below the places already taken.
create function safeguard.training_sessions_capacity() returns trigger
language plpgsql security definer set search_path = safeguard, pg_temp
as $$
begin
	if new.capacity < old.capacity and new.capacity < (select count(*) from safeguard.training_bookings b
	        where b.session_id = new.id and safeguard.training_holds_place(b.status)) then
		raise exception 'training session % has more places taken than %', new.id, new.capacity
			using errcode = 'check_violation';
	end if;
	return new;
end
$$;
create trigger training_sessions_capacity before update of capacity on safeguard.training_sessions
	for each row execute function safeguard.training_sessions_capacity();

-- ---- terms ------------------------------------------------------------------------------------

-- The last instant a booking of a session starting at `starts` may be
-- cancelled without charge: the cut-off counts whole calendar days in the
-- deployment's zone, so with 6 days a session on the 20th may be cancelled
-- free until the end of the 14th, local time, whatever the clocks did.
create function safeguard.training_free_cancellation_until(starts timestamptz) returns timestamptz
language sql stable
as $$
	select (((starts at time zone t.time_zone)::date - (t.cancellation_cutoff_days - 1))::timestamp)
	       at time zone t.time_zone
	from safeguard.training_settings t
$$;

-- ---- as the API shows them -----------------------------------------------------------------

create function safeguard.training_instant(t timestamptz) returns text language sql stable
as $$ select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

create function safeguard.training_course_json(c safeguard.training_courses) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', c.id, 'title', c.title, 'description', c.description, 'format', c.format,
		'organiser', c.organiser,
		'audience', jsonb_build_object('roles', to_jsonb(c.audience_roles), 'agencies', to_jsonb(c.audience_agencies)),
		'case_review', c.case_review, 'duration_minutes', c.duration_minutes, 'status', c.status,
		'published_at', safeguard.training_instant(c.published_at),
		'retired_at', safeguard.training_instant(c.retired_at),
		'version', c.version,
		'created_at', safeguard.training_instant(c.created_at),
		'updated_at', safeguard.training_instant(c.updated_at))
$$;

create function safeguard.training_session_json(s safeguard.training_sessions) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', s.id, 'course_id', s.course_id, 'course_title', c.title, 'format', c.format,
		'starts_at', safeguard.training_instant(s.starts_at), 'ends_at', safeguard.training_instant(s.ends_at),
		'duration_minutes', (extract(epoch from s.ends_at - s.starts_at) / 60)::integer,
		'mode', s.mode, 'venue', s.venue, 'online_url', s.online_url, 'capacity', s.capacity,
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

-- What a booking, a charge or a certificate says about its session: the
-- catalogue's facts (no one's personal data), shown to whoever may see the
-- booking even when the course has since been retired.
create function safeguard.training_session_brief(session uuid) returns jsonb
language plpgsql stable security definer set search_path = safeguard, pg_temp
as $$
declare
	out jsonb;
begin
	select jsonb_build_object(
		'id', s.id, 'course_id', c.id, 'course_title', c.title, 'format', c.format, 'organiser', c.organiser,
		'starts_at', safeguard.training_instant(s.starts_at), 'ends_at', safeguard.training_instant(s.ends_at),
		'duration_minutes', (extract(epoch from s.ends_at - s.starts_at) / 60)::integer,
		'mode', s.mode, 'venue', s.venue, 'online_url', s.online_url, 'status', s.status,
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

create function safeguard.training_booking_json(b safeguard.training_bookings) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', b.id, 'session_id', b.session_id, 'session', safeguard.training_session_brief(b.session_id),
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

create function safeguard.training_charge_json(ch safeguard.training_charges) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', ch.id, 'booking_id', ch.booking_id, 'reason', ch.reason, 'amount_pence', ch.amount_pence,
		'currency', ch.currency, 'status', ch.status,
		'raised_at', safeguard.training_instant(ch.raised_at),
		'waived_at', safeguard.training_instant(ch.waived_at), 'waived_by', ch.waived_by,
		'waiver_reason', ch.waiver_reason,
		'withdrawn_at', safeguard.training_instant(ch.withdrawn_at), 'withdrawn_reason', ch.withdrawn_reason,
		'delegate', jsonb_build_object('sub', b.delegate_sub, 'name', b.delegate_name, 'email', b.delegate_email,
		                               'agency', b.delegate_agency),
		'line_manager', jsonb_build_object('name', b.line_manager_name, 'email', b.line_manager_email),
		'session', safeguard.training_session_brief(b.session_id))
	from safeguard.training_bookings b where b.id = ch.booking_id
$$;

create function safeguard.training_completion_json(x safeguard.training_completions) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', x.id, 'course_id', x.course_id,
		'course_title', (select c.title from safeguard.training_courses c where c.id = x.course_id),
		'delegate', jsonb_build_object('sub', x.delegate_sub, 'name', x.delegate_name, 'email', x.delegate_email,
		                               'agency', x.delegate_agency),
		'completed_at', safeguard.training_instant(x.completed_at),
		'created_at', safeguard.training_instant(x.created_at))
$$;

create function safeguard.training_evaluation_json(e safeguard.training_evaluations) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'id', e.id, 'booking_id', e.booking_id, 'respondent', e.respondent, 'rating', e.rating,
		'comments', e.comments, 'submitted_at', safeguard.training_instant(e.submitted_at))
$$;

-- The certificate of an attended booking: what the PDF and the JSON show.
create function safeguard.training_certificate_json(ce safeguard.training_certificates) returns jsonb language sql stable
as $$
	select jsonb_build_object(
		'number', ce.number, 'booking_id', ce.booking_id, 'valid', ce.revoked_at is null,
		'issued_at', safeguard.training_instant(ce.issued_at),
		'revoked_at', safeguard.training_instant(ce.revoked_at),
		'delegate_name', b.delegate_name, 'delegate_agency', b.delegate_agency,
		'course_title', x->>'course_title', 'format', x->>'format', 'organiser', x->>'organiser',
		'session_date', to_char(s.starts_at at time zone t.time_zone, 'YYYY-MM-DD'),
		'starts_at', x->>'starts_at', 'ends_at', x->>'ends_at',
		'duration_minutes', (x->>'duration_minutes')::integer)
	from safeguard.training_bookings b
	join safeguard.training_sessions s on s.id = b.session_id
	cross join safeguard.training_settings t
	cross join lateral (select safeguard.training_session_brief(b.session_id) as x) brief
	where b.id = ce.booking_id
$$;

-- Evaluations a line manager is asked for: attended bookings that name the
-- caller's email as the line manager, once the set time has passed since
-- the session and while no manager's evaluation is in.  The email is the
-- verified token's; the delegates' details are shown to their own manager.
create function safeguard.training_manager_requests(email text)
returns table (booking_id uuid, delegate_name text, course_title text, session_ends_at text, due_from text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select b.id, b.delegate_name, c.title, safeguard.training_instant(s.ends_at),
	       safeguard.training_instant(s.ends_at + t.manager_evaluation_after)
	from safeguard.training_bookings b
	join safeguard.training_sessions s on s.id = b.session_id
	join safeguard.training_courses c on c.id = s.course_id
	cross join safeguard.training_settings t
	where b.status = 'attended' and length(email) >= 3 and lower(b.line_manager_email) = lower(email)
	  and now() >= s.ends_at + t.manager_evaluation_after
	  and not exists (select 1 from safeguard.training_evaluations e
	                  where e.booking_id = b.id and e.respondent = 'manager')
	order by s.ends_at, b.id
	limit 200
$$;

-- The booking a manager's evaluation is about, when the caller's email is
-- its line manager's: (status, due) or no row.
create function safeguard.training_managed_booking(booking uuid, email text)
returns table (status text, due boolean, due_from text)
language sql stable security definer set search_path = safeguard, pg_temp
as $$
	select b.status, now() >= s.ends_at + t.manager_evaluation_after,
	       safeguard.training_instant(s.ends_at + t.manager_evaluation_after)
	from safeguard.training_bookings b
	join safeguard.training_sessions s on s.id = b.session_id
	cross join safeguard.training_settings t
	where b.id = booking and length(email) >= 3 and lower(b.line_manager_email) = lower(email)
$$;
