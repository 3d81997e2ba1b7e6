/*
 * register.c - who booked: a session's register, which a training admin
 * marks attended or no_show once the session has started, and the list of
 * bookings an agency's safeguarding lead reads for compliance (their own
 * agency's; training admins see every agency's).  Anyone else is refused
 * the route (403), and a booking they may not see is 404 everywhere.
 *
 * Marking attended issues the booking's certificate (a number a training
 * admin can verify) and withdraws a no-show charge raised by mistake;
 * no_show raises the charge and revokes any certificate.  Every change to
 * the register is an audit event (about a booking, never about a child).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "training.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const attendance_values[] = {"attended", "no_show", NULL};
static const struct field_spec attendance_fields[] = {
	{.name = "status", .type = FT_ENUM, .required = true, .enum_values = attendance_values},
};
static const struct body_spec attendance_body = {.fields = attendance_fields, .n = 1};

static const char *const booking_statuses[] = {"confirmed",         "waitlisted", "cancelled", "late_cancelled",
					       "session_cancelled", "attended",   "no_show",   NULL};

enum { RQ_LIMIT, RQ_CURSOR, RQ_STATUS };
static const struct query_param register_query_params[] = {
	[RQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[RQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[RQ_STATUS] = {"status", FT_ENUM, 0, 0, booking_statuses},
};
static const struct query_spec register_query = {register_query_params, 3};

enum { BQ_LIMIT, BQ_CURSOR, BQ_STATUS, BQ_SESSION, BQ_COURSE, BQ_AGENCY };
static const struct query_param list_query_params[] = {
	[BQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[BQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[BQ_STATUS] = {"status", FT_ENUM, 0, 0, booking_statuses},
	[BQ_SESSION] = {"session_id", FT_UUID, 0, 0, NULL},
	[BQ_COURSE] = {"course_id", FT_UUID, 0, 0, NULL},
	[BQ_AGENCY] = {"agency", FT_ENUM, 0, 0, sg_agency_names},
};
static const struct query_spec list_query = {list_query_params, 6};

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_session_visible, 1, "select exists (select 1 from safeguard.training_sessions s where s.id = $1::uuid)");

/* the policy decides which rows; the condition says the same, readably */
DB_SQL(sql_register_list, 4,
       "select safeguard.training_booking_json(b)::text, b.queue_seq::text from safeguard.training_bookings b"
       " where b.session_id = $1::uuid and safeguard.training_may_see(b.delegate_sub, b.delegate_agency)"
       " and ($2::bigint is null or b.queue_seq > $2::bigint) and ($4::text is null or b.status = $4)"
       " order by b.queue_seq limit $3::integer");

DB_SQL(sql_booking_list, 7,
       "select safeguard.training_booking_json(s.r)::text, s.created_at::text, s.id from" TRAINING_SEEN(
	       "safeguard.training_bookings b", "b",
	       "($1::timestamptz is null or (b.created_at, b.id) > ($1::timestamptz, $2::uuid))"
	       " and ($4::text is null or b.status = $4) and ($5::uuid is null or b.session_id = $5)"
	       " and ($6::uuid is null or b.session_id in (select x.id from safeguard.training_sessions x"
	       "   where x.course_id = $6)) and ($7::text is null or b.delegate_agency = $7)",
	       "$3::integer") " order by s.created_at, s.id limit $3::integer");

DB_SQL(sql_booking_session, 1, "select b.session_id from safeguard.training_bookings b where b.id = $1::uuid");

/* (…, started) of the session, under its lock */
DB_SQL(sql_session_lock, 1, "select started from safeguard.training_session_lock($1::uuid)");

DB_SQL(sql_attendance_mark, 2,
       "with old as (select id, status from safeguard.training_bookings where id = $1::uuid for update)"
       " update safeguard.training_bookings b set status = $2, attendance_marked_at = clock_timestamp(),"
       " attendance_marked_by = safeguard.app_sub(), version = b.version + 1, updated_at = clock_timestamp()"
       " from old where b.id = old.id and old.status in ('confirmed', 'attended', 'no_show')"
       " and old.status <> $2 returning old.status");

DB_SQL(sql_booking_status, 1, "select status from safeguard.training_bookings where id = $1::uuid");

/* no_show: the charge (again, if a correction had withdrawn it); a waived
 * one stays waived */
DB_SQL(sql_charge_no_show, 1,
       "insert into safeguard.training_charges (id, booking_id, reason, amount_pence, currency, raised_by)"
       " select gen_random_uuid(), $1::uuid, 'no_show', t.charge_pence, t.currency, safeguard.app_sub()"
       " from safeguard.training_settings t"
       " on conflict (booking_id) do update set reason = 'no_show', status = 'outstanding',"
       " amount_pence = excluded.amount_pence, currency = excluded.currency, raised_at = clock_timestamp(),"
       " raised_by = excluded.raised_by, withdrawn_at = null, withdrawn_reason = null"
       " where training_charges.status = 'withdrawn'");

