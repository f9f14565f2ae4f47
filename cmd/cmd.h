/* What every command file exports: one descriptor row for main.c's table.
 * A command parses its flags with opt_parse from its own table, then calls into core/, net/, store/. */
#ifndef DF_CMD_H
#define DF_CMD_H

#include "core/df.h"
#include "core/opt.h"

struct cmd_desc {
	const char *name;
	const char *summary;  /* one line for `df help` */
	const char *synopsis; /* after "df NAME" in the usage line */
	const char *const *sections; /* config sections read besides [common], NULL-terminated */
	const struct opt_spec *opts;
	int nopts;
	/* Runs the command after opt_parse succeeded; returns a process exit code (enum df_exit). */
	int (*run)(struct df *df, struct opt_result *r);
};

/* The list of commands, in the order `df help` shows them: edit cmd/cmds.h to add one. */
#define DF_CMD_DECLARE(n) extern const struct cmd_desc cmd_##n;
#include "cmd/cmds.h"
#undef DF_CMD_DECLARE

#endif
