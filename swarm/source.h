/* Back to source: fetches a task's missing pieces from its origin URL into the store, with several
 * concurrent Range requests (one stream when the source has no ranges or no length), pieces
 * announced as each completes. Shared by the supernode and by df get's direct mode. */
#ifndef DF_SWARM_SOURCE_H
#define DF_SWARM_SOURCE_H

#include <stdint.h>

#include "net/http_client.h"
#include "store/store.h"

struct source;

/* What the source said about the file in its first answer. Strings valid during on_meta only. */
struct source_meta {
	int64_t length;   /* -1 when the source did not say */
	int ranges;       /* it answered a Range request with 206 */
	const char *etag; /* "" when none */
	const char *last_modified;
	uint32_t piece_size; /* the piece size in use (chosen from the length when cfg asked for auto) */
};

#define SOURCE_MIN_PIECE (256u << 10)
#define SOURCE_MAX_PIECE (4u << 20)
/* The piece size for a file of `length` bytes: about length/256 as a power of two within
 * SOURCE_MIN_PIECE..SOURCE_MAX_PIECE (the simulator's finding: enough pieces for a swarm to spread,
 * few enough to schedule cheaply); the maximum when the length is unknown. */
uint32_t source_piece_size(int64_t length);

struct source_cfg {
	struct ev_loop *loop;
	struct http_client *client;
	const char *url;
	const char *shown;   /* url as messages show it (redacted: swarm_url_shown_new); NULL: url */
	const char *headers; /* extra request lines "Name: value\r\n"... (Authorization, Cookie), or NULL */
	uint32_t piece_size; /* 0: source_piece_size(length), chosen at the first answer */
	int streams;         /* concurrent range requests (1..16) */
	int piece_sha256;    /* also compute each written piece's SHA-256 (for on_piece) */
	/* The task whose missing pieces to fetch, when the caller already has one (resume, a cache
	 * being completed); its validators go out as If-Range so a changed source is noticed. NULL: the
	 * task is created in on_meta. */
	struct store_task *task;
	/* First answer: returns the task to write into (the same as cfg.task, or a new or re-created
	 * one when the source changed), or NULL to stop with msg (copied) as the cause. */
	struct store_task *(*on_meta)(void *ctx, const struct source_meta *m, char *msg, size_t msglen);
	/* piece n is now in the store; sha256 is its SHA-256 when piece_sha256 is set (hashed from the
	 * source's bytes as they were written), else NULL */
	void (*on_piece)(void *ctx, uint32_t piece, uint32_t len, const uint8_t *sha256);
	/* The end: DF_OK when every piece is present (the length is then known), DF_ERR with the cause.
	 * The source may be freed from here. */
	void (*on_done)(void *ctx, int rc, const char *msg);
	void *ctx;
};

/* Starts fetching (cfg copied; strings must outlive the source). NULL with err set when the request
 * cannot start (bad URL...). */
struct source *source_start(const struct source_cfg *cfg, char *err, size_t errlen);
/* Cancels what is in flight (no callbacks after) and frees. NULL is fine. */
void source_free(struct source *s);
/* Body bytes received from the source so far. */
uint64_t source_bytes(const struct source *s);
/* The errno of the call that failed the source (ENOSPC from a store write...), or 0; meaningful
 * once on_done reported an error. */
int source_errno(const struct source *s);

/* The HTTP status of the source's answer that ended it (404, 403...), or 0 when it failed otherwise
 * (connect, TLS, a store write); meaningful once on_done reported an error. */
int source_status(const struct source *s);

/* What a revalidation found (source_revalidate's callback). */
enum source_verdict {
	SOURCE_REFUSED = -2,     /* the source answered something else (412, 401, 503, 404...): msg says what */
	SOURCE_UNREACHABLE = -1, /* no answer (connect, timeout): msg says why */
	SOURCE_CHANGED = 0,      /* a 200/206 whose validators differ (or there are none to compare) */
	SOURCE_CURRENT = 1,      /* 304, or a 200/206 with the same validators */
};

/* Asks whether a cached copy is still current: a GET of one byte with If-None-Match/If-Modified-Since.
 * cb gets an enum source_verdict and, for the negative ones, the cause. Returns the fetch (cancel it
 * to stop) or NULL with err set. */
struct http_fetch *source_revalidate(struct http_client *client, const char *url, const char *headers, const char *etag,
				     const char *last_modified, void (*cb)(void *ctx, int current, const char *msg),
				     void *ctx, char *err, size_t errlen);

#endif
