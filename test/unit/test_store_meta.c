/* Unit tests of store/meta: the metadata file format. Round trips, every truncation, every flipped
 * byte, and each validation rule of the header, the snapshot and the log records. */
#include <string.h>

#include "core/df.h"
#include "store/meta.h"
#include "test/unit/unit.h"

static struct store_meta_hdr sample(void)
{
	struct store_meta_hdr h;
	memset(&h, 0, sizeof h);
	h.piece_size = 4096;
	h.flags = STORE_META_LENGTH_KNOWN | STORE_META_HAS_SHA256;
	h.length = 10000;
	h.npieces = 3;
	h.data_size = 10000;
	h.data_mtime_ns = 1234567890123456789LL;
	for (int i = 0; i < 32; i++)
		h.sha256[i] = (uint8_t)(i * 7 + 1);
	h.id = SLICE_LIT("0123456789abcdef");
	h.url = SLICE_LIT("http://example.com/a/b?c=d");
	h.etag = SLICE_LIT("\"abc-123\"");
	h.last_modified = SLICE_LIT("Wed, 21 Oct 2015 07:28:00 GMT");
	return h;
}

static void header_round_trip(void)
{
	uint8_t buf[STORE_META_MAX_HEADER];
	struct store_meta_hdr h = sample(), g;
	const char *why = NULL;
	int n = store_meta_format_header(&h, buf, sizeof buf);
	CHECK(n > 0);
	CHECK_EQ(n % 8, 0);
	CHECK_EQ((size_t)n, store_meta_header_size(&h));
	CHECK_EQ(store_meta_parse_header(buf, (size_t)n, &g, &why), n);
	CHECK_EQ(g.piece_size, 4096);
	CHECK_EQ(g.length, 10000);
	CHECK_EQ(g.npieces, 3);
	CHECK_EQ(g.flags, h.flags);
	CHECK_EQ(g.data_mtime_ns, h.data_mtime_ns);
	CHECK(memcmp(g.sha256, h.sha256, 32) == 0);
	CHECK(slice_eq(g.id, "0123456789abcdef"));
	CHECK(slice_eq(g.url, "http://example.com/a/b?c=d"));
	CHECK(slice_eq(g.etag, "\"abc-123\""));
	CHECK(slice_eq(g.last_modified, "Wed, 21 Oct 2015 07:28:00 GMT"));
	/* bytes after the header do not matter to the header */
	memset(buf + n, 0xee, 100);
	CHECK_EQ(store_meta_parse_header(buf, (size_t)n + 100, &g, &why), n);

	/* unknown length: stored as 0 and read back as -1 */
	h.flags = 0;
	h.length = -1;
	h.npieces = 7;
	n = store_meta_format_header(&h, buf, sizeof buf);
	CHECK(n > 0);
	CHECK_EQ(store_meta_parse_header(buf, (size_t)n, &g, &why), n);
	CHECK_EQ(g.length, -1);
	CHECK_EQ(g.npieces, 7);
}

static void header_truncated_and_flipped(void)
{
	uint8_t buf[STORE_META_MAX_HEADER];
	struct store_meta_hdr h = sample(), g;
	const char *why = NULL;
	int n = store_meta_format_header(&h, buf, sizeof buf);
	/* every strict prefix asks for more */
	for (int cut = 0; cut < n; cut++)
		CHECK_EQ(store_meta_parse_header(buf, (size_t)cut, &g, &why), DF_AGAIN);
	/* any flipped bit anywhere is caught (never parsed as a different header) */
	for (int i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			buf[i] ^= (uint8_t)(1 << bit);
			int rc = store_meta_parse_header(buf, (size_t)n, &g, &why);
			CHECK(rc < 0);
			buf[i] ^= (uint8_t)(1 << bit);
		}
	}
	CHECK_EQ(store_meta_parse_header(buf, (size_t)n, &g, &why), n);
}

