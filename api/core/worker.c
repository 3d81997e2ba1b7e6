/*
 * worker.c - one request at a time: accept -> parse -> authenticate -> route
 * -> authorise -> validate -> one transaction -> JSON.  The arena is reset at
 * the top of the loop, so everything a request allocated is gone before the
 * next one starts.  SIGTERM lets the request in flight finish, then exits.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include "http.h"
#include "jsonx.h"
#include "pool.h"
#include "ratelimit.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

/* Idempotency keys belong to the token's issuer, agency and subject
 * together ($1 the issuer, $2 the key): the same sub and key from another
 * agency or issuer is another key, and never sees this one's answer. */
DB_SQL(sql_idem_lock, 2,
       "select pg_try_advisory_xact_lock(hashtextextended($1 || '|' || current_setting('app.agency') || '|'"
       " || current_setting('app.sub') || '|' || $2, 7))");

/* A key is kept SG_IDEMPOTENCY_TTL seconds ($3): older, it is no longer
 * there (so the same key is a new request), and the caller's expired keys
 * go in the same statement, before the answer may be stored again under
 * the same key.  now() is the transaction's time, the same for both. */
DB_SQL(sql_idem_get, 3,
       "with expired as (delete from safeguard.idempotency_keys where issuer = $1"
       " and agency = current_setting('app.agency') and sub = current_setting('app.sub')"
       " and created_at < now() - $3::bigint * interval '1 second')"
       " select request_hash, status, content_type, body, headers, audit::text, request_id"
       " from safeguard.idempotency_keys where issuer = $1 and agency = current_setting('app.agency')"
       " and sub = current_setting('app.sub') and key = $2 and created_at >= now() - $3::bigint * interval '1 second'");

/* The first answer, with the child audit rows its request wrote (read back
 * from this transaction), so that a replay is audited as well, and the
 * deployment's TTL ($8), below which no purge may take it (050). */
DB_SQL(sql_idem_put, 8,
       "insert into safeguard.idempotency_keys (issuer, agency, sub, key, request_hash, status, content_type, body,"
       " headers, keep_seconds, request_id, audit) values ($1, current_setting('app.agency'),"
       " current_setting('app.sub'), $2, $3, $4, $5, $6, $7, $8::bigint, current_setting('app.request_id'),"
       " coalesce((select jsonb_agg(jsonb_build_object('action',"
       " a.action, 'id', a.resource_id) order by a.occurred_at, a.id) from safeguard.audit_events a"
       " where a.occurred_at >= transaction_timestamp() and a.request_id = current_setting('app.request_id')"
       " and a.actor_sub = current_setting('app.sub') and a.resource_type = 'child'), '[]'::jsonb))");

/* A replayed answer about children is a read of their data, under the
 * caller's access now, not when it was stored: it answers the number of
 * those children the caller may no longer see (read under row-level
 * security, as their GET), and only when there are none writes one
 * child.read row for each child row the first answer wrote, marked as a
 * replay.  Each child is looked up by its key (a scalar subquery, run once
 * per child named): a NOT EXISTS here became a hash anti-join that read
 * every child of the register and evaluated its visibility. */
DB_SQL(sql_idem_replay_audit, 2,
       "with gone as (select 1 from jsonb_array_elements($1::jsonb) a where (select c.id from"
       " safeguard.children c where c.id = (a->>'id')::uuid) is null), audit as (insert into safeguard.audit_events"
       " (request_id, actor_sub, actor_agency, action, resource_type, resource_id, outcome, details)"
       " select current_setting('app.request_id'), current_setting('app.sub'), current_setting('app.agency'),"
       " 'child.read', 'child', a->>'id', 'success', jsonb_build_object('replay', true, 'original_request_id',"
       " $2::text, 'original_action', a->>'action') from jsonb_array_elements($1::jsonb) a"
       " where not exists (select 1 from gone)) select count(*) from gone");

static volatile sig_atomic_t worker_stop;

