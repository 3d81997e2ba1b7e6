/* Responses: problem bodies and their error lists, ETag preconditions, the
 * list envelope and its Link header, Retry-After, request ids. */
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

static struct sg_req new_req(const char *query)
{
	struct sg_req r = {0};

	r.arena = a;
	r.method = "GET";
	r.path = "/v1/children";
	r.query_string = query;
	r.request_id = "0123456789abcdef0123456789abcdef";
	r.content_length = -1;
	r.route_index = -1;
	return r;
}

static const char *header(const struct sg_req *r, const char *name)
{
	for (size_t i = 0; i < r->nhdr; i++)
		if (strcmp(r->hdr_names[i], name) == 0)
			return r->hdr_values[i];
	return NULL;
}

/* The response body as JSON; a new reference. */
static json_t *body_json(const struct sg_req *r)
{
	json_error_t err;
	json_t *j;

	ck_assert_ptr_nonnull(r->body_out);
	ck_assert_uint_eq(strlen(r->body_out), r->body_out_len);
	j = json_loadb(r->body_out, r->body_out_len, JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(j != NULL, "body is not JSON: %s", err.text);
	return j;
}

static const struct {
	int status;
	const char *slug, *title;
} problems[] = {
	{400, "validation-failed", "Bad Request"},
	{401, "unauthorized", "Unauthorized"},
	{403, "forbidden", "Forbidden"},
	{404, "not-found", "Not Found"},
	{405, "method-not-allowed", "Method Not Allowed"},
	{406, "not-acceptable", "Not Acceptable"},
	{409, "conflict", "Conflict"},
	{412, "precondition-failed", "Precondition Failed"},
	{413, "payload-too-large", "Content Too Large"},
	{415, "unsupported-media-type", "Unsupported Media Type"},
	{422, "unprocessable", "Unprocessable Content"},
	{428, "precondition-required", "Precondition Required"},
	{429, "too-many-requests", "Too Many Requests"},
	{500, "internal", "Internal Server Error"},
	{503, "service-unavailable", "Service Unavailable"},
	{599, "odd", "Unknown"},
};

START_TEST(problem_table)
{
	struct sg_req r = new_req(NULL);
	json_t *j;
	int rc = http_problem(&r, problems[_i].status, problems[_i].slug, "what went wrong");

	ck_assert_int_eq(rc, problems[_i].status);
	ck_assert_int_eq(r.status, problems[_i].status);
	ck_assert_str_eq(r.content_type_out, "application/problem+json");
	ck_assert_str_eq(http_reason(problems[_i].status), problems[_i].title);
	j = body_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")),
			 arena_printf(a, "/problems/%s", problems[_i].slug));
	ck_assert_str_eq(json_string_value(json_object_get(j, "title")), problems[_i].title);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), problems[_i].status);
	ck_assert_str_eq(json_string_value(json_object_get(j, "detail")), "what went wrong");
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), r.request_id);
	ck_assert_ptr_null(json_object_get(j, "errors"));
	ck_assert_uint_eq(json_object_size(j), 5);
	json_decref(j);
}
END_TEST

START_TEST(problem_without_request_id)
{
	struct sg_req r = new_req(NULL);
	json_t *j;

	r.request_id = NULL;
	http_problem(&r, 404, "not-found", "x");
	j = body_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "");
	json_decref(j);
}
END_TEST

START_TEST(reasons)
{
	static const struct {
		int status;
		const char *reason;
	} t[] = {{200, "OK"},    {201, "Created"}, {204, "No Content"}, {304, "Not Modified"},
		 {0, "Unknown"}, {302, "Unknown"}, {-1, "Unknown"}};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		ck_assert_str_eq(http_reason(t[i].status), t[i].reason);
}
END_TEST

