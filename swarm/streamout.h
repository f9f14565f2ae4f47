/* df get -O -: the file written to a descriptor (standard output) in order while it downloads, so a
 * pipe's reader (`df get URL -O - | tar x`) works along instead of waiting for the whole file.
 *
 * How it is used: streamout_follow once the task's meta is known (its length may not be: a chunked
 * source streams too) and before each streamout_piece from on_piece, and once more at the end; streamout_finish once the download is done and its digest checked; streamout_free at
 * any point. A thread of its own writes, so a slow reader never stalls the download. The file's
 * last byte is held back until streamout_finish: a reader never gets a complete stream that is
 * wrong (a failed digest, an interrupted get end it one byte short, and df exits non-zero). When
 * the engine starts the task over (the source has another version) before a byte went out, the
 * stream starts again; after, it fails: what went out cannot be taken back. */
#ifndef DF_SWARM_STREAMOUT_H
#define DF_SWARM_STREAMOUT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct streamout;

/* *c streaming t to fd: started (with every piece t already has) when *c is NULL, started again
 * when t started over and nothing went out yet; takes t's length once the store knows it. DF_OK
 * (also when *c stays NULL: an empty file, or no thread: the caller writes at the end); DF_ERR with err when t started over after
 * bytes went out, or the stream failed (a write to fd, a read of the store). From the loop. */
int streamout_follow(struct streamout **c, struct store_task *t, int fd, char *err, size_t errlen);
/* Piece n is verified in the store (a second note of the same piece is ignored). */
void streamout_piece(struct streamout *c, uint32_t n);
/* The download is complete and checked: the thread writes the rest, the last byte included, and
 * then calls done(arg) from its own thread (at once, from this one, if it has already stopped), so
 * the caller's loop can go on serving peers while a slow reader drains the stream. */
void streamout_end(struct streamout *c, void (*done)(void *arg), void *arg);
/* Waits for the thread to write the rest (after streamout_end: it is done, or about to be; without
 * it, this ends the stream itself). DF_OK, or DF_ERR with err (a write failed: "writing: Broken
 * pipe"...). c is freed. */
int streamout_finish(struct streamout *c, char *err, size_t errlen);
/* Bytes written so far (for tests and the summary). */
uint64_t streamout_written(struct streamout *c);
/* Stops the thread (also one blocked writing to a reader that stopped reading), frees. NULL is
 * fine. What went out stays out, the last byte never. */
void streamout_free(struct streamout *c);

#endif
