/*
 * ident.h - identifiers: NHS number, UPN, postcode, UUIDs.
 */
#ifndef SG_IDENT_H
#define SG_IDENT_H

#include "arena.h"

const char *ident_nhs_number(const char *s);
const char *ident_upn(const char *s);
const char *ident_postcode(const char *s, char out[9]);
const char *ident_postcode_check(const char *s);
char *ident_uuid(struct arena *a);

#endif
