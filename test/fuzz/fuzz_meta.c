/* Fuzz target of the metadata file format: the pure parsers (header round trip, snapshot, log
 * records) and the store's own loader reading the same bytes from a memfd, as it reads a file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/meta.h"

static void must(int cond)
{
	if (!cond)
		abort();
}

/* What a header parsed from the input encodes to must parse back to the same thing. */
static void round_trip(const struct store_meta_hdr *h, int n)
{
	static uint8_t out[STORE_META_MAX_HEADER];
	struct store_meta_hdr g;
	const char *why = NULL;
	must(store_meta_format_header(h, out, sizeof out) == n);
	must(store_meta_parse_header(out, (size_t)n, &g, &why) == n);
	must(g.piece_size == h->piece_size && g.length == h->length && g.npieces == h->npieces && g.flags == h->flags);
	must(g.data_size == h->data_size && g.data_mtime_ns == h->data_mtime_ns);
	must(memcmp(g.sha256, h->sha256, 32) == 0 && memcmp(g.md5, h->md5, 16) == 0);
	must(g.id.n == h->id.n && memcmp(g.id.p, h->id.p, g.id.n) == 0);
	must(g.url.n == h->url.n && (g.url.n == 0 || memcmp(g.url.p, h->url.p, g.url.n) == 0));
}

/* The loader: bounded work, and a state that obeys the invariants whatever the bytes. */
static void load(const uint8_t *data, size_t size, const struct store_meta_hdr *h)
{
	struct store s = {.root = "/fuzz", .compact_min = STORE_COMPACT_MIN};
	struct store_task *t = calloc(1, sizeof *t);
	uint8_t *logged = NULL;
	char id[STORE_MAX_ID + 1], err[256];
	int fd = memfd_create("meta", 0);
	if (!t || fd < 0)
		abort();
	must(write(fd, data, size) == (ssize_t)size);
	memcpy(id, h->id.p, h->id.n);
	id[h->id.n] = 0;
	t->store = &s;
	t->data_fd = t->meta_fd = -1;
	t->length = -1;
	must(store_task_path_alloc(t, s.root, id) == DF_OK);
	if (store_task_load(t, fd, "fuzz.meta", &logged, err, sizeof err) == DF_OK) {
		uint32_t count = 0;
		must(t->npieces <= t->cap && t->npieces <= STORE_MAX_PIECES);
		for (uint32_t i = 0; i < t->npieces; i++)
			count += (uint32_t)bitmap_get(t->present, i);
		must(count == t->npresent);
		for (uint32_t i = t->npieces; i < DF_MIN(t->cap & ~7u, t->npieces + 64); i++)
			must(!bitmap_get(t->present, i));
		must(t->meta_end <= size);
		if (t->length >= 0)
			must(t->npieces == store_meta_piece_count(t->length, t->piece_size));
	}
	free(logged);
	close(fd);
	store_task_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_meta_hdr h;
	struct store_meta_rec r;
	const char *why = NULL;
	int n = store_meta_parse_header(data, size, &h, &why);
	if (n < 0) {
		must(n == DF_AGAIN || why != NULL);
		return 0;
	}
	must((size_t)n <= size && n % 8 == 0);
	round_trip(&h, n);
	size_t off = (size_t)n;
	uint64_t snap = store_meta_snapshot_size(h.npieces);
	if (snap <= size - off) {
		size_t bb = bitmap_bytes(h.npieces);
		store_meta_snapshot_valid(data + off, data + off + bb, h.npieces, data + off + bb + (size_t)h.npieces * 16, &why);
		off += (size_t)snap;
		uint32_t limit = h.length >= 0 ? h.npieces : STORE_MAX_PIECES;
		int rc;
		while ((rc = store_meta_parse_record(data + off, size - off, limit, &r, &why)) > 0) {
			must(rc == STORE_META_RECORD && r.piece < STORE_MAX_PIECES);
			off += (size_t)rc;
		}
	}
	/* the loader allocates the piece arrays from the header: keep the fuzzer's allocations sane */
	if (h.npieces <= (1u << 16))
		load(data, size, &h);
	return 0;
}
