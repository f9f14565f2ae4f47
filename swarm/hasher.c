/* The whole-file digest worker of the supernode and of peers given a digest: one thread per file being fetched, reading the present
 * prefix through its own descriptor and handing the result back to the loop with an ev_async. */
#include "swarm/hasher.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/digest.h"

#define CHUNK (256u << 10)

struct hasher {
	struct ev_loop *loop;
	ev_async wake; /* worker -> loop: the result is ready */
	void (*done)(void *ctx);
	void *ctx;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	uint64_t avail;
	int final, stop, state; /* state: DF_AGAIN running, DF_OK done, DF_ERR failed */
	char err[160];
	/* the worker's alone until state leaves DF_AGAIN */
	int fd, md5, nice;
	uint64_t pos;
	struct digest_file_ctx dc;
	uint8_t md5_out[16], sha_out[32];
	unsigned char *buf;
};

static void finish(struct hasher *h, int state)
{
	pthread_mutex_lock(&h->mu);
	h->state = state;
	pthread_mutex_unlock(&h->mu);
	ev_async_send(h->loop, &h->wake);
}

static void *work(void *arg)
{
	struct hasher *h = arg;
	/* Linux applies nice per thread: the supernode's digest is on no one's critical path and goes
	 * below the loops that move bytes (hasher_start); a peer's gates its watchers' last byte */
	if (h->nice)
		setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), h->nice);
	for (;;) {
		pthread_mutex_lock(&h->mu);
		while (!h->stop && h->pos == h->avail && !h->final)
			pthread_cond_wait(&h->cv, &h->mu);
		uint64_t avail = h->avail;
		int stop = h->stop, final = h->final;
		pthread_mutex_unlock(&h->mu);
		if (stop)
			return NULL;
		if (h->pos == avail && final)
			break;
		size_t want = (size_t)(avail - h->pos < CHUNK ? avail - h->pos : CHUNK);
		ssize_t r = pread(h->fd, h->buf, want, (off_t)h->pos);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			snprintf(h->err, sizeof h->err, "reading the data file at %llu: %s", (unsigned long long)h->pos,
				 r < 0 ? strerror(errno) : "unexpected end of file");
			finish(h, DF_ERR);
			return NULL;
		}
		digest_sha256_update(&h->dc.sha256, h->buf, (size_t)r);
		if (h->md5)
			br_md5_update(&h->dc.md5, h->buf, (size_t)r);
		h->pos += (uint64_t)r;
	}
	digest_file_final(&h->dc, h->md5_out, h->sha_out);
	finish(h, DF_OK);
	return NULL;
}

static void on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)revents;
	struct hasher *h = DF_CONTAINER_OF(w, struct hasher, wake);
	h->done(h->ctx);
}

struct hasher *hasher_start(struct ev_loop *loop, int fd, int md5, void (*done)(void *ctx), void *ctx)
{
	return hasher_start_nice(loop, fd, md5, 10, done, ctx);
}

struct hasher *hasher_start_nice(struct ev_loop *loop, int fd, int md5, int nice, void (*done)(void *ctx), void *ctx)
{
	struct hasher *h = calloc(1, sizeof *h);
	if (!h) {
		close(fd);
		return NULL;
	}
	h->loop = loop;
	h->done = done;
	h->ctx = ctx;
	h->md5 = md5;
	h->nice = nice;
	h->state = DF_AGAIN;
	digest_file_init(&h->dc);
	h->fd = fd;
	h->buf = malloc(CHUNK);
	int e = 0;
	if (!h->buf) {
		e = ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	ev_async_init(&h->wake, on_wake);
	ev_async_start(loop, &h->wake);
	ev_unref(loop); /* a hasher alone does not keep the loop running */
	if ((e = pthread_create(&h->th, NULL, work, h)) != 0) {
		ev_ref(loop);
		ev_async_stop(loop, &h->wake);
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		goto fail;
	}
	return h;
fail:
	if (h->fd >= 0)
		close(h->fd);
	free(h->buf);
	free(h);
	errno = e;
	return NULL;
}

void hasher_feed(struct hasher *h, uint64_t avail, int final)
{
	pthread_mutex_lock(&h->mu);
	if (avail > h->avail)
		h->avail = avail;
	h->final |= final;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

int hasher_result(struct hasher *h, uint8_t md5[16], uint8_t sha256[32], char *err, size_t errlen)
{
	pthread_mutex_lock(&h->mu);
	int state = h->state;
	pthread_mutex_unlock(&h->mu);
	if (state == DF_OK) {
		if (md5)
			memcpy(md5, h->md5_out, 16);
		if (sha256)
			memcpy(sha256, h->sha_out, 32);
	} else if (state == DF_ERR && err) {
		snprintf(err, errlen, "%s", h->err);
	}
	return state;
}

void hasher_free(struct hasher *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	ev_ref(h->loop);
	ev_async_stop(h->loop, &h->wake);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	close(h->fd);
	free(h->buf);
	free(h);
}
