/* base64url without padding: the RFC 4648 test vectors in the url alphabet,
 * and the strictness that gives every byte string exactly one encoding. */
#include <check.h>
#include <string.h>
#include "b64.h"
#include "unit.h"

/* RFC 4648 section 10, padding removed; the last rows use the two characters
 * that differ from the standard alphabet (62 '-', 63 '_'). */
static const struct {
	const char *raw;
	size_t n;
	const char *enc;
} vectors[] = {
	{"", 0, ""},
	{"f", 1, "Zg"},
	{"fo", 2, "Zm8"},
	{"foo", 3, "Zm9v"},
	{"foob", 4, "Zm9vYg"},
	{"fooba", 5, "Zm9vYmE"},
	{"foobar", 6, "Zm9vYmFy"},
	{"\xfb\xff", 2, "-_8"},
	{"\xff\xff\xff", 3, "____"},
	{"\xfb\xef\xbe", 3, "----"},
	{"\x00\x00\x00", 3, "AAAA"},
	{"\x00", 1, "AA"},
	{"\x14\xfb\x9c\x03\xd9\x7e", 6, "FPucA9l-"},
};

START_TEST(encode_vectors)
{
	char out[64];
	size_t n = b64url_encode((const unsigned char *)vectors[_i].raw, vectors[_i].n, out, sizeof out);

	ck_assert_str_eq(out, vectors[_i].enc);
	ck_assert_uint_eq(n, strlen(vectors[_i].enc));
}
END_TEST

START_TEST(decode_vectors)
{
	unsigned char out[64];
	long n = b64url_decode(vectors[_i].enc, strlen(vectors[_i].enc), out, sizeof out);

	ck_assert_int_eq(n, (long)vectors[_i].n);
	ck_assert(memcmp(out, vectors[_i].raw, vectors[_i].n) == 0);
	ck_assert(b64url_chars_only(vectors[_i].enc, strlen(vectors[_i].enc)));
}
END_TEST

/* Every length, every byte value: decode(encode(x)) == x. */
START_TEST(round_trip)
{
	unsigned char raw[256], back[256];
	char enc[400];

	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	for (size_t n = 0; n <= sizeof raw; n++) {
		size_t e = b64url_encode(raw, n, enc, sizeof enc);

		ck_assert_uint_eq(e, (n * 4 + 2) / 3);
		ck_assert_int_eq(b64url_decode(enc, e, back, sizeof back), (long)n);
		ck_assert(memcmp(raw, back, n) == 0);
	}
}
END_TEST

static const struct {
	const char *s;
	size_t n; /* 0: strlen */
} rejected[] = {
	{"Zh", 0},  /* "f" with a non-zero trailing bit (canonical: "Zg") */
	{"Zm9", 0}, /* "fo" with non-zero trailing bits (canonical: "Zm8") */
	{"Zm-", 0},
	{"Z", 0}, /* length % 4 == 1 */
	{"Zm9vY", 0},
	{"Zm9vYmFyZ", 0},
	{"Zg==", 0}, /* padding */
	{"Zm8=", 0},
	{"Zg=", 0},
	{"+_8", 0}, /* the standard alphabet */
	{"-/8", 0},
	{"Zm9 v", 0}, /* anything outside the alphabet */
	{"Zm9v\n", 0},
	{"Zm9.", 0},
	{"Zm\0"
	 "9v",
	 5}, /* an embedded NUL */
	{"Zm9v\xc3\xa9", 0},
};

START_TEST(decode_rejects)
{
	unsigned char out[64];
	const char *s = rejected[_i].s;
	size_t n = rejected[_i].n ? rejected[_i].n : strlen(s);

	ck_assert_msg(b64url_decode(s, n, out, sizeof out) == -1, "\"%s\" should be rejected", s);
}
END_TEST

START_TEST(decode_respects_capacity)
{
	unsigned char out[8];

	ck_assert_int_eq(b64url_decode("Zm9vYmFy", 8, out, 6), 6);
	ck_assert_int_eq(b64url_decode("Zm9vYmFy", 8, out, 5), -1);
	ck_assert_int_eq(b64url_decode("Zm9vYmFy", 8, out, 0), -1);
	ck_assert_int_eq(b64url_decode("", 0, out, 0), 0);
}
END_TEST

START_TEST(encode_respects_capacity)
{
	char out[5];

	memset(out, 'x', sizeof out);
	b64url_encode((const unsigned char *)"foobar", 6, out, sizeof out);
	ck_assert_str_eq(out, "Zm9v"); /* truncated, still terminated */
	memset(out, 'x', sizeof out);
	b64url_encode((const unsigned char *)"foobar", 6, out, 0);
	ck_assert_int_eq(out[0], 'x'); /* nothing written */
}
END_TEST

START_TEST(chars_only)
{
	static const struct {
		const char *s;
		bool ok;
	} t[] = {
		{"", true},       {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", true},
		{"abc=", false},  {"ab+c", false},
		{"ab/c", false},  {"ab c", false},
		{"ab!c", false},  {"ab.c", false},
		{"ab\tc", false}, {"\xc3\xa9", false},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		ck_assert_msg(b64url_chars_only(t[i].s, strlen(t[i].s)) == t[i].ok, "\"%s\"", t[i].s);
	/* only n bytes are looked at */
	ck_assert(b64url_chars_only("ab=", 2));
	ck_assert(!b64url_chars_only("a\0b", 3));
}
END_TEST

Suite *b64_suite(void)
{
	Suite *s = suite_create("b64");
	TCase *tc = tcase_create("base64url");
	int nv = (int)(sizeof vectors / sizeof vectors[0]);

	tcase_add_loop_test(tc, encode_vectors, 0, nv);
	tcase_add_loop_test(tc, decode_vectors, 0, nv);
	tcase_add_test(tc, round_trip);
	tcase_add_loop_test(tc, decode_rejects, 0, (int)(sizeof rejected / sizeof rejected[0]));
	tcase_add_test(tc, decode_respects_capacity);
	tcase_add_test(tc, encode_respects_capacity);
	tcase_add_test(tc, chars_only);
	suite_add_tcase(s, tc);
	return s;
}
