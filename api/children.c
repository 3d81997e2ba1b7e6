/*
 * children.c - the register of children and each child's network of
 * agencies.  Children's social care sees every child; any other agency sees
 * a child only while it is in the child's network (it created the child,
 * declared involvement, was invited to a chronology request or sits on a
 * panel the child is referred to).  A child outside the caller's network is
 * a 404 on every route, and row-level security says the same again.  Every
 * read and write of a child is an audit event in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "http.h"
#include "pool.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const education_statuses[] = {"on_roll",           "not_on_roll",           "elective_home_education",
						 "missing_education", "alternative_provision", NULL};

static const char *check_urn(const char *s)
{
	size_t n = strlen(s);

	if (n != 6 && n != 7)
		return "must be a 6 or 7 digit URN";
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return "must be a 6 or 7 digit URN";
	return NULL;
}

static const struct field_spec child_fields[] = {
	{.name = "first_name", .type = FT_STRING, .required = true, .min = 1, .max = 100},
	{.name = "last_name", .type = FT_STRING, .required = true, .min = 1, .max = 100},
	{.name = "preferred_name", .type = FT_STRING, .nullable = true, .min = 1, .max = 100},
	{.name = "date_of_birth", .type = FT_DATE, .required = true},
	{.name = "gender", .type = FT_STRING, .nullable = true, .min = 1, .max = 50},
	{.name = "nhs_number", .type = FT_STRING, .nullable = true, .check = ident_nhs_number, .check_code = "invalid_nhs_number"},
	{.name = "upn", .type = FT_STRING, .nullable = true, .check = ident_upn, .check_code = "invalid_upn"},
	{.name = "address", .type = FT_OBJECT, .nullable = true},
	{.name = "postcode", .type = FT_STRING, .nullable = true, .check = ident_postcode_check, .check_code = "invalid_postcode"},
	{.name = "school_urn", .type = FT_STRING, .nullable = true, .check = check_urn, .check_code = "invalid_urn"},
	{.name = "education_status", .type = FT_ENUM, .enum_values = education_statuses},
	{.name = "not_on_roll_since", .type = FT_DATE, .nullable = true},
	{.name = "ehcp", .type = FT_BOOL},
	{.name = "looked_after", .type = FT_BOOL},
};
static const char *const child_read_only[] = {"id",         "version",           "created_at", "updated_at",
					      "created_by_agency", "family_id", "family_relationship", NULL};

static const struct field_spec search_fields[] = {
	{.name = "nhs_number", .type = FT_STRING, .check = ident_nhs_number, .check_code = "invalid_nhs_number"},
	{.name = "upn", .type = FT_STRING, .check = ident_upn, .check_code = "invalid_upn"},
	{.name = "first_name", .type = FT_STRING, .min = 1, .max = 100},
	{.name = "last_name", .type = FT_STRING, .min = 1, .max = 100},
	{.name = "date_of_birth", .type = FT_DATE},
};
static const struct body_spec search_body = {.fields = search_fields, .n = sizeof search_fields / sizeof search_fields[0]};

static const struct field_spec involvement_fields[] = {
	{.name = "reason", .type = FT_STRING, .required = true, .min = 1, .max = 1000},
};
static const struct body_spec involvement_body = {.fields = involvement_fields, .n = 1};

enum { CQ_LIMIT, CQ_CURSOR, CQ_STATUS, CQ_FAMILY };
static const struct query_param child_query_params[] = {
	[CQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[CQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[CQ_STATUS] = {"education_status", FT_ENUM, 0, 0, education_statuses},
	[CQ_FAMILY] = {"family_id", FT_UUID, 0, 0, NULL},
};
static const struct query_spec child_query = {child_query_params, 4};

enum { LQ_LIMIT, LQ_CURSOR };
static const struct query_param log_query_params[] = {
	[LQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[LQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec log_query = {log_query_params, 2};

/* ---- rules across fields ------------------------------------------------ */

static const char *today(struct arena *a, int years_back)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	return arena_printf(a, "%04d-%02d-%02d", tm.tm_year + 1900 - years_back, tm.tm_mon + 1, tm.tm_mday);
}

