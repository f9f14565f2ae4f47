/* The HTTP/1.1 server: one allocation per connection (watchers, buffers, header table inline), an
 * explicit state per connection, and one function, drive(), that makes every possible step.
 *
 * How it works. A connection is in C_HEAD (waiting for a request head), C_REQ (a request is live:
 * its body may be read while its reply is written) or C_LINGER (reply sent, write side shut, waiting
 * for the client's EOF so our last bytes are not lost to a reset). The input buffer holds the head at
 * [0, head_len) for the whole exchange (the request's slices point there) and body bytes after it.
 * Output is a small queue (`out`: status line, headers, 100 Continue, small bodies) followed by the
 * reply's body source: memory, a file region (sendfile) or a producer (streamed, chunked if needed).
 * Application calls (http_reply_*, http_req_resume...) only change state and kick a zero timer;
 * callbacks into the application run from drive(), whose busy counter keeps the connection alive
 * until the outermost call returns. */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/fdlimit.h"
#include "core/log.h"
#include "core/monotime.h"
#include "net/http_server.h"

#define OUT_CAP 4096
#define FRAME_CAP 32
#define DRAIN_MAX (1u << 20)
#define LINGER_SECONDS 2.0
#define BODY_ROOM 1024 /* a head may not leave less than this for body bytes */
#define MAX_LISTENERS 8

enum { C_HEAD, C_REQ, C_LINGER };
/* body states: B_NONE no body; B_WAIT the handler has not asked for it; B_READ delivering; B_PAUSED
 * the consumer asked to wait; B_DONE complete; B_DISCARD reply sent, dropping the rest */
enum { B_NONE, B_WAIT, B_READ, B_PAUSED, B_DONE, B_DISCARD };
enum { R_NONE, R_MEM, R_FILE, R_STREAM };

/* An intrusive list of connections (a connection is on at most one list through each link). */
struct clink {
	struct clink *prev, *next;
	int on;
};
struct clist {
	struct clink *first, *last;
};

static void clist_remove(struct clist *l, struct clink *k)
{
	if (!k->on)
		return;
	*(k->prev ? &k->prev->next : &l->first) = k->next;
	*(k->next ? &k->next->prev : &l->last) = k->prev;
	k->prev = k->next = NULL;
	k->on = 0;
}

static void clist_append(struct clist *l, struct clink *k)
{
	clist_remove(l, k);
	k->prev = l->last;
	*(l->last ? &l->last->next : &l->first) = k;
	l->last = k;
	k->on = 1;
}

struct route {
	struct route *next;
	char *method; /* NULL: any */
	char *prefix;
	size_t plen;
	http_handler_fn fn;
	void *ctx;
};

struct http_server {
	struct ev_loop *loop;
	struct http_server_cfg cfg;
	struct loop_listener *ls[MAX_LISTENERS];
	int nls;
	int paused;
	struct route *routes;
	struct http_conn *conns;
	/* candidates to close at the connection limit: `idle` holds the connections without a live
	 * exchange (C_HEAD, C_LINGER) in the order they began to wait, `stalled` those whose exchange
	 * waits on the client (its body, or room for the reply), the least recent progress first */
	struct clist idle, stalled;
	ev_timer recheck;                 /* paused at the limit: a stalled exchange may become a candidate */
	double shed_logged, pause_logged; /* when the last "connection limit" lines were logged */
	struct http_server_stats st;
	int stopping;
	ev_timer grace;     /* shutdown: abort what is left when it fires */
	ev_timer stop_kick; /* shutdown: report done from the loop */
	void (*stop_done)(struct http_server *s, void *ctx);
	void *stop_ctx;
	time_t date_t;
	char date[40];
};

struct http_req {
	struct http_head head;
	struct http_framing fr;
};

/* Everything about one request and its reply; zeroed between requests. */
struct exch {
	int active; /* a request is live: the application may hold &c->req */
	int keep_alive;
	int is_head;
	int expect_sent;
	/* body */
	int body;
	int body_complete; /* all of it arrived while the consumer was paused */
	uint64_t body_left;
	uint64_t drained;
	struct http_chunked ch;
	http_body_fn on_data;
	void (*on_end)(struct http_req *req, void *ctx);
	void *body_ctx;
	/* reply */
	int kind;
	int started;
	int failed; /* a write failed in application context: close from drive() */
	const char *mem;
	size_t mem_len;
	char *mem_owned;
	int fd;
	off_t file_off;
	uint64_t file_left;
	int64_t slen; /* streamed: announced length, -1 unknown */
	uint64_t ssent;
	int chunked;
	uint64_t chunk_left;
	int want_produce;
	int ended;
	http_produce_fn produce;
	void *produce_ctx;
	char frame[FRAME_CAP]; /* chunk framing owed before the next data */
	size_t frame_off, frame_len;
	void (*done)(struct http_req *req, int ok, void *ctx);
	void *done_ctx;
};

struct http_conn {
	struct http_server *s;
	struct http_conn *prev, *next;
	struct clink idle, stalled; /* on the server's lists of candidates to close at the limit */
	struct transport plain;
	struct transport *t;
	ev_io io;
	ev_timer kick;
	struct loop_timeout to;
	int io_events;
	int rd_wait, wr_wait; /* events the transport waits for after DF_AGAIN, per direction */
	int state;
	int dead;
	int busy;
	int peer_eof;
	int to_io;                   /* the timeout is the io_timeout of a live exchange */
	int rate_paused;             /* waiting for upload tokens (kick timer armed) */
	struct ratelimit_waiter rlw; /* its place in tx_limit's line, when it waits there */
	struct sockaddr_storage peer;
	void (*on_close)(void *ctx); /* http_server_adopt's owner, told when the connection is gone */
	void *owner;
	size_t in_len, in_off, head_len, cap;
	struct http_req req;
	struct exch x;
	size_t out_off, out_len;
	char out[OUT_CAP];
	struct http_header *hdrs;
	char in[];
};

static void drive(struct http_conn *c, int revents);
static void conn_close(struct http_conn *c);

/* The oldest connection that may be closed for a newcomer: one without a live exchange, else an
 * exchange that has waited stall_shed seconds on its client; never fresh, never one inside a callback. */
static struct http_conn *shed_candidate(struct http_server *s, const struct http_conn *fresh)
{
	for (struct clink *k = s->idle.first; k; k = k->next) {
		struct http_conn *c = DF_CONTAINER_OF(k, struct http_conn, idle);
		if (c != fresh && !c->busy)
			return c;
	}
	double now = monotime_now();
	for (struct clink *k = s->stalled.first; k; k = k->next) {
		struct http_conn *c = DF_CONTAINER_OF(k, struct http_conn, stalled);
		if (now - c->to.last < s->cfg.stall_shed)
			return NULL; /* the rest made progress later */
		if (!c->busy)
			return c;
	}
	return NULL;
}

