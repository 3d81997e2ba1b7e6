/*
 * auth.c - bearer token verification.
 *
 * libjwt 1.10.2 trusts the token's own "alg", never checks exp/nbf/iss/aud,
 * checks no signature when given an empty key, its base64 decoder skips junk
 * characters, and it refuses any "typ" but "JWT" (so RFC 9068 access tokens,
 * typ "at+jwt", fail as if badly signed).  So libjwt is not used here at all:
 * the token is checked before any key is used (its size, exactly three
 * segments of base64url characters, a header we decode ourselves with
 * duplicates rejected, no jku/x5u/jwk/x5c/crit, no enc/zip (a JWE), typ JWT
 * or at+jwt, a kid we know and an alg equal to the one pinned to that kid's
 * key), the signature
 * is verified with OpenSSL using that key only (RS256: PKCS #1 v1.5 with
 * SHA-256; ES256: R || S on P-256; HS256: HMAC-SHA-256 compared in constant time), and
 * the claims are validated from our own strict decoding of the payload.
 *
 * Verified tokens are cached per worker, keyed by their SHA-256, until they
 * expire; revocation is checked in the database on every request.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include "auth.h"
#include "b64.h"

#define AUTH_MAX_KEYS 32
#define AUTH_CACHE_SLOTS 512

enum auth_alg { ALG_RS256, ALG_ES256, ALG_HS256 };

struct auth_key {
	char kid[65];
	char alg[8]; /* "RS256", "ES256", "HS256" */
	enum auth_alg type;
	EVP_PKEY *pkey;          /* RS256 and ES256: the public key, parsed once */
	unsigned char *material; /* PEM text, or the HMAC secret */
	size_t len;
	size_t sig_len; /* decoded signature length the alg produces */
};

static struct auth_config auth_cfg;
static struct auth_key auth_keys[AUTH_MAX_KEYS];
static size_t auth_nkeys;

struct auth_cache_entry {
	unsigned char hash[SHA256_DIGEST_LENGTH];
	bool used;
	struct sg_identity id;
};
static struct auth_cache_entry auth_cache[AUTH_CACHE_SLOTS];

void auth_configure_claims(const struct auth_config *c)
{
	auth_cfg = *c;
	if (auth_cfg.leeway < 0 || auth_cfg.leeway > 60)
		auth_cfg.leeway = 60;
}

size_t auth_key_count(void)
{
	return auth_nkeys;
}

void auth_cache_clear(void)
{
	memset(auth_cache, 0, sizeof auth_cache);
}

static unsigned char *read_file(const char *path, size_t *len, size_t max)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf)
		goto out;
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = n;
out:
	fclose(f);
	return buf;
}

/* Pins the algorithm to the key's type: RSA >= 2048 -> RS256, P-256 -> ES256. */
static bool key_classify(struct auth_key *k, char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(k->material, (int)k->len);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	bool ok = false;
	char group[64] = "";

	if (!pkey) {
		snprintf(err, errlen, "key %s is not a PEM public key", k->kid);
		goto out;
	}
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pkey) < 2048) {
			snprintf(err, errlen, "key %s: RSA keys must have at least 2048 bits", k->kid);
			goto out;
		}
		strcpy(k->alg, "RS256");
		k->type = ALG_RS256;
		k->sig_len = (size_t)EVP_PKEY_get_size(pkey);
		ok = true;
		break;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) ||
		    strcmp(group, "prime256v1") != 0) {
			snprintf(err, errlen, "key %s: EC keys must be on P-256", k->kid);
			goto out;
		}
		strcpy(k->alg, "ES256");
		k->type = ALG_ES256;
		k->sig_len = 64;
		ok = true;
		break;
	default:
		snprintf(err, errlen, "key %s: only RSA and P-256 keys are supported", k->kid);
		break;
	}
out:
	if (ok)
		k->pkey = pkey;
	else
		EVP_PKEY_free(pkey);
	BIO_free(bio);
	return ok;
}

static bool kid_ok(const char *kid)
{
	size_t n = strlen(kid);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = kid[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return false;
	}
	return true;
}

