/* What the long-running commands share before their loop runs: the store root from config, the
 * store, the loop, the HTTP client with TLS for sources, and graceful stop on SIGINT/SIGTERM. */
#ifndef DF_CMD_DAEMON_H
#define DF_CMD_DAEMON_H

#include "core/df.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/loop.h"

/* A df process's context as the commands hold it: the core context and what this layer keeps beside
 * it (TLS material loaded on first https use; SIGHUP reload and the rates' sampling timer). main.c
 * makes one per run; every daemon_* function takes &ctx.df and finds the rest from it, so no other
 * struct df may be passed to them. */
struct daemon_tls;
struct daemon_live;
struct daemon_ctx {
	struct df df;
	struct daemon_tls *tls;
	struct daemon_live *live;
};

/* Opens df->store at [common] data (or the default root). Prints "df: CMD: ..." and returns DF_ERR
 * on failure. */
int daemon_open_store(struct df *df);
/* An HTTP client for sources and peers with TLS per [common] cacert/insecure, a download limit (or
 * NULL) and an idle timeout in seconds (0: the client's default). NULL after printing. */
struct http_client *daemon_client(struct df *df, struct ev_loop *loop, struct ratelimit *rx, double idle_timeout);
/* Cluster TLS ([security] cert/key, and ca): when set, every df listener speaks TLS (and requires
 * client certificates chaining to ca when ca is set), and df dials other df processes with https,
 * verifying them against ca and presenting cert/key. daemon_cluster_tls returns 1 when on, 0 when
 * off, DF_ERR after printing a load error. daemon_server_cfg fills the server's TLS hook;
 * daemon_cluster_client makes the client for supernodes and peers (the plain client when off). */
int daemon_cluster_tls(struct df *df);
void daemon_server_cfg(struct df *df, struct http_server_cfg *sc);
struct http_client *daemon_cluster_client(struct df *df, struct ev_loop *loop, struct ratelimit *rx,
					  double idle_timeout);
/* The client settings daemon_cluster_client uses (for making one again after fork); 0 when off. */
int daemon_cluster_client_cfg(struct df *df, struct http_client_cfg *out);
/* Listens the host's piece server: [get] peer_listen when set; else `prefer` (NULL: none) when free,
 * else the first free port of [get] port_range (starting at a pid-dependent offset so concurrent
 * peers rarely collide). DF_ERR with the cause in err. */
int daemon_listen_peer(struct df *df, struct http_server *srv, const char *prefer, char *err, size_t errlen);
/* The download limit for a client: own (a process-local limit, e.g. --limit-rate) chained to the
 * host's [common] download_rate, or the host's alone when own is NULL; NULL when neither applies. */
struct ratelimit *daemon_rx(struct df *df, struct ratelimit *own);
/* Run-time changes for a long-running process: SIGHUP calls daemon_reload, and the host's current
 * rates are sampled every second (for status). Neither keeps the loop alive. on_reload (may be NULL)
 * runs after a reload to apply what the command keeps itself (e.g. its own --limit-rate). DF_ERR when
 * out of memory. Stopped by daemon_close. */
int daemon_live_start(struct df *df, struct ev_loop *loop, void (*on_reload)(struct df *df, void *ctx), void *ctx);
/* Parses the config file and the command's flags again, takes over what can change at run time
 * (log level, rate caps and limits; each change logged as "reload: [sec] key OLD -> NEW"), warns about
 * the rest, and writes the host's caps. DF_ERR (logged, nothing changed) when the file is bad. */
int daemon_reload(struct df *df);
/* Frees what the daemon_* calls set up in df (store, rate caps, TLS settings, reload watchers). */
void daemon_close(struct df *df);
/* Resolves the cluster token ([security] token / token_file); warns once about open mode when
 * warn_open. DF_ERR after printing. */
int daemon_token(struct df *df, int warn_open);

#endif
