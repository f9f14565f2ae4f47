/* Prometheus text exposition for /metrics (core/metrics.h): HELP, TYPE, then the sample, one
 * metric after the other. */
#include "core/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

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

/* Entries of /proc/self/fd but the directory's own descriptor; -1 without /proc. */
static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

/* Resident bytes from /proc/self/statm (its second field, in pages); -1 without /proc. */
static long long resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	if (!f)
		return -1;
	unsigned long long size, res;
	int ok = fscanf(f, "%llu %llu", &size, &res) == 2;
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return ok && page > 0 ? (long long)(res * (unsigned long long)page) : -1;
}

void metrics_put_process(FILE *f)
{
	long fds = open_fds();
	if (fds >= 0)
		metrics_put(
			f, &(struct metric){"process_open_fds", METRIC_GAUGE, "Open file descriptors.", (uint64_t)fds});
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		metrics_put(f, &(struct metric){"process_max_fds", METRIC_GAUGE,
						"The open descriptor limit (ulimit -n).", (uint64_t)rl.rlim_cur});
	long long rss = resident_bytes();
	if (rss >= 0)
		metrics_put(f, &(struct metric){"process_resident_memory_bytes", METRIC_GAUGE,
						"Resident memory in bytes.", (uint64_t)rss});
}
