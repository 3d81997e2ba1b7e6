/*
 * requests.c - multi-agency chronology requests.  Children's social care
 * asks named agencies to share their chronologies about a child or a family
 * for a period, with a purpose, a lawful basis, a deadline and a share
 * window; each agency sees its own entries pre-filled (the draft) and shares
 * them or says it has no involvement; the requester closes the request.
 *
 * An invitation is not a grant: an invited agency sees the request itself,
 * its children and the family it is about only while the request is open
 * and its share window has not passed, which the database derives from the
 * request (safeguard.child_visible, migration 005; request_visible_to_me and
 * family_visible, 013).  Closing or expiry ends that access at once, with
 * nothing to clean up; the requester always reads its request.  It is read
 * access only: an invited agency does not change the children or their
 * family.  The window is bounded by the deployment (SG_MAX_SHARE_DAYS).
 *
 * The family a request is about is fixed when it opens: the family it names,
 * or the named child's family at that moment (subject_family_id, set by the
 * database), so moving a child to another family while the request is open
 * does not open that family to the invited agencies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "chronology.h"
#include "ident.h"
#include "pool.h"

/* ---- field specs ------------------------------------------------------- */

static const char *const lawful_bases[] = {"children_act_1989_s17", "children_act_1989_s47", "dpa_2018_sch1_para18",
					   "consent", NULL};
static const char *const request_statuses[] = {"open", "closed", "expired", NULL};

static void check_request(json_t *b, struct verrs *errs, struct arena *a)
{
	const char *from = kit_str(b, "period_from"), *to = kit_str(b, "period_to"), *by = kit_str(b, "respond_by");
	const char *until = kit_str(b, "share_until");
	json_t *agencies = json_object_get(b, "agencies"), *v;
	int64_t t;
	size_t i;

	/* a malformed id was given all the same: its own error says what is wrong */
	if ((kit_str(b, "child_id") || verrs_invalid(errs, "child_id")) ==
	    (kit_str(b, "family_id") || verrs_invalid(errs, "family_id")))
		verrs_add(errs, "child_id", "one_of", "give exactly one of child_id and family_id");
	if (from && to && validate_date(from) && validate_date(to) && strcmp(to, from) < 0)
		verrs_add(errs, "period_to", "before_start", "must not be before period_from");
	if (by && validate_date(by) && strcmp(by, kit_today(a)) < 0)
		verrs_add(errs, "respond_by", "in_past", "must not be in the past");
	if (until && instant_to_epoch(until, &t) && t <= (int64_t)time(NULL))
		verrs_add(errs, "share_until", "in_past", "must be in the future");
	json_array_foreach(agencies, i, v) {
		for (size_t k = 0; k < i; k++)
			if (json_equal(v, json_array_get(agencies, k)))
				verrs_add(errs, arena_printf(a, "agencies[%zu]", i), "duplicate", "is listed twice");
	}
}

static const struct field_spec request_fields[] = {
	{.name = "child_id", .type = FT_UUID, .nullable = true},
	{.name = "family_id", .type = FT_UUID, .nullable = true},
	{.name = "agencies",
	 .type = FT_STRING_ARRAY,
	 .required = true,
	 .min = 1,
	 .max = AGENCY__COUNT,
	 .enum_values = sg_agency_names},
	{.name = "purpose", .type = FT_STRING, .required = true, .min = 1, .max = 2000},
	{.name = "lawful_basis", .type = FT_ENUM, .required = true, .enum_values = lawful_bases},
	{.name = "period_from", .type = FT_DATE, .required = true},
	{.name = "period_to", .type = FT_DATE, .required = true},
	{.name = "respond_by", .type = FT_DATE, .required = true},
	{.name = "share_until", .type = FT_INSTANT, .required = true},
};
static const struct body_spec request_body = {
	.fields = request_fields, .n = sizeof request_fields / sizeof request_fields[0], .check = check_request};

struct listed {
	const char *id;
	size_t at;
};

static int listed_cmp(const void *x, const void *y)
{
	const struct listed *a = x, *b = y;
	int c = strcasecmp(a->id, b->id);

	return c ? c : (a->at > b->at) - (a->at < b->at);
}

