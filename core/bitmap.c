/* Piece bitmaps (core/bitmap.h): the checks that are more than one shift, kept next to the order
 * they assume so no caller converts or re-derives it. */
#include "core/bitmap.h"

int bitmap_tail_clear(const uint8_t *b, uint32_t n)
{
	return n % 8 == 0 || (b[n / 8] & (0xffu >> (n % 8))) == 0;
}

uint32_t bitmap_count(const uint8_t *b, uint32_t n)
{
	uint32_t c = 0;
	for (uint32_t i = 0; i < n / 8; i++)
		c += (uint32_t)__builtin_popcount(b[i]);
	for (uint32_t i = n / 8 * 8; i < n; i++)
		c += (uint32_t)bitmap_get(b, i);
	return c;
}
