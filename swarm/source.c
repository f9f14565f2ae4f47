/* Back to source: the probe request learns length, ranges and validators; then up to N streams
 * each fetch a batch of missing pieces with a Range request, writing through store piece writers.
 *
 * How it works: stream 0 is the probe (a Range request for the first missing batch). Its answer
 * decides the mode: 206 means ranges work and the other streams start, each claiming the next batch
 * of pieces nobody has or fetches (a claimed bitmap; a batch lasts about SOURCE_REQ_SECONDS at the
 * rate the last request ran, at most a stream's share of what is left); 200 means one stream reads the whole body in
 * order (pieces already present are read past, not written). A ranged request carries If-Range, so
 * a source that changes mid-way answers 200 and the fetch fails instead of mixing two versions.
 * A stream that breaks is retried from the start of its current piece, a few times. */
#include "swarm/source.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bitmap.h"
#include "core/log.h"
#include "core/monotime.h"

#define SOURCE_BATCH 4 /* pieces per range request after the probe, at least */
/* A range request is sized to last about this long at the rate the last one ran: a fast source
 * (a registry on the same network) then sees a few large requests instead of one per 4 pieces,
 * each costing it a lookup (and a redirect to its blob store, for many registries). */
#define SOURCE_REQ_SECONDS 0.1
#define SOURCE_REQ_MAX_BYTES (64u << 20)
#define SOURCE_MAX_STREAMS 16
#define SOURCE_RETRIES 3
#define SOURCE_PROBE (SOURCE_BATCH * SOURCE_MAX_PIECE)

uint32_t source_piece_size(int64_t length)
{
	/* about 256 pieces per file: enough for a swarm to spread them, few enough to schedule cheaply */
	if (length < 0)
		return SOURCE_MAX_PIECE;
	uint32_t ps = SOURCE_MIN_PIECE;
	while (ps < SOURCE_MAX_PIECE && (uint64_t)ps * 256 < (uint64_t)length)
		ps *= 2;
	return ps;
}

struct stream {
	struct source *src;
	struct http_fetch *fetch;
	uint32_t end;       /* first piece past this request's range (UINT32_MAX: whole body) */
	uint64_t req_start; /* byte offset asked for */
	uint64_t off;       /* file offset of the next body byte */
	int ranged;
	int writing;  /* w is begun for the piece at off */
	int skipping; /* the piece at off is read past (present, or another stream's) */
	int attempts;
	int got_head;
	ev_tstamp t0; /* when this request was sent */
	ev_timer retry;
	struct store_piece_writer w;
	br_sha256_context sha; /* the piece in w, when cfg.piece_sha256 */
};

struct source {
	struct source_cfg cfg;
	char *url, *headers;
	char shown[2048]; /* url as messages show it (redacted) */
	struct store_task *task;
	int64_t length;
	int ranges, meta_done, failed, finished;
	int reprobed; /* a resume's probe was asked again from byte 0 (once) */
	int err_no;   /* errno when it failed (a store write's ENOSPC...), else 0 */
	int status;   /* the HTTP status of the answer that failed it, else 0 */
	char etag[256], lm[128];
	uint32_t ps;      /* piece size; 0 until the first answer when chosen from the length */
	uint8_t *claimed; /* 1 bit per piece: some stream has it in its range */
	uint32_t claimed_bits;
	uint32_t cursor; /* claim search starts here */
	uint64_t bytes;
	double rate;    /* bytes/s of the last range request that ended well, one stream's; 0: none yet */
	ev_timer later; /* deferred completion when there is nothing to fetch */
	struct stream st[SOURCE_MAX_STREAMS];
};

static void start_stream(struct stream *s, uint32_t first, uint32_t end);
static void stream_next(struct stream *s);
static void send_range(struct stream *s);

uint64_t source_bytes(const struct source *s)
{
	return s->bytes;
}
int source_errno(const struct source *s)
{
	return s->err_no;
}
int source_status(const struct source *s)
{
	return s->status;
}

static uint32_t npieces(const struct source *s)
{
	return s->length < 0 ? UINT32_MAX : (uint32_t)((s->length + s->ps - 1) / s->ps);
}

