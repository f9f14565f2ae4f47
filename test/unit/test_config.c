/* Unit tests of core/config and core/opt: defaults, file loading with errors that name file, line
 * and key, flag precedence over the file, and flag parsing corner cases. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/df.h"
#include "core/opt.h"
#include "test/unit/unit.h"

static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", unit_tmpdir(), name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void defaults(void)
{
	struct df_config c;
	config_init(&c);
	CHECK_STR(c.supernode_listen, ":8002");
	CHECK_EQ(c.supernode_piece_size, 0);
	CHECK_EQ(c.get_seed_idle, 300);
	CHECK_EQ(c.get_back_to_source, 1);
	config_free(&c);
}

static void sizes(void)
{
	uint64_t v;
	CHECK(config_parse_size("10", &v) == DF_OK && v == 10);
	CHECK(config_parse_size("4k", &v) == DF_OK && v == 4096);
	CHECK(config_parse_size("2M", &v) == DF_OK && v == 2u << 20);
	CHECK(config_parse_size("1G", &v) == DF_OK && v == 1u << 30);
	CHECK(config_parse_size("3MB", &v) == DF_OK && v == 3u << 20);
	CHECK(config_parse_size("", &v) == DF_ERR);
	CHECK(config_parse_size("-1", &v) == DF_ERR);
	CHECK(config_parse_size("5x", &v) == DF_ERR);
	CHECK(config_parse_size("99999999999999999999T", &v) == DF_ERR);
}

static void quotas(void)
{
	uint64_t b;
	unsigned pct;
	CHECK(config_parse_quota("", &b, &pct) == DF_OK && b == 0 && pct == 0);
	CHECK(config_parse_quota("0", &b, &pct) == DF_OK && b == 0 && pct == 0);
	CHECK(config_parse_quota("200G", &b, &pct) == DF_OK && b == 200ull << 30 && pct == 0);
	CHECK(config_parse_quota("80%", &b, &pct) == DF_OK && b == 0 && pct == 80);
	CHECK(config_parse_quota("100%", &b, &pct) == DF_OK && pct == 100);
	CHECK(config_parse_quota("1%", &b, &pct) == DF_OK && pct == 1);
	const char *bad[] = {
		"%", "0%", "101%", "1000%", "-5%", "5.5%", "x%", "80 %", "12q", "-1", "99999999999999999999%"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(config_parse_quota(bad[i], &b, &pct) == DF_ERR);
	struct df_config c;
	char err[256];
	config_init(&c);
	CHECK(config_set(&c, config_find("store", "quota"), "150%", err, sizeof err) == DF_ERR &&
	      strstr(err, "150%") != NULL);
	CHECK(config_set(&c, config_find("store", "quota"), "1T", err, sizeof err) == DF_OK &&
	      strcmp(c.store_quota, "1T") == 0);
	config_free(&c);
}

static void supernode_lists(void)
{
	struct df_config c;
	char err[256], long_name[200];
	const struct config_key *k = config_find("get", "supernode");
	config_init(&c);
	CHECK(config_set(&c, k, "a:1,b:2, c:3 d:4,e:5,f:6,g:7,h:8", err, sizeof err) == DF_OK);
	CHECK(config_set(&c, k, "a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9", err, sizeof err) == DF_ERR &&
	      strstr(err, "at most 8"));
	CHECK(strcmp(c.get_supernode, "a:1,b:2, c:3 d:4,e:5,f:6,g:7,h:8") == 0); /* a refused value changes nothing */
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = 0;
	CHECK(config_set(&c, k, long_name, err, sizeof err) == DF_ERR && strstr(err, "longer than 127"));
	CHECK(config_set(&c, k, ",, ,", err, sizeof err) == DF_OK);
	/* each one HOST:PORT: a typo must stop the command, not send every host to the source */
	static const char *const bad[] = {
		"sn1",           "sn1:",       "sn1:xx",
		"sn1:0",         "sn1:65536",  ":8002",
		"sn1:80x",       "a:1,sn1",    "http://sn1:8002",
		"sn1:8002/x",    "[::1]",      "[::1:8002",
		"user@sn1:8002", "sn 1:8002x", "[fe80::1%eth0]:8002" /* a zone: the URL parser takes none */};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = 0;
		CHECK(config_set(&c, k, bad[i], err, sizeof err) == DF_ERR);
		CHECK(strstr(err, "HOST:PORT") != NULL);
	}
	static const char *const good[] = {"sn1:8002", "10.0.0.1:1", "[::1]:8002", "[fe80::1]:65535",
					   "sn-a.df.svc.cluster.local:8002,sn_b:9"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		CHECK(config_set(&c, k, good[i], err, sizeof err) == DF_OK);
	/* [supernode] parent is the same kind of list (the peer engine takes it as its supernodes) */
	k = config_find("supernode", "parent");
	CHECK(config_set(&c, k, "a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9", err, sizeof err) == DF_ERR &&
	      strstr(err, "at most 8"));
	CHECK(config_set(&c, k, long_name, err, sizeof err) == DF_ERR && strstr(err, "longer than 127"));
	CHECK(config_set(&c, k, "p1:8002,p2:8002", err, sizeof err) == DF_OK &&
	      strcmp(c.supernode_parent, "p1:8002,p2:8002") == 0);
	config_free(&c);
}

