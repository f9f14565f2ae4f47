/* Test driver of the store for the shell tests (not part of df): a writer that never stops, to be
 * SIGKILLed at random moments; a checker of the crash invariant; single steps for ENOSPC tests.
 *
 *   store_tool writer ROOT ACKS SEED   write pieces of four tasks forever; log acknowledged pieces
 *   store_tool check ROOT ACKS|-       reopen every task; fail unless every present piece holds the
 *                                      right bytes and checksum, no piece was lost to the reopen,
 *                                      and every acknowledged piece is present
 *   store_tool verify ROOT             reopen every task; fail unless every present piece is right
 *   store_tool fill ROOT ID LEN PS     write pieces until the first error; print it (exit 2: none);
 *                                      LEN -1: an unknown length, growing until the disk is full
 *   store_tool remove ROOT ID          remove a task
 *   store_tool create ROOT ID LEN PS   create a task (prints the error on failure)
 *   store_tool export ROOT ID PATH [copy|rw]  export a task (copy: no reflink; rw: no reflink and
 *                                      no copy_file_range, the fallbacks; for measuring them)
 *   store_tool open ROOT               open the store (prints the error on failure) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/digest.h"
#include "store/internal.h"
#include "store/store.h"

#define MAXP 4096 /* pieces per task, at most, in these tests */

struct spec {
	const char *id;
	int64_t length;     /* final length */
	int known;          /* is the length given at creation? */
	uint32_t piece_size;
};

static const struct spec specs[] = {
	{"c0", 300 * 1024 + 123, 1, 4096},
	{"c1", 1 << 20, 1, 4096},
	{"c2", 200 * 1024 + 77, 0, 4096}, /* no Content-Length: pieces in order, the last one short */
	{"c3", 64 * 1024, 1, 1024},
};

static char err[1024];

static void content(const char *id, uint8_t *buf, uint64_t off, size_t len)
{
	uint32_t seed = (uint32_t)strtoul(id, NULL, 16) * 977;
	for (size_t i = 0; i < len; i++) {
		uint64_t x = off + i;
		buf[i] = (uint8_t)((x * 2654435761u) >> 13 ^ x >> 7 ^ seed);
	}
}

static uint32_t piece_len(const struct spec *sp, uint32_t n)
{
	uint64_t off = (uint64_t)n * sp->piece_size;
	return (uint32_t)DF_MIN((uint64_t)sp->piece_size, (uint64_t)sp->length - off);
}

static uint32_t piece_count(const struct spec *sp)
{
	return (uint32_t)(((uint64_t)sp->length + sp->piece_size - 1) / sp->piece_size);
}

static void ack(int fd, const char *fmt, const char *id, uint32_t n)
{
	char line[64];
	int k = snprintf(line, sizeof line, fmt, id, n);
	if (fd >= 0 && write(fd, line, (size_t)k) != k)
		exit(3);
}

