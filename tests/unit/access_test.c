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
	/* scopes: the partnership's auditors read the whole trail, an agency's its part */
	{PERM_AUDIT_READ_ALL, R(AUDITOR), AGENCY_PARTNERSHIP, true},
	{PERM_AUDIT_READ_ALL, R(AUDITOR), AGENCY_POLICE, false},
	{PERM_AUDIT_READ_ALL, R(AUDITOR), AGENCY_CSC, false},
	{PERM_AUDIT_READ_ALL, R(ADMIN), AGENCY_PARTNERSHIP, false},
	/* revocation: any admin for its own agency, the partnership's for any agency */
	{PERM_TOKEN_REVOKE, R(ADMIN), AGENCY_POLICE, true},
	{PERM_TOKEN_REVOKE_ANY, R(ADMIN), AGENCY_PARTNERSHIP, true},
	{PERM_TOKEN_REVOKE_ANY, R(ADMIN), AGENCY_POLICE, false},
	{PERM_TOKEN_REVOKE_ANY, R(ADMIN), AGENCY_CSC, false},
	{PERM_TOKEN_REVOKE_ANY, R(AUDITOR), AGENCY_PARTNERSHIP, false},
	/* break-glass review: CSC's safeguarding leads only */
	{PERM_INVOLVEMENT_REVIEW, R(SAFEGUARDING_LEAD), AGENCY_CSC, true},
	{PERM_INVOLVEMENT_REVIEW, R(SOCIAL_WORKER), AGENCY_CSC, false},
	{PERM_INVOLVEMENT_REVIEW, R(SAFEGUARDING_LEAD), AGENCY_POLICE, false},
	{PERM_INVOLVEMENT_REVIEW, R(AUDITOR) | R(ADMIN), AGENCY_PARTNERSHIP, false},
	/* family members: CSC for every family, other agencies for the ones they created */
	{PERM_FAMILY_MANAGE, R(SAFEGUARDING_LEAD), AGENCY_POLICE, true},
	{PERM_FAMILY_MANAGE, R(PRACTITIONER), AGENCY_CSC, false},
	{PERM_FAMILY_MANAGE_ANY, R(SOCIAL_WORKER), AGENCY_CSC, true},
	{PERM_FAMILY_MANAGE_ANY, R(SAFEGUARDING_LEAD), AGENCY_CSC, true},
	{PERM_FAMILY_MANAGE_ANY, R(PRACTITIONER), AGENCY_CSC, false},
	{PERM_FAMILY_MANAGE_ANY, R(SAFEGUARDING_LEAD), AGENCY_POLICE, false},
	/* training: everyone reads and books (the course's audience decides);
	 * leads and training admins oversee; training admins manage */
	{PERM_TRAINING_READ, R(PRACTITIONER), AGENCY_VOLUNTARY, true},
	{PERM_TRAINING_READ, R(AUDITOR), AGENCY_PARTNERSHIP, true},
	{PERM_TRAINING_BOOK, R(PRACTITIONER), AGENCY_HEALTH, true},
	{PERM_TRAINING_BOOK, R(PANEL_MEMBER), AGENCY_POLICE, true},
	{PERM_TRAINING_BOOK, R(ADMIN), AGENCY_PARTNERSHIP, true},
	{PERM_TRAINING_OVERSIGHT, R(SAFEGUARDING_LEAD), AGENCY_EDUCATION, true},
	{PERM_TRAINING_OVERSIGHT, R(TRAINING_ADMIN), AGENCY_PARTNERSHIP, true},
	{PERM_TRAINING_OVERSIGHT, R(PRACTITIONER), AGENCY_EDUCATION, false},
	{PERM_TRAINING_OVERSIGHT, R(SOCIAL_WORKER), AGENCY_CSC, false},
	{PERM_TRAINING_OVERSIGHT, R(AUDITOR) | R(ADMIN), AGENCY_PARTNERSHIP, false},
	{PERM_TRAINING_MANAGE, R(TRAINING_ADMIN), AGENCY_PARTNERSHIP, true},
	{PERM_TRAINING_MANAGE, R(TRAINING_ADMIN), AGENCY_CSC, true},
	{PERM_TRAINING_MANAGE, R(SAFEGUARDING_LEAD), AGENCY_PARTNERSHIP, false},
	{PERM_TRAINING_MANAGE, R(ADMIN), AGENCY_PARTNERSHIP, false},
	{PERM_TRAINING_MANAGE, R(PRACTITIONER) | R(PANEL_CHAIR), AGENCY_POLICE, false},
	/* missing education and screening: a few cells by name (every_cell walks them all) */
	{PERM_CME_WORK, R(SAFEGUARDING_LEAD), AGENCY_EDUCATION, true},
	{PERM_CME_WORK, R(SAFEGUARDING_LEAD), AGENCY_CSC, false},
	{PERM_CME_WORK, R(PANEL_CHAIR), AGENCY_EDUCATION, true},
	{PERM_CME_WORK, R(PANEL_CHAIR), AGENCY_CSC, true},
	{PERM_CME_WORK, R(PRACTITIONER), AGENCY_EDUCATION, false},
	{PERM_CME_WORK, R(PANEL_MEMBER), AGENCY_EDUCATION, false},
	{PERM_SCREENING_TOOL_PUBLISH, R(ADMIN), AGENCY_PARTNERSHIP, true},
	{PERM_SCREENING_TOOL_PUBLISH, R(ADMIN), AGENCY_CSC, false},
	{PERM_SCREENING_REPORT, R(AUDITOR), AGENCY_POLICE, false},
	{PERM_SCREENING_REPORT, R(SAFEGUARDING_LEAD), AGENCY_POLICE, true},
	/* delta sync: the case roles of every agency, nobody else */
	{PERM_SYNC_READ, R(PANEL_MEMBER), AGENCY_VOLUNTARY, true},
	{PERM_SYNC_READ, R(AUDITOR), AGENCY_CSC, false},
	{PERM_SYNC_READ, R(TRAINING_ADMIN), AGENCY_PARTNERSHIP, false},
	/* out of range: denied, whatever the roles */
	{PERM__COUNT, ROLES_ALL, AGENCY_CSC, false},
	{PERM__COUNT + 1, ROLES_ALL, AGENCY_CSC, false},
	{-1, ROLES_ALL, AGENCY_CSC, false}, /* (31 was out of range until the table grew past it) */
	{1000, ROLES_ALL, AGENCY_CSC, false},
};

