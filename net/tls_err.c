/* BearSSL error codes in words: engine errors, X.509 verdicts and TLS alerts become static strings
 * that a user can act on ("certificate verify failed: unknown CA"), for t->err and cfg messages. */
#include <bearssl.h>

#include "net/tls.h"
#include "net/tls_int.h"

/* RFC 5246/8446 alert numbers and names, once: used for alerts received and sent. */
#define TLS_ALERTS(X)                    \
	X(0, "close notify")             \
	X(10, "unexpected message")      \
	X(20, "bad record MAC")          \
	X(21, "decryption failed")       \
	X(22, "record overflow")         \
	X(30, "decompression failure")   \
	X(40, "handshake failure")       \
	X(41, "no certificate")          \
	X(42, "bad certificate")         \
	X(43, "unsupported certificate") \
	X(44, "certificate revoked")     \
	X(45, "certificate expired")     \
	X(46, "certificate unknown")     \
	X(47, "illegal parameter")       \
	X(48, "unknown CA")              \
	X(49, "access denied")           \
	X(50, "decode error")            \
	X(51, "decrypt error")           \
	X(70, "protocol version")        \
	X(71, "insufficient security")   \
	X(80, "internal error")          \
	X(86, "inappropriate fallback")  \
	X(90, "user canceled")           \
	X(100, "no renegotiation")       \
	X(109, "missing extension")      \
	X(110, "unsupported extension")  \
	X(112, "unrecognized name")      \
	X(116, "certificate required")   \
	X(120, "no application protocol")

#define VERIFY "certificate verify failed: "

static const char *alert_text(int alert, int received)
{
	/* BearSSL sends these two itself when a ClientHello has nothing it can accept. */
	if (!received && alert == 40)
		return "TLS: no cipher suite in common with the peer (sent alert: handshake failure)";
	if (!received && alert == 70)
		return "TLS: no common protocol version, df speaks TLS 1.2 (sent alert: protocol version)";
	switch (alert) {
#define X(n, s) \
	case n: return received ? "peer sent fatal alert: " s : "sent fatal alert: " s;
		TLS_ALERTS(X)
#undef X
	}
	return received ? "peer sent a fatal alert" : "sent a fatal alert";
}

