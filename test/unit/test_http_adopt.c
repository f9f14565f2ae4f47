/* Unit tests of http_server_adopt (df proxy's interception serves HTTP on TLS sessions it opened
 * itself): an adopted connection is served like an accepted one, its requests see the owner's ctx,
 * on_close runs exactly once when it ends (client gone, server freed), and a server shutting down
 * refuses it and closes the transport. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "test/unit/test_http_harness.h"

struct owner {
	char name[16];
	int closed;
};

static int handled;

static void handler(struct http_req *req, void *arg)
{
	(void)arg;
	struct owner *o = http_req_conn_ctx(req);
	handled++;
	http_reply(req, 200, NULL, o ? o->name : "none", o ? strlen(o->name) : 4);
}

static void on_close(void *ctx)
{
	((struct owner *)ctx)->closed++;
}

/* The server side of a socketpair as a plain transport the server may keep (closing it closes the fd). */
static struct transport *pair(int *client)
{
	static struct transport t[4];
	static int k;
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	*client = sv[0];
	transport_plain_init(&t[k % 4], sv[1]);
	return &t[k++ % 4];
}

static const struct sockaddr_in PEER = {.sin_family = AF_INET, .sin_port = 1234, .sin_addr = {0x0100007f}};

static int readable_until(int fd, char *buf, size_t cap, const char *want)
{
	size_t got = 0;
	for (int i = 0; i < 200; i++) {
		ssize_t n = recv(fd, buf + got, cap - 1 - got, MSG_DONTWAIT);
		if (n > 0)
			got += (size_t)n;
		buf[got] = 0;
		if (strstr(buf, want))
			return 1;
		spin(0.01);
	}
	return 0;
}

static int closed_once(void *arg)
{
	return ((struct owner *)arg)->closed != 0;
}

static void test_serves_and_closes(void)
{
	uint16_t port;
	struct http_server *s = server(NULL, &port);
	CHECK_EQ(http_server_route(s, NULL, "", handler, NULL), DF_OK);
	struct owner a = {"alpha", 0}, b = {"beta", 0};
	int ca, cb;
	CHECK_EQ(http_server_adopt(s, pair(&ca), (const struct sockaddr *)&PEER, on_close, &a), DF_OK);
	CHECK_EQ(http_server_adopt(s, pair(&cb), (const struct sockaddr *)&PEER, on_close, &b), DF_OK);
	/* two requests on one adopted connection (keep-alive), each sees its connection's owner */
	char buf[2048];
	const char *rq = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
	CHECK_EQ(send(ca, rq, strlen(rq), 0), (ssize_t)strlen(rq));
	CHECK(readable_until(ca, buf, sizeof buf, "alpha"));
	CHECK_EQ(send(ca, rq, strlen(rq), 0), (ssize_t)strlen(rq));
	CHECK(readable_until(ca, buf, sizeof buf, "alpha"));
	CHECK_EQ(send(cb, rq, strlen(rq), 0), (ssize_t)strlen(rq));
	CHECK(readable_until(cb, buf, sizeof buf, "beta"));
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	CHECK_EQ(handled, 3);
	CHECK_EQ(a.closed + b.closed, 0);
	/* the client leaves: on_close runs once */
	close(ca);
	CHECK(run_until_pred(closed_once, &a, 5));
	CHECK_EQ(a.closed, 1);
	/* freeing the server ends the other one */
	http_server_free(s);
	CHECK_EQ(b.closed, 1);
	CHECK_EQ(a.closed, 1);
	close(cb);
}

static void done_cb(struct http_server *s, void *ctx)
{
	(void)s;
	*(int *)ctx = 1;
}

static void test_refused_when_stopping(void)
{
	uint16_t port;
	struct http_server *s = server(NULL, &port);
	int stopped = 0, c;
	http_server_shutdown(s, 1, done_cb, &stopped);
	struct owner o = {"late", 0};
	struct transport *t = pair(&c);
	CHECK_EQ(http_server_adopt(s, t, (const struct sockaddr *)&PEER, on_close, &o), DF_ERR);
	CHECK_EQ(o.closed, 0);
	/* the transport was closed: the client sees the end */
	char b;
	CHECK_EQ(recv(c, &b, 1, 0), 0);
	CHECK(run_until(&stopped, 5));
	http_server_free(s);
	close(c);
}

static const struct unit_test tests[] = {
	{"serves_and_closes", test_serves_and_closes},
	{"refused_when_stopping", test_refused_when_stopping},
};
UNIT_MAIN("http_adopt", tests)
