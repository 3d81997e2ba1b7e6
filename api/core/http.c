/*
 * http.c - building responses.  Handlers call one of these and return its
 * status; the worker writes the result out once the transaction is settled.
 * Problem bodies follow RFC 9457 and never carry library or SQL text: the
 * reason for a 500 goes to the log, the client gets the request id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include "http.h"
#include "db.h"

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 409:
		return "Conflict";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 428:
		return "Precondition Required";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

bool http_request_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n >= 1 && n <= 64 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

const char *http_request_id_new(struct arena *a)
{
	static unsigned long serial;
	unsigned char b[16];
	char *hex = arena_alloc(a, 2 * sizeof b + 1);

	/* getrandom() only fails before the kernel's pool is ready or on a
	 * signal; an id need not be secret, only unlikely to repeat */
	if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
		unsigned long v[2] = {(unsigned long)time(NULL) ^ ((unsigned long)getpid() << 32), ++serial};

		memcpy(b, v, sizeof b);
	}
	for (size_t i = 0; i < sizeof b; i++)
		sprintf(hex + 2 * i, "%02x", b[i]);
	return hex;
}

void http_header(struct sg_req *r, const char *name, const char *value)
{
	if (r->nhdr >= SG_MAX_HEADERS)
		abort(); /* programmer error: raise SG_MAX_HEADERS */
	r->hdr_names[r->nhdr] = name;
	r->hdr_values[r->nhdr] = value;
	r->nhdr++;
}

int http_text(struct sg_req *r, int status, const char *ctype, const char *text, size_t n)
{
	r->status = status;
	r->content_type_out = ctype;
	r->body_out = arena_strndup(r->arena, text, n);
	r->body_out_len = n;
	return status;
}

int http_body(struct sg_req *r, int status, const char *ctype, char *body, size_t n)
{
	r->status = status;
	r->content_type_out = ctype;
	r->body_out = body;
	r->body_out_len = n;
	return status;
}

/* A 500 written by hand, for when a body could not be built (a NULL from
 * json_pack or json_loads, no memory): nothing here can fail in turn, so a
 * bad value in one answer costs that request, never the worker. */
static int http_json_failed(struct sg_req *r)
{
	const char *rid = r->request_id ? r->request_id : "";
	const char *body;

	if (!http_request_id_ok(rid))
		rid = ""; /* ids are A-Z a-z 0-9 . _ - (worker.c); nothing else is written into JSON by hand */
	log_error("internal error", "sss", "request_id", r->request_id, "route", r->route ? r->route->name : "-",
		  "reason", "response body could not be built");
	r->nhdr = 0;
	body = arena_printf(r->arena,
			    "{\"type\":\"/problems/internal\",\"title\":\"Internal Server Error\",\"status\":500,"
			    "\"detail\":\"the server could not complete the request; quote the request_id\","
			    "\"request_id\":\"%s\"}",
			    rid);
	return http_text(r, 500, "application/problem+json", body, strlen(body));
}

int http_json(struct sg_req *r, int status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc;

	json_decref(j);
	if (!s)
		return http_json_failed(r);
	rc = http_text(r, status, "application/json", s, strlen(s));
	free(s);
	return rc;
}

static json_t *problem_body(struct sg_req *r, int status, const char *slug, const char *detail)
{
	return json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", arena_printf(r->arena, "/problems/%s", slug), "title",
			 http_reason(status), "status", status, "detail", detail, "request_id",
			 r->request_id ? r->request_id : "");
}

/* Answers that a retry can cure say when to retry (Retry-After, seconds).
 * One table, so that no 503 or in-progress 409 can go out without it; a
 * handler that set its own Retry-After keeps it. */
/* clang-format off */
static const struct {
	int status;
	const char *slug; /* NULL: any problem with this status */
	const char *seconds;
} http_retry_rules[] = {
	{409, "idempotency-in-progress", "1"},
	{429, NULL, "1"},
	{502, NULL, "2"},
	{503, NULL, "2"},
	{504, NULL, "5"},
};
/* clang-format on */

