/* The peer engine: per task one download (struct dl) that registers with a supernode, fetches
 * assigned pieces from other peers (checked against the supernode's checksums), reports, keeps its
 * registration alive while it seeds, and falls back to the source when no supernode answers.
 *
 * How it works: one control request (register, then work) is in flight per download, except that
 * news (a finished piece) sends a fresh work request at once, which the supernode treats as
 * superseding the one it holds. Piece fetches run concurrently, each writing through its own store
 * piece writer. Watchers (struct swarm_dl) hang off a download and get its events; events caused
 * by swarm_dl_start itself are delivered from a zero timer so no callback runs inside an API call. */
#include "swarm/peer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/config.h"
#include "core/df.h"
#include "core/log.h"
#include "core/monotime.h"
#include "core/proto.h"
#include "swarm/answer.h"
#include "swarm/auth.h"
#include "swarm/common.h"
#include "swarm/hasher.h"
#include "swarm/pieceserve.h"
#include "swarm/piecesum.h"
#include "swarm/source.h"

/* Piece fetches in flight per download: the top of [supernode] max_down's range, so a supernode that
 * keeps to max_down never hands out more than fit (more, e.g. after it forgot some: "busy") */
#define MAX_FETCHES 64
#define MAX_SUPERNODES CONFIG_MAX_SUPERNODES /* config_set refuses longer lists */
#define REPORTS_CAP 16384                    /* piece reports waiting for the next work request */
#define CTL_TIMEOUT 30.0
/* A registration may wait for the supernode's first answer from the source, which gives up after
 * its own 30 s (the client's default first-byte timeout): waiting longer here lets that cause come
 * back ("source ...: timeout") instead of this side's "no supernode answered" and a second 30 s
 * spent trying the same silent source straight. */
#define REGISTER_TIMEOUT (CTL_TIMEOUT + 15.0)
/* A registration may rightly wait that long, but a supernode that took it and hangs (its loop stuck,
 * the process stopped: the kernel still completes connections) should not cost all of it: after
 * PROBE_AFTER s of waiting, and again every PROBE_AFTER s, GET /v1/ping; no answer to that within
 * PROBE_TIMEOUT s is a hung supernode, and the next one (or the source) is asked at once: one that
 * cannot answer a ping for 10 s is not restarting. A download in swarm mode is watched alike
 * (sn_watch_cb): waiting WATCH_AFTER s on the supernode (a work request, a piece it sends) without
 * a byte from it asks the same question. */
#define PROBE_AFTER 5.0
#define PROBE_TIMEOUT 10.0
/* In swarm mode: a live supernode answers a held work request within its 10 s hold (and sends a
 * piece's bytes at once), so only past that is silence suspicious: no ping for a download that
 * merely waits, even with thousands waiting on a slow source. Its loop answers a ping at once. */
#define WATCH_AFTER 11.0
#define WATCH_TIMEOUT 5.0
#define HEARTBEAT 10.0
#define PARK_AFTER 5.0   /* seconds a seeded task's pieces may go unasked before its files are closed */
#define RETRY_FIRST 0.25 /* the first wait before asking a lost supernode again; doubles up to RETRY_MAX */
#define RETRY_MAX 4.0
#define PIECE_START 5.0 /* seconds a piece transfer may take to start (connect, first byte) */
#define LATE_MIN 2.0    /* near the end, a piece is late after max(this, LATE_FACTOR x the usual) */
#define LATE_FACTOR 4.0
#define UNREAD_OURS 4096 /* bytes of a piece waiting in our socket that make its slowness ours */
#define BACKOFF_AFTER 3  /* failed piece fetches in a row before work requests back off */
#define BACKOFF_MIN 0.05
#define BACKOFF_MAX 2.0

enum mode { M_START, M_REGISTER, M_SWARM, M_DIRECT, M_SEEDING, M_FAILED };

struct dl;

struct fetch {
	struct dl *d;
	struct http_fetch *f;
	int active, writing;
	uint32_t piece, size, uploader;
	struct digest_piece_sum sum; /* the supernode's word for the piece */
	char addr[96];
	double t_start, t_first; /* when asked for, first byte (for debug-level timing lines) */
	double deadline;         /* seconds after t_start: given up and charged to the uploader */
	ev_timer timer;          /* the deadline, and the late check near the end */
	struct store_piece_writer w;
	br_sha256_context sha; /* the bytes so far, when sum is SHA-256 (the store hashes xxh3 itself) */
	/* The end game's second copy of a piece another fetch is writing: the store takes one writer per
	 * piece, so this one keeps its bytes here and writes them only if it arrives first. */
	uint8_t *buf;
	uint32_t got;
};

struct ctl {
	struct dl *d;
	struct ctl *next; /* d->ctls: every control request in flight */
	struct http_fetch *f;
	int is_register;
	int status;
	double t_sent;
	char *body;
	size_t len;
	ev_timer probe_after;     /* a registration: asks whether the supernode is alive (probe_cb) */
	struct http_fetch *probe; /* that question in flight */
};

struct swarm_dl {
	struct dl *d;
	struct swarm_dl *next;
	struct swarm_dl_cfg cfg;
	int meta_sent;
	ev_timer kick; /* delivers what swarm_dl_start learned, from the loop */
};

struct dl {
	struct swarm_peer *sp;
	struct dl *next;
	enum mode mode;
	char id[TASKID_MAX];
	char *url, *headers;     /* the real URL and the source request lines: memory only */
	char *shown;             /* the URL as messages and the store show it (redacted) */
	char *filter;            /* the query parameters its id leaves out */
	char via[PROTO_VIA_CAP]; /* its registration's `via` line ("" none) */
	int digest_elsewhere;    /* the watcher checks the whole file (swarm_dl_cfg) */
	int in_order;            /* a watcher streams it from the start (swarm_dl_cfg) */
	int leave_after;         /* no_seed: leave once the last reports are answered */
	int dormant;             /* seeding, but the supernode forgot the task as idle: left out of heartbeats */
	struct digest_spec digest;
	int cur, handle;                   /* position in order[], our handle at that supernode */
	char secret[PROTO_SECRET_HEX + 1]; /* that registration's secret, carried by its later requests */
	int order[MAX_SUPERNODES];         /* supernodes by rendezvous hash of the task id: all hosts agree */
	int tried;                         /* supernodes failed in a row */
	int registered;                    /* a supernode took this download once: losing it is an outage to ride out */
	int declared_have;                 /* the registration in flight named pieces held here (`have`) */
	double lost_at, backoff;           /* when the outage began (0: none), the next wait before asking again */
	ev_timer retry;                    /* asks again after backoff (mode M_REGISTER with nothing in flight) */
	struct store_task *st;
	struct source *src;
	struct http_fetch *ctl; /* the latest control request (older ones may still be held) */
	struct ctl *ctls;
	/* What only a transfer needs, allocated when one starts and freed once the download is over
	 * (idle_release): a host seeds thousands of tasks for months, and these were 80 KB of each */
	char *reports; /* REPORTS_CAP bytes, or NULL */
	size_t rlen;
	struct fetch *fetches; /* MAX_FETCHES slots, or NULL */
	int nactive;
	double piece_secs;          /* moving average of a piece fetch's duration here (0: none yet) */
	int fail_streak;            /* piece fetches failed in a row (work requests back off) */
	double last_work;           /* when the last work request went out */
	ev_timer work_backoff;      /* the backed-off work request */
	double last_progress;       /* the last piece byte (or registration) in swarm mode */
	double last_piece;          /* the last piece that arrived whole and right (or registration) */
	ev_timer stall;             /* no progress for [get] stall_timeout: to the source */
	ev_timer sn_watch;          /* swarm mode: is the supernode we wait on alive? (sn_watch_cb) */
	struct http_fetch *sn_ping; /* that question in flight */
	double sn_heard;            /* the last answer or piece byte from the supernode */
	char last_fail[160];        /* the last failed piece, for the stall message */
	char super_failed[320];     /* the supernode failed the task: its reason ("" otherwise) */
	struct swarm_dl_stats stats;
	char sup_sha256[80];
	/* The digest given (d->digest), computed by a worker as the prefix from byte 0 lands, so the
	 * check at the end waits for the last pieces' bytes only, and the loop keeps serving meanwhile */
	struct hasher *hasher;
	uint32_t hashed; /* pieces [0, hashed) handed to it */
	uint64_t hashed_bytes;
	int hash_broken;     /* it could not start: one pass at the end instead */
	int awaiting_digest; /* every piece is here; completion waits for the hasher */
	int meta_known;
	int64_t length;
	struct swarm_dl *watchers;
	struct http_fetch *leave_fetch;    /* our leave message in flight */
	char piece_key[PIECE_KEY_HEX + 1]; /* the supernode's key for the task's pieces ("" none) */
	int leave_counted;                 /* swarm_peer_leave waits for it */
	int gone; /* left for good (swarm_peer_leave, leave_now): never registers again, whatever a
		   * late answer says (a work request overtaken by the leave is answered 410) */
	/* Another process of this store downloads the task (it holds the writer lock): this one looks
	 * again every WRITER_POLL seconds until it finished (then exports) or let go (then resumes) */
	ev_timer writer_wait;
	uint64_t writer_bytes; /* its present bytes at the last look that saw them grow */
	double writer_seen;    /* when they last grew */
	int await_writer;      /* the source found the task held: wait once the source has ended */
};

struct swarm_peer {
	struct swarm_peer_cfg cfg;
	const char *scheme; /* "https" when the cluster speaks TLS */
	char supers[MAX_SUPERNODES][CONFIG_SUPERNODE_NAME_MAX];
	int nsupers;
	char token_hdr[AUTH_HEADER_MAX];
	char host_id[33]; /* this store's peer id (DATA/peer-id), "" if it cannot be had */
	struct pieceserve ps;
	struct dl *dls;
	ev_timer beat;
	int leave_pending; /* swarm_peer_leave: answers still awaited */
	/* the leaves of refused registration answers in flight (refuse_registration); more at once go
	 * unawaited */
	struct http_fetch *refused[8];
	int refused_leaves;
	void (*leave_done)(void *ctx);
	void *leave_ctx;
};

static void send_work(struct dl *d);
static void cancel_ctls(struct dl *d);
static void hash_reset(struct dl *d);

const char *swarm_dl_super_failure(const struct swarm_dl *w)
{
	return w->d->super_failed[0] ? w->d->super_failed : NULL;
}

/* The supernode this download talks to now. */
static const char *super_of(const struct dl *d)
{
	return d->sp->supers[d->order[d->cur]];
}
static void start_direct(struct dl *d, const char *why);
static void maybe_complete(struct dl *d);
static void fetch_timer_arm(struct fetch *f);
static int send_leave(struct dl *d);
static void leave_now(struct dl *d);
static struct http_fetch *
leave_request(struct dl *d, void (*on_done)(struct http_fetch *f, int rc, const char *msg, void *ctx), void *ctx);
static void released_left(struct http_fetch *f, int rc, const char *msg, void *ctx);
static void wait_for_writer(struct dl *d);

/* ---- events to watchers ---- */

static void send_meta(struct dl *d)
{
	d->meta_known = 1;
	d->length = d->st ? store_task_length(d->st) : -1;
	for (struct swarm_dl *w = d->watchers; w; w = w->next)
		if (!w->meta_sent && w->cfg.on_meta) {
			w->meta_sent = 1;
			w->cfg.on_meta(w, d->length, w->cfg.ctx);
		}
}

static void hash_prefix(struct dl *d, int final);

static void send_piece(struct dl *d, uint32_t piece)
{
	hash_prefix(d, 0);
	for (struct swarm_dl *w = d->watchers; w; w = w->next)
		if (w->cfg.on_piece)
			w->cfg.on_piece(w, piece, w->cfg.ctx);
}

/* Ends every watcher: they are detached first, so callbacks may start or cancel others freely. */
static void send_done(struct dl *d, int rc, int code, const char *msg)
{
	struct swarm_dl *list = d->watchers;
	d->watchers = NULL;
	while (list) {
		struct swarm_dl *w = list;
		list = w->next;
		ev_timer_stop(d->sp->cfg.loop, &w->kick);
		if (rc == DF_OK && !w->meta_sent && w->cfg.on_meta)
			w->cfg.on_meta(w, d->length, w->cfg.ctx);
		w->cfg.on_done(w, rc, code, msg, w->cfg.ctx);
		free(w);
	}
}

