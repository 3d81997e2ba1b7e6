/*
 * bookings.c - a delegate books a place on a session for themselves (the
 * token's sub, name, email and agency, never someone else's), reads and
 * cancels their bookings, and takes them into a calendar.
 *
 * Booking opens at a set time, so hundreds book the same session in the
 * same minute.  Every booking and cancellation first locks the session's
 * row in the database (training_session_lock), then counts and writes: the
 * places and the waiting list are decided one transaction at a time, in any
 * worker, and a trigger re-counts under the same lock.  A cancellation that
 * frees a place promotes the head of the waiting list in the same
 * transaction.  A retried POST with the same Idempotency-Key replays its
 * first answer and never takes a second place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ics.h"
#include "ident.h"
#include "training.h"

/* ---- field specs ------------------------------------------------------- */

static const struct field_spec booking_fields[] = {
	{.name = "line_manager_name", .type = FT_STRING, .required = true, .min = 1, .max = 200},
	{.name = "line_manager_email",
	 .type = FT_STRING,
	 .required = true,
	 .max = 200,
	 .check = training_check_email,
	 .check_code = "invalid_email"},
};
/* The delegate is the token's: a body that names anyone (or any booking
 * fact) is refused field by field as read-only, never quietly ignored. */
static const char *const booking_read_only[] = {"id",
						"session_id",
						"session",
						"delegate",
						"delegate_sub",
						"delegate_name",
						"delegate_email",
						"delegate_agency",
						"sub",
						"name",
						"email",
						"agency",
						"roles",
						"status",
						"waitlist_position",
						"queue_seq",
						"promoted",
						"promoted_at",
						"cancelled_at",
						"cancelled_by",
						"cancellation_reason",
						"attendance_marked_at",
						"charge",
						"certificate_number",
						"version",
						"created_at",
						"updated_at",
						NULL};
static const struct body_spec booking_body = {.fields = booking_fields, .n = 2, .read_only = booking_read_only};

static const struct field_spec cancellation_fields[] = {
	{.name = "reason", .type = FT_STRING, .nullable = true, .min = 1, .max = 1000},
};
static const struct body_spec cancellation_body = {.fields = cancellation_fields, .n = 1};

static const char *const booking_statuses[] = {"confirmed",         "waitlisted", "cancelled", "late_cancelled",
					       "session_cancelled", "attended",   "no_show",   NULL};

