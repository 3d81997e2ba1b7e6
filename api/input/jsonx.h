/*
 * jsonx.h - strict JSON parsing of request bodies.
 */
#ifndef SG_JSONX_H
#define SG_JSONX_H

#include <stddef.h>
#include <jansson.h>

struct json_limits {
	size_t max_depth;
	size_t max_chars; /* the longest string value, in characters (UTF-8 code points) */
};
/* Parses a body: duplicate keys, bad UTF-8, depth and string length are
 * rejected (object keys at 200 bytes: a field's name is ASCII).  Returns a new reference or NULL with *why set (static text). */
json_t *jsonx_parse(const char *buf, size_t n, const struct json_limits *lim, const char **why);

#endif
