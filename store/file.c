/* Whole files in and out of the store: export to a user path (reflink, else copy_file_range, else
 * read/write; never a hard link; always temp name + rename), import of a local file as a complete task, and the
 * whole-file digests of a task. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "store/internal.h"

#ifndef FICLONE
#define FICLONE _IOW(0x94, 9, int) /* linux/fs.h; musl's headers do not carry it */
#endif

/* Copies len bytes from in@in_off to out@out_off in the kernel when it can (copy_file_range:
 * reflink or in-kernel copy), else (EXDEV, ENOSYS on old kernels, ..., or by_hand) through *buf
 * (allocated on first need, caller frees). DF_OK, or DF_ERR with errno (ENODATA when `in` ends
 * early). */
static int copy_range(int in, uint64_t in_off, int out, uint64_t out_off, uint64_t len, uint8_t **buf, int by_hand)
{
	int kernel = !by_hand;
	while (len > 0) {
		if (kernel) {
			off_t a = (off_t)in_off, b = (off_t)out_off;
			ssize_t r = copy_file_range(in, &a, out, &b, (size_t)DF_MIN(len, (uint64_t)1 << 30), 0);
			if (r > 0) {
				in_off += (uint64_t)r;
				out_off += (uint64_t)r;
				len -= (uint64_t)r;
				continue;
			}
			if (r == 0)
				return (errno = ENODATA), DF_ERR;
			if (errno == EINTR)
				continue;
			/* not across these filesystems, not on this kernel or file type: copy by hand */
			if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
			    errno == EPERM || errno == EBADF) {
				kernel = 0;
				continue;
			}
			return DF_ERR;
		}
		if (!*buf && !(*buf = malloc(STORE_IO_CHUNK)))
			return (errno = ENOMEM), DF_ERR;
		size_t k = (size_t)DF_MIN(len, (uint64_t)STORE_IO_CHUNK);
		ssize_t r = store_pread_full(in, *buf, k, in_off);
		if (r < 0)
			return DF_ERR;
		if ((size_t)r < k)
			return (errno = ENODATA), DF_ERR;
		if (store_pwrite_full(out, *buf, k, out_off) != DF_OK)
			return DF_ERR;
		in_off += k;
		out_off += k;
		len -= k;
	}
	return DF_OK;
}

/* A temporary name next to path: "DIR/.BASE.df-PID-N". */
static int temp_name(char *tmp, size_t cap, const char *path, unsigned n)
{
	const char *slash = strrchr(path, '/');
	int dl = slash ? (int)(slash - path) + 1 : 0;
	int r = snprintf(tmp, cap, "%.*s.%s.df-%ld-%u", dl, path, slash ? slash + 1 : path, (long)getpid(), n);
	return r < 0 || (size_t)r >= cap ? DF_ERR : DF_OK;
}

#define DIRECT_ALIGN 4096u /* O_DIRECT: buffer, offset and length in multiples of the block size */

/* Copies [off, off + len) of in to out (in O_DIRECT) through buf (DIRECT_ALIGN-aligned,
 * STORE_IO_CHUNK bytes). off is a multiple of DIRECT_ALIGN and so is len, but for a range that ends
 * the file: its last block goes out zero-padded (the caller cuts the file to its length). DF_AGAIN:
 * the filesystem refused the alignment; DF_ERR with errno (ENODATA: in ends early). */
static int direct_range(int in, int out, uint64_t off, uint64_t len, void *buf)
{
	for (uint64_t end = off + len; off < end;) {
		size_t k = (size_t)DF_MIN(end - off, (uint64_t)STORE_IO_CHUNK);
		ssize_t r = store_pread_full(in, buf, k, off);
		if (r < 0 || (size_t)r < k) {
			if (r >= 0)
				errno = ENODATA;
			return DF_ERR;
		}
		size_t w = (k + DIRECT_ALIGN - 1) / DIRECT_ALIGN * DIRECT_ALIGN;
		memset((uint8_t *)buf + k, 0, w - k);
		if (store_pwrite_full(out, buf, w, off) != DF_OK)
			/* EINVAL: an alignment this filesystem will not take (at any offset): copy instead */
			return errno == EINVAL ? DF_AGAIN : DF_ERR;
		off += k;
	}
	return DF_OK;
}

