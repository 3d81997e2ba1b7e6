/*
 * audit.c - the audit trail, read by auditors.  Rows are written by every
 * resource through db_audit() in the transaction of the work they record;
 * the table is append-only for the API's database role.  Reading the trail
 * is itself audited.
 *
 * Scope: the partnership's auditors read the whole trail; an agency's
 * auditor reads its own staff's actions and the events about children in
 * its agency's network.  The statement says so in its WHERE clause, and the
 * audit_read policy (006) says it again for the database role.
 */
#include "kit.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

/* $11: NULL for the whole trail, else the agency whose part is read.
 * $12: mark each event by whether its actor's agency saw the child through
 * an involvement it declared itself (the child's access log). */
DB_SQL(sql_audit_list, 12,
       "select (jsonb_build_object('id', id, 'occurred_at',"
       " to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
       " 'request_id', request_id, 'actor_sub', actor_sub, 'actor_agency', actor_agency, 'action', action,"
       " 'resource_type', resource_type, 'resource_id', resource_id, 'outcome', outcome,"
       " 'details', coalesce(details, '{}'::jsonb)) || case when $12::boolean then jsonb_build_object("
       " 'declared_involvement', resource_type = 'child'"
       " and safeguard.declared_involvement_at(resource_id, actor_agency, occurred_at)) else '{}'::jsonb end)::text,"
       " occurred_at::text, id"
       " from safeguard.audit_events"
       " where ($1::text is null or actor_sub = $1) and ($2::text is null or actor_agency = $2)"
       " and ($3::text is null or action = $3) and ($4::text is null or resource_type = $4)"
       " and ($5::text is null or resource_id = $5)"
       " and ($6::timestamptz is null or occurred_at >= $6)"
       " and ($7::timestamptz is null or occurred_at < $7)"
       " and ($8::timestamptz is null or (occurred_at, id) < ($8::timestamptz, $9::uuid))"
       " and ($11::text is null or actor_agency = $11 or (resource_type = 'child'"
       " and case when resource_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
       " then safeguard.child_visible(resource_id::uuid) else false end))"
       " order by occurred_at desc, id desc limit $10");

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
static const struct query_spec audit_query = {audit_query_params,
					      sizeof audit_query_params / sizeof audit_query_params[0]};

/* The part of the trail the caller reads: NULL for all of it (the
 * partnership's auditors, and a child's access log, whose route has
 * checked who may read it), else the caller's agency. */
static const char *audit_scope(struct sg_req *r, const struct audit_filter *f)
{
	if (f->access_log || access_allows(PERM_AUDIT_READ_ALL, &r->id))
		return NULL;
	return sg_agency_names[r->id.agency];
}

/* One page of audit events matching the filters (NULL = any), newest first;
 * the read itself is audited as read_action.  Shared with the child access log. */
int audit_list_page(struct sg_req *r, const struct audit_filter *f, const char *limit, const char *cursor,
		    const char *read_action, const char *read_type, const char *read_id)
{
	static const enum kit_key keys[] = {KIT_KEY_TIMESTAMP, KIT_KEY_UUID};
	struct kit_page pg;
	const char *p[12];
	PGresult *res;
	int rc;

	if ((rc = kit_page_begin(r, limit, cursor, keys, 2, &pg)))
		return rc;
	p[0] = f->actor;
	p[1] = f->agency;
	p[2] = f->action;
	p[3] = f->resource_type;
	p[4] = f->resource_id;
	p[5] = f->from;
	p[6] = f->to;
	p[7] = pg.after[0];
	p[8] = pg.after[1];
	p[9] = pg.fetch;
	p[10] = audit_scope(r, f);
	p[11] = f->access_log ? "true" : "false";
	if ((rc = kit_exec(r, &sql_audit_list, p, 12, &res)) ||
	    (rc = kit_audit(r, read_action, read_type, read_id, NULL)))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

static int audit_list(struct sg_req *r)
{
	const char *const *q = r->query.values;
	const struct audit_filter f = {q[AQ_ACTOR], q[AQ_AGENCY], q[AQ_ACTION], q[AQ_RTYPE],
				       q[AQ_RID],   q[AQ_FROM],   q[AQ_TO],     false};

	return audit_list_page(r, &f, q[AQ_LIMIT], q[AQ_CURSOR], "audit.read", "audit_event", NULL);
}

static const struct route audit_route_list[] = {
	{"GET", "/v1/audit-events", PERM_AUDIT_READ, NULL, &audit_query, audit_list, "audit_events.list", 0},
};

const struct sg_area audit_area = SG_AREA("audit", audit_route_list);
