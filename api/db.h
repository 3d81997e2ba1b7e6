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

/* The columns of a child from a validated JSON body `b` (children.c). */
#define CHILD_COLUMNS_FROM_B                                                                      \
	"b->>'first_name', b->>'last_name', b->>'preferred_name', (b->>'date_of_birth')::date,"       \
	" b->>'gender', b->>'nhs_number', b->>'upn',"                                                  \
	" coalesce(array(select jsonb_array_elements_text(b->'address'->'lines')), '{}'),"            \
	" b->'address'->>'town', b->>'postcode', b->>'school_urn',"                                    \
	" coalesce(b->>'education_status', 'on_roll'), (b->>'not_on_roll_since')::date,"              \
	" coalesce((b->>'ehcp')::boolean, false), coalesce((b->>'looked_after')::boolean, false)"

/* An audit row written by the statement that reads (a data-modifying CTE). */
#define AUDIT_FROM_TYPE(action, type, id)                                                         \
	"insert into safeguard.audit_events (request_id, actor_sub, actor_agency, action,"            \
	" resource_type, resource_id, outcome) select current_setting('app.request_id'),"             \
	" current_setting('app.sub'), current_setting('app.agency'), " action ", " type ", " id ", 'success'"
#define AUDIT_FROM(action, id) AUDIT_FROM_TYPE(action, "'child'", id)

/* The columns of a chronology entry, and their values from a body `b`. */
#define ENTRY_COLUMNS                                                                             \
	"event_date, event_date_end, date_precision, event_time, category, summary, details, impact,"  \
	" impact_description, action_taken, no_action_reason, significance, source"
