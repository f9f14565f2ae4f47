/* Shared by the HTTP unit tests: one libev loop, run until a flag or a watchdog, a server on a free
 * loopback port, and a raw client that writes bytes and collects the answer until EOF. Included
 * (not linked) by each test_http_*.c, so everything here is static. */
#ifndef DF_TEST_HTTP_HARNESS_H
#define DF_TEST_HTTP_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http_client.h"
#include "net/http_server.h"
#include "test/unit/unit.h"

static struct ev_loop *L;
static int watchdog_fired;

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	watchdog_fired = 1;
}

/* Runs the loop until *flag is non-zero; 0 when the watchdog (max seconds) fired first. The watchdog
 * only catches hangs: no test asserts on how long something took, except lower bounds. */
static int run_until(const int *flag, double max)
{
	ev_timer wd;
	watchdog_fired = 0;
	ev_timer_init(&wd, watchdog_cb, max, 0);
	ev_timer_start(L, &wd);
	while (!*flag && !watchdog_fired)
		ev_run(L, EVRUN_ONCE);
	ev_timer_stop(L, &wd);
	if (!*flag)
		fprintf(stderr, "    watchdog fired after %g s\n", max);
	return *flag != 0;
}

/* Runs the loop until pred(arg) holds; 0 when the watchdog fired first. */
static int run_until_pred(int (*pred)(void *arg), void *arg, double max)
{
	ev_timer wd;
	watchdog_fired = 0;
	ev_timer_init(&wd, watchdog_cb, max, 0);
	ev_timer_start(L, &wd);
	while (!pred(arg) && !watchdog_fired)
		ev_run(L, EVRUN_ONCE);
	ev_timer_stop(L, &wd);
	return pred(arg);
}

/* Lets the loop turn for a while (to let closes and timers settle). */
static __attribute__((unused)) void spin(double seconds)
{
	int never = 0;
	ev_timer wd;
	watchdog_fired = 0;
	ev_timer_init(&wd, watchdog_cb, seconds, 0);
	ev_timer_start(L, &wd);
	while (!never && !watchdog_fired)
		ev_run(L, EVRUN_ONCE);
	ev_timer_stop(L, &wd);
}

static struct http_server *server(const struct http_server_cfg *cfg, uint16_t *port)
{
	if (!L)
		L = ev_default_loop(EVFLAG_AUTO);
	struct http_server *s = http_server_new(L, cfg);
	char err[256];
	CHECK(s != NULL);
	CHECK_EQ(http_server_listen(s, "127.0.0.1:0", err, sizeof err), DF_OK);
	*port = http_server_port(s);
	CHECK(*port != 0);
	return s;
}

/* --- a raw client: exact bytes out, everything in until EOF ------------------------------------- */

struct raw {
	ev_io io;
	int fd;
	const char *req;
	size_t len, off;
	size_t n;
	int done;
	int shut;          /* shutdown(SHUT_WR) after sending */
	char buf[1 << 20]; /* last: raw_start clears everything before it */
};

static void raw_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct raw *r = DF_CONTAINER_OF(w, struct raw, io);
	if ((revents & EV_WRITE) && r->off < r->len) {
		ssize_t k = write(r->fd, r->req + r->off, r->len - r->off);
		if (k > 0)
			r->off += (size_t)k;
		if (r->off == r->len) {
			if (r->shut)
				shutdown(r->fd, SHUT_WR);
			ev_io_stop(loop, w);
			ev_io_set(w, r->fd, EV_READ);
			ev_io_start(loop, w);
		}
	}
	if (revents & EV_READ) {
		ssize_t k = read(r->fd, r->buf + r->n, sizeof r->buf - 1 - r->n);
		if (k > 0) {
			r->n += (size_t)k;
			r->buf[r->n] = 0;
		} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
			ev_io_stop(loop, w);
			close(r->fd);
			r->done = 1;
		}
	}
}

static int raw_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		perror("raw connect");
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Starts sending req (kept by the caller) on a new connection; r->done once the server closed. */
static void raw_start(struct raw *r, uint16_t port, const char *req, size_t len)
{
	memset(r, 0, offsetof(struct raw, buf));
	r->buf[0] = 0;
	r->fd = raw_connect(port);
	r->req = req;
	r->len = len;
	ev_io_init(&r->io, raw_cb, r->fd, len ? EV_WRITE : EV_READ);
	ev_io_start(L, &r->io);
}

#define RAW(r, port, s) raw_start((r), (port), (s), strlen(s))

/* Sends req and returns everything the server sent until it closed (NULL on a hang). */
static __attribute__((unused)) const char *raw_exchange(struct raw *r, uint16_t port, const char *req, double max)
{
	raw_start(r, port, req, strlen(req));
	if (!run_until(&r->done, max)) {
		ev_io_stop(L, &r->io);
		close(r->fd);
		return NULL;
	}
	return r->buf;
}

static __attribute__((unused)) int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* --- a client fetch that records what happened -------------------------------------------------- */