static int claimed(const struct source *s, uint32_t n)
{
	return n < s->claimed_bits && bitmap_get(s->claimed, n);
}

static void claim(struct source *s, uint32_t n)
{
	if (n < s->claimed_bits)
		bitmap_set(s->claimed, n);
}

static void stop_all(struct source *s)
{
	for (int i = 0; i < SOURCE_MAX_STREAMS; i++) {
		struct stream *st = &s->st[i];
		if (st->fetch)
			http_fetch_cancel(st->fetch);
		st->fetch = NULL;
		if (st->writing)
			store_piece_abort(&st->w);
		st->writing = 0;
		ev_timer_stop(s->cfg.loop, &st->retry);
	}
	ev_timer_stop(s->cfg.loop, &s->later);
}

/* Ends the source once; the caller's on_done may free it, so nothing touches s afterwards. */
static void finish(struct source *s, int rc, const char *msg)
{
	if (s->finished)
		return;
	s->finished = 1;
	if (rc != DF_OK)
		s->failed = 1;
	stop_all(s);
	s->cfg.on_done(s->cfg.ctx, rc, msg);
}

static void fail(struct source *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct source *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	s->err_no = errno; /* the failed call's (callers fail right after it) */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	finish(s, DF_ERR, msg);
}

static int all_idle(const struct source *s)
{
	for (int i = 0; i < SOURCE_MAX_STREAMS; i++)
		if (s->st[i].fetch || ev_is_active(&s->st[i].retry))
			return 0;
	return 1;
}

static void check_done(struct source *s)
{
	if (s->finished || !all_idle(s))
		return;
	if (store_task_complete(s->task))
		finish(s, DF_OK, NULL);
	else
		fail(s, "source: %u of %u pieces missing after the fetch",
		     store_task_piece_count(s->task) - store_task_present(s->task), store_task_piece_count(s->task));
}

static void header_copy(const struct http_resp *r, const char *name, char *out, size_t cap)
{
	struct slice v = http_header_get(r->headers, r->nheaders, name);
	if (slice_copy(v, out, cap) != 0)
		out[0] = 0;
}

static int on_meta(struct stream *st, const struct http_resp *r)
{
	struct source *s = st->src;
	char msg[256] = "";
	if (r->status == 206 && r->has_range) {
		if (r->range.start != st->req_start) {
			fail(s, "source answered a range from %llu, asked %llu", (unsigned long long)r->range.start,
			     (unsigned long long)st->req_start);
			return DF_ERR;
		}
		s->length = r->range.total;
		s->ranges = 1;
	} else if (r->status == 200) {
		s->length = r->content_length;
		s->ranges = 0;
		st->ranged = 0;
		st->off = 0;
		st->end = UINT32_MAX;
	} else {
		s->status = r->status;
		fail(s, "source answered %d %.*s", r->status, (int)r->reason.n, r->reason.p);
		return DF_ERR;
	}
	header_copy(r, "ETag", s->etag, sizeof s->etag);
	header_copy(r, "Last-Modified", s->lm, sizeof s->lm);
	if (!s->ps) {
		s->ps = source_piece_size(s->length);
		if (st->ranged)
			st->end = (uint32_t)(SOURCE_PROBE / s->ps);
	}
	struct source_meta m = {s->length, s->ranges, s->etag, s->lm, s->ps};
	struct store_task *t = s->cfg.on_meta(s->cfg.ctx, &m, msg, sizeof msg);
	if (!t) {
		fail(s, "%s", msg[0] ? msg : "source: refused by the caller");
		return DF_ERR;
	}
	s->task = t;
	s->meta_done = 1;
	if (s->length >= 0) {
		s->claimed_bits = npieces(s);
		s->claimed = calloc(s->claimed_bits / 8 + 1, 1);
		if (!s->claimed) {
			fail(s, "source: out of memory");
			return DF_ERR;
		}
		for (uint32_t n = (uint32_t)(st->req_start / s->ps); n < st->end && n < s->claimed_bits; n++)
			claim(s, n);
	}
	if (s->ranges && s->length >= 0)
		for (int i = 1; i < s->cfg.streams; i++)
			stream_next(&s->st[i]);
	return DF_OK;
}

