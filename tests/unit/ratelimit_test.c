/* The per-token rate limit (core/ratelimit.c): one bucket's arithmetic
 * (burst, refill, fractions of a token carried over, a clock that reads
 * earlier, long idleness) and the shared table (one bucket per verified
 * token, whatever else the tokens share). */
#include <check.h>
#include <stdint.h>
#include <string.h>
#include "ratelimit.h"
#include "unit.h"

/* Takes n tokens at now; returns how many were granted. */
static int take_n(uint64_t *s, uint64_t now, uint32_t rate, uint32_t cap, int n)
{
	uint64_t wait;
	int granted = 0;

	for (int i = 0; i < n; i++)
		granted += ratelimit_take(s, now, rate, cap, &wait);
	return granted;
}

/* A full bucket gives capacity tokens at once (burst + 1, as nginx's
 * limit_req counts), then refuses, leaving the state as it was, with the
 * time until a token is back. */
START_TEST(burst)
{
	uint64_t s = 0, before, wait = 0;

	ck_assert_int_eq(take_n(&s, 5000, 100, 401, 401), 401);
	before = s;
	ck_assert(!ratelimit_take(&s, 5000, 100, 401, &wait));
	ck_assert_uint_eq(s, before);
	ck_assert_uint_eq(wait, 10); /* 100 a second: one every 10 ms */
	ck_assert(!ratelimit_full(s, 5000, 100));
	/* a burst of 0: one request, then the rate */
	s = 0;
	ck_assert_int_eq(take_n(&s, 7, 2, 1, 3), 1);
	ck_assert(!ratelimit_take(&s, 7, 2, 1, &wait));
	ck_assert_uint_eq(wait, 500);
}
END_TEST

/* Tokens come back at the rate, whole, and never past the capacity. */
START_TEST(refill)
{
	uint64_t s = 0, wait;

	ck_assert_int_eq(take_n(&s, 1000, 100, 10, 10), 10);
	ck_assert_int_eq(take_n(&s, 1009, 100, 10, 1), 0); /* 9 ms: not yet */
	ck_assert_int_eq(take_n(&s, 1010, 100, 10, 2), 1); /* 10 ms: one */
	ck_assert_int_eq(take_n(&s, 1050, 100, 10, 5), 4); /* 40 ms more: four */
	/* a second later the bucket is full again, and holds no more than full */
	ck_assert(ratelimit_full(s, 2050, 100));
	ck_assert_int_eq(take_n(&s, 60000, 100, 10, 20), 10);
	ck_assert(!ratelimit_take(&s, 60000, 100, 10, &wait));
}
END_TEST

/* At 3 a second a token takes 333.3 ms: requests every 100 ms at an empty
 * bucket (each 100 ms brings less than one token) must still get three a
 * second over a long run, the fractions carried from one request to the
 * next, not lost (lost, it would be one every 400 ms: 75). */
START_TEST(fractions_carried)
{
	uint64_t s = 0, wait;
	int granted = 0;

	ck_assert_int_eq(take_n(&s, 1, 3, 10, 10), 10);
	for (uint64_t t = 101; t <= 30001; t += 100)
		granted += ratelimit_take(&s, t, 3, 10, &wait);
	/* 30 s at 3 a second: 90, give or take the one rounding */
	ck_assert_int_ge(granted, 89);
	ck_assert_int_le(granted, 90);
}
END_TEST

/* A clock that reads earlier than the time in the state (another worker
 * wrote it a moment later, or the clock stepped back) refills nothing, moves
 * nothing back and wraps nothing round: later reads refill from the state's
 * own time. */
