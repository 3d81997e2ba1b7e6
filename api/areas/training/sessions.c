/*
 * sessions.c - the sessions of a course: when, where (online or a venue),
 * how many places, when booking closes.  Training admins schedule, change
 * and cancel them; everyone who may see the course reads them, with the
 * places left and the length of the waiting list.  Cancelling a session
 * cancels every live booking in it, saying so on each, and withdraws the
 * charges for not attending it.  Raising the capacity fills the new places
 * from the waiting list, in order, in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ident.h"
#include "training.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const session_modes[] = {"online", "venue", NULL};

static const struct field_spec session_fields[] = {
	{.name = "starts_at", .type = FT_INSTANT, .required = true},
	{.name = "ends_at", .type = FT_INSTANT, .required = true},
	{.name = "mode", .type = FT_ENUM, .required = true, .enum_values = session_modes},
	{.name = "venue", .type = FT_OBJECT, .nullable = true /* check_venue */},
	{.name = "online_url",
	 .type = FT_STRING,
	 .nullable = true,
	 .max = 500,
	 .check = training_check_https,
	 .check_code = "invalid_url"},
	{.name = "capacity", .type = FT_INT, .required = true, .min = 1, .max = 5000},
	{.name = "booking_closes_at", .type = FT_INSTANT, .nullable = true},
};
static const char *const session_read_only[] = {"id",
						"course_id",
						"course_title",
						"format",
						"duration_minutes",
						"free_cancellation_until",
						"status",
						"booking_open",
						"places_taken",
						"places_left",
						"waiting",
						"cancelled_at",
						"cancellation_reason",
						"version",
						"created_at",
						"updated_at",
						NULL};

/* venue: {name, address, postcode} */
static void check_venue(json_t *v, struct verrs *errs, struct arena *a)
{
	static const struct field_spec venue_fields[] = {
		{.name = "name", .type = FT_STRING, .required = true, .min = 1, .max = 200},
		{.name = "address", .type = FT_STRING, .nullable = true, .min = 1, .max = 300},
		{.name = "postcode",
		 .type = FT_STRING,
		 .nullable = true,
		 .check = ident_postcode_check,
		 .check_code = "invalid_postcode"},
	};
	static const struct body_spec venue_body = {.fields = venue_fields, .n = 3};
	struct verrs one = {0};

	validate_body(&venue_body, v, &one, a);
	for (size_t k = 0; k < one.n; k++)
		verrs_add(errs, arena_printf(a, "venue.%s", one.items[k].field), one.items[k].code,
			  one.items[k].message);
}

/* Rules across fields on a whole session. */
static void check_session(json_t *s, struct verrs *errs, struct arena *a)
{
	const char *mode = kit_str(s, "mode"), *closes = kit_str(s, "booking_closes_at");
	json_t *venue = json_object_get(s, "venue");
	int64_t start, end, close;
	bool times = instant_to_epoch(kit_str(s, "starts_at") ? kit_str(s, "starts_at") : "", &start) &&
		     instant_to_epoch(kit_str(s, "ends_at") ? kit_str(s, "ends_at") : "", &end);

	if (times && end <= start)
		verrs_add(errs, "ends_at", "before_start", "must be after starts_at");
	else if (times && end - start > 24 * 3600)
		verrs_add(errs, "ends_at", "too_long", "a session lasts at most 24 hours; schedule one a day");
	if (times && closes && instant_to_epoch(closes, &close) && close > start)
		verrs_add(errs, "booking_closes_at", "after_start", "must not be after starts_at");
	if (json_is_object(venue))
		check_venue(venue, errs, a);
	if (mode && !strcmp(mode, "venue") && !json_is_object(venue))
		verrs_add(errs, "venue", "required", "a session at a venue says where");
	if (mode && !strcmp(mode, "online") && venue && !json_is_null(venue))
		verrs_add(errs, "venue", "not_allowed", "an online session has no venue");
}

static const struct body_spec session_body = {.fields = session_fields,
					      .n = sizeof session_fields / sizeof session_fields[0],
					      .read_only = session_read_only,
					      .check = check_session};
static const struct body_spec session_patch_body = {.fields = session_fields,
						    .n = sizeof session_fields / sizeof session_fields[0],
						    .read_only = session_read_only,
						    .patch_merged = true};

static const struct field_spec cancel_fields[] = {
	{.name = "reason", .type = FT_STRING, .required = true, .min = 1, .max = 1000},
};
static const struct body_spec cancel_body = {.fields = cancel_fields, .n = 1};

