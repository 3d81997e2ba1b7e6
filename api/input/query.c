/*
 * query.c - query strings.  Parameters are allow-listed per route: an
 * unknown or repeated parameter, a bad percent escape or a value of the
 * wrong shape is a 400 that names every offending parameter.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "query.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *query_unescape(struct arena *a, const char *s, size_t n)
{
	char *out = arena_alloc(a, n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return NULL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return NULL;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0')
			return NULL;
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

static bool parse_long(const char *s, long *out)
{
	char *end;

	if (!*s || !(isdigit((unsigned char)*s) || *s == '-') || strlen(s) > 18)
		return false;
	*out = strtol(s, &end, 10);
	return *end == '\0';
}

static void check_value(const struct query_param *p, const char *v, struct verrs *errs, struct arena *a)
{
	long n;

	switch (p->type) {
	case FT_INT:
		if (!parse_long(v, &n))
			verrs_add(errs, p->name, "invalid_type", "must be an integer");
		else if ((p->min || p->max) && (n < p->min || n > p->max))
			verrs_add(errs, p->name, "out_of_range",
				  arena_printf(a, "must be between %ld and %ld", p->min, p->max));
		return;
	case FT_INSTANT:
		if (!validate_instant(v))
			verrs_add(errs, p->name, "invalid_instant", "must be an RFC 3339 date-time");
		return;
	case FT_DATE:
		if (!validate_date(v))
			verrs_add(errs, p->name, "invalid_date", "must be a calendar date as YYYY-MM-DD");
		return;
	case FT_UUID:
		if (!validate_uuid(v))
			verrs_add(errs, p->name, "invalid_uuid", "must be a UUID");
		return;
	case FT_ENUM:
		for (const char *const *e = p->enum_values; e && *e; e++)
			if (strcmp(*e, v) == 0)
				return;
		verrs_add(errs, p->name, "invalid_value", "is not one of the allowed values");
		return;
	default: {
		/* in characters, as the contract's minLength and maxLength count
		 * (the value is valid UTF-8 by now) */
		size_t chars = utf8_chars(v, strlen(v));

		if (chars < (size_t)(p->min ? p->min : 1))
			verrs_add(errs, p->name, "required", "must not be empty");
		else if (p->max && chars > (size_t)p->max)
			verrs_add(errs, p->name, "too_long", arena_printf(a, "must be at most %ld characters", p->max));
		return;
	}
	}
}

void query_parse(const struct query_spec *spec, const char *qs, struct query *out, struct verrs *errs, struct arena *a)
{
	/* one slot per parameter of the spec, however many it has */
	out->n = spec ? spec->n : 0;
	out->values = out->n ? arena_alloc(a, out->n * sizeof *out->values) : NULL;
	if (!qs)
		return;
	while (*qs) {
		const char *amp = strchr(qs, '&');
		size_t len = amp ? (size_t)(amp - qs) : strlen(qs);
		const char *eq = memchr(qs, '=', len);
		size_t klen = eq ? (size_t)(eq - qs) : len;
		char *key = query_unescape(a, qs, klen);
		char *val = eq ? query_unescape(a, eq + 1, len - klen - 1) : arena_strdup(a, "");
		size_t i;

		if (len == 0)
			goto next;
		if (!key || !val || !utf8_valid(key, strlen(key)) || !utf8_valid(val, strlen(val))) {
			/* named as sent: the decoded bytes may not be text at all */
			verrs_add(errs,
				  !key                           ? ""
				  : utf8_valid(key, strlen(key)) ? key
								 : arena_strndup(a, qs, klen),
				  "invalid_encoding", "is not properly percent-encoded UTF-8");
			goto next;
		}
		for (i = 0; spec && i < spec->n; i++)
			if (strcmp(spec->params[i].name, key) == 0)
				break;
		if (!spec || i == spec->n) {
			verrs_add(errs, key, "unknown_parameter", "is not a parameter of this endpoint");
			goto next;
		}
		if (out->values[i]) {
			verrs_add(errs, key, "repeated_parameter", "may be given only once");
			goto next;
		}
		out->values[i] = val;
		check_value(&spec->params[i], val, errs, a);
	next:
		if (!amp)
			break;
		qs = amp + 1;
	}
}
