/* tools/sim: a discrete-event simulator of one task's swarm that drives the real core/sched, to
 * measure makespan against the physical lower bound and the scheduler's CPU cost per decision.
 *
 * Model (docs/SCHEDULER.md has the why). Node 0 is the supernode, nodes 1..N the clients. The
 * supernode fetches the file from the source at --src (in order, or --streams parallel range
 * requests sharing that rate) and announces each piece to the scheduler as it lands. Every node
 * has an upload and a download capacity; a transfer's rate is min(up/uploads, down/downloads) of
 * its two ends (a fluid model), recomputed for the transfers of both ends whenever one starts or
 * ends; with --fair the uploader's side is max-min fair instead (what a transfer capped at its
 * downloader leaves goes to the uploader's other transfers). Control is one round trip per
 * request: a client's request (join, or a report plus "more") reaches the supernode after
 * latency/2, the answer comes back after another latency/2, and each assigned transfer starts one
 * more round trip later (asking the uploader). A request that gets
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

#include "core/bitmap.h"
#include "core/df.h"
#include "core/sched.h"

enum kind { K_NORMAL, K_SLOW, K_BAD, K_FLAKY, K_VANISH };
enum ev_type { EV_JOIN, EV_SRC, EV_REQ, EV_START, EV_POLL, EV_STALL, EV_VANISH, EV_TICK, EV_LEAVE, EV_BACK, EV_PROBE };
enum xstate { X_FREE, X_PENDING, X_ACTIVE };

struct xfer {
	int32_t u, d;
	uint32_t piece;
	uint8_t state, outcome, copy;  /* copy: an end-game duplicate of a piece already on its way */
	double size, left, rate, t_last, t_end, t_act;
	int32_t heap;
	int32_t uprev, unext, dprev, dnext, next_free;
};

struct node {
	double up, down;
	int nup, ndown;
	int32_t uhead, dhead;
	int32_t handle;
	uint8_t kind, vanished, parked, done, joined;
	uint8_t churn, gone;  /* churn: leaves once mid-download and comes back; gone: away right now */
	double leave, back;   /* churn: when it leaves, when it is back */
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
	double v;  /* EV_REQ with a report: the transfer's body time in seconds (0: none) */
};

struct params {
	int n;
	double size, piece, up, down, src, super_up, latency, spread, slow_factor, poll, stall;
	int streams, slow, fail, churn, row, header, xrow, xheader, verbose, fair, in_order;
	double churn_down;
	uint64_t seed;
	struct sched_config cfg;
};