/* Copies len bytes of in to out (empty) with out in O_DIRECT: read from the page cache (where the
 * store's copy is) into an aligned buffer, written past the page cache. Filling new page-cache
 * pages is what a copy costs on a VM like CI's (a 64 MiB export took 0.2 CPU s that way, and 20
 * hosts on 2 cores went from 6.9 s to 8.7 s); a direct write is a transfer from the buffer. The
 * last block goes out zero-padded and the file is cut to len. DF_AGAIN: the filesystem refuses
 * O_DIRECT (tmpfs before Linux 6.6) or a write's alignment (the caller truncates and copies
 * another way); DF_ERR with errno. */
static int copy_direct(int in, int out, uint64_t len)
{
	int fl = fcntl(out, F_GETFL);
	if (fl < 0 || fcntl(out, F_SETFL, fl | O_DIRECT) != 0)
		return DF_AGAIN;
	void *buf = NULL;
	int rc = DF_AGAIN;
	if (posix_memalign(&buf, DIRECT_ALIGN, STORE_IO_CHUNK) != 0)
		goto done;
	rc = direct_range(in, out, 0, len, buf);
	if (rc == DF_OK && ftruncate(out, (off_t)len) != 0)
		rc = DF_ERR;
done:
	free(buf);
	(void)fcntl(out, F_SETFL, fl);
	return rc;
}

/* Fills out (empty, open for writing) with x's bytes: a reflink (FICLONE: the filesystem shares the
 * blocks copy-on-write, so a later write to either file never reaches the other), else a direct
 * copy (copy_direct), else copy_range. DF_OK or DF_ERR with errno. */
static int export_fill(const struct store_export *x, int out, uint8_t **buf)
{
	if (!x->no_clone) {
		if (ioctl(out, FICLONE, x->in) == 0)
			return x->data_size == x->length || ftruncate(out, x->length) == 0 ? DF_OK : DF_ERR;
		/* EOPNOTSUPP/EINVAL (no reflinks here), EXDEV (another filesystem): copy instead */
	}
	if (!x->no_direct && !x->no_kernel_copy) {
		int rc = copy_direct(x->in, out, (uint64_t)x->length);
		if (rc != DF_AGAIN)
			return rc;
		if (ftruncate(out, 0) != 0)
			return DF_ERR;
	}
	return copy_range(x->in, 0, out, 0, (uint64_t)x->length, buf, x->no_kernel_copy);
}

/* The complete task's data file, open (unparked), in ds: at least as long as the task. */
static int data_file(struct store_task *t, struct stat *ds, char *err, size_t errlen)
{
	if (store_task_unpark(t, err, errlen) != DF_OK)
		return DF_ERR;
	if (fstat(t->data_fd, ds) != 0)
		return store_err_sys(err, errlen, t->data_path, "fstat");
	if (ds->st_size < t->length) {
		errno = EIO;
		return store_err(err, errlen, t->data_path, "data file is shorter than its metadata says");
	}
	return DF_OK;
}

int store_task_export(struct store_task *t, const char *path, char *err, size_t errlen)
{
	return store_task_export_at(t, AT_FDCWD, path, -1, err, errlen);
}

int store_task_export_at(struct store_task *t, int dirfd, const char *path, int mode, char *err, size_t errlen)
{
	struct store_export x;
	if (store_export_prepare(t, &x, err, errlen) != DF_OK)
		return DF_ERR;
	return store_export_run(&x, dirfd, path, mode, err, errlen);
}

int store_export_prepare(struct store_task *t, struct store_export *x, char *err, size_t errlen)
{
	struct stat ds;
	if (!store_task_complete(t)) {
		errno = ENODATA;
		return store_err(err, errlen, t->data_path, "cannot export: task not complete (%u of %u pieces)",
				 t->npresent, t->npieces);
	}
	if (data_file(t, &ds, err, errlen) != DF_OK)
		return DF_ERR;
	*x = (struct store_export){.length = t->length,
				   .data_size = ds.st_size,
				   .no_clone = t->store->no_clone,
				   .no_direct = t->store->no_direct,
				   .no_kernel_copy = t->store->no_kernel_copy};
	x->in = fcntl(t->data_fd, F_DUPFD_CLOEXEC, 0);
	if (x->in < 0)
		return store_err_sys(err, errlen, t->data_path, "dup");
	return DF_OK;
}

