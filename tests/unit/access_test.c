/* The access table: who holds a permission, deny by default. */
#include <check.h>
#include "sg.h"
#include "unit.h"

#define R(x) ROLE_BIT(ROLE_##x)

struct access_row {
	int perm; /* int: out-of-range values are part of the table */
	unsigned roles;
	int agency;
	bool allowed;
};

static const struct access_row rows[] = {
	{PERM_AUDIT_READ, R(AUDITOR), AGENCY_PARTNERSHIP, true},
	{PERM_AUDIT_READ, R(AUDITOR), AGENCY_POLICE, true},
	{PERM_AUDIT_READ, R(ADMIN), AGENCY_PARTNERSHIP, false},
	{PERM_AUDIT_READ, R(PRACTITIONER) | R(SAFEGUARDING_LEAD), AGENCY_CSC, false},
	{PERM_AUDIT_READ, R(ADMIN) | R(AUDITOR), AGENCY_CSC, true},
	{PERM_TOKEN_REVOKE, R(ADMIN), AGENCY_PARTNERSHIP, true},
	{PERM_TOKEN_REVOKE, R(AUDITOR), AGENCY_PARTNERSHIP, false},
	{PERM_TOKEN_REVOKE, R(TRAINING_ADMIN), AGENCY_PARTNERSHIP, false},
	{PERM_AUTHENTICATED, R(PRACTITIONER), AGENCY_HEALTH, true},
	{PERM_AUTHENTICATED, R(AUDITOR), AGENCY_VOLUNTARY, true},
	{PERM_AUTHENTICATED, 0, AGENCY_HEALTH, false}, /* no role, no access */
	{PERM_CHILD_ACCESS_LOG, R(SAFEGUARDING_LEAD), AGENCY_CSC, true},
	{PERM_CHILD_ACCESS_LOG, R(SAFEGUARDING_LEAD), AGENCY_POLICE, false},
	{PERM_CHILD_ACCESS_LOG, R(AUDITOR), AGENCY_POLICE, true},
	{PERM_REQUEST_CREATE, R(SOCIAL_WORKER), AGENCY_CSC, true},
	{PERM_REQUEST_CREATE, R(SAFEGUARDING_LEAD), AGENCY_HEALTH, false},
	{PERM_CHILD_READ, R(AUDITOR), AGENCY_CSC, false},
	{PERM_CHILD_READ, R(PANEL_MEMBER), AGENCY_EDUCATION, true},
	/* panels: a few cells by name (panel_cells below walks them all) */
	{PERM_PANEL_MANAGE, R(ADMIN), AGENCY_PARTNERSHIP, true},
	{PERM_PANEL_MANAGE, R(PANEL_CHAIR), AGENCY_POLICE, false},
	{PERM_PANEL_READ, R(AUDITOR), AGENCY_PARTNERSHIP, false},
	{PERM_PANEL_CASES, R(PRACTITIONER), AGENCY_EDUCATION, false},
	{PERM_PANEL_CASES, R(SOCIAL_WORKER), AGENCY_CSC, false},
	{PERM_PANEL_CASES, R(ADMIN), AGENCY_PARTNERSHIP, false},
	{PERM_PANEL_REFER, R(SOCIAL_WORKER), AGENCY_CSC, true},
	{PERM_PANEL_REFER, R(PANEL_MEMBER), AGENCY_POLICE, false},
	{PERM_PANEL_CHAIR, R(PANEL_CHAIR), AGENCY_POLICE, true},
	{PERM_PANEL_CHAIR, R(ADMIN) | R(SAFEGUARDING_LEAD), AGENCY_CSC, false},
	/* out of range: denied, whatever the roles */
	{PERM__COUNT, ROLES_ALL, AGENCY_CSC, false},
	{PERM__COUNT + 1, ROLES_ALL, AGENCY_CSC, false},
	{31, ROLES_ALL, AGENCY_CSC, false},
};

START_TEST(access_table)
{
	const struct access_row *row = &rows[_i];
	struct sg_identity id = {.roles = row->roles, .agency = row->agency};

	ck_assert_msg(access_allows((enum sg_perm)row->perm, &id) == row->allowed, "perm %d roles %#x agency %d: want %s",
		      row->perm, row->roles, row->agency, row->allowed ? "allowed" : "denied");
}
END_TEST

/* Every permission but the public one needs at least one role. */
START_TEST(no_roles_no_access)
{
	for (int p = PERM_AUTHENTICATED; p < PERM__COUNT; p++)
		for (int ag = 0; ag < AGENCY__COUNT; ag++) {
			struct sg_identity id = {.roles = 0, .agency = ag};

			ck_assert_msg(!access_allows((enum sg_perm)p, &id), "perm %d granted without a role", p);
		}
}
END_TEST

/* Every cell of the panel permissions: each role of every agency (issue 10;
 * which panel's records, the membership decides per record). */
START_TEST(panel_cells)
{
	static const struct {
		int perm;
		unsigned roles; /* the roles that hold it, of any agency */
	} cells[] = {
		{PERM_PANEL_READ, R(PRACTITIONER) | R(SAFEGUARDING_LEAD) | R(SOCIAL_WORKER) | R(PANEL_CHAIR) | R(PANEL_MEMBER) |
					  R(ADMIN)},
		{PERM_PANEL_MANAGE, R(ADMIN)},
		{PERM_PANEL_CASES, R(PANEL_MEMBER) | R(PANEL_CHAIR) | R(SAFEGUARDING_LEAD)},
		{PERM_PANEL_REFER, R(SAFEGUARDING_LEAD) | R(SOCIAL_WORKER) | R(PANEL_CHAIR)},
		{PERM_PANEL_RECORD, R(PANEL_MEMBER) | R(PANEL_CHAIR)},
		{PERM_PANEL_CHAIR, R(PANEL_CHAIR)},
	};

	for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
		for (int role = 0; role < ROLE__COUNT; role++)
			for (int ag = 0; ag < AGENCY__COUNT; ag++) {
				struct sg_identity id = {.roles = ROLE_BIT(role), .agency = ag};
				bool want = (cells[c].roles & ROLE_BIT(role)) != 0;

				ck_assert_msg(access_allows((enum sg_perm)cells[c].perm, &id) == want,
					      "perm %d role %s agency %s: want %s", cells[c].perm, sg_role_names[role],
					      sg_agency_names[ag], want ? "allowed" : "denied");
			}
}
END_TEST

START_TEST(names_round_trip)
{
	for (int r = 0; r < ROLE__COUNT; r++)
		ck_assert_int_eq(sg_role_lookup(sg_role_names[r]), r);
	for (int g = 0; g < AGENCY__COUNT; g++)
		ck_assert_int_eq(sg_agency_lookup(sg_agency_names[g]), g);
	ck_assert_ptr_null(sg_agency_names[AGENCY__COUNT]);
	ck_assert_int_eq(sg_role_lookup("Admin"), -1);
	ck_assert_int_eq(sg_role_lookup(""), -1);
	ck_assert_int_eq(sg_agency_lookup("csc "), -1);
}
END_TEST

Suite *access_suite(void)
{
	Suite *s = suite_create("access");
	TCase *tc = tcase_create("table");

	tcase_add_loop_test(tc, access_table, 0, (int)(sizeof rows / sizeof rows[0]));
	tcase_add_test(tc, no_roles_no_access);
	tcase_add_test(tc, panel_cells);
	tcase_add_test(tc, names_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