/* The answer to a retry of a source that does not serve ranges: 200 with the whole file, which must
 * be the version the first answer named (validators, length), written from its start again. */
static int whole_again(struct stream *st, const struct http_resp *r)
{
	struct source *s = st->src;
	char etag[256], lm[128];
	if (r->status != 200) {
		fail(s, "source answered %d %.*s to a retry", r->status, (int)r->reason.n, r->reason.p);
		return DF_ERR;
	}
	header_copy(r, "ETag", etag, sizeof etag);
	header_copy(r, "Last-Modified", lm, sizeof lm);
	if (strcmp(etag, s->etag) != 0 || strcmp(lm, s->lm) != 0 ||
	    (s->length >= 0 && r->content_length >= 0 && r->content_length != s->length)) {
		fail(s, "source changed during the download (its answer to a retry names another version)");
		return DF_ERR;
	}
	st->ranged = 0;
	st->off = st->req_start = 0;
	st->end = UINT32_MAX;
	return DF_OK;
}

static int on_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct stream *st = ctx;
	struct source *s = st->src;
	st->got_head = 1;
	if (!s->meta_done)
		return on_meta(st, r);
	if (!s->ranges) /* a retry of a source without ranges: the whole file again, the same one? */
		return whole_again(st, r);
	if (st->ranged && r->status == 200) {
		fail(s, "source changed during the download (it answered 200 to a range request with If-Range)");
		return DF_ERR;
	}
	if (r->status != 206 || !r->has_range || r->range.start != st->req_start) {
		fail(s, "source answered %d %.*s to a range request", r->status, (int)r->reason.n, r->reason.p);
		return DF_ERR;
	}
	if (s->length >= 0 && r->range.total >= 0 && r->range.total != s->length) {
		fail(s, "source length changed from %lld to %lld bytes", (long long)s->length,
		     (long long)r->range.total);
		return DF_ERR;
	}
	return DF_OK;
}

/* The piece at st->off is complete in the writer: finish it and announce it. */
static int piece_end(struct stream *st)
{
	struct source *s = st->src;
	char err[256];
	if (!st->writing)
		return DF_OK;
	uint32_t n = st->w.piece, len = st->w.done;
	uint8_t sha[DIGEST_SHA256_LEN];
	st->writing = 0;
	if (store_piece_finish(&st->w, NULL, err, sizeof err) != DF_OK) {
		fail(s, "%s", err);
		return DF_ERR;
	}
	if (s->cfg.piece_sha256)
		br_sha256_out(&st->sha, sha);
	s->cfg.on_piece(s->cfg.ctx, n, len, s->cfg.piece_sha256 ? sha : NULL);
	return DF_OK;
}

static int on_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct stream *st = ctx;
	struct source *s = st->src;
	uint32_t ps = s->ps;
	char err[256];
	s->bytes += len;
	while (len) {
		uint32_t n = (uint32_t)(st->off / ps), in = (uint32_t)(st->off % ps);
		if (n >= st->end || (s->length >= 0 && st->off >= (uint64_t)s->length)) {
			fail(s, "source sent more bytes than asked");
			return DF_ERR;
		}
		if (in == 0 && !st->writing && !st->skipping) {
			if (store_task_has(s->task, n)) {
				st->skipping = 1;
			} else if (store_piece_begin(&st->w, s->task, n, err, sizeof err) == DF_OK) {
				st->writing = 1;
				if (s->cfg.piece_sha256)
					br_sha256_init(&st->sha);
			} else if (errno == EEXIST || errno == EBUSY) {
				st->skipping = 1; /* someone else has or writes it */
			} else {
				fail(s, "%s", err);
				return DF_ERR;
			}
		}
		uint64_t piece_end_off = (uint64_t)(n + 1) * ps;
		if (s->length >= 0 && piece_end_off > (uint64_t)s->length)
			piece_end_off = (uint64_t)s->length;
		size_t take = (size_t)DF_MIN((uint64_t)len, piece_end_off - st->off);
		if (st->writing && store_piece_append(&st->w, data, take, err, sizeof err) != DF_OK) {
			fail(s, "%s", err);
			return DF_ERR;
		}
		if (st->writing && s->cfg.piece_sha256)
			digest_sha256_update(&st->sha, data, take);
		st->off += take;
		data += take;
		len -= take;
		if (st->off == piece_end_off) {
			st->skipping = 0;
			if (piece_end(st) != DF_OK)
				return DF_ERR;
		}
	}
	return DF_OK;
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct stream *st = DF_CONTAINER_OF(w, struct stream, retry);
	uint32_t first = (uint32_t)(st->off / st->src->ps);
	start_stream(st, first, st->end);
}