/* Ends a fetch without a word to anyone: its transfer, its writer, its timer. */
static void fetch_stop(struct fetch *f)
{
	if (f->f)
		http_fetch_cancel(f->f);
	f->f = NULL;
	if (f->writing)
		store_piece_abort(&f->w);
	free(f->buf);
	f->buf = NULL;
	f->got = 0;
	ev_timer_stop(f->d->sp->cfg.loop, &f->timer);
	if (f->active)
		f->d->nactive--;
	f->writing = f->active = 0;
}

static void stop_fetches(struct dl *d)
{
	for (int i = 0; d->fetches && i < MAX_FETCHES; i++)
		if (d->fetches[i].active)
			fetch_stop(&d->fetches[i]);
}

/* Frees what only a transfer needs once the download is over (from a timer: never under a fetch's
 * own callback, which may still use its slot). */
static void idle_release(struct dl *d)
{
	if (d->mode == M_SWARM || d->mode == M_START || d->nactive)
		return;
	free(d->fetches);
	d->fetches = NULL;
	if (!d->rlen) {
		free(d->reports);
		d->reports = NULL;
	}
}

/* ---- the whole-file digest, as the pieces land ---- */

static void hash_reset(struct dl *d)
{
	hasher_free(d->hasher);
	d->hasher = NULL;
	d->hashed = 0;
	d->hashed_bytes = 0;
	d->hash_broken = d->awaiting_digest = 0;
}

static void maybe_complete(struct dl *d);

static void on_hashed(void *ctx)
{
	struct dl *d = ctx;
	if (d->awaiting_digest) {
		d->awaiting_digest = 0;
		maybe_complete(d);
	}
}

/* Hands the pieces now contiguous from byte 0 to the hasher (started at the first), when a digest
 * was given and the length is known (the pieces' lengths are then final). */
static void hash_prefix(struct dl *d, int final)
{
	uint32_t n = d->st ? store_task_piece_count(d->st) : 0;
	if (!d->digest.len || !n || d->hash_broken)
		return;
	while (d->hashed < n && store_task_has(d->st, d->hashed))
		d->hashed_bytes += store_task_piece_len(d->st, d->hashed++);
	if (!d->hasher && d->hashed > 0) {
		int fd = store_task_open_data(d->st);
		/* nice 0: someone waits for this digest (df proxy holds the blob's last byte for it) */
		if (fd < 0 ||
		    !(d->hasher = hasher_start_nice(d->sp->cfg.loop, fd, d->digest.len == 16, 0, on_hashed, d))) {
			log_warn("%s: cannot start the digest thread (%s); hashing at the end", d->shown,
				 strerror(errno));
			d->hash_broken = 1;
			return;
		}
	}
	if (d->hasher)
		hasher_feed(d->hasher, d->hashed_bytes, final && d->hashed == n);
}

/* 1 while the hasher still works on the complete file (on_hashed runs maybe_complete again). */
static int digest_pending(struct dl *d)
{
	if (!d->hasher)
		return 0;
	hash_prefix(d, 1);
	if (hasher_result(d->hasher, NULL, NULL, NULL, 0) != DF_AGAIN)
		return 0;
	d->awaiting_digest = 1;
	return 1;
}

