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
 * (020), which is passed through as it comes.  A worker holds the last few
 * timelines it sent, under the digest the database gave them (029), and
 * the database sends the entries again only when they differ.  Every read
 * writes an audit row for what was read and one for each child the
 * timeline shows, whether or not the entries travelled.  The CSV cells are
 * core/csv.c's, safe to open in a spreadsheet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "chronology.h"
#include "csv.h"
#include "patterns.h"
#include "pool.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

/* The timeline in one call (020, 021, 029): (the digest of what is stored,
 * entries as one JSON array, then what the pattern rules need as
 * tab-separated lines: items, rolls, CME cases, and the period's last
 * day); entries and items null when $7 is the digest.  It writes the audit
 * rows a chronology_read names; no row when the caller may not read it. */
DB_SQL(sql_consolidated, 7,
       "select digest, entries, items, rolls, cme, period_end from safeguard.consolidated_read($1::uuid, $2, $3,"
       " $4, $5::jsonb, $6, $7)");

enum { CC_DIGEST, CC_ENTRIES, CC_ITEMS, CC_ROLLS, CC_CME, CC_PERIOD_END };

/* ---- the timelines this worker holds ---------------------------------------- */

/* The last few timelines this worker sent, each under the request's id and
 * the digest the database stored it with, and the patterns last found in
 * it with the inputs they came from (rolls, CME cases, period end, day).
 * The cache decides nothing: the database checks the reader and writes the
 * audit rows on every read, and answers without entries only when the
 * digest named is the one it stores for that request now.  Owned by the
 * worker (malloc), freed at its exit. */
#define HELD_SLOTS 4
#define HELD_BYTES ((size_t)sg_cfg.timeline_cache) /* all slots together (SG_TIMELINE_CACHE_MB) */

struct held {
	char request_id[37];
	char digest[65];
	char *entries;
	size_t entries_len;
	char *items;
	size_t bytes;
	unsigned long used;
	char *patterns_key; /* rolls, CME cases, period end and day the patterns were found for */
	char *patterns;
};

static struct held held[HELD_SLOTS];
static unsigned long held_clock;

static void held_clear(struct held *h)
{
	free(h->entries);
	free(h->items);
	free(h->patterns_key);
	free(h->patterns);
	memset(h, 0, sizeof *h);
}

static void held_release(void)
{
	for (int i = 0; i < HELD_SLOTS; i++)
		held_clear(&held[i]);
}

/* The slot holding request id, or NULL (borrowed). */
static struct held *held_find(const char *id)
{
	for (int i = 0; i < HELD_SLOTS; i++)
		if (held[i].entries && strcmp(held[i].request_id, id) == 0)
			return &held[i];
	return NULL;
}

/* Keeps a copy of the timeline (digest, entries, items) of request id in
 * place of any older one of it, evicting the least recently used while the
 * slots would hold more than HELD_BYTES.  Returns the slot (borrowed), or
 * NULL when it is not kept (too large, no memory): the caller answers from
 * its result all the same. */
static struct held *held_store(const char *id, const char *digest, const char *entries, size_t entries_len,
			       const char *items)
{
	static bool release_at_exit;
	size_t items_len = strlen(items), bytes = entries_len + items_len, total = 0;
	struct held *h = held_find(id);

	if (h)
		held_clear(h);
	if (strlen(id) >= sizeof h->request_id || strlen(digest) >= sizeof h->digest || bytes > HELD_BYTES / 2)
		return NULL;
	for (int i = 0; i < HELD_SLOTS; i++)
		total += held[i].bytes;
	for (;;) {
		struct held *lru = NULL;

		for (int i = 0; i < HELD_SLOTS; i++) {
			if (!held[i].entries) {
				if (!h)
					h = &held[i];
				continue;
			}
			if (!lru || held[i].used < lru->used)
				lru = &held[i];
		}
		if (h && total + bytes <= HELD_BYTES)
			break;
		total -= lru->bytes; /* lru is set: a full or oversized set has a slot in use */
		held_clear(lru);
	}
	h->entries = malloc(entries_len + 1);
	h->items = malloc(items_len + 1);
	if (!h->entries || !h->items) {
		held_clear(h);
		return NULL;
	}
	memcpy(h->entries, entries, entries_len + 1);
	memcpy(h->items, items, items_len + 1);
	h->entries_len = entries_len;
	h->bytes = bytes;
	strcpy(h->request_id, id);
	strcpy(h->digest, digest);
	if (!release_at_exit)
		worker_at_exit(held_release), release_at_exit = true;
	return h;
}

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

/* The patterns of the timeline whose pattern items are items_text, with
 * the rest of their inputs in res (sql_consolidated), as a JSON text
 * (arena): the active entries, the subject children's CME cases and roll
 * status, over the request's period.  An entry without an end date is open
 * (day_end -1): a not-on-roll one lasts until the child is back in
 * education or the period ends. */
static const char *consolidated_patterns_find(struct sg_req *r, const char *items_text, PGresult *res)
{
	struct pattern_input in = {0};
	struct pattern pats[64];
	struct chron_item *items;
	struct roll_status *rolls;
	struct cme_period *cme;
	const char **f;
	json_t *patterns;
	size_t n, np, k = 0;

	n = split_lines(r->arena, items_text, 6, &f);
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

/* The patterns as consolidated_patterns_find gives them, found again only
 * when a held timeline's inputs (its items, the rolls, CME cases, period
 * end and day in res) differ from those it last found them for. */
static const char *consolidated_patterns(struct sg_req *r, struct held *h, const char *items_text, PGresult *res)
{
	const char *key, *found;

	if (!h)
		return consolidated_patterns_find(r, items_text, res);
	key = arena_printf(r->arena, "%s\x1f%s\x1f%s\x1f%ld", PQgetvalue(res, 0, CC_ROLLS), PQgetvalue(res, 0, CC_CME),
			   PQgetvalue(res, 0, CC_PERIOD_END), (long)(time(NULL) / 86400));
	if (h->patterns_key && strcmp(h->patterns_key, key) == 0)
		return h->patterns;
	found = consolidated_patterns_find(r, items_text, res);
	free(h->patterns_key);
	free(h->patterns);
	h->patterns_key = strdup(key);
	h->patterns = strdup(found);
	if (!h->patterns_key || !h->patterns) {
		free(h->patterns_key);
		free(h->patterns);
		h->patterns_key = h->patterns = NULL;
	}
	return found;
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
	struct held *h = held_find(id);
	const char *p[7] = {
		id, audit->action, audit->type, audit->id, audit->details, audit->child_action, h ? h->digest : NULL};
	const char *entries, *items;
	size_t entries_len;
	PGresult *res;
	int rc;

	if ((rc = kit_fetch(r, &sql_consolidated, p, 7, "chronology request", &res)))
		return rc;
	if (PQgetisnull(res, 0, CC_ENTRIES)) {
		/* the database stores what this worker holds: it said so by digest */
		if (!h || strcmp(h->digest, PQgetvalue(res, 0, CC_DIGEST)) != 0)
			return http_internal(r, "timeline sent without entries for a digest not held");
	} else {
		h = held_store(id, PQgetvalue(res, 0, CC_DIGEST), PQgetvalue(res, 0, CC_ENTRIES),
			       (size_t)PQgetlength(res, 0, CC_ENTRIES), PQgetvalue(res, 0, CC_ITEMS));
	}
	if (h) {
		h->used = ++held_clock;
		entries = h->entries, entries_len = h->entries_len, items = h->items;
	} else {
		entries = PQgetvalue(res, 0, CC_ENTRIES), entries_len = (size_t)PQgetlength(res, 0, CC_ENTRIES);
		items = PQgetvalue(res, 0, CC_ITEMS);
	}
	if (csv)
		return consolidated_csv(r, arena_json(r->arena, json_loadb(entries, entries_len, 0, NULL)));
	{
		const char *patterns = consolidated_patterns(r, h, items, res);
		const char *parts[] = {
			"{\"request\":", request_json, ",\"entries\":", entries, ",\"patterns\":", patterns, "}"};
		size_t lens[sizeof parts / sizeof parts[0]];
		size_t len = 0, o = 0;
		char *body;

		for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
			len += lens[i] = parts[i] == entries ? entries_len : strlen(parts[i]);
		body = arena_alloc_uninit(r->arena, len + 1);
		for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
			memcpy(body + o, parts[i], lens[i]);
			o += lens[i];
		}
		body[o] = '\0';
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