/* Up to 5,000 ids: sorted, so that duplicates (a UUID's case does not make
 * it another entry) are found in n log n and each is named once. */
static void check_contribution(json_t *b, struct verrs *errs, struct arena *a)
{
	json_t *ids = json_object_get(b, "entry_ids"), *none = json_object_get(b, "no_involvement"), *v;
	struct listed *sorted;
	size_t i, n = 0;

	if ((ids || verrs_invalid(errs, "entry_ids")) == (none || verrs_invalid(errs, "no_involvement")) ||
	    (none && !json_is_true(none)))
		verrs_add(errs, "entry_ids", "one_of", "give entry_ids, or no_involvement: true");
	if (!json_is_array(ids))
		return;
	sorted = arena_alloc(a, (json_array_size(ids) + 1) * sizeof *sorted);
	json_array_foreach(ids, i, v) {
		const char *s = json_string_value(v);

		if (s && !validate_uuid(s))
			verrs_add(errs, arena_printf(a, "entry_ids[%zu]", i), "invalid_uuid", "must be a UUID");
		else if (s)
			sorted[n++] = (struct listed){s, i};
	}
	qsort(sorted, n, sizeof *sorted, listed_cmp);
	for (i = 1; i < n; i++)
		if (strcasecmp(sorted[i].id, sorted[i - 1].id) == 0)
			verrs_add(errs, arena_printf(a, "entry_ids[%zu]", sorted[i].at), "duplicate",
				  "is listed twice");
}

static const struct field_spec contribution_fields[] = {
	{.name = "entry_ids", .type = FT_STRING_ARRAY, .max = 5000},
	{.name = "no_involvement", .type = FT_BOOL},
};
static const struct body_spec contribution_body = {.fields = contribution_fields, .n = 2, .check = check_contribution};

