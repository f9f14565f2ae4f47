/* A store export (store_export_run: copy, fsync, rename into place) on a worker thread, so a
 * daemon's loop goes on serving while a big file is written out: copied in the loop, a 30 GB
 * download handed to df proxy stopped everything else the proxy did for the minutes it took.
 *
 * How it is used: store_export_prepare in the loop (it needs the task), then exporter_start with
 * what it filled in; done(ctx, rc, err) runs on the loop once the file is in place or the export
 * failed (rc DF_OK or DF_ERR with err naming the path and the cause). */
#ifndef DF_SWARM_EXPORTER_H
#define DF_SWARM_EXPORTER_H

#include "net/loop.h"
#include "store/store.h"
#include "swarm/livecopy.h"

struct exporter;

/* Takes x and dirfd (a directory descriptor: the worker's from now on, closed when it ends, on
 * failure here too; AT_FDCWD: path as is) and writes path relative to it, mode as
 * store_export_run. done never runs inside this call. NULL with errno when no thread can start. */
struct exporter *exporter_start(struct ev_loop *loop, struct store_export *x, int dirfd, const char *path, int mode,
				void (*done)(void *ctx, int rc, const char *err), void *ctx);

/* The same for a download copied as its pieces landed: the worker ends live (livecopy_finish:
 * what landed last, fsync, rename; it is the worker's, freed even on failure here) and runs the
 * export of x only when the live copy gave up. live NULL: exporter_start. */
struct exporter *exporter_start_live(struct ev_loop *loop, struct livecopy *live, struct store_export *x, int dirfd,
				     const char *path, int mode, void (*done)(void *ctx, int rc, const char *err),
				     void *ctx);

/* The caller no longer wants to hear of it: done is not called; the worker finishes what it does
 * (a copy stopped half-way would only leave a temporary file) and frees itself on the loop.
 * NULL is fine. */
void exporter_abandon(struct exporter *e);

#endif
