/* Unit tests of net/http_server in one process: a raw socket client for exact bytes (pipelining,
 * malformed and oversized heads, slow clients, 100-continue, chunked uploads), df's client for
 * streamed replies, long-polls, backpressure, HEAD, limits and the graceful stop. */
#include <errno.h>
#include <sys/stat.h>

#include "core/monotime.h"
#include "test/unit/test_http_harness.h"

static char big[300000];

static void fill_big(void)
{
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
}

/* --- handlers ------------------------------------------------------------------------------------- */

static void h_hello(struct http_req *req, void *ctx)
{
	(void)ctx;
	http_reply(req, 200, "Content-Type: text/plain\r\n", "hello\n", 6);
}

static void h_big(struct http_req *req, void *ctx)
{
	(void)ctx;
	http_reply(req, 200, NULL, big, sizeof big);
}

static void h_echo_header(struct http_req *req, void *ctx)
{
	(void)ctx;
	struct slice v = http_req_header(req, "x-echo");
	char out[256];
	int n = snprintf(out, sizeof out, "[%.*s] %.*s", (int)v.n, v.p ? v.p : "", (int)http_req_head(req)->query.n,
			 http_req_head(req)->query.p);
	http_reply(req, 200, NULL, out, (size_t)n);
}

/* a file on disk served with sendfile and Range */
static char file_path[512];

static void h_file(struct http_req *req, void *ctx)
{
	(void)ctx;
	int fd = open(file_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		http_reply(req, 500, NULL, "no file\n", 8);
		return;
	}
	http_reply_file_range(req, NULL, fd, (uint64_t)st.st_size);
}

/* streamed replies: `stream_len` bytes of big[], at most `stream_step` made ready per timer tick */
struct stream {
	ev_timer tick;
	struct http_req *req;
	size_t made, sent, total, step;
	int chunked, stall, done, ok;
};
static struct stream S;

static void stream_produce(struct http_req *req, void *ctx)
{
	struct stream *s = ctx;
	while (s->sent < s->made) {
		ssize_t w = http_reply_write(req, big + s->sent, s->made - s->sent);
		if (w <= 0)
			return;
		s->sent += (size_t)w;
	}
	if (s->sent == s->total)
		http_reply_end(req);
}

static void stream_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct stream *s = DF_CONTAINER_OF(w, struct stream, tick);
	if (s->stall && s->made >= s->total / 2) {
		ev_timer_stop(loop, w); /* never more: the client's idle timeout must fire */
		return;
	}
	s->made = DF_MIN(s->total, s->made + s->step);
	if (s->made == s->total)
		ev_timer_stop(loop, w);
	http_reply_ready(s->req);
}

static void stream_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	struct stream *s = ctx;
	ev_timer_stop(L, &s->tick);
	s->done = 1;
	s->ok = ok;
}

static void h_stream(struct http_req *req, void *ctx)
{
	struct stream *s = ctx;
	s->req = req;
	s->sent = 0;
	s->made = DF_MIN(s->step, s->total);
	s->done = s->ok = 0;
	ev_timer_init(&s->tick, stream_tick, 0.002, 0.002);
	ev_timer_start(L, &s->tick);
	http_req_on_done(req, stream_done, s);
	http_reply_start(req, 200, NULL, s->chunked ? -1 : (int64_t)s->total, stream_produce, s);
}

/* long-poll: held until the timer answers, or aborted */
struct hold {
	ev_timer t;
	struct http_req *req;
	double secs; /* 0: 0.2 */
	int done, ok;
};
static struct hold H;

static void hold_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct hold *h = DF_CONTAINER_OF(w, struct hold, t);
	http_reply(h->req, 200, NULL, "late\n", 5);
}

static void hold_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	struct hold *h = ctx;
	ev_timer_stop(L, &h->t);
	h->done = 1;
	h->ok = ok;
}

static void h_hold(struct http_req *req, void *ctx)
{
	struct hold *h = ctx;
	h->req = req;
	h->done = h->ok = 0;
	ev_timer_init(&h->t, hold_fire, h->secs > 0 ? h->secs : 0.2, 0);
	ev_timer_start(L, &h->t);
	http_req_on_done(req, hold_done, h);
}

