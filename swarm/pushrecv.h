/* The receiving end of `df push` in the host daemon: POST /v1/push {url, digest, dest, mode} fetches
 * the file through the swarm and writes it under the configured push directory, streaming progress
 * lines back to the pusher. Paths that would leave the push directory are refused. POST /v1/blobs
 * (df push --image) fetches image blobs by digest into the host's store only, where df proxy's
 * registry mirror finds them (after its usual authorization check at the registry). */
#ifndef DF_SWARM_PUSHRECV_H
#define DF_SWARM_PUSHRECV_H

#include <limits.h>

#include "core/digest.h"
#include "net/http_server.h"
#include "store/store.h"
#include "swarm/exporter.h"
#include "swarm/peer.h"

struct pushrecv;

struct pushrecv_cfg {
	struct ev_loop *loop;
	struct swarm_peer *peer;
	const char *push_dir; /* files land only below this directory (created when missing) */
	const char *token;    /* cluster token ("" open) */
	int special_modes;    /* accept modes with setuid, setgid or sticky bits (else refused) */
};

/* Routes POST /v1/push and POST /v1/blobs on srv. NULL with err set (the push directory cannot be made). */
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

/* A blob push (POST /v1/blobs) as POSTed: "key: value" lines
 *   image: REF                      what the blobs belong to (for logs; optional)
 *   header: Name: value             a header line for the source (repeatable; never logged)
 *   blob: sha256:HEX SIZE URL       a blob by digest, its size and where the source serves it
 *                                   (repeatable, 1 to PUSH_MAX_BLOBS)
 * Unknown keys are ignored; a value with a control character is refused. */
#define PUSH_MAX_BLOBS 1024
struct pushrecv_blob {
	struct digest_spec digest; /* sha256 */
	uint64_t size;
	struct slice url; /* an http(s) URL, a slice of the body */
};
struct pushrecv_blobs {
	struct slice image;
	char headers[16384]; /* the header lines as "Name: value\r\n"... */
	int n;
	struct pushrecv_blob blob[PUSH_MAX_BLOBS];
};
/* Parses and checks a blob push body as the handler does before it starts anything; pure (fuzzed
 * through test/fuzz/fuzz_push_blobs.c). DF_OK, or DF_ERR with *why (static text). */
int pushrecv_parse_blobs(const char *body, size_t len, struct pushrecv_blobs *rq, const char **why);

#define PUSH_MAX_DEPTH 64 /* folders in a destination, at most */

/* A destination below the push directory, resolved without following links. */
struct push_target {
	int dirfd;               /* the folder that receives the file (owned; -1 when none) */
	char name[NAME_MAX + 1]; /* the file's name in it */
	char path[PATH_MAX];     /* push_dir/dest, for messages */
};

/* Resolves dest (relative to push_dir, or absolute inside it; push_dirfd is push_dir opened) into
 * tg: every component is checked first (no "..", ".", control characters), then the folders are
 * opened one by one from push_dirfd with O_NOFOLLOW, made when missing. Refuses absolute paths
 * outside push_dir, any existing component that is a symlink (a link could lead outside), a
 * folder that is a file and a file name that is a folder; a refused request leaves no folder it
 * made behind. DF_OK (the caller closes with pushrecv_target_close), or DF_ERR with the cause in
 * err. Exposed for unit tests. */
int pushrecv_open_target(int push_dirfd, const char *push_dir, const char *dest, struct push_target *tg, char *err,
			 size_t errlen);
void pushrecv_target_close(struct push_target *tg);
/* Starts writing the complete task st as tg's file with mode (store_export_run relative to a copy
 * of tg->dirfd) on a worker thread (swarm/exporter.h): done(ctx, rc, err) on loop when it is in
 * place or failed. NULL with the cause in err when it cannot start. */
struct exporter *pushrecv_write(struct ev_loop *loop, const struct push_target *tg, struct store_task *st,
				unsigned mode, void (*done)(void *ctx, int rc, const char *err), void *ctx, char *err,
				size_t errlen);

#endif
