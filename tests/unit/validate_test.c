/* Body validation against a spec of our own that uses every field type:
 * each row patches a valid body and lists every error it must produce (all
 * of them, at once).  JSON in the tables uses ' for " to stay readable. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "kit.h"
#include "validate.h"
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

static const char *const kinds[] = {"alpha", "beta", NULL};
static const char *const colours[] = {"red", "green", NULL};
static const char *const server_owned[] = {"id", "created_at", NULL};

static const char *no_x(const char *s)
{
	return strchr(s, 'x') ? "must not contain x" : NULL;
}

/* Rules across fields: a flagged body needs a note; kind beta needs two
 * things of the same field (both are reported). */
static void flag_needs_note(json_t *body, struct verrs *errs, struct arena *ar)
{
	const char *kind = json_string_value(json_object_get(body, "kind"));

	(void)ar;
	if (json_is_true(json_object_get(body, "flag")) && !json_is_string(json_object_get(body, "note")))
		verrs_add(errs, "note", "required_with_flag", "is required when flag is true");
	if (kind && !strcmp(kind, "beta") && !json_object_get(body, "tags")) {
		verrs_add(errs, "tags", "beta_needs_a", "needs a");
		verrs_add(errs, "tags", "beta_needs_b", "needs b");
	}
}

static const struct field_spec fields[] = {
	{.name = "name", .type = FT_STRING, .required = true, .min = 1, .max = 5},
	{.name = "code", .type = FT_STRING, .min = 2, .check = no_x, .check_code = "has_x"},
	{.name = "note", .type = FT_STRING, .nullable = true, .max = 10},
	{.name = "count", .type = FT_INT, .required = true, .min = 1, .max = 10},
	{.name = "any_int", .type = FT_INT},
	{.name = "flag", .type = FT_BOOL},
	{.name = "born", .type = FT_DATE},
	{.name = "at", .type = FT_INSTANT},
	{.name = "ref", .type = FT_UUID},
	{.name = "kind", .type = FT_ENUM, .enum_values = kinds},
	{.name = "tags", .type = FT_STRING_ARRAY, .min = 1, .max = 3},
	{.name = "colours", .type = FT_STRING_ARRAY, .enum_values = colours},
	{.name = "meta", .type = FT_OBJECT, .nullable = true},
	{.name = "list", .type = FT_ARRAY},
};

static const struct body_spec spec = {
	.fields = fields, .n = sizeof fields / sizeof fields[0], .read_only = server_owned, .check = flag_needs_note};

#define BASE "{'name': 'abc', 'count': 3}"

struct body_row {
	const char *patch;     /* merged into BASE */
	const char *remove[3]; /* then these keys are deleted */
	const char *errs[12];  /* "field code", every error expected */
};

