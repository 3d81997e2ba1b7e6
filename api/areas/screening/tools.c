/*
 * tools.c - the partnership's exploitation screening tools, held as data:
 * the API does not hard-code any council's questions.  A tool is named and
 * has numbered versions; a version has sections of indicators (id, text,
 * weight, the answers that count, required or not) and score thresholds,
 * each mapping a range of scores to a level and to the pathway's
 * recommended next step.  The partnership's admins draft a version, change
 * it while it is a draft, and publish it; publishing supersedes the version
 * published before.  A published version is immutable (409 here, and a
 * trigger in the database for anyone else).
 *
 * A version is checked as a whole and every problem is listed at once:
 * duplicate section or indicator ids, bad weights or answers, and
 * thresholds that overlap or leave a gap anywhere from 0 to the highest
 * possible score.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ident.h"
#include "screening.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const levels[] = {"low", "medium", "high", NULL};
static const char *const next_steps[] = {"no_further_action", "front_door_referral", "panel_referral", NULL};

#define MAX_SECTIONS 20
#define MAX_INDICATORS 50 /* per section */
#define MAX_THRESHOLDS 10
#define MAX_WEIGHT 100
#define MAX_SCORE_BOUND 100000

static const struct field_spec tool_fields[] = {
	{.name = "name", .type = FT_STRING, .required = true, .min = 1, .max = 200},
	{.name = "description", .type = FT_STRING, .nullable = true, .min = 1, .max = 2000},
};
static const char *const tool_read_only[] = {"id",         "published_version", "versions",   "version",
					     "created_by", "created_at",        "updated_at", NULL};
static const struct body_spec tool_body = {.fields = tool_fields, .n = 2, .read_only = tool_read_only};

static bool id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 1 && n <= 50 && s[0] >= 'a' && s[0] <= 'z' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static bool in(const char *const *set, const char *s)
{
	for (; s && *set; set++)
		if (!strcmp(*set, s))
			return true;
	return false;
}

/* Reports members of o not in allowed (a NULL-terminated list) under where. */
static void only_members(json_t *o, const char *const *allowed, const char *where, struct verrs *errs, struct arena *a)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		if (!in(allowed, key))
			verrs_add(errs, arena_printf(a, "%s.%s", where, key), "unknown_field", "is not a field here");
	}
}

static const char *text_of(json_t *o, const char *name, size_t max, const char *where, struct verrs *errs,
			   struct arena *a)
{
	json_t *v = json_object_get(o, name);

	if (!validate_text(v, max)) {
		verrs_add(errs, arena_printf(a, "%s.%s", where, name), "invalid_value",
			  arena_printf(a, "must be a string of 1 to %zu characters", max));
		return NULL;
	}
	return json_string_value(v);
}

/* One indicator at where; its weight added to *max_score. */
static void check_indicator(json_t *ind, const char *where, long *max_score, struct verrs *errs, struct arena *a)
{
	static const char *const members[] = {"id", "text", "weight", "counts", "required", NULL};
	json_t *w, *counts, *req, *v;
	const char *id;
	size_t k;

	if (!json_is_object(ind)) {
		verrs_add(errs, where, "invalid_type", "an indicator is an object");
		return;
	}
	only_members(ind, members, where, errs, a);
	id = json_string_value(json_object_get(ind, "id"));
	if (!id_ok(id))
		verrs_add(errs, arena_printf(a, "%s.id", where), "invalid_id",
			  "must be 1-50 characters of a-z 0-9 _, starting with a letter");
	(void)text_of(ind, "text", 1000, where, errs, a);
	w = json_object_get(ind, "weight");
	if (!json_is_integer(w) || json_integer_value(w) < 0 || json_integer_value(w) > MAX_WEIGHT)
		verrs_add(errs, arena_printf(a, "%s.weight", where), "out_of_range",
			  arena_printf(a, "must be an integer from 0 to %d", MAX_WEIGHT));
	else
		*max_score += (long)json_integer_value(w);
	counts = json_object_get(ind, "counts");
	if (!json_is_array(counts) || json_array_size(counts) < 1 || json_array_size(counts) > 3) {
		verrs_add(errs, arena_printf(a, "%s.counts", where), "invalid_value",
			  "must list the answers that count: one to three of yes, no, not_known");
	} else {
		json_array_foreach(counts, k, v) {
			bool twice = false;

			for (size_t j = 0; j < k; j++)
				twice = twice || json_equal(v, json_array_get(counts, j));
			if (!in(screening_answers, json_string_value(v)) || twice)
				verrs_add(errs, arena_printf(a, "%s.counts[%zu]", where, k),
					  twice ? "duplicate" : "invalid_value",
					  twice ? "is listed twice" : "must be one of yes, no, not_known");
		}
	}
	req = json_object_get(ind, "required");
	if (req && !json_is_boolean(req))
		verrs_add(errs, arena_printf(a, "%s.required", where), "invalid_type", "must be true or false");
	else if (!req)
		json_object_set_new(ind, "required", json_true()); /* every indicator is answered unless it says not */
}