void store_export_drop(struct store_export *x)
{
	if (x->in >= 0)
		close(x->in);
	x->in = -1;
}

#define STALE_AGE 3600 /* where locks cannot be had: s without a write before a dead process's temporary file goes */

/* The pid in name when it is one of path's temporary names (".BASE.df-PID-N"), else 0. */
static long temp_pid(const char *name, const char *base)
{
	size_t bl = strlen(base);
	if (name[0] != '.' || strncmp(name + 1, base, bl) != 0 || strncmp(name + 1 + bl, ".df-", 4) != 0)
		return 0;
	const char *p = name + bl + 5;
	long pid = 0;
	int digits = 0;
	for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++)
		pid = pid * 10 + (*p - '0');
	if (!digits || *p++ != '-' || !(*p >= '0' && *p <= '9'))
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p ? 0 : pid;
}

/* Whether no process pid runs: none has it, or it has exited and waits for its parent (a zombie,
 * as a killed df proxy is until its service manager reaps it). */
int store_pid_gone(long pid)
{
	if (kill((pid_t)pid, 0) != 0)
		return errno == ESRCH;
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *paren = strrchr(buf, ')'); /* "PID (COMM) STATE ...": COMM may hold anything */
	return paren && paren[1] == ' ' && paren[2] == 'Z';
}

/* Whether nobody holds the lock every df keeps on its temporary file while it writes it (taken in
 * temp_create, gone with the process): 1 free, 0 held, -1 unknown (no locks here, say an NFS mount
 * without lockd). Locks reach across pid namespaces, where a pid does not. */
static int temp_lock_free(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 1 : errno == EWOULDBLOCK ? 0 : -1;
	close(fd); /* and with it the lock just taken */
	return r;
}

/* Whether a temporary file, its owner's pid in its name, is one a killed df left: ours (same owner,
 * a regular file), of a process that no longer exists, and whose lock nobody holds (so a df in
 * another pid namespace writing to the same folder, whose pid this one cannot see, keeps its file
 * while it works); where locks cannot be had, not written for STALE_AGE instead. Any such file of
 * dead (a process this one saw die: its pid is in our namespace) goes. */
static int stale_temp(int dirfd, const char *name, long pid, const struct stat *st, long dead, time_t now)
{
	if (!(pid > 0 && pid != (long)getpid() && pid <= INT32_MAX && store_pid_gone(pid) && S_ISREG(st->st_mode) &&
	      st->st_uid == geteuid()))
		return 0;
	if (pid == dead)
		return 1;
	int free = temp_lock_free(dirfd, name);
	return free == 1 || (free < 0 && now - st->st_mtime >= STALE_AGE);
}

/* Removes path's temporary files that a df killed before it could (kill -9, a power cut) left next
 * to it (stale_temp). Best effort: the export goes on whatever happens. */
static void sweep(int dirfd, const char *path, long dead)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	char dir[4096];
	if (slash && (size_t)snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + 1, path) >= sizeof dir)
		return;
	int fd = openat(dirfd, slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	time_t now = time(NULL);
	for (struct dirent *e; (e = readdir(d));) {
		long pid = temp_pid(e->d_name, base);
		struct stat st;
		if (pid <= 0 || fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !stale_temp(fd, e->d_name, pid, &st, dead, now))
			continue;
		if (unlinkat(fd, e->d_name, 0) == 0)
			log_info("removed %s%s, left by an interrupted df (pid %ld)", slash ? dir : "", e->d_name, pid);
	}
	closedir(d);
}

void store_export_sweep(int dirfd, const char *path)
{
	sweep(dirfd, path, 0);
}

void store_export_sweep_dead(int dirfd, const char *path, long pid)
{
	sweep(dirfd, path, pid > 0 ? pid : 0);
}

/* Walks dirfd's tree (not through symbolic links, at most TREE_DEPTH folders down) removing every
 * export's stale temporary file (stale_temp), whatever the export's name. */
