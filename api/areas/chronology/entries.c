/*
 * entries.c - each agency's chronology: the significant events it knows
 * about a child (entries, one of which may cover siblings), amended by new
 * versions, withdrawn with a reason, never deleted; and a child's chronology,
 * the entries about one child in event order.
 *
 * Who reads an entry: its own agency, CSC, and the agencies of a request it
 * was shared into while the share window is open (the requester for good).
 * Row-level security says the same in the database.  Every answer that
 * carries an entry writes a child audit row for each child it is about.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "chronology.h"
#include "ident.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const precisions[] = {"day", "month", "year", "approximate", NULL};
static const char *const categories[] = {
	"missing_episode",
	"return_interview",
	"school_exclusion",
	"not_on_roll",
	"school_move",
	"arrest",
	"alleged_offence",
	"victim_of_crime",
	"injury",
	"hospital_attendance",
	"referral",
	"assessment",
	"strategy_meeting",
	"nrm_referral",
	"abduction_warning_notice",
	"placement_move",
	"home_visit",
	"disclosure",
	"positive_event",
	"other",
	"screening", /* an exploitation screening (010): written on submission, or by hand */
	NULL};
static const char *const impacts[] = {"positive", "negative", "neutral", "unknown", NULL};
static const char *const significances[] = {"low", "medium", "high", NULL};

static const char *check_time(const char *s)
{
	if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' || s[3] < '0' ||
	    s[3] > '5' || s[4] < '0' || s[4] > '9' || (s[0] == '2' && s[1] > '3'))
		return "must be a time of day as HH:MM";
	return NULL;
}

static void check_entry(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *from = kit_str(b, "event_date"), *to = kit_str(b, "event_date_end");
	json_t *ids = json_object_get(b, "child_ids"), *v;
	size_t i;

	if (!kit_str(b, "action_taken") && !kit_str(b, "no_action_reason"))
		verrs_add(errs, "action_taken", "required",
			  "record the action taken, or in no_action_reason why none was");
	if (from && validate_date(from) && strcmp(from, kit_today(a)) > 0)
		verrs_add(errs, "event_date", "in_future", "must not be in the future");
	if (from && to && validate_date(from) && validate_date(to) && strcmp(to, from) < 0)
		verrs_add(errs, "event_date_end", "before_start", "must not be before event_date");
	json_array_foreach(ids, i, v) {
		const char *s = json_string_value(v);

		if (s && !validate_uuid(s))
			verrs_add(errs, arena_printf(a, "child_ids[%zu]", i), "invalid_uuid", "must be a UUID");
		/* at most 10 ids; a UUID's case does not make it another child */
		for (size_t k = 0; s && k < i; k++) {
			const char *t = json_string_value(json_array_get(ids, k));

			if (t && strcasecmp(s, t) == 0) {
				verrs_add(errs, arena_printf(a, "child_ids[%zu]", i), "duplicate", "is listed twice");
				break;
			}
		}
	}
}

#define ENTRY_FIELDS                                                                                                   \
	{.name = "event_date", .type = FT_DATE, .required = true},                                                     \
		{.name = "event_date_end", .type = FT_DATE, .nullable = true},                                         \
		{.name = "date_precision", .type = FT_ENUM, .required = true, .enum_values = precisions},              \
		{.name = "event_time",                                                                                 \
		 .type = FT_STRING,                                                                                    \
		 .nullable = true,                                                                                     \
		 .check = check_time,                                                                                  \
		 .check_code = "invalid_time"},                                                                        \
		{.name = "category", .type = FT_ENUM, .required = true, .enum_values = categories},                    \
		{.name = "summary", .type = FT_STRING, .required = true, .min = 1, .max = 500},                        \
		{.name = "details", .type = FT_STRING, .nullable = true, .max = 10000},                                \
		{.name = "impact", .type = FT_ENUM, .required = true, .enum_values = impacts},                         \
		{.name = "impact_description", .type = FT_STRING, .nullable = true, .max = 2000},                      \
		{.name = "action_taken", .type = FT_STRING, .nullable = true, .min = 1, .max = 2000},                  \
		{.name = "no_action_reason", .type = FT_STRING, .nullable = true, .min = 1, .max = 2000},              \
		{.name = "significance", .type = FT_ENUM, .required = true, .enum_values = significances},             \
	{                                                                                                              \
		.name = "source", .type = FT_STRING, .nullable = true, .max = 200                                      \
	}

