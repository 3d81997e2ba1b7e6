/* Query strings against an allow-list: unknown and repeated parameters,
 * percent escapes, '+' as a space, integer bounds, every error at once. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include "query.h"
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

enum { Q_LIMIT, Q_Q, Q_FROM, Q_ID, Q_STATE, Q_DAY, Q_CURSOR, Q_OFFSET, Q_N, Q__COUNT };

static const char *const states[] = {"open", "closed", NULL};
static const struct query_param params[Q__COUNT] = {
	[Q_LIMIT] = {"limit", FT_INT, 1, 100, NULL},
	[Q_Q] = {"q", FT_STRING, 0, 10, NULL}, /* min 0: still at least one character */
	[Q_FROM] = {"from", FT_INSTANT, 0, 0, NULL},
	[Q_ID] = {"id", FT_UUID, 0, 0, NULL},
	[Q_STATE] = {"state", FT_ENUM, 0, 0, states},
	[Q_DAY] = {"day", FT_DATE, 0, 0, NULL},
	[Q_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[Q_OFFSET] = {"offset", FT_INT, -10, 10, NULL},
	[Q_N] = {"n", FT_INT, 0, 0, NULL}, /* no bounds */
};
static const struct query_spec spec = {params, Q__COUNT};

struct query_row {
	const struct query_spec *spec;
	const char *qs;
	const char *vals[Q__COUNT]; /* checked when no error is expected */
	const char *errs[6];        /* "field code" (code after the last space); field "-" is "" */
};

