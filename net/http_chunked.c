/* The chunked transfer coding: a byte-at-a-time state machine for the framing and whole runs for the
 * data, so a body is decoded in place, in any split, without copying. Also the encoder's size line. */
#include "net/http_parse.h"

enum {
	CH_SIZE,    /* hex digits of the chunk size */
	CH_SIZE_WS, /* blanks after the digits */
	CH_EXT,     /* ";name=value" extensions, skipped to the line end */
	CH_SIZE_LF, /* the LF after a CR */
	CH_DATA,
	CH_DATA_CR, /* the CRLF after the data */
	CH_DATA_LF,
	CH_TRAILER, /* start of a trailer line, or the final empty line */
	CH_TRAILER_LINE,
	CH_TRAILER_LF, /* LF after CR on a trailer line (last 0: the final empty line) */
	CH_DONE,
};

#define CH_MAX_EXT 4096
#define CH_MAX_TRAILERS 16384

void http_chunked_init(struct http_chunked *c)
{
	*c = (struct http_chunked){.state = CH_SIZE};
}

static ssize_t bad(struct http_chunked *c, const char *why)
{
	c->err = why;
	return DF_ERR;
}

static int hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* The size line ended: data follows, or the trailers when the size was 0. */
static void size_line_done(struct http_chunked *c)
{
	c->state = c->left ? CH_DATA : CH_TRAILER;
	c->line = 0;
}

ssize_t http_chunked_decode(struct http_chunked *c, const char *buf, size_t len, struct slice *data)
{
	size_t i = 0;
	*data = (struct slice){buf, 0};
	while (i < len && c->state != CH_DONE) {
		unsigned char ch = (unsigned char)buf[i];
		switch (c->state) {
		case CH_SIZE: {
			int v = hexval(ch);
			if (v >= 0) {
				if (c->digits == 15)
					return bad(c, "chunk size too large");
				c->left = c->left * 16 + (uint64_t)v;
				c->digits++;
				break;
			}
			if (!c->digits)
				return bad(c, "malformed chunk size");
			if (ch == ' ' || ch == '\t')
				c->state = CH_SIZE_WS;
			else if (ch == ';')
				c->state = CH_EXT;
			else if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == '\n')
				size_line_done(c);
			else
				return bad(c, "malformed chunk size");
			break;
		}
		case CH_SIZE_WS:
			if (ch == ';')
				c->state = CH_EXT;
			else if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == '\n')
				size_line_done(c);
			else if (ch != ' ' && ch != '\t')
				return bad(c, "malformed chunk size");
			break;
		case CH_EXT:
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == '\n')
				size_line_done(c);
			else if ((ch < ' ' && ch != '\t') || ch == 0x7f)
				return bad(c, "control character in chunk extension");
			else if (++c->line > CH_MAX_EXT)
				return bad(c, "chunk extension too long");
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return bad(c, "malformed chunk size line");
			size_line_done(c);
			break;
		case CH_DATA: {
			size_t run = len - i;
			if (run > c->left)
				run = (size_t)c->left;
			c->left -= run;
			if (!c->left)
				c->state = CH_DATA_CR;
			*data = (struct slice){buf + i, run};
			return (ssize_t)(i + run);
		}
		case CH_DATA_CR:
			if (ch == '\r')
				c->state = CH_DATA_LF;
			else if (ch == '\n')
				c->state = CH_SIZE, c->digits = 0;
			else
				return bad(c, "missing CRLF after chunk data");
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return bad(c, "missing CRLF after chunk data");
			c->state = CH_SIZE;
			c->digits = 0;
			break;
		case CH_TRAILER:
			if (ch == '\r') {
				c->state = CH_TRAILER_LF;
				c->line = 0;
			} else if (ch == '\n') {
				c->state = CH_DONE;
			} else {
				c->state = CH_TRAILER_LINE;
				c->line = 1;
			}
			if (++c->trailers > CH_MAX_TRAILERS)
				return bad(c, "chunked trailers too long");
			break;
		case CH_TRAILER_LINE:
			if (++c->trailers > CH_MAX_TRAILERS)
				return bad(c, "chunked trailers too long");
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if (ch == '\n')
				c->state = CH_TRAILER;
			else if (ch < ' ' && ch != '\t')
				return bad(c, "control character in trailer");
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return bad(c, "malformed trailer line");
			/* line 0: the CR began the empty line that ends the body */
			c->state = c->line ? CH_TRAILER : CH_DONE;
			break;
		}
		i++;
	}
	if (c->state == CH_DONE)
		c->done = 1;
	return (ssize_t)i;
}

size_t http_chunk_line(char out[HTTP_CHUNK_LINE_MAX], uint64_t n)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[16];
	size_t k = 0;
	do {
		tmp[k++] = hex[n & 15];
		n >>= 4;
	} while (n);
	size_t len = 0;
	while (k)
		out[len++] = tmp[--k];
	out[len++] = '\r';
	out[len++] = '\n';
	return len;
}
