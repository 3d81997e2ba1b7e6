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
	[ROLE_PRACTITIONER] = "practitioner",   [ROLE_SAFEGUARDING_LEAD] = "safeguarding_lead",
	[ROLE_SOCIAL_WORKER] = "social_worker", [ROLE_PANEL_CHAIR] = "panel_chair",
	[ROLE_PANEL_MEMBER] = "panel_member",   [ROLE_TRAINING_ADMIN] = "training_admin",
	[ROLE_AUDITOR] = "auditor",             [ROLE_ADMIN] = "admin",
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

struct access_rule {
	unsigned roles;    /* any of these roles */
	unsigned agencies; /* of any of these agencies */
};

static const struct access_rule access_table[PERM__COUNT] = {
	[PERM_PUBLIC] = {ROLES_ALL, AGENCIES_ALL},
	[PERM_AUTHENTICATED] = {ROLES_ALL, AGENCIES_ALL},
	[PERM_AUDIT_READ] = {ROLE_BIT(ROLE_AUDITOR), AGENCIES_ALL},
	[PERM_TOKEN_REVOKE] = {ROLE_BIT(ROLE_ADMIN), AGENCIES_ALL},
};

bool access_allows(enum sg_perm p, const struct sg_identity *id)
{
	const struct access_rule *rule;

	if ((unsigned)p >= PERM__COUNT)
		return false;
	rule = &access_table[p];
	return (rule->roles & id->roles) != 0 && (rule->agencies & AGENCY_BIT(id->agency)) != 0;
}
