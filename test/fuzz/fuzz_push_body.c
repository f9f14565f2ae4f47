/* Fuzz target: the body of df push's POST /v1/push as the push receiver's handler takes it
 * (swarm/pushrecv.c on_body calls pushrecv_parse_request before it touches the disk or the swarm).
 * Whatever the bytes, the parse ends; an accepted request has a url, a whole-file digest, a mode
 * of at most 07777 and NUL-terminated strings inside their buffers; a refused one says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/pushrecv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pushrecv_request rq;
	const char *why = NULL;
	if (pushrecv_parse_request((const char *)data, size, &rq, &why) == DF_OK) {
		if (!rq.url[0] || memchr(rq.url, 0, sizeof rq.url) == NULL || memchr(rq.dest, 0, sizeof rq.dest) == NULL)
			abort();
		if (rq.mode > 07777 || rq.digest.len == 0 || rq.digest.len > sizeof rq.digest.bytes)
			abort();
		if (strpbrk(rq.url, "\r\n") || strpbrk(rq.dest, "\n"))
			abort(); /* a line's value never spans lines */
	} else if (!why || !why[0]) {
		abort();
	}
	return 0;
}
