/*
 * validate.c - body validation by field specs.  A spec is an allow-list:
 * unknown fields are rejected, and every problem in a body is collected so
 * the client sees all of them in one answer.
 */
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "validate.h"

void verrs_add(struct verrs *e, const char *field, const char *code, const char *message)
{
	if (e->n >= sizeof e->items / sizeof e->items[0])
		return;
	e->items[e->n].field = field;
	e->items[e->n].code = code;
	e->items[e->n].message = message;
	e->n++;
}

bool verrs_has(const struct verrs *e, const char *field)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->items[i].field, field) == 0)
			return true;
	return false;
}

bool verrs_invalid(const struct verrs *e, const char *field)
{
	for (size_t i = 0; i < e->ninvalid; i++)
		if (strcmp(e->invalid[i], field) == 0)
			return true;
	return false;
}

bool validate_uuid(const char *s)
{
	static const int dash[] = {8, 13, 18, 23};
	size_t d = 0;

	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				return false;
			d++;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool date_parts(const char *s, int *y, int *m, int *d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
		return false;
	*y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	*m = (s[5] - '0') * 10 + (s[6] - '0');
	*d = (s[8] - '0') * 10 + (s[9] - '0');
	if (*y < 1900 || *m < 1 || *m > 12 || *d < 1)
		return false;
	return *d <= mdays[*m - 1] + (*m == 2 && leap(*y));
}

bool validate_date(const char *s)
{
	int y, m, d;

	return strlen(s) == 10 && date_parts(s, &y, &m, &d);
}

/* RFC 3339: date "T" time, optional fraction, "Z" or an offset. */
bool validate_instant(const char *s)
{
	int y, m, d;
	size_t n = strlen(s), i = 19;

	if (n < 20 || !date_parts(s, &y, &m, &d) || (s[10] != 'T' && s[10] != 't'))
		return false;
	if (!digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return false;
	if ((s[11] - '0') * 10 + (s[12] - '0') > 23 || (s[14] - '0') * 10 + (s[15] - '0') > 59 ||
	    (s[17] - '0') * 10 + (s[18] - '0') > 60)
		return false;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == start || i - start > 9)
			return false;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n)
		return true;
	if ((s[i] == '+' || s[i] == '-') && n - i == 6 && digits(s + i + 1, 2) && s[i + 3] == ':' &&
	    digits(s + i + 4, 2))
		/* PostgreSQL takes offsets up to 15:59; RFC 3339 allows no more in practice */
		return (s[i + 1] - '0') * 10 + (s[i + 2] - '0') <= 15 && (s[i + 4] - '0') * 10 + (s[i + 5] - '0') <= 59;
	return false;
}

bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t len;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		/* no overlong forms, no surrogates, nothing past U+10FFFF */
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

bool instant_to_epoch(const char *s, int64_t *out)
{
	struct tm tm = {0};
	size_t n = strlen(s), i = 19;
	int64_t t;

	if (!validate_instant(s))
		return false;
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_hour = atoi(s + 11);
	tm.tm_min = atoi(s + 14);
	tm.tm_sec = atoi(s + 17);
	t = (int64_t)timegm(&tm);
	if (s[i] == '.')
		while (++i < n && isdigit((unsigned char)s[i]))
			;
	if (s[i] == '+' || s[i] == '-') {
		int64_t off = (int64_t)atoi(s + i + 1) * 3600 + (int64_t)atoi(s + i + 4) * 60;

		t += s[i] == '+' ? -off : off;
	}
	*out = t;
	return true;
}

bool validate_pg_timestamp(const char *s)
{
	int y, m, d;
	size_t n = strlen(s), i = 19;

	if (n < 22 || !date_parts(s, &y, &m, &d) || s[10] != ' ' || !digits(s + 11, 2) || s[13] != ':' ||
	    !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
		return false;
	/* a cursor is client text: every field in range before the database sees it */
	if ((s[11] - '0') * 10 + (s[12] - '0') > 23 || (s[14] - '0') * 10 + (s[15] - '0') > 59 ||
	    (s[17] - '0') * 10 + (s[18] - '0') > 59)
		return false;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < n && isdigit((unsigned char)s[i]))
			i++;
		if (i == start || i - start > 6)
			return false;
	}
	return strcmp(s + i, "+00") == 0;
}

static bool in_enum(const char *const *vals, const char *s)
{
	for (; vals && *vals; vals++)
		if (strcmp(*vals, s) == 0)
			return true;
	return false;
}

static const struct field_spec *spec_find(const struct body_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->n; i++)
		if (strcmp(spec->fields[i].name, name) == 0)
			return &spec->fields[i];
	return NULL;
}

