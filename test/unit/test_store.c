/* Unit tests of the piece store: each rule of store/store.h on a real filesystem under the unit
 * scratch directory. Crashes are simulated by a child that _exit()s without closing (as SIGKILL
 * would); privileges are dropped in children to see permission errors as a user would. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include "core/df.h"
#include "core/digest.h"
#include "store/internal.h"
#include "store/store.h"
#include "test/unit/unit.h"

static char err[1024];

/* ---- helpers ---- */

static const char *path_in(const char *fmt, const char *a)
{
	static char bufs[4][1024];
	static int k;
	char *p = bufs[k++ % 4];
	char rel[512];
	snprintf(rel, sizeof rel, fmt, a);
	snprintf(p, 1024, "%s/%s", unit_tmpdir(), rel);
	return p;
}

static struct store *store_at(const char *name)
{
	struct store *s = store_open(path_in("%s", name), err, sizeof err);
	if (!s)
		fprintf(stderr, "    store_open: %s\n", err);
	return s;
}

/* The test content: byte i of a task is a function of i and a seed. */
static void content(uint8_t *buf, uint64_t off, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t x = off + i;
		buf[i] = (uint8_t)((x * 2654435761u) >> 13 ^ x >> 7 ^ seed);
	}
}

static struct store_task *create(struct store *s, const char *id, int64_t length, uint32_t ps)
{
	struct store_task_info info = {.length = length, .piece_size = ps, .url = "http://src/file", .etag = "\"e1\""};
	struct store_task *t = store_task_open(s, id, &info, STORE_CREATE, err, sizeof err);
	if (!t)
		fprintf(stderr, "    store_task_open %s: %s\n", id, err);
	return t;
}

static int put(struct store_task *t, uint32_t n, uint32_t seed)
{
	static uint8_t buf[1 << 16];
	uint32_t len = store_task_piece_len(t, n);
	if (len > sizeof buf)
		return DF_ERR;
	content(buf, (uint64_t)n * store_task_piece_size(t), len, seed);
	int rc = store_piece_write(t, n, buf, len, NULL, err, sizeof err);
	if (rc != DF_OK)
		fprintf(stderr, "    put %u: %s\n", n, err);
	return rc;
}

/* Does present piece n hold exactly the test content? */
static int piece_ok(struct store_task *t, uint32_t n, uint32_t seed)
{
	static uint8_t got[1 << 16], want[1 << 16];
	uint32_t len = store_task_piece_len(t, n);
	content(want, (uint64_t)n * store_task_piece_size(t), len, seed);
	if (store_piece_read(t, n, 0, got, len, err, sizeof err) != DF_OK)
		return 0;
	return memcmp(got, want, len) == 0;
}

static void sum_of(struct store_task *t, uint32_t n, uint32_t seed, uint8_t sum[16])
{
	static uint8_t buf[1 << 16];
	uint32_t len = store_task_piece_len(t, n);
	content(buf, (uint64_t)n * store_task_piece_size(t), len, seed);
	digest_xxh128(buf, len, sum);
}

static void corrupt(const char *path, uint64_t off)
{
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, "XYZ", 3, (off_t)off), 3);
	close(fd);
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static int has_str(const char *s, const char *needle)
{
	return strstr(s, needle) != NULL;
}

