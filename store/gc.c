/* Listing, removing and garbage-collecting tasks. Only files under tasks/ named like the store's
 * own (XX/ID.meta, .data, .meta.tmp) and metadata that parses as ours are ever deleted; a task is
 * deleted only under an exclusive flock of its data file, which no open handle allows. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "store/internal.h"

#define ORPHAN_AGE 3600 /* seconds before a data file without metadata counts as abandoned */

/* GC's marks in store_task_stat.in_use besides 0 and 1 */
#define IN_USE_COUNTED 2 /* in use, already counted in busy */
#define GONE (-1)        /* evicted */

enum walk_kind { WALK_META, WALK_DATA };

/* Calls fn(id, kind) for every file under tasks/ named like ours; stops when fn returns non-zero. */
static int walk(struct store *s, int (*fn)(struct store *s, const char *id, enum walk_kind kind, void *arg), void *arg,
		char *err, size_t errlen)
{
	char dir[4096];
	int stop = 0;
	snprintf(dir, sizeof dir, "%s/tasks", s->root);
	DIR *top = opendir(dir);
	if (!top)
		return store_err_sys(err, errlen, dir, "opendir");
	struct dirent *d;
	while (!stop && (d = readdir(top))) {
		size_t dl = strlen(d->d_name);
		if (dl > 2 || !store_meta_id_valid(slice_of(d->d_name)))
			continue;
		char sub[4096 + 8];
		snprintf(sub, sizeof sub, "%s/%.2s", dir, d->d_name);
		DIR *in = opendir(sub);
		if (!in)
			continue;
		struct dirent *f;
		while (!stop && (f = readdir(in))) {
			char id[STORE_MAX_ID + 1];
			const char *dot = strchr(f->d_name, '.');
			if (!dot || (size_t)(dot - f->d_name) > STORE_MAX_ID)
				continue;
			snprintf(id, sizeof id, "%.*s", (int)(dot - f->d_name), f->d_name);
			/* the folder is the id's first two digits (the whole id when shorter) */
			if (!store_meta_id_valid(slice_of(id)) || DF_MIN(strlen(id), (size_t)2) != dl ||
			    strncmp(id, d->d_name, dl) != 0)
				continue;
			if (strcmp(dot, ".meta") == 0)
				stop = fn(s, id, WALK_META, arg);
			else if (strcmp(dot, ".data") == 0)
				stop = fn(s, id, WALK_DATA, arg);
		}
		closedir(in);
	}
	closedir(top);
	return DF_OK;
}

static struct store_task *task_shell(struct store *s, const char *id)
{
	struct store_task *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->store = s;
	t->data_fd = t->meta_fd = -1;
	t->length = -1;
	if (store_task_path_alloc(t, s->root, id) != DF_OK) {
		free(t);
		return NULL;
	}
	return t;
}

static int open_here(const struct store *s, const char *id)
{
	for (const struct store_task *t = s->tasks; t; t = t->next)
		if (strcmp(t->id, id) == 0)
			return 1;
	return 0;
}

/* Is some handle open on the data file at path? (1 yes, 0 no, -1 no such file) */
static int in_use(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int busy = flock(fd, LOCK_EX | LOCK_NB) != 0;
	close(fd);
	return busy;
}

/* Reads task id's metadata (no locks, no recovery) into st. DF_OK, or DF_ERR with err. */
static int stat_task(struct store *s, const char *id, struct store_task_stat *st, char *err, size_t errlen)
{
	struct store_task *t = task_shell(s, id);
	uint8_t *logged = NULL;
	struct stat ms, ds;
	int rc = DF_ERR;
	if (!t)
		return (errno = ENOMEM), store_err_sys(err, errlen, s->root, id);
	t->meta_fd = open(t->meta_path, O_RDONLY | O_CLOEXEC);
	if (t->meta_fd < 0 || fstat(t->meta_fd, &ms) != 0) {
		store_err_sys(err, errlen, t->meta_path, "open");
		goto out;
	}
	if (store_task_load(t, t->meta_fd, t->meta_path, &logged, err, errlen) != DF_OK)
		goto out;
	memset(st, 0, sizeof *st);
	snprintf(st->id, sizeof st->id, "%s", id);
	st->length = t->length;
	st->piece_size = t->piece_size;
	st->pieces = store_task_piece_count(t);
	st->present = t->npresent;
	st->present_bytes = store_task_present_bytes(t);
	st->complete = store_task_complete(t);
	st->last_use = ms.st_mtime;
	st->last_use_ns = (int64_t)ms.st_mtim.tv_sec * 1000000000 + ms.st_mtim.tv_nsec;
	st->disk_bytes = (uint64_t)ms.st_blocks * 512;
	if (stat(t->data_path, &ds) == 0)
		st->disk_bytes += (uint64_t)ds.st_blocks * 512;
	st->in_use = open_here(s, id) || in_use(t->data_path) == 1;
	rc = DF_OK;
out:
	free(logged);
	store_task_free(t);
	return rc;
}