size_t text_blank_len(const unsigned char *s)
{
	if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		return 1;
	if (s[0] == 0xC2 && (s[1] == 0xA0 || s[1] == 0x85)) /* U+00A0, U+0085 */
		return 2;
	if (s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80) /* U+1680 */
		return 3;
	if (s[0] == 0xE2 && s[1] == 0x80 &&
	    ((s[2] >= 0x80 && s[2] <= 0x8B) || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF))
		return 3;                                                   /* U+2000..U+200B, U+2028, U+2029, U+202F */
	if (s[0] == 0xE2 && s[1] == 0x81 && (s[2] == 0x9F || s[2] == 0xA0)) /* U+205F, U+2060 */
		return 3;
	if ((s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) || (s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF))
		return 3; /* U+3000, U+FEFF */
	return 0;
}

/* Code points that show nothing on their own: format characters (soft
 * hyphen, the joiners and direction marks, the invisible operators, tags),
 * the blank fillers (Braille blank, the Hangul fillers) and the combining
 * marks and variation selectors, which decorate a base and are no name
 * without one.  Sorted ranges. */
static const uint32_t invisible[][2] = {
	{0x00AD, 0x00AD},   {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD},   {0x05BF, 0x05BF},
	{0x05C1, 0x05C2},   {0x05C4, 0x05C5}, {0x05C7, 0x05C7}, {0x0610, 0x061A},   {0x061C, 0x061C},
	{0x064B, 0x065F},   {0x0670, 0x0670}, {0x115F, 0x1160}, {0x17B4, 0x17B5},   {0x180B, 0x180F},
	{0x1AB0, 0x1AFF},   {0x1DC0, 0x1DFF}, {0x200B, 0x200F}, {0x202A, 0x202E},   {0x2060, 0x206F},
	{0x20D0, 0x20FF},   {0x2800, 0x2800}, {0x3164, 0x3164}, {0xFE00, 0xFE0F},   {0xFE20, 0xFE2F},
	{0xFEFF, 0xFEFF},   {0xFFA0, 0xFFA0}, {0xFFF9, 0xFFFB}, {0x1D173, 0x1D17A}, {0xE0000, 0xE007F},
	{0xE0100, 0xE01EF},
};

static bool is_invisible(uint32_t c)
{
	size_t lo = 0, hi = sizeof invisible / sizeof invisible[0];

	if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) /* C0, DEL, C1 */
		return true;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c < invisible[mid][0])
			hi = mid;
		else if (c > invisible[mid][1])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool text_has_visible(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = text_blank_len(p);
		uint32_t c;

		if (n) {
			p += n;
			continue;
		}
		/* well-formed UTF-8 (the body's parser checked it): one code point */
		if (*p < 0x80)
			c = *p, n = 1;
		else if (*p < 0xE0)
			c = (uint32_t)(*p & 0x1F) << 6 | (p[1] & 0x3F), n = 2;
		else if (*p < 0xF0)
			c = (uint32_t)(*p & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F), n = 3;
		else
			c = (uint32_t)(*p & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 |
			    (p[3] & 0x3F),
			n = 4;
		if (!is_invisible(c))
			return true;
		for (size_t i = 0; i < n && *p; i++) /* never past the end of a cut string */
			p++;
	}
	return false;
}

bool validate_text(json_t *v, size_t max)
{
	size_t n;

	if (!json_is_string(v))
		return false;
	n = utf8_chars(json_string_value(v), json_string_length(v));
	return n >= 1 && n <= max && text_has_visible(json_string_value(v));
}

/* Length in characters, not bytes: the body is already known to be UTF-8,
 * so every byte that does not continue a character starts one. */
size_t utf8_chars(const char *s, size_t n)
{
	size_t chars = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			chars++;
	return chars;
}

/* Each check below returns whether the value may stay in the body for the
 * rules across fields: false after adding its error (the list of errors may
 * be full, so it is not counted).  An array whose items alone are wrong
 * stays: rules about the whole list (duplicates, a member it must name)
 * still have their say, and its items' errors are already reported. */
static bool bad(struct verrs *errs, const char *field, const char *code, const char *message)
{
	verrs_add(errs, field, code, message);
	return false;
}

static bool check_string(const struct field_spec *f, const char *s, struct verrs *errs, struct arena *a)
{
	size_t len = utf8_chars(s, strlen(s));
	const char *msg;

	switch (f->type) {
	case FT_DATE:
		return validate_date(s) || bad(errs, f->name, "invalid_date", "must be a calendar date as YYYY-MM-DD");
	case FT_INSTANT:
		return validate_instant(s) || bad(errs, f->name, "invalid_instant", "must be an RFC 3339 date-time");
	case FT_UUID:
		return validate_uuid(s) || bad(errs, f->name, "invalid_uuid", "must be a UUID");
	case FT_ENUM:
		return in_enum(f->enum_values, s) ||
		       bad(errs, f->name, "invalid_value", "is not one of the allowed values");
	default:
		break;
	}
	if (f->max && len > (size_t)f->max)
		return bad(errs, f->name, "too_long", arena_printf(a, "must be at most %ld characters", f->max));
	if (f->min && len < (size_t)f->min)
		return bad(errs, f->name, f->min == 1 ? "required" : "too_short",
			   arena_printf(a, "must be at least %ld characters", f->min));
	/* a text that must be given must say something: blanks alone (a name
	 * of spaces) are no value */
	if (f->min && !text_has_visible(s))
		return bad(errs, f->name, "required", "must not be blank");
	if (f->check && (msg = f->check(s)))
		return bad(errs, f->name, f->check_code ? f->check_code : "invalid_format", msg);
	return true;
}

