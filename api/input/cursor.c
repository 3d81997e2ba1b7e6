/*
 * cursor.c - opaque pagination cursors.  A cursor carries the keyset of the
 * last row a page returned, as a JSON array of strings in base64url, behind
 * a version tag.  It grants nothing: the query that uses it still applies
 * the caller's filters and row-level security, so a forged cursor can only
 * move a position.  Anything that does not decode exactly is rejected.
 */
#include <stdlib.h>
#include <string.h>
#include "cursor.h"
#include "b64.h"

#define CURSOR_TAG "c1."

char *cursor_encode(struct arena *a, const char *const *parts, size_t n)
{
	json_t *arr = json_array();
	char *raw, *out;
	size_t len, cap;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(parts[i]));
	raw = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (!raw)
		abort();
	len = strlen(raw);
	cap = strlen(CURSOR_TAG) + (len * 4) / 3 + 4;
	out = arena_alloc(a, cap);
	memcpy(out, CURSOR_TAG, strlen(CURSOR_TAG));
	b64url_encode((const unsigned char *)raw, len, out + strlen(CURSOR_TAG), cap - strlen(CURSOR_TAG));
	free(raw);
	return out;
}

bool cursor_decode(struct arena *a, const char *cursor, const char **parts, size_t n)
{
	size_t len = strlen(cursor), tag = strlen(CURSOR_TAG);
	unsigned char *buf;
	long blen;
	json_t *arr;
	bool ok = false;

	if (len <= tag || len > 1024 || strncmp(cursor, CURSOR_TAG, tag) != 0)
		return false;
	buf = arena_alloc(a, len);
	blen = b64url_decode(cursor + tag, len - tag, buf, len);
	if (blen <= 0)
		return false;
	arr = json_loadb((const char *)buf, (size_t)blen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(arr) || json_array_size(arr) != n)
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);

		if (!json_is_string(s))
			goto out;
		parts[i] = arena_strdup(a, json_string_value(s));
	}
	ok = true;
out:
	json_decref(arr);
	return ok;
}
