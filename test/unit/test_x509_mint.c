/* Unit tests of net/x509_mint: leaves minted by an RSA and an EC CA parse back with BearSSL's decoder,
 * chain to their CA with br_x509_minimal (name, dates, key usage), name IP literals as iPAddress, and
 * serve a real handshake through tls_server_new_leaf; the CA loader's and the encoder's refusals.
 * The CAs come from test/tools/tls_certs.sh (openssl), as in test_tls. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "core/df.h"
#include "net/pem.h"
#include "net/tls.h"
#include "net/tls_x509.h"
#include "net/x509_mint.h"
#include "test/unit/test_tls_harness.h"
#include "test/unit/unit.h"

static char err[512];
static struct x509_mint_ca ca;
static struct x509_mint_key key;

static int load(const char *cert, const char *k)
{
	int rc = x509_mint_ca_load(&ca, unit_pki(cert), unit_pki(k), err, sizeof err);
	if (rc != DF_OK)
		fprintf(stderr, "    %s\n", err);
	return rc;
}

static void keygen(void)
{
	unsigned char seed[32];
	CHECK_EQ(getrandom(seed, sizeof seed, 0), sizeof seed);
	CHECK_EQ(x509_mint_keygen(&key, seed, sizeof seed), DF_OK);
}

static const unsigned char SERIAL[16] = {0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static int quiet; /* refusals are expected: do not print them */

static ssize_t mint(const char *host, unsigned char *out, size_t cap)
{
	const char *why = NULL;
	/* one clock reading for the whole run: the validity is signed, and ECDSA signatures differ in
	 * DER length (70-72 bytes), so a second tick between two mints could change the size that
	 * test_small_buffers expects (BearSSL's nonces are deterministic, so the same input signs alike) */
	static time_t now;
	if (!now)
		now = time(NULL);
	struct x509_mint_req rq = {.host = host, .serial = SERIAL, .not_before = now - 3600, .not_after = now + 30 * 86400};
	ssize_t n = x509_mint_leaf(&ca, &key.pk, &rq, out, cap, &why);
	if (n < 0 && cap >= X509_MINT_CERT_MAX && !quiet)
		fprintf(stderr, "    mint %s: %s\n", host, why);
	return n;
}

/* br_x509_minimal over the one-certificate chain der, trusting the CA file ca_file; the BearSSL
 * error (0: trusted). name NULL: the name is not checked. */
static int verify(const char *ca_file, const unsigned char *der, size_t len, const char *name)
{
	struct pem_anchors a;
	if (pem_anchors_load(unit_pki(ca_file), &a, err, sizeof err) != DF_OK) {
		fprintf(stderr, "    %s\n", err);
		return -1;
	}
	br_x509_minimal_context x;
	br_x509_minimal_init_full(&x, a.ta, a.n);
	time_t now = time(NULL);
	br_x509_minimal_set_time(&x, (uint32_t)(now / 86400 + 719528), (uint32_t)(now % 86400));
	const br_x509_class **vt = &x.vtable;
	(*vt)->start_chain(vt, name);
	(*vt)->start_cert(vt, (uint32_t)len);
	(*vt)->append(vt, der, len);
	(*vt)->end_cert(vt);
	unsigned e = (*vt)->end_chain(vt);
	unsigned usages = 0;
	const br_x509_pkey *pk = (*vt)->get_pkey(vt, &usages);
	if (e == 0) {
		/* the key the chain certifies is the leaf key, for signing (ECDHE_ECDSA) */
		CHECK(pk != NULL && pk->key_type == BR_KEYTYPE_EC && pk->key.ec.qlen == key.pk.qlen &&
		      memcmp(pk->key.ec.q, key.pk.q, key.pk.qlen) == 0);
		CHECK(usages & BR_KEYTYPE_SIGN);
	}
	pem_anchors_free(&a);
	return (int)e;
}

struct dn {
	unsigned char b[512];
	size_t n;
};

static void dn_add(void *ctx, const void *p, size_t n)
{
	struct dn *d = ctx;
	if (n <= sizeof d->b - d->n) {
		memcpy(d->b + d->n, p, n);
		d->n += n;
	}
}

