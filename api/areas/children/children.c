/*
 * children.c - the register of children and each child's network of
 * agencies.  Children's social care sees every child; any other agency sees
 * a child only while it is in the child's network (it created the child,
 * declared involvement (break-glass, reviewed by CSC: involvements.c), was
 * invited to a chronology request or sits on a panel the child is referred
 * to).  A child outside the caller's network is
 * a 404 on every route, and row-level security says the same again.  Every
 * read and write of a child is an audit event in the same transaction.
 *
 * Seeing is not changing: an invitation or a panel referral lets an agency
 * read the child while it lasts, but only CSC and the network change the
 * record (DESIGN.md 4); anyone else who sees it is answered 403 saying so
 * (kit_child_writable), and the update policy (013) holds the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ident.h"
#include "kit.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const education_statuses[] = {
	"on_roll", "not_on_roll", "elective_home_education", "missing_education", "alternative_provision", NULL};

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
	{.name = "nhs_number",
	 .type = FT_STRING,
	 .nullable = true,
	 .check = ident_nhs_number,
	 .check_code = "invalid_nhs_number"},
	{.name = "upn", .type = FT_STRING, .nullable = true, .check = ident_upn, .check_code = "invalid_upn"},
	{.name = "address", .type = FT_OBJECT, .nullable = true},
	{.name = "postcode",
	 .type = FT_STRING,
	 .nullable = true,
	 .check = ident_postcode_check,
	 .check_code = "invalid_postcode"},
	{.name = "school_urn", .type = FT_STRING, .nullable = true, .check = check_urn, .check_code = "invalid_urn"},
	{.name = "education_status", .type = FT_ENUM, .enum_values = education_statuses},
	{.name = "not_on_roll_since", .type = FT_DATE, .nullable = true},
	{.name = "ehcp", .type = FT_BOOL},
	{.name = "looked_after", .type = FT_BOOL},
	{.name = "child_protection_plan", .type = FT_BOOL}, /* 009: flags a CME case at once */
};
static const char *const child_read_only[] = {
	"id", "version", "created_at", "updated_at", "created_by_agency", "family_id", "family_relationship", NULL};

static const struct field_spec search_fields[] = {
	{.name = "nhs_number", .type = FT_STRING, .check = ident_nhs_number, .check_code = "invalid_nhs_number"},
	{.name = "upn", .type = FT_STRING, .check = ident_upn, .check_code = "invalid_upn"},
	{.name = "first_name", .type = FT_STRING, .min = 1, .max = 100},
	{.name = "last_name", .type = FT_STRING, .min = 1, .max = 100},
	{.name = "date_of_birth", .type = FT_DATE},
};
static const struct body_spec search_body = {.fields = search_fields,
					     .n = sizeof search_fields / sizeof search_fields[0]};

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

/* Today (years_back years ago) in the deployment's time zone, as kit_today. */
static const char *today(struct arena *a, int years_back)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	return arena_printf(a, "%04d-%02d-%02d", tm.tm_year + 1900 - years_back, tm.tm_mon + 1, tm.tm_mday);
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
			verrs_add(errs, arena_printf(a, "address.%s", key), "unknown_field",
				  "is not a field of an address");
	}
	lines = json_object_get(addr, "lines");
	if (!json_is_array(lines) || json_array_size(lines) < 1 || json_array_size(lines) > 4) {
		verrs_add(errs, "address.lines", "invalid_type", "must be an array of 1 to 4 lines");
	} else {
		json_array_foreach(lines, i, v) {
			if (!validate_text(v, 100))
				verrs_add(errs, arena_printf(a, "address.lines[%zu]", i), "invalid_value",
					  "must be a string of 1 to 100 characters");
		}
	}
	v = json_object_get(addr, "town"); /* optional: absent or null is no town */
	if (v && !json_is_null(v) && !validate_text(v, 100))
		verrs_add(errs, "address.town", "invalid_value", "must be a string of 1 to 100 characters");
}

