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

/* The filters, in each part of the page below. */
#define AUDIT_FILTERS                                                                                                  \
	" ($1::text is null or a.actor_sub = $1) and ($2::text is null or a.actor_agency = $2)"                        \
	" and ($3::text is null or a.action = $3) and ($4::text is null or a.resource_type = $4)"                      \
	" and ($5::text is null or a.resource_id = $5)"                                                                \
	" and ($6::timestamptz is null or a.occurred_at >= $6)"                                                        \
	" and ($7::timestamptz is null or a.occurred_at < $7)"                                                         \
	" and ($8::timestamptz is null or (a.occurred_at, a.id) < ($8::timestamptz, $9::uuid))"
/* One part of the page: the newest $10 events of the trail that match the
 * filters and who, in the trail's order (an index for each part). */
#define AUDIT_PART(who)                                                                                                \
	"(select a.occurred_at, a.id from safeguard.audit_events a where " who " and" AUDIT_FILTERS                    \
	" order by a.occurred_at desc, a.id desc limit $10)"

/* An event about a child the caller's agency sees (its network and the
 * other ways of child_visible). */
#define AUDIT_CHILD_SEEN                                                                                               \
	"a.resource_type = 'child' and case when a.resource_id ~"                                                      \
	" '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"                                            \
	" then safeguard.child_visible(a.resource_id::uuid) else false end"
/* The children the caller's agency sees, when they are few (049), else NULL. */
#define AUDIT_FEW "(select s.ids from seen s)"
/* The newest $10 events about those children, in the trail's order: each
 * child's newest event first (f: one probe of audit_events_resource each),
 * then each child's events no older than the $10-th newest of those (none
 * older can be on the page: those $10 events are newer), at most $10 of
 * each and those tied with its last (the index's order, which has no id to
 * break a tie by: the merge does), merged.  The children are the agency's
 * (audit_children_seen checked each with child_visible), so the
 * statement's scope is the list, and row-level security checks every event
 * read again. */
#define AUDIT_FEW_EVENTS(child, cols)                                                                                  \
	" (select " cols " from safeguard.audit_events a where a.resource_type = 'child' and a.resource_id = " child   \
	" and a.actor_agency <> $11::text and" AUDIT_FILTERS
#define AUDIT_FEW_FIRST                                                                                                \
	"(select c.rid, x.occurred_at from unnest(" AUDIT_FEW ") c(rid) cross join lateral" AUDIT_FEW_EVENTS(          \
		"c.rid", "a.occurred_at") " order by a.occurred_at desc limit 1) x)"
/* the $10-th newest of those (lo: a row of its own, so that each child's
 * read below takes it as a bound of its index scan) */
#define AUDIT_FEW_FLOOR                                                                                                \
	"(select coalesce((select g.occurred_at from f g order by g.occurred_at desc offset $10 - 1 limit 1),"         \
	" '-infinity'::timestamptz) as t)"
#define AUDIT_FEW_EACH                                                                                                 \
	AUDIT_FEW_EVENTS("f.rid", "a.occurred_at, a.id")                                                               \
	" and a.occurred_at >= lo.t order by a.occurred_at desc fetch first ($10) rows with ties) x"
#define AUDIT_FEW_PART                                                                                                 \
	"(with f as materialized " AUDIT_FEW_FIRST ", lo as materialized " AUDIT_FEW_FLOOR                             \
	" select x.occurred_at, x.id from f cross join lo cross join lateral" AUDIT_FEW_EACH                           \
	" order by x.occurred_at desc, x.id desc limit $10)"
#define AUDIT_PARTS                                                                                                    \
	AUDIT_PART("$11::text is null")                                                                                \
	" union all " AUDIT_PART("a.actor_agency = $11::text") " union all " AUDIT_PART(                               \
		AUDIT_FEW                                                                                              \
		" is null and a.actor_agency <> $11::text and " AUDIT_CHILD_SEEN) " union all " AUDIT_FEW_PART

/* A page of the trail, newest first.  $11: NULL for the whole trail, else
 * the agency whose part is read: its own staff's events, and the events
 * about children its agency sees.  Those are read apart and merged in the
 * trail's order: when the agency sees few children (seen, 049), the newest
 * events of each of them; else the trail walked in its order until the
 * page is full, which for such an agency is soon.  So an agency that sees
 * little of a large trail reads its part and not the trail.  The parts are
 * disjoint; row-level security still checks every event read.  The page's
 * events are then read by id.
 * $12: mark each event by whether its actor's agency saw the child through
 * an involvement it declared itself (the child's access log). */
DB_SQL(sql_audit_list, 12,
       "with seen as materialized (select case when $11::text is null then null"
       " else safeguard.audit_children_seen() end as ids)"
       " select (jsonb_build_object('id', e.id, 'occurred_at',"
       " to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
       " 'request_id', e.request_id, 'actor_sub', e.actor_sub, 'actor_agency', e.actor_agency, 'action', e.action,"
       " 'resource_type', e.resource_type, 'resource_id', e.resource_id, 'outcome', e.outcome,"
       " 'details', coalesce(e.details, '{}'::jsonb)) || case when $12::boolean then jsonb_build_object("
       " 'declared_involvement', e.resource_type = 'child'"
       " and safeguard.declared_involvement_at(e.resource_id, e.actor_agency, e.occurred_at))"
       " else '{}'::jsonb end)::text,"
       " e.occurred_at::text, e.id"
       " from (select p.occurred_at, p.id from (" AUDIT_PARTS ") p"
       " order by p.occurred_at desc, p.id desc limit $10) s"
       " join safeguard.audit_events e on e.id = s.id order by e.occurred_at desc, e.id desc");

/* A page is planned for its own parameters (custom plans for the rest of
 * the request's transaction): planned once for any, the reads of each
 * child's events became bitmap scans of all of them, each event checked by
 * row-level security, instead of the index's newest few. */
DB_SQL(sql_audit_custom_plans, 0, "select set_config('plan_cache_mode', 'force_custom_plan', true)");

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
	if ((rc = kit_exec(r, &sql_audit_custom_plans, NULL, 0, &res)) ||
	    (rc = kit_exec(r, &sql_audit_list, p, 12, &res)) ||
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
