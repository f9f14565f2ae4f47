/* A supernode's answer to a registration or work request, parsed: the pure half of what df's peer
 * does with it (swarm/peer.c acts on the result). Every byte of it comes from the network. */
#ifndef DF_SWARM_ANSWER_H
#define DF_SWARM_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "core/proto.h"
#include "core/taskid.h"
#include "swarm/pieceserve.h"

#define ANSWER_MAX_ASSIGN 64 /* assign lines taken from one answer; more are skipped */

struct answer {
	char task[TASKID_MAX];
	int64_t peer, length; /* -1 and -2 when the answer has none */
	uint64_t piece_size;
	char secret[PROTO_SECRET_HEX + 1];
	char version[400], digest[80], error[512], piece_key[PIECE_KEY_HEX + 1];
	int done, wait;
	struct proto_assign assign[ANSWER_MAX_ASSIGN]; /* addresses point into the body */
	int nassign;
};

/* Parses body[0..len) into a (zeroed first). Unknown keys and lines that do not parse are skipped
 * (each value is checked where it is used); a value too long for its field leaves it as it was. */
void answer_parse(const char *body, size_t len, struct answer *a);

#endif
