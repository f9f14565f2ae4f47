/* Unit tests of swarm/livecopy and store_live: -O written while the pieces land, in any order, is
 * the task's exact bytes once finished (the padded tail cut); a copy stopped, unfinished or
 * refused leaves no file behind; where a copy at the end is the only way, none starts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal.h"
#include "swarm/livecopy.h"
#include "test/unit/unit.h"

#define PIECE (256u << 10)
#define PIECES 37
#define LENGTH ((int64_t)PIECES * PIECE - 333)

static char err[512];
static unsigned char piece[PIECE];

static struct store_task *new_task(struct store *s, const char *id, uint32_t piece_size, int64_t length)
{
	struct store_task_info info = {.length = length, .piece_size = piece_size, .url = "http://x/y"};
	struct store_task *t = store_task_open(s, id, &info, STORE_CREATE, err, sizeof err);
	CHECK(t != NULL);
	return t;
}

static void put_piece(struct store_task *t, uint32_t n)
{
	unit_pattern_fill(piece, n, PIECE);
	CHECK_EQ(store_piece_write(t, n, piece, store_task_piece_len(t, n), NULL, err, sizeof err), DF_OK);
}

static int same_as_task(const char *path)
{
	return unit_pattern_file(path, (uint64_t)LENGTH, PIECE);
}

/* Files in dir whose name starts with prefix (the temporary ones: ".out.df-...") */
static int count_named(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static const char *dir_of(const char *name)
{
	static char d[1100];
	snprintf(d, sizeof d, "%s/%s", unit_tmpdir(), name);
	mkdir(d, 0755);
	return d;
}

static struct store *S;

static void open_store(void)
{
	char root[1024];
	snprintf(root, sizeof root, "%s/st", unit_tmpdir());
	if (!S)
		S = store_open(root, err, sizeof err);
	CHECK(S != NULL);
}

static void any_order(void)
{
	open_store();
	struct store_task *t = new_task(S, "aa", PIECE, LENGTH);
	if (!S || !t)
		return;
	char out[1200];
	const char *d = dir_of("order");
	snprintf(out, sizeof out, "%s/out", d);
	struct livecopy *c = livecopy_start(t, AT_FDCWD, out);
	CHECK(c != NULL);
	CHECK_EQ(count_named(d, ".out.df-"), 1); /* written under a temporary name */
	/* the last piece (short: the padded block is cut at the end) first, then every third... */
	for (uint32_t k = 0; k < PIECES; k++) {
		uint32_t n = (PIECES - 1 + k * 3) % PIECES;
		put_piece(t, n);
		livecopy_piece(c, n);
		livecopy_piece(c, n); /* a second note of a piece changes nothing */
	}
	livecopy_piece(c, PIECES + 5); /* past the end: ignored */
	CHECK(access(out, F_OK) != 0); /* no name before the end */
	CHECK_EQ(livecopy_finish(c, -1, err, sizeof err), DF_OK);
	CHECK(same_as_task(out));
	CHECK_EQ(count_named(d, ".out.df-"), 0);
	store_task_close(t);
}

static void stopped(void)
{
	open_store();
	struct store_task *t = new_task(S, "bb", PIECE, LENGTH);
	if (!S || !t)
		return;
	char out[1200];
	const char *d = dir_of("stopped");
	snprintf(out, sizeof out, "%s/out", d);
	/* stopped half-way (the get interrupted): nothing left of it */
	struct livecopy *c = livecopy_start(t, AT_FDCWD, out);
	CHECK(c != NULL);
	for (uint32_t n = 0; n < PIECES / 2; n++) {
		put_piece(t, n);
		livecopy_piece(c, n);
	}
	livecopy_free(c);
	livecopy_free(NULL);
	CHECK_EQ(count_named(d, ".out"), 0);
	CHECK_EQ(count_named(d, "out"), 0);
	/* finished with pieces never noted: DF_AGAIN (export at the end), nothing left either */
	c = livecopy_start(t, AT_FDCWD, out);
	CHECK(c != NULL);
	for (uint32_t n = 0; n < PIECES / 2; n++)
		livecopy_piece(c, n);
	CHECK_EQ(livecopy_finish(c, -1, err, sizeof err), DF_AGAIN);
	CHECK_EQ(count_named(d, ".out"), 0);
	CHECK_EQ(count_named(d, "out"), 0);
	store_task_close(t);
}

static void not_here(void)
{
	open_store();
	if (!S)
		return;
	char out[1200];
	const char *d = dir_of("nothere");
	snprintf(out, sizeof out, "%s/out", d);
	/* pieces that are not whole blocks cannot go past the page cache */
	struct store_task *t = new_task(S, "cc", 1000, 100000);
	if (t) {
		CHECK(livecopy_start(t, AT_FDCWD, out) == NULL);
		store_task_close(t);
	}
	/* length unknown yet */
	t = new_task(S, "dd", PIECE, -1);
	if (t) {
		CHECK(livecopy_start(t, AT_FDCWD, out) == NULL);
		store_task_close(t);
	}
	t = new_task(S, "ee", PIECE, LENGTH);
	if (!t)
		return;
	/* a store that must not use O_DIRECT (the test knob of a filesystem without it) */
	S->no_direct = 1;
	CHECK(livecopy_start(t, AT_FDCWD, out) == NULL);
	S->no_direct = 0;
	/* a folder that is not there: the export at the end says why */
	char bad[1300];
	snprintf(bad, sizeof bad, "%s/no/such/out", d);
	CHECK(livecopy_start(t, AT_FDCWD, bad) == NULL);
	CHECK_EQ(count_named(d, "."), 2); /* . and .. only */
	/* store_live refuses a range off the block grid (DF_AGAIN, EINVAL) and one past the end */
	struct store_live l;
	CHECK_EQ(store_live_open(t, &l, AT_FDCWD, out, err, sizeof err), DF_OK);
	put_piece(t, 0);
	CHECK_EQ(store_live_write(&l, 100, 4096), DF_AGAIN);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(store_live_write(&l, 0, 1000), DF_AGAIN);
	CHECK_EQ(store_live_write(&l, (uint64_t)LENGTH - 4096 + 333, 8192), DF_AGAIN);
	CHECK_EQ(store_live_write(&l, 0, PIECE), DF_OK);
	store_live_drop(&l);
	CHECK_EQ(count_named(d, "."), 2);
	store_task_close(t);
	store_close(S);
	S = NULL;
}

/* The task started over (the source has another version): the live copy, holding no lock, does
 * not stop the store removing the old one, and says it no longer follows the new one. */
static void started_over(void)
{
	open_store();
	struct store_task *t = new_task(S, "ff", PIECE, LENGTH);
	if (!S || !t)
		return;
	char out[1200];
	snprintf(out, sizeof out, "%s/out", dir_of("over"));
	struct livecopy *c = livecopy_start(t, AT_FDCWD, out);
	CHECK(c != NULL);
	if (!c)
		return;
	put_piece(t, 0);
	livecopy_piece(c, 0);
	CHECK(livecopy_follows(c, t));
	store_task_close(t);
	CHECK_EQ(store_task_remove(S, "ff", err, sizeof err), DF_OK);
	t = new_task(S, "ff", PIECE, LENGTH);
	if (t)
		CHECK(!livecopy_follows(c, t));
	livecopy_free(c);
	if (t)
		store_task_close(t);
}

static const struct unit_test tests[] = {
	{"started_over", started_over},
	{"any_order", any_order},
	{"stopped", stopped},
	{"not_here", not_here},
};
UNIT_MAIN("livecopy", tests)
