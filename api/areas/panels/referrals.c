/*
 * referrals.c - children referred to a panel, and the referral's state
 * machine: submitted -> accepted | declined (with a reason); accepted ->
 * closed (with a reason from a list) -> reopened -> closed ...  Any other
 * transition is 409 naming the state the referral is in.  Who refers: a
 * safeguarding lead or social worker of a member agency, or the panel's
 * chair, of an agency in the child's network (or CSC); the chair decides,
 * closes and reopens.  The panel's readers read its referrals, and the
 * person who made a referral reads back that one.  While a referral is open
 * every member agency sees the child (derived in the database from the live
 * referral: safeguard.child_on_open_panel); the start and the end of that
 * access are audit events on the child.  The joint police/youth-justice
 * panel takes only children with both an offending risk and a safeguarding
 * concern (422 naming the missing criterion).  A referral may name a
 * chronology request about the child (or its family) that the referrer's
 * agency reads; while the referral and the request are both live the
 * panel's readers read that request's consolidated timeline, the
 * chronology area's own view (chronology.h), and nothing more of any
 * agency's chronology (safeguard.request_shared_with_panel, 017).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "areas/chronology/chronology.h"
#include "ident.h"
#include "panels.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const closure_reasons[] = {"risk_reduced", "back_in_education", "moved_out_of_area_with_handover",
					      "aged_out",     "transferred",       NULL};
static const char *const outcomes[] = {"accepted", "declined", NULL};
static const char *const referral_statuses[] = {"submitted", "accepted", "declined", "closed", "reopened", NULL};
/* what a referral may assert about the child; the joint panel needs the first two */
static const char *const criteria_names[] = {"offending_risk",    "safeguarding_concern", "missing_education",
					     "exploitation_risk", "missing_episodes",     NULL};

/* criteria: an object of the known names, each true or false */
static void check_referral(json_t *b, struct verrs *errs, struct arena *a)
{
	json_t *criteria = json_object_get(b, "criteria"), *v;
	const char *key;

	if (!json_is_object(criteria))
		return;
	json_object_foreach(criteria, key, v) {
		bool known = false;

		for (size_t i = 0; criteria_names[i] && !known; i++)
			known = strcmp(criteria_names[i], key) == 0;
		if (!known)
			verrs_add(errs, arena_printf(a, "criteria.%s", key), "unknown_field",
				  "is not a referral criterion");
		else if (!json_is_boolean(v))
			verrs_add(errs, arena_printf(a, "criteria.%s", key), "invalid_type", "must be true or false");
	}
}

static const struct field_spec referral_fields[] = {
	{.name = "child_id", .type = FT_UUID, .required = true},
	{.name = "family_id", .type = FT_UUID, .nullable = true},
	{.name = "reason", .type = FT_STRING, .required = true, .min = 1, .max = 4000},
	{.name = "risk_level", .type = FT_ENUM, .required = true, .enum_values = panels_risk_levels},
	{.name = "criteria", .type = FT_OBJECT, .nullable = true},
	{.name = "chronology_request_id", .type = FT_UUID, .nullable = true},
	{.name = "screening_id", .type = FT_UUID, .nullable = true},
};
static const char *const referral_read_only[] = {
	"id", "panel_id", "status", "referring_agency", "referred_by", "version", "created_at", "updated_at", NULL};
static const struct body_spec referral_body = {.fields = referral_fields,
					       .n = sizeof referral_fields / sizeof referral_fields[0],
					       .read_only = referral_read_only,
					       .check = check_referral};

static void check_decision(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *outcome = kit_str(b, "outcome");

	(void)a;
	if (outcome && !strcmp(outcome, "declined") && !kit_str(b, "reason"))
		verrs_add(errs, "reason", "required", "a declined referral needs the reason");
}
static const struct field_spec decision_fields[] = {
	{.name = "outcome", .type = FT_ENUM, .required = true, .enum_values = outcomes},
	{.name = "reason", .type = FT_STRING, .nullable = true, .min = 1, .max = 4000},
};
static const struct body_spec decision_body = {.fields = decision_fields, .n = 2, .check = check_decision};

static const struct field_spec closure_fields[] = {
	{.name = "reason", .type = FT_ENUM, .required = true, .enum_values = closure_reasons},
	{.name = "note", .type = FT_STRING, .nullable = true, .min = 1, .max = 4000},
};
static const struct body_spec closure_body = {.fields = closure_fields, .n = 2};

static const struct field_spec reopening_fields[] = {
	{.name = "reason", .type = FT_STRING, .required = true, .min = 1, .max = 4000},
};
static const struct body_spec reopening_body = {.fields = reopening_fields, .n = 1};

