/*
 * validate.h - field specs: the allow-list a body is checked against, every
 * problem reported at once.
 */
#ifndef SG_VALIDATE_H
#define SG_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "arena.h"

enum field_type {
	FT_STRING,
	FT_INT,
	FT_BOOL,
	FT_DATE,    /* YYYY-MM-DD, a real calendar date */
	FT_INSTANT, /* RFC 3339 */
	FT_UUID,
	FT_ENUM,
	FT_STRING_ARRAY,
	FT_OBJECT,
	FT_ARRAY, /* any array: the resource checks its items */
};

/* The longest string a field spec may allow, in characters (a meeting's
 * minutes); tests/unit/validate_test.c holds every route's specs to it.  The
 * body parser refuses only strings of more than twice this many characters
 * (worker.c), so any string a field may hold, and any a field must refuse by
 * name as too_long, reaches the field specs whatever its script. */
#define VALIDATE_MAX_CHARS 20000

struct field_spec {
	const char *name;
	enum field_type type;
	bool required;
	bool nullable;
	long min, max;                  /* string length or integer bounds; 0,0 = none */
	const char *const *enum_values; /* NULL-terminated, FT_ENUM */
	/* extra format check on strings; returns NULL or a message */
	const char *(*check)(const char *s);
	const char *check_code;
};

struct verrs;

struct body_spec {
	const struct field_spec *fields;
	size_t n;
	const char *const *read_only; /* NULL-terminated server-owned names: rejected as read_only */
	/* Rules across fields, run after the field checks on what is well-formed:
	 * a field that failed its own check is no longer in the body, so a rule
	 * must skip (not report) a missing input, and what it reports about a
	 * field already reported is dropped. */
	void (*check)(json_t *body, struct verrs *errs, struct arena *a);
	/* PATCH routes only: the handler merges the body into the stored record
	 * with kit_patch_merge, so the body's field errors wait for it and are
	 * answered together with the merged record's (one answer, every bad
	 * field), not before the record is read. */
	bool patch_merged;
	/* PATCH only: the spec the merged record is checked against when its
	 * rules read a field the patch may not change (a panel's type): the
	 * merged record keeps such a field from the stored one, so the rules
	 * run with the field checks, in the same answer.  NULL: this spec. */
	const struct body_spec *whole;
};

struct verr {
	const char *field;
	const char *code;
	const char *message;
};

struct verrs {
	struct verr items[32];
	size_t n;
	/* the spec's fields that failed their own checks (borrowed names) */
	const char *invalid[32];
	size_t ninvalid;
};

void verrs_add(struct verrs *e, const char *field, const char *code, const char *message);
/* Whether e already has an error about field. */
bool verrs_has(const struct verrs *e, const char *field);
/* Whether field was sent but failed its own check (and so left the body):
 * for a rule across fields that should not read that as "not sent". */
bool verrs_invalid(const struct verrs *e, const char *field);
/* Checks every field of obj against spec, then the spec's rules across
 * fields on the well-formed rest, and adds every problem found.  Fields that
 * failed their own checks, unknown and read-only ones are removed from obj
 * (and named in errs->invalid) before the rules run: a body with errors is
 * never written, and a PATCH's merge must not take them. */
void validate_body(const struct body_spec *spec, json_t *obj, struct verrs *errs, struct arena *a);
/* The same for a PATCH: nothing is required, null clears (unless required);
 * the spec's check must therefore hold for a partial body. */
void validate_patch(const struct body_spec *spec, json_t *obj, struct verrs *errs, struct arena *a);
bool validate_uuid(const char *s);
bool validate_date(const char *s);
bool validate_instant(const char *s);
/* Well-formed UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
bool utf8_valid(const char *s, size_t n);
/* Characters (code points) in n bytes of well-formed UTF-8: what a field
 * spec's and the OpenAPI document's lengths count, never bytes. */
size_t utf8_chars(const char *s, size_t n);
/* The length of the blank character at s (0 if none): ASCII space and the
 * controls \t-\r, and the Unicode spaces that look like nothing (U+0085,
 * no-break, U+1680, the U+2000 block, the line and paragraph separators,
 * U+205F, the word joiner, ideographic space, the BOM). */
size_t text_blank_len(const unsigned char *s);
/* Whether well-formed UTF-8 s has a character to show: one that is neither
 * blank (text_blank_len), a control (C0, DEL, C1), a format character, a
 * blank filler nor a combining mark (which shows only on a base). */
bool text_has_visible(const char *s);
/* Whether v is a text that must be given, as a field spec with min 1 and
 * this max checks it: a JSON string of 1 to max characters (code points),
 * not blanks alone.  For the members of nested objects, which the rules
 * across fields check themselves. */
bool validate_text(json_t *v, size_t max);
/* PostgreSQL's text form of a UTC timestamptz: "2026-01-02 03:04:05.123456+00" */
bool validate_pg_timestamp(const char *s);
/* Seconds since the epoch of a valid RFC 3339 instant. */
bool instant_to_epoch(const char *s, int64_t *out);

#endif
