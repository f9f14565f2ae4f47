/* The DER encoder of minted leaf certificates: one X.509 v3 server certificate for one host, signed
 * by the user's CA. Pure: it writes into the caller's buffer and allocates nothing.
 *
 * How it works. Elements are written in order: opening one writes its tag and a one-byte length
 * placeholder; closing it writes the real length, moving the content up by the one to three bytes a
 * long-form length needs. A certificate is a few hundred bytes and a handful of levels deep, so the
 * moves cost nothing next to the signature. The TBSCertificate is hashed where it lies, then the
 * signature algorithm and the signature follow it inside the outer SEQUENCE. */
#include "net/x509_mint.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/df.h"

struct der {
	unsigned char *p;
	size_t cap, len;
	int over; /* the buffer was too small: everything after is dropped */
};

static void put(struct der *d, const void *src, size_t n)
{
	if (d->over || n > d->cap - d->len) {
		d->over = 1;
		return;
	}
	memcpy(d->p + d->len, src, n);
	d->len += n;
}

static size_t open_elem(struct der *d, unsigned char tag)
{
	size_t at = d->len;
	unsigned char h[2] = {tag, 0};
	put(d, h, 2);
	return at;
}

static void close_elem(struct der *d, size_t at)
{
	if (d->over)
		return;
	size_t body = d->len - at - 2;
	size_t extra = body < 0x80 ? 0 : body < 0x100 ? 1 : body < 0x10000 ? 2 : 3;
	if (!extra) {
		d->p[at + 1] = (unsigned char)body;
		return;
	}
	if (extra > d->cap - d->len) {
		d->over = 1;
		return;
	}
	memmove(d->p + at + 2 + extra, d->p + at + 2, body);
	d->len += extra;
	d->p[at + 1] = (unsigned char)(0x80 | extra);
	for (size_t i = 0; i < extra; i++)
		d->p[at + 2 + i] = (unsigned char)(body >> (8 * (extra - 1 - i)));
}

static void prim(struct der *d, unsigned char tag, const void *v, size_t n)
{
	size_t at = open_elem(d, tag);
	put(d, v, n);
	close_elem(d, at);
}

/* UTCTime up to 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
static void put_time(struct der *d, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[32];
	if (!gmtime_r(&tt, &tm)) {
		d->over = 1;
		return;
	}
	int y = tm.tm_year + 1900;
	if (y >= 1950 && y < 2050) {
		snprintf(s, sizeof s, "%02d%02d%02d%02d%02d%02dZ", y % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec);
		prim(d, 0x17, s, 13);
	} else {
		snprintf(s, sizeof s, "%04d%02d%02d%02d%02d%02dZ", y, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
		prim(d, 0x18, s, 15);
	}
}

static const unsigned char OID_ECDSA_SHA256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
static const unsigned char OID_RSA_SHA256[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
					       0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
static const unsigned char OID_CN[] = {0x06, 0x03, 0x55, 0x04, 0x03};
static const unsigned char SPKI_P256[] = {0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
					  0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char OID_SAN[] = {0x06, 0x03, 0x55, 0x1d, 0x11};
/* basicConstraints (critical) CA:FALSE; keyUsage (critical) digitalSignature; extKeyUsage serverAuth */
static const unsigned char EXT_FIXED[] = {
	0x30, 0x0c, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x02, 0x30, 0x00, 0x30, 0x0e, 0x06,
	0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x07, 0x80, 0x30, 0x13, 0x06, 0x03,
	0x55, 0x1d, 0x25, 0x04, 0x0c, 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
};

static void put_sigalg(struct der *d, int rsa)
{
	size_t at = open_elem(d, 0x30);
	if (rsa)
		put(d, OID_RSA_SHA256, sizeof OID_RSA_SHA256);
	else
		put(d, OID_ECDSA_SHA256, sizeof OID_ECDSA_SHA256);
	close_elem(d, at);
}

/* A host name fit for a dNSName: letters, digits, '-', '.', '_' (and '*' for a wildcard). */
static int dns_ok(const char *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_' || c == '*'))
			return 0;
	}
	return 1;
}

/* The signature of the SHA-256 hash h by the CA key into sig; its length, or 0. */
static size_t sign(const struct x509_mint_ca *ca, const unsigned char h[32], unsigned char *sig, size_t cap)
{
	if (ca->key.type == BR_KEYTYPE_EC) {
		if (cap < 160)
			return 0;
		return br_ecdsa_i31_sign_asn1(br_ec_get_default(), &br_sha256_vtable, h,
					      br_skey_decoder_get_ec(&ca->key.dec), sig);
	}
	const br_rsa_private_key *sk = br_skey_decoder_get_rsa(&ca->key.dec);
	size_t n = (sk->n_bitlen + 7) / 8;
	if (n > cap || !br_rsa_i31_pkcs1_sign(BR_HASH_OID_SHA256, h, 32, sk, sig))
		return 0;
	return n;
}