static const struct body_row body_rows[] = {
	/* valid */
	{"{}", {NULL}, {NULL}},
	{"{'code': 'ab', 'note': null, 'any_int': -5, 'flag': false, 'born': '2024-02-29',"
	 " 'at': '2024-02-29T23:59:60Z', 'ref': '123e4567-e89b-12d3-a456-426614174000', 'kind': 'alpha',"
	 " 'tags': ['a'], 'colours': ['red', 'green'], 'meta': {'x': 1}, 'list': [1, 'x', null]}",
	 {NULL},
	 {NULL}},
	/* unknown and server-owned fields */
	{"{'nmae': 'x'}", {NULL}, {"nmae unknown_field"}},
	{"{'Name': 'x'}", {NULL}, {"Name unknown_field"}},
	{"{'id': 'x', 'created_at': 'y'}", {NULL}, {"id read_only", "created_at read_only"}},
	/* missing required */
	{"{}", {"name"}, {"name required"}},
	{"{}", {"name", "count"}, {"name required", "count required"}},
	/* blanks alone are no value for a text that must be given */
	{"{'name': ' '}", {NULL}, {"name required"}},
	{"{'name': '\\t\\r\\n'}", {NULL}, {"name required"}},
	{"{'name': '\\u00a0\\u3000\\ufeff'}", {NULL}, {"name required"}},
	{"{'name': '\\u0085\\u2028\\u0001'}", {NULL}, {"name required"}},
	{"{'code': '   '}", {NULL}, {"code required"}},
	{"{'name': ' a '}", {NULL}, {NULL}},
	{"{'name': '\\u00a0\\u00e9'}", {NULL}, {NULL}},
	{"{'name': '\\u200d\\u200e'}", {NULL}, {"name required"}},
	{"{'name': '\\u0301\\u00ad'}", {NULL}, {"name required"}},
	{"{'name': '\\u2800\\u3164\\ufe0f'}", {NULL}, {"name required"}},
	{"{'name': '\\udb40\\udc01'}", {NULL}, {"name required"}},
	{"{'name': 'e\\u0301'}", {NULL}, {NULL}},
	{"{'name': '\\u200d\\u4e00'}", {NULL}, {NULL}},
	{"{'name': '\\ud83d\\ude00'}", {NULL}, {NULL}},
	{"{'note': ' '}", {NULL}, {NULL}},
	/* null against nullable */
	{"{'name': null}", {NULL}, {"name required"}},
	{"{'count': null}", {NULL}, {"count required"}},
	{"{'any_int': null}", {NULL}, {"any_int invalid_type"}},
	{"{'born': null}", {NULL}, {"born invalid_type"}},
	{"{'tags': null}", {NULL}, {"tags invalid_type"}},
	{"{'note': null}", {NULL}, {NULL}},
	{"{'meta': null}", {NULL}, {NULL}},
	/* wrong types */
	{"{'name': 5}", {NULL}, {"name invalid_type"}},
	{"{'name': ['abc']}", {NULL}, {"name invalid_type"}},
	{"{'count': '3'}", {NULL}, {"count invalid_type"}},
	{"{'count': 3.0}", {NULL}, {"count invalid_type"}},
	{"{'count': true}", {NULL}, {"count invalid_type"}},
	{"{'flag': 'true'}", {NULL}, {"flag invalid_type"}},
	{"{'flag': 1}", {NULL}, {"flag invalid_type"}},
	{"{'born': 20240229}", {NULL}, {"born invalid_type"}},
	{"{'at': 1709208000}", {NULL}, {"at invalid_type"}},
	{"{'ref': 1}", {NULL}, {"ref invalid_type"}},
	{"{'kind': 1}", {NULL}, {"kind invalid_type"}},
	{"{'tags': 'a'}", {NULL}, {"tags invalid_type"}},
	{"{'meta': []}", {NULL}, {"meta invalid_type"}},
	{"{'list': {}}", {NULL}, {"list invalid_type"}},
	/* string bounds, counted in characters */
	{"{'name': ''}", {NULL}, {"name required"}},
	{"{'name': 'abcde'}", {NULL}, {NULL}},
	{"{'name': 'abcdef'}", {NULL}, {"name too_long"}},
	{"{'name': '\u00e9\u00e9\u00e9\u00e9\u00e9'}", {NULL}, {NULL}}, /* 5 characters, 10 bytes */
	{"{'name': '\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9'}", {NULL}, {"name too_long"}},
	{"{'name': '\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600'}", {NULL}, {NULL}}, /* 20 bytes */
	{"{'name': '\u65e5\u672c\u8a9e\u65e5\u672c\u8a9e'}", {NULL}, {"name too_long"}},
	{"{'code': 'a'}", {NULL}, {"code too_short"}},
	{"{'code': 'axb'}", {NULL}, {"code has_x"}},
	{"{'note': '1234567890'}", {NULL}, {NULL}},
	{"{'note': '12345678901'}", {NULL}, {"note too_long"}},
	/* integer bounds */
	{"{'count': 1}", {NULL}, {NULL}},
	{"{'count': 10}", {NULL}, {NULL}},
	{"{'count': 0}", {NULL}, {"count out_of_range"}},
	{"{'count': 11}", {NULL}, {"count out_of_range"}},
	{"{'count': -1}", {NULL}, {"count out_of_range"}},
	{"{'count': 9223372036854775807}", {NULL}, {"count out_of_range"}},
	{"{'any_int': -9223372036854775808}", {NULL}, {NULL}},
	/* enum */
	{"{'kind': 'alpha'}", {NULL}, {NULL}},
	{"{'kind': 'gamma'}", {NULL}, {"kind invalid_value"}},
	{"{'kind': 'Alpha'}", {NULL}, {"kind invalid_value"}},
	{"{'kind': ''}", {NULL}, {"kind invalid_value"}},
	/* dates */
	{"{'born': '2024-02-29'}", {NULL}, {NULL}},
	{"{'born': '2000-02-29'}", {NULL}, {NULL}},
	{"{'born': '2024-12-31'}", {NULL}, {NULL}},
	{"{'born': '2023-02-29'}", {NULL}, {"born invalid_date"}},
	{"{'born': '1900-02-29'}", {NULL}, {"born invalid_date"}},
	{"{'born': '2024-13-01'}", {NULL}, {"born invalid_date"}},
	{"{'born': '2024-00-10'}", {NULL}, {"born invalid_date"}},
	{"{'born': '2024-04-31'}", {NULL}, {"born invalid_date"}},
	{"{'born': '2024-01-00'}", {NULL}, {"born invalid_date"}},
	{"{'born': '2024-1-01'}", {NULL}, {"born invalid_date"}},
	{"{'born': '2024-01-1'}", {NULL}, {"born invalid_date"}},
	{"{'born': '1899-12-31'}", {NULL}, {"born invalid_date"}},
	{"{'born': '2024/02/29'}", {NULL}, {"born invalid_date"}},
	{"{'born': ' 2024-02-29'}", {NULL}, {"born invalid_date"}},
	{"{'born': '2024-02-29T00:00:00Z'}", {NULL}, {"born invalid_date"}},
	{"{'born': ''}", {NULL}, {"born invalid_date"}},
	/* instants */
	{"{'at': '2024-02-29T12:00:00Z'}", {NULL}, {NULL}},
	{"{'at': '2024-02-29t12:00:00z'}", {NULL}, {NULL}},
	{"{'at': '2024-02-29T12:00:00+01:00'}", {NULL}, {NULL}},
	{"{'at': '2024-02-29T12:00:00-05:30'}", {NULL}, {NULL}},
	{"{'at': '2024-02-29T12:00:00.5Z'}", {NULL}, {NULL}},
	{"{'at': '2024-02-29T12:00:00.123456789+00:00'}", {NULL}, {NULL}},
	{"{'at': '2024-02-29T12:00:00+15:59'}", {NULL}, {NULL}},
	/* PostgreSQL refuses offsets past 15:59: refused here, never a 500 there */
	{"{'at': '2024-02-29T12:00:00+16:00'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T12:00:00-23:59'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T12:00:00-00:00'}", {NULL}, {NULL}},
	{"{'at': '2024-02-29T12:00:00+24:00'}", {NULL}, {"at invalid_instant"}}, /* offsets: hour 00-23 */
	{"{'at': '2024-02-29T12:00:00+01:60'}", {NULL}, {"at invalid_instant"}}, /* minute 00-59 */
	{"{'at': '2024-02-29T12:00:00-99:99'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T12:00:00.1234567890Z'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T12:00:00.Z'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T24:00:00Z'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T23:60:00Z'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T23:59:61Z'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T1:00:00Z'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T12:00:00'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T12:00:00+0100'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T12:00:00+01'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29T12:00:00Zx'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29 12:00:00Z'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2023-02-29T12:00:00Z'}", {NULL}, {"at invalid_instant"}},
	{"{'at': '2024-02-29'}", {NULL}, {"at invalid_instant"}},
	/* UUIDs */
	{"{'ref': '123E4567-E89B-12D3-A456-426614174000'}", {NULL}, {NULL}},
	{"{'ref': '123e4567e89b12d3a456426614174000'}", {NULL}, {"ref invalid_uuid"}},
	{"{'ref': '123e4567-e89b-12d3-a456-42661417400'}", {NULL}, {"ref invalid_uuid"}},
	{"{'ref': '123e4567-e89b-12d3-a456-4266141740000'}", {NULL}, {"ref invalid_uuid"}},
	{"{'ref': '123e4567-e89b-12d3-a456-42661417400g'}", {NULL}, {"ref invalid_uuid"}},
	{"{'ref': '123e4567-e89b-12d3a-456-426614174000'}", {NULL}, {"ref invalid_uuid"}},
	{"{'ref': '{123e4567-e89b-12d3-a456-426614174000}'}", {NULL}, {"ref invalid_uuid"}},
	{"{'ref': ''}", {NULL}, {"ref invalid_uuid"}},
	/* string arrays */
	{"{'tags': ['a', 'b', 'c']}", {NULL}, {NULL}},
	{"{'tags': []}", {NULL}, {"tags too_few"}},
	{"{'tags': ['a', 'b', 'c', 'd']}", {NULL}, {"tags too_many"}},
	{"{'tags': ['a', 1]}", {NULL}, {"tags[1] invalid_type"}},
	{"{'tags': [null]}", {NULL}, {"tags[0] invalid_type"}},
	{"{'colours': []}", {NULL}, {NULL}},
	{"{'colours': ['red', 'blue']}", {NULL}, {"colours[1] invalid_value"}},
	{"{'colours': ['red', 2, 'blue']}", {NULL}, {"colours[1] invalid_type", "colours[2] invalid_value"}},
	/* the rule across fields runs after the field checks */
	{"{'flag': true}", {NULL}, {"note required_with_flag"}},
	{"{'flag': true, 'note': 'n'}", {NULL}, {NULL}},
	/* ... whatever they found, on what is well-formed: a malformed input is
	 * not there for the rule, and its word on a field already reported
	 * (here "required" for the malformed note) adds nothing */
	{"{'flag': true, 'count': 0}", {NULL}, {"count out_of_range", "note required_with_flag"}},
	{"{'flag': true, 'name': 7, 'nmae': 1}",
	 {NULL},
	 {"name invalid_type", "nmae unknown_field", "note required_with_flag"}},
	{"{'flag': true, 'note': '12345678901'}", {NULL}, {"note too_long"}},
	{"{'flag': true, 'note': 5}", {NULL}, {"note invalid_type"}},
	{"{'flag': 'yes'}", {NULL}, {"flag invalid_type"}},
	/* two rules on one field both speak; a field reported before the rules silences them */
	{"{'kind': 'beta'}", {NULL}, {"tags beta_needs_a", "tags beta_needs_b"}},
	{"{'kind': 'beta', 'tags': 'x'}", {NULL}, {"tags invalid_type"}},
	/* every error at once */
	{"{'nmae': 1, 'id': 'x', 'name': '', 'count': 'x', 'flag': 1, 'born': '2023-02-29',"
	 " 'at': '2024-02-29T24:00:00Z', 'ref': 'x', 'kind': 'x', 'tags': [], 'colours': ['blue']}",
	 {NULL},
	 {"nmae unknown_field", "id read_only", "name required", "count invalid_type", "flag invalid_type",
	  "born invalid_date", "at invalid_instant", "ref invalid_uuid", "kind invalid_value", "tags too_few",
	  "colours[0] invalid_value"}},
	{"{'flag': true, 'code': 'x', 'zz': 0}",
	 {"name", "count"},
	 {"zz unknown_field", "name required", "count required", "code too_short", "note required_with_flag"}},
};

