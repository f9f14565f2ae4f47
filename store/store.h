/* The piece store every df command shares: per task a sparse data file and a crash-safe metadata
 * file under one root; pieces are verified before they count, served by sendfile, exported by
 * reflink or copy.
 *
 * How it is used: store_open once per process; store_task_open per file being distributed; pieces
 * arrive through a store_piece_writer (begin / append... / finish) and leave through
 * store_piece_read or store_piece_sendfile. docs/STORE.md has the layout, the fsync policy, the
 * locking rule and the crash guarantees.
 *
 * Errors: every function that can fail returns DF_ERR (or NULL), leaves errno set, and writes
 * "store: PATH: cause" into err (err may be NULL when errlen is 0). errno tells callers apart:
 * ENOENT no such task or piece, EBUSY another process holds it, EBADMSG checksum mismatch or corrupt
 * metadata, ESTALE the stored task disagrees with the caller's info, EINVAL bad arguments; ENOSPC,
 * EIO, EROFS, EACCES... come from the kernel.
 *
 * Threads: a store and its tasks belong to one thread (df runs one event loop per process). */
#ifndef DF_STORE_H
#define DF_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "core/digest.h"

/* Pieces a task may have (its metadata holds a bitmap and a checksum for each). */
#define STORE_MAX_PIECES (1u << 24)

struct store;
struct store_task;

#define STORE_SUM_LEN DIGEST_XXH128_LEN

/* ---- the store ---- */

/* The default root into buf: /var/lib/df for root, else $XDG_CACHE_HOME/df, else ~/.cache/df.
 * DF_OK, or DF_ERR (errno ENAMETOOLONG / ENOENT when no home is known). */
int store_default_root(char *buf, size_t cap);

/* Opens the store at root: creates it (and its tasks/ and tmp/ folders) when missing and checks
 * that it is a writable directory. The caller owns the result; NULL on error. */
struct store *store_open(const char *root, char *err, size_t errlen);

/* Closes the store. Tasks still open are closed (with a warning: close them first). */
void store_close(struct store *s);

const char *store_root(const struct store *s);

/* ---- tasks ---- */

/* What a task is. Strings are NUL-terminated; "" or NULL means unknown. */
struct store_task_info {
	int64_t length;      /* bytes, or -1 while unknown (no Content-Length) */
	uint32_t piece_size; /* bytes, 1 .. 1 GiB */
	const char *url;     /* source URL */
	const char *etag;    /* source validators */
	const char *last_modified;
	const char *digest; /* expected whole-file digest: "sha256:HEX", "md5:HEX" or bare hex */
	const char *md5;    /* md5 hex */
};

enum store_open_flags {
	STORE_CREATE = 1, /* create the task from info when it does not exist */
	STORE_RDONLY = 2, /* never become the writer (a seeder that only serves) */
};

/* Opens task `id` (1..64 lower-case hex digits). With STORE_CREATE and info, creates it when
 * missing; info is also checked against an existing task: a different piece size, a different
 * known length or different non-empty validators (etag, last_modified) fail with ESTALE, so the
 * caller can store_task_remove and start over. A known length or digest in info that the task
 * lacks is recorded. Opening the same id twice in one store returns the same handle (counted).
 * The first process to open a task becomes its writer; others get a read-only handle
 * (store_task_writable() == 0) whose piece state is the one at open. A task left dirty by a
 * crashed writer is recovered here: pieces it logged since its last snapshot are re-verified and
 * those that fail are dropped. Returns the handle (close it with store_task_close) or NULL. */
struct store_task *store_task_open(struct store *s, const char *id, const struct store_task_info *info, int flags,
				   char *err, size_t errlen);

/* Drops one reference; the last close writes a clean snapshot (writer) and releases the locks. */
void store_task_close(struct store_task *t);

/* Lets go of a complete task's files and keeps its description: the handle stays valid for what
 * the task is (info, length, pieces, every piece's checksum through store_task_sum) but holds no
 * descriptor, lock or piece (store_task_has is 0, reads fail with ENOENT, writes with EBUSY), and
 * store_task_open no longer returns it, so GC may evict the files (a supernode whose peers hold the
 * task between them). Only the last reference in this process (else EBUSY) of a complete task (else
 * EINVAL). DF_OK (also for a handle already detached) or DF_ERR. Close it with store_task_close. */
