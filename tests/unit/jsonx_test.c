/* Strict JSON for bodies: duplicate keys, invalid UTF-8, depth, string
 * length, NUL and trailing garbage are rejected with the right reason. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include "jsonx.h"
#include "unit.h"

static const struct json_limits lim = {.max_depth = 32, .max_chars = 100};

#define DUP "the body repeats an object key"
#define UTF8 "the body is not valid UTF-8"
#define NUL "the body contains a NUL character"
#define DEEP "the body nests deeper than allowed"
#define LONG "the body has a string longer than allowed"
#define BAD "the body is not well-formed JSON"

struct jsonx_row {
	const char *text;
	size_t n;        /* 0: strlen */
	const char *why; /* NULL: accepted */
};

static const struct jsonx_row rows[] = {
	{"{}", 0, NULL},
	{"[]", 0, NULL},
	{"{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}", 0, NULL},
	{"{} \n\t", 0, NULL},
	/* duplicate keys, at any level */
	{"{\"a\":1,\"a\":2}", 0, DUP},
	{"{\"a\":1,\"a\":1}", 0, DUP},
	{"{\"x\":{\"a\":1,\"b\":2,\"a\":3}}", 0, DUP},
	{"[{\"a\":1},{\"a\":1,\"a\":1}]", 0, DUP},
	{"{\"a\":1,\"\\u0061\":2}", 0, DUP}, /* the same key written differently */
	{"{\"a\":1,\"A\":2}", 0, NULL},
	/* UTF-8 */
	{"{\"a\":\"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\"}", 0, NULL},
	{"{\"a\":\"\\u00e9\\ud83d\\ude00\"}", 0, NULL},
	{"{\"a\":\"\xff\"}", 0, UTF8},
	{"{\"a\":\"\xc3\"}", 0, UTF8},             /* truncated sequence */
	{"{\"a\":\"\xc0\xaf\"}", 0, UTF8},         /* overlong */
	{"{\"a\":\"\xed\xa0\x80\"}", 0, UTF8},     /* a surrogate */
	{"{\"a\":\"\xf4\x90\x80\x80\"}", 0, UTF8}, /* above U+10FFFF */
	{"{\"\xff\":1}", 0, UTF8},
	/* NUL */
	{"{\"a\":\"\\u0000\"}", 0, NUL},
	{"{\"a\":\"x\\u0000y\"}", 0, NUL},
	{"{\"\\u0000\":1}", 0, NUL},
	{"{\"a\":1}\0", 8, BAD}, /* a raw NUL byte after the body */
	/* trailing garbage and other malformations */
	{"{} x", 0, BAD},
	{"{}{}", 0, BAD},
	{"[]]", 0, BAD},
	{"{\"a\":1},", 0, BAD},
	{"", 0, BAD},
	{"1", 0, BAD}, /* a body is an object or an array */
	{"\"x\"", 0, BAD},
	{"null", 0, BAD},
	{"{'a':1}", 0, BAD},
	{"{\"a\":01}", 0, BAD},
	{"{\"a\":NaN}", 0, BAD},
	{"[1,]", 0, BAD},
	{"{\"a\":\"\\ud800\"}", 0, BAD}, /* a lone surrogate escape */
	/* strings: at most 100 characters, keys at most 200 bytes */
	{"[\""
	 "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
	 "\"]",
	 0, NULL},
	{"[\""
	 "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789x"
	 "\"]",
	 0, LONG},
	{"{\"a\":[[{\"b\":\""
	 "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789x"
	 "\"}]]}",
	 0, LONG},
};

START_TEST(jsonx_table)
{
	const struct jsonx_row *row = &rows[_i];
	const char *why = NULL;
	json_t *j = jsonx_parse(row->text, row->n ? row->n : strlen(row->text), &lim, &why);

	if (row->why) {
		ck_assert_msg(j == NULL, "row %d should be rejected", _i);
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(strcmp(why, row->why) == 0, "row %d: \"%s\", want \"%s\"", _i, why, row->why);
	} else {
		ck_assert_msg(j != NULL, "row %d should be accepted: %s", _i, why ? why : "");
	}
	json_decref(j);
}
END_TEST

