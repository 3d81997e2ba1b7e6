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
 * safeguard.consolidated_readable, 017, covers both).  The database checks
 * that once and keeps the entries' JSON in one piece, rebuilt after a change
 * (020), which is passed through as it comes.  Every read writes an audit row
 * for what was read and one for each child the timeline shows.  The CSV
 * cells are core/csv.c's, safe to open in a spreadsheet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "chronology.h"
#include "csv.h"
#include "patterns.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

/* The timeline in one call (020, 021): (entries as one JSON array, then
 * what the pattern rules need as tab-separated lines: items, rolls, CME
 * cases, and the period's last day).  It writes the audit rows a
 * chronology_read names; no row when the caller may not read it. */
DB_SQL(sql_consolidated, 6,
       "select entries, items, rolls, cme, period_end from safeguard.consolidated_read($1::uuid, $2, $3, $4,"
       " $5::jsonb, $6)");

enum { CC_ENTRIES, CC_ITEMS, CC_ROLLS, CC_CME, CC_PERIOD_END };

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

/* Splits the text in s (copied into the arena) into lines of up to max
 * tab-separated fields: *fields gets an array of nlines * max pointers, a
 * missing field "".  Returns the number of lines. */
static size_t split_lines(struct arena *a, const char *s, size_t max, const char ***fields)
{
	char *t = arena_strdup(a, s ? s : ""), *line, *next;
	size_t n = 0, cap = 1;

	for (const char *c = t; *c; c++)
		cap += *c == '\n';
	*fields = arena_alloc(a, cap * max * sizeof **fields);
	for (line = *t ? t : NULL; line; line = next) {
		char *f = line;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (size_t k = 0; k < max; k++) {
			char *tab = f ? strchr(f, '\t') : NULL;

			if (tab)
				*tab = '\0';
			(*fields)[n * max + k] = f ? f : "";
			f = tab ? tab + 1 : NULL;
		}
		n++;
	}
	return n;
}

/* The patterns of the timeline in res (sql_consolidated) as a JSON text
 * (arena): the active entries, the subject children's CME cases and roll
 * status, over the request's period.  An entry without an end date is open
 * (day_end -1): a not-on-roll one lasts until the child is back in
 * education or the period ends. */
static const char *consolidated_patterns(struct sg_req *r, PGresult *res)
{
	struct pattern_input in = {0};
	struct pattern pats[64];
	struct chron_item *items;
	struct roll_status *rolls;
	struct cme_period *cme;
	const char **f;
	json_t *patterns;
	size_t n, np, k = 0;

	n = split_lines(r->arena, PQgetvalue(res, 0, CC_ITEMS), 6, &f);
	items = arena_alloc(r->arena, (n + 1) * sizeof *items);
	for (size_t i = 0; i < n; i++, f += 6) {
		if (strcmp(f[5], "active") != 0)
			continue; /* withdrawn entries stay listed but count for nothing */
		items[k].id = f[0];
		items[k].agency = sg_agency_lookup(f[1]);
		items[k].category = f[2];
		items[k].day = days_from_date(f[3]);
		items[k].day_end = *f[4] ? days_from_date(f[4]) : -1;
		k++;
	}
	in.items = items;
	in.n = k;
	in.nrolls = split_lines(r->arena, PQgetvalue(res, 0, CC_ROLLS), 2, &f);
	in.rolls = rolls = arena_alloc(r->arena, (in.nrolls + 1) * sizeof *rolls);
	for (size_t i = 0; i < in.nrolls; i++, f += 2) {
		rolls[i].child_id = f[0];
		rolls[i].since = *f[1] ? days_from_date(f[1]) : -1;
	}
	in.ncme = split_lines(r->arena, PQgetvalue(res, 0, CC_CME), 3, &f);
	in.cme = cme = arena_alloc(r->arena, (in.ncme + 1) * sizeof *cme);
	for (size_t i = 0; i < in.ncme; i++, f += 3) {
		cme[i].child_id = f[0];
		cme[i].since = days_from_date(f[1]);
		cme[i].back_on = *f[2] ? days_from_date(f[2]) : -1;
	}
	in.today = (int)(time(NULL) / 86400);
	in.period_end = PQgetisnull(res, 0, CC_PERIOD_END) ? 0 : days_from_date(PQgetvalue(res, 0, CC_PERIOD_END));
	np = patterns_find(&in, pats, sizeof pats / sizeof pats[0], r->arena);
	patterns = arena_json(r->arena, json_array());
	for (size_t i = 0; i < np; i++)
		json_array_append_new(patterns, pattern_json(&pats[i]));
	return arena_json_dump(r->arena, patterns);
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

/* The consolidated timeline: {request, entries, patterns}, concatenated
 * rather than printed, since the entries run to megabytes; or its entries as
 * CSV.  The two are two routes, not one negotiated by Accept, so that a
 * client generated from the contract reads the JSON typed rather than as
 * "object or string". */
/* The timeline of request id, read as audit says: {request, entries,
 * patterns}, concatenated rather than printed, since the entries run to
 * megabytes; or its entries as CSV.  The database answers only a reader
 * (safeguard.consolidated_readable): a caller the C let through by mistake
 * gets a 404, never another's timeline. */
static int consolidated_answer(struct sg_req *r, const char *id, const char *request_json,
			       const struct chronology_read *audit, bool csv)
{
	const char *p[6] = {id, audit->action, audit->type, audit->id, audit->details, audit->child_action};
	PGresult *res;
	int rc;

	if ((rc = kit_fetch(r, &sql_consolidated, p, 6, "chronology request", &res)))
		return rc;
	if (csv)
		return consolidated_csv(r, arena_json(r->arena, json_loads(PQgetvalue(res, 0, CC_ENTRIES), 0, NULL)));
	{
		const char *parts[] = {"{\"request\":",
				       request_json,
				       ",\"entries\":",
				       PQgetvalue(res, 0, CC_ENTRIES),
				       ",\"patterns\":",
				       consolidated_patterns(r, res),
				       "}"};
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
