/* Every route's own body spec, with its cross-field checks (children,
 * families and carers, chronology entries and requests, revocations ...),
 * on arbitrary JSON.  The input is "METHOD /path" on the first line and the
 * body after it, so the corpus names routes, not positions in a table.
 *
 * Whatever the body (nulls for any member, wrong types, odd nesting), the
 * checks report errors and never crash.  A body they accept goes on as a
 * handler takes it: each member is dumped as text for the database (a null
 * member once aborted the worker here: POST /v1/families with "carers":
 * null), and a PATCH body is merged into a stored record, itself arbitrary,
 * as kit_patch_merge does. */
#include "common.h"
#include "kit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = fuzz_arena();
	const struct json_limits lim = {.max_depth = 32, .max_chars = 2 * VALIDATE_MAX_CHARS};
	char *s = fuzz_string(a, data, size), *nl = strchr(s, '\n'), *sp;
	const struct route *rt = NULL;
	const char *params[SG_MAX_PARAMS] = {0}, *allow = NULL, *why = NULL, *key;
	struct verrs errs = {0};
	struct sg_req r = {0};
	json_t *body, *v, *merged = NULL;
	int idx = -1;

	if (!nl)
		return 0;
	*nl = '\0';
	sp = strchr(s, ' ');
	if (!sp)
		return 0;
	*sp = '\0';
	if (router_match(a, s, sp + 1, &rt, &idx, params, &allow) != ROUTER_FOUND || !rt->body)
		return 0;
	body = jsonx_parse(nl + 1, size - (size_t)(nl + 1 - s), &lim, &why);
	if (!body) {
		if (!why)
			abort();
		return 0;
	}
	arena_json(a, body);
	if (rt->flags & ROUTE_PATCH)
		validate_patch(rt->body, body, &errs, a);
	else
		validate_body(rt->body, body, &errs, a);
	for (size_t i = 0; i < errs.n; i++)
		if (!errs.items[i].field || !errs.items[i].code || !errs.items[i].message)
			abort(); /* every error names a field (maybe ""), a code and a message */
	if (errs.n)
		return 0;
	/* accepted: what the handlers do with it before the database */
	json_object_foreach(body, key, v) {
		if (!arena_json_dump(a, v))
			abort();
		(void)kit_str(body, key);
	}
	if (!arena_json_dump(a, body))
		abort();
	if (rt->flags & ROUTE_PATCH) {
		/* the stored record is the body's own text: an object, or not */
		r.arena = a;
		r.method = rt->method;
		r.path = sp + 1;
		r.route = rt;
		r.request_id = "0123456789abcdef0123456789abcdef";
		r.body = body;
		if (kit_patch_merge(&r, nl + 1, rt->body, &merged) == 0 &&
		    (!json_is_object(merged) || !arena_json_dump(a, merged)))
			abort();
	}
	return 0;
}
