/* Set-up shared by supernode, get and (later) proxy: store, client, token. Runs before the loop,
 * so failures print one line and the command exits (the first error tier). */
#include "cmd/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/config.h"
#include "core/hostrate.h"
#include "core/log.h"
#include "core/monotime.h"
#include "net/tls.h"
#include "store/store.h"
#include <stdlib.h>

static struct daemon_ctx *ctx_of(struct df *df)
{
	return DF_CONTAINER_OF(df, struct daemon_ctx, df);
}

struct daemon_live {
	struct df *df;
	struct ev_loop *loop;
	ev_signal hup;
	ev_timer tick;
	void (*on_reload)(struct df *df, void *ctx);
	void *ctx;
};

/* The host's rate caps, written into the shared rates file: every process of the host sees them at
 * its next grant. Only a supernode sets the source cap (a df get there reads the same file anyway). */
static void write_caps(struct df *df)
{
	if (!df->rates)
		return;
	hostrate_set(df->rates, HOSTRATE_UP, df->cfg->common_upload_rate);
	hostrate_set(df->rates, HOSTRATE_DOWN, df->cfg->common_download_rate);
	if (strcmp(df->cmd, "supernode") == 0)
		hostrate_set(df->rates, HOSTRATE_SOURCE, df->cfg->supernode_source_rate);
}

static void open_rates(struct df *df)
{
	char path[4200], err[4400];
	snprintf(path, sizeof path, "%s/rates", store_root(df->store));
	df->rates = malloc(sizeof *df->rates);
	if (!df->rates || hostrate_open(df->rates, path, err, sizeof err) != DF_OK) {
		/* the process still works, limited by its own flags only */
		log_warn("host-wide rate caps off: %s", df->rates ? err : "out of memory");
		free(df->rates);
		df->rates = NULL;
		return;
	}
	write_caps(df);
}

int daemon_open_store(struct df *df)
{
	char root[4096], err[512];
	const char *dir = df->cfg->common_data;
	if (!dir[0]) {
		if (store_default_root(root, sizeof root) != DF_OK) {
			log_user_error(df->cmd, "no store directory: set --data DIR (%s)", strerror(errno));
			return DF_ERR;
		}
		dir = root;
	}
	df->store = store_open(dir, err, sizeof err);
	if (!df->store) {
		int denied = errno == EACCES || errno == EROFS || errno == EPERM;
		/* the default place is not this user's to write: say where else the store can go */
		log_user_error(df->cmd, "%s%s", err,
			       denied && !df->cfg->common_data[0] ? " (give --data DIR, a folder this user may write)"
								  : "");
		return DF_ERR;
	}
	open_rates(df);
	return DF_OK;
}

/* TLS for https sources, loaded on the first https connection: most runs never need the bundle. */
struct daemon_tls {
	const char *cafile;
	int insecure, failed;
	struct tls_client_cfg *cfg;
	/* cluster TLS, loaded before the loop by daemon_cluster_tls */
	int cluster_loaded, cluster_on;
	struct tls_server_cfg *server;
	struct tls_client_cfg *cluster;
};

static struct transport *tls_wrap(void *ctx, int fd, const char *host)
{
	struct daemon_tls *t = ctx;
	char err[512];
	if (!t->cfg && !t->failed) {
		t->cfg = tls_client_cfg_new(t->cafile && t->cafile[0] ? t->cafile : NULL, t->insecure, err, sizeof err);
		if (!t->cfg) {
			log_error("https: %s", err);
			t->failed = 1;
		}
	}
	return t->cfg ? tls_client_new(t->cfg, fd, host) : NULL;
}

void daemon_close(struct df *df)
{
	if (ctx_of(df)->live) {
		struct daemon_live *l = ctx_of(df)->live;
		ev_ref(l->loop); /* each was unref'd when started (ev.pod: ref before stopping) */
		ev_signal_stop(l->loop, &l->hup);
		if (ev_is_active(&l->tick)) {
			ev_ref(l->loop);
			ev_timer_stop(l->loop, &l->tick);
		}
		free(l);
		ctx_of(df)->live = NULL;
	}
	if (df->rates) {
		hostrate_close(df->rates);
		free(df->rates);
		df->rates = NULL;
	}
	if (df->store)
		store_close(df->store);
	df->store = NULL;
	if (ctx_of(df)->tls) {
		tls_client_cfg_free(ctx_of(df)->tls->cfg);
		tls_client_cfg_free(ctx_of(df)->tls->cluster);
		tls_server_cfg_free(ctx_of(df)->tls->server);
		free(ctx_of(df)->tls);
		ctx_of(df)->tls = NULL;
	}
}

