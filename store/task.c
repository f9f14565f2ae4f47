/* Tasks: opening (locks, create, crash recovery) and closing, piece state, the task's description.
 * The metadata file's I/O is in metafile.c, the piece writer and readers in piece.c.
 *
 * How crash safety works here: a piece's data is pwritten before its PRESENT record is appended,
 * so after a process crash (the page cache survives) every logged piece has its bytes. After a
 * power cut either may be lost, so the first writer to reopen a task re-verifies the pieces the
 * log added since the last snapshot; snapshots are written only after fdatasync of the data file,
 * so the pieces they name are durable. A data file that changed while no writer had a session
 * open (size or mtime differ from the snapshot's) gets every piece re-verified. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "store/internal.h"

/* ---- allocation ---- */

int store_task_path_alloc(struct store_task *t, const char *root, const char *id)
{
	size_t il = strlen(id), one = strlen(root) + il + 32;
	int sub = il >= 2 ? 2 : (int)il;
	char *p = malloc(3 * one);
	if (!p)
		return (errno = ENOMEM), DF_ERR;
	t->data_path = p;
	t->meta_path = p + one;
	t->tmp_path = p + 2 * one;
	snprintf(t->data_path, one, "%s/tasks/%.*s/%s.data", root, sub, id, id);
	snprintf(t->meta_path, one, "%s/tasks/%.*s/%s.meta", root, sub, id, id);
	snprintf(t->tmp_path, one, "%s/tasks/%.*s/%s.meta.tmp", root, sub, id, id);
	snprintf(t->id, sizeof t->id, "%s", id);
	return DF_OK;
}

void store_task_free(struct store_task *t)
{
	if (!t)
		return;
	if (t->data_fd >= 0)
		close(t->data_fd); /* releases the flock and the writer lock */
	if (t->meta_fd >= 0)
		close(t->meta_fd);
	free(t->data_path);
	free(t->url);
	free(t->etag);
	free(t->last_modified);
	free(t->present);
	free(t->expected);
	free(t->busy);
	free(t->sums);
	free(t);
}

int store_task_reserve(struct store_task *t, uint32_t n)
{
	if (n <= t->cap && t->present)
		return DF_OK;
	if (n > STORE_MAX_PIECES)
		return (errno = EINVAL), DF_ERR;
	uint32_t cap = t->cap ? t->cap : 64;
	while (cap < n)
		cap = cap > STORE_MAX_PIECES / 2 ? STORE_MAX_PIECES : cap * 2;
	size_t ob = bitmap_bytes(t->cap), nb = bitmap_bytes(cap);
	uint8_t *a = store_grow(t->present, ob, nb);
	if (a)
		t->present = a;
	uint8_t *b = a ? store_grow(t->expected, ob, nb) : NULL;
	if (b)
		t->expected = b;
	uint8_t *c = b ? store_grow(t->busy, ob, nb) : NULL;
	if (c)
		t->busy = c;
	uint8_t *d = c ? store_grow(t->sums, (size_t)t->cap * STORE_META_SUM, (size_t)cap * STORE_META_SUM) : NULL;
	if (!d)
		return (errno = ENOMEM), DF_ERR;
	t->sums = d;
	t->cap = cap;
	return DF_OK;
}

/* ---- description ---- */

void store_task_refresh_info(struct store_task *t)
{
	char hex[2 * DIGEST_SHA256_LEN + 1];
	t->digest_str[0] = t->md5_str[0] = 0;
	if (t->flags & TASK_HAS_MD5) {
		digest_hex(t->md5, DIGEST_MD5_LEN, t->md5_str);
		snprintf(t->digest_str, sizeof t->digest_str, "md5:%s", t->md5_str);
	}
	if (t->flags & TASK_HAS_SHA256) {
		digest_hex(t->sha256, DIGEST_SHA256_LEN, hex);
		snprintf(t->digest_str, sizeof t->digest_str, "sha256:%s", hex);
	}
	t->info = (struct store_task_info){
		.length = t->length,
		.piece_size = t->piece_size,
		.url = t->url ? t->url : "",
		.etag = t->etag ? t->etag : "",
		.last_modified = t->last_modified ? t->last_modified : "",
		.digest = t->digest_str,
		.md5 = t->md5_str,
	};
}

static int empty(const char *s)
{
	return !s || !*s;
}

