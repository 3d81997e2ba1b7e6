/*
 * arena.c - the per-request memory context.  Everything a request allocates
 * comes from here and is released in one go by arena_reset() at the top of
 * the worker's accept loop, so no handler frees memory on its error paths.
 * jansson values registered with arena_json() are released at the same time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sg.h"

#define ARENA_CHUNK (64 * 1024)

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
	json_t **json;
	size_t njson, capjson;
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

	for (size_t i = 0; i < a->njson; i++)
		json_decref(a->json[i]);
	a->njson = 0;
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
	free(a->json);
	free(a);
}

void *arena_alloc(struct arena *a, size_t n)
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
		memset(nc->data, 0, n);
		return nc->data;
	}
	p = (char *)c->data + off;
	c->used = off + n;
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

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

json_t *arena_json(struct arena *a, json_t *j)
{
	if (!j)
		return NULL;
	if (a->njson == a->capjson) {
		size_t cap = a->capjson ? a->capjson * 2 : 64;
		json_t **n = realloc(a->json, cap * sizeof *n);

		if (!n)
			abort();
		a->json = n;
		a->capjson = cap;
	}
	a->json[a->njson++] = j;
	return j;
}