START_TEST(problem_errors_lists_every_error)
{
	struct sg_req r = new_req(NULL);
	struct verrs errs = {0};
	json_t *j, *list;

	verrs_add(&errs, "name", "required", "is required");
	verrs_add(&errs, "tags[2]", "invalid_type", "must be a string");
	verrs_add(&errs, "", "invalid_type", "the body must be a JSON object");
	verrs_add(&errs, "caf\u00e9", "unknown_field", "is not a field of this resource");
	ck_assert_int_eq(http_problem_errors(&r, 400, "validation-failed", "the body has invalid fields", &errs), 400);
	ck_assert_str_eq(r.content_type_out, "application/problem+json");
	j = body_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "/problems/validation-failed");
	ck_assert_str_eq(json_string_value(json_object_get(j, "title")), "Bad Request");
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), r.request_id);
	list = json_object_get(j, "errors");
	ck_assert(json_is_array(list));
	ck_assert_uint_eq(json_array_size(list), errs.n);
	for (size_t i = 0; i < errs.n; i++) {
		json_t *e = json_array_get(list, i);

		ck_assert_uint_eq(json_object_size(e), 3);
		ck_assert_str_eq(json_string_value(json_object_get(e, "field")), errs.items[i].field);
		ck_assert_str_eq(json_string_value(json_object_get(e, "code")), errs.items[i].code);
		ck_assert_str_eq(json_string_value(json_object_get(e, "message")), errs.items[i].message);
	}
	json_decref(j);

	/* an empty list is still a list */
	r = new_req(NULL);
	errs.n = 0;
	http_problem_errors(&r, 400, "invalid-query", "the query has invalid parameters", &errs);
	j = body_json(&r);
	ck_assert(json_is_array(json_object_get(j, "errors")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "errors")), 0);
	json_decref(j);
}
END_TEST

/* The 32 errors a list can hold all reach the body. */
START_TEST(problem_errors_full_list)
{
	struct sg_req r = new_req(NULL);
	struct verrs errs = {0};
	json_t *j;

	for (int i = 0; i < 40; i++)
		verrs_add(&errs, arena_printf(a, "f%d", i), "unknown_field", "is not a field of this resource");
	ck_assert_uint_eq(errs.n, 32);
	http_problem_errors(&r, 400, "validation-failed", "x", &errs);
	j = body_json(&r);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "errors")), 32);
	json_decref(j);
}
END_TEST

struct etag_row {
	const char *header; /* If-None-Match */
	int want;           /* 304 or 0 */
};

static const struct etag_row etag_rows[] = {
	{NULL, 0},
	{"", 0},
	{"\"v1\"", 304},
	{"\"v2\"", 0},
	{"*", 304},
	{"W/\"v1\"", 304}, /* If-None-Match compares weakly */
	{"W/\"v2\"", 0},
	{"\"v0\", \"v1\"", 304},
	{"\"v0\",W/\"v1\"", 304},
	{" \"v1\" ", 304},
	{"\"v0\", \"v2\"", 0},
	{"\"v12\"", 0},
	{"\"v1", 0},
	{"v1", 0},
	{"\"V1\"", 0},
	{"\"v1\"x", 0},
	/* a comma or an asterisk inside a tag is the tag's, never a "*" of its own */
	{"\"x,*\"", 0},
	{"W/\"x,*\"", 0},
	{"\"x,\"v1\"\"", 0},
	{"\"v0\",\t\"v1\"", 304},
	{"\"v1-0123456789abcdef\"", 0},
};

START_TEST(etag_table)
{
	struct sg_req r = new_req(NULL);
	int rc;

	r.if_none_match = etag_rows[_i].header;
	r.status = 200;
	r.body_out = arena_strdup(a, "{}");
	r.body_out_len = 2;
	rc = http_etag(&r, "\"v1\"");
	ck_assert_msg(rc == etag_rows[_i].want, "If-None-Match %s: %d, want %d",
		      etag_rows[_i].header ? etag_rows[_i].header : "(none)", rc, etag_rows[_i].want);
	ck_assert_str_eq(header(&r, "ETag"), "\"v1\"");
	if (rc == 304) {
		ck_assert_int_eq(r.status, 304);
		ck_assert_ptr_null(r.body_out);
		ck_assert_uint_eq(r.body_out_len, 0);
	} else {
		ck_assert_int_eq(r.status, 200);
	}
}
END_TEST