/* Progress on a live exchange's socket: its timeout restarts and it goes to the end of the line. */
static void progress(struct http_conn *c)
{
	loop_timeout_touch(c->s->loop, &c->to);
	if (c->stalled.on)
		clist_append(&c->s->stalled, &c->stalled);
}

/* Whether the live exchange waits on the client (io_timeout runs, a candidate once stalled). */
static void set_to_io(struct http_conn *c, int on)
{
	c->to_io = on;
	if (on)
		clist_append(&c->s->stalled, &c->stalled);
	else
		clist_remove(&c->s->stalled, &c->stalled);
}

/* Accepting pauses while the server is at its connection limit with no connection it could close
 * for a newcomer (every one has a live exchange), and resumes as soon as it has one or room. */
static void limit_check(struct http_server *s)
{
	if (s->stopping) { /* no listeners left to pause or resume, no timer to keep the loop alive */
		ev_timer_stop(s->loop, &s->recheck);
		return;
	}
	int full = s->st.conns >= s->cfg.max_conns && !shed_candidate(s, NULL);
	if (full && !s->paused) {
		double now = monotime_now();
		if (now - s->pause_logged >= 10) {
			s->pause_logged = now;
			log_warn("%s server: %d connections open, its limit, all busy: not accepting more until "
				 "one finishes",
				 s->cfg.name ? s->cfg.name : "HTTP", s->st.conns);
		}
		s->paused = 1;
		for (int i = 0; i < s->nls; i++)
			loop_listener_pause(s->ls[i]);
		ev_timer_again(s->loop, &s->recheck);
	} else if (!full && s->paused) {
		s->paused = 0;
		ev_timer_stop(s->loop, &s->recheck);
		for (int i = 0; i < s->nls; i++)
			loop_listener_resume(s->ls[i]);
	}
}

static void recheck_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	limit_check(DF_CONTAINER_OF(w, struct http_server, recheck));
}

static void set_state(struct http_conn *c, int state)
{
	c->state = state;
	if (state == C_REQ)
		clist_remove(&c->s->idle, &c->idle);
	else
		clist_append(&c->s->idle, &c->idle);
	limit_check(c->s);
}

/* --- small helpers ------------------------------------------------------------------------------ */

static struct http_conn *conn_of(struct http_req *req)
{
	return DF_CONTAINER_OF(req, struct http_conn, req);
}

static void kick(struct http_conn *c, double after)
{
	ev_timer_stop(c->s->loop, &c->kick);
	ev_timer_set(&c->kick, after, 0);
	ev_timer_start(c->s->loop, &c->kick);
}

static size_t out_pending(const struct http_conn *c)
{
	return c->out_len - c->out_off;
}

static size_t frame_pending(const struct http_conn *c)
{
	return c->x.frame_len - c->x.frame_off;
}

static void frame_append(struct http_conn *c, const char *p, size_t n)
{
	struct exch *x = &c->x;
	if (x->frame_off == x->frame_len)
		x->frame_off = x->frame_len = 0;
	if (x->frame_len + n > FRAME_CAP) {
		memmove(x->frame, x->frame + x->frame_off, x->frame_len - x->frame_off);
		x->frame_len -= x->frame_off;
		x->frame_off = 0;
	}
	memcpy(x->frame + x->frame_len, p, n); /* at most 2 + 18 + 5 bytes are ever owed */
	x->frame_len += n;
}

/* Appends to the output queue; DF_ERR when it does not fit. */
static int out_append(struct http_conn *c, const char *p, size_t n)
{
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > OUT_CAP && c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n > OUT_CAP)
		return DF_ERR;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return DF_OK;
}

static ssize_t send_iov(struct http_conn *c, const struct iovec *iov, int n)
{
	ssize_t r = transport_writev(c->t, iov, n);
	if (r == DF_AGAIN)
		c->wr_wait = transport_wait_events(c->t, EV_WRITE);
	else if (r > 0)
		c->wr_wait = EV_WRITE;
	return r;
}

/* Takes n written bytes off the output queue; returns what is left of n for the data after it. */
static size_t consume_out(struct http_conn *c, size_t n)
{
	size_t k = DF_MIN(n, out_pending(c));
	c->out_off += k;
	return n - k;
}

static size_t consume_frame(struct http_conn *c, size_t n)
{
	size_t k = DF_MIN(n, frame_pending(c));
	c->x.frame_off += k;
	return n - k;
}

/* Leaves tx_limit's line (when in it); a new head is woken to take its turn (line_wake). */
static void line_leave(struct http_conn *c)
{
	if (c->s->cfg.tx_limit)
		ratelimit_line_leave(c->s->cfg.tx_limit, &c->rlw);
}

static void line_wake(struct ratelimit_waiter *w)
{
	kick(DF_CONTAINER_OF(w, struct http_conn, rlw), 0);
}

/* Upload tokens for up to want bytes; 0 means wait (the kick timer is armed). Uploads take the
 * bucket in turn (core/ratelimit.h), a whole turn at a time: a starved upload would be a peer's
 * piece missing its deadline, charged to this host. */
static uint64_t rate_take(struct http_conn *c, uint64_t want)
{
	struct ratelimit *rl = c->s->cfg.tx_limit;
	if (!rl)
		return want;
	double now = monotime_now();
	want = DF_MIN(want, ratelimit_turn_bytes(rl));
	uint64_t got =
		ratelimit_turn(rl, &c->rlw) && ratelimit_wait(rl, now, want) <= 0 ? ratelimit_take(rl, now, want) : 0;
	if (!got) {
		ratelimit_line_join(rl, &c->rlw);
		/* one behind the head is woken when its turn comes; the look 4 times a second also
		 * covers a rate changed meanwhile */
		double w = ratelimit_turn(rl, &c->rlw) ? ratelimit_wait(rl, now, want) : 0.25;
		c->rate_paused = 1;
		kick(c, DF_MIN(DF_MAX(w, 0.001), 0.25));
		return 0;
	}
	line_leave(c);
	return got;
}

/* Gives back tokens granted but not sent (the socket took less). */
static void rate_refund(struct http_conn *c, uint64_t granted, uint64_t sent)
{
	if (c->s->cfg.tx_limit && granted > sent)
		ratelimit_refund(c->s->cfg.tx_limit, granted - sent);
}

static const char *http_date(struct http_server *s)
{
	time_t now = time(NULL); /* a date: the wall clock */
	if (now != s->date_t) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(s->date, sizeof s->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		s->date_t = now;
	}
	return s->date;
}

/* --- the exchange's end ------------------------------------------------------------------------- */

static void release_reply(struct http_conn *c)
{
	if (c->x.fd >= 0) {
		close(c->x.fd);
		c->x.fd = -1;
	}
	free(c->x.mem_owned);
	c->x.mem_owned = NULL;
}

