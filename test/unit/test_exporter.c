/* Unit tests of swarm/exporter: an export on its worker thread puts the whole file in place while
 * the loop keeps turning (a timer ticks during it), reports a failure with the path, and an
 * abandoned export still finishes, frees itself and calls nobody. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swarm/exporter.h"
#include "test/unit/unit.h"

#define PIECE (1u << 20)
#define PIECES 24

static struct ev_loop *L;
static char err[512];

struct result {
	int called, rc;
	char err[512];
};

static void on_done(void *ctx, int rc, const char *msg)
{
	struct result *r = ctx;
	r->called++;
	r->rc = rc;
	snprintf(r->err, sizeof r->err, "%s", msg ? msg : "");
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	(*(int *)w->data)++;
}

/* A complete task of PIECES pieces of 1 MiB, each byte its piece number + the offset's low bits. */
static struct store_task *complete_task(struct store *s, const char *id)
{
	static unsigned char piece[PIECE];
	struct store_task_info info = {
		.length = (int64_t)PIECES * PIECE - 333, .piece_size = PIECE, .url = "http://x/y"};
	struct store_task *t = store_task_open(s, id, &info, STORE_CREATE, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return NULL;
	for (uint32_t n = 0; n < PIECES; n++) {
		unit_pattern_fill(piece, n, PIECE);
		CHECK_EQ(store_piece_write(t, n, piece, store_task_piece_len(t, n), NULL, err, sizeof err), DF_OK);
	}
	CHECK(store_task_complete(t));
	return t;
}

static int same_as_task(const char *path)
{
	return unit_pattern_file(path, (uint64_t)PIECES * PIECE - 333, PIECE);
}

static void exports(void)
{
	L = ev_default_loop(EVFLAG_AUTO);
	char root[1024], out[1100];
	snprintf(root, sizeof root, "%s/st", unit_tmpdir());
	struct store *s = store_open(root, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	struct store_task *t = complete_task(s, "aa");
	if (!t)
		return;
	/* done, the file in place, the loop turning meanwhile */
	snprintf(out, sizeof out, "%s/out", unit_tmpdir());
	struct store_export x;
	CHECK_EQ(store_export_prepare(t, &x, err, sizeof err), DF_OK);
	struct result r = {0};
	int ticks = 0;
	ev_timer tm;
	ev_timer_init(&tm, tick, 0.001, 0.001);
	tm.data = &ticks;
	ev_timer_start(L, &tm);
	struct exporter *e = exporter_start(L, &x, AT_FDCWD, out, -1, on_done, &r);
	CHECK(e != NULL);
	CHECK_EQ(r.called, 0); /* never inside the call */
	while (!r.called)
		ev_run(L, EVRUN_ONCE);
	ev_timer_stop(L, &tm);
	CHECK_EQ(r.rc, DF_OK);
	CHECK(same_as_task(out));
	CHECK(ticks >= 1);
	/* a failure names the path */
	snprintf(out, sizeof out, "%s/no/such/dir/out", unit_tmpdir());
	CHECK_EQ(store_export_prepare(t, &x, err, sizeof err), DF_OK);
	r = (struct result){0};
	CHECK(exporter_start(L, &x, AT_FDCWD, out, -1, on_done, &r) != NULL);
	while (!r.called)
		ev_run(L, EVRUN_ONCE);
	CHECK_EQ(r.rc, DF_ERR);
	CHECK(strstr(r.err, out) != NULL);
	/* abandoned: it finishes on its own, nobody is called, it frees itself (ASan: no leak) */
	snprintf(out, sizeof out, "%s/out2", unit_tmpdir());
	CHECK_EQ(store_export_prepare(t, &x, err, sizeof err), DF_OK);
	r = (struct result){0};
	e = exporter_start(L, &x, AT_FDCWD, out, -1, on_done, &r);
	CHECK(e != NULL);
	exporter_abandon(e);
	ev_run(L, 0); /* returns once its wake-up came and it stopped its watcher */
	CHECK_EQ(r.called, 0);
	CHECK(same_as_task(out));
	store_task_close(t);
	store_close(s);
}

/* The end of a live copy on the worker: done, the file in place, even though the caller's path went
 * away at once (df proxy frees a job whose client left; ASan: no use after free). */
static void live_copy_end(void)
{
	L = ev_default_loop(EVFLAG_AUTO);
	char root[1024];
	snprintf(root, sizeof root, "%s/st2", unit_tmpdir());
	struct store *s = store_open(root, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	struct store_task *t = complete_task(s, "bb");
	if (!t)
		return;
	size_t n = strlen(unit_tmpdir()) + 16;
	char *path = malloc(n), out[1100];
	if (!path)
		return;
	snprintf(path, n, "%s/live", unit_tmpdir());
	snprintf(out, sizeof out, "%s", path);
	struct livecopy *c = livecopy_start(t, AT_FDCWD, path);
	CHECK(c != NULL);
	for (uint32_t i = 0; c && i < PIECES; i++)
		livecopy_piece(c, i);
	struct store_export x;
	CHECK_EQ(store_export_prepare(t, &x, err, sizeof err), DF_OK);
	struct result r = {0};
	CHECK(exporter_start_live(L, c, &x, AT_FDCWD, path, -1, on_done, &r) != NULL);
	memset(path, 'x', n - 1);
	free(path);
	while (!r.called)
		ev_run(L, EVRUN_ONCE);
	CHECK_EQ(r.rc, DF_OK);
	CHECK(same_as_task(out));
	store_task_close(t);
	store_close(s);
}

static const struct unit_test tests[] = {
	{"exports", exports},
	{"live_copy_end", live_copy_end},
};
UNIT_MAIN("exporter", tests)
