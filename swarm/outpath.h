/* Where df get's -O goes, decided before the download starts: a path the finished file is renamed
 * onto (symbolic links followed to their target), or a descriptor to stream into in order.
 *
 * Why before: a 30 GB download must not end with "No such file or directory" for a typo in the
 * folder, and a rename must never replace what is not a regular file: `-O /dev/null` run as root
 * would put a regular file where the null device was. A device, FIFO or socket is opened and
 * written in order as the pieces land (as standard output is for `-O -`); a folder, a missing or
 * unwritable parent folder are errors at once. */
#ifndef DF_SWARM_OUTPATH_H
#define DF_SWARM_OUTPATH_H

#include <stddef.h>
#include <stdint.h>

/* The output out (not "-"): DF_OK with *fd -1 and the path to rename onto in path (cap bytes; the
 * target when out is a symbolic link, as is otherwise), or DF_OK with *fd open for writing (a
 * device, FIFO...: the caller writes in order and closes it; path holds out). DF_ERR with err
 * naming the path and the cause. Opening a FIFO waits for its reader, as any writer's does: a
 * caller that must not wait (a daemon's loop) passes fd NULL and such an output is an error. */
int outpath_prepare(const char *out, char *path, size_t cap, int *fd, char *err, size_t errlen);

/* Is there room for the file of length bytes at path (an output as outpath_prepare gave it), the
 * store in store_dir holding have bytes of it? Only what is surely needed is asked: the whole file
 * on another filesystem than the store's, else what the store still lacks (the copy may be a
 * reflink, and without keep the file itself moves). DF_OK, also when it cannot tell; else DF_ERR
 * with err naming the folder, its room and the file's size. Room for this user (all of it for root). */
int outpath_check_room(const char *path, const char *store_dir, uint64_t length, uint64_t have, char *err,
		       size_t errlen);
/* Is there room in the store at store_dir for what it still lacks of a file of length bytes (it
 * holds have)? Asked after the store's GC made what room it could. DF_OK, also when it cannot
 * tell; else DF_ERR with err naming the store, its room and what is missing. */
int outpath_check_store_room(const char *store_dir, uint64_t length, uint64_t have, char *err, size_t errlen);

#endif
