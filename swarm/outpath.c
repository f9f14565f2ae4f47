/* df get's -O checked and resolved before the download: symbolic links followed to the file they
 * name, folders and missing parents refused, devices and FIFOs opened to stream into. */
#include "swarm/outpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/df.h"
#include "core/progress.h"

#define MAX_LINKS 40 /* as the kernel's own limit on links in one lookup */

/* The folder part of path into dir ("." when there is none). */
static void parent_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, cap, ".");
	else if (slash == path)
		snprintf(dir, cap, "/");
	else
		snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

/* The rename at the end needs to create a file in path's folder. */
static int parent_writable(const char *out, const char *path, char *err, size_t errlen)
{
	char dir[4096];
	struct stat st;
	parent_of(path, dir, sizeof dir);
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "output %s: folder %s: %s", out, dir, strerror(errno));
		return DF_ERR;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "output %s: %s is not a directory", out, dir);
		return DF_ERR;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "output %s: cannot create files in %s: %s", out, dir, strerror(errno));
		return DF_ERR;
	}
	return DF_OK;
}

int outpath_prepare(const char *out, char *path, size_t cap, int *fd, char *err, size_t errlen)
{
	struct stat st;
	if (fd)
		*fd = -1;
	if (!out[0]) {
		snprintf(err, errlen, "output: empty file name");
		return DF_ERR;
	}
	if ((size_t)snprintf(path, cap, "%s", out) >= cap) {
		snprintf(err, errlen, "output %.200s...: path too long", out);
		return DF_ERR;
	}
	/* what the name leads to, links followed by the kernel: /dev/stdout and /proc/self/fd/N lead
	 * to a pipe or a terminal through links whose text ("pipe:[123]") is no path */
	if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "output %s is a directory (name a file in it)", out);
			return DF_ERR;
		}
		/* a device, a FIFO, a socket: written into, never replaced */
		if (!fd) {
			snprintf(err, errlen, "output %s is not a regular file", out);
			return DF_ERR;
		}
		do
			*fd = open(out, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		while (*fd < 0 && errno == EINTR);
		if (*fd < 0) {
			snprintf(err, errlen, "output %s: %s", out, strerror(errno));
			return DF_ERR;
		}
		return DF_OK;
	}
	/* a regular file, or nothing yet: the path the rename goes to, links followed one by one (a
	 * rename onto a link itself would replace it with a regular file; its target gets the bytes) */
	int links = 0;
	for (;;) {
		if (lstat(path, &st) != 0) {
			if (errno != ENOENT) {
				snprintf(err, errlen, "output %s: %s", out, strerror(errno));
				return DF_ERR;
			}
			return parent_writable(out, path, err, errlen); /* a new file (maybe a link's target) */
		}
		if (!S_ISLNK(st.st_mode))
			break;
		char target[4096], dir[4096];
		ssize_t n = readlink(path, target, sizeof target - 1);
		if (n < 0 || ++links > MAX_LINKS) {
			snprintf(err, errlen, "output %s: %s", out, n < 0 ? strerror(errno) : strerror(ELOOP));
			return DF_ERR;
		}
		target[n] = 0;
		parent_of(path, dir, sizeof dir);
		int w = target[0] == '/' ? snprintf(path, cap, "%s", target)
					 : snprintf(path, cap, "%s/%s", dir, target);
		if (w < 0 || (size_t)w >= cap) {
			snprintf(err, errlen, "output %s: the link's target path is too long", out);
			return DF_ERR;
		}
	}
	if (!S_ISREG(st.st_mode)) { /* changed between the two looks */
		snprintf(err, errlen, "output %s changed while it was checked; run again", out);
		return DF_ERR;
	}
	return parent_writable(out, path, err, errlen); /* replaced whole by a rename at the end */
}

/* The room this user may fill on dir's filesystem; DF_ERR when it cannot tell. */
static int room_of(const char *dir, uint64_t *room)
{
	struct statvfs v;
	if (statvfs(dir, &v) != 0)
		return DF_ERR;
	uint64_t blocks = geteuid() == 0 ? (uint64_t)v.f_bfree : (uint64_t)v.f_bavail;
	*room = blocks * (uint64_t)(v.f_frsize ? v.f_frsize : v.f_bsize);
	return DF_OK;
}

int outpath_check_room(const char *path, const char *store_dir, uint64_t length, uint64_t have, char *err,
		       size_t errlen)
{
	char parent[4096], free_s[32], len_s[32];
	struct stat a, b;
	uint64_t room;
	parent_of(path, parent, sizeof parent);
	uint64_t need = length;
	if (stat(parent, &a) == 0 && stat(store_dir, &b) == 0 && a.st_dev == b.st_dev)
		need = length > have ? length - have : 0;
	if (!need || room_of(parent, &room) != DF_OK || room >= need)
		return DF_OK; /* nothing more needed, or cannot tell: the copy says what went wrong, if anything */
	progress_size(room, free_s, sizeof free_s);
	progress_size(length, len_s, sizeof len_s);
	snprintf(err, errlen, "output %s: %s has %s free, the file is %s", path, parent, free_s, len_s);
	return DF_ERR;
}

int outpath_check_store_room(const char *store_dir, uint64_t length, uint64_t have, char *err, size_t errlen)
{
	char free_s[32], need_s[32];
	uint64_t room, need = length > have ? length - have : 0;
	if (!need || room_of(store_dir, &room) != DF_OK || room >= need)
		return DF_OK;
	progress_size(room, free_s, sizeof free_s);
	progress_size(need, need_s, sizeof need_s);
	snprintf(err, errlen, "store %s has %s free, the file needs %s more (free some, or --data elsewhere)",
		 store_dir, free_s, need_s);
	return DF_ERR;
}
