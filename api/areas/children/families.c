/*
 * families.c - siblings and children of one household grouped as a family,
 * with their carers, so that one chronology request or form covers them all.
 * A family is visible to children's social care, to the agency that created
 * it and to any agency in the network of one of its members; its members
 * list shows only the children the caller may see.
 *
 * Who is in a family is decided by CSC (social workers, safeguarding leads)
 * or by the agency that created the family, no one else: adding a child
 * opens the family (its carers, their contacts) to the child's network, so
 * only those who answer for the family may do it.  Anyone else who can see
 * the family gets 403 saying so; row-level security (006) holds the same.
 *
 * Its name and carers are changed by CSC, its creator and the agencies in
 * the network of one of its members (DESIGN.md 4).  An agency invited to a
 * chronology request about the family, or sitting on a panel with an open
 * referral about it, reads the family it is about (that family only, not
 * one a child moves to: migration 013) but does not change it: 403 saying
 * so, and the update policy holds the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ident.h"
#include "kit.h"

/* ---- field specs ------------------------------------------------------- */

static const struct field_spec family_fields[] = {
	{.name = "name", .type = FT_STRING, .required = true, .min = 1, .max = 200},
	{.name = "carers", .type = FT_ARRAY, .nullable = true /* items: check_carers */},
};
static const char *const family_read_only[] = {"id",      "version", "created_at", "updated_at", "created_by_agency",
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

static const struct body_spec family_body = {
	.fields = family_fields, .n = 2, .read_only = family_read_only, .check = check_family, .patch_merged = true};

/* ---- statements (prepared on first use on each connection) ---------------- */

/* A family's answer lists the members its caller may see, with their names
 * and dates of birth: its ETag's digest of the answer (kit_show) changes
 * with any of them and with who the caller may see, while its version part,
 * the family's own version, is what If-Match guards: a member's own change
 * is no lost update of the family's name or carers, and adding or removing
 * a member bumps the family's version. */
#define FAMILY_TAG(f) f ".version"

DB_SQL(sql_family_insert, 3,
       "insert into safeguard.families (id, name, carers, created_by_agency)"
       " values ($1::uuid, $2, coalesce($3::jsonb, '[]'), safeguard.app_agency())"
       " returning safeguard.family_json(families)::text, " FAMILY_TAG("families"));

DB_SQL(sql_family_get, 1,
       "select safeguard.family_json(f)::text, " FAMILY_TAG("f") " from safeguard.families f where f.id = $1::uuid");

/* A family answer names its members: each member the caller can see (the
 * ones family_json lists) gets a child-level audit row, in one statement. */
DB_SQL(sql_family_audit_members, 2,
       AUDIT_FROM("$2", "c.id::text") " from safeguard.children c where c.family_id = $1::uuid");

DB_SQL(sql_family_update, 4,
       "update safeguard.families set name = $2, carers = $3::jsonb,"
       " version = version + 1, updated_at = now() where id = $1::uuid and version = $4::int"
       " returning safeguard.family_json(families)::text, " FAMILY_TAG("families"));

/* (creator, whether the caller may change the family), for a family the
 * caller may see; no lock, so it is asked before the lock, which goes
 * through the update policy */
DB_SQL(sql_family_access, 1,
       "select f.created_by_agency, safeguard.family_writable(f.id, f.created_by_agency)"
       " from safeguard.families f where f.id = $1::uuid");

DB_SQL(sql_family_lock, 1,
       "select safeguard.family_json(f)::text, " FAMILY_TAG("f") ", f.created_by_agency, f.version"
								 " from safeguard.families f"
								 " where f.id = $1::uuid for update");

DB_SQL(sql_family_member_add, 3,
       "update safeguard.children set family_id = $1::uuid, family_relationship = $3,"
       " version = version + 1, updated_at = clock_timestamp() where id = $2::uuid and family_id is null");

DB_SQL(sql_family_member_remove, 2,
       "update safeguard.children set family_id = null, family_relationship = null,"
       " version = version + 1, updated_at = clock_timestamp() where id = $2::uuid and family_id = $1::uuid");

DB_SQL(sql_family_bump, 1,
       "update safeguard.families set version = version + 1, updated_at = now() where id = $1::uuid"
       " returning safeguard.family_json(families)::text, " FAMILY_TAG("families"));

/* ---- helpers ------------------------------------------------------------ */

/* Answers a family row (json, version) with its ETag, after the audit rows
 * of the family (action) and of each member child it shows. */
static int family_answer(struct sg_req *r, int status, PGresult *res, const char *id, const char *action)
{
	const char *p[2] = {id, "child.read"};
	PGresult *audit;
	int rc;

	if ((rc = kit_audit(r, action, "family", id, NULL)) ||
	    (rc = kit_exec(r, &sql_family_audit_members, p, 2, &audit)))
		return rc;
	return status == 200 && r->route->method[0] == 'G' ? kit_show(r, res, 0) : kit_resource(r, status, res, 0);
}

/* The caller's standing on the family in the path: 404 when it may not
 * see it; else its creator (*creator, owned by the arena) and whether the
 * caller may change its name and carers (*writable). */
static int family_access(struct sg_req *r, const char **creator, bool *writable)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_family_access, r->params[0], "family", &res)))
		return rc;
	*creator = PQgetvalue(res, 0, 0);
	*writable = PQgetvalue(res, 0, 1)[0] == 't';
	return 0;
}

