/* [store] quota and max_idle, applied by store_gc at the right moments (swarm/storegc.h). */
#include "swarm/storegc.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"

#define RESERVE_SLACK (1u << 20) /* metadata, and a margin for writes under way */

static int fs_sizes(struct store *s, uint64_t *total, uint64_t *avail)
{
	struct statvfs v;
	if (statvfs(store_root(s), &v) != 0)
		return DF_ERR;
	*total = (uint64_t)v.f_blocks * v.f_frsize;
	*avail = (uint64_t)v.f_bavail * v.f_frsize;
	return DF_OK;
}

int storegc_init(struct storegc *gc, struct ev_loop *loop, struct store *store, const char *quota, uint64_t max_idle,
		 char *err, size_t errlen)
{
	memset(gc, 0, sizeof *gc);
	gc->loop = loop;
	gc->store = store;
	gc->max_idle = max_idle;
	if (config_parse_quota(quota ? quota : "", &gc->quota, &gc->quota_percent) != DF_OK) {
		snprintf(err, errlen, "[store] quota '%s': neither a size (200G) nor a share of the filesystem (80%%)",
			 quota);
		return DF_ERR;
	}
	if (gc->quota_percent) {
		uint64_t total, avail;
		if (fs_sizes(store, &total, &avail) != DF_OK) {
			snprintf(err, errlen, "[store] quota %s: statvfs %s: %s", quota, store_root(store),
				 strerror(errno));
			return DF_ERR;
		}
		gc->quota = total / 100 * gc->quota_percent;
	}
	return DF_OK;
}

/* One store_gc run; why names an emergency's evictions (NULL: a quota run, which warns when it
 * cannot get under the quota). */
static int run_policy(struct storegc *gc, uint64_t quota, uint64_t max_idle, int dry_run, const char *why,
		      struct store_gc_result *res)
{
	char err[512];
	struct store_gc_result r;
	struct store_gc_policy p = {
		.quota_bytes = quota,
		.max_idle_seconds = max_idle,
		.release = gc->release,
		.arg = gc->arg,
		.dry_run = dry_run,
		.why = why,
	};
	int rc = store_gc(gc->store, &p, &r, err, sizeof err);
	if (rc != DF_OK) {
		log_warn("store GC: %s", err);
		return DF_ERR;
	}
	if (!dry_run && !why && quota && r.used_bytes > quota)
		log_warn("store %s: %llu bytes, over its quota of %llu after GC: the rest is in use (%u task%s) or "
			 "incomplete",
			 store_root(gc->store), (unsigned long long)r.used_bytes, (unsigned long long)quota, r.busy,
			 r.busy == 1 ? "" : "s");
	if (!dry_run) {
		gc->runs++;
		gc->last_run = (double)time(NULL);
		gc->used_bytes = r.used_bytes;
		/* what tasks being written will still add: zeroing it let a store whose big tasks were
		 * mid-fetch at a run grow past the quota unseen until the next minute's run */
		gc->pending = r.to_come;
		gc->evictions += r.evicted;
		gc->freed_bytes += r.freed_bytes;
		gc->last_evicted = r.evicted;
		gc->last_busy = r.busy;
	}
	if (res)
		*res = r;
	return DF_OK;
}

int storegc_run(struct storegc *gc, int dry_run, struct store_gc_result *res)
{
	return run_policy(gc, gc->quota, gc->max_idle, dry_run, NULL, res);
}

double storegc_interval(uint64_t max_idle)
{
	double every = max_idle ? (double)max_idle / 4 : 60;
	return every < 1 ? 1 : every > 60 ? 60 : every;
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	storegc_run(DF_CONTAINER_OF(w, struct storegc, timer), 0, NULL);
}

void storegc_start(struct storegc *gc, double every)
{
	storegc_run(gc, 0, NULL);
	if (gc->loop && (gc->quota || gc->max_idle)) {
		ev_timer_init(&gc->timer, tick, every, every);
		ev_timer_start(gc->loop, &gc->timer);
	}
}

void storegc_stop(struct storegc *gc)
{
	if (gc->loop)
		ev_timer_stop(gc->loop, &gc->timer);
}

void storegc_reserve(struct storegc *gc, uint64_t bytes)
{
	uint64_t total, avail;
	if (gc->quota && gc->used_bytes + gc->pending + bytes > gc->quota)
		run_policy(gc, bytes < gc->quota ? gc->quota - bytes : 1, gc->max_idle, 0, NULL, NULL);
	/* the disk itself (other files share it): make room before the writes meet ENOSPC */
	if (bytes && fs_sizes(gc->store, &total, &avail) == DF_OK && avail < bytes + RESERVE_SLACK)
		storegc_emergency(gc, bytes + RESERVE_SLACK);
	gc->pending += bytes;
}

uint64_t storegc_emergency(struct storegc *gc, uint64_t need)
{
	uint64_t total, avail, freed = 0;
	struct store_gc_result r;
	gc->emergencies++;
	if (fs_sizes(gc->store, &total, &avail) != DF_OK || avail >= need)
		return 0;
	/* what df's files take now, then a quota that frees the shortfall */
	if (run_policy(gc, 0, 0, 1, NULL, &r) != DF_OK)
		return 0;
	uint64_t shortfall = need - avail;
	if (run_policy(gc, r.used_bytes > shortfall ? r.used_bytes - shortfall : 1, gc->max_idle, 0,
		       "to free disk space", &r) == DF_OK)
		freed = r.freed_bytes;
	log_warn("store %s: disk (nearly) full: GC freed %llu bytes of the %llu needed", store_root(gc->store),
		 (unsigned long long)freed, (unsigned long long)shortfall);
	return freed;
}

void storegc_json(const struct storegc *gc, struct jsonw *w)
{
	jsonw_obj_open(w, "store");
	jsonw_str(w, "root", store_root(gc->store));
	jsonw_u64(w, "bytes", gc->used_bytes + gc->pending);
	jsonw_u64(w, "quota_bytes", gc->quota);
	jsonw_u64(w, "max_idle_seconds", gc->max_idle);
	jsonw_u64(w, "evictions", gc->evictions);
	jsonw_u64(w, "evicted_bytes", gc->freed_bytes);
	jsonw_u64(w, "gc_runs", gc->runs);
	jsonw_u64(w, "disk_full_events", gc->emergencies);
	jsonw_f64(w, "last_gc_unix", gc->last_run);
	jsonw_u64(w, "last_gc_busy", gc->last_busy);
	jsonw_obj_close(w);
}

void storegc_metrics(const struct storegc *gc, FILE *f)
{
	const struct metric m[] = {
		{"df_store_bytes", METRIC_GAUGE,
		 "Bytes df's store takes on disk (at the last GC, plus tasks created since).",
		 gc->used_bytes + gc->pending},
		{"df_store_quota_bytes", METRIC_GAUGE, "The store's quota ([store] quota); 0 means none.", gc->quota},
		{"df_store_evictions_total", METRIC_COUNTER, "Tasks GC evicted.", gc->evictions},
		{"df_store_evicted_bytes_total", METRIC_COUNTER, "Bytes GC freed.", gc->freed_bytes},
		{"df_store_disk_full_total", METRIC_COUNTER, "Writes that met a full disk.", gc->emergencies},
		{"df_store_last_gc_seconds", METRIC_GAUGE, "Unix time of the last GC run; 0 means never.",
		 (uint64_t)(gc->last_run + 0.5)},
	};
	metrics_put_all(f, m, (int)DF_ARRAY_LEN(m));
}
