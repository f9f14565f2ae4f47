/* The swarm protocol's text bodies (docs/PROTOCOL.md): "key: value" lines, parsed as pure functions
 * over the caller's buffer (values are slices into it) and written into a bounded buffer. */
#ifndef DF_PROTO_H
#define DF_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/digest.h"
#include "core/slice.h"

#define PROTO_MAX_LINE 8192

struct proto_line {
	struct slice key; /* lower-case by convention; compared exactly */
	struct slice val; /* leading/trailing blanks trimmed; may be empty */
};

/* Reads the line at *pos. Returns DF_OK with *line filled and *pos advanced, DF_AGAIN at the end of
 * the buffer (a last line without '\n' is still returned first), DF_ERR for a line with no ':' or
 * one longer than PROTO_MAX_LINE, or a NUL byte. Blank lines are skipped. */
int proto_next(const char *buf, size_t len, size_t *pos, struct proto_line *line);

/* "assign: PIECE SIZE SUM UPLOADER ADDR"; SUM is xxh3-128 hex or "sha256:HEX" (digest_piece_parse) */
struct proto_assign {
	uint32_t piece;
	uint64_t size;
	struct digest_piece_sum sum;
	uint32_t uploader; /* the uploader's handle, echoed in the report */
	struct slice addr; /* "super" or "ADDR:PORT" of its piece server */
};
int proto_parse_assign(struct slice val, struct proto_assign *out);

/* "ok: PIECE UPLOADER", "bad: PIECE UPLOADER", "fail: PIECE UPLOADER WHY..." */
struct proto_report {
	uint32_t piece;
	uint32_t uploader;
	struct slice why; /* fail only */
};
int proto_parse_report(struct slice val, struct proto_report *out);

/* Decimal numbers: u64 without sign, i64 allowing "-1". DF_OK or DF_ERR (empty, junk, overflow). */
int proto_u64(struct slice s, uint64_t *out);
int proto_i64(struct slice s, int64_t *out);

/* A bounded output buffer: appends that do not fit set overflow and write nothing more. */
struct proto_buf {
	char *p;
	size_t len, cap;
	int overflow;
};
void proto_buf_init(struct proto_buf *b, char *mem, size_t cap);
void proto_put(struct proto_buf *b, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Bitmaps as lower-case hex, bit i = piece i, most significant bit first within a byte (as the store keeps them). */
void proto_hex_bitmap(const uint8_t *bits, uint32_t nbits, char *out /* (nbits+7)/8*2+1 */);
int proto_parse_bitmap(struct slice hex, uint8_t *bits, uint32_t nbits);

#endif
