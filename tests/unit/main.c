/* Runs every unit test suite; exits non-zero when any test fails.
 * CK_FORK=no runs in one process (valgrind); CK_EXCLUDE_TAGS=bug leaves out
 * the tests that expose known bugs in api/ (see unit.h). */
#include <check.h>
#include <stdlib.h>
#include "pool.h"
#include "unit.h"

struct sg_config sg_cfg; /* main.c of the server is not linked here */

int main(void)
{
	Suite *(*const suites[])(void) = {
		patterns_suite, ident_suite, router_suite, validate_suite,  query_suite, cursor_suite,
		b64_suite,      jsonx_suite, auth_suite,   access_suite,    http_suite,  schema_suite,
		csv_suite,      ics_suite,   kit_suite,    ratelimit_suite,
	};
	SRunner *sr = srunner_create(NULL);
	int failed;

	for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
