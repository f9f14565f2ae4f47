/* Manifests with [proxy] offline_serve: df fetches each manifest GET/HEAD itself (buffered: a
 * manifest is at most a few MiB), answers the client with the upstream's answer, and keeps a 200's
 * body by digest (mancache) with the authorization decision (authmem) and, for a tag, the digest it
 * resolved to. When the upstream cannot be reached or answers 5xx, a manifest by digest (by tag only
 * with offline_tags) is answered from that copy to credentials the upstream accepted for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/digest.h"
#include "core/log.h"
#include "swarm/authmem.h"
#include "swarm/mancache.h"
#include "swarm/registry_int.h"

struct reg_man {
	struct registry *reg;
	struct reg_man *prev, *next;
	struct http_req *req;
	struct http_fetch *f;
	int head;       /* the client's request is a HEAD */
	int follow;     /* the plan's follow_redirects (for the relay fallback) */
	int status;     /* the upstream's, 0 before its answer */
	int64_t stated; /* a HEAD answer's Content-Length, or -1 */
	char *body;
	size_t len, cap;
	char extra[3072]; /* the upstream's response header lines for the client */
	char ctype[MANCACHE_TYPE_MAX + 1];
	char dcd[80];   /* its Docker-Content-Digest when a sha256 one, else "" */
	char host[300]; /* the upstream's host:port */
	char repo[256];
	char ref[136]; /* tag or digest as requested */
	int by_digest;
	int base;             /* the request is /v2/ (the ping) */
	char challenge[1024]; /* the upstream's WWW-Authenticate lines */
	char url[2048], shown[2048];
	char *hdrs;       /* every request line forwarded (malloc'ed) */
	char creds[8192]; /* Authorization / Cookie lines: the authmem keys */
};

static void man_free(struct reg_man *m)
{
	if (m->f)
		http_fetch_cancel(m->f);
	if (m->prev)
		m->prev->next = m->next;
	else
		m->reg->mans = m->next;
	if (m->next)
		m->next->prev = m->prev;
	free(m->body);
	free(m->hdrs);
	free(m);
}

void registry_manifest_abort_all(struct registry *reg)
{
	while (reg->mans) {
		struct reg_man *m = reg->mans;
		http_req_on_done(m->req, NULL, NULL);
		http_reply_abort(m->req);
		man_free(m);
	}
}

static void man_client_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	(void)ok;
	man_free(ctx);
}

/* Hands m's request to a plain relay (a manifest larger than a copy may be) and frees m. */
static void man_relay(struct reg_man *m)
{
	struct relay_cfg rc = {
		.client = m->reg->cfg.client,
		.url = m->url,
		.headers = m->hdrs,
		.follow_redirects = m->follow,
		.what = "upstream registry",
		.idle_timeout = m->reg->cfg.timeout,
		.stats = &m->reg->st.relay,
	};
	http_req_on_done(m->req, NULL, NULL);
	relay_start(m->req, &rc);
	man_free(m);
}

/* The authmem key of (these credentials or none, upstream, repository, what) */
static void key_of(const struct reg_man *m, int anon, const char *what, uint8_t out[32])
{
	const char *cr = anon ? "" : m->creds;
	authmem_key(cr, strlen(cr), m->host, strlen(m->host), m->repo, strlen(m->repo), what, strlen(what), out);
}

static int remembered(const struct reg_man *m, const char *what)
{
	struct registry *reg = m->reg;
	int64_t now = (int64_t)time(NULL), win = reg->cfg.offline_remember;
	uint8_t k[32], ka[32];
	key_of(m, 0, what, k);
	key_of(m, 1, what, ka);
	return authmem_valid(reg->mem, k, now, win) || authmem_valid(reg->mem, ka, now, win);
}

static void accept_key(struct reg_man *m, const char *what)
{
	uint8_t k[32];
	key_of(m, 0, what, k);
	if (authmem_accept(m->reg->mem, k, (int64_t)time(NULL)) != DF_OK)
		log_warn("registry: %s: the authorization could not be remembered for offline serving", m->shown);
}