const char *tls_strerror(int e)
{
	if (e >= BR_ERR_SEND_FATAL_ALERT)
		return alert_text(e - BR_ERR_SEND_FATAL_ALERT, 0);
	if (e >= BR_ERR_RECV_FATAL_ALERT)
		return alert_text(e - BR_ERR_RECV_FATAL_ALERT, 1);
	switch (e) {
	case BR_ERR_OK: return "no error";
	case BR_ERR_BAD_PARAM: return "TLS: bad parameter";
	case BR_ERR_BAD_STATE: return "TLS: engine in the wrong state";
	case BR_ERR_UNSUPPORTED_VERSION: return "TLS: no common protocol version (df speaks TLS 1.2)";
	case BR_ERR_BAD_VERSION: return "TLS: record version mismatch";
	case BR_ERR_BAD_LENGTH: return "TLS: bad record length";
	case BR_ERR_TOO_LARGE: return "TLS: record too large";
	case BR_ERR_BAD_MAC: return "TLS: bad record MAC (data corrupted or tampered with)";
	case BR_ERR_NO_RANDOM: return "TLS: no entropy source (getrandom and /dev/urandom failed)";
	case BR_ERR_UNKNOWN_TYPE: return "TLS: unknown record type (not a TLS peer?)";
	case BR_ERR_UNEXPECTED: return "TLS: unexpected message";
	case BR_ERR_BAD_CCS: return "TLS: bad ChangeCipherSpec";
	case BR_ERR_BAD_ALERT: return "TLS: malformed alert";
	case BR_ERR_BAD_HANDSHAKE: return "TLS: malformed handshake message";
	case BR_ERR_OVERSIZED_ID: return "TLS: oversized session id";
	case BR_ERR_BAD_CIPHER_SUITE: return "TLS: no acceptable cipher suite";
	case BR_ERR_BAD_COMPRESSION: return "TLS: unsupported compression";
	case BR_ERR_BAD_FRAGLEN: return "TLS: bad maximum fragment length";
	case BR_ERR_BAD_SECRENEG: return "TLS: secure renegotiation failed";
	case BR_ERR_EXTRA_EXTENSION: return "TLS: unexpected extension";
	case BR_ERR_BAD_SNI: return "TLS: malformed server name (SNI)";
	case BR_ERR_BAD_HELLO_DONE: return "TLS: malformed ServerHelloDone";
	case BR_ERR_LIMIT_EXCEEDED: return "TLS: internal limit exceeded";
	case BR_ERR_BAD_FINISHED: return "TLS: bad Finished message (handshake tampered with)";
	case BR_ERR_RESUME_MISMATCH: return "TLS: session resumption mismatch";
	case BR_ERR_INVALID_ALGORITHM: return "TLS: unsupported or invalid algorithm";
	case BR_ERR_BAD_SIGNATURE: return "TLS: bad handshake signature";
	case BR_ERR_WRONG_KEY_USAGE: return "TLS: certificate key usage forbids this key exchange";
	case BR_ERR_NO_CLIENT_AUTH: return "TLS: client sent no certificate (one is required)";
	case BR_ERR_IO: return "TLS: I/O error";
	case BR_ERR_X509_OK: return "certificate OK";
	case BR_ERR_X509_INVALID_VALUE:
	case BR_ERR_X509_TRUNCATED:
	case BR_ERR_X509_INNER_TRUNC:
	case BR_ERR_X509_BAD_TAG_CLASS:
	case BR_ERR_X509_BAD_TAG_VALUE:
	case BR_ERR_X509_INDEFINITE_LENGTH:
	case BR_ERR_X509_EXTRA_ELEMENT:
	case BR_ERR_X509_UNEXPECTED:
	case BR_ERR_X509_NOT_CONSTRUCTED:
	case BR_ERR_X509_NOT_PRIMITIVE:
	case BR_ERR_X509_PARTIAL_BYTE:
	case BR_ERR_X509_BAD_BOOLEAN:
	case BR_ERR_X509_OVERFLOW:
	case BR_ERR_X509_BAD_DN:
	case BR_ERR_X509_BAD_TIME: return VERIFY "malformed certificate";
	case BR_ERR_X509_EMPTY_CHAIN: return VERIFY "no certificate sent";
	case BR_ERR_X509_UNSUPPORTED: return VERIFY "unsupported algorithm or key type";
	case BR_ERR_X509_LIMIT_EXCEEDED: return VERIFY "chain or name too long";
	case BR_ERR_X509_WRONG_KEY_TYPE: return VERIFY "key type not usable for this handshake";
	case BR_ERR_X509_BAD_SIGNATURE: return VERIFY "bad signature";
	case BR_ERR_X509_TIME_UNKNOWN: return VERIFY "current time unknown";
	case BR_ERR_X509_EXPIRED: return VERIFY "expired or not yet valid";
	case BR_ERR_X509_DN_MISMATCH: return VERIFY "issuer name mismatch";
	case BR_ERR_X509_BAD_SERVER_NAME: return VERIFY "hostname mismatch";
	case BR_ERR_X509_CRITICAL_EXTENSION: return VERIFY "unsupported critical extension";
	case BR_ERR_X509_NOT_CA: return VERIFY "issuer is not a CA";
	case BR_ERR_X509_FORBIDDEN_KEY_USAGE: return VERIFY "key usage forbids TLS";
	case BR_ERR_X509_WEAK_PUBLIC_KEY: return VERIFY "public key too weak";
	case BR_ERR_X509_NOT_TRUSTED: return VERIFY "unknown CA";
	}
	return "TLS: unknown error";
}

int tls_alert_for(int e)
{
	switch (e) {
	case BR_ERR_X509_NOT_TRUSTED: return 48; /* unknown_ca */
	case BR_ERR_X509_EXPIRED: return 45;     /* certificate_expired */
	case BR_ERR_X509_UNSUPPORTED:
	case BR_ERR_X509_WRONG_KEY_TYPE: return 43; /* unsupported_certificate */
	case BR_ERR_NO_CLIENT_AUTH: return 116;     /* certificate_required */
	case BR_ERR_UNSUPPORTED_VERSION: return 70; /* protocol_version */
	case BR_ERR_BAD_CIPHER_SUITE: return 40;    /* handshake_failure */
	}
	if (e > BR_ERR_X509_OK && e < 64)
		return 42; /* bad_certificate: hostname mismatch, bad signature, malformed... */
	return 0;
}
