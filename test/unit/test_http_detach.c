/* Unit tests of the two server calls df proxy added: http_reply_abort (a cut reply is never mistaken
 * for a whole one) and http_req_detach (a CONNECT tunnel takes the socket and the bytes that came
 * after the request head). */
/* the harness is shared by every HTTP test; this one uses only its raw client */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "test/unit/test_http_harness.h"

struct ctx {
	int mode;      /* what the handler does */
	int done, ok;  /* the done callback ran, with ok */
	int detach_rc;
	char extra[64];
	size_t extra_len;
	struct http_req *req;
	ev_timer later;
};

enum { M_ABORT_MIDWAY, M_ABORT_BEFORE, M_DETACH, M_ABORT_LATER };

static void on_done(struct http_req *req, int ok, void *arg)
{
	(void)req;
	struct ctx *c = arg;
	c->done = 1;
	c->ok = ok;
}

static void produce(struct http_req *req, void *arg)
{
	(void)req;
	(void)arg;
}

static void later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ctx *c = DF_CONTAINER_OF(w, struct ctx, later);
	CHECK_EQ(http_reply_write(c->req, "0123456789", 10), 10);
	http_reply_abort(c->req);
	http_reply_abort(c->req); /* twice is harmless */
}

static void handler(struct http_req *req, void *arg)
{
	struct ctx *c = arg;
	c->req = req;
	http_req_on_done(req, on_done, c);
	switch (c->mode) {
	case M_ABORT_MIDWAY:
		CHECK_EQ(http_reply_start(req, 200, NULL, 100, produce, c), DF_OK);
		CHECK_EQ(http_reply_write(req, "0123456789", 10), 10);
		http_reply_abort(req);
		break;
	case M_ABORT_BEFORE:
		http_reply_abort(req);
		break;
	case M_ABORT_LATER:
		/* unknown length (chunked): only an abort tells the client the body is cut */
		CHECK_EQ(http_reply_start(req, 200, NULL, -1, produce, c), DF_OK);
		ev_timer_init(&c->later, later_cb, 0.01, 0);
		ev_timer_start(L, &c->later);
		break;
	case M_DETACH: {
		int fd = -1;
		c->detach_rc = http_req_detach(req, &fd, c->extra, sizeof c->extra, &c->extra_len);
		if (c->detach_rc == DF_OK) {
			CHECK(c->done); /* the server let go of the exchange first */
			CHECK(write(fd, "pong:", 5) == 5);
			CHECK(write(fd, c->extra, c->extra_len) == (ssize_t)c->extra_len);
			close(fd);
		} else {
			http_reply(req, 409, NULL, "no\n", 3);
		}
		break;
	}
	}
}

static struct http_server *setup(struct ctx *c, uint16_t *port)
{
	struct http_server_cfg cfg = {0};
	struct http_server *s = server(&cfg, port);
	CHECK_EQ(http_server_route(s, NULL, "", handler, c), DF_OK);
	return s;
}

static void test_abort_midway(void)
{
	struct ctx c = {.mode = M_ABORT_MIDWAY};
	uint16_t port;
	struct http_server *s = setup(&c, &port);
	static struct raw r;
	const char *out = raw_exchange(&r, port, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 5);
	CHECK(out != NULL);
	CHECK(out && strstr(out, "Content-Length: 100\r\n") != NULL);
	const char *body = out ? strstr(out, "\r\n\r\n") : NULL;
	CHECK(body && strcmp(body + 4, "0123456789") == 0); /* 10 of 100 bytes, then the close */
	CHECK(run_until(&c.done, 5));
	CHECK_EQ(c.ok, 0);
	http_server_free(s);
}

static void test_abort_chunked(void)
{
	struct ctx c = {.mode = M_ABORT_LATER};
	uint16_t port;
	struct http_server *s = setup(&c, &port);
	static struct raw r;
	const char *out = raw_exchange(&r, port, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 5);
	CHECK(out && strstr(out, "Transfer-Encoding: chunked\r\n") != NULL);
	CHECK(out && strstr(out, "0123456789") != NULL);
	CHECK(out && strstr(out, "\r\n0\r\n\r\n") == NULL); /* never the last chunk */
	CHECK(run_until(&c.done, 5));
	CHECK_EQ(c.ok, 0);
	http_server_free(s);
}

static void test_abort_before_reply(void)
{
	struct ctx c = {.mode = M_ABORT_BEFORE};
	uint16_t port;
	struct http_server *s = setup(&c, &port);
	static struct raw r;
	const char *out = raw_exchange(&r, port, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 5);
	CHECK(out && out[0] == 0); /* closed without a byte */
	CHECK(c.done && !c.ok);
	http_server_free(s);
}

static void test_detach(void)
{
	struct ctx c = {.mode = M_DETACH};
	uint16_t port;
	struct http_server *s = setup(&c, &port);
	static struct raw r;
	/* the tunnel's first bytes arrive with the head, as a client's TLS hello may */
	const char *out = raw_exchange(&r, port, "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\nhello", 5);
	CHECK_EQ(c.detach_rc, DF_OK);
	CHECK(out && strcmp(out, "pong:hello") == 0);
	CHECK(c.done && !c.ok);
	struct http_server_stats st;
	http_server_get_stats(s, &st);
	CHECK_EQ(st.conns, 0);
	http_server_free(s);
}

static void test_detach_refused(void)
{
	struct ctx c = {.mode = M_DETACH};
	uint16_t port;
	struct http_server *s = setup(&c, &port);
	static struct raw r;
	const char *out = raw_exchange(&r, port, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", 5);
	CHECK_EQ(c.detach_rc, DF_ERR); /* a request with a body stays HTTP */
	CHECK(out && strncmp(out, "HTTP/1.1 409", 12) == 0);
	http_server_free(s);
}

static const struct unit_test tests[] = {
	{"abort_midway", test_abort_midway},
	{"abort_chunked", test_abort_chunked},
	{"abort_before_reply", test_abort_before_reply},
	{"detach", test_detach},
	{"detach_refused", test_detach_refused},
};
UNIT_MAIN("http_detach", tests)
