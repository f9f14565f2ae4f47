/* Unit tests of core/json (the reader) and core/base64: the grammar's edges, lookups, escapes,
 * limits, every cut of a valid document refused; base64 round trips and refusals. */
#include <stdlib.h>

#include "core/base64.h"
#include "core/df.h"
#include "core/json.h"
#include "test/unit/unit.h"

static struct json_tok toks[256];

static int parse(const char *s)
{
	const char *why = NULL;
	int n = json_parse(s, strlen(s), toks, 256, &why);
	if (n < 0 && (!why || !why[0]))
		return -100; /* a refusal must say why */
	return n;
}

static void grammar(void)
{
	const char *good[] = {"{}", "[]", " 0 ", "-0.5e+3", "1E9", "\"\"", "true", "false", "null", "[1,[2,[3]],{}]",
			      "{\"a\":{\"b\":[null,true]},\"c\":\"\\u00e9\\n\\\"\"}", "\t\r\n[ 1 , 2 ]\n", "\"\\ud83d\\ude00\""};
	for (size_t i = 0; i < DF_ARRAY_LEN(good); i++)
		if (parse(good[i]) <= 0) {
			fprintf(stderr, "    refused: %s\n", good[i]);
			CHECK(0);
		}
	const char *bad[] = {"", " ", "{", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{a:1}", "01", "1.", ".5", "-", "1e", "+1",
			     "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12g4\"", "\"a\nb\"", "[1] 2", "{\"a\":1,}", "[1 2]", "\"\\",
			     "{\"a\" 1}", "'a'", "[\"\\u123\"]"};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++)
		if (parse(bad[i]) != DF_ERR) {
			fprintf(stderr, "    accepted: %s\n", bad[i]);
			CHECK(0);
		}
}

static void structure(void)
{
	const char *s = "{\"a\": [1, {\"x\": 2}, 3], \"b\": \"hi\", \"a\": \"last\", \"\\u0063\": 7}";
	int n = parse(s);
	CHECK(n > 0);
	CHECK_EQ(toks[0].type, JSON_OBJECT);
	CHECK_EQ(toks[0].size, 4);
	CHECK_EQ(toks[0].next, (uint32_t)n);
	int a = json_get(s, toks, 0, "a");
	CHECK(a > 0);
	CHECK_EQ(toks[a].type, JSON_STRING); /* the last "a" wins */
	char out[64];
	CHECK_EQ(json_string(s, toks, a, out, sizeof out), 4);
	CHECK_STR(out, "last");
	uint64_t v = 0;
	CHECK_EQ(json_u64(s, toks, json_get(s, toks, 0, "c"), &v), DF_OK); /* an escaped name */
	CHECK_EQ(v, 7);
	CHECK_EQ(json_get(s, toks, 0, "zz"), -1);
	/* the first "a": an array, elements reached by index */
	const char *t = "[1, {\"x\": 2}, 3]";
	CHECK(parse(t) > 0);
	CHECK_EQ(toks[0].size, 3);
	int e1 = json_elem(toks, 0, 1), e2 = json_elem(toks, 0, 2);
	CHECK_EQ(toks[e1].type, JSON_OBJECT);
	CHECK_EQ(json_u64(t, toks, json_get(t, toks, e1, "x"), &v), DF_OK);
	CHECK_EQ(v, 2);
	CHECK_EQ(json_u64(t, toks, e2, &v), DF_OK);
	CHECK_EQ(v, 3);
	CHECK_EQ(json_elem(toks, 0, 3), -1);
	CHECK_EQ(json_get(t, toks, 0, "x"), -1); /* an array has no members */
}