#define WORKER_AT_EXIT_MAX 4
static void (*worker_exit_fns[WORKER_AT_EXIT_MAX])(void);
static int worker_exit_n;

void worker_at_exit(void (*fn)(void))
{
	if (worker_exit_n < WORKER_AT_EXIT_MAX)
		worker_exit_fns[worker_exit_n++] = fn;
}
static struct pool_slot *worker_slot;

static void on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *param(FCGX_Request *f, const char *name)
{
	const char *v = FCGX_GetParam(name, f->envp);

	return v && *v ? v : NULL;
}

static bool is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (!ct || strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* Reads the body into the arena; false when it is larger than allowed. */
static bool read_body(struct sg_req *r, FCGX_Request *f)
{
	size_t cap = (size_t)sg_cfg.max_body, len = 0;
	char *buf;

	if (r->content_length > (long)cap)
		return false;
	buf = arena_alloc(r->arena, cap + 2);
	for (;;) {
		int n = FCGX_GetStr(buf + len, (int)(cap + 1 - len), f->in);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (len > cap)
			return false;
	}
	buf[len] = '\0';
	r->raw_body = buf;
	r->raw_body_len = len;
	return true;
}

static const char *idempotency_hash(struct sg_req *r)
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	char *hex = arena_alloc(r->arena, 2 * sizeof h + 1);

	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) || !EVP_DigestUpdate(c, r->method, strlen(r->method)) ||
	    !EVP_DigestUpdate(c, " ", 1) || !EVP_DigestUpdate(c, r->path, strlen(r->path)) ||
	    !EVP_DigestUpdate(c, "\n", 1) || (r->raw_body && !EVP_DigestUpdate(c, r->raw_body, r->raw_body_len)) ||
	    !EVP_DigestFinal_ex(c, h, NULL))
		abort();
	EVP_MD_CTX_free(c);
	for (size_t i = 0; i < sizeof h; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	return hex;
}

static bool idempotency_key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.' || c == ':'))
			return false;
	}
	return true;
}

static void pg_release(void *res)
{
	PQclear(res);
}

/* A stored status: a 2xx written by idempotency_store, else 0. */
static int stored_status(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= 200 && v <= 299 ? (int)v : 0;
}

/* Before the handler: 0 to run it, or the status of a replay or refusal. */
static int idempotency_before(struct sg_req *r, const char **hash)
{
	const char *p[3] = {r->id.iss, r->idempotency_key, arena_printf(r->arena, "%ld", sg_cfg.idempotency_ttl)};
	PGresult *res;
	enum db_status ds;
	int status;

	*hash = idempotency_hash(r);
	ds = db_exec(&sql_idem_lock, p, 2, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "idempotency lock failed");
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		PQclear(res);
		return http_problem(r, 409, "idempotency-in-progress",
				    "a request with this Idempotency-Key is still being processed; retry shortly");
	}
	PQclear(res);
	ds = db_exec(&sql_idem_get, p, 3, &res, NULL);
	if (ds != DB_OK)
		return http_db_fail(r, ds, "idempotency lookup failed");
	arena_own(r->arena, res, pg_release);
	if (PQntuples(res) == 0)
		return 0;
	if (strcmp(PQgetvalue(res, 0, 0), *hash) != 0)
		return http_problem(r, 422, "idempotency-key-reuse",
				    "this Idempotency-Key was used for a different request; use a new key");
	if (!(status = stored_status(PQgetvalue(res, 0, 1))))
		return http_internal(r, "stored idempotent status is not a 2xx");
	/* the replay shows the children's data again: audited like the first
	 * time, and only to a caller who may still see every one of them (one
	 * who lost access is told what the request itself would tell it now) */
	if (strcmp(PQgetvalue(res, 0, 5), "[]") != 0) {
		const char *ap[2] = {PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 6)};
		PGresult *ares;
		bool gone;

		ds = db_exec(&sql_idem_replay_audit, ap, 2, &ares, NULL);
		gone = ds == DB_OK && strcmp(PQgetvalue(ares, 0, 0), "0") != 0;
		PQclear(ares);
		if (ds != DB_OK)
			return http_db_fail(r, ds, "replay audit failed");
		if (gone)
			return http_not_found(r, "record");
	}
	http_text(r, status, arena_strdup(r->arena, PQgetvalue(res, 0, 2)), PQgetvalue(res, 0, 3),
		  (size_t)PQgetlength(res, 0, 3));
	/* the headers that were stored with the answer: "Name: value" lines */
	for (char *line = arena_strdup(r->arena, PQgetvalue(res, 0, 4)), *next; line && *line; line = next) {
		char *colon = strstr(line, ": ");

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (colon) {
			*colon = '\0';
			http_header(r, line, colon + 2);
		}
	}
	http_header(r, "Idempotent-Replayed", "true");
	return status;
}

