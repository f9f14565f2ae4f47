/* Host name resolution that never stalls the loop: getaddrinfo runs in a small pool of detached
 * threads and results come back to the loop thread through an ev_async. Numeric addresses skip the
 * threads but are still answered from the loop, never from inside resolver_query. */
#ifndef DF_RESOLVE_H
#define DF_RESOLVE_H

#include <stdint.h>
#include <sys/socket.h>

#include "core/df.h"
#include "net/loop.h"

#define RESOLVE_MAX_ADDRS 8

struct resolve_result {
	int n; /* addresses, in getaddrinfo's order of preference */
	struct sockaddr_storage addr[RESOLVE_MAX_ADDRS];
	socklen_t len[RESOLVE_MAX_ADDRS];
};

struct resolver;
struct resolve_query;
struct addrinfo;

/* The TCP addresses of a getaddrinfo list, in its order: IPv4 and IPv6 only, the first
 * RESOLVE_MAX_ADDRS of them (a name with more is tried at those). Pure. */
void resolve_take(const struct addrinfo *list, struct resolve_result *out);

/* The answer, on the loop thread. rc is DF_OK with res filled (n >= 1), or DF_ERR with err naming the
 * cause ("Name does not resolve"). res is valid only during the call. The query is freed after it. */
typedef void (*resolve_fn)(int rc, const char *err, const struct resolve_result *res, void *ctx);

/* Starts `threads` worker threads (1..8) for loop. Returns NULL with err set when threads cannot be
 * started. */
struct resolver *resolver_new(struct ev_loop *loop, int threads, char *err, size_t errlen);

/* Cancels every query still waiting (their callbacks never run) and lets the workers go. A worker
 * blocked inside getaddrinfo finishes on its own and then frees what it shares; nothing waits for it. */
void resolver_free(struct resolver *r);

/* Asks for the TCP addresses of host:port (host without brackets). Returns a handle good until the
 * callback runs or resolver_cancel; NULL when out of memory or host is longer than 255 bytes. */
struct resolve_query *resolver_query(struct resolver *r, const char *host, uint16_t port, resolve_fn fn, void *ctx);

/* The callback of q will not run; q's memory is reclaimed later by the resolver. */
void resolver_cancel(struct resolve_query *q);

#endif
