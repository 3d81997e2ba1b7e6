/*
 * completions.c - e-learning has no sessions and no capacity: a delegate
 * within the course's audience records completing it, once.  Delegates
 * read their own completions, an agency's safeguarding lead their agency's
 * (for compliance), training admins everyone's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ident.h"
#include "training.h"

/* ---- field specs ------------------------------------------------------- */

static const struct field_spec completion_fields[] = {
	{.name = "completed_at", .type = FT_INSTANT},
};
/* the delegate is the token's, the course the path's */
static const char *const completion_read_only[] = {"id",
						   "course_id",
						   "course_title",
						   "delegate",
						   "delegate_sub",
						   "delegate_name",
						   "delegate_email",
						   "delegate_agency",
						   "sub",
						   "name",
						   "email",
						   "agency",
						   "created_at",
						   NULL};
static const struct body_spec completion_body = {
	.fields = completion_fields, .n = 1, .read_only = completion_read_only};

enum { XQ_LIMIT, XQ_CURSOR, XQ_COURSE, XQ_AGENCY };
static const struct query_param completion_query_params[] = {
	[XQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[XQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[XQ_COURSE] = {"course_id", FT_UUID, 0, 0, NULL},
	[XQ_AGENCY] = {"agency", FT_ENUM, 0, 0, sg_agency_names},
};
static const struct query_spec completion_query = {completion_query_params, 4};

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_course_for_completion, 2,
       "select c.status, c.format, c.audience_roles, c.audience_agencies,"
       " c.created_at <= coalesce($2::timestamptz, now()) + interval '1 minute'" /* clocks differ a little */
       " from safeguard.training_courses c where c.id = $1::uuid");

/* The row-level policy's own test (014) in the statement's snapshot: a
 * course changed since the checks above inserts nothing, never fails the
 * policy. */
DB_SQL(sql_completion_insert, 5,
       "insert into safeguard.training_completions (id, course_id, delegate_sub, delegate_name, delegate_email,"
       " delegate_agency, completed_at) select $1::uuid, $2::uuid, safeguard.app_sub(), $3, $4,"
       " safeguard.app_agency(), t.at from (select coalesce($5::timestamptz, clock_timestamp()) as at) t"
       " where safeguard.training_may_complete($2::uuid, t.at)"
       " on conflict (course_id, delegate_sub) do nothing"
       " returning safeguard.training_completion_json(training_completions)::text");

DB_SQL(sql_completion_existing, 1,
       "select x.id from safeguard.training_completions x where x.course_id = $1::uuid"
       " and x.delegate_sub = safeguard.app_sub()");

DB_SQL(sql_completion_list, 5,
       "select safeguard.training_completion_json(s.r)::text, s.created_at::text, s.id from" TRAINING_SEEN(
	       "safeguard.training_completions x", "x",
	       "($1::timestamptz is null or (x.created_at, x.id) > ($1::timestamptz, $2::uuid))"
	       " and ($4::uuid is null or x.course_id = $4) and ($5::text is null or x.delegate_agency = $5)",
	       "$3::integer") " order by s.created_at, s.id limit $3::integer");

/* ---- handlers ------------------------------------------------------------ */

static int completions_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena), *when = kit_str(r->body, "completed_at"), *why;
	const char *p[5] = {id, r->params[0], r->id.name, r->id.email, when};
	const char *cp[2] = {r->params[0], when};
	PGresult *res;
	int64_t t;
	int rc;

	if ((rc = training_identity_check(r)))
		return rc;
	if (when && instant_to_epoch(when, &t) && t > (int64_t)time(NULL) + 60) {
		struct verrs errs = {0};

		verrs_add(&errs, "completed_at", "in_future", "must not be in the future");
		return http_problem_errors(r, 400, "validation-failed", "the body has invalid fields", &errs);
	}
	if (!validate_uuid(cp[0]))
		return http_not_found(r, "course");
	if ((rc = kit_fetch(r, &sql_course_for_completion, cp, 2, "course", &res)))
		return rc;
	if (strcmp(PQgetvalue(res, 0, 1), "e_learning") != 0)
		return http_problem(r, 409, "conflict",
				    "only e-learning is completed on its own; book a session of this course");
	if ((why = training_audience_refusal(r, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3))))
		return http_problem(r, 403, "outside-audience", why);
	if (strcmp(PQgetvalue(res, 0, 0), "published") != 0)
		return http_problem(r, 409, "conflict", "the course is not published");
	if (PQgetvalue(res, 0, 4)[0] != 't') {
		struct verrs errs = {0};

		verrs_add(&errs, "completed_at", "before_course", "must not be before the course existed");
		return http_problem_errors(r, 400, "validation-failed", "the body has invalid fields", &errs);
	}
	if ((rc = kit_exec(r, &sql_completion_insert, p, 5, &res)))
		return rc;
	if (PQntuples(res) == 0) {
		if ((rc = kit_exec(r, &sql_completion_existing, cp, 1, &res)))
			return rc;
		if (PQntuples(res) == 0) /* the course changed between the checks and the insert */
			return http_problem(r, 409, "conflict",
					    "the course changed while you were recording it; try again");
		return training_problem_existing(r, 409, "already-completed",
						 "you have already recorded completing this course",
						 PQgetvalue(res, 0, 0));
	}
	return kit_json_text(r, 201, PQgetvalue(res, 0, 0));
}

static int completions_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_completion_list, XQ_LIMIT, XQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_AFTER, KIT_ARG_FETCH, XQ_COURSE, XQ_AGENCY)};

	return kit_list(r, &list);
}

static const struct route completions_route_list[] = {
	{"POST", "/v1/courses/{id}/completions", PERM_TRAINING_BOOK, &completion_body, NULL, completions_create,
	 "courses.completions.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/completions", PERM_TRAINING_BOOK, NULL, &completion_query, completions_list, "completions.list",
	 0},
};

const struct sg_area completions_area = SG_AREA("completions", completions_route_list);
