/* Test tool: fetches one URL path over TLS with df's client transport on a non-blocking socket,
 * driven by poll() and the transport's want(); prints the raw response, or the TLS error in words.
 * Usage: tlsget [--cacert FILE] [--insecure] [--cert FILE --key FILE] [--name NAME] HOST PORT [PATH] */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "core/df.h"
#include "net/tls.h"

static int usage(void)
{
	fprintf(stderr, "usage: tlsget [--cacert FILE] [--insecure] [--cert FILE --key FILE] [--name NAME] HOST PORT [PATH]\n");
	return 2;
}

/* A non-blocking socket connected to host:port (the connect itself may still be in progress). */
static int dial(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai, *p;
	int fd = -1, e = getaddrinfo(host, port, &hints, &ai);
	if (e) {
		fprintf(stderr, "tlsget: %s: %s\n", host, gai_strerror(e));
		return -1;
	}
	for (p = ai; p; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, p->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, p->ai_addr, p->ai_addrlen) == 0 || errno == EINPROGRESS)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		fprintf(stderr, "tlsget: %s:%s: %s\n", host, port, strerror(errno));
	return fd;
}

/* Waits (30 s at most) for what the transport wants after DF_AGAIN. */
static int wait_for(struct transport *t)
{
	int w = t->ops->want(t);
	struct pollfd pf = {t->fd, (short)((w & EV_READ ? POLLIN : 0) | (w & EV_WRITE ? POLLOUT : 0)), 0};
	int n = poll(&pf, 1, 30000);
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? DF_OK : DF_ERR;
}

static const char *why(struct transport *t)
{
	return t->err ? t->err : strerror(errno);
}

int main(int argc, char **argv)
{
	const char *cacert = NULL, *cert = NULL, *key = NULL, *name = NULL;
	int insecure = 0, i, rc = 1;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (strcmp(argv[i], "--insecure") == 0)
			insecure = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--cacert") == 0)
			cacert = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--cert") == 0)
			cert = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--key") == 0)
			key = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--name") == 0)
			name = argv[++i];
		else
			return usage();
	}
	if (argc - i < 2 || argc - i > 3 || !cert != !key)
		return usage();
	const char *host = argv[i], *port = argv[i + 1], *path = argc - i == 3 ? argv[i + 2] : "/";

	char err[512];
	struct tls_client_cfg *cfg = tls_client_cfg_new(cacert, insecure, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "tlsget: %s\n", err);
		return 2;
	}
	if (cert && tls_client_cfg_set_cert(cfg, cert, key, err, sizeof err) < 0) {
		fprintf(stderr, "tlsget: %s\n", err);
		tls_client_cfg_free(cfg);
		return 2;
	}
	if (insecure)
		fprintf(stderr, "tlsget: warning: --insecure: the server's certificate is not verified\n");
	int fd = dial(host, port);
	if (fd < 0) {
		tls_client_cfg_free(cfg);
		return 1;
	}
	struct transport *t = tls_client_new(cfg, fd, name ? name : host);
	if (!t) {
		fprintf(stderr, "tlsget: out of memory\n");
		close(fd);
		tls_client_cfg_free(cfg);
		return 1;
	}

	char req[1024];
	int reqlen = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
	size_t sent = 0;
	/* The connect may still be in progress: the first write then waits for the socket like any other. */
	while (sent < (size_t)reqlen) {
		ssize_t n = t->ops->write(t, req + sent, (size_t)reqlen - sent);
		if (n > 0)
			sent += (size_t)n;
		else if (n != DF_AGAIN || wait_for(t) < 0)
			goto fail;
	}
	for (;;) {
		int r = t->ops->flush(t);
		if (r == DF_OK)
			break;
		if (r != DF_AGAIN || wait_for(t) < 0)
			goto fail;
	}
	static char buf[65536];
	for (;;) {
		ssize_t n = t->ops->read(t, buf, sizeof buf);
		if (n == 0)
			break;
		if (n > 0) {
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
				fprintf(stderr, "tlsget: stdout: %s\n", strerror(errno));
				goto out;
			}
			continue;
		}
		if (n != DF_AGAIN || wait_for(t) < 0)
			goto fail;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "tlsget: %s:%s: %s\n", host, port, why(t));
out:
	t->ops->close(t);
	tls_client_cfg_free(cfg);
	return rc;
}
