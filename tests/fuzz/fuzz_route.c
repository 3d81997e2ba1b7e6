/* Route matching: "METHOD PATH" against the real route tables. */
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = fuzz_arena();
	char *s = fuzz_string(a, data, size), *sp = strchr(s, ' ');
	const struct route *rt = NULL;
	const char *params[SG_MAX_PARAMS] = {0}, *allow = NULL;
	int idx = -1;
	enum router_result rr;

	if (!sp)
		return 0;
	*sp = '\0';
	rr = router_match(a, s, sp + 1, &rt, &idx, params, &allow);
	/* HEAD finds the GET route it stands for */
	if (rr == ROUTER_FOUND && (!rt || idx < 0 || strcmp(rt->method, strcmp(s, "HEAD") ? s : "GET") != 0))
		abort();
	if (rr == ROUTER_BAD_METHOD && (!allow || !*allow))
		abort();
	return 0;
}