/* Runs fn in a child process; returns its exit status (0 = the child's checks passed). */
static int in_child(void (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		unit_failed_checks = 0;
		fn(arg);
		_exit(unit_failed_checks ? 1 : 0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- the store root ---- */

static void child_as_nobody(void *arg)
{
	(void)arg;
	CHECK_EQ(setgid(65534), 0);
	CHECK_EQ(setuid(65534), 0);
	char buf[256];
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	CHECK_EQ(store_default_root(buf, sizeof buf), DF_OK);
	CHECK_STR(buf, "/xdg/df");
	setenv("XDG_CACHE_HOME", "relative", 1);
	setenv("HOME", "/home/u", 1);
	CHECK_EQ(store_default_root(buf, sizeof buf), DF_OK);
	CHECK_STR(buf, "/home/u/.cache/df");
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	CHECK_EQ(store_default_root(buf, sizeof buf), DF_ERR);

	/* a directory this user may not write */
	const char *ro = path_in("%s", "ro");
	CHECK(store_open(ro, err, sizeof err) == NULL);
	CHECK(has_str(err, ro));
	CHECK(has_str(err, "Permission denied"));
	const char *below = path_in("%s", "ro/sub/store");
	CHECK(store_open(below, err, sizeof err) == NULL);
	CHECK(has_str(err, "cannot create"));
}

static void root_checks(void)
{
	char buf[256];
	if (geteuid() == 0) {
		CHECK_EQ(store_default_root(buf, sizeof buf), DF_OK);
		CHECK_STR(buf, "/var/lib/df");
	}
	CHECK_EQ(store_default_root(buf, 4), DF_ERR);

	/* created when missing, nested */
	struct store *s = store_at("a/b/c/");
	CHECK(s != NULL);
	CHECK(exists(path_in("%s", "a/b/c/tasks")));
	CHECK_STR(store_root(s), path_in("%s", "a/b/c"));
	store_close(s);

	/* a file where the root should be */
	const char *file = path_in("%s", "plainfile");
	close(open(file, O_CREAT | O_WRONLY, 0644));
	CHECK(store_open(file, err, sizeof err) == NULL);
	CHECK_EQ(errno, ENOTDIR);
	CHECK(has_str(err, file));
	CHECK(has_str(err, "not a directory"));
	CHECK(store_open(path_in("%s", "plainfile/x"), err, sizeof err) == NULL);
	CHECK(has_str(err, "Not a directory"));
	CHECK(store_open("", err, sizeof err) == NULL);

	if (geteuid() == 0) {
		CHECK_EQ(chmod(unit_tmpdir(), 0755), 0);
		CHECK_EQ(mkdir(path_in("%s", "ro"), 0555), 0);
		CHECK_EQ(in_child(child_as_nobody, NULL), 0);
	}
}

/* ---- writing and reading ---- */

static void write_read(void)
{
	struct store *s = store_at("wr");
	struct store_task *t = create(s, "00aa", 10000, 1024);
	uint8_t sum[16], want[16];
	size_t nb;
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(store_task_writable(t));
	CHECK_EQ(store_task_piece_count(t), 10);
	CHECK_EQ(store_task_piece_len(t, 9), 10000 - 9 * 1024);
	CHECK_EQ(store_task_piece_len(t, 10), 0);
	CHECK_EQ(store_task_present(t), 0);
	CHECK(!store_task_complete(t));
	const uint32_t order[] = {7, 0, 9, 3, 1, 8, 2, 6, 4, 5};
	for (size_t i = 0; i < 10; i++) {
		/* streaming: odd-sized chunks */
		struct store_piece_writer w;
		uint8_t buf[1024];
		uint32_t n = order[i], len = store_task_piece_len(t, n);
		content(buf, (uint64_t)n * 1024, len, 1);
		CHECK_EQ(store_piece_begin(&w, t, n, err, sizeof err), DF_OK);
		for (uint32_t off = 0; off < len; off += 333)
			CHECK_EQ(store_piece_append(&w, buf + off, DF_MIN(333u, len - off), err, sizeof err), DF_OK);
		CHECK_EQ(store_piece_finish(&w, NULL, err, sizeof err), DF_OK);
		CHECK(store_task_has(t, n));
		if (i == 2) {
			const uint8_t *bm = store_task_bitmap(t, &nb);
			CHECK_EQ(nb, 2);
			CHECK_EQ(bm[0], 0x81); /* pieces 0 and 7 */
			CHECK_EQ(bm[1], 0x40); /* piece 9 */
		}
	}
	CHECK(store_task_complete(t));
	CHECK_EQ(store_task_present_bytes(t), 10000);
	for (uint32_t n = 0; n < 10; n++) {
		CHECK(piece_ok(t, n, 1));
		CHECK_EQ(store_task_checksum(t, n, sum), DF_OK);
		sum_of(t, n, 1, want);
		CHECK(memcmp(sum, want, 16) == 0);
	}
	/* a sub-range */
	uint8_t part[100], exp[100];
	CHECK_EQ(store_piece_read(t, 3, 500, part, 100, err, sizeof err), DF_OK);
	content(exp, 3 * 1024 + 500, 100, 1);
	CHECK(memcmp(part, exp, 100) == 0);
	CHECK_EQ(store_piece_read(t, 3, 1000, part, 100, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(store_piece_read(t, 9, 0, part, 100, err, sizeof err), DF_OK);
	/* the data file is exactly the content */
	struct stat st;
	CHECK_EQ(stat(path_in("%s", "wr/tasks/00/00aa.data"), &st), 0);
	CHECK_EQ(st.st_size, 10000);
	store_task_close(t);
	store_close(s);
}

static void writer_rules(void)
{
	struct store *s = store_at("rules");
	struct store_task *t = create(s, "01", 4000, 1000);
	struct store_piece_writer w1, w2, w3;
	uint8_t a[1000], b[1000], sum[16];
	if (!t)
		return;
	content(a, 0, 1000, 2);
	content(b, 1000, 1000, 2);
	/* two writers on different pieces, interleaved */
	CHECK_EQ(store_piece_begin(&w1, t, 0, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_begin(&w2, t, 1, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_begin(&w3, t, 1, err, sizeof err), DF_ERR); /* piece 1 is taken */
	CHECK_EQ(errno, EBUSY);
	CHECK(has_str(err, "being written"));
	CHECK_EQ(store_piece_append(&w1, a, 500, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_append(&w2, b, 700, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_append(&w1, a + 500, 500, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_append(&w2, b + 700, 300, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_append(&w2, b, 1, err, sizeof err), DF_ERR); /* one byte too many */
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(store_piece_finish(&w2, NULL, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_finish(&w1, NULL, err, sizeof err), DF_OK);
	CHECK(piece_ok(t, 0, 2) && piece_ok(t, 1, 2));
	/* present pieces are never rewritten */
	CHECK_EQ(store_piece_begin(&w1, t, 1, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, EEXIST);
	/* past the end */
	CHECK_EQ(store_piece_begin(&w1, t, 4, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, EINVAL);
	/* short piece with a known length */
	CHECK_EQ(store_piece_begin(&w1, t, 2, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_append(&w1, a, 999, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_finish(&w1, NULL, err, sizeof err), DF_ERR);
	CHECK(has_str(err, "999 bytes"));
	CHECK(!store_task_has(t, 2));
	/* abort leaves the piece absent and free */
	CHECK_EQ(store_piece_begin(&w1, t, 2, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_append(&w1, a, 10, err, sizeof err), DF_OK);
	store_piece_abort(&w1);
	store_piece_abort(&w1); /* idle: harmless */
	CHECK(!store_task_has(t, 2));
	CHECK_EQ(store_piece_append(&w1, a, 10, err, sizeof err), DF_ERR);
	CHECK_EQ(store_piece_finish(&w1, NULL, err, sizeof err), DF_ERR);
	/* a wrong expected checksum: refused with a reason, piece absent */
	content(a, 2000, 1000, 2);
	memset(sum, 0x5a, sizeof sum);
	CHECK_EQ(store_piece_write(t, 2, a, 1000, sum, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, EBADMSG);
	CHECK(has_str(err, "checksum mismatch"));
	CHECK(has_str(err, "piece 2"));
	CHECK(!store_task_has(t, 2));
	CHECK_EQ(store_piece_read(t, 2, 0, b, 10, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, ENOENT);
	/* the supernode's checksum, given ahead */
	CHECK_EQ(store_task_expect(t, 2, sum, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_write(t, 2, a, 1000, NULL, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, EBADMSG);
	digest_xxh128(a, 1000, sum);
	CHECK_EQ(store_task_expect(t, 2, sum, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_write(t, 2, a, 1000, NULL, err, sizeof err), DF_OK);
	CHECK(piece_ok(t, 2, 2));
	/* once present, a different expectation is a conflict; the same is fine */
	CHECK_EQ(store_task_expect(t, 2, sum, err, sizeof err), DF_OK);
	sum[0] ^= 1;
	CHECK_EQ(store_task_expect(t, 2, sum, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, EBADMSG);
	CHECK_EQ(store_task_expect(t, 4, sum, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, EINVAL);
	/* an explicit expected checksum wins over the stored expectation */
	content(a, 3000, 1000, 2);
	memset(sum, 1, sizeof sum);
	CHECK_EQ(store_task_expect(t, 3, sum, err, sizeof err), DF_OK);
	digest_xxh128(a, 1000, sum);
	CHECK_EQ(store_piece_write(t, 3, a, 1000, sum, err, sizeof err), DF_OK);
	CHECK(store_task_complete(t));
	store_task_close(t);
	store_close(s);
}

static void sendfile_and_span(void)
{
	struct store *s = store_at("send");
	struct store_task *t = create(s, "02", 3000, 1024);
	int sv[2], fd;
	uint64_t off;
	uint32_t len;
	uint8_t got[2048], want[2048];
	if (!t)
		return;
	CHECK_EQ(put(t, 1, 3), DF_OK);
	CHECK_EQ(store_piece_span(t, 1, &fd, &off, &len), DF_OK);
	CHECK_EQ(off, 1024);
	CHECK_EQ(len, 1024);
	CHECK_EQ(store_piece_span(t, 0, &fd, &off, &len), DF_ERR);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_EQ(store_piece_sendfile(t, 1, 0, sv[0], 1024, err, sizeof err), 1024);
	CHECK_EQ(read(sv[1], got, sizeof got), 1024);
	content(want, 1024, 1024, 3);
	CHECK(memcmp(got, want, 1024) == 0);
	/* from an offset, clamped to the piece */
	CHECK_EQ(store_piece_sendfile(t, 1, 1000, sv[0], 500, err, sizeof err), 24);
	CHECK_EQ(read(sv[1], got, sizeof got), 24);
	CHECK(memcmp(got, want + 1000, 24) == 0);
	CHECK_EQ(store_piece_sendfile(t, 0, 0, sv[0], 10, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, ENOENT);
	/* a full non-blocking socket says DF_AGAIN */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	ssize_t r;
	int rounds = 0;
	while ((r = store_piece_sendfile(t, 1, 0, sv[0], 1024, err, sizeof err)) > 0 && rounds < 100000)
		rounds++;
	CHECK_EQ(r, DF_AGAIN);
	close(sv[0]);
	close(sv[1]);
	store_task_close(t);
	store_close(s);
}

/* ---- persistence, recovery, bad input ---- */

static void reopen_persists(void)
{
	struct store *s = store_at("re");
	struct store_task_info info = {
		.length = 5000,
		.piece_size = 1000,
		.url = "http://h/x",
		.etag = "\"v1\"",
		.last_modified = "Mon, 01 Jan 2024 00:00:00 GMT",
		.digest = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		.md5 = "900150983cd24fb0d6963f7d28e17f72"};
	struct store_task *t = store_task_open(s, "0a0b", &info, STORE_CREATE, err, sizeof err), *t2;
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_EQ(put(t, 1, 4), DF_OK);
	CHECK_EQ(put(t, 3, 4), DF_OK);
	/* same id again in one store: the same handle */
	t2 = store_task_open(s, "0a0b", NULL, 0, err, sizeof err);
	CHECK(t2 == t);
	store_task_close(t2);
	store_task_close(t);
	store_close(s);

	s = store_at("re");
	t = store_task_open(s, "0a0b", NULL, 0, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	const struct store_task_info *i = store_task_info(t);
	CHECK_EQ(i->length, 5000);
	CHECK_EQ(i->piece_size, 1000);
	CHECK_STR(i->url, "http://h/x");
	CHECK_STR(i->etag, "\"v1\"");
	CHECK_STR(i->last_modified, "Mon, 01 Jan 2024 00:00:00 GMT");
	CHECK_STR(i->digest, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_STR(i->md5, "900150983cd24fb0d6963f7d28e17f72");
	CHECK_EQ(store_task_present(t), 2);
	CHECK(store_task_has(t, 1) && store_task_has(t, 3) && !store_task_has(t, 0));
	CHECK(piece_ok(t, 1, 4) && piece_ok(t, 3, 4));
	CHECK_EQ(put(t, 0, 4), DF_OK);
	store_task_close(t);

	/* what the caller believes must match what is stored */
	struct store_task_info other = info;
	other.etag = "\"v2\"";
	CHECK(store_task_open(s, "0a0b", &other, STORE_CREATE, err, sizeof err) == NULL);
	CHECK_EQ(errno, ESTALE);
	CHECK(has_str(err, "ETag"));
	other = info;
	other.piece_size = 999;
	CHECK(store_task_open(s, "0a0b", &other, 0, err, sizeof err) == NULL);
	CHECK_EQ(errno, ESTALE);
	other = info;
	other.length = 5001;
	CHECK(store_task_open(s, "0a0b", &other, 0, err, sizeof err) == NULL);
	CHECK(has_str(err, "length"));
	other = info;
	other.digest = "md5:00000000000000000000000000000000";
	CHECK(store_task_open(s, "0a0b", &other, 0, err, sizeof err) == NULL);
	CHECK(has_str(err, "digest"));
	/* ...and when it does, or is silent, it opens */
	other = (struct store_task_info){.length = -1};
	t = store_task_open(s, "0a0b", &other, 0, err, sizeof err);
	CHECK(t != NULL);
	CHECK_EQ(store_task_present(t), 3);
	store_task_close(t);

	/* not there, bad ids, bad info */
	CHECK(store_task_open(s, "0c", NULL, 0, err, sizeof err) == NULL);
	CHECK_EQ(errno, ENOENT);
	CHECK(has_str(err, "no such task"));
	CHECK(!exists(path_in("%s", "re/tasks/0c/0c.data")));
	CHECK(store_task_open(s, "../../etc", NULL, STORE_CREATE, err, sizeof err) == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK(store_task_open(s, "0D", NULL, STORE_CREATE, err, sizeof err) == NULL);
	struct store_task_info bad = {.length = 10, .piece_size = 0};
	CHECK(store_task_open(s, "0d", &bad, STORE_CREATE, err, sizeof err) == NULL);
	CHECK(!exists(path_in("%s", "re/tasks/0d/0d.data"))); /* no orphan left behind */
	bad = (struct store_task_info){.length = 10, .piece_size = 5, .url = "http://x/\n"};
	CHECK(store_task_open(s, "0d", &bad, STORE_CREATE, err, sizeof err) == NULL);
	CHECK(has_str(err, "url"));
	bad = (struct store_task_info){.length = 10, .piece_size = 5, .digest = "sha256:xyz"};
	CHECK(store_task_open(s, "0d", &bad, STORE_CREATE, err, sizeof err) == NULL);
	CHECK(has_str(err, "digest"));
	CHECK(!exists(path_in("%s", "re/tasks/0d/0d.data")));
	store_close(s);
}

static void unknown_length(void)
{
	struct store *s = store_at("unk");
	struct store_task *t = create(s, "0e", -1, 1000);
	uint8_t buf[1000];
	size_t nb;
	if (!t)
		return;
	CHECK_EQ(store_task_length(t), -1);
	CHECK_EQ(store_task_piece_count(t), 0);
	CHECK(!store_task_complete(t));
	for (uint32_t n = 0; n < 3; n++)
		CHECK_EQ(put(t, n, 5), DF_OK);
	CHECK_EQ(store_task_bitmap(t, &nb)[0], 0xe0);
	CHECK_EQ(nb, 1);
	CHECK_EQ(store_task_present_bytes(t), 3000);
	CHECK_EQ(store_task_piece_count(t), 0);
	store_task_close(t);
	t = store_task_open(s, "0e", NULL, 0, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_EQ(store_task_length(t), -1);
	CHECK_EQ(store_task_present(t), 3);
	CHECK(piece_ok(t, 2, 5));
	/* a short piece is the last one: it fixes the length */
	content(buf, 3000, 500, 5);
	CHECK_EQ(store_piece_write(t, 3, buf, 500, NULL, err, sizeof err), DF_OK);
	CHECK_EQ(store_task_length(t), 3500);
	CHECK_EQ(store_task_piece_count(t), 4);
	CHECK(store_task_complete(t));
	CHECK_EQ(store_task_present_bytes(t), 3500);
	CHECK_EQ(store_task_info(t)->length, 3500);
	store_task_close(t);
	t = store_task_open(s, "0e", NULL, 0, err, sizeof err);
	CHECK(t && store_task_complete(t) && store_task_length(t) == 3500);
	CHECK(t && piece_ok(t, 3, 5));
	store_task_close(t);

	/* the last piece was a full one: the caller says so */
	t = create(s, "0f", -1, 1000);
	if (!t)
		return;
	CHECK_EQ(put(t, 0, 6), DF_OK);
	CHECK_EQ(put(t, 1, 6), DF_OK);
	CHECK_EQ(store_task_set_length(t, 1500, err, sizeof err), DF_ERR); /* piece 1 is full */
	CHECK_EQ(store_task_set_length(t, 1000, err, sizeof err), DF_ERR); /* piece 1 past the end */
	CHECK(has_str(err, "past"));
	CHECK_EQ(store_task_length(t), -1);
	CHECK_EQ(store_task_set_length(t, 2000, err, sizeof err), DF_OK);
	CHECK(store_task_complete(t));
	CHECK_EQ(store_task_set_length(t, 2000, err, sizeof err), DF_OK);
	CHECK_EQ(store_task_set_length(t, 3000, err, sizeof err), DF_ERR);
	store_task_close(t);

	/* a short piece before a present one cannot be the last */
	t = create(s, "10", -1, 1000);
	if (!t)
		return;
	CHECK_EQ(put(t, 2, 7), DF_OK);
	content(buf, 0, 500, 7);
	CHECK_EQ(store_piece_write(t, 0, buf, 500, NULL, err, sizeof err), DF_ERR);
	CHECK(!store_task_has(t, 0));
	CHECK_EQ(store_task_length(t), -1);
	store_task_close(t);
	/* the length learned later through info is recorded */
	struct store_task_info info = {.length = 3000, .piece_size = 1000};
	t = store_task_open(s, "10", &info, 0, err, sizeof err);
	CHECK(t != NULL);
	CHECK(t && store_task_length(t) == 3000 && store_task_piece_count(t) == 3 && store_task_has(t, 2));
	store_task_close(t);
	t = store_task_open(s, "10", NULL, 0, err, sizeof err);
	CHECK(t && store_task_length(t) == 3000);
	store_task_close(t);
	store_close(s);
}

struct crash_arg {
	const char *root;
	const char *id;
	uint32_t from, to;
};

/* Writes pieces [from, to) of a 20-piece task and dies without closing anything. */
static void crash_writer(void *arg)
{
	struct crash_arg *a = arg;
	struct store *s = store_open(a->root, err, sizeof err);
	struct store_task *t = s ? create(s, a->id, 20 * 1000, 1000) : NULL;
	CHECK(t != NULL);
	for (uint32_t n = a->from; t && n < a->to; n++)
		CHECK_EQ(put(t, n, 8), DF_OK);
	_exit(unit_failed_checks ? 1 : 0);
}

static void crash_recovery(void)
{
	struct crash_arg a = {path_in("%s", "crash"), "11", 0, 6};
	const char *data = path_in("%s", "crash/tasks/11/11.data");
	struct store *s;
	struct store_task *t;
	CHECK_EQ(in_child(crash_writer, &a), 0);
	/* the writer died with its pieces in the log only; a logged piece's bytes go bad */
	corrupt(data, 2 * 1000 + 10);
	s = store_at("crash");
	t = store_task_open(s, "11", NULL, 0, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(store_task_writable(t));
	CHECK_EQ(store_task_present(t), 5);
	CHECK(!store_task_has(t, 2));
	for (uint32_t n = 0; n < 6; n++)
		CHECK(n == 2 || piece_ok(t, n, 8));
	CHECK_EQ(((struct store_task *)t)->log_records, 0); /* recovered into a clean snapshot */
	store_task_close(t);

	/* a second crash on top of the first */
	a.from = 6;
	a.to = 9;
	CHECK_EQ(in_child(crash_writer, &a), 0);
	t = store_task_open(s, "11", NULL, 0, err, sizeof err);
	CHECK(t && store_task_present(t) == 8);
	for (uint32_t n = 0; t && n < 9; n++)
		CHECK(n == 2 || piece_ok(t, n, 8));
	store_task_close(t);

	/* the data file changed behind a clean task's back: every piece is re-verified */
	corrupt(data, 7 * 1000 + 500);
	t = store_task_open(s, "11", NULL, 0, err, sizeof err);
	CHECK(t && store_task_present(t) == 7 && !store_task_has(t, 7));
	store_task_close(t);
	store_close(s);
}

/* Bytes of a clean metadata file of a task made by create(). */
static long long meta_size(const char *id, uint32_t npieces)
{
	struct store_meta_hdr h = {
		.id = slice_of(id), .url = SLICE_LIT("http://src/file"), .etag = SLICE_LIT("\"e1\"")};
	return (long long)(store_meta_header_size(&h) + store_meta_snapshot_size(npieces));
}

static void torn_log(void)
{
	struct store *s = store_at("torn");
	struct store_task *t = create(s, "12", 10 * 100, 100);
	const char *meta = path_in("%s", "torn/tasks/12/12.meta");
	struct stat st;
	if (!t)
		return;
	for (uint32_t n = 0; n < 4; n++)
		CHECK_EQ(put(t, n, 9), DF_OK);
	/* a torn record after the fourth, as a crash mid-append leaves it */
	int fd = open(meta, O_WRONLY | O_APPEND);
	CHECK_EQ(write(fd, "\x01\0\0\0\x04\0\0\0garbage", 15), 15);
	close(fd);
	/* the writer still holds it: a second store sees it read-only and trusts the live writer */
	struct store *s2 = store_at("torn");
	struct store_task *r = store_task_open(s2, "12", NULL, 0, err, sizeof err);
	CHECK(r && !store_task_writable(r) && store_task_present(r) == 4);
	store_task_close(r);
	store_close(s2);
	/* simulate the crash: drop the handle without its close (no snapshot) */
	s->tasks = NULL;
	store_task_free(t);
	t = store_task_open(s, "12", NULL, 0, err, sizeof err);
	CHECK(t != NULL);
	CHECK(t && store_task_present(t) == 4);
	CHECK_EQ(stat(meta, &st), 0);
	CHECK_EQ(st.st_size, meta_size("12", 10)); /* the garbage is gone: header + snapshot only */
	CHECK(t && store_task_writable(t) && put(t, 4, 9) == DF_OK);
	store_task_close(t);
	t = store_task_open(s, "12", NULL, 0, err, sizeof err);
	CHECK(t && store_task_present(t) == 5);
	store_task_close(t);
	store_close(s);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		CHECK_EQ(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

static void bad_metadata(void)
{
	struct store *s = store_at("bad");
	struct store_task *t = create(s, "13", 1000, 100), *u = create(s, "14", 1000, 100);
	const char *meta = path_in("%s", "bad/tasks/13/13.meta");
	const char *meta14 = path_in("%s", "bad/tasks/14/14.meta");
	const char *saved = path_in("%s", "bad/saved.meta");
	if (!t || !u)
		return;
	CHECK_EQ(put(t, 0, 1), DF_OK);
	store_task_close(t);
	store_task_close(u);
	copy_file(meta, saved);

	CHECK_EQ(truncate(meta, 50), 0);
	CHECK(store_task_open(s, "13", NULL, 0, err, sizeof err) == NULL);
	CHECK_EQ(errno, EBADMSG);
	CHECK(has_str(err, meta));
	CHECK(has_str(err, "truncated header"));

	copy_file(saved, meta);
	CHECK_EQ(truncate(meta, 200), 0);
	CHECK(store_task_open(s, "13", NULL, 0, err, sizeof err) == NULL);
	CHECK(has_str(err, "truncated piece table"));

	int fd = open(meta, O_WRONLY | O_TRUNC);
	CHECK_EQ(write(fd, "this is a text file\n", 20), 20);
	close(fd);
	CHECK(store_task_open(s, "13", NULL, 0, err, sizeof err) == NULL);
	CHECK(has_str(err, "not a df metadata file"));

	truncate(meta, 0);
	CHECK(store_task_open(s, "13", NULL, 0, err, sizeof err) == NULL);
	CHECK(has_str(err, "empty metadata file"));

	/* metadata of another task under this task's name */
	copy_file(saved, meta14);
	CHECK(store_task_open(s, "14", NULL, 0, err, sizeof err) == NULL);
	CHECK(has_str(err, "holds task 13"));

	/* neither GC nor remove deletes what they cannot tell is ours */
	struct store_gc_policy p = {.quota_bytes = 1, .max_idle_seconds = 1};
	struct store_gc_result r;
	utimensat(AT_FDCWD, meta, (struct timespec[]){{0, 0}, {1, 0}}, 0);
	CHECK_EQ(store_gc(s, &p, &r, err, sizeof err), DF_OK);
	CHECK_EQ(r.evicted, 0);
	CHECK(exists(meta) && exists(meta14));
	CHECK_EQ(store_task_remove(s, "13", err, sizeof err), DF_ERR);
	CHECK(exists(meta));

	/* put back, it opens again */
	copy_file(saved, meta);
	t = store_task_open(s, "13", NULL, 0, err, sizeof err);
	CHECK(t && store_task_has(t, 0) && piece_ok(t, 0, 1));
	store_task_close(t);
	store_close(s);
}

static void short_data(void)
{
	struct store *s = store_at("short");
	struct store_task *t = create(s, "15", 1000, 100);
	const char *data = path_in("%s", "short/tasks/15/15.data");
	uint8_t buf[100];
	if (!t)
		return;
	for (uint32_t n = 0; n < 10; n++)
		CHECK_EQ(put(t, n, 2), DF_OK);
	CHECK(store_task_complete(t));
	/* cut while open: the read notices, drops the piece, never hands out the bytes */
	CHECK_EQ(truncate(data, 950), 0);
	CHECK_EQ(store_piece_read(t, 9, 0, buf, 100, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, EIO);
	CHECK(has_str(err, data));
	CHECK(has_str(err, "shorter than its metadata says"));
	CHECK(!store_task_has(t, 9));
	CHECK(!store_task_complete(t));
	store_task_close(t);
	/* cut while closed: the pieces past the end are dropped at open */
	CHECK_EQ(truncate(data, 450), 0);
	t = store_task_open(s, "15", NULL, 0, err, sizeof err);
	CHECK(t && store_task_present(t) == 4);
	for (uint32_t n = 0; t && n < 4; n++)
		CHECK(piece_ok(t, n, 2));
	struct stat st;
	CHECK_EQ(stat(data, &st), 0);
	CHECK_EQ(st.st_size, 1000); /* the writer gives the file its length back */
	CHECK(t && put(t, 4, 2) == DF_OK);
	store_task_close(t);
	store_close(s);
}

static void snapshots(void)
{
	struct store *s = store_at("snap");
	s->compact_min = 4;
	struct store_task *t = create(s, "16", 50 * 100, 100);
	if (!t)
		return;
	for (uint32_t n = 0; n < 30; n++) {
		CHECK_EQ(put(t, n, 3), DF_OK);
		CHECK(t->log_records <= 6); /* max(compact_min, pieces / 8) */
	}
	/* a crash now: what the snapshots and the log hold is all there */
	struct store *s2 = store_at("snap");
	struct store_task *r = store_task_open(s2, "16", NULL, 0, err, sizeof err);
	CHECK(r && store_task_present(r) == 30);
	store_task_close(r);
	store_close(s2);
	store_task_close(t);
	struct stat st;
	CHECK_EQ(stat(path_in("%s", "snap/tasks/16/16.meta"), &st), 0);
	CHECK_EQ(st.st_size, meta_size("16", 50)); /* header, snapshot, no log */
	t = store_task_open(s, "16", NULL, 0, err, sizeof err);
	CHECK(t && store_task_present(t) == 30);
	for (uint32_t n = 0; t && n < 30; n++)
		CHECK(piece_ok(t, n, 3));
	store_task_close(t);
	store_close(s);
}

/* ---- two processes (two stores: separate open file descriptions, as two processes have) ---- */

static void sharing(void)
{
	struct store *a = store_at("share"), *b = store_at("share");
	struct store_task *ta = create(a, "17", 1000, 100), *tb;
	struct store_piece_writer w;
	if (!ta)
		return;
	CHECK(store_task_writable(ta));
	CHECK_EQ(put(ta, 0, 4), DF_OK);
	tb = store_task_open(b, "17", NULL, 0, err, sizeof err);
	CHECK(tb != NULL);
	if (!tb)
		return;
	CHECK(!store_task_writable(tb));
	CHECK(store_task_has(tb, 0) && piece_ok(tb, 0, 4));
	CHECK_EQ(store_piece_begin(&w, tb, 1, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, EBUSY);
	CHECK(has_str(err, "read-only"));
	CHECK_EQ(store_task_set_length(tb, 5, err, sizeof err), DF_ERR);
	/* in use by anyone: not removable, not evictable */
	CHECK_EQ(store_task_remove(b, "17", err, sizeof err), DF_ERR);
	CHECK_EQ(errno, EBUSY);
	store_task_close(ta);
	CHECK_EQ(store_task_remove(a, "17", err, sizeof err), DF_ERR); /* b still holds it */
	store_task_close(tb);
	/* the writer is gone: the next opener becomes the writer */
	tb = store_task_open(b, "17", NULL, STORE_RDONLY, err, sizeof err);
	CHECK(tb && !store_task_writable(tb));
	store_task_close(tb);
	tb = store_task_open(b, "17", NULL, 0, err, sizeof err);
	CHECK(tb && store_task_writable(tb));
	CHECK(tb && put(tb, 1, 4) == DF_OK);
	store_task_close(tb);
	CHECK_EQ(store_task_remove(a, "17", err, sizeof err), DF_OK);
	CHECK(!exists(path_in("%s", "share/tasks/17/17.meta")));
	CHECK(!exists(path_in("%s", "share/tasks/17/17.data")));
	CHECK(!exists(path_in("%s", "share/tasks/17")));
	CHECK_EQ(store_task_remove(a, "17", err, sizeof err), DF_ERR);
	CHECK_EQ(errno, ENOENT);
	store_close(a);
	store_close(b);
}

/* ---- whole files ---- */

static int same_bytes(const char *a, const char *b)
{
	char x[4096], y[4096];
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY), same = fa >= 0 && fb >= 0;
	ssize_t na, nb;
	while (same && (na = read(fa, x, sizeof x)) > 0) {
		nb = read(fb, y, sizeof y);
		same = na == nb && memcmp(x, y, (size_t)na) == 0;
	}
	if (same)
		same = read(fb, y, 1) == 0;
	close(fa);
	close(fb);
	return same;
}

static int leftovers(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".df-") != NULL;
	if (d)
		closedir(d);
	return n;
}

static void export(void)
{
	struct store *s = store_at("exp");
	struct store_task *t = create(s, "18", 5000, 1000);
	const char *data = path_in("%s", "exp/tasks/18/18.data"), *out = path_in("%s", "out"),
		   *out2 = path_in("%s", "out2");
	struct stat ds, os;
	if (!t)
		return;
	mode_t old = umask(022);
	CHECK_EQ(put(t, 0, 5), DF_OK);
	CHECK_EQ(store_task_export(t, out, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, ENODATA);
	CHECK(has_str(err, "not complete"));
	for (uint32_t n = 1; n < 5; n++)
		CHECK_EQ(put(t, n, 5), DF_OK);
	/* never a link (issue 13 item 4): its own inode, the user's mode, the store's bytes */
	CHECK_EQ(store_task_export(t, out, err, sizeof err), DF_OK);
	CHECK_EQ(stat(data, &ds), 0);
	CHECK_EQ(stat(out, &os), 0);
	CHECK_EQ(os.st_size, 5000);
	CHECK(same_bytes(out, data));
	CHECK(os.st_ino != ds.st_ino);
	CHECK_EQ(os.st_nlink, 1);
	CHECK_EQ(ds.st_nlink, 1);
	CHECK_EQ(os.st_mode & 0777, 0644);
	CHECK_EQ(ds.st_mode & 0777, 0600); /* the store's own files are private (item 14) */
	const char *priv[] = {"exp", "exp/tasks", "exp/tmp", "exp/tasks/18", "exp/tasks/18/18.meta"};
	for (size_t i = 0; i < DF_ARRAY_LEN(priv); i++) {
		struct stat ps;
		char pp[1024]; /* not path_in: its four buffers hold data, out and out2 */
		snprintf(pp, sizeof pp, "%s/%s", unit_tmpdir(), priv[i]);
		CHECK_EQ(stat(pp, &ps), 0);
		CHECK_EQ(ps.st_mode & 0777, i < 4 ? 0700 : 0600);
	}
	CHECK(same_bytes(out, data));
	/* again onto the same path, and over an existing file */
	CHECK_EQ(store_task_export(t, out, err, sizeof err), DF_OK);
	close(open(out2, O_CREAT | O_WRONLY, 0600));
	CHECK_EQ(store_task_export(t, out2, err, sizeof err), DF_OK);
	CHECK(same_bytes(out2, data));
	CHECK_EQ(leftovers(unit_tmpdir()), 0);
	/* two exports: chmod of one changes neither the other nor the store */
	struct stat o2;
	CHECK_EQ(stat(out, &os), 0);
	CHECK_EQ(stat(out2, &o2), 0);
	CHECK(os.st_ino != o2.st_ino);
	CHECK_EQ(chmod(out, 0751), 0);
	CHECK_EQ(stat(out2, &o2), 0);
	CHECK_EQ(stat(data, &ds), 0);
	CHECK_EQ(o2.st_mode & 0777, 0644);
	CHECK_EQ(ds.st_mode & 0777, 0600);
	/* an edit of one export reaches neither the store nor the other export */
	int efd = open(out, O_WRONLY);
	CHECK(efd >= 0);
	CHECK_EQ(pwrite(efd, "EDITED", 6, 1000), 6);
	close(efd);
	CHECK(!same_bytes(out, data));
	CHECK(same_bytes(out2, data));
	CHECK(piece_ok(t, 1, 5));
	uint8_t sha_a[32], sha_b[32];
	CHECK_EQ(store_task_file_digests(t, NULL, sha_a, err, sizeof err), DF_OK);
	/* the store reopened (re-verification) leaves the edited export alone */
	store_task_close(t);
	t = store_task_open(s, "18", NULL, 0, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK(store_task_complete(t));
	CHECK_EQ(store_task_file_digests(t, NULL, sha_b, err, sizeof err), DF_OK);
	CHECK(memcmp(sha_a, sha_b, 32) == 0);
	int rfd = open(out, O_RDONLY);
	char got[6] = {0};
	CHECK_EQ(pread(rfd, got, 6, 1000), 6);
	close(rfd);
	CHECK(memcmp(got, "EDITED", 6) == 0);
	/* a stricter umask: the mode the user asked for */
	umask(077);
	unlink(out2);
	CHECK_EQ(store_task_export(t, out2, err, sizeof err), DF_OK);
	CHECK_EQ(stat(out2, &os), 0);
	CHECK(os.st_ino != ds.st_ino);
	CHECK_EQ(os.st_mode & 0777, 0600);
	CHECK(same_bytes(out2, data));
	umask(022);
	/* no reflink (tests' knob): a direct copy; without it copy_file_range; without that read/write */
	s->no_clone = 1;
	for (int k = 0; k < 3; k++) {
		s->no_direct = k >= 1;
		s->no_kernel_copy = k >= 2;
		unlink(out2);
		CHECK_EQ(store_task_export(t, out2, err, sizeof err), DF_OK);
		CHECK_EQ(stat(out2, &os), 0);
		CHECK(os.st_ino != ds.st_ino);
		CHECK_EQ(os.st_mode & 0777, 0644);
		CHECK(same_bytes(out2, data));
	}
	s->no_clone = s->no_direct = s->no_kernel_copy = 0;
	/* the direct copy over several of its buffers and a tail that is no whole block (600,001 bytes):
	 * the last block goes out padded and the file is cut to its length */
	struct store_task *big = create(s, "19", 600001, 65536);
	if (big) {
		for (uint32_t n = 0; n < store_task_piece_count(big); n++)
			CHECK_EQ(put(big, n, 7), DF_OK);
		s->no_clone = 1;
		unlink(out2);
		CHECK_EQ(store_task_export(big, out2, err, sizeof err), DF_OK);
		CHECK_EQ(stat(out2, &os), 0);
		CHECK_EQ(os.st_size, 600001);
		char bigdata[1024]; /* not path_in: its four buffers hold out, out2 and data still */
		snprintf(bigdata, sizeof bigdata, "%s/exp/tasks/19/19.data", unit_tmpdir());
		CHECK(same_bytes(out2, bigdata));
		s->no_clone = 0;
		store_task_close(big);
	}
	/* an empty file: nothing to copy, a file of 0 bytes */
	struct store_task *empty = create(s, "20", 0, 65536);
	if (empty) {
		CHECK(store_task_complete(empty));
		s->no_clone = 1;
		unlink(out2);
		CHECK_EQ(store_task_export(empty, out2, err, sizeof err), DF_OK);
		CHECK_EQ(stat(out2, &os), 0);
		CHECK_EQ(os.st_size, 0);
		s->no_clone = 0;
		store_task_close(empty);
	}
	/* another filesystem (tmpfs), when there is one: copy, after the link fails */
	char shm[256];
	snprintf(shm, sizeof shm, "/dev/shm/dfunit-export-%d", (int)getpid());
	struct stat st;
	if (stat("/dev/shm", &st) == 0 && st.st_dev != ds.st_dev) {
		CHECK_EQ(store_task_export(t, shm, err, sizeof err), DF_OK);
		CHECK(same_bytes(shm, data));
		unlink(shm);
	}
	/* nowhere to put it: the error names the path, nothing is left behind */
	const char *nodir = path_in("%s", "no/such/dir/file");
	CHECK_EQ(store_task_export(t, nodir, err, sizeof err), DF_ERR);
	CHECK(has_str(err, nodir));
	/* a directory in the way: rename fails, the temporary file goes */
	const char *isdir = path_in("%s", "adir");
	mkdir(isdir, 0755);
	CHECK_EQ(store_task_export(t, isdir, err, sizeof err), DF_ERR);
	CHECK(has_str(err, isdir));
	CHECK_EQ(leftovers(unit_tmpdir()), 0);
	umask(old);
	/* the exported file outlives the task */
	store_task_close(t);
	CHECK_EQ(store_task_remove(s, "18", err, sizeof err), DF_OK);
	CHECK_EQ(stat(out, &os), 0);
	CHECK_EQ(os.st_size, 5000);
	store_close(s);
}

/* A file at path with mtime `age` seconds ago (a symlink to nowhere when link). */
static void left_file(const char *path, int age, int link)
{
	if (link) {
		CHECK_EQ(symlink("/nonexistent", path), 0);
		return;
	}
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	struct timespec ts[2] = {{.tv_sec = time(NULL) - age}, {.tv_sec = time(NULL) - age}};
	CHECK_EQ(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* An export removes the temporary files of its path that a killed df left: of a dead process,
 * whose lock nobody holds (at any age: it used to wait an hour), regular, ours; nothing else. */
static void export_sweeps(void)
{
	struct store *s = store_at("sweep");
	struct store_task *t = create(s, "19", 5000, 1000);
	if (!t)
		return;
	for (uint32_t n = 0; n < 5; n++)
		CHECK_EQ(put(t, n, 5), DF_OK);
	char dir[1100], out[1200], p[1300];
	snprintf(dir, sizeof dir, "%s/sweepdir", unit_tmpdir());
	CHECK_EQ(mkdir(dir, 0755), 0);
	snprintf(out, sizeof out, "%s/o", dir);
	pid_t dead = fork(); /* a pid that was and is no more */
	if (dead == 0)
		_exit(0);
	CHECK(dead > 0);
	waitpid(dead, NULL, 0);
	struct {
		const char *fmt;
		long pid;
		int age, link, gone, locked;
	} cases[] = {
		{"%s/.o.df-%ld-0", (long)dead, 7200, 0, 1, 0},      /* dead, old: removed */
		{"%s/.o.df-%ld-1", (long)dead, 60, 0, 1, 0},        /* dead, written a minute ago: removed */
		{"%s/.o.df-%ld-7", (long)dead, 7200, 0, 0, 1},      /* its lock held (another namespace): kept */
		{"%s/.o.df-%ld-2", (long)getppid(), 7200, 0, 0, 0}, /* a live process's: kept */
		{"%s/.o.df-%ld-3", (long)dead, 7200, 1, 0, 0},      /* not a regular file: kept */
		{"%s/.o.df-%ldx-4", (long)dead, 7200, 0, 0, 0},     /* not the pattern: kept */
		{"%s/.other.df-%ld-5", (long)dead, 7200, 0, 0, 0},  /* another file's: kept */
		{"%s/.o.df-%ld-6", 2147483646L, 7200, 0, 1, 0},     /* no such pid: removed */
	};
	int held = -1;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(p, sizeof p, cases[i].fmt, dir, cases[i].pid);
		left_file(p, cases[i].age, cases[i].link);
		if (cases[i].locked) { /* as the df writing it would (a pid this process cannot see) */
			held = open(p, O_RDONLY | O_CLOEXEC);
			CHECK_EQ(flock(held, LOCK_EX | LOCK_NB), 0);
		}
	}
	CHECK_EQ(store_task_export(t, out, err, sizeof err), DF_OK);
	if (held >= 0)
		close(held);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct stat st;
		snprintf(p, sizeof p, cases[i].fmt, dir, cases[i].pid);
		int there = lstat(p, &st) == 0;
		if (there != !cases[i].gone)
			fprintf(stderr, "    %s: %s\n", p, there ? "still there" : "removed");
		CHECK_EQ(there, !cases[i].gone);
	}
	store_task_close(t);
	store_close(s);
}

/* A complete two-piece task id in s, closed. */
static int stored(struct store *s, const char *id)
{
	struct store_task *t = create(s, id, 2000, 1000);
	int rc = t && put(t, 0, 4) == DF_OK && put(t, 1, 4) == DF_OK ? DF_OK : DF_ERR;
	store_task_close(t);
	return rc;
}

/* Handing a task's data file over (a df get that will not seed): the file itself becomes the
 * user's, the task leaves the store; never while something else holds it, never a cached task,
 * never across filesystems. */
static void handoff(void)
{
	struct store *s = store_at("hand");
	const char *data = path_in("%s", "hand/tasks/1a/1a.data"), *out = path_in("%s", "hand-out");
	struct stat ds, os;
	struct store_task *t = create(s, "1a", 5000, 1000);
	if (!t)
		return;
	mode_t old = umask(022);
	CHECK_EQ(put(t, 0, 9), DF_OK);
	CHECK_EQ(store_task_handoff_at(t, AT_FDCWD, out, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, ENODATA);
	for (uint32_t n = 1; n < 5; n++)
		CHECK_EQ(put(t, n, 9), DF_OK);
	CHECK_EQ(stat(data, &ds), 0);
	/* another holder of the data file (a second open description, as another process's): not now,
	 * and the task is as it was, its shared lock back */
	int other = open(data, O_RDONLY);
	CHECK(other >= 0);
	CHECK_EQ(flock(other, LOCK_SH | LOCK_NB), 0);
	CHECK_EQ(store_task_handoff_at(t, AT_FDCWD, out, err, sizeof err), DF_AGAIN);
	CHECK(!exists(out));
	CHECK(piece_ok(t, 4, 9));
	CHECK_EQ(stat(data, &ds), 0);
	CHECK_EQ(ds.st_mode & 0777, 0600);
	close(other);
	other = open(data, O_RDONLY);
	CHECK(flock(other, LOCK_EX | LOCK_NB) != 0); /* the task's own shared lock still holds */
	close(other);
	/* a second handle in this process: not now */
	struct store_task *t2 = store_task_open(s, "1a", NULL, 0, err, sizeof err);
	CHECK(t2 == t);
	CHECK_EQ(store_task_handoff_at(t, AT_FDCWD, out, err, sizeof err), DF_AGAIN);
	store_task_close(t2);
	/* another filesystem (tmpfs), when there is one: not here */
	char shm[256];
	struct stat st;
	snprintf(shm, sizeof shm, "/dev/shm/dfunit-handoff-%d", (int)getpid());
	if (stat("/dev/shm", &st) == 0 && st.st_dev != ds.st_dev) {
		CHECK_EQ(store_task_handoff_at(t, AT_FDCWD, shm, err, sizeof err), DF_AGAIN);
		CHECK(!exists(shm));
		/* rename said EXDEV after the mode and the lock had changed: both are back */
		CHECK_EQ(stat(data, &st), 0);
		CHECK_EQ(st.st_mode & 0777, 0600);
		other = open(data, O_RDONLY);
		CHECK(flock(other, LOCK_EX | LOCK_NB) != 0);
		close(other);
		CHECK(piece_ok(t, 2, 9));
	}
	/* over an existing file: the data file itself, the user's mode, the task gone from the store */
	close(open(out, O_CREAT | O_WRONLY, 0600));
	CHECK_EQ(store_task_handoff_at(t, AT_FDCWD, out, err, sizeof err), DF_OK);
	CHECK_EQ(stat(out, &os), 0);
	CHECK_EQ(os.st_ino, ds.st_ino);
	CHECK_EQ(os.st_nlink, 1);
	CHECK_EQ(os.st_size, 5000);
	CHECK_EQ(os.st_mode & 0777, 0644);
	CHECK(!exists(data));
	CHECK(!exists(path_in("%s", "hand/tasks/1a/1a.meta")));
	CHECK(!exists(path_in("%s", "hand/tasks/1a")));
	CHECK(store_task_detached(t));
	CHECK_EQ(store_task_length(t), 5000);
	static uint8_t want[5000], got[5000];
	content(want, 0, sizeof want, 9);
	int fd = open(out, O_RDONLY);
	CHECK_EQ(read(fd, got, sizeof got), 5000);
	close(fd);
	CHECK(memcmp(want, got, sizeof want) == 0);
	store_task_close(t);
	CHECK(store_task_open(s, "1a", NULL, 0, err, sizeof err) == NULL);
	/* a crash between the rename and the metadata's unlink: metadata without its data file; the
	 * next opener starts from an empty data file and keeps none of the pieces the metadata named */
	CHECK_EQ(stored(s, "1c"), DF_OK);
	CHECK_EQ(rename(path_in("%s", "hand/tasks/1c/1c.data"), out), 0);
	t = create(s, "1c", 2000, 1000);
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ(store_task_present(t), 0);
		store_task_close(t);
	}
	/* a task this process did not make (cached, opened again): copied, never taken */
	CHECK_EQ(stored(s, "1b"), DF_OK);
	t = store_task_open(s, "1b", NULL, 0, err, sizeof err);
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ(store_task_handoff_at(t, AT_FDCWD, out, err, sizeof err), DF_AGAIN);
		CHECK(store_task_complete(t));
		store_task_close(t);
	}
	umask(old);
	store_close(s);
}

static void import(void)
{
	struct store *s = store_at("imp");
	const char *src = path_in("%s", "src.bin"), *back = path_in("%s", "back.bin");
	uint8_t buf[5000], md5[16], sha[32], sum[16];
	char hex[65];
	struct digest_file_ctx c;
	content(buf, 0, sizeof buf, 6);
	int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK_EQ(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
	close(fd);
	digest_file_init(&c);
	digest_file_update(&c, buf, sizeof buf);
	digest_file_final(&c, md5, sha);
	digest_hex(sha, 32, hex);

	struct store_task *t = store_import(s, src, 1024, err, sizeof err);
	CHECK(t != NULL);
	if (!t) {
		fprintf(stderr, "    %s\n", err);
		return;
	}
	CHECK_STR(store_task_id(t), hex);
	CHECK(store_task_complete(t));
	CHECK_EQ(store_task_length(t), 5000);
	CHECK_EQ(store_task_piece_count(t), 5);
	CHECK(has_str(store_task_info(t)->digest, hex));
	digest_hex(md5, 16, hex);
	CHECK_STR(store_task_info(t)->md5, hex);
	for (uint32_t n = 0; n < 5; n++) {
		CHECK(piece_ok(t, n, 6));
		CHECK_EQ(store_task_checksum(t, n, sum), DF_OK);
		uint8_t want[16];
		sum_of(t, n, 6, want);
		CHECK(memcmp(sum, want, 16) == 0);
	}
	uint8_t m2[16], s2[32];
	CHECK_EQ(store_task_file_digests(t, m2, s2, err, sizeof err), DF_OK);
	CHECK(memcmp(m2, md5, 16) == 0 && memcmp(s2, sha, 32) == 0);
	CHECK_EQ(store_task_export(t, back, err, sizeof err), DF_OK);
	CHECK(same_bytes(src, back));
	/* the same content again: the same task */
	struct store_task *t2 = store_import(s, src, 1024, err, sizeof err);
	CHECK(t2 == t);
	store_task_close(t2);
	store_task_close(t);
	t = store_import(s, src, 1024, err, sizeof err);
	CHECK(t && store_task_complete(t));
	store_task_close(t);
	/* reopened from disk, it is still complete and clean */
	digest_hex(sha, 32, hex);
	t = store_task_open(s, hex, NULL, 0, err, sizeof err);
	CHECK(t && store_task_complete(t) && strcmp(store_task_info(t)->digest + 7, hex) == 0);
	store_task_close(t);
	/* an empty file is a complete task of no pieces */
	const char *empty = path_in("%s", "empty");
	close(open(empty, O_CREAT | O_WRONLY, 0644));
	t = store_import(s, empty, 1024, err, sizeof err);
	CHECK(t && store_task_complete(t) && store_task_piece_count(t) == 0);
	CHECK(t && strcmp(store_task_id(t), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	store_task_close(t);
	/* what cannot be imported */
	CHECK(store_import(s, unit_tmpdir(), 1024, err, sizeof err) == NULL);
	CHECK(has_str(err, "not a regular file"));
	CHECK(store_import(s, path_in("%s", "nonexistent"), 1024, err, sizeof err) == NULL);
	CHECK(has_str(err, "nonexistent"));
	CHECK(store_import(s, src, 0, err, sizeof err) == NULL);
	/* nothing left in tmp/ */
	DIR *d = opendir(path_in("%s", "imp/tmp"));
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	CHECK_EQ(n, 0);
	store_close(s);
}

static void digests(void)
{
	struct store *s = store_at("dig");
	struct store_task *t = create(s, "19", 3, 2);
	uint8_t md5[16], sha[32];
	if (!t)
		return;
	CHECK_EQ(store_piece_write(t, 0, "ab", 2, NULL, err, sizeof err), DF_OK);
	CHECK_EQ(store_task_file_digests(t, md5, sha, err, sizeof err), DF_ERR);
	CHECK_EQ(store_piece_write(t, 1, "c", 1, NULL, err, sizeof err), DF_OK);
	CHECK_EQ(store_task_file_digests(t, md5, sha, err, sizeof err), DF_OK);
	CHECK_EQ(store_task_set_digests(t, md5, sha, err, sizeof err), DF_OK);
	CHECK_STR(store_task_info(t)->md5, "900150983cd24fb0d6963f7d28e17f72");
	CHECK_STR(store_task_info(t)->digest,
		  "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	store_task_close(t);
	t = store_task_open(s, "19", NULL, 0, err, sizeof err);
	CHECK(t && strcmp(store_task_info(t)->md5, "900150983cd24fb0d6963f7d28e17f72") == 0);
	store_task_close(t);
	store_close(s);
}

/* ---- listing and GC ---- */

struct seen {
	int n, in_use, complete;
	uint64_t disk;
	char ids[16][65];
};

static int count_cb(void *arg, const struct store_task_stat *st)
{
	struct seen *v = arg;
	if (v->n < 16)
		snprintf(v->ids[v->n], 65, "%s", st->id);
	v->n++;
	v->in_use += st->in_use;
	v->complete += st->complete;
	v->disk += st->disk_bytes;
	return 0;
}

static void evicted_cb(void *arg, const struct store_task_stat *st)
{
	count_cb(arg, st);
}

static void set_last_use(const char *root, const char *id, time_t t)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/tasks/%.2s/%s.meta", root, id, id);
	struct timespec ts[2] = {{t, 0}, {t, 0}};
	CHECK_EQ(utimensat(AT_FDCWD, p, ts, 0), 0);
}

/* GC asks this process about the tasks it holds (release), and a dry run deletes nothing */
struct rel {
	struct store_task *t[3];
	int asked, let_go;
};

static int release_cb(void *arg, const char *id)
{
	struct rel *r = arg;
	r->asked++;
	for (int i = 0; i < 3; i++)
		if (r->t[i] && strcmp(store_task_id(r->t[i]), id) == 0 && (r->let_go >> i & 1)) {
			store_task_close(r->t[i]);
			r->t[i] = NULL;
			return 1;
		}
	return 0;
}

static void gc_release_dry_run(void)
{
	struct store *s = store_at("gcrel");
	char root[1024];
	snprintf(root, sizeof root, "%s", path_in("%s", "gcrel"));
	const char *ids[] = {"a1", "b2", "c3"};
	struct rel rel = {.let_go = 1 | 4}; /* a1 may go; b2 is "in use" here; c3 is let go but held twice */
	time_t now = time(NULL);
	for (int i = 0; i < 3; i++) {
		rel.t[i] = create(s, ids[i], 8192, 4096);
		if (!rel.t[i])
			return;
		CHECK_EQ(put(rel.t[i], 0, 7), DF_OK);
		CHECK_EQ(put(rel.t[i], 1, 7), DF_OK);
		set_last_use(root, ids[i], now - 1000 + i);
	}
	struct store_task *c3_again = store_task_open(s, "c3", NULL, 0, err, sizeof err); /* a second reference */
	struct store_gc_result r;
	struct store_gc_policy p = {.quota_bytes = 1, .release = release_cb, .arg = &rel, .dry_run = 1};
	CHECK_EQ(store_gc(s, &p, &r, err, sizeof err), DF_OK);
	CHECK_EQ(rel.asked, 0); /* a dry run asks nobody and deletes nothing */
	CHECK_EQ(r.evicted, 0);
	CHECK_EQ(r.busy, 3);
	p.dry_run = 0;
	CHECK_EQ(store_gc(s, &p, &r, err, sizeof err), DF_OK);
	CHECK_EQ(rel.asked, 3);
	CHECK_EQ(r.evicted, 1); /* a1: released, then deleted */
	CHECK(!exists(path_in("%s", "gcrel/tasks/a1/a1.meta")));
	CHECK(exists(path_in("%s", "gcrel/tasks/b2/b2.meta"))); /* refused */
	CHECK(exists(path_in("%s", "gcrel/tasks/c3/c3.meta"))); /* still open here after its release */
	CHECK_EQ(r.busy, 2);
	/* nothing held: a dry run names what would go and leaves it */
	store_task_close(c3_again);
	for (int i = 1; i < 3; i++)
		store_task_close(rel.t[i]);
	p = (struct store_gc_policy){.quota_bytes = 1, .dry_run = 1};
	CHECK_EQ(store_gc(s, &p, &r, err, sizeof err), DF_OK);
	CHECK_EQ(r.evicted, 2);
	CHECK(exists(path_in("%s", "gcrel/tasks/b2/b2.meta")) && exists(path_in("%s", "gcrel/tasks/c3/c3.data")));
	store_close(s);
}

/* A detached handle describes the task (info, checksums) without its files: GC evicts them even
 * though the handle is still open, and a new open creates the task afresh. */
static int detach_release_cb(void *arg, const char *id)
{
	struct store_task *t = arg;
	return strcmp(store_task_id(t), id) == 0 && store_task_detach(t, err, sizeof err) == DF_OK;
}

static void detach(void)
{
	struct store *s = store_at("detach");
	uint8_t want[16], got[16];
	struct store_task *t = create(s, "d1", 10000, 4096);
	if (!t)
		return;
	CHECK_EQ(put(t, 0, 3), DF_OK);
	CHECK_EQ(put(t, 1, 3), DF_OK);
	CHECK_EQ(store_task_detach(t, err, sizeof err), DF_ERR); /* incomplete */
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(put(t, 2, 3), DF_OK);
	struct store_task *again = store_task_open(s, "d1", NULL, 0, err, sizeof err);
	CHECK(again == t);
	CHECK_EQ(store_task_detach(t, err, sizeof err), DF_ERR); /* a second reference */
	CHECK_EQ(errno, EBUSY);
	store_task_close(again);
	CHECK_EQ(store_task_sum(t, 3, got), DF_ERR); /* past the end */
	/* GC asks the holder, which lets go of the files: they go while the handle lives on */
	struct store_gc_result r;
	struct store_gc_policy p = {.quota_bytes = 1, .release = detach_release_cb, .arg = t};
	CHECK_EQ(store_gc(s, &p, &r, err, sizeof err), DF_OK);
	CHECK_EQ(r.evicted, 1);
	CHECK(store_task_detached(t));
	CHECK(!exists(path_in("%s", "detach/tasks/d1/d1.meta")) && !exists(path_in("%s", "detach/tasks/d1/d1.data")));
	CHECK_EQ(store_task_detach(t, err, sizeof err), DF_OK); /* again: nothing to do */
	/* what it is stays: length, pieces, validators, every checksum; no piece is here */
	CHECK_EQ(store_task_length(t), 10000);
	CHECK_EQ(store_task_piece_count(t), 3);
	CHECK_EQ(store_task_piece_len(t, 2), 10000 - 2 * 4096);
	CHECK(strcmp(store_task_info(t)->etag, "\"e1\"") == 0);
	CHECK_EQ(store_task_present(t), 0);
	CHECK(!store_task_complete(t));
	for (uint32_t n = 0; n < 3; n++) {
		sum_of(t, n, 3, want);
		CHECK(!store_task_has(t, n));
		CHECK_EQ(store_task_checksum(t, n, got), DF_ERR);
		CHECK_EQ(store_task_sum(t, n, got), DF_OK);
		CHECK(memcmp(got, want, 16) == 0);
	}
	uint8_t buf[16];
	CHECK_EQ(store_piece_read(t, 0, 0, buf, sizeof buf, err, sizeof err), DF_ERR);
	CHECK_EQ(errno, ENOENT);
	CHECK_EQ(store_piece_write(t, 0, buf, sizeof buf, NULL, err, sizeof err), DF_ERR);
	/* a new open is a new task (the detached handle is on no list), written anew */
	struct store_task *fresh = create(s, "d1", 10000, 4096);
	CHECK(fresh != NULL && fresh != t);
	if (fresh) {
		CHECK(store_task_writable(fresh));
		CHECK_EQ(store_task_present(fresh), 0);
		CHECK_EQ(put(fresh, 1, 3), DF_OK);
		store_task_close(fresh);
	}
	store_task_close(t);
	CHECK(exists(path_in("%s", "detach/tasks/d1/d1.meta"))); /* closing the detached handle touched nothing */
	store_close(s);
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A parked task holds no descriptors and knows all it knew; what needs the files opens them again,
 * and finds out when another process removed or remade them meanwhile (issue 14: make soak). */
static void park(void)
{
	struct store *s = store_at("park"), *other = store_at("park");
	struct store_task *t = s && other ? create(s, "a7", 10000, 4096) : NULL;
	CHECK(t != NULL);
	if (!t) {
		store_close(other);
		store_close(s);
		return;
	}
	CHECK_EQ(put(t, 0, 5), DF_OK);
	CHECK_EQ(store_task_park(t, err, sizeof err), DF_ERR); /* incomplete */
	CHECK_EQ(errno, EINVAL);
	struct store_piece_writer w;
	CHECK_EQ(store_piece_begin(&w, t, 1, err, sizeof err), DF_OK);
	CHECK_EQ(store_task_park(t, err, sizeof err), DF_ERR); /* a piece being written */
	store_piece_abort(&w);
	CHECK_EQ(put(t, 1, 5), DF_OK);
	CHECK_EQ(put(t, 2, 5), DF_OK);
	int before = open_fds();
	CHECK_EQ(store_task_park(t, err, sizeof err), DF_OK);
	CHECK(store_task_parked(t));
	CHECK_EQ(open_fds(), before - 2);
	CHECK_EQ(store_task_park(t, err, sizeof err), DF_OK); /* again: nothing to do */
	CHECK(store_task_complete(t));
	CHECK_EQ(store_task_length(t), 10000);
	CHECK(strcmp(store_task_info(t)->etag, "\"e1\"") == 0);
	/* a read opens the files again, under the same locks (still the writer) */
	CHECK(piece_ok(t, 1, 5));
	CHECK(!store_task_parked(t));
	CHECK_EQ(open_fds(), before);
	CHECK(store_task_writable(t));
	/* so do the piece server's span and an export */
	int fd = -1;
	uint64_t off;
	uint32_t len;
	CHECK_EQ(store_task_park(t, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_span(t, 2, &fd, &off, &len), DF_OK);
	CHECK(fd >= 0 && !store_task_parked(t));
	CHECK_EQ(store_task_park(t, err, sizeof err), DF_OK);
	CHECK_EQ(store_task_export(t, path_in("%s", "park-out"), err, sizeof err), DF_OK);
	CHECK(!store_task_parked(t));
	/* GC in this process still counts it in use: it asks, and nobody said yes */
	CHECK_EQ(store_task_park(t, err, sizeof err), DF_OK);
	struct store_gc_result r;
	struct store_gc_policy p = {.quota_bytes = 1};
	CHECK_EQ(store_gc(s, &p, &r, err, sizeof err), DF_OK);
	CHECK_EQ(r.evicted, 0);
	CHECK(exists(path_in("%s", "park/tasks/a7/a7.data")));
	CHECK(!store_task_parked_gone(t));
	/* another process (here another store object) may remove it meanwhile: the read says so */
	CHECK_EQ(store_task_remove(other, "a7", err, sizeof err), DF_OK);
	CHECK(store_task_parked_gone(t));
	CHECK(!piece_ok(t, 0, 5));
	CHECK_EQ(errno, ENOENT);
	CHECK(store_task_parked(t));
	/* or make it again: not the files parked, so nothing of it is trusted (the pause steps past
	 * the file system's coarse clock: the remade file often gets the freed inode number back) */
	usleep(30000);
	struct store_task *again = create(other, "a7", 10000, 4096);
	CHECK(again != NULL);
	store_task_close(again);
	CHECK(!piece_ok(t, 0, 5));
	CHECK_EQ(errno, ESTALE);
	CHECK(has_str(err, "replaced by another process"));
	CHECK_EQ(open_fds(), before - 2);
	store_task_close(t);
	store_close(other);
	store_close(s);
}

/* A file removed and made again at once often gets the freed inode number back, and a data file
 * may be written over in place: either way the parked handle must not trust it (CI, 2026-12-03:
 * park failed when the remade task's files reused both inode numbers). The pauses step past the
 * file system's coarse clock, so the change times differ. */
static void park_rewritten(void)
{
	struct store *s = store_at("park2");
	struct store_task *t = s ? create(s, "b8", 8192, 4096) : NULL;
	CHECK(t != NULL);
	if (!t) {
		store_close(s);
		return;
	}
	CHECK_EQ(put(t, 0, 7), DF_OK);
	CHECK_EQ(put(t, 1, 7), DF_OK);
	usleep(30000);
	CHECK_EQ(store_task_park(t, err, sizeof err), DF_OK);
	usleep(30000);
	int fd = open(path_in("%s", "park2/tasks/b8/b8.data"), O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, "X", 1, 5), 1);
	close(fd);
	CHECK(store_task_parked_gone(t));
	CHECK(!piece_ok(t, 0, 7));
	CHECK_EQ(errno, ESTALE);
	CHECK(has_str(err, "replaced by another process"));
	CHECK(store_task_parked(t));
	store_task_close(t);
	store_close(s);
}

static void gc(void)
{
	struct store *s = store_at("gc");
	char root[1024];
	snprintf(root, sizeof root, "%s", path_in("%s", "gc")); /* path_in's buffers rotate */
	const char *ids[] = {"a1", "b2", "c3", "d4", "e5"};
	struct store_task *held = NULL;
	time_t now = time(NULL);
	for (int i = 0; i < 5; i++) {
		struct store_task *t = create(s, ids[i], 8192, 4096);
		if (!t)
			return;
		CHECK_EQ(put(t, 0, 7), DF_OK);
		if (i != 3)
			CHECK_EQ(put(t, 1, 7), DF_OK); /* d4 stays incomplete */
		if (i == 4)
			held = t; /* e5 stays open */
		else
			store_task_close(t);
	}
	set_last_use(root, "a1", now - 1000);
	set_last_use(root, "b2", now - 500);
	set_last_use(root, "c3", now - 100);
	set_last_use(root, "d4", now - 2000);
	set_last_use(root, "e5", now - 3000);
	/* files that are not the store's own */
	const char *foreign[] = {"gc/tasks/a1/notes.txt", "gc/tasks/zz/x.meta",
				 "gc/tasks/a1/a1x.meta",  "gc/README",
				 "gc/tasks/ab/ab.meta",   "gc/tasks/ab/abc.data.bak"};
	mkdir(path_in("%s", "gc/tasks/zz"), 0755);
	mkdir(path_in("%s", "gc/tasks/ab"), 0755);
	for (size_t i = 0; i < DF_ARRAY_LEN(foreign); i++) {
		int fd = open(path_in("%s", foreign[i]), O_CREAT | O_WRONLY, 0644);
		CHECK_EQ(write(fd, "not df's\n", 9), 9);
		close(fd);
	}
	set_last_use(root, "ab", now - 99999);

	struct seen all = {0};
	CHECK_EQ(store_list(s, count_cb, &all, err, sizeof err), DF_OK);
	CHECK_EQ(all.n, 5);
	CHECK_EQ(all.in_use, 1);
	CHECK_EQ(all.complete, 4);
	uint64_t each = all.disk / 5;

	/* quota: the least recently used complete task not in use goes first (a1; not d4, incomplete) */
	struct seen ev = {0};
	struct store_gc_policy p = {.quota_bytes = all.disk - each, .evicted = evicted_cb, .arg = &ev};
	struct store_gc_result r;
	CHECK_EQ(store_gc(s, &p, &r, err, sizeof err), DF_OK);
	CHECK_EQ(r.evicted, 1);
	CHECK_EQ(ev.n, 1);
	CHECK_STR(ev.ids[0], "a1");
	CHECK(!exists(path_in("%s", "gc/tasks/a1/a1.meta")) && !exists(path_in("%s", "gc/tasks/a1/a1.data")));
	CHECK(exists(path_in("%s", "gc/tasks/b2/b2.meta")));
	CHECK(r.used_bytes <= p.quota_bytes);
	CHECK_EQ(r.freed_bytes, ev.disk);
	CHECK(ev.disk > 0);

	/* idle age: any task, complete or not, unused that long (d4, but e5 is held) */
	memset(&ev, 0, sizeof ev);
	p = (struct store_gc_policy){.max_idle_seconds = 1500, .evicted = evicted_cb, .arg = &ev};
	CHECK_EQ(store_gc(s, &p, &r, err, sizeof err), DF_OK);
	CHECK_EQ(ev.n, 1);
	CHECK_STR(ev.ids[0], "d4");
	CHECK_EQ(r.busy, 1);
	CHECK(exists(path_in("%s", "gc/tasks/e5/e5.data")));

	/* everything over a tiny quota: all but the held one */
	p = (struct store_gc_policy){.quota_bytes = 1};
	CHECK_EQ(store_gc(s, &p, &r, err, sizeof err), DF_OK);
	CHECK_EQ(r.evicted, 2);
	CHECK_EQ(r.busy, 1);
	CHECK(held && store_task_complete(held) && piece_ok(held, 1, 7));
	store_task_close(held);
	for (size_t i = 0; i < DF_ARRAY_LEN(foreign); i++)
		CHECK(exists(path_in("%s", foreign[i])));
	memset(&all, 0, sizeof all);
	CHECK_EQ(store_list(s, count_cb, &all, err, sizeof err), DF_OK);
	CHECK_EQ(all.n, 1);
	CHECK_EQ(all.in_use, 0);

	/* leftovers of crashes: swept when old, kept while young (a live process may own them) */
	const char *old_files[] = {"gc/tasks/f6/f6.data", "gc/tmp/import-abcdef"};
	const char *young_files[] = {"gc/tasks/f7/f7.data", "gc/tmp/import-123456"};
	mkdir(path_in("%s", "gc/tasks/f6"), 0755);
	mkdir(path_in("%s", "gc/tasks/f7"), 0755);
	for (int i = 0; i < 2; i++) {
		close(open(path_in("%s", old_files[i]), O_CREAT | O_WRONLY, 0644));
		close(open(path_in("%s", young_files[i]), O_CREAT | O_WRONLY, 0644));
		struct timespec ts[2] = {{now - 7200, 0}, {now - 7200, 0}};
		CHECK_EQ(utimensat(AT_FDCWD, path_in("%s", old_files[i]), ts, 0), 0);
	}
	p = (struct store_gc_policy){0};
	CHECK_EQ(store_gc(s, &p, &r, err, sizeof err), DF_OK);
	CHECK_EQ(r.evicted, 0);
	for (int i = 0; i < 2; i++) {
		CHECK(!exists(path_in("%s", old_files[i])));
		CHECK(exists(path_in("%s", young_files[i])));
	}
	for (size_t i = 0; i < DF_ARRAY_LEN(foreign); i++)
		CHECK(exists(path_in("%s", foreign[i])));
	store_close(s);
}

/* ---- a disk that says no ---- */

static void child_fsize(void *arg)
{
	(void)arg;
	struct rlimit rl = {64 << 10, 64 << 10};
	signal(SIGXFSZ, SIG_IGN);
	CHECK_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
	struct store *s = store_at("fsize");
	/* a known length past the limit fails at creation, naming the file */
	struct store_task_info big = {.length = 1 << 20, .piece_size = 4096};
	CHECK(store_task_open(s, "1a", &big, STORE_CREATE, err, sizeof err) == NULL);
	CHECK(has_str(err, "1a.data"));
	CHECK(has_str(err, "File too large"));
	/* unknown length: pieces go in until the file may grow no more */
	struct store_task *t = create(s, "1b", -1, 4096);
	uint32_t n = 0;
	while (t && n < 100 && put(t, n, 1) == DF_OK)
		n++;
	CHECK_EQ(n, 16);
	CHECK(has_str(err, "1b.data"));
	CHECK(has_str(err, "File too large"));
	CHECK(t && !store_task_has(t, 16) && store_task_present(t) == 16);
	store_task_close(t);
	t = store_task_open(s, "1b", NULL, 0, err, sizeof err);
	CHECK(t && store_task_present(t) == 16);
	for (uint32_t i = 0; t && i < 16; i++)
		CHECK(piece_ok(t, i, 1));
	store_task_close(t);
	store_close(s);
}

static void file_too_large(void)
{
	CHECK_EQ(in_child(child_fsize, NULL), 0);
}

static void close_store_with_open_tasks(void)
{
	struct store *s = store_at("leak");
	struct store_task *t = create(s, "1c", 100, 10);
	CHECK(t != NULL);
	CHECK(store_task_open(s, "1c", NULL, 0, err, sizeof err) == t);
	store_close(s); /* warns, closes both references */
}

static const struct unit_test tests[] = {
	{"root_checks", root_checks},
	{"write_read", write_read},
	{"writer_rules", writer_rules},
	{"sendfile_and_span", sendfile_and_span},
	{"reopen_persists", reopen_persists},
	{"unknown_length", unknown_length},
	{"crash_recovery", crash_recovery},
	{"torn_log", torn_log},
	{"bad_metadata", bad_metadata},
	{"short_data", short_data},
	{"snapshots", snapshots},
	{"sharing", sharing},
	{"export", export},
	{"export_sweeps", export_sweeps},
	{"handoff", handoff},
	{"import", import},
	{"digests", digests},
	{"gc", gc},
	{"gc_release_dry_run", gc_release_dry_run},
	{"detach", detach},
	{"park", park},
	{"park_rewritten", park_rewritten},
	{"file_too_large", file_too_large},
	{"close_store_with_open_tasks", close_store_with_open_tasks},
};

UNIT_MAIN("store", tests)
