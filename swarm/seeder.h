/* The detached seeder df get leaves behind: the process forks, the parent returns to the user, the
 * child keeps the peer engine serving the host's pieces until idle for a while, then leaves. */
#ifndef DF_SWARM_SEEDER_H
#define DF_SWARM_SEEDER_H

#include "swarm/hostd.h"
#include "swarm/peer.h"

#define SEEDER_IDLE_MAX 100000000UL /* seconds a hand-over may ask for */

struct seeder_cfg {
	struct ev_loop *loop;
	struct swarm_peer *peer;    /* keeps its registrations alive with heartbeats */
	struct http_server *server; /* listening; the piece route keeps serving */
	struct store *store;
	const char *shown;  /* the URL as logs show it (secrets redacted) */
	const char *filter; /* [get] filter: the query parameters redacted too in the URLs handed over */
	double idle;        /* leave after this many seconds without a piece request */
	/* how to make the client for supernodes and peers after fork (cluster TLS), or NULL: plain */
	const struct http_client_cfg *cluster_cfg;
	/* [store] quota and max_idle: the seeder runs the store's GC while it lives (storegc.h) */
	const char *quota;
	uint64_t max_idle;
	void (*on_sighup)(void *ctx); /* a configuration reload (rate caps, log level), or NULL: ignored */
	void *sighup_ctx;
	int close_fd; /* > 0: a descriptor of the parent's own work (df get's copy to -O) the child closes */
	/* what a later df get must match to hand its seeding to this seeder (seeder_fingerprint) */
	const char *fingerprint;
};

/* One seeder per store: a running seeder listens on STORE_ROOT/seeder.sock and takes over the
 * seeding of a later df get's task (it starts a download of it on its own engine: complete in the
 * store, so it registers and seeds), so a host running many gets has one seeder, not one per get.
 *
 * The fingerprint of what a seeder must share with a get to seed for it: the supernodes, the
 * cluster's token and TLS files, the advertised address, the filter, the piece checksum. */
void seeder_fingerprint(const char *supernodes, const char *token, const char *cert, const char *key, const char *ca,
			const char *advertise, const char *filter, const char *piece_digest, char out[65]);

/* A hand-over request as the seeder takes it (pure): the hand-off's lines (hostd_prepare: url,
 * headers, digest; the output is not used), `config: FINGERPRINT`, which must be fingerprint, and an
 * optional `idle: SECONDS` (in *idle, 0 when absent). DF_ERR with *why. */
int seeder_parse_hand_over(const char *buf, size_t len, const char *fingerprint, struct hostd_job_spec *spec,
			   unsigned long *idle, const char **why);

/* Asks the store's running seeder to seed url (headers: nheaders "Name: value" lines for the source;
 * digest: NULL or len 0 for none) in this get's place, for at least idle seconds unasked (its
 * --seed-idle). DF_OK: it took it; DF_ERR with err (none runs, another configuration, it refused):
 * the caller seeds as before. Blocks at most ~3 s. */
int seeder_hand_over(const char *store_root, const char *fingerprint, const char *url, const char *const *headers,
		     int nheaders, const struct digest_spec *digest, double idle, char *err, size_t errlen);

/* Forks. In the parent returns DF_OK (the child's pid is in STORE_ROOT/seeder.pid) or DF_ERR when
 * fork failed. The child never returns: it serves until idle or SIGTERM, tells the supernode it
 * leaves, and exits. */
int seeder_detach(const struct seeder_cfg *cfg);

#endif
