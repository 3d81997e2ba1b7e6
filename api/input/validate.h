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
	FT_DATE,      /* YYYY-MM-DD, a real calendar date */
	FT_INSTANT,   /* RFC 3339 */
	FT_UUID,
	FT_ENUM,
	FT_STRING_ARRAY,
	FT_OBJECT,
	FT_ARRAY,     /* any array: the resource checks its items */
};

struct field_spec {
	const char *name;
	enum field_type type;
	bool required;
	bool nullable;
	long min, max;                   /* string length or integer bounds; 0,0 = none */
	const char *const *enum_values;  /* NULL-terminated, FT_ENUM */
	/* extra format check on strings; returns NULL or a message */
	const char *(*check)(const char *s);
	const char *check_code;
};

struct verrs;

struct body_spec {
	const struct field_spec *fields;
	size_t n;
	const char *const *read_only; /* NULL-terminated server-owned names: rejected as read_only */
	/* rules across fields, run on a whole body after the field checks */
	void (*check)(json_t *body, struct verrs *errs, struct arena *a);
};

struct verr {
	const char *field;
	const char *code;
	const char *message;
};

struct verrs {
	struct verr items[32];
	size_t n;
};

void verrs_add(struct verrs *e, const char *field, const char *code, const char *message);
/* Checks every field of obj against spec, adds every problem found. */
void validate_body(const struct body_spec *spec, json_t *obj, struct verrs *errs, struct arena *a);
/* The same for a PATCH: nothing is required, null clears (unless required);
 * the spec's check must therefore hold for a partial body. */
void validate_patch(const struct body_spec *spec, json_t *obj, struct verrs *errs, struct arena *a);
bool validate_uuid(const char *s);
bool validate_date(const char *s);
bool validate_instant(const char *s);
/* Well-formed UTF-8: no overlong forms, surrogates or code points past U+10FFFF. */
bool utf8_valid(const char *s, size_t n);
/* PostgreSQL's text form of a UTC timestamptz: "2026-01-02 03:04:05.123456+00" */
bool validate_pg_timestamp(const char *s);
/* Seconds since the epoch of a valid RFC 3339 instant. */
bool instant_to_epoch(const char *s, int64_t *out);

#endif
