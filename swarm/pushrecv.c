/* The push receiver: one swarm download per push request, progress streamed as text lines
 * ("progress: HAVE TOTAL", then "ok: PATH" or "error: CAUSE"), the file exported atomically
 * below the push directory with the requested mode. */
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
};

/* One push in progress: the request, the download watcher, the lines waiting for the socket. */
struct push {
	struct pushrecv *pr;
	struct http_req *req;
	struct swarm_dl *w;
	char path[PATH_MAX];
	unsigned mode;
	char out[4096];
	size_t olen;
	int ended, finished;
	ev_timer tick;
};

int pushrecv_resolve(const char *push_dir, const char *dest, char *out, size_t cap, char *err, size_t errlen)
{
	char rel[PATH_MAX];
	size_t dl = strlen(push_dir);
	if (!dest[0]) {
		snprintf(err, errlen, "empty destination");
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
	/* walk the components: no "..", no ".", no symlink anywhere below push_dir */
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s", push_dir);
	char *save = NULL, *next;
	char *part = strtok_r(rel, "/", &save);
	if (!part) {
		snprintf(err, errlen, "%s names no file", dest);
		return DF_ERR;
	}
	for (; part; part = next) {
		next = strtok_r(NULL, "/", &save);
		if (strcmp(part, "..") == 0 || strcmp(part, ".") == 0) {
			snprintf(err, errlen, "%s: '%s' components are refused", dest, part);
			return DF_ERR;
		}
		size_t n = strlen(path);
		if (n + 1 + strlen(part) >= sizeof path) {
			snprintf(err, errlen, "destination too long");
			return DF_ERR;
		}
		path[n] = '/';
		strcpy(path + n + 1, part);
		struct stat st;
		if (lstat(path, &st) == 0) {
			if (S_ISLNK(st.st_mode)) {
				snprintf(err, errlen, "%s is a symbolic link; refused (it could lead outside %s)", path, push_dir);
				return DF_ERR;
			}
			if (next && !S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "%s is not a directory", path);
				return DF_ERR;
			}
			if (!next && S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "%s is a directory", path);
				return DF_ERR;
			}
		} else if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return DF_ERR;
		} else if (next && mkdir(path, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return DF_ERR;
		}
	}
	if (snprintf(out, cap, "%s", path) >= (int)cap) {
		snprintf(err, errlen, "destination too long");
		return DF_ERR;
	}
	return DF_OK;
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
		if (slice_eq(l.key, "url")) too_long = slice_copy(l.val, rq->url, sizeof rq->url);
		else if (slice_eq(l.key, "digest")) too_long = slice_copy(l.val, digest, sizeof digest);
		else if (slice_eq(l.key, "dest")) too_long = slice_copy(l.val, rq->dest, sizeof rq->dest);
		else if (slice_eq(l.key, "mode")) too_long = slice_copy(l.val, mode, sizeof mode);
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
	char *end;
	unsigned long m = strtoul(mode, &end, 8);
	if (!mode[0] || *end || mode[0] == '-' || mode[0] == '+' || mode[0] == ' ' || m > 07777) {
		*why = "mode: expected octal permission bits, at most 7777";
		return DF_ERR;
	}
	rq->mode = (unsigned)m;
	return DF_OK;
}

static void push_free(struct push *p)
{
	ev_timer_stop(p->pr->cfg.loop, &p->tick);
	if (p->w)
		swarm_dl_cancel(p->w);
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
	struct store_task *st = p->w ? swarm_dl_task(p->w) : NULL;
	if (st)
		say(p, "progress: %llu %lld\n", (unsigned long long)store_task_present_bytes(st), (long long)store_task_length(st));
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
	} else if (store_task_export(st, p->path, err, sizeof err) != DF_OK) {
		say(p, "error: %s\n", err);
	} else if (chmod(p->path, p->mode) != 0) {
		say(p, "error: chmod %s: %s\n", p->path, strerror(errno));
	} else {
		log_info("push: wrote %s (%lld bytes)", p->path, (long long)store_task_length(st));
		say(p, "progress: %lld %lld\nok: %s\n", (long long)store_task_length(st), (long long)store_task_length(st), p->path);
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
		http_reply(req, 503, NULL, "out of memory\n", 14);
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
	if (pushrecv_resolve(pr->dir, rq->dest, p->path, sizeof p->path, err, sizeof err) != DF_OK) {
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
		free(p);
		http_reply(req, 400, NULL, "push: bad url\n", 14);
		return;
	}
	ev_timer_init(&p->tick, tick_cb, 0.5, 0.5);
	ev_timer_start(pr->cfg.loop, &p->tick);
	http_req_on_done(req, gone, p);
	http_reply_start(req, 200, "Content-Type: text/plain\r\n", -1, writable, p);
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
	if ((mkdir(tmp, 0755) != 0 && errno != EEXIST) || !realpath(tmp, pr->dir)) {
		snprintf(err, errlen, "push directory %s: %s", cfg->push_dir, strerror(errno));
		free(pr);
		return NULL;
	}
	if (http_server_route(srv, "POST", "/v1/push", on_push, pr) != DF_OK) {
		snprintf(err, errlen, "out of memory");
		free(pr);
		return NULL;
	}
	return pr;
}

void pushrecv_free(struct pushrecv *pr) { free(pr); }
