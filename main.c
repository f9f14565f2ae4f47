/* df's entry point: the busybox-style table of commands and the dispatch, nothing else.
 * `df CMD ...` runs CMD; a link named dfCMD (dfget) runs CMD too. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/daemon.h"
#include "core/config.h"
#include "core/fdlimit.h"
#include "core/log.h"
#include "df_deps_versions.h"

static const struct cmd_desc *const commands[] = {
#define DF_CMD_DECLARE(n) &cmd_##n,
#include "cmd/cmds.h"
#undef DF_CMD_DECLARE
};

static const struct cmd_desc *find_cmd(const char *name)
{
	for (size_t i = 0; i < DF_ARRAY_LEN(commands); i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static void list_commands(FILE *f)
{
	fprintf(f, "Usage: df COMMAND [OPTIONS] [ARGS]\n\n"
		   "df distributes one file to many hosts peer to peer: a supernode fetches it from its source\n"
		   "once and schedules which peer fetches which piece from which other peer.\n\nCommands:\n");
	for (size_t i = 0; i < DF_ARRAY_LEN(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\n'df COMMAND --help' shows a command's options; 'df --version' the versions.\n"
		   "A link to df named dfCOMMAND (e.g. dfget) runs that command.\n");
}

static void print_version(void)
{
	printf("df %s\nlibev %s, BearSSL %s, xxHash %s, inih %s (Debian source versions), musl libc\n", DF_VERSION,
	       DF_LIBEV_VERSION, DF_BEARSSL_VERSION, DF_XXHASH_VERSION, DF_LIBINIH_VERSION);
}

static int run_cmd(const struct cmd_desc *c, int argc, char **argv)
{
	struct df_config cfg;
	struct opt_result r;
	struct daemon_ctx ctx = {.df = {.cfg = &cfg, .cmd = c->name, .desc = c, .argc = argc, .argv = argv}};
	struct df *df = &ctx.df;
	char err[512];
	int rc;
	config_init(&cfg);
	if (opt_parse(argc, argv, c->sections, c->opts, c->nopts, &cfg, &r, err, sizeof err) != DF_OK) {
		config_free(&cfg);
		return cmd_usage(c->name, "%s", err);
	}
	if (r.help) {
		opt_print_help(stdout, c->name, c->synopsis, c->summary, c->sections, c->opts, c->nopts);
		rc = DF_EXIT_OK;
	} else {
		rc = cmd_check_args(c, &r);
		if (rc == DF_EXIT_OK)
			rc = cmd_check_listens(c, &cfg);
		if (rc == DF_EXIT_OK)
			rc = c->run(df, &r);
	}
	opt_result_free(&r);
	config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	const char *self = argv[0] ? strrchr(argv[0], '/') : NULL;
	self = self ? self + 1 : (argv[0] ? argv[0] : "df");
	/* A peer that vanishes mid-write must fail that write, not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	/* long-lived tables of open files size themselves from the limit (core/fdlimit.h) */
	fd_limit_raise();

	if (strncmp(self, DF_LIT("df")) == 0 && self[2]) {
		const struct cmd_desc *c = find_cmd(self + 2);
		if (c)
			return run_cmd(c, argc, argv);
	}
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		if (argc >= 3 && strcmp(argv[1], "help") == 0) {
			const struct cmd_desc *c = find_cmd(argv[2]);
			if (!c) {
				fprintf(stderr, "df: help: unknown command '%s'\nTry 'df help'.\n", argv[2]);
				return DF_EXIT_USAGE;
			}
			opt_print_help(stdout, c->name, c->synopsis, c->summary, c->sections, c->opts, c->nopts);
			return DF_EXIT_OK;
		}
		list_commands(stdout);
		return DF_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		print_version();
		return DF_EXIT_OK;
	}
	const struct cmd_desc *c = find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "df: unknown command '%s'\nTry 'df help'.\n", argv[1]);
		return DF_EXIT_USAGE;
	}
	return run_cmd(c, argc - 1, argv + 1);
}