struct match_row {
	const char *header; /* If-Match */
	int want;           /* 0, 412 or 428 */
};

static const struct match_row match_rows[] = {
	{NULL, 428},
	{"\"v1\"", 0},
	{"*", 0},
	{"\"v0\", \"v1\"", 0},
	{"\"v0\"", 412},
	{"\"v12\"", 412},
	/* If-Match compares strongly (RFC 9110 section 13.1.1): a weak tag never matches */
	{"W/\"v1\"", 412},
	{"\"v0\", W/\"v1\"", 412},
	{"W/\"v1\", \"v1\"", 0},
	{"", 412},
	/* a representation's tag is the version's with "-<digest>": its version part is compared */
	{"\"v1-0123456789abcdef\"", 0},
	{"\"v0-0123456789abcdef\", \"v1-fedcba9876543210\"", 0},
	{"\"v12-0123456789abcdef\"", 412},
	{"\"v0-0123456789abcdef\"", 412},
	{"\"v1x\"", 412},
	{"\"v1.5\"", 412},
	{"W/\"v1-0123456789abcdef\"", 412},
	/* a comma or an asterisk inside a tag is the tag's; tabs separate as spaces do */
	{"\"v1-x,*\"", 0},
	{"\"v0-x,*\"", 412},
	{"W/\"x,*\"", 412},
	{"\"x,\"v1\"\"", 412},
	{"\"v0\",\t\"v1\"", 0},
	{"\t\"v1\"\t", 0},
	/* not well formed: nothing matches */
	{"\"v1", 412},
	{"v1", 412},
	{"\"v1\" junk", 412},
	{"*, \"v1\"", 412},
	{"\"v1\", junk", 412},
	{"\"v1\"\"v1\"", 412},
	{" * ", 0},
};

START_TEST(require_match_table)
{
	struct sg_req r = new_req(NULL);
	int rc;

	r.if_match = match_rows[_i].header;
	rc = http_require_version(&r, "\"v1\"");
	ck_assert_msg(rc == match_rows[_i].want, "If-Match %s: %d, want %d",
		      match_rows[_i].header ? match_rows[_i].header : "(none)", rc, match_rows[_i].want);
	if (rc) {
		json_t *j = body_json(&r);

		ck_assert_int_eq(r.status, rc);
		ck_assert_str_eq(r.content_type_out, "application/problem+json");
		ck_assert_str_eq(json_string_value(json_object_get(j, "type")),
				 rc == 428 ? "/problems/precondition-required" : "/problems/precondition-failed");
		json_decref(j);
	}
}
END_TEST

struct link_row {
	const char *query;
	const char *link; /* expected Link */
};

static const struct link_row link_rows[] = {
	{NULL, "</v1/children?cursor=c1.NEXT>; rel=\"next\""},
	{"", "</v1/children?cursor=c1.NEXT>; rel=\"next\""},
	{"cursor=c1.OLD", "</v1/children?cursor=c1.NEXT>; rel=\"next\""},
	{"limit=5", "</v1/children?limit=5&cursor=c1.NEXT>; rel=\"next\""},
	{"limit=5&cursor=c1.OLD&q=x", "</v1/children?limit=5&q=x&cursor=c1.NEXT>; rel=\"next\""},
	{"cursor=c1.OLD&limit=5", "</v1/children?limit=5&cursor=c1.NEXT>; rel=\"next\""},
	{"limit=5&&cursor=c1.OLD&", "</v1/children?limit=5&cursor=c1.NEXT>; rel=\"next\""},
	{"status=open&from=2024-01-01T00%3A00%3A00Z",
	 "</v1/children?status=open&from=2024-01-01T00%3A00%3A00Z&cursor=c1.NEXT>; rel=\"next\""},
	{"xcursor=1", "</v1/children?xcursor=1&cursor=c1.NEXT>; rel=\"next\""},
};

