/*
 * minutes.c - the minutes of a held meeting: a draft that the panel's
 * members and chair write in versions (If-Match on every change, each
 * version kept), until the chair approves them.  Approved minutes are
 * read-only, here and in row-level security.  Two chairs approving at once:
 * the row lock makes one wait, and it then finds the minutes approved (409)
 * or changed since its If-Match (412); nothing is approved twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "panels.h"

/* ---- field specs ------------------------------------------------------- */

static const struct field_spec minutes_fields[] = {
	{.name = "text", .type = FT_STRING, .required = true, .max = 20000},
};
static const char *const minutes_read_only[] = {"meeting_id", "panel_id",    "status",      "version", "updated_by",
						"updated_at", "approved_by", "approved_at", NULL};
static const struct body_spec minutes_body = {.fields = minutes_fields, .n = 1, .read_only = minutes_read_only};

enum { VQ_LIMIT, VQ_CURSOR };
static const struct query_param version_query_params[] = {
	[VQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[VQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec version_query = {version_query_params, 2};

/* ---- statements (prepared on first use on each connection) ---------------- */

/* Row-level security shows minutes to the panel's readers only. */
DB_SQL(sql_minutes_get, 1,
       "select safeguard.panel_minutes_json(n)::text, n.version, n.panel_id, n.status"
       " from safeguard.panel_minutes n where n.meeting_id = $1::uuid");

/* approved minutes are not updatable, so locking finds no row for them */
DB_SQL(sql_minutes_lock, 1,
       "select n.status, n.version from safeguard.panel_minutes n where n.meeting_id = $1::uuid for update");

DB_SQL(sql_minutes_write, 3,
       "update safeguard.panel_minutes set text = $2, version = version + 1, updated_by = safeguard.app_sub(),"
       " updated_at = clock_timestamp() where meeting_id = $1::uuid and version = $3::int returning version");

DB_SQL(sql_minutes_approve, 2,
       "with n as (update safeguard.panel_minutes set status = 'approved', version = version + 1,"
       " approved_by = safeguard.app_sub(), approved_at = clock_timestamp(), updated_by = safeguard.app_sub(),"
       " updated_at = clock_timestamp() where meeting_id = $1::uuid and version = $2::int and status = 'draft'"
       " returning meeting_id)"
       " update safeguard.panel_meetings m set status = 'minutes_approved', version = m.version + 1,"
       " updated_at = clock_timestamp(), updated_by = safeguard.app_sub() from n where m.id = n.meeting_id"
       " returning m.id");

/* the cursor's version is client text of up to 18 digits (kit.c): bigint, so
 * that any of them is a position, never an overflow (a 500) */
DB_SQL(sql_minutes_versions, 3,
       "select jsonb_build_object('version', v.version, 'text', v.text, 'status', v.status,"
       " 'recorded_by', v.recorded_by, 'recorded_agency', v.recorded_agency,"
       " 'recorded_at', safeguard.panel_instant(v.recorded_at))::text, v.version::text"
       " from safeguard.panel_minutes_versions v where v.meeting_id = $1::uuid"
       " and ($2::bigint is null or v.version > $2::bigint) order by v.version limit $3::int");

/* ---- helpers ------------------------------------------------------------ */

/* The minutes of meeting r->params[0] for a reader: 0, or 404 (no such
 * meeting, not yours to see, or not held yet). */
static int minutes_load(struct sg_req *r, PGresult **res, struct panel_standing *ps)
{
	int rc;

	if ((rc = kit_fetch_id(r, &sql_minutes_get, r->params[0], "minutes", res)) ||
	    (rc = panels_standing(r, PQgetvalue(*res, 0, 2), ps)))
		return rc;
	return ps->reader ? 0 : http_not_found(r, "minutes");
}

/* The draft locked: 0, or 409 when the minutes are (or just became) approved. */
static int minutes_lock_draft(struct sg_req *r, PGresult *cur, PGresult **locked)
{
	const char *p[1] = {r->params[0]};
	int rc;

	if (strcmp(PQgetvalue(cur, 0, 3), "draft") != 0)
		return panels_state_conflict(r, "minutes", PQgetvalue(cur, 0, 3), "approved minutes are read-only");
	if ((rc = kit_exec(r, &sql_minutes_lock, p, 1, locked)))
		return rc;
	if (PQntuples(*locked) == 0 || strcmp(PQgetvalue(*locked, 0, 0), "draft") != 0)
		return panels_state_conflict(r, "minutes", "approved", "approved minutes are read-only");
	return 0;
}

static int minutes_answer(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_minutes_get, r->params[0], "minutes", &res)))
		return rc;
	return r->route->method[0] == 'G' ? kit_show(r, res, 0) : kit_resource(r, 200, res, 0);
}