/* One round on one task: a few pieces through interleaved writers, some aborted, some corrupt. */
static void round_on(struct store *s, const struct spec *sp, int acks)
{
	static uint8_t buf[3][4096];
	struct store_task_info info = {.length = sp->known ? sp->length : -1, .piece_size = sp->piece_size,
				       .url = "http://crash/test"};
	struct store_task *t = store_task_open(s, sp->id, &info, STORE_CREATE, err, sizeof err);
	if (!t) {
		fprintf(stderr, "open: %s\n", err);
		return;
	}
	if (store_task_complete(t)) {
		ack(acks, "R %s %u\n", sp->id, 0); /* before the removal: acks only ever claim too little */
		store_task_close(t);
		if (store_task_remove(s, sp->id, err, sizeof err) != DF_OK)
			fprintf(stderr, "remove: %s\n", err);
		return;
	}
	uint32_t count = piece_count(sp), steps = 1 + (uint32_t)rand() % 20;
	for (uint32_t step = 0; step < steps && !store_task_complete(t); step++) {
		struct store_piece_writer w[3];
		uint32_t pieces[3], k = 0;
		uint8_t sum[3][16];
		if (!sp->known) {
			/* in order: the first absent piece */
			uint32_t n = 0;
			while (store_task_has(t, n))
				n++;
			pieces[k++] = n;
		} else {
			for (uint32_t tries = 0; tries < 20 && k < 1 + (uint32_t)rand() % 3; tries++) {
				uint32_t n = (uint32_t)rand() % count;
				if (!store_task_has(t, n) && (k == 0 || (n != pieces[0] && (k == 1 || n != pieces[1]))))
					pieces[k++] = n;
			}
		}
		for (uint32_t i = 0; i < k; i++) {
			uint32_t len = piece_len(sp, pieces[i]);
			content(sp->id, buf[i], (uint64_t)pieces[i] * sp->piece_size, len);
			digest_xxh128(buf[i], len, sum[i]);
			if (store_piece_begin(&w[i], t, pieces[i], err, sizeof err) != DF_OK) {
				fprintf(stderr, "begin: %s\n", err);
				k = i;
				break;
			}
		}
		/* interleaved appends in random chunks */
		uint32_t done[3] = {0, 0, 0}, left = k;
		while (left) {
			uint32_t i = (uint32_t)rand() % k, len = piece_len(sp, pieces[i]);
			if (done[i] == len)
				continue;
			uint32_t c = 1 + (uint32_t)rand() % 1500; /* not inside DF_MIN: it evaluates twice */
			c = DF_MIN(len - done[i], c);
			if (store_piece_append(&w[i], buf[i] + done[i], c, err, sizeof err) != DF_OK) {
				fprintf(stderr, "append: %s\n", err);
				store_piece_abort(&w[i]);
				done[i] = len;
				left--;
				continue;
			}
			done[i] += c;
			if (done[i] == len)
				left--;
		}
		for (uint32_t i = 0; i < k; i++) {
			if (!w[i].task)
				continue;
			int r = rand() % 10;
			if (r == 0) {
				store_piece_abort(&w[i]);
			} else if (r == 1) {
				sum[i][3] ^= 0x40; /* a lying peer: must be refused */
				if (store_piece_finish(&w[i], sum[i], err, sizeof err) == DF_OK)
					exit(4);
			} else if (r == 2 && store_task_expect(t, pieces[i], sum[i], err, sizeof err) == DF_OK) {
				if (store_piece_finish(&w[i], NULL, err, sizeof err) == DF_OK)
					ack(acks, "A %s %u\n", sp->id, pieces[i]);
			} else if (store_piece_finish(&w[i], sum[i], err, sizeof err) == DF_OK) {
				ack(acks, "A %s %u\n", sp->id, pieces[i]);
			} else {
				fprintf(stderr, "finish: %s\n", err);
			}
		}
	}
	/* an unknown length whose last piece came in full would need set_length; ours ends short */
	store_task_close(t);
}