/* uploads: the body is counted and hashed; the consumer pauses now and then */
struct upload {
	uint64_t n, sum;
	int calls, pause_every;
	struct http_req *req;
	ev_timer resume;
};
static struct upload U;

static void up_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	http_req_resume(DF_CONTAINER_OF(w, struct upload, resume)->req);
}

static int up_data(struct http_req *req, const char *d, size_t n, void *ctx)
{
	struct upload *u = ctx;
	u->req = req;
	for (size_t i = 0; i < n; i++)
		u->sum = u->sum * 31 + (unsigned char)d[i];
	u->n += n;
	if (u->pause_every && ++u->calls % u->pause_every == 0) {
		ev_timer_set(&u->resume, 0.003, 0);
		ev_timer_start(L, &u->resume);
		return DF_AGAIN;
	}
	return DF_OK;
}

static void up_end(struct http_req *req, void *ctx)
{
	struct upload *u = ctx;
	char msg[64];
	int n = snprintf(msg, sizeof msg, "got %llu", (unsigned long long)u->n);
	http_reply(req, 200, NULL, msg, (size_t)n);
}

static void h_upload(struct http_req *req, void *ctx)
{
	struct upload *u = ctx;
	u->n = u->sum = 0;
	u->calls = 0;
	u->req = req;
	ev_init(&u->resume, up_resume);
	http_req_read_body(req, up_data, up_end, u);
}

static uint64_t sum_of(const char *p, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = s * 31 + (unsigned char)p[i];
	return s;
}

static int conns_are(void *arg)
{
	struct http_server_stats st;
	http_server_get_stats(((void **)arg)[0], &st);
	return st.conns == *(int *)((void **)arg)[1];
}

/* Runs the loop until the server has n connections. */
static int wait_conns(struct http_server *s, int n)
{
	void *arg[2] = {s, &n};
	return run_until_pred(conns_are, arg, 10);
}

static int is_held(void *arg)
{
	(void)arg;
	return H.req != NULL;
}

static struct http_server *std_server(const struct http_server_cfg *cfg, uint16_t *port)
{
	static int filled;
	if (!filled++)
		fill_big();
	H = (struct hold){0};
	struct http_server *s = server(cfg, port);
	http_server_route(s, "GET", "/hello", h_hello, NULL);
	http_server_route(s, "GET", "/big", h_big, NULL);
	http_server_route(s, "GET", "/echo", h_echo_header, NULL);
	http_server_route(s, "GET", "/file", h_file, NULL);
	http_server_route(s, "GET", "/stream", h_stream, &S);
	http_server_route(s, "GET", "/hold", h_hold, &H);
	http_server_route(s, "PUT", "/up", h_upload, &U);
	http_server_route(s, "POST", "/up", h_upload, &U);
	return s;
}

/* --- tests ---------------------------------------------------------------------------------------- */

static void pipelining(void)
{
	uint16_t port;
	struct http_server *s = std_server(NULL, &port);
	static struct raw r;
	const char *out = raw_exchange(&r, port,
				       "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
				       "GET /echo?q=1 HTTP/1.1\r\nX-Echo: two\r\n\r\n"
				       "HEAD /hello HTTP/1.1\r\n\r\n"
				       "GET /missing HTTP/1.1\r\n\r\n"
				       "DELETE /hello HTTP/1.1\r\n\r\n"
				       "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n",
				       5);
	CHECK(out != NULL);
	if (out) {
		CHECK_EQ(count_of(out, "HTTP/1.1 200 OK"), 4);
		CHECK_EQ(count_of(out, "hello\n"), 2); /* HEAD sent no body */
		CHECK(strstr(out, "[two] q=1") != NULL);
		CHECK(strstr(out, "HTTP/1.1 404 Not Found") != NULL);
		CHECK(strstr(out, "HTTP/1.1 405 Method Not Allowed") != NULL);
		CHECK(strstr(out, "Connection: close") != NULL);
		/* the order of the answers is the order of the requests */
		CHECK(strstr(out, "[two]") < strstr(out, "404 Not Found"));
		CHECK(strstr(out, "404 Not Found") < strstr(out, "405 Method"));
	}
	struct http_server_stats st;
	http_server_get_stats(s, &st);
	CHECK_EQ(st.requests, 6);
	CHECK_EQ(st.accepted, 1);
	http_server_free(s);
}

