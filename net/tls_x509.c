/* Client-side certificate checking for net/tls: wraps BearSSL's x509_minimal to add IP-address
 * names (BearSSL matches DNS names only), and an insecure mode that trusts any chain but still
 * hands the engine the server's public key, which the key exchange needs. */
#include "net/tls_x509.h"

#include <arpa/inet.h>
#include <string.h>

#include "core/df.h"

#define X(ctx) DF_CONTAINER_OF((ctx), struct tls_x509, vtable)

static void xw_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_x509 *x = X(ctx);
	x->ncert = 0;
	x->leaf_len = 0;
	x->leaf_overflow = 0;
	if (x->insecure)
		br_x509_decoder_init(&x->u.dec, NULL, NULL);
	else
		x->u.minimal.vtable->start_chain(&x->u.minimal.vtable, server_name);
}

static void xw_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_x509 *x = X(ctx);
	if (x->ncert == 0 && x->iplen && length > x->leaf_cap)
		x->leaf_overflow = 1;
	if (!x->insecure)
		x->u.minimal.vtable->start_cert(&x->u.minimal.vtable, length);
}

static void xw_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct tls_x509 *x = X(ctx);
	if (x->ncert == 0) {
		if (x->insecure)
			br_x509_decoder_push(&x->u.dec, buf, len);
		if (x->iplen && !x->leaf_overflow) {
			if (len > x->leaf_cap - x->leaf_len) {
				x->leaf_overflow = 1;
			} else {
				memcpy(x->leaf + x->leaf_len, buf, len);
				x->leaf_len += len;
			}
		}
	}
	if (!x->insecure)
		x->u.minimal.vtable->append(&x->u.minimal.vtable, buf, len);
}

static void xw_end_cert(const br_x509_class **ctx)
{
	struct tls_x509 *x = X(ctx);
	if (!x->insecure)
		x->u.minimal.vtable->end_cert(&x->u.minimal.vtable);
	x->ncert++;
}

static unsigned xw_end_chain(const br_x509_class **ctx)
{
	struct tls_x509 *x = X(ctx);
	if (x->insecure) {
		if (x->ncert == 0)
			return BR_ERR_X509_EMPTY_CHAIN;
		return br_x509_decoder_get_pkey(&x->u.dec) ? 0 : (unsigned)br_x509_decoder_last_error(&x->u.dec);
	}
	unsigned r = x->u.minimal.vtable->end_chain(&x->u.minimal.vtable);
	if (r != 0 || x->iplen == 0)
		return r;
	if (x->leaf_overflow)
		return BR_ERR_X509_LIMIT_EXCEEDED;
	/* The chain is trusted; now the name: an IP address must be one of the leaf's iPAddress SANs. */
	return tls_cert_has_ip(x->leaf, x->leaf_len, x->ip, x->iplen) == 1 ? 0 : BR_ERR_X509_BAD_SERVER_NAME;
}

static const br_x509_pkey *xw_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	struct tls_x509 *x = DF_CONTAINER_OF((const br_x509_class **)ctx, struct tls_x509, vtable);
	if (!x->insecure)
		return x->u.minimal.vtable->get_pkey(&x->u.minimal.vtable, usages);
	if (usages)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return br_x509_decoder_get_pkey(&x->u.dec);
}

static const br_x509_class xw_vtable = {
	sizeof(struct tls_x509), xw_start_chain, xw_start_cert, xw_append, xw_end_cert, xw_end_chain, xw_get_pkey,
};

void tls_x509_init(struct tls_x509 *x, int insecure, const unsigned char *ip, size_t iplen, unsigned char *leaf,
		   size_t leaf_cap)
{
	x->vtable = &xw_vtable;
	x->insecure = insecure;
	x->ncert = 0;
	x->iplen = iplen == 4 || iplen == 16 ? iplen : 0;
	if (x->iplen)
		memcpy(x->ip, ip, x->iplen);
	x->leaf = leaf;
	x->leaf_cap = leaf ? leaf_cap : 0;
	x->leaf_len = 0;
	x->leaf_overflow = 0;
}

