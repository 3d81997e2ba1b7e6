/* Bearer tokens: the shape checks before any key is used (auth_precheck),
 * the claims against the configuration and the clock (auth_check_claims),
 * and auth_verify end to end with RSA and P-256 keys made at setup and
 * tokens signed here with OpenSSL (ES256 in low-S form unless a test wants
 * the high-S twin), plus the keys auth_load must refuse. */
#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include "auth.h"
#include "b64.h"
#include "unit.h"

#define ISS "https://idp.safeguard.test"
#define AUD "safeguard-api"
#define NOW INT64_C(1700000000)

static struct arena *a;

/* base64url of n bytes, as an arena string */
static char *b64(const void *p, size_t n)
{
	char *out = arena_alloc(a, n * 4 / 3 + 4);

	b64url_encode(p, n, out, n * 4 / 3 + 4);
	return out;
}

static char *b64s(const char *s)
{
	return b64(s, strlen(s));
}

/* Parses JSON written with ' for "; a new reference. */
static json_t *json_q(const char *text)
{
	char *s = arena_strdup(a, text);
	json_error_t err;
	json_t *j;

	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(s, JSON_REJECT_DUPLICATES, &err);
	ck_assert_msg(j != NULL, "bad test JSON %s: %s", s, err.text);
	return j;
}

static void arena_setup(void)
{
	a = arena_new();
}
static void arena_teardown(void)
{
	arena_free(a);
}

/* ------------------------------------------------------------------ precheck */

#define P_EMPTY "empty token"
#define P_LARGE "token too large"
#define P_SEGS "a token has exactly three segments"
#define P_EMPTYSEG "empty token segment"
#define P_CHARS "token segments must be base64url"
#define P_HDR "token header is not a JSON object without duplicate keys"
#define P_PARAM "token header parameter not allowed"
#define P_ALG "token header has no valid alg"
#define P_KID "token header has no valid kid"
#define P_TYP "token header typ must be JWT or at+jwt"
#define P_JWE "token header has enc or zip: encrypted tokens (JWE) are not accepted"

struct precheck_row {
	const char *header; /* JSON (' for "), made into header.e30.c2ln; or NULL */
	const char *token;  /* used as is when header is NULL */
	const char *why;    /* NULL: passes */
};

static const struct precheck_row precheck_rows[] = {
	{"{'alg':'RS256','kid':'k1','typ':'JWT'}", NULL, NULL},
	{"{'alg':'RS256','kid':'k1'}", NULL, NULL},
	{"{'alg':'ES256','kid':'k-1_2.3','typ':'at+jwt'}", NULL, NULL},
	{"{'alg':'RS256','kid':'"
	 "0123456789012345678901234567890123456789012345678901234567890123"
	 "'}",
	 NULL, NULL},
	{"{'alg':'ABCDEFGHIJKLMNO','kid':'k1'}", NULL, NULL}, /* 15 characters fit */
	/* three non-empty segments of base64url characters */
	{NULL, "abc", P_SEGS},
	{NULL, "a.b", P_SEGS},
	{NULL, "a.b.c.d", P_SEGS},
	{NULL, "...", P_SEGS},
	{NULL, ".b.c", P_EMPTYSEG},
	{NULL, "a..c", P_EMPTYSEG},
	{NULL, "a.b.", P_EMPTYSEG},
	{NULL, "..", P_EMPTYSEG},
	{NULL, "eyJ=.e30.c2ln", P_CHARS},
	{NULL, "e30.e30=.c2ln", P_CHARS},
	{NULL, "e30.e30.c2ln=", P_CHARS},
	{NULL, "e30.e3 0.c2ln", P_CHARS},
	{NULL, "e30 .e30.c2ln", P_CHARS},
	{NULL, "e30.e30.c2l!", P_CHARS},
	{NULL, "e3+.e30.c2ln", P_CHARS},
	{NULL, "e30.e3/.c2ln", P_CHARS},
	{NULL, "e30.e30.c2ln\n", P_CHARS},
	/* the header decoded strictly: a JSON object without duplicate keys */
	{NULL, "YWJj.e30.c2ln", P_HDR}, /* "abc" */
	{NULL, "e31.e30.c2ln", P_HDR},  /* non-canonical base64url of "{}" */
	{NULL, "e30x.e30.c2ln", P_HDR},
	{"[]", NULL, P_HDR},
	{"['RS256']", NULL, P_HDR},
	{"{'alg':'RS256','alg':'RS256','kid':'k1'}", NULL, P_HDR},
	{"{'alg':'RS256','kid':'k1','kid':'k2'}", NULL, P_HDR},
	{"{'alg':'RS256','kid':'k1'} x", NULL, P_HDR},
	/* parameters that point at other keys or change the processing */
	{"{'alg':'RS256','kid':'k1','jku':'https://evil.test/jwks'}", NULL, P_PARAM},
	{"{'alg':'RS256','kid':'k1','x5u':'https://evil.test/cert'}", NULL, P_PARAM},
	{"{'alg':'RS256','kid':'k1','jwk':{'kty':'oct','k':'AAAA'}}", NULL, P_PARAM},
	{"{'alg':'RS256','kid':'k1','x5c':['MIIB']}", NULL, P_PARAM},
	{"{'alg':'RS256','kid':'k1','crit':['exp']}", NULL, P_PARAM},
	{"{'alg':'RS256','kid':'k1','b64':false}", NULL, P_PARAM},
	/* a JWE's header: an encrypted token is never taken for a signed one */
	{"{'alg':'RS256','kid':'k1','enc':'A256GCM'}", NULL, P_JWE},
	{"{'alg':'RSA-OAEP','kid':'k1','enc':'A128CBC-HS256','typ':'JWT'}", NULL, P_JWE},
	{"{'alg':'RS256','kid':'k1','enc':null}", NULL, P_JWE},
	{"{'alg':'RS256','kid':'k1','zip':'DEF'}", NULL, P_JWE},
	/* alg and kid */
	{"{'kid':'k1'}", NULL, P_ALG},
	{"{'alg':null,'kid':'k1'}", NULL, P_ALG},
	{"{'alg':256,'kid':'k1'}", NULL, P_ALG},
	{"{'alg':'ABCDEFGHIJKLMNOP','kid':'k1'}", NULL, P_ALG},
	{"{'alg':'RS256'}", NULL, P_KID},
	{"{'alg':'RS256','kid':''}", NULL, P_KID},
	{"{'alg':'RS256','kid':1}", NULL, P_KID},
	{"{'alg':'RS256','kid':'../keys/k1'}", NULL, P_KID},
	{"{'alg':'RS256','kid':'k 1'}", NULL, P_KID},
	{"{'alg':'RS256','kid':'"
	 "0123456789012345678901234567890123456789012345678901234567890123x"
	 "'}",
	 NULL, P_KID},
	/* typ: JWT or the RFC 9068 at+jwt, any case, "application/" optional */
	{"{'alg':'RS256','kid':'k1','typ':'jwt'}", NULL, NULL},
	{"{'alg':'RS256','kid':'k1','typ':'AT+JWT'}", NULL, NULL},
	{"{'alg':'RS256','kid':'k1','typ':'application/at+jwt'}", NULL, NULL},
	{"{'alg':'RS256','kid':'k1','typ':'Application/JWT'}", NULL, NULL},
	{"{'alg':'RS256','kid':'k1','typ':'application/'}", NULL, P_TYP},
	{"{'alg':'RS256','kid':'k1','typ':'application/json'}", NULL, P_TYP},
	{"{'alg':'RS256','kid':'k1','typ':'application/application/jwt'}", NULL, P_TYP},
	{"{'alg':'RS256','kid':'k1','typ':'at+jwt '}", NULL, P_TYP},
	{"{'alg':'RS256','kid':'k1','typ':'x-at+jwt'}", NULL, P_TYP},
	{"{'alg':'RS256','kid':'k1','typ':['JWT']}", NULL, P_TYP},
	{"{'alg':'RS256','kid':'k1','typ':'JOSE'}", NULL, P_TYP},
	{"{'alg':'RS256','kid':'k1','typ':'JWS'}", NULL, P_TYP},
	{"{'alg':'RS256','kid':'k1','typ':''}", NULL, P_TYP},
	{"{'alg':'RS256','kid':'k1','typ':1}", NULL, P_TYP},
	{"{'alg':'RS256','kid':'k1','typ':null}", NULL, P_TYP},
};