enum { RQ_STATUS, RQ_LIMIT, RQ_CURSOR };
static const struct query_param request_list_params[] = {
	[RQ_STATUS] = {"status", FT_ENUM, 0, 0, request_statuses},
	[RQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
	[RQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
};
static const struct query_spec request_list_query = {request_list_params, 3};

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_req_insert, 2,
       "insert into safeguard.chronology_requests (id, requesting_agency, requested_by, child_id, family_id,"
       " purpose, lawful_basis, period_from, period_to, respond_by, share_until)"
       " select $1::uuid, safeguard.app_agency(), safeguard.app_sub(), (b->>'child_id')::uuid,"
       " (b->>'family_id')::uuid, b->>'purpose', b->>'lawful_basis', (b->>'period_from')::date,"
       " (b->>'period_to')::date, (b->>'respond_by')::date, (b->>'share_until')::timestamptz"
       " from (select $2::jsonb as b) s");

/* The subject children as an array literal: the child, or the family's
 * children as they are now (null when there are none). */
DB_SQL(sql_req_subjects, 2,
       "select array_agg(id order by id)::text from safeguard.children where id = $1::uuid or family_id = $2::uuid");

/* The subject children and the invited agencies.  No network rows: the
 * invitation is the access, for as long as the request is live. */
DB_SQL(sql_req_parties, 3,
       "with c as (insert into safeguard.chronology_request_children (request_id, child_id)"
       " select $1::uuid, unnest($2::uuid[])) insert into safeguard.chronology_request_agencies"
       " (request_id, agency) select $1::uuid, unnest($3::text[])");

DB_SQL(sql_req_get, 1,
       "select safeguard.request_json(r)::text from safeguard.chronology_requests r where r.id = $1::uuid");

/* The subject children of request r as an array literal. */
#define REQUEST_CHILDREN                                                                                               \
	"(select coalesce(array_agg(rc.child_id), '{}')::text"                                                         \
	" from safeguard.chronology_request_children rc where rc.request_id = r.id)"

/* The status filter and the cursor, on requests r. */
#define REQUEST_PAGE_FILTERS                                                                                           \
	" and ($1::text is null or $1 = case when r.closed_at is not null then 'closed'"                               \
	" when now() >= r.share_until then 'expired' else 'open' end)"                                                 \
	" and ($2::timestamptz is null or (r.created_at, r.id) < ($2::timestamptz, $3::uuid))"                         \
	" order by r.created_at desc, r.id desc limit $4::int"

/* (the request as shown, the cursor, its children)  A page of the requests
 * the caller may read (request_readable, 005): its own agency's, newest
 * first by their index (033), and the others' open in their share window
 * (by share_until's index), merged.  Row-level security checks each row as
 * before; these are only where to look, so that a page reads a page and
 * not every request ever made (with 50,000 requests, 50,010 checks for
 * police's first page, 50,157 for CSC's). */
DB_SQL(sql_req_list, 4,
       "select r.j, r.created_at::text, r.id, " REQUEST_CHILDREN " from ("
       "(select safeguard.request_json(r)::text as j, r.created_at, r.id from safeguard.chronology_requests r"
       " where r.requesting_agency = safeguard.app_agency()" REQUEST_PAGE_FILTERS ") union all"
       " (select safeguard.request_json(r)::text, r.created_at, r.id from safeguard.chronology_requests r"
       " where r.requesting_agency <> safeguard.app_agency() and r.closed_at is null and now() < "
       "r.share_until" REQUEST_PAGE_FILTERS ")) r order by r.created_at desc, r.id desc limit $4::int");

/* (open, requester, invited, readable, the request as shown, its children) */
DB_SQL(sql_req_state, 1,
       "select r.closed_at is null and now() < r.share_until, r.requesting_agency = safeguard.app_agency(),"
       " exists (select 1 from safeguard.chronology_request_agencies a where a.request_id = r.id"
       " and a.agency = safeguard.app_agency()), safeguard.request_readable(r.id), safeguard.request_json(r)::text,"
       " " REQUEST_CHILDREN " from safeguard.chronology_requests r where r.id = $1::uuid");

/* (the draft item, the entry's children as an array literal) */
DB_SQL(sql_req_draft, 1,
       "select json_build_object('entry', d.doc::json, 'shared', exists (select 1"
       " from safeguard.chronology_contributions k where k.request_id = r.id and k.entry_id = e.id))::text,"
       " translate((d.doc::json->'child_ids')::text, '[]', '{}')"
       " from safeguard.chronology_requests r join safeguard.chronology_entries e"
       " on e.agency = safeguard.app_agency() and e.status = 'active'"
       " and e.event_date <= r.period_to and coalesce(e.event_date_end, e.event_date) >= r.period_from"
       " cross join lateral (select coalesce(e.doc, safeguard.entry_json(e)::text) as doc) d"
       " where r.id = $1::uuid and exists (select 1 from safeguard.chronology_entry_children ec"
       " join safeguard.chronology_request_children rc on rc.child_id = ec.child_id"
       " where rc.request_id = r.id and ec.entry_id = e.id)"
       " order by e.event_date, coalesce(e.event_time, '00:00'), e.seq");

/* The entries named, each by its key, and each one's children: a
 * scalar subquery runs once per entry named, where an EXISTS became a
 * semi-join that read every entry about the request's children (every
 * agency's) and evaluated the entries' access, to share a few of them. */
DB_SQL(sql_contrib_eligible, 2,
       "select e.id from safeguard.chronology_entries e where e.id = any ($2::uuid[])"
       " and e.agency = safeguard.app_agency() and e.status = 'active'"
       " and (select true from safeguard.chronology_entry_children ec"
       " join safeguard.chronology_request_children rc on rc.child_id = ec.child_id"
       " where rc.request_id = $1::uuid and ec.entry_id = e.id limit 1)");

/* The agency's contribution becomes exactly $2: the entries no longer in it
 * are taken out and only the new ones are added.  (Deleting every row and
 * inserting them all again in one statement met the rows it was deleting:
 * the statements of a WITH share one snapshot, so sharing an entry that
 * was already shared was a unique violation, a 500.) */
DB_SQL(sql_contrib_replace, 3,
       "with d as (delete from safeguard.chronology_contributions where request_id = $1::uuid"
       " and agency = safeguard.app_agency() and entry_id <> all ($2::uuid[])),"
       " i as (insert into safeguard.chronology_contributions (request_id, agency, entry_id)"
       " select $1::uuid, safeguard.app_agency(), unnest($2::uuid[]) on conflict (request_id, entry_id) do nothing)"
       " update safeguard.chronology_request_agencies set status = $3, submitted_at = now(),"
       " submitted_by = safeguard.app_sub() where request_id = $1::uuid and agency = safeguard.app_agency()");

/* One request's contributions and its closure queue behind each other
 * (released at commit or rollback).  Without it two contributions of one
 * agency raced to insert the same rows (a unique violation: 500), and a
 * contribution that had read the request open could commit after the
 * closure.  An advisory lock, because an invited agency may not lock the
 * request's row (row-level security gives it no UPDATE on it). */
DB_SQL(sql_req_serialise, 1, "select pg_advisory_xact_lock(hashtextextended('chronology_request ' || lower($1), 0))");

DB_SQL(sql_req_close, 1,
       "update safeguard.chronology_requests set closed_at = now(), closed_by = safeguard.app_sub()"
       " where id = $1::uuid and closed_at is null and requesting_agency = safeguard.app_agency()"
       " returning id");

/* ---- helpers ------------------------------------------------------------ */

int chronology_request_load(struct sg_req *r, struct chronology_request *rq)
{
	PGresult *res;
	int rc;

	memset(rq, 0, sizeof *rq);
	if ((rc = kit_fetch_id(r, &sql_req_state, r->params[0], "chronology request", &res)))
		return rc;
	rq->open = PQgetvalue(res, 0, 0)[0] == 't';
	rq->requester = PQgetvalue(res, 0, 1)[0] == 't';
	rq->invited = PQgetvalue(res, 0, 2)[0] == 't';
	rq->readable = PQgetvalue(res, 0, 3)[0] == 't';
	rq->json = PQgetvalue(res, 0, 4); /* the arena owns the result */
	rq->children = PQgetvalue(res, 0, 5);
	/* the requester always; an invited agency while the request is live */
	return rq->readable ? 0 : http_not_found(r, "chronology request");
}

/* Takes the request's lock (sql_req_serialise) before its state is read,
 * so that what is read is what the write will meet.  0, or the failure's
 * answer; an id that is not a UUID is left to the load's 404. */
static int request_serialise(struct sg_req *r)
{
	const char *p[1] = {r->params[0]};
	PGresult *res;

	if (!p[0] || !validate_uuid(p[0]))
		return 0;
	return kit_exec(r, &sql_req_serialise, p, 1, &res);
}

/* Answers a request's current state, its JSON passed through as the
 * database renders it. */
static int request_answer(struct sg_req *r, const char *id, int status)
{
	PGresult *res;
	int rc = kit_fetch(r, &sql_req_get, &id, 1, "chronology request", &res);

	return rc ? rc : kit_json_text(r, status, PQgetvalue(res, 0, 0));
}

/* The share window is bounded by the deployment (SG_MAX_SHARE_DAYS): an
 * invitation is access to children's records, never open-ended.  0, or 422. */
static int share_window_ok(struct sg_req *r)
{
	long max = sg_cfg.max_share_days;
	struct verrs errs = {0};
	int64_t t;

	if (!instant_to_epoch(kit_str(r->body, "share_until"), &t) || t - (int64_t)time(NULL) <= (int64_t)max * 86400)
		return 0;
	verrs_add(&errs, "share_until", "too_far", arena_printf(r->arena, "must be at most %ld days from now", max));
	return http_problem_errors(
		r, 422, "share-window-too-long",
		arena_printf(r->arena, "this deployment shares chronologies for at most %ld days", max), &errs);
}

/* The draft and contributions are for the agencies asked; 0 or 403. */
static int request_invited(struct sg_req *r, const struct chronology_request *rq)
{
	return rq->invited
		       ? 0
		       : http_problem(r, 403, "forbidden", "your agency was not asked to contribute to this request");
}

static int id_cmp(const void *x, const void *y)
{
	return strcasecmp(*(const char *const *)x, *(const char *const *)y);
}

/* Every shared entry must be an active entry of the caller's agency about
 * the request's children.  0, or 422 naming each one that is not.  The
 * eligible ids are sorted and each one sent is looked up, n log n: up to
 * 5,000 of each compared pairwise was 25 million comparisons a request. */
static int contribution_eligible(struct sg_req *r, json_t *ids, const char *const *p)
{
	struct verrs errs = {0};
	const char **eligible;
	PGresult *res;
	size_t i, n;
	json_t *v;
	int rc;

	if (json_array_size(ids) == 0)
		return 0;
	if ((rc = kit_exec(r, &sql_contrib_eligible, p, 2, &res)))
		return rc;
	n = (size_t)PQntuples(res);
	eligible = arena_alloc(r->arena, (n + 1) * sizeof *eligible);
	for (i = 0; i < n; i++)
		eligible[i] = PQgetvalue(res, (int)i, 0);
	qsort(eligible, n, sizeof *eligible, id_cmp);
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);

		if (!bsearch(&id, eligible, n, sizeof *eligible, id_cmp))
			verrs_add(&errs, arena_printf(r->arena, "entry_ids[%zu]", i), "not_eligible",
				  "is not an active entry of your agency about the request's children");
	}
	return errs.n ? http_problem_errors(r, 422, "invalid-reference", "some entries cannot be shared", &errs) : 0;
}

