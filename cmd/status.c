/* `df status`: what a supernode is doing — tasks, progress, peers, bytes by origin — as text for
 * people or JSON for machines (fetched from its /v1/status). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/daemon.h"
#include "core/config.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/proto.h"
#include "net/http_client.h"
#include "swarm/auth.h"

enum { OPT_SUPERNODE = 1, OPT_JSON, OPT_PROXY, OPT_WATCH };

static const struct opt_spec opts[] = {
	{"supernode", 0, 1, OPT_SUPERNODE, "HOST:PORT",
	 "the supernode to ask (default: [get] supernode, else the local df proxy)"},
	{"proxy", 0, 1, OPT_PROXY, "HOST:PORT", "ask a host's df proxy instead (default: [proxy] listen of this host)"},
	{"json", 0, 0, OPT_JSON, NULL, "print JSON instead of text"},
	{"watch", 'w', 1, OPT_WATCH, "SECONDS", "redraw every SECONDS until interrupted (text only)"},
};
static const char *const sections[] = {"security", NULL};

struct st {
	struct ev_loop *loop;
	int status, rc;
	int proxy; /* the proxy answers "key: value" lines: collected, then printed (proxy_summary) */
	int json;
	char target[160];
	char msg[512];
	char lines[16384];
	size_t llen;
};

static int on_resp(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	((struct st *)ctx)->status = r->status;
	return DF_OK;
}

static int on_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct st *s = ctx;
	if (s->proxy) {
		size_t n = DF_MIN(len, sizeof s->lines - 1 - s->llen);
		memcpy(s->lines + s->llen, data, n);
		s->llen += n;
		return DF_OK;
	}
	return fwrite(data, 1, len, stdout) == len ? DF_OK : DF_ERR;
}

/* The proxy's "key: value" lines as one JSON object (repeated keys become arrays of strings). */
static void print_lines_json(const char *buf, size_t len)
{
	struct jsonw w;
	struct proto_line l;
	size_t pos = 0;
	jsonw_init(&w, 1u << 20);
	jsonw_obj_open(&w, NULL);
	while (proto_next(buf, len, &pos, &l) == DF_OK) {
		char key[64];
		if (slice_copy(l.key, key, sizeof key) != 0)
			continue;
		for (char *k = key; *k; k++)
			if (*k == '-')
				*k = '_';
		uint64_t v;
		if (proto_u64(l.val, &v) == DF_OK)
			jsonw_u64(&w, key, v);
		else
			jsonw_strn(&w, key, l.val.p, l.val.n);
	}
	jsonw_obj_close(&w);
	printf("%s", w.p ? w.p : "{}");
	jsonw_free(&w);
}

/* One counter of the proxy's lines (0 when absent), and one line's text ("" when absent). */
static uint64_t num(const char *buf, size_t len, const char *key)
{
	struct proto_line l;
	size_t pos = 0;
	uint64_t v;
	while (proto_next(buf, len, &pos, &l) == DF_OK)
		if (slice_eq(l.key, key) && proto_u64(l.val, &v) == DF_OK)
			return v;
	return 0;
}

static struct slice text(const char *buf, size_t len, const char *key)
{
	struct proto_line l;
	size_t pos = 0;
	while (proto_next(buf, len, &pos, &l) == DF_OK)
		if (slice_eq(l.key, key))
			return l.val;
	return (struct slice){"", 0};
}

/* A size as progress shows it, into one of a few rotating buffers (several per printf). */
static const char *sz(uint64_t n)
{
	static char bufs[8][32];
	static int k;
	char *b = bufs[k++ % 8];
	progress_size(n, b, sizeof bufs[0]);
	return b;
}

/* What a person asks of a host: the proxy's counters grouped into a few sentences, the raw lines
 * after them (scripts read those, or --json). */
