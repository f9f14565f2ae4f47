/* The loop helpers of net/loop.h: address parsing and printing, listeners that accept in batches and
 * back off when descriptors run out, self-rearming inactivity timers, and stop signals. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/monotime.h"
#include "net/loop.h"

char *loop_sockaddr_str(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		snprintf(out, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		snprintf(out, cap, "%s:%u", ip, ntohs(s4->sin_port));
	} else {
		snprintf(out, cap, "(family %d)", sa->sa_family);
	}
	return out;
}

void loop_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

/* --- listeners -------------------------------------------------------------------------------- */

struct loop_listener {
	ev_io io;
	ev_timer backoff; /* out of descriptors: try again later */
	struct ev_loop *loop;
	loop_accept_fn fn;
	void *ctx;
	int paused;
	uint16_t port;
};

#define ACCEPT_BATCH 64

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct loop_listener *l = DF_CONTAINER_OF(w, struct loop_listener, io);
	for (int i = 0; i < ACCEPT_BATCH && !l->paused; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(w->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept on port %u: %s; pausing 100 ms", l->port, strerror(errno));
				ev_io_stop(loop, &l->io);
				ev_timer_set(&l->backoff, 0.1, 0);
				ev_timer_start(loop, &l->backoff);
			}
			return; /* EAGAIN, or an error worth no more than a log line */
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		l->fn(l, fd, (struct sockaddr *)&ss, l->ctx);
	}
}

static void backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct loop_listener *l = DF_CONTAINER_OF(w, struct loop_listener, backoff);
	if (!l->paused)
		ev_io_start(loop, &l->io);
}

static int bind_one(const struct sockaddr *sa, socklen_t sl, int dual)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &zero : &one, sizeof one);
	if (bind(fd, sa, sl) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

struct loop_listener *loop_listen(struct ev_loop *loop, const char *addr, loop_accept_fn fn, void *ctx, char *err,
				  size_t errlen)
{
	struct addr a;
	char why[300];
	if (addr_parse(addr, &a, why, sizeof why) != DF_OK) {
		snprintf(err, errlen, "listen %s: %s", addr, why);
		return NULL;
	}
	int fd = -1;
	if (!a.host[0]) {
		struct sockaddr_in6 s6 = {
			.sin6_family = AF_INET6, .sin6_port = htons(a.port), .sin6_addr = in6addr_any};
		fd = bind_one((struct sockaddr *)&s6, sizeof s6, 1);
		if (fd < 0 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
			struct sockaddr_in s4 = {
				.sin_family = AF_INET, .sin_port = htons(a.port), .sin_addr.s_addr = INADDR_ANY};
			fd = bind_one((struct sockaddr *)&s4, sizeof s4, 0);
		}
		if (fd < 0) {
			snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
			return NULL;
		}
	} else {
		struct addrinfo hints = {.ai_family = AF_UNSPEC,
					 .ai_socktype = SOCK_STREAM,
					 .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
				*res = NULL;
		char port[8];
		snprintf(port, sizeof port, "%u", a.port);
		int g = getaddrinfo(a.host, port, &hints, &res);
		if (g) {
			snprintf(err, errlen, "listen %s: %s", addr, gai_strerror(g));
			return NULL;
		}
		int e = 0;
		for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
			fd = bind_one(ai->ai_addr, ai->ai_addrlen, 0);
			if (fd < 0)
				e = errno;
		}
		freeaddrinfo(res);
		if (fd < 0) {
			snprintf(err, errlen, "listen %s: %s", addr, strerror(e ? e : EADDRNOTAVAIL));
			return NULL;
		}
	}
	struct loop_listener *l = calloc(1, sizeof *l);
	if (!l) {
		close(fd);
		snprintf(err, errlen, "listen %s: out of memory", addr);
		return NULL;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	l->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					   : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	l->loop = loop;
	l->fn = fn;
	l->ctx = ctx;
	ev_io_init(&l->io, accept_cb, fd, EV_READ);
	ev_timer_init(&l->backoff, backoff_cb, 0.1, 0);
	ev_io_start(loop, &l->io);
	return l;
}

uint16_t loop_listener_port(const struct loop_listener *l)
{
	return l->port;
}

void loop_listener_pause(struct loop_listener *l)
{
	l->paused = 1;
	ev_io_stop(l->loop, &l->io);
}

void loop_listener_resume(struct loop_listener *l)
{
	l->paused = 0;
	if (!ev_is_active(&l->backoff))
		ev_io_start(l->loop, &l->io);
}

void loop_listener_free(struct loop_listener *l)
{
	if (!l)
		return;
	ev_io_stop(l->loop, &l->io);
	ev_timer_stop(l->loop, &l->backoff);
	close(l->io.fd);
	free(l);
}

/* --- inactivity timeouts ---------------------------------------------------------------------- */

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct loop_timeout *t = DF_CONTAINER_OF(w, struct loop_timeout, timer);
	ev_tstamp left = t->last + t->after - monotime_now();
	if (left > 0) {
		/* activity since the timer was armed: sleep for the remainder */
		w->repeat = left;
		ev_timer_again(loop, w);
		return;
	}
	ev_timer_stop(loop, w);
	t->fire(loop, t);
}

void loop_timeout_init(struct loop_timeout *t, void (*fire)(struct ev_loop *loop, struct loop_timeout *t))
{
	memset(t, 0, sizeof *t);
	ev_init(&t->timer, timeout_cb);
	t->fire = fire;
}

void loop_timeout_set(struct ev_loop *loop, struct loop_timeout *t, ev_tstamp after)
{
	t->after = after;
	t->last = monotime_now();
	if (after <= 0) {
		ev_timer_stop(loop, &t->timer);
		return;
	}
	t->timer.repeat = after;
	ev_timer_again(loop, &t->timer);
}

void loop_timeout_stop(struct ev_loop *loop, struct loop_timeout *t)
{
	ev_timer_stop(loop, &t->timer);
	t->after = 0;
}

/* --- signals ---------------------------------------------------------------------------------- */

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	struct loop_signals *s = w->data;
	s->count++;
	s->on_stop(s, w->signum, s->count, s->ctx);
}

