/* `df gc`: applies [store] quota and max_idle to a store once, for hosts without a daemon that
 * would (supernode, df proxy and seeders run the same GC by themselves). Tasks another process
 * holds open are left alone; files the store does not own are never touched. */
#include <stdio.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "cmd/daemon.h"
#include "core/config.h"
#include "core/log.h"
#include "core/progress.h"
#include "store/store.h"
#include "swarm/storegc.h"

enum { OPT_DRY_RUN = 1 };

static const struct opt_spec opts[] = {
	{"dry-run", 'n', 0, OPT_DRY_RUN, NULL, "say what would be evicted, delete nothing"},
};
static const char *const sections[] = {"store", NULL};

static int run(struct df *df, struct opt_result *r)
{
	char err[512], used[32], quota[32], freed[32];
	int dry = 0;
	for (int i = 0; i < r->nvals; i++)
		if (r->vals[i].id == OPT_DRY_RUN)
			dry = 1;
	/* only a store that is there: opening one makes it, and a typo in --data made a new, empty
	 * store (and its parent folders) and reported it clean */
	char root[4096], tasks[4200];
	struct stat st;
	const char *dir = df->cfg->common_data[0]                          ? df->cfg->common_data
			  : store_default_root(root, sizeof root) == DF_OK ? root
									   : "";
	snprintf(tasks, sizeof tasks, "%s/tasks", dir);
	if (dir[0] && (stat(tasks, &st) != 0 || !S_ISDIR(st.st_mode))) {
		log_user_error("gc", "%s: no df store there (no tasks/ folder)", dir);
		return DF_EXIT_USAGE;
	}
	if (daemon_open_store(df) != DF_OK)
		return DF_EXIT_FAIL;
	struct storegc gc;
	struct store_gc_result res;
	int rc = DF_EXIT_FAIL;
	if (storegc_init(&gc, NULL, df->store, df->cfg->store_quota, (uint64_t)df->cfg->store_max_idle, err,
			 sizeof err) != DF_OK) {
		log_user_error("gc", "%s", err);
		rc = DF_EXIT_USAGE;
		goto out;
	}
	if (storegc_run(&gc, dry, &res) != DF_OK) {
		log_user_error("gc", "%s: store GC failed (see above)", store_root(df->store));
		goto out;
	}
	progress_size(res.used_bytes, used, sizeof used);
	progress_size(gc.quota, quota, sizeof quota);
	progress_size(res.freed_bytes, freed, sizeof freed);
	printf("%s: %s %u task%s (%s); the store %s %s%s%s\n", store_root(df->store), dry ? "would evict" : "evicted",
	       res.evicted, res.evicted == 1 ? "" : "s", freed, dry ? "would then take" : "takes", used,
	       gc.quota ? " of a quota of " : " (no quota)", gc.quota ? quota : "");
	if (res.busy)
		printf("%u task%s in use by a running df left alone\n", res.busy, res.busy == 1 ? "" : "s");
	rc = DF_EXIT_OK;
out:
	daemon_close(df);
	return rc;
}

const struct cmd_desc cmd_gc = {
	.name = "gc",
	.summary = "evict tasks past [store] quota or max_idle from a store (the daemons do it by themselves)",
	.synopsis = "[--data DIR] [--dry-run] [--quota SIZE|PCT%] [--max-idle SECONDS]",
	.sections = sections,
	.opts = opts,
	.nopts = (int)DF_ARRAY_LEN(opts),
	.min_args = 0,
	.max_args = 0,
	.run = run,
};
