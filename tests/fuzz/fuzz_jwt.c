/* Bearer tokens before any key is involved: the shape checks, the header we
 * decode ourselves, and claim validation of whatever payload decodes. */
#include "common.h"
#include "b64.h"
#include "auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool configured;
	struct arena *a = fuzz_arena();
	struct auth_header h;
	struct sg_identity id;
	const char *why = NULL, *tok = fuzz_string(a, data, size);
	unsigned char buf[AUTH_MAX_TOKEN];
	const char *dot;

	if (!configured) {
		struct auth_config c = {.issuer = "https://idp.safeguard.test",
					.audience = "safeguard-api",
					.leeway = 30,
					.max_lifetime = 43200};

		auth_configure_claims(&c);
		configured = true;
	}
	if (auth_precheck(tok, strlen(tok), &h, &why)) {
		if (!*h.alg || !*h.kid)
			abort(); /* a passing header always has both */
		dot = strchr(tok, '.');
		if (dot) {
			const char *dot2 = strchr(dot + 1, '.');
			long n = dot2 ? b64url_decode(dot + 1, (size_t)(dot2 - dot - 1), buf, sizeof buf) : -1;

			if (n > 0) {
				json_t *p = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);

				if (json_is_object(p))
					auth_check_claims(p, 1800000000, &id, &why);
				json_decref(p);
			}
		}
	} else if (!why) {
		abort();
	}
	/* the verifier as a whole must refuse without keys, never crash */
	if (size < 9000) {
		char *hdr = arena_printf(a, "Bearer %s", tok);

		if (auth_verify(hdr, 1800000000, &id, &why) == AUTH_OK)
			abort();
	}
	return 0;
}