START_TEST(precheck_table)
{
	const struct precheck_row *row = &precheck_rows[_i];
	struct auth_header h;
	const char *tok = row->token, *why = NULL;
	bool ok;

	if (row->header) {
		char *json = arena_strdup(a, row->header);

		for (char *p = json; *p; p++)
			if (*p == '\'')
				*p = '"';
		tok = arena_printf(a, "%s.e30.c2ln", b64s(json));
	}
	ok = auth_precheck(tok, strlen(tok), &h, &why);
	if (row->why) {
		ck_assert_msg(!ok, "%s: should fail", tok);
		ck_assert_msg(why && strcmp(why, row->why) == 0, "%s: \"%s\", want \"%s\"",
			      row->header ? row->header : tok, why ? why : "", row->why);
	} else {
		json_t *hdr = json_q(row->header);

		ck_assert_msg(ok, "%s: %s", row->header, why);
		ck_assert_str_eq(h.alg, json_string_value(json_object_get(hdr, "alg")));
		ck_assert_str_eq(h.kid, json_string_value(json_object_get(hdr, "kid")));
		json_decref(hdr);
	}
}
END_TEST

START_TEST(precheck_size)
{
	const char *hdr = b64s("{\"alg\":\"RS256\",\"kid\":\"k1\"}");
	size_t fixed = strlen(hdr) + strlen(".") + strlen(".c2ln");
	char *tok = arena_alloc(a, AUTH_MAX_TOKEN + 2);
	struct auth_header h;
	const char *why = NULL;

	/* exactly AUTH_MAX_TOKEN bytes: the payload segment is not decoded here */
	strcpy(tok, hdr);
	strcat(tok, ".");
	memset(tok + strlen(tok), 'A', AUTH_MAX_TOKEN - fixed);
	strcat(tok, ".c2ln");
	ck_assert_uint_eq(strlen(tok), AUTH_MAX_TOKEN);
	ck_assert_msg(auth_precheck(tok, AUTH_MAX_TOKEN, &h, &why), "8192 bytes: %s", why);
	/* one more */
	memmove(tok + strlen(hdr) + 2, tok + strlen(hdr) + 1, AUTH_MAX_TOKEN - strlen(hdr));
	ck_assert_uint_eq(strlen(tok), AUTH_MAX_TOKEN + 1);
	ck_assert(!auth_precheck(tok, AUTH_MAX_TOKEN + 1, &h, &why));
	ck_assert_str_eq(why, P_LARGE);
	ck_assert(!auth_precheck("", 0, &h, &why));
	ck_assert_str_eq(why, P_EMPTY);
	/* the length given is what counts, not the terminator */
	ck_assert(!auth_precheck("e30.e30.c2ln", 7, &h, &why));
	ck_assert_str_eq(why, P_SEGS);
}
END_TEST

/* ------------------------------------------------------------------ claims */

#define C_ISS "token issuer is not accepted"
#define C_AUD "token audience is not accepted"
#define C_SUB "token subject is missing or invalid"
#define C_TIMES "token exp, iat and nbf must be integers (exp and iat are required)"
#define C_EXPIRED "token expired"
#define C_NOTYET "token not valid yet"
#define C_LIFETIME "token lifetime is longer than allowed"
#define C_AGENCY "token agency is not one of the partnership's agencies"
#define C_ROLES "token roles must be a non-empty array"
#define C_ROLE "token roles are not on the allow-list"
#define C_SW "the social_worker role belongs to children's social care"
#define C_OPT "token jti, name and email must be non-empty strings of at most 200 characters"

static const struct auth_config claims_cfg = {.issuer = ISS, .audience = AUD, .leeway = 30, .max_lifetime = 43200};

/* Valid at NOW: issued a minute ago, an hour's lifetime. */
static json_t *base_claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:[s], s:s, s:s, s:s}", "iss", ISS, "aud", AUD, "sub",
			 "alice", "iat", (json_int_t)(NOW - 60), "nbf", (json_int_t)(NOW - 60), "exp",
			 (json_int_t)(NOW + 3540), "agency", "police", "roles", "practitioner", "jti", "j-1", "name",
			 "Alice", "email", "alice@police.test");
}

static void claims_setup(void)
{
	arena_setup();
	auth_configure_claims(&claims_cfg);
}

struct claims_row {
	const char *patch;     /* merged into base_claims() */
	const char *remove[3]; /* then deleted */
	const char *why;       /* NULL: valid */
};

/* NOW is 1700000000; leeway 30; max lifetime 43200; base iat 1699999940,
 * exp 1700003540. */
