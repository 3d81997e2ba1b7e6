/*
 * csv.h - CSV answers (RFC 4180) that are safe to open in a spreadsheet.
 *
 * Every cell is quoted with its quotes doubled, and a cell that a
 * spreadsheet would run as a formula gets a leading apostrophe, so exported
 * case records never execute: one starting with = + - @ (or their
 * full-width forms), also behind leading spaces, line breaks or Unicode
 * blanks (which LibreOffice's "trim spaces", Google Sheets and converters
 * drop first), and one starting with a TAB, CR or LF.
 * Any area that exports CSV builds it here:
 *
 *	struct csv c;
 *	csv_init(&c, r->arena);
 *	csv_cell(&c, "id", false); csv_cell(&c, "name", true);   (true ends the row)
 *	return csv_answer(r, &c, "panel-actions.csv");
 */
#ifndef SG_CSV_H
#define SG_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include "arena.h"

struct sg_req;

struct csv {
	char **buf; /* in the arena, which frees *buf at reset: never free it */
	size_t len, cap;
};

void csv_init(struct csv *c, struct arena *a);
/* Appends one cell (NULL is an empty cell); last ends the row with CRLF. */
void csv_cell(struct csv *c, const char *s, bool last);
/* Whether a spreadsheet would read s as a formula (so csv_cell guards it). */
bool csv_formula_like(const char *s);
/* 200 text/csv with Content-Disposition naming filename (a plain name the
 * caller chose, never request text). */
int csv_answer(struct sg_req *r, struct csv *c, const char *filename);

#endif
