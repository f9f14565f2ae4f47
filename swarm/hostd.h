/* The host daemon's hand-off endpoint: a unix socket (DATA/proxy.sock) where `df get` on the same
 * host gives its download to the running df proxy, which fetches it with the host's one peer
 * engine and store, streams progress back, exports the file and keeps seeding it afterwards.
 *
 * The exchange (docs/PROXY.md has the details): the client sends "key: value" lines, then an empty
 * line:
 *   url: http(s)://...          required
 *   header: Name: value         repeatable, for the source (never logged)
 *   digest: sha256:HEX | md5:HEX
 *   output: /absolute/path      required; written atomically (link or copy from the store)
 * and reads lines until the daemon closes:
 *   task: ID                    the job is accepted
 *   length: N                   the file's length once known (-1: the source does not say)
 *   progress: DONE TOTAL        bytes present, at most five times a second
 *   done: LENGTH PEERS SUPER SOURCE RESUMED   the file is at output (bytes by origin)
 *   error: EXIT_CODE MESSAGE    it failed (exit codes of enum df_exit)
 *   error: 2 refused: MESSAGE   this client is not served (another user): it downloads by itself
 * swarm/hostd_client.h is the client df get uses.
 * Only a client of the daemon's own user (or root) is served (SO_PEERCRED): the daemon writes the
 * output file with its own rights. */
#ifndef DF_SWARM_HOSTD_H
#define DF_SWARM_HOSTD_H

#include <stdint.h>

#include "core/digest.h"
#include "core/slice.h"
#include "net/loop.h"
#include "store/store.h"

struct hostd;
struct swarm_peer;

struct hostd_cfg {
	struct ev_loop *loop;
	struct swarm_peer *peer;
	struct store *store;
	const char *path; /* the socket's path (copied) */
};

/* Binds and listens on cfg->path (mode 0600; a stale socket nobody answers on is replaced). NULL
 * with err set: another daemon answers there, the path is too long, or bind fails. */
struct hostd *hostd_new(const struct hostd_cfg *cfg, char *err, size_t errlen);
/* Stops accepting and removes the socket file; jobs in flight go on. NULL is fine. */
void hostd_stop(struct hostd *hd);
/* Stops, cancels every job (their clients see the connection close without a done line) and
 * frees. Call it before swarm_peer_free. NULL is fine. */
void hostd_free(struct hostd *hd);

struct hostd_stats {
	uint64_t jobs;    /* hand-offs accepted */
	uint64_t failed;  /* of which ended with an error line */
	uint64_t refused; /* clients refused (other user, malformed request) */
};
void hostd_get_stats(const struct hostd *hd, struct hostd_stats *out);

/* Parses a complete hand-off request (buf up to, not including, its empty line) into job; pure.
 * Slices point into buf. DF_OK, or DF_ERR with *why set. */
#define HOSTD_MAX_HEADERS 32
struct hostd_request {
	struct slice url, digest, output, mode;
	struct slice headers[HOSTD_MAX_HEADERS];
	int nheaders;
};
int hostd_parse_request(const char *buf, size_t len, struct hostd_request *rq, const char **why);

/* What the daemon starts a job with: the request parsed and checked (hostd_parse_request), then
 * the url and output copied, the digest parsed and the header lines joined as the source request
 * takes them ("Name: value\r\n"...). Pure, the whole of the handler's decision before the download
 * starts (fuzzed through test/fuzz/fuzz_handoff.c). DF_OK, or DF_ERR with *why set. */
struct hostd_job_spec {
	char url[8192];
	char output[4096];
	char headers[16384];
	size_t headers_len;
	struct digest_spec digest; /* len 0: none given */
	int mode;                  /* the output's permission bits (the client's 0666 & ~umask); -1: the daemon's */
};
int hostd_prepare(const char *buf, size_t len, struct hostd_job_spec *spec, const char **why);

/* Whether the process at the other end of unix socket fd may have this one act in its name: this
 * process's own user, or root (SO_PEERCRED). */
int hostd_peer_allowed(int fd);

/* Where a request arriving in pieces ends: the length before its empty line ("\n\n" or "\n\r\n"),
 * or 0 while it has not arrived. seen: the bytes of buf earlier calls already scanned (only their
 * last two are looked at again). The same answer as one call over the whole buffer. */
size_t hostd_request_end(const char *buf, size_t len, size_t seen);

#endif
