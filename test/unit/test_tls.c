/* Unit tests of net/tls: client and server transports talking over a non-blocking socketpair in one
 * process (handshakes, 1-byte and bulk transfers, sendfile, close), verification failures and their
 * words, mutual TLS, and the cfg loaders' errors. Certificates come from test/tools/tls_certs.sh. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "core/df.h"
#include "net/pem.h"
#include "net/tls.h"
#include "net/tls_x509.h"
#include "test/unit/test_tls_harness.h"
#include "test/unit/unit.h"

static char err[512];

static struct tls_client_cfg *client_cfg(const char *ca, int insecure)
{
	struct tls_client_cfg *c = tls_client_cfg_new(ca ? unit_pki(ca) : NULL, insecure, err, sizeof err);
	if (!c)
		fprintf(stderr, "    client cfg: %s\n", err);
	CHECK(c != NULL);
	return c;
}

static struct tls_server_cfg *server_cfg(const char *cert, const char *key)
{
	struct tls_server_cfg *s = tls_server_cfg_new(unit_pki(cert), unit_pki(key), err, sizeof err);
	if (!s)
		fprintf(stderr, "    server cfg: %s\n", err);
	CHECK(s != NULL);
	return s;
}

/* ---- a client and a server on the two ends of a socketpair, both non-blocking ---- */

struct pair {
	struct transport *c, *s;
};

static int pair_open(struct pair *p, const struct tls_client_cfg *cc, const char *name, const struct tls_server_cfg *sc)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return DF_ERR;
	/* Small socket buffers, so that records are sent in parts and DF_AGAIN paths run. */
	int small = 4096;
	for (int i = 0; i < 2; i++)
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	p->c = tls_client_new(cc, sv[0], name);
	p->s = tls_server_new(sc, sv[1]);
	return p->c && p->s ? DF_OK : DF_ERR;
}

static void pair_close(struct pair *p)
{
	if (p->c)
		p->c->ops->close(p->c);
	if (p->s)
		p->s->ops->close(p->s);
}

/* Drives a (reading) and b (reading, so that its handshake goes on) until a fails or ends; returns
 * a's final read result (0 or DF_ERR) and leaves a's message in a->err. */
static ssize_t read_until_end(struct transport *a, struct transport *b)
{
	unsigned char buf[256];
	int b_over = 0;
	for (int rounds = 0; rounds < 10000; rounds++) {
		ssize_t n = a->ops->read(a, buf, sizeof buf);
		if (n == 0 || n == DF_ERR)
			return n;
		if (!b_over) {
			ssize_t m = b->ops->read(b, buf, sizeof buf);
			if (m == 0 || m == DF_ERR)
				b_over = 1;
		}
		if (n == DF_AGAIN && (b_over ? wait_both(a, a) : wait_both(a, b)) < 0)
			return DF_AGAIN;
	}
	return DF_AGAIN;
}

static unsigned char *pattern(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	return p;
}

/* Both directions, a clean close both ways: the common shape of the happy-path tests. */
static void roundtrip(const char *ca, int insecure, const char *name, const char *cert, const char *key)
{
	struct tls_client_cfg *cc = client_cfg(ca, insecure);
	struct tls_server_cfg *sc = server_cfg(cert, key);
	struct pair p = {0};
	if (!cc || !sc)
		goto out;
	CHECK_EQ(pair_open(&p, cc, name, sc), DF_OK);
	unsigned char *req = pattern(3000, 1), *resp = pattern(200000, 2);
	CHECK_EQ(transfer(p.c, p.s, req, 3000, 1000, 700), DF_OK);
	CHECK_EQ(transfer(p.s, p.c, resp, 200000, 65536, 5000), DF_OK);
	/* The server says close_notify: the client's read ends with 0, not an error. */
	p.s->ops->shutdown(p.s);
	CHECK_EQ(read_until_end(p.c, p.s), 0);
	CHECK(p.s->ops->flush(p.s) != DF_ERR);
	free(req);
	free(resp);
out:
	pair_close(&p);
	tls_client_cfg_free(cc);
	tls_server_cfg_free(sc);
}

