/* Unit tests of pusher_host_parse: the lines of a df push group file (and --host). A line that is
 * no host was dialed anyway ("http://x:3" became "http://x:3:65002", resolving "http"). */
#include <string.h>

#include "core/df.h"
#include "swarm/pusher.h"
#include "test/unit/unit.h"

static int parse(const char *line, char *out)
{
	return pusher_host_parse(line, strlen(line), out, 256);
}

static void good(void)
{
	char out[256];
	static const char *const cases[][2] = {
		{"h1", "h1:65002"},
		{"  h1:8  \r", "h1:8"},
		{"10.0.0.1", "10.0.0.1:65002"},
		{"10.0.0.1:65535", "10.0.0.1:65535"},
		{"host-a.example_b.com:1", "host-a.example_b.com:1"},
		{"[::1]:65002", "[::1]:65002"},
		{"[fe80::1]", "[fe80::1]:65002"},
		{"fe80::1", "[fe80::1]:65002"},
		{"::ffff:10.0.0.1", "[::ffff:10.0.0.1]:65002"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		out[0] = 0;
		CHECK_EQ(parse(cases[i][0], out), DF_OK);
		CHECK_STR(out, cases[i][1]);
	}
	CHECK_EQ(parse("", out), DF_AGAIN);
	CHECK_EQ(parse("   \t", out), DF_AGAIN);
	CHECK_EQ(parse("# a comment", out), DF_AGAIN);
}

static void bad(void)
{
	char out[256];
	static const char *const cases[] = {"http://x:3", "user@h1",   "h1:",      "h1:0",   "h1:65536", "h1:8x",
					    ":8",         "h 1",       "h1:8 h2",  "[::1",   "[]:8",     "[::1]x",
					    "[::1]:",     "[::g]:8",   "h1/path",  "fe80::g", "h1;rm",   "h1:123456"};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK_EQ(parse(cases[i], out), DF_ERR);
	char long_name[300];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = 0;
	CHECK_EQ(parse(long_name, out), DF_ERR); /* does not fit a host's name */
}

static const struct unit_test tests[] = {
	{"good", good},
	{"bad", bad},
};
UNIT_MAIN("pusher_host", tests)