/* Rules that need more than one field, on a complete child; also
 * normalises the postcode in place. */
static void check_child(json_t *c, struct verrs *errs, struct arena *a)
{
	const char *dob = kit_str(c, "date_of_birth"), *status = kit_str(c, "education_status");
	const char *since = kit_str(c, "not_on_roll_since"), *pc = kit_str(c, "postcode");
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
						  .read_only = child_read_only,
						  .patch_merged = true};

/* ---- statements (prepared on first use on each connection) ---------------- */

#define CHILD_COLUMNS_FROM_B                                                                                           \
	"b->>'first_name', b->>'last_name', b->>'preferred_name', (b->>'date_of_birth')::date,"                        \
	" b->>'gender', b->>'nhs_number', b->>'upn',"                                                                  \
	" coalesce(array(select jsonb_array_elements_text(b->'address'->'lines')), '{}'),"                             \
	" b->'address'->>'town', b->>'postcode', b->>'school_urn',"                                                    \
	" coalesce(b->>'education_status', 'on_roll'), (b->>'not_on_roll_since')::date,"                               \
	" coalesce((b->>'ehcp')::boolean, false), coalesce((b->>'looked_after')::boolean, false),"                     \
	" coalesce((b->>'child_protection_plan')::boolean, false)"

/* another child holding the NHS number or UPN, its audit row written (039) */
DB_SQL(sql_child_duplicate, 3, "select safeguard.child_by_identifier($1, $2, $3::uuid)");

/* the duplicate check, the network, the child and its audit row in one
 * call (020): (child, version, the child already holding an identifier) */
DB_SQL(sql_child_create, 2, "select doc, version, existing from safeguard.child_create($1::uuid, $2::jsonb)");

DB_SQL(sql_child_get, 1,
       "with c as (select safeguard.child_json(c)::text as j, c.version, c.id from safeguard.children c"
       " where c.id = $1::uuid), a as (" AUDIT_FROM("'child.read'", "id::text") " from c)"
										" select j, version from c");

DB_SQL(sql_child_lock, 1,
       "select safeguard.child_json(c)::text, c.version from safeguard.children c"
       " where c.id = $1::uuid for update");

DB_SQL(sql_child_update, 3,
       "update safeguard.children set (first_name, last_name, preferred_name, date_of_birth,"
       " gender, nhs_number, upn, address_lines, address_town, postcode, school_urn, education_status,"
       " not_on_roll_since, ehcp, looked_after, child_protection_plan) = (select " CHILD_COLUMNS_FROM_B
       " from (select $2::jsonb as b) s), version = version + 1, updated_at = clock_timestamp()"
       " where id = $1::uuid and version = $3::int returning safeguard.child_json(children)::text, version");

/* A page of the list in one statement: for most callers the register read
 * in its order under row-level security, which stops after about a page;
 * for an agency whose network is a small part of the register
 * (safeguard.child_list_sparse, 035) the ids safeguard.child_page picks
 * without reading the register row by row, read under row-level security
 * as ever.  Each branch runs only when its one-time condition holds; the
 * calls are subqueries so that each runs once, when the statement does. */
#define CHILD_LIST_PAGE(sparse, where)                                                                                 \
	"(select safeguard.child_json(c)::text as j, c.created_at, c.id from safeguard.children c"                     \
	" where " sparse " (select s from sparse) and " where " order by c.created_at, c.id limit $3::int)"

#define CHILD_LIST_IN_ORDER                                                                                            \
	"(c.created_at, c.id) > ($1::timestamptz, $2::uuid) and ($4::text is null or c.education_status = $4)"

/* the list, and the list of one family's children (an index of its own: a
 * plan kept for the list would walk the register for a family's few) */
