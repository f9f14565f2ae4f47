/* Inside the HTTP proxy: the state httpproxy.c (requests) and httpproxy_tunnel.c (CONNECT) share.
 * Not for other modules. */
#ifndef DF_SWARM_HTTPPROXY_INT_H
#define DF_SWARM_HTTPPROXY_INT_H

#include <regex.h>

#include "net/resolve.h"
#include "swarm/httpproxy.h"

struct httpproxy {
	struct httpproxy_cfg cfg;
	regex_t *rx;
	int nrx;
	struct resolver *resolver;   /* CONNECT targets */
	struct tunnel *tunnels;      /* open tunnels (closed by httpproxy_free) */
	struct httpproxy_stats st;
};

/* Takes over a CONNECT request's connection and tunnels it to the target it names. */
void httpproxy_tunnel_start(struct httpproxy *hp, struct http_req *req);
/* Closes every tunnel (httpproxy_free). */
void httpproxy_tunnels_close(struct httpproxy *hp);

#endif
