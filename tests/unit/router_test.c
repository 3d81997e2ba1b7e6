/* Route matching against the real route tables: found, 404 (including near
 * misses of a pattern), 405 with the Allow list, path parameters, HEAD. */
#include <check.h>
#include <string.h>
#include "http.h"
#include "unit.h"

static struct arena *a;
static void setup(void)
{
	a = arena_new();
}
static void teardown(void)
{
	arena_free(a);
}

struct match_row {
	const char *method, *path;
	enum router_result want;
	const char *name;                  /* ROUTER_FOUND: the route's name */
	const char *params[SG_MAX_PARAMS]; /* ROUTER_FOUND: the captured parameters */
	const char *allow;                 /* ROUTER_BAD_METHOD: the Allow list */
};

#define UUID_LOWER "9f2b1c3d-00a0-4aaa-8bbb-ccccddddeeee"

static const struct match_row match_rows[] = {
	{"GET", "/v1/me", ROUTER_FOUND, "me.show", {NULL}, NULL},
	{"GET", "/healthz", ROUTER_FOUND, "healthz", {NULL}, NULL},
	{"GET", "/v1/audit-events", ROUTER_FOUND, "audit_events.list", {NULL}, NULL},
	/* near misses of /v1/me */
	{"GET", "/v1/me/", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/v1/mex", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/v1/m", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/v1", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/v1/", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/V1/ME", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "//v1/me", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/v1/me/x", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/nope", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	/* an unknown path is 404 whatever the method */
	{"DELETE", "/nope", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	/* 405: the path exists with other methods */
	{"DELETE", "/v1/me", ROUTER_BAD_METHOD, NULL, {NULL}, "GET, HEAD"},
	{"POST", "/v1/me", ROUTER_BAD_METHOD, NULL, {NULL}, "GET, HEAD"},
	{"get", "/v1/me", ROUTER_BAD_METHOD, NULL, {NULL}, "GET, HEAD"}, /* methods are case-sensitive */
	{"DELETE", "/v1/children", ROUTER_BAD_METHOD, NULL, {NULL}, "POST, GET, HEAD"},
	{"DELETE", "/v1/children/123", ROUTER_BAD_METHOD, NULL, {NULL}, "GET, HEAD, PATCH"},
	/* a path without GET lists no HEAD */
	{"GET", "/v1/token-revocations", ROUTER_BAD_METHOD, NULL, {NULL}, "POST"},
	{"DELETE", "/v1/families/f1/members/c2x/", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	/* HEAD is GET without the body: it finds every GET route, and only those */
	{"HEAD", "/v1/me", ROUTER_FOUND, "me.show", {NULL}, NULL},
	{"HEAD", "/healthz", ROUTER_FOUND, "healthz", {NULL}, NULL},
	{"HEAD", "/v1/children", ROUTER_FOUND, "children.list", {NULL}, NULL},
	{"HEAD", "/v1/children/123", ROUTER_FOUND, "children.show", {"123"}, NULL},
	{"HEAD", "/v1/families/f1/members/c2", ROUTER_BAD_METHOD, NULL, {NULL}, "DELETE"},
	{"HEAD", "/v1/token-revocations", ROUTER_BAD_METHOD, NULL, {NULL}, "POST"},
	{"HEAD", "/nope", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"head", "/v1/me", ROUTER_BAD_METHOD, NULL, {NULL}, "GET, HEAD"},
	/* path parameters: one non-empty segment */
	{"GET", "/v1/children/123", ROUTER_FOUND, "children.show", {"123"}, NULL},
	{"PATCH", "/v1/children/abc-def", ROUTER_FOUND, "children.update", {"abc-def"}, NULL},
	{"GET", "/v1/children/7/network", ROUTER_FOUND, "children.network", {"7"}, NULL},
	{"DELETE", "/v1/families/f1/members/c2", ROUTER_FOUND, "families.members.delete", {"f1", "c2"}, NULL},
	{"GET", "/v1/children/", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/v1/children//network", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/v1/children/7/", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/v1/children/7/networks", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"GET", "/v1/children/7/8", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	{"DELETE", "/v1/families/f1/members/", ROUTER_NOT_FOUND, NULL, {NULL}, NULL},
	/* a UUID is captured in its canonical lowercase form, anything else as written */
	{"GET", "/v1/children/9F2B1C3D-00A0-4AAA-8BBB-CCCCDDDDEEEE", ROUTER_FOUND, "children.show", {UUID_LOWER}, NULL},
	{"GET", "/v1/children/ABC-DEF", ROUTER_FOUND, "children.show", {"ABC-DEF"}, NULL},
	{"DELETE",
	 "/v1/families/F1/members/9f2B1C3D-00A0-4AAA-8BBB-CCCCDDDDEEEE",
	 ROUTER_FOUND,
	 "families.members.delete",
	 {"F1", UUID_LOWER},
	 NULL},
	/* a literal segment is its own route for its own method */
	{"POST", "/v1/children/search", ROUTER_FOUND, "children.search", {NULL}, NULL},
};

START_TEST(router_match_table)
{
	const struct match_row *row = &match_rows[_i];
	const struct route *rt = NULL;
	const char *params[SG_MAX_PARAMS] = {NULL};
	const char *allow = NULL;
	int index = -1;
	enum router_result rr = router_match(a, row->method, row->path, &rt, &index, params, &allow);

	ck_assert_msg(rr == row->want, "%s %s: result %d, want %d", row->method, row->path, rr, row->want);
	switch (row->want) {
	case ROUTER_FOUND:
		ck_assert_ptr_nonnull(rt);
		ck_assert_str_eq(rt->name, row->name);
		ck_assert_str_eq(rt->method, strcmp(row->method, "HEAD") ? row->method : "GET");
		ck_assert_ptr_eq(router_at((size_t)index), rt);
		for (size_t i = 0; i < SG_MAX_PARAMS; i++) {
			if (row->params[i])
				ck_assert_msg(params[i] && strcmp(params[i], row->params[i]) == 0,
					      "%s %s: param %zu is %s, want %s", row->method, row->path, i,
					      params[i] ? params[i] : "(null)", row->params[i]);
			else
				ck_assert_msg(params[i] == NULL, "%s %s: unexpected param %zu", row->method, row->path,
					      i);
		}
		break;
	case ROUTER_BAD_METHOD:
		ck_assert_ptr_nonnull(allow);
		ck_assert_str_eq(allow, row->allow);
		break;
	case ROUTER_NOT_FOUND:
		ck_assert_ptr_null(rt);
		break;
	}
}
END_TEST

/* Every route of every table is found by its own method and pattern (with
 * a value in place of each parameter), and the index points back at it. */
START_TEST(every_route_matches_itself)
{
	size_t n = router_count();

	ck_assert_uint_gt(n, 0);
	for (size_t i = 0; i < n; i++) {
		const struct route *want = router_at(i), *rt = NULL;
		const char *params[SG_MAX_PARAMS] = {NULL}, *allow = NULL;
		char path[256];
		size_t o = 0, np = 0;
		int index = -1;

		for (const char *p = want->pattern; *p && o < sizeof path - 8; p++) {
			if (*p == '{') {
				o += (size_t)snprintf(path + o, sizeof path - o, "p%zu", np++);
				p = strchr(p, '}');
				ck_assert_ptr_nonnull(p);
			} else {
				path[o++] = *p;
			}
		}
		path[o] = '\0';
		ck_assert_int_eq(router_match(a, want->method, path, &rt, &index, params, &allow), ROUTER_FOUND);
		/* an earlier route may legitimately answer the same method and path
		 * (a literal segment against a parameter), but it must agree */
		ck_assert_str_eq(rt->method, want->method);
		ck_assert_int_le(index, (int)i);
		for (size_t k = 0; k < np && rt == want; k++) {
			char exp[24];

			snprintf(exp, sizeof exp, "p%zu", k);
			ck_assert_str_eq(params[k], exp);
		}
	}
	ck_assert_ptr_null(router_at(n));
}
END_TEST

Suite *router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("match");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, router_match_table, 0, (int)(sizeof match_rows / sizeof match_rows[0]));
	tcase_add_test(tc, every_route_matches_itself);
	suite_add_tcase(s, tc);
	return s;
}
