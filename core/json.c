/* The JSON reader (core/json.h): a recursive-descent check of the grammar, bounded in depth, that
 * records each value as a token; and the small accessors the callers need. */
#include "core/json.h"

#include <string.h>

#include "core/df.h"

struct jp {
	const char *s;
	uint32_t n, i;
	struct json_tok *t;
	int cap, cnt;
	const char *why;
};

static int fail(struct jp *p, const char *why)
{
	if (!p->why)
		p->why = why;
	return DF_ERR;
}

static void ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int newtok(struct jp *p, enum json_type type, uint32_t start)
{
	if (p->cnt >= p->cap)
		return fail(p, "too many values");
	struct json_tok *t = &p->t[p->cnt];
	t->type = type;
	t->start = start;
	t->end = start;
	t->size = 0;
	t->next = (uint32_t)p->cnt + 1;
	return p->cnt++;
}

static int hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		char c = s[k];
		unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
			     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						    : 16u;
		if (d > 15)
			return DF_ERR;
		*v = *v << 4 | d;
	}
	return DF_OK;
}

static int string(struct jp *p)
{
	p->i++; /* the opening quote */
	int k = newtok(p, JSON_STRING, p->i);
	if (k < 0)
		return DF_ERR;
	while (p->i < p->n) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == '"') {
			p->t[k].end = p->i++;
			return k;
		}
		if (c < 0x20)
			return fail(p, "a control character inside a string");
		if (c == '\\') {
			if (p->i + 1 >= p->n)
				break;
			char e = p->s[p->i + 1];
			if (e == 'u') {
				unsigned v;
				if (p->i + 6 > p->n || hex4(p->s + p->i + 2, &v) != DF_OK)
					return fail(p, "a bad \\u escape");
				p->i += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e) || !e)
				return fail(p, "a bad escape");
			p->i += 2;
			continue;
		}
		p->i++;
	}
	return fail(p, "an unterminated string");
}

static int number(struct jp *p)
{
	uint32_t st = p->i;
	int k = newtok(p, JSON_NUMBER, st);
	if (k < 0)
		return DF_ERR;
#define DIGIT(j) ((j) < p->n && p->s[j] >= '0' && p->s[j] <= '9')
	if (p->i < p->n && p->s[p->i] == '-')
		p->i++;
	if (!DIGIT(p->i))
		return fail(p, "a malformed number");
	if (p->s[p->i] == '0')
		p->i++;
	else
		while (DIGIT(p->i))
			p->i++;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (!DIGIT(p->i))
			return fail(p, "a malformed number");
		while (DIGIT(p->i))
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!DIGIT(p->i))
			return fail(p, "a malformed number");
		while (DIGIT(p->i))
			p->i++;
	}
#undef DIGIT
	p->t[k].end = p->i;
	return k;
}

static int literal(struct jp *p, const char *word, enum json_type type)
{
	size_t wl = strlen(word);
	if (p->n - p->i < wl || memcmp(p->s + p->i, word, wl) != 0)
		return fail(p, "an unexpected character");
	int k = newtok(p, type, p->i);
	if (k < 0)
		return DF_ERR;
	p->i += (uint32_t)wl;
	p->t[k].end = p->i;
	return k;
}

static int value(struct jp *p, int depth);

/* An object or an array: members "key": value or elements, separated by commas. */
static int container(struct jp *p, int depth, int object)
{
	if (depth >= JSON_MAX_DEPTH)
		return fail(p, "nested too deep");
	int k = newtok(p, object ? JSON_OBJECT : JSON_ARRAY, p->i);
	if (k < 0)
		return DF_ERR;
	char close = object ? '}' : ']';
	p->i++;
	ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
	} else {
		for (;;) {
			ws(p);
			if (object) {
				if (p->i >= p->n || p->s[p->i] != '"')
					return fail(p, "an object member without a string name");
				if (string(p) < 0)
					return DF_ERR;
				ws(p);
				if (p->i >= p->n || p->s[p->i] != ':')
					return fail(p, "a member name without ':'");
				p->i++;
			}
			if (value(p, depth + 1) < 0)
				return DF_ERR;
			p->t[k].size++;
			ws(p);
			if (p->i < p->n && p->s[p->i] == ',') {
				p->i++;
				continue;
			}
			if (p->i < p->n && p->s[p->i] == close) {
				p->i++;
				break;
			}
			return fail(p, object ? "an object not closed by '}'" : "an array not closed by ']'");
		}
	}
	p->t[k].end = p->i;
	p->t[k].next = (uint32_t)p->cnt;
	return k;
}

