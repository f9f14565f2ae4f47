/* The supernode's gate for private sources (swarm/access.h).
 *
 * How it works: the first access_admit starts the anonymous probe (GET bytes=0-0 of the probe URL,
 * no headers) and parks every decision behind it. A probe answered with the file (a 2xx stating the
 * task's length) makes the task public for good; anything else (401, 403, 404, a login page of
 * another size, no answer) makes it private. For a private task each decision looks up the hash of
 * the registrant's URL and headers in a small cache of the source's recent yeses, else sends that
 * registrant's own check: the same one-byte request with its URL and headers. Only yeses are
 * cached, for cfg.cache_seconds: a credential the source stops accepting stops working then. */
#include "swarm/access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/digest.h"
#include "core/log.h"
#include "core/monotime.h"
#include "net/http_parse.h"

#define CACHE_SLOTS 32
#define CHECK_TIMEOUT 15.0

enum access_state { A_UNKNOWN, A_PROBING, A_PUBLIC, A_PRIVATE };

struct access_wait {
	struct access *a;
	struct access_wait *next; /* a->waits */
	struct http_fetch *f;     /* this registrant's check; NULL while the probe runs */
	char *url, *headers;      /* headers: the registrant's lines, then If-None-Match with the task's ETag */
	uint8_t cred[32];         /* sha256 of url and headers: the cache key */
	int64_t length;
	int may_check; /* its URL may speak for the task */
	int status;    /* the check's answer; 0 none yet */
	int64_t total; /* the length that answer states; -1 none */
	char reason[64];
	void (*cb)(void *ctx, int ok, const char *why);
	void *ctx;
};

struct cred_entry {
	uint8_t cred[32];
	double until;
};

struct access {
	struct access_cfg cfg;
	char *probe_url;
	char probe_hdrs[320]; /* If-None-Match of the probe */
	enum access_state state;
	struct http_fetch *probe;
	int probe_status;
	int64_t probe_total, probe_length;
	struct access_wait *waits;
	struct cred_entry *cache; /* CACHE_SLOTS, made at the first yes: most sources are public */
};

struct access *access_new(const struct access_cfg *cfg, const char *probe_url)
{
	struct access *a = calloc(1, sizeof *a);
	if (!a || !(a->probe_url = strdup(probe_url))) {
		free(a);
		return NULL;
	}
	a->cfg = *cfg;
	if (cfg->assume_public)
		a->state = A_PUBLIC;
	return a;
}

static void wait_free(struct access_wait *w)
{
	if (w->f)
		http_fetch_cancel(w->f);
	free(w->url);
	free(w->headers);
	free(w);
}