static void fail_dl(struct dl *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_dl(struct dl *d, int code, const char *fmt, ...)
{
	char full[16384], msg[768];
	va_list ap;
	if (d->mode == M_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(full, sizeof full, fmt, ap);
	va_end(ap);
	swarm_msg_fit(msg, sizeof msg, full); /* a long URL first: the cause after it stays */
	d->mode = M_FAILED;
	hash_reset(d);
	ev_timer_stop(d->sp->cfg.loop, &d->retry);
	ev_timer_stop(d->sp->cfg.loop, &d->work_backoff);
	ev_timer_stop(d->sp->cfg.loop, &d->stall);
	stop_fetches(d);
	cancel_ctls(d);
	source_free(d->src);
	d->src = NULL;
	send_done(d, DF_ERR, code, msg);
}

/* ---- the store task ---- */

/* Another process of this store is t's writer and t is incomplete: its pieces cannot be written
 * here (each fetch failed until the stall timeout sent the download to the source). */
static int held_elsewhere(const struct store_task *t)
{
	return !store_task_writable(t) && !store_task_complete(t);
}

/* open_task's answer when another process of this store is downloading the task right now */
#define OPEN_HELD 1

/* Opens or creates the task for what the supernode or the source said; a stored task of another
 * version is dropped (never a mix of two versions). DF_OK; OPEN_HELD when another process of this
 * store is downloading it (the caller waits for it: wait_for_writer); DF_ERR with the cause in err.
 * Fails nothing itself: the source calls it from inside its own callback, where the download (and
 * the source with it) must not be freed. */
static int open_task(struct dl *d, int64_t length, uint32_t piece_size, const char *etag, const char *lm, char *err,
		     size_t errlen)
{
	struct swarm_peer *sp = d->sp;
	/* no expected digest in the info: the store's digests are only the ones verified (check_digest) */
	struct store_task_info info = {
		.length = length,
		.piece_size = piece_size,
		.url = d->shown,
		.etag = etag,
		.last_modified = lm,
	};
	if (d->st) {
		const struct store_task_info *o = store_task_info(d->st);
		if (o->piece_size == piece_size && swarm_same_version(o, etag, lm) &&
		    (length < 0 || o->length < 0 || o->length == length)) {
			/* opened at the start (dl_begin), maybe while another process was its writer */
			return held_elsewhere(d->st) ? OPEN_HELD : DF_OK;
		}
		log_info("the stored copy of %s is another version; starting over", d->shown);
		hash_reset(d);
		pieceserve_forget(&sp->ps, d->id);
		store_task_close(d->st);
		d->st = NULL;
		d->stats.resumed = 0;
		if (store_task_remove(sp->cfg.store, d->id, err, errlen) != DF_OK)
			return DF_ERR;
	}
	pieceserve_drop_readonly(&sp->ps, d->id);
	if (sp->cfg.gc)
		storegc_reserve(sp->cfg.gc, length > 0 ? (uint64_t)length : 0); /* room first (GC) */
	d->st = store_task_open(sp->cfg.store, d->id, &info, STORE_CREATE, err, errlen);
	if (!d->st && errno == ESTALE && store_task_remove(sp->cfg.store, d->id, NULL, 0) == DF_OK)
		d->st = store_task_open(sp->cfg.store, d->id, &info, STORE_CREATE, err, errlen);
	if (!d->st && errno == EBUSY)
		return OPEN_HELD; /* being created by another process right now */
	if (!d->st)
		return DF_ERR;
	pieceserve_add_task(&sp->ps, d->st);
	if (held_elsewhere(d->st))
		return OPEN_HELD;
	send_meta(d);
	return DF_OK;
}

/* Checks the whole file against the digest given, else the supernode's; DF_OK when none is known. */
static int check_digest(struct dl *d)
{
	char err[512], want_hex[65], got_hex[65];
	/* Only a digest the user gave: every piece already matched the supernode's checksum, so the file
	 * is the supernode's copy, and re-hashing it against the supernode's own digest would add a
	 * CPU-bound pass per host (the bench saw 3-9 s of tail) and no protection. */
	struct digest_spec want = d->digest;
	if (!want.len || d->digest_elsewhere)
		return DF_OK;
	const struct store_task_info *i = store_task_info(d->st);
	char have[80];
	digest_hex(want.bytes, want.len, want_hex);
	snprintf(have, sizeof have, "sha256:%s", want_hex);
	if (want.len == 32 ? strcmp(i->digest, have) == 0 : strcmp(i->md5, want_hex) == 0)
		return DF_OK; /* verified when it completed (only verified digests are recorded) */
	uint8_t md5[16], sha[32];
	int r = d->hasher ? hasher_result(d->hasher, md5, sha, err, sizeof err) : DF_ERR;
	if (r == DF_ERR && d->hasher)
		log_warn("%s: digest thread: %s; one pass instead", d->shown, err);
	hash_reset(d);
	if (r != DF_OK && store_task_file_digests(d->st, want.len == 16 ? md5 : NULL, want.len == 32 ? sha : NULL, err,
						  sizeof err) != DF_OK) {
		fail_dl(d, DF_EXIT_FAIL, "get %s: %s", d->shown, err);
		return DF_ERR;
	}
	const uint8_t *got = want.len == 16 ? md5 : sha;
	if (memcmp(got, want.bytes, want.len) == 0) {
		store_task_set_digests(d->st, want.len == 16 ? md5 : NULL, want.len == 32 ? sha : NULL, NULL, 0);
		return DF_OK;
	}
	digest_hex(want.bytes, want.len, want_hex);
	digest_hex(got, want.len, got_hex);
	/* never serve these bytes again */
	pieceserve_forget(&d->sp->ps, d->id);
	store_task_close(d->st);
	d->st = NULL;
	store_task_remove(d->sp->cfg.store, d->id, NULL, 0);
	fail_dl(d, DF_EXIT_DIGEST, "get %s: digest mismatch: expected %s:%s, got %s:%s", d->shown, want.algo, want_hex,
		want.algo, got_hex);
	return DF_ERR;
}

/* Every piece is here and written: check (once the hasher has the digest), tell the watchers, keep
 * seeding. A direct download (M_DIRECT) comes here once its source is done. */
static void maybe_complete(struct dl *d)
{
	if ((d->mode != M_SWARM && d->mode != M_DIRECT) || d->src || !d->st || d->nactive ||
	    !store_task_complete(d->st))
		return;
	if (digest_pending(d))
		return;
	int swarm = d->mode == M_SWARM;
	if (check_digest(d) != DF_OK)
		return;
	hash_reset(d);
	d->mode = swarm ? M_SEEDING : M_DIRECT;
	if (swarm && d->rlen)
		send_work(d); /* the supernode must learn we hold the last pieces */
	if (swarm && d->sp->cfg.no_seed) {
		/* a downloader only: it leaves once those reports are answered (so they count) */
		d->mode = M_DIRECT;
		d->leave_after = 1;
		if (!d->ctls)
			leave_now(d);
	}
	if (!d->meta_known)
		send_meta(d);
	send_done(d, DF_OK, DF_EXIT_OK, NULL);
}

/* ---- reports and piece fetches ---- */

static void report(struct dl *d, const char *kind, uint32_t piece, uint32_t uploader, const char *why)
{
	if (strcmp(kind, "ok") == 0)
		d->fail_streak = 0;
	else if (strcmp(kind, "busy") != 0) {
		d->fail_streak++;
		snprintf(d->last_fail, sizeof d->last_fail, "piece %u: %s", piece, why ? why : "checksum mismatch");
	}
	if (!d->reports && !(d->reports = malloc(REPORTS_CAP)))
		return; /* out of memory: the supernode frees the assignment after a while (see "idle") */
	int n = snprintf(d->reports + d->rlen, REPORTS_CAP - d->rlen, "%s: %u %u%s%s\n", kind, piece, uploader,
			 why ? " " : "", why ? why : "");
	if (n > 0 && (size_t)n < REPORTS_CAP - d->rlen)
		d->rlen += (size_t)n;
}

/* "idle": nothing is being fetched here, so any assignment the supernode still counts as in flight
 * to us was lost with its answer (it frees them after a while; see docs/PROTOCOL.md). */
static void report_idle(struct dl *d)
{
	if (!d->reports && !(d->reports = malloc(REPORTS_CAP)))
		return;
	if (d->rlen + 5 < REPORTS_CAP) {
		memcpy(d->reports + d->rlen, DF_LIT("idle\n"));
		d->rlen += 5;
	}
}

static void fetch_end(struct fetch *f)
{
	struct dl *d = f->d;
	f->f = NULL; /* ended by the client (or cancelled by the caller) */
	fetch_stop(f);
	if (d->mode != M_SWARM)
		return;
	if (store_task_complete(d->st))
		maybe_complete(d);
	else
		send_work(d);
}

static int fetch_body(struct http_fetch *hf, const char *data, size_t len, void *ctx)
{
	(void)hf;
	struct fetch *f = ctx;
	char err[256];
	if (!f->writing && !f->buf)
		return DF_OK;
	if (!f->t_first)
		f->t_first = monotime_now();
	f->d->last_progress = monotime_now();
	if (f->addr[0] == 's' && strcmp(f->addr, "super") == 0)
		f->d->sn_heard = f->d->last_progress;
	if (f->buf) { /* a second copy: kept in memory */
		if (len > f->size - f->got)
			return DF_ERR; /* more than the piece holds: a bad transfer, reported as failed */
		memcpy(f->buf + f->got, data, len);
		f->got += (uint32_t)len;
	} else if (store_piece_append(&f->w, data, len, err, sizeof err) != DF_OK) {
		if (errno == EINVAL)
			return DF_ERR; /* more than the piece holds: a bad transfer, reported as failed */
		fail_dl(f->d, DF_EXIT_FAIL, "get %s: %s", f->d->shown, err);
		return DF_ERR;
	}
	if (f->sum.algo == DIGEST_PIECE_SHA256)
		digest_sha256_update(&f->sha, data, len);
	return DF_OK;
}

static int sha_matches(struct fetch *f)
{
	uint8_t got[DIGEST_SHA256_LEN];
	br_sha256_out(&f->sha, got);
	return memcmp(got, f->sum.bytes, DIGEST_SHA256_LEN) == 0;
}

/* Piece f->piece is in the store, through f: report it with its body time (the supernode measures
 * uploaders by it, docs/PROTOCOL.md), and end the end game's other copy, the loser, without a word
 * (the winner's ok ends its transfer at the scheduler; no failure is charged to its uploader). */
static void piece_arrived(struct fetch *f)
{
	struct dl *d = f->d;
	char us[24];
	d->last_piece = monotime_now();
	snprintf(us, sizeof us, "%lld", (long long)(1e6 * (monotime_now() - f->t_first)));
	report(d, "ok", f->piece, f->uploader, us);
	log_debug("piece %u from %s: first byte after %.1f ms, body %.1f ms, %d in flight @%.3f", f->piece, f->addr,
		  1000 * (f->t_first - f->t_start), 1000 * (monotime_now() - f->t_first), d->nactive, monotime_now());
	for (int i = 0; i < MAX_FETCHES; i++) {
		struct fetch *o = &d->fetches[i];
		if (o != f && o->active && o->piece == f->piece) {
			log_info("piece %u of %s: the copy from %s arrived first; cancelling the one from %s", f->piece,
				 d->shown, f->addr, o->addr);
			fetch_stop(o);
		}
	}
	double took = monotime_now() - f->t_start;
	d->piece_secs = d->piece_secs > 0 ? 0.8 * d->piece_secs + 0.2 * took : took;
	/* what is usual here just changed: fetches armed before may be late sooner */
	for (int i = 0; i < MAX_FETCHES; i++)
		if (d->fetches[i].active && &d->fetches[i] != f)
			fetch_timer_arm(&d->fetches[i]);
	if (strcmp(f->addr, "super") == 0)
		d->stats.from_super += f->size;
	else
		d->stats.from_peers += f->size;
	send_piece(d, f->piece);
}

/* The end of a second copy (its bytes in f->buf). First and whole and right: the other fetch, still
 * writing the piece, is stopped and these bytes are written instead. Not first: nothing to do (the
 * winner already cancelled it, or the piece came another way). A failure is reported as one. */
static void copy_done(struct fetch *f, int rc, const char *msg)
{
	struct dl *d = f->d;
	char err[256];
	if (store_task_has(d->st, f->piece)) {
		fetch_end(f);
		return;
	}
	if (rc == DF_OK && f->got != f->size) {
		snprintf(err, sizeof err, "short reply: %u of %u bytes", f->got, f->size);
		rc = DF_ERR;
		msg = err;
	}
	if (rc != DF_OK) {
		report(d, "fail", f->piece, f->uploader, msg ? msg : "transfer failed");
		log_info("piece %u of %s from %s failed: %s", f->piece, d->shown, f->addr,
			 msg ? msg : "transfer failed");
		fetch_end(f);
		return;
	}
	if (f->sum.algo == DIGEST_PIECE_SHA256) {
		digest_sha256_update(&f->sha, f->buf, f->got);
		if (!sha_matches(f)) {
			log_warn("piece %u of %s from %s does not match the supernode's sha256; refetching elsewhere",
				 f->piece, d->shown, f->addr);
			report(d, "bad", f->piece, f->uploader, NULL);
			fetch_end(f);
			return;
		}
	}
	/* the other copy holds the store's writer for this piece: it is the loser now */
	for (int i = 0; i < MAX_FETCHES; i++) {
		struct fetch *o = &d->fetches[i];
		if (o != f && o->active && o->piece == f->piece && o->writing) {
			log_info("piece %u of %s: the copy from %s arrived first; cancelling the one from %s", f->piece,
				 d->shown, f->addr, o->addr);
			fetch_stop(o);
		}
	}
	if (store_piece_write(d->st, f->piece, f->buf, f->got, f->sum.algo == DIGEST_PIECE_XXH3 ? f->sum.bytes : NULL,
			      err, sizeof err) == DF_OK) {
		piece_arrived(f);
	} else if (errno == EBADMSG) {
		log_warn("piece %u of %s from %s does not match the supernode's checksum; refetching elsewhere",
			 f->piece, d->shown, f->addr);
		report(d, "bad", f->piece, f->uploader, NULL);
	} else {
		fail_dl(d, DF_EXIT_FAIL, "get %s: %s", d->shown, err);
		return;
	}
	fetch_end(f);
}

static void fetch_done(struct http_fetch *hf, int rc, const char *msg, void *ctx)
{
	(void)hf;
	struct fetch *f = ctx;
	struct dl *d = f->d;
	char err[256];
	if (f->buf) {
		copy_done(f, rc, msg);
		return;
	}
	if (!f->writing) {
		fetch_end(f);
		return;
	}
	f->writing = 0;
	char why[128];
	if (rc == DF_OK && f->w.done != f->size) {
		/* a well-formed reply that is short (a Content-Length under the piece's size): the uploader's
		 * failure, not the store's; the piece goes to someone else */
		snprintf(why, sizeof why, "short reply: %u of %u bytes", f->w.done, f->size);
		rc = DF_ERR;
		msg = why;
	}
	if (rc != DF_OK) {
		store_piece_abort(&f->w);
		report(d, "fail", f->piece, f->uploader, msg ? msg : "transfer failed");
		log_info("piece %u of %s from %s failed: %s; asking elsewhere", f->piece, d->shown, f->addr,
			 msg ? msg : "transfer failed");
	} else if (f->sum.algo == DIGEST_PIECE_SHA256 && !sha_matches(f)) {
		/* checked before the store marks it present: the bytes written stay unclaimed */
		store_piece_abort(&f->w);
		log_warn("piece %u of %s from %s does not match the supernode's sha256; refetching elsewhere", f->piece,
			 d->shown, f->addr);
		report(d, "bad", f->piece, f->uploader, NULL);
	} else if (store_piece_finish(&f->w, f->sum.algo == DIGEST_PIECE_XXH3 ? f->sum.bytes : NULL, err, sizeof err) ==
		   DF_OK) {
		piece_arrived(f);
	} else if (errno == EBADMSG) {
		log_warn("piece %u of %s from %s does not match the supernode's checksum; refetching elsewhere",
			 f->piece, d->shown, f->addr);
		report(d, "bad", f->piece, f->uploader, NULL);
	} else if (errno == EINVAL) {
		report(d, "fail", f->piece, f->uploader, "wrong length");
	} else {
		fail_dl(d, DF_EXIT_FAIL, "get %s: %s", d->shown, err);
		return;
	}
	fetch_end(f);
}

/* Seconds a piece of size bytes may take from its request to its last byte: time to start plus its
 * bytes at the minimum rate ([get] min_piece_rate). Under a download limit (--limit-rate) every
 * transfer is slowed by it, so the floor is at most the limit's share of a transfer. No minimum
 * rate: a deadline too far to matter (the end game still applies). */
static double piece_deadline(const struct swarm_peer *sp, uint32_t size)
{
	uint64_t rate = sp->cfg.min_piece_rate;
	if (!rate)
		return 1e9;
	if (sp->cfg.limit_rate && sp->cfg.limit_rate / MAX_FETCHES < rate)
		rate = DF_MAX(sp->cfg.limit_rate / MAX_FETCHES, 1);
	return PIECE_START + (double)size / (double)rate;
}

/* After how long a piece is late near the end of a download (then it is asked elsewhere): a few times
 * what pieces take here; never before one has arrived. */
static double piece_late_after(const struct dl *d)
{
	if (d->sp->cfg.no_late)
		return 1e9;
	return d->piece_secs > 0 ? DF_MAX(LATE_MIN, LATE_FACTOR * d->piece_secs) : 1e9;
}

/* The end game: every piece still missing is being fetched, so nothing else is waiting for a slot. */
static int end_game(const struct dl *d)
{
	return d->st && store_task_length(d->st) >= 0 &&
	       store_task_piece_count(d->st) - store_task_present(d->st) <= (uint32_t)d->nactive;
}

/* Gives a piece up: the uploader is charged (the supernode counts the failure and drops its claim on
 * the piece), and the next work request gets the piece from someone else. */
static void fetch_give_up(struct fetch *f, const char *why)
{
	struct dl *d = f->d;
	log_info("piece %u of %s from %s: %s; asking elsewhere", f->piece, d->shown, f->addr, why);
	report(d, "fail", f->piece, f->uploader, why);
	fetch_stop(f);
	fetch_end(f);
}

/* Arms f's timer for its next look: its deadline, or the moment it becomes late if sooner. */
static void fetch_timer_arm(struct fetch *f)
{
	struct ev_loop *loop = f->d->sp->cfg.loop;
	double took = monotime_now() - f->t_start, late = piece_late_after(f->d);
	double next = took >= late ? DF_MIN(f->deadline - took, 1.0) : DF_MIN(f->deadline, late) - took;
	ev_timer_stop(loop, &f->timer);
	ev_timer_set(&f->timer, DF_MAX(next, 0.01), 0);
	ev_timer_start(loop, &f->timer);
}

static void fetch_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct fetch *f = DF_CONTAINER_OF(t, struct fetch, timer);
	struct dl *d = f->d;
	char why[160];
	double took = monotime_now() - f->t_start, late = piece_late_after(d);
	uint32_t got = f->writing ? f->w.done : f->got;
	/* Bytes of this piece wait unread in our own socket: the uploader sent them and this process
	 * did not take them (its --limit-rate: 64 fetches share it in turn, so under 1 MB/s each gets
	 * 16 KB/s, below the minimum piece rate; before the turns, max_down_64 saw one at 0.5 KB/s).
	 * That pace is ours, so the uploader is neither charged nor asked again near the end (a second
	 * copy would only split the same limit): the fetch gets another deadline. An uploader that
	 * trickles leaves nothing waiting, and is cut off and charged as before. */
	size_t waiting = f->f && got < f->size ? http_fetch_unread(f->f) : 0;
	int ours = waiting > 0 && waiting >= DF_MIN((size_t)(f->size - got), (size_t)UNREAD_OURS);
	if (took >= f->deadline && ours) {
		f->deadline = took + piece_deadline(d->sp, f->size - got);
		fetch_timer_arm(f);
		return;
	}
	if (took >= f->deadline) {
		snprintf(why, sizeof why, "too slow: %u of %u bytes in %.0f s (deadline %.0f s)", got, f->size, took,
			 f->deadline);
		fetch_give_up(f, why);
		return;
	}
	if (took >= late && end_game(d) && !ours) {
		snprintf(why, sizeof why, "late near the end: %u of %u bytes in %.1f s (pieces take %.1f s here)", got,
			 f->size, took, d->piece_secs);
		fetch_give_up(f, why);
		return;
	}
	/* not yet: look again at the deadline, or each second once late (the end game may begin) */
	fetch_timer_arm(f);
}

static void start_fetch(struct dl *d, const struct proto_assign *a)
{
	struct swarm_peer *sp = d->sp;
	char err[256], url[512];
	uint32_t len = store_task_piece_len(d->st, a->piece);
	if (a->size == 0 || a->size > len || (store_task_length(d->st) >= 0 && a->size != len)) {
		/* past the end, or a size the piece does not have: no fetch (a second copy's buffer is
		 * sized by it), handed back with nobody charged */
		log_warn("supernode %s assigned piece %u of %s with %llu bytes; it has %u: ignored", super_of(d),
			 a->piece, d->shown, (unsigned long long)a->size, len);
		report(d, "busy", a->piece, a->uploader, NULL);
		return;
	}
	if (store_task_has(d->st, a->piece)) {
		/* a resumed piece the supernode could not vouch for at registration: check it now */
		uint8_t sum[DIGEST_SHA256_LEN];
		int same = a->sum.algo == DIGEST_PIECE_SHA256
				   ? piecesum_hash_stored(d->st, a->piece, sum, NULL, 0) == DF_OK &&
					     memcmp(sum, a->sum.bytes, 32) == 0
				   : store_task_checksum(d->st, a->piece, sum) == DF_OK &&
					     memcmp(sum, a->sum.bytes, 16) == 0;
		report(d, same ? "ok" : "fail", a->piece, a->uploader, same ? NULL : "stale local piece");
		return;
	}
	/* A fetch of the same piece is still running: the end game (the supernode names a second
	 * uploader for a piece that is late), or the scheduler forgot it (its uploader left). Both run;
	 * the first copy to arrive is kept and the other cancelled (piece_arrived). Two at most: a third
	 * assignment replaces the older ones. */
	if (!d->fetches && !(d->fetches = calloc(MAX_FETCHES, sizeof *d->fetches))) {
		report(d, "busy", a->piece, a->uploader, NULL); /* out of memory: handed back, nobody charged */
		return;
	}
	int copies = 0;
	for (int i = 0; i < MAX_FETCHES; i++)
		copies += d->fetches[i].active && d->fetches[i].piece == a->piece;
	for (int i = 0; i < MAX_FETCHES && copies >= 2; i++) {
		struct fetch *old = &d->fetches[i];
		if (old->active && old->piece == a->piece) {
			log_info("piece %u: assigned again (from %.*s), dropping the fetch from %s after %.1f ms",
				 a->piece, (int)a->addr.n, a->addr.p, old->addr,
				 1000 * (monotime_now() - old->t_start));
			fetch_stop(old);
			copies--;
		}
	}
	int writing = 0; /* whether the one left holds the store's writer */
	for (int i = 0; i < MAX_FETCHES; i++)
		writing |= d->fetches[i].active && d->fetches[i].piece == a->piece && d->fetches[i].writing;
	struct fetch *f = NULL;
	for (int i = 0; i < MAX_FETCHES && !f; i++)
		if (!d->fetches[i].active)
			f = &d->fetches[i];
	if (!f) {
		/* our own limit, not the uploader's failure: the supernode hands the piece out again and
		 * charges nobody (an old supernode skips the line and frees it when we say idle) */
		log_info("piece %u of %s: all %d fetch slots busy; handing it back", a->piece, d->shown, MAX_FETCHES);
		report(d, "busy", a->piece, a->uploader, NULL);
		return;
	}
	memset(f, 0, sizeof *f);
	f->d = d;
	ev_timer_init(&f->timer, fetch_timer_cb, 0, 0);
	f->piece = a->piece;
	f->size = (uint32_t)a->size;
	f->uploader = a->uploader;
	f->sum = a->sum;
	f->t_start = monotime_now();
	log_debug("piece %u assigned from %.*s, %d in flight @%.3f", a->piece, (int)a->addr.n, a->addr.p,
		  d->nactive + 1, f->t_start);
	br_sha256_init(&f->sha);
	if (slice_copy(a->addr, f->addr, sizeof f->addr) != 0) {
		report(d, "fail", a->piece, a->uploader, "bad address");
		return;
	}
	const char *host = strcmp(f->addr, "super") == 0 ? super_of(d) : f->addr;
	snprintf(url, sizeof url, "%s://%s/v1/piece/%s/%u", sp->scheme, host, d->id, f->piece);
	if (writing) {
		f->buf = malloc(f->size ? f->size : 1);
		if (!f->buf) {
			report(d, "busy", a->piece, a->uploader, NULL); /* our memory, not the uploader's fault */
			return;
		}
		log_info("piece %u of %s: a second copy from %s (the end game)", f->piece, d->shown, f->addr);
	} else if (store_piece_begin(&f->w, d->st, f->piece, err, sizeof err) != DF_OK) {
		report(d, "fail", a->piece, a->uploader, "cannot write piece");
		return;
	} else {
		f->writing = 1;
	}
	char hdrs[sizeof sp->token_hdr + PIECE_KEY_HEX + 32];
	snprintf(hdrs, sizeof hdrs, "%s%s%s%s", sp->token_hdr, d->piece_key[0] ? "X-DF-Piece-Key: " : "", d->piece_key,
		 d->piece_key[0] ? "\r\n" : "");
	struct http_request req = {
		.url = url,
		.headers = hdrs,
		.fail_status = 1,
		.what = "peer",
		.on_body = fetch_body,
		.on_done = fetch_done,
		.ctx = f,
		.connect_timeout = 5,
		.idle_timeout = sp->cfg.timeout,
	};
	f->active = 1;
	d->nactive++;
	f->f = http_client_request(sp->cfg.cluster, &req, err, sizeof err);
	if (!f->f) {
		fetch_stop(f);
		report(d, "fail", a->piece, a->uploader, err);
		return;
	}
	f->deadline = piece_deadline(sp, f->size);
	fetch_timer_arm(f);
}

/* ---- control answers ---- */

static void copy_capped(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Splits "etag X" / "lm X" / "len N" into the store's validators. */
static void version_parts(const char *v, char *etag, size_t ecap, char *lm, size_t lcap)
{
	etag[0] = lm[0] = 0;
	if (strncmp(v, DF_LIT("etag ")) == 0)
		copy_capped(etag, ecap, v + 5);
	else if (strncmp(v, DF_LIT("lm ")) == 0)
		copy_capped(lm, lcap, v + 3);
}

static void parse_answer(struct dl *d, const char *body, size_t len, struct answer *a, int start_fetches)
{
	answer_parse(body, len, a);
	const struct proto_assign *as = a->assign;
	int nas = a->nassign;
	if (a->digest[0])
		snprintf(d->sup_sha256, sizeof d->sup_sha256, "%s", a->digest);
	if (d->st && a->length >= 0 && store_task_length(d->st) < 0) {
		char err[256];
		if (store_task_set_length(d->st, a->length, err, sizeof err) != DF_OK) {
			fail_dl(d, DF_EXIT_FAIL, "get %s: %s", d->shown, err);
			return;
		}
		send_meta(d);
	}
	if (!start_fetches || d->mode != M_SWARM)
		return;
	for (int i = 0; i < nas; i++)
		if (as[i].sum.algo < d->sp->cfg.piece_digest) {
			/* a downgrade: the supernode's sums are weaker than this host requires; trusting them
			 * would let a peer with the token forge pieces */
			fail_dl(d, DF_EXIT_FAIL,
				"get %s: supernode %s hands out %s piece checksums, but [security] piece_digest = %s "
				"here: "
				"refusing its pieces (set piece_digest = %s on the supernode)",
				d->shown, super_of(d), digest_piece_algo_name(as[i].sum.algo),
				digest_piece_algo_name(d->sp->cfg.piece_digest),
				digest_piece_algo_name(d->sp->cfg.piece_digest));
			return;
		}
	for (int i = 0; i < nas && d->mode == M_SWARM; i++)
		start_fetch(d, &as[i]);
}

static int ctl_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	((struct ctl *)ctx)->status = r->status;
	return DF_OK;
}

static int ctl_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct ctl *c = ctx;
	if (c->len + len > (1u << 20))
		return DF_ERR;
	char *b = realloc(c->body, c->len + len + 1);
	if (!b)
		return DF_ERR;
	c->body = b;
	memcpy(b + c->len, data, len);
	c->len += len;
	b[c->len] = 0;
	return DF_OK;
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct dl *d = DF_CONTAINER_OF(w, struct dl, retry);
	if (d->mode == M_REGISTER)
		send_work(d);
}

