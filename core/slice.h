/* A borrowed {pointer, length} view of bytes that may not be NUL-terminated (wire data).
 * Parsers hand these out as windows into the caller's buffer; they own nothing. */
#ifndef DF_SLICE_H
#define DF_SLICE_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

struct slice {
	const char *p;
	size_t n;
};

#define SLICE_LIT(s) ((struct slice){(s), sizeof(s) - 1})

static inline struct slice slice_of(const char *s)
{
	return (struct slice){s, s ? strlen(s) : 0};
}

static inline int slice_eq(struct slice a, const char *b)
{
	size_t n = strlen(b);
	return a.n == n && memcmp(a.p, b, n) == 0;
}

static inline int slice_caseeq(struct slice a, const char *b)
{
	size_t n = strlen(b);
	return a.n == n && strncasecmp(a.p, b, n) == 0;
}

/* Copies into dst (size cap, NUL-terminated); returns 0, or -1 when it does not fit. */
static inline int slice_copy(struct slice s, char *dst, size_t cap)
{
	if (s.n >= cap)
		return -1;
	if (s.n) /* an absent header is {NULL, 0}: memcpy from NULL is undefined even for 0 bytes */
		memcpy(dst, s.p, s.n);
	dst[s.n] = 0;
	return 0;
}

#endif
