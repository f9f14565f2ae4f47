/* Unit tests of net/http_parse: request and response heads (fed whole and cut at every byte),
 * framing rules, the chunked decoder in every split, Range / Content-Range, URLs, normalization,
 * no_proxy. */
#include <stdio.h>
#include <string.h>

#include "net/http_parse.h"
#include "swarm/common.h"
#include "test/unit/unit.h"

static struct http_header hdrs[16];

static int req(const char *s, struct http_head *h)
{
	return http_parse_request(s, strlen(s), h, hdrs, DF_ARRAY_LEN(hdrs));
}

static int resp(const char *s, struct http_head *h)
{
	return http_parse_response(s, strlen(s), h, hdrs, DF_ARRAY_LEN(hdrs));
}

/* Every proper prefix of a complete head says DF_AGAIN; the whole says its length. */
static void check_prefixes(const char *s, int request)
{
	size_t n = strlen(s);
	struct http_head h;
	struct http_header hh[16];
	for (size_t cut = 0; cut < n; cut++) {
		int rc = request ? http_parse_request(s, cut, &h, hh, 16) : http_parse_response(s, cut, &h, hh, 16);
		if (rc != DF_AGAIN) {
			fprintf(stderr, "    prefix %zu of %s gave %d\n", cut, s, rc);
			CHECK(0);
			return;
		}
	}
	int rc = request ? http_parse_request(s, n, &h, hh, 16) : http_parse_response(s, n, &h, hh, 16);
	CHECK_EQ(rc, (int)n);
}

static void request_basic(void)
{
	const char *s = "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\nAccept:  */*  \r\n\r\nBODY";
	struct http_head h;
	CHECK_EQ(req(s, &h), (int)strlen(s) - 4);
	CHECK(slice_eq(h.method, "GET"));
	CHECK(slice_eq(h.target, "/a/b?x=1&y=2"));
	CHECK(slice_eq(h.path, "/a/b"));
	CHECK(slice_eq(h.query, "x=1&y=2"));
	CHECK_EQ(h.minor, 1);
	CHECK_EQ(h.nheaders, 3);
	CHECK(slice_eq(http_header_get(h.headers, h.nheaders, "HOST"), "example.com"));
	struct slice e = http_header_get(h.headers, h.nheaders, "x-empty");
	CHECK(e.p != NULL && e.n == 0);
	CHECK(slice_eq(http_header_get(h.headers, h.nheaders, "accept"), "*/*"));
	CHECK(http_header_get(h.headers, h.nheaders, "missing").p == NULL);
	check_prefixes("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\nAccept:  */*  \r\n\r\n", 1);
	check_prefixes("\r\n\r\nPOST /p HTTP/1.0\nContent-Length: 3\n\n", 1);
}

static void request_forms(void)
{
	struct http_head h;
	CHECK(req("GET http://h:8/x?q HTTP/1.1\r\n\r\n", &h) > 0);
	CHECK(slice_eq(h.target, "http://h:8/x?q"));
	CHECK(slice_eq(h.path, "http://h:8/x?q"));
	CHECK_EQ(h.query.n, 0);
	CHECK(req("CONNECT example.com:443 HTTP/1.1\r\n\r\n", &h) > 0);
	CHECK(slice_eq(h.target, "example.com:443"));
	CHECK(req("OPTIONS * HTTP/1.0\r\n\r\n", &h) > 0);
	CHECK_EQ(h.minor, 0);
	CHECK(req("GET /? HTTP/1.1\r\n\r\n", &h) > 0);
	CHECK(slice_eq(h.path, "/"));
	CHECK(h.query.n == 0);
}