static struct daemon_tls *tls_state(struct df *df)
{
	if (!ctx_of(df)->tls) {
		ctx_of(df)->tls = calloc(1, sizeof *ctx_of(df)->tls);
		if (ctx_of(df)->tls) {
			ctx_of(df)->tls->cafile = df->cfg->common_cacert;
			ctx_of(df)->tls->insecure = df->cfg->common_insecure;
			if (ctx_of(df)->tls->insecure)
				log_warn("--insecure: https certificates are not verified");
		}
	}
	return ctx_of(df)->tls;
}

int daemon_cluster_tls(struct df *df)
{
	struct df_config *c = df->cfg;
	char err[512];
	struct daemon_tls *t = tls_state(df);
	if (!t) {
		log_user_error(df->cmd, "out of memory");
		return DF_ERR;
	}
	if (t->cluster_loaded)
		return t->cluster_on;
	t->cluster_loaded = 1;
	if (!c->security_cert[0] && !c->security_key[0])
		return 0;
	if (!c->security_cert[0] || !c->security_key[0]) {
		log_user_error(df->cmd, "[security] cert and key go together: set both or neither");
		return DF_ERR;
	}
	t->server = tls_server_cfg_new(c->security_cert, c->security_key, err, sizeof err);
	if (!t->server || (c->security_ca[0] &&
			   tls_server_cfg_require_client_ca(t->server, c->security_ca, err, sizeof err) != DF_OK)) {
		log_user_error(df->cmd, "cluster TLS: %s", err);
		return DF_ERR;
	}
	/* dialing other df processes: their certificates must chain to the cluster CA */
	t->cluster = tls_client_cfg_new(c->security_ca[0] ? c->security_ca : NULL, 0, err, sizeof err);
	if (!t->cluster ||
	    tls_client_cfg_set_cert(t->cluster, c->security_cert, c->security_key, err, sizeof err) != DF_OK) {
		log_user_error(df->cmd, "cluster TLS: %s", err);
		return DF_ERR;
	}
	t->cluster_on = 1;
	return 1;
}

static struct transport *tls_accept(void *ctx, int fd)
{
	return tls_server_new(ctx, fd);
}

static struct transport *cluster_wrap(void *ctx, int fd, const char *host)
{
	return tls_client_new(ctx, fd, host);
}

void daemon_server_cfg(struct df *df, struct http_server_cfg *sc)
{
	if (df->rates)
		sc->tx_limit = &df->rates->lim[HOSTRATE_UP];
	if (ctx_of(df)->tls && ctx_of(df)->tls->cluster_on) {
		sc->tls_accept = tls_accept;
		sc->tls_ctx = ctx_of(df)->tls->server;
	}
}

int daemon_cluster_client_cfg(struct df *df, struct http_client_cfg *out)
{
	memset(out, 0, sizeof *out);
	if (!ctx_of(df)->tls || !ctx_of(df)->tls->cluster_on)
		return 0;
	out->tls_wrap = cluster_wrap;
	out->tls_ctx = ctx_of(df)->tls->cluster;
	return 1;
}

struct http_client *daemon_cluster_client(struct df *df, struct ev_loop *loop, struct ratelimit *rx,
					  double idle_timeout)
{
	char err[512];
	struct http_client_cfg c;
	if (!daemon_cluster_client_cfg(df, &c))
		return NULL;
	c.rx_limit = rx;
	c.idle_timeout = idle_timeout;
	struct http_client *cl = http_client_new(loop, &c, err, sizeof err);
	if (!cl)
		log_user_error(df->cmd, "%s", err);
	return cl;
}

struct http_client *daemon_client(struct df *df, struct ev_loop *loop, struct ratelimit *rx, double idle_timeout)
{
	char err[512];
	struct http_client_cfg c = {.rx_limit = rx, .idle_timeout = idle_timeout};
	if (!tls_state(df)) {
		log_user_error(df->cmd, "out of memory");
		return NULL;
	}
	c.tls_wrap = tls_wrap;
	c.tls_ctx = ctx_of(df)->tls;
	struct http_client *cl = http_client_new(loop, &c, err, sizeof err);
	if (!cl)
		log_user_error(df->cmd, "%s", err);
	return cl;
}

int daemon_token(struct df *df, int warn_open)
{
	char err[512];
	if (config_resolve_token(df->cfg, err, sizeof err) != DF_OK) {
		log_user_error(df->cmd, "%s", err);
		return DF_ERR;
	}
	if (df->cfg->token_argv)
		log_warn("--token on the command line is visible to every local user (ps, /proc/PID/cmdline): "
			 "give it in DF_TOKEN or --token-file instead");
	if (warn_open && !df->cfg->security_token[0])
		log_warn("no cluster token configured: open mode, any host can register, fetch and push");
	return DF_OK;
}

