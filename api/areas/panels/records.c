/*
 * records.c - what a held meeting records: a case discussion per referral
 * on its agenda (summary, the risk level now, the next review date), and
 * decisions.  Discussions are written by the panel's members and chair
 * until the minutes are approved; decisions by the chair.  A decision is
 * never edited (no PATCH: 405, and a trigger refuses any update): a
 * correction is a new decision that supersedes it, once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ident.h"
#include "panels.h"

/* ---- field specs ------------------------------------------------------- */

static const struct field_spec discussion_fields[] = {
	{.name = "referral_id", .type = FT_UUID, .required = true},
	{.name = "summary", .type = FT_STRING, .required = true, .min = 1, .max = 10000},
	{.name = "risk_level", .type = FT_ENUM, .required = true, .enum_values = panels_risk_levels},
	{.name = "next_review_date", .type = FT_DATE, .nullable = true},
};
static const struct body_spec discussion_body = {.fields = discussion_fields, .n = 4};

static const struct field_spec decision_fields[] = {
	{.name = "text", .type = FT_STRING, .required = true, .min = 1, .max = 4000},
	{.name = "referral_id", .type = FT_UUID, .nullable = true},
	{.name = "supersedes", .type = FT_UUID, .nullable = true},
};
static const struct body_spec decision_body = {.fields = decision_fields, .n = 3};

enum { LQ_LIMIT, LQ_CURSOR };
static const struct query_param list_query_params[] = {
	[LQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[LQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec list_query = {list_query_params, 2};

/* ---- statements (prepared on first use on each connection) ---------------- */

/* the meeting (visible to the panel's readers) with its panel and agenda */
DB_SQL(sql_record_meeting, 1, "select m.panel_id, m.status from safeguard.panel_meetings m where m.id = $1::uuid");

/* the draft minutes locked against approval while a record is added: only
 * a held meeting whose minutes are not approved takes new records */
DB_SQL(sql_record_open, 1, "select n.status from safeguard.panel_minutes n where n.meeting_id = $1::uuid for share");

DB_SQL(sql_on_agenda, 2,
       "select r.child_id from safeguard.panel_meetings m join safeguard.panel_referrals r on r.id = $2::uuid"
       " and r.panel_id = m.panel_id where m.id = $1::uuid and $2::uuid = any (m.agenda)");

DB_SQL(sql_discussion_insert, 3,
       "insert into safeguard.panel_discussions (id, meeting_id, referral_id, panel_id, summary, risk_level,"
       " next_review_date, recorded_by, recorded_agency) select $1::uuid, $2::uuid, (b->>'referral_id')::uuid,"
       " m.panel_id, b->>'summary', b->>'risk_level', (b->>'next_review_date')::date, safeguard.app_sub(),"
       " safeguard.app_agency() from (select $3::jsonb as b) s, safeguard.panel_meetings m where m.id = $2::uuid"
       " returning safeguard.panel_discussion_json(panel_discussions)::text, 1");

DB_SQL(sql_meeting_discussions, 1,
       "select safeguard.panel_discussion_json(d)::text, d.created_at::text, d.id,"
       " (select r.child_id from safeguard.panel_referrals r where r.id = d.referral_id)"
       " from safeguard.panel_discussions d where d.meeting_id = $1::uuid order by d.created_at, d.id");

DB_SQL(sql_referral_panel, 1, "select r.panel_id, r.child_id from safeguard.panel_referrals r where r.id = $1::uuid");

DB_SQL(sql_referral_discussions, 4,
       "select safeguard.panel_discussion_json(d)::text, d.created_at::text, d.id"
       " from safeguard.panel_discussions d where d.referral_id = $1::uuid"
       " and ($2::timestamptz is null or (d.created_at, d.id) > ($2::timestamptz, $3::uuid))"
       " order by d.created_at, d.id limit $4::int");

/* a decision's references: a referral of the panel, a decision of the panel
 * (and whether it has been superseded already) */
DB_SQL(sql_decision_refs, 3,
       "select $2::uuid is null or exists (select 1 from safeguard.panel_referrals r where r.id = $2::uuid"
       " and r.panel_id = $1::uuid),"
       " $3::uuid is null or exists (select 1 from safeguard.panel_decisions d where d.id = $3::uuid"
       " and d.panel_id = $1::uuid),"
       " exists (select 1 from safeguard.panel_decisions d where d.supersedes = $3::uuid),"
       " (select r.child_id from safeguard.panel_referrals r where r.id = $2::uuid)");

DB_SQL(sql_decision_insert, 4,
       "insert into safeguard.panel_decisions (id, panel_id, meeting_id, referral_id, text, supersedes, recorded_by,"
       " recorded_agency) select $1::uuid, $2::uuid, $3::uuid, (b->>'referral_id')::uuid, b->>'text',"
       " (b->>'supersedes')::uuid, safeguard.app_sub(), safeguard.app_agency() from (select $4::jsonb as b) s");

DB_SQL(sql_decision_get, 1,
       "select safeguard.panel_decision_json(d)::text, 1, d.panel_id, d.referral_id,"
       " (select r.child_id from safeguard.panel_referrals r where r.id = d.referral_id)"
       " from safeguard.panel_decisions d where d.id = $1::uuid");

DB_SQL(sql_meeting_decisions, 4,
       "select safeguard.panel_decision_json(d)::text, d.created_at::text, d.id,"
       " (select r.child_id from safeguard.panel_referrals r where r.id = d.referral_id)"
       " from safeguard.panel_decisions d where d.meeting_id = $1::uuid"
       " and ($2::timestamptz is null or (d.created_at, d.id) > ($2::timestamptz, $3::uuid))"
       " order by d.created_at, d.id limit $4::int");

/* ---- helpers ------------------------------------------------------------ */

/* The meeting r->params[0] for a reader of its panel; *panel an arena copy. */
static int record_meeting(struct sg_req *r, struct panel_standing *ps, const char **panel)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_record_meeting, r->params[0], "panel meeting", &res)) ||
	    (rc = panels_standing(r, PQgetvalue(res, 0, 0), ps)))
		return rc;
	*panel = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
	return ps->reader ? 0 : http_not_found(r, "panel meeting");
}

