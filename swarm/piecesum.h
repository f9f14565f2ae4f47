/* The per-piece checksums a supernode hands out in assignments: the store's own xxh3-128, or SHA-256
 * ([security] piece_digest = sha256) kept in memory, 32 bytes a piece, for clusters with untrusted hosts. */
#ifndef DF_SWARM_PIECESUM_H
#define DF_SWARM_PIECESUM_H

#include <stdint.h>

#include "core/digest.h"
#include "store/store.h"

/* Embedded in the task that uses it. With SHA-256, sums come from the source's bytes as they land
 * (piecesum_put); a piece the store already held (a supernode restart, a resumed task) is hashed
 * from the store the first time it is asked for, so nothing has to survive a restart. */
struct piecesum {
	enum digest_piece_algo algo;
	uint8_t (*sha)[DIGEST_SHA256_LEN]; /* indexed by piece; grown as pieces arrive */
	uint8_t *known;                    /* bit n: sha[n] is set */
	uint32_t cap;
	uint64_t rehashed; /* pieces hashed from the store (for status) */
};

void piecesum_init(struct piecesum *ps, enum digest_piece_algo algo);
/* Frees the sums; the struct may be init'ed again (a new version of the task starts over). */
void piecesum_free(struct piecesum *ps);
/* Records piece n's SHA-256 (ignored with xxh3). DF_OK, or DF_ERR (ENOMEM): the piece is then
 * hashed from the store when asked for. */
int piecesum_put(struct piecesum *ps, uint32_t n, const uint8_t sha[DIGEST_SHA256_LEN]);
/* The checksum of present piece n of st (any piece of a detached st) into out, in ps's algorithm.
 * DF_OK, or DF_ERR with errno ENOENT when the store lacks the piece (the supernode cannot vouch for it) or a read error with
 * the cause in err. May read the piece from the store (up to its size in CPU, once per piece). */
int piecesum_get(struct piecesum *ps, struct store_task *st, uint32_t n, struct digest_piece_sum *out, char *err,
		 size_t errlen);

/* 1 when every piece of [0, npieces) has its checksum without reading the store (always with xxh3,
 * whose sums the store task keeps; with SHA-256 only when each is in memory), so the store's copy
 * may go (store_task_detach) while piecesum_get still vouches for the pieces; else 0. */
int piecesum_all_known(const struct piecesum *ps, uint32_t npieces);

/* SHA-256 of present piece n of st, read back from the store. DF_OK, or DF_ERR with err set. */
int piecesum_hash_stored(struct store_task *st, uint32_t n, uint8_t out[DIGEST_SHA256_LEN], char *err, size_t errlen);

#endif
