/* The stream of df get -O -: the loop notes verified pieces in a bitmap; one thread writes the
 * in-order prefix of them to the descriptor, all but the file's last byte until the end is told.
 * A source of unknown length (chunked) streams too: its bitmap grows with the pieces, and until
 * the store learns the length the last byte of the prefix is held, as it might be the file's last. */
#include "swarm/streamout.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/df.h"
#include "core/log.h"
#include "swarm/common.h"

#define STREAM_STEP (1u << 20) /* bytes read and written at a time */
#define UNKNOWN UINT64_MAX     /* length, until the store knows it */

struct streamout {
	int in, out; /* in: the task's data file, our own descriptor; out: the caller's */
	struct stat data;
	uint64_t length;
	uint32_t piece_size, npieces; /* npieces: UINT32_MAX while the length is unknown */
	uint32_t noted_cap;           /* pieces the bitmap holds (grows while the length is unknown) */
	char *buf;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	uint64_t *noted;
	uint32_t prefix;  /* pieces 0..prefix-1 are all noted */
	uint64_t written; /* bytes out */
	int ending, verified, stop, failed, exited;
	void (*done)(void *arg); /* streamout_end's: called once the thread stopped */
	void *done_arg;
	char why[160];
};

static void *work(void *arg)
{
	struct streamout *c = arg;
	int old;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_mutex_lock(&c->mu);
	for (;;) {
		uint64_t have = DF_MIN((uint64_t)c->prefix * c->piece_size, c->length);
		/* the file's last byte waits for the digest; while the length is unknown, any byte may be
		 * the last */
		uint64_t limit = c->length == UNKNOWN ? (have ? have - 1 : 0)
				 : c->verified        ? c->length
				 : c->length          ? c->length - 1
						      : 0;
		uint64_t to = DF_MIN(have, limit);
		if (c->stop || c->failed || c->written == c->length)
			break;
		if (c->written >= to) {
			if (c->ending)
				break;
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		uint64_t off = c->written;
		size_t n = (size_t)DF_MIN(to - off, (uint64_t)STREAM_STEP);
		pthread_mutex_unlock(&c->mu);
		const char *what = "reading the store";
		ssize_t r = pread(c->in, c->buf, n, (off_t)off);
		int err = r < 0 ? errno : EIO;
		size_t done = 0;
		if (r == (ssize_t)n) {
			what = "writing";
			while (done < n) {
				/* the one place a stuck reader can hold this thread: streamout_free cancels it */
				pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
				ssize_t w = write(c->out, c->buf + done, n - done);
				pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					err = w < 0 ? errno : EIO;
					break;
				}
				done += (size_t)w;
			}
		}
		pthread_mutex_lock(&c->mu);
		c->written += done;
		if (done < n) {
			c->failed = 1;
			snprintf(c->why, sizeof c->why, "%s: %s", what, strerror(err));
		}
	}
	c->exited = 1;
	void (*done)(void *) = c->done;
	void *done_arg = c->done_arg;
	pthread_mutex_unlock(&c->mu);
	if (done)
		done(done_arg);
	return NULL;
}

static struct streamout *start(struct store_task *t, int fd, char *err, size_t errlen)
{
	int64_t length = store_task_length(t);
	uint32_t np = store_task_piece_count(t);
	if (length == 0 || (length > 0 && np == 0) || store_task_piece_size(t) == 0)
		return NULL; /* empty: written at the end */
	struct streamout *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->in = -1;
	c->out = fd;
	c->length = length < 0 ? UNKNOWN : (uint64_t)length;
	c->piece_size = store_task_piece_size(t);
	c->npieces = length < 0 ? UINT32_MAX : np;
	c->noted_cap = length < 0 ? 64 : np;
	c->noted = calloc(((size_t)c->noted_cap + 63) / 64, sizeof *c->noted);
	c->buf = malloc(STREAM_STEP);
	if (!c->noted || !c->buf || store_task_reader(t, &c->in, &c->data, err, errlen) != DF_OK)
		goto fail;
	if (swarm_thread_start(&c->th, &c->mu, &c->cv, work, c) != 0)
		goto fail;
	return c;
fail:
	if (c->in >= 0)
		close(c->in);
	free(c->noted);
	free(c->buf);
	free(c);
	return NULL;
}