static void rsa_by_name(void) { roundtrip("ca.crt", 0, "localhost", "rsa.crt", "rsa.key"); }
static void ec_by_name(void) { roundtrip("ca.crt", 0, "LocalHost", "ec.crt", "ec.key"); }
static void rsa_by_ipv4(void) { roundtrip("ca.crt", 0, "127.0.0.1", "rsa.crt", "rsa-pkcs1.key"); }
static void ec_by_ipv6(void) { roundtrip("ca.crt", 0, "[::1]", "ec.crt", "ec-sec1.key"); }
static void chain_file(void) { roundtrip("ca.crt", 0, "localhost", "rsa-chain.crt", "rsa.key"); }
static void no_name(void) { roundtrip("ca.crt", 0, NULL, "ec.crt", "ec.key"); }
/* A CA file holding the server's own (non-CA) certificate trusts exactly that server. */
static void direct_trust(void) { roundtrip("ec.crt", 0, "localhost", "ec.crt", "ec.key"); }
static void dotted_name(void) { roundtrip("ca.crt", 0, "localhost.", "ec.crt", "ec.key"); }
/* Insecure trusts a certificate from an unknown CA for a wrong name. */
static void insecure(void) { roundtrip("ca2.crt", 1, "nowhere.example", "wrong.crt", "wrong.key"); }

/* 1-byte writes and 1-byte reads: one record per byte, and a reader that leaves data in the engine. */
static void one_byte(void)
{
	struct tls_client_cfg *cc = client_cfg("ca.crt", 0);
	struct tls_server_cfg *sc = server_cfg("ec.crt", "ec.key");
	struct pair p = {0};
	CHECK_EQ(pair_open(&p, cc, "localhost", sc), DF_OK);
	unsigned char *data = pattern(2000, 3);
	CHECK_EQ(transfer(p.c, p.s, data, 2000, 1, 1), DF_OK);
	CHECK_EQ(transfer(p.s, p.c, data, 2000, 1, 1), DF_OK);
	/* A 100-byte record read one byte at a time: pending() counts down what is left. */
	CHECK_EQ(p.c->ops->write(p.c, data, 100), 100);
	unsigned char b;
	ssize_t n;
	while ((n = p.s->ops->read(p.s, &b, 1)) == DF_AGAIN)
		CHECK_EQ(wait_both(p.s, p.c), DF_OK);
	CHECK_EQ(n, 1);
	CHECK_EQ(b, data[0]);
	CHECK_EQ(p.s->ops->pending(p.s), 99);
	CHECK_EQ(p.s->ops->read(p.s, &b, 1), 1);
	CHECK_EQ(b, data[1]);
	CHECK_EQ(p.s->ops->pending(p.s), 98);
	free(data);
	pair_close(&p);
	tls_client_cfg_free(cc);
	tls_server_cfg_free(sc);
}

/* Both sides write 600 KB and read the other's 600 KB at the same time, through 4 KB socket buffers:
 * neither direction may wait on the other inside the engine. */
static void full_duplex(void)
{
	struct tls_client_cfg *cc = client_cfg("ca.crt", 0);
	struct tls_server_cfg *sc = server_cfg("rsa.crt", "rsa.key");
	struct pair p = {0};
	const size_t len = 600000;
	unsigned char *data[2] = {pattern(len, 6), pattern(len, 7)}, *out[2] = {malloc(len), malloc(len)};
	size_t wrote[2] = {0, 0}, got[2] = {0, 0};
	CHECK_EQ(pair_open(&p, cc, "localhost", sc), DF_OK);
	struct transport *t[2] = {p.c, p.s};
	while (got[0] < len || got[1] < len) {
		int progress = 0;
		for (int i = 0; i < 2; i++) {
			if (wrote[i] < len) {
				ssize_t n = t[i]->ops->write(t[i], data[i] + wrote[i], DF_MIN(7000, len - wrote[i]));
				if (n > 0) {
					wrote[i] += (size_t)n;
					progress = 1;
				}
				CHECK(n > 0 || n == DF_AGAIN);
				if (n == DF_ERR)
					goto out;
			} else if (t[i]->ops->flush(t[i]) == DF_ERR) {
				CHECK(0);
				goto out;
			}
			/* side i reads what the other side sent */
			ssize_t n = t[i]->ops->read(t[i], out[1 - i] + got[1 - i], len - got[1 - i]);
			if (n > 0) {
				got[1 - i] += (size_t)n;
				progress = 1;
			} else if (got[1 - i] < len) {
				CHECK_EQ(n, DF_AGAIN);
				if (n != DF_AGAIN)
					goto out;
			}
		}
		if (!progress && wait_both(p.c, p.s) < 0) {
			CHECK(0);
			break;
		}
	}
	CHECK(memcmp(out[0], data[0], len) == 0);
	CHECK(memcmp(out[1], data[1], len) == 0);
out:
	for (int i = 0; i < 2; i++) {
		free(data[i]);
		free(out[i]);
	}
	pair_close(&p);
	tls_client_cfg_free(cc);
	tls_server_cfg_free(sc);
}

