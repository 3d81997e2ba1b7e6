/*
 * http.h - a request as a worker sees it, the response it builds, and the
 * route table rows that tie a method and path to a handler.
 */
#ifndef SG_HTTP_H
#define SG_HTTP_H

#include "sg.h"
#include "query.h"
#include "validate.h"

struct sg_req;
typedef int (*sg_handler)(struct sg_req *r);

enum route_flags {
	ROUTE_NO_DB = 1,         /* answers without a database transaction */
	ROUTE_IDEMPOTENT = 2,    /* POST honouring Idempotency-Key (every PATCH does: route_keyed) */
	ROUTE_PATCH = 4,         /* the body is validated as a partial update */
	ROUTE_ONE_STATEMENT = 8, /* runs exactly one statement: it commits in the same round trip */
};

struct route;
/* Whether a route honours Idempotency-Key: a POST that opts in with
 * ROUTE_IDEMPOTENT, and every PATCH, so that a change retried after a lost
 * answer replays that answer instead of meeting its own new ETag (412). */
bool route_keyed(const struct route *rt);

struct route {
	const char *method;
	const char *pattern; /* "/v1/children/{id}" */
	enum sg_perm perm;
	const struct body_spec *body;   /* NULL: no body allowed */
	const struct query_spec *query; /* NULL: no query parameters allowed */
	sg_handler handler;
	const char *name; /* stable route name for logs and metrics */
	unsigned flags;
};

/* An area's part of the API: its route table.  Each area's file ends with
 *	const struct sg_area children_area = SG_AREA("children", children_route_list);
 * and areas.c lists them all. */
struct sg_area {
	const char *name;
	const struct route *routes;
	size_t n;
};
#define SG_AREA(name, list)                                                                                            \
	{                                                                                                              \
		name, list, sizeof list / sizeof list[0]                                                               \
	}
extern const struct sg_area *const sg_areas[]; /* NULL-terminated, areas.c */

#define SG_MAX_PARAMS 4
#define SG_MAX_HEADERS 12

struct sg_req {
	struct arena *arena;
	/* from FastCGI params */
	const char *method, *path, *query_string, *request_id;
	const char *content_type, *authorization, *accept;
	const char *if_match, *if_none_match, *idempotency_key;
	long content_length;  /* -1 when absent */
	const char *raw_body; /* NUL-terminated; NULL when none */
	size_t raw_body_len;
	/* from the router and auth */
	const struct route *route;
	int route_index;
	const char *params[SG_MAX_PARAMS];
	struct sg_identity id;
	bool authenticated;
	json_t *body; /* borrowed, owned by the arena */
	/* a PATCH body's field errors, answered by kit_patch_merge together with
	 * the merged record's (the route's body spec is patch_merged) */
	const struct verrs *body_errs;
	struct query query;
	/* the response */
	int status;
	const char *content_type_out;
	char *body_out; /* arena string */
	size_t body_out_len;
	const char *hdr_names[SG_MAX_HEADERS];
	const char *hdr_values[SG_MAX_HEADERS];
	size_t nhdr;
	/* audit context */
	bool db_open;
	/* the answer is an error, yet the transaction is committed: an answer
	 * that told the caller of a record it may not see keeps that audit row
	 * (a handler sets it only when nothing else was written) */
	bool commit_error;
};

/* Response helpers: each returns the status so handlers can `return`. */
void http_header(struct sg_req *r, const char *name, const char *value);
/* Serialises j (steals it) as the body with status. */
int http_json(struct sg_req *r, int status, json_t *j);
int http_text(struct sg_req *r, int status, const char *ctype, const char *text, size_t n);
/* The same without a copy: body must be an arena buffer. */
int http_body(struct sg_req *r, int status, const char *ctype, char *body, size_t n);
int http_problem(struct sg_req *r, int status, const char *slug, const char *detail);
int http_problem_errors(struct sg_req *r, int status, const char *slug, const char *detail, const struct verrs *errs);
/* 503 with Retry-After: the database cannot be reached */
int http_unavailable(struct sg_req *r);
/* 500; the reason goes to the log only */
int http_internal(struct sg_req *r, const char *why);
const char *http_reason(int status);
/* A request id the API keeps and echoes: 1-64 characters of A-Z a-z 0-9 . _ -
 * (a client's X-Request-Id, or nginx's own 32 hex digits). */
bool http_request_id_ok(const char *id);
/* A fresh request id: 32 random hex digits (arena string). */
const char *http_request_id_new(struct arena *a);
/* Adds a list envelope {items, next_cursor} and the Link header. Steals items. */
int http_list(struct sg_req *r, json_t *items, const char *next_cursor);
/* The same from JSON texts in column col of the first n rows, passed through
 * without parsing (they come from the database's own JSON functions). */
struct pg_result;
int http_list_rows(struct sg_req *r, struct pg_result *res, int col, int n, const char *next_cursor);
/* The same with more members after next_cursor: more is their JSON text
 * ("name":value,...), well-formed by the caller; NULL for none. */
int http_list_rows_more(struct sg_req *r, struct pg_result *res, int col, int n, const char *next_cursor,
			const char *more);
/* ETag handling for a single resource: sets ETag, answers 304 when it matches
 * If-None-Match.  Returns 0 to continue, 304 otherwise. */
int http_etag(struct sg_req *r, const char *etag);
/* PATCH/DELETE: 428 without If-Match, 412 when stale; 0 to continue.  etag
 * is "v<version>", met by any strong tag listed that is it or it with a
 * suffix "-<digest>" (the tags kit gives a representation). */
int http_require_version(struct sg_req *r, const char *etag);

/* Shared answers of the resources: 404 for a record the caller may not see
 * (what: "child"); a failed statement as 503 or 500; an audit row in the
 * request's transaction (0, or the failure's answer); a one-boolean
 * statement on an id (0 when true, else 404 or the failure's answer). */
enum db_status;
int http_not_found(struct sg_req *r, const char *what);
int http_db_fail(struct sg_req *r, enum db_status ds, const char *what);
int http_audit(struct sg_req *r, const char *action, const char *type, const char *id, const char *details);
int http_check_exists(struct sg_req *r, int stmt, const char *id, const char *what);

/* audit.c: a page of the audit trail, shared by the routes that show it */
struct audit_filter {
	const char *actor, *agency, *action, *resource_type, *resource_id, *from, *to;
	bool access_log; /* a child's access log: every event about the child, each marked
			    by whether its actor read through a self-declared involvement */
};
int audit_list_page(struct sg_req *r, const struct audit_filter *f, const char *limit_s, const char *cursor,
		    const char *read_action, const char *read_type, const char *read_id);

/* router.c */
size_t router_count(void);
const struct route *router_at(size_t i);
enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };
/* On ROUTER_BAD_METHOD, allow receives "GET, POST" (arena string). */
enum router_result router_match(struct arena *a, const char *method, const char *path, const struct route **out,
				int *index, const char **params, const char **allow);
void router_print(void);

#endif
