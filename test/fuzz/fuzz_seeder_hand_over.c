/* Fuzz target: the hand-over request a df get sends the store's running seeder over seeder.sock, as
 * swarm/seeder.c's adopt_read and adopt take it: the bytes arrive in chunks (sizes from the first
 * input byte), the request ends at an empty line (hostd_request_end), then seeder_parse_hand_over
 * checks it. An accepted request names the seeder's own configuration, an http(s) url, and an idle
 * time within its bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto.h"
#include "swarm/seeder.h"
#include "test/fuzz/request_chunks.h"

#define FP "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hostd_job_spec spec;
	if (size < 1)
		return 0;
	unsigned seed = data[0];
	const char *in = (const char *)data + 1;
	size_t n = size - 1, end = request_end_in_chunks(in, n, seed);
	const char *why = NULL;
	unsigned long idle = 1;
	if (seeder_parse_hand_over(in, end ? end : n, FP, &spec, &idle, &why) == DF_OK) {
		if (strncmp(spec.url, "http://", 7) != 0 && strncmp(spec.url, "https://", 8) != 0)
			abort();
		if (idle > SEEDER_IDLE_MAX)
			abort();
		struct slice fp;
		if (proto_find(in, end ? end : n, "config", &fp) != DF_OK || !slice_eq(fp, FP))
			abort();
	} else if (!why || !why[0]) {
		abort();
	}
	return 0;
}
