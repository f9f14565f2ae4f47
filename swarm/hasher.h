/* Whole-file digests (SHA-256, MD5 on request) computed by a worker thread while a file arrives, so
 * the event loop (the supernode's, or a peer's checking a digest it was given) only moves bytes, and
 * the digest is ready moments after the last piece instead of a whole pass later.
 *
 * How it is used: the loop owns the hasher. hasher_feed says how many bytes from the start of the
 * file are present (they are never written again), and whether that is the whole file; the worker
 * reads them through its own descriptor and hashes them. When the whole file is hashed (or a read
 * failed) the worker wakes the loop, which then calls `done`; hasher_result gives the digests. */
#ifndef DF_SWARM_HASHER_H
#define DF_SWARM_HASHER_H

#include <stddef.h>
#include <stdint.h>

#include "net/loop.h"

struct hasher;

/* Starts a worker that reads fd (now the hasher's: closed by hasher_free, or here on failure) from offset 0. md5: also
 * compute MD5. done(ctx) runs on loop once the result is ready (never inside a hasher_* call).
 * Returns NULL with errno set when the thread or the memory cannot be had. */
struct hasher *hasher_start(struct ev_loop *loop, int fd, int md5, void (*done)(void *ctx), void *ctx);
/* The same with the worker at the given nice (hasher_start: 10, below the loops that move bytes; 0
 * for a digest that someone waits for). */
struct hasher *hasher_start_nice(struct ev_loop *loop, int fd, int md5, int nice, void (*done)(void *ctx), void *ctx);

/* Bytes [0, avail) are present; final: that is the whole file. avail never goes down. */
void hasher_feed(struct hasher *h, uint64_t avail, int final);

/* DF_OK with the digests, DF_AGAIN while the worker is still going, DF_ERR with "reading the data
 * file at OFFSET: cause" in err. Any of md5 (zeros unless asked at start), sha256, err may be NULL
 * to ask only how it went. */
int hasher_result(struct hasher *h, uint8_t md5[16], uint8_t sha256[32], char *err, size_t errlen);

/* Stops the worker (waits for at most one read and hash of 256 KiB), closes its descriptor, frees.
 * NULL is fine. `done` is not called after this. */
void hasher_free(struct hasher *h);

#endif
