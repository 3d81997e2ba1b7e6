/*
 * meetings.c - a panel's meetings: formal (the CME panel's three a year)
 * or officer (its weekly tracking), a scheduled time and an agenda of open
 * referrals.  States: scheduled -> held (with the agencies that attended,
 * which opens the minutes) -> minutes approved (minutes.c), or scheduled ->
 * cancelled; any other move is 409 naming the state.  The chair schedules,
 * changes, holds and cancels; the panel's readers read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "ident.h"
#include "panels.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const kinds[] = {"formal", "officer", NULL};
static const char *const meeting_statuses[] = {"scheduled", "held", "minutes_approved", "cancelled", NULL};

/* The instants a meeting may be scheduled at, in UTC: from 1900-01-01 to
 * before 9999-12-31.  The database would take more, but then the meeting's
 * scheduled_at would leave the documented form (a five-digit year) or the
 * page cursor made from it would be one kit_page_begin refuses (a year
 * before 1900), so the list could not page past it. */
#define MEETING_EARLIEST ((int64_t)-2208988800) /* 1900-01-01T00:00:00Z */
#define MEETING_LATEST ((int64_t)253402214400)  /* 9999-12-31T00:00:00Z */

/* the agenda: distinct referral ids (UUIDs compared as the database does,
 * whatever their letters' case); the scheduled time within the range above */
static void check_meeting(json_t *b, struct verrs *errs, struct arena *a)
{
	json_t *agenda = json_object_get(b, "agenda"), *v;
	const char *at = kit_str(b, "scheduled_at");
	int64_t t;
	size_t i;

	if (at && instant_to_epoch(at, &t) && (t < MEETING_EARLIEST || t >= MEETING_LATEST))
		verrs_add(errs, "scheduled_at", "out_of_range", "must be from 1900-01-01 to 9999-12-30 (UTC)");
	if (!json_is_array(agenda))
		return;
	json_array_foreach(agenda, i, v) {
		if (json_is_string(v) && !validate_uuid(json_string_value(v)))
			verrs_add(errs, arena_printf(a, "agenda[%zu]", i), "invalid_uuid", "must be a referral id");
		for (size_t k = 0; k < i; k++) {
			json_t *w = json_array_get(agenda, k);

			if (json_is_string(v) && json_is_string(w) &&
			    !strcasecmp(json_string_value(v), json_string_value(w)))
				verrs_add(errs, arena_printf(a, "agenda[%zu]", i), "duplicate", "is listed twice");
		}
	}
}

static const struct field_spec meeting_fields[] = {
	{.name = "kind", .type = FT_ENUM, .required = true, .enum_values = kinds},
	{.name = "scheduled_at", .type = FT_INSTANT, .required = true},
	{.name = "location", .type = FT_STRING, .nullable = true, .min = 1, .max = 200},
	{.name = "agenda", .type = FT_STRING_ARRAY, .max = 100},
};
static const char *const meeting_read_only[] = {"id",          "panel_id",         "status",         "held_at",
						"attended_by", "cancelled_reason", "minutes_status", "version",
						"created_by",  "created_at",       "updated_at",     NULL};
static const struct body_spec meeting_body = {
	.fields = meeting_fields, .n = 4, .read_only = meeting_read_only, .check = check_meeting, .patch_merged = true};

static const struct field_spec attendance_fields[] = {
	{.name = "agencies",
	 .type = FT_STRING_ARRAY,
	 .required = true,
	 .min = 1,
	 .max = AGENCY__COUNT,
	 .enum_values = sg_agency_names},
	{.name = "held_at", .type = FT_INSTANT, .nullable = true},
};
/* each agency once: attended_by is a set */
static void check_attendance(json_t *b, struct verrs *errs, struct arena *a)
{
	json_t *agencies = json_object_get(b, "agencies"), *v;
	size_t i;

	if (!json_is_array(agencies))
		return;
	json_array_foreach(agencies, i, v) {
		for (size_t k = 0; k < i; k++)
			if (json_equal(v, json_array_get(agencies, k)))
				verrs_add(errs, arena_printf(a, "agencies[%zu]", i), "duplicate", "is listed twice");
	}
}
static const struct body_spec attendance_body = {.fields = attendance_fields, .n = 2, .check = check_attendance};

