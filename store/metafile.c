/* A task's metadata file on disk: loading it (header, snapshot, log replay up to a torn tail),
 * writing a snapshot (fdatasync data, temp file, fsync, rename) and appending log records. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "store/internal.h"

#define LOAD_BUF (64u << 10) /* header (<= 16 KiB) and log records; a multiple of the record size */

int store_task_snapshot(struct store_task *t, char *err, size_t errlen)
{
	struct store_meta_hdr h;
	struct stat st;
	struct digest_xxh128_ctx cx;
	uint8_t check[DIGEST_XXH128_LEN];
	uint8_t *buf = NULL;
	int fd = -1, saved;
	const size_t cap = LOAD_BUF;
	if (store_task_unpark(t, err, errlen) != DF_OK)
		return DF_ERR;
	if (fdatasync(t->data_fd) != 0)
		return store_err_sys(err, errlen, t->data_path, "fdatasync");
	if (fstat(t->data_fd, &st) != 0)
		return store_err_sys(err, errlen, t->data_path, "fstat");
	memset(&h, 0, sizeof h);
	h.piece_size = t->piece_size;
	h.flags = t->flags | (t->length >= 0 ? STORE_META_LENGTH_KNOWN : 0);
	h.length = t->length;
	h.npieces = t->npieces;
	h.data_size = (uint64_t)st.st_size;
	h.data_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	memcpy(h.sha256, t->sha256, sizeof h.sha256);
	memcpy(h.md5, t->md5, sizeof h.md5);
	h.id = slice_of(t->id);
	h.url = slice_of(t->url);
	h.etag = slice_of(t->etag);
	h.last_modified = slice_of(t->last_modified);
	if (!(buf = malloc(cap))) {
		errno = ENOMEM;
		goto fail_sys;
	}
	int n = store_meta_format_header(&h, buf, cap);
	if (n < 0) {
		errno = EINVAL;
		store_err(err, errlen, t->meta_path, "header fields out of range");
		goto fail;
	}
	fd = open(t->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, STORE_FILE_MODE);
	if (fd < 0) {
		store_err_sys(err, errlen, t->tmp_path, "create");
		goto fail;
	}
	uint64_t off = 0;
	size_t bb = bitmap_bytes(t->npieces);
	if (store_pwrite_full(fd, buf, (size_t)n, off) != DF_OK ||
	    store_pwrite_full(fd, t->present, bb, off + (size_t)n) != DF_OK)
		goto fail_write;
	off += (size_t)n + bb;
	digest_xxh128_init(&cx);
	digest_xxh128_update(&cx, t->present, bb);
	/* absent pieces keep their expected checksum in memory; the file has zeros for them */
	const uint32_t per = (uint32_t)(cap / STORE_META_SUM);
	for (uint32_t i = 0; i < t->npieces; i += per) {
		uint32_t k = DF_MIN(per, t->npieces - i);
		memcpy(buf, t->sums + (size_t)i * STORE_META_SUM, (size_t)k * STORE_META_SUM);
		for (uint32_t j = 0; j < k; j++)
			if (!bitmap_get(t->present, i + j))
				memset(buf + (size_t)j * STORE_META_SUM, 0, STORE_META_SUM);
		if (store_pwrite_full(fd, buf, (size_t)k * STORE_META_SUM, off) != DF_OK)
			goto fail_write;
		digest_xxh128_update(&cx, buf, (size_t)k * STORE_META_SUM);
		off += (size_t)k * STORE_META_SUM;
	}
	digest_xxh128_final(&cx, check);
	if (store_pwrite_full(fd, check, STORE_META_CHECK, off) != DF_OK)
		goto fail_write;
	off += STORE_META_CHECK;
	if (fsync(fd) != 0) {
		store_err_sys(err, errlen, t->tmp_path, "fsync");
		goto fail;
	}
	if (rename(t->tmp_path, t->meta_path) != 0) {
		store_err_sys(err, errlen, t->meta_path, "rename");
		goto fail;
	}
	(void)store_fsync_dir_of(t->meta_path); /* the rename happened; durability of it is best effort */
	if (t->meta_fd >= 0)
		close(t->meta_fd);
	t->meta_fd = fd;
	t->meta_end = off;
	t->log_records = 0;
	t->session_logged = 0;
	t->meta_torn = 0;
	t->snap_data_size = h.data_size;
	t->snap_data_mtime_ns = h.data_mtime_ns;
	free(buf);
	if (t->nbusy) {
		/* pieces in flight will change the data file after this snapshot: say so */
		char e[512];
		if (store_task_session(t, e, sizeof e) != DF_OK)
			log_warn("%s", e);
	}
	return DF_OK;
fail_write:
	store_err_sys(err, errlen, t->tmp_path, "write");
	goto fail;
fail_sys:
	store_err_sys(err, errlen, t->meta_path, "snapshot");
fail:
	saved = errno;
	if (fd >= 0) {
		close(fd);
		unlink(t->tmp_path);
	}
	free(buf);
	errno = saved;
	return DF_ERR;
}

