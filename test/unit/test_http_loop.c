/* Unit tests of net/loop and net/resolve: the listen-address parser, address printing, listeners
 * on port 0, the self-rearming inactivity timeout, stop signals, and the threaded resolver
 * (numeric, names, failures, cancel, free with queries in flight). */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "net/loop.h"
#include "net/resolve.h"
#include "test/unit/unit.h"

static struct ev_loop *L;

static void addr_forms(void)
{
	struct addr a;
	char err[128];
	CHECK_EQ(addr_parse(":8002", &a, err, sizeof err), DF_OK);
	CHECK(a.host[0] == 0 && a.port == 8002 && !a.ipv6);
	CHECK_EQ(addr_parse("8002", &a, err, sizeof err), DF_OK);
	CHECK(a.host[0] == 0 && a.port == 8002);
	CHECK_EQ(addr_parse("127.0.0.1:80", &a, err, sizeof err), DF_OK);
	CHECK_STR(a.host, "127.0.0.1");
	CHECK_EQ(a.port, 80);
	CHECK_EQ(addr_parse("[::1]:0", &a, err, sizeof err), DF_OK);
	CHECK_STR(a.host, "::1");
	CHECK(a.ipv6 && a.port == 0);
	CHECK_EQ(addr_parse("[::]:65535", &a, err, sizeof err), DF_OK);
	CHECK_EQ(a.port, 65535);
	CHECK_EQ(addr_parse("supernode.example:8002", &a, err, sizeof err), DF_OK);
	CHECK_STR(a.host, "supernode.example");
	static const struct {
		const char *in, *why;
	} bad[] = {
		{"", "missing port"},
		{"host", "missing port"},
		{"host:", "missing port"},
		{"host:65536", "bad port"},
		{"host:12x", "bad port"},
		{"host:-1", "bad port"},
		{"::1:80", "IPv6 address without brackets"},
		{"[::1]80", "missing port"},
		{"[::1", "missing ']'"},
		{"[zz]:80", "bad IPv6 address"},
		{"ho st:80", "bad host name"},
		{"[]:80", "bad IPv6 address"},
	};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		err[0] = 0;
		CHECK_EQ(addr_parse(bad[i].in, &a, err, sizeof err), DF_ERR);
		if (!strstr(err, bad[i].why))
			fprintf(stderr, "    '%s': %s\n", bad[i].in, err);
		CHECK(strstr(err, bad[i].why) != NULL);
	}
}

static void sockaddr_str(void)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(80)};
	inet_pton(AF_INET, "10.1.2.3", &s4.sin_addr);
	char out[LOOP_ADDRSTR_MAX];
	CHECK_STR(loop_sockaddr_str((struct sockaddr *)&s4, out, sizeof out), "10.1.2.3:80");
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(8002)};
	inet_pton(AF_INET6, "fe80::1", &s6.sin6_addr);
	CHECK_STR(loop_sockaddr_str((struct sockaddr *)&s6, out, sizeof out), "[fe80::1]:8002");
}

static int accepted;
static void on_accept(struct loop_listener *l, int fd, const struct sockaddr *peer, void *ctx)
{
	(void)l;
	(void)ctx;
	CHECK_EQ(peer->sa_family, AF_INET);
	close(fd);
	accepted++;
}

static void listener(void)
{
	if (!L)
		L = ev_default_loop(EVFLAG_AUTO);
	char err[256];
	struct loop_listener *l = loop_listen(L, "127.0.0.1:0", on_accept, NULL, err, sizeof err);
	CHECK(l != NULL);
	uint16_t port = loop_listener_port(l);
	CHECK(port != 0);
	/* the same port again is taken */
	char addr[32];
	snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
	CHECK(loop_listen(L, addr, on_accept, NULL, err, sizeof err) == NULL);
	CHECK(strstr(err, "listen 127.0.0.1:") && strstr(err, "in use"));
	CHECK(loop_listen(L, "nonsense", on_accept, NULL, err, sizeof err) == NULL);
	CHECK(strstr(err, "listen nonsense: missing port") != NULL);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
	while (!accepted)
		ev_run(L, EVRUN_ONCE);
	CHECK_EQ(accepted, 1);
	close(fd);
	loop_listener_free(l);
}

