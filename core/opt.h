/* Command-line parsing for every command, from the command's own option table plus the config keys
 * of the sections it reads (each key is the flag --key-name), so --help cannot drift from the flags. */
#ifndef DF_OPT_H
#define DF_OPT_H

#include <stdio.h>

#include "core/config.h"

struct opt_spec {
	const char *name; /* long name without "--" */
	char short_name;  /* 0 when none */
	int takes_arg;
	int id; /* the command's own id, returned in opt_value */
	const char *metavar;
	const char *help;
};

struct opt_value {
	int id;
	const char *arg; /* NULL for a flag without argument */
};

struct opt_result {
	struct opt_value *vals; /* command options in the order given; caller frees with opt_result_free */
	int nvals;
	char **args; /* positional arguments (pointers into argv) */
	int nargs;
	int help; /* --help or -h was given */
};

enum { OPT_HELP_ID = -100 };

/* Parses argv[1..argc) for command `cmd`. Config keys of [common] and of each section in `sections`
 * (NULL-terminated) are accepted as flags and written into cfg, after the config file picked by
 * --config/$DF_CONFIG//etc/df/df.conf is loaded, so flags win over the file; $DF_TOKEN sets the
 * cluster token between the two (and --token on argv sets cfg->token_argv). Global flags: --config,
 * -q (log level error), --log-level, -h/--help. "--" ends options.
 * Returns DF_OK, or DF_ERR with a one-line message in err (unknown flag, missing argument, bad value,
 * config file error); the caller exits with code 2 then. */
int opt_parse(int argc, char **argv, const char *const *sections, const struct opt_spec *specs, int nspecs,
	      struct df_config *cfg, struct opt_result *out, char *err, size_t errlen);
void opt_result_free(struct opt_result *r);

/* Prints "Usage: df CMD SYNOPSIS", the summary, the command's options and its config flags. */
void opt_print_help(FILE *f, const char *cmd, const char *synopsis, const char *summary, const char *const *sections,
		    const struct opt_spec *specs, int nspecs);

#endif