enum { MQ_LIMIT, MQ_CURSOR, MQ_STATUS };
static const struct query_param mine_query_params[] = {
	[MQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[MQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[MQ_STATUS] = {"status", FT_ENUM, 0, 0, booking_statuses},
};
static const struct query_spec mine_query = {mine_query_params, 3};

/* ---- statements (prepared on first use on each connection) ---------------- */

/* (session_status, course_status, format, audience_roles, audience_agencies,
 *  capacity, taken, waiting, next_seq, closed, started, late) */
DB_SQL(sql_session_lock, 1, "select * from safeguard.training_session_lock($1::uuid)");

#define BOOKING_ACTIVE                                                                                                 \
	"select 1 from safeguard.training_bookings a where a.session_id = $2::uuid"                                    \
	" and a.delegate_sub = safeguard.app_sub() and a.status in ('confirmed', 'waitlisted', 'attended', 'no_show')"

DB_SQL(sql_booking_active, 1,
       "select b.id from safeguard.training_bookings b where b.session_id = $1::uuid"
       " and b.delegate_sub = safeguard.app_sub() and b.status in ('confirmed', 'waitlisted', 'attended', 'no_show')");

/* One statement while the session's lock is held: the caller's live
 * booking, if any, stops it (no row comes back); else the booking as the
 * API shows it (its position counts those waiting ahead of it). */
DB_SQL(sql_booking_insert, 8,
       "insert into safeguard.training_bookings (id, session_id, delegate_sub, delegate_name, delegate_email,"
       " delegate_agency, line_manager_name, line_manager_email, status, queue_seq)"
       " select $1::uuid, $2::uuid, safeguard.app_sub(), $3, $4, safeguard.app_agency(), $5, $6, $7, $8::integer"
       " where not exists (" BOOKING_ACTIVE ")"
       " returning safeguard.training_booking_json(training_bookings)::text, version");

/* read again after the session's lock: the status as it is now */
DB_SQL(sql_booking_facts, 1,
       "select b.session_id, b.delegate_sub = safeguard.app_sub(), b.status"
       " from safeguard.training_bookings b where b.id = $1::uuid");

DB_SQL(sql_booking_cancel, 4,
       "update safeguard.training_bookings set status = $2, cancelled_at = clock_timestamp(),"
       " cancelled_by = safeguard.app_sub(), cancellation_reason = $3, version = version + 1,"
       " updated_at = clock_timestamp() where id = $1::uuid and status = $4");

DB_SQL(sql_charge_late, 1,
       "insert into safeguard.training_charges (id, booking_id, reason, amount_pence, currency, raised_by)"
       " select gen_random_uuid(), $1::uuid, 'late_cancellation', t.charge_pence, t.currency, safeguard.app_sub()"
       " from safeguard.training_settings t");

DB_SQL(sql_promote, 1, "select p from safeguard.training_promote($1::uuid) p");

DB_SQL(sql_mine_list, 4,
       "select safeguard.training_booking_json(b)::text, b.created_at::text, b.id from safeguard.training_bookings b"
       " where b.delegate_sub = safeguard.app_sub()"
       " and ($1::timestamptz is null or (b.created_at, b.id) > ($1::timestamptz, $2::uuid))"
       " and ($4::text is null or b.status = $4) order by b.created_at, b.id limit $3::integer");

/* The calendar: the caller's bookings of sessions from a year ago on. */
DB_SQL(sql_mine_calendar, 0,
       "select b.id, b.status, b.version, safeguard.training_instant(b.updated_at), x->>'course_title',"
       " x->>'starts_at', x->>'ends_at', x->>'mode', x->'venue'->>'name', x->'venue'->>'address',"
       " x->'venue'->>'postcode', x->>'online_url', x->>'organiser', x->>'status',"
       " case when b.status = 'waitlisted' then safeguard.training_waitlist_position(b.session_id, b.queue_seq) end"
       " from safeguard.training_bookings b"
       " cross join lateral (select safeguard.training_session_brief(b.session_id) as x) brief"
       " where b.delegate_sub = safeguard.app_sub() and x is not null"
       " and (x->>'ends_at')::timestamptz > now() - interval '1 year'"
       " order by x->>'starts_at', b.id limit 500");

/* ---- handlers ------------------------------------------------------------ */

/* Why a session takes no bookings now, or NULL. */
static const char *booking_closed_reason(struct sg_req *r, PGresult *s)
{
	if (strcmp(PQgetvalue(s, 0, 1), "published") != 0)
		return arena_printf(r->arena, "the course is %s, not open for booking", PQgetvalue(s, 0, 1));
	if (!strcmp(PQgetvalue(s, 0, 0), "cancelled"))
		return "the session was cancelled";
	if (PQgetvalue(s, 0, 10)[0] == 't')
		return "the session has started";
	if (PQgetvalue(s, 0, 9)[0] == 't')
		return "booking for this session has closed";
	return NULL;
}

static int bookings_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena), *session = r->params[0], *why;
	const char *mgr_email = kit_str(r->body, "line_manager_email");
	const char *p[8] = {id,        session, r->id.name, r->id.email, kit_str(r->body, "line_manager_name"),
			    mgr_email, NULL,    NULL};
	PGresult *s, *res;
	char sqlstate[6];
	int rc;

	if ((rc = training_identity_check(r)))
		return rc;
	if (!strcasecmp(mgr_email, r->id.email)) {
		struct verrs errs = {0};

		verrs_add(&errs, "line_manager_email", "own_email", "must be your line manager's, not your own");
		return http_problem_errors(r, 400, "validation-failed", "the body has invalid fields", &errs);
	}
	/* from here on this transaction holds the session's lock */
	if ((rc = kit_fetch_id(r, &sql_session_lock, session, "training session", &s)))
		return rc;
	if ((why = training_audience_refusal(r, PQgetvalue(s, 0, 3), PQgetvalue(s, 0, 4))))
		return http_problem(r, 403, "outside-audience", why);
	if ((why = booking_closed_reason(r, s)))
		return http_problem(r, 409, "booking-closed", why);
	p[6] = atol(PQgetvalue(s, 0, 6)) < atol(PQgetvalue(s, 0, 5)) ? "confirmed" : "waitlisted";
	p[7] = PQgetvalue(s, 0, 8);
	rc = kit_exec_constraint(r, &sql_booking_insert, p, 8, &res, sqlstate);
	if (rc == KIT_CONSTRAINT) /* the database's own guards: never expected under the lock */
		return http_problem(r, 409, "conflict", "the session changed while you were booking; try again");
	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		if ((rc = kit_fetch(r, &sql_booking_active, &session, 1, "booking", &res)))
			return rc;
		return training_problem_existing(r, 409, "already-booked", "you already hold a booking on this session",
						 PQgetvalue(res, 0, 0));
	}
	http_header(r, "Location", arena_printf(r->arena, "/v1/bookings/%s", id));
	return kit_resource(r, 201, res, 0);
}