static const struct query_row rows[] = {
	{&spec, NULL, {NULL}, {NULL}},
	{&spec, "", {NULL}, {NULL}},
	{&spec, "limit=5", {[Q_LIMIT] = "5"}, {NULL}},
	{&spec, "limit=5&q=x&state=open", {[Q_LIMIT] = "5", [Q_Q] = "x", [Q_STATE] = "open"}, {NULL}},
	/* empty segments are skipped */
	{&spec, "limit=5&&q=x&", {[Q_LIMIT] = "5", [Q_Q] = "x"}, {NULL}},
	{&spec, "&&", {NULL}, {NULL}},
	/* unknown and repeated */
	{&spec, "foo=1", {NULL}, {"foo unknown_parameter"}},
	{&spec, "Limit=5", {NULL}, {"Limit unknown_parameter"}},
	{&spec, "=5", {NULL}, {"- unknown_parameter"}},
	{&spec, "=", {NULL}, {"- unknown_parameter"}},
	{&spec, "limit=5&limit=6", {NULL}, {"limit repeated_parameter"}},
	{&spec, "limit=5&limit=5", {NULL}, {"limit repeated_parameter"}},
	{&spec, "l%69mit=5", {[Q_LIMIT] = "5"}, {NULL}}, /* names are decoded too */
	{&spec, "li+mit=5", {NULL}, {"li mit unknown_parameter"}},
	/* percent escapes and '+' */
	{&spec, "q=a+b", {[Q_Q] = "a b"}, {NULL}},
	{&spec, "q=a%20b", {[Q_Q] = "a b"}, {NULL}},
	{&spec, "q=%2B", {[Q_Q] = "+"}, {NULL}},
	{&spec, "q=%41%62c", {[Q_Q] = "Abc"}, {NULL}},
	{&spec, "q=%c3%A9", {[Q_Q] = "\u00e9"}, {NULL}},
	{&spec, "q=a=b", {[Q_Q] = "a=b"}, {NULL}},
	{&spec, "q=%26", {[Q_Q] = "&"}, {NULL}},
	{&spec, "q=%zz", {NULL}, {"q invalid_encoding"}},
	{&spec, "q=%4", {NULL}, {"q invalid_encoding"}},
	{&spec, "q=%4g", {NULL}, {"q invalid_encoding"}},
	{&spec, "q=ab%", {NULL}, {"q invalid_encoding"}},
	{&spec, "q=%00", {NULL}, {"q invalid_encoding"}},
	{&spec, "q=a%00b", {NULL}, {"q invalid_encoding"}},
	/* decoded text must be UTF-8: a value that is not would reach PostgreSQL
	 * (SQLSTATE 22021, a 500); a name that is not is reported as sent */
	{&spec, "q=%ff", {NULL}, {"q invalid_encoding"}},
	{&spec, "q=%c3", {NULL}, {"q invalid_encoding"}},
	{&spec, "q=%c0%af", {NULL}, {"q invalid_encoding"}},
	{&spec, "cursor=%ed%a0%80", {NULL}, {"cursor invalid_encoding"}},
	{&spec, "q=\xff", {NULL}, {"q invalid_encoding"}},
	{&spec, "%ff=1", {NULL}, {"%ff invalid_encoding"}},
	{&spec, "a%ffb=1&limit=5", {NULL}, {"a%ffb invalid_encoding"}},
	{&spec, "%zz=1", {NULL}, {"- invalid_encoding"}},
	{&spec, "%00=1", {NULL}, {"- invalid_encoding"}},
	/* strings: empty and long */
	{&spec, "q=", {NULL}, {"q required"}},
	{&spec, "q", {NULL}, {"q required"}},
	{&spec, "q=1234567890", {[Q_Q] = "1234567890"}, {NULL}},
	{&spec, "q=12345678901", {NULL}, {"q too_long"}},
	/* lengths in characters, as the contract counts them: ten of "é" (twenty bytes) fit */
	{&spec,
	 "q=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9",
	 {[Q_Q] = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"},
	 {NULL}},
	{&spec, "q=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9", {NULL}, {"q too_long"}},
	/* integers */
	{&spec, "limit=1", {[Q_LIMIT] = "1"}, {NULL}},
	{&spec, "limit=100", {[Q_LIMIT] = "100"}, {NULL}},
	{&spec, "limit=007", {[Q_LIMIT] = "007"}, {NULL}},
	{&spec, "limit=0", {NULL}, {"limit out_of_range"}},
	{&spec, "limit=101", {NULL}, {"limit out_of_range"}},
	{&spec, "limit=-1", {NULL}, {"limit out_of_range"}},
	{&spec, "limit=", {NULL}, {"limit invalid_type"}},
	{&spec, "limit", {NULL}, {"limit invalid_type"}},
	{&spec, "limit=1.5", {NULL}, {"limit invalid_type"}},
	{&spec, "limit=1e2", {NULL}, {"limit invalid_type"}},
	{&spec, "limit=0x10", {NULL}, {"limit invalid_type"}},
	{&spec, "limit=abc", {NULL}, {"limit invalid_type"}},
	{&spec, "limit=+5", {NULL}, {"limit invalid_type"}},
	{&spec, "limit=%2B5", {NULL}, {"limit invalid_type"}},
	{&spec, "limit=%205", {NULL}, {"limit invalid_type"}},
	{&spec, "limit=5%20", {NULL}, {"limit invalid_type"}},
	{&spec, "limit=-", {NULL}, {"limit invalid_type"}},
	{&spec, "limit=99999999999999999999", {NULL}, {"limit invalid_type"}},
	{&spec, "offset=-10", {[Q_OFFSET] = "-10"}, {NULL}},
	{&spec, "offset=10", {[Q_OFFSET] = "10"}, {NULL}},
	{&spec, "offset=-11", {NULL}, {"offset out_of_range"}},
	{&spec, "n=-999999", {[Q_N] = "-999999"}, {NULL}},
	{&spec, "n=999999999999999999", {[Q_N] = "999999999999999999"}, {NULL}},
	{&spec, "n=9999999999999999999", {NULL}, {"n invalid_type"}},
	/* the other shapes */
	{&spec, "state=closed", {[Q_STATE] = "closed"}, {NULL}},
	{&spec, "state=Open", {NULL}, {"state invalid_value"}},
	{&spec, "state=", {NULL}, {"state invalid_value"}},
	{&spec, "from=2024-02-29T12:00:00Z", {[Q_FROM] = "2024-02-29T12:00:00Z"}, {NULL}},
	{&spec, "from=2024-02-29T12:00:00%2B01:00", {[Q_FROM] = "2024-02-29T12:00:00+01:00"}, {NULL}},
	{&spec, "from=2024-02-29T12:00:00+01:00", {NULL}, {"from invalid_instant"}}, /* '+' is a space */
	{&spec, "from=2024-02-29", {NULL}, {"from invalid_instant"}},
	{&spec, "id=123e4567-e89b-12d3-a456-426614174000", {[Q_ID] = "123e4567-e89b-12d3-a456-426614174000"}, {NULL}},
	{&spec, "id=123e4567", {NULL}, {"id invalid_uuid"}},
	{&spec, "day=2024-02-29", {[Q_DAY] = "2024-02-29"}, {NULL}},
	{&spec, "day=2023-02-29", {NULL}, {"day invalid_date"}},
	{&spec, "day=2024-1-01", {NULL}, {"day invalid_date"}},
	/* every problem at once */
	{&spec,
	 "limit=0&foo=1&q=%zz&limit=7&state=x&day=2023-02-29",
	 {NULL},
	 {"limit out_of_range", "foo unknown_parameter", "q invalid_encoding", "limit repeated_parameter",
	  "state invalid_value", "day invalid_date"}},
	/* no spec: every parameter is unknown */
	{NULL, NULL, {NULL}, {NULL}},
	{NULL, "", {NULL}, {NULL}},
	{NULL, "limit=5", {NULL}, {"limit unknown_parameter"}},
	{NULL, "a=1&b", {NULL}, {"a unknown_parameter", "b unknown_parameter"}},
};

static bool has_error(const struct verrs *e, const char *field, const char *code)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->items[i].field, field) == 0 && strcmp(e->items[i].code, code) == 0)
			return true;
	return false;
}