struct band {
	long min, max; /* max -1: open-ended */
	size_t at;
};

static int band_cmp(const void *x, const void *y)
{
	const struct band *a = x, *b = y;

	return (a->min > b->min) - (a->min < b->min);
}

/* The thresholds: each well formed, and together covering 0..max_score
 * exactly once.  Sorted by min in place when they are. */
static void check_thresholds(json_t *ths, long max_score, struct verrs *errs, struct arena *a)
{
	static const char *const members[] = {"min", "max", "level", "next_step", NULL};
	struct band bands[MAX_THRESHOLDS];
	size_t n = 0, i, nerr = errs->n;
	json_t *t;

	json_array_foreach(ths, i, t) {
		const char *where = arena_printf(a, "thresholds[%zu]", i);
		json_t *mn, *mx;

		if (!json_is_object(t)) {
			verrs_add(errs, where, "invalid_type", "a threshold is an object");
			continue;
		}
		only_members(t, members, where, errs, a);
		mn = json_object_get(t, "min");
		mx = json_object_get(t, "max");
		if (!json_is_integer(mn) || json_integer_value(mn) < 0 || json_integer_value(mn) > MAX_SCORE_BOUND)
			verrs_add(errs, arena_printf(a, "%s.min", where), "out_of_range",
				  arena_printf(a, "must be an integer from 0 to %d", MAX_SCORE_BOUND));
		if (mx && !json_is_null(mx) &&
		    (!json_is_integer(mx) || json_integer_value(mx) < 0 || json_integer_value(mx) > MAX_SCORE_BOUND))
			verrs_add(errs, arena_printf(a, "%s.max", where), "out_of_range",
				  arena_printf(a, "must be an integer from 0 to %d, or null for no upper bound",
					       MAX_SCORE_BOUND));
		else if (json_is_integer(mn) && json_is_integer(mx) && json_integer_value(mx) < json_integer_value(mn))
			verrs_add(errs, arena_printf(a, "%s.max", where), "below_min", "must not be below min");
		if (!in(levels, json_string_value(json_object_get(t, "level"))))
			verrs_add(errs, arena_printf(a, "%s.level", where), "invalid_value",
				  "must be one of low, medium, high");
		if (!in(next_steps, json_string_value(json_object_get(t, "next_step"))))
			verrs_add(errs, arena_printf(a, "%s.next_step", where), "invalid_value",
				  "must be one of no_further_action, front_door_referral, panel_referral");
		if (!mx)
			json_object_set_new(t, "max", json_null());
		if (errs->n == nerr && n < MAX_THRESHOLDS) {
			bands[n].min = (long)json_integer_value(mn);
			bands[n].max = json_is_integer(mx) ? (long)json_integer_value(mx) : -1;
			bands[n].at = i;
			n++;
		}
	}
	if (errs->n != nerr)
		return; /* coverage is judged on well-formed thresholds only */
	qsort(bands, n, sizeof bands[0], band_cmp);
	if (n && bands[0].min > 0)
		verrs_add(errs, arena_printf(a, "thresholds[%zu].min", bands[0].at), "gap",
			  arena_printf(a, "no threshold holds the scores 0 to %ld", bands[0].min - 1));
	for (i = 0; i + 1 < n; i++) {
		const struct band *x = &bands[i], *y = &bands[i + 1];

		if (x->max < 0 || y->min <= x->max) {
			/* the shared scores: from y's min to the lower of the two maxima (-1: no end) */
			long hi = x->max < 0 ? y->max : y->max < 0 ? x->max : x->max < y->max ? x->max : y->max;

			verrs_add(errs, arena_printf(a, "thresholds[%zu]", y->at), "overlap",
				  hi < 0 ? arena_printf(a, "overlaps thresholds[%zu] at every score from %ld", x->at,
							y->min)
					 : arena_printf(a, "overlaps thresholds[%zu] at the scores %ld to %ld", x->at,
							y->min, hi));
		} else if (y->min > x->max + 1)
			verrs_add(errs, arena_printf(a, "thresholds[%zu].min", y->at), "gap",
				  arena_printf(a, "no threshold holds the scores %ld to %ld", x->max + 1, y->min - 1));
	}
	if (n && bands[n - 1].max >= 0 && bands[n - 1].max < max_score)
		verrs_add(errs, arena_printf(a, "thresholds[%zu].max", bands[n - 1].at), "gap",
			  arena_printf(a, "no threshold holds the scores %ld to %ld (the highest possible score)",
				       bands[n - 1].max + 1, max_score));
	if (errs->n == nerr) {
		/* stored in score order */
		json_t *sorted = json_array();

		for (i = 0; i < n; i++)
			json_array_append(sorted, json_array_get(ths, bands[i].at));
		json_array_clear(ths);
		json_array_extend(ths, sorted);
		json_decref(sorted);
	}
}

