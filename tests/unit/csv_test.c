/* CSV cells: quoting, and formula injection neutralised (core/csv.c). */
#include <check.h>
#include <string.h>
#include "csv.h"
#include "unit.h"

static const struct {
	const char *in, *out;
} cells[] = {
	{"plain", "\"plain\","},
	{"", "\"\","},
	{NULL, "\"\","},
	{"say \"hi\"", "\"say \"\"hi\"\"\","},
	{"a,b\nc", "\"a,b\nc\","},
	{"=1+1", "\"'=1+1\","},
	{"+44 7700", "\"'+44 7700\","},
	{"-2", "\"'-2\","},
	{"@SUM(A1)", "\"'@SUM(A1)\","},
	{"\tcmd", "\"'\tcmd\","},
	{"\rcmd", "\"'\rcmd\","},
	{"=\"x\"", "\"'=\"\"x\"\"\","},
	{"a=b", "\"a=b\","}, /* only a leading character counts */
	/* behind blanks a spreadsheet may trim first, a formula is still one */
	{" =x", "\"' =x\","},
	{"   @SUM(A1)", "\"'   @SUM(A1)\","},
	{"\n=1+1", "\"'\n=1+1\","},
	{"\r\n=1+1", "\"'\r\n=1+1\","},
	{" \t-2", "\"' \t-2\","},
	{"\v\f+1", "\"'\v\f+1\","},
	{"\xc2\xa0=1", "\"'\xc2\xa0=1\","},           /* no-break space */
	{"\xe3\x80\x80=1", "\"'\xe3\x80\x80=1\","},   /* ideographic space */
	{"\xef\xbb\xbf=1", "\"'\xef\xbb\xbf=1\","},   /* a byte-order mark */
	{"\xe2\x80\x8b@x", "\"'\xe2\x80\x8b@x\","},   /* zero-width space */
	{"\357\274\2351+1", "\"'\357\274\2351+1\","}, /* full-width = (octal: a hex escape would take the 1) */
	{" \xef\xbc\xa0x", "\"' \xef\xbc\xa0x\","},   /* full-width @ behind a space */
	{"\n", "\"'\n\","},
	/* blanks before anything else are left alone */
	{" plain", "\" plain\","},
	{"  ", "\"  \","},
	{"\302\240Zo\303\253", "\"\302\240Zo\303\253\","},
	{"\xc2", "\"\xc2\","}, /* a cut sequence is not read past its end */
	{"\xe2\x80", "\"\xe2\x80\","},
	{"x =1", "\"x =1\","},
};

START_TEST(one_cell)
{
	struct arena *a = arena_new();
	struct csv c;

	csv_init(&c, a);
	csv_cell(&c, cells[_i].in, false);
	ck_assert_uint_eq(c.len, strlen(cells[_i].out));
	ck_assert_msg(memcmp(*c.buf, cells[_i].out, c.len) == 0, "cell %d: got %.*s", _i, (int)c.len, *c.buf);
	arena_free(a);
}
END_TEST

START_TEST(rows_end_with_crlf_and_grow)
{
	struct arena *a = arena_new();
	struct csv c;
	char big[10001];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	csv_init(&c, a);
	csv_cell(&c, "a", false);
	csv_cell(&c, "b", true);
	ck_assert_uint_eq(c.len, 9);
	ck_assert(memcmp(*c.buf, "\"a\",\"b\"\r\n", 9) == 0);
	for (int i = 0; i < 5; i++)
		csv_cell(&c, big, i == 4);
	ck_assert_uint_eq(c.len, 9 + 5 * (sizeof big - 1 + 3) + 1); /* the last ends with CRLF */
	ck_assert(memcmp(*c.buf + c.len - 2, "\r\n", 2) == 0);
	arena_free(a); /* frees the grown buffer: valgrind and ASan check */
}
END_TEST

START_TEST(formula_like)
{
	ck_assert(csv_formula_like("=A1"));
	ck_assert(csv_formula_like("-"));
	ck_assert(!csv_formula_like(""));
	ck_assert(!csv_formula_like(NULL));
	ck_assert(!csv_formula_like("'=A1"));
	ck_assert(!csv_formula_like("1=1"));
	ck_assert(csv_formula_like("  =A1"));
	ck_assert(csv_formula_like("\n"));
	ck_assert(csv_formula_like("\r\n-1"));
	ck_assert(!csv_formula_like("   "));
	ck_assert(!csv_formula_like(" 'x"));
}
END_TEST

Suite *csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("cells");

	tcase_add_loop_test(tc, one_cell, 0, (int)(sizeof cells / sizeof cells[0]));
	tcase_add_test(tc, rows_end_with_crlf_and_grow);
	tcase_add_test(tc, formula_like);
	suite_add_tcase(s, tc);
	return s;
}
