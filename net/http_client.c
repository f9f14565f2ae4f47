/* The HTTP/1.1 client: a fetch walks resolve -> connect (next address on failure) -> proxy tunnel
 * -> send -> head -> body, on a connection taken from or returned to a keep-alive pool.
 *
 * How it works. A connection (struct cconn: socket, transport, input buffer) is dumb; the fetch that
 * holds it drives it from fdrive(), one function per state. Callbacks into the application run only
 * from fdrive() and the resolver/timer callbacks, inside a busy count, so a callback may cancel its
 * own fetch or start new ones; the fetch is freed when the outermost frame returns. The response
 * head sits at the start of the connection's buffer during on_response; body bytes are handed out in
 * place and the buffer is reused once they are consumed. A pooled connection keeps a read watcher:
 * anything arriving on an idle connection (a close, garbage) closes it. */
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/base64.h"
#include "core/log.h"
#include "core/monotime.h"
#include "net/http_client.h"
#include "net/resolve.h"

#ifndef DF_VERSION
#define DF_VERSION "dev"
#endif

#define KEY_MAX 320
#define URL_MAX 8192
#define MAX_RESP_HEADERS 100

enum { PX_NONE, PX_FORWARD, PX_TUNNEL };
enum { F_START, F_RESOLVE, F_CONNECT, F_TUNNEL, F_SEND, F_HEAD, F_BODY, F_DONE };
enum { PH_CONNECT, PH_SEND, PH_FIRST, PH_BODY };

struct proxy {
	int set;
	char host[256];
	uint16_t port;
	char auth[600]; /* "Proxy-Authorization: Basic ...\r\n" or "" */
};

struct http_client {
	struct ev_loop *loop;
	struct http_client_cfg cfg;
	struct resolver *res;
	struct proxy hp, sp;
	char no_proxy[1024];
	char ua[64];
	struct cconn *conns;
	struct http_fetch *fetches;
	struct http_client_stats st;
};

struct cconn {
	struct http_client *cl;
	struct cconn *prev, *next;
	struct http_fetch *f; /* NULL while pooled */
	char key[KEY_MAX];
	struct transport plain;
	struct transport *t; /* NULL until connected */
	int fd;
	ev_io io;
	int io_events;
	int rd_wait, wr_wait;
	struct loop_timeout pool_to;
	unsigned used; /* requests it carried before the current one */
	size_t cap, in_len, in_off;
	char in[];
};

struct http_fetch {
	struct http_client *cl;
	struct http_fetch *prev, *next;
	struct http_request rq; /* the caller's, strings replaced by ours */
	char *url, *hdrs, *body, *method, *what;
	struct http_url u;
	int mode;
	char key[KEY_MAX];
	char dial[300]; /* host:port we connect to, for messages */
	struct resolve_query *q;
	struct resolve_result addrs;
	int ai;
	char last_err[300];
	struct cconn *c;
	int state;
	int fresh; /* do not take a pooled connection (retry) */
	char *head;
	size_t head_len, head_off, body_off;
	struct http_head rh;
	struct http_header rhdrs[MAX_RESP_HEADERS];
	struct http_framing fr;
	struct http_chunked ch;
	uint64_t body_left, received;
	int final_status; /* the status of the final response (not a followed redirect), or 0 */
	int paused, rate_paused, retried, redirects, got_byte;
	struct loop_timeout to;
	int phase;
	ev_timer kick;
	int busy, cancelled, finished;
	struct ratelimit_waiter rlw; /* its place in rx_limit's line, when it waits there */
};

static void fdrive(struct http_fetch *f);
static void fetch_start(struct http_fetch *f);
static void line_leave(struct http_fetch *f);

/* --- small helpers ------------------------------------------------------------------------------ */

static void fkick(struct http_fetch *f, double after)
{
	ev_timer_stop(f->cl->loop, &f->kick);
	ev_timer_set(&f->kick, after, 0);
	ev_timer_start(f->cl->loop, &f->kick);
}

static const char *what(const struct http_fetch *f)
{
	return f->what ? f->what : "server";
}

/* A header line list without the lines named (case-insensitive), in place. */
static void drop_header_lines(char *h, const char *const *names)
{
	char *w = h;
	for (char *r = h; *r;) {
		char *eol = strstr(r, "\r\n");
		size_t len = eol ? (size_t)(eol - r) + 2 : strlen(r);
		int drop = 0;
		for (const char *const *n = names; *n; n++) {
			size_t nl = strlen(*n);
			if (len > nl && strncasecmp(r, *n, nl) == 0 && r[nl] == ':')
				drop = 1;
		}
		if (!drop) {
			memmove(w, r, len);
			w += len;
		}
		r += len;
	}
	*w = 0;
}

static int has_header_line(const char *h, const char *name)
{
	size_t nl = strlen(name);
	for (const char *r = h; r && *r;) {
		if (strncasecmp(r, name, nl) == 0 && r[nl] == ':')
			return 1;
		r = strstr(r, "\r\n");
		if (r)
			r += 2;
	}
	return 0;
}

/* --- connections -------------------------------------------------------------------------------- */

static void cconn_io_cb(struct ev_loop *loop, ev_io *w, int revents);

static void cconn_set_events(struct cconn *c, int ev)
{
	if (ev == c->io_events)
		return;
	ev_io_stop(c->cl->loop, &c->io);
	ev_io_set(&c->io, c->fd, ev);
	if (ev)
		ev_io_start(c->cl->loop, &c->io);
	c->io_events = ev;
}

