/*
 * actions.c - the panels' action log, each agency's tray: an action belongs
 * to a panel (optionally to a referral and a meeting), has a description,
 * an owner agency (and optionally a named owner), a due date and a status
 * (open, in_progress, done, cancelled).  Overdue is derived from the due
 * date whenever an action is read, never stored.  The chair sets actions;
 * the owner agency reports progress (If-Match) and nobody else may; an
 * owner that disagrees escalates to the chair with a reason, and the chair
 * resolves it (and may change the owner, due date or status).  Every change
 * is kept, by a trigger, as a version in the action's history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ident.h"
#include "panels.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const action_statuses[] = {"open", "in_progress", "done", "cancelled", NULL};
/* an agency code, or mine: the caller's own (sg_agency_names plus one) */
static const char *const owner_filters[] = {"mine",      "csc",           "police",   "health",    "mental_health",
					    "education", "youth_justice", "district", "voluntary", "partnership",
					    NULL};
static const char *const truth[] = {"true", "false", NULL};

static void check_due(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *due = kit_str(b, "due_date");

	if (due && validate_date(due) && strcmp(due, kit_today(a)) < 0)
		verrs_add(errs, "due_date", "in_past", "must be today or later");
}

static const struct field_spec action_fields[] = {
	{.name = "panel_id", .type = FT_UUID, .required = true},
	{.name = "referral_id", .type = FT_UUID, .nullable = true},
	{.name = "meeting_id", .type = FT_UUID, .nullable = true},
	{.name = "description", .type = FT_STRING, .required = true, .min = 1, .max = 2000},
	{.name = "owner_agency", .type = FT_ENUM, .required = true, .enum_values = sg_agency_names},
	{.name = "owner_name", .type = FT_STRING, .nullable = true, .min = 1, .max = 200},
	{.name = "due_date", .type = FT_DATE, .required = true},
};
static const char *const action_read_only[] = {"id",          "child_id",      "status",  "overdue",    "escalated",
					       "escalations", "progress_note", "version", "created_by", "created_at",
					       "updated_by",  "updated_at",    NULL};
static const struct body_spec action_body = {
	.fields = action_fields, .n = 7, .read_only = action_read_only, .check = check_due};

/* progress, by the owner agency; what only the chair changes is named so */
static void check_progress(json_t *b, struct verrs *errs, struct arena *a)
{
	static const char *const chair_only[] = {"description", "owner_agency", "due_date", NULL};
	const char *status = kit_str(b, "status");

	(void)a;
	for (size_t i = 0; chair_only[i]; i++)
		if (json_object_get(b, chair_only[i]))
			verrs_add(errs, chair_only[i], "chair_only",
				  "changes only when the chair resolves an escalation: escalate the action");
	if (status && !strcmp(status, "cancelled"))
		verrs_add(errs, "status", "chair_only",
			  "only the chair cancels an action: escalate it with your reason");
}
static const struct field_spec progress_fields[] = {
	{.name = "status", .type = FT_ENUM, .required = true, .enum_values = action_statuses},
	{.name = "progress_note", .type = FT_STRING, .nullable = true, .min = 1, .max = 4000},
	{.name = "owner_name", .type = FT_STRING, .nullable = true, .min = 1, .max = 200},
	/* the chair's: refused with a reason by check_progress */
	{.name = "description", .type = FT_STRING},
	{.name = "owner_agency", .type = FT_STRING},
	{.name = "due_date", .type = FT_STRING},
};
static const char *const progress_read_only[] = {"id",         "panel_id",   "referral_id", "child_id", "meeting_id",
						 "overdue",    "escalated",  "escalations", "version",  "created_by",
						 "created_at", "updated_by", "updated_at",  NULL};
static const struct body_spec progress_body = {.fields = progress_fields,
					       .n = 6,
					       .read_only = progress_read_only,
					       .check = check_progress,
					       .patch_merged = true};
/* the merged record: the owner's fields only */
static const struct body_spec progress_merge = {.fields = progress_fields, .n = 3};

static const struct field_spec escalation_fields[] = {
	{.name = "reason", .type = FT_STRING, .required = true, .min = 1, .max = 2000},
};
static const struct body_spec escalation_body = {.fields = escalation_fields, .n = 1};

static const struct field_spec resolution_fields[] = {
	{.name = "resolution", .type = FT_STRING, .required = true, .min = 1, .max = 2000},
	{.name = "status", .type = FT_ENUM, .enum_values = action_statuses},
	{.name = "due_date", .type = FT_DATE},
	{.name = "owner_agency", .type = FT_ENUM, .enum_values = sg_agency_names},
	{.name = "owner_name", .type = FT_STRING, .nullable = true, .min = 1, .max = 200},
};
static const struct body_spec resolution_body = {.fields = resolution_fields, .n = 5, .check = check_due};