/* ---- handlers ------------------------------------------------------------ */

static int minutes_show(struct sg_req *r)
{
	struct panel_standing ps;
	PGresult *res;
	int rc;

	if ((rc = minutes_load(r, &res, &ps)) ||
	    (rc = kit_audit(r, "panel_minutes.read", "panel_meeting", r->params[0], NULL)))
		return rc;
	return kit_show(r, res, 0);
}

/* A new version of the draft: the text as a whole, If-Match required. */
static int minutes_write(struct sg_req *r)
{
	const char *p[3] = {r->params[0], kit_str(r->body, "text"), NULL};
	struct panel_standing ps;
	PGresult *cur, *locked, *res;
	int rc;

	if ((rc = minutes_load(r, &cur, &ps)))
		return rc;
	if (!ps.recorder)
		return http_problem(r, 403, "forbidden", "the panel's members and chair write the minutes");
	if (!p[1])
		return panels_invalid(r, "text", "required", "is required");
	if ((rc = minutes_lock_draft(r, cur, &locked)) || (rc = kit_if_match(r, PQgetvalue(locked, 0, 1))))
		return rc;
	p[2] = PQgetvalue(locked, 0, 1);
	if ((rc = kit_exec(r, &sql_minutes_write, p, 3, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(r, 412, "precondition-failed", "the minutes changed while you were writing them");
	if ((rc = kit_audit(r, "panel_minutes.write", "panel_meeting", p[0], NULL)))
		return rc;
	return minutes_answer(r);
}

/* The chair approves the version it read (If-Match): read-only from now. */
static int minutes_approve(struct sg_req *r)
{
	const char *p[2] = {r->params[0], NULL};
	struct panel_standing ps;
	PGresult *cur, *locked, *res;
	int rc;

	if ((rc = minutes_load(r, &cur, &ps)) || (rc = panels_require_chair(r, &ps, "approves the minutes")) ||
	    (rc = minutes_lock_draft(r, cur, &locked)) || (rc = kit_if_match(r, PQgetvalue(locked, 0, 1))))
		return rc;
	p[1] = PQgetvalue(locked, 0, 1);
	if ((rc = kit_exec(r, &sql_minutes_approve, p, 2, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return panels_state_conflict(r, "minutes", "approved", "approved minutes are read-only");
	if ((rc = kit_audit(r, "panel_minutes.approve", "panel_meeting", p[0], NULL)))
		return rc;
	return minutes_answer(r);
}

/* Every version, oldest first. */
static int minutes_versions(struct sg_req *r)
{
	static const struct kit_list list = {&sql_minutes_versions, VQ_LIMIT, VQ_CURSOR, KIT_KEYS(KIT_KEY_INT),
					     KIT_ARGS(KIT_ARG_ID, KIT_ARG_AFTER, KIT_ARG_FETCH)};
	struct panel_standing ps;
	struct kit_page pg;
	PGresult *res;
	int rc;

	if ((rc = minutes_load(r, &res, &ps)) || (rc = kit_list_fetch(r, &list, &pg, &res)) ||
	    (rc = kit_audit(r, "panel_minutes.versions.read", "panel_meeting", r->params[0], NULL)))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

static const struct route minutes_route_list[] = {
	{"GET", "/v1/panel-meetings/{id}/minutes", PERM_PANEL_CASES, NULL, NULL, minutes_show, "panel_minutes.show", 0},
	{"PATCH", "/v1/panel-meetings/{id}/minutes", PERM_PANEL_RECORD, &minutes_body, NULL, minutes_write,
	 "panel_minutes.write", ROUTE_PATCH},
	{"GET", "/v1/panel-meetings/{id}/minutes/versions", PERM_PANEL_CASES, NULL, &version_query, minutes_versions,
	 "panel_minutes.versions", 0},
	{"POST", "/v1/panel-meetings/{id}/minutes/approval", PERM_PANEL_CHAIR, NULL, NULL, minutes_approve,
	 "panel_minutes.approve", ROUTE_IDEMPOTENT},
};

const struct sg_area minutes_area = SG_AREA("panel_minutes", minutes_route_list);