static const struct claims_row claims_rows[] = {
	{"{}", {NULL}, NULL},
	{"{}", {"nbf"}, NULL},
	{"{}", {"jti", "name", "email"}, NULL},
	/* each required claim missing in turn */
	{"{}", {"iss"}, C_ISS},
	{"{}", {"aud"}, C_AUD},
	{"{}", {"sub"}, C_SUB},
	{"{}", {"exp"}, C_TIMES},
	{"{}", {"iat"}, C_TIMES},
	{"{}", {"agency"}, C_AGENCY},
	{"{}", {"roles"}, C_ROLES},
	/* issuer */
	{"{'iss':'https://evil.test'}", {NULL}, C_ISS},
	{"{'iss':'https://idp.safeguard.test/'}", {NULL}, C_ISS},
	{"{'iss':'HTTPS://IDP.SAFEGUARD.TEST'}", {NULL}, C_ISS},
	{"{'iss':''}", {NULL}, C_ISS},
	{"{'iss':1}", {NULL}, C_ISS},
	{"{'iss':null}", {NULL}, C_ISS},
	{"{'iss':['https://idp.safeguard.test']}", {NULL}, C_ISS},
	/* audience: a string or an array that contains ours */
	{"{'aud':['safeguard-api']}", {NULL}, NULL},
	{"{'aud':['other','safeguard-api']}", {NULL}, NULL},
	{"{'aud':['a','b','c','d','e','f','g','h','i','j','k','l','m','n','o','safeguard-api']}", {NULL}, NULL},
	{"{'aud':['a','b','c','d','e','f','g','h','i','j','k','l','m','n','o','p','safeguard-api']}", {NULL}, C_AUD},
	{"{'aud':'other'}", {NULL}, C_AUD},
	{"{'aud':'Safeguard-api'}", {NULL}, C_AUD},
	{"{'aud':''}", {NULL}, C_AUD},
	{"{'aud':['other']}", {NULL}, C_AUD},
	{"{'aud':[]}", {NULL}, C_AUD},
	{"{'aud':['safeguard-api',1]}", {NULL}, C_AUD},
	{"{'aud':[null,'safeguard-api']}", {NULL}, C_AUD},
	{"{'aud':[['safeguard-api']]}", {NULL}, C_AUD},
	{"{'aud':1}", {NULL}, C_AUD},
	{"{'aud':{'safeguard-api':true}}", {NULL}, C_AUD},
	{"{'aud':null}", {NULL}, C_AUD},
	/* subject */
	{"{'sub':''}", {NULL}, C_SUB},
	{"{'sub':1}", {NULL}, C_SUB},
	{"{'sub':null}", {NULL}, C_SUB},
	/* times must be integers */
	{"{'exp':'1700003540'}", {NULL}, C_TIMES},
	{"{'exp':1.5}", {NULL}, C_TIMES},
	{"{'exp':1700003540.5}", {NULL}, C_TIMES},
	{"{'exp':1700003540.0}", {NULL}, C_TIMES},
	{"{'exp':null}", {NULL}, C_TIMES},
	{"{'exp':true}", {NULL}, C_TIMES},
	{"{'iat':'1699999940'}", {NULL}, C_TIMES},
	{"{'iat':1699999940.0}", {NULL}, C_TIMES},
	{"{'nbf':'1699999940'}", {NULL}, C_TIMES},
	{"{'nbf':1.5}", {NULL}, C_TIMES},
	{"{'nbf':null}", {NULL}, C_TIMES},
	/* expiry: now == exp + leeway passes, one second later fails */
	{"{'iat':1699996400,'nbf':1699996400,'exp':1699999970}", {NULL}, NULL},
	{"{'iat':1699996400,'nbf':1699996400,'exp':1699999969}", {NULL}, C_EXPIRED},
	{"{'iat':1699996400,'nbf':1699996400,'exp':1699999000}", {NULL}, C_EXPIRED},
	{"{'iat':1699996400,'nbf':1699996400,'exp':1700000000}", {NULL}, NULL},
	/* not yet valid: iat or nbf more than leeway ahead */
	{"{'iat':1700000030}", {NULL}, NULL},
	{"{'iat':1700000031}", {NULL}, C_NOTYET},
	{"{'iat':1700003000}", {NULL}, C_NOTYET},
	{"{'nbf':1700000030}", {NULL}, NULL},
	{"{'nbf':1700000031}", {NULL}, C_NOTYET},
	{"{'nbf':1700003600,'exp':1700007200}", {NULL}, C_NOTYET},
	/* lifetime: exp - iat at most 43200, exp after iat */
	{"{'exp':1700043140}", {NULL}, NULL},
	{"{'exp':1700043141}", {NULL}, C_LIFETIME},
	{"{'iat':1000000000,'nbf':1000000000,'exp':1700003540}", {NULL}, C_LIFETIME},
	{"{'iat':1700000000,'exp':1700000000}", {NULL}, C_LIFETIME},
	{"{'iat':1700000010,'exp':1700000005}", {NULL}, C_LIFETIME},
	/* agency */
	{"{'agency':'csc'}", {NULL}, NULL},
	{"{'agency':'partnership'}", {NULL}, NULL},
	{"{'agency':'nowhere'}", {NULL}, C_AGENCY},
	{"{'agency':'CSC'}", {NULL}, C_AGENCY},
	{"{'agency':''}", {NULL}, C_AGENCY},
	{"{'agency':1}", {NULL}, C_AGENCY},
	{"{'agency':['csc']}", {NULL}, C_AGENCY},
	/* roles */
	{"{'roles':['practitioner','safeguarding_lead']}", {NULL}, NULL},
	{"{'roles':['wizard']}", {NULL}, C_ROLE},
	{"{'roles':['Practitioner']}", {NULL}, C_ROLE},
	{"{'roles':['practitioner','wizard']}", {NULL}, C_ROLE},
	{"{'roles':['practitioner','practitioner']}", {NULL}, C_ROLE},
	{"{'roles':['auditor','admin','auditor']}", {NULL}, C_ROLE},
	{"{'roles':[1]}", {NULL}, C_ROLE},
	{"{'roles':[null]}", {NULL}, C_ROLE},
	{"{'roles':[]}", {NULL}, C_ROLES},
	{"{'roles':'practitioner'}", {NULL}, C_ROLES},
	{"{'roles':null}", {NULL}, C_ROLES},
	{"{'roles':['practitioner','safeguarding_lead','social_worker','panel_chair','panel_member',"
	 "'training_admin','auditor','admin','admin']}",
	 {NULL},
	 C_ROLES},
	/* social_worker belongs to CSC */
	{"{'roles':['social_worker']}", {NULL}, C_SW},
	{"{'roles':['practitioner','social_worker'],'agency':'health'}", {NULL}, C_SW},
	{"{'roles':['social_worker'],'agency':'csc'}", {NULL}, NULL},
	/* optional strings */
	{"{'jti':''}", {NULL}, C_OPT},
	{"{'jti':1}", {NULL}, C_OPT},
	{"{'name':null}", {NULL}, C_OPT},
	{"{'email':''}", {NULL}, C_OPT},
	{"{'email':['a@b']}", {NULL}, C_OPT},
};

START_TEST(claims_table)
{
	const struct claims_row *row = &claims_rows[_i];
	json_t *claims = base_claims(), *patch = json_q(row->patch);
	struct sg_identity id;
	const char *why = NULL;
	bool ok;

	json_object_update(claims, patch);
	for (size_t i = 0; i < 3 && row->remove[i]; i++)
		json_object_del(claims, row->remove[i]);
	ok = auth_check_claims(claims, NOW, &id, &why);
	if (row->why) {
		ck_assert_msg(!ok, "%s -%s: should fail", row->patch, row->remove[0] ? row->remove[0] : "");
		ck_assert_msg(why && strcmp(why, row->why) == 0, "%s -%s: \"%s\", want \"%s\"", row->patch,
			      row->remove[0] ? row->remove[0] : "", why ? why : "", row->why);
	} else {
		ck_assert_msg(ok, "%s -%s: %s", row->patch, row->remove[0] ? row->remove[0] : "", why);
	}
	json_decref(patch);
	json_decref(claims);
}
END_TEST