enum { AQ_LIMIT, AQ_CURSOR, AQ_PANEL, AQ_OWNER, AQ_STATUS, AQ_OVERDUE, AQ_DUE_BEFORE, AQ_REFERRAL };
static const struct query_param action_query_params[] = {
	[AQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[AQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[AQ_PANEL] = {"panel", FT_UUID, 0, 0, NULL},
	[AQ_OWNER] = {"owner_agency", FT_ENUM, 0, 0, owner_filters},
	[AQ_STATUS] = {"status", FT_ENUM, 0, 0, action_statuses},
	[AQ_OVERDUE] = {"overdue", FT_ENUM, 0, 0, truth},
	[AQ_DUE_BEFORE] = {"due_before", FT_DATE, 0, 0, NULL},
	[AQ_REFERRAL] = {"referral", FT_UUID, 0, 0, NULL},
};
static const struct query_spec action_query = {action_query_params, 8};
static const struct query_spec history_query = {action_query_params, 2};

/* ---- statements (prepared on first use on each connection) ---------------- */

/* Row-level security shows actions to their panel's readers only:
 * (document, version, child).  The document is inlined into the statement,
 * whose plan is kept (031): the form every statement uses. */
DB_SQL(sql_action_get, 1,
       "select (select j.doc from safeguard.panel_action_doc(a) j(doc))::text, a.version,"
       " (select r.child_id from safeguard.panel_referrals r where r.id = a.referral_id)"
       " from safeguard.panel_actions a where a.id = $1::uuid");

/* The action without its document, for the checks before an answer (A_*
 * below): what the owner changes (the record a PATCH merges into), and
 * who may do what. */
DB_SQL(sql_action_standing, 1,
       "select jsonb_build_object('status', a.status, 'progress_note', a.progress_note,"
       " 'owner_name', a.owner_name)::text, a.version, a.panel_id, a.owner_agency, a.status, a.escalated,"
       " (select r.child_id from safeguard.panel_referrals r where r.id = a.referral_id)"
       " from safeguard.panel_actions a where a.id = $1::uuid");

DB_SQL(sql_action_lock, 1,
       "select a.status, a.version, a.escalated from safeguard.panel_actions a where a.id = $1::uuid for update");

DB_SQL(sql_action_refs, 4,
       "select exists (select 1 from safeguard.panel_members m where m.panel_id = $1::uuid and m.agency = $2),"
       " $3::uuid is null or exists (select 1 from safeguard.panel_referrals r where r.id = $3::uuid"
       " and r.panel_id = $1::uuid),"
       " $4::uuid is null or exists (select 1 from safeguard.panel_meetings m where m.id = $4::uuid"
       " and m.panel_id = $1::uuid)");

DB_SQL(sql_action_insert, 2,
       "insert into safeguard.panel_actions (id, panel_id, referral_id, meeting_id, description, owner_agency,"
       " owner_name, due_date, created_by, updated_by) select $1::uuid, (b->>'panel_id')::uuid,"
       " (b->>'referral_id')::uuid, (b->>'meeting_id')::uuid, b->>'description', b->>'owner_agency',"
       " b->>'owner_name', (b->>'due_date')::date, safeguard.app_sub(), safeguard.app_sub()"
       " from (select $2::jsonb as b) s");

/* (document, version) of the action as updated: the answer */
DB_SQL(sql_action_progress, 3,
       "update safeguard.panel_actions a set (status, progress_note, owner_name) = (select b->>'status',"
       " b->>'progress_note', b->>'owner_name' from (select $2::jsonb as b) s), version = version + 1,"
       " updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " where a.id = $1::uuid and a.version = $3::int"
       " returning (select j.doc from safeguard.panel_action_doc(a) j(doc))::text, a.version");

DB_SQL(sql_action_escalate, 2,
       "with e as (insert into safeguard.panel_action_escalations (id, action_id, panel_id, reason, raised_by,"
       " raised_agency) select gen_random_uuid(), a.id, a.panel_id, $2, safeguard.app_sub(), safeguard.app_agency()"
       " from safeguard.panel_actions a where a.id = $1::uuid returning action_id)"
       " update safeguard.panel_actions a set escalated = true, version = version + 1,"
       " updated_at = clock_timestamp(), updated_by = safeguard.app_sub() from e where a.id = e.action_id");

DB_SQL(sql_action_resolve, 2,
       "with b as (select $2::jsonb as b), e as (update safeguard.panel_action_escalations set"
       " resolution = (select b->>'resolution' from b), resolved_by = safeguard.app_sub(),"
       " resolved_at = clock_timestamp() where action_id = $1::uuid and resolved_at is null returning action_id)"
       " update safeguard.panel_actions a set escalated = false,"
       " status = coalesce(b->>'status', a.status), due_date = coalesce((b->>'due_date')::date, a.due_date),"
       " owner_agency = coalesce(b->>'owner_agency', a.owner_agency),"
       " owner_name = case when b ? 'owner_name' then b->>'owner_name' else a.owner_name end,"
       " version = a.version + 1, updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " from b, e where a.id = e.action_id");

DB_SQL(sql_action_list, 9,
       "select (select j.doc from safeguard.panel_action_doc(a) j(doc))::text, a.due_date::text, a.id,"
       " (select r.child_id from safeguard.panel_referrals r where r.id = a.referral_id)"
       " from safeguard.panel_actions a"
       " where ($1::date is null or (a.due_date, a.id) > ($1::date, $2::uuid))"
       " and ($4::uuid is null or a.panel_id = $4::uuid)"
       " and ($5::text is null or a.owner_agency = case when $5 = 'mine' then safeguard.app_agency() else $5 end)"
       " and ($6::text is null or a.status = $6)"
       " and ($7::boolean is null or safeguard.panel_action_overdue(a.due_date, a.status) = $7::boolean)"
       " and ($8::date is null or a.due_date < $8::date)"
       " and ($9::uuid is null or a.referral_id = $9::uuid)"
       " order by a.due_date, a.id limit $3::int");

/* the cursor's version is client text of up to 18 digits (kit.c): bigint, so
 * that any of them is a position, never an overflow (a 500) */
DB_SQL(sql_action_history, 3,
       "select jsonb_build_object('version', h.version, 'change', h.change, 'action', h.snapshot,"
       " 'changed_by', h.changed_by, 'changed_agency', h.changed_agency,"
       " 'changed_at', safeguard.panel_instant(h.changed_at))::text, h.version::text"
       " from safeguard.panel_action_history h where h.action_id = $1::uuid"
       " and ($2::bigint is null or h.version > $2::bigint) order by h.version limit $3::int");

/* ---- helpers ------------------------------------------------------------ */

enum { A_FIELDS, A_VERSION, A_PANEL, A_OWNER, A_STATUS, A_ESCALATED, A_CHILD };

/* The action r->params[0] (sql_action_standing's row) for a reader of its
 * panel: 0, or 404. */
static int action_load(struct sg_req *r, PGresult **res, struct panel_standing *ps)
{
	int rc;

	if ((rc = kit_fetch_id(r, &sql_action_standing, r->params[0], "panel action", res)) ||
	    (rc = panels_standing(r, PQgetvalue(*res, 0, A_PANEL), ps)))
		return rc;
	return ps->reader ? 0 : http_not_found(r, "panel action");
}

/* 403 unless the caller's agency owns the action. */
static int action_owner(struct sg_req *r, PGresult *res, const char *doing)
{
	const char *owner = PQgetvalue(res, 0, A_OWNER);

	if (strcmp(owner, sg_agency_names[r->id.agency]) == 0)
		return 0;
	return http_problem(r, 403, "forbidden", arena_printf(r->arena, "only the owner agency (%s) %s", owner, doing));
}

/* The row locked, still open or in progress: 0, or 409 naming its state. */
static int action_lock_live(struct sg_req *r, PGresult **locked)
{
	const char *state;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_action_lock, r->params[0], "panel action", locked)))
		return rc;
	state = PQgetvalue(*locked, 0, 0);
	if (!strcmp(state, "done") || !strcmp(state, "cancelled"))
		return panels_state_conflict(r, "action", state, "a done or cancelled action is closed");
	return 0;
}

