/* The hand-off socket of df proxy: accepts df get's requests on a unix socket, runs them on the
 * host's peer engine, streams progress lines, exports the file and reports. One allocation per
 * client; everything on the loop; a client that goes away only cancels its watcher (the download
 * itself goes on and seeds). */
#include "swarm/hostd.h"
#include "swarm/outpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/monotime.h"
#include "core/proto.h"
#include "swarm/exporter.h"
#include "swarm/peer.h"

#define REQ_MAX 65536
#define OUT_MAX 4096
#define REQ_TIMEOUT 10.0
#define PROGRESS_EVERY 0.2
/* A running job says something at least this often (its progress again, when nothing moved: a
 * registration waiting on a slow source, the copy at the end): df get takes HOSTD_SILENCE s of
 * silence for a daemon that hangs (hostd_client.c) */
#define ALIVE_EVERY 5.0

enum { J_READ, J_RUN, J_CLOSING };

struct hjob {
	struct hostd *hd;
	struct hjob *prev, *next;
	int fd;
	ev_io io;
	int ev;
	int state;
	struct loop_timeout to;
	ev_timer reap; /* closes the job from the loop: never inside an engine callback */
	int dead;
	struct swarm_dl *dl;
	int64_t length;
	double last_progress;
	uint64_t last_done;
	double last_said;           /* when the last line was queued */
	ev_timer alive;             /* J_RUN: the line that says the daemon is alive (ALIVE_EVERY) */
	struct hostd_job_spec spec; /* url, output, source headers, digest */
	struct exporter *exp;       /* the copy to spec.output, once the download is complete */
	struct livecopy *live;      /* spec.output written as the pieces land, until exp takes it */
	char done_line[200];        /* the last line, sent once the copy is in place */
	size_t out_off, out_len;
	char out[OUT_MAX];
	size_t in_len;
	char in[REQ_MAX];
};

struct hostd {
	struct hostd_cfg cfg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	ev_io lio;
	struct hjob *jobs;
	struct hostd_stats st;
};

int hostd_parse_request(const char *buf, size_t len, struct hostd_request *rq, const char **why)
{
	size_t pos = 0;
	struct proto_line l;
	int rc;
	memset(rq, 0, sizeof *rq);
	while ((rc = proto_next(buf, len, &pos, &l)) == DF_OK) {
		if (memchr(l.val.p, '\r', l.val.n)) {
			*why = "a carriage return inside a value";
			return DF_ERR;
		}
		if (slice_eq(l.key, "url")) {
			rq->url = l.val;
		} else if (slice_eq(l.key, "digest")) {
			rq->digest = l.val;
		} else if (slice_eq(l.key, "output")) {
			rq->output = l.val;
		} else if (slice_eq(l.key, "mode")) {
			rq->mode = l.val;
		} else if (slice_eq(l.key, "header")) {
			const char *colon = memchr(l.val.p, ':', l.val.n);
			if (!colon || colon == l.val.p) {
				*why = "a header line is not 'Name: value'";
				return DF_ERR;
			}
			if (rq->nheaders == HOSTD_MAX_HEADERS) {
				*why = "too many header lines";
				return DF_ERR;
			}
			rq->headers[rq->nheaders++] = l.val;
		}
		/* unknown keys are ignored, so newer clients can add lines */
	}
	if (rc == DF_ERR) {
		*why = "a malformed line";
		return DF_ERR;
	}
	if (!(rq->url.n > 7 && strncmp(rq->url.p, DF_LIT("http://")) == 0) &&
	    !(rq->url.n > 8 && strncmp(rq->url.p, DF_LIT("https://")) == 0)) {
		*why = "no http(s) url";
		return DF_ERR;
	}
	if (!rq->output.n || rq->output.p[0] != '/') {
		*why = "no absolute output path";
		return DF_ERR;
	}
	return DF_OK;
}

/* ---- the client connection ---- */

static void job_close(struct hjob *j)
{
	struct hostd *hd = j->hd;
	if (j->dl)
		swarm_dl_cancel(j->dl);
	exporter_abandon(j->exp); /* the client left: the copy ends on its own */
	livecopy_free(j->live);
	ev_io_stop(hd->cfg.loop, &j->io);
	ev_timer_stop(hd->cfg.loop, &j->reap);
	ev_timer_stop(hd->cfg.loop, &j->alive);
	loop_timeout_stop(hd->cfg.loop, &j->to);
	close(j->fd);
	if (j->prev)
		j->prev->next = j->next;
	else
		hd->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	free(j);
}

