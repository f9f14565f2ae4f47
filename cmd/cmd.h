/* What every command file exports: one descriptor row for main.c's table.
 * A command parses its flags with opt_parse from its own table, then calls into core/, net/, store/. */
#ifndef DF_CMD_H
#define DF_CMD_H

#include "core/df.h"
#include "core/opt.h"

struct cmd_desc {
	const char *name;
	const char *summary;         /* one line for `df help` */
	const char *synopsis;        /* after "df NAME" in the usage line */
	const char *const *sections; /* config sections read besides [common], NULL-terminated */
	const struct opt_spec *opts;
	int nopts;
	/* Positional arguments: main.c refuses fewer than min_args or more than max_args before run,
	 * naming the first missing one (arg_name, e.g. "URL") or the first one too many. */
	int min_args, max_args;
	const char *arg_name;
	/* Runs the command after opt_parse succeeded; returns a process exit code (enum df_exit). */
	int (*run)(struct df *df, struct opt_result *r);
};

/* Prints "df: CMD: MESSAGE" and "Try 'df CMD --help'." to stderr; returns DF_EXIT_USAGE, the exit
 * code of every usage error. */
int cmd_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* DF_EXIT_OK when r's positional arguments fit c (min_args..max_args), else cmd_usage's code after
 * saying which is missing or which is one too many. */
int cmd_check_args(const struct cmd_desc *c, const struct opt_result *r);
struct df_config;
/* Every listen address of the configuration parses ([ADDR]:PORT); else the usage error, printed. */
int cmd_check_listens(const struct cmd_desc *c, const struct df_config *cfg);

/* The list of commands, in the order `df help` shows them: edit cmd/cmds.h to add one. */
#define DF_CMD_DECLARE(n) extern const struct cmd_desc cmd_##n;
#include "cmd/cmds.h"
#undef DF_CMD_DECLARE

#endif
