/* The receiving end of `df push` in the host daemon: POST /v1/push {url, digest, dest, mode} fetches
 * the file through the swarm and writes it under the configured push directory, streaming progress
 * lines back to the pusher. Paths that would leave the push directory are refused. */
#ifndef DF_SWARM_PUSHRECV_H
#define DF_SWARM_PUSHRECV_H

#include "net/http_server.h"
#include "store/store.h"
#include "swarm/peer.h"

struct pushrecv;

struct pushrecv_cfg {
	struct ev_loop *loop;
	struct swarm_peer *peer;
	const char *push_dir;   /* files land only below this directory (created when missing) */
	const char *token;      /* cluster token ("" open) */
};

/* Routes POST /v1/push on srv. NULL with err set (the push directory cannot be made). */
struct pushrecv *pushrecv_new(const struct pushrecv_cfg *cfg, struct http_server *srv, char *err, size_t errlen);
void pushrecv_free(struct pushrecv *pr);

/* Resolves dest (relative to push_dir, or absolute inside it) into out, creating the missing
 * folders below push_dir. Refuses ".." components, absolute paths outside push_dir, and any
 * existing component that is a symlink (a link could lead outside). DF_OK, or DF_ERR with the
 * cause in err. Exposed for unit tests. */
int pushrecv_resolve(const char *push_dir, const char *dest, char *out, size_t cap, char *err, size_t errlen);

#endif
