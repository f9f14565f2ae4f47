/* `df proxy`: the per-host daemon. A registry mirror and HTTP proxy on one plain-HTTP port whose
 * blob pulls go P2P, the host's piece server and peer engine, and the unix socket df get hands its
 * downloads to. Also prints or installs the mirror configuration of each container engine
 * (cmd/proxy_engines.c, cmd/proxy_install.c). */
#include <arpa/inet.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/daemon.h"
#include "cmd/proxy_engines.h"
#include "cmd/proxy_install.h"
#include "core/config.h"
#include "core/hostrate.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/monotime.h"
#include "core/proto.h"
#include "store/store.h"
#include "swarm/common.h"
#include "swarm/hostd.h"
#include "swarm/httpproxy.h"
#include "swarm/peer.h"
#include "swarm/pushrecv.h"
#include "swarm/registry.h"
#include "swarm/storegc.h"

#define MAX_UPSTREAMS 16
#define MAX_RULES 32

/* Regexes given as repeated flags (pointing into argv) or as one space-separated config value
 * (cut in place in buf): the proxy rules and the intercepted hosts. */
struct regexes {
	const char *v[MAX_RULES];
	int n;
	char buf[4096];
};

enum { OPT_REGISTRY = 1, OPT_RULE, OPT_MITM, OPT_PRINT, OPT_INSTALL, OPT_UNINSTALL, OPT_DRY_RUN, OPT_ROOT };

static const struct opt_spec opts[] = {
	{"registry", 0, 1, OPT_REGISTRY, "[NAME=]URL",
	 "upstream registry (repeatable; replaces [proxy] registries; the first is the default)"},
	{"proxy-rule", 0, 1, OPT_RULE, "REGEX",
	 "http URLs (https ones of --mitm-host hosts too) matching it go P2P (repeatable; replaces [proxy] rules)"},
	{"mitm-host", 0, 1, OPT_MITM, "REGEX",
	 "intercept https CONNECTs to matching hosts with certificates from --ca-cert/--ca-key (repeatable; replaces "
	 "[proxy] mitm_host)"},
	{"print-config", 0, 1, OPT_PRINT, "ENGINE",
	 "print the mirror configuration for containerd, docker or podman, then exit"},
	{"install", 0, 1, OPT_INSTALL, "ENGINE",
	 "write that configuration where containerd, docker or podman (CRI-O) reads it, keeping a backup; says what to "
	 "restart, then exits"},
	{"uninstall", 0, 0, OPT_UNINSTALL, NULL,
	 "with --install: take df's configuration out again (the backup goes when the file is back to it)"},
	{"dry-run", 0, 0, OPT_DRY_RUN, NULL, "with --install: only print what would change"},
	{"root", 0, 1, OPT_ROOT, "DIR",
	 "with --install: the files below DIR, which stands for / (a node's root mounted in a container)"},
};
static const char *const sections[] = {"proxy", "get", "store", "security", NULL};

struct px {
	struct df *df;
	struct ev_loop *loop;
	struct http_server *front, *pieces;
	struct http_server *metrics;          /* [proxy] metrics_listen: only /metrics, or NULL */
	struct http_client *client, *cluster; /* sources and upstreams; supernodes and peers (cluster TLS) */
	struct ratelimit rx;
	struct swarm_peer *peer;
	struct registry *reg;
	struct httpproxy *hp;
	struct hostd *hd;
	struct pushrecv *push;
	struct loop_signals sig;
	struct storegc gc;
	int gc_on;
	int stopping;
	struct registry_upstream ups[MAX_UPSTREAMS];
	int nups;
	struct regexes rules, mitm;
	double started;
};

static int add_upstream(struct px *p, const char *spec, size_t n)
{
	const char *why;
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%.*s", (int)DF_MIN(n, sizeof tmp - 1), spec);
	if (p->nups == MAX_UPSTREAMS)
		return cmd_usage("proxy", "more than %s upstream registries", "16");
	if (registry_upstream_parse(spec, n, &p->ups[p->nups], &why) != DF_OK) {
		return cmd_usage("proxy", "registry '%s': %s", tmp, why);
	}
	p->nups++;
	return DF_EXIT_OK;
}

/* "[NAME=]URL,..." from the config file (commas or blanks between entries) */
static int upstreams_from_config(struct px *p, const char *list)
{
	const char *s = list;
	while (*s) {
		size_t n = strcspn(s, ", \t");
		if (n) {
			int rc = add_upstream(p, s, n);
			if (rc != DF_EXIT_OK)
				return rc;
		}
		s += n;
		s += strspn(s, ", \t");
	}
	return DF_EXIT_OK;
}