/* the timeout fires only after `after` seconds without a touch */
struct tt {
	struct loop_timeout to;
	ev_timer toucher;
	int touches, fired, touches_at_fire;
};

static void tt_fire(struct ev_loop *loop, struct loop_timeout *t)
{
	(void)loop;
	struct tt *x = DF_CONTAINER_OF(t, struct tt, to);
	x->fired++;
	x->touches_at_fire = x->touches;
}

static void tt_touch(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct tt *x = DF_CONTAINER_OF(w, struct tt, toucher);
	if (++x->touches == 5)
		ev_timer_stop(loop, w);
	loop_timeout_touch(loop, &x->to);
}

static void stop_loop(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ONE);
}

static void timeout(void)
{
	if (!L)
		L = ev_default_loop(EVFLAG_AUTO);
	struct tt x = {0};
	loop_timeout_init(&x.to, tt_fire);
	/* touched every 20 ms five times with a 100 ms allowance: it cannot fire before the last touch */
	ev_timer_init(&x.toucher, tt_touch, 0.02, 0.02);
	ev_timer_start(L, &x.toucher);
	loop_timeout_set(L, &x.to, 0.1);
	while (!x.fired)
		ev_run(L, EVRUN_ONCE);
	CHECK_EQ(x.fired, 1);
	CHECK_EQ(x.touches_at_fire, 5);
	CHECK(!ev_is_active(&x.to.timer));
	/* stopped: never fires */
	loop_timeout_set(L, &x.to, 0.01);
	loop_timeout_stop(L, &x.to);
	ev_timer t;
	ev_timer_init(&t, stop_loop, 0.05, 0);
	ev_timer_start(L, &t);
	ev_run(L, 0);
	CHECK_EQ(x.fired, 1);
}

static int stops[3];
static void on_stop(struct loop_signals *s, int signum, int count, void *ctx)
{
	(void)s;
	(void)ctx;
	stops[0] = signum;
	stops[1] = count;
	stops[2]++;
}

static void signals(void)
{
	if (!L)
		L = ev_default_loop(EVFLAG_AUTO);
	struct loop_signals s;
	loop_signals_start(L, &s, on_stop, NULL);
	raise(SIGTERM);
	while (stops[2] < 1)
		ev_run(L, EVRUN_ONCE);
	CHECK_EQ(stops[0], SIGTERM);
	CHECK_EQ(stops[1], 1);
	raise(SIGINT);
	while (stops[2] < 2)
		ev_run(L, EVRUN_ONCE);
	CHECK_EQ(stops[0], SIGINT);
	CHECK_EQ(stops[1], 2);
	loop_signals_stop(L, &s);
	/* SIGPIPE is ignored: a write to a closed pipe is EPIPE, not death */
	int p[2];
	CHECK(pipe(p) == 0);
	close(p[0]);
	CHECK(write(p[1], "x", 1) < 0);
	close(p[1]);
}

struct rq {
	int done, rc, n;
	char err[128];
	int family0;
};

static void on_resolved(int rc, const char *err, const struct resolve_result *res, void *ctx)
{
	struct rq *q = ctx;
	q->done = 1;
	q->rc = rc;
	if (rc == DF_OK) {
		q->n = res->n;
		q->family0 = res->addr[0].ss_family;
	} else {
		snprintf(q->err, sizeof q->err, "%s", err);
	}
}

