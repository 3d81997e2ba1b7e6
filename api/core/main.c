/*
 * main.c - configuration from the environment, then the pool.
 * `safeguard-api --routes` prints the route table (the OpenAPI check uses it);
 * `safeguard-api --check` loads the configuration and keys and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cursor.h"
#include "http.h"
#include "kit.h"
#include "pool.h"
#include "ratelimit.h"

struct sg_config sg_cfg;

static const char *env_str(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

static bool env_int(const char *name, long def, long min, long max, long *out, char *err, size_t errlen)
{
	const char *v = getenv(name);
	char *end;

	if (!v || !*v) {
		*out = def;
		return true;
	}
	*out = strtol(v, &end, 10);
	/* strtol would skip leading blanks and take a sign: only digits here */
	if ((*v != '-' && (*v < '0' || *v > '9')) || *end || *out < min || *out > max) {
		snprintf(err, errlen, "%s must be an integer from %ld to %ld", name, min, max);
		return false;
	}
	return true;
}

bool config_load(char *err, size_t errlen)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), v;

	if (ncpu < 1)
		ncpu = 1;
	sg_cfg.socket_path = env_str("SG_SOCKET", "/run/safeguard/api.sock");
	sg_cfg.pid_file = env_str("SG_PID_FILE", NULL);
	sg_cfg.user = env_str("SG_USER", NULL);
	if (!env_int("SG_WORKERS", ncpu * 2 < 4 ? 4 : ncpu * 2, 1, POOL_MAX_WORKERS, &v, err, errlen))
		return false;
	sg_cfg.workers = (int)v;
	if (!env_int("SG_MAX_REQUESTS", 10000, 0, 1000000000, &v, err, errlen))
		return false;
	sg_cfg.max_requests = (int)v;
	if (!env_int("SG_REQUEST_TIMEOUT", 30, 1, 3600, &v, err, errlen))
		return false;
	sg_cfg.request_timeout = (int)v;
	if (!env_int("SG_DRAIN_TIMEOUT", 30, 1, 3600, &v, err, errlen))
		return false;
	sg_cfg.drain_timeout = (int)v;
	if (!env_int("SG_MAX_BODY", 256 * 1024, 1024, 64 * 1024 * 1024, &v, err, errlen))
		return false;
	sg_cfg.max_body = v;
	/* an invitation to a chronology request is access to children's
	 * records: never open-ended */
	if (!env_int("SG_MAX_SHARE_DAYS", 90, 1, 3650, &v, err, errlen))
		return false;
	sg_cfg.max_share_days = (int)v;
	/* an app may hold a queue of writes offline over a weekend and more: a
	 * key must outlive the queue, or its retry creates a duplicate; the
	 * stored answers hold personal data, so never more than 30 days */
	if (!env_int("SG_IDEMPOTENCY_TTL", IDEMPOTENCY_TTL_DEFAULT, 3600, 30 * 24 * 3600, &v, err, errlen))
		return false;
	sg_cfg.idempotency_ttl = v;
	/* the timelines a worker holds cost that much memory per worker; a
	 * timeline larger than half of it is sent every time, never held */
	if (!env_int("SG_TIMELINE_CACHE_MB", 32, 0, 1024, &v, err, errlen))
		return false;
	sg_cfg.timeline_cache = v << 20;
	/* the per-token rate limit, kept by the pool for verified tokens only
	 * (ratelimit.c): nginx's meaning of rate and burst */
	if (!env_int("SG_RATE_PER_TOKEN", 50, 1, RATELIMIT_MAX_RATE, &v, err, errlen))
		return false;
	sg_cfg.rate_per_token = (int)v;
	if (!env_int("SG_RATE_BURST_TOKEN", 2L * sg_cfg.rate_per_token, 0, RATELIMIT_MAX_BURST, &v, err, errlen))
		return false;
	sg_cfg.rate_burst_token = (int)v;
	/* dates such as "not in the future" are the deployment's dates, not
	 * UTC's: set here, before the workers fork, and inherited by them */
	if (!kit_time_zone(env_str("SG_TIME_ZONE", "Europe/London"), err, errlen))
		return false;

	sg_cfg.db.url = env_str("SG_DATABASE_URL", env_str("DATABASE_URL", NULL));
	sg_cfg.db.user = env_str("SG_DB_USER", NULL);
	sg_cfg.db.password = env_str("SG_DB_PASSWORD", NULL);
	if (!env_int("SG_DB_CONNECT_TIMEOUT_MS", 1000, 100, 10000, &v, err, errlen))
		return false;
	sg_cfg.db.connect_timeout_ms = (int)v;
	if (!sg_cfg.db.url) {
		snprintf(err, errlen, "SG_DATABASE_URL (or DATABASE_URL) must be set");
		return false;
	}

	sg_cfg.auth.issuer = env_str("SG_JWT_ISSUER", NULL);
	sg_cfg.auth.audience = env_str("SG_JWT_AUDIENCE", "safeguard-api");
	sg_cfg.auth.key_dir = env_str("SG_JWT_KEY_DIR", NULL);
	sg_cfg.auth.hs256_secret_file = env_str("SG_JWT_HS256_SECRET_FILE", NULL);
	sg_cfg.auth.hs256_kid = env_str("SG_JWT_HS256_KID", "hs256");
	if (!env_int("SG_JWT_LEEWAY", 30, 0, 60, &v, err, errlen))
		return false;
	sg_cfg.auth.leeway = (int)v;
	if (!env_int("SG_JWT_MAX_LIFETIME", 12 * 3600, 60, 7 * 24 * 3600, &v, err, errlen))
		return false;
	sg_cfg.auth.max_lifetime = (int)v;
	sg_cfg.cursor_key_file = env_str("SG_CURSOR_KEY_FILE", NULL);
	if (!sg_cfg.cursor_key_file) {
		snprintf(err, errlen, "SG_CURSOR_KEY_FILE must be set");
		return false;
	}
	return cursor_keys_load(sg_cfg.cursor_key_file, err, errlen) && auth_load(&sg_cfg.auth, err, errlen);
}

int main(int argc, char **argv)
{
	char err[512];

	if (argc > 1 && strcmp(argv[1], "--routes") == 0) {
		router_print();
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--check") != 0) {
		fprintf(stderr, "usage: safeguard-api [--routes | --check]\n");
		return 2;
	}
	if (!config_load(err, sizeof err)) {
		log_error("refusing to start", "s", "reason", err);
		return 1;
	}
	if (argc > 1)
		return 0;
	/* A database that is there but migrated with other files is a refusal
	 * to start; one that is not there yet is waited for (readyz says so). */
	db_configure(&sg_cfg.db);
	if (db_schema_check(err, sizeof err) == DB_ERROR) {
		log_error("refusing to start", "s", "reason", err);
		return 1;
	}
	db_disconnect(); /* never share a connection with the workers */
	return pool_run();
}