/* Locks the family for a change of its members: 404 when the caller may not
 * see it, 403 when it may see it but may not change who is in it. */
static int family_lock_members(struct sg_req *r, PGresult **res)
{
	const char *creator;
	bool writable;
	int rc;

	if ((rc = family_access(r, &creator, &writable)))
		return rc;
	if (!access_allows(PERM_FAMILY_MANAGE_ANY, &r->id) && strcmp(creator, sg_agency_names[r->id.agency]) != 0)
		return http_problem(
			r, 403, "forbidden",
			"only children's social care or the agency that created this family may change its members");
	return kit_fetch_id(r, &sql_family_lock, r->params[0], "family", res);
}

/* The carers as a JSON text for the database: NULL keeps what is there,
 * and a client's null clears them. */
static const char *carers_param(struct sg_req *r, const char *when_null)
{
	json_t *carers = json_object_get(r->body, "carers");

	if (!carers)
		return NULL;
	return json_is_null(carers) ? when_null : arena_json_dump(r->arena, carers);
}

/* ---- handlers ------------------------------------------------------------ */

static int families_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *p[3] = {id, kit_str(r->body, "name"), carers_param(r, "[]")};
	PGresult *res;
	int rc;

	if ((rc = kit_exec(r, &sql_family_insert, p, 3, &res)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/families/%s", id));
	return family_answer(r, 201, res, id, "family.create");
}

static int families_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_family_get, r->params[0], "family", &res)))
		return rc;
	return family_answer(r, 200, res, r->params[0], "family.read");
}