static void on_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	struct stream *st = ctx;
	struct source *s = st->src;
	st->fetch = NULL;
	if (s->finished)
		return;
	if (rc != DF_OK && http_fetch_status(f) == 416 && !s->meta_done && st->req_start > 0 && !s->reprobed) {
		/* the file ends before where this resume starts: another version. The probe asks again from
		 * byte 0, so the caller sees the length and validators the source has now (and starts over) */
		s->reprobed = 1;
		st->off = 0;
		st->end = SOURCE_BATCH;
		ev_timer_set(&st->retry, 0, 0); /* from the loop: this fetch is still ending */
		ev_timer_start(s->cfg.loop, &st->retry);
		return;
	}
	if (rc != DF_OK && http_fetch_status(f) / 100 != 2)
		s->status = http_fetch_status(f); /* fail_status ended it on that answer (or 0: no answer) */
	if (rc == DF_OK) {
		if (s->length < 0) {
			/* the body's end is the file's end: a short last piece fixes the length in the store */
			char err[256];
			if (st->writing && piece_end(st) != DF_OK)
				return;
			s->length = (int64_t)st->off;
			if (store_task_length(s->task) < 0 &&
			    store_task_set_length(s->task, s->length, err, sizeof err) != DF_OK) {
				fail(s, "%s", err);
				return;
			}
			check_done(s);
			return;
		}
		uint64_t want = st->end == UINT32_MAX ? (uint64_t)s->length
						      : DF_MIN((uint64_t)st->end * s->ps, (uint64_t)s->length);
		if (st->off >= want) {
			ev_tstamp took = monotime_now() - st->t0;
			if (took > 0)
				s->rate = (double)(st->off - st->req_start) / took;
			st->attempts = 0;
			stream_next(st);
			check_done(s);
			return;
		}
		if (st->ranged && st->off > st->req_start) {
			/* a whole answer, shorter than asked: the rest is asked for, not retried */
			st->attempts = 0;
			send_range(st);
			return;
		}
		msg = "source ended its answer early";
	}
	if (st->writing) {
		store_piece_abort(&st->w);
		st->writing = 0;
	}
	st->skipping = 0;
	if (!s->meta_done || !st->got_head || ++st->attempts > SOURCE_RETRIES) {
		fail(s, "%s", msg ? msg : "source failed");
		return;
	}
	/* a source without ranges can only send the whole file again: the pieces already stored are
	 * skipped as it comes */
	st->off = s->ranges ? st->off / s->ps * s->ps : 0;
	log_warn("source %s: %s; retrying from byte %llu (%d of %d)", s->shown, msg ? msg : "failed",
		 (unsigned long long)st->off, st->attempts, SOURCE_RETRIES);
	ev_timer_set(&st->retry, 0.5 * st->attempts, 0);
	ev_timer_start(s->cfg.loop, &st->retry);
}

static void start_stream(struct stream *st, uint32_t first, uint32_t end)
{
	struct source *s = st->src;
	/* before the piece size is chosen (auto), the probe asks for SOURCE_PROBE bytes: whole pieces
	 * of any size it may pick */
	uint32_t ps = s->ps ? s->ps : SOURCE_PROBE / SOURCE_BATCH;
	st->end = end;
	st->req_start = (uint64_t)first * ps;
	st->off = st->req_start;
	st->writing = st->skipping = 0;
	send_range(st);
}

/* Asks for bytes st->off up to the end of piece st->end (or of the file): a new stream, or the rest
 * of one the source answered with a shorter range than asked (RFC 9110 lets it; some cap a range's
 * size), the piece being written going on where it stopped. */
