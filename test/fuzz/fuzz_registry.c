/* Fuzz target: df proxy's pure parsers. The input is tried as a request path, as an upstream spec,
 * as a hand-off request and as a request head whose path, query and headers go through the mirror's
 * parsers; slices must stay inside the input and lengths must match what was written. */
#include <stdlib.h>
#include <string.h>

#include "swarm/hostd.h"
#include "swarm/registry_parse.h"

static void inside(struct slice s, const char *p, size_t n)
{
	if (s.n && (s.p < p || s.p + s.n > p + n))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct registry_path rp;
	enum registry_kind k = registry_parse_path((struct slice){s, size}, &rp);
	if (k != rp.kind)
		abort();
	if (k == REG_MANIFEST || k == REG_BLOB) {
		if (!rp.name.n || !rp.ref.n)
			abort();
		inside(rp.name, s, size);
		inside(rp.ref, s, size);
		if (rp.sha256 && (k != REG_BLOB || rp.ref.n != 71))
			abort();
	}
	struct registry_upstream u;
	const char *why = NULL;
	if (registry_upstream_parse(s, size, &u, &why) == DF_OK) {
		if (!u.name[0] || strncmp(u.url, "http", 4) != 0)
			abort();
		registry_upstream_match(&u, u.name);
		char ih[300];
		registry_upstream_image_host(&u, ih, sizeof ih);
		if (!ih[0])
			abort();
	} else if (!why) {
		abort();
	}
	struct hostd_request hr;
	why = NULL;
	if (hostd_parse_request(s, size, &hr, &why) == DF_OK) {
		inside(hr.url, s, size);
		inside(hr.output, s, size);
		if (hr.nheaders > HOSTD_MAX_HEADERS)
			abort();
	} else if (!why) {
		abort();
	}
	struct http_head h;
	struct http_header hdrs[32];
	if (http_parse_request(s, size, &h, hdrs, 32) > 0) {
		char ns[256], q[1024], out[4096];
		registry_parse_path(h.path, &rp);
		if (registry_query_ns(h.query, ns, sizeof ns) == DF_OK && strlen(ns) == 0)
			abort();
		int n = registry_query_strip_ns(h.query, q, sizeof q);
		if (n >= 0 && (size_t)n != strlen(q))
			abort();
		n = registry_request_headers(&h, 0, out, sizeof out);
		if (n >= 0 && (size_t)n != strlen(out))
			abort();
		n = registry_request_headers(&h, 1, out, sizeof out);
		if (n >= 0 && (size_t)n != strlen(out))
			abort();
		size_t m = registry_response_headers(h.headers, h.nheaders, out, sizeof out);
		if (m != strlen(out))
			abort();
	}
	return 0;
}
