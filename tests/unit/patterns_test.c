/* The pattern rules, each on its own, with the data that triggers it and the
 * data that just misses it. */
#include <check.h>
#include <string.h>
#include "areas/chronology/patterns.h"
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

#define ITEM(id, ag, cat, date)                                                                                        \
	{                                                                                                              \
		id, ag, cat, days_from_date(date), days_from_date(date)                                                \
	}

static size_t run(size_t (*rule)(const struct pattern_input *, struct pattern *, size_t, struct arena *),
		  const struct chron_item *items, size_t n, struct pattern *out)
{
	struct pattern_input in = {.items = items, .n = n, .today = days_from_date("2025-12-01")};

	return rule(&in, out, 16, a);
}

START_TEST(dates_round_trip)
{
	char d[11];

	ck_assert_int_eq(days_from_date("1970-01-01"), 0);
	ck_assert_int_eq(days_from_date("2000-03-01") - days_from_date("2000-02-28"), 2); /* leap year */
	date_from_days(days_from_date("2024-02-29"), d);
	ck_assert_str_eq(d, "2024-02-29");
	ck_assert_int_eq(days_from_date("2024-02-30"), -1);
	/* 2025-03-03 is a Monday: five school days a week */
	ck_assert_int_eq(school_days(days_from_date("2025-03-03"), days_from_date("2025-03-09")), 5);
	ck_assert_int_eq(school_days(days_from_date("2025-03-03"), days_from_date("2025-03-31")), 21);
	ck_assert_int_eq(school_days(days_from_date("2025-03-08"), days_from_date("2025-03-09")), 0);
}
END_TEST

START_TEST(missing_cluster_triggers_within_30_days)
{
	const struct chron_item items[] = {
		ITEM("a", AGENCY_POLICE, "missing_episode", "2025-01-01"),
		ITEM("b", AGENCY_POLICE, "missing_episode", "2025-01-15"),
		ITEM("c", AGENCY_CSC, "missing_episode", "2025-01-31"),
	};
	struct pattern out[16];

	ck_assert_uint_eq(run(pattern_missing_cluster, items, 3, out), 1);
	ck_assert_str_eq(out[0].code, "missing_episodes_cluster");
	ck_assert_uint_eq(out[0].n_entries, 3);
	ck_assert_int_eq(out[0].from, days_from_date("2025-01-01"));
	ck_assert_int_eq(out[0].to, days_from_date("2025-01-31"));
	ck_assert_uint_eq(out[0].agencies, AGENCY_BIT(AGENCY_POLICE) | AGENCY_BIT(AGENCY_CSC));
}
END_TEST

START_TEST(missing_cluster_just_misses)
{
	const struct chron_item spread[] = {
		ITEM("a", AGENCY_POLICE, "missing_episode", "2025-01-01"),
		ITEM("b", AGENCY_POLICE, "missing_episode", "2025-01-15"),
		ITEM("c", AGENCY_POLICE, "missing_episode", "2025-02-01"), /* 31 days after the first */
	};
	const struct chron_item two[] = {
		ITEM("a", AGENCY_POLICE, "missing_episode", "2025-01-01"),
		ITEM("b", AGENCY_POLICE, "injury", "2025-01-02"),
		ITEM("c", AGENCY_POLICE, "missing_episode", "2025-01-03"),
	};
	struct pattern out[16];

	ck_assert_uint_eq(run(pattern_missing_cluster, spread, 3, out), 0);
	ck_assert_uint_eq(run(pattern_missing_cluster, two, 3, out), 0);
}
END_TEST

START_TEST(out_of_education_over_20_school_days)
{
	struct chron_item items[] = {
		{"a", AGENCY_EDUCATION, "not_on_roll", days_from_date("2025-03-03"), days_from_date("2025-03-31")},
		{"b", AGENCY_EDUCATION, "not_on_roll", days_from_date("2025-03-03"), days_from_date("2025-03-28")},
		{"c", AGENCY_EDUCATION, "not_on_roll", days_from_date("2025-11-01"), -1}, /* open: until today */
	};
	const struct roll_status rolls[] = {
		{"child-1", days_from_date("2025-11-04")}, {"child-2", days_from_date("2025-10-01")}, {"child-3", -1}};
	struct pattern_input in = {
		.items = items, .n = 3, .rolls = rolls, .nrolls = 3, .today = days_from_date("2025-12-01")};
	struct pattern out[16];
	size_t n = pattern_out_of_education(&in, out, 16, a);

	/* a: 21 school days; b: 20, misses; c: 2025-11-03..12-01 is 21; child-1 20 misses; child-2 triggers */
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(out[0].entry_ids[0], "a");
	ck_assert_str_eq(out[1].entry_ids[0], "c");
	ck_assert_ptr_null(out[0].child_id);
	ck_assert_str_eq(out[2].child_id, "child-2");
	ck_assert_uint_eq(out[2].n_entries, 0);
}
END_TEST

