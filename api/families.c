/*
 * families.c - siblings and children of one household grouped as a family,
 * with their carers, so that one chronology request or form covers them all.
 * A family is visible to children's social care, to the agency that created
 * it and to any agency in the network of one of its members; its members
 * list shows only the children the caller may see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "pool.h"

/* ---- field specs ------------------------------------------------------- */

static const struct field_spec family_fields[] = {
	{.name = "name", .type = FT_STRING, .required = true, .min = 1, .max = 200},
	{.name = "carers", .type = FT_ARRAY, .nullable = true /* items: check_carers */},
};
static const char *const family_read_only[] = {"id", "version", "created_at", "updated_at", "created_by_agency",
					       "members", NULL};


static const char *const relationships[] = {"child", "sibling", "half_sibling", "step_sibling", "other", NULL};
static const struct field_spec member_fields[] = {
	{.name = "child_id", .type = FT_UUID, .required = true},
	{.name = "relationship", .type = FT_ENUM, .required = true, .enum_values = relationships},
};
static const struct body_spec member_body = {.fields = member_fields, .n = 2};

/* carers: up to 10 of {name 1-200, relationship 1-100, contact 0-200} */
static void check_carers(json_t *carers, struct verrs *errs, struct arena *a)
{
	static const struct field_spec carer_fields[] = {
		{.name = "name", .type = FT_STRING, .required = true, .min = 1, .max = 200},
		{.name = "relationship", .type = FT_STRING, .required = true, .min = 1, .max = 100},
		{.name = "contact", .type = FT_STRING, .nullable = true, .max = 200},
	};
	static const struct body_spec carer_body = {.fields = carer_fields, .n = 3};
	size_t i;
	json_t *c;

	if (!carers)
		return;
	if (!json_is_array(carers))
		return; /* reported by the field check */
	if (json_array_size(carers) > 10) {
		verrs_add(errs, "carers", "invalid_type", "must be an array of at most 10 carers");
		return;
	}
	json_array_foreach(carers, i, c) {
		struct verrs one = {0};

		validate_body(&carer_body, c, &one, a);
		for (size_t k = 0; k < one.n; k++)
			verrs_add(errs, arena_printf(a, "carers[%zu].%s", i, one.items[k].field), one.items[k].code,
				  one.items[k].message);
	}
}

static void check_family(json_t *body, struct verrs *errs, struct arena *a)
{
	json_t *carers = json_object_get(body, "carers");

	check_carers(json_is_null(carers) ? NULL : carers, errs, a);
}

static const struct body_spec family_body = {.fields = family_fields, .n = 2, .read_only = family_read_only,
					     .check = check_family};

/* ---- helpers ------------------------------------------------------------ */

/* Answers a family row (json, version) with its ETag; consumes res. */
static int family_answer(struct sg_req *r, int status, PGresult *res, const char *action)
{
	json_t *fam = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	const char *etag = arena_printf(r->arena, "\"v%s\"", PQgetvalue(res, 0, 1));
	const char *id = arena_strdup(r->arena, json_string_value(json_object_get(fam, "id")));
	enum db_status ds;

	PQclear(res);
	http_header(r, "ETag", etag);
	if (action && (ds = db_audit(action, "family", id, "success", NULL)) != DB_OK) {
		json_decref(fam);
		return http_db_fail(r, ds, "audit write failed");
	}
	return http_json(r, status, fam);
}

