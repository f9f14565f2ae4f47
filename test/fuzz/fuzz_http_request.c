/* Fuzz target: the server's view of a request: head, framing, Range, then the rest as a chunked
 * body. Checks that every slice stays inside the input and lengths add up. */
#include <stdlib.h>

#include "net/http_parse.h"

static void inside(const uint8_t *d, size_t n, struct slice s)
{
	if (s.n && (s.p < (const char *)d || s.p + s.n > (const char *)d + n))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_header hdrs[32];
	struct http_head h;
	int rc = http_parse_request((const char *)data, size, &h, hdrs, size % 2 ? 32 : 4);
	if (rc == DF_ERR && (!h.err || h.err_status < 400))
		abort();
	if (rc < 0)
		return 0;
	if ((size_t)rc > size)
		abort();
	inside(data, size, h.method);
	inside(data, size, h.target);
	inside(data, size, h.path);
	inside(data, size, h.query);
	for (size_t i = 0; i < h.nheaders; i++) {
		inside(data, size, hdrs[i].name);
		inside(data, size, hdrs[i].value);
	}
	struct http_framing f;
	if (http_request_framing(&h, &f) != DF_OK)
		return 0;
	struct slice r = http_header_get(hdrs, h.nheaders, "range");
	struct http_range rg;
	if (r.p && http_range_parse(r, &rg) == DF_OK) {
		uint64_t s, e;
		if (http_range_resolve(&rg, size, &s, &e) == DF_OK && (s > e || e >= size))
			abort();
	}
	if (f.chunked) {
		struct http_chunked c;
		http_chunked_init(&c);
		const char *p = (const char *)data + rc;
		size_t left = size - (size_t)rc;
		while (left && !c.done) {
			struct slice d;
			ssize_t n = http_chunked_decode(&c, p, left, &d);
			if (n < 0)
				break;
			if (n == 0 || (size_t)n > left || (d.n && d.p + d.n != p + n))
				abort();
			p += n;
			left -= (size_t)n;
		}
	}
	return 0;
}