static void send_range(struct stream *st)
{
	struct source *s = st->src;
	char err[256], hdrs[2048];
	struct http_request req = {
		.url = s->url,
		.follow_redirects = 1,
		.use_proxy = 1,
		.fail_status = 1,
		.what = "source",
		.on_response = on_response,
		.on_body = on_body,
		.on_done = on_done,
		.ctx = st,
	};
	uint32_t ps = s->ps ? s->ps : SOURCE_PROBE / SOURCE_BATCH;
	uint32_t end = st->end;
	st->req_start = st->off;
	st->ranged = 1;
	st->got_head = 0;
	st->t0 = monotime_now();
	req.range = 1;
	req.range_start = (int64_t)st->req_start;
	req.range_end = end == UINT32_MAX ? -1 : (int64_t)((uint64_t)end * ps - 1);
	if (s->length >= 0 && req.range_end >= s->length)
		req.range_end = s->length - 1;
	/* If-Range takes a strong ETag or a date; a weak ETag there would always fail */
	const char *validator = s->etag[0] && strncmp(s->etag, DF_LIT("W/")) != 0 ? s->etag : s->lm;
	snprintf(hdrs, sizeof hdrs, "%s%s%s%s", s->headers ? s->headers : "", validator[0] ? "If-Range: " : "",
		 validator, validator[0] ? "\r\n" : "");
	req.headers = hdrs;
	st->fetch = http_client_request(s->cfg.client, &req, err, sizeof err);
	if (!st->fetch)
		fail(s, "source %s: %s", s->shown, err);
}

/* Claims the next batch of pieces nobody has or fetches and starts a request for it. */
static void stream_next(struct stream *st)
{
	struct source *s = st->src;
	uint32_t total = npieces(s), p = s->cursor;
	while (p < total && (store_task_has(s->task, p) || claimed(s, p)))
		p++;
	s->cursor = p;
	if (p >= total)
		return;
	uint32_t batch = SOURCE_BATCH;
	if (s->rate > 0) {
		/* as long as SOURCE_REQ_SECONDS at the last rate, but no more than this stream's share
		 * of what is left, so the streams end together */
		double want = DF_MIN(s->rate * SOURCE_REQ_SECONDS, (double)SOURCE_REQ_MAX_BYTES) / s->ps;
		double share = (double)(total - p) / s->cfg.streams;
		want = DF_MIN(want, share);
		if (want > batch)
			batch = (uint32_t)want;
	}
	uint32_t end = p;
	while (end < total && end - p < batch && !store_task_has(s->task, end) && !claimed(s, end))
		claim(s, end++);
	start_stream(st, p, end);
}

static void later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	check_done(DF_CONTAINER_OF(w, struct source, later));
}

struct source *source_start(const struct source_cfg *cfg, char *err, size_t errlen)
{
	struct source *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	if (s->cfg.streams < 1)
		s->cfg.streams = 1;
	if (s->cfg.streams > SOURCE_MAX_STREAMS)
		s->cfg.streams = SOURCE_MAX_STREAMS;
	s->url = strdup(cfg->url);
	if (cfg->shown)
		snprintf(s->shown, sizeof s->shown, "%s", cfg->shown);
	else
		http_url_redact(cfg->url, strlen(cfg->url), NULL, s->shown, sizeof s->shown);
	s->headers = cfg->headers ? strdup(cfg->headers) : NULL;
	s->length = -1;
	s->ps = cfg->piece_size;
	ev_timer_init(&s->later, later_cb, 0, 0);
	for (int i = 0; i < SOURCE_MAX_STREAMS; i++) {
		s->st[i].src = s;
		ev_timer_init(&s->st[i].retry, retry_cb, 0, 0);
	}
	uint32_t first = 0;
	if (cfg->task) {
		const struct store_task_info *info = store_task_info(cfg->task);
		s->task = cfg->task;
		s->ps = store_task_piece_size(cfg->task);
		snprintf(s->etag, sizeof s->etag, "%s", info->etag ? info->etag : "");
		snprintf(s->lm, sizeof s->lm, "%s", info->last_modified ? info->last_modified : "");
		if (store_task_complete(cfg->task)) {
			s->meta_done = 1;
			ev_timer_start(cfg->loop, &s->later); /* callbacks never run inside source_start */
			return s;
		}
		uint32_t total = store_task_piece_count(cfg->task);
		while (first < total && store_task_has(cfg->task, first))
			first++;
		if (total == 0) /* unknown length: continue after the pieces present, in order */
			first = store_task_present(cfg->task);
	}
	start_stream(&s->st[0], first, s->ps ? first + SOURCE_BATCH : SOURCE_BATCH);
	if (s->finished) {
		snprintf(err, errlen, "source %s: cannot start", s->shown);
		source_free(s);
		return NULL;
	}
	/* the probe is not bound by If-Range: the caller compares validators in on_meta */
	return s;
}