static const char *str_field(json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

/* The address object: {lines: 1-4 strings of 1-100, town: 1-100}. */
static void check_address(json_t *addr, struct verrs *errs, struct arena *a)
{
	const char *key;
	json_t *v, *lines;
	size_t i;

	if (!json_is_object(addr))
		return;
	json_object_foreach(addr, key, v) {
		if (strcmp(key, "lines") && strcmp(key, "town"))
			verrs_add(errs, arena_printf(a, "address.%s", key), "unknown_field", "is not a field of an address");
	}
	lines = json_object_get(addr, "lines");
	if (!json_is_array(lines) || json_array_size(lines) < 1 || json_array_size(lines) > 4) {
		verrs_add(errs, "address.lines", "invalid_type", "must be an array of 1 to 4 lines");
	} else {
		json_array_foreach(lines, i, v) {
			if (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > 100)
				verrs_add(errs, arena_printf(a, "address.lines[%zu]", i), "invalid_value",
					  "must be a string of 1 to 100 characters");
		}
	}
	v = json_object_get(addr, "town");
	if (v && (!json_is_string(v) || json_string_length(v) < 1 || json_string_length(v) > 100))
		verrs_add(errs, "address.town", "invalid_value", "must be a string of 1 to 100 characters");
}

/* Rules that need more than one field, on a complete child; also
 * normalises the postcode in place. */
static void check_child(json_t *c, struct verrs *errs, struct arena *a)
{
	const char *dob = str_field(c, "date_of_birth"), *status = str_field(c, "education_status");
	const char *since = str_field(c, "not_on_roll_since"), *pc = str_field(c, "postcode");
	char norm[9];

	if (dob && validate_date(dob)) {
		if (strcmp(dob, today(a, 0)) > 0)
			verrs_add(errs, "date_of_birth", "in_future", "must not be in the future");
		else if (strcmp(dob, today(a, 25)) < 0)
			verrs_add(errs, "date_of_birth", "too_old", "must be at most 25 years ago");
	}
	if (status && (!strcmp(status, "not_on_roll") || !strcmp(status, "missing_education")) && !since)
		verrs_add(errs, "not_on_roll_since", "required",
			  "is required when the education status is not_on_roll or missing_education");
	if (since && validate_date(since)) {
		if (dob && validate_date(dob) && strcmp(since, dob) < 0)
			verrs_add(errs, "not_on_roll_since", "before_birth", "must not be before the date of birth");
		if (strcmp(since, today(a, 0)) > 0)
			verrs_add(errs, "not_on_roll_since", "in_future", "must not be in the future");
	}
	check_address(json_object_get(c, "address"), errs, a);
	if (pc && !ident_postcode(pc, norm))
		json_object_set_new(c, "postcode", json_string(norm));
}

static const struct body_spec child_body = {.fields = child_fields,
					    .n = sizeof child_fields / sizeof child_fields[0],
					    .read_only = child_read_only,
					    .check = check_child};
/* a PATCH checks the merged child against child_body, rules included */
static const struct body_spec child_patch_body = {.fields = child_fields,
						  .n = sizeof child_fields / sizeof child_fields[0],
						  .read_only = child_read_only};

/* ---- helpers ------------------------------------------------------------ */

static const char *etag_of(struct arena *a, PGresult *res, int row, int col)
{
	return arena_printf(a, "\"v%s\"", PQgetvalue(res, row, col));
}

/* Parses a JSON column built by the database; the arena owns the result. */
static json_t *json_col(struct sg_req *r, PGresult *res, int row, int col)
{
	return arena_json(r->arena, json_loads(PQgetvalue(res, row, col), 0, NULL));
}

/* Answers 409 with the id of the child that already holds an identifier. */
static int duplicate(struct sg_req *r, const char *existing)
{
	json_t *body = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", "/problems/possible-duplicate", "title",
				 "Conflict", "status", 409, "detail",
				 "a child with this NHS number or UPN is already registered; declare involvement instead",
				 "request_id", r->request_id ? r->request_id : "", "existing_id", existing);
	int rc = http_json(r, 409, body);

	r->content_type_out = "application/problem+json";
	return rc;
}