START_TEST(query_parse_table)
{
	const struct query_row *row = &rows[_i];
	const char *what = row->qs ? row->qs : "(null)";
	struct query q;
	struct verrs errs = {0};
	size_t nwant = 0;

	memset(&q, 0xA5, sizeof q); /* query_parse must clear it */
	query_parse(row->spec, row->qs, &q, &errs, a);
	for (; nwant < 6 && row->errs[nwant]; nwant++) {
		const char *sp = strrchr(row->errs[nwant], ' '), *code = sp + 1;
		char field[64];

		snprintf(field, sizeof field, "%.*s", (int)(sp - row->errs[nwant]), row->errs[nwant]);
		if (strcmp(field, "-") == 0)
			field[0] = '\0';
		ck_assert_msg(has_error(&errs, field, code), "%s: no error %s", what, row->errs[nwant]);
	}
	for (size_t i = 0; i < errs.n; i++)
		ck_assert_msg(errs.items[i].message && *errs.items[i].message, "%s: error without a message", what);
	ck_assert_msg(errs.n == nwant, "%s: %zu errors, want %zu", what, errs.n, nwant);
	if (nwant)
		return;
	for (size_t i = 0; i < q.n; i++) {
		const char *want = i < Q__COUNT ? row->vals[i] : NULL;

		if (want)
			ck_assert_msg(q.values[i] && strcmp(q.values[i], want) == 0, "%s: value %zu is %s, want %s",
				      what, i, q.values[i] ? q.values[i] : "(null)", want);
		else
			ck_assert_msg(q.values[i] == NULL, "%s: value %zu should be absent", what, i);
	}
}
END_TEST

START_TEST(unescape_table)
{
	static const struct {
		const char *in, *out; /* out NULL: rejected */
	} t[] = {
		{"", ""},        {"abc", "abc"},   {"a+b", "a b"}, {"%41", "A"},  {"%7e%7E", "~~"},
		{"%e9", "\xe9"}, {"%2525", "%25"}, {"%", NULL},    {"%4", NULL},  {"a%2", NULL},
		{"%zz", NULL},   {"%g0", NULL},    {"%0g", NULL},  {"%00", NULL}, {"%-1", NULL},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char *got = query_unescape(a, t[i].in, strlen(t[i].in));

		if (t[i].out)
			ck_assert_msg(got && strcmp(got, t[i].out) == 0, "%s: got %s", t[i].in, got ? got : "(null)");
		else
			ck_assert_msg(got == NULL, "%s should be rejected, got %s", t[i].in, got);
	}
	/* only n bytes are read: an escape cut by n is bad even if the buffer goes on */
	ck_assert_ptr_null(query_unescape(a, "%41", 2));
	ck_assert_str_eq(query_unescape(a, "ab&c", 2), "ab");
}
END_TEST

Suite *query_suite(void)
{
	Suite *s = suite_create("query");
	TCase *tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, query_parse_table, 0, (int)(sizeof rows / sizeof rows[0]));
	tcase_add_test(tc, unescape_table);
	suite_add_tcase(s, tc);
	return s;
}