static int bookings_show(struct sg_req *r)
{
	return training_booking_answer(r, 200, r->params[0]);
}

/* By the delegate, or a training admin: cancelled, or late_cancelled with a
 * charge inside the cut-off; a freed place goes to the head of the queue. */
static int bookings_cancel(struct sg_req *r)
{
	const char *id = r->params[0], *session, *from, *to;
	const char *p[4] = {id, NULL, kit_str(r->body, "reason"), NULL};
	PGresult *b, *s, *res;
	bool own;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_booking_facts, id, "booking", &b)))
		return rc;
	own = PQgetvalue(b, 0, 1)[0] == 't';
	if (!own && !(r->id.roles & ROLE_BIT(ROLE_TRAINING_ADMIN)))
		return http_problem(r, 403, "forbidden", "only the delegate or a training admin may cancel a booking");
	session = PQgetvalue(b, 0, 0);
	if ((rc = kit_fetch_id(r, &sql_session_lock, session, "booking", &s)) ||
	    (rc = kit_fetch_id(r, &sql_booking_facts, id, "booking", &b)))
		return rc;
	from = PQgetvalue(b, 0, 2);
	if (strcmp(from, "confirmed") != 0 && strcmp(from, "waitlisted") != 0)
		return http_problem(r, 409, "conflict", arena_printf(r->arena, "the booking is already %s", from));
	if (PQgetvalue(s, 0, 10)[0] == 't')
		return http_problem(r, 409, "conflict", "the session has started; the register records who attended");
	/* waiting costs nothing to leave; a place given up inside the cut-off is charged */
	to = !strcmp(from, "confirmed") && PQgetvalue(s, 0, 11)[0] == 't' ? "late_cancelled" : "cancelled";
	p[1] = to;
	p[3] = from;
	if ((rc = kit_exec(r, &sql_booking_cancel, p, 4, &res)))
		return rc;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		return http_internal(r, "booking changed under the session's lock");
	if (!strcmp(to, "late_cancelled") && (rc = kit_exec(r, &sql_charge_late, p, 1, &res)))
		return rc;
	if (!strcmp(from, "confirmed") && (rc = kit_exec(r, &sql_promote, &session, 1, &res)))
		return rc;
	if ((rc = kit_audit(
		     r, "training.booking.cancel", "training_booking", id,
		     arena_printf(r->arena, "{\"status\": \"%s\", \"by_delegate\": %s}", to, own ? "true" : "false"))))
		return rc;
	return training_booking_answer(r, 200, id);
}

/* The caller's bookings as an iCalendar file: confirmed and attended ones
 * CONFIRMED, waiting ones TENTATIVE, cancelled ones CANCELLED (a calendar
 * that already has the event removes it by its UID). */
