/* A supernode's answer to a registration or work request, parsed into struct answer (answer.h):
 * "key: value" lines through core/proto.c; nothing here acts on them. */
#include "swarm/answer.h"

#include <string.h>

#include "core/slice.h"

void answer_parse(const char *body, size_t len, struct answer *a)
{
	size_t pos = 0;
	struct proto_line l;
	memset(a, 0, sizeof *a);
	a->peer = -1;
	a->length = -2;
	while (proto_next(body, len, &pos, &l) == DF_OK) {
		if (slice_eq(l.key, "task"))
			slice_copy(l.val, a->task, sizeof a->task);
		else if (slice_eq(l.key, "peer"))
			proto_i64(l.val, &a->peer);
		else if (slice_eq(l.key, "secret"))
			slice_copy(l.val, a->secret, sizeof a->secret);
		else if (slice_eq(l.key, "length"))
			proto_i64(l.val, &a->length);
		else if (slice_eq(l.key, "piece-size"))
			proto_u64(l.val, &a->piece_size);
		else if (slice_eq(l.key, "version"))
			slice_copy(l.val, a->version, sizeof a->version);
		else if (slice_eq(l.key, "digest"))
			slice_copy(l.val, a->digest, sizeof a->digest);
		else if (slice_eq(l.key, "error"))
			slice_copy(l.val, a->error, sizeof a->error);
		else if (slice_eq(l.key, "piece-key"))
			slice_copy(l.val, a->piece_key, sizeof a->piece_key);
		else if (slice_eq(l.key, "done"))
			a->done = 1;
		else if (slice_eq(l.key, "wait"))
			a->wait = 1;
		else if (slice_eq(l.key, "assign") && a->nassign < ANSWER_MAX_ASSIGN &&
			 proto_parse_assign(l.val, &a->assign[a->nassign]) == DF_OK)
			a->nassign++;
	}
}
