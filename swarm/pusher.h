/* The sending end of `df push` (cmd/push.c prints, this does the protocol): a file server for the
 * pushed file, the preheat at the supernode, and telling every host's push receiver (pushrecv.c). */
#ifndef DF_SWARM_PUSHER_H
#define DF_SWARM_PUSHER_H

#include <stdint.h>

#include "core/progress.h"
#include "core/taskid.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "swarm/auth.h"

enum pusher_hstate { PUSHER_WAIT, PUSHER_RUN, PUSHER_OK, PUSHER_FAIL };
extern const char *const pusher_hstate_names[]; /* "waiting", "fetching", "ok", "failed" */

/* One host of the push: the live table's data. The caller reads it between calls and in on_change. */
struct pusher_host {
	char name[256]; /* host:port of its df proxy */
	enum pusher_hstate state;
	uint64_t have, total;    /* bytes, from the host's progress lines (total 0: unknown) */
	struct rate_meter meter; /* updated twice a second while fetching */
	char why[512];           /* a failure's cause */
	char path[1024];         /* where an ok host wrote the file (or what it stored) */
	double started, ended;   /* the loop's clock */
	int reported;            /* free for the printer: set once it printed the host's end */
	/* private */
	struct pusher *ps;
	char line[1024];
	size_t llen;
	struct http_fetch *f;
};

/* A supernode's short answer: its status and the first bytes of its body, NUL-terminated. */
struct pusher_answer {
	int status;
	size_t len;
	char body[4096];
};

/* Zero it, set the configuration fields, then call pusher_* on it; pusher_free releases it. */
struct pusher {
	/* configuration, set by the caller (not owned) */
	struct ev_loop *loop;
	struct http_client *client;          /* to hosts and the supernode (cluster TLS when on) */
	const char *scheme;                  /* "http" or "https" */
	const char *filter;                  /* [get] filter, for task ids */
	char super[256];                     /* the supernode's host:port */
	char tok[AUTH_HEADER_MAX];           /* the cluster's Authorization line, or "" */
	int parallel;                        /* hosts told at once */
	double timeout;                      /* give up on a host after this long without data */
	void (*on_change)(struct pusher *p); /* a host changed or a tick passed: redraw (may be NULL) */
	void *ctx;                           /* the caller's */
	/* what hosts are told: set by pusher_serve_file, pusher_image_body, or the caller */
	char url[512], digest[80], dest[1024], mode[16];
	/* the hosts (pusher_add_host) */
	struct pusher_host *hosts;
	int nhosts;
	int duplicates; /* host lines that named a host already listed (each host is pushed once) */
	/* private */
	uint32_t *seen; /* open-addressing set of hosts[] indexes + 1 by name, seen_cap slots */
	size_t seen_cap;
	int next, running, done;
	int file_server;  /* the source is our own file server (not --preheat URL) */
	const char *path; /* what hosts are POSTed: /v1/push, or /v1/blobs with body */
	char *body;       /* a blob push's request (one for every host), or NULL */
	struct http_server *srv;
	struct pusher_file {
		const char *path;
		char hex[65];
		const char *token;
		uint64_t size;
	} file;
	ev_timer tick;
	/* re-announcing the task while hosts fetch: a supernode restarted mid-push learns it again */
	ev_timer announce;
	char reg[16384];
	struct pusher_answer ann;
	int ainflight;
	uint64_t announced;
};

/* Adds one host[:port] (a bare host gets df proxy's port 65002); blank and '#' lines are skipped,
 * and so is a host listed already (counted in duplicates). DF_ERR when out of memory or the name is
 * too long. */
int pusher_add_host(struct pusher *p, const char *s, size_t n);
/* One line of a group (or a --host): HOST, HOST:PORT, [IPv6]:PORT or a bare IPv6 address, blanks
 * around it ignored; without a port df proxy's push port (65002). DF_OK with "host:port" in out,
 * DF_AGAIN for a blank or comment line, DF_ERR for anything else (a URL, a user@, a bad port). */
int pusher_host_parse(const char *s, size_t n, char *out, size_t cap);
/* Adds the hosts of a group file, one per line ('-': stdin; '#' starts a comment). DF_ERR with err. */
int pusher_read_group(struct pusher *p, const char *path, char *err, size_t errlen);

/* Reads file once for its size and sha256 (into p->digest; BearSSL hashes about 120 MB/s per
 * core). DF_OK; DF_ERR with err (cannot open, not a regular file); DF_AGAIN when want ("sha256:HEX",
 * or NULL) names another digest, with err saying so. */
int pusher_hash_file(struct pusher *p, const char *file, const char *want, char *err, size_t errlen);
/* Serves the hashed file at GET /v1/file/HEX on a cluster listener (sc, token; listen ":0" for any
 * port), reachable from the supernode at advertise ("": the local address routed toward it); sets
 * p->url. DF_ERR with err. The server lives until pusher_free. */
int pusher_serve_file(struct pusher *p, const char *token, const struct http_server_cfg *sc, const char *listen,
		      const char *advertise, char *err, size_t errlen);
/* The file server's size, and bytes it sent so far. */
uint64_t pusher_file_size(const struct pusher *p);
uint64_t pusher_file_sent(const struct pusher *p);

/* Registers url (digest "" or sha256:HEX; headers: CRLF-ended lines the source wants, or NULL)
 * with the supernode, then leaves at once: the supernode keeps fetching from the source. Runs the
 * loop until answered. The task id in id; DF_ERR with err. */
int pusher_preheat(struct pusher *p, const char *url, const char *digest, const char *headers, char id[TASKID_MAX],
		   char *err, size_t errlen);
/* Waits until the supernode has the whole task id (its status JSON says so). DF_ERR with err. */
int pusher_wait_complete(struct pusher *p, const char *id, char *err, size_t errlen);

/* Makes the hosts' request a blob push of plan's blobs: the image, the registry's headers as
 * "header:" lines and one "blob: DIGEST SIZE URL" line each, POSTed to /v1/blobs. The body holds
 * credentials: pusher_free wipes it. DF_ERR when out of memory. */
struct image_plan;
int pusher_image_body(struct pusher *p, const struct image_plan *plan);
/* Tells every host (at most p->parallel at once) and runs the loop until all ended; with announce,
 * re-registers the preheat every 5 s meanwhile. Returns how many ended ok. */
int pusher_run_hosts(struct pusher *p, int announce);

void pusher_free(struct pusher *p);

#endif
