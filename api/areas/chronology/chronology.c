/*
 * chronology.c - the multi-agency chronology.  Each agency records the
 * significant events it knows about a child (entries: amended by new
 * versions, withdrawn with a reason, never deleted).  Children's social care
 * opens a chronology request asking named agencies to share their entries
 * about a child or family for a period; each agency contributes (or says it
 * has no involvement), and the system merges the contributions into one
 * consolidated timeline, siblings together, with the patterns across
 * agencies that no single agency could see (patterns.c).
 *
 * Who reads what: an agency its own entries, CSC all, and the agencies of a
 * request the entries shared into it while the share window is open (the
 * requester for good).  Row-level security enforces the same in the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cursor.h"
#include "ident.h"
#include "kit.h"
#include "patterns.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const precisions[] = {"day", "month", "year", "approximate", NULL};
static const char *const categories[] = {
	"missing_episode", "return_interview", "school_exclusion", "not_on_roll",   "school_move",
	"arrest",          "alleged_offence",  "victim_of_crime",  "injury",        "hospital_attendance",
	"referral",        "assessment",       "strategy_meeting", "nrm_referral",  "abduction_warning_notice",
	"placement_move",  "home_visit",       "disclosure",       "positive_event", "other",
	NULL};
static const char *const impacts[] = {"positive", "negative", "neutral", "unknown", NULL};
static const char *const significances[] = {"low", "medium", "high", NULL};
static const char *const lawful_bases[] = {"children_act_1989_s17", "children_act_1989_s47", "dpa_2018_sch1_para18",
					   "consent", NULL};
static const char *const request_statuses[] = {"open", "closed", "expired", NULL};

static const char *check_time(const char *s)
{
	if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' || s[3] < '0' ||
	    s[3] > '5' || s[4] < '0' || s[4] > '9' || (s[0] == '2' && s[1] > '3'))
		return "must be a time of day as HH:MM";
	return NULL;
}

static const char *str_of(json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

static const char *today_str(struct arena *a)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	return arena_printf(a, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void check_entry(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *from = str_of(b, "event_date"), *to = str_of(b, "event_date_end");
	json_t *ids = json_object_get(b, "child_ids"), *v;
	size_t i;

	if (!str_of(b, "action_taken") && !str_of(b, "no_action_reason"))
		verrs_add(errs, "action_taken", "required", "record the action taken, or in no_action_reason why none was");
	if (from && validate_date(from) && strcmp(from, today_str(a)) > 0)
		verrs_add(errs, "event_date", "in_future", "must not be in the future");
	if (from && to && validate_date(from) && validate_date(to) && strcmp(to, from) < 0)
		verrs_add(errs, "event_date_end", "before_start", "must not be before event_date");
	json_array_foreach(ids, i, v) {
		if (json_is_string(v) && !validate_uuid(json_string_value(v)))
			verrs_add(errs, arena_printf(a, "child_ids[%zu]", i), "invalid_uuid", "must be a UUID");
		for (size_t k = 0; k < i; k++)
			if (json_equal(v, json_array_get(ids, k)))
				verrs_add(errs, arena_printf(a, "child_ids[%zu]", i), "duplicate", "is listed twice");
	}
}

#define ENTRY_FIELDS                                                                                            \
	{.name = "event_date", .type = FT_DATE, .required = true},                                              \
	{.name = "event_date_end", .type = FT_DATE, .nullable = true},                                          \
	{.name = "date_precision", .type = FT_ENUM, .required = true, .enum_values = precisions},               \
	{.name = "event_time", .type = FT_STRING, .nullable = true, .check = check_time, .check_code = "invalid_time"}, \
	{.name = "category", .type = FT_ENUM, .required = true, .enum_values = categories},                     \
	{.name = "summary", .type = FT_STRING, .required = true, .min = 1, .max = 500},                         \
	{.name = "details", .type = FT_STRING, .nullable = true, .max = 10000},                                 \
	{.name = "impact", .type = FT_ENUM, .required = true, .enum_values = impacts},                          \
	{.name = "impact_description", .type = FT_STRING, .nullable = true, .max = 2000},                       \
	{.name = "action_taken", .type = FT_STRING, .nullable = true, .min = 1, .max = 2000},                   \
	{.name = "no_action_reason", .type = FT_STRING, .nullable = true, .min = 1, .max = 2000},               \
	{.name = "significance", .type = FT_ENUM, .required = true, .enum_values = significances},              \
	{.name = "source", .type = FT_STRING, .nullable = true, .max = 200}

static const struct field_spec entry_fields[] = {
	{.name = "child_ids", .type = FT_STRING_ARRAY, .required = true, .min = 1, .max = 10},
	ENTRY_FIELDS,
};
static const struct field_spec entry_patch_fields[] = {ENTRY_FIELDS};
static const char *const entry_read_only[] = {"id",     "agency",     "author",     "version",          "status",
					      "created_at", "updated_at", "updated_by", "withdrawn_reason", "withdrawn_at",
					      NULL};
static const char *const entry_patch_read_only[] = {"id",         "agency",     "author",           "version",
						    "status",     "created_at", "updated_at",       "updated_by",
						    "child_ids",  "withdrawn_reason", "withdrawn_at", NULL};
static const struct body_spec entry_body = {.fields = entry_fields,
					    .n = sizeof entry_fields / sizeof entry_fields[0],
					    .read_only = entry_read_only,
					    .check = check_entry};
/* a PATCH body on its own; the merged entry is checked against entry_merged */
static const struct body_spec entry_patch_body = {.fields = entry_patch_fields,
						  .n = sizeof entry_patch_fields / sizeof entry_patch_fields[0],
						  .read_only = entry_patch_read_only};
static const struct body_spec entry_merged = {.fields = entry_patch_fields,
					      .n = sizeof entry_patch_fields / sizeof entry_patch_fields[0],
					      .read_only = entry_patch_read_only,
					      .check = check_entry};

static const struct field_spec reason_fields[] = {
	{.name = "reason", .type = FT_STRING, .required = true, .min = 1, .max = 1000},
};
static const struct body_spec reason_body = {.fields = reason_fields, .n = 1};