/* 0 when the meeting is held and its minutes not yet approved (and holds
 * them so until the transaction ends), else 409 naming its state. */
static int record_open(struct sg_req *r, const char *what)
{
	const char *p[1] = {r->params[0]};
	PGresult *res, *m;
	int rc;

	if ((rc = kit_exec(r, &sql_record_open, p, 1, &res)))
		return rc;
	if (PQntuples(res) == 1)
		return 0;
	if ((rc = kit_exec(r, &sql_record_meeting, p, 1, &m)))
		return rc;
	return panels_state_conflict(
		r, "meeting", PQntuples(m) ? PQgetvalue(m, 0, 1) : "gone",
		arena_printf(r->arena, "%s are recorded at a held meeting until its minutes are approved", what));
}

/* ---- handlers: discussions ---------------------------------------------- */

static int discussions_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *ap[2] = {r->params[0], kit_str(r->body, "referral_id")};
	const char *p[3] = {id, r->params[0], arena_json_dump(r->arena, r->body)};
	struct panel_standing ps;
	const char *panel, *child;
	PGresult *res;
	char sqlstate[6];
	int rc;

	if ((rc = record_meeting(r, &ps, &panel)))
		return rc;
	if (!ps.recorder)
		return http_problem(r, 403, "forbidden", "the panel's members and chair record case discussions");
	if ((rc = record_open(r, "case discussions")) || (rc = kit_exec(r, &sql_on_agenda, ap, 2, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return panels_bad_reference(r, "referral_id", "is not a referral on this meeting's agenda");
	child = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
	rc = kit_exec_constraint(r, &sql_discussion_insert, p, 3, &res, sqlstate);
	if (rc == KIT_CONSTRAINT)
		return http_problem(r, 409, "conflict",
				    "this referral's discussion at this meeting is already recorded");
	if (rc || (rc = kit_audit(r, "panel_discussion.create", "panel_discussion", id, NULL)) ||
	    (rc = kit_audit(r, "child.panel_discussion.create", "child", child, NULL)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/panel-meetings/%s/discussions", r->params[0]));
	return kit_resource(r, 201, res, 0);
}

/* A meeting's discussions: one page by design (at most one per agenda item). */
static int discussions_of_meeting(struct sg_req *r)
{
	struct panel_standing ps;
	const char *p[1] = {r->params[0]}, *panel;
	PGresult *res;
	int rc;

	if ((rc = record_meeting(r, &ps, &panel)) || (rc = kit_exec(r, &sql_meeting_discussions, p, 1, &res)) ||
	    (rc = kit_audit_children(r, "child.panel_discussion.read", panels_id_array(r, res, 3, PQntuples(res)))))
		return rc;
	return http_list_rows(r, res, 0, PQntuples(res), NULL);
}

static int discussions_of_referral(struct sg_req *r)
{
	static const struct kit_list list = {&sql_referral_discussions, LQ_LIMIT, LQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_ID, KIT_ARG_AFTER, KIT_ARG_FETCH)};
	struct panel_standing ps;
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_referral_panel, r->params[0], "panel referral", &res)) ||
	    (rc = panels_standing(r, PQgetvalue(res, 0, 0), &ps)))
		return rc;
	if (!ps.reader)
		return http_not_found(r, "panel referral");
	if ((rc = kit_audit(r, "child.panel_discussion.read", "child", PQgetvalue(res, 0, 1), NULL)))
		return rc;
	return kit_list(r, &list);
}

