/*
 * jsonx.c - strict JSON for request bodies.  jansson rejects invalid UTF-8
 * and, with JSON_REJECT_DUPLICATES, duplicate keys; the nesting depth is
 * checked here first (jansson's own limit is 2048, far above what any body
 * needs) and string lengths after parsing, in characters as the field specs
 * and the OpenAPI document count them: a cap in bytes refused accented
 * minutes at half their documented length, and Chinese ones at a third.
 */
#include <string.h>
#include "jsonx.h"
#include "validate.h"

/* Deepest nesting of [ and { outside strings. */
static size_t jsonx_depth(const char *buf, size_t n, size_t stop_at)
{
	size_t depth = 0, max = 0;
	bool in_string = false;

	for (size_t i = 0; i < n; i++) {
		char c = buf[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				max = depth;
			if (max > stop_at)
				return max;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return max;
}

static bool jsonx_strings_ok(json_t *j, size_t max)
{
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_STRING:
		/* at most 4 bytes a character: the count is needed only past max bytes */
		return json_string_length(j) <= max || utf8_chars(json_string_value(j), json_string_length(j)) <= max;
	case JSON_OBJECT:
		json_object_foreach(j, key, v) {
			if (strlen(key) > 200 || !jsonx_strings_ok(v, max))
				return false;
		}
		return true;
	case JSON_ARRAY:
		json_array_foreach(j, i, v) {
			if (!jsonx_strings_ok(v, max))
				return false;
		}
		return true;
	default:
		return true;
	}
}

json_t *jsonx_parse(const char *buf, size_t n, const struct json_limits *lim, const char **why)
{
	json_error_t err;
	json_t *j;

	if (jsonx_depth(buf, n, lim->max_depth) > lim->max_depth) {
		*why = "the body nests deeper than allowed";
		return NULL;
	}
	j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &err);
	if (!j) {
		switch (json_error_code(&err)) {
		case json_error_duplicate_key:
			*why = "the body repeats an object key";
			break;
		case json_error_invalid_utf8:
			*why = "the body is not valid UTF-8";
			break;
		case json_error_null_character:
		case json_error_null_byte_in_key:
			*why = "the body contains a NUL character";
			break;
		default:
			*why = "the body is not well-formed JSON";
			break;
		}
		return NULL;
	}
	if (!jsonx_strings_ok(j, lim->max_chars)) {
		json_decref(j);
		*why = "the body has a string longer than allowed";
		return NULL;
	}
	return j;
}
