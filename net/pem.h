/* PEM files for TLS: certificate chains, private keys (RSA/EC) and trust anchors, decoded with
 * BearSSL into structures its engine takes as they are. Used before the loop; errors name the cause. */
#ifndef DF_PEM_H
#define DF_PEM_H

#include <stddef.h>

#include <bearssl.h>

/* Biggest file pem_read_file accepts (a system CA bundle is about 200 KB). */
#define PEM_FILE_MAX (8u << 20)
/* Biggest single decoded object (a certificate or key); bigger ones are refused. */
#define PEM_OBJ_MAX (64u << 10)

/* A bounded byte buffer for BearSSL's "append" callbacks (PEM decoder, DN of an X.509 decoder):
 * pem_sink_append copies into buf while it fits, else sets overflow and keeps nothing more. */
struct pem_sink {
	unsigned char *buf;
	size_t cap, len;
	int overflow;
};
void pem_sink_append(void *ctx, const void *p, size_t n);

/* Called for each object: its name ("CERTIFICATE", "EC PRIVATE KEY"...) and DER bytes, which live
 * only during the call. Returns 0 to go on, or non-zero to stop (having written err). */
typedef int (*pem_fn)(void *arg, const char *name, const unsigned char *der, size_t len, char *err, size_t errlen);

/* Decodes every PEM object in text[0..len) into scratch (cap bytes, the size limit of one object)
 * and hands each to fn. Pure: no I/O, no allocation. Returns the number of objects (>= 0), or
 * DF_ERR with "line N: cause" in err (or fn's message). */
int pem_decode(const char *text, size_t len, unsigned char *scratch, size_t cap, pem_fn fn, void *arg, char *err,
	       size_t errlen);

/* Reads a whole file (at most PEM_FILE_MAX bytes) into a malloc'd buffer the caller frees.
 * Returns DF_OK, or DF_ERR with the cause (strerror or "larger than ...") in err. */
int pem_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* A certificate chain, leaf first, as br_ssl_server_init_full_* and br_ssl_client_set_single_* take it. */
struct pem_chain {
	br_x509_certificate *certs; /* each certs[i].data is malloc'd */
	size_t n;
};

/* A private key: the BearSSL decoder context holds the key bytes and br_skey_decoder_get_rsa/_ec point
 * into it, so parse it in its final place and never copy the struct. */
struct pem_key {
	br_skey_decoder_context dec;
	int type; /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
};

/* Trust anchors (a CA bundle): each anchor's DN and key live in one allocation at ta[i].dn.data. */
struct pem_anchors {
	br_x509_trust_anchor *ta;
	size_t n;
};

/* Every CERTIFICATE object of text; other objects are skipped. DF_OK (at least one certificate), or
 * DF_ERR with the cause in err; *out is then empty. Free with pem_chain_free. */
int pem_chain_parse(const char *text, size_t len, struct pem_chain *out, char *err, size_t errlen);
/* The first private key of text ("RSA PRIVATE KEY", "EC PRIVATE KEY" or "PRIVATE KEY"). DF_OK, or
 * DF_ERR with the cause (encrypted keys and unsupported curves are named). Nothing to free. */
int pem_key_parse(const char *text, size_t len, struct pem_key *out, char *err, size_t errlen);
/* Every CERTIFICATE of text as a trust anchor (CA flag from basicConstraints). DF_OK (at least one
 * anchor), or DF_ERR with the cause; *out is then empty. Free with pem_anchors_free. */
int pem_anchors_parse(const char *text, size_t len, struct pem_anchors *out, char *err, size_t errlen);

/* The same from a file; err reads "PATH: cause". */
int pem_chain_load(const char *path, struct pem_chain *out, char *err, size_t errlen);
int pem_key_load(const char *path, struct pem_key *out, char *err, size_t errlen);
int pem_anchors_load(const char *path, struct pem_anchors *out, char *err, size_t errlen);

void pem_chain_free(struct pem_chain *c);
void pem_anchors_free(struct pem_anchors *a);

/* DF_OK when the key is the private half of the public key in certificate der; else DF_ERR with
 * "does not match" / the decoding cause in err. */
int pem_key_matches_cert(const struct pem_key *key, const unsigned char *der, size_t len, char *err, size_t errlen);

/* The key type of whoever signed certificate der (BR_KEYTYPE_RSA / BR_KEYTYPE_EC), or 0 when it
 * cannot be decoded. ECDH cipher suites of an EC server need it. */
int pem_cert_signer_key_type(const unsigned char *der, size_t len);

#endif