struct list_ctx {
	int (*cb)(void *arg, const struct store_task_stat *st);
	void *arg;
};

static int list_one(struct store *s, const char *id, enum walk_kind kind, void *arg)
{
	struct list_ctx *c = arg;
	struct store_task_stat st;
	char e[512];
	if (kind != WALK_META)
		return 0;
	if (stat_task(s, id, &st, e, sizeof e) != DF_OK) {
		if (errno != ENOENT) /* evicted meanwhile is no news */
			log_warn("%s (skipped)", e);
		return 0;
	}
	return c->cb(c->arg, &st);
}

int store_list(struct store *s, int (*cb)(void *arg, const struct store_task_stat *st), void *arg, char *err,
	       size_t errlen)
{
	struct list_ctx c = {cb, arg};
	return walk(s, list_one, &c, err, errlen);
}

/* Deletes task id's files if nobody holds it: meta first (so a crash in between leaves an
 * orphan data file, which GC knows, never metadata without data). DF_OK, DF_ERR (EBUSY...). */
static int delete_task(struct store *s, const char *id, int require_meta, char *err, size_t errlen)
{
	struct store_task *t = task_shell(s, id);
	struct stat a, b;
	int fd = -1, rc = DF_ERR;
	if (!t)
		return (errno = ENOMEM), store_err_sys(err, errlen, s->root, id);
	if (open_here(s, id)) {
		errno = EBUSY;
		store_err(err, errlen, t->meta_path, "in use by this process");
		goto out;
	}
	fd = open(t->data_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		store_err_sys(err, errlen, t->data_path, "open");
		goto out;
	}
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
		errno = EBUSY;
		store_err(err, errlen, t->meta_path, "in use by another process");
		goto out;
	}
	if (fd >= 0 &&
	    (fstat(fd, &a) != 0 || stat(t->data_path, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
		errno = EBUSY;
		store_err(err, errlen, t->data_path, "replaced while being removed");
		goto out;
	}
	/* metadata is deleted only when it is ours: it parses and names this task */
	t->meta_fd = open(t->meta_path, O_RDONLY | O_CLOEXEC);
	if (t->meta_fd >= 0) {
		uint8_t *logged = NULL;
		if (store_task_load(t, t->meta_fd, t->meta_path, &logged, err, errlen) != DF_OK)
			goto out;
		free(logged);
		if (unlink(t->meta_path) != 0) {
			store_err_sys(err, errlen, t->meta_path, "unlink");
			goto out;
		}
	} else if (errno != ENOENT || require_meta || fd < 0) {
		store_err(err, errlen, t->meta_path, errno == ENOENT ? "no such task" : "open: %s", strerror(errno));
		goto out;
	}
	unlink(t->tmp_path);
	if (fd >= 0 && unlink(t->data_path) != 0) {
		store_err_sys(err, errlen, t->data_path, "unlink");
		goto out;
	}
	char *slash = strrchr(t->data_path, '/');
	*slash = 0;
	rmdir(t->data_path); /* only when empty */
	rc = DF_OK;
out:
	if (fd >= 0)
		close(fd);
	store_task_free(t);
	return rc;
}

int store_task_peek(struct store *s, const char *id, struct store_task_stat *st, char *err, size_t errlen)
{
	if (!id || !store_meta_id_valid(slice_of(id))) {
		errno = EINVAL;
		return store_err(err, errlen, s->root, "invalid task id '%s'", id ? id : "");
	}
	return stat_task(s, id, st, err, errlen);
}

int store_task_remove(struct store *s, const char *id, char *err, size_t errlen)
{
	if (!id || !store_meta_id_valid(slice_of(id))) {
		errno = EINVAL;
		return store_err(err, errlen, s->root, "invalid task id '%s'", id ? id : "");
	}
	return delete_task(s, id, 0, err, errlen);
}

struct gc_ctx {
	struct store_task_stat *v;
	size_t n, cap;
	int failed;
	int dry_run;
};

static int gc_collect(struct store *s, const char *id, enum walk_kind kind, void *arg)
{
	struct gc_ctx *c = arg;
	char e[512], meta[4096];
	struct stat st;
	if (kind == WALK_DATA) {
		/* a data file whose metadata never came (a crash while creating): ours, by its name */
		struct store_task *t = task_shell(s, id);
		if (!t)
			return 0;
		snprintf(meta, sizeof meta, "%s", t->meta_path);
		if (!c->dry_run && stat(meta, &st) != 0 && errno == ENOENT && stat(t->data_path, &st) == 0 &&
		    time(NULL) - st.st_mtime > ORPHAN_AGE && !open_here(s, id) && in_use(t->data_path) == 0 &&
		    delete_task(s, id, 0, e, sizeof e) == DF_OK)
			log_info("store: removed %s: data without metadata, unused for over %d s", t->data_path,
				 ORPHAN_AGE);
		store_task_free(t);
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct store_task_stat *v = realloc(c->v, cap * sizeof *v);
		if (!v) {
			c->failed = 1;
			return 1;
		}
		c->v = v;
		c->cap = cap;
	}
	if (stat_task(s, id, &c->v[c->n], e, sizeof e) != DF_OK) {
		if (errno != ENOENT)
			log_warn("%s (not evicted: cannot tell it is ours)", e);
		return 0;
	}
	c->n++;
	return 0;
}

static int by_last_use(const void *a, const void *b)
{
	const struct store_task_stat *x = a, *y = b;
	return x->last_use_ns < y->last_use_ns ? -1 : x->last_use_ns > y->last_use_ns;
}

static int evict(struct store *s, const struct store_gc_policy *p, struct store_task_stat *e, const char *why,
		 struct store_gc_result *r)
{
	char msg[512];
	if (e->in_use == IN_USE_COUNTED)
		return DF_ERR;
	if (e->in_use && !p->dry_run && p->release && open_here(s, e->id) && p->release(p->arg, e->id)) {
		/* this process let go of it: held elsewhere still? */
		struct store_task *t = task_shell(s, e->id);
		e->in_use = !t || open_here(s, e->id) || in_use(t->data_path) == 1;
		store_task_free(t);
	}
	if (p->dry_run && !e->in_use) {
		log_info("store: would evict task %s (%llu bytes on disk, %s, idle %lld s): %s", e->id,
			 (unsigned long long)e->disk_bytes, e->complete ? "complete" : "incomplete",
			 (long long)(time(NULL) - e->last_use), why);
		goto gone;
	}
	if (e->in_use || delete_task(s, e->id, 1, msg, sizeof msg) != DF_OK) {
		if (!e->in_use && errno != EBUSY)
			log_warn("%s", msg);
		r->busy++;
		e->in_use = IN_USE_COUNTED;
		return DF_ERR;
	}
	log_info("store: evicted task %s (%llu bytes on disk, %s, idle %lld s): %s", e->id,
		 (unsigned long long)e->disk_bytes, e->complete ? "complete" : "incomplete",
		 (long long)(time(NULL) - e->last_use), why);
gone:
	r->evicted++;
	r->freed_bytes += e->disk_bytes;
	r->used_bytes -= e->disk_bytes;
	if (p->evicted)
		p->evicted(p->arg, e);
	e->in_use = GONE;
	return DF_OK;
}

/* Removes what a crash left in tmp/: imports (import-XXXXXX) and write probes (.probe-PID), once
 * old enough that no live process can still be using them. */
static void sweep_tmp(struct store *s)
{
	char dir[4096], path[4096 + 300];
	struct stat st;
	snprintf(dir, sizeof dir, "%s/tmp", s->root);
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, DF_LIT("import-")) != 0 && strncmp(e->d_name, DF_LIT(".probe-")) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && time(NULL) - st.st_mtime > ORPHAN_AGE &&
		    unlink(path) == 0)
			log_info("store: removed %s, left by an interrupted import", path);
	}
	if (d)
		closedir(d);
}

