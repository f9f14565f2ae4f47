/* The memory promise of the store: a 30 GiB task (sparse on disk) costs a few MB of RSS to open,
 * recover after a crash, resume, serve by pread and sendfile, list and GC, and exporting a 1 GiB one
 * as much (an export copies every byte, holes included: 30 GiB took minutes of disk writes, and the
 * copy buffer is the same for any size). Measured as the peak RSS (VmHWM, reset through
 * /proc/self/clear_refs) above the RSS before the work. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/df.h"
#include "core/digest.h"
#include "store/internal.h"
#include "store/store.h"
#include "test/unit/unit.h"

#define GIB (1ull << 30)
#define PIECE (4u << 20)

#if defined(__SANITIZE_ADDRESS__)
#define RSS_BUDGET_KB (8 * 1024) /* ASan's redzones and quarantine keep freed buffers resident */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_BUDGET_KB (8 * 1024)
#endif
#endif
#ifndef RSS_BUDGET_KB
#define RSS_BUDGET_KB (4 * 1024)
#endif

static char err[1024];

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = atol(line + strlen(key) + 1);
	if (f)
		fclose(f);
	return v;
}

static int reset_peak(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	int ok = fd >= 0 && write(fd, "5", 1) == 1;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* xxh3-128 of a piece of zeros (a hole), without a piece-sized buffer */
static void zero_sum(uint8_t sum[16])
{
	static const uint8_t z[1 << 16];
	struct digest_xxh128_ctx c;
	digest_xxh128_init(&c);
	for (uint32_t off = 0; off < PIECE; off += sizeof z)
		digest_xxh128_update(&c, z, sizeof z);
	digest_xxh128_final(&c, sum);
}

/* Streams piece n of pattern bytes through a writer, 64 KiB at a time. */
static void write_piece(struct store_task *t, uint32_t n)
{
	static uint8_t buf[1 << 16];
	struct store_piece_writer w;
	memset(buf, (int)(n & 0xff) | 1, sizeof buf);
	CHECK_EQ(store_piece_begin(&w, t, n, err, sizeof err), DF_OK);
	for (uint32_t off = 0; off < PIECE; off += sizeof buf)
		CHECK_EQ(store_piece_append(&w, buf, sizeof buf, err, sizeof err), DF_OK);
	CHECK_EQ(store_piece_finish(&w, NULL, err, sizeof err), DF_OK);
}

static int count_cb(void *arg, const struct store_task_stat *st)
{
	if (strcmp(st->id, "b16") == 0)
		*(uint64_t *)arg = st->length;
	return 0;
}

/* A complete task of len bytes on disk with every piece a hole but `real` (written for real). */
static struct store_task *sparse_task(struct store *s, const char *id, uint64_t len, uint32_t real)
{
	uint8_t zs[16];
	struct store_task_info info = {.length = (int64_t)len, .piece_size = PIECE, .url = "http://big/file"};
	struct store_task *t = store_task_open(s, id, &info, STORE_CREATE, err, sizeof err);
	CHECK(t != NULL);
	if (!t) {
		fprintf(stderr, "    %s\n", err);
		return NULL;
	}
	zero_sum(zs);
	for (uint32_t n = 0; n < store_task_piece_count(t); n++)
		if (n != real)
			store_task_mark(t, n, zs);
	CHECK_EQ(store_task_snapshot(t, err, sizeof err), DF_OK);
	write_piece(t, real);
	return t;
}

static void thirty_gib(void)
{
	char root[512], out[600];
	uint8_t zs[16];
	snprintf(root, sizeof root, "%s/big", unit_tmpdir());
	snprintf(out, sizeof out, "%s/exported", unit_tmpdir());
	const uint64_t len = 30 * GIB;
	const uint32_t count = (uint32_t)(len / PIECE);
	const uint32_t late[] = {5, 4000, count - 1}; /* written after the snapshot, then a crash */
	const uint64_t export_len = GIB;

	/* a complete 30 GiB task on disk: holes everywhere but three pieces written for real */
	struct store *s = store_open(root, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	struct store_task_info info = {.length = (int64_t)len, .piece_size = PIECE, .url = "http://big/file"};
	struct store_task *t = store_task_open(s, "b16", &info, STORE_CREATE, err, sizeof err);
	CHECK(t != NULL);
	if (!t) {
		fprintf(stderr, "    %s\n", err);
		return;
	}
	CHECK_EQ(store_task_piece_count(t), 7680);
	zero_sum(zs);
	for (uint32_t n = 0; n < count; n++)
		if (n != late[0] && n != late[1] && n != late[2])
			store_task_mark(t, n, zs);
	CHECK_EQ(store_task_snapshot(t, err, sizeof err), DF_OK);
	write_piece(t, late[0]);
	write_piece(t, late[1]);
	CHECK_EQ(t->log_records, 3); /* session + two pieces */
	/* crash: drop the handle without closing (no final snapshot from close) */
	s->tasks = NULL;
	store_task_free(t);
	store_close(s);
	struct stat st;
	CHECK_EQ(stat(root, &st), 0);
	s = store_open(root, err, sizeof err);
	struct store_task *e = s ? sparse_task(s, "e1", export_len, 100) : NULL;
	if (e)
		store_task_close(e);
	store_close(s);

	/* now measure: resume, serve, export, list, GC */
	long before = status_kb("VmRSS:");
	if (!reset_peak())
		UNIT_SKIP("cannot reset the RSS peak (/proc/self/clear_refs): the resume/serve/export measurement did not run");
	s = store_open(root, err, sizeof err);
	t = store_task_open(s, "b16", NULL, 0, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_EQ(t->log_records, 0); /* the two logged pieces re-verified, a clean snapshot written */
	CHECK_EQ(store_task_present(t), count - 1);
	write_piece(t, late[2]); /* resume: the last piece */
	CHECK(store_task_complete(t));
	CHECK_EQ(store_task_present_bytes(t), len);
	size_t nb;
	CHECK_EQ(store_task_bitmap(t, &nb)[959], 0xff);
	CHECK_EQ(nb, 960);
	static uint8_t buf[1 << 16];
	CHECK_EQ(store_piece_read(t, 4000, PIECE - sizeof buf, buf, sizeof buf, err, sizeof err), DF_OK);
	CHECK_EQ(buf[0], (4000 & 0xff) | 1);
	CHECK_EQ(store_piece_read(t, 7000, 0, buf, sizeof buf, err, sizeof err), DF_OK);
	CHECK_EQ(buf[100], 0);
	int null = open("/dev/null", O_WRONLY);
	uint64_t sent = 0;
	for (uint32_t n = 0; n < count; n += 640) {
		for (uint32_t off = 0; off < PIECE;) {
			ssize_t r = store_piece_sendfile(t, n, off, null, PIECE, err, sizeof err);
			CHECK(r > 0);
			if (r <= 0)
				break;
			off += (uint32_t)r;
			sent += (uint64_t)r;
		}
	}
	close(null);
	CHECK_EQ(sent, 12ull * PIECE);
	store_task_close(t);
	e = store_task_open(s, "e1", NULL, 0, err, sizeof err);
	CHECK(e && store_task_complete(e));
	if (e) {
		CHECK_EQ(store_task_export(e, out, err, sizeof err), DF_OK);
		store_task_close(e);
	}
	struct stat os;
	CHECK_EQ(stat(out, &os), 0);
	CHECK_EQ((uint64_t)os.st_size, export_len);
	uint64_t listed = 0;
	CHECK_EQ(store_list(s, count_cb, &listed, err, sizeof err), DF_OK);
	CHECK_EQ(listed, len);
	struct store_gc_policy p = {.quota_bytes = 1ull << 40};
	CHECK_EQ(store_gc(s, &p, NULL, err, sizeof err), DF_OK);
	t = store_task_open(s, "b16", NULL, 0, err, sizeof err);
	CHECK(t && store_task_complete(t));
	store_task_close(t);
	store_close(s);
	long peak = status_kb("VmHWM:");
	printf("  30 GiB task (1 GiB export): RSS %ld kB before, peak %ld kB (+%ld kB; budget %d kB)\n", before, peak,
	       peak - before, RSS_BUDGET_KB);
	CHECK(peak - before < RSS_BUDGET_KB);
	unlink(out);
}

static const struct unit_test tests[] = {
	{"thirty_gib", thirty_gib},
};

UNIT_MAIN("store_big", tests)
