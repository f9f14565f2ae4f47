/* daemon.json's registry-mirrors, edited in place: a strict JSON scanner (RFC 8259) finds the spans
 * of the top-level members and of the array's entries, and the edit splices bytes in or out. */
#include "core/cfgedit.h"
#include "core/cfgedit_int.h"

#include <stdio.h>
#include <string.h>

#include "core/df.h"

#define MAX_DEPTH 64
#define KEY "registry-mirrors"

struct jp {
	const char *s;
	size_t n, i;
	int depth;
	const char *why;
};

static int bad(struct jp *p, const char *why)
{
	if (!p->why)
		p->why = why;
	return -1;
}

static void ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int hex4(const char *s)
{
	int v = 0;
	for (int k = 0; k < 4; k++) {
		char c = s[k];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* A string at p->i (its '"'): checked, skipped. */
static int string(struct jp *p)
{
	if (p->i >= p->n || p->s[p->i] != '"')
		return bad(p, "expected a string");
	p->i++;
	while (p->i < p->n) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == '"') {
			p->i++;
			return 0;
		}
		if (c < 0x20)
			return bad(p, "a control character inside a string");
		if (c == '\\') {
			if (p->i + 1 >= p->n)
				break;
			char e = p->s[p->i + 1];
			if (e == 'u') {
				if (p->i + 6 > p->n || hex4(p->s + p->i + 2) < 0)
					return bad(p, "a bad \\u escape");
				p->i += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e) || !e)
				return bad(p, "a bad escape in a string");
			p->i += 2;
			continue;
		}
		p->i++;
	}
	return bad(p, "a string without its closing quote");
}

/* Whether the string token s[a..b) (quotes included) decodes to want (or want + "/" with slash). */
static int string_is(const char *s, size_t a, size_t b, const char *want, int slash)
{
	size_t wn = strlen(want), k = 0;
	for (size_t i = a + 1; i + 1 < b; i++) {
		char c = s[i];
		if (c == '\\') {
			char e = s[++i];
			if (e == 'u') {
				int v = hex4(s + i + 1);
				if (v < 0 || v >= 0x80)
					return 0;
				c = (char)v;
				i += 4;
			} else {
				c = e == 'b'   ? '\b'
				    : e == 'f' ? '\f'
				    : e == 'n' ? '\n'
				    : e == 'r' ? '\r'
				    : e == 't' ? '\t'
					       : e;
			}
		}
		if (k < wn ? c != want[k] : !(slash && k == wn && c == '/'))
			return 0;
		k++;
	}
	return k == wn || (slash && k == wn + 1);
}

static int value(struct jp *p);

static int number(struct jp *p)
{
	size_t st = p->i;
	if (p->i < p->n && p->s[p->i] == '-')
		p->i++;
	if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
		return bad(p, "a bad number");
	if (p->s[p->i] == '0')
		p->i++;
	else
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
			return bad(p, "a bad number");
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
			return bad(p, "a bad number");
		while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
			p->i++;
	}
	return p->i > st ? 0 : bad(p, "a bad number");
}

static int word(struct jp *p, const char *w)
{
	size_t k = strlen(w);
	if (p->n - p->i < k || memcmp(p->s + p->i, w, k) != 0)
		return bad(p, "an unexpected character");
	p->i += k;
	return 0;
}

/* An array or object at p->i (its opening bracket): checked, skipped. */
static int container(struct jp *p, char open)
{
	char close = open == '[' ? ']' : '}';
	if (++p->depth > MAX_DEPTH)
		return bad(p, "nested more than 64 deep");
	p->i++; /* the opening bracket */
	ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		p->depth--;
		return 0;
	}
	for (;;) {
		ws(p);
		if (open == '{') {
			if (string(p) < 0)
				return -1;
			ws(p);
			if (p->i >= p->n || p->s[p->i] != ':')
				return bad(p, "expected ':' after a member's name");
			p->i++;
			ws(p);
		}
		if (value(p) < 0)
			return -1;
		ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == close) {
			p->i++;
			p->depth--;
			return 0;
		}
		return bad(p, open == '[' ? "expected ',' or ']' in an array" : "expected ',' or '}' in an object");
	}
}

