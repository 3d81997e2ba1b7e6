/*
 * arena.h - one bump allocator per request, reset at the top of the accept loop;
 * it also owns the foreign resources handed to it.
 */
#ifndef SG_ARENA_H
#define SG_ARENA_H

#include <stddef.h>
#include <jansson.h>

struct arena;
struct arena *arena_new(void);
void arena_free(struct arena *a);
void arena_reset(struct arena *a);
void *arena_alloc(struct arena *a, size_t n); /* zeroed, never NULL */
/* as arena_alloc, not zeroed: for memory the caller writes whole at once */
void *arena_alloc_uninit(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands p to the arena, which calls fn(p) at reset; returns p (NULL stays
 * NULL).  Steals p. */
void *arena_own(struct arena *a, void *p, void (*fn)(void *));
/* Registers a jansson reference to be released at reset; steals it. */
json_t *arena_json(struct arena *a, json_t *j);
/* Serialises any JSON value into an arena string (borrowed j); NULL only
 * for a NULL j. */
char *arena_json_dump(struct arena *a, json_t *j);

#endif