/* The child of the action in res's column col, or NULL (borrowed from res). */
static const char *action_child(PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

/* The audit row of the action's child (NULL: the action is about none). */
static int action_audit_child(struct sg_req *r, const char *child)
{
	return child ? kit_audit(r, "child.panel_action.read", "child", child, NULL) : 0;
}

/* The action in res (document, version), with its child's audit row. */
static int action_reply(struct sg_req *r, int status, PGresult *res, const char *child)
{
	int rc;

	if ((rc = action_audit_child(r, child)))
		return rc;
	return status == 200 && r->route->method[0] == 'G' ? kit_show(r, res, 0) : kit_resource(r, status, res, 0);
}

/* The action as it is now, with its child's audit row. */
static int action_answer(struct sg_req *r, int status, const char *id)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_action_get, id, "panel action", &res)))
		return rc;
	return action_reply(r, status, res, action_child(res, 2));
}

/* The owner agency, referral and meeting belong to the panel: 0 or 422. */
static int action_refs(struct sg_req *r, const char *panel, const char *owner, const char *referral,
		       const char *meeting)
{
	const char *p[4] = {panel, owner, referral, meeting};
	struct verrs errs = {0};
	PGresult *res;
	int rc;

	if ((rc = kit_exec(r, &sql_action_refs, p, 4, &res)))
		return rc;
	if (owner && PQgetvalue(res, 0, 0)[0] != 't')
		verrs_add(&errs, "owner_agency", "not_a_member", "the owner agency must be a member of the panel");
	if (PQgetvalue(res, 0, 1)[0] != 't')
		verrs_add(&errs, "referral_id", "not_found", "is not a referral of this panel");
	if (PQgetvalue(res, 0, 2)[0] != 't')
		verrs_add(&errs, "meeting_id", "not_found", "is not a meeting of this panel");
	if (!errs.n)
		return 0;
	return http_problem_errors(r, 422, "invalid-reference", "the action names records that cannot be used", &errs);
}