static void file_ok(void)
{
	struct df_config c;
	char err[256];
	config_init(&c);
	const char *p = write_file(
		"ok.conf", "; comment\n[get]\nseed_idle = 12\nlimit_rate = 1M\n\n[supernode]\nlisten = 127.0.0.1:9\n");
	CHECK_EQ(config_load_file(&c, p, err, sizeof err), DF_OK);
	CHECK_EQ(c.get_seed_idle, 12);
	CHECK_EQ(c.get_limit_rate, 1u << 20);
	CHECK_STR(c.supernode_listen, "127.0.0.1:9");
	config_free(&c);
}

static void file_errors(void)
{
	struct df_config c;
	char err[512];
	config_init(&c);
	const char *p = write_file("bad1.conf", "[get]\nseed_idle = 1\nnope = 2\n");
	CHECK_EQ(config_load_file(&c, p, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "bad1.conf:3:") != NULL);
	CHECK(strstr(err, "nope") != NULL);
	p = write_file("bad2.conf", "[get]\nseed_idle = soon\n");
	CHECK_EQ(config_load_file(&c, p, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "bad2.conf:2:") && strstr(err, "seed_idle") && strstr(err, "soon"));
	p = write_file("bad3.conf", "\n\n[martian]\nx = 1\n");
	CHECK_EQ(config_load_file(&c, p, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "bad3.conf:3:") && strstr(err, "martian"));
	p = write_file("bad4.conf", "[get\n");
	CHECK_EQ(config_load_file(&c, p, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "bad4.conf:1:") != NULL);
	CHECK_EQ(config_load_file(&c, "/nonexistent/df.conf", err, sizeof err), DF_ERR);
	CHECK(strstr(err, "/nonexistent/df.conf") && strstr(err, "No such file"));
	config_free(&c);
}

static const struct opt_spec specs[] = {
	{"output", 'O', 1, 1, "FILE", "out"},
	{"header", 0, 1, 2, "H", "hdr"},
	{"flag", 'f', 0, 3, NULL, "a flag"},
};
static const char *const secs[] = {"get", NULL};

static int parse(struct df_config *c, struct opt_result *r, char *err, int argc, ...)
{
	char *argv[32];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	return opt_parse(argc, argv, secs, specs, 3, c, r, err, 256);
}

static void precedence(void)
{
	struct df_config c;
	struct opt_result r;
	char err[256];
	const char *p = write_file("prec.conf", "[get]\nseed_idle = 12\ntimeout = 7\n");
	char cfgarg[600];
	snprintf(cfgarg, sizeof cfgarg, "--config=%s", p);
	config_init(&c);
	/* default < file < flag */
	CHECK_EQ(parse(&c, &r, err, 4, "get", cfgarg, "--seed-idle", "99"), DF_OK);
	CHECK_EQ(c.get_seed_idle, 99);
	CHECK_EQ(c.get_timeout, 7);
	CHECK_EQ(c.get_limit_rate, 0);
	opt_result_free(&r);
	config_free(&c);
}

static void flags(void)
{
	struct df_config c;
	struct opt_result r;
	char err[256];
	setenv("DF_CONFIG", "", 1);
	config_init(&c);
	CHECK_EQ(parse(&c, &r, err, 7, "get", "-fOout", "URL", "--header", "A: b", "--no-back-to-source",
		       "--limit-rate=2k"),
		 DF_OK);
	CHECK_EQ(r.nargs, 1);
	CHECK_STR(r.args[0], "URL");
	CHECK_EQ(r.nvals, 3);
	CHECK_EQ(r.vals[0].id, 3);
	CHECK_EQ(r.vals[1].id, 1);
	CHECK_STR(r.vals[1].arg, "out");
	CHECK_STR(r.vals[2].arg, "A: b");
	CHECK_EQ(c.get_back_to_source, 0);
	CHECK_EQ(c.get_limit_rate, 2048);
	opt_result_free(&r);
	CHECK_EQ(parse(&c, &r, err, 2, "get", "--bogus"), DF_ERR);
	CHECK(strstr(err, "--bogus") != NULL);
	CHECK_EQ(parse(&c, &r, err, 2, "get", "-Z"), DF_ERR);
	CHECK(strstr(err, "-Z") != NULL);
	CHECK_EQ(parse(&c, &r, err, 2, "get", "-O"), DF_ERR);
	CHECK(strstr(err, "needs an argument") != NULL);
	CHECK_EQ(parse(&c, &r, err, 3, "get", "--seed-idle", "x"), DF_ERR);
	CHECK(strstr(err, "seed-idle") != NULL);
	/* a key of a section the command does not read is not a flag */
	CHECK_EQ(parse(&c, &r, err, 3, "get", "--piece-size", "1M"), DF_ERR);
	CHECK_EQ(parse(&c, &r, err, 4, "get", "--", "--flag", "-x"), DF_OK);
	CHECK_EQ(r.nargs, 2);
	opt_result_free(&r);
	config_free(&c);
}

static void every_default_parses(void)
{
	/* config_init aborts on a bad default; also each key's section must be a known one */
	for (size_t i = 0; i < config_nkeys; i++) {
		int known = 0;
		for (size_t j = 0; config_sections[j]; j++)
			known |= strcmp(config_sections[j], config_keys[i].section) == 0;
		CHECK(known);
	}
}

static const struct unit_test tests[] = {
	{"defaults", defaults},
	{"sizes", sizes},
	{"quotas", quotas},
	{"supernode_lists", supernode_lists},
	{"file_ok", file_ok},
	{"file_errors", file_errors},
	{"precedence", precedence},
	{"flags", flags},
	{"every_default_parses", every_default_parses},
};
UNIT_MAIN("config", tests)
