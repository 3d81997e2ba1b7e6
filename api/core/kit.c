/*
 * kit.c - the steps every handler repeats (see kit.h): run a statement or
 * answer 503/500, fetch a row or answer 404, ETags, preconditions, audit
 * rows, keyset pages and PATCH merges.  Results are owned by the request's
 * arena, so no handler clears them on its error paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include "cursor.h"
#include "kit.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_child_exists, 1, "select safeguard.child_exists($1::uuid)");

DB_SQL(sql_child_visible, 1, "select exists (select 1 from safeguard.children where id = $1::uuid)");

/* (visible, writable): the row under the read policy, and the write rule (013) */
DB_SQL(sql_child_access, 1,
       "select exists (select 1 from safeguard.children where id = $1::uuid), safeguard.child_writable($1::uuid)");

DB_SQL(sql_audit_children, 2,
       "insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action,"
       " resource_type, resource_id, outcome) select current_setting('app.request_id'),"
       " current_setting('app.sub'), current_setting('app.agency'), $1, 'child', c::text, 'success'"
       " from (select distinct unnest($2::uuid[]) as c) ids");

/* ---- statements ---------------------------------------------------------- */

static void kit_pg_release(void *p)
{
	PQclear(p);
}

int kit_exec_constraint(struct sg_req *r, struct db_statement *st, const char *const *p, int n, PGresult **res,
			char sqlstate[6])
{
	char code[6];
	enum db_status ds = db_exec(st, p, n, res, code);

	if (ds == DB_OK) {
		arena_own(r->arena, *res, kit_pg_release);
		return 0;
	}
	if (sqlstate && ds == DB_ERROR && strncmp(code, "23", 2) == 0) {
		memcpy(sqlstate, code, sizeof code);
		return KIT_CONSTRAINT;
	}
	return http_db_fail(r, ds, st->name);
}

int kit_exec(struct sg_req *r, struct db_statement *st, const char *const *p, int n, PGresult **res)
{
	return kit_exec_constraint(r, st, p, n, res, NULL);
}

int kit_fetch(struct sg_req *r, struct db_statement *st, const char *const *p, int n, const char *what, PGresult **res)
{
	int rc = kit_exec(r, st, p, n, res);

	if (rc)
		return rc;
	return PQntuples(*res) > 0 ? 0 : http_not_found(r, what);
}

int kit_fetch_id(struct sg_req *r, struct db_statement *st, const char *id, const char *what, PGresult **res)
{
	const char *p[1] = {id};

	if (!id || !validate_uuid(id))
		return http_not_found(r, what);
	return kit_fetch(r, st, p, 1, what, res);
}

static int kit_check_true(struct sg_req *r, struct db_statement *st, const char *id, const char *what)
{
	PGresult *res;
	int rc = kit_fetch_id(r, st, id, what, &res);

	if (rc)
		return rc;
	return PQgetvalue(res, 0, 0)[0] == 't' ? 0 : http_not_found(r, what);
}

int kit_child_visible(struct sg_req *r, const char *id)
{
	return kit_check_true(r, &sql_child_visible, id, "child");
}

int kit_child_exists(struct sg_req *r, const char *id)
{
	return kit_check_true(r, &sql_child_exists, id, "child");
}

int kit_child_access(struct sg_req *r, const char *id, bool *visible, bool *writable)
{
	const char *p[1] = {id};
	PGresult *res;
	int rc;

	*visible = *writable = false;
	if (!id || !validate_uuid(id))
		return 0;
	if ((rc = kit_exec(r, &sql_child_access, p, 1, &res)))
		return rc;
	*visible = PQgetvalue(res, 0, 0)[0] == 't';
	*writable = *visible && PQgetvalue(res, 0, 1)[0] == 't';
	return 0;
}

int kit_child_writable(struct sg_req *r, const char *id)
{
	bool visible, writable;
	int rc = kit_child_access(r, id, &visible, &writable);

	if (rc)
		return rc;
	if (!visible)
		return http_not_found(r, "child");
	return writable ? 0 : http_problem(r, 403, "forbidden", KIT_CHILD_READ_ONLY);
}