static void check_request(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *from = str_of(b, "period_from"), *to = str_of(b, "period_to"), *by = str_of(b, "respond_by");
	const char *until = str_of(b, "share_until");
	json_t *agencies = json_object_get(b, "agencies"), *v;
	int64_t t;
	size_t i;

	if ((str_of(b, "child_id") != NULL) == (str_of(b, "family_id") != NULL))
		verrs_add(errs, "child_id", "one_of", "give exactly one of child_id and family_id");
	if (from && to && validate_date(from) && validate_date(to) && strcmp(to, from) < 0)
		verrs_add(errs, "period_to", "before_start", "must not be before period_from");
	if (by && validate_date(by) && strcmp(by, today_str(a)) < 0)
		verrs_add(errs, "respond_by", "in_past", "must not be in the past");
	if (until && instant_to_epoch(until, &t) && t <= (int64_t)time(NULL))
		verrs_add(errs, "share_until", "in_past", "must be in the future");
	json_array_foreach(agencies, i, v) {
		for (size_t k = 0; k < i; k++)
			if (json_equal(v, json_array_get(agencies, k)))
				verrs_add(errs, arena_printf(a, "agencies[%zu]", i), "duplicate", "is listed twice");
	}
}

static const struct field_spec request_fields[] = {
	{.name = "child_id", .type = FT_UUID, .nullable = true},
	{.name = "family_id", .type = FT_UUID, .nullable = true},
	{.name = "agencies", .type = FT_STRING_ARRAY, .required = true, .min = 1, .max = AGENCY__COUNT,
	 .enum_values = sg_agency_names},
	{.name = "purpose", .type = FT_STRING, .required = true, .min = 1, .max = 2000},
	{.name = "lawful_basis", .type = FT_ENUM, .required = true, .enum_values = lawful_bases},
	{.name = "period_from", .type = FT_DATE, .required = true},
	{.name = "period_to", .type = FT_DATE, .required = true},
	{.name = "respond_by", .type = FT_DATE, .required = true},
	{.name = "share_until", .type = FT_INSTANT, .required = true},
};
static const struct body_spec request_body = {.fields = request_fields,
					      .n = sizeof request_fields / sizeof request_fields[0],
					      .check = check_request};

static void check_contribution(json_t *b, struct verrs *errs, struct arena *a)
{
	json_t *ids = json_object_get(b, "entry_ids"), *none = json_object_get(b, "no_involvement"), *v;
	size_t i;

	if ((ids != NULL) == (none != NULL) || (none && !json_is_true(none)))
		verrs_add(errs, "entry_ids", "one_of", "give entry_ids, or no_involvement: true");
	json_array_foreach(ids, i, v) {
		if (json_is_string(v) && !validate_uuid(json_string_value(v)))
			verrs_add(errs, arena_printf(a, "entry_ids[%zu]", i), "invalid_uuid", "must be a UUID");
	}
}

static const struct field_spec contribution_fields[] = {
	{.name = "entry_ids", .type = FT_STRING_ARRAY, .max = 5000},
	{.name = "no_involvement", .type = FT_BOOL},
};
static const struct body_spec contribution_body = {.fields = contribution_fields, .n = 2, .check = check_contribution};