enum { SQ_LIMIT, SQ_CURSOR, SQ_FROM };
static const struct query_param session_query_params[] = {
	[SQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[SQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[SQ_FROM] = {"from", FT_INSTANT, 0, 0, NULL},
};
static const struct query_spec session_query = {session_query_params, 3};

/* ---- statements (prepared on first use on each connection) ---------------- */

#define SESSION_COLUMNS_FROM_B                                                                                         \
	"(b->>'starts_at')::timestamptz, (b->>'ends_at')::timestamptz, b->>'mode',"                                    \
	" nullif(b->'venue', 'null'::jsonb), b->>'online_url', (b->>'capacity')::integer,"                             \
	" coalesce((b->>'booking_closes_at')::timestamptz, (b->>'starts_at')::timestamptz)"

DB_SQL(sql_course_facts, 1,
       "select c.status, c.format from safeguard.training_courses c where c.id = $1::uuid for share");

DB_SQL(sql_session_insert, 3,
       "insert into safeguard.training_sessions (id, course_id, starts_at, ends_at, mode, venue, online_url,"
       " capacity, booking_closes_at, created_by) select $1::uuid, $2::uuid, " SESSION_COLUMNS_FROM_B
       ", safeguard.app_sub() from (select $3::jsonb as b) s"
       " returning safeguard.training_session_json(training_sessions)::text, version");

DB_SQL(sql_session_get, 1,
       "select safeguard.training_session_json(s)::text, s.version from safeguard.training_sessions s"
       " where s.id = $1::uuid");

DB_SQL(sql_session_list, 5,
       "select safeguard.training_session_json(s)::text, s.starts_at::text, s.id from safeguard.training_sessions s"
       " where s.course_id = $1::uuid"
       " and ($2::timestamptz is null or (s.starts_at, s.id) > ($2::timestamptz, $3::uuid))"
       " and ($5::timestamptz is null or s.starts_at >= $5::timestamptz)"
       " order by s.starts_at, s.id limit $4::integer");

DB_SQL(sql_course_visible, 1, "select exists (select 1 from safeguard.training_courses c where c.id = $1::uuid)");

/* the session row is the lock of every booking and cancellation in it */
DB_SQL(sql_session_lock, 1,
       "select safeguard.training_session_json(s)::text, s.version, s.status, now() >= s.starts_at,"
       " (select n.taken from safeguard.training_session_counts(s.id) n)"
       " from safeguard.training_sessions s where s.id = $1::uuid for no key update");

DB_SQL(sql_session_update, 3,
       "update safeguard.training_sessions set (starts_at, ends_at, mode, venue, online_url, capacity,"
       " booking_closes_at) = (select " SESSION_COLUMNS_FROM_B " from (select $2::jsonb as b) s),"
       " version = version + 1, updated_at = clock_timestamp()"
       " where id = $1::uuid and version = $3::integer returning version");

DB_SQL(sql_session_promote, 1, "select count(*) from safeguard.training_promote($1::uuid)");

/* The session, every live booking in it (each saying why) and the charges
 * for not attending it, in one statement. */
DB_SQL(sql_session_cancel, 2,
       "with s as (update safeguard.training_sessions set status = 'cancelled', cancelled_at = clock_timestamp(),"
       "  cancelled_by = safeguard.app_sub(), cancellation_reason = $2, version = version + 1,"
       "  updated_at = clock_timestamp() where id = $1::uuid and status = 'scheduled' returning id),"
       " b as (update safeguard.training_bookings set status = 'session_cancelled', cancelled_at = clock_timestamp(),"
       "  cancelled_by = safeguard.app_sub(), cancellation_reason = 'the session was cancelled: ' || $2,"
       "  version = version + 1, updated_at = clock_timestamp()"
       "  where session_id in (select id from s) and status in ('confirmed', 'waitlisted') returning id),"
       " ch as (update safeguard.training_charges set status = 'withdrawn', withdrawn_at = clock_timestamp(),"
       "  withdrawn_reason = 'the session was cancelled'"
       "  where status = 'outstanding' and booking_id in (select x.id from safeguard.training_bookings x"
       "   where x.session_id in (select id from s)) returning id)"
       " select (select count(*) from s), (select count(*) from b), (select count(*) from ch)");

/* ---- handlers ------------------------------------------------------------ */

static int sessions_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *p[3] = {id, r->params[0], arena_json_dump(r->arena, r->body)};
	int64_t start;
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_course_facts, r->params[0], "course", &res)))
		return rc;
	if (!strcmp(PQgetvalue(res, 0, 1), "e_learning"))
		return http_problem(r, 409, "conflict",
				    "e-learning has no sessions; delegates record completions instead");
	if (!strcmp(PQgetvalue(res, 0, 0), "retired"))
		return http_problem(r, 409, "conflict", "the course is retired");
	if (instant_to_epoch(kit_str(r->body, "starts_at"), &start) && start <= (int64_t)time(NULL)) {
		struct verrs errs = {0};

		verrs_add(&errs, "starts_at", "in_past", "must be in the future");
		return http_problem_errors(r, 400, "validation-failed", "the body has invalid fields", &errs);
	}
	if ((rc = kit_exec(r, &sql_session_insert, p, 3, &res)) ||
	    (rc = kit_audit(r, "training.session.create", "training_session", id, NULL)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/training-sessions/%s", id));
	return kit_resource(r, 201, res, 0);
}

static int sessions_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_session_list, SQ_LIMIT, SQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_ID, KIT_ARG_AFTER, KIT_ARG_FETCH, SQ_FROM)};
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_course_visible, r->params[0], "course", &res)))
		return rc;
	if (PQgetvalue(res, 0, 0)[0] != 't')
		return http_not_found(r, "course");
	return kit_list(r, &list);
}