static void retry_after(struct sg_req *r, int status, const char *slug)
{
	for (size_t i = 0; i < r->nhdr; i++)
		if (!strcmp(r->hdr_names[i], "Retry-After"))
			return;
	for (size_t i = 0; i < sizeof http_retry_rules / sizeof http_retry_rules[0]; i++)
		if (http_retry_rules[i].status == status &&
		    (!http_retry_rules[i].slug || !strcmp(http_retry_rules[i].slug, slug))) {
			http_header(r, "Retry-After", http_retry_rules[i].seconds);
			return;
		}
}

static int problem_send(struct sg_req *r, int status, json_t *body)
{
	int rc = http_json(r, status, body);

	r->content_type_out = "application/problem+json";
	return rc;
}

int http_problem(struct sg_req *r, int status, const char *slug, const char *detail)
{
	retry_after(r, status, slug);
	return problem_send(r, status, problem_body(r, status, slug, detail));
}

int http_problem_errors(struct sg_req *r, int status, const char *slug, const char *detail, const struct verrs *errs)
{
	json_t *body = problem_body(r, status, slug, detail);
	json_t *list = json_array();

	retry_after(r, status, slug);

	for (size_t i = 0; i < errs->n; i++) {
		/* a field named by the client may not be text: never drop the error */
		const char *field = errs->items[i].field;

		if (!utf8_valid(field, strlen(field)))
			field = "(not UTF-8)";
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "field", field, "code", errs->items[i].code,
						      "message", errs->items[i].message));
	}
	json_object_set_new(body, "errors", list);
	return problem_send(r, status, body);
}

int http_unavailable(struct sg_req *r)
{
	r->nhdr = 0; /* Retry-After: http_retry_rules */
	return http_problem(r, 503, "service-unavailable", "the service cannot reach its database; retry shortly");
}

int http_internal(struct sg_req *r, const char *why)
{
	log_error("internal error", "sss", "request_id", r->request_id, "route", r->route ? r->route->name : "-",
		  "reason", why);
	r->nhdr = 0;
	return http_problem(r, 500, "internal", "the server could not complete the request; quote the request_id");
}

/* The Link header for the next page: the same query with the cursor replaced. */
static void http_link_next(struct sg_req *r, const char *next_cursor)
{
	const char *qs = r->query_string ? r->query_string : "";
	char *out = arena_alloc(r->arena, strlen(qs) + strlen(next_cursor) + 16);
	size_t o = 0;

	while (*qs) {
		const char *amp = strchr(qs, '&');
		size_t len = amp ? (size_t)(amp - qs) : strlen(qs);

		if (len && strncmp(qs, "cursor=", 7) != 0) {
			if (o)
				out[o++] = '&';
			memcpy(out + o, qs, len);
			o += len;
		}
		if (!amp)
			break;
		qs = amp + 1;
	}
	sprintf(out + o, "%scursor=%s", o ? "&" : "", next_cursor);
	http_header(r, "Link", arena_printf(r->arena, "<%s?%s>; rel=\"next\"", r->path, out));
}

int http_list(struct sg_req *r, json_t *items, const char *next_cursor)
{
	json_t *body = json_pack("{s:o, s:o}", "items", items, "next_cursor",
				 next_cursor ? json_string(next_cursor) : json_null());

	if (next_cursor)
		http_link_next(r, next_cursor);
	return http_json(r, 200, body);
}

int http_list_rows(struct sg_req *r, PGresult *res, int col, int n, const char *next_cursor)
{
	return http_list_rows_more(r, res, col, n, next_cursor, NULL);
}

int http_list_rows_more(struct sg_req *r, PGresult *res, int col, int n, const char *next_cursor, const char *more)
{
	size_t len = 64 + (next_cursor ? strlen(next_cursor) : 0) + (more ? strlen(more) + 1 : 0), o = 0;
	char *body;

	for (int i = 0; i < n; i++)
		len += (size_t)PQgetlength(res, i, col) + 1;
	body = arena_alloc(r->arena, len);
	memcpy(body, "{\"items\":[", 10);
	o = 10;
	for (int i = 0; i < n; i++) {
		size_t l = (size_t)PQgetlength(res, i, col);

		if (i)
			body[o++] = ',';
		memcpy(body + o, PQgetvalue(res, i, col), l);
		o += l;
	}
	/* cursors are base64url behind a tag: nothing to escape */
	o += (size_t)snprintf(body + o, len - o, "],\"next_cursor\":%s%s%s%s%s}", next_cursor ? "\"" : "",
			      next_cursor ? next_cursor : "null", next_cursor ? "\"" : "", more ? "," : "",
			      more ? more : "");
	if (next_cursor)
		http_link_next(r, next_cursor);
	return http_body(r, 200, "application/json", body, o);
}

