/*
 * certificates.c - the certificate of an attended booking, as JSON or as a
 * one-page PDF, and its verification by number for training admins.  A
 * certificate is issued when the register marks a booking attended (the
 * partnership certifies only whole sessions attended) and revoked if the
 * register is corrected; any other booking answers 409 saying why.
 *
 * The PDF is drawn with cairo's PDF surface (Debian's libcairo2): the text
 * is real text in an embedded font subset, so the certificate can be
 * searched, copied and read back by tools such as pdftotext.  Pango lays the
 * text out (bidi and shaping: a Hebrew or Arabic name reads right to left,
 * Arabic letters joined), in DejaVu Sans, named so that the look does not
 * depend on the machine's default font.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cairo/cairo.h>
#include <cairo/cairo-pdf.h>
#include <pango/pangocairo.h>
#include <fontconfig/fontconfig.h>
#include "pool.h"
#include "training.h"

/* ---- statements (prepared on first use on each connection) ---------------- */

DB_SQL(sql_booking_status, 1, "select b.status from safeguard.training_bookings b where b.id = $1::uuid");

DB_SQL(sql_certificate_of_booking, 1,
       "select safeguard.training_certificate_json(ce)::text from safeguard.training_certificates ce"
       " where ce.booking_id = $1::uuid and ce.revoked_at is null");

DB_SQL(sql_certificate_by_number, 1,
       "select safeguard.training_certificate_json(ce)::text from safeguard.training_certificates ce"
       " where ce.number = $1");

/* ---- the PDF ----------------------------------------------------------------- */

#define PAGE_W 841.89 /* A4 landscape, in points */
#define PAGE_H 595.28
#define FONT "DejaVu Sans" /* Latin, Greek, Cyrillic, Arabic, Hebrew (fonts-dejavu-core) */

struct pdf_out {
	char *data;
	size_t len, cap;
	bool failed;
};

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int n)
{
	struct pdf_out *o = closure;

	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 65536;
		char *nd;

		while (cap < o->len + n)
			cap *= 2;
		nd = realloc(o->data, cap);
		if (!nd) {
			o->failed = true;
			return CAIRO_STATUS_WRITE_ERROR;
		}
		o->data = nd;
		o->cap = cap;
	}
	memcpy(o->data + o->len, data, n);
	o->len += n;
	return CAIRO_STATUS_SUCCESS;
}

/* The text with every control character (C0, DEL, C1) and the line and
 * paragraph separators a space: a name is one line of words on a
 * certificate, and a control has no glyph to draw. */
static char *pdf_clean(struct arena *a, const char *text)
{
	char *s = arena_strdup(a, text ? text : "");

	for (unsigned char *p = (unsigned char *)s; *p; p++) {
		if (*p < ' ' || *p == 0x7f)
			*p = ' ';
		else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
			p[0] = p[1] = ' ', p++;
		else if (*p == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) /* U+2028, U+2029 */
			p[0] = p[1] = p[2] = ' ', p += 2;
	}
	return s;
}

/* Pango, cairo and fontconfig keep their fonts for the life of the worker;
 * it frees them on its way out.  fontconfig refers to what it caches in a
 * form memcheck cannot follow, so without this every worker that drew a
 * certificate would report them "definitely lost". */
static void pdf_fonts_release(void)
{
	pango_cairo_font_map_set_default(NULL);
	cairo_debug_reset_static_data();
	FcFini();
}

/* How text is drawn: a PangoLayout per text, so that right-to-left scripts
 * come out in visual order (FriBidi) and Arabic letters joined and shaped
 * (HarfBuzz), with line breaking that follows Unicode's rules.  The font is
 * named, not the machine's default, and sized in the page's units (points). */