static bool idempotency_store(struct sg_req *r, const char *hash)
{
	char status[8];
	const char *p[8] = {r->id.iss,
			    r->idempotency_key,
			    hash,
			    status,
			    r->content_type_out,
			    r->body_out ? r->body_out : "",
			    "",
			    arena_printf(r->arena, "%ld", sg_cfg.idempotency_ttl)};
	PGresult *res;
	bool ok;

	snprintf(status, sizeof status, "%d", r->status);
	for (size_t i = 0; i < r->nhdr; i++)
		if (!strcmp(r->hdr_names[i], "ETag") || !strcmp(r->hdr_names[i], "Location"))
			p[6] = arena_printf(r->arena, "%s%s: %s\n", p[6], r->hdr_names[i], r->hdr_values[i]);
	ok = db_exec(&sql_idem_put, p, 8, &res, NULL) == DB_OK;
	PQclear(res);
	return ok;
}

static int unauthorized(struct sg_req *r, enum auth_result ar, const char *why)
{
	if (ar == AUTH_MISSING) {
		http_header(r, "WWW-Authenticate", "Bearer realm=\"safeguard\"");
		return http_problem(r, 401, "unauthorized", "a bearer token is required");
	}
	http_header(r, "WWW-Authenticate",
		    arena_printf(r->arena,
				 "Bearer realm=\"safeguard\", error=\"invalid_token\", error_description=\"%s\"", why));
	return http_problem(r, 401, "unauthorized", why);
}

