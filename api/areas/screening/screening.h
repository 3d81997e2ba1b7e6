/*
 * screening.h - what the screening area's files share: the answers an
 * indicator takes.  tools.c (the tools and their versions), screenings.c
 * (screenings of children) and report.c (the partnership's report).
 */
#ifndef SG_SCREENING_H
#define SG_SCREENING_H

#include "kit.h"

/* yes, no, not_known (NULL-terminated; screenings.c) */
extern const char *const screening_answers[];

#endif
