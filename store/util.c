/* Small helpers of the store: error strings that name the path and keep errno, full-length
 * pread/pwrite, directory fsync, and the task locks (flock + OFD byte-range lock on the data file). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"

int store_errp(char *err, size_t errlen, const char *prefix, const char *path, const char *fmt, ...)
{
	int saved = errno;
	if (err && errlen) {
		int n = snprintf(err, errlen, "%s %s: ", prefix, path);
		if (n >= 0 && (size_t)n < errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	errno = saved;
	return DF_ERR;
}

int store_err_sys(char *err, size_t errlen, const char *path, const char *what)
{
	return store_err(err, errlen, path, "%s: %s", what, strerror(errno));
}

int store_out_err_sys(char *err, size_t errlen, const char *path, const char *what)
{
	return store_out_err(err, errlen, path, "%s: %s", what, strerror(errno));
}

ssize_t store_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int store_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return DF_ERR;
		if (n == 0) {
			errno = ENOSPC;
			return DF_ERR;
		}
		done += (size_t)n;
	}
	return DF_OK;
}

int store_fsync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else if ((size_t)(slash - path) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	else
		return (errno = ENAMETOOLONG), DF_ERR;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return DF_ERR;
	int rc = fsync(fd) == 0 || errno == EINVAL ? DF_OK : DF_ERR;
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int store_mkdir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0)
		return DF_OK;
	if (errno != EEXIST)
		return DF_ERR;
	struct stat st;
	if (stat(path, &st) != 0)
		return DF_ERR;
	if (!S_ISDIR(st.st_mode))
		return (errno = ENOTDIR), DF_ERR;
	return DF_OK;
}

void *store_grow(void *p, size_t old, size_t new)
{
	char *q = realloc(p, new ? new : 1);
	if (q && new > old)
		memset(q + old, 0, new - old);
	return q;
}

void store_touch(const char *path)
{
	int saved = errno;
	(void)utimensat(AT_FDCWD, path, NULL, 0);
	errno = saved;
}

static struct flock writer_range(short type)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 1;
	return fl;
}

int store_lock_writer(int fd)
{
	struct flock fl = writer_range(F_WRLCK);
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return DF_OK;
	if (errno == EAGAIN || errno == EACCES)
		return DF_AGAIN;
	return DF_ERR;
}

int store_writer_alive(int fd)
{
	struct flock fl = writer_range(F_WRLCK);
	if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
		return 0;
	return fl.l_type != F_UNLCK;
}