/* ---- handlers ------------------------------------------------------------ */

static int requests_create(struct sg_req *r)
{
	const char *id = ident_uuid(r->arena);
	const char *sp[2] = {kit_str(r->body, "child_id"), kit_str(r->body, "family_id")};
	const char *p[3] = {id, arena_json_dump(r->arena, r->body), NULL}, *children;
	PGresult *res;
	int rc;

	if ((rc = share_window_ok(r)) || (rc = kit_exec(r, &sql_req_subjects, sp, 2, &res)))
		return rc;
	children = PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0);
	if (!children) {
		struct verrs errs = {0};

		verrs_add(&errs, sp[0] ? "child_id" : "family_id", "not_found",
			  sp[0] ? "there is no such child" : "there is no such family, or it has no children");
		return http_problem_errors(r, 422, "invalid-reference", "the request has no subject children", &errs);
	}
	if ((rc = kit_exec(r, &sql_req_insert, p, 2, &res)))
		return rc;
	p[1] = children;
	p[2] = kit_pg_array(r->arena, json_object_get(r->body, "agencies"));
	if ((rc = kit_exec(r, &sql_req_parties, p, 3, &res)) ||
	    (rc = kit_audit(r, "chronology_request.create", "chronology_request", id, NULL)) ||
	    (rc = kit_audit_children(r, "child.chronology_request", children)))
		return rc;
	http_header(r, "Location", arena_printf(r->arena, "/v1/chronology-requests/%s", id));
	return request_answer(r, id, 201);
}