/* 409 when another child holds the NHS number or UPN of c (not self). */
static int check_duplicate(struct sg_req *r, json_t *c, const char *self)
{
	const char *p[2] = {str_field(c, "nhs_number"), str_field(c, "upn")};
	PGresult *res;
	enum db_status ds;
	int rc = 0;

	if (!p[0] && !p[1])
		return 0;
	ds = db_exec(DB_CHILD_DUPLICATE, p, 2, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "duplicate check failed");
	if (!PQgetisnull(res, 0, 0) && (!self || strcmp(self, PQgetvalue(res, 0, 0)) != 0))
		rc = duplicate(r, arena_strdup(r->arena, PQgetvalue(res, 0, 0)));
	PQclear(res);
	return rc;
}

/* ---- handlers ------------------------------------------------------------ */

static int children_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *p[2];
	PGresult *res;
	enum db_status ds;
	char sqlstate[6];
	json_t *child;
	int rc;

	if ((rc = check_duplicate(r, r->body, NULL)))
		return rc;
	p[0] = id;
	ds = db_exec(DB_CHILD_NETWORK_CREATED, p, 1, &res, NULL);
	PQclear(res);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "network insert failed");
	p[1] = arena_json_dump(r->arena, r->body);
	ds = db_exec(DB_CHILD_INSERT, p, 2, &res, sqlstate);
	if (ds == DB_ERROR && !strcmp(sqlstate, "23505"))
		return duplicate(r, "");
	if (ds != DB_OK)
		return http_db_fail(r, ds, "child insert failed");
	child = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	http_header(r, "ETag", etag_of(r->arena, res, 0, 1));
	http_header(r, "Location", arena_printf(r->arena, "/v1/children/%s", id));
	PQclear(res);
	if ((rc = http_audit(r, "child.create", "child", id, NULL))) {
		json_decref(child);
		return rc;
	}
	return http_json(r, 201, child);
}

static int children_show(struct sg_req *r)
{
	const char *p[1] = {r->params[0]};
	PGresult *res;
	enum db_status ds;
	json_t *child;
	int rc;

	if (!validate_uuid(p[0]))
		return http_not_found(r, "child");
	ds = db_exec(DB_CHILD_GET, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "child read failed");
	if (PQntuples(res) == 0) {
		PQclear(res);
		return http_not_found(r, "child");
	}
	rc = http_etag(r, etag_of(r->arena, res, 0, 1));
	child = rc ? NULL : json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	return rc ? rc : http_json(r, 200, child);
}

static int children_update(struct sg_req *r)
{
	struct verrs errs = {0};
	const char *p[3] = {r->params[0], NULL, NULL};
	const char *key;
	json_t *merged, *v;
	PGresult *res;
	enum db_status ds;
	char sqlstate[6];
	int rc;

	if (!validate_uuid(p[0]))
		return http_not_found(r, "child");
	ds = db_exec(DB_CHILD_LOCK, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "child read failed");
	if (PQntuples(res) == 0) {
		PQclear(res);
		return http_not_found(r, "child");
	}
	merged = json_col(r, res, 0, 0);
	p[2] = arena_strdup(r->arena, PQgetvalue(res, 0, 1));
	rc = http_require_match(r, etag_of(r->arena, res, 0, 1));
	PQclear(res);
	if (rc)
		return rc;
	/* keep only what a client may write, then apply the patch */
	for (size_t i = 0; child_read_only[i]; i++)
		json_object_del(merged, child_read_only[i]);
	json_object_foreach(r->body, key, v) {
		if (json_is_null(v))
			json_object_del(merged, key);
		else
			json_object_set(merged, key, v);
	}
	json_object_foreach(merged, key, v) {
		if (json_is_null(v))
			json_object_del(merged, key); /* safe: jansson's foreach tolerates deleting the current key */
	}
	validate_body(&child_body, merged, &errs, r->arena);
	if (errs.n)
		return http_problem_errors(r, 400, "validation-failed", "the child would have invalid fields", &errs);
	if ((rc = check_duplicate(r, merged, p[0])))
		return rc;
	p[1] = arena_json_dump(r->arena, merged);
	ds = db_exec(DB_CHILD_UPDATE, p, 3, &res, sqlstate);
	if (ds == DB_ERROR && !strcmp(sqlstate, "23505"))
		return duplicate(r, "");
	if (ds != DB_OK)
		return http_db_fail(r, ds, "child update failed");
	if (PQntuples(res) == 0) { /* changed since we locked it: cannot happen, but never lose a write */
		PQclear(res);
		return http_problem(r, 412, "precondition-failed", "the child changed while you were updating it");
	}
	merged = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	http_header(r, "ETag", etag_of(r->arena, res, 0, 1));
	PQclear(res);
	if ((rc = http_audit(r, "child.update", "child", r->params[0], NULL))) {
		json_decref(merged);
		return rc;
	}
	return http_json(r, 200, merged);
}

