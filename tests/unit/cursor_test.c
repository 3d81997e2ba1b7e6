/* Keyset cursors: what is encoded decodes to the same parts; anything that
 * is not exactly a cursor of the expected arity is rejected.  Sealed ones
 * open only with a key they were sealed with, and say nothing readable. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "b64.h"
#include "cursor.h"
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

/* "c1." followed by the base64url of raw JSON text: a hand-made cursor. */
static char *raw_cursor(const char *json)
{
	size_t n = strlen(json), cap = 3 + n * 2 + 4;
	char *out = arena_alloc(a, cap);

	memcpy(out, "c1.", 3);
	b64url_encode((const unsigned char *)json, n, out + 3, cap - 3);
	return out;
}

START_TEST(round_trip)
{
	static const struct {
		const char *parts[3];
		size_t n;
	} t[] = {
		{{"2024-02-29 12:00:00.123456+00", "123e4567-e89b-12d3-a456-426614174000"}, 2},
		{{"one"}, 1},
		{{"", "a,b", "q\"uo\\te"}, 3},
		{{"\u00e9\u65e5\U0001F600", "[1]", "{}"}, 3},
		{{NULL}, 0},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char *got[3] = {NULL};
		char *c = cursor_encode(a, t[i].parts, t[i].n);

		ck_assert(strncmp(c, "c1.", 3) == 0);
		ck_assert(b64url_chars_only(c + 3, strlen(c + 3)));
		ck_assert_msg(cursor_decode(a, c, got, t[i].n), "row %zu: %s should decode", i, c);
		for (size_t k = 0; k < t[i].n; k++)
			ck_assert_str_eq(got[k], t[i].parts[k]);
		/* and with any other arity it does not */
		ck_assert(!cursor_decode(a, c, got, t[i].n + 1));
		if (t[i].n)
			ck_assert(!cursor_decode(a, c, got, t[i].n - 1));
	}
}
END_TEST

START_TEST(tampered)
{
	const char *good_parts[] = {"2024-01-01", "x"};
	char *good = cursor_encode(a, good_parts, 2);
	char *bad_tail = arena_printf(a, "%s=", good);
	char *bad_tag = arena_strdup(a, good);
	char *noncanon = raw_cursor("[\"ab\",\"b\"]"); /* 10 bytes: the last character carries 4 zero bits */
	const char *cases[] = {
		"",
		"c1.",
		"c1",
		"c2.WyJhIiwiYiJd", /* a valid body behind the wrong tag */
		"C1.WyJhIiwiYiJd",
		".WyJhIiwiYiJd",
		"WyJhIiwiYiJd",
		"c1.WyJhIiwiYiJd==", /* padding */
		"c1.WyJhIi+iYiJd",   /* standard alphabet */
		"c1.!!!!",
		"c1.WyJhIiwiYiJ",   /* truncated */
		"c1.WyJhIiwiYiJdA", /* length % 4 == 1 */
		"c1.WyJhIiwiYiJe",  /* one bit flipped */
		noncanon,           /* non-zero trailing bits */
		bad_tail,
		raw_cursor("[\"a\"]"), /* wrong arity: one part */
		raw_cursor("[\"a\",\"b\",\"c\"]"),
		raw_cursor("[]"),
		raw_cursor("[\"a\",1]"), /* non-string parts */
		raw_cursor("[\"a\",null]"),
		raw_cursor("[\"a\",[\"b\"]]"),
		raw_cursor("[\"a\",{\"b\":1}]"),
		raw_cursor("{\"a\":\"b\"}"), /* not an array */
		raw_cursor("\"a\""),
		raw_cursor("[\"a\",\"b\"] x"), /* trailing garbage */
		raw_cursor("[\"a\",\"b\"]]"),
		raw_cursor("[\"a\",\"b\""),
		raw_cursor("[\"a\",\"\\u0000\"]"), /* NUL inside a part */
		raw_cursor("[\"a\",\"\xff\"]"),    /* invalid UTF-8 */
	};
	const char *parts[2];

	bad_tag[1] = '9';
	ck_assert(cursor_decode(a, noncanon, parts, 2));
	noncanon[strlen(noncanon) - 1]++;
	ck_assert(!cursor_decode(a, bad_tag, parts, 2));
	ck_assert(cursor_decode(a, raw_cursor("[\"a\",\"b\"]"), parts, 2)); /* the hand-made ones are well made */
	ck_assert_str_eq(parts[1], "b");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(!cursor_decode(a, cases[i], parts, 2), "case %zu (%s) should be rejected", i, cases[i]);
}
END_TEST

/* At most 1024 characters, tag included, whatever is inside. */
START_TEST(length_limit)
{
	bool saw_ok = false, saw_long = false;

	for (size_t k = 740; k < 790; k++) {
		char *s = arena_alloc(a, k + 1);
		const char *parts[1] = {s}, *got[1];
		char *c;

		memset(s, 'x', k);
		c = cursor_encode(a, parts, 1);
		if (strlen(c) <= 1024) {
			ck_assert_msg(cursor_decode(a, c, got, 1), "%zu characters should decode", strlen(c));
			ck_assert_str_eq(got[0], s);
			saw_ok = true;
		} else {
			ck_assert_msg(!cursor_decode(a, c, got, 1), "%zu characters should be rejected", strlen(c));
			saw_long = true;
		}
	}
	ck_assert(saw_ok && saw_long);
	/* a long string of junk too */
	{
		char *junk = arena_alloc(a, 5001);

		memset(junk, 'A', 5000);
		memcpy(junk, "c1.", 3);
		ck_assert(!cursor_decode(a, junk, (const char *[2]){NULL}, 2));
	}
}
END_TEST

