/*
 * cases.c - children missing education (CME).  Any agency in a child's
 * network notifies that the child is missing education: why, since when,
 * the school, what is known.  A child has at most one open case (a partial
 * unique index settles it; a second notification is 409 naming the open
 * one).  The CME officer (education's safeguarding lead, or the chair of a
 * CME panel) works it: open -> enquiries (each logged with its date and outcome)
 * -> resolved (back on roll with a school, elective home education
 * confirmed, moved out of the area with the destination confirmed, referred
 * to the CME panel, which creates the panel's referral of the child, each
 * naming the other) -> closed.  Any other move is 409 naming the state.
 *
 * School days missed are derived in the database from the school calendar
 * (calendar.c); a case is flagged past 20 school days, and at once for a
 * child who is looked after or on a child protection plan.  The officer's
 * weekly list is GET /v1/cme-cases?status=open, most days missed first,
 * sorted and paged in the database by an index of what the order needs
 * (each case's cumulative count of school days at its start, 038).
 *
 * The child register agrees with the cases: opening a case sets the child's
 * education status and since when; resolving it back on roll (or as home
 * education) sets it back; both are audited on the child.  Who sees a case:
 * the child's network (CSC always) and the CME officer, who also sees the
 * child while its case is not closed (safeguard.child_visible, 009).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ident.h"
#include "kit.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const reasons[] = {
	"not_on_roll", "removed_from_roll", "not_attending", "moved_away_no_destination", "excluded_without_provision",
	NULL};
static const char *const methods[] = {"home_visit", "phone",  "letter", "email", "school", "other_local_authority",
				      "police",     "health", "other",  NULL};
static const char *const outcomes[] = {
	"no_contact", "contact_made", "destination_confirmed", "on_roll_confirmed", "ehe_confirmed", "other", NULL};
static const char *const resolutions[] = {"back_on_roll", "elective_home_education", "moved_out_of_area",
					  "referred_to_cme_panel", NULL};
/* the list's filter: "open" is every case not yet resolved (open or enquiries) */
static const char *const case_statuses[] = {"open", "enquiries", "resolved", "closed", NULL};

static const char *check_urn(const char *s)
{
	size_t n = strlen(s);

	if ((n != 6 && n != 7) || strspn(s, "0123456789") != n)
		return "must be a 6 or 7 digit URN";
	return NULL;
}

/* dates of events: never in the future (UTC, the API's clock) */
static void not_future(json_t *b, const char *field, struct verrs *errs, struct arena *a)
{
	const char *d = kit_str(b, field);

	if (d && validate_date(d) && strcmp(d, kit_today(a)) > 0)
		verrs_add(errs, field, "in_future", "must not be in the future");
}

static void check_case(json_t *b, struct verrs *errs, struct arena *a)
{
	not_future(b, "since", errs, a);
}

static const struct field_spec case_fields[] = {
	{.name = "child_id", .type = FT_UUID, .required = true},
	{.name = "reason", .type = FT_ENUM, .required = true, .enum_values = reasons},
	{.name = "since", .type = FT_DATE, .required = true},
	{.name = "school_urn", .type = FT_STRING, .nullable = true, .check = check_urn, .check_code = "invalid_urn"},
	{.name = "school_name", .type = FT_STRING, .nullable = true, .min = 1, .max = 200},
	{.name = "what_is_known", .type = FT_STRING, .required = true, .min = 1, .max = 4000},
};
static const char *const case_read_only[] = {"id",          "status",
					     "open",        "notifying_agency",
					     "notified_by", "school_days_missed",
					     "flags",       "flagged",
					     "destination", "destination_confirmed_on",
					     "resolution",  "resolved_on",
					     "resolved_by", "closed_at",
					     "closed_by",   "panel_referral_id",
					     "enquiries",   "version",
					     "created_at",  "updated_at",
					     "updated_by",  NULL};
