/* A pure JSON reader (RFC 8259) for the few documents df reads: registry manifests and indexes,
 * token answers, container tools' auth files. One pass checks the whole grammar and fills a
 * caller-owned token array (no malloc); values stay slices of the input until json_string
 * decodes one. df still writes JSON with core/jsonw.h. */
#ifndef DF_JSON_H
#define DF_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/df.h"
#include "core/slice.h"

enum json_type { JSON_OBJECT = 1, JSON_ARRAY, JSON_STRING, JSON_NUMBER, JSON_TRUE, JSON_FALSE, JSON_NULL };

/* One value. An object's tokens are the object, then each member's key (a JSON_STRING) followed by
 * its value; an array's are the array, then each element. */
struct json_tok {
	enum json_type type;
	uint32_t start, end; /* the value's bytes [start, end); a string's without its quotes, escapes undecoded */
	uint32_t size;       /* members of an object, elements of an array; 0 otherwise */
	uint32_t next;       /* the index of the token after this value and everything inside it */
};

#define JSON_MAX_DEPTH 64

/* Parses len bytes (one value, whitespace around it allowed) into toks[0..cap). Returns the number
 * of tokens, or DF_ERR with *why (static text) for malformed JSON, nesting deeper than
 * JSON_MAX_DEPTH, more than cap tokens, or an input over 4 GiB. */
int json_parse(const char *buf, size_t len, struct json_tok *toks, int cap, const char **why);

/* The value of member key (decoded names compared exactly) of the object at toks[obj]; the last one
 * when a name repeats (as Go's encoding/json, which most registries use, decides). -1 when absent
 * or toks[obj] is no object. */
int json_get(const char *buf, const struct json_tok *toks, int obj, const char *key);

/* The index of element k (from 0) of the array at toks[arr], or -1. */
int json_elem(const struct json_tok *toks, int arr, uint32_t k);

/* Decodes the string at toks[i] (escapes, \u surrogate pairs to UTF-8) into out, NUL-terminated.
 * Returns its length, or DF_ERR when toks[i] is no string, it does not fit in cap, or it holds a
 * NUL (\u0000: a C string would end there). */
int json_string(const char *buf, const struct json_tok *toks, int i, char *out, size_t cap);

/* The non-negative integer at toks[i] (no fraction, no exponent, at most 2^53). DF_OK or DF_ERR. */
int json_u64(const char *buf, const struct json_tok *toks, int i, uint64_t *out);

/* The raw bytes of toks[i] (a string's without quotes, undecoded). */
static inline struct slice json_raw(const char *buf, const struct json_tok *t)
{
	return (struct slice){buf + t->start, t->end - t->start};
}

#endif
