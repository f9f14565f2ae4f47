/* The swarm protocol's text lines: a pure line reader, parsers for assign/report values, and a
 * bounded writer. No allocation: parsed values are slices into the caller's buffer. */
#include "core/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/df.h"
#include "core/digest.h"

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static struct slice trim(const char *p, size_t n)
{
	while (n && blank(*p)) { p++; n--; }
	while (n && blank(p[n - 1])) n--;
	return (struct slice){p, n};
}

int proto_next(const char *buf, size_t len, size_t *pos, struct proto_line *line)
{
	while (*pos < len) {
		const char *start = buf + *pos;
		size_t rest = len - *pos;
		const char *nl = memchr(start, '\n', rest);
		size_t n = nl ? (size_t)(nl - start) : rest;
		if (n > PROTO_MAX_LINE || memchr(start, 0, n))
			return DF_ERR;
		*pos += n + (nl ? 1 : 0);
		struct slice all = trim(start, n);
		if (!all.n)
			continue;
		const char *colon = memchr(all.p, ':', all.n);
		if (!colon) {
			/* bare words ("wait", "done") are keys with an empty value */
			for (size_t i = 0; i < all.n; i++)
				if (blank(all.p[i]))
					return DF_ERR;
			line->key = all;
			line->val = (struct slice){all.p + all.n, 0};
			return DF_OK;
		}
		line->key = trim(all.p, (size_t)(colon - all.p));
		line->val = trim(colon + 1, all.n - (size_t)(colon - all.p) - 1);
		if (!line->key.n)
			return DF_ERR;
		return DF_OK;
	}
	return DF_AGAIN;
}

int proto_u64(struct slice s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s.n || s.n > 20)
		return DF_ERR;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return DF_ERR;
		uint64_t d = (uint64_t)(s.p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return DF_ERR;
		v = v * 10 + d;
	}
	*out = v;
	return DF_OK;
}

int proto_i64(struct slice s, int64_t *out)
{
	uint64_t v;
	int neg = s.n && s.p[0] == '-';
	if (neg) { s.p++; s.n--; }
	if (proto_u64(s, &v) != DF_OK || v > (uint64_t)INT64_MAX)
		return DF_ERR;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return DF_OK;
}

/* Splits off the next blank-separated word of *s. */
static struct slice word(struct slice *s)
{
	size_t i = 0;
	while (i < s->n && blank(s->p[i])) i++;
	size_t j = i;
	while (j < s->n && !blank(s->p[j])) j++;
	struct slice w = {s->p + i, j - i};
	s->p += j;
	s->n -= j;
	return w;
}

static int piece_no(struct slice w, uint32_t *out)
{
	uint64_t v;
	if (proto_u64(w, &v) != DF_OK || v > UINT32_MAX)
		return DF_ERR;
	*out = (uint32_t)v;
	return DF_OK;
}

int proto_parse_assign(struct slice val, struct proto_assign *out)
{
	struct slice w = word(&val);
	if (piece_no(w, &out->piece) != DF_OK)
		return DF_ERR;
	if (proto_u64(word(&val), &out->size) != DF_OK)
		return DF_ERR;
	w = word(&val);
	if (digest_piece_parse(w.p, w.n, &out->sum) != DF_OK)
		return DF_ERR;
	if (piece_no(word(&val), &out->uploader) != DF_OK)
		return DF_ERR;
	out->addr = word(&val);
	if (!out->addr.n || trim(val.p, val.n).n)
		return DF_ERR;
	return DF_OK;
}

int proto_parse_report(struct slice val, struct proto_report *out)
{
	if (piece_no(word(&val), &out->piece) != DF_OK)
		return DF_ERR;
	if (piece_no(word(&val), &out->uploader) != DF_OK)
		return DF_ERR;
	out->why = trim(val.p, val.n);
	return DF_OK;
}

void proto_buf_init(struct proto_buf *b, char *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = cap;
	b->overflow = 0;
	if (cap)
		mem[0] = 0;
}

void proto_put(struct proto_buf *b, const char *key, const char *fmt, ...)
{
	if (b->overflow)
		return;
	size_t room = b->cap - b->len;
	int k = snprintf(b->p + b->len, room, fmt && *fmt ? "%s: " : "%s", key);
	if (k < 0 || (size_t)k >= room)
		goto over;
	size_t n = (size_t)k;
	if (fmt && *fmt) {
		va_list ap;
		va_start(ap, fmt);
		k = vsnprintf(b->p + b->len + n, room - n, fmt, ap);
		va_end(ap);
		if (k < 0 || (size_t)k >= room - n)
			goto over;
		n += (size_t)k;
	}
	if (n + 1 >= room)
		goto over;
	b->p[b->len + n] = '\n';
	b->len += n + 1;
	b->p[b->len] = 0;
	return;
over:
	b->overflow = 1;
	b->p[b->len] = 0;
}

void proto_hex_bitmap(const uint8_t *bits, uint32_t nbits, char *out)
{
	digest_hex(bits, (nbits + 7) / 8, out);
}

int proto_parse_bitmap(struct slice hex, uint8_t *bits, uint32_t nbits)
{
	size_t nbytes = (nbits + 7) / 8;
	if (digest_unhex(hex.p, hex.n, bits, nbytes) != DF_OK)
		return DF_ERR;
	if (nbits % 8 && (uint8_t)(bits[nbytes - 1] << (nbits % 8)))
		return DF_ERR; /* bits past the last piece */
	return DF_OK;
}