enum { RQ_LIMIT, RQ_CURSOR, RQ_STATUS };
static const struct query_param referral_query_params[] = {
	[RQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[RQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[RQ_STATUS] = {"status", FT_ENUM, 0, 0, referral_statuses},
};
static const struct query_spec referral_query = {referral_query_params, 3};
static const struct query_spec page_query = {referral_query_params, 2};

/* ---- statements (prepared on first use on each connection) ---------------- */

/* Row-level security shows a referral to the panel's readers (and its
 * referrer): (document, version, child).  The document is inlined into the
 * statement, whose plan is kept (031): the form every statement uses. */
DB_SQL(sql_referral_get, 1,
       "select (select j.doc from safeguard.panel_referral_doc(r) j(doc))::text, r.version, r.child_id"
       " from safeguard.panel_referrals r where r.id = $1::uuid");

/* the referral without its document, for the checks before an answer:
 * its panel, its child, and whether the caller made it (RF_* below) */
DB_SQL(sql_referral_standing, 1,
       "select r.panel_id, r.child_id,"
       " r.referred_by = safeguard.app_sub() and r.referring_agency = safeguard.app_agency()"
       " from safeguard.panel_referrals r where r.id = $1::uuid");

DB_SQL(sql_referral_lock, 1,
       "select r.status, r.version from safeguard.panel_referrals r where r.id = $1::uuid for update");

/* each reference as the caller may use it: (child visible, family the
 * child's, chronology request readable by the caller's agency, the caller's
 * agency in the child's network (CSC always is) rather than merely seeing
 * the child through a live request or another panel's referral, the
 * request the caller's agency made, about the child: one of its subjects, or
 * about the child's family (safeguard.panel_request_link_ok, 017 and 022,
 * which row-level security applies to the insert as well), the request made
 * by the caller's agency) */
DB_SQL(sql_referral_refs, 3,
       "select exists (select 1 from safeguard.children c where c.id = $1::uuid),"
       " $2::uuid is null or exists (select 1 from safeguard.children c where c.id = $1::uuid"
       " and c.family_id = $2::uuid),"
       " $3::uuid is null or safeguard.request_readable($3::uuid),"
       " safeguard.app_agency() = 'csc' or safeguard.child_in_network($1::uuid),"
       " $3::uuid is null or safeguard.panel_request_link_ok($3::uuid, $1::uuid),"
       " $3::uuid is null or exists (select 1 from safeguard.chronology_requests q where q.id = $3::uuid"
       " and q.requesting_agency = safeguard.app_agency())");

DB_SQL(sql_referral_insert, 3,
       "insert into safeguard.panel_referrals (id, panel_id, child_id, family_id, referring_agency, referred_by,"
       " reason, risk_level, criteria, chronology_request_id, screening_id, updated_by)"
       " select $1::uuid, $2::uuid, (b->>'child_id')::uuid, (b->>'family_id')::uuid, safeguard.app_agency(),"
       " safeguard.app_sub(), b->>'reason', b->>'risk_level', coalesce(nullif(b->'criteria', 'null'::jsonb), "
       "'{}'::jsonb),"
       " (b->>'chronology_request_id')::uuid, (b->>'screening_id')::uuid, safeguard.app_sub()"
       " from (select $3::jsonb as b) s");

DB_SQL(sql_referral_move, 4,
       "update safeguard.panel_referrals set status = $2, status_reason = $3, closure_reason = $4,"
       " version = version + 1, updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " where id = $1::uuid returning version");

/* a page of a panel's referrals after ($2, $3), the first page's being
 * (-infinity, the nil uuid) (KIT_ARG_FROM): the index on (panel_id,
 * created_at, id) starts at the cursor in the plan kept for every page */
DB_SQL(sql_referral_list, 5,
       "select (select j.doc from safeguard.panel_referral_doc(r) j(doc))::text, r.created_at::text, r.id,"
       " r.child_id from safeguard.panel_referrals r where r.panel_id = $1::uuid"
       " and (r.created_at, r.id) > ($2::timestamptz, $3::uuid)"
       " and ($5::text is null or r.status = $5) order by r.created_at, r.id limit $4::int");

DB_SQL(sql_child_referrals, 4,
       "select j, created_at, id from safeguard.child_panel_referrals($1::uuid)"
       " where $2::timestamptz is null or (created_at::timestamptz, id) > ($2::timestamptz, $3::uuid)"
       " limit $4::int");

/* (the request, the request as shown) while the caller reads the referral's
 * panel, the referral is open and the request it names open and in its
 * window; no row otherwise */
DB_SQL(sql_referral_request, 1, "select request_id, request from safeguard.panel_referral_request($1::uuid)");

/* ---- helpers ------------------------------------------------------------ */

enum { RF_PANEL, RF_CHILD, RF_REFERRER };

/* The referral of r->params[0] (sql_referral_standing's row) for a reader
 * of its panel, or (referrer true) also for the person who made it, from
 * the agency it made it for: 0, or 404. */
static int referral_load(struct sg_req *r, PGresult **res, struct panel_standing *ps, bool referrer)
{
	int rc;

	if ((rc = kit_fetch_id(r, &sql_referral_standing, r->params[0], "panel referral", res)) ||
	    (rc = panels_standing(r, PQgetvalue(*res, 0, RF_PANEL), ps)))
		return rc;
	if (ps->reader || (referrer && PQgetvalue(*res, 0, RF_REFERRER)[0] == 't'))
		return 0;
	return http_not_found(r, "panel referral");
}

/* The referral as it is now, with the child's audit row. */
static int referral_answer(struct sg_req *r, int status, const char *id)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_referral_get, id, "panel referral", &res)) ||
	    (rc = kit_audit_children(r, "child.panel_referral.read",
				     arena_printf(r->arena, "{%s}", PQgetvalue(res, 0, 2)))))
		return rc;
	return status == 200 && r->route->method[0] == 'G' ? kit_show(r, res, 0) : kit_resource(r, status, res, 0);
}

