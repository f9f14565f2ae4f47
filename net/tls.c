/* The TLS transport: BearSSL's engine driven over a non-blocking socket behind the transport vtable,
 * for clients (https sources, df peers) and servers (df listeners). One allocation per connection.
 *
 * How it works. BearSSL never touches the socket: its engine says what it can do next through
 * br_ssl_engine_current_state(). SENDREC means encrypted records wait to go out (we send(2) them),
 * RECVREC that it wants record bytes (we recv(2) them), SENDAPP that it takes plaintext, RECVAPP that
 * plaintext is ready. run() moves records between engine and socket until the caller's goal
 * (SENDAPP for write, RECVAPP for read) is offered, remembering which socket direction blocked so
 * that want() can tell the loop what to wait for. The handshake happens inside the first read or
 * write. Errors are sticky: once the engine is closed every call returns the same reason. */
#include "net/tls.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/df.h"
#include "net/tls_int.h"
#include "net/tls_x509.h"

/* Internal result of run(): the peer ended the session cleanly (close_notify). */
#define TLS_EOF 1
/* One sendfile call moves at most this much, so a fast peer cannot monopolise the loop. */
#define TLS_SENDFILE_MAX (1u << 20)

struct tls_conn {
	struct transport t;
	br_ssl_engine_context *eng; /* &u.client.eng or &u.server.eng */
	union {
		br_ssl_client_context client;
		br_ssl_server_context server;
	} u;
	union {
		struct tls_x509 client;         /* server certificate check */
		br_x509_minimal_context server; /* client certificate check (mutual TLS) */
	} x509;
	const char *fail; /* why we stopped the engine ourselves (socket EOF or error), or NULL */
	int fail_errno;
	int want;                  /* EV_READ / EV_WRITE that the last DF_AGAIN waits for */
	unsigned char hs_done;     /* the handshake completed once (for the words of an early EOF) */
	unsigned char clean_eof;   /* the peer sent close_notify and left before our reply went out */
	unsigned char out_partial; /* the socket took part of the pending records (framing mid-record) */
	unsigned char alerted;     /* we told the peer why the handshake failed */
	br_x509_certificate own;   /* tls_server_new_leaf: the leaf, copied into leaf[] */
	unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
	unsigned char leaf[]; /* TLS_LEAF_MAX bytes when the server name is an IP address; a server's own leaf */
};

#define CONN(t) DF_CONTAINER_OF((t), struct tls_conn, t)

static unsigned state(const struct tls_conn *c)
{
	/* BearSSL has no public way to fail an engine from outside: our own stop reasons live in c. */
	return c->clean_eof || c->fail ? BR_SSL_CLOSED : br_ssl_engine_current_state(c->eng);
}

/* BearSSL fails without telling the peer why. Until the handshake is done our records are plaintext,
 * so the fatal alert can be written by hand: the peer then reads "unknown CA", not a bare EOF. */
static void tell_peer(struct tls_conn *c, int e)
{
	int alert = tls_alert_for(e);
	if (!alert || c->alerted || c->hs_done || c->out_partial)
		return;
	c->alerted = 1;
	unsigned v = br_ssl_engine_get_version(c->eng);
	if (!v)
		v = BR_TLS12;
	unsigned char rec[7] = {21 /* alert record */, (unsigned char)(v >> 8), (unsigned char)v, 0, 2, 2,
				(unsigned char)alert};
	(void)send(c->t.fd, rec, sizeof rec, MSG_NOSIGNAL | MSG_DONTWAIT); /* best effort: we are failing anyway */
}

/* The engine is closed: TLS_EOF after a clean close, else DF_ERR with the reason in t.err/errno. */
static int closed(struct tls_conn *c)
{
	if (c->clean_eof)
		return TLS_EOF;
	if (c->fail) {
		c->t.err = c->fail;
		errno = c->fail_errno;
		return DF_ERR;
	}
	int e = br_ssl_engine_last_error(c->eng);
	if (e == BR_ERR_OK)
		return TLS_EOF;
	tell_peer(c, e);
	c->t.err = tls_strerror(e);
	errno = EPROTO;
	return DF_ERR;
}

/* Stops the connection for a socket-level reason (kept as its error; the engine is not used again). */
static int fail(struct tls_conn *c, const char *why, int err)
{
	if (!c->fail) {
		c->fail = why;
		c->fail_errno = err;
	}
	return closed(c);
}

/* A peer that refuses our handshake sends an alert and closes, often while our flight is still
 * going out, so our send fails first. The alert may already wait in the socket: read it, so that the
 * error names the peer's reason ("unknown CA") rather than "Broken pipe". 1 when the engine failed so. */