/* Parses JSON written with ' for ", aborting the test on a typo. */
static json_t *json_q(const char *text)
{
	char *s = strdup(text);
	json_error_t err;
	json_t *j;

	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(s, JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(j != NULL, "bad test JSON %s: %s", s, err.text);
	free(s);
	return j;
}

static bool has_error(const struct verrs *e, const char *field, const char *code)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->items[i].field, field) == 0 && strcmp(e->items[i].code, code) == 0)
			return true;
	return false;
}

/* Asserts that errs holds exactly the "field code" entries of want. */
static void expect_errors(const char *what, const struct verrs *errs, const char *const *want, size_t maxwant)
{
	size_t nwant = 0;

	for (; nwant < maxwant && want[nwant]; nwant++) {
		char field[64], code[64];

		ck_assert_int_eq(sscanf(want[nwant], "%63s %63s", field, code), 2);
		ck_assert_msg(has_error(errs, field, code), "%s: no error %s", what, want[nwant]);
	}
	for (size_t i = 0; i < errs->n; i++)
		ck_assert_msg(errs->items[i].message && *errs->items[i].message, "%s: error %zu has no message", what,
			      i);
	if (errs->n != nwant) {
		for (size_t i = 0; i < errs->n; i++)
			fprintf(stderr, "  %s: got %s %s\n", what, errs->items[i].field, errs->items[i].code);
	}
	ck_assert_msg(errs->n == nwant, "%s: %zu errors, want %zu", what, errs->n, nwant);
}

