/* A pass-through relay: answers a client's request with an upstream's response, streamed with
 * backpressure both ways (a slow client pauses the upstream fetch). What df proxy does with every
 * request that does not go P2P: /v2/ and manifests of the registry mirror, the HTTP proxy's plain
 * forwarding, and blobs when the swarm cannot serve them. */
#ifndef DF_SWARM_HTTPPROXY_RELAY_H
#define DF_SWARM_HTTPPROXY_RELAY_H

#include <stdint.h>

#include "net/http_client.h"
#include "net/http_server.h"

/* Counters a relay adds to (owned by the caller, may be shared by many relays). */
struct relay_stats {
	uint64_t started, failed; /* relays begun; ended without the whole upstream response */
	uint64_t bytes;           /* body bytes passed to clients */
};

struct relay_cfg {
	struct http_client *client;
	const char *method;  /* upstream method; NULL: the client's */
	const char *url;     /* absolute upstream URL */
	const char *headers; /* request lines for the upstream ("Name: value\r\n"...), or NULL */
	const void *body;    /* request body (copied), or NULL */
	size_t body_len;
	int follow_redirects;      /* follow 3xx upstream (Authorization is dropped across hosts) */
	const char *what;          /* names the upstream in messages; NULL: "upstream" */
	double idle_timeout;       /* no upstream progress for this long; 0: the client's */
	struct relay_stats *stats; /* or NULL */
};

/* Starts relaying. From here on the relay owns req's exchange (it sets req's done callback and
 * frees itself when the exchange ends); the caller must not touch req again. When the upstream
 * cannot be reached the client gets 502 with the cause; when the upstream fails mid-body the
 * client's connection is aborted (never a short body that looks complete). Returns DF_OK, or
 * DF_ERR after answering 502 itself (a URL that cannot be fetched, out of memory). */
int relay_start(struct http_req *req, const struct relay_cfg *cfg);

#endif
