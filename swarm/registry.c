/* The registry mirror's front: routes /v2/ requests, picks the upstream, passes /v2/ and manifests
 * through, and asks the upstream whether the client may have a blob before the swarm serves it
 * (registry_blob.c). Pulls only: anything but GET and HEAD is refused. */
#include "swarm/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "core/taskid.h"
#include "swarm/authmem.h"
#include "swarm/mancache.h"
#include "swarm/registry_int.h"

struct registry *registry_new(const struct registry_cfg *cfg, char *err, size_t errlen)
{
	struct registry *reg = calloc(1, sizeof *reg);
	if (reg && cfg->nupstreams > 0)
		reg->ups = calloc((size_t)cfg->nupstreams, sizeof *reg->ups);
	if (!reg || (cfg->nupstreams > 0 && !reg->ups)) {
		free(reg);
		snprintf(err, errlen, "registry mirror: out of memory");
		return NULL;
	}
	reg->cfg = *cfg;
	if (cfg->nupstreams > 0)
		memcpy(reg->ups, cfg->upstreams, (size_t)cfg->nupstreams * sizeof *reg->ups);
	reg->cfg.upstreams = reg->ups;
	reg->cfg.authmem_path = NULL; /* not kept: the caller's string */
	reg->cfg.manifests_dir = NULL;
	if (cfg->offline_serve && cfg->authmem_path && !(reg->mem = authmem_open(cfg->authmem_path, 0))) {
		registry_free(reg);
		snprintf(err, errlen, "registry mirror: out of memory");
		return NULL;
	}
	if (reg->mem && cfg->manifests_dir)
		reg->mc = mancache_open(cfg->manifests_dir); /* NULL: manifests passed through only (warned) */
	return reg;
}

void registry_free(struct registry *reg)
{
	if (!reg)
		return;
	while (reg->blobs) {
		struct reg_blob *b = reg->blobs;
		http_req_on_done(b->req, NULL, NULL);
		http_reply_abort(b->req);
		registry_blob_free(b);
	}
	registry_manifest_abort_all(reg);
	mancache_free(reg->mc);
	authmem_free(reg->mem);
	free(reg->ups);
	free(reg);
}

void registry_get_stats(const struct registry *reg, struct registry_stats *out)
{
	*out = reg->st;
}

/* An error in the distribution API's shape: {"errors": [{"code": ..., "message": ...}]}. The
 * message is df's own text, never request data. */
void registry_reply_error(struct http_req *req, int status, const char *code, const char *msg)
{
	char body[512];
	int n = snprintf(body, sizeof body, "{\"errors\":[{\"code\":\"%s\",\"message\":\"df proxy: %s\"}]}\n", code,
			 msg);
	http_reply(req, status, "Content-Type: application/json\r\nDocker-Distribution-Api-Version: registry/2.0\r\n",
		   body, n > 0 ? DF_MIN((size_t)n, sizeof body - 1) : 0);
}

void registry_blob_free(struct reg_blob *b)
{
	struct registry *reg = b->reg;
	if (b->check)
		http_fetch_cancel(b->check);
	registry_blob_stream_stop(b);
	if (b->prev)
		b->prev->next = b->next;
	else
		reg->blobs = b->next;
	if (b->next)
		b->next->prev = b->prev;
	free(b);
}

void registry_blob_relay(struct reg_blob *b)
{
	struct registry *reg = b->reg;
	struct http_req *req = b->req;
	char *hdrs = malloc(16384);
	reg->st.blobs_direct++;
	http_req_on_done(req, NULL, NULL); /* the relay owns the exchange from here */
	if (!hdrs || registry_request_headers(http_req_head(req), 0, hdrs, 16384) < 0) {
		registry_reply_error(req, 431, "UNSUPPORTED", "request headers too large to forward");
	} else {
		/* a HEAD as it is: its redirect goes back to the client (a presigned URL is signed for GET) */
		struct relay_cfg rc = {
			.client = reg->cfg.client,
			.method = b->head ? "HEAD" : "GET",
			.url = b->url,
			.headers = hdrs,
			.follow_redirects = !b->head,
			.what = "upstream registry",
			.idle_timeout = reg->cfg.timeout,
			.stats = &reg->st.relay,
		};
		relay_start(req, &rc);
	}
	free(hdrs);
	registry_blob_free(b);
}

