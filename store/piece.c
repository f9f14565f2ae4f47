/* Pieces in and out: the streaming writer (pwrite at the piece's offset + incremental xxh3-128,
 * recorded only once verified), and reads by pread or sendfile that never serve a short file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "core/log.h"
#include "store/internal.h"

static void writer_end(struct store_piece_writer *w)
{
	struct store_task *t = w->task;
	if (!t)
		return;
	bitmap_clear(t->busy, w->piece);
	t->nbusy--;
	w->task = NULL;
}

int store_piece_begin(struct store_piece_writer *w, struct store_task *t, uint32_t n, char *err, size_t errlen)
{
	w->task = NULL;
	uint32_t len = store_task_piece_len(t, n);
	if (!t->writer) {
		errno = EBUSY;
		return store_err(err, errlen, t->data_path,
				 "piece %u: read-only handle (another process writes this task)", n);
	}
	if (len == 0) {
		errno = EINVAL;
		return store_err(err, errlen, t->data_path, "piece %u is past the end (%u pieces)", n, t->npieces);
	}
	if (store_task_reserve(t, n + 1) != DF_OK)
		return store_err_sys(err, errlen, t->data_path, "piece");
	if (store_task_has(t, n)) {
		errno = EEXIST;
		return store_err(err, errlen, t->data_path, "piece %u is already present", n);
	}
	if (bitmap_get(t->busy, n)) {
		errno = EBUSY;
		return store_err(err, errlen, t->data_path, "piece %u is already being written", n);
	}
	/* before the data file changes, the log must say it may (see recover() in task.c) */
	if (store_task_session(t, err, errlen) != DF_OK)
		return DF_ERR;
	bitmap_set(t->busy, n);
	t->nbusy++;
	w->task = t;
	w->piece = n;
	w->off = (uint64_t)n * t->piece_size;
	w->max = len;
	w->done = 0;
	digest_xxh128_init(&w->xxh);
	return DF_OK;
}

int store_piece_append(struct store_piece_writer *w, const void *buf, size_t len, char *err, size_t errlen)
{
	struct store_task *t = w->task;
	if (!t) {
		errno = EINVAL;
		return store_err(err, errlen, "(writer)", "append without begin");
	}
	if (len > w->max - w->done) {
		errno = EINVAL;
		return store_err(err, errlen, t->data_path, "piece %u: %zu more bytes would make it longer than its %u",
				 w->piece, len, w->max);
	}
	if (store_pwrite_full(t->data_fd, buf, len, w->off + w->done) != DF_OK)
		return store_err(err, errlen, t->data_path, "writing piece %u: %s", w->piece, strerror(errno));
	digest_xxh128_update(&w->xxh, buf, len);
	w->done += (uint32_t)len;
	return DF_OK;
}

int store_piece_finish(struct store_piece_writer *w, const uint8_t *expected, char *err, size_t errlen)
{
	struct store_task *t = w->task;
	uint8_t sum[STORE_SUM_LEN];
	uint32_t n = w->piece;
	int rc;
	if (!t) {
		errno = EINVAL;
		return store_err(err, errlen, "(writer)", "finish without begin");
	}
	digest_xxh128_final(&w->xxh, sum);
	int last_unknown = t->length < 0 && w->done < t->piece_size;
	if (t->length >= 0 ? w->done != store_task_piece_len(t, n) || w->done == 0 : w->done == 0) {
		errno = EINVAL;
		rc = store_err(err, errlen, t->data_path, "piece %u: %u bytes, but it has %u", n, w->done,
			       store_task_piece_len(t, n));
		goto refused;
	}
	const uint8_t *want = expected                     ? expected
			      : bitmap_get(t->expected, n) ? t->sums + (size_t)n * STORE_META_SUM
							   : NULL;
	if (want && memcmp(want, sum, sizeof sum) != 0) {
		char got_hex[2 * STORE_SUM_LEN + 1], want_hex[2 * STORE_SUM_LEN + 1];
		digest_hex(sum, sizeof sum, got_hex);
		digest_hex(want, sizeof sum, want_hex);
		errno = EBADMSG;
		rc = store_err(err, errlen, t->data_path, "piece %u: checksum mismatch (got %s, want %s)", n, got_hex,
			       want_hex);
		goto refused;
	}
	uint32_t done = w->done;
	uint64_t w_off = w->off;
	writer_end(w); /* the data is written: nothing is in flight for this piece any more */
	if (last_unknown) {
		/* the short piece is the last: it fixes the length, in one snapshot with the piece */
		return store_task_fix_length(t, (int64_t)n * t->piece_size + done, n, sum, err, errlen);
	}
	if (store_task_log(t, STORE_REC_PRESENT, n, sum, err, errlen) != DF_OK)
		return DF_ERR;
	store_task_mark(t, n, sum);
	/* start writing the piece to disk now, without waiting for it: otherwise a whole file of dirty
	 * pages waits for the completion snapshot's fdatasync, which then blocks this process (and every
	 * upload it serves) for as long as the disk needs for the file; best effort */
	(void)sync_file_range(t->data_fd, (off_t)w_off, done, SYNC_FILE_RANGE_WRITE);
	if (store_task_complete(t) && t->log_records) {
		/* complete: make it durable now, so an export or a power cut finds a clean task */
		char e[512];
		if (store_task_snapshot(t, e, sizeof e) != DF_OK)
			log_warn("%s (the log keeps the state)", e);
	}
	return DF_OK;
refused:
	writer_end(w);
	return rc;
}