/* A version as a whole: sections with their indicators (ids unique across
 * the version), and thresholds covering every score once.  Records the
 * highest possible score in the body as max_score (removed before storing). */
static void check_version(json_t *b, struct verrs *errs, struct arena *a)
{
	static const char *const members[] = {"id", "title", "indicators", NULL};
	json_t *sections = json_object_get(b, "sections"), *ths = json_object_get(b, "thresholds"), *s, *ind;
	const char **ids = NULL, **where = NULL;
	size_t nids = 0, cap = 0, i, j;
	long max_score = 0;

	if (json_is_array(sections) && (json_array_size(sections) < 1 || json_array_size(sections) > MAX_SECTIONS)) {
		verrs_add(errs, "sections", "invalid_value",
			  arena_printf(a, "must have 1 to %d sections", MAX_SECTIONS));
		sections = NULL;
	}
	json_array_foreach(sections, i, s)
		cap += 1 + json_array_size(json_object_get(s, "indicators"));
	ids = arena_alloc(a, (cap + 1) * sizeof *ids);
	where = arena_alloc(a, (cap + 1) * sizeof *where);
	json_array_foreach(sections, i, s) {
		const char *sw = arena_printf(a, "sections[%zu]", i), *sid;
		json_t *inds;

		if (!json_is_object(s)) {
			verrs_add(errs, sw, "invalid_type", "a section is an object");
			continue;
		}
		only_members(s, members, sw, errs, a);
		sid = json_string_value(json_object_get(s, "id"));
		if (!id_ok(sid))
			verrs_add(errs, arena_printf(a, "%s.id", sw), "invalid_id",
				  "must be 1-50 characters of a-z 0-9 _, starting with a letter");
		for (size_t k = 0; sid && k < i; k++)
			if (json_equal(json_object_get(s, "id"), json_object_get(json_array_get(sections, k), "id")))
				verrs_add(errs, arena_printf(a, "%s.id", sw), "duplicate",
					  arena_printf(a, "the section id %s is also sections[%zu]'s", sid, k));
		(void)text_of(s, "title", 200, sw, errs, a);
		inds = json_object_get(s, "indicators");
		if (!json_is_array(inds) || json_array_size(inds) < 1 || json_array_size(inds) > MAX_INDICATORS) {
			verrs_add(errs, arena_printf(a, "%s.indicators", sw), "invalid_value",
				  arena_printf(a, "must be an array of 1 to %d indicators", MAX_INDICATORS));
			continue;
		}
		json_array_foreach(inds, j, ind) {
			const char *iw = arena_printf(a, "%s.indicators[%zu]", sw, j);
			const char *iid = json_string_value(json_object_get(ind, "id"));

			check_indicator(ind, iw, &max_score, errs, a);
			for (size_t k = 0; iid && k < nids; k++)
				if (!strcmp(ids[k], iid))
					verrs_add(errs, arena_printf(a, "%s.id", iw), "duplicate",
						  arena_printf(a, "the indicator id %s is also %s's", iid, where[k]));
			if (iid && nids < cap) {
				ids[nids] = iid;
				where[nids++] = iw;
			}
		}
	}
	if (json_is_array(ths) && (json_array_size(ths) < 1 || json_array_size(ths) > MAX_THRESHOLDS))
		verrs_add(errs, "thresholds", "invalid_value",
			  arena_printf(a, "must have 1 to %d thresholds", MAX_THRESHOLDS));
	else if (json_is_array(ths))
		check_thresholds(ths, max_score, errs, a);
	json_object_set_new(b, "max_score", json_integer(max_score));
}