/* Tells the application the exchange is over (once) and forgets the request. */
static void finish_exchange(struct http_conn *c, int ok)
{
	release_reply(c);
	if (!c->x.active)
		return;
	c->x.active = 0;
	void (*fn)(struct http_req *, int, void *) = c->x.done;
	c->x.done = NULL;
	if (fn) {
		c->busy++;
		fn(&c->req, ok, c->x.done_ctx);
		c->busy--;
	}
}

static void reset_exchange(struct http_conn *c)
{
	line_leave(c);
	release_reply(c);
	memset(&c->x, 0, sizeof c->x);
	c->x.fd = -1;
	c->rate_paused = 0;
}

/* The reply went out: next request, discard the rest of the body, or close. */
static void next_request(struct http_conn *c)
{
	size_t left = c->in_len - c->in_off;
	memmove(c->in, c->in + c->in_off, left);
	c->in_len = left;
	c->in_off = c->head_len = 0;
	reset_exchange(c);
	set_state(c, C_HEAD);
	set_to_io(c, 0);
	loop_timeout_set(c->s->loop, &c->to, left ? c->s->cfg.head_timeout : c->s->cfg.idle_timeout);
}

static void start_linger(struct http_conn *c)
{
	c->t->ops->shutdown(c->t);
	set_state(c, C_LINGER);
	set_to_io(c, 0);
	loop_timeout_set(c->s->loop, &c->to, LINGER_SECONDS);
}

static void reply_done(struct http_conn *c)
{
	finish_exchange(c, 1);
	if (c->dead)
		return;
	c->x.kind = R_NONE;
	if (!c->x.keep_alive || c->peer_eof || c->s->stopping) {
		start_linger(c);
		return;
	}
	if (c->x.body == B_NONE || c->x.body == B_DONE) {
		next_request(c);
		return;
	}
	c->x.body = B_DISCARD;
	c->x.on_data = NULL;
}

/* --- reply heads -------------------------------------------------------------------------------- */

#define LEN_CHUNKED (-1)
#define LEN_CLOSE (-2)
#define LEN_NONE (-3)

static int format_head(struct http_conn *c, int status, const char *extra, int64_t length)
{
	struct exch *x = &c->x;
	int body_unread = x->body != B_NONE && x->body != B_DONE;
	if (c->s->stopping || length == LEN_CLOSE)
		x->keep_alive = 0;
	if (body_unread && ((x->body == B_WAIT && c->req.fr.expect_continue && !x->expect_sent) ||
			    (!c->req.fr.chunked && x->body_left > DRAIN_MAX)))
		x->keep_alive = 0; /* not worth reading a body nobody wants: close instead */
	char head[OUT_CAP];
	int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%s%s%s", status, http_reason(status),
			 http_date(c->s), c->s->cfg.name ? "Server: " : "", c->s->cfg.name ? c->s->cfg.name : "",
			 c->s->cfg.name ? "\r\n" : "", extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof head)
		return DF_ERR;
	size_t len = (size_t)n;
	int m = 0;
	if (length >= 0)
		m = snprintf(head + len, sizeof head - len, "Content-Length: %lld\r\n", (long long)length);
	else if (length == LEN_CHUNKED)
		m = snprintf(head + len, sizeof head - len, "Transfer-Encoding: chunked\r\n");
	if (m < 0 || (size_t)m >= sizeof head - len)
		return DF_ERR;
	len += (size_t)m;
	const char *conn = !x->keep_alive           ? "Connection: close\r\n\r\n"
			   : c->req.head.minor == 0 ? "Connection: keep-alive\r\n\r\n"
						    : "\r\n";
	m = snprintf(head + len, sizeof head - len, "%s", conn);
	if (m < 0 || (size_t)m >= sizeof head - len)
		return DF_ERR;
	len += (size_t)m;
	if (out_append(c, head, len) != DF_OK)
		return DF_ERR;
	x->started = 1;
	return DF_OK;
}

/* A request that cannot be served (malformed, too large, slow): answer and close. */
static void error_reply(struct http_conn *c, int status, const char *why)
{
	if (c->x.started) {
		conn_close(c);
		return;
	}
	finish_exchange(c, 0);
	if (c->dead)
		return;
	set_state(c, C_REQ);
	c->x.body = B_NONE;
	c->x.keep_alive = 0;
	c->x.kind = R_MEM;
	c->out_off = c->out_len = 0;
	char body[256];
	int n = snprintf(body, sizeof body, "%s\n", why ? why : http_reason(status));
	if (n < 0 || (size_t)n >= sizeof body)
		n = 0;
	if (format_head(c, status, "Content-Type: text/plain\r\n", n) != DF_OK ||
	    out_append(c, body, (size_t)n) != DF_OK) {
		conn_close(c);
		return;
	}
	log_debug("http: %d to client: %s", status, why ? why : "");
}

/* --- reading ------------------------------------------------------------------------------------ */

static const struct route *find_route(struct http_server *s, const struct http_head *h, int *method_mismatch)
{
	const struct route *best = NULL;
	*method_mismatch = 0;
	int is_head = slice_eq(h->method, "HEAD");
	for (const struct route *r = s->routes; r; r = r->next) {
		if (r->plen > h->path.n || memcmp(h->path.p, r->prefix, r->plen) != 0)
			continue;
		int ok = !r->method || slice_eq(h->method, r->method) || (is_head && strcmp(r->method, "GET") == 0);
		if (!ok) {
			*method_mismatch = 1;
			continue;
		}
		if (!best || r->plen > best->plen)
			best = r;
	}
	return best;
}

static void dispatch(struct http_conn *c, size_t head_len)
{
	struct http_server *s = c->s;
	struct http_head *h = &c->req.head;
	s->st.requests++;
	c->head_len = c->in_off = head_len;
	reset_exchange(c);
	if (http_request_framing(h, &c->req.fr) != DF_OK) {
		error_reply(c, h->err_status, h->err);
		return;
	}
	struct exch *x = &c->x;
	set_state(c, C_REQ);
	x->active = 1;
	x->keep_alive = c->req.fr.keep_alive && !s->stopping;
	x->is_head = slice_eq(h->method, "HEAD");
	x->body = c->req.fr.no_body ? B_NONE : B_WAIT;
	x->body_left = c->req.fr.content_length > 0 ? (uint64_t)c->req.fr.content_length : 0;
	http_chunked_init(&x->ch);
	loop_timeout_stop(s->loop, &c->to);
	set_to_io(c, 0);
	int mismatch;
	const struct route *r = find_route(s, h, &mismatch);
	if (!r) {
		int st = mismatch ? 405 : 404;
		const char *msg = mismatch ? "method not allowed\n" : "not found\n";
		http_reply(&c->req, st, "Content-Type: text/plain\r\n", msg, strlen(msg));
		return;
	}
	c->busy++;
	r->fn(&c->req, r->ctx);
	c->busy--;
}