static void request_malformed(void)
{
	static const struct {
		const char *in;
		int status;
	} bad[] = {
		{"GET  / HTTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/1.1 \r\n\r\n", 400},
		{"GET /\r\n\r\n", 400},
		{"GET / HTTP/2.0\r\n\r\n", 505},
		{"GET / HTTP/1.x\r\n\r\n", 400},
		{"GET / http/1.1\r\n\r\n", 400},
		{"G(T / HTTP/1.1\r\n\r\n", 400},
		{"GET /a\x01 HTTP/1.1\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nNo-Colon\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nName : v\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\n: v\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nA: b\r\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nA\0: b\r\n", 400},
	};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		struct http_head h;
		size_t n = strlen(bad[i].in);
		if (i == DF_ARRAY_LEN(bad) - 1)
			n = 24; /* the one with a NUL inside: fails before the head is complete */
		int rc = http_parse_request(bad[i].in, n, &h, hdrs, 16);
		if (rc != DF_ERR || h.err_status != bad[i].status || !h.err)
			fprintf(stderr, "    case %zu: rc %d status %d\n", i, rc, h.err_status);
		CHECK_EQ(rc, DF_ERR);
		CHECK_EQ(h.err_status, bad[i].status);
	}
	/* more headers than the caller has room for: 431 */
	struct http_head h;
	struct http_header two[2];
	const char *s = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	CHECK_EQ(http_parse_request(s, strlen(s), &h, two, 2), DF_ERR);
	CHECK_EQ(h.err_status, 431);
}

static void response_basic(void)
{
	struct http_head h;
	const char *s = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nContent-Length: 10\r\n\r\n";
	CHECK_EQ(resp(s, &h), (int)strlen(s));
	CHECK_EQ(h.status, 206);
	CHECK(slice_eq(h.reason, "Partial Content"));
	check_prefixes(s, 0);
	CHECK(resp("HTTP/1.0 200\r\n\r\n", &h) > 0);
	CHECK_EQ(h.status, 200);
	CHECK_EQ(h.reason.n, 0);
	CHECK(resp("HTTP/1.1 404 \r\n\r\n", &h) > 0);
	CHECK_EQ(h.status, 404);
	CHECK_EQ(resp("HTTP/1.1 20 OK\r\n\r\n", &h), DF_ERR);
	CHECK_EQ(resp("HTTP/1.1 2000 OK\r\n\r\n", &h), DF_ERR);
	CHECK_EQ(resp("HTTP/1.1 099 OK\r\n\r\n", &h), DF_ERR);
	CHECK_EQ(resp("ICY 200 OK\r\n\r\n", &h), DF_ERR);
	CHECK_EQ(resp("\r\nHTTP/1.1 200 OK\r\n\r\n", &h), DF_ERR);
	CHECK(h.err != NULL);
}

static void framing_request(void)
{
	struct http_head h;
	struct http_framing f;
	CHECK(req("GET / HTTP/1.1\r\n\r\n", &h) > 0);
	CHECK_EQ(http_request_framing(&h, &f), DF_OK);
	CHECK(f.no_body && f.keep_alive && f.content_length == 0 && !f.chunked);
	CHECK(req("POST / HTTP/1.1\r\nContent-Length: 12\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n", &h) > 0);
	CHECK_EQ(http_request_framing(&h, &f), DF_OK);
	CHECK(!f.no_body && !f.keep_alive && f.content_length == 12 && f.expect_continue);
	CHECK(req("POST / HTTP/1.0\r\nConnection: Keep-Alive\r\nTransfer-Encoding: chunked\r\n\r\n", &h) > 0);
	CHECK_EQ(http_request_framing(&h, &f), DF_OK);
	CHECK(f.chunked && f.keep_alive && f.content_length == -1);
	CHECK(req("GET / HTTP/1.0\r\n\r\n", &h) > 0);
	CHECK_EQ(http_request_framing(&h, &f), DF_OK);
	CHECK(!f.keep_alive);
	CHECK(req("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", &h) > 0);
	CHECK_EQ(http_request_framing(&h, &f), DF_OK);
	CHECK_EQ(f.content_length, 5);
	static const char *bad[] = {
		"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		CHECK(req(bad[i], &h) > 0);
		CHECK_EQ(http_request_framing(&h, &f), DF_ERR);
		CHECK_EQ(h.err_status, 400);
	}
	CHECK(req("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", &h) > 0);
	CHECK_EQ(http_request_framing(&h, &f), DF_ERR);
	CHECK_EQ(h.err_status, 501);
	CHECK(req("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", &h) > 0);
	CHECK_EQ(http_request_framing(&h, &f), DF_ERR);
}

