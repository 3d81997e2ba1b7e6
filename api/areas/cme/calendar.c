/*
 * calendar.c - the deployment's school calendar: terms, holidays and bank
 * holidays, held as data and managed by admins, and the school days between
 * two dates that children missing education are counted in.  A school day is
 * a weekday that is neither a holiday nor a bank holiday nor in a gap between
 * two terms (safeguard.school_days, migration 009): counting happens in the
 * database, so the CME cases can be sorted and paged by it there.
 *
 * The calendar holds no personal data: any authenticated caller reads it;
 * its changes are audited.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ident.h"
#include "kit.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const calendar_kinds[] = {"term", "holiday", "bank_holiday", NULL};

/* Days since the epoch of a date the field specs already checked; NO_DAY for
 * none.  Dates before 1970 are negative, so none is not -1. */
#define NO_DAY LONG_MIN
static long day_of(const char *ymd)
{
	struct tm tm = {0};

	if (!ymd || !validate_date(ymd))
		return NO_DAY;
	tm.tm_year = atoi(ymd) - 1900;
	tm.tm_mon = atoi(ymd + 5) - 1;
	tm.tm_mday = atoi(ymd + 8);
	return (long)(timegm(&tm) / 86400);
}

static void check_entry(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *kind = kit_str(b, "kind"), *from = kit_str(b, "starts_on"), *to = kit_str(b, "ends_on");
	long f = day_of(from), t = day_of(to);

	(void)a;
	if (f == NO_DAY || t == NO_DAY)
		return;
	if (t < f)
		verrs_add(errs, "ends_on", "before_start", "must not be before starts_on");
	else if (t - f > 366)
		verrs_add(errs, "ends_on", "too_long", "a term or holiday lasts at most a year");
	if (kind && !strcmp(kind, "bank_holiday") && t != f)
		verrs_add(errs, "ends_on", "one_day", "a bank holiday is one day: ends_on must be starts_on");
}

static const struct field_spec entry_fields[] = {
	{.name = "kind", .type = FT_ENUM, .required = true, .enum_values = calendar_kinds},
	{.name = "name", .type = FT_STRING, .required = true, .min = 1, .max = 200},
	{.name = "starts_on", .type = FT_DATE, .required = true},
	{.name = "ends_on", .type = FT_DATE, .required = true},
};
static const char *const entry_read_only[] = {"id", "version", "created_at", "created_by", NULL};
static const struct body_spec entry_body = {.fields = entry_fields,
					    .n = sizeof entry_fields / sizeof entry_fields[0],
					    .read_only = entry_read_only,
					    .check = check_entry};

enum { LQ_FROM, LQ_TO, LQ_KIND, LQ_LIMIT, LQ_CURSOR };
static const struct query_param list_params[] = {
	[LQ_FROM] = {"from", FT_DATE, 0, 0, NULL},           [LQ_TO] = {"to", FT_DATE, 0, 0, NULL},
	[LQ_KIND] = {"kind", FT_ENUM, 0, 0, calendar_kinds}, [LQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[LQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec list_query = {list_params, sizeof list_params / sizeof list_params[0]};

enum { DQ_FROM, DQ_TO };
static const struct query_param days_params[] = {
	[DQ_FROM] = {"from", FT_DATE, 0, 0, NULL},
	[DQ_TO] = {"to", FT_DATE, 0, 0, NULL},
};
static const struct query_spec days_query = {days_params, 2};

/* the longest span school days are counted over in one question (ten years) */
#define DAYS_SPAN_MAX 3660

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_calendar_insert, 2,
       "insert into safeguard.school_calendar (id, kind, name, starts_on, ends_on, created_by)"
       " select $1::uuid, b->>'kind', b->>'name', (b->>'starts_on')::date, (b->>'ends_on')::date,"
       " safeguard.app_sub() from (select $2::jsonb as b) s"
       " returning safeguard.school_calendar_json(school_calendar)::text, version");

DB_SQL(sql_calendar_get, 1,
       "select safeguard.school_calendar_json(s)::text, s.version from safeguard.school_calendar s"
       " where s.id = $1::uuid");

/* entries are never changed, only added and removed: the version the
 * client read is checked by the delete itself */
DB_SQL(sql_calendar_delete, 2,
       "delete from safeguard.school_calendar where id = $1::uuid and version = $2::int returning id");

/* (json, starts_on, id): the cursor */
DB_SQL(sql_calendar_list, 6,
       "select safeguard.school_calendar_json(s)::text, s.starts_on::text, s.id from safeguard.school_calendar s"
       " where ($1::date is null or s.ends_on >= $1::date) and ($2::date is null or s.starts_on <= $2::date)"
       " and ($3::text is null or s.kind = $3)"
       " and ($4::date is null or (s.starts_on, s.id) > ($4::date, $5::uuid))"
       " order by s.starts_on, s.id limit $6::int");

DB_SQL(sql_school_days, 2,
       "select safeguard.school_days($1::date, $2::date),"
       " (select count(*) from generate_series($1::date, $2::date, interval '1 day') d"
       " where extract(isodow from d) < 6)");

/* ---- handlers ------------------------------------------------------------ */

static int calendar_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *p[2] = {id, arena_json_dump(r->arena, r->body)};
	PGresult *res;
	char sqlstate[6];
	int rc;

	rc = kit_exec_constraint(r, &sql_calendar_insert, p, 2, &res, sqlstate);
	if (rc == KIT_CONSTRAINT)
		return http_problem(r, 409, "conflict",
				    !strcmp(sqlstate, "23P01")
					    ? "the term overlaps another term of the calendar: terms never overlap"
					    : "the calendar already has a bank holiday on that day");
	if (rc || (rc = kit_audit(r, "school_calendar.create", "school_calendar", id, NULL)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/school-calendar/%s", id));
	return kit_resource(r, 201, res, 0);
}

static int calendar_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_calendar_list, LQ_LIMIT, LQ_CURSOR,
					     KIT_KEYS(KIT_KEY_DATE, KIT_KEY_UUID),
					     KIT_ARGS(LQ_FROM, LQ_TO, LQ_KIND, KIT_ARG_AFTER, KIT_ARG_FETCH)};

	return kit_list(r, &list);
}

static int calendar_show(struct sg_req *r)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_calendar_get, r->params[0], "school calendar entry", &res)))
		return rc;
	return kit_show(r, res, 0);
}

