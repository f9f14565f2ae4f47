/* Fuzz target: a supernode's answer to a registration or work request as df's peer reads it
 * (answer_parse, which swarm/peer.c calls on every answer body): each field NUL-terminated inside
 * its buffer, at most ANSWER_MAX_ASSIGN assignments, each address a non-empty slice of the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/df.h"
#include "swarm/answer.h"

static void terminated(const char *s, size_t cap)
{
	if (!memchr(s, 0, cap))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data;
	struct answer a;
	memset(&a, 0xa5, sizeof a); /* what the parser leaves unset shows */
	answer_parse(b, size, &a);
	terminated(a.task, sizeof a.task);
	terminated(a.secret, sizeof a.secret);
	terminated(a.version, sizeof a.version);
	terminated(a.digest, sizeof a.digest);
	terminated(a.error, sizeof a.error);
	terminated(a.piece_key, sizeof a.piece_key);
	if (a.nassign < 0 || a.nassign > ANSWER_MAX_ASSIGN || (a.done != 0 && a.done != 1) || (a.wait != 0 && a.wait != 1))
		abort();
	for (int i = 0; i < a.nassign; i++) {
		struct slice s = a.assign[i].addr;
		if (!s.n || s.p < b || s.p + s.n > b + size)
			abort();
	}
	return 0;
}