static void reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	job_close(DF_CONTAINER_OF(w, struct hjob, reap));
}

/* Ends the job on the next loop iteration: this may run inside the engine's on_meta or on_piece,
 * where cancelling the watcher would pull it from under the engine's feet. */
static void job_close_later(struct hjob *j)
{
	if (j->dead)
		return;
	j->dead = 1;
	ev_io_stop(j->hd->cfg.loop, &j->io);
	ev_timer_stop(j->hd->cfg.loop, &j->alive);
	j->ev = 0;
	ev_timer_set(&j->reap, 0, 0);
	ev_timer_start(j->hd->cfg.loop, &j->reap);
}

static void job_watch(struct hjob *j)
{
	if (j->dead)
		return;
	int ev = (j->state == J_READ ? EV_READ : 0) | (j->out_len > j->out_off ? EV_WRITE : 0);
	if (j->state == J_RUN)
		ev |= EV_READ; /* to notice the client leaving */
	if (ev == j->ev)
		return;
	ev_io_stop(j->hd->cfg.loop, &j->io);
	ev_io_set(&j->io, j->fd, ev);
	if (ev)
		ev_io_start(j->hd->cfg.loop, &j->io);
	j->ev = ev;
}

/* Writes what is queued; ends the job when it ended and all went out, or on an error. Returns 1
 * when the job is ending (j stays valid until the loop reaps it). */
static int job_flush(struct hjob *j)
{
	if (j->dead)
		return 1;
	while (j->out_off < j->out_len) {
		ssize_t w = send(j->fd, j->out + j->out_off, j->out_len - j->out_off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			job_close_later(j);
			return 1;
		}
		j->out_off += (size_t)w;
	}
	if (j->out_off == j->out_len)
		j->out_off = j->out_len = 0;
	if (j->state == J_CLOSING && !j->out_len) {
		job_close_later(j);
		return 1;
	}
	job_watch(j);
	return 0;
}

/* Queues a line and writes what it can. Progress lines (droppable) only go when the queue is nearly
 * empty; the others always fit, as the queue holds a few short lines at most. */
