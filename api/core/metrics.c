/*
 * metrics.c - Prometheus counters shared by every worker through the
 * master's shared mapping: requests by route and status, a latency
 * histogram per route and worker restarts by cause.  Workers add with
 * atomic increments; the text is rendered on demand by whichever worker
 * answers /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "http.h"
#include "pool.h"

struct metrics_shm *sg_shm;

static const int metrics_statuses[] = {METRICS_STATUSES};
#define NSTATUS METRICS_NSTATUS
static const double metrics_buckets_ms[METRICS_NBUCKETS] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};

void metrics_init(void)
{
	size_t nroutes = router_count();

	sg_shm = mmap(NULL, sizeof *sg_shm + (nroutes + 1) * sizeof sg_shm->routes[0], PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sg_shm == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	sg_shm->nroutes = nroutes;
}

static size_t status_index(int status)
{
	for (size_t i = 0; i + 1 < NSTATUS; i++)
		if (metrics_statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

void metrics_record(int route_index, int status, int64_t duration_us)
{
	size_t r = route_index >= 0 && (size_t)route_index < sg_shm->nroutes ? (size_t)route_index : sg_shm->nroutes;
	struct route_metrics *rm = &sg_shm->routes[r];
	size_t b = 0;

	while (b < METRICS_NBUCKETS && (double)duration_us / 1000.0 > metrics_buckets_ms[b])
		b++;
	__atomic_add_fetch(&rm->requests[status_index(status)], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&rm->latency[b], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&rm->latency_sum_us, (uint64_t)duration_us, __ATOMIC_RELAXED);
}

static const char *route_label(size_t r)
{
	const struct route *rt = r < sg_shm->nroutes ? router_at(r) : NULL;

	return rt ? rt->name : "unmatched";
}

char *metrics_render(struct arena *a)
{
	size_t nroutes = sg_shm->nroutes;
	/* every line is under 200 bytes: room for all of them */
	size_t cap = 4096 + (nroutes + 1) * (NSTATUS + METRICS_NBUCKETS + 4) * 200, o = 0;
	char *out = arena_alloc(a, cap);

#define EMIT(...)                                                                                                      \
	do {                                                                                                           \
		int w_ = snprintf(out + o, cap - o, __VA_ARGS__);                                                      \
		if (w_ > 0 && (size_t)w_ < cap - o)                                                                    \
			o += (size_t)w_;                                                                               \
	} while (0)

	EMIT("# HELP safeguard_requests_total Requests answered by the pool, by route and status.\n"
	     "# TYPE safeguard_requests_total counter\n");
	for (size_t r = 0; r <= nroutes; r++) {
		for (size_t s = 0; s < NSTATUS; s++) {
			uint64_t v = __atomic_load_n(&sg_shm->routes[r].requests[s], __ATOMIC_RELAXED);

			if (v)
				EMIT("safeguard_requests_total{route=\"%s\",status=\"%s%d\"} %llu\n", route_label(r),
				     metrics_statuses[s] ? "" : "other", metrics_statuses[s] ? metrics_statuses[s] : 0,
				     (unsigned long long)v);
		}
	}
	EMIT("# HELP safeguard_request_duration_seconds Time from accepting a request to writing its answer.\n"
	     "# TYPE safeguard_request_duration_seconds histogram\n");
	for (size_t r = 0; r <= nroutes; r++) {
		const struct route_metrics *rm = &sg_shm->routes[r];
		uint64_t cum = 0;

		for (size_t b = 0; b <= METRICS_NBUCKETS; b++)
			cum += __atomic_load_n(&rm->latency[b], __ATOMIC_RELAXED);
		if (!cum)
			continue;
		cum = 0;
		for (size_t b = 0; b <= METRICS_NBUCKETS; b++) {
			cum += __atomic_load_n(&rm->latency[b], __ATOMIC_RELAXED);
			if (b < METRICS_NBUCKETS)
				EMIT("safeguard_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
				     route_label(r), metrics_buckets_ms[b] / 1000.0, (unsigned long long)cum);
			else
				EMIT("safeguard_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
				     route_label(r), (unsigned long long)cum);
		}
		EMIT("safeguard_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(r),
		     (double)__atomic_load_n(&rm->latency_sum_us, __ATOMIC_RELAXED) / 1e6);
		EMIT("safeguard_request_duration_seconds_count{route=\"%s\"} %llu\n", route_label(r),
		     (unsigned long long)cum);
	}
	EMIT("# HELP safeguard_worker_restarts_total Workers replaced by the master, by cause.\n"
	     "# TYPE safeguard_worker_restarts_total counter\n"
	     "safeguard_worker_restarts_total{cause=\"crash\"} %llu\n"
	     "safeguard_worker_restarts_total{cause=\"timeout\"} %llu\n"
	     "safeguard_worker_restarts_total{cause=\"recycled\"} %llu\n",
	     (unsigned long long)__atomic_load_n(&sg_shm->restarts_crash, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&sg_shm->restarts_timeout, __ATOMIC_RELAXED),
	     (unsigned long long)__atomic_load_n(&sg_shm->restarts_recycled, __ATOMIC_RELAXED));
#undef EMIT
	return out;
}
