/*
 * router.c - matches a method and path against the route tables of every
 * area (areas.c lists them; the router names none).  A path that matches no
 * pattern is 404; a path that matches with
 * another method is 405 with the methods that would work.  Path parameters
 * ("{id}") match one non-empty segment; a UUID is captured in its canonical
 * lowercase form, so that what a handler keys, audits and names by it is
 * one text whichever case the client wrote it in.  HEAD is GET without the body (RFC
 * 9110 9.3.2): it matches every GET route, runs the same handler, and the
 * worker writes the same status and headers with no body.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "http.h"

bool route_keyed(const struct route *rt)
{
	return (rt->flags & ROUTE_IDEMPOTENT) || strcmp(rt->method, "PATCH") == 0;
}

size_t router_count(void)
{
	size_t n = 0;

	for (const struct sg_area *const *a = sg_areas; *a; a++)
		n += (*a)->n;
	return n;
}

const struct route *router_at(size_t i)
{
	for (const struct sg_area *const *a = sg_areas; *a; a++) {
		if (i < (*a)->n)
			return &(*a)->routes[i];
		i -= (*a)->n;
	}
	return NULL;
}

/* Matches path against pattern, capturing parameters as arena strings. */
static bool pattern_match(struct arena *a, const char *pattern, const char *path, const char **params)
{
	size_t np = 0;

	while (*pattern && *path) {
		if (*pattern == '{') {
			const char *pend = strchr(pattern, '}');
			const char *seg_end = strchr(path, '/');
			size_t len = seg_end ? (size_t)(seg_end - path) : strlen(path);

			if (!pend || len == 0 || np >= SG_MAX_PARAMS)
				return false;
			if (params) {
				char *v = arena_strndup(a, path, len);

				if (validate_uuid(v))
					for (char *c = v; *c; c++)
						*c = (char)tolower((unsigned char)*c);
				params[np] = v;
			}
			np++;
			pattern = pend + 1;
			path += len;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

enum router_result router_match(struct arena *a, const char *method, const char *path, const struct route **out,
				int *index, const char **params, const char **allow)
{
	size_t n = router_count();
	char methods[128] = "";
	bool path_known = false;
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;

	for (size_t i = 0; i < n; i++) {
		const struct route *rt = router_at(i);

		if (!pattern_match(a, rt->pattern, path, NULL))
			continue;
		path_known = true;
		if (strcmp(rt->method, want) == 0) {
			pattern_match(a, rt->pattern, path, params);
			*out = rt;
			*index = (int)i;
			return ROUTER_FOUND;
		}
		if (!strstr(methods, rt->method)) {
			if (*methods)
				strcat(methods, ", ");
			strcat(methods, rt->method);
			/* every GET route answers HEAD too */
			if (strcmp(rt->method, "GET") == 0)
				strcat(methods, ", HEAD");
		}
	}
	if (!path_known)
		return ROUTER_NOT_FOUND;
	*allow = arena_strdup(a, methods);
	return ROUTER_BAD_METHOD;
}

void router_print(void)
{
	size_t n = router_count();

	for (size_t i = 0; i < n; i++)
		printf("%s %s\n", router_at(i)->method, router_at(i)->pattern);
}
