/* Fuzz target: the body of df push --image's POST /v1/blobs as the push receiver takes it
 * (swarm/pushrecv.c on_blobs_body calls pushrecv_parse_blobs before it starts any download). An
 * accepted request has 1 to PUSH_MAX_BLOBS blobs whose URLs lie inside the body, and header lines
 * that each end in CRLF with no other CR or LF. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/pushrecv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pushrecv_blobs rq;
	const char *s = (const char *)data, *why = NULL;
	if (pushrecv_parse_blobs(s, size, &rq, &why) != DF_OK) {
		if (!why || !why[0])
			abort();
		return 0;
	}
	if (rq.n < 1 || rq.n > PUSH_MAX_BLOBS)
		abort();
	for (int i = 0; i < rq.n; i++) {
		struct slice u = rq.blob[i].url;
		if (!u.n || u.p < s || u.p + u.n > s + size || memchr(u.p, '\n', u.n) || memchr(u.p, '\r', u.n))
			abort();
		if (rq.blob[i].digest.len != 32)
			abort();
	}
	size_t hl = strlen(rq.headers);
	for (size_t i = 0; i < hl; i++)
		if ((rq.headers[i] == '\r') != (i + 1 < hl && rq.headers[i + 1] == '\n') || (rq.headers[i] == '\n' && (i == 0 || rq.headers[i - 1] != '\r')))
			abort();
	return 0;
}