/* Can the pieces present now live in a task of `length` bytes? While the length is unknown every
 * present piece is a full one, so a present last piece must be full in the new length too. */
static int length_fits(const struct store_task *t, int64_t length, char *err, size_t errlen)
{
	uint64_t count = store_meta_piece_count(length, t->piece_size);
	if (length < 0 || count > STORE_MAX_PIECES)
		return (errno = EINVAL),
		       store_err(err, errlen, t->meta_path, "length %lld is out of range", (long long)length);
	if (t->npieces > count)
		return (errno = EINVAL),
		       store_err(err, errlen, t->meta_path, "piece %u is present past the new length %lld",
				 t->npieces - 1, (long long)length);
	if (count && t->npieces == count && bitmap_get(t->present, (uint32_t)count - 1) &&
	    (uint64_t)length != count * t->piece_size)
		return (errno = EINVAL),
		       store_err(err, errlen, t->meta_path,
				 "the last piece is present as a full piece but length %lld makes it short",
				 (long long)length);
	return DF_OK;
}

static int take_string(char **dst, const char *src, size_t max, const char *name, struct store_task *t, char *err,
		       size_t errlen)
{
	if (empty(src) || !empty(*dst))
		return 0;
	struct slice s = slice_of(src);
	if (s.n > max || !store_meta_text_valid(s))
		return (errno = EINVAL),
		       store_err(err, errlen, t->meta_path, "bad %s (too long or control characters)", name);
	char *copy = strdup(src);
	if (!copy)
		return (errno = ENOMEM), store_err_sys(err, errlen, t->meta_path, name);
	free(*dst);
	*dst = copy;
	return 1;
}

int store_task_set_info(struct store_task *t, const struct store_task_info *in, char *err, size_t errlen)
{
	int changed = 0, rc;
	struct digest_spec spec = {0};
	uint8_t md5[DIGEST_MD5_LEN];
	if (!in)
		return 0;
	if (!empty(in->digest) && digest_spec_parse(in->digest, strlen(in->digest), &spec) != DF_OK)
		return (errno = EINVAL), store_err(err, errlen, t->meta_path, "bad digest '%s'", in->digest);
	if (!empty(in->md5) && digest_unhex(in->md5, strlen(in->md5), md5, sizeof md5) != DF_OK)
		return (errno = EINVAL), store_err(err, errlen, t->meta_path, "bad md5 '%s'", in->md5);
	if (in->length < -1)
		return (errno = EINVAL), store_err(err, errlen, t->meta_path, "bad length %lld", (long long)in->length);
	if (t->piece_size == 0) {
		if (in->piece_size == 0 || in->piece_size > STORE_MAX_PIECE_SIZE)
			return (errno = EINVAL),
			       store_err(err, errlen, t->meta_path, "bad piece size %u", in->piece_size);
		t->piece_size = in->piece_size;
		changed = 1;
	}
	if ((rc = take_string(&t->url, in->url, STORE_MAX_URL, "url", t, err, errlen)) < 0 ||
	    (changed |= rc, rc = take_string(&t->etag, in->etag, STORE_MAX_ETAG, "etag", t, err, errlen)) < 0 ||
	    (changed |= rc, rc = take_string(&t->last_modified, in->last_modified, STORE_MAX_LAST_MODIFIED,
					     "last_modified", t, err, errlen)) < 0)
		return DF_ERR;
	changed |= rc;
	if (spec.len == DIGEST_SHA256_LEN && !(t->flags & TASK_HAS_SHA256)) {
		memcpy(t->sha256, spec.bytes, DIGEST_SHA256_LEN);
		t->flags |= TASK_HAS_SHA256;
		changed = 1;
	}
	if (spec.len == DIGEST_MD5_LEN && !(t->flags & TASK_HAS_MD5)) {
		memcpy(t->md5, spec.bytes, DIGEST_MD5_LEN);
		t->flags |= TASK_HAS_MD5;
		changed = 1;
	}
	if (!empty(in->md5) && !(t->flags & TASK_HAS_MD5)) {
		memcpy(t->md5, md5, DIGEST_MD5_LEN);
		t->flags |= TASK_HAS_MD5;
		changed = 1;
	}
	if (t->length < 0 && in->length >= 0) {
		uint32_t count = (uint32_t)store_meta_piece_count(in->length, t->piece_size);
		if (length_fits(t, in->length, err, errlen) != DF_OK || store_task_reserve(t, count) != DF_OK)
			return store_err_sys(err, errlen, t->meta_path, "length");
		if (ftruncate(t->data_fd, in->length) != 0)
			return store_err_sys(err, errlen, t->data_path, "ftruncate");
		t->length = in->length;
		t->npieces = count;
		changed = 1;
	}
	store_task_refresh_info(t);
	return changed;
}

