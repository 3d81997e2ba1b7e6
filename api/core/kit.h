/*
 * kit.h - the steps every handler repeats, written once.
 *
 * Each function that can end a request writes the answer itself and returns
 * its status; 0 means "go on".  So a handler reads as a list of guards:
 *
 *	if ((rc = kit_fetch_id(r, &sql_child_get, r->params[0], "child", &res)))
 *		return rc;
 *
 * Database results handed out by the kit belong to the request's arena and
 * are cleared at its reset: handlers never call PQclear on them.
 */
#ifndef SG_KIT_H
#define SG_KIT_H

#include "db.h"
#include "http.h"

/* Runs st; *res (owned by the arena) on success.  0, or 503/500 answered. */
int kit_exec(struct sg_req *r, struct db_statement *st, const char *const *p, int n, PGresult **res);
/* The same, but a constraint violation (SQLSTATE class 23) is not answered:
 * it returns KIT_CONSTRAINT with the SQLSTATE in sqlstate, for the caller to
 * turn into its own 409 or 422. */
#define KIT_CONSTRAINT (-1)
int kit_exec_constraint(struct sg_req *r, struct db_statement *st, const char *const *p, int n, PGresult **res,
			char sqlstate[6]);
/* kit_exec, then 404 ("there is no <what> ...") when no row came back. */
int kit_fetch(struct sg_req *r, struct db_statement *st, const char *const *p, int n, const char *what, PGresult **res);
/* kit_fetch of a statement whose one parameter is the id: an id that is
 * not a UUID is a 404 like any other unknown id. */
int kit_fetch_id(struct sg_req *r, struct db_statement *st, const char *id, const char *what, PGresult **res);

/* 0 when the caller may see the child (the network, CSC, an open invitation
 * or referral), else 404 or the failure's answer. */
int kit_child_visible(struct sg_req *r, const char *id);
/* Whether the caller may see and may change the child (*visible,
 * *writable; an id that is not a UUID is neither): changing is CSC's and
 * the network's only, since an invitation or a panel referral is a read.
 * 0, or the failure's answer. */
int kit_child_access(struct sg_req *r, const char *id, bool *visible, bool *writable);
/* 0 when the caller may change the child; 404 when it may not see it; 403
 * (KIT_CHILD_READ_ONLY) when it sees it but may not change it. */
int kit_child_writable(struct sg_req *r, const char *id);
#define KIT_CHILD_READ_ONLY                                                                                            \
	"your agency sees this child through a chronology request or a panel referral, which lets it read"             \
	" but not change the record: children's social care and the agencies in the child's network do"
/* 0 when the child exists at all (for declaring involvement), else 404. */
int kit_child_exists(struct sg_req *r, const char *id);

/* The ETag of a stored version alone: "v<version>" (an arena string); what
 * an answer without its representation (a 204, a 412) carries. */
const char *kit_etag(struct sg_req *r, const char *version);
/* Answers a JSON text from the database as it is (no parse), with status. */
int kit_json_text(struct sg_req *r, int status, const char *text);
/* A single resource from a row of (json text, version), passed through with
 * its ETag, "v<version>-<digest of the text>": kit_resource after a write,
 * kit_show for a GET (304 when it matches If-None-Match).  The digest makes
 * the tag change with every field the representation derives (a session's
 * places, an action's overdue, what the caller may see), which change no
 * stored version. */
int kit_resource(struct sg_req *r, int status, PGresult *res, int row);
int kit_show(struct sg_req *r, PGresult *res, int row);
/* PATCH/DELETE guard on a locked row's version: 428 / 412 / 0.  If-Match is
 * held to the version part of the tag only: the guard is against a lost
 * update of the stored record, and a derived field that moved since the
 * client read it is not one. */
int kit_if_match(struct sg_req *r, const char *version);

/* An audit row in the request's transaction: 0, or the failure's answer. */
int kit_audit(struct sg_req *r, const char *action, const char *type, const char *id, const char *details);
/* One audit row per child in a response, in one statement: ids is a
 * PostgreSQL array literal of UUIDs ("{...}"); 0 or the failure's answer. */
int kit_audit_children(struct sg_req *r, const char *action, const char *ids);

/* Keyset paging: ?limit= (default 50, at most 200) and an opaque cursor of
 * nkeys parts, each checked by its kind before the database sees it. */
enum kit_key { KIT_KEY_TIMESTAMP, KIT_KEY_UUID, KIT_KEY_DATE, KIT_KEY_TIME, KIT_KEY_INT };
struct kit_page {
	long limit;
	const char *fetch;    /* limit + 1, as a bind parameter */
	const char *after[4]; /* the cursor's parts, NULL on the first page */
	const enum kit_key *keys;
	size_t nkeys;
	bool sealed; /* the cursors are sealed (kit_page_begin_sealed) */
};
/* 0, or 400 invalid-cursor. */
int kit_page_begin(struct sg_req *r, const char *limit, const char *cursor, const enum kit_key *keys, size_t nkeys,
		   struct kit_page *pg);