enum { HQ_FROM, HQ_TO, HQ_CATEGORY, HQ_AGENCY, HQ_LIMIT, HQ_CURSOR };
static const struct query_param history_params[] = {
	[HQ_FROM] = {"from", FT_DATE, 0, 0, NULL},
	[HQ_TO] = {"to", FT_DATE, 0, 0, NULL},
	[HQ_CATEGORY] = {"category", FT_ENUM, 0, 0, categories},
	[HQ_AGENCY] = {"agency", FT_ENUM, 0, 0, sg_agency_names},
	[HQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[HQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec history_query = {history_params, 6};

enum { RQ_STATUS, RQ_LIMIT, RQ_CURSOR };
static const struct query_param request_list_params[] = {
	[RQ_STATUS] = {"status", FT_ENUM, 0, 0, request_statuses},
	[RQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[RQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec request_list_query = {request_list_params, 3};

/* ---- statements (prepared on first use on each connection) ---------------- */

#define ENTRY_COLUMNS                                                                             \
	"event_date, event_date_end, date_precision, event_time, category, summary, details, impact,"  \
	" impact_description, action_taken, no_action_reason, significance, source"

#define ENTRY_VALUES_FROM_B                                                                       \
	"(b->>'event_date')::date, (b->>'event_date_end')::date, b->>'date_precision',"               \
	" (b->>'event_time')::time, b->>'category', b->>'summary', b->>'details', b->>'impact',"      \
	" b->>'impact_description', b->>'action_taken', b->>'no_action_reason', b->>'significance',"  \
	" b->>'source'"

DB_SQL(sql_entry_children, 1,
       "select id, family_id from safeguard.children where id = any ($1::uuid[])");

DB_SQL(sql_entry_insert, 2,
       "insert into safeguard.chronology_entries (id, agency, author_sub, updated_by, " ENTRY_COLUMNS ")"
       " select $1::uuid, safeguard.app_agency(), safeguard.app_sub(), safeguard.app_sub(), " ENTRY_VALUES_FROM_B
       " from (select $2::jsonb as b) s");

DB_SQL(sql_entry_children_insert, 2,
       "insert into safeguard.chronology_entry_children (entry_id, child_id)"
       " select $1::uuid, unnest($2::uuid[])");

DB_SQL(sql_entry_doc, 1,
       "update safeguard.chronology_entries e set doc = safeguard.entry_json(e)::text"
       " where id = $1::uuid returning doc, version");

DB_SQL(sql_entry_get, 1,
       "select coalesce(e.doc, safeguard.entry_json(e)::text), e.version, e.agency, e.author_sub, e.status"
       " from safeguard.chronology_entries e where e.id = $1::uuid");

DB_SQL(sql_entry_lock, 1,
       "select coalesce(e.doc, safeguard.entry_json(e)::text), e.version, e.agency, e.author_sub, e.status"
       " from safeguard.chronology_entries e where e.id = $1::uuid for update");

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

DB_SQL(sql_entry_versions, 1,
       "select snapshot::text, version, recorded_by,"
       " to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
       " from safeguard.chronology_entry_versions where entry_id = $1::uuid order by version");

DB_SQL(sql_child_chronology, 9,
       "select * from safeguard.child_chronology($1::uuid, $2::date, $3::date, $4, $5,"
       " $6::date, $7::time, $8::bigint, $9::int)");

DB_SQL(sql_req_insert, 2,
       "insert into safeguard.chronology_requests (id, requesting_agency, requested_by, child_id, family_id,"
       " purpose, lawful_basis, period_from, period_to, respond_by, share_until)"
       " select $1::uuid, safeguard.app_agency(), safeguard.app_sub(), (b->>'child_id')::uuid,"
       " (b->>'family_id')::uuid, b->>'purpose', b->>'lawful_basis', (b->>'period_from')::date,"
       " (b->>'period_to')::date, (b->>'respond_by')::date, (b->>'share_until')::timestamptz"
       " from (select $2::jsonb as b) s");

DB_SQL(sql_req_subjects, 2,
       "select id from safeguard.children where id = $1::uuid or family_id = $2::uuid order by id");

DB_SQL(sql_req_parties, 3,
       "with c as (insert into safeguard.chronology_request_children (request_id, child_id)"
       " select $1::uuid, unnest($2::uuid[])), a as (insert into safeguard.chronology_request_agencies"
       " (request_id, agency) select $1::uuid, unnest($3::text[]))"
       " insert into safeguard.child_network (child_id, agency, how, reason, joined_by)"
       " select c, a, 'invited', 'invited to a chronology request', safeguard.app_sub()"
       " from unnest($2::uuid[]) c cross join unnest($3::text[]) a on conflict do nothing");

DB_SQL(sql_req_get, 1,
       "select safeguard.request_json(r)::text from safeguard.chronology_requests r where r.id = $1::uuid");

DB_SQL(sql_req_list, 4,
       "select safeguard.request_json(r)::text, r.created_at::text, r.id"
       " from safeguard.chronology_requests r where ($1::text is null"
       " or $1 = case when r.closed_at is not null then 'closed' when now() >= r.share_until then 'expired'"
       " else 'open' end) and ($2::timestamptz is null or (r.created_at, r.id) < ($2::timestamptz, $3::uuid))"
       " order by r.created_at desc, r.id desc limit $4::int");

DB_SQL(sql_req_state, 1,
       "select r.closed_at is null and now() < r.share_until, r.requesting_agency = safeguard.app_agency(),"
       " exists (select 1 from safeguard.chronology_request_agencies a where a.request_id = r.id"
       " and a.agency = safeguard.app_agency()), safeguard.request_readable(r.id)"
       " from safeguard.chronology_requests r where r.id = $1::uuid");

DB_SQL(sql_req_draft, 1,
       "select coalesce(e.doc, safeguard.entry_json(e)::text), exists (select 1 from safeguard.chronology_contributions k"
       " where k.request_id = r.id and k.entry_id = e.id)"
       " from safeguard.chronology_requests r join safeguard.chronology_entries e"
       " on e.agency = safeguard.app_agency() and e.status = 'active'"
       " and e.event_date <= r.period_to and coalesce(e.event_date_end, e.event_date) >= r.period_from"
       " where r.id = $1::uuid and exists (select 1 from safeguard.chronology_entry_children ec"
       " join safeguard.chronology_request_children rc on rc.child_id = ec.child_id"
       " where rc.request_id = r.id and ec.entry_id = e.id)"
       " order by e.event_date, coalesce(e.event_time, '00:00'), e.seq");

DB_SQL(sql_contrib_eligible, 2,
       "select e.id from safeguard.chronology_entries e where e.id = any ($2::uuid[])"
       " and e.agency = safeguard.app_agency() and e.status = 'active'"
       " and exists (select 1 from safeguard.chronology_entry_children ec"
       " join safeguard.chronology_request_children rc on rc.child_id = ec.child_id"
       " where rc.request_id = $1::uuid and ec.entry_id = e.id)");

DB_SQL(sql_contrib_replace, 3,
       "with d as (delete from safeguard.chronology_contributions where request_id = $1::uuid"
       " and agency = safeguard.app_agency()), i as (insert into safeguard.chronology_contributions"
       " (request_id, agency, entry_id) select $1::uuid, safeguard.app_agency(), unnest($2::uuid[]))"
       " update safeguard.chronology_request_agencies set status = $3, submitted_at = now(),"
       " submitted_by = safeguard.app_sub() where request_id = $1::uuid and agency = safeguard.app_agency()");

DB_SQL(sql_consolidated_json, 1,
       "select safeguard.consolidated_json($1::uuid)");

DB_SQL(sql_consolidated_items, 1,
       "select * from safeguard.consolidated_items($1::uuid)");

DB_SQL(sql_req_rolls, 1,
       "select c.id, case when c.education_status in ('not_on_roll', 'missing_education')"
       " then c.not_on_roll_since::text end from safeguard.children c"
       " join safeguard.chronology_request_children rc on rc.child_id = c.id where rc.request_id = $1::uuid");

DB_SQL(sql_req_close, 1,
       "update safeguard.chronology_requests set closed_at = now(), closed_by = safeguard.app_sub()"
       " where id = $1::uuid and closed_at is null and requesting_agency = safeguard.app_agency()"
       " returning id");

/* ---- helpers ------------------------------------------------------------ */

/* A Postgres array literal of the strings in a JSON array: {"a","b"}. */
static const char *pg_array(struct arena *a, json_t *arr)
{
	size_t n = json_array_size(arr), cap = 3, o;
	json_t *v;
	size_t i;
	char *out;

	json_array_foreach(arr, i, v) cap += json_string_length(v) + 3;
	out = arena_alloc(a, cap);
	out[0] = '{';
	o = 1;
	json_array_foreach(arr, i, v) {
		/* only UUIDs and agency codes come here: no quoting needed beyond the quotes */
		o += (size_t)snprintf(out + o, cap - o, "%s\"%s\"", i ? "," : "", json_string_value(v));
	}
	(void)n;
	snprintf(out + o, cap - o, "}");
	return out;
}

static int answer_entry(struct sg_req *r, int status, PGresult *res)
{
	json_t *e = json_loads(PQgetvalue(res, 0, 0), 0, NULL);

	http_header(r, "ETag", arena_printf(r->arena, "\"v%s\"", PQgetvalue(res, 0, 1)));
	PQclear(res);
	return http_json(r, status, e);
}

/* Answers a request's current state, its JSON passed through as the
 * database renders it. */
static int request_answer(struct sg_req *r, const char *id, int status)
{
	const char *p[1] = {id};
	PGresult *res;
	enum db_status ds = db_exec(&sql_req_get, p, 1, &res, NULL);
	char *body;

	if (ds != DB_OK)
		return http_db_fail(r, ds, "request read failed");
	body = arena_strndup(r->arena, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return http_body(r, status, "application/json", body, strlen(body));
}

/* Renders the entry's document again after a change and answers it. */
static int entry_refreshed(struct sg_req *r)
{
	const char *p[1] = {r->params[0]};
	PGresult *res;
	enum db_status ds = db_exec(&sql_entry_doc, p, 1, &res, NULL);

	if (ds != DB_OK)
		return http_db_fail(r, ds, "entry read failed");
	return answer_entry(r, 200, res);
}

/* ---- entries -------------------------------------------------------------- */

static int entries_create(struct sg_req *r)
{
	json_t *ids = json_object_get(r->body, "child_ids"), *bad;
	const char *id = ident_uuid(r->arena), *arr = pg_array(r->arena, ids);
	const char *p[2] = {arr, NULL};
	const char *family = NULL;
	struct verrs errs = {0};
	PGresult *res;
	enum db_status ds;
	size_t i;
	json_t *v;
	int rc;

	/* every child in the caller's network; more than one only for one family */
	ds = db_exec(&sql_entry_children, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "child lookup failed");
	bad = arena_json(r->arena, json_deep_copy(ids));
	for (int k = 0; k < PQntuples(res); k++) {
		json_array_foreach(bad, i, v) {
			if (strcmp(json_string_value(v), PQgetvalue(res, k, 0)) == 0) {
				json_array_remove(bad, i);
				break;
			}
		}
		if (json_array_size(ids) > 1) {
			const char *f = PQgetisnull(res, k, 1) ? "" : PQgetvalue(res, k, 1);

			if (!family)
				family = arena_strdup(r->arena, f);
			if (!*f || strcmp(family, f) != 0)
				family = "";
		}
	}
	PQclear(res);
	json_array_foreach(bad, i, v) verrs_add(&errs, "child_ids", "not_found",
						arena_printf(r->arena, "no child %s in your network", json_string_value(v)));
	if (!errs.n && json_array_size(ids) > 1 && (!family || !*family))
		verrs_add(&errs, "child_ids", "not_siblings", "an entry about several children is only for children of one family");
	if (errs.n)
		return http_problem_errors(r, 422, "invalid-reference", "the entry's children cannot be used", &errs);

	p[0] = id;
	p[1] = arena_json_dump(r->arena, r->body);
	ds = db_exec(&sql_entry_insert, p, 2, &res, NULL);
	PQclear(res);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "entry insert failed");
	p[1] = arr;
	ds = db_exec(&sql_entry_children_insert, p, 2, &res, NULL);
	PQclear(res);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "entry children insert failed");
	if ((rc = kit_audit(r, "chronology_entry.create", "chronology_entry", id, NULL)))
		return rc;
	json_array_foreach(ids, i, v) {
		if ((rc = kit_audit(r, "child.chronology.add", "child", json_string_value(v), NULL)))
			return rc;
	}
	ds = db_exec(&sql_entry_doc, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "entry read failed");
	http_header(r, "Location", arena_printf(r->arena, "/v1/chronology-entries/%s", id));
	return answer_entry(r, 201, res);
}

/* Reads an entry the caller may see; locked for a change when lock. */
static int entry_load(struct sg_req *r, bool lock, PGresult **res)
{
	const char *p[1] = {r->params[0]};
	enum db_status ds;

	*res = NULL;
	if (!validate_uuid(p[0]))
		return http_not_found(r, "chronology entry");
	ds = db_exec(lock ? &sql_entry_lock : &sql_entry_get, p, 1, res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "entry read failed");
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		return http_not_found(r, "chronology entry");
	}
	return 0;
}

/* Only the author or the agency's safeguarding lead changes an entry. */
static int entry_may_change(struct sg_req *r, PGresult *res)
{
	bool own_agency = strcmp(PQgetvalue(res, 0, 2), sg_agency_names[r->id.agency]) == 0;
	bool author = strcmp(PQgetvalue(res, 0, 3), r->id.sub) == 0;

	if (!own_agency || !(author || (r->id.roles & ROLE_BIT(ROLE_SAFEGUARDING_LEAD))))
		return http_problem(r, 403, "forbidden", "only the author or the agency's safeguarding lead may change an entry");
	if (strcmp(PQgetvalue(res, 0, 4), "withdrawn") == 0)
		return http_problem(r, 409, "conflict", "the entry has been withdrawn");
	return 0;
}

/* For an amendment or withdrawal: the entry must be visible (404), the
 * caller its author or the agency's lead (403), the entry active (409);
 * then it is locked, so concurrent changes queue behind each other.  The
 * lock goes through the update policy, which is why the checks come first. */
static int entry_load_for_change(struct sg_req *r, PGresult **res)
{
	int rc;

	if ((rc = entry_load(r, false, res)))
		return rc;
	rc = entry_may_change(r, *res);
	PQclear(*res);
	*res = NULL;
	if (rc)
		return rc;
	return entry_load(r, true, res);
}

static int entries_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = entry_load(r, false, &res)))
		return rc;
	if ((rc = http_etag(r, arena_printf(r->arena, "\"v%s\"", PQgetvalue(res, 0, 1))))) {
		PQclear(res);
		return rc;
	}
	r->nhdr = 0;
	if ((rc = kit_audit(r, "chronology_entry.read", "chronology_entry", r->params[0], NULL))) {
		PQclear(res);
		return rc;
	}
	return answer_entry(r, 200, res);
}

static int entries_amend(struct sg_req *r)
{
	const char *p[3] = {r->params[0], NULL, NULL};
	struct verrs errs = {0};
	json_t *merged, *v;
	const char *key;
	PGresult *res;
	enum db_status ds;
	int rc;

	if ((rc = entry_load_for_change(r, &res)))
		return rc;
	rc = http_require_match(r, arena_printf(r->arena, "\"v%s\"", PQgetvalue(res, 0, 1)));
	merged = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	arena_json(r->arena, merged);
	p[2] = arena_strdup(r->arena, PQgetvalue(res, 0, 1));
	PQclear(res);
	if (rc)
		return rc;
	for (size_t i = 0; entry_patch_read_only[i]; i++)
		json_object_del(merged, entry_patch_read_only[i]);
	json_object_foreach(r->body, key, v) json_object_set(merged, key, v);
	json_object_foreach(merged, key, v) {
		if (json_is_null(v))
			json_object_del(merged, key);
	}
	validate_body(&entry_merged, merged, &errs, r->arena);
	if (errs.n)
		return http_problem_errors(r, 400, "validation-failed", "the entry would have invalid fields", &errs);
	ds = db_exec(&sql_entry_snapshot, p, 1, &res, NULL);
	PQclear(res);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "entry snapshot failed");
	p[1] = arena_json_dump(r->arena, merged);
	ds = db_exec(&sql_entry_update, p, 3, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "entry update failed");
	rc = PQntuples(res) == 0;
	PQclear(res);
	if (rc)
		return http_problem(r, 412, "precondition-failed", "the entry changed while you were amending it");
	if ((rc = kit_audit(r, "chronology_entry.amend", "chronology_entry", r->params[0], NULL)))
		return rc;
	return entry_refreshed(r);
}

