/* What net/tls.c and net/tls_cfg.c share: the contents of the client and server cfgs.
 * Nothing outside net/tls*.c includes this. */
#ifndef DF_TLS_INT_H
#define DF_TLS_INT_H

#include "net/pem.h"
#include "net/tls.h"

struct tls_client_cfg {
	int insecure;
	struct pem_anchors anchors; /* empty when insecure */
	int has_cert;               /* a client certificate to present (mutual TLS) */
	int cert_issuer_key_type;
	struct pem_chain chain;
	struct pem_key key;
};

struct tls_server_cfg {
	struct pem_chain chain;
	struct pem_key key;
	int cert_issuer_key_type;      /* BR_KEYTYPE_RSA/EC of the CA that signed the leaf (for ECDH suites) */
	struct pem_anchors client_cas; /* n > 0: clients must present a certificate chaining to one */
};

/* The TLS alert that tells a peer why we end a handshake on BearSSL error e (an engine or X.509
 * error code), or 0 when none fits. BearSSL itself closes silently. */
int tls_alert_for(int e);

#endif