static void framing_response(void)
{
	struct http_head h;
	struct http_framing f;
	CHECK(resp("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", &h) > 0);
	CHECK_EQ(http_response_framing(&h, SLICE_LIT("GET"), &f), DF_OK);
	CHECK(f.content_length == 7 && f.keep_alive && !f.until_close && !f.no_body);
	CHECK_EQ(http_response_framing(&h, SLICE_LIT("HEAD"), &f), DF_OK);
	CHECK(f.no_body && f.keep_alive);
	CHECK(resp("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n", &h) > 0);
	CHECK_EQ(http_response_framing(&h, SLICE_LIT("GET"), &f), DF_OK);
	CHECK(f.chunked && f.content_length == -1);
	CHECK(resp("HTTP/1.1 200 OK\r\n\r\n", &h) > 0);
	CHECK_EQ(http_response_framing(&h, SLICE_LIT("GET"), &f), DF_OK);
	CHECK(f.until_close && !f.keep_alive);
	CHECK(resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", &h) > 0);
	CHECK_EQ(http_response_framing(&h, SLICE_LIT("GET"), &f), DF_OK);
	CHECK(f.no_body && f.keep_alive);
	CHECK(resp("HTTP/1.1 100 Continue\r\n\r\n", &h) > 0);
	CHECK_EQ(http_response_framing(&h, SLICE_LIT("PUT"), &f), DF_OK);
	CHECK(f.no_body);
	CHECK(resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &h) > 0);
	CHECK_EQ(http_response_framing(&h, SLICE_LIT("GET"), &f), DF_ERR);
	CHECK(resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &h) > 0);
	CHECK_EQ(http_response_framing(&h, SLICE_LIT("GET"), &f), DF_OK);
	CHECK(f.no_body && f.keep_alive);
}

static void tokens(void)
{
	CHECK(http_token_in_list(SLICE_LIT("keep-alive, Close"), "close"));
	CHECK(http_token_in_list(SLICE_LIT(" upgrade ,close"), "close"));
	CHECK(!http_token_in_list(SLICE_LIT("closed"), "close"));
	CHECK(!http_token_in_list((struct slice){NULL, 0}, "close"));
	CHECK_STR(http_reason(404), "Not Found");
	CHECK_STR(http_reason(799), "Unknown");
}

/* Decodes `in` fed in the pieces given by cut points; returns the body in out (NUL-terminated). */
static int dechunk(const char *in, size_t n, const size_t *cuts, size_t ncuts, char *out, size_t cap, size_t *rest)
{
	struct http_chunked c;
	http_chunked_init(&c);
	size_t o = 0, at = 0;
	for (size_t k = 0; k <= ncuts && !c.done; k++) {
		size_t end = k < ncuts ? cuts[k] : n;
		while (at < end && !c.done) {
			struct slice d;
			ssize_t r = http_chunked_decode(&c, in + at, end - at, &d);
			if (r < 0)
				return DF_ERR;
			if (r == 0)
				return DF_ERR - 10; /* must always progress */
			if (d.n) {
				if (d.p + d.n != in + at + r || o + d.n >= cap)
					return DF_ERR - 20;
				memcpy(out + o, d.p, d.n);
				o += d.n;
			}
			at += (size_t)r;
		}
	}
	out[o] = 0;
	*rest = n - at;
	return c.done ? DF_OK : DF_AGAIN;
}

static void chunked_decode(void)
{
	const char *in = "5\r\nhello\r\n1;ext=\"x\"\r\n \r\nA  \r\n0123456789\r\n0\r\nTrailer: t\r\n\r\nNEXT";
	size_t n = strlen(in), rest;
	char out[64];
	CHECK_EQ(dechunk(in, n, NULL, 0, out, sizeof out, &rest), DF_OK);
	CHECK_STR(out, "hello 0123456789");
	CHECK_EQ(rest, 4);
	/* every split into two, and byte by byte */
	for (size_t cut = 0; cut <= n; cut++) {
		int rc = dechunk(in, n, &cut, 1, out, sizeof out, &rest);
		CHECK_EQ(rc, DF_OK);
		if (rc == DF_OK && strcmp(out, "hello 0123456789") != 0)
			CHECK_STR(out, "hello 0123456789");
	}
	size_t cuts[128];
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	CHECK_EQ(dechunk(in, n, cuts, n, out, sizeof out, &rest), DF_OK);
	CHECK_STR(out, "hello 0123456789");
	/* bare LF line ends, upper-case hex, no trailers */
	const char *lf = "B\nhello world\n0\n\n";
	CHECK_EQ(dechunk(lf, strlen(lf), NULL, 0, out, sizeof out, &rest), DF_OK);
	CHECK_STR(out, "hello world");
	/* incomplete */
	CHECK_EQ(dechunk("5\r\nhel", 6, NULL, 0, out, sizeof out, &rest), DF_AGAIN);
	CHECK_EQ(dechunk("0\r\n", 3, NULL, 0, out, sizeof out, &rest), DF_AGAIN);
}

