/* Unit tests of net/http_client in one process: against df's server (redirect chains, secrets
 * dropped across hosts, pooling, chunked bodies with backpressure, rate limit, proxies and a CONNECT
 * tunnel with a stand-in TLS factory) and against a canned raw server for odd answers (1xx,
 * close-delimited, short and garbage bodies, stale pooled connections, timeouts). */
#include "test/unit/test_http_harness.h"
#include "core/monotime.h"

static char big[200000];

/* --- df server routes ------------------------------------------------------------------------------ */

static void h_hello(struct http_req *req, void *ctx)
{
	(void)ctx;
	http_reply(req, 200, NULL, "hello\n", 6);
}

static void h_big(struct http_req *req, void *ctx)
{
	(void)ctx;
	http_reply(req, 200, NULL, big, sizeof big);
}

/* /r/N redirects to /r/N-1 ... /r/0 answers */
static void h_chain(struct http_req *req, void *ctx)
{
	(void)ctx;
	const struct http_head *h = http_req_head(req);
	int n = atoi(h->path.p + 3);
	if (n <= 0) {
		http_reply(req, 200, NULL, "end", 3);
		return;
	}
	char loc[64];
	snprintf(loc, sizeof loc, "Location: /r/%d\r\n", n - 1);
	http_reply(req, n % 2 ? 302 : 307, loc, "moved", 5);
}

/* echoes method, Authorization and Cookie */
static void h_show(struct http_req *req, void *ctx)
{
	(void)ctx;
	struct slice a = http_req_header(req, "authorization"), c = http_req_header(req, "cookie");
	char out[256];
	int n = snprintf(out, sizeof out, "%.*s auth=[%.*s] cookie=[%.*s] len=%lld", (int)http_req_head(req)->method.n,
			 http_req_head(req)->method.p, (int)a.n, a.p ? a.p : "", (int)c.n, c.p ? c.p : "",
			 (long long)http_req_body_length(req));
	http_reply(req, 200, NULL, out, (size_t)n);
}

static uint16_t port_b; /* a second server, reached as "localhost" */

static void h_cross(struct http_req *req, void *ctx)
{
	(void)ctx;
	char loc[96];
	snprintf(loc, sizeof loc, "Location: http://localhost:%u/show\r\n", port_b);
	http_reply(req, 302, loc, NULL, 0);
}

static void h_same(struct http_req *req, void *ctx)
{
	(void)ctx;
	http_reply(req, 301, "Location: show\r\n", NULL, 0);
}

static void h_see_other(struct http_req *req, void *ctx)
{
	(void)ctx;
	http_reply(req, 303, "Location: /show\r\n", NULL, 0);
}

/* a forward proxy stand-in: answers with the target it was asked for */
static void h_proxy(struct http_req *req, void *ctx)
{
	(void)ctx;
	const struct http_head *h = http_req_head(req);
	struct slice pa = http_req_header(req, "proxy-authorization");
	char out[512];
	int n = snprintf(out, sizeof out, "proxied %.*s pa=[%.*s]", (int)h->target.n, h->target.p, (int)pa.n,
			 pa.p ? pa.p : "");
	http_reply(req, 200, NULL, out, (size_t)n);
}

/* a chunked stream of big[] in uneven pieces */
struct stream {
	size_t sent;
};

static void stream_produce(struct http_req *req, void *ctx)
{
	struct stream *s = ctx;
	while (s->sent < sizeof big) {
		size_t n = DF_MIN(sizeof big - s->sent, 1 + (s->sent * 13) % 9000);
		ssize_t w = http_reply_write(req, big + s->sent, n);
		if (w <= 0)
			return;
		s->sent += (size_t)w;
	}
	http_reply_end(req);
}

static void stream_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	(void)ok;
	free(ctx);
}

static void h_chunked(struct http_req *req, void *ctx)
{
	(void)ctx;
	struct stream *s = calloc(1, sizeof *s);
	http_req_on_done(req, stream_done, s);
	http_reply_start(req, 200, NULL, -1, stream_produce, s);
}

