/*
 * training.h - what the training area's files share (training.c): the
 * course audience rule, the token facts a booking needs, media types a
 * route may answer in, the area's problem answers, and a booking answered
 * as the API shows it.
 */
#ifndef SG_TRAINING_H
#define SG_TRAINING_H

#include "kit.h"

/* Booking statuses that hold one of a session's places. */
#define TRAINING_HOLDS_PLACE(s) (!strcmp((s), "confirmed") || !strcmp((s), "attended") || !strcmp((s), "no_show"))

/* A page of the delegates' records the caller may see (training_may_see,
 * 008), in (created_at, id) order: the three ways it admits a record, each
 * read apart in that order by an index that leads with what it names (the
 * table's whole order for a training admin, the delegate for their own,
 * the agency for its safeguarding lead) and cut at the page's size, so that
 * a caller who sees few records of a large table reads those and not the
 * table.  The parts are disjoint, so the page holds each record once;
 * row-level security still checks each.  from: the table and its alias a;
 * where: the list's filters; lim: the page's size.  Each part gives the
 * row (r), created_at and id: select from it as s, order by s.created_at,
 * s.id and render only the page's rows. */
#define TRAINING_SEEN_PART(from, a, who, where, lim)                                                                   \
	"(select " a " as r, " a ".created_at, " a ".id from " from " where " who " and " where " order by " a         \
	".created_at, " a ".id limit " lim ")"
#define TRAINING_SEEN_ADMIN "safeguard.app_has_role('training_admin')"
#define TRAINING_SEEN_OWN(a) "not " TRAINING_SEEN_ADMIN " and " a ".delegate_sub = safeguard.app_sub()"
#define TRAINING_SEEN_LEAD(a)                                                                                          \
	"not " TRAINING_SEEN_ADMIN " and safeguard.app_has_role('safeguarding_lead')"                                  \
	" and " a ".delegate_agency = safeguard.app_agency() and " a                                                   \
	".delegate_sub is distinct from safeguard.app_sub()"
#define TRAINING_SEEN(from, a, where, lim)                                                                             \
	" (" TRAINING_SEEN_PART(from, a, TRAINING_SEEN_ADMIN, where, lim) " union all " TRAINING_SEEN_PART(            \
		from, a, TRAINING_SEEN_OWN(a), where,                                                                  \
		lim) " union all " TRAINING_SEEN_PART(from, a, TRAINING_SEEN_LEAD(a), where, lim) ") s"

/* NULL when the caller is in a course's audience, else why not (an arena
 * string).  roles and agencies are PostgreSQL array texts ("{a,b}"); an
 * empty array admits everyone. */
const char *training_audience_refusal(struct sg_req *r, const char *roles, const char *agencies);
/* 0 when the token carries the name (with a visible character, not only
 * blanks) and the email a booking or completion records, else 422
 * incomplete-identity answered. */
int training_identity_check(struct sg_req *r);
/* True when the Accept header asks for type (e.g. "text/calendar") at
 * least as much as for JSON. */
bool training_accepts(const struct sg_req *r, const char *type);
/* A problem that names an existing record (existing_id). */
int training_problem_existing(struct sg_req *r, int status, const char *slug, const char *detail,
			      const char *existing_id);
/* Answers the booking id as the caller may see it, with its ETag (status
 * 200 or 201); 404 when it is not visible. */
int training_booking_answer(struct sg_req *r, int status, const char *id);
/* An email address as the training area takes it: one @, something on
 * each side, no spaces or angle brackets.  NULL or the reason. */
const char *training_check_email(const char *s);
/* An https:// URL.  NULL or the reason. */
const char *training_check_https(const char *s);

#endif
