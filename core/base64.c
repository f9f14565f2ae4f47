/* Base64 encode and decode (core/base64.h): one table each way, no allocation. The decoder is
 * strict (canonical encodings only), since what it reads comes from files other tools wrote. */
#include "core/base64.h"

#include "core/df.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const void *in_, size_t n, char *out, size_t cap)
{
	const unsigned char *in = in_;
	if (cap == 0 || (n + 2) / 3 > (cap - 1) / 4) {
		if (cap)
			out[0] = 0;
		return DF_ERR;
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
	}
	out[o] = 0;
	return (int)o;
}

static int value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	/* padding: at most two '=' at the end, and only up to a whole group of four */
	size_t pad = 0;
	while (pad < n && pad < 2 && in[n - 1 - pad] == '=')
		pad++;
	if (pad && n % 4 != 0)
		return DF_ERR;
	size_t m = n - pad; /* significant characters */
	if (m % 4 == 1)
		return DF_ERR; /* one character carries 6 bits: no whole byte */
	size_t len = m / 4 * 3 + (m % 4 ? m % 4 - 1 : 0);
	if (len > cap || len > (size_t)INT32_MAX)
		return DF_ERR;
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < m; i++) {
		int v = value(in[i]);
		if (v < 0)
			return DF_ERR;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits && (acc & ((1u << bits) - 1)))
		return DF_ERR; /* left-over bits must be zero: one encoding per byte string */
	return (int)o;
}
