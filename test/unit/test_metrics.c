/* Unit tests of core/metrics: the Prometheus text one metric renders to, with and without HELP. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/df.h"
#include "core/metrics.h"
#include "test/unit/unit.h"

static void render(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const struct metric m[] = {
		{"df_tasks", METRIC_GAUGE, "Tasks the supernode knows.", 3},
		{"df_proxy_requests", METRIC_COUNTER, NULL, 18446744073709551615ull},
	};
	metrics_put_all(f, m, (int)DF_ARRAY_LEN(m));
	fclose(f);
	CHECK_STR(buf, "# HELP df_tasks Tasks the supernode knows.\n# TYPE df_tasks gauge\ndf_tasks 3\n"
		       "# TYPE df_proxy_requests counter\ndf_proxy_requests 18446744073709551615\n");
	free(buf);
}

/* process_open_fds from one rendering of metrics_put_process (-1: not there). */
static long open_fds_now(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	metrics_put_process(f);
	fclose(f);
	const char *p = strstr(buf, "\nprocess_open_fds ");
	long n = p ? strtol(p + strlen("\nprocess_open_fds "), NULL, 10) : -1;
	CHECK(strstr(buf, "\nprocess_resident_memory_bytes ") != NULL);
	CHECK(strstr(buf, "# TYPE process_open_fds gauge\n") != NULL);
	free(buf);
	return n;
}

/* The count is the process's descriptors, not counting the one it reads /proc/self/fd with: one
 * more open file shows as one more. */
static void process(void)
{
	long before = open_fds_now();
	CHECK(before >= 3);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(open_fds_now() == before + 1);
	close(fd);
	CHECK(open_fds_now() == before);
}

static const struct unit_test tests[] = {
	{"render", render},
	{"process", process},
};
UNIT_MAIN("metrics", tests)
