/* `df supernode`: the passive CDN and scheduler. Opens the store, listens, runs the loop until
 * SIGINT/SIGTERM, then stops gracefully. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/daemon.h"
#include "core/config.h"
#include "core/hostrate.h"
#include "core/log.h"
#include "core/proto.h"
#include "store/store.h"
#include "swarm/supernode.h"

static const char *const sections[] = {"supernode", "store", "security", NULL};

struct sn_run {
	struct ev_loop *loop;
	struct http_server *srv;
	struct http_server *metrics; /* [supernode] metrics_listen, or NULL */
	struct loop_signals sig;
};

static void stopped(struct http_server *s, void *ctx)
{
	(void)s;
	struct sn_run *r = ctx;
	ev_break(r->loop, EVBREAK_ALL);
}

static void on_stop(struct loop_signals *s, int signum, int count, void *ctx)
{
	(void)s;
	struct sn_run *r = ctx;
	log_info("signal %d: stopping%s", signum, count > 1 ? " now" : "");
	if (count > 1)
		ev_break(r->loop, EVBREAK_ALL);
	else
		http_server_shutdown(r->srv, 5.0, stopped, r);
}

/* The settings no single config key can check; the scheduler's into *schc. DF_ERR after saying why. */
static int check_config(const struct df_config *c, struct sched_config *schc)
{
	char err[512];
	if (c->supernode_piece_size &&
	    (c->supernode_piece_size < PROTO_PIECE_SIZE_MIN || c->supernode_piece_size > PROTO_PIECE_SIZE_MAX)) {
		log_user_error("supernode", "--piece-size %llu: must be 0 (auto) or between 16k and 256M",
			       (unsigned long long)c->supernode_piece_size);
		return DF_ERR;
	}
	if (c->supernode_source_streams < 1 || c->supernode_source_streams > 16) {
		log_user_error("supernode", "--source-streams %lld: must be 1 to 16", c->supernode_source_streams);
		return DF_ERR;
	}
	if (c->supernode_task_idle < 0) {
		log_user_error("supernode", "--task-idle %lld: must be 0 (never) or more seconds",
			       c->supernode_task_idle);
		return DF_ERR;
	}
	if (sched_config_from(schc, c, err, sizeof err) != DF_OK) {
		log_user_error("supernode", "%s", err);
		return DF_ERR;
	}
	return DF_OK;
}

static int run(struct df *df, struct opt_result *r)
{
	struct df_config *c = df->cfg;
	char err[512];
	int rc = DF_EXIT_FAIL;
	struct sn_run run = {0};
	struct http_client *client = NULL, *cluster_client = NULL, *parent_client = NULL;
	struct supernode *sn = NULL;
	struct sched_config schc;
	(void)r; /* no arguments (cmd_supernode.max_args) and no flags of its own */
	if (check_config(c, &schc) != DF_OK)
		return DF_EXIT_USAGE;
	log_set_daemon(1);
	if (daemon_token(df, 1) != DF_OK)
		return DF_EXIT_USAGE;
	int tls = daemon_cluster_tls(df);
	if (tls < 0)
		return DF_EXIT_USAGE;
	if (daemon_open_store(df) != DF_OK)
		return DF_EXIT_FAIL;
	run.loop = ev_default_loop(0);
	struct http_server_cfg scfg = {.name = "df/" DF_VERSION};
	daemon_server_cfg(df, &scfg);
	run.srv = http_server_new(run.loop, &scfg);
	if (!run.srv || http_server_listen(run.srv, c->supernode_listen, err, sizeof err) != DF_OK) {
		log_user_error("supernode", "%s", run.srv ? err : "out of memory");
		goto out;
	}
	/* the host's source cap, chained to its download cap */
	client = daemon_client(df, run.loop, df->rates ? &df->rates->lim[HOSTRATE_SOURCE] : NULL, 0);
	/* df push's file server is a cluster listener: dialled like a peer (TLS identity, token) */
	cluster_client = tls ? daemon_cluster_client(df, run.loop, NULL, 0) : NULL;
	/* the parent site is dialled as a peer dials its supernode; its bytes count as downloads, not
	 * as the source's */
	if (c->supernode_parent[0])
		parent_client = tls ? daemon_cluster_client(df, run.loop, daemon_rx(df, NULL), 0)
				    : daemon_client(df, run.loop, daemon_rx(df, NULL), 0);
	if (!client || (tls && !cluster_client) || (c->supernode_parent[0] && !parent_client))
		goto out;
	struct storegc gc;
	if (storegc_init(&gc, run.loop, df->store, c->store_quota, (uint64_t)c->store_max_idle, err, sizeof err) !=
	    DF_OK) {
		log_user_error("supernode", "%s", err);
		goto out;
	}
	struct supernode_cfg sc = {
		.loop = run.loop,
		.store = df->store,
		.server = run.srv,
		.client = client,
		.cluster_client = cluster_client ? cluster_client : client,
		.token = c->security_token,
		.piece_size = (uint32_t)c->supernode_piece_size,
		.source_streams = (int)c->supernode_source_streams,
		.sched = schc,
		.rates = df->rates,
		.credential_cache = (double)c->supernode_credential_cache,
		.task_idle = (double)c->supernode_task_idle,
		.piece_digest = (enum digest_piece_algo)digest_piece_algo_parse(c->security_piece_digest),
		.gc = &gc,
		.parents = c->supernode_parent,
		.parent_client = parent_client,
		.cluster_tls = tls,
		.parent_retry = (double)c->supernode_parent_retry,
	};
	sn = supernode_new(&sc, err, sizeof err);
	if (!sn) {
		log_user_error("supernode", "%s", err);
		goto out;
	}
	if (c->supernode_metrics_listen[0]) {
		struct http_server_cfg mcfg = {.name = "df/" DF_VERSION};
		run.metrics = http_server_new(run.loop, &mcfg);
		if (!run.metrics ||
		    http_server_listen(run.metrics, c->supernode_metrics_listen, err, sizeof err) != DF_OK ||
		    supernode_route_metrics(sn, run.metrics) != DF_OK) {
			log_user_error("supernode", "metrics listener: %s", run.metrics ? err : "out of memory");
			goto out;
		}
	}
	storegc_start(&gc, storegc_interval(gc.max_idle));
	loop_signals_start(run.loop, &run.sig, on_stop, &run);
	if (daemon_live_start(df, run.loop, NULL, NULL) != DF_OK) {
		log_user_error("supernode", "out of memory");
		goto out;
	}
	log_info("supernode listening on %s (port %u%s, %s piece checksums), store %s%s%s", c->supernode_listen,
		 http_server_port(run.srv), tls ? ", TLS" : "", c->security_piece_digest, store_root(df->store),
		 c->supernode_parent[0] ? ", parent site through " : "", c->supernode_parent);
	ev_run(run.loop, 0);
	rc = DF_EXIT_OK;
	storegc_stop(&gc);
	loop_signals_stop(run.loop, &run.sig);
out:
	if (run.metrics)
		http_server_free(run.metrics);
	supernode_free(sn);
	if (client)
		http_client_free(client);
	if (cluster_client)
		http_client_free(cluster_client);
	if (parent_client)
		http_client_free(parent_client);
	if (run.srv)
		http_server_free(run.srv);
	daemon_close(df);
	return rc;
}

const struct cmd_desc cmd_supernode = {
	.name = "supernode",
	.summary = "run a supernode: back-to-source once, seed pieces, schedule peers",
	.synopsis = "[--listen [ADDR]:PORT] [--data DIR] [OPTIONS]",
	.sections = sections,
	.min_args = 0,
	.max_args = 0,
	.run = run,
};