int daemon_listen_peer(struct df *df, struct http_server *srv, const char *prefer, char *err, size_t errlen)
{
	struct df_config *c = df->cfg;
	if (c->get_peer_listen[0])
		return http_server_listen(srv, c->get_peer_listen, err, errlen);
	if (prefer && http_server_listen(srv, prefer, err, errlen) == DF_OK)
		return DF_OK;
	unsigned lo = 0, hi = 0;
	if (sscanf(c->get_port_range, "%u-%u", &lo, &hi) != 2 || lo == 0 || hi < lo || hi > 65535) {
		snprintf(err, errlen, "--port-range '%s': expected LOW-HIGH", c->get_port_range);
		return DF_ERR;
	}
	unsigned span = hi - lo + 1, start = (unsigned)getpid() % span;
	for (unsigned i = 0; i < span; i++) {
		char addr[32];
		snprintf(addr, sizeof addr, ":%u", lo + (start + i) % span);
		if (http_server_listen(srv, addr, err, errlen) == DF_OK)
			return DF_OK;
	}
	snprintf(err, errlen, "no free port in %s for the piece server (--port-range)", c->get_port_range);
	return DF_ERR;
}

struct ratelimit *daemon_rx(struct df *df, struct ratelimit *own)
{
	struct ratelimit *host = df->rates ? &df->rates->lim[HOSTRATE_DOWN] : NULL;
	if (!own)
		return host;
	own->also = host;
	return own;
}

/* ---- run-time changes: SIGHUP reloads the configuration ---- */

/* The keys a running process takes over from a reload; the others wait for a restart. */
static const size_t reloadable[] = {
	offsetof(struct df_config, common_log_level),     offsetof(struct df_config, common_upload_rate),
	offsetof(struct df_config, common_download_rate), offsetof(struct df_config, supernode_source_rate),
	offsetof(struct df_config, get_limit_rate),
};

static int is_reloadable(const struct config_key *k)
{
	for (size_t i = 0; i < DF_ARRAY_LEN(reloadable); i++)
		if (reloadable[i] == k->offset)
			return 1;
	return 0;
}

int daemon_reload(struct df *df)
{
	struct df_config nc;
	struct opt_result r;
	char err[512], was[256], now[256];
	config_init(&nc);
	/* the same file and flags as at start (flags still win over the file) */
	if (opt_parse(df->argc, df->argv, df->desc->sections, df->desc->opts, df->desc->nopts, &nc, &r, err,
		      sizeof err) != DF_OK) {
		log_error("reload: %s; keeping the running configuration", err);
		config_free(&nc);
		return DF_ERR;
	}
	opt_result_free(&r);
	config_resolve_token(&nc, err, sizeof err); /* compared with the resolved running token below */
	int changed = 0;
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		config_format_value(df->cfg, k, was, sizeof was);
		config_format_value(&nc, k, now, sizeof now);
		if (strcmp(was, now) == 0)
			continue;
		changed++;
		if (!is_reloadable(k)) {
			log_warn("reload: [%s] %s changed; it takes effect when df %s restarts", k->section, k->key,
				 df->cmd);
			continue;
		}
		log_info("reload: [%s] %s %s -> %s", k->section, k->key, was, now);
		char *a = (char *)df->cfg + k->offset, *b = (char *)&nc + k->offset, tmp[sizeof(uint64_t)];
		size_t n = k->type == CFG_STR ? sizeof(char *) : k->type == CFG_BOOL ? sizeof(int) : sizeof(uint64_t);
		memcpy(tmp, a, n); /* swapped: nc frees the old string */
		memcpy(a, b, n);
		memcpy(b, tmp, n);
	}
	if (!changed)
		log_info("reload: %s: nothing changed", nc.file ? nc.file : "no config file, flags only");
	config_free(&nc);
	write_caps(df);
	if (ctx_of(df)->live && ctx_of(df)->live->on_reload)
		ctx_of(df)->live->on_reload(df, ctx_of(df)->live->ctx);
	return DF_OK;
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	struct daemon_live *l = DF_CONTAINER_OF(w, struct daemon_live, hup);
	log_info("SIGHUP: reloading the configuration");
	daemon_reload(l->df);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct daemon_live *l = DF_CONTAINER_OF(w, struct daemon_live, tick);
	hostrate_tick(l->df->rates, monotime_now());
}

int daemon_live_start(struct df *df, struct ev_loop *loop, void (*on_reload)(struct df *df, void *ctx), void *ctx)
{
	struct daemon_live *l = calloc(1, sizeof *l);
	if (!l)
		return DF_ERR;
	*l = (struct daemon_live){.df = df, .loop = loop, .on_reload = on_reload, .ctx = ctx};
	ctx_of(df)->live = l;
	ev_signal_init(&l->hup, hup_cb, SIGHUP);
	ev_signal_start(loop, &l->hup);
	ev_unref(loop); /* neither keeps the loop running */
	if (df->rates) {
		hostrate_tick(df->rates, monotime_now());
		ev_timer_init(&l->tick, tick_cb, 1, 1);
		ev_timer_start(loop, &l->tick);
		ev_unref(loop);
	}
	return DF_OK;
}
