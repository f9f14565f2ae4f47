/* The detached seeder df get leaves behind: the process forks, the parent returns to the user, the
 * child keeps the peer engine serving the host's pieces until idle for a while, then leaves. */
#ifndef DF_SWARM_SEEDER_H
#define DF_SWARM_SEEDER_H

#include "swarm/peer.h"

struct seeder_cfg {
	struct ev_loop *loop;
	struct swarm_peer *peer;    /* keeps its registrations alive with heartbeats */
	struct http_server *server; /* listening; the piece route keeps serving */
	struct store *store;
	const char *shown; /* the URL as logs show it (secrets redacted) */
	double idle;       /* leave after this many seconds without a piece request */
	/* how to make the client for supernodes and peers after fork (cluster TLS), or NULL: plain */
	const struct http_client_cfg *cluster_cfg;
	/* [store] quota and max_idle: the seeder runs the store's GC while it lives (storegc.h) */
	const char *quota;
	uint64_t max_idle;
	void (*on_sighup)(void *ctx); /* a configuration reload (rate caps, log level), or NULL: ignored */
	void *sighup_ctx;
	int close_fd; /* > 0: a descriptor of the parent's own work (df get's copy to -O) the child closes */
};

/* Forks. In the parent returns DF_OK (the child's pid is in STORE_ROOT/seeder.pid) or DF_ERR when
 * fork failed. The child never returns: it serves until idle or SIGTERM, tells the supernode it
 * leaves, and exits. */
int seeder_detach(const struct seeder_cfg *cfg);

#endif