START_TEST(claims_fill_identity)
{
	json_t *claims = base_claims();
	struct sg_identity id;
	const char *why = NULL;

	json_object_set_new(claims, "roles", json_pack("[s,s]", "safeguarding_lead", "practitioner"));
	ck_assert_msg(auth_check_claims(claims, NOW, &id, &why), "%s", why);
	ck_assert_str_eq(id.sub, "alice");
	ck_assert_str_eq(id.name, "Alice");
	ck_assert_str_eq(id.email, "alice@police.test");
	ck_assert_str_eq(id.jti, "j-1");
	ck_assert_int_eq(id.agency, AGENCY_POLICE);
	ck_assert_uint_eq(id.roles, ROLE_BIT(ROLE_SAFEGUARDING_LEAD) | ROLE_BIT(ROLE_PRACTITIONER));
	ck_assert_str_eq(id.roles_csv, "safeguarding_lead,practitioner"); /* in the token's order */
	ck_assert_int_eq(id.iat, NOW - 60);
	ck_assert_int_eq(id.exp, NOW + 3540);

	/* every role at once fits roles_csv */
	json_object_set_new(claims, "agency", json_string("csc"));
	json_object_set_new(claims, "roles",
			    json_pack("[s,s,s,s,s,s,s,s]", "practitioner", "safeguarding_lead", "social_worker",
				      "panel_chair", "panel_member", "training_admin", "auditor", "admin"));
	json_object_del(claims, "name");
	ck_assert_msg(auth_check_claims(claims, NOW, &id, &why), "%s", why);
	ck_assert_int_eq(id.agency, AGENCY_CSC);
	ck_assert_uint_eq(id.roles, ROLES_ALL);
	ck_assert_str_eq(id.roles_csv, "practitioner,safeguarding_lead,social_worker,panel_chair,panel_member,"
				       "training_admin,auditor,admin");
	ck_assert_str_eq(id.name, ""); /* absent optional claims are empty */
	json_decref(claims);
}
END_TEST

/* sub, jti, name and email: at most 200 characters, no NUL inside. */
START_TEST(claims_string_lengths)
{
	static const char *const names[] = {"sub", "jti", "name", "email"};
	char s[202];
	struct sg_identity id;
	const char *why = NULL;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		json_t *claims = base_claims();

		memset(s, 'x', 200);
		s[200] = '\0';
		json_object_set_new(claims, names[i], json_string(s));
		ck_assert_msg(auth_check_claims(claims, NOW, &id, &why), "%s of 200: %s", names[i], why);
		s[200] = 'x';
		s[201] = '\0';
		json_object_set_new(claims, names[i], json_string(s));
		ck_assert_msg(!auth_check_claims(claims, NOW, &id, &why), "%s of 201 should fail", names[i]);
		json_object_set_new(claims, names[i], json_stringn("a\0b", 3));
		ck_assert_msg(!auth_check_claims(claims, NOW, &id, &why), "%s with a NUL should fail", names[i]);
		json_decref(claims);
	}
}
END_TEST

/* A leeway above 60 seconds is clamped to 60. */
START_TEST(claims_leeway_is_clamped)
{
	json_t *claims = base_claims();
	struct sg_identity id;
	const char *why = NULL;

	auth_configure_claims(
		&(struct auth_config){.issuer = ISS, .audience = AUD, .leeway = 600, .max_lifetime = 43200});
	json_object_set_new(claims, "iat", json_integer(NOW - 3600));
	json_object_set_new(claims, "nbf", json_integer(NOW - 3600));
	json_object_set_new(claims, "exp", json_integer(NOW - 60));
	ck_assert_msg(auth_check_claims(claims, NOW, &id, &why), "%s", why);
	json_object_set_new(claims, "exp", json_integer(NOW - 61));
	ck_assert(!auth_check_claims(claims, NOW, &id, &why));
	ck_assert_str_eq(why, C_EXPIRED);
	json_decref(claims);
}
END_TEST

/* Claim values at the ends of int64_t: nothing a token carries is added to
 * or subtracted from in a way that overflows (the sanitizer build aborts on
 * signed overflow).  iat = INT64_MIN with exp = INT64_MAX - 1000 once passed
 * the lifetime check because exp - iat wrapped negative. */
START_TEST(claims_extreme_times)
{
	static const struct {
		int64_t iat, exp;
		bool nbf_set;
		int64_t nbf;
		const char *why;
	} t[] = {
		{INT64_MIN, INT64_MAX - 1000, false, 0, C_LIFETIME}, {INT64_MIN, INT64_MAX, false, 0, C_LIFETIME},
		{NOW - 60, INT64_MAX, false, 0, C_LIFETIME},         {INT64_MIN, NOW + 60, false, 0, C_LIFETIME},
		{NOW - 60, INT64_MIN, false, 0, C_EXPIRED},          {INT64_MIN, INT64_MIN, false, 0, C_EXPIRED},
		{INT64_MAX, INT64_MAX, false, 0, C_NOTYET},          {NOW - 60, NOW + 60, true, INT64_MAX, C_NOTYET},
		{NOW - 60, NOW + 60, true, INT64_MIN, NULL},         {-1, NOW + 60, false, 0, C_LIFETIME},
		{NOW - 43200 + 60, NOW + 60, false, 0, NULL},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		json_t *claims = base_claims();
		struct sg_identity id;
		const char *why = NULL;
		bool ok;

		json_object_set_new(claims, "iat", json_integer(t[i].iat));
		json_object_set_new(claims, "exp", json_integer(t[i].exp));
		if (t[i].nbf_set)
			json_object_set_new(claims, "nbf", json_integer(t[i].nbf));
		else
			json_object_del(claims, "nbf");
		ok = auth_check_claims(claims, NOW, &id, &why);
		if (t[i].why)
			ck_assert_msg(!ok && strcmp(why, t[i].why) == 0, "row %zu: %s, want \"%s\"", i,
				      ok ? "accepted" : why, t[i].why);
		else
			ck_assert_msg(ok, "row %zu: %s", i, why);
		json_decref(claims);
	}
}
END_TEST

/* ------------------------------------------------------------------ keys and signing */

static EVP_PKEY *rsa_key, *ec_key;
static char keydir[64];
static char rsa_pem[4096];
static char secret_path[128];
static const char hs_secret[] = "0123456789abcdef0123456789abcdef-hs256";

static void write_file(const char *dir, const char *name, const char *text)
{
	size_t n = strlen(text);
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, n, f), n);
	fclose(f);
}

static void write_pubkey(const char *dir, const char *name, EVP_PKEY *k)
{
	char path[256];
	BIO *b;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	b = BIO_new_file(path, "w");
	ck_assert_ptr_nonnull(b);
	ck_assert(PEM_write_bio_PUBKEY(b, k));
	BIO_free(b);
}

static void write_privkey(const char *dir, const char *name, EVP_PKEY *k)
{
	char path[256];
	BIO *b;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	b = BIO_new_file(path, "w");
	ck_assert_ptr_nonnull(b);
	ck_assert(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
	BIO_free(b);
}

/* Removes dir and everything under it. */
static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[512];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR)
			rm_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Once per test case, in the parent process: keys and their directory. */
