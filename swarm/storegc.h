/* Disk GC for the long-running commands (supernode, df proxy, detached seeders) and `df gc`:
 * [store] quota and max_idle turned into store_gc runs: periodically, before a new task would take
 * the store past its quota, and as an emergency when a write meets a full disk. Keeps the numbers
 * `df status` and /metrics show (store bytes, quota, evictions, the last run).
 *
 * The process that owns the storegc says through `release` whether a task it holds open may go
 * (see store_gc_policy.release): a task being written, served or held by a running get is never
 * evicted; files the store does not own are never touched (store_gc's rule). */
#ifndef DF_SWARM_STOREGC_H
#define DF_SWARM_STOREGC_H

#include <stdint.h>
#include <stdio.h>

#include "core/jsonw.h"
#include "net/loop.h"
#include "store/store.h"

struct storegc {
	struct ev_loop *loop; /* NULL: no timer (df gc) */
	struct store *store;
	uint64_t quota;         /* bytes df's files may take; 0 = none */
	unsigned quota_percent; /* the setting, when a share of the filesystem (else 0) */
	uint64_t max_idle;      /* seconds; 0 = no age limit */
	int (*release)(void *arg, const char *id);
	void *arg;
	ev_timer timer;
	/* what the last run found and what all runs did */
	uint64_t used_bytes; /* df's files after the last run */
	uint64_t pending;    /* bytes of tasks created since (reserved by storegc_reserve) */
	uint64_t evictions, freed_bytes, runs, emergencies;
	double last_run; /* wall-clock time of the last run; 0 = never */
	uint32_t last_evicted, last_busy;
};

/* Fills gc from the settings ([store] quota text, max_idle seconds) for store; a share quota is
 * resolved against the store's filesystem size now. DF_OK, or DF_ERR with the cause in err. */
int storegc_init(struct storegc *gc, struct ev_loop *loop, struct store *store, const char *quota, uint64_t max_idle,
		 char *err, size_t errlen);
/* How often the daemons run GC: every minute, more often for a short max_idle (a quarter of it). */
double storegc_interval(uint64_t max_idle);
/* Runs GC now, then every `every` seconds (when a quota or max_idle is set). */
void storegc_start(struct storegc *gc, double every);
void storegc_stop(struct storegc *gc);
/* One run with the settings (dry_run: decide and report only). DF_OK or DF_ERR (logged). */
int storegc_run(struct storegc *gc, int dry_run, struct store_gc_result *res);
/* Before creating a task of `bytes` (0 when unknown): runs GC first when the store would cross its
 * quota, so it stays within quota plus the task being created, and evicts like storegc_emergency
 * when the filesystem has less than that free. */
void storegc_reserve(struct storegc *gc, uint64_t bytes);
/* A write met a full disk: evicts least recently used complete tasks nobody holds until `need`
 * bytes are free on the filesystem (as far as possible). Returns the bytes freed. */
uint64_t storegc_emergency(struct storegc *gc, uint64_t need);
/* The gauges and counters, as JSON fields in the open object / Prometheus text. */
void storegc_json(const struct storegc *gc, struct jsonw *w);
void storegc_metrics(const struct storegc *gc, FILE *f);

#endif