/* An open-ended not-on-roll entry lasts until the child is back in
 * education (a CME case resolved) or the chronology's period ends; a CME
 * case counts from since to its return, or to the period's end while open;
 * the register's status is not reported twice for a child with an open case. */
START_TEST(out_of_education_open_periods_and_cme_cases)
{
	struct chron_item items[] = {
		/* 2025-03-03 (Monday) with no end: 21 school days to 2025-03-31 */
		{"open", AGENCY_EDUCATION, "not_on_roll", days_from_date("2025-03-03"), -1},
	};
	struct cme_period back_soon[] = {{"child-1", days_from_date("2025-03-03"), days_from_date("2025-03-31")}};
	struct cme_period back_later[] = {{"child-1", days_from_date("2025-03-03"), days_from_date("2025-04-01")}};
	struct cme_period open_case[] = {{"child-1", days_from_date("2025-03-03"), -1}};
	const struct roll_status rolls[] = {{"child-1", days_from_date("2025-03-03")}};
	struct pattern_input in = {.items = items, .n = 1, .today = days_from_date("2025-12-01")};
	struct pattern out[16];
	size_t n;

	/* no return, no period end: until today */
	n = pattern_out_of_education(&in, out, 16, a);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(out[0].entry_ids[0], "open");
	ck_assert_int_eq(out[0].to, days_from_date("2025-12-01"));
	/* the period ends 2025-03-28: 20 school days, misses; 2025-03-31: 21, triggers */
	in.period_end = days_from_date("2025-03-28");
	ck_assert_uint_eq(pattern_out_of_education(&in, out, 16, a), 0);
	in.period_end = days_from_date("2025-03-31");
	ck_assert_uint_eq(pattern_out_of_education(&in, out, 16, a), 1);
	/* back on roll 2025-03-31: out until 03-30, 20 school days, for the entry and the case alike */
	in.period_end = 0;
	in.cme = back_soon;
	in.ncme = 1;
	ck_assert_uint_eq(pattern_out_of_education(&in, out, 16, a), 0);
	/* back on 2025-04-01: 21 school days, both the entry and the case trigger */
	in.cme = back_later;
	n = pattern_out_of_education(&in, out, 16, a);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(out[0].to, days_from_date("2025-03-31"));
	ck_assert_ptr_null(out[0].child_id);
	ck_assert_str_eq(out[1].child_id, "child-1");
	ck_assert_uint_eq(out[1].n_entries, 0);
	ck_assert_int_eq(out[1].to, days_from_date("2025-03-31"));
	/* an open case lasts to the period's end; with it, the register is not reported again */
	in.n = 0;
	in.cme = open_case;
	in.rolls = rolls;
	in.nrolls = 1;
	in.period_end = days_from_date("2025-03-28");
	ck_assert_uint_eq(pattern_out_of_education(&in, out, 16, a), 0);
	in.period_end = days_from_date("2025-06-30");
	n = pattern_out_of_education(&in, out, 16, a);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(out[0].child_id, "child-1");
	ck_assert_int_eq(out[0].to, days_from_date("2025-06-30"));
	/* once the case is resolved, the register speaks for itself */
	in.cme = back_later;
	n = pattern_out_of_education(&in, out, 16, a);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[1].description,
			 "the register shows the child out of education for more than 20 school days");
}
END_TEST

