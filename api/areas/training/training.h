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