static int salvage_alert(struct tls_conn *c)
{
	for (int i = 0; i < 64; i++) {
		unsigned st = br_ssl_engine_current_state(c->eng);
		if (st & BR_SSL_CLOSED)
			return br_ssl_engine_last_error(c->eng) != BR_ERR_OK;
		if (!(st & BR_SSL_RECVREC))
			return 0;
		size_t len;
		unsigned char *buf = br_ssl_engine_recvrec_buf(c->eng, &len);
		ssize_t n = recv(c->t.fd, buf, len, MSG_DONTWAIT);
		if (n <= 0)
			return 0;
		br_ssl_engine_recvrec_ack(c->eng, (size_t)n);
	}
	return 0;
}

/* One send(2) of pending records: DF_OK (progress), DF_AGAIN, DF_ERR or TLS_EOF. */
static int push(struct tls_conn *c)
{
	size_t len;
	unsigned char *buf = br_ssl_engine_sendrec_buf(c->eng, &len);
	for (;;) {
		ssize_t n = send(c->t.fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_partial = (size_t)n < len;
			br_ssl_engine_sendrec_ack(c->eng, (size_t)n);
			return DF_OK;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return DF_AGAIN;
		/* RFC 5246 lets a peer that sent close_notify leave without waiting for ours. */
		if (c->eng->shutdown_recv) {
			c->clean_eof = 1;
			return TLS_EOF;
		}
		int e = n < 0 ? errno : EIO;
		if (salvage_alert(c))
			return closed(c);
		return fail(c, strerror(e), e);
	}
}

/* One recv(2) of record bytes: DF_OK (progress), DF_AGAIN, DF_ERR. */
static int pull(struct tls_conn *c)
{
	size_t len;
	unsigned char *buf = br_ssl_engine_recvrec_buf(c->eng, &len);
	for (;;) {
		ssize_t n = recv(c->t.fd, buf, len, 0);
		if (n > 0) {
			br_ssl_engine_recvrec_ack(c->eng, (size_t)n);
			return DF_OK;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return DF_AGAIN;
		if (n == 0)
			return fail(c,
				    c->hs_done ? "peer closed without close_notify"
					       : "peer closed the connection during the TLS handshake",
				    ECONNRESET);
		return fail(c, strerror(errno), errno);
	}
}

/* Moves records until the engine offers goal (BR_SSL_SENDAPP or BR_SSL_RECVAPP). Returns DF_OK,
 * DF_AGAIN (c->want says on what), DF_ERR or TLS_EOF. A write does not read the socket unless the
 * engine needs input to go on (the handshake), so reading stays under the caller's control. */
static int run(struct tls_conn *c, unsigned goal)
{
	int send_blocked = 0, recv_blocked = 0, flushed = 0, r;
	c->want = 0;
	for (;;) {
		unsigned st = state(c);
		if (st & BR_SSL_CLOSED)
			return closed(c);
		if (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))
			c->hs_done = 1;
		if ((st & BR_SSL_SENDREC) && !send_blocked) {
			if ((r = push(c)) == DF_OK)
				continue;
			if (r != DF_AGAIN)
				return r;
			send_blocked = 1;
			c->want |= EV_WRITE;
		}
		if (st & goal)
			return DF_OK;
		int may_recv = (goal & BR_SSL_RECVAPP) || !(st & BR_SSL_SENDREC);
		if ((st & BR_SSL_RECVREC) && may_recv && !recv_blocked) {
			if ((r = pull(c)) == DF_OK)
				continue;
			if (r != DF_AGAIN)
				return r;
			recv_blocked = 1;
			c->want |= EV_READ;
		}
		if (c->want)
			return DF_AGAIN;
		/* A reader finding only unsent plaintext in the engine: push it out to make room. */
		if ((goal & BR_SSL_RECVAPP) && (st & BR_SSL_SENDAPP) && !flushed) {
			br_ssl_engine_flush(c->eng, 0);
			flushed = 1;
			continue;
		}
		/* E.g. a write while unread plaintext blocks the engine: the caller must read first. */
		c->t.err = "TLS engine stalled (unread data blocks the write)";
		errno = EPROTO;
		return DF_ERR;
	}
}

/* Sends what records the socket takes now; errors stay in the engine for the next call. */
static void drain(struct tls_conn *c)
{
	while ((state(c) & BR_SSL_SENDREC) && push(c) == DF_OK)
		;
}

static ssize_t tls_read(struct transport *t, void *buf, size_t len)
{
	struct tls_conn *c = CONN(t);
	int r = run(c, BR_SSL_RECVAPP);
	if (r == TLS_EOF)
		return 0;
	if (r != DF_OK)
		return r;
	size_t avail;
	unsigned char *p = br_ssl_engine_recvapp_buf(c->eng, &avail);
	size_t n = DF_MIN(avail, len);
	memcpy(buf, p, n);
	br_ssl_engine_recvapp_ack(c->eng, n);
	return (ssize_t)n;
}

/* A write after the peer's close_notify: the session is over for sending too. */
static ssize_t write_closed(struct tls_conn *c)
{
	c->t.err = "peer closed the TLS session";
	errno = EPIPE;
	return DF_ERR;
}

/* Plaintext in, records out: every call ends with a flush, so bytes never wait inside the engine
 * for a later call (records are up to 16 KB: batch small writes). */
static ssize_t tls_write(struct transport *t, const void *buf, size_t len)
{
	struct tls_conn *c = CONN(t);
	size_t done = 0;
	while (done < len) {
		int r = run(c, BR_SSL_SENDAPP);
		if (r != DF_OK) {
			if (done)
				break;
			return r == TLS_EOF ? write_closed(c) : r;
		}
		size_t avail;
		unsigned char *p = br_ssl_engine_sendapp_buf(c->eng, &avail);
		size_t n = DF_MIN(avail, len - done);
		memcpy(p, (const unsigned char *)buf + done, n);
		br_ssl_engine_sendapp_ack(c->eng, n);
		done += n;
	}
	br_ssl_engine_flush(c->eng, 0);
	drain(c);
	return (ssize_t)done;
}

/* pread(2) straight into the engine's plaintext buffer, where it is encrypted in place: the file
 * passes through one 16 KB window, never a copy of its own. */
static ssize_t tls_sendfile(struct transport *t, int fd, off_t *off, size_t len)
{
	struct tls_conn *c = CONN(t);
	size_t done = 0;
	len = DF_MIN(len, TLS_SENDFILE_MAX);
	while (done < len) {
		int r = run(c, BR_SSL_SENDAPP);
		if (r != DF_OK) {
			if (done)
				break;
			return r == TLS_EOF ? write_closed(c) : r;
		}
		size_t avail;
		unsigned char *p = br_ssl_engine_sendapp_buf(c->eng, &avail);
		ssize_t n = pread(fd, p, DF_MIN(avail, len - done), *off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (done)
				break;
			c->t.err = n == 0 ? "file ended before the bytes to send" : strerror(errno);
			if (n == 0)
				errno = EIO;
			return DF_ERR;
		}
		br_ssl_engine_sendapp_ack(c->eng, (size_t)n);
		*off += n;
		done += (size_t)n;
	}
	br_ssl_engine_flush(c->eng, 0);
	drain(c);
	return (ssize_t)done;
}

static int tls_flush(struct transport *t)
{
	struct tls_conn *c = CONN(t);
	c->want = 0;
	if (state(c) & BR_SSL_CLOSED)
		return closed(c) == DF_ERR ? DF_ERR : DF_OK;
	br_ssl_engine_flush(c->eng, 0);
	while (state(c) & BR_SSL_SENDREC) {
		int r = push(c);
		if (r == DF_AGAIN) {
			c->want = EV_WRITE;
			return DF_AGAIN;
		}
		if (r == TLS_EOF)
			return DF_OK;
		if (r != DF_OK)
			return DF_ERR;
	}
	return DF_OK;
}

static int tls_want(struct transport *t)
{
	struct tls_conn *c = CONN(t);
	if (c->want)
		return c->want;
	unsigned st = state(c);
	return (st & BR_SSL_SENDREC ? EV_WRITE : 0) | (st & BR_SSL_RECVREC ? EV_READ : 0);
}

static size_t tls_pending(struct transport *t)
{
	struct tls_conn *c = CONN(t);
	size_t n = 0;
	if (state(c) & BR_SSL_RECVAPP)
		br_ssl_engine_recvapp_buf(c->eng, &n);
	return n;
}

static void tls_shutdown(struct transport *t)
{
	struct tls_conn *c = CONN(t);
	br_ssl_engine_close(c->eng);
	drain(c);
}

static void tls_close(struct transport *t)
{
	struct tls_conn *c = CONN(t);
	if (c->t.fd >= 0)
		close(c->t.fd);
	free(c);
}

static const struct transport_ops tls_ops = {
	.read = tls_read,
	.write = tls_write,
	.sendfile = tls_sendfile,
	.flush = tls_flush,
	.want = tls_want,
	.pending = tls_pending,
	.shutdown = tls_shutdown,
	.close = tls_close,
};

static struct tls_conn *conn_new(int fd, size_t extra)
{
	struct tls_conn *c = malloc(sizeof *c + extra);
	if (!c)
		return NULL;
	/* Everything but the record buffer starts zeroed (BearSSL initialises its contexts itself). */
	memset(c, 0, offsetof(struct tls_conn, iobuf));
	c->t.ops = &tls_ops;
	c->t.fd = fd;
	/* A handshake flight leaves as several small records; with Nagle each one after the first
	 * waits for the peer's delayed ACK (40 ms, twice per handshake). Whole records go out anyway.
	 * Fails harmlessly on non-TCP sockets. */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return c;
}

/* Fresh entropy for the engine's DRBG from getrandom(2): works in a chroot without /dev, where
 * BearSSL's own seeder (rdrand or /dev/urandom) may not. If it fails, BearSSL's seeder alone is used. */
static void seed(br_ssl_engine_context *eng)
{
	unsigned char buf[32];
	if (getrandom(buf, sizeof buf, GRND_NONBLOCK) == (ssize_t)sizeof buf)
		br_ssl_engine_inject_entropy(eng, buf, sizeof buf);
}

/* Cipher suites, best first: forward secrecy and AEAD only for our servers; clients also accept CBC
 * for old https sources. BearSSL ranks ChaCha20 first, but with AES-NI AES-GCM is about three times
 * faster here (420 vs 140 MB/s), and df moves bulk data: the order follows the hardware. */
#define AEAD_SUITES(first, second)                                                                        \
	BR_TLS_ECDHE_ECDSA_WITH_##first, BR_TLS_ECDHE_RSA_WITH_##first, BR_TLS_ECDHE_ECDSA_WITH_##second, \
		BR_TLS_ECDHE_RSA_WITH_##second, BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,               \
		BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
#define CBC_SUITES                                                                            \
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, \
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
static const uint16_t suites_aesni[] = {AEAD_SUITES(AES_128_GCM_SHA256, CHACHA20_POLY1305_SHA256), CBC_SUITES};
static const uint16_t suites_soft[] = {AEAD_SUITES(CHACHA20_POLY1305_SHA256, AES_128_GCM_SHA256), CBC_SUITES};
#define N_AEAD 6

static void set_suites(struct tls_conn *c, int with_cbc)
{
	int hw = br_aes_x86ni_ctr_get_vtable() != NULL && br_ghash_pclmul_get() != 0;
	const uint16_t *list = hw ? suites_aesni : suites_soft;
	br_ssl_engine_set_suites(c->eng, list, with_cbc ? DF_ARRAY_LEN(suites_aesni) : N_AEAD);
}

/* What both sides share once BearSSL's init_full has set the algorithms: TLS 1.2 only (1.0 and 1.1
 * are deprecated by RFC 8996; BearSSL has no 1.3), no renegotiation (df never needs it, and it could
 * stall a full-duplex engine), the full-duplex buffer, and entropy. */
static void setup_engine(struct tls_conn *c)
{
	br_ssl_engine_set_versions(c->eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_add_flags(c->eng, BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_buffer(c->eng, c->iobuf, sizeof c->iobuf, 1);
	seed(c->eng);
}

struct transport *tls_client_new(const struct tls_client_cfg *cfg, int fd, const char *server_name)
{
	unsigned char ip[16];
	size_t iplen = cfg->insecure ? 0 : tls_ip_literal(server_name, ip);
	struct tls_conn *c = conn_new(fd, iplen ? TLS_LEAF_MAX : 0);
	if (!c)
		return NULL;
	br_ssl_client_context *cc = &c->u.client;
	c->eng = &cc->eng;
	br_ssl_client_init_full(cc, &c->x509.client.u.minimal, cfg->anchors.ta, cfg->anchors.n);
	tls_x509_init(&c->x509.client, cfg->insecure, ip, iplen, iplen ? c->leaf : NULL, TLS_LEAF_MAX);
	br_ssl_engine_set_x509(c->eng, &c->x509.client.vtable);
	if (cfg->has_cert) {
		const struct pem_chain *ch = &cfg->chain;
		if (cfg->key.type == BR_KEYTYPE_RSA)
			br_ssl_client_set_single_rsa(cc, ch->certs, ch->n, br_skey_decoder_get_rsa(&cfg->key.dec),
						     br_rsa_pkcs1_sign_get_default());
		else
			br_ssl_client_set_single_ec(cc, ch->certs, ch->n, br_skey_decoder_get_ec(&cfg->key.dec),
						    BR_KEYTYPE_SIGN, cfg->cert_issuer_key_type, br_ec_get_default(),
						    br_ecdsa_sign_asn1_get_default());
	}
	set_suites(c, 1);
	setup_engine(c);
	/* An IP address goes in no SNI (RFC 6066); tls_x509 checks it against the certificate instead.
	 * A fully qualified "name." is matched and sent without its final dot. */
	char name[256];
	size_t n = server_name ? strlen(server_name) : 0;
	if (n && server_name[n - 1] == '.')
		n--;
	if (n >= sizeof name) {
		fail(c, "server name too long for TLS (255 bytes at most)", EINVAL);
		return &c->t;
	}
	memcpy(name, server_name ? server_name : "", n);
	name[n] = 0;
	br_ssl_client_reset(cc, iplen || n == 0 ? NULL : name, 0);
	return &c->t;
}

/* A server connection presenting certs[0..n) (issued by a key of type issuer_type) with cfg's key;
 * certs NULL: one certificate of extra bytes in the connection's leaf[], filled in by the caller. */
static struct tls_conn *server_new(const struct tls_server_cfg *cfg, int fd, size_t extra,
				   const br_x509_certificate *certs, size_t n, int issuer_type)
{
	struct tls_conn *c = conn_new(fd, extra);
	if (!c)
		return NULL;
	br_ssl_server_context *sc = &c->u.server;
	c->eng = &sc->eng;
	if (certs == NULL) {
		/* the leaf goes in the connection's own memory; callers fill leaf[] before the handshake */
		c->own.data = c->leaf;
		c->own.data_len = extra;
		certs = &c->own;
		n = 1;
	}
	if (cfg->key.type == BR_KEYTYPE_RSA)
		br_ssl_server_init_full_rsa(sc, certs, n, br_skey_decoder_get_rsa(&cfg->key.dec));
	else
		br_ssl_server_init_full_ec(sc, certs, n, (unsigned)issuer_type, br_skey_decoder_get_ec(&cfg->key.dec));
	if (cfg->client_cas.n) {
		br_x509_minimal_init_full(&c->x509.server, cfg->client_cas.ta, cfg->client_cas.n);
		br_ssl_engine_set_x509(c->eng, &c->x509.server.vtable);
		br_ssl_server_set_trust_anchor_names_alt(sc, cfg->client_cas.ta, cfg->client_cas.n);
		/* The server init sets only what its own key needs; verifying a client's signature needs
		 * both verifiers, else the CertificateRequest offers no usable type and clients send none. */
		br_ssl_engine_set_default_rsavrfy(c->eng);
		br_ssl_engine_set_default_ecdsa(c->eng);
	}
	br_ssl_engine_add_flags(c->eng, BR_OPT_ENFORCE_SERVER_PREFERENCES);
	set_suites(c, 0);
	setup_engine(c);
	return c;
}

struct transport *tls_server_new(const struct tls_server_cfg *cfg, int fd)
{
	if (!cfg->chain.n)
		return NULL;
	struct tls_conn *c = server_new(cfg, fd, 0, cfg->chain.certs, cfg->chain.n, cfg->cert_issuer_key_type);
	if (!c)
		return NULL;
	br_ssl_server_reset(&c->u.server);
	return &c->t;
}

struct transport *tls_server_new_leaf(const struct tls_server_cfg *cfg, int fd, const unsigned char *leaf,
				      size_t leaf_len, const void *early, size_t early_len)
{
	if (!leaf_len || leaf_len > TLS_SERVER_LEAF_MAX || early_len > 4096)
		return NULL;
	struct tls_conn *c = server_new(cfg, fd, leaf_len, NULL, 0, pem_cert_signer_key_type(leaf, leaf_len));
	if (!c)
		return NULL;
	memcpy(c->leaf, leaf, leaf_len);
	br_ssl_server_reset(&c->u.server);
	/* Fed as recv(2) would: BearSSL asks for a record header, then its body, and so on. What the
	 * engine refuses is a protocol error; it stays in the engine for the first read to report. */
	const unsigned char *e = early;
	while (early_len && (br_ssl_engine_current_state(c->eng) & BR_SSL_RECVREC)) {
		size_t room;
		unsigned char *buf = br_ssl_engine_recvrec_buf(c->eng, &room);
		size_t n = DF_MIN(room, early_len);
		memcpy(buf, e, n);
		br_ssl_engine_recvrec_ack(c->eng, n);
		e += n;
		early_len -= n;
	}
	if (early_len)
		c->fail = "client sent more than its handshake before the server answered", c->fail_errno = EPROTO;
	return &c->t;
}

size_t tls_conn_size(void)
{
	return sizeof(struct tls_conn);
}