static void keys_setup(void)
{
	FILE *f;
	char path[256];
	size_t n;

	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert(rsa_key && ec_key);
	strcpy(keydir, "/tmp/sg-unit-keys-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(keydir));
	write_pubkey(keydir, "rsa1.pem", rsa_key);
	write_pubkey(keydir, "ec1.pem", ec_key);
	write_file(keydir, "README", "not a key\n"); /* ignored: not .pem */
	snprintf(secret_path, sizeof secret_path, "%s/hs1.secret", keydir);
	write_file(keydir, "hs1.secret", hs_secret);
	snprintf(path, sizeof path, "%s/rsa1.pem", keydir);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	n = fread(rsa_pem, 1, sizeof rsa_pem - 1, f);
	rsa_pem[n] = '\0';
	fclose(f);
}

static void keys_teardown(void)
{
	rm_tree(keydir);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	rsa_key = ec_key = NULL;
}

static struct auth_config verify_cfg(const char *dir)
{
	return (struct auth_config){.issuer = ISS,
				    .audience = AUD,
				    .key_dir = dir,
				    .hs256_secret_file = secret_path,
				    .hs256_kid = "hs1",
				    .leeway = 30,
				    .max_lifetime = 43200};
}

/* Each test starts from freshly loaded keys and an empty cache. */
static void verify_setup(void)
{
	struct auth_config c = verify_cfg(keydir);
	char err[256] = "";

	arena_setup();
	ck_assert_msg(auth_load(&c, err, sizeof err), "auth_load: %s", err);
	ck_assert_uint_eq(auth_key_count(), 3);
}

/* SIG_ES256 is R || S with S in the lower half of the curve order, as the
 * API requires; SIG_ES256_HIGH the same signature's high-S twin (R, n - S),
 * which verifies just as well and the API must refuse. */
enum sig_kind { SIG_RS256, SIG_ES256, SIG_ES256_HIGH, SIG_ES256_DER, SIG_HMAC };

/* The order n of P-256 (a new BIGNUM). */
static BIGNUM *p256_order(void)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *n;

	ck_assert_ptr_nonnull(g);
	n = BN_dup(EC_GROUP_get0_order(g));
	ck_assert_ptr_nonnull(n);
	EC_GROUP_free(g);
	return n;
}

/* Whether the S of a 64-byte R || S is above n / 2. */
static bool es256_high(const unsigned char *sig)
{
	BIGNUM *n = p256_order(), *s = BN_bin2bn(sig + 32, 32, NULL);
	bool high;

	ck_assert(BN_rshift1(n, n));
	high = BN_cmp(s, n) > 0;
	BN_free(n);
	BN_free(s);
	return high;
}

/* Replaces S of a 64-byte R || S with n - S: the other valid signature. */
static void es256_twin(unsigned char *sig)
{
	BIGNUM *n = p256_order(), *s = BN_bin2bn(sig + 32, 32, NULL);

	ck_assert(BN_sub(s, n, s));
	ck_assert(BN_bn2binpad(s, sig + 32, 32) == 32);
	BN_free(n);
	BN_free(s);
}

/* Signs input; returns the signature's length. */
static size_t sign(enum sig_kind kind, EVP_PKEY *k, const void *hkey, size_t hkeylen, const char *input,
		   unsigned char *sig, size_t cap)
{
	unsigned char der[256];
	size_t len = sizeof der;
	EVP_MD_CTX *ctx;

	if (kind == SIG_HMAC) {
		ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, hkey, hkeylen,
						(const unsigned char *)input, strlen(input), sig, cap, &len));
		return len;
	}
	ctx = EVP_MD_CTX_new();
	ck_assert(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) == 1);
	if (kind == SIG_RS256) {
		len = cap;
		ck_assert(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input, strlen(input)) == 1);
		EVP_MD_CTX_free(ctx);
		return len;
	}
	ck_assert(EVP_DigestSign(ctx, der, &len, (const unsigned char *)input, strlen(input)) == 1);
	EVP_MD_CTX_free(ctx);
	if (kind == SIG_ES256_DER) {
		memcpy(sig, der, len);
		return len;
	}
	{
		/* JWS wants R || S, each 32 bytes big-endian, not DER */
		const unsigned char *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		const BIGNUM *r, *s;

		ck_assert_ptr_nonnull(es);
		ECDSA_SIG_get0(es, &r, &s);
		ck_assert(BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32);
		ECDSA_SIG_free(es);
		if (es256_high(sig) != (kind == SIG_ES256_HIGH))
			es256_twin(sig);
		return 64;
	}
}

/* header.payload.signature from JSON texts (' for ") and a signer. */
static char *make_token(const char *header, const char *payload, enum sig_kind kind, EVP_PKEY *k, const void *hkey,
			size_t hkeylen)
{
	json_t *h = json_q(header);
	char *hs = json_dumps(h, JSON_COMPACT), *input;
	unsigned char sig[1024];
	size_t n;

	input = arena_printf(a, "%s.%s", b64s(hs), b64s(payload));
	free(hs);
	json_decref(h);
	n = sign(kind, k, hkey, hkeylen, input, sig, sizeof sig);
	return arena_printf(a, "%s.%s", input, b64(sig, n));
}

/* The base claims as JSON text, with one claim replaced when name is set. */
static char *payload_with(const char *name, json_t *value)
{
	json_t *c = base_claims();
	char *s, *out;

	if (name)
		json_object_set_new(c, name, value);
	s = json_dumps(c, JSON_COMPACT);
	out = arena_strdup(a, s);
	free(s);
	json_decref(c);
	return out;
}

static char *rs256(const char *payload)
{
	return make_token("{'alg':'RS256','kid':'rsa1','typ':'JWT'}", payload, SIG_RS256, rsa_key, NULL, 0);
}

static char *es256(const char *payload)
{
	return make_token("{'alg':'ES256','kid':'ec1','typ':'JWT'}", payload, SIG_ES256, ec_key, NULL, 0);
}

static const char *bearer(const char *tok)
{
	return arena_printf(a, "Bearer %s", tok);
}

static void expect_invalid_at(const char *authz, int64_t now, const char *want_why)
{
	struct sg_identity id;
	const char *why = NULL;

	ck_assert_int_eq(auth_verify(authz, now, &id, &why), AUTH_INVALID);
	ck_assert_msg(why && strcmp(why, want_why) == 0, "\"%s\", want \"%s\"", why ? why : "", want_why);
}

static void expect_invalid(const char *authz, const char *want_why)
{
	expect_invalid_at(authz, NOW, want_why);
}

/* ------------------------------------------------------------------ verify */

START_TEST(verify_valid_rs256_es256_hs256)
{
	const char *payload = payload_with(NULL, NULL);
	const char *toks[] = {
		rs256(payload), es256(payload),
		make_token("{'alg':'HS256','kid':'hs1','typ':'JWT'}", payload, SIG_HMAC, NULL, hs_secret,
			   strlen(hs_secret)),
		make_token("{'alg':'RS256','kid':'rsa1'}", payload, SIG_RS256, rsa_key, NULL, 0), /* typ is optional */
	};

	for (size_t i = 0; i < sizeof toks / sizeof toks[0]; i++) {
		struct sg_identity id;
		const char *why = NULL;

		auth_cache_clear();
		ck_assert_msg(auth_verify(bearer(toks[i]), NOW, &id, &why) == AUTH_OK, "token %zu: %s", i, why);
		ck_assert_str_eq(id.sub, "alice");
		ck_assert_int_eq(id.agency, AGENCY_POLICE);
		ck_assert_uint_eq(id.roles, ROLE_BIT(ROLE_PRACTITIONER));
		ck_assert_str_eq(id.roles_csv, "practitioner");
	}
}
END_TEST

