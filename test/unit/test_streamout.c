/* Unit tests of swarm/streamout (df get -O -): pieces noted in any order go out in order, all but
 * the last byte until the end is told; a reader that stops reading does not hold up streamout_free;
 * a reader gone is "Broken pipe"; a task started over restarts the stream before any byte went out
 * and fails it after; a task of unknown length streams too. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/df.h"
#include "store/store.h"
#include "swarm/streamout.h"
#include "test/unit/unit.h"

#define PIECE (256u << 10)
#define PIECES 9
#define LENGTH ((int64_t)PIECES * PIECE - 777)

static char err[512];
static unsigned char piece[PIECE];

static struct store *S;

/* Task id (of length, in pieces of piece_size) in a store under the test's folder, opened at the
 * first call */
static struct store_task *task_of(const char *id, int64_t length, uint32_t piece_size)
{
	char root[1024];
	snprintf(root, sizeof root, "%s/st", unit_tmpdir());
	S = S ? S : store_open(root, err, sizeof err);
	CHECK(S != NULL);
	struct store_task_info info = {.length = length, .piece_size = piece_size, .url = "http://x/y"};
	struct store_task *t = S ? store_task_open(S, id, &info, STORE_CREATE, err, sizeof err) : NULL;
	CHECK(t != NULL);
	return t;
}

static struct store_task *new_task(const char *id)
{
	return task_of(id, LENGTH, PIECE);
}

static void put_piece(struct store_task *t, uint32_t n)
{
	unit_pattern_fill(piece, n, PIECE);
	CHECK_EQ(store_piece_write(t, n, piece, store_task_piece_len(t, n), NULL, err, sizeof err), DF_OK);
}