static void blob_client_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	struct reg_blob *b = ctx;
	if (!ok)
		b->reg->st.aborted++;
	registry_blob_free(b);
}

/* The upstream's answer to the authorizing request. Only a 2xx authorizes: a HEAD answered 2xx (it
 * has the blob for this client), or a redirect (to blob storage, or to a login page) followed to a
 * 2xx that is not a web page. Anything else (401, 403, 404, a login page) means the client gets the
 * upstream's own answer: the blob is relayed and the upstream speaks for itself. */
static int check_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct reg_blob *b = ctx;
	b->check_status = r->status;
	/* the blob's length: a HEAD's Content-Length, the total of the one-byte GET's Content-Range */
	if (!b->followed)
		b->total = r->status >= 200 && r->status <= 299 ? r->stated_length : -1;
	else
		b->total = r->has_range ? r->range.total : r->status == 200 ? r->content_length : -1;
	struct slice ct = http_header_get(r->headers, r->nheaders, "content-type");
	if (!ct.p || slice_copy(ct, b->ctype, sizeof b->ctype) != 0)
		b->ctype[0] = 0;
	return b->followed ? DF_ERR : DF_OK; /* the redirect's one byte is not needed */
}

static int start_check(struct reg_blob *b, int follow, char *err, size_t errlen);

/* An authorized HEAD: the headers the blob's GET gets from df, with its length; b is freed when the
 * exchange ends (blob_client_done). A length nobody said: the HEAD is relayed as it is. */
static void reply_head(struct reg_blob *b)
{
	char extra[1024];
	if (b->total < 0) {
		registry_blob_relay(b);
		return;
	}
	registry_blob_headers(b, extra, sizeof extra);
	b->reg->st.heads++;
	if (http_reply(b->req, 200, extra, NULL, (size_t)b->total) != DF_OK)
		http_reply_abort(b->req);
}

/* The upstream cannot be reached (offline_serve): the blob is served from the store or the swarm
 * only to credentials the upstream accepted for this blob of this repository within
 * offline_remember, or to anyone when it served that blob there without credentials. Credentials it never accepted here may
 * still get a blob this host does not hold from the swarm: the supernode hands it only when its
 * task is public (its source served it without credentials) or it accepted them itself. */
static void serve_offline(struct reg_blob *b, const char *why)
{
	struct registry *reg = b->reg;
	int64_t now = (int64_t)time(NULL), win = reg->cfg.offline_remember;
	int remembered = authmem_valid(reg->mem, b->key, now, win) || authmem_valid(reg->mem, b->anon_key, now, win);
	char id[TASKID_MAX];
	taskid_from_digest(&b->digest, id);
	struct store_task *t = store_task_open(reg->cfg.store, id, NULL, 0, NULL, 0);
	int local = t && store_task_complete(t);
	int64_t len = t ? store_task_length(t) : -1;
	if (t)
		store_task_close(t);
	if ((!remembered && local) || !reg->cfg.peer || (b->head && !local)) {
		log_info("registry: %s: the upstream cannot be reached (%s) and %s", b->shown, why,
			 !remembered ? "it never accepted these credentials for this repository (offline_remember)"
				     : "the swarm cannot serve it here");
		reg->st.offline_refused++;
		http_req_on_done(b->req, NULL, NULL);
		registry_reply_error(
			b->req, 503, "UNAVAILABLE",
			"the upstream registry cannot be reached and did not recently accept these credentials "
			"for this repository");
		registry_blob_free(b);
		return;
	}
	log_info("registry: %s: the upstream cannot be reached (%s); serving from the %s (offline_serve, %s)", b->shown,
		 why, local ? "store" : "swarm", remembered ? "remembered authorization" : "the supernode decides");
	reg->st.offline++;
	if (b->head) {
		b->total = len;
		reply_head(b);
		return;
	}
	registry_blob_p2p(b);
}

