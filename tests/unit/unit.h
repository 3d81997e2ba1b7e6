/* The unit test suites, one per module; main.c runs them all.
 *
 * Tests that expose a bug in api/ sit in a test case named "bugs" tagged
 * "bug", and their failure messages start with "BUG:".  They fail until the
 * bug is fixed; `CK_EXCLUDE_TAGS=bug make unit` runs everything else. */
#ifndef SG_UNIT_H
#define SG_UNIT_H
#include <check.h>
Suite *patterns_suite(void);
Suite *ident_suite(void);
Suite *router_suite(void);
Suite *validate_suite(void);
Suite *query_suite(void);
Suite *cursor_suite(void);
Suite *b64_suite(void);
Suite *jsonx_suite(void);
Suite *auth_suite(void);
Suite *access_suite(void);
Suite *http_suite(void);
Suite *schema_suite(void);
Suite *ics_suite(void);
Suite *csv_suite(void);
Suite *kit_suite(void);
Suite *ratelimit_suite(void);

/* The test case that holds a suite's known-bug tests. */
static inline TCase *unit_bug_case(void)
{
	TCase *tc = tcase_create("bugs");

	tcase_set_tags(tc, "bug");
	return tc;
}
#endif
