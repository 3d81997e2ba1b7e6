/*
 * db.h - the worker's one PostgreSQL connection and every SQL statement the
 * API runs, prepared once per connection.  Statements are an X-macro list:
 * the name, the text and the number of parameters.  Nothing here is ever
 * assembled from request text.
 */
#ifndef SG_DB_H
#define SG_DB_H

#include <libpq-fe.h>
#include "sg.h"

#define DB_STATEMENTS(X)                                                                         \
	X(IDENTITY,                                                                              \
	  "select set_config('app.sub', $1, true), set_config('app.agency', $2, true),"         \
	  " set_config('app.roles', $3, true), set_config('app.request_id', $4, true),"         \
	  " exists (select 1 from safeguard.token_revocations where jti = $5 and $5 <> '')",    \
	  5)                                                                                     \
	X(SCHEMA_VERSION, "select coalesce(max(version), 0) from safeguard.schema_migrations", 0)  \
	X(AUDIT_INSERT,                                                                          \
	  "insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action,"     \
	  " resource_type, resource_id, outcome, details) values (current_setting('app.request_id'),"\
	  " current_setting('app.sub'), current_setting('app.agency'), $1, $2, $3, $4,"          \
	  " coalesce($5::jsonb, '{}'::jsonb))",                                                  \
	  5)                                                                                     \
	X(AUDIT_LIST,                                                                            \
	  "select id, to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"\
	  " request_id, actor_sub, actor_agency, action, resource_type, resource_id, outcome,"    \
	  " details::text, occurred_at::text from safeguard.audit_events"                        \
	  " where ($1::text is null or actor_sub = $1) and ($2::text is null or actor_agency = $2)"\
	  " and ($3::text is null or action = $3) and ($4::text is null or resource_type = $4)"  \
	  " and ($5::text is null or resource_id = $5)"                                         \
	  " and ($6::timestamptz is null or occurred_at >= $6)"                                  \
	  " and ($7::timestamptz is null or occurred_at < $7)"                                   \
	  " and ($8::timestamptz is null or (occurred_at, id) < ($8::timestamptz, $9::uuid))"     \
	  " order by occurred_at desc, id desc limit $10",                                       \
	  10)                                                                                    \
	X(AGENCY_LIST, "select code, name, description from safeguard.agencies order by code", 0) \
	X(REVOKE,                                                                                \
	  "with ins as (insert into safeguard.token_revocations (jti, revoked_by, revoked_by_agency)"\
	  " values ($1, current_setting('app.sub'), current_setting('app.agency'))"              \
	  " on conflict (jti) do nothing returning jti, revoked_at, revoked_by, true as created)" \
	  " select jti, to_char(revoked_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"  \
	  " revoked_by, created from ins union all"                                              \
	  " select jti, to_char(revoked_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"  \
	  " revoked_by, false from safeguard.token_revocations where jti = $1"                   \
	  " and not exists (select 1 from ins)",                                                 \
	  1)                                                                                     \
	X(IDEM_LOCK, "select pg_try_advisory_xact_lock(hashtextextended($1, 7))", 1)             \
	X(IDEM_GET,                                                                              \
	  "select request_hash, status, content_type, body from safeguard.idempotency_keys"      \
	  " where sub = current_setting('app.sub') and key = $1",                                \
	  1)                                                                                     \
	X(IDEM_PUT,                                                                              \
	  "insert into safeguard.idempotency_keys (sub, key, request_hash, status, content_type, body)"\
	  " values (current_setting('app.sub'), $1, $2, $3, $4, $5)",                            \
	  5)

enum db_stmt {
#define DB_ENUM(name, sql, n) DB_##name,
	DB_STATEMENTS(DB_ENUM)
#undef DB_ENUM
	DB__COUNT
};

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

enum db_status { DB_OK, DB_UNAVAILABLE, DB_ERROR, DB_CONFLICT };
/* Runs a prepared statement; *res is a new result the caller clears (or NULL
 * on failure).  Results with rows or commands both count as DB_OK.  On a lost
 * connection answers DB_UNAVAILABLE; SQLSTATE goes to *sqlstate when not NULL. */
enum db_status db_exec(enum db_stmt s, const char *const *params, int n, PGresult **res, char *sqlstate);
enum db_status db_command(const char *sql);
/* Opens the request's transaction and sets the caller's identity. */
enum db_status db_begin(const struct sg_identity *id, const char *request_id, bool *revoked);
enum db_status db_commit(void);
void db_rollback(void);
/* Writes an audit event in the current transaction. */
enum db_status db_audit(const char *action, const char *resource_type, const char *resource_id,
			const char *outcome, const char *details_json);

#endif