static void job_say(struct hjob *j, int droppable, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void job_say(struct hjob *j, int droppable, const char *fmt, ...)
{
	if (j->dead)
		return;
	if (j->out_off && j->out_off == j->out_len)
		j->out_off = j->out_len = 0;
	if (droppable && j->out_len - j->out_off > OUT_MAX / 4)
		return;
	if (j->out_off) {
		memmove(j->out, j->out + j->out_off, j->out_len - j->out_off);
		j->out_len -= j->out_off;
		j->out_off = 0;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(j->out + j->out_len, OUT_MAX - j->out_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		j->out_len += DF_MIN((size_t)n, OUT_MAX - j->out_len - 1);
	j->last_said = monotime_now();
	job_flush(j);
}

static void alive_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct hjob *j = DF_CONTAINER_OF(w, struct hjob, alive);
	if (j->state == J_RUN && monotime_now() - j->last_said >= ALIVE_EVERY - 0.1)
		job_say(j, 1, "progress: %llu %lld\n", (unsigned long long)j->last_done, (long long)j->length);
}

/* Queues the last line (msg itself when exit_code is DF_EXIT_OK) and closes once it went out. */
static void job_end(struct hjob *j, int exit_code, const char *msg)
{
	j->state = J_CLOSING;
	if (exit_code != DF_EXIT_OK) {
		j->hd->st.failed++;
		/* one line: the message must not break the framing */
		char m[600];
		snprintf(m, sizeof m, "%s", msg ? msg : "failed");
		for (char *p = m; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		job_say(j, 0, "error: %d %s\n", exit_code, m);
	} else {
		job_say(j, 0, "%s", msg);
	}
}

static void on_meta(struct swarm_dl *dl, int64_t length, void *ctx)
{
	struct hjob *j = ctx;
	struct store_task *t = swarm_dl_task(dl);
	char err[512];
	if (j->state == J_CLOSING)
		return;
	j->length = length;
	/* no room for the file where it goes: said now, not after the download (which goes on: the
	 * store keeps it) */
	if (length > 0 && t && !j->dead &&
	    outpath_check_room(j->spec.output, store_root(j->hd->cfg.store), (uint64_t)length,
			       store_task_present_bytes(t), err, sizeof err) != DF_OK) {
		job_end(j, DF_EXIT_FAIL, err);
		return;
	}
	job_say(j, 0, "length: %lld\n", (long long)length);
	/* the copy runs with the download, so the file is in place soon after its last piece */
	if (length >= 0 && t && !j->dead)
		livecopy_follow(&j->live, t, AT_FDCWD, j->spec.output);
}

static void on_piece(struct swarm_dl *dl, uint32_t piece, void *ctx)
{
	struct hjob *j = ctx;
	if (j->state == J_CLOSING)
		return; /* ended early (no room): nothing more to say */
	/* the download's own handle, never one of our own: a second handle would keep the engine from
	 * dropping a stored copy of another version, and would go on showing that old copy (the live
	 * copy has a descriptor of its own, no lock, and follows the task's data file) */
	struct store_task *t = swarm_dl_task(dl);
	if (j->live && t) {
		livecopy_follow(&j->live, t, AT_FDCWD, j->spec.output);
		livecopy_piece(j->live, piece);
	}
	double now = monotime_now();
	if (!t || now - j->last_progress < PROGRESS_EVERY)
		return;
	uint64_t done = store_task_present_bytes(t);
	if (done == j->last_done)
		return;
	j->last_progress = now;
	j->last_done = done;
	job_say(j, 1, "progress: %llu %lld\n", (unsigned long long)done, (long long)j->length);
}

static void on_exported(void *ctx, int rc, const char *err)
{
	struct hjob *j = ctx;
	j->exp = NULL;
	if (rc != DF_OK) {
		job_end(j, DF_EXIT_FAIL, err);
		return;
	}
	char shown[2048];
	http_url_redact(j->spec.url, strlen(j->spec.url), NULL, shown, sizeof shown);
	log_info("handed-off download %s saved to %s", shown, j->spec.output);
	job_end(j, DF_EXIT_OK, j->done_line);
}

static void on_done(struct swarm_dl *dl, int rc, int exit_code, const char *msg, void *ctx)
{
	struct hjob *j = ctx;
	struct swarm_dl_stats ds = {0};
	struct store_task *t = swarm_dl_task(dl);
	char err[512];
	swarm_dl_stats(dl, &ds);
	struct livecopy *live = j->live;
	j->dl = NULL;
	j->live = NULL;
	if (j->state == J_CLOSING) { /* ended early (no room): its error line is out */
		livecopy_free(live);
		return;
	}
	if (j->dead || rc != DF_OK)
		livecopy_free(live); /* nothing to export for anyone: the temporary file goes */
	if (j->dead)
		return; /* the client left */
	if (rc != DF_OK) {
		job_end(j, exit_code ? exit_code : DF_EXIT_FAIL, msg);
		return;
	}
	if (!t) {
		livecopy_free(live);
		job_end(j, DF_EXIT_FAIL, "the download ended without a task");
		return;
	}
	snprintf(j->done_line, sizeof j->done_line, "done: %lld %llu %llu %llu %llu\n", (long long)store_task_length(t),
		 (unsigned long long)ds.from_peers, (unsigned long long)ds.from_super,
		 (unsigned long long)ds.from_source, (unsigned long long)ds.resumed);
	/* the copy (or the end of the live one) runs on a thread (swarm/exporter.h): this loop serves
	 * the proxy's every client */
	struct store_export x;
	if (store_export_prepare(t, &x, err, sizeof err) != DF_OK) {
		livecopy_free(live);
		job_end(j, DF_EXIT_FAIL, err);
		return;
	}
	if (live && !livecopy_follows(live, t)) {
		livecopy_free(live); /* of a version the engine dropped */
		live = NULL;
	}
	j->exp = exporter_start_live(j->hd->cfg.loop, live, &x, AT_FDCWD, j->spec.output, j->spec.mode, on_exported, j);
	if (!j->exp) {
		snprintf(err, sizeof err, "%.300s: cannot start the copy: %s", j->spec.output, strerror(errno));
		job_end(j, DF_EXIT_FAIL, err);
	}
}

int hostd_prepare(const char *buf, size_t len, struct hostd_job_spec *spec, const char **why)
{
	struct hostd_request rq;
	spec->url[0] = spec->output[0] = spec->headers[0] = 0;
	spec->headers_len = 0;
	memset(&spec->digest, 0, sizeof spec->digest);
	spec->mode = -1;
	if (hostd_parse_request(buf, len, &rq, why) != DF_OK)
		return DF_ERR;
	unsigned m;
	if (rq.mode.p) { /* no setuid, setgid or sticky bit: at most 0777 */
		if (proto_mode(rq.mode, 0777, &m) != DF_OK) {
			*why = "mode: expected octal permission bits (at most 0777)";
			return DF_ERR;
		}
		spec->mode = (int)m;
	}
	if (slice_copy(rq.url, spec->url, sizeof spec->url) != 0 ||
	    slice_copy(rq.output, spec->output, sizeof spec->output) != 0) {
		*why = "url or output path too long";
		return DF_ERR;
	}
	if (rq.digest.n && digest_spec_parse(rq.digest.p, rq.digest.n, &spec->digest) != DF_OK) {
		*why = "digest: expected sha256:HEX or md5:HEX";
		return DF_ERR;
	}
	size_t hl = 0;
	for (int i = 0; i < rq.nheaders; i++) {
		size_t cap = sizeof spec->headers - hl;
		int n = snprintf(spec->headers + hl, cap, "%.*s\r\n", (int)rq.headers[i].n, rq.headers[i].p);
		if (n < 0 || (size_t)n >= cap) {
			spec->headers[hl] = 0;
			*why = "header lines too long";
			return DF_ERR;
		}
		hl += (size_t)n;
	}
	spec->headers_len = hl;
	return DF_OK;
}

/* A whole request is in: check it, start (or join) the download. */
static void job_start(struct hjob *j, size_t len)
{
	const char *why;
	char err[512];
	if (hostd_prepare(j->in, len, &j->spec, &why) != DF_OK) {
		j->hd->st.refused++;
		job_end(j, DF_EXIT_USAGE, why);
		return;
	}
	/* checked here too (a client's df get does it first): a rename onto a device or FIFO would
	 * replace it, a folder that is not there would fail only after the download */
	char path[sizeof j->spec.output];
	if (outpath_prepare(j->spec.output, path, sizeof path, NULL, err, sizeof err) != DF_OK) {
		j->hd->st.refused++;
		job_end(j, DF_EXIT_USAGE, err);
		return;
	}
	snprintf(j->spec.output, sizeof j->spec.output, "%s", path);
	struct swarm_dl_cfg dc = {.on_meta = on_meta, .on_piece = on_piece, .on_done = on_done, .ctx = j};
	dc.digest = j->spec.digest;
	dc.url = j->spec.url;
	dc.headers = j->spec.headers_len ? j->spec.headers : NULL;
	j->state = J_RUN;
	loop_timeout_stop(j->hd->cfg.loop, &j->to);
	j->dl = swarm_dl_start(j->hd->cfg.peer, &dc, err, sizeof err);
	if (!j->dl) {
		job_end(j, DF_EXIT_USAGE, err);
		return;
	}
	j->hd->st.jobs++;
	job_say(j, 0, "task: accepted\n");
	ev_timer_set(&j->alive, ALIVE_EVERY, ALIVE_EVERY);
	ev_timer_start(j->hd->cfg.loop, &j->alive);
}

/* The request's end: an empty line ("\n\n" or "\r\n\r\n"); returns the length before it, or 0. */
static size_t request_end(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 1;
		if (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n')
			return i + 1;
	}
	return 0;
}

size_t hostd_request_end(const char *buf, size_t len, size_t seen)
{
	size_t from = seen > 2 ? seen - 2 : 0;
	if (from >= len)
		return 0;
	size_t end = request_end(buf + from, len - from);
	return end ? end + from : 0;
}

static void job_read(struct hjob *j)
{
	if (j->state != J_READ) {
		/* running or closing: anything but silence means the client is gone or confused */
		char tmp[256];
		ssize_t n = recv(j->fd, tmp, sizeof tmp, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			job_close_later(j);
		return;
	}
	for (;;) {
		if (j->in_len == sizeof j->in) {
			j->hd->st.refused++;
			job_end(j, DF_EXIT_USAGE, "request too large");
			return;
		}
		ssize_t n = recv(j->fd, j->in + j->in_len, sizeof j->in - j->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			job_close_later(j);
			return;
		}
		size_t was = j->in_len;
		j->in_len += (size_t)n;
		size_t end = hostd_request_end(j->in, j->in_len, was);
		if (end) {
			job_start(j, end);
			return;
		}
	}
}

static void job_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct hjob *j = DF_CONTAINER_OF(w, struct hjob, io);
	if (j->dead)
		return;
	if ((revents & EV_WRITE) && job_flush(j))
		return;
	if (revents & EV_READ)
		job_read(j);
}

static void job_timeout(struct ev_loop *loop, struct loop_timeout *t)
{
	(void)loop;
	job_close_later(DF_CONTAINER_OF(t, struct hjob, to));
}

int hostd_peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return 0;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct hostd *hd = DF_CONTAINER_OF(w, struct hostd, lio);
	for (int i = 0; i < 16; i++) {
		int fd = accept4(hd->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct hjob *j = calloc(1, sizeof *j);
		if (!j) {
			close(fd);
			continue;
		}
		j->hd = hd;
		j->fd = fd;
		j->length = -1;
		ev_io_init(&j->io, job_io, fd, 0);
		ev_init(&j->reap, reap_cb);
		ev_init(&j->alive, alive_cb);
		loop_timeout_init(&j->to, job_timeout);
		loop_timeout_set(loop, &j->to, REQ_TIMEOUT);
		j->next = hd->jobs;
		if (hd->jobs)
			hd->jobs->prev = j;
		hd->jobs = j;
		if (!hostd_peer_allowed(fd)) {
			hd->st.refused++;
			job_end(j, DF_EXIT_USAGE, "refused: df proxy serves hand-offs from its own user only");
			continue;
		}
		job_watch(j);
	}
}

/* ---- the listener ---- */

struct hostd *hostd_new(const struct hostd_cfg *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(cfg->path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "socket %s: path too long (at most %zu bytes)", cfg->path,
			 sizeof sa.sun_path - 1);
		return NULL;
	}
	struct hostd *hd = calloc(1, sizeof *hd);
	if (!hd) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	hd->cfg = *cfg;
	snprintf(hd->path, sizeof hd->path, "%s", cfg->path);
	hd->cfg.path = hd->path;
	memcpy(sa.sun_path, hd->path, strlen(hd->path) + 1);
	hd->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (hd->lfd < 0)
		goto fail;
	if (bind(hd->lfd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (errno != EADDRINUSE)
			goto fail;
		/* a socket file is there: another daemon's, or a stale one from a crash */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int alive = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
		if (probe >= 0)
			close(probe);
		if (alive) {
			snprintf(err, errlen, "socket %s: another df proxy is running there", hd->path);
			close(hd->lfd);
			free(hd);
			return NULL;
		}
		unlink(hd->path);
		if (bind(hd->lfd, (struct sockaddr *)&sa, sizeof sa) != 0)
			goto fail;
	}
	if (chmod(hd->path, 0600) != 0 || listen(hd->lfd, 64) != 0)
		goto fail;
	ev_io_init(&hd->lio, on_accept, hd->lfd, EV_READ);
	ev_io_start(cfg->loop, &hd->lio);
	return hd;
fail:
	snprintf(err, errlen, "socket %s: %s", hd->path, strerror(errno));
	if (hd->lfd >= 0)
		close(hd->lfd);
	free(hd);
	return NULL;
}

void hostd_stop(struct hostd *hd)
{
	if (!hd || hd->lfd < 0)
		return;
	ev_io_stop(hd->cfg.loop, &hd->lio);
	close(hd->lfd);
	hd->lfd = -1;
	unlink(hd->path);
}

void hostd_free(struct hostd *hd)
{
	if (!hd)
		return;
	hostd_stop(hd);
	while (hd->jobs)
		job_close(hd->jobs);
	free(hd);
}

void hostd_get_stats(const struct hostd *hd, struct hostd_stats *out)
{
	*out = hd->st;
}