/* ---- single resources ---------------------------------------------------- */

const char *kit_etag(struct sg_req *r, const char *version)
{
	return arena_printf(r->arena, "\"v%s\"", version);
}

/* "v<version>-<FNV-1a 64 of text>": a tag that is the representation's (a
 * collision would need the same version and 2^64 luck; it is no secret) */
static const char *kit_etag_of(struct sg_req *r, const char *version, const char *text)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		h = (h ^ *p) * 0x100000001b3u;
	return arena_printf(r->arena, "\"v%s-%016" PRIx64 "\"", version, h);
}

int kit_json_text(struct sg_req *r, int status, const char *text)
{
	size_t n = strlen(text);

	return http_body(r, status, "application/json", arena_strndup(r->arena, text, n), n);
}

int kit_resource(struct sg_req *r, int status, PGresult *res, int row)
{
	const char *text = PQgetvalue(res, row, 0);

	http_header(r, "ETag", kit_etag_of(r, PQgetvalue(res, row, 1), text));
	return kit_json_text(r, status, text);
}

int kit_show(struct sg_req *r, PGresult *res, int row)
{
	const char *text = PQgetvalue(res, row, 0);
	int rc = http_etag(r, kit_etag_of(r, PQgetvalue(res, row, 1), text));

	return rc ? rc : kit_json_text(r, 200, text);
}

int kit_if_match(struct sg_req *r, const char *version)
{
	return http_require_version(r, kit_etag(r, version));
}

/* ---- audit ----------------------------------------------------------------- */

int kit_audit(struct sg_req *r, const char *action, const char *type, const char *id, const char *details)
{
	enum db_status ds = db_audit(action, type, id, "success", details);

	return ds == DB_OK ? 0 : http_db_fail(r, ds, "audit write failed");
}

int kit_audit_children(struct sg_req *r, const char *action, const char *ids)
{
	const char *p[2] = {action, ids};
	PGresult *res;

	if (!ids || strcmp(ids, "{}") == 0)
		return 0;
	return kit_exec(r, &sql_audit_children, p, 2, &res);
}

/* ---- keyset pages ---------------------------------------------------------- */

static bool kit_key_ok(enum kit_key k, const char *s)
{
	size_t n = strlen(s);

	switch (k) {
	case KIT_KEY_TIMESTAMP:
		return validate_pg_timestamp(s);
	case KIT_KEY_UUID:
		return validate_uuid(s);
	case KIT_KEY_DATE:
		return validate_date(s);
	case KIT_KEY_TIME: /* HH:MM:SS as the database wrote it */
		return n == 8 && strspn(s, "0123456789:") == 8 && s[2] == ':' && s[5] == ':' &&
		       (s[0] - '0') * 10 + (s[1] - '0') <= 23 && (s[3] - '0') * 10 + (s[4] - '0') <= 59 &&
		       (s[6] - '0') * 10 + (s[7] - '0') <= 59;
	case KIT_KEY_INT: /* a bigint's digits */
		return n > 0 && n <= 18 && strspn(s, "0123456789") == n;
	}
	return false;
}

static int page_begin(struct sg_req *r, const char *limit, const char *cursor, const enum kit_key *keys, size_t nkeys,
		      bool sealed, struct kit_page *pg)
{
	memset(pg, 0, sizeof *pg);
	if (nkeys > sizeof pg->after / sizeof pg->after[0])
		abort(); /* a route's keys are fixed in code: a programmer error */
	/* the query spec has already bounded limit to 1..200 */
	pg->limit = limit ? strtol(limit, NULL, 10) : 50;
	pg->fetch = arena_printf(r->arena, "%ld", pg->limit + 1);
	pg->keys = keys;
	pg->nkeys = nkeys;
	pg->sealed = sealed;
	if (!cursor)
		return 0;
	if (!(sealed ? cursor_open : cursor_decode)(r->arena, cursor, pg->after, nkeys))
		goto bad;
	for (size_t i = 0; i < nkeys; i++)
		if (!kit_key_ok(keys[i], pg->after[i]))
			goto bad;
	return 0;
bad:
	memset(pg->after, 0, sizeof pg->after);
	return http_problem(r, 400, "invalid-cursor", "the cursor is not one this endpoint issued");
}

