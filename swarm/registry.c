/* The registry mirror's front: routes /v2/ requests, picks the upstream, passes /v2/ and manifests
 * through, and asks the upstream whether the client may have a blob before the swarm serves it
 * (registry_blob.c). Pulls only: anything but GET and HEAD is refused. */
#include "swarm/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
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
	free(reg->ups);
	free(reg);
}

void registry_get_stats(const struct registry *reg, struct registry_stats *out)
{
	*out = reg->st;
}

/* An error in the distribution API's shape: {"errors": [{"code": ..., "message": ...}]}. The
 * message is df's own text, never request data. */
static void reply_error(struct http_req *req, int status, const char *code, const char *msg)
{
	char body[512];
	int n = snprintf(body, sizeof body, "{\"errors\":[{\"code\":\"%s\",\"message\":\"df proxy: %s\"}]}\n", code, msg);
	http_reply(req, status, "Content-Type: application/json\r\nDocker-Distribution-Api-Version: registry/2.0\r\n", body,
		   n > 0 ? DF_MIN((size_t)n, sizeof body - 1) : 0);
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
		reply_error(req, 431, "UNSUPPORTED", "request headers too large to forward");
	} else {
		struct relay_cfg rc = {
			.client = reg->cfg.client, .method = "GET", .url = b->url, .headers = hdrs, .follow_redirects = 1,
			.what = "upstream registry", .idle_timeout = reg->cfg.timeout, .stats = &reg->st.relay,
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

/* The upstream's answer to the authorizing HEAD: 2xx (it has the blob for this client) or 3xx (it
 * would send the client to blob storage) authorize; anything else (401, 403, 404) means the client
 * gets the upstream's own answer, so the blob is relayed and the upstream speaks for itself. */
static int check_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct reg_blob *b = ctx;
	b->check_status = r->status;
	struct slice ct = http_header_get(r->headers, r->nheaders, "content-type");
	if (ct.p && slice_copy(ct, b->ctype, sizeof b->ctype) != 0)
		b->ctype[0] = 0;
	return DF_OK;
}

static void check_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct reg_blob *b = ctx;
	b->check = NULL;
	if (rc != DF_OK || b->check_status < 200 || b->check_status >= 400) {
		if (rc != DF_OK)
			log_info("registry: cannot check %s at the upstream: %s", b->url, msg ? msg : "failed");
		else
			b->reg->st.denied++;
		registry_blob_relay(b);
		return;
	}
	if (b->reg->cfg.peer)
		registry_blob_p2p(b);
	else
		registry_blob_relay(b);
}

void registry_serve_p2p(struct registry *reg, struct http_req *req, const char *url, const struct digest_spec *digest)
{
	char err[256];
	struct reg_blob *b = calloc(1, sizeof *b);
	if (!b) {
		reply_error(req, 503, "UNAVAILABLE", "out of memory");
		return;
	}
	b->reg = reg;
	b->req = req;
	snprintf(b->url, sizeof b->url, "%s", url);
	if (digest)
		b->digest = *digest;
	b->next = reg->blobs;
	if (reg->blobs)
		reg->blobs->prev = b;
	reg->blobs = b;
	http_req_on_done(req, blob_client_done, b);
	if (registry_request_headers(http_req_head(req), 1, b->creds, sizeof b->creds) < 0) {
		http_req_on_done(req, NULL, NULL);
		reply_error(req, 431, "UNSUPPORTED", "credentials too large to forward");
		registry_blob_free(b);
		return;
	}
	struct http_request rq = {
		.method = "HEAD", .url = b->url, .headers = b->creds, .what = "upstream",
		.idle_timeout = reg->cfg.timeout, .first_byte_timeout = reg->cfg.timeout, .on_response = check_response,
		.on_done = check_done, .ctx = b,
	};
	b->check = http_client_request(reg->cfg.client, &rq, err, sizeof err);
	if (!b->check) {
		log_info("registry: cannot check %s at the upstream: %s", b->url, err);
		registry_blob_relay(b);
	}
}