/* The transition's audit row.  The start or end of the panel's access to
 * the child (child.panel_access.start/end) is written by the database as
 * the referral opens or stops being open, whoever moves it (058). */
static int referral_audit(struct sg_req *r, const char *action, const char *id, const char *panel)
{
	const char *details = arena_printf(r->arena, "{\"panel_id\":\"%s\",\"referral_id\":\"%s\"}", panel, id);

	return kit_audit(r, action, "panel_referral", id, details);
}

/* 422 criteria-not-met naming each criterion the panel type needs and the
 * referral does not assert. */
static int check_criteria(struct sg_req *r, const struct panel_standing *ps)
{
	static const char *const joint[] = {"offending_risk", "safeguarding_concern"};
	json_t *criteria = json_object_get(r->body, "criteria");
	struct verrs errs = {0};

	if (strcmp(ps->type, "joint_police_yj") != 0)
		return 0;
	for (size_t i = 0; i < 2; i++)
		if (!json_is_true(json_object_get(criteria, joint[i])))
			verrs_add(&errs, arena_printf(r->arena, "criteria.%s", joint[i]), "criterion_not_met",
				  "the joint police/youth-justice panel takes children with both an offending risk and "
				  "a safeguarding concern");
	if (!errs.n)
		return 0;
	return http_problem_errors(r, 422, "criteria-not-met", "the referral does not meet the panel's criteria",
				   &errs);
}

/* ---- handlers ------------------------------------------------------------ */

static int referrals_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena), *child = kit_str(r->body, "child_id");
	const char *rp[3] = {child, kit_str(r->body, "family_id"), kit_str(r->body, "chronology_request_id")};
	const char *p[3] = {id, r->params[0], arena_json_dump(r->arena, r->body)};
	struct panel_standing ps;
	struct verrs errs = {0};
	PGresult *res;
	char sqlstate[6];
	int rc;

	if ((rc = panels_standing(r, r->params[0], &ps)))
		return rc;
	if (!ps.may_refer)
		return http_problem(r, 403, "forbidden",
				    ps.member
					    ? "a safeguarding lead or social worker of a member agency, or the panel's "
					      "chair, refers a child"
					    : "your agency is not a member of this panel");
	if ((rc = kit_exec(r, &sql_referral_refs, rp, 3, &res)))
		return rc;
	/* Only an agency in the child's network refers it (issue 10): one that
	 * sees the child only through a live request or another panel's open
	 * referral would otherwise turn that passing access into a lasting
	 * route for itself and for every agency on the new panel. */
	if (PQgetvalue(res, 0, 0)[0] != 't')
		verrs_add(&errs, "child_id", "not_found", "there is no child with this id that you may see");
	else if (PQgetvalue(res, 0, 3)[0] != 't')
		verrs_add(&errs, "child_id", "not_in_network",
			  "your agency is not in the child's network: declare your involvement before referring");
	else if (PQgetvalue(res, 0, 1)[0] != 't')
		verrs_add(&errs, "family_id", "not_the_childs_family", "is not the family of the child");
	/* a request the referrer's agency may not read is answered exactly as
	 * one that does not exist; one it reads but did not make is the
	 * requester's to give to a panel, not an invited agency's (the panel
	 * would read every agency's shared entries under the requester's lawful
	 * basis); one about another child is named so (only one about this
	 * child or its family may be given) */
	if (PQgetvalue(res, 0, 2)[0] != 't')
		verrs_add(&errs, "chronology_request_id", "not_found",
			  "there is no chronology request with this id that your agency may read");
	else if (PQgetvalue(res, 0, 5)[0] != 't')
		verrs_add(&errs, "chronology_request_id", "not_requester",
			  "only the agency that made the chronology request gives it to a panel");
	else if (PQgetvalue(res, 0, 4)[0] != 't')
		verrs_add(&errs, "chronology_request_id", "not_about_child",
			  "the chronology request is not about this child or the child's family");
	if (errs.n)
		return http_problem_errors(r, 422, "invalid-reference",
					   "the referral names records that cannot be used", &errs);
	if ((rc = check_criteria(r, &ps)))
		return rc;
	rc = kit_exec_constraint(r, &sql_referral_insert, p, 3, &res, sqlstate);
	if (rc == KIT_CONSTRAINT && strcmp(sqlstate, "23505") == 0)
		return http_problem(r, 409, "conflict", "the child already has an open referral to this panel");
	/* the agency left the panel while this request ran (the database's
	 * check under the panel's lock, 017): the answer it gets from now on */
	if (rc == KIT_CONSTRAINT)
		return http_problem(r, 403, "forbidden", "your agency is not a member of this panel");
	if (rc || (rc = referral_audit(r, "panel_referral.create", id, r->params[0])))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/panel-referrals/%s", id));
	return referral_answer(r, 201, id);
}