DB_SQL(sql_charge_withdraw, 1,
       "update safeguard.training_charges set status = 'withdrawn', withdrawn_at = clock_timestamp(),"
       " withdrawn_reason = 'the register was corrected to attended'"
       " where booking_id = $1::uuid and status = 'outstanding' and reason = 'no_show'");

DB_SQL(sql_certificate_issue, 1,
       "insert into safeguard.training_certificates (number, booking_id)"
       " select t.certificate_prefix || '-' || to_char(now() at time zone t.time_zone, 'YYYY') || '-'"
       "  || lpad(nextval('safeguard.training_certificate_numbers')::text, 6, '0'), $1::uuid"
       " from safeguard.training_settings t"
       " on conflict (booking_id) do update set revoked_at = null");

DB_SQL(sql_certificate_revoke, 1,
       "update safeguard.training_certificates set revoked_at = clock_timestamp()"
       " where booking_id = $1::uuid and revoked_at is null");

/* ---- handlers ------------------------------------------------------------ */

static int register_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_register_list, RQ_LIMIT, RQ_CURSOR, KIT_KEYS(KIT_KEY_INT),
					     KIT_ARGS(KIT_ARG_ID, KIT_ARG_AFTER, KIT_ARG_FETCH, RQ_STATUS)};
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_session_visible, r->params[0], "training session", &res)))
		return rc;
	if (PQgetvalue(res, 0, 0)[0] != 't')
		return http_not_found(r, "training session");
	return kit_list(r, &list);
}

static int register_bookings(struct sg_req *r)
{
	static const struct kit_list list = {
		&sql_booking_list, BQ_LIMIT, BQ_CURSOR, KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
		KIT_ARGS(KIT_ARG_AFTER, KIT_ARG_FETCH, BQ_STATUS, BQ_SESSION, BQ_COURSE, BQ_AGENCY)};

	return kit_list(r, &list);
}

static int register_mark(struct sg_req *r)
{
	const char *id = r->params[0], *to = kit_str(r->body, "status"), *from;
	const char *p[2] = {id, to};
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_booking_session, id, "booking", &res)))
		return rc;
	p[0] = PQgetvalue(res, 0, 0);
	if ((rc = kit_fetch(r, &sql_session_lock, p, 1, "booking", &res)))
		return rc;
	if (PQgetvalue(res, 0, 0)[0] != 't')
		return http_problem(r, 409, "conflict",
				    "the session has not started yet; the register opens when it does");
	p[0] = id;
	if ((rc = kit_exec(r, &sql_attendance_mark, p, 2, &res)))
		return rc;
	if (PQntuples(res) == 0) {
		/* unchanged (already so), or not on the register at all */
		if ((rc = kit_fetch(r, &sql_booking_status, p, 1, "booking", &res)))
			return rc;
		if (!strcmp(PQgetvalue(res, 0, 0), to))
			return training_booking_answer(r, 200, id);
		return http_problem(r, 409, "conflict",
				    arena_printf(r->arena,
						 "only a confirmed booking is on the register; this one is %s",
						 PQgetvalue(res, 0, 0)));
	}
	from = arena_strdup(r->arena, PQgetvalue(res, 0, 0));
	if (!strcmp(to, "no_show") && ((rc = kit_exec(r, &sql_charge_no_show, p, 1, &res)) ||
				       (rc = kit_exec(r, &sql_certificate_revoke, p, 1, &res))))
		return rc;
	if (!strcmp(to, "attended") && ((rc = kit_exec(r, &sql_charge_withdraw, p, 1, &res)) ||
					(rc = kit_exec(r, &sql_certificate_issue, p, 1, &res))))
		return rc;
	if ((rc = kit_audit(r, "training.attendance.mark", "training_booking", id,
			    arena_printf(r->arena, "{\"from\": \"%s\", \"to\": \"%s\"}", from, to))))
		return rc;
	return training_booking_answer(r, 200, id);
}

static const struct route register_route_list[] = {
	{"GET", "/v1/training-sessions/{id}/bookings", PERM_TRAINING_OVERSIGHT, NULL, &register_query, register_list,
	 "training_sessions.bookings.list", 0},
	{"GET", "/v1/bookings", PERM_TRAINING_OVERSIGHT, NULL, &list_query, register_bookings, "bookings.list", 0},
	{"PUT", "/v1/bookings/{id}/attendance", PERM_TRAINING_MANAGE, &attendance_body, NULL, register_mark,
	 "bookings.attendance.update", 0},
};

const struct sg_area register_area = SG_AREA("register", register_route_list);