static void cconn_close(struct cconn *c)
{
	struct http_client *cl = c->cl;
	ev_io_stop(cl->loop, &c->io);
	loop_timeout_stop(cl->loop, &c->pool_to);
	if (c->t)
		c->t->ops->close(c->t);
	else if (c->fd >= 0)
		close(c->fd);
	if (!c->f)
		cl->st.idle--;
	if (c->prev)
		c->prev->next = c->next;
	else
		cl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void pool_timeout(struct ev_loop *loop, struct loop_timeout *t)
{
	(void)loop;
	cconn_close(DF_CONTAINER_OF(t, struct cconn, pool_to));
}

static struct cconn *cconn_new(struct http_client *cl, const char *key)
{
	struct cconn *c = malloc(sizeof *c + cl->cfg.buf_size);
	if (!c)
		return NULL;
	memset(c, 0, sizeof *c);
	c->cl = cl;
	c->fd = -1;
	c->cap = cl->cfg.buf_size;
	snprintf(c->key, sizeof c->key, "%s", key);
	ev_init(&c->io, cconn_io_cb);
	loop_timeout_init(&c->pool_to, pool_timeout);
	c->rd_wait = EV_READ;
	c->wr_wait = EV_WRITE;
	c->next = cl->conns;
	if (cl->conns)
		cl->conns->prev = c;
	cl->conns = c;
	return c;
}

/* Back to the pool after a complete exchange, or closed when the pool for its key is full. */
static void pool_put(struct cconn *c)
{
	struct http_client *cl = c->cl;
	int same = 0;
	for (struct cconn *o = cl->conns; o; o = o->next)
		if (o != c && !o->f && strcmp(o->key, c->key) == 0)
			same++;
	c->f = NULL;
	cl->st.idle++;
	if (same >= cl->cfg.pool_per_host || c->in_off != c->in_len) {
		cconn_close(c);
		return;
	}
	c->used++;
	c->in_len = c->in_off = 0;
	cconn_set_events(c, EV_READ); /* an idle connection that becomes readable is closing */
	loop_timeout_set(cl->loop, &c->pool_to, cl->cfg.pool_idle);
}

static struct cconn *pool_take(struct http_client *cl, const char *key)
{
	for (struct cconn *c = cl->conns; c; c = c->next) {
		if (c->f || strcmp(c->key, key) != 0)
			continue;
		loop_timeout_stop(cl->loop, &c->pool_to);
		cl->st.idle--;
		return c;
	}
	return NULL;
}

/* A pooled connection became readable: the server closed it (or sent what nobody asked for). */
static void pool_readable(struct cconn *c)
{
	char b[512];
	ssize_t n = c->t->ops->read(c->t, b, sizeof b);
	if (n == DF_AGAIN) {
		cconn_set_events(c, transport_wait_events(c->t, EV_READ));
		return;
	}
	cconn_close(c);
}

static void cconn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct cconn *c = DF_CONTAINER_OF(w, struct cconn, io);
	if (c->f)
		fdrive(c->f);
	else
		pool_readable(c);
}

/* --- the end of a fetch ------------------------------------------------------------------------- */

static void fetch_free(struct http_fetch *f)
{
	struct http_client *cl = f->cl;
	line_leave(f);
	if (f->prev)
		f->prev->next = f->next;
	else
		cl->fetches = f->next;
	if (f->next)
		f->next->prev = f->prev;
	free(f->url);
	free(f->hdrs);
	free(f->body);
	free(f->method);
	free(f->what);
	free(f->head);
	free(f);
}

/* Lets go of the connection: pooled when reusable, else closed. */
static void release_conn(struct http_fetch *f, int reusable)
{
	struct cconn *c = f->c;
	if (!c)
		return;
	f->c = NULL;
	if (reusable && c->t) {
		pool_put(c);
	} else {
		c->f = NULL;
		c->cl->st.idle++; /* cconn_close counts a connection without fetch as idle */
		cconn_close(c);
	}
}

/* Leaves rx_limit's line (when in it); a new head is woken to take its turn (line_wake). */
static void line_leave(struct http_fetch *f)
{
	if (f->cl->cfg.rx_limit)
		ratelimit_line_leave(f->cl->cfg.rx_limit, &f->rlw);
}

static void line_wake(struct ratelimit_waiter *w)
{
	fkick(DF_CONTAINER_OF(w, struct http_fetch, rlw), 0);
}

/* Stops everything the fetch has running (no callback). */
static void fetch_stop(struct http_fetch *f)
{
	struct ev_loop *loop = f->cl->loop;
	line_leave(f);
	loop_timeout_stop(loop, &f->to);
	ev_timer_stop(loop, &f->kick);
	if (f->q) {
		resolver_cancel(f->q);
		f->q = NULL;
	}
	release_conn(f, 0);
}

/* The one way a fetch ends: stop, tell the consumer, free when no frame uses it any more. */
static void finish(struct http_fetch *f, int rc, const char *msg)
{
	if (f->finished)
		return;
	f->finished = 1;
	f->state = F_DONE;
	line_leave(f);
	if (rc != DF_OK)
		fetch_stop(f);
	else
		release_conn(f, f->fr.keep_alive);
	loop_timeout_stop(f->cl->loop, &f->to);
	ev_timer_stop(f->cl->loop, &f->kick);
	if (!f->cancelled && f->rq.on_done) {
		f->busy++;
		f->rq.on_done(f, rc, msg, f->rq.ctx);
		f->busy--;
	}
	if (!f->busy)
		fetch_free(f);
}

