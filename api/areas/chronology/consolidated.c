/*
 * consolidated.c - a request's consolidated timeline: every agency's shared
 * entries in one event order, an entry about several siblings once, with the
 * patterns across agencies that no single agency could see (patterns.c); as
 * JSON, or as CSV for a case review.
 *
 * The requester reads it at any time, invited agencies until the share
 * window closes (safeguard.request_readable); the readers of a panel with an
 * open referral naming the request read the same timeline, through the
 * referral, for as long (chronology_consolidated, for the panels area;
 * safeguard.consolidated_readable, 017, covers both).  The database checks that once
 * and builds the entries' JSON in one piece, which is passed through as it
 * comes.  Every read writes a child audit row for each child the timeline
 * shows.  The CSV cells are core/csv.c's, safe to open in a spreadsheet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "chronology.h"
#include "csv.h"
#include "patterns.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

/* (the entries as one JSON array, every child they and the request show) */
DB_SQL(sql_consolidated_json, 1,
       "select safeguard.consolidated_json($1::uuid), safeguard.consolidated_children($1::uuid)::text");

DB_SQL(sql_consolidated_items, 1, "select * from safeguard.consolidated_items($1::uuid)");

/* the subject children's CME cases (009), and the last day the request covers */
DB_SQL(sql_req_cme, 1, "select child_id, since, back_on from safeguard.consolidated_cme_cases($1::uuid)");

/* Through functions that check the reader (017), not row-level security:
 * a panel's reader sees neither the request nor its children's rows. */
DB_SQL(sql_req_period_end, 1, "select safeguard.consolidated_period_end($1::uuid)");

DB_SQL(sql_req_rolls, 1, "select child_id, not_on_roll_since from safeguard.consolidated_rolls($1::uuid)");

/* ---- patterns ------------------------------------------------------------- */

static json_t *pattern_json(const struct pattern *pt)
{
	json_t *agencies = json_array(), *ids = json_array();
	char from[11], to[11];
	json_t *o;

	for (int a = 0; a < AGENCY__COUNT; a++)
		if (pt->agencies & AGENCY_BIT(a))
			json_array_append_new(agencies, json_string(sg_agency_names[a]));
	for (size_t i = 0; i < pt->n_entries; i++)
		json_array_append_new(ids, json_string(pt->entry_ids[i]));
	date_from_days(pt->from, from);
	date_from_days(pt->to, to);
	o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "code", pt->code, "description", pt->description, "from", from,
		      "to", to, "agencies", agencies, "entry_ids", ids);
	json_object_set_new(o, "child_id", pt->child_id ? json_string(pt->child_id) : json_null());
	return o;
}

/* The patterns of request id as a JSON text (arena) in *out: the active
 * entries, the subject children's CME cases and roll status, over the
 * request's period.  An entry without an end date is open (day_end -1): a
 * not-on-roll one lasts until the child is back in education or the period
 * ends.  0, or the failure's answer. */
static int consolidated_patterns(struct sg_req *r, const char *id, const char **out)
{
	struct pattern_input in = {0};
	struct pattern pats[64];
	struct chron_item *items;
	struct roll_status *rolls;
	struct cme_period *cme;
	PGresult *res, *rres, *cres, *pres;
	json_t *patterns;
	size_t np, k = 0;
	int rc;

	if ((rc = kit_exec(r, &sql_consolidated_items, &id, 1, &res)) ||
	    (rc = kit_exec(r, &sql_req_rolls, &id, 1, &rres)) || (rc = kit_exec(r, &sql_req_cme, &id, 1, &cres)) ||
	    (rc = kit_exec(r, &sql_req_period_end, &id, 1, &pres)))
		return rc;
	items = arena_alloc(r->arena, (size_t)(PQntuples(res) + 1) * sizeof *items);
	for (int i = 0; i < PQntuples(res); i++) {
		if (strcmp(PQgetvalue(res, i, 5), "active") != 0)
			continue; /* withdrawn entries stay listed but count for nothing */
		items[k].id = PQgetvalue(res, i, 0);
		items[k].agency = sg_agency_lookup(PQgetvalue(res, i, 1));
		items[k].category = PQgetvalue(res, i, 2);
		items[k].day = days_from_date(PQgetvalue(res, i, 3));
		items[k].day_end = *PQgetvalue(res, i, 4) ? days_from_date(PQgetvalue(res, i, 4)) : -1;
		k++;
	}
	rolls = arena_alloc(r->arena, (size_t)(PQntuples(rres) + 1) * sizeof *rolls);
	for (int i = 0; i < PQntuples(rres); i++) {
		rolls[i].child_id = PQgetvalue(rres, i, 0);
		rolls[i].since = PQgetisnull(rres, i, 1) ? -1 : days_from_date(PQgetvalue(rres, i, 1));
	}
	cme = arena_alloc(r->arena, (size_t)(PQntuples(cres) + 1) * sizeof *cme);
	for (int i = 0; i < PQntuples(cres); i++) {
		cme[i].child_id = PQgetvalue(cres, i, 0);
		cme[i].since = days_from_date(PQgetvalue(cres, i, 1));
		cme[i].back_on = PQgetisnull(cres, i, 2) ? -1 : days_from_date(PQgetvalue(cres, i, 2));
	}
	in.items = items;
	in.n = k;
	in.rolls = rolls;
	in.nrolls = (size_t)PQntuples(rres);
	in.cme = cme;
	in.ncme = (size_t)PQntuples(cres);
	in.today = (int)(time(NULL) / 86400);
	in.period_end = PQntuples(pres) == 1 && !PQgetisnull(pres, 0, 0) ? days_from_date(PQgetvalue(pres, 0, 0)) : 0;
	np = patterns_find(&in, pats, sizeof pats / sizeof pats[0], r->arena);
	patterns = arena_json(r->arena, json_array());
	for (size_t i = 0; i < np; i++)
		json_array_append_new(patterns, pattern_json(&pats[i]));
	*out = arena_json_dump(r->arena, patterns);
	return 0;
}