static struct sim {
	struct params P;
	uint32_t npieces;
	int nodes;
	struct node *nd;
	uint64_t *have, *infl;  /* per node: pieces held, pieces assigned and not done */
	uint8_t *copies;        /* per node and piece: transfers of it to that node under way (end game: 2) */
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
	int remaining_fast;  /* good clients that are not slow, not done yet */
	double super_bytes_fast;  /* the supernode's bytes when the last of those was done */
	uint64_t rng;
	/* measurements */
	uint64_t sched_ns, timed_calls, assign_calls, assigned, wakes, poll_timeouts, poll_useful, dups, violations;
	uint64_t reclaimed; /* assignments of a piece the downloader held but whose claim was dropped */
	uint64_t expired, reports;
	uint64_t endgame, cancelled, left_nodes;  /* duplicate assignments, losers cancelled, departures */
	double super_bytes, wasted_bytes;
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

static void ev_push_v(double t, int type, int32_t a, int32_t b, int32_t c, int32_t e, double v)
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
	struct ev x = {t, S.seq++, type, a, b, c, e, v};
	while (i > 0 && ev_less(&x, &S.ev[(i - 1) / 2])) {
		S.ev[i] = S.ev[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	S.ev[i] = x;
}

static void ev_push(double t, int type, int32_t a, int32_t b, int32_t c, int32_t e)
{
	ev_push_v(t, type, a, b, c, e, 0);
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
	uint8_t *c = &S.copies[(size_t)S.x[i].d * S.npieces + S.x[i].piece];
	if (*c && !--*c)
		S.infl[(size_t)S.x[i].d * S.pw + S.x[i].piece / 64] &= ~(1ULL << (S.x[i].piece % 64));
	S.x[i].state = X_FREE;
	S.x[i].next_free = S.xfree;
	S.xfree = i;
}

/* --fair: the uploader's water level (-1: equal shares). Each of u's transfers can take at most its downloader's equal
 * share (down / downloads); what a transfer held back there leaves is shared by u's others (TCP
 * flows through one bottleneck come out close to this; the plain model gives each an equal share
 * of the uplink and wastes what a slow downloader cannot take). */
static double up_level(int32_t u)
{
	double cap[256], rem = S.nd[u].up;
	int n = 0;
	if (S.nd[u].nup > (int)DF_ARRAY_LEN(cap))
		return -1; /* more uploads than slots allow (2 x 64): equal shares, not a truncated sort */
	for (int32_t i = S.nd[u].uhead; i >= 0; i = S.x[i].unext) {
		const struct node *d = &S.nd[S.x[i].d];
		double c = d->down / d->ndown;
		int k = n++;
		while (k > 0 && cap[k - 1] > c) { /* insertion sort: a few dozen at most */
			cap[k] = cap[k - 1];
			k--;
		}
		cap[k] = c;
	}
	for (int k = 0; k < n; k++) {
		if (cap[k] * (n - k) >= rem)
			return rem / (n - k);
		rem -= cap[k];
	}
	return S.nd[u].up; /* every transfer capped at the other end */
}

static void set_rate_at(int32_t xi, double level)
{
	struct xfer *x = &S.x[xi];
	x->left -= x->rate * (S.now - x->t_last);
	if (x->left < 0)
		x->left = 0;
	x->t_last = S.now;
	const struct node *u = &S.nd[x->u], *d = &S.nd[x->d];
	x->rate = DF_MIN(level >= 0 ? level : u->up / u->nup, d->down / d->ndown);
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
	double level = S.P.fair ? up_level(u) : -1;
	for (int32_t i = S.nd[u].uhead; i >= 0; i = S.x[i].unext)
		set_rate_at(i, level);
}

static void update_down(int32_t d)
{
	/* --fair: d's share changed, so did the water level of each of its uploaders */
	for (int32_t i = S.nd[d].dhead; i >= 0; i = S.x[i].dnext)
		if (S.P.fair)
			update_up(S.x[i].u);
		else
			set_rate_at(i, -1);
}

static void x_activate(int32_t xi)
{
	struct xfer *x = &S.x[xi];
	struct node *u = &S.nd[x->u], *d = &S.nd[x->d];
	x->state = X_ACTIVE;
	x->t_last = x->t_act = S.now;
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
		if (S.copies[(size_t)d * S.npieces + out[k].piece]++) {
			S.x[xi].copy = 1;  /* the end game: a second uploader for a piece already on its way */
			S.endgame++;
		}
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
static void on_request(int32_t d, int32_t piece, int32_t u, int result, int64_t body_us)
{
	struct node *nd = &S.nd[d];
	if (nd->vanished || nd->gone)
		return;
	if (nd->handle < 0) {
		/* the first registration, or one after a departure (the pieces it kept are declared, as a
		 * rerun of df get resumes from its store); only vanished clients are ever silent */
		uint8_t *held = S.npieces ? xalloc(bitmap_bytes(S.npieces)) : NULL;
		for (uint32_t p = 0; held && p < S.npieces; p++)
			if (has(d, p))
				bitmap_set(held, p); /* the API's order (core/bitmap.h), not the sim's words */
		int h = TIMED(sched_peer_add(S.s, 0, held, now_ms()));
		free(held);
		if (h < 0 || h >= S.node_of_cap) {
			fprintf(stderr, "sim: sched_peer_add failed\n");
			exit(1);
		}
		if (S.P.in_order)
			sched_peer_in_order(S.s, h, 1);
		nd->handle = h;
		nd->joined = 1;
		S.node_of[h] = d;
	}
	if (piece == -2)
		nd->parked = 2;  /* asking again after a poll timeout: serve() notes whether work was waiting */
	if (piece >= 0) {
		int32_t uh = S.nd[u].handle;
		TIMED(sched_report_timed(S.s, nd->handle, (uint32_t)piece, uh, (enum sched_result)result, now_ms(),
					 result == SCHED_OK ? body_us : -1));
		S.reports++;
		/* the uploader's process is gone (its connections were reset): the supernode connects to it,
		 * is refused and drops the registration, as df's does */
		if (result == SCHED_FAILED && S.nd[u].gone && uh >= 0)
			ev_push(S.now + S.P.latency, EV_PROBE, u, uh, 0, 0);
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
		if (nd->kind == K_NORMAL && !--S.remaining_fast)
			S.super_bytes_fast = S.super_bytes;
	}
}

/* The end game's loser: another copy of a piece the downloader just got. Cancelled without a report
 * (the winner's report ends every transfer of it to that downloader at the scheduler). */
static void cancel_copies(int32_t d, uint32_t p)
{
	for (int32_t xi = S.nd[d].dhead, next; xi >= 0; xi = next) {
		next = S.x[xi].dnext;
		if (S.x[xi].piece != p)
			continue;
		x_deactivate(xi);
		S.wasted_bytes += S.x[xi].size - S.x[xi].left;
		S.cancelled++;
		x_free(xi);
	}
}

static void on_xfer_done(int32_t xi)
{
	x_deactivate(xi);
	struct xfer *x = &S.x[xi];
	int32_t d = x->d, u = x->u;
	uint32_t p = x->piece;
	int outcome = x->outcome;
	double body = S.now - x->t_act;
	x_free(xi);
	if (outcome == SCHED_OK) {
		finish_piece(d, p);
		cancel_copies(d, p);
	} else if (outcome == SCHED_BAD) {
		S.nd[d].nbad++;
	} else {
		S.nd[d].nfail++;
	}
	ev_push_v(S.now + S.P.latency / 2, EV_REQ, d, (int32_t)p, u, outcome, DF_MAX(body, 1e-6));
}

static void on_start(int32_t xi)
{
	struct xfer *x = &S.x[xi];
	if (S.nd[x->d].vanished || S.nd[x->d].gone) {
		x_free(xi);
		return;
	}
	if (has(x->d, x->piece)) {  /* an end-game copy whose piece arrived before it started */
		S.cancelled++;
		x_free(xi);
		return;
	}
	const struct node *u = &S.nd[x->u];
	if (u->gone) {  /* its piece server is gone: the connection is refused at once */
		int32_t d = x->d, uu = x->u;
		uint32_t p = x->piece;
		x_free(xi);
		ev_push(S.now + S.P.latency / 2, EV_REQ, d, (int32_t)p, uu, SCHED_FAILED);
		return;
	}
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

/* A churning client leaves (its process ends): the connections of its uploads are reset, so each
 * downloader reports a failure at once; its own downloads end with it. The supernode keeps its
 * registration (and the transfers it counts to it) until a refused connection or its return drops it. */
static void on_leave(int32_t v)
{
	struct node *nd = &S.nd[v];
	nd->gone = 1;
	nd->parked = 0;
	nd->poll_gen++;
	S.left_nodes++;
	while (nd->uhead >= 0) {
		int32_t xi = nd->uhead, d = S.x[xi].d;
		uint32_t p = S.x[xi].piece;
		x_deactivate(xi);
		S.wasted_bytes += S.x[xi].size - S.x[xi].left;
		x_free(xi);
		S.nd[d].nfail++;
		ev_push(S.now + S.P.latency / 2, EV_REQ, d, (int32_t)p, v, SCHED_FAILED);
	}
	while (nd->dhead >= 0) {
		int32_t xi = nd->dhead;
		x_deactivate(xi);
		S.wasted_bytes += S.x[xi].size - S.x[xi].left;
		x_free(xi);
	}
	ev_push(nd->back, EV_BACK, v, 0, 0, 0);
}

/* ...and comes back: a rerun replaces the dead registration at once and declares what it kept. */
static void on_back(int32_t v)
{
	struct node *nd = &S.nd[v];
	nd->gone = 0;
	if (nd->handle >= 0) {
		TIMED(sched_peer_remove(S.s, nd->handle));
		S.node_of[nd->handle] = -1;
		nd->handle = -1;
		drain_wakeables();
	}
	ev_push(S.now + S.P.latency / 2, EV_REQ, v, -1, 0, 0);  /* a seeder registers again too */
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
		if (S.nd[i].handle >= 0 && !S.nd[i].vanished && !S.nd[i].gone)
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
		on_request(e->a, e->b, e->c, e->e, e->v > 0 ? (int64_t)(e->v * 1e6) : -1);
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
	case EV_LEAVE:
		on_leave(e->a);
		break;
	case EV_BACK:
		on_back(e->a);
		break;
	case EV_PROBE: {  /* the supernode's connect to a piece server a downloader said was gone */
		struct node *nd = &S.nd[e->a];
		if (nd->gone && nd->handle == e->b) {
			TIMED(sched_peer_remove(S.s, nd->handle));
			S.node_of[nd->handle] = -1;
			nd->handle = -1;
			drain_wakeables();
		}
		break;
	}
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
		"  --churn K         K clients leave once at a random moment of their download (their process\n"
		"                    ends: uploads reset) and come back after about --churn-down ms, resuming\n"
		"  --churn-down MS   mean time away (default 2000; each 0.5-1.5x of it)\n"
		"  --poll-ms MS      long-poll timeout of a parked request (default 2000)\n"
		"  --stall-ms MS     a downloader's give-up time on a silent uploader (default 1000)\n"
		"  --max-down K --up-slots K --super-slots K --silence-ms MS --max-failures K --endgame 0|1\n"
		"                    scheduler settings (defaults: sched_config_default)\n"
		"  --fair            an uploader's link is shared max-min fairly (what a transfer capped by its\n"
		"                    downloader leaves goes to its others, as TCP does) instead of equally\n"
		"  --in-order        every client streams the file from its start (df proxy's registry blobs:\n"
		"                    sched_peer_in_order)\n"
		"  --seed X          random seed (default 1)\n"
		"  --row / --header  print one markdown table row / the table header (for b_sim.sh)\n"
		"  --xrow / --xheader  the same for the table of uneven swarms: slow clients' and the others'\n"
		"                    ratios apart, supernode busy, end-game copies (b_sim.sh)\n"
		"  -v                link use every 250 ms and the five slowest clients, on stderr\n");
}

static void parse(int argc, char **argv)
{
	struct params *P = &S.P;
	*P = (struct params){.n = 100, .size = 64 << 20, .piece = 256 << 10, .up = mbit("100"), .down = mbit("100"),
			     .src = mbit("200"), .super_up = -1, .latency = 0.001, .slow_factor = 10, .poll = 2.0,
			     .stall = 1.0, .streams = 4, .seed = 1, .churn_down = 2.0};
	sched_config_default(&P->cfg);
	enum { O_PIECE = 256, O_UP, O_DOWN, O_SRC, O_SUPER, O_STREAMS, O_LAT, O_SPREAD, O_SLOW, O_SLOWF, O_FAIL,
	       O_POLL, O_STALL, O_MAXDOWN, O_UPSLOTS, O_SUPERSLOTS, O_SILENCE, O_MAXFAIL, O_SEED, O_ROW, O_HEADER,
	       O_CHURN, O_CHURNDOWN, O_XROW, O_XHEADER, O_ENDGAME, O_FAIR, O_INORDER };
	static const struct option lo[] = {
		{"piece", 1, 0, O_PIECE}, {"up", 1, 0, O_UP}, {"down", 1, 0, O_DOWN}, {"src", 1, 0, O_SRC},
		{"super-up", 1, 0, O_SUPER}, {"streams", 1, 0, O_STREAMS}, {"latency", 1, 0, O_LAT},
		{"join-spread", 1, 0, O_SPREAD}, {"slow", 1, 0, O_SLOW}, {"slow-factor", 1, 0, O_SLOWF},
		{"fail", 1, 0, O_FAIL}, {"poll-ms", 1, 0, O_POLL}, {"stall-ms", 1, 0, O_STALL},
		{"max-down", 1, 0, O_MAXDOWN}, {"up-slots", 1, 0, O_UPSLOTS}, {"super-slots", 1, 0, O_SUPERSLOTS},
		{"silence-ms", 1, 0, O_SILENCE}, {"max-failures", 1, 0, O_MAXFAIL}, {"seed", 1, 0, O_SEED},
		{"row", 0, 0, O_ROW}, {"header", 0, 0, O_HEADER}, {"churn", 1, 0, O_CHURN},
		{"churn-down", 1, 0, O_CHURNDOWN}, {"xrow", 0, 0, O_XROW}, {"xheader", 0, 0, O_XHEADER},
		{"endgame", 1, 0, O_ENDGAME}, {"fair", 0, 0, O_FAIR}, {"in-order", 0, 0, O_INORDER},
		{"help", 0, 0, 'h'}, {0, 0, 0, 0}};
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
		case O_ENDGAME: P->cfg.endgame = atoi(optarg); break;
		case O_FAIR: P->fair = 1; break;
		case O_INORDER: P->in_order = 1; break;
		case O_UPSLOTS: P->cfg.up_slots = atoi(optarg); break;
		case O_SUPERSLOTS: P->cfg.super_slots = atoi(optarg); break;
		case O_SILENCE: P->cfg.silence_ms = atoll(optarg); break;
		case O_MAXFAIL: P->cfg.max_failures = atoi(optarg); break;
		case O_SEED: P->seed = strtoull(optarg, NULL, 0); break;
		case O_ROW: P->row = 1; break;
		case O_HEADER: P->header = 1; break;
		case O_CHURN: P->churn = atoi(optarg); break;
		case O_CHURNDOWN: P->churn_down = atof(optarg) / 1000; break;
		case O_XROW: P->xrow = 1; break;
		case O_XHEADER: P->xheader = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (P->super_up < 0)
		P->super_up = P->src;
	if (P->n < 1 || P->size < 1 || P->piece < 1 || P->up <= 0 || P->down <= 0 || P->src <= 0 || P->super_up <= 0 ||
	    P->streams < 1 || P->slow + P->fail + P->churn > P->n || P->latency < 0 || P->slow_factor < 1 ||
	    P->churn < 0 || P->churn_down < 0) {
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
	S.copies = xalloc((size_t)S.nodes * S.npieces);
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
	for (int i = P->fail + P->slow; i < P->fail + P->slow + P->churn; i++)
		S.nd[perm[i]].churn = 1;
	free(perm);
	/* how long a download takes at best (the bound without joins): churners leave within it */
	double usum = P->super_up;
	for (int i = 1; i < S.nodes; i++)
		usum += S.nd[i].up;
	double span = DF_MAX(P->size / P->down, P->n * P->size / usum);
	for (int i = 1; i < S.nodes; i++) {
		double t = P->spread > 0 ? rnd01() * P->spread : 0;
		ev_push(t, EV_JOIN, i, 0, 0, 0);
		if (S.nd[i].churn) {
			S.nd[i].leave = t + rnd01() * span * 0.9;
			S.nd[i].back = S.nd[i].leave + P->churn_down * (0.5 + rnd01());
			ev_push(S.nd[i].leave, EV_LEAVE, i, 0, 0, 0);
		}
		if (S.nd[i].kind == K_VANISH)
			ev_push(t + rnd01() * (P->size / P->down) / 2, EV_VANISH, i, 0, 0, 0);
		if (S.nd[i].kind == K_NORMAL || S.nd[i].kind == K_SLOW)
			S.remaining++;
		S.remaining_fast += S.nd[i].kind == K_NORMAL;
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

static void print_xheader(void)
{
	printf("| N | makespan s | bound s | ratio | others' ratio | slow ratio | median s | p99 s | supernode xS |"
	       " supernode busy %% | end-game copies | wasted xS | ns/assign |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
}

static void print_header(void)
{
	printf("| N | pieces | makespan s | bound s | ratio | median s | p99 s | source xS | supernode xS |"
	       " ns/assign | sched core %% | sim wall s |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
}

static int cmp_step(const void *a, const void *b)
{
	const double *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* When joins are spread (or clients are away), the uplinks are not all there from the start: the
 * earliest time by which the uplinks present could have sent `need` bytes. */
static double upload_bound(double need)
{
	double(*st)[2] = xalloc((size_t)S.nodes * 3 * sizeof *st);
	int n = 0;
	for (int i = 1; i < S.nodes; i++) {
		const struct node *nd = &S.nd[i];
		if (nd->kind != K_NORMAL && nd->kind != K_SLOW)
			continue;
		st[n][0] = nd->join, st[n++][1] = nd->up;
		if (nd->churn) {
			st[n][0] = nd->leave, st[n++][1] = -nd->up;
			st[n][0] = nd->back, st[n++][1] = nd->up;
		}
	}
	qsort(st, (size_t)n, sizeof *st, cmp_step);
	double t = 0, rate = S.P.super_up, sent = 0;
	for (int k = 0; k < n; k++) {
		if (sent + rate * (st[k][0] - t) >= need)
			break;
		sent += rate * (st[k][0] - t);
		t = st[k][0];
		rate += st[k][1];
	}
	free(st);
	return t + (need - sent) / rate;
}

static void report(double wall)
{
	const struct params *P = &S.P;
	int good = 0;
	double *times = xalloc((size_t)P->n * sizeof(double));
	double makespan = 0, bound_join = 0, dmin = INFINITY, usum = P->super_up;
	/* the clients that are not slow, apart: the bound of their own set (all upload capacity for them) */
	double mk_fast = 0, bj_fast = 0, dmin_fast = INFINITY, mk_slow = 0;
	int nfast = 0;
	for (int i = 1; i < S.nodes; i++) {
		const struct node *nd = &S.nd[i];
		if (nd->kind != K_NORMAL && nd->kind != K_SLOW)
			continue;
		usum += nd->up;
		dmin = DF_MIN(dmin, nd->down);
		/* a client away mid-download cannot be done before its time away has passed too */
		double away = nd->churn && !(nd->done && nd->finish <= nd->leave) ? nd->back - nd->leave : 0;
		double own = nd->join + away + P->size / nd->down;
		bound_join = DF_MAX(bound_join, own);
		if (nd->kind == K_NORMAL) {
			nfast++;
			dmin_fast = DF_MIN(dmin_fast, nd->down);
			bj_fast = DF_MAX(bj_fast, own);
		}
		if (nd->done) {
			times[good++] = nd->finish - nd->join;
			makespan = DF_MAX(makespan, nd->finish);
			if (nd->kind == K_NORMAL)
				mk_fast = DF_MAX(mk_fast, nd->finish);
			else
				mk_slow = DF_MAX(mk_slow, nd->finish);
		}
	}
	int ngood = P->n - P->fail;
	double bound = DF_MAX(DF_MAX(P->size / P->src, P->size / dmin), upload_bound(ngood * P->size));
	bound = DF_MAX(bound, bound_join);
	double bound_fast = DF_MAX(DF_MAX(P->size / P->src, P->size / dmin_fast), upload_bound(nfast * P->size));
	bound_fast = DF_MAX(bound_fast, bj_fast);
	(void)usum;
	double busy = mk_fast > 0 ? 100 * S.super_bytes_fast / (P->super_up * mk_fast) : 0;
	qsort(times, (size_t)good, sizeof *times, cmp_double);
	double med = good ? times[good / 2] : NAN, p99 = good ? times[DF_MIN(good - 1, (int)ceil(good * 0.99) - 1)] : NAN;
	double sched_ns = (double)S.sched_ns - S.timer_overhead_ns * (double)S.timed_calls;
	if (sched_ns < 0)
		sched_ns = 0;
	double ns_per = S.assigned ? sched_ns / (double)S.assigned : 0;
	double core = makespan > 0 ? sched_ns / 1e9 / makespan * 100 : 0;
	if (P->xrow) {
		char slow[32] = "-";
		if (P->slow)
			snprintf(slow, sizeof slow, "%.2f", mk_slow / bound);
		printf("| %d | %.2f | %.2f | %.2f | %.2f | %s | %.2f | %.2f | %.2f | %.0f | %llu | %.2f | %.0f |%s\n", P->n, makespan,
		       bound, makespan / bound, nfast ? mk_fast / bound_fast : NAN, slow, med, p99, S.super_bytes / P->size,
		       busy, (unsigned long long)S.endgame, S.wasted_bytes / P->size, ns_per, good < ngood ? " INCOMPLETE" : "");
	} else if (P->row) {
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
		if (P->slow && nfast)
			printf("not slow: %d done by %.3f s, their bound %.3f s, ratio %.3f; slow: done by %.3f s, ratio %.3f\n",
			       nfast, mk_fast, bound_fast, mk_fast / bound_fast, mk_slow, mk_slow / bound);
		printf("supernode busy %.0f%% until the last client that is not slow was done; end game: %llu copies, %llu "
		       "cancelled, %.2f S of bytes wasted (cancelled or cut by departures: %llu)\n",
		       busy, (unsigned long long)S.endgame, (unsigned long long)S.cancelled, S.wasted_bytes / P->size,
		       (unsigned long long)S.left_nodes);
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
	if (S.P.header || S.P.xheader) {
		S.P.header ? print_header() : print_xheader();
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
	free(S.nd), free(S.have), free(S.infl), free(S.copies), free(S.node_of), free(S.x), free(S.xheap), free(S.ev);
	return bad ? 1 : 0;
}