static int referrals_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_referral_list, RQ_LIMIT, RQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_ID, KIT_ARG_FROM, KIT_ARG_FETCH, RQ_STATUS)};
	struct panel_standing ps;
	struct kit_page pg;
	PGresult *res;
	int rc;

	if ((rc = panels_standing(r, r->params[0], &ps)))
		return rc;
	if (!ps.reader)
		return http_problem(r, 404, "not-found", "there is no panel with this id whose cases you may see");
	if ((rc = kit_list_fetch(r, &list, &pg, &res)) ||
	    (rc = panels_audit_page(r, "child.panel_referral.read", &pg, res, 3)))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

static int referrals_show(struct sg_req *r)
{
	struct panel_standing ps;
	PGresult *res;
	int rc;

	/* The referrer reads back the referral it made, whatever its role, so
	 * that it learns the outcome (a decline's reason is written for it);
	 * the panel's other cases, its meetings and discussions stay the
	 * readers' (issue 10).  What the panel recorded since (the risk level
	 * now, the next review) comes from discussions that row-level security
	 * shows to readers only, so the referrer sees the referral as made. */
	if ((rc = referral_load(r, &res, &ps, true)))
		return rc;
	return referral_answer(r, 200, r->params[0]);
}

/* The consolidated timeline of the chronology request the referral names:
 * what that request already shares with the agencies it invited (the
 * entries they submitted to it, nothing else of any agency's chronology),
 * for the panel's readers while the referral is open and the request open
 * and in its window.  Derived from those live rows on every read
 * (safeguard.panel_referral_request, 017), never stored: once either ends
 * it is 404, as for a referral that names no request.  A panel_referral
 * audit row, and a child row for every child the timeline shows. */
