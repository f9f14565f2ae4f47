/* The detached seeder df get leaves behind: the process forks, the parent returns to the user, the
 * child keeps serving the host's pieces and heartbeating the supernode until idle for a while. */
#ifndef DF_SWARM_SEEDER_H
#define DF_SWARM_SEEDER_H

#include "net/http_server.h"
#include "store/store.h"
#include "swarm/pieceserve.h"

struct seeder_cfg {
	struct ev_loop *loop;
	struct http_server *server;  /* already listening; its piece routes keep serving */
	struct pieceserve *ps;
	struct store *store;
	struct store_task *task;
	const char *supernode;       /* "host:port" */
	int handle;                  /* our peer handle for the task at the supernode */
	const char *token_hdr;       /* "X-DF-Token: ...\r\n" or "" */
	const char *url;
	double idle;                 /* exit after this many seconds without a piece request */
};

/* Forks. In the parent returns DF_OK (the child's pid is in STORE_ROOT/seeder.pid) or DF_ERR when
 * fork failed. The child never returns: it serves until idle or SIGTERM, tells the supernode it
 * leaves, and exits. */
int seeder_detach(const struct seeder_cfg *cfg);

#endif
