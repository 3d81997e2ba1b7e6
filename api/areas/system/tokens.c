/*
 * tokens.c - revocation of bearer tokens by jti.  A revoked jti is refused
 * on its next use in every worker: the check runs in the database as part of
 * opening each request's transaction, so no worker's cache can outlive it.
 */
#include "kit.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_revoke, 1,
       "with ins as (insert into safeguard.token_revocations (jti, revoked_by, revoked_by_agency)"
       " values ($1, current_setting('app.sub'), current_setting('app.agency'))"
       " on conflict (jti) do nothing returning jti, revoked_at, revoked_by, true as created)"
       " select jti, to_char(revoked_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
       " revoked_by, created from ins union all"
       " select jti, to_char(revoked_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
       " revoked_by, false from safeguard.token_revocations where jti = $1"
       " and not exists (select 1 from ins)");


static const struct field_spec revocation_fields[] = {
	{.name = "jti", .type = FT_STRING, .required = true, .min = 1, .max = 200},
};
static const struct body_spec revocation_body = {.fields = revocation_fields, .n = 1};

static int tokens_revoke(struct sg_req *r)
{
	const char *jti = json_string_value(json_object_get(r->body, "jti"));
	const char *p[1] = {jti};
	PGresult *res;
	bool created;
	json_t *body;

	switch (db_exec(&sql_revoke, p, 1, &res, NULL)) {
	case DB_OK:
		break;
	case DB_UNAVAILABLE:
		return http_unavailable(r);
	default:
		return http_internal(r, "revocation failed");
	}
	created = PQgetvalue(res, 0, 3)[0] == 't';
	body = json_pack("{s:s, s:s, s:s}", "jti", PQgetvalue(res, 0, 0), "revoked_at", PQgetvalue(res, 0, 1),
			 "revoked_by", PQgetvalue(res, 0, 2));
	PQclear(res);
	if (created && db_audit("token.revoke", "token", jti, "success", NULL) != DB_OK) {
		json_decref(body);
		return db_connected() ? http_internal(r, "audit write failed") : http_unavailable(r);
	}
	return http_json(r, created ? 201 : 200, body);
}

static const struct route tokens_route_list[] = {
	{"POST", "/v1/token-revocations", PERM_TOKEN_REVOKE, &revocation_body, NULL, tokens_revoke, "token_revocations.create",
	 ROUTE_IDEMPOTENT},
};

const struct sg_area tokens_area = SG_AREA("tokens", tokens_route_list);
