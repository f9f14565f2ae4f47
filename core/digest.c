/* Digests: xxh3-128 for pieces, MD5 + SHA-256 (BearSSL) for whole files, and their text forms.
 * xxHash is compiled inline here (XXH_INLINE_ALL) so no other object carries a copy. */
#include "core/digest.h"

#include <stdio.h>
#include <string.h>

#include "core/df.h"
#include "core/digest_shani.h"

static void canon128(XXH128_hash_t h, uint8_t out[16])
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, h);
	memcpy(out, c.digest, 16);
}

void digest_xxh128(const void *buf, size_t len, uint8_t out[DIGEST_XXH128_LEN])
{
	canon128(XXH3_128bits(buf, len), out);
}

void digest_xxh128_init(struct digest_xxh128_ctx *c)
{
	XXH3_128bits_reset(&c->st);
}

void digest_xxh128_update(struct digest_xxh128_ctx *c, const void *buf, size_t len)
{
	XXH3_128bits_update(&c->st, buf, len);
}

void digest_xxh128_final(struct digest_xxh128_ctx *c, uint8_t out[DIGEST_XXH128_LEN])
{
	canon128(XXH3_128bits_digest(&c->st), out);
}

/* -1 until the first look at the CPU; then 1 (SHA-NI blocks) or 0 (BearSSL). Threads may race to
 * set it: they all store the same answer. */
static int sha_accel = -1;

static int sha256_accel(void)
{
	int a = __atomic_load_n(&sha_accel, __ATOMIC_RELAXED);
	if (a < 0) {
		a = digest_shani_available();
		__atomic_store_n(&sha_accel, a, __ATOMIC_RELAXED);
	}
	return a;
}

int digest_sha256_set_accel(int on)
{
	int was = sha256_accel();
	__atomic_store_n(&sha_accel, on && digest_shani_available(), __ATOMIC_RELAXED);
	return was;
}

/* BearSSL's context, advanced the way br_sha256_update does (count bytes, a partial block in buf,
 * H0..H7 in val), so br_sha256_out finishes either path's state. */
void digest_sha256_update(br_sha256_context *c, const void *data, size_t len)
{
	if (!sha256_accel()) {
		br_sha256_update(c, data, len);
		return;
	}
	const uint8_t *p = data;
	size_t used = (size_t)c->count & 63;
	c->count += len;
	if (used) {
		size_t k = DF_MIN(64 - used, len);
		memcpy(c->buf + used, p, k);
		p += k;
		len -= k;
		if (used + k < 64)
			return;
		digest_shani_blocks(c->val, c->buf, 1);
	}
	if (len >= 64) {
		digest_shani_blocks(c->val, p, len / 64);
		p += len / 64 * 64;
		len %= 64;
	}
	memcpy(c->buf, p, len);
}

void digest_file_init(struct digest_file_ctx *c)
{
	br_md5_init(&c->md5);
	br_sha256_init(&c->sha256);
}

void digest_file_update(struct digest_file_ctx *c, const void *buf, size_t len)
{
	br_md5_update(&c->md5, buf, len);
	digest_sha256_update(&c->sha256, buf, len);
}

void digest_file_final(const struct digest_file_ctx *c, uint8_t md5[DIGEST_MD5_LEN], uint8_t sha256[DIGEST_SHA256_LEN])
{
	br_md5_out(&c->md5, md5);
	br_sha256_out(&c->sha256, sha256);
}

void digest_hex(const uint8_t *bytes, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[bytes[i] >> 4];
		out[2 * i + 1] = hx[bytes[i] & 15];
	}
	out[2 * n] = 0;
}

static int nib(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int digest_unhex(const char *hex, size_t hexlen, uint8_t *bytes, size_t n)
{
	if (hexlen != 2 * n)
		return DF_ERR;
	for (size_t i = 0; i < n; i++) {
		int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return DF_ERR;
		bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	return DF_OK;
}

int digest_spec_parse(const char *s, size_t n, struct digest_spec *out)
{
	const char *colon = memchr(s, ':', n);
	const char *hex = colon ? colon + 1 : s;
	size_t hexlen = n - (size_t)(hex - s);
	memset(out, 0, sizeof *out);
	if (colon) {
		size_t al = (size_t)(colon - s);
		if (al == 6 && strncmp(s, DF_LIT("sha256")) == 0)
			out->len = DIGEST_SHA256_LEN;
		else if (al == 3 && strncmp(s, DF_LIT("md5")) == 0)
			out->len = DIGEST_MD5_LEN;
		else
			return DF_ERR;
	} else if (hexlen == 2 * DIGEST_SHA256_LEN) {
		out->len = DIGEST_SHA256_LEN;
	} else if (hexlen == 2 * DIGEST_MD5_LEN) {
		out->len = DIGEST_MD5_LEN;
	} else {
		return DF_ERR;
	}
	snprintf(out->algo, sizeof out->algo, "%s", out->len == DIGEST_SHA256_LEN ? "sha256" : "md5");
	return digest_unhex(hex, hexlen, out->bytes, out->len);
}

void digest_spec_format(const struct digest_spec *d, char *out, size_t cap)
{
	char hex[2 * DIGEST_SHA256_LEN + 1];
	digest_hex(d->bytes, d->len, hex);
	snprintf(out, cap, "%s:%s", d->algo, hex);
}

int digest_piece_parse(const char *s, size_t n, struct digest_piece_sum *out)
{
	memset(out, 0, sizeof *out);
	if (n == 7 + 2 * DIGEST_SHA256_LEN && memcmp(s, DF_LIT("sha256:")) == 0) {
		out->algo = DIGEST_PIECE_SHA256;
		return digest_unhex(s + 7, n - 7, out->bytes, DIGEST_SHA256_LEN);
	}
	out->algo = DIGEST_PIECE_XXH3;
	return digest_unhex(s, n, out->bytes, DIGEST_XXH128_LEN);
}

void digest_piece_format(const struct digest_piece_sum *sum, char *out)
{
	if (sum->algo == DIGEST_PIECE_SHA256) {
		memcpy(out, DF_LIT("sha256:"));
		digest_hex(sum->bytes, DIGEST_SHA256_LEN, out + 7);
	} else {
		digest_hex(sum->bytes, DIGEST_XXH128_LEN, out);
	}
}

int digest_piece_algo_parse(const char *name)
{
	if (strcmp(name, "xxh3") == 0)
		return DIGEST_PIECE_XXH3;
	if (strcmp(name, "sha256") == 0)
		return DIGEST_PIECE_SHA256;
	return -1;
}

const char *digest_piece_algo_name(enum digest_piece_algo a)
{
	return a == DIGEST_PIECE_SHA256 ? "sha256" : "xxh3";
}
