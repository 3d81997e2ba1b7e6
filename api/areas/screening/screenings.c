/*
 * screenings.c - exploitation screenings of children.  A member of an
 * agency in the child's network completes one against the tool's published
 * version (tools.c): an answer per indicator (yes, no, not_known) and notes,
 * as a draft that only its agency sees; then submits it.  Submitting locks
 * it: the database computes the score, the level and the recommended next
 * step from the version it was completed on (safeguard.screening_score), so
 * a screening keeps its version's score when a new version is published;
 * the client never sends them (400 read_only).  Every answer is checked
 * against that version, every problem listed at once: an indicator it does
 * not have, an answer that is not one, and (to submit) a required indicator
 * left unanswered.
 *
 * A submitted screening is never edited: a new one of the same agency
 * supersedes it.  Its outcome, the decision taken (no further action, a
 * referral to the front door, a referral to a missing and exploited panel,
 * which creates the panel's referral of the child, each naming the other,
 * or names the child's open referral to that panel),
 * is recorded once.  It
 * is seen by the child's network (CSC always), 404 elsewhere; it is an entry
 * of its agency in the child's chronology (category "screening"); every read
 * and write is audited on the child.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ident.h"
#include "screening.h"

const char *const screening_answers[] = {"yes", "no", "not_known", NULL};

/* ---- field specs ------------------------------------------------------- */

static const char *const decisions[] = {"none", "front_door_referral", "panel_referral", NULL};

static const char *const screening_read_only[] = {"id",
						  "child_id",
						  "tool",
						  "agency",
						  "author",
						  "status",
						  "score",
						  "level",
						  "max_score",
						  "recommended_next_step",
						  "submitted_at",
						  "submitted_by",
						  "superseded_by",
						  "superseded_at",
						  "outcome",
						  "chronology_entry_id",
						  "version",
						  "created_at",
						  "updated_at",
						  "updated_by",
						  NULL};

static const struct field_spec screening_fields[] = {
	{.name = "tool_id", .type = FT_UUID, .required = true},
	{.name = "tool_version", .type = FT_INT, .min = 1, .max = 9999},
	{.name = "answers", .type = FT_OBJECT},
	{.name = "notes", .type = FT_STRING, .nullable = true, .min = 1, .max = 4000},
	{.name = "supersedes", .type = FT_UUID, .nullable = true},
};
static const struct body_spec screening_body = {.fields = screening_fields,
						.n = sizeof screening_fields / sizeof screening_fields[0],
						.read_only = screening_read_only};

/* a draft's answers (replaced as a whole) and notes; what it was completed on stays */
static const struct field_spec draft_fields[] = {
	{.name = "answers", .type = FT_OBJECT},
	{.name = "notes", .type = FT_STRING, .nullable = true, .min = 1, .max = 4000},
};
static const char *const draft_read_only[] = {"id",
					      "child_id",
					      "tool",
					      "agency",
					      "author",
					      "status",
					      "score",
					      "level",
					      "max_score",
					      "recommended_next_step",
					      "submitted_at",
					      "submitted_by",
					      "superseded_by",
					      "superseded_at",
					      "outcome",
					      "chronology_entry_id",
					      "version",
					      "created_at",
					      "updated_at",
					      "updated_by",
					      "supersedes",
					      "tool_id",
					      "tool_version",
					      NULL};
static const struct body_spec draft_body = {
	.fields = draft_fields, .n = 2, .read_only = draft_read_only, .patch_merged = true};

static void check_outcome(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *decision = kit_str(b, "decision");
	bool panel = decision && !strcmp(decision, "panel_referral");

	(void)a;
	if (panel && !kit_str(b, "panel_id"))
		verrs_add(errs, "panel_id", "required",
			  "name the missing and exploited panel the child is referred to");
	else if (decision && !panel && kit_str(b, "panel_id"))
		verrs_add(errs, "panel_id", "not_allowed", "a panel is named only with a referral to a panel");
}

static const struct field_spec outcome_fields[] = {
	{.name = "decision", .type = FT_ENUM, .required = true, .enum_values = decisions},
	{.name = "note", .type = FT_STRING, .nullable = true, .min = 1, .max = 4000},
	{.name = "panel_id", .type = FT_UUID, .nullable = true},
};
static const struct body_spec outcome_body = {.fields = outcome_fields, .n = 3, .check = check_outcome};