static const struct field_spec version_fields[] = {
	{.name = "sections", .type = FT_ARRAY, .required = true},
	{.name = "thresholds", .type = FT_ARRAY, .required = true},
	{.name = "notes", .type = FT_STRING, .nullable = true, .min = 1, .max = 2000},
};
static const char *const version_read_only[] = {
	"id",           "tool_id",      "tool_name",     "version",    "status",     "max_score",  "revision",
	"published_at", "published_by", "superseded_at", "created_by", "created_at", "updated_at", NULL};
static const struct body_spec version_body = {.fields = version_fields,
					      .n = sizeof version_fields / sizeof version_fields[0],
					      .read_only = version_read_only,
					      .check = check_version};
/* a PATCH body on its own; the merged version is checked against version_body,
 * the body's own errors in the same answer */
static const struct body_spec version_patch_body = {.fields = version_fields,
						    .n = sizeof version_fields / sizeof version_fields[0],
						    .read_only = version_read_only,
						    .patch_merged = true,
						    .whole = &version_body};

enum { LQ_LIMIT, LQ_CURSOR };
static const struct query_param list_params[] = {
	[LQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[LQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec list_query = {list_params, 2};

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_tool_insert, 3,
       "insert into safeguard.screening_tools (id, name, description, created_by)"
       " values ($1::uuid, $2, $3, safeguard.app_sub())"
       " returning safeguard.screening_tool_json(screening_tools)::text, version");

DB_SQL(sql_tool_get, 1,
       "select safeguard.screening_tool_json(t)::text, t.version from safeguard.screening_tools t where t.id = "
       "$1::uuid");

/* serialises every change to a tool's versions */
DB_SQL(sql_tool_lock, 1, "select id from safeguard.screening_tools where id = $1::uuid for update");

DB_SQL(sql_tool_bump, 1,
       "update safeguard.screening_tools set version = version + 1, updated_at = clock_timestamp()"
       " where id = $1::uuid");

DB_SQL(sql_tool_list, 3,
       "select safeguard.screening_tool_json(t)::text, t.created_at::text, t.id from safeguard.screening_tools t"
       " where ($1::timestamptz is null or (t.created_at, t.id) > ($1::timestamptz, $2::uuid))"
       " order by t.created_at, t.id limit $3::int");

DB_SQL(sql_version_insert, 4,
       "insert into safeguard.screening_tool_versions (id, tool_id, version, sections, thresholds, max_score, notes,"
       " created_by) select $1::uuid, $2::uuid, coalesce((select max(v.version) from safeguard.screening_tool_versions "
       "v"
       " where v.tool_id = $2::uuid), 0) + 1, b->'sections', b->'thresholds', $4::int, b->>'notes', safeguard.app_sub()"
       " from (select $3::jsonb as b) s"
       " returning safeguard.screening_version_json(screening_tool_versions)::text, revision, version");

/* (json, revision, status, id): drafts only for admins (row-level security) */
DB_SQL(sql_version_get, 2,
       "select safeguard.screening_version_json(v)::text, v.revision, v.status, v.id"
       " from safeguard.screening_tool_versions v where v.tool_id = $1::uuid and v.version = $2::int");

DB_SQL(sql_version_update, 4,
       "update safeguard.screening_tool_versions set sections = b->'sections', thresholds = b->'thresholds',"
       " notes = b->>'notes', max_score = $3::int, revision = revision + 1, updated_at = clock_timestamp()"
       " from (select $2::jsonb as b) s where id = $1::uuid and status = 'draft' and revision = $4::int"
       " returning safeguard.screening_version_json(screening_tool_versions)::text, revision");

/* the published version steps aside first: one published version per tool */
DB_SQL(sql_version_supersede, 1,
       "update safeguard.screening_tool_versions set status = 'superseded', superseded_at = clock_timestamp(),"
       " updated_at = clock_timestamp() where tool_id = $1::uuid and status = 'published' returning version");

DB_SQL(sql_version_publish, 1,
       "update safeguard.screening_tool_versions set status = 'published', published_at = clock_timestamp(),"
       " published_by = safeguard.app_sub(), updated_at = clock_timestamp() where id = $1::uuid and status = 'draft'"
       " returning safeguard.screening_version_json(screening_tool_versions)::text, revision");

/* ---- helpers ------------------------------------------------------------ */

/* The version number of a path: 1-4 digits, else NULL (a 404). */
static const char *version_param(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 1 && n <= 4 && strspn(s, "0123456789") == n && s[0] != '0' ? s : NULL;
}

/* Version r->params[1] of tool r->params[0] as the caller may see it. */
static int version_load(struct sg_req *r, PGresult **res)
{
	const char *p[2] = {r->params[0], version_param(r->params[1])};

	if (!validate_uuid(p[0]) || !p[1])
		return http_not_found(r, "screening tool version");
	return kit_fetch(r, &sql_version_get, p, 2, "screening tool version", res);
}

/* The tool for a change to its versions: 0 (the tool locked), or 404. */
static int tool_lock(struct sg_req *r)
{
	PGresult *res;

	return kit_fetch_id(r, &sql_tool_lock, r->params[0], "screening tool", &res);
}

static const char *max_score_of(struct sg_req *r, json_t *b)
{
	const char *s = arena_printf(r->arena, "%lld", (long long)json_integer_value(json_object_get(b, "max_score")));

	json_object_del(b, "max_score");
	return s;
}

/* ---- handlers ------------------------------------------------------------ */

static int tools_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *p[3] = {id, kit_str(r->body, "name"), kit_str(r->body, "description")};
	PGresult *res;
	char sqlstate[6];
	int rc;

	rc = kit_exec_constraint(r, &sql_tool_insert, p, 3, &res, sqlstate);
	if (rc == KIT_CONSTRAINT)
		return http_problem(r, 409, "conflict",
				    "a screening tool of that name exists: draft a new version of it");
	if (rc || (rc = kit_audit(r, "screening_tool.create", "screening_tool", id, NULL)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/screening-tools/%s", id));
	return kit_resource(r, 201, res, 0);
}

static int tools_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_tool_list, LQ_LIMIT, LQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_AFTER, KIT_ARG_FETCH)};

	return kit_list(r, &list);
}