static PangoLayout *pdf_layout(cairo_t *cr, const char *text, double size, bool bold)
{
	static bool release_at_exit;
	PangoLayout *layout;
	PangoContext *context;
	PangoFontDescription *font = pango_font_description_from_string(FONT);
	cairo_font_options_t *options = cairo_font_options_create();
	PangoAttrList *attrs;

	if (!release_at_exit)
		worker_at_exit(pdf_fonts_release), release_at_exit = true;
	layout = pango_cairo_create_layout(cr);
	context = pango_layout_get_context(layout);

	/* a PDF is drawn at any scale: glyphs at their true widths, not
	 * widened to whole units as on a screen */
	cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
	pango_cairo_context_set_font_options(context, options);
	cairo_font_options_destroy(options);
	pango_context_set_round_glyph_positions(context, FALSE);
	pango_layout_context_changed(layout);
	pango_font_description_set_weight(font, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
	pango_font_description_set_absolute_size(font, size * PANGO_SCALE);
	pango_layout_set_font_description(layout, font);
	pango_font_description_free(font);
	/* one paragraph: a separator in a name is not a line break */
	pango_layout_set_single_paragraph_mode(layout, TRUE);
	/* a word cut to fit is cut as it is: no hyphen added to a name */
	attrs = pango_attr_list_new();
	pango_attr_list_insert(attrs, pango_attr_insert_hyphens_new(FALSE));
	pango_layout_set_attributes(layout, attrs);
	pango_attr_list_unref(attrs);
	pango_layout_set_text(layout, text, -1);
	return layout;
}

/* Draws the layout with its first baseline at y and its left edge at x.  A
 * character no installed font has (CJK, emoji on a machine with DejaVu
 * alone) is drawn as the font's missing-glyph box, not as Pango's box of
 * hex digits: the PDF's text then still carries the character itself (cairo
 * maps every glyph to the text it came from), where hex digits would put
 * "738B" in a name.  (The box is narrower than the hex box Pango measured:
 * a centred line of them sits a little off centre.) */
static void pdf_show(cairo_t *cr, PangoLayout *layout, double x, double y)
{
	PangoLayoutIter *it = pango_layout_get_iter(layout);

	do {
		PangoLayoutRun *run = pango_layout_iter_get_run(it);

		for (int i = 0; run && i < run->glyphs->num_glyphs; i++) {
			PangoGlyphInfo *g = &run->glyphs->glyphs[i];
			PangoRectangle box;

			if (!(g->glyph & PANGO_GLYPH_UNKNOWN_FLAG))
				continue;
			g->glyph = 0;
			pango_font_get_glyph_extents(run->item->analysis.font, 0, NULL, &box);
			g->geometry.width = box.width;
		}
	} while (pango_layout_iter_next_run(it));
	pango_layout_iter_free(it);
	cairo_move_to(cr, x, y - (double)pango_layout_get_baseline(layout) / PANGO_SCALE);
	pango_cairo_show_layout(cr, layout);
}

/* The width of one line of text, in points. */
static double pdf_width(PangoLayout *layout)
{
	int w;

	pango_layout_get_size(layout, &w, NULL);
	return (double)w / PANGO_SCALE;
}

/* Draws text centred with its first baseline at y, wrapped to fit width
 * (at spaces, and inside a word that is wider than a line on its own) in
 * max_lines lines at size or, when it needs more, at a smaller size down
 * to half of it (the whole text always: a certificate never cuts a name
 * short, and at the smallest size it takes the lines it needs).  Lines are
 * size * 1.35 apart.  Returns the y below the last line. */
static double pdf_centred(cairo_t *cr, struct arena *a, const char *text, double size, bool bold, double y,
			  double width, int max_lines)
{
	const char *clean = pdf_clean(a, text);
	double min = size / 2 > 9 ? size / 2 : 9;
	PangoLayout *layout = NULL;
	PangoFontMetrics *metrics;
	int n, height;

	for (;;) {
		layout = pdf_layout(cr, clean, size, bold);
		pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
		pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
		pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER);
		n = pango_layout_get_line_count(layout);
		if (n <= max_lines || size <= min)
			break;
		g_object_unref(layout);
		size = size * 0.9 > min ? size * 0.9 : min;
	}
	/* baselines size * 1.35 apart: the factor is of the font's own height */
	metrics = pango_context_get_metrics(pango_layout_get_context(layout), pango_layout_get_font_description(layout),
					    NULL);
	height = pango_font_metrics_get_ascent(metrics) + pango_font_metrics_get_descent(metrics);
	pango_font_metrics_unref(metrics);
	if (height > 0)
		pango_layout_set_line_spacing(layout, (float)(size * 1.35 * PANGO_SCALE / height));
	pdf_show(cr, layout, (PAGE_W - width) / 2, y);
	g_object_unref(layout);
	return y + n * size * 1.35;
}

