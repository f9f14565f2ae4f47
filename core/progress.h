/* Progress of a download for humans: a rate meter and the one-line bar df get draws on a TTY
 * ("42% 27.0/64.0 MiB 12.3 MiB/s ETA 3s  peers 20.1M super 6.9M source 0"). Pure formatting. */
#ifndef DF_PROGRESS_H
#define DF_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes per second over a sliding window (exponential decay, ~3 s), fed with cumulative totals. */
struct rate_meter {
	uint64_t last_total;
	int64_t last_ms;
	double rate;
};
void rate_meter_update(struct rate_meter *m, uint64_t total, int64_t now_ms);

struct progress {
	uint64_t done, total; /* total 0 = unknown */
	uint64_t from_peers, from_super, from_source, resumed;
	double rate; /* bytes/s */
};

/* Formats a size with binary units: "512 B", "27.0 MiB". */
void progress_size(uint64_t n, char *out, size_t cap);
/* The bar line, at most width columns (no newline). */
void progress_line(const struct progress *p, int width, char *out, size_t cap);

#endif
