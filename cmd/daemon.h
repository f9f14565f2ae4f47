/* What the long-running commands share before their loop runs: the store root from config, the
 * store, the loop, the HTTP client with TLS for sources, and graceful stop on SIGINT/SIGTERM. */
#ifndef DF_CMD_DAEMON_H
#define DF_CMD_DAEMON_H

#include "core/df.h"
#include "net/http_client.h"
#include "net/loop.h"

/* Opens df->store at [common] data (or the default root). Prints "df: CMD: ..." and returns DF_ERR
 * on failure. */
int daemon_open_store(struct df *df);
/* An HTTP client for sources and peers with TLS per [common] cacert/insecure, a download limit (or
 * NULL) and an idle timeout in seconds (0: the client's default). NULL after printing. */
struct http_client *daemon_client(struct df *df, struct ev_loop *loop, struct ratelimit *rx, double idle_timeout);
/* Frees what the daemon_* calls set up in df (store, TLS settings). */
void daemon_close(struct df *df);
/* Resolves the cluster token ([security] token / token_file); warns once about open mode when
 * warn_open. DF_ERR after printing. */
int daemon_token(struct df *df, int warn_open);

#endif
