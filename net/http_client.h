/* The HTTP/1.1 client: non-blocking fetches on the process's libev loop with a keep-alive pool per
 * host:port, redirects, Range, timeouts per phase, http_proxy/https_proxy/no_proxy for sources,
 * IPv4 and IPv6, name resolution in threads, a download rate limit and consumer backpressure.
 *
 * A fetch reports through three callbacks, always from the loop (never inside an http_* call):
 * on_response once (the final response's status and headers), on_body for each run of body bytes,
 * then on_done exactly once (unless cancelled), after which the fetch is gone. */
#ifndef DF_HTTP_CLIENT_H
#define DF_HTTP_CLIENT_H

#include <stdint.h>

#include "core/ratelimit.h"
#include "net/http_parse.h"
#include "net/loop.h"
#include "net/transport.h"

struct http_client;
struct http_fetch;

struct http_client_cfg {
	size_t buf_size;           /* per connection, bounds a response head; 0: 64 KiB */
	double connect_timeout;    /* resolve + connect (+ proxy tunnel), per fetch; 0: 10 s */
	double first_byte_timeout; /* request sent -> first response byte; 0: 30 s */
	double idle_timeout;       /* no progress while sending or receiving; 0: 30 s */
	double pool_idle;          /* idle connections are closed after this; 0: 30 s */
	int pool_per_host;         /* idle connections kept per host:port; 0: 8 */
	int resolver_threads;      /* 0: 2 */
	const char *user_agent;    /* NULL: "df/VERSION" */
	/* proxies for fetches with use_proxy set; NULL reads http_proxy, https_proxy (or HTTPS_PROXY)
	 * and no_proxy (or NO_PROXY) from the environment, "" means none */
	const char *http_proxy, *https_proxy, *no_proxy;
	struct ratelimit *rx_limit; /* process-wide download limit, or NULL; change with ratelimit_set */
	/* TLS for https URLs: wraps a connected socket for host (SNI, verification); NULL: https fails
	 * with "https not configured" */
	struct transport *(*tls_wrap)(void *ctx, int fd, const char *host);
	void *tls_ctx;
};

/* A new client on loop (cfg copied; strings must outlive the client). NULL with err set when the
 * resolver threads cannot start or a proxy setting is not an http URL. */
struct http_client *http_client_new(struct ev_loop *loop, const struct http_client_cfg *cfg, char *err, size_t errlen);

/* Cancels every fetch (no callbacks), closes every connection, stops the resolver. */
void http_client_free(struct http_client *cl);

/* The final response, as on_response sees it; slices valid only during that call. */
struct http_resp {
	int status;
	struct slice reason;
	const struct http_header *headers;
	size_t nheaders;
	int64_t content_length; /* the body's length: -1 when unknown (chunked, until close), 0 for a HEAD */
	int64_t stated_length;  /* the Content-Length header as sent (a HEAD's is the GET's length); -1 if none */
	int has_range;          /* a Content-Range was parsed into range */
	struct http_content_range range;
	const char *url; /* the URL that answered (after redirects) */
	int redirects;
};

struct http_request {
	const char *method;  /* NULL: GET, or POST when body is set */
	const char *url;     /* absolute http(s) URL */
	const char *headers; /* extra lines "Name: value\r\n"..., or NULL */
	const void *body;    /* copied; NULL for none */
	size_t body_len;
	int range; /* ask for bytes range_start..range_end (inclusive; end < 0: to the end) */
	int64_t range_start, range_end;
	int follow_redirects; /* 301/302/303/307/308, at most max_redirects (0: 10) */
	int max_redirects;
	int use_proxy;    /* honour the proxy settings (sources); peers and supernodes: 0 */
	int fail_status;  /* a final status outside 2xx ends the fetch: "WHAT answered 404 Not Found" */
	const char *what; /* names the server in messages ("source"); NULL: "server" */
	double connect_timeout, first_byte_timeout, idle_timeout; /* 0: the client's */
	/* The final response head. Return DF_OK to receive the body, DF_ERR to stop (on_done follows
	 * with "cancelled by consumer"). NULL: accept. */
	int (*on_response)(struct http_fetch *f, const struct http_resp *r, void *ctx);
	/* Body bytes (valid during the call). Return DF_OK, DF_AGAIN to pause after this run
	 * (http_fetch_resume restarts), or DF_ERR to stop. NULL: discard. */
	int (*on_body)(struct http_fetch *f, const char *data, size_t len, void *ctx);
	/* The end: rc DF_OK when the body is complete, DF_ERR with msg naming the cause. */
	void (*on_done)(struct http_fetch *f, int rc, const char *msg, void *ctx);
	void *ctx;
};

/* Starts a fetch (req and its strings are copied). Returns the handle, or NULL with err set for a
 * request that cannot start: bad URL, unsupported scheme, https without TLS configured. */
struct http_fetch *http_client_request(struct http_client *cl, const struct http_request *req, char *err,
				       size_t errlen);

/* Stops a fetch; its callbacks will not run again. Safe inside its own callbacks. */
void http_fetch_cancel(struct http_fetch *f);

/* Backpressure from the consumer: stop reading the body / start again (also after DF_AGAIN). */
void http_fetch_pause(struct http_fetch *f);
void http_fetch_resume(struct http_fetch *f);

/* Bytes of the response that arrived and wait to be read: in the connection's buffer and in the
 * socket's receive queue (FIONREAD; for TLS the records still to decrypt). Data waiting means the
 * server sent faster than this process took it. */
size_t http_fetch_unread(const struct http_fetch *f);

/* Body bytes received so far (after the head). */
uint64_t http_fetch_received(const struct http_fetch *f);

/* The status of the final response (redirects followed), 0 before it came: also in on_done after
 * fail_status ended the fetch on it. */
int http_fetch_status(const struct http_fetch *f);

struct http_client_stats {
	uint64_t connects; /* TCP connections opened */
	uint64_t reused;   /* requests sent on a pooled connection */
	uint64_t requests; /* requests sent (each redirect hop and retry counts) */
	uint64_t bytes_in; /* body bytes received */
	int idle;          /* connections in the pool now */
};
void http_client_get_stats(const struct http_client *cl, struct http_client_stats *out);

#endif
