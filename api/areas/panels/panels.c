/*
 * panels.c - the partnership's multi-agency panels (issue 10): a type (the
 * Children Missing Education panel, an area's missing-and-exploited panel,
 * the joint police/youth-justice panel, the operational risk meeting), a
 * name, an optional area, member agencies and a chair agency.  Admins create
 * panels and change their membership; a panel's terms of reference are read
 * by every case role, while its cases are read only by its member agencies
 * (the other files of this folder).  Also the helpers the area shares
 * (panels.h): the caller's standing on a panel and the common answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ident.h"
#include "panels.h"

const char *const panels_risk_levels[] = {"low", "medium", "high", NULL};

/* ---- field specs ------------------------------------------------------- */

static const char *const panel_types[] = {"cme", "missing_exploited", "joint_police_yj", "risk_meeting", NULL};

#define PANEL_FIELDS_BUT_TYPE                                                                                          \
	{.name = "name", .type = FT_STRING, .required = true, .min = 1, .max = 200},                                   \
		{.name = "area", .type = FT_STRING, .nullable = true, .min = 1, .max = 100},                           \
		{.name = "chair_agency", .type = FT_ENUM, .required = true, .enum_values = sg_agency_names},           \
	{                                                                                                              \
		.name = "member_agencies", .type = FT_STRING_ARRAY, .required = true, .min = 1, .max = AGENCY__COUNT,  \
		.enum_values = sg_agency_names                                                                         \
	}

static const struct field_spec panel_fields[] = {
	{.name = "type", .type = FT_ENUM, .required = true, .enum_values = panel_types},
	PANEL_FIELDS_BUT_TYPE,
};
static const struct field_spec panel_patch_fields[] = {PANEL_FIELDS_BUT_TYPE};
static const char *const panel_read_only[] = {"id", "version", "created_at", "updated_at", NULL};
static const char *const panel_patch_read_only[] = {"id", "type", "version", "created_at", "updated_at", NULL};

