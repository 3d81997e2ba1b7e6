/*
 * ratelimit.c - the per-token rate limit, charged only to verified tokens.
 *
 * nginx cannot verify a signature, so a limit it keys on a token's text is
 * one that anybody who has seen the token's claims can spend: a request
 * with the victim's header and payload and a junk signature (a 401) used to
 * drain the victim's bucket and keep its holder at 429.  The limit is kept
 * here instead, after auth_verify: a request is charged to a token only
 * once its signature and claims have been checked.
 *
 * A token is known by its verified claims (issuer, agency, subject, jti,
 * iat, exp), never by its text: both ES256 signatures of one token (R, S)
 * and (R, n - S), and every way of writing the Authorization header, are
 * one token and one bucket; two tokens of one subject are two, as
 * SG_RATE_PER_TOKEN says.  The claims go through HMAC-SHA-256 under a key
 * drawn at random when the master starts, so no one outside the process can
 * tell which slot a token lands in, nor pick tokens that share one.
 *
 * The table is a fixed set of slots in memory the master maps (MAP_SHARED |
 * MAP_ANONYMOUS) before it forks, so every worker, and every worker forked
 * later, sees the same buckets.  A token has RATELIMIT_WAYS slots it may use
 * (the set its hash names); each slot holds the full 64-bit hash of its
 * token (the owner) and the bucket, one 64-bit word changed only by
 * compare-and-swap.  No lock: a worker that dies mid-request leaves a
 * consistent word behind and wedges nobody.  Another token never shares a
 * bucket: a slot goes to a new owner only when its bucket is full again (its
 * owner had not spent anything that a second's refill has not returned), so
 * the change costs the old owner nothing; when all the ways of a set hold
 * buckets in use, a token with none of its own is let through uncounted (it
 * would take four busy tokens in the same set of 16,384, which no one can
 * aim, for a moment) rather than charged to, or refused for, someone else.
 * The only sharing left is a request of the old owner in flight at the
 * instant its full slot changes hands: at most one per worker, once.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "http.h"
#include "pool.h"
#include "ratelimit.h"

#define RATELIMIT_SETS 16384 /* a power of two */
#define RATELIMIT_WAYS 4
#define RATELIMIT_USED_BITS 24
#define RATELIMIT_USED_MASK ((UINT64_C(1) << RATELIMIT_USED_BITS) - 1)
#define RATELIMIT_TIME_MASK ((UINT64_C(1) << (64 - RATELIMIT_USED_BITS)) - 1)

/* shared between processes: the atomics must be lock-free (so address-free),
 * never a lock of libatomic's that each process would hold on its own */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

struct ratelimit_slot {
	_Atomic uint64_t owner; /* the token's keyed hash; 0: never used */
	_Atomic uint64_t state; /* see ratelimit_take */
};

struct ratelimit_table {
	unsigned char key[32]; /* the HMAC key, drawn when the table is mapped */
	int64_t epoch_ms;      /* the pool's clock: monotonic milliseconds since this */
	uint32_t rate, capacity;
	struct ratelimit_slot slots[RATELIMIT_SETS * RATELIMIT_WAYS];
};

static struct ratelimit_table *ratelimit_tab;