/* The current supernode failed (why): the next in the list, else (retry: it did not answer at all)
 * ask them all again for a while if one had taken this download, else the source. */
static void next_supernode_or_direct(struct dl *d, const char *why, int retry)
{
	struct swarm_peer *sp = d->sp;
	log_warn("supernode %s: %s", super_of(d), why);
	if (d->st && store_task_complete(d->st) && d->mode == M_SEEDING) {
		d->mode = M_DIRECT; /* complete and verified already: just not announced */
		return;
	}
	d->cur = (d->cur + 1) % sp->nsupers;
	if (++d->tried < sp->nsupers) {
		d->mode = M_REGISTER;
		send_work(d);
		return;
	}
	d->tried = 0;
	/* every supernode failed in a row. One that had taken this download is likely restarting: ask
	 * again, backing off, for supernode_retry seconds; the pieces fetched meanwhile from peers carry
	 * over (the registration declares them), and the source is spared a copy per host */
	double now = monotime_now();
	if (retry && d->registered && sp->cfg.supernode_retry > 0) {
		if (!d->lost_at) {
			d->lost_at = now;
			d->backoff = RETRY_FIRST;
			log_warn("lost the supernode%s for %s; asking again for up to %.0f s before the source",
				 sp->nsupers > 1 ? "s" : "", d->shown, sp->cfg.supernode_retry);
		}
		double left = d->lost_at + sp->cfg.supernode_retry - now;
		if (left > 0) {
			cancel_ctls(d);
			d->mode = M_REGISTER;
			ev_timer_stop(sp->cfg.loop, &d->retry);
			ev_timer_set(&d->retry, DF_MIN(d->backoff, left), 0);
			ev_timer_start(sp->cfg.loop, &d->retry);
			d->backoff = DF_MIN(2 * d->backoff, RETRY_MAX);
			return;
		}
		log_warn("no supernode answered for %.0f s", now - d->lost_at);
	}
	if (d->st && store_task_complete(d->st) && !d->watchers) {
		d->mode = M_DIRECT; /* a seeder that could not announce itself again: nothing to fetch */
		return;
	}
	if (!sp->cfg.back_to_source) {
		fail_dl(d, DF_EXIT_NOSUPER, "get %s: no supernode answered (%s) and --no-back-to-source is set",
			d->shown, why);
		return;
	}
	char msg[400];
	snprintf(msg, sizeof msg, "no supernode answered (%s)", why);
	start_direct(d, msg);
}

static void work_backoff_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	send_work(DF_CONTAINER_OF(t, struct dl, work_backoff));
}

/* No piece byte from the swarm for [get] stall_timeout: whatever the reason (every uploader fails,
 * the supernode hands out nothing), the source is the way out, or exit 4 with --no-back-to-source. */
static void stall_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct dl *d = DF_CONTAINER_OF(t, struct dl, stall);
	double limit = d->sp->cfg.stall_timeout, now = monotime_now(), idle = now - d->last_progress;
	if (d->mode != M_SWARM || d->awaiting_digest)
		return;
	/* bytes that never make a piece (every reply too long, or failing its checksum, from an
	 * uploader never blacklisted: the supernode) are no progress either: past the time a piece may
	 * take, on top of the stall timeout, without one whole piece, it is a stall too */
	double piece_limit = limit + piece_deadline(d->sp, d->st ? store_task_piece_size(d->st) : 0);
	double since_piece = now - d->last_piece;
	if (idle < limit && since_piece < piece_limit) {
		ev_timer_set(t, DF_MIN(limit - idle, piece_limit - since_piece), 0);
		ev_timer_start(loop, t);
		return;
	}
	if (idle < limit)
		idle = since_piece;
	char why[400];
	snprintf(why, sizeof why, "no piece arrived from the swarm for %.0f s (supernode %s%s%s)", idle, super_of(d),
		 d->last_fail[0] ? "; last failure: " : "", d->last_fail);
	if (!d->sp->cfg.back_to_source) {
		fail_dl(d, DF_EXIT_NOSUPER, "get %s: %s and --no-back-to-source is set", d->shown, why);
		return;
	}
	ev_timer_stop(loop, &d->work_backoff);
	start_direct(d, why);
}

/* GET /v1/ping at d's supernode: is its loop running? NULL (logged) when it cannot even be asked. */
static struct http_fetch *ping_request(struct dl *d, double timeout,
				       void (*on_done)(struct http_fetch *f, int rc, const char *msg, void *ctx),
				       void *ctx)
{
	char url[512], err[256];
	snprintf(url, sizeof url, "%s://%s/v1/ping", d->sp->scheme, super_of(d));
	struct http_request req = {
		.method = "GET",
		.url = url,
		.what = "supernode",
		.on_done = on_done,
		.ctx = ctx,
		.connect_timeout = 3,
		.first_byte_timeout = timeout,
		.idle_timeout = timeout,
	};
	struct http_fetch *f = http_client_request(d->sp->cfg.cluster, &req, err, sizeof err);
	if (!f)
		log_debug("supernode %s: no liveness probe: %s", super_of(d), err);
	return f;
}

static void sn_watch_stop(struct dl *d)
{
	ev_timer_stop(d->sp->cfg.loop, &d->sn_watch);
	if (d->sn_ping)
		http_fetch_cancel(d->sn_ping);
	d->sn_ping = NULL;
}

