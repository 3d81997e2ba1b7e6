/*
 * db.c - the worker's PostgreSQL connection.  It is opened at start and
 * again after it is lost; each statement is prepared on it the first time it
 * runs there (db_exec), so the areas own their SQL.  Connecting never waits longer than the configured
 * deadline, so a request meets an unreachable database with a quick 503
 * rather than a hang.  Server error text stays in the log.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "db.h"
#include "schema.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

/* The caller's identity for row-level security (app.sub, app.agency,
 * app.roles, app.request_id and app.email), and the revocation check: it
 * fails with SQLSTATE SGREV for a revoked token (migrations 012 and 024). */
DB_SQL(sql_identity, 6, "select safeguard.begin_request($1, $2, $3, $4, $5, $6)");

DB_SQL(sql_audit_insert, 5,
       "insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action,"
       " resource_type, resource_id, outcome, details) values (current_setting('app.request_id'),"
       " current_setting('app.sub'), current_setting('app.agency'), $1, $2, $3, $4,"
       " coalesce($5::jsonb, '{}'::jsonb))");

static struct db_config db_cfg;
static PGconn *db_conn;
/* bumped on every new connection: statements prepared on an older one are
 * prepared again */
static unsigned db_generation;
static unsigned db_next_id;
static int64_t db_last_failure_ms;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void db_configure(const struct db_config *c)
{
	db_cfg = *c;
}

bool db_connected(void)
{
	return db_conn && PQstatus(db_conn) == CONNECTION_OK;
}

void db_disconnect(void)
{
	if (db_conn)
		PQfinish(db_conn);
	db_conn = NULL;
}

/* Prepares s on this connection unless it already is. */
static bool db_prepare(struct db_statement *s)
{
	char name[16];
	PGresult *res;
	bool ok;

	if (s->prepared_gen == db_generation && s->prepared_id)
		return true;
	s->prepared_id = ++db_next_id;
	snprintf(name, sizeof name, "s%u", s->prepared_id);
	res = PQprepare(db_conn, name, s->sql, s->nparams, NULL);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		log_error("cannot prepare a statement", "ss", "statement", s->name, "sqlstate",
			  PQresultErrorField(res, PG_DIAG_SQLSTATE) ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "");
	PQclear(res);
	if (ok)
		s->prepared_gen = db_generation;
	return ok;
}

/* Waits for the socket in the direction libpq asks, until the deadline. */
static bool db_wait(PostgresPollingStatusType want, int64_t deadline)
{
	struct pollfd p = {.fd = PQsocket(db_conn), .events = want == PGRES_POLLING_READING ? POLLIN : POLLOUT};
	int64_t left = deadline - now_ms();

	if (p.fd < 0 || left <= 0)
		return false;
	return poll(&p, 1, (int)left) > 0;
}

bool db_ensure(void)
{
	/* UTC sessions: timestamps in cursors and bodies have one text form */
	const char *keys[7] = {"dbname", "application_name", "options", NULL, NULL, NULL, NULL};
	/* the worker's pid in the session's name: pg_stat_activity tells which
	 * worker holds which backend, over a unix socket too */
	char appname[32];
	const char *vals[7] = {db_cfg.url, appname, "-c TimeZone=UTC", NULL, NULL, NULL, NULL};
	int k = 3;
	int64_t start = now_ms(), deadline = start + db_cfg.connect_timeout_ms;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	if (db_connected())
		return true;
	db_disconnect();
	snprintf(appname, sizeof appname, "safeguard-api/%d", (int)getpid());
	/* after a failure, do not hammer the server: fail fast for a moment */
	if (db_last_failure_ms && start - db_last_failure_ms < 100)
		return false;
	if (db_cfg.user && *db_cfg.user) {
		keys[k] = "user";
		vals[k++] = db_cfg.user;
	}
	if (db_cfg.password && *db_cfg.password) {
		keys[k] = "password";
		vals[k++] = db_cfg.password;
	}
	db_conn = PQconnectStartParams(keys, vals, 1);
	if (!db_conn || PQstatus(db_conn) == CONNECTION_BAD)
		goto fail;
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED || !db_wait(st, deadline))
			goto fail;
		st = PQconnectPoll(db_conn);
	}
	db_generation++;
	/* the identity statement runs pipelined with BEGIN: prepare it now */
	if (!db_prepare(&sql_identity))
		goto fail;
	db_last_failure_ms = 0;
	log_info("database connected", "i", "ms", (int)(now_ms() - start));
	return true;
fail:
	log_warn("database unreachable", "s", "reason", db_conn ? PQerrorMessage(db_conn) : "out of memory");
	db_disconnect();
	db_last_failure_ms = now_ms();
	return false;
}

