/*
 * query.h - allow-listed query parameters.
 */
#ifndef SG_QUERY_H
#define SG_QUERY_H

#include "validate.h"

struct query_param {
	const char *name;
	enum field_type type; /* FT_STRING, FT_INT, FT_INSTANT, FT_UUID, FT_ENUM, FT_DATE */
	long min, max;
	const char *const *enum_values;
};

struct query_spec {
	const struct query_param *params;
	size_t n;
};

struct query {
	const char **values; /* n slots, by index in the spec; NULL when absent */
	size_t n;
};

/* Parses a raw query string against spec; every problem into errs. */
void query_parse(const struct query_spec *spec, const char *qs, struct query *out, struct verrs *errs, struct arena *a);
/* Percent-decodes s (len n) into a new arena string; NULL on bad escapes or NUL bytes */
char *query_unescape(struct arena *a, const char *s, size_t n);

#endif