static struct http_server *routes(struct http_server *s)
{
	http_server_route(s, "GET", "/hello", h_hello, NULL);
	http_server_route(s, "GET", "/big", h_big, NULL);
	http_server_route(s, "GET", "/r/", h_chain, NULL);
	http_server_route(s, NULL, "/show", h_show, NULL);
	http_server_route(s, "GET", "/cross", h_cross, NULL);
	http_server_route(s, "GET", "/same", h_same, NULL);
	http_server_route(s, "POST", "/see", h_see_other, NULL);
	http_server_route(s, "GET", "/chunked", h_chunked, NULL);
	return s;
}

static struct http_server *df_server(uint16_t *port)
{
	static int filled;
	if (!filled++)
		for (size_t i = 0; i < sizeof big; i++)
			big[i] = (char)(i * 31 + i / 777);
	return routes(server(NULL, port));
}

/* --- a canned raw server: reads a request head, writes fixed bytes ---------------------------------- */

struct canned {
	ev_io lio, cio;
	int lfd, cfd;
	uint16_t port;
	const char *resp; /* NULL: never answer */
	int close_after;
	int requests;
	char req[8192];
	size_t rn;
};

static void canned_conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct canned *k = DF_CONTAINER_OF(w, struct canned, cio);
	ssize_t n = read(k->cfd, k->req + k->rn, sizeof k->req - 1 - k->rn);
	if (n <= 0) {
		ev_io_stop(loop, w);
		close(k->cfd);
		k->cfd = -1;
		return;
	}
	k->rn += (size_t)n;
	k->req[k->rn] = 0;
	if (!strstr(k->req, "\r\n\r\n"))
		return;
	k->requests++;
	k->rn = 0;
	if (!k->resp)
		return;
	CHECK(write(k->cfd, k->resp, strlen(k->resp)) == (ssize_t)strlen(k->resp));
	if (k->close_after) {
		ev_io_stop(loop, w);
		close(k->cfd);
		k->cfd = -1;
	}
}

static void canned_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct canned *k = DF_CONTAINER_OF(w, struct canned, lio);
	int fd = accept(k->lfd, NULL, NULL);
	if (fd < 0)
		return;
	if (k->cfd >= 0) {
		ev_io_stop(loop, &k->cio);
		close(k->cfd);
	}
	k->cfd = fd;
	k->rn = 0;
	ev_io_init(&k->cio, canned_conn_cb, fd, EV_READ);
	ev_io_start(loop, &k->cio);
}

