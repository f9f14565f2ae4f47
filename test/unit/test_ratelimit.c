/* Unit tests of core/ratelimit: the bucket grants its burst, refills at the rate, never overdraws,
 * reports the wait it needs, and takes a new rate at run time. Time is driven by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/df.h"
#include "core/hostrate.h"
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

#define S 1000000000ull /* ns per second */

/* The shared slot is the same bucket in GCRA form: a full bucket of the default burst (16 KiB at
 * these rates), then the rate, never more. */
static void slot_arithmetic(void)
{
	struct ratelimit_slot s;
	memset(&s, 0, sizeof s);
	CHECK_EQ(ratelimit_slot_take(&s, 100 * S, 1 << 20), 1 << 20); /* no cap: everything, counted */
	CHECK_EQ(s.bytes, 1 << 20);
	ratelimit_slot_set(&s, 10000);
	CHECK_EQ(ratelimit_slot_take(&s, 100 * S, 1 << 20), 16384);
	CHECK_EQ(ratelimit_slot_take(&s, 100 * S, 1 << 20), 0);
	CHECK_EQ(ratelimit_slot_take(&s, 100 * S + S / 10, 1 << 20), 1000); /* 0.1 s at 10000 B/s */
	double w = ratelimit_slot_wait(&s, 100 * S + S / 10, 500);
	CHECK(w > 0.049 && w < 0.051);
	ratelimit_slot_refund(&s, 100 * S + S / 10, 400);
	CHECK_EQ(ratelimit_slot_take(&s, 100 * S + S / 10, 1 << 20), 400);
	CHECK_EQ(ratelimit_slot_take(&s, 200 * S, 1 << 20), 16384); /* idle: the burst, no more */
	CHECK_EQ(s.bytes, (1 << 20) + 16384 + 1000 + 16384);
}

/* A slot written before a reboot holds a time far past the new monotonic clock: taken as full. */
static void slot_after_reboot(void)
{
	struct ratelimit_slot s;
	memset(&s, 0, sizeof s);
	ratelimit_slot_set(&s, 10000);
	CHECK_EQ(ratelimit_slot_take(&s, 5000000 * S, 1 << 20), 16384);
	CHECK_EQ(ratelimit_slot_take(&s, 10 * S, 1 << 20), 16384);
}

/* A process whose clock reading is older than the one that last took (it was preempted between
 * reading the clock and taking) finds the bucket empty, not full: the leak that let two processes
 * through at 1.5 times the cap on a loaded machine. */
static void slot_stale_reader(void)
{
	struct ratelimit_slot s;
	memset(&s, 0, sizeof s);
	ratelimit_slot_set(&s, 1000000);
	uint64_t burst = ratelimit_default_burst(1000000);
	CHECK_EQ(ratelimit_slot_take(&s, 100 * S, 1 << 30), burst);
	CHECK_EQ(ratelimit_slot_take(&s, 100 * S + S / 10, 1 << 30), 100000);
	CHECK_EQ(ratelimit_slot_take(&s, 100 * S + S / 20, 1 << 30), 0);
	CHECK(ratelimit_slot_wait(&s, 100 * S + S / 20, 1000) > 0.05);
}