static int value(struct jp *p)
{
	if (p->i >= p->n)
		return bad(p, "the text ends where a value should be");
	switch (p->s[p->i]) {
	case '"': return string(p);
	case '[':
	case '{': return container(p, p->s[p->i]);
	case 't': return word(p, "true");
	case 'f': return word(p, "false");
	case 'n': return word(p, "null");
	default: return number(p);
	}
}

/* One entry of a top-level object or of an array: where it starts and ends. */
struct span {
	size_t a, b;
};

/* What the edit needs to know about the document. */
struct doc {
	int blank;          /* only blanks: a new file */
	size_t open, close; /* the top-level object's braces */
	int members;
	struct span first;           /* the first member */
	int has;                     /* a "registry-mirrors" member */
	struct span mem, prev, next; /* it, the member before it (b: its end), the one after (a: its start) */
	int has_prev, has_next;
	size_t arr_open, arr_close; /* its array's brackets */
	int entries;
	struct span efirst; /* the array's first entry */
	int found;          /* url is an entry */
	struct span ent, eprev, enext;
	int has_eprev, has_enext;
};

/* Scans the array of the registry-mirrors member at p->i, looking for url. */
static int scan_mirrors(struct jp *p, struct doc *d, const char *url)
{
	if (p->i >= p->n || p->s[p->i] != '[')
		return bad(p, "\"registry-mirrors\" is not an array");
	d->arr_open = p->i++;
	struct span last = {0, 0};
	for (;;) {
		ws(p);
		if (p->i < p->n && p->s[p->i] == ']' && d->entries == 0)
			break;
		struct span e = {p->i, 0};
		if (p->i >= p->n || p->s[p->i] != '"')
			return bad(p, "an entry of \"registry-mirrors\" is not a string");
		if (string(p) < 0)
			return -1;
		e.b = p->i;
		if (d->entries == 0)
			d->efirst = e;
		if (d->found && !d->has_enext) {
			d->enext = e;
			d->has_enext = 1;
		}
		if (!d->found && string_is(p->s, e.a, e.b, url, 1)) {
			d->found = 1;
			d->ent = e;
			d->eprev = last;
			d->has_eprev = d->entries > 0;
		}
		d->entries++;
		last = e;
		ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == ']')
			break;
		return bad(p, "expected ',' or ']' in \"registry-mirrors\"");
	}
	d->arr_close = p->i++;
	return 0;
}

static int scan(struct jp *p, struct doc *d, const char *url)
{
	memset(d, 0, sizeof *d);
	if (p->n > CFGEDIT_MAX)
		return bad(p, "larger than 1 MiB");
	ws(p);
	if (p->i == p->n) {
		d->blank = 1;
		return 0;
	}
	if (p->s[p->i] != '{')
		return bad(p, "not a JSON object");
	d->open = p->i++;
	p->depth = 1;
	struct span last = {0, 0};
	for (;;) {
		ws(p);
		if (p->i < p->n && p->s[p->i] == '}' && d->members == 0)
			break;
		struct span m = {p->i, 0};
		if (string(p) < 0)
			return -1;
		int mine = string_is(p->s, m.a, p->i, KEY, 0);
		ws(p);
		if (p->i >= p->n || p->s[p->i] != ':')
			return bad(p, "expected ':' after a member's name");
		p->i++;
		ws(p);
		if (mine && d->has)
			return bad(p, "\"registry-mirrors\" appears twice");
		if (mine ? scan_mirrors(p, d, url) : value(p))
			return -1;
		m.b = p->i;
		if (d->members == 0)
			d->first = m;
		if (d->has && !d->has_next) {
			d->next = m;
			d->has_next = 1;
		}
		if (mine) {
			d->has = 1;
			d->mem = m;
			d->prev = last;
			d->has_prev = d->members > 0;
		}
		d->members++;
		last = m;
		ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == '}')
			break;
		return bad(p, "expected ',' or '}' in an object");
	}
	d->close = p->i++;
	ws(p);
	if (p->i != p->n)
		return bad(p, "text after the top-level object");
	return 0;
}