static bool listed(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/* Rules of a whole panel, on a create body or a merged PATCH (type set). */
static void check_panel(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *type = kit_str(b, "type"), *chair = kit_str(b, "chair_agency");
	json_t *members = json_object_get(b, "member_agencies"), *v;
	size_t i;

	if (json_is_array(members))
		json_array_foreach(members, i, v) {
			for (size_t k = 0; k < i; k++)
				if (json_equal(v, json_array_get(members, k)))
					verrs_add(errs, arena_printf(a, "member_agencies[%zu]", i), "duplicate",
						  "is listed twice");
		}
	if (!type)
		return;
	if (!strcmp(type, "missing_exploited") && !kit_str(b, "area"))
		verrs_add(errs, "area", "required", "is required for a missing_exploited panel (one panel per area)");
	if (!strcmp(type, "risk_meeting") && chair && strcmp(chair, "police") != 0)
		verrs_add(errs, "chair_agency", "police_chair", "the operational risk meeting is chaired by police");
	if (!strcmp(type, "joint_police_yj") && json_is_array(members)) {
		if (!listed(members, "police") && (!chair || strcmp(chair, "police")))
			verrs_add(errs, "member_agencies", "police_required",
				  "the joint panel needs police as a member");
		if (!listed(members, "youth_justice") && (!chair || strcmp(chair, "youth_justice")))
			verrs_add(errs, "member_agencies", "youth_justice_required",
				  "the joint panel needs youth_justice as a member");
	}
}

static const struct body_spec panel_body = {.fields = panel_fields,
					    .n = sizeof panel_fields / sizeof panel_fields[0],
					    .read_only = panel_read_only,
					    .check = check_panel};
static const struct body_spec panel_patch_body = {.fields = panel_patch_fields,
						  .n = sizeof panel_patch_fields / sizeof panel_patch_fields[0],
						  .read_only = panel_patch_read_only,
						  .patch_merged = true,
						  .whole = &panel_body};

enum { PQ_LIMIT, PQ_CURSOR, PQ_TYPE };
static const struct query_param panel_query_params[] = {
	[PQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[PQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[PQ_TYPE] = {"type", FT_ENUM, 0, 0, panel_types},
};
static const struct query_spec panel_query = {panel_query_params, 3};

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_panel_standing, 1,
       "select p.type, p.chair_agency, exists (select 1 from safeguard.panel_members m"
       " where m.panel_id = p.id and m.agency = safeguard.app_agency())"
       " from safeguard.panels p where p.id = $1::uuid");

/* the chair agency always sits on its panel */
DB_SQL(sql_panel_insert, 2,
       "with b as (select $2::jsonb as b), p as (insert into safeguard.panels (id, type, name, area, chair_agency,"
       " created_by) select $1::uuid, b->>'type', b->>'name', b->>'area', b->>'chair_agency', safeguard.app_sub()"
       " from b returning id)"
       " insert into safeguard.panel_members (panel_id, agency)"
       " select distinct $1::uuid, a from (select jsonb_array_elements_text(b->'member_agencies') a from b"
       " union select b->>'chair_agency' from b) x");

DB_SQL(sql_panel_get, 1,
       "select safeguard.panel_json(p)::text, p.version from safeguard.panels p where p.id = $1::uuid");

DB_SQL(sql_panel_lock, 1,
       "select safeguard.panel_json(p)::text, p.version from safeguard.panels p"
       " where p.id = $1::uuid for update");

DB_SQL(sql_panel_open_owners, 1, "select array_to_string(safeguard.panel_open_action_owners($1::uuid), ', ')");

DB_SQL(sql_panel_update, 3,
       "with b as (select $2::jsonb as b), m as (select distinct a from (select jsonb_array_elements_text(b->"
       "'member_agencies') a from b union select b->>'chair_agency' from b) x),"
       " gone as (delete from safeguard.panel_members where panel_id = $1::uuid and agency not in (select a from m)),"
       " added as (insert into safeguard.panel_members (panel_id, agency) select $1::uuid, a from m"
       " on conflict do nothing)"
       " update safeguard.panels set (name, area, chair_agency) = (select b->>'name', b->>'area', b->>'chair_agency'"
       " from b), version = version + 1, updated_at = clock_timestamp() where id = $1::uuid and version = $3::int"
       " returning version");

DB_SQL(sql_panel_list, 4,
       "select safeguard.panel_json(p)::text, p.created_at::text, p.id from safeguard.panels p"
       " where ($1::timestamptz is null or (p.created_at, p.id) > ($1::timestamptz, $2::uuid))"
       " and ($4::text is null or p.type = $4) order by p.created_at, p.id limit $3::int");

/* ---- shared helpers (panels.h) ----------------------------------------------- */

int panels_standing(struct sg_req *r, const char *panel_id, struct panel_standing *ps)
{
	unsigned roles = r->id.roles;
	PGresult *res;
	int rc;

	memset(ps, 0, sizeof *ps);
	if ((rc = kit_fetch_id(r, &sql_panel_standing, panel_id, "panel", &res)))
		return rc;
	snprintf(ps->type, sizeof ps->type, "%s", PQgetvalue(res, 0, 0));
	snprintf(ps->chair_agency, sizeof ps->chair_agency, "%s", PQgetvalue(res, 0, 1));
	ps->member = PQgetvalue(res, 0, 2)[0] == 't';
	ps->chair = (roles & ROLE_BIT(ROLE_PANEL_CHAIR)) &&
		    strcmp(ps->chair_agency, sg_agency_names[r->id.agency]) == 0;
	ps->reader = ps->member && (roles & (ROLE_BIT(ROLE_PANEL_MEMBER) | ROLE_BIT(ROLE_PANEL_CHAIR) |
					     ROLE_BIT(ROLE_SAFEGUARDING_LEAD)));
	ps->recorder = ps->member && (roles & (ROLE_BIT(ROLE_PANEL_MEMBER) | ROLE_BIT(ROLE_PANEL_CHAIR)));
	ps->may_refer = ps->chair ||
			(ps->member && (roles & (ROLE_BIT(ROLE_SAFEGUARDING_LEAD) | ROLE_BIT(ROLE_SOCIAL_WORKER))));
	return 0;
}

int panels_require_chair(struct sg_req *r, const struct panel_standing *ps, const char *what)
{
	if (ps->chair)
		return 0;
	return http_problem(
		r, 403, "forbidden",
		arena_printf(r->arena, "only the panel's chair (a panel_chair of %s) %s", ps->chair_agency, what));
}

int panels_state_conflict(struct sg_req *r, const char *what, const char *state, const char *rule)
{
	return http_problem(r, 409, "conflict", arena_printf(r->arena, "the %s is %s; %s", what, state, rule));
}

int panels_invalid(struct sg_req *r, const char *field, const char *code, const char *message)
{
	struct verrs errs = {0};

	verrs_add(&errs, field, code, message);
	return http_problem_errors(r, 400, "validation-failed", "the body has invalid fields", &errs);
}

int panels_bad_reference(struct sg_req *r, const char *field, const char *message)
{
	struct verrs errs = {0};

	verrs_add(&errs, field, "not_found", message);
	return http_problem_errors(r, 422, "invalid-reference", "the body names a record that cannot be used", &errs);
}

const char *panels_id_array(struct sg_req *r, PGresult *res, int col, int nrows)
{
	size_t o = 1, cap = (size_t)nrows * 39 + 3;
	char *out = arena_alloc(r->arena, cap);

	out[0] = '{';
	for (int i = 0; i < nrows; i++) {
		if (PQgetisnull(res, i, col))
			continue;
		/* UUIDs from the database: no quoting needed */
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o > 1 ? "," : "", PQgetvalue(res, i, col));
	}
	snprintf(out + o, cap - o, "}");
	return out;
}

int panels_audit_page(struct sg_req *r, const char *action, const struct kit_page *pg, PGresult *res, int col)
{
	int n = PQntuples(res) > pg->limit ? (int)pg->limit : PQntuples(res);

	return kit_audit_children(r, action, panels_id_array(r, res, col, n));
}

bool panels_in_past(struct sg_req *r, const char *date)
{
	return strcmp(date, kit_today(r->arena)) < 0;
}

/* ---- handlers ------------------------------------------------------------ */

static int panels_answer(struct sg_req *r, int status, const char *id)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_panel_get, id, "panel", &res)))
		return rc;
	return status == 200 && r->route->method[0] == 'G' ? kit_show(r, res, 0) : kit_resource(r, status, res, 0);
}

