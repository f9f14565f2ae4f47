/* The supernode: per task a store task, a source fetch while pieces are missing, and a scheduler
 * that tells each peer which piece to fetch from whom. Endpoints in docs/PROTOCOL.md.
 *
 * How it works: a register either finds the task (in memory, or complete in the store from an
 * earlier run) or creates it and starts the source; registrations wait until the source has said
 * how long the file is. A work request applies the peer's reports, then asks the scheduler; when
 * there is nothing to hand out the request is held (long-poll, up to 10 s) and answered when
 * sched_wakeable names the peer after a piece arrives or an upload slot frees. Every answer carries
 * the task's current length and digests, so peers learn them without extra calls. */
#include "swarm/supernode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "bearssl_hmac.h"
#include "core/bitmap.h"
#include "core/hostrate.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/monotime.h"
#include "core/progress.h"
#include "core/proto.h"
#include "core/sched.h"
#include "swarm/access.h"
#include "swarm/auth.h"
#include "swarm/common.h"
#include "swarm/hasher.h"
#include "swarm/parent.h"
#include "swarm/pieceserve.h"
#include "swarm/piecesum.h"
#include "swarm/source.h"

#define HOLD_SECONDS 10.0
#define MAX_BODY (1 << 20)
#define MAX_ASSIGN 16
#define LOST_ANSWER_MS 5000 /* an assignment older than this that an idle peer never started was lost */
#define MAX_BLACK_ADDRS 32  /* blacklisted piece-server addresses remembered per task (oldest forgotten) */

enum task_state { T_PROBING, T_FETCHING, T_COMPLETE, T_FAILED, T_REVALIDATING };
static const char *const state_names[] = {"probing", "fetching", "complete", "failed", "revalidating"};

struct sn_task;

struct sn_peer {
	int live;
	char addr[LOOP_ADDRSTR_MAX + 16]; /* piece server "ip:port", or "super" */
	char host[33];                    /* the store it downloads into (its `host` line), "" if not said */
	struct sn_task *task;
	int handle;
	char secret[PROTO_SECRET_HEX + 1]; /* every request of this registration carries it */
	struct http_req *held;             /* parked work request */
	ev_timer hold;
	struct loop_probe probe; /* is its piece server still there? (a downloader saw it refuse) */
	int child;               /* a child site's supernode (its registration had `via`): downloads only */
};

/* A registration parked until the task's length is known or a revalidation answered (task->waits),
 * or until the source answered the registrant's access check (task->gates). It is hooked to its
 * request's end (wait_gone, gate_gone): a request that ends unanswered leaves the list with it. */
struct sn_wait {
	struct http_req *req;
	struct sn_task *task;
	char addr[LOOP_ADDRSTR_MAX + 16];
	char host[33];
	uint8_t *have; /* bitmap from the peer (store order), or NULL */
	size_t have_len;
	char *url, *headers; /* the registrant's own URL and source header lines (memory only): for
	                              * its access check and a revalidation on its behalf */
	int64_t replace;     /* the handle it registered under before, or -1 */
	char replace_secret[PROTO_SECRET_HEX + 1]; /* that handle's secret, as the registrant gave it */
	struct access_wait *check;                 /* gates: the check in flight */
	char via[PROTO_VIA_CAP];                   /* a child site's supernode: the sites it came through ("" a peer) */
	int in_order;                              /* "order: sequential" */
	struct sn_wait *next;
};

struct sn_task {
	struct supernode *sn;
	char id[TASKID_MAX];
	char *url, *headers;  /* the real URL and the source request lines: memory only */
	char *shown;          /* the URL as status, logs and the store show it (redacted) */
	int cluster_source;   /* the source is a df process of the cluster (df push's file server) */
	char want_digest[80]; /* the digest registrations named, checked at completion */
	enum task_state state;
	char error[384];
	int local_failure; /* failed for the supernode's own reason (its disk), not the
	                              * source's: peers are sent to the source instead of failing */
	int store_errno;   /* errno of a store call that failed while creating the task */
	double failed_at, revalidated_at, created_at;
	double last_used; /* ev_now of the last request that named the task (find_task) */
	struct store_task *st;
	struct source *src;
	struct http_fetch *reval;
	struct sn_wait *reval_for; /* the registration the revalidation in flight asks for, or NULL */
	struct sched *sched;
	int super;              /* the supernode's handle in sched */
	struct sn_peer **peers; /* indexed by handle; each allocated once and never moved (requests
	                              * and timers point into it) */
	int npeers_cap;
	struct sn_wait *waits;
	struct sn_wait *gates;             /* registrations waiting for their access check */
	struct access *acc;                /* who may have it (swarm/access.h) */
	char *filter;                      /* the registrations' --filter: parameters the id ignores */
	char piece_key[PIECE_KEY_HEX + 1]; /* handed to admitted registrants; piece servers require it */
	uint64_t bytes_source, bytes_super, bytes_p2p, registrations;
	uint64_t bytes_source_before; /* what earlier fetches of the task brought (a revalidation, a refetch) */
	ev_timer expire;
	ev_timer kick; /* after an eviction: wake peers, fetch again if a download needs it */
	/* whole-file SHA-256 (+ MD5 for md5 tasks), computed by a worker thread over the contiguous
	 * prefix as pieces land: in the loop it cost 3.4 CPU s per GB and capped a cold fetch */
	struct hasher *hasher;
	uint32_t hashed; /* pieces [0, hashed) handed to the hasher */
	uint64_t hashed_bytes;
	int hash_md5;         /* the hasher computes MD5 too */
	int hash_broken;      /* it could not start: one pass in the loop at completion */
	int awaiting_digest;  /* the source is done; completion waits for the hasher */
	struct piecesum sums; /* the per-piece checksums assignments carry */
	/* piece servers blacklisted in this task, so a new registration from one (a new handle for the
	 * same address) starts blacklisted; allocated at the first, a ring of MAX_BLACK_ADDRS */
	struct sn_black *black;
	int nblack, black_next;
	/* through the parent site (swarm/parent.h): the fetch, the sites below this one the task came
	 * through (from the registration that made it), and why the source had to do it instead */
	struct parent_fetch *pf;
	char via[PROTO_VIA_CAP];
	uint64_t bytes_parent;
	char fallback[512];
};

struct sn_black {
	char addr[LOOP_ADDRSTR_MAX + 16];
	char why[128];
};

struct supernode {
	struct supernode_cfg cfg;
	struct pieceserve ps;
	struct sn_task **tasks;
	int ntasks, cap;
	double started;
	uint64_t registrations, work_requests;
	uint8_t key_secret[32]; /* piece keys are HMAC(key_secret, task id): random, kept in the store */
	/* what the tasks forgotten for idleness had counted, so the totals in status do not go down */
	uint64_t forgotten, gone_source, gone_super, gone_p2p, gone_parent;
	int said_held;         /* the share of the descriptor limit for tasks in memory was reached (logged once) */
	struct parent *parent; /* the parent site, or NULL */
	char site[PROTO_SITE_HEX + 1]; /* this supernode's site id in `via` lines (random per process) */
};

static void wake_task(struct sn_task *t);
static void answer_work(struct sn_peer *p, int force);
static struct http_req *wait_take(struct sn_wait *w);
static void wait_free(struct sn_wait *w);
static void release_held(struct sn_peer *p, int status, const char *body);
static void hash_reset(struct sn_task *t);
static void on_hashed(void *ctx);
static int task_detached(const struct sn_task *t);

/* ---- tasks ---- */

static struct sn_task *lookup_task(struct supernode *sn, const char *id)
{
	for (int i = 0; i < sn->ntasks; i++)
		if (strcmp(sn->tasks[i]->id, id) == 0)
			return sn->tasks[i];
	return NULL;
}

/* The task a request names; a request is a use (task_idle counts from the last). */
static struct sn_task *find_task(struct supernode *sn, const char *id)
{
	struct sn_task *t = lookup_task(sn, id);
	if (t)
		t->last_used = monotime_now();
	return t;
}

static const char *version_of(struct sn_task *t, char *buf, size_t cap)
{
	const struct store_task_info *i = store_task_info(t->st);
	if (i->etag && i->etag[0])
		snprintf(buf, cap, "etag %s", i->etag);
	else if (i->last_modified && i->last_modified[0])
		snprintf(buf, cap, "lm %s", i->last_modified);
	else
		snprintf(buf, cap, "len %lld", (long long)i->length);
	return buf;
}

static void put_task_lines(struct proto_buf *b, struct sn_task *t)
{
	char v[400];
	if (!t->st)
		return;
	const struct store_task_info *i = store_task_info(t->st);
	proto_put(b, "length", "%lld", (long long)store_task_length(t->st));
	proto_put(b, "piece-size", "%u", store_task_piece_size(t->st));
	proto_put(b, "pieces", "%u", store_task_piece_count(t->st));
	proto_put(b, "version", "%s", version_of(t, v, sizeof v));
	proto_put(b, "state", "%s", state_names[t->state]);
	if (i->digest && i->digest[0])
		proto_put(b, "digest", "%s", i->digest);
	if (i->md5 && i->md5[0])
		proto_put(b, "md5", "%s", i->md5);
}

/* Appends up to `max` assignments for peer p; returns what the scheduler said. */
static enum sched_why put_assignments(struct proto_buf *b, struct sn_peer *p, int max)
{
	struct sn_task *t = p->task;
	struct sched_assignment a[MAX_ASSIGN];
	enum sched_why why = SCHED_WAIT_PIECES;
	if (max > MAX_ASSIGN)
		max = MAX_ASSIGN;
	int n = sched_assign(t->sched, p->handle, swarm_now_ms(t->sn->cfg.loop), a, max, &why);
	for (int i = 0; i < n; i++) {
		struct digest_piece_sum sum;
		char text[DIGEST_PIECE_TEXT_MAX], err[256];
		struct sn_peer *up = t->peers[a[i].uploader];
		if (piecesum_get(&t->sums, t->st, a[i].piece, &sum, err, sizeof err) != DF_OK) {
			/* a peer-held piece the supernode lacks (it restarted without it), or one it cannot read
			 * back: it cannot vouch for it */
			if (errno != ENOENT)
				log_warn("task %.12s: %s", t->id, err);
			sched_report(t->sched, p->handle, a[i].piece, a[i].uploader, SCHED_FAILED,
				     swarm_now_ms(t->sn->cfg.loop));
			continue;
		}
		digest_piece_format(&sum, text);
		proto_put(b, "assign", "%u %u %s %d %s", a[i].piece, store_task_piece_len(t->st, a[i].piece), text,
			  a[i].uploader, up->addr);
	}
	/* an evicted task whose live peers lack a piece: see whether the supernode must fetch it again */
	if (n == 0 && why == SCHED_WAIT_PIECES && task_detached(t) && !ev_is_active(&t->kick))
		ev_timer_start(t->sn->cfg.loop, &t->kick);
	return n > 0 ? SCHED_ASSIGNED : why;
}

static void task_free(struct sn_task *t)
{
	struct ev_loop *loop = t->sn->cfg.loop;
	for (int i = 0; i < t->npeers_cap; i++) {
		loop_probe_stop(&t->peers[i]->probe);
		release_held(t->peers[i], 503, "supernode stopping\n");
	}
	while (t->waits) {
		struct sn_wait *w = t->waits;
		http_reply(wait_take(w), 503, NULL, DF_LIT("supernode stopping\n"));
		wait_free(w);
	}
	while (t->gates) {
		struct sn_wait *w = t->gates;
		t->gates = w->next;
		http_req_on_done(w->req, NULL, NULL);
		http_reply(w->req, 503, NULL, DF_LIT("supernode stopping\n"));
		wait_free(w);
	}
	access_free(t->acc);
	pieceserve_set_key(&t->sn->ps, t->id, NULL);
	ev_timer_stop(loop, &t->expire);
	ev_timer_stop(loop, &t->kick);
	hasher_free(t->hasher);
	parent_fetch_free(t->pf);
	source_free(t->src);
	if (t->reval)
		http_fetch_cancel(t->reval);
	sched_free(t->sched);
	if (t->st)
		store_task_close(t->st);
	for (int i = 0; i < t->npeers_cap; i++)
		free(t->peers[i]);
	free(t->peers);
	piecesum_free(&t->sums);
	free(t->black);
	free(t->url);
	free(t->shown);
	free(t->headers);
	free(t->filter);
	free(t);
}

static int grow_peers(struct sn_task *t, int handle)
{
	if (handle < t->npeers_cap)
		return DF_OK;
	int cap = t->npeers_cap ? t->npeers_cap : 4; /* most tasks: a few hosts */
	while (cap <= handle)
		cap *= 2;
	struct sn_peer **p = realloc(t->peers, (size_t)cap * sizeof *p);
	if (!p)
		return DF_ERR;
	t->peers = p;
	for (int i = t->npeers_cap; i < cap; i++)
		if (!(p[i] = calloc(1, sizeof **p))) {
			t->npeers_cap = i;
			return DF_ERR;
		}
	t->npeers_cap = cap;
	return DF_OK;
}

