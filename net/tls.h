/* TLS (BearSSL) behind the transport vtable, for both sides: https sources and TLS listeners.
 * Certificates, keys and trust anchors are loaded once into a cfg before the loop; connections share it. */
#ifndef DF_TLS_H
#define DF_TLS_H

#include <stddef.h>

#include "net/transport.h"

struct tls_client_cfg;
struct tls_server_cfg;

/* The system CA bundle used when a client cfg is given no CA file. */
#define TLS_SYSTEM_CAFILE "/etc/ssl/certs/ca-certificates.crt"

/* Client settings: trust anchors from cafile (NULL: TLS_SYSTEM_CAFILE), or none at all when insecure
 * (certificates are then not verified; printing the warning is the caller's job). Returns a cfg
 * owned by the caller, or NULL with "FILE: cause" in err. Call before the loop: it reads files. */
struct tls_client_cfg *tls_client_cfg_new(const char *cafile, int insecure, char *err, size_t errlen);
/* Adds a client certificate chain and key (PEM, RSA or EC) that the client presents when a server
 * asks (mutual TLS between df processes). DF_OK, or DF_ERR with "FILE: cause" in err. */
int tls_client_cfg_set_cert(struct tls_client_cfg *cfg, const char *cert_pem_path, const char *key_pem_path, char *err,
			    size_t errlen);
/* Frees the cfg; every connection made from it must be closed first. NULL is fine. */
void tls_client_cfg_free(struct tls_client_cfg *cfg);

/* Server settings from a PEM certificate chain (leaf first) and its PEM private key (RSA or EC;
 * PKCS#1, SEC1 or PKCS#8, unencrypted). Checks that the key matches the leaf certificate. Returns a
 * cfg owned by the caller, or NULL with "FILE: cause" in err. */
struct tls_server_cfg *tls_server_cfg_new(const char *cert_pem_path, const char *key_pem_path, char *err,
					  size_t errlen);
/* Server settings from memory, for certificates made at run time (TLS interception): a private key
 * in DER (SEC1, PKCS#1 or PKCS#8, as br_skey_decoder takes it; copied) and no certificate: each
 * connection brings its own leaf through tls_server_new_leaf. Returns a cfg owned by the caller (free
 * it with tls_server_cfg_free), or NULL with the cause in err. */
struct tls_server_cfg *tls_server_cfg_new_key(const unsigned char *key_der, size_t len, char *err, size_t errlen);
/* Requires every client to present a certificate that chains to a CA in cafile; others are refused
 * during the handshake. DF_OK, or DF_ERR with "FILE: cause" in err. */
int tls_server_cfg_require_client_ca(struct tls_server_cfg *cfg, const char *cafile, char *err, size_t errlen);
/* Frees the cfg; every connection made from it must be closed first. NULL is fine. */
void tls_server_cfg_free(struct tls_server_cfg *cfg);

/* Wrap a connected non-blocking socket; the handshake runs inside read/write. ops->close frees it.
 * Sets TCP_NODELAY on fd (records are written whole; Nagle would only delay handshake flights).
 * server_name is sent as SNI and checked against the certificate's DNS names; an IP literal
 * ("127.0.0.1", "::1") is checked against its IP addresses and sends no SNI; NULL verifies the chain
 * only. The cfg must outlive the transport. Returns NULL only when out of memory (fd left open). */
struct transport *tls_client_new(const struct tls_client_cfg *cfg, int fd, const char *server_name);
/* tls_server_new needs a cfg with a certificate chain (tls_server_cfg_new); NULL for a key-only one. */
struct transport *tls_server_new(const struct tls_server_cfg *cfg, int fd);

/* A server connection that presents leaf (one DER certificate, at most TLS_SERVER_LEAF_MAX bytes,
 * certifying cfg's key) instead of cfg's chain. The leaf is copied into the connection: the caller
 * may drop it at once. early[0..early_len) are record bytes the client sent before the socket was
 * handed over (read together with a CONNECT request); the engine takes them first (at most 4096).
 * Returns NULL when out of memory or a size is over its bound (fd left open). */
#define TLS_SERVER_LEAF_MAX 4096
struct transport *tls_server_new_leaf(const struct tls_server_cfg *cfg, int fd, const unsigned char *leaf,
				      size_t leaf_len, const void *early, size_t early_len);

/* Words for a BearSSL error code (br_ssl_engine_last_error, BR_ERR_X509_*, alerts): a static string
 * such as "certificate verify failed: unknown CA". Never NULL. */
const char *tls_strerror(int br_err);

/* Bytes of memory one connection holds: its one allocation (plus TLS_LEAF_MAX, 8 KB, for a client
 * that checks an IP address). For budgets and tests. */
size_t tls_conn_size(void);

#endif
