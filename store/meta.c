/* Encoders and decoders of the metadata file format (store/meta.h): fixed little-endian fields read
 * through bounds-checked helpers, every length validated before use, checks over every part. */
#include "store/meta.h"

#include <string.h>

#include "core/df.h"
#include "core/digest.h"

/* Header field offsets. */
enum {
	OFF_VERSION = 8,
	OFF_HDR_LEN = 12,
	OFF_PIECE_SIZE = 16,
	OFF_FLAGS = 20,
	OFF_LENGTH = 24,
	OFF_NPIECES = 32,
	OFF_SUM_KIND = 36,
	OFF_DATA_SIZE = 40,
	OFF_DATA_MTIME = 48,
	OFF_SHA256 = 56,
	OFF_MD5 = 88,
	OFF_ID_LEN = 104,
	OFF_URL_LEN = 106,
	OFF_ETAG_LEN = 108,
	OFF_LM_LEN = 110,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* The 8-byte check used everywhere in the file: the first bytes of xxh3-128 (core/digest). */
static void check8(const uint8_t *buf, size_t len, uint8_t out[STORE_META_CHECK])
{
	uint8_t h[DIGEST_XXH128_LEN];
	digest_xxh128(buf, len, h);
	memcpy(out, h, STORE_META_CHECK);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

uint64_t store_meta_piece_count(int64_t length, uint32_t piece_size)
{
	if (length <= 0 || piece_size == 0)
		return 0;
	return ((uint64_t)length + piece_size - 1) / piece_size;
}

int store_meta_id_valid(struct slice s)
{
	if (s.n == 0 || s.n > STORE_MAX_ID)
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

/* Header strings are one line of printable text (URLs, validators): no control bytes. */
int store_meta_text_valid(struct slice s)
{
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

size_t store_meta_header_size(const struct store_meta_hdr *h)
{
	if (h->id.n > STORE_MAX_ID || h->url.n > STORE_MAX_URL || h->etag.n > STORE_MAX_ETAG ||
	    h->last_modified.n > STORE_MAX_LAST_MODIFIED)
		return 0;
	return pad8(STORE_META_FIXED + h->id.n + h->url.n + h->etag.n + h->last_modified.n) + STORE_META_CHECK;
}

int store_meta_parse_header(const uint8_t *buf, size_t len, struct store_meta_hdr *h, const char **why)
{
	memset(h, 0, sizeof *h);
	size_t have = DF_MIN(len, (size_t)STORE_META_MAGIC_LEN);
	if (memcmp(buf, STORE_META_MAGIC, have) != 0) {
		*why = "not a df metadata file (bad magic)";
		return DF_ERR;
	}
	if (len < OFF_HDR_LEN + 4)
		return DF_AGAIN;
	h->version = get32(buf + OFF_VERSION);
	if (h->version != STORE_META_VERSION) {
		*why = "unsupported metadata format version";
		return DF_ERR;
	}
	h->hdr_len = get32(buf + OFF_HDR_LEN);
	if (h->hdr_len < STORE_META_FIXED + STORE_META_CHECK || h->hdr_len > STORE_META_MAX_HEADER || h->hdr_len % 8) {
		*why = "bad header length";
		return DF_ERR;
	}
	if (len < h->hdr_len)
		return DF_AGAIN;
	uint8_t check[STORE_META_CHECK];
	check8(buf, h->hdr_len - STORE_META_CHECK, check);
	if (memcmp(check, buf + h->hdr_len - STORE_META_CHECK, STORE_META_CHECK) != 0) {
		*why = "header checksum mismatch";
		return DF_ERR;
	}
	h->piece_size = get32(buf + OFF_PIECE_SIZE);
	h->flags = get32(buf + OFF_FLAGS);
	uint64_t length = get64(buf + OFF_LENGTH);
	h->npieces = get32(buf + OFF_NPIECES);
	h->sum_kind = get32(buf + OFF_SUM_KIND);
	h->data_size = get64(buf + OFF_DATA_SIZE);
	h->data_mtime_ns = (int64_t)get64(buf + OFF_DATA_MTIME);
	memcpy(h->sha256, buf + OFF_SHA256, sizeof h->sha256);
	memcpy(h->md5, buf + OFF_MD5, sizeof h->md5);
	if (h->piece_size == 0 || h->piece_size > STORE_MAX_PIECE_SIZE) {
		*why = "bad piece size";
		return DF_ERR;
	}
	if (h->flags & ~STORE_META_FLAGS_ALL) {
		*why = "unknown header flags";
		return DF_ERR;
	}
	if (h->sum_kind != STORE_META_SUM_XXH128) {
		*why = "unknown piece checksum kind";
		return DF_ERR;
	}
	if (h->npieces > STORE_MAX_PIECES) {
		*why = "too many pieces";
		return DF_ERR;
	}
	if (h->flags & STORE_META_LENGTH_KNOWN) {
		if (length > (uint64_t)INT64_MAX ||
		    store_meta_piece_count((int64_t)length, h->piece_size) != h->npieces) {
			*why = "length and piece count disagree";
			return DF_ERR;
		}
		h->length = (int64_t)length;
	} else {
		if (length != 0) {
			*why = "length set but not marked known";
			return DF_ERR;
		}
		h->length = -1;
	}
	if (h->data_size > (uint64_t)INT64_MAX) {
		*why = "bad data size";
		return DF_ERR;
	}
	if ((!(h->flags & STORE_META_HAS_SHA256) && !all_zero(h->sha256, sizeof h->sha256)) ||
	    (!(h->flags & STORE_META_HAS_MD5) && !all_zero(h->md5, sizeof h->md5))) {
		*why = "digest bytes without their flag";
		return DF_ERR;
	}
	size_t off = STORE_META_FIXED;
	struct slice *str[] = {&h->id, &h->url, &h->etag, &h->last_modified};
	const int lens[] = {OFF_ID_LEN, OFF_URL_LEN, OFF_ETAG_LEN, OFF_LM_LEN};
	for (size_t i = 0; i < DF_ARRAY_LEN(str); i++) {
		size_t n = get16(buf + lens[i]);
		if (n > h->hdr_len - STORE_META_CHECK - off) {
			*why = "header strings overrun the header";
			return DF_ERR;
		}
		*str[i] = (struct slice){(const char *)buf + off, n};
		off += n;
	}
	if (store_meta_header_size(h) != h->hdr_len || !all_zero(buf + off, h->hdr_len - STORE_META_CHECK - off)) {
		*why = "bad header padding";
		return DF_ERR;
	}
	if (!store_meta_id_valid(h->id)) {
		*why = "bad task id";
		return DF_ERR;
	}
	if (!store_meta_text_valid(h->url) || !store_meta_text_valid(h->etag) ||
	    !store_meta_text_valid(h->last_modified)) {
		*why = "control characters in a header string";
		return DF_ERR;
	}
	return (int)h->hdr_len;
}

int store_meta_format_header(const struct store_meta_hdr *h, uint8_t *buf, size_t cap)
{
	size_t n = store_meta_header_size(h);
	if (n == 0 || n > cap || h->piece_size == 0 || h->piece_size > STORE_MAX_PIECE_SIZE ||
	    h->npieces > STORE_MAX_PIECES || (h->flags & ~STORE_META_FLAGS_ALL))
		return DF_ERR;
	int known = (h->flags & STORE_META_LENGTH_KNOWN) != 0;
	if (known && (h->length < 0 || store_meta_piece_count(h->length, h->piece_size) != h->npieces))
		return DF_ERR;
	memset(buf, 0, n);
	memcpy(buf, STORE_META_MAGIC, STORE_META_MAGIC_LEN);
	put32(buf + OFF_VERSION, STORE_META_VERSION);
	put32(buf + OFF_HDR_LEN, (uint32_t)n);
	put32(buf + OFF_PIECE_SIZE, h->piece_size);
	put32(buf + OFF_FLAGS, h->flags);
	put64(buf + OFF_LENGTH, known ? (uint64_t)h->length : 0);
	put32(buf + OFF_NPIECES, h->npieces);
	put32(buf + OFF_SUM_KIND, STORE_META_SUM_XXH128);
	put64(buf + OFF_DATA_SIZE, h->data_size);
	put64(buf + OFF_DATA_MTIME, (uint64_t)h->data_mtime_ns);
	if (h->flags & STORE_META_HAS_SHA256)
		memcpy(buf + OFF_SHA256, h->sha256, sizeof h->sha256);
	if (h->flags & STORE_META_HAS_MD5)
		memcpy(buf + OFF_MD5, h->md5, sizeof h->md5);
	put16(buf + OFF_ID_LEN, (uint16_t)h->id.n);
	put16(buf + OFF_URL_LEN, (uint16_t)h->url.n);
	put16(buf + OFF_ETAG_LEN, (uint16_t)h->etag.n);
	put16(buf + OFF_LM_LEN, (uint16_t)h->last_modified.n);
	size_t off = STORE_META_FIXED;
	const struct slice str[] = {h->id, h->url, h->etag, h->last_modified};
	for (size_t i = 0; i < DF_ARRAY_LEN(str); i++) {
		if (str[i].n)
			memcpy(buf + off, str[i].p, str[i].n);
		off += str[i].n;
	}
	check8(buf, n - STORE_META_CHECK, buf + n - STORE_META_CHECK);
	return (int)n;
}

uint64_t store_meta_snapshot_size(uint32_t n)
{
	return bitmap_bytes(n) + (uint64_t)n * STORE_META_SUM + STORE_META_CHECK;
}

void store_meta_snapshot_check(const uint8_t *bitmap, const uint8_t *sums, uint32_t n, uint8_t out[STORE_META_CHECK])
{
	struct digest_xxh128_ctx c;
	uint8_t h[DIGEST_XXH128_LEN];
	digest_xxh128_init(&c);
	digest_xxh128_update(&c, bitmap, bitmap_bytes(n));
	digest_xxh128_update(&c, sums, (size_t)n * STORE_META_SUM);
	digest_xxh128_final(&c, h);
	memcpy(out, h, STORE_META_CHECK);
}

int store_meta_snapshot_valid(const uint8_t *bitmap, const uint8_t *sums, uint32_t n,
			      const uint8_t check[STORE_META_CHECK], const char **why)
{
	uint8_t c[STORE_META_CHECK];
	store_meta_snapshot_check(bitmap, sums, n, c);
	if (memcmp(c, check, sizeof c) != 0) {
		*why = "piece table checksum mismatch";
		return DF_ERR;
	}
	if (!bitmap_tail_clear(bitmap, n)) {
		*why = "piece bitmap has bits past the last piece";
		return DF_ERR;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (!bitmap_get(bitmap, i) && !all_zero(sums + (size_t)i * STORE_META_SUM, STORE_META_SUM)) {
			*why = "checksum stored for an absent piece";
			return DF_ERR;
		}
	}
	return DF_OK;
}

int store_meta_parse_record(const uint8_t *buf, size_t len, uint32_t limit, struct store_meta_rec *r, const char **why)
{
	if (len < STORE_META_RECORD)
		return DF_AGAIN;
	uint8_t check[STORE_META_CHECK];
	check8(buf, STORE_META_RECORD - STORE_META_CHECK, check);
	if (memcmp(check, buf + STORE_META_RECORD - STORE_META_CHECK, STORE_META_CHECK) != 0) {
		*why = "log record checksum mismatch";
		return DF_ERR;
	}
	r->type = get32(buf);
	r->piece = get32(buf + 4);
	memcpy(r->sum, buf + 8, STORE_META_SUM);
	if (r->type != STORE_REC_PRESENT && r->type != STORE_REC_DROP && r->type != STORE_REC_SESSION) {
		*why = "unknown log record type";
		return DF_ERR;
	}
	if (r->type == STORE_REC_SESSION ? r->piece != 0 : (r->piece >= limit || r->piece >= STORE_MAX_PIECES)) {
		*why = "log record for a piece past the end";
		return DF_ERR;
	}
	if (r->type != STORE_REC_PRESENT && !all_zero(r->sum, STORE_META_SUM)) {
		*why = "checksum in a record that takes none";
		return DF_ERR;
	}
	return STORE_META_RECORD;
}

void store_meta_format_record(const struct store_meta_rec *r, uint8_t out[STORE_META_RECORD])
{
	put32(out, r->type);
	put32(out + 4, r->piece);
	memcpy(out + 8, r->sum, STORE_META_SUM);
	check8(out, STORE_META_RECORD - STORE_META_CHECK, out + STORE_META_RECORD - STORE_META_CHECK);
}
