/*
 * ics.c - writes iCalendar text (see ics.h).  RFC 5545 section 3.1: a
 * content line is at most 75 octets, longer ones are folded with CRLF and
 * one space; section 3.3.11: TEXT escapes backslash, semicolon, comma and
 * newline.  A fold never splits a UTF-8 sequence, so every physical line
 * stays valid UTF-8 for the clients that read line by line.
 */
#include <string.h>
#include "ics.h"

static void ics_put(struct ics *c, const char *s, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		char *nb;

		while (c->len + n + 1 > cap)
			cap *= 2;
		nb = arena_alloc(c->a, cap);
		if (c->len)
			memcpy(nb, c->buf, c->len);
		c->buf = nb;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
	c->buf[c->len] = '\0';
}

void ics_init(struct ics *c, struct arena *a)
{
	memset(c, 0, sizeof *c);
	c->a = a;
}

/* Emits one logical line, folded at 75 octets. */
static void ics_emit(struct ics *c, const char *line, size_t n)
{
	size_t room = 75;

	while (n > room) {
		size_t cut = room;

		/* back up to the start of a UTF-8 character */
		while (cut > 0 && ((unsigned char)line[cut] & 0xC0) == 0x80)
			cut--;
		ics_put(c, line, cut);
		ics_put(c, "\r\n ", 3);
		line += cut;
		n -= cut;
		room = 74; /* the leading space counts */
	}
	ics_put(c, line, n);
	ics_put(c, "\r\n", 2);
}

void ics_line(struct ics *c, const char *name, const char *value)
{
	size_t nn = strlen(name), vn = strlen(value);
	char *line = arena_alloc(c->a, nn + vn + 2);

	memcpy(line, name, nn);
	line[nn] = ':';
	memcpy(line + nn + 1, value, vn);
	ics_emit(c, line, nn + 1 + vn);
}

void ics_text(struct ics *c, const char *name, const char *text)
{
	size_t nn = strlen(name), o;
	char *line = arena_alloc(c->a, nn + 2 * strlen(text) + 2);

	memcpy(line, name, nn);
	line[nn] = ':';
	o = nn + 1;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		switch (*p) {
		case '\\':
		case ';':
		case ',':
			line[o++] = '\\';
			line[o++] = (char)*p;
			break;
		case '\n':
			line[o++] = '\\';
			line[o++] = 'n';
			break;
		case '\t':
			line[o++] = ' ';
			break;
		default:
			/* CR and other controls are not TEXT */
			if (*p >= 0x20 && *p != 0x7f)
				line[o++] = (char)*p;
		}
	}
	ics_emit(c, line, o);
}

const char *ics_text_of(const struct ics *c, size_t *len)
{
	*len = c->len;
	return c->buf ? c->buf : "";
}

const char *ics_utc(struct arena *a, const char *s)
{
	/* YYYY-MM-DDTHH:MM:SSZ */
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	char *out;
	size_t o = 0;

	if (!s || strlen(s) != sizeof shape - 1)
		return NULL;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return NULL;
	out = arena_alloc(a, 17);
	for (size_t i = 0; s[i]; i++)
		if (s[i] != '-' && s[i] != ':')
			out[o++] = s[i];
	return out;
}
