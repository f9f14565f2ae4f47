/* The token bucket behind --limit-rate and the host-wide caps: refill by elapsed time, grant whole
 * bytes, say how long to wait. A process-local bucket has no clock of its own (callers pass monotime_now()
 * so tests can drive time by hand); a shared slot reads CLOCK_MONOTONIC, the clock all processes of
 * the host agree on. */
#include "core/ratelimit.h"

#include <math.h>
#include <time.h>

uint64_t ratelimit_default_burst(uint64_t rate)
{
	uint64_t b = rate / 4;
	return b < 16384 ? 16384 : b;
}

/* ---- a bucket of one process ---- */

static void refill(struct ratelimit *r, double now)
{
	if (now > r->last) {
		r->tokens += (now - r->last) * (double)r->rate;
		if (r->tokens > (double)r->burst)
			r->tokens = (double)r->burst;
	}
	/* a clock that goes backwards (it should not) just earns nothing */
	r->last = now;
}

void ratelimit_init(struct ratelimit *r, uint64_t rate, uint64_t burst, double now)
{
	r->rate = rate;
	r->burst = burst ? burst : ratelimit_default_burst(rate);
	r->tokens = (double)r->burst;
	r->last = now;
	r->slot = NULL;
	r->also = NULL;
	r->line_head = r->line_tail = NULL;
}

static uint64_t local_take(struct ratelimit *r, double now, uint64_t want)
{
	if (!r->rate)
		return want;
	refill(r, now);
	/* the epsilon keeps 0.1 s * 1000 B/s from flooring to 99 */
	uint64_t have = (uint64_t)(r->tokens + 1e-6);
	uint64_t got = want < have ? want : have;
	r->tokens -= (double)got;
	if (r->tokens < 0)
		r->tokens = 0;
	return got;
}

static void local_refund(struct ratelimit *r, uint64_t n)
{
	if (!r->rate)
		return;
	r->tokens += (double)n;
	if (r->tokens > (double)r->burst)
		r->tokens = (double)r->burst;
}

static double local_wait(struct ratelimit *r, double now, uint64_t want)
{
	if (!r->rate)
		return 0;
	refill(r, now);
	if (want > r->burst)
		want = r->burst;
	if (want == 0)
		want = 1;
	double missing = (double)want - r->tokens;
	return missing <= 0 ? 0 : missing / (double)r->rate;
}

/* ---- a bucket shared by processes (GCRA over one atomic word) ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The bucket holds (now + tau - base) * rate bytes, base = max(full, now), tau = burst / rate: full
 * when full <= now, in debt when full > now + tau (a lowered rate, or a process whose clock reading
 * is a little older than the one that wrote `full`: both only mean waiting longer). A `full` more
 * than a minute beyond that cannot come from this boot (the monotonic clock restarts at a reboot):
 * taken as a full bucket. */
#define STALE_NS (60ull * 1000000000ull)

static uint64_t slot_base(uint64_t full, uint64_t now, uint64_t tau)
{
	if (full < now || full > now + tau + STALE_NS)
		return now;
	return full;
}

/* Bytes in the bucket at `now` with base from slot_base (negative: in debt). */
static double slot_tokens(uint64_t base, uint64_t now, uint64_t tau, uint64_t rate)
{
	return ((double)(now + tau) - (double)base) * (double)rate / 1e9;
}

static uint64_t tau_ns(uint64_t rate)
{
	return (uint64_t)((double)ratelimit_default_burst(rate) * 1e9 / (double)rate);
}

void ratelimit_slot_set(struct ratelimit_slot *s, uint64_t rate)
{
	atomic_store(&s->rate, rate);
}

uint64_t ratelimit_slot_take(struct ratelimit_slot *s, uint64_t now, uint64_t want)
{
	uint64_t rate = atomic_load(&s->rate);
	if (!rate) {
		atomic_fetch_add(&s->bytes, want);
		return want;
	}
	uint64_t tau = tau_ns(rate), full = atomic_load(&s->full), got;
	for (;;) {
		uint64_t base = slot_base(full, now, tau);
		double tokens = slot_tokens(base, now, tau, rate);
		uint64_t have = tokens > 0 ? (uint64_t)(tokens + 1e-6) : 0;
		got = want < have ? want : have;
		if (!got)
			return 0;
		uint64_t next = base + (uint64_t)ceil((double)got * 1e9 / (double)rate);
		if (atomic_compare_exchange_weak(&s->full, &full, next))
			break; /* else `full` holds what another process wrote: try again with it */
	}
	atomic_fetch_add(&s->bytes, got);
	return got;
}