/* Draws one line of text at size with its baseline at y: starting at x, or
 * ending at x when end is true. */
static void pdf_line(cairo_t *cr, const char *text, double size, double x, double y, bool end)
{
	PangoLayout *layout = pdf_layout(cr, text, size, false);

	pdf_show(cr, layout, end ? x - pdf_width(layout) : x, y);
	g_object_unref(layout);
}

static const char *format_words(const char *f)
{
	return !strcmp(f, "e_learning")              ? "e-learning course"
	       : !strcmp(f, "seven_minute_briefing") ? "seven-minute briefing"
	       : !strcmp(f, "learning_event")        ? "learning event"
						     : "webinar";
}

/* "2026-11-22" -> "22 November 2026" */
static const char *long_date(struct arena *a, const char *d)
{
	static const char *const months[] = {"January", "February", "March",     "April",   "May",      "June",
					     "July",    "August",   "September", "October", "November", "December"};
	int m = d && strlen(d) >= 10 ? atoi(d + 5) : 0;

	if (m < 1 || m > 12)
		return d ? d : "";
	return arena_printf(a, "%d %s %.4s", atoi(d + 8), months[m - 1], d);
}

static const char *duration_words(struct arena *a, long minutes)
{
	long h = minutes / 60, m = minutes % 60;

	if (h && m)
		return arena_printf(a, "%ld hour%s %ld minute%s", h, h == 1 ? "" : "s", m, m == 1 ? "" : "s");
	if (h)
		return arena_printf(a, "%ld hour%s", h, h == 1 ? "" : "s");
	return arena_printf(a, "%ld minute%s", m, m == 1 ? "" : "s");
}

/* Renders the certificate c (its JSON) as a PDF into *out (malloc'd, owned
 * by the arena afterwards); false when cairo failed. */
static bool certificate_pdf(struct arena *a, json_t *c, char **out, size_t *len)
{
	struct pdf_out o = {0};
	const char *number = kit_str(c, "number"), *date = long_date(a, kit_str(c, "session_date"));
	cairo_surface_t *surface = cairo_pdf_surface_create_for_stream(pdf_write, &o, PAGE_W, PAGE_H);
	cairo_t *cr = cairo_create(surface);
	cairo_status_t st;
	double y;

	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, arena_printf(a, "Certificate %s", number));
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, "Safeguarding children partnership");
	cairo_set_source_rgb(cr, 0.10, 0.27, 0.43);
	cairo_set_line_width(cr, 5);
	cairo_rectangle(cr, 28, 28, PAGE_W - 56, PAGE_H - 56);
	cairo_stroke(cr);
	cairo_set_line_width(cr, 1);
	cairo_rectangle(cr, 38, 38, PAGE_W - 76, PAGE_H - 76);
	cairo_stroke(cr);

	y = pdf_centred(cr, a, "Certificate of attendance", 32, true, 120, 700, 1);
	cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
	y = pdf_centred(cr, a, "This is to certify that", 14, false, y + 22, 700, 1);
	y = pdf_centred(cr, a, kit_str(c, "delegate_name"), 28, true, y + 26, 720, 2);
	y = pdf_centred(cr, a, arena_printf(a, "attended the whole of the %s", format_words(kit_str(c, "format"))), 14,
			false, y + 10, 700, 1);
	y = pdf_centred(cr, a, kit_str(c, "course_title"), 20, true, y + 22, 720, 3);
	y = pdf_centred(cr, a, arena_printf(a, "organised by %s", kit_str(c, "organiser")), 13, false, y + 12, 700, 2);
	pdf_centred(cr, a,
		    arena_printf(a, "on %s, lasting %s", date,
				 duration_words(a, (long)json_integer_value(json_object_get(c, "duration_minutes")))),
		    13, false, y + 2, 700, 1);

	pdf_line(cr, arena_printf(a, "Certificate number %s", number), 11, 64, PAGE_H - 70, false);
	pdf_line(cr, arena_printf(a, "Issued %s", long_date(a, kit_str(c, "issued_at"))), 11, PAGE_W - 64, PAGE_H - 70,
		 true);
	pdf_centred(cr, a, "The safeguarding children partnership. A training admin verifies this number on request.",
		    9, false, PAGE_H - 50, 700, 1);

	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(surface);
	st = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	arena_own(a, o.data, free);
	if (st != CAIRO_STATUS_SUCCESS || o.failed || o.len == 0)
		return false;
	*out = o.data;
	*len = o.len;
	return true;
}

