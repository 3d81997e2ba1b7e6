/*
 * me.c - who the API thinks the caller is, and the partnership's agencies
 * (reference data loaded by a migration).
 */
#include <time.h>
#include "kit.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_agency_list, 0, "select code, name, description from safeguard.agencies order by code");

static const char *instant(struct arena *a, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	return arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int me_show(struct sg_req *r)
{
	json_t *roles = json_array();
	json_t *body;

	for (int i = 0; i < ROLE__COUNT; i++)
		if (r->id.roles & ROLE_BIT(i))
			json_array_append_new(roles, json_string(sg_role_names[i]));
	body = json_pack("{s:s, s:s, s:o, s:s, s:s}", "sub", r->id.sub, "agency", sg_agency_names[r->id.agency],
			 "roles", roles, "issued_at", instant(r->arena, r->id.iat), "expires_at",
			 instant(r->arena, r->id.exp));
	if (r->id.name[0])
		json_object_set_new(body, "name", json_string(r->id.name));
	if (r->id.email[0])
		json_object_set_new(body, "email", json_string(r->id.email));
	if (r->id.jti[0])
		json_object_set_new(body, "jti", json_string(r->id.jti));
	return http_json(r, 200, body);
}

static int me_agencies(struct sg_req *r)
{
	PGresult *res;
	json_t *items;

	switch (db_exec(&sql_agency_list, NULL, 0, &res, NULL)) {
	case DB_OK:
		break;
	case DB_UNAVAILABLE:
		return http_unavailable(r);
	default:
		return http_internal(r, "agency list failed");
	}
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "code", PQgetvalue(res, i, 0), "name",
						       PQgetvalue(res, i, 1), "description", PQgetvalue(res, i, 2)));
	PQclear(res);
	return http_list(r, items, NULL);
}

static const struct route me_route_list[] = {
	{"GET", "/v1/me", PERM_AUTHENTICATED, NULL, NULL, me_show, "me.show", 0},
	{"GET", "/v1/agencies", PERM_AUTHENTICATED, NULL, NULL, me_agencies, "agencies.list", 0},
};

const struct sg_area me_area = SG_AREA("me", me_route_list);
