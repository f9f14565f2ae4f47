/* A token bucket for download and upload rate limits: pure arithmetic over a caller-given clock, so
 * it is unit-testable and shared by every connection of a process. net/ applies it with timers. */
#ifndef DF_RATELIMIT_H
#define DF_RATELIMIT_H

#include <stdint.h>

/* rate 0 means unlimited: take() grants everything and wait() is 0. Tokens are bytes; the bucket
 * holds at most `burst` of them, so an idle second does not buy a burst bigger than that. */
struct ratelimit {
	uint64_t rate;  /* bytes per second; 0 = unlimited */
	uint64_t burst; /* bucket size in bytes */
	double tokens;  /* may be fractional; never above burst, never below 0 */
	double last;    /* clock of the last refill, in seconds */
};

/* The burst used when the caller passes 0: a quarter second of the rate, at least 16 KiB. */
uint64_t ratelimit_default_burst(uint64_t rate);

/* Sets up a full bucket at clock `now` (seconds, any monotonic origin). burst 0 picks the default. */
void ratelimit_init(struct ratelimit *r, uint64_t rate, uint64_t burst, double now);

/* Changes the rate (and burst; 0 = default) at run time, keeping the tokens already earned (capped
 * to the new burst). Connections waiting on the old rate notice at their next check. */
void ratelimit_set(struct ratelimit *r, uint64_t rate, uint64_t burst, double now);

/* Takes up to `want` bytes at clock `now`; returns how many were granted (0 when the bucket is
 * empty). Grants are whole bytes; the remainder stays in the bucket. */
uint64_t ratelimit_take(struct ratelimit *r, double now, uint64_t want);

/* Gives back n bytes taken but not used (a short read or write), up to the burst. */
void ratelimit_refund(struct ratelimit *r, uint64_t n);

/* Seconds from `now` until min(want, burst) bytes can be taken (0 when they can now). */
double ratelimit_wait(struct ratelimit *r, double now, uint64_t want);

#endif