static void unlink_wait(struct access_wait *w)
{
	for (struct access_wait **pp = &w->a->waits; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

void access_free(struct access *a)
{
	if (!a)
		return;
	if (a->probe)
		http_fetch_cancel(a->probe);
	while (a->waits) {
		struct access_wait *w = a->waits;
		a->waits = w->next;
		wait_free(w);
	}
	free(a->probe_url);
	free(a->cache);
	free(a);
}

void access_wait_cancel(struct access_wait *w)
{
	if (!w)
		return;
	unlink_wait(w);
	wait_free(w);
}

const char *access_state(const struct access *a)
{
	return a->state == A_PUBLIC ? "public" : a->state == A_PRIVATE ? "private" : "unknown";
}

/* Whether a check's answer (status, the total length it states) is the task's file. */
static int is_the_file(int status, const char *reason, int64_t total, int64_t length, char *why, size_t whylen)
{
	if (status == 304)
		return 1; /* only sent for the task's own ETag: the source would serve this very file */
	if (status == 416 && length == 0)
		return 1; /* an empty file has no byte 0; the source accepted the request all the same */
	if (status < 200 || status > 299) {
		snprintf(why, whylen, "the source answered %d%s%s", status, reason[0] ? " " : "", reason);
		return 0;
	}
	if (length >= 0 && total != length) {
		/* a login page the source redirected to answers 2xx too: the length tells it apart */
		if (total < 0)
			snprintf(why, whylen,
				 "the source's answer (%d) does not say its length, so it is not known to be the file",
				 status);
		else
			snprintf(why, whylen, "the source answered %d with %lld bytes, not the file's %lld", status,
				 (long long)total, (long long)length);
		return 0;
	}
	return 1;
}

static int64_t stated_total(const struct http_resp *r)
{
	if (r->status == 206)
		return r->has_range ? r->range.total : -1;
	return r->status >= 200 && r->status <= 299 ? r->content_length : -1;
}

static void reason_copy(const struct http_resp *r, char *out, size_t cap)
{
	if (slice_copy(r->reason, out, cap) != 0)
		out[0] = 0;
}

static struct cred_entry *cache_find(struct access *a, const uint8_t cred[32])
{
	double now = monotime_now();
	for (int i = 0; a->cache && i < CACHE_SLOTS; i++)
		if (a->cache[i].until > now && memcmp(a->cache[i].cred, cred, 32) == 0)
			return &a->cache[i];
	return NULL;
}

static void cache_put(struct access *a, const uint8_t cred[32])
{
	if (a->cfg.cache_seconds <= 0 || (!a->cache && !(a->cache = calloc(CACHE_SLOTS, sizeof *a->cache))))
		return; /* out of memory: the source is asked again next time */
	struct cred_entry *e = cache_find(a, cred), *old = &a->cache[0];
	for (int i = 0; !e && i < CACHE_SLOTS; i++)
		if (a->cache[i].until < old->until)
			old = &a->cache[i]; /* the oldest (or an expired or empty) slot */
	if (!e)
		e = old;
	memcpy(e->cred, cred, 32);
	e->until = monotime_now() + a->cfg.cache_seconds;
}

/* Ends one decision: unlinked and freed before its callback runs. */
static void decide(struct access_wait *w, int ok, const char *why)
{
	void (*cb)(void *, int, const char *) = w->cb;
	void *ctx = w->ctx;
	char msg[384];
	snprintf(msg, sizeof msg, "%s", why ? why : "");
	unlink_wait(w);
	w->f = NULL;
	wait_free(w);
	cb(ctx, ok, msg);
}

static int check_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct access_wait *w = ctx;
	w->status = r->status;
	w->total = stated_total(r);
	reason_copy(r, w->reason, sizeof w->reason);
	return DF_ERR; /* the head is the answer */
}

static void check_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)rc;
	struct access_wait *w = ctx;
	struct access *a = w->a;
	char why[320];
	w->f = NULL;
	if (!w->status) {
		snprintf(why, sizeof why, "cannot check this host's access at the source: %s", msg ? msg : "no answer");
		decide(w, 0, why);
		return;
	}
	if (!is_the_file(w->status, w->reason, w->total, w->length, why, sizeof why)) {
		decide(w, 0, why);
		return;
	}
	cache_put(a, w->cred);
	decide(w, 1, NULL);
}

static int start_check(struct access_wait *w, char *err, size_t errlen)
{
	struct http_request req = {
		.url = w->url,
		.headers = w->headers,
		.range = 1,
		.range_start = 0,
		.range_end = 0,
		.follow_redirects = 1,
		.use_proxy = 1,
		.what = "source",
		.first_byte_timeout = CHECK_TIMEOUT,
		.idle_timeout = CHECK_TIMEOUT,
		.on_response = check_response,
		.on_done = check_done,
		.ctx = w,
	};
	w->f = http_client_request(w->a->cfg.client, &req, err, errlen);
	return w->f ? DF_OK : DF_ERR;
}

/* A private task: the cache, else the registrant's own check. DF_OK admitted, DF_AGAIN checking,
 * DF_ERR refused (why). */
static int private_admit(struct access_wait *w, char *why, size_t whylen)
{
	char err[256];
	if (!w->may_check) {
		snprintf(why, whylen,
			 "the source needs credentials, and this host's URL is not where the file came from: "
			 "fetch it from the source");
		return DF_ERR;
	}
	if (cache_find(w->a, w->cred))
		return DF_OK;
	if (start_check(w, err, sizeof err) != DF_OK) {
		snprintf(why, whylen, "cannot check this host's access at the source: %s", err);
		return DF_ERR;
	}
	return DF_AGAIN;
}

static int probe_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct access *a = ctx;
	a->probe_status = r->status;
	a->probe_total = stated_total(r);
	return DF_ERR;
}

static void probe_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)rc;
	struct access *a = ctx;
	char why[320];
	a->probe = NULL;
	a->state = a->probe_status && is_the_file(a->probe_status, "", a->probe_total, a->probe_length, why, sizeof why)
			   ? A_PUBLIC
			   : A_PRIVATE;
	if (a->state == A_PRIVATE)
		log_info("source %s is private (without credentials: %s): each registrant is checked with its own",
			 a->probe_url, a->probe_status ? why : (msg ? msg : "no answer"));
	/* the decisions parked behind the probe: each is decided or starts its check; the list is taken
	 * first, as callbacks may admit new registrants */
	struct access_wait *list = a->waits;
	a->waits = NULL;
	while (list) {
		struct access_wait *w = list;
		list = w->next;
		w->next = a->waits;
		a->waits = w;
		int r = a->state == A_PUBLIC ? DF_OK : private_admit(w, why, sizeof why);
		if (r != DF_AGAIN)
			decide(w, r == DF_OK, why);
	}
}

