/* The peer engine every host-side command shares (df get, df proxy, the push receiver): one per
 * process, owning the piece server routes and the link to the supernodes; any number of downloads
 * (one per task, any number of watchers each) that register with a supernode, fetch pieces from
 * other peers checked against the supernode's checksums, fall back to the source when no supernode
 * answers, and keep seeding what they completed.
 *
 * How it is used: swarm_peer_new once with the loop, an HTTP client, an HTTP server (already
 * listening: the engine adds the /v1/piece/ route), the store and the supernode list. Then
 * swarm_dl_start for each file wanted: a second start for the same task joins the download in
 * progress. Watchers learn the length (on_meta), each piece as it lands (on_piece: pieces arrive in
 * any order; a streaming consumer serves the longest present prefix), and the end (on_done), from
 * the loop, never inside a swarm_* call. The task stays registered and served after it completes,
 * until swarm_peer_free (or, with seed_idle, until nobody fetched from it for that long). */
#ifndef DF_SWARM_PEER_H
#define DF_SWARM_PEER_H

#include <stdint.h>

#include "core/digest.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "store/store.h"
#include "swarm/storegc.h"

struct swarm_peer;
struct swarm_dl;

struct swarm_peer_cfg {
	struct ev_loop *loop;
	struct http_client *client;  /* for sources (TLS for https sources) */
	struct http_client *cluster; /* for supernodes and peers (cluster TLS); NULL: client */
	int cluster_tls;             /* dial supernodes and peers with https */
	struct http_server *server;  /* this host's piece server: the engine routes /v1/piece/ on it; NULL:
	                              * none (registrations say port 0: a downloader only) */
	struct store *store;
	const char *supernodes; /* "host:port[,host:port...]": each task goes to the first of them in
	                              * rendezvous-hash order of its id, then the next on failure; "" or NULL: none */
	const char *token;      /* cluster token ("" open) */
	const char *advertise;  /* address other peers dial; "" or NULL: as the supernode sees us */
	const char *filter;     /* query parameters dropped from URL task ids (comma-separated) */
	int back_to_source;     /* fetch straight from the source when no supernode answers */
	double supernode_retry; /* seconds a registered download keeps retrying its supernodes (backing
	                              * off) after losing them, before the source; 0: to the source at once */
	uint32_t piece_size;    /* for direct downloads, 0: from the length (a supernode decides for swarm ones) */
	double timeout;         /* no progress on a piece or source fetch for this long; 0: 60 s */
	/* A piece transfer gets 5 s plus its size at this rate (bytes/s; [get] min_piece_rate) before it is
	 * given up, charged to its uploader and asked elsewhere; 0: no deadline. limit_rate (the download
	 * limit, 0: none) lowers that floor to the limit's share of a transfer. */
	uint64_t min_piece_rate, limit_rate;
	/* No piece byte from the swarm for this long (seconds; [get] stall_timeout): fall back to the
	 * source, or fail with DF_EXIT_NOSUPER without back_to_source. 0: never. */
	double stall_timeout;
	/* The per-piece checksum required ([security] piece_digest): with DIGEST_PIECE_SHA256 a download
	 * whose supernode hands out xxh3 sums fails rather than trust them; with xxh3 either is accepted. */
	enum digest_piece_algo piece_digest;
	struct storegc *gc; /* the store's GC, run before a new task is created; NULL: none */
	/* A download that completes leaves its supernode instead of seeding (a child site's supernode
	 * fetching through its parent site, swarm/parent.h: its own piece server serves its own site). */
	int no_seed;
	/* A piece late near the end waits for its deadline (min_piece_rate) instead of being asked
	 * from a second uploader: each byte crosses the link once (a child site's supernode, whose link
	 * to the parent site is what it saves; multisite_netns saw a piece fetched twice over it when a
	 * busy machine slowed one transfer to 4x the others'). */
	int no_late;
};

/* A new engine (cfg copied; strings and objects must outlive it). NULL with err set. */
struct swarm_peer *swarm_peer_new(const struct swarm_peer_cfg *cfg, char *err, size_t errlen);
/* Stops every download (their watchers get on_done with DF_ERR "stopped"), tells the supernodes it
 * leaves, closes its tasks. */
void swarm_peer_free(struct swarm_peer *sp);

/* Counters for status and summaries. */
struct swarm_dl_stats {
	uint64_t from_peers, from_super, from_source; /* piece bytes by origin */
	uint64_t resumed;                             /* bytes already in the store at start */
	uint64_t served;                              /* bytes this host's piece server sent for the task */
	int via_supernode;                            /* 1 swarm, 0 straight from the source */
};