/* ---- handlers: decisions -------------------------------------------------- */

static int decisions_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena), *supersedes = kit_str(r->body, "supersedes");
	const char *p[4] = {id, NULL, r->params[0], arena_json_dump(r->arena, r->body)};
	struct panel_standing ps;
	struct verrs errs = {0};
	const char *panel;
	PGresult *res;
	char sqlstate[6];
	int rc;

	if ((rc = record_meeting(r, &ps, &panel)) || (rc = panels_require_chair(r, &ps, "records decisions")) ||
	    (rc = record_open(r, "decisions")))
		return rc;
	{
		const char *rp[3] = {panel, kit_str(r->body, "referral_id"), supersedes};

		if ((rc = kit_exec(r, &sql_decision_refs, rp, 3, &res)))
			return rc;
	}
	if (PQgetvalue(res, 0, 0)[0] != 't')
		verrs_add(&errs, "referral_id", "not_found", "is not a referral of this panel");
	if (PQgetvalue(res, 0, 1)[0] != 't')
		verrs_add(&errs, "supersedes", "not_found", "is not a decision of this panel");
	if (errs.n)
		return http_problem_errors(r, 422, "invalid-reference",
					   "the decision names records that cannot be used", &errs);
	if (supersedes && PQgetvalue(res, 0, 2)[0] == 't')
		return http_problem(r, 409, "conflict",
				    "that decision is already superseded; supersede the current one");
	p[1] = panel;
	rc = kit_exec_constraint(r, &sql_decision_insert, p, 4, &res, sqlstate);
	if (rc == KIT_CONSTRAINT) /* superseded by a concurrent correction */
		return http_problem(r, 409, "conflict",
				    "that decision is already superseded; supersede the current one");
	if (rc || (rc = kit_audit(r, "panel_decision.create", "panel_decision", id, NULL)) ||
	    (supersedes && (rc = kit_audit(r, "panel_decision.supersede", "panel_decision", supersedes, NULL))) ||
	    (rc = kit_fetch_id(r, &sql_decision_get, id, "panel decision", &res)) ||
	    (!PQgetisnull(res, 0, 4) &&
	     (rc = kit_audit(r, "child.panel_decision.create", "child", PQgetvalue(res, 0, 4), NULL))))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/panel-decisions/%s", id));
	return kit_resource(r, 201, res, 0);
}

static int decisions_show(struct sg_req *r)
{
	struct panel_standing ps;
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_decision_get, r->params[0], "panel decision", &res)) ||
	    (rc = panels_standing(r, PQgetvalue(res, 0, 2), &ps)))
		return rc;
	if (!ps.reader)
		return http_not_found(r, "panel decision");
	if (!PQgetisnull(res, 0, 4) &&
	    (rc = kit_audit(r, "child.panel_decision.read", "child", PQgetvalue(res, 0, 4), NULL)))
		return rc;
	return kit_show(r, res, 0);
}

static int decisions_of_meeting(struct sg_req *r)
{
	static const struct kit_list list = {&sql_meeting_decisions, LQ_LIMIT, LQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_ID, KIT_ARG_AFTER, KIT_ARG_FETCH)};
	struct panel_standing ps;
	struct kit_page pg;
	const char *panel;
	PGresult *res;
	int rc;

	if ((rc = record_meeting(r, &ps, &panel)) || (rc = kit_list_fetch(r, &list, &pg, &res)) ||
	    (rc = panels_audit_page(r, "child.panel_decision.read", &pg, res, 3)))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

static const struct route records_route_list[] = {
	{"POST", "/v1/panel-meetings/{id}/discussions", PERM_PANEL_RECORD, &discussion_body, NULL, discussions_create,
	 "panel_discussions.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/panel-meetings/{id}/discussions", PERM_PANEL_CASES, NULL, NULL, discussions_of_meeting,
	 "panel_discussions.list", 0},
	{"GET", "/v1/panel-referrals/{id}/discussions", PERM_PANEL_CASES, NULL, &list_query, discussions_of_referral,
	 "panel_referrals.discussions", 0},
	{"POST", "/v1/panel-meetings/{id}/decisions", PERM_PANEL_CHAIR, &decision_body, NULL, decisions_create,
	 "panel_decisions.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/panel-meetings/{id}/decisions", PERM_PANEL_CASES, NULL, &list_query, decisions_of_meeting,
	 "panel_decisions.list", 0},
	{"GET", "/v1/panel-decisions/{id}", PERM_PANEL_CASES, NULL, NULL, decisions_show, "panel_decisions.show", 0},
};

const struct sg_area records_area = SG_AREA("panel_records", records_route_list);
