/*
 * tokens.c - revocation of bearer tokens by jti.  A revoked jti is refused
 * on its next use in every worker: the check runs in the database as part of
 * opening each request's transaction, so no worker's cache can outlive it.
 *
 * A jti alone does not say whose token it is, so a revocation names the
 * token's agency and applies to tokens of that agency only.  An agency's
 * admin revokes its own agency's tokens (the agency may be left out); the
 * partnership's admins revoke any agency's, or with no agency every token
 * carrying the jti.  Row-level security says the same again.
 */
#include <string.h>
#include "kit.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

/* $1 jti, $2 the token's agency (NULL: any).  Answers (json, created). */
DB_SQL(sql_revoke, 2,
       "with ins as (insert into safeguard.token_revocations (jti, agency, revoked_by, revoked_by_agency)"
       " values ($1, $2, current_setting('app.sub'), current_setting('app.agency'))"
       " on conflict (jti, coalesce(agency, '')) do nothing returning *)"
       " select json_build_object('jti', jti, 'agency', agency, 'revoked_at',"
       " to_char(revoked_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'revoked_by', revoked_by)::text,"
       " created from (select *, true as created from ins union all"
       " select *, false from safeguard.token_revocations where jti = $1 and agency is not distinct from $2"
       " and not exists (select 1 from ins)) r");

/* ---- field specs ------------------------------------------------------- */

static const struct field_spec revocation_fields[] = {
	{.name = "jti", .type = FT_STRING, .required = true, .min = 1, .max = 200},
	{.name = "agency", .type = FT_ENUM, .nullable = true, .enum_values = sg_agency_names},
};
static const struct body_spec revocation_body = {.fields = revocation_fields, .n = 2};

/* ---- handlers ------------------------------------------------------------ */

static int tokens_revoke(struct sg_req *r)
{
	const char *jti = kit_str(r->body, "jti"), *agency = kit_str(r->body, "agency");
	const char *own = sg_agency_names[r->id.agency];
	const char *p[2] = {jti, NULL};
	PGresult *res;
	bool created;
	int rc;

	if (access_allows(PERM_TOKEN_REVOKE_ANY, &r->id))
		p[1] = agency; /* the partnership's admins: any agency, or none for all */
	else if (!agency || strcmp(agency, own) == 0)
		p[1] = own;
	else
		return http_problem(
			r, 403, "forbidden",
			"an agency's admin revokes only its own agency's tokens; the partnership's admins revoke any");
	if ((rc = kit_exec(r, &sql_revoke, p, 2, &res)))
		return rc;
	if (PQntuples(res) != 1) /* another admin revoked it at this very moment: say so, and let the client retry */
		return http_problem(r, 409, "conflict", "this token is being revoked by another request; retry");
	created = PQgetvalue(res, 0, 1)[0] == 't';
	if (created && (rc = kit_audit(r, "token.revoke", "token", jti,
				       arena_printf(r->arena, "{\"agency\": %s%s%s}", p[1] ? "\"" : "",
						    p[1] ? p[1] : "null", p[1] ? "\"" : ""))))
		return rc;
	return kit_json_text(r, created ? 201 : 200, PQgetvalue(res, 0, 0));
}

static const struct route tokens_route_list[] = {
	{"POST", "/v1/token-revocations", PERM_TOKEN_REVOKE, &revocation_body, NULL, tokens_revoke,
	 "token_revocations.create", ROUTE_IDEMPOTENT},
};

const struct sg_area tokens_area = SG_AREA("tokens", tokens_route_list);