/* sendfile: pread into the engine, encrypt, send; the reader gets the file's exact bytes. */
static void sendfile_exact(void)
{
	struct tls_client_cfg *cc = client_cfg("ca.crt", 0);
	struct tls_server_cfg *sc = server_cfg("rsa.crt", "rsa.key");
	struct pair p = {0};
	const size_t len = 3 * 1024 * 1024 + 12345;
	unsigned char *data = pattern(len, 4), *out = malloc(len);
	char file[600];
	snprintf(file, sizeof file, "%s/big", unit_tmpdir());
	int fd = open(file, O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, len), (ssize_t)len);
	CHECK_EQ(pair_open(&p, cc, "localhost", sc), DF_OK);
	/* Start 100 bytes in, as a range request would. */
	off_t off = 100;
	size_t got = 0, want = len - 100;
	int calls = 0;
	while (got < want) {
		int progress = 0;
		if ((size_t)off < len) {
			ssize_t n = p.s->ops->sendfile(p.s, fd, &off, len - (size_t)off);
			if (n > 0) {
				progress = 1;
				calls++;
				CHECK(n <= 1 << 20);
			} else if (n != DF_AGAIN) {
				fprintf(stderr, "    sendfile: %s\n", p.s->err);
				break;
			}
		} else {
			CHECK(p.s->ops->flush(p.s) != DF_ERR);
		}
		ssize_t n = p.c->ops->read(p.c, out + got, want - got);
		if (n > 0) {
			got += (size_t)n;
			progress = 1;
		} else if (n != DF_AGAIN) {
			fprintf(stderr, "    read: %s\n", n == 0 ? "end of stream" : p.c->err);
			break;
		}
		if (!progress && wait_both(p.s, p.c) < 0)
			break;
	}
	CHECK_EQ(got, want);
	CHECK_EQ(off, (off_t)len);
	CHECK(memcmp(out, data + 100, want) == 0);
	CHECK(calls > 3);
	/* Past the end of the file: an error in words, not a hang or a silent 0. */
	off = (off_t)len;
	CHECK_EQ(p.s->ops->sendfile(p.s, fd, &off, 10), DF_ERR);
	CHECK_STR(p.s->err, "file ended before the bytes to send");
	close(fd);
	free(data);
	free(out);
	pair_close(&p);
	tls_client_cfg_free(cc);
	tls_server_cfg_free(sc);
}

