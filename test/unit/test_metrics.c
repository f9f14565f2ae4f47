/* Unit tests of core/metrics: the Prometheus text one metric renders to, with and without HELP. */
#include <stdio.h>
#include <stdlib.h>

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

static const struct unit_test tests[] = {
        {"render", render},
};
UNIT_MAIN("metrics", tests)