#define TREE_DEPTH 32
static int sweep_tree_at(int dirfd, int depth, time_t now)
{
	int removed = 0;
	DIR *d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return 0;
	}
	for (struct dirent *e; (e = readdir(d));) {
		const char *n = e->d_name;
		struct stat st;
		if (!strcmp(n, ".") || !strcmp(n, "..") || fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = depth < TREE_DEPTH ? openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
						     : -1;
			if (sub >= 0)
				removed += sweep_tree_at(sub, depth + 1, now);
			continue;
		}
		/* ".BASE.df-PID-N": BASE is what comes before the last ".df-" */
		const char *df = NULL;
		for (const char *q = strstr(n, ".df-"); q; q = strstr(q + 1, ".df-"))
			df = q;
		char base[256];
		if (n[0] != '.' || !df || df == n || (size_t)(df - n - 1) >= sizeof base)
			continue;
		memcpy(base, n + 1, (size_t)(df - n - 1));
		base[df - n - 1] = 0;
		long pid = temp_pid(n, base);
		if (pid > 0 && stale_temp(dirfd, n, pid, &st, 0, now) && unlinkat(dirfd, n, 0) == 0) {
			log_info("removed %s, left by an interrupted df (pid %ld)", n, pid);
			removed++;
		}
	}
	closedir(d);
	return removed;
}

int store_export_sweep_tree(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0 ? sweep_tree_at(fd, 0, time(NULL)) : 0;
}

/* A new file for path's export under a temporary name next to it (tmp, cap bytes), never a link:
 * an export shares no inode with the store or another export, and gets the mode a file the user
 * creates gets (0666 & ~umask). The descriptor, or -1 with err (and tmp "" when no file exists). */
static int temp_create(int dirfd, const char *path, char *tmp, size_t cap, int sweep, char *err, size_t errlen)
{
	static _Atomic unsigned counter;
	int fd = -1;
	tmp[0] = 0;
	if (sweep)
		store_export_sweep(dirfd, path);
	for (int tries = 0; tries < 100 && fd < 0; tries++) {
		if (temp_name(tmp, cap, path, counter++) != DF_OK) {
			tmp[0] = 0;
			errno = ENAMETOOLONG;
			store_out_err(err, errlen, path, "path too long");
			return -1;
		}
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0) /* held while this process (or a child it forks) writes it: temp_lock_free */
			(void)flock(fd, LOCK_EX | LOCK_NB);
		if (fd < 0 && errno != EEXIST) {
			tmp[0] = 0;
			store_out_err_sys(err, errlen, path, "cannot create a temporary file next to it");
			return -1;
		}
	}
	if (fd < 0) {
		tmp[0] = 0;
		errno = EEXIST;
		store_out_err(err, errlen, path, "no free temporary name next to it");
	}
	return fd;
}

/* The filled temporary file becomes path: mode (>= 0), fsync, close (*fd is -1 after, whatever
 * happens), rename, fsync of the folder. DF_OK, or DF_ERR with err (tmp left for the caller). */
static int export_commit(int *fd, int dirfd, const char *tmp, const char *path, int mode, char *err, size_t errlen)
{
	int f = *fd;
	*fd = -1;
	/* the mode before the name: the file never appears with another one; the bytes must be on
	 * disk before the name is: a power cut never leaves a hollow file */
	const char *failed = mode >= 0 && fchmod(f, (mode_t)mode) != 0 ? "chmod" : fsync(f) != 0 ? "fsync" : NULL;
	if (failed) {
		int saved = errno;
		close(f);
		errno = saved;
		return store_out_err_sys(err, errlen, path, failed);
	}
	if (close(f) != 0)
		return store_out_err_sys(err, errlen, path, "close");
	if (renameat(dirfd, tmp, dirfd, path) != 0)
		return store_out_err_sys(err, errlen, path, "rename");
	if (dirfd == AT_FDCWD)
		(void)store_fsync_dir_of(path);
	else
		(void)fsync(dirfd);
	return DF_OK;
}