static int requests_list(struct sg_req *r)
{
	static const struct kit_list list = {&sql_req_list, RQ_LIMIT, RQ_CURSOR,
					     KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID),
					     KIT_ARGS(RQ_STATUS, KIT_ARG_AFTER, KIT_ARG_FETCH)};
	struct kit_page pg;
	PGresult *res;
	int rc;

	/* a request names its children and why they are discussed: a child
	 * audit row for each child of the page (not of the look-ahead row) */
	if ((rc = kit_list_fetch(r, &list, &pg, &res)) ||
	    (rc = chronology_audit_children(r, "child.chronology_request.read", res, 3,
					    PQntuples(res) < pg.limit ? PQntuples(res) : (int)pg.limit)))
		return rc;
	return kit_page_answer(r, &pg, res, 0, 1);
}

static int requests_show(struct sg_req *r)
{
	struct chronology_request rq;
	int rc;

	if ((rc = chronology_request_load(r, &rq)) ||
	    (rc = kit_audit(r, "chronology_request.read", "chronology_request", r->params[0], NULL)) ||
	    (rc = kit_audit_children(r, "child.chronology_request.read", rq.children)))
		return rc;
	return kit_json_text(r, 200, rq.json);
}

/* The caller's agency's own entries about the subject children within the
 * period, to share as they are or to complete; a child audit row for every
 * child they are about. */