static const struct field_spec cancellation_fields[] = {
	{.name = "reason", .type = FT_STRING, .required = true, .min = 1, .max = 2000},
};
static const struct body_spec cancellation_body = {.fields = cancellation_fields, .n = 1};

enum { MQ_LIMIT, MQ_CURSOR, MQ_STATUS, MQ_KIND };
static const struct query_param meeting_query_params[] = {
	[MQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[MQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[MQ_STATUS] = {"status", FT_ENUM, 0, 0, meeting_statuses},
	[MQ_KIND] = {"kind", FT_ENUM, 0, 0, kinds},
};
static const struct query_spec meeting_query = {meeting_query_params, 4};

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_meeting_get, 1,
       "select safeguard.panel_meeting_json(m)::text, m.version, m.panel_id, m.status"
       " from safeguard.panel_meetings m where m.id = $1::uuid");

DB_SQL(sql_meeting_lock, 1,
       "select m.status, m.version from safeguard.panel_meetings m where m.id = $1::uuid for update");

/* the agenda's items that are not open referrals of the panel */
DB_SQL(sql_agenda_bad, 2,
       "select a.i - 1 from unnest($2::uuid[]) with ordinality a(id, i) where not exists (select 1"
       " from safeguard.panel_referrals r where r.id = a.id and r.panel_id = $1::uuid"
       " and r.status in ('submitted', 'accepted', 'reopened')) order by a.i");

DB_SQL(sql_meeting_insert, 4,
       "insert into safeguard.panel_meetings (id, panel_id, kind, scheduled_at, location, agenda, created_by,"
       " updated_by) select $1::uuid, $2::uuid, b->>'kind', (b->>'scheduled_at')::timestamptz, b->>'location',"
       " $4::uuid[], safeguard.app_sub(), safeguard.app_sub() from (select $3::jsonb as b) s");

DB_SQL(sql_meeting_update, 4,
       "update safeguard.panel_meetings set (kind, scheduled_at, location, agenda) = (select b->>'kind',"
       " (b->>'scheduled_at')::timestamptz, b->>'location', $3::uuid[] from (select $2::jsonb as b) s),"
       " version = version + 1, updated_at = clock_timestamp(), updated_by = safeguard.app_sub()"
       " where id = $1::uuid and version = $4::int returning version");

/* held: the agencies present, and the minutes open as an empty draft */
DB_SQL(sql_meeting_hold, 3,
       "with m as (update safeguard.panel_meetings set status = 'held', attended_by = $2::text[],"
       " held_at = coalesce($3::timestamptz, now()), version = version + 1, updated_at = clock_timestamp(),"
       " updated_by = safeguard.app_sub() where id = $1::uuid returning id, panel_id)"
       " insert into safeguard.panel_minutes (meeting_id, panel_id, updated_by)"
       " select id, panel_id, safeguard.app_sub() from m");

DB_SQL(sql_meeting_cancel, 2,
       "update safeguard.panel_meetings set status = 'cancelled', cancelled_reason = $2, version = version + 1,"
       " updated_at = clock_timestamp(), updated_by = safeguard.app_sub() where id = $1::uuid");

DB_SQL(sql_members_missing, 2,
       "select a from unnest($2::text[]) a where not exists (select 1 from safeguard.panel_members m"
       " where m.panel_id = $1::uuid and m.agency = a)");

DB_SQL(sql_meeting_list, 6,
       "select safeguard.panel_meeting_json(m)::text, m.scheduled_at::text, m.id from safeguard.panel_meetings m"
       " where m.panel_id = $1::uuid"
       " and ($2::timestamptz is null or (m.scheduled_at, m.id) > ($2::timestamptz, $3::uuid))"
       " and ($5::text is null or m.status = $5) and ($6::text is null or m.kind = $6)"
       " order by m.scheduled_at, m.id limit $4::int");

/* ---- helpers ------------------------------------------------------------ */

/* The meeting of r->params[0] (row: json, version, panel_id, status) for a
 * reader of its panel: 0, or 404. */
static int meeting_load(struct sg_req *r, PGresult **res, struct panel_standing *ps)
{
	int rc;

	if ((rc = kit_fetch_id(r, &sql_meeting_get, r->params[0], "panel meeting", res)) ||
	    (rc = panels_standing(r, PQgetvalue(*res, 0, 2), ps)))
		return rc;
	return ps->reader ? 0 : http_not_found(r, "panel meeting");
}

/* For the chair, with the row locked and still scheduled: 0, or the answer. */
static int meeting_lock_scheduled(struct sg_req *r, PGresult **cur, PGresult **locked, const char *rule)
{
	struct panel_standing ps;
	int rc;

	if ((rc = meeting_load(r, cur, &ps)) ||
	    (rc = panels_require_chair(r, &ps, "schedules, holds and cancels meetings")) ||
	    (rc = kit_fetch_id(r, &sql_meeting_lock, r->params[0], "panel meeting", locked)))
		return rc;
	if (strcmp(PQgetvalue(*locked, 0, 0), "scheduled") != 0)
		return panels_state_conflict(r, "meeting", PQgetvalue(*locked, 0, 0), rule);
	return 0;
}

/* 422 naming each agenda item that is not an open referral of the panel. */
static int check_agenda(struct sg_req *r, const char *panel, const char *agenda)
{
	const char *p[2] = {panel, agenda};
	struct verrs errs = {0};
	PGresult *res;
	int rc;

	if ((rc = kit_exec(r, &sql_agenda_bad, p, 2, &res)))
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		verrs_add(&errs, arena_printf(r->arena, "agenda[%s]", PQgetvalue(res, i, 0)), "not_found",
			  "is not an open referral of this panel");
	if (!errs.n)
		return 0;
	return http_problem_errors(r, 422, "invalid-reference", "the agenda names referrals that cannot be discussed",
				   &errs);
}

static const char *agenda_param(struct sg_req *r, json_t *b)
{
	json_t *agenda = json_object_get(b, "agenda");

	return json_is_array(agenda) ? kit_pg_array(r->arena, agenda) : "{}";
}

static int meeting_answer(struct sg_req *r, int status, const char *id)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_meeting_get, id, "panel meeting", &res)))
		return rc;
	return status == 200 && r->route->method[0] == 'G' ? kit_show(r, res, 0) : kit_resource(r, status, res, 0);
}

