/*
 * patterns.h - patterns across agencies in a consolidated chronology: what
 * no single agency could see.  Pure functions over a sorted list of entries.
 */
#ifndef SG_PATTERNS_H
#define SG_PATTERNS_H

#include "sg.h"

struct chron_item {
	const char *id;
	int agency; /* enum sg_agency */
	const char *category;
	int day;     /* days since 1970-01-01 */
	int day_end; /* == day when not a period; -1 when no end was given (open) */
};

/* A child's current roll status from the register (out-of-education rule). */
struct roll_status {
	const char *child_id;
	int since; /* day not on roll / missing education since; -1 when on roll */
};

/* A child's children-missing-education case (out-of-education rule). */
struct cme_period {
	const char *child_id;
	int since;   /* day the child went missing from education */
	int back_on; /* day back in education (or gone with a confirmed destination); -1 while not */
};

struct pattern {
	const char *code;
	const char *description;
	int from, to;      /* days */
	unsigned agencies; /* AGENCY_BIT set */
	const char **entry_ids;
	size_t n_entries;
	const char *child_id; /* register-based patterns */
};

struct pattern_input {
	const struct chron_item *items; /* sorted by day, withdrawn entries left out */
	size_t n;
	const struct roll_status *rolls;
	size_t nrolls;
	const struct cme_period *cme; /* the subject children's CME cases */
	size_t ncme;
	int today;
	int period_end; /* the last day the chronology covers; 0: today */
};

/* Runs every rule of the table; returns how many patterns went to out. */
size_t patterns_find(const struct pattern_input *in, struct pattern *out, size_t cap, struct arena *a);

/* The rules one by one (unit tests). */
size_t pattern_missing_cluster(const struct pattern_input *in, struct pattern *out, size_t cap, struct arena *a);
size_t pattern_out_of_education(const struct pattern_input *in, struct pattern *out, size_t cap, struct arena *a);
size_t pattern_exploitation(const struct pattern_input *in, struct pattern *out, size_t cap, struct arena *a);
size_t pattern_rising(const struct pattern_input *in, struct pattern *out, size_t cap, struct arena *a);

int days_from_date(const char *ymd); /* -1 when not YYYY-MM-DD */
void date_from_days(int days, char out[11]);
int school_days(int from, int to); /* weekdays from..to inclusive */

#endif
