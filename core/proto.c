/* The swarm protocol's text lines: a pure line reader, parsers for assign/report values, and a
 * bounded writer. No allocation: parsed values are slices into the caller's buffer. */
#include "core/proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/bitmap.h"
#include "core/df.h"
#include "core/digest.h"
#include "core/taskid.h"

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static struct slice trim(const char *p, size_t n)
{
	while (n && blank(*p)) {
		p++;
		n--;
	}
	while (n && blank(p[n - 1]))
		n--;
	return (struct slice){p, n};
}

/* proto_next with the cause of a refusal in *why and where the refused line starts in *bad; *pos and
 * *line change only on DF_OK and DF_AGAIN. */
static int next_line(const char *buf, size_t len, size_t *pos, struct proto_line *line, const char **why, size_t *bad)
{
	size_t at = *pos;
	while (at < len) {
		const char *start = buf + at;
		size_t rest = len - at;
		const char *nl = memchr(start, '\n', rest);
		size_t n = nl ? (size_t)(nl - start) : rest;
		*bad = at;
		if (n > PROTO_MAX_LINE) {
			*why = "line longer than 8192 bytes";
			return DF_ERR;
		}
		if (memchr(start, 0, n)) {
			*why = "a NUL byte";
			return DF_ERR;
		}
		size_t next = at + n + (nl ? 1 : 0);
		struct slice all = trim(start, n), key, val;
		if (!all.n) {
			at = next;
			continue;
		}
		const char *colon = memchr(all.p, ':', all.n);
		if (!colon) {
			/* bare words ("wait", "done") are keys with an empty value */
			for (size_t i = 0; i < all.n; i++)
				if (blank(all.p[i])) {
					*why = "not a 'key: value' line";
					return DF_ERR;
				}
			key = all;
			val = (struct slice){all.p + all.n, 0};
		} else {
			key = trim(all.p, (size_t)(colon - all.p));
			val = trim(colon + 1, all.n - (size_t)(colon - all.p) - 1);
			if (!key.n) {
				*why = "empty key";
				return DF_ERR;
			}
		}
		line->key = key;
		line->val = val;
		*pos = next;
		return DF_OK;
	}
	*pos = at;
	return DF_AGAIN;
}

int proto_next(const char *buf, size_t len, size_t *pos, struct proto_line *line)
{
	const char *why;
	size_t bad;
	return next_line(buf, len, pos, line, &why, &bad);
}

int proto_find(const char *buf, size_t len, const char *key, struct slice *val)
{
	size_t pos = 0;
	struct proto_line l;
	while (proto_next(buf, len, &pos, &l) == DF_OK)
		if (slice_eq(l.key, key)) {
			*val = l.val;
			return DF_OK;
		}
	return DF_ERR;
}

int proto_mode(struct slice s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (!s.n)
		return DF_ERR;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '7')
			return DF_ERR;
		v = v * 8 + (unsigned)(s.p[i] - '0');
		if (v > max) /* also keeps v from overflowing */
			return DF_ERR;
	}
	*out = v;
	return DF_OK;
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
	if (neg) {
		s.p++;
		s.n--;
	}
	if (proto_u64(s, &v) != DF_OK || v > (uint64_t)INT64_MAX)
		return DF_ERR;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return DF_OK;
}

/* Splits off the next blank-separated word of *s. */
static struct slice word(struct slice *s)
{
	size_t i = 0;
	while (i < s->n && blank(s->p[i]))
		i++;
	size_t j = i;
	while (j < s->n && !blank(s->p[j]))
		j++;
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
	out->body_us = -1;
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
	if (!bitmap_tail_clear(bits, nbits))
		return DF_ERR; /* bits past the last piece */
	return DF_OK;
}

/* ---- the supernode's request bodies ---- */

/* The 1-based number of the line that starts at pos. */
static unsigned line_at(const char *buf, size_t pos)
{
	unsigned n = 1;
	for (size_t i = 0; i < pos; i++)
		n += buf[i] == '\n';
	return n;
}

/* Records a refusal of the line at `at` (its key when it parsed) and returns DF_ERR. */
static int refuse(struct proto_err *e, const char *buf, size_t at, const struct proto_line *l, const char *why)
{
	e->why = why;
	e->line = line_at(buf, at);
	e->key = l ? l->key : (struct slice){"", 0};
	return DF_ERR;
}

/* proto_next for a body parser: the reader's refusal goes into e. */
static int body_line(const char *buf, size_t len, size_t *pos, size_t *at, struct proto_line *l, struct proto_err *e)
{
	const char *why = NULL;
	size_t bad = 0;
	int rc = next_line(buf, len, pos, l, &why, &bad);
	if (rc == DF_ERR)
		return refuse(e, buf, bad, NULL, why);
	/* the line read starts after the blank lines skipped: find its start for the line number */
	*at = rc == DF_OK ? (size_t)(l->key.p - buf) : *pos;
	return rc;
}

