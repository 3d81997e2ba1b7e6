/*
 * evaluations.c - what the training did: the delegate's own evaluation
 * once the register marks them attended, and their line manager's, asked
 * for a set time after the session (three months by the partnership's
 * terms).  The line manager is whoever the delegate named: a caller whose
 * verified token carries that email (app.email, set with the request's
 * identity, so row-level security holds it too; migration 024).
 * /v1/me/evaluation-requests lists what
 * the caller is asked for, as delegate and as manager.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ident.h"
#include "training.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const respondents[] = {"delegate", "manager", NULL};
static const struct field_spec evaluation_fields[] = {
	{.name = "respondent", .type = FT_ENUM, .required = true, .enum_values = respondents},
	{.name = "rating", .type = FT_INT, .required = true, .min = 1, .max = 5},
	{.name = "comments", .type = FT_STRING, .nullable = true, .min = 1, .max = 2000},
};
/* the respondent is the token's, the booking the path's */
static const char *const evaluation_read_only[] = {"id",    "booking_id", "respondent_sub", "sub",
						   "email", "agency",     "submitted_at",   NULL};
static const struct body_spec evaluation_body = {
	.fields = evaluation_fields, .n = 3, .read_only = evaluation_read_only};

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_booking_of_caller, 1,
       "select b.status, b.delegate_sub = safeguard.app_sub() from safeguard.training_bookings b"
       " where b.id = $1::uuid");

/* (status, due, due_from) when the caller's email (app.email, the token's)
 * is the booking's line manager's */
DB_SQL(sql_booking_managed, 1, "select status, due, due_from from safeguard.training_managed_booking($1::uuid)");

/* The row-level policy's own test (014) in the statement's snapshot: a
 * register corrected since the checks inserts nothing, never fails the
 * policy. */
DB_SQL(sql_evaluation_insert, 5,
       "insert into safeguard.training_evaluations (id, booking_id, respondent, respondent_sub, rating, comments)"
       " select $1::uuid, $2::uuid, $3, safeguard.app_sub(), $4::integer, $5"
       " where safeguard.training_may_evaluate($2::uuid, $3)"
       " on conflict (booking_id, respondent) do nothing"
       " returning safeguard.training_evaluation_json(training_evaluations)::text");

DB_SQL(sql_evaluation_may, 2, "select safeguard.training_may_evaluate($1::uuid, $2)");

DB_SQL(sql_evaluation_list, 1,
       "select safeguard.training_evaluation_json(e)::text from safeguard.training_evaluations e"
       " where e.booking_id = $1::uuid order by e.submitted_at, e.id");

DB_SQL(sql_evaluation_requests, 0,
       "select jsonb_build_object('booking_id', b.id, 'respondent', 'delegate', 'course_title', x->>'course_title',"
       "  'delegate_name', b.delegate_name, 'session_ends_at', x->>'ends_at',"
       "  'due_from', safeguard.training_instant(b.attendance_marked_at))::text"
       " from safeguard.training_bookings b"
       " cross join lateral (select safeguard.training_session_brief(b.session_id) as x) brief"
       " where b.delegate_sub = safeguard.app_sub() and b.status = 'attended' and x is not null"
       " and not exists (select 1 from safeguard.training_evaluations e where e.booking_id = b.id"
       "  and e.respondent = 'delegate')"
       " union all"
       " select jsonb_build_object('booking_id', m.booking_id, 'respondent', 'manager',"
       "  'course_title', m.course_title, 'delegate_name', m.delegate_name, 'session_ends_at', m.session_ends_at,"
       "  'due_from', m.due_from)::text"
       " from safeguard.training_manager_requests() m");

/* ---- handlers ------------------------------------------------------------ */

static int not_attended(struct sg_req *r, const char *status)
{
	return http_problem(r, 409, "not-attended",
			    arena_printf(r->arena, "evaluations follow attendance; this booking is %s", status));
}

