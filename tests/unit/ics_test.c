/* iCalendar (RFC 5545): TEXT escaping, folding at 75 octets without
 * splitting a UTF-8 character, CRLF line ends, UTC instants. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include "areas/training/ics.h"
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

static const char *text_line(const char *name, const char *value)
{
	struct ics c;
	size_t n;

	ics_init(&c, a);
	ics_text(&c, name, value);
	return ics_text_of(&c, &n);
}

static const struct {
	const char *in, *out;
} escapes[] = {
	{"plain", "SUMMARY:plain\r\n"},
	{"a;b,c\\d", "SUMMARY:a\\;b\\,c\\\\d\r\n"},
	{"line one\nline two", "SUMMARY:line one\\nline two\r\n"},
	{"crlf\r\nend", "SUMMARY:crlf\\nend\r\n"},            /* CR dropped, LF escaped */
	{"tab\there", "SUMMARY:tab here\r\n"},                /* HTAB becomes a space */
	{"bell\a and \x7f del", "SUMMARY:bell and  del\r\n"}, /* other controls dropped */
	{"", "SUMMARY:\r\n"},
	{"caf\xc3\xa9", "SUMMARY:caf\xc3\xa9\r\n"},
};

START_TEST(text_escapes)
{
	ck_assert_str_eq(text_line("SUMMARY", escapes[_i].in), escapes[_i].out);
}
END_TEST

/* Every physical line at most 75 octets, continuations start with a space,
 * no line starts inside a UTF-8 sequence, and unfolding gives the line back. */
static void check_folded(const char *out, const char *logical)
{
	char unfolded[4096] = "";
	size_t u = 0;

	for (const char *p = out; *p;) {
		const char *end = strstr(p, "\r\n");
		size_t len;

		ck_assert_ptr_nonnull(end);
		len = (size_t)(end - p);
		ck_assert_uint_le(len, 75);
		if (p != out) {
			ck_assert_int_eq(p[0], ' ');
			ck_assert_int_ne((unsigned char)p[1] & 0xC0, 0x80);
			memcpy(unfolded + u, p + 1, len - 1);
			u += len - 1;
		} else {
			memcpy(unfolded + u, p, len);
			u += len;
		}
		p = end + 2;
	}
	unfolded[u] = '\0';
	ck_assert_str_eq(unfolded, logical);
}

START_TEST(folds_ascii)
{
	char value[301];
	char logical[320];

	memset(value, 'x', 300);
	value[300] = '\0';
	snprintf(logical, sizeof logical, "DESCRIPTION:%s", value);
	check_folded(text_line("DESCRIPTION", value), logical);
	/* exactly 75 octets: no fold */
	memset(value, 'y', 67);
	value[67] = '\0';
	ck_assert_uint_eq(strlen(text_line("SUMMARY", value)), 75 + 2);
	/* 76: one fold */
	memset(value, 'y', 68);
	value[68] = '\0';
	ck_assert_ptr_nonnull(strstr(text_line("SUMMARY", value), "\r\n "));
}
END_TEST

START_TEST(folds_utf8)
{
	/* three- and four-byte characters across every fold position */
	char value[600] = "";
	char logical[640];

	for (int i = 0; i < 40; i++)
		strcat(value, i % 3 ? "\xe2\x80\x94" : "\xf0\x9f\x99\x82");
	snprintf(logical, sizeof logical, "SUMMARY:%s", value);
	check_folded(text_line("SUMMARY", value), logical);
	for (int shift = 0; shift < 4; shift++) {
		char v[600];

		memset(v, 'a', (size_t)shift);
		strcpy(v + shift, value);
		snprintf(logical, sizeof logical, "SUMMARY:%s", v);
		check_folded(text_line("SUMMARY", v), logical);
	}
}
END_TEST

START_TEST(lines_and_instants)
{
	struct ics c;
	size_t n;

	ics_init(&c, a);
	ics_line(&c, "BEGIN", "VCALENDAR");
	ics_line(&c, "DTSTART", ics_utc(a, "2026-11-22T10:00:00Z"));
	ics_line(&c, "END", "VCALENDAR");
	ck_assert_str_eq(ics_text_of(&c, &n), "BEGIN:VCALENDAR\r\nDTSTART:20261122T100000Z\r\nEND:VCALENDAR\r\n");
	ck_assert_uint_eq(n, strlen("BEGIN:VCALENDAR\r\nDTSTART:20261122T100000Z\r\nEND:VCALENDAR\r\n"));
	ck_assert_ptr_null(ics_utc(a, "2026-11-22T10:00:00+01:00"));
	ck_assert_ptr_null(ics_utc(a, "2026-11-22 10:00:00Z"));
	ck_assert_ptr_null(ics_utc(a, NULL));
	ck_assert_ptr_null(ics_utc(a, ""));
}
END_TEST

Suite *ics_suite(void)
{
	Suite *s = suite_create("ics");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, text_escapes, 0, (int)(sizeof escapes / sizeof escapes[0]));
	tcase_add_test(tc, folds_ascii);
	tcase_add_test(tc, folds_utf8);
	tcase_add_test(tc, lines_and_instants);
	suite_add_tcase(s, tc);
	return s;
}