/* Does the stored task match what the caller believes about it? */
static int check_info(const struct store_task *t, const struct store_task_info *in, char *err, size_t errlen)
{
	errno = ESTALE;
	if (!in)
		return DF_OK;
	if (in->piece_size && in->piece_size != t->piece_size)
		return store_err(err, errlen, t->meta_path, "stored with piece size %u, not %u", t->piece_size,
				 in->piece_size);
	if (in->length >= 0 && t->length >= 0 && in->length != t->length)
		return store_err(err, errlen, t->meta_path, "stored with length %lld, not %lld", (long long)t->length,
				 (long long)in->length);
	if (!empty(in->etag) && !empty(t->etag) && strcmp(in->etag, t->etag) != 0)
		return store_err(err, errlen, t->meta_path, "stored with ETag %s, the source now has %s", t->etag,
				 in->etag);
	if (!empty(in->last_modified) && !empty(t->last_modified) && strcmp(in->last_modified, t->last_modified) != 0)
		return store_err(err, errlen, t->meta_path, "stored with Last-Modified %s, the source now has %s",
				 t->last_modified, in->last_modified);
	struct digest_spec spec;
	if (!empty(in->digest) && digest_spec_parse(in->digest, strlen(in->digest), &spec) == DF_OK) {
		int sha = spec.len == DIGEST_SHA256_LEN;
		if ((sha && (t->flags & TASK_HAS_SHA256) && memcmp(spec.bytes, t->sha256, spec.len) != 0) ||
		    (!sha && (t->flags & TASK_HAS_MD5) && memcmp(spec.bytes, t->md5, spec.len) != 0))
			return store_err(err, errlen, t->meta_path, "stored with digest %s, not %s", t->digest_str,
					 in->digest);
	}
	return DF_OK;
}

/* ---- piece state in memory ---- */

void store_task_mark(struct store_task *t, uint32_t n, const uint8_t *sum)
{
	if (!bitmap_get(t->present, n)) {
		bitmap_set(t->present, n);
		t->npresent++;
	}
	memcpy(t->sums + (size_t)n * STORE_META_SUM, sum, STORE_META_SUM);
	bitmap_clear(t->expected, n);
	if (t->length < 0 && n >= t->npieces)
		t->npieces = n + 1;
}

void store_task_drop(struct store_task *t, uint32_t n, const char *why)
{
	if (n >= t->npieces || !bitmap_get(t->present, n))
		return;
	bitmap_clear(t->present, n);
	memset(t->sums + (size_t)n * STORE_META_SUM, 0, STORE_META_SUM);
	t->npresent--;
	if (why)
		log_warn("store: %s: piece %u dropped: %s", t->data_path, n, why);
	if (t->writer) {
		char e[512];
		if (store_task_log(t, STORE_REC_DROP, n, NULL, e, sizeof e) != DF_OK)
			log_warn("%s", e);
	}
	if (t->length < 0)
		while (t->npieces > 0 && !bitmap_get(t->present, t->npieces - 1))
			t->npieces--;
}

int store_task_verify(struct store_task *t, const uint8_t *which)
{
	uint8_t *buf = malloc(STORE_IO_CHUNK);
	struct digest_xxh128_ctx c;
	uint8_t sum[STORE_META_SUM];
	int dropped = 0;
	if (!buf)
		return (errno = ENOMEM), DF_ERR;
	for (uint32_t n = 0; n < t->npieces; n++) {
		if (!bitmap_get(t->present, n) || (which && !bitmap_get(which, n)))
			continue;
		uint32_t len = store_task_piece_len(t, n);
		const char *why = NULL;
		digest_xxh128_init(&c);
		for (uint32_t off = 0; off < len && !why; off += STORE_IO_CHUNK) {
			size_t k = DF_MIN(STORE_IO_CHUNK, len - off);
			ssize_t r = store_pread_full(t->data_fd, buf, k, (uint64_t)n * t->piece_size + off);
			if (r != (ssize_t)k)
				why = r < 0 ? "read error" : "data file too short";
			else
				digest_xxh128_update(&c, buf, k);
		}
		if (!why) {
			digest_xxh128_final(&c, sum);
			if (memcmp(sum, t->sums + (size_t)n * STORE_META_SUM, STORE_META_SUM) != 0)
				why = "checksum mismatch on re-verification";
		}
		if (why) {
			store_task_drop(t, n, why);
			dropped++;
		}
	}
	free(buf);
	return dropped;
}

