/*
 * courses.c - the training catalogue: courses (e-learning, webinars,
 * seven-minute briefings for designated safeguarding leads, learning events
 * from case reviews) and their sessions.  Training admins write them; every
 * authenticated user reads the published ones (drafts and retired courses
 * are 404 to them, and row-level security says the same).  A course moves
 * draft -> published -> retired, never back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ident.h"
#include "training.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const course_formats[] = {"e_learning", "webinar", "seven_minute_briefing", "learning_event", NULL};
static const char *const course_statuses[] = {"draft", "published", "retired", NULL};
static const char *const role_values[] = {
	"practitioner",   "safeguarding_lead", "social_worker", "panel_chair", "panel_member",
	"training_admin", "auditor",           "admin",         NULL};

static const struct field_spec course_fields[] = {
	{.name = "title", .type = FT_STRING, .required = true, .min = 1, .max = 200},
	{.name = "description", .type = FT_STRING, .max = 5000},
	{.name = "format", .type = FT_ENUM, .required = true, .enum_values = course_formats},
	{.name = "organiser", .type = FT_STRING, .required = true, .min = 1, .max = 200},
	{.name = "audience", .type = FT_OBJECT /* check_audience */},
	{.name = "case_review", .type = FT_OBJECT, .nullable = true /* check_case_review */},
	{.name = "duration_minutes", .type = FT_INT, .nullable = true, .min = 1, .max = 1440},
	{.name = "status", .type = FT_ENUM, .enum_values = course_statuses},
};
static const char *const course_read_only[] = {"id",           "version",    "created_at", "updated_at",
					       "published_at", "retired_at", NULL};

/* audience: {roles: [role...], agencies: [agency...]}, each optional */
static void check_audience(json_t *aud, struct verrs *errs, struct arena *a)
{
	static const struct field_spec aud_fields[] = {
		{.name = "roles", .type = FT_STRING_ARRAY, .max = 8, .enum_values = role_values},
		{.name = "agencies", .type = FT_STRING_ARRAY, .max = 9, .enum_values = sg_agency_names},
	};
	static const struct body_spec aud_body = {.fields = aud_fields, .n = 2};
	struct verrs one = {0};

	if (!json_is_object(aud))
		return; /* reported by the field check */
	validate_body(&aud_body, aud, &one, a);
	for (size_t k = 0; k < one.n; k++)
		verrs_add(errs, arena_printf(a, "audience.%s", one.items[k].field), one.items[k].code,
			  one.items[k].message);
}

/* case_review: {title, reference, published_on, url} */
static void check_case_review(json_t *cr, struct verrs *errs, struct arena *a)
{
	static const struct field_spec cr_fields[] = {
		{.name = "title", .type = FT_STRING, .required = true, .min = 1, .max = 200},
		{.name = "reference", .type = FT_STRING, .nullable = true, .min = 1, .max = 100},
		{.name = "published_on", .type = FT_DATE, .nullable = true},
		{.name = "url",
		 .type = FT_STRING,
		 .nullable = true,
		 .max = 500,
		 .check = training_check_https,
		 .check_code = "invalid_url"},
	};
	static const struct body_spec cr_body = {.fields = cr_fields, .n = 4};
	struct verrs one = {0};

	if (!json_is_object(cr))
		return;
	validate_body(&cr_body, cr, &one, a);
	for (size_t k = 0; k < one.n; k++)
		verrs_add(errs, arena_printf(a, "case_review.%s", one.items[k].field), one.items[k].code,
			  one.items[k].message);
}

/* Rules across fields on a whole course.  A seven-minute briefing is for
 * safeguarding leads: with no roles given it gets exactly that audience. */
static void check_course(json_t *c, struct verrs *errs, struct arena *a)
{
	const char *format = kit_str(c, "format");
	json_t *aud = json_object_get(c, "audience"), *cr = json_object_get(c, "case_review"), *roles;

	check_audience(aud, errs, a);
	check_case_review(json_is_null(cr) ? NULL : cr, errs, a);
	if (!format)
		return;
	if (!strcmp(format, "seven_minute_briefing")) {
		if (!json_is_object(aud)) {
			aud = json_object();
			json_object_set_new(c, "audience", aud);
		}
		roles = json_object_get(aud, "roles");
		if (!roles || (json_is_array(roles) && json_array_size(roles) == 0))
			json_object_set_new(aud, "roles", json_pack("[s]", "safeguarding_lead"));
		else if (!json_is_array(roles) || json_array_size(roles) != 1 ||
			 !json_is_string(json_array_get(roles, 0)) ||
			 strcmp(json_string_value(json_array_get(roles, 0)), "safeguarding_lead") != 0)
			verrs_add(errs, "audience.roles", "briefing_audience",
				  "a seven-minute briefing is for safeguarding_lead only");
	}
	if (!strcmp(format, "learning_event") && (!cr || json_is_null(cr)))
		verrs_add(errs, "case_review", "required", "a learning event names the case review it comes from");
	if (!strcmp(format, "e_learning") && !json_is_integer(json_object_get(c, "duration_minutes")))
		verrs_add(errs, "duration_minutes", "required", "e-learning states how long it takes");
}