static void failf(struct http_fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(struct http_fetch *f, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	finish(f, DF_ERR, msg);
}

/* --- timeouts ----------------------------------------------------------------------------------- */

static double tmo(double mine, double dflt)
{
	return mine > 0 ? mine : dflt;
}

static void set_phase(struct http_fetch *f, int phase)
{
	const struct http_client_cfg *k = &f->cl->cfg;
	double t = phase == PH_CONNECT ? tmo(f->rq.connect_timeout, k->connect_timeout)
		   : phase == PH_FIRST ? tmo(f->rq.first_byte_timeout, k->first_byte_timeout)
				       : tmo(f->rq.idle_timeout, k->idle_timeout);
	f->phase = phase;
	loop_timeout_set(f->cl->loop, &f->to, t);
}

static void fetch_timeout(struct ev_loop *loop, struct loop_timeout *t)
{
	(void)loop;
	struct http_fetch *f = DF_CONTAINER_OF(t, struct http_fetch, to);
	f->busy++;
	switch (f->phase) {
	case PH_CONNECT: failf(f, "timeout after %g s connecting to %s", t->after, f->dial); break;
	case PH_SEND: failf(f, "timeout after %g s sending the request to %s", t->after, f->dial); break;
	case PH_FIRST: failf(f, "timeout after %g s waiting for first byte from %s", t->after, f->dial); break;
	default:
		failf(f, "timeout after %g s: no data from %s after %llu bytes", t->after, f->dial,
		      (unsigned long long)f->received);
		break;
	}
	f->busy--;
	if (f->finished && !f->busy)
		fetch_free(f);
}

/* --- starting: target, pool, resolve, connect ---------------------------------------------------- */

/* A URL as messages show it: signatures and tokens in it redacted (http_url_redact). */
static const char *shown(const char *url, size_t n, char *buf, size_t cap)
{
	http_url_redact(url, n, NULL, buf, cap);
	return buf;
}

/* Sets the current URL (takes ownership of url). */
static int set_url(struct http_fetch *f, char *url, char *err, size_t errlen)
{
	const char *why = NULL;
	struct http_url u;
	char sh[1024];
	if (http_url_parse(url, strlen(url), &u, &why) != DF_OK) {
		snprintf(err, errlen, "%s: %s", shown(url, strlen(url), sh, sizeof sh), why);
		free(url);
		return DF_ERR;
	}
	if (u.tls && !f->cl->cfg.tls_wrap) {
		snprintf(err, errlen, "%s: https not configured", shown(url, strlen(url), sh, sizeof sh));
		free(url);
		return DF_ERR;
	}
	free(f->url);
	f->url = url;
	f->u = u;
	return DF_OK;
}

/* Chooses direct, forward proxy or tunnel, the pool key and the address to dial. */
static void plan_route(struct http_fetch *f)
{
	struct http_client *cl = f->cl;
	const struct http_url *u = &f->u;
	const struct proxy *px = u->tls ? &cl->sp : &cl->hp;
	f->mode = PX_NONE;
	if (f->rq.use_proxy && px->set && !http_no_proxy_match(cl->no_proxy, u->host))
		f->mode = u->tls ? PX_TUNNEL : PX_FORWARD;
	int hl = (int)u->host.n;
	const char *lb = u->ipv6 ? "[" : "", *rb = u->ipv6 ? "]" : "";
	if (f->mode == PX_FORWARD)
		snprintf(f->key, sizeof f->key, "fwd %s:%u", px->host, px->port);
	else if (f->mode == PX_TUNNEL)
		snprintf(f->key, sizeof f->key, "tun %s:%u https://%s%.*s%s:%u", px->host, px->port, lb, hl, u->host.p,
			 rb, u->port);
	else
		snprintf(f->key, sizeof f->key, "%s://%s%.*s%s:%u", u->tls ? "https" : "http", lb, hl, u->host.p, rb,
			 u->port);
	if (f->mode != PX_NONE)
		snprintf(f->dial, sizeof f->dial, "proxy %s:%u", px->host, px->port);
	else
		snprintf(f->dial, sizeof f->dial, "%s%.*s%s:%u", lb, hl, u->host.p, rb, u->port);
}

/* Builds the request head for the current URL, method and route. */
static int build_head(struct http_fetch *f)
{
	struct http_client *cl = f->cl;
	const struct http_url *u = &f->u;
	int hl = (int)u->host.n;
	const char *lb = u->ipv6 ? "[" : "", *rb = u->ipv6 ? "]" : "";
	char hostport[300];
	if (u->port_explicit && u->port != (u->tls ? 443 : 80))
		snprintf(hostport, sizeof hostport, "%s%.*s%s:%u", lb, hl, u->host.p, rb, u->port);
	else
		snprintf(hostport, sizeof hostport, "%s%.*s%s", lb, hl, u->host.p, rb);
	char auth[600] = "";
	if (u->userinfo.n && u->userinfo.n < 400 && !has_header_line(f->hdrs, "authorization")) {
		char enc[560];
		base64_encode(u->userinfo.p, u->userinfo.n, enc, sizeof enc);
		snprintf(auth, sizeof auth, "Authorization: Basic %s\r\n", enc);
	}
	char range[80] = "";
	if (f->rq.range) {
		if (f->rq.range_end >= 0)
			snprintf(range, sizeof range, "Range: bytes=%lld-%lld\r\n", (long long)f->rq.range_start,
				 (long long)f->rq.range_end);
		else
			snprintf(range, sizeof range, "Range: bytes=%lld-\r\n", (long long)f->rq.range_start);
	}
	char clen[48] = "";
	int sends_body = f->body != NULL || !strcmp(f->method, "POST") || !strcmp(f->method, "PUT");
	if (sends_body)
		snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", f->body ? f->rq.body_len : 0);
	const char *ua = has_header_line(f->hdrs, "user-agent") ? "" : cl->ua;
	/* origin form "/p?q"; through a forward proxy the absolute form "http://host/p?q" */
	int fwd = f->mode == PX_FORWARD;
	const char *path = u->path.n ? u->path.p : "/";
	int pl = u->path.n ? (int)u->path.n : 1;
	size_t cap = strlen(f->hdrs) + strlen(f->url) + 2048;
	free(f->head);
	f->head = malloc(cap);
	if (!f->head)
		return DF_ERR;
	int n = snprintf(f->head, cap, "%s %s%s%.*s%s%.*s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s%s%s\r\n", f->method,
			 fwd ? "http://" : "", fwd ? hostport : "", pl, path, u->query.n ? "?" : "", (int)u->query.n,
			 u->query.p, hostport, ua, range, clen, auth, fwd ? cl->hp.auth : "", f->hdrs);
	if (n < 0 || (size_t)n >= cap)
		return DF_ERR;
	f->head_len = (size_t)n;
	f->head_off = f->body_off = 0;
	return DF_OK;
}

static void begin_send(struct http_fetch *f)
{
	if (build_head(f) != DF_OK) {
		failf(f, "request to %s: out of memory", f->dial);
		return;
	}
	f->state = F_SEND;
	f->got_byte = 0;
	f->cl->st.requests++;
	set_phase(f, PH_SEND);
	fdrive(f);
}

/* The socket is connected (and tunnelled): set up the transport and send. */
static void connected(struct http_fetch *f)
{
	struct cconn *c = f->c;
	if (!c->t) {
		if (f->u.tls) {
			int hl = (int)f->u.host.n;
			char host[256];
			snprintf(host, sizeof host, "%.*s", hl, f->u.host.p);
			c->t = f->cl->cfg.tls_wrap(f->cl->cfg.tls_ctx, c->fd, host);
			if (!c->t) {
				failf(f, "TLS with %s: cannot set up", f->dial);
				return;
			}
		} else {
			transport_plain_init(&c->plain, c->fd);
			c->t = &c->plain;
		}
	}
	begin_send(f);
}

static void try_connect(struct http_fetch *f)
{
	struct http_client *cl = f->cl;
	for (; f->ai < f->addrs.n; f->ai++) {
		const struct sockaddr *sa = (const struct sockaddr *)&f->addrs.addr[f->ai];
		char as[LOOP_ADDRSTR_MAX];
		loop_sockaddr_str(sa, as, sizeof as);
		int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(f->last_err, sizeof f->last_err, "connect %s: %s", as, strerror(errno));
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, sa, f->addrs.len[f->ai]) < 0 && errno != EINPROGRESS) {
			snprintf(f->last_err, sizeof f->last_err, "connect %s: %s", as, strerror(errno));
			close(fd);
			continue;
		}
		if (!f->c) {
			f->c = cconn_new(cl, f->key);
			if (!f->c) {
				close(fd);
				failf(f, "connect %s: out of memory", as);
				return;
			}
			f->c->f = f;
		}
		f->c->fd = fd;
		f->c->io_events = 0;
		snprintf(f->last_err, sizeof f->last_err, "connect %s", as); /* completed on writable */
		f->state = F_CONNECT;
		cconn_set_events(f->c, EV_WRITE);
		return;
	}
	finish(f, DF_ERR, f->last_err[0] ? f->last_err : "connect: no address");
}