START_TEST(verify_scheme)
{
	const char *tok = rs256(payload_with(NULL, NULL));
	struct sg_identity id;
	const char *why = NULL;

	ck_assert_int_eq(auth_verify(NULL, NOW, &id, &why), AUTH_MISSING);
	ck_assert_int_eq(auth_verify("", NOW, &id, &why), AUTH_MISSING);
	expect_invalid(arena_printf(a, "Basic %s", tok), "the Authorization scheme must be Bearer");
	expect_invalid(arena_printf(a, "Bearer%s", tok), "the Authorization scheme must be Bearer");
	expect_invalid("Bearer ", "empty token");
	expect_invalid("Bearer    ", "empty token");
	expect_invalid(arena_printf(a, "Bearer %s ", tok), P_CHARS);
	ck_assert_int_eq(auth_verify(arena_printf(a, "bearer %s", tok), NOW, &id, &why), AUTH_OK);
	ck_assert_int_eq(auth_verify(arena_printf(a, "BEARER   %s", tok), NOW, &id, &why), AUTH_OK);
}
END_TEST

/* The algorithm is the key's, whatever the token says. */
START_TEST(verify_alg_pinned_to_kid)
{
	const char *payload = payload_with(NULL, NULL);

	expect_invalid(bearer(make_token("{'alg':'ES256','kid':'rsa1'}", payload, SIG_ES256, ec_key, NULL, 0)),
		       "token algorithm does not match its key");
	expect_invalid(bearer(make_token("{'alg':'RS256','kid':'ec1'}", payload, SIG_RS256, rsa_key, NULL, 0)),
		       "token algorithm does not match its key");
	expect_invalid(bearer(make_token("{'alg':'RS256','kid':'hs1'}", payload, SIG_RS256, rsa_key, NULL, 0)),
		       "token algorithm does not match its key");
	expect_invalid(bearer(make_token("{'alg':'PS256','kid':'rsa1'}", payload, SIG_RS256, rsa_key, NULL, 0)),
		       "token algorithm does not match its key");
	/* alg "none" with an empty signature never gets that far */
	expect_invalid(bearer(arena_printf(a, "%s.%s.", b64s("{\"alg\":\"none\",\"kid\":\"rsa1\"}"), b64s(payload))),
		       P_EMPTYSEG);
	expect_invalid(bearer(arena_printf(a, "%s.%s.AA", b64s("{\"alg\":\"none\",\"kid\":\"rsa1\"}"), b64s(payload))),
		       "token algorithm does not match its key");
	expect_invalid(bearer(make_token("{'alg':'RS256','kid':'nokey'}", payload, SIG_RS256, rsa_key, NULL, 0)),
		       "token key id is not known");
}
END_TEST

/* The classic confusion: HS256 keyed with the RSA public key's PEM text. */
START_TEST(verify_hs256_forged_with_public_pem)
{
	const char *payload = payload_with(NULL, NULL);

	expect_invalid(
		bearer(make_token("{'alg':'HS256','kid':'rsa1'}", payload, SIG_HMAC, NULL, rsa_pem, strlen(rsa_pem))),
		"token algorithm does not match its key");
	expect_invalid(
		bearer(make_token("{'alg':'HS256','kid':'ec1'}", payload, SIG_HMAC, NULL, rsa_pem, strlen(rsa_pem))),
		"token algorithm does not match its key");
	/* the HS256 kid with the wrong secret */
	expect_invalid(
		bearer(make_token("{'alg':'HS256','kid':'hs1'}", payload, SIG_HMAC, NULL, rsa_pem, strlen(rsa_pem))),
		"token signature is invalid");
}
END_TEST

/* Replaces the signature segment of tok with the base64url of n bytes of sig. */
static char *with_signature(const char *tok, const unsigned char *sig, size_t n)
{
	const char *dot = strrchr(tok, '.');

	return arena_printf(a, "%.*s.%s", (int)(dot - tok), tok, b64(sig, n));
}

static size_t signature_of(const char *tok, unsigned char *sig, size_t cap)
{
	const char *s = strrchr(tok, '.') + 1;
	long n = b64url_decode(s, strlen(s), sig, cap);

	ck_assert_int_gt(n, 0);
	return (size_t)n;
}

START_TEST(verify_signature_length_and_bits)
{
	const char *payload = payload_with(NULL, NULL);
	const char *rs = rs256(payload), *es = es256(payload);
	unsigned char sig[1024];
	size_t n;

	n = signature_of(rs, sig, sizeof sig);
	ck_assert_uint_eq(n, 256);
	expect_invalid(bearer(with_signature(rs, sig, n - 1)), "token signature is invalid");
	sig[n] = 0;
	expect_invalid(bearer(with_signature(rs, sig, n + 1)), "token signature is invalid");
	sig[n / 2] ^= 0x01;
	expect_invalid(bearer(with_signature(rs, sig, n)), "token signature is invalid");

	n = signature_of(es, sig, sizeof sig);
	ck_assert_uint_eq(n, 64);
	expect_invalid(bearer(with_signature(es, sig, 63)), "token signature is invalid");
	sig[10] ^= 0x80;
	expect_invalid(bearer(with_signature(es, sig, 64)), "token signature is invalid");
	/* ES256 in DER, as OpenSSL produces it, is not a JWS signature */
	expect_invalid(bearer(make_token("{'alg':'ES256','kid':'ec1'}", payload, SIG_ES256_DER, ec_key, NULL, 0)),
		       "token signature is invalid");
	/* the signature of another token */
	n = signature_of(rs256(payload_with("sub", json_string("bob"))), sig, sizeof sig);
	expect_invalid(bearer(with_signature(rs, sig, n)), "token signature is invalid");
}
END_TEST

/* issue 8, finding 12: RFC 9068 access tokens (typ at+jwt) are accepted like
 * JWTs, whatever the case and with or without "application/"; libjwt 1.10.2
 * refused any typ but JWT and the API called that an invalid signature. */
START_TEST(verify_typ_jwt_and_at_jwt)
{
	static const char *const typs[] = {"at+jwt", "AT+JWT", "application/at+jwt", "JWT", "jwt", "application/jwt"};
	const char *payload = payload_with(NULL, NULL);

	for (size_t i = 0; i < sizeof typs / sizeof typs[0]; i++) {
		const char *toks[] = {
			make_token(arena_printf(a, "{'alg':'RS256','kid':'rsa1','typ':'%s'}", typs[i]), payload,
				   SIG_RS256, rsa_key, NULL, 0),
			make_token(arena_printf(a, "{'alg':'ES256','kid':'ec1','typ':'%s'}", typs[i]), payload,
				   SIG_ES256, ec_key, NULL, 0),
			make_token(arena_printf(a, "{'typ':'%s','kid':'hs1','alg':'HS256'}", typs[i]), payload,
				   SIG_HMAC, NULL, hs_secret, strlen(hs_secret)),
		};

		for (size_t j = 0; j < sizeof toks / sizeof toks[0]; j++) {
			struct sg_identity id;
			const char *why = NULL;

			auth_cache_clear();
			ck_assert_msg(auth_verify(bearer(toks[j]), NOW, &id, &why) == AUTH_OK, "typ %s, token %zu: %s",
				      typs[i], j, why);
			ck_assert_str_eq(id.sub, "alice");
		}
	}
	/* other types are refused for what they are, not as a bad signature */
	expect_invalid(
		bearer(make_token("{'alg':'RS256','kid':'rsa1','typ':'JOSE'}", payload, SIG_RS256, rsa_key, NULL, 0)),
		P_TYP);
	expect_invalid(bearer(make_token("{'alg':'ES256','kid':'ec1','typ':'application/json'}", payload, SIG_ES256,
					 ec_key, NULL, 0)),
		       P_TYP);
	/* an at+jwt token is still verified: a flipped payload fails */
	{
		const char *tok = make_token("{'alg':'RS256','kid':'rsa1','typ':'at+jwt'}", payload, SIG_RS256, rsa_key,
					     NULL, 0);
		const char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');

		expect_invalid(bearer(arena_printf(a, "%.*s.%s%s", (int)(dot1 - tok), tok,
						   b64s(payload_with("agency", json_string("csc"))), dot2)),
			       "token signature is invalid");
	}
}
END_TEST

