/* The JSON writer: appends tokens with commas and string escaping, growing a buffer up to a cap.
 * Past the cap it sets overflow and drops output, so a huge status can never exhaust memory. */
#include "core/df.h"
#include "core/jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w, size_t max)
{
	memset(w, 0, sizeof *w);
	w->max = max;
}

void jsonw_free(struct jsonw *w)
{
	free(w->p);
	memset(w, 0, sizeof *w);
}

static void put(struct jsonw *w, const char *s, size_t n)
{
	if (w->overflow)
		return;
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 1024;
		while (cap < w->len + n + 1)
			cap *= 2;
		if (cap > w->max)
			cap = w->max;
		char *p = cap >= w->len + n + 1 ? realloc(w->p, cap) : NULL;
		if (!p) {
			w->overflow = 1;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = 0;
}

static void puts_(struct jsonw *w, const char *s)
{
	put(w, s, strlen(s));
}

static void quoted(struct jsonw *w, const char *s, size_t n)
{
	put(w, DF_LIT("\""));
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, s + run, i - run);
		run = i + 1;
		char esc[8];
		switch (c) {
		case '"': puts_(w, "\\\""); break;
		case '\\': puts_(w, "\\\\"); break;
		case '\n': puts_(w, "\\n"); break;
		case '\r': puts_(w, "\\r"); break;
		case '\t': puts_(w, "\\t"); break;
		default: snprintf(esc, sizeof esc, "\\u%04x", c); puts_(w, esc);
		}
	}
	put(w, s + run, n - run);
	put(w, DF_LIT("\""));
}

static void key(struct jsonw *w, const char *k)
{
	if (w->depth > 0 && w->depth < 32) {
		if (w->need_comma[w->depth])
			put(w, DF_LIT(","));
		w->need_comma[w->depth] = 1;
	}
	if (k) {
		quoted(w, k, strlen(k));
		put(w, DF_LIT(":"));
	}
}

static void open_(struct jsonw *w, const char *k, const char *tok)
{
	key(w, k);
	puts_(w, tok);
	if (++w->depth < 32)
		w->need_comma[w->depth] = 0;
}

void jsonw_obj_open(struct jsonw *w, const char *k)
{
	open_(w, k, "{");
}
void jsonw_arr_open(struct jsonw *w, const char *k)
{
	open_(w, k, "[");
}
void jsonw_obj_close(struct jsonw *w)
{
	w->depth--;
	puts_(w, "}");
}
void jsonw_arr_close(struct jsonw *w)
{
	w->depth--;
	puts_(w, "]");
}

void jsonw_strn(struct jsonw *w, const char *k, const char *v, size_t n)
{
	key(w, k);
	quoted(w, v, n);
}

void jsonw_str(struct jsonw *w, const char *k, const char *v)
{
	if (!v) {
		key(w, k);
		puts_(w, "null");
		return;
	}
	jsonw_strn(w, k, v, strlen(v));
}

void jsonw_u64(struct jsonw *w, const char *k, uint64_t v)
{
	char b[24];
	key(w, k);
	snprintf(b, sizeof b, "%llu", (unsigned long long)v);
	puts_(w, b);
}

void jsonw_i64(struct jsonw *w, const char *k, int64_t v)
{
	char b[24];
	key(w, k);
	snprintf(b, sizeof b, "%lld", (long long)v);
	puts_(w, b);
}

void jsonw_f64(struct jsonw *w, const char *k, double v)
{
	char b[40];
	key(w, k);
	snprintf(b, sizeof b, "%.3f", v);
	puts_(w, b);
}

void jsonw_bool(struct jsonw *w, const char *k, int v)
{
	key(w, k);
	puts_(w, v ? "true" : "false");
}