static const struct body_spec course_body = {.fields = course_fields,
					     .n = sizeof course_fields / sizeof course_fields[0],
					     .read_only = course_read_only,
					     .check = check_course};
/* a PATCH checks the merged course against course_body */
static const struct body_spec course_patch_body = {.fields = course_fields,
						   .n = sizeof course_fields / sizeof course_fields[0],
						   .read_only = course_read_only,
						   .patch_merged = true};

enum { CQ_LIMIT, CQ_CURSOR, CQ_FORMAT, CQ_STATUS };
static const struct query_param course_query_params[] = {
	[CQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[CQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[CQ_FORMAT] = {"format", FT_ENUM, 0, 0, course_formats},
	[CQ_STATUS] = {"status", FT_ENUM, 0, 0, course_statuses},
};
static const struct query_spec course_query = {course_query_params, 4};

/* ---- statements (prepared on first use on each connection) ---------------- */

#define COURSE_COLUMNS_FROM_B                                                                                          \
	"b->>'title', coalesce(b->>'description', ''), b->>'format', b->>'organiser',"                                 \
	" coalesce(array(select jsonb_array_elements_text(b->'audience'->'roles')), '{}'),"                            \
	" coalesce(array(select jsonb_array_elements_text(b->'audience'->'agencies')), '{}'),"                         \
	" nullif(b->'case_review', 'null'::jsonb), (b->>'duration_minutes')::integer"

DB_SQL(sql_course_insert, 2,
       "insert into safeguard.training_courses (id, title, description, format, organiser, audience_roles,"
       " audience_agencies, case_review, duration_minutes, status, published_at, retired_at, created_by)"
       " select $1::uuid, " COURSE_COLUMNS_FROM_B ", coalesce(b->>'status', 'draft'),"
       " case when b->>'status' = 'published' then clock_timestamp() end,"
       " case when b->>'status' = 'retired' then clock_timestamp() end, safeguard.app_sub()"
       " from (select $2::jsonb as b) s returning safeguard.training_course_json(training_courses)::text, version");

DB_SQL(sql_course_get, 1,
       "select safeguard.training_course_json(c)::text, c.version from safeguard.training_courses c"
       " where c.id = $1::uuid");

/* the course, its status, and what may no longer change about it */
DB_SQL(sql_course_lock, 1,
       "select safeguard.training_course_json(c)::text, c.version, c.status, c.format,"
       " (select count(*) from safeguard.training_sessions s where s.course_id = c.id)"
       "  + (select count(*) from safeguard.training_completions x where x.course_id = c.id),"
       " (select count(*) from safeguard.training_sessions s where s.course_id = c.id"
       "   and s.status = 'scheduled' and s.ends_at > now())"
       " from safeguard.training_courses c where c.id = $1::uuid for update");

DB_SQL(sql_course_update, 3,
       "update safeguard.training_courses set (title, description, format, organiser, audience_roles,"
       " audience_agencies, case_review, duration_minutes) = (select " COURSE_COLUMNS_FROM_B
       " from (select $2::jsonb as b) s), status = coalesce($2::jsonb->>'status', status),"
       " published_at = case when $2::jsonb->>'status' = 'published' then coalesce(published_at, clock_timestamp())"
       "  else published_at end,"
       " retired_at = case when $2::jsonb->>'status' = 'retired' then coalesce(retired_at, clock_timestamp())"
       "  else retired_at end,"
       " version = version + 1, updated_at = clock_timestamp()"
       " where id = $1::uuid and version = $3::integer"
       " returning safeguard.training_course_json(training_courses)::text, version");

DB_SQL(sql_course_list, 5,
       "select safeguard.training_course_json(c)::text, c.created_at::text, c.id from safeguard.training_courses c"
       " where ($1::timestamptz is null or (c.created_at, c.id) > ($1::timestamptz, $2::uuid))"
       " and ($4::text is null or c.format = $4) and ($5::text is null or c.status = $5)"
       " order by c.created_at, c.id limit $3::integer");

/* ---- handlers ------------------------------------------------------------ */

static int courses_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *p[2] = {id, arena_json_dump(r->arena, r->body)};
	const char *status = kit_str(r->body, "status");
	PGresult *res;
	int rc;

	if (status && !strcmp(status, "retired")) {
		struct verrs errs = {0};

		verrs_add(&errs, "status", "invalid_value", "a new course is draft or published");
		return http_problem_errors(r, 400, "validation-failed", "the body has invalid fields", &errs);
	}
	if ((rc = kit_exec(r, &sql_course_insert, p, 2, &res)) ||
	    (rc = kit_audit(r, "training.course.create", "training_course", id, NULL)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/courses/%s", id));
	return kit_resource(r, 201, res, 0);
}

static int courses_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_course_get, r->params[0], "course", &res)))
		return rc;
	return kit_show(r, res, 0);
}

