/*
 * arena.c - the per-request memory context.  Everything a request allocates
 * comes from here and is released in one go by arena_reset() at the top of
 * the worker's accept loop, so no handler frees memory on its error paths.
 * Foreign resources handed to it (jansson values with arena_json(), database
 * results with arena_own()) are released at the same time, newest first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"

#define ARENA_CHUNK (64 * 1024)

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct cleanup {
	void (*fn)(void *);
	void *p;
};

struct arena {
	struct chunk *head;
	struct cleanup *owned;
	size_t nowned, capowned;
};

static struct chunk *chunk_new(size_t need)
{
	size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;
	struct chunk *c = malloc(sizeof *c + cap);

	if (!c)
		abort(); /* out of memory: the master restarts the worker */
	c->next = NULL;
	c->used = 0;
	c->cap = cap;
	return c;
}

struct arena *arena_new(void)
{
	struct arena *a = calloc(1, sizeof *a);

	if (!a)
		abort();
	a->head = chunk_new(ARENA_CHUNK);
	return a;
}

void arena_reset(struct arena *a)
{
	struct chunk *c, *next;

	while (a->nowned > 0) {
		struct cleanup *c0 = &a->owned[--a->nowned];

		c0->fn(c0->p);
	}
	/* keep the first chunk, drop the overflow ones */
	for (c = a->head->next; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head->next = NULL;
	a->head->used = 0;
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	arena_reset(a);
	free(a->head);
	free(a->owned);
	free(a);
}

void *arena_alloc_uninit(struct arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t align = sizeof(max_align_t);
	size_t off = (c->used + align - 1) & ~(align - 1);
	void *p;

	if (off + n > c->cap) {
		struct chunk *nc = chunk_new(n);

		/* the fresh chunk goes second so the first stays the reusable one */
		nc->next = c->next;
		c->next = nc;
		nc->used = n;
		return nc->data;
	}
	p = (char *)c->data + off;
	c->used = off + n;
	return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
	return memset(arena_alloc_uninit(a, n), 0, n);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc_uninit(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	int n;
	char *p;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

void *arena_own(struct arena *a, void *p, void (*fn)(void *))
{
	if (!p)
		return NULL;
	if (a->nowned == a->capowned) {
		size_t cap = a->capowned ? a->capowned * 2 : 64;
		struct cleanup *n = realloc(a->owned, cap * sizeof *n);

		if (!n)
			abort(); /* out of memory: the master restarts the worker */
		a->owned = n;
		a->capowned = cap;
	}
	a->owned[a->nowned++] = (struct cleanup){fn, p};
	return p;
}

static void arena_json_release(void *p)
{
	json_decref(p);
}

json_t *arena_json(struct arena *a, json_t *j)
{
	return arena_own(a, j, arena_json_release);
}

char *arena_json_dump(struct arena *a, json_t *j)
{
	/* any value, not only objects and arrays: a client's null is text too */
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	char *out;

	if (!j)
		return NULL;
	if (!s)
		abort(); /* out of memory: the master restarts the worker */
	out = arena_strdup(a, s);
	free(s);
	return out;
}