static int tools_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_tool_get, r->params[0], "screening tool", &res)))
		return rc;
	return kit_show(r, res, 0);
}

/* A new draft version (the next number); one draft per tool at a time. */
static int versions_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *p[4] = {id, r->params[0], NULL, max_score_of(r, r->body)};
	PGresult *res, *bumped;
	char sqlstate[6];
	int rc;

	if ((rc = tool_lock(r)))
		return rc;
	p[2] = arena_json_dump(r->arena, r->body);
	rc = kit_exec_constraint(r, &sql_version_insert, p, 4, &res, sqlstate);
	if (rc == KIT_CONSTRAINT)
		return http_problem(r, 409, "conflict",
				    "the tool has a draft version already: change it or publish it");
	if (rc || (rc = kit_exec(r, &sql_tool_bump, &p[1], 1, &bumped)) ||
	    (rc = kit_audit(r, "screening_tool.version.create", "screening_tool", r->params[0],
			    arena_printf(r->arena, "{\"version\":%s}", PQgetvalue(res, 0, 2)))))
		return rc;
	http_header(r, "Location",
		    arena_printf(r->arena, "/v1/screening-tools/%s/versions/%s", r->params[0], PQgetvalue(res, 0, 2)));
	return kit_resource(r, 201, res, 0);
}

static int versions_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = version_load(r, &res)))
		return rc;
	return kit_show(r, res, 0);
}