struct got {
	int status;
	int done, rc;
	char msg[600];
	size_t n;
	uint64_t total;
	int redirects;
	char hdr_seen[512]; /* value of the header named in want_hdr, if any */
	const char *want_hdr;
	int64_t content_length;
	int pause_every; /* on_body returns DF_AGAIN every this many calls */
	int calls;
	struct http_fetch *f;
	ev_timer resume;
	char body[1 << 16]; /* last: got_init clears everything before it */
};

static int got_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct got *g = ctx;
	g->status = r->status;
	g->redirects = r->redirects;
	g->content_length = r->content_length;
	if (g->want_hdr) {
		struct slice v = http_header_get(r->headers, r->nheaders, g->want_hdr);
		slice_copy(v, g->hdr_seen, sizeof g->hdr_seen);
	}
	return DF_OK;
}

static void got_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct got *g = DF_CONTAINER_OF(w, struct got, resume);
	http_fetch_resume(g->f);
}

static int got_body(struct http_fetch *f, const char *d, size_t n, void *ctx)
{
	struct got *g = ctx;
	g->f = f;
	size_t k = DF_MIN(n, sizeof g->body - 1 - g->n);
	memcpy(g->body + g->n, d, k);
	g->n += k;
	g->body[g->n] = 0;
	g->total += n;
	if (g->pause_every && ++g->calls % g->pause_every == 0) {
		ev_timer_set(&g->resume, 0.005, 0);
		ev_timer_start(L, &g->resume);
		return DF_AGAIN;
	}
	return DF_OK;
}

static void got_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct got *g = ctx;
	g->rc = rc;
	snprintf(g->msg, sizeof g->msg, "%s", msg ? msg : "");
	g->done = 1;
	ev_timer_stop(L, &g->resume);
}

static void got_init(struct got *g, struct http_request *rq, const char *url)
{
	memset(g, 0, offsetof(struct got, body));
	g->body[0] = 0;
	ev_init(&g->resume, got_resume);
	memset(rq, 0, sizeof *rq);
	rq->url = url;
	rq->on_response = got_response;
	rq->on_body = got_body;
	rq->on_done = got_done;
	rq->ctx = g;
}

/* Runs one fetch to its end; returns its rc. */
static int fetch(struct http_client *cl, struct http_request *rq, struct got *g)
{
	char err[600];
	struct http_fetch *f = http_client_request(cl, rq, err, sizeof err);
	if (!f) {
		snprintf(g->msg, sizeof g->msg, "%s", err);
		return DF_ERR;
	}
	g->f = f;
	if (!run_until(&g->done, 20))
		return -100;
	return g->rc;
}

/* FAIR_N fetches of url (size bytes each) at once through cl, where something shares one rate limit
 * between them (the client's download limit, the server's upload limit). When the first ends, every
 * other has had at least half the mean of the others' bytes; then all end whole. */
#define FAIR_N 16
static int fair_ended(const struct got *g)
{
	int n = 0;
	for (int i = 0; i < FAIR_N; i++)
		n += g[i].done;
	return n;
}

static int fair_any(void *arg)
{
	return fair_ended(arg) > 0;
}

static int fair_all(void *arg)
{
	return fair_ended(arg) == FAIR_N;
}

static __attribute__((unused)) void fair_run(struct http_client *cl, const char *url, uint64_t size)
{
	static struct got g[FAIR_N];
	static struct http_request rq[FAIR_N];
	char err[600];
	for (int i = 0; i < FAIR_N; i++) {
		got_init(&g[i], &rq[i], url);
		g[i].f = http_client_request(cl, &rq[i], err, sizeof err);
		CHECK(g[i].f != NULL);
	}
	CHECK(run_until_pred(fair_any, g, 20));
	uint64_t min = UINT64_MAX, sum = 0;
	int others = 0;
	for (int i = 0; i < FAIR_N; i++) {
		if (g[i].done)
			continue;
		min = DF_MIN(min, g[i].total);
		sum += g[i].total;
		others++;
	}
	if (others) {
		double mean = (double)sum / others;
		if (getenv("FAIR_SHOW") || (double)min < 0.5 * mean)
			fprintf(stderr, "    least served: %llu bytes, mean of the %d others %.0f\n",
				(unsigned long long)min, others, mean);
		CHECK((double)min >= 0.5 * mean);
	}
	CHECK(run_until_pred(fair_all, g, 20));
	for (int i = 0; i < FAIR_N; i++)
		CHECK(g[i].rc == DF_OK && g[i].total == size);
}

static struct http_client *client(const struct http_client_cfg *cfg)
{
	if (!L)
		L = ev_default_loop(EVFLAG_AUTO);
	char err[300];
	struct http_client_cfg c = cfg ? *cfg : (struct http_client_cfg){0};
	c.http_proxy = c.http_proxy ? c.http_proxy : "";
	c.https_proxy = c.https_proxy ? c.https_proxy : "";
	c.no_proxy = c.no_proxy ? c.no_proxy : "";
	struct http_client *cl = http_client_new(L, &c, err, sizeof err);
	if (!cl)
		fprintf(stderr, "    client: %s\n", err);
	CHECK(cl != NULL);
	return cl;
}

#endif