static int entries_withdraw(struct sg_req *r)
{
	const char *p[2] = {r->params[0], str_of(r->body, "reason")};
	PGresult *res;
	enum db_status ds;
	int rc;

	if ((rc = entry_load_for_change(r, &res)))
		return rc;
	PQclear(res);
	ds = db_exec(&sql_entry_snapshot, p, 1, &res, NULL);
	PQclear(res);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "entry snapshot failed");
	ds = db_exec(&sql_entry_withdraw, p, 2, &res, NULL);
	PQclear(res);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "entry withdrawal failed");
	if ((rc = kit_audit(r, "chronology_entry.withdraw", "chronology_entry", r->params[0], NULL)))
		return rc;
	return entry_refreshed(r);
}

/* Earlier versions as they were, then the current one. */
static int entries_versions(struct sg_req *r)
{
	const char *p[1] = {r->params[0]};
	PGresult *res, *cur;
	enum db_status ds;
	json_t *items;
	int rc;

	if ((rc = entry_load(r, false, &cur)))
		return rc;
	ds = db_exec(&sql_entry_versions, p, 1, &res, NULL);
	if (ds != DB_OK) {
		PQclear(cur);
		return http_db_fail(r, ds, "entry versions failed");
	}
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, json_pack("{s:i, s:o, s:s, s:s}", "version", atoi(PQgetvalue(res, i, 1)),
						       "entry", json_loads(PQgetvalue(res, i, 0), 0, NULL),
						       "recorded_by", PQgetvalue(res, i, 2), "recorded_at",
						       PQgetvalue(res, i, 3)));
	{
		json_t *e = json_loads(PQgetvalue(cur, 0, 0), 0, NULL);

		json_array_append_new(items, json_pack("{s:i, s:O, s:O, s:O}", "version", atoi(PQgetvalue(cur, 0, 1)),
						       "entry", e, "recorded_by", json_object_get(e, "updated_by"),
						       "recorded_at", json_object_get(e, "updated_at")));
		json_decref(e);
	}
	PQclear(res);
	PQclear(cur);
	if ((rc = kit_audit(r, "chronology_entry.versions.read", "chronology_entry", p[0], NULL))) {
		json_decref(items);
		return rc;
	}
	return http_list(r, items, NULL);
}