/* Runs an action write that gives an agency ownership (a new action, an
 * owner changed): the database checks the owner sits on the panel again,
 * under the panel's lock (017), since a membership change may have
 * committed after action_refs looked.  0, or 422 as action_refs says it. */
static int action_owner_write(struct sg_req *r, struct db_statement *st, const char *const *p, int n)
{
	struct verrs errs = {0};
	PGresult *res;
	char sqlstate[6];
	int rc = kit_exec_constraint(r, st, p, n, &res, sqlstate);

	if (rc != KIT_CONSTRAINT)
		return rc;
	verrs_add(&errs, "owner_agency", "not_a_member", "the owner agency must be a member of the panel");
	return http_problem_errors(r, 422, "invalid-reference", "the action names records that cannot be used", &errs);
}

/* ---- handlers ------------------------------------------------------------ */

static int actions_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena), *panel = kit_str(r->body, "panel_id");
	const char *p[2] = {id, arena_json_dump(r->arena, r->body)};
	struct panel_standing ps;
	int rc;

	rc = panels_standing(r, panel, &ps);
	if (rc == 404) /* a body's reference, not the path's record */
		return panels_bad_reference(r, "panel_id", "there is no panel with this id");
	if (rc || (rc = panels_require_chair(r, &ps, "sets actions")) ||
	    (rc = action_refs(r, panel, kit_str(r->body, "owner_agency"), kit_str(r->body, "referral_id"),
			      kit_str(r->body, "meeting_id"))) ||
	    (rc = action_owner_write(r, &sql_action_insert, p, 2)) ||
	    (rc = kit_audit(r, "panel_action.create", "panel_action", id, NULL)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/panel-actions/%s", id));
	return action_answer(r, 201, id);
}

/* Each agency's tray: ?owner_agency=mine&overdue=true, and the panel's log. */
static int actions_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_action_list, AQ_LIMIT, AQ_CURSOR,
					     KIT_KEYS(KIT_KEY_DATE, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_AFTER, KIT_ARG_FETCH, AQ_PANEL, AQ_OWNER, AQ_STATUS,
						      AQ_OVERDUE, AQ_DUE_BEFORE, AQ_REFERRAL)};
	struct kit_page pg;
	PGresult *res;
	int rc;

	if ((rc = kit_list_fetch(r, &list, &pg, &res)) ||
	    (rc = panels_audit_page(r, "child.panel_action.read", &pg, res, 3)))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

static int actions_show(struct sg_req *r)
{
	struct panel_standing ps;
	PGresult *res;
	int rc;

	if ((rc = action_load(r, &res, &ps)))
		return rc;
	return action_answer(r, 200, r->params[0]);
}