static void hold_timeout(struct ev_loop *loop, ev_timer *w, int revents);

static struct sn_peer *peer_add(struct sn_task *t, int is_super, const uint8_t *have_lsb, const char *addr)
{
	int h = sched_peer_add(t->sched, is_super, have_lsb, swarm_now_ms(t->sn->cfg.loop));
	if (h < 0 || grow_peers(t, h) != DF_OK)
		return NULL;
	struct sn_peer *p = t->peers[h];
	char secret[PROTO_SECRET_HEX + 1];
	uint8_t rnd[PROTO_SECRET_HEX / 2];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		log_warn("task %.12s: no random bytes for a peer secret: %s", t->id, strerror(errno));
		sched_peer_remove(t->sched, h);
		return NULL;
	}
	digest_hex(rnd, sizeof rnd, secret);
	ev_timer_stop(t->sn->cfg.loop, &p->hold); /* a reused handle */
	loop_probe_stop(&p->probe);
	memset(p, 0, sizeof *p);
	memcpy(p->secret, secret, sizeof secret);
	p->live = 1;
	p->task = t;
	p->handle = h;
	snprintf(p->addr, sizeof p->addr, "%s", addr);
	ev_timer_init(&p->hold, hold_timeout, HOLD_SECONDS, 0);
	return p;
}

/* Takes p's held work request off p, the one way a hold ends: its timer stops and, unless the
 * request already ended (ended: called from its on_done), its end is no longer reported to p, which
 * may be freed before the loop would report it. Returns the request to answer, or NULL. */
static struct http_req *unhold(struct sn_peer *p, int ended)
{
	struct http_req *r = p->held;
	if (p->task)
		ev_timer_stop(p->task->sn->cfg.loop, &p->hold);
	p->held = NULL;
	if (r && !ended)
		http_req_on_done(r, NULL, NULL);
	return r;
}

/* Answers p's held work request now, if it has one, and forgets it. */
static void release_held(struct sn_peer *p, int status, const char *body)
{
	struct http_req *r = unhold(p, 0);
	if (r)
		http_reply(r, status, status == 200 ? "Content-Type: text/plain\r\n" : NULL, body, strlen(body));
}

static void peer_drop(struct sn_peer *p)
{
	if (!p->live)
		return;
	loop_probe_stop(&p->probe);
	release_held(p, 410, "peer expired; register again\n");
	p->live = 0;
	sched_peer_remove(p->task->sched, p->handle);
	if (task_detached(p->task) && !ev_is_active(&p->task->kick)) /* was it the last holder of a piece? */
		ev_timer_start(p->task->sn->cfg.loop, &p->task->kick);
}

static void task_remove(struct supernode *sn, struct sn_task *t);

/* A complete (or failed) task with nothing in flight (no source, revalidation, digest, waiting
 * registration, access check or live peer) costs memory and descriptors for nothing: its bytes are in the store, and a later
 * registration finds it there ("complete in the store") and builds the schedule again. */
static int task_unused(struct sn_task *t)
{
	/* a complete task's source has ended (maybe_park frees its struct) */
	if ((t->state != T_COMPLETE && t->state != T_FAILED) || t->reval || t->waits || t->gates || t->hasher ||
	    t->awaiting_digest)
		return 0;
	for (int i = 0; i < t->npeers_cap; i++)
		if (t->peers[i]->live && i != t->super)
			return 0;
	return 1;
}

/* Drops an unused task from memory (and the piece server's handle); the totals keep its bytes. */
static void task_forget(struct supernode *sn, struct sn_task *t)
{
	sn->gone_source += t->bytes_source;
	sn->gone_super += t->bytes_super;
	sn->gone_p2p += t->bytes_p2p;
	sn->gone_parent += t->bytes_parent;
	pieceserve_forget(&sn->ps, t->id);
	task_remove(sn, t);
}

static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents);
static int task_evict(struct sn_task *t);

/* Seconds a complete task's pieces may go unrequested here before its store files are closed. */
#define PARK_AFTER 5.0

/* A complete task the supernode only schedules (its peers seed it) keeps its description but not
 * its descriptors: they would grow with the tasks held (make soak: ~500 live tasks took all of
 * `ulimit -n 1024`), where they should follow the pieces in flight. The next piece request or
 * store call opens the files again (store_task_park). Kept open while anything here writes or
 * reads it at length (the source, a revalidation, the digest, an eviction's refetch). */
static int parkable(struct sn_task *t)
{
	return t->state == T_COMPLETE && t->st && !task_detached(t) && !store_task_parked(t->st) && !t->reval &&
	       !t->hasher && !t->awaiting_digest;
}

/* When t's files were last needed here: a piece request, else the task's creation. */
static double last_read(struct sn_task *t)
{
	double used = pieceserve_last_use(&t->sn->ps, t->id);
	return used > t->created_at ? used : t->created_at;
}

static void park(struct sn_task *t)
{
	char err[512];
	if (store_task_park(t->st, err, sizeof err) != DF_OK)
		log_debug("task %.12s: files kept open: %s", t->id, err);
}

/* The fetch of a complete task ended: its buffers (17 KiB: half of what a small task held) need
 * not stay with every task the peers seed. Called from the loop (kick_cb, expire_cb), never from the
 * source's own callbacks. */
static void drop_source(struct sn_task *t)
{
	if (t->state == T_COMPLETE && t->src) {
		t->bytes_source = t->bytes_source_before + source_bytes(t->src);
		source_free(t->src);
		t->src = NULL;
	}
}

static void maybe_park(struct sn_task *t, double now)
{
	drop_source(t);
	if (parkable(t) && now - last_read(t) >= PARK_AFTER)
		park(t);
}

/* A complete task whose live peers all hold every piece (seeders, nobody downloading), with
 * nothing in flight here and its files in the store: after task_idle without a registration or
 * work request it is forgotten like an unused one, and the seeders' heartbeats are answered
 * `idle:` (the store has it complete) so they stop naming it instead of registering again. Its
 * memory would otherwise stay as long as any host seeds it: months. A later registration finds
 * it complete in the store; its downloaders seed it from then on. Evicted tasks (their files only
 * at the peers) stay: the peers are their only copy. */
static int task_dormant(struct sn_task *t)
{
	struct sched_task_info si;
	if (t->state != T_COMPLETE || !t->st || !t->sched || task_detached(t) || !store_task_complete(t->st) ||
	    t->reval || t->waits || t->gates || t->hasher || t->awaiting_digest)
		return 0;
	sched_task_info(t->sched, &si);
	return si.done == si.peers - (t->super >= 0);
}

static void expire_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct sn_task *t = DF_CONTAINER_OF(w, struct sn_task, expire);
	int gone[64], n, dropped = 0;
	do {
		n = sched_expire(t->sched, swarm_now_ms(loop), gone, 64);
		dropped += n;
		for (int i = 0; i < n; i++) {
			struct sn_peer *p = t->peers[gone[i]];
			if (p->live) {
				log_info("task %.12s: peer %s went silent, dropped", t->id, p->addr);
				p->live = 0;
				loop_probe_stop(&p->probe);
				release_held(p, 410, "peer expired; register again\n");
			}
		}
	} while (n == 64);
	/* [supernode] task_idle: nobody named the task (register, work, heartbeat) for that long */
	double idle = monotime_now() - t->last_used;
	if (t->sn->cfg.task_idle > 0 && idle >= t->sn->cfg.task_idle && (task_unused(t) || task_dormant(t))) {
		struct sched_task_info si = {0};
		if (!task_unused(t))
			sched_task_info(t->sched, &si);
		int seeders = si.peers ? si.peers - (t->super >= 0) : 0;
		if (seeders)
			log_info(
				"task %.12s: complete, %d peer%s only seed%s it and nobody asked for %.0f s; forgotten "
				"(the store keeps its pieces; their heartbeats are answered idle)",
				t->id, seeders, seeders == 1 ? "" : "s", seeders == 1 ? "s" : "", idle);
		else
			log_info("task %.12s: %s and unused for %.0f s; forgotten (the store keeps its pieces%s)",
				 t->id, state_names[t->state], idle, task_detached(t) ? ", if any" : "");
		t->sn->forgotten++;
		task_forget(t->sn, t); /* frees t and stops this timer */
		return;
	}
	if (t->st && store_task_parked_gone(t->st)) {
		/* another process's GC (df gc) took the files while they were closed here: the peers may
		 * hold every piece (scheduled among themselves, as after our own eviction), else the task
		 * goes and the next registration fetches it again */
		log_warn("task %.12s: its files left the store while closed here (another process's GC?)", t->id);
		pieceserve_forget(&t->sn->ps, t->id);
		if (!task_evict(t)) {
			t->sn->forgotten++;
			task_forget(t->sn, t); /* frees t and stops this timer */
			return;
		}
	}
	maybe_park(t, monotime_now());
	if (dropped && task_detached(t)) /* holders gone: an evicted task may need the source again */
		kick_cb(loop, &t->kick, 0);
	else
		wake_task(t);
}

/* How many tasks may stay in memory: each holds descriptors (its store files, the piece server's
 * handle), so a quarter of RLIMIT_NOFILE; past it the least recently used unused tasks go before
 * task_idle (make soak: 2,000 files inside a minute under `ulimit -n 1024` ran out of descriptors). */
static int held_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 22))
		return 1 << 20;
	int n = (int)(rl.rlim_cur / 4);
	return n < 16 ? 16 : n;
}

/* Complete tasks with their files open stay within half the tasks-in-memory share of the
 * descriptor limit, parking the least recently read first: a burst of tasks (every seeder
 * registering again after a restart) must not take every descriptor before PARK_AFTER passes. */
static void park_to_budget(struct supernode *sn)
{
	int limit = held_limit() / 2, open = 0;
	for (int i = 0; i < sn->ntasks; i++)
		open += parkable(sn->tasks[i]);
	while (open-- > limit) {
		struct sn_task *old = NULL;
		for (int i = 0; i < sn->ntasks; i++)
			if (parkable(sn->tasks[i]) && (!old || last_read(sn->tasks[i]) < last_read(old)))
				old = sn->tasks[i];
		if (!old)
			return;
		park(old);
		if (!store_task_parked(old->st))
			return; /* it cannot be parked now: neither can the others, most likely */
	}
}

/* Room for one more task in memory: forgets unused tasks, least recently named first. */
static void make_room_for_task(struct supernode *sn)
{
	int limit = held_limit();
	park_to_budget(sn);
	while (sn->ntasks >= limit) {
		struct sn_task *old = NULL;
		for (int i = 0; i < sn->ntasks; i++)
			if (task_unused(sn->tasks[i]) && (!old || sn->tasks[i]->last_used < old->last_used))
				old = sn->tasks[i];
		if (!old)
			return; /* every task is busy: the descriptors they hold are in use */
		if (!sn->said_held) {
			sn->said_held = 1;
			log_info(
				"%d tasks in memory, a quarter of the descriptor limit (RLIMIT_NOFILE): forgetting the "
				"least recently used idle ones before task_idle from now on (a higher `ulimit -n` "
				"keeps more)",
				sn->ntasks);
		}
		sn->forgotten++;
		task_forget(sn, old);
	}
}

static struct sn_task *task_new(struct supernode *sn, const char *id, const char *url, const char *headers)
{
	make_room_for_task(sn);
	if (sn->ntasks == sn->cap) {
		int cap = sn->cap ? sn->cap * 2 : 16;
		struct sn_task **p = realloc(sn->tasks, (size_t)cap * sizeof *p);
		if (!p)
			return NULL;
		sn->tasks = p;
		sn->cap = cap;
	}
	struct sn_task *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->sn = sn;
	snprintf(t->id, sizeof t->id, "%s", id);
	t->url = strdup(url);
	t->headers = strdup(headers ? headers : "");
	t->super = -1;
	t->created_at = t->last_used = monotime_now();
	piecesum_init(&t->sums, sn->cfg.piece_digest);
	ev_timer_init(&t->expire, expire_cb, 5, 5);
	ev_timer_init(&t->kick, kick_cb, 0, 0);
	sn->tasks[sn->ntasks++] = t;
	return t;
}

/* The task's gate and piece key: the anonymous probe asks the URL without its credentials (userinfo,
 * the --filter parameters and well-known signature and token parameters dropped). */
static int task_secure(struct sn_task *t, const char *filter)
{
	struct supernode *sn = t->sn;
	char probe[8192];
	uint8_t mac[32];
	br_hmac_key_context kc;
	br_hmac_context hc;
	int n = http_url_anonymous(t->url, strlen(t->url), filter && filter[0] ? filter : NULL, probe, sizeof probe);
	/* a cluster source (df push's file server) asks for the cluster token, which every registrant
	 * already showed the supernode: nobody is checked against it again */
	struct access_cfg ac = {.loop = sn->cfg.loop,
				.client = sn->cfg.client,
				.cache_seconds = sn->cfg.credential_cache,
				.assume_public = sn->cfg.sources_public || t->cluster_source};
	if (n < 0 || !(t->filter = strdup(filter ? filter : "")) || !(t->shown = swarm_url_shown_new(t->url, filter)) ||
	    !(t->acc = access_new(&ac, probe)))
		return DF_ERR;
	br_hmac_key_init(&kc, &br_sha256_vtable, sn->key_secret, sizeof sn->key_secret);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, t->id, strlen(t->id));
	br_hmac_out(&hc, mac);
	digest_hex(mac, PIECE_KEY_HEX / 2, t->piece_key);
	return pieceserve_set_key(&sn->ps, t->id, t->piece_key);
}

