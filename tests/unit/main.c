/* Runs every unit test suite; exits non-zero when any test fails. */
#include <check.h>
#include <stdlib.h>
#include "pool.h"
#include "unit.h"

struct sg_config sg_cfg; /* main.c of the server is not linked here */

int main(void)
{
	SRunner *sr = srunner_create(patterns_suite());
	int failed;

	srunner_add_suite(sr, ident_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
