/* A tiny JSON writer for --json output and status endpoints (df only writes JSON, never parses it).
 * Writes into a caller-owned growable buffer with a hard cap; commas and escaping are handled here. */
#ifndef DF_JSONW_H
#define DF_JSONW_H

#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char *p;
	size_t len, cap, max; /* max: hard cap on growth */
	int depth;
	int need_comma[32];
	int overflow;
};

/* Starts an empty writer that may grow up to max bytes; free with jsonw_free. */
void jsonw_init(struct jsonw *w, size_t max);
void jsonw_free(struct jsonw *w);

void jsonw_obj_open(struct jsonw *w, const char *key /* NULL inside arrays / at top */);
void jsonw_obj_close(struct jsonw *w);
void jsonw_arr_open(struct jsonw *w, const char *key);
void jsonw_arr_close(struct jsonw *w);
void jsonw_str(struct jsonw *w, const char *key, const char *val);
void jsonw_strn(struct jsonw *w, const char *key, const char *val, size_t n);
void jsonw_u64(struct jsonw *w, const char *key, uint64_t v);
void jsonw_i64(struct jsonw *w, const char *key, int64_t v);
void jsonw_f64(struct jsonw *w, const char *key, double v);
void jsonw_bool(struct jsonw *w, const char *key, int v);

#endif
