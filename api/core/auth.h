/*
 * auth.h - bearer tokens: key loading, the shape and header checks, signature
 * verification with OpenSSL, claim validation and the per-worker cache of
 * verified tokens.
 */
#ifndef SG_AUTH_H
#define SG_AUTH_H

#include "sg.h"

#define AUTH_MAX_TOKEN 8192

struct auth_config {
	const char *issuer;
	const char *audience;
	const char *key_dir;           /* <kid>.pem public keys: RSA >= 2048 bits (RS256), P-256 (ES256) */
	const char *hs256_secret_file; /* NULL: HS256 off */
	const char *hs256_kid;
	int leeway;       /* seconds, at most 60 */
	int max_lifetime; /* seconds between iat and exp */
};

/* Loads the keys (master, before forking).  Returns false with a reason. */
bool auth_load(const struct auth_config *c, char *err, size_t errlen);
size_t auth_key_count(void);

enum auth_result { AUTH_OK, AUTH_MISSING, AUTH_INVALID };

/* Verifies an Authorization header value; fills *id.  *why is static text. */
enum auth_result auth_verify(const char *authorization, int64_t now, struct sg_identity *id, const char **why);

/* The steps of auth_verify, exposed for unit tests and fuzzing. */
struct auth_header {
	char alg[16];
	char kid[65];
};
/* Shape of the token and its decoded header: no key or signature involved. */
bool auth_precheck(const char *token, size_t len, struct auth_header *h, const char **why);
/* Claims of a decoded payload against the configuration and the clock. */
bool auth_check_claims(json_t *payload, int64_t now, struct sg_identity *id, const char **why);
/* Configure claim checks without keys (unit tests). */
void auth_configure_claims(const struct auth_config *c);
void auth_cache_clear(void);

#endif
