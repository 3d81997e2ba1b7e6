/* NHS numbers, UPNs and postcodes, with published valid and invalid examples. */
#include <check.h>
#include <string.h>
#include "ident.h"
#include "validate.h"
#include "unit.h"

START_TEST(nhs_numbers)
{
	/* valid: the NHS's published test numbers and a zero check digit */
	static const char *const good[] = {"9434765919", "9434765870", "4010232137", "9990000018", "0000000000", NULL};
	/* check digit wrong; would need check digit 10; wrong length; letters */
	static const char *const bad[] = {"9434765918", "0000000001", "1234567890",   "943476591", "94347659190",
					  "943476591A", "",           "943 476 5919", NULL};

	for (size_t i = 0; good[i]; i++)
		ck_assert_msg(ident_nhs_number(good[i]) == NULL, "%s should be valid", good[i]);
	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(ident_nhs_number(bad[i]) != NULL, "%s should be invalid", bad[i]);
}
END_TEST

START_TEST(upns)
{
	/* check letters worked out by hand from the DfE's method: characters 2-13
	 * weighted 2 to 13, the sum modulo 23 indexing A-Z without I, O and S */
	static const char *const good[] = {"H801200001001", "X801200001002", "L801200001003", NULL};
	static const char *const bad[] = {"A801200001001", "H80120000100",  "H8012000010011", "I801200001001",
					  "H80120000100I", "h801200001001", "H8012000X1001",  NULL};

	for (size_t i = 0; good[i]; i++)
		ck_assert_msg(ident_upn(good[i]) == NULL, "%s should be valid", good[i]);
	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(ident_upn(bad[i]) != NULL, "%s should be invalid", bad[i]);
}
END_TEST

START_TEST(postcodes)
{
	static const char *const in[] = {"ox1 1aa", "OX11AA",   "SW1A 1AA", "m1 1ae",    "B33 8TH",
					 "CR2 6XH", "DN55 1PT", "W1A 0AX",  "ec1a  1bb", NULL};
	static const char *const out[] = {"OX1 1AA", "OX1 1AA",  "SW1A 1AA", "M1 1AE",  "B33 8TH",
					  "CR2 6XH", "DN55 1PT", "W1A 0AX",  "EC1A 1BB"};
	static const char *const bad[] = {"",         "OX1",     "1X1 1AA",  "OX1 AAA", "OX1 1A1",
					  "OXX1 1AA", "OX1-1AA", "OX1 1AAA", NULL};
	char norm[9];

	for (size_t i = 0; in[i]; i++) {
		ck_assert_msg(ident_postcode(in[i], norm) == NULL, "%s should be valid", in[i]);
		ck_assert_str_eq(norm, out[i]);
	}
	for (size_t i = 0; bad[i]; i++)
		ck_assert_msg(ident_postcode(bad[i], norm) != NULL, "%s should be invalid", bad[i]);
}
END_TEST

START_TEST(uuids_are_version_4)
{
	struct arena *a = arena_new();
	const char *u = ident_uuid(a), *v = ident_uuid(a);

	ck_assert(validate_uuid(u));
	ck_assert_int_eq(u[14], '4');
	ck_assert(strchr("89ab", u[19]) != NULL);
	ck_assert_str_ne(u, v);
	arena_free(a);
}
END_TEST

Suite *ident_suite(void)
{
	Suite *s = suite_create("identifiers");
	TCase *tc = tcase_create("checks");

	tcase_add_test(tc, nhs_numbers);
	tcase_add_test(tc, upns);
	tcase_add_test(tc, postcodes);
	tcase_add_test(tc, uuids_are_version_4);
	suite_add_tcase(s, tc);
	return s;
}