START_TEST(validate_body_table)
{
	const struct body_row *row = &body_rows[_i];
	json_t *body = json_q(BASE), *patch = json_q(row->patch);
	struct verrs errs = {0};

	json_object_update(body, patch);
	for (size_t i = 0; i < 3 && row->remove[i]; i++)
		json_object_del(body, row->remove[i]);
	validate_body(&spec, body, &errs, a);
	expect_errors(row->patch, &errs, row->errs, sizeof row->errs / sizeof row->errs[0]);
	json_decref(patch);
	json_decref(body);
}
END_TEST

START_TEST(body_must_be_an_object)
{
	static const char *const texts[] = {"[]", "[{\"name\":\"abc\",\"count\":3}]", "\"x\"", "null", "1", "true"};

	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		json_t *j = json_loads(texts[i], JSON_DECODE_ANY, NULL);
		struct verrs errs = {0};

		ck_assert_ptr_nonnull(j);
		validate_body(&spec, j, &errs, a);
		ck_assert_msg(errs.n == 1, "%s: %zu errors", texts[i], errs.n);
		ck_assert_str_eq(errs.items[0].field, "");
		ck_assert_str_eq(errs.items[0].code, "invalid_type");
		json_decref(j);
	}
}
END_TEST

/* More problems than the list holds: the first 32 are kept, nothing overflows. */
START_TEST(errors_are_capped_at_the_list_size)
{
	json_t *body = json_q(BASE);
	struct verrs errs = {0};

	for (int i = 0; i < 40; i++) {
		char key[24];

		snprintf(key, sizeof key, "extra%02d", i);
		json_object_set_new(body, key, json_true());
	}
	validate_body(&spec, body, &errs, a);
	ck_assert_uint_eq(errs.n, sizeof errs.items / sizeof errs.items[0]);
	ck_assert_str_eq(errs.items[0].field, "extra00");
	ck_assert_str_eq(errs.items[31].field, "extra31");
	json_decref(body);
}
END_TEST

