/* The push receiver: one swarm download per push request, progress streamed as text lines
 * ("progress: HAVE TOTAL", then "ok: PATH" or "error: CAUSE"), the file exported atomically
 * below the push directory with the requested mode.
 *
 * Where the file goes is decided once, when the request arrives: the destination's folders are
 * opened one by one from the push directory's descriptor with O_NOFOLLOW (made when missing), and
 * the last folder's descriptor is kept until the download ends; the file is then created, moded
 * and renamed relative to it. A folder replaced by a symlink meanwhile changes nothing: the file
 * lands in the folder that was checked, or the write fails. */
#include "swarm/pushrecv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/proto.h"
#include "swarm/auth.h"
#include "swarm/common.h"

struct pushrecv {
	struct pushrecv_cfg cfg;
	char dir[PATH_MAX];
	int dirfd;      /* the push directory: every destination is resolved from it */
	ev_timer sweep; /* hourly: the temporary files of pushes a killed df proxy left (sweep_cb) */
};

#define SWEEP_EVERY 3600.0 /* the age past which a temporary file of a pid we cannot see may go */

/* A df proxy killed (-9, a power cut) in the middle of a push leaves its temporary copy
 * (.NAME.df-PID-N) next to the destination; only a later push to the same path would remove it.
 * So the whole push directory is swept at start and every hour. */
static void sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct pushrecv *pr = DF_CONTAINER_OF(w, struct pushrecv, sweep);
	store_export_sweep_tree(pr->dir);
}

/* One blob of a blob push: its download watcher until it ends. */
struct push_blob {
	struct push *p;
	struct swarm_dl *w;
	uint64_t size;
	char digest[72];
	int done;
};

/* One push in progress: the request, the download watcher (a file) or watchers (blobs), the lines
 * waiting for the socket. */
struct push {
	struct pushrecv *pr;
	struct http_req *req;
	struct swarm_dl *w;
	struct push_target tg;
	unsigned mode;
	struct push_blob *blobs; /* a blob push: nblobs downloads kept in the store */
	int nblobs, nblobs_done;
	uint64_t blob_bytes; /* their sizes as the pusher gave them */
	char out[4096];
	size_t olen;
	int ended, finished;
	ev_timer tick;
	struct exporter *exp; /* the copy to the destination, once the download is complete */
	int64_t length;
};

/* A failed walk: removes the folders this request made (made[i]: parts[i] was created in fds[i]),
 * deepest first, so a refused request leaves nothing behind; closes fds[0..depth). */
static void walk_undo(int *fds, const int *made, char **parts, int depth)
{
	if (made[depth - 1]) /* made, then not opened */
		unlinkat(fds[depth - 1], parts[depth - 1], AT_REMOVEDIR);
	for (int i = depth - 1; i >= 1; i--) {
		close(fds[i]);
		if (made[i - 1])
			unlinkat(fds[i - 1], parts[i - 1], AT_REMOVEDIR);
	}
	close(fds[0]);
}