static void resolved(int rc, const char *err, const struct resolve_result *res, void *ctx)
{
	struct http_fetch *f = ctx;
	f->q = NULL;
	f->busy++;
	if (rc != DF_OK) {
		const struct proxy *px = f->u.tls ? &f->cl->sp : &f->cl->hp;
		if (f->mode != PX_NONE)
			failf(f, "resolve proxy %s: %s", px->host, err);
		else
			failf(f, "resolve %.*s: %s", (int)f->u.host.n, f->u.host.p, err);
	} else {
		f->addrs = *res;
		f->ai = 0;
		try_connect(f);
	}
	f->busy--;
	if (f->finished && !f->busy)
		fetch_free(f);
}

static void fetch_start(struct http_fetch *f)
{
	struct http_client *cl = f->cl;
	plan_route(f);
	if (!f->fresh) {
		struct cconn *c = pool_take(cl, f->key);
		if (c) {
			f->c = c;
			c->f = f;
			cl->st.reused++;
			begin_send(f);
			return;
		}
	}
	f->state = F_RESOLVE;
	f->last_err[0] = 0;
	set_phase(f, PH_CONNECT);
	char host[256];
	uint16_t port;
	if (f->mode != PX_NONE) {
		const struct proxy *px = f->u.tls ? &cl->sp : &cl->hp;
		snprintf(host, sizeof host, "%s", px->host);
		port = px->port;
	} else {
		snprintf(host, sizeof host, "%.*s", (int)f->u.host.n, f->u.host.p);
		port = f->u.port;
	}
	f->q = resolver_query(cl->res, host, port, resolved, f);
	if (!f->q)
		failf(f, "resolve %s: out of memory", host);
}

/* --- the states ----------------------------------------------------------------------------------- */

static void st_connect(struct http_fetch *f)
{
	struct cconn *c = f->c;
	int e = 0;
	socklen_t el = sizeof e;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
		e = errno;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (e == EINPROGRESS || e == EALREADY ||
	    (!e && getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0 && errno == ENOTCONN))
		return; /* not yet: a wakeup that was not the connect completing */
	if (e) {
		size_t l = strlen(f->last_err);
		snprintf(f->last_err + l, sizeof f->last_err - l, ": %s", strerror(e));
		cconn_set_events(c, 0);
		close(c->fd);
		c->fd = -1;
		f->ai++;
		try_connect(f);
		return;
	}
	f->cl->st.connects++;
	cconn_set_events(c, 0);
	if (f->mode == PX_TUNNEL) {
		const struct http_url *u = &f->u;
		free(f->head);
		size_t cap = 1024 + sizeof f->cl->sp.auth;
		f->head = malloc(cap);
		if (!f->head) {
			failf(f, "%s: out of memory", f->dial);
			return;
		}
		const char *lb = u->ipv6 ? "[" : "", *rb = u->ipv6 ? "]" : "";
		int n = snprintf(f->head, cap, "CONNECT %s%.*s%s:%u HTTP/1.1\r\nHost: %s%.*s%s:%u\r\n%s\r\n", lb,
				 (int)u->host.n, u->host.p, rb, u->port, lb, (int)u->host.n, u->host.p, rb, u->port,
				 f->cl->sp.auth);
		f->head_len = (size_t)n;
		f->head_off = 0;
		transport_plain_init(&c->plain, c->fd); /* the tunnel itself is plain; TLS goes on top */
		c->t = &c->plain;
		f->state = F_TUNNEL;
		fdrive(f);
		return;
	}
	connected(f);
}

