/*
 * chronology.h - what the chronology area's three files share, and nothing
 * else: a request as the caller stands to it (requests.c answers it, the
 * consolidated view reads it) and the child-level audit of the entries an
 * answer carries (entries.c, the draft in requests.c); and, for the panels
 * area, the consolidated view itself (a panel reads the timeline of the
 * request a referral names, while both are live).
 */
#ifndef SG_CHRONOLOGY_H
#define SG_CHRONOLOGY_H

#include "kit.h"

/* A chronology request as the caller's agency stands to it. */
struct chronology_request {
	bool open;            /* not closed, share window not passed */
	bool requester;       /* the caller's agency opened it */
	bool invited;         /* the caller's agency was asked to contribute */
	bool readable;        /* may read the request and its consolidated view: the
			 * requester, or invited while open (request_readable) */
	const char *json;     /* the request as the API shows it (arena) */
	const char *children; /* its subject children, an array literal */
};

/* Loads request r->params[0]: 0, or 404 when the caller's agency neither
 * made it nor is invited to it while it is open and in its window (exactly
 * like a request that does not exist). */
int chronology_request_load(struct sg_req *r, struct chronology_request *rq);

/* One child audit row (action) for every child named in column col of the
 * first n rows of res, each a PostgreSQL array literal of UUIDs: the
 * children whose data an answer carries.  0, or the failure's answer. */
int chronology_audit_children(struct sg_req *r, const char *action, PGresult *res, int col, int n);

/* How one read of a consolidated timeline is audited: a row of action on
 * (type, id) with details (JSON or NULL), and a child_action row for every
 * child the timeline shows. */
struct chronology_read {
	const char *action, *type, *id, *details;
	const char *child_action;
};

/* Answers the consolidated timeline of request id as JSON, {request,
 * entries, patterns}, with request_json as the request, audited as audit
 * says.  The caller has decided that it may read it; the database decides
 * again (safeguard.consolidated_readable, migration 017) and shows a caller
 * it does not let through an empty timeline.  id is a UUID. */
int chronology_consolidated(struct sg_req *r, const char *id, const char *request_json,
			    const struct chronology_read *audit);

#endif