static int versions_update(struct sg_req *r)
{
	const char *p[4] = {NULL, NULL, NULL, NULL};
	json_t *merged;
	PGresult *res, *bumped;
	int rc;

	if ((rc = tool_lock(r)) || (rc = version_load(r, &res)))
		return rc;
	if (strcmp(PQgetvalue(res, 0, 2), "draft"))
		return http_problem(r, 409, "conflict",
				    arena_printf(r->arena,
						 "the version is %s; a published version is immutable: draft a new "
						 "version",
						 PQgetvalue(res, 0, 2)));
	if ((rc = kit_if_match(r, PQgetvalue(res, 0, 1))) ||
	    (rc = kit_patch_merge(r, PQgetvalue(res, 0, 0), &version_patch_body, &merged)))
		return rc;
	p[0] = PQgetvalue(res, 0, 3);
	p[2] = max_score_of(r, merged);
	p[1] = arena_json_dump(r->arena, merged);
	p[3] = PQgetvalue(res, 0, 1);
	if ((rc = kit_exec(r, &sql_version_update, p, 4, &res)))
		return rc;
	if (PQntuples(res) == 0) /* changed since it was read under the tool's lock: cannot happen */
		return http_problem(r, 412, "precondition-failed", "the version changed while you were changing it");
	if ((rc = kit_exec(r, &sql_tool_bump, r->params, 1, &bumped)) ||
	    (rc = kit_audit(r, "screening_tool.version.update", "screening_tool", r->params[0],
			    arena_printf(r->arena, "{\"version\":%s}", version_param(r->params[1])))))
		return rc;
	return kit_resource(r, 200, res, 0);
}

/* Publishes a draft: the version published before is superseded. */
static int versions_publish(struct sg_req *r)
{
	const char *vid;
	PGresult *res, *old, *bumped;
	int rc;

	if ((rc = tool_lock(r)) || (rc = version_load(r, &res)))
		return rc;
	if (strcmp(PQgetvalue(res, 0, 2), "draft"))
		return http_problem(
			r, 409, "conflict",
			arena_printf(r->arena, "the version is %s; only a draft is published", PQgetvalue(res, 0, 2)));
	vid = PQgetvalue(res, 0, 3);
	if ((rc = kit_exec(r, &sql_version_supersede, r->params, 1, &old)) ||
	    (rc = kit_fetch(r, &sql_version_publish, &vid, 1, "screening tool version", &res)) ||
	    (rc = kit_exec(r, &sql_tool_bump, r->params, 1, &bumped)) ||
	    (rc = kit_audit(r, "screening_tool.version.publish", "screening_tool", r->params[0],
			    arena_printf(r->arena, "{\"version\":%s,\"supersedes\":%s}", version_param(r->params[1]),
					 PQntuples(old) ? PQgetvalue(old, 0, 0) : "null"))))
		return rc;
	return kit_resource(r, 200, res, 0);
}

static const struct route screening_tools_route_list[] = {
	{"POST", "/v1/screening-tools", PERM_SCREENING_TOOL_PUBLISH, &tool_body, NULL, tools_create,
	 "screening_tools.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/screening-tools", PERM_SCREENING_TOOL_READ, NULL, &list_query, tools_list, "screening_tools.list",
	 0},
	{"GET", "/v1/screening-tools/{id}", PERM_SCREENING_TOOL_READ, NULL, NULL, tools_show, "screening_tools.show",
	 0},
	{"POST", "/v1/screening-tools/{id}/versions", PERM_SCREENING_TOOL_PUBLISH, &version_body, NULL, versions_create,
	 "screening_tools.versions.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/screening-tools/{id}/versions/{version}", PERM_SCREENING_TOOL_READ, NULL, NULL, versions_show,
	 "screening_tools.versions.show", 0},
	{"PATCH", "/v1/screening-tools/{id}/versions/{version}", PERM_SCREENING_TOOL_PUBLISH, &version_patch_body, NULL,
	 versions_update, "screening_tools.versions.update", ROUTE_PATCH},
	{"POST", "/v1/screening-tools/{id}/versions/{version}/publication", PERM_SCREENING_TOOL_PUBLISH, NULL, NULL,
	 versions_publish, "screening_tools.versions.publish", ROUTE_IDEMPOTENT},
};

const struct sg_area screening_tools_area = SG_AREA("screening_tools", screening_tools_route_list);