static int writer(const char *root, const char *acks_path, unsigned seed)
{
	struct store *s = store_open(root, err, sizeof err);
	if (!s) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	s->compact_min = 8; /* many snapshots: the kill lands in them too */
	int acks = open(acks_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	srand(seed);
	for (;;)
		round_on(s, &specs[(unsigned)rand() % DF_ARRAY_LEN(specs)], acks);
}

static int check(const char *root, const char *acks_path)
{
	static uint8_t acked[DF_ARRAY_LEN(specs)][MAXP / 8];
	static uint8_t got[4096], want[4096];
	uint32_t listed[DF_ARRAY_LEN(specs)];
	int bad = 0;
	unsigned tasks = 0, present = 0, complete = 0;
	memset(acked, 0, sizeof acked);
	FILE *f = strcmp(acks_path, "-") ? fopen(acks_path, "r") : NULL;
	char line[128], kind, id[16];
	unsigned n;
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "%c %15s %u", &kind, id, &n) != 3 || n >= MAXP)
			continue; /* a line cut by the kill */
		for (size_t i = 0; i < DF_ARRAY_LEN(specs); i++) {
			if (strcmp(id, specs[i].id))
				continue;
			if (kind == 'R')
				memset(acked[i], 0, sizeof acked[i]);
			else if (kind == 'A')
				bitmap_set(acked[i], n);
		}
	}
	if (f)
		fclose(f);
	struct store *s = store_open(root, err, sizeof err);
	if (!s) {
		fprintf(stderr, "check: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < DF_ARRAY_LEN(specs); i++) {
		const struct spec *sp = &specs[i];
		struct store_task *t;
		/* what the metadata says before anyone recovers it */
		listed[i] = UINT32_MAX;
		struct store_task *peek = calloc(1, sizeof *peek);
		uint8_t *logged = NULL;
		peek->store = s;
		peek->data_fd = -1;
		peek->length = -1;
		store_task_path_alloc(peek, root, sp->id);
		peek->meta_fd = open(peek->meta_path, O_RDONLY);
		if (peek->meta_fd >= 0 && store_task_load(peek, peek->meta_fd, peek->meta_path, &logged, err, sizeof err) == DF_OK)
			listed[i] = peek->npresent;
		else if (peek->meta_fd >= 0) {
			fprintf(stderr, "check: %s: unreadable metadata: %s\n", sp->id, err);
			bad = 1;
		}
		free(logged);
		store_task_free(peek);

		t = store_task_open(s, sp->id, NULL, 0, err, sizeof err);
		if (!t) {
			for (uint32_t p = 0; p < MAXP; p++)
				if (bitmap_get(acked[i], p)) {
					fprintf(stderr, "check: %s: acknowledged piece %u but the task is gone: %s\n", sp->id, p, err);
					bad = 1;
					break;
				}
			continue;
		}
		tasks++;
		if (!store_task_writable(t)) {
			fprintf(stderr, "check: %s: not writable after its writer died\n", sp->id);
			bad = 1;
		}
		if (store_task_present(t) != listed[i]) {
			fprintf(stderr, "check: %s: %u pieces in the metadata, %u after reopening (lost to a process kill)\n",
				sp->id, listed[i], store_task_present(t));
			bad = 1;
		}
		if (store_task_length(t) >= 0 && store_task_length(t) != sp->length) {
			fprintf(stderr, "check: %s: length %lld, want %lld\n", sp->id, (long long)store_task_length(t),
				(long long)sp->length);
			bad = 1;
		}
		for (uint32_t p = 0; p < MAXP; p++) {
			if (!store_task_has(t, p)) {
				if (bitmap_get(acked[i], p)) {
					fprintf(stderr, "check: %s: acknowledged piece %u is not present\n", sp->id, p);
					bad = 1;
				}
				continue;
			}
			uint32_t len = piece_len(sp, p);
			uint8_t sum[16], stored[16];
			content(sp->id, want, (uint64_t)p * sp->piece_size, len);
			if (store_task_piece_len(t, p) != len || store_piece_read(t, p, 0, got, len, err, sizeof err) != DF_OK ||
			    memcmp(got, want, len) != 0) {
				fprintf(stderr, "check: %s: piece %u is marked present but holds wrong bytes (%s)\n", sp->id, p, err);
				bad = 1;
				continue;
			}
			digest_xxh128(got, len, sum);
			if (store_task_checksum(t, p, stored) != DF_OK || memcmp(sum, stored, 16) != 0) {
				fprintf(stderr, "check: %s: piece %u has the wrong checksum\n", sp->id, p);
				bad = 1;
			}
			present++;
		}
		complete += (unsigned)store_task_complete(t);
		store_task_close(t);
	}
	store_close(s);
	printf("checked %u tasks: %u pieces present, %u complete%s\n", tasks, present, complete, bad ? ": BROKEN" : "");
	return bad;
}

struct verify_ctx {
	struct store *s;
	unsigned tasks, present;
	int bad;
};

static int verify_one(void *arg, const struct store_task_stat *st)
{
	static uint8_t got[1 << 16], want[1 << 16];
	struct verify_ctx *v = arg;
	struct store_task *t = store_task_open(v->s, st->id, NULL, 0, err, sizeof err);
	if (!t) {
		printf("verify: %s\n", err);
		v->bad = 1;
		return 0;
	}
	v->tasks++;
	for (uint32_t p = 0; p < st->pieces || (st->length < 0 && p < MAXP); p++) {
		if (!store_task_has(t, p))
			continue;
		uint32_t len = store_task_piece_len(t, p);
		uint8_t sum[16], stored[16];
		content(st->id, want, (uint64_t)p * store_task_piece_size(t), len);
		if (len > sizeof got || store_piece_read(t, p, 0, got, len, err, sizeof err) != DF_OK || memcmp(got, want, len) ||
		    (digest_xxh128(got, len, sum), store_task_checksum(t, p, stored) != DF_OK) || memcmp(sum, stored, 16)) {
			printf("verify: %s: piece %u is marked present but is wrong\n", st->id, p);
			v->bad = 1;
		}
		v->present++;
	}
	store_task_close(t);
	return 0;
}