int store_export_run(struct store_export *x, int dirfd, const char *path, int mode, char *err, size_t errlen)
{
	char tmp[4096];
	uint8_t *buf = NULL;
	int fd = temp_create(dirfd, path, tmp, sizeof tmp, 1, err, errlen);
	if (fd < 0)
		goto fail;
	if (export_fill(x, fd, &buf) != DF_OK) {
		store_out_err(err, errlen, path, "copy: %s",
			      errno == ENODATA ? "the data file is shorter than its metadata says" : strerror(errno));
		goto fail;
	}
	if (export_commit(&fd, dirfd, tmp, path, mode, err, errlen) != DF_OK)
		goto fail;
	free(buf);
	store_export_drop(x);
	return DF_OK;
fail : {
	int saved = errno;
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlinkat(dirfd, tmp, 0);
	free(buf);
	store_export_drop(x);
	errno = saved;
	return DF_ERR;
}
}

int store_live_open(struct store_task *t, struct store_live *l, int dirfd, const char *path, char *err, size_t errlen)
{
	*l = (struct store_live){.in = -1, .out = -1, .dirfd = dirfd, .path = path};
	struct store *s = t->store;
	/* a reflink at the end costs nothing, a plain copy as it lands fills page-cache pages twice:
	 * neither is worth doing as the pieces land */
	if (t->length <= 0 || s->no_direct || s->no_kernel_copy || t->piece_size % DIRECT_ALIGN != 0)
		return DF_AGAIN;
	l->length = (uint64_t)t->length;
	if (store_task_reader(t, &l->in, &l->data, err, errlen) != DF_OK)
		return DF_ERR;
	l->out = temp_create(dirfd, path, l->tmp, sizeof l->tmp, 0, err, errlen); /* swept on its thread */
	if (l->out < 0)
		goto fail;
	if (!s->no_clone && ioctl(l->out, FICLONE, l->in) == 0) {
		/* this filesystem has reflinks: the export at the end is a clone */
		store_live_drop(l);
		return DF_AGAIN;
	}
	int fl = fcntl(l->out, F_GETFL);
	if (fl < 0 || fcntl(l->out, F_SETFL, fl | O_DIRECT) != 0 ||
	    posix_memalign(&l->buf, DIRECT_ALIGN, STORE_IO_CHUNK) != 0) {
		l->buf = NULL;
		store_live_drop(l);
		return DF_AGAIN;
	}
	return DF_OK;
fail:
	store_live_drop(l);
	return DF_ERR;
}

int store_task_reads(const struct store_task *t, const struct stat *id)
{
	struct stat a;
	return t->data_fd >= 0 && fstat(t->data_fd, &a) == 0 && a.st_dev == id->st_dev && a.st_ino == id->st_ino;
}

int store_live_follows(const struct store_live *l, const struct store_task *t)
{
	return store_task_reads(t, &l->data);
}

