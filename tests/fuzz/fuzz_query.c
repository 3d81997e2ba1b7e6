/* Query strings against an allow-list, and pagination cursors. */
#include <unistd.h>
#include "common.h"

static const char *const states[] = {"open", "closed", NULL};
static const struct query_param params[] = {
	{"limit", FT_INT, 1, 200, NULL}, {"cursor", FT_STRING, 1, 1024, NULL}, {"from", FT_INSTANT, 0, 0, NULL},
	{"day", FT_DATE, 0, 0, NULL},    {"id", FT_UUID, 0, 0, NULL},          {"status", FT_ENUM, 0, 0, states},
};
static const struct query_spec spec = {params, sizeof params / sizeof params[0]};

static bool keys_loaded;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = fuzz_arena();
	const char *s = fuzz_string(a, data, size), *parts[3];
	struct verrs errs = {0};
	struct query q;

	query_parse(&spec, s, &q, &errs, a);
	query_parse(NULL, s, &q, &errs, a);
	if (cursor_decode(a, s, parts, 2)) {
		const char *again = cursor_encode(a, parts, 2);
		const char *back[2];

		if (!cursor_decode(a, again, back, 2) || strcmp(back[0], parts[0]) || strcmp(back[1], parts[1]))
			abort(); /* a cursor we issue always decodes to what we put in */
	}
	cursor_decode(a, s, parts, 3);
	/* sealed: nothing made up opens, and what is sealed opens to itself */
	if (!keys_loaded) {
		char path[] = "/tmp/sg-fuzz-cursor-keyXXXXXX", err[256];
		int fd = mkstemp(path);

		if (fd < 0 || write(fd, "fuzz-key-0123456789abcdef0123456789\n", 36) != 36)
			abort();
		close(fd);
		keys_loaded = cursor_keys_load(path, err, sizeof err);
		unlink(path);
		if (!keys_loaded)
			abort();
	}
	if (cursor_open(a, s, parts, 2))
		abort(); /* forging a sealed cursor from nothing */
	if (cursor_decode(a, s, parts, 2)) {
		const char *sealed = cursor_seal(a, parts, 2), *back[2];

		if (strlen(sealed) <= 1024 &&
		    (!cursor_open(a, sealed, back, 2) || strcmp(back[0], parts[0]) || strcmp(back[1], parts[1])))
			abort(); /* a cursor we seal opens to what we put in */
	}
	return 0;
}
