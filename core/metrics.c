/* Prometheus text exposition for /metrics (core/metrics.h): HELP, TYPE, then the sample, one
 * metric after the other. */
#include "core/metrics.h"

void metrics_put(FILE *f, const struct metric *m)
{
	if (m->help)
		fprintf(f, "# HELP %s %s\n", m->name, m->help);
	fprintf(f, "# TYPE %s %s\n%s %llu\n", m->name, m->type == METRIC_GAUGE ? "gauge" : "counter", m->name,
		(unsigned long long)m->value);
}

void metrics_put_all(FILE *f, const struct metric *m, int n)
{
	for (int i = 0; i < n; i++)
		metrics_put(f, &m[i]);
}