int store_task_log(struct store_task *t, uint32_t type, uint32_t n, const uint8_t *sum, char *err, size_t errlen)
{
	struct store_meta_rec r = {.type = type, .piece = n};
	uint8_t rec[STORE_META_RECORD];
	if (store_task_unpark(t, err, errlen) != DF_OK)
		return DF_ERR;
	/* a long log becomes a snapshot first, so this record always follows the latest snapshot
	 * (the caller may not have applied it to memory yet) */
	if (t->log_records >= DF_MAX(t->store->compact_min, t->npieces / 8)) {
		char e[512];
		if (store_task_snapshot(t, e, sizeof e) != DF_OK)
			log_warn("%s (the log goes on)", e);
		if (type == STORE_REC_SESSION && t->session_logged)
			return DF_OK; /* the snapshot logged one for the writers in flight */
	}
	if (sum)
		memcpy(r.sum, sum, STORE_META_SUM);
	store_meta_format_record(&r, rec);
	if (store_pwrite_full(t->meta_fd, rec, sizeof rec, t->meta_end) != DF_OK) {
		int saved = errno;
		/* a partial record would end the log for every record after it: cut it off */
		if (ftruncate(t->meta_fd, (off_t)t->meta_end) != 0)
			t->meta_torn = 1;
		errno = saved;
		return store_err_sys(err, errlen, t->meta_path, "append");
	}
	t->meta_end += sizeof rec;
	t->log_records++;
	if (type == STORE_REC_SESSION)
		t->session_logged = 1;
	return DF_OK;
}

int store_task_session(struct store_task *t, char *err, size_t errlen)
{
	if (t->session_logged)
		return DF_OK;
	return store_task_log(t, STORE_REC_SESSION, 0, NULL, err, errlen);
}