static int families_update(struct sg_req *r)
{
	const char *p[4] = {r->params[0], NULL, NULL, NULL}, *creator;
	json_t *merged;
	PGresult *res;
	bool writable;
	int rc;

	if ((rc = family_access(r, &creator, &writable)))
		return rc;
	if (!writable)
		return http_problem(
			r, 403, "forbidden",
			"your agency sees this family through a chronology request or a panel referral, which lets"
			" it read but not change it: children's social care, the agency that created it and the"
			" agencies in its children's networks do");
	if ((rc = kit_fetch_id(r, &sql_family_lock, p[0], "family", &res)) ||
	    (rc = kit_if_match(r, PQgetvalue(res, 0, 1))) ||
	    (rc = kit_patch_merge(r, PQgetvalue(res, 0, 0), &family_body, &merged)))
		return rc;
	p[1] = kit_str(merged, "name");
	p[2] = json_object_get(merged, "carers") ? arena_json_dump(r->arena, json_object_get(merged, "carers")) : "[]";
	p[3] = PQgetvalue(res, 0, 3);
	if ((rc = kit_exec(r, &sql_family_update, p, 4, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(r, 412, "precondition-failed", "the family changed while you were updating it");
	return family_answer(r, 200, res, p[0], "family.update");
}

static int families_add_member(struct sg_req *r)
{
	const char *child = kit_str(r->body, "child_id");
	const char *p[3] = {r->params[0], child, kit_str(r->body, "relationship")};
	bool visible, writable;
	PGresult *res;
	int rc;

	if ((rc = family_lock_members(r, &res)) || (rc = kit_child_access(r, child, &visible, &writable)))
		return rc;
	if (!writable) {
		struct verrs errs = {0};

		/* joining a family changes the child's record: the network's */
		if (!visible)
			verrs_add(&errs, "child_id", "not_found", "there is no child with this id that you may see");
		else
			verrs_add(&errs, "child_id", "not_in_network",
				  "your agency reads this child through a chronology request or a panel referral"
				  " but may not change its record");
		return http_problem_errors(r, 422, "invalid-reference", "the child cannot be added", &errs);
	}
	if ((rc = kit_exec(r, &sql_family_member_add, p, 3, &res)))
		return rc;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		return http_problem(r, 409, "conflict", "the child already belongs to a family; remove it there first");
	if ((rc = kit_audit(r, "child.family.join", "child", child, NULL)) ||
	    (rc = kit_fetch(r, &sql_family_bump, p, 1, "family", &res)))
		return rc;
	return family_answer(r, 201, res, p[0], "family.member.add");
}

static int families_remove_member(struct sg_req *r)
{
	const char *p[2] = {r->params[0], r->params[1]};
	bool visible, writable;
	PGresult *res;
	int rc;

	if ((rc = family_lock_members(r, &res)) || (rc = kit_if_match(r, PQgetvalue(res, 0, 1))))
		return rc;
	if (!validate_uuid(p[1]))
		return http_problem(r, 404, "not-found", "this child is not a member of the family");
	/* leaving a family changes the child's record: the network's */
	if ((rc = kit_child_access(r, p[1], &visible, &writable)))
		return rc;
	if (visible && !writable)
		return http_problem(r, 403, "forbidden", KIT_CHILD_READ_ONLY);
	if ((rc = kit_exec(r, &sql_family_member_remove, p, 2, &res)))
		return rc;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		return http_problem(r, 404, "not-found", "this child is not a member of the family");
	if ((rc = kit_audit(r, "child.family.leave", "child", p[1], NULL)) ||
	    (rc = kit_audit(r, "family.member.remove", "family", p[0], NULL)) ||
	    (rc = kit_fetch(r, &sql_family_bump, p, 1, "family", &res)))
		return rc;
	http_header(r, "ETag", kit_etag(r, PQgetvalue(res, 0, 1)));
	r->status = 204;
	return 204;
}

static const struct route families_route_list[] = {
	{"POST", "/v1/families", PERM_FAMILY_MANAGE, &family_body, NULL, families_create, "families.create",
	 ROUTE_IDEMPOTENT},
	{"GET", "/v1/families/{id}", PERM_CHILD_READ, NULL, NULL, families_show, "families.show", 0},
	{"PATCH", "/v1/families/{id}", PERM_CHILD_UPDATE, &family_body, NULL, families_update, "families.update",
	 ROUTE_PATCH},
	{"POST", "/v1/families/{id}/members", PERM_FAMILY_MANAGE, &member_body, NULL, families_add_member,
	 "families.members.create", ROUTE_IDEMPOTENT},
	{"DELETE", "/v1/families/{id}/members/{child_id}", PERM_FAMILY_MANAGE, NULL, NULL, families_remove_member,
	 "families.members.delete", 0},
};

const struct sg_area families_area = SG_AREA("families", families_route_list);
