/*
 * token.c - `make token`: mints a development token signed with an
 * instance's private key, so that a newcomer and the test suites can call the
 * API.  Every claim can be overridden from the environment (see README), so
 * expired, early, foreign and revocable tokens are one variable away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

static const char *env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	if (*end) {
		fprintf(stderr, "token: %s must be an integer\n", name);
		exit(2);
	}
	return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(65537);
	size_t n;

	if (!f || !buf) {
		fprintf(stderr, "token: cannot read %s (run make run or make test first)\n", path);
		exit(1);
	}
	n = fread(buf, 1, 65536, f);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* A JSON array of strings from a comma-separated list. */
static char *json_list(const char *name, const char *csv)
{
	size_t cap = strlen(csv) * 2 + strlen(name) + 16, o;
	char *out = malloc(cap);
	const char *p = csv;

	o = (size_t)snprintf(out, cap, "{\"%s\":[", name);
	while (*p) {
		size_t len = strcspn(p, ",");

		o += (size_t)snprintf(out + o, cap - o, "%s\"%.*s\"", p == csv ? "" : ",", (int)len, p);
		p += len;
		if (*p == ',')
			p++;
	}
	snprintf(out + o, cap - o, "]}");
	return out;
}

int main(void)
{
	const char *dir = env("SG_KEYS", NULL), *kid = env("KID", "dev-rs256");
	char path[4096], jti[33];
	unsigned char rnd[16], *key;
	size_t keylen;
	long now = (long)time(NULL), iat = env_long("IAT", now), ttl = env_long("TTL", 3600);
	jwt_alg_t alg = JWT_ALG_RS256;
	jwt_t *jwt = NULL;
	char *tok, *roles;
	BIO *bio;
	EVP_PKEY *pk;

	if (!dir) {
		fprintf(stderr, "token: SG_KEYS must name the private key directory\n");
		return 2;
	}
	snprintf(path, sizeof path, "%s/%s.pem", dir, kid);
	key = slurp(path, &keylen);
	bio = BIO_new_mem_buf(key, (int)keylen);
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (!pk) {
		fprintf(stderr, "token: %s is not a private key\n", path);
		return 1;
	}
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC)
		alg = JWT_ALG_ES256;
	EVP_PKEY_free(pk);
	BIO_free(bio);
	RAND_bytes(rnd, sizeof rnd);
	for (size_t i = 0; i < sizeof rnd; i++)
		sprintf(jti + 2 * i, "%02x", rnd[i]);
	roles = json_list("roles", env("ROLES", "practitioner"));

	if (jwt_new(&jwt) || jwt_set_alg(jwt, alg, key, (int)keylen) || jwt_add_header(jwt, "kid", kid) ||
	    jwt_add_grant(jwt, "iss", env("ISS", env("SG_JWT_ISSUER", "https://idp.safeguard.test"))) ||
	    jwt_add_grant(jwt, "aud", env("AUD", env("SG_JWT_AUDIENCE", "safeguard-api"))) ||
	    jwt_add_grant(jwt, "sub", env("SUB", "alice")) || jwt_add_grant(jwt, "agency", env("AGENCY", "police")) ||
	    jwt_add_grants_json(jwt, roles) || jwt_add_grant(jwt, "jti", env("JTI", jti)) ||
	    jwt_add_grant_int(jwt, "iat", iat) || jwt_add_grant_int(jwt, "exp", env_long("EXP", iat + ttl))) {
		fprintf(stderr, "token: cannot build the token\n");
		return 1;
	}
	if ((getenv("NAME") && jwt_add_grant(jwt, "name", env("NAME", ""))) ||
	    (getenv("EMAIL") && jwt_add_grant(jwt, "email", env("EMAIL", ""))) ||
	    (getenv("NBF") && jwt_add_grant_int(jwt, "nbf", env_long("NBF", now)))) {
		fprintf(stderr, "token: cannot build the token\n");
		return 1;
	}
	tok = jwt_encode_str(jwt);
	if (!tok) {
		fprintf(stderr, "token: signing failed\n");
		return 1;
	}
	printf("%s\n", tok);
	free(tok);
	free(roles);
	free(key);
	jwt_free(jwt);
	return 0;
}
