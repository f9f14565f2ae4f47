/* Fuzz target: URL parsing, Location resolution, normalization, redaction and no_proxy matching. The
 * normalized form must parse again and be a fixed point of normalization; a redacted URL redacts to
 * itself. */
#include <stdlib.h>
#include <string.h>

#include "net/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct http_url u;
	const char *err = NULL;
	if (http_url_parse(s, size, &u, &err) != DF_OK) {
		if (!err)
			abort();
	} else {
		if (!u.host.n || u.port == 0)
			abort();
		http_no_proxy_match("localhost,.example.com,[::1]:80,*x", u.host);
	}
	char a[1024], b[1024];
	int n = http_url_normalize(s, size, "sig,x", a, sizeof a);
	if (n >= 0) {
		if (strlen(a) != (size_t)n || http_url_parse(a, (size_t)n, &u, NULL) != DF_OK)
			abort();
		int m = http_url_normalize(a, (size_t)n, "sig,x", b, sizeof b);
		if (m != n || memcmp(a, b, (size_t)n) != 0)
			abort();
		char r[2048];
		int rn = http_url_resolve(a, (struct slice){s, size}, r, sizeof r);
		struct http_url ru;
		if (rn >= 0 && strlen(r) != (size_t)rn)
			abort();
		/* a resolved URL's path has no dot segments left */
		if (rn >= 0 && http_url_parse(r, (size_t)rn, &ru, NULL) == DF_OK) {
			const char *p = ru.path.p, *e = p + ru.path.n;
			for (const char *q = p; q < e; q++)
				if (*q == '/' && q + 1 < e && q[1] == '.' &&
				    (q + 2 == e || q[2] == '/' || (q[2] == '.' && (q + 3 == e || q[3] == '/'))))
					abort();
		}
	}
	/* redaction: NUL-terminated, within the buffer, and no secret value survives: a redacted URL
	 * redacts to itself */
	char red[1024], red2[1024];
	int rn = http_url_redact(s, size, "sig,x", red, sizeof red);
	if (strlen(red) >= sizeof red || (rn >= 0 && strlen(red) != (size_t)rn))
		abort();
	if (rn >= 0) {
		int rm = http_url_redact(red, (size_t)rn, "sig,x", red2, sizeof red2);
		if (rm != rn || memcmp(red, red2, (size_t)rn) != 0)
			abort();
	}
	/* the input as a no_proxy list (needs a NUL-terminated copy) */
	char list[512];
	size_t k = size < sizeof list - 1 ? size : sizeof list - 1;
	memcpy(list, s, k);
	list[k] = 0;
	http_no_proxy_match(list, SLICE_LIT("a.example.com"));
	return 0;
}
