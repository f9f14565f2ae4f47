/* The HTTP proxy's request side: absolute-form requests are matched against the rules and go to
 * the mirror (configured registries), to the swarm (rule matches) or straight to the origin; CONNECT
 * goes to httpproxy_tunnel.c. Origin-form paths the mirror does not take get a short 404. */
#include "swarm/httpproxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "swarm/common.h"
#include "swarm/httpproxy_int.h"

#define DEFAULT_MAX_BODY (8u << 20)

struct httpproxy *httpproxy_new(const struct httpproxy_cfg *cfg, char *err, size_t errlen)
{
	struct httpproxy *hp = calloc(1, sizeof *hp);
	if (!hp || (cfg->nrules && !(hp->rx = calloc((size_t)cfg->nrules, sizeof *hp->rx)))) {
		snprintf(err, errlen, "http proxy: out of memory");
		free(hp);
		return NULL;
	}
	hp->cfg = *cfg;
	hp->cfg.rules = NULL; /* compiled below; the strings are not kept */
	if (!hp->cfg.max_body)
		hp->cfg.max_body = DEFAULT_MAX_BODY;
	for (int i = 0; i < cfg->nrules; i++) {
		int rc = regcomp(&hp->rx[i], cfg->rules[i], REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			char why[256];
			regerror(rc, &hp->rx[i], why, sizeof why);
			snprintf(err, errlen, "proxy rule '%s': %s", cfg->rules[i], why);
			httpproxy_free(hp);
			return NULL;
		}
		hp->nrx++;
	}
	hp->resolver = resolver_new(cfg->loop, 1, err, errlen);
	if (!hp->resolver || (cfg->nmitm && !(hp->mitm = httpproxy_mitm_new(hp, err, errlen)))) {
		httpproxy_free(hp);
		return NULL;
	}
	hp->cfg.mitm_hosts = NULL; /* compiled by the mitm side */
	return hp;
}

void httpproxy_free(struct httpproxy *hp)
{
	if (!hp)
		return;
	httpproxy_mitm_free(hp->mitm); /* before the tunnels: its connections end their exchanges */
	httpproxy_tunnels_close(hp);
	for (int i = 0; i < hp->nrx; i++)
		regfree(&hp->rx[i]);
	free(hp->rx);
	if (hp->resolver)
		resolver_free(hp->resolver);
	free(hp);
}

void httpproxy_get_stats(const struct httpproxy *hp, struct httpproxy_stats *out)
{
	*out = hp->st;
}

int httpproxy_rule_match(const struct httpproxy *hp, const char *url)
{
	for (int i = 0; i < hp->nrx; i++)
		if (regexec(&hp->rx[i], url, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

static void reply_text(struct http_req *req, int status, const char *msg)
{
	char body[512];
	int n = snprintf(body, sizeof body, "df proxy: %s\n", msg);
	http_reply(req, status, "Content-Type: text/plain\r\n", body, n > 0 ? DF_MIN((size_t)n, sizeof body - 1) : 0);
}

/* The URL the request names, NUL-terminated: its absolute-form target, or inside an intercepted
 * tunnel https://HOST[:PORT] and its origin-form target. DF_ERR after answering when unusable. */
static int target_url(struct http_req *req, char *url, size_t cap, struct http_url *u)
{
	const char *why, *origin = httpproxy_mitm_origin(req);
	size_t o = origin ? strlen(origin) : 0;
	if (origin && o < cap)
		memcpy(url, origin, o);
	if (o >= cap || slice_copy(http_req_head(req)->target, url + o, cap - o) != 0) {
		reply_text(req, 414, "request target too long");
		return DF_ERR;
	}
	if (http_url_parse(url, strlen(url), u, &why) != DF_OK) {
		char msg[300];
		snprintf(msg, sizeof msg, "bad request target: %s", why);
		reply_text(req, 400, msg);
		return DF_ERR;
	}
	return DF_OK;
}

static void relay_as_is(struct httpproxy *hp, struct http_req *req, const void *body, size_t len)
{
	char url[8192];
	struct http_url u;
	if (target_url(req, url, sizeof url, &u) != DF_OK)
		return;
	char *hdrs = malloc(16384);
	if (!hdrs || registry_request_headers(http_req_head(req), 0, hdrs, 16384) < 0) {
		free(hdrs);
		reply_text(req, 431, "request headers too large to forward");
		return;
	}
	struct relay_cfg rc = {
		.client = hp->cfg.client,
		.url = url,
		.headers = hdrs,
		.body = body,
		.body_len = len,
		.what = "origin",
		.idle_timeout = hp->cfg.timeout,
		.stats = &hp->st.relay,
	};
	relay_start(req, &rc);
	free(hdrs);
}

static void body_read(struct http_req *req, const char *body, size_t len, void *ctx)
{
	relay_as_is(ctx, req, body, len);
}

void httpproxy_forward(struct httpproxy *hp, struct http_req *req)
{
	const struct http_head *h = http_req_head(req);
	char url[8192];
	struct http_url u;
	hp->st.requests++;
	if (target_url(req, url, sizeof url, &u) != DF_OK)
		return;
	int get = slice_eq(h->method, "GET"), head = slice_eq(h->method, "HEAD");
	if (hp->cfg.registry && (get || head)) {
		const struct registry_upstream *up = registry_find_upstream(hp->cfg.registry, url);
		struct slice path = u.path.n ? u.path : SLICE_LIT("/");
		if (up && path.n >= 3 && memcmp(path.p, DF_LIT("/v2")) == 0 && (path.n == 3 || path.p[3] == '/')) {
			hp->st.p2p++;
			registry_serve(hp->cfg.registry, req, up, path, u.query);
			return;
		}
	}
	if (get && hp->cfg.p2p && hp->cfg.registry && httpproxy_rule_match(hp, url)) {
		hp->st.p2p++;
		registry_serve_p2p(hp->cfg.registry, req, url, NULL);
		return;
	}
	if (http_req_body_length(req) != 0) {
		/* the client takes a body as one buffer: read it whole, within a bound */
		swarm_read_body(req, hp->cfg.max_body, body_read, hp);
		return;
	}
	relay_as_is(hp, req, NULL, 0);
}

static void handle(struct http_req *req, void *ctx)
{
	struct httpproxy *hp = ctx;
	const struct http_head *h = http_req_head(req);
	if (slice_eq(h->method, "CONNECT")) {
		httpproxy_tunnel_start(hp, req);
		return;
	}
	struct slice t = h->target;
	if ((t.n > 7 && strncasecmp(t.p, DF_LIT("http://")) == 0) ||
	    (t.n > 8 && strncasecmp(t.p, DF_LIT("https://")) == 0)) {
		httpproxy_forward(hp, req);
		return;
	}
	reply_text(req, 404,
		   "not found: the registry mirror answers /v2/, the HTTP proxy absolute-form requests and CONNECT");
}

int httpproxy_route(struct httpproxy *hp, struct http_server *srv)
{
	return http_server_route(srv, NULL, "", handle, hp);
}
