/* The client side of the host daemon's hand-off socket (swarm/hostd.h has the exchange): what
 * `df get` uses to give its download to the host's running df proxy and follow it to the end. */
#ifndef DF_SWARM_HOSTD_CLIENT_H
#define DF_SWARM_HOSTD_CLIENT_H

#include <stdint.h>

#include "core/digest.h"
#include "core/proto.h"
#include "core/slice.h"

/* One line the daemon answers, parsed (pure: hostd_parse_answer). */
enum hostd_answer_kind {
	HOSTD_ANS_OTHER = 0, /* a line this client does not know (a newer daemon): ignored */
	HOSTD_ANS_TASK,      /* task: ID */
	HOSTD_ANS_LENGTH,    /* length: N (-1: unknown) */
	HOSTD_ANS_PROGRESS,  /* progress: DONE TOTAL */
	HOSTD_ANS_DONE,      /* done: LENGTH PEERS SUPER SOURCE RESUMED */
	HOSTD_ANS_ERROR,     /* error: EXIT_CODE MESSAGE */
	HOSTD_ANS_REFUSED,   /* error: 2 refused: MESSAGE (the daemon does not serve this client) */
};
struct hostd_answer {
	enum hostd_answer_kind kind;
	int64_t num[5];   /* progress: done, total; done: length, peers, super, source, resumed; length */
	int exit_code;    /* error, refused: 1..125 */
	struct slice msg; /* error, refused: the message; task: the id (points into the line) */
};
/* Parses one line without its "\n". A line of a known kind with malformed numbers is an error
 * (DF_ERR, *a untouched); an unknown kind is HOSTD_ANS_OTHER. Pure. */
int hostd_parse_answer(const char *line, size_t len, struct hostd_answer *a);

/* A job's request lines (the hand-off's, and the seeder hand-over's, which adds its own): url,
 * output, mode when >= 0, a header line each ("Name: value"), the digest when given. cap: a buffer they fit in,
 * with room for ~100 bytes more. */
size_t hostd_job_lines_cap(const char *url, const char *output, const char *const *headers, int nheaders);
void hostd_put_job(struct proto_buf *b, const char *url, const char *output, int mode, const char *const *headers,
		   int nheaders, const struct digest_spec *digest);

/* Where the socket is: socket_path when set, else DATA/proxy.sock under data_root (or the default
 * store root when data_root is empty). DF_OK, or DF_ERR when no path fits in cap. */
int hostd_socket_path(const char *socket_path, const char *data_root, char *buf, size_t cap);

struct hostd_handoff {
	const char *socket; /* hostd_socket_path */
	const char *url;
	const char *output;         /* relative paths are made absolute here: the daemon writes it */
	const char *const *headers; /* "Name: value" lines for the source */
	int nheaders;
	const struct digest_spec *digest; /* NULL or len 0: none */
	/* called for each progress line; NULL: not asked */
	void (*on_progress)(int64_t done, int64_t total, void *ctx);
	void *ctx;
};

/* Seconds without a line from the daemon (it says one at least every 5 s while it works) after which
 * it is taken for hung. */
#define HOSTD_SILENCE 30

enum hostd_outcome {
	HOSTD_NO_DAEMON = 0, /* nothing answers on the socket: run the download here */
	HOSTD_NOT_OURS,      /* the daemon refused this client (another user's): run it here */
	HOSTD_LOST,          /* the daemon stopped before the end, or said nothing for HOSTD_SILENCE s (res->msg
			      * says so): run it here (it resumes from the store) */
	HOSTD_DONE,          /* the file is at output; res has the bytes by origin */
	HOSTD_FAILED,        /* the daemon's download failed: res has the exit code and message */
};
struct hostd_result {
	int64_t length, peers, super, source, resumed;
	int exit_code;
	char msg[600];
	long daemon_pid; /* the daemon's, as its socket says (SO_PEERCRED), or 0 */
};
/* Connects, sends the request and reads the answer to its end (blocking; the daemon bounds the
 * job, and a daemon silent for HOSTD_SILENCE s is given up on). Never fails on its own: a request that cannot be made is HOSTD_NO_DAEMON with res->msg
 * saying why, so the caller downloads itself. */
enum hostd_outcome hostd_handoff(const struct hostd_handoff *h, struct hostd_result *res);

/* The reading half of hostd_handoff: answer lines from fd until one ends the exchange (HOSTD_DONE,
 * HOSTD_FAILED, HOSTD_NOT_OURS) or fd ends (HOSTD_LOST). Lines it cannot parse, and lines longer
 * than this protocol sends (4 KiB), are skipped. Fuzzed through test/fuzz/fuzz_handoff_answer.c. */
enum hostd_outcome hostd_follow(int fd, const struct hostd_handoff *h, struct hostd_result *res);

#endif