int store_task_detach(struct store_task *t, char *err, size_t errlen);
/* 1 for a handle store_task_detach let go of its files, else 0. */
int store_task_detached(const struct store_task *t);

/* Closes a complete task's descriptors (and with them its locks) but keeps the handle and all it
 * knows in memory; a later call that needs the files opens them again. For a process that keeps
 * thousands of tasks it schedules but seldom reads (a supernode): descriptors then follow the
 * transfers in flight, not the tasks held. Within this process the task still counts as in use
 * (GC asks store_gc_policy.release before evicting it); another process (df gc) may remove it
 * meanwhile, and the call that reopens then fails with ENOENT, or ESTALE when the files are not
 * the ones parked. DF_OK; DF_ERR with err: EINVAL not complete, EBUSY pieces being written. */
int store_task_park(struct store_task *t, char *err, size_t errlen);
/* 1 while parked (no descriptors open), else 0. */
int store_task_parked(const struct store_task *t);
/* 1 when parked task t's files are no longer the ones parked (removed by another process's GC, or
 * made again), so the next call that needs them would fail: its holder should let it go. */
int store_task_parked_gone(const struct store_task *t);

/* Deletes task id's files. Fails with EBUSY when any process has it open. */
int store_task_remove(struct store *s, const char *id, char *err, size_t errlen);

const char *store_task_id(const struct store_task *t);
/* The task's info: strings owned by the task, "" when unknown; digest is "sha256:HEX" and md5 is
 * hex once known (set at creation or by store_task_set_digests). Valid until the next call that
 * changes the task. */
const struct store_task_info *store_task_info(const struct store_task *t);
/* 1 when this handle may write pieces (it holds the writer lock), else 0. */
int store_task_writable(const struct store_task *t);

/* ---- piece state ---- */

int64_t store_task_length(const struct store_task *t); /* -1 while unknown */
uint32_t store_task_piece_size(const struct store_task *t);
uint32_t store_task_piece_count(const struct store_task *t); /* 0 while the length is unknown */
/* The pieces there can be so far: the count once the length is known, else up to the last present. */
uint32_t store_task_pieces_seen(const struct store_task *t);
/* Bytes of piece n: piece_size, less for the last piece; 0 when n is past the end. */
uint32_t store_task_piece_len(const struct store_task *t, uint32_t n);
int store_task_has(const struct store_task *t, uint32_t n);
/* The present-piece bitmap, piece 0 in the most significant bit of byte 0, bits past the last
 * piece zero; *nbytes = (pieces + 7) / 8. While the length is unknown it covers the pieces up to
 * the highest present one. Owned by the task; valid until the next call that changes it. */
const uint8_t *store_task_bitmap(const struct store_task *t, size_t *nbytes);
uint32_t store_task_present(const struct store_task *t);
uint64_t store_task_present_bytes(const struct store_task *t);
/* 1 when the length is known and every piece is present. */
int store_task_complete(const struct store_task *t);

/* Records the checksum piece n must have (the supernode's word, given before the fetch); a
 * writer's finish(NULL) then checks against it. Kept in memory only. Fails with EBADMSG when the
 * piece is already present with a different checksum, EINVAL when n is past the end. */
int store_task_expect(struct store_task *t, uint32_t n, const uint8_t sum[STORE_SUM_LEN], char *err, size_t errlen);
/* The checksum of present piece n into sum: DF_OK, or DF_ERR (ENOENT) when absent. */
int store_task_checksum(const struct store_task *t, uint32_t n, uint8_t sum[STORE_SUM_LEN]);
/* The checksum piece n has (present) or must have (expected: store_task_expect, or every piece of a
 * detached task) into sum: DF_OK, or DF_ERR (ENOENT) when neither is known. */
int store_task_sum(const struct store_task *t, uint32_t n, uint8_t sum[STORE_SUM_LEN]);

/* Fixes the length of a task created with length -1 (pieces of piece_size so far; the last may be
 * short). Fails with EINVAL when a present piece does not fit. Writes a snapshot. */
