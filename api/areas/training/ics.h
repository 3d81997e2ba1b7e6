/*
 * ics.h - an iCalendar (RFC 5545) writer: content lines with TEXT values
 * escaped and every line folded at 75 octets (never inside a UTF-8
 * character), CRLF line ends.  The text lives in the arena.
 */
#ifndef SG_ICS_H
#define SG_ICS_H

#include <stddef.h>
#include "arena.h"

struct ics {
	struct arena *a;
	char *buf;
	size_t len, cap;
};

void ics_init(struct ics *c, struct arena *a);
/* A property whose value is already in its type's form (DTSTART, UID...). */
void ics_line(struct ics *c, const char *name, const char *value);
/* A TEXT property: backslash, semicolon, comma and newlines escaped, other
 * control characters dropped. */
void ics_text(struct ics *c, const char *name, const char *text);
/* The calendar so far; *len its length in bytes. */
const char *ics_text_of(const struct ics *c, size_t *len);
/* "2026-11-22T10:00:00Z" -> "20261122T100000Z" (an arena string); NULL
 * when the instant is not in that form. */
const char *ics_utc(struct arena *a, const char *instant);

#endif
