/* A child site's supernode fetching through its parent site (`df supernode --parent`): on a miss a
 * task registers with a parent supernode as a downloader and gets its pieces from that supernode and
 * the parent site's peers, instead of from the source, so the link between sites carries one copy.
 *
 * How it works: one peer engine (swarm/peer.h) per supernode, without a piece server (a child only
 * downloads from its parent site: its own uplink is the expensive link), with the parents as its
 * supernode list (rendezvous hash of the task id, failover to the next), writing into the
 * supernode's own store (store_task_open returns the same handle to both). Its registrations carry
 * `via`: the site ids the task came through, this supernode last, so a parent already on the path
 * refuses a loop (508) and a tree of sites stays at most PROTO_VIA_MAX deep. The engine never goes
 * to the source itself: when no parent delivers, on_done says why and the supernode decides. */
#ifndef DF_SWARM_PARENT_H
#define DF_SWARM_PARENT_H

#include <stdint.h>

#include "core/digest.h"
#include "core/proto.h"
#include "net/http_client.h"
#include "store/store.h"
#include "swarm/storegc.h"

struct parent;
struct parent_fetch;

struct parent_cfg {
	struct ev_loop *loop;
	struct http_client *client;          /* dials the parent site: cluster TLS identity and CA when on */
	int cluster_tls;                     /* dial with https */
	struct store *store;                 /* the supernode's store: pieces land in its tasks */
	const char *parents;                 /* "HOST:PORT[,HOST:PORT...]" */
	const char *token;                   /* cluster token ("" open) */
	const char *site;                    /* this supernode's site id (PROTO_SITE_HEX hex digits) */
	enum digest_piece_algo piece_digest; /* a sha256 child refuses a parent handing out xxh3 sums */
	double retry;                        /* seconds a fetch keeps asking its parents after losing them */
	struct storegc *gc;                  /* the store's GC (room is made before a task is created), or NULL */
};

/* A new one (cfg copied; strings and objects must outlive it). NULL with err set. */
struct parent *parent_new(const struct parent_cfg *cfg, char *err, size_t errlen);
/* Ends every fetch (no callbacks) and frees. NULL is fine. */
void parent_free(struct parent *p);

struct parent_fetch_cfg {
	const char *url, *headers; /* the task's URL and source request lines (the parent checks them
	                              * when the source wants credentials) */
	const char *filter;        /* the query parameters the task id leaves out */
	struct digest_spec digest; /* a content-addressed task's digest (len 0: none) */
	const char *below;         /* the sites below this one the task came through ("SITE,..."; "" none) */
	/* The parent named the length: the store task exists now (open it by id: it is the engine's handle). */
	void (*on_meta)(void *ctx, int64_t length);
	/* Piece n is in the store, checked against the parent's checksum. */
	void (*on_piece)(void *ctx, uint32_t piece);
	/* The end: DF_OK with every piece present (the whole file is the caller's to check), DF_ERR with
	 * why the parent site did not deliver (no parent answered, a loop, a refusal...). */
	void (*on_done)(void *ctx, int rc, const char *why);
	void *ctx;
};

/* Starts fetching the task of cfg->url through the parents (callbacks from the loop). NULL with err
 * set (a chain of sites too deep, out of memory). */
struct parent_fetch *parent_fetch_start(struct parent *p, const struct parent_fetch_cfg *cfg, char *err, size_t errlen);
/* Stops the fetch (no callbacks after; its parent is told it leaves) and frees. NULL is fine. */
void parent_fetch_free(struct parent_fetch *f);
/* A child of this site registered the task through sites `via` while it is being fetched: those not
 * yet below this one are added, and a registration with the parent still unanswered is sent again
 * with them (two sites that are each other's parents and both miss at once then see the loop). */
void parent_fetch_add_via(struct parent_fetch *f, struct slice via);
/* The parent it talks to now ("HOST:PORT"), and the whole-file digest that parent named ("sha256:HEX",
 * "" unknown). */
const char *parent_fetch_parent(const struct parent_fetch *f);
const char *parent_fetch_digest(const struct parent_fetch *f);

#endif
