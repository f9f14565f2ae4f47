/* Fuzz target: the hand-off request df get sends df proxy over its unix socket, as swarm/hostd.c's
 * job_read and job_start take it: the bytes arrive in chunks (sizes from the first input byte), the
 * request ends at an empty line (hostd_request_end, which must find the same end however the bytes
 * were cut), then hostd_prepare checks and copies it. An accepted request has an http(s) url, an
 * absolute output path and header lines that cannot smuggle a line of their own into the source
 * request. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/hostd.h"
#include "test/fuzz/request_chunks.h"

static void check_spec(const struct hostd_job_spec *s)
{
	if (strncmp(s->url, "http://", 7) != 0 && strncmp(s->url, "https://", 8) != 0)
		abort();
	if (s->output[0] != '/' || strpbrk(s->url, "\r\n") || strpbrk(s->output, "\r\n"))
		abort();
	if (strlen(s->headers) != s->headers_len)
		abort();
	for (size_t i = 0; i < s->headers_len; i++) {
		/* every line ends "\r\n"; no bare CR or LF inside a line */
		if (s->headers[i] == '\r' && s->headers[i + 1] != '\n')
			abort();
		if (s->headers[i] == '\n' && (i == 0 || s->headers[i - 1] != '\r'))
			abort();
	}
	if (s->headers_len && (s->headers_len < 2 || strcmp(s->headers + s->headers_len - 2, "\r\n") != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hostd_job_spec spec;
	if (size < 1)
		return 0;
	unsigned seed = data[0];
	const char *in = (const char *)data + 1;
	size_t n = size - 1;
	size_t whole = hostd_request_end(in, n, 0);
	size_t end = request_end_in_chunks(in, n, seed); /* the same bytes as recv() may hand them over */
	if (end != whole || end > n)
		abort();
	const char *why = NULL;
	if (hostd_prepare(in, end ? end : n, &spec, &why) == DF_OK)
		check_spec(&spec);
	else if (!why || !why[0])
		abort();
	return 0;
}