static int read_some(struct http_conn *c, size_t *got)
{
	ssize_t n = c->t->ops->read(c->t, c->in + c->in_len, c->cap - c->in_len);
	if (n > 0) {
		c->rd_wait = EV_READ;
		c->in_len += (size_t)n;
		*got = (size_t)n;
		return DF_OK;
	}
	if (n == DF_AGAIN) {
		c->rd_wait = transport_wait_events(c->t, EV_READ);
		return DF_AGAIN;
	}
	*got = 0;
	return n == 0 ? DF_OK : DF_ERR; /* DF_OK with *got 0: end of stream */
}

/* C_HEAD: read until a whole head is in; returns 1 when the state changed. */
static int read_head(struct http_conn *c)
{
	struct http_server *s = c->s;
	for (;;) {
		if (c->in_len) {
			int rc = http_parse_request(c->in, c->in_len, &c->req.head, c->hdrs, s->cfg.max_headers);
			if (rc > 0 && (size_t)rc > c->cap - BODY_ROOM) {
				error_reply(c, 431, "request head too large");
				return 1;
			}
			if (rc > 0) {
				dispatch(c, (size_t)rc);
				return 1;
			}
			if (rc == DF_ERR) {
				error_reply(c, c->req.head.err_status, c->req.head.err);
				return 1;
			}
			if (c->in_len == c->cap) {
				error_reply(c, 431, "request head too large");
				return 1;
			}
		}
		size_t was = c->in_len, got;
		int rc = read_some(c, &got);
		if (rc == DF_AGAIN)
			return 0;
		if (rc == DF_ERR || !got) {
			conn_close(c); /* a client closing between requests, or mid-head: nothing to answer */
			return 0;
		}
		if (!was)
			loop_timeout_set(s->loop, &c->to, s->cfg.head_timeout);
	}
}

/* Hands buffered body bytes to the consumer (or drops them); returns 1 when the state changed. */
static int deliver(struct http_conn *c)
{
	struct exch *x = &c->x;
	for (;;) {
		int complete = c->req.fr.chunked ? x->ch.done : x->body_left == 0;
		if (complete) {
			if (x->body == B_DISCARD) {
				x->body = B_DONE;
				next_request(c);
				return 1;
			}
			x->body = B_DONE;
			if (x->on_end) {
				c->busy++;
				x->on_end(&c->req, x->body_ctx);
				c->busy--;
			}
			return 1;
		}
		if (c->in_off == c->in_len) {
			c->in_off = c->in_len = c->head_len; /* all consumed: reuse the room after the head */
			return 0;
		}
		const char *p = c->in + c->in_off;
		size_t avail = c->in_len - c->in_off;
		struct slice d;
		if (c->req.fr.chunked) {
			ssize_t r = http_chunked_decode(&x->ch, p, avail, &d);
			if (r < 0) {
				error_reply(c, 400, x->ch.err);
				return 1;
			}
			c->in_off += (size_t)r;
		} else {
			size_t k = (size_t)DF_MIN((uint64_t)avail, x->body_left);
			d = (struct slice){p, k};
			x->body_left -= k;
			c->in_off += k;
		}
		if (!d.n)
			continue;
		if (x->body == B_DISCARD) {
			x->drained += d.n;
			if (x->drained > DRAIN_MAX) {
				conn_close(c);
				return 1;
			}
			continue;
		}
		c->busy++;
		int rc = x->on_data(&c->req, d.p, d.n, x->body_ctx);
		c->busy--;
		if (c->dead)
			return 1;
		if (rc == DF_ERR) {
			conn_close(c);
			return 1;
		}
		if (rc == DF_AGAIN || x->body != B_READ) {
			if (x->body == B_READ)
				x->body = B_PAUSED;
			x->body_complete = c->req.fr.chunked ? x->ch.done : x->body_left == 0;
			return 1;
		}
	}
}

/* C_REQ: deliver or drop body bytes, buffer ahead, notice the client leaving. */
static int read_req(struct http_conn *c)
{
	struct exch *x = &c->x;
	for (;;) {
		int consuming = x->body == B_READ || x->body == B_DISCARD;
		if (consuming && deliver(c))
			return 1;
		if (c->dead || c->peer_eof)
			return 0;
		if (c->in_len == c->cap)
			return 0; /* paused or not yet wanted, and the buffer is full: backpressure */
		size_t got;
		int rc = read_some(c, &got);
		if (rc == DF_AGAIN)
			return 0;
		if (rc == DF_ERR) {
			conn_close(c);
			return 0;
		}
		if (!got) {
			c->peer_eof = 1;
			int body_open = x->body != B_NONE && x->body != B_DONE;
			if (body_open || !x->started) {
				conn_close(c); /* the client left before its body or our reply was through */
				return 0;
			}
			return 0;
		}
		if (consuming)
			progress(c);
	}
}

static int read_linger(struct http_conn *c)
{
	char sink[4096];
	for (;;) {
		ssize_t n = c->t->ops->read(c->t, sink, sizeof sink);
		if (n == DF_AGAIN) {
			c->rd_wait = transport_wait_events(c->t, EV_READ);
			return 0;
		}
		if (n <= 0) {
			conn_close(c);
			return 0;
		}
	}
}

/* --- writing ------------------------------------------------------------------------------------ */

/* Writes the output queue, then `data` (may be empty) in the same call. Returns bytes of data
 * written (>= 0), DF_AGAIN when the queue is not through, or DF_ERR. */
static ssize_t write_with_queue(struct http_conn *c, const void *data, size_t len, const char *suffix, size_t slen,
				size_t *suffix_done)
{
	struct iovec iov[4];
	int n = 0;
	if (out_pending(c))
		iov[n++] = (struct iovec){c->out + c->out_off, out_pending(c)};
	if (frame_pending(c))
		iov[n++] = (struct iovec){c->x.frame + c->x.frame_off, frame_pending(c)};
	if (len)
		iov[n++] = (struct iovec){(void *)data, len};
	if (slen)
		iov[n++] = (struct iovec){(void *)suffix, slen};
	if (suffix_done)
		*suffix_done = 0;
	if (!n)
		return 0;
	ssize_t w = send_iov(c, iov, n);
	if (w < 0)
		return w;
	size_t rest = consume_frame(c, consume_out(c, (size_t)w));
	if (out_pending(c) || frame_pending(c))
		return DF_AGAIN;
	size_t d = DF_MIN(rest, len);
	if (suffix_done)
		*suffix_done = rest - d;
	if (d)
		progress(c);
	return (ssize_t)d;
}

/* Pushes out bytes buffered in the transport (TLS records); DF_OK when nothing is left. */
static int flush_transport(struct http_conn *c)
{
	int r = c->t->ops->flush(c->t);
	if (r == DF_AGAIN)
		c->wr_wait = transport_wait_events(c->t, EV_WRITE);
	return r;
}

