/*
 * cursor.c - opaque pagination cursors.  A cursor carries the keyset of the
 * last row a page returned, as a JSON array of strings in base64url, behind
 * a version tag.  It grants nothing: the query that uses it still applies
 * the caller's filters and row-level security, so a forged cursor can only
 * move a position.  Anything that does not decode exactly is rejected.
 *
 * A sealed cursor ("s1.") carries the same array encrypted and authenticated
 * (AES-256-GCM, a random 96-bit nonce each time) with a key of the pool's.
 * It is for positions the caller must not read or choose: a delta sync's
 * position is in a log every agency shares, so the distance between two of
 * a caller's own positions would count the rows logged in between, whoever
 * may read them.  The keys come from one file, one secret per line: the
 * first seals, every one opens, so a key is rotated without refusing the
 * cursors devices hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include "cursor.h"
#include "b64.h"

#define CURSOR_TAG "c1."
#define SEALED_TAG "s1."
#define CURSOR_MAX 1024
#define SEAL_NONCE 12
#define SEAL_MAC 16
#define SEAL_KEYS 4

static unsigned char seal_keys[SEAL_KEYS][32];
static size_t seal_nkeys;

/* The parts of a JSON array of exactly n strings; false on anything else. */
static bool parts_from_json(struct arena *a, const unsigned char *buf, size_t len, const char **parts, size_t n)
{
	json_t *arr = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
	bool ok = false;

	if (!json_is_array(arr) || json_array_size(arr) != n)
		goto out;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);

		if (!json_is_string(s))
			goto out;
		parts[i] = arena_strdup(a, json_string_value(s));
	}
	ok = true;
out:
	json_decref(arr);
	return ok;
}

/* The JSON text of n strings; the caller frees it. */
static char *parts_to_json(const char *const *parts, size_t n)
{
	json_t *arr = json_array();
	char *raw;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(parts[i]));
	raw = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (!raw)
		abort();
	return raw;
}

/* tag + the base64url of n bytes, in the arena */
static char *tagged_b64(struct arena *a, const char *tag, const unsigned char *in, size_t n)
{
	size_t t = strlen(tag), cap = t + (n * 4) / 3 + 4;
	char *out = arena_alloc(a, cap);

	memcpy(out, tag, t);
	b64url_encode(in, n, out + t, cap - t);
	return out;
}

char *cursor_encode(struct arena *a, const char *const *parts, size_t n)
{
	char *raw = parts_to_json(parts, n), *out;

	out = tagged_b64(a, CURSOR_TAG, (const unsigned char *)raw, strlen(raw));
	free(raw);
	return out;
}

bool cursor_decode(struct arena *a, const char *cursor, const char **parts, size_t n)
{
	size_t len = strlen(cursor), tag = strlen(CURSOR_TAG);
	unsigned char *buf;
	long blen;

	if (len <= tag || len > CURSOR_MAX || strncmp(cursor, CURSOR_TAG, tag) != 0)
		return false;
	buf = arena_alloc(a, len);
	blen = b64url_decode(cursor + tag, len - tag, buf, len);
	if (blen <= 0)
		return false;
	return parts_from_json(a, buf, (size_t)blen, parts, n);
}

/* ---- sealed cursors ------------------------------------------------------ */

