/* Unit tests of swarm/storegc: the quota setting resolved against the filesystem, GC before a new
 * task that would cross the quota (the store stays within quota + that task), the run interval,
 * and the numbers status shows. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "swarm/storegc.h"
#include "test/unit/unit.h"

static struct store *open_store(const char *name)
{
	char root[1024], err[256];
	snprintf(root, sizeof root, "%s/%s", unit_tmpdir(), name);
	struct store *s = store_open(root, err, sizeof err);
	CHECK(s != NULL);
	return s;
}

/* A complete task of 4 pieces of 64 KiB. */
static void add_task(struct store *s, const char *id)
{
	static char piece[65536];
	char err[256];
	struct store_task_info info = {.length = 4 * 65536, .piece_size = 65536, .url = "http://x/y"};
	struct store_task *t = store_task_open(s, id, &info, STORE_CREATE, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	for (uint32_t n = 0; n < 4; n++) {
		memset(piece, (int)n + id[0], sizeof piece);
		CHECK_EQ(store_piece_write(t, n, piece, sizeof piece, NULL, err, sizeof err), DF_OK);
	}
	store_task_close(t);
}

static int count_tasks_cb(void *arg, const struct store_task_stat *st)
{
	(void)st;
	(*(int *)arg)++;
	return 0;
}

static int ntasks(struct store *s)
{
	int n = 0;
	char err[256];
	store_list(s, count_tasks_cb, &n, err, sizeof err);
	return n;
}

static void quota_settings(void)
{
	struct store *s = open_store("settings");
	struct storegc gc;
	char err[256];
	struct statvfs v;
	CHECK_EQ(statvfs(store_root(s), &v), 0);
	CHECK_EQ(storegc_init(&gc, NULL, s, "50%", 0, err, sizeof err), DF_OK);
	CHECK_EQ(gc.quota, (uint64_t)v.f_blocks * v.f_frsize / 100 * 50);
	CHECK_EQ(gc.quota_percent, 50);
	CHECK_EQ(storegc_init(&gc, NULL, s, "3M", 7, err, sizeof err), DF_OK);
	CHECK_EQ(gc.quota, 3u << 20);
	CHECK_EQ(gc.max_idle, 7);
	CHECK_EQ(storegc_init(&gc, NULL, s, "", 0, err, sizeof err), DF_OK);
	CHECK_EQ(gc.quota, 0);
	CHECK_EQ(storegc_init(&gc, NULL, s, "0%", 0, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "0%") != NULL);
	CHECK(storegc_interval(0) == 60);
	CHECK(storegc_interval(2) == 1);
	CHECK(storegc_interval(40) == 10);
	CHECK(storegc_interval(100000) == 60);
	store_close(s);
}

static void reserve_before_create(void)
{
	struct store *s = open_store("reserve");
	struct storegc gc;
	char err[256], id[8];
	/* room for about three tasks of 256 KiB (plus their metadata blocks) */
	CHECK_EQ(storegc_init(&gc, NULL, s, "800k", 0, err, sizeof err), DF_OK);
	storegc_run(&gc, 0, NULL);
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "a%d", i);
		storegc_reserve(&gc, 4 * 65536);
		add_task(s, id);
		/* quota + the task being created, whatever came before */
		struct store_gc_result r;
		CHECK_EQ(storegc_run(&gc, 1, &r), DF_OK); /* a dry run with the quota: just the bytes */
		CHECK(ntasks(s) <= 4);
	}
	CHECK(gc.evictions >= 6);
	CHECK(gc.runs >= 6);
	CHECK(gc.last_run > 0);
	/* least recently used first: the newest survive (uses ordered within a second too) */
	for (int i = 0; i < 10; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/tasks/a%d/a%d.meta", store_root(s), i, i);
		FILE *f = fopen(path, "r");
		CHECK((f != NULL) == (i >= 10 - ntasks(s)));
		if (f)
			fclose(f);
	}
	/* no quota: reserve never evicts */
	int before = ntasks(s);
	CHECK_EQ(storegc_init(&gc, NULL, s, "0", 0, err, sizeof err), DF_OK);
	storegc_reserve(&gc, 1ull << 30);
	CHECK_EQ(ntasks(s), before);
	store_close(s);
}