/* ---- handlers ------------------------------------------------------------ */

/* Why a booking has no certificate, in words. */
static const char *not_attended_reason(const char *status)
{
	if (!strcmp(status, "confirmed"))
		return "the register has not marked it attended";
	if (!strcmp(status, "waitlisted"))
		return "it is on the waiting list and never held a place";
	if (!strcmp(status, "no_show"))
		return "the register marks it as not attended";
	if (!strcmp(status, "session_cancelled"))
		return "the session was cancelled";
	return "it was cancelled";
}

static int certificates_show(struct sg_req *r)
{
	PGresult *res;
	json_t *c;
	char *pdf;
	size_t n;
	int rc;

	if ((rc = kit_fetch_id(r, &sql_booking_status, r->params[0], "booking", &res)))
		return rc;
	if (strcmp(PQgetvalue(res, 0, 0), "attended") != 0)
		return http_problem(
			r, 409, "not-attended",
			arena_printf(
				r->arena,
				"certificates are issued only for a session attended in full; this booking is %s: %s",
				PQgetvalue(res, 0, 0), not_attended_reason(PQgetvalue(res, 0, 0))));
	if ((rc = kit_exec(r, &sql_certificate_of_booking, r->params, 1, &res)))
		return rc;
	if (PQntuples(res) != 1)
		return http_internal(r, "attended booking without a certificate");
	if (!training_accepts(r, "application/pdf"))
		return kit_json_text(r, 200, PQgetvalue(res, 0, 0));
	c = arena_json(r->arena, json_loads(PQgetvalue(res, 0, 0), 0, NULL));
	if (!json_is_object(c) || !certificate_pdf(r->arena, c, &pdf, &n))
		return http_internal(r, "certificate could not be rendered");
	http_header(r, "Content-Disposition",
		    arena_printf(r->arena, "inline; filename=\"certificate-%s.pdf\"", kit_str(c, "number")));
	return http_body(r, 200, "application/pdf", pdf, n);
}

/* PREFIX-YYYY-NNNNNN: anything else is a number nobody was given */
static bool certificate_number_ok(const char *s)
{
	size_t p = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"), n = strlen(s);

	return p >= 2 && p <= 8 && n <= 40 && s[p] == '-' && strspn(s + p + 1, "0123456789") == 4 && s[p + 5] == '-' &&
	       strspn(s + p + 6, "0123456789") >= 6 && s[p + 6 + strspn(s + p + 6, "0123456789")] == '\0';
}

static int certificates_verify(struct sg_req *r)
{
	const char *number = r->params[0];
	PGresult *res;
	int rc;

	if (!certificate_number_ok(number))
		return http_not_found(r, "certificate");
	if ((rc = kit_fetch(r, &sql_certificate_by_number, &number, 1, "certificate", &res)) ||
	    (rc = kit_audit(r, "training.certificate.verify", "training_certificate", number, NULL)))
		return rc;
	return kit_json_text(r, 200, PQgetvalue(res, 0, 0));
}

static const struct route certificates_route_list[] = {
	{"GET", "/v1/bookings/{id}/certificate", PERM_TRAINING_BOOK, NULL, NULL, certificates_show,
	 "bookings.certificate.show", 0},
	{"GET", "/v1/certificates/{number}", PERM_TRAINING_MANAGE, NULL, NULL, certificates_verify,
	 "certificates.verify", 0},
};

const struct sg_area certificates_area = SG_AREA("certificates", certificates_route_list);