static void leaf_checks(const char *cacert, const char *cakey, const char *other_ca, int rsa)
{
	unsigned char der[X509_MINT_CERT_MAX];
	CHECK_EQ(load(cacert, cakey), DF_OK);
	CHECK_EQ(ca.key.type, rsa ? BR_KEYTYPE_RSA : BR_KEYTYPE_EC);
	keygen();
	ssize_t n = mint("localhost", der, sizeof der);
	CHECK(n > 200);
	if (n <= 0)
		return;
	/* it decodes: the subject holds CN=localhost, the key is the leaf key, not a CA, the CA's signer type */
	struct dn d = {.n = 0};
	br_x509_decoder_context dc;
	br_x509_decoder_init(&dc, dn_add, &d);
	br_x509_decoder_push(&dc, der, (size_t)n);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	CHECK(pk != NULL);
	CHECK(!br_x509_decoder_isCA(&dc));
	CHECK_EQ(br_x509_decoder_get_signer_key_type(&dc), rsa ? BR_KEYTYPE_RSA : BR_KEYTYPE_EC);
	static const unsigned char cn[] = {0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x09, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't'};
	CHECK(d.n > sizeof cn && memcmp(d.b + d.n - sizeof cn, cn, sizeof cn) == 0);
	/* valid no longer than the CA */
	CHECK(dc.notafter_days <= (uint32_t)(ca.not_after / 86400 + 719528));
	/* chains to its CA, for that name only, and not to another CA */
	CHECK_EQ(verify(cacert, der, (size_t)n, "localhost"), 0);
	CHECK_EQ(verify(cacert, der, (size_t)n, "LOCALHOST"), 0);
	CHECK_EQ(verify(cacert, der, (size_t)n, "example.com"), BR_ERR_X509_BAD_SERVER_NAME);
	CHECK_EQ(verify(other_ca, der, (size_t)n, "localhost"), BR_ERR_X509_NOT_TRUSTED);
	/* a flipped bit in the signed part breaks the signature */
	der[n / 2] ^= 1;
	CHECK(verify(cacert, der, (size_t)n, "localhost") != 0);
	/* IP literals become iPAddress names */
	unsigned char ip4[] = {127, 0, 0, 1}, ip6[16] = {[15] = 1};
	n = mint("127.0.0.1", der, sizeof der);
	CHECK(n > 0);
	CHECK_EQ(verify(cacert, der, (size_t)n, NULL), 0);
	CHECK_EQ(tls_cert_has_ip(der, (size_t)n, ip4, 4), 1);
	n = mint("::1", der, sizeof der);
	CHECK(n > 0);
	CHECK_EQ(tls_cert_has_ip(der, (size_t)n, ip6, 16), 1);
	CHECK_EQ(tls_cert_has_ip(der, (size_t)n, ip4, 4), 0);
}

static void test_rsa_ca(void) { leaf_checks("ca.crt", "ca.key", "ca2.crt", 1); }
static void test_ec_ca(void) { leaf_checks("ca2.crt", "ca2.key", "ca.crt", 0); }

/* Every buffer shorter than the certificate is refused, and nothing is written past it. */
static void test_small_buffers(void)
{
	unsigned char der[X509_MINT_CERT_MAX + 1];
	CHECK_EQ(load("ca2.crt", "ca2.key"), DF_OK);
	keygen();
	ssize_t full = mint("registry.example.com", der, X509_MINT_CERT_MAX);
	CHECK(full > 0);
	for (size_t cap = 0; full > 0 && cap < (size_t)full; cap++) {
		memset(der, 0xee, sizeof der);
		CHECK_EQ(mint("registry.example.com", der, cap), DF_ERR);
		CHECK_EQ(der[cap], 0xee);
	}
	CHECK_EQ(mint("registry.example.com", der, (size_t)full), full);
}

