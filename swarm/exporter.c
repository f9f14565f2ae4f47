/* The export worker: one thread per export, store_export_run on it (or the end of a live copy,
 * the export only if that gave up), the result handed back to the loop with an ev_async; an
 * abandoned export frees itself there. */
#include "swarm/exporter.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/df.h"

struct exporter {
	struct ev_loop *loop;
	ev_async wake; /* worker -> loop: the file is in place, or the export failed */
	pthread_t th;
	void (*done)(void *ctx, int rc, const char *err);
	void *ctx; /* loop side: done and ctx are cleared by exporter_abandon */
	/* the worker's until it wakes the loop */
	struct store_export x;
	struct livecopy *live; /* finished first; x only when it gives up */
	int dirfd, mode, rc;
	char *path;
	char err[512];
};

static void *work(void *arg)
{
	struct exporter *e = arg;
	e->rc = DF_AGAIN;
	if (e->live) {
		e->rc = livecopy_finish(e->live, e->mode, e->err, sizeof e->err);
		e->live = NULL;
	}
	if (e->rc == DF_AGAIN)
		e->rc = store_export_run(&e->x, e->dirfd, e->path, e->mode, e->err, sizeof e->err);
	else
		store_export_drop(&e->x);
	ev_async_send(e->loop, &e->wake);
	return NULL;
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)revents;
	struct exporter *e = DF_CONTAINER_OF(w, struct exporter, wake);
	pthread_join(e->th, NULL); /* it has sent its wake-up: nothing left but returning */
	ev_async_stop(loop, &e->wake);
	if (e->dirfd >= 0)
		close(e->dirfd);
	if (e->done)
		e->done(e->ctx, e->rc, e->err);
	free(e->path);
	free(e);
}

struct exporter *exporter_start(struct ev_loop *loop, struct store_export *x, int dirfd, const char *path, int mode,
				void (*done)(void *ctx, int rc, const char *err), void *ctx)
{
	return exporter_start_live(loop, NULL, x, dirfd, path, mode, done, ctx);
}

struct exporter *exporter_start_live(struct ev_loop *loop, struct livecopy *live, struct store_export *x, int dirfd,
				     const char *path, int mode, void (*done)(void *ctx, int rc, const char *err),
				     void *ctx)
{
	struct exporter *e = calloc(1, sizeof *e);
	int err = ENOMEM;
	if (!e || !(e->path = strdup(path)))
		goto fail;
	e->loop = loop;
	e->done = done;
	e->ctx = ctx;
	e->x = *x;
	e->live = live;
	e->dirfd = dirfd;
	e->mode = mode;
	ev_async_init(&e->wake, on_wake);
	ev_async_start(loop, &e->wake);
	if ((err = pthread_create(&e->th, NULL, work, e)) != 0) {
		ev_async_stop(loop, &e->wake);
		goto fail;
	}
	return e;
fail:
	livecopy_free(live);
	store_export_drop(x);
	if (dirfd >= 0)
		close(dirfd);
	if (e)
		free(e->path);
	free(e);
	errno = err;
	return NULL;
}

void exporter_abandon(struct exporter *e)
{
	if (!e)
		return;
	e->done = NULL;
	e->ctx = NULL;
}
