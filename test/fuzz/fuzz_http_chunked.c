/* Fuzz target: the chunked decoder fed the input whole and in two pieces cut where the first byte
 * says; both feeds must agree on the body, the bytes consumed and the outcome. */
#include <stdlib.h>
#include <string.h>

#include "net/http_parse.h"

/* Decodes in the given pieces; returns the outcome and fills a running hash of the body. */
static int decode(const char *p, size_t n, size_t cut, uint64_t *hash, size_t *body, size_t *used)
{
	struct http_chunked c;
	http_chunked_init(&c);
	size_t at = 0;
	*hash = 1469598103934665603ull;
	*body = 0;
	for (int part = 0; part < 2 && !c.done; part++) {
		size_t end = part == 0 ? cut : n;
		while (at < end && !c.done) {
			struct slice d;
			ssize_t r = http_chunked_decode(&c, p + at, end - at, &d);
			if (r < 0) {
				if (!c.err)
					abort();
				*used = at;
				return DF_ERR;
			}
			if (r == 0 || (size_t)r > end - at || (d.n && d.p + d.n != p + at + r))
				abort();
			for (size_t i = 0; i < d.n; i++)
				*hash = (*hash ^ (uint8_t)d.p[i]) * 1099511628211ull;
			*body += d.n;
			at += (size_t)r;
		}
	}
	*used = at;
	return c.done ? DF_OK : DF_AGAIN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	size_t cut = n ? data[0] % (n + 1) : 0;
	uint64_t h1, h2;
	size_t b1, b2, u1, u2;
	int r1 = decode(p, n, n, &h1, &b1, &u1);
	int r2 = decode(p, n, cut, &h2, &b2, &u2);
	if (r1 != r2)
		abort();
	if (r1 != DF_ERR && (h1 != h2 || b1 != b2 || u1 != u2))
		abort();
	return 0;
}