START_TEST(exploitation_needs_two_agencies_within_30_days)
{
	const struct chron_item hit[] = {
		ITEM("m", AGENCY_POLICE, "missing_episode", "2025-05-01"),
		ITEM("v", AGENCY_HEALTH, "home_visit", "2025-05-10"),
		ITEM("i", AGENCY_HEALTH, "injury", "2025-05-31"),
	};
	const struct chron_item same_agency[] = {
		ITEM("m", AGENCY_POLICE, "missing_episode", "2025-05-01"),
		ITEM("x", AGENCY_POLICE, "arrest", "2025-05-02"),
	};
	const struct chron_item too_far[] = {
		ITEM("m", AGENCY_POLICE, "missing_episode", "2025-05-01"),
		ITEM("i", AGENCY_HEALTH, "victim_of_crime", "2025-06-01"),
	};
	const struct chron_item no_missing[] = {
		ITEM("x", AGENCY_POLICE, "arrest", "2025-05-01"),
		ITEM("i", AGENCY_HEALTH, "injury", "2025-05-02"),
	};
	struct pattern out[16];

	ck_assert_uint_eq(run(pattern_exploitation, hit, 3, out), 1);
	ck_assert_uint_eq(out[0].n_entries, 2); /* the home visit is not an indicator */
	ck_assert_uint_eq(out[0].agencies, AGENCY_BIT(AGENCY_POLICE) | AGENCY_BIT(AGENCY_HEALTH));
	ck_assert_uint_eq(run(pattern_exploitation, same_agency, 2, out), 0);
	ck_assert_uint_eq(run(pattern_exploitation, too_far, 2, out), 0);
	ck_assert_uint_eq(run(pattern_exploitation, no_missing, 2, out), 0);
}
END_TEST

START_TEST(rising_three_months)
{
	const struct chron_item rising[] = {
		ITEM("1", AGENCY_POLICE, "other", "2025-01-10"), ITEM("2", AGENCY_POLICE, "other", "2025-02-10"),
		ITEM("3", AGENCY_POLICE, "other", "2025-02-11"), ITEM("4", AGENCY_POLICE, "other", "2025-03-10"),
		ITEM("5", AGENCY_POLICE, "other", "2025-03-11"), ITEM("6", AGENCY_POLICE, "other", "2025-03-12"),
	};
	const struct chron_item flat[] = {
		ITEM("1", AGENCY_POLICE, "other", "2025-01-10"), ITEM("2", AGENCY_POLICE, "other", "2025-02-10"),
		ITEM("3", AGENCY_POLICE, "other", "2025-02-11"), ITEM("4", AGENCY_POLICE, "other", "2025-03-10"),
		ITEM("5", AGENCY_POLICE, "other", "2025-03-11"),
	};
	const struct chron_item gap[] = {
		/* rising, but with an empty month in between: not three consecutive months */
		ITEM("1", AGENCY_POLICE, "other", "2025-01-10"),
		ITEM("2", AGENCY_POLICE, "other", "2025-03-10"),
		ITEM("3", AGENCY_POLICE, "other", "2025-03-11"),
		ITEM("4", AGENCY_POLICE, "other", "2025-04-10"),
	};
	struct pattern out[16];

	ck_assert_uint_eq(run(pattern_rising, rising, 6, out), 1);
	ck_assert_uint_eq(out[0].n_entries, 6);
	ck_assert_uint_eq(run(pattern_rising, flat, 5, out), 0);
	ck_assert_uint_eq(run(pattern_rising, gap, 4, out), 0);
}
END_TEST

START_TEST(all_rules_run_together)
{
	const struct chron_item items[] = {
		ITEM("m1", AGENCY_POLICE, "missing_episode", "2025-01-01"),
		ITEM("m2", AGENCY_POLICE, "missing_episode", "2025-01-05"),
		ITEM("i1", AGENCY_HEALTH, "injury", "2025-01-06"),
		ITEM("m3", AGENCY_POLICE, "missing_episode", "2025-01-09"),
	};
	struct pattern_input in = {.items = items, .n = 4, .today = days_from_date("2025-12-01")};
	struct pattern out[16];
	size_t n = patterns_find(&in, out, 16, a);

	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(out[0].code, "missing_episodes_cluster");
	ck_assert_str_eq(out[1].code, "exploitation_indicators");
	ck_assert_uint_eq(run(pattern_missing_cluster, items, 0, out), 0);
	ck_assert_uint_eq(run(pattern_rising, items, 0, out), 0);
}
END_TEST

Suite *patterns_suite(void)
{
	Suite *s = suite_create("patterns");
	TCase *tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dates_round_trip);
	tcase_add_test(tc, missing_cluster_triggers_within_30_days);
	tcase_add_test(tc, missing_cluster_just_misses);
	tcase_add_test(tc, out_of_education_over_20_school_days);
	tcase_add_test(tc, out_of_education_open_periods_and_cme_cases);
	tcase_add_test(tc, exploitation_needs_two_agencies_within_30_days);
	tcase_add_test(tc, rising_three_months);
	tcase_add_test(tc, all_rules_run_together);
	suite_add_tcase(s, tc);
	return s;
}
