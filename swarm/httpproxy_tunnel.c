/* CONNECT tunnels: the client's socket is taken from the HTTP server, the target is resolved (in the
 * resolver's threads) and connected without blocking, the client hears "200 Connection
 * established", and bytes then flow both ways untouched through two bounded buffers. CONNECTs to
 * hosts named for interception go to httpproxy_mitm.c instead.
 *
 * How it works: each direction is a pipe (one 16 KiB buffer): read from its source only when the
 * buffer is empty, write to its sink while it holds bytes, so a slow side stops reading the other
 * (backpressure). A source's end of stream is passed on as shutdown(SHUT_WR) once its buffer
 * drained; the tunnel closes when both directions ended, on any error, or after a quiet spell. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "swarm/httpproxy_int.h"

#define PIPE_BUF_SIZE 16384
#define CONNECT_TIMEOUT 10.0
#define IDLE_TIMEOUT 300.0

struct pipe {
	char buf[PIPE_BUF_SIZE];
	size_t off, len;
	int eof;  /* the source ended */
	int shut; /* the end was passed to the sink */
};

struct tunnel {
	struct httpproxy *hp;
	struct tunnel *prev, *next;
	int cfd, ufd; /* the client's and the target's sockets (-1: none) */
	ev_io cio, uio;
	int cev, uev; /* events the watchers wait for now */
	struct loop_timeout idle;
	struct resolve_query *q;
	struct resolve_result res;
	int ai; /* the address being tried */
	int connected;
	char target[300];
	struct pipe up, down; /* client -> target, target -> client */
};

static void tunnel_close(struct tunnel *t)
{
	struct httpproxy *hp = t->hp;
	struct ev_loop *loop = hp->cfg.loop;
	if (t->q)
		resolver_cancel(t->q);
	ev_io_stop(loop, &t->cio);
	ev_io_stop(loop, &t->uio);
	loop_timeout_stop(loop, &t->idle);
	if (t->cfd >= 0)
		close(t->cfd);
	if (t->ufd >= 0)
		close(t->ufd);
	if (t->prev)
		t->prev->next = t->next;
	else
		hp->tunnels = t->next;
	if (t->next)
		t->next->prev = t->prev;
	free(t);
}

void httpproxy_tunnels_close(struct httpproxy *hp)
{
	while (hp->tunnels)
		tunnel_close(hp->tunnels);
}

static void set_watch(struct ev_loop *loop, ev_io *w, int fd, int *cur, int ev)
{
	if (fd < 0 || ev == *cur)
		return;
	ev_io_stop(loop, w);
	ev_io_set(w, fd, ev);
	if (ev)
		ev_io_start(loop, w);
	*cur = ev;
}

/* Moves what can move from src through p to dst without blocking. DF_OK, or DF_ERR on a socket
 * error. src < 0: nothing to read (the pipe holds a canned answer); dst < 0: not connected yet. */
