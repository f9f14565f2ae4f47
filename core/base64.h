/* Base64 (RFC 4648, the standard alphabet with padding): what HTTP Basic credentials and the auth
 * files of container tools (docker config.json, containers auth.json) carry. Pure functions. */
#ifndef DF_BASE64_H
#define DF_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes base64_encode writes for n input bytes, with the NUL. */
#define BASE64_ENCODED_SIZE(n) (((n) + 2) / 3 * 4 + 1)

/* Encodes n bytes of in into out (NUL-terminated). Returns the length, or DF_ERR when cap is below
 * BASE64_ENCODED_SIZE(n) (out then holds ""). */
int base64_encode(const void *in, size_t n, char *out, size_t cap);

/* Decodes n characters of in into out. Padding may be left out; whitespace, other alphabets and
 * bits left over in a last character are refused. Returns the decoded length, or DF_ERR when the
 * input is malformed or does not fit in cap bytes. */
int base64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif
