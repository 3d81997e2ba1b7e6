/*
 * report.c - the partnership's report on screenings: how many were
 * submitted in each month, by area (the child's postcode district when the
 * screening was submitted), level and the decision taken, without names or
 * ids, as JSON or (a route of its own) as CSV safe to open in a spreadsheet.
 * The database counts across every agency's screenings, after checking the
 * caller's role itself (safeguard.screening_report, 010).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "csv.h"
#include "screening.h"

/* ---- field specs ------------------------------------------------------- */

enum { RQ_FROM, RQ_TO };
static const struct query_param report_params[] = {
	[RQ_FROM] = {"from", FT_DATE, 0, 0, NULL},
	[RQ_TO] = {"to", FT_DATE, 0, 0, NULL},
};
static const struct query_spec report_query = {report_params, 2};

/* at most this many days in one report (about five years) */
#define REPORT_SPAN_MAX 1830

static const char *const report_columns[] = {"month", "area", "level", "outcome", "screenings", NULL};

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_report, 2,
       "select month, area, level, outcome, screenings::text from safeguard.screening_report($1::date, $2::date)");

/* ---- handler ------------------------------------------------------------ */

static long day_of(const char *ymd)
{
	struct tm tm = {0};

	tm.tm_year = atoi(ymd) - 1900;
	tm.tm_mon = atoi(ymd + 5) - 1;
	tm.tm_mday = atoi(ymd + 8);
	return (long)(timegm(&tm) / 86400);
}

/* The first day of the month eleven months before today's: a year of months. */
static const char *year_ago(struct arena *a)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	tm.tm_mon -= 11;
	tm.tm_mday = 1;
	t = timegm(&tm); /* normalises the month */
	gmtime_r(&t, &tm);
	return arena_printf(a, "%04d-%02d-01", tm.tm_year + 1900, tm.tm_mon + 1);
}

/* The last day of date's month (YYYY-MM-DD). */
static const char *month_last(struct arena *a, const char *ymd)
{
	struct tm tm = {0};
	time_t t;

	tm.tm_year = atoi(ymd) - 1900;
	tm.tm_mon = atoi(ymd + 5); /* the next month's day 0 */
	tm.tm_mday = 0;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	return arena_printf(a, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Small-number suppression: a count under 5 in one month, postcode
 * district, level and outcome could point to one child, so it is withheld. */
#define REPORT_SMALLEST 5
static bool report_small(PGresult *res, int row)
{
	return strtol(PQgetvalue(res, row, 4), NULL, 10) < REPORT_SMALLEST;
}

/* The report's period (p: from, to) and rows, audited as read: 0, or 400
 * and the failures' answers. */
static int report_load(struct sg_req *r, const char *p[2], PGresult **res)
{
	const char *const *q = r->query.values;
	struct verrs errs = {0};
	int rc;

	p[0] = q[RQ_FROM] ? q[RQ_FROM] : year_ago(r->arena);
	p[1] = q[RQ_TO] ? q[RQ_TO] : kit_today(r->arena);
	if (day_of(p[1]) < day_of(p[0]))
		verrs_add(&errs, "to", "before_start", "must not be before from");
	else if (day_of(p[1]) - day_of(p[0]) > REPORT_SPAN_MAX)
		verrs_add(&errs, "to", "too_long", "a report covers five years at most");
	if (errs.n)
		return http_problem_errors(r, 400, "invalid-query", "the query has invalid parameters", &errs);
	/* whole months, as the counts are: two periods a day apart would
	 * otherwise tell a withheld count by their difference */
	p[0] = arena_printf(r->arena, "%.7s-01", p[0]);
	p[1] = month_last(r->arena, p[1]);
	if ((rc = kit_exec(r, &sql_report, p, 2, res)) ||
	    (rc = kit_audit(r, "screening.report.read", "screening_report", NULL,
			    arena_printf(r->arena, "{\"from\":\"%s\",\"to\":\"%s\"}", p[0], p[1]))))
		return rc;
	return 0;
}

static int screening_report(struct sg_req *r)
{
	const char *p[2];
	PGresult *res;
	json_t *items;
	int rc;

	if ((rc = report_load(r, p, &res)))
		return rc;
	items = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		bool small = report_small(res, i);

		json_array_append_new(
			items, json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "month", PQgetvalue(res, i, 0), "area",
					 PQgetvalue(res, i, 1), "level", PQgetvalue(res, i, 2), "outcome",
					 PQgetvalue(res, i, 3), "screenings",
					 small ? json_null() : json_integer(strtol(PQgetvalue(res, i, 4), NULL, 10)),
					 "suppressed", small));
	}
	return http_json(r, 200, json_pack("{s:s, s:s, s:o}", "from", p[0], "to", p[1], "items", items));
}

/* The same rows as CSV: its own route, so that the report's 200 is JSON
 * only (a generated client reads it typed). */
static int screening_report_csv(struct sg_req *r)
{
	const char *p[2];
	PGresult *res;
	struct csv c;
	int rc;

	if ((rc = report_load(r, p, &res)))
		return rc;
	csv_init(&c, r->arena);
	for (size_t col = 0; report_columns[col]; col++)
		csv_cell(&c, report_columns[col], !report_columns[col + 1]);
	for (int i = 0; i < PQntuples(res); i++)
		for (int col = 0; report_columns[col]; col++)
			csv_cell(&c, col == 4 && report_small(res, i) ? "<5" : PQgetvalue(res, i, col),
				 !report_columns[col + 1]);
	return csv_answer(r, &c, arena_printf(r->arena, "screenings-%s-%s.csv", p[0], p[1]));
}

static const struct route screening_report_route_list[] = {
	{"GET", "/v1/screening-report", PERM_SCREENING_REPORT, NULL, &report_query, screening_report,
	 "screening_report.show", 0},
	{"GET", "/v1/screening-report.csv", PERM_SCREENING_REPORT, NULL, &report_query, screening_report_csv,
	 "screening_report.csv", 0},
};

const struct sg_area screening_report_area = SG_AREA("screening_report", screening_report_route_list);