int store_task_set_length(struct store_task *t, int64_t length, char *err, size_t errlen);
/* Records the whole-file digests once known (either may be NULL). Writes a snapshot. */
int store_task_set_digests(struct store_task *t, const uint8_t md5[DIGEST_MD5_LEN],
			   const uint8_t sha256[DIGEST_SHA256_LEN], char *err, size_t errlen);
/* Reads the whole data file of a complete task and computes its MD5 and SHA-256, to check against
 * an expected digest; an out that is NULL is not computed (each costs a CPU pass over the file). */
int store_task_file_digests(struct store_task *t, uint8_t md5[DIGEST_MD5_LEN], uint8_t sha256[DIGEST_SHA256_LEN],
			    char *err, size_t errlen);

/* ---- writing pieces ---- */

/* A piece being received in chunks. The caller embeds it (no allocation); many writers may be
 * active on different pieces of one task. Fields are private. */
struct store_piece_writer {
	struct store_task *task; /* NULL when idle */
	uint32_t piece;
	uint64_t off;  /* file offset of the piece */
	uint32_t max;  /* bytes the piece may have */
	uint32_t done; /* bytes appended */
	struct digest_xxh128_ctx xxh;
};

/* Starts writing piece n of a writable task. Fails with EEXIST (already present), EBUSY (another
 * writer has it, or the handle is read-only), EINVAL (past the end). */
int store_piece_begin(struct store_piece_writer *w, struct store_task *t, uint32_t n, char *err, size_t errlen);
/* Writes the next len bytes of the piece at their offset (pwrite) and hashes them. Fails with
 * EINVAL when the piece would grow past its length; a disk error (ENOSPC...) leaves the writer
 * begun: abort it. */
int store_piece_append(struct store_piece_writer *w, const void *buf, size_t len, char *err, size_t errlen);
/* Ends the piece. Its xxh3-128 must equal `expected` (16 bytes), else the one set by
 * store_task_expect, else anything goes (the supernode computing checksums from the source). On
 * DF_OK the piece is present and recorded in the metadata; on a mismatch DF_ERR with EBADMSG and
 * the piece stays absent. Either way the writer is idle afterwards. With the length unknown, a
 * piece shorter than piece_size is the last one and fixes the length. */
int store_piece_finish(struct store_piece_writer *w, const uint8_t *expected, char *err, size_t errlen);
/* Abandons the piece (it stays absent). Safe on an idle writer. */
void store_piece_abort(struct store_piece_writer *w);
/* begin + append + finish in one call. */
int store_piece_write(struct store_task *t, uint32_t n, const void *buf, size_t len, const uint8_t *expected, char *err,
		      size_t errlen);

/* ---- reading pieces ---- */

/* Reads len bytes at offset off of present piece n into buf. DF_OK, or DF_ERR: ENOENT (absent),
 * EINVAL (range past the piece), EIO (the data file is shorter than the metadata says: the piece
 * is dropped, never served). */
int store_piece_read(struct store_task *t, uint32_t n, uint32_t off, void *buf, size_t len, char *err, size_t errlen);
/* For zero-copy sends: the data fd (owned by the task), the file offset and the length of present
 * piece n. DF_OK, or DF_ERR (ENOENT) when absent. */
int store_piece_span(const struct store_task *t, uint32_t n, int *fd, uint64_t *off, uint32_t *len);
/* A new read-only descriptor of the task's data file (its own open file description: closing it
 * never touches the handle's locks), for a reader in another thread. The caller closes it.
 * Returns it, or -1 with errno set. */
int store_task_open_data(const struct store_task *t);
/* sendfile()s up to len bytes from offset off of present piece n to sock (which may be
 * non-blocking). Returns the bytes sent (> 0), DF_AGAIN when the socket is full, or DF_ERR. */
ssize_t store_piece_sendfile(struct store_task *t, uint32_t n, uint32_t off, int sock, size_t len, char *err,
			     size_t errlen);

/* ---- whole files ---- */

/* Writes a complete task to path atomically: a new file under a temporary name in path's folder
 * (mode 0666 & ~umask, as any file the caller creates), fsynced, then renamed, so path never
 * holds a partial file. The bytes come by reflink (FICLONE) where the filesystem can, else
 * copy_file_range, else read/write. Never a hard link: an export shares no inode with the store
 * or with another export, and df never writes it again. Fails with ENODATA when the task is not
 * complete. */