void ratelimit_init(uint32_t rate, uint32_t burst)
{
	struct ratelimit_table *t = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (t == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* blocks only until the kernel's pool is first ready */
	if (getrandom(t->key, sizeof t->key, 0) != (ssize_t)sizeof t->key) {
		perror("getrandom");
		exit(1);
	}
	t->epoch_ms = sg_now_ms() - 1;
	t->rate = rate < 1 ? 1 : rate > RATELIMIT_MAX_RATE ? RATELIMIT_MAX_RATE : rate;
	t->capacity = (burst > RATELIMIT_MAX_BURST ? RATELIMIT_MAX_BURST : burst) + 1;
	ratelimit_tab = t;
}

/* The tokens taken at now_ms once the refill since the state's time is
 * counted; *t receives the time refills are counted up to.  The refill is
 * whole tokens, and the time is moved on only by what they took, so that a
 * fraction of a token is never lost between two requests. */
static uint64_t ratelimit_used(uint64_t state, uint64_t now_ms, uint32_t rate, uint64_t *t)
{
	uint64_t used = state & RATELIMIT_USED_MASK, elapsed, gained;

	*t = state >> RATELIMIT_USED_BITS;
	if (used == 0 || now_ms <= *t) /* full, or a clock behind the state's: nothing to refill */
		return used;
	elapsed = now_ms - *t;
	gained = elapsed * rate / 1000; /* elapsed < 2^40, rate < 2^20: no overflow */
	if (gained >= used)
		return 0;
	*t += (gained * 1000 + rate - 1) / rate; /* at most elapsed: *t stays <= now_ms */
	return used - gained;
}

bool ratelimit_full(uint64_t state, uint64_t now_ms, uint32_t rate)
{
	uint64_t t;

	return ratelimit_used(state, now_ms, rate, &t) == 0;
}

bool ratelimit_take(uint64_t *state, uint64_t now_ms, uint32_t rate, uint32_t capacity, uint64_t *wait_ms)
{
	uint64_t t, used;

	now_ms &= RATELIMIT_TIME_MASK;
	used = ratelimit_used(*state, now_ms, rate, &t);
	if (used + 1 > capacity) {
		/* the time for used - capacity + 1 tokens to come back, from t */
		uint64_t need = ((used + 1 - capacity) * 1000 + rate - 1) / rate, gone = now_ms > t ? now_ms - t : 0;

		*wait_ms = need > gone ? need - gone : 1;
		return false;
	}
	if (used == 0)
		t = now_ms; /* a full bucket counts its refills from now */
	*state = (t << RATELIMIT_USED_BITS) | (used + 1);
	return true;
}

/* The token's keyed hash, never 0. */
static uint64_t ratelimit_hash(const struct sg_identity *id)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char msg[1024];
	uint64_t h;
	/* each string with its length first: no two claim sets write the same text */
	int n = snprintf(msg, sizeof msg, "%zu:%s|%d|%zu:%s|%zu:%s|%lld|%lld", strlen(id->iss), id->iss, id->agency,
			 strlen(id->sub), id->sub, strlen(id->jti), id->jti, (long long)id->iat, (long long)id->exp);

	if (n < 0 || (size_t)n >= sizeof msg ||
	    !HMAC(EVP_sha256(), ratelimit_tab->key, sizeof ratelimit_tab->key, (const unsigned char *)msg, (size_t)n,
		  mac, &maclen))
		abort(); /* the claims are bounded (sg.h): cannot happen */
	memcpy(&h, mac, sizeof h);
	return h ? h : 1;
}

/* The slot of the token with hash h: its own, else a free or full one of its
 * set taken over; NULL when every way holds a bucket in use. */
static struct ratelimit_slot *ratelimit_slot(uint64_t h, uint64_t now_ms)
{
	struct ratelimit_slot *set = &ratelimit_tab->slots[(h >> 32) % RATELIMIT_SETS * RATELIMIT_WAYS];

	for (int w = 0; w < RATELIMIT_WAYS; w++)
		if (atomic_load_explicit(&set[w].owner, memory_order_acquire) == h)
			return &set[w];
	for (int w = 0; w < RATELIMIT_WAYS; w++) {
		uint64_t owner = atomic_load_explicit(&set[w].owner, memory_order_acquire);

		if ((owner == 0 || ratelimit_full(atomic_load_explicit(&set[w].state, memory_order_acquire), now_ms,
						  ratelimit_tab->rate)) &&
		    (atomic_compare_exchange_strong(&set[w].owner, &owner, h) || owner == h))
			return &set[w]; /* (or another worker took it for the same token first) */
	}
	return NULL;
}

bool ratelimit_charge(const struct sg_identity *id, uint32_t *retry_s)
{
	uint64_t now_ms = (uint64_t)(sg_now_ms() - ratelimit_tab->epoch_ms), wait_ms = 0;
	struct ratelimit_slot *slot = ratelimit_slot(ratelimit_hash(id), now_ms);
	uint64_t old;

	if (!slot)
		return true;
	old = atomic_load_explicit(&slot->state, memory_order_acquire);
	for (;;) {
		uint64_t next = old;

		if (!ratelimit_take(&next, now_ms, ratelimit_tab->rate, ratelimit_tab->capacity, &wait_ms)) {
			*retry_s = (uint32_t)((wait_ms + 999) / 1000);
			return false;
		}
		/* on failure old receives the word another worker wrote: try again on it */
		if (atomic_compare_exchange_weak(&slot->state, &old, next))
			return true;
	}
}

/* The same answer nginx gives for its per-address limit (nginx/problems.conf),
 * with the per-token rate in the RateLimit-* headers. */
int ratelimit_check(struct sg_req *r)
{
	uint32_t retry = 0;
	const char *rate, *secs;

	if (ratelimit_charge(&r->id, &retry))
		return 0;
	rate = arena_printf(r->arena, "%u", ratelimit_tab->rate);
	secs = arena_printf(r->arena, "%u", retry ? retry : 1);
	http_header(r, "Retry-After", secs);
	http_header(r, "RateLimit-Limit", rate);
	http_header(r, "RateLimit-Remaining", "0");
	http_header(r, "RateLimit-Reset", secs);
	http_header(r, "RateLimit-Policy", arena_printf(r->arena, "%s;w=1", rate));
	return http_problem(r, 429, "rate-limited", "too many requests; slow down and retry after the given seconds");
}