static void sn_ping_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct dl *d = ctx;
	d->sn_ping = NULL;
	if (rc == DF_OK) { /* any answer (a 404 from an older supernode too): its loop runs */
		d->sn_heard = monotime_now();
		return;
	}
	if (d->mode != M_SWARM)
		return;
	char why[400];
	snprintf(why, sizeof why,
		 "sent nothing for %.0f s and answers nothing, not even /v1/ping within %.0f s (%s): hung?",
		 monotime_now() - d->sn_heard, WATCH_TIMEOUT, msg ? msg : "failed");
	sn_watch_stop(d);
	/* what is asked of it goes with it: a late answer must not move this download again; its piece
	 * transfers end at their own deadlines (the source, or the next supernode, is asked for them) */
	cancel_ctls(d);
	next_supernode_or_direct(d, why, 0);
}

/* Every second in swarm mode: when the download waits on the supernode (a control request,
 * a piece from it) and has heard nothing from it for WATCH_AFTER s, GET /v1/ping. A supernode with
 * nothing to hand out answers the held work request within its 10 s, so a download that only waits
 * asks nothing more; a hung one would hold the download until the stall timeout (its pieces in
 * flight and the work request each wait out their own deadlines). */
static void sn_watch_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct dl *d = DF_CONTAINER_OF(w, struct dl, sn_watch);
	if (d->mode != M_SWARM) {
		ev_timer_stop(loop, w);
		return;
	}
	if (d->sn_ping || monotime_now() - d->sn_heard < WATCH_AFTER)
		return;
	int waiting = d->ctls != NULL;
	for (int i = 0; !waiting && d->fetches && i < MAX_FETCHES; i++)
		waiting = d->fetches[i].active && strcmp(d->fetches[i].addr, "super") == 0;
	if (!waiting)
		return;
	d->sn_ping =
		ping_request(d, WATCH_TIMEOUT, sn_ping_done, d); /* NULL (out of memory): the stall timeout stays */
}

/* Starts watching for progress (entering swarm mode). */
static void stall_arm(struct dl *d)
{
	struct ev_loop *loop = d->sp->cfg.loop;
	d->last_progress = d->last_piece = d->sn_heard = monotime_now();
	ev_timer_again(loop, &d->sn_watch);
	ev_timer_stop(loop, &d->stall);
	if (d->sp->cfg.stall_timeout > 0) {
		ev_timer_set(&d->stall, d->sp->cfg.stall_timeout, 0);
		ev_timer_start(loop, &d->stall);
	}
}

/* Turns down a registration answer: the registration it made, if it names one, leaves at once
 * (else it would hold its slots and claims at that supernode until peer_silence), then the next
 * supernode or the source. */
/* Every leave swarm_peer_leave waits for is answered: its callback, once. */
static void leave_finished(struct swarm_peer *sp)
{
	void (*done)(void *ctx) = sp->leave_done;
	sp->leave_done = NULL;
	if (done)
		done(sp->leave_ctx);
}

/* A refused answer's leave is answered: swarm_peer_leave (the process exits) waits for these too, or
 * the registration would stay at the supernode until peer_silence. */
static void refused_left(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)rc;
	(void)msg;
	struct swarm_peer *sp = ctx;
	for (int i = 0; i < sp->refused_leaves; i++)
		if (sp->refused[i] == f) {
			sp->refused[i] = sp->refused[--sp->refused_leaves];
			break;
		}
	if (sp->refused_leaves == 0 && sp->leave_pending == 0)
		leave_finished(sp);
}

static int secret_valid(const char *s)
{
	return strlen(s) == PROTO_SECRET_HEX && strspn(s, "0123456789abcdef") == PROTO_SECRET_HEX;
}

static void refuse_registration(struct dl *d, const struct answer *a, const char *why)
{
	if (a->peer >= 0 && a->peer <= INT_MAX && secret_valid(a->secret)) {
		d->handle = (int)a->peer;
		snprintf(d->secret, sizeof d->secret, "%s", a->secret);
		/* not d's own leave (d->leave_fetch): that one is for the registration it may yet get */
		struct swarm_peer *sp = d->sp;
		if (sp->refused_leaves == (int)DF_ARRAY_LEN(sp->refused))
			leave_request(d, released_left, NULL);
		else if ((sp->refused[sp->refused_leaves] = leave_request(d, refused_left, sp)))
			sp->refused_leaves++;
		d->handle = -1;
		d->secret[0] = 0;
	}
	next_supernode_or_direct(d, why, 0);
}

static void on_registered(struct dl *d, struct answer *a, const char *body, size_t len)
{
	char etag[400], lm[400], why[160];
	if (a->peer < 0 || strcmp(a->task, d->id) != 0) {
		refuse_registration(d, a, "malformed answer to register");
		return;
	}
	if (a->peer > INT_MAX || !secret_valid(a->secret)) {
		/* every later request carries both in its query: nothing else may get into that URL */
		refuse_registration(d, a, "malformed answer to register: no valid handle and secret");
		return;
	}
	if (a->piece_size < PROTO_PIECE_SIZE_MIN || a->piece_size > PROTO_PIECE_SIZE_MAX) {
		/* its pieces could never be fetched (each reply longer than the piece), or would cost a
		 * checksum per few bytes of file */
		snprintf(why, sizeof why, "malformed answer to register: piece-size %llu, not 16 KiB to 256 MiB",
			 (unsigned long long)a->piece_size);
		refuse_registration(d, a, why);
		return;
	}
	/* the piece size is known good: no division by zero */
	if (a->length < -1 || ((uint64_t)a->length + a->piece_size - 1) / a->piece_size > STORE_MAX_PIECES) {
		if (a->length < -1)
			snprintf(why, sizeof why, "malformed answer to register: no valid length");
		else
			snprintf(why, sizeof why, "malformed answer to register: length %lld is more than %u pieces",
				 (long long)a->length, STORE_MAX_PIECES);
		refuse_registration(d, a, why);
		return;
	}
	d->dormant = 0; /* registered: the heartbeats keep it again */
	d->handle = (int)a->peer;
	snprintf(d->secret, sizeof d->secret, "%s", a->secret);
	d->tried = 0;
	/* admitted: the key the task's pieces are fetched and served with (all hosts of the task share it) */
	snprintf(d->piece_key, sizeof d->piece_key, "%s", a->piece_key);
	if (pieceserve_set_key(&d->sp->ps, d->id, d->piece_key) != DF_OK)
		log_warn("supernode %s gave a malformed piece key for %s: its pieces are not served here", super_of(d),
			 d->shown);
	d->registered = 1;
	if (d->lost_at)
		log_info("supernode %s took %s again after %.1f s", super_of(d), d->shown, monotime_now() - d->lost_at);
	d->lost_at = 0;
	version_parts(a->version, etag, sizeof etag, lm, sizeof lm);
	if (a->digest[0])
		snprintf(d->sup_sha256, sizeof d->sup_sha256, "%s", a->digest);
	int was_seeding = d->st && store_task_complete(d->st) && d->watchers == NULL;
	char err[512];
	int opened = open_task(d, a->length, (uint32_t)a->piece_size, etag, lm, err, sizeof err);
	if (opened == OPEN_HELD) {
		wait_for_writer(d);
		return;
	}
	if (opened != DF_OK) {
		fail_dl(d, DF_EXIT_FAIL, "get %s: %s", d->shown, err);
		return;
	}
	if (d->declared_have && !store_task_present(d->st)) {
		/* the registration named pieces of the version just dropped here, and the supernode counts
		 * those it has of the new one as ours (it would never hand them to us): that handle leaves,
		 * and a registration holding nothing takes its place */
		leave_request(d, released_left, NULL);
		d->handle = -1;
		d->mode = M_REGISTER;
		send_work(d);
		return;
	}
	if (was_seeding && store_task_complete(d->st)) {
		d->mode = M_SEEDING; /* re-registered after the supernode forgot us */
		return;
	}
	d->mode = M_SWARM;
	stall_arm(d);
	parse_answer(d, body, len, a, 1);
	if (d->mode != M_SWARM)
		return;
	if (store_task_complete(d->st))
		maybe_complete(d);
	else
		send_work(d);
}

static void unlink_ctl(struct dl *d, struct ctl *c)
{
	for (struct ctl **pp = &d->ctls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

/* Ends what a control request owns besides its fetch: the liveness probe and its timer. */
static void ctl_probe_stop(struct ctl *c)
{
	ev_timer_stop(c->d->sp->cfg.loop, &c->probe_after);
	if (c->probe)
		http_fetch_cancel(c->probe);
	c->probe = NULL;
}

static void cancel_ctls(struct dl *d)
{
	while (d->ctls) {
		struct ctl *c = d->ctls;
		d->ctls = c->next;
		ctl_probe_stop(c);
		http_fetch_cancel(c->f);
		free(c->body);
		free(c);
	}
	d->ctl = NULL;
}

static void probe_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct ctl *c = ctx;
	struct dl *d = c->d;
	c->probe = NULL;
	if (d->ctl != c->f)
		return;    /* superseded: its own deadline ends it */
	if (rc == DF_OK) { /* any answer (a 404 from an older supernode too): its loop runs */
		ev_timer_set(&c->probe_after, PROBE_AFTER, 0);
		ev_timer_start(d->sp->cfg.loop, &c->probe_after);
		return;
	}
	char why[400];
	snprintf(why, sizeof why,
		 "took the registration %.0f s ago and answers nothing, not even /v1/ping within %.0f s (%s): "
		 "hung?",
		 monotime_now() - c->t_sent, PROBE_TIMEOUT, msg ? msg : "failed");
	/* the registration goes with it: its late answer must not move this download again */
	unlink_ctl(d, c);
	d->ctl = NULL;
	http_fetch_cancel(c->f);
	free(c->body);
	free(c);
	next_supernode_or_direct(d, why, 0);
}

static void probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct ctl *c = DF_CONTAINER_OF(w, struct ctl, probe_after);
	/* when it cannot even ask (out of memory), the registration's own deadline stays */
	c->probe = ping_request(c->d, PROBE_TIMEOUT, probe_done, c);
}

static void ctl_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	struct ctl *c = ctx;
	struct dl *d = c->d;
	struct answer a;
	int mine = d->ctl == f;
	unlink_ctl(d, c); /* from here on c is ours alone, whatever fail_dl does */
	ctl_probe_stop(c);
	if (mine)
		d->ctl = NULL;
	const char *body = c->body ? c->body : "";
	if (rc == DF_OK)
		d->sn_heard = monotime_now();
	if (d->leave_after && !d->ctls)
		leave_now(d);
	if (d->mode == M_FAILED || d->mode == M_DIRECT)
		goto out;
	if (rc != DF_OK) {
		if (c->is_register)
			next_supernode_or_direct(d, msg ? msg : "failed", 1);
		else if (mine && d->mode == M_SWARM) {
			/* the supernode failed mid-transfer: the next one in the hash order takes the task, and
			 * the pieces here carry over (registration declares them) */
			next_supernode_or_direct(d, msg ? msg : "failed", 1);
		}
		goto out;
	}
	if (c->status == 502 || c->status == 400) {
		/* the supernode speaks for the source: its 404, its refusal */
		char *nl = c->body ? strchr(c->body, '\n') : NULL;
		if (nl)
			*nl = 0;
		const char *why = c->body ? c->body : "supernode refused";
		snprintf(d->super_failed, sizeof d->super_failed, "supernode %s: %s", super_of(d), why);
		for (char *q = d->super_failed; *q; q++)
			if ((unsigned char)*q < ' ' || *q == 0x7f)
				*q = ' '; /* one line, for logs and status */
		fail_dl(d, strncmp(why, DF_LIT("digest mismatch")) == 0 ? DF_EXIT_DIGEST : DF_EXIT_FAIL, "get %s: %s",
			d->shown, why);
		goto out;
	}
	if (c->status == 401) {
		/* a configuration error, not an outage: falling back to the source would hide it */
		fail_dl(d, DF_EXIT_FAIL, "get %s: supernode %s refused the cluster token (401): check [security] token",
			d->shown, super_of(d));
		goto out;
	}
	if (c->status == 403 && c->is_register) {
		/* not admitted: the source wants credentials and did not accept ours (or our URL cannot
		 * speak for the file). The source has the last word: ask it ourselves. */
		char *nl = c->body ? strchr(c->body, '\n') : NULL;
		if (nl)
			*nl = 0;
		const char *why = c->body && c->body[0] ? c->body : "not admitted";
		pieceserve_set_key(&d->sp->ps, d->id, NULL);
		d->piece_key[0] = 0;
		if (d->st && store_task_complete(d->st) && d->mode == M_SEEDING) {
			log_warn("supernode %s no longer admits this host to %s (%s): not seeding it", super_of(d),
				 d->shown, why);
			d->mode = M_DIRECT;
		} else if (!d->sp->cfg.back_to_source) {
			fail_dl(d, DF_EXIT_FAIL, "get %s: supernode %s did not admit this host: %s", d->shown,
				super_of(d), why);
		} else {
			log_warn("supernode %s did not admit this host to %s (%s); asking the source directly",
				 super_of(d), d->shown, why);
			start_direct(d, NULL);
		}
		goto out;
	}
	if (c->status == 410 || (c->status == 403 && !c->is_register)) {
		/* the supernode forgot us (restart, silence), or our handle went to another registration
		 * after we were expired (403: not our secret): register again */
		if (mine || d->mode == M_SEEDING) {
			d->mode = M_REGISTER;
			send_work(d);
		}
		goto out;
	}
	if (c->status != 200) {
		/* with the supernode's first line of reason (a 503: its store is full...) */
		char why[320];
		int n = (int)strcspn(body, "\r\n");
		snprintf(why, sizeof why, "answered %d%s%.*s", c->status, n ? ": " : "", DF_MIN(n, 256), body);
		/* it answered: it is up and said no (a full disk, stopping): no point in asking it again */
		if (c->is_register || (mine && d->mode == M_SWARM))
			next_supernode_or_direct(d, why, 0);
		goto out;
	}
	if (c->is_register) {
		parse_answer(d, body, c->len, &a, 0);
		on_registered(d, &a, body, c->len);
		goto out;
	}
	log_debug("work answer after %.1f ms (%zu bytes)%s", 1000 * (monotime_now() - c->t_sent), c->len,
		  mine ? "" : ", superseded");
	parse_answer(d, body, c->len, &a, 1);
	if (d->mode != M_SWARM)
		goto out;
	if (a.error[0]) {
		fail_dl(d, strncmp(a.error, DF_LIT("digest mismatch")) == 0 ? DF_EXIT_DIGEST : DF_EXIT_FAIL,
			"get %s: %s", d->shown, a.error);
		goto out;
	}
	if (store_task_complete(d->st) && d->nactive == 0)
		maybe_complete(d);
	else if (!d->ctl)
		send_work(d);