static int panels_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *p[2] = {id, arena_json_dump(r->arena, r->body)};
	PGresult *res;
	int rc;

	if ((rc = kit_exec(r, &sql_panel_insert, p, 2, &res)) || (rc = kit_audit(r, "panel.create", "panel", id, NULL)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/panels/%s", id));
	return panels_answer(r, 201, id);
}

static int panels_show(struct sg_req *r)
{
	return panels_answer(r, 200, r->params[0]);
}

static int panels_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_panel_list, PQ_LIMIT, PQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_AFTER, KIT_ARG_FETCH, PQ_TYPE)};

	return kit_list(r, &list);
}

/* Name, area, chair and membership; an agency that still owns open actions
 * may not leave (409) until they are reassigned or closed. */
static int panels_update(struct sg_req *r)
{
	const char *p[3] = {r->params[0], NULL, NULL};
	json_t *merged;
	PGresult *res, *owners;
	char sqlstate[6];
	int rc;

	/* the merge keeps the panel's type, which its rules read (panel_body) */
	if ((rc = kit_fetch_id(r, &sql_panel_lock, p[0], "panel", &res)) ||
	    (rc = kit_if_match(r, PQgetvalue(res, 0, 1))) ||
	    (rc = kit_patch_merge(r, PQgetvalue(res, 0, 0), &panel_patch_body, &merged)))
		return rc;
	if ((rc = kit_exec(r, &sql_panel_open_owners, p, 1, &owners)))
		return rc;
	for (char *list = arena_strdup(r->arena, PQgetvalue(owners, 0, 0)), *tok, *save = NULL;
	     (tok = strtok_r(list, ", ", &save)); list = NULL) {
		if (!listed(json_object_get(merged, "member_agencies"), tok) &&
		    strcmp(tok, kit_str(merged, "chair_agency")))
			return http_problem(r, 409, "conflict",
					    arena_printf(r->arena,
							 "%s still owns open actions of this panel; reassign or "
							 "close them before it leaves",
							 tok));
	}
	p[1] = arena_json_dump(r->arena, merged);
	p[2] = PQgetvalue(res, 0, 1);
	/* an agency that joins or leaves starts or ends the panel's route into
	 * its open cases' children (issue 10): panel_members' trigger writes a
	 * child audit row for each, without telling the caller which (050).
	 * The database checks again, under the panel's lock, that no agency
	 * leaves with open actions (017): the same answer as above. */
	if ((rc = kit_exec_constraint(r, &sql_panel_update, p, 3, &res, sqlstate)) == KIT_CONSTRAINT)
		return http_problem(r, 409, "conflict",
				    "an agency leaving the panel still owns open actions of it; reassign or close them "
				    "before it leaves");
	if (rc)
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(r, 412, "precondition-failed", "the panel changed while you were updating it");
	if ((rc = kit_audit(r, "panel.update", "panel", p[0], NULL)))
		return rc;
	return panels_answer(r, 200, p[0]);
}

static const struct route panels_route_list[] = {
	{"POST", "/v1/panels", PERM_PANEL_MANAGE, &panel_body, NULL, panels_create, "panels.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/panels", PERM_PANEL_READ, NULL, &panel_query, panels_list, "panels.list", 0},
	{"GET", "/v1/panels/{id}", PERM_PANEL_READ, NULL, NULL, panels_show, "panels.show", 0},
	{"PATCH", "/v1/panels/{id}", PERM_PANEL_MANAGE, &panel_patch_body, NULL, panels_update, "panels.update",
	 ROUTE_PATCH},
};

const struct sg_area panels_area = SG_AREA("panels", panels_route_list);