/* The upstream answered 200: remember the yes, the copy and the tag's digest. */
static void keep(struct reg_man *m)
{
	char digest[80] = "";
	if (!m->head) {
		br_sha256_context s;
		uint8_t h[32];
		char hex[65];
		br_sha256_init(&s);
		digest_sha256_update(&s, m->body, m->len);
		br_sha256_out(&s, h);
		digest_hex(h, 32, hex);
		snprintf(digest, sizeof digest, "sha256:%s", hex);
		/* what the registry says it is must be what it sent (else neither is trusted) */
		if ((m->dcd[0] && strcmp(m->dcd, digest) != 0) || (m->by_digest && strcmp(m->ref, digest) != 0)) {
			log_warn("registry: %s: the manifest's sha256 is not its digest; not kept for offline serving",
				 m->shown);
			return;
		}
		if (!m->ctype[0] || mancache_put(m->reg->mc, digest, m->ctype, m->body, m->len) != DF_OK)
			return;
	} else {
		if (!m->dcd[0] || (m->by_digest && strcmp(m->dcd, m->ref) != 0))
			return;
		snprintf(digest, sizeof digest, "%s", m->dcd);
	}
	accept_key(m, digest);
	if (!m->by_digest) {
		accept_key(m, m->ref);
		mancache_put_tag(m->reg->mc, m->host, m->repo, m->ref, digest);
	}
}

/* The upstream cannot be reached (or answered 5xx): the copy, if these credentials may have it.
 * DF_OK when answered; DF_ERR when the client should get the upstream's own answer. */
static int serve_offline(struct reg_man *m, const char *why)
{
	struct registry *reg = m->reg;
	char digest[80], ctype[MANCACHE_TYPE_MAX + 1];
	const char *refused = NULL;
	char *body = NULL;
	size_t len = 0;
	if (m->by_digest)
		snprintf(digest, sizeof digest, "%.71s", m->ref);
	if (!m->by_digest && !reg->cfg.offline_tags)
		refused = "a tag is not answered from a copy (offline_tags = no)";
	else if (!m->by_digest &&
		 (!remembered(m, m->ref) || mancache_get_tag(reg->mc, m->host, m->repo, m->ref, digest) != DF_OK))
		refused = "it never resolved this tag for these credentials (offline_remember)";
	else if (!remembered(m, digest))
		refused = "it never accepted these credentials for this manifest (offline_remember)";
	else if (mancache_get(reg->mc, digest, &body, &len, ctype, sizeof ctype) != DF_OK)
		refused = "this host holds no copy of it";
	if (refused) {
		log_info("registry: %s: the upstream cannot be reached (%s) and %s", m->shown, why, refused);
		reg->st.manifests_offline_refused++;
		return DF_ERR;
	}
	/* the registry's rule: a manifest whose type the client does not accept is unknown to it */
	const struct http_head *h = http_req_head(m->req);
	struct slice acc[32];
	size_t na = 0;
	for (size_t i = 0; i < h->nheaders && na < 32; i++)
		if (slice_caseeq(h->headers[i].name, "accept"))
			acc[na++] = h->headers[i].value;
	http_req_on_done(m->req, NULL, NULL);
	if (!mancache_accepts(acc, na, slice_of(ctype))) {
		log_info("registry: %s: offline copy is %s, which the client does not accept", m->shown, ctype);
		registry_reply_error(m->req, 404, "MANIFEST_UNKNOWN", "the manifest's media type is not accepted");
	} else {
		char extra[600];
		snprintf(extra, sizeof extra,
			 "Content-Type: %s\r\nDocker-Content-Digest: %s\r\nDocker-Distribution-Api-Version: "
			 "registry/2.0\r\n",
			 ctype, digest);
		log_info("registry: %s: the upstream cannot be reached (%s); answered from this host's copy %s "
			 "(offline_serve)",
			 m->shown, why, digest);
		reg->st.manifests_offline++;
		if (http_reply(m->req, 200, extra, body, len) != DF_OK)
			http_reply_abort(m->req);
	}
	free(body);
	man_free(m);
	return DF_OK;
}

