/* The supernode's digest thread: fed a file as it grows, it gives the same digests as one pass;
 * a file shorter than announced is an error naming the offset; freeing it mid-way is clean. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/digest.h"
#include "swarm/hasher.h"
#include "unit.h"

static int calls;

static void on_done(void *ctx)
{
	calls++;
	ev_break((struct ev_loop *)ctx, EVBREAK_ONE);
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ONE);
}

/* The hasher does not keep a loop alive by itself (it is unref'd): a guard timer does, and bounds
 * the wait should the result never come. */
static void run_until_done(struct ev_loop *loop)
{
	ev_timer guard;
	ev_timer_init(&guard, guard_cb, 10, 0);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	ev_timer_stop(loop, &guard);
}

static int make_file(const char *path, size_t len, uint8_t sha[32], uint8_t md5[16])
{
	unsigned char *b = malloc(len);
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 2654435761u >> 13);
	struct digest_file_ctx c;
	digest_file_init(&c);
	digest_file_update(&c, b, len);
	digest_file_final(&c, md5, sha);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	int ok = fd >= 0 && write(fd, b, len) == (ssize_t)len;
	close(fd);
	free(b);
	return ok;
}

static void fed_in_steps(void)
{
	char path[512], err[160];
	uint8_t want_sha[32], want_md5[16], sha[32], md5[16];
	size_t len = (3u << 20) + 12345;
	snprintf(path, sizeof path, "%s/data", unit_tmpdir());
	CHECK(make_file(path, len, want_sha, want_md5));
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	calls = 0;
	struct hasher *h = hasher_start(loop, open(path, O_RDONLY), 1, on_done, loop);
	CHECK(h != NULL);
	hasher_feed(h, 1 << 20, 0);
	CHECK_EQ(hasher_result(h, md5, sha, err, sizeof err), DF_AGAIN);
	hasher_feed(h, 1 << 19, 0); /* never goes down */
	hasher_feed(h, len, 1);
	run_until_done(loop);
	CHECK_EQ(calls, 1);
	CHECK_EQ(hasher_result(h, md5, sha, err, sizeof err), DF_OK);
	CHECK(memcmp(sha, want_sha, 32) == 0);
	CHECK(memcmp(md5, want_md5, 16) == 0);
	hasher_free(h);
	ev_loop_destroy(loop);
}

static void short_file(void)
{
	char path[512], err[160] = "";
	uint8_t sha[32], md5[16];
	snprintf(path, sizeof path, "%s/short", unit_tmpdir());
	CHECK(make_file(path, 1000, sha, md5));
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	calls = 0;
	struct hasher *h = hasher_start(loop, open(path, O_RDONLY), 0, on_done, loop);
	hasher_feed(h, 5000, 1);
	run_until_done(loop);
	CHECK_EQ(calls, 1);
	CHECK_EQ(hasher_result(h, NULL, sha, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "at 1000") != NULL);
	hasher_free(h);
	ev_loop_destroy(loop);
}

static void freed_midway(void)
{
	char path[512];
	uint8_t sha[32], md5[16];
	snprintf(path, sizeof path, "%s/mid", unit_tmpdir());
	CHECK(make_file(path, 1 << 20, sha, md5));
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	calls = 0;
	struct hasher *h = hasher_start(loop, open(path, O_RDONLY), 0, on_done, loop);
	hasher_feed(h, 1 << 19, 0); /* waits for more that never comes */
	hasher_free(h);
	ev_run(loop, EVRUN_NOWAIT);
	CHECK_EQ(calls, 0);
	/* a bad descriptor: the worker reports the read error */
	h = hasher_start(loop, -1, 0, on_done, loop);
	CHECK(h != NULL);
	hasher_feed(h, 10, 1);
	run_until_done(loop);
	char err[160];
	CHECK_EQ(hasher_result(h, NULL, sha, err, sizeof err), DF_ERR);
	hasher_free(h);
	ev_loop_destroy(loop);
}

static const struct unit_test tests[] = {{"fed_in_steps", fed_in_steps}, {"short_file", short_file}, {"freed_midway", freed_midway}};
UNIT_MAIN("hasher", tests)