static const struct field_spec entry_fields[] = {
	{.name = "child_ids", .type = FT_STRING_ARRAY, .required = true, .min = 1, .max = 10},
	ENTRY_FIELDS,
};
static const struct field_spec entry_patch_fields[] = {ENTRY_FIELDS};
static const char *const entry_read_only[] = {
	"id",         "agency",     "author",           "version",      "status", "created_at",
	"updated_at", "updated_by", "withdrawn_reason", "withdrawn_at", NULL};
static const char *const entry_patch_read_only[] = {"id",        "agency",           "author",       "version",
						    "status",    "created_at",       "updated_at",   "updated_by",
						    "child_ids", "withdrawn_reason", "withdrawn_at", NULL};
static const struct body_spec entry_body = {.fields = entry_fields,
					    .n = sizeof entry_fields / sizeof entry_fields[0],
					    .read_only = entry_read_only,
					    .check = check_entry};
/* a PATCH body on its own; the merged entry is checked against entry_merged */
static const struct body_spec entry_patch_body = {.fields = entry_patch_fields,
						  .n = sizeof entry_patch_fields / sizeof entry_patch_fields[0],
						  .read_only = entry_patch_read_only,
						  .patch_merged = true};
static const struct body_spec entry_merged = {.fields = entry_patch_fields,
					      .n = sizeof entry_patch_fields / sizeof entry_patch_fields[0],
					      .read_only = entry_patch_read_only,
					      .check = check_entry};

static const struct field_spec reason_fields[] = {
	{.name = "reason", .type = FT_STRING, .required = true, .min = 1, .max = 1000},
};
static const struct body_spec reason_body = {.fields = reason_fields, .n = 1};

