/* What the store's own files share and nobody else includes (tests may, to reach the knobs):
 * the structs behind the opaque handles, file I/O helpers that keep errno, and the task internals. */
#ifndef DF_STORE_INTERNAL_H
#define DF_STORE_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/df.h"
#include "store/meta.h"
#include "store/store.h"

#define STORE_COMPACT_MIN 1024u     /* log records before a snapshot is written, at least */
#define STORE_IO_CHUNK (256u << 10) /* buffer for verifying, copying, hashing */
/* What df creates in a store is its owner's alone: private downloads live there. Exports get the
 * mode any file the user creates gets instead. */
#define STORE_DIR_MODE 0700
#define STORE_FILE_MODE 0600

struct store {
	char *root;
	struct store_task *tasks; /* open tasks, each once (handles are counted) */
	uint32_t compact_min;     /* tests lower it to exercise snapshots */
	int no_clone;             /* tests set it to exercise export's copy path (no FICLONE) */
	int no_direct;            /* tests set it to exercise the copy without O_DIRECT */
	int no_kernel_copy;       /* tests set it to exercise the read/write copy (no copy_file_range) */
};

/* Task flags. */
#define TASK_HAS_SHA256 STORE_META_HAS_SHA256
#define TASK_HAS_MD5 STORE_META_HAS_MD5

struct store_task {
	struct store *store;
	struct store_task *next;
	int refs;
	int writer;    /* holds the writer lock: may change data and metadata */
	int detached;  /* store_task_detach let go of its files: a description in memory */
	int made_here; /* this process created it (store_task_handoff_at hands only those over) */
	int parked;    /* store_task_park closed the descriptors; the files stay (reopened on use) */
	dev_t park_dev;
	ino_t park_ino, park_meta_ino; /* the files parked: reopening finds these or fails (ESTALE) */
	struct timespec park_ctime;    /* the data file's: a removed file's inode number is often reused */
	int data_fd, meta_fd;
	char *data_path, *meta_path, *tmp_path; /* one allocation */
	char id[STORE_MAX_ID + 1];

	/* what the task is */
	int64_t length; /* -1 while unknown */
	uint32_t piece_size;
	uint32_t flags; /* TASK_HAS_* */
	uint8_t sha256[DIGEST_SHA256_LEN], md5[DIGEST_MD5_LEN];
	char *url, *etag, *last_modified;
	char digest_str[80], md5_str[2 * DIGEST_MD5_LEN + 1];
	struct store_task_info info; /* points at the fields above */

	/* pieces: npieces is the count when the length is known, else highest present + 1; the
	 * arrays have room for cap pieces; bits past npieces are zero in present */
	uint32_t npieces, cap;
	uint8_t *present, *expected, *busy; /* bitmaps */
	uint8_t *sums;                      /* 16 bytes per piece: the checksum if present, else the expected one */
	uint32_t npresent, nbusy;

	/* metadata log */
	uint64_t meta_end;       /* where the next record goes */
	uint32_t log_records;    /* records since the snapshot */
	int session_logged;      /* a SESSION record follows the snapshot */
	int meta_torn;           /* the file holds bytes past meta_end (a torn record) */
	uint64_t snap_data_size; /* the data file as the snapshot saw it */
	int64_t snap_data_mtime_ns;
};

/* task.c: reopens a parked task's files (store_task_park) before a call that needs them; DF_OK at
 * once when not parked. DF_ERR with err: the files are gone (ENOENT) or not the ones parked (ESTALE). */
int store_task_unpark(struct store_task *t, char *err, size_t errlen);

