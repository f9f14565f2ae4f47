/* Inside the HTTP proxy: the state httpproxy.c (requests) and httpproxy_tunnel.c (CONNECT) share.
 * Not for other modules. */
#ifndef DF_SWARM_HTTPPROXY_INT_H
#define DF_SWARM_HTTPPROXY_INT_H

#include <regex.h>

#include "net/resolve.h"
#include "swarm/httpproxy.h"

struct httpproxy_mitm;

struct httpproxy {
	struct httpproxy_cfg cfg;
	struct httpproxy_mitm *mitm; /* NULL: no interception */
	regex_t *rx;
	int nrx;
	struct resolver *resolver; /* CONNECT targets */
	struct tunnel *tunnels;    /* open tunnels (closed by httpproxy_free) */
	struct httpproxy_stats st;
};

/* Takes over a CONNECT request's connection and tunnels it to the target it names. */
void httpproxy_tunnel_start(struct httpproxy *hp, struct http_req *req);
/* Closes every tunnel (httpproxy_free). */
void httpproxy_tunnels_close(struct httpproxy *hp);

/* Handles a proxied request (absolute-form, or origin-form inside an intercepted tunnel): the
 * mirror, the swarm or the origin, by the rules. */
void httpproxy_forward(struct httpproxy *hp, struct http_req *req);

/* Interception (httpproxy_mitm.c). _new loads the CA, makes the leaf key and the inner server;
 * NULL with "FILE: cause" (or another cause) in err. */
struct httpproxy_mitm *httpproxy_mitm_new(struct httpproxy *hp, char *err, size_t errlen);
/* Closes every intercepted connection and frees m. NULL is fine. */
void httpproxy_mitm_free(struct httpproxy_mitm *m);
/* Whether CONNECT to host is to be intercepted. */
int httpproxy_mitm_match(const struct httpproxy_mitm *m, const char *host);
/* Takes over a CONNECT request to host:port: answers 200 and serves HTTP over a TLS session with a
 * leaf for host. DF_ERR with req untouched when no leaf can be minted (the caller tunnels it). */
int httpproxy_mitm_start(struct httpproxy_mitm *m, struct http_req *req, const char *host, int ipv6, uint16_t port);
/* "https://HOST[:PORT]" of the intercepted tunnel req came through; NULL for any other request. */
const char *httpproxy_mitm_origin(struct http_req *req);

#endif
