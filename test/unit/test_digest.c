/* Unit tests of core/digest: known vectors for MD5, SHA-256 and xxh3-128, incremental == one-shot,
 * hex round trips and the digest spec parser. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/df.h"
#include "core/digest.h"
#include "test/unit/unit.h"

static void vectors(void)
{
	struct digest_file_ctx c;
	uint8_t md5[16], sha[32];
	char hex[65];
	digest_file_init(&c);
	digest_file_update(&c, "abc", 3);
	digest_file_final(&c, md5, sha);
	digest_hex(md5, 16, hex);
	CHECK_STR(hex, "900150983cd24fb0d6963f7d28e17f72");
	digest_hex(sha, 32, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void xxh_incremental(void)
{
	static uint8_t buf[100000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 8));
	uint8_t a[16], b[16];
	digest_xxh128(buf, sizeof buf, a);
	struct digest_xxh128_ctx c;
	digest_xxh128_init(&c);
	for (size_t off = 0; off < sizeof buf; off += 977)
		digest_xxh128_update(&c, buf + off, DF_MIN(977, sizeof buf - off));
	digest_xxh128_final(&c, b);
	CHECK(memcmp(a, b, 16) == 0);
	buf[5] ^= 1;
	digest_xxh128(buf, sizeof buf, b);
	CHECK(memcmp(a, b, 16) != 0);
}

static void spec(void)
{
	struct digest_spec d;
	char out[80];
	const char *s = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	CHECK_EQ(digest_spec_parse(s, strlen(s), &d), DF_OK);
	CHECK_STR(d.algo, "sha256");
	digest_spec_format(&d, out, sizeof out);
	CHECK_STR(out, s);
	s = "900150983CD24FB0D6963F7D28E17F72";
	CHECK_EQ(digest_spec_parse(s, strlen(s), &d), DF_OK);
	CHECK_STR(d.algo, "md5");
	CHECK_EQ(d.len, 16);
	CHECK_EQ(digest_spec_parse("md5:abc", 7, &d), DF_ERR);
	CHECK_EQ(digest_spec_parse("sha1:00", 7, &d), DF_ERR);
	CHECK_EQ(digest_spec_parse("sha256:zz", 9, &d), DF_ERR);
	CHECK_EQ(digest_spec_parse("", 0, &d), DF_ERR);
}

static void piece_algos(void)
{
	CHECK_EQ(digest_piece_algo_parse("xxh3"), DIGEST_PIECE_XXH3);
	CHECK_EQ(digest_piece_algo_parse("sha256"), DIGEST_PIECE_SHA256);
	CHECK_EQ(digest_piece_algo_parse("SHA256"), -1);
	CHECK_EQ(digest_piece_algo_parse("md5"), -1);
	CHECK_EQ(digest_piece_algo_parse(""), -1);
	CHECK_STR(digest_piece_algo_name(DIGEST_PIECE_SHA256), "sha256");
	CHECK_STR(digest_piece_algo_name(DIGEST_PIECE_XXH3), "xxh3");
	CHECK(DIGEST_PIECE_XXH3 < DIGEST_PIECE_SHA256); /* peers compare them: weaker is smaller */
	/* round trips of both forms */
	struct digest_piece_sum s, back;
	char text[DIGEST_PIECE_TEXT_MAX];
	for (int algo = 0; algo < 2; algo++) {
		memset(&s, 0, sizeof s);
		s.algo = (enum digest_piece_algo)algo;
		for (int i = 0; i < (algo ? 32 : 16); i++)
			s.bytes[i] = (uint8_t)(i * 37 + 1);
		digest_piece_format(&s, text);
		CHECK_EQ(strlen(text), algo ? 71u : 32u);
		CHECK_EQ(digest_piece_parse(text, strlen(text), &back), DF_OK);
		CHECK_EQ(back.algo, s.algo);
		CHECK(memcmp(back.bytes, s.bytes, 32) == 0);
		/* every shorter prefix is refused */
		for (size_t cut = 0; cut < strlen(text); cut++)
			CHECK_EQ(digest_piece_parse(text, cut, &back), DF_ERR);
	}
}

/* SHA-256 of buf fed in pieces of the sizes cut gives (cycled), on the path digest_sha256_set_accel chose */
static void sha_split(const uint8_t *buf, size_t len, const size_t *cut, size_t ncut, uint8_t out[32])
{
	br_sha256_context c;
	br_sha256_init(&c);
	for (size_t off = 0, i = 0; off < len; i++) {
		size_t k = DF_MIN(cut[i % ncut], len - off);
		digest_sha256_update(&c, buf + off, k);
		off += k;
	}
	br_sha256_out(&c, out);
}

/* The SHA extensions path (when this CPU has it) against BearSSL's: known vectors, then every length
 * up to 300 and random splits of 1 MB, so a partial block carried between calls is exercised */
static void sha256_paths(void)
{
	static uint8_t buf[1 << 20];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	static const size_t whole[] = {SIZE_MAX}, odd[] = {1, 63, 64, 65, 127, 3, 4096, 100003}, small[] = {7};
	const size_t *cuts[] = {whole, odd, small};
	const size_t ncuts[] = {1, 8, 1};
	uint8_t a[32], b[32], br[32];
	char hex[65];
	int was = digest_sha256_set_accel(1);
	/* "abc" and the two-block vector of FIPS 180-2, on whichever path this CPU takes */
	sha_split((const uint8_t *)"abc", 3, whole, 1, a);
	digest_hex(a, 32, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha_split((const uint8_t *)two, strlen(two), odd, 8, a);
	digest_hex(a, 32, hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	for (size_t len = 0; len <= 300; len++) {
		br_sha256_context c;
		br_sha256_init(&c);
		br_sha256_update(&c, buf, len);
		br_sha256_out(&c, br);
		sha_split(buf, len, odd, 8, a);
		CHECK(memcmp(a, br, 32) == 0);
	}
	for (size_t k = 0; k < 3; k++) {
		digest_sha256_set_accel(1);
		sha_split(buf, sizeof buf - k, cuts[k], ncuts[k], a);
		digest_sha256_set_accel(0);
		sha_split(buf, sizeof buf - k, cuts[k], ncuts[k], b);
		CHECK(memcmp(a, b, 32) == 0);
	}
	digest_sha256_set_accel(was);
	if (!was)
		printf("  (no SHA extensions on this CPU: both runs took BearSSL's path)\n");
}

static const struct unit_test tests[] = {
	{"sha256_paths", sha256_paths},
	{"vectors", vectors},
	{"xxh_incremental", xxh_incremental},
	{"spec", spec},
	{"piece_algos", piece_algos},
};
UNIT_MAIN("digest", tests)
