/*
 * access.c - the partnership's access table (DESIGN.md section 4) as data.
 * Each permission lists the roles that hold it and the agencies those roles
 * must belong to.  A permission not in the table is held by nobody: deny by
 * default.  Record-level rules (a child's network, an entry's agency) are
 * enforced again by row-level security in the database.
 */
#include <string.h>
#include "sg.h"

const char *const sg_role_names[ROLE__COUNT] = {
	[ROLE_PRACTITIONER] = "practitioner",
	[ROLE_SAFEGUARDING_LEAD] = "safeguarding_lead",
	[ROLE_SOCIAL_WORKER] = "social_worker",
	[ROLE_PANEL_CHAIR] = "panel_chair",
	[ROLE_PANEL_MEMBER] = "panel_member",
	[ROLE_TRAINING_ADMIN] = "training_admin",
	[ROLE_AUDITOR] = "auditor",
	[ROLE_ADMIN] = "admin",
};

const char *const sg_agency_names[AGENCY__COUNT + 1] = {
	[AGENCY_CSC] = "csc",
	[AGENCY_POLICE] = "police",
	[AGENCY_HEALTH] = "health",
	[AGENCY_MENTAL_HEALTH] = "mental_health",
	[AGENCY_EDUCATION] = "education",
	[AGENCY_YOUTH_JUSTICE] = "youth_justice",
	[AGENCY_DISTRICT] = "district",
	[AGENCY_VOLUNTARY] = "voluntary",
	[AGENCY_PARTNERSHIP] = "partnership",
	[AGENCY__COUNT] = NULL,
};

int sg_role_lookup(const char *s)
{
	for (int i = 0; i < ROLE__COUNT; i++)
		if (strcmp(sg_role_names[i], s) == 0)
			return i;
	return -1;
}

int sg_agency_lookup(const char *s)
{
	for (int i = 0; i < AGENCY__COUNT; i++)
		if (strcmp(sg_agency_names[i], s) == 0)
			return i;
	return -1;
}

/* A permission is held by a role of one of the listed agencies, in any of
 * up to ACCESS_MAX_GRANTS alternatives (unused ones grant nothing: no roles).
 * A rule with more alternatives than that does not compile (-Werror: excess
 * elements in an initializer), so raising the number is a one-line change. */
#define ACCESS_MAX_GRANTS 2
struct access_grant {
	unsigned roles;
	unsigned agencies;
};
struct access_rule {
	struct access_grant any[ACCESS_MAX_GRANTS];
};

#define CASE_ROLES                                                                                                     \
	(ROLE_BIT(ROLE_PRACTITIONER) | ROLE_BIT(ROLE_SAFEGUARDING_LEAD) | ROLE_BIT(ROLE_SOCIAL_WORKER) |               \
	 ROLE_BIT(ROLE_PANEL_CHAIR) | ROLE_BIT(ROLE_PANEL_MEMBER))
#define PRACTICE_ROLES (ROLE_BIT(ROLE_PRACTITIONER) | ROLE_BIT(ROLE_SAFEGUARDING_LEAD) | ROLE_BIT(ROLE_SOCIAL_WORKER))
/* who of a panel's member agency reads its cases (issue 10) */
#define PANEL_READER_ROLES (ROLE_BIT(ROLE_PANEL_MEMBER) | ROLE_BIT(ROLE_PANEL_CHAIR) | ROLE_BIT(ROLE_SAFEGUARDING_LEAD))

