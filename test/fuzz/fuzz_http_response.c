/* Fuzz target: the client's view of a response: status line, headers, framing for GET and HEAD,
 * Content-Range. Checks that every slice stays inside the input. */
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
	int rc = http_parse_response((const char *)data, size, &h, hdrs, 32);
	if (rc == DF_ERR && !h.err)
		abort();
	if (rc < 0)
		return 0;
	if ((size_t)rc > size || h.status < 100 || h.status > 999)
		abort();
	inside(data, size, h.reason);
	for (size_t i = 0; i < h.nheaders; i++) {
		inside(data, size, hdrs[i].name);
		inside(data, size, hdrs[i].value);
	}
	struct http_framing f;
	if (http_response_framing(&h, SLICE_LIT("HEAD"), &f) == DF_OK && !f.no_body)
		abort();
	if (http_response_framing(&h, SLICE_LIT("GET"), &f) == DF_OK && f.chunked && f.content_length != -1)
		abort();
	struct slice cr = http_header_get(hdrs, h.nheaders, "content-range");
	struct http_content_range c;
	if (cr.p && http_content_range_parse(cr, &c) == DF_OK && !c.unsatisfied &&
	    (c.start > c.end || (c.total >= 0 && c.end >= (uint64_t)c.total)))
		abort();
	return 0;
}
