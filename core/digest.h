/* Digests df uses: xxh3-128 per piece (fast, against accidents and bugs) or SHA-256 per piece (against
 * peers that forge pieces), MD5 and SHA-256 for whole files (what users and registries name).
 * Incremental contexts live inside the caller's struct. */
#ifndef DF_DIGEST_H
#define DF_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "bearssl_hash.h"
#define XXH_INLINE_ALL
#include "xxhash.h"

#define DIGEST_XXH128_LEN 16
#define DIGEST_MD5_LEN 16
#define DIGEST_SHA256_LEN 32

/* One-shot xxh3-128 of a buffer, as 16 big-endian bytes (the canonical form). */
void digest_xxh128(const void *buf, size_t len, uint8_t out[DIGEST_XXH128_LEN]);

/* Incremental xxh3-128. The state is large (~600 bytes) and aligned: embed it, do not copy it. */
struct digest_xxh128_ctx {
	XXH3_state_t st;
};
void digest_xxh128_init(struct digest_xxh128_ctx *c);
void digest_xxh128_update(struct digest_xxh128_ctx *c, const void *buf, size_t len);
void digest_xxh128_final(struct digest_xxh128_ctx *c, uint8_t out[DIGEST_XXH128_LEN]);

/* SHA-256 of bulk data: br_sha256_update's contract (init with br_sha256_init, finish with
 * br_sha256_out), on the CPU's SHA extensions when it has them (about 6x faster). */
void digest_sha256_update(br_sha256_context *c, const void *data, size_t len);
/* For tests and hashspeed: use the SHA extensions when on and present (0: BearSSL's code only).
 * Returns whether they were in use before. */
int digest_sha256_set_accel(int on);

/* Whole-file digests: MD5 and SHA-256 together, since the supernode computes both in one pass. */
struct digest_file_ctx {
	br_md5_context md5;
	br_sha256_context sha256;
};
void digest_file_init(struct digest_file_ctx *c);
void digest_file_update(struct digest_file_ctx *c, const void *buf, size_t len);
void digest_file_final(const struct digest_file_ctx *c, uint8_t md5[DIGEST_MD5_LEN], uint8_t sha256[DIGEST_SHA256_LEN]);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void digest_hex(const uint8_t *bytes, size_t n, char *out);
/* Parses exactly 2n hex digits (either case) into bytes; returns DF_OK or DF_ERR. */
int digest_unhex(const char *hex, size_t hexlen, uint8_t *bytes, size_t n);

/* A named whole-file digest as users write it: "sha256:HEX" or "md5:HEX" (a bare 32-hex string means
 * md5, a bare 64-hex string sha256). Fills algo ("md5"/"sha256") and bytes; DF_OK or DF_ERR. */
struct digest_spec {
	char algo[8];
	uint8_t bytes[DIGEST_SHA256_LEN];
	size_t len;
};
int digest_spec_parse(const char *s, size_t n, struct digest_spec *out);
/* "sha256:hex" into out (at least 72 bytes). */
void digest_spec_format(const struct digest_spec *d, char *out, size_t cap);

/* A piece's checksum as the supernode hands it out (docs/PROTOCOL.md): xxh3-128 written as bare hex
 * (32 digits), or SHA-256 written "sha256:" + 64 hex digits. The form names the algorithm, so a peer
 * knows what it was given and can refuse a weaker one than it requires. */
enum digest_piece_algo { DIGEST_PIECE_XXH3 = 0, DIGEST_PIECE_SHA256 = 1 }; /* weaker first */
#define DIGEST_PIECE_TEXT_MAX (7 + 2 * DIGEST_SHA256_LEN + 1)              /* "sha256:" + hex + NUL */
struct digest_piece_sum {
	enum digest_piece_algo algo;
	uint8_t bytes[DIGEST_SHA256_LEN]; /* the first 16 for xxh3 */
};
/* Parses the text form (exactly one of the two; hex digits of either case). Pure; DF_OK or DF_ERR. */
int digest_piece_parse(const char *s, size_t n, struct digest_piece_sum *out);
/* The text form into out (DIGEST_PIECE_TEXT_MAX bytes). */
void digest_piece_format(const struct digest_piece_sum *sum, char *out);
/* The config names "xxh3" and "sha256" -> the algorithm; -1 for anything else. */
int digest_piece_algo_parse(const char *name);
const char *digest_piece_algo_name(enum digest_piece_algo a);

#endif
