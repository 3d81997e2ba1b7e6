/*
 * csv.c - CSV bodies protected against formula injection (see csv.h).  The
 * buffer grows with realloc and belongs to the request's arena, which frees
 * it at reset, so a handler never frees it on any path.
 */
#include <stdlib.h>
#include <string.h>
#include "csv.h"
#include "http.h"

static void csv_release(void *p)
{
	free(*(char **)p);
}

void csv_init(struct csv *c, struct arena *a)
{
	c->len = 0;
	c->cap = 4096;
	/* the pointer lives in the arena, so the cleanup (run at reset, before
	 * the arena's memory goes) frees whatever it points to after reallocs */
	c->buf = arena_alloc(a, sizeof *c->buf);
	*c->buf = malloc(c->cap);
	if (!*c->buf)
		abort();
	arena_own(a, c->buf, csv_release);
}

/* Whether s starts with a character that begins a formula: = + - @, or
 * their full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20), which CJK
 * input methods and some imports read as the ASCII ones. */
static bool formula_start(const unsigned char *s)
{
	return *s == '=' || *s == '+' || *s == '-' || *s == '@' ||
	       (s[0] == 0xEF && s[1] == 0xBC && (s[2] == 0x9D || s[2] == 0x8B || s[2] == 0x8D)) ||
	       (s[0] == 0xEF && s[1] == 0xBC && s[2] == 0xA0);
}

bool csv_formula_like(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (!s)
		return false;
	/* a leading TAB, CR or LF: OWASP's list (a cell may begin a new one) */
	if (*p == '\t' || *p == '\r' || *p == '\n')
		return true;
	/* a formula behind leading blanks still runs where blanks are trimmed */
	while ((n = text_blank_len(p)))
		p += n;
	return formula_start(p);
}

static void csv_reserve(struct csv *c, size_t need)
{
	if (c->len + need <= c->cap)
		return;
	while (c->len + need > c->cap)
		c->cap *= 2;
	*c->buf = realloc(*c->buf, c->cap);
	if (!*c->buf)
		abort();
}

void csv_cell(struct csv *c, const char *s, bool last)
{
	size_t n = s ? strlen(s) : 0;

	/* worst case: every character a quote, plus quotes, apostrophe, CRLF */
	char *b;

	csv_reserve(c, 2 * n + 6);
	b = *c->buf;
	b[c->len++] = '"';
	if (csv_formula_like(s))
		b[c->len++] = '\'';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			b[c->len++] = '"';
		b[c->len++] = s[i];
	}
	b[c->len++] = '"';
	if (last) {
		b[c->len++] = '\r';
		b[c->len++] = '\n';
	} else {
		b[c->len++] = ',';
	}
}

int csv_answer(struct sg_req *r, struct csv *c, const char *filename)
{
	/* passed without a copy: the body is written before the arena's reset */
	int rc = http_body(r, 200, "text/csv; charset=utf-8", *c->buf, c->len);

	http_header(r, "Content-Disposition", arena_printf(r->arena, "attachment; filename=\"%s\"", filename));
	return rc;
}
