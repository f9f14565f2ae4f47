/* SHA-256 compression on the x86 SHA extensions: four rounds per sha256rnds2 pair, the message
 * schedule by sha256msg1/msg2. The layout of the state registers (ABEF, CDGH) is the one Intel's
 * SHA extensions paper describes; the unit test compares it with BearSSL on random splits. */
#include "core/digest_shani.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

int digest_shani_available(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid_count(7, 0, a, b, c, d);
	return (b >> 29) & 1; /* CPUID.(EAX=7,ECX=0):EBX.SHA[bit 29] */
}

static const uint32_t K[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

__attribute__((target("sha,ssse3,sse4.1"))) void digest_shani_blocks(uint32_t state[8], const uint8_t *p, size_t n)
{
	/* big-endian words: byte-swap each 32-bit lane */
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i t = _mm_loadu_si128((const __m128i *)&state[0]);  /* D C B A (lane 3..0) */
	__m128i s1 = _mm_loadu_si128((const __m128i *)&state[4]); /* H G F E */
	t = _mm_shuffle_epi32(t, 0xB1);                           /* C D A B */
	s1 = _mm_shuffle_epi32(s1, 0x1B);                         /* E F G H */
	__m128i s0 = _mm_alignr_epi8(t, s1, 8);                   /* A B E F */
	s1 = _mm_blend_epi16(s1, t, 0xF0);                        /* C D G H */
	for (; n; n--, p += 64) {
		__m128i abef = s0, cdgh = s1, m[4];
#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			if (g < 4)
				m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), swap);
			__m128i k = _mm_add_epi32(m[g & 3], _mm_load_si128((const __m128i *)&K[4 * g]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, k);
			if (g >= 3 && g < 15) {
				/* W of group g + 1: m[(g+1)%4] holds msg1(W[g-3], W[g-2]); W[g-1] must still be
				 * unmodified here, so this comes before the msg1 below */
				__m128i x = _mm_alignr_epi8(m[g & 3], m[(g - 1) & 3], 4);
				m[(g + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(m[(g + 1) & 3], x), m[g & 3]);
			}
			s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(k, 0x0E));
			if (g >= 1 && g <= 12) /* the first half of the schedule of group g + 3 */
				m[(g - 1) & 3] = _mm_sha256msg1_epu32(m[(g - 1) & 3], m[g & 3]);
		}
		s0 = _mm_add_epi32(s0, abef);
		s1 = _mm_add_epi32(s1, cdgh);
	}
	t = _mm_shuffle_epi32(s0, 0x1B);   /* F E B A */
	s1 = _mm_shuffle_epi32(s1, 0xB1);  /* D C H G */
	s0 = _mm_blend_epi16(t, s1, 0xF0); /* D C B A */
	s1 = _mm_alignr_epi8(s1, t, 8);    /* H G F E */
	_mm_storeu_si128((__m128i *)&state[0], s0);
	_mm_storeu_si128((__m128i *)&state[4], s1);
}
#else
int digest_shani_available(void)
{
	return 0;
}
void digest_shani_blocks(uint32_t state[8], const uint8_t *p, size_t n)
{
	(void)state;
	(void)p;
	(void)n;
}
#endif