enum { HQ_FROM, HQ_TO, HQ_CATEGORY, HQ_AGENCY, HQ_LIMIT, HQ_CURSOR };
static const struct query_param history_params[] = {
	[HQ_FROM] = {"from", FT_DATE, 0, 0, NULL},
	[HQ_TO] = {"to", FT_DATE, 0, 0, NULL},
	[HQ_CATEGORY] = {"category", FT_ENUM, 0, 0, categories},
	[HQ_AGENCY] = {"agency", FT_ENUM, 0, 0, sg_agency_names},
	[HQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[HQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec history_query = {history_params, sizeof history_params / sizeof history_params[0]};

/* ---- statements (prepared on first use on each connection) ---------------- */

#define ENTRY_COLUMNS                                                                                                  \
	"event_date, event_date_end, date_precision, event_time, category, summary, details, impact,"                  \
	" impact_description, action_taken, no_action_reason, significance, source"

#define ENTRY_VALUES_FROM_B                                                                                            \
	"(b->>'event_date')::date, (b->>'event_date_end')::date, b->>'date_precision',"                                \
	" (b->>'event_time')::time, b->>'category', b->>'summary', b->>'details', b->>'impact',"                       \
	" b->>'impact_description', b->>'action_taken', b->>'no_action_reason', b->>'significance',"                   \
	" b->>'source'"

/* The children an entry's document names, as an array literal for the
 * child audit rows: its JSON array with the brackets turned to braces. */
#define CHILD_IDS_OF(doc) "translate((" doc "::json->'child_ids')::text, '[]', '{}')"

/* An entry the caller may see: (document, version, agency, author, status,
 * children). */
#define ENTRY_ROW                                                                                                      \
	"select d.doc, e.version, e.agency, e.author_sub, e.status, " CHILD_IDS_OF(                                    \
		"d.doc") " from safeguard.chronology_entries e,"                                                       \
			 " lateral (select coalesce(e.doc, safeguard.entry_json(e)::text) as doc) d where e.id = "     \
			 "$1::uuid"

/* The children's checks, the entry, its children, its document and the
 * audit rows in one call (020): (document, version, the ids not found as
 * given, whether several children are not of one family) */
DB_SQL(sql_entry_create, 3,
       "select doc, version, missing::text, not_siblings from safeguard.chronology_entry_create($1::uuid,"
       " $2::jsonb, $3::jsonb)");

/* Renders the entry's document again after a write: (document, version,
 * children).  The guard trigger (013) renders it on every update; this
 * update only asks it to. */
DB_SQL(sql_entry_doc, 1,
       "update safeguard.chronology_entries e set doc = null"
       " where id = $1::uuid returning doc, version, " CHILD_IDS_OF("doc"));

DB_SQL(sql_entry_get, 1, ENTRY_ROW);

DB_SQL(sql_entry_lock, 1, ENTRY_ROW " for update of e");

DB_SQL(sql_entry_snapshot, 1,
       "insert into safeguard.chronology_entry_versions (entry_id, version, snapshot, recorded_by, recorded_at)"
       " select id, version, coalesce(e.doc::jsonb, safeguard.entry_json(e)::jsonb), updated_by, updated_at"
       " from safeguard.chronology_entries e where id = $1::uuid");

DB_SQL(sql_entry_update, 3,
       "update safeguard.chronology_entries set (" ENTRY_COLUMNS ") = (select " ENTRY_VALUES_FROM_B
       " from (select $2::jsonb as b) s), version = version + 1, updated_at = clock_timestamp(),"
       " updated_by = safeguard.app_sub() where id = $1::uuid and version = $3::int and status = 'active'"
       " returning id");

DB_SQL(sql_entry_withdraw, 2,
       "update safeguard.chronology_entries set status = 'withdrawn', withdrawn_reason = $2,"
       " withdrawn_at = clock_timestamp(), withdrawn_by = safeguard.app_sub(), version = version + 1,"
       " updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " where id = $1::uuid and status = 'active'"
       " returning id");

/* Every earlier version as it was, then the current one, in order. */
DB_SQL(sql_entry_versions, 1,
       "select json_build_object('version', v.version, 'entry', v.snapshot, 'recorded_by', v.recorded_by,"
       " 'recorded_at', to_char(v.recorded_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))::text,"
       " v.version from safeguard.chronology_entry_versions v where v.entry_id = $1::uuid"
       " union all select json_build_object('version', e.version, 'entry', d.doc::json,"
       " 'recorded_by', d.doc::json->'updated_by', 'recorded_at', d.doc::json->'updated_at')::text, e.version"
       " from safeguard.chronology_entries e,"
       " lateral (select coalesce(e.doc, safeguard.entry_json(e)::text) as doc) d where e.id = $1::uuid"
       " order by 2");

/* (document, event date, time, recorded order: the cursor).  The function
 * writes the read's child audit rows itself, for the child and every child
 * of the rows it shows; the look-ahead row comes back empty (050). */
DB_SQL(sql_child_chronology, 9,
       "select c.j, c.event_date, c.event_time, c.seq from safeguard.child_chronology($1::uuid, $2::date, $3::date,"
       " $4, $5, $6::date, $7::time, $8::bigint, $9::int) c");

/* ---- helpers ------------------------------------------------------------ */

int chronology_audit_children(struct sg_req *r, const char *action, PGresult *res, int col, int n)
{
	size_t len = 3, o = 0;
	char *ids;

	for (int i = 0; i < n; i++)
		len += (size_t)PQgetlength(res, i, col) + 1;
	ids = arena_alloc(r->arena, len);
	ids[o++] = '{';
	for (int i = 0; i < n; i++) {
		const char *v = PQgetvalue(res, i, col);
		size_t l = strlen(v);

		if (l < 3 || v[0] != '{' || v[l - 1] != '}')
			continue; /* no children (null or {}) */
		if (o > 1)
			ids[o++] = ',';
		memcpy(ids + o, v + 1, l - 2);
		o += l - 2;
	}
	ids[o] = '}';
	/* duplicates are folded by the statement (distinct) */
	return kit_audit_children(r, action, ids);
}

/* The children of a new entry, as chronology_entry_create found them
 * (res): every one visible to the caller, and more than one only for
 * children of one family.  0, or 422 naming each. */
static int entry_children_ok(struct sg_req *r, PGresult *res)
{
	json_t *missing = arena_json(r->arena, json_loads(PQgetvalue(res, 0, 2), 0, NULL)), *v;
	struct verrs errs = {0};
	size_t i;

	for (i = 0; i < json_array_size(missing); i++) {
		v = json_array_get(missing, i);
		verrs_add(&errs, "child_ids", "not_found",
			  arena_printf(r->arena, "no child %s in your network", json_string_value(v)));
	}
	if (!errs.n && PQgetvalue(res, 0, 3)[0] == 't')
		verrs_add(&errs, "child_ids", "not_siblings",
			  "an entry about several children is only for children of one family");
	return errs.n ? http_problem_errors(r, 422, "invalid-reference", "the entry's children cannot be used", &errs)
		      : 0;
}

/* Only the author or the agency's safeguarding lead changes an entry, and
 * only while it is active. */
static int entry_may_change(struct sg_req *r, PGresult *res)
{
	bool own_agency = strcmp(PQgetvalue(res, 0, 2), sg_agency_names[r->id.agency]) == 0;
	bool author = strcmp(PQgetvalue(res, 0, 3), r->id.sub) == 0;

	if (!own_agency || !(author || (r->id.roles & ROLE_BIT(ROLE_SAFEGUARDING_LEAD))))
		return http_problem(r, 403, "forbidden",
				    "only the author or the agency's safeguarding lead may change an entry");
	if (strcmp(PQgetvalue(res, 0, 4), "withdrawn") == 0)
		return http_problem(r, 409, "conflict", "the entry has been withdrawn");
	return 0;
}

/* For an amendment or withdrawal: the entry must be visible (404), the
 * caller its author or the agency's lead (403), the entry active (409);
 * then it is locked, so concurrent changes queue behind each other.  The
 * lock goes through the update policy, which is why the checks come first,
 * and they are made again on the locked row: a change that waited for the
 * lock may find the entry withdrawn by the one before it (two withdrawals
 * both answered 200, and a third met the second's version snapshot: 500). */
static int entry_load_for_change(struct sg_req *r, PGresult **res)
{
	int rc;

	if ((rc = kit_fetch_id(r, &sql_entry_get, r->params[0], "chronology entry", res)) ||
	    (rc = entry_may_change(r, *res)) ||
	    (rc = kit_fetch_id(r, &sql_entry_lock, r->params[0], "chronology entry", res)))
		return rc;
	return entry_may_change(r, *res);
}

/* After a write: the audit rows of the entry (action) and of its children
 * (child_action), then the entry as it now is. */
static int entry_written(struct sg_req *r, int status, const char *id, const char *action, const char *child_action)
{
	PGresult *res;
	int rc;

	if ((rc = kit_audit(r, action, "chronology_entry", id, NULL)) ||
	    (rc = kit_exec(r, &sql_entry_doc, &id, 1, &res)) ||
	    (rc = chronology_audit_children(r, child_action, res, 2, 1)))
		return rc;
	return kit_resource(r, status, res, 0);
}

/* A read of an entry: the audit rows of the entry and of each of its
 * children (res: an ENTRY_ROW), written before any 304, since the read
 * happened either way. */
static int entry_read(struct sg_req *r, PGresult *res, const char *action, const char *child_action)
{
	int rc = kit_audit(r, action, "chronology_entry", r->params[0], NULL);

	return rc ? rc : chronology_audit_children(r, child_action, res, 5, 1);
}

/* ---- handlers ------------------------------------------------------------ */

static int entries_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *p[3] = {id, arena_json_dump(r->arena, r->body),
			    arena_json_dump(r->arena, json_object_get(r->body, "child_ids"))};
	PGresult *res;
	int rc;

	if ((rc = kit_exec(r, &sql_entry_create, p, 3, &res)) || (rc = entry_children_ok(r, res)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/chronology-entries/%s", id));
	return kit_resource(r, 201, res, 0);
}

static int entries_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_entry_get, r->params[0], "chronology entry", &res)) ||
	    (rc = entry_read(r, res, "chronology_entry.read", "child.chronology_entry.read")))
		return rc;
	return kit_show(r, res, 0);
}