/* util.c: errors and I/O. The error helpers write "store: PATH: ..." and keep errno. */
int store_errp(char *err, size_t errlen, const char *prefix, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define store_err(err, errlen, path, ...) store_errp(err, errlen, "store:", path, __VA_ARGS__)
/* "store: PATH: WHAT: strerror(errno)" */
int store_err_sys(char *err, size_t errlen, const char *path, const char *what);
/* The same for a file df hands a user (an export's destination): "output PATH: ..." (it is not
 * the store's file, and the message should not say so). */
#define store_out_err(err, errlen, path, ...) store_errp(err, errlen, "output", path, __VA_ARGS__)
int store_out_err_sys(char *err, size_t errlen, const char *path, const char *what);
/* Reads until len bytes or end of file; returns the bytes read, or -1 (errno). */
ssize_t store_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* Writes all len bytes; DF_OK or DF_ERR (errno; ENOSPC when the kernel stops short silently). */
int store_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
/* fsync of the directory that holds path (so a create, rename or unlink in it is durable). */
int store_fsync_dir_of(const char *path);
/* mkdir that accepts an existing directory; DF_OK or DF_ERR (errno, ENOTDIR when not a dir). */
int store_mkdir(const char *path, mode_t mode);
/* realloc that zeroes the new bytes (new > old); NULL on failure, p untouched. */
void *store_grow(void *p, size_t old, size_t new);
/* Touches path's mtime: the store's "last use" clock. Failures are ignored. */
void store_touch(const char *path);

/* The locks of a task, all on its data file (which is never renamed or replaced while the task
 * exists): flock LOCK_SH by every open handle (in use), LOCK_EX by GC to evict, and an OFD write
 * lock on byte 0 by the one writer. */
/* DF_OK: we are the writer; DF_AGAIN: another open file description is; DF_ERR (errno). */
int store_lock_writer(int fd);
/* 1 when another open file description holds the writer lock on fd's file, else 0. */
int store_writer_alive(int fd);

/* task.c and metafile.c */
int store_task_path_alloc(struct store_task *t, const char *root, const char *id);
void store_task_free(struct store_task *t);
/* Grows the piece arrays to hold n pieces. DF_OK or DF_ERR (ENOMEM). */
int store_task_reserve(struct store_task *t, uint32_t n);
/* Writes the whole metadata file anew (fdatasync data, temp file, fsync, rename) and empties the
 * log. Writer only. */
int store_task_snapshot(struct store_task *t, char *err, size_t errlen);
/* Appends one log record (PRESENT, DROP or SESSION); a snapshot follows when the log is long.
 * Writer only. */
int store_task_log(struct store_task *t, uint32_t type, uint32_t n, const uint8_t *sum, char *err, size_t errlen);
/* Marks piece n present with checksum sum (in memory only). */
void store_task_mark(struct store_task *t, uint32_t n, const uint8_t *sum);
/* Forgets piece n (in memory, and in the log for a writer) after its data proved bad; logs a
 * warning with why unless why is NULL. */
void store_task_drop(struct store_task *t, uint32_t n, const char *why);
/* Re-reads present pieces (those set in `which`, or all when NULL) and drops those whose data does
 * not match their checksum. Returns the number dropped, or DF_ERR (ENOMEM). */
int store_task_verify(struct store_task *t, const uint8_t *which);
/* Reads metadata file fd (named path) into t: header fields, pieces, log. Pieces added by the log
 * are set in *logged (allocated, caller frees; NULL when the log is empty). DF_OK or DF_ERR. */
int store_task_load(struct store_task *t, int fd, const char *path, uint8_t **logged, char *err, size_t errlen);
/* Logs a SESSION record unless one follows the snapshot already: called before the data file is
 * written, so a reopen knows whether the data may have changed. Writer only. */
int store_task_session(struct store_task *t, char *err, size_t errlen);
/* Fixes the length of a task whose length was unknown: data file size, arrays, snapshot. When
 * last != UINT32_MAX, piece `last` (the short last piece) is marked present with `sum` in the same
 * snapshot. Rolls back on failure. Writer only. */
int store_task_fix_length(struct store_task *t, int64_t length, uint32_t last, const uint8_t *sum, char *err,
			  size_t errlen);
/* Takes from info every field t does not know yet (all of them for a new task); a new length
 * also sizes the data file. Returns 1 when something changed, 0 when not, DF_ERR (EINVAL...). */
int store_task_set_info(struct store_task *t, const struct store_task_info *info, char *err, size_t errlen);
/* Recomputes t->info after a change. */
void store_task_refresh_info(struct store_task *t);

/* Unlists t and closes its descriptors (releasing its locks), keeping its description: the state
 * store_task_detach leaves, without its snapshot (the caller wrote one, or the files are gone). */
void store_task_let_go(struct store_task *t);

#endif
