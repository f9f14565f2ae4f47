/* SHA-256 blocks on the x86 SHA extensions (SHA-NI), for core/digest.c's dispatch: about 6x
 * BearSSL's portable code on CPUs that have them. Nothing else calls these. */
#ifndef DF_DIGEST_SHANI_H
#define DF_DIGEST_SHANI_H

#include <stddef.h>
#include <stdint.h>

/* 1 when this CPU has SHA-NI (and SSSE3, SSE4.1 with it), else 0; any architecture. */
int digest_shani_available(void);
/* Runs n 64-byte blocks of p through the SHA-256 compression of state (H0..H7 as native words).
 * Only when digest_shani_available(). */
void digest_shani_blocks(uint32_t state[8], const uint8_t *p, size_t n);

#endif