static void header_rules(void)
{
	uint8_t buf[STORE_META_MAX_HEADER];
	struct store_meta_hdr h = sample(), g;
	const char *why = "";
	CHECK_EQ(store_meta_parse_header((const uint8_t *)"GIF89a..........", 16, &g, &why), DF_ERR);
	CHECK(strstr(why, "not a df metadata file") != NULL);
	CHECK_EQ(store_meta_parse_header((const uint8_t *)"DFX", 3, &g, &why), DF_ERR);

	/* the encoder refuses what the decoder would refuse */
	h.piece_size = 0;
	CHECK_EQ(store_meta_format_header(&h, buf, sizeof buf), DF_ERR);
	h = sample();
	h.npieces = 2; /* 10000 bytes in 4096-byte pieces are 3 */
	CHECK_EQ(store_meta_format_header(&h, buf, sizeof buf), DF_ERR);
	h = sample();
	h.flags |= 0x100;
	CHECK_EQ(store_meta_format_header(&h, buf, sizeof buf), DF_ERR);
	h = sample();
	CHECK_EQ(store_meta_format_header(&h, buf, 64), DF_ERR);
	char big[STORE_MAX_URL + 2];
	memset(big, 'a', sizeof big);
	h.url = (struct slice){big, sizeof big};
	CHECK_EQ(store_meta_header_size(&h), 0);
	CHECK_EQ(store_meta_format_header(&h, buf, sizeof buf), DF_ERR);

	/* a version we do not know is refused by name, even with a valid check */
	h = sample();
	int n = store_meta_format_header(&h, buf, sizeof buf);
	buf[8] = 2;
	CHECK_EQ(store_meta_parse_header(buf, (size_t)n, &g, &why), DF_ERR);
	CHECK(strstr(why, "version") != NULL);

	/* the encoder does not judge ids or text; the decoder refuses a bad id or a control byte
	 * even though the header's check matches */
	h = sample();
	h.id = SLICE_LIT("ABC"); /* upper case is not an id */
	n = store_meta_format_header(&h, buf, sizeof buf);
	CHECK(n > 0);
	CHECK_EQ(store_meta_parse_header(buf, (size_t)n, &g, &why), DF_ERR);
	CHECK(strstr(why, "id") != NULL);
	h = sample();
	h.etag = SLICE_LIT("a\nb");
	n = store_meta_format_header(&h, buf, sizeof buf);
	CHECK_EQ(store_meta_parse_header(buf, (size_t)n, &g, &why), DF_ERR);
}

static void ids(void)
{
	CHECK(store_meta_id_valid(SLICE_LIT("a")));
	CHECK(store_meta_id_valid(SLICE_LIT("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")));
	CHECK(!store_meta_id_valid(SLICE_LIT("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0")));
	CHECK(!store_meta_id_valid(SLICE_LIT("")));
	CHECK(!store_meta_id_valid(SLICE_LIT("AB")));
	CHECK(!store_meta_id_valid(SLICE_LIT("../x")));
	CHECK(!store_meta_id_valid(SLICE_LIT("ab.c")));
	CHECK_EQ(store_meta_piece_count(0, 10), 0);
	CHECK_EQ(store_meta_piece_count(1, 10), 1);
	CHECK_EQ(store_meta_piece_count(10, 10), 1);
	CHECK_EQ(store_meta_piece_count(11, 10), 2);
	CHECK_EQ(store_meta_piece_count(30LL << 30, 4 << 20), 7680);
}