/* Returns 1 when the reply completed (the state changed). */
static int write_side(struct http_conn *c)
{
	struct exch *x = &c->x;
	if (c->state == C_LINGER || c->rate_paused)
		return 0;
	for (;;) {
		if (x->failed) {
			conn_close(c);
			return 1;
		}
		ssize_t w;
		switch (x->kind) {
		case R_NONE:
			/* only a 100 Continue may be queued */
			if (out_pending(c) && write_with_queue(c, NULL, 0, NULL, 0, NULL) == DF_ERR) {
				conn_close(c);
				return 1;
			}
			return 0;
		case R_MEM: {
			uint64_t grant = x->mem_len ? rate_take(c, DF_MIN((uint64_t)x->mem_len, (uint64_t)1 << 20)) : 0;
			if (x->mem_len && !grant)
				return 0;
			w = write_with_queue(c, x->mem, (size_t)grant, NULL, 0, NULL);
			rate_refund(c, grant, w > 0 ? (uint64_t)w : 0);
			if (w == DF_ERR) {
				conn_close(c);
				return 1;
			}
			if (w == DF_AGAIN)
				return 0;
			if (w) {
				x->mem += w;
				x->mem_len -= (size_t)w;
			}
			c->s->st.bytes_out += (uint64_t)w;
			if (x->mem_len && (uint64_t)w < grant)
				return 0; /* partial: the socket is full */
			if (x->mem_len)
				continue;
			break;
		}
		case R_FILE:
			w = write_with_queue(c, NULL, 0, NULL, 0, NULL);
			if (w == DF_ERR) {
				conn_close(c);
				return 1;
			}
			if (w == DF_AGAIN)
				return 0;
			while (x->file_left) {
				uint64_t grant = rate_take(c, DF_MIN(x->file_left, (uint64_t)1 << 30));
				if (!grant)
					return 0;
				ssize_t n = c->t->ops->sendfile(c->t, x->fd, &x->file_off, (size_t)grant);
				rate_refund(c, grant, n > 0 ? (uint64_t)n : 0);
				if (n == DF_AGAIN) {
					c->wr_wait = transport_wait_events(c->t, EV_WRITE);
					return 0;
				}
				if (n <= 0) {
					log_debug("http: sendfile: %s",
						  n == 0 ? "file shorter than announced" : strerror(errno));
					conn_close(c);
					return 1;
				}
				x->file_left -= (uint64_t)n;
				c->s->st.bytes_out += (uint64_t)n;
				progress(c);
			}
			break;
		case R_STREAM:
			w = write_with_queue(c, NULL, 0, NULL, 0, NULL);
			if (w == DF_ERR) {
				conn_close(c);
				return 1;
			}
			if (w == DF_AGAIN)
				return 0;
			if (x->ended)
				break;
			if (!x->want_produce || c->rate_paused) {
				if (flush_transport(c) == DF_ERR) {
					conn_close(c);
					return 1;
				}
				return 0; /* idle until http_reply_ready */
			}
			x->want_produce = 0;
			c->busy++;
			x->produce(&c->req, x->produce_ctx);
			c->busy--;
			if (c->dead)
				return 1;
			if (x->ended || out_pending(c) || frame_pending(c))
				continue;
			return 0;
		}
		/* every byte is handed to the transport: push it out, then the reply is done */
		int f = flush_transport(c);
		if (f == DF_ERR) {
			conn_close(c);
			return 1;
		}
		if (f == DF_AGAIN)
			return 0;
		reply_done(c);
		return 1;
	}
}

/* --- the connection ----------------------------------------------------------------------------- */

static int wants_write(const struct http_conn *c)
{
	const struct exch *x = &c->x;
	if (c->state == C_LINGER || c->rate_paused)
		return 0;
	if (out_pending(c) || frame_pending(c))
		return 1;
	switch (x->kind) {
	case R_MEM: return 1;
	case R_FILE: return 1;
	case R_STREAM: return x->want_produce || x->ended;
	}
	return 0;
}

static int wants_read(const struct http_conn *c)
{
	if (c->state == C_LINGER)
		return 1;
	return !c->peer_eof && c->in_len < c->cap;
}

static void update_interest(struct http_conn *c)
{
	int w = wants_write(c);
	int ev = (wants_read(c) ? c->rd_wait : 0) | (w ? c->wr_wait : 0);
	if (ev != c->io_events) {
		ev_io_stop(c->s->loop, &c->io);
		ev_io_set(&c->io, c->t->fd, ev);
		if (ev)
			ev_io_start(c->s->loop, &c->io);
		c->io_events = ev;
	}
	if (c->state != C_REQ)
		return;
	/* a live exchange waiting on the socket has io_timeout; waiting on the application has none */
	int io_wait = w || c->x.body == B_READ || c->x.body == B_DISCARD;
	if (io_wait && !c->to_io) {
		loop_timeout_set(c->s->loop, &c->to, c->s->cfg.io_timeout);
		set_to_io(c, 1);
	} else if (!io_wait && c->to_io) {
		loop_timeout_stop(c->s->loop, &c->to);
		set_to_io(c, 0);
	}
}

static void conn_free(struct http_conn *c)
{
	struct http_server *s = c->s;
	free(c);
	if (s->stopping && !s->st.conns && !ev_is_active(&s->stop_kick))
		ev_timer_start(s->loop, &s->stop_kick);
}

static void conn_close(struct http_conn *c)
{
	if (c->dead)
		return;
	finish_exchange(c, 0);
	c->dead = 1;
	line_leave(c);
	struct http_server *s = c->s;
	clist_remove(&s->idle, &c->idle);
	clist_remove(&s->stalled, &c->stalled);
	ev_io_stop(s->loop, &c->io);
	ev_timer_stop(s->loop, &c->kick);
	loop_timeout_stop(s->loop, &c->to);
	release_reply(c);
	c->t->ops->close(c->t);
	if (c->on_close)
		c->on_close(c->owner);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->st.conns--;
	limit_check(s);
	if (!c->busy)
		conn_free(c);
}

/* Makes every step possible now. revents: what the socket reported (0: a kick, try everything); a
 * write wakeup does not try a read that would only say EAGAIN, and the reverse. */
static void drive(struct http_conn *c, int revents)
{
	c->busy++;
	int again = 0;
	for (int pass = 0; pass < 16 && !c->dead; pass++) {
		int all = pass > 0 || !revents;
		again = all || (revents & c->wr_wait) ? write_side(c) : 0;
		if (c->dead)
			break;
		if (!all && !(revents & c->rd_wait))
			goto next;
		switch (c->state) {
		case C_HEAD: again |= read_head(c); break;
		case C_REQ: again |= read_req(c); break;
		case C_LINGER: again |= read_linger(c); break;
		}
	next:
		if (!again)
			break;
	}
	if (!c->dead) {
		update_interest(c);
		if (again && !c->rate_paused)
			kick(c, 0); /* pipelined requests left over: continue on the next loop iteration */
	}
	c->busy--;
	if (c->dead && !c->busy)
		conn_free(c);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	drive(DF_CONTAINER_OF(w, struct http_conn, io), revents);
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct http_conn *c = DF_CONTAINER_OF(w, struct http_conn, kick);
	if (c->rate_paused) {
		c->rate_paused = 0;
		if (c->x.kind == R_STREAM)
			c->x.want_produce = 1;
	}
	drive(c, 0);
}

