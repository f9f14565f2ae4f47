/* What every command shares besides cmd/daemon.c's set-up: the usage error and the count of
 * positional arguments its descriptor states (cmd/cmd.h). */
#include <stdarg.h>
#include <stdio.h>

#include "cmd/cmd.h"

int cmd_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "df: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'df %s --help'.\n", cmd);
	return DF_EXIT_USAGE;
}

int cmd_check_args(const struct cmd_desc *c, const struct opt_result *r)
{
	const char *what = c->arg_name ? c->arg_name : "argument";
	if (r->nargs < c->min_args)
		return cmd_usage(c->name, "missing %s", what);
	if (r->nargs > c->max_args && c->max_args == 0)
		return cmd_usage(c->name, "unexpected argument '%s'", r->args[0]);
	if (r->nargs > c->max_args && c->max_args == 1)
		return cmd_usage(c->name, "takes one %s, got also '%s'", what, r->args[1]);
	if (r->nargs > c->max_args)
		return cmd_usage(c->name, "takes at most %d %ss, got also '%s'", c->max_args, what,
				 r->args[c->max_args]);
	return DF_EXIT_OK;
}