static void check_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	char err[256];
	struct reg_blob *b = ctx;
	int st = b->check_status;
	b->check = NULL;
	if (!st || st >= 500) {
		char why[300];
		if (st)
			snprintf(why, sizeof why, "it answered %d", st);
		else
			snprintf(why, sizeof why, "%s", msg ? msg : "failed");
		if (b->reg->mem && b->has_keys) {
			serve_offline(b, why);
			return;
		}
		if (!st) {
			log_info("registry: cannot check %s at the upstream: %s", b->shown, why);
			registry_blob_relay(b);
			return;
		}
	}
	(void)rc; /* a followed check stops after the head: its end is "cancelled" */
	if (st >= 300 && st <= 399 && !b->followed) {
		/* where does the redirect lead this client? A GET (a presigned storage URL is signed for
		 * GET, not HEAD) of one byte, redirects followed */
		if (start_check(b, 1, err, sizeof err) != DF_OK) {
			log_info("registry: cannot follow %s's redirect: %s", b->shown, err);
			registry_blob_relay(b);
		}
		return;
	}
	/* a login page the redirect ended at answers 2xx too; blob storage never sends a web page */
	int page = b->followed && strncasecmp(b->ctype, DF_LIT("text/html")) == 0;
	if (st < 200 || st > 299 || page) {
		b->reg->st.denied++;
		if (b->followed)
			b->ctype[0] = 0; /* not the blob's type */
		registry_blob_relay(b);
		return;
	}
	if (b->followed)
		b->ctype[0] = 0; /* the storage's type of a ranged answer, not the registry's */
	if (b->reg->mem && b->has_keys && authmem_accept(b->reg->mem, b->key, (int64_t)time(NULL)) != DF_OK)
		log_warn("registry: %s: the authorization could not be remembered for offline serving", b->shown);
	if (b->head) {
		reply_head(b);
		return;
	}
	if (b->reg->cfg.peer)
		registry_blob_p2p(b);
	else
		registry_blob_relay(b);
}

/* The authorizing request: a HEAD of the blob at the upstream (no redirects), or with follow the
 * one-byte GET that follows its redirects. */
static int start_check(struct reg_blob *b, int follow, char *err, size_t errlen)
{
	struct registry *reg = b->reg;
	struct http_request rq = {
		.method = follow ? "GET" : "HEAD",
		.url = b->url,
		.headers = b->creds,
		.what = "upstream",
		.range = follow,
		.range_start = 0,
		.range_end = 0,
		.follow_redirects = follow,
		.idle_timeout = reg->cfg.timeout,
		.first_byte_timeout = reg->cfg.timeout,
		.on_response = check_response,
		.on_done = check_done,
		.ctx = b,
	};
	b->followed = follow;
	b->check_status = 0;
	b->check = http_client_request(reg->cfg.client, &rq, err, errlen);
	return b->check ? DF_OK : DF_ERR;
}

/* With offline_serve, the authmem keys of a registry blob URL (upstream/v2/NAME/blobs/sha256:HEX):
 * the client's credentials and none, each with the upstream's host:port, the repository and the
 * blob (a yes for one blob says nothing about another blob the store holds). */
static void blob_keys(struct reg_blob *b)
{
	struct http_url u;
	struct registry_path rp;
	const char *e;
	char host[300];
	if (!b->reg->mem || !b->digest.len || http_url_parse(b->url, strlen(b->url), &u, &e) != DF_OK ||
	    registry_parse_path(u.path, &rp) != REG_BLOB || !rp.sha256)
		return;
	int hn = snprintf(host, sizeof host, "%.*s:%u", (int)u.host.n, u.host.p, (unsigned)u.port);
	if (hn < 0 || (size_t)hn >= sizeof host)
		return;
	authmem_key(b->creds, strlen(b->creds), host, (size_t)hn, rp.name.p, rp.name.n, rp.ref.p, rp.ref.n, b->key);
	authmem_key("", 0, host, (size_t)hn, rp.name.p, rp.name.n, rp.ref.p, rp.ref.n, b->anon_key);
	b->has_keys = 1;
}