/* Picks the upstream for a request: containerd's ?ns= (configured ones only), else the first. */
static const struct registry_upstream *pick_upstream(struct registry *reg, struct http_req *req)
{
	char ns[256];
	int rc = registry_query_ns(http_req_head(req)->query, ns, sizeof ns);
	if (rc == DF_ERR) {
		reply_error(req, 400, "UNSUPPORTED", "malformed ns parameter");
		return NULL;
	}
	if (!reg->cfg.nupstreams) {
		reply_error(req, 404, "NAME_UNKNOWN", "no upstream registry configured (--registry)");
		return NULL;
	}
	if (rc == DF_AGAIN)
		return &reg->ups[0];
	for (int i = 0; i < reg->cfg.nupstreams; i++)
		if (registry_upstream_match(&reg->ups[i], ns))
			return &reg->ups[i];
	/* a 404 sends containerd on to the next host of its hosts.toml: the registry itself */
	reply_error(req, 404, "NAME_UNKNOWN", "the registry named by ns is not one this mirror serves");
	return NULL;
}

void registry_serve(struct registry *reg, struct http_req *req, const struct registry_upstream *u, struct slice path,
		    struct slice query)
{
	const struct http_head *h = http_req_head(req);
	struct registry_path rp;
	char url[2048], q[1024];
	if (registry_parse_path(path, &rp) == REG_NONE) {
		reply_error(req, 404, "NAME_INVALID", "not a registry API path df proxy serves");
		return;
	}
	int is_get = slice_eq(h->method, "GET"), is_head = slice_eq(h->method, "HEAD");
	if (!is_get && !is_head) {
		reply_error(req, 405, "UNSUPPORTED", "a pull-through mirror: only GET and HEAD");
		return;
	}
	int ql = registry_query_strip_ns(query, q, sizeof q);
	int n = ql < 0 ? -1
		       : snprintf(url, sizeof url, "%s%.*s%s%s", u->url, (int)path.n, path.p, ql > 0 ? "?" : "",
				  ql > 0 ? q : "");
	if (n < 0 || (size_t)n >= sizeof url) {
		reply_error(req, 414, "UNSUPPORTED", "request target too long");
		return;
	}
	if (rp.kind == REG_BLOB && rp.sha256 && is_get) {
		struct digest_spec d;
		if (digest_spec_parse(rp.ref.p, rp.ref.n, &d) == DF_OK) {
			registry_serve_p2p(reg, req, url, &d);
			return;
		}
	}
	if (rp.kind == REG_MANIFEST)
		reg->st.manifests++;
	if (rp.kind == REG_BLOB)
		reg->st.blobs_direct++;
	char *hdrs = malloc(16384);
	if (!hdrs || registry_request_headers(h, 0, hdrs, 16384) < 0) {
		free(hdrs);
		reply_error(req, 431, "UNSUPPORTED", "request headers too large to forward");
		return;
	}
	/* a HEAD that the upstream answers with a redirect goes back as it is: presigned storage URLs are
	 * signed for GET, so following with HEAD would fail where the client's own GET works */
	struct relay_cfg rc = {
		.client = reg->cfg.client, .url = url, .headers = hdrs, .follow_redirects = is_get, .what = "upstream registry",
		.idle_timeout = reg->cfg.timeout, .stats = &reg->st.relay,
	};
	relay_start(req, &rc);
	free(hdrs);
}

void registry_handle(struct http_req *req, void *ctx)
{
	struct registry *reg = ctx;
	const struct http_head *h = http_req_head(req);
	reg->st.requests++;
	if (!slice_eq(h->method, "GET") && !slice_eq(h->method, "HEAD")) {
		reply_error(req, 405, "UNSUPPORTED", "a pull-through mirror: only GET and HEAD");
		return;
	}
	const struct registry_upstream *u = pick_upstream(reg, req);
	if (u)
		registry_serve(reg, req, u, h->path, h->query);
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