/* Locks a visible family; its current ETag into *etag.  0 or an answer. */
static int family_lock(struct sg_req *r, const char *id, const char **etag)
{
	const char *p[1] = {id};
	PGresult *res;
	enum db_status ds;

	if (!validate_uuid(id))
		return http_not_found(r, "family");
	ds = db_exec(DB_FAMILY_VERSION, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "family lock failed");
	if (PQntuples(res) == 0) {
		PQclear(res);
		return http_not_found(r, "family");
	}
	*etag = arena_printf(r->arena, "\"v%s\"", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* ---- handlers ------------------------------------------------------------ */

static int families_create(struct sg_req *r)
{
	json_t *carers = json_object_get(r->body, "carers");
	const char *id = ident_uuid(r->arena);
	const char *p[3] = {id, json_string_value(json_object_get(r->body, "name")),
			    carers ? arena_json_dump(r->arena, carers) : NULL};
	PGresult *res;
	enum db_status ds;

	ds = db_exec(DB_FAMILY_INSERT, p, 3, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "family insert failed");
	http_header(r, "Location", arena_printf(r->arena, "/v1/families/%s", id));
	return family_answer(r, 201, res, "family.create");
}

static int families_show(struct sg_req *r)
{
	const char *p[1] = {r->params[0]};
	PGresult *res;
	enum db_status ds;
	int rc;

	if (!validate_uuid(p[0]))
		return http_not_found(r, "family");
	ds = db_exec(DB_FAMILY_GET, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "family read failed");
	if (PQntuples(res) == 0) {
		PQclear(res);
		return http_not_found(r, "family");
	}
	rc = http_etag(r, arena_printf(r->arena, "\"v%s\"", PQgetvalue(res, 0, 1)));
	if (rc) {
		PQclear(res);
		return rc;
	}
	r->nhdr = 0; /* family_answer sets the ETag again */
	return family_answer(r, 200, res, NULL);
}

static int families_update(struct sg_req *r)
{
	json_t *carers = json_object_get(r->body, "carers");
	const char *etag, *p[4];
	PGresult *res;
	enum db_status ds;
	int rc;

	if ((rc = family_lock(r, r->params[0], &etag)) || (rc = http_require_match(r, etag)))
		return rc;
	p[0] = r->params[0];
	p[1] = json_string_value(json_object_get(r->body, "name"));
	p[2] = carers ? (json_is_null(carers) ? "[]" : arena_json_dump(r->arena, carers)) : NULL;
	p[3] = etag + 2;
	p[3] = arena_strndup(r->arena, p[3], strlen(p[3]) - 1);
	ds = db_exec(DB_FAMILY_UPDATE, p, 4, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "family update failed");
	return family_answer(r, 200, res, "family.update");
}

static int families_add_member(struct sg_req *r)
{
	const char *child = json_string_value(json_object_get(r->body, "child_id"));
	const char *p[3] = {r->params[0], child, json_string_value(json_object_get(r->body, "relationship"))};
	const char *vp[1] = {child};
	const char *etag;
	PGresult *res;
	enum db_status ds;
	bool visible, added;
	int rc;

	if ((rc = family_lock(r, r->params[0], &etag)))
		return rc;
	ds = db_exec(DB_CHILD_VISIBLE, vp, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "child lookup failed");
	visible = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!visible) {
		struct verrs errs = {0};

		verrs_add(&errs, "child_id", "not_found", "there is no child with this id that you may see");
		return http_problem_errors(r, 422, "invalid-reference", "the child cannot be added", &errs);
	}
	ds = db_exec(DB_FAMILY_MEMBER_ADD, p, 3, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "member insert failed");
	added = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!added)
		return http_problem(r, 409, "conflict", "the child already belongs to a family; remove it there first");
	if ((rc = (db_audit("child.family.join", "child", child, "success", NULL) == DB_OK ? 0 : -1)))
		return http_db_fail(r, DB_ERROR, "audit write failed");
	ds = db_exec(DB_FAMILY_BUMP, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "family update failed");
	return family_answer(r, 201, res, "family.member.add");
}

static int families_remove_member(struct sg_req *r)
{
	const char *p[2] = {r->params[0], r->params[1]};
	const char *etag;
	PGresult *res;
	enum db_status ds;
	bool removed;
	int rc;

	if ((rc = family_lock(r, r->params[0], &etag)) || (rc = http_require_match(r, etag)))
		return rc;
	if (!validate_uuid(p[1]))
		return http_problem(r, 404, "not-found", "this child is not a member of the family");
	ds = db_exec(DB_FAMILY_MEMBER_REMOVE, p, 2, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "member removal failed");
	removed = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!removed)
		return http_problem(r, 404, "not-found", "this child is not a member of the family");
	if (db_audit("child.family.leave", "child", p[1], "success", NULL) != DB_OK ||
	    db_audit("family.member.remove", "family", p[0], "success", NULL) != DB_OK)
		return http_db_fail(r, db_connected() ? DB_ERROR : DB_UNAVAILABLE, "audit write failed");
	ds = db_exec(DB_FAMILY_BUMP, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "family update failed");
	http_header(r, "ETag", arena_printf(r->arena, "\"v%s\"", PQgetvalue(res, 0, 1)));
	PQclear(res);
	r->status = 204;
	return 204;
}

static const struct route families_route_list[] = {
	{"POST", "/v1/families", PERM_FAMILY_MANAGE, &family_body, NULL, families_create, "families.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/families/{id}", PERM_CHILD_READ, NULL, NULL, families_show, "families.show", 0},
	{"PATCH", "/v1/families/{id}", PERM_CHILD_UPDATE, &family_body, NULL, families_update, "families.update", ROUTE_PATCH},
	{"POST", "/v1/families/{id}/members", PERM_FAMILY_MANAGE, &member_body, NULL, families_add_member,
	 "families.members.create", ROUTE_IDEMPOTENT},
	{"DELETE", "/v1/families/{id}/members/{child_id}", PERM_FAMILY_MANAGE, NULL, NULL, families_remove_member,
	 "families.members.delete", 0},
};

const struct route_table families_routes = {families_route_list,
					    sizeof families_route_list / sizeof families_route_list[0]};
