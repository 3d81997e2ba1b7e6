/* The deployment's time zone (kit_time_zone, SG_TIME_ZONE) and today's date
 * in it (kit_today): the names accepted and refused, and the date on the
 * other side of UTC's midnight. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "arena.h"
#include "kit.h"
#include "unit.h"

static struct arena *a;
static char *saved_tz;

static void setup(void)
{
	const char *tz = getenv("TZ");

	a = arena_new();
	saved_tz = tz ? strdup(tz) : NULL;
}

/* every test leaves the process's zone as it found it (CK_FORK=no runs
 * every suite in one process) */
static void teardown(void)
{
	if (saved_tz)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved_tz);
	arena_free(a);
}

/* The date offset seconds away from now in UTC. */
static void utc_date(long offset, char out[40])
{
	time_t t = time(NULL) + offset;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 40, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static const char *const good_zones[] = {"Europe/London", "Pacific/Kiritimati", "UTC", "Etc/GMT+5",
					 "America/Port-au-Prince"};

START_TEST(zone_accepted)
{
	char err[200] = "";

	ck_assert_msg(kit_time_zone(good_zones[_i], err, sizeof err), "%s: %s", good_zones[_i], err);
	ck_assert_str_eq(getenv("TZ"), good_zones[_i]);
}
END_TEST

static const char *const bad_zones[] = {
	"",                         /* empty */
	"Mars/Olympus_Mons",        /* no such zone */
	"Europe",                   /* a directory */
	"../../../etc/passwd",      /* out of the zone directory */
	"/usr/share/zoneinfo/UTC",  /* absolute */
	"Europe/London ",           /* a space */
	"zone.tab",                 /* a table beside the zones */
	"leapseconds",              /* a text file, not a compiled zone */
	"GMT0BST,M3.5.0/1,M10.5.0", /* a POSIX rule, not a zone name */
};

START_TEST(zone_refused)
{
	char err[200] = "";

	setenv("TZ", "UTC", 1);
	ck_assert_msg(!kit_time_zone(bad_zones[_i], err, sizeof err), "\"%s\" accepted", bad_zones[_i]);
	ck_assert_str_eq(err, "SG_TIME_ZONE must name a time zone under /usr/share/zoneinfo, such as Europe/London");
	ck_assert_str_eq(getenv("TZ"), "UTC"); /* left as it was */
}
END_TEST

START_TEST(zone_refused_null)
{
	char err[200] = "";

	ck_assert(!kit_time_zone(NULL, err, sizeof err));
	ck_assert(err[0] != '\0');
}
END_TEST

/* Kiritimati is UTC+14 all year: its date is UTC's date 14 hours on, which
 * for ten hours of every day is UTC's tomorrow. */
START_TEST(today_in_zone)
{
	char err[200], before[40], after[40];
	const char *got;

	ck_assert(kit_time_zone("Pacific/Kiritimati", err, sizeof err));
	utc_date(14 * 3600, before);
	got = kit_today(a);
	utc_date(14 * 3600, after);
	ck_assert_msg(strcmp(got, before) == 0 || strcmp(got, after) == 0, "Kiritimati today %s, want %s", got, before);

	ck_assert(kit_time_zone("UTC", err, sizeof err));
	utc_date(0, before);
	got = kit_today(a);
	utc_date(0, after);
	ck_assert_msg(strcmp(got, before) == 0 || strcmp(got, after) == 0, "UTC today %s, want %s", got, before);
}
END_TEST

Suite *kit_suite(void)
{
	Suite *s = suite_create("kit");
	TCase *tz = tcase_create("time zone");

	tcase_add_checked_fixture(tz, setup, teardown);
	tcase_add_loop_test(tz, zone_accepted, 0, (int)(sizeof good_zones / sizeof good_zones[0]));
	tcase_add_loop_test(tz, zone_refused, 0, (int)(sizeof bad_zones / sizeof bad_zones[0]));
	tcase_add_test(tz, zone_refused_null);
	tcase_add_test(tz, today_in_zone);
	suite_add_tcase(s, tz);
	return s;
}