START_TEST(clock_backwards)
{
	uint64_t s = 0, before, wait = 0;

	ck_assert_int_eq(take_n(&s, 10000, 100, 5, 5), 5);
	before = s;
	ck_assert(!ratelimit_take(&s, 9000, 100, 5, &wait)); /* a second earlier: still empty */
	ck_assert_uint_eq(s, before);
	ck_assert_uint_ge(wait, 10);
	ck_assert(!ratelimit_full(s, 0, 100));
	ck_assert_int_eq(take_n(&s, 9999, 100, 5, 1), 0);
	/* refills count from 10000, not from the earlier reading */
	ck_assert_int_eq(take_n(&s, 10009, 100, 5, 1), 0);
	ck_assert_int_eq(take_n(&s, 10010, 100, 5, 1), 1);
	/* a bucket that is not full, read earlier than its time: a token is
	 * taken without a refill, and its time is kept */
	s = 0;
	ck_assert_int_eq(take_n(&s, 20000, 100, 5, 1), 1);
	ck_assert_int_eq(take_n(&s, 19000, 100, 5, 4), 4);
	ck_assert_int_eq(take_n(&s, 19000, 100, 5, 1), 0);
	ck_assert_int_eq(take_n(&s, 20010, 100, 5, 1), 1);
}
END_TEST

/* Large numbers: the fastest rate and largest burst the configuration
 * allows, and a bucket left alone for years, neither overflow. */
START_TEST(large)
{
	uint64_t s = 0, wait;
	const uint32_t cap = RATELIMIT_MAX_BURST + 1;
	const uint64_t years = UINT64_C(10) * 365 * 24 * 3600 * 1000;

	ck_assert_int_eq(take_n(&s, 1, RATELIMIT_MAX_RATE, cap, 1000), 1000);
	ck_assert(ratelimit_full(s, 2, RATELIMIT_MAX_RATE)); /* 1000 back in a millisecond */
	s = 0;
	ck_assert_int_eq(take_n(&s, 1, 1, 3, 3), 3);
	ck_assert(!ratelimit_take(&s, 1, 1, 3, &wait));
	ck_assert_uint_eq(wait, 1000);
	ck_assert(ratelimit_full(s, years, 1));
	ck_assert_int_eq(take_n(&s, years, 1, 3, 4), 3);
	ck_assert(ratelimit_full(s, years + 3000, 1));
}
END_TEST

static struct sg_identity ident(const char *sub, const char *jti)
{
	struct sg_identity id;

	memset(&id, 0, sizeof id);
	strcpy(id.iss, "https://idp.example");
	strcpy(id.sub, sub);
	strcpy(id.jti, jti);
	id.agency = 1;
	id.iat = 1700000000;
	id.exp = 1700001800;
	return id;
}

/* The table: a token is charged by its claims, so a copy of the same claims
 * (what both ES256 signatures of one token verify to) is the same bucket;
 * another token of the same subject, or of the same jti under another
 * subject, is another bucket, untouched by the first one's 429s. */
START_TEST(table)
{
	struct sg_identity a = ident("alice", "j1"), a_again = ident("alice", "j1"), a_new = ident("alice", "j2"),
			   b = ident("bob", "j1");
	uint32_t retry = 0;
	int granted = 0;

	ratelimit_init(1, 4); /* 5 at once, then one a second */
	for (int i = 0; i < 5; i++)
		granted += ratelimit_charge(i % 2 ? &a_again : &a, &retry);
	ck_assert_int_eq(granted, 5);
	ck_assert(!ratelimit_charge(&a, &retry));
	ck_assert_uint_eq(retry, 1);
	ck_assert(!ratelimit_charge(&a_again, &retry));
	ck_assert(ratelimit_charge(&a_new, &retry));
	ck_assert(ratelimit_charge(&b, &retry));
	a.agency = 2; /* the same sub and jti from another agency: another token */
	ck_assert(ratelimit_charge(&a, &retry));
}
END_TEST

Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, burst);
	tcase_add_test(tc, refill);
	tcase_add_test(tc, fractions_carried);
	tcase_add_test(tc, clock_backwards);
	tcase_add_test(tc, large);
	tcase_add_test(tc, table);
	suite_add_tcase(s, tc);
	return s;
}
