/* The resolver: a queue of queries under one mutex, detached worker threads calling getaddrinfo, and
 * an ev_async that hands finished queries back to the loop thread.
 *
 * Lifetime: the resolver struct is shared by the loop side and the workers and reference-counted, so
 * resolver_free never waits for a worker stuck in a slow DNS lookup; the last one out frees it. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/resolve.h"

struct resolve_query {
	struct resolve_query *next;
	char host[256];
	uint16_t port;
	resolve_fn fn;
	void *ctx;
	int cancelled;
	int gai; /* getaddrinfo's result, 0 when res holds addresses */
	struct resolve_result res;
};

struct resolver {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct resolve_query *pending, **pending_tail;
	struct resolve_query *done, **done_tail;
	int refs;     /* the loop side plus each worker */
	int stopping; /* resolver_free ran */
	struct ev_loop *loop;
	ev_async async;
};

static void free_list(struct resolve_query *q)
{
	while (q) {
		struct resolve_query *n = q->next;
		free(q);
		q = n;
	}
}

/* Drops a reference under the lock; the caller frees the resolver when this returns 1. */
static int unref_locked(struct resolver *r)
{
	return --r->refs == 0;
}

static void destroy(struct resolver *r)
{
	free_list(r->pending);
	free_list(r->done);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void push_done_locked(struct resolver *r, struct resolve_query *q)
{
	q->next = NULL;
	*r->done_tail = q;
	r->done_tail = &q->next;
	ev_async_send(r->loop, &r->async);
}

void resolve_take(const struct addrinfo *list, struct resolve_result *out)
{
	out->n = 0;
	for (const struct addrinfo *ai = list; ai && out->n < RESOLVE_MAX_ADDRS; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(struct sockaddr_storage))
			continue;
		memcpy(&out->addr[out->n], ai->ai_addr, ai->ai_addrlen);
		out->len[out->n] = ai->ai_addrlen;
		out->n++;
	}
}

static void lookup(struct resolve_query *q)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char port[8];
	snprintf(port, sizeof port, "%u", q->port);
	q->gai = getaddrinfo(q->host, port, &hints, &res);
	resolve_take(res, &q->res);
	if (res)
		freeaddrinfo(res);
	if (!q->gai && !q->res.n)
		q->gai = EAI_NONAME;
}

static void *worker(void *arg)
{
	struct resolver *r = arg;
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->pending && !r->stopping)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->stopping)
			break;
		struct resolve_query *q = r->pending;
		r->pending = q->next;
		if (!r->pending)
			r->pending_tail = &r->pending;
		int skip = __atomic_load_n(&q->cancelled, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&r->mu);
		if (!skip)
			lookup(q);
		pthread_mutex_lock(&r->mu);
		if (r->stopping) {
			free(q);
			break;
		}
		push_done_locked(r, q);
	}
	int last = unref_locked(r);
	pthread_mutex_unlock(&r->mu);
	if (last)
		destroy(r);
	return NULL;
}

static void async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	struct resolver *r = DF_CONTAINER_OF(w, struct resolver, async);
	pthread_mutex_lock(&r->mu);
	struct resolve_query *batch = r->done;
	r->done = NULL;
	r->done_tail = &r->done;
	r->refs++; /* a callback may call resolver_free: keep r alive until the batch is through */
	pthread_mutex_unlock(&r->mu);
	while (batch) {
		struct resolve_query *q = batch;
		batch = q->next;
		if (!__atomic_load_n(&q->cancelled, __ATOMIC_RELAXED) && !r->stopping) {
			if (q->gai)
				q->fn(DF_ERR, gai_strerror(q->gai), NULL, q->ctx);
			else
				q->fn(DF_OK, NULL, &q->res, q->ctx);
		}
		free(q);
	}
	pthread_mutex_lock(&r->mu);
	int last = unref_locked(r);
	pthread_mutex_unlock(&r->mu);
	if (last)
		destroy(r);
}

struct resolver *resolver_new(struct ev_loop *loop, int threads, char *err, size_t errlen)
{
	if (threads < 1)
		threads = 1;
	if (threads > 8)
		threads = 8;
	struct resolver *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "resolver: out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->pending_tail = &r->pending;
	r->done_tail = &r->done;
	r->loop = loop;
	r->refs = 1;
	ev_async_init(&r->async, async_cb);
	ev_async_start(loop, &r->async);
	/* getaddrinfo keeps a few KB on the stack; musl's default 128 KB thread stack is enough, ask 256 */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int started = 0;
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		pthread_mutex_lock(&r->mu);
		r->refs++;
		pthread_mutex_unlock(&r->mu);
		if (pthread_create(&t, &attr, worker, r) != 0) {
			pthread_mutex_lock(&r->mu);
			r->refs--;
			pthread_mutex_unlock(&r->mu);
			break;
		}
		started++;
	}
	pthread_attr_destroy(&attr);
	if (!started) {
		snprintf(err, errlen, "resolver: cannot start a thread");
		resolver_free(r);
		return NULL;
	}
	return r;
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	ev_async_stop(r->loop, &r->async);
	pthread_mutex_lock(&r->mu);
	r->stopping = 1;
	free_list(r->pending);
	r->pending = NULL;
	r->pending_tail = &r->pending;
	free_list(r->done);
	r->done = NULL;
	r->done_tail = &r->done;
	pthread_cond_broadcast(&r->cv);
	int last = unref_locked(r);
	pthread_mutex_unlock(&r->mu);
	if (last)
		destroy(r);
}

/* Literal IPv4 / IPv6 addresses need no thread. */
static int numeric(struct resolve_query *q)
{
	struct sockaddr_in *s4 = (void *)&q->res.addr[0];
	struct sockaddr_in6 *s6 = (void *)&q->res.addr[0];
	memset(&q->res.addr[0], 0, sizeof q->res.addr[0]);
	if (inet_pton(AF_INET, q->host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(q->port);
		q->res.len[0] = sizeof *s4;
	} else if (inet_pton(AF_INET6, q->host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(q->port);
		q->res.len[0] = sizeof *s6;
	} else {
		return 0;
	}
	q->res.n = 1;
	return 1;
}

struct resolve_query *resolver_query(struct resolver *r, const char *host, uint16_t port, resolve_fn fn, void *ctx)
{
	size_t hl = strlen(host);
	if (hl >= sizeof((struct resolve_query *)0)->host)
		return NULL;
	struct resolve_query *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	memcpy(q->host, host, hl + 1);
	q->port = port;
	q->fn = fn;
	q->ctx = ctx;
	pthread_mutex_lock(&r->mu);
	if (numeric(q)) {
		push_done_locked(r, q);
	} else {
		*r->pending_tail = q;
		r->pending_tail = &q->next;
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	return q;
}

void resolver_cancel(struct resolve_query *q)
{
	/* only the loop thread reads the flag of a finished query; a worker reads it under the lock
	 * before looking up, and a stale read there costs one useless lookup, nothing more */
	__atomic_store_n(&q->cancelled, 1, __ATOMIC_RELAXED);
}
