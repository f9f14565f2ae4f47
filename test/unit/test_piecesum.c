/* Unit tests of swarm/piecesum: the checksums a supernode vouches for, from the store (xxh3) or
 * memory (SHA-256), and after the store let go of the task's files (store_task_detach). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/df.h"
#include "swarm/piecesum.h"
#include "test/unit/unit.h"

static char err[512];

/* A complete task of 3 pieces (4096, 4096, 1000 bytes), piece n filled with 'a' + n. */
static struct store_task *task_of(struct store *s, const char *id)
{
	static char buf[4096];
	struct store_task_info info = {.length = 2 * 4096 + 1000, .piece_size = 4096, .url = "http://x/y"};
	struct store_task *t = store_task_open(s, id, &info, STORE_CREATE, err, sizeof err);
	CHECK(t != NULL);
	for (uint32_t n = 0; t && n < 3; n++) {
		memset(buf, 'a' + (int)n, sizeof buf);
		CHECK_EQ(store_piece_write(t, n, buf, store_task_piece_len(t, n), NULL, err, sizeof err), DF_OK);
	}
	return t;
}

static struct store *store_in(const char *name)
{
	char root[1024];
	snprintf(root, sizeof root, "%s/%s", unit_tmpdir(), name);
	struct store *s = store_open(root, err, sizeof err);
	CHECK(s != NULL);
	return s;
}

static void xxh3_detached(void)
{
	struct store *s = store_in("x");
	struct store_task *t = task_of(s, "aa");
	struct piecesum ps;
	struct digest_piece_sum before[3], after;
	if (!t)
		return;
	piecesum_init(&ps, DIGEST_PIECE_XXH3);
	CHECK(piecesum_all_known(&ps, 3)); /* the store task keeps xxh3 sums */
	for (uint32_t n = 0; n < 3; n++)
		CHECK_EQ(piecesum_get(&ps, t, n, &before[n], err, sizeof err), DF_OK);
	CHECK_EQ(store_task_detach(t, err, sizeof err), DF_OK);
	for (uint32_t n = 0; n < 3; n++) {
		CHECK_EQ(piecesum_get(&ps, t, n, &after, err, sizeof err), DF_OK);
		CHECK(memcmp(after.bytes, before[n].bytes, sizeof after.bytes) == 0);
	}
	CHECK_EQ(piecesum_get(&ps, t, 3, &after, err, sizeof err), DF_ERR); /* past the end */
	CHECK_EQ(errno, ENOENT);
	piecesum_free(&ps);
	store_task_close(t);
	store_close(s);
}

static void sha256_detached(void)
{
	struct store *s = store_in("s");
	struct store_task *t = task_of(s, "bb");
	struct piecesum ps;
	struct digest_piece_sum got;
	uint8_t want[2][DIGEST_SHA256_LEN];
	if (!t)
		return;
	piecesum_init(&ps, DIGEST_PIECE_SHA256);
	CHECK(!piecesum_all_known(&ps, 3));
	/* piece 0 as the source's bytes gave it; piece 1 hashed from the store when first asked */
	CHECK_EQ(piecesum_hash_stored(t, 0, want[0], err, sizeof err), DF_OK);
	CHECK_EQ(piecesum_put(&ps, 0, want[0]), DF_OK);
	CHECK_EQ(piecesum_get(&ps, t, 1, &got, err, sizeof err), DF_OK);
	memcpy(want[1], got.bytes, DIGEST_SHA256_LEN);
	CHECK_EQ(ps.rehashed, 1);
	CHECK(!piecesum_all_known(&ps, 3)); /* piece 2 only in the store */
	CHECK(piecesum_all_known(&ps, 2));
	/* without its files, the sums in memory still vouch; the one never hashed cannot be */
	CHECK_EQ(store_task_detach(t, err, sizeof err), DF_OK);
	for (uint32_t n = 0; n < 2; n++) {
		CHECK_EQ(piecesum_get(&ps, t, n, &got, err, sizeof err), DF_OK);
		CHECK(memcmp(got.bytes, want[n], DIGEST_SHA256_LEN) == 0);
	}
	CHECK_EQ(piecesum_get(&ps, t, 2, &got, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, ENOENT);
	CHECK_EQ(ps.rehashed, 1);
	piecesum_free(&ps);
	store_task_close(t);
	store_close(s);
}

static const struct unit_test tests[] = {
	{"xxh3_detached", xxh3_detached},
	{"sha256_detached", sha256_detached},
};

UNIT_MAIN("piecesum", tests)
