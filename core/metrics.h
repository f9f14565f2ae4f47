/* The one /metrics renderer (Prometheus text format 0.0.4) the supernode and df proxy share, so
 * both write a number's HELP, TYPE and sample lines the same way. */
#ifndef DF_CORE_METRICS_H
#define DF_CORE_METRICS_H

#include <stdint.h>
#include <stdio.h>

enum metric_type { METRIC_COUNTER, METRIC_GAUGE };

/* One number: name as exported (df_..., a counter's ending in _total where it is new), help one
 * line without newline (NULL: no HELP line). */
struct metric {
	const char *name;
	enum metric_type type;
	const char *help;
	uint64_t value;
};

/* Writes m's "# HELP", "# TYPE" and sample lines to f. */
void metrics_put(FILE *f, const struct metric *m);
/* The n metrics of a table, in order. */
void metrics_put_all(FILE *f, const struct metric *m, int n);

#endif