static void proxy_summary(const char *target, const char *b, size_t n)
{
#define N(k) num(b, n, k)
	struct slice ver = text(b, n, "version");
	printf("df proxy %.*s at %s, up %llu s, piece server on port %llu; %llu connections, %llu requests\n",
	       (int)ver.n, ver.p, target, (unsigned long long)N("uptime"), (unsigned long long)N("piece-port"),
	       (unsigned long long)N("connections"), (unsigned long long)N("requests"));
	uint64_t gc = N("store-last-gc"), now = (uint64_t)time(NULL);
	printf("store: %s of %s quota, %llu tasks evicted (%s), last GC %s%llu%s\n", sz(N("store-bytes")),
	       N("store-quota") ? sz(N("store-quota")) : "no", (unsigned long long)N("store-evictions"),
	       sz(N("store-evicted-bytes")), gc ? "" : "never",
	       gc ? (unsigned long long)(now > gc ? now - gc : 0) : 0ULL, gc ? " s ago" : "");
	static const char *const dir[] = {"upload", "download", "source"};
	printf("host rates:");
	for (int k = 0; k < 3; k++) {
		char rk[32], ck[32];
		snprintf(rk, sizeof rk, "%s-rate", dir[k]);
		snprintf(ck, sizeof ck, "%s-cap", dir[k]);
		uint64_t cap = N(ck);
		printf("%s %s %s/s (%s%s%s)", k ? "," : "", dir[k], sz(N(rk)), cap ? "cap " : "no cap",
		       cap ? sz(cap) : "", cap ? "/s" : "");
	}
	printf("\nregistry mirror: %llu manifests (%llu from the offline copy), %llu blobs through the swarm (%s), "
	       "%llu straight from the registry, %llu refused, %llu cut short\n",
	       (unsigned long long)N("manifests"), (unsigned long long)N("manifests-offline"),
	       (unsigned long long)N("blobs-p2p"), sz(N("blob-bytes-p2p")), (unsigned long long)N("blobs-direct"),
	       (unsigned long long)N("blobs-denied"), (unsigned long long)N("blobs-aborted"));
	struct slice sf = text(b, n, "last-supernode-failure");
	if (N("blobs-supernode-failed"))
		printf("  the supernode failed %llu blobs; the last: %.*s\n",
		       (unsigned long long)N("blobs-supernode-failed"), (int)sf.n, sf.p);
	printf("HTTP proxy: %llu requests, %llu through the swarm, %llu relayed (%s), %llu failed; %llu tunnels (%s, "
	       "%llu failed), %llu opened here (MITM)\n",
	       (unsigned long long)N("proxy-requests"), (unsigned long long)N("proxy-p2p"),
	       (unsigned long long)N("relayed"), sz(N("relay-bytes")), (unsigned long long)N("relay-failed"),
	       (unsigned long long)N("tunnels"), sz(N("tunnel-bytes")), (unsigned long long)N("tunnel-failed"),
	       (unsigned long long)N("mitm-tunnels"));
	printf("df get hand-offs: %llu (%llu failed)\n\ncounters:\n", (unsigned long long)N("handoffs"),
	       (unsigned long long)N("handoffs-failed"));
#undef N
	fwrite(b, 1, n, stdout);
}

static void on_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct st *s = ctx;
	s->rc = rc;
	if (msg)
		snprintf(s->msg, sizeof s->msg, "%s", msg);
	ev_break(s->loop, EVBREAK_ALL);
}