/* A child's chronology: its own agency's entries (CSC: all), in event order. */
static int children_chronology(struct sg_req *r)
{
	const char *const *q = r->query.values;
	const char *after[3] = {NULL, NULL, NULL};
	long limit = q[HQ_LIMIT] ? strtol(q[HQ_LIMIT], NULL, 10) : 50;
	const char *p[9], *next = NULL;
	PGresult *res;
	enum db_status ds;
	int n, rc;

	if ((rc = kit_child_visible(r, r->params[0])))
		return rc;
	if (q[HQ_CURSOR] && (!cursor_decode(r->arena, q[HQ_CURSOR], after, 3) || !validate_date(after[0]) ||
			     strlen(after[1]) != 8 || strspn(after[1], "0123456789:") != 8 ||
			     strspn(after[2], "0123456789") != strlen(after[2]) || !*after[2] || strlen(after[2]) > 18))
		return http_problem(r, 400, "invalid-cursor", "the cursor is not one this endpoint issued");
	p[0] = r->params[0];
	p[1] = q[HQ_FROM];
	p[2] = q[HQ_TO];
	p[3] = q[HQ_CATEGORY];
	p[4] = q[HQ_AGENCY];
	p[5] = after[0];
	p[6] = after[1];
	p[7] = after[2];
	p[8] = arena_printf(r->arena, "%ld", limit + 1);
	ds = db_exec(&sql_child_chronology, p, 9, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "chronology read failed");
	n = PQntuples(res);
	if (n > limit) {
		const char *parts[3] = {PQgetvalue(res, (int)limit - 1, 1), PQgetvalue(res, (int)limit - 1, 2),
					PQgetvalue(res, (int)limit - 1, 3)};

		next = cursor_encode(r->arena, parts, 3);
	}
	if ((rc = kit_audit(r, "child.chronology.read", "child", r->params[0], NULL))) {
		PQclear(res);
		return rc;
	}
	rc = http_list_rows(r, res, 0, n > limit ? (int)limit : n, next);
	PQclear(res);
	return rc;
}

