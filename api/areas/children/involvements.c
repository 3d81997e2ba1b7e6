/*
 * involvements.c - self-declared involvement as break-glass access.  Any
 * practitioner who knows a child's NHS number or UPN may declare their
 * agency's involvement and so join the child's network (children.c): front
 * line staff need that.  Each declaration is recorded (006: a trigger on the
 * network row) for children's social care, the lead agency for every child,
 * whose safeguarding leads list the new ones, mark one reviewed, or end it:
 * ending takes the agency out of the child's network at once.  The child's
 * access log marks what an agency read through a declaration of its own.
 * All of it is audited on the child.
 */
#include <string.h>
#include "kit.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const declared_statuses[] = {"unreviewed", "reviewed", "ended", NULL};

enum { DQ_STATUS, DQ_CHILD, DQ_LIMIT, DQ_CURSOR };
static const struct query_param declared_query_params[] = {
	[DQ_STATUS] = {"status", FT_ENUM, 0, 0, declared_statuses},
	[DQ_CHILD] = {"child_id", FT_UUID, 0, 0, NULL},
	[DQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[DQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec declared_query = {declared_query_params, 4};

static const struct field_spec ending_fields[] = {
	{.name = "reason", .type = FT_STRING, .required = true, .min = 1, .max = 1000},
};
static const struct body_spec ending_body = {.fields = ending_fields, .n = 1};

/* ---- statements (prepared on first use on each connection) ---------------- */

/* Oldest first: a review queue.  The child's id last, for the page's audit rows. */
DB_SQL(sql_declared_list, 5,
       "select safeguard.declared_involvement_json(d)::text, d.declared_at::text, d.id, d.child_id::text"
       " from safeguard.declared_involvements d where ($1::text is null or d.status = $1)"
       " and ($2::uuid is null or d.child_id = $2::uuid)"
       " and ($3::timestamptz is null or (d.declared_at, d.id) > ($3::timestamptz, $4::uuid))"
       " order by d.declared_at, d.id limit $5::int");

/* The live (not ended) declaration of agency $2 for child $1, locked. */
DB_SQL(sql_declared_live, 2,
       "select safeguard.declared_involvement_json(d)::text, d.status from safeguard.declared_involvements d"
       " where d.child_id = $1::uuid and d.agency = $2 and d.status <> 'ended' for update");

DB_SQL(sql_declared_review, 2,
       "update safeguard.declared_involvements d set status = 'reviewed', reviewed_by = safeguard.app_sub(),"
       " reviewed_at = clock_timestamp() where d.child_id = $1::uuid and d.agency = $2 and d.status = 'unreviewed'"
       " returning safeguard.declared_involvement_json(d)::text");

/* Ending: the agency leaves the network (its declared row only), and the
 * declaration is closed with the reason; an unreviewed one counts as
 * reviewed by whoever ended it. */
DB_SQL(sql_declared_end, 3,
       "with gone as (delete from safeguard.child_network n where n.child_id = $1::uuid and n.agency = $2"
       " and n.how = 'declared')"
       " update safeguard.declared_involvements d set status = 'ended', ended_by = safeguard.app_sub(),"
       " ended_at = clock_timestamp(), end_reason = $3,"
       " reviewed_by = coalesce(d.reviewed_by, safeguard.app_sub()), reviewed_at = coalesce(d.reviewed_at, "
       "clock_timestamp())"
       " where d.child_id = $1::uuid and d.agency = $2 and d.status <> 'ended'"
       " returning safeguard.declared_involvement_json(d)::text");

/* ---- helpers ------------------------------------------------------------ */

/* The live declaration named by the path (child id, agency code), locked:
 * *res holds (json, status).  0, or 404 when there is none. */
static int declared_live(struct sg_req *r, PGresult **res)
{
	const char *p[2] = {r->params[0], r->params[1]};

	if (!p[0] || !validate_uuid(p[0]) || !p[1] || sg_agency_lookup(p[1]) < 0)
		return http_not_found(r, "declared involvement");
	return kit_fetch(r, &sql_declared_live, p, 2, "declared involvement", res);
}

static int declared_audit(struct sg_req *r, const char *action)
{
	/* the agency is a code from the allow-list (declared_live checked it) */
	return kit_audit(r, action, "child", r->params[0],
			 arena_printf(r->arena, "{\"agency\": \"%s\"}", r->params[1]));
}

/* The children of the first n rows of res, column col, as a uuid[] literal. */
static const char *child_ids(struct sg_req *r, PGresult *res, int col, int n)
{
	size_t o = 1, cap = (size_t)n * 39 + 3;
	char *out = arena_alloc(r->arena, cap);

	out[0] = '{';
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o > 1 ? "," : "", PQgetvalue(res, i, col));
	snprintf(out + o, cap - o, "}");
	return out;
}

/* ---- handlers ------------------------------------------------------------ */

static int involvements_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_declared_list, DQ_LIMIT, DQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(DQ_STATUS, DQ_CHILD, KIT_ARG_AFTER, KIT_ARG_FETCH)};
	struct kit_page pg;
	PGresult *res;
	int rc;

	/* each row names a child and says why an agency is involved with it (the
	 * reason is about the child, as in the child's network): the queue's read,
	 * and a child audit row for each child of the page (not the look-ahead
	 * row), the action of GET /v1/children/{id}/network */
	if ((rc = kit_list_fetch(r, &list, &pg, &res)) ||
	    (rc = kit_audit(r, "declared_involvement.list", "declared_involvement", NULL, NULL)) ||
	    (rc = kit_audit_children(r, "child.network.read",
				     child_ids(r, res, 3, PQntuples(res) > pg.limit ? (int)pg.limit : PQntuples(res)))))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

static int involvements_review(struct sg_req *r)
{
	const char *p[2] = {r->params[0], r->params[1]};
	PGresult *res;
	int rc;

	if ((rc = declared_live(r, &res)))
		return rc;
	if (strcmp(PQgetvalue(res, 0, 1), "unreviewed") != 0) /* reviewed already: as it is */
		return kit_json_text(r, 200, PQgetvalue(res, 0, 0));
	if ((rc = kit_fetch(r, &sql_declared_review, p, 2, "declared involvement", &res)) ||
	    (rc = declared_audit(r, "child.involvement.review")))
		return rc;
	return kit_json_text(r, 200, PQgetvalue(res, 0, 0));
}

static int involvements_end(struct sg_req *r)
{
	const char *p[3] = {r->params[0], r->params[1], kit_str(r->body, "reason")};
	PGresult *res;
	int rc;

	if ((rc = declared_live(r, &res)) ||
	    (rc = kit_fetch(r, &sql_declared_end, p, 3, "declared involvement", &res)) ||
	    (rc = declared_audit(r, "child.involvement.end")))
		return rc;
	return kit_json_text(r, 200, PQgetvalue(res, 0, 0));
}

static const struct route involvements_route_list[] = {
	{"GET", "/v1/involvements", PERM_INVOLVEMENT_REVIEW, NULL, &declared_query, involvements_list,
	 "involvements.list", 0},
	{"POST", "/v1/children/{id}/involvements/{agency}/review", PERM_INVOLVEMENT_REVIEW, NULL, NULL,
	 involvements_review, "children.involvements.review", ROUTE_IDEMPOTENT},
	{"POST", "/v1/children/{id}/involvements/{agency}/ending", PERM_INVOLVEMENT_REVIEW, &ending_body, NULL,
	 involvements_end, "children.involvements.end", ROUTE_IDEMPOTENT},
};

const struct sg_area involvements_area = SG_AREA("involvements", involvements_route_list);