/* issue 8, finding 9: an ES256 signature (R, S) has a twin (R, n - S) that
 * verifies as well.  Both are accepted (RFC 7518 does not ask for low S, and
 * most signers do not normalise it) and both give the same identity; what
 * the twin could have bypassed, the per-token rate limit, is keyed on
 * header.payload in nginx.  S itself must still be in range: S = 0 and
 * S >= n are refused. */
START_TEST(verify_es256_twins_same_identity)
{
	const char *payload = payload_with(NULL, NULL);
	const char *low = es256(payload);
	const char *high = make_token("{'alg':'ES256','kid':'ec1','typ':'JWT'}", payload, SIG_ES256_HIGH, ec_key, NULL,
				      0);
	unsigned char sig[64];
	struct sg_identity one, two;
	const char *why = NULL;

	/* made here: one valid signature in each half */
	ck_assert_uint_eq(signature_of(low, sig, sizeof sig), 64);
	ck_assert(!es256_high(sig));
	ck_assert_uint_eq(signature_of(high, sig, sizeof sig), 64);
	ck_assert(es256_high(sig));

	ck_assert_msg(auth_verify(bearer(low), NOW, &one, &why) == AUTH_OK, "low S: %s", why);
	auth_cache_clear();
	ck_assert_msg(auth_verify(bearer(high), NOW, &two, &why) == AUTH_OK, "high S: %s", why);
	ck_assert_str_eq(one.sub, two.sub);
	ck_assert_int_eq(one.agency, two.agency);

	/* the twin of the accepted token itself */
	ck_assert_uint_eq(signature_of(low, sig, sizeof sig), 64);
	es256_twin(sig);
	auth_cache_clear();
	ck_assert_msg(auth_verify(bearer(with_signature(low, sig, 64)), NOW, &two, &why) == AUTH_OK, "twin: %s", why);
	ck_assert_str_eq(one.sub, two.sub);

	/* S out of range is no signature at all */
	memset(sig + 32, 0xff, 32);
	expect_invalid(bearer(with_signature(low, sig, 64)), "token signature is invalid");
	memset(sig + 32, 0, 32);
	expect_invalid(bearer(with_signature(low, sig, 64)), "token signature is invalid");

	/* RS256 and HS256 signatures are deterministic; nothing changes there */
	ck_assert_int_eq(auth_verify(bearer(rs256(payload)), NOW, &one, &why), AUTH_OK);
}
END_TEST

START_TEST(verify_tampered)
{
	const char *good = rs256(payload_with(NULL, NULL));
	const char *dot1 = strchr(good, '.'), *dot2 = strchr(dot1 + 1, '.');
	const char *other = b64s(payload_with("roles", json_pack("[s]", "admin")));
	char *tok;

	/* a payload swapped under the signature */
	tok = arena_printf(a, "%.*s.%s%s", (int)(dot1 - good), good, other, dot2);
	expect_invalid(bearer(tok), "token signature is invalid");
	/* a header changed under the signature (still RS256 and rsa1) */
	tok = arena_printf(a, "%s%s", b64s("{\"kid\":\"rsa1\",\"alg\":\"RS256\"}"), dot1);
	expect_invalid(bearer(tok), "token signature is invalid");
	/* a payload that is not an object, properly signed */
	expect_invalid(bearer(rs256("[1]")), "token payload is not a JSON object without duplicate keys");
	expect_invalid(bearer(rs256("{\"sub\":\"a\",\"sub\":\"b\"}")),
		       "token payload is not a JSON object without duplicate keys");
	/* a valid signature over bad claims */
	expect_invalid(bearer(rs256(payload_with("aud", json_string("other")))), C_AUD);
	expect_invalid(bearer(es256(payload_with("exp", json_integer(NOW - 31)))), C_EXPIRED);
}
END_TEST

START_TEST(verify_cache)
{
	const char *tok = bearer(es256(payload_with(NULL, NULL)));
	struct sg_identity first, second;
	const char *why = NULL;

	ck_assert_msg(auth_verify(tok, NOW, &first, &why) == AUTH_OK, "%s", why);
	/* served from the cache: a configuration that would now reject it is not consulted */
	auth_configure_claims(
		&(struct auth_config){.issuer = ISS, .audience = "another-api", .leeway = 30, .max_lifetime = 43200});
	memset(&second, 0x5A, sizeof second);
	ck_assert_msg(auth_verify(tok, NOW + 10, &second, &why) == AUTH_OK, "%s", why);
	ck_assert(memcmp(&first, &second, sizeof first) == 0);
	/* without the cache the claims are checked again */
	auth_cache_clear();
	expect_invalid(tok, C_AUD);
	auth_configure_claims(
		&(struct auth_config){.issuer = ISS, .audience = AUD, .leeway = 30, .max_lifetime = 43200});
	ck_assert_int_eq(auth_verify(tok, NOW, &second, &why), AUTH_OK);
	/* a cached token still expires: exp + leeway is the last second */
	ck_assert_int_eq(auth_verify(tok, NOW + 3540 + 30, &second, &why), AUTH_OK);
	expect_invalid_at(tok, NOW + 3540 + 31, "token expired");
	/* and the expired entry is dropped: the next call verifies afresh */
	ck_assert_int_eq(auth_verify(tok, NOW, &second, &why), AUTH_OK);
}
END_TEST

START_TEST(verify_size)
{
	char *tok = arena_alloc(a, AUTH_MAX_TOKEN + 16);

	memset(tok, 'A', AUTH_MAX_TOKEN + 1);
	expect_invalid(bearer(tok), "token too large");
}
END_TEST

/* ------------------------------------------------------------------ loading */

/* A parent directory per test case (removed in the parent process even when
 * a test fails) and a fresh key directory under it per test. */
static char loadroot[64], loaddir[96];