static struct reg_ping *ping_of(struct registry *reg, const char *host, int add)
{
	for (int i = 0; i < 8; i++)
		if (!strcmp(reg->pings[i].host, host))
			return &reg->pings[i];
	for (int i = 0; add && i < 8; i++)
		if (!reg->pings[i].host[0]) {
			snprintf(reg->pings[i].host, sizeof reg->pings[i].host, "%s", host);
			return &reg->pings[i];
		}
	return NULL;
}

/* /v2/ while the upstream cannot be reached: its last answer (401 with its challenge, so that
 * clients send the credentials the offline checks compare), else 200. Never refused: it opens
 * nothing, each manifest and blob is checked on its own. */
static void serve_base_offline(struct reg_man *m, const char *why)
{
	const struct reg_ping *pg = ping_of(m->reg, m->host, 0);
	char extra[1200];
	int st = pg ? pg->status : 200;
	snprintf(extra, sizeof extra,
		 "Content-Type: application/json\r\nDocker-Distribution-Api-Version: registry/2.0\r\n%s",
		 pg ? pg->challenge : "");
	log_info("registry: %s: the upstream cannot be reached (%s); answered %d as it last did (offline_serve)",
		 m->shown, why, st);
	http_req_on_done(m->req, NULL, NULL);
	if (http_reply(m->req, st, extra, DF_LIT("{}")) != DF_OK)
		http_reply_abort(m->req);
	man_free(m);
}

static int man_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct reg_man *m = ctx;
	m->status = r->status;
	m->stated = r->stated_length;
	registry_response_headers(r->headers, r->nheaders, m->extra, sizeof m->extra);
	struct slice ct = http_header_get(r->headers, r->nheaders, "content-type");
	struct slice d = http_header_get(r->headers, r->nheaders, "docker-content-digest");
	if (!ct.p || slice_copy(ct, m->ctype, sizeof m->ctype) != 0)
		m->ctype[0] = 0;
	m->challenge[0] = 0;
	for (size_t i = 0; i < r->nheaders; i++) {
		size_t used = strlen(m->challenge);
		if (slice_caseeq(r->headers[i].name, "www-authenticate"))
			snprintf(m->challenge + used, sizeof m->challenge - used, "WWW-Authenticate: %.*s\r\n",
				 (int)r->headers[i].value.n, r->headers[i].value.p);
	}
	if (!d.p || !registry_digest_sha256(d) || slice_copy(d, m->dcd, sizeof m->dcd) != 0)
		m->dcd[0] = 0;
	if (r->content_length > (int64_t)MANCACHE_MAX_MANIFEST)
		return DF_ERR; /* on_done relays it */
	return DF_OK;
}

static int man_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct reg_man *m = ctx;
	if (m->len + len > MANCACHE_MAX_MANIFEST)
		return DF_ERR;
	if (m->len + len > m->cap) {
		size_t nc = m->cap ? m->cap : 16384;
		while (nc < m->len + len)
			nc *= 2;
		char *nb = realloc(m->body, nc);
		if (!nb)
			return DF_ERR;
		m->body = nb;
		m->cap = nc;
	}
	memcpy(m->body + m->len, data, len);
	m->len += len;
	return DF_OK;
}

static void man_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct reg_man *m = ctx;
	m->f = NULL;
	if (!m->status || m->status >= 500) {
		char why[300];
		if (m->status)
			snprintf(why, sizeof why, "it answered %d", m->status);
		else
			snprintf(why, sizeof why, "%s", msg ? msg : "failed");
		if (m->base) {
			serve_base_offline(m, why);
			return;
		}
		if (m->by_digest || m->ref[0]) {
			if (serve_offline(m, why) == DF_OK)
				return;
			if (!m->status) { /* refused: as for a blob (the upstream's own 5xx goes back as it is) */
				http_req_on_done(m->req, NULL, NULL);
				registry_reply_error(
					m->req, 503, "UNAVAILABLE",
					"the upstream registry cannot be reached and did not recently accept "
					"these credentials for this manifest");
				man_free(m);
				return;
			}
		}
		if (!m->status) {
			char body[600];
			int n = snprintf(body, sizeof body, "df proxy: upstream registry: %s\n", why);
			log_info("upstream registry %s: %s", m->shown, why);
			http_req_on_done(m->req, NULL, NULL);
			http_reply(m->req, 502, "Content-Type: text/plain\r\n", body,
				   n > 0 ? DF_MIN((size_t)n, sizeof body - 1) : 0);
			man_free(m);
			return;
		}
	}
	if (rc != DF_OK) {
		/* larger than a copy may be (or cut short): fetched again by a plain relay */
		man_relay(m);
		return;
	}
	if (m->status == 200 && m->ref[0])
		keep(m);
	struct reg_ping *pg = m->base && (m->status == 200 || m->status == 401) ? ping_of(m->reg, m->host, 1) : NULL;
	if (pg) {
		pg->status = m->status;
		snprintf(pg->challenge, sizeof pg->challenge, "%s", m->challenge);
	}
	http_req_on_done(m->req, NULL, NULL);
	int ok;
	if (m->head)
		ok = http_reply(m->req, m->status, m->extra, NULL, m->stated > 0 ? (size_t)m->stated : 0);
	else
		ok = http_reply(m->req, m->status, m->extra, m->body, m->len);
	if (ok != DF_OK)
		http_reply_abort(m->req);
	man_free(m);
}

