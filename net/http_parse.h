/* Pure HTTP/1.1 parsers over byte buffers: request and response heads, headers, message framing,
 * the chunked coding (both ways), Range / Content-Range, URLs and the swarm's URL normalizer.
 *
 * No sockets, no malloc, no NUL-terminated input: every parser reads (buf, len), never past len, and
 * hands out slices into buf. Streaming state (the chunked decoder) lives in a struct the caller owns.
 * A head parser returns the head's length, DF_AGAIN while the blank line that ends it has not
 * arrived, or DF_ERR with a static reason; callers cap the buffer to limit the head's size. */
#ifndef DF_HTTP_PARSE_H
#define DF_HTTP_PARSE_H

#include <stdint.h>
#include <sys/types.h>

#include "core/df.h"
#include "core/slice.h"

struct http_header {
	struct slice name;  /* token, as sent (compare case-insensitively) */
	struct slice value; /* optional whitespace around it removed; may be empty */
};

/* A parsed request or response head; every slice points into the parsed buffer. */
struct http_head {
	/* request line */
	struct slice method; /* "GET" */
	struct slice target; /* as sent: "/a/b?x=1", "http://host/a" (proxy form), "host:443", "*" */
	struct slice path;   /* target up to '?' (the whole target when it is not origin-form) */
	struct slice query;  /* after '?', without it; empty when none */
	/* status line */
	int status; /* 100..999 */
	struct slice reason;
	/* both */
	int minor;                   /* HTTP/1.minor: 0 or 1 */
	struct http_header *headers; /* the caller's array, nheaders filled */
	size_t nheaders;
	const char *err; /* after DF_ERR: why, e.g. "malformed request line" */
	int err_status;  /* after DF_ERR on a request: the status to answer (400, 431, 501, 505) */
};

/* Parses a request head in buf[0..len) into h, headers into hdrs[0..max_headers). Empty lines before
 * the request line are skipped (RFC 9112 2.2). Bare LF line ends are accepted. Returns the number of
 * bytes up to and including the blank line, DF_AGAIN when incomplete, DF_ERR when malformed (also for
 * more than max_headers headers: err_status 431). */
int http_parse_request(const char *buf, size_t len, struct http_head *h, struct http_header *hdrs, size_t max_headers);

/* The same for a response head (status line and headers). */
int http_parse_response(const char *buf, size_t len, struct http_head *h, struct http_header *hdrs, size_t max_headers);

/* The value of the first header called name (case-insensitive); {NULL, 0} when there is none. */
struct slice http_header_get(const struct http_header *hdrs, size_t n, const char *name);

/* Whether a comma-separated header value lists token (case-insensitive): "keep-alive, Close". */
int http_token_in_list(struct slice value, const char *token);

/* How a message's body is delimited and what happens to the connection after it. */
struct http_framing {
	int64_t content_length; /* -1 when not given by Content-Length */
	int chunked;            /* Transfer-Encoding ends in chunked */
	int until_close;        /* response body runs until the connection closes */
	int no_body;            /* the message has no body at all */
	int keep_alive;         /* the connection may carry another message afterwards */
	int expect_continue;    /* request: Expect: 100-continue */
};

/* Framing of a request (RFC 9112 6): chunked, Content-Length, or no body. Content-Length together with
 * Transfer-Encoding, a bad or conflicting Content-Length, or a coding other than chunked give DF_ERR
 * with h->err and h->err_status (400 or 501) set. */
int http_request_framing(struct http_head *h, struct http_framing *f);

/* Framing of a response to a request of method `method` (HEAD and 1xx/204/304 have no body;
 * Transfer-Encoding wins over Content-Length; neither means until close). DF_ERR with h->err on a bad
 * or conflicting Content-Length. */
int http_response_framing(struct http_head *h, struct slice method, struct http_framing *f);

/* The standard reason phrase of a status ("Not Found"), "Unknown" for others. */
const char *http_reason(int status);

/* --- chunked transfer coding ------------------------------------------------------------------ */

/* Streaming decoder state; zero it with http_chunked_init. Limits: chunk sizes below 2^60, chunk
 * extensions up to 4 KiB per line, trailers up to 16 KiB (skipped, not returned). */
struct http_chunked {
	int state;
	uint64_t left;   /* data bytes left in the current chunk */
	unsigned digits; /* hex digits of the size line seen so far */
	size_t line;     /* bytes of the current extension or trailer line */
	size_t trailers; /* trailer bytes so far */
	int done;        /* the last chunk and the trailers have been read */
	const char *err; /* after DF_ERR: why */
};

void http_chunked_init(struct http_chunked *c);

/* Decodes the next bytes of a chunked body in buf[0..len). Returns the number of bytes consumed and
 * sets *data to the body bytes among them (a slice into buf ending where the consumed bytes end;
 * empty when they were all framing). Consumes at least one byte unless len is 0 or c->done. Bytes
 * after the end of the body are not consumed. DF_ERR on bad framing (c->err says why). */
ssize_t http_chunked_decode(struct http_chunked *c, const char *buf, size_t len, struct slice *data);