static int children_list(struct sg_req *r)
{
	const char *const *q = r->query.values;
	const char *after[2] = {NULL, NULL};
	long limit = q[CQ_LIMIT] ? strtol(q[CQ_LIMIT], NULL, 10) : 50;
	const char *p[5];
	const char *next = NULL;
	PGresult *res;
	enum db_status ds;
	int n, rc;

	if (q[CQ_CURSOR] && (!cursor_decode(r->arena, q[CQ_CURSOR], after, 2) || !validate_uuid(after[1]) ||
			     !validate_pg_timestamp(after[0])))
		return http_problem(r, 400, "invalid-cursor", "the cursor is not one this endpoint issued");
	p[0] = after[0];
	p[1] = after[1];
	p[2] = arena_printf(r->arena, "%ld", limit + 1);
	p[3] = q[CQ_STATUS];
	p[4] = q[CQ_FAMILY];
	ds = db_exec(DB_CHILD_LIST, p, 5, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "child list failed");
	n = PQntuples(res);
	if (n > limit) {
		const char *parts[2] = {PQgetvalue(res, (int)limit - 1, 1), PQgetvalue(res, (int)limit - 1, 2)};

		next = cursor_encode(r->arena, parts, 2);
	}
	rc = http_list_rows(r, res, 0, n > limit ? (int)limit : n, next);
	PQclear(res);
	return rc;
}

/* Exact-identifier search: a visible match in full, another as its id only. */
static int children_search(struct sg_req *r)
{
	json_t *b = r->body;
	const char *nhs = str_field(b, "nhs_number"), *upn = str_field(b, "upn");
	const char *first = str_field(b, "first_name"), *last = str_field(b, "last_name");
	const char *dob = str_field(b, "date_of_birth");
	const char *p[5] = {nhs, upn, first, last, dob}, *kind;
	bool full = access_allows(PERM_CHILD_READ, &r->id);
	PGresult *res;
	enum db_status ds;
	json_t *items, *ids;
	int kinds = (nhs != NULL) + (upn != NULL) + (first || last || dob), rc;

	if (kinds != 1 || ((first || last || dob) && !(first && last && dob))) {
		struct verrs errs = {0};

		verrs_add(&errs, "", "invalid_search",
			  "search by exactly one of: nhs_number; upn; first_name with last_name and date_of_birth");
		return http_problem_errors(r, 400, "validation-failed", "the search is not one of the allowed kinds", &errs);
	}
	kind = nhs ? "nhs_number" : upn ? "upn" : "name_and_date_of_birth";
	ds = db_exec(DB_CHILD_SEARCH, p, 5, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "child search failed");
	items = arena_json(r->arena, json_array());
	ids = arena_json(r->arena, json_array());
	for (int i = 0; i < PQntuples(res); i++) {
		const char *id = arena_strdup(r->arena, PQgetvalue(res, i, 0));
		bool in_network = PQgetvalue(res, i, 1)[0] == 't';

		json_array_append_new(ids, json_string(id));
		if (in_network && full) {
			const char *gp[1] = {id};
			PGresult *cres;

			ds = db_exec(DB_CHILD_GET, gp, 1, &cres, NULL);
			if (ds != DB_OK) {
				PQclear(res);
				return http_db_fail(r, ds, "child read failed");
			}
			if (PQntuples(cres) == 1)
				json_array_append_new(items, json_loads(PQgetvalue(cres, 0, 0), 0, NULL));
			PQclear(cres);
		} else {
			json_array_append_new(items, json_pack("{s:s, s:b}", "id", id, "in_network", in_network));
		}
	}
	PQclear(res);
	/* the identifiers themselves are never stored: only the kind and the matches */
	rc = http_audit(r, "child.search", "child", NULL,
			   arena_json_dump(r->arena, arena_json(r->arena, json_pack("{s:s, s:O}", "kind", kind, "matches", ids))));
	if (rc)
		return rc;
	return http_json(r, 200, json_pack("{s:O, s:n}", "items", items, "next_cursor"));
}

