/* Shared by the fuzz targets: one arena per process, reset per input. */
#ifndef SG_FUZZ_COMMON_H
#define SG_FUZZ_COMMON_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"
#include "cursor.h"
#include "ident.h"
#include "jsonx.h"
#include "pool.h"

struct sg_config sg_cfg;

static struct arena *fuzz_arena(void)
{
	static struct arena *a;

	if (!a)
		a = arena_new();
	arena_reset(a);
	return a;
}

/* A NUL-terminated copy of the input, from the arena. */
static __attribute__((unused)) char *fuzz_string(struct arena *a, const uint8_t *data, size_t size)
{
	return arena_strndup(a, (const char *)data, size);
}
#endif