/* ---- handlers ------------------------------------------------------------ */

static int meetings_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *p[4] = {id, r->params[0], arena_json_dump(r->arena, r->body), agenda_param(r, r->body)};
	struct panel_standing ps;
	PGresult *res;
	int rc;

	if ((rc = panels_standing(r, r->params[0], &ps)) ||
	    (rc = panels_require_chair(r, &ps, "schedules, holds and cancels meetings")) ||
	    (rc = check_agenda(r, r->params[0], p[3])) || (rc = kit_exec(r, &sql_meeting_insert, p, 4, &res)) ||
	    (rc = kit_audit(r, "panel_meeting.create", "panel_meeting", id, NULL)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/panel-meetings/%s", id));
	return meeting_answer(r, 201, id);
}

static int meetings_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_meeting_list, MQ_LIMIT, MQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(KIT_ARG_ID, KIT_ARG_AFTER, KIT_ARG_FETCH, MQ_STATUS, MQ_KIND)};
	struct panel_standing ps;
	int rc;

	if ((rc = panels_standing(r, r->params[0], &ps)))
		return rc;
	if (!ps.reader)
		return http_problem(r, 404, "not-found", "there is no panel with this id whose meetings you may see");
	return kit_list(r, &list);
}

static int meetings_show(struct sg_req *r)
{
	struct panel_standing ps;
	PGresult *res;
	int rc;

	if ((rc = meeting_load(r, &res, &ps)))
		return rc;
	return kit_show(r, res, 0);
}