/* ---- length ---- */

int store_task_fix_length(struct store_task *t, int64_t length, uint32_t last, const uint8_t *sum, char *err,
			  size_t errlen)
{
	if (store_task_unpark(t, err, errlen) != DF_OK)
		return DF_ERR;
	if (length_fits(t, length, err, errlen) != DF_OK)
		return DF_ERR;
	uint32_t count = (uint32_t)store_meta_piece_count(length, t->piece_size);
	if (store_task_reserve(t, count) != DF_OK)
		return store_err_sys(err, errlen, t->meta_path, "length");
	if (ftruncate(t->data_fd, length) != 0)
		return store_err_sys(err, errlen, t->data_path, "ftruncate");
	uint32_t old_n = t->npieces;
	t->length = length;
	t->npieces = count;
	if (last != UINT32_MAX)
		store_task_mark(t, last, sum);
	if (store_task_snapshot(t, err, errlen) != DF_OK) {
		int saved = errno;
		if (last != UINT32_MAX) {
			bitmap_clear(t->present, last);
			memset(t->sums + (size_t)last * STORE_META_SUM, 0, STORE_META_SUM);
			t->npresent--;
		}
		t->length = -1;
		t->npieces = old_n;
		errno = saved;
		return DF_ERR;
	}
	store_task_refresh_info(t);
	return DF_OK;
}

/* ---- open and close ---- */

/* Opens the data file and takes its locks: in use (flock shared) and, unless read-only, the
 * writer lock when nobody else has it. Retries when GC evicts the file between open and flock. */
