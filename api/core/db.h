/*
 * db.h - the worker's one PostgreSQL connection and how SQL reaches it.
 *
 * Each file that talks to the database defines its own statements next to
 * the code that uses them, with DB_SQL: a name, the number of parameters and
 * the text.  A statement is prepared on a connection the first time it runs
 * there (and again after a reconnect), so no central list knows them all and
 * nothing depends on a statement's position anywhere.  SQL text is always a
 * literal: nothing is ever assembled from request text; values travel as
 * bind parameters.
 */
#ifndef SG_DB_H
#define SG_DB_H

#include <libpq-fe.h>
#include "sg.h"

struct db_statement {
	const char *name; /* for logs; unique names are not required */
	const char *sql;
	int nparams;
	/* per worker: the connection generation it was prepared on, and the
	 * server-side name it was prepared under */
	unsigned prepared_gen;
	unsigned prepared_id;
};

/* Defines a statement of this file: DB_SQL(sql_child_get, 1, "select ..."); */
#define DB_SQL(var, n, text) static struct db_statement var = {#var, text, n, 0, 0}

/* An audit row written by the statement that reads (a data-modifying CTE). */
#define AUDIT_FROM_TYPE(action, type, id)                                                                              \
	"insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action,"                             \
	" resource_type, resource_id, outcome) select current_setting('app.request_id'),"                              \
	" current_setting('app.sub'), current_setting('app.agency'), " action ", " type ", " id ", 'success'"
#define AUDIT_FROM(action, id) AUDIT_FROM_TYPE(action, "'child'", id)

struct db_config {
	const char *url;      /* conninfo or URL */
	const char *user;     /* overrides the URL's user when set */
	const char *password; /* overrides the URL's password when set */
	int connect_timeout_ms;
};

void db_configure(const struct db_config *c);
/* Connects (or reconnects) when needed; false when the database is out of reach. */
bool db_ensure(void);
void db_disconnect(void);
bool db_connected(void);

enum db_status { DB_OK, DB_UNAVAILABLE, DB_ERROR, DB_CONFLICT, DB_REVOKED };
/* Runs a statement, preparing it first when this connection has not yet;
 * *res is a new result the caller clears (or hands to the arena), NULL on
 * failure.  Results with rows or commands both count as DB_OK.  On a lost
 * connection answers DB_UNAVAILABLE; SQLSTATE goes to *sqlstate when not NULL.
 * The server's error text goes to the log as its SQLSTATE only. */
enum db_status db_exec(struct db_statement *s, const char *const *params, int n, PGresult **res, char *sqlstate);
enum db_status db_command(const char *sql);
/* Opens the request's transaction: BEGIN and the caller's identity travel
 * with the first statement (or the commit/rollback when none runs), which
 * answers DB_REVOKED for a revoked token without running.  With
 * commit_with_first, the first statement's flight also commits: a route
 * that runs exactly one statement is one round trip, and any statement
 * after it is refused. */
enum db_status db_begin(const struct sg_identity *id, const char *request_id, bool commit_with_first);
/* Whether this request's token turned out to be revoked. */
bool db_revoked(void);
enum db_status db_commit(void);
void db_rollback(void);
/* Are the database's migrations exactly the ones this build was made with?
 * DB_OK; DB_ERROR with the reason naming the file; DB_UNAVAILABLE.  Outside
 * a transaction only. */
enum db_status db_schema_check(char *why, size_t whylen);
/* Writes an audit event in the current transaction. */
enum db_status db_audit(const char *action, const char *resource_type, const char *resource_id, const char *outcome,
			const char *details_json);

#endif
