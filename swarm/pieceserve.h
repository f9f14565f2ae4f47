/* The piece server every peer and the supernode run: GET /v1/piece/ID/N answers a present piece
 * from the store with sendfile. Counts what it serves so a seeder can tell when it is idle.
 * Task handles stay open between requests in an LRU bounded by a descriptor budget: a full table
 * closes its least recently used handle, never refuses a piece. Closing a handle never cuts a
 * transfer: each reply sends from its own dup() of the data descriptor (whose shared lock also
 * keeps GC off the task until the reply ends).
 *
 * Piece keys: besides the cluster token, a request must carry the task's piece key
 * (X-DF-Piece-Key), which the supernode hands a registrant only after it was admitted (for a
 * private source: after the source accepted that registrant's own credentials). The keys live in
 * memory only: a task this process was given no key for is never served (404), so knowing a task
 * id (computable from its URL) is not enough to read a private file from any piece server. */
#ifndef DF_SWARM_PIECESERVE_H
#define DF_SWARM_PIECESERVE_H

#include <stdint.h>

#include "core/taskid.h"
#include "net/http_server.h"
#include "store/store.h"

struct pieceserve {
	struct ev_loop *loop;
	struct store *store;
	const char *token;
	uint64_t pieces_served, bytes_served, refused;
	double last_request; /* ev_now of the last piece request */
	/* Tasks kept open while serving, least recently used evicted past max_open (derived from
	 * RLIMIT_NOFILE at init; a task handle takes two descriptors). Grows as needed. */
	struct ps_open {
		struct store_task *task;
		double used;   /* ev_now of its last request, or of its opening (the LRU order) */
		double served; /* ev_now of its last piece request; 0: none yet */
	} * open;
	int nopen, cap, max_open;
	uint64_t evicted;            /* handles closed to stay within max_open */
	int said_full;               /* the "budget reached" notice was logged */
	struct pieceserve_key *keys; /* the tasks this process may serve, with their keys */
	int nkeys, keys_cap;
};

#define PIECE_KEY_HEX 32 /* a piece key: 16 random bytes in hex */

struct pieceserve_key {
	char id[TASKID_MAX];
	char key[PIECE_KEY_HEX + 1];
};

/* Routes GET /v1/piece/ on srv to ps (which the caller owns and keeps alive; srv NULL: no route, the
 * handles and keys only). DF_OK or DF_ERR. */
int pieceserve_init(struct pieceserve *ps, struct ev_loop *loop, struct http_server *srv, struct store *store,
		    const char *token);
/* Lets the server use an already-open task handle (a download in progress writes into it). */
void pieceserve_add_task(struct pieceserve *ps, struct store_task *t);
/* Closes the server's handle on task id (before the task is removed from the store). */
void pieceserve_forget(struct pieceserve *ps, const char *id);
/* Drops the piece server's handle of task id if it is read-only (opened for a request before this
 * process downloaded it): within one process store_task_open returns that same handle, so a
 * download or a supernode would find its own task "written by another process". The piece server
 * reopens it on its next request and then shares the writer's handle. */
void pieceserve_drop_readonly(struct pieceserve *ps, const char *id);
/* ev_now of the last piece request for task id while its handle is open here, else 0. */
double pieceserve_last_use(const struct pieceserve *ps, const char *id);
/* Changes the number of task handles kept open (at least 1); closes the oldest past it. */
void pieceserve_set_max_open(struct pieceserve *ps, int max_open);
/* From now on the pieces of task id are served to requests carrying key (PIECE_KEY_HEX lower-case
 * hex digits); NULL or "" forgets the task (its pieces are refused again). DF_OK, DF_ERR when out of
 * memory or key is malformed. */
int pieceserve_set_key(struct pieceserve *ps, const char *id, const char *key);
/* Closes the task handles the server opened itself. */
void pieceserve_close(struct pieceserve *ps);

#endif