static json_t *network_row(PGresult *res, int i)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "agency", PQgetvalue(res, i, 0), "joined_at", PQgetvalue(res, i, 1),
			      "how", PQgetvalue(res, i, 2));

	json_object_set_new(o, "reason", PQgetisnull(res, i, 3) ? json_null() : json_string(PQgetvalue(res, i, 3)));
	return o;
}

static int children_declare(struct sg_req *r)
{
	const char *p[2] = {r->params[0], str_field(r->body, "reason")};
	const char *lp[2] = {r->params[0], sg_agency_names[r->id.agency]};
	PGresult *res;
	enum db_status ds;
	bool created;
	json_t *row;
	int rc;

	if ((rc = http_check_exists(r, DB_CHILD_EXISTS, p[0], "child")))
		return rc;
	ds = db_exec(DB_NETWORK_DECLARE, p, 2, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "declaration failed");
	created = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	ds = db_exec(DB_NETWORK_LIST, lp, 2, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "network read failed");
	if (PQntuples(res) != 1) {
		PQclear(res);
		return http_internal(r, "declared involvement is not visible");
	}
	row = network_row(res, 0);
	json_object_set_new(row, "child_id", json_string(r->params[0]));
	PQclear(res);
	if (created && (rc = http_audit(r, "child.involvement.declare", "child", r->params[0], NULL))) {
		json_decref(row);
		return rc;
	}
	return http_json(r, created ? 201 : 200, row);
}

static int children_network(struct sg_req *r)
{
	const char *p[2] = {r->params[0], NULL};
	PGresult *res;
	enum db_status ds;
	json_t *items;
	int rc;

	if ((rc = http_check_exists(r, DB_CHILD_VISIBLE, p[0], "child")))
		return rc;
	ds = db_exec(DB_NETWORK_LIST, p, 2, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "network read failed");
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, network_row(res, i));
	PQclear(res);
	if ((rc = http_audit(r, "child.network.read", "child", p[0], NULL))) {
		json_decref(items);
		return rc;
	}
	return http_list(r, items, NULL);
}

/* Who read or changed this child's record, newest first. */
static int children_access_log(struct sg_req *r)
{
	const char *const *q = r->query.values;
	const char *p[1] = {r->params[0]};
	int rc;

	if ((rc = http_check_exists(r, DB_CHILD_EXISTS, p[0], "child")))
		return rc;
	{
		const struct audit_filter f = {.resource_type = "child", .resource_id = p[0]};

		return audit_list_page(r, &f, q[LQ_LIMIT], q[LQ_CURSOR], "child.access_log.read", "child", p[0]);
	}
}

static const struct route children_route_list[] = {
	{"POST", "/v1/children", PERM_CHILD_CREATE, &child_body, NULL, children_create, "children.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/children", PERM_CHILD_READ, NULL, &child_query, children_list, "children.list", 0},
	{"POST", "/v1/children/search", PERM_CHILD_SEARCH, &search_body, NULL, children_search, "children.search", 0},
	{"GET", "/v1/children/{id}", PERM_CHILD_READ, NULL, NULL, children_show, "children.show", 0},
	{"PATCH", "/v1/children/{id}", PERM_CHILD_UPDATE, &child_patch_body, NULL, children_update, "children.update", ROUTE_PATCH},
	{"POST", "/v1/children/{id}/involvements", PERM_CHILD_DECLARE, &involvement_body, NULL, children_declare,
	 "children.involvements.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/children/{id}/network", PERM_CHILD_READ, NULL, NULL, children_network, "children.network", 0},
	{"GET", "/v1/children/{id}/access-log", PERM_CHILD_ACCESS_LOG, NULL, &log_query, children_access_log,
	 "children.access_log", 0},
};

const struct route_table children_routes = {children_route_list,
					    sizeof children_route_list / sizeof children_route_list[0]};
