/* The unit test suites, one per module; main.c runs them all. */
#ifndef SG_UNIT_H
#define SG_UNIT_H
#include <check.h>
Suite *patterns_suite(void);
Suite *ident_suite(void);
#endif