#define CHILD_LIST_SQL(family_where, family_arg)                                                                       \
	"with sparse as materialized (select safeguard.child_list_sparse() as s),"                                     \
	" page as (" CHILD_LIST_PAGE("not", CHILD_LIST_IN_ORDER family_where) " union all " CHILD_LIST_PAGE(           \
		"",                                                                                                    \
		"c.id = any ((select safeguard.child_page($1::timestamptz, $2::uuid, $3::int, $4::text, " family_arg   \
		"))::uuid[])") "),"                                                                                    \
			       " a as (" AUDIT_FROM(                                                                   \
				       "'child.read'",                                                                 \
				       "id::text") " from (select id from page order by created_at, id"                \
						   " limit $3::int - 1) kept)" /* the look-ahead row is not audited */ \
						   " select j, created_at::text, id from page order by created_at, id"

DB_SQL(sql_child_list, 4, CHILD_LIST_SQL("", "null"));
DB_SQL(sql_child_list_family, 5, CHILD_LIST_SQL(" and c.family_id = $5::uuid", "$5::uuid"));

DB_SQL(sql_child_search, 5, "select s.id, s.in_network from safeguard.child_search($1, $2, $3, $4, $5::date) s");

DB_SQL(sql_network_declare, 2,
       "insert into safeguard.child_network (child_id, agency, how, reason, joined_by)"
       " values ($1::uuid, safeguard.app_agency(), 'declared', $2, safeguard.app_sub())"
       " on conflict do nothing");

DB_SQL(sql_network_list, 2,
       "select agency, to_char(joined_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), how, reason"
       " from safeguard.child_network where child_id = $1::uuid and ($2::text is null or agency = $2)"
       " order by joined_at, agency");

/* ---- helpers ------------------------------------------------------------ */

/* Answers 409 with the id of the child that already holds an identifier. */
static int duplicate(struct sg_req *r, const char *existing)
{
	json_t *body = json_pack(
		"{s:s, s:s, s:i, s:s, s:s, s:s}", "type", "/problems/possible-duplicate", "title", "Conflict", "status",
		409, "detail", "a child with this NHS number or UPN is already registered; declare involvement instead",
		"request_id", r->request_id ? r->request_id : "", "existing_id", existing);
	int rc = http_json(r, 409, body);

	r->content_type_out = "application/problem+json";
	/* the caller has learnt of a child it may not see: that search's audit
	 * row (039) stands, with nothing else the request did */
	r->commit_error = *existing != '\0';
	return rc;
}

/* 409 when another child holds the NHS number or UPN of c (not self). */
static int check_duplicate(struct sg_req *r, json_t *c, const char *self)
{
	const char *p[3] = {kit_str(c, "nhs_number"), kit_str(c, "upn"), self};
	PGresult *res;
	int rc;

	if (!p[0] && !p[1])
		return 0;
	if ((rc = kit_exec(r, &sql_child_duplicate, p, 3, &res)))
		return rc;
	if (!PQgetisnull(res, 0, 0))
		return duplicate(r, arena_strdup(r->arena, PQgetvalue(res, 0, 0)));
	return 0;
}

/* ---- handlers ------------------------------------------------------------ */

static int children_create(struct sg_req *r)
{
	const char *p[2] = {ident_uuid(r->arena), arena_json_dump(r->arena, r->body)};
	PGresult *res;
	char sqlstate[6];
	int rc;

	rc = kit_exec_constraint(r, &sql_child_create, p, 2, &res, sqlstate);
	/* a concurrent create of the identifier is answered by the call with the
	 * winner's id (023); a violation it could not settle is still a 409 */
	if (rc == KIT_CONSTRAINT)
		return duplicate(r, "");
	if (rc)
		return rc;
	if (!PQgetisnull(res, 0, 2))
		return duplicate(r, PQgetvalue(res, 0, 2));
	http_header(r, "Location", arena_printf(r->arena, "/v1/children/%s", p[0]));
	return kit_resource(r, 201, res, 0);
}

static int children_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	/* the statement writes the child's audit row as it reads */
	if ((rc = kit_fetch_id(r, &sql_child_get, r->params[0], "child", &res)))
		return rc;
	return kit_show(r, res, 0);
}