/* "If-None-Match: ETAG\r\n" when the task has a usable ETag, else "". */
static const char *inm_line(const char *etag, char *buf, size_t cap)
{
	if (!etag || !etag[0] || strlen(etag) > 256 || strpbrk(etag, "\r\n"))
		return "";
	snprintf(buf, cap, "If-None-Match: %s\r\n", etag);
	return buf;
}

int access_admit(struct access *a, const char *url, const char *headers, int64_t length, const char *etag,
		 int may_check, void (*cb)(void *ctx, int ok, const char *why), void *ctx, struct access_wait **wp,
		 char *why, size_t whylen)
{
	*wp = NULL;
	if (a->state == A_PUBLIC)
		return DF_OK;
	char inm[320];
	const char *cond = inm_line(etag, inm, sizeof inm);
	struct access_wait *w = calloc(1, sizeof *w);
	if (!w || !(w->url = strdup(url)) ||
	    !(w->headers = malloc(strlen(headers ? headers : "") + strlen(cond) + 1))) {
		if (w)
			free(w->url);
		free(w);
		snprintf(why, whylen, "supernode: out of memory");
		return DF_ERR;
	}
	size_t hl = strlen(headers ? headers : "");
	memcpy(w->headers, headers ? headers : "", hl);
	memcpy(w->headers + hl, cond, strlen(cond) + 1);
	w->a = a;
	w->length = length;
	w->may_check = may_check;
	w->total = -1;
	w->cb = cb;
	w->ctx = ctx;
	br_sha256_context sha;
	br_sha256_init(&sha);
	br_sha256_update(&sha, w->url, strlen(w->url) + 1); /* the NUL separates url and headers */
	br_sha256_update(&sha, w->headers, strlen(w->headers));
	br_sha256_out(&sha, w->cred);
	if (a->state == A_UNKNOWN) {
		char err[256];
		snprintf(a->probe_hdrs, sizeof a->probe_hdrs, "%s", cond);
		struct http_request req = {
			.url = a->probe_url,
			.headers = a->probe_hdrs,
			.range = 1,
			.range_start = 0,
			.range_end = 0,
			.follow_redirects = 1,
			.use_proxy = 1,
			.what = "source",
			.first_byte_timeout = CHECK_TIMEOUT,
			.idle_timeout = CHECK_TIMEOUT,
			.on_response = probe_response,
			.on_done = probe_done,
			.ctx = a,
		};
		a->probe_length = length;
		a->probe = http_client_request(a->cfg.client, &req, err, sizeof err);
		if (!a->probe) {
			log_warn("source %s: cannot probe it without credentials (%s): treated as private",
				 a->probe_url, err);
			a->state = A_PRIVATE;
		} else {
			a->state = A_PROBING;
		}
	}
	int r = a->state == A_PROBING ? DF_AGAIN : private_admit(w, why, whylen);
	if (r != DF_AGAIN) {
		wait_free(w);
		return r;
	}
	w->next = a->waits;
	a->waits = w;
	*wp = w;
	return DF_AGAIN;
}

/* The origin of a parsed URL equals another's: scheme, host (any case), port. */
static int same_origin(const struct http_url *x, const struct http_url *y)
{
	return x->tls == y->tls && x->port == y->port && x->host.n == y->host.n &&
	       strncasecmp(x->host.p, y->host.p, x->host.n) == 0;
}

int access_url_vouches(const char *src_url, const char *url, const char *filter, const char *digest_hex)
{
	char a[8192], b[8192];
	int na = http_url_normalize(src_url, strlen(src_url), filter && filter[0] ? filter : NULL, a, sizeof a);
	int nb = http_url_normalize(url, strlen(url), filter && filter[0] ? filter : NULL, b, sizeof b);
	if (na < 0 || nb < 0)
		return 0;
	if (na == nb && memcmp(a, b, (size_t)na) == 0)
		return 1;
	struct http_url x, y;
	if (http_url_parse(src_url, strlen(src_url), &x, NULL) != DF_OK ||
	    http_url_parse(url, strlen(url), &y, NULL) != DF_OK || !same_origin(&x, &y))
		return 0;
	size_t hn = digest_hex ? strlen(digest_hex) : 0;
	if (hn < 32)
		return 0;
	for (size_t i = 0; i + hn <= y.path.n; i++)
		if (memcmp(y.path.p + i, digest_hex, hn) == 0)
			return 1;
	return 0;
}