static int value(struct jp *p, int depth)
{
	ws(p);
	if (p->i >= p->n)
		return fail(p, "a value is missing");
	switch (p->s[p->i]) {
	case '{': return container(p, depth, 1);
	case '[': return container(p, depth, 0);
	case '"': return string(p);
	case 't': return literal(p, "true", JSON_TRUE);
	case 'f': return literal(p, "false", JSON_FALSE);
	case 'n': return literal(p, "null", JSON_NULL);
	default: return number(p);
	}
}

int json_parse(const char *buf, size_t len, struct json_tok *toks, int cap, const char **why)
{
	struct jp p = {.s = buf, .n = (uint32_t)len, .t = toks, .cap = cap};
	if (len > UINT32_MAX - 1) {
		*why = "over 4 GiB";
		return DF_ERR;
	}
	if (value(&p, 0) < 0) {
		*why = p.why ? p.why : "malformed";
		return DF_ERR;
	}
	ws(&p);
	if (p.i != p.n) {
		*why = "bytes after the value";
		return DF_ERR;
	}
	return p.cnt;
}

/* Whether the string token t names key (decoded, so "\u0061" names "a"). */
static int name_is(const char *buf, const struct json_tok *toks, int i, const char *key)
{
	struct slice raw = json_raw(buf, &toks[i]);
	size_t kl = strlen(key);
	if (!memchr(raw.p, '\\', raw.n))
		return raw.n == kl && memcmp(raw.p, key, kl) == 0;
	char tmp[256];
	int n = json_string(buf, toks, i, tmp, sizeof tmp);
	return n >= 0 && (size_t)n == kl && memcmp(tmp, key, kl) == 0;
}

int json_get(const char *buf, const struct json_tok *toks, int obj, const char *key)
{
	if (obj < 0 || toks[obj].type != JSON_OBJECT)
		return -1;
	int found = -1;
	uint32_t i = (uint32_t)obj + 1;
	for (uint32_t m = 0; m < toks[obj].size; m++) {
		uint32_t v = i + 1; /* the key is one token */
		if (name_is(buf, toks, (int)i, key))
			found = (int)v;
		i = toks[v].next;
	}
	return found;
}

int json_elem(const struct json_tok *toks, int arr, uint32_t k)
{
	if (arr < 0 || toks[arr].type != JSON_ARRAY || k >= toks[arr].size)
		return -1;
	uint32_t i = (uint32_t)arr + 1;
	while (k--)
		i = toks[i].next;
	return (int)i;
}

static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int json_string(const char *buf, const struct json_tok *toks, int i, char *out, size_t cap)
{
	if (i < 0 || toks[i].type != JSON_STRING || cap == 0)
		return DF_ERR;
	const char *s = buf + toks[i].start, *e = buf + toks[i].end;
	size_t o = 0;
	while (s < e) {
		char u8[4];
		size_t w = 1;
		if (*s != '\\') {
			u8[0] = *s++;
		} else {
			char c = s[1];
			s += 2;
			switch (c) {
			case 'b': u8[0] = '\b'; break;
			case 'f': u8[0] = '\f'; break;
			case 'n': u8[0] = '\n'; break;
			case 'r': u8[0] = '\r'; break;
			case 't': u8[0] = '\t'; break;
			case 'u': {
				unsigned cp, lo;
				hex4(s, &cp); /* checked by the parser */
				s += 4;
				if (cp >= 0xd800 && cp <= 0xdbff && e - s >= 6 && s[0] == '\\' && s[1] == 'u' &&
				    hex4(s + 2, &lo) == DF_OK && lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					s += 6;
				} else if (cp >= 0xd800 && cp <= 0xdfff) {
					cp = 0xfffd; /* a lone surrogate: the replacement character */
				}
				if (cp == 0)
					return DF_ERR;
				w = put_utf8(u8, cp);
				break;
			}
			default: u8[0] = c; break; /* " \ / */
			}
		}
		if (o + w >= cap)
			return DF_ERR;
		memcpy(out + o, u8, w);
		o += w;
	}
	out[o] = 0;
	return (int)o;
}

int json_u64(const char *buf, const struct json_tok *toks, int i, uint64_t *out)
{
	if (i < 0 || toks[i].type != JSON_NUMBER)
		return DF_ERR;
	struct slice r = json_raw(buf, &toks[i]);
	uint64_t v = 0;
	if (r.n == 0 || r.n > 16)
		return DF_ERR;
	for (size_t k = 0; k < r.n; k++) {
		if (r.p[k] < '0' || r.p[k] > '9')
			return DF_ERR;
		v = v * 10 + (uint64_t)(r.p[k] - '0');
	}
	if (v > (1ull << 53))
		return DF_ERR;
	*out = v;
	return DF_OK;
}