static int courses_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_course_list, CQ_LIMIT, CQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_AFTER, KIT_ARG_FETCH, CQ_FORMAT, CQ_STATUS)};

	return kit_list(r, &list);
}

/* draft -> published -> retired (or draft -> retired); nothing goes back. */
static bool course_transition_ok(const char *from, const char *to)
{
	return !strcmp(from, to) || (!strcmp(from, "draft") && strcmp(to, "draft") != 0) ||
	       (!strcmp(from, "published") && !strcmp(to, "retired"));
}

static int courses_update(struct sg_req *r)
{
	const char *p[3] = {r->params[0], NULL, NULL};
	const char *from, *to, *format;
	json_t *merged;
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_course_lock, p[0], "course", &res)) ||
	    (rc = kit_if_match(r, PQgetvalue(res, 0, 1))) ||
	    (rc = kit_patch_merge(r, PQgetvalue(res, 0, 0), &course_body, &merged)))
		return rc;
	from = PQgetvalue(res, 0, 2);
	/* a copy: setting "status" below frees the merged object's own string */
	to = arena_strdup(r->arena, kit_str(merged, "status") ? kit_str(merged, "status") : from);
	format = kit_str(merged, "format");
	if (!course_transition_ok(from, to))
		return http_problem(r, 409, "conflict",
				    arena_printf(r->arena,
						 "a %s course cannot become %s: courses go draft, published, retired",
						 from, to));
	if (strcmp(format, PQgetvalue(res, 0, 3)) != 0 && atol(PQgetvalue(res, 0, 4)) > 0)
		return http_problem(r, 409, "conflict",
				    "the course has sessions or completions; its format cannot change");
	if (!strcmp(to, "retired") && strcmp(from, "retired") != 0 && atol(PQgetvalue(res, 0, 5)) > 0)
		return http_problem(r, 409, "conflict",
				    arena_printf(r->arena,
						 "the course has %s scheduled sessions to come; cancel them first",
						 PQgetvalue(res, 0, 5)));
	json_object_set_new(merged, "status", json_string(to));
	p[1] = arena_json_dump(r->arena, merged);
	p[2] = PQgetvalue(res, 0, 1);
	if ((rc = kit_exec(r, &sql_course_update, p, 3, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(r, 412, "precondition-failed", "the course changed while you were updating it");
	if ((rc = kit_audit(
		     r, strcmp(from, to) ? arena_printf(r->arena, "training.course.%s", to) : "training.course.update",
		     "training_course", r->params[0], NULL)))
		return rc;
	return kit_resource(r, 200, res, 0);
}

static const struct route courses_route_list[] = {
	{"POST", "/v1/courses", PERM_TRAINING_MANAGE, &course_body, NULL, courses_create, "courses.create",
	 ROUTE_IDEMPOTENT},
	{"GET", "/v1/courses", PERM_TRAINING_READ, NULL, &course_query, courses_list, "courses.list", 0},
	{"GET", "/v1/courses/{id}", PERM_TRAINING_READ, NULL, NULL, courses_show, "courses.show", 0},
	{"PATCH", "/v1/courses/{id}", PERM_TRAINING_MANAGE, &course_patch_body, NULL, courses_update, "courses.update",
	 ROUTE_PATCH},
};

const struct sg_area courses_area = SG_AREA("courses", courses_route_list);