/* A handshake that must fail: the client's message, and the server's. */
static void refused(struct tls_client_cfg *cc, const char *name, struct tls_server_cfg *sc, const char *client_err,
		    const char *server_err)
{
	struct pair p = {0};
	CHECK_EQ(pair_open(&p, cc, name, sc), DF_OK);
	unsigned char x = 'x';
	ssize_t n = DF_AGAIN;
	/* The client writes (starting the handshake) while the server reads. */
	for (int i = 0; i < 1000 && n == DF_AGAIN; i++) {
		n = p.c->ops->write(p.c, &x, 1);
		ssize_t m = p.s->ops->read(p.s, &x, 1);
		if (m == DF_ERR && server_err)
			CHECK_STR(p.s->err, server_err);
		if (n == DF_AGAIN && m == DF_AGAIN)
			CHECK_EQ(wait_both(p.c, p.s), DF_OK);
	}
	if (client_err) {
		if (n > 0) /* a client that sent its last flight before the server said no learns it on read */
			n = read_until_end(p.c, p.s);
		CHECK_EQ(n, DF_ERR);
		CHECK_STR(p.c->err, client_err);
		/* Sticky: the next call gives the same words. */
		CHECK_EQ(p.c->ops->write(p.c, &x, 1), DF_ERR);
		CHECK_STR(p.c->err, client_err);
	}
	if (server_err) {
		CHECK_EQ(read_until_end(p.s, p.c), DF_ERR);
		CHECK_STR(p.s->err, server_err);
	}
	pair_close(&p);
}

static void unknown_ca(void)
{
	struct tls_client_cfg *cc = client_cfg("ca2.crt", 0);
	struct tls_server_cfg *sc = server_cfg("rsa.crt", "rsa.key");
	refused(cc, "localhost", sc, "certificate verify failed: unknown CA", "peer sent fatal alert: unknown CA");
	tls_client_cfg_free(cc);
	tls_server_cfg_free(sc);
}

static void wrong_host(void)
{
	struct tls_client_cfg *cc = client_cfg("ca.crt", 0);
	struct tls_server_cfg *sc = server_cfg("wrong.crt", "wrong.key");
	refused(cc, "localhost", sc, "certificate verify failed: hostname mismatch", "peer sent fatal alert: bad certificate");
	refused(cc, "127.0.0.1", sc, "certificate verify failed: hostname mismatch", "peer sent fatal alert: bad certificate");
	tls_server_cfg_free(sc);
	/* Right certificate, other names: a DNS name and IP addresses it does not list. */
	sc = server_cfg("ec.crt", "ec.key");
	refused(cc, "example.com", sc, "certificate verify failed: hostname mismatch", NULL);
	refused(cc, "127.0.0.2", sc, "certificate verify failed: hostname mismatch", NULL);
	refused(cc, "::2", sc, "certificate verify failed: hostname mismatch", NULL);
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	refused(cc, longname, sc, "server name too long for TLS (255 bytes at most)", NULL);
	tls_client_cfg_free(cc);
	tls_server_cfg_free(sc);
}

static void expired(void)
{
	struct tls_client_cfg *cc = client_cfg("ca.crt", 0);
	struct tls_server_cfg *sc = server_cfg("expired.crt", "expired.key");
	refused(cc, "localhost", sc, "certificate verify failed: expired or not yet valid",
		"peer sent fatal alert: certificate expired");
	tls_client_cfg_free(cc);
	tls_server_cfg_free(sc);
	/* Insecure does not care. */
	roundtrip(NULL, 1, "localhost", "expired.crt", "expired.key");
}

/* Mutual TLS: the server wants a client certificate from ca; one from ca2, or none, is refused. */
static void mutual(void)
{
	struct tls_server_cfg *sc = server_cfg("ec.crt", "ec.key");
	struct tls_client_cfg *good = client_cfg("ca.crt", 0), *bad = client_cfg("ca.crt", 0),
			      *none = client_cfg("ca.crt", 0);
	CHECK_EQ(tls_server_cfg_require_client_ca(sc, unit_pki("ca.crt"), err, sizeof err), DF_OK);
	CHECK_EQ(tls_client_cfg_set_cert(good, unit_pki("client.crt"), unit_pki("client.key"), err, sizeof err), DF_OK);
	CHECK_EQ(tls_client_cfg_set_cert(bad, unit_pki("client2.crt"), unit_pki("client2.key"), err, sizeof err), DF_OK);

	struct tls_client_cfg *good_rsa = client_cfg("ca.crt", 0);
	CHECK_EQ(tls_client_cfg_set_cert(good_rsa, unit_pki("client-rsa.crt"), unit_pki("client-rsa.key"), err, sizeof err), DF_OK);

	struct tls_client_cfg *goods[] = {good, good_rsa};
	unsigned char *data = pattern(50000, 5);
	for (int i = 0; i < 2; i++) {
		struct pair p = {0};
		CHECK_EQ(pair_open(&p, goods[i], "localhost", sc), DF_OK);
		CHECK_EQ(transfer(p.c, p.s, data, 50000, 50000, 50000), DF_OK);
		CHECK_EQ(transfer(p.s, p.c, data, 50000, 50000, 50000), DF_OK);
		pair_close(&p);
	}
	free(data);
	tls_client_cfg_free(good_rsa);

	refused(bad, "localhost", sc, "peer sent fatal alert: unknown CA", "certificate verify failed: unknown CA");
	refused(none, "localhost", sc, "peer sent fatal alert: certificate required",
		"TLS: client sent no certificate (one is required)");
	tls_client_cfg_free(good);
	tls_client_cfg_free(bad);
	tls_client_cfg_free(none);
	tls_server_cfg_free(sc);
}