/* ---- requests ------------------------------------------------------------ */

static int requests_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *sp[2] = {str_of(r->body, "child_id"), str_of(r->body, "family_id")};
	const char *p[3];
	json_t *children = arena_json(r->arena, json_array());
	PGresult *res;
	enum db_status ds;
	size_t i;
	json_t *v;
	int rc;

	ds = db_exec(&sql_req_subjects, sp, 2, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "subject lookup failed");
	for (int k = 0; k < PQntuples(res); k++)
		json_array_append_new(children, json_string(PQgetvalue(res, k, 0)));
	PQclear(res);
	if (json_array_size(children) == 0) {
		struct verrs errs = {0};

		verrs_add(&errs, sp[0] ? "child_id" : "family_id", "not_found",
			  sp[0] ? "there is no such child" : "there is no such family, or it has no children");
		return http_problem_errors(r, 422, "invalid-reference", "the request has no subject children", &errs);
	}
	p[0] = id;
	p[1] = arena_json_dump(r->arena, r->body);
	ds = db_exec(&sql_req_insert, p, 2, &res, NULL);
	PQclear(res);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "request insert failed");
	p[1] = pg_array(r->arena, children);
	p[2] = pg_array(r->arena, json_object_get(r->body, "agencies"));
	ds = db_exec(&sql_req_parties, p, 3, &res, NULL);
	PQclear(res);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "request parties insert failed");
	if ((rc = kit_audit(r, "chronology_request.create", "chronology_request", id, NULL)))
		return rc;
	json_array_foreach(children, i, v) {
		if ((rc = kit_audit(r, "child.chronology_request", "child", json_string_value(v), NULL)))
			return rc;
	}
	http_header(r, "Location", arena_printf(r->arena, "/v1/chronology-requests/%s", id));
	return request_answer(r, id, 201);
}

static int requests_list(struct sg_req *r)
{
	const char *const *q = r->query.values;
	const char *after[2] = {NULL, NULL}, *p[4], *next = NULL;
	long limit = q[RQ_LIMIT] ? strtol(q[RQ_LIMIT], NULL, 10) : 50;
	PGresult *res;
	enum db_status ds;
	json_t *items;
	int n;

	if (q[RQ_CURSOR] && (!cursor_decode(r->arena, q[RQ_CURSOR], after, 2) || !validate_uuid(after[1]) ||
			     !validate_pg_timestamp(after[0])))
		return http_problem(r, 400, "invalid-cursor", "the cursor is not one this endpoint issued");
	p[0] = q[RQ_STATUS];
	p[1] = after[0];
	p[2] = after[1];
	p[3] = arena_printf(r->arena, "%ld", limit + 1);
	ds = db_exec(&sql_req_list, p, 4, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "request list failed");
	n = PQntuples(res);
	items = json_array();
	for (int i = 0; i < n && i < limit; i++)
		json_array_append_new(items, json_loads(PQgetvalue(res, i, 0), 0, NULL));
	if (n > limit) {
		const char *parts[2] = {PQgetvalue(res, (int)limit - 1, 1), PQgetvalue(res, (int)limit - 1, 2)};

		next = cursor_encode(r->arena, parts, 2);
	}
	PQclear(res);
	return http_list(r, items, next);
}

struct req_state {
	bool open, requester, invited, readable;
};

/* The request as the caller stands to it; 0, or 404 when not visible. */
static int request_state(struct sg_req *r, struct req_state *st)
{
	const char *p[1] = {r->params[0]};
	PGresult *res;
	enum db_status ds;

	memset(st, 0, sizeof *st);
	if (!validate_uuid(p[0]))
		return http_not_found(r, "chronology request");
	ds = db_exec(&sql_req_state, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "request read failed");
	if (PQntuples(res) == 0) {
		PQclear(res);
		return http_not_found(r, "chronology request");
	}
	st->open = PQgetvalue(res, 0, 0)[0] == 't';
	st->requester = PQgetvalue(res, 0, 1)[0] == 't';
	st->invited = PQgetvalue(res, 0, 2)[0] == 't';
	st->readable = PQgetvalue(res, 0, 3)[0] == 't';
	PQclear(res);
	return st->requester || st->invited ? 0 : http_not_found(r, "chronology request");
}

static int requests_show(struct sg_req *r)
{
	const char *p[1] = {r->params[0]};
	struct req_state st;
	int rc;

	if ((rc = request_state(r, &st)) || (rc = kit_audit(r, "chronology_request.read", "chronology_request", p[0], NULL)))
		return rc;
	return request_answer(r, p[0], 200);
}

/* The caller's agency's own entries about the subject children within the
 * period, to share as they are or to complete. */
static int requests_draft(struct sg_req *r)
{
	const char *p[1] = {r->params[0]};
	struct req_state st;
	PGresult *res;
	enum db_status ds;
	json_t *items;
	int rc;

	if ((rc = request_state(r, &st)))
		return rc;
	if (!st.invited)
		return http_problem(r, 403, "forbidden", "your agency was not asked to contribute to this request");
	ds = db_exec(&sql_req_draft, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "draft read failed");
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(items, json_pack("{s:o, s:b}", "entry", json_loads(PQgetvalue(res, i, 0), 0, NULL),
						       "shared", PQgetvalue(res, i, 1)[0] == 't'));
	PQclear(res);
	if ((rc = kit_audit(r, "chronology_request.draft.read", "chronology_request", p[0], NULL))) {
		json_decref(items);
		return rc;
	}
	return http_list(r, items, NULL);
}