START_TEST(access_table)
{
	const struct access_row *row = &rows[_i];
	struct sg_identity id = {.roles = row->roles, .agency = row->agency};

	ck_assert_msg(access_allows((enum sg_perm)row->perm, &id) == row->allowed,
		      "perm %d roles %#x agency %d: want %s", row->perm, row->roles, row->agency,
		      row->allowed ? "allowed" : "denied");
}
END_TEST

/* Every cell of the table, from DESIGN.md section 4 written out again here
 * independently of access.c: each permission, for a token holding exactly
 * one role, of each agency.  A permission added without a line here fails. */
static int want(int p, int role, int ag)
{
	bool csc = ag == AGENCY_CSC, partnership = ag == AGENCY_PARTNERSHIP;
	bool practice = role == ROLE_PRACTITIONER || role == ROLE_SAFEGUARDING_LEAD || role == ROLE_SOCIAL_WORKER;
	bool casework = practice || role == ROLE_PANEL_CHAIR || role == ROLE_PANEL_MEMBER;
	bool sw_or_lead = role == ROLE_SOCIAL_WORKER || role == ROLE_SAFEGUARDING_LEAD;

	switch (p) {
	case PERM_PUBLIC:
	case PERM_AUTHENTICATED:
	case PERM_CHILD_SEARCH:
		return true;
	case PERM_AUDIT_READ:
		return role == ROLE_AUDITOR;
	case PERM_AUDIT_READ_ALL:
		return role == ROLE_AUDITOR && partnership;
	case PERM_TOKEN_REVOKE:
		return role == ROLE_ADMIN;
	case PERM_TOKEN_REVOKE_ANY:
		return role == ROLE_ADMIN && partnership;
	case PERM_CHILD_READ:
	case PERM_CHRONOLOGY_WRITE:
	case PERM_CHRONOLOGY_READ:
	case PERM_REQUEST_READ:
		return casework;
	case PERM_CHILD_CREATE:
	case PERM_CHILD_UPDATE:
	case PERM_CHILD_DECLARE:
	case PERM_REQUEST_CONTRIBUTE:
		return practice;
	case PERM_CHILD_ACCESS_LOG:
		return (role == ROLE_SAFEGUARDING_LEAD && csc) || role == ROLE_AUDITOR;
	case PERM_INVOLVEMENT_REVIEW:
		return role == ROLE_SAFEGUARDING_LEAD && csc;
	case PERM_FAMILY_MANAGE:
		return sw_or_lead;
	case PERM_FAMILY_MANAGE_ANY:
	case PERM_REQUEST_CREATE:
		return sw_or_lead && csc;
	/* panels: roles here, membership per record */
	case PERM_PANEL_READ:
		return casework || role == ROLE_ADMIN;
	case PERM_PANEL_MANAGE:
		return role == ROLE_ADMIN;
	case PERM_PANEL_CASES:
		return role == ROLE_PANEL_MEMBER || role == ROLE_PANEL_CHAIR || role == ROLE_SAFEGUARDING_LEAD;
	case PERM_PANEL_REFERRAL: /* the readers, and the referrer (a social worker is CSC's only) */
		return role == ROLE_PANEL_MEMBER || role == ROLE_PANEL_CHAIR || role == ROLE_SAFEGUARDING_LEAD ||
		       role == ROLE_SOCIAL_WORKER;
	case PERM_PANEL_REFER:
		return sw_or_lead || role == ROLE_PANEL_CHAIR;
	case PERM_PANEL_RECORD:
		return role == ROLE_PANEL_MEMBER || role == ROLE_PANEL_CHAIR;
	case PERM_PANEL_CHAIR:
		return role == ROLE_PANEL_CHAIR;
	/* training: anyone reads the catalogue and books (the course's audience
	 * decides per record); leads oversee their agency's bookings (per
	 * record), training admins everyone's, and they alone manage */
	case PERM_TRAINING_READ:
	case PERM_TRAINING_BOOK:
		return true;
	case PERM_TRAINING_OVERSIGHT:
		return role == ROLE_SAFEGUARDING_LEAD || role == ROLE_TRAINING_ADMIN;
	case PERM_TRAINING_MANAGE:
		return role == ROLE_TRAINING_ADMIN;
	/* missing education: admins keep the calendar; the CME officer is education's lead or the CME panel's chair */
	case PERM_CALENDAR_MANAGE:
		return role == ROLE_ADMIN;
	case PERM_CME_NOTIFY:
		return practice;
	case PERM_CME_READ:
		return casework;
	case PERM_CME_WORK: /* which chair chairs a CME panel: per record */
		return (role == ROLE_SAFEGUARDING_LEAD && ag == AGENCY_EDUCATION) || role == ROLE_PANEL_CHAIR;
	/* screening: the partnership's admins publish; the network screens; the report without names */
	case PERM_SCREENING_TOOL_READ:
		return casework || role == ROLE_ADMIN;
	case PERM_SCREENING_TOOL_PUBLISH:
		return role == ROLE_ADMIN && partnership;
	case PERM_SCREENING_READ:
	case PERM_SCREENING_WRITE:
		return casework;
	case PERM_SCREENING_REPORT:
		return ((role == ROLE_ADMIN || role == ROLE_AUDITOR) && partnership) || role == ROLE_SAFEGUARDING_LEAD;
	/* delta sync: the caseload of whoever reads children */
	case PERM_SYNC_READ:
		return casework;
	default:
		return -1;
	}
}