static int regex_add(struct regexes *l, const char *re, const char *flag)
{
	if (l->n == MAX_RULES)
		return cmd_usage("proxy", "more than 32 %s regexes", flag);
	l->v[l->n++] = re;
	return DF_EXIT_OK;
}

static int regexes_from_config(struct regexes *l, const char *list, const char *key, const char *flag)
{
	if (strlen(list) >= sizeof l->buf)
		return cmd_usage("proxy", "[proxy] %s is longer than 4095 bytes", key);
	snprintf(l->buf, sizeof l->buf, "%s", list);
	int rc = DF_EXIT_OK;
	char *save = NULL;
	for (char *s = strtok_r(l->buf, " \t", &save); s && rc == DF_EXIT_OK; s = strtok_r(NULL, " \t", &save))
		rc = regex_add(l, s, flag);
	return rc;
}

/* 1 when a listen address reaches only this host (127.0.0.0/8, ::1, localhost); a wildcard, another
 * address or a name that does not parse counts as reachable from elsewhere. */
static int listen_is_loopback(const char *listen)
{
	struct addr a;
	struct in_addr v4;
	char err[128];
	if (addr_parse(listen, &a, err, sizeof err) != DF_OK || !a.host[0])
		return 0;
	if (strcmp(a.host, "localhost") == 0 || strcmp(a.host, "::1") == 0)
		return 1;
	return !a.ipv6 && inet_pton(AF_INET, a.host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

/* Says what is open to the network: the front is plain HTTP without a token whatever the settings;
 * the piece server and the push receiver are open to anyone without both cluster TLS and a token
 * (anyone could fetch pieces, push files below push_dir). */
static void warn_exposed(struct df_config *c, int tls, int push, unsigned piece_port)
{
	char pieces[300];
	if (c->get_peer_listen[0])
		snprintf(pieces, sizeof pieces, "%s", c->get_peer_listen);
	else
		snprintf(pieces, sizeof pieces, ":%u", piece_port);
	if (!listen_is_loopback(c->proxy_listen))
		log_warn("proxy: the registry mirror and HTTP proxy listen on %s, beyond loopback: plain HTTP without "
			 "a token, "
			 "anyone who reaches it can use it (keep --listen on 127.0.0.1 or a trusted network)",
			 c->proxy_listen);
	if (tls && c->security_token[0])
		return;
	const char *miss = !tls && !c->security_token[0] ? "cluster TLS and a token" : !tls ? "cluster TLS" : "a token";
	if (push && !listen_is_loopback(c->proxy_push_listen))
		log_warn("proxy: the push receiver listens on %s, beyond loopback, without %s: anyone who reaches it "
			 "can "
			 "write files below the push directory (set [security] token and cert/key/ca)",
			 c->proxy_push_listen, miss);
	if (!listen_is_loopback(pieces))
		log_warn(
			"proxy: the piece server listens on %s, beyond loopback, without %s: anyone who reaches it can "
			"read the pieces this host holds (set [security] token and cert/key/ca)",
			pieces, miss);
}

/* --print-config and --install: the configured upstreams (Docker Hub when none), then the engine's
 * configuration printed or written. */
static int engine_config(struct px *p, const char *print, const char *install, const char *root, int uninstall,
			 int dry_run)
{
	struct engines e;
	enum engines_kind kind;
	const char *name = print ? print : install;
	if (!print && (root || uninstall || dry_run) && !install)
		return cmd_usage("proxy", "%s needs --install ENGINE",
				 root        ? "--root"
				 : uninstall ? "--uninstall"
					     : "--dry-run");
	if (print && install)
		return cmd_usage("proxy", "%s", "--print-config and --install are two different things: one at a time");
	if (engines_parse(name, &kind) != DF_OK)
		return cmd_usage("proxy",
				 print ? "--print-config '%s': expected containerd, docker or podman"
				       : "--install '%s': expected containerd, docker or podman",
				 name);
	if (!p->nups) {
		const char *why;
		registry_upstream_parse(DF_LIT("https://registry-1.docker.io"), &p->ups[p->nups++], &why);
	}
	engines_init(&e, p->df->cfg, p->ups, p->nups);
	return print ? engines_print(&e, kind) : proxy_install(&e, kind, root, uninstall, dry_run);
}

/* One number of the proxy's status, the one table /v1/status ("key: value") and /metrics
 * (df_proxy_KEY, dashes as underscores, of its type) are both written from. */
struct px_stat {
	char key[40];
	enum metric_type type;
	uint64_t v;
};
#define PX_STATS_MAX 64

static void stat_add(struct px_stat *s, int *n, const char *key, enum metric_type type, uint64_t v)
{
	if (*n == PX_STATS_MAX)
		return;
	snprintf(s[*n].key, sizeof s[*n].key, "%s", key);
	s[*n].type = type;
	s[*n].v = v;
	(*n)++;
}

/* The proxy's numbers into s (PX_STATS_MAX rows); returns how many. */
static int px_stats(struct px *p, struct px_stat *s)
{
	struct registry_stats rs;
	struct httpproxy_stats hs;
	struct http_server_stats ss;
	int n = 0;
	registry_get_stats(p->reg, &rs);
	httpproxy_get_stats(p->hp, &hs);
	http_server_get_stats(p->front, &ss);
	double up = monotime_now() - p->started;
	const struct px_stat rows[] = {
		{"uptime", METRIC_GAUGE, (uint64_t)(up > 0 ? up + 0.5 : 0)},
		{"piece-port", METRIC_GAUGE, http_server_port(p->pieces)},
		{"connections", METRIC_GAUGE, (uint64_t)ss.conns},
		{"requests", METRIC_COUNTER, ss.requests},
		{"registry-requests", METRIC_COUNTER, rs.requests},
		{"manifests", METRIC_COUNTER, rs.manifests},
		{"blobs-p2p", METRIC_COUNTER, rs.blobs_p2p},
		{"blob-bytes-p2p", METRIC_COUNTER, rs.blob_bytes},
		{"blobs-direct", METRIC_COUNTER, rs.blobs_direct},
		{"blobs-denied", METRIC_COUNTER, rs.denied},
		{"blob-heads", METRIC_COUNTER, rs.heads},
		{"blobs-supernode-failed", METRIC_COUNTER, rs.super_failed},
		{"blobs-offline", METRIC_COUNTER, rs.offline},
		{"blobs-offline-refused", METRIC_COUNTER, rs.offline_refused},
		{"manifests-offline", METRIC_COUNTER, rs.manifests_offline},
		{"manifests-offline-refused", METRIC_COUNTER, rs.manifests_offline_refused},
		{"blobs-aborted", METRIC_COUNTER, rs.aborted},
		{"relayed", METRIC_COUNTER, rs.relay.started + hs.relay.started},
		{"relay-failed", METRIC_COUNTER, rs.relay.failed + hs.relay.failed},
		{"relay-bytes", METRIC_COUNTER, rs.relay.bytes + hs.relay.bytes},
		{"proxy-requests", METRIC_COUNTER, hs.requests},
		{"proxy-p2p", METRIC_COUNTER, hs.p2p},
		{"tunnels", METRIC_COUNTER, hs.tunnels},
		{"tunnel-failed", METRIC_COUNTER, hs.tunnel_failed},
		{"tunnel-bytes", METRIC_COUNTER, hs.tunnel_bytes},
		{"mitm-tunnels", METRIC_COUNTER, hs.mitm_tunnels},
		{"mitm-failed", METRIC_COUNTER, hs.mitm_failed},
		{"mitm-minted", METRIC_COUNTER, hs.mitm_minted},
		{"mitm-requests", METRIC_COUNTER, hs.mitm_requests},
	};
	for (size_t i = 0; i < DF_ARRAY_LEN(rows); i++)
		s[n++] = rows[i];
	for (int k = 0; p->df->rates && k < HOSTRATE_N; k++) {
		/* the host's caps (0: none) and current rates, all its df processes together */
		char key[32];
		snprintf(key, sizeof key, "%s-cap", hostrate_names[k]);
		stat_add(s, &n, key, METRIC_GAUGE, hostrate_cap(p->df->rates, k));
		snprintf(key, sizeof key, "%s-rate", hostrate_names[k]);
		stat_add(s, &n, key, METRIC_GAUGE, (uint64_t)(p->df->rates->rate[k] + 0.5));
	}
	if (p->hd) {
		struct hostd_stats ds;
		hostd_get_stats(p->hd, &ds);
		stat_add(s, &n, "handoffs", METRIC_COUNTER, ds.jobs);
		stat_add(s, &n, "handoffs-failed", METRIC_COUNTER, ds.failed);
	}
	if (p->gc_on) {
		stat_add(s, &n, "store-bytes", METRIC_GAUGE, p->gc.used_bytes + p->gc.pending);
		stat_add(s, &n, "store-quota", METRIC_GAUGE, p->gc.quota);
		stat_add(s, &n, "store-evictions", METRIC_COUNTER, p->gc.evictions);
		stat_add(s, &n, "store-evicted-bytes", METRIC_COUNTER, p->gc.freed_bytes);
		stat_add(s, &n, "store-last-gc", METRIC_GAUGE, (uint64_t)(p->gc.last_run + 0.5));
	}
	return n;
}

/* GET /v1/status on the proxy port: what it is, then its numbers, as "key: value" lines. */
static void on_status(struct http_req *req, void *ctx)
{
	struct px *p = ctx;
	char mem[4096];
	struct proto_buf b;
	struct px_stat s[PX_STATS_MAX];
	struct registry_stats rs;
	int n = px_stats(p, s);
	registry_get_stats(p->reg, &rs);
	proto_buf_init(&b, mem, sizeof mem);
	proto_put(&b, "role", "proxy");
	proto_put(&b, "version", "%s", DF_VERSION);
	for (int i = 0; i < p->nups; i++)
		proto_put(&b, "upstream", "%s %s", p->ups[i].name, p->ups[i].url);
	for (int i = 0; i < n; i++)
		proto_put(&b, s[i].key, "%llu", (unsigned long long)s[i].v);
	if (rs.super_failure[0]) /* text: /metrics leaves it out */
		proto_put(&b, "last-supernode-failure", "%s", rs.super_failure);
	swarm_reply_lines(req, &b);
}

static void render_metrics(FILE *f, void *ctx)
{
	struct px_stat s[PX_STATS_MAX];
	int n = px_stats(ctx, s);
	for (int i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof name, "df_proxy_%.39s", s[i].key);
		for (char *c = name; *c; c++)
			if (*c == '-')
				*c = '_';
		metrics_put(f, &(struct metric){name, s[i].type, NULL, s[i].v});
	}
}

/* GET /metrics: the proxy's numbers in Prometheus text format (df_proxy_NAME). */
static void on_metrics(struct http_req *req, void *ctx)
{
	swarm_reply_metrics(req, render_metrics, ctx);
}

static void stopped(struct http_server *s, void *ctx)
{
	(void)s;
	struct px *p = ctx;
	ev_break(p->loop, EVBREAK_ALL);
}

static void on_stop(struct loop_signals *s, int signum, int count, void *ctx)
{
	(void)s;
	struct px *p = ctx;
	log_info("signal %d: stopping%s", signum, count > 1 ? " now" : "");
	if (count > 1 || p->stopping) {
		ev_break(p->loop, EVBREAK_ALL);
		return;
	}
	p->stopping = 1;
	hostd_stop(p->hd);
	http_server_shutdown(p->front, 5.0, stopped, p);
}

static void on_reload(struct df *df, void *ctx)
{
	struct px *p = ctx;
	ratelimit_set(&p->rx, df->cfg->get_limit_rate, 0, monotime_now());
}

/* --print-config, --install and its companions. */
struct engine_flags {
	const char *print, *install, *root;
	int uninstall, dry_run;
};

/* The flags into p and *ef; the config's registries, rules and intercepted hosts where no flag
 * replaced them. DF_EXIT_OK or the usage error's code. */
static int parse_flags(struct px *p, const struct opt_result *r, struct engine_flags *ef)
{
	const struct df_config *c = p->df->cfg;
	int rc = DF_EXIT_OK, cli_ups = 0, cli_rules = 0, cli_mitm = 0;
	for (int i = 0; rc == DF_EXIT_OK && i < r->nvals; i++) {
		const char *a = r->vals[i].arg;
		switch (r->vals[i].id) {
		case OPT_REGISTRY:
			cli_ups = 1;
			rc = add_upstream(p, a, strlen(a));
			break;
		case OPT_RULE:
			cli_rules = 1;
			rc = regex_add(&p->rules, a, "--proxy-rule");
			break;
		case OPT_MITM:
			cli_mitm = 1;
			rc = regex_add(&p->mitm, a, "--mitm-host");
			break;
		case OPT_PRINT: ef->print = a; break;
		case OPT_INSTALL: ef->install = a; break;
		case OPT_UNINSTALL: ef->uninstall = 1; break;
		case OPT_DRY_RUN: ef->dry_run = 1; break;
		case OPT_ROOT: ef->root = a; break;
		}
	}
	if (rc == DF_EXIT_OK && !cli_ups)
		rc = upstreams_from_config(p, c->proxy_registries);
	if (rc == DF_EXIT_OK && !cli_rules)
		rc = regexes_from_config(&p->rules, c->proxy_rules, "rules", "--proxy-rule");
	if (rc == DF_EXIT_OK && !cli_mitm)
		rc = regexes_from_config(&p->mitm, c->proxy_mitm_host, "mitm_host", "--mitm-host");
	return rc;
}

/* What must hold before anything starts: interception's CA, rules that compile. */
static int check_flags(const struct px *p)
{
	const struct df_config *c = p->df->cfg;
	if (p->mitm.n && (!c->proxy_ca_cert[0] || !c->proxy_ca_key[0]))
		return cmd_usage(
			"proxy",
			"--mitm-host needs --ca-cert and --ca-key (the CA that signs what intercepted clients see): %s",
			c->proxy_ca_cert[0] ? "no --ca-key given" : "no --ca-cert given");
	for (int i = 0; i < p->rules.n; i++) {
		regex_t rx;
		int e = regcomp(&rx, p->rules.v[i], REG_EXTENDED | REG_NOSUB);
		if (e != 0) {
			char why[256];
			regerror(e, &rx, why, sizeof why);
			return cmd_usage("proxy", "--proxy-rule '%s': %s", p->rules.v[i], why);
		}
		regfree(&rx);
	}
	return DF_EXIT_OK;
}

/* The listeners (front, piece server), the HTTP clients and the store's collector. */
static int start_io(struct px *p, int tls, double timeout)
{
	struct df *df = p->df;
	const struct df_config *c = df->cfg;
	char err[512];
	/* the front is plain HTTP for container engines; the piece server speaks cluster TLS when set */
	struct http_server_cfg fcfg = {.name = "df/" DF_VERSION}, pcfg = {.name = "df/" DF_VERSION};
	daemon_server_cfg(df, &pcfg);
	p->front = http_server_new(p->loop, &fcfg);
	p->pieces = http_server_new(p->loop, &pcfg);
	if (!p->front || !p->pieces) {
		log_user_error("proxy", "out of memory");
		return DF_ERR;
	}
	if (http_server_listen(p->front, c->proxy_listen, err, sizeof err) != DF_OK ||
	    daemon_listen_peer(df, p->pieces, NULL, err, sizeof err) != DF_OK) {
		log_user_error("proxy", "%s", err);
		return DF_ERR;
	}
	ratelimit_init(&p->rx, c->get_limit_rate, 0, monotime_now());
	/* its own --limit-rate (set always, so a reload can turn it on) and the host's download cap */
	p->client = daemon_client(df, p->loop, daemon_rx(df, &p->rx), timeout);
	if (!p->client)
		return DF_ERR;
	if (tls && !(p->cluster = daemon_cluster_client(df, p->loop, daemon_rx(df, &p->rx), timeout)))
		return DF_ERR;
	if (storegc_init(&p->gc, p->loop, df->store, c->store_quota, (uint64_t)c->store_max_idle, err, sizeof err) !=
	    DF_OK) {
		log_user_error("proxy", "%s", err);
		return DF_ERR;
	}
	return DF_OK;
}

/* The peer engine, the registry mirror and the HTTP proxy, routed on the front (and /metrics on
 * its own listener when set). DF_EXIT_OK or an exit code. */
static int start_engines(struct px *p, int tls, double timeout)
{
	struct df *df = p->df;
	const struct df_config *c = df->cfg;
	char err[512];
	struct swarm_peer_cfg sc = {
		.loop = p->loop,
		.client = p->client,
		.cluster = p->cluster,
		.cluster_tls = tls,
		.server = p->pieces,
		.store = df->store,
		.supernodes = c->get_supernode,
		.token = c->security_token,
		.advertise = c->get_advertise,
		.filter = c->get_filter,
		.back_to_source = c->get_back_to_source,
		.supernode_retry = (double)c->get_supernode_retry,
		.piece_size = (uint32_t)c->supernode_piece_size,
		.timeout = timeout,
		.min_piece_rate = c->get_min_piece_rate,
		.limit_rate = c->get_limit_rate,
		.stall_timeout = (double)c->get_stall_timeout,
		.piece_digest = (enum digest_piece_algo)digest_piece_algo_parse(c->security_piece_digest),
		.gc = &p->gc,
	};
	p->peer = swarm_peer_new(&sc, err, sizeof err);
	if (!p->peer) {
		log_user_error("proxy", "%s", err);
		return DF_EXIT_FAIL;
	}
	char authmem[4200], mandir[4200];
	snprintf(authmem, sizeof authmem, "%s/proxy-authmem", store_root(df->store));
	snprintf(mandir, sizeof mandir, "%s/proxy-manifests", store_root(df->store));
	struct registry_cfg rcfg = {
		.loop = p->loop,
		.client = p->client,
		.peer = p->peer,
		.store = df->store,
		.upstreams = p->ups,
		.nupstreams = p->nups,
		.timeout = timeout,
		.offline_serve = c->proxy_offline_serve,
		.offline_remember = c->proxy_offline_remember,
		.authmem_path = authmem,
		.manifests_dir = mandir,
		.offline_tags = c->proxy_offline_tags,
	};
	p->reg = registry_new(&rcfg, err, sizeof err);
	struct httpproxy_cfg hcfg = {
		.loop = p->loop,
		.client = p->client,
		.registry = p->reg,
		.rules = p->rules.v,
		.nrules = p->rules.n,
		.p2p = 1,
		.timeout = timeout,
		.mitm_hosts = p->mitm.v,
		.nmitm = p->mitm.n,
		.ca_cert = c->proxy_ca_cert,
		.ca_key = c->proxy_ca_key,
	};
	p->hp = p->reg ? httpproxy_new(&hcfg, err, sizeof err) : NULL;
	if (!p->reg || !p->hp) {
		log_user_error("proxy", "%s", err);
		return p->reg ? DF_EXIT_USAGE : DF_EXIT_FAIL;
	}
	if (registry_route(p->reg, p->front) != DF_OK || httpproxy_route(p->hp, p->front) != DF_OK ||
	    http_server_route(p->front, "GET", "/v1/status", on_status, p) != DF_OK ||
	    http_server_route(p->front, "GET", "/metrics", on_metrics, p) != DF_OK) {
		log_user_error("proxy", "out of memory");
		return DF_EXIT_FAIL;
	}
	if (c->proxy_metrics_listen[0]) {
		struct http_server_cfg mcfg = {.name = "df/" DF_VERSION};
		p->metrics = http_server_new(p->loop, &mcfg);
		if (!p->metrics || http_server_listen(p->metrics, c->proxy_metrics_listen, err, sizeof err) != DF_OK ||
		    http_server_route(p->metrics, "GET", "/metrics", on_metrics, p) != DF_OK) {
			log_user_error("proxy", "metrics listener: %s", p->metrics ? err : "out of memory");
			return DF_EXIT_FAIL;
		}
	}
	return DF_EXIT_OK;
}

/* df push's receiver (when [proxy] push_listen is set) and the unix socket df get hands off to. */
static int start_receivers(struct px *p)
{
	struct df *df = p->df;
	const struct df_config *c = df->cfg;
	char err[512], sock[4096];
	if (c->proxy_socket[0])
		snprintf(sock, sizeof sock, "%s", c->proxy_socket);
	else
		snprintf(sock, sizeof sock, "%s/proxy.sock", store_root(df->store));
	if (c->proxy_push_listen[0]) {
		/* df push's requests: on the piece server (cluster TLS, token), at the port df push dials */
		char dir[4096];
		if (c->proxy_push_dir[0])
			snprintf(dir, sizeof dir, "%s", c->proxy_push_dir);
		else
			snprintf(dir, sizeof dir, "%s/push", store_root(df->store));
		struct pushrecv_cfg prc = {.loop = p->loop,
					   .peer = p->peer,
					   .push_dir = dir,
					   .token = c->security_token,
					   .special_modes = c->proxy_push_special_modes};
		if (http_server_listen(p->pieces, c->proxy_push_listen, err, sizeof err) != DF_OK ||
		    !(p->push = pushrecv_new(&prc, p->pieces, err, sizeof err))) {
			log_user_error("proxy", "push receiver: %s", err);
			return DF_ERR;
		}
	}
	struct hostd_cfg dcfg = {.loop = p->loop, .peer = p->peer, .store = df->store, .path = sock};
	p->hd = hostd_new(&dcfg, err, sizeof err);
	if (!p->hd) {
		log_user_error("proxy", "%s", err);
		return DF_ERR;
	}
	return DF_OK;
}

static void px_free(struct px *p)
{
	if (p->gc_on)
		storegc_stop(&p->gc);
	/* the servers first: ending their exchanges frees what the mirror and the proxy hold */
	if (p->front)
		http_server_free(p->front);
	if (p->metrics)
		http_server_free(p->metrics);
	hostd_free(p->hd);
	httpproxy_free(p->hp);
	registry_free(p->reg);
	if (p->pieces)
		http_server_free(p->pieces); /* ends pushes in flight (their watchers) */
	pushrecv_free(p->push);
	if (p->peer)
		swarm_peer_free(p->peer);
	if (p->cluster)
		http_client_free(p->cluster);
	if (p->client)
		http_client_free(p->client);
	free(p);
}

/* Starts everything, runs the loop until a signal stops it. */
static int serve(struct px *p)
{
	struct df *df = p->df;
	struct df_config *c = df->cfg;
	log_set_daemon(1);
	int tls = daemon_token(df, 1) == DF_OK ? daemon_cluster_tls(df) : DF_ERR;
	if (tls < 0)
		return DF_EXIT_USAGE;
	if (daemon_open_store(df) != DF_OK)
		return DF_EXIT_FAIL;
	p->loop = df->loop = ev_default_loop(0);
	p->started = monotime_now();
	double timeout = c->get_timeout > 0 ? (double)c->get_timeout : 0;
	if (start_io(p, tls, timeout) != DF_OK)
		return DF_EXIT_FAIL;
	int rc = start_engines(p, tls, timeout);
	if (rc != DF_EXIT_OK)
		return rc;
	if (start_receivers(p) != DF_OK)
		return DF_EXIT_FAIL;
	p->gc.release = swarm_peer_release;
	p->gc.arg = p->peer;
	p->gc_on = 1;
	storegc_start(&p->gc, storegc_interval(p->gc.max_idle));
	warn_exposed(c, tls, p->push != NULL, http_server_port(p->pieces));
	loop_signals_start(p->loop, &p->sig, on_stop, p);
	if (daemon_live_start(df, p->loop, on_reload, p) != DF_OK) {
		log_user_error("proxy", "out of memory");
		return DF_EXIT_FAIL;
	}
	log_info("proxy listening on %s (mirror of %s%s), piece server on port %u, push receiver %s, supernodes %s, "
		 "store %s",
		 c->proxy_listen, p->nups ? p->ups[0].url : "no registry", p->nups > 1 ? " and more" : "",
		 http_server_port(p->pieces), p->push ? c->proxy_push_listen : "off",
		 c->get_supernode[0] ? c->get_supernode : "none (straight from the upstream)", store_root(df->store));
	ev_run(p->loop, 0);
	loop_signals_stop(p->loop, &p->sig);
	return DF_EXIT_OK;
}

static int run(struct df *df, struct opt_result *r)
{
	struct engine_flags ef = {0};
	struct px *p = calloc(1, sizeof *p);
	if (!p) {
		log_user_error("proxy", "out of memory");
		return DF_EXIT_FAIL;
	}
	p->df = df;
	int rc = parse_flags(p, r, &ef);
	if (rc == DF_EXIT_OK && (ef.print || ef.install || ef.root || ef.uninstall || ef.dry_run))
		rc = engine_config(p, ef.print, ef.install, ef.root, ef.uninstall, ef.dry_run);
	else if (rc == DF_EXIT_OK && (rc = check_flags(p)) == DF_EXIT_OK)
		rc = serve(p);
	px_free(p);
	daemon_close(df);
	return rc;
}

const struct cmd_desc cmd_proxy = {
	.name = "proxy",
	.summary = "run the host daemon: registry mirror and HTTP proxy whose pulls go P2P, piece server",
	.synopsis = "[--listen [ADDR]:PORT] [--registry URL]... [--supernode HOST:PORT] [OPTIONS]\n"
		    "       df proxy --print-config ENGINE | --install ENGINE [--uninstall] [--dry-run] [--root DIR] "
		    "[OPTIONS]",
	.sections = sections,
	.opts = opts,
	.nopts = (int)DF_ARRAY_LEN(opts),
	.min_args = 0,
	.max_args = 0,
	.run = run,
};