int store_task_export(struct store_task *t, const char *path, char *err, size_t errlen);
/* The same, with path relative to the directory descriptor dirfd (AT_FDCWD: as above), so a caller
 * that resolved the folder safely writes exactly there; mode >= 0 is set on the new file (fchmod,
 * before it gets its name) instead of 0666 & ~umask. */
int store_task_export_at(struct store_task *t, int dirfd, const char *path, int mode, char *err, size_t errlen);
/* An export in two steps, so the copy can run where the task is not (another process, after the
 * task's owner moved on): prepare, in the task's thread, checks it is complete and keeps its own
 * descriptor of the data file; run needs nothing else, copies, fsyncs and renames as
 * store_task_export_at does, and always lets the descriptor go (as does drop, for one not run). */
struct store_export {
	int in; /* the data file (a descriptor of its own) */
	int64_t length, data_size;
	int no_clone, no_direct, no_kernel_copy;
};
int store_export_prepare(struct store_task *t, struct store_export *x, char *err, size_t errlen);
int store_export_run(struct store_export *x, int dirfd, const char *path, int mode, char *err, size_t errlen);
void store_export_drop(struct store_export *x);
/* An export written while the task downloads (df get -O), so the copy ends with the download:
 * open (in the task's thread; the length known) creates the temporary file next to path and keeps
 * a descriptor of the data file; write copies verified bytes [off, off + len) into it past the page
 * cache (O_DIRECT), from any one thread at a time; close, once every byte is written, cuts it to
 * the task's length, fsyncs and renames it as store_export_run does; drop removes an unclosed one
 * (close and drop always let go of everything). off is a multiple of 4096 and so is len but at the
 * end of the file: whole pieces are. DF_AGAIN from open: better or only done at the end (the
 * filesystem has reflinks or refuses O_DIRECT, pieces are not multiples of 4096, the length is
 * unknown); from write: the filesystem or the alignment refused (drop it, export at the end).
 * DF_ERR with errno (open: with err). */
struct store_live {
	int in, out, dirfd;
	struct stat data; /* the data file it copies from (its own descriptor holds it: no reuse) */
	uint64_t length;
	void *buf;
	const char *path; /* the caller's, until close or drop */
	char tmp[4096];
};
int store_live_open(struct store_task *t, struct store_live *l, int dirfd, const char *path, char *err, size_t errlen);
/* Removes the temporary files of path's exports that a killed df left next to it (a regular file
 * of this user, its pid gone, its writer's lock free); logged. store_export_run does it first;
 * store_live_open does not (it runs on a daemon's loop, and this reads the whole folder): the live
 * copy's thread does. */
void store_export_sweep(int dirfd, const char *path);
/* The same, and those of pid at any age: a process that wrote path's copy and that the caller saw
 * die (df proxy, whose hand-off ended without its last line: its temporary file would stay an hour). */
void store_export_sweep_dead(int dirfd, const char *path, long pid);
/* The same for every export below dir (df proxy's push directory, whose exports are many paths and
 * may never be written again): walks the tree, not through symbolic links. Returns how many went. */
int store_export_sweep_tree(const char *dir);
/* Whether no process pid runs: none has it, or it has exited and waits for its parent (a zombie:
 * its locks are gone). A pid of another pid namespace looks gone too: pair it with a lock. */
int store_pid_gone(long pid);
int store_live_write(struct store_live *l, uint64_t off, uint64_t len);
/* 1 while t's data file is still the one l copies from; 0 once the store replaced it (the source
 * had another version: t started over), and what l copied is of no use. */
int store_live_follows(const struct store_live *l, const struct store_task *t);
int store_live_close(struct store_live *l, int mode, char *err, size_t errlen);
void store_live_drop(struct store_live *l);
/* A read-only descriptor of t's data file of its own (not a dup: it would share the task's lock),
 * for a thread that reads the pieces the loop verified (df get -O -); *id names the file for
 * store_task_reads. DF_ERR with err (t has no data file yet: its length is unknown...). */
