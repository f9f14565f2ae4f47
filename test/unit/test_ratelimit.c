/* Unit tests of core/ratelimit: the bucket grants its burst, refills at the rate, never overdraws,
 * reports the wait it needs, and takes a new rate at run time. Time is driven by hand. */
#include "core/df.h"
#include "core/ratelimit.h"
#include "test/unit/unit.h"

static void unlimited(void)
{
	struct ratelimit r;
	ratelimit_init(&r, 0, 0, 0);
	CHECK_EQ(ratelimit_take(&r, 0, 1 << 30), 1 << 30);
	CHECK(ratelimit_wait(&r, 0, 1 << 30) == 0);
}

static void burst_then_rate(void)
{
	struct ratelimit r;
	ratelimit_init(&r, 1000, 500, 10.0);
	CHECK_EQ(ratelimit_take(&r, 10.0, 2000), 500);
	CHECK_EQ(ratelimit_take(&r, 10.0, 2000), 0);
	/* 0.1 s later: 100 bytes earned */
	CHECK_EQ(ratelimit_take(&r, 10.1, 2000), 100);
	/* waiting for 250 bytes at 1000 B/s takes 0.25 s */
	double w = ratelimit_wait(&r, 10.1, 250);
	CHECK(w > 0.249 && w < 0.251);
	/* a long idle time is capped at the burst */
	CHECK_EQ(ratelimit_take(&r, 100.0, 2000), 500);
	/* asking for more than the burst waits only for the burst */
	w = ratelimit_wait(&r, 100.0, 1 << 20);
	CHECK(w > 0.499 && w < 0.501);
}

static void average_rate(void)
{
	/* take greedily every 10 ms for 10 s: the total is rate * time + burst, never more */
	struct ratelimit r;
	ratelimit_init(&r, 100000, 0, 0);
	uint64_t total = 0;
	for (int i = 0; i <= 1000; i++)
		total += ratelimit_take(&r, i * 0.01, 1 << 20);
	uint64_t burst = ratelimit_default_burst(100000);
	CHECK(total <= 100000 * 10 + burst);
	CHECK(total >= 100000 * 10 + burst - 1000);
}

static void set_at_runtime(void)
{
	struct ratelimit r;
	ratelimit_init(&r, 1000, 1000, 0);
	CHECK_EQ(ratelimit_take(&r, 0, 1000), 1000);
	ratelimit_set(&r, 10000, 10000, 1.0); /* the 1000 earned in the first second are kept */
	CHECK_EQ(ratelimit_take(&r, 1.0, 100000), 1000);
	CHECK_EQ(ratelimit_take(&r, 1.5, 100000), 5000);
	ratelimit_set(&r, 0, 0, 2.0);
	CHECK_EQ(ratelimit_take(&r, 2.0, 123456789), 123456789);
	ratelimit_set(&r, 100, 100, 3.0);
	CHECK_EQ(ratelimit_take(&r, 3.0, 1000), 100); /* switching from unlimited starts with a full bucket... */
	CHECK_EQ(ratelimit_take(&r, 3.0, 1000), 0);
	CHECK_EQ(ratelimit_take(&r, 4.0, 1000), 100); /* ...and earns at the new rate */
}

static void clock_backwards(void)
{
	struct ratelimit r;
	ratelimit_init(&r, 1000, 1000, 5.0);
	CHECK_EQ(ratelimit_take(&r, 5.0, 1000), 1000);
	CHECK_EQ(ratelimit_take(&r, 4.0, 1000), 0);
	CHECK_EQ(ratelimit_take(&r, 4.5, 1000), 500);
}

static const struct unit_test tests[] = {
	{"unlimited", unlimited},
	{"burst_then_rate", burst_then_rate},
	{"average_rate", average_rate},
	{"set_at_runtime", set_at_runtime},
	{"clock_backwards", clock_backwards},
};
UNIT_MAIN("ratelimit", tests)