static void test_refusals(void)
{
	unsigned char der[X509_MINT_CERT_MAX];
	const char *why = NULL;
	CHECK_EQ(load("ca2.crt", "ca2.key"), DF_OK);
	keygen();
	quiet = 1;
	CHECK_EQ(mint("", der, sizeof der), DF_ERR);
	CHECK_EQ(mint("a b", der, sizeof der), DF_ERR);
	CHECK_EQ(mint("evil\n.com", der, sizeof der), DF_ERR);
	char longname[80];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	CHECK_EQ(mint(longname, der, sizeof der), DF_ERR);
	quiet = 0;
	struct x509_mint_req rq = {.host = longname, .serial = SERIAL};
	CHECK_EQ(x509_mint_leaf(&ca, &key.pk, &rq, der, sizeof der, &why), DF_ERR);
	CHECK_STR(why, "host name longer than 64 bytes");
	CHECK(x509_mint_keygen(&key, "short", 5) == DF_ERR);
	/* the loader names the file and the cause */
	CHECK_EQ(x509_mint_ca_load(&ca, unit_pki("ec.crt"), unit_pki("ec.key"), err, sizeof err), DF_ERR);
	CHECK(strstr(err, "ec.crt: not a CA certificate") != NULL);
	CHECK_EQ(x509_mint_ca_load(&ca, unit_pki("ca.crt"), unit_pki("ca2.key"), err, sizeof err), DF_ERR);
	CHECK(strstr(err, "ca2.key: ") && strstr(err, "in ") && strstr(err, "ca.crt"));
	CHECK_EQ(x509_mint_ca_load(&ca, unit_pki("nope.crt"), unit_pki("ca.key"), err, sizeof err), DF_ERR);
	CHECK(strstr(err, "nope.crt: No such file or directory") != NULL);
	CHECK_EQ(x509_mint_ca_load(&ca, unit_pki("ca.crt"), unit_pki("ca.crt"), err, sizeof err), DF_ERR);
	CHECK(strstr(err, "ca.crt: no PRIVATE KEY") != NULL);
	CHECK_EQ(x509_mint_ca_load(&ca, unit_pki("ca.key"), unit_pki("ca.key"), err, sizeof err), DF_ERR);
	CHECK(strstr(err, "ca.key: no CERTIFICATE") != NULL);
}

/* ---- a handshake: tls_server_new_leaf with the minted leaf, df's TLS client trusting the CA ---- */

/* Sends msg from a to b; DF_OK when b got exactly it. */
static int send_recv(struct transport *a, struct transport *b, const char *msg)
{
	return transfer(a, b, (const unsigned char *)msg, strlen(msg), SIZE_MAX, SIZE_MAX);
}

static void handshake(int early)
{
	unsigned char der[X509_MINT_CERT_MAX], kder[200];
	CHECK_EQ(load("ca.crt", "ca.key"), DF_OK);
	keygen();
	ssize_t n = mint("localhost", der, sizeof der);
	size_t kn = x509_mint_key_der(&key, kder, sizeof kder);
	CHECK(n > 0 && kn > 0);
	CHECK_EQ(x509_mint_key_der(&key, kder, 10), 0);
	struct tls_server_cfg *sc = tls_server_cfg_new_key(kder, kn, err, sizeof err);
	struct tls_client_cfg *cc = tls_client_cfg_new(unit_pki("ca.crt"), 0, err, sizeof err);
	CHECK(sc && cc);
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	/* a key-only cfg cannot make a plain server connection */
	CHECK(tls_server_new(sc, sv[1]) == NULL);
	struct transport *c = tls_client_new(cc, sv[0], "localhost"), *s = NULL;
	unsigned char hello[4096];
	ssize_t hl = 0;
	if (early) {
		/* the ClientHello is already read when the server starts, as after a CONNECT */
		char b;
		CHECK_EQ(c->ops->read(c, &b, 1), DF_AGAIN);
		hl = recv(sv[1], hello, sizeof hello, 0);
		CHECK(hl > 0);
	}
	s = tls_server_new_leaf(sc, sv[1], der, (size_t)n, hello, hl > 0 ? (size_t)hl : 0);
	memset(der, 0, sizeof der); /* the connection has its own copy */
	CHECK(s != NULL);
	if (c && s) {
		CHECK_EQ(send_recv(c, s, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), DF_OK);
		CHECK_EQ(send_recv(s, c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), DF_OK);
	}
	if (c)
		c->ops->close(c);
	if (s)
		s->ops->close(s);
	CHECK(tls_server_new_leaf(sc, -1, der, TLS_SERVER_LEAF_MAX + 1, NULL, 0) == NULL);
	tls_server_cfg_free(sc);
	tls_client_cfg_free(cc);
	CHECK(tls_server_cfg_new_key((const unsigned char *)"junk", 4, err, sizeof err) == NULL);
}

static void test_handshake(void) { handshake(0); }
static void test_handshake_early_bytes(void) { handshake(1); }

static const struct unit_test tests[] = {
	{"rsa_ca", test_rsa_ca},
	{"ec_ca", test_ec_ca},
	{"small_buffers", test_small_buffers},
	{"refusals", test_refusals},
	{"handshake", test_handshake},
	{"handshake_early_bytes", test_handshake_early_bytes},
};
UNIT_MAIN("mint", tests) /* run.sh reads the summary of a [a-z_]+ suite name */