static int children_update(struct sg_req *r)
{
	const char *p[3] = {r->params[0], NULL, NULL};
	json_t *merged;
	PGresult *res;
	char sqlstate[6];
	int rc;

	/* before the lock, which goes through the update policy: a child the
	 * caller only reads would be a 404 there */
	if ((rc = kit_child_writable(r, p[0])) || (rc = kit_fetch_id(r, &sql_child_lock, p[0], "child", &res)) ||
	    (rc = kit_if_match(r, PQgetvalue(res, 0, 1))) ||
	    (rc = kit_patch_merge(r, PQgetvalue(res, 0, 0), &child_body, &merged)) ||
	    (rc = check_duplicate(r, merged, p[0])))
		return rc;
	p[1] = arena_json_dump(r->arena, merged);
	p[2] = PQgetvalue(res, 0, 1);
	rc = kit_exec_constraint(r, &sql_child_update, p, 3, &res, sqlstate);
	if (rc == KIT_CONSTRAINT)
		return duplicate(r, "");
	if (rc)
		return rc;
	if (PQntuples(res) == 0) /* changed since we locked it: cannot happen, but never lose a write */
		return http_problem(r, 412, "precondition-failed", "the child changed while you were updating it");
	if ((rc = kit_audit(r, "child.update", "child", r->params[0], NULL)))
		return rc;
	return kit_resource(r, 200, res, 0);
}

/* The statement audits every child of the page it returns. */
static int children_list(struct sg_req *r)
{
	/* from the lowest position on the first page: one plan serves every page */
	static const struct kit_list list = {&sql_child_list, CQ_LIMIT, CQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_FROM, KIT_ARG_FETCH, CQ_STATUS)};
	static const struct kit_list family = {&sql_child_list_family, CQ_LIMIT, CQ_CURSOR,
					       KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					       KIT_ARGS(KIT_ARG_FROM, KIT_ARG_FETCH, CQ_STATUS, CQ_FAMILY)};

	return kit_list(r, r->query.values[CQ_FAMILY] ? &family : &list);
}

/* Exact-identifier search: a visible match in full, another as its id only. */
static int children_search(struct sg_req *r)
{
	json_t *b = r->body;
	const char *nhs = kit_str(b, "nhs_number"), *upn = kit_str(b, "upn");
	const char *first = kit_str(b, "first_name"), *last = kit_str(b, "last_name");
	const char *dob = kit_str(b, "date_of_birth");
	const char *p[5] = {nhs, upn, first, last, dob}, *kind;
	bool full = access_allows(PERM_CHILD_READ, &r->id);
	PGresult *res, *cres;
	json_t *items, *ids;
	int kinds = (nhs != NULL) + (upn != NULL) + (first || last || dob), rc;

	if (kinds != 1 || ((first || last || dob) && !(first && last && dob))) {
		struct verrs errs = {0};

		verrs_add(&errs, "", "invalid_search",
			  "search by exactly one of: nhs_number; upn; first_name with last_name and date_of_birth");
		return http_problem_errors(r, 400, "validation-failed", "the search is not one of the allowed kinds",
					   &errs);
	}
	kind = nhs ? "nhs_number" : upn ? "upn" : "name_and_date_of_birth";
	if ((rc = kit_exec(r, &sql_child_search, p, 5, &res)))
		return rc;
	items = arena_json(r->arena, json_array());
	ids = arena_json(r->arena, json_array());
	for (int i = 0; i < PQntuples(res); i++) {
		const char *id = PQgetvalue(res, i, 0);
		bool in_network = PQgetvalue(res, i, 1)[0] == 't';

		json_array_append_new(ids, json_string(id));
		if (!in_network || !full) {
			json_array_append_new(items, json_pack("{s:s, s:b}", "id", id, "in_network", in_network));
			continue;
		}
		/* the read audits the child it returns */
		if ((rc = kit_exec(r, &sql_child_get, &id, 1, &cres)))
			return rc;
		if (PQntuples(cres) == 1) {
			json_t *c = json_loads(PQgetvalue(cres, 0, 0), 0, NULL);

			if (!c)
				return http_internal(r, "stored child is not JSON");
			json_array_append_new(items, c);
		}
	}
	/* the identifiers themselves are never stored: only the kind and the matches */
	rc = kit_audit(
		r, "child.search", "child", NULL,
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
	const char *p[2] = {r->params[0], kit_str(r->body, "reason")};
	const char *lp[2] = {r->params[0], sg_agency_names[r->id.agency]};
	PGresult *res;
	bool created;
	json_t *row;
	int rc;

	if ((rc = kit_child_exists(r, p[0])) || (rc = kit_exec(r, &sql_network_declare, p, 2, &res)))
		return rc;
	created = strcmp(PQcmdTuples(res), "1") == 0;
	if ((rc = kit_exec(r, &sql_network_list, lp, 2, &res)))
		return rc;
	if (PQntuples(res) != 1)
		return http_internal(r, "declared involvement is not visible");
	if (created && (rc = kit_audit(r, "child.involvement.declare", "child", r->params[0], NULL)))
		return rc;
	row = network_row(res, 0);
	json_object_set_new(row, "child_id", json_string(r->params[0]));
	return http_json(r, created ? 201 : 200, row);
}

static int children_network(struct sg_req *r)
{
	const char *p[2] = {r->params[0], NULL};
	PGresult *res;
	json_t *items;
	int rc;

	if ((rc = kit_child_visible(r, p[0])) || (rc = kit_exec(r, &sql_network_list, p, 2, &res)) ||
	    (rc = kit_audit(r, "child.network.read", "child", p[0], NULL)))
		return rc;
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, network_row(res, i));
	return http_list(r, items, NULL);
}

