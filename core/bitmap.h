/* Piece bitmaps in the one bit order df uses everywhere (wire, store, scheduler): piece n is the
 * bit 0x80 >> n%8 of byte n/8, most significant bit first, as docs/PROTOCOL.md states. */
#ifndef DF_CORE_BITMAP_H
#define DF_CORE_BITMAP_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of a bitmap of n bits. */
static inline size_t bitmap_bytes(uint32_t n)
{
	return ((size_t)n + 7) / 8;
}
static inline int bitmap_get(const uint8_t *b, uint32_t n)
{
	return (b[n >> 3] >> (7 - (n & 7))) & 1;
}
static inline void bitmap_set(uint8_t *b, uint32_t n)
{
	b[n >> 3] |= (uint8_t)(0x80u >> (n & 7));
}
static inline void bitmap_clear(uint8_t *b, uint32_t n)
{
	b[n >> 3] &= (uint8_t) ~(0x80u >> (n & 7));
}

/* Whether the bits past the n-th of b (bitmap_bytes(n) bytes) are all 0, as a well-formed bitmap's
 * are. Pure. */
int bitmap_tail_clear(const uint8_t *b, uint32_t n);

/* How many of the n bits are set. Pure. */
uint32_t bitmap_count(const uint8_t *b, uint32_t n);

#endif