int store_task_reader(struct store_task *t, int *fd, struct stat *id, char *err, size_t errlen)
{
	*fd = -1;
	if (store_task_unpark(t, err, errlen) != DF_OK)
		return DF_ERR;
	if (t->data_fd < 0) {
		errno = ENOENT;
		return store_err(err, errlen, t->data_path, "no data file yet");
	}
	/* a descriptor of its own, not a dup: a dup would share the task's lock (flock belongs to the
	 * open file), and the store could not remove the task when the source has another version */
	struct stat a;
	int in = open(t->data_path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return store_err_sys(err, errlen, t->data_path, "open");
	if (fstat(in, &a) != 0 || fstat(t->data_fd, id) != 0) {
		store_err_sys(err, errlen, t->data_path, "fstat");
		close(in);
		return DF_ERR;
	}
	if (a.st_dev != id->st_dev || a.st_ino != id->st_ino) {
		close(in);
		errno = ESTALE;
		return store_err(err, errlen, t->data_path, "replaced while opened");
	}
	*fd = in;
	return DF_OK;
}

int store_live_write(struct store_live *l, uint64_t off, uint64_t len)
{
	if (off % DIRECT_ALIGN != 0 || off > l->length || len > l->length - off ||
	    (len % DIRECT_ALIGN != 0 && off + len != l->length))
		return (errno = EINVAL), DF_AGAIN;
	return direct_range(l->in, l->out, off, len, l->buf);
}

int store_live_close(struct store_live *l, int mode, char *err, size_t errlen)
{
	int rc = DF_ERR;
	if (ftruncate(l->out, (off_t)l->length) != 0)
		store_out_err_sys(err, errlen, l->path, "truncate");
	else if (export_commit(&l->out, l->dirfd, l->tmp, l->path, mode, err, errlen) == DF_OK) {
		l->tmp[0] = 0; /* renamed: nothing to remove */
		rc = DF_OK;
	}
	int saved = errno;
	store_live_drop(l);
	errno = saved;
	return rc;
}

void store_live_drop(struct store_live *l)
{
	if (l->out >= 0)
		close(l->out);
	if (l->tmp[0])
		unlinkat(l->dirfd, l->tmp, 0);
	if (l->in >= 0)
		close(l->in);
	free(l->buf);
	l->out = l->in = -1;
	l->tmp[0] = 0;
	l->buf = NULL;
}

int store_task_handoff_at(struct store_task *t, int dirfd, const char *path, char *err, size_t errlen)
{
	struct stat ds, ps;
	if (!store_task_complete(t)) {
		errno = ENODATA;
		return store_err(err, errlen, t->data_path,
				 "cannot hand over to %s: task not complete (%u of %u pieces)", path, t->npresent,
				 t->npieces);
	}
	if (!t->made_here || t->refs != 1 || t->nbusy || !t->writer || t->detached)
		return DF_AGAIN;
	if (data_file(t, &ds, err, errlen) != DF_OK)
		return DF_ERR;
	/* a file only this name links, made by this user (another filesystem: rename says EXDEV) */
	if (ds.st_nlink != 1 || ds.st_uid != geteuid())
		return DF_AGAIN;
	/* nobody else may have it open: another process reading or serving it would go on reading the
	 * user's file. Converting the shared lock may drop it first (flock(2)): take it back if so. */
	if (flock(t->data_fd, LOCK_EX | LOCK_NB) != 0) {
		while (flock(t->data_fd, LOCK_SH) != 0 && errno == EINTR)
			;
		return DF_AGAIN;
	}
	int rc = DF_AGAIN;
	mode_t um = umask(0);
	umask(um);
	if (stat(t->data_path, &ps) != 0 || ps.st_ino != ds.st_ino || ps.st_dev != ds.st_dev)
		goto back; /* replaced meanwhile (another process's GC, then a new task) */
	if ((ds.st_size > t->length && ftruncate(t->data_fd, t->length) != 0) || fchmod(t->data_fd, 0666 & ~um) != 0) {
		rc = store_err_sys(err, errlen, t->data_path, "prepare to hand over");
		goto back;
	}
	/* the bytes must be on disk before the name is: a power cut never leaves a hollow file */
	if (fsync(t->data_fd) != 0) {
		rc = store_err_sys(err, errlen, t->data_path, "fsync");
		goto back;
	}
	if (renameat(AT_FDCWD, t->data_path, dirfd, path) != 0)
		goto back; /* EXDEV (a mount point between), EISDIR...: the copy says what is wrong */
	/* the task leaves the store: its metadata goes while the lock still keeps openers waiting
	 * (they find no data file by that name and start a new task) */
	if (unlink(t->meta_path) != 0 && errno != ENOENT)
		log_warn("store: %s: %s (the task's data file went to %s)", t->meta_path, strerror(errno), path);
	unlink(t->tmp_path);
	if (dirfd == AT_FDCWD)
		(void)store_fsync_dir_of(path);
	else
		(void)fsync(dirfd);
	(void)store_fsync_dir_of(t->data_path);
	store_task_let_go(t);
	char *slash = strrchr(t->data_path, '/');
	*slash = 0;
	rmdir(t->data_path); /* only when empty */
	*slash = '/';
	return DF_OK;
back : {
	int saved = errno;
	(void)fchmod(t->data_fd, STORE_FILE_MODE);
	while (flock(t->data_fd, LOCK_SH) != 0 && errno == EINTR)
		;
	errno = saved;
	return rc;
}
}

int store_task_file_digests(struct store_task *t, uint8_t md5[DIGEST_MD5_LEN], uint8_t sha256[DIGEST_SHA256_LEN],
			    char *err, size_t errlen)
{
	struct digest_file_ctx c;
	uint8_t m[DIGEST_MD5_LEN], h[DIGEST_SHA256_LEN];
	if (!store_task_complete(t)) {
		errno = ENODATA;
		return store_err(err, errlen, t->data_path, "task not complete (%u of %u pieces)", t->npresent,
				 t->npieces);
	}
	if (store_task_unpark(t, err, errlen) != DF_OK)
		return DF_ERR;
	uint8_t *buf = malloc(STORE_IO_CHUNK);
	if (!buf)
		return (errno = ENOMEM), store_err_sys(err, errlen, t->data_path, "digest");
	digest_file_init(&c);
	for (uint64_t off = 0; off < (uint64_t)t->length; off += STORE_IO_CHUNK) {
		size_t k = (size_t)DF_MIN((uint64_t)STORE_IO_CHUNK, (uint64_t)t->length - off);
		ssize_t r = store_pread_full(t->data_fd, buf, k, off);
		if (r != (ssize_t)k) {
			if (r >= 0)
				errno = EIO;
			free(buf);
			return store_err(err, errlen, t->data_path, "read: %s",
					 r >= 0 ? "the data file is shorter than its metadata says" : strerror(errno));
		}
		/* only what the caller asked for: each hash is a full pass of CPU over the file */
		if (md5)
			br_md5_update(&c.md5, buf, k);
		if (sha256)
			digest_sha256_update(&c.sha256, buf, k);
	}
	free(buf);
	digest_file_final(&c, m, h);
	if (md5)
		memcpy(md5, m, sizeof m);
	if (sha256)
		memcpy(sha256, h, sizeof h);
	return DF_OK;
}

/* Copies the source into tmp piece by piece and hashes what landed in tmp (so the checksums are
 * those of the bytes the store holds, even if the source changes underneath). */
static int import_copy(struct store_task *t, int src, const char *path, char *err, size_t errlen)
{
	struct digest_file_ctx fc;
	struct digest_xxh128_ctx xc;
	uint8_t sum[STORE_SUM_LEN];
	uint8_t *cbuf = NULL, *hbuf = malloc(STORE_IO_CHUNK);
	int rc = DF_ERR;
	if (!hbuf) {
		errno = ENOMEM;
		return store_err_sys(err, errlen, path, "import");
	}
	digest_file_init(&fc);
	for (uint32_t n = 0; n < t->npieces; n++) {
		uint64_t off = (uint64_t)n * t->piece_size;
		uint32_t plen = store_task_piece_len(t, n);
		if (copy_range(src, off, t->data_fd, off, plen, &cbuf, t->store->no_kernel_copy) != DF_OK) {
			store_err(err, errlen, path, "import: %s",
				  errno == ENODATA ? "the file shrank while being imported" : strerror(errno));
			goto out;
		}
		digest_xxh128_init(&xc);
		for (uint32_t o = 0; o < plen; o += STORE_IO_CHUNK) {
			size_t k = DF_MIN(STORE_IO_CHUNK, plen - o);
			if (store_pread_full(t->data_fd, hbuf, k, off + o) != (ssize_t)k) {
				if (errno == 0)
					errno = EIO;
				store_err_sys(err, errlen, t->data_path, "read back");
				goto out;
			}
			digest_xxh128_update(&xc, hbuf, k);
			digest_file_update(&fc, hbuf, k);
		}
		digest_xxh128_final(&xc, sum);
		store_task_mark(t, n, sum);
	}
	digest_file_final(&fc, t->md5, t->sha256);
	t->flags |= TASK_HAS_MD5 | TASK_HAS_SHA256;
	rc = DF_OK;
out:
	free(cbuf);
	free(hbuf);
	return rc;
}

struct store_task *store_import(struct store *s, const char *path, uint32_t piece_size, char *err, size_t errlen)
{
	char tmp[4096], id[2 * DIGEST_SHA256_LEN + 1], e[512];
	struct stat st, st2;
	struct store_task *t = NULL, *old;
	int src = -1, linked = 0;
	tmp[0] = 0;
	if (piece_size == 0 || piece_size > STORE_MAX_PIECE_SIZE) {
		errno = EINVAL;
		store_err(err, errlen, path, "bad piece size %u", piece_size);
		return NULL;
	}
	if ((src = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(src, &st) != 0) {
		store_err_sys(err, errlen, path, "open");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		store_err(err, errlen, path, "not a regular file");
		goto fail;
	}
	if (store_meta_piece_count(st.st_size, piece_size) > STORE_MAX_PIECES) {
		errno = EFBIG;
		store_err(err, errlen, path, "too many pieces of %u bytes", piece_size);
		goto fail;
	}
	if (!(t = calloc(1, sizeof *t))) {
		errno = ENOMEM;
		store_err_sys(err, errlen, path, "import");
		goto fail;
	}
	t->store = s;
	t->refs = 1;
	t->data_fd = t->meta_fd = -1;
	t->writer = 1;
	t->piece_size = piece_size;
	t->length = st.st_size;
	t->npieces = (uint32_t)store_meta_piece_count(st.st_size, piece_size);
	snprintf(tmp, sizeof tmp, "%s/tmp/import-XXXXXX", s->root);
	if ((t->data_fd = mkstemp(tmp)) < 0) {
		tmp[0] = 0;
		store_err_sys(err, errlen, s->root, "cannot create a temporary file in tmp/");
		goto fail;
	}
	/* mkstemp made it STORE_FILE_MODE (0600) */
	if (store_task_reserve(t, DF_MAX(t->npieces, 1u)) != DF_OK) {
		store_err_sys(err, errlen, tmp, "import");
		goto fail;
	}
	if (import_copy(t, src, path, err, errlen) != DF_OK)
		goto fail;
	if (fstat(src, &st2) != 0 || st2.st_size != st.st_size || st2.st_mtim.tv_sec != st.st_mtim.tv_sec ||
	    st2.st_mtim.tv_nsec != st.st_mtim.tv_nsec) {
		errno = EAGAIN;
		store_err(err, errlen, path, "changed while being imported");
		goto fail;
	}
	digest_hex(t->sha256, DIGEST_SHA256_LEN, id);

	/* the same content is there already: keep it, or replace an unfinished copy */
	old = store_task_open(s, id, NULL, 0, e, sizeof e);
	if (old && store_task_complete(old)) {
		unlink(tmp);
		store_task_free(t);
		close(src);
		return old;
	}
	if (old)
		store_task_close(old);
	else if (errno != ENOENT) {
		store_err(err, errlen, path, "import: %s", e);
		goto fail;
	}
	if (store_task_remove(s, id, e, sizeof e) != DF_OK && errno != ENOENT) {
		store_err(err, errlen, path, "import: %s", e);
		goto fail;
	}
	if (store_task_path_alloc(t, s->root, id) != DF_OK) {
		store_err_sys(err, errlen, path, "import");
		goto fail;
	}
	char *slash = strrchr(t->data_path, '/');
	*slash = 0;
	int rc = store_mkdir(t->data_path, STORE_DIR_MODE);
	if (rc != DF_OK)
		store_err_sys(err, errlen, t->data_path, "mkdir");
	*slash = '/';
	if (rc != DF_OK)
		goto fail;
	/* locks before the name exists, so nobody sees it unlocked; link refuses to replace */
	if (flock(t->data_fd, LOCK_SH) != 0 || store_lock_writer(t->data_fd) != DF_OK) {
		store_err_sys(err, errlen, tmp, "lock");
		goto fail;
	}
	if (link(tmp, t->data_path) != 0) {
		if (errno == EEXIST)
			errno = EBUSY;
		store_err(err, errlen, t->data_path, "import: %s",
			  errno == EBUSY ? "created by another process meanwhile" : strerror(errno));
		goto fail;
	}
	linked = 1;
	unlink(tmp);
	tmp[0] = 0;
	if (store_task_snapshot(t, err, errlen) != DF_OK)
		goto fail;
	close(src);
	store_task_refresh_info(t);
	t->next = s->tasks;
	s->tasks = t;
	log_info("store: imported %s as task %s (%lld bytes)", path, id, (long long)t->length);
	return t;
fail : {
	int saved = errno;
	if (src >= 0)
		close(src);
	if (tmp[0])
		unlink(tmp);
	if (linked)
		unlink(t->data_path); /* ours: no metadata names it yet */
	store_task_free(t);
	errno = saved;
	return NULL;
}
}