void source_free(struct source *s)
{
	if (!s)
		return;
	stop_all(s);
	free(s->claimed);
	free(s->url);
	free(s->headers);
	free(s);
}

/* ---- revalidation ---- */

struct reval {
	void (*cb)(void *ctx, int current, const char *msg);
	void *ctx;
	char etag[256], lm[128];
	int verdict; /* enum source_verdict; SOURCE_UNREACHABLE until the head arrived */
	char why[128];
};

static int reval_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct reval *v = ctx;
	char etag[256], lm[128];
	if (r->status == 304) {
		v->verdict = SOURCE_CURRENT;
	} else if (r->status == 200 || r->status == 206) {
		header_copy(r, "ETag", etag, sizeof etag);
		header_copy(r, "Last-Modified", lm, sizeof lm);
		int same = (v->etag[0] && strcmp(etag, v->etag) == 0) ||
			   (!v->etag[0] && v->lm[0] && strcmp(lm, v->lm) == 0);
		v->verdict = same ? SOURCE_CURRENT : SOURCE_CHANGED;
	} else {
		/* not an answer about the file: a refusal of this request's credentials or conditions, or
		 * a sick source; the cached version stays what it is */
		v->verdict = SOURCE_REFUSED;
		snprintf(v->why, sizeof v->why, "source answered %d %.*s to the revalidation", r->status,
			 (int)DF_MIN(r->reason.n, 60), r->reason.p ? r->reason.p : "");
	}
	return DF_ERR; /* the body is not needed */
}

static void reval_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)rc;
	struct reval *v = ctx;
	v->cb(v->ctx, v->verdict,
	      v->verdict == SOURCE_REFUSED       ? v->why
	      : v->verdict == SOURCE_UNREACHABLE ? msg
						 : NULL);
	free(v);
}

struct http_fetch *source_revalidate(struct http_client *client, const char *url, const char *headers, const char *etag,
				     const char *last_modified, void (*cb)(void *ctx, int current, const char *msg),
				     void *ctx, char *err, size_t errlen)
{
	struct reval *v = calloc(1, sizeof *v);
	char hdrs[2048];
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	v->cb = cb;
	v->ctx = ctx;
	v->verdict = SOURCE_UNREACHABLE;
	snprintf(v->etag, sizeof v->etag, "%s", etag ? etag : "");
	snprintf(v->lm, sizeof v->lm, "%s", last_modified ? last_modified : "");
	int n = snprintf(hdrs, sizeof hdrs, "%s", headers ? headers : "");
	if (v->etag[0])
		n += snprintf(hdrs + n, sizeof hdrs - (size_t)DF_MIN(n, (int)sizeof hdrs), "If-None-Match: %s\r\n",
			      v->etag);
	if (v->lm[0] && n < (int)sizeof hdrs)
		snprintf(hdrs + n, sizeof hdrs - (size_t)n, "If-Modified-Since: %s\r\n", v->lm);
	struct http_request req = {
		.url = url,
		.headers = hdrs,
		.range = 1,
		.range_start = 0,
		.range_end = 0,
		.follow_redirects = 1,
		.use_proxy = 1,
		.what = "source",
		.on_response = reval_response,
		.on_done = reval_done,
		.ctx = v,
	};
	struct http_fetch *f = http_client_request(client, &req, err, errlen);
	if (!f)
		free(v);
	return f;
}