static void loadroot_setup(void)
{
	strcpy(loadroot, "/tmp/sg-unit-load-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(loadroot));
}

static void loadroot_teardown(void)
{
	rm_tree(loadroot);
}

static void fresh_loaddir(void)
{
	snprintf(loaddir, sizeof loaddir, "%s/k-XXXXXX", loadroot);
	ck_assert_ptr_nonnull(mkdtemp(loaddir));
}

static bool load(const char *secret_file, const char *kid, char *err, size_t errlen)
{
	struct auth_config c = {.issuer = ISS,
				.audience = AUD,
				.key_dir = loaddir,
				.hs256_secret_file = secret_file,
				.hs256_kid = kid,
				.leeway = 30,
				.max_lifetime = 43200};

	err[0] = '\0';
	return auth_load(&c, err, errlen);
}

static void expect_refused(const char *secret_file, const char *kid, const char *err_part)
{
	char err[512];

	ck_assert_msg(!load(secret_file, kid, err, sizeof err), "auth_load should refuse (%s)", err_part);
	ck_assert_msg(strstr(err, err_part), "error \"%s\" should mention \"%s\"", err, err_part);
	ck_assert_uint_eq(auth_key_count(), 0);
}

START_TEST(load_refuses_empty_directory)
{
	write_file(loaddir, "README", "x");
	expect_refused(NULL, NULL, "no keys");
}
END_TEST

START_TEST(load_refuses_missing_directory)
{
	char err[512];
	struct auth_config c = {
		.issuer = ISS, .audience = AUD, .key_dir = "/nonexistent/sg-keys", .leeway = 30, .max_lifetime = 43200};

	ck_assert(!auth_load(&c, err, sizeof err));
	ck_assert(strstr(err, "cannot open"));
}
END_TEST

START_TEST(load_refuses_private_key)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	write_privkey(loaddir, "k1.pem", k);
	EVP_PKEY_free(k);
	expect_refused(NULL, NULL, "not a PEM public key");
}
END_TEST

START_TEST(load_refuses_rsa_1024)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);

	ck_assert_ptr_nonnull(k);
	write_pubkey(loaddir, "small.pem", k);
	EVP_PKEY_free(k);
	expect_refused(NULL, NULL, "at least 2048 bits");
}
END_TEST

START_TEST(load_refuses_other_curves_and_junk)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");

	write_pubkey(loaddir, "p384.pem", k);
	EVP_PKEY_free(k);
	expect_refused(NULL, NULL, "P-256");
	fresh_loaddir();
	write_file(loaddir, "junk.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	expect_refused(NULL, NULL, "not a PEM public key");
	fresh_loaddir();
	write_file(loaddir, "empty.pem", "");
	expect_refused(NULL, NULL, "empty or unreadable");
}
END_TEST

START_TEST(load_refuses_bad_kid_file_name)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	write_pubkey(loaddir, "bad kid.pem", k);
	EVP_PKEY_free(k);
	expect_refused(NULL, NULL, "not a valid kid");
}
END_TEST

START_TEST(load_hs256_secret_length)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char path[128], err[512];

	write_pubkey(loaddir, "ec1.pem", k);
	EVP_PKEY_free(k);
	snprintf(path, sizeof path, "%s/secret", loaddir);
	write_file(loaddir, "secret", "0123456789abcdef0123456789abcde"); /* 31 bytes */
	expect_refused(path, "hs1", "at least 32 bytes");
	write_file(loaddir, "secret", "0123456789abcdef0123456789abcde\n"); /* the newline is not the secret */
	expect_refused(path, "hs1", "at least 32 bytes");
	write_file(loaddir, "secret", "");
	expect_refused(path, "hs1", "at least 32 bytes");
	expect_refused("/nonexistent/secret", "hs1", "at least 32 bytes");
	write_file(loaddir, "secret", "0123456789abcdef0123456789abcdef\r\n");
	expect_refused(path, NULL, "valid kid");
	expect_refused(path, "bad kid", "valid kid");
	expect_refused(path, "ec1", "configured twice");
	ck_assert_msg(load(path, "hs1", err, sizeof err), "%s", err);
	ck_assert_uint_eq(auth_key_count(), 2);
}
END_TEST

START_TEST(load_refuses_bad_configuration)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char err[512];

	write_pubkey(loaddir, "ec1.pem", k);
	EVP_PKEY_free(k);
	ck_assert_msg(load(NULL, NULL, err, sizeof err), "%s", err);
	ck_assert_uint_eq(auth_key_count(), 1);
	ck_assert(
		!auth_load(&(struct auth_config){.audience = AUD, .key_dir = loaddir, .leeway = 30}, err, sizeof err));
	ck_assert(!auth_load(&(struct auth_config){.issuer = ISS, .audience = "", .key_dir = loaddir, .leeway = 30},
			     err, sizeof err));
	ck_assert(!auth_load(&(struct auth_config){.issuer = ISS, .audience = AUD, .key_dir = loaddir, .leeway = 61},
			     err, sizeof err));
	ck_assert(!auth_load(&(struct auth_config){.issuer = ISS, .audience = AUD, .key_dir = loaddir, .leeway = -1},
			     err, sizeof err));
	ck_assert_uint_eq(auth_key_count(), 0);
}
END_TEST

Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *pre = tcase_create("precheck");
	TCase *claims = tcase_create("claims");
	TCase *verify = tcase_create("verify");
	TCase *loading = tcase_create("load");

	tcase_add_checked_fixture(pre, arena_setup, arena_teardown);
	tcase_add_loop_test(pre, precheck_table, 0, (int)(sizeof precheck_rows / sizeof precheck_rows[0]));
	tcase_add_test(pre, precheck_size);
	suite_add_tcase(s, pre);

	tcase_add_checked_fixture(claims, claims_setup, arena_teardown);
	tcase_add_loop_test(claims, claims_table, 0, (int)(sizeof claims_rows / sizeof claims_rows[0]));
	tcase_add_test(claims, claims_fill_identity);
	tcase_add_test(claims, claims_string_lengths);
	tcase_add_test(claims, claims_leeway_is_clamped);
	tcase_add_test(claims, claims_extreme_times);
	suite_add_tcase(s, claims);

	tcase_add_unchecked_fixture(verify, keys_setup, keys_teardown);
	tcase_add_checked_fixture(verify, verify_setup, arena_teardown);
	tcase_add_test(verify, verify_valid_rs256_es256_hs256);
	tcase_add_test(verify, verify_scheme);
	tcase_add_test(verify, verify_alg_pinned_to_kid);
	tcase_add_test(verify, verify_hs256_forged_with_public_pem);
	tcase_add_test(verify, verify_signature_length_and_bits);
	tcase_add_test(verify, verify_tampered);
	tcase_add_test(verify, verify_typ_jwt_and_at_jwt);
	tcase_add_test(verify, verify_es256_twins_same_identity);
	tcase_add_test(verify, verify_cache);
	tcase_add_test(verify, verify_size);
	tcase_set_timeout(verify, 30);
	suite_add_tcase(s, verify);

	tcase_add_unchecked_fixture(loading, loadroot_setup, loadroot_teardown);
	tcase_add_checked_fixture(loading, fresh_loaddir, NULL);
	tcase_add_test(loading, load_refuses_empty_directory);
	tcase_add_test(loading, load_refuses_missing_directory);
	tcase_add_test(loading, load_refuses_private_key);
	tcase_add_test(loading, load_refuses_rsa_1024);
	tcase_add_test(loading, load_refuses_other_curves_and_junk);
	tcase_add_test(loading, load_refuses_bad_kid_file_name);
	tcase_add_test(loading, load_hs256_secret_length);
	tcase_add_test(loading, load_refuses_bad_configuration);
	tcase_set_timeout(loading, 30);
	suite_add_tcase(s, loading);
	return s;
}