/* The fields that fail their own checks leave the body, are named in
 * errs.invalid, and the rest stays as it was. */
START_TEST(malformed_fields_leave_the_body)
{
	json_t *body = json_q(
		"{'name': 7, 'count': 3, 'note': 'n', 'zz': 1, 'id': 'x', 'born': '2023-02-29', 'tags': [],"
		" 'colours': ['red', 1]}");
	struct verrs errs = {0};

	validate_body(&spec, body, &errs, a);
	ck_assert_uint_eq(errs.n, 6);
	/* an array whose items alone are wrong stays, for the rules about the list */
	ck_assert_uint_eq(json_object_size(body), 3);
	ck_assert_ptr_nonnull(json_object_get(body, "colours"));
	ck_assert_int_eq(json_integer_value(json_object_get(body, "count")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(body, "note")), "n");
	ck_assert_uint_eq(errs.ninvalid, 3);
	ck_assert(verrs_invalid(&errs, "name") && verrs_invalid(&errs, "born") && verrs_invalid(&errs, "tags"));
	ck_assert(!verrs_invalid(&errs, "zz") && !verrs_invalid(&errs, "note") && !verrs_invalid(&errs, "colours"));
	ck_assert(verrs_has(&errs, "zz") && verrs_has(&errs, "colours[1]") && !verrs_has(&errs, "note"));
	json_decref(body);
}
END_TEST

/* A rule that must tell "not sent" from "sent but malformed": exactly one of
 * a and b, reported on b. */