/* Progress, by the owner agency only, If-Match. */
static int actions_update(struct sg_req *r)
{
	const char *p[3] = {r->params[0], NULL, NULL};
	struct panel_standing ps;
	PGresult *cur, *locked, *res;
	json_t *merged;
	int rc;

	if ((rc = action_load(r, &cur, &ps)) ||
	    (rc = action_owner(r, cur, "updates this action; escalate it to the chair")) ||
	    (rc = action_lock_live(r, &locked)) || (rc = kit_if_match(r, PQgetvalue(locked, 0, 1))) ||
	    (rc = kit_patch_merge(r, PQgetvalue(cur, 0, A_FIELDS), &progress_merge, &merged)))
		return rc;
	p[1] = arena_json_dump(r->arena, merged);
	p[2] = PQgetvalue(locked, 0, 1);
	if ((rc = kit_exec(r, &sql_action_progress, p, 3, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(r, 412, "precondition-failed", "the action changed while you were updating it");
	if ((rc = kit_audit(r, "panel_action.update", "panel_action", p[0], NULL)))
		return rc;
	return action_reply(r, 200, res, action_child(cur, A_CHILD));
}

/* The owner disagrees: the action goes to the chair with the reason. */
static int actions_escalate(struct sg_req *r)
{
	const char *p[2] = {r->params[0], kit_str(r->body, "reason")};
	struct panel_standing ps;
	PGresult *cur, *locked, *res;
	int rc;

	if ((rc = action_load(r, &cur, &ps)) || (rc = action_owner(r, cur, "escalates this action")) ||
	    (rc = action_lock_live(r, &locked)))
		return rc;
	if (PQgetvalue(locked, 0, 2)[0] == 't')
		return http_problem(r, 409, "conflict", "the action is already escalated to the chair");
	if ((rc = kit_exec(r, &sql_action_escalate, p, 2, &res)) ||
	    (rc = kit_audit(r, "panel_action.escalate", "panel_action", p[0], NULL)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/panel-actions/%s", p[0]));
	return action_answer(r, 201, p[0]);
}

/* The chair's answer to an escalation, with any change it decides. */
static int actions_resolve(struct sg_req *r)
{
	const char *p[2] = {r->params[0], arena_json_dump(r->arena, r->body)};
	struct panel_standing ps;
	PGresult *cur, *locked;
	int rc;

	if ((rc = action_load(r, &cur, &ps)) || (rc = panels_require_chair(r, &ps, "resolves escalations")) ||
	    (rc = kit_fetch_id(r, &sql_action_lock, p[0], "panel action", &locked)))
		return rc;
	if (PQgetvalue(locked, 0, 2)[0] != 't')
		return http_problem(r, 409, "conflict", "the action is not escalated: there is nothing to resolve");
	if ((rc = action_refs(r, PQgetvalue(cur, 0, A_PANEL), kit_str(r->body, "owner_agency"), NULL, NULL)) ||
	    (rc = action_owner_write(r, &sql_action_resolve, p, 2)) ||
	    (rc = kit_audit(r, "panel_action.escalation.resolve", "panel_action", p[0], NULL)))
		return rc;
	return action_answer(r, 200, p[0]);
}

/* Every version of the action, oldest first, with what changed it. */
static int actions_history(struct sg_req *r)
{
	static const struct kit_list list = {&sql_action_history, AQ_LIMIT, AQ_CURSOR, KIT_KEYS(KIT_KEY_INT),
					     KIT_ARGS(KIT_ARG_ID, KIT_ARG_AFTER, KIT_ARG_FETCH)};
	struct panel_standing ps;
	PGresult *res;
	int rc;

	if ((rc = action_load(r, &res, &ps)) || (rc = action_audit_child(r, action_child(res, A_CHILD))))
		return rc;
	return kit_list(r, &list);
}

static const struct route actions_route_list[] = {
	{"POST", "/v1/panel-actions", PERM_PANEL_CHAIR, &action_body, NULL, actions_create, "panel_actions.create",
	 ROUTE_IDEMPOTENT},
	{"GET", "/v1/panel-actions", PERM_PANEL_CASES, NULL, &action_query, actions_list, "panel_actions.list", 0},
	{"GET", "/v1/panel-actions/{id}", PERM_PANEL_CASES, NULL, NULL, actions_show, "panel_actions.show", 0},
	{"PATCH", "/v1/panel-actions/{id}", PERM_PANEL_CASES, &progress_body, NULL, actions_update,
	 "panel_actions.update", ROUTE_PATCH},
	{"GET", "/v1/panel-actions/{id}/history", PERM_PANEL_CASES, NULL, &history_query, actions_history,
	 "panel_actions.history", 0},
	{"POST", "/v1/panel-actions/{id}/escalation", PERM_PANEL_CASES, &escalation_body, NULL, actions_escalate,
	 "panel_actions.escalate", ROUTE_IDEMPOTENT},
	{"POST", "/v1/panel-actions/{id}/escalation/resolution", PERM_PANEL_CHAIR, &resolution_body, NULL,
	 actions_resolve, "panel_actions.resolve", ROUTE_IDEMPOTENT},
};

const struct sg_area actions_area = SG_AREA("panel_actions", actions_route_list);