static int requests_draft(struct sg_req *r)
{
	struct chronology_request rq;
	PGresult *res;
	int rc;

	if ((rc = chronology_request_load(r, &rq)) || (rc = request_invited(r, &rq)) ||
	    (rc = kit_exec(r, &sql_req_draft, r->params, 1, &res)) ||
	    (rc = kit_audit(r, "chronology_request.draft.read", "chronology_request", r->params[0], NULL)) ||
	    (rc = chronology_audit_children(r, "child.chronology_request.draft.read", res, 1, PQntuples(res))))
		return rc;
	return http_list_rows(r, res, 0, PQntuples(res), NULL);
}

static int requests_contribute(struct sg_req *r)
{
	json_t *ids = json_object_get(r->body, "entry_ids");
	const char *p[3] = {r->params[0], ids ? kit_pg_array(r->arena, ids) : "{}",
			    ids ? "submitted" : "no_involvement"};
	struct chronology_request rq;
	PGresult *res;
	int rc;

	if ((rc = request_serialise(r)) || (rc = chronology_request_load(r, &rq)) || (rc = request_invited(r, &rq)))
		return rc;
	if (!rq.open)
		return http_problem(r, 409, "conflict", "the request is closed to contributions");
	/* the answer is the request, which names its children and why they are
	 * discussed: a child audit row for each, as its GET writes */
	if ((rc = contribution_eligible(r, ids, p)) || (rc = kit_exec(r, &sql_contrib_replace, p, 3, &res)) ||
	    (rc = kit_audit(r, "chronology_request.contribute", "chronology_request", p[0], NULL)) ||
	    (rc = kit_audit_children(r, "child.chronology_request.read", rq.children)))
		return rc;
	return request_answer(r, p[0], 200);
}

static int requests_close(struct sg_req *r)
{
	struct chronology_request rq;
	PGresult *res;
	int rc;

	if ((rc = request_serialise(r)) || (rc = chronology_request_load(r, &rq)))
		return rc;
	if (!rq.requester)
		return http_problem(r, 403, "forbidden", "only the requesting agency closes a request");
	if ((rc = kit_exec(r, &sql_req_close, r->params, 1, &res)))
		return rc;
	if (PQntuples(res) == 0)
		return http_problem(r, 409, "conflict", "the request is already closed");
	/* the answer is the request, which names its children: audited as its GET */
	if ((rc = kit_audit(r, "chronology_request.close", "chronology_request", r->params[0], NULL)) ||
	    (rc = kit_audit_children(r, "child.chronology_request.read", rq.children)))
		return rc;
	return request_answer(r, r->params[0], 200);
}

static const struct route chronology_requests_route_list[] = {
	{"POST", "/v1/chronology-requests", PERM_REQUEST_CREATE, &request_body, NULL, requests_create,
	 "chronology_requests.create", ROUTE_IDEMPOTENT},
	{"GET", "/v1/chronology-requests", PERM_REQUEST_READ, NULL, &request_list_query, requests_list,
	 "chronology_requests.list", 0},
	{"GET", "/v1/chronology-requests/{id}", PERM_REQUEST_READ, NULL, NULL, requests_show,
	 "chronology_requests.show", 0},
	{"GET", "/v1/chronology-requests/{id}/draft", PERM_REQUEST_CONTRIBUTE, NULL, NULL, requests_draft,
	 "chronology_requests.draft", 0},
	{"POST", "/v1/chronology-requests/{id}/contributions", PERM_REQUEST_CONTRIBUTE, &contribution_body, NULL,
	 requests_contribute, "chronology_requests.contribute", ROUTE_IDEMPOTENT},
	{"POST", "/v1/chronology-requests/{id}/closure", PERM_REQUEST_CREATE, NULL, NULL, requests_close,
	 "chronology_requests.close", ROUTE_IDEMPOTENT},
};

const struct sg_area chronology_requests_area = SG_AREA("chronology_requests", chronology_requests_route_list);
