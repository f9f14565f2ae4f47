/* Fuzz target: the JSON reader (core/json.c) and its accessors. Every token stays inside the
 * input, nesting is consistent (next moves forward and stays within the tokens), and decoding any
 * string, number or member lookup ends without reading outside. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

#define NTOK 4096
static struct json_tok toks[NTOK];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *why = NULL;
	int n = json_parse(s, size, toks, NTOK, &why);
	if (n < 0) {
		if (!why || !why[0])
			abort();
		return 0;
	}
	if (n == 0 || toks[0].next != (uint32_t)n)
		abort();
	for (int i = 0; i < n; i++) {
		const struct json_tok *t = &toks[i];
		if (t->start > t->end || t->end > size || t->next <= (uint32_t)i || t->next > (uint32_t)n)
			abort();
		char out[256];
		uint64_t v;
		int l = json_string(s, toks, i, out, sizeof out);
		if (l >= 0 && (t->type != JSON_STRING || (size_t)l >= sizeof out || strlen(out) != (size_t)l))
			abort();
		if (json_u64(s, toks, i, &v) == DF_OK && t->type != JSON_NUMBER)
			abort();
		if (t->type == JSON_OBJECT && t->size) {
			char key[256];
			if (json_string(s, toks, i + 1, key, sizeof key) >= 0 && json_get(s, toks, i, key) <= i + 1)
				abort();
		}
		if (t->type == JSON_ARRAY && t->size && json_elem(toks, i, t->size - 1) <= i)
			abort();
	}
	return 0;
}