static void one_of_a_b(json_t *body, struct verrs *errs, struct arena *ar)
{
	(void)ar;
	if ((json_object_get(body, "a") || verrs_invalid(errs, "a")) ==
	    (json_object_get(body, "b") || verrs_invalid(errs, "b")))
		verrs_add(errs, "b", "one_of", "give exactly one of a and b");
}

static const struct field_spec ab_fields[] = {
	{.name = "a", .type = FT_UUID},
	{.name = "b", .type = FT_BOOL},
};
static const struct body_spec ab_spec = {.fields = ab_fields, .n = 2, .check = one_of_a_b};

START_TEST(rules_see_which_fields_were_malformed)
{
	static const struct {
		const char *body;
		const char *errs[3];
	} rows[] = {
		{"{}", {"b one_of"}},
		{"{'a': '123e4567-e89b-12d3-a456-426614174000'}", {NULL}},
		{"{'b': true}", {NULL}},
		{"{'a': 'x'}", {"a invalid_uuid"}},                        /* a was sent: no one_of */
		{"{'a': 'x', 'b': true}", {"a invalid_uuid", "b one_of"}}, /* both were sent */
		{"{'b': 1}", {"b invalid_type"}},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		json_t *body = json_q(rows[i].body);
		struct verrs errs = {0};

		validate_body(&ab_spec, body, &errs, a);
		expect_errors(rows[i].body, &errs, rows[i].errs, 3);
		json_decref(body);
	}
}
END_TEST

/* A PATCH through the worker's steps: the patch's own errors wait for the
 * merge with the stored record, and the answer names both at once. */
static struct sg_req patch_req(const char *patch, struct verrs *pending)
{
	struct sg_req r = {0};

	r.arena = a;
	r.method = "PATCH";
	r.path = "/v1/things/1";
	r.request_id = "0123456789abcdef0123456789abcdef";
	r.content_length = -1;
	r.route_index = -1;
	r.body = arena_json(a, json_q(patch));
	validate_patch(&spec, r.body, pending, a);
	if (pending->n)
		r.body_errs = pending;
	return r;
}

START_TEST(patch_errors_are_answered_with_the_merged_records)
{
	static const struct {
		const char *stored, *patch;
		const char *errs[6];
	} rows[] = {
		/* the patch's malformed count, and the merged record's rule (flag without a note) */
		{"{'name': 'abc', 'count': 3, 'note': 'n'}",
		 "{'count': 0, 'note': null, 'flag': true}",
		 {"count out_of_range", "note required_with_flag"}},
		/* a malformed new value is not judged by the old one, nor reported twice */
		{"{'name': 'abc', 'count': 3}", "{'name': 7, 'zz': 1}", {"name invalid_type", "zz unknown_field"}},
		{"{'name': 'abc', 'count': 3}", "{'note': 12, 'flag': true}", {"note invalid_type"}},
		/* the merged record's errors alone, as before */
		{"{'name': 'abc', 'count': 3}", "{'flag': true}", {"note required_with_flag"}},
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct verrs pending = {0};
		struct sg_req r = patch_req(rows[i].patch, &pending);
		json_t *merged = NULL, *answer, *list, *e;
		struct verrs got = {0};
		char *stored = strdup(rows[i].stored);
		size_t k;

		for (char *p = stored; *p; p++)
			if (*p == '\'')
				*p = '"';
		ck_assert_int_eq(kit_patch_merge(&r, stored, &spec, &merged), 400);
		ck_assert_ptr_null(r.body_errs);
		answer = json_loadb(r.body_out, r.body_out_len, 0, NULL);
		list = json_object_get(answer, "errors");
		json_array_foreach(list, k, e)
			verrs_add(&got, arena_strdup(a, json_string_value(json_object_get(e, "field"))),
				  arena_strdup(a, json_string_value(json_object_get(e, "code"))), "m");
		expect_errors(rows[i].patch, &got, rows[i].errs, 6);
		json_decref(answer);
		free(stored);
	}
}
END_TEST