/* Everything between the parsed request and the handler's answer. */
static int dispatch(struct sg_req *r, FCGX_Request *f)
{
	const char *allow = NULL, *why = NULL, *idem_hash = NULL;
	struct verrs errs = {0};
	enum router_result rr;
	enum auth_result ar;
	bool idem;
	int status;

	rr = router_match(r->arena, r->method, r->path, &r->route, &r->route_index, r->params, &allow);
	if (rr == ROUTER_NOT_FOUND)
		return http_problem(r, 404, "not-found", "there is no resource at this path");
	if (rr == ROUTER_BAD_METHOD) {
		http_header(r, "Allow", allow);
		return http_problem(r, 405, "method-not-allowed",
				    arena_printf(r->arena, "this resource answers %s", allow));
	}
	worker_slot->route[0] = '\0';
	strncat(worker_slot->route, r->route->name, sizeof worker_slot->route - 1);

	if (r->route->perm != PERM_PUBLIC) {
		ar = auth_verify(r->authorization, time(NULL), &r->id, &why);
		if (ar != AUTH_OK)
			return unauthorized(r, ar, why);
		r->authenticated = true;
		/* charged only now: a token nobody has verified spends nobody's allowance */
		if ((status = ratelimit_check(r)))
			return status;
		if (!access_allows(r->route->perm, &r->id))
			return http_problem(r, 403, "forbidden", "your role may not use this resource");
	}

	if (r->route->body) {
		/* strings are capped here in characters, as the field specs
		 * count them, at twice the longest a spec allows: a string over
		 * its field's length is answered by the specs, naming the field,
		 * whatever its script; the body's size caps memory */
		const struct json_limits lim = {.max_depth = 32, .max_chars = 2 * VALIDATE_MAX_CHARS};
		json_t *body;

		if (!is_json_type(r->content_type))
			return http_problem(r, 415, "unsupported-media-type", "send the body as application/json");
		if (!read_body(r, f))
			return http_problem(
				r, 413, "payload-too-large",
				arena_printf(r->arena, "the body may be at most %ld bytes", sg_cfg.max_body));
		body = jsonx_parse(r->raw_body, r->raw_body_len, &lim, &why);
		if (!body)
			return http_problem(r, 400, "invalid-json", why);
		r->body = arena_json(r->arena, body);
		if (r->route->flags & ROUTE_PATCH)
			validate_patch(r->route->body, r->body, &errs, r->arena);
		else
			validate_body(r->route->body, r->body, &errs, r->arena);
		if (errs.n && (r->route->flags & ROUTE_PATCH) && r->route->body->patch_merged &&
		    json_is_object(r->body)) {
			/* answered with the merged record's errors, all at once */
			struct verrs *later = arena_alloc(r->arena, sizeof *later);

			*later = errs;
			r->body_errs = later;
			errs = (struct verrs){0};
		}
		if (errs.n)
			return http_problem_errors(r, 400, "validation-failed", "the body has invalid fields", &errs);
	}
	query_parse(r->route->query, r->query_string, &r->query, &errs, r->arena);
	if (errs.n)
		return http_problem_errors(r, 400, "invalid-query", "the query has invalid parameters", &errs);

	if (r->idempotency_key && route_keyed(r->route) && !idempotency_key_ok(r->idempotency_key)) {
		verrs_add(&errs, "Idempotency-Key", "invalid_format",
			  "must be 1-200 characters of A-Z a-z 0-9 - _ . :");
		return http_problem_errors(r, 400, "validation-failed", "the Idempotency-Key header is invalid", &errs);
	}

	if (r->route->flags & ROUTE_NO_DB)
		return r->route->handler(r);

	/* BEGIN and the identity travel with the first statement (db.c), and
	 * so does COMMIT on a one-statement route; not when an idempotency
	 * key adds its own statements before and after the handler's */
	idem = r->idempotency_key && route_keyed(r->route);
	switch (db_begin(&r->id, r->request_id, (r->route->flags & ROUTE_ONE_STATEMENT) && !idem)) {
	case DB_OK:
		break;
	case DB_UNAVAILABLE:
		return http_unavailable(r);
	default:
		return http_internal(r, "cannot open a transaction");
	}
	r->db_open = true;
	if (idem) {
		status = idempotency_before(r, &idem_hash);
		if (status)
			return status;
	}
	status = r->route->handler(r);
	/* a handler that took a body with errors without kit_patch_merge: never
	 * let such a write stand */
	if (r->body_errs && status < 400)
		return http_internal(r, "a patch with invalid fields was not refused");
	if (idem_hash && status >= 200 && status < 300 && !idempotency_store(r, idem_hash))
		return db_connected() ? http_internal(r, "cannot store the idempotent response") : http_unavailable(r);
	return status;
}

/* Settles the transaction: commit on success, roll back otherwise. */
static void settle(struct sg_req *r)
{
	if (!r->db_open)
		return;
	if (r->status < 400 || r->commit_error) {
		enum db_status ds = db_commit();

		if (ds != DB_OK) {
			r->nhdr = 0;
			if (ds == DB_UNAVAILABLE)
				http_unavailable(r);
			else
				http_internal(r, "commit failed");
		}
	} else {
		db_rollback();
	}
	r->db_open = false;
	/* a revoked token is found out with the first statement, which it never
	 * runs, or at the commit: whatever the handler answered, it is a 401 */
	if (db_revoked()) {
		r->nhdr = 0;
		unauthorized(r, AUTH_INVALID, "token revoked");
	}
}

/* A body this long or longer goes out in FastCGI records of up to 64 KB
 * written here, rather than through libfcgi's stream, whose buffer cuts it
 * into 8 KB records: a 1.4 MB timeline was 175 writes by the worker and as
 * many reads by nginx, and is 22 each now. */
