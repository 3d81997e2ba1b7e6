/*
 * sync.c - delta sync: GET /v1/changes tells a caller what changed in its
 * caseload (children, families, chronology entries) since its last sync,
 * so an outreach worker's app on a bad network keeps its copy fresh without
 * reading the lists again.
 *
 * Each item is an upsert carrying the record exactly as its own GET renders
 * it, for a record the caller may see now, or a tombstone carrying only the
 * kind and id, for one it was shown once (the audit trail says so) and may
 * no longer see.  A record it never saw never appears.  The change log,
 * its order without loss under concurrent writers and the rules of what a
 * caller is told live in migration 018 (safeguard.sync_page); this file
 * checks the cursor, runs one page and writes the audit rows of what the
 * page carries, in the same transaction.
 *
 * The cursor (`since`, or `cursor` which wins when both are given: the
 * same token) is a position: a
 * transaction id and sequence in the log, an instant and an id in the ended
 * share windows.  It grants nothing: the page is still read under the
 * caller's own row-level security; a cursor past the end is a 400.  It is
 * sealed (cursor_seal): the log's sequence is shared by every agency's
 * records, so a position a caller could read would count, between two of
 * its own, the rows it may not read, and one it could choose would find
 * them by bisection.
 */
#include <stdio.h>
#include <string.h>
#include "cursor.h"
#include "kit.h"

/* ---- field specs ------------------------------------------------------- */

enum { SQ_SINCE, SQ_CURSOR, SQ_LIMIT };
static const struct query_param changes_params[] = {
	[SQ_SINCE] = {"since", FT_STRING, 1, 1024, NULL},
	[SQ_CURSOR] = {"cursor", FT_STRING, 1, 1024, NULL},
	[SQ_LIMIT] = {"limit", FT_INT, 1, 200, NULL},
};
static const struct query_spec changes_query = {changes_params, 3};

/* a position: the log's (transaction, sequence), the share windows' (instant, id) */
static const enum kit_key changes_keys[] = {KIT_KEY_INT, KIT_KEY_INT, KIT_KEY_TIMESTAMP, KIT_KEY_UUID};

/* ---- statements (prepared on first use on each connection) ---------------- */

/* rows: (item, children, family, entry, position, more, valid); the last row
 * has no item and says where to resume */
DB_SQL(sql_changes_page, 5,
       "select p.item, p.children::text, p.family, p.entry, p.pos[1], p.pos[2], p.pos[3], p.pos[4], p.more, p.valid"
       " from safeguard.sync_page($1::xid8, $2::bigint, $3::timestamptz, $4::uuid, $5::int) p");

/* the audit rows of the families and entries a page carries (the children
 * of its child and family upserts: kit_audit_children), and of the children
 * its entries name, as the entries name them (child_ids): under their own
 * action, as the entry's GET does, since an entry may name a child the
 * caller may not see, whose id alone it was shown (migration 028) */
DB_SQL(sql_changes_audit_records, 2,
       AUDIT_FROM_TYPE("x.action", "x.type",
		       "x.id") " from (select 'family.sync' as action, 'family' as type, f::text as id"
			       " from unnest($1::uuid[]) f union all select"
			       " 'chronology_entry.sync', 'chronology_entry', e::text"
			       " from unnest($2::uuid[]) e union all select distinct 'child.chronology_entry.sync',"
			       " 'child', c from safeguard.chronology_entries e, json_array_elements_text("
			       "coalesce(e.doc, safeguard.entry_json(e)::text)::json->'child_ids') c"
			       " where e.id = any($2::uuid[])) x");

#define CHANGES_NONE_ETAG "\"changes-none\""

enum { COL_ITEM, COL_CHILDREN, COL_FAMILY, COL_ENTRY, COL_POS, COL_MORE = COL_POS + 4, COL_VALID };

/* ---- helpers ------------------------------------------------------------ */

/* A PostgreSQL array literal of the non-null values of column col in rows
 * [0, n), each an array literal itself when nested (children). */
static const char *column_array(struct sg_req *r, PGresult *res, int col, int n, bool nested)
{
	size_t len = 3, o = 0;
	char *out;

	for (int i = 0; i < n; i++)
		len += (size_t)PQgetlength(res, i, col) + 1;
	out = arena_alloc(r->arena, len);
	out[o++] = '{';
	for (int i = 0; i < n; i++) {
		const char *v = PQgetvalue(res, i, col);
		size_t l = strlen(v);

		if (PQgetisnull(res, i, col) || (nested && l <= 2))
			continue;
		if (nested) /* "{a,b}" -> "a,b" */
			v++, l -= 2;
		if (o > 1)
			out[o++] = ',';
		memcpy(out + o, v, l);
		o += l;
	}
	out[o++] = '}';
	out[o] = '\0';
	return out;
}

/* ---- handlers ------------------------------------------------------------ */

static int changes_list(struct sg_req *r)
{
	const char *const *q = r->query.values;
	const char *p[5], *parts[4], *next = NULL, *sync;
	struct kit_page pg;
	PGresult *res, *audit;
	int rc, n;

	/* the next page's link keeps since and adds cursor: the cursor goes on from there */
	if ((rc = kit_page_begin_sealed(r, q[SQ_LIMIT], q[SQ_CURSOR] ? q[SQ_CURSOR] : q[SQ_SINCE], changes_keys, 4,
					&pg)))
		return rc;
	for (int i = 0; i < 4; i++)
		p[i] = pg.after[i];
	p[4] = arena_printf(r->arena, "%ld", pg.limit);
	if ((rc = kit_exec(r, &sql_changes_page, p, 5, &res)))
		return rc;
	n = PQntuples(res) - 1;
	if (n < 0)
		return http_internal(r, "a page of changes has no last row");
	if (PQgetvalue(res, n, COL_VALID)[0] != 't')
		return http_problem(r, 400, "invalid-cursor", "the cursor is not one this endpoint issued");
	/* every child whose data the page carries, and its families and entries */
	p[0] = column_array(r, res, COL_FAMILY, n, false);
	p[1] = column_array(r, res, COL_ENTRY, n, false);
	if ((rc = kit_audit_children(r, "child.sync", column_array(r, res, COL_CHILDREN, n, true))))
		return rc;
	if ((strcmp(p[0], "{}") != 0 || strcmp(p[1], "{}") != 0) &&
	    (rc = kit_exec(r, &sql_changes_audit_records, p, 2, &audit)))
		return rc;
	for (int i = 0; i < 4; i++)
		parts[i] = PQgetvalue(res, n, COL_POS + i);
	sync = cursor_seal(r->arena, parts, 4);
	if (PQgetvalue(res, n, COL_MORE)[0] == 't')
		next = sync;
	/* nothing changed: one tag for every such answer, so a client polling
	 * with it gets 304 and keeps its since (still exact: nothing is after it) */
	if (n == 0 && !next && (rc = http_etag(r, CHANGES_NONE_ETAG)))
		return rc;
	return http_list_rows_more(r, res, COL_ITEM, n, next, arena_printf(r->arena, "\"sync_cursor\":\"%s\"", sync));
}

static const struct route sync_route_list[] = {
	{"GET", "/v1/changes", PERM_SYNC_READ, NULL, &changes_query, changes_list, "changes.list", 0},
};

const struct sg_area sync_area = SG_AREA("sync", sync_route_list);