int cfgedit_json_object(const char *in, size_t n, int *members, const char **why)
{
	struct jp p = {.s = in, .n = n};
	struct doc d;
	if (scan(&p, &d, "") < 0 || d.blank) {
		*why = p.why ? p.why : "empty";
		return CFGEDIT_ERR;
	}
	*members = d.members;
	return CFGEDIT_SAME;
}

#define put cfgedit_put

static void puts_(struct cfgedit_out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* The blanks between two tokens when they hold a line break (the file's layout), else one space. */
static void sep(struct cfgedit_out *o, const char *s, size_t a, size_t b)
{
	if (memchr(s + a, '\n', b - a))
		put(o, s + a, b - a);
	else
		puts_(o, " ");
}

/* in with [a, b) cut out. */
static void cut(struct cfgedit_out *o, const char *in, size_t n, size_t a, size_t b)
{
	put(o, in, a);
	put(o, in + b, n - b);
}

static int valid_url(const char *url)
{
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == '"' || *c == '\\')
			return 0;
	return url[0] != 0;
}

int cfgedit_json_mirrors(const char *in, size_t n, const char *url, int remove, char *out, size_t cap, size_t *outlen,
			 const char **why)
{
	struct jp p = {.s = in, .n = n};
	struct doc d;
	struct cfgedit_out o = {out, cap, 0, 0};
	*outlen = 0;
	if (!valid_url(url)) {
		*why = "the mirror URL cannot go in a JSON string as it is";
		return CFGEDIT_ERR;
	}
	if (scan(&p, &d, url) < 0) {
		static char err[96];
		int line = 1;
		for (size_t k = 0; k < p.i && k < n; k++)
			line += in[k] == '\n';
		snprintf(err, sizeof err, "line %d: %s", line, p.why);
		*why = err;
		return CFGEDIT_ERR;
	}
	if (remove) {
		if (!d.found)
			return CFGEDIT_SAME;
		if (d.entries > 1) { /* the entry with the comma on one side and the blanks up to its neighbour */
			if (d.has_enext)
				cut(&o, in, n, d.ent.a, d.enext.a);
			else
				cut(&o, in, n, d.eprev.b, d.ent.b);
		} else if (d.has_next) { /* the whole member, likewise */
			cut(&o, in, n, d.mem.a, d.next.a);
		} else if (d.has_prev) {
			cut(&o, in, n, d.prev.b, d.mem.b);
		} else {
			cut(&o, in, n, d.open + 1, d.close);
		}
	} else {
		if (d.found)
			return CFGEDIT_SAME;
		if (d.blank) {
			puts_(&o, "{\n  \"" KEY "\": [\"");
			puts_(&o, url);
			puts_(&o, "\"]\n}\n");
		} else if (d.has && d.entries) { /* before the first entry, laid out like the next */
			put(&o, in, d.efirst.a);
			puts_(&o, "\"");
			puts_(&o, url);
			puts_(&o, "\",");
			sep(&o, in, d.arr_open + 1, d.efirst.a);
			put(&o, in + d.efirst.a, n - d.efirst.a);
		} else if (d.has) {
			put(&o, in, d.arr_open + 1);
			puts_(&o, "\"");
			puts_(&o, url);
			puts_(&o, "\"");
			put(&o, in + d.arr_close, n - d.arr_close);
		} else if (d.members) { /* a new first member */
			put(&o, in, d.first.a);
			puts_(&o, "\"" KEY "\": [\"");
			puts_(&o, url);
			puts_(&o, "\"],");
			sep(&o, in, d.open + 1, d.first.a);
			put(&o, in + d.first.a, n - d.first.a);
		} else {
			put(&o, in, d.open + 1);
			puts_(&o, "\n  \"" KEY "\": [\"");
			puts_(&o, url);
			puts_(&o, "\"]\n");
			put(&o, in + d.close, n - d.close);
		}
	}
	return cfgedit_done(&o, outlen, why);
}