/* The peer's socket closes mid-stream: the reader hears it in words, not as a clean end. */
static void truncated(void)
{
	struct tls_client_cfg *cc = client_cfg("ca.crt", 0);
	struct tls_server_cfg *sc = server_cfg("ec.crt", "ec.key");
	struct pair p = {0};
	CHECK_EQ(pair_open(&p, cc, "localhost", sc), DF_OK);
	unsigned char data[100] = {0};
	CHECK_EQ(transfer(p.c, p.s, data, sizeof data, 100, 100), DF_OK);
	CHECK_EQ(transfer(p.s, p.c, data, sizeof data, 100, 100), DF_OK);
	shutdown(p.s->fd, SHUT_RDWR);
	unsigned char b;
	CHECK_EQ(p.c->ops->read(p.c, &b, 1), DF_ERR);
	CHECK_STR(p.c->err, "peer closed without close_notify");
	CHECK_EQ(p.c->ops->read(p.c, &b, 1), DF_ERR);
	CHECK_EQ(p.c->ops->flush(p.c), DF_ERR);
	pair_close(&p);

	/* A peer that goes away before finishing the handshake. */
	CHECK_EQ(pair_open(&p, cc, "localhost", sc), DF_OK);
	shutdown(p.c->fd, SHUT_RDWR);
	ssize_t n;
	while ((n = p.s->ops->read(p.s, &b, 1)) == DF_AGAIN)
		CHECK_EQ(wait_both(p.s, p.s), DF_OK);
	CHECK_EQ(n, DF_ERR);
	CHECK_STR(p.s->err, "peer closed the connection during the TLS handshake");
	pair_close(&p);
	tls_client_cfg_free(cc);
	tls_server_cfg_free(sc);
}

/* A server that is not TLS at all. */
static void not_tls(void)
{
	struct tls_client_cfg *cc = client_cfg("ca.crt", 0);
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct transport *c = tls_client_new(cc, sv[0], "localhost");
	const char *resp = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	CHECK_EQ(write(sv[1], resp, strlen(resp)), (ssize_t)strlen(resp));
	ssize_t n;
	unsigned char b;
	while ((n = c->ops->read(c, &b, 1)) == DF_AGAIN)
		CHECK_EQ(wait_both(c, c), DF_OK);
	CHECK_EQ(n, DF_ERR);
	CHECK(c->err && strncmp(c->err, "TLS: ", 5) == 0);
	c->ops->close(c);
	close(sv[1]);
	tls_client_cfg_free(cc);
}

/* want() after DF_AGAIN: a fresh client must send its ClientHello; once sent it waits to read. */
static void want_bits(void)
{
	struct tls_client_cfg *cc = client_cfg("ca.crt", 0);
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct transport *c = tls_client_new(cc, sv[0], "localhost");
	CHECK(c->ops->want(c) & EV_WRITE);
	unsigned char b;
	CHECK_EQ(c->ops->read(c, &b, 1), DF_AGAIN);
	CHECK_EQ(c->ops->want(c), EV_READ);
	CHECK_EQ(c->ops->write(c, &b, 1), DF_AGAIN);
	CHECK_EQ(c->ops->want(c), EV_READ);
	CHECK_EQ(c->ops->pending(c), 0);
	CHECK_EQ(c->ops->flush(c), DF_OK);
	c->ops->close(c);
	close(sv[1]);
	tls_client_cfg_free(cc);
}