/* CONNECT through the proxy: send the request, read a head, expect 2xx. */
static void st_tunnel(struct http_fetch *f)
{
	struct cconn *c = f->c;
	while (f->head_off < f->head_len) {
		ssize_t n = c->t->ops->write(c->t, f->head + f->head_off, f->head_len - f->head_off);
		if (n == DF_AGAIN) {
			cconn_set_events(c, EV_WRITE);
			return;
		}
		if (n < 0) {
			failf(f, "%s: %s", f->dial, strerror(errno));
			return;
		}
		f->head_off += (size_t)n;
	}
	for (;;) {
		int rc = http_parse_response(c->in, c->in_len, &f->rh, f->rhdrs, MAX_RESP_HEADERS);
		if (rc > 0) {
			if (f->rh.status / 100 != 2) {
				failf(f, "%s answered %d %.*s to CONNECT", f->dial, f->rh.status, (int)f->rh.reason.n,
				      f->rh.reason.p);
				return;
			}
			if ((size_t)rc != c->in_len) {
				failf(f, "%s: bytes after the CONNECT answer", f->dial);
				return;
			}
			c->in_len = 0;
			c->t = NULL; /* the TLS transport wraps the same fd */
			connected(f);
			return;
		}
		if (rc == DF_ERR || c->in_len == c->cap) {
			failf(f, "bad answer from %s to CONNECT: %s", f->dial, rc == DF_ERR ? f->rh.err : "too large");
			return;
		}
		ssize_t n = c->t->ops->read(c->t, c->in + c->in_len, c->cap - c->in_len);
		if (n == DF_AGAIN) {
			cconn_set_events(c, EV_READ);
			return;
		}
		if (n <= 0) {
			failf(f, "%s closed the connection during CONNECT", f->dial);
			return;
		}
		c->in_len += (size_t)n;
	}
}

/* A pooled connection failed before any answer: try once more on a new one when it is safe. */
static int retry_stale(struct http_fetch *f)
{
	const char *m = f->method;
	int idempotent = !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
			 !strcmp(m, "OPTIONS");
	if (!f->c || !f->c->used || f->got_byte || f->retried || !idempotent)
		return 0;
	f->retried = 1;
	f->fresh = 1;
	release_conn(f, 0);
	log_debug("http: pooled connection to %s was stale, retrying", f->dial);
	fetch_start(f);
	return 1;
}

static void st_send(struct http_fetch *f)
{
	struct cconn *c = f->c;
	for (;;) {
		struct iovec iov[2];
		int n = 0;
		if (f->head_off < f->head_len)
			iov[n++] = (struct iovec){f->head + f->head_off, f->head_len - f->head_off};
		if (f->body && f->body_off < f->rq.body_len)
			iov[n++] = (struct iovec){f->body + f->body_off, f->rq.body_len - f->body_off};
		if (!n)
			break;
		ssize_t w = transport_writev(c->t, iov, n);
		if (w == DF_AGAIN) {
			c->wr_wait = transport_wait_events(c->t, EV_WRITE);
			cconn_set_events(c, c->wr_wait);
			return;
		}
		if (w < 0) {
			if (!retry_stale(f))
				failf(f, "send to %s: %s", f->dial, c->t->err ? c->t->err : strerror(errno));
			return;
		}
		loop_timeout_touch(f->cl->loop, &f->to);
		size_t k = DF_MIN((size_t)w, f->head_len - f->head_off);
		f->head_off += k;
		f->body_off += (size_t)w - k;
	}
	int fl = c->t->ops->flush(c->t);
	if (fl == DF_AGAIN) {
		cconn_set_events(c, transport_wait_events(c->t, EV_WRITE));
		return;
	}
	if (fl == DF_ERR) {
		failf(f, "send to %s: %s", f->dial, c->t->err ? c->t->err : strerror(errno));
		return;
	}
	f->state = F_HEAD;
	c->in_len = c->in_off = 0;
	set_phase(f, PH_FIRST);
	fdrive(f);
}

/* Reads into the connection's buffer, within the download rate limit. DF_OK with *got 0 at EOF. */
static int cread(struct http_fetch *f, size_t *got)
{
	struct cconn *c = f->c;
	size_t room = c->cap - c->in_len;
	struct ratelimit *rl = f->cl->cfg.rx_limit;
	*got = 0;
	if (rl) {
		/* in turn (core/ratelimit.h): one waiting ahead is woken when its turn comes, or by the
		 * 0.25 s look below, which also covers a rate raised meanwhile */
		double now = monotime_now();
		size_t want = (size_t)DF_MIN((uint64_t)room, ratelimit_turn_bytes(rl));
		/* a whole turn or nothing: grants of what trickled in since the last one would have every
		 * fetch in line wake for a few hundred bytes */
		uint64_t g = ratelimit_turn(rl, &f->rlw) && ratelimit_wait(rl, now, want) <= 0
				     ? ratelimit_take(rl, now, want)
				     : 0;
		if (!g) {
			ratelimit_line_join(rl, &f->rlw);
			double w = ratelimit_turn(rl, &f->rlw) ? ratelimit_wait(rl, now, want) : 0.25;
			f->rate_paused = 1;
			fkick(f, DF_MIN(DF_MAX(w, 0.001), 0.25));
			return DF_AGAIN;
		}
		line_leave(f);
		room = (size_t)g;
	}
	ssize_t n = c->t->ops->read(c->t, c->in + c->in_len, room);
	if (rl && n != (ssize_t)room)
		ratelimit_refund(rl, room - (n > 0 ? (size_t)n : 0)); /* what the socket did not fill */
	if (n == DF_AGAIN) {
		c->rd_wait = transport_wait_events(c->t, EV_READ);
		return DF_AGAIN;
	}
	if (n < 0)
		return DF_ERR;
	c->rd_wait = EV_READ;
	c->in_len += (size_t)n;
	*got = (size_t)n;
	return DF_OK;
}