static void strings_and_numbers(void)
{
	char out[16];
	const char *s = "[\"a\\u00e9\\ud83d\\ude00\\/\", \"\\u0000\", \"0123456789abcdef\", \"\\ud800x\", -1, 1.5, 9007199254740993, 9007199254740992]";
	CHECK(parse(s) > 0);
	CHECK_EQ(json_string(s, toks, json_elem(toks, 0, 0), out, sizeof out), 8);
	CHECK_STR(out, "a\xc3\xa9\xf0\x9f\x98\x80/");
	CHECK_EQ(json_string(s, toks, json_elem(toks, 0, 1), out, sizeof out), DF_ERR); /* a NUL */
	CHECK_EQ(json_string(s, toks, json_elem(toks, 0, 2), out, sizeof out), DF_ERR); /* 16 + NUL do not fit */
	CHECK_EQ(json_string(s, toks, json_elem(toks, 0, 3), out, sizeof out), 4);    /* a lone surrogate: U+FFFD */
	CHECK_STR(out, "\xef\xbf\xbdx");
	CHECK_EQ(json_string(s, toks, json_elem(toks, 0, 4), out, sizeof out), DF_ERR); /* no string */
	uint64_t v;
	CHECK_EQ(json_u64(s, toks, json_elem(toks, 0, 4), &v), DF_ERR);
	CHECK_EQ(json_u64(s, toks, json_elem(toks, 0, 5), &v), DF_ERR);
	CHECK_EQ(json_u64(s, toks, json_elem(toks, 0, 6), &v), DF_ERR);
	CHECK_EQ(json_u64(s, toks, json_elem(toks, 0, 7), &v), DF_OK);
}

static void limits(void)
{
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	CHECK_EQ(json_parse(deep, 200, toks, 256, &(const char *){0}), DF_ERR); /* 100 deep */
	CHECK(json_parse(deep + 100 - JSON_MAX_DEPTH, 2 * JSON_MAX_DEPTH, toks, 256, &(const char *){0}) > 0);
	CHECK_EQ(json_parse("[1,2,3,4]", 9, toks, 4, &(const char *){0}), DF_ERR); /* 5 tokens, room for 4 */
	CHECK_EQ(json_parse("[1,2,3,4]", 9, toks, 5, &(const char *){0}), 5);
	/* every cut of a valid document is refused, never read past */
	const char *doc = "{\"schemaVersion\": 2, \"layers\": [{\"digest\": \"sha256:ab\", \"size\": 12}], \"x\": [true, null]}";
	size_t len = strlen(doc);
	for (size_t cut = 0; cut < len; cut++) {
		char *b = malloc(cut ? cut : 1);
		memcpy(b, doc, cut);
		CHECK_EQ(json_parse(b, cut, toks, 256, &(const char *){0}), DF_ERR);
		free(b);
	}
}

static void base64(void)
{
	char enc[64];
	uint8_t dec[64];
	CHECK_EQ(base64_encode("user:pass", 9, enc, sizeof enc), 12);
	CHECK_STR(enc, "dXNlcjpwYXNz");
	CHECK_EQ(base64_encode("ab", 2, enc, sizeof enc), 4);
	CHECK_STR(enc, "YWI=");
	CHECK_EQ(base64_encode("", 0, enc, sizeof enc), 0);
	CHECK_EQ(base64_encode("abcd", 4, enc, 9), 8);
	CHECK_EQ(base64_encode("abcd", 4, enc, 8), DF_ERR); /* 8 + NUL */
	CHECK_EQ(base64_encode("abc", 3, enc, 5), 4);
	CHECK_EQ(base64_encode("abc", 3, enc, 4), DF_ERR);
	for (int n = 0; n < 40; n++) { /* round trips, padded and not */
		uint8_t in[40];
		for (int i = 0; i < n; i++)
			in[i] = (uint8_t)(i * 37 + n);
		int el = base64_encode(in, (size_t)n, enc, sizeof enc);
		CHECK(el >= 0);
		CHECK_EQ(base64_decode(enc, (size_t)el, dec, sizeof dec), n);
		CHECK(memcmp(in, dec, (size_t)n) == 0);
		while (el > 0 && enc[el - 1] == '=')
			el--;
		CHECK_EQ(base64_decode(enc, (size_t)el, dec, sizeof dec), n);
	}
	const char *bad[] = {"A", "AB=", "A===", "AB=C", "YW I=", "YW\nI=", "YWJ", "YWJj\x80", "YWI==", "YQ=x", "YR==", "YWK="};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++)
		if (base64_decode(bad[i], strlen(bad[i]), dec, sizeof dec) != DF_ERR) {
			fprintf(stderr, "    accepted: %s\n", bad[i]);
			CHECK(0);
		}
	CHECK_EQ(base64_decode("YWJj", 4, dec, 2), DF_ERR); /* does not fit */
}

static const struct unit_test tests[] = {
	{"grammar", grammar}, {"structure", structure}, {"strings_and_numbers", strings_and_numbers}, {"limits", limits}, {"base64", base64},
};
UNIT_MAIN("json", tests)