/* Time, place, kind and agenda, while the meeting is still scheduled. */
static int meetings_update(struct sg_req *r)
{
	const char *p[4] = {r->params[0], NULL, NULL, NULL};
	PGresult *cur, *locked, *res;
	json_t *merged;
	int rc;

	if ((rc = meeting_lock_scheduled(r, &cur, &locked, "only a scheduled meeting is changed")) ||
	    (rc = kit_if_match(r, PQgetvalue(locked, 0, 1))) ||
	    (rc = kit_patch_merge(r, PQgetvalue(cur, 0, 0), &meeting_body, &merged)))
		return rc;
	p[1] = arena_json_dump(r->arena, merged);
	p[2] = agenda_param(r, merged);
	p[3] = PQgetvalue(locked, 0, 1);
	if ((rc = check_agenda(r, PQgetvalue(cur, 0, 2), p[2])) || (rc = kit_exec(r, &sql_meeting_update, p, 4, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(r, 412, "precondition-failed", "the meeting changed while you were updating it");
	if ((rc = kit_audit(r, "panel_meeting.update", "panel_meeting", p[0], NULL)))
		return rc;
	return meeting_answer(r, 200, p[0]);
}

/* The meeting was held, with these agencies present: the minutes open. */
static int meetings_attend(struct sg_req *r)
{
	const char *held = kit_str(r->body, "held_at");
	const char *p[3] = {r->params[0], kit_pg_array(r->arena, json_object_get(r->body, "agencies")), held};
	PGresult *cur, *locked, *res;
	struct verrs errs = {0};
	int64_t at;
	int rc;

	if (held && instant_to_epoch(held, &at) && at > (int64_t)time(NULL) + 60)
		return panels_invalid(r, "held_at", "in_future",
				      "a meeting is recorded as held once it has taken place");
	if ((rc = meeting_lock_scheduled(r, &cur, &locked, "only a scheduled meeting is held")))
		return rc;
	{
		const char *mp[2] = {PQgetvalue(cur, 0, 2), p[1]};

		if ((rc = kit_exec(r, &sql_members_missing, mp, 2, &res)))
			return rc;
		for (int i = 0; i < PQntuples(res); i++)
			verrs_add(&errs, "agencies", "not_a_member",
				  arena_printf(r->arena, "%s is not a member of this panel", PQgetvalue(res, i, 0)));
		if (errs.n)
			return http_problem_errors(r, 422, "invalid-reference", "only member agencies attend", &errs);
	}
	if ((rc = kit_exec(r, &sql_meeting_hold, p, 3, &res)) ||
	    (rc = kit_audit(r, "panel_meeting.hold", "panel_meeting", p[0], NULL)))
		return rc;
	return meeting_answer(r, 200, p[0]);
}

static int meetings_cancel(struct sg_req *r)
{
	const char *p[2] = {r->params[0], kit_str(r->body, "reason")};
	PGresult *cur, *locked, *res;
	int rc;

	if ((rc = meeting_lock_scheduled(r, &cur, &locked, "only a scheduled meeting is cancelled")) ||
	    (rc = kit_exec(r, &sql_meeting_cancel, p, 2, &res)) ||
	    (rc = kit_audit(r, "panel_meeting.cancel", "panel_meeting", p[0], NULL)))
		return rc;
	return meeting_answer(r, 200, p[0]);
}

static const struct route meetings_route_list[] = {
	{"POST", "/v1/panels/{id}/meetings", PERM_PANEL_CHAIR, &meeting_body, NULL, meetings_create,
	 "panel_meetings.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/panels/{id}/meetings", PERM_PANEL_CASES, NULL, &meeting_query, meetings_list,
	 "panel_meetings.list", 0},
	{"GET", "/v1/panel-meetings/{id}", PERM_PANEL_CASES, NULL, NULL, meetings_show, "panel_meetings.show", 0},
	{"PATCH", "/v1/panel-meetings/{id}", PERM_PANEL_CHAIR, &meeting_body, NULL, meetings_update,
	 "panel_meetings.update", ROUTE_PATCH},
	{"POST", "/v1/panel-meetings/{id}/attendance", PERM_PANEL_CHAIR, &attendance_body, NULL, meetings_attend,
	 "panel_meetings.attendance", ROUTE_IDEMPOTENT},
	{"POST", "/v1/panel-meetings/{id}/cancellation", PERM_PANEL_CHAIR, &cancellation_body, NULL, meetings_cancel,
	 "panel_meetings.cancel", ROUTE_IDEMPOTENT},
};

const struct sg_area meetings_area = SG_AREA("panel_meetings", meetings_route_list);
