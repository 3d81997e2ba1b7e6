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
#include "db.h"
#include "schema.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_identity, 5,
       "select set_config('app.sub', $1, true), set_config('app.agency', $2, true),"
       " set_config('app.roles', $3, true), set_config('app.request_id', $4, true),"
       /* a revocation names the token's agency, or none for any agency */
       " exists (select 1 from safeguard.token_revocations where jti = $5 and $5 <> ''"
       " and (agency is null or agency = $2))");

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
	const char *vals[7] = {db_cfg.url, "safeguard-api", "-c TimeZone=UTC", NULL, NULL, NULL, NULL};
	int k = 3;
	int64_t start = now_ms(), deadline = start + db_cfg.connect_timeout_ms;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	if (db_connected())
		return true;
	db_disconnect();
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

enum db_status db_exec(struct db_statement *s, const char *const *params, int n, PGresult **res, char *sqlstate)
{
	char name[16];
	ExecStatusType st;

	*res = NULL;
	if (sqlstate)
		sqlstate[0] = '\0';
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

/* BEGIN and the identity statement in one round trip (libpq's pipeline
 * mode): every request pays for them, so they travel together. */
static enum db_status db_begin_pipelined(const char *const *p, bool *revoked)
{
	enum db_status ds = DB_OK;
	PGresult *res;
	int sync_seen = 0;
	char identity_name[16];

	snprintf(identity_name, sizeof identity_name, "s%u", sql_identity.prepared_id);
	if (!PQenterPipelineMode(db_conn))
		return db_failure(NULL, NULL);
	if (!PQsendQueryParams(db_conn, "begin", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQsendQueryPrepared(db_conn, identity_name, 5, p, NULL, NULL, 0) || !PQpipelineSync(db_conn)) {
		PQexitPipelineMode(db_conn);
		return db_failure(NULL, NULL);
	}
	/* two results (each followed by NULL), then the sync */
	for (int q = 0; q < 2 && db_conn; q++) {
		while ((res = PQgetResult(db_conn))) {
			ExecStatusType st = PQresultStatus(res);

			if (st == PGRES_TUPLES_OK && q == 1)
				*revoked = PQgetvalue(res, 0, 4)[0] == 't';
			else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && ds == DB_OK)
				ds = st == PGRES_PIPELINE_ABORTED ? DB_ERROR : (PQstatus(db_conn) == CONNECTION_OK ? DB_ERROR : DB_UNAVAILABLE);
			PQclear(res);
		}
		if (PQstatus(db_conn) != CONNECTION_OK)
			break;
	}
	while (db_conn && PQstatus(db_conn) == CONNECTION_OK && !sync_seen && (res = PQgetResult(db_conn))) {
		sync_seen = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
		PQclear(res);
	}
	if (PQstatus(db_conn) != CONNECTION_OK) {
		log_warn("database connection lost", "s", "reason", PQerrorMessage(db_conn));
		db_disconnect();
		return DB_UNAVAILABLE;
	}
	if (!PQexitPipelineMode(db_conn)) {
		log_error("cannot leave pipeline mode", "s", "reason", PQerrorMessage(db_conn));
		db_disconnect();
		return DB_UNAVAILABLE;
	}
	return ds;
}

enum db_status db_begin(const struct sg_identity *id, const char *request_id, bool *revoked)
{
	const char *p[5] = {id->sub, sg_agency_names[id->agency], id->roles_csv, request_id ? request_id : "", id->jti};
	enum db_status ds = DB_UNAVAILABLE;

	/* A connection the server dropped since the last request (a restart)
	 * shows only now; nothing has run yet, so reconnect and try once more. */
	for (int attempt = 0; attempt < 2 && ds == DB_UNAVAILABLE; attempt++) {
		if (!db_ensure())
			return DB_UNAVAILABLE;
		ds = db_begin_pipelined(p, revoked);
	}
	if (ds == DB_ERROR)
		db_rollback();
	return ds;
}

enum db_status db_commit(void)
{
	return db_command("commit");
}

void db_rollback(void)
{
	if (db_connected() && PQtransactionStatus(db_conn) != PQTRANS_IDLE)
		db_command("rollback");
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
