/* Inside the registry mirror: the state registry.c (routing, pass-through) and registry_blob.c
 * (blobs from the swarm) share. Not for other modules. */
#ifndef DF_SWARM_REGISTRY_INT_H
#define DF_SWARM_REGISTRY_INT_H

#include "core/digest.h"
#include "swarm/registry.h"

struct registry {
	struct registry_cfg cfg;
	struct registry_upstream *ups;
	struct registry_stats st;
	struct reg_blob *blobs; /* blob requests in flight (freed by registry_free) */
	struct authmem *mem;    /* remembered authorization decisions (offline_serve), or NULL */
	struct mancache *mc;    /* manifest copies (offline_serve), or NULL */
	struct reg_man *mans;   /* manifest requests in flight with offline_serve (registry_manifest.c) */
	/* with offline_serve: each upstream's last answer to /v2/ (the clients' ping, which decides
	 * whether they send credentials), replayed while it cannot be reached */
	struct reg_ping {
		char host[300];
		int status;           /* 200 or 401 */
		char challenge[1024]; /* its WWW-Authenticate line(s) as passed back, or "" */
	} pings[8];
};

/* With offline_serve: a manifest GET or HEAD fetched by df (buffered, kept by digest) instead of a
 * plain relay, answered from the copy when the upstream cannot be reached. Takes over req. */
struct registry_plan;
void registry_manifest_serve(struct registry *reg, struct http_req *req, const struct registry_plan *p);
/* Ends every manifest request in flight (registry_free). */
void registry_manifest_abort_all(struct registry *reg);
/* The distribution API's error reply (df's own message, never request data). */
void registry_reply_error(struct http_req *req, int status, const char *code, const char *msg);

/* One blob GET: the authorization check at the upstream, then the reply from the swarm. */
struct reg_blob {
	struct registry *reg;
	struct reg_blob *prev, *next;
	struct http_req *req;
	struct http_fetch *check; /* the authorizing HEAD at the upstream (then the GET following its redirect) */
	int check_status;
	int followed;    /* the check is the GET that follows the HEAD's redirect */
	int head;        /* the client's request is a HEAD: answered once authorized */
	int64_t total;   /* the blob's length as the check's answer gives it, or -1 */
	char ctype[128]; /* the origin's Content-Type from a HEAD answered 2xx, or "" */
	struct digest_spec digest;
	char url[2048];            /* the blob at the upstream */
	char shown[2048];          /* url as logs show it (redacted) */
	char creds[8192];          /* the client's Authorization / Cookie lines, for the upstream only */
	struct reg_stream *stream; /* the swarm side, once authorized */
	int has_keys;              /* a registry blob URL: the keys below are set (offline_serve) */
	uint8_t key[32];           /* authmem key of (creds, upstream host, repository, blob) */
	uint8_t anon_key[32];      /* ... of no credentials: the repository was served to anyone */
};

/* The header lines of a blob reply from df (Content-Type, Docker-Content-Digest...) into out.
 * Returns their length. */
int registry_blob_headers(const struct reg_blob *b, char *out, size_t cap);

/* Serves b from the swarm engine (b->reg->cfg.peer is set; the upstream authorized the client).
 * Either answers b->req (and arranges b's end) or falls back to relay_blob. */
void registry_blob_p2p(struct reg_blob *b);
/* Hands b's request to a pass-through relay of the blob from the upstream and frees b. */
void registry_blob_relay(struct reg_blob *b);
/* Forgets b: unlinks and frees it (its request must be answered or handed over already). */
void registry_blob_free(struct reg_blob *b);
/* Stops b's swarm side (registry_free, the client gone). */
void registry_blob_stream_stop(struct reg_blob *b);

#endif