/* Who read or changed this child's record, newest first, each event marked
 * when its actor's agency read through a self-declared involvement.  CSC's
 * leads and the partnership's auditors read any child's log; an agency's
 * auditor only the log of a child in its agency's network (else 404). */
static int children_access_log(struct sg_req *r)
{
	const char *const *q = r->query.values;
	const struct audit_filter f = {.resource_type = "child", .resource_id = r->params[0], .access_log = true};
	int rc;

	if ((rc = access_allows(PERM_AUDIT_READ_ALL, &r->id) ? kit_child_exists(r, r->params[0])
							     : kit_child_visible(r, r->params[0])))
		return rc;
	return audit_list_page(r, &f, q[LQ_LIMIT], q[LQ_CURSOR], "child.access_log.read", "child", r->params[0]);
}

static const struct route children_route_list[] = {
	{"POST", "/v1/children", PERM_CHILD_CREATE, &child_body, NULL, children_create, "children.create",
	 ROUTE_IDEMPOTENT | ROUTE_ONE_STATEMENT},
	{"GET", "/v1/children", PERM_CHILD_READ, NULL, &child_query, children_list, "children.list",
	 ROUTE_ONE_STATEMENT},
	{"POST", "/v1/children/search", PERM_CHILD_SEARCH, &search_body, NULL, children_search, "children.search", 0},
	{"GET", "/v1/children/{id}", PERM_CHILD_READ, NULL, NULL, children_show, "children.show", ROUTE_ONE_STATEMENT},
	{"PATCH", "/v1/children/{id}", PERM_CHILD_UPDATE, &child_patch_body, NULL, children_update, "children.update",
	 ROUTE_PATCH},
	{"POST", "/v1/children/{id}/involvements", PERM_CHILD_DECLARE, &involvement_body, NULL, children_declare,
	 "children.involvements.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/children/{id}/network", PERM_CHILD_READ, NULL, NULL, children_network, "children.network", 0},
	{"GET", "/v1/children/{id}/access-log", PERM_CHILD_ACCESS_LOG, NULL, &log_query, children_access_log,
	 "children.access_log", 0},
};

const struct sg_area children_area = SG_AREA("children", children_route_list);