void ratelimit_slot_refund(struct ratelimit_slot *s, uint64_t now, uint64_t n)
{
	uint64_t rate = atomic_load(&s->rate);
	atomic_fetch_sub(&s->bytes, n);
	if (!rate)
		return;
	uint64_t d = (uint64_t)((double)n * 1e9 / (double)rate), full = atomic_load(&s->full);
	for (;;) {
		uint64_t next = full > now + d ? full - d : now; /* never fuller than full */
		if (next >= full || atomic_compare_exchange_weak(&s->full, &full, next))
			return;
	}
}

double ratelimit_slot_wait(struct ratelimit_slot *s, uint64_t now, uint64_t want)
{
	uint64_t rate = atomic_load(&s->rate);
	if (!rate)
		return 0;
	uint64_t tau = tau_ns(rate), burst = ratelimit_default_burst(rate);
	uint64_t base = slot_base(atomic_load(&s->full), now, tau);
	if (want > burst)
		want = burst;
	if (want == 0)
		want = 1;
	double missing = (double)want - slot_tokens(base, now, tau, rate);
	return missing <= 0 ? 0 : missing / (double)rate;
}

void ratelimit_init_shared(struct ratelimit *r, struct ratelimit_slot *slot)
{
	ratelimit_init(r, 0, 0, 0);
	r->slot = slot;
}

/* ---- either kind, chained ---- */

void ratelimit_set(struct ratelimit *r, uint64_t rate, uint64_t burst, double now)
{
	if (r->slot) {
		ratelimit_slot_set(r->slot, rate);
		return;
	}
	if (r->rate)
		refill(r, now);
	r->rate = rate;
	r->burst = burst ? burst : ratelimit_default_burst(rate);
	if (r->tokens > (double)r->burst)
		r->tokens = (double)r->burst;
	r->last = now;
}

static void own_refund(struct ratelimit *r, uint64_t n)
{
	if (r->slot)
		ratelimit_slot_refund(r->slot, mono_ns(), n);
	else
		local_refund(r, n);
}

uint64_t ratelimit_take(struct ratelimit *r, double now, uint64_t want)
{
	uint64_t got = r->slot ? ratelimit_slot_take(r->slot, mono_ns(), want) : local_take(r, now, want);
	if (got && r->also) {
		uint64_t also = ratelimit_take(r->also, now, got);
		if (also < got)
			own_refund(r, got - also);
		got = also;
	}
	return got;
}

void ratelimit_refund(struct ratelimit *r, uint64_t n)
{
	own_refund(r, n);
	if (r->also)
		ratelimit_refund(r->also, n);
}

double ratelimit_wait(struct ratelimit *r, double now, uint64_t want)
{
	double w = r->slot ? ratelimit_slot_wait(r->slot, mono_ns(), want) : local_wait(r, now, want);
	if (r->also) {
		double w2 = ratelimit_wait(r->also, now, want);
		if (w2 > w)
			w = w2;
	}
	return w;
}

/* ---- turns ---- */

int ratelimit_turn(const struct ratelimit *r, const struct ratelimit_waiter *w)
{
	return !r->line_head || r->line_head == w;
}

void ratelimit_line_join(struct ratelimit *r, struct ratelimit_waiter *w)
{
	if (w->queued)
		return;
	w->next = NULL;
	w->prev = r->line_tail;
	if (r->line_tail)
		r->line_tail->next = w;
	else
		r->line_head = w;
	r->line_tail = w;
	w->queued = 1;
}

void ratelimit_line_leave(struct ratelimit *r, struct ratelimit_waiter *w)
{
	if (!w->queued)
		return;
	int was_head = r->line_head == w;
	if (w->prev)
		w->prev->next = w->next;
	else
		r->line_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		r->line_tail = w->prev;
	w->prev = w->next = NULL;
	w->queued = 0;
	if (was_head && r->line_head && r->line_head->wake)
		r->line_head->wake(r->line_head);
}

struct ratelimit_waiter *ratelimit_line_head(const struct ratelimit *r)
{
	return r->line_head;
}

uint64_t ratelimit_turn_bytes(const struct ratelimit *r)
{
	uint64_t b = UINT64_MAX;
	for (; r; r = r->also) {
		uint64_t rate = r->slot ? atomic_load(&r->slot->rate) : r->rate;
		if (!rate)
			continue; /* no cap here: no reason to cut a read short */
		/* at most half the burst: a taker woken late (timers have 1 ms steps) finds the rest
		 * still in the bucket instead of spilled over its top */
		uint64_t burst = r->slot ? ratelimit_default_burst(rate) : r->burst;
		uint64_t part = burst / 8 < 16384 ? 16384 : burst / 8;
		if (part > burst / 2)
			part = burst / 2 ? burst / 2 : 1;
		if (part < b)
			b = part;
	}
	return b;
}
