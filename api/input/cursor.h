/*
 * cursor.h - opaque keyset cursors.
 */
#ifndef SG_CURSOR_H
#define SG_CURSOR_H

#include <stdbool.h>
#include "arena.h"

/* Encodes n strings as an opaque cursor; returns an arena string. */
char *cursor_encode(struct arena *a, const char *const *parts, size_t n);
/* Decodes into exactly n parts; false on anything malformed. */
bool cursor_decode(struct arena *a, const char *cursor, const char **parts, size_t n);

#endif
