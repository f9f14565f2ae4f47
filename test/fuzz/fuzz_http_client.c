/* Fuzz target: what a server (a source, a registry, a supernode, a peer) answers df's HTTP client,
 * through the real client (net/http_client.c: head, framing, redirects, chunks, keep-alive, close).
 *
 * Input: three bytes of settings, then the bytes every connection gets back, written in pieces of a
 * size the settings choose, then a half-close. The consumer may pause after every run of body
 * bytes (resumed from a timer) and may cancel the fetch from inside on_body or on_response. The client reaches the server as its http proxy, so
 * every URL a redirect names comes back here and no input makes it send a byte off this machine;
 * https is not configured (refused before any connect). Checked: on_done exactly once, never a body
 * longer than the length the head gave, a complete body on success, and an end within 10 s. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/df.h"
#include "core/log.h"
#include "net/http_client.h"

/* Each input costs a client and a few connections: replay every 8th cut of a corpus file. */
const unsigned fuzz_replay_cut_step = 8;

#define MAX_CONNS 16

struct conn {
	int fd;
	size_t off;
	ev_io w;
};

static struct {
	struct ev_loop *loop;
	int lfd;
	char proxy[64];
	ev_io accept_w;
	const uint8_t *data;
	size_t size, chunk;
	struct conn conns[MAX_CONNS];
	int nconns;
	/* the fetch */
	struct http_fetch *f;
	ev_timer resume;
	int pause, cancel_at; /* pause after each run; cancel once this many body bytes came (-1 never, -2 in on_response) */
	int done, dones, rc, cancelled;
	int64_t length; /* from on_response: -1 unknown */
	uint64_t got;
} F;

static void die(const char *what, const char *why) __attribute__((noreturn));
static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_http_client: %s: %s\n", what, why);
	abort();
}

/* Writes the next piece of the answer; the whole answer written, half-closes (the client sees EOF
 * after the last byte, as from a server that closes). */
static void conn_write(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct conn *c = DF_CONTAINER_OF(w, struct conn, w);
	size_t n = DF_MIN(F.chunk, F.size - c->off);
	if (n) {
		ssize_t k = write(c->fd, F.data + c->off, n);
		if (k < 0 && errno != EAGAIN) {
			c->off = F.size; /* the client went away */
		} else if (k > 0) {
			c->off += (size_t)k;
		}
	}
	if (c->off >= F.size) {
		shutdown(c->fd, SHUT_WR);
		ev_io_stop(loop, w);
	}
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)w;
	(void)revents;
	for (;;) {
		int fd = accept4(F.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (F.nconns == MAX_CONNS) {
			close(fd);
			continue;
		}
		struct conn *c = &F.conns[F.nconns++];
		c->fd = fd;
		c->off = 0;
		ev_io_init(&c->w, conn_write, fd, EV_WRITE);
		ev_io_start(loop, &c->w);
	}
}

static void init(void)
{
	if (F.loop)
		return;
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERROR);
	F.loop = ev_default_loop(0);
	F.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t al = sizeof a;
	if (F.lfd < 0 || bind(F.lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(F.lfd, 64) != 0 ||
	    getsockname(F.lfd, (struct sockaddr *)&a, &al) != 0)
		die("listen", strerror(errno));
	snprintf(F.proxy, sizeof F.proxy, "http://127.0.0.1:%u", ntohs(a.sin_port));
	ev_io_init(&F.accept_w, on_accept, F.lfd, EV_READ);
	ev_io_start(F.loop, &F.accept_w);
}

static int on_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	(void)ctx;
	if (r->status < 100 || r->status > 999)
		die("on_response", "status out of range");
	F.length = r->content_length;
	if (F.cancel_at == -2) {
		http_fetch_cancel(f); /* safe inside its own callback; on_done does not follow */
		F.done = F.cancelled = 1;
		return DF_ERR;
	}
	return DF_OK;
}

static void resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (!F.done)
		http_fetch_resume(F.f);
}

static int on_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	(void)ctx;
	volatile char sink = 0;
	for (size_t i = 0; i < len; i++)
		sink ^= data[i]; /* every byte handed over must be readable */
	(void)sink;
	F.got += len;
	if (F.length >= 0 && F.got > (uint64_t)F.length)
		die("on_body", "more body bytes than the head's length");
	if (F.cancel_at >= 0 && F.got >= (uint64_t)F.cancel_at) {
		http_fetch_cancel(f);
		F.done = F.cancelled = 1;
		return DF_OK;
	}
	if (F.pause) {
		ev_timer_set(&F.resume, 0.0005, 0);
		ev_timer_start(F.loop, &F.resume);
		return DF_AGAIN;
	}
	return DF_OK;
}

static void on_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)ctx;
	if (rc != DF_OK && (!msg || !msg[0]))
		die("on_done", "a failure without a cause");
	F.dones++;
	F.done = 1;
	F.rc = rc;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3 || size > 65536)
		return 0;
	init();
	uint8_t how = data[0], piece = data[1], consumer = data[2];
	F.data = data + 3;
	F.size = size - 3;
	F.pause = consumer & 1;
	F.cancel_at = (consumer & 6) == 2 ? (int)(consumer >> 3) * 16 : (consumer & 6) == 4 ? -2 : -1;
	ev_timer_init(&F.resume, resume_cb, 0, 0);
	F.chunk = piece ? piece : 4096; /* 1..255 bytes per write, or 4 KiB */
	F.nconns = 0;
	F.done = F.dones = F.cancelled = 0;
	F.length = -1;
	F.got = 0;
	char err[512];
	struct http_client_cfg cc = {
		.http_proxy = F.proxy, .https_proxy = F.proxy, .no_proxy = "",
		.connect_timeout = 2, .first_byte_timeout = 2, .idle_timeout = 2, .resolver_threads = 1,
		.buf_size = (how & 8) ? 4096 : 0,
	};
	struct http_client *cl = http_client_new(F.loop, &cc, err, sizeof err);
	if (!cl)
		die("client", err);
	struct http_request rq = {
		.method = (how & 1) ? "HEAD" : NULL,
		.url = (how & 16) ? "http://df.test:8080/dir/f?q=1" : "http://df.test/f",
		.range = (how & 2) != 0,
		.range_start = 5,
		.range_end = (how & 32) ? -1 : 99,
		.follow_redirects = (how & 4) != 0,
		.max_redirects = 3,
		.use_proxy = 1,
		.fail_status = (how & 64) != 0,
		.what = "source",
		.on_response = on_response,
		.on_body = on_body,
		.on_done = on_done,
	};
	F.f = http_client_request(cl, &rq, err, sizeof err);
	if (!F.f)
		die("request", err);
	double end = now_s() + 10;
	while (!F.done) {
		if (now_s() > end)
			die("fetch", "no end within 10 s");
		ev_run(F.loop, EVRUN_ONCE);
	}
	ev_timer_stop(F.loop, &F.resume);
	if (F.dones != !F.cancelled)
		die("on_done", F.cancelled ? "called after a cancel" : "not exactly once");
	if (!F.cancelled && F.rc == DF_OK && !(how & 1) && F.length >= 0 && F.got != (uint64_t)F.length)
		die("on_done", "success with a body shorter than the head's length");
	http_client_free(cl);
	for (int i = 0; i < F.nconns; i++) {
		ev_io_stop(F.loop, &F.conns[i].w);
		close(F.conns[i].fd);
	}
	/* connections the client opened but the loop has not accepted yet */
	for (int fd; (fd = accept4(F.lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
		close(fd);
	return 0;
}