/* Loads the keys from a temporary file holding text; the loader's verdict. */
static bool load_keys(const char *text)
{
	char path[] = "/tmp/sg-cursor-keyXXXXXX", err[256];
	int fd = mkstemp(path);
	bool ok;

	ck_assert(fd >= 0);
	ck_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	ok = cursor_keys_load(path, err, sizeof err);
	unlink(path);
	return ok;
}

#define KEY_A "0123456789abcdef0123456789abcdef-a"
#define KEY_B "0123456789abcdef0123456789abcdef-b"

START_TEST(sealed_round_trip)
{
	const char *parts[] = {"1234567", "42", "2026-12-01 00:00:00+00", "123e4567-e89b-12d3-a456-426614174000"};
	const char *got[4] = {NULL};
	char *c, *d;

	ck_assert(load_keys(KEY_A "\n"));
	c = cursor_seal(a, parts, 4);
	d = cursor_seal(a, parts, 4);
	ck_assert(strncmp(c, "s1.", 3) == 0 && b64url_chars_only(c + 3, strlen(c + 3)));
	ck_assert_str_ne(c, d); /* a new nonce each time: equal positions do not look equal */
	ck_assert(cursor_open(a, c, got, 4));
	for (int k = 0; k < 4; k++)
		ck_assert_str_eq(got[k], parts[k]);
	ck_assert(!cursor_open(a, c, got, 3) && !cursor_open(a, c, got, 5));
	/* neither kind passes for the other */
	ck_assert(!cursor_decode(a, c, got, 4));
	ck_assert(!cursor_open(a, cursor_encode(a, parts, 4), got, 4));
	/* the length does not follow the digits: 1 and 19 digits seal alike */
	{
		const char *shorter[] = {"1", "1", parts[2], parts[3]};
		const char *longer[] = {"1234567890123456789", "1234567890123456789", parts[2], parts[3]};

		ck_assert_uint_eq(strlen(cursor_seal(a, shorter, 4)), strlen(cursor_seal(a, longer, 4)));
	}
}
END_TEST

START_TEST(sealed_tampered)
{
	const char *parts[] = {"1234567", "42"};
	const char *got[2];
	char *c;
	size_t n;

	ck_assert(load_keys(KEY_A "\n"));
	c = cursor_seal(a, parts, 2);
	n = strlen(c);
	/* every character changed, one at a time, is refused */
	for (size_t i = 0; i < n; i++) {
		char *t = arena_strdup(a, c);

		t[i] = t[i] == 'A' ? 'B' : 'A';
		ck_assert_msg(!cursor_open(a, t, got, 2), "a change at %zu opened", i);
	}
	ck_assert(!cursor_open(a, arena_printf(a, "%.*s", (int)(n - 4), c), got, 2)); /* truncated */
	ck_assert(!cursor_open(a, "s1.", got, 2));
	ck_assert(!cursor_open(a, "s1.AAAA", got, 2));
	ck_assert(!cursor_open(a, "", got, 2));
	/* another key does not open it; with both keys loaded it opens again */
	ck_assert(load_keys(KEY_B "\n"));
	ck_assert(!cursor_open(a, c, got, 2));
	ck_assert(load_keys(KEY_B "\n" KEY_A "\n"));
	ck_assert(cursor_open(a, c, got, 2));
	ck_assert_str_eq(got[1], "42");
	/* and the first key seals: B alone opens what is sealed now */
	c = cursor_seal(a, parts, 2);
	ck_assert(load_keys(KEY_B "\n"));
	ck_assert(cursor_open(a, c, got, 2));
}
END_TEST

START_TEST(sealed_keys_file)
{
	char err[256];

	ck_assert(!load_keys(""));
	ck_assert(!load_keys("\n\n"));
	ck_assert(!load_keys("short\n"));
	ck_assert(!load_keys(KEY_A "\nshort\n"));
	ck_assert(!load_keys(KEY_A "\n" KEY_A "\n" KEY_A "\n" KEY_A "\n" KEY_A "\n")); /* five */
	ck_assert(!cursor_keys_load("/nonexistent/cursor.key", err, sizeof err));
	ck_assert(strstr(err, "/nonexistent/cursor.key") != NULL);
	ck_assert(!cursor_keys_load(NULL, err, sizeof err));
	/* a secret longer than the loader's line is refused, not split into two
	 * (the first of which the operator never wrote) */
	{
		char *long_key = arena_alloc(a, 5002);

		memset(long_key, 'k', 5000);
		memcpy(long_key + 5000, "\n", 2);
		ck_assert(!load_keys(long_key));
		ck_assert(load_keys(long_key + 5000 - 4094)); /* 4,094 characters and the newline: the longest */
	}
	ck_assert(load_keys(KEY_A "\r\n\n" KEY_B)); /* CRLF, a blank line, no final newline */
	/* trailing blanks and tabs are not part of a secret: the same key as without them */
	{
		const char *parts[] = {"1", "2"}, *got[2];
		char *c;

		ck_assert(load_keys("\n" KEY_A " \t \r\n"));
		c = cursor_seal(a, parts, 2);
		ck_assert(load_keys(KEY_A "\n"));
		ck_assert(cursor_open(a, c, got, 2));
	}
	ck_assert(load_keys(KEY_A "\n" KEY_A "\n" KEY_A "\n" KEY_A "\n"));
}
END_TEST

Suite *cursor_suite(void)
{
	Suite *s = suite_create("cursor");
	TCase *tc = tcase_create("cursors");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, tampered);
	tcase_add_test(tc, length_limit);
	tcase_add_test(tc, sealed_round_trip);
	tcase_add_test(tc, sealed_tampered);
	tcase_add_test(tc, sealed_keys_file);
	suite_add_tcase(s, tc);
	return s;
}