static const struct body_spec case_body = {.fields = case_fields,
					   .n = sizeof case_fields / sizeof case_fields[0],
					   .read_only = case_read_only,
					   .check = check_case};

static void check_enquiry(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *outcome = kit_str(b, "outcome");
	bool confirmed = outcome && !strcmp(outcome, "destination_confirmed");

	not_future(b, "enquiry_date", errs, a);
	if (confirmed && !kit_str(b, "destination"))
		verrs_add(errs, "destination", "required",
			  "say where the child went when the destination is confirmed");
	else if (outcome && !confirmed && kit_str(b, "destination"))
		verrs_add(errs, "destination", "not_allowed",
			  "a destination is recorded only with the outcome destination_confirmed");
}

static const struct field_spec enquiry_fields[] = {
	{.name = "enquiry_date", .type = FT_DATE, .required = true},
	{.name = "method", .type = FT_ENUM, .required = true, .enum_values = methods},
	{.name = "outcome", .type = FT_ENUM, .required = true, .enum_values = outcomes},
	{.name = "note", .type = FT_STRING, .nullable = true, .min = 1, .max = 4000},
	{.name = "destination", .type = FT_STRING, .nullable = true, .min = 1, .max = 500},
};
static const char *const enquiry_read_only[] = {"id", "recorded_by", "recorded_agency", "created_at", NULL};
static const struct body_spec enquiry_body = {.fields = enquiry_fields,
					      .n = sizeof enquiry_fields / sizeof enquiry_fields[0],
					      .read_only = enquiry_read_only,
					      .check = check_enquiry};

static const char *const risk_levels[] = {"low", "medium", "high", NULL};

static void check_resolution(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *res = kit_str(b, "resolution");
	bool on_roll = res && !strcmp(res, "back_on_roll"), panel = res && !strcmp(res, "referred_to_cme_panel");

	(void)a;
	if (on_roll && !kit_str(b, "school_urn"))
		verrs_add(errs, "school_urn", "required", "name the school the child is back on roll with");
	else if (res && !on_roll && kit_str(b, "school_urn"))
		verrs_add(errs, "school_urn", "not_allowed", "a school is named only when the child is back on roll");
	if (panel && !kit_str(b, "risk_level"))
		verrs_add(errs, "risk_level", "required", "a referral to the CME panel says how high the risk is");
	if (res && !panel && kit_str(b, "risk_level"))
		verrs_add(errs, "risk_level", "not_allowed", "a risk level goes only with a referral to the CME panel");
	if (res && !panel && kit_str(b, "panel_id"))
		verrs_add(errs, "panel_id", "not_allowed", "a panel is named only with a referral to the CME panel");
}

static const struct field_spec resolution_fields[] = {
	{.name = "resolution", .type = FT_ENUM, .required = true, .enum_values = resolutions},
	{.name = "school_urn", .type = FT_STRING, .nullable = true, .check = check_urn, .check_code = "invalid_urn"},
	{.name = "note", .type = FT_STRING, .nullable = true, .min = 1, .max = 4000},
	/* referred_to_cme_panel: the panel's referral (the partnership's one CME panel unless named) */
	{.name = "panel_id", .type = FT_UUID, .nullable = true},
	{.name = "risk_level", .type = FT_ENUM, .nullable = true, .enum_values = risk_levels},
};
static const struct body_spec resolution_body = {.fields = resolution_fields,
						 .n = sizeof resolution_fields / sizeof resolution_fields[0],
						 .check = check_resolution};

