/* Per-piece checksums for assignments: xxh3 straight from the store's metadata, SHA-256 from a growable
 * in-memory table filled by the source and, for pieces it never saw, by hashing the store's copy once. */
#include "swarm/piecesum.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/bitmap.h"
#include "core/df.h"

void piecesum_init(struct piecesum *ps, enum digest_piece_algo algo)
{
	memset(ps, 0, sizeof *ps);
	ps->algo = algo;
}

void piecesum_free(struct piecesum *ps)
{
	free(ps->sha);
	free(ps->known);
	piecesum_init(ps, ps->algo);
}

static int reserve(struct piecesum *ps, uint32_t n)
{
	if (n < ps->cap)
		return DF_OK;
	uint64_t cap = ps->cap ? ps->cap : 256;
	while (cap <= n)
		cap *= 2;
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	uint8_t(*sha)[DIGEST_SHA256_LEN] = realloc(ps->sha, (size_t)cap * DIGEST_SHA256_LEN);
	if (!sha)
		return DF_ERR;
	ps->sha = sha;
	size_t old = ((size_t)ps->cap + 7) / 8, now = ((size_t)cap + 7) / 8;
	uint8_t *known = realloc(ps->known, now);
	if (!known)
		return DF_ERR;
	memset(known + old, 0, now - old);
	ps->known = known;
	ps->cap = (uint32_t)cap;
	return DF_OK;
}

int piecesum_put(struct piecesum *ps, uint32_t n, const uint8_t sha[DIGEST_SHA256_LEN])
{
	if (ps->algo != DIGEST_PIECE_SHA256)
		return DF_OK;
	if (reserve(ps, n) != DF_OK) {
		errno = ENOMEM;
		return DF_ERR;
	}
	memcpy(ps->sha[n], sha, DIGEST_SHA256_LEN);
	bitmap_set(ps->known, n);
	return DF_OK;
}

int piecesum_hash_stored(struct store_task *st, uint32_t n, uint8_t out[DIGEST_SHA256_LEN], char *err, size_t errlen)
{
	static char buf[1 << 16];
	br_sha256_context c;
	uint32_t len = store_task_piece_len(st, n);
	if (store_task_piece_count(st) == 0) /* length unknown: present pieces so far are whole */
		len = store_task_piece_size(st);
	br_sha256_init(&c);
	for (uint32_t off = 0; off < len; off += sizeof buf) {
		uint32_t k = DF_MIN(len - off, (uint32_t)sizeof buf);
		if (store_piece_read(st, n, off, buf, k, err, errlen) != DF_OK)
			return DF_ERR;
		digest_sha256_update(&c, buf, k);
	}
	br_sha256_out(&c, out);
	return DF_OK;
}

int piecesum_get(struct piecesum *ps, struct store_task *st, uint32_t n, struct digest_piece_sum *out, char *err,
		 size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->algo = ps->algo;
	/* a detached task (its files evicted while peers hold it) still has every checksum: xxh3 in the
	 * store's description, SHA-256 here (piecesum_all_known was asked before it let go) */
	int detached = store_task_detached(st);
	if (!store_task_has(st, n) && !detached)
		goto absent;
	if (ps->algo == DIGEST_PIECE_XXH3)
		return store_task_sum(st, n, out->bytes) == DF_OK ? DF_OK : DF_ERR;
	if (n < ps->cap && bitmap_get(ps->known, n)) {
		memcpy(out->bytes, ps->sha[n], DIGEST_SHA256_LEN);
		return DF_OK;
	}
	if (detached)
		goto absent;
	if (piecesum_hash_stored(st, n, out->bytes, err, errlen) != DF_OK)
		return DF_ERR;
	ps->rehashed++;
	piecesum_put(ps, n, out->bytes); /* out of memory: hashed again next time, still correct */
	return DF_OK;
absent:
	errno = ENOENT;
	if (errlen)
		err[0] = 0;
	return DF_ERR;
}

int piecesum_all_known(const struct piecesum *ps, uint32_t npieces)
{
	if (ps->algo == DIGEST_PIECE_XXH3)
		return 1;
	for (uint32_t n = 0; n < npieces; n++)
		if (n >= ps->cap || !bitmap_get(ps->known, n))
			return 0;
	return 1;
}