/* The same for a sealed cursor (cursor_open), and kit_page_answer then
 * seals the next one: for positions the caller may neither read nor
 * choose, a key that is a sequence every agency's rows share. */
int kit_page_begin_sealed(struct sg_req *r, const char *limit, const char *cursor, const enum kit_key *keys,
			  size_t nkeys, struct kit_page *pg);
/* Answers {items, next_cursor} from the JSON texts in json_col of res; the
 * cursor is made of the nkeys columns from key_col on of the last row kept. */
int kit_page_answer(struct sg_req *r, const struct kit_page *pg, PGresult *res, int json_col, int key_col);

/* A list read by one statement, as data: the statement's parameters in its
 * order, each a KIT_ARG_* or the index of a query parameter in the route's
 * query spec (NULL when the query leaves it out). */
enum kit_arg {
	KIT_ARG_AFTER = -1, /* the cursor's parts, nkeys of them (NULL on the first page) */
	KIT_ARG_FETCH = -2, /* limit + 1: the row past the page says there is a next one */
	KIT_ARG_ID = -3,    /* the path's {id} */
	/* the cursor's parts, or on the first page the lowest of each key's kind
	 * (-infinity, the nil uuid): the statement compares rows with no "is null
	 * or", which a plan kept for every call cannot use as an index condition,
	 * so PostgreSQL planned such a list again at each call.  For keys of
	 * timestamps, dates and uuids only; the last key must be one no row holds
	 * at its lowest (an id). */
	KIT_ARG_FROM = -4,
};
struct kit_list {
	struct db_statement *stmt;
	int limit, cursor;    /* the query spec's indexes of ?limit= and ?cursor= */
	enum kit_key keys[4]; /* the cursor's parts: the key columns from column 1 on */
	size_t nkeys;
	int args[10];
	size_t nargs;
};
/* static const struct kit_list list = {&sql_x, XQ_LIMIT, XQ_CURSOR,
 *	KIT_KEYS(KIT_KEY_TIMESTAMP, KIT_KEY_UUID), KIT_ARGS(KIT_ARG_AFTER, KIT_ARG_FETCH, XQ_STATUS)}; */
#define KIT_KEYS(...) {__VA_ARGS__}, sizeof((enum kit_key[]){__VA_ARGS__}) / sizeof(enum kit_key)
#define KIT_ARGS(...) {__VA_ARGS__}, sizeof((int[]){__VA_ARGS__}) / sizeof(int)
/* The cursor checked and the page read: *res holds the JSON texts in column
 * 0 and the keys from column 1 on (the arena owns it); 0 or the answer.
 * Parameters that do not add up to the statement's abort the worker. */
int kit_list_fetch(struct sg_req *r, const struct kit_list *l, struct kit_page *pg, PGresult **res);
/* kit_list_fetch, then the page answered ({items, next_cursor}). */
int kit_list(struct sg_req *r, const struct kit_list *l);

/* PATCH: the record as the client may write it (current minus read-only
 * fields), with the patch applied (null clears) and checked as a whole
 * against spec, rules included.  *merged is owned by the arena.  0, or 400
 * naming every bad field of the merged record. */
int kit_patch_merge(struct sg_req *r, const char *current_json, const struct body_spec *spec, json_t **merged);
/* The same with a rule of the handler's that needs more than the record (a
 * screening's answers against its tool version, ctx): it runs on the merged
 * record after the spec's, and its errors are in the same answer. */
typedef void (*kit_patch_rule)(json_t *merged, struct verrs *errs, struct arena *a, const void *ctx);
int kit_patch_merge_rule(struct sg_req *r, const char *current_json, const struct body_spec *spec, kit_patch_rule rule,
			 const void *ctx, json_t **merged);

/* Small helpers of bodies. */
const char *kit_str(json_t *o, const char *name); /* a string member or NULL */
/* Today's date in the deployment's time zone (kit_time_zone), so that "not
 * in the future" means what the people entering dates mean by it. */
const char *kit_today(struct arena *a);
/* Sets the process's time zone (TZ) to zone, an IANA name such as
 * Europe/London: false, with the reason in err, for a name that is not a
 * zone file under /usr/share/zoneinfo.  Called once, before the workers fork. */
bool kit_time_zone(const char *zone, char *err, size_t errlen);
/* A PostgreSQL array literal of the strings of a JSON array (UUIDs and
 * codes that the field specs already checked); NULL when an item is not a
 * string. */
const char *kit_pg_array(struct arena *a, json_t *arr);

#endif