static int sessions_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_session_get, r->params[0], "training session", &res)))
		return rc;
	return kit_show(r, res, 0);
}

/* Answers the session as it is now (after promotions), with its ETag. */
static int session_answer(struct sg_req *r, const char *id)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_session_get, id, "training session", &res)))
		return rc;
	return kit_resource(r, 200, res, 0);
}

static int sessions_update(struct sg_req *r)
{
	const char *p[3] = {r->params[0], NULL, NULL};
	json_t *merged;
	PGresult *res;
	char sqlstate[6];
	long taken;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_session_lock, p[0], "training session", &res)) ||
	    (rc = kit_if_match(r, PQgetvalue(res, 0, 1))))
		return rc;
	if (!strcmp(PQgetvalue(res, 0, 2), "cancelled"))
		return http_problem(r, 409, "conflict", "the session is cancelled; schedule a new one instead");
	if ((rc = kit_patch_merge(r, PQgetvalue(res, 0, 0), &session_body, &merged)))
		return rc;
	taken = atol(PQgetvalue(res, 0, 4));
	if (json_integer_value(json_object_get(merged, "capacity")) < taken)
		return http_problem(
			r, 409, "conflict",
			arena_printf(r->arena, "%ld places are taken; the capacity cannot go below that", taken));
	p[1] = arena_json_dump(r->arena, merged);
	p[2] = PQgetvalue(res, 0, 1);
	rc = kit_exec_constraint(r, &sql_session_update, p, 3, &res, sqlstate);
	if (rc == KIT_CONSTRAINT)
		return http_problem(r, 409, "conflict", "the change conflicts with the places already taken");
	if (rc)
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(r, 412, "precondition-failed", "the session changed while you were updating it");
	/* more places: the waiting list moves up, in order */
	if ((rc = kit_exec(r, &sql_session_promote, p, 1, &res)) ||
	    (rc = kit_audit(r, "training.session.update", "training_session", p[0], NULL)))
		return rc;
	return session_answer(r, p[0]);
}

static int sessions_cancel(struct sg_req *r)
{
	const char *p[2] = {r->params[0], kit_str(r->body, "reason")};
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_session_lock, p[0], "training session", &res)))
		return rc;
	if (!strcmp(PQgetvalue(res, 0, 2), "cancelled"))
		return http_problem(r, 409, "conflict", "the session is already cancelled");
	if (PQgetvalue(res, 0, 3)[0] == 't')
		return http_problem(r, 409, "conflict", "the session has started; the register records who attended");
	if ((rc = kit_exec(r, &sql_session_cancel, p, 2, &res)))
		return rc;
	if ((rc = kit_audit(r, "training.session.cancel", "training_session", p[0],
			    arena_printf(r->arena, "{\"bookings_cancelled\": %s, \"charges_withdrawn\": %s}",
					 PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2)))))
		return rc;
	return session_answer(r, p[0]);
}

static const struct route sessions_route_list[] = {
	{"POST", "/v1/courses/{id}/sessions", PERM_TRAINING_MANAGE, &session_body, NULL, sessions_create,
	 "courses.sessions.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/courses/{id}/sessions", PERM_TRAINING_READ, NULL, &session_query, sessions_list,
	 "courses.sessions.list", 0},
	{"GET", "/v1/training-sessions/{id}", PERM_TRAINING_READ, NULL, NULL, sessions_show, "training_sessions.show",
	 0},
	{"PATCH", "/v1/training-sessions/{id}", PERM_TRAINING_MANAGE, &session_patch_body, NULL, sessions_update,
	 "training_sessions.update", ROUTE_PATCH},
	{"POST", "/v1/training-sessions/{id}/cancellation", PERM_TRAINING_MANAGE, &cancel_body, NULL, sessions_cancel,
	 "training_sessions.cancellation.create", ROUTE_IDEMPOTENT},
};

const struct sg_area training_sessions_area = SG_AREA("training_sessions", sessions_route_list);