static void memory(void)
{
	/* One connection: BearSSL's full-duplex buffer plus the contexts, in one allocation. */
	size_t n = tls_conn_size();
	printf("    tls_conn_size = %zu bytes (buffer %d)\n", n, BR_SSL_BUFSIZE_BIDI);
	CHECK(n >= BR_SSL_BUFSIZE_BIDI);
	CHECK(n < BR_SSL_BUFSIZE_BIDI + 12 * 1024);
}

static void cfg_errors(void)
{
	char why[512];
	CHECK(tls_client_cfg_new("/nonexistent/ca.pem", 0, why, sizeof why) == NULL);
	CHECK_STR(why, "/nonexistent/ca.pem: No such file or directory");
	CHECK(tls_client_cfg_new(unit_pki("ec.key"), 0, why, sizeof why) == NULL);
	CHECK(strstr(why, "ec.key: no CERTIFICATE in PEM") != NULL);
	CHECK(tls_client_cfg_new(unit_pki("."), 0, why, sizeof why) == NULL);
	CHECK(strstr(why, "Is a directory") != NULL);
	struct tls_client_cfg *c = tls_client_cfg_new("/nonexistent", 1, why, sizeof why);
	CHECK(c != NULL); /* insecure reads no CA file */
	CHECK_EQ(tls_client_cfg_set_cert(c, unit_pki("client.crt"), unit_pki("rsa.key"), why, sizeof why), DF_ERR);
	CHECK(strstr(why, "rsa.key: the key is RSA but the certificate holds an EC key") != NULL);
	tls_client_cfg_free(c);

	CHECK(tls_server_cfg_new(unit_pki("rsa.crt"), unit_pki("ec-encrypted.key"), why, sizeof why) == NULL);
	CHECK(strstr(why, "ec-encrypted.key: encrypted private keys are not supported") != NULL);
	CHECK(tls_server_cfg_new(unit_pki("ec.crt"), unit_pki("wrong.key"), why, sizeof why) == NULL);
	CHECK(strstr(why, "wrong.key: the private key does not match the certificate's public key in") != NULL);
	CHECK(tls_server_cfg_new(unit_pki("ec.crt"), unit_pki("ec.crt"), why, sizeof why) == NULL);
	CHECK(strstr(why, "ec.crt: no PRIVATE KEY in PEM") != NULL);
	CHECK(tls_server_cfg_new(unit_pki("nope.crt"), unit_pki("ec.key"), why, sizeof why) == NULL);
	CHECK(strstr(why, "nope.crt: No such file or directory") != NULL);

	/* A damaged PEM names the line. */
	char bad[600];
	snprintf(bad, sizeof bad, "%s/bad.pem", unit_tmpdir());
	FILE *f = fopen(bad, "w");
	fputs("junk before is fine\n-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	CHECK(tls_client_cfg_new(bad, 0, why, sizeof why) == NULL);
	CHECK(strstr(why, "bad.pem: line 3: malformed PEM") != NULL);
	f = fopen(bad, "w");
	fputs("-----BEGIN CERTIFICATE-----\nMIIB\n", f);
	fclose(f);
	CHECK(tls_client_cfg_new(bad, 0, why, sizeof why) == NULL);
	CHECK(strstr(why, "bad.pem: line 1: PEM object has no END line") != NULL);
}

/* The system bundle loads (when the machine has one) and gives many anchors. */
static void system_bundle(void)
{
	struct pem_anchors a;
	char why[256];
	if (access(TLS_SYSTEM_CAFILE, R_OK) != 0) {
		printf("    (no %s here)\n", TLS_SYSTEM_CAFILE);
		return;
	}
	CHECK_EQ(pem_anchors_load(TLS_SYSTEM_CAFILE, &a, why, sizeof why), DF_OK);
	CHECK(a.n > 50);
	pem_anchors_free(&a);
	struct tls_client_cfg *c = tls_client_cfg_new(NULL, 0, why, sizeof why);
	CHECK(c != NULL);
	tls_client_cfg_free(c);
}

static void san_ip(void)
{
	char *text;
	size_t len;
	struct pem_chain ch;
	unsigned char v4[4] = {127, 0, 0, 1}, v4b[4] = {127, 0, 0, 2}, v6[16] = {0};
	v6[15] = 1;
	CHECK_EQ(pem_read_file(unit_pki("ec.crt"), &text, &len, err, sizeof err), DF_OK);
	CHECK_EQ(pem_chain_parse(text, len, &ch, err, sizeof err), DF_OK);
	free(text);
	const unsigned char *der = ch.certs[0].data;
	size_t n = ch.certs[0].data_len;
	CHECK_EQ(tls_cert_has_ip(der, n, v4, 4), 1);
	CHECK_EQ(tls_cert_has_ip(der, n, v6, 16), 1);
	CHECK_EQ(tls_cert_has_ip(der, n, v4b, 4), 0);
	/* Every truncation is malformed or a miss, never a read past the end (ASan watches). */
	for (size_t k = 0; k < n; k++) {
		unsigned char *cut = malloc(k ? k : 1);
		memcpy(cut, der, k);
		CHECK(tls_cert_has_ip(cut, k, v4, 4) != 1);
		free(cut);
	}
	pem_chain_free(&ch);

	unsigned char ip[16];
	CHECK_EQ(tls_ip_literal("10.1.2.3", ip), 4);
	CHECK_EQ(ip[3], 3);
	CHECK_EQ(tls_ip_literal("[::1]", ip), 16);
	CHECK_EQ(tls_ip_literal("::ffff:1.2.3.4", ip), 16);
	CHECK_EQ(tls_ip_literal("localhost", ip), 0);
	CHECK_EQ(tls_ip_literal("1.2.3", ip), 0);
	CHECK_EQ(tls_ip_literal("", ip), 0);
	CHECK_EQ(tls_ip_literal(NULL, ip), 0);
}

static void words(void)
{
	CHECK_STR(tls_strerror(BR_ERR_X509_NOT_TRUSTED), "certificate verify failed: unknown CA");
	CHECK_STR(tls_strerror(BR_ERR_X509_BAD_SERVER_NAME), "certificate verify failed: hostname mismatch");
	CHECK_STR(tls_strerror(BR_ERR_RECV_FATAL_ALERT + 48), "peer sent fatal alert: unknown CA");
	CHECK_STR(tls_strerror(BR_ERR_SEND_FATAL_ALERT + 42), "sent fatal alert: bad certificate");
	CHECK(strstr(tls_strerror(BR_ERR_SEND_FATAL_ALERT + 40), "no cipher suite in common") != NULL);
	CHECK_STR(tls_strerror(BR_ERR_RECV_FATAL_ALERT + 255), "peer sent a fatal alert");
	CHECK_STR(tls_strerror(11), "TLS: unknown error");
	for (int e = 0; e < 1024; e++)
		CHECK(tls_strerror(e) != NULL && tls_strerror(e)[0]);
}

static const struct unit_test tests[] = {
	{"rsa_by_name", rsa_by_name},
	{"ec_by_name", ec_by_name},
	{"rsa_by_ipv4", rsa_by_ipv4},
	{"ec_by_ipv6", ec_by_ipv6},
	{"chain_file", chain_file},
	{"no_name", no_name},
	{"dotted_name", dotted_name},
	{"direct_trust", direct_trust},
	{"insecure", insecure},
	{"one_byte", one_byte},
	{"full_duplex", full_duplex},
	{"sendfile_exact", sendfile_exact},
	{"unknown_ca", unknown_ca},
	{"wrong_host", wrong_host},
	{"expired", expired},
	{"mutual", mutual},
	{"truncated", truncated},
	{"not_tls", not_tls},
	{"want_bits", want_bits},
	{"memory", memory},
	{"cfg_errors", cfg_errors},
	{"system_bundle", system_bundle},
	{"san_ip", san_ip},
	{"words", words},
};

UNIT_MAIN("tls", tests)