static int verify(const char *root)
{
	struct verify_ctx v = {.s = store_open(root, err, sizeof err)};
	if (!v.s) {
		printf("%s\n", err);
		return 1;
	}
	if (store_list(v.s, verify_one, &v, err, sizeof err) != DF_OK) {
		printf("%s\n", err);
		v.bad = 1;
	}
	store_close(v.s);
	printf("verified %u tasks, %u pieces present%s\n", v.tasks, v.present, v.bad ? ": BROKEN" : "");
	return v.bad;
}

static int fill(const char *root, const char *id, int64_t length, uint32_t ps)
{
	static uint8_t buf[1 << 16];
	struct store *s = store_open(root, err, sizeof err);
	if (!s) {
		printf("%s\n", err);
		return 1;
	}
	struct store_task_info info = {.length = length, .piece_size = ps};
	struct store_task *t = store_task_open(s, id, &info, STORE_CREATE, err, sizeof err);
	uint32_t n = 0;
	int failed = !t;
	/* with length -1 (no Content-Length) full pieces go in until the disk says no */
	while (t && !failed && (length < 0 ? n < MAXP : n < store_task_piece_count(t))) {
		uint32_t len = store_task_piece_len(t, n);
		if (len > sizeof buf)
			return 1;
		content(id, buf, (uint64_t)n * ps, len);
		failed = store_piece_write(t, n, buf, len, NULL, err, sizeof err) != DF_OK;
		n += !failed;
	}
	if (failed) {
		printf("wrote %u pieces, then: %s\n", n, err);
		fflush(stdout); /* before the warnings close may print */
	}
	store_task_close(t);
	store_close(s);
	return failed ? 0 : 2;
}

int main(int argc, char **argv)
{
	signal(SIGXFSZ, SIG_IGN); /* RLIMIT_FSIZE must give EFBIG, not kill us */
	if (argc == 5 && strcmp(argv[1], "writer") == 0)
		return writer(argv[2], argv[3], (unsigned)atoi(argv[4]));
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return check(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "verify") == 0)
		return verify(argv[2]);
	if (argc == 4 && strcmp(argv[1], "remove") == 0) {
		struct store *s = store_open(argv[2], err, sizeof err);
		int rc = s ? store_task_remove(s, argv[3], err, sizeof err) : DF_ERR;
		if (rc != DF_OK)
			printf("%s\n", err);
		store_close(s);
		return rc != DF_OK;
	}
	if (argc == 6 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2], argv[3], atoll(argv[4]), (uint32_t)atol(argv[5]));
	if (argc == 6 && strcmp(argv[1], "create") == 0) {
		struct store *s = store_open(argv[2], err, sizeof err);
		struct store_task_info info = {.length = atoll(argv[4]), .piece_size = (uint32_t)atol(argv[5])};
		struct store_task *t = s ? store_task_open(s, argv[3], &info, STORE_CREATE, err, sizeof err) : NULL;
		if (!t)
			printf("%s\n", err);
		store_task_close(t);
		store_close(s);
		return !t;
	}
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "export") == 0) {
		struct store *s = store_open(argv[2], err, sizeof err);
		if (s && argc == 6) {
			s->no_clone = 1;
			s->no_kernel_copy = strcmp(argv[5], "rw") == 0;
		}
		struct store_task *t = s ? store_task_open(s, argv[3], NULL, 0, err, sizeof err) : NULL;
		int rc = t ? store_task_export(t, argv[4], err, sizeof err) : DF_ERR;
		if (rc != DF_OK)
			printf("%s\n", err);
		store_task_close(t);
		store_close(s);
		return rc != DF_OK;
	}
	if (argc == 3 && strcmp(argv[1], "open") == 0) {
		struct store *s = store_open(argv[2], err, sizeof err);
		if (!s)
			printf("%s\n", err);
		store_close(s);
		return !s;
	}
	fprintf(stderr, "usage: see test/tools/store_tool.c\n");
	return 2;
}