START_TEST(a_clean_patch_merges)
{
	struct verrs pending = {0};
	struct sg_req r = patch_req("{'note': 'n2', 'flag': true}", &pending);
	json_t *merged = NULL;

	ck_assert_uint_eq(pending.n, 0);
	ck_assert_int_eq(kit_patch_merge(&r, "{\"name\": \"abc\", \"count\": 3, \"id\": \"x\"}", &spec, &merged), 0);
	ck_assert_str_eq(json_string_value(json_object_get(merged, "note")), "n2");
	ck_assert_int_eq(json_integer_value(json_object_get(merged, "count")), 3);
	ck_assert_ptr_null(json_object_get(merged, "id"));
}
END_TEST

struct patch_row {
	const char *body;
	const char *errs[4];
};

static const struct patch_row patch_rows[] = {
	{"{}", {NULL}}, /* nothing is required */
	{"{'note': 'n'}", {NULL}},
	{"{'note': null}", {NULL}},            /* null clears a nullable field */
	{"{'name': null}", {"name required"}}, /* but not a required one */
	{"{'any_int': null}", {"any_int invalid_type"}},
	{"{'count': 0, 'nope': 1}", {"nope unknown_field", "count out_of_range"}},
	{"{'id': 'x'}", {"id read_only"}},
	{"{'flag': true}", {"note required_with_flag"}}, /* the spec's own rule still runs */
};

START_TEST(validate_patch_table)
{
	const struct patch_row *row = &patch_rows[_i];
	json_t *body = json_q(row->body);
	struct verrs errs = {0};

	validate_patch(&spec, body, &errs, a);
	expect_errors(row->body, &errs, row->errs, sizeof row->errs / sizeof row->errs[0]);
	json_decref(body);
}
END_TEST

START_TEST(instants_to_epoch)
{
	static const struct {
		const char *s;
		int64_t want;
	} rows[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"1970-01-01T01:00:00+01:00", 0},
		{"1969-12-31T19:00:00-05:00", 0},
		{"2024-02-29T12:00:00.999Z", 1709208000},
		{"2024-02-29T12:30:00+00:30", 1709208000},
	};
	int64_t t;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		ck_assert_msg(instant_to_epoch(rows[i].s, &t), "%s should convert", rows[i].s);
		ck_assert_msg(t == rows[i].want, "%s: %lld, want %lld", rows[i].s, (long long)t,
			      (long long)rows[i].want);
	}
	ck_assert(!instant_to_epoch("2024-02-30T00:00:00Z", &t));
}
END_TEST

/* Well-formed UTF-8 only (RFC 3629): the rules query strings and problem
 * bodies rely on. */
START_TEST(utf8_table)
{
	static const struct {
		const char *s;
		size_t n; /* 0: strlen */
		bool ok;
	} t[] = {
		{"", 0, true},
		{"plain ascii", 0, true},
		{"a\0b", 3, true},     /* NUL is ASCII; callers count bytes */
		{"\xc2\x80", 0, true}, /* U+0080, the first two-byte character */
		{"caf\xc3\xa9", 0, true},
		{"\xdf\xbf", 0, true},     /* U+07FF */
		{"\xe0\xa0\x80", 0, true}, /* U+0800 */
		{"\xe6\x97\xa5\xe6\x9c\xac", 0, true},
		{"\xed\x9f\xbf", 0, true},     /* U+D7FF, just below the surrogates */
		{"\xee\x80\x80", 0, true},     /* U+E000, just above */
		{"\xef\xbf\xbf", 0, true},     /* U+FFFF */
		{"\xf0\x90\x80\x80", 0, true}, /* U+10000 */
		{"\xf0\x9f\x98\x80", 0, true}, /* an emoji */
		{"\xf4\x8f\xbf\xbf", 0, true}, /* U+10FFFF, the last */
		{"\x80", 0, false},            /* a continuation byte alone */
		{"a\xbf", 0, false},
		{"\xc0\xaf", 0, false}, /* overlong '/' */
		{"\xc1\xbf", 0, false},
		{"\xe0\x80\xaf", 0, false}, /* overlong, three bytes */
		{"\xe0\x9f\xbf", 0, false},
		{"\xf0\x80\x80\xaf", 0, false}, /* overlong, four bytes */
		{"\xf0\x8f\xbf\xbf", 0, false},
		{"\xed\xa0\x80", 0, false},     /* U+D800, a surrogate */
		{"\xed\xbf\xbf", 0, false},     /* U+DFFF */
		{"\xf4\x90\x80\x80", 0, false}, /* U+110000 */
		{"\xf5\x80\x80\x80", 0, false},
		{"\xff", 0, false},
		{"\xfe\xff", 0, false},
		{"\xc3", 0, false}, /* truncated */
		{"\xe6\x97", 0, false},
		{"\xf0\x9f\x98", 0, false},
		{"\xc3(", 0, false}, /* a lead byte without its continuation */
		{"\xe6\x97(", 0, false},
		{"caf\xc3\xa9", 4, false}, /* n cuts the character */
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		size_t n = t[i].n ? t[i].n : strlen(t[i].s);

		ck_assert_msg(utf8_valid(t[i].s, n) == t[i].ok, "row %zu: want %s", i, t[i].ok ? "valid" : "invalid");
	}
}
END_TEST

