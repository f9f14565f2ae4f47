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
/* The process's own numbers under Prometheus' standard names: process_open_fds, process_max_fds,
 * process_resident_memory_bytes. Read at one instant of the single-threaded loop, so they agree
 * with the rest of the same answer (df_tasks and its two descriptors each). A number /proc does not
 * give (a chroot without it) is left out. */
void metrics_put_process(FILE *f);

#endif