static int requests_contribute(struct sg_req *r)
{
	json_t *ids = json_object_get(r->body, "entry_ids");
	const char *p[3] = {r->params[0], NULL, NULL};
	struct verrs errs = {0};
	struct req_state st;
	PGresult *res;
	enum db_status ds;
	size_t i;
	json_t *v;
	int rc;

	if ((rc = request_state(r, &st)))
		return rc;
	if (!st.invited)
		return http_problem(r, 403, "forbidden", "your agency was not asked to contribute to this request");
	if (!st.open)
		return http_problem(r, 409, "conflict", "the request is closed to contributions");
	p[1] = ids ? pg_array(r->arena, ids) : "{}";
	if (ids && json_array_size(ids)) {
		ds = db_exec(&sql_contrib_eligible, p, 2, &res, NULL);
		if (ds != DB_OK)
			return http_db_fail(r, ds, "eligibility check failed");
		json_array_foreach(ids, i, v) {
			bool ok = false;

			for (int k = 0; k < PQntuples(res) && !ok; k++)
				ok = strcmp(PQgetvalue(res, k, 0), json_string_value(v)) == 0;
			if (!ok)
				verrs_add(&errs, arena_printf(r->arena, "entry_ids[%zu]", i), "not_eligible",
					  "is not an active entry of your agency about the request's children");
		}
		PQclear(res);
		if (errs.n)
			return http_problem_errors(r, 422, "invalid-reference", "some entries cannot be shared", &errs);
	}
	p[2] = ids ? "submitted" : "no_involvement";
	ds = db_exec(&sql_contrib_replace, p, 3, &res, NULL);
	PQclear(res);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "contribution failed");
	if ((rc = kit_audit(r, "chronology_request.contribute", "chronology_request", p[0], NULL)))
		return rc;
	return request_answer(r, p[0], 200);
}

static int requests_close(struct sg_req *r)
{
	const char *p[1] = {r->params[0]};
	struct req_state st;
	PGresult *res;
	enum db_status ds;
	int rc;

	if ((rc = request_state(r, &st)))
		return rc;
	if (!st.requester)
		return http_problem(r, 403, "forbidden", "only the requesting agency closes a request");
	ds = db_exec(&sql_req_close, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "closure failed");
	rc = PQntuples(res) == 0 ? http_problem(r, 409, "conflict", "the request is already closed") : 0;
	PQclear(res);
	if (rc || (rc = kit_audit(r, "chronology_request.close", "chronology_request", p[0], NULL)))
		return rc;
	return request_answer(r, p[0], 200);
}

/* ---- the consolidated timeline ------------------------------------------ */

static json_t *pattern_json(const struct pattern *pt)
{
	json_t *agencies = json_array(), *ids = json_array();
	char from[11], to[11];
	json_t *o;

	for (int a = 0; a < AGENCY__COUNT; a++)
		if (pt->agencies & AGENCY_BIT(a))
			json_array_append_new(agencies, json_string(sg_agency_names[a]));
	for (size_t i = 0; i < pt->n_entries; i++)
		json_array_append_new(ids, json_string(pt->entry_ids[i]));
	date_from_days(pt->from, from);
	date_from_days(pt->to, to);
	o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "code", pt->code, "description", pt->description, "from", from,
		      "to", to, "agencies", agencies, "entry_ids", ids);
	json_object_set_new(o, "child_id", pt->child_id ? json_string(pt->child_id) : json_null());
	return o;
}

/* One CSV cell: quoted, quotes doubled, and a leading =+-@ neutralised so a
 * spreadsheet never runs a cell as a formula. */
static void csv_cell(char **out, size_t *o, size_t *cap, const char *s, bool last)
{
	size_t need = strlen(s) * 2 + 8;

	if (*o + need >= *cap) {
		size_t ncap = (*cap + need) * 2;
		char *n = realloc(*out, ncap);

		if (!n)
			abort();
		*out = n;
		*cap = ncap;
	}
	(*out)[(*o)++] = '"';
	if (*s == '=' || *s == '+' || *s == '-' || *s == '@')
		(*out)[(*o)++] = '\'';
	for (; *s; s++) {
		if (*s == '"')
			(*out)[(*o)++] = '"';
		(*out)[(*o)++] = *s;
	}
	(*out)[(*o)++] = '"';
	if (last) {
		(*out)[(*o)++] = '\r';
		(*out)[(*o)++] = '\n';
	} else {
		(*out)[(*o)++] = ',';
	}
}

static const char *const csv_columns[] = {"event_date", "event_date_end", "date_precision", "event_time", "agency",
					  "category", "summary", "impact", "impact_description", "action_taken",
					  "no_action_reason", "significance", "source", "child_ids", "status",
					  "withdrawn_reason", "id", NULL};

static int consolidated_csv(struct sg_req *r, json_t *entries)
{
	size_t cap = 4096, o = 0, i;
	char *out = malloc(cap);
	json_t *e;
	int rc;

	if (!out)
		abort();
	for (size_t c = 0; csv_columns[c]; c++)
		csv_cell(&out, &o, &cap, csv_columns[c], !csv_columns[c + 1]);
	json_array_foreach(entries, i, e) {
		for (size_t c = 0; csv_columns[c]; c++) {
			json_t *v = json_object_get(e, csv_columns[c]);
			char *joined = NULL;
			const char *s = "";

			if (json_is_string(v)) {
				s = json_string_value(v);
			} else if (json_is_array(v)) {
				size_t k;
				json_t *x;
				size_t len = 0;

				joined = arena_alloc(r->arena, json_array_size(v) * 40 + 1);
				json_array_foreach(v, k, x) len += (size_t)sprintf(joined + len, "%s%s", k ? " " : "",
										  json_string_value(x));
				s = joined;
			} else if (json_is_integer(v)) {
				s = arena_printf(r->arena, "%lld", (long long)json_integer_value(v));
			}
			csv_cell(&out, &o, &cap, s, !csv_columns[c + 1]);
		}
	}
	rc = http_text(r, 200, "text/csv; charset=utf-8", out, o);
	free(out);
	http_header(r, "Content-Disposition", arena_printf(r->arena, "attachment; filename=\"chronology-%s.csv\"",
							  r->params[0]));
	return rc;
}

static bool wants_csv(const char *accept)
{
	return accept && strstr(accept, "text/csv") && !strstr(accept, "application/json");
}