START_TEST(list_link_table)
{
	struct sg_req r = new_req(link_rows[_i].query);
	json_t *j;

	ck_assert_int_eq(http_list(&r, json_pack("[{s:i},{s:i}]", "n", 1, "n", 2), "c1.NEXT"), 200);
	ck_assert_str_eq(r.content_type_out, "application/json");
	ck_assert_ptr_nonnull(header(&r, "Link"));
	ck_assert_str_eq(header(&r, "Link"), link_rows[_i].link);
	j = body_json(&r);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "items")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(j, "next_cursor")), "c1.NEXT");
	json_decref(j);
}
END_TEST

START_TEST(list_last_page)
{
	struct sg_req r = new_req("limit=5&cursor=c1.OLD");
	json_t *j;

	ck_assert_int_eq(http_list(&r, json_array(), NULL), 200);
	ck_assert_ptr_null(header(&r, "Link"));
	j = body_json(&r);
	ck_assert(json_is_array(json_object_get(j, "items")));
	ck_assert(json_is_null(json_object_get(j, "next_cursor")));
	ck_assert_uint_eq(json_object_size(j), 2);
	json_decref(j);
}
END_TEST

/* An error whose field is not text (a query parameter's name can be any
 * bytes) is still listed, under a placeholder: json_pack refuses invalid
 * UTF-8, and the error used to vanish from the list. */
START_TEST(problem_errors_keeps_non_utf8_field)
{
	struct sg_req r = new_req("%ff=1&nope=2");
	struct verrs errs = {0};
	struct query q;
	json_t *j, *list;

	verrs_add(&errs, "\xff", "unknown_parameter", "is not a parameter of this endpoint");
	query_parse(NULL, r.query_string, &q, &errs, a);
	ck_assert_uint_eq(errs.n, 3);
	http_problem_errors(&r, 400, "invalid-query", "the query has invalid parameters", &errs);
	j = body_json(&r);
	list = json_object_get(j, "errors");
	ck_assert_msg(json_array_size(list) == errs.n, "%zu errors, %zu in the body: %s", errs.n, json_array_size(list),
		      r.body_out);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "field")), "(not UTF-8)");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "field")), "%ff");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 2), "field")), "nope");
	json_decref(j);
}
END_TEST

/* A body that cannot be built (json_pack given a NULL string, json_loads of
 * text that is not JSON) is a 500 problem for that request, never an abort. */
START_TEST(json_null_is_internal_error)
{
	struct sg_req r = new_req(NULL);
	json_t *j;
	int rc;

	http_header(&r, "ETag", "\"v1\"");
	rc = http_json(&r, 201, json_pack("{s:s}", "name", (const char *)NULL));
	ck_assert_int_eq(rc, 500);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(r.content_type_out, "application/problem+json");
	ck_assert_uint_eq(r.nhdr, 0); /* no ETag or Location of the answer that failed */
	j = body_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "/problems/internal");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 500);
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), r.request_id);
	json_decref(j);

	r = new_req(NULL);
	r.request_id = "\"><script>";
	ck_assert_int_eq(http_json(&r, 200, json_loads("{not json", 0, NULL)), 500);
	j = body_json(&r);
	ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "");
	json_decref(j);
}
END_TEST