int store_task_reader(struct store_task *t, int *fd, struct stat *id, char *err, size_t errlen);
/* 1 while t's data file is still the file id names; 0 once the store replaced it (t started over). */
int store_task_reads(const struct store_task *t, const struct stat *id);
/* Hands the task's data file itself to the caller as path (mode 0666 & ~umask; fsynced, then
 * renamed there) and takes the task out of the store: no copy, and afterwards the file is in no
 * way the store's (another name, no metadata, no lock; df never writes it again). Only for a task
 * this process made (not a cached one others may want), held by this handle alone (refs 1, the
 * writer, nothing being written), whose data file no other process has open (an exclusive flock)
 * and which lives on path's filesystem. DF_OK: done, t is detached (store_task_detach: its
 * description stays until store_task_close). DF_AGAIN: one of those does not hold (nothing
 * changed: store_task_export_at copies instead). DF_ERR with err. */
int store_task_handoff_at(struct store_task *t, int dirfd, const char *path, char *err, size_t errlen);

/* Imports the regular file at path as a complete task cut in piece_size pieces: copies it into
 * the store with copy_file_range (read/write where the kernel refuses), hashing the copy as it
 * goes; the task id is the SHA-256 hex of the content and its MD5 and SHA-256 are recorded. When
 * the task already exists complete, the copy is discarded. Returns the open task or NULL. */
struct store_task *store_import(struct store *s, const char *path, uint32_t piece_size, char *err, size_t errlen);

/* ---- listing and GC ---- */

struct store_task_stat {
	char id[65];
	int64_t length; /* -1 unknown */
	uint32_t piece_size;
	uint32_t pieces;  /* piece count (0 while unknown) */
	uint32_t present; /* pieces present */
	uint64_t present_bytes;
	uint64_t disk_bytes; /* blocks the data and metadata files take */
	int complete;
	int in_use;          /* some process (maybe this one) has it open */
	time_t last_use;     /* last open, close or piece write */
	int64_t last_use_ns; /* the same in nanoseconds (orders uses within one second) */
};

/* What the store holds of task id, read from its metadata without opening the task (no locks, no
 * recovery, no descriptor kept). DF_OK, or DF_ERR with err (ENOENT: no such task). */
int store_task_peek(struct store *s, const char *id, struct store_task_stat *st, char *err, size_t errlen);

/* Calls cb for every task in the store (in no particular order); stops early when cb returns
 * non-zero. Metadata that cannot be read is skipped with a warning. DF_OK or DF_ERR. */
int store_list(struct store *s, int (*cb)(void *arg, const struct store_task_stat *st), void *arg, char *err,
	       size_t errlen);

struct store_gc_policy {
	uint64_t quota_bytes;      /* evict until df's files take at most this; 0 = no quota */
	uint64_t max_idle_seconds; /* evict any task unused this long; 0 = no age limit */
	/* called for each evicted task (may be NULL) */
	void (*evicted)(void *arg, const struct store_task_stat *st);
	/* Asked (may be NULL) before giving up on a victim this process holds open: close your handles
	 * on task id if nothing of yours uses it now and return 1, else 0. A task another process holds,
	 * or a handle still open here afterwards, is left alone. */
	int (*release)(void *arg, const char *id);
	void *arg;
	int dry_run;     /* decide and report, delete nothing (result counts what would go) */
	const char *why; /* the reason quota evictions log (NULL: "over the quota") */
};

struct store_gc_result {
	uint32_t evicted;
	uint64_t freed_bytes;
	uint64_t used_bytes; /* what df's files take afterwards */
	uint32_t busy;       /* tasks that would have gone but were in use */
	uint64_t to_come;    /* bytes the incomplete tasks left will still write (their length less what
	                      * they hold): a quota check between runs must count them */
};

/* Evicts tasks no process has open (after asking p->release about those this process holds):
 * first those idle past max_idle_seconds (complete or not), then least-recently-used complete
 * tasks until the store fits quota_bytes. Incomplete tasks are never evicted for the quota. Logs
 * each eviction ("would evict" with dry_run). Only files named and formatted as the store's own
 * are ever deleted. res may be NULL. */
int store_gc(struct store *s, const struct store_gc_policy *p, struct store_gc_result *res, char *err, size_t errlen);

#endif