static void snapshot(void)
{
	uint8_t bitmap[2] = {0}, sums[10 * 16] = {0}, check[8];
	const char *why = "";
	bitmap_set(bitmap, 0);
	bitmap_set(bitmap, 9);
	CHECK_EQ(bitmap[0], 0x80);
	CHECK_EQ(bitmap[1], 0x40);
	memset(sums, 0x11, 16);
	memset(sums + 9 * 16, 0x99, 16);
	store_meta_snapshot_check(bitmap, sums, 10, check);
	CHECK_EQ(store_meta_snapshot_valid(bitmap, sums, 10, check, &why), DF_OK);
	CHECK_EQ(store_meta_snapshot_size(10), 2 + 160 + 8);
	sums[20] = 1; /* a checksum for absent piece 1 */
	CHECK_EQ(store_meta_snapshot_valid(bitmap, sums, 10, check, &why), DF_ERR);
	store_meta_snapshot_check(bitmap, sums, 10, check);
	CHECK_EQ(store_meta_snapshot_valid(bitmap, sums, 10, check, &why), DF_ERR);
	CHECK(strstr(why, "absent") != NULL);
	sums[20] = 0;
	bitmap[1] |= 0x01; /* bit 15: past piece 9 */
	store_meta_snapshot_check(bitmap, sums, 10, check);
	CHECK_EQ(store_meta_snapshot_valid(bitmap, sums, 10, check, &why), DF_ERR);
	CHECK(strstr(why, "past the last piece") != NULL);
	/* zero pieces: an empty table is valid */
	store_meta_snapshot_check(bitmap, sums, 0, check);
	CHECK_EQ(store_meta_snapshot_valid(bitmap, sums, 0, check, &why), DF_OK);
}

static void records(void)
{
	uint8_t buf[STORE_META_RECORD];
	struct store_meta_rec r = {.type = STORE_REC_PRESENT, .piece = 5}, g;
	const char *why = "";
	memset(r.sum, 0xab, sizeof r.sum);
	store_meta_format_record(&r, buf);
	CHECK_EQ(store_meta_parse_record(buf, sizeof buf, 10, &g, &why), STORE_META_RECORD);
	CHECK_EQ(g.type, STORE_REC_PRESENT);
	CHECK_EQ(g.piece, 5);
	CHECK(memcmp(g.sum, r.sum, 16) == 0);
	for (size_t cut = 0; cut < sizeof buf; cut++)
		CHECK_EQ(store_meta_parse_record(buf, cut, 10, &g, &why), DF_AGAIN);
	for (size_t i = 0; i < sizeof buf; i++) {
		buf[i] ^= 0x10;
		CHECK_EQ(store_meta_parse_record(buf, sizeof buf, 10, &g, &why), DF_ERR);
		buf[i] ^= 0x10;
	}
	CHECK_EQ(store_meta_parse_record(buf, sizeof buf, 5, &g, &why), DF_ERR); /* piece 5 of 5 */
	uint8_t zero[STORE_META_RECORD] = {0};
	CHECK_EQ(store_meta_parse_record(zero, sizeof zero, 10, &g, &why), DF_ERR); /* a hole in the file */
	r.type = STORE_REC_DROP;
	store_meta_format_record(&r, buf);
	CHECK_EQ(store_meta_parse_record(buf, sizeof buf, 10, &g, &why), DF_ERR); /* drop with a sum */
	memset(r.sum, 0, sizeof r.sum);
	store_meta_format_record(&r, buf);
	CHECK_EQ(store_meta_parse_record(buf, sizeof buf, 10, &g, &why), STORE_META_RECORD);
	r.type = STORE_REC_SESSION;
	store_meta_format_record(&r, buf);
	CHECK_EQ(store_meta_parse_record(buf, sizeof buf, 10, &g, &why), DF_ERR); /* session names no piece */
	r.piece = 0;
	store_meta_format_record(&r, buf);
	CHECK_EQ(store_meta_parse_record(buf, sizeof buf, 0, &g, &why), STORE_META_RECORD);
	r.type = 9;
	store_meta_format_record(&r, buf);
	CHECK_EQ(store_meta_parse_record(buf, sizeof buf, 10, &g, &why), DF_ERR);
}

static const struct unit_test tests[] = {
	{"header_round_trip", header_round_trip},
	{"header_truncated_and_flipped", header_truncated_and_flipped},
	{"header_rules", header_rules},
	{"ids", ids},
	{"snapshot", snapshot},
	{"records", records},
};

UNIT_MAIN("store_meta", tests)