static void timeout_cb(struct ev_loop *loop, struct loop_timeout *t)
{
	(void)loop;
	struct http_conn *c = DF_CONTAINER_OF(t, struct http_conn, to);
	c->busy++;
	if (c->state == C_HEAD && c->in_len)
		error_reply(c, 408, "request head not received in time");
	else
		conn_close(c);
	c->busy--;
	if (c->dead && !c->busy)
		conn_free(c);
	else
		drive(c, 0);
}

/* A connection from peer, without its transport yet; NULL when out of memory. */
static struct http_conn *conn_alloc(struct http_server *s, const struct sockaddr *peer)
{
	/* one allocation: the struct, the input buffer, then the header table (aligned) */
	size_t hoff = (offsetof(struct http_conn, in) + s->cfg.buf_size + 15) & ~(size_t)15;
	struct http_conn *c = malloc(hoff + s->cfg.max_headers * sizeof(struct http_header));
	if (!c)
		return NULL;
	memset(c, 0, sizeof *c);
	c->s = s;
	c->rlw.wake = line_wake;
	c->cap = s->cfg.buf_size;
	c->hdrs = (struct http_header *)(void *)((char *)c + hoff);
	c->x.fd = -1;
	memcpy(&c->peer, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	return c;
}

/* Over the connection limit: closes the connection shed_candidate names (the one that waited longest
 * for a request head, or for a finished client's EOF, else the longest stalled exchange): what a
 * flood of connections that never ask for anything consists of. Pausing the listener instead would
 * let such a flood keep every real client out. */
static int shed_one(struct http_server *s, struct http_conn *fresh)
{
	struct http_conn *o = shed_candidate(s, fresh);
	if (!o)
		return 0;
	double now = monotime_now();
	if (!s->st.shed || now - s->shed_logged >= 10) {
		s->shed_logged = now;
		log_warn("%s server: %d connections open, its limit: closing those that wait longest for a "
			 "request (%llu so far)",
			 s->cfg.name ? s->cfg.name : "HTTP", s->st.conns, (unsigned long long)s->st.shed + 1);
	}
	s->st.shed++;
	conn_close(o);
	return 1;
}

/* Starts serving c over c->t: watchers, the head timeout, the list, the limit on connections. */
static void conn_start(struct http_conn *c)
{
	struct http_server *s = c->s;
	c->rd_wait = EV_READ;
	c->wr_wait = EV_WRITE;
	ev_io_init(&c->io, io_cb, c->t->fd, EV_READ);
	c->io_events = EV_READ;
	ev_io_start(s->loop, &c->io);
	ev_init(&c->kick, kick_cb);
	loop_timeout_init(&c->to, timeout_cb);
	loop_timeout_set(s->loop, &c->to, s->cfg.head_timeout);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->st.conns++;
	s->st.accepted++;
	set_state(c, C_HEAD);
	if (s->st.conns > s->cfg.max_conns)
		shed_one(s, c);
}

static void accept_cb(struct loop_listener *l, int fd, const struct sockaddr *peer, void *ctx)
{
	(void)l;
	struct http_server *s = ctx;
	struct http_conn *c = conn_alloc(s, peer);
	if (!c) {
		close(fd);
		return;
	}
	if (s->cfg.tls_accept) {
		c->t = s->cfg.tls_accept(s->cfg.tls_ctx, fd);
		if (!c->t) {
			close(fd);
			free(c);
			return;
		}
	} else {
		transport_plain_init(&c->plain, fd);
		c->t = &c->plain;
	}
	conn_start(c);
}

int http_server_adopt(struct http_server *s, struct transport *t, const struct sockaddr *peer,
		      void (*on_close)(void *ctx), void *ctx)
{
	struct http_conn *c = s->stopping ? NULL : conn_alloc(s, peer);
	if (!c) {
		t->ops->close(t);
		return DF_ERR;
	}
	c->t = t;
	c->on_close = on_close;
	c->owner = ctx;
	conn_start(c);
	kick(c, 0); /* the transport may have work already (a TLS engine holding the ClientHello) */
	return DF_OK;
}

/* --- the server --------------------------------------------------------------------------------- */

static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct http_server *s = DF_CONTAINER_OF(w, struct http_server, grace);
	while (s->conns && !s->conns->busy)
		conn_close(s->conns);
}

static void stop_kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct http_server *s = DF_CONTAINER_OF(w, struct http_server, stop_kick);
	ev_timer_stop(loop, &s->grace);
	void (*fn)(struct http_server *, void *) = s->stop_done;
	s->stop_done = NULL;
	if (fn)
		fn(s, s->stop_ctx);
}

struct http_server *http_server_new(struct ev_loop *loop, const struct http_server_cfg *cfg)
{
	struct http_server *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	loop_ignore_sigpipe();
	s->loop = loop;
	if (cfg)
		s->cfg = *cfg;
	if (!s->cfg.buf_size)
		s->cfg.buf_size = 16384;
	if (s->cfg.buf_size < 2 * BODY_ROOM)
		s->cfg.buf_size = 2 * BODY_ROOM;
	if (!s->cfg.max_headers)
		s->cfg.max_headers = 64;
	if (!s->cfg.max_conns) { /* reached before EMFILE: the store and the other servers keep the rest */
		long half = fd_limit() / 2;
		s->cfg.max_conns = (int)(half > 10000 ? 10000 : half < 64 ? 64 : half);
	}
	if (s->cfg.head_timeout <= 0)
		s->cfg.head_timeout = 10;
	if (s->cfg.idle_timeout <= 0)
		s->cfg.idle_timeout = 60;
	if (s->cfg.io_timeout <= 0)
		s->cfg.io_timeout = 60;
	if (s->cfg.stall_shed <= 0)
		s->cfg.stall_shed = 5;
	ev_timer_init(&s->grace, grace_cb, 0, 0);
	ev_timer_init(&s->stop_kick, stop_kick_cb, 0, 0);
	ev_init(&s->recheck, recheck_cb);
	s->recheck.repeat = 1;
	return s;
}

int http_server_listen(struct http_server *s, const char *addr, char *err, size_t errlen)
{
	if (s->nls == MAX_LISTENERS) {
		snprintf(err, errlen, "listen %s: too many listeners", addr);
		return DF_ERR;
	}
	struct loop_listener *l = loop_listen(s->loop, addr, accept_cb, s, err, errlen);
	if (!l)
		return DF_ERR;
	if (s->paused || s->stopping)
		loop_listener_pause(l);
	s->ls[s->nls++] = l;
	return DF_OK;
}

