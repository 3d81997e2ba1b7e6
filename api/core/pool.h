/*
 * pool.h - the process model: configuration, the master's scoreboard of
 * workers and the metrics they share (one anonymous shared mapping made by
 * the master before it forks).
 */
#ifndef SG_POOL_H
#define SG_POOL_H

#include <signal.h>
#include <sys/types.h>
#include "auth.h"
#include "db.h"

#define POOL_MAX_WORKERS 256
#define METRICS_NBUCKETS 12
/* the statuses counted one by one; 0 stands for any other */
#define METRICS_STATUSES                                                                                               \
	200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 412, 413, 415, 422, 428, 429, 500, 502, 503, 504, 0
#define METRICS_NSTATUS (sizeof(int[]){METRICS_STATUSES} / sizeof(int))

/* SG_IDEMPOTENCY_TTL's default: a week offline, a weekend with room to spare */
#define IDEMPOTENCY_TTL_DEFAULT (7 * 24 * 3600)

struct sg_config {
	const char *socket_path;
	const char *pid_file;
	const char *user; /* drop to this user when started as root */
	int workers;
	int max_requests;            /* recycle a worker after this many */
	int request_timeout;         /* seconds; the master kills a worker past it */
	int drain_timeout;           /* seconds to wait for in-flight requests on SIGTERM */
	long max_body;               /* bytes */
	int max_share_days;          /* the longest share window a chronology request may ask for */
	long idempotency_ttl;        /* seconds an Idempotency-Key and its answer are kept */
	long timeline_cache;         /* bytes of consolidated timelines a worker holds, 0: none */
	int rate_per_token;          /* requests a second a verified token may make (ratelimit.c) */
	int rate_burst_token;        /* and how many more at once */
	const char *cursor_key_file; /* the secrets that seal delta sync cursors (cursor.c) */
	struct db_config db;
	struct auth_config auth;
};
extern struct sg_config sg_cfg;

struct pool_slot {
	volatile pid_t pid;
	volatile int retiring;       /* replaced by SIGHUP, draining */
	volatile int64_t started_ms; /* monotonic start of the request in flight, 0 when idle */
	volatile uint64_t served;
	char route[64]; /* route name in flight */
};

struct route_metrics {
	uint64_t requests[METRICS_NSTATUS];
	uint64_t latency[METRICS_NBUCKETS + 1];
	uint64_t latency_sum_us;
};

/* Sized at start for the routes the build has: one row per route and a
 * last one for requests that matched none. */
struct metrics_shm {
	uint64_t restarts_crash, restarts_timeout, restarts_recycled;
	struct pool_slot slots[2 * POOL_MAX_WORKERS];
	size_t nroutes;
	struct route_metrics routes[];
};
extern struct metrics_shm *sg_shm;

int64_t sg_now_ms(void);
int pool_run(void);
void worker_main(int slot, int listen_fd) __attribute__((noreturn));
/* Runs fn when the worker exits normally (after the database is let go), in
 * the reverse order of registration; for a library's process-wide caches, so
 * that memcheck sees them freed rather than lost.  At most a few. */
void worker_at_exit(void (*fn)(void));
bool pool_drop_privileges(void);
bool config_load(char *err, size_t errlen);

void metrics_init(void);
void metrics_record(int route_index, int status, int64_t duration_us);
char *metrics_render(struct arena *a);

#endif
