/* What every command shares besides cmd/daemon.c's set-up: the usage error and the count of
 * positional arguments its descriptor states (cmd/cmd.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/config.h"
#include "net/loop.h"

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

int cmd_check_listens(const struct cmd_desc *c, const struct df_config *cfg)
{
	/* parsed here, before anything starts: a typo is a usage error (exit 2) naming the setting,
	 * not a failure to listen found after the store opened (exit 1) */
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{"[supernode] listen", offsetof(struct df_config, supernode_listen)},
		{"[supernode] metrics_listen", offsetof(struct df_config, supernode_metrics_listen)},
		{"[get] peer_listen", offsetof(struct df_config, get_peer_listen)},
		{"[proxy] listen", offsetof(struct df_config, proxy_listen)},
		{"[proxy] metrics_listen", offsetof(struct df_config, proxy_metrics_listen)},
		{"[proxy] push_listen", offsetof(struct df_config, proxy_push_listen)},
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = *(const char *const *)((const char *)cfg + keys[i].off);
		struct addr a;
		char err[320];
		if (v && v[0] && addr_parse(v, &a, err, sizeof err) != DF_OK)
			return cmd_usage(c->name, "%s: %s", keys[i].name, err);
	}
	return DF_EXIT_OK;
}