uint16_t http_server_port(const struct http_server *s)
{
	return s->nls ? loop_listener_port(s->ls[0]) : 0;
}

int http_server_route(struct http_server *s, const char *method, const char *prefix, http_handler_fn fn, void *ctx)
{
	struct route *r = calloc(1, sizeof *r);
	if (!r)
		return DF_ERR;
	r->prefix = strdup(prefix);
	r->method = method ? strdup(method) : NULL;
	if (!r->prefix || (method && !r->method)) {
		free(r->prefix);
		free(r->method);
		free(r);
		return DF_ERR;
	}
	r->plen = strlen(prefix);
	r->fn = fn;
	r->ctx = ctx;
	r->next = s->routes;
	s->routes = r;
	return DF_OK;
}

void http_server_shutdown(struct http_server *s, double grace, void (*done)(struct http_server *s, void *ctx),
			  void *ctx)
{
	s->stopping = 1;
	s->stop_done = done;
	s->stop_ctx = ctx;
	for (int i = 0; i < s->nls; i++)
		loop_listener_free(s->ls[i]);
	s->nls = 0;
	ev_timer_stop(s->loop, &s->recheck);
	/* idle connections go now; the others finish their exchange and close */
	for (struct http_conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (c->state == C_HEAD && !c->busy)
			conn_close(c);
	}
	if (!s->st.conns) {
		ev_timer_start(s->loop, &s->stop_kick);
		return;
	}
	ev_timer_set(&s->grace, grace > 0 ? grace : 0.001, 0);
	ev_timer_start(s->loop, &s->grace);
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nls; i++)
		loop_listener_free(s->ls[i]);
	s->nls = 0;
	s->stop_done = NULL;
	s->stopping = 1;
	while (s->conns)
		conn_close(s->conns);
	ev_timer_stop(s->loop, &s->grace);
	ev_timer_stop(s->loop, &s->stop_kick);
	ev_timer_stop(s->loop, &s->recheck);
	for (struct route *r = s->routes, *n; r; r = n) {
		n = r->next;
		free(r->prefix);
		free(r->method);
		free(r);
	}
	free(s);
}

void http_server_get_stats(const struct http_server *s, struct http_server_stats *out)
{
	*out = s->st;
}

/* --- the request API ---------------------------------------------------------------------------- */

const struct http_head *http_req_head(const struct http_req *req)
{
	return &req->head;
}

struct slice http_req_header(const struct http_req *req, const char *name)
{
	return http_header_get(req->head.headers, req->head.nheaders, name);
}

int64_t http_req_body_length(const struct http_req *req)
{
	return req->fr.chunked ? -1 : req->fr.content_length;
}

void *http_req_conn_ctx(struct http_req *req)
{
	return conn_of(req)->owner;
}

const struct sockaddr *http_req_peer(const struct http_req *req)
{
	return (const struct sockaddr *)&conn_of((struct http_req *)req)->peer;
}

int http_req_is_head(const struct http_req *req)
{
	return conn_of((struct http_req *)req)->x.is_head;
}

void http_req_on_done(struct http_req *req, void (*fn)(struct http_req *req, int ok, void *ctx), void *ctx)
{
	struct http_conn *c = conn_of(req);
	c->x.done = fn;
	c->x.done_ctx = ctx;
}

void http_req_read_body(struct http_req *req, http_body_fn on_data, void (*on_end)(struct http_req *req, void *ctx),
			void *ctx)
{
	struct http_conn *c = conn_of(req);
	struct exch *x = &c->x;
	if (!x->active || (x->body != B_WAIT && x->body != B_NONE))
		return;
	x->on_data = on_data;
	x->on_end = on_end;
	x->body_ctx = ctx;
	x->body = B_READ;
	if (c->req.fr.expect_continue && c->req.head.minor >= 1 && !x->started && c->in_len == c->head_len) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		if (out_append(c, cont, sizeof cont - 1) == DF_OK)
			x->expect_sent = 1;
	}
	kick(c, 0);
}

void http_req_resume(struct http_req *req)
{
	struct http_conn *c = conn_of(req);
	if (c->x.body != B_PAUSED)
		return;
	c->x.body = B_READ;
	kick(c, 0);
}

static int can_reply(struct http_conn *c)
{
	return c->x.active && !c->x.started && !c->dead;
}

int http_reply(struct http_req *req, int status, const char *extra, const void *body, size_t len)
{
	struct http_conn *c = conn_of(req);
	if (!can_reply(c))
		return DF_ERR;
	int nobody = status < 200 || status == 204 || status == 304;
	if (format_head(c, status, extra, nobody ? LEN_NONE : (int64_t)len) != DF_OK)
		return DF_ERR;
	struct exch *x = &c->x;
	x->kind = R_MEM;
	if (!c->x.is_head && !nobody && len) {
		if (out_append(c, body, len) == DF_OK) {
			c->s->st.bytes_out += len;
		} else {
			x->mem_owned = malloc(len);
			if (!x->mem_owned) {
				c->out_off = c->out_len = 0;
				x->started = 0;
				return DF_ERR;
			}
			memcpy(x->mem_owned, body, len);
			x->mem = x->mem_owned;
			x->mem_len = len;
		}
	}
	kick(c, 0);
	return DF_OK;
}

int http_reply_file(struct http_req *req, int status, const char *extra, int fd, off_t off, uint64_t len)
{
	struct http_conn *c = conn_of(req);
	if (!can_reply(c) || format_head(c, status, extra, (int64_t)len) != DF_OK) {
		close(fd);
		return DF_ERR;
	}
	struct exch *x = &c->x;
	x->kind = R_FILE;
	x->fd = fd;
	x->file_off = off;
	x->file_left = x->is_head ? 0 : len;
	kick(c, 0);
	return DF_OK;
}

int http_reply_file_range(struct http_req *req, const char *extra, int fd, uint64_t size)
{
	char hdr[OUT_CAP];
	struct slice rv = http_req_header(req, "range");
	struct http_range r;
	uint64_t start = 0, end = size ? size - 1 : 0;
	const char *ex = extra ? extra : "";
	if (rv.p && http_range_parse(rv, &r) == DF_OK) {
		if (http_range_resolve(&r, size, &start, &end) != DF_OK) {
			close(fd);
			int n = snprintf(hdr, sizeof hdr, "%sContent-Range: bytes */%llu\r\n", ex,
					 (unsigned long long)size);
			if (n < 0 || (size_t)n >= sizeof hdr)
				return DF_ERR;
			return http_reply(req, 416, hdr, NULL, 0);
		}
		int n = snprintf(hdr, sizeof hdr, "%sAccept-Ranges: bytes\r\nContent-Range: bytes %llu-%llu/%llu\r\n",
				 ex, (unsigned long long)start, (unsigned long long)end, (unsigned long long)size);
		if (n < 0 || (size_t)n >= sizeof hdr) {
			close(fd);
			return DF_ERR;
		}
		return http_reply_file(req, 206, hdr, fd, (off_t)start, end - start + 1);
	}
	int n = snprintf(hdr, sizeof hdr, "%sAccept-Ranges: bytes\r\n", ex);
	if (n < 0 || (size_t)n >= sizeof hdr) {
		close(fd);
		return DF_ERR;
	}
	return http_reply_file(req, 200, hdr, fd, 0, size);
}

