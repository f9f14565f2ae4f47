/* Unit tests of core/digest: known vectors for MD5, SHA-256 and xxh3-128, incremental == one-shot,
 * hex round trips and the digest spec parser. */
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

static const struct unit_test tests[] = {
	{"vectors", vectors},
	{"xxh_incremental", xxh_incremental},
	{"spec", spec},
	{"piece_algos", piece_algos},
};
UNIT_MAIN("digest", tests)
