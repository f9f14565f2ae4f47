/* Blobs from the swarm: a content-addressed download (task id = the blob's sha256, whatever the
 * repository, tag or registry) streamed to the client as its pieces land, Range answered with 206.
 *
 * How the digest guards the client: the reply's last byte is held back until the engine reports
 * the whole blob matched its sha256, so a client never receives a complete body that is wrong; on
 * a mismatch (or any swarm failure once bytes went out) the connection is aborted and the client
 * retries. A failure before the first byte falls back to relaying the blob from the upstream, so
 * the client never sees df's trouble. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "swarm/peer.h"
#include "swarm/registry_int.h"

struct reg_stream {
	struct reg_blob *b;
	struct swarm_dl *dl;     /* NULL once the engine reported the end */
	struct store_task *task; /* our own reference, from on_meta until the stream ends */
	int64_t length;
	int ranged; /* the client asked for a satisfiable range: 206 */
	struct http_range range;
	uint64_t first, last; /* the inclusive byte span of the reply; last < first when empty */
	uint64_t next;        /* the next byte to send */
	int replied, verified, failed;
	ev_timer later; /* the fallback to a relay, run from the loop (not inside on_meta) */
};

void registry_blob_stream_stop(struct reg_blob *b)
{
	struct reg_stream *s = b->stream;
	if (!s)
		return;
	if (s->dl)
		swarm_dl_cancel(s->dl);
	ev_timer_stop(b->reg->cfg.loop, &s->later);
	if (s->task)
		store_task_close(s->task);
	free(s);
	b->stream = NULL;
}

/* Sends what is present from s->next on, keeping the reply's last byte until the digest checked. */
static void produce(struct http_req *req, void *ctx)
{
	struct reg_stream *s = ctx;
	struct registry *reg = s->b->reg;
	if (s->failed || !s->task)
		return;
	uint64_t end = s->last + 1; /* exclusive */
	uint64_t limit = s->verified ? end : end - 1;
	if (s->last < s->first) /* an empty reply */
		end = limit = s->first;
	uint32_t ps = store_task_piece_size(s->task);
	while (s->next < limit) {
		uint32_t p = (uint32_t)(s->next / ps);
		int fd;
		uint64_t off;
		uint32_t plen;
		if (!store_task_has(s->task, p) || store_piece_span(s->task, p, &fd, &off, &plen) != DF_OK)
			return; /* on_piece calls http_reply_ready when it lands */
		uint64_t pstart = (uint64_t)p * ps;
		uint64_t stop = DF_MIN(DF_MIN(limit, pstart + plen), s->next + (1u << 30));
		size_t want = (size_t)(stop - s->next);
		ssize_t w = http_reply_sendfile(req, fd, (off_t)(off + (s->next - pstart)), want);
		if (w < 0)
			return; /* the exchange failed: the done callback follows */
		s->next += (uint64_t)w;
		reg->st.blob_bytes += (uint64_t)w;
		if ((size_t)w < want)
			return; /* the socket is full: called again when it drains */
	}
	if (s->next >= end && s->verified) {
		log_debug("registry: %s: reply ended", s->b->shown);
		http_reply_end(req);
	}
}

static void fallback_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct reg_blob *b = DF_CONTAINER_OF(w, struct reg_stream, later)->b;
	registry_blob_stream_stop(b);
	registry_blob_relay(b);
}

/* Relays the blob from the upstream instead, once the engine's callback returned: cancelling a
 * watcher inside its own on_meta is not something the engine promises to survive. */
static void fallback_later(struct reg_stream *s)
{
	s->failed = 1;
	ev_timer_set(&s->later, 0, 0);
	ev_timer_start(s->b->reg->cfg.loop, &s->later);
}

int registry_blob_headers(const struct reg_blob *b, char *out, size_t cap)
{
	char dg[80];
	int n;
	if (b->digest.len) {
		digest_spec_format(&b->digest, dg, sizeof dg);
		n = snprintf(out, cap,
			     "Content-Type: %s\r\nDocker-Content-Digest: %s\r\nEtag: \"%s\"\r\nAccept-Ranges: bytes\r\n"
			     "Docker-Distribution-Api-Version: registry/2.0\r\n",
			     b->ctype[0] ? b->ctype : "application/octet-stream", dg, dg);
	} else {
		n = snprintf(out, cap, "Content-Type: %s\r\nAccept-Ranges: bytes\r\n",
			     b->ctype[0] ? b->ctype : "application/octet-stream");
	}
	return n < 0 ? 0 : (int)DF_MIN((size_t)n, cap - 1);
}