/* Request ids kept from the client (X-Request-Id) or made fresh. */
static const struct {
	const char *id;
	bool ok;
} request_id_rows[] = {
	{"0123456789abcdef0123456789abcdef", true},
	{"a", true},
	{"app-7.retry_2", true},
	{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", true},   /* 64 */
	{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false}, /* 65 */
	{"", false},
	{NULL, false},
	{"has space", false},
	{"quote\"", false},
	{"new\nline", false},
	{"semi;colon", false},
	{"slash/", false},
	{"caf\xc3\xa9", false},
	{"a,b", false},
};

START_TEST(request_id_table)
{
	ck_assert_msg(http_request_id_ok(request_id_rows[_i].id) == request_id_rows[_i].ok, "%s",
		      request_id_rows[_i].id ? request_id_rows[_i].id : "(null)");
}
END_TEST

START_TEST(request_id_fresh)
{
	const char *x = http_request_id_new(a), *y = http_request_id_new(a);

	ck_assert_uint_eq(strlen(x), 32);
	ck_assert_uint_eq(strspn(x, "0123456789abcdef"), 32);
	ck_assert(http_request_id_ok(x));
	ck_assert_str_ne(x, y);
}
END_TEST

/* Every answer a retry can cure carries Retry-After; others do not; a
 * handler's own value is kept. */
static const struct {
	int status;
	const char *slug, *retry_after; /* NULL: no header */
} retry_rows[] = {
	{409, "idempotency-in-progress", "1"},
	{409, "conflict", NULL},
	{409, "possible-duplicate", NULL},
	{429, "rate-limited", "1"},
	{502, "bad-gateway", "2"},
	{503, "service-unavailable", "2"},
	{503, "not-ready", "2"},
	{504, "gateway-timeout", "5"},
	{500, "internal", NULL},
	{404, "not-found", NULL},
	{412, "precondition-failed", NULL},
};

START_TEST(retry_after_table)
{
	struct sg_req r = new_req(NULL), e = new_req(NULL);
	struct verrs errs = {0};
	const char *got;

	http_problem(&r, retry_rows[_i].status, retry_rows[_i].slug, "x");
	got = header(&r, "Retry-After");
	if (retry_rows[_i].retry_after)
		ck_assert_msg(got && !strcmp(got, retry_rows[_i].retry_after), "%d %s: Retry-After %s",
			      retry_rows[_i].status, retry_rows[_i].slug, got ? got : "(none)");
	else
		ck_assert_msg(!got, "%d %s: Retry-After %s", retry_rows[_i].status, retry_rows[_i].slug, got);
	/* the same through the error-list form */
	verrs_add(&errs, "f", "c", "m");
	http_problem_errors(&e, retry_rows[_i].status, retry_rows[_i].slug, "x", &errs);
	got = header(&e, "Retry-After");
	ck_assert(retry_rows[_i].retry_after ? got && !strcmp(got, retry_rows[_i].retry_after) : !got);
}
END_TEST

START_TEST(retry_after_kept_and_unavailable)
{
	struct sg_req r = new_req(NULL), u = new_req(NULL);
	size_t n = 0;

	http_header(&r, "Retry-After", "7");
	http_problem(&r, 503, "service-unavailable", "x");
	for (size_t i = 0; i < r.nhdr; i++)
		n += !strcmp(r.hdr_names[i], "Retry-After");
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(header(&r, "Retry-After"), "7");
	http_header(&u, "ETag", "\"v1\"");
	ck_assert_int_eq(http_unavailable(&u), 503);
	ck_assert_str_eq(header(&u, "Retry-After"), "2");
	ck_assert_ptr_null(header(&u, "ETag"));
}
END_TEST

Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("responses");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, problem_table, 0, (int)(sizeof problems / sizeof problems[0]));
	tcase_add_test(tc, problem_without_request_id);
	tcase_add_test(tc, reasons);
	tcase_add_test(tc, problem_errors_lists_every_error);
	tcase_add_test(tc, problem_errors_full_list);
	tcase_add_test(tc, problem_errors_keeps_non_utf8_field);
	tcase_add_loop_test(tc, etag_table, 0, (int)(sizeof etag_rows / sizeof etag_rows[0]));
	tcase_add_loop_test(tc, require_match_table, 0, (int)(sizeof match_rows / sizeof match_rows[0]));
	tcase_add_loop_test(tc, list_link_table, 0, (int)(sizeof link_rows / sizeof link_rows[0]));
	tcase_add_test(tc, list_last_page);
	tcase_add_test(tc, json_null_is_internal_error);
	tcase_add_loop_test(tc, request_id_table, 0, (int)(sizeof request_id_rows / sizeof request_id_rows[0]));
	tcase_add_test(tc, request_id_fresh);
	tcase_add_loop_test(tc, retry_after_table, 0, (int)(sizeof retry_rows / sizeof retry_rows[0]));
	tcase_add_test(tc, retry_after_kept_and_unavailable);
	suite_add_tcase(s, tc);
	return s;
}