int kit_page_begin(struct sg_req *r, const char *limit, const char *cursor, const enum kit_key *keys, size_t nkeys,
		   struct kit_page *pg)
{
	return page_begin(r, limit, cursor, keys, nkeys, false, pg);
}

int kit_page_begin_sealed(struct sg_req *r, const char *limit, const char *cursor, const enum kit_key *keys,
			  size_t nkeys, struct kit_page *pg)
{
	return page_begin(r, limit, cursor, keys, nkeys, true, pg);
}

int kit_page_answer(struct sg_req *r, const struct kit_page *pg, PGresult *res, int json_col, int key_col)
{
	int n = PQntuples(res);
	const char *next = NULL;

	if (n > pg->limit) {
		const char *parts[4];
		int last = (int)pg->limit - 1;

		n = (int)pg->limit;
		for (size_t i = 0; i < pg->nkeys; i++)
			parts[i] = PQgetvalue(res, last, key_col + (int)i);
		next = (pg->sealed ? cursor_seal : cursor_encode)(r->arena, parts, pg->nkeys);
	}
	return http_list_rows(r, res, json_col, n, next);
}

/* The lowest value of a key's kind, for KIT_ARG_FROM's first page. */
static const char *kit_key_lowest(enum kit_key key)
{
	switch (key) {
	case KIT_KEY_TIMESTAMP:
	case KIT_KEY_DATE:
		return "-infinity";
	case KIT_KEY_UUID:
		return "00000000-0000-0000-0000-000000000000";
	default:
		abort(); /* a list's keys are fixed in code: a programmer error */
	}
}

int kit_list_fetch(struct sg_req *r, const struct kit_list *l, struct kit_page *pg, PGresult **res)
{
	const char *const *q = r->query.values;
	const char *p[16];
	int n = 0, rc;

	if ((rc = kit_page_begin(r, q[l->limit], q[l->cursor], l->keys, l->nkeys, pg)))
		return rc;
	for (size_t i = 0; i < l->nargs; i++) {
		if (n + (int)l->nkeys > (int)(sizeof p / sizeof p[0]))
			abort(); /* a list's parameters are fixed in code: a programmer error */
		switch (l->args[i]) {
		case KIT_ARG_AFTER:
			for (size_t k = 0; k < l->nkeys; k++)
				p[n++] = pg->after[k];
			break;
		case KIT_ARG_FROM:
			for (size_t k = 0; k < l->nkeys; k++)
				p[n++] = pg->after[k] ? pg->after[k] : kit_key_lowest(l->keys[k]);
			break;
		case KIT_ARG_FETCH:
			p[n++] = pg->fetch;
			break;
		case KIT_ARG_ID:
			p[n++] = r->params[0];
			break;
		default:
			if (l->args[i] < 0)
				abort();
			p[n++] = q[l->args[i]];
		}
	}
	if (n != l->stmt->nparams)
		abort();
	return kit_exec(r, l->stmt, p, n, res);
}

