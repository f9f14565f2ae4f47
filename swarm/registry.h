/* The registry mirror of df proxy: what containerd, CRI-O, podman and skopeo pull through. /v2/ and
 * manifests are passed through to the upstream registry (every Accept line, the client's
 * credentials; with offline_serve fetched whole and kept by digest for when the upstream cannot be
 * reached, registry_manifest.c); blobs (sha256) go P2P as content-addressed tasks, served to a client
 * only after the upstream authorized that client for the blob, streamed as pieces arrive, and
 * completed only once the whole blob matched its digest.
 *
 * Which upstream: the first configured, or the one containerd's ?ns=HOST names (among the
 * configured ones only: df is never an open proxy). */
#ifndef DF_SWARM_REGISTRY_H
#define DF_SWARM_REGISTRY_H

#include <stdint.h>

#include "net/http_client.h"
#include "net/http_server.h"
#include "store/store.h"
#include "swarm/httpproxy_relay.h"
#include "swarm/registry_parse.h"
#include "core/digest.h"

struct registry;
struct swarm_peer;

struct registry_cfg {
	struct ev_loop *loop;
	struct http_client *client; /* for upstreams (TLS for https ones) */
	struct swarm_peer *peer;    /* the peer engine blobs go through; NULL: straight from the upstream */
	struct store *store;        /* the engine's store (blob replies hold their task open) */
	const struct registry_upstream *upstreams; /* copied */
	int nupstreams;
	double timeout; /* no progress from an upstream for this long; 0: the client's */
	/* [proxy] offline_serve: when an upstream cannot be reached, serve a sha256 blob the store or the
	 * swarm holds to a client the upstream accepted for the repository within offline_remember
	 * seconds (decisions remembered as hashes in authmem_path, docs/PROXY.md) */
	int offline_serve;
	int offline_remember;
	const char *authmem_path;  /* needed with offline_serve */
	const char *manifests_dir; /* where manifest copies go (offline_serve); NULL: none kept */
	int offline_tags;          /* [proxy] offline_tags: a tag answered with its last digest offline */
};

/* A mirror (cfg copied). NULL with err set when out of memory. */
struct registry *registry_new(const struct registry_cfg *cfg, char *err, size_t errlen);
/* Frees the mirror. Call it after http_server_free of the server it is routed on (which ends every
 * exchange); what is still in flight is aborted. NULL is fine. */
void registry_free(struct registry *reg);

/* Routes /v2 on srv to the mirror. DF_OK or DF_ERR (out of memory). */
int registry_route(struct registry *reg, struct http_server *srv);

/* The route handler: a request whose target is a /v2/ path, for the upstream ?ns= names. */
void registry_handle(struct http_req *req, void *ctx);

/* The configured upstream whose scheme, host and port are those of url, or NULL. */
const struct registry_upstream *registry_find_upstream(const struct registry *reg, const char *url);

/* Serves a /v2/ request (path and query as the client sent them; ns is not forwarded) from upstream
 * u: manifests and the rest passed through, sha256 blob GETs through registry_serve_p2p. For the
 * HTTP proxy's absolute-form requests to a configured registry. */
void registry_serve(struct registry *reg, struct http_req *req, const struct registry_upstream *u, struct slice path,
		    struct slice query);

/* Serves a GET of url (absolute http(s)) from the swarm engine, once url's origin answered a HEAD
 * with the client's credentials (Authorization, Cookie) with 2xx or 3xx; otherwise, and whenever
 * the swarm fails before the first byte, the request is relayed to the origin as it is. digest
 * (NULL or len 0: none) makes the task content-addressed and is checked before the reply
 * completes. Range requests get 206. Takes over req's exchange. */
void registry_serve_p2p(struct registry *reg, struct http_req *req, const char *url, const struct digest_spec *digest);

struct registry_stats {
	uint64_t requests;          /* /v2/ requests */
	uint64_t manifests;         /* manifest requests passed through */
	uint64_t blobs_p2p;         /* blob GETs served from the swarm engine */
	uint64_t blobs_direct;      /* blob requests relayed straight from the upstream */
	uint64_t blob_bytes;        /* body bytes of blob GETs served from the swarm engine */
	uint64_t denied;            /* blob GETs (and HEADs) the upstream did not authorize */
	uint64_t heads;             /* blob HEADs answered by df once the upstream authorized them */
	uint64_t super_failed;      /* blobs relayed because the supernode failed their task */
	char super_failure[320];    /* the last such failure: "supernode HOST: REASON", or "" */
	uint64_t offline;           /* blob requests served while the upstream could not be reached */
	uint64_t offline_refused;   /* ... refused then: no remembered yes for those credentials */
	uint64_t manifests_offline; /* manifest requests answered from a copy (upstream unreachable) */
	uint64_t
		manifests_offline_refused; /* ... refused then (no remembered yes, no copy, a tag without offline_tags) */
	uint64_t aborted; /* blob replies aborted (digest mismatch, swarm failure mid-body, client gone) */
	struct relay_stats relay;
};
void registry_get_stats(const struct registry *reg, struct registry_stats *out);

#endif
