/* tools/sim: a discrete-event simulator of one task's swarm that drives the real core/sched, to
 * measure makespan against the physical lower bound and the scheduler's CPU cost per decision.
 *
 * Model (docs/SCHEDULER.md has the why). Node 0 is the supernode, nodes 1..N the clients. The
 * supernode fetches the file from the source at --src (in order, or --streams parallel range
 * requests sharing that rate) and announces each piece to the scheduler as it lands. Every node
 * has an upload and a download capacity; a transfer's rate is min(up/uploads, down/downloads) of
 * its two ends (a fluid model), recomputed for the transfers of both ends whenever one starts or
 * ends. Control is one round trip per request: a client's request (join, or a report plus "more")
 * reaches the supernode after latency/2, the answer comes back after another latency/2, and each
 * assigned transfer starts one more round trip later (asking the uploader). A request that gets
 * nothing is parked (long poll) until sched_wakeable names the client, or --poll-ms passes. Clients
 * stay and seed when done. --fail K makes K clients misbehave in turn: one sends bad data, one
 * fails its uploads halfway, one vanishes (its transfers stall until the downloader's --stall-ms
 * and the scheduler expires it after the silence timeout). Live clients heartbeat every second. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/df.h"
#include "core/sched.h"

enum kind { K_NORMAL, K_SLOW, K_BAD, K_FLAKY, K_VANISH };
enum ev_type { EV_JOIN, EV_SRC, EV_REQ, EV_START, EV_POLL, EV_STALL, EV_VANISH, EV_TICK };
enum xstate { X_FREE, X_PENDING, X_ACTIVE };

struct xfer {
	int32_t u, d;
	uint32_t piece;
	uint8_t state, outcome;
	double size, left, rate, t_last, t_end;
	int32_t heap;
	int32_t uprev, unext, dprev, dnext, next_free;
};

struct node {
	double up, down;
	int nup, ndown;
	int32_t uhead, dhead;
	int32_t handle;
	uint8_t kind, vanished, parked, done, joined;
	uint32_t poll_gen, npieces;
	int outstanding;  /* assignments received and not finished (the client's own view) */
	uint32_t nfail, nbad, nstall;  /* what this client met as downloader */
	double join, finish;
};

struct ev {
	double t;
	uint64_t seq;
	int type;
	int32_t a, b, c, e;
};

struct params {
	int n;
	double size, piece, up, down, src, super_up, latency, spread, slow_factor, poll, stall;
	int streams, slow, fail, row, header, verbose;
	uint64_t seed;
	struct sched_config cfg;
};

static struct sim {
	struct params P;
	uint32_t npieces;
	int nodes;
	struct node *nd;
	uint64_t *have, *infl;  /* per node: pieces held, pieces assigned and not done */
	uint32_t pw;
	struct xfer *x;
	int32_t xcap, xfree;
	int32_t *xheap;
	int xn;
	struct ev *ev;
	size_t evn, evcap;
	uint64_t seq;
	struct sched *s;
	int32_t *node_of;
	int32_t node_of_cap;
	double now;
	int remaining;  /* good clients not done yet */
	uint64_t rng;
	/* measurements */
	uint64_t sched_ns, timed_calls, assign_calls, assigned, wakes, poll_timeouts, poll_useful, dups, violations;
	uint64_t reclaimed; /* assignments of a piece the downloader held but whose claim was dropped */
	uint64_t expired, reports;
	double super_bytes;
	double timer_overhead_ns;
} S;