int kit_list(struct sg_req *r, const struct kit_list *l)
{
	struct kit_page pg;
	PGresult *res;
	int rc;

	if ((rc = kit_list_fetch(r, l, &pg, &res)))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

/* ---- PATCH ------------------------------------------------------------------ */

int kit_patch_merge(struct sg_req *r, const char *current_json, const struct body_spec *spec, json_t **merged)
{
	return kit_patch_merge_rule(r, current_json, spec, NULL, NULL, merged);
}

int kit_patch_merge_rule(struct sg_req *r, const char *current_json, const struct body_spec *spec, kit_patch_rule rule,
			 const void *ctx, json_t **merged)
{
	const struct body_spec *whole = spec->whole ? spec->whole : spec;
	struct verrs errs = {0}, merged_errs = {0};
	bool body_bad = r->body_errs != NULL;
	json_t *m = arena_json(r->arena, json_loads(current_json, 0, NULL)), *v;
	const char *key;
	void *tmp;

	if (!json_is_object(m))
		return http_internal(r, "stored record is not an object");
	/* keep only what the whole record holds (the patch's spec never lets a
	 * client send the rest: worker.c refused it), then apply the patch */
	for (size_t i = 0; whole->read_only && whole->read_only[i]; i++)
		json_object_del(m, whole->read_only[i]);
	json_object_foreach_safe(m, tmp, key, v) {
		bool known = false;

		for (size_t i = 0; i < whole->n && !known; i++)
			known = strcmp(whole->fields[i].name, key) == 0;
		if (!known || json_is_null(v))
			json_object_del(m, key);
	}
	json_object_foreach(r->body, key, v) {
		if (json_is_null(v))
			json_object_del(m, key);
		else
			json_object_set(m, key, v);
	}
	/* The body's own errors (the worker kept them for this): a field whose
	 * new value was malformed is left out, not judged by its old value, and
	 * the rules across fields run on the rest, so one answer names them all. */
	if (r->body_errs) {
		errs = *r->body_errs;
		for (size_t i = 0; i < errs.ninvalid; i++)
			json_object_del(m, errs.invalid[i]);
		merged_errs.ninvalid = errs.ninvalid;
		memcpy(merged_errs.invalid, errs.invalid, sizeof errs.invalid);
	}
	validate_body(whole, m, &merged_errs, r->arena);
	if (rule)
		rule(m, &merged_errs, r->arena, ctx);
	for (size_t i = 0; i < merged_errs.n; i++)
		if (!r->body_errs || !verrs_has(r->body_errs, merged_errs.items[i].field))
			verrs_add(&errs, merged_errs.items[i].field, merged_errs.items[i].code,
				  merged_errs.items[i].message);
	r->body_errs = NULL;
	if (errs.n)
		return http_problem_errors(
			r, 400, "validation-failed",
			body_bad ? "the body has invalid fields" : "the record would have invalid fields", &errs);
	*merged = m;
	return 0;
}

/* ---- bodies ------------------------------------------------------------------ */

const char *kit_str(json_t *o, const char *name)
{
	return json_string_value(json_object_get(o, name));
}

const char *kit_today(struct arena *a)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	return arena_printf(a, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

bool kit_time_zone(const char *zone, char *err, size_t errlen)
{
	size_t n = zone ? strlen(zone) : 0;
	char path[256], magic[4];
	FILE *f;
	bool ok;

	/* a name below the zone directory: letters, digits, _ + - and /, no
	 * dots (so no way out of it), not absolute */
	ok = n > 0 && n < 128 && zone[0] != '/' &&
	     strspn(zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") == n;
	if (ok) {
		snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone);
		/* a compiled zone file (not a directory, not the tables beside them) */
		f = fopen(path, "rb");
		ok = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
		if (f)
			fclose(f);
	}
	if (!ok) {
		snprintf(err, errlen,
			 "SG_TIME_ZONE must name a time zone under /usr/share/zoneinfo, such as Europe/London");
		return false;
	}
	if (setenv("TZ", zone, 1) != 0) {
		snprintf(err, errlen, "cannot set TZ");
		return false;
	}
	tzset();
	return true;
}

const char *kit_pg_array(struct arena *a, json_t *arr)
{
	size_t cap = 3, o = 1, i;
	json_t *v;
	char *out;

	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return NULL; /* only arrays of strings the field specs checked come here */
		cap += json_string_length(v) + 3;
	}
	out = arena_alloc(a, cap);
	out[0] = '{';
	json_array_foreach(arr, i, v) {
		/* only UUIDs and agency codes come here: no quoting needed beyond the quotes */
		o += (size_t)snprintf(out + o, cap - o, "%s\"%s\"", i ? "," : "", json_string_value(v));
	}
	snprintf(out + o, cap - o, "}");
	return out;
}
