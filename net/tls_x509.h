/* The certificate check a TLS client runs: BearSSL's x509_minimal (chain, dates, DNS name) plus what it
 * lacks (IP-address names), or an insecure mode that only extracts the server's key. Internal to net/tls. */
#ifndef DF_TLS_X509_H
#define DF_TLS_X509_H

#include <stddef.h>

#include <bearssl.h>

/* Leaf certificates bigger than this cannot be checked against an IP address (real ones are ~1-2 KB). */
#define TLS_LEAF_MAX 8192

/* A br_x509_class for br_ssl_engine_set_x509(eng, &x->vtable). The engine passes the expected DNS
 * name (its SNI) to start_chain; an expected IP address is set here instead. */
struct tls_x509 {
	const br_x509_class *vtable; /* first: BearSSL calls through &x->vtable */
	union {
		br_x509_minimal_context minimal; /* verifying */
		br_x509_decoder_context dec;     /* insecure: the leaf's public key only */
	} u;
	int insecure;
	unsigned ncert;       /* certificates seen in this chain */
	unsigned char ip[16]; /* IP address the leaf must name (iplen 4 or 16), or iplen 0 */
	size_t iplen;
	unsigned char *leaf; /* copy of the leaf for the IP check (leaf_cap bytes, caller's memory) */
	size_t leaf_cap, leaf_len;
	int leaf_overflow;
};

/* Sets up x. With insecure, nothing is verified; else the chain must end at one of tas[0..n) (kept
 * by pointer: they must outlive x). With iplen 4 or 16, the leaf must carry that IP address as a
 * subjectAltName; leaf is a buffer of leaf_cap bytes for it. Call br_ssl_client_init_full first with
 * &x->u.minimal (it initialises the algorithms), then this, then br_ssl_engine_set_x509(eng, &x->vtable). */
void tls_x509_init(struct tls_x509 *x, int insecure, const unsigned char *ip, size_t iplen, unsigned char *leaf,
		   size_t leaf_cap);

/* 1 when certificate der[0..len) lists IP address ip[0..iplen) in its subjectAltName extension,
 * 0 when it does not, DF_ERR when the DER is malformed. Pure (a bounded DER walk, no allocation). */
int tls_cert_has_ip(const unsigned char *der, size_t len, const unsigned char *ip, size_t iplen);

/* The binary address of an IP literal ("10.0.0.1", "::1", "[::1]") in out: returns 4 or 16, or 0
 * when name is a host name. */
size_t tls_ip_literal(const char *name, unsigned char out[16]);

#endif