bool cursor_keys_load(const char *path, char *err, size_t errlen)
{
	unsigned char keys[SEAL_KEYS][32];
	size_t nkeys = 0;
	char line[4096];
	FILE *f = path && *path ? fopen(path, "r") : NULL;
	bool ok = false;

	if (!f) {
		snprintf(err, errlen, "cannot read the cursor key file %s", path && *path ? path : "(unset)");
		return false;
	}
	while (fgets(line, sizeof line, f)) {
		size_t n = strlen(line);
		unsigned int klen = 32;

		/* a line fgets cut would be read as two secrets, the first of
		 * them one the operator never wrote: refused, not guessed at */
		if (n == sizeof line - 1 && line[n - 1] != '\n') {
			snprintf(err, errlen, "a secret in the cursor key file is longer than %d characters",
				 (int)sizeof line - 2);
			goto out;
		}
		while (n > 0 &&
		       (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (n < 32 || nkeys == SEAL_KEYS) {
			snprintf(err, errlen,
				 "the cursor key file must hold 1 to %d secrets of at least 32 characters, one a line",
				 SEAL_KEYS);
			goto out;
		}
		/* a key of its own for cursors, whatever else the secret serves */
		if (!HMAC(EVP_sha256(), line, (int)n, (const unsigned char *)"safeguard sealed cursor v1", 26,
			  keys[nkeys], &klen) ||
		    klen != 32)
			abort();
		nkeys++;
	}
	if (nkeys == 0) {
		snprintf(err, errlen, "the cursor key file %s holds no secret", path);
		goto out;
	}
	memcpy(seal_keys, keys, sizeof keys);
	seal_nkeys = nkeys;
	ok = true;
out:
	OPENSSL_cleanse(keys, sizeof keys);
	OPENSSL_cleanse(line, sizeof line);
	fclose(f);
	return ok;
}

/* AES-256-GCM with key k: encrypts (enc) or decrypts len bytes of in into
 * out, the tag authenticated as additional data; mac is written or checked.
 * false when the MAC does not match. */
static bool seal_crypt(bool enc, const unsigned char *k, const unsigned char *nonce, const unsigned char *in, int len,
		       unsigned char *out, unsigned char *mac)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok;

	if (!c)
		abort();
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE, NULL) &&
	     EVP_CipherInit_ex(c, NULL, NULL, k, nonce, enc) &&
	     EVP_CipherUpdate(c, NULL, &n, (const unsigned char *)SEALED_TAG, (int)strlen(SEALED_TAG)) &&
	     EVP_CipherUpdate(c, out, &n, in, len) &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_MAC, mac)) &&
	     EVP_CipherFinal_ex(c, out + n, &fin) &&
	     (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_MAC, mac));
	EVP_CIPHER_CTX_free(c);
	if (enc && !ok)
		abort(); /* encryption with a loaded key does not fail */
	return ok;
}

char *cursor_seal(struct arena *a, const char *const *parts, size_t n)
{
	char *raw = parts_to_json(parts, n), *out, *padded;
	/* padded with blanks (JSON's own) to a multiple of 64 bytes, so that
	 * the length says nothing of how many digits a position has */
	size_t len = (strlen(raw) / 64 + 1) * 64;
	unsigned char *buf = arena_alloc(a, SEAL_NONCE + len + SEAL_MAC);

	if (seal_nkeys == 0 || RAND_bytes(buf, SEAL_NONCE) != 1)
		abort(); /* the configuration loads a key before any request */
	padded = arena_alloc(a, len);
	memset(padded, ' ', len);
	memcpy(padded, raw, strlen(raw));
	seal_crypt(true, seal_keys[0], buf, (const unsigned char *)padded, (int)len, buf + SEAL_NONCE,
		   buf + SEAL_NONCE + len);
	out = tagged_b64(a, SEALED_TAG, buf, SEAL_NONCE + len + SEAL_MAC);
	free(raw);
	return out;
}

bool cursor_open(struct arena *a, const char *cursor, const char **parts, size_t n)
{
	size_t len = strlen(cursor), tag = strlen(SEALED_TAG), plen;
	unsigned char *buf, *plain;
	long blen;

	if (len <= tag || len > CURSOR_MAX || strncmp(cursor, SEALED_TAG, tag) != 0)
		return false;
	buf = arena_alloc(a, len);
	blen = b64url_decode(cursor + tag, len - tag, buf, len);
	if (blen <= SEAL_NONCE + SEAL_MAC)
		return false;
	plen = (size_t)blen - SEAL_NONCE - SEAL_MAC;
	plain = arena_alloc(a, plen + 1);
	for (size_t k = 0; k < seal_nkeys; k++)
		if (seal_crypt(false, seal_keys[k], buf, buf + SEAL_NONCE, (int)plen, plain, buf + SEAL_NONCE + plen))
			return parts_from_json(a, plain, plen, parts, n);
	return false;
}
