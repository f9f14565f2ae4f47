/* Unit tests of core/progress: sizes, the bar's content and width cap, the rate meter. */
#include <string.h>

#include "core/progress.h"
#include "test/unit/unit.h"

static void sizes(void)
{
	char b[32];
	progress_size(512, b, sizeof b);
	CHECK_STR(b, "512 B");
	progress_size(27u << 20, b, sizeof b);
	CHECK_STR(b, "27.0 MiB");
	progress_size(3ull << 30, b, sizeof b);
	CHECK_STR(b, "3.0 GiB");
}

static void line(void)
{
	char b[200];
	struct progress p = {.done = 32u << 20, .total = 64u << 20, .from_peers = 30u << 20, .from_super = 2u << 20, .rate = 16u << 20};
	progress_line(&p, 0, b, sizeof b);
	CHECK(strstr(b, " 50%") == b);
	CHECK(strstr(b, "32.0 MiB/64.0 MiB") != NULL);
	CHECK(strstr(b, "16.0 MiB/s") != NULL);
	CHECK(strstr(b, "ETA 2s") != NULL);
	CHECK(strstr(b, "peers 30.0M super 2.0M source 0B") != NULL);
	progress_line(&p, 20, b, sizeof b);
	CHECK_EQ(strlen(b), 20);
	p.total = 0;
	progress_line(&p, 0, b, sizeof b);
	CHECK(strstr(b, "?%") != NULL);
}

static void meter(void)
{
	struct rate_meter m = {0};
	rate_meter_update(&m, 0, 1000);
	for (int i = 1; i <= 40; i++)
		rate_meter_update(&m, (uint64_t)i * 1000000, 1000 + i * 500);
	CHECK(m.rate > 1.9e6 && m.rate < 2.1e6);
}

static const struct unit_test tests[] = {{"sizes", sizes}, {"line", line}, {"meter", meter}};
UNIT_MAIN("progress", tests)