int store_task_load(struct store_task *t, int fd, const char *path, uint8_t **logged, char *err, size_t errlen)
{
	struct store_meta_hdr h;
	struct stat st;
	const char *why = "";
	uint8_t *buf = NULL, *lg = NULL, check[STORE_META_CHECK];
	size_t lg_bytes = 0;
	*logged = NULL;
	if (fstat(fd, &st) != 0)
		return store_err_sys(err, errlen, path, "fstat");
	if (!(buf = malloc(LOAD_BUF)))
		return (errno = ENOMEM), store_err_sys(err, errlen, path, "load");
	ssize_t got = store_pread_full(fd, buf, DF_MIN((uint64_t)LOAD_BUF, (uint64_t)st.st_size), 0);
	if (got < 0) {
		store_err_sys(err, errlen, path, "read");
		goto fail;
	}
	int rc = store_meta_parse_header(buf, (size_t)got, &h, &why);
	if (rc == DF_AGAIN)
		why = got == 0 ? "empty metadata file" : "truncated header";
	if (rc < 0) {
		errno = EBADMSG;
		store_err(err, errlen, path, "%s", why);
		goto fail;
	}
	if (!slice_eq(h.id, t->id)) {
		errno = EBADMSG;
		store_err(err, errlen, path, "holds task %.*s, not %s", (int)h.id.n, h.id.p, t->id);
		goto fail;
	}
	t->piece_size = h.piece_size;
	t->length = h.length;
	t->flags = h.flags & (TASK_HAS_MD5 | TASK_HAS_SHA256);
	memcpy(t->sha256, h.sha256, sizeof t->sha256);
	memcpy(t->md5, h.md5, sizeof t->md5);
	t->snap_data_size = h.data_size;
	t->snap_data_mtime_ns = h.data_mtime_ns;
	free(t->url);
	free(t->etag);
	free(t->last_modified);
	t->url = strndup(h.url.p, h.url.n);
	t->etag = strndup(h.etag.p, h.etag.n);
	t->last_modified = strndup(h.last_modified.p, h.last_modified.n);
	if (!t->url || !t->etag || !t->last_modified || store_task_reserve(t, h.npieces) != DF_OK) {
		errno = ENOMEM;
		store_err_sys(err, errlen, path, "load");
		goto fail;
	}
	t->npieces = h.npieces;
	uint64_t off = h.hdr_len;
	size_t bb = bitmap_bytes(h.npieces), sb = (size_t)h.npieces * STORE_META_SUM;
	if (store_pread_full(fd, t->present, bb, off) != (ssize_t)bb ||
	    store_pread_full(fd, t->sums, sb, off + bb) != (ssize_t)sb ||
	    store_pread_full(fd, check, sizeof check, off + bb + sb) != (ssize_t)sizeof check) {
		errno = EBADMSG;
		store_err(err, errlen, path, "truncated piece table");
		goto fail;
	}
	if (store_meta_snapshot_valid(t->present, t->sums, h.npieces, check, &why) != DF_OK) {
		errno = EBADMSG;
		store_err(err, errlen, path, "%s", why);
		goto fail;
	}
	t->npresent = 0;
	for (uint32_t i = 0; i < h.npieces; i++)
		t->npresent += (uint32_t)bitmap_get(t->present, i);
	off += store_meta_snapshot_size(h.npieces);

	/* replay the log up to its first bad record */
	uint32_t limit = t->length >= 0 ? t->npieces : STORE_MAX_PIECES;
	t->log_records = 0;
	t->session_logged = 0;
	for (int stop = 0; !stop;) {
		got = store_pread_full(fd, buf, LOAD_BUF, off);
		if (got < 0) {
			store_err_sys(err, errlen, path, "read");
			goto fail;
		}
		stop = got < (ssize_t)LOAD_BUF; /* the end of the file is in this chunk */
		for (size_t i = 0; i + STORE_META_RECORD <= (size_t)got; i += STORE_META_RECORD) {
			struct store_meta_rec r;
			if (store_meta_parse_record(buf + i, (size_t)got - i, limit, &r, &why) != STORE_META_RECORD) {
				stop = 1; /* a torn or foreign record ends the log */
				break;
			}
			off += STORE_META_RECORD;
			t->log_records++;
			if (r.type == STORE_REC_SESSION) {
				t->session_logged = 1;
				continue;
			}
			if (store_task_reserve(t, r.piece + 1) != DF_OK) {
				store_err_sys(err, errlen, path, "load");
				goto fail;
			}
			if (r.type == STORE_REC_DROP) {
				if (bitmap_get(t->present, r.piece)) {
					bitmap_clear(t->present, r.piece);
					memset(t->sums + (size_t)r.piece * STORE_META_SUM, 0, STORE_META_SUM);
					t->npresent--;
				}
				if ((size_t)r.piece / 8 < lg_bytes)
					bitmap_clear(lg, r.piece);
				continue;
			}
			store_task_mark(t, r.piece, r.sum);
			if ((size_t)r.piece / 8 >= lg_bytes) {
				size_t nb = bitmap_bytes(t->cap);
				uint8_t *p = store_grow(lg, lg_bytes, nb);
				if (!p) {
					errno = ENOMEM;
					store_err_sys(err, errlen, path, "load");
					goto fail;
				}
				lg = p;
				lg_bytes = nb;
			}
			bitmap_set(lg, r.piece);
		}
	}
	if (t->length < 0)
		while (t->npieces > 0 && !bitmap_get(t->present, t->npieces - 1))
			t->npieces--;
	t->meta_end = off;
	t->meta_torn = (uint64_t)st.st_size > off;
	free(buf);
	*logged = lg;
	return DF_OK;
fail:
	free(buf);
	free(lg);
	return DF_ERR;
}