out:
	free(c->body);
	free(c);
}

static void send_ctl(struct dl *d, int is_register, const char *path, const char *body, size_t len)
{
	struct swarm_peer *sp = d->sp;
	char url[512], err[256];
	struct ctl *c = calloc(1, sizeof *c);
	if (!c) {
		fail_dl(d, DF_EXIT_FAIL, "get: out of memory");
		return;
	}
	c->d = d;
	c->is_register = is_register;
	c->t_sent = monotime_now();
	ev_timer_init(&c->probe_after, probe_cb, PROBE_AFTER, 0);
	snprintf(url, sizeof url, "%s://%s%s", sp->scheme, super_of(d), path);
	struct http_request req = {
		.method = "POST",
		.url = url,
		.headers = sp->token_hdr,
		.body = body,
		.body_len = len,
		.what = "supernode",
		.on_response = ctl_response,
		.on_body = ctl_body,
		.on_done = ctl_done,
		.ctx = c,
		.connect_timeout = 3,
		.first_byte_timeout = is_register ? REGISTER_TIMEOUT : CTL_TIMEOUT,
		.idle_timeout = CTL_TIMEOUT,
	};
	struct http_fetch *f = http_client_request(sp->cfg.cluster, &req, err, sizeof err);
	if (!f) {
		free(c);
		if (is_register)
			next_supernode_or_direct(d, err, 1);
		else
			fail_dl(d, DF_EXIT_FAIL, "get %s: supernode %s: %s", d->shown, super_of(d), err);
		return;
	}
	c->f = f;
	c->next = d->ctls;
	d->ctls = c;
	d->ctl = f;
	if (is_register)
		ev_timer_start(sp->cfg.loop, &c->probe_after);
}

static void send_register(struct dl *d)
{
	struct swarm_peer *sp = d->sp;
	size_t nbits = 0;
	const uint8_t *bits = d->st && store_task_present(d->st) ? store_task_bitmap(d->st, &nbits) : NULL;
	if (bits && 2 * nbits > (size_t)PROTO_HAVE_CHUNK * PROTO_REG_MAX_HAVE) {
		/* more pieces than a registration can name (4,096,000): the supernode counts none here,
		 * and those it hands out that are here already are done at once */
		log_info("%s: %zu pieces are more than a registration names; registering without them", d->shown,
			 8 * nbits);
		bits = NULL;
	}
	/* the fixed lines (url, headers, ids) take at most ~24 KiB; the bitmap its hex and line keys */
	size_t cap = 32768 + (bits ? 2 * nbits + (2 * nbits / PROTO_HAVE_CHUNK + 1) * 8 : 0);
	char *mem = malloc(cap);
	if (!mem) {
		fail_dl(d, DF_EXIT_FAIL, "get %s: out of memory", d->shown);
		return;
	}
	struct proto_buf b;
	proto_buf_init(&b, mem, cap);
	unsigned port = sp->cfg.server ? http_server_port(sp->cfg.server) : 0;
	proto_put(&b, "task", "%s", d->id);
	proto_put(&b, "url", "%s", d->url);
	for (const char *h = d->headers; h && *h;) {
		const char *e = strstr(h, "\r\n");
		size_t n = e ? (size_t)(e - h) : strlen(h);
		proto_put(&b, "header", "%.*s", (int)n, h);
		h += n + (e ? 2 : 0);
	}
	if (d->digest.len) {
		char dg[80];
		digest_spec_format(&d->digest, dg, sizeof dg);
		proto_put(&b, "digest", "%s", dg);
	}
	if (d->filter[0])
		proto_put(&b, "filter", "%s", d->filter);
	proto_put(&b, "port", "%u", port);
	if (d->via[0])
		proto_put(&b, "via", "%s", d->via);
	if (d->in_order)
		proto_put(&b, "order", "sequential");
	if (d->handle >= 0)
		proto_put(&b, "replace", "%d %s", d->handle, d->secret); /* our registration before this one */
	else if (sp->host_id[0] && (!d->st || store_task_writable(d->st)))
		/* we hold the store's lock on the task (or it is new here, and we will): a registration
		 * from this store for it that the supernode still has is from a process that died (kill -9,
		 * a crash) and is replaced now. A read-only handle (another process of this store writes or
		 * seeds the task) names no host: it must not replace that live one. */
		proto_put(&b, "host", "%s", sp->host_id);
	if (sp->cfg.advertise && sp->cfg.advertise[0])
		proto_put(&b, "addr", "%s:%u", sp->cfg.advertise, port);
	/* the bitmap in lines of PROTO_HAVE_CHUNK hex digits (the line limit), in order */
	char hex[PROTO_HAVE_CHUNK + 1];
	for (size_t at = 0; bits && at < nbits; at += PROTO_HAVE_CHUNK / 2) {
		size_t n = DF_MIN(nbits - at, (size_t)PROTO_HAVE_CHUNK / 2);
		digest_hex(bits + at, n, hex);
		proto_put(&b, "have", "%s", hex);
	}
	if (b.overflow) {
		free(mem);
		fail_dl(d, DF_EXIT_FAIL, "get %s: the registration does not fit (too many headers?)", d->shown);
		return;
	}
	d->rlen = 0; /* reports name the old registration's handles; `have` says what we hold now */
	d->declared_have = bits != NULL;
	send_ctl(d, 1, "/v1/register", b.p, b.len);
	free(mem);
}

/* Sends what there is to say: the registration, or a work request with the pending reports. */
static void send_work(struct dl *d)
{
	char path[256];
	if (d->mode == M_REGISTER) {
		if (d->gone)
			return;
		cancel_ctls(d);
		send_register(d);
		return;
	}
	if (d->mode != M_SWARM && !(d->mode == M_SEEDING && d->rlen))
		return;
	if (d->ctl && !d->rlen)
		return; /* a request is held at the supernode and there is no news */
	if (d->mode == M_SWARM && d->fail_streak >= BACKOFF_AFTER) {
		/* every recent piece failed: ask again, but not at once (a swarm whose every uploader fails
		 * would otherwise be asked in a tight loop); the reports wait in d->reports */
		double wait = BACKOFF_MIN * (double)(1u << DF_MIN(d->fail_streak - BACKOFF_AFTER, 10));
		wait = DF_MIN(wait, BACKOFF_MAX) - (monotime_now() - d->last_work);
		if (wait > 0) {
			if (!ev_is_active(&d->work_backoff)) {
				ev_timer_set(&d->work_backoff, wait, 0);
				ev_timer_start(d->sp->cfg.loop, &d->work_backoff);
			}
			return;
		}
	}
	ev_timer_stop(d->sp->cfg.loop, &d->work_backoff);
	d->last_work = monotime_now();
	if (d->mode == M_SWARM && d->nactive == 0)
		report_idle(d);
	snprintf(path, sizeof path, "/v1/work?task=%s&peer=%d&secret=%s", d->id, d->handle, d->secret);
	/* an older held request stays open; the supernode answers it "wait" and the new one counts */
	send_ctl(d, 0, path, d->rlen ? d->reports : "", d->rlen);
	d->rlen = 0;
}

/* ---- straight from the source ---- */

static struct store_task *direct_meta(void *ctx, const struct source_meta *m, char *msg, size_t msglen)
{
	struct dl *d = ctx;
	int opened = open_task(d, m->length, m->piece_size, m->etag, m->last_modified, msg, msglen);
	if (opened == OPEN_HELD) {
		/* the source ends (direct_done), then this download waits for the other process */
		d->await_writer = 1;
		snprintf(msg, msglen, "another df process is downloading it");
	}
	return opened == DF_OK ? d->st : NULL;
}

static void direct_piece(void *ctx, uint32_t piece, uint32_t len, const uint8_t *sha256)
{
	(void)sha256; /* not asked for: the source's own bytes need no second check */
	struct dl *d = ctx;
	d->stats.from_source += len;
	send_piece(d, piece);
}

static void direct_done(void *ctx, int rc, const char *msg)
{
	struct dl *d = ctx;
	if (rc != DF_OK && d->await_writer) {
		d->await_writer = 0;
		source_free(d->src);
		d->src = NULL;
		wait_for_writer(d);
		return;
	}
	if (rc != DF_OK) {
		fail_dl(d, DF_EXIT_FAIL, "get %s: %s", d->shown, msg);
		return;
	}
	if (!d->meta_known)
		send_meta(d);
	source_free(d->src);
	d->src = NULL;
	maybe_complete(d); /* in M_DIRECT it stays there: nobody knows about us, nothing to seed */
}

static void start_direct(struct dl *d, const char *why)
{
	struct swarm_peer *sp = d->sp;
	char err[512];
	if (why)
		log_warn("%s; fetching %s straight from the source", why, d->shown);
	stop_fetches(d);
	cancel_ctls(d);
	ev_timer_stop(sp->cfg.loop, &d->retry);
	ev_timer_stop(sp->cfg.loop, &d->work_backoff);
	/* the source takes every missing piece: a fetch from a peer still running would keep its piece
	 * busy, the source would skip it, and if that fetch then failed nothing would fetch it again
	 * (the download hung after its supernode died mid-way) */
	stop_fetches(d);
	send_leave(d); /* our transfers at the supernode free their uploaders' slots now */
	d->mode = M_DIRECT;
	d->stats.via_supernode = 0;
	struct source_cfg c = {
		.loop = sp->cfg.loop,
		.client = sp->cfg.client,
		.url = d->url,
		.shown = d->shown,
		.headers = d->headers,
		.piece_size = d->st ? store_task_piece_size(d->st) : sp->cfg.piece_size,
		.streams = 4,
		.task = d->st,
		.on_meta = direct_meta,
		.on_piece = direct_piece,
		.on_done = direct_done,
		.ctx = d,
	};
	d->src = source_start(&c, err, sizeof err);
	if (!d->src)
		fail_dl(d, DF_EXIT_FAIL, "get %s: %s", d->shown, err);
}

/* ---- descriptors of what we seed ---- */

/* A task this host only seeds keeps its description but not its store files (2 descriptors): a
 * host seeding thousands of tasks would otherwise run out of descriptors (make soak: df proxy
 * under `ulimit -n 1024`). The piece server opens them again for the next request. */
static int seed_parkable(const struct dl *d)
{
	return d->mode == M_SEEDING && d->st && store_task_complete(d->st) && !store_task_parked(d->st) &&
	       !d->watchers && !d->nactive;
}

static double seed_last_read(const struct swarm_peer *sp, const struct dl *d)
{
	double used = pieceserve_last_use(&sp->ps, d->id);
	return used > d->last_work ? used : d->last_work;
}

/* Seeded tasks with open files: an eighth of RLIMIT_NOFILE (the piece server and the downloads
 * under way need the rest). */