/* Longest chunk-size line http_chunk_line writes ("ffffffffffffffff\r\n"). */
#define HTTP_CHUNK_LINE_MAX 18
/* Writes the size line of an n-byte chunk ("1a2b\r\n") into out; returns its length. n 0 writes
 * "0\r\n", the start of the last chunk; the body then ends with "\r\n" (no trailers). */
size_t http_chunk_line(char out[HTTP_CHUNK_LINE_MAX], uint64_t n);

/* --- ranges ----------------------------------------------------------------------------------- */

/* One byte range as a client asked for it: "bytes=F-L", "bytes=F-" (has_last 0) or the suffix form
 * "bytes=-N" (has_first 0, last = N, the length of the tail). */
struct http_range {
	uint64_t first, last;
	int has_first, has_last;
};

/* Parses a Range header value. DF_ERR for bad syntax, units other than bytes, and several ranges
 * (df serves single ranges: the caller then ignores the header and answers 200, as RFC 9110 allows). */
int http_range_parse(struct slice value, struct http_range *r);

/* Resolves a parsed range against a representation of `size` bytes into inclusive [*start, *end].
 * DF_ERR when it is unsatisfiable (answer 416 with "Content-Range: bytes * / size"). */
int http_range_resolve(const struct http_range *r, uint64_t size, uint64_t *start, uint64_t *end);

/* A Content-Range value: "bytes S-E/T", "bytes S-E/ *" (total -1) or "bytes * /T" (unsatisfied 1). */
struct http_content_range {
	uint64_t start, end; /* inclusive */
	int64_t total;       /* -1 when the server does not know */
	int unsatisfied;
};

/* Parses a Content-Range value; DF_ERR for bad syntax or start > end or end >= total. */
int http_content_range_parse(struct slice value, struct http_content_range *cr);

/* --- URLs ------------------------------------------------------------------------------------- */

/* An absolute http or https URL split into parts, all slices into the parsed string. */
struct http_url {
	struct slice scheme;   /* "http" or "https", as written (compare case-insensitively) */
	struct slice userinfo; /* "user:pass" before '@'; empty when none */
	struct slice host;     /* reg-name or IPv4, or IPv6 without its brackets */
	int ipv6;              /* host was bracketed */
	int tls;               /* https */
	uint16_t port;         /* explicit, else 80 or 443 */
	int port_explicit;
	struct slice path;  /* starts with '/'; empty when the URL has none (means "/") */
	struct slice query; /* after '?', without it, before any '#'; empty when none */
};

/* Parses an absolute http(s) URL. The fragment is dropped. DF_ERR with *err set for other schemes,
 * control characters or spaces, a bad host or port. */
int http_url_parse(const char *s, size_t n, struct http_url *u, const char **err);

/* Resolves a Location header value against the URL it answered (RFC 3986 5.2): absolute URLs are
 * copied, "//host/p", "/p" and relative "p" (against the base's directory) are completed, an empty
 * one is the base; the fragment is dropped and the path loses its "." and ".." segments. Writes a
 * NUL-terminated URL into out; returns its length, or DF_ERR when it does not fit or base is bad. */
int http_url_resolve(const char *base, struct slice location, char *out, size_t cap);

/* Writes the normalized form of an http(s) URL that the swarm hashes into task ids: scheme and host
 * in lower case, default port and userinfo and fragment dropped, an empty path as "/", and the query
 * parameters sorted, with empty ones and those named in `drop` (comma-separated names, NULL for none)
 * removed. Returns the length written (NUL-terminated), or DF_ERR when the URL is bad, has more than
 * HTTP_URL_MAX_PARAMS query parameters (errno E2BIG; otherwise EINVAL), or the result does not fit in
 * cap. */
#define HTTP_URL_MAX_PARAMS 256
int http_url_normalize(const char *url, size_t n, const char *drop, char *out, size_t cap);

/* The normalized form (as http_url_normalize) without anything that may be a credential: userinfo,
 * the parameters named in drop, and the well-known secret parameters (those http_url_redact
 * redacts). What df asks a source for to learn whether it answers anyone. */
int http_url_anonymous(const char *url, size_t n, const char *drop, char *out, size_t cap);

/* Writes url as df shows it (status, logs, error messages, the store's metadata): the values of the
 * query parameters named in `drop` (comma-separated, as for http_url_normalize; NULL none) and of
 * well-known secret parameters (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
 * X-Goog-Signature, Signature, sig, token, access_token..., any case) replaced by REDACTED, userinfo
 * replaced by REDACTED, the fragment dropped. A string that is not an http(s) URL is shown up to its
 * first '?', '@', '#', space or control byte. Returns the length written (NUL-terminated), or DF_ERR
 * when it did not fit: out then holds a prefix that never ends inside a secret. */
int http_url_redact(const char *url, size_t n, const char *drop, char *out, size_t cap);

/* Whether host is excluded from proxying by a no_proxy list: comma- or space-separated entries, each
 * "*" (everything), a host name or address (matching itself and, for names, its subdomains: "example.com"
 * and ".example.com" both match "a.example.com"). Ports in entries are ignored; case-insensitive. */
int http_no_proxy_match(const char *list, struct slice host);

#endif