void proto_err_format(const struct proto_err *e, const char *what, char *out, size_t cap)
{
	char key[48];
	size_t n = DF_MIN(e->key.n, sizeof key - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)e->key.p[i];
		key[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	key[n] = 0;
	const char *why = e->why ? e->why : "malformed";
	if (e->line && n)
		snprintf(out, cap, "%s: line %u: %s: %s", what, e->line, key, why);
	else if (e->line)
		snprintf(out, cap, "%s: line %u: %s", what, e->line, why);
	else
		snprintf(out, cap, "%s: %s", what, why);
}

static int has_blank_or_ctl(struct slice s)
{
	for (size_t i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] <= ' ' || s.p[i] == 0x7f)
			return 1;
	return 0;
}

static int is_hex(struct slice s)
{
	for (size_t i = 0; i < s.n; i++)
		if (!((s.p[i] >= '0' && s.p[i] <= '9') || (s.p[i] >= 'a' && s.p[i] <= 'f') ||
		      (s.p[i] >= 'A' && s.p[i] <= 'F')))
			return 0;
	return 1;
}

/* The number of sites in a via list ("SITE,SITE...", each PROTO_SITE_HEX lower-case hex digits),
 * or 0 when it is not one or names more than PROTO_VIA_MAX. */
static unsigned via_sites(struct slice v)
{
	unsigned n = 0;
	for (size_t i = 0;; i += PROTO_SITE_HEX + 1) {
		if (i + PROTO_SITE_HEX > v.n || ++n > PROTO_VIA_MAX)
			return 0;
		for (size_t k = i; k < i + PROTO_SITE_HEX; k++)
			if (!((v.p[k] >= '0' && v.p[k] <= '9') || (v.p[k] >= 'a' && v.p[k] <= 'f')))
				return 0;
		if (i + PROTO_SITE_HEX == v.n)
			return n;
		if (v.p[i + PROTO_SITE_HEX] != ',')
			return 0;
	}
}

/* One registration line into r; NULL when fine, else why not. */
static const char *register_line(const struct proto_line *l, struct proto_register *r, size_t *headers_len)
{
	struct slice v = l->val;
	uint64_t u;
	if (slice_eq(l->key, "task")) {
		if (!taskid_valid(v.p, v.n))
			return "not a task id";
		r->task = v;
	} else if (slice_eq(l->key, "url")) {
		if (!v.n || v.n >= PROTO_REG_URL_MAX)
			return "empty or longer than 4095 bytes";
		r->url = v;
	} else if (slice_eq(l->key, "digest")) {
		if (digest_spec_parse(v.p, v.n, &r->digest) != DF_OK)
			return "not a digest (sha256:HEX or md5:HEX)";
	} else if (slice_eq(l->key, "filter")) {
		if (v.n >= PROTO_REG_FILTER_MAX)
			return "longer than 511 bytes";
		r->filter = v;
	} else if (slice_eq(l->key, "addr")) {
		if (v.n >= PROTO_REG_ADDR_MAX || has_blank_or_ctl(v))
			return "not an address (blanks, or longer than 63 bytes)";
		r->addr = v;
	} else if (slice_eq(l->key, "port")) {
		if (v.n > 5 || proto_u64(v, &u) != DF_OK || u > 65535)
			return "not a port number";
		r->port = v;
	} else if (slice_eq(l->key, "host")) {
		if (v.n != PROTO_HOST_HEX || !is_hex(v))
			return "not a store id (32 hex digits)";
		r->host = v;
	} else if (slice_eq(l->key, "have")) {
		if (v.n % 2 || !is_hex(v))
			return "not a hex bitmap";
		if (r->nhave == PROTO_REG_MAX_HAVE)
			return "too many have lines (128)";
		r->have[r->nhave++] = v;
	} else if (slice_eq(l->key, "header")) {
		if (memchr(v.p, '\r', v.n))
			return "contains a CR";
		if (r->nheader == PROTO_REG_MAX_HEADERS || *headers_len + v.n + 2 >= PROTO_REG_HEADERS_MAX)
			return "too many header lines (64, 8 KiB)";
		r->header[r->nheader++] = v;
		*headers_len += v.n + 2;
	} else if (slice_eq(l->key, "replace")) {
		struct slice h = word(&v);
		r->replace_secret = word(&v);
		if (proto_i64(h, &r->replace) != DF_OK || r->replace < 0 || trim(v.p, v.n).n ||
		    r->replace_secret.n > PROTO_SECRET_HEX)
			return "not 'HANDLE SECRET'";
	} else if (slice_eq(l->key, "source")) {
		if (!slice_eq(v, "cluster"))
			return "not 'cluster'";
		r->cluster_source = 1;
	} else if (slice_eq(l->key, "order")) {
		if (slice_eq(v, "sequential"))
			r->in_order = 1;
		else if (slice_eq(v, "any"))
			r->in_order = 0;
		else
			return "not 'sequential' or 'any'";
	} else if (slice_eq(l->key, "via")) {
		unsigned n = via_sites(v);
		if (!n)
			return "not 'SITE[,SITE...]' (up to 8 sites of 16 lower-case hex digits)";
		r->via = v;
		r->nvia = n;
	}
	return NULL;
}

