/* Fuzz target: df proxy's manifest copy files read back from the store (swarm/mancache.c
 * mancache_parse, mancache_parse_tag): any bytes parse without a fault, and what they give lies in
 * the input and keeps the format's promises. */
#include <stdlib.h>
#include <string.h>

#include "core/df.h"
#include "swarm/mancache.h"
#include "swarm/registry_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct slice t, b;
	if (mancache_parse(buf, size, &t, &b) == DF_OK) {
		if (!t.n || t.n > MANCACHE_TYPE_MAX || t.p < buf || b.p + b.n != buf + size || memchr(t.p, '\n', t.n))
			abort();
	}
	char d[72];
	if (mancache_parse_tag(buf, size, d) == DF_OK && (strlen(d) != 71 || !registry_digest_sha256(slice_of(d))))
		abort();
	return 0;
}
