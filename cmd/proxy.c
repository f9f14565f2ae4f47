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
#include "core/proto.h"
#include "store/store.h"
#include "swarm/common.h"
#include "swarm/hostd.h"
#include "swarm/storegc.h"
#include "swarm/httpproxy.h"
#include "swarm/peer.h"
#include "swarm/pushrecv.h"
#include "swarm/registry.h"

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
	{"registry", 0, 1, OPT_REGISTRY, "[NAME=]URL", "upstream registry (repeatable; replaces [proxy] registries; the first is the default)"},
	{"proxy-rule", 0, 1, OPT_RULE, "REGEX", "http URLs (https ones of --mitm-host hosts too) matching it go P2P (repeatable; replaces [proxy] rules)"},
	{"mitm-host", 0, 1, OPT_MITM, "REGEX", "intercept https CONNECTs to matching hosts with certificates from --ca-cert/--ca-key (repeatable; replaces [proxy] mitm_host)"},
	{"print-config", 0, 1, OPT_PRINT, "ENGINE", "print the mirror configuration for containerd, docker or podman, then exit"},
	{"install", 0, 1, OPT_INSTALL, "ENGINE", "write that configuration where containerd, docker or podman (CRI-O) reads it, keeping a backup; says what to restart, then exits"},
	{"uninstall", 0, 0, OPT_UNINSTALL, NULL, "with --install: take df's configuration out again (the backup goes when the file is back to it)"},
	{"dry-run", 0, 0, OPT_DRY_RUN, NULL, "with --install: only print what would change"},
	{"root", 0, 1, OPT_ROOT, "DIR", "with --install: the files below DIR, which stands for / (a node's root mounted in a container)"},
};
static const char *const sections[] = {"proxy", "get", "store", "security", NULL};

struct px {
	struct df *df;
	struct ev_loop *loop;
	struct http_server *front, *pieces;
	struct http_server *metrics; /* [proxy] metrics_listen: only /metrics, or NULL */
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

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "df: proxy: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'df proxy --help'.\n");
	return DF_EXIT_USAGE;
}