static void malformed(void)
{
	uint16_t port;
	struct http_server *s = std_server(&(struct http_server_cfg){.buf_size = 4096, .max_headers = 8}, &port);
	static struct raw r;
	static const struct {
		const char *req, *want;
	} cases[] = {
		{"GARBAGE\r\n\r\n", "HTTP/1.1 400 "},
		{"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "HTTP/1.1 400 "},
		{"GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 505 "},
		{"POST /up HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 400 "},
		{"POST /up HTTP/1.1\r\nContent-Length: -5\r\n\r\n", "HTTP/1.1 400 "},
		{"POST /up HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501 "},
		{"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 400 "},
		{"GET /hello HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\n\r\n",
		 "HTTP/1.1 431 "},
	};
	for (size_t i = 0; i < DF_ARRAY_LEN(cases); i++) {
		const char *out = raw_exchange(&r, port, cases[i].req, 5);
		if (!out || strncmp(out, cases[i].want, strlen(cases[i].want)) != 0)
			fprintf(stderr, "    case %zu got: %.60s\n", i, out ? out : "(hang)");
		CHECK(out && strncmp(out, cases[i].want, strlen(cases[i].want)) == 0);
	}
	/* a NUL in the head is refused at once, before the head is complete */
	raw_start(&r, port, "GET /\0 HTTP/1.1\r\n", 18);
	CHECK(run_until(&r.done, 5));
	CHECK(strncmp(r.buf, "HTTP/1.1 400 ", 13) == 0);
	/* a head bigger than the buffer */
	static char huge[8000];
	memcpy(huge, "GET /", 5);
	memset(huge + 5, 'a', sizeof huge - 6);
	const char *out = raw_exchange(&r, port, huge, 5);
	CHECK(out && strncmp(out, "HTTP/1.1 431 ", 13) == 0);
	http_server_free(s);
}

static void slow_and_idle(void)
{
	uint16_t port;
	struct http_server *s = std_server(&(struct http_server_cfg){.head_timeout = 0.2, .idle_timeout = 0.2}, &port);
	static struct raw r;
	/* half a head that never completes: 408 and closed */
	const char *out = raw_exchange(&r, port, "GET /hello HTTP/1.1\r\nHost:", 5);
	CHECK(out && strncmp(out, "HTTP/1.1 408 ", 13) == 0);
	/* a connection that never says anything: closed without a word */
	out = raw_exchange(&r, port, "", 5);
	CHECK(out && r.n == 0);
	/* a keep-alive connection after its request: closed after the idle timeout */
	out = raw_exchange(&r, port, "GET /hello HTTP/1.1\r\n\r\n", 5);
	CHECK(out && strstr(out, "hello\n") && !strstr(out, "Connection: close"));
	http_server_free(s);
}

static void expect_continue(void)
{
	uint16_t port;
	struct http_server *s = std_server(NULL, &port);
	static struct raw r;
	RAW(&r, port, "PUT /up HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
	/* the body goes only after the 100 arrives */
	int got100 = 0;
	ev_timer wd;
	ev_timer_init(&wd, watchdog_cb, 5, 0);
	watchdog_fired = 0;
	ev_timer_start(L, &wd);
	while (!watchdog_fired && !r.done && !strstr(r.buf, "100 Continue"))
		ev_run(L, EVRUN_ONCE);
	ev_timer_stop(L, &wd);
	got100 = strstr(r.buf, "HTTP/1.1 100 Continue\r\n\r\n") != NULL;
	CHECK(got100);
	CHECK(write(r.fd, "abcde", 5) == 5);
	shutdown(r.fd, SHUT_WR);
	CHECK(run_until(&r.done, 5));
	CHECK(strstr(r.buf, "got 5") != NULL);
	CHECK_EQ(U.n, 5);
	http_server_free(s);
}

static void chunked_upload(void)
{
	uint16_t port;
	struct http_server *s = std_server(NULL, &port);
	static struct raw r;
	U.pause_every = 0;
	const char *out = raw_exchange(&r, port,
				       "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				       "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
				       "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n",
				       5);
	CHECK(out && strstr(out, "got 11"));
	CHECK(out && strstr(out, "hello\n"));
	CHECK_EQ(U.sum, sum_of("hello world", 11));
	http_server_free(s);
}

static void big_upload_paused(void)
{
	/* the client's body (300 KB) through a 4 KB server buffer, with the consumer pausing */
	uint16_t port;
	struct http_server *s = std_server(&(struct http_server_cfg){.buf_size = 4096}, &port);
	struct http_client *cl = client(NULL);
	struct got g;
	struct http_request rq;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/up", port);
	got_init(&g, &rq, url);
	rq.method = "PUT";
	rq.body = big;
	rq.body_len = sizeof big;
	U.pause_every = 3;
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_EQ(g.status, 200);
	CHECK_STR(g.body, "got 300000");
	CHECK_EQ(U.sum, sum_of(big, sizeof big));
	CHECK(U.calls > 10);
	U.pause_every = 0;
	http_client_free(cl);
	http_server_free(s);
}

static void unread_body(void)
{
	/* a handler that answers without reading a small body: the body is drained, the connection kept */
	uint16_t port;
	struct http_server *s = std_server(NULL, &port);
	static struct raw r;
	const char *out = raw_exchange(&r, port,
				       "POST /hello HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789"
				       "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n",
				       5);
	CHECK(out != NULL);
	if (out)
		CHECK_EQ(count_of(out, "hello\n"), 1); /* POST /hello is 405 (GET only), then the GET */
	CHECK(out && strstr(out, "405 Method Not Allowed"));
	http_server_free(s);
}

static void stream_reply(int chunked, int http10)
{
	uint16_t port;
	struct http_server *s = std_server(NULL, &port);
	S = (struct stream){.total = sizeof big, .step = 7777, .chunked = chunked};
	if (http10) {
		static struct raw r;
		const char *out = raw_exchange(&r, port, "GET /stream HTTP/1.0\r\n\r\n", 10);
		CHECK(out != NULL);
		const char *body = out ? strstr(out, "\r\n\r\n") : NULL;
		CHECK(body && (size_t)(r.n - (size_t)(body + 4 - out)) == sizeof big);
		CHECK(body && memcmp(body + 4, big, sizeof big) == 0);
		CHECK(out && !strstr(out, "chunked"));
	} else {
		struct http_client *cl = client(NULL);
		struct got g;
		struct http_request rq;
		char url[64];
		snprintf(url, sizeof url, "http://127.0.0.1:%u/stream", port);
		got_init(&g, &rq, url);
		g.pause_every = 5; /* backpressure from the consumer while the producer streams */
		CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
		CHECK_EQ(g.status, 200);
		CHECK_EQ(g.content_length, chunked ? -1 : (int64_t)sizeof big);
		CHECK_EQ(g.total, sizeof big);
		CHECK(g.n == 65535 && memcmp(g.body, big, g.n) == 0);
		run_until(&S.done, 5);
		CHECK(S.done && S.ok);
		/* the connection went back to the pool and carries the next request */
		got_init(&g, &rq, url);
		snprintf(url, sizeof url, "http://127.0.0.1:%u/hello", port);
		CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
		struct http_client_stats st;
		http_client_get_stats(cl, &st);
		CHECK_EQ(st.connects, 1);
		CHECK_EQ(st.reused, 1);
		http_client_free(cl);
	}
	http_server_free(s);
}

static void stream_chunked(void)
{
	stream_reply(1, 0);
}

static void stream_length(void)
{
	stream_reply(0, 0);
}

static void stream_http10(void)
{
	stream_reply(1, 1);
}

static void long_poll(void)
{
	uint16_t port;
	struct http_server *s = std_server(NULL, &port);
	static struct raw r;
	/* answered later from a timer */
	const char *out = raw_exchange(&r, port, "GET /hold HTTP/1.1\r\nConnection: close\r\n\r\n", 5);
	CHECK(out && strstr(out, "late\n"));
	CHECK(H.done && H.ok);
	/* the client leaves while held: the handler hears ok 0 */
	H = (struct hold){.secs = 30};
	RAW(&r, port, "GET /hold HTTP/1.1\r\n\r\n");
	CHECK(run_until_pred(is_held, NULL, 5));
	CHECK(!H.done);
	ev_io_stop(L, &r.io);
	close(r.fd);
	CHECK(run_until(&H.done, 5));
	CHECK_EQ(H.ok, 0);
	http_server_free(s);
}

static void file_ranges(void)
{
	snprintf(file_path, sizeof file_path, "%s/file", unit_tmpdir());
	FILE *fp = fopen(file_path, "wb");
	CHECK(fp != NULL);
	fwrite(big, 1, sizeof big, fp);
	fclose(fp);
	uint16_t port;
	struct http_server *s = std_server(NULL, &port);
	struct http_client *cl = client(NULL);
	struct got g;
	struct http_request rq;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/file", port);
	got_init(&g, &rq, url);
	rq.range = 1;
	rq.range_start = 1000;
	rq.range_end = 1999;
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_EQ(g.status, 206);
	CHECK_EQ(g.total, 1000);
	CHECK(memcmp(g.body, big + 1000, 1000) == 0);
	got_init(&g, &rq, url);
	rq.range = 1;
	rq.range_start = sizeof big - 10;
	rq.range_end = -1;
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_EQ(g.status, 206);
	CHECK(g.total == 10 && memcmp(g.body, big + sizeof big - 10, 10) == 0);
	got_init(&g, &rq, url);
	rq.range = 1;
	rq.range_start = sizeof big;
	rq.range_end = -1;
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_EQ(g.status, 416);
	got_init(&g, &rq, url);
	rq.method = "HEAD";
	g.want_hdr = "content-length";
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_EQ(g.total, 0);
	CHECK_STR(g.hdr_seen, "300000");
	got_init(&g, &rq, url);
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK(g.total == sizeof big && memcmp(g.body, big, g.n) == 0);
	struct http_client_stats st;
	http_client_get_stats(cl, &st);
	CHECK_EQ(st.connects, 1); /* everything on one keep-alive connection */
	http_client_free(cl);
	http_server_free(s);
}

static void many_connections(void)
{
	enum { N = 300 };
	uint16_t port;
	struct http_server *s = std_server(NULL, &port);
	struct http_client *cl = client(&(struct http_client_cfg){.pool_per_host = N});
	static struct got g[N];
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/big", port);
	for (int i = 0; i < N; i++) {
		struct http_request rq;
		got_init(&g[i], &rq, url);
		char err[300];
		CHECK(http_client_request(cl, &rq, err, sizeof err) != NULL);
	}
	int all = 0;
	ev_timer wd;
	watchdog_fired = 0;
	ev_timer_init(&wd, watchdog_cb, 30, 0);
	ev_timer_start(L, &wd);
	while (!all && !watchdog_fired) {
		ev_run(L, EVRUN_ONCE);
		all = 1;
		for (int i = 0; i < N; i++)
			all &= g[i].done;
	}
	ev_timer_stop(L, &wd);
	CHECK(all);
	int ok = 0;
	for (int i = 0; i < N; i++)
		ok += g[i].rc == DF_OK && g[i].total == sizeof big;
	CHECK_EQ(ok, N);
	struct http_server_stats st;
	http_server_get_stats(s, &st);
	CHECK_EQ(st.accepted, N);
	CHECK_EQ(st.conns, N); /* all kept alive */
	http_client_free(cl);
	CHECK(wait_conns(s, 0));
	http_server_free(s);
}

static int hello_in(void *arg)
{
	return strstr(((struct raw *)arg)->buf, "hello\n") != NULL;
}

/* At the connection limit (2 here): a new connection closes the one that has waited longest for a
 * request head (idle keep-alive, or a head that never completes: a flood of such connections kept
 * every real client out while accepting paused); a live exchange that waits on its client is
 * closed once it stalled stall_shed; only while every connection has a live exchange that moves
 * does the next wait in the kernel's queue. */
static void max_conns(void)
{
	uint16_t port;
	struct http_server *s = std_server(&(struct http_server_cfg){.max_conns = 2, .stall_shed = 0.5}, &port);
	static struct raw r[7];
	struct http_server_stats st;
	H.secs = 30;
	/* a live exchange and an idle keep-alive connection: the idle one goes for the newcomer */
	RAW(&r[0], port, "GET /hold HTTP/1.1\r\n\r\n");
	RAW(&r[1], port, "GET /hello HTTP/1.1\r\n\r\n");
	CHECK(wait_conns(s, 2));
	CHECK(run_until_pred(hello_in, &r[1], 5));
	RAW(&r[2], port, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
	CHECK(run_until(&r[2].done, 5));
	CHECK(strstr(r[2].buf, "hello\n") != NULL);
	CHECK(run_until(&r[1].done, 5)); /* closed by the server */
	CHECK(!H.done);                   /* the live exchange is untouched */
	http_server_get_stats(s, &st);
	CHECK_EQ(st.shed, 1);
	/* slow heads (a slowloris flood): the oldest goes each time, a real request is answered */
	RAW(&r[3], port, "GET /hello HTTP/1.1\r\nHost: x\r\n");
	CHECK(wait_conns(s, 2));
	RAW(&r[4], port, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
	CHECK(run_until(&r[4].done, 5));
	CHECK(strstr(r[4].buf, "hello\n") != NULL);
	CHECK(run_until(&r[3].done, 5));
	CHECK(strstr(r[3].buf, "hello\n") == NULL);
	/* every connection has a live exchange (the hold, a body still arriving): the next one waits in
	 * the kernel's queue until one closes */
	RAW(&r[5], port, "PUT /up HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
	spin(0.2); /* its head read: a live exchange */
	CHECK(wait_conns(s, 2));
	http_server_get_stats(s, &st);
	uint64_t accepted = st.accepted;
	RAW(&r[6], port, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
	spin(0.1);
	http_server_get_stats(s, &st);
	CHECK_EQ(st.accepted, accepted);
	CHECK(!r[6].done && r[6].n == 0);
	CHECK(!r[0].done && !r[5].done);
	ev_io_stop(L, &r[5].io);
	close(r[5].fd);
	CHECK(run_until(&r[6].done, 5));
	CHECK(strstr(r[6].buf, "hello\n") != NULL);
	http_server_get_stats(s, &st);
	CHECK(st.shed >= 2); /* and those that lingered after Connection: close, if still there */
	/* a body that stops coming (slow POST) is closed for a newcomer once it stalled stall_shed */
	RAW(&r[5], port, "PUT /up HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
	spin(0.2);
	CHECK(wait_conns(s, 2));
	double t0 = monotime_now();
	RAW(&r[6], port, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
	CHECK(run_until(&r[6].done, 5));
	CHECK(strstr(r[6].buf, "hello\n") != NULL);
	CHECK(monotime_now() - t0 >= 0.4); /* not before the body stalled stall_shed (0.5 s) */
	CHECK(run_until(&r[5].done, 5));
	CHECK(!r[0].done); /* the hold (waiting on the application, not the client) stays */
	ev_io_stop(L, &r[0].io);
	close(r[0].fd);
	http_server_free(s);
}

/* At and past MAX_LISTENERS (8, docs/LIMITS.md): eight listening addresses are taken, the ninth is a
 * start-up error naming the address and the cause, and the eight still serve. */
static void max_listeners(void)
{
	uint16_t port;
	struct http_server *s = std_server(NULL, &port); /* its first listener */
	char err[256];
	for (int i = 1; i < 8; i++)
		CHECK_EQ(http_server_listen(s, "127.0.0.1:0", err, sizeof err), DF_OK);
	CHECK_EQ(http_server_listen(s, "127.0.0.1:0", err, sizeof err), DF_ERR);
	CHECK_STR(err, "listen 127.0.0.1:0: too many listeners");
	static struct raw r;
	const char *out = raw_exchange(&r, port, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n", 5);
	CHECK(strstr(out, "hello\n") != NULL);
	http_server_free(s);
}

static int answered(void *arg)
{
	return strstr(((struct raw *)arg)->buf, "hello\n") != NULL;
}

static int stopped;
static void on_stopped(struct http_server *s, void *ctx)
{
	(void)s;
	(void)ctx;
	stopped = 1;
}

static void graceful_stop(void)
{
	uint16_t port;
	struct http_server *s = std_server(NULL, &port);
	static struct raw idle, held;
	H.secs = 0.3;
	RAW(&idle, port, "GET /hello HTTP/1.1\r\n\r\n");
	RAW(&held, port, "GET /hold HTTP/1.1\r\n\r\n");
	CHECK(run_until_pred(is_held, NULL, 5));
	CHECK(wait_conns(s, 2));
	CHECK(run_until_pred(answered, &idle, 5));
	stopped = 0;
	http_server_shutdown(s, 5, on_stopped, NULL);
	/* the idle keep-alive connection is closed at once; the held request is answered, with close */
	CHECK(run_until(&idle.done, 2));
	CHECK(run_until(&held.done, 2));
	CHECK(strstr(held.buf, "late\n") && strstr(held.buf, "Connection: close"));
	CHECK(run_until(&stopped, 2));
	/* nothing listens any more */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno == ECONNREFUSED);
	close(fd);
	http_server_free(s);

	/* a grace period that runs out aborts what is left; here the server is also paused at its
	 * connection limit (one busy connection, its look-again timer running): once stopped, it keeps
	 * nothing alive in the loop */
	s = std_server(&(struct http_server_cfg){.max_conns = 1}, &port);
	H.secs = 30;
	RAW(&held, port, "GET /hold HTTP/1.1\r\n\r\n");
	CHECK(run_until_pred(is_held, NULL, 5));
	stopped = 0;
	http_server_shutdown(s, 0.05, on_stopped, NULL);
	CHECK(run_until(&stopped, 2));
	CHECK(H.done && !H.ok);
	CHECK(run_until(&held.done, 2));
	ev_timer wd;
	watchdog_fired = 0;
	ev_timer_init(&wd, watchdog_cb, 3, 0);
	ev_timer_start(L, &wd);
	ev_unref(L); /* the watchdog alone does not keep ev_run going */
	ev_run(L, 0);
	ev_ref(L);
	ev_timer_stop(L, &wd);
	CHECK(!watchdog_fired);
	http_server_free(s);
}

static void upload_rate_limit(void)
{
	/* 300 KB at 1 MB/s with a 16 KB burst cannot take less than ~0.28 s (a lower bound only) */
	struct ratelimit rl;
	ratelimit_init(&rl, 1000000, 16384, monotime_now());
	uint16_t port;
	struct http_server *s = std_server(&(struct http_server_cfg){.tx_limit = &rl}, &port);
	struct http_client *cl = client(NULL);
	struct got g;
	struct http_request rq;
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/big", port);
	got_init(&g, &rq, url);
	ev_now_update(L);
	double t0 = monotime_now();
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	ev_now_update(L);
	CHECK(g.total == sizeof big && memcmp(g.body, big, g.n) == 0);
	CHECK(monotime_now() - t0 >= 0.25);
	http_client_free(cl);
	http_server_free(s);
}

/* Uploads sharing one upload limit share it evenly: 16 at once at 4 MB/s with a 16 KiB burst. When
 * the first ends every other has had at least half the mean of the others' bytes. The bucket used to
 * go to whichever connection woke first, with a grant up to the whole burst. */
static void upload_rate_fair(void)
{
	if (!L)
		L = ev_default_loop(EVFLAG_AUTO);
	struct ratelimit rl;
	ratelimit_init(&rl, 4000000, 16384, monotime_now());
	uint16_t port;
	struct http_server *s = std_server(&(struct http_server_cfg){.tx_limit = &rl}, &port);
	struct http_client *cl = client(NULL);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/big", port);
	fair_run(cl, url, sizeof big);
	http_client_free(cl);
	http_server_free(s);
}

static const struct unit_test tests[] = {
	{"pipelining", pipelining},
	{"malformed", malformed},
	{"slow_and_idle", slow_and_idle},
	{"expect_continue", expect_continue},
	{"chunked_upload", chunked_upload},
	{"big_upload_paused", big_upload_paused},
	{"unread_body", unread_body},
	{"stream_chunked", stream_chunked},
	{"stream_length", stream_length},
	{"stream_http10", stream_http10},
	{"long_poll", long_poll},
	{"file_ranges", file_ranges},
	{"many_connections", many_connections},
	{"max_conns", max_conns},
	{"max_listeners", max_listeners},
	{"graceful_stop", graceful_stop},
	{"upload_rate_limit", upload_rate_limit},
	{"upload_rate_fair", upload_rate_fair},
};
UNIT_MAIN("http_server", tests)
