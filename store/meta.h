/* The on-disk format of a task's metadata file: pure encoders and decoders over byte buffers
 * (no I/O, no malloc), so the parser can be fuzzed. docs/STORE.md describes the layout.
 *
 * How it works: a metadata file is [header][snapshot][log record]*.
 *   header   fixed fields + id, url, etag, last-modified; ends with an 8-byte check of itself.
 *   snapshot the piece bitmap (one bit per piece, most significant bit first) and one 16-byte
 *            xxh3-128 per piece (zero for absent pieces), then an 8-byte check of both.
 *   log      32-byte records appended as pieces arrive: {type, piece, xxh3-128, check}; a SESSION
 *            record comes first, before the writer touches the data file after a snapshot.
 * The header and snapshot are only ever written whole, to a temporary file renamed over the old
 * one; records are appended in place. A record whose check fails ends the log (a torn tail). */
#ifndef DF_STORE_META_H
#define DF_STORE_META_H

#include <stddef.h>
#include <stdint.h>

#include "core/bitmap.h" /* the snapshot's bitmap is in its order, as on the wire */
#include "core/slice.h"
#include "store/store.h" /* STORE_MAX_PIECES */

#define STORE_META_MAGIC "DFMETA\0\n"
#define STORE_META_MAGIC_LEN 8
#define STORE_META_VERSION 1
#define STORE_META_FIXED 112        /* bytes before the strings */
#define STORE_META_MAX_HEADER 16384 /* header with its strings, at most */
#define STORE_META_RECORD 32
#define STORE_META_CHECK 8
#define STORE_META_SUM 16 /* xxh3-128 per piece */

#define STORE_MAX_PIECE_SIZE (1u << 30)
#define STORE_MAX_ID 64
#define STORE_MAX_URL 8192
#define STORE_MAX_ETAG 1024
#define STORE_MAX_LAST_MODIFIED 256

/* Header flags. */
#define STORE_META_LENGTH_KNOWN 1u
#define STORE_META_HAS_SHA256 2u
#define STORE_META_HAS_MD5 4u
#define STORE_META_FLAGS_ALL 7u

/* Per-piece checksum kinds (only xxh3-128 today; a sha256 kind would use 32-byte entries). */
#define STORE_META_SUM_XXH128 1u

/* The decoded header. Slices point into the parsed buffer. */
struct store_meta_hdr {
	uint32_t version;
	uint32_t hdr_len; /* bytes of the header, check included; multiple of 8 */
	uint32_t piece_size;
	uint32_t flags;     /* STORE_META_* */
	int64_t length;     /* -1 unless STORE_META_LENGTH_KNOWN */
	uint32_t npieces;   /* pieces the snapshot covers; = piece count when the length is known */
	uint32_t sum_kind;  /* STORE_META_SUM_XXH128 */
	uint64_t data_size; /* the data file's size and mtime when the snapshot was written */
	int64_t data_mtime_ns;
	uint8_t sha256[32];
	uint8_t md5[16];
	struct slice id, url, etag, last_modified;
};

enum store_meta_rec_type {
	STORE_REC_PRESENT = 1, /* piece n is present with this checksum */
	STORE_REC_DROP = 2,    /* piece n is gone (its data proved bad) */
	STORE_REC_SESSION = 3, /* a writer may change the data file from here on (piece 0, no sum) */
};

struct store_meta_rec {
	uint32_t type; /* enum store_meta_rec_type */
	uint32_t piece;
	uint8_t sum[STORE_META_SUM]; /* PRESENT: the piece's xxh3-128; otherwise zero */
};

/* Piece count of a task of `length` bytes cut in `piece_size` pieces (length >= 0). */
uint64_t store_meta_piece_count(int64_t length, uint32_t piece_size);

/* Is s a valid task id: 1..64 lower-case hex digits? */
int store_meta_id_valid(struct slice s);

/* Is s one line of printable text (no control bytes), as header strings must be? */
int store_meta_text_valid(struct slice s);

/* Parses the header at the start of buf. Returns the header length (> 0) with *h filled, DF_AGAIN
 * when buf holds less than the whole header, or DF_ERR with *why set to a static reason. */
int store_meta_parse_header(const uint8_t *buf, size_t len, struct store_meta_hdr *h, const char **why);

/* Bytes the header of h takes (from its string lengths); 0 when a string is too long. */
size_t store_meta_header_size(const struct store_meta_hdr *h);

/* Encodes h (hdr_len is computed, not read) into buf; returns the bytes written or DF_ERR when a
 * field is out of range or cap is too small. */
int store_meta_format_header(const struct store_meta_hdr *h, uint8_t *buf, size_t cap);

/* Bytes of the snapshot of n pieces: bitmap + checksums + check. */
uint64_t store_meta_snapshot_size(uint32_t n);

/* The check of a snapshot: bitmap (bitmap_bytes(n) bytes) then sums (16 n bytes). */
void store_meta_snapshot_check(const uint8_t *bitmap, const uint8_t *sums, uint32_t n, uint8_t out[STORE_META_CHECK]);

/* Validates a snapshot read back: the check matches, no bit is set past piece n-1, and every absent
 * piece's checksum is zero. DF_OK, or DF_ERR with *why. */
int store_meta_snapshot_valid(const uint8_t *bitmap, const uint8_t *sums, uint32_t n,
			      const uint8_t check[STORE_META_CHECK], const char **why);

/* Parses one log record at buf. `limit` is the number of pieces when the length is known, else
 * STORE_MAX_PIECES. Returns STORE_META_RECORD, DF_AGAIN (fewer than 32 bytes) or DF_ERR with *why
 * (a torn or foreign record: the log ends before it). */
int store_meta_parse_record(const uint8_t *buf, size_t len, uint32_t limit, struct store_meta_rec *r, const char **why);

/* Encodes r into 32 bytes. */
void store_meta_format_record(const struct store_meta_rec *r, uint8_t out[STORE_META_RECORD]);

#endif
