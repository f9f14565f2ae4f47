/* The HTTP/1.1 server: non-blocking connections on the process's libev loop, a routing table,
 * request bodies streamed to the handler, and replies from memory, from a file region with
 * sendfile, or streamed from a producer (a piece still arriving).
 *
 * A handler gets a request and must, now or later (long-poll), answer it with exactly one of
 * http_reply, http_reply_file(_range) or http_reply_start ... http_reply_end. The request stays
 * valid until its done callback (http_req_on_done) has run: after the reply is sent, or when the
 * exchange is aborted (client gone, timeout, bad body, server freed). Callbacks never run inside
 * an http_* call made by the application; they come from the loop. */
#ifndef DF_HTTP_SERVER_H
#define DF_HTTP_SERVER_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core/ratelimit.h"
#include "net/http_parse.h"
#include "net/loop.h"
#include "net/transport.h"

struct http_server;
struct http_req;

struct http_server_cfg {
	size_t buf_size;     /* per connection input buffer, bounds the request head; 0: 16 KiB */
	size_t max_headers;  /* header fields per request; 0: 64 (more is 431) */
	int max_conns;       /* past this many connections the one waiting longest for a request head,
				else the longest stalled exchange (stall_shed) is closed; accepting pauses
				while there is none; 0: half the descriptor limit, 64 to 10000 */
	double head_timeout; /* whole head must arrive within this (slow clients); 0: 10 s */
	double idle_timeout; /* keep-alive connection with no request; 0: 60 s */
	double io_timeout;   /* no progress reading a body or writing a reply; 0: 60 s */
	double stall_shed;   /* at the connection limit, an exchange waiting this long on its client
				(body bytes, room for the reply) may be closed for a newcomer; 0: 5 s */
	const char *name;    /* Server: header value; NULL: none */
	/* process-wide upload limit shared with other servers, or NULL; change it with ratelimit_set */
	struct ratelimit *tx_limit;
	/* TLS: wraps each accepted socket (NULL from it drops the connection); NULL: plain TCP */
	struct transport *(*tls_accept)(void *ctx, int fd);
	void *tls_ctx;
};

/* A new server on loop with cfg (copied; zero fields take the defaults). Listen with
 * http_server_listen. Returns NULL when out of memory. */
struct http_server *http_server_new(struct ev_loop *loop, const struct http_server_cfg *cfg);

/* Stops listening, aborts every connection (done callbacks run with ok 0) and frees the server. */
void http_server_free(struct http_server *s);

/* Listens on addr (net/loop.h forms: ":8002", "127.0.0.1:0", "[::1]:80"); a server may listen on
 * several. DF_ERR with "listen ADDR: cause" in err. */
int http_server_listen(struct http_server *s, const char *addr, char *err, size_t errlen);

/* The port of the first listener (after ":0", the one the kernel chose); 0 when none. */
uint16_t http_server_port(const struct http_server *s);

/* Serves HTTP on a connection made elsewhere, as if it had been accepted (a TLS session opened inside
 * a CONNECT tunnel). The server takes t and closes it with t->ops->close when the connection ends;
 * peer is the client's address (http_req_peer). on_close(ctx), when not NULL, runs once right after
 * the connection closed (the server is done with ctx); requests reach ctx with http_req_conn_ctx.
 * DF_ERR when out of memory or shutting down: t is closed then and on_close does not run. */
int http_server_adopt(struct http_server *s, struct transport *t, const struct sockaddr *peer,
		      void (*on_close)(void *ctx), void *ctx);

typedef void (*http_handler_fn)(struct http_req *req, void *ctx);

/* Routes requests whose path starts with prefix and whose method is method ("GET" also takes HEAD;
 * NULL takes any) to fn. The longest matching prefix wins; a path that matches only with another
 * method gets 405, none at all 404. Prefix "" also takes targets that are not paths (proxy requests
 * "http://host/x", CONNECT "host:443"). prefix and method are copied. DF_ERR when out of memory. */
int http_server_route(struct http_server *s, const char *method, const char *prefix, http_handler_fn fn, void *ctx);

/* Graceful stop: stops listening, closes idle connections, lets requests in flight finish (their
 * replies say Connection: close) for up to grace seconds, then aborts the rest; then calls done (from
 * the loop), after which the caller may flush its store, http_server_free and ev_break. */
void http_server_shutdown(struct http_server *s, double grace, void (*done)(struct http_server *s, void *ctx),
			  void *ctx);

struct http_server_stats {
	uint64_t accepted;  /* connections ever accepted */
	uint64_t requests;  /* request heads parsed */
	uint64_t bytes_out; /* body bytes written */
	int conns;          /* connections open now */
	uint64_t shed;      /* connections closed at the connection limit */
};
void http_server_get_stats(const struct http_server *s, struct http_server_stats *out);

/* --- the request ------------------------------------------------------------------------------ */