struct swarm_dl_cfg {
	const char *url;
	const char *headers;       /* request lines "Name: value\r\n"... for the source, or NULL */
	struct digest_spec digest; /* expected whole-file digest (len 0: none); makes the id content-addressed */
	/* The length is known (-1: the source does not say; pieces still arrive in order then). */
	void (*on_meta)(struct swarm_dl *dl, int64_t length, void *ctx);
	/* Piece n is in the store and verified. */
	void (*on_piece)(struct swarm_dl *dl, uint32_t piece, void *ctx);
	/* The end for this watcher: DF_OK with every piece present and the whole-file digest checked
	 * (when one is known), or DF_ERR with exit code (enum df_exit: DF_EXIT_FAIL, DF_EXIT_DIGEST,
	 * DF_EXIT_NOSUPER) and a one-line cause naming the URL. The watcher handle is gone after it. */
	void (*on_done)(struct swarm_dl *dl, int rc, int exit_code, const char *msg, void *ctx);
	void *ctx;
	const char *filter;   /* the query parameters the task id leaves out; NULL: the engine's filter */
	const char *via;      /* the registration's `via` line (a child supernode: the sites its task
	                               * came through, itself last; docs/PROTOCOL.md); NULL or "": none */
	int digest_elsewhere; /* the watcher checks the whole file itself (a supernode's digest
	                               * thread): the engine skips its own pass over the file */
	int in_order;         /* the watcher streams the file from its start (df proxy to a registry
			       * client): the registration asks for the lowest-numbered of equally rare pieces first
			       * ("order: sequential"); a download already registered keeps what it asked */
};

/* Starts (or joins) the download of cfg->url. Returns a watcher handle, or NULL with err set for a
 * URL df cannot fetch. A task complete in the store is confirmed (content-addressed: at once; by
 * URL: after the supernode or the source says the version is current) and reported done. */
struct swarm_dl *swarm_dl_start(struct swarm_peer *sp, const struct swarm_dl_cfg *cfg, char *err, size_t errlen);
/* Stops watching: no more callbacks. The download itself goes on while others watch it or it seeds. */
void swarm_dl_cancel(struct swarm_dl *dl);
/* Inside on_done: when the download failed because its supernode failed the task (the source
 * refused it, its certificate did not verify...), "supernode HOST: REASON"; else NULL. */
const char *swarm_dl_super_failure(const struct swarm_dl *dl);

/* For df get's detached seeder: the loop time of the last piece request served; a fresh HTTP
 * client to use after fork (the parent's resolver threads do not survive it); and telling the
 * supernodes this host leaves every task (done runs when all answered or failed; maybe at once). */
double swarm_peer_last_served(const struct swarm_peer *sp);
void swarm_peer_set_client(struct swarm_peer *sp, struct http_client *client, struct http_client *cluster);
int swarm_peer_leave(struct swarm_peer *sp, void (*done)(void *ctx), void *ctx);
/* For a df get that will not seed, after swarm_peer_leave: closes the piece server's handle on st's
 * task and hands the task's data file over as path (store_task_handoff_at: DF_OK moved, DF_AGAIN
 * cannot here, so copy, DF_ERR with err). */
int swarm_peer_hand_off(struct swarm_peer *sp, struct store_task *st, const char *path, char *err, size_t errlen);
/* A store_gc_policy.release for the store sp serves (arg is sp): 1 after closing the piece
 * server's handle on task id (and ending its seeding, when finished, unwatched and not asked for
 * a piece for 30 s: the supernode is told it leaves), 0 while it downloads or serves it. */
int swarm_peer_release(void *arg, const char *id);

/* Replaces the `via` line of the download's registration (copied); a registration still unanswered
 * is sent again with it (a child supernode learned of more sites below it: see swarm/parent.h). */
void swarm_dl_set_via(struct swarm_dl *dl, const char *via);
/* The supernode the download talks to now ("HOST:PORT"), and the whole-file digest it named
 * ("sha256:HEX", "" while unknown). Strings valid until the next call into the engine. */
const char *swarm_dl_supernode(const struct swarm_dl *dl);
const char *swarm_dl_super_digest(const struct swarm_dl *dl);
/* Ends the download of task id whatever its state, without a callback (its watchers are dropped):
 * its supernode is told it leaves, the piece server's handle is closed. Nothing to do: fine. */
void swarm_peer_stop(struct swarm_peer *sp, const char *id);

/* The task being filled (NULL before on_meta). Read pieces from it; do not write. */
struct store_task *swarm_dl_task(const struct swarm_dl *dl);
void swarm_dl_stats(const struct swarm_dl *dl, struct swarm_dl_stats *out);

#endif