static int lock_open(struct store_task *t, int flags, int *created, char *err, size_t errlen)
{
	int rdonly = (flags & STORE_RDONLY) != 0;
	struct stat a, b;
	*created = 0;
	for (int tries = 0; tries < 16 && t->data_fd < 0; tries++) {
		int fd = open(t->data_path, (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0 && errno == EACCES && !rdonly)
			fd = open(t->data_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && (flags & STORE_CREATE)) {
			fd = open(t->data_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, STORE_FILE_MODE);
			if (fd < 0 && errno == EEXIST)
				continue;
			if (fd < 0 && errno == ENOENT && tries < 15) {
				/* GC removed the emptied folder meanwhile: make it again */
				char *slash = strrchr(t->data_path, '/');
				*slash = 0;
				(void)store_mkdir(t->data_path, STORE_DIR_MODE);
				*slash = '/';
				continue;
			}
			*created = fd >= 0;
		}
		if (fd < 0 && errno == ENOENT)
			return store_err(err, errlen, t->meta_path, "no such task");
		if (fd < 0)
			return store_err_sys(err, errlen, t->data_path, "open");
		while (flock(fd, LOCK_SH) != 0) {
			if (errno != EINTR) {
				int saved = errno;
				close(fd);
				errno = saved;
				return store_err_sys(err, errlen, t->data_path, "flock");
			}
		}
		if (fstat(fd, &a) == 0 && stat(t->data_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			t->data_fd = fd;
		else
			close(fd);
	}
	if (t->data_fd < 0) {
		errno = EBUSY;
		return store_err(err, errlen, t->data_path, "replaced again and again while opening");
	}
	if (rdonly || (fcntl(t->data_fd, F_GETFL) & O_ACCMODE) != O_RDWR)
		return DF_OK;
	int rc = store_lock_writer(t->data_fd);
	if (rc == DF_ERR)
		return store_err_sys(err, errlen, t->data_path, "lock");
	t->writer = rc == DF_OK;
	return DF_OK;
}

static int create(struct store_task *t, const struct store_task_info *info, char *err, size_t errlen)
{
	if (!info || info->piece_size == 0) {
		errno = EINVAL;
		return store_err(err, errlen, t->meta_path, "cannot create a task without a piece size");
	}
	/* an orphan data file (a crash before its metadata existed) may hold old bytes: drop them */
	if (ftruncate(t->data_fd, 0) != 0)
		return store_err_sys(err, errlen, t->data_path, "ftruncate");
	if (store_task_reserve(t, 1) != DF_OK)
		return store_err_sys(err, errlen, t->meta_path, "create");
	if (store_task_set_info(t, info, err, errlen) < 0)
		return DF_ERR;
	return store_task_snapshot(t, err, errlen);
}

/* After load: drop what cannot be right (pieces past the data file's end, pieces that fail
 * re-verification after an unclean shutdown), fix the data file's size, write a clean snapshot. */
static int recover(struct store_task *t, const uint8_t *logged, char *err, size_t errlen)
{
	struct stat st;
	int dropped = 0, changed = 0;
	if (fstat(t->data_fd, &st) != 0)
		return store_err_sys(err, errlen, t->data_path, "fstat");
	uint32_t beyond = 0;
	for (uint32_t n = 0; n < t->npieces; n++) {
		if (bitmap_get(t->present, n) &&
		    (uint64_t)n * t->piece_size + store_task_piece_len(t, n) > (uint64_t)st.st_size) {
			store_task_drop(t, n, NULL);
			beyond++;
		}
	}
	if (beyond)
		log_warn("store: %s: data file is %lld bytes, shorter than its metadata says: %u pieces dropped",
			 t->data_path, (long long)st.st_size, beyond);
	dropped += (int)beyond;
	/* a live writer's pieces are right (its data is in the page cache we read from) */
	if (t->writer || !store_writer_alive(t->data_fd)) {
		int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		int n = 0;
		changed = !t->session_logged &&
			  ((uint64_t)st.st_size != t->snap_data_size || mtime != t->snap_data_mtime_ns);
		if (changed) {
			log_warn("store: %s: changed since its last snapshot: verifying every piece", t->data_path);
			n = store_task_verify(t, NULL);
		} else if (logged) {
			log_info("store: %s: recovering from an unclean shutdown: re-verifying logged pieces",
				 t->data_path);
			n = store_task_verify(t, logged);
		}
		if (n < 0)
			return store_err_sys(err, errlen, t->data_path, "verify");
		dropped += n;
	}
	if (!t->writer)
		return DF_OK;
	if (t->length >= 0 && st.st_size != t->length && ftruncate(t->data_fd, t->length) != 0)
		return store_err_sys(err, errlen, t->data_path, "ftruncate");
	if (t->log_records || t->meta_torn || dropped || changed || (t->length >= 0 && st.st_size != t->length)) {
		char e[512];
		if (store_task_snapshot(t, e, sizeof e) != DF_OK)
			log_warn("%s (recovered in memory only)", e);
	}
	return DF_OK;
}

struct store_task *store_task_open(struct store *s, const char *id, const struct store_task_info *info, int flags,
				   char *err, size_t errlen)
{
	struct store_task *t;
	uint8_t *logged = NULL;
	int created = 0;
	if (!id || !store_meta_id_valid(slice_of(id))) {
		errno = EINVAL;
		store_err(err, errlen, s->root, "invalid task id '%s' (1 to 64 lower-case hex digits)", id ? id : "");
		return NULL;
	}
	for (t = s->tasks; t; t = t->next) {
		if (strcmp(t->id, id) == 0) {
			if (check_info(t, info, err, errlen) != DF_OK)
				return NULL;
			t->refs++;
			return t;
		}
	}
	if (!(t = calloc(1, sizeof *t))) {
		errno = ENOMEM;
		store_err_sys(err, errlen, s->root, id);
		return NULL;
	}
	t->store = s;
	t->refs = 1;
	t->data_fd = t->meta_fd = -1;
	t->length = -1;
	if (store_task_path_alloc(t, s->root, id) != DF_OK) {
		store_err_sys(err, errlen, s->root, id);
		free(t);
		return NULL;
	}
	if (flags & STORE_CREATE) {
		char *slash = strrchr(t->data_path, '/');
		*slash = 0;
		int rc = store_mkdir(t->data_path, STORE_DIR_MODE);
		if (rc != DF_OK)
			store_err_sys(err, errlen, t->data_path, "mkdir");
		*slash = '/';
		if (rc != DF_OK)
			goto fail;
	}
	if (lock_open(t, flags, &created, err, errlen) != DF_OK)
		goto fail;
	t->meta_fd = open(t->meta_path, (t->writer ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (t->meta_fd < 0 && errno == ENOENT) {
		if (!(flags & STORE_CREATE)) {
			store_err(err, errlen, t->meta_path, "no such task");
			goto fail;
		}
		if (!t->writer) {
			errno = EBUSY;
			store_err(err, errlen, t->meta_path, "being created by another process");
			goto fail;
		}
		if (create(t, info, err, errlen) != DF_OK)
			goto fail;
		t->made_here = 1;
	} else if (t->meta_fd < 0) {
		store_err_sys(err, errlen, t->meta_path, "open");
		goto fail;
	} else {
		created = 0;
		if (store_task_load(t, t->meta_fd, t->meta_path, &logged, err, errlen) != DF_OK ||
		    recover(t, logged, err, errlen) != DF_OK || check_info(t, info, err, errlen) != DF_OK)
			goto fail;
		if (t->writer) {
			int rc = store_task_set_info(t, info, err, errlen);
			if (rc < 0 || (rc > 0 && store_task_snapshot(t, err, errlen) != DF_OK))
				goto fail;
		}
	}
	free(logged);
	store_task_refresh_info(t);
	store_touch(t->meta_path);
	t->next = s->tasks;
	s->tasks = t;
	return t;
fail:
	free(logged);
	if (created) {
		/* nobody else can have used a data file we created that has no metadata yet */
		int saved = errno;
		unlink(t->data_path);
		errno = saved;
	}
	store_task_free(t);
	return NULL;
}

void store_task_close(struct store_task *t)
{
	if (!t || --t->refs > 0)
		return;
	if (t->detached) { /* no files, no locks, on no list */
		store_task_free(t);
		return;
	}
	struct store_task **pp = &t->store->tasks;
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
	if (t->nbusy)
		log_warn("store: %s: closed with %u pieces still being written", t->data_path, t->nbusy);
	if (t->writer && (t->log_records || t->meta_torn)) {
		char e[512];
		if (store_task_snapshot(t, e, sizeof e) != DF_OK)
			log_warn("%s (the log keeps the state)", e);
	}
	store_touch(t->meta_path);
	store_task_free(t);
}

int store_task_detach(struct store_task *t, char *err, size_t errlen)
{
	if (t->detached)
		return DF_OK;
	if (t->refs != 1 || t->nbusy) {
		errno = EBUSY;
		return store_err(err, errlen, t->meta_path, "cannot let go of the files: %s",
				 t->nbusy ? "pieces are being written" : "other handles in this process hold it");
	}
	if (!store_task_complete(t)) {
		errno = EINVAL;
		return store_err(err, errlen, t->meta_path, "cannot let go of the files of an incomplete task");
	}
	/* what the last close does (a clean snapshot, the last-use time, the locks released), minus the free */
	if (t->writer && (t->log_records || t->meta_torn)) {
		char e[512];
		if (store_task_snapshot(t, e, sizeof e) != DF_OK)
			log_warn("%s (the log keeps the state)", e);
	}
	store_touch(t->meta_path);
	store_task_let_go(t);
	return DF_OK;
}

void store_task_let_go(struct store_task *t)
{
	struct store_task **pp = &t->store->tasks;
	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp)
		*pp = t->next;
	t->next = NULL;
	if (t->data_fd >= 0)
		close(t->data_fd);
	if (t->meta_fd >= 0)
		close(t->meta_fd);
	t->data_fd = t->meta_fd = -1;
	t->writer = 0;
	/* the checksums stay, as those the pieces must have */
	size_t nb = bitmap_bytes(t->npieces);
	for (size_t i = 0; i < nb; i++) {
		t->expected[i] |= t->present[i];
		t->present[i] = 0;
	}
	t->npresent = 0;
	t->detached = 1;
	t->parked = 0;
}

int store_task_detached(const struct store_task *t)
{
	return t->detached;
}

int store_task_park(struct store_task *t, char *err, size_t errlen)
{
	struct stat ds, ms;
	if (t->parked || t->detached)
		return DF_OK;
	if (t->nbusy) {
		errno = EBUSY;
		return store_err(err, errlen, t->meta_path, "cannot close the files: pieces are being written");
	}
	if (!store_task_complete(t)) {
		errno = EINVAL;
		return store_err(err, errlen, t->meta_path, "cannot close the files of an incomplete task");
	}
	/* the metadata file is left as a reopen will find it: a clean snapshot, no log to go on with */
	if (t->writer && (t->log_records || t->meta_torn) && store_task_snapshot(t, err, errlen) != DF_OK)
		return DF_ERR;
	if (fstat(t->data_fd, &ds) != 0 || fstat(t->meta_fd, &ms) != 0)
		return store_err_sys(err, errlen, t->data_path, "fstat");
	t->park_dev = ds.st_dev;
	t->park_ino = ds.st_ino;
	t->park_meta_ino = ms.st_ino;
	t->park_ctime = ds.st_ctim;
	close(t->data_fd); /* releases the flock and the writer lock */
	close(t->meta_fd);
	t->data_fd = t->meta_fd = -1;
	t->parked = 1;
	/* unlocked now: another process's GC may evict it, least recently used first, by this time */
	store_touch(t->meta_path);
	return DF_OK;
}

/* Is ds the data file t parked? The inode number alone is not enough: a file removed and made
 * again at once often gets the freed inode back. A complete task's data file is not written while
 * parked, so its change time stays; a new file's is its creation (on a file system with whole-second
 * times a new file made within the same second still passes: its pieces' checksums catch it). */
static int parked_same(const struct store_task *t, const struct stat *ds)
{
	return ds->st_dev == t->park_dev && ds->st_ino == t->park_ino && ds->st_ctim.tv_sec == t->park_ctime.tv_sec &&
	       ds->st_ctim.tv_nsec == t->park_ctime.tv_nsec;
}

int store_task_parked(const struct store_task *t)
{
	return t->parked;
}

int store_task_parked_gone(const struct store_task *t)
{
	struct stat ds;
	if (!t->parked)
		return 0;
	return stat(t->data_path, &ds) != 0 || !parked_same(t, &ds);
}

int store_task_unpark(struct store_task *t, char *err, size_t errlen)
{
	struct stat ds, ms;
	int created;
	if (!t->parked)
		return DF_OK;
	/* a writer asks for the writer lock again; without it (another process took it meanwhile)
	 * the handle goes on read-only */
	if (lock_open(t, t->writer ? 0 : STORE_RDONLY, &created, err, errlen) != DF_OK)
		return DF_ERR;
	t->meta_fd = open(t->meta_path, (t->writer ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (t->meta_fd < 0) {
		store_err_sys(err, errlen, t->meta_path, "open again");
		goto fail;
	}
	if (fstat(t->data_fd, &ds) != 0 || fstat(t->meta_fd, &ms) != 0) {
		store_err_sys(err, errlen, t->data_path, "fstat");
		goto fail;
	}
	if (!parked_same(t, &ds) || ms.st_ino != t->park_meta_ino) {
		/* removed and made again, or rewritten by another process: what memory says may be stale */
		errno = ESTALE;
		store_err(err, errlen, t->meta_path, "replaced by another process while its files were closed");
		goto fail;
	}
	t->parked = 0;
	return DF_OK;
fail : {
	int saved = errno;
	if (t->data_fd >= 0)
		close(t->data_fd);
	if (t->meta_fd >= 0)
		close(t->meta_fd);
	t->data_fd = t->meta_fd = -1;
	errno = saved;
	return DF_ERR;
}
}

/* ---- state ---- */

const char *store_task_id(const struct store_task *t)
{
	return t->id;
}
const struct store_task_info *store_task_info(const struct store_task *t)
{
	return &t->info;
}
int store_task_writable(const struct store_task *t)
{
	return t->writer;
}
int64_t store_task_length(const struct store_task *t)
{
	return t->length;
}
uint32_t store_task_piece_size(const struct store_task *t)
{
	return t->piece_size;
}
uint32_t store_task_piece_count(const struct store_task *t)
{
	return t->length >= 0 ? t->npieces : 0;
}
uint32_t store_task_pieces_seen(const struct store_task *t)
{
	return t->npieces;
}
uint32_t store_task_present(const struct store_task *t)
{
	return t->npresent;
}

uint32_t store_task_piece_len(const struct store_task *t, uint32_t n)
{
	if (t->length < 0)
		return n < STORE_MAX_PIECES ? t->piece_size : 0;
	if (n >= t->npieces)
		return 0;
	if (n + 1 < t->npieces)
		return t->piece_size;
	return (uint32_t)((uint64_t)t->length - (uint64_t)n * t->piece_size);
}

int store_task_has(const struct store_task *t, uint32_t n)
{
	return n < t->npieces && bitmap_get(t->present, n);
}

const uint8_t *store_task_bitmap(const struct store_task *t, size_t *nbytes)
{
	*nbytes = bitmap_bytes(t->npieces);
	return t->present;
}

uint64_t store_task_present_bytes(const struct store_task *t)
{
	uint64_t b = (uint64_t)t->npresent * t->piece_size;
	if (t->length >= 0 && t->npieces && bitmap_get(t->present, t->npieces - 1))
		b -= t->piece_size - store_task_piece_len(t, t->npieces - 1);
	return b;
}

int store_task_complete(const struct store_task *t)
{
	return t->length >= 0 && t->npresent == t->npieces;
}

int store_task_expect(struct store_task *t, uint32_t n, const uint8_t sum[STORE_SUM_LEN], char *err, size_t errlen)
{
	if (store_task_piece_len(t, n) == 0) {
		errno = EINVAL;
		return store_err(err, errlen, t->meta_path, "piece %u is past the end (%u pieces)", n, t->npieces);
	}
	if (store_task_has(t, n)) {
		if (memcmp(t->sums + (size_t)n * STORE_META_SUM, sum, STORE_META_SUM) == 0)
			return DF_OK;
		errno = EBADMSG;
		return store_err(err, errlen, t->meta_path, "piece %u is present with a different checksum", n);
	}
	if (store_task_reserve(t, n + 1) != DF_OK)
		return store_err_sys(err, errlen, t->meta_path, "expect");
	memcpy(t->sums + (size_t)n * STORE_META_SUM, sum, STORE_META_SUM);
	bitmap_set(t->expected, n);
	return DF_OK;
}

int store_task_checksum(const struct store_task *t, uint32_t n, uint8_t sum[STORE_SUM_LEN])
{
	if (!store_task_has(t, n))
		return (errno = ENOENT), DF_ERR;
	memcpy(sum, t->sums + (size_t)n * STORE_META_SUM, STORE_META_SUM);
	return DF_OK;
}

int store_task_sum(const struct store_task *t, uint32_t n, uint8_t sum[STORE_SUM_LEN])
{
	if (n >= t->npieces || !(bitmap_get(t->present, n) || bitmap_get(t->expected, n)))
		return (errno = ENOENT), DF_ERR;
	memcpy(sum, t->sums + (size_t)n * STORE_META_SUM, STORE_META_SUM);
	return DF_OK;
}

static int need_writer(const struct store_task *t, char *err, size_t errlen)
{
	if (t->writer)
		return DF_OK;
	errno = EBUSY;
	return store_err(err, errlen, t->meta_path,
			 "read-only handle: another process writes this task, or it was opened read-only");
}

int store_task_set_length(struct store_task *t, int64_t length, char *err, size_t errlen)
{
	if (t->length >= 0 && t->length == length)
		return DF_OK;
	if (need_writer(t, err, errlen) != DF_OK)
		return DF_ERR;
	if (t->length >= 0) {
		errno = EINVAL;
		return store_err(err, errlen, t->meta_path, "length is already %lld, not %lld", (long long)t->length,
				 (long long)length);
	}
	return store_task_fix_length(t, length, UINT32_MAX, NULL, err, errlen);
}

int store_task_set_digests(struct store_task *t, const uint8_t md5[DIGEST_MD5_LEN],
			   const uint8_t sha256[DIGEST_SHA256_LEN], char *err, size_t errlen)
{
	if (need_writer(t, err, errlen) != DF_OK)
		return DF_ERR;
	uint32_t old_flags = t->flags;
	uint8_t old_md5[DIGEST_MD5_LEN], old_sha[DIGEST_SHA256_LEN];
	memcpy(old_md5, t->md5, sizeof old_md5);
	memcpy(old_sha, t->sha256, sizeof old_sha);
	if (md5) {
		memcpy(t->md5, md5, DIGEST_MD5_LEN);
		t->flags |= TASK_HAS_MD5;
	}
	if (sha256) {
		memcpy(t->sha256, sha256, DIGEST_SHA256_LEN);
		t->flags |= TASK_HAS_SHA256;
	}
	if (store_task_snapshot(t, err, errlen) != DF_OK) {
		int saved = errno;
		t->flags = old_flags;
		memcpy(t->md5, old_md5, sizeof old_md5);
		memcpy(t->sha256, old_sha, sizeof old_sha);
		errno = saved;
		return DF_ERR;
	}
	store_task_refresh_info(t);
	return DF_OK;
}