/* Does an If-Match / If-None-Match list contain etag (or "*")?  If-None-Match
 * compares weakly (W/"v1" matches "v1"), If-Match strongly (RFC 9110 13.1). */
/* Is etag in the If-(None-)Match field value?  RFC 9110: "*" alone, or a
 * list of entity-tags, each [W/] then an opaque part in double quotes that
 * may hold commas and asterisks, separated by commas and optional spaces or
 * tabs.  weak: W/ tags count (If-None-Match compares weakly, If-Match
 * strongly).  suffixed: etag is "v<version>" and a listed tag
 * "v<version>-<anything>" is it too.  A value that is not well formed
 * matches nothing: a guard read wrongly must fail closed. */
static bool etag_listed_as(const char *list, const char *etag, bool weak, bool suffixed)
{
	const char *want = etag + 1; /* its opaque part: without the quotes */
	size_t n = strlen(want) - 1;
	const char *p = list;
	bool found = false;

	if (!p)
		return false;
	p += strspn(p, " \t");
	if (*p == '*')
		return p[1 + strspn(p + 1, " \t")] == '\0';
	for (;;) {
		const char *open;
		bool is_weak = false;
		size_t len;

		p += strspn(p, " \t,");
		if (!*p)
			return found;
		if (p[0] == 'W' && p[1] == '/') {
			is_weak = true;
			p += 2;
		}
		if (*p != '"')
			return false;
		open = ++p;
		while (*p && *p != '"' && (unsigned char)*p > ' ' && *p != 0x7f)
			p++;
		if (*p != '"')
			return false;
		len = (size_t)(p++ - open);
		if ((weak || !is_weak) && len >= n && memcmp(open, want, n) == 0 &&
		    (len == n || (suffixed && open[n] == '-')))
			found = true;
		p += strspn(p, " \t");
		if (*p && *p != ',')
			return false;
	}
}

static bool etag_listed(const char *list, const char *etag, bool weak)
{
	return etag_listed_as(list, etag, weak, false);
}

int http_etag(struct sg_req *r, const char *etag)
{
	http_header(r, "ETag", etag);
	if (r->if_none_match && etag_listed(r->if_none_match, etag, true)) {
		r->status = 304;
		r->body_out = NULL;
		r->body_out_len = 0;
		r->content_type_out = NULL;
		return 304;
	}
	return 0;
}

int http_require_version(struct sg_req *r, const char *etag)
{
	if (!r->if_match)
		return http_problem(r, 428, "precondition-required",
				    "send If-Match with the ETag you last read, so that no change is lost");
	/* the current ETag comes with a 412, so that a client (whose earlier
	 * attempt may have been the change) can compare without another read */
	if (!etag_listed_as(r->if_match, etag, false, true)) {
		http_header(r, "ETag", etag);
		return http_problem(r, 412, "precondition-failed",
				    "the resource has changed since you read it; read it again and retry");
	}
	return 0;
}

int http_not_found(struct sg_req *r, const char *what)
{
	return http_problem(r, 404, "not-found",
			    arena_printf(r->arena, "there is no %s with this id that you may see", what));
}

int http_db_fail(struct sg_req *r, enum db_status ds, const char *what)
{
	if (ds == DB_UNAVAILABLE)
		return http_unavailable(r);
	if (ds == DB_REVOKED) /* the worker adds WWW-Authenticate when it settles */
		return http_problem(r, 401, "unauthorized", "token revoked");
	if (ds == DB_CONFLICT) {
		http_header(r, "Retry-After", "1");
		return http_problem(r, 503, "service-unavailable", "the request met a concurrent change; retry it");
	}
	return http_internal(r, what);
}