static void chunked_malformed(void)
{
	static const char *bad[] = {
		"\r\n",                      /* no digits */
		"x\r\n",                     /* not hex */
		"-1\r\n",                    /* negative */
		"1000000000000000\r\n",      /* 2^60: too large */
		"5\r\nhelloXX",              /* no CRLF after data */
		"5\r\nhello\rX",             /* CR then not LF */
		"5 x\r\n",                   /* garbage after blanks */
		"5;a\x01\r\n",               /* control character in extension */
		"0\r\nA: b\rX",              /* bad trailer line end */
		"5\rX",                      /* CR not followed by LF */
	};
	char out[64];
	size_t rest;
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		int rc = dechunk(bad[i], strlen(bad[i]), NULL, 0, out, sizeof out, &rest);
		if (rc != DF_ERR)
			fprintf(stderr, "    case %zu: %d\n", i, rc);
		CHECK_EQ(rc, DF_ERR);
	}
	/* a huge extension is refused instead of waited for */
	static char big[6000];
	memset(big, 'a', sizeof big);
	big[0] = '1';
	big[1] = ';';
	CHECK_EQ(dechunk(big, sizeof big, NULL, 0, out, sizeof out, &rest), DF_ERR);
}

static void chunk_line(void)
{
	char l[HTTP_CHUNK_LINE_MAX];
	size_t n = http_chunk_line(l, 0x1a2b);
	CHECK_EQ(n, 6);
	CHECK(memcmp(l, "1a2b\r\n", 6) == 0);
	CHECK_EQ(http_chunk_line(l, 0), 3);
	CHECK_EQ(http_chunk_line(l, UINT64_MAX), HTTP_CHUNK_LINE_MAX);
	CHECK(memcmp(l, "ffffffffffffffff\r\n", 18) == 0);
}

static void ranges(void)
{
	struct http_range r;
	uint64_t s, e;
	CHECK_EQ(http_range_parse(SLICE_LIT("bytes=0-99"), &r), DF_OK);
	CHECK_EQ(http_range_resolve(&r, 1000, &s, &e), DF_OK);
	CHECK(s == 0 && e == 99);
	CHECK_EQ(http_range_resolve(&r, 50, &s, &e), DF_OK);
	CHECK(s == 0 && e == 49);
	CHECK_EQ(http_range_parse(SLICE_LIT("Bytes = 500-"), &r), DF_ERR); /* no blanks around '=' */
	CHECK_EQ(http_range_parse(SLICE_LIT("bytes=500-"), &r), DF_OK);
	CHECK_EQ(http_range_resolve(&r, 1000, &s, &e), DF_OK);
	CHECK(s == 500 && e == 999);
	CHECK_EQ(http_range_resolve(&r, 500, &s, &e), DF_ERR);
	CHECK_EQ(http_range_parse(SLICE_LIT("bytes=-100"), &r), DF_OK);
	CHECK_EQ(http_range_resolve(&r, 1000, &s, &e), DF_OK);
	CHECK(s == 900 && e == 999);
	CHECK_EQ(http_range_resolve(&r, 10, &s, &e), DF_OK);
	CHECK(s == 0 && e == 9);
	CHECK_EQ(http_range_resolve(&r, 0, &s, &e), DF_ERR);
	CHECK_EQ(http_range_parse(SLICE_LIT("bytes=-0"), &r), DF_OK);
	CHECK_EQ(http_range_resolve(&r, 10, &s, &e), DF_ERR);
	static const char *bad[] = {"bytes=", "bytes=-", "bytes=5-4", "bytes=0-1,5-6", "items=0-1", "bytes=a-b",
				    "bytes=1", "bytes=0-1 x", "bytes=9999999999999999999-"};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++)
		CHECK_EQ(http_range_parse(slice_of(bad[i]), &r), DF_ERR);
}