static void keys_free(void)
{
	for (size_t i = 0; i < auth_nkeys; i++) {
		OPENSSL_cleanse(auth_keys[i].material, auth_keys[i].len);
		free(auth_keys[i].material);
		EVP_PKEY_free(auth_keys[i].pkey);
	}
	memset(auth_keys, 0, sizeof auth_keys);
	auth_nkeys = 0;
}

bool auth_load(const struct auth_config *c, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *e;

	keys_free();
	auth_cache_clear();
	auth_configure_claims(c);
	if (!c->issuer || !*c->issuer || !c->audience || !*c->audience) {
		snprintf(err, errlen, "an issuer and an audience must be configured");
		return false;
	}
	if (c->leeway < 0 || c->leeway > 60) {
		snprintf(err, errlen, "the clock leeway must be between 0 and 60 seconds");
		return false;
	}
	d = c->key_dir ? opendir(c->key_dir) : NULL;
	if (!d) {
		snprintf(err, errlen, "cannot open the key directory %s: %s", c->key_dir ? c->key_dir : "(unset)",
			 strerror(errno));
		return false;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		struct auth_key *k;
		char path[4096];

		if (n < 5 || strcmp(e->d_name + n - 4, ".pem") != 0)
			continue;
		if (auth_nkeys == AUTH_MAX_KEYS) {
			snprintf(err, errlen, "too many keys in %s", c->key_dir);
			goto fail;
		}
		k = &auth_keys[auth_nkeys];
		snprintf(k->kid, sizeof k->kid, "%.*s", (int)(n - 4), e->d_name);
		if (n - 4 >= sizeof k->kid || !kid_ok(k->kid)) {
			snprintf(err, errlen, "key file name %s is not a valid kid", e->d_name);
			goto fail;
		}
		snprintf(path, sizeof path, "%s/%s", c->key_dir, e->d_name);
		k->material = read_file(path, &k->len, 64 * 1024);
		if (!k->material || k->len == 0) {
			snprintf(err, errlen, "key %s is empty or unreadable", path);
			free(k->material);
			k->material = NULL;
			goto fail;
		}
		auth_nkeys++;
		if (!key_classify(k, err, errlen))
			goto fail;
	}
	closedir(d);
	d = NULL;
	if (c->hs256_secret_file && *c->hs256_secret_file) {
		struct auth_key *k = &auth_keys[auth_nkeys];
		size_t len;

		if (auth_nkeys == AUTH_MAX_KEYS || !c->hs256_kid || !kid_ok(c->hs256_kid)) {
			snprintf(err, errlen, "HS256 needs a valid kid");
			goto fail;
		}
		k->material = read_file(c->hs256_secret_file, &len, 4096);
		while (k->material && len > 0 && (k->material[len - 1] == '\n' || k->material[len - 1] == '\r'))
			k->material[--len] = '\0';
		if (!k->material || len < 32) {
			snprintf(err, errlen, "the HS256 secret must be readable and at least 32 bytes");
			free(k->material);
			k->material = NULL;
			goto fail;
		}
		k->len = len;
		snprintf(k->kid, sizeof k->kid, "%s", c->hs256_kid);
		strcpy(k->alg, "HS256");
		k->type = ALG_HS256;
		k->sig_len = 32;
		auth_nkeys++;
	}
	if (auth_nkeys == 0) {
		snprintf(err, errlen, "no keys in %s", c->key_dir);
		return false;
	}
	for (size_t i = 0; i < auth_nkeys; i++)
		for (size_t j = i + 1; j < auth_nkeys; j++)
			if (strcmp(auth_keys[i].kid, auth_keys[j].kid) == 0) {
				snprintf(err, errlen, "kid %s is configured twice", auth_keys[i].kid);
				goto fail;
			}
	return true;
fail:
	if (d)
		closedir(d);
	keys_free();
	return false;
}

static const struct auth_key *key_find(const char *kid)
{
	for (size_t i = 0; i < auth_nkeys; i++)
		if (strcmp(auth_keys[i].kid, kid) == 0)
			return &auth_keys[i];
	return NULL;
}