void loop_signals_start(struct ev_loop *loop, struct loop_signals *s,
			void (*on_stop)(struct loop_signals *s, int signum, int count, void *ctx), void *ctx)
{
	loop_ignore_sigpipe();
	s->count = 0;
	s->on_stop = on_stop;
	s->ctx = ctx;
	ev_signal_init(&s->sigint, signal_cb, SIGINT);
	ev_signal_init(&s->sigterm, signal_cb, SIGTERM);
	s->sigint.data = s->sigterm.data = s;
	ev_signal_start(loop, &s->sigint);
	ev_signal_start(loop, &s->sigterm);
}

void loop_signals_stop(struct ev_loop *loop, struct loop_signals *s)
{
	ev_signal_stop(loop, &s->sigint);
	ev_signal_stop(loop, &s->sigterm);
}

/* ---- connect probes ---- */

void loop_probe_stop(struct loop_probe *p)
{
	if (!p->active)
		return;
	ev_io_stop(p->loop, &p->io);
	ev_timer_stop(p->loop, &p->timer);
	close(p->fd);
	p->fd = -1;
	p->active = 0;
}

static void probe_end(struct loop_probe *p, int refused)
{
	loop_probe_stop(p);
	p->done(p, refused, p->ctx);
}

static void probe_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct loop_probe *p = (struct loop_probe *)((char *)w - offsetof(struct loop_probe, io));
	int e = 0;
	socklen_t n = sizeof e;
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &n) != 0)
		e = errno;
	probe_end(p, e == ECONNREFUSED);
}

static void probe_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct loop_probe *p = (struct loop_probe *)((char *)w - offsetof(struct loop_probe, timer));
	probe_end(p, p->refused); /* refused at once (delivered from the loop), or no answer in time */
}

int loop_probe_start(struct ev_loop *loop, struct loop_probe *p, const char *addr, double timeout,
		     void (*done)(struct loop_probe *p, int refused, void *ctx), void *ctx)
{
	struct addr a;
	struct sockaddr_storage ss;
	socklen_t len;
	char err[128];
	memset(&ss, 0, sizeof ss);
	if (addr_parse(addr, &a, err, sizeof err) != DF_OK || !a.port)
		return DF_ERR;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, a.host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(a.port);
		len = sizeof *v4;
	} else if (inet_pton(AF_INET6, a.host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(a.port);
		len = sizeof *v6;
	} else {
		return DF_ERR;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return DF_ERR;
	*p = (struct loop_probe){.loop = loop, .fd = fd, .active = 1, .done = done, .ctx = ctx};
	ev_io_init(&p->io, probe_io, fd, EV_WRITE);
	ev_timer_init(&p->timer, probe_timer, timeout, 0);
	int rc = connect(fd, (struct sockaddr *)&ss, len);
	if (rc == 0 || errno != EINPROGRESS) {
		p->refused = rc != 0 && errno == ECONNREFUSED;
		ev_timer_set(&p->timer, 0, 0); /* the answer is known: deliver it from the loop */
	} else {
		ev_io_start(loop, &p->io);
	}
	ev_timer_start(loop, &p->timer);
	return DF_OK;
}