static void handle_redirect(struct http_fetch *f, struct slice loc, size_t head_len)
{
	struct http_client *cl = f->cl;
	int max = f->rq.max_redirects > 0 ? f->rq.max_redirects : 10;
	/* the body of the redirect: reuse the connection when it is already all here */
	struct cconn *c = f->c;
	int reusable = f->fr.keep_alive && !f->fr.chunked && !f->fr.until_close &&
		       (f->fr.no_body || (uint64_t)(c->in_len - head_len) == (uint64_t)f->fr.content_length);
	/* loc points into the connection's buffer, which a closed connection frees: read it first */
	char sh[1024], bad[1400] = "";
	char *next = malloc(URL_MAX);
	if (!next || http_url_resolve(f->url, loc, next, URL_MAX) < 0)
		snprintf(bad, sizeof bad, "bad redirect from %s: Location %.200s", f->dial,
			 shown(loc.p, loc.n, sh, sizeof sh));
	if (reusable)
		c->in_off = c->in_len;
	release_conn(f, reusable);
	if (f->redirects >= max || bad[0]) {
		free(next);
		if (bad[0])
			failf(f, "%s", bad);
		else
			failf(f, "too many redirects (%d) from %s", max, shown(f->url, strlen(f->url), sh, sizeof sh));
		return;
	}
	struct http_url old = f->u;
	char oldhost[300];
	snprintf(oldhost, sizeof oldhost, "%d %.*s:%u", old.tls, (int)old.host.n, old.host.p, old.port);
	int st = f->rh.status;
	char err[600];
	if (set_url(f, next, err, sizeof err) != DF_OK) {
		failf(f, "redirect to %s", err);
		return;
	}
	char newhost[300];
	snprintf(newhost, sizeof newhost, "%d %.*s:%u", f->u.tls, (int)f->u.host.n, f->u.host.p, f->u.port);
	if (strcasecmp(oldhost, newhost) != 0) {
		static const char *const secret[] = {"authorization", "cookie", NULL};
		drop_header_lines(f->hdrs, secret);
	}
	if ((st == 303 && strcmp(f->method, "HEAD") != 0) || ((st == 301 || st == 302) && !strcmp(f->method, "POST"))) {
		free(f->method);
		f->method = strdup("GET");
		free(f->body);
		f->body = NULL;
		if (!f->method) {
			failf(f, "redirect: out of memory");
			return;
		}
	}
	f->redirects++;
	f->fresh = 0;
	f->retried = 0;
	log_debug("http: %d redirect to %s", st, shown(f->url, strlen(f->url), sh, sizeof sh));
	(void)cl;
	fetch_start(f);
}

static void st_head(struct http_fetch *f)
{
	struct cconn *c = f->c;
	for (;;) {
		if (c->in_len) {
			int rc = http_parse_response(c->in, c->in_len, &f->rh, f->rhdrs, MAX_RESP_HEADERS);
			if (rc == DF_ERR) {
				failf(f, "bad response from %s: %s", f->dial, f->rh.err);
				return;
			}
			if (rc > 0) {
				size_t hl = (size_t)rc;
				if (f->rh.status < 200) {
					if (f->rh.status == 101) {
						failf(f, "%s switched protocols (101), which df does not do", f->dial);
						return;
					}
					/* 100 Continue, 103 Early Hints...: drop and read on */
					memmove(c->in, c->in + hl, c->in_len - hl);
					c->in_len -= hl;
					continue;
				}
				if (http_response_framing(&f->rh, slice_of(f->method), &f->fr) != DF_OK) {
					failf(f, "bad response from %s: %s", f->dial, f->rh.err);
					return;
				}
				int st = f->rh.status;
				struct slice loc = http_header_get(f->rhdrs, f->rh.nheaders, "location");
				if (f->rq.follow_redirects && loc.p &&
				    (st == 301 || st == 302 || st == 303 || st == 307 || st == 308)) {
					handle_redirect(f, loc, hl);
					return;
				}
				f->final_status = st;
				if (f->rq.fail_status && st / 100 != 2) {
					struct slice reason = f->rh.reason.n ? f->rh.reason : slice_of(http_reason(st));
					failf(f, "%s answered %d %.*s", what(f), st, (int)reason.n, reason.p);
					return;
				}
				struct http_resp r = {
					.status = st,
					.reason = f->rh.reason,
					.headers = f->rhdrs,
					.nheaders = f->rh.nheaders,
					.content_length =
						f->fr.chunked || f->fr.until_close ? -1 : f->fr.content_length,
					.stated_length = f->fr.content_length,
					.url = f->url,
					.redirects = f->redirects,
				};
				if (f->fr.no_body)
					r.content_length = 0;
				struct slice cr = http_header_get(f->rhdrs, f->rh.nheaders, "content-range");
				if (cr.p && http_content_range_parse(cr, &r.range) == DF_OK)
					r.has_range = 1;
				if (f->rq.on_response) {
					f->busy++;
					int ok = f->rq.on_response(f, &r, f->rq.ctx);
					f->busy--;
					if (f->cancelled || f->finished)
						return;
					if (ok != DF_OK) {
						failf(f, "cancelled by consumer");
						return;
					}
				}
				f->state = F_BODY;
				f->body_left = f->fr.content_length > 0 ? (uint64_t)f->fr.content_length : 0;
				http_chunked_init(&f->ch);
				c->in_off = hl;
				set_phase(f, PH_BODY);
				return;
			}
			if (c->in_len == c->cap) {
				failf(f, "bad response from %s: head larger than %zu bytes", f->dial, c->cap);
				return;
			}
		}
		size_t got;
		int rc = cread(f, &got);
		if (rc == DF_AGAIN) {
			cconn_set_events(c, f->rate_paused ? 0 : c->rd_wait); /* rate: the kick timer resumes */
			return;
		}
		if (rc == DF_ERR || !got) {
			if (retry_stale(f))
				return;
			if (rc == DF_ERR)
				failf(f, "receive from %s: %s", f->dial, c->t->err ? c->t->err : strerror(errno));
			else
				failf(f, "%s closed the connection before answering", f->dial);
			return;
		}
		if (!f->got_byte) {
			f->got_byte = 1;
			set_phase(f, PH_BODY);
		}
		loop_timeout_touch(f->cl->loop, &f->to);
	}
}