int store_gc(struct store *s, const struct store_gc_policy *p, struct store_gc_result *res, char *err, size_t errlen)
{
	struct gc_ctx c = {.dry_run = p->dry_run};
	struct store_gc_result r = {0};
	time_t now = time(NULL);
	if (!p->dry_run)
		sweep_tmp(s);
	if (walk(s, gc_collect, &c, err, errlen) != DF_OK)
		goto fail;
	if (c.failed) {
		errno = ENOMEM;
		store_err_sys(err, errlen, s->root, "gc");
		goto fail;
	}
	for (size_t i = 0; i < c.n; i++)
		r.used_bytes += c.v[i].disk_bytes;
	if (p->max_idle_seconds) {
		for (size_t i = 0; i < c.n; i++)
			if (now - c.v[i].last_use > (time_t)p->max_idle_seconds)
				evict(s, p, &c.v[i], "idle past the limit", &r);
	}
	if (p->quota_bytes && r.used_bytes > p->quota_bytes) {
		qsort(c.v, c.n, sizeof *c.v, by_last_use);
		for (size_t i = 0; i < c.n && r.used_bytes > p->quota_bytes; i++)
			if (c.v[i].complete && c.v[i].in_use != GONE)
				evict(s, p, &c.v[i], p->why ? p->why : "over the quota", &r);
	}
	for (size_t i = 0; i < c.n; i++)
		if (!c.v[i].complete && c.v[i].in_use != GONE && c.v[i].length > 0 &&
		    (uint64_t)c.v[i].length > c.v[i].present_bytes)
			r.to_come += (uint64_t)c.v[i].length - c.v[i].present_bytes;
	free(c.v);
	if (res)
		*res = r;
	return DF_OK;
fail:
	free(c.v);
	return DF_ERR;
}