static void task_remove(struct supernode *sn, struct sn_task *t)
{
	for (int i = 0; i < sn->ntasks; i++)
		if (sn->tasks[i] == t) {
			sn->tasks[i] = sn->tasks[--sn->ntasks];
			break;
		}
	task_free(t);
}

/* Starts the scheduler for a task whose store task is open, the supernode holding what it has. */
static int task_sched_start(struct sn_task *t)
{
	struct sched_config c = t->sn->cfg.sched;
	c.piece_size = store_task_piece_size(t->st);
	int64_t len = store_task_length(t->st);
	t->sched = sched_new(&c, len < 0 ? -1 : (int64_t)store_task_piece_count(t->st));
	if (!t->sched)
		return DF_ERR;
	if (len >= 0)
		sched_set_length(t->sched, (uint64_t)len);
	struct sn_peer *sp = peer_add(t, 1, NULL, "super");
	if (!sp)
		return DF_ERR;
	t->super = sp->handle;
	uint32_t n = store_task_piece_count(t->st);
	for (uint32_t i = 0; i < n; i++)
		if (store_task_has(t->st, i))
			sched_peer_has(t->sched, t->super, i);
	if (!ev_is_active(&t->expire))
		ev_timer_start(t->sn->cfg.loop, &t->expire);
	return DF_OK;
}

/* ---- replies to waiting peers ---- */

