/*
 * audit.c - the audit trail, read by auditors.  Rows are written by every
 * resource through db_audit() in the transaction of the work they record;
 * the table is append-only for the API's database role.  Reading the trail
 * is itself audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "pool.h"

enum { AQ_ACTOR, AQ_AGENCY, AQ_ACTION, AQ_RTYPE, AQ_RID, AQ_FROM, AQ_TO, AQ_LIMIT, AQ_CURSOR };

static const struct query_param audit_query_params[] = {
	[AQ_ACTOR] = {"actor", FT_STRING, 1, 200, NULL},
	[AQ_AGENCY] = {"agency", FT_ENUM, 0, 0, sg_agency_names},
	[AQ_ACTION] = {"action", FT_STRING, 1, 100, NULL},
	[AQ_RTYPE] = {"resource_type", FT_STRING, 1, 100, NULL},
	[AQ_RID] = {"resource_id", FT_STRING, 1, 200, NULL},
	[AQ_FROM] = {"from", FT_INSTANT, 0, 0, NULL},
	[AQ_TO] = {"to", FT_INSTANT, 0, 0, NULL},
	[AQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[AQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec audit_query = {audit_query_params, sizeof audit_query_params / sizeof audit_query_params[0]};

static json_t *audit_row(PGresult *res, int i)
{
	json_t *details = json_loads(PQgetvalue(res, i, 9), 0, NULL);

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o}", "id", PQgetvalue(res, i, 0),
			 "occurred_at", PQgetvalue(res, i, 1), "request_id", PQgetvalue(res, i, 2), "actor_sub",
			 PQgetvalue(res, i, 3), "actor_agency", PQgetvalue(res, i, 4), "action", PQgetvalue(res, i, 5),
			 "resource_type", PQgetvalue(res, i, 6), "resource_id",
			 PQgetisnull(res, i, 7) ? json_null() : json_string(PQgetvalue(res, i, 7)), "outcome",
			 PQgetvalue(res, i, 8), "details", details ? details : json_object());
}

static int audit_list(struct sg_req *r)
{
	const char *const *q = r->query.values;
	const char *after[2] = {NULL, NULL};
	long limit = q[AQ_LIMIT] ? strtol(q[AQ_LIMIT], NULL, 10) : 50;
	char limit_s[24];
	const char *p[10];
	const char *next = NULL;
	PGresult *res;
	json_t *items;
	int n;

	if (q[AQ_CURSOR] && (!cursor_decode(r->arena, q[AQ_CURSOR], after, 2) || !validate_uuid(after[1])))
		return http_problem(r, 400, "invalid-cursor", "the cursor is not one this endpoint issued");
	snprintf(limit_s, sizeof limit_s, "%ld", limit + 1);
	p[0] = q[AQ_ACTOR];
	p[1] = q[AQ_AGENCY];
	p[2] = q[AQ_ACTION];
	p[3] = q[AQ_RTYPE];
	p[4] = q[AQ_RID];
	p[5] = q[AQ_FROM];
	p[6] = q[AQ_TO];
	p[7] = after[0];
	p[8] = after[1];
	p[9] = limit_s;
	switch (db_exec(DB_AUDIT_LIST, p, 10, &res, NULL)) {
	case DB_OK:
		break;
	case DB_UNAVAILABLE:
		return http_unavailable(r);
	default:
		return http_problem(r, 400, "invalid-cursor", "the cursor is not one this endpoint issued");
	}
	n = PQntuples(res);
	items = json_array();
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, audit_row(res, i));
	if (n > limit) {
		const char *parts[2] = {PQgetvalue(res, (int)limit - 1, 10), PQgetvalue(res, (int)limit - 1, 0)};

		next = cursor_encode(r->arena, parts, 2);
	}
	PQclear(res);
	if (db_audit("audit.read", "audit_event", NULL, "success", NULL) != DB_OK) {
		json_decref(items);
		return db_connected() ? http_internal(r, "audit write failed") : http_unavailable(r);
	}
	return http_list(r, items, next);
}

static const struct route audit_route_list[] = {
	{"GET", "/v1/audit-events", PERM_AUDIT_READ, NULL, &audit_query, audit_list, "audit_events.list", 0},
};

const struct route_table audit_routes = {audit_route_list, sizeof audit_route_list / sizeof audit_route_list[0]};