static void resolver(void)
{
	if (!L)
		L = ev_default_loop(EVFLAG_AUTO);
	char err[128];
	struct resolver *r = resolver_new(L, 2, err, sizeof err);
	CHECK(r != NULL);
	struct rq a = {0}, b = {0}, c = {0}, d = {0};
	CHECK(resolver_query(r, "127.0.0.1", 80, on_resolved, &a) != NULL);
	CHECK(resolver_query(r, "::1", 80, on_resolved, &b) != NULL);
	CHECK(resolver_query(r, "localhost", 80, on_resolved, &c) != NULL);
	CHECK(resolver_query(r, "no-such-host.invalid", 80, on_resolved, &d) != NULL);
	/* answers never arrive inside resolver_query */
	CHECK(!a.done && !b.done);
	while (!a.done || !b.done || !c.done || !d.done)
		ev_run(L, EVRUN_ONCE);
	CHECK(a.rc == DF_OK && a.n == 1 && a.family0 == AF_INET);
	CHECK(b.rc == DF_OK && b.n == 1 && b.family0 == AF_INET6);
	CHECK(c.rc == DF_OK && c.n >= 1);
	CHECK_EQ(d.rc, DF_ERR);
	CHECK(d.err[0] != 0);
	/* a cancelled query never calls back */
	struct rq e = {0}, f = {0};
	struct resolve_query *q = resolver_query(r, "localhost", 80, on_resolved, &e);
	resolver_query(r, "127.0.0.2", 80, on_resolved, &f);
	resolver_cancel(q);
	while (!f.done)
		ev_run(L, EVRUN_ONCE);
	ev_run(L, EVRUN_NOWAIT);
	CHECK(!e.done);
	/* freeing with queries in flight: no callback, no leak, no wait */
	struct rq g = {0};
	resolver_query(r, "localhost", 80, on_resolved, &g);
	resolver_query(r, "no-such-host-either.invalid", 80, on_resolved, &g);
	resolver_free(r);
	ev_run(L, EVRUN_NOWAIT);
	CHECK(!g.done);
	/* let detached workers finish before the process checks for leaks */
	usleep(200000);
}

/* At and past RESOLVE_MAX_ADDRS (8, docs/LIMITS.md): a name with 10 addresses (and one of another
 * family in between) is tried at its first 8 TCP addresses, in order. */
static void resolve_max_addrs(void)
{
	static struct addrinfo ai[11];
	static struct sockaddr_in sa[11];
	for (int i = 0; i < 11; i++) {
		sa[i] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = htonl(0x0a000001u + (uint32_t)i)};
		ai[i] = (struct addrinfo){.ai_family = i == 2 ? AF_UNIX : AF_INET, .ai_socktype = SOCK_STREAM,
					  .ai_addrlen = sizeof sa[i], .ai_addr = (struct sockaddr *)&sa[i],
					  .ai_next = i < 10 ? &ai[i + 1] : NULL};
	}
	struct resolve_result r;
	resolve_take(&ai[0], &r);
	CHECK_EQ(r.n, RESOLVE_MAX_ADDRS);
	CHECK_EQ(RESOLVE_MAX_ADDRS, 8);
	for (int k = 0; k < r.n; k++) {
		const struct sockaddr_in *got = (const struct sockaddr_in *)&r.addr[k];
		int from = k < 2 ? k : k + 1; /* the AF_UNIX entry is skipped */
		CHECK_EQ(ntohl(got->sin_addr.s_addr), 0x0a000001u + (uint32_t)from);
		CHECK_EQ(r.len[k], (socklen_t)sizeof(struct sockaddr_in));
	}
	ai[6].ai_next = NULL; /* 7 entries, one skipped: 6, all taken */
	resolve_take(&ai[0], &r);
	CHECK_EQ(r.n, 6);
	resolve_take(NULL, &r);
	CHECK_EQ(r.n, 0);
}

static const struct unit_test tests[] = {
	{"addr_parse", addr_forms},
	{"sockaddr_str", sockaddr_str},
	{"listener", listener},
	{"timeout", timeout},
	{"signals", signals},
	{"resolver", resolver},
	{"resolve_max_addrs", resolve_max_addrs},
};
UNIT_MAIN("http_loop", tests)