/* n levels of [ or {"k": around a value, with "[[[[" inside a string. */
static char *nested(size_t n, bool objects)
{
	size_t cap = n * 8 + 64, o = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s", objects ? "{\"k\":" : "[");
	o += (size_t)snprintf(s + o, cap - o, "%s", "\"[[[[{{{{\\\"[[[[\"");
	for (size_t i = 0; i < n; i++)
		s[o++] = objects ? '}' : ']';
	s[o] = '\0';
	return s;
}

START_TEST(depth)
{
	for (int objects = 0; objects <= 1; objects++) {
		char *ok = nested(32, objects), *deep = nested(33, objects);
		const char *why = NULL;
		json_t *j = jsonx_parse(ok, strlen(ok), &lim, &why);

		ck_assert_msg(j != NULL, "32 levels should be accepted: %s", why ? why : "");
		json_decref(j);
		j = jsonx_parse(deep, strlen(deep), &lim, &why);
		ck_assert_ptr_null(j);
		ck_assert_str_eq(why, DEEP);
		free(ok);
		free(deep);
	}
}
END_TEST

/* Depth counts open brackets outside strings, not the brackets' total. */
START_TEST(depth_is_nesting_not_count)
{
	char buf[512];
	size_t o = 0;
	const char *why = NULL;
	json_t *j;

	buf[o++] = '[';
	for (int i = 0; i < 60; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s[]", i ? "," : "");
	buf[o++] = ']';
	j = jsonx_parse(buf, o, &lim, &why);
	ck_assert_msg(j != NULL, "60 siblings at depth 2: %s", why ? why : "");
	json_decref(j);
}
END_TEST

START_TEST(long_key)
{
	char buf[512];
	const char *why = NULL;
	json_t *j;

	for (int len = 200; len <= 201; len++) {
		int o = snprintf(buf, sizeof buf, "{\"");

		memset(buf + o, 'k', (size_t)len);
		o += len;
		o += snprintf(buf + o, sizeof buf - (size_t)o, "\":1}");
		j = jsonx_parse(buf, (size_t)o, &lim, &why);
		if (len == 200) {
			ck_assert_ptr_nonnull(j);
		} else {
			ck_assert_ptr_null(j);
			ck_assert_str_eq(why, LONG);
		}
		json_decref(j);
	}
}
END_TEST

/* Strings are counted in characters, not bytes: 100 characters of 2, 3 or
 * 4 bytes each are taken, 101 are not, whether written as UTF-8 or escaped. */
START_TEST(strings_in_characters)
{
	static const char *const chars[] = {"x", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\\u00e9"};
	char buf[1024];
	const char *why = NULL;
	json_t *j;

	for (int len = 100; len <= 101; len++) {
		int o = snprintf(buf, sizeof buf, "{\"a\":\"");

		for (int i = 0; i < len; i++)
			o += snprintf(buf + o, sizeof buf - (size_t)o, "%s", chars[_i]);
		o += snprintf(buf + o, sizeof buf - (size_t)o, "\"}");
		j = jsonx_parse(buf, (size_t)o, &lim, &why);
		if (len == 100) {
			ck_assert_msg(j != NULL, "%s x 100: %s", chars[_i], why);
		} else {
			ck_assert_ptr_null(j);
			ck_assert_str_eq(why, LONG);
		}
		json_decref(j);
	}
}
END_TEST

Suite *jsonx_suite(void)
{
	Suite *s = suite_create("jsonx");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, jsonx_table, 0, (int)(sizeof rows / sizeof rows[0]));
	tcase_add_test(tc, depth);
	tcase_add_test(tc, depth_is_nesting_not_count);
	tcase_add_test(tc, long_key);
	tcase_add_loop_test(tc, strings_in_characters, 0, 5);
	suite_add_tcase(s, tc);
	return s;
}
