/* Test tool: a libev HTTPS server on df's TLS server transport. Answers every request with a fixed
 * body, or with a file sent through the transport's sendfile; prints each connection's error in words.
 * Usage: tlsserve --cert FILE --key FILE --port PORT [--listen ADDR] [--client-ca FILE] [--file FILE] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* libev's watcher macros cast between watcher types by design (ev.pod, "strict aliasing"). */
#pragma GCC diagnostic ignored "-Wstrict-aliasing"
#include <ev.h>

#include "core/df.h"
#include "net/tls.h"

static const char hello[] = "hello from tlsserve\n";

static struct tls_server_cfg *cfg;
static int body_fd = -1;
static size_t body_len = sizeof hello - 1;

enum state { READ_REQ, SEND_HEAD, SEND_BODY, CLOSING };

struct conn {
	ev_io io;
	struct transport *t;
	enum state state;
	int shut;
	char req[4096];
	size_t reqlen;
	char head[256];
	size_t headlen, headoff;
	off_t off;
};

static void conn_free(struct ev_loop *loop, struct conn *c)
{
	ev_io_stop(loop, &c->io);
	c->t->ops->close(c->t);
	free(c);
}

/* Runs the connection as far as the socket allows: DF_AGAIN (wait for want()), DF_OK (done), DF_ERR. */
static int step(struct conn *c)
{
	struct transport *t = c->t;
	for (;;) {
		ssize_t n;
		switch (c->state) {
		case READ_REQ:
			n = t->ops->read(t, c->req + c->reqlen, sizeof c->req - 1 - c->reqlen);
			if (n == 0) {
				t->err = "client closed before the end of its request";
				return DF_ERR;
			}
			if (n < 0)
				return (int)n;
			c->reqlen += (size_t)n;
			c->req[c->reqlen] = 0;
			if (strstr(c->req, "\r\n\r\n")) {
				c->headlen = (size_t)snprintf(c->head, sizeof c->head,
							      "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
							      body_len);
				c->state = SEND_HEAD;
			} else if (c->reqlen == sizeof c->req - 1) {
				t->err = "request head too long";
				return DF_ERR;
			}
			break;
		case SEND_HEAD:
			n = t->ops->write(t, c->head + c->headoff, c->headlen - c->headoff);
			if (n < 0)
				return (int)n;
			c->headoff += (size_t)n;
			if (c->headoff == c->headlen)
				c->state = SEND_BODY;
			break;
		case SEND_BODY:
			if ((size_t)c->off == body_len) {
				c->state = CLOSING;
				break;
			}
			if (body_fd >= 0)
				n = t->ops->sendfile(t, body_fd, &c->off, body_len - (size_t)c->off);
			else
				n = t->ops->write(t, hello + c->off, body_len - (size_t)c->off);
			if (n < 0)
				return (int)n;
			if (body_fd < 0)
				c->off += n;
			break;
		case CLOSING:
			if (!c->shut) {
				t->ops->shutdown(t);
				c->shut = 1;
			}
			return t->ops->flush(t);
		}
	}
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = DF_CONTAINER_OF(w, struct conn, io);
	(void)revents;
	int r = step(c);
	if (r == DF_AGAIN) {
		int want = c->t->ops->want(c->t);
		if (want != (c->io.events & (EV_READ | EV_WRITE))) {
			ev_io_stop(loop, &c->io);
			ev_io_set(&c->io, c->t->fd, want);
			ev_io_start(loop, &c->io);
		}
		return;
	}
	if (r == DF_ERR)
		fprintf(stderr, "tlsserve: connection: %s\n", c->t->err ? c->t->err : strerror(errno));
	conn_free(loop, c);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				fprintf(stderr, "tlsserve: accept: %s\n", strerror(errno));
			return;
		}
		struct conn *c = calloc(1, sizeof *c);
		struct transport *t = c ? tls_server_new(cfg, fd) : NULL;
		if (!t) {
			fprintf(stderr, "tlsserve: out of memory\n");
			free(c);
			close(fd);
			continue;
		}
		c->t = t;
		ev_io_init(&c->io, conn_cb, fd, EV_READ);
		ev_io_start(loop, &c->io);
	}
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int usage(void)
{
	fprintf(stderr, "usage: tlsserve --cert FILE --key FILE --port PORT [--listen ADDR] [--client-ca FILE] [--file FILE]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *ca = NULL, *file = NULL, *addr = "127.0.0.1";
	int port = 0;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		if (strcmp(argv[i], "--cert") == 0)
			cert = argv[++i];
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[++i];
		else if (strcmp(argv[i], "--client-ca") == 0)
			ca = argv[++i];
		else if (strcmp(argv[i], "--file") == 0)
			file = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0)
			addr = argv[++i];
		else if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[++i]);
		else
			return usage();
	}
	if (!cert || !key || port <= 0 || port > 65535)
		return usage();

	char err[512];
	cfg = tls_server_cfg_new(cert, key, err, sizeof err);
	if (!cfg || (ca && tls_server_cfg_require_client_ca(cfg, ca, err, sizeof err) < 0)) {
		fprintf(stderr, "tlsserve: %s\n", err);
		return 2;
	}
	if (file) {
		struct stat st;
		body_fd = open(file, O_RDONLY | O_CLOEXEC);
		if (body_fd < 0 || fstat(body_fd, &st) < 0) {
			fprintf(stderr, "tlsserve: %s: %s\n", file, strerror(errno));
			return 2;
		}
		body_len = (size_t)st.st_size;
	}

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "tlsserve: %s: not an IPv4 address\n", addr);
		return 2;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0) {
		fprintf(stderr, "tlsserve: %s:%d: %s\n", addr, port, strerror(errno));
		return 1;
	}
	struct ev_loop *loop = ev_default_loop(0);
	ev_io lw;
	ev_signal sw;
	ev_io_init(&lw, accept_cb, lfd, EV_READ);
	ev_io_start(loop, &lw);
	ev_signal_init(&sw, stop_cb, SIGTERM);
	ev_signal_start(loop, &sw);
	ev_run(loop, 0);
	close(lfd);
	tls_server_cfg_free(cfg);
	return 0;
}