#define RESPOND_LARGE 32768
#define RESPOND_RECORD 65528 /* the largest record content that is a multiple of 8 */

/* Writes body (n bytes) to the request's connection as stdout records,
 * after whatever libfcgi holds; libfcgi then ends the stream and the
 * request as usual.  A write that fails (nginx gave up on the client) ends
 * the body there: libfcgi's own writes fail the same way and the worker
 * goes on to the next request. */
static void respond_records(FCGX_Request *f, const char *body, size_t n)
{
	if (FCGX_FFlush(f->out) != 0)
		return;
	while (n > 0) {
		size_t len = n < RESPOND_RECORD ? n : RESPOND_RECORD;
		unsigned char h[8] = {FCGI_VERSION_1,
				      FCGI_STDOUT,
				      (unsigned char)(f->requestId >> 8),
				      (unsigned char)f->requestId,
				      (unsigned char)(len >> 8),
				      (unsigned char)len,
				      0,
				      0};
		struct iovec iov[2] = {{h, sizeof h}, {(void *)body, len}};
		int cnt = 2;

		/* a record is written whole: after a short write, the rest of it */
		while (cnt > 0) {
			ssize_t w = writev(f->ipcFd, iov, cnt);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			while (cnt > 0 && (size_t)w >= iov[0].iov_len) {
				w -= (ssize_t)iov[0].iov_len;
				iov[0] = iov[1];
				cnt--;
			}
			if (cnt > 0) {
				iov[0].iov_base = (char *)iov[0].iov_base + w;
				iov[0].iov_len -= (size_t)w;
			}
		}
		body += len;
		n -= len;
	}
}

/* Writes the answer.  Headers are formatted here with snprintf: libfcgi's
 * own printf knows too few conversions to be trusted with them. */
static void respond(struct sg_req *r, FCGX_Request *f)
{
	char head[8192];
	size_t o = 0;

#define HEAD(...)                                                                                                      \
	do {                                                                                                           \
		int w_ = snprintf(head + o, sizeof head - o, __VA_ARGS__);                                             \
		if (w_ > 0 && (size_t)w_ < sizeof head - o)                                                            \
			o += (size_t)w_;                                                                               \
	} while (0)

	HEAD("Status: %d %s\r\n", r->status, http_reason(r->status));
	if (r->request_id)
		HEAD("X-Request-Id: %s\r\n", r->request_id);
	HEAD("Cache-Control: no-store\r\n");
	for (size_t i = 0; i < r->nhdr; i++)
		HEAD("%s: %s\r\n", r->hdr_names[i], r->hdr_values[i]);
	if (r->status != 304 && r->body_out)
		HEAD("Content-Type: %s\r\nContent-Length: %zu\r\n",
		     r->content_type_out ? r->content_type_out : "application/json", r->body_out_len);
	HEAD("\r\n");
#undef HEAD
	FCGX_PutStr(head, (int)o, f->out);
	/* HEAD: the same status and headers as GET, Content-Length included */
	if (r->status == 304 || !r->body_out || strcmp(r->method, "HEAD") == 0)
		return;
	if (r->body_out_len >= RESPOND_LARGE)
		respond_records(f, r->body_out, r->body_out_len);
	else
		FCGX_PutStr(r->body_out, (int)r->body_out_len, f->out);
}

/* Stored answers of Idempotency-Keys can hold a child's personal data:
 * once older than the TTL they go, whoever's they are, a few hundred at a
 * time (025); never before the retention stored with each (050), at most every five minutes per worker and only when it is
 * idle or has just answered, so nobody waits on it.  A caller's own expired
 * keys also go with its next keyed request (sql_idem_get).  The statement
 * holds only the configured TTL, never request text. */