static int referrals_chronology(struct sg_req *r)
{
	struct chronology_read audit = {"panel_referral.chronology.read", "panel_referral", r->params[0], NULL,
					"child.panel_referral.chronology.read"};
	struct panel_standing ps;
	PGresult *ref, *res;
	int rc;

	if ((rc = referral_load(r, &ref, &ps, false)) || (rc = kit_exec(r, &sql_referral_request, r->params, 1, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(
			r, 404, "not-found",
			"this referral shares no chronology with you: it names no chronology request, or the "
			"referral or the request is closed, or the request's share window has passed");
	audit.details = arena_printf(r->arena, "{\"panel_id\":\"%s\",\"chronology_request_id\":\"%s\"}",
				     PQgetvalue(ref, 0, RF_PANEL), PQgetvalue(res, 0, 0));
	return chronology_consolidated(r, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), &audit);
}

/* One transition: chair only, from the states listed, to the new one. */
struct move {
	const char *action;  /* the referral's audit action (the child's access rows: 058) */
	const char *from[3]; /* the states it may start from */
	const char *rule;    /* the 409's rule when the state is another */
};

static int referral_move(struct sg_req *r, const struct move *m, const char *to, const char *reason,
			 const char *closure)
{
	const char *p[4] = {r->params[0], to, reason, closure};
	struct panel_standing ps;
	PGresult *res, *cur;
	const char *state, *panel;
	char sqlstate[6];
	bool allowed = false;
	int rc;

	if ((rc = referral_load(r, &cur, &ps, false)) ||
	    (rc = panels_require_chair(r, &ps, "decides, closes and reopens referrals")))
		return rc;
	panel = PQgetvalue(cur, 0, RF_PANEL);
	/* the state as it is once the row is ours: a concurrent move is seen here */
	if ((rc = kit_fetch_id(r, &sql_referral_lock, r->params[0], "panel referral", &res)))
		return rc;
	state = PQgetvalue(res, 0, 0);
	for (size_t i = 0; i < 3 && m->from[i]; i++)
		allowed |= strcmp(state, m->from[i]) == 0;
	if (!allowed)
		return panels_state_conflict(r, "referral", state, m->rule);
	rc = kit_exec_constraint(r, &sql_referral_move, p, 4, &res, sqlstate);
	if (rc == KIT_CONSTRAINT)
		return http_problem(r, 409, "conflict", "the child already has another open referral to this panel");
	if (rc || (rc = referral_audit(r, m->action, r->params[0], panel)))
		return rc;
	return referral_answer(r, 200, r->params[0]);
}

static int referrals_decide(struct sg_req *r)
{
	static const struct move accept = {
		"panel_referral.accept", {"submitted"}, "only a submitted referral is accepted or declined"};
	static const struct move decline = {
		"panel_referral.decline", {"submitted"}, "only a submitted referral is accepted or declined"};
	bool accepted = strcmp(kit_str(r->body, "outcome"), "accepted") == 0;

	return referral_move(r, accepted ? &accept : &decline, accepted ? "accepted" : "declined",
			     kit_str(r->body, "reason"), NULL);
}

static int referrals_close(struct sg_req *r)
{
	static const struct move closure = {
		"panel_referral.close", {"accepted", "reopened"}, "only an accepted or reopened referral is closed"};

	return referral_move(r, &closure, "closed", kit_str(r->body, "note"), kit_str(r->body, "reason"));
}

static int referrals_reopen(struct sg_req *r)
{
	static const struct move reopening = {
		"panel_referral.reopen", {"closed"}, "only a closed referral is reopened"};

	return referral_move(r, &reopening, "reopened", kit_str(r->body, "reason"), NULL);
}

/* The panels a child is on, for the child's network: which panel and the
 * referral's state, not the case. */
static int children_panel_referrals(struct sg_req *r)
{
	/* child_panel_referrals writes the child's audit row (050) */
	static const struct kit_list list = {&sql_child_referrals, RQ_LIMIT, RQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_ID, KIT_ARG_AFTER, KIT_ARG_FETCH)};
	int rc;

	if ((rc = kit_child_visible(r, r->params[0])))
		return rc;
	return kit_list(r, &list);
}

static const struct route referrals_route_list[] = {
	{"POST", "/v1/panels/{id}/referrals", PERM_PANEL_REFER, &referral_body, NULL, referrals_create,
	 "panel_referrals.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/panels/{id}/referrals", PERM_PANEL_CASES, NULL, &referral_query, referrals_list,
	 "panel_referrals.list", 0},
	{"GET", "/v1/panel-referrals/{id}", PERM_PANEL_REFERRAL, NULL, NULL, referrals_show, "panel_referrals.show", 0},
	{"GET", "/v1/panel-referrals/{id}/chronology", PERM_PANEL_CASES, NULL, NULL, referrals_chronology,
	 "panel_referrals.chronology", 0},
	{"POST", "/v1/panel-referrals/{id}/decision", PERM_PANEL_CHAIR, &decision_body, NULL, referrals_decide,
	 "panel_referrals.decide", ROUTE_IDEMPOTENT},
	{"POST", "/v1/panel-referrals/{id}/closure", PERM_PANEL_CHAIR, &closure_body, NULL, referrals_close,
	 "panel_referrals.close", ROUTE_IDEMPOTENT},
	{"POST", "/v1/panel-referrals/{id}/reopening", PERM_PANEL_CHAIR, &reopening_body, NULL, referrals_reopen,
	 "panel_referrals.reopen", ROUTE_IDEMPOTENT},
	{"GET", "/v1/children/{id}/panel-referrals", PERM_CHILD_READ, NULL, &page_query, children_panel_referrals,
	 "children.panel_referrals", 0},
};

const struct sg_area referrals_area = SG_AREA("panel_referrals", referrals_route_list);