void store_piece_abort(struct store_piece_writer *w)
{
	writer_end(w);
}

int store_piece_write(struct store_task *t, uint32_t n, const void *buf, size_t len, const uint8_t *expected, char *err,
		      size_t errlen)
{
	struct store_piece_writer w;
	if (store_piece_begin(&w, t, n, err, errlen) != DF_OK)
		return DF_ERR;
	if (store_piece_append(&w, buf, len, err, errlen) != DF_OK) {
		int saved = errno;
		store_piece_abort(&w);
		errno = saved;
		return DF_ERR;
	}
	return store_piece_finish(&w, expected, err, errlen);
}

/* Checks that [off, off+*len) lies in present piece n; clamps *len when clamp is set. */
static int readable(const struct store_task *t, uint32_t n, uint32_t off, size_t *len, int clamp, char *err,
		    size_t errlen)
{
	if (!store_task_has(t, n)) {
		errno = ENOENT;
		return store_err(err, errlen, t->data_path, "piece %u is not present", n);
	}
	uint32_t plen = store_task_piece_len(t, n);
	if (clamp && off <= plen)
		*len = DF_MIN(*len, (size_t)(plen - off));
	if (off > plen || *len > plen - off) {
		errno = EINVAL;
		return store_err(err, errlen, t->data_path, "piece %u: range %u+%zu is past its %u bytes", n, off, *len,
				 plen);
	}
	return DF_OK;
}

static int short_data(struct store_task *t, uint32_t n, char *err, size_t errlen)
{
	store_task_drop(t, n, "the data file is shorter than its metadata says");
	errno = EIO;
	return store_err(err, errlen, t->data_path,
			 "piece %u: the data file is shorter than its metadata says (piece dropped)", n);
}

int store_piece_read(struct store_task *t, uint32_t n, uint32_t off, void *buf, size_t len, char *err, size_t errlen)
{
	if (readable(t, n, off, &len, 0, err, errlen) != DF_OK || store_task_unpark(t, err, errlen) != DF_OK)
		return DF_ERR;
	ssize_t r = store_pread_full(t->data_fd, buf, len, (uint64_t)n * t->piece_size + off);
	if (r < 0)
		return store_err(err, errlen, t->data_path, "reading piece %u: %s", n, strerror(errno));
	if ((size_t)r < len)
		return short_data(t, n, err, errlen);
	return DF_OK;
}

int store_piece_span(const struct store_task *t, uint32_t n, int *fd, uint64_t *off, uint32_t *len)
{
	if (!store_task_has(t, n))
		return (errno = ENOENT), DF_ERR;
	/* a parked handle opens its files again: the handle is the store's, "const" is its content */
	char e[256];
	if (store_task_unpark((struct store_task *)t, e, sizeof e) != DF_OK) {
		log_warn("%s", e);
		return DF_ERR;
	}
	*fd = t->data_fd;
	*off = (uint64_t)n * t->piece_size;
	*len = store_task_piece_len(t, n);
	return DF_OK;
}

int store_task_open_data(const struct store_task *t)
{
	return open(t->data_path, O_RDONLY | O_CLOEXEC);
}

ssize_t store_piece_sendfile(struct store_task *t, uint32_t n, uint32_t off, int sock, size_t len, char *err,
			     size_t errlen)
{
	if (readable(t, n, off, &len, 1, err, errlen) != DF_OK || store_task_unpark(t, err, errlen) != DF_OK)
		return DF_ERR;
	if (len == 0)
		return 0;
	off_t pos = (off_t)((uint64_t)n * t->piece_size + off);
	ssize_t r = sendfile(sock, t->data_fd, &pos, len);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return DF_AGAIN;
	if (r < 0)
		return store_err(err, errlen, t->data_path, "sending piece %u: %s", n, strerror(errno));
	if (r == 0)
		return short_data(t, n, err, errlen);
	return r;
}
