/* The supernode engine: a passive CDN (back to source once per task, pieces seeded as they arrive)
 * and the scheduler's home (register / work / heartbeat / leave), with status and metrics. */
#ifndef DF_SWARM_SUPERNODE_H
#define DF_SWARM_SUPERNODE_H

#include <stdint.h>

#include "core/digest.h"
#include "core/sched.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "store/store.h"
#include "swarm/storegc.h"

struct supernode_cfg {
	struct ev_loop *loop;
	struct store *store;
	struct http_server *server;         /* routes are added to it */
	struct http_client *client;         /* for the sources */
	struct http_client *cluster_client; /* for a cluster source (df push's file server): the
				      * cluster's TLS identity and CA (or `client` without cluster TLS);
				      * NULL: such registrations are refused */
	const char *token;                  /* cluster token ("" open) */
	uint32_t piece_size;                /* 0: chosen per task from its length (source_piece_size) */
	int source_streams;
	double revalidate_after; /* seconds a successful revalidation stays good */
	double credential_cache; /* seconds a private source's yes to one registrant's credentials stays good */
	int sources_public;      /* every source counts as public: no access checks (in-memory test
	                              * harnesses whose sources cannot be reached; never set by df) */
	struct hostrate *rates;  /* the host's rate caps and current rates for status, or NULL */
	double task_idle;        /* forget a complete task unused this long (0: never) */
	enum digest_piece_algo piece_digest; /* the checksum in assignments: xxh3-128 or SHA-256 */
	struct sched_config sched;           /* per-task scheduler settings (piece_size is set per task) */
	struct storegc *gc;                  /* disk GC of the store (NULL: none); the supernode answers its
	                              * release questions and runs it before new tasks and on a full disk */
	/* The parent site (swarm/parent.h): a miss is fetched through these supernodes' swarm, the
	 * source only when none delivers. NULL or "": straight from the source. */
	const char *parents;               /* "HOST:PORT[,...]" */
	struct http_client *parent_client; /* dials them (cluster TLS when on); NULL: cluster_client */
	int cluster_tls;                   /* dial them with https */
	double parent_retry;               /* seconds a fetch keeps asking lost parents before the source */
};

struct supernode;

/* Starts the engine on cfg's server (cfg copied; pointers must outlive it). NULL with err set. */
struct supernode *supernode_new(const struct supernode_cfg *cfg, char *err, size_t errlen);
/* Answers held requests, stops sources, closes tasks, frees. */
void supernode_free(struct supernode *sn);
/* Routes GET /metrics of sn on another server too (a plain-HTTP metrics listener). DF_OK or DF_ERR
 * (out of memory). */
int supernode_route_metrics(struct supernode *sn, struct http_server *srv);

#endif