/* A grant is the smaller of two chained buckets; what the second refused goes back to the first. */
static void chained(void)
{
	struct ratelimit own, host;
	ratelimit_init(&own, 1000000, 100000, 0);
	ratelimit_init(&host, 1000, 1000, 0);
	own.also = &host;
	CHECK_EQ(ratelimit_take(&own, 0, 50000), 1000);
	CHECK(own.tokens > 98999.0 && own.tokens < 99001.0);
	double w = ratelimit_wait(&own, 0, 500);
	CHECK(w > 0.499 && w < 0.501); /* the slower bucket decides */
	ratelimit_refund(&own, 200);
	CHECK(host.tokens > 199.0 && host.tokens < 201.0);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Three processes take as fast as they can from one bucket in a shared mapping for 0.6 s: together
 * they get the rate times the time plus one burst, not three times that. */
static void shared_by_processes(void)
{
	char path[] = "/tmp/rates-unit-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	struct hostrate h;
	char err[256];
	CHECK_EQ(hostrate_open(&h, path, err, sizeof err), DF_OK);
	hostrate_set(&h, HOSTRATE_DOWN, 1000000);
	uint64_t *got = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(got != MAP_FAILED);
	memset(got, 0, 4096);
	double t0 = mono();
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		if ((kids[i] = fork()) == 0) {
			struct hostrate c;
			if (hostrate_open(&c, path, err, sizeof err) != DF_OK)
				_exit(1);
			uint64_t n = 0;
			while (mono() - t0 < 0.6) {
				n += ratelimit_take(&c.lim[HOSTRATE_DOWN], 0, 4096);
				usleep(200);
			}
			got[i] = n;
			_exit(0);
		}
	}
	for (int i = 0; i < 3; i++) {
		int st;
		waitpid(kids[i], &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	double secs = mono() - t0;
	uint64_t total = got[0] + got[1] + got[2], burst = ratelimit_default_burst(1000000);
	CHECK(total <= (uint64_t)(1000000 * secs) + burst + 4096);
	CHECK(total >= 1000000 * 0.3); /* each was able to take (a loaded machine: generous) */
	CHECK(got[0] > 0 && got[1] > 0 && got[2] > 0);
	/* the byte counter is the host's, all processes together */
	hostrate_tick(&h, 1.0);
	CHECK_EQ(h.sampled[HOSTRATE_DOWN], total);
	munmap(got, 4096);
	hostrate_close(&h);
	unlink(path);
}

/* The line: first come first served, leaving from anywhere, the head's turn only. */
static void line(void)
{
	struct ratelimit r;
	struct ratelimit_waiter a = {0}, b = {0}, c = {0};
	ratelimit_init(&r, 1000, 0, 0);
	CHECK(ratelimit_turn(&r, &a) && ratelimit_turn(&r, &b)); /* nobody waits: anyone may take */
	ratelimit_line_join(&r, &a);
	ratelimit_line_join(&r, &b);
	ratelimit_line_join(&r, &c);
	ratelimit_line_join(&r, &a); /* already in line: keeps its place */
	CHECK(ratelimit_line_head(&r) == &a);
	CHECK(ratelimit_turn(&r, &a) && !ratelimit_turn(&r, &b) && !ratelimit_turn(&r, &c));
	ratelimit_line_leave(&r, &b); /* from the middle */
	ratelimit_line_leave(&r, &b); /* twice: no-op */
	ratelimit_line_leave(&r, &a);
	CHECK(ratelimit_line_head(&r) == &c && ratelimit_turn(&r, &c));
	ratelimit_line_join(&r, &a);
	ratelimit_line_leave(&r, &c);
	CHECK(ratelimit_line_head(&r) == &a);
	ratelimit_line_leave(&r, &a);
	CHECK(ratelimit_line_head(&r) == NULL && !a.queued && !c.queued);
	/* a turn: an eighth of the smallest burst in the chain, at least 16 KiB, at most half of it; no
	 * cap, no limit */
	struct ratelimit none, big;
	ratelimit_init(&none, 0, 0, 0);
	CHECK_EQ(ratelimit_turn_bytes(&none), UINT64_MAX);
	ratelimit_init(&big, 80000000, 0, 0); /* burst 20 MB */
	CHECK_EQ(ratelimit_turn_bytes(&big), 2500000);
	big.also = &r; /* 1000 B/s: 16 KiB burst */
	CHECK_EQ(ratelimit_turn_bytes(&big), 8192);
	none.also = &big;
	CHECK_EQ(ratelimit_turn_bytes(&none), 8192);
	ratelimit_init(&r, 1000000, 0, 0); /* 250 KB burst */
	CHECK_EQ(ratelimit_turn_bytes(&r), 31250);
}

static const struct unit_test tests[] = {
	{"line", line},
	{"slot_arithmetic", slot_arithmetic},
	{"slot_after_reboot", slot_after_reboot},
	{"slot_stale_reader", slot_stale_reader},
	{"chained", chained},
	{"shared_by_processes", shared_by_processes},
	{"unlimited", unlimited},
	{"burst_then_rate", burst_then_rate},
	{"average_rate", average_rate},
	{"set_at_runtime", set_at_runtime},
	{"clock_backwards", clock_backwards},
};
UNIT_MAIN("ratelimit", tests)