static void content_ranges(void)
{
	struct http_content_range cr;
	CHECK_EQ(http_content_range_parse(SLICE_LIT("bytes 0-9/100"), &cr), DF_OK);
	CHECK(cr.start == 0 && cr.end == 9 && cr.total == 100 && !cr.unsatisfied);
	CHECK_EQ(http_content_range_parse(SLICE_LIT("bytes 5-9/*"), &cr), DF_OK);
	CHECK(cr.start == 5 && cr.end == 9 && cr.total == -1);
	CHECK_EQ(http_content_range_parse(SLICE_LIT("bytes */100"), &cr), DF_OK);
	CHECK(cr.unsatisfied && cr.total == 100);
	static const char *bad[] = {"bytes 9-5/100", "bytes 0-100/100", "bytes */*", "bytes 0-9", "bytes 0-9/x",
				    "0-9/100", "bytes 0-9/100 junk"};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++)
		CHECK_EQ(http_content_range_parse(slice_of(bad[i]), &cr), DF_ERR);
}

static int url(const char *s, struct http_url *u)
{
	const char *err = NULL;
	int rc = http_url_parse(s, strlen(s), u, &err);
	if (rc != DF_OK)
		CHECK(err != NULL);
	return rc;
}

static void urls(void)
{
	struct http_url u;
	CHECK_EQ(url("http://example.com", &u), DF_OK);
	CHECK(slice_eq(u.host, "example.com") && u.port == 80 && !u.tls && u.path.n == 0 && u.query.n == 0);
	CHECK_EQ(url("HTTPS://user:pw@Example.COM:8443/a/b?x=1#frag", &u), DF_OK);
	CHECK(u.tls && u.port == 443 + 8000 && u.port_explicit);
	CHECK(slice_eq(u.userinfo, "user:pw") && slice_eq(u.host, "Example.COM"));
	CHECK(slice_eq(u.path, "/a/b") && slice_eq(u.query, "x=1"));
	CHECK_EQ(url("http://[::1]:8080/x", &u), DF_OK);
	CHECK(u.ipv6 && slice_eq(u.host, "::1") && u.port == 8080 && slice_eq(u.path, "/x"));
	CHECK_EQ(url("http://[fe80::1%25eth0]/", &u), DF_ERR);
	CHECK_EQ(url("http://h:/p", &u), DF_OK);
	CHECK(u.port == 80 && !u.port_explicit);
	CHECK_EQ(url("http://h?q=1", &u), DF_OK);
	CHECK(u.path.n == 0 && slice_eq(u.query, "q=1"));
	static const char *bad[] = {"ftp://h/", "http:/h", "http://", "http://:80/", "http://h:0/", "http://h:65536/",
				    "http://h:12a/", "http://h x/", "http://h/a b", "http://[::1/", "http://[xyz]/",
				    "/relative", "http://h\x01/", "http://h^/"};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		if (url(bad[i], &u) != DF_ERR)
			fprintf(stderr, "    accepted %s\n", bad[i]);
		CHECK_EQ(url(bad[i], &u), DF_ERR);
	}
}

static void url_resolve(void)
{
	char out[256];
	const char *base = "http://u:p@h:81/a/b/c?q";
	static const struct {
		const char *loc, *want;
	} t[] = {
		{"https://x/y", "https://x/y"},
		{"//x:9/y", "http://x:9/y"},
		{"/z?1", "http://h:81/z?1"},
		{"d", "http://h:81/a/b/d"},
		{"?r", "http://h:81/a/b/c?r"},
		{" /sp", "http://h:81/sp"},
		/* dot segments go (RFC 3986 5.2.4): "/a/../f" is another key to an object store */
		{"../x", "http://h:81/a/x"},
		{"./x/../y", "http://h:81/a/b/y"},
		{"/../../z", "http://h:81/z"},
		{"..", "http://h:81/a/"},
		{"../../../..", "http://h:81/"},
		{"https://x/a/./b/../c?k=../v", "https://x/a/c?k=../v"},
		{"//x/.././y/", "http://x/y/"},
		{"/p/%2e%2e/q", "http://h:81/p/%2e%2e/q"},
		{"/a//b/../c", "http://h:81/a//c"},
		/* a fragment is not sent; an empty reference is the base itself (it was "/") */
		{"d#frag", "http://h:81/a/b/d"},
		{"#f", "http://h:81/a/b/c?q"},
		{"", "http://h:81/a/b/c?q"},
		{" d ", "http://h:81/a/b/d"},
	};
	for (size_t i = 0; i < DF_ARRAY_LEN(t); i++) {
		int n = http_url_resolve(base, slice_of(t[i].loc), out, sizeof out);
		CHECK_EQ(n, (int)strlen(t[i].want));
		CHECK_STR(out, t[i].want);
	}
	CHECK(http_url_resolve("http://[::1]/x", SLICE_LIT("y"), out, sizeof out) > 0);
	CHECK_STR(out, "http://[::1]/y");
	CHECK_EQ(http_url_resolve(base, SLICE_LIT("/long/path"), out, 10), DF_ERR);
	CHECK_EQ(http_url_resolve("nope", SLICE_LIT("/x"), out, sizeof out), DF_ERR);
}

