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

/* One page of audit events matching the filters (NULL = any), newest first;
 * the read itself is audited as read_action.  Shared with the child access log. */
int audit_list_page(struct sg_req *r, const struct audit_filter *f, const char *limit_s, const char *cursor,
		    const char *read_action, const char *read_type, const char *read_id)
{
	const char *after[2] = {NULL, NULL};
	long limit = limit_s ? strtol(limit_s, NULL, 10) : 50;
	const char *p[10];
	const char *next = NULL;
	PGresult *res;
	json_t *items;
	int n;

	if (cursor && (!cursor_decode(r->arena, cursor, after, 2) || !validate_uuid(after[1]) ||
		       !validate_pg_timestamp(after[0])))
		return http_problem(r, 400, "invalid-cursor", "the cursor is not one this endpoint issued");
	p[0] = f->actor;
	p[1] = f->agency;
	p[2] = f->action;
	p[3] = f->resource_type;
	p[4] = f->resource_id;
	p[5] = f->from;
	p[6] = f->to;
	p[7] = after[0];
	p[8] = after[1];
	p[9] = arena_printf(r->arena, "%ld", limit + 1);
	switch (db_exec(DB_AUDIT_LIST, p, 10, &res, NULL)) {
	case DB_OK:
		break;
	case DB_UNAVAILABLE:
		return http_unavailable(r);
	default:
		return http_internal(r, "audit list failed");
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
	if (db_audit(read_action, read_type, read_id, "success", NULL) != DB_OK) {
		json_decref(items);
		return db_connected() ? http_internal(r, "audit write failed") : http_unavailable(r);
	}
	return http_list(r, items, next);
}

static int audit_list(struct sg_req *r)
{
	const char *const *q = r->query.values;
	const struct audit_filter f = {q[AQ_ACTOR], q[AQ_AGENCY], q[AQ_ACTION], q[AQ_RTYPE], q[AQ_RID], q[AQ_FROM], q[AQ_TO]};

	return audit_list_page(r, &f, q[AQ_LIMIT], q[AQ_CURSOR], "audit.read", "audit_event", NULL);
}

static const struct route audit_route_list[] = {
	{"GET", "/v1/audit-events", PERM_AUDIT_READ, NULL, &audit_query, audit_list, "audit_events.list", 0},
};

const struct route_table audit_routes = {audit_route_list, sizeof audit_route_list / sizeof audit_route_list[0]};