int pushrecv_open_target(int root, const char *push_dir, const char *dest, struct push_target *tg, char *err,
			 size_t errlen)
{
	char rel[PATH_MAX];
	char *parts[PUSH_MAX_DEPTH];
	int fds[PUSH_MAX_DEPTH + 1], made[PUSH_MAX_DEPTH] = {0};
	int n = 0, depth = 0, not_regular = 0;
	size_t dl = strlen(push_dir);
	tg->dirfd = -1;
	if (!dest[0]) {
		snprintf(err, errlen, "empty destination");
		return DF_ERR;
	}
	for (const char *c = dest; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(err, errlen, "destination has a control character (byte 0x%02x); refused",
				 (unsigned char)*c);
			return DF_ERR;
		}
	if (dest[0] == '/') {
		if (strncmp(dest, push_dir, dl) != 0 || dest[dl] != '/') {
			snprintf(err, errlen, "%s is outside the push directory %s", dest, push_dir);
			return DF_ERR;
		}
		dest += dl + 1;
	}
	if (snprintf(rel, sizeof rel, "%s", dest) >= (int)sizeof rel) {
		snprintf(err, errlen, "destination too long");
		return DF_ERR;
	}
	/* every component checked before anything is made: no "..", no "." */
	char *save = NULL;
	for (char *part = strtok_r(rel, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, "..") == 0 || strcmp(part, ".") == 0) {
			snprintf(err, errlen, "%s: '%s' components are refused", dest, part);
			return DF_ERR;
		}
		if (n == PUSH_MAX_DEPTH || strlen(part) > NAME_MAX) {
			snprintf(err, errlen, "%s: %s", dest,
				 n == PUSH_MAX_DEPTH ? "too many folders" : "a name is too long");
			return DF_ERR;
		}
		parts[n++] = part;
	}
	if (!n) {
		snprintf(err, errlen, "%s names no file", dest);
		return DF_ERR;
	}
	int w = snprintf(tg->path, sizeof tg->path, "%s", push_dir);
	for (int i = 0; i < n && w < (int)sizeof tg->path; i++)
		w += snprintf(tg->path + w, sizeof tg->path - (size_t)w, "/%s", parts[i]);
	if (w >= (int)sizeof tg->path) {
		snprintf(err, errlen, "destination too long");
		return DF_ERR;
	}
	snprintf(tg->name, sizeof tg->name, "%s", parts[n - 1]);
	/* walk down from the push directory's descriptor, never following a link; the folder that
	 * receives the file stays open, so replacing a folder by a link later changes nothing */
	if ((fds[0] = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", push_dir, strerror(errno));
		return DF_ERR;
	}
	depth = 1;
	for (int i = 0; i + 1 < n; i++) {
		int fd = openat(fds[i], parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(fds[i], parts[i], 0755) == 0)
				made[i] = 1;
			else if (errno != EEXIST)
				goto fail;
			fd = openat(fds[i], parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
			/* O_NOFOLLOW | O_DIRECTORY says ENOTDIR for a link too: tell them apart */
			struct stat ls;
			errno = fstatat(fds[i], parts[i], &ls, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(ls.st_mode)
					? ELOOP
					: ENOTDIR;
		}
		if (fd < 0)
			goto fail; /* depth is i + 1: the failing component is parts[depth - 1] */
		fds[depth++] = fd;
	}
	struct stat st;
	if (fstatat(fds[depth - 1], tg->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* what is there is replaced by a rename at the end: only a regular file may be (a FIFO
		 * or a device would become a regular file) */
		not_regular = !S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode);
		errno = S_ISLNK(st.st_mode) ? ELOOP : S_ISDIR(st.st_mode) ? EISDIR : not_regular ? EEXIST : 0;
		if (errno)
			goto fail;
	} else if (errno != ENOENT) {
		goto fail;
	}
	tg->dirfd = fds[depth - 1];
	for (int i = 0; i + 1 < depth; i++)
		close(fds[i]);
	return DF_OK;
fail : {
	int e = errno;
	/* the component that failed: the next one below the deepest folder reached */
	char at[PATH_MAX];
	int k = depth, aw = snprintf(at, sizeof at, "%s", push_dir);
	for (int i = 0; i < k && i < n && aw < (int)sizeof at; i++)
		aw += snprintf(at + aw, sizeof at - (size_t)aw, "/%s", parts[i]);
	if (e == ELOOP)
		snprintf(err, errlen, "%s is a symbolic link; refused (it could lead outside %s)", at, push_dir);
	else if (e == ENOTDIR)
		snprintf(err, errlen, "%s is not a directory", at);
	else if (e == EISDIR)
		snprintf(err, errlen, "%s is a directory", at);
	else if (not_regular)
		snprintf(err, errlen, "%s is not a regular file; refused", at);
	else
		snprintf(err, errlen, "%s: %s", at, strerror(e));
	walk_undo(fds, made, parts, depth);
	errno = e;
	return DF_ERR;
}
}

void pushrecv_target_close(struct push_target *tg)
{
	if (tg->dirfd >= 0)
		close(tg->dirfd);
	tg->dirfd = -1;
}

struct exporter *pushrecv_write(struct ev_loop *loop, const struct push_target *tg, struct store_task *st,
				unsigned mode, void (*done)(void *ctx, int rc, const char *err), void *ctx, char *err,
				size_t errlen)
{
	struct store_export x;
	if (store_export_prepare(st, &x, err, errlen) != DF_OK)
		return NULL;
	int dirfd = fcntl(tg->dirfd, F_DUPFD_CLOEXEC, 0);
	if (dirfd < 0) {
		snprintf(err, errlen, "%s: %s", tg->path, strerror(errno));
		store_export_drop(&x);
		return NULL;
	}
	struct exporter *e = exporter_start(loop, &x, dirfd, tg->name, (int)mode, done, ctx);
	if (!e)
		snprintf(err, errlen, "%s: cannot start the copy: %s", tg->path, strerror(errno));
	return e;
}

int pushrecv_parse_request(const char *body, size_t len, struct pushrecv_request *rq, const char **why)
{
	char digest[80] = "", mode[16] = "0644";
	size_t pos = 0;
	struct proto_line l;
	int rc;
	memset(rq, 0, sizeof *rq);
	while ((rc = proto_next(body, len, &pos, &l)) == DF_OK) {
		int too_long = 0;
		for (size_t i = 0; i < l.val.n; i++)
			if ((unsigned char)l.val.p[i] < 0x20 || l.val.p[i] == 0x7f) {
				/* a CR in the url would split the source request; in dest, a file name nobody can type */
				*why = "a control character inside a value";
				return DF_ERR;
			}
		if (slice_eq(l.key, "url"))
			too_long = slice_copy(l.val, rq->url, sizeof rq->url);
		else if (slice_eq(l.key, "digest"))
			too_long = slice_copy(l.val, digest, sizeof digest);
		else if (slice_eq(l.key, "dest"))
			too_long = slice_copy(l.val, rq->dest, sizeof rq->dest);
		else if (slice_eq(l.key, "mode"))
			too_long = slice_copy(l.val, mode, sizeof mode);
		if (too_long) {
			*why = "a url, digest, dest or mode line is too long";
			return DF_ERR;
		}
	}
	if (rc == DF_ERR) {
		*why = "a malformed line (not 'key: value', a NUL byte, or over 8 KiB)";
		return DF_ERR;
	}
	if (!rq->url[0]) {
		*why = "no url line";
		return DF_ERR;
	}
	if (digest_spec_parse(digest, strlen(digest), &rq->digest) != DF_OK) {
		*why = "digest: expected sha256:HEX";
		return DF_ERR;
	}
	if (proto_mode(slice_of(mode), 07777, &rq->mode) != DF_OK) {
		*why = "mode: expected octal permission bits, at most 7777";
		return DF_ERR;
	}
	return DF_OK;
}

/* "Name: value" with a token for a name: a header line that cannot smuggle another one. */
static int header_line_ok(struct slice v)
{
	const char *colon = memchr(v.p, ':', v.n);
	if (!colon || colon == v.p)
		return 0;
	for (const char *c = v.p; c < colon; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", *c)))
			return 0;
	return 1;
}

/* "sha256:HEX SIZE URL" */
static int blob_line(struct slice v, struct pushrecv_blob *b)
{
	const char *sp1 = memchr(v.p, ' ', v.n);
	if (!sp1 || digest_spec_parse(v.p, (size_t)(sp1 - v.p), &b->digest) != DF_OK ||
	    strcmp(b->digest.algo, "sha256") != 0)
		return DF_ERR;
	const char *s = sp1 + 1, *end = v.p + v.n;
	uint64_t size = 0;
	int digits = 0;
	for (; s < end && *s >= '0' && *s <= '9' && digits < 19; s++, digits++)
		size = size * 10 + (uint64_t)(*s - '0');
	if (!digits || s >= end || *s != ' ')
		return DF_ERR;
	b->size = size;
	b->url = (struct slice){s + 1, (size_t)(end - s - 1)};
	struct http_url u;
	const char *why;
	if (b->url.n >= 4096 || http_url_parse(b->url.p, b->url.n, &u, &why) != DF_OK)
		return DF_ERR;
	return DF_OK;
}

int pushrecv_parse_blobs(const char *body, size_t len, struct pushrecv_blobs *rq, const char **why)
{
	size_t pos = 0, hl = 0;
	struct proto_line l;
	int rc;
	rq->image = (struct slice){"", 0};
	rq->headers[0] = 0;
	rq->n = 0;
	while ((rc = proto_next(body, len, &pos, &l)) == DF_OK) {
		for (size_t i = 0; i < l.val.n; i++)
			if ((unsigned char)l.val.p[i] < 0x20 || l.val.p[i] == 0x7f) {
				*why = "a control character inside a value";
				return DF_ERR;
			}
		if (slice_eq(l.key, "image")) {
			rq->image = l.val;
		} else if (slice_eq(l.key, "header")) {
			if (!header_line_ok(l.val)) {
				*why = "header: expected 'Name: value'";
				return DF_ERR;
			}
			if (hl + l.val.n + 3 > sizeof rq->headers) {
				*why = "the header lines are too long";
				return DF_ERR;
			}
			memcpy(rq->headers + hl, l.val.p, l.val.n);
			memcpy(rq->headers + hl + l.val.n, "\r\n", 3);
			hl += l.val.n + 2;
		} else if (slice_eq(l.key, "blob")) {
			if (rq->n == PUSH_MAX_BLOBS) {
				*why = "too many blob lines";
				return DF_ERR;
			}
			if (blob_line(l.val, &rq->blob[rq->n]) != DF_OK) {
				*why = "blob: expected 'sha256:HEX SIZE URL' with an http(s) URL";
				return DF_ERR;
			}
			rq->n++;
		}
	}
	if (rc == DF_ERR) {
		*why = "a malformed line (not 'key: value', a NUL byte, or over 8 KiB)";
		return DF_ERR;
	}
	if (!rq->n) {
		*why = "no blob line";
		return DF_ERR;
	}
	return DF_OK;
}

static void push_free(struct push *p)
{
	ev_timer_stop(p->pr->cfg.loop, &p->tick);
	if (p->w)
		swarm_dl_cancel(p->w);
	for (int i = 0; i < p->nblobs; i++)
		if (p->blobs[i].w)
			swarm_dl_cancel(p->blobs[i].w);
	free(p->blobs);
	exporter_abandon(p->exp); /* the pusher left: the copy ends on its own */
	pushrecv_target_close(&p->tg);
	free(p);
}

static void flush(struct push *p)
{
	while (p->olen) {
		ssize_t n = http_reply_write(p->req, p->out, p->olen);
		if (n < 0)
			return;
		if (n == 0)
			return; /* on_writable calls again */
		memmove(p->out, p->out + n, p->olen - (size_t)n);
		p->olen -= (size_t)n;
	}
	if (p->finished && !p->ended) {
		p->ended = 1;
		http_reply_end(p->req);
	}
}

static void say(struct push *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct push *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(p->out + p->olen, sizeof p->out - p->olen, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof p->out - p->olen)
		p->olen += (size_t)n;
	http_reply_ready(p->req);
}

static void writable(struct http_req *req, void *ctx)
{
	(void)req;
	flush(ctx);
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct push *p = DF_CONTAINER_OF(t, struct push, tick);
	if (p->nblobs) {
		uint64_t have = 0;
		for (int i = 0; i < p->nblobs; i++) {
			struct push_blob *b = &p->blobs[i];
			struct store_task *st = b->w ? swarm_dl_task(b->w) : NULL;
			have += b->done ? b->size : st ? store_task_present_bytes(st) : 0;
		}
		say(p, "progress: %llu %llu\n", (unsigned long long)have, (unsigned long long)p->blob_bytes);
		return;
	}
	struct store_task *st = p->w ? swarm_dl_task(p->w) : NULL;
	if (st)
		say(p, "progress: %llu %lld\n", (unsigned long long)store_task_present_bytes(st),
		    (long long)store_task_length(st));
}

static void on_written(void *ctx, int rc, const char *err)
{
	struct push *p = ctx;
	p->exp = NULL;
	if (rc != DF_OK) {
		say(p, "error: %s: %s\n", p->tg.path, err);
	} else {
		log_info("push: wrote %s (%lld bytes)", p->tg.path, (long long)p->length);
		say(p, "progress: %lld %lld\nok: %s\n", (long long)p->length, (long long)p->length, p->tg.path);
	}
	p->finished = 1;
	flush(p);
}

static void on_done(struct swarm_dl *w, int rc, int code, const char *msg, void *ctx)
{
	(void)code;
	struct push *p = ctx;
	char err[512];
	struct store_task *st = swarm_dl_task(w);
	p->w = NULL;
	ev_timer_stop(p->pr->cfg.loop, &p->tick);
	if (rc != DF_OK) {
		say(p, "error: %s\n", msg);
	} else {
		/* the copy runs on a thread (swarm/exporter.h): this loop serves everything else */
		p->length = store_task_length(st);
		p->exp = pushrecv_write(p->pr->cfg.loop, &p->tg, st, p->mode, on_written, p, err, sizeof err);
		if (p->exp)
			return;
		say(p, "error: %s: %s\n", p->tg.path, err);
	}
	p->finished = 1;
	flush(p);
}

static void gone(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	(void)ok;
	push_free(ctx); /* the download goes on for the swarm; this push's watcher ends */
}

static void on_body(struct http_req *req, const char *body, size_t len, void *ctx)
{
	struct pushrecv *pr = ctx;
	char err[PATH_MAX + 128];
	const char *why;
	struct pushrecv_request *rq = malloc(sizeof *rq);
	struct push *p = calloc(1, sizeof *p);
	if (!p || !rq) {
		free(p);
		free(rq);
		http_reply(req, 503, NULL, DF_LIT("out of memory\n"));
		return;
	}
	if (pushrecv_parse_request(body, len, rq, &why) != DF_OK) {
		int n = snprintf(err, sizeof err, "push: %s\n", why);
		free(p);
		free(rq);
		http_reply(req, 400, "Content-Type: text/plain\r\n", err, (size_t)DF_MIN(n, (int)sizeof err - 1));
		return;
	}
	p->pr = pr;
	p->req = req;
	p->mode = rq->mode;
	p->tg.dirfd = -1;
	int refused = 0;
	if (rq->mode & ~0777u && !pr->cfg.special_modes) {
		snprintf(err, sizeof err,
			 "mode %04o: setuid, setgid and sticky bits are refused on this host ([proxy] "
			 "push_special_modes = no)",
			 rq->mode);
		refused = 1;
	}
	if (refused || pushrecv_open_target(pr->dirfd, pr->dir, rq->dest, &p->tg, err, sizeof err) != DF_OK) {
		log_warn("push refused: %s", err);
		char line[PATH_MAX + 160];
		int n = snprintf(line, sizeof line, "error: %s\n", err);
		free(p);
		free(rq);
		http_reply(req, 403, "Content-Type: text/plain\r\n", line, (size_t)DF_MIN(n, (int)sizeof line - 1));
		return;
	}
	struct swarm_dl_cfg c = {.url = rq->url, .digest = rq->digest, .on_done = on_done, .ctx = p};
	p->w = swarm_dl_start(pr->cfg.peer, &c, err, sizeof err);
	free(rq); /* swarm_dl_start copied what it keeps */
	if (!p->w) {
		pushrecv_target_close(&p->tg);
		free(p);
		http_reply(req, 400, NULL, DF_LIT("push: bad url\n"));
		return;
	}
	ev_timer_init(&p->tick, tick_cb, 0.5, 0.5);
	ev_timer_start(pr->cfg.loop, &p->tick);
	http_req_on_done(req, gone, p);
	http_reply_start(req, 200, "Content-Type: text/plain\r\n", -1, writable, p);
}

/* ---- blob pushes (df push --image): downloads into the store, nothing written outside it ---- */

static void blob_done(struct swarm_dl *w, int rc, int code, const char *msg, void *ctx)
{
	(void)w;
	(void)code;
	struct push_blob *b = ctx;
	struct push *p = b->p;
	b->w = NULL;
	b->done = 1;
	if (p->finished)
		return; /* another blob failed: the answer is given */
	if (rc != DF_OK) {
		/* the watchers of the other blobs end with the request; their downloads go on for the swarm */
		say(p, "error: %s: %s\n", b->digest, msg);
	} else if (++p->nblobs_done < p->nblobs) {
		return;
	} else {
		log_info("push: %d blob%s (%llu bytes) in the store", p->nblobs, p->nblobs == 1 ? "" : "s",
			 (unsigned long long)p->blob_bytes);
		say(p, "progress: %llu %llu\nok: %d blob%s in the store\n", (unsigned long long)p->blob_bytes,
		    (unsigned long long)p->blob_bytes, p->nblobs, p->nblobs == 1 ? "" : "s");
	}
	ev_timer_stop(p->pr->cfg.loop, &p->tick);
	p->finished = 1;
	flush(p);
}

static void on_blobs_body(struct http_req *req, const char *body, size_t len, void *ctx)
{
	struct pushrecv *pr = ctx;
	const char *why;
	char err[512];
	struct pushrecv_blobs *rq = malloc(sizeof *rq);
	struct push *p = calloc(1, sizeof *p);
	if (!p || !rq || pushrecv_parse_blobs(body, len, rq, &why) != DF_OK) {
		int n = snprintf(err, sizeof err, "push: %s\n", p && rq ? why : "out of memory");
		http_reply(req, p && rq ? 400 : 503, "Content-Type: text/plain\r\n", err,
			   (size_t)DF_MIN(n, (int)sizeof err - 1));
		free(p);
		free(rq);
		return;
	}
	p->pr = pr;
	p->req = req;
	p->tg.dirfd = -1;
	p->blobs = calloc((size_t)rq->n, sizeof *p->blobs);
	if (!p->blobs) {
		explicit_bzero(rq->headers, sizeof rq->headers);
		free(rq);
		free(p);
		http_reply(req, 503, NULL, DF_LIT("out of memory\n"));
		return;
	}
	p->nblobs = rq->n;
	ev_timer_init(&p->tick, tick_cb, 0.5, 0.5);
	for (int i = 0; i < rq->n; i++) {
		struct push_blob *b = &p->blobs[i];
		char url[4096];
		b->p = p;
		b->size = rq->blob[i].size;
		p->blob_bytes += b->size;
		digest_spec_format(&rq->blob[i].digest, b->digest, sizeof b->digest);
		slice_copy(rq->blob[i].url, url, sizeof url); /* the parser bounds it */
		struct swarm_dl_cfg c = {.url = url,
					 .headers = rq->headers[0] ? rq->headers : NULL,
					 .digest = rq->blob[i].digest,
					 .on_done = blob_done,
					 .ctx = b};
		b->w = swarm_dl_start(pr->cfg.peer, &c, err, sizeof err);
		if (!b->w) {
			log_warn("push refused: %s: %s", b->digest, err);
			explicit_bzero(rq->headers, sizeof rq->headers);
			free(rq);
			push_free(p);
			http_reply(req, 400, NULL, DF_LIT("push: a blob's url cannot be fetched\n"));
			return;
		}
	}
	log_info("push: fetching %d blob%s of %.*s into the store", rq->n, rq->n == 1 ? "" : "s",
		 (int)DF_MIN(rq->image.n, 300), rq->image.n ? rq->image.p : "an image");
	explicit_bzero(rq->headers, sizeof rq->headers); /* swarm_dl_start copied what it keeps */
	free(rq);
	ev_timer_start(pr->cfg.loop, &p->tick);
	http_req_on_done(req, gone, p);
	http_reply_start(req, 200, "Content-Type: text/plain\r\n", -1, writable, p);
}

static void on_blobs(struct http_req *req, void *ctx)
{
	struct pushrecv *pr = ctx;
	if (!auth_check(req, pr->cfg.token))
		return;
	swarm_read_body(req, 1u << 20, on_blobs_body, pr);
}

static void on_push(struct http_req *req, void *ctx)
{
	struct pushrecv *pr = ctx;
	if (!auth_check(req, pr->cfg.token))
		return;
	swarm_read_body(req, 65536, on_body, pr);
}

struct pushrecv *pushrecv_new(const struct pushrecv_cfg *cfg, struct http_server *srv, char *err, size_t errlen)
{
	struct pushrecv *pr = calloc(1, sizeof *pr);
	if (!pr) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pr->cfg = *cfg;
	/* the push directory, made when missing, then taken as its real path (prefix checks compare it) */
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", cfg->push_dir);
	for (char *s = tmp + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(tmp, 0755);
			*s = '/';
		}
	if ((mkdir(tmp, 0755) != 0 && errno != EEXIST) || !realpath(tmp, pr->dir) ||
	    (pr->dirfd = open(pr->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "push directory %s: %s", cfg->push_dir, strerror(errno));
		free(pr);
		return NULL;
	}
	if (http_server_route(srv, "POST", "/v1/push", on_push, pr) != DF_OK ||
	    http_server_route(srv, "POST", "/v1/blobs", on_blobs, pr) != DF_OK) {
		snprintf(err, errlen, "out of memory");
		close(pr->dirfd);
		free(pr);
		return NULL;
	}
	ev_timer_init(&pr->sweep, sweep_cb, 0.0, SWEEP_EVERY);
	ev_timer_start(cfg->loop, &pr->sweep);
	return pr;
}

void pushrecv_free(struct pushrecv *pr)
{
	if (pr) {
		ev_timer_stop(pr->cfg.loop, &pr->sweep);
		close(pr->dirfd);
	}
	free(pr);
}