/* The test's output file NAME (path in path, 1200 bytes), opened for writing. */
static int open_out(const char *name, char *path)
{
	snprintf(path, 1200, "%s/%s", unit_tmpdir(), name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	return fd;
}

static _Atomic int drained;
static void on_drained(void *arg)
{
	(void)arg;
	drained++;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits up to 5 s for c to have written w bytes. */
static int wait_written(struct streamout *c, uint64_t w)
{
	for (double end = now() + 5; now() < end; usleep(2000))
		if (streamout_written(c) == w)
			return 1;
	return 0;
}

static void in_order(void)
{
	struct store_task *t = new_task("a1");
	if (!t)
		return;
	char path[1200];
	int fd = open_out("out1", path);
	struct streamout *c = NULL;
	put_piece(t, 2); /* held before the start: noted by the follow */
	CHECK_EQ(streamout_follow(&c, t, fd, err, sizeof err), DF_OK);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ(streamout_written(c), 0); /* piece 0 is missing: nothing may go out */
	for (uint32_t n = PIECES; n-- > 0;) {
		if (n == 2)
			continue;
		put_piece(t, n);
		CHECK_EQ(streamout_follow(&c, t, fd, err, sizeof err), DF_OK);
		streamout_piece(c, n);
		streamout_piece(c, n); /* a second note changes nothing */
	}
	/* everything noted: all but the last byte, which waits for the end */
	CHECK(wait_written(c, (uint64_t)LENGTH - 1));
	usleep(20000);
	CHECK_EQ(streamout_written(c), (uint64_t)LENGTH - 1);
	/* the end told: the thread writes the last byte, then says so from its own thread */
	drained = 0;
	streamout_end(c, on_drained, NULL);
	for (double end = now() + 5; !drained && now() < end;)
		usleep(2000);
	CHECK_EQ(drained, 1);
	CHECK_EQ(streamout_written(c), (uint64_t)LENGTH);
	CHECK_EQ(streamout_finish(c, err, sizeof err), DF_OK);
	close(fd);
	CHECK(unit_pattern_file(path, (uint64_t)LENGTH, PIECE));
	store_task_close(t);
}

/* The reader stops reading: the thread blocks writing to the full pipe; free still returns at once,
 * and what went out is a prefix without the last byte. */
static void stuck_reader(void)
{
	struct store_task *t = new_task("a2");
	int p[2];
	CHECK_EQ(pipe(p), 0);
	if (!t)
		return;
	struct streamout *c = NULL;
	for (uint32_t n = 0; n < PIECES; n++)
		put_piece(t, n);
	CHECK_EQ(streamout_follow(&c, t, p[1], err, sizeof err), DF_OK);
	CHECK(c != NULL);
	usleep(50000);
	uint64_t w = streamout_written(c);
	CHECK(w < (uint64_t)LENGTH - 1); /* a pipe holds 64 KiB: it is stuck in write */
	double t0 = now();
	streamout_free(c);
	CHECK(now() - t0 < 1.0);
	close(p[1]);
	uint64_t got = 0;
	char buf[65536];
	for (ssize_t r; (r = read(p[0], buf, sizeof buf)) > 0;)
		got += (uint64_t)r;
	CHECK(got < (uint64_t)LENGTH);
	close(p[0]);
	store_task_close(t);
}

/* The reader is gone: the next follow says why. */
static void reader_gone(void)
{
	struct store_task *t = new_task("a3");
	int p[2];
	CHECK_EQ(pipe(p), 0);
	if (!t)
		return;
	signal(SIGPIPE, SIG_IGN);
	close(p[0]);
	struct streamout *c = NULL;
	put_piece(t, 0);
	CHECK_EQ(streamout_follow(&c, t, p[1], err, sizeof err), DF_OK);
	int rc = DF_OK;
	for (double end = now() + 5; rc == DF_OK && now() < end; usleep(2000))
		rc = streamout_follow(&c, t, p[1], err, sizeof err);
	CHECK_EQ(rc, DF_ERR);
	CHECK(strstr(err, "Broken pipe") != NULL);
	/* the thread stopped already: the end's callback runs at once, and finish says why */
	drained = 0;
	streamout_end(c, on_drained, NULL);
	CHECK_EQ(drained, 1);
	CHECK_EQ(streamout_finish(c, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "Broken pipe") != NULL);
	close(p[1]);
	store_task_close(t);
}

/* The engine started the task over (another version at the source): before any byte went out the
 * stream follows the new file; after, it fails, naming how much of the old version went out. */
static void started_over(void)
{
	struct store_task *t = new_task("a4");
	char path[1200];
	int fd = open_out("out4", path);
	if (!t || fd < 0)
		return;
	struct streamout *c = NULL;
	CHECK_EQ(streamout_follow(&c, t, fd, err, sizeof err), DF_OK);
	store_task_close(t);
	CHECK_EQ(store_task_remove(S, "a4", err, sizeof err), DF_OK);
	t = new_task("a4");
	if (!t)
		return;
	CHECK_EQ(streamout_follow(&c, t, fd, err, sizeof err), DF_OK); /* nothing went out: again */
	for (uint32_t n = 0; n < PIECES; n++) {
		put_piece(t, n);
		streamout_piece(c, n);
	}
	CHECK(wait_written(c, (uint64_t)LENGTH - 1));
	store_task_close(t);
	CHECK_EQ(store_task_remove(S, "a4", err, sizeof err), DF_OK);
	t = new_task("a4");
	if (!t)
		return;
	CHECK_EQ(streamout_follow(&c, t, fd, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "source changed") != NULL);
	CHECK(c == NULL);
	streamout_free(c);
	close(fd);
	store_task_close(t);
}

/* A source of unknown length (chunked): the stream starts before the length is known, its bitmap
 * grows past its first 64 pieces, the prefix goes out but its last byte (it might be the file's);
 * the length learned at the body's end (here a whole number of pieces, no short piece to tell it)
 * holds the file's last byte for the end as ever. */
static void unknown_length(void)
{
	enum { SMALL = 16384, N = 130 };
	struct store_task *t = task_of("e1", -1, SMALL);
	if (!t)
		return;
	char path[1200];
	int fd = open_out("out5", path);
	struct streamout *c = NULL;
	CHECK_EQ(streamout_follow(&c, t, fd, err, sizeof err), DF_OK);
	CHECK(c != NULL); /* before: no stream until the length was known (written at the end) */
	if (!c)
		return;
	for (uint32_t n = 0; n < N; n++) {
		unit_pattern_fill(piece, n, SMALL);
		CHECK_EQ(store_piece_write(t, n, piece, SMALL, NULL, err, sizeof err), DF_OK);
		CHECK_EQ(streamout_follow(&c, t, fd, err, sizeof err), DF_OK);
		streamout_piece(c, n);
		if (n == 9)
			CHECK(wait_written(c, 10u * SMALL - 1));
	}
	CHECK(wait_written(c, (uint64_t)N * SMALL - 1));
	CHECK_EQ(store_task_set_length(t, (int64_t)N * SMALL, err, sizeof err), DF_OK);
	CHECK_EQ(streamout_follow(&c, t, fd, err, sizeof err), DF_OK); /* learns the length */
	usleep(20000);
	CHECK_EQ(streamout_written(c), (uint64_t)N * SMALL - 1); /* the last byte waits for the end */
	streamout_end(c, NULL, NULL);
	CHECK_EQ(streamout_finish(c, err, sizeof err), DF_OK);
	close(fd);
	CHECK(unit_pattern_file(path, (uint64_t)N * SMALL, SMALL));
	store_task_close(t);
}

static const struct unit_test tests[] = {
	{"in_order", in_order},
	{"stuck_reader", stuck_reader},
	{"reader_gone", reader_gone},
	{"started_over", started_over},
	{"unknown_length", unknown_length},
};
UNIT_MAIN("streamout", tests)