static int bookings_calendar(struct sg_req *r)
{
	PGresult *res;
	struct ics c;
	const char *text;
	size_t n;
	int rc;

	if ((rc = kit_exec(r, &sql_mine_calendar, NULL, 0, &res)))
		return rc;
	ics_init(&c, r->arena);
	ics_line(&c, "BEGIN", "VCALENDAR");
	ics_line(&c, "VERSION", "2.0");
	ics_line(&c, "PRODID", "-//Safeguarding Partnership//Safeguard API//EN");
	ics_line(&c, "CALSCALE", "GREGORIAN");
	ics_line(&c, "METHOD", "PUBLISH");
	ics_text(&c, "X-WR-CALNAME", "Safeguarding training");
	for (int i = 0; i < PQntuples(res); i++) {
		const char *status = PQgetvalue(res, i, 1), *title = PQgetvalue(res, i, 4);
		const char *start = ics_utc(r->arena, PQgetvalue(res, i, 5)),
			   *end = ics_utc(r->arena, PQgetvalue(res, i, 6));
		bool cancelled = strstr(status, "cancelled") || !strcmp(PQgetvalue(res, i, 13), "cancelled");
		const char *state = cancelled ? "CANCELLED" : !strcmp(status, "waitlisted") ? "TENTATIVE" : "CONFIRMED";
		const char *summary = !strcmp(status, "waitlisted")
					      ? arena_printf(r->arena, "%s (waiting list, position %s)", title,
							     PQgetvalue(res, i, 14))
					      : title;

		if (!start || !end)
			continue;
		ics_line(&c, "BEGIN", "VEVENT");
		ics_line(&c, "UID", arena_printf(r->arena, "%s@safeguard", PQgetvalue(res, i, 0)));
		ics_line(&c, "DTSTAMP", ics_utc(r->arena, PQgetvalue(res, i, 3)));
		ics_line(&c, "DTSTART", start);
		ics_line(&c, "DTEND", end);
		ics_line(&c, "SEQUENCE", PQgetvalue(res, i, 2));
		ics_line(&c, "STATUS", state);
		ics_text(&c, "SUMMARY", summary);
		if (!strcmp(PQgetvalue(res, i, 7), "venue"))
			ics_text(&c, "LOCATION",
				 arena_printf(r->arena, "%s%s%s%s%s", PQgetvalue(res, i, 8),
					      PQgetisnull(res, i, 9) ? "" : ", ", PQgetvalue(res, i, 9),
					      PQgetisnull(res, i, 10) ? "" : ", ", PQgetvalue(res, i, 10)));
		else
			ics_text(&c, "LOCATION", "Online");
		if (!PQgetisnull(res, i, 11))
			ics_line(&c, "URL", PQgetvalue(res, i, 11));
		ics_text(&c, "DESCRIPTION",
			 arena_printf(r->arena, "Organised by %s.\nYour booking: %s.\nBooking %s",
				      PQgetvalue(res, i, 12), status, PQgetvalue(res, i, 0)));
		ics_line(&c, "END", "VEVENT");
	}
	ics_line(&c, "END", "VCALENDAR");
	text = ics_text_of(&c, &n);
	http_header(r, "Content-Disposition", "attachment; filename=\"training.ics\"");
	return http_body(r, 200, "text/calendar; charset=utf-8", (char *)text, n);
}

static int bookings_mine(struct sg_req *r)
{
	static const struct kit_list list = {&sql_mine_list, MQ_LIMIT, MQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_AFTER, KIT_ARG_FETCH, MQ_STATUS)};

	return kit_list(r, &list);
}

static const struct route bookings_route_list[] = {
	{"POST", "/v1/training-sessions/{id}/bookings", PERM_TRAINING_BOOK, &booking_body, NULL, bookings_create,
	 "training_sessions.bookings.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/me/bookings", PERM_TRAINING_BOOK, NULL, &mine_query, bookings_mine, "me.bookings", 0},
	/* a route of its own, not Accept on the list: a generated client types each answer */
	{"GET", "/v1/me/bookings.ics", PERM_TRAINING_BOOK, NULL, NULL, bookings_calendar, "me.bookings_ics", 0},
	{"GET", "/v1/bookings/{id}", PERM_TRAINING_BOOK, NULL, NULL, bookings_show, "bookings.show", 0},
	{"POST", "/v1/bookings/{id}/cancellation", PERM_TRAINING_BOOK, &cancellation_body, NULL, bookings_cancel,
	 "bookings.cancellation.create", ROUTE_IDEMPOTENT},
};

const struct sg_area bookings_area = SG_AREA("bookings", bookings_route_list);
