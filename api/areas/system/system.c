/*
 * system.c - the routes outside /v1: liveness, readiness and metrics.  They
 * take no token (nginx serves /metrics to loopback only) and hold no
 * personal data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "pool.h"
#include "schema.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

static int system_healthz(struct sg_req *r)
{
	return http_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* Ready when the database answers and its migrations are exactly the ones
 * this build was made with: the same files, unchanged since they were
 * applied (core/schema.c names the first that differs). */
static int system_readyz(struct sg_req *r)
{
	char why[256];

	switch (db_schema_check(why, sizeof why)) {
	case DB_OK:
		return http_json(r, 200,
				 json_pack("{s:s, s:i}", "status", "ready", "schema_version",
					   schema_built[schema_built_count - 1].version));
	case DB_UNAVAILABLE:
		http_header(r, "Retry-After", "2");
		return http_problem(r, 503, "not-ready", "the database cannot be reached");
	default:
		http_header(r, "Retry-After", "10");
		return http_problem(r, 503, "not-ready", arena_strdup(r->arena, why));
	}
}

static int system_metrics(struct sg_req *r)
{
	char *text = metrics_render(r->arena);

	return http_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
}

static const struct route system_route_list[] = {
	{"GET", "/healthz", PERM_PUBLIC, NULL, NULL, system_healthz, "healthz", ROUTE_NO_DB},
	{"GET", "/readyz", PERM_PUBLIC, NULL, NULL, system_readyz, "readyz", ROUTE_NO_DB},
	{"GET", "/metrics", PERM_PUBLIC, NULL, NULL, system_metrics, "metrics", ROUTE_NO_DB},
};

const struct sg_area system_area = SG_AREA("system", system_route_list);