static int entries_amend(struct sg_req *r)
{
	const char *p[3] = {r->params[0], NULL, NULL};
	json_t *merged;
	PGresult *res, *done;
	int rc;

	if ((rc = entry_load_for_change(r, &res)) || (rc = kit_if_match(r, PQgetvalue(res, 0, 1))) ||
	    (rc = kit_patch_merge(r, PQgetvalue(res, 0, 0), &entry_merged, &merged)) ||
	    (rc = kit_exec(r, &sql_entry_snapshot, p, 1, &done)))
		return rc;
	p[1] = arena_json_dump(r->arena, merged);
	p[2] = PQgetvalue(res, 0, 1);
	if ((rc = kit_exec(r, &sql_entry_update, p, 3, &done)))
		return rc;
	if (PQntuples(done) == 0) /* changed since we locked it: cannot happen, but never lose a write */
		return http_problem(r, 412, "precondition-failed", "the entry changed while you were amending it");
	return entry_written(r, 200, p[0], "chronology_entry.amend", "child.chronology.amend");
}

static int entries_withdraw(struct sg_req *r)
{
	const char *p[2] = {r->params[0], kit_str(r->body, "reason")};
	PGresult *res;
	int rc;

	if ((rc = entry_load_for_change(r, &res)) || (rc = kit_exec(r, &sql_entry_snapshot, p, 1, &res)) ||
	    (rc = kit_exec(r, &sql_entry_withdraw, p, 2, &res)))
		return rc;
	if (PQntuples(res) == 0) /* withdrawn since we locked it: cannot happen, but never answer a lost write */
		return http_problem(r, 409, "conflict", "the entry has been withdrawn");
	return entry_written(r, 200, p[0], "chronology_entry.withdraw", "child.chronology.withdraw");
}

