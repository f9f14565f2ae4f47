/* Progress formatting and rate measurement for df get's bar and summaries.
 * Kept free of I/O so the bar's layout is unit-tested. */
#include "core/progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void rate_meter_update(struct rate_meter *m, uint64_t total, int64_t now_ms)
{
	if (m->last_ms == 0) {
		m->last_ms = now_ms;
		m->last_total = total;
		return;
	}
	int64_t dt = now_ms - m->last_ms;
	if (dt < 200)
		return;
	double inst = (double)(total - m->last_total) * 1000.0 / (double)dt;
	double alpha = 1.0 - exp(-(double)dt / 3000.0);
	m->rate = m->rate == 0 ? inst : m->rate + alpha * (inst - m->rate);
	m->last_ms = now_ms;
	m->last_total = total;
}

void progress_size(uint64_t n, char *out, size_t cap)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, cap, "%llu B", (unsigned long long)n);
	else
		snprintf(out, cap, "%.1f %s", v, units[u]);
}

static void short_size(uint64_t n, char *out, size_t cap)
{
	static const char units[] = "BKMGT";
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, cap, u ? "%.1f%c" : "%.0f%c", v, units[u]);
}

void progress_line(const struct progress *p, int width, char *out, size_t cap)
{
	char done[24], total[24], rate[24], eta[48] = "", a[16], b[16], c[16];
	progress_size(p->done, done, sizeof done);
	progress_size(p->total, total, sizeof total);
	progress_size((uint64_t)p->rate, rate, sizeof rate);
	if (p->total && p->rate > 1 && p->done < p->total) {
		uint64_t s = (uint64_t)((double)(p->total - p->done) / p->rate);
		if (s >= 3600)
			snprintf(eta, sizeof eta, " ETA %lluh%02llum", (unsigned long long)(s / 3600),
				 (unsigned long long)(s % 3600 / 60));
		else if (s >= 60)
			snprintf(eta, sizeof eta, " ETA %llum%02llus", (unsigned long long)(s / 60),
				 (unsigned long long)(s % 60));
		else
			snprintf(eta, sizeof eta, " ETA %llus", (unsigned long long)s);
	}
	short_size(p->from_peers, a, sizeof a);
	short_size(p->from_super, b, sizeof b);
	short_size(p->from_source, c, sizeof c);
	char pct[8] = "  ?%";
	if (p->total)
		snprintf(pct, sizeof pct, "%3d%%", (int)(p->done * 100 / p->total));
	int n = snprintf(out, cap, "%s %s/%s %s/s%s  peers %s super %s source %s", pct, done, p->total ? total : "?",
			 rate, eta, a, b, c);
	if (n > 0 && width > 0 && n > width && (size_t)width < cap)
		out[width] = 0; /* a narrow terminal keeps the head of the line: percent, bytes, rate */
}