enum { LQ_LIMIT, LQ_CURSOR };
static const struct query_param list_params[] = {
	[LQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[LQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec list_query = {list_params, 2};

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_published_version, 1,
       "select v.id, v.version::text, v.sections::text from safeguard.screening_tool_versions v"
       " where v.tool_id = $1::uuid and v.status = 'published'");

/* (status, agency, child, sections, answers, supersedes, version, decision,
 * the draft as a client writes it): as the caller may see it */
#define SCREENING_ROW                                                                                                  \
	"select s.status, s.agency, s.child_id, v.sections::text, s.answers::text, s.supersedes, s.version,"           \
	" s.decision, jsonb_strip_nulls(jsonb_build_object('answers', s.answers, 'notes', s.notes))::text"             \
	" from safeguard.screenings s"                                                                                 \
	" join safeguard.screening_tool_versions v on v.id = s.tool_version_id where s.id = $1::uuid"

DB_SQL(sql_screening_row, 1, SCREENING_ROW);
DB_SQL(sql_screening_lock, 1, SCREENING_ROW " for update of s");

DB_SQL(sql_screening_insert, 4,
       "insert into safeguard.screenings (id, child_id, tool_version_id, agency, author_sub, answers, notes,"
       " supersedes, updated_by) select $1::uuid, $2::uuid, $3::uuid, safeguard.app_agency(), safeguard.app_sub(),"
       " coalesce(b->'answers', '{}'::jsonb), b->>'notes', (b->>'supersedes')::uuid, safeguard.app_sub()"
       " from (select $4::jsonb as b) s");

/* a read: the child's audit row is written as it is read */
DB_SQL(sql_screening_get, 1,
       "with s as (select safeguard.screening_json(s)::text as j, s.version, s.child_id from safeguard.screenings s"
       " where s.id = $1::uuid), a as (" AUDIT_FROM("'child.screening.read'",
						    "child_id::text") " from s)"
								      " select j, version from s");

/* after a write (audited as the write) */
DB_SQL(sql_screening_json, 1,
       "select safeguard.screening_json(s)::text, s.version from safeguard.screenings s where s.id = $1::uuid");

DB_SQL(sql_screening_update, 3,
       "update safeguard.screenings set answers = b->'answers', notes = b->>'notes',"
       " version = version + 1, updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " from (select $2::jsonb as b) x where id = $1::uuid and status = 'draft' and version = $3::int"
       " returning child_id");

/* Submission: score, level and next step from the version it was completed
 * on, never from the client; the postcode district for the report. */
DB_SQL(sql_screening_submit, 2,
       "update safeguard.screenings s set status = 'submitted',"
       " (score, level, recommended_next_step) = (select x.score, x.level, x.next_step"
       " from safeguard.screening_tool_versions v, safeguard.screening_score(v.sections, v.thresholds, s.answers) x"
       " where v.id = s.tool_version_id),"
       " area = (select nullif(upper(split_part(c.postcode, ' ', 1)), '') from safeguard.children c"
       " where c.id = s.child_id),"
       " submitted_at = clock_timestamp(), submitted_by = safeguard.app_sub(), chronology_entry_id = $2::uuid,"
       " version = s.version + 1, updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " where s.id = $1::uuid and s.status = 'draft' returning s.id");

DB_SQL(sql_screening_supersede, 1,
       "update safeguard.screenings set status = 'superseded', superseded_at = clock_timestamp(),"
       " version = version + 1, updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " where id = $1::uuid and status = 'submitted' returning id");

/* the submitted screening as an entry of its agency in the child's chronology */
DB_SQL(sql_screening_entry, 2,
       "insert into safeguard.chronology_entries (id, agency, author_sub, updated_by, event_date, date_precision,"
       " category, summary, details, impact, significance, action_taken)"
       " select $2::uuid, s.agency, safeguard.app_sub(), safeguard.app_sub(), (s.submitted_at at time zone "
       "'UTC')::date,"
       " 'day', 'screening', format('Exploitation screening (%s, version %s): score %s of %s, level %s',"
       " t.name, v.version, s.score, v.max_score, s.level), s.notes, 'unknown', s.level,"
       " 'Recommended next step: ' || case s.recommended_next_step when 'no_further_action' then 'no further action'"
       " when 'front_door_referral' then 'referral to the safeguarding front door'"
       " else 'referral to a missing and exploited panel' end"
       " from safeguard.screenings s join safeguard.screening_tool_versions v on v.id = s.tool_version_id"
       " join safeguard.screening_tools t on t.id = v.tool_id where s.id = $1::uuid");

DB_SQL(sql_entry_child, 2,
       "insert into safeguard.chronology_entry_children (entry_id, child_id) values ($1::uuid, $2::uuid)");

/* the guard trigger (013) renders the entry again on every update */
DB_SQL(sql_entry_doc, 1, "update safeguard.chronology_entries e set doc = null where id = $1::uuid");

DB_SQL(sql_screening_decide, 4,
       "update safeguard.screenings set decision = $2, decision_note = $3, panel_referral_id = $4::uuid,"
       " decided_at = clock_timestamp(),"
       " decided_by = safeguard.app_sub(), version = version + 1, updated_at = clock_timestamp(),"
       " updated_by = safeguard.app_sub() where id = $1::uuid and status = 'submitted' and decision is null"
       " returning child_id");

/* (type, may the caller refer to it, is the caller's agency in the
 * child's network: the panels' rule for a referrer) */
DB_SQL(sql_panel_of, 2,
       "select p.type, safeguard.panel_may_refer(p.id),"
       " safeguard.app_agency() = 'csc' or safeguard.child_in_network($2::uuid)"
       " from safeguard.panels p where p.id = $1::uuid");

/* The panel's referral of the screening's child, made as the caller (or the
 * child's open one): (referral, created) */
DB_SQL(sql_screening_refer, 3,
       "select f.referral_id, f.created from safeguard.screenings s"
       " join safeguard.screening_tool_versions v on v.id = s.tool_version_id"
       " join safeguard.screening_tools t on t.id = v.tool_id,"
       " safeguard.panel_referral_from($1::uuid, s.child_id, left(coalesce($3, format('Exploitation screening (%s,"
       " version %s): score %s of %s, level %s', t.name, v.version, s.score, v.max_score, s.level)), 4000), s.level,"
       " '{\"exploitation_risk\": true}'::jsonb, null, s.id) f where s.id = $2::uuid");

DB_SQL(sql_screening_list, 4,
       "select safeguard.screening_json(s)::text, s.created_at::text, s.id from safeguard.screenings s"
       " where s.child_id = $1::uuid and ($2::timestamptz is null or (s.created_at, s.id) > ($2::timestamptz, "
       "$3::uuid))"
       " order by s.created_at, s.id limit $4::int");

/* ---- helpers ------------------------------------------------------------ */

static bool is_answer(const char *s)
{
	for (const char *const *a = screening_answers; s && *a; a++)
		if (!strcmp(*a, s))
			return true;
	return false;
}

/* Checks answers against a version's sections (JSON text): each answer is
 * to one of its indicators and is an answer; complete: every required
 * indicator is answered.  Every problem goes to errs. */
static void check_answers(struct arena *a, json_t *answers, const char *sections_json, bool complete,
			  struct verrs *errs)
{
	json_t *sections = arena_json(a, json_loads(sections_json, 0, NULL)), *s, *ind, *v;
	const char *key;
	size_t i, j;

	json_object_foreach(answers, key, v) {
		bool known = false;

		json_array_foreach(sections, i, s) {
			json_array_foreach(json_object_get(s, "indicators"), j, ind) {
				known = known || !strcmp(json_string_value(json_object_get(ind, "id")), key);
			}
		}
		if (!known)
			verrs_add(errs, arena_printf(a, "answers.%s", key), "unknown_indicator",
				  "is not an indicator of this tool version");
		else if (!is_answer(json_string_value(v)))
			verrs_add(errs, arena_printf(a, "answers.%s", key), "invalid_value",
				  "must be yes, no or not_known");
	}
	if (!complete)
		return;
	json_array_foreach(sections, i, s) {
		json_array_foreach(json_object_get(s, "indicators"), j, ind) {
			const char *id = json_string_value(json_object_get(ind, "id"));

			if (json_is_true(json_object_get(ind, "required")) && !json_object_get(answers, id))
				verrs_add(errs, arena_printf(a, "answers.%s", id), "required",
					  "must be answered before the screening is submitted");
		}
	}
}

static int invalid_answers(struct sg_req *r, const struct verrs *errs)
{
	return http_problem_errors(r, 400, "validation-failed", "the answers do not fit the tool version", errs);
}

static int bad_reference(struct sg_req *r, const char *field, const char *code, const char *message)
{
	struct verrs errs = {0};

	verrs_add(&errs, field, code, message);
	return http_problem_errors(r, 422, "invalid-reference", "the screening names what cannot be used", &errs);
}

/* 409 naming the state the screening is in and the rule. */
static int wrong_state(struct sg_req *r, const char *state, const char *rule)
{
	return http_problem(r, 409, "conflict", arena_printf(r->arena, "the screening is %s; %s", state, rule));
}

/* The screening of r->params[0] for a change by its agency: the row as seen
 * (404), in the state wanted (409 naming it), of the caller's agency (403),
 * which is in the child's network (403), then locked. */
static int screening_load_for_change(struct sg_req *r, const char *state, const char *rule, PGresult **res)
{
	int rc;

	if ((rc = kit_fetch_id(r, &sql_screening_row, r->params[0], "screening", res)))
		return rc;
	if (strcmp(PQgetvalue(*res, 0, 0), state))
		return wrong_state(r, PQgetvalue(*res, 0, 0), rule);
	if (strcmp(PQgetvalue(*res, 0, 1), sg_agency_names[r->id.agency]))
		return http_problem(r, 403, "forbidden", "only the screening's own agency changes it");
	/* and only while the agency is in the child's network (015's policies say the same) */
	if ((rc = kit_child_writable(r, PQgetvalue(*res, 0, 2))))
		return rc;
	return kit_fetch_id(r, &sql_screening_lock, r->params[0], "screening", res);
}

/* The screening after a write, with its ETag: the screening's audit row
 * and the child's first. */
static int screening_written(struct sg_req *r, int status, const char *id, const char *child, const char *action,
			     const char *child_action)
{
	PGresult *res;
	int rc;

	if ((rc = kit_audit(r, action, "screening", id, NULL)) ||
	    (rc = kit_audit(r, child_action, "child", child, NULL)) ||
	    (rc = kit_fetch_id(r, &sql_screening_json, id, "screening", &res)))
		return rc;
	return kit_resource(r, status, res, 0);
}

/* Refers the screening's child to the missing and exploited panel named and
 * answers the referral's id in *referral: created as the caller, naming
 * the screening (the panels' rule says who may refer), or the child's open
 * referral to that panel.  0, or 422 / 403 / the failure's
 * answer. */
static int refer_to_panel(struct sg_req *r, const char *child, const char **referral)
{
	const char *p[3] = {kit_str(r->body, "panel_id"), r->params[0], kit_str(r->body, "note")};
	const char *q[2] = {p[0], child};
	const char *details;
	PGresult *res;
	char sqlstate[6];
	int rc;

	if ((rc = kit_exec(r, &sql_panel_of, q, 2, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return bad_reference(r, "panel_id", "not_found", "there is no panel with this id");
	if (strcmp(PQgetvalue(res, 0, 0), "missing_exploited"))
		return bad_reference(r, "panel_id", "not_missing_exploited",
				     "a screening refers a child to a missing and exploited panel");
	if (PQgetvalue(res, 0, 1)[0] != 't')
		return http_problem(
			r, 403, "forbidden",
			"a safeguarding lead or social worker of a member agency of the panel, or its chair, refers "
			"a child to it");
	if (PQgetvalue(res, 0, 2)[0] != 't')
		return http_problem(
			r, 403, "forbidden",
			"a child is referred to a panel from its network: declare your agency's involvement first");
	/* the agency left the panel while this request ran (017's check under
	 * the panel's lock): answered as any non-member is */
	rc = kit_exec_constraint(r, &sql_screening_refer, p, 3, &res, sqlstate);
	if (rc == KIT_CONSTRAINT)
		return http_problem(r, 403, "forbidden", "your agency is not a member of this panel");
	if (rc)
		return rc;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		return http_internal(r, "the panel referral was neither made nor found");
	*referral = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
	details = arena_printf(r->arena, "{\"panel_id\":\"%s\",\"referral_id\":\"%s\",\"screening_id\":\"%s\"}", p[0],
			       *referral, r->params[0]);
	/* as the panels area records a referral: the referral (the panel's
	 * access to the child is written by the database as it opens, 058) */
	return kit_audit(r, PQgetvalue(res, 0, 1)[0] == 't' ? "panel_referral.create" : "panel_referral.link",
			 "panel_referral", *referral, details);
}

/* ---- handlers ------------------------------------------------------------ */

static int screenings_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena), *child = r->params[0], *tool = kit_str(r->body, "tool_id");
	const char *old = kit_str(r->body, "supersedes");
	json_t *want = json_object_get(r->body, "tool_version"), *answers = json_object_get(r->body, "answers");
	const char *p[4] = {id, child, NULL, arena_json_dump(r->arena, r->body)};
	struct verrs errs = {0};
	PGresult *res, *prev;
	int rc;

	if ((rc = kit_child_writable(r, child)) || (rc = kit_exec(r, &sql_published_version, &tool, 1, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return bad_reference(r, "tool_id", "not_published",
				     "there is no published version of this screening tool");
	if (want && json_integer_value(want) != atoll(PQgetvalue(res, 0, 1)))
		return bad_reference(r, "tool_version", "not_published",
				     arena_printf(r->arena,
						  "version %lld is not the tool's published version: screen "
						  "against version %s",
						  (long long)json_integer_value(want), PQgetvalue(res, 0, 1)));
	check_answers(r->arena, answers, PQgetvalue(res, 0, 2), false, &errs);
	if (errs.n)
		return invalid_answers(r, &errs);
	p[2] = PQgetvalue(res, 0, 0);
	if (old) {
		if ((rc = kit_exec(r, &sql_screening_row, &old, 1, &prev)))
			return rc;
		if (PQntuples(prev) == 0 || strcmp(PQgetvalue(prev, 0, 2), child))
			return bad_reference(r, "supersedes", "not_found", "no screening of this child has that id");
		if (strcmp(PQgetvalue(prev, 0, 1), sg_agency_names[r->id.agency]))
			return bad_reference(r, "supersedes", "other_agency",
					     "a screening is superseded only by a screening of its own agency");
		if (strcmp(PQgetvalue(prev, 0, 0), "submitted"))
			return bad_reference(
				r, "supersedes", "not_submitted",
				arena_printf(r->arena, "the screening is %s: only a submitted screening is superseded",
					     PQgetvalue(prev, 0, 0)));
	}
	if ((rc = kit_exec(r, &sql_screening_insert, p, 4, &res)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/screenings/%s", id));
	return screening_written(r, 201, id, child, "screening.create", "child.screening.create");
}

static int screenings_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_screening_get, r->params[0], "screening", &res)))
		return rc;
	return kit_show(r, res, 0);
}

/* A child's screenings, oldest first: the submitted ones, and its own agency's drafts. */
static int screenings_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_screening_list, LQ_LIMIT, LQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_ID, KIT_ARG_AFTER, KIT_ARG_FETCH)};
	struct kit_page pg;
	PGresult *res;
	int rc;

	if ((rc = kit_child_visible(r, r->params[0])) || (rc = kit_list_fetch(r, &list, &pg, &res)) ||
	    (rc = kit_audit(r, "child.screenings.read", "child", r->params[0], NULL)))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

/* kit_patch_rule: a draft's answers against its tool version's sections */
static void draft_answers_fit(json_t *merged, struct verrs *errs, struct arena *a, const void *sections_json)
{
	check_answers(a, json_object_get(merged, "answers"), sections_json, false, errs);
}

/* A draft's answers (replaced as a whole when sent) and notes (null clears),
 * merged and checked by the kit with the tool version's rule. */
static int screenings_update(struct sg_req *r)
{
	const char *p[3] = {r->params[0], NULL, NULL};
	json_t *merged;
	PGresult *res;
	int rc;

	if ((rc = screening_load_for_change(r, "draft",
					    "a submitted screening is never edited: complete a new one "
					    "that supersedes it",
					    &res)) ||
	    (rc = kit_if_match(r, PQgetvalue(res, 0, 6))) ||
	    (rc = kit_patch_merge_rule(r, PQgetvalue(res, 0, 8), &draft_body, draft_answers_fit, PQgetvalue(res, 0, 3),
				       &merged)))
		return rc;
	p[1] = arena_json_dump(r->arena, merged);
	p[2] = PQgetvalue(res, 0, 6);
	if ((rc = kit_exec(r, &sql_screening_update, p, 3, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(r, 412, "precondition-failed", "the screening changed while you were changing it");
	return screening_written(r, 200, r->params[0], PQgetvalue(res, 0, 0), "screening.update",
				 "child.screening.update");
}

/* Submission: every required indicator answered, the score computed, the
 * superseded screening stepped aside, the chronology entry written. */
static int screenings_submit(struct sg_req *r)
{
	const char *entry = ident_uuid(r->arena), *child, *old;
	const char *p[2] = {r->params[0], entry};
	struct verrs errs = {0};
	PGresult *res, *done;
	int rc;

	if ((rc = screening_load_for_change(r, "draft", "a submitted screening is never submitted again", &res)))
		return rc;
	child = PQgetvalue(res, 0, 2);
	old = PQgetisnull(res, 0, 5) ? NULL : PQgetvalue(res, 0, 5);
	check_answers(r->arena, arena_json(r->arena, json_loads(PQgetvalue(res, 0, 4), 0, NULL)), PQgetvalue(res, 0, 3),
		      true, &errs);
	if (errs.n)
		return invalid_answers(r, &errs);
	if (old) {
		if ((rc = kit_exec(r, &sql_screening_supersede, &old, 1, &done)))
			return rc;
		if (PQntuples(done) == 0)
			return http_problem(
				r, 409, "conflict",
				"the screening this one supersedes is superseded already: it is superseded once");
	}
	if ((rc = kit_exec(r, &sql_screening_submit, p, 2, &done)) ||
	    (rc = kit_exec(r, &sql_screening_entry, p, 2, &done)))
		return rc;
	p[0] = entry;
	p[1] = child;
	if ((rc = kit_exec(r, &sql_entry_child, p, 2, &done)) || (rc = kit_exec(r, &sql_entry_doc, p, 1, &done)) ||
	    (rc = kit_audit(r, "chronology_entry.create", "chronology_entry", entry, NULL)) ||
	    (rc = kit_audit(r, "child.chronology.add", "child", child, NULL)))
		return rc;
	return screening_written(r, 200, r->params[0], child, "screening.submit", "child.screening.submit");
}

static int screenings_outcome(struct sg_req *r)
{
	const char *decision = kit_str(r->body, "decision");
	const char *p[4] = {r->params[0], decision, kit_str(r->body, "note"), NULL};
	PGresult *res;
	int rc;

	if ((rc = screening_load_for_change(r, "submitted",
					    "the outcome is recorded on a submitted screening that "
					    "nothing supersedes",
					    &res)))
		return rc;
	if (!PQgetisnull(res, 0, 7))
		return http_problem(r, 409, "conflict", "the screening's outcome is recorded: it is never changed");
	if (!strcmp(decision, "panel_referral") &&
	    (rc = refer_to_panel(r, arena_strdup(r->arena, PQgetvalue(res, 0, 2)), &p[3])))
		return rc;
	if ((rc = kit_exec(r, &sql_screening_decide, p, 4, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(r, 409, "conflict", "the screening's outcome is recorded: it is never changed");
	return screening_written(r, 200, r->params[0], PQgetvalue(res, 0, 0), "screening.outcome",
				 "child.screening.outcome");
}

static const struct route screenings_route_list[] = {
	{"POST", "/v1/children/{id}/screenings", PERM_SCREENING_WRITE, &screening_body, NULL, screenings_create,
	 "screenings.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/children/{id}/screenings", PERM_SCREENING_READ, NULL, &list_query, screenings_list,
	 "screenings.list", 0},
	{"GET", "/v1/screenings/{id}", PERM_SCREENING_READ, NULL, NULL, screenings_show, "screenings.show", 0},
	{"PATCH", "/v1/screenings/{id}", PERM_SCREENING_WRITE, &draft_body, NULL, screenings_update,
	 "screenings.update", ROUTE_PATCH},
	{"POST", "/v1/screenings/{id}/submission", PERM_SCREENING_WRITE, NULL, NULL, screenings_submit,
	 "screenings.submit", ROUTE_IDEMPOTENT},
	{"POST", "/v1/screenings/{id}/outcome", PERM_SCREENING_WRITE, &outcome_body, NULL, screenings_outcome,
	 "screenings.outcome", ROUTE_IDEMPOTENT},
};

const struct sg_area screenings_area = SG_AREA("screenings", screenings_route_list);