/* ---- a bounded DER walk to the subjectAltName iPAddress entries ---- */

struct der {
	const unsigned char *p;
	size_t n;
};

/* Takes one TLV off the front of d: single-byte tags, definite lengths of at most 4 bytes. */
static int der_next(struct der *d, unsigned *tag, struct der *val)
{
	if (d->n < 2)
		return DF_ERR;
	unsigned t = d->p[0];
	size_t len = d->p[1], hdr = 2;
	if ((t & 0x1f) == 0x1f)
		return DF_ERR;
	if (len & 0x80) {
		size_t k = len & 0x7f;
		if (k == 0 || k > 4 || d->n - 2 < k)
			return DF_ERR;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | d->p[2 + i];
		hdr += k;
	}
	if (len > d->n - hdr)
		return DF_ERR;
	*tag = t;
	val->p = d->p + hdr;
	val->n = len;
	d->p += hdr + len;
	d->n -= hdr + len;
	return DF_OK;
}

static int der_enter(struct der *d, unsigned want, struct der *val)
{
	unsigned tag;
	if (der_next(d, &tag, val) < 0 || tag != want)
		return DF_ERR;
	return DF_OK;
}

#define DER_SEQ 0x30
#define DER_OID 0x06
#define DER_BOOL 0x01
#define DER_OCTETS 0x04
#define DER_EXTENSIONS 0xa3 /* tbsCertificate [3] EXPLICIT */
#define DER_SAN_IP 0x87     /* GeneralName iPAddress [7] IMPLICIT OCTET STRING */

/* The extnValue of subjectAltName: GeneralNames. */
static int san_has_ip(struct der names, const unsigned char *ip, size_t iplen)
{
	struct der seq, v;
	unsigned tag;
	if (der_enter(&names, DER_SEQ, &seq) < 0)
		return DF_ERR;
	while (seq.n) {
		if (der_next(&seq, &tag, &v) < 0)
			return DF_ERR;
		if (tag == DER_SAN_IP && v.n == iplen && memcmp(v.p, ip, iplen) == 0)
			return 1;
	}
	return 0;
}

int tls_cert_has_ip(const unsigned char *der, size_t len, const unsigned char *ip, size_t iplen)
{
	static const unsigned char oid_san[] = {0x55, 0x1d, 0x11}; /* 2.5.29.17 */
	struct der d = {der, len}, cert, tbs, v;
	unsigned tag;
	if (der_enter(&d, DER_SEQ, &cert) < 0 || der_enter(&cert, DER_SEQ, &tbs) < 0)
		return DF_ERR;
	while (tbs.n) {
		if (der_next(&tbs, &tag, &v) < 0)
			return DF_ERR;
		if (tag != DER_EXTENSIONS)
			continue;
		struct der exts, ext, oid, val;
		if (der_enter(&v, DER_SEQ, &exts) < 0)
			return DF_ERR;
		while (exts.n) {
			if (der_enter(&exts, DER_SEQ, &ext) < 0 || der_enter(&ext, DER_OID, &oid) < 0)
				return DF_ERR;
			if (oid.n != sizeof oid_san || memcmp(oid.p, oid_san, sizeof oid_san) != 0)
				continue;
			if (der_next(&ext, &tag, &val) < 0)
				return DF_ERR;
			if (tag == DER_BOOL && der_next(&ext, &tag, &val) < 0) /* the optional "critical" flag */
				return DF_ERR;
			if (tag != DER_OCTETS)
				return DF_ERR;
			return san_has_ip(val, ip, iplen);
		}
		return 0;
	}
	return 0;
}

size_t tls_ip_literal(const char *name, unsigned char out[16])
{
	char buf[64];
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n >= sizeof buf)
		return 0;
	if (name[0] == '[' && name[n - 1] == ']') {
		memcpy(buf, name + 1, n - 2);
		buf[n - 2] = 0;
	} else {
		memcpy(buf, name, n + 1);
	}
	if (inet_pton(AF_INET, buf, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, buf, out) == 1)
		return 16;
	return 0;
}