/* The consolidated timeline.  The database checks access once and builds
 * the entries' JSON in one piece; it is passed through as it comes, beside
 * the patterns computed here from the same entries. */
static int requests_chronology(struct sg_req *r)
{
	const char *p[1] = {r->params[0]};
	struct req_state st;
	struct chron_item *items;
	struct roll_status *rolls;
	struct pattern pats[64];
	struct pattern_input in = {0};
	PGresult *res;
	enum db_status ds;
	const char *entries, *req, *pattern_text;
	json_t *patterns;
	size_t np, k = 0;
	int n, rc;

	if ((rc = request_state(r, &st)))
		return rc;
	if (!st.readable)
		return http_not_found(r, "chronology request");
	ds = db_exec(&sql_consolidated_json, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "consolidated read failed");
	entries = arena_strndup(r->arena, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	if ((rc = kit_audit(r, "chronology_request.consolidated.read", "chronology_request", p[0], NULL)))
		return rc;
	if (wants_csv(r->accept))
		return consolidated_csv(r, arena_json(r->arena, json_loads(entries, 0, NULL)));

	ds = db_exec(&sql_consolidated_items, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "consolidated read failed");
	n = PQntuples(res);
	items = arena_alloc(r->arena, (size_t)(n + 1) * sizeof *items);
	for (int i = 0; i < n; i++) {
		if (strcmp(PQgetvalue(res, i, 5), "active") != 0)
			continue; /* withdrawn entries stay listed but count for nothing */
		items[k].id = arena_strdup(r->arena, PQgetvalue(res, i, 0));
		items[k].agency = sg_agency_lookup(PQgetvalue(res, i, 1));
		items[k].category = arena_strdup(r->arena, PQgetvalue(res, i, 2));
		items[k].day = days_from_date(PQgetvalue(res, i, 3));
		items[k].day_end = *PQgetvalue(res, i, 4) ? days_from_date(PQgetvalue(res, i, 4)) : items[k].day;
		k++;
	}
	PQclear(res);
	ds = db_exec(&sql_req_rolls, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "roll status read failed");
	rolls = arena_alloc(r->arena, (size_t)(PQntuples(res) + 1) * sizeof *rolls);
	for (int i = 0; i < PQntuples(res); i++) {
		rolls[i].child_id = arena_strdup(r->arena, PQgetvalue(res, i, 0));
		rolls[i].since = PQgetisnull(res, i, 1) ? -1 : days_from_date(PQgetvalue(res, i, 1));
	}
	in.items = items;
	in.n = k;
	in.rolls = rolls;
	in.nrolls = (size_t)PQntuples(res);
	in.today = (int)(time(NULL) / 86400);
	PQclear(res);
	np = patterns_find(&in, pats, sizeof pats / sizeof pats[0], r->arena);
	patterns = arena_json(r->arena, json_array());
	for (size_t i = 0; i < np; i++)
		json_array_append_new(patterns, pattern_json(&pats[i]));
	pattern_text = arena_json_dump(r->arena, patterns);
	ds = db_exec(&sql_req_get, p, 1, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "request read failed");
	req = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
	PQclear(res);
	{
		/* concatenated, not printed: the entries run to megabytes */
		const char *parts[] = {"{\"request\":", req, ",\"entries\":", entries, ",\"patterns\":", pattern_text, "}"};
		size_t len = 0, o = 0;
		char *body;

		for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
			len += strlen(parts[i]);
		body = arena_alloc(r->arena, len + 1);
		for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
			size_t plen = strlen(parts[i]);

			memcpy(body + o, parts[i], plen);
			o += plen;
		}
		return http_body(r, 200, "application/json", body, len);
	}
}

static const struct route chronology_route_list[] = {
	{"POST", "/v1/chronology-entries", PERM_CHRONOLOGY_WRITE, &entry_body, NULL, entries_create,
	 "chronology_entries.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/chronology-entries/{id}", PERM_CHRONOLOGY_READ, NULL, NULL, entries_show, "chronology_entries.show", 0},
	{"PATCH", "/v1/chronology-entries/{id}", PERM_CHRONOLOGY_WRITE, &entry_patch_body, NULL, entries_amend,
	 "chronology_entries.amend", ROUTE_PATCH},
	{"GET", "/v1/chronology-entries/{id}/versions", PERM_CHRONOLOGY_READ, NULL, NULL, entries_versions,
	 "chronology_entries.versions", 0},
	{"POST", "/v1/chronology-entries/{id}/withdrawal", PERM_CHRONOLOGY_WRITE, &reason_body, NULL, entries_withdraw,
	 "chronology_entries.withdraw", ROUTE_IDEMPOTENT},
	{"GET", "/v1/children/{id}/chronology", PERM_CHRONOLOGY_READ, NULL, &history_query, children_chronology,
	 "children.chronology", 0},
	{"POST", "/v1/chronology-requests", PERM_REQUEST_CREATE, &request_body, NULL, requests_create,
	 "chronology_requests.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/chronology-requests", PERM_REQUEST_READ, NULL, &request_list_query, requests_list,
	 "chronology_requests.list", 0},
	{"GET", "/v1/chronology-requests/{id}", PERM_REQUEST_READ, NULL, NULL, requests_show, "chronology_requests.show", 0},
	{"GET", "/v1/chronology-requests/{id}/draft", PERM_REQUEST_CONTRIBUTE, NULL, NULL, requests_draft,
	 "chronology_requests.draft", 0},
	{"POST", "/v1/chronology-requests/{id}/contributions", PERM_REQUEST_CONTRIBUTE, &contribution_body, NULL,
	 requests_contribute, "chronology_requests.contribute", ROUTE_IDEMPOTENT},
	{"GET", "/v1/chronology-requests/{id}/chronology", PERM_REQUEST_READ, NULL, NULL, requests_chronology,
	 "chronology_requests.consolidated", 0},
	{"POST", "/v1/chronology-requests/{id}/closure", PERM_REQUEST_CREATE, NULL, NULL, requests_close,
	 "chronology_requests.close", ROUTE_IDEMPOTENT},
};

const struct sg_area chronology_area = SG_AREA("chronology", chronology_route_list);
