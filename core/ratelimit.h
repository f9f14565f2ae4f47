/* A token bucket for download and upload rate limits: pure arithmetic over a caller-given clock, so
 * it is unit-testable and shared by every connection of a process. net/ applies it with timers.
 *
 * A bucket may also live in memory shared by several processes (a ratelimit_slot in a mapped file,
 * core/hostrate.h): then it is one 64-bit word, the time at which the bucket is full again (GCRA,
 * the "virtual scheduling" form of a token bucket), changed only by compare-and-swap. No lock, so a
 * process that dies mid-way leaves nothing held; the slot's clock is CLOCK_MONOTONIC, which every
 * process of the host shares, and a slot left from before a reboot (a time more than a minute
 * beyond what this boot can have written) is taken as full. Buckets chain (`also`): a grant is the smaller of what each would give. */
#ifndef DF_RATELIMIT_H
#define DF_RATELIMIT_H

#include <stdatomic.h>
#include <stdint.h>

/* One bucket shared by processes: lives in a MAP_SHARED mapping, zero-filled means "no cap, full". */
struct ratelimit_slot {
	_Atomic uint64_t rate;  /* bytes per second; 0 = no cap (bytes are still counted) */
	_Atomic uint64_t full;  /* CLOCK_MONOTONIC ns at which the bucket is full again */
	_Atomic uint64_t bytes; /* bytes granted minus bytes refunded, ever: the current rate's source */
	uint64_t pad[5];        /* one cache line per slot */
};

/* A place in a bucket's line (below): embedded in whoever waits (a fetch, an upload), with how to
 * wake it when its turn comes. */
struct ratelimit_waiter {
	struct ratelimit_waiter *prev, *next;
	int queued;
	void (*wake)(struct ratelimit_waiter *w);
};

/* rate 0 means unlimited: take() grants everything and wait() is 0. Tokens are bytes; the bucket
 * holds at most `burst` of them, so an idle second does not buy a burst bigger than that. */
struct ratelimit {
	uint64_t rate;               /* bytes per second; 0 = unlimited */
	uint64_t burst;              /* bucket size in bytes */
	double tokens;               /* may be fractional; never above burst, never below 0 */
	double last;                 /* clock of the last refill, in seconds */
	struct ratelimit_slot *slot; /* when set, the bucket is this shared one (rate, burst, tokens unused) */
	struct ratelimit *also;      /* a second bucket every grant must also come from, or NULL */
	/* those of this process waiting for tokens, first come first served (see ratelimit_turn) */
	struct ratelimit_waiter *line_head, *line_tail;
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

/* A bucket backed by a shared slot (see above); its rate is the slot's, set with ratelimit_set or
 * ratelimit_slot_set. The `now` arguments of the calls below are ignored for it. */
void ratelimit_init_shared(struct ratelimit *r, struct ratelimit_slot *slot);
/* Sets a shared slot's rate (0: no cap); every process using it sees the new rate at once. */
void ratelimit_slot_set(struct ratelimit_slot *s, uint64_t rate);
/* The slot operations at an explicit CLOCK_MONOTONIC time in ns (what the calls above use, exposed
 * for tests). */
uint64_t ratelimit_slot_take(struct ratelimit_slot *s, uint64_t now_ns, uint64_t want);
void ratelimit_slot_refund(struct ratelimit_slot *s, uint64_t now_ns, uint64_t n);
double ratelimit_slot_wait(struct ratelimit_slot *s, uint64_t now_ns, uint64_t want);

/* Gives back n bytes taken but not used (a short read or write), up to the burst. */
void ratelimit_refund(struct ratelimit *r, uint64_t n);

/* Seconds from `now` until min(want, burst) bytes can be taken (0 when they can now). */
double ratelimit_wait(struct ratelimit *r, double now, uint64_t want);

/* Turns. Users of one bucket that all ask whenever they wake would leave it to whoever wakes first
 * (one of 64 fetches got 0.5 KB/s of a 1 MB/s limit), so a user that finds the bucket empty gets in
 * line and the next grant is the line's first: ratelimit_turn says whether w may take now (the line
 * is empty or w heads it). A user that took leaves the line and wakes the new head; one that stops
 * asking (paused, ended) must leave it, or those behind wait on it. */
int ratelimit_turn(const struct ratelimit *r, const struct ratelimit_waiter *w);
void ratelimit_line_join(struct ratelimit *r, struct ratelimit_waiter *w); /* at the end; no-op if in line */
/* No-op if not in line; when w headed it, the new head is woken (its wake). */
void ratelimit_line_leave(struct ratelimit *r, struct ratelimit_waiter *w);
struct ratelimit_waiter *ratelimit_line_head(const struct ratelimit *r); /* NULL: nobody waits */
/* The most one turn takes: an eighth of the smallest burst in the chain (at least 16 KiB, at most
 * half of it), so a turn is short and the line moves; UINT64_MAX when nothing in the chain has a cap. */
uint64_t ratelimit_turn_bytes(const struct ratelimit *r);

#endif
