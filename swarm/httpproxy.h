/* The HTTP-proxy mode of df proxy, on the same port as the registry mirror: absolute-form requests
 * ("GET http://host/path") whose URL matches a proxy rule go P2P (after the origin authorized the
 * client), every other one is forwarded as it is; CONNECT is tunneled untouched, except to hosts
 * named for interception (mitm_hosts), whose TLS df ends itself with a certificate it mints from the
 * user's CA, so that the https requests inside are handled like absolute-form ones. A URL of a
 * configured registry goes through the mirror (content-addressed blobs); any other URL that
 * matches a rule is a task keyed by its URL. */
#ifndef DF_SWARM_HTTPPROXY_H
#define DF_SWARM_HTTPPROXY_H

#include <stdint.h>

#include "net/http_client.h"
#include "net/http_server.h"
#include "swarm/httpproxy_relay.h"
#include "swarm/registry.h"

struct httpproxy;

struct httpproxy_cfg {
	struct ev_loop *loop;
	struct http_client *client; /* for origins */
	struct registry *registry;  /* the mirror: P2P and configured registries go through it */
	const char *const *rules;   /* extended regexes matched against the whole URL (copied, compiled) */
	int nrules;
	int p2p;         /* rule matches go P2P (0: everything is forwarded as it is) */
	double timeout;  /* no progress from an origin for this long; 0: the client's */
	size_t max_body; /* largest request body forwarded (read whole first); 0: 8 MiB */
	/* interception: CONNECT to a host matching one of these extended regexes (whole host name) gets
	 * a TLS session df ends with a leaf minted from ca_cert/ca_key (PEM paths, loaded by
	 * httpproxy_new). nmitm 0: none, every CONNECT is tunneled untouched. */
	const char *const *mitm_hosts;
	int nmitm;
	const char *ca_cert, *ca_key;
};

/* A proxy. NULL with err set: a rule that does not compile ("--proxy-rule 'x(': ..."), a CA that
 * does not load ("FILE: cause"), no memory, no resolver. Reads files: call before the loop. */
struct httpproxy *httpproxy_new(const struct httpproxy_cfg *cfg, char *err, size_t errlen);
/* Frees the proxy and closes its tunnels. Call it after http_server_free of the server it is
 * routed on. NULL is fine. */
void httpproxy_free(struct httpproxy *hp);

/* Routes every target that no longer route takes (absolute-form, CONNECT, stray paths) on srv to
 * hp. DF_OK or DF_ERR. */
int httpproxy_route(struct httpproxy *hp, struct http_server *srv);

/* Whether url matches one of the rules (exposed for tests). */
int httpproxy_rule_match(const struct httpproxy *hp, const char *url);

struct httpproxy_stats {
	uint64_t requests;      /* absolute-form requests */
	uint64_t p2p;           /* of which matched a rule and went to the swarm side */
	uint64_t tunnels;       /* CONNECT tunnels opened */
	uint64_t tunnel_failed; /* CONNECTs whose target could not be reached */
	uint64_t tunnel_bytes;  /* bytes carried both ways */
	uint64_t mitm_tunnels;  /* CONNECTs intercepted (TLS ended by df) */
	uint64_t mitm_failed;   /* intercepted CONNECTs that could not start (client gone, no memory) */
	uint64_t mitm_minted;   /* leaf certificates minted */
	uint64_t mitm_requests; /* requests read inside intercepted tunnels */
	struct relay_stats relay;
};
void httpproxy_get_stats(const struct httpproxy *hp, struct httpproxy_stats *out);

#endif