int proto_via_has(struct slice via, const char *site)
{
	size_t n = strlen(site);
	for (size_t i = 0; i + n <= via.n; i += PROTO_SITE_HEX + 1)
		if (memcmp(via.p + i, site, n) == 0 && (i + n == via.n || via.p[i + n] == ','))
			return 1;
	return 0;
}

int proto_parse_register(const char *buf, size_t len, struct proto_register *out, struct proto_err *err)
{
	size_t pos = 0, at = 0, headers_len = 0;
	struct proto_line l;
	int rc;
	memset(out, 0, sizeof *out);
	out->replace = -1;
	while ((rc = body_line(buf, len, &pos, &at, &l, err)) == DF_OK) {
		const char *why = register_line(&l, out, &headers_len);
		if (why)
			return refuse(err, buf, at, &l, why);
	}
	if (rc == DF_ERR)
		return DF_ERR;
	if (!out->task.n || !out->url.n) {
		*err = (struct proto_err){.why = "needs task and url"};
		return DF_ERR;
	}
	return DF_OK;
}

/* The body time an ok report may carry after its uploader (peers before it sent nothing there, and a
 * supernode before it ignores it): decimal microseconds, -1 when absent or not a number. */
static int64_t body_us(struct slice v)
{
	if (!v.n || v.n > 15)
		return -1;
	int64_t n = 0;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		n = n * 10 + (v.p[i] - '0');
	}
	return n;
}

int proto_next_work(const char *buf, size_t len, size_t *pos, struct proto_work_line *out, struct proto_err *err)
{
	size_t at;
	struct proto_line l;
	int rc;
	while ((rc = body_line(buf, len, pos, &at, &l, err)) == DF_OK) {
		memset(out, 0, sizeof *out);
		if (slice_eq(l.key, "idle")) {
			out->kind = PROTO_WORK_IDLE;
			return DF_OK;
		}
		if (slice_eq(l.key, "ok"))
			out->kind = PROTO_WORK_OK;
		else if (slice_eq(l.key, "fail"))
			out->kind = PROTO_WORK_FAIL;
		else if (slice_eq(l.key, "bad"))
			out->kind = PROTO_WORK_BAD;
		else if (slice_eq(l.key, "busy"))
			out->kind = PROTO_WORK_BUSY;
		else
			continue;
		if (proto_parse_report(l.val, &out->r) != DF_OK)
			return refuse(err, buf, at, &l, "not 'PIECE UPLOADER [WHY]'");
		if (out->kind == PROTO_WORK_OK)
			out->r.body_us = body_us(out->r.why);
		return DF_OK;
	}
	return rc;
}

int proto_next_beat(const char *buf, size_t len, size_t *pos, struct proto_beat *out, struct proto_err *err)
{
	size_t at;
	struct proto_line l;
	int rc;
	while ((rc = body_line(buf, len, pos, &at, &l, err)) == DF_OK) {
		if (!slice_eq(l.key, "task"))
			continue;
		struct slice v = l.val;
		memset(out, 0, sizeof *out);
		out->task = word(&v);
		struct slice peer = word(&v);
		out->secret = word(&v);
		if (!taskid_valid(out->task.p, out->task.n) || piece_no(peer, &out->peer) != DF_OK ||
		    out->secret.n > PROTO_SECRET_HEX || trim(v.p, v.n).n)
			return refuse(err, buf, at, &l, "not 'ID PEER SECRET'");
		return DF_OK;
	}
	return rc;
}

int proto_parse_peer_query(struct slice q, struct proto_peer_ref *out, struct proto_err *err)
{
	memset(out, 0, sizeof *out);
	out->peer = -1;
	while (q.n) {
		const char *amp = memchr(q.p, '&', q.n);
		struct slice kv = {q.p, amp ? (size_t)(amp - q.p) : q.n};
		q.p += kv.n + (amp ? 1 : 0);
		q.n -= kv.n + (amp ? 1 : 0);
		const char *eq = memchr(kv.p, '=', kv.n);
		if (!eq)
			continue;
		struct slice k = {kv.p, (size_t)(eq - kv.p)}, v = {eq + 1, kv.n - k.n - 1};
		if (slice_eq(k, "task")) {
			if (!taskid_valid(v.p, v.n)) {
				*err = (struct proto_err){.why = "task= is not a task id"};
				return DF_ERR;
			}
			out->task = v;
		} else if (slice_eq(k, "peer")) {
			if (proto_i64(v, &out->peer) != DF_OK || out->peer < 0) {
				*err = (struct proto_err){.why = "peer= is not a handle"};
				return DF_ERR;
			}
		} else if (slice_eq(k, "secret")) {
			out->secret = v;
		}
	}
	return DF_OK;
}
