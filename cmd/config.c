/* `df config`: prints the effective configuration after file and flags, or the reference docs.
 * Lets an operator see what df will actually use, and generates docs/config.md. */
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/config.h"

enum { OPT_DOC = 1 };

static const struct opt_spec opts[] = {
	{"doc", 0, 0, OPT_DOC, NULL, "print the configuration reference (docs/config.md) instead"},
};
/* only [common] and [security]: other sections share key names (listen), which would make flags ambiguous */
static const char *const sections[] = {"security", NULL};

static int run(struct df *df, struct opt_result *r)
{
	for (int i = 0; i < r->nvals; i++)
		if (r->vals[i].id == OPT_DOC) {
			config_print_doc(stdout);
			return DF_EXIT_OK;
		}
	config_print_ini(df->cfg, stdout);
	return DF_EXIT_OK;
}

const struct cmd_desc cmd_config = {
	.name = "config",
	.summary = "print the effective configuration (defaults, file, flags)",
	.synopsis = "[--doc] [SETTINGS...]",
	.sections = sections,
	.opts = opts,
	.nopts = (int)DF_ARRAY_LEN(opts),
	.min_args = 0,
	.max_args = 0,
	.run = run,
};