/* The parsed head: method, target, path, query, minor version, headers; slices valid until done. */
const struct http_head *http_req_head(const struct http_req *req);
/* The first header called name (case-insensitive), {NULL, 0} when absent. */
struct slice http_req_header(const struct http_req *req, const char *name);
/* The body's length from Content-Length, -1 when chunked, 0 when there is none. */
int64_t http_req_body_length(const struct http_req *req);
/* The ctx given to http_server_adopt for the request's connection; NULL for an accepted one. */
void *http_req_conn_ctx(struct http_req *req);
/* The client's address. */
const struct sockaddr *http_req_peer(const struct http_req *req);
/* Whether the request is HEAD (replies then send the head only; the server handles it). */
int http_req_is_head(const struct http_req *req);

/* Called exactly once when the exchange ends: ok 1 after the whole reply went out, ok 0 when it was
 * aborted. req is invalid after it returns. Setting it again replaces the previous one. */
void http_req_on_done(struct http_req *req, void (*fn)(struct http_req *req, int ok, void *ctx), void *ctx);

/* Body consumer: gets each run of body bytes (valid during the call) as it arrives; returns DF_OK
 * for more, DF_AGAIN to pause after this run (http_req_resume restarts), DF_ERR to abort the
 * exchange. */
typedef int (*http_body_fn)(struct http_req *req, const char *data, size_t len, void *ctx);

/* Starts delivering the body to on_data, then on_end once it is complete (reply from on_end or
 * later). Sends "100 Continue" first when the client expects it. A body the handler never reads is
 * discarded after the reply (up to 1 MiB; beyond that the connection is closed instead). */
void http_req_read_body(struct http_req *req, http_body_fn on_data, void (*on_end)(struct http_req *req, void *ctx),
			void *ctx);
void http_req_resume(struct http_req *req);

/* --- replies (extra: more header lines, each ending in "\r\n", or NULL) ------------------------- */

/* Replies with a body from memory (copied; len 0 for none). Content-Length, Connection, Date and
 * Server are added. DF_ERR when a reply was already started or the head does not fit (4 KiB). */
int http_reply(struct http_req *req, int status, const char *extra, const void *body, size_t len);

/* Replies with len bytes of file fd from offset off, sent with sendfile. Takes fd: it is closed when
 * the exchange ends, also on DF_ERR. */
int http_reply_file(struct http_req *req, int status, const char *extra, int fd, off_t off, uint64_t len);

/* Serves a whole file of `size` bytes honouring a single Range: 206 with Content-Range, 416 when
 * unsatisfiable, 200 otherwise; adds Accept-Ranges. Takes fd like http_reply_file. */
int http_reply_file_range(struct http_req *req, const char *extra, int fd, uint64_t size);

/* Called when the socket can take more of a streamed reply: write with http_reply_write or
 * http_reply_sendfile until one accepts less than offered (the server calls again when there is room)
 * or nothing is ready (call http_reply_ready when there is), then return. */
typedef void (*http_produce_fn)(struct http_req *req, void *ctx);

/* Starts a streamed reply of `length` bytes, or of unknown length (-1: chunked; close-delimited for
 * HTTP/1.0 clients). on_writable is first called once the head can go out. */
int http_reply_start(struct http_req *req, int status, const char *extra, int64_t length, http_produce_fn on_writable,
		     void *ctx);

/* Writes body bytes straight to the socket (chunk framing added as needed). Returns how many were
 * taken: 0 to len; fewer than len means the socket (or the upload rate limit) is full and on_writable
 * will be called. DF_ERR when the exchange failed (its done callback follows) or more than the
 * announced length is written. The caller's stream must be contiguous: what was not taken is offered
 * again next time, possibly with more after it. */
ssize_t http_reply_write(struct http_req *req, const void *buf, size_t len);

/* The same from a file region (data already in a file, e.g. a piece being written to the store). */
ssize_t http_reply_sendfile(struct http_req *req, int fd, off_t off, size_t len);

/* More data is ready: on_writable will be called soon. */
void http_reply_ready(struct http_req *req);

/* Ends a streamed reply (writes the last chunk). Ending before the announced length aborts the
 * exchange (the client sees a short body and a closed connection). */
int http_reply_end(struct http_req *req);

/* Aborts the exchange: the connection closes without completing the reply (a proxy whose upstream
 * failed mid-body, a body that failed its digest), so the client never mistakes a cut body for a
 * whole one; the done callback follows with ok 0. Nothing happens after the exchange ended. */
void http_reply_abort(struct http_req *req);

/* Takes the connection away from the server, for protocols that leave HTTP after a request (a
 * CONNECT tunnel): the caller gets the socket (non-blocking; it owns it now) and the bytes that
 * arrived after the request head (at most cap into buf, their count in *len). The server forgets
 * the connection (the done callback runs with ok 0 first). DF_ERR with nothing changed when the
 * reply was started, the connection is TLS, the request has a body, or more than cap bytes wait. */
int http_req_detach(struct http_req *req, int *fd, char *buf, size_t cap, size_t *len);

#endif
