/*
 * sg.h - the types every part of the API shares: the per-request arena, the
 * request/response, the caller's identity, routes, permissions and the
 * helpers that write a response.  Each subsystem has its own header section
 * below; a file's symbols are prefixed with its name (arena_, http_, db_ ...).
 */
#ifndef SG_H
#define SG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* ---- arena.c: one bump allocator per request, reset at the top of the loop */

struct arena;
struct arena *arena_new(void);
void arena_free(struct arena *a);
void arena_reset(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);          /* zeroed, never NULL */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Registers a jansson reference to be released at reset; steals it. */
json_t *arena_json(struct arena *a, json_t *j);

/* ---- log.c: JSON lines on stderr, never personal data */

void log_msg(const char *level, const char *msg, const char *fmt_kv, ...);
#define log_info(msg, ...) log_msg("info", msg, __VA_ARGS__)
#define log_warn(msg, ...) log_msg("warn", msg, __VA_ARGS__)
#define log_error(msg, ...) log_msg("error", msg, __VA_ARGS__)

/* ---- identity and access */

enum sg_role {
	ROLE_PRACTITIONER,
	ROLE_SAFEGUARDING_LEAD,
	ROLE_SOCIAL_WORKER,
	ROLE_PANEL_CHAIR,
	ROLE_PANEL_MEMBER,
	ROLE_TRAINING_ADMIN,
	ROLE_AUDITOR,
	ROLE_ADMIN,
	ROLE__COUNT
};
#define ROLE_BIT(r) (1u << (r))
#define ROLES_ALL ((1u << ROLE__COUNT) - 1)

enum sg_agency {
	AGENCY_CSC,
	AGENCY_POLICE,
	AGENCY_HEALTH,
	AGENCY_MENTAL_HEALTH,
	AGENCY_EDUCATION,
	AGENCY_YOUTH_JUSTICE,
	AGENCY_DISTRICT,
	AGENCY_VOLUNTARY,
	AGENCY_PARTNERSHIP,
	AGENCY__COUNT
};
#define AGENCY_BIT(a) (1u << (a))
#define AGENCIES_ALL ((1u << AGENCY__COUNT) - 1)

extern const char *const sg_role_names[ROLE__COUNT];
extern const char *const sg_agency_names[AGENCY__COUNT + 1]; /* NULL-terminated */
int sg_role_lookup(const char *s);   /* -1 when not on the allow-list */
int sg_agency_lookup(const char *s); /* -1 when not on the allow-list */

/* The caller as the verified token describes it.  Strings are owned by the
 * token cache entry (auth.c) and live at least until the request ends. */
struct sg_identity {
	char sub[201];
	char name[201];
	char email[201];
	char jti[201];
	int agency;
	unsigned roles;  /* ROLE_BIT set */
	char roles_csv[160];
	int64_t iat, exp;
};

/* Permissions: what a route needs.  The access table (access.c) says which
 * roles of which agencies hold each one; deny by default. */
enum sg_perm {
	PERM_PUBLIC,        /* no token (health, readiness, metrics) */
	PERM_AUTHENTICATED, /* any valid token */
	PERM_AUDIT_READ,
	PERM_TOKEN_REVOKE,
	PERM_CHILD_SEARCH,
	PERM_CHILD_READ,     /* case roles; the record itself by network */
	PERM_CHILD_CREATE,
	PERM_CHILD_UPDATE,
	PERM_CHILD_DECLARE,
	PERM_CHILD_ACCESS_LOG,
	PERM_FAMILY_MANAGE,
	PERM_CHRONOLOGY_WRITE,  /* add, amend, withdraw entries (amend/withdraw: author or lead) */
	PERM_CHRONOLOGY_READ,
	PERM_REQUEST_CREATE,    /* open or close a multi-agency chronology request */
	PERM_REQUEST_READ,
	PERM_REQUEST_CONTRIBUTE,
	PERM__COUNT
};
bool access_allows(enum sg_perm p, const struct sg_identity *id);

/* ---- validate.c: field specs */

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

/* ---- ident.c: identifiers (NULL when valid, else a message) */

const char *ident_nhs_number(const char *s);
const char *ident_upn(const char *s);
const char *ident_postcode(const char *s, char out[9]);
const char *ident_postcode_check(const char *s);
char *ident_uuid(struct arena *a);

/* ---- query.c: allow-listed query parameters */

struct query_param {
	const char *name;
	enum field_type type; /* FT_STRING, FT_INT, FT_INSTANT, FT_UUID, FT_ENUM, FT_DATE */
	long min, max;
	const char *const *enum_values;
};

struct query_spec {
	const struct query_param *params;
	size_t n;
};

struct query {
	const char *values[16]; /* by index in the spec; NULL when absent */
};

/* Parses a raw query string against spec; every problem into errs. */
void query_parse(const struct query_spec *spec, const char *qs, struct query *out, struct verrs *errs,
		 struct arena *a);
/* Percent-decodes s (len n) into a new arena string; NULL on bad escapes or NUL bytes */
char *query_unescape(struct arena *a, const char *s, size_t n);

/* ---- cursor.c: opaque keyset cursors */

/* Encodes n strings as an opaque cursor; returns an arena string. */
char *cursor_encode(struct arena *a, const char *const *parts, size_t n);
/* Decodes into exactly n parts; false on anything malformed. */
bool cursor_decode(struct arena *a, const char *cursor, const char **parts, size_t n);

/* ---- b64.c */

/* base64url without padding; returns bytes written or -1 on a bad character */
long b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap);
size_t b64url_encode(const unsigned char *in, size_t n, char *out, size_t cap);
bool b64url_chars_only(const char *s, size_t n);

/* ---- jsonx.c: strict JSON */

struct json_limits {
	size_t max_depth;
	size_t max_string;
};
/* Parses a body: duplicate keys, bad UTF-8, depth and string length are
 * rejected.  Returns a new reference or NULL with *why set (static text). */
json_t *jsonx_parse(const char *buf, size_t n, const struct json_limits *lim, const char **why);

#endif
