/* The receiving end of `df push` in the host daemon: POST /v1/push {url, digest, dest, mode} fetches
 * the file through the swarm and writes it under the configured push directory, streaming progress
 * lines back to the pusher. Paths that would leave the push directory are refused. */
#ifndef DF_SWARM_PUSHRECV_H
#define DF_SWARM_PUSHRECV_H

#include <limits.h>

#include "core/digest.h"
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

/* A push request as POSTed: "key: value" lines url, digest (sha256:HEX), dest, mode (octal, 0644
 * when absent); unknown keys are ignored, a later line wins; a value with a control character (a CR
 * inside a line) is refused. */
struct pushrecv_request {
	char url[4096];
	struct digest_spec digest;
	char dest[PATH_MAX];
	unsigned mode;
};
/* Parses and checks a request body as the handler does before anything touches the disk or the
 * swarm; pure (fuzzed through test/fuzz/fuzz_push_body.c). DF_OK, or DF_ERR with *why (static text:
 * the 400 answer names the line and the cause). */
int pushrecv_parse_request(const char *body, size_t len, struct pushrecv_request *rq, const char **why);

/* Resolves dest (relative to push_dir, or absolute inside it) into out, creating the missing
 * folders below push_dir. Refuses ".." components, absolute paths outside push_dir, and any
 * existing component that is a symlink (a link could lead outside). DF_OK, or DF_ERR with the
 * cause in err. Exposed for unit tests. */
int pushrecv_resolve(const char *push_dir, const char *dest, char *out, size_t cap, char *err, size_t errlen);

#endif