static int pump(struct tunnel *t, int src, int dst, struct pipe *p)
{
	for (;;) {
		if (p->len && dst >= 0) {
			ssize_t w = send(dst, p->buf + p->off, p->len, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK ? DF_OK : DF_ERR;
			p->off += (size_t)w;
			p->len -= (size_t)w;
			t->hp->st.tunnel_bytes += (uint64_t)w;
			loop_timeout_touch(t->hp->cfg.loop, &t->idle);
			if (p->len)
				return DF_OK;
			continue;
		}
		if (p->len || p->eof || src < 0)
			break;
		ssize_t n = recv(src, p->buf, sizeof p->buf, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? DF_OK : DF_ERR;
		if (n == 0) {
			p->eof = 1;
			break;
		}
		p->off = 0;
		p->len = (size_t)n;
		loop_timeout_touch(t->hp->cfg.loop, &t->idle);
		if (dst < 0)
			return DF_OK; /* hold it until the target is connected */
	}
	if (p->eof && !p->len && !p->shut && dst >= 0) {
		shutdown(dst, SHUT_WR);
		p->shut = 1;
	}
	return DF_OK;
}

/* Does all the I/O possible now, then waits for what is missing (or closes). */
static void step(struct tunnel *t)
{
	struct ev_loop *loop = t->hp->cfg.loop;
	int ufd = t->connected ? t->ufd : -1;
	if (pump(t, t->cfd, ufd, &t->up) != DF_OK || pump(t, ufd, t->cfd, &t->down) != DF_OK) {
		tunnel_close(t);
		return;
	}
	if (t->up.shut && t->down.shut) {
		tunnel_close(t);
		return;
	}
	if (t->down.shut && !t->connected) {
		tunnel_close(t); /* the 502 went out */
		return;
	}
	int cev = (!t->up.len && !t->up.eof ? EV_READ : 0) | (t->down.len ? EV_WRITE : 0);
	int uev = t->connected ? (!t->down.len && !t->down.eof ? EV_READ : 0) | (t->up.len ? EV_WRITE : 0)
			       : (t->ufd >= 0 ? EV_WRITE : 0);
	set_watch(loop, &t->cio, t->cfd, &t->cev, cev);
	set_watch(loop, &t->uio, t->ufd, &t->uev, uev);
}

/* The target cannot be reached: the client gets a 502 with the cause, then the tunnel closes. */
static void fail(struct tunnel *t, const char *why)
{
	t->hp->st.tunnel_failed++;
	log_info("CONNECT %s: %s", t->target, why);
	if (t->ufd >= 0) {
		ev_io_stop(t->hp->cfg.loop, &t->uio);
		close(t->ufd);
		t->ufd = -1;
	}
	char msg[400];
	int n = snprintf(msg, sizeof msg, "df proxy: CONNECT %s: %s\n", t->target, why);
	if (n < 0 || (size_t)n >= sizeof msg)
		n = (int)sizeof msg - 1;
	t->down.off = 0;
	t->down.len = (size_t)snprintf(t->down.buf, sizeof t->down.buf,
				       "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
				       "Connection: close\r\n\r\n%s",
				       n, msg);
	t->down.eof = 1;
	t->up.eof = 1; /* whatever else the client sends is not read */
	step(t);
}

static void try_connect(struct tunnel *t)
{
	while (t->ai < t->res.n) {
		const struct sockaddr *sa = (const struct sockaddr *)&t->res.addr[t->ai];
		int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && (connect(fd, sa, t->res.len[t->ai]) == 0 || errno == EINPROGRESS)) {
			t->ufd = fd;
			t->uev = 0; /* step() arms the watcher for writability: the end of connect */
			step(t);
			return;
		}
		if (fd >= 0)
			close(fd);
		t->ai++;
	}
	fail(t, "connection refused or unreachable");
}

static void on_connected(struct tunnel *t)
{
	int e = 0;
	socklen_t el = sizeof e;
	if (getsockopt(t->ufd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
		e = errno;
	if (e) {
		ev_io_stop(t->hp->cfg.loop, &t->uio);
		t->uev = 0;
		close(t->ufd);
		t->ufd = -1;
		t->ai++;
		try_connect(t);
		return;
	}
	t->connected = 1;
	t->hp->st.tunnels++;
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	memcpy(t->down.buf, ok, sizeof ok - 1);
	t->down.off = 0;
	t->down.len = sizeof ok - 1;
	loop_timeout_set(t->hp->cfg.loop, &t->idle, IDLE_TIMEOUT);
	step(t);
}

static void uio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct tunnel *t = DF_CONTAINER_OF(w, struct tunnel, uio);
	if (!t->connected)
		on_connected(t);
	else
		step(t);
}

static void cio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	step(DF_CONTAINER_OF(w, struct tunnel, cio));
}

static void idle_cb(struct ev_loop *loop, struct loop_timeout *to)
{
	(void)loop;
	struct tunnel *t = DF_CONTAINER_OF(to, struct tunnel, idle);
	if (!t->connected && !t->down.eof)
		fail(t, "timed out connecting");
	else
		tunnel_close(t);
}

static void resolved(int rc, const char *err, const struct resolve_result *res, void *ctx)
{
	struct tunnel *t = ctx;
	t->q = NULL;
	if (rc != DF_OK) {
		fail(t, err ? err : "cannot resolve");
		return;
	}
	t->res = *res;
	t->ai = 0;
	try_connect(t);
}

void httpproxy_tunnel_start(struct httpproxy *hp, struct http_req *req)
{
	const struct http_head *h = http_req_head(req);
	struct addr a;
	char target[300], why[256];
	if (slice_copy(h->target, target, sizeof target) != 0 || addr_parse(target, &a, why, sizeof why) != DF_OK ||
	    !a.host[0] || a.port == 0) {
		http_reply(req, 400, "Content-Type: text/plain\r\n", DF_LIT("df proxy: CONNECT needs HOST:PORT\n"));
		return;
	}
	if (httpproxy_mitm_match(hp->mitm, a.host) &&
	    httpproxy_mitm_start(hp->mitm, req, a.host, a.ipv6, a.port) == DF_OK)
		return;
	struct tunnel *t = calloc(1, sizeof *t);
	if (!t) {
		http_reply(req, 503, NULL, DF_LIT("df proxy: out of memory\n"));
		return;
	}
	size_t got = 0;
	int fd;
	if (http_req_detach(req, &fd, t->up.buf, sizeof t->up.buf, &got) != DF_OK) {
		free(t);
		http_reply(req, 400, "Content-Type: text/plain\r\n",
			   DF_LIT("df proxy: CONNECT cannot be tunneled here\n"));
		return;
	}
	t->hp = hp;
	t->cfd = fd;
	t->ufd = -1;
	t->up.len = got;
	snprintf(t->target, sizeof t->target, "%s", target);
	ev_io_init(&t->cio, cio_cb, fd, 0);
	ev_io_init(&t->uio, uio_cb, 0, 0);
	loop_timeout_init(&t->idle, idle_cb);
	loop_timeout_set(hp->cfg.loop, &t->idle, CONNECT_TIMEOUT);
	t->next = hp->tunnels;
	if (hp->tunnels)
		hp->tunnels->prev = t;
	hp->tunnels = t;
	t->q = resolver_query(hp->resolver, a.host, a.port, resolved, t);
	if (!t->q)
		fail(t, "cannot resolve (out of memory or name too long)");
}