/* Room in the bitmap for piece n (length unknown: it doubles). Under mu. */
static int noted_room(struct streamout *c, uint32_t n)
{
	if (n < c->noted_cap)
		return DF_OK;
	uint64_t cap = c->noted_cap;
	while (cap <= n)
		cap *= 2;
	cap = DF_MIN(cap, (uint64_t)STORE_MAX_PIECES);
	if (n >= cap)
		return DF_ERR;
	size_t words = ((size_t)cap + 63) / 64, had = ((size_t)c->noted_cap + 63) / 64;
	uint64_t *m = realloc(c->noted, words * sizeof *m);
	if (!m)
		return DF_ERR;
	memset(m + had, 0, (words - had) * sizeof *m);
	c->noted = m;
	c->noted_cap = (uint32_t)cap;
	return DF_OK;
}

void streamout_piece(struct streamout *c, uint32_t n)
{
	if (!c || n >= c->npieces)
		return;
	pthread_mutex_lock(&c->mu);
	if (noted_room(c, n) != DF_OK) {
		c->failed = 1;
		snprintf(c->why, sizeof c->why, "piece %u: out of memory", n);
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	c->noted[n / 64] |= (uint64_t)1 << (n % 64);
	uint32_t p = c->prefix;
	while (p < c->npieces && p < c->noted_cap && (c->noted[p / 64] >> (p % 64) & 1))
		p++;
	if (p != c->prefix) {
		c->prefix = p;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
}

uint64_t streamout_written(struct streamout *c)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&c->mu);
	uint64_t w = c->written;
	pthread_mutex_unlock(&c->mu);
	return w;
}

static void release(struct streamout *c)
{
	close(c->in);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c->noted);
	free(c->buf);
	free(c);
}

void streamout_free(struct streamout *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_cancel(c->th); /* acts only inside its write (the one place it is enabled) */
	pthread_join(c->th, NULL);
	release(c);
}

/* A stream begun with the length unknown takes it once the store has it (the source's body ended):
 * the last byte is then the file's, held for the digest as ever. From the loop. */
static void learn_length(struct streamout *c, struct store_task *t)
{
	int64_t length = store_task_length(t);
	if (!c || c->length != UNKNOWN || length < 0)
		return;
	pthread_mutex_lock(&c->mu);
	c->length = (uint64_t)length;
	c->npieces = store_task_piece_count(t);
	if (c->prefix > c->npieces)
		c->prefix = c->npieces;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

int streamout_follow(struct streamout **c, struct store_task *t, int fd, char *err, size_t errlen)
{
	if (*c) {
		pthread_mutex_lock(&(*c)->mu);
		int failed = (*c)->failed;
		if (failed)
			snprintf(err, errlen, "%s", (*c)->why);
		pthread_mutex_unlock(&(*c)->mu);
		if (failed)
			return DF_ERR;
		if (store_task_reads(t, &(*c)->data)) {
			learn_length(*c, t);
			return DF_OK;
		}
		uint64_t w = streamout_written(*c);
		streamout_free(*c);
		*c = NULL;
		if (w) {
			snprintf(err, errlen,
				 "the source changed during the download, after %llu bytes of the old version went out",
				 (unsigned long long)w);
			return DF_ERR;
		}
	}
	char why[256] = "";
	*c = start(t, fd, why, sizeof why);
	if (!*c && why[0])
		log_debug("stream to standard output: %s; writing at the end instead", why);
	learn_length(*c, t);
	/* what the store holds already (length unknown: the pieces up to the last present one) */
	for (uint32_t i = 0, n = store_task_pieces_seen(t); *c && i < n; i++)
		if (store_task_has(t, i))
			streamout_piece(*c, i);
	return DF_OK;
}

void streamout_end(struct streamout *c, void (*done)(void *arg), void *arg)
{
	pthread_mutex_lock(&c->mu);
	c->verified = 1;
	c->ending = 1;
	int exited = c->exited;
	if (!exited) {
		c->done = done;
		c->done_arg = arg;
	}
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (exited && done)
		done(arg);
}

int streamout_finish(struct streamout *c, char *err, size_t errlen)
{
	pthread_mutex_lock(&c->mu);
	int ended = c->ending;
	pthread_mutex_unlock(&c->mu);
	if (!ended)
		streamout_end(c, NULL, NULL);
	pthread_join(c->th, NULL);
	int rc = DF_OK;
	if (c->failed) {
		snprintf(err, errlen, "%s", c->why);
		rc = DF_ERR;
	} else if (c->written != c->length) {
		snprintf(err, errlen, "%llu of %llu bytes written: pieces missing", (unsigned long long)c->written,
			 (unsigned long long)c->length);
		rc = DF_ERR;
	}
	release(c);
	return rc;
}