/* A piece being sent when GC runs: the reply holds its own dup() of the data file (what the piece
 * server hands to sendfile), whose shared lock keeps the task until the reply ends. */
static void transfer_in_flight(void)
{
	struct store *s = open_store("inflight");
	struct storegc gc;
	char err[256];
	int fd;
	uint64_t off;
	uint32_t len;
	add_task(s, "c1");
	struct store_task *t = store_task_open(s, "c1", NULL, STORE_RDONLY, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_EQ(store_piece_span(t, 0, &fd, &off, &len), DF_OK);
	int sending = dup(fd);
	store_task_close(t); /* the piece server's LRU closed its handle */
	CHECK_EQ(storegc_init(&gc, NULL, s, "1", 0, err, sizeof err), DF_OK);
	CHECK_EQ(storegc_run(&gc, 0, NULL), DF_OK);
	CHECK_EQ(ntasks(s), 1);
	CHECK_EQ(gc.last_busy, 1);
	char b[16];
	CHECK_EQ(pread(sending, b, sizeof b, (off_t)off), (ssize_t)sizeof b);
	close(sending); /* the reply ended */
	CHECK_EQ(storegc_run(&gc, 0, NULL), DF_OK);
	CHECK_EQ(ntasks(s), 0);
	store_close(s);
}

/* A run while a big task is mid-fetch: the bytes it has still to write count against the quota
 * afterwards (the soak's supernode grew to 15 MB over a 9 MiB quota when a run forgot them). */
static void run_mid_fetch(void)
{
	static char piece[65536];
	struct store *s = open_store("midfetch");
	struct storegc gc;
	char err[256];
	CHECK_EQ(storegc_init(&gc, NULL, s, "900k", 0, err, sizeof err), DF_OK);
	add_task(s, "d1"); /* 256 KiB, complete, the oldest */
	storegc_run(&gc, 0, NULL);
	/* a 512 KiB task starts (it fits beside the first: no run), one piece is written, a run */
	storegc_reserve(&gc, 8 * 65536);
	struct store_task_info info = {.length = 8 * 65536, .piece_size = 65536, .url = "http://x/big"};
	struct store_task *t = store_task_open(s, "e2", &info, STORE_CREATE, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_EQ(store_piece_write(t, 0, piece, sizeof piece, NULL, err, sizeof err), DF_OK);
	struct store_gc_result r;
	CHECK_EQ(storegc_run(&gc, 0, &r), DF_OK);
	CHECK_EQ(r.evicted, 0);
	CHECK_EQ(r.to_come, 7 * 65536);
	CHECK(gc.pending >= 7 * 65536);
	for (uint32_t n = 1; n < 8; n++)
		CHECK_EQ(store_piece_write(t, n, piece, sizeof piece, NULL, err, sizeof err), DF_OK);
	store_task_close(t);
	/* the next task: 256 + 512 + 256 KiB are over 900k, so the oldest task goes now */
	storegc_reserve(&gc, 4 * 65536);
	CHECK_EQ(ntasks(s), 1);
	store_close(s);
}

static void numbers(void)
{
	struct store *s = open_store("numbers");
	struct storegc gc;
	char err[256];
	add_task(s, "b1");
	CHECK_EQ(storegc_init(&gc, NULL, s, "1M", 0, err, sizeof err), DF_OK);
	storegc_run(&gc, 0, NULL);
	CHECK(gc.used_bytes >= 4 * 65536);
	struct jsonw w;
	jsonw_init(&w, 4096);
	jsonw_obj_open(&w, NULL);
	storegc_json(&gc, &w);
	jsonw_obj_close(&w);
	CHECK(!w.overflow && strstr(w.p, "\"quota_bytes\":1048576") != NULL && strstr(w.p, "\"evictions\":0") != NULL);
	jsonw_free(&w);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	storegc_metrics(&gc, f);
	fclose(f);
	CHECK(buf && strstr(buf, "df_store_quota_bytes 1048576\n") && strstr(buf, "df_store_evictions_total 0\n"));
	free(buf);
	store_close(s);
}

static const struct unit_test tests[] = {
	{"quota_settings", quota_settings},
	{"reserve_before_create", reserve_before_create},
	{"transfer_in_flight", transfer_in_flight},
	{"run_mid_fetch", run_mid_fetch},
	{"numbers", numbers},
};
UNIT_MAIN("storegc", tests)