/* Classifies a failed result; logs what the client never sees. */
static enum db_status db_failure(PGresult *res, char *sqlstate)
{
	const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (sqlstate)
		snprintf(sqlstate, 6, "%s", code ? code : "");
	if (!db_conn || PQstatus(db_conn) != CONNECTION_OK || !code || strncmp(code, "08", 2) == 0 ||
	    strncmp(code, "57P", 3) == 0) {
		log_warn("database connection lost", "s", "reason", db_conn ? PQerrorMessage(db_conn) : "");
		db_disconnect();
		return DB_UNAVAILABLE;
	}
	if (!strcmp(code, "40001") || !strcmp(code, "40P01"))
		return DB_CONFLICT;
	return DB_ERROR;
}

enum db_status db_command(const char *sql)
{
	PGresult *res;
	enum db_status ds = DB_OK;

	if (!db_connected())
		return DB_UNAVAILABLE;
	res = PQexec(db_conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		ds = db_failure(res, NULL);
	PQclear(res);
	return ds;
}

/*
 * The request's transaction.  db_begin only records the identity: BEGIN,
 * the identity statement and the request's first statement then travel in
 * one flight (libpq's pipeline mode), and for a route that runs a single
 * statement the COMMIT travels with them too, so a read is one round trip.
 * A revoked token fails the identity statement, which aborts the rest of the
 * flight: its statement never runs.
 */
static struct {
	bool pending;          /* BEGIN and the identity not sent yet */
	bool commit_with_next; /* the next statement carries the COMMIT */
	bool committed;        /* it did: no statement may follow */
	bool revoked;
	const char *p[6];
} db_tx;

/* Reads one query's results in a pipeline; the last non-NULL result is kept
 * in *keep when keep is given (else cleared).  Its status, or the error's. */
static ExecStatusType db_pipeline_result(PGresult **keep, char *code)
{
	ExecStatusType out = PGRES_PIPELINE_ABORTED;
	PGresult *res;

	while ((res = PQgetResult(db_conn))) {
		out = PQresultStatus(res);
		if (out == PGRES_FATAL_ERROR && code) {
			const char *c = PQresultErrorField(res, PG_DIAG_SQLSTATE);

			snprintf(code, 6, "%s", c ? c : "");
		}
		if (keep && (out == PGRES_TUPLES_OK || out == PGRES_COMMAND_OK)) {
			PQclear(*keep);
			*keep = res;
		} else {
			PQclear(res);
		}
	}
	return out;
}

/* One flight: BEGIN, the identity, then st (or nothing), then end ("commit",
 * "rollback" or NULL).  *res gets st's result. */
static enum db_status db_flight(struct db_statement *st, const char *const *params, int n, const char *end,
				PGresult **res, char *sqlstate)
{
	char idname[16], stname[16], code[6] = "", endcode[6] = "";
	ExecStatusType ids, sts = PGRES_COMMAND_OK, ends = PGRES_COMMAND_OK;
	enum db_status ds = DB_OK;
	PGresult *sync;

	if (!db_prepare(&sql_identity) || (st && !db_prepare(st)))
		return db_connected() ? DB_ERROR : DB_UNAVAILABLE;
	snprintf(idname, sizeof idname, "s%u", sql_identity.prepared_id);
	if (st)
		snprintf(stname, sizeof stname, "s%u", st->prepared_id);
	if (!PQenterPipelineMode(db_conn))
		return db_failure(NULL, NULL);
	if (!PQsendQueryParams(db_conn, "begin", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQsendQueryPrepared(db_conn, idname, 6, db_tx.p, NULL, NULL, 0) ||
	    (st && !PQsendQueryPrepared(db_conn, stname, n, params, NULL, NULL, 0)) ||
	    (end && !PQsendQueryParams(db_conn, end, 0, NULL, NULL, NULL, NULL, 0)) || !PQpipelineSync(db_conn))
		goto lost;
	if (db_pipeline_result(NULL, NULL) != PGRES_COMMAND_OK && PQstatus(db_conn) != CONNECTION_OK)
		goto lost;
	ids = db_pipeline_result(NULL, code);
	if (st)
		sts = db_pipeline_result(res, code[0] ? NULL : code);
	if (end)
		ends = db_pipeline_result(NULL, endcode);
	while ((sync = PQgetResult(db_conn))) {
		ExecStatusType s = PQresultStatus(sync);

		PQclear(sync);
		if (s == PGRES_PIPELINE_SYNC)
			break;
	}
	if (PQstatus(db_conn) != CONNECTION_OK || !PQexitPipelineMode(db_conn))
		goto lost;
	db_tx.pending = false;
	if (ids == PGRES_FATAL_ERROR && strcmp(code, "SGREV") == 0) {
		db_tx.revoked = true;
		ds = DB_REVOKED;
	} else if (ids != PGRES_TUPLES_OK || (st && sts != PGRES_TUPLES_OK && sts != PGRES_COMMAND_OK)) {
		ds = strncmp(code, "40", 2) == 0 ? DB_CONFLICT : DB_ERROR;
		if (sqlstate)
			memcpy(sqlstate, code, sizeof code);
		if (strncmp(code, "23", 2) != 0)
			log_error("statement failed", "ss", "statement", st ? st->name : "identity", "sqlstate", code);
	} else if (end && ends != PGRES_COMMAND_OK) {
		ds = strncmp(endcode, "40", 2) == 0 ? DB_CONFLICT : DB_ERROR;
		log_error("commit failed", "s", "sqlstate", endcode);
	} else if (end) {
		db_tx.committed = true;
	}
	if (ds != DB_OK && res && *res) {
		PQclear(*res);
		*res = NULL;
	}
	return ds;
lost:
	if (res && *res) {
		PQclear(*res);
		*res = NULL;
	}
	log_warn("database connection lost", "s", "reason", db_conn ? PQerrorMessage(db_conn) : "");
	db_disconnect();
	return DB_UNAVAILABLE;
}

/* The first flight of a request; a connection the server dropped since the
 * last request (a restart) shows only now, when nothing has run yet, so it
 * is opened again and the flight sent once more. */
static enum db_status db_first_flight(struct db_statement *st, const char *const *params, int n, const char *end,
				      PGresult **res, char *sqlstate)
{
	enum db_status ds = DB_UNAVAILABLE;

	for (int attempt = 0; attempt < 2 && ds == DB_UNAVAILABLE; attempt++) {
		if (!db_ensure())
			return DB_UNAVAILABLE;
		ds = db_flight(st, params, n, end, res, sqlstate);
	}
	if (ds != DB_OK && ds != DB_UNAVAILABLE && !db_tx.committed)
		db_command("rollback");
	return ds;
}

enum db_status db_exec(struct db_statement *s, const char *const *params, int n, PGresult **res, char *sqlstate)
{
	char name[16];
	ExecStatusType st;

	*res = NULL;
	if (sqlstate)
		sqlstate[0] = '\0';
	if (db_tx.committed) {
		/* a route that said it runs one statement ran another: refuse it,
		 * it would run outside the request's transaction and identity */
		log_error("statement after the request's commit", "s", "statement", s->name);
		return DB_ERROR;
	}
	if (db_tx.pending)
		return db_first_flight(s, params, n, db_tx.commit_with_next ? "commit" : NULL, res, sqlstate);
	if (!db_connected())
		return DB_UNAVAILABLE;
	if (!db_prepare(s))
		return db_connected() ? DB_ERROR : DB_UNAVAILABLE;
	snprintf(name, sizeof name, "s%u", s->prepared_id);
	*res = PQexecPrepared(db_conn, name, n, params, NULL, NULL, 0);
	st = PQresultStatus(*res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return DB_OK;
	{
		char code[6];
		enum db_status ds = db_failure(*res, code);

		if (sqlstate)
			memcpy(sqlstate, code, sizeof code);
		/* the SQLSTATE only: the server's text may quote submitted values */
		if (ds == DB_ERROR && strncmp(code, "23", 2) != 0)
			log_error("statement failed", "ss", "statement", s->name, "sqlstate", code);
		PQclear(*res);
		*res = NULL;
		return ds;
	}
}

enum db_status db_begin(const struct sg_identity *id, const char *request_id, bool commit_with_first)
{
	memset(&db_tx, 0, sizeof db_tx);
	if (!db_ensure())
		return DB_UNAVAILABLE;
	db_tx.p[0] = id->sub;
	db_tx.p[1] = sg_agency_names[id->agency];
	db_tx.p[2] = id->roles_csv;
	db_tx.p[3] = request_id ? request_id : "";
	db_tx.p[4] = id->jti;
	db_tx.p[5] = id->email; /* "" when the token has none: no one's line manager */
	db_tx.pending = true;
	db_tx.commit_with_next = commit_with_first;
	return DB_OK;
}

bool db_revoked(void)
{
	return db_tx.revoked;
}

enum db_status db_commit(void)
{
	enum db_status ds;

	if (db_tx.committed)
		return DB_OK;
	if (db_tx.pending) /* no statement ran: the revocation check still does */
		return db_first_flight(NULL, NULL, 0, "commit", NULL, NULL);
	ds = db_command("commit");
	db_tx.committed = ds == DB_OK;
	return ds;
}

void db_rollback(void)
{
	if (db_tx.pending)
		db_first_flight(NULL, NULL, 0, "rollback", NULL, NULL);
	else if (db_connected() && PQtransactionStatus(db_conn) != PQTRANS_IDLE)
		db_command("rollback");
	db_tx.pending = false;
}

enum db_status db_audit(const char *action, const char *resource_type, const char *resource_id, const char *outcome,
			const char *details_json)
{
	const char *p[5] = {action, resource_type, resource_id, outcome, details_json};
	PGresult *res;
	enum db_status ds = db_exec(&sql_audit_insert, p, 5, &res, NULL);

	PQclear(res);
	return ds;
}

enum db_status db_schema_check(char *why, size_t whylen)
{
	if (!db_ensure()) {
		snprintf(why, whylen, "the database cannot be reached");
		return DB_UNAVAILABLE;
	}
	return schema_check(db_conn, why, whylen) ? DB_OK : DB_ERROR;
}
