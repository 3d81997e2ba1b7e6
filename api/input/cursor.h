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

/* Loads the sealing keys from a file of 1-4 secrets (>= 32 characters each),
 * one a line: the first seals, all open.  On failure the keys loaded before
 * stay and err says why. */
bool cursor_keys_load(const char *path, char *err, size_t errlen);
/* The same as cursor_encode, encrypted and authenticated: the caller can
 * neither read nor make one.  Aborts if no key is loaded. */
char *cursor_seal(struct arena *a, const char *const *parts, size_t n);
/* Opens a sealed cursor of exactly n parts with any loaded key; false on
 * anything else (a plain cursor included). */
bool cursor_open(struct arena *a, const char *cursor, const char **parts, size_t n);

#endif