/* Earlier versions as they were, then the current one. */
static int entries_versions(struct sg_req *r)
{
	PGresult *cur, *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_entry_get, r->params[0], "chronology entry", &cur)) ||
	    (rc = kit_exec(r, &sql_entry_versions, r->params, 1, &res)) ||
	    (rc = entry_read(r, cur, "chronology_entry.versions.read", "child.chronology_entry.versions.read")))
		return rc;
	return http_list_rows(r, res, 0, PQntuples(res), NULL);
}

/* A child's chronology: its own agency's entries (CSC: all), in event order,
 * a child audit row for the child and every sibling an entry on the page
 * is also about, written by child_chronology (050).  The cursor is sealed:
 * its last key is the entries' recorded order, one sequence for every
 * agency's entries, whose gaps would count the entries others wrote. */
static int children_chronology(struct sg_req *r)
{
	static const enum kit_key keys[] = {KIT_KEY_DATE, KIT_KEY_TIME, KIT_KEY_INT};
	const char *const *q = r->query.values;
	struct kit_page pg;
	const char *p[9];
	PGresult *res;
	int rc;

	if ((rc = kit_child_visible(r, r->params[0])) ||
	    (rc = kit_page_begin_sealed(r, q[HQ_LIMIT], q[HQ_CURSOR], keys, 3, &pg)))
		return rc;
	p[0] = r->params[0];
	p[1] = q[HQ_FROM];
	p[2] = q[HQ_TO];
	p[3] = q[HQ_CATEGORY];
	p[4] = q[HQ_AGENCY];
	p[5] = pg.after[0];
	p[6] = pg.after[1];
	p[7] = pg.after[2];
	p[8] = pg.fetch;
	if ((rc = kit_exec(r, &sql_child_chronology, p, 9, &res)))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

static const struct route chronology_entries_route_list[] = {
	{"POST", "/v1/chronology-entries", PERM_CHRONOLOGY_WRITE, &entry_body, NULL, entries_create,
	 "chronology_entries.create", ROUTE_IDEMPOTENT | ROUTE_ONE_STATEMENT},
	{"GET", "/v1/chronology-entries/{id}", PERM_CHRONOLOGY_READ, NULL, NULL, entries_show,
	 "chronology_entries.show", 0},
	{"PATCH", "/v1/chronology-entries/{id}", PERM_CHRONOLOGY_WRITE, &entry_patch_body, NULL, entries_amend,
	 "chronology_entries.amend", ROUTE_PATCH},
	{"GET", "/v1/chronology-entries/{id}/versions", PERM_CHRONOLOGY_READ, NULL, NULL, entries_versions,
	 "chronology_entries.versions", 0},
	{"POST", "/v1/chronology-entries/{id}/withdrawal", PERM_CHRONOLOGY_WRITE, &reason_body, NULL, entries_withdraw,
	 "chronology_entries.withdraw", ROUTE_IDEMPOTENT},
	{"GET", "/v1/children/{id}/chronology", PERM_CHRONOLOGY_READ, NULL, &history_query, children_chronology,
	 "children.chronology", 0},
};

const struct sg_area chronology_entries_area = SG_AREA("chronology_entries", chronology_entries_route_list);