static int body_complete(const struct http_fetch *f)
{
	if (f->fr.no_body)
		return 1;
	if (f->fr.chunked)
		return f->ch.done;
	if (f->fr.until_close)
		return 0;
	return f->body_left == 0;
}

/* Hands buffered body bytes to the consumer; returns 1 when the fetch stopped or paused. */
static int deliver(struct http_fetch *f)
{
	struct cconn *c = f->c;
	while (!body_complete(f) && c->in_off < c->in_len) {
		const char *p = c->in + c->in_off;
		size_t avail = c->in_len - c->in_off;
		struct slice d;
		if (f->fr.chunked) {
			ssize_t r = http_chunked_decode(&f->ch, p, avail, &d);
			if (r < 0) {
				failf(f, "bad chunked body from %s: %s", f->dial, f->ch.err);
				return 1;
			}
			c->in_off += (size_t)r;
		} else {
			size_t k = f->fr.until_close ? avail : (size_t)DF_MIN((uint64_t)avail, f->body_left);
			d = (struct slice){p, k};
			f->body_left -= f->fr.until_close ? 0 : k;
			c->in_off += k;
		}
		if (!d.n)
			continue;
		f->received += d.n;
		f->cl->st.bytes_in += d.n;
		if (!f->rq.on_body)
			continue;
		f->busy++;
		int rc = f->rq.on_body(f, d.p, d.n, f->rq.ctx);
		f->busy--;
		if (f->cancelled || f->finished)
			return 1;
		if (rc == DF_ERR) {
			failf(f, "cancelled by consumer");
			return 1;
		}
		if (rc == DF_AGAIN)
			f->paused = 1;
		if (f->paused) {
			line_leave(f);
			return 1;
		}
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	return 0;
}

/* Body bytes one fetch reads before it lets the loop run other watchers: a source that keeps the
 * socket full (nginx over loopback) would otherwise never return EAGAIN, and the process's other
 * work (a supernode's uploads, its control answers) would wait until the whole body was in. */
#define BODY_SLICE (512u << 10)

static void st_body(struct http_fetch *f)
{
	struct cconn *c = f->c;
	size_t sliced = 0;
	for (;;) {
		if (f->paused || f->rate_paused) {
			cconn_set_events(c, 0);
			loop_timeout_stop(f->cl->loop, &f->to); /* waiting on the consumer is not the server's fault */
			return;
		}
		if (deliver(f)) {
			if (f->finished || f->cancelled)
				return;
			continue; /* paused: the check above stops reading */
		}
		if (body_complete(f)) {
			finish(f, DF_OK, NULL);
			return;
		}
		if (c->in_len == c->cap) { /* a chunk-size line longer than the buffer cannot be */
			failf(f, "bad chunked body from %s", f->dial);
			return;
		}
		size_t got;
		int rc = cread(f, &got);
		if (rc == DF_AGAIN) {
			if (f->rate_paused)
				continue;
			cconn_set_events(c, c->rd_wait);
			if (!f->to.after)
				set_phase(f, PH_BODY);
			return;
		}
		if (rc == DF_ERR) {
			failf(f, "receive from %s after %llu bytes: %s", f->dial, (unsigned long long)f->received,
			      c->t->err ? c->t->err : strerror(errno));
			return;
		}
		if (!got) {
			if (f->fr.until_close) {
				f->fr.keep_alive = 0;
				finish(f, DF_OK, NULL);
			} else if (f->fr.chunked) {
				failf(f, "%s closed the connection in the middle of a chunked body after %llu bytes",
				      f->dial, (unsigned long long)f->received);
			} else {
				failf(f, "%s closed the connection after %llu of %lld bytes", f->dial,
				      (unsigned long long)f->received, (long long)f->fr.content_length);
			}
			return;
		}
		loop_timeout_touch(f->cl->loop, &f->to);
		sliced += got;
		if (sliced >= BODY_SLICE && !body_complete(f)) {
			/* a turn for the rest of the loop; the kick timer (next iteration) resumes, which
			 * also covers bytes a TLS transport holds decrypted where epoll cannot see them */
			f->rate_paused = 1;
			fkick(f, 0);
		}
	}
}

static void fdrive(struct http_fetch *f)
{
	if (f->finished)
		return;
	f->busy++;
	switch (f->state) {
	case F_CONNECT: st_connect(f); break;
	case F_TUNNEL: st_tunnel(f); break;
	case F_SEND: st_send(f); break;
	case F_HEAD:
		st_head(f);
		if (!f->finished && f->state == F_BODY)
			st_body(f);
		break;
	case F_BODY: st_body(f); break;
	default: break;
	}
	f->busy--;
	if (f->finished && !f->busy)
		fetch_free(f);
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct http_fetch *f = DF_CONTAINER_OF(w, struct http_fetch, kick);
	f->rate_paused = 0;
	if (f->state == F_START) {
		f->busy++;
		fetch_start(f);
		f->busy--;
		if (f->finished && !f->busy)
			fetch_free(f);
		return;
	}
	fdrive(f);
}

/* --- the API ------------------------------------------------------------------------------------ */

static int parse_proxy(const char *s, struct proxy *px, char *err, size_t errlen)
{
	memset(px, 0, sizeof *px);
	if (!s || !*s)
		return DF_OK;
	char buf[1024];
	if (!strstr(s, "://"))
		snprintf(buf, sizeof buf, "http://%s", s);
	else
		snprintf(buf, sizeof buf, "%s", s);
	struct http_url u;
	const char *why = NULL;
	if (http_url_parse(buf, strlen(buf), &u, &why) != DF_OK || u.tls || u.host.n >= sizeof px->host) {
		snprintf(err, errlen, "proxy %s: %s", s,
			 u.tls ? "https proxies are not supported"
			 : why ? why
			       : "bad URL");
		return DF_ERR;
	}
	memcpy(px->host, u.host.p, u.host.n);
	px->host[u.host.n] = 0;
	px->port = u.port_explicit ? u.port : 1080;
	if (u.userinfo.n && u.userinfo.n < 400) {
		char enc[560];
		base64_encode(u.userinfo.p, u.userinfo.n, enc, sizeof enc);
		snprintf(px->auth, sizeof px->auth, "Proxy-Authorization: Basic %s\r\n", enc);
	}
	px->set = 1;
	return DF_OK;
}

static const char *env2(const char *a, const char *b)
{
	const char *v = getenv(a);
	return v ? v : b ? getenv(b) : NULL;
}

struct http_client *http_client_new(struct ev_loop *loop, const struct http_client_cfg *cfg, char *err, size_t errlen)
{
	struct http_client *cl = calloc(1, sizeof *cl);
	if (!cl) {
		snprintf(err, errlen, "http client: out of memory");
		return NULL;
	}
	loop_ignore_sigpipe();
	cl->loop = loop;
	if (cfg)
		cl->cfg = *cfg;
	struct http_client_cfg *k = &cl->cfg;
	if (!k->buf_size)
		k->buf_size = 65536;
	if (k->buf_size < 4096)
		k->buf_size = 4096;
	if (k->connect_timeout <= 0)
		k->connect_timeout = 10;
	if (k->first_byte_timeout <= 0)
		k->first_byte_timeout = 30;
	if (k->idle_timeout <= 0)
		k->idle_timeout = 30;
	if (k->pool_idle <= 0)
		k->pool_idle = 30;
	if (k->pool_per_host <= 0)
		k->pool_per_host = 8;
	snprintf(cl->ua, sizeof cl->ua, "User-Agent: %s\r\n", k->user_agent ? k->user_agent : "df/" DF_VERSION);
	/* curl's rule: only the lower-case http_proxy (HTTP_PROXY can be set by a CGI request header) */
	const char *hp = k->http_proxy ? k->http_proxy : getenv("http_proxy");
	const char *sp = k->https_proxy ? k->https_proxy : env2("https_proxy", "HTTPS_PROXY");
	const char *np = k->no_proxy ? k->no_proxy : env2("no_proxy", "NO_PROXY");
	snprintf(cl->no_proxy, sizeof cl->no_proxy, "%s", np ? np : "");
	if (parse_proxy(hp, &cl->hp, err, errlen) != DF_OK || parse_proxy(sp, &cl->sp, err, errlen) != DF_OK) {
		free(cl);
		return NULL;
	}
	cl->res = resolver_new(loop, k->resolver_threads ? k->resolver_threads : 2, err, errlen);
	if (!cl->res) {
		free(cl);
		return NULL;
	}
	return cl;
}

void http_client_free(struct http_client *cl)
{
	if (!cl)
		return;
	while (cl->fetches) {
		struct http_fetch *f = cl->fetches;
		f->cancelled = 1;
		fetch_stop(f);
		fetch_free(f);
	}
	while (cl->conns)
		cconn_close(cl->conns);
	resolver_free(cl->res);
	free(cl);
}

struct http_fetch *http_client_request(struct http_client *cl, const struct http_request *req, char *err, size_t errlen)
{
	struct http_fetch *f = calloc(1, sizeof *f);
	if (!f) {
		snprintf(err, errlen, "http request: out of memory");
		return NULL;
	}
	f->rlw.wake = line_wake;
	f->cl = cl;
	f->rq = *req;
	const char *m = req->method ? req->method : req->body ? "POST" : "GET";
	f->method = strdup(m);
	f->hdrs = strdup(req->headers ? req->headers : "");
	f->what = req->what ? strdup(req->what) : NULL;
	char *url = req->url ? strdup(req->url) : NULL;
	if (req->body) {
		f->body = malloc(req->body_len ? req->body_len : 1);
		if (f->body)
			memcpy(f->body, req->body, req->body_len);
	}
	f->next = cl->fetches;
	if (cl->fetches)
		cl->fetches->prev = f;
	cl->fetches = f;
	if (!f->method || !f->hdrs || !url || (req->what && !f->what) || (req->body && !f->body)) {
		free(url);
		snprintf(err, errlen, "http request: %s", req->url ? "out of memory" : "no URL");
		fetch_free(f);
		return NULL;
	}
	if (set_url(f, url, err, errlen) != DF_OK) {
		fetch_free(f);
		return NULL;
	}
	ev_init(&f->kick, kick_cb);
	loop_timeout_init(&f->to, fetch_timeout);
	f->state = F_START;
	fkick(f, 0); /* starts from the loop, so even an immediate failure reaches on_done from there */
	return f;
}

void http_fetch_cancel(struct http_fetch *f)
{
	if (f->cancelled)
		return;
	f->cancelled = 1;
	if (f->finished)
		return; /* inside on_done: it is freed when that returns */
	f->finished = 1;
	fetch_stop(f);
	if (!f->busy)
		fetch_free(f);
}

void http_fetch_pause(struct http_fetch *f)
{
	f->paused = 1;
	line_leave(f); /* those behind it do not wait on a consumer */
	if (f->c && f->state == F_BODY && !f->busy) {
		cconn_set_events(f->c, 0);
		loop_timeout_stop(f->cl->loop, &f->to);
	}
}

void http_fetch_resume(struct http_fetch *f)
{
	if (!f->paused || f->finished)
		return;
	f->paused = 0;
	if (f->state == F_BODY)
		set_phase(f, PH_BODY);
	fkick(f, 0); /* buffered bytes (also inside TLS) are delivered without waiting for the socket */
}

size_t http_fetch_unread(const struct http_fetch *f)
{
	const struct cconn *c = f->c;
	int queued = 0;
	if (!c || c->fd < 0)
		return 0;
	if (ioctl(c->fd, FIONREAD, &queued) != 0 || queued < 0)
		queued = 0;
	return (c->in_len - c->in_off) + (size_t)queued;
}

uint64_t http_fetch_received(const struct http_fetch *f)
{
	return f->received;
}

int http_fetch_status(const struct http_fetch *f)
{
	return f->final_status;
}

void http_client_get_stats(const struct http_client *cl, struct http_client_stats *out)
{
	*out = cl->st;
}