/* host:port, repository and reference of the plan's URL into m; 0 when it is not a manifest path */
static int parse_target(struct reg_man *m)
{
	struct http_url u;
	struct registry_path rp;
	const char *e;
	if (http_url_parse(m->url, strlen(m->url), &u, &e) != DF_OK)
		return 0;
	enum registry_kind k = registry_parse_path(u.path, &rp);
	int hn = snprintf(m->host, sizeof m->host, "%.*s:%u", (int)u.host.n, u.host.p, (unsigned)u.port);
	if (hn < 0 || (size_t)hn >= sizeof m->host || (k != REG_MANIFEST && k != REG_BASE))
		return 0;
	m->base = k == REG_BASE;
	if (m->base)
		return 1;
	if (slice_copy(rp.name, m->repo, sizeof m->repo) != 0 || slice_copy(rp.ref, m->ref, sizeof m->ref) != 0)
		return 0;
	m->by_digest = registry_digest_sha256(rp.ref);
	if (!m->by_digest && !registry_tag_valid(rp.ref))
		m->ref[0] = 0; /* another digest algorithm: passed through, never kept */
	return 1;
}

void registry_manifest_serve(struct registry *reg, struct http_req *req, const struct registry_plan *p)
{
	char err[256];
	struct reg_man *m = calloc(1, sizeof *m);
	if (m)
		m->hdrs = malloc(16384);
	if (!m || !m->hdrs) {
		if (m)
			free(m);
		registry_reply_error(req, 503, "UNAVAILABLE", "out of memory");
		return;
	}
	m->reg = reg;
	m->req = req;
	m->head = http_req_is_head(req);
	m->follow = p->follow_redirects;
	m->stated = -1;
	snprintf(m->url, sizeof m->url, "%s", p->url);
	http_url_redact(m->url, strlen(m->url), NULL, m->shown, sizeof m->shown);
	m->next = reg->mans;
	if (reg->mans)
		reg->mans->prev = m;
	reg->mans = m;
	if (registry_request_headers(http_req_head(req), 0, m->hdrs, 16384) < 0 ||
	    registry_request_headers(http_req_head(req), 1, m->creds, sizeof m->creds) < 0) {
		registry_reply_error(req, 431, "UNSUPPORTED", "request headers too large to forward");
		man_free(m);
		return;
	}
	if (!parse_target(m)) {
		man_relay(m);
		return;
	}
	http_req_on_done(req, man_client_done, m);
	struct http_request rq = {
		.method = m->head ? "HEAD" : "GET",
		.url = m->url,
		.headers = m->hdrs,
		.follow_redirects = m->follow,
		.what = "upstream registry",
		.idle_timeout = reg->cfg.timeout,
		.first_byte_timeout = reg->cfg.timeout,
		.on_response = man_response,
		.on_body = man_body,
		.on_done = man_done,
		.ctx = m,
	};
	m->f = http_client_request(reg->cfg.client, &rq, err, sizeof err);
	if (!m->f) {
		log_info("registry: cannot fetch %s: %s", m->shown, err);
		man_relay(m);
	}
}