static int run(struct df *df, struct opt_result *r)
{
	struct st s = {.rc = DF_ERR};
	int json = 0, proxy = 0;
	double watch = 0;
	const char *target = NULL;
	char url[256], err[512], tok[AUTH_HEADER_MAX];
	for (int i = 0; i < r->nvals; i++) {
		if (r->vals[i].id == OPT_SUPERNODE)
			target = r->vals[i].arg;
		if (r->vals[i].id == OPT_JSON)
			json = 1;
		if (r->vals[i].id == OPT_WATCH) {
			char *end;
			watch = strtod(r->vals[i].arg, &end);
			if (*end || watch < 0.2 || watch > 86400) {
				return cmd_usage("status", "--watch '%s': expected seconds from 0.2 to 86400",
						 r->vals[i].arg);
			}
		}
		if (r->vals[i].id == OPT_PROXY) {
			target = r->vals[i].arg;
			proxy = 1;
		}
	}
	if (!target) {
		size_t n = strcspn(df->cfg->get_supernode, ", ");
		snprintf(s.target, sizeof s.target, "%.*s", (int)n, df->cfg->get_supernode);
		if (!s.target[0]) { /* no supernode configured: this host's df proxy */
			snprintf(s.target, sizeof s.target, "%s", df->cfg->proxy_listen);
			proxy = 1;
		}
	} else {
		snprintf(s.target, sizeof s.target, "%s", target);
	}
	if (daemon_token(df, 0) != DF_OK)
		return DF_EXIT_USAGE;
	int tls = daemon_cluster_tls(df);
	if (tls < 0)
		return DF_EXIT_USAGE;
	s.loop = ev_default_loop(0);
	struct http_client *cl =
		tls && !proxy ? daemon_cluster_client(df, s.loop, NULL, 0) : daemon_client(df, s.loop, NULL, 0);
	if (!cl)
		return DF_EXIT_FAIL;
	/* the proxy's status is on its mirror port: plain HTTP, local */
	if (proxy)
		snprintf(url, sizeof url, "http://%s/v1/status", s.target);
	else
		snprintf(url, sizeof url, "%s://%s/v1/status%s", tls ? "https" : "http", s.target,
			 json ? "?format=json" : "");
	s.proxy = proxy;
	s.json = json;

	struct http_request req = {
		.url = url,
		.headers = auth_header(df->cfg->security_token, tok, sizeof tok),
		.fail_status = 1,
		.what = proxy ? "df proxy" : "supernode",
		.on_response = on_resp,
		.on_body = on_body,
		.on_done = on_done,
		.ctx = &s,
		.connect_timeout = 5,
		.first_byte_timeout = 10,
	};
	if (watch > 0 && json)
		watch = 0; /* JSON is for machines: one answer */
	for (;;) {
		if (watch > 0)
			printf("\033[H\033[2J"); /* redraw in place: home, clear */
		if (!http_client_request(cl, &req, err, sizeof err)) {
			log_user_error("status", "%s: %s", s.target, err);
			http_client_free(cl);
			daemon_close(df);
			return DF_EXIT_USAGE;
		}
		s.llen = 0;
		ev_run(s.loop, 0);
		if (proxy && !json && s.rc == DF_OK)
			proxy_summary(s.target, s.lines, s.llen);
		fflush(stdout);
		if (watch <= 0 || s.rc != DF_OK)
			break;
		usleep((useconds_t)(watch * 1e6)); /* Ctrl-C ends the watch: the default action */
	}
	http_client_free(cl);
	daemon_close(df);
	if (proxy && json && s.rc == DF_OK)
		print_lines_json(s.lines, s.llen);
	if (json)
		putchar('\n');
	fflush(stdout);
	if (s.rc != DF_OK && !target && proxy && !s.status) {
		/* nothing named and no daemon here: say what was asked and how to ask something else */
		log_user_error("status",
			       "no df proxy answers on this host's %s (%s); start one (df proxy), or ask a "
			       "supernode: df status --supernode HOST:PORT",
			       s.target, s.msg);
		return DF_EXIT_FAIL;
	}
	if (s.rc != DF_OK) {
		log_user_error("status", "%s: %s", s.target, s.msg);
		return DF_EXIT_FAIL;
	}
	return DF_EXIT_OK;
}

const struct cmd_desc cmd_status = {
	.name = "status",
	.summary = "show what a supernode (tasks, peers, bytes by origin) or a host's df proxy is doing",
	.synopsis = "[--supernode HOST:PORT | --proxy HOST:PORT] [--json] [--watch SECONDS]",
	.sections = sections,
	.opts = opts,
	.nopts = (int)DF_ARRAY_LEN(opts),
	.min_args = 0,
	.max_args = 0,
	.run = run,
};
