/*
 * sg.h - the types every part of the API shares: the caller's identity, the
 * roles and agencies, and the permissions of the access table (access.c).
 * Every other module has its own header; a file's symbols are prefixed with
 * its name (arena_, http_, db_, kit_ ...).
 */
#ifndef SG_H
#define SG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "arena.h"
#include "log.h"

enum sg_role {
	ROLE_PRACTITIONER,
	ROLE_SAFEGUARDING_LEAD,
	ROLE_SOCIAL_WORKER,
	ROLE_PANEL_CHAIR,
	ROLE_PANEL_MEMBER,
	ROLE_TRAINING_ADMIN,
	ROLE_AUDITOR,
	ROLE_ADMIN,
	ROLE__COUNT
};
#define ROLE_BIT(r) (1u << (r))
#define ROLES_ALL ((1u << ROLE__COUNT) - 1)

enum sg_agency {
	AGENCY_CSC,
	AGENCY_POLICE,
	AGENCY_HEALTH,
	AGENCY_MENTAL_HEALTH,
	AGENCY_EDUCATION,
	AGENCY_YOUTH_JUSTICE,
	AGENCY_DISTRICT,
	AGENCY_VOLUNTARY,
	AGENCY_PARTNERSHIP,
	AGENCY__COUNT
};
#define AGENCY_BIT(a) (1u << (a))
#define AGENCIES_ALL ((1u << AGENCY__COUNT) - 1)

extern const char *const sg_role_names[ROLE__COUNT];
extern const char *const sg_agency_names[AGENCY__COUNT + 1]; /* NULL-terminated */
int sg_role_lookup(const char *s);                           /* -1 when not on the allow-list */
int sg_agency_lookup(const char *s);                         /* -1 when not on the allow-list */

/* The caller as the verified token describes it.  Strings are owned by the
 * token cache entry (auth.c) and live at least until the request ends. */
struct sg_identity {
	char iss[256];
	char sub[201];
	char name[201];
	char email[201];
	char jti[201];
	int agency;
	unsigned roles; /* ROLE_BIT set */
	char roles_csv[160];
	int64_t iat, exp;
};

/* Permissions: what a route needs.  The access table (access.c) says which
 * roles of which agencies hold each one; deny by default. */
enum sg_perm {
	PERM_PUBLIC,           /* no token (health, readiness, metrics) */
	PERM_AUTHENTICATED,    /* any valid token */
	PERM_AUDIT_READ,       /* the audit trail: an agency's auditor its own staff and network */
	PERM_AUDIT_READ_ALL,   /* ... and the whole partnership's trail (a scope, not a route) */
	PERM_TOKEN_REVOKE,     /* revoke tokens of the admin's own agency */
	PERM_TOKEN_REVOKE_ANY, /* ... and of any agency (a scope, not a route) */
	PERM_CHILD_SEARCH,
	PERM_CHILD_READ, /* case roles; the record itself by network */
	PERM_CHILD_CREATE,
	PERM_CHILD_UPDATE,
	PERM_CHILD_DECLARE,
	PERM_CHILD_ACCESS_LOG,
	PERM_INVOLVEMENT_REVIEW, /* review or end self-declared involvements (break-glass) */
	PERM_FAMILY_MANAGE,      /* create a family; change the members of one the agency created */
	PERM_FAMILY_MANAGE_ANY,  /* ... and of every family (a scope, not a route) */
	PERM_CHRONOLOGY_WRITE,   /* add, amend, withdraw entries (amend/withdraw: author or lead) */
	PERM_CHRONOLOGY_READ,
	PERM_REQUEST_CREATE, /* open or close a multi-agency chronology request */
	PERM_REQUEST_READ,
	PERM_REQUEST_CONTRIBUTE,
	/* multi-agency panels: which records, the panel's member and chair agencies decide */
	PERM_PANEL_READ,         /* the panels themselves: type, name, members, chair */
	PERM_PANEL_MANAGE,       /* create a panel, change its membership */
	PERM_PANEL_CASES,        /* read cases, meetings, minutes, decisions, actions; update own agency's actions */
	PERM_PANEL_REFERRAL,     /* read one referral: its panel's readers, or the person who made it */
	PERM_PANEL_REFER,        /* refer a child to a panel */
	PERM_PANEL_RECORD,       /* write case discussions and draft minutes */
	PERM_PANEL_CHAIR,        /* meetings, decisions, referral outcomes, minutes approval, actions, escalations */
	PERM_TRAINING_READ,      /* the course catalogue and its sessions */
	PERM_TRAINING_BOOK,      /* book, cancel, complete and evaluate one's own training */
	PERM_TRAINING_OVERSIGHT, /* bookings and completions: an agency's (its lead), all (training admins) */
	PERM_TRAINING_MANAGE,    /* courses, sessions, the register, charges and certificates */
	/* children missing education and the screening tool (issue 12) */
	PERM_CALENDAR_MANAGE, /* add or remove school terms, holidays, bank holidays */
	PERM_CME_NOTIFY,      /* notify a child missing education (the network decides which) */
	PERM_CME_READ,        /* CME cases: the child's network, and the CME officer */
	PERM_CME_WORK,        /* enquiries, resolution, closure: the CME officer, the CME panel's chair */
	PERM_SCREENING_TOOL_READ,
	PERM_SCREENING_TOOL_PUBLISH, /* draft and publish tool versions */
	PERM_SCREENING_READ,
	PERM_SCREENING_WRITE,  /* complete, submit, record the outcome (the network decides which) */
	PERM_SCREENING_REPORT, /* the partnership's report, without names */
	PERM_SYNC_READ,        /* delta sync of the caseload: who reads children (which records, RLS) */
	PERM__COUNT
};
bool access_allows(enum sg_perm p, const struct sg_identity *id);

#endif