/* No route's field allows a string longer than VALIDATE_MAX_CHARS, the
 * length the body parser's cap is made from (worker.c): a longer one would
 * be refused as invalid JSON before its spec could take it. */
static void spec_within_cap(const struct body_spec *bs, const char *route)
{
	for (size_t i = 0; bs && i < bs->n; i++) {
		const struct field_spec *f = &bs->fields[i];

		if (f->type == FT_STRING)
			ck_assert_msg(f->max <= VALIDATE_MAX_CHARS, "%s: %s allows %ld characters", route, f->name,
				      f->max);
	}
}

START_TEST(every_spec_within_the_parser_cap)
{
	for (size_t i = 0; i < router_count(); i++) {
		const struct route *rt = router_at(i);

		spec_within_cap(rt->body, rt->name);
		if (rt->body)
			spec_within_cap(rt->body->whole, rt->name);
	}
}
END_TEST

/* Lengths are characters: a string of max characters of any width is
 * taken, one more is too_long, named. */
START_TEST(lengths_in_characters)
{
	static const struct field_spec text_field[] = {{.name = "text", .type = FT_STRING, .max = 5}};
	static const struct body_spec text_spec = {.fields = text_field, .n = 1};
	static const char *const chars[] = {"x", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80"};

	for (size_t c = 0; c < sizeof chars / sizeof chars[0]; c++) {
		for (int len = 5; len <= 6; len++) {
			char text[32] = "";
			struct verrs errs = {0};
			json_t *body;

			for (int i = 0; i < len; i++)
				strcat(text, chars[c]);
			body = json_pack("{s:s}", "text", text);
			validate_body(&text_spec, body, &errs, a);
			if (len == 5) {
				ck_assert_msg(errs.n == 0, "%s x 5", chars[c]);
			} else {
				ck_assert_uint_eq(errs.n, 1);
				ck_assert_str_eq(errs.items[0].field, "text");
				ck_assert_str_eq(errs.items[0].code, "too_long");
			}
			json_decref(body);
		}
	}
}
END_TEST

Suite *validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("bodies");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, validate_body_table, 0, (int)(sizeof body_rows / sizeof body_rows[0]));
	tcase_add_test(tc, body_must_be_an_object);
	tcase_add_test(tc, errors_are_capped_at_the_list_size);
	tcase_add_loop_test(tc, validate_patch_table, 0, (int)(sizeof patch_rows / sizeof patch_rows[0]));
	tcase_add_test(tc, malformed_fields_leave_the_body);
	tcase_add_test(tc, rules_see_which_fields_were_malformed);
	tcase_add_test(tc, patch_errors_are_answered_with_the_merged_records);
	tcase_add_test(tc, a_clean_patch_merges);
	tcase_add_test(tc, instants_to_epoch);
	tcase_add_test(tc, utf8_table);
	tcase_add_test(tc, every_spec_within_the_parser_cap);
	tcase_add_test(tc, lengths_in_characters);
	suite_add_tcase(s, tc);
	return s;
}
