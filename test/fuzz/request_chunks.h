/* For the fuzz targets of unix-socket requests (hand-off, seeder hand-over): where a request ends
 * when its bytes arrive in chunks of 1..16 bytes (sizes from seed), as recv() may hand them over. */
#ifndef DF_FUZZ_REQUEST_CHUNKS_H
#define DF_FUZZ_REQUEST_CHUNKS_H

#include <stddef.h>

#include "swarm/hostd.h"

static inline size_t request_end_in_chunks(const char *in, size_t n, unsigned seed)
{
	size_t have = 0, end = 0;
	while (have < n && !end) {
		size_t was = have;
		size_t step = 1 + (seed = seed * 1103515245u + 12345u) % 16;
		have = have + step < n ? have + step : n;
		end = hostd_request_end(in, have, was);
	}
	return end;
}

#endif