static int add_upstream(struct px *p, const char *spec, size_t n)
{
	const char *why;
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%.*s", (int)DF_MIN(n, sizeof tmp - 1), spec);
	if (p->nups == MAX_UPSTREAMS)
		return usage("more than %s upstream registries", "16");
	if (registry_upstream_parse(spec, n, &p->ups[p->nups], &why) != DF_OK) {
		fprintf(stderr, "df: proxy: registry '%s': %s\nTry 'df proxy --help'.\n", tmp, why);
		return DF_EXIT_USAGE;
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
		return usage("more than 32 %s regexes", flag);
	l->v[l->n++] = re;
	return DF_EXIT_OK;
}

static int regexes_from_config(struct regexes *l, const char *list, const char *key, const char *flag)
{
	if (strlen(list) >= sizeof l->buf)
		return usage("[proxy] %s is longer than 4095 bytes", key);
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
	struct loop_addr a;
	struct in_addr v4;
	char err[128];
	if (loop_addr_parse(listen, &a, err, sizeof err) != DF_OK || !a.host[0])
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
		log_warn("proxy: the registry mirror and HTTP proxy listen on %s, beyond loopback: plain HTTP without a token, "
			 "anyone who reaches it can use it (keep --listen on 127.0.0.1 or a trusted network)",
			 c->proxy_listen);
	if (tls && c->security_token[0])
		return;
	const char *miss = !tls && !c->security_token[0] ? "cluster TLS and a token" : !tls ? "cluster TLS" : "a token";
	if (push && !listen_is_loopback(c->proxy_push_listen))
		log_warn("proxy: the push receiver listens on %s, beyond loopback, without %s: anyone who reaches it can "
			 "write files below the push directory (set [security] token and cert/key/ca)",
			 c->proxy_push_listen, miss);
	if (!listen_is_loopback(pieces))
		log_warn("proxy: the piece server listens on %s, beyond loopback, without %s: anyone who reaches it can "
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
		return usage("%s needs --install ENGINE", root ? "--root" : uninstall ? "--uninstall" : "--dry-run");
	if (print && install)
		return usage("%s", "--print-config and --install are two different things: one at a time");
	if (engines_parse(name, &kind) != DF_OK)
		return usage(print ? "--print-config '%s': expected containerd, docker or podman"
				   : "--install '%s': expected containerd, docker or podman",
			     name);
	if (!p->nups) {
		const char *why;
		registry_upstream_parse("https://registry-1.docker.io", 28, &p->ups[p->nups++], &why);
	}
	engines_init(&e, p->df->cfg, p->ups, p->nups);
	return print ? engines_print(&e, kind) : proxy_install(&e, kind, root, uninstall, dry_run);
}

/* The proxy's counters as "key: value" lines into b (for /v1/status and /metrics). */
static void status_lines(struct px *p, struct proto_buf *b_)
{
	struct proto_buf b = *b_;
	struct registry_stats rs;
	struct httpproxy_stats hs;
	struct http_server_stats ss;
	registry_get_stats(p->reg, &rs);
	httpproxy_get_stats(p->hp, &hs);
	http_server_get_stats(p->front, &ss);
	proto_put(&b, "role", "proxy");
	proto_put(&b, "version", "%s", DF_VERSION);
	proto_put(&b, "uptime", "%.0f", ev_now(p->loop) - p->started);
	proto_put(&b, "piece-port", "%u", http_server_port(p->pieces));
	for (int i = 0; i < p->nups; i++)
		proto_put(&b, "upstream", "%s %s", p->ups[i].name, p->ups[i].url);
	proto_put(&b, "connections", "%d", ss.conns);
	proto_put(&b, "requests", "%llu", (unsigned long long)ss.requests);
	proto_put(&b, "registry-requests", "%llu", (unsigned long long)rs.requests);
	proto_put(&b, "manifests", "%llu", (unsigned long long)rs.manifests);
	proto_put(&b, "blobs-p2p", "%llu", (unsigned long long)rs.blobs_p2p);
	proto_put(&b, "blob-bytes-p2p", "%llu", (unsigned long long)rs.blob_bytes);
	proto_put(&b, "blobs-direct", "%llu", (unsigned long long)rs.blobs_direct);
	proto_put(&b, "blobs-denied", "%llu", (unsigned long long)rs.denied);
	proto_put(&b, "blob-heads", "%llu", (unsigned long long)rs.heads);
	proto_put(&b, "blobs-supernode-failed", "%llu", (unsigned long long)rs.super_failed);
	if (rs.super_failure[0]) /* text: /metrics leaves it out */
		proto_put(&b, "last-supernode-failure", "%s", rs.super_failure);
	proto_put(&b, "blobs-offline", "%llu", (unsigned long long)rs.offline);
	proto_put(&b, "blobs-offline-refused", "%llu", (unsigned long long)rs.offline_refused);
	proto_put(&b, "blobs-aborted", "%llu", (unsigned long long)rs.aborted);
	proto_put(&b, "relayed", "%llu", (unsigned long long)(rs.relay.started + hs.relay.started));
	proto_put(&b, "relay-failed", "%llu", (unsigned long long)(rs.relay.failed + hs.relay.failed));
	proto_put(&b, "relay-bytes", "%llu", (unsigned long long)(rs.relay.bytes + hs.relay.bytes));
	proto_put(&b, "proxy-requests", "%llu", (unsigned long long)hs.requests);
	proto_put(&b, "proxy-p2p", "%llu", (unsigned long long)hs.p2p);
	proto_put(&b, "tunnels", "%llu", (unsigned long long)hs.tunnels);
	proto_put(&b, "tunnel-failed", "%llu", (unsigned long long)hs.tunnel_failed);
	proto_put(&b, "tunnel-bytes", "%llu", (unsigned long long)hs.tunnel_bytes);
	proto_put(&b, "mitm-tunnels", "%llu", (unsigned long long)hs.mitm_tunnels);
	proto_put(&b, "mitm-failed", "%llu", (unsigned long long)hs.mitm_failed);
	proto_put(&b, "mitm-minted", "%llu", (unsigned long long)hs.mitm_minted);
	proto_put(&b, "mitm-requests", "%llu", (unsigned long long)hs.mitm_requests);
	if (p->df->rates) { /* the host's caps (0: none) and current rates, all its df processes together */
		for (int k = 0; k < HOSTRATE_N; k++) {
			char key[32];
			snprintf(key, sizeof key, "%s-cap", hostrate_names[k]);
			proto_put(&b, key, "%llu", (unsigned long long)hostrate_cap(p->df->rates, k));
			snprintf(key, sizeof key, "%s-rate", hostrate_names[k]);
			proto_put(&b, key, "%.0f", p->df->rates->rate[k]);
		}
	}
	if (p->hd) {
		struct hostd_stats ds;
		hostd_get_stats(p->hd, &ds);
		proto_put(&b, "handoffs", "%llu", (unsigned long long)ds.jobs);
		proto_put(&b, "handoffs-failed", "%llu", (unsigned long long)ds.failed);
	}
	if (p->gc_on) {
		proto_put(&b, "store-bytes", "%llu", (unsigned long long)(p->gc.used_bytes + p->gc.pending));
		proto_put(&b, "store-quota", "%llu", (unsigned long long)p->gc.quota);
		proto_put(&b, "store-evictions", "%llu", (unsigned long long)p->gc.evictions);
		proto_put(&b, "store-evicted-bytes", "%llu", (unsigned long long)p->gc.freed_bytes);
		proto_put(&b, "store-last-gc", "%.0f", p->gc.last_run);
	}
	*b_ = b;
}

/* GET /v1/status on the proxy port: counters as "key: value" lines. */
static void on_status(struct http_req *req, void *ctx)
{
	char mem[4096];
	struct proto_buf b;
	proto_buf_init(&b, mem, sizeof mem);
	status_lines(ctx, &b);
	swarm_reply_lines(req, &b);
}

static int is_gauge(const char *name)
{
	size_t n = strlen(name);
	return strcmp(name, "connections") == 0 || strcmp(name, "uptime") == 0 ||
	       (strncmp(name, "store_", 6) == 0 && strcmp(name, "store_evictions") != 0 && strcmp(name, "store_evicted_bytes") != 0) ||
	       (n > 4 && strcmp(name + n - 4, "_cap") == 0) || (n > 5 && strcmp(name + n - 5, "_rate") == 0);
}

/* GET /metrics: the numeric counters in Prometheus text format (df_proxy_NAME). */
static void on_metrics(struct http_req *req, void *ctx)
{
	char mem[4096], out[8192];
	struct proto_buf b;
	struct proto_line l;
	size_t pos = 0, n = 0;
	proto_buf_init(&b, mem, sizeof mem);
	status_lines(ctx, &b);
	while (proto_next(b.p, b.len, &pos, &l) == DF_OK && n < sizeof out - 128) {
		uint64_t v;
		char name[64];
		if (proto_u64(l.val, &v) != DF_OK || slice_copy(l.key, name, sizeof name) != 0)
			continue;
		for (char *c = name; *c; c++)
			if (*c == '-')
				*c = '_';
		n += (size_t)snprintf(out + n, sizeof out - n, "# TYPE df_proxy_%s %s\ndf_proxy_%s %llu\n", name,
				      is_gauge(name) ? "gauge" : "counter", name,
				      (unsigned long long)v);
	}
	http_reply(req, 200, "Content-Type: text/plain; version=0.0.4\r\n", out, n);
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
	ratelimit_set(&p->rx, df->cfg->get_limit_rate, 0, ev_now(p->loop));
}

static int run(struct df *df, struct opt_result *r)
{
	struct df_config *c = df->cfg;
	char err[512];
	int rc = DF_EXIT_FAIL;
	struct px *p = calloc(1, sizeof *p);
	const char *print = NULL, *install = NULL, *root = NULL;
	int uninstall = 0, dry_run = 0;
	if (!p) {
		log_user_error("proxy", "out of memory");
		return DF_EXIT_FAIL;
	}
	p->df = df;
	if (r->nargs) {
		free(p);
		return usage("unexpected argument '%s'", r->args[0]);
	}
	int cli_ups = 0, cli_rules = 0, cli_mitm = 0;
	for (int i = 0; i < r->nvals; i++) {
		const char *a = r->vals[i].arg;
		switch (r->vals[i].id) {
		case OPT_REGISTRY:
			cli_ups = 1;
			if ((rc = add_upstream(p, a, strlen(a))) != DF_EXIT_OK)
				goto out;
			break;
		case OPT_RULE:
			cli_rules = 1;
			if ((rc = regex_add(&p->rules, a, "--proxy-rule")) != DF_EXIT_OK)
				goto out;
			break;
		case OPT_MITM:
			cli_mitm = 1;
			if ((rc = regex_add(&p->mitm, a, "--mitm-host")) != DF_EXIT_OK)
				goto out;
			break;
		case OPT_PRINT:
			print = a;
			break;
		case OPT_INSTALL:
			install = a;
			break;
		case OPT_UNINSTALL:
			uninstall = 1;
			break;
		case OPT_DRY_RUN:
			dry_run = 1;
			break;
		case OPT_ROOT:
			root = a;
			break;
		}
	}
	if (!cli_ups && (rc = upstreams_from_config(p, c->proxy_registries)) != DF_EXIT_OK)
		goto out;
	if (!cli_rules && (rc = regexes_from_config(&p->rules, c->proxy_rules, "rules", "--proxy-rule")) != DF_EXIT_OK)
		goto out;
	if (!cli_mitm && (rc = regexes_from_config(&p->mitm, c->proxy_mitm_host, "mitm_host", "--mitm-host")) != DF_EXIT_OK)
		goto out;
	if (print || install || root || uninstall || dry_run) {
		rc = engine_config(p, print, install, root, uninstall, dry_run);
		goto out;
	}
	if (p->mitm.n && (!c->proxy_ca_cert[0] || !c->proxy_ca_key[0])) {
		rc = usage("--mitm-host needs --ca-cert and --ca-key (the CA that signs what intercepted clients see): %s",
			   c->proxy_ca_cert[0] ? "no --ca-key given" : "no --ca-cert given");
		goto out;
	}
	for (int i = 0; i < p->rules.n; i++) {
		/* a bad rule is a usage error, found before anything starts */
		regex_t rx;
		int e = regcomp(&rx, p->rules.v[i], REG_EXTENDED | REG_NOSUB);
		if (e != 0) {
			char why[256];
			regerror(e, &rx, why, sizeof why);
			fprintf(stderr, "df: proxy: --proxy-rule '%s': %s\nTry 'df proxy --help'.\n", p->rules.v[i], why);
			rc = DF_EXIT_USAGE;
			goto out;
		}
		regfree(&rx);
	}
	rc = DF_EXIT_FAIL;
	log_set_daemon(1);
	int tls = daemon_token(df, 1) == DF_OK ? daemon_cluster_tls(df) : DF_ERR;
	if (tls < 0) {
		rc = DF_EXIT_USAGE;
		goto out;
	}
	if (daemon_open_store(df) != DF_OK)
		goto out;
	p->loop = df->loop = ev_default_loop(0);
	p->started = ev_now(p->loop);
	/* the front is plain HTTP for container engines; the piece server speaks cluster TLS when set */
	struct http_server_cfg fcfg = {.name = "df/" DF_VERSION}, pcfg = {.name = "df/" DF_VERSION};
	daemon_server_cfg(df, &pcfg);
	p->front = http_server_new(p->loop, &fcfg);
	p->pieces = http_server_new(p->loop, &pcfg);
	if (!p->front || !p->pieces) {
		log_user_error("proxy", "out of memory");
		goto out;
	}
	if (http_server_listen(p->front, c->proxy_listen, err, sizeof err) != DF_OK ||
	    daemon_listen_peer(df, p->pieces, NULL, err, sizeof err) != DF_OK) {
		log_user_error("proxy", "%s", err);
		goto out;
	}
	double timeout = c->get_timeout > 0 ? (double)c->get_timeout : 0;
	ratelimit_init(&p->rx, c->get_limit_rate, 0, ev_now(p->loop));
	/* its own --limit-rate (set always, so a reload can turn it on) and the host's download cap */
	p->client = daemon_client(df, p->loop, daemon_rx(df, &p->rx), timeout);
	if (!p->client)
		goto out;
	if (tls && !(p->cluster = daemon_cluster_client(df, p->loop, daemon_rx(df, &p->rx), timeout)))
		goto out;
	if (storegc_init(&p->gc, p->loop, df->store, c->store_quota, (uint64_t)c->store_max_idle, err, sizeof err) != DF_OK) {
		log_user_error("proxy", "%s", err);
		goto out;
	}
	struct swarm_peer_cfg sc = {
		.loop = p->loop, .client = p->client, .cluster = p->cluster, .cluster_tls = tls, .server = p->pieces,
		.store = df->store, .supernodes = c->get_supernode,
		.token = c->security_token, .advertise = c->get_advertise, .filter = c->get_filter,
		.back_to_source = c->get_back_to_source, .supernode_retry = (double)c->get_supernode_retry, .piece_size = (uint32_t)c->supernode_piece_size, .timeout = timeout,
		.min_piece_rate = c->get_min_piece_rate, .limit_rate = c->get_limit_rate,
		.stall_timeout = (double)c->get_stall_timeout,
		.piece_digest = (enum digest_piece_algo)digest_piece_algo_parse(c->security_piece_digest),
		.gc = &p->gc,
	};
	p->peer = swarm_peer_new(&sc, err, sizeof err);
	if (!p->peer) {
		log_user_error("proxy", "%s", err);
		goto out;
	}
	char authmem[4200];
	snprintf(authmem, sizeof authmem, "%s/proxy-authmem", store_root(df->store));
	struct registry_cfg rcfg = {
		.loop = p->loop, .client = p->client, .peer = p->peer, .store = df->store, .upstreams = p->ups,
		.nupstreams = p->nups, .timeout = timeout, .offline_serve = c->proxy_offline_serve,
		.offline_remember = c->proxy_offline_remember, .authmem_path = authmem,
	};
	p->reg = registry_new(&rcfg, err, sizeof err);
	struct httpproxy_cfg hcfg = {
		.loop = p->loop, .client = p->client, .registry = p->reg, .rules = p->rules.v, .nrules = p->rules.n, .p2p = 1,
		.timeout = timeout, .mitm_hosts = p->mitm.v, .nmitm = p->mitm.n, .ca_cert = c->proxy_ca_cert,
		.ca_key = c->proxy_ca_key,
	};
	p->hp = p->reg ? httpproxy_new(&hcfg, err, sizeof err) : NULL;
	if (!p->reg || !p->hp) {
		log_user_error("proxy", "%s", err);
		rc = p->reg ? DF_EXIT_USAGE : DF_EXIT_FAIL;
		goto out;
	}
	if (registry_route(p->reg, p->front) != DF_OK || httpproxy_route(p->hp, p->front) != DF_OK ||
	    http_server_route(p->front, "GET", "/v1/status", on_status, p) != DF_OK ||
	    http_server_route(p->front, "GET", "/metrics", on_metrics, p) != DF_OK) {
		log_user_error("proxy", "out of memory");
		goto out;
	}
	if (c->proxy_metrics_listen[0]) {
		struct http_server_cfg mcfg = {.name = "df/" DF_VERSION};
		p->metrics = http_server_new(p->loop, &mcfg);
		if (!p->metrics || http_server_listen(p->metrics, c->proxy_metrics_listen, err, sizeof err) != DF_OK ||
		    http_server_route(p->metrics, "GET", "/metrics", on_metrics, p) != DF_OK) {
			log_user_error("proxy", "metrics listener: %s", p->metrics ? err : "out of memory");
			goto out;
		}
	}
	char sock[4096];
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
		struct pushrecv_cfg prc = {.loop = p->loop, .peer = p->peer, .push_dir = dir, .token = c->security_token,
					   .special_modes = c->proxy_push_special_modes};
		if (http_server_listen(p->pieces, c->proxy_push_listen, err, sizeof err) != DF_OK ||
		    !(p->push = pushrecv_new(&prc, p->pieces, err, sizeof err))) {
			log_user_error("proxy", "push receiver: %s", err);
			goto out;
		}
	}
	struct hostd_cfg dcfg = {.loop = p->loop, .peer = p->peer, .store = df->store, .path = sock};
	p->hd = hostd_new(&dcfg, err, sizeof err);
	if (!p->hd) {
		log_user_error("proxy", "%s", err);
		goto out;
	}
	p->gc.release = swarm_peer_release;
	p->gc.arg = p->peer;
	p->gc_on = 1;
	storegc_start(&p->gc, storegc_interval(p->gc.max_idle));
	warn_exposed(c, tls, p->push != NULL, http_server_port(p->pieces));
	loop_signals_start(p->loop, &p->sig, on_stop, p);
	if (daemon_live_start(df, p->loop, on_reload, p) != DF_OK) {
		log_user_error("proxy", "out of memory");
		goto out;
	}
	log_info("proxy listening on %s (mirror of %s%s), piece server on port %u, push receiver %s, supernodes %s, store %s",
		 c->proxy_listen, p->nups ? p->ups[0].url : "no registry", p->nups > 1 ? " and more" : "",
		 http_server_port(p->pieces), p->push ? c->proxy_push_listen : "off",
		 c->get_supernode[0] ? c->get_supernode : "none (straight from the upstream)", store_root(df->store));
	ev_run(p->loop, 0);
	loop_signals_stop(p->loop, &p->sig);
	rc = DF_EXIT_OK;
out:
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
	daemon_close(df);
	free(p);
	return rc;
}

const struct cmd_desc cmd_proxy = {
	.name = "proxy",
	.summary = "run the host daemon: registry mirror and HTTP proxy whose pulls go P2P, piece server",
	.synopsis = "[--listen [ADDR]:PORT] [--registry URL]... [--supernode HOST:PORT] [OPTIONS]\n"
		    "       df proxy --print-config ENGINE | --install ENGINE [--uninstall] [--dry-run] [--root DIR] [OPTIONS]",
	.sections = sections,
	.opts = opts,
	.nopts = (int)DF_ARRAY_LEN(opts),
	.run = run,
};