static const struct access_rule access_table[PERM__COUNT] = {
	[PERM_PUBLIC] = {{{ROLES_ALL, AGENCIES_ALL}}},
	[PERM_AUTHENTICATED] = {{{ROLES_ALL, AGENCIES_ALL}}},
	/* the audit trail: every auditor; the partnership's see all of it, an
	 * agency's its own staff's actions and events about children in its network */
	[PERM_AUDIT_READ] = {{{ROLE_BIT(ROLE_AUDITOR), AGENCIES_ALL}}},
	[PERM_AUDIT_READ_ALL] = {{{ROLE_BIT(ROLE_AUDITOR), AGENCY_BIT(AGENCY_PARTNERSHIP)}}},
	/* token revocation: every admin for its own agency's tokens, the partnership's for any */
	[PERM_TOKEN_REVOKE] = {{{ROLE_BIT(ROLE_ADMIN), AGENCIES_ALL}}},
	[PERM_TOKEN_REVOKE_ANY] = {{{ROLE_BIT(ROLE_ADMIN), AGENCY_BIT(AGENCY_PARTNERSHIP)}}},
	/* find a child by exact identifier: any role (full records need CHILD_READ) */
	[PERM_CHILD_SEARCH] = {{{ROLES_ALL, AGENCIES_ALL}}},
	/* read a child or family: the case roles; which records, the network decides */
	[PERM_CHILD_READ] = {{{CASE_ROLES, AGENCIES_ALL}}},
	/* create a child: practitioner and up, any agency */
	[PERM_CHILD_CREATE] = {{{PRACTICE_ROLES, AGENCIES_ALL}}},
	[PERM_CHILD_UPDATE] = {{{PRACTICE_ROLES, AGENCIES_ALL}}},
	[PERM_CHILD_DECLARE] = {{{PRACTICE_ROLES, AGENCIES_ALL}}},
	/* a child's access log: CSC's safeguarding leads, and auditors */
	[PERM_CHILD_ACCESS_LOG] = {{{ROLE_BIT(ROLE_SAFEGUARDING_LEAD), AGENCY_BIT(AGENCY_CSC)},
				    {ROLE_BIT(ROLE_AUDITOR), AGENCIES_ALL}}},
	/* self-declared involvement is break-glass: CSC's safeguarding leads review and end it */
	[PERM_INVOLVEMENT_REVIEW] = {{{ROLE_BIT(ROLE_SAFEGUARDING_LEAD), AGENCY_BIT(AGENCY_CSC)}}},
	/* create a family, and change the members of one the caller's agency created;
	 * CSC's social workers and leads change the members of any family */
	[PERM_FAMILY_MANAGE] = {{{ROLE_BIT(ROLE_SOCIAL_WORKER) | ROLE_BIT(ROLE_SAFEGUARDING_LEAD), AGENCIES_ALL}}},
	[PERM_FAMILY_MANAGE_ANY] = {{{ROLE_BIT(ROLE_SOCIAL_WORKER) | ROLE_BIT(ROLE_SAFEGUARDING_LEAD),
				      AGENCY_BIT(AGENCY_CSC)}}},
	/* chronology entries: members of an agency in the child's network (RLS checks the network) */
	[PERM_CHRONOLOGY_WRITE] = {{{CASE_ROLES, AGENCIES_ALL}}},
	[PERM_CHRONOLOGY_READ] = {{{CASE_ROLES, AGENCIES_ALL}}},
	/* a multi-agency chronology request: social workers and CSC's safeguarding leads */
	[PERM_REQUEST_CREATE] = {{{ROLE_BIT(ROLE_SOCIAL_WORKER) | ROLE_BIT(ROLE_SAFEGUARDING_LEAD),
				   AGENCY_BIT(AGENCY_CSC)}}},
	[PERM_REQUEST_READ] = {{{CASE_ROLES, AGENCIES_ALL}}},
	[PERM_REQUEST_CONTRIBUTE] = {{{PRACTICE_ROLES, AGENCIES_ALL}}},
	/* panels (DESIGN.md 4): the roles here; a panel's member agencies (and, for
	 * chair actions, its chair agency) are checked per record, outsiders 404 */
	[PERM_PANEL_READ] = {{{CASE_ROLES | ROLE_BIT(ROLE_ADMIN), AGENCIES_ALL}}},
	[PERM_PANEL_MANAGE] = {{{ROLE_BIT(ROLE_ADMIN), AGENCIES_ALL}}},
	[PERM_PANEL_CASES] = {{{PANEL_READER_ROLES, AGENCIES_ALL}}},
	/* one referral: the panel's readers, and its referrer reading back what it
	 * referred (a social worker is not a reader; the handler decides which) */
	[PERM_PANEL_REFERRAL] = {{{PANEL_READER_ROLES | ROLE_BIT(ROLE_SOCIAL_WORKER), AGENCIES_ALL}}},
	[PERM_PANEL_REFER] = {{{ROLE_BIT(ROLE_SAFEGUARDING_LEAD) | ROLE_BIT(ROLE_SOCIAL_WORKER) |
					ROLE_BIT(ROLE_PANEL_CHAIR),
				AGENCIES_ALL}}},
	[PERM_PANEL_RECORD] = {{{ROLE_BIT(ROLE_PANEL_MEMBER) | ROLE_BIT(ROLE_PANEL_CHAIR), AGENCIES_ALL}}},
	[PERM_PANEL_CHAIR] = {{{ROLE_BIT(ROLE_PANEL_CHAIR), AGENCIES_ALL}}},
	/* training: anyone may read the catalogue and book within a course's audience
	 * (the course decides); leads oversee their agency's bookings (which, the
	 * records decide), training admins run it all */
	[PERM_TRAINING_READ] = {{{ROLES_ALL, AGENCIES_ALL}}},
	[PERM_TRAINING_BOOK] = {{{ROLES_ALL, AGENCIES_ALL}}},
	[PERM_TRAINING_OVERSIGHT] = {{{ROLE_BIT(ROLE_SAFEGUARDING_LEAD) | ROLE_BIT(ROLE_TRAINING_ADMIN),
				       AGENCIES_ALL}}},
	[PERM_TRAINING_MANAGE] = {{{ROLE_BIT(ROLE_TRAINING_ADMIN), AGENCIES_ALL}}},
	/* children missing education: admins keep the school calendar; any agency in the child's network
	 * notifies; the CME officer (education's safeguarding lead) and the CME panel's chair work the case
	 * (which panel_chair chairs a CME panel, the database says: safeguard.cme_officer) */
	[PERM_CALENDAR_MANAGE] = {{{ROLE_BIT(ROLE_ADMIN), AGENCIES_ALL}}},
	[PERM_CME_NOTIFY] = {{{PRACTICE_ROLES, AGENCIES_ALL}}},
	[PERM_CME_READ] = {{{CASE_ROLES, AGENCIES_ALL}}},
	[PERM_CME_WORK] = {{{ROLE_BIT(ROLE_SAFEGUARDING_LEAD), AGENCY_BIT(AGENCY_EDUCATION)},
			    {ROLE_BIT(ROLE_PANEL_CHAIR), AGENCIES_ALL}}},
	/* screening: the partnership's admins publish the tool; members of the child's network complete
	 * screenings; the report (no names) for the partnership's admins and auditors and every lead */
	[PERM_SCREENING_TOOL_READ] = {{{CASE_ROLES | ROLE_BIT(ROLE_ADMIN), AGENCIES_ALL}}},
	[PERM_SCREENING_TOOL_PUBLISH] = {{{ROLE_BIT(ROLE_ADMIN), AGENCY_BIT(AGENCY_PARTNERSHIP)}}},
	[PERM_SCREENING_READ] = {{{CASE_ROLES, AGENCIES_ALL}}},
	[PERM_SCREENING_WRITE] = {{{CASE_ROLES, AGENCIES_ALL}}},
	[PERM_SCREENING_REPORT] = {{{ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_AUDITOR), AGENCY_BIT(AGENCY_PARTNERSHIP)},
				    {ROLE_BIT(ROLE_SAFEGUARDING_LEAD), AGENCIES_ALL}}},
	/* delta sync (GET /v1/changes): whoever reads a caseload, i.e. the case roles of every
	 * agency, as PERM_CHILD_READ; which records, the records' own visibility decides */
	[PERM_SYNC_READ] = {{{CASE_ROLES, AGENCIES_ALL}}},
};

bool access_allows(enum sg_perm p, const struct sg_identity *id)
{
	if ((unsigned)p >= PERM__COUNT)
		return false;
	for (size_t i = 0; i < ACCESS_MAX_GRANTS; i++) {
		const struct access_grant *g = &access_table[p].any[i];

		if ((g->roles & id->roles) && (g->agencies & AGENCY_BIT(id->agency)))
			return true;
	}
	return false;
}