/* 0 when the caller may give the delegate's evaluation of the booking. */
static int delegate_may_evaluate(struct sg_req *r, const char *id)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_booking_of_caller, id, "booking", &res)))
		return rc;
	if (PQgetvalue(res, 0, 1)[0] != 't')
		return http_problem(r, 403, "forbidden", "only the delegate gives the delegate's evaluation");
	return strcmp(PQgetvalue(res, 0, 0), "attended") ? not_attended(r, PQgetvalue(res, 0, 0)) : 0;
}

/* 0 when the caller is the booking's line manager and the time has come. */
static int manager_may_evaluate(struct sg_req *r, const char *id)
{
	PGresult *res;
	int rc;

	if (!validate_uuid(id))
		return http_not_found(r, "booking");
	if ((rc = kit_exec(r, &sql_booking_managed, &id, 1, &res)))
		return rc;
	if (PQntuples(res) == 0) {
		/* someone who may see the booking, but is not the manager named on it */
		if ((rc = kit_fetch_id(r, &sql_booking_of_caller, id, "booking", &res)))
			return rc;
		return http_problem(r, 403, "forbidden",
				    "only the line manager named on the booking gives the manager's evaluation");
	}
	if (strcmp(PQgetvalue(res, 0, 0), "attended") != 0)
		return not_attended(r, PQgetvalue(res, 0, 0));
	if (PQgetvalue(res, 0, 1)[0] != 't')
		return http_problem(
			r, 409, "conflict",
			arena_printf(r->arena, "the manager's evaluation opens at %s", PQgetvalue(res, 0, 2)));
	return 0;
}

static int evaluations_create(struct sg_req *r)
{
	const char *id = r->params[0], *respondent = kit_str(r->body, "respondent");
	json_t *rating = json_object_get(r->body, "rating");
	const char *p[5] = {ident_uuid(r->arena), id, respondent,
			    arena_printf(r->arena, "%lld", (long long)json_integer_value(rating)),
			    kit_str(r->body, "comments")};
	PGresult *res;
	int rc;

	rc = !strcmp(respondent, "manager") ? manager_may_evaluate(r, id) : delegate_may_evaluate(r, id);
	if (rc || (rc = kit_exec(r, &sql_evaluation_insert, p, 5, &res)))
		return rc;
	if (PQntuples(res) == 0) {
		const char *mp[2] = {id, respondent};

		if ((rc = kit_exec(r, &sql_evaluation_may, mp, 2, &res)))
			return rc;
		if (PQgetvalue(res, 0, 0)[0] != 't') /* the register changed between the checks and the insert */
			return http_problem(r, 409, "conflict",
					    "the booking changed while you were evaluating it; try again");
		return http_problem(
			r, 409, "conflict",
			arena_printf(r->arena, "the %s's evaluation of this booking is already in", respondent));
	}
	return kit_json_text(r, 201, PQgetvalue(res, 0, 0));
}

static int evaluations_list(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_booking_of_caller, r->params[0], "booking", &res)) ||
	    (rc = kit_exec(r, &sql_evaluation_list, r->params, 1, &res)))
		return rc;
	return http_list_rows(r, res, 0, PQntuples(res), NULL);
}

static int evaluations_requests(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_exec(r, &sql_evaluation_requests, NULL, 0, &res)))
		return rc;
	return http_list_rows(r, res, 0, PQntuples(res), NULL);
}

static const struct route evaluations_route_list[] = {
	{"POST", "/v1/bookings/{id}/evaluations", PERM_TRAINING_BOOK, &evaluation_body, NULL, evaluations_create,
	 "bookings.evaluations.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/bookings/{id}/evaluations", PERM_TRAINING_BOOK, NULL, NULL, evaluations_list,
	 "bookings.evaluations.list", 0},
	{"GET", "/v1/me/evaluation-requests", PERM_TRAINING_BOOK, NULL, NULL, evaluations_requests,
	 "me.evaluation_requests", 0},
};

const struct sg_area evaluations_area = SG_AREA("evaluations", evaluations_route_list);
