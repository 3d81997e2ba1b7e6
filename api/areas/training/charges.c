/*
 * charges.c - the partnership's non-attendance charges (a late cancellation
 * or a no-show; the amount and currency are the deployment's terms at the
 * time the charge was raised), for training admins: a list per period and
 * agency, the same as CSV (its own route) for the finance team, and waivers with a reason
 * (audited).  Charges are raised by bookings.c and register.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "csv.h"
#include "training.h"

/* ---- field specs ------------------------------------------------------- */

static const struct field_spec waiver_fields[] = {
	{.name = "reason", .type = FT_STRING, .required = true, .min = 1, .max = 1000},
};
static const struct body_spec waiver_body = {.fields = waiver_fields, .n = 1};

static const char *const charge_statuses[] = {"outstanding", "waived", "withdrawn", NULL};
static const char *const charge_reasons[] = {"late_cancellation", "no_show", NULL};

/* The filters, the same on the list and the CSV: from, to, agency, status, reason. */
enum { GF_FROM, GF_TO, GF_AGENCY, GF_STATUS, GF_REASON, GF__COUNT };
#define CHARGE_FILTER_PARAMS                                                                                           \
	{"from", FT_DATE, 0, 0, NULL}, {"to", FT_DATE, 0, 0, NULL}, {"agency", FT_ENUM, 0, 0, sg_agency_names},        \
		{"status", FT_ENUM, 0, 0, charge_statuses},                                                            \
	{                                                                                                              \
		"reason", FT_ENUM, 0, 0, charge_reasons                                                                \
	}

