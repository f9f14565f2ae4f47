/* TOML files of the engines, read line by line: df's block in containerd's hosts.toml put in or
 * taken out, containerd's config_path and the [[registry]] tables of containers-registries.conf
 * found. The scanner knows table headers, keys (bare, "basic", 'literal', dotted), strings
 * (multi-line ones too) and arrays that span lines, which is what these files hold; it does not
 * check everything TOML forbids (the engine that reads the file does). */
#include "core/cfgedit.h"
#include "core/cfgedit_int.h"

#include <stdio.h>
#include <string.h>

#include "core/df.h"

#define SEP '\x1f' /* between a key's components in tline.key */

enum { T_OTHER, T_TABLE, T_ATABLE, T_KEY };

struct tline {
	size_t start, end, next; /* the line is [start, end) without its "\r\n"; the next one starts at next */
	int cont;                /* it continues a multi-line value of an earlier line */
	int kind;
	char key[512]; /* T_TABLE, T_ATABLE: the table's name; T_KEY: the key; components SEP-joined */
	size_t val;    /* T_KEY: where the value starts */
};

struct tscan {
	const char *s;
	size_t n, i;
	int ml;    /* inside a multi-line string: its quote character */
	int depth; /* inside an array or inline table that spans lines */
	int lineno;
};

