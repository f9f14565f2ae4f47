/* The token bucket behind --limit-rate: refill by elapsed time, grant whole bytes, say how long to wait.
 * No clock of its own: callers pass ev_now() so tests can drive time by hand. */
#include "core/ratelimit.h"

uint64_t ratelimit_default_burst(uint64_t rate)
{
	uint64_t b = rate / 4;
	return b < 16384 ? 16384 : b;
}

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
}

void ratelimit_set(struct ratelimit *r, uint64_t rate, uint64_t burst, double now)
{
	if (r->rate)
		refill(r, now);
	r->rate = rate;
	r->burst = burst ? burst : ratelimit_default_burst(rate);
	if (r->tokens > (double)r->burst)
		r->tokens = (double)r->burst;
	r->last = now;
}

uint64_t ratelimit_take(struct ratelimit *r, double now, uint64_t want)
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

void ratelimit_refund(struct ratelimit *r, uint64_t n)
{
	if (!r->rate)
		return;
	r->tokens += (double)n;
	if (r->tokens > (double)r->burst)
		r->tokens = (double)r->burst;
}

double ratelimit_wait(struct ratelimit *r, double now, uint64_t want)
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
