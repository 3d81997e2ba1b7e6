/*
 * ratelimit.h - the per-token rate limit (SG_RATE_PER_TOKEN, SG_RATE_BURST_TOKEN),
 * charged in the pool after the token is verified: a table of token buckets in
 * memory the master maps before it forks, shared by every worker.
 */
#ifndef SG_RATELIMIT_H
#define SG_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include "sg.h"

/* The largest burst: a bucket holds burst + 1 tokens in 24 bits. */
#define RATELIMIT_MAX_BURST 16000000
#define RATELIMIT_MAX_RATE 1000000

/* Maps the table (the master, before forking; also the unit tests) with the
 * rate (requests a second) and burst (requests beyond the rate, as nginx's
 * limit_req counts them: burst + 1 may come at once).  Exits on failure. */
void ratelimit_init(uint32_t rate, uint32_t burst);

struct sg_req;
/* Charges one request to the verified token of r (r->id): 0 to go on, or the
 * 429 it wrote (rate-limited, Retry-After and the RateLimit-* headers). */
int ratelimit_check(struct sg_req *r);

/* The same without an answer: whether the token may make one more request
 * now; *retry_s receives the seconds until it may when it may not. */
bool ratelimit_charge(const struct sg_identity *id, uint32_t *retry_s);

/* One bucket's arithmetic, for the unit tests and the table: the state is
 * one 64-bit word, the millisecond up to which refills are counted in its
 * high 40 bits and the tokens taken in its low 24 (0: full whatever the
 * time, so a zeroed word is a full bucket).  Takes one token at now_ms
 * (milliseconds on the pool's clock) when the bucket has one: true, with
 * *state updated; else false, *state untouched and *wait_ms the time until
 * one is back.  A clock that reads earlier than the state's (another worker
 * wrote it a moment later) refills nothing and moves nothing back. */
bool ratelimit_take(uint64_t *state, uint64_t now_ms, uint32_t rate, uint32_t capacity, uint64_t *wait_ms);
/* Whether the bucket is full again at now_ms (its slot may go to another token). */
bool ratelimit_full(uint64_t state, uint64_t now_ms, uint32_t rate);

#endif
