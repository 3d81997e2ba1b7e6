/*
 * training.c - helpers the training area's files share (see training.h):
 * who a course admits, what a booking needs from the token, content
 * negotiation for the routes that also answer as a calendar, CSV or PDF,
 * and a booking answered as the API shows it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "training.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_booking_get, 1,
       "select safeguard.training_booking_json(b)::text, b.version from safeguard.training_bookings b"
       " where b.id = $1::uuid");

/* ---- the audience -------------------------------------------------------- */

/* Whether the array text "{a,b,c}" lists name (codes need no quoting). */
static bool pg_array_has(const char *arr, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = arr + (*arr == '{'); *p && *p != '}';) {
		size_t len = strcspn(p, ",}");

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/* "a, b" from "{a,b}", or what to say for an empty one. */
static const char *pg_array_words(struct arena *a, const char *arr, const char *empty)
{
	char *out;
	size_t o = 0;

	if (!strcmp(arr, "{}"))
		return empty;
	out = arena_alloc(a, 2 * strlen(arr) + 1);
	for (const char *p = arr + 1; *p && *p != '}'; p++) {
		out[o++] = *p;
		if (*p == ',')
			out[o++] = ' ';
	}
	return out;
}

const char *training_audience_refusal(struct sg_req *r, const char *roles, const char *agencies)
{
	bool role_ok = !strcmp(roles, "{}"), agency_ok = !strcmp(agencies, "{}");

	for (int i = 0; i < ROLE__COUNT && !role_ok; i++)
		role_ok = (r->id.roles & ROLE_BIT(i)) && pg_array_has(roles, sg_role_names[i]);
	if (!agency_ok)
		agency_ok = pg_array_has(agencies, sg_agency_names[r->id.agency]);
	if (role_ok && agency_ok)
		return NULL;
	return arena_printf(r->arena, "this course is for %s of %s; your token says %s of %s",
			    pg_array_words(r->arena, roles, "every role"),
			    pg_array_words(r->arena, agencies, "every agency"), r->id.roles_csv,
			    sg_agency_names[r->id.agency]);
}

int training_identity_check(struct sg_req *r)
{
	/* a name of blanks would print no one on a certificate or a register */
	if (!text_has_visible(r->id.name) || !r->id.email[0])
		return http_problem(
			r, 422, "incomplete-identity",
			"your token carries no name or no email; a booking records both, from your own account");
	if (training_check_email(r->id.email))
		return http_problem(r, 422, "incomplete-identity", "the email in your token is not an email address");
	return 0;
}

/* ---- content negotiation ------------------------------------------------- */

/* The q of one media range ("text/calendar; q=0.5"): 1 when absent. */
static double accept_q(const char *params, size_t n)
{
	for (const char *p = params; p < params + n; p++) {
		if ((*p == 'q' || *p == 'Q') && p[1] == '=' && (p == params || p[-1] == ';' || p[-1] == ' '))
			return strtod(p + 2, NULL);
	}
	return 1.0;
}

bool training_accepts(const struct sg_req *r, const char *type)
{
	const char *p = r->accept, *slash = strchr(type, '/');
	double qt = 0, qj = 0;

	while (p && *p) {
		size_t len = strcspn(p, ","), tlen;
		const char *semi;
		double q;

		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		semi = memchr(p, ';', len);
		tlen = semi ? (size_t)(semi - p) : len;
		while (tlen && (p[tlen - 1] == ' ' || p[tlen - 1] == '\t'))
			tlen--;
		q = semi ? accept_q(semi, len - (size_t)(semi - p)) : 1.0;
		if ((tlen == strlen(type) && !strncasecmp(p, type, tlen)) ||
		    (slash && tlen == (size_t)(slash - type) + 2 && !strncasecmp(p, type, tlen - 1) &&
		     p[tlen - 1] == '*'))
			qt = q > qt ? q : qt;
		else if ((tlen == 16 && !strncasecmp(p, "application/json", 16)) ||
			 (tlen == 3 && !strncmp(p, "*/*", 3)))
			qj = q > qj ? q : qj;
		p += len + (p[len] == ',');
	}
	return qt > 0 && qt >= qj;
}

/* ---- answers ----------------------------------------------------------- */

int training_problem_existing(struct sg_req *r, int status, const char *slug, const char *detail,
			      const char *existing_id)
{
	json_t *body = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", arena_printf(r->arena, "/problems/%s", slug),
				 "title", http_reason(status), "status", status, "detail", detail, "request_id",
				 r->request_id ? r->request_id : "", "existing_id", existing_id);
	int rc = http_json(r, status, body);

	r->content_type_out = "application/problem+json";
	return rc;
}

int training_booking_answer(struct sg_req *r, int status, const char *id)
{
	PGresult *res;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_booking_get, id, "booking", &res)))
		return rc;
	return status == 200 && r->route->method[0] == 'G' ? kit_show(r, res, 0) : kit_resource(r, status, res, 0);
}

/* ---- field checks ------------------------------------------------------------ */

const char *training_check_email(const char *s)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || !at[1] || strchr(at + 1, '@') || !strchr(at + 1, '.') || strpbrk(s, " \t\r\n<>,;\"") ||
	    at[strlen(at) - 1] == '.')
		return "must be an email address";
	return NULL;
}

const char *training_check_https(const char *s)
{
	if (strncmp(s, "https://", 8) != 0 || !s[8] || strpbrk(s, " \t\r\n\"<>"))
		return "must be an https:// URL";
	return NULL;
}
