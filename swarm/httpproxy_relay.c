/* The pass-through relay: one upstream fetch feeding one client reply. Bytes the client's socket
 * does not take at once are kept (one run, at most the client's read buffer) and the fetch is
 * paused until the socket drains, so memory stays bounded whatever the sizes and speeds.
 *
 * Lifetime: the relay lives until both ends are over. The client's exchange ending (done
 * callback) cancels the fetch and frees the relay; the fetch ending ends or aborts the reply,
 * whose done callback then frees it. */
#include "swarm/httpproxy_relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "swarm/registry_parse.h"

struct relay {
	struct http_req *req;
	struct http_fetch *f;
	struct relay_stats *stats;
	int replied;    /* a reply (or its head) went to the client */
	int fetch_over; /* the fetch's on_done ran */
	int fetch_ok;
	int paused;
	char *pend; /* bytes the client's socket has not taken yet */
	size_t pend_len, pend_cap;
	char what[64];
	char url[1024];
};

static void relay_free(struct relay *r)
{
	if (r->f)
		http_fetch_cancel(r->f);
	free(r->pend);
	free(r);
}

static void on_client_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	struct relay *r = ctx;
	if (!ok && r->stats && !(r->fetch_over && !r->fetch_ok))
		r->stats->failed++;
	relay_free(r);
}

/* Writes what is pending; DF_OK when all went, DF_AGAIN when the socket is full, DF_ERR. */
static int flush_pending(struct relay *r)
{
	while (r->pend_len) {
		ssize_t w = http_reply_write(r->req, r->pend, r->pend_len);
		if (w < 0)
			return DF_ERR;
		if (r->stats)
			r->stats->bytes += (uint64_t)w;
		memmove(r->pend, r->pend + w, r->pend_len - (size_t)w);
		r->pend_len -= (size_t)w;
		if (r->pend_len)
			return DF_AGAIN;
	}
	return DF_OK;
}

static void on_writable(struct http_req *req, void *ctx)
{
	(void)req;
	struct relay *r = ctx;
	int rc = flush_pending(r);
	if (rc == DF_ERR)
		return; /* the exchange failed: its done callback follows */
	if (rc == DF_AGAIN)
		return;
	if (r->fetch_over) {
		if (r->fetch_ok)
			http_reply_end(r->req);
		else
			http_reply_abort(r->req);
		return;
	}
	if (r->paused && r->f) {
		r->paused = 0;
		http_fetch_resume(r->f);
	}
}

static int on_response(struct http_fetch *f, const struct http_resp *resp, void *ctx)
{
	(void)f;
	struct relay *r = ctx;
	char extra[3072];
	registry_response_headers(resp->headers, resp->nheaders, extra, sizeof extra);
	int64_t len = resp->content_length;
	if (http_req_is_head(r->req))
		len = resp->stated_length; /* a HEAD's answer carries the length of what a GET would send */
	r->replied = 1;
	if (resp->status < 200 || resp->status == 204 || resp->status == 304)
		return http_reply(r->req, resp->status, extra, NULL, 0) == DF_OK ? DF_OK : DF_ERR;
	if (http_reply_start(r->req, resp->status, extra, len, on_writable, r) != DF_OK)
		return DF_ERR;
	return DF_OK;
}

static int on_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct relay *r = ctx;
	if (r->pend_len) {
		/* cannot happen while paused; keep the order all the same */
		if (r->pend_len + len > r->pend_cap) {
			char *p = realloc(r->pend, r->pend_len + len);
			if (!p)
				return DF_ERR;
			r->pend = p;
			r->pend_cap = r->pend_len + len;
		}
		memcpy(r->pend + r->pend_len, data, len);
		r->pend_len += len;
		r->paused = 1;
		return DF_AGAIN;
	}
	ssize_t w = http_reply_write(r->req, data, len);
	if (w < 0)
		return DF_ERR;
	if (r->stats)
		r->stats->bytes += (uint64_t)w;
	if ((size_t)w == len)
		return DF_OK;
	size_t rest = len - (size_t)w;
	if (rest > r->pend_cap) {
		char *p = realloc(r->pend, rest);
		if (!p)
			return DF_ERR;
		r->pend = p;
		r->pend_cap = rest;
	}
	memcpy(r->pend, data + w, rest);
	r->pend_len = rest;
	r->paused = 1;
	return DF_AGAIN; /* on_writable resumes the fetch once the client took it */
}

static void on_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct relay *r = ctx;
	r->f = NULL;
	r->fetch_over = 1;
	r->fetch_ok = rc == DF_OK;
	if (rc != DF_OK) {
		char shown[2048];
		http_url_redact(r->url, strlen(r->url), NULL, shown, sizeof shown);
		log_info("%s %s: %s", r->what, shown, msg ? msg : "failed");
		if (r->stats)
			r->stats->failed++;
		if (!r->replied) {
			char body[600];
			int n = snprintf(body, sizeof body, "df proxy: %s: %s\n", r->what, msg ? msg : "failed");
			r->replied = 1;
			http_reply(r->req, 502, "Content-Type: text/plain\r\n", body,
				   n > 0 ? DF_MIN((size_t)n, sizeof body - 1) : 0);
			return;
		}
		if (!r->pend_len)
			http_reply_abort(r->req);
		return; /* on_writable aborts once what is pending went out */
	}
	if (!r->pend_len)
		http_reply_end(r->req);
}

int relay_start(struct http_req *req, const struct relay_cfg *cfg)
{
	char err[512];
	struct relay *r = calloc(1, sizeof *r);
	if (!r) {
		http_reply(req, 503, NULL, DF_LIT("df proxy: out of memory\n"));
		return DF_ERR;
	}
	r->req = req;
	r->stats = cfg->stats;
	snprintf(r->what, sizeof r->what, "%s", cfg->what ? cfg->what : "upstream");
	snprintf(r->url, sizeof r->url, "%s", cfg->url);
	char method[32];
	if (!cfg->method)
		slice_copy(http_req_head(req)->method, method, sizeof method);
	struct http_request rq = {
		.method = cfg->method ? cfg->method : method,
		.url = cfg->url,
		.headers = cfg->headers,
		.body = cfg->body,
		.body_len = cfg->body_len,
		.follow_redirects = cfg->follow_redirects,
		.what = r->what,
		.idle_timeout = cfg->idle_timeout,
		.first_byte_timeout = cfg->idle_timeout,
		.on_response = on_response,
		.on_body = on_body,
		.on_done = on_done,
		.ctx = r,
	};
	if (r->stats)
		r->stats->started++;
	r->f = http_client_request(cfg->client, &rq, err, sizeof err);
	if (!r->f) {
		char body[600];
		int n = snprintf(body, sizeof body, "df proxy: %s: %s\n", r->what, err);
		if (r->stats)
			r->stats->failed++;
		http_reply(req, 502, "Content-Type: text/plain\r\n", body,
			   n > 0 ? DF_MIN((size_t)n, sizeof body - 1) : 0);
		free(r);
		return DF_ERR;
	}
	http_req_on_done(req, on_client_done, r);
	return DF_OK;
}