#define ENTRY_VALUES_FROM_B                                                                       \
	"(b->>'event_date')::date, (b->>'event_date_end')::date, b->>'date_precision',"               \
	" (b->>'event_time')::time, b->>'category', b->>'summary', b->>'details', b->>'impact',"      \
	" b->>'impact_description', b->>'action_taken', b->>'no_action_reason', b->>'significance',"  \
	" b->>'source'"

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
	X(IDEM_LOCK,                                                                             \
	  "select pg_try_advisory_xact_lock(hashtextextended(current_setting('app.sub') || ':' || $1, 7))", 1)\
	X(IDEM_GET,                                                                              \
	  "select request_hash, status, content_type, body, headers from safeguard.idempotency_keys"\
	  " where sub = current_setting('app.sub') and key = $1",                                \
	  1)                                                                                     \
	X(IDEM_PUT,                                                                              \
	  "with expired as (delete from safeguard.idempotency_keys where sub = current_setting('app.sub')"\
	  " and created_at < now() - interval '24 hours')"                                       \
	  " insert into safeguard.idempotency_keys (sub, key, request_hash, status, content_type, body, headers)"\
	  " values (current_setting('app.sub'), $1, $2, $3, $4, $5, $6)",                        \
	  6)                                                                                     \
	X(CHILD_DUPLICATE, "select safeguard.child_by_identifier($1, $2)", 2)                     \
	X(CHILD_NETWORK_CREATED,                                                                 \
	  "insert into safeguard.child_network (child_id, agency, how, joined_by)"               \
	  " values ($1, safeguard.app_agency(), 'created', safeguard.app_sub())",                \
	  1)                                                                                     \
	X(CHILD_INSERT,                                                                          \
	  "insert into safeguard.children (id, first_name, last_name, preferred_name, date_of_birth,"\
	  " gender, nhs_number, upn, address_lines, address_town, postcode, school_urn, education_status,"\
	  " not_on_roll_since, ehcp, looked_after, created_by_agency) select $1::uuid, " CHILD_COLUMNS_FROM_B \
	  ", safeguard.app_agency() from (select $2::jsonb as b) s"                              \
	  " returning safeguard.child_json(children)::text, version",                            \
	  2)                                                                                     \
	X(CHILD_GET,                                                                             \
	  "with c as (select safeguard.child_json(c)::text as j, c.version, c.id from safeguard.children c"\
	  " where c.id = $1::uuid), a as (" AUDIT_FROM("'child.read'", "id::text") " from c)"    \
	  " select j, version from c",                                                           \
	  1)                                                                                     \
	X(CHILD_LOCK,                                                                            \
	  "select safeguard.child_json(c)::text, c.version from safeguard.children c"            \
	  " where c.id = $1::uuid for update",                                                   \
	  1)                                                                                     \
	X(CHILD_UPDATE,                                                                          \
	  "update safeguard.children set (first_name, last_name, preferred_name, date_of_birth,"  \
	  " gender, nhs_number, upn, address_lines, address_town, postcode, school_urn, education_status,"\
	  " not_on_roll_since, ehcp, looked_after) = (select " CHILD_COLUMNS_FROM_B              \
	  " from (select $2::jsonb as b) s), version = version + 1, updated_at = clock_timestamp()"\
	  " where id = $1::uuid and version = $3::int returning safeguard.child_json(children)::text, version",\
	  3)                                                                                     \
	X(CHILD_LIST,                                                                            \
	  "with page as (select safeguard.child_json(c)::text as j, c.created_at, c.id"          \
	  " from safeguard.children c where ($1::timestamptz is null"                            \
	  " or (c.created_at, c.id) > ($1::timestamptz, $2::uuid))"                              \
	  " and ($4::text is null or c.education_status = $4) and ($5::uuid is null or c.family_id = $5)"\
	  " order by c.created_at, c.id limit $3::int),"                                         \
	  " a as (" AUDIT_FROM("'child.read'", "id::text") " from page)"                         \
	  " select j, created_at::text, id from page order by created_at, id",                   \
	  5)                                                                                     \
	X(CHILD_SEARCH,                                                                          \
	  "select s.id, s.in_network from safeguard.child_search($1, $2, $3, $4, $5::date) s", 5)  \
	X(CHILD_EXISTS, "select safeguard.child_exists($1::uuid)", 1)                             \
	X(CHILD_VISIBLE, "select exists (select 1 from safeguard.children where id = $1::uuid)", 1) \
	X(NETWORK_DECLARE,                                                                       \
	  "insert into safeguard.child_network (child_id, agency, how, reason, joined_by)"       \
	  " values ($1::uuid, safeguard.app_agency(), 'declared', $2, safeguard.app_sub())"      \
	  " on conflict do nothing",                                                             \
	  2)                                                                                     \
	X(NETWORK_LIST,                                                                          \
	  "select agency, to_char(joined_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), how, reason"\
	  " from safeguard.child_network where child_id = $1::uuid and ($2::text is null or agency = $2)"\
	  " order by joined_at, agency",                                                         \
	  2)                                                                                     \
	X(FAMILY_INSERT,                                                                         \
	  "insert into safeguard.families (id, name, carers, created_by_agency)"                 \
	  " values ($1::uuid, $2, coalesce($3::jsonb, '[]'), safeguard.app_agency())"           \
	  " returning safeguard.family_json(families)::text, version",                           \
	  3)                                                                                     \
	X(FAMILY_GET,                                                                            \
	  "with f as (select safeguard.family_json(f)::text as j, f.version, f.id from safeguard.families f"\
	  " where f.id = $1::uuid), a as (" AUDIT_FROM_TYPE("'family.read'", "'family'", "id::text") " from f)"\
	  " select j, version from f",                                                           \
	  1)                                                                                     \
	X(FAMILY_UPDATE,                                                                         \
	  "update safeguard.families set name = coalesce($2, name), carers = coalesce($3::jsonb, carers),"\
	  " version = version + 1, updated_at = now() where id = $1::uuid and version = $4::int"   \
	  " returning safeguard.family_json(families)::text, version",                           \
	  4)                                                                                     \
	X(FAMILY_VERSION, "select version from safeguard.families where id = $1::uuid for update", 1) \
	X(FAMILY_MEMBER_ADD,                                                                     \
	  "update safeguard.children set family_id = $1::uuid, family_relationship = $3,"        \
	  " version = version + 1, updated_at = clock_timestamp() where id = $2::uuid and family_id is null",\
	  3)                                                                                     \
	X(FAMILY_MEMBER_REMOVE,                                                                  \
	  "update safeguard.children set family_id = null, family_relationship = null,"          \
	  " version = version + 1, updated_at = clock_timestamp() where id = $2::uuid and family_id = $1::uuid",\
	  2)                                                                                     \
	X(FAMILY_BUMP,                                                                           \
	  "update safeguard.families set version = version + 1, updated_at = now() where id = $1::uuid"\
	  " returning safeguard.family_json(families)::text, version",                           \
	  1)                                                                                     \
	X(ENTRY_CHILDREN, "select id, family_id from safeguard.children where id = any ($1::uuid[])", 1) \
	X(ENTRY_INSERT,                                                                          \
	  "insert into safeguard.chronology_entries (id, agency, author_sub, updated_by, " ENTRY_COLUMNS ")"\
	  " select $1::uuid, safeguard.app_agency(), safeguard.app_sub(), safeguard.app_sub(), " ENTRY_VALUES_FROM_B\
	  " from (select $2::jsonb as b) s",                                                     \
	  2)                                                                                     \
	X(ENTRY_CHILDREN_INSERT,                                                                 \
	  "insert into safeguard.chronology_entry_children (entry_id, child_id)"                 \
	  " select $1::uuid, unnest($2::uuid[])",                                                \
	  2)                                                                                     \
	X(ENTRY_DOC,                                                                             \
	  "update safeguard.chronology_entries e set doc = safeguard.entry_json(e)::text"         \
	  " where id = $1::uuid returning doc, version",                                         \
	  1)                                                                                     \
	X(ENTRY_GET,                                                                             \
	  "select coalesce(e.doc, safeguard.entry_json(e)::text), e.version, e.agency, e.author_sub, e.status"\
	  " from safeguard.chronology_entries e where e.id = $1::uuid",                          \
	  1)                                                                                     \
	X(ENTRY_LOCK,                                                                            \
	  "select coalesce(e.doc, safeguard.entry_json(e)::text), e.version, e.agency, e.author_sub, e.status"\
	  " from safeguard.chronology_entries e where e.id = $1::uuid for update",               \
	  1)                                                                                     \
	X(ENTRY_SNAPSHOT,                                                                        \
	  "insert into safeguard.chronology_entry_versions (entry_id, version, snapshot, recorded_by, recorded_at)"\
	  " select id, version, coalesce(e.doc::jsonb, safeguard.entry_json(e)::jsonb), updated_by, updated_at"\
	  " from safeguard.chronology_entries e where id = $1::uuid",                            \
	  1)                                                                                     \
	X(ENTRY_UPDATE,                                                                          \
	  "update safeguard.chronology_entries set (" ENTRY_COLUMNS ") = (select " ENTRY_VALUES_FROM_B\
	  " from (select $2::jsonb as b) s), version = version + 1, updated_at = clock_timestamp(),"\
	  " updated_by = safeguard.app_sub() where id = $1::uuid and version = $3::int and status = 'active'"\
	  " returning id",                                                                       \
	  3)                                                                                     \
	X(ENTRY_WITHDRAW,                                                                        \
	  "update safeguard.chronology_entries set status = 'withdrawn', withdrawn_reason = $2,"  \
	  " withdrawn_at = clock_timestamp(), withdrawn_by = safeguard.app_sub(), version = version + 1,"\
	  " updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"                    \
	  " where id = $1::uuid and status = 'active'"                                          \
	  " returning id",                                                                       \
	  2)                                                                                     \
	X(ENTRY_VERSIONS,                                                                        \
	  "select snapshot::text, version, recorded_by,"                                         \
	  " to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"        \
	  " from safeguard.chronology_entry_versions where entry_id = $1::uuid order by version",\
	  1)                                                                                     \
	X(CHILD_CHRONOLOGY, "select * from safeguard.child_chronology($1::uuid, $2::date, $3::date, $4, $5,"\
	  " $6::date, $7::time, $8::bigint, $9::int)", 9)                                         \
	X(REQ_INSERT,                                                                            \
	  "insert into safeguard.chronology_requests (id, requesting_agency, requested_by, child_id, family_id,"\
	  " purpose, lawful_basis, period_from, period_to, respond_by, share_until)"            \
	  " select $1::uuid, safeguard.app_agency(), safeguard.app_sub(), (b->>'child_id')::uuid,"\
	  " (b->>'family_id')::uuid, b->>'purpose', b->>'lawful_basis', (b->>'period_from')::date,"\
	  " (b->>'period_to')::date, (b->>'respond_by')::date, (b->>'share_until')::timestamptz"  \
	  " from (select $2::jsonb as b) s",                                                     \
	  2)                                                                                     \
	X(REQ_SUBJECTS,                                                                          \
	  "select id from safeguard.children where id = $1::uuid or family_id = $2::uuid order by id", 2)\
	X(REQ_PARTIES,                                                                           \
	  "with c as (insert into safeguard.chronology_request_children (request_id, child_id)"  \
	  " select $1::uuid, unnest($2::uuid[])), a as (insert into safeguard.chronology_request_agencies"\
	  " (request_id, agency) select $1::uuid, unnest($3::text[]))"                           \
	  " insert into safeguard.child_network (child_id, agency, how, reason, joined_by)"      \
	  " select c, a, 'invited', 'invited to a chronology request', safeguard.app_sub()"      \
	  " from unnest($2::uuid[]) c cross join unnest($3::text[]) a on conflict do nothing",    \
	  3)                                                                                     \
	X(REQ_GET, "select safeguard.request_json(r)::text from safeguard.chronology_requests r where r.id = $1::uuid", 1)\
	X(REQ_LIST,                                                                              \
	  "select safeguard.request_json(r)::text, r.created_at::text, r.id"                     \
	  " from safeguard.chronology_requests r where ($1::text is null"                        \
	  " or $1 = case when r.closed_at is not null then 'closed' when now() >= r.share_until then 'expired'"\
	  " else 'open' end) and ($2::timestamptz is null or (r.created_at, r.id) < ($2::timestamptz, $3::uuid))"\
	  " order by r.created_at desc, r.id desc limit $4::int",                                \
	  4)                                                                                     \
	X(REQ_STATE,                                                                             \
	  "select r.closed_at is null and now() < r.share_until, r.requesting_agency = safeguard.app_agency(),"\
	  " exists (select 1 from safeguard.chronology_request_agencies a where a.request_id = r.id"\
	  " and a.agency = safeguard.app_agency()), safeguard.request_readable(r.id)"          \
	  " from safeguard.chronology_requests r where r.id = $1::uuid",                        \
	  1)                                                                                     \
	X(REQ_DRAFT,                                                                             \
	  "select coalesce(e.doc, safeguard.entry_json(e)::text), exists (select 1 from safeguard.chronology_contributions k"\
	  " where k.request_id = r.id and k.entry_id = e.id)"                                    \
	  " from safeguard.chronology_requests r join safeguard.chronology_entries e"           \
	  " on e.agency = safeguard.app_agency() and e.status = 'active'"                        \
	  " and e.event_date <= r.period_to and coalesce(e.event_date_end, e.event_date) >= r.period_from"\
	  " where r.id = $1::uuid and exists (select 1 from safeguard.chronology_entry_children ec"\
	  " join safeguard.chronology_request_children rc on rc.child_id = ec.child_id"         \
	  " where rc.request_id = r.id and ec.entry_id = e.id)"                                  \
	  " order by e.event_date, coalesce(e.event_time, '00:00'), e.seq",                      \
	  1)                                                                                     \
	X(CONTRIB_ELIGIBLE,                                                                      \
	  "select e.id from safeguard.chronology_entries e where e.id = any ($2::uuid[])"        \
	  " and e.agency = safeguard.app_agency() and e.status = 'active'"                      \
	  " and exists (select 1 from safeguard.chronology_entry_children ec"                    \
	  " join safeguard.chronology_request_children rc on rc.child_id = ec.child_id"         \
	  " where rc.request_id = $1::uuid and ec.entry_id = e.id)",                             \
	  2)                                                                                     \
	X(CONTRIB_REPLACE,                                                                       \
	  "with d as (delete from safeguard.chronology_contributions where request_id = $1::uuid"\
	  " and agency = safeguard.app_agency()), i as (insert into safeguard.chronology_contributions"\
	  " (request_id, agency, entry_id) select $1::uuid, safeguard.app_agency(), unnest($2::uuid[]))"\
	  " update safeguard.chronology_request_agencies set status = $3, submitted_at = now(),"  \
	  " submitted_by = safeguard.app_sub() where request_id = $1::uuid and agency = safeguard.app_agency()",\
	  3)                                                                                     \
	X(CONSOLIDATED_JSON, "select safeguard.consolidated_json($1::uuid)", 1)                 \
	X(CONSOLIDATED_ITEMS, "select * from safeguard.consolidated_items($1::uuid)", 1)         \
	X(REQ_ROLLS,                                                                             \
	  "select c.id, case when c.education_status in ('not_on_roll', 'missing_education')"    \
	  " then c.not_on_roll_since::text end from safeguard.children c"                        \
	  " join safeguard.chronology_request_children rc on rc.child_id = c.id where rc.request_id = $1::uuid",\
	  1)                                                                                     \
	X(REQ_CLOSE,                                                                             \
	  "update safeguard.chronology_requests set closed_at = now(), closed_by = safeguard.app_sub()"\
	  " where id = $1::uuid and closed_at is null and requesting_agency = safeguard.app_agency()"\
	  " returning id",                                                                       \
	  1)

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