static uint64_t rnd(void)
{
	uint64_t x = S.rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	S.rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static double rnd01(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static void *xalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fprintf(stderr, "sim: out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- timing of scheduler calls ---- */

static inline uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

#define TIMED(expr)                                   \
	__extension__({                               \
		uint64_t t0_ = mono_ns();             \
		__typeof__(expr) r_ = (expr);         \
		S.sched_ns += mono_ns() - t0_;        \
		S.timed_calls++;                      \
		r_;                                   \
	})

static void calibrate(void)
{
	uint64_t t0 = mono_ns(), acc = 0;
	for (int i = 0; i < 200000; i++) {
		uint64_t a = mono_ns();
		acc += mono_ns() - a;
	}
	(void)t0;
	S.timer_overhead_ns = (double)acc / 200000.0;
}

static int64_t now_ms(void) { return (int64_t)(S.now * 1000.0); }

/* ---- event heap (plain) ---- */

static int ev_less(const struct ev *a, const struct ev *b) { return a->t < b->t || (a->t == b->t && a->seq < b->seq); }

static void ev_push(double t, int type, int32_t a, int32_t b, int32_t c, int32_t e)
{
	if (S.evn == S.evcap) {
		S.evcap = S.evcap ? S.evcap * 2 : 1024;
		S.ev = realloc(S.ev, S.evcap * sizeof *S.ev);
		if (!S.ev) {
			fprintf(stderr, "sim: out of memory\n");
			exit(1);
		}
	}
	size_t i = S.evn++;
	struct ev v = {t, S.seq++, type, a, b, c, e};
	while (i > 0 && ev_less(&v, &S.ev[(i - 1) / 2])) {
		S.ev[i] = S.ev[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	S.ev[i] = v;
}

static struct ev ev_pop(void)
{
	struct ev top = S.ev[0], last = S.ev[--S.evn];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= S.evn)
			break;
		if (c + 1 < S.evn && ev_less(&S.ev[c + 1], &S.ev[c]))
			c++;
		if (!ev_less(&S.ev[c], &last))
			break;
		S.ev[i] = S.ev[c];
		i = c;
	}
	if (S.evn)
		S.ev[i] = last;
	return top;
}

/* ---- transfer heap (indexed by finish time) ---- */

static void xh_set(int i, int32_t xi)
{
	S.xheap[i] = xi;
	S.x[xi].heap = i;
}

static void xh_up(int i)
{
	int32_t xi = S.xheap[i];
	while (i > 0 && S.x[S.xheap[(i - 1) / 2]].t_end > S.x[xi].t_end) {
		xh_set(i, S.xheap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	xh_set(i, xi);
}

static void xh_down(int i)
{
	int32_t xi = S.xheap[i];
	for (;;) {
		int c = 2 * i + 1;
		if (c >= S.xn)
			break;
		if (c + 1 < S.xn && S.x[S.xheap[c + 1]].t_end < S.x[S.xheap[c]].t_end)
			c++;
		if (S.x[S.xheap[c]].t_end >= S.x[xi].t_end)
			break;
		xh_set(i, S.xheap[c]);
		i = c;
	}
	xh_set(i, xi);
}

static void xh_remove(int32_t xi)
{
	int i = S.x[xi].heap;
	S.x[xi].heap = -1;
	int32_t last = S.xheap[--S.xn];
	if (i == S.xn)
		return;
	xh_set(i, last);
	xh_up(i);
	xh_down(S.x[last].heap);
}

/* ---- transfers and the flow model ---- */

static int32_t x_new(int32_t u, int32_t d, uint32_t piece)
{
	if (S.xfree < 0) {
		int32_t oc = S.xcap, nc = oc ? oc * 2 : 4096;
		S.x = realloc(S.x, (size_t)nc * sizeof *S.x);
		S.xheap = realloc(S.xheap, (size_t)nc * sizeof *S.xheap);
		if (!S.x || !S.xheap) {
			fprintf(stderr, "sim: out of memory\n");
			exit(1);
		}
		for (int32_t i = nc - 1; i >= oc; i--) {
			S.x[i].state = X_FREE;
			S.x[i].next_free = S.xfree;
			S.xfree = i;
		}
		S.xcap = nc;
	}
	int32_t i = S.xfree;
	S.xfree = S.x[i].next_free;
	double size = piece == S.npieces - 1 ? S.P.size - (double)piece * S.P.piece : S.P.piece;
	S.x[i] = (struct xfer){.u = u, .d = d, .piece = piece, .state = X_PENDING, .outcome = SCHED_OK,
			       .size = size, .left = size, .heap = -1};
	return i;
}

static void x_free(int32_t i)
{
	S.nd[S.x[i].d].outstanding--;
	S.infl[(size_t)S.x[i].d * S.pw + S.x[i].piece / 64] &= ~(1ULL << (S.x[i].piece % 64));
	S.x[i].state = X_FREE;
	S.x[i].next_free = S.xfree;
	S.xfree = i;
}

static void set_rate(int32_t xi)
{
	struct xfer *x = &S.x[xi];
	x->left -= x->rate * (S.now - x->t_last);
	if (x->left < 0)
		x->left = 0;
	x->t_last = S.now;
	const struct node *u = &S.nd[x->u], *d = &S.nd[x->d];
	x->rate = DF_MIN(u->up / u->nup, d->down / d->ndown);
	x->t_end = S.now + x->left / x->rate;
	if (x->heap < 0) {
		S.xheap[S.xn] = xi;
		x->heap = S.xn++;
		xh_up(x->heap);
	} else {
		xh_up(x->heap);
		xh_down(S.x[xi].heap);
	}
}

static void update_up(int32_t u)
{
	for (int32_t i = S.nd[u].uhead; i >= 0; i = S.x[i].unext)
		set_rate(i);
}

static void update_down(int32_t d)
{
	for (int32_t i = S.nd[d].dhead; i >= 0; i = S.x[i].dnext)
		set_rate(i);
}

static void x_activate(int32_t xi)
{
	struct xfer *x = &S.x[xi];
	struct node *u = &S.nd[x->u], *d = &S.nd[x->d];
	x->state = X_ACTIVE;
	x->t_last = S.now;
	x->rate = 0;
	x->uprev = -1, x->unext = u->uhead;
	if (u->uhead >= 0)
		S.x[u->uhead].uprev = xi;
	u->uhead = xi;
	x->dprev = -1, x->dnext = d->dhead;
	if (d->dhead >= 0)
		S.x[d->dhead].dprev = xi;
	d->dhead = xi;
	u->nup++, d->ndown++;
	update_up(x->u);
	update_down(x->d);
}

/* Takes an active transfer out of the flow model (settling its bytes); rates of both ends follow. */
static void x_deactivate(int32_t xi)
{
	struct xfer *x = &S.x[xi];
	x->left -= x->rate * (S.now - x->t_last);
	if (x->left < 0)
		x->left = 0;
	if (x->u == 0)
		S.super_bytes += x->size - x->left;
	if (x->heap >= 0)
		xh_remove(xi);
	struct node *u = &S.nd[x->u], *d = &S.nd[x->d];
	if (x->uprev >= 0)
		S.x[x->uprev].unext = x->unext;
	else
		u->uhead = x->unext;
	if (x->unext >= 0)
		S.x[x->unext].uprev = x->uprev;
	if (x->dprev >= 0)
		S.x[x->dprev].dnext = x->dnext;
	else
		d->dhead = x->dnext;
	if (x->dnext >= 0)
		S.x[x->dnext].dprev = x->dprev;
	u->nup--, d->ndown--;
	x->state = X_PENDING;
	update_up(x->u);
	update_down(x->d);
}

/* ---- the supernode side ---- */

static int has(int32_t node, uint32_t p) { return (int)((S.have[(size_t)node * S.pw + p / 64] >> (p % 64)) & 1); }

static void serve(int32_t d);

static void drain_wakeables(void)
{
	int w[256];
	for (;;) {
		int n = TIMED(sched_wakeable(S.s, w, 256));
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			int32_t d = w[i] >= 0 && w[i] < S.node_of_cap ? S.node_of[w[i]] : -1;
			S.wakes++;
			if (d > 0 && S.nd[d].parked)
				serve(d);
		}
	}
}

static void serve(int32_t d)
{
	struct node *nd = &S.nd[d];
	if (nd->vanished || nd->done || nd->handle < 0)
		return;
	struct sched_assignment out[64];
	enum sched_why why;
	int room = S.P.cfg.max_down - nd->outstanding;
	int n = TIMED(sched_assign(S.s, nd->handle, now_ms(), out, room, &why));
	S.assign_calls++;
	if (n < 0) {
		fprintf(stderr, "sim: sched_assign: %s\n", strerror(errno));
		exit(1);
	}
	if (nd->parked == 2 && n > 0)
		S.poll_useful++;  /* a re-asked poll found work: a wakeup was missed */
	nd->parked = 0;
	for (int k = 0; k < n; k++) {
		int32_t u = S.node_of[out[k].uploader];
		S.assigned++;
		if (!has(u, out[k].piece) && !has(d, out[k].piece))
			S.violations++;
		if (has(d, out[k].piece)) {
			/* a piece it holds whose claim was dropped after an upload of it failed: like df's peer
			 * (a piece already in the store is checked, not fetched), it reports it held at once */
			S.reclaimed++;
			ev_push(S.now + S.P.latency / 2, EV_REQ, d, (int32_t)out[k].piece, u, SCHED_OK);
			continue;
		}
		int32_t xi = x_new(u, d, out[k].piece);
		nd->outstanding++;
		S.infl[(size_t)d * S.pw + out[k].piece / 64] |= 1ULL << (out[k].piece % 64);
		ev_push(S.now + S.P.latency / 2 + S.P.latency, EV_START, xi, 0, 0, 0);
	}
	if (n > 0 && n < room)  /* the client asks again at once for the rest: a long poll */
		ev_push(S.now + S.P.latency, EV_REQ, d, -1, 0, 0);
	if (n == 0 && (why == SCHED_WAIT_PIECES || why == SCHED_WAIT_SLOTS)) {
		nd->parked = 1;
		nd->poll_gen++;
		ev_push(S.now + S.P.poll, EV_POLL, d, (int32_t)nd->poll_gen, 0, 0);
	}
}

/* A request from client d reaches the supernode: register, report, ask. */
static void on_request(int32_t d, int32_t piece, int32_t u, int result)
{
	struct node *nd = &S.nd[d];
	if (nd->vanished)
		return;
	if (nd->handle < 0) {
		if (nd->joined)
			return;  /* expired: a real peer would register again; ours are silent only if vanished */
		int h = TIMED(sched_peer_add(S.s, 0, NULL, now_ms()));
		if (h < 0 || h >= S.node_of_cap) {
			fprintf(stderr, "sim: sched_peer_add failed\n");
			exit(1);
		}
		nd->handle = h;
		nd->joined = 1;
		S.node_of[h] = d;
	}
	if (piece == -2)
		nd->parked = 2;  /* asking again after a poll timeout: serve() notes whether work was waiting */
	if (piece >= 0) {
		int32_t uh = S.nd[u].handle;
		TIMED(sched_report(S.s, nd->handle, (uint32_t)piece, uh, (enum sched_result)result, now_ms()));
		S.reports++;
		/* Peers that were waiting get the slot just freed before the reporter asks again. */
		drain_wakeables();
	}
	serve(d);
	drain_wakeables();
}

/* ---- the client side ---- */

static void finish_piece(int32_t d, uint32_t p)
{
	struct node *nd = &S.nd[d];
	if (has(d, p)) {
		S.dups++;
		return;
	}
	S.have[(size_t)d * S.pw + p / 64] |= 1ULL << (p % 64);
	if (++nd->npieces == S.npieces && d > 0) {
		nd->done = 1;
		nd->finish = S.now;
		if (nd->kind == K_NORMAL || nd->kind == K_SLOW)
			S.remaining--;
	}
}

static void on_xfer_done(int32_t xi)
{
	x_deactivate(xi);
	struct xfer *x = &S.x[xi];
	int32_t d = x->d, u = x->u;
	uint32_t p = x->piece;
	int outcome = x->outcome;
	x_free(xi);
	if (outcome == SCHED_OK)
		finish_piece(d, p);
	else if (outcome == SCHED_BAD)
		S.nd[d].nbad++;
	else
		S.nd[d].nfail++;
	ev_push(S.now + S.P.latency / 2, EV_REQ, d, (int32_t)p, u, outcome);
}

static void on_start(int32_t xi)
{
	struct xfer *x = &S.x[xi];
	if (S.nd[x->d].vanished) {
		x_free(xi);
		return;
	}
	const struct node *u = &S.nd[x->u];
	if (u->vanished) {  /* nobody answers: the downloader gives up after its stall timeout */
		ev_push(S.now + S.P.stall, EV_STALL, xi, 0, 0, 0);
		return;
	}
	if (u->kind == K_BAD)
		x->outcome = SCHED_BAD;
	else if (u->kind == K_FLAKY) {
		x->outcome = SCHED_FAILED;
		x->left = x->size / 2;  /* the connection drops halfway */
	}
	x_activate(xi);
}

static void on_vanish(int32_t v)
{
	struct node *nd = &S.nd[v];
	nd->vanished = 1;
	nd->parked = 0;
	while (nd->uhead >= 0) {
		int32_t xi = nd->uhead;
		x_deactivate(xi);
		ev_push(S.now + S.P.stall, EV_STALL, xi, 0, 0, 0);
	}
	while (nd->dhead >= 0) {
		int32_t xi = nd->dhead;
		x_deactivate(xi);
		x_free(xi);
	}
}

/* -v: one line per tick on how busy the links are, and a check of the wakeups: "servable" counts
 * parked clients that lack a piece some holder with a free slot has (O(N^2): only up to 2000). */
static void timeline(void)
{
	double down = 0, up = 0, capd = 0, capu = 0, sup = 0;
	int active = 0, done = 0, parked = 0, idle = 0, servable = 0;
	for (int32_t i = 0; i < S.nodes; i++) {
		const struct node *nd = &S.nd[i];
		if (i > 0 && !nd->vanished) {
			capd += nd->down;
			capu += nd->up;
		}
		done += nd->done;
		parked += nd->parked != 0;
		if (i > 0 && nd->npieces > 0 && nd->nup == 0)
			idle++;
		for (int32_t x = nd->dhead; x >= 0; x = S.x[x].dnext) {
			down += S.x[x].rate;
			active++;
		}
		for (int32_t x = nd->uhead; x >= 0; x = S.x[x].unext)
			*(i ? &up : &sup) += S.x[x].rate;
	}
	for (int32_t i = 1; i < S.nodes && S.nodes <= 2001; i++) {
		if (!S.nd[i].parked)
			continue;
		for (int32_t j = 0; j < S.nodes; j++) {
			int slots = j ? S.P.cfg.up_slots : S.P.cfg.super_slots, need = 0;
			struct sched_peer_info pi;
			if (j == i || S.nd[j].vanished || S.nd[j].handle < 0 ||
			    sched_peer_info(S.s, S.nd[j].handle, &pi) != DF_OK || pi.up_inflight >= slots || pi.blacklisted)
				continue;
			for (uint32_t w = 0; w < S.pw && !need; w++)
				need = (S.have[(size_t)j * S.pw + w] & ~S.have[(size_t)i * S.pw + w] &
					~S.infl[(size_t)i * S.pw + w]) != 0;
			if (need) {
				servable++;
				break;
			}
		}
	}
	fprintf(stderr, "t=%7.2f done %5d  transfers %6d  down %5.1f%%  up %5.1f%%  supernode up %5.1f%%  pieces %u  "
		"parked %5d (servable %d)  idle holders %d\n",
		S.now, done, active, 100 * down / capd, 100 * up / capu, 100 * sup / S.nd[0].up, S.nd[0].npieces, parked,
		servable, idle);
}

static void on_tick(void)
{
	if (S.P.verbose)
		timeline();
	for (int32_t i = 1; i < S.nodes; i++)
		if (S.nd[i].handle >= 0 && !S.nd[i].vanished)
			TIMED(sched_touch(S.s, S.nd[i].handle, now_ms()));
	int dropped[256];
	int n;
	do {
		n = TIMED(sched_expire(S.s, now_ms(), dropped, 256));
		for (int i = 0; i < n; i++) {
			int32_t d = S.node_of[dropped[i]];
			S.node_of[dropped[i]] = -1;
			if (d >= 0)
				S.nd[d].handle = -1;
			S.expired++;
		}
	} while (n == 256);
	drain_wakeables();
	if (S.remaining > 0)
		ev_push(S.now + (S.P.verbose ? 0.25 : 1.0), EV_TICK, 0, 0, 0, 0);
}

static void dispatch(const struct ev *e)
{
	switch (e->type) {
	case EV_JOIN:
		S.nd[e->a].join = S.now;
		ev_push(S.now + S.P.latency / 2, EV_REQ, e->a, -1, 0, 0);
		break;
	case EV_SRC:
		S.have[e->a / 64] |= 1ULL << (e->a % 64);
		S.nd[0].npieces++;
		TIMED(sched_peer_has(S.s, S.nd[0].handle, (uint32_t)e->a));
		drain_wakeables();
		break;
	case EV_REQ:
		on_request(e->a, e->b, e->c, e->e);
		break;
	case EV_START:
		on_start(e->a);
		break;
	case EV_POLL: {
		struct node *nd = &S.nd[e->a];
		if (nd->parked == 1 && nd->poll_gen == (uint32_t)e->b && !nd->vanished) {
			S.poll_timeouts++;
			nd->parked = 0;
			/* the empty answer travels back, the client asks again */
			ev_push(S.now + S.P.latency, EV_REQ, e->a, -2, 0, 0);
		}
		break;
	}
	case EV_STALL: {
		struct xfer *x = &S.x[e->a];
		int32_t d = x->d, u = x->u;
		uint32_t p = x->piece;
		x_free(e->a);
		S.nd[d].nstall++;
		if (!S.nd[d].vanished)
			ev_push(S.now + S.P.latency / 2, EV_REQ, d, (int32_t)p, u, SCHED_FAILED);
		break;
	}
	case EV_VANISH:
		on_vanish(e->a);
		break;
	case EV_TICK:
		on_tick();
		break;
	}
}

/* ---- set-up, run, report ---- */

static double parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	switch (*end) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	case 0: break;
	default: fprintf(stderr, "sim: bad size '%s'\n", s); exit(2);
	}
	return v;
}

static double mbit(const char *s) { return atof(s) * 1e6 / 8; }

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: sim [options]   simulate one task's swarm with the real scheduler\n"
		"  -n N              clients (default 100)\n"
		"  -s SIZE           file size, k/M/G suffixes (default 64M)\n"
		"  --piece SIZE      piece size (default 256k)\n"
		"  --up MBIT         client upload, Mbit/s (default 100)\n"
		"  --down MBIT       client download, Mbit/s (default 100)\n"
		"  --src MBIT        source rate to the supernode, Mbit/s (default 200)\n"
		"  --super-up MBIT   supernode upload, Mbit/s (default: --src)\n"
		"  --streams K       parallel range requests to the source (default 4; 1 = in order)\n"
		"  --latency MS      control and peer round trip, ms (default 1)\n"
		"  --join-spread S   clients join uniformly over S seconds (default 0: together)\n"
		"  --slow K          K clients with 1/--slow-factor of the rates (default factor 10)\n"
		"  --fail K          K clients misbehave: bad data, failing uploads, vanishing (in turn)\n"
		"  --poll-ms MS      long-poll timeout of a parked request (default 2000)\n"
		"  --stall-ms MS     a downloader's give-up time on a silent uploader (default 1000)\n"
		"  --max-down K --up-slots K --super-slots K --silence-ms MS --max-failures K\n"
		"                    scheduler settings (defaults: sched_config_default)\n"
		"  --seed X          random seed (default 1)\n"
		"  --row / --header  print one markdown table row / the table header (for b_sim.sh)\n"
		"  -v                link use every 250 ms and the five slowest clients, on stderr\n");
}

