/* The peer side of a download: register with a supernode, fetch pieces from peers, verify, export,
 * and leave a seeder behind; or straight from the source when no supernode answers. */
#ifndef DF_SWARM_GET_H
#define DF_SWARM_GET_H

#include "core/df.h"
#include "core/digest.h"
#include "net/http_client.h"
#include "net/http_server.h"

#define GET_MAX_HEADERS 32

struct get_job {
	const char *url;
	const char *headers[GET_MAX_HEADERS]; /* "Name: value" lines for the source */
	int nheaders;
	struct digest_spec digest;          /* expected whole-file digest; len 0 = none */
	const char *output;                 /* final path (outpath_prepare), or "-" for stdout */
	int out_fd;                         /* >= 0: written into in order (1 for "-", a device, a FIFO);
					     * closed here once written when > 2 */
	int progress;                       /* draw a progress bar (stderr is a TTY and not -q) */
	struct http_client *client;         /* for the source (caller owns) */
	struct http_client *cluster;        /* for the supernode and peers when cluster TLS is on, else NULL */
	struct http_client_cfg cluster_cfg; /* its settings, to make it again in the seeder after fork */
	struct http_server *server;         /* this host's piece server, listening (caller owns) */
	void (*on_sighup)(void *ctx);       /* what the detached seeder does on SIGHUP, or NULL: ignore it */
	void *sighup_ctx;
};

/* Runs the download to completion on df's loop and store (both opened by the caller).
 * Returns an exit code (enum df_exit) after printing any error as one line. */
int swarm_get(struct df *df, struct get_job *job);

#endif
