/* Fuzz target: Range and Content-Range values; a resolved range must lie inside the representation. */
#include <stdlib.h>

#include "net/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slice v = {(const char *)data, size};
	struct http_range r;
	if (http_range_parse(v, &r) == DF_OK) {
		static const uint64_t sizes[] = {0, 1, 100, 1ull << 40};
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			uint64_t s, e;
			if (http_range_resolve(&r, sizes[i], &s, &e) == DF_OK && (s > e || e >= sizes[i]))
				abort();
		}
	}
	struct http_content_range cr;
	if (http_content_range_parse(v, &cr) == DF_OK && !cr.unsatisfied && cr.start > cr.end)
		abort();
	return 0;
}