static void fail_task(struct sn_task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_task_answered(struct sn_task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void reply_error(struct http_req *req, int status, const char *msg)
{
	char body[512];
	int n = snprintf(body, sizeof body, "%s\n", msg);
	http_reply(req, status, "Content-Type: text/plain\r\n", body, (size_t)DF_MIN(n, (int)sizeof body - 1));
}

static const struct sn_black *black_find(const struct sn_task *t, const char *addr)
{
	for (int i = 0; i < t->nblack; i++)
		if (strcmp(t->black[i].addr, addr) == 0)
			return &t->black[i];
	return NULL;
}

/* After a report against uploader up: if that blacklisted it, remember its address (and say so once),
 * and blacklist the other handles that piece server holds in the task: one registered before the
 * verdict would otherwise stay usable, each new handle starting its failure count from zero. */
static void black_note(struct sn_task *t, int up)
{
	struct sched_peer_info pi;
	struct sn_peer *p = t->peers[up];
	if (up == t->super || sched_peer_info(t->sched, up, &pi) != DF_OK || !pi.blacklisted || black_find(t, p->addr))
		return;
	log_warn("task %.12s: peer %s is no longer used as an uploader: %s", t->id, p->addr, pi.why);
	char why[96];
	snprintf(why, sizeof why, "same piece server as a blacklisted handle: %.50s", pi.why);
	for (int h = 0; h < t->npeers_cap; h++) {
		struct sn_peer *o = t->peers[h];
		if (h != up && h != t->super && o->live && !o->child && strcmp(o->addr, p->addr) == 0)
			sched_blacklist(t->sched, o->handle, why);
	}
	if (!t->black && !(t->black = calloc(MAX_BLACK_ADDRS, sizeof *t->black)))
		return;
	struct sn_black *b = &t->black[t->black_next];
	t->black_next = (t->black_next + 1) % MAX_BLACK_ADDRS;
	t->nblack = DF_MIN(t->nblack + 1, MAX_BLACK_ADDRS);
	snprintf(b->addr, sizeof b->addr, "%s", p->addr);
	snprintf(b->why, sizeof b->why, "%s", pi.why);
}

/* A new registration from the store `host` (its process holds the store's lock on the task, so any
 * other registration of that store for the task is from a process that died, perhaps killed -9):
 * drop those at once, so their download slots and piece claims do not wait for peer_silence. */
static void drop_host(struct sn_task *t, const char *host, const char *addr)
{
	int dropped = 0;
	for (int h = 0; h < t->npeers_cap; h++) {
		struct sn_peer *p = t->peers[h];
		if (!p->live || h == t->super || strcmp(p->host, host) != 0)
			continue;
		log_info("task %.12s: peer %s replaced by a new registration from the same store (%s)", t->id, p->addr,
			 addr);
		peer_drop(p);
		dropped = 1;
	}
	if (dropped)
		wake_task(t); /* its slots are free for those waiting */
}

/* A registration: a new handle, or with `same` (the same host again, say a seeder after fork) that
 * handle kept, so uploads it is serving stay assigned; what it was fetching under it is forgotten
 * (the process that fetched is gone) and the pieces it declares are added. */
static void answer_register(struct sn_task *t, struct http_req *req, const char *addr, const char *host,
			    const uint8_t *have, size_t have_len, struct sn_peer *same, int child, int in_order)
{
	char mem[16384];
	struct proto_buf b;
	uint8_t *both = NULL; /* the wire's bitmap, the store's and the scheduler's share one order */
	uint32_t np = store_task_piece_count(t->st);
	if (have && np && have_len == (np + 7) / 8) {
		/* only pieces the supernode can vouch for count (those it holds; every piece of an evicted
		 * task, whose checksums it kept); the rest the peer re-checks when assigned */
		const uint8_t *mine = store_task_bitmap(t->st, &(size_t){0});
		int all = task_detached(t);
		both = malloc(have_len);
		for (size_t i = 0; both && i < have_len; i++)
			both[i] = all ? have[i] : have[i] & mine[i];
	}
	struct sn_peer *p = same;
	if (!same && host[0])
		drop_host(t, host, addr);
	if (p) {
		int64_t now = swarm_now_ms(t->sn->cfg.loop);
		sched_forget_stale(t->sched, p->handle, INT64_MAX);
		sched_touch(t->sched, p->handle, now);
		for (uint32_t i = 0; both && i < np; i++)
			if (bitmap_get(both, i) && !sched_peer_holds(t->sched, p->handle, i))
				sched_peer_has(t->sched, p->handle, i);
	} else {
		p = peer_add(t, 0, both, addr);
	}
	free(both);
	if (!p) {
		reply_error(req, 503, "supernode: out of memory");
		return;
	}
	snprintf(p->host, sizeof p->host, "%s", host);
	const struct sn_black *bl = same ? NULL : black_find(t, addr);
	if (bl) {
		/* a new handle does not wash a blacklisted piece server clean */
		char why[96];
		snprintf(why, sizeof why, "registered again after: %.70s", bl->why);
		sched_blacklist(t->sched, p->handle, why);
	}
	if (child && !p->child) {
		/* a child site's supernode: what it gets crosses the link between sites once, and it serves
		 * its own site; never an uploader here (that would send the bytes back over that link) */
		sched_blacklist(t->sched, p->handle, "a child site's supernode: downloads only");
		p->child = 1;
	}
	sched_peer_in_order(t->sched, p->handle, in_order);
	t->registrations++;
	t->sn->registrations++;
	log_info("task %.12s: peer %s %s (handle %d%s)", t->id, addr, same ? "registered again" : "registered",
		 p->handle, in_order ? ", streams in order" : "");
	proto_buf_init(&b, mem, sizeof mem);
	proto_put(&b, "task", "%s", t->id);
	proto_put(&b, "peer", "%d", p->handle);
	proto_put(&b, "secret", "%s", p->secret);
	proto_put(&b, "piece-key", "%s", t->piece_key); /* admitted: it may fetch pieces (and serve them) */
	put_task_lines(&b, t);
	enum sched_why why = put_assignments(&b, p, 8);
	if (why == SCHED_DONE)
		proto_put(&b, "done", NULL);
	swarm_reply_lines(req, &b);
}

/* ---- registrations waiting (see struct sn_wait) ---- */

static void wait_free(struct sn_wait *w)
{
	access_wait_cancel(w->check);
	free(w->have);
	free(w->url);
	free(w->headers);
	free(w);
}

static void wait_unlink(struct sn_wait *w)
{
	struct sn_task *t = w->task;
	for (struct sn_wait **pp = &t->waits; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	if (t->reval_for == w)
		t->reval_for = NULL;
}

/* The request ended before anyone answered it (the client gave up, the connection broke). */
static void wait_gone(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	(void)ok;
	struct sn_wait *w = ctx;
	wait_unlink(w);
	wait_free(w);
}

/* A registration to park: it owns have (may be NULL) and copies url and headers. NULL when out of
 * memory (nothing taken then). Not on a list yet: wait_link or admit. */
static struct sn_wait *wait_new(struct sn_task *t, struct http_req *req, const char *addr, const char *host,
				uint8_t *have, size_t have_len, const char *url, const char *headers)
{
	struct sn_wait *w = calloc(1, sizeof *w);
	if (!w || !(w->url = strdup(url)) || !(w->headers = strdup(headers ? headers : ""))) {
		if (w)
			free(w->url);
		free(w);
		return NULL;
	}
	w->req = req;
	w->task = t;
	w->replace = -1;
	snprintf(w->addr, sizeof w->addr, "%s", addr);
	snprintf(w->host, sizeof w->host, "%s", host);
	w->have = have;
	w->have_len = have_len;
	return w;
}

/* Parks w on its task until the length is known or a revalidation answered. */
static void wait_link(struct sn_wait *w)
{
	struct sn_task *t = w->task;
	w->next = t->waits;
	t->waits = w;
	http_req_on_done(w->req, wait_gone, w);
}

/* Takes w off its task's list and off its request's end: the caller answers the request returned,
 * then frees w with wait_free. */
static struct http_req *wait_take(struct sn_wait *w)
{
	wait_unlink(w);
	http_req_on_done(w->req, NULL, NULL);
	return w->req;
}

/* The live handle a registrant had before (`replace`), when it comes from the same address with
 * that registration's secret. */
static struct sn_peer *same_peer(struct sn_task *t, const struct sn_wait *w)
{
	int64_t h = w->replace;
	if (h >= 0 && h < t->npeers_cap && t->peers[h]->live && h != t->super &&
	    strcmp(t->peers[h]->addr, w->addr) == 0 && auth_same(slice_of(w->replace_secret), t->peers[h]->secret))
		return t->peers[h];
	return NULL;
}

static void admit(struct sn_task *t, struct sn_wait *w);
static void revalidate(struct sn_task *t, struct sn_wait *w, const char *headers);

/* An admitted registration (w, on no list, owned here): answered, or parked while the task is
 * being fetched or revalidated. Only an admitted registrant makes the supernode revalidate a
 * complete URL-keyed task with its credentials: one the source refuses never reaches the source on
 * its behalf. */
static void admitted(struct sn_task *t, struct sn_wait *w)
{
	struct supernode *sn = t->sn;
	if (t->state == T_FAILED) {
		reply_error(w->req, t->local_failure ? 503 : 502, t->error);
	} else if (t->state == T_PROBING || t->state == T_REVALIDATING) {
		wait_link(w);
		return;
	} else if (t->state == T_COMPLETE && !t->want_digest[0] &&
		   monotime_now() - t->revalidated_at > sn->cfg.revalidate_after) {
		wait_link(w);
		revalidate(t, w, w->headers); /* may answer w at once (and free it) */
		return;
	} else {
		/* the same host registering again (a seeder after fork, a restart): it keeps its handle, so
		 * downloads from it that are under way are not handed to someone else */
		answer_register(t, w->req, w->addr, w->host, w->have, w->have_len, same_peer(t, w), w->via[0] != 0,
				w->in_order);
	}
	wait_free(w);
}

static void unlink_gate(struct sn_task *t, struct sn_wait *w)
{
	for (struct sn_wait **pp = &t->gates; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

/* The registrant hung up while its check ran. */
static void gate_gone(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	(void)ok;
	struct sn_wait *w = ctx;
	unlink_gate(w->task, w);
	wait_free(w);
}

static void gate_decided(void *ctx, int ok, const char *why)
{
	struct sn_wait *w = ctx;
	struct sn_task *t = w->task;
	w->check = NULL; /* ended: the access freed it */
	unlink_gate(t, w);
	http_req_on_done(w->req, NULL, NULL);
	if (!ok) {
		log_info("task %.12s: peer %s not admitted: %s", t->id, w->addr, why);
		reply_error(w->req, 403, why);
		wait_free(w);
		return;
	}
	admitted(t, w);
}

/* A registration (w, on no list) of a task whose length is known: admitted now (public source, or
 * the registrant's credentials accepted lately), refused, or parked in t->gates until the source
 * answers its check. A content-addressed task's registrant names its own URL; only one that can
 * speak for the file is checked (access_url_vouches). */
static void admit(struct sn_task *t, struct sn_wait *w)
{
	char why[384];
	int may = !t->want_digest[0] || access_url_vouches(t->url, w->url, t->filter, t->id);
	int r = access_admit(t->acc, w->url, w->headers, t->st ? store_task_length(t->st) : -1,
			     t->st ? store_task_info(t->st)->etag : "", may, gate_decided, w, &w->check, why,
			     sizeof why);
	if (r == DF_OK) {
		admitted(t, w);
	} else if (r == DF_ERR) {
		log_info("task %.12s: peer %s not admitted: %s", t->id, w->addr, why);
		reply_error(w->req, 403, why);
		wait_free(w);
	} else {
		w->next = t->gates;
		t->gates = w;
		http_req_on_done(w->req, gate_gone, w);
	}
}

/* The registrations parked on t go on: answered with the task's failure, or admitted. The list is
 * taken first: an admitted one may be parked again (a revalidation it starts). */
static void answer_waits(struct sn_task *t)
{
	struct sn_wait *list = t->waits;
	t->waits = NULL;
	t->reval_for = NULL;
	while (list) {
		struct sn_wait *w = list;
		list = w->next;
		http_req_on_done(w->req, NULL, NULL);
		if (t->state == T_FAILED) {
			reply_error(w->req, t->local_failure ? 503 : 502, t->error);
			wait_free(w);
		} else {
			admit(t, w);
		}
	}
}

__attribute__((format(printf, 3, 0))) static void fail_task_at(struct sn_task *t, enum log_level lvl, const char *fmt,
							       va_list ap)
{
	vsnprintf(t->error, sizeof t->error, fmt, ap);
	log_msg(lvl, "task %.12s (%s): %s", t->id, t->shown, t->error);
	hash_reset(t);
	t->state = T_FAILED;
	t->failed_at = monotime_now();
	answer_waits(t);
	for (int i = 0; i < t->npeers_cap; i++)
		if (t->peers[i]->live && t->peers[i]->held)
			answer_work(t->peers[i], 1);
}

static void fail_task(struct sn_task *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_task_at(t, LOG_ERROR, fmt, ap);
	va_end(ap);
}

/* The source answered the task's request with a 4xx (an unknown blob's 404, a refusal): a normal
 * answer the registrants get, not the supernode's trouble. */
static void fail_task_answered(struct sn_task *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fail_task_at(t, LOG_INFO, fmt, ap);
	va_end(ap);
}

/* ---- the source ---- */

static int disk_full(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* The task failed because this supernode could not write it (its disk is full): GC frees what it
 * can, the task's partial data goes, and its peers are told to go to the source. A later
 * registration (2 s on) tries again, so the supernode recovers by itself once space returns. */
static void store_full(struct sn_task *t, const char *msg)
{
	struct supernode *sn = t->sn;
	int64_t len = t->st ? store_task_length(t->st) : -1;
	if (sn->cfg.gc)
		storegc_emergency(sn->cfg.gc, (len > 0 ? (uint64_t)len : 0) + (1u << 20));
	parent_fetch_free(t->pf); /* its handle on the task too */
	t->pf = NULL;
	if (t->st) {
		store_task_close(t->st);
		t->st = NULL;
	}
	piecesum_free(&t->sums);
	pieceserve_forget(&sn->ps, t->id);
	char err[512];
	if (store_task_remove(sn->cfg.store, t->id, err, sizeof err) != DF_OK && errno != ENOENT)
		log_warn("task %.12s: cannot remove its partial data after a full disk: %s", t->id, err);
	t->local_failure = 1;
	fail_task(t, "supernode store full (%s): fetch from the source", msg);
}

/* A new version of the task: its peers (held requests get 410: they register again), schedule,
 * store handle and data go, and a fetch through the parent site of the old one. DF_OK, or DF_ERR with
 * the store's cause in msg. */
static int drop_version(struct sn_task *t, char *msg, size_t msglen)
{
	struct supernode *sn = t->sn;
	for (int i = 0; i < t->npeers_cap; i++)
		peer_drop(t->peers[i]);
	ev_timer_stop(sn->cfg.loop, &t->expire); /* no schedule to expire until the next one starts */
	sched_free(t->sched);
	t->sched = NULL;
	t->super = -1;
	for (int i = 0; i < t->npeers_cap; i++)
		free(t->peers[i]);
	free(t->peers);
	t->peers = NULL;
	t->npeers_cap = 0;
	parent_fetch_free(t->pf);
	t->pf = NULL;
	store_task_close(t->st);
	t->st = NULL;
	pieceserve_forget(&sn->ps, t->id);
	return store_task_remove(sn->cfg.store, t->id, msg, msglen);
}

static struct store_task *on_source_meta(void *ctx, const struct source_meta *m, char *msg, size_t msglen)
{
	struct sn_task *t = ctx;
	struct supernode *sn = t->sn;
	char err[512];
	struct store_task_info info = {
		.length = m->length,
		.piece_size = m->piece_size,
		.url = t->shown,
		.etag = m->etag,
		.last_modified = m->last_modified, /* digests are recorded once verified (on_source_done) */
	};
	if (t->st) {
		const struct store_task_info *old = store_task_info(t->st);
		/* the strongest validator both have decides (a parent site names one of them) */
		int same = swarm_same_version(old, m->etag, m->last_modified) &&
			   (m->length < 0 || old->length < 0 || old->length == m->length);
		if (same) {
			answer_waits(t); /* registrations held by a revalidation that thought otherwise */
			return t->st;
		}
		log_info("task %.12s: the source changed; starting over", t->id);
		if (drop_version(t, msg, msglen) != DF_OK)
			return NULL;
	}
	hash_reset(t); /* a new version: the digests start over */
	piecesum_free(&t->sums);
	pieceserve_drop_readonly(&sn->ps, t->id);
	if (sn->cfg.gc)
		storegc_reserve(sn->cfg.gc, m->length > 0 ? (uint64_t)m->length : 0);
	t->st = store_task_open(sn->cfg.store, t->id, &info, STORE_CREATE, err, sizeof err);
	if (!t->st && errno == ESTALE && store_task_remove(sn->cfg.store, t->id, NULL, 0) == DF_OK)
		t->st = store_task_open(sn->cfg.store, t->id, &info, STORE_CREATE, err, sizeof err);
	if (!t->st && disk_full(errno) && sn->cfg.gc &&
	    storegc_emergency(sn->cfg.gc, (m->length > 0 ? (uint64_t)m->length : 0) + (1u << 20)) > 0)
		t->st = store_task_open(sn->cfg.store, t->id, &info, STORE_CREATE, err, sizeof err);
	if (!t->st) {
		t->store_errno = errno;
		snprintf(msg, msglen, "%s", err);
		return NULL;
	}
	if (!store_task_writable(t->st)) {
		snprintf(msg, msglen, "store: task %s is being written by another process", t->id);
		store_task_close(t->st);
		t->st = NULL;
		return NULL;
	}
	if (task_sched_start(t) != DF_OK) {
		snprintf(msg, msglen, "supernode: out of memory");
		return NULL;
	}
	t->state = T_FETCHING;
	log_info("task %.12s: %s is %lld bytes, %u pieces of %u%s", t->id, t->shown, (long long)m->length,
		 store_task_piece_count(t->st), m->piece_size, m->ranges ? "" : " (no ranges: one stream)");
	answer_waits(t);
	return t->st;
}

static void hash_reset(struct sn_task *t)
{
	hasher_free(t->hasher);
	t->hasher = NULL;
	t->hashed = 0;
	t->hashed_bytes = 0;
	t->hash_broken = t->awaiting_digest = 0;
}

/* Hands the pieces now contiguous from the start to the hasher (started at the first one). */
static void hash_prefix(struct sn_task *t, int final)
{
	uint32_t n = store_task_piece_count(t->st);
	while ((n == 0 || t->hashed < n) && store_task_has(t->st, t->hashed)) {
		/* unknown length: the pieces so far are whole */
		t->hashed_bytes += n == 0 ? store_task_piece_size(t->st) : store_task_piece_len(t->st, t->hashed);
		t->hashed++;
	}
	if (!t->hasher && !t->hash_broken && t->hashed > 0) {
		int fd = store_task_open_data(t->st);
		t->hash_md5 = strncmp(t->want_digest, DF_LIT("md5:")) == 0;
		if (fd < 0 || !(t->hasher = hasher_start(t->sn->cfg.loop, fd, t->hash_md5, on_hashed, t))) {
			log_warn("task %.12s: cannot start the digest thread (%s); hashing at completion", t->id,
				 strerror(errno));
			t->hash_broken = 1;
		}
	}
	if (t->hasher)
		hasher_feed(t->hasher, t->hashed_bytes, final && n && t->hashed == n);
}

/* Piece n is in the supernode's store (from the source or the parent site): its peers may have it. */
static void piece_landed(struct sn_task *t, uint32_t piece)
{
	sched_peer_has(t->sched, t->super, piece);
	wake_task(t);
	hash_prefix(t, 0);
}

static void on_source_piece(void *ctx, uint32_t piece, uint32_t len, const uint8_t *sha256)
{
	struct sn_task *t = ctx;
	t->bytes_source += len;
	if (sha256)
		piecesum_put(&t->sums, piece, sha256); /* out of memory: hashed from the store when assigned */
	piece_landed(t, piece);
}

/* A failed task's data is not the file asked for: never served again, and gone from the store (a
 * registration 2 s on starts over, not "complete in the store"). */
static void drop_data(struct sn_task *t)
{
	store_task_close(t->st);
	t->st = NULL;
	piecesum_free(&t->sums);
	pieceserve_forget(&t->sn->ps, t->id);
	parent_fetch_free(t->pf); /* its handle on the task too, before the files go */
	t->pf = NULL;
	store_task_remove(t->sn->cfg.store, t->id, NULL, 0);
}

/* The whole file is here and its digests known (from the hasher, else one pass now): check them
 * against what registrations named and mark the task complete. */
static void finish_digests(struct sn_task *t)
{
	char err[512];
	uint8_t md5[16], sha[32];
	int want_md5 = strncmp(t->want_digest, DF_LIT("md5:")) == 0;
	int r = t->hasher ? hasher_result(t->hasher, md5, sha, err, sizeof err) : DF_ERR;
	if (r == DF_ERR && t->hasher)
		log_warn("task %.12s: digest thread: %s; one pass instead", t->id, err);
	if (r != DF_OK || (want_md5 && !t->hash_md5)) {
		if (store_task_file_digests(t->st, want_md5 ? md5 : NULL, sha, err, sizeof err) != DF_OK) {
			fail_task(t, "%s", err);
			return;
		}
	}
	hash_reset(t);
	struct digest_spec d;
	char hex[2 * DIGEST_SHA256_LEN + 1];
	const char *pd = t->pf ? parent_fetch_digest(t->pf) : "";
	digest_hex(sha, DIGEST_SHA256_LEN, hex);
	if (t->want_digest[0] && digest_spec_parse(t->want_digest, strlen(t->want_digest), &d) == DF_OK &&
	    memcmp(d.bytes, d.len == 16 ? md5 : sha, d.len) != 0) {
		fail_task(t, "digest mismatch: the %s file does not match %s",
			  t->bytes_parent ? "parent site's" : "source's", t->want_digest);
	} else if (strncmp(pd, DF_LIT("sha256:")) == 0 && strcmp(pd + 7, hex) != 0) {
		/* every piece matched the parent's checksums, yet the file is not the one the parent hashed */
		fail_task(t, "digest mismatch: the parent site's file is sha256:%s, not the %s it named", hex, pd);
	} else {
		store_task_set_digests(t->st, want_md5 ? md5 : NULL, sha, err, sizeof err);
		t->state = T_COMPLETE;
		t->revalidated_at = monotime_now();
		if (t->src && !ev_is_active(&t->kick))
			ev_timer_start(t->sn->cfg.loop, &t->kick); /* drop_source, once out of its callbacks */
		if (t->bytes_parent)
			log_info("task %.12s: complete: %llu bytes from the parent site, %llu from the source", t->id,
				 (unsigned long long)t->bytes_parent, (unsigned long long)t->bytes_source);
		else
			log_info("task %.12s: complete from the source (%llu bytes fetched)", t->id,
				 (unsigned long long)(t->bytes_source - t->bytes_source_before));
		wake_task(t);
		return;
	}
	drop_data(t);
}

static void on_hashed(void *ctx)
{
	struct sn_task *t = ctx;
	if (t->awaiting_digest && hasher_result(t->hasher, NULL, NULL, NULL, 0) != DF_AGAIN)
		finish_digests(t);
}

static void task_fetched(struct sn_task *t);

static void on_source_done(void *ctx, int rc, const char *msg)
{
	struct sn_task *t = ctx;
	if (t->src) {
		t->bytes_source = t->bytes_source_before + source_bytes(t->src);
	}
	if (rc != DF_OK) {
		int e = t->store_errno ? t->store_errno : t->src ? source_errno(t->src) : 0;
		int st = t->src ? source_status(t->src) : 0;
		if (disk_full(e))
			store_full(t, msg);
		else if (st >= 400 && st <= 499)
			fail_task_answered(t, "%s", msg);
		else
			fail_task(t, "%s", msg);
		return;
	}
	task_fetched(t);
}

/* Every piece is in the store: the digests, then complete. */
static void task_fetched(struct sn_task *t)
{
	if (store_task_length(t->st) >= 0)
		sched_set_length(t->sched, (uint64_t)store_task_length(t->st));
	hash_prefix(t, 1);
	uint32_t n = store_task_piece_count(t->st);
	if (t->hasher && n && t->hashed == n) {
		/* the peers need not wait: they finish on their pieces; only the task's digest does */
		t->awaiting_digest = 1;
		on_hashed(t);
		return;
	}
	finish_digests(t);
}

static int start_source(struct sn_task *t, char *err, size_t errlen)
{
	struct supernode *sn = t->sn;
	struct source_cfg c = {
		.loop = sn->cfg.loop,
		.client = t->cluster_source ? sn->cfg.cluster_client : sn->cfg.client,
		.url = t->url,
		.shown = t->shown,
		.headers = t->headers,
		.piece_size = t->st ? store_task_piece_size(t->st) : sn->cfg.piece_size,
		.streams = sn->cfg.source_streams,
		.piece_sha256 = sn->cfg.piece_digest == DIGEST_PIECE_SHA256,
		.task = t->st,
		.on_meta = on_source_meta,
		.on_piece = on_source_piece,
		.on_done = on_source_done,
		.ctx = t,
	};
	t->state = t->st ? T_FETCHING : T_PROBING;
	t->bytes_source_before = t->bytes_source;
	hash_reset(t);
	t->src = source_start(&c, err, errlen);
	return t->src ? DF_OK : DF_ERR;
}

/* ---- through the parent site (swarm/parent.h) ---- */

static void on_parent_meta(void *ctx, int64_t length)
{
	struct sn_task *t = ctx;
	char err[512];
	if (!t->st) {
		/* the fetch created the task: the store hands us the same handle */
		t->st = store_task_open(t->sn->cfg.store, t->id, NULL, 0, err, sizeof err);
		if (!t->st || !store_task_writable(t->st) || task_sched_start(t) != DF_OK) {
			fail_task(t, "%s", t->st ? "supernode: out of memory" : err);
			return;
		}
	}
	t->state = T_FETCHING;
	log_info("task %.12s: %s is %lld bytes, %u pieces of %u, through the parent site (%s)", t->id, t->shown,
		 (long long)length, store_task_piece_count(t->st), store_task_piece_size(t->st),
		 parent_fetch_parent(t->pf));
	answer_waits(t);
}

static void on_parent_piece(void *ctx, uint32_t piece)
{
	struct sn_task *t = ctx;
	uint32_t len = store_task_piece_len(t->st, piece);
	t->bytes_parent += len ? len : store_task_piece_size(t->st); /* length unknown: a whole piece */
	piece_landed(t, piece);
}

static void on_parent_done(void *ctx, int rc, const char *why)
{
	struct sn_task *t = ctx;
	char err[512];
	if (rc == DF_OK) {
		task_fetched(t);
		return;
	}
	if (strncmp(why, "digest mismatch", 15) == 0) {
		/* the parent site hashed the source's file and it is not the one asked for: the source
		 * would send that file across the link again only to fail the same check here */
		fail_task(t, "%s (the parent site %s said)", why, parent_fetch_parent(t->pf));
		drop_data(t);
		return;
	}
	/* the source takes over what is missing; the pieces the parent site brought stay */
	snprintf(t->fallback, sizeof t->fallback, "%s", why);
	log_warn("task %.12s: not through the parent site: %s; fetching from the source", t->id, why);
	if (start_source(t, err, sizeof err) != DF_OK)
		fail_task(t, "%s", err);
}

/* Fetches what t lacks: through the parent site when there is one (a cluster source, df push's file
 * server, is dialled directly), else, or when that cannot start, from the source. */
static int start_fetch(struct sn_task *t, char *err, size_t errlen)
{
	struct supernode *sn = t->sn;
	char why[512];
	if (!sn->parent || t->cluster_source)
		return start_source(t, err, errlen);
	struct parent_fetch_cfg c = {
		.url = t->url,
		.headers = t->headers,
		.filter = t->filter,
		.below = t->via,
		.on_meta = on_parent_meta,
		.on_piece = on_parent_piece,
		.on_done = on_parent_done,
		.ctx = t,
	};
	if (t->want_digest[0])
		digest_spec_parse(t->want_digest, strlen(t->want_digest), &c.digest);
	parent_fetch_free(t->pf);
	t->fallback[0] = 0;
	hash_reset(t);
	t->pf = parent_fetch_start(sn->parent, &c, why, sizeof why);
	if (!t->pf) {
		snprintf(t->fallback, sizeof t->fallback, "%s", why);
		log_warn("task %.12s: not through the parent site: %s; fetching from the source", t->id, why);
		return start_source(t, err, errlen);
	}
	t->state = t->st ? T_FETCHING : T_PROBING;
	return DF_OK;
}

/* ---- revalidation of a complete, URL-keyed task ---- */

static void on_revalidated(void *ctx, int verdict, const char *msg);
static int task_attach(struct sn_task *t);

/* Asks the source whether complete task t is still current, with the header lines of the
 * registration it is for (w, or NULL); registrations wait meanwhile. */
static void revalidate(struct sn_task *t, struct sn_wait *w, const char *headers)
{
	const struct store_task_info *i = store_task_info(t->st);
	char err[256];
	t->state = T_REVALIDATING;
	t->reval_for = w;
	t->reval = source_revalidate(t->sn->cfg.client, t->url, headers, i->etag, i->last_modified, on_revalidated, t,
				     err, sizeof err);
	if (!t->reval) {
		log_warn("task %.12s: cannot revalidate with the source (%s); serving the cached copy", t->id, err);
		t->state = T_COMPLETE;
		t->revalidated_at = monotime_now(); /* the waits it answers would ask again */
		t->reval_for = NULL;
		answer_waits(t);
	}
}

static void on_revalidated(void *ctx, int verdict, const char *msg)
{
	struct sn_task *t = ctx;
	char err[512];
	t->reval = NULL;
	if (verdict == SOURCE_REFUSED) {
		/* an answer to this registration's request (its credentials, its conditions, a sick moment
		 * of the source), not news about the file: it gets the cause at once, the cached version
		 * stays, and whoever else waits asks again with their own request */
		struct sn_wait *w = t->reval_for;
		log_warn("task %.12s: %s", t->id, msg);
		t->reval_for = NULL;
		t->state = T_COMPLETE;
		if (w) {
			reply_error(wait_take(w), 502, msg);
			wait_free(w);
		}
		if (t->waits)
			revalidate(t, t->waits, t->waits->headers);
		return;
	}
	t->reval_for = NULL;
	if (verdict == SOURCE_CURRENT || verdict == SOURCE_UNREACHABLE) {
		if (verdict == SOURCE_UNREACHABLE)
			log_warn("task %.12s: cannot revalidate with the source (%s); serving the cached copy", t->id,
				 msg);
		t->state = T_COMPLETE;
		t->revalidated_at = monotime_now();
		answer_waits(t);
		return;
	}
	log_info("task %.12s: the source changed; fetching the new version", t->id);
	if (task_detached(t) && task_attach(t) != DF_OK)
		return;
	source_free(t->src);
	t->src = NULL;
	/* the old version goes first: a fetch given the complete task would find nothing to fetch and
	 * keep the old bytes (the source's fetch compares validators only for a partial task) */
	if (drop_version(t, err, sizeof err) != DF_OK || start_fetch(t, err, sizeof err) != DF_OK)
		fail_task(t, "%s", err);
}

/* ---- handlers ---- */

/* A registration's values as C strings (proto_parse_register checked their bounds). */
struct reg {
	struct proto_register p;
	char url[PROTO_REG_URL_MAX], filter[PROTO_REG_FILTER_MAX], addr[PROTO_REG_ADDR_MAX], port[8];
	char host[PROTO_HOST_HEX + 1];
	char headers[PROTO_REG_HEADERS_MAX];
	uint8_t *have;
	size_t have_len;
};

/* 0, or the status to answer with the cause in err. */
static int reg_decode(const char *body, size_t len, struct reg *r, char *err, size_t errlen)
{
	struct proto_err pe;
	memset(r, 0, sizeof *r);
	if (proto_parse_register(body, len, &r->p, &pe) != DF_OK) {
		proto_err_format(&pe, "register", err, errlen);
		return 400;
	}
	slice_copy(r->p.url, r->url, sizeof r->url);
	slice_copy(r->p.filter, r->filter, sizeof r->filter);
	slice_copy(r->p.addr, r->addr, sizeof r->addr);
	slice_copy(r->p.port, r->port, sizeof r->port);
	slice_copy(r->p.host, r->host, sizeof r->host);
	size_t hl = 0;
	for (unsigned i = 0; i < r->p.nheader; i++) {
		memcpy(r->headers + hl, r->p.header[i].p, r->p.header[i].n);
		hl += r->p.header[i].n;
		memcpy(r->headers + hl, "\r\n", 3);
		hl += 2;
	}
	size_t hex = 0;
	for (unsigned i = 0; i < r->p.nhave; i++)
		hex += r->p.have[i].n;
	if (hex) { /* the chunks, in order, are one bitmap */
		r->have_len = hex / 2;
		r->have = malloc(r->have_len);
		if (!r->have) {
			snprintf(err, errlen, "supernode: out of memory");
			return 503;
		}
		for (size_t i = 0, at = 0; i < r->p.nhave; at += r->p.have[i].n / 2, i++)
			digest_unhex(r->p.have[i].p, r->p.have[i].n, r->have + at, r->p.have[i].n / 2);
	}
	return 0;
}

/* "source: cluster": the source is df push's file server, a df listener like any other, so it
 * is fetched as the supernode dials peers: the cluster's client (TLS identity, cluster CA) and the
 * cluster token, in place of any header the registrant sent. Only for content-addressed tasks (the
 * bytes are checked against the digest; no revalidation) and df's file path, so the cluster's
 * credentials go nowhere but to a df push file server. */
static int cluster_source_check(struct supernode *sn, struct reg *r, char *err, size_t errlen)
{
	const char *path = strstr(r->url, "://");
	path = path ? strchr(path + 3, '/') : NULL;
	if (!sn->cfg.cluster_client) {
		snprintf(err, errlen, "register: this supernode takes no cluster sources");
		return DF_ERR;
	}
	if (!r->p.digest.len || !path || strncmp(path, DF_LIT("/v1/file/")) != 0) {
		snprintf(err, errlen, "register: a cluster source needs a digest and a /v1/file/ url");
		return DF_ERR;
	}
	char tok[1024];
	if (snprintf(r->headers, sizeof r->headers, "%s", auth_header(sn->cfg.token, tok, sizeof tok)) >=
	    (int)sizeof r->headers)
		r->headers[0] = 0;
	return DF_OK;
}

static void on_register_body(struct http_req *req, const char *body, size_t len, void *ctx)
{
	struct supernode *sn = ctx;
	struct reg *r = malloc(sizeof *r);
	char err[512], id[TASKID_MAX];
	if (!r) {
		reply_error(req, 503, "supernode: out of memory");
		return;
	}
	int status = reg_decode(body, len, r, err, sizeof err);
	if (status) {
		reply_error(req, status, err);
		goto out;
	}
	struct digest_spec d = r->p.digest;
	if (swarm_task_id(r->url, r->filter, &d, id, err, sizeof err) != DF_OK) {
		char msg[sizeof err + 16];
		snprintf(msg, sizeof msg, "register: %s", err);
		reply_error(req, 400, msg);
		goto out;
	}
	if (!slice_eq(r->p.task, id)) {
		reply_error(req, 400, "register: the task id does not match the url/digest");
		goto out;
	}
	if (r->p.cluster_source && cluster_source_check(sn, r, err, sizeof err) != DF_OK) {
		reply_error(req, 400, err);
		goto out;
	}
	if (r->p.nvia && proto_via_has(r->p.via, sn->site)) {
		/* a child site's supernode whose task came through this one: the sites' parents form a loop */
		snprintf(err, sizeof err,
			 "register: a loop of sites: this supernode (site %s) is on the path already (via %.*s)",
			 sn->site, (int)r->p.via.n, r->p.via.p);
		log_warn("task %.12s: %s", id, err);
		reply_error(req, 508, err);
		goto out;
	}
	/* the peer's piece server: its own word for the address, else where the request came from */
	char addr[LOOP_ADDRSTR_MAX + 8];
	if (r->addr[0]) {
		snprintf(addr, sizeof addr, "%s", r->addr);
	} else {
		char from[LOOP_ADDRSTR_MAX - 8];
		loop_sockaddr_str(http_req_peer(req), from, sizeof from);
		char *colon = strrchr(from, ':');
		if (colon)
			*colon = 0;
		snprintf(addr, sizeof addr, "%s:%s", from, r->port[0] ? r->port : "0");
	}
	struct sn_task *t = find_task(sn, id);
	double now = monotime_now();
	if (t && t->state == T_FAILED && now - t->failed_at > 2.0) {
		task_remove(sn, t); /* try the source again */
		t = NULL;
	}
	if (!t) {
		t = task_new(sn, id, r->url, r->headers);
		if (!t) {
			reply_error(req, 503, "supernode: out of memory");
			goto out;
		}
		t->cluster_source = r->p.cluster_source;
		slice_copy(r->p.via, t->via, sizeof t->via); /* the sites below this one */
		if (task_secure(t, r->filter) != DF_OK) {
			task_remove(sn, t);
			reply_error(req, 503, "supernode: out of memory");
			goto out;
		}
		if (d.len)
			digest_spec_format(&d, t->want_digest, sizeof t->want_digest);
		/* a peer may have asked for a piece of it before anyone registered (after a restart) */
		pieceserve_drop_readonly(&sn->ps, id);
		t->st = store_task_open(sn->cfg.store, id, NULL, 0, NULL, 0);
		if (t->st && !store_task_writable(t->st)) {
			store_task_close(t->st);
			t->st = NULL;
		}
		if (t->st && task_sched_start(t) != DF_OK) {
			fail_task(t, "supernode: out of memory");
		} else if (t->st && store_task_complete(t->st)) {
			t->state = T_COMPLETE;
			t->revalidated_at = d.len ? now : 0; /* content-addressed tasks never need revalidating */
			log_info("task %.12s: complete in the store", id);
		} else if (start_fetch(t, err, sizeof err) != DF_OK) {
			fail_task(t, "%s", err);
		}
	} else if (r->p.nvia && t->pf) {
		parent_fetch_add_via(t->pf, r->p.via); /* a loop shows when the parent sees itself below */
	}
	if (t->state == T_FAILED) {
		reply_error(req, t->local_failure ? 503 : 502, t->error);
		goto out;
	}
	struct sn_wait *w = wait_new(t, req, addr, r->host, r->have, r->have_len, r->url, r->headers);
	if (!w) {
		reply_error(req, 503, "supernode: out of memory");
		goto out;
	}
	r->have = NULL; /* the wait's now */
	slice_copy(r->p.via, w->via, sizeof w->via);
	w->in_order = r->p.in_order;
	w->replace = r->p.replace;
	slice_copy(r->p.replace_secret, w->replace_secret, sizeof w->replace_secret);
	if (t->state == T_PROBING)
		wait_link(w); /* admitted once the length is known */
	else
		admit(t, w);
out:
	free(r->have);
	free(r);
}

static void on_register(struct http_req *req, void *ctx)
{
	struct supernode *sn = ctx;
	if (!auth_check(req, sn->cfg.token))
		return;
	swarm_read_body(req, MAX_BODY, on_register_body, sn);
}

/* ---- work ---- */

static void held_gone(struct http_req *req, int ok, void *ctx)
{
	(void)ok;
	struct sn_peer *p = ctx;
	if (p->held == req)
		unhold(p, 1);
}

/* Answers p's held request if there is something to say, or always with force. */
static void answer_work(struct sn_peer *p, int force)
{
	struct sn_task *t = p->task;
	char mem[8192];
	struct proto_buf b;
	struct http_req *req = p->held;
	if (!req)
		return;
	if (t->state == T_FAILED && t->local_failure) {
		/* not the source's failure: register again, to be sent to the source with the reason */
		char msg[sizeof t->error + 1];
		snprintf(msg, sizeof msg, "%s\n", t->error);
		release_held(p, 410, msg);
		return;
	}
	proto_buf_init(&b, mem, sizeof mem);
	put_task_lines(&b, t);
	if (t->state == T_FAILED) {
		proto_put(&b, "error", "%s", t->error);
	} else {
		enum sched_why why = put_assignments(&b, p, MAX_ASSIGN);
		if (why == SCHED_DONE)
			proto_put(&b, "done", NULL);
		else if (why != SCHED_ASSIGNED && !force)
			return;
		else if (why != SCHED_ASSIGNED)
			proto_put(&b, "wait", NULL);
	}
	swarm_reply_lines(unhold(p, 0), &b);
}

static void hold_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	answer_work(DF_CONTAINER_OF(w, struct sn_peer, hold), 1);
}

static void wake_task(struct sn_task *t)
{
	int who[64], n;
	if (!t->sched)
		return;
	do {
		n = sched_wakeable(t->sched, who, 64);
		for (int i = 0; i < n; i++)
			if (who[i] < t->npeers_cap && t->peers[who[i]]->live)
				answer_work(t->peers[who[i]], 0);
	} while (n == 64);
}

/* The registration a /v1/work or /v1/leave request names (query task=ID&peer=N&secret=S). NULL with
 * the status and cause in *status and why: 400 a malformed query, 410 no such task or registration
 * (register again), 403 a registration whose secret the request does not carry (someone else's). */
static struct sn_peer *find_peer(struct supernode *sn, struct http_req *req, struct sn_task **tp, int *status,
				 char *why, size_t cap)
{
	struct proto_peer_ref ref;
	struct proto_err pe;
	char id[TASKID_MAX] = "";
	*tp = NULL;
	if (proto_parse_peer_query(http_req_head(req)->query, &ref, &pe) != DF_OK) {
		*status = 400;
		proto_err_format(&pe, "query", why, cap);
		return NULL;
	}
	slice_copy(ref.task, id, sizeof id);
	struct sn_task *t = id[0] ? find_task(sn, id) : NULL;
	*tp = t;
	int64_t h = ref.peer;
	if (!t || h < 0 || h >= t->npeers_cap || !t->peers[h]->live || h == t->super) {
		*status = 410;
		snprintf(why, cap, "%s", t ? "unknown peer; register again" : "unknown task; register again");
		return NULL;
	}
	if (!auth_same(ref.secret, t->peers[h]->secret)) {
		*status = 403;
		snprintf(why, cap,
			 "peer %lld of task %.12s: %s secret (each registration's requests carry the secret its "
			 "answer gave)",
			 (long long)h, t->id, ref.secret.n ? "wrong" : "no");
		return NULL;
	}
	return t->peers[h];
}

static void probed(struct loop_probe *pr, int refused, void *ctx)
{
	(void)pr;
	struct sn_peer *p = ctx;
	struct sn_task *t = p->task;
	if (!refused || !p->live)
		return;
	log_info("task %.12s: peer %s refuses connections (a downloader said so, and so does a connect from here): "
		 "dropped",
		 t->id, p->addr);
	peer_drop(p);
	wake_task(t);
}

/* A downloader says p's piece server refused a connection: the process is gone (killed, crashed),
 * so its registration is dropped now, not after peer_silence; its download slots and claims with it.
 * Checked with a connect of our own, so a report alone (a lie, a downloader's own network trouble)
 * drops nobody. At most one probe per peer at a time. */
static void probe_peer(struct sn_peer *p)
{
	if (!p->live || p->probe.active)
		return;
	loop_probe_start(p->task->sn->cfg.loop, &p->probe, p->addr, 2.0, probed, p);
}

/* Applies a work body proto_next_work already read to its end. */
static void apply_reports(struct sn_peer *p, const char *body, size_t len)
{
	struct sn_task *t = p->task;
	size_t pos = 0;
	struct proto_work_line w;
	struct proto_err pe;
	int64_t now = swarm_now_ms(t->sn->cfg.loop);
	static const enum sched_result result[] = {
		[PROTO_WORK_OK] = SCHED_OK, [PROTO_WORK_FAIL] = SCHED_FAILED, [PROTO_WORK_BAD] = SCHED_BAD};
	while (proto_next_work(body, len, &pos, &w, &pe) == DF_OK) {
		if (w.kind == PROTO_WORK_IDLE) {
			/* the peer fetches nothing: transfers it was handed long enough ago for their answer to
			 * have arrived were lost on the way, and would hold its places forever */
			int n = sched_forget_stale(t->sched, p->handle, now - LOST_ANSWER_MS);
			if (n > 0)
				log_info("task %.12s: peer %s fetches nothing but had %d transfer%s in flight; "
					 "forgotten",
					 t->id, p->addr, n, n == 1 ? "" : "s");
			continue;
		}
		struct proto_report r = w.r;
		if (r.uploader >= (uint32_t)t->npeers_cap)
			continue;
		int up = (int)r.uploader;
		if (w.kind == PROTO_WORK_BUSY) {
			/* the downloader's own limit: the uploader did nothing wrong */
			if (sched_cancel(t->sched, p->handle, r.piece, up, now) == DF_OK)
				log_debug("task %.12s: peer %s had no fetch slot for piece %u; handed out again", t->id,
					  p->addr, r.piece);
			continue;
		}
		enum sched_result res = result[w.kind];
		if (sched_report_timed(t->sched, p->handle, r.piece, up, res, now, r.body_us) == DF_ERR)
			continue;
		if (res != SCHED_OK)
			black_note(t, up);
		if (res == SCHED_FAILED && up != t->super && memmem(r.why.p, r.why.n, DF_LIT("refused")))
			probe_peer(t->peers[up]);
		uint32_t plen = store_task_piece_len(t->st, r.piece);
		if (res == SCHED_OK) {
			if (up == t->super)
				t->bytes_super += plen;
			else
				t->bytes_p2p += plen;
		} else {
			log_warn("task %.12s: peer %s reports piece %u from %s %s%s%.*s", t->id, p->addr, r.piece,
				 t->peers[up]->addr, res == SCHED_BAD ? "failed its checksum" : "failed",
				 r.why.n ? ": " : "", (int)r.why.n, r.why.p);
		}
	}
}

/* DF_OK when every line of a body parses (next: proto_next_work or proto_next_beat); else the cause
 * in why, for a 400. */
static int check_body(const char *body, size_t len, const char *what, char *why, size_t cap,
		      int (*next)(const char *, size_t, size_t *, void *, struct proto_err *), void *line)
{
	size_t pos = 0;
	struct proto_err pe;
	int rc;
	while ((rc = next(body, len, &pos, line, &pe)) == DF_OK)
		;
	if (rc == DF_ERR)
		proto_err_format(&pe, what, why, cap);
	return rc == DF_ERR ? DF_ERR : DF_OK;
}

static int next_work(const char *b, size_t n, size_t *pos, void *out, struct proto_err *e)
{
	return proto_next_work(b, n, pos, out, e);
}

static int next_beat(const char *b, size_t n, size_t *pos, void *out, struct proto_err *e)
{
	return proto_next_beat(b, n, pos, out, e);
}

static void on_work_body(struct http_req *req, const char *body, size_t len, void *ctx)
{
	struct supernode *sn = ctx;
	struct sn_task *t;
	struct proto_work_line wl;
	char why[256];
	int status = 0;
	if (check_body(body, len, "work", why, sizeof why, next_work, &wl) != DF_OK) {
		reply_error(req, 400, why); /* nothing of a malformed body is applied */
		return;
	}
	struct sn_peer *p = find_peer(sn, req, &t, &status, why, sizeof why);
	sn->work_requests++;
	if (t && t->state == T_FAILED && t->local_failure && status != 403) {
		reply_error(req, 410, t->error);
		return;
	}
	if (t && t->state == T_FAILED && status != 403) {
		char mem[1024];
		struct proto_buf b;
		proto_buf_init(&b, mem, sizeof mem);
		proto_put(&b, "error", "%s", t->error);
		swarm_reply_lines(req, &b);
		return;
	}
	if (!p) {
		reply_error(req, status, why);
		return;
	}
	release_held(p, 200, "wait\n"); /* superseded: the peer has news */
	if (t->state != T_FAILED && t->sched)
		apply_reports(p, body, len);
	sched_touch(t->sched, p->handle, swarm_now_ms(sn->cfg.loop));
	/* slots the reports freed go to the peers already waiting first (the scheduler's fairness rule) */
	wake_task(t);
	p->held = req;
	http_req_on_done(req, held_gone, p);
	answer_work(p, t->state == T_FAILED);
	if (p->held) {
		/* set again each time: libev keeps a stopped or expired timer's remaining time, so a bare
		 * restart would hold for what was left of the last hold (nothing, after a timeout) */
		ev_timer_set(&p->hold, HOLD_SECONDS, 0);
		ev_timer_start(sn->cfg.loop, &p->hold);
	}
}

static void on_work(struct http_req *req, void *ctx)
{
	struct supernode *sn = ctx;
	if (!auth_check(req, sn->cfg.token))
		return;
	swarm_read_body(req, MAX_BODY, on_work_body, sn);
}

static void on_leave(struct http_req *req, void *ctx)
{
	struct supernode *sn = ctx;
	struct sn_task *t;
	char why[256];
	int status = 0;
	if (!auth_check(req, sn->cfg.token))
		return;
	struct sn_peer *p = find_peer(sn, req, &t, &status, why, sizeof why);
	if (!p && status != 410) { /* a registration already gone has left */
		reply_error(req, status, why);
		return;
	}
	if (p) {
		log_info("task %.12s: peer %s left", t->id, p->addr);
		peer_drop(p);
		wake_task(t);
	}
	http_reply(req, 200, NULL, DF_LIT("bye\n"));
}

/* "task: ID PEER SECRET" lines: each registration named with its secret is kept alive; the others are
 * answered "unknown: ID" (expired, or never this caller's), so a seeder registers again. */
static void on_heartbeat_body(struct http_req *req, const char *body, size_t len, void *ctx)
{
	struct supernode *sn = ctx;
	char mem[8192], why[256];
	struct proto_buf b;
	size_t pos = 0;
	struct proto_beat l;
	struct proto_err pe;
	if (check_body(body, len, "heartbeat", why, sizeof why, next_beat, &l) != DF_OK) {
		reply_error(req, 400, why);
		return;
	}
	proto_buf_init(&b, mem, sizeof mem);
	while (proto_next_beat(body, len, &pos, &l, &pe) == DF_OK) {
		char id[TASKID_MAX];
		struct store_task_stat st;
		slice_copy(l.task, id, sizeof id);
		/* a heartbeat keeps a registration, not the task: seeding alone is no use (task_dormant) */
		struct sn_task *t = lookup_task(sn, id);
		int64_t h = l.peer;
		if (t && h < t->npeers_cap && t->peers[h]->live && h != t->super &&
		    auth_same(l.secret, t->peers[h]->secret))
			sched_touch(t->sched, (int)h, swarm_now_ms(sn->cfg.loop));
		else if (!t && store_task_peek(sn->cfg.store, id, &st, NULL, 0) == DF_OK && st.complete)
			proto_put(&b, "idle", "%s", id); /* forgotten while only seeded: stop naming it */
		else
			proto_put(&b, "unknown", "%s", id);
	}
	swarm_reply_lines(req, &b);
}

static void on_heartbeat(struct http_req *req, void *ctx)
{
	struct supernode *sn = ctx;
	if (!auth_check(req, sn->cfg.token))
		return;
	swarm_read_body(req, MAX_BODY, on_heartbeat_body, sn);
}

/* ---- eviction of a task the peers hold ---- */

static int task_detached(const struct sn_task *t)
{
	return t->st && store_task_detached(t->st);
}

/* GC wants the files of complete task t, which live peers still use. When those peers hold every
 * piece between them, the supernode's copy is not needed: the store lets go of the files (GC
 * deletes them once the piece server's replies in flight end; their dup'd descriptors keep the
 * lock) and keeps the description, so the supernode goes on scheduling the peers among
 * themselves, vouching for each piece with the checksum it kept, and stops being an uploader. A
 * download that then needs a piece no live peer holds makes it fetch the task again (kick_cb).
 * Kept (0): while the supernode itself works on the task (source, revalidation, digest, parked
 * registrations), while some piece exists only here, or when its SHA-256 piece sums are not all
 * in memory (they would have to be read from the files). */
static int task_evict(struct sn_task *t)
{
	char err[512];
	if (t->state != T_COMPLETE || !t->st || !t->sched || t->reval || t->waits || t->hasher || t->awaiting_digest)
		return 0;
	uint32_t n = store_task_piece_count(t->st);
	for (uint32_t i = 0; i < n; i++)
		if (sched_piece_holders(t->sched, i) == 0)
			return 0;
	if (!piecesum_all_known(&t->sums, n))
		return 0;
	pieceserve_forget(&t->sn->ps, t->id);
	if (store_task_detach(t->st, err, sizeof err) != DF_OK) {
		log_warn("task %.12s: kept in the store: %s", t->id, err);
		return 0;
	}
	struct sched_task_info si;
	sched_task_info(t->sched, &si);
	if (t->super >= 0) {
		peer_drop(t->peers[t->super]); /* its uploads in flight go back to their downloaders */
		t->super = -1;
	}
	log_info("task %.12s: its files leave the store while %d peer%s hold every piece, scheduled among themselves",
		 t->id, si.peers - 1, si.peers == 2 ? "" : "s");
	ev_timer_start(t->sn->cfg.loop, &t->kick); /* not from inside GC: the answers wait for the loop */
	return 1;
}

/* Evicted task t is needed here again: its store task opened (its files may have outlived the
 * eviction) or created anew from the kept description, the supernode its uploader again for what
 * the store has. DF_OK, or DF_ERR with the task failed locally (peers go to the source). */
static int task_attach(struct sn_task *t)
{
	struct supernode *sn = t->sn;
	char err[512];
	const struct store_task_info *old = store_task_info(t->st);
	struct store_task_info info = {
		.length = old->length,
		.piece_size = old->piece_size,
		.url = t->shown,
		.etag = old->etag,
		.last_modified = old->last_modified, /* digests are recorded once verified (on_source_done) */
	};
	enum task_state was = t->state;
	t->state = T_FETCHING; /* GC (storegc_reserve) leaves it alone meanwhile */
	if (sn->cfg.gc)
		storegc_reserve(sn->cfg.gc, info.length > 0 ? (uint64_t)info.length : 0);
	pieceserve_drop_readonly(&sn->ps, t->id);
	struct store_task *st = store_task_open(sn->cfg.store, t->id, &info, STORE_CREATE, err, sizeof err);
	if (!st && errno == ESTALE && store_task_remove(sn->cfg.store, t->id, NULL, 0) == DF_OK)
		st = store_task_open(sn->cfg.store, t->id, &info, STORE_CREATE, err, sizeof err);
	if (st && !store_task_writable(st)) {
		store_task_close(st);
		st = NULL;
		snprintf(err, sizeof err, "store: task %s is being written by another process", t->id);
	}
	struct sn_peer *sp = st ? peer_add(t, 1, NULL, "super") : NULL;
	if (!sp) {
		if (st)
			store_task_close(st);
		t->state = was;
		t->local_failure = 1;
		fail_task(t, "supernode cannot store the task again (%s): fetch from the source",
			  st ? "out of memory" : err);
		return DF_ERR;
	}
	store_task_close(t->st);
	t->st = st;
	t->super = sp->handle;
	uint32_t n = store_task_piece_count(st);
	for (uint32_t i = 0; i < n; i++)
		if (store_task_has(st, i))
			sched_peer_has(t->sched, t->super, i);
	t->state = was;
	return DF_OK;
}

/* After an eviction, and when a download of an evicted task waits for a piece: if a piece is held
 * by no usable live peer while some peer still lacks pieces, the supernode fetches the task again
 * from the source (the registrations' URL and header lines); then the waiting peers are answered. */
static void kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct sn_task *t = DF_CONTAINER_OF(w, struct sn_task, kick);
	struct sched_task_info si;
	char err[512];
	drop_source(t);
	if (task_detached(t) && t->state == T_COMPLETE && t->sched) {
		sched_task_info(t->sched, &si);
		if (si.available < si.npieces && si.peers > si.done) {
			log_info("task %.12s: its files were evicted and %u of %u pieces are at no live peer: fetching "
				 "it again",
				 t->id, si.npieces - si.available, si.npieces);
			if (task_attach(t) != DF_OK)
				return;
			if (!store_task_complete(t->st)) {
				source_free(t->src);
				t->src = NULL;
				if (start_source(t, err, sizeof err) != DF_OK) {
					fail_task(t, "%s", err);
					return;
				}
			}
		}
	}
	wake_task(t);
}

/* ---- status ---- */

/* only: a task id, or NULL for every task */
static void status_json(struct supernode *sn, struct jsonw *w, const char *only)
{
	struct http_server_stats hs;
	http_server_get_stats(sn->cfg.server, &hs);
	jsonw_obj_open(w, NULL);
	jsonw_str(w, "role", "supernode");
	jsonw_str(w, "version", DF_VERSION);
	jsonw_str(w, "piece_digest", digest_piece_algo_name(sn->cfg.piece_digest));
	jsonw_str(w, "site", sn->site);
	jsonw_str(w, "parents", sn->parent ? sn->cfg.parents : "");
	jsonw_f64(w, "uptime_seconds", monotime_now() - sn->started);
	jsonw_u64(w, "registrations", sn->registrations);
	jsonw_u64(w, "work_requests", sn->work_requests);
	jsonw_u64(w, "tasks_forgotten", sn->forgotten);
	jsonw_u64(w, "connections", (uint64_t)hs.conns);
	uint64_t src = sn->gone_source, sup = sn->gone_super, p2p = sn->gone_p2p, par = sn->gone_parent;
	for (int i = 0; i < sn->ntasks; i++) {
		src += sn->tasks[i]->bytes_source;
		sup += sn->tasks[i]->bytes_super;
		p2p += sn->tasks[i]->bytes_p2p;
		par += sn->tasks[i]->bytes_parent;
	}
	jsonw_u64(w, "bytes_from_source", src);
	jsonw_u64(w, "bytes_from_parent", par);
	jsonw_u64(w, "bytes_from_supernode", sup);
	jsonw_u64(w, "bytes_peer_to_peer", p2p);
	if (sn->cfg.gc)
		storegc_json(sn->cfg.gc, w);
	if (sn->cfg.rates) { /* the host's caps (0: none) and current rates in bytes/s, all its df processes */
		jsonw_obj_open(w, "host_rates");
		for (int k = 0; k < HOSTRATE_N; k++) {
			char key[32];
			snprintf(key, sizeof key, "%s_cap", hostrate_names[k]);
			jsonw_u64(w, key, hostrate_cap(sn->cfg.rates, k));
			snprintf(key, sizeof key, "%s_rate", hostrate_names[k]);
			jsonw_u64(w, key, (uint64_t)sn->cfg.rates->rate[k]);
		}
		jsonw_obj_close(w);
	}
	jsonw_arr_open(w, "tasks");
	for (int i = 0; i < sn->ntasks; i++) {
		struct sn_task *t = sn->tasks[i];
		struct sched_task_info si = {0};
		if (only && strcmp(t->id, only) != 0)
			continue;
		if (t->sched)
			sched_task_info(t->sched, &si);
		jsonw_obj_open(w, NULL);
		jsonw_str(w, "id", t->id);
		jsonw_str(w, "url", t->shown);
		jsonw_str(w, "state", state_names[t->state]);
		jsonw_str(w, "access", t->acc ? access_state(t->acc) : "unknown");
		if (t->state == T_FAILED)
			jsonw_str(w, "error", t->error);
		jsonw_i64(w, "length", t->st ? store_task_length(t->st) : -1);
		jsonw_u64(w, "pieces", t->st ? store_task_piece_count(t->st) : 0);
		jsonw_u64(w, "pieces_at_supernode", t->st ? store_task_present(t->st) : 0);
		jsonw_bool(w, "evicted", task_detached(t)); /* peers hold it; the store no longer does */
		jsonw_u64(w, "bytes_from_source", t->bytes_source);
		jsonw_u64(w, "bytes_from_parent", t->bytes_parent);
		jsonw_str(w, "parent", t->pf ? parent_fetch_parent(t->pf) : "");
		jsonw_str(w, "parent_fallback", t->fallback);
		jsonw_u64(w, "bytes_from_supernode", t->bytes_super);
		jsonw_u64(w, "bytes_peer_to_peer", t->bytes_p2p);
		jsonw_u64(w, "registrations", t->registrations);
		jsonw_u64(w, "pieces_rehashed", t->sums.rehashed); /* sha256 sums recomputed from the store */
		jsonw_u64(w, "peers_done", (uint64_t)si.done);
		jsonw_arr_open(w, "peers");
		for (int h = 0; h < t->npeers_cap; h++) {
			struct sn_peer *p = t->peers[h];
			struct sched_peer_info pi;
			if (!p->live || h == t->super || sched_peer_info(t->sched, h, &pi) != DF_OK)
				continue;
			jsonw_obj_open(w, NULL);
			jsonw_str(w, "addr", p->addr);
			jsonw_u64(w, "pieces", pi.pieces);
			jsonw_u64(w, "bytes_up", pi.bytes_up);
			jsonw_u64(w, "bytes_down", pi.bytes_down);
			jsonw_u64(w, "failures", pi.failures);
			jsonw_bool(w, "child_site", p->child);
			jsonw_bool(w, "blacklisted", pi.blacklisted && !p->child);
			if (pi.blacklisted && !p->child)
				jsonw_str(w, "why", pi.why);
			jsonw_obj_close(w);
		}
		jsonw_arr_close(w);
		jsonw_obj_close(w);
	}
	jsonw_arr_close(w);
	jsonw_obj_close(w);
}

static void status_text(struct supernode *sn, FILE *f)
{
	char a[32], b[32], c[32], d[32];
	fprintf(f, "supernode df %s, up %.0f s, %d task%s, %llu registrations, %s piece checksums\n", DF_VERSION,
		monotime_now() - sn->started, sn->ntasks, sn->ntasks == 1 ? "" : "s",
		(unsigned long long)sn->registrations, digest_piece_algo_name(sn->cfg.piece_digest));
	fprintf(f, "site %s%s%s\n", sn->site, sn->parent ? ", parent site through " : "",
		sn->parent ? sn->cfg.parents : "");
	if (sn->cfg.gc) {
		const struct storegc *gc = sn->cfg.gc;
		progress_size(gc->used_bytes + gc->pending, a, sizeof a);
		progress_size(gc->quota, b, sizeof b);
		progress_size(gc->freed_bytes, c, sizeof c);
		fprintf(f, "store %s: %s of %s quota, %llu tasks evicted (%s), last GC %.0f s ago\n",
			store_root(sn->cfg.store), a, gc->quota ? b : "no", (unsigned long long)gc->evictions, c,
			gc->last_run ? (double)time(NULL) - gc->last_run : -1.0);
	}
	if (sn->cfg.rates) {
		fprintf(f, "host rates:");
		for (int k = 0; k < HOSTRATE_N; k++) {
			uint64_t cap = hostrate_cap(sn->cfg.rates, k);
			progress_size((uint64_t)sn->cfg.rates->rate[k], a, sizeof a);
			progress_size(cap, b, sizeof b);
			fprintf(f, "%s %s %s/s (%s%s%s)", k ? "," : "", hostrate_names[k], a, cap ? "cap " : "no cap",
				cap ? b : "", cap ? "/s" : "");
		}
		fprintf(f, "\n");
	}
	for (int i = 0; i < sn->ntasks; i++) {
		struct sn_task *t = sn->tasks[i];
		int64_t len = t->st ? store_task_length(t->st) : -1;
		progress_size(len < 0 ? 0 : (uint64_t)len, a, sizeof a);
		fprintf(f, "\ntask %s  %s\n  %s, %s, %u/%u pieces at the supernode%s%s\n", t->id, t->shown,
			state_names[t->state], len < 0 ? "size unknown" : a, t->st ? store_task_present(t->st) : 0,
			t->st ? store_task_piece_count(t->st) : 0, t->state == T_FAILED ? ": " : "",
			t->state == T_FAILED ? t->error : "");
		progress_size(t->bytes_source, b, sizeof b);
		progress_size(t->bytes_super, c, sizeof c);
		progress_size(t->bytes_p2p, d, sizeof d);
		fprintf(f, "  from source %s, served by the supernode %s, peer to peer %s\n", b, c, d);
		if (t->pf || t->bytes_parent || t->fallback[0]) {
			progress_size(t->bytes_parent, b, sizeof b);
			fprintf(f, "  from the parent site %s%s%s%s\n", b, t->pf ? " (parent " : "",
				t->pf ? parent_fetch_parent(t->pf) : "", t->pf ? ")" : "");
		}
		if (t->fallback[0])
			fprintf(f, "  the source instead of the parent site: %s\n", t->fallback);
		if (!t->sched)
			continue;
		fprintf(f, "  %-24s %8s %10s %10s %8s  %s\n", "peer", "pieces", "up", "down", "failures", "state");
		for (int h = 0; h < t->npeers_cap; h++) {
			struct sn_peer *p = t->peers[h];
			struct sched_peer_info pi;
			if (!p->live || h == t->super || sched_peer_info(t->sched, h, &pi) != DF_OK)
				continue;
			progress_size(pi.bytes_up, b, sizeof b);
			progress_size(pi.bytes_down, c, sizeof c);
			fprintf(f, "  %-24s %8u %10s %10s %8u  %s%s\n", p->addr, pi.pieces, b, c, pi.failures,
				p->child         ? "child site"
				: pi.blacklisted ? "blacklisted: "
						 : "ok",
				pi.blacklisted && !p->child ? pi.why : "");
		}
	}
}

static void on_status(struct http_req *req, void *ctx)
{
	struct supernode *sn = ctx;
	struct jsonw w;
	if (!auth_check(req, sn->cfg.token))
		return;
	const struct http_head *h = http_req_head(req);
	if (!(h->query.n >= 11 && memcmp(h->query.p, DF_LIT("format=json")) == 0)) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		if (!f) {
			http_reply(req, 503, NULL, DF_LIT("out of memory\n"));
			return;
		}
		status_text(sn, f);
		fclose(f);
		http_reply(req, 200, "Content-Type: text/plain\r\n", buf, len);
		free(buf);
		return;
	}
	/* "&task=ID": that task alone (df push waits for its preheats with it, whatever else runs) */
	char only[TASKID_MAX] = "";
	const char *tq = memmem(h->query.p, h->query.n, DF_LIT("&task="));
	if (tq) {
		size_t n = 0, left = (size_t)(h->query.p + h->query.n - tq - 6);
		while (n < left && tq[6 + n] != '&')
			n++;
		if (!taskid_valid(tq + 6, n)) {
			http_reply(req, 400, NULL, DF_LIT("status: task= is no task id\n"));
			return;
		}
		memcpy(only, tq + 6, n);
		only[n] = 0;
	}
	jsonw_init(&w, 64u << 20);
	status_json(sn, &w, only[0] ? only : NULL);
	if (w.overflow)
		http_reply(req, 500, NULL, DF_LIT("status too large\n"));
	else
		http_reply(req, 200, "Content-Type: application/json\r\n", w.p, w.len);
	jsonw_free(&w);
}

static void render_metrics(FILE *f, void *ctx)
{
	struct supernode *sn = ctx;
	uint64_t src = sn->gone_source, sup = sn->gone_super, p2p = sn->gone_p2p, par = sn->gone_parent;
	uint64_t peers = 0, evicted = 0, parked = 0;
	for (int i = 0; i < sn->ntasks; i++) {
		struct sn_task *t = sn->tasks[i];
		evicted += (uint64_t)task_detached(t);
		parked += (uint64_t)(t->st && store_task_parked(t->st));
		src += t->bytes_source;
		par += t->bytes_parent;
		sup += t->bytes_super;
		p2p += t->bytes_p2p;
		for (int h = 0; h < t->npeers_cap; h++)
			peers += t->peers[h]->live && h != t->super;
	}
	double up = monotime_now() - sn->started;
	const struct metric m[] = {
		{"df_bytes_from_source_total", METRIC_COUNTER, "Bytes the supernode fetched from sources.", src},
		{"df_bytes_from_supernode_total", METRIC_COUNTER, "Piece bytes peers fetched from the supernode.", sup},
		{"df_bytes_peer_to_peer_total", METRIC_COUNTER, "Piece bytes peers fetched from other peers.", p2p},
		{"df_tasks", METRIC_GAUGE, "Tasks the supernode knows.", (uint64_t)sn->ntasks},
		{"df_tasks_evicted", METRIC_GAUGE,
		 "Tasks the supernode schedules whose files left its store (their peers hold them).", evicted},
		{"df_tasks_parked", METRIC_GAUGE,
		 "Complete tasks the supernode holds with their store files closed until a piece is asked for.",
		 parked},
		{"df_tasks_forgotten_total", METRIC_COUNTER,
		 "Idle tasks dropped from memory (their pieces stay in the store).", sn->forgotten},
		{"df_peers", METRIC_GAUGE, "Live peer registrations.", peers},
		{"df_registrations_total", METRIC_COUNTER, "Peer registrations.", sn->registrations},
		{"df_uptime_seconds", METRIC_GAUGE, "Seconds since start.", (uint64_t)(up > 0 ? up + 0.5 : 0)},
		{"df_bytes_from_parent_total", METRIC_COUNTER,
		 "Bytes the supernode fetched through its parent site (supernode --parent).", par},
	};
	metrics_put_all(f, m, (int)DF_ARRAY_LEN(m));
	if (sn->cfg.gc)
		storegc_metrics(sn->cfg.gc, f);
}

/* Liveness, for a peer whose registration waits long (peer.c probe_cb): answered straight from the
 * loop, with nothing to read and no token needed, so only a supernode whose loop is stuck leaves it
 * unanswered. */
static void on_ping(struct http_req *req, void *ctx)
{
	(void)ctx;
	http_reply(req, 204, NULL, NULL, 0);
}

static void on_metrics(struct http_req *req, void *ctx)
{
	swarm_reply_metrics(req, render_metrics, ctx);
}

/* GC asks before evicting a task this process holds: a complete (or failed) task nobody fetches
 * (no source, no revalidation, no waiting or live peer) is let go, scheduler state and all; a
 * later registration finds it in the store, or fetches it again once evicted. A complete task that
 * live peers hold between them is let go too, its scheduling kept (task_evict). Asking is no use
 * of the task (lookup_task: its task_idle clock runs on). */
static int gc_release(void *arg, const char *id)
{
	struct supernode *sn = arg;
	struct sn_task *t = lookup_task(sn, id);
	if (t && task_unused(t)) {
		task_forget(sn, t);
		return 1;
	}
	if (t && !task_detached(t))
		return task_evict(t);
	pieceserve_forget(&sn->ps, id); /* only the piece server had it open (again) */
	return 1;
}

/* The secret behind piece keys, read from STORE/piece-key.secret (0600) or made and written there
 * once, so that a restarted supernode hands out the keys its peers already hold: with a fresh secret
 * per process every seeder's key went stale at a restart until it registered again. */
static int load_key_secret(uint8_t *secret, struct store *store, char *err, size_t errlen)
{
	const size_t n = 32;
	char path[4096], tmp[4200];
	const char *root = store ? store_root(store) : NULL;
	if (!root) /* in-memory harnesses: a secret per process */
		goto fresh;
	snprintf(path, sizeof path, "%s/piece-key.secret", root);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		ssize_t got = read(fd, secret, n);
		close(fd);
		if (got == (ssize_t)n)
			return DF_OK;
		log_warn("%s: %zd bytes, not %zu: making a new secret (piece keys held by peers go stale)", path, got,
			 n);
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return DF_ERR;
	}
fresh:
	if (getrandom(secret, n, 0) != (ssize_t)n) {
		snprintf(err, errlen, "no randomness for piece keys: %s", strerror(errno));
		return DF_ERR;
	}
	if (!root)
		return DF_OK;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, secret, n) != (ssize_t)n || fsync(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", fd < 0 ? tmp : path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return DF_ERR;
	}
	close(fd);
	return DF_OK;
}

int supernode_route_metrics(struct supernode *sn, struct http_server *srv)
{
	return http_server_route(srv, "GET", "/metrics", on_metrics, sn);
}

struct supernode *supernode_new(const struct supernode_cfg *cfg, char *err, size_t errlen)
{
	struct supernode *sn = calloc(1, sizeof *sn);
	if (!sn) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sn->cfg = *cfg;
	if (load_key_secret(sn->key_secret, cfg->store, err, errlen) != DF_OK) {
		free(sn);
		return NULL;
	}
	if (sn->cfg.revalidate_after <= 0)
		sn->cfg.revalidate_after = 5;
	sn->started = monotime_now();
	uint8_t site[PROTO_SITE_HEX / 2];
	if (getrandom(site, sizeof site, 0) != (ssize_t)sizeof site) {
		snprintf(err, errlen, "no randomness for the site id: %s", strerror(errno));
		free(sn);
		return NULL;
	}
	digest_hex(site, sizeof site, sn->site);
	if (cfg->parents && cfg->parents[0]) {
		struct parent_cfg pc = {
			.loop = cfg->loop,
			.client = cfg->parent_client ? cfg->parent_client : cfg->cluster_client,
			.cluster_tls = cfg->cluster_tls,
			.store = cfg->store,
			.parents = cfg->parents,
			.token = cfg->token,
			.site = sn->site,
			.piece_digest = cfg->piece_digest,
			.retry = cfg->parent_retry,
			.gc = cfg->gc,
		};
		if (!(sn->parent = parent_new(&pc, err, errlen))) {
			free(sn);
			return NULL;
		}
	}
	if (pieceserve_init(&sn->ps, cfg->loop, cfg->server, cfg->store, cfg->token) != DF_OK ||
	    http_server_route(cfg->server, "POST", "/v1/register", on_register, sn) != DF_OK ||
	    http_server_route(cfg->server, "POST", "/v1/work", on_work, sn) != DF_OK ||
	    http_server_route(cfg->server, "POST", "/v1/leave", on_leave, sn) != DF_OK ||
	    http_server_route(cfg->server, "POST", "/v1/heartbeat", on_heartbeat, sn) != DF_OK ||
	    http_server_route(cfg->server, "GET", "/v1/status", on_status, sn) != DF_OK ||
	    http_server_route(cfg->server, "GET", "/v1/ping", on_ping, sn) != DF_OK ||
	    http_server_route(cfg->server, "GET", "/metrics", on_metrics, sn) != DF_OK) {
		snprintf(err, errlen, "out of memory");
		parent_free(sn->parent);
		free(sn);
		return NULL;
	}
	if (cfg->gc) {
		cfg->gc->release = gc_release;
		cfg->gc->arg = sn;
	}
	return sn;
}

void supernode_free(struct supernode *sn)
{
	if (!sn)
		return;
	if (sn->cfg.gc)
		sn->cfg.gc->release = NULL;
	for (int i = 0; i < sn->ntasks; i++)
		task_free(sn->tasks[i]);
	free(sn->tasks);
	parent_free(sn->parent);
	pieceserve_close(&sn->ps);
	free(sn);
}
