/* Opening and closing the store: where its root is by default, creating it, and proving it is a
 * writable directory before any task is touched (so a bad --data fails at start-up, not mid-run). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "store/internal.h"

int store_default_root(char *buf, size_t cap)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;
	if (geteuid() == 0)
		n = snprintf(buf, cap, "/var/lib/df");
	else if (xdg && xdg[0] == '/') /* the XDG spec: relative values are to be ignored */
		n = snprintf(buf, cap, "%s/df", xdg);
	else if (home && home[0])
		n = snprintf(buf, cap, "%s/.cache/df", home);
	else
		return (errno = ENOENT), DF_ERR;
	if (n < 0 || (size_t)n >= cap)
		return (errno = ENAMETOOLONG), DF_ERR;
	return DF_OK;
}

/* mkdir -p: every missing component of path; the last (the store root) private to its owner. */
static int mkdir_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		int rc = store_mkdir(path, 0755);
		*p = '/';
		if (rc != DF_OK)
			return DF_ERR;
	}
	return store_mkdir(path, STORE_DIR_MODE);
}

struct store *store_open(const char *root, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	struct store *s = NULL;
	size_t n = root ? strlen(root) : 0;
	if (n == 0) {
		errno = EINVAL;
		store_err(err, errlen, "(empty)", "no store root given");
		return NULL;
	}
	/* leave room for tasks/xx/<64-hex-id>.meta.tmp under the root */
	if (n > sizeof path - 128) {
		errno = ENAMETOOLONG;
		store_err(err, errlen, root, "path too long");
		return NULL;
	}
	memcpy(path, root, n + 1);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = 0;
	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		store_err(err, errlen, path, "store root is not a directory");
		return NULL;
	}
	if (mkdir_parents(path) != DF_OK) {
		store_err_sys(err, errlen, path, "cannot create the store root");
		return NULL;
	}
	const char *sub[] = {"tasks", "tmp"};
	for (size_t i = 0; i < DF_ARRAY_LEN(sub); i++) {
		snprintf(path + n, sizeof path - n, "/%s", sub[i]);
		if (store_mkdir(path, STORE_DIR_MODE) != DF_OK) {
			store_err_sys(err, errlen, path, "cannot create");
			return NULL;
		}
	}
	/* access(W_OK) lies for root and for read-only mounts in some cases; a real file does not */
	snprintf(path + n, sizeof path - n, "/tmp/.probe-%ld", (long)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		path[n] = 0;
		store_err_sys(err, errlen, path, "store root is not writable");
		return NULL;
	}
	close(fd);
	unlink(path);
	path[n] = 0;
	s = calloc(1, sizeof *s);
	if (!s || !(s->root = strdup(path))) {
		free(s);
		errno = ENOMEM;
		store_err_sys(err, errlen, path, "open");
		return NULL;
	}
	s->compact_min = STORE_COMPACT_MIN;
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	while (s->tasks) {
		struct store_task *t = s->tasks;
		log_warn("store: task %s still open at store close", t->id);
		t->refs = 1;
		store_task_close(t);
	}
	free(s->root);
	free(s);
}

const char *store_root(const struct store *s)
{
	return s->root;
}