static void parse(int argc, char **argv)
{
	struct params *P = &S.P;
	*P = (struct params){.n = 100, .size = 64 << 20, .piece = 256 << 10, .up = mbit("100"), .down = mbit("100"),
			     .src = mbit("200"), .super_up = -1, .latency = 0.001, .slow_factor = 10, .poll = 2.0,
			     .stall = 1.0, .streams = 4, .seed = 1};
	sched_config_default(&P->cfg);
	enum { O_PIECE = 256, O_UP, O_DOWN, O_SRC, O_SUPER, O_STREAMS, O_LAT, O_SPREAD, O_SLOW, O_SLOWF, O_FAIL,
	       O_POLL, O_STALL, O_MAXDOWN, O_UPSLOTS, O_SUPERSLOTS, O_SILENCE, O_MAXFAIL, O_SEED, O_ROW, O_HEADER };
	static const struct option lo[] = {
		{"piece", 1, 0, O_PIECE}, {"up", 1, 0, O_UP}, {"down", 1, 0, O_DOWN}, {"src", 1, 0, O_SRC},
		{"super-up", 1, 0, O_SUPER}, {"streams", 1, 0, O_STREAMS}, {"latency", 1, 0, O_LAT},
		{"join-spread", 1, 0, O_SPREAD}, {"slow", 1, 0, O_SLOW}, {"slow-factor", 1, 0, O_SLOWF},
		{"fail", 1, 0, O_FAIL}, {"poll-ms", 1, 0, O_POLL}, {"stall-ms", 1, 0, O_STALL},
		{"max-down", 1, 0, O_MAXDOWN}, {"up-slots", 1, 0, O_UPSLOTS}, {"super-slots", 1, 0, O_SUPERSLOTS},
		{"silence-ms", 1, 0, O_SILENCE}, {"max-failures", 1, 0, O_MAXFAIL}, {"seed", 1, 0, O_SEED},
		{"row", 0, 0, O_ROW}, {"header", 0, 0, O_HEADER}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "n:s:hv", lo, NULL)) != -1) {
		switch (c) {
		case 'n': P->n = atoi(optarg); break;
		case 's': P->size = parse_size(optarg); break;
		case 'v': P->verbose = 1; break;
		case O_PIECE: P->piece = parse_size(optarg); break;
		case O_UP: P->up = mbit(optarg); break;
		case O_DOWN: P->down = mbit(optarg); break;
		case O_SRC: P->src = mbit(optarg); break;
		case O_SUPER: P->super_up = mbit(optarg); break;
		case O_STREAMS: P->streams = atoi(optarg); break;
		case O_LAT: P->latency = atof(optarg) / 1000; break;
		case O_SPREAD: P->spread = atof(optarg); break;
		case O_SLOW: P->slow = atoi(optarg); break;
		case O_SLOWF: P->slow_factor = atof(optarg); break;
		case O_FAIL: P->fail = atoi(optarg); break;
		case O_POLL: P->poll = atof(optarg) / 1000; break;
		case O_STALL: P->stall = atof(optarg) / 1000; break;
		case O_MAXDOWN: P->cfg.max_down = atoi(optarg); break;
		case O_UPSLOTS: P->cfg.up_slots = atoi(optarg); break;
		case O_SUPERSLOTS: P->cfg.super_slots = atoi(optarg); break;
		case O_SILENCE: P->cfg.silence_ms = atoll(optarg); break;
		case O_MAXFAIL: P->cfg.max_failures = atoi(optarg); break;
		case O_SEED: P->seed = strtoull(optarg, NULL, 0); break;
		case O_ROW: P->row = 1; break;
		case O_HEADER: P->header = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (P->super_up < 0)
		P->super_up = P->src;
	if (P->n < 1 || P->size < 1 || P->piece < 1 || P->up <= 0 || P->down <= 0 || P->src <= 0 || P->super_up <= 0 ||
	    P->streams < 1 || P->slow + P->fail > P->n || P->latency < 0 || P->slow_factor < 1) {
		fprintf(stderr, "sim: bad parameters (see --help)\n");
		exit(2);
	}
	P->cfg.piece_size = (uint32_t)P->piece;
	P->cfg.seed = P->seed;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void setup(void)
{
	struct params *P = &S.P;
	S.rng = P->seed * 0x9E3779B97F4A7C15ULL + 1;
	S.npieces = (uint32_t)ceil(P->size / P->piece);
	S.nodes = P->n + 1;
	S.pw = (S.npieces + 63) / 64;
	S.nd = xalloc((size_t)S.nodes * sizeof *S.nd);
	S.have = xalloc((size_t)S.nodes * S.pw * 8);
	S.infl = xalloc((size_t)S.nodes * S.pw * 8);
	S.node_of_cap = 2 * S.nodes + 256;
	S.node_of = xalloc((size_t)S.node_of_cap * sizeof *S.node_of);
	for (int i = 0; i < S.node_of_cap; i++)
		S.node_of[i] = -1;
	S.xfree = -1;
	S.s = sched_new(&P->cfg, S.npieces);
	if (!S.s) {
		fprintf(stderr, "sim: sched_new: %s\n", strerror(errno));
		exit(2);
	}
	for (int i = 0; i < S.nodes; i++)
		S.nd[i] = (struct node){.up = P->up, .down = P->down, .uhead = -1, .dhead = -1, .handle = -1};
	S.nd[0].up = P->super_up;
	S.nd[0].handle = sched_peer_add(S.s, 1, NULL, 0);
	S.node_of[S.nd[0].handle] = 0;
	/* Misbehaving and slow clients: a random distinct choice. */
	int32_t *perm = xalloc((size_t)P->n * sizeof *perm);
	for (int i = 0; i < P->n; i++)
		perm[i] = i + 1;
	for (int i = P->n - 1; i > 0; i--) {
		int j = (int)(rnd() % (uint64_t)(i + 1));
		int32_t t = perm[i];
		perm[i] = perm[j], perm[j] = t;
	}
	for (int i = 0; i < P->fail; i++)
		S.nd[perm[i]].kind = (uint8_t)(K_BAD + i % 3);
	for (int i = P->fail; i < P->fail + P->slow; i++) {
		S.nd[perm[i]].kind = K_SLOW;
		S.nd[perm[i]].up /= P->slow_factor;
		S.nd[perm[i]].down /= P->slow_factor;
	}
	free(perm);
	for (int i = 1; i < S.nodes; i++) {
		double t = P->spread > 0 ? rnd01() * P->spread : 0;
		ev_push(t, EV_JOIN, i, 0, 0, 0);
		if (S.nd[i].kind == K_VANISH)
			ev_push(t + rnd01() * (P->size / P->down) / 2, EV_VANISH, i, 0, 0, 0);
		if (S.nd[i].kind == K_NORMAL || S.nd[i].kind == K_SLOW)
			S.remaining++;
	}
	/* The source download: K streams, each fetching its share of pieces in order at src/K. */
	double rate = P->src / P->streams;
	for (int k = 0; k < P->streams; k++) {
		double t = 0;
		for (uint32_t p = (uint32_t)k; p < S.npieces; p += (uint32_t)P->streams) {
			double sz = p == S.npieces - 1 ? P->size - (double)p * P->piece : P->piece;
			t += sz / rate;
			ev_push(t, EV_SRC, (int32_t)p, 0, 0, 0);
		}
	}
	ev_push(1.0, EV_TICK, 0, 0, 0, 0);
}

static void run(void)
{
	while (S.remaining > 0) {
		double te = S.evn ? S.ev[0].t : INFINITY, tx = S.xn ? S.x[S.xheap[0]].t_end : INFINITY;
		if (te == INFINITY && tx == INFINITY)
			break;
		if (tx <= te) {
			S.now = tx;
			on_xfer_done(S.xheap[0]);
		} else {
			struct ev e = ev_pop();
			S.now = e.t;
			dispatch(&e);
		}
		if (S.now > 3600 * 24) {
			fprintf(stderr, "sim: no progress after a virtual day\n");
			break;
		}
	}
}

static void print_header(void)
{
	printf("| N | pieces | makespan s | bound s | ratio | median s | p99 s | source xS | supernode xS |"
	       " ns/assign | sched core %% | sim wall s |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
}

static void report(double wall)
{
	const struct params *P = &S.P;
	int good = 0;
	double *times = xalloc((size_t)P->n * sizeof(double));
	double makespan = 0, bound_join = 0, dmin = INFINITY, usum = P->super_up;
	for (int i = 1; i < S.nodes; i++) {
		const struct node *nd = &S.nd[i];
		if (nd->kind != K_NORMAL && nd->kind != K_SLOW)
			continue;
		usum += nd->up;
		dmin = DF_MIN(dmin, nd->down);
		bound_join = DF_MAX(bound_join, nd->join + P->size / nd->down);
		if (nd->done) {
			times[good++] = nd->finish - nd->join;
			makespan = DF_MAX(makespan, nd->finish);
		}
	}
	int ngood = P->n - P->fail;
	double bound = DF_MAX(DF_MAX(P->size / P->src, P->size / dmin), ngood * P->size / usum);
	bound = DF_MAX(bound, bound_join);
	qsort(times, (size_t)good, sizeof *times, cmp_double);
	double med = good ? times[good / 2] : NAN, p99 = good ? times[DF_MIN(good - 1, (int)ceil(good * 0.99) - 1)] : NAN;
	double sched_ns = (double)S.sched_ns - S.timer_overhead_ns * (double)S.timed_calls;
	if (sched_ns < 0)
		sched_ns = 0;
	double ns_per = S.assigned ? sched_ns / (double)S.assigned : 0;
	double core = makespan > 0 ? sched_ns / 1e9 / makespan * 100 : 0;
	if (P->row) {
		printf("| %d | %u | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.2f | %.1f |%s\n", P->n,
		       S.npieces, makespan, bound, makespan / bound, med, p99, 1.0, S.super_bytes / P->size, ns_per, core,
		       wall, good < ngood ? " INCOMPLETE" : "");
	} else {
		printf("sim: N=%d S=%.1f MB piece=%.2f MB (%u pieces) up=%.0f down=%.0f src=%.0f super-up=%.0f Mbit/s "
		       "latency=%.1f ms streams=%d\n",
		       P->n, P->size / 1048576, P->piece / 1048576, S.npieces, P->up * 8 / 1e6, P->down * 8 / 1e6,
		       P->src * 8 / 1e6, P->super_up * 8 / 1e6, P->latency * 1000, P->streams);
		printf("sched: max_down=%d up_slots=%d super_slots=%d silence=%lld ms max_failures=%d\n", P->cfg.max_down,
		       P->cfg.up_slots, P->cfg.super_slots, (long long)P->cfg.silence_ms, P->cfg.max_failures);
		printf("done %d/%d  makespan %.3f s  bound %.3f s  ratio %.3f\n", good, ngood, makespan, bound,
		       makespan / bound);
		printf("client time: median %.3f s  p99 %.3f s  (S/D %.3f s)\n", med, p99, P->size / P->down);
		printf("egress: source %.2f S  supernode %.2f S\n", 1.0, S.super_bytes / P->size);
		printf("scheduler: %llu assignments in %llu sched_assign calls, %llu reports, %llu wakeups, "
		       "%llu poll timeouts (%llu found work)\n",
		       (unsigned long long)S.assigned, (unsigned long long)S.assign_calls, (unsigned long long)S.reports,
		       (unsigned long long)S.wakes, (unsigned long long)S.poll_timeouts,
		       (unsigned long long)S.poll_useful);
		struct sched_task_info ti;
		sched_task_info(S.s, &ti);
		printf("scheduler: %.0f ns per assignment (all scheduler calls), %.3f%% of one core over the makespan; "
		       "%.1f searches per assignment; %d blacklisted, %llu expired\n",
		       ns_per, core, (double)ti.searches / (double)(ti.assignments ? ti.assignments : 1), ti.blacklisted,
		       (unsigned long long)S.expired);
		printf("checks: %llu duplicate deliveries, %llu bad assignments, %llu pieces re-claimed; sim wall %.2f s\n",
		       (unsigned long long)S.dups, (unsigned long long)S.violations, (unsigned long long)S.reclaimed, wall);
	}
	if (P->verbose) {
		for (int k = 0; k < 5; k++) {  /* the five slowest good clients */
			int worst = -1;
			for (int i = 1; i < S.nodes; i++)
				if ((S.nd[i].kind == K_NORMAL || S.nd[i].kind == K_SLOW) && S.nd[i].done &&
				    (worst < 0 || S.nd[i].finish - S.nd[i].join > S.nd[worst].finish - S.nd[worst].join))
					worst = i;
			if (worst < 0)
				break;
			const struct node *w = &S.nd[worst];
			fprintf(stderr, "slow client %d: %.3f s, joined %.3f, met %u failed, %u bad, %u stalled transfers\n",
				worst, w->finish - w->join, w->join, w->nfail, w->nbad, w->nstall);
			S.nd[worst].done = 0;
		}
	}
	free(times);
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	if (S.P.header) {
		print_header();
		return 0;
	}
	calibrate();
	setup();
	uint64_t t0 = mono_ns();
	run();
	double wall = (double)(mono_ns() - t0) / 1e9;
	report(wall);
	int bad = S.violations > 0 || S.remaining > 0;
	sched_free(S.s);
	free(S.nd), free(S.have), free(S.infl), free(S.node_of), free(S.x), free(S.xheap), free(S.ev);
	return bad ? 1 : 0;
}