/* ---- CSV ------------------------------------------------------------------ */

static const char *const csv_columns[] = {"event_date",
					  "event_date_end",
					  "date_precision",
					  "event_time",
					  "agency",
					  "category",
					  "summary",
					  "impact",
					  "impact_description",
					  "action_taken",
					  "no_action_reason",
					  "significance",
					  "source",
					  "child_ids",
					  "status",
					  "withdrawn_reason",
					  "id",
					  NULL};

/* A member of an entry as cell text: strings as they are, arrays of strings
 * joined by spaces, integers in decimal, anything else empty. */
static const char *csv_value(struct arena *a, json_t *v)
{
	size_t k, len = 1, o = 0;
	json_t *x;
	char *out;

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		return arena_printf(a, "%lld", (long long)json_integer_value(v));
	if (!json_is_array(v))
		return "";
	json_array_foreach(v, k, x)
		len += json_string_length(x) + 1;
	out = arena_alloc(a, len);
	json_array_foreach(v, k, x) {
		if (!json_is_string(x))
			continue;
		if (o)
			out[o++] = ' ';
		memcpy(out + o, json_string_value(x), json_string_length(x));
		o += json_string_length(x);
	}
	return out;
}

static int consolidated_csv(struct sg_req *r, json_t *entries)
{
	struct csv c;
	size_t i;
	json_t *e;

	csv_init(&c, r->arena);
	for (size_t col = 0; csv_columns[col]; col++)
		csv_cell(&c, csv_columns[col], !csv_columns[col + 1]);
	json_array_foreach(entries, i, e) {
		for (size_t col = 0; csv_columns[col]; col++)
			csv_cell(&c, csv_value(r->arena, json_object_get(e, csv_columns[col])), !csv_columns[col + 1]);
	}
	/* the id is a UUID by now (the request was loaded by it) */
	return csv_answer(r, &c, arena_printf(r->arena, "chronology-%s.csv", r->params[0]));
}

/* ---- handlers --------------------------------------------------------------- */

/* The timeline of request id, read as audit says: {request, entries,
 * patterns}, concatenated rather than printed, since the entries run to
 * megabytes; or its entries as CSV.  The database answers only a reader
 * (safeguard.consolidated_readable): a caller the C let through by mistake
 * gets an empty timeline, never another's. */
static int consolidated_answer(struct sg_req *r, const char *id, const char *request_json,
			       const struct chronology_read *audit, bool csv)
{
	const char *patterns;
	PGresult *res;
	int rc;

	if ((rc = kit_exec(r, &sql_consolidated_json, &id, 1, &res)) ||
	    (rc = kit_audit(r, audit->action, audit->type, audit->id, audit->details)) ||
	    (rc = kit_audit_children(r, audit->child_action, PQgetvalue(res, 0, 1))))
		return rc;
	if (csv)
		return consolidated_csv(r, arena_json(r->arena, json_loads(PQgetvalue(res, 0, 0), 0, NULL)));
	if ((rc = consolidated_patterns(r, id, &patterns)))
		return rc;
	{
		const char *parts[] = {
			"{\"request\":", request_json, ",\"entries\":", PQgetvalue(res, 0, 0), ",\"patterns\":",
			patterns,        "}"};
		size_t len = 0, o = 0;
		char *body;

		for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
			len += strlen(parts[i]);
		body = arena_alloc(r->arena, len + 1);
		for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
			size_t plen = strlen(parts[i]);

			memcpy(body + o, parts[i], plen);
			o += plen;
		}
		return http_body(r, 200, "application/json", body, len);
	}
}

int chronology_consolidated(struct sg_req *r, const char *id, const char *request_json,
			    const struct chronology_read *audit)
{
	return consolidated_answer(r, id, request_json, audit, false);
}

/* The requester's and the invited agencies' route.  JSON and CSV are two
 * routes, not one negotiated by Accept, so that a client generated from the
 * contract reads the JSON typed rather than as "object or string". */
static int consolidated(struct sg_req *r, bool csv)
{
	const struct chronology_read audit = {"chronology_request.consolidated.read", "chronology_request",
					      r->params[0], NULL, "child.chronology_request.consolidated.read"};
	struct chronology_request rq;
	int rc;

	if ((rc = chronology_request_load(r, &rq)))
		return rc;
	if (!rq.readable)
		return http_not_found(r, "chronology request");
	return consolidated_answer(r, r->params[0], rq.json, &audit, csv);
}

static int requests_chronology(struct sg_req *r)
{
	return consolidated(r, false);
}

static int requests_chronology_csv(struct sg_req *r)
{
	return consolidated(r, true);
}

static const struct route chronology_consolidated_route_list[] = {
	{"GET", "/v1/chronology-requests/{id}/chronology", PERM_REQUEST_READ, NULL, NULL, requests_chronology,
	 "chronology_requests.consolidated", 0},
	{"GET", "/v1/chronology-requests/{id}/chronology.csv", PERM_REQUEST_READ, NULL, NULL, requests_chronology_csv,
	 "chronology_requests.consolidated_csv", 0},
};

const struct sg_area chronology_consolidated_area = SG_AREA("chronology_consolidated",
							    chronology_consolidated_route_list);