static void canned_start(struct canned *k, const char *resp, int close_after)
{
	if (!L)
		L = ev_default_loop(EVFLAG_AUTO);
	memset(k, 0, sizeof *k);
	k->resp = resp;
	k->close_after = close_after;
	k->cfd = -1;
	k->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t al = sizeof a;
	CHECK(bind(k->lfd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(listen(k->lfd, 16) == 0);
	getsockname(k->lfd, (struct sockaddr *)&a, &al);
	k->port = ntohs(a.sin_port);
	ev_io_init(&k->lio, canned_accept_cb, k->lfd, EV_READ);
	ev_io_start(L, &k->lio);
}

static void canned_stop(struct canned *k)
{
	ev_io_stop(L, &k->lio);
	close(k->lfd);
	if (k->cfd >= 0) {
		ev_io_stop(L, &k->cio);
		close(k->cfd);
	}
}

static int get(struct http_client *cl, const char *url, struct got *g)
{
	struct http_request rq;
	got_init(g, &rq, url);
	rq.follow_redirects = 1;
	return fetch(cl, &rq, g);
}

/* --- tests ---------------------------------------------------------------------------------------- */

static void redirects(void)
{
	uint16_t port;
	struct http_server *s = df_server(&port);
	struct http_client *cl = client(NULL);
	struct got g;
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/r/10", port);
	CHECK_EQ(get(cl, url, &g), DF_OK);
	CHECK_EQ(g.status, 200);
	CHECK_EQ(g.redirects, 10);
	CHECK_STR(g.body, "end");
	/* eleven is one too many */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/r/11", port);
	CHECK_EQ(get(cl, url, &g), DF_ERR);
	CHECK(strstr(g.msg, "too many redirects (10)") != NULL);
	/* not followed when asked not to */
	struct http_request rq;
	got_init(&g, &rq, url);
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_EQ(g.status, 302);
	/* redirect bodies were small: every hop reused one connection */
	struct http_client_stats st;
	http_client_get_stats(cl, &st);
	CHECK_EQ(st.connects, 1);
	http_client_free(cl);
	http_server_free(s);
}

static void redirect_secrets(void)
{
	uint16_t port;
	struct http_server *s = df_server(&port);
	struct http_server *b = df_server(&port_b);
	struct http_client *cl = client(NULL);
	struct got g;
	struct http_request rq;
	char url[128];
	/* same host: Authorization and Cookie stay */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/same", port);
	got_init(&g, &rq, url);
	rq.follow_redirects = 1;
	rq.headers = "Authorization: Bearer x\r\nCookie: c=1\r\nX-Other: y\r\n";
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_STR(g.body, "GET auth=[Bearer x] cookie=[c=1] len=0");
	/* another host: both dropped */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/cross", port);
	got_init(&g, &rq, url);
	rq.follow_redirects = 1;
	rq.headers = "Authorization: Bearer x\r\nCookie: c=1\r\nX-Other: y\r\n";
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_STR(g.body, "GET auth=[] cookie=[] len=0");
	/* user:pass in the URL becomes Basic auth */
	snprintf(url, sizeof url, "http://u:p@127.0.0.1:%u/show", port);
	CHECK_EQ(get(cl, url, &g), DF_OK);
	CHECK_STR(g.body, "GET auth=[Basic dTpw] cookie=[] len=0");
	/* 303 after a POST: GET without the body */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/see", port);
	got_init(&g, &rq, url);
	rq.follow_redirects = 1;
	rq.body = "data";
	rq.body_len = 4;
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_STR(g.body, "GET auth=[] cookie=[] len=0");
	/* a POST body arrives with its length */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/show", port);
	got_init(&g, &rq, url);
	rq.body = "data";
	rq.body_len = 4;
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_STR(g.body, "POST auth=[] cookie=[] len=4");
	http_client_free(cl);
	http_server_free(s);
	http_server_free(b);
}

static void chunked_backpressure(void)
{
	uint16_t port;
	struct http_server *s = df_server(&port);
	struct http_client *cl = client(&(struct http_client_cfg){.buf_size = 4096});
	struct got g;
	struct http_request rq;
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/chunked", port);
	got_init(&g, &rq, url);
	g.pause_every = 2;
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_EQ(g.content_length, -1);
	CHECK_EQ(g.total, sizeof big);
	CHECK(memcmp(g.body, big, g.n) == 0);
	CHECK(g.calls > 20);
	http_client_free(cl);
	http_server_free(s);
}

static void download_rate_limit(void)
{
	/* 200 KB at 1 MB/s with a 16 KB burst cannot take less than ~0.18 s (a lower bound only) */
	uint16_t port;
	struct http_server *s = df_server(&port);
	struct ratelimit rl;
	ratelimit_init(&rl, 1000000, 16384, monotime_now());
	struct http_client *cl = client(&(struct http_client_cfg){.rx_limit = &rl});
	struct got g;
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/big", port);
	ev_now_update(L);
	double t0 = monotime_now();
	CHECK_EQ(get(cl, url, &g), DF_OK);
	ev_now_update(L);
	CHECK_EQ(g.total, sizeof big);
	CHECK(monotime_now() - t0 >= 0.15);
	/* unlimited again at run time */
	ratelimit_set(&rl, 0, 0, monotime_now());
	CHECK_EQ(get(cl, url, &g), DF_OK);
	CHECK_EQ(g.total, sizeof big);
	http_client_free(cl);
	http_server_free(s);
}

/* Fetches sharing one download limit share it evenly: 16 at once, each a 200 KB body, at 2 MB/s with a
 * 16 KiB burst. When the first one ends (~1.6 s if fair) every other has had a fair part of the rate:
 * at least half the mean of the others' bytes. The bucket used to go to whichever woke first with a
 * grant up to its whole buffer: in CI one fetch of 64 got 0.5 KB/s of a 1 MB/s limit. */
static void download_rate_fair(void)
{
	uint16_t port;
	struct http_server *s = df_server(&port);
	struct ratelimit rl;
	ratelimit_init(&rl, 2000000, 16384, monotime_now());
	struct http_client *cl = client(&(struct http_client_cfg){.rx_limit = &rl});
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/big", port);
	fair_run(cl, url, sizeof big);
	http_client_free(cl);
	http_server_free(s);
}

static void errors(void)
{
	if (!L)
		L = ev_default_loop(EVFLAG_AUTO);
	uint16_t port;
	struct http_server *s = df_server(&port);
	struct http_client *cl = client(NULL);
	struct got g;
	char url[128];
	/* a port nobody listens on (bound, never listening) */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t al = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/x", ntohs(a.sin_port));
	CHECK_EQ(get(cl, url, &g), DF_ERR);
	char want[128];
	snprintf(want, sizeof want, "connect 127.0.0.1:%u: Connection refused", ntohs(a.sin_port));
	CHECK_STR(g.msg, want);
	close(fd);
	/* a name that does not resolve */
	CHECK_EQ(get(cl, "http://no-such-host.invalid/x", &g), DF_ERR);
	CHECK(strncmp(g.msg, "resolve no-such-host.invalid: ", 30) == 0);
	/* an error status, named */
	struct http_request rq;
	snprintf(url, sizeof url, "http://127.0.0.1:%u/nothing", port);
	got_init(&g, &rq, url);
	rq.fail_status = 1;
	rq.what = "source";
	CHECK_EQ(fetch(cl, &rq, &g), DF_ERR);
	CHECK_STR(g.msg, "source answered 404 Not Found");
	/* requests that cannot start */
	char err[300];
	got_init(&g, &rq, "https://127.0.0.1/x");
	CHECK(http_client_request(cl, &rq, err, sizeof err) == NULL);
	CHECK(strstr(err, "https not configured") != NULL);
	got_init(&g, &rq, "ftp://127.0.0.1/x");
	CHECK(http_client_request(cl, &rq, err, sizeof err) == NULL);
	CHECK(strstr(err, "unsupported URL scheme") != NULL);
	/* cancel: no callback afterwards */
	snprintf(url, sizeof url, "http://127.0.0.1:%u/big", port);
	got_init(&g, &rq, url);
	struct http_fetch *f = http_client_request(cl, &rq, err, sizeof err);
	CHECK(f != NULL);
	http_fetch_cancel(f);
	spin(0.05);
	CHECK(!g.done);
	http_client_free(cl);
	http_server_free(s);
}

static void odd_answers(void)
{
	struct http_client *cl = client(NULL);
	struct canned k;
	struct got g;
	char url[128];
	/* informational answers before the final one are skipped */
	canned_start(&k, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
			 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", k.port);
	CHECK_EQ(get(cl, url, &g), DF_OK);
	CHECK(g.status == 200 && !strcmp(g.body, "ok"));
	canned_stop(&k);
	/* a body delimited by the close */
	canned_start(&k, "HTTP/1.0 200 OK\r\n\r\nall of this", 1);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", k.port);
	CHECK_EQ(get(cl, url, &g), DF_OK);
	CHECK_STR(g.body, "all of this");
	CHECK_EQ(g.content_length, -1);
	canned_stop(&k);
	/* a short body */
	canned_start(&k, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", 1);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", k.port);
	CHECK_EQ(get(cl, url, &g), DF_ERR);
	CHECK(strstr(g.msg, "closed the connection after 5 of 100 bytes") != NULL);
	canned_stop(&k);
	/* not HTTP at all */
	canned_start(&k, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 1);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", k.port);
	CHECK_EQ(get(cl, url, &g), DF_ERR);
	CHECK(strstr(g.msg, "bad response from 127.0.0.1:") && strstr(g.msg, "malformed status line"));
	canned_stop(&k);
	/* a broken chunked body */
	canned_start(&k, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX", 1);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", k.port);
	CHECK_EQ(get(cl, url, &g), DF_ERR);
	CHECK(strstr(g.msg, "bad chunked body") != NULL);
	canned_stop(&k);
	http_client_free(cl);
}

/* At and past MAX_RESP_HEADERS (100 header lines, docs/LIMITS.md): 100 are read, a response with 101
 * fails with a parse error naming the source. */
static void resp_header_limit(void)
{
	struct http_client *cl = client(NULL);
	static char resp[2][4096];
	for (int v = 0; v < 2; v++) {
		int nh = 100 + v, n = snprintf(resp[v], sizeof resp[v], "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
		for (int i = 1; i < nh; i++)
			n += snprintf(resp[v] + n, sizeof resp[v] - (size_t)n, "X-H%d: %d\r\n", i, i);
		snprintf(resp[v] + n, sizeof resp[v] - (size_t)n, "\r\nok");
	}
	struct canned k;
	struct got g;
	char url[128];
	canned_start(&k, resp[0], 1);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", k.port);
	CHECK_EQ(get(cl, url, &g), DF_OK);
	CHECK(g.status == 200 && !strcmp(g.body, "ok"));
	canned_stop(&k);
	canned_start(&k, resp[1], 1);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", k.port);
	CHECK_EQ(get(cl, url, &g), DF_ERR);
	CHECK(strstr(g.msg, "bad response from 127.0.0.1:") && strstr(g.msg, "too many header fields"));
	canned_stop(&k);
	http_client_free(cl);
}

static void stale_pooled(void)
{
	/* the server closes after each answer without saying so: the pooled connection is dead, and the
	 * next fetch must still succeed, on a new connection */
	struct http_client *cl = client(NULL);
	struct canned k;
	struct got g;
	char url[128];
	canned_start(&k, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", k.port);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(get(cl, url, &g), DF_OK);
		CHECK_STR(g.body, "ok");
	}
	struct http_client_stats st;
	http_client_get_stats(cl, &st);
	CHECK_EQ(st.connects, 3);
	CHECK_EQ(k.requests, 3);
	canned_stop(&k);
	http_client_free(cl);
}

static void timeouts(void)
{
	struct http_client *cl = client(NULL);
	struct canned k;
	struct got g;
	struct http_request rq;
	char url[128];
	/* accepted, never answered */
	canned_start(&k, NULL, 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", k.port);
	got_init(&g, &rq, url);
	rq.first_byte_timeout = 0.2;
	CHECK_EQ(fetch(cl, &rq, &g), DF_ERR);
	char want[128];
	snprintf(want, sizeof want, "timeout after 0.2 s waiting for first byte from 127.0.0.1:%u", k.port);
	CHECK_STR(g.msg, want);
	canned_stop(&k);
	/* a body that stops halfway */
	canned_start(&k, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/", k.port);
	got_init(&g, &rq, url);
	rq.idle_timeout = 0.2;
	CHECK_EQ(fetch(cl, &rq, &g), DF_ERR);
	CHECK(strncmp(g.msg, "timeout after 0.2 s: no data from", 33) == 0);
	canned_stop(&k);
	http_client_free(cl);
}

static int pool_empty(void *arg)
{
	struct http_client_stats st;
	http_client_get_stats(arg, &st);
	return st.idle == 0;
}

static void pool_idle_close(void)
{
	/* the server closes its idle keep-alive connections: the pool notices and connects again */
	uint16_t port;
	struct http_server *s = routes(server(&(struct http_server_cfg){.idle_timeout = 0.05}, &port));
	struct http_client *cl = client(NULL);
	struct got g;
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/hello", port);
	CHECK_EQ(get(cl, url, &g), DF_OK);
	struct http_client_stats st;
	http_client_get_stats(cl, &st);
	CHECK_EQ(st.idle, 1);
	CHECK(run_until_pred(pool_empty, cl, 10));
	CHECK_EQ(get(cl, url, &g), DF_OK);
	http_client_get_stats(cl, &st);
	CHECK_EQ(st.connects, 2);
	CHECK_EQ(st.reused, 0);
	http_client_free(cl);
	http_server_free(s);
}

static void forward_proxy(void)
{
	uint16_t port, pport;
	struct http_server *s = df_server(&port);
	struct http_server *p = server(NULL, &pport);
	http_server_route(p, NULL, "", h_proxy, NULL);
	char proxy[64];
	snprintf(proxy, sizeof proxy, "http://u:p@127.0.0.1:%u", pport);
	struct http_client *cl = client(&(struct http_client_cfg){.http_proxy = proxy, .no_proxy = "localhost,.internal"});
	struct got g;
	struct http_request rq;
	/* a source through the proxy, in absolute form, with the proxy's credentials */
	got_init(&g, &rq, "http://files.example:8080/a/b?x=1");
	rq.use_proxy = 1;
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_STR(g.body, "proxied http://files.example:8080/a/b?x=1 pa=[Basic dTpw]");
	/* no_proxy names it: straight there (and there is nothing there) */
	got_init(&g, &rq, "http://db.internal/x");
	rq.use_proxy = 1;
	CHECK_EQ(fetch(cl, &rq, &g), DF_ERR);
	CHECK(strncmp(g.msg, "resolve db.internal", 19) == 0);
	/* a peer request never uses the proxy */
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%u/hello", port);
	got_init(&g, &rq, url);
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_STR(g.body, "hello\n");
	http_client_free(cl);
	http_server_free(p);
	http_server_free(s);
}

/* --- a CONNECT relay and a stand-in TLS factory ----------------------------------------------------- */

struct relay {
	ev_io lio, a, b;
	int lfd, fa, fb;
	uint16_t port, target;
	char head[4096];
	size_t hn;
	int tunnels;
	char seen[256];
};

static void pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof buf);
	for (ssize_t o = 0; n > 0 && o < n;) {
		ssize_t w = write(to, buf + o, (size_t)(n - o));
		if (w <= 0)
			break;
		o += w;
	}
	if (n == 0)
		shutdown(to, SHUT_WR);
}

static void relay_b_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct relay *r = DF_CONTAINER_OF(w, struct relay, b);
	pump(r->fb, r->fa);
}

static void relay_a_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct relay *r = DF_CONTAINER_OF(w, struct relay, a);
	if (r->fb >= 0) {
		pump(r->fa, r->fb);
		return;
	}
	ssize_t n = read(r->fa, r->head + r->hn, sizeof r->head - 1 - r->hn);
	if (n <= 0) {
		ev_io_stop(loop, w);
		return;
	}
	r->hn += (size_t)n;
	r->head[r->hn] = 0;
	if (!strstr(r->head, "\r\n\r\n"))
		return;
	char *eol = strstr(r->head, "\r\n");
	snprintf(r->seen, sizeof r->seen, "%.*s", (int)(eol - r->head), r->head);
	r->fb = raw_connect(r->target);
	fcntl(r->fb, F_SETFL, 0); /* blocking writes keep the relay simple */
	fcntl(r->fa, F_SETFL, 0);
	const char *ok = "HTTP/1.1 200 Connection established\r\n\r\n";
	CHECK(write(r->fa, ok, strlen(ok)) == (ssize_t)strlen(ok));
	r->tunnels++;
	ev_io_init(&r->b, relay_b_cb, r->fb, EV_READ);
	ev_io_start(loop, &r->b);
}

static void relay_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct relay *r = DF_CONTAINER_OF(w, struct relay, lio);
	r->fa = accept(r->lfd, NULL, NULL);
	r->fb = -1;
	r->hn = 0;
	ev_io_init(&r->a, relay_a_cb, r->fa, EV_READ);
	ev_io_start(loop, &r->a);
}

static struct transport_ops fake_ops;
static int fake_wraps;
static char fake_host[64];

static void fake_close(struct transport *t)
{
	struct transport tmp = *t;
	free(t);
	tmp.ops = &fake_ops;
	close(tmp.fd);
}

/* "TLS" that is plain TCP in a heap transport: exercises the factory path and the tunnel */
static struct transport *fake_tls(void *ctx, int fd, const char *host)
{
	(void)ctx;
	struct transport *t = malloc(sizeof *t);
	transport_plain_init(t, fd);
	if (!fake_ops.read) {
		fake_ops = *t->ops;
		fake_ops.close = fake_close;
	}
	t->ops = &fake_ops;
	fake_wraps++;
	snprintf(fake_host, sizeof fake_host, "%s", host);
	return t;
}

static void connect_tunnel(void)
{
	uint16_t port;
	struct http_server *s = df_server(&port);
	static struct relay r;
	memset(&r, 0, sizeof r);
	r.target = port;
	r.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t al = sizeof a;
	bind(r.lfd, (struct sockaddr *)&a, sizeof a);
	listen(r.lfd, 4);
	getsockname(r.lfd, (struct sockaddr *)&a, &al);
	r.port = ntohs(a.sin_port);
	ev_io_init(&r.lio, relay_accept_cb, r.lfd, EV_READ);
	ev_io_start(L, &r.lio);
	char proxy[64], url[128], want[128];
	snprintf(proxy, sizeof proxy, "127.0.0.1:%u", r.port);
	struct http_client *cl = client(&(struct http_client_cfg){.https_proxy = proxy, .tls_wrap = fake_tls});
	struct got g;
	struct http_request rq;
	snprintf(url, sizeof url, "https://127.0.0.1:%u/big", port);
	got_init(&g, &rq, url);
	rq.use_proxy = 1;
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_EQ(g.total, sizeof big);
	CHECK(memcmp(g.body, big, g.n) == 0);
	snprintf(want, sizeof want, "CONNECT 127.0.0.1:%u HTTP/1.1", port);
	CHECK_STR(r.seen, want);
	CHECK_EQ(fake_wraps, 1);
	CHECK_STR(fake_host, "127.0.0.1");
	/* the tunnel is pooled like any connection */
	got_init(&g, &rq, url);
	rq.use_proxy = 1;
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_EQ(r.tunnels, 1);
	/* https straight to the server, through the factory */
	got_init(&g, &rq, url);
	CHECK_EQ(fetch(cl, &rq, &g), DF_OK);
	CHECK_EQ(fake_wraps, 2);
	http_client_free(cl);
	ev_io_stop(L, &r.lio);
	ev_io_stop(L, &r.a);
	ev_io_stop(L, &r.b);
	close(r.lfd);
	close(r.fa);
	close(r.fb);
	http_server_free(s);
}

static void ipv6(void)
{
	if (!L)
		L = ev_default_loop(EVFLAG_AUTO);
	struct http_server *s = routes(http_server_new(L, NULL));
	char err[256];
	if (http_server_listen(s, "[::1]:0", err, sizeof err) != DF_OK) {
		http_server_free(s);
		UNIT_SKIP("no IPv6 loopback here: %s", err);
	}
	struct http_client *cl = client(NULL);
	struct got g;
	char url[128];
	snprintf(url, sizeof url, "http://[::1]:%u/hello", http_server_port(s));
	CHECK_EQ(get(cl, url, &g), DF_OK);
	CHECK_STR(g.body, "hello\n");
	http_client_free(cl);
	http_server_free(s);
}

static const struct unit_test tests[] = {
	{"redirects", redirects},
	{"redirect_secrets", redirect_secrets},
	{"chunked_backpressure", chunked_backpressure},
	{"download_rate_limit", download_rate_limit},
	{"download_rate_fair", download_rate_fair},
	{"errors", errors},
	{"odd_answers", odd_answers},
	{"resp_header_limit", resp_header_limit},
	{"stale_pooled", stale_pooled},
	{"timeouts", timeouts},
	{"pool_idle_close", pool_idle_close},
	{"forward_proxy", forward_proxy},
	{"connect_tunnel", connect_tunnel},
	{"ipv6", ipv6},
};
UNIT_MAIN("http_client", tests)