START_TEST(every_cell)
{
	for (int p = 0; p < PERM__COUNT; p++)
		for (int role = 0; role < ROLE__COUNT; role++)
			for (int ag = 0; ag < AGENCY__COUNT; ag++) {
				struct sg_identity id = {.roles = ROLE_BIT(role), .agency = ag};
				int w = want(p, role, ag);

				ck_assert_msg(w >= 0, "permission %d has no line in want(): add it", p);
				ck_assert_msg(access_allows((enum sg_perm)p, &id) == (bool)w,
					      "perm %d role %s agency %s: want %s", p, sg_role_names[role],
					      sg_agency_names[ag], w ? "allowed" : "denied");
			}
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
		{PERM_PANEL_READ, R(PRACTITIONER) | R(SAFEGUARDING_LEAD) | R(SOCIAL_WORKER) | R(PANEL_CHAIR) |
					  R(PANEL_MEMBER) | R(ADMIN)},
		{PERM_PANEL_MANAGE, R(ADMIN)},
		{PERM_PANEL_CASES, R(PANEL_MEMBER) | R(PANEL_CHAIR) | R(SAFEGUARDING_LEAD)},
		{PERM_PANEL_REFERRAL, R(PANEL_MEMBER) | R(PANEL_CHAIR) | R(SAFEGUARDING_LEAD) | R(SOCIAL_WORKER)},
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
	tcase_add_test(tc, every_cell);
	tcase_add_test(tc, no_roles_no_access);
	tcase_add_test(tc, panel_cells);
	tcase_add_test(tc, names_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