static int calendar_delete(struct sg_req *r)
{
	const char *p[2] = {r->params[0], NULL};
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_calendar_get, r->params[0], "school calendar entry", &res)) ||
	    (rc = kit_if_match(r, PQgetvalue(res, 0, 1))))
		return rc;
	p[1] = PQgetvalue(res, 0, 1);
	if ((rc = kit_exec(r, &sql_calendar_delete, p, 2, &res)))
		return rc;
	if (PQntuples(res) == 0) /* removed by someone else since it was read */
		return http_not_found(r, "school calendar entry");
	if ((rc = kit_audit(r, "school_calendar.delete", "school_calendar", r->params[0], NULL)))
		return rc;
	r->status = 204;
	return 204;
}

/* School days from..to (both included), with the weekdays for comparison. */
static int calendar_school_days(struct sg_req *r)
{
	const char *const *q = r->query.values;
	const char *p[2] = {q[DQ_FROM], q[DQ_TO]};
	struct verrs errs = {0};
	PGresult *res;
	int rc;

	if (!p[0])
		verrs_add(&errs, "from", "required", "is required");
	if (!p[1])
		verrs_add(&errs, "to", "required", "is required");
	if (p[0] && p[1] && day_of(p[1]) < day_of(p[0]))
		verrs_add(&errs, "to", "before_start", "must not be before from");
	else if (p[0] && p[1] && day_of(p[1]) - day_of(p[0]) > DAYS_SPAN_MAX)
		verrs_add(&errs, "to", "too_long", "count over ten years at most");
	if (errs.n)
		return http_problem_errors(r, 400, "invalid-query", "the query has invalid parameters", &errs);
	if ((rc = kit_exec(r, &sql_school_days, p, 2, &res)))
		return rc;
	return http_json(r, 200,
			 json_pack("{s:s, s:s, s:i, s:i}", "from", p[0], "to", p[1], "school_days",
				   atoi(PQgetvalue(res, 0, 0)), "weekdays", atoi(PQgetvalue(res, 0, 1))));
}

static const struct route cme_calendar_route_list[] = {
	{"GET", "/v1/school-calendar", PERM_AUTHENTICATED, NULL, &list_query, calendar_list, "school_calendar.list", 0},
	{"POST", "/v1/school-calendar", PERM_CALENDAR_MANAGE, &entry_body, NULL, calendar_create,
	 "school_calendar.create", ROUTE_IDEMPOTENT},
	/* before {id}, which would take "school-days" for an id */
	{"GET", "/v1/school-calendar/school-days", PERM_AUTHENTICATED, NULL, &days_query, calendar_school_days,
	 "school_calendar.school_days", 0},
	{"GET", "/v1/school-calendar/{id}", PERM_AUTHENTICATED, NULL, NULL, calendar_show, "school_calendar.show", 0},
	{"DELETE", "/v1/school-calendar/{id}", PERM_CALENDAR_MANAGE, NULL, NULL, calendar_delete,
	 "school_calendar.delete", 0},
};

const struct sg_area cme_calendar_area = SG_AREA("cme_calendar", cme_calendar_route_list);