/* http_url_redact of a string literal */
static int red(const char *url, const char *drop, char *out, size_t cap)
{
	return http_url_redact(url, strlen(url), drop, out, cap);
}

static void redact(void)
{
	char out[512];
	const char *u = "https://bucket.s3.amazonaws.com/a/b.tar?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F1"
			"&X-Amz-Signature=deadbeef&X-Amz-Security-Token=tok&v=2&mysig=s3cret#frag";
	int n = http_url_redact(u, strlen(u), "mysig", out, sizeof out);
	CHECK_EQ(n, (int)strlen(out));
	CHECK_STR(out, "https://bucket.s3.amazonaws.com/a/b.tar?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED"
		       "&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED&v=2&mysig=REDACTED");
	/* the well-known names in any case; the filter's names exactly; a bare name has no value */
	CHECK(red("http://h/f?SIG=1&Token=2&access_token=3&sig&x=4&X-Goog-Signature=5", NULL, out, sizeof out) > 0);
	CHECK_STR(out, "http://h/f?SIG=REDACTED&Token=REDACTED&access_token=REDACTED&sig&x=4&X-Goog-Signature=REDACTED");
	CHECK(red("http://h/f?x=4&Mysig=1", "mysig", out, sizeof out) > 0);
	CHECK_STR(out, "http://h/f?x=4&Mysig=1");
	/* empty parameters stay as they were */
	CHECK(red("http://h/f?a&&sig=1&", NULL, out, sizeof out) > 0);
	CHECK_STR(out, "http://h/f?a&&sig=REDACTED&");
	/* userinfo */
	CHECK(red("https://user:pw@h:8443/p?q=1", NULL, out, sizeof out) > 0);
	CHECK_STR(out, "https://REDACTED@h:8443/p?q=1");
	/* nothing to redact: as given */
	CHECK(red("HTTP://H/x", NULL, out, sizeof out) > 0);
	CHECK_STR(out, "HTTP://H/x");
	/* not a URL: up to where a secret could start, never a control byte */
	CHECK(red("ftp://u:p@h/x?sig=1", NULL, out, sizeof out) > 0);
	CHECK_STR(out, "ftp://u:p[REDACTED]");
	CHECK(red("a b\nc", NULL, out, sizeof out) > 0);
	CHECK_STR(out, "a[REDACTED]");
	/* the anonymous form drops what redaction hides */
	const char *sg = "https://u:p@h/f?b=1&X-Amz-Signature=x&sig=y&Expires=5&a=2";
	CHECK(http_url_anonymous(sg, strlen(sg), "Expires", out, sizeof out) > 0);
	CHECK_STR(out, "https://h/f?a=2&b=1");
	/* too small: a prefix that stops before the secret */
	CHECK_EQ(red("http://h/f?sig=123456789", NULL, out, 16), DF_ERR);
	CHECK_STR(out, "http://h/f?sig=");
}

static void normalize(void)
{
	char out[256];
	const char *u = "HTTP://User@Example.COM:80/Path/f?z=1&a=2&sig=abc&&m&Expires=5#frag";
	int n = http_url_normalize(u, strlen(u), "sig, Expires", out, sizeof out);
	CHECK(n > 0);
	CHECK_STR(out, "http://example.com/Path/f?a=2&m&z=1");
	CHECK_EQ(n, (int)strlen(out));
	/* the same file named differently normalizes the same */
	char out2[256];
	const char *v = "http://example.com/Path/f?m&sig=zzz&a=2&z=1&Expires=9";
	http_url_normalize(v, strlen(v), "sig,Expires", out2, sizeof out2);
	CHECK_STR(out2, out);
	CHECK(http_url_normalize("https://h:8443?b&a", 18, NULL, out, sizeof out) > 0);
	CHECK_STR(out, "https://h:8443/?a&b");
	CHECK(http_url_normalize("https://[::1]:443/x", 19, NULL, out, sizeof out) > 0);
	CHECK_STR(out, "https://[::1]/x");
	CHECK_EQ(http_url_normalize(u, strlen(u), NULL, out, 20), DF_ERR);
	CHECK_EQ(http_url_normalize("bad", 3, NULL, out, sizeof out), DF_ERR);
	/* too many parameters */
	static char many[4000];
	strcpy(many, "http://h/?");
	for (int i = 0; i < 300; i++)
		strcat(many, "a&");
	CHECK_EQ(http_url_normalize(many, strlen(many), NULL, out, sizeof out), DF_ERR);
}