static void on_meta(struct swarm_dl *dl, int64_t length, void *ctx)
{
	struct reg_stream *s = ctx;
	struct reg_blob *b = s->b;
	struct registry *reg = b->reg;
	char err[256], extra[1024];
	struct store_task *t = swarm_dl_task(dl);
	if (length < 0 || !t) {
		/* a registry always says how long a blob is; without it no Content-Length: relay instead */
		log_info("registry: %s: the swarm does not know the length; relaying from the upstream", b->shown);
		fallback_later(s);
		return;
	}
	s->task = store_task_open(reg->cfg.store, store_task_id(t), NULL, 0, err, sizeof err);
	if (!s->task) {
		log_warn("registry: %s: %s; relaying from the upstream", b->shown, err);
		fallback_later(s);
		return;
	}
	s->length = length;
	int n = registry_blob_headers(b, extra, sizeof extra);
	int status = 200;
	s->first = 0;
	s->last = (uint64_t)length - 1; /* wraps to "empty" for a 0-byte blob */
	if (s->ranged) {
		uint64_t a, z;
		if (http_range_resolve(&s->range, (uint64_t)length, &a, &z) != DF_OK) {
			snprintf(extra + n, sizeof extra - (size_t)n, "Content-Range: bytes */%lld\r\n",
				 (long long)length);
			s->failed = 1;
			http_reply(b->req, 416, extra, NULL, 0);
			return;
		}
		s->first = a;
		s->last = z;
		status = 206;
		snprintf(extra + n, sizeof extra - (size_t)n, "Content-Range: bytes %llu-%llu/%lld\r\n",
			 (unsigned long long)a, (unsigned long long)z, (long long)length);
	}
	if (length == 0) {
		s->first = 1;
		s->last = 0;
	}
	s->next = s->first;
	uint64_t body = s->last >= s->first ? s->last - s->first + 1 : 0;
	if (http_reply_start(b->req, status, extra, (int64_t)body, produce, s) != DF_OK) {
		s->failed = 1;
		http_reply_abort(b->req);
		return;
	}
	s->replied = 1;
	reg->st.blobs_p2p++;
}

static void on_piece(struct swarm_dl *dl, uint32_t piece, void *ctx)
{
	(void)dl;
	(void)piece;
	struct reg_stream *s = ctx;
	if (s->replied && !s->failed)
		http_reply_ready(s->b->req);
}

static void on_done(struct swarm_dl *dl, int rc, int exit_code, const char *msg, void *ctx)
{
	struct reg_stream *s = ctx;
	struct reg_blob *b = s->b;
	s->dl = NULL;
	if (rc == DF_OK && s->task) {
		s->verified = 1;
		log_debug("registry: %s: digest checked, %llu of %llu reply bytes sent", b->shown,
			  (unsigned long long)(s->next - s->first), (unsigned long long)(s->last + 1 - s->first));
		if (s->replied && !s->failed)
			http_reply_ready(b->req);
		return;
	}
	if (s->failed)
		return; /* answered already (416) */
	if (!s->replied && exit_code == DF_EXIT_DIGEST) {
		/* relaying would hand the client the very bytes that failed */
		log_warn("registry: %s: %s", b->shown, msg ? msg : "digest mismatch");
		s->failed = 1;
		b->reg->st.aborted++;
		static const char body[] = "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":"
					   "\"df proxy: the upstream's blob does not match its digest\"}]}\n";
		http_reply(b->req, 502, "Content-Type: application/json\r\n", body, sizeof body - 1);
		return;
	}
	const char *sup = swarm_dl_super_failure(dl);
	if (!s->replied && sup) {
		/* not a passing trouble: every blob will miss the swarm until the supernode is fixed */
		log_warn("registry: %s: the supernode failed the task, so the blob comes from the upstream without "
			 "P2P: %s",
			 b->shown, sup);
		struct registry_stats *st = &b->reg->st;
		st->super_failed++;
		snprintf(st->super_failure, sizeof st->super_failure, "%s", sup);
		registry_blob_stream_stop(b);
		registry_blob_relay(b);
		return;
	}
	if (!s->replied) {
		log_info("registry: %s: %s; relaying from the upstream", b->shown, msg ? msg : "swarm failed");
		registry_blob_stream_stop(b);
		registry_blob_relay(b);
		return;
	}
	/* bytes went out already: cut the connection, never complete a reply the digest did not vouch for */
	log_warn("registry: %s: %s; aborting the reply after %llu bytes", b->shown, msg ? msg : "swarm failed",
		 (unsigned long long)(s->next - s->first));
	s->failed = 1;
	b->reg->st.aborted++;
	http_reply_abort(b->req);
}

void registry_blob_p2p(struct reg_blob *b)
{
	char err[256];
	struct reg_stream *s = calloc(1, sizeof *s);
	if (!s) {
		registry_blob_relay(b);
		return;
	}
	s->b = b;
	b->stream = s;
	ev_init(&s->later, fallback_cb);
	struct slice rv = http_req_header(b->req, "range");
	/* several ranges or a bad header: answer the whole blob, as RFC 9110 allows */
	if (rv.p && http_range_parse(rv, &s->range) == DF_OK)
		s->ranged = 1;
	struct swarm_dl_cfg dc = {
		.url = b->url,
		.headers = b->creds[0] ? b->creds : NULL,
		.digest = b->digest,
		.on_meta = on_meta,
		.on_piece = on_piece,
		.on_done = on_done,
		.ctx = s,
		.in_order = 1, /* the client reads the blob from its start while it lands */
	};
	s->dl = swarm_dl_start(b->reg->cfg.peer, &dc, err, sizeof err);
	if (!s->dl) {
		log_info("registry: %s: %s; relaying from the upstream", b->shown, err);
		registry_blob_stream_stop(b);
		registry_blob_relay(b);
	}
}
