/* df get's copy to -O while the download runs: each verified piece is copied into the output's
 * temporary file (store_live, past the page cache) on a thread of its own as it lands, so the copy
 * ends with the download instead of starting after it (0.4 s per 512 MiB here, minutes for 30 GB).
 *
 * How it is used: livecopy_follow once the length is known and before each livecopy_piece from
 * on_piece (it starts the copy, and starts it again when the engine started the task over), then
 * livecopy_finish when the download is done: DF_OK, the file is in place; DF_AGAIN, the live copy
 * gave up somewhere (an O_DIRECT write refused...) and nothing is left of it: export at the end as
 * without it. livecopy_free at any point drops it all. */
#ifndef DF_SWARM_LIVECOPY_H
#define DF_SWARM_LIVECOPY_H

#include <stdint.h>

#include "store/store.h"

struct livecopy;

/* For path (relative to dirfd, AT_FDCWD: as is) from t, whose length is known. NULL when a copy at
 * the end is better or the only way here (reflinks, no O_DIRECT, no thread...): nothing to undo. */
struct livecopy *livecopy_start(struct store_task *t, int dirfd, const char *path);
/* *c copying t to path: started (with every piece t already has) when *c is NULL, started again
 * when it no longer follows t (livecopy_follows); *c stays NULL where a live copy cannot run. From
 * the loop: on_meta, and on_piece before livecopy_piece. */
void livecopy_follow(struct livecopy **c, struct store_task *t, int dirfd, const char *path);
/* Piece n is verified in the store (a second note of the same piece is ignored). */
void livecopy_piece(struct livecopy *c, uint32_t n);
/* 1 while t (the download's task, from the loop) is still what c copies from; 0 once the engine
 * started the task over (the source has another version): free c, start again. */
int livecopy_follows(const struct livecopy *c, const struct store_task *t);
/* Every piece was noted: waits for the thread to copy the rest, then cuts, fsyncs and renames the
 * file into place. DF_OK: done. DF_AGAIN: the live copy failed (the temporary file is gone: export
 * at the end instead). DF_ERR with err: putting the copied file in place failed. c is freed. mode
 * >= 0: the file's permission bits (set exactly, whatever the umask); -1: 0666 & ~umask. */
int livecopy_finish(struct livecopy *c, int mode, char *err, size_t errlen);
/* Stops the thread (after at most one 1 MiB step of a piece), removes the temporary file, frees.
 * NULL is fine. */
void livecopy_free(struct livecopy *c);

#endif