static void worker_purge(void)
{
	static int64_t due_us;
	int64_t now = now_us();
	char sql[96];

	if (now < due_us || !db_connected())
		return;
	due_us = now + 300 * 1000000LL;
	snprintf(sql, sizeof sql, "call safeguard.idempotency_purge(%ld, 500)", sg_cfg.idempotency_ttl);
	if (db_command(sql) != DB_OK)
		log_warn("expired idempotency answers not purged", "s", "reason", "statement failed");
}

static void handle(struct arena *a, FCGX_Request *f)
{
	struct sg_req r = {0};
	const char *cl, *q;
	int64_t start = now_us();

	r.arena = a;
	r.route_index = -1;
	r.method = param(f, "REQUEST_METHOD");
	r.path = param(f, "DOCUMENT_URI");
	r.query_string = param(f, "QUERY_STRING");
	/* nginx passes the client's X-Request-Id when well-formed, else its own
	 * id; anything else (or none) gets a fresh one here */
	r.request_id = param(f, "REQUEST_ID");
	if (!http_request_id_ok(r.request_id))
		r.request_id = http_request_id_new(a);
	r.content_type = param(f, "CONTENT_TYPE");
	r.authorization = param(f, "HTTP_AUTHORIZATION");
	r.accept = param(f, "HTTP_ACCEPT");
	r.if_match = param(f, "HTTP_IF_MATCH");
	r.if_none_match = param(f, "HTTP_IF_NONE_MATCH");
	r.idempotency_key = param(f, "HTTP_IDEMPOTENCY_KEY");
	cl = param(f, "CONTENT_LENGTH");
	r.content_length = cl ? strtol(cl, NULL, 10) : -1;
	if (!r.path) {
		const char *uri = param(f, "REQUEST_URI");

		r.path = uri ? arena_strndup(a, uri, (q = strchr(uri, '?')) ? (size_t)(q - uri) : strlen(uri)) : "/";
	}
	if (!r.method)
		r.method = "GET";

	worker_slot->started_ms = sg_now_ms();
	r.status = dispatch(&r, f);
	settle(&r);
	respond(&r, f);
	worker_slot->started_ms = 0;
	worker_slot->served++;

	metrics_record(r.route_index, r.status, now_us() - start);
	log_info("request", "sssisil", "request_id", r.request_id, "method", r.method, "route",
		 r.route ? r.route->name : "unmatched", "status", r.status, "agency",
		 r.authenticated ? sg_agency_names[r.id.agency] : NULL, "worker", (int)getpid(), "duration_us",
		 (long long)(now_us() - start));
}

void worker_main(int slot, int listen_fd)
{
	struct sigaction sa = {0};
	FCGX_Request f;
	struct arena *a;
	pid_t master = getppid();

	worker_slot = &sg_shm->slots[slot];
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: poll() returns EINTR */
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (!pool_drop_privileges()) {
		log_error("cannot drop privileges", "s", "user", sg_cfg.user);
		_exit(2);
	}
	/* Large answers (a consolidated timeline runs to megabytes) reuse heap
	 * memory from one request to the next instead of mapping and faulting
	 * in fresh pages every time. */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
	a = arena_new();
	db_configure(&sg_cfg.db);
	db_ensure(); /* a failure here is not fatal: requests answer 503 until it returns */
	FCGX_InitRequest(&f, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);

	for (unsigned long served = 0; !worker_stop;) {
		struct pollfd p = {.fd = listen_fd, .events = POLLIN};

		arena_reset(a);
		if (getppid() != master)
			break;
		if (poll(&p, 1, 1000) <= 0) {
			worker_purge();
			continue;
		}
		if (worker_stop)
			break;
		if (FCGX_Accept_r(&f) < 0)
			continue; /* another worker took it */
		handle(a, &f);
		FCGX_Finish_r(&f);
		worker_purge();
		if (sg_cfg.max_requests > 0 && ++served >= (unsigned long)sg_cfg.max_requests)
			break;
	}
	FCGX_Free(&f, 0);
	db_disconnect();
	arena_free(a);
	while (worker_exit_n > 0)
		worker_exit_fns[--worker_exit_n]();
	_exit(0);
}