/* At and past MAX_QUERY_PARAMS (256, docs/LIMITS.md): 256 parameters make a task id, the 257th is
 * refused with an error that names the URL (never cut silently: two URLs that differ only past the
 * 256th parameter would share a task). */
static void query_params_limit(void)
{
	static char url[4096], out[4096];
	size_t n = (size_t)snprintf(url, sizeof url, "http://h/f?");
	for (int i = 0; i < 256; i++)
		n += (size_t)snprintf(url + n, sizeof url - n, "p%d&", i);
	CHECK(n < sizeof url - 8);
	CHECK(http_url_normalize(url, n, NULL, out, sizeof out) > 0);
	char id[TASKID_MAX], err[256];
	CHECK_EQ(swarm_task_id(url, NULL, NULL, id, err, sizeof err), DF_OK);
	/* dropped parameters do not count */
	n += (size_t)snprintf(url + n, sizeof url - n, "sig=1");
	CHECK(http_url_normalize(url, n, "sig", out, sizeof out) > 0);
	CHECK_EQ(http_url_normalize(url, n, NULL, out, sizeof out), DF_ERR);
	CHECK_EQ(swarm_task_id(url, NULL, NULL, id, err, sizeof err), DF_ERR);
	CHECK(strncmp(err, "more than 256 query parameters (the most a task id takes): 'http://h/f?", 71) == 0);
}

static void no_proxy(void)
{
	const char *l = "localhost, .example.com,10.0.0.1:8080 [::1] internal.";
	CHECK(http_no_proxy_match(l, SLICE_LIT("localhost")));
	CHECK(http_no_proxy_match(l, SLICE_LIT("LOCALHOST")));
	CHECK(http_no_proxy_match(l, SLICE_LIT("example.com")));
	CHECK(http_no_proxy_match(l, SLICE_LIT("a.b.example.com")));
	CHECK(!http_no_proxy_match(l, SLICE_LIT("badexample.com")));
	CHECK(http_no_proxy_match(l, SLICE_LIT("10.0.0.1")));
	CHECK(!http_no_proxy_match(l, SLICE_LIT("10.0.0.10")));
	CHECK(http_no_proxy_match(l, SLICE_LIT("::1")));
	CHECK(http_no_proxy_match(l, SLICE_LIT("x.internal")));
	CHECK(http_no_proxy_match(l, SLICE_LIT("example.com.")));
	CHECK(!http_no_proxy_match(l, SLICE_LIT("other.org")));
	CHECK(http_no_proxy_match("*", SLICE_LIT("anything")));
	CHECK(!http_no_proxy_match("", SLICE_LIT("anything")));
	CHECK(!http_no_proxy_match(NULL, SLICE_LIT("anything")));
	CHECK(http_no_proxy_match("::1", SLICE_LIT("::1")));
}

static const struct unit_test tests[] = {
	{"request_basic", request_basic},
	{"request_forms", request_forms},
	{"request_malformed", request_malformed},
	{"response_basic", response_basic},
	{"framing_request", framing_request},
	{"framing_response", framing_response},
	{"tokens", tokens},
	{"chunked_decode", chunked_decode},
	{"chunked_malformed", chunked_malformed},
	{"chunk_line", chunk_line},
	{"ranges", ranges},
	{"content_ranges", content_ranges},
	{"urls", urls},
	{"url_resolve", url_resolve},
	{"normalize", normalize},
	{"query_params_limit", query_params_limit},
	{"redact", redact},
	{"no_proxy", no_proxy},
};
UNIT_MAIN("http_parse", tests)
