/*
 * panels.h - what the files of the panels area share (panels.c defines it):
 * the caller's standing on a panel, the answers every sub-resource repeats,
 * and the value lists.  The area's files: panels.c (panels and membership),
 * referrals.c, meetings.c, minutes.c, records.c (case discussions and
 * decisions), actions.c, exports.c (CSV).
 */
#ifndef SG_PANELS_H
#define SG_PANELS_H

#include "kit.h"

extern const char *const panels_risk_levels[]; /* low, medium, high */

/* How the caller stands to one panel (issue 10, "Access and sharing"). */
struct panel_standing {
	char type[32];
	char chair_agency[32];
	bool member;    /* the caller's agency sits on the panel */
	bool reader;    /* reads its cases: panel_member, panel_chair or safeguarding_lead of a member agency */
	bool recorder;  /* writes discussions and draft minutes: panel_member or panel_chair of a member agency */
	bool chair;     /* a panel_chair of the chair agency */
	bool may_refer; /* safeguarding_lead or social_worker of a member agency, or the chair */
};

/* The panel as the caller stands to it: 0, or 404 when there is no such
 * panel (an id that is not a UUID included). */
int panels_standing(struct sg_req *r, const char *panel_id, struct panel_standing *ps);
/* 0 for the panel's chair, else 403 naming what only the chair does. */
int panels_require_chair(struct sg_req *r, const struct panel_standing *ps, const char *what);
/* 409 naming the state a record is in: "the referral is declined; <rule>". */
int panels_state_conflict(struct sg_req *r, const char *what, const char *state, const char *rule);
/* 400 validation-failed for one field. */
int panels_invalid(struct sg_req *r, const char *field, const char *code, const char *message);
/* 422 invalid-reference for one field. */
int panels_bad_reference(struct sg_req *r, const char *field, const char *message);
/* The UUIDs of column col of res (nulls skipped) as a PostgreSQL array literal. */
const char *panels_id_array(struct sg_req *r, PGresult *res, int col, int nrows);
/* A child audit row (action) for each child in column col of the rows of
 * the page pg keeps (not the look-ahead row): 0, or the failure's answer. */
int panels_audit_page(struct sg_req *r, const char *action, const struct kit_page *pg, PGresult *res, int col);
/* Whether date (YYYY-MM-DD, valid) is before today (UTC, the clock overdue uses). */
bool panels_in_past(struct sg_req *r, const char *date);

#endif
