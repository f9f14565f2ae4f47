/* Minting X.509 leaf certificates for TLS interception (df proxy --mitm-host): a DER encoder for one
 * server certificate signed by the user's CA, the CA loaded from PEM, and the one EC key every leaf shares. */
#ifndef DF_X509_MINT_H
#define DF_X509_MINT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bearssl.h>

#include "net/pem.h"

/* Largest CA subject DN kept (real ones are under 300 bytes). */
#define X509_MINT_DN_MAX 1024
/* Room for any minted leaf: DN, key, extensions and a signature of an RSA CA up to 8192 bits. */
#define X509_MINT_CERT_MAX 4096
/* Longest host name a leaf is minted for (the CN's upper bound in RFC 5280). */
#define X509_MINT_HOST_MAX 64

/* The signing CA: its subject DN (the leaves' issuer, DER bytes exactly as in its certificate), its
 * private key and the end of its validity. Holds a BearSSL key decoder: never copy the struct. */
struct x509_mint_ca {
	unsigned char dn[X509_MINT_DN_MAX];
	size_t dn_len;
	struct pem_key key;
	int64_t not_after; /* Unix time; leaves never outlive their CA */
};

/* The leaves' key pair (EC P-256), its buffers inside. Holds pointers into itself: never copy it. */
struct x509_mint_key {
	br_ec_private_key sk;
	br_ec_public_key pk;
	unsigned char skbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
	unsigned char pkbuf[BR_EC_KBUF_PUB_MAX_SIZE];
};

/* Loads the CA certificate (the first CERTIFICATE of cert_path) and its private key (key_path, RSA
 * or EC). Checks that the certificate is a CA (basicConstraints CA:TRUE) and that the key is its
 * own. DF_OK, or DF_ERR with "PATH: cause" in err. Reads files: call before the loop. */
int x509_mint_ca_load(struct x509_mint_ca *ca, const char *cert_path, const char *key_path, char *err, size_t errlen);

/* Generates a fresh P-256 key pair from seed (at least 32 bytes of entropy: getrandom's). Pure.
 * DF_OK or DF_ERR (a seed too short). */
int x509_mint_keygen(struct x509_mint_key *k, const void *seed, size_t seedlen);

/* The private key of k as DER (SEC1 ECPrivateKey, what tls_server_cfg_new_key takes) into out
 * (cap bytes; 160 is enough). Returns its length, or 0 when it does not fit. */
size_t x509_mint_key_der(const struct x509_mint_key *k, unsigned char *out, size_t cap);

/* What one leaf says. */
struct x509_mint_req {
	const char *host;              /* DNS name, or an IP literal ("10.0.0.1", "::1") -> iPAddress */
	const unsigned char *serial;   /* 16 random bytes (the top bit is cleared: a positive INTEGER) */
	int64_t not_before, not_after; /* Unix times (not_after is capped at the CA's) */
};

/* Writes a DER X.509 v3 certificate for rq->host into out[0..cap): version 3, issuer = ca's DN,
 * subject CN=host, subjectAltName (dNSName or iPAddress), basicConstraints CA:FALSE, keyUsage
 * digitalSignature, extKeyUsage serverAuth, the public key leaf_pk, signed by ca with ECDSA-SHA256
 * (EC CA) or sha256WithRSAEncryption (RSA CA). Pure: no I/O, no allocation. Returns the length, or
 * DF_ERR with the cause in *why (a host that is empty or too long, out too small, a signing failure). */
ssize_t x509_mint_leaf(const struct x509_mint_ca *ca, const br_ec_public_key *leaf_pk, const struct x509_mint_req *rq,
		       unsigned char *out, size_t cap, const char **why);

#endif