enum { LQ_STATUS, LQ_CHILD, LQ_LIMIT, LQ_CURSOR };
static const struct query_param list_params[] = {
	[LQ_STATUS] = {"status", FT_ENUM, 0, 0, case_statuses},
	[LQ_CHILD] = {"child_id", FT_UUID, 0, 0, NULL},
	[LQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[LQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec list_query = {list_params, sizeof list_params / sizeof list_params[0]};

/* ---- statements (prepared on first use on each connection) ---------------- */

/* is the caller the CME officer, or a CME panel's chair? */
DB_SQL(sql_cme_officer, 0, "select safeguard.cme_officer()");

/* the child, as the caller may see it (row-level security) */
DB_SQL(sql_case_child, 1, "select date_of_birth::text from safeguard.children where id = $1::uuid");

/* at most one open case per child: the partial unique index answers, also
 * between concurrent notifications (the second waits, then inserts nothing) */
DB_SQL(sql_case_insert, 2,
       "insert into safeguard.cme_cases (id, child_id, reason, missing_since, school_urn, school_name,"
       " what_is_known, notifying_agency, notified_by, updated_by)"
       " select $1::uuid, (b->>'child_id')::uuid, b->>'reason', (b->>'since')::date, b->>'school_urn',"
       " b->>'school_name', b->>'what_is_known', safeguard.app_agency(), safeguard.app_sub(), safeguard.app_sub()"
       " from (select $2::jsonb as b) s"
       " on conflict (child_id) where status in ('open', 'enquiries') do nothing returning id");

DB_SQL(sql_case_open_of, 1,
       "select id from safeguard.cme_cases where child_id = $1::uuid and status in ('open', 'enquiries')");

/* the register follows the case: status, since when, and (back on roll) the school */
DB_SQL(sql_child_status, 4,
       "update safeguard.children set education_status = $2, not_on_roll_since = $3::date,"
       " school_urn = coalesce($4, school_urn), version = version + 1, updated_at = clock_timestamp()"
       " where id = $1::uuid returning id");

/* a read: the child's audit row is written as the case is read */
DB_SQL(sql_case_get, 1,
       "with c as (select safeguard.cme_case_json(c)::text as j, c.version, c.child_id from safeguard.cme_cases c"
       " where c.id = $1::uuid), a as (" AUDIT_FROM("'child.cme_case.read'",
						    "child_id::text") " from c)"
								      " select j, version from c");

/* after a write (audited as the write) */
DB_SQL(sql_case_json, 1,
       "select safeguard.cme_case_json(c)::text, c.version from safeguard.cme_cases c where c.id = $1::uuid");

DB_SQL(sql_case_lock, 1,
       "select status, version, child_id, reason, missing_since::text, destination_confirmed_on is not null"
       " from safeguard.cme_cases where id = $1::uuid for update");

DB_SQL(sql_enquiry_insert, 3,
       "insert into safeguard.cme_enquiries (id, case_id, enquiry_date, method, outcome, note, destination,"
       " recorded_by, recorded_agency)"
       " select $1::uuid, $2::uuid, (b->>'enquiry_date')::date, b->>'method', b->>'outcome', b->>'note',"
       " b->>'destination', safeguard.app_sub(), safeguard.app_agency() from (select $3::jsonb as b) s");

DB_SQL(sql_case_enquired, 3,
       "update safeguard.cme_cases set status = 'enquiries',"
       " destination = coalesce($2, destination), destination_confirmed_on = coalesce($3::date, "
       "destination_confirmed_on),"
       " version = version + 1, updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " where id = $1::uuid");

DB_SQL(sql_case_resolve, 5,
       "update safeguard.cme_cases set status = 'resolved', resolution = $2, resolution_school_urn = $3,"
       " resolution_note = $4, panel_referral_id = $5::uuid,"
       " resolved_on = (now() at time zone 'UTC')::date, resolved_by = safeguard.app_sub(),"
       " version = version + 1, updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " where id = $1::uuid");

DB_SQL(sql_case_close, 1,
       "update safeguard.cme_cases set status = 'closed', closed_at = clock_timestamp(), closed_by = "
       "safeguard.app_sub(),"
       " version = version + 1, updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " where id = $1::uuid");

/* The CME panel named, or the partnership's CME panels (two at most, to
 * tell one from several): (id, type, may the caller refer to it, is the
 * caller's agency in the child's network: the panels' rule for a referrer) */
DB_SQL(sql_cme_panels, 2,
       "select p.id, p.type, safeguard.panel_may_refer(p.id),"
       " safeguard.app_agency() = 'csc' or safeguard.child_in_network($2::uuid) from safeguard.panels p"
       " where ($1::uuid is null and p.type = 'cme') or p.id = $1::uuid order by p.created_at, p.id limit 2");

/* The panel's referral of the case's child, made as the officer (or the
 * child's open one): (referral, created) */
DB_SQL(sql_cme_refer, 4,
       "select f.referral_id, f.created from safeguard.cme_cases c, safeguard.panel_referral_from($1::uuid, c.child_id,"
       " left(coalesce($3, format('Missing education since %s (%s). %s', c.missing_since, replace(c.reason, '_', ' '),"
       " c.what_is_known)), 4000), $4, '{\"missing_education\": true}'::jsonb, c.id, null) f where c.id = $2::uuid");

/* The officer's list: most school days missed first (then by id), sorted
 * and paged in the database by stored counts an index serves (migration
 * 038, safeguard.cme_case_page): (json, days, id, child).  The cursor's
 * days are passed as a bigint: a cursor is unsigned, and any 18 digits
 * pass its check, so a forged one must not overflow an int into a 500. */
DB_SQL(sql_case_list, 5,
       "with page as (select p.j, p.days, p.id, p.child_id"
       " from safeguard.cme_case_page($1::text, $2::uuid, $3::bigint, $4::uuid, $5::int) p),"
       " a as (" AUDIT_FROM("'child.cme_case.read'",
			    "child_id::text") " from (select child_id from page"
					      " order by days desc, id limit $5::int - 1) "
					      "kept)" /* the look-ahead row is not returned: not audited */
					      " select j, days::text, id from page order by "
					      "page.days desc, page.id"); /* the number, not its text */

/* ---- helpers ------------------------------------------------------------ */

/* 409 open-case-exists naming the child's open case. */
static int open_case_exists(struct sg_req *r, const char *existing)
{
	json_t *body = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", "/problems/open-case-exists", "title",
				 "Conflict", "status", 409, "detail",
				 "the child already has an open missing-education case: add to that one", "request_id",
				 r->request_id ? r->request_id : "", "existing_id", existing);
	int rc = http_json(r, 409, body);

	r->content_type_out = "application/problem+json";
	return rc;
}

/* 409 naming the state the case is in and the rule. */
static int wrong_state(struct sg_req *r, const char *state, const char *rule)
{
	return http_problem(r, 409, "conflict", arena_printf(r->arena, "the case is %s; %s", state, rule));
}

/* Sets the child's register entry and audits it on the child. */
static int set_child_status(struct sg_req *r, const char *child, const char *case_id, const char *status,
			    const char *since, const char *school)
{
	const char *p[4] = {child, status, since, school};
	PGresult *res;
	int rc;

	if ((rc = kit_exec(r, &sql_child_status, p, 4, &res)))
		return rc;
	if (PQntuples(res) != 1)
		return http_internal(r, "the case's child could not be updated");
	return kit_audit(
		r, "child.education_status.update", "child", child,
		arena_printf(r->arena, "{\"cme_case_id\":\"%s\",\"education_status\":\"%s\"}", case_id, status));
}

/* The case after a write, with its ETag: its audit rows (the case's, and
 * the child's) first.  A case opening or closing starts or ends the CME
 * officer's access to the child, and the database writes that child row
 * (child.cme_case.notify, child.cme_case.close) whoever moves it (058):
 * child_action is NULL for those. */
static int case_written(struct sg_req *r, int status, const char *id, const char *child, const char *action,
			const char *child_action)
{
	PGresult *res;
	int rc;

	if ((rc = kit_audit(r, action, "cme_case", id, NULL)) ||
	    (child_action && (rc = kit_audit(r, child_action, "child", child, NULL))) ||
	    (rc = kit_fetch_id(r, &sql_case_json, id, "missing-education case", &res)))
		return rc;
	return kit_resource(r, status, res, 0);
}

/* Locks the case of r->params[0] for the officer: 0 with the row in *res;
 * 403 for a panel chair who chairs no CME panel; 404. */
static int case_lock(struct sg_req *r, PGresult **res)
{
	int rc;

	if ((rc = kit_exec(r, &sql_cme_officer, NULL, 0, res)))
		return rc;
	if (PQgetvalue(*res, 0, 0)[0] != 't')
		return http_problem(
			r, 403, "forbidden",
			"the CME officer (education's safeguarding lead) or a CME panel's chair works a case");
	return kit_fetch_id(r, &sql_case_lock, r->params[0], "missing-education case", res);
}

/* 422 invalid-reference naming one field. */
static int bad_reference(struct sg_req *r, const char *field, const char *code, const char *message)
{
	struct verrs errs = {0};

	verrs_add(&errs, field, code, message);
	return http_problem_errors(r, 422, "invalid-reference", "the resolution names a panel that cannot be used",
				   &errs);
}

/* Refers the case's child to the CME panel (the one named, or the
 * partnership's only one) and answers the referral's id in *referral:
 * created as the officer, naming the case, or the child's open referral to
 * that panel.  0, or 422 / 403 / the failure's answer. */
static int refer_to_cme_panel(struct sg_req *r, const char *child, const char **referral)
{
	const char *q[2] = {kit_str(r->body, "panel_id"), child};
	const char *p[4] = {NULL, r->params[0], kit_str(r->body, "note"), kit_str(r->body, "risk_level")};
	const char *details;
	PGresult *res;
	char sqlstate[6];
	int rc;

	if ((rc = kit_exec(r, &sql_cme_panels, q, 2, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return q[0] ? bad_reference(r, "panel_id", "not_found", "there is no panel with this id")
			    : bad_reference(r, "panel_id", "required", "the partnership has no CME panel to refer to");
	if (PQntuples(res) > 1)
		return bad_reference(r, "panel_id", "required", "the partnership has several CME panels: name one");
	if (strcmp(PQgetvalue(res, 0, 1), "cme"))
		return bad_reference(r, "panel_id", "not_cme", "the panel named is not a CME panel");
	if (PQgetvalue(res, 0, 2)[0] != 't')
		return http_problem(
			r, 403, "forbidden",
			"a safeguarding lead of a member agency of the CME panel, or its chair, refers a child to it");
	if (PQgetvalue(res, 0, 3)[0] != 't')
		return http_problem(
			r, 403, "forbidden",
			"a child is referred to a panel from its network: declare your agency's involvement first");
	p[0] = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
	/* the agency left the panel while this request ran (017's check under
	 * the panel's lock): answered as any non-member is */
	rc = kit_exec_constraint(r, &sql_cme_refer, p, 4, &res, sqlstate);
	if (rc == KIT_CONSTRAINT)
		return http_problem(r, 403, "forbidden", "your agency is not a member of this panel");
	if (rc)
		return rc;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		return http_internal(r, "the CME panel referral was neither made nor found");
	*referral = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
	details = arena_printf(r->arena, "{\"panel_id\":\"%s\",\"referral_id\":\"%s\",\"cme_case_id\":\"%s\"}", p[0],
			       *referral, r->params[0]);
	/* as the panels area records a referral: the referral (the panel's
	 * access to the child is written by the database as it opens, 058) */
	return kit_audit(r, PQgetvalue(res, 0, 1)[0] == 't' ? "panel_referral.create" : "panel_referral.link",
			 "panel_referral", *referral, details);
}

/* ---- handlers ------------------------------------------------------------ */

static int cases_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena), *child = kit_str(r->body, "child_id");
	const char *reason = kit_str(r->body, "reason"), *since = kit_str(r->body, "since");
	const char *p[2] = {id, arena_json_dump(r->arena, r->body)};
	/* a child who is on no roll, or who left it, is not on roll; one on a roll but out of school is
	 * missing education */
	const char *status = !strcmp(reason, "not_on_roll") || !strcmp(reason, "removed_from_roll") ||
					     !strcmp(reason, "moved_away_no_destination")
				     ? "not_on_roll"
				     : "missing_education";
	PGresult *res;
	int rc;

	/* notifying is the network's (DESIGN.md 4) and sets the child's register
	 * entry: an agency that only reads the child (an invitation, a panel
	 * referral) is refused, as the policies of 013 refuse it */
	if ((rc = kit_fetch_id(r, &sql_case_child, child, "child", &res)) || (rc = kit_child_writable(r, child)))
		return rc;
	if (strcmp(since, PQgetvalue(res, 0, 0)) < 0) {
		struct verrs errs = {0};

		verrs_add(&errs, "since", "before_birth", "must not be before the child's date of birth");
		return http_problem_errors(r, 400, "validation-failed", "the body has invalid fields", &errs);
	}
	if ((rc = kit_exec(r, &sql_case_insert, p, 2, &res)))
		return rc;
	if (PQntuples(res) == 0) {
		if ((rc = kit_exec(r, &sql_case_open_of, &child, 1, &res)))
			return rc;
		return open_case_exists(r, PQntuples(res) ? arena_strdup(r->arena, PQgetvalue(res, 0, 0)) : "");
	}
	if ((rc = set_child_status(r, child, id, status, since, NULL)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/cme-cases/%s", id));
	return case_written(r, 201, id, child, "cme_case.create", NULL); /* child.cme_case.notify: 058 */
}

static int cases_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_case_get, r->params[0], "missing-education case", &res)))
		return rc;
	return kit_show(r, res, 0);
}

static int cases_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_case_list, LQ_LIMIT, LQ_CURSOR, KIT_KEYS(KIT_KEY_INT, KIT_KEY_UUID),
					     KIT_ARGS(LQ_STATUS, LQ_CHILD, KIT_ARG_AFTER, KIT_ARG_FETCH)};

	return kit_list(r, &list);
}

/* An enquiry: the case moves to (or stays in) enquiries; a confirmed
 * destination is kept on the case. */
static int cases_enquire(struct sg_req *r)
{
	const char *eid = ident_uuid(r->arena), *date = kit_str(r->body, "enquiry_date");
	bool confirmed = !strcmp(kit_str(r->body, "outcome"), "destination_confirmed");
	const char *p[3] = {eid, r->params[0], arena_json_dump(r->arena, r->body)};
	const char *u[3] = {r->params[0], confirmed ? kit_str(r->body, "destination") : NULL, confirmed ? date : NULL};
	const char *state, *child;
	PGresult *res;
	int rc;

	if ((rc = case_lock(r, &res)))
		return rc;
	state = PQgetvalue(res, 0, 0);
	child = PQgetvalue(res, 0, 2);
	if (strcmp(state, "open") && strcmp(state, "enquiries"))
		return wrong_state(r, state, "enquiries are logged while it is open");
	if (strcmp(date, PQgetvalue(res, 0, 4)) < 0) {
		struct verrs errs = {0};

		verrs_add(&errs, "enquiry_date", "before_since", "must not be before the day the child went missing");
		return http_problem_errors(r, 400, "validation-failed", "the body has invalid fields", &errs);
	}
	if ((rc = kit_exec(r, &sql_enquiry_insert, p, 3, &res)) || (rc = kit_exec(r, &sql_case_enquired, u, 3, &res)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/cme-cases/%s", r->params[0]));
	return case_written(r, 201, r->params[0], child, "cme_case.enquiry.create", "child.cme_case.enquiry");
}

static int cases_resolve(struct sg_req *r)
{
	const char *resolution = kit_str(r->body, "resolution"), *school = kit_str(r->body, "school_urn");
	const char *p[5] = {r->params[0], resolution, school, kit_str(r->body, "note"), NULL};
	const char *state, *child, *reason;
	PGresult *res;
	int rc;

	if ((rc = case_lock(r, &res)))
		return rc;
	state = PQgetvalue(res, 0, 0);
	child = PQgetvalue(res, 0, 2);
	reason = PQgetvalue(res, 0, 3);
	if (!strcmp(state, "open"))
		return wrong_state(r, state, "log an enquiry before resolving it");
	if (strcmp(state, "enquiries"))
		return wrong_state(r, state, "only a case under enquiry is resolved");
	if (!strcmp(resolution, "moved_out_of_area") && PQgetvalue(res, 0, 5)[0] != 't')
		return http_problem(
			r, 422, "destination-not-confirmed",
			!strcmp(reason, "removed_from_roll")
				? "a child removed from roll cannot be resolved as moved away until the "
				  "destination is confirmed: log an enquiry with the outcome destination_confirmed"
				: "the case cannot be resolved as moved out of the area until the destination is "
				  "confirmed: log an enquiry with the outcome destination_confirmed");
	if (!strcmp(resolution, "referred_to_cme_panel") && (rc = refer_to_cme_panel(r, child, &p[4])))
		return rc;
	if ((rc = kit_exec(r, &sql_case_resolve, p, 5, &res)))
		return rc;
	/* the register agrees: back on roll (with the school), or educated at home */
	if (!strcmp(resolution, "back_on_roll"))
		rc = set_child_status(r, child, r->params[0], "on_roll", NULL, school);
	else if (!strcmp(resolution, "elective_home_education"))
		rc = set_child_status(r, child, r->params[0], "elective_home_education", NULL, NULL);
	if (rc)
		return rc;
	return case_written(r, 200, r->params[0], child, "cme_case.resolve", "child.cme_case.resolve");
}

static int cases_close(struct sg_req *r)
{
	const char *state, *child;
	PGresult *res;
	int rc;

	if ((rc = case_lock(r, &res)))
		return rc;
	state = PQgetvalue(res, 0, 0);
	child = PQgetvalue(res, 0, 2);
	if (strcmp(state, "resolved"))
		return wrong_state(r, state, "only a resolved case is closed");
	if ((rc = kit_exec(r, &sql_case_close, r->params, 1, &res)))
		return rc;
	return case_written(r, 200, r->params[0], child, "cme_case.close", NULL); /* child.cme_case.close: 058 */
}

static const struct route cme_cases_route_list[] = {
	{"POST", "/v1/cme-cases", PERM_CME_NOTIFY, &case_body, NULL, cases_create, "cme_cases.create",
	 ROUTE_IDEMPOTENT},
	{"GET", "/v1/cme-cases", PERM_CME_READ, NULL, &list_query, cases_list, "cme_cases.list", 0},
	{"GET", "/v1/cme-cases/{id}", PERM_CME_READ, NULL, NULL, cases_show, "cme_cases.show", 0},
	{"POST", "/v1/cme-cases/{id}/enquiries", PERM_CME_WORK, &enquiry_body, NULL, cases_enquire,
	 "cme_cases.enquiries.create", ROUTE_IDEMPOTENT},
	{"POST", "/v1/cme-cases/{id}/resolution", PERM_CME_WORK, &resolution_body, NULL, cases_resolve,
	 "cme_cases.resolve", ROUTE_IDEMPOTENT},
	{"POST", "/v1/cme-cases/{id}/closure", PERM_CME_WORK, NULL, NULL, cases_close, "cme_cases.close",
	 ROUTE_IDEMPOTENT},
};

const struct sg_area cme_cases_area = SG_AREA("cme_cases", cme_cases_route_list);