static bool check_field(const struct field_spec *f, json_t *v, struct verrs *errs, struct arena *a)
{
	size_t i;
	json_t *it;

	if (json_is_null(v))
		return f->nullable || bad(errs, f->name, f->required ? "required" : "invalid_type", "must not be null");
	switch (f->type) {
	case FT_STRING:
	case FT_DATE:
	case FT_INSTANT:
	case FT_UUID:
	case FT_ENUM:
		if (!json_is_string(v))
			return bad(errs, f->name, "invalid_type", "must be a string");
		return check_string(f, json_string_value(v), errs, a);
	case FT_INT:
		if (!json_is_integer(v))
			return bad(errs, f->name, "invalid_type", "must be an integer");
		if ((f->min || f->max) && (json_integer_value(v) < f->min || json_integer_value(v) > f->max))
			return bad(errs, f->name, "out_of_range",
				   arena_printf(a, "must be between %ld and %ld", f->min, f->max));
		return true;
	case FT_BOOL:
		return json_is_boolean(v) || bad(errs, f->name, "invalid_type", "must be true or false");
	case FT_OBJECT:
		return json_is_object(v) || bad(errs, f->name, "invalid_type", "must be an object");
	case FT_ARRAY:
		return json_is_array(v) || bad(errs, f->name, "invalid_type", "must be an array");
	case FT_STRING_ARRAY:
		if (!json_is_array(v))
			return bad(errs, f->name, "invalid_type", "must be an array of strings");
		if (f->max && json_array_size(v) > (size_t)f->max)
			return bad(errs, f->name, "too_many", arena_printf(a, "must have at most %ld items", f->max));
		if (f->min && json_array_size(v) < (size_t)f->min)
			return bad(errs, f->name, "too_few", arena_printf(a, "must have at least %ld items", f->min));
		json_array_foreach(v, i, it) {
			if (!json_is_string(it))
				verrs_add(errs, arena_printf(a, "%s[%zu]", f->name, i), "invalid_type",
					  "must be a string");
			else if (f->enum_values && !in_enum(f->enum_values, json_string_value(it)))
				verrs_add(errs, arena_printf(a, "%s[%zu]", f->name, i), "invalid_value",
					  "is not one of the allowed values");
		}
		return true;
	}
	return true;
}

/* The field checks.  What fails them leaves obj, so that the rules across
 * fields see only well-formed values. */
static void validate_fields(const struct body_spec *spec, json_t *obj, struct verrs *errs, struct arena *a,
			    bool partial)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v) {
		if (spec->read_only && in_enum(spec->read_only, key))
			verrs_add(errs, arena_strdup(a, key), "read_only", "is set by the server and may not be sent");
		else if (!spec_find(spec, key))
			verrs_add(errs, arena_strdup(a, key), "unknown_field", "is not a field of this resource");
		else
			continue;
		json_object_del(obj, key);
	}
	for (size_t i = 0; i < spec->n; i++) {
		const struct field_spec *f = &spec->fields[i];

		v = json_object_get(obj, f->name);
		if (!v) {
			if (f->required && !partial)
				verrs_add(errs, f->name, "required", "is required");
			continue;
		}
		if (check_field(f, v, errs, a))
			continue;
		json_object_del(obj, f->name);
		if (errs->ninvalid < sizeof errs->invalid / sizeof errs->invalid[0])
			errs->invalid[errs->ninvalid++] = f->name;
	}
}

static void validate(const struct body_spec *spec, json_t *obj, struct verrs *errs, struct arena *a, bool partial)
{
	struct verrs rules = {0}, reported;

	if (!json_is_object(obj)) {
		verrs_add(errs, "", "invalid_type", "the body must be a JSON object");
		return;
	}
	validate_fields(spec, obj, errs, a, partial);
	if (!spec->check)
		return;
	/* Every rule runs, whatever the field checks found, so one answer names
	 * every bad field; a rule's word on a field already reported (e.g.
	 * "required" for one that was removed as malformed) adds nothing. */
	memcpy(rules.invalid, errs->invalid, sizeof rules.invalid);
	rules.ninvalid = errs->ninvalid;
	spec->check(obj, &rules, a);
	reported = *errs;
	for (size_t i = 0; i < rules.n; i++)
		if (!verrs_has(&reported, rules.items[i].field))
			verrs_add(errs, rules.items[i].field, rules.items[i].code, rules.items[i].message);
}

void validate_body(const struct body_spec *spec, json_t *obj, struct verrs *errs, struct arena *a)
{
	validate(spec, obj, errs, a, false);
}

void validate_patch(const struct body_spec *spec, json_t *obj, struct verrs *errs, struct arena *a)
{
	validate(spec, obj, errs, a, true);
}
