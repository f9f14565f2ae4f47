/* HTTP/1.1 heads: request and status lines, header fields, and the framing rules of RFC 9112 that
 * decide where a body ends. Line by line over the caller's buffer; strict where smuggling lurks. */
#include <string.h>

#include "net/http_parse.h"

static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1,
	['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1, ['0'] = 1,  ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1,  ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
	['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,  ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1,
	['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,  ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,
	['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,  ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,  ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1,
	['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,  ['z'] = 1,
};

/* A line of the head: [p, p+n) without its line end; *next is where the following line starts.
 * DF_AGAIN when no LF is in sight; DF_ERR for a CR that is not right before the LF. */
static int next_line(const char *buf, size_t len, size_t at, struct slice *line, size_t *next)
{
	const char *lf = memchr(buf + at, '\n', len - at);
	if (!lf)
		return DF_AGAIN;
	size_t end = (size_t)(lf - buf);
	size_t n = end - at;
	if (n && buf[end - 1] == '\r')
		n--;
	*line = (struct slice){buf + at, n};
	*next = end + 1;
	return DF_OK;
}

static int fail(struct http_head *h, const char *why, int status)
{
	h->err = why;
	h->err_status = status;
	return DF_ERR;
}

/* "HTTP/1.x" -> minor; DF_ERR with a 505 for other versions, 400 for garbage. */
static int parse_version(struct slice v, struct http_head *h)
{
	if (v.n != 8 || memcmp(v.p, DF_LIT("HTTP/")) != 0 || v.p[6] != '.' || v.p[5] < '0' || v.p[5] > '9' ||
	    v.p[7] < '0' || v.p[7] > '9')
		return fail(h, "malformed HTTP version", 400);
	if (v.p[5] != '1')
		return fail(h, "unsupported HTTP version", 505);
	h->minor = v.p[7] - '0';
	return DF_OK;
}

static int parse_request_line(struct slice l, struct http_head *h)
{
	size_t i = 0;
	while (i < l.n && tchar[(unsigned char)l.p[i]])
		i++;
	if (i == 0 || i >= l.n || l.p[i] != ' ')
		return fail(h, "malformed request line", 400);
	h->method = (struct slice){l.p, i};
	size_t t0 = ++i;
	while (i < l.n && (unsigned char)l.p[i] > ' ' && l.p[i] != 0x7f)
		i++;
	if (i == t0 || i >= l.n || l.p[i] != ' ')
		return fail(h, "malformed request line", 400);
	h->target = (struct slice){l.p + t0, i - t0};
	if (parse_version((struct slice){l.p + i + 1, l.n - i - 1}, h) != DF_OK)
		return DF_ERR;
	h->path = h->target;
	h->query = (struct slice){h->target.p + h->target.n, 0};
	if (h->target.p[0] == '/') {
		const char *q = memchr(h->target.p, '?', h->target.n);
		if (q) {
			h->path.n = (size_t)(q - h->target.p);
			h->query = (struct slice){q + 1, h->target.n - h->path.n - 1};
		}
	}
	return DF_OK;
}

static int parse_status_line(struct slice l, struct http_head *h)
{
	if (l.n < 12 || parse_version((struct slice){l.p, 8}, h) != DF_OK || l.p[8] != ' ')
		return fail(h, "malformed status line", 0);
	int st = 0;
	for (int i = 9; i < 12; i++) {
		if (l.p[i] < '0' || l.p[i] > '9')
			return fail(h, "malformed status line", 0);
		st = st * 10 + (l.p[i] - '0');
	}
	if (st < 100)
		return fail(h, "malformed status line", 0);
	if (l.n > 12 && l.p[12] != ' ')
		return fail(h, "malformed status line", 0);
	h->status = st;
	h->reason = l.n > 13 ? (struct slice){l.p + 13, l.n - 13} : (struct slice){l.p + l.n, 0};
	for (size_t i = 0; i < h->reason.n; i++) {
		unsigned char c = (unsigned char)h->reason.p[i];
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return fail(h, "malformed status line", 0);
	}
	return DF_OK;
}

static int parse_header(struct slice l, struct http_header *out, struct http_head *h)
{
	size_t i = 0;
	while (i < l.n && tchar[(unsigned char)l.p[i]])
		i++;
	if (i == 0 || i >= l.n || l.p[i] != ':') {
		/* also catches obs-fold (a line starting with SP/HT) and "Name :" (RFC 9112 5.1: reject) */
		return fail(h, "malformed header line", 400);
	}
	out->name = (struct slice){l.p, i};
	size_t v = i + 1, e = l.n;
	while (v < e && (l.p[v] == ' ' || l.p[v] == '\t'))
		v++;
	while (e > v && (l.p[e - 1] == ' ' || l.p[e - 1] == '\t'))
		e--;
	for (size_t k = v; k < e; k++) {
		unsigned char c = (unsigned char)l.p[k];
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return fail(h, "control character in header value", 400);
	}
	out->value = (struct slice){l.p + v, e - v};
	return DF_OK;
}

static int parse_head(const char *buf, size_t len, struct http_head *h, struct http_header *hdrs, size_t max,
		      int request)
{
	memset(h, 0, sizeof *h);
	h->headers = hdrs;
	size_t at = 0, next;
	struct slice l;
	int rc;
	for (;;) {
		if ((rc = next_line(buf, len, at, &l, &next)) != DF_OK)
			goto partial;
		if (l.n || !request)
			break;
		at = next; /* a request may follow stray empty lines */
	}
	if (memchr(l.p, '\r', l.n) || memchr(l.p, 0, l.n))
		return fail(h, request ? "malformed request line" : "malformed status line", 400);
	if ((request ? parse_request_line(l, h) : parse_status_line(l, h)) != DF_OK)
		return DF_ERR;
	for (at = next;;) {
		if ((rc = next_line(buf, len, at, &l, &next)) != DF_OK)
			goto partial;
		at = next;
		if (!l.n)
			return (int)at;
		if (memchr(l.p, '\r', l.n))
			return fail(h, "stray CR in header line", 400);
		if (h->nheaders == max)
			return fail(h, "too many header fields", 431);
		if (parse_header(l, &hdrs[h->nheaders], h) != DF_OK)
			return DF_ERR;
		h->nheaders++;
	}
partial:
	/* a NUL can never become valid: say so now instead of waiting for a line end */
	if (memchr(buf + at, 0, len - at))
		return fail(h, "NUL byte in head", 400);
	return DF_AGAIN;
}

int http_parse_request(const char *buf, size_t len, struct http_head *h, struct http_header *hdrs, size_t max_headers)
{
	return parse_head(buf, len, h, hdrs, max_headers, 1);
}

int http_parse_response(const char *buf, size_t len, struct http_head *h, struct http_header *hdrs, size_t max_headers)
{
	return parse_head(buf, len, h, hdrs, max_headers, 0);
}

struct slice http_header_get(const struct http_header *hdrs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (slice_caseeq(hdrs[i].name, name))
			return hdrs[i].value;
	return (struct slice){NULL, 0};
}

/* Calls back for each element of a comma list, trimmed; stops when fn returns non-zero. */
static int each_element(struct slice v, int (*fn)(struct slice e, const void *arg), const void *arg)
{
	size_t i = 0;
	while (i < v.n) {
		size_t s = i;
		while (i < v.n && v.p[i] != ',')
			i++;
		size_t e = i;
		while (s < e && (v.p[s] == ' ' || v.p[s] == '\t'))
			s++;
		while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
			e--;
		int r = fn((struct slice){v.p + s, e - s}, arg);
		if (r)
			return r;
		i++;
	}
	return 0;
}

static int element_is(struct slice e, const void *token)
{
	return slice_caseeq(e, token);
}

int http_token_in_list(struct slice value, const char *token)
{
	return value.p ? each_element(value, element_is, token) : 0;
}

/* Content-Length: digits, or a list of identical digit strings ("5, 5"); DF_ERR otherwise. */
static int content_length(const struct http_head *h, int64_t *out)
{
	*out = -1;
	for (size_t k = 0; k < h->nheaders; k++) {
		if (!slice_caseeq(h->headers[k].name, "content-length"))
			continue;
		struct slice v = h->headers[k].value;
		size_t i = 0;
		while (i <= v.n) {
			size_t s = i;
			while (i < v.n && v.p[i] != ',')
				i++;
			size_t e = i;
			while (s < e && v.p[s] == ' ')
				s++;
			while (e > s && v.p[e - 1] == ' ')
				e--;
			if (s == e || e - s > 18)
				return DF_ERR;
			int64_t n = 0;
			for (size_t j = s; j < e; j++) {
				if (v.p[j] < '0' || v.p[j] > '9')
					return DF_ERR;
				n = n * 10 + (v.p[j] - '0');
			}
			if (*out >= 0 && *out != n)
				return DF_ERR;
			*out = n;
			i++;
		}
	}
	return DF_OK;
}

/* Whether the last coding of every Transfer-Encoding field is "chunked"; *present when any exists. */
static int last_coding_chunked(const struct http_head *h, int *present)
{
	int chunked = 0;
	*present = 0;
	for (size_t k = 0; k < h->nheaders; k++) {
		if (!slice_caseeq(h->headers[k].name, "transfer-encoding"))
			continue;
		*present = 1;
		struct slice v = h->headers[k].value;
		size_t e = v.n;
		while (e > 0 && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
			e--;
		size_t s = e;
		while (s > 0 && v.p[s - 1] != ',' && v.p[s - 1] != ' ' && v.p[s - 1] != '\t')
			s--;
		chunked = slice_caseeq((struct slice){v.p + s, e - s}, "chunked");
	}
	return chunked;
}

static int keep_alive(const struct http_head *h)
{
	struct slice c = http_header_get(h->headers, h->nheaders, "connection");
	if (http_token_in_list(c, "close"))
		return 0;
	return h->minor >= 1 || http_token_in_list(c, "keep-alive");
}

int http_request_framing(struct http_head *h, struct http_framing *f)
{
	memset(f, 0, sizeof *f);
	f->keep_alive = keep_alive(h);
	f->expect_continue = http_token_in_list(http_header_get(h->headers, h->nheaders, "expect"), "100-continue");
	int te;
	f->chunked = last_coding_chunked(h, &te);
	if (content_length(h, &f->content_length) != DF_OK)
		return fail(h, "bad Content-Length", 400);
	if (te && f->content_length >= 0)
		return fail(h, "both Content-Length and Transfer-Encoding", 400);
	if (te && !f->chunked)
		return fail(h, "unsupported Transfer-Encoding", 501);
	if (!te && f->content_length < 0)
		f->content_length = 0;
	f->no_body = !f->chunked && f->content_length == 0;
	return DF_OK;
}

int http_response_framing(struct http_head *h, struct slice method, struct http_framing *f)
{
	memset(f, 0, sizeof *f);
	f->keep_alive = keep_alive(h);
	if (content_length(h, &f->content_length) != DF_OK)
		return fail(h, "bad Content-Length", 0);
	if (slice_eq(method, "HEAD") || h->status < 200 || h->status == 204 || h->status == 304) {
		f->no_body = 1;
		return DF_OK;
	}
	int te;
	f->chunked = last_coding_chunked(h, &te);
	if (te) {
		f->content_length = -1; /* RFC 9112 6.3: Transfer-Encoding overrides */
		if (!f->chunked) {
			f->until_close = 1;
			f->keep_alive = 0;
		}
	} else if (f->content_length < 0) {
		f->until_close = 1;
		f->keep_alive = 0;
	}
	f->no_body = f->content_length == 0;
	return DF_OK;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	case 508: return "Loop Detected";
	default: return "Unknown";
	}
}
