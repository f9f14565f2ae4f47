/* Unit tests of core/bitmap: the one bit order (most significant bit first), the tail check, the
 * count, and that the wire's hex (core/proto) reads back in that order. */
#include <string.h>

#include "core/bitmap.h"
#include "core/df.h"
#include "core/proto.h"
#include "test/unit/unit.h"

static void order(void)
{
	uint8_t b[2] = {0};
	bitmap_set(b, 0);
	bitmap_set(b, 2);
	bitmap_set(b, 11);
	CHECK_EQ(b[0], 0xa0);
	CHECK_EQ(b[1], 0x10);
	CHECK(bitmap_get(b, 0) && !bitmap_get(b, 1) && bitmap_get(b, 2) && bitmap_get(b, 11));
	bitmap_clear(b, 2);
	CHECK_EQ(b[0], 0x80);
	CHECK(!bitmap_get(b, 2));
	CHECK_EQ(bitmap_bytes(0), 0);
	CHECK_EQ(bitmap_bytes(1), 1);
	CHECK_EQ(bitmap_bytes(8), 1);
	CHECK_EQ(bitmap_bytes(9), 2);
}

static void tail_and_count(void)
{
	uint8_t b[2] = {0xff, 0xe0}; /* 11 pieces, all present */
	CHECK(bitmap_tail_clear(b, 11));
	CHECK_EQ(bitmap_count(b, 11), 11);
	b[1] = 0xf0; /* piece 11 of an 11-piece task */
	CHECK(!bitmap_tail_clear(b, 11));
	CHECK(bitmap_tail_clear(b, 12));
	CHECK(bitmap_tail_clear(b, 16));
	CHECK_EQ(bitmap_count(b, 16), 12);
	CHECK_EQ(bitmap_count(b, 3), 3);
}

/* The wire's "have" is the hex of the same bytes: piece 0 is the first hex digit's high bit. */
static void wire(void)
{
	uint8_t b[2];
	char hex[5];
	CHECK_EQ(proto_parse_bitmap((struct slice){"a010", 4}, b, 12), DF_OK);
	CHECK(bitmap_get(b, 0) && bitmap_get(b, 2) && bitmap_get(b, 11) && bitmap_count(b, 12) == 3);
	CHECK_EQ(proto_parse_bitmap((struct slice){"a018", 4}, b, 12), DF_ERR); /* piece 12 of 12 */
	proto_hex_bitmap(b, 12, hex);
	CHECK_STR(hex, "a018");
}

static const struct unit_test tests[] = {
        {"order", order},
        {"tail_and_count", tail_and_count},
        {"wire", wire},
};
UNIT_MAIN("bitmap", tests)