static int seed_budget(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 22))
		return 1 << 19;
	int n = (int)(rl.rlim_cur / 8);
	return n < 4 ? 4 : n;
}

static void seed_park(struct dl *d)
{
	char err[512];
	if (store_task_park(d->st, err, sizeof err) != DF_OK)
		log_debug("task %.12s: files kept open: %s", d->id, err);
}

static void dl_drop(struct swarm_peer *sp, struct dl *d, int leave);

/* A seeded task whose files another process's GC removed while they were closed here: stop
 * seeding it (a request for it would fail) and leave its registration. */
static int seed_gone(struct swarm_peer *sp, struct dl *d)
{
	if (d->mode != M_SEEDING || d->watchers || d->nactive || !d->st || !store_task_parked_gone(d->st))
		return 0;
	log_info("task %.12s: its files left the store while closed here: stopped seeding %s", d->id, d->shown);
	pieceserve_forget(&sp->ps, d->id);
	dl_drop(sp, d, 1);
	return 1;
}

/* Parks seeded tasks unread for PARK_AFTER, then the least recently read past the budget. */
static void park_seeders(struct swarm_peer *sp)
{
	double now = monotime_now();
	int open = 0, budget = seed_budget();
	for (struct dl *d = sp->dls, *next; d; d = next) {
		next = d->next;
		if (seed_gone(sp, d) || !seed_parkable(d))
			continue;
		if (now - seed_last_read(sp, d) >= PARK_AFTER)
			seed_park(d);
		else
			open++;
	}
	while (open-- > budget) {
		struct dl *old = NULL;
		for (struct dl *d = sp->dls; d; d = d->next)
			if (seed_parkable(d) && (!old || seed_last_read(sp, d) < seed_last_read(sp, old)))
				old = d;
		if (!old)
			return;
		seed_park(old);
		if (!store_task_parked(old->st))
			return;
	}
}

/* ---- heartbeats for what we seed ---- */

static void beat_done(struct http_fetch *f, int rc, const char *msg, void *ctx);

static int beat_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct swarm_peer *sp = ctx;
	size_t pos = 0;
	struct proto_line l;
	while (proto_next(data, len, &pos, &l) == DF_OK) {
		int idle = slice_eq(l.key, "idle");
		if (!idle && !slice_eq(l.key, "unknown"))
			continue;
		for (struct dl *d = sp->dls; d; d = d->next) {
			if (d->mode != M_SEEDING || !slice_eq(l.val, d->id))
				continue;
			if (idle) {
				/* forgotten as idle, its copy complete there: we still serve what we hold to anyone
				 * with the piece key, but stop naming it (a registration would only keep it alive) */
				d->dormant = 1;
				log_debug("task %.12s: the supernode let it go as idle; no more heartbeats for it",
					  d->id);
				continue;
			}
			d->mode = M_REGISTER; /* the supernode restarted or expired us: announce again */
			send_work(d);
		}
	}
	return DF_OK;
}

static void beat_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)ctx;
	if (rc != DF_OK)
		log_warn("heartbeat: %s", msg);
}

static void beat_send(struct swarm_peer *sp, int s, const struct proto_buf *b)
{
	char url[256], err[256];
	snprintf(url, sizeof url, "%s://%s/v1/heartbeat", sp->scheme, sp->supers[s]);
	struct http_request req = {
		.method = "POST",
		.url = url,
		.headers = sp->token_hdr,
		.body = b->p,
		.body_len = b->len,
		.what = "supernode",
		.on_body = beat_body,
		.on_done = beat_done,
		.ctx = sp,
		.connect_timeout = 3,
		.first_byte_timeout = 5,
	};
	if (!http_client_request(sp->cfg.cluster, &req, err, sizeof err))
		log_warn("heartbeat to %s: %s", sp->supers[s], err);
}

/* One heartbeat per supernode naming every task seeded through it, in as many requests as the
 * lines need (a full buffer used to drop the whole heartbeat: past ~140 seeded tasks a host fell
 * silent and the supernode dropped it from all of them). */
static void beat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct swarm_peer *sp = DF_CONTAINER_OF(w, struct swarm_peer, beat);
	park_seeders(sp);
	for (struct dl *d = sp->dls; d; d = d->next)
		idle_release(d);
	for (int s = 0; s < sp->nsupers; s++) {
		char mem[16384];
		struct proto_buf b;
		proto_buf_init(&b, mem, sizeof mem);
		for (struct dl *d = sp->dls; d; d = d->next) {
			if (d->mode != M_SEEDING || d->dormant || d->order[d->cur] != s)
				continue;
			proto_put(&b, "task", "%s %d %s", d->id, d->handle, d->secret);
			if (b.overflow && b.len) {
				beat_send(sp, s, &b);
				proto_buf_init(&b, mem, sizeof mem);
				proto_put(&b, "task", "%s %d %s", d->id, d->handle, d->secret);
			}
		}
		if (b.len && !b.overflow)
			beat_send(sp, s, &b);
	}
}

/* ---- the API ---- */

static void dl_begin(struct dl *d);

static void kick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct swarm_dl *w = DF_CONTAINER_OF(t, struct swarm_dl, kick);
	struct dl *d = w->d;
	if (d->mode == M_START) {
		dl_begin(d);
		/* a failure ended (and freed) every watcher, w included; their callbacks may even have
		 * started the download again, so d's mode does not tell: is w still listed? */
		struct swarm_dl *x = d->watchers;
		while (x && x != w)
			x = x->next;
		if (!x)
			return;
	}
	if (d->meta_known && !w->meta_sent && w->cfg.on_meta) {
		w->meta_sent = 1;
		w->cfg.on_meta(w, d->length, w->cfg.ctx);
	}
	if (d->mode == M_SEEDING ||
	    (d->mode == M_DIRECT && !d->src && d->st && store_task_complete(d->st) && !d->awaiting_digest)) {
		/* complete already: this watcher alone is done */
		for (struct swarm_dl **pp = &d->watchers; *pp; pp = &(*pp)->next)
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		w->cfg.on_done(w, DF_OK, DF_EXIT_OK, NULL, w->cfg.ctx);
		free(w);
	}
}

/* Highest random weight: each supernode's score is a hash of (task id, its address); sorted by
 * score, so every host picks the same first choice for a task and load spreads across supernodes,
 * and removing one supernode moves only its own tasks. */
static void rendezvous_order(const struct swarm_peer *sp, const char *id, int order[MAX_SUPERNODES])
{
	uint64_t score[MAX_SUPERNODES];
	for (int i = 0; i < sp->nsupers; i++) {
		XXH3_state_t st;
		XXH3_64bits_reset(&st);
		XXH3_64bits_update(&st, id, strlen(id));
		XXH3_64bits_update(&st, DF_LIT("|"));
		XXH3_64bits_update(&st, sp->supers[i], strlen(sp->supers[i]));
		score[i] = XXH3_64bits_digest(&st);
		order[i] = i;
	}
	for (int i = 1; i < sp->nsupers; i++) /* insertion sort: at most 8 */
		for (int j = i; j > 0 && score[order[j]] > score[order[j - 1]]; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
}

static struct dl *find_dl(struct swarm_peer *sp, const char *id)
{
	for (struct dl *d = sp->dls; d; d = d->next)
		if (strcmp(d->id, id) == 0)
			return d;
	return NULL;
}

static void dl_free(struct dl *d)
{
	pieceserve_set_key(&d->sp->ps, d->id, NULL);
	ev_timer_stop(d->sp->cfg.loop, &d->retry);
	ev_timer_stop(d->sp->cfg.loop, &d->work_backoff);
	ev_timer_stop(d->sp->cfg.loop, &d->stall);
	ev_timer_stop(d->sp->cfg.loop, &d->writer_wait);
	sn_watch_stop(d);
	if (d->leave_fetch)
		http_fetch_cancel(d->leave_fetch);
	stop_fetches(d);
	free(d->fetches);
	free(d->reports);
	cancel_ctls(d);
	source_free(d->src);
	hash_reset(d);
	while (d->watchers) {
		struct swarm_dl *w = d->watchers;
		d->watchers = w->next;
		ev_timer_stop(d->sp->cfg.loop, &w->kick);
		free(w);
	}
	if (d->st)
		store_task_close(d->st);
	free(d->url);
	free(d->shown);
	free(d->headers);
	free(d->filter);
	free(d);
}

#define WRITER_POLL 0.5 /* seconds between looks at a task another process of this store downloads */

/* Another process of this store is the task's writer and it is incomplete: the pieces assigned here
 * could not be written (each fetch failed until the stall timeout sent the download to the source,
 * which could not write them either). Stop, let the registration go, and look again every
 * WRITER_POLL s: done there, this one finishes from the store; let go (exited, killed), this one
 * resumes as the writer. A writer that gets no byte for [get] stall_timeout is given up on. */
static void wait_for_writer(struct dl *d)
{
	struct swarm_peer *sp = d->sp;
	struct ev_loop *loop = sp->cfg.loop;
	stop_fetches(d);
	cancel_ctls(d);
	hash_reset(d);
	ev_timer_stop(loop, &d->retry);
	ev_timer_stop(loop, &d->work_backoff);
	ev_timer_stop(loop, &d->stall);
	if (d->handle >= 0) {
		leave_request(d, released_left, NULL);
		d->handle = -1;
	}
	d->mode = M_START; /* dl_begin again once the wait ends (a new watcher meanwhile: see there) */
	int waiting = ev_is_active(&d->writer_wait);
	if (!waiting) {
		d->writer_bytes = d->st ? store_task_present_bytes(d->st) : 0;
		d->writer_seen = monotime_now();
	}
	/* no handle is kept meanwhile: each look opens the task anew (and sees the other's pieces) */
	if (d->st) {
		pieceserve_forget(&sp->ps, d->id);
		store_task_close(d->st);
		d->st = NULL;
	}
	if (waiting)
		return;
	log_info("another df process is downloading %s into %s; waiting for it", d->shown, store_root(sp->cfg.store));
	ev_timer_set(&d->writer_wait, WRITER_POLL, 0);
	ev_timer_start(loop, &d->writer_wait);
}

static void writer_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct dl *d = DF_CONTAINER_OF(w, struct dl, writer_wait);
	struct swarm_peer *sp = d->sp;
	/* a new open sees the other process's pieces, and takes the writer lock if it let go */
	struct store_task *t = store_task_open(sp->cfg.store, d->id, NULL, 0, NULL, 0);
	if (t && held_elsewhere(t)) {
		uint64_t have = store_task_present_bytes(t);
		store_task_close(t);
		double now = monotime_now(), limit = sp->cfg.stall_timeout;
		if (have > d->writer_bytes) {
			d->writer_bytes = have;
			d->writer_seen = now;
		} else if (limit > 0 && now - d->writer_seen >= limit) {
			fail_dl(d, DF_EXIT_FAIL,
				"get %s: another df process downloading it into %s got no byte for %.0f s; stop it, "
				"or run this with another --data",
				d->shown, store_root(sp->cfg.store), now - d->writer_seen);
			return;
		}
		ev_timer_set(w, WRITER_POLL, 0);
		ev_timer_start(loop, w);
		return;
	}
	if (t)
		log_info("the other df process %s %s; going on", store_task_complete(t) ? "finished" : "let go of",
			 d->shown);
	d->st = t; /* dl_begin goes on with this handle (NULL: no task any more) */
	dl_begin(d);
}

static void dl_begin(struct dl *d)
{
	struct swarm_peer *sp = d->sp;
	if (ev_is_active(&d->writer_wait))
		return;   /* a watcher added while it waits for another process: the wait's end begins it */
	park_seeders(sp); /* room for this one's descriptors */
	pieceserve_drop_readonly(&sp->ps, d->id); /* a peer asked for it before we started */
	if (!d->st)
		d->st = store_task_open(sp->cfg.store, d->id, NULL, 0, NULL, 0);
	if (d->st && held_elsewhere(d->st)) {
		wait_for_writer(d);
		return;
	}
	if (d->st) {
		d->stats.resumed = store_task_present_bytes(d->st);
		pieceserve_add_task(&sp->ps, d->st);
		if (d->stats.resumed && !store_task_complete(d->st))
			log_info("resumed: %llu bytes of %s already in the store", (unsigned long long)d->stats.resumed,
				 d->shown);
		if (store_task_length(d->st) >= 0) {
			d->meta_known = 1;
			d->length = store_task_length(d->st);
		}
	}
	if (d->st && store_task_complete(d->st) && d->digest.len && check_digest(d) == DF_OK) {
		/* content-addressed and complete: nothing to ask anyone; announce it to seed it */
		d->mode = M_DIRECT;
		if (sp->nsupers) {
			d->mode = M_REGISTER;
			d->stats.via_supernode = 1;
			send_work(d);
			d->mode = d->mode == M_REGISTER ? M_SEEDING : d->mode; /* serve while registering */
		}
		return;
	}
	if (sp->nsupers) {
		d->mode = M_REGISTER;
		d->stats.via_supernode = 1;
		send_work(d);
	} else {
		start_direct(d, NULL);
	}
}