ssize_t x509_mint_leaf(const struct x509_mint_ca *ca, const br_ec_public_key *leaf_pk, const struct x509_mint_req *rq,
		       unsigned char *out, size_t cap, const char **why)
{
	struct der d = {out, cap, 0, 0};
	size_t hlen = rq->host ? strlen(rq->host) : 0;
	unsigned char ip[16];
	size_t iplen = 0;
	int rsa = ca->key.type == BR_KEYTYPE_RSA;
	if (!hlen || hlen > X509_MINT_HOST_MAX) {
		*why = hlen ? "host name longer than 64 bytes" : "no host name";
		return DF_ERR;
	}
	if (inet_pton(AF_INET, rq->host, ip) == 1)
		iplen = 4;
	else if (inet_pton(AF_INET6, rq->host, ip) == 1)
		iplen = 16;
	else if (!dns_ok(rq->host, hlen)) {
		*why = "host name has characters a certificate cannot name";
		return DF_ERR;
	}
	if (leaf_pk->curve != BR_EC_secp256r1 || leaf_pk->qlen != 65) {
		*why = "the leaf key is not an uncompressed P-256 point";
		return DF_ERR;
	}
	size_t cert = open_elem(&d, 0x30);
	size_t tbs = open_elem(&d, 0x30);
	static const unsigned char v3[] = {0xa0, 0x03, 0x02, 0x01, 0x02};
	put(&d, v3, sizeof v3);
	unsigned char serial[16];
	memcpy(serial, rq->serial, sizeof serial);
	serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40); /* positive, and no leading zero byte */
	prim(&d, 0x02, serial, sizeof serial);
	put_sigalg(&d, rsa);
	put(&d, ca->dn, ca->dn_len);
	size_t at = open_elem(&d, 0x30);
	put_time(&d, rq->not_before);
	put_time(&d, ca->not_after && ca->not_after < rq->not_after ? ca->not_after : rq->not_after);
	close_elem(&d, at);
	size_t subj = open_elem(&d, 0x30), set = open_elem(&d, 0x31), atv = open_elem(&d, 0x30);
	put(&d, OID_CN, sizeof OID_CN);
	prim(&d, 0x0c, rq->host, hlen);
	close_elem(&d, atv);
	close_elem(&d, set);
	close_elem(&d, subj);
	at = open_elem(&d, 0x30);
	put(&d, SPKI_P256, sizeof SPKI_P256);
	size_t bits = open_elem(&d, 0x03);
	put(&d, "", 1); /* no unused bits */
	put(&d, leaf_pk->q, leaf_pk->qlen);
	close_elem(&d, bits);
	close_elem(&d, at);
	size_t exts = open_elem(&d, 0xa3), seq = open_elem(&d, 0x30), san = open_elem(&d, 0x30);
	put(&d, OID_SAN, sizeof OID_SAN);
	size_t oct = open_elem(&d, 0x04), names = open_elem(&d, 0x30);
	if (iplen)
		prim(&d, 0x87, ip, iplen);
	else
		prim(&d, 0x82, rq->host, hlen);
	close_elem(&d, names);
	close_elem(&d, oct);
	close_elem(&d, san);
	put(&d, EXT_FIXED, sizeof EXT_FIXED);
	close_elem(&d, seq);
	close_elem(&d, exts);
	close_elem(&d, tbs);
	if (d.over) {
		*why = "certificate larger than the buffer";
		return DF_ERR;
	}
	unsigned char h[32];
	br_sha256_context sc;
	br_sha256_init(&sc);
	br_sha256_update(&sc, out + tbs, d.len - tbs);
	br_sha256_out(&sc, h);
	put_sigalg(&d, rsa);
	unsigned char sig[1024];
	size_t slen = sign(ca, h, sig, sizeof sig);
	if (!slen) {
		*why = "the CA key failed to sign";
		return DF_ERR;
	}
	bits = open_elem(&d, 0x03);
	put(&d, "", 1);
	put(&d, sig, slen);
	close_elem(&d, bits);
	close_elem(&d, cert);
	if (d.over) {
		*why = "certificate larger than the buffer";
		return DF_ERR;
	}
	return (ssize_t)d.len;
}