/* Decodes a base64url JSON object segment strictly; a new reference or NULL. */
static json_t *segment_json(const char *s, size_t n)
{
	unsigned char buf[AUTH_MAX_TOKEN];
	long len = b64url_decode(s, n, buf, sizeof buf);
	json_t *j;

	if (len <= 0)
		return NULL;
	j = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* typ, when present: "JWT" or the RFC 9068 access token type "at+jwt", in
 * any case, with or without the "application/" prefix (RFC 7515 4.1.9). */
static bool typ_ok(json_t *v)
{
	const char *t;

	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return false;
	t = json_string_value(v);
	if (strncasecmp(t, "application/", 12) == 0)
		t += 12;
	return strcasecmp(t, "JWT") == 0 || strcasecmp(t, "at+jwt") == 0;
}

bool auth_precheck(const char *token, size_t len, struct auth_header *h, const char **why)
{
	const char *dot1, *dot2;
	json_t *hdr = NULL, *v;
	const char *key;
	bool ok = false;

	memset(h, 0, sizeof *h);
	*why = "malformed token";
	if (len == 0 || len > AUTH_MAX_TOKEN) {
		*why = len ? "token too large" : "empty token";
		return false;
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
		*why = "a token has exactly three segments";
		return false;
	}
	if (dot1 == token || dot2 == dot1 + 1 || dot2 + 1 == token + len) {
		*why = "empty token segment";
		return false;
	}
	if (!b64url_chars_only(token, (size_t)(dot1 - token)) ||
	    !b64url_chars_only(dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
	    !b64url_chars_only(dot2 + 1, len - (size_t)(dot2 + 1 - token))) {
		*why = "token segments must be base64url";
		return false;
	}
	hdr = segment_json(token, (size_t)(dot1 - token));
	if (!hdr) {
		*why = "token header is not a JSON object without duplicate keys";
		return false;
	}
	json_object_foreach(hdr, key, v) {
		if (!strcmp(key, "jku") || !strcmp(key, "x5u") || !strcmp(key, "jwk") || !strcmp(key, "x5c") ||
		    !strcmp(key, "crit") || !strcmp(key, "b64")) {
			*why = "token header parameter not allowed";
			goto out;
		}
		/* enc (and zip, which only JWE uses) mark an encrypted token: a
		 * token is accepted only as a signed JWS */
		if (!strcmp(key, "enc") || !strcmp(key, "zip")) {
			*why = "token header has enc or zip: encrypted tokens (JWE) are not accepted";
			goto out;
		}
	}
	v = json_object_get(hdr, "alg");
	if (!json_is_string(v) || json_string_length(v) >= sizeof h->alg) {
		*why = "token header has no valid alg";
		goto out;
	}
	strcpy(h->alg, json_string_value(v));
	v = json_object_get(hdr, "kid");
	if (!json_is_string(v) || !kid_ok(json_string_value(v))) {
		*why = "token header has no valid kid";
		goto out;
	}
	strcpy(h->kid, json_string_value(v));
	v = json_object_get(hdr, "typ");
	if (v && !typ_ok(v)) {
		*why = "token header typ must be JWT or at+jwt";
		goto out;
	}
	ok = true;
out:
	json_decref(hdr);
	return ok;
}

static bool claim_string(json_t *payload, const char *name, bool required, char *out, size_t cap)
{
	json_t *v = json_object_get(payload, name);

	if (!v)
		return !required;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return false;
	strcpy(out, json_string_value(v));
	return true;
}

static bool claim_int(json_t *payload, const char *name, bool required, int64_t *out)
{
	json_t *v = json_object_get(payload, name);

	if (!v)
		return !required;
	if (!json_is_integer(v))
		return false;
	*out = (int64_t)json_integer_value(v);
	return true;
}

bool auth_check_claims(json_t *payload, int64_t now, struct sg_identity *id, const char **why)
{
	char iss[256], agency[32];
	int64_t nbf = 0;
	json_t *aud, *roles, *r;
	size_t i;
	int leeway = auth_cfg.leeway;

	memset(id, 0, sizeof *id);
	if (!claim_string(payload, "iss", true, iss, sizeof iss) || strcmp(iss, auth_cfg.issuer) != 0) {
		*why = "token issuer is not accepted";
		return false;
	}
	strcpy(id->iss, iss);
	aud = json_object_get(payload, "aud");
	if (json_is_string(aud)) {
		if (strcmp(json_string_value(aud), auth_cfg.audience) != 0) {
			*why = "token audience is not accepted";
			return false;
		}
	} else if (json_is_array(aud) && json_array_size(aud) > 0 && json_array_size(aud) <= 16) {
		bool found = false;

		json_array_foreach(aud, i, r) {
			if (!json_is_string(r)) {
				*why = "token audience is not accepted";
				return false;
			}
			if (strcmp(json_string_value(r), auth_cfg.audience) == 0)
				found = true;
		}
		if (!found) {
			*why = "token audience is not accepted";
			return false;
		}
	} else {
		*why = "token audience is not accepted";
		return false;
	}
	if (!claim_string(payload, "sub", true, id->sub, sizeof id->sub)) {
		*why = "token subject is missing or invalid";
		return false;
	}
	if (!claim_int(payload, "exp", true, &id->exp) || !claim_int(payload, "iat", true, &id->iat) ||
	    !claim_int(payload, "nbf", false, &nbf)) {
		*why = "token exp, iat and nbf must be integers (exp and iat are required)";
		return false;
	}
	/* written so that no claim value is added to or subtracted from in a
	 * way that could overflow: the clock and the limits are small */
	if (id->exp < now - leeway) {
		*why = "token expired";
		return false;
	}
	if (id->iat > now + leeway || nbf > now + leeway) {
		*why = "token not valid yet";
		return false;
	}
	if (id->exp <= id->iat || id->iat < id->exp - auth_cfg.max_lifetime) {
		*why = "token lifetime is longer than allowed";
		return false;
	}
	if (!claim_string(payload, "agency", true, agency, sizeof agency) ||
	    (id->agency = sg_agency_lookup(agency)) < 0) {
		*why = "token agency is not one of the partnership's agencies";
		return false;
	}
	roles = json_object_get(payload, "roles");
	if (!json_is_array(roles) || json_array_size(roles) == 0 || json_array_size(roles) > ROLE__COUNT) {
		*why = "token roles must be a non-empty array";
		return false;
	}
	json_array_foreach(roles, i, r) {
		int role = json_is_string(r) ? sg_role_lookup(json_string_value(r)) : -1;

		if (role < 0 || (id->roles & ROLE_BIT(role))) {
			*why = "token roles are not on the allow-list";
			return false;
		}
		id->roles |= ROLE_BIT(role);
		if (i)
			strcat(id->roles_csv, ",");
		strcat(id->roles_csv, sg_role_names[role]);
	}
	if ((id->roles & ROLE_BIT(ROLE_SOCIAL_WORKER)) && id->agency != AGENCY_CSC) {
		*why = "the social_worker role belongs to children's social care";
		return false;
	}
	if (!claim_string(payload, "jti", false, id->jti, sizeof id->jti) ||
	    !claim_string(payload, "name", false, id->name, sizeof id->name) ||
	    !claim_string(payload, "email", false, id->email, sizeof id->email)) {
		*why = "token jti, name and email must be non-empty strings of at most 200 characters";
		return false;
	}
	return true;
}

/* The DER form OpenSSL verifies from a JWS ES256 signature (R || S, 32 bytes
 * each, big-endian); 0 on failure.
 *
 * For every valid (R, S) the twin (R, n - S) verifies too.  Both are
 * accepted, as RFC 7518 requires: most signers (OpenSSL among them) do not
 * normalise S, so refusing the high half would refuse about half of a
 * standard identity provider's tokens.  The twin gains nothing: both carry
 * the same claims, revocation is by jti, and nginx's per-token rate limit is
 * keyed on header.payload, which the twins share. */
static size_t es256_der(const unsigned char *sig, unsigned char *der, size_t cap)
{
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	ECDSA_SIG *es = NULL;
	unsigned char *p = der;
	int n = 0;

	if (!r || !s)
		goto out;
	es = ECDSA_SIG_new();
	if (!es || !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL; /* owned by es now */
	n = i2d_ECDSA_SIG(es, NULL);
	if (n <= 0 || (size_t)n > cap || i2d_ECDSA_SIG(es, &p) != n)
		n = 0;
out:
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return n > 0 ? (size_t)n : 0;
}

/* The signature over header.payload with the key pinned to the kid only. */
static bool signature_ok(const char *token, const struct auth_key *k, const char **why)
{
	const char *dot = strrchr(token, '.');
	const unsigned char *input = (const unsigned char *)token;
	size_t inlen = (size_t)(dot - token);
	unsigned char sig[1024], der[80], mac[EVP_MAX_MD_SIZE];
	long siglen = b64url_decode(dot + 1, strlen(dot + 1), sig, sizeof sig);
	size_t maclen = 0, derlen;
	EVP_MD_CTX *ctx;
	bool ok = false;

	*why = "token signature is invalid";
	if (siglen < 0 || (size_t)siglen != k->sig_len)
		return false;
	switch (k->type) {
	case ALG_HS256:
		if (k->len == 0 || !EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->material, k->len, input, inlen,
					      mac, sizeof mac, &maclen))
			break;
		ok = maclen == (size_t)siglen && CRYPTO_memcmp(mac, sig, maclen) == 0;
		break;
	case ALG_ES256:
		derlen = es256_der(sig, der, sizeof der);
		if (derlen == 0)
			break;
		ctx = EVP_MD_CTX_new();
		ok = ctx && k->pkey && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		     EVP_DigestVerify(ctx, der, derlen, input, inlen) == 1;
		EVP_MD_CTX_free(ctx);
		break;
	case ALG_RS256:
		ctx = EVP_MD_CTX_new();
		ok = ctx && k->pkey && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
		     EVP_DigestVerify(ctx, sig, (size_t)siglen, input, inlen) == 1;
		EVP_MD_CTX_free(ctx);
		break;
	}
	ERR_clear_error();
	OPENSSL_cleanse(mac, sizeof mac);
	return ok;
}

enum auth_result auth_verify(const char *authorization, int64_t now, struct sg_identity *id, const char **why)
{
	unsigned char hash[SHA256_DIGEST_LENGTH];
	struct auth_cache_entry *slot;
	struct auth_header h;
	const struct auth_key *k;
	const char *token, *dot1, *dot2;
	json_t *payload;
	size_t len;
	bool ok;

	if (!authorization || !*authorization) {
		*why = "no bearer token";
		return AUTH_MISSING;
	}
	if (strncasecmp(authorization, "Bearer ", 7) != 0) {
		*why = "the Authorization scheme must be Bearer";
		return AUTH_INVALID;
	}
	token = authorization + 7;
	while (*token == ' ')
		token++;
	len = strlen(token);
	if (len == 0) {
		*why = "empty token";
		return AUTH_INVALID;
	}
	if (len > AUTH_MAX_TOKEN) {
		*why = "token too large";
		return AUTH_INVALID;
	}
	SHA256((const unsigned char *)token, len, hash);
	slot = &auth_cache[(hash[0] | (hash[1] << 8)) % AUTH_CACHE_SLOTS];
	if (slot->used && memcmp(slot->hash, hash, sizeof hash) == 0) {
		if (now <= slot->id.exp + auth_cfg.leeway) {
			*id = slot->id;
			return AUTH_OK;
		}
		slot->used = false;
		*why = "token expired";
		return AUTH_INVALID;
	}
	if (!auth_precheck(token, len, &h, why))
		return AUTH_INVALID;
	k = key_find(h.kid);
	if (!k) {
		*why = "token key id is not known";
		return AUTH_INVALID;
	}
	if (strcmp(h.alg, k->alg) != 0) {
		*why = "token algorithm does not match its key";
		return AUTH_INVALID;
	}
	dot1 = strchr(token, '.');
	dot2 = strchr(dot1 + 1, '.');
	payload = segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!payload) {
		*why = "token payload is not a JSON object without duplicate keys";
		return AUTH_INVALID;
	}
	ok = signature_ok(token, k, why) && auth_check_claims(payload, now, id, why);
	json_decref(payload);
	if (!ok)
		return AUTH_INVALID;
	memcpy(slot->hash, hash, sizeof hash);
	slot->id = *id;
	slot->used = true;
	return AUTH_OK;
}