struct swarm_dl *swarm_dl_start(struct swarm_peer *sp, const struct swarm_dl_cfg *cfg, char *err, size_t errlen)
{
	char id[TASKID_MAX];
	const char *filter = cfg->filter ? cfg->filter : sp->cfg.filter ? sp->cfg.filter : "";
	if (swarm_task_id(cfg->url, filter, &cfg->digest, id, err, errlen) != DF_OK)
		return NULL;
	struct swarm_dl *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->cfg = *cfg;
	ev_timer_init(&w->kick, kick_cb, 0, 0);
	struct dl *d = find_dl(sp, id);
	if (d && seed_gone(sp, d))
		d = NULL; /* fetched again */
	if (d && d->mode == M_FAILED) {
		for (struct dl **pp = &sp->dls; *pp; pp = &(*pp)->next)
			if (*pp == d) {
				*pp = d->next;
				break;
			}
		dl_free(d);
		d = NULL;
	}
	if (!d) { /* a fresh download begins from the first watcher's kick, in the loop */
		d = calloc(1, sizeof *d);
		if (!d || !(d->url = strdup(cfg->url)) || !(d->headers = strdup(cfg->headers ? cfg->headers : "")) ||
		    !(d->filter = strdup(filter)) || !(d->shown = swarm_url_shown_new(cfg->url, filter))) {
			if (d) {
				free(d->url);
				free(d->headers);
				free(d->filter);
				free(d);
			}
			free(w);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		d->sp = sp;
		snprintf(d->id, sizeof d->id, "%s", id);
		rendezvous_order(sp, id, d->order);
		d->digest = cfg->digest;
		d->digest_elsewhere = cfg->digest_elsewhere;
		snprintf(d->via, sizeof d->via, "%s", cfg->via ? cfg->via : "");
		d->handle = -1;
		d->length = -1;
		ev_timer_init(&d->retry, retry_cb, 0, 0);
		ev_timer_init(&d->work_backoff, work_backoff_cb, 0, 0);
		ev_timer_init(&d->stall, stall_cb, 0, 0);
		ev_timer_init(&d->sn_watch, sn_watch_cb, 1.0, 1.0); /* looks every second, asks after WATCH_AFTER */
		ev_timer_init(&d->writer_wait, writer_wait_cb, 0, 0);
		d->next = sp->dls;
		sp->dls = d;
	}
	d->in_order |= cfg->in_order;
	w->d = d;
	w->next = d->watchers;
	d->watchers = w;
	ev_timer_start(sp->cfg.loop, &w->kick);
	return w;
}

void swarm_dl_cancel(struct swarm_dl *w)
{
	struct dl *d = w->d;
	for (struct swarm_dl **pp = &d->watchers; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			ev_timer_stop(d->sp->cfg.loop, &w->kick);
			free(w);
			return;
		}
}

struct store_task *swarm_dl_task(const struct swarm_dl *w)
{
	return w->d->st;
}

void swarm_dl_set_via(struct swarm_dl *w, const char *via)
{
	struct dl *d = w->d;
	snprintf(d->via, sizeof d->via, "%s", via ? via : "");
	if (d->mode == M_REGISTER && d->ctl)
		send_work(d); /* the registration in flight is cancelled and sent again */
}

const char *swarm_dl_supernode(const struct swarm_dl *w)
{
	return w->d->sp->nsupers ? super_of(w->d) : "";
}

const char *swarm_dl_super_digest(const struct swarm_dl *w)
{
	return w->d->sup_sha256;
}

void swarm_dl_stats(const struct swarm_dl *w, struct swarm_dl_stats *out)
{
	*out = w->d->stats;
}

/* The store's peer id: 32 random hex digits in DATA/peer-id, made once (a racing second process
 * takes the first one's). Best effort: without it, a restarted process's old registration waits
 * for peer_silence like before. */
static void load_host_id(struct swarm_peer *sp)
{
	char path[4096], tmp[4200], buf[40];
	snprintf(path, sizeof path, "%s/peer-id", store_root(sp->cfg.store));
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, 32);
			close(fd);
			if (n == 32 && strspn(buf, "0123456789abcdef") >= 32) {
				memcpy(sp->host_id, buf, 32);
				sp->host_id[32] = 0;
				return;
			}
		}
		uint8_t rnd[16];
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
			return;
		digest_hex(rnd, sizeof rnd, buf);
		snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return;
		int ok = write(fd, buf, 32) == 32; /* no fsync: an id lost to a power cut is just made anew */
		close(fd);
		/* link, not rename: a peer-id another process made first wins */
		if (ok && link(tmp, path) != 0 && errno != EEXIST)
			ok = 0;
		unlink(tmp);
		if (!ok)
			return;
	}
}

struct swarm_peer *swarm_peer_new(const struct swarm_peer_cfg *cfg, char *err, size_t errlen)
{
	struct swarm_peer *sp = calloc(1, sizeof *sp);
	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sp->cfg = *cfg;
	for (const char *s = cfg->supernodes ? cfg->supernodes : ""; *s && sp->nsupers < MAX_SUPERNODES;) {
		size_t n = strcspn(s, ", ");
		if (n && n < sizeof sp->supers[0]) {
			memcpy(sp->supers[sp->nsupers], s, n);
			sp->supers[sp->nsupers++][n] = 0;
		}
		s += n;
		while (*s == ',' || *s == ' ')
			s++;
	}
	sp->scheme = cfg->cluster_tls ? "https" : "http";
	if (cfg->store)
		load_host_id(sp);
	if (!sp->cfg.cluster)
		sp->cfg.cluster = cfg->client;
	char tok[sizeof sp->token_hdr];
	snprintf(sp->token_hdr, sizeof sp->token_hdr, "%s", auth_header(cfg->token, tok, sizeof tok));
	if (pieceserve_init(&sp->ps, cfg->loop, cfg->server, cfg->store, cfg->token) != DF_OK) {
		snprintf(err, errlen, "out of memory");
		free(sp);
		return NULL;
	}
	ev_timer_init(&sp->beat, beat_cb, HEARTBEAT, HEARTBEAT);
	ev_timer_start(cfg->loop, &sp->beat);
	return sp;
}

void swarm_peer_free(struct swarm_peer *sp)
{
	if (!sp)
		return;
	ev_timer_stop(sp->cfg.loop, &sp->beat);
	while (sp->dls) {
		struct dl *d = sp->dls;
		sp->dls = d->next;
		if (d->watchers)
			send_done(d, DF_ERR, DF_EXIT_FAIL, "stopped");
		dl_free(d);
	}
	while (sp->refused_leaves)
		http_fetch_cancel(sp->refused[--sp->refused_leaves]);
	pieceserve_close(&sp->ps);
	free(sp);
}

/* ---- for df get's detached seeder ---- */

double swarm_peer_last_served(const struct swarm_peer *sp)
{
	return sp->ps.last_request;
}

void swarm_peer_set_client(struct swarm_peer *sp, struct http_client *client, struct http_client *cluster)
{
	/* after fork: cancel what runs on the old client (its sockets' watchers live on in this loop,
	 * so they must be stopped), then speak through the new one */
	for (struct dl *d = sp->dls; d; d = d->next) {
		stop_fetches(d);
		cancel_ctls(d);
		sn_watch_stop(d);
	}
	while (sp->refused_leaves) /* the parent's, which sends them */
		http_fetch_cancel(sp->refused[--sp->refused_leaves]);
	sp->cfg.client = client;
	sp->cfg.cluster = cluster ? cluster : client;
	/* the reports that were in flight are lost: register again, replacing our old handle, so the
	 * supernode knows every piece we hold */
	for (struct dl *d = sp->dls; d; d = d->next)
		if (d->mode == M_SEEDING) {
			d->rlen = 0;
			d->mode = M_REGISTER;
			send_work(d);
		}
}

int swarm_peer_hand_off(struct swarm_peer *sp, struct store_task *st, const char *path, char *err, size_t errlen)
{
	pieceserve_forget(&sp->ps, store_task_id(st));
	return store_task_handoff_at(st, AT_FDCWD, path, err, errlen);
}

static void left_one(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)rc;
	(void)msg;
	struct dl *d = ctx;
	struct swarm_peer *sp = d->sp;
	d->leave_fetch = NULL;
	if (d->leave_counted) {
		d->leave_counted = 0;
		if (--sp->leave_pending == 0 && !sp->refused_leaves)
			leave_finished(sp);
	}
}

/* The `leave` request for d's registration (2 s to connect and to answer); NULL if it cannot start. */
static struct http_fetch *
leave_request(struct dl *d, void (*on_done)(struct http_fetch *f, int rc, const char *msg, void *ctx), void *ctx)
{
	struct swarm_peer *sp = d->sp;
	char url[512], err[256];
	snprintf(url, sizeof url, "%s://%s/v1/leave?task=%s&peer=%d&secret=%s", sp->scheme, super_of(d), d->id,
		 d->handle, d->secret);
	struct http_request req = {
		.method = "POST",
		.url = url,
		.headers = sp->token_hdr,
		.what = "supernode",
		.on_done = on_done,
		.ctx = ctx,
		.connect_timeout = 2,
		.first_byte_timeout = 2,
	};
	return http_client_request(sp->cfg.cluster, &req, err, sizeof err);
}

/* Says `leave` for d's registration (forgotten here at once: the handle is not used again). */
static int send_leave(struct dl *d)
{
	if (d->handle < 0 || d->leave_fetch)
		return DF_ERR;
	d->leave_fetch = leave_request(d, left_one, d);
	d->handle = -1;
	return d->leave_fetch ? DF_OK : DF_ERR;
}

/* A downloader only (no_seed) that has everything leaves its supernode. */
static void leave_now(struct dl *d)
{
	d->leave_after = 0;
	d->gone = 1;
	send_leave(d);
}

int swarm_peer_leave(struct swarm_peer *sp, void (*done)(void *ctx), void *ctx)
{
	sp->leave_done = done;
	sp->leave_ctx = ctx;
	sp->leave_pending = 0;
	/* every registration, whatever became of its download (finished, failed, interrupted, gone to
	 * the source): a registration left behind holds its slots and claims until peer_silence */
	for (struct dl *d = sp->dls; d; d = d->next) {
		d->gone = 1;
		if (d->leave_fetch) { /* already on its way (start_direct): wait for it too */
			d->leave_counted = 1;
			sp->leave_pending++;
		} else if (send_leave(d) == DF_OK) {
			d->leave_counted = 1;
			sp->leave_pending++;
		}
	}
	if (sp->leave_pending == 0 && !sp->refused_leaves)
		leave_finished(sp);
	return DF_OK;
}

static void released_left(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)rc;
	(void)msg;
	(void)ctx;
}

#define RELEASE_AFTER 30.0 /* seconds without a piece request before GC may stop a seeding */

/* Unlists and frees d; with leave, its registration is told it leaves (the answer is not awaited). */
static void dl_drop(struct swarm_peer *sp, struct dl *d, int leave)
{
	if (leave && d->handle >= 0)
		leave_request(d, released_left, NULL);
	for (struct dl **pp = &sp->dls; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	dl_free(d);
}

int swarm_peer_release(void *arg, const char *id)
{
	struct swarm_peer *sp = arg;
	struct dl *d = find_dl(sp, id);
	if (d) {
		/* a finished download nobody watches and no peer fetched from lately stops seeding */
		int finished = d->mode == M_SEEDING || d->mode == M_FAILED ||
			       (d->mode == M_DIRECT && !d->src && d->st && store_task_complete(d->st));
		double last = pieceserve_last_use(&sp->ps, id);
		if (!finished || d->watchers || d->nactive || d->leave_fetch ||
		    (last > 0 && monotime_now() - last < RELEASE_AFTER))
			return 0;
		log_info("task %.12s: stopped seeding %s (store GC evicts it)", d->id, d->shown);
		dl_drop(sp, d, d->mode == M_SEEDING);
	}
	pieceserve_forget(&sp->ps, id);
	return 1;
}

void swarm_peer_stop(struct swarm_peer *sp, const char *id)
{
	struct dl *d = find_dl(sp, id);
	if (d)
		dl_drop(sp, d, !d->leave_fetch);
	pieceserve_forget(&sp->ps, id);
}
