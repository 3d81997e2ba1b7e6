/*
 * exports.c - a panel's action log and case list as CSV, for its member
 * agencies' readers (others: 404).  Cells go through core/csv.c, so no cell
 * a spreadsheet opens can run as a formula.  Each export is audited, with a
 * row per child it names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "csv.h"
#include "panels.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

/* the action log, in due-date order; overdue derived as it is read */
DB_SQL(sql_export_actions, 1,
       "select a.id::text, a.due_date::text, a.status, case when safeguard.panel_action_overdue(a.due_date,"
       " a.status) then 'yes' else 'no' end, a.owner_agency, a.owner_name, a.description, a.progress_note,"
       " case when a.escalated then 'yes' else 'no' end, a.referral_id::text, r.child_id::text,"
       " a.meeting_id::text, safeguard.panel_instant(a.created_at), safeguard.panel_instant(a.updated_at),"
       " r.child_id from safeguard.panel_actions a left join safeguard.panel_referrals r on r.id = a.referral_id"
       " where a.panel_id = $1::uuid order by a.due_date, a.id");

/* the case list; the child's name only while the caller may see the child */
DB_SQL(sql_export_cases, 1,
       "select r.id::text, r.child_id::text, c.first_name, c.last_name, c.date_of_birth::text, r.status,"
       " j.doc->>'current_risk_level', r.risk_level, j.doc->>'next_review_date', r.referring_agency,"
       " safeguard.panel_instant(r.created_at), r.closure_reason, r.child_id"
       " from safeguard.panel_referrals r left join safeguard.children c on c.id = r.child_id"
       " cross join lateral safeguard.panel_referral_doc(r) as j(doc)"
       " where r.panel_id = $1::uuid order by r.created_at, r.id");

/* ---- helpers ------------------------------------------------------------ */

/* The rows of res under a header row; the last column (the child id for
 * the audit) is not exported. */
static int export_csv(struct sg_req *r, const char *const *header, PGresult *res, const char *filename)
{
	int cols = PQnfields(res) - 1;
	struct csv c;

	csv_init(&c, r->arena);
	for (int k = 0; k < cols; k++)
		csv_cell(&c, header[k], k == cols - 1);
	for (int i = 0; i < PQntuples(res); i++)
		for (int k = 0; k < cols; k++)
			csv_cell(&c, PQgetisnull(res, i, k) ? NULL : PQgetvalue(res, i, k), k == cols - 1);
	return csv_answer(r, &c, filename);
}

static int export_run(struct sg_req *r, struct db_statement *st, const char *const *header, const char *action,
		      const char *kind)
{
	const char *p[1] = {r->params[0]};
	struct panel_standing ps;
	PGresult *res;
	int rc;

	if ((rc = panels_standing(r, r->params[0], &ps)))
		return rc;
	if (!ps.reader)
		return http_problem(r, 404, "not-found", "there is no panel with this id whose cases you may see");
	if ((rc = kit_exec(r, st, p, 1, &res)) || (rc = kit_audit(r, action, "panel", r->params[0], NULL)) ||
	    (rc = kit_audit_children(r, "child.panel_export.read",
				     panels_id_array(r, res, PQnfields(res) - 1, PQntuples(res)))))
		return rc;
	return export_csv(r, header, res, arena_printf(r->arena, "panel-%s-%s.csv", r->params[0], kind));
}

/* ---- handlers ------------------------------------------------------------ */

static int exports_actions(struct sg_req *r)
{
	static const char *const header[] = {"id",         "due_date",    "status",        "overdue",   "owner_agency",
					     "owner_name", "description", "progress_note", "escalated", "referral_id",
					     "child_id",   "meeting_id",  "created_at",    "updated_at"};

	return export_run(r, &sql_export_actions, header, "panel.action_log.export", "actions");
}

static int exports_cases(struct sg_req *r)
{
	static const char *const header[] = {
		"referral_id",      "child_id",         "first_name",         "last_name",
		"date_of_birth",    "status",           "current_risk_level", "referred_risk_level",
		"next_review_date", "referring_agency", "referred_at",        "closure_reason"};

	return export_run(r, &sql_export_cases, header, "panel.case_list.export", "cases");
}

static const struct route exports_route_list[] = {
	{"GET", "/v1/panels/{id}/action-log", PERM_PANEL_CASES, NULL, NULL, exports_actions, "panels.action_log", 0},
	{"GET", "/v1/panels/{id}/case-list", PERM_PANEL_CASES, NULL, NULL, exports_cases, "panels.case_list", 0},
};

const struct sg_area exports_area = SG_AREA("panel_exports", exports_route_list);
