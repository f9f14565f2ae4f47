/* Helpers around the one libev loop of a df process: listen addresses and listeners, cheap
 * inactivity timeouts, and SIGINT/SIGTERM turned into a graceful-stop callback.
 *
 * Graceful stop, as the commands do it: on the first signal, stop accepting (http_server_shutdown
 * does that for its listeners), let in-flight requests finish within a grace period and abort the
 * rest, flush the store, then ev_break. A second signal means "now": skip the grace period. */
#ifndef DF_LOOP_H
#define DF_LOOP_H

#include <stdint.h>
#include <sys/socket.h>

#include "core/addr.h" /* listen and connect addresses: addr_parse */
#include "core/df.h"
#include "core/monotime.h"
/* libev's watcher macros write through casts between watcher structs that share a prefix (its
 * documented design); gcc's -Wstrict-aliasing flags that whenever given an embedded watcher's address.
 * Every file that includes this header has its watchers embedded, hence the blanket switch. */
#pragma GCC diagnostic ignored "-Wstrict-aliasing"
#include "ev.h"

/* Writes "1.2.3.4:80" or "[::1]:80" for a socket address into out; returns out. */
char *loop_sockaddr_str(const struct sockaddr *sa, char *out, size_t cap);
#define LOOP_ADDRSTR_MAX 64

/* Ignores SIGPIPE for the whole process (a peer that vanishes mid-sendfile is EPIPE, not death).
 * Idempotent; http_server_new and http_client_new call it. */
void loop_ignore_sigpipe(void);

/* --- listeners -------------------------------------------------------------------------------- */

struct loop_listener;

/* Called for every accepted connection: fd is non-blocking, close-on-exec, TCP_NODELAY, and now
 * belongs to the callback. */
typedef void (*loop_accept_fn)(struct loop_listener *l, int fd, const struct sockaddr *peer, void *ctx);

/* Binds and listens on addr (addr_parse forms; ":PORT" is dual-stack [::] when the host has
 * IPv6, else 0.0.0.0; a host name is resolved with a blocking getaddrinfo, so call this before the
 * loop runs). Accepting starts at once. Returns NULL with "listen ADDR: cause" in err on failure.
 * When accept runs out of file descriptors the listener pauses for 100 ms instead of spinning. */
struct loop_listener *loop_listen(struct ev_loop *loop, const char *addr, loop_accept_fn fn, void *ctx, char *err,
				  size_t errlen);

/* The bound port (useful after ":0"). */
uint16_t loop_listener_port(const struct loop_listener *l);
/* Stops / restarts accepting (connection limits); the socket stays bound, the kernel queues. */
void loop_listener_pause(struct loop_listener *l);
void loop_listener_resume(struct loop_listener *l);
/* Stops accepting and closes the socket. NULL is fine. */
void loop_listener_free(struct loop_listener *l);

/* --- inactivity timeouts ---------------------------------------------------------------------- */

/* One timer per connection that costs nothing per byte: activity only stores monotime_now() in `last`; the
 * timer wakes at the earliest possible expiry and re-arms itself for the remainder (ev.pod, "Be smart
 * about timeouts"). Embed it; fire gets it back, use DF_CONTAINER_OF for the owner. */
struct loop_timeout {
	ev_timer timer;
	ev_tstamp last;                                             /* time of the last activity */
	ev_tstamp after;                                            /* seconds of inactivity allowed; 0 = off */
	void (*fire)(struct ev_loop *loop, struct loop_timeout *t); /* once per expiry; the timer is stopped */
};

void loop_timeout_init(struct loop_timeout *t, void (*fire)(struct ev_loop *loop, struct loop_timeout *t));
/* (Re)arms with a new allowance, counting from now; 0 stops it. */
void loop_timeout_set(struct ev_loop *loop, struct loop_timeout *t, ev_tstamp after);
/* Records activity: pushes the expiry back by `after` seconds. */
static inline void loop_timeout_touch(struct ev_loop *loop, struct loop_timeout *t)
{
	(void)loop;
	t->last = monotime_now();
}
void loop_timeout_stop(struct ev_loop *loop, struct loop_timeout *t);

/* --- connect probes ------------------------------------------------------------------------------ */

/* Is anything listening at a numeric "IP:PORT" / "[IPv6]:PORT"? A non-blocking TCP connect, closed
 * at once whatever the answer; done runs from the loop (never inside loop_probe_start) with refused 1
 * when the address refused the connection (ECONNREFUSED), 0 when it accepted or did not answer
 * within timeout (inconclusive). Embed the struct; it must not move while active. */
struct loop_probe {
	struct ev_loop *loop;
	ev_io io;
	ev_timer timer;
	int fd, active, refused;
	void (*done)(struct loop_probe *p, int refused, void *ctx);
	void *ctx;
};

/* Starts a probe; DF_ERR (nothing started) for an address that is not numeric or a socket error. */
int loop_probe_start(struct ev_loop *loop, struct loop_probe *p, const char *addr, double timeout,
		     void (*done)(struct loop_probe *p, int refused, void *ctx), void *ctx);
/* Stops a probe without calling done; safe on one that is not active (or zeroed). */
void loop_probe_stop(struct loop_probe *p);

/* --- signals ---------------------------------------------------------------------------------- */

/* SIGINT and SIGTERM: on_stop is called in the loop (never in signal context) with the signal and how
 * many have arrived (1: stop gracefully; 2 and more: stop now). Also ignores SIGPIPE. */
struct loop_signals {
	ev_signal sigint, sigterm;
	int count;
	void (*on_stop)(struct loop_signals *s, int signum, int count, void *ctx);
	void *ctx;
};

void loop_signals_start(struct ev_loop *loop, struct loop_signals *s,
			void (*on_stop)(struct loop_signals *s, int signum, int count, void *ctx), void *ctx);
void loop_signals_stop(struct ev_loop *loop, struct loop_signals *s);

#endif