enum { GQ_LIMIT, GQ_CURSOR, GQ_FILTERS };
static const struct query_param charge_query_params[] = {
	[GQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[GQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	CHARGE_FILTER_PARAMS,
};
static const struct query_spec charge_query = {charge_query_params, GQ_FILTERS + GF__COUNT};
static const struct query_param charge_csv_params[] = {CHARGE_FILTER_PARAMS};
static const struct query_spec charge_csv_query = {charge_csv_params, GF__COUNT};

/* a CSV export holds at most this many charges: past it, export a shorter period */
#define CHARGES_CSV_MAX 10000

/* ---- statements (prepared on first use on each connection) ---------------- */

/* from, to, agency, status, reason: parameters $F to $F+4.  The period is
 * in days of the deployment's time zone. */
#define CHARGE_FILTERS(f, t, ag, st, re)                                                                               \
	" (" f "::date is null or (ch.raised_at at time zone t.time_zone)::date >= " f "::date)"                       \
	" and (" t "::date is null or (ch.raised_at at time zone t.time_zone)::date <= " t "::date)"                   \
	" and (" ag "::text is null or b.delegate_agency = " ag ") and (" st "::text is null or ch.status = " st ")"   \
	" and (" re "::text is null or ch.reason = " re ")"

/* The charges in their order, each one's booking looked up by key (offset
 * 0 keeps the lookup per charge): joined, the planner read every booking
 * the caller sees and sorted the charges of all of them to give a page. */
DB_SQL(sql_charge_list, 8,
       "select safeguard.training_charge_json(ch)::text, ch.raised_at::text, ch.id"
       " from safeguard.training_charges ch cross join safeguard.training_settings t cross join lateral"
       " (select b.delegate_agency from safeguard.training_bookings b where b.id = ch.booking_id offset 0) b"
       " where ($1::timestamptz is null or (ch.raised_at, ch.id) > ($1::timestamptz, $2::uuid)) and" CHARGE_FILTERS(
	       "$4", "$5", "$6", "$7", "$8") " order by ch.raised_at, ch.id limit $3::integer");

DB_SQL(sql_charge_csv, 6,
       "select ch.id, to_char(ch.raised_at at time zone t.time_zone, 'YYYY-MM-DD'), ch.reason, ch.status,"
       " to_char(ch.amount_pence / 100.0, 'FM999999990.00'), ch.currency, b.delegate_name, b.delegate_email,"
       " b.delegate_agency, b.line_manager_name, b.line_manager_email, c.title,"
       " to_char(s.starts_at at time zone t.time_zone, 'YYYY-MM-DD'), b.id, ch.waiver_reason"
       " from safeguard.training_charges ch join safeguard.training_bookings b on b.id = ch.booking_id"
       " join safeguard.training_sessions s on s.id = b.session_id"
       " join safeguard.training_courses c on c.id = s.course_id"
       " cross join safeguard.training_settings t"
       " where" CHARGE_FILTERS("$2", "$3", "$4", "$5", "$6") " order by ch.raised_at, ch.id limit $1::integer");

DB_SQL(sql_charge_waive, 2,
       "update safeguard.training_charges set status = 'waived', waived_at = clock_timestamp(),"
       " waived_by = safeguard.app_sub(), waiver_reason = $2 where id = $1::uuid and status = 'outstanding'"
       " returning safeguard.training_charge_json(training_charges)::text, booking_id");

DB_SQL(sql_charge_status, 1, "select status from safeguard.training_charges where id = $1::uuid");

/* ---- handlers ------------------------------------------------------------ */

/* 0 when the period's from is not after its to, else 400. */
static int charges_period(struct sg_req *r, const char *const *f)
{
	struct verrs errs = {0};

	if (!f[GF_FROM] || !f[GF_TO] || strcmp(f[GF_FROM], f[GF_TO]) <= 0)
		return 0;
	verrs_add(&errs, "to", "before_from", "must not be before from");
	return http_problem_errors(r, 400, "invalid-query", "the query has invalid parameters", &errs);
}

/* The whole selection as CSV for the finance team: its own route, so that
 * the list's 200 is JSON only (a generated client reads it typed). */
static int charges_csv(struct sg_req *r)
{
	static const char *const head[] = {
		"charge_id",          "raised_on",     "reason",         "status",     "amount",
		"currency",           "delegate_name", "delegate_email", "agency",     "line_manager_name",
		"line_manager_email", "course",        "session_date",   "booking_id", "waiver_reason"};
	const char *const *f = r->query.values;
	const char *p[6] = {arena_printf(r->arena, "%d", CHARGES_CSV_MAX + 1),
			    f[GF_FROM],
			    f[GF_TO],
			    f[GF_AGENCY],
			    f[GF_STATUS],
			    f[GF_REASON]};
	struct csv c;
	PGresult *res;
	int rc;

	if ((rc = charges_period(r, f)) || (rc = kit_exec(r, &sql_charge_csv, p, 6, &res)))
		return rc;
	if (PQntuples(res) > CHARGES_CSV_MAX) {
		struct verrs errs = {0};

		verrs_add(&errs, "from", "too_many", "the period holds more than 10000 charges; export a shorter one");
		return http_problem_errors(r, 400, "invalid-query", "the export is too large", &errs);
	}
	csv_init(&c, r->arena);
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		csv_cell(&c, head[i], i + 1 == sizeof head / sizeof head[0]);
	for (int i = 0; i < PQntuples(res); i++)
		for (int k = 0; k < PQnfields(res); k++)
			csv_cell(&c, PQgetisnull(res, i, k) ? NULL : PQgetvalue(res, i, k), k + 1 == PQnfields(res));
	/* the name is made of two dates the query spec has checked */
	return csv_answer(r, &c,
			  arena_printf(r->arena, "training-charges-%s-%s.csv", f[GF_FROM] ? f[GF_FROM] : "start",
				       f[GF_TO] ? f[GF_TO] : "now"));
}

static int charges_list(struct sg_req *r)
{
	static const enum kit_key keys[] = {KIT_KEY_TIMESTAMP, KIT_KEY_UUID};
	const char *const *q = r->query.values, *const *f = q + GQ_FILTERS;
	struct kit_page pg;
	const char *p[8];
	PGresult *res;
	int rc;

	if ((rc = charges_period(r, f)) || (rc = kit_page_begin(r, q[GQ_LIMIT], q[GQ_CURSOR], keys, 2, &pg)))
		return rc;
	p[0] = pg.after[0];
	p[1] = pg.after[1];
	p[2] = pg.fetch;
	for (int i = 0; i < GF__COUNT; i++)
		p[3 + i] = f[i];
	if ((rc = kit_exec(r, &sql_charge_list, p, 8, &res)))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

static int charges_waive(struct sg_req *r)
{
	const char *p[2] = {r->params[0], kit_str(r->body, "reason")};
	PGresult *res;
	int rc;

	if (!validate_uuid(p[0]))
		return http_not_found(r, "charge");
	if ((rc = kit_exec(r, &sql_charge_waive, p, 2, &res)))
		return rc;
	if (PQntuples(res) == 0) {
		if ((rc = kit_fetch(r, &sql_charge_status, p, 1, "charge", &res)))
			return rc;
		return http_problem(r, 409, "conflict",
				    arena_printf(r->arena, "the charge is %s; only an outstanding one is waived",
						 PQgetvalue(res, 0, 0)));
	}
	if ((rc = kit_audit(r, "training.charge.waive", "training_charge", p[0],
			    arena_printf(r->arena, "{\"booking_id\": \"%s\"}", PQgetvalue(res, 0, 1)))))
		return rc;
	return kit_json_text(r, 200, PQgetvalue(res, 0, 0));
}

static const struct route charges_route_list[] = {
	{"GET", "/v1/training-charges", PERM_TRAINING_MANAGE, NULL, &charge_query, charges_list,
	 "training_charges.list", 0},
	{"GET", "/v1/training-charges.csv", PERM_TRAINING_MANAGE, NULL, &charge_csv_query, charges_csv,
	 "training_charges.csv", 0},
	{"POST", "/v1/training-charges/{id}/waiver", PERM_TRAINING_MANAGE, &waiver_body, NULL, charges_waive,
	 "training_charges.waiver.create", ROUTE_IDEMPOTENT},
};

const struct sg_area charges_area = SG_AREA("training_charges", charges_route_list);