int http_reply_start(struct http_req *req, int status, const char *extra, int64_t length, http_produce_fn on_writable,
		     void *ctx)
{
	struct http_conn *c = conn_of(req);
	if (!can_reply(c))
		return DF_ERR;
	struct exch *x = &c->x;
	int64_t hl = length;
	if (length < 0)
		hl = c->req.head.minor >= 1 ? LEN_CHUNKED : LEN_CLOSE;
	if (format_head(c, status, extra, hl) != DF_OK)
		return DF_ERR;
	x->kind = R_STREAM;
	x->slen = length < 0 ? -1 : length;
	x->chunked = hl == LEN_CHUNKED;
	x->produce = on_writable;
	x->produce_ctx = ctx;
	x->want_produce = 1;
	kick(c, 0);
	return DF_OK;
}

static int stream_ok(struct http_conn *c)
{
	return c->x.active && c->x.kind == R_STREAM && !c->x.ended && !c->dead && !c->x.failed;
}

/* The failure of a write made from application context: drive() closes and reports it. */
static ssize_t stream_fail(struct http_conn *c)
{
	c->x.failed = 1;
	kick(c, 0);
	return DF_ERR;
}

/* How much of len may go now: the announced length, the current chunk, the upload rate. 0: wait. */
static ssize_t stream_budget(struct http_conn *c, size_t len)
{
	struct exch *x = &c->x;
	if (x->slen >= 0 && len > (uint64_t)x->slen - x->ssent)
		return DF_ERR;
	if (!len || c->rate_paused)
		return 0;
	size_t want = len;
	if (x->chunked && x->chunk_left)
		want = (size_t)DF_MIN((uint64_t)want, x->chunk_left);
	uint64_t grant = rate_take(c, want);
	if (!grant) {
		x->want_produce = 1;
		return 0;
	}
	if (x->chunked && !x->chunk_left) {
		char line[HTTP_CHUNK_LINE_MAX];
		frame_append(c, line, http_chunk_line(line, grant));
		x->chunk_left = grant;
	}
	return (ssize_t)grant;
}

/* Book-keeping after d data bytes went out (crlf_done of the chunk's CRLF, when known). */
static void stream_advance(struct http_conn *c, size_t d, size_t crlf_done)
{
	struct exch *x = &c->x;
	x->ssent += d;
	c->s->st.bytes_out += d;
	if (x->chunked && d) {
		x->chunk_left -= d;
		if (!x->chunk_left && crlf_done < 2)
			frame_append(c, &"\r\n"[crlf_done], 2 - crlf_done);
	}
}

ssize_t http_reply_write(struct http_req *req, const void *buf, size_t len)
{
	struct http_conn *c = conn_of(req);
	if (!stream_ok(c))
		return DF_ERR;
	if (c->x.is_head)
		return (ssize_t)len;
	ssize_t want = stream_budget(c, len);
	if (want <= 0)
		return want;
	int completes = c->x.chunked && (uint64_t)want == c->x.chunk_left;
	size_t crlf_done = 0;
	ssize_t d = write_with_queue(c, buf, (size_t)want, "\r\n", completes ? 2 : 0, &crlf_done);
	if (d == DF_ERR)
		return stream_fail(c);
	if (d == DF_AGAIN)
		d = 0;
	rate_refund(c, (uint64_t)want, (uint64_t)d);
	stream_advance(c, (size_t)d, completes && d == want ? crlf_done : 0);
	if ((size_t)d < len)
		c->x.want_produce = 1; /* the socket is full: call the producer when it drains */
	update_interest(c);
	return d;
}

ssize_t http_reply_sendfile(struct http_req *req, int fd, off_t off, size_t len)
{
	struct http_conn *c = conn_of(req);
	if (!stream_ok(c))
		return DF_ERR;
	if (c->x.is_head)
		return (ssize_t)len;
	ssize_t want = stream_budget(c, len);
	if (want <= 0)
		return want;
	ssize_t d = 0;
	ssize_t q = write_with_queue(c, NULL, 0, NULL, 0, NULL);
	if (q == DF_ERR)
		return stream_fail(c);
	if (q != DF_AGAIN) {
		d = c->t->ops->sendfile(c->t, fd, &off, (size_t)want);
		if (d == DF_AGAIN) {
			c->wr_wait = transport_wait_events(c->t, EV_WRITE);
			d = 0;
		} else if (d <= 0) {
			return stream_fail(c);
		} else {
			progress(c);
		}
	}
	rate_refund(c, (uint64_t)want, (uint64_t)d);
	stream_advance(c, (size_t)d, 0);
	if ((size_t)d < len)
		c->x.want_produce = 1;
	update_interest(c);
	return d;
}

void http_reply_ready(struct http_req *req)
{
	struct http_conn *c = conn_of(req);
	if (!stream_ok(c) || c->x.want_produce)
		return;
	c->x.want_produce = 1;
	if (!c->busy)
		update_interest(c);
}

int http_reply_end(struct http_req *req)
{
	struct http_conn *c = conn_of(req);
	if (!stream_ok(c))
		return DF_ERR;
	struct exch *x = &c->x;
	x->ended = 1;
	x->want_produce = 0;
	if (!x->is_head && ((x->slen >= 0 && x->ssent < (uint64_t)x->slen) || (x->chunked && x->chunk_left))) {
		stream_fail(c); /* a short body: the client must see the connection close */
		return DF_ERR;
	}
	if (x->chunked && !x->is_head)
		frame_append(c, DF_LIT("0\r\n\r\n"));
	if (x->slen < 0 && !x->chunked)
		x->keep_alive = 0;
	kick(c, 0);
	return DF_OK;
}

void http_reply_abort(struct http_req *req)
{
	struct http_conn *c = conn_of(req);
	if (!c->x.active || c->dead)
		return;
	c->x.failed = 1;
	c->x.keep_alive = 0;
	kick(c, 0);
}

int http_req_detach(struct http_req *req, int *fd, char *buf, size_t cap, size_t *len)
{
	struct http_conn *c = conn_of(req);
	size_t extra = c->in_len - c->head_len;
	if (!c->x.active || c->x.started || c->dead || c->t != &c->plain || !c->req.fr.no_body || extra > cap)
		return DF_ERR;
	memcpy(buf, c->in + c->head_len, extra);
	*len = extra;
	*fd = c->plain.fd;
	c->plain.fd = -1; /* conn_close closes nothing now */
	conn_close(c);
	return DF_OK;
}
