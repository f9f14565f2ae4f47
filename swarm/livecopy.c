/* The live copy of df get: a bitmap of pieces landed and not yet copied, filled by the loop, taken
 * by one thread that copies each with store_live_write; the end joins it and commits the file. */
#include "swarm/livecopy.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/df.h"
#include "core/log.h"
#include "swarm/common.h"

#define LIVE_STEP (1u << 20) /* bytes copied between looks at stop: a multiple of 4096 */

struct livecopy {
	struct store_live live; /* the thread's while it runs */
	char *path;             /* its own copy: the caller's may go before it ends (df proxy's client) */
	uint64_t length;
	uint32_t piece_size, npieces;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	uint64_t *noted;   /* pieces ever noted */
	uint64_t *pending; /* noted and not taken by the thread yet */
	uint32_t copied, scan;
	int ending, failed;
	_Atomic int stop; /* read between the steps of a piece, outside mu */
};

/* A pending piece, cleared; 0 when there is none. Scans on from the last word found: pieces
 * mostly land in order, so this is one word most of the time. */
static int take(struct livecopy *c, uint32_t *n)
{
	uint32_t words = (c->npieces + 63) / 64;
	for (uint32_t i = 0; i < words; i++) {
		uint32_t w = (c->scan + i) % words;
		if (c->pending[w]) {
			int b = __builtin_ctzll(c->pending[w]);
			c->pending[w] &= ~((uint64_t)1 << b);
			c->scan = w;
			*n = w * 64 + (uint32_t)b;
			return 1;
		}
	}
	return 0;
}

static void *work(void *arg)
{
	struct livecopy *c = arg;
	store_export_sweep(c->live.dirfd, c->live.path);
	pthread_mutex_lock(&c->mu);
	while (!c->stop && !c->failed) {
		uint32_t n;
		if (!take(c, &n)) {
			if (c->ending)
				break;
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		pthread_mutex_unlock(&c->mu);
		/* a piece in steps, so a stop (df proxy's client left, on its loop) waits for one step,
		 * not for a whole piece of up to 256 MiB */
		uint64_t off = (uint64_t)n * c->piece_size, end = DF_MIN(off + c->piece_size, c->length);
		int rc = DF_OK;
		for (; rc == DF_OK && off < end && !c->stop; off += LIVE_STEP)
			rc = store_live_write(&c->live, off, DF_MIN((uint64_t)LIVE_STEP, end - off));
		int saved = errno;
		pthread_mutex_lock(&c->mu);
		if (c->stop) {
			break;
		} else if (rc == DF_OK) {
			c->copied++;
		} else {
			c->failed = 1;
			log_debug("live copy of %s: piece %u: %s; copying at the end instead", c->live.path, n,
				  strerror(saved));
		}
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

struct livecopy *livecopy_start(struct store_task *t, int dirfd, const char *path)
{
	char err[512];
	struct livecopy *c = calloc(1, sizeof *c);
	if (!c || !(c->path = strdup(path))) {
		free(c);
		return NULL;
	}
	int rc = store_live_open(t, &c->live, dirfd, c->path, err, sizeof err);
	if (rc != DF_OK) {
		if (rc == DF_ERR)
			log_debug("live copy of %s: %s; copying at the end instead", path, err);
		free(c->path);
		free(c);
		return NULL;
	}
	c->length = (uint64_t)store_task_length(t);
	c->piece_size = store_task_piece_size(t);
	c->npieces = store_task_piece_count(t);
	size_t words = ((size_t)c->npieces + 63) / 64 + 1;
	c->noted = calloc(words, sizeof *c->noted);
	c->pending = calloc(words, sizeof *c->pending);
	if (!c->noted || !c->pending || c->npieces == 0)
		goto fail;
	if (swarm_thread_start(&c->th, &c->mu, &c->cv, work, c) != 0)
		goto fail;
	return c;
fail:
	store_live_drop(&c->live);
	free(c->noted);
	free(c->pending);
	free(c->path);
	free(c);
	return NULL;
}

void livecopy_follow(struct livecopy **c, struct store_task *t, int dirfd, const char *path)
{
	if (*c && livecopy_follows(*c, t))
		return;
	livecopy_free(*c);
	*c = livecopy_start(t, dirfd, path);
	for (uint32_t i = 0, n = store_task_piece_count(t); *c && i < n; i++)
		if (store_task_has(t, i))
			livecopy_piece(*c, i);
}

void livecopy_piece(struct livecopy *c, uint32_t n)
{
	if (!c || n >= c->npieces)
		return;
	uint64_t bit = (uint64_t)1 << (n % 64);
	pthread_mutex_lock(&c->mu);
	if (!(c->noted[n / 64] & bit)) {
		c->noted[n / 64] |= bit;
		c->pending[n / 64] |= bit;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

int livecopy_follows(const struct livecopy *c, const struct store_task *t)
{
	return store_live_follows(&c->live, t); /* c->live.data is set once, before the thread starts */
}

/* Ends the thread: with stop, at once (after the piece it copies); else once nothing is pending. */
static void end_thread(struct livecopy *c, int stop)
{
	pthread_mutex_lock(&c->mu);
	c->ending = 1;
	c->stop |= stop;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->th, NULL);
}

static void release(struct livecopy *c)
{
	store_live_drop(&c->live);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c->noted);
	free(c->pending);
	free(c->path);
	free(c);
}

int livecopy_finish(struct livecopy *c, int mode, char *err, size_t errlen)
{
	end_thread(c, 0);
	int rc = DF_AGAIN;
	if (!c->failed && c->copied == c->npieces)
		rc = store_live_close(&c->live, mode, err, errlen);
	else if (!c->failed)
		log_debug("live copy of %s: %u of %u pieces noted; copying at the end instead", c->live.path, c->copied,
			  c->npieces);
	release(c);
	return rc;
}

void livecopy_free(struct livecopy *c)
{
	if (!c)
		return;
	end_thread(c, 1);
	release(c);
}