/* A blob GET (or, with head, its HEAD): authorized at url, then served. */
static void serve_blob(struct registry *reg, struct http_req *req, const char *url, const struct digest_spec *digest,
		       int head)
{
	char err[256];
	struct reg_blob *b = calloc(1, sizeof *b);
	if (!b) {
		registry_reply_error(req, 503, "UNAVAILABLE", "out of memory");
		return;
	}
	b->reg = reg;
	b->req = req;
	b->head = head;
	b->total = -1;
	snprintf(b->url, sizeof b->url, "%s", url);
	http_url_redact(b->url, strlen(b->url), NULL, b->shown, sizeof b->shown);
	if (digest)
		b->digest = *digest;
	b->next = reg->blobs;
	if (reg->blobs)
		reg->blobs->prev = b;
	reg->blobs = b;
	http_req_on_done(req, blob_client_done, b);
	if (registry_request_headers(http_req_head(req), 1, b->creds, sizeof b->creds) < 0) {
		http_req_on_done(req, NULL, NULL);
		registry_reply_error(req, 431, "UNSUPPORTED", "credentials too large to forward");
		registry_blob_free(b);
		return;
	}
	blob_keys(b);
	if (start_check(b, 0, err, sizeof err) != DF_OK) {
		log_info("registry: cannot check %s at the upstream: %s", b->shown, err);
		registry_blob_relay(b);
	}
}

void registry_serve_p2p(struct registry *reg, struct http_req *req, const char *url, const struct digest_spec *digest)
{
	serve_blob(reg, req, url, digest, 0);
}

/* Carries out the plan registry_plan_request made for req (the decision itself is pure and fuzzed). */
static void serve_plan(struct registry *reg, struct http_req *req, const struct registry_plan *p)
{
	if (p->act == REG_ACT_ERROR) {
		registry_reply_error(req, p->status, p->code, p->msg);
		return;
	}
	if (p->act == REG_ACT_P2P || p->act == REG_ACT_HEAD) {
		serve_blob(reg, req, p->url, &p->digest, p->act == REG_ACT_HEAD);
		return;
	}
	if (p->kind == REG_MANIFEST)
		reg->st.manifests++;
	if ((p->kind == REG_MANIFEST || p->kind == REG_BASE) && reg->mc) {
		registry_manifest_serve(reg, req, p);
		return;
	}
	if (p->kind == REG_BLOB)
		reg->st.blobs_direct++;
	char *hdrs = malloc(16384);
	if (!hdrs || registry_request_headers(http_req_head(req), 0, hdrs, 16384) < 0) {
		free(hdrs);
		registry_reply_error(req, 431, "UNSUPPORTED", "request headers too large to forward");
		return;
	}
	struct relay_cfg rc = {
		.client = reg->cfg.client,
		.url = p->url,
		.headers = hdrs,
		.follow_redirects = p->follow_redirects,
		.what = "upstream registry",
		.idle_timeout = reg->cfg.timeout,
		.stats = &reg->st.relay,
	};
	relay_start(req, &rc);
	free(hdrs);
}

void registry_serve(struct registry *reg, struct http_req *req, const struct registry_upstream *u, struct slice path,
		    struct slice query)
{
	struct registry_plan p;
	registry_plan_request(reg->ups, reg->cfg.nupstreams, u, http_req_head(req), path, query, &p);
	serve_plan(reg, req, &p);
}

void registry_handle(struct http_req *req, void *ctx)
{
	struct registry *reg = ctx;
	const struct http_head *h = http_req_head(req);
	struct registry_plan p;
	reg->st.requests++;
	registry_plan_request(reg->ups, reg->cfg.nupstreams, NULL, h, h->path, h->query, &p);
	serve_plan(reg, req, &p);
}

const struct registry_upstream *registry_find_upstream(const struct registry *reg, const char *url)
{
	struct http_url pu, uu;
	const char *err;
	if (http_url_parse(url, strlen(url), &pu, &err) != DF_OK)
		return NULL;
	for (int i = 0; i < reg->cfg.nupstreams; i++) {
		const char *us = reg->ups[i].url;
		if (http_url_parse(us, strlen(us), &uu, &err) == DF_OK && uu.tls == pu.tls && uu.port == pu.port &&
		    uu.host.n == pu.host.n && strncasecmp(uu.host.p, pu.host.p, pu.host.n) == 0)
			return &reg->ups[i];
	}
	return NULL;
}

int registry_route(struct registry *reg, struct http_server *srv)
{
	return http_server_route(srv, NULL, "/v2", registry_handle, reg);
}