static size_t skip_ws(const char *s, size_t i, size_t end)
{
	while (i < end && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

static int bare(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* A key (a.b."c".'d') at *i up to '=' or ']' (not consumed), SEP-joined into out. */
static int parse_key(const char *s, size_t *pi, size_t end, char *out, size_t cap)
{
	size_t i = *pi, o = 0;
	for (;;) {
		i = skip_ws(s, i, end);
		if (i >= end)
			return -1;
		if (o) {
			if (o + 1 >= cap)
				return -1;
			out[o++] = SEP;
		}
		size_t c0 = o;
		if (s[i] == '"' || s[i] == '\'') {
			char q = s[i++];
			while (i < end && s[i] != q) {
				if (q == '"' && s[i] == '\\' && i + 1 < end)
					i++; /* the escaped character as it is: enough to compare names */
				if (o + 1 >= cap)
					return -1;
				out[o++] = s[i++];
			}
			if (i >= end)
				return -1;
			i++;
		} else {
			while (i < end && bare(s[i])) {
				if (o + 1 >= cap)
					return -1;
				out[o++] = s[i++];
			}
			if (o == c0)
				return -1;
		}
		i = skip_ws(s, i, end);
		if (i < end && s[i] == '.') {
			i++;
			continue;
		}
		break;
	}
	out[o] = 0;
	*pi = i;
	return 0;
}

/* Follows strings, comments and brackets over s[i, end) so that the next line knows whether it
 * continues a value. */
static void scan_rest(struct tscan *t, size_t i, size_t end)
{
	const char *s = t->s;
	while (i < end) {
		char c = s[i];
		if (t->ml) {
			if (t->ml == '"' && c == '\\') {
				i += 2;
				continue;
			}
			if (c == t->ml && i + 2 < end && s[i + 1] == c && s[i + 2] == c) {
				t->ml = 0;
				i += 3;
				while (i < end &&
				       s[i] == c) /* up to two quotes of the content may come before the end */
					i++;
				continue;
			}
			i++;
			continue;
		}
		if (c == '#')
			return;
		if (c == '"' || c == '\'') {
			if (i + 2 < end && s[i + 1] == c && s[i + 2] == c) {
				t->ml = c;
				i += 3;
				continue;
			}
			for (i++; i < end && s[i] != c; i++)
				if (c == '"' && s[i] == '\\')
					i++;
			i++;
			continue;
		}
		if (c == '[' || c == '{')
			t->depth++;
		else if ((c == ']' || c == '}') && t->depth > 0)
			t->depth--;
		i++;
	}
}

/* The next line: 1, 0 at the end, -1 when it does not scan. */
static int tnext(struct tscan *t, struct tline *l)
{
	const char *s = t->s;
	if (t->i >= t->n)
		return 0;
	t->lineno++;
	l->start = t->i;
	const char *nl = memchr(s + t->i, '\n', t->n - t->i);
	l->end = nl ? (size_t)(nl - s) : t->n;
	l->next = nl ? l->end + 1 : t->n;
	if (l->end > l->start && s[l->end - 1] == '\r')
		l->end--;
	l->cont = t->ml || t->depth > 0;
	l->kind = T_OTHER;
	l->key[0] = 0;
	l->val = l->end;
	t->i = l->next;
	if (l->cont) {
		scan_rest(t, l->start, l->end);
		return 1;
	}
	size_t i = skip_ws(s, l->start, l->end);
	if (i == l->end || s[i] == '#')
		return 1;
	if (s[i] == '[') {
		int arr = i + 1 < l->end && s[i + 1] == '[';
		i += arr ? 2 : 1;
		if (parse_key(s, &i, l->end, l->key, sizeof l->key) < 0 || i >= l->end || s[i] != ']')
			return -1;
		i++;
		if (arr) {
			if (i >= l->end || s[i] != ']')
				return -1;
			i++;
		}
		i = skip_ws(s, i, l->end);
		if (i < l->end && s[i] != '#')
			return -1;
		l->kind = arr ? T_ATABLE : T_TABLE;
		return 1;
	}
	if (parse_key(s, &i, l->end, l->key, sizeof l->key) < 0 || i >= l->end || s[i] != '=')
		return -1;
	l->val = skip_ws(s, i + 1, l->end);
	if (l->val == l->end)
		return -1;
	l->kind = T_KEY;
	scan_rest(t, l->val, l->end);
	return 1;
}

/* A string value at s[i, end) ("basic" with simple escapes, or 'literal') into out. */
static int string_value(const char *s, size_t i, size_t end, char *out, size_t cap)
{
	size_t o = 0;
	if (i >= end || (s[i] != '"' && s[i] != '\''))
		return -1;
	char q = s[i++];
	if (i + 1 < end && s[i] == q && s[i + 1] == q)
		return -1; /* a multi-line string: not what a path is written as */
	for (; i < end && s[i] != q; i++) {
		char c = s[i];
		if (q == '"' && c == '\\' && i + 1 < end) {
			char e = s[++i];
			c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	if (i >= end)
		return -1;
	out[o] = 0;
	return 0;
}

static int line_is(const char *s, const struct tline *l, const char *prefix)
{
	size_t e = l->end, k = strlen(prefix);
	while (e > l->start && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	return !l->cont && e - l->start >= k && memcmp(s + l->start, prefix, k) == 0;
}

/* Whether a SEP-joined name starts with the components of prefix (also SEP-joined). */
static int name_under(const char *name, const char *prefix)
{
	size_t k = strlen(prefix);
	return strncmp(name, prefix, k) == 0 && (name[k] == 0 || name[k] == SEP);
}

/* Where df's block is, where the first [host."..."] table is (or the comments right above it), and
 * whether the mirror has a table of its own outside the block. */
struct layout {
	int has_block;
	size_t bstart, bend; /* bend: after the end line's '\n' */
	int has_host;
	size_t hpos;
	int manual;
};

static int find(const char *in, size_t n, const char *mirror_url, struct layout *y, const char **why)
{
	static char err[96];
	struct tscan t = {.s = in, .n = n};
	struct tline l;
	char want[512], want_slash[520];
	int r, inblock = 0, ended = 0;
	size_t crun = 0;
	int in_crun = 0;
	memset(y, 0, sizeof *y);
	if (n > CFGEDIT_MAX || memchr(in, 0, n)) {
		*why = n > CFGEDIT_MAX ? "larger than 1 MiB" : "a NUL byte: not a text file";
		return -1;
	}
	snprintf(want, sizeof want, "host%c%s", SEP, mirror_url ? mirror_url : "");
	snprintf(want_slash, sizeof want_slash, "%s/", want);
	while ((r = tnext(&t, &l)) > 0) {
		int comment = !l.cont && l.kind == T_OTHER && skip_ws(in, l.start, l.end) < l.end;
		if (line_is(in, &l, CFGEDIT_BEGIN_MARK)) {
			if (y->has_block) {
				*why = "df's block appears twice";
				return -1;
			}
			y->has_block = 1;
			y->bstart = l.start;
			inblock = 1;
			in_crun = 0;
			continue;
		}
		if (inblock && line_is(in, &l, CFGEDIT_END)) {
			y->bend = l.next;
			inblock = 0;
			ended = 1;
			continue;
		}
		if (inblock)
			continue;
		if ((l.kind == T_TABLE || l.kind == T_ATABLE) && name_under(l.key, "host") && !y->has_host) {
			y->has_host = 1;
			y->hpos = in_crun ? crun : l.start;
		}
		if ((l.kind == T_TABLE || l.kind == T_ATABLE) && mirror_url &&
		    (name_under(l.key, want) || name_under(l.key, want_slash)))
			y->manual = 1;
		if (comment && !in_crun) {
			in_crun = 1;
			crun = l.start;
		} else if (!comment) {
			in_crun = 0;
		}
	}
	if (r < 0) {
		snprintf(err, sizeof err, "line %d does not scan as TOML", t.lineno);
		*why = err;
		return -1;
	}
	if (t.ml || t.depth) {
		*why = "the file ends inside a multi-line string or array";
		return -1;
	}
	if (y->has_block && !ended) {
		*why = "df's begin line without its end line";
		return -1;
	}
	return 0;
}

#define put cfgedit_put

int cfgedit_toml_put(const char *in, size_t n, const char *block, const char *mirror_url, char *out, size_t cap,
		     size_t *outlen, const char **why)
{
	struct layout y;
	struct cfgedit_out o = {out, cap, 0, 0};
	size_t bn = strlen(block);
	*outlen = 0;
	if (find(in, n, mirror_url, &y, why) < 0)
		return CFGEDIT_ERR;
	if (y.has_block) {
		if (y.bend - y.bstart == bn && memcmp(in + y.bstart, block, bn) == 0)
			return CFGEDIT_SAME;
		put(&o, in, y.bstart);
		put(&o, block, bn);
		put(&o, in + y.bend, n - y.bend);
		return cfgedit_done(&o, outlen, why);
	}
	if (y.manual)
		return CFGEDIT_MANUAL;
	if (y.has_host) { /* before the first host: tried first */
		put(&o, in, y.hpos);
		put(&o, block, bn);
		put(&o, DF_LIT("\n"));
		put(&o, in + y.hpos, n - y.hpos);
	} else {
		put(&o, in, n);
		if (n && in[n - 1] != '\n')
			put(&o, DF_LIT("\n"));
		if (n)
			put(&o, DF_LIT("\n"));
		put(&o, block, bn);
	}
	return cfgedit_done(&o, outlen, why);
}

/* Whether a blank line starts at i. */
static size_t blank_at(const char *in, size_t n, size_t i)
{
	if (i < n && in[i] == '\n')
		return 1;
	if (i + 1 < n && in[i] == '\r' && in[i + 1] == '\n')
		return 2;
	return 0;
}

int cfgedit_toml_remove(const char *in, size_t n, char *out, size_t cap, size_t *outlen, const char **why)
{
	struct layout y;
	struct cfgedit_out o = {out, cap, 0, 0};
	*outlen = 0;
	if (find(in, n, NULL, &y, why) < 0)
		return CFGEDIT_ERR;
	if (!y.has_block)
		return CFGEDIT_SAME;
	size_t a = y.bstart, b = y.bend, k;
	if ((k = blank_at(in, n, b)) != 0) /* the blank line put after the block */
		b += k;
	else if (a >= 2 && in[a - 1] == '\n' &&
		 (in[a - 2] == '\n' || (a >= 3 && in[a - 2] == '\r' && in[a - 3] == '\n')))
		a -= in[a - 2] == '\r' ? 2 : 1; /* the one put before it at the end of the file */
	put(&o, in, a);
	put(&o, in + b, n - b);
	return cfgedit_done(&o, outlen, why);
}

int cfgedit_containerd_config_path(const char *in, size_t n, char *out, size_t cap, int *mirrors)
{
	static const char *const paths[] = {
		"plugins\x1fio.containerd.grpc.v1.cri\x1fregistry",
		"plugins\x1fio.containerd.cri.v1.images\x1fregistry",
		"plugins\037cri\037registry", /* octal: "\x1fc" would read the c as hex */
	};
	struct tscan t = {.s = in, .n = n};
	struct tline l;
	char table[512] = "", full[1100];
	int r, found = 0;
	*mirrors = 0;
	if (n > CFGEDIT_MAX)
		return -1;
	while ((r = tnext(&t, &l)) > 0) {
		if (l.kind == T_TABLE || l.kind == T_ATABLE) {
			snprintf(table, sizeof table, "%s", l.key);
			snprintf(full, sizeof full, "%s", l.key);
		} else if (l.kind == T_KEY) {
			snprintf(full, sizeof full, "%s%s%s", table, table[0] ? "\x1f" : "", l.key);
		} else {
			continue;
		}
		for (size_t k = 0; k < DF_ARRAY_LEN(paths); k++) {
			char m[600], cp[600];
			snprintf(m, sizeof m, "%s\x1fmirrors", paths[k]);
			snprintf(cp, sizeof cp,
				 "%s\x1f"
				 "config_path",
				 paths[k]);
			if (name_under(full, m))
				*mirrors = 1;
			if (l.kind == T_KEY && !found && strcmp(full, cp) == 0) {
				if (string_value(in, l.val, l.end, out, cap) < 0)
					return -1;
				out[strcspn(out, ":")] = 0;
				found = 1;
			}
		}
	}
	if (r < 0)
		return -1;
	return found && out[0] ? 1 : 0;
}

int cfgedit_registries_has(const char *in, size_t n, const char *loc)
{
	struct tscan t = {.s = in, .n = n};
	struct tline l;
	char prefix[512] = "", location[512] = "";
	int r, in_reg = 0, hit = 0;
	if (n > CFGEDIT_MAX)
		return -1;
	for (;;) {
		r = tnext(&t, &l);
		int header = r > 0 && (l.kind == T_TABLE || l.kind == T_ATABLE);
		if (r <= 0 || header) {
			/* the end of a [[registry]] table: its prefix, else its location, is what it matches */
			if (in_reg && loc[0] && strcmp(prefix[0] ? prefix : location, loc) == 0)
				hit = 1;
			in_reg = r > 0 && l.kind == T_ATABLE && strcmp(l.key, "registry") == 0;
			prefix[0] = location[0] = 0;
		}
		if (r <= 0)
			break;
		if (in_reg && l.kind == T_KEY) {
			if (strcmp(l.key, "prefix") == 0 && string_value(in, l.val, l.end, prefix, sizeof prefix) < 0)
				prefix[0] = 0;
			if (strcmp(l.key, "location") == 0 &&
			    string_value(in, l.val, l.end, location, sizeof location) < 0)
				location[0] = 0;
		}
	}
	return r < 0 ? -1 : hit;
}
