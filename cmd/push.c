/* `df push FILE --group hosts.txt`: put a file on every host of a group through the swarm. The pusher
 * serves FILE once to the supernode (preheat), then tells each host's df proxy to fetch it P2P and
 * write it to --dest, showing live per-host progress. `df push --preheat URL` only warms the supernode.
 * `df push --image REF` preheats an image's blobs (resolved by swarm/image.c) and, with hosts, has
 * each host's df proxy fetch them into its store for its registry mirror. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/daemon.h"
#include "core/config.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/taskid.h"
#include "net/http_client.h"
#include "swarm/auth.h"
#include "swarm/image.h"
#include "swarm/pusher.h"

enum {
	OPT_GROUP = 1,
	OPT_HOST,
	OPT_DEST,
	OPT_MODE,
	OPT_PARALLEL,
	OPT_DIGEST,
	OPT_JSON,
	OPT_PREHEAT,
	OPT_PTIMEOUT,
	OPT_IMAGE,
	OPT_PLATFORM,
	OPT_ALL_PLATFORMS,
	OPT_CREDS,
	OPT_AUTH_FILE,
	OPT_PLAIN_HTTP,
};

static const struct opt_spec opts[] = {
	{"group", 'g', 1, OPT_GROUP, "FILE",
	 "hosts, one host[:port] of its df proxy per line ('-': stdin; # comments)"},
	{"host", 0, 1, OPT_HOST, "HOST[:PORT]", "a host to push to (repeatable)"},
	{"dest", 'd', 1, OPT_DEST, "PATH",
	 "where each host writes the file, below its push directory (default: FILE's name)"},
	{"mode", 'm', 1, OPT_MODE, "OCTAL",
	 "file mode on the hosts (default 0644); setuid, setgid and sticky bits only where the host sets [proxy] "
	 "push_special_modes"},
	{"parallel", 'P', 1, OPT_PARALLEL, "N", "hosts told at once (default 64)"},
	{"digest", 0, 1, OPT_DIGEST, "sha256:HEX", "FILE's sha256 when known (else computed)"},
	{"json", 0, 0, OPT_JSON, NULL, "print the result as JSON"},
	{"preheat", 0, 1, OPT_PREHEAT, "URL", "only make the supernode fetch URL (no hosts)"},
	{"push-timeout", 0, 1, OPT_PTIMEOUT, "SECONDS", "give up on a host after this long (default 3600)"},
	{"image", 0, 1, OPT_IMAGE, "REF",
	 "an image ([REGISTRY/]REPO[:TAG][@sha256:HEX]): preheat its config and layers, and put them in each host's "
	 "store for its df proxy"},
	{"platform", 0, 1, OPT_PLATFORM, "OS/ARCH[/VARIANT]",
	 "--image: the manifest of a multi-platform image to take (default: this machine's)"},
	{"all-platforms", 0, 0, OPT_ALL_PLATFORMS, NULL, "--image: every platform's manifest"},
	{"creds", 0, 1, OPT_CREDS, "USER:PASSWORD",
	 "--image: registry credentials (else --auth-file, $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, "
	 "$DOCKER_CONFIG/config.json; else none)"},
	{"auth-file", 0, 1, OPT_AUTH_FILE, "FILE",
	 "--image: registry credentials from this docker config.json / containers auth.json"},
	{"plain-http", 0, 0, OPT_PLAIN_HTTP, NULL,
	 "--image: reach the registry over http when https is not answered (always so on loopback)"},
};
static const char *const sections[] = {"get", "security", NULL};

/* What the command keeps besides the engine: how it prints. */
struct push {
	struct pusher p;
	struct df *df;
	int json, tty, drawn;
	const struct image_plan *image;
};

/* ---- output ---- */

static void draw(struct pusher *ps)
{
	struct push *p = ps->ctx;
	if (p->json)
		return;
	if (!p->tty) {
		/* not a terminal: one line per host as it ends */
		for (int i = 0; i < ps->nhosts; i++) {
			struct pusher_host *h = &ps->hosts[i];
			if ((h->state == PUSHER_OK || h->state == PUSHER_FAIL) && !h->reported) {
				h->reported = 1;
				printf("%-28s %-8s %s\n", h->name, pusher_hstate_names[h->state],
				       h->state == PUSHER_OK ? h->path : h->why);
			}
		}
		fflush(stdout);
		return;
	}
	if (p->drawn)
		printf("\033[%dA", p->drawn);
	p->drawn = 0;
	for (int i = 0; i < ps->nhosts; i++) {
		struct pusher_host *h = &ps->hosts[i];
		char rate[32] = "";
		int pct = h->total ? (int)(h->have * 100 / h->total) : 0;
		if (h->state == PUSHER_RUN) {
			char sz[24];
			progress_size((uint64_t)h->meter.rate, sz, sizeof sz);
			snprintf(rate, sizeof rate, "%s/s", sz);
		}
		printf("\033[2K%-28s %-8s %3d%% %12s  %.60s\n", h->name, pusher_hstate_names[h->state],
		       h->state == PUSHER_OK ? 100 : pct, rate, h->state == PUSHER_FAIL ? h->why : "");
		p->drawn++;
	}
	fflush(stdout);
}

/* ---- the command ---- */

static void print_json(struct push *p)
{
	struct pusher *ps = &p->p;
	struct jsonw w;
	int ok = 0;
	jsonw_init(&w, 16u << 20);
	jsonw_obj_open(&w, NULL);
	if (p->image) {
		const struct image_plan *im = p->image;
		char ref[800];
		snprintf(ref, sizeof ref, "%s/%s%s%s%s%s", im->ref.registry, im->ref.repo, im->ref.tag[0] ? ":" : "",
			 im->ref.tag, im->ref.digest[0] ? "@" : "", im->ref.digest);
		jsonw_str(&w, "image", ref);
		jsonw_str(&w, "digest", im->digest);
		jsonw_str(&w, "platforms", im->platforms);
		jsonw_arr_open(&w, "blobs");
		for (int i = 0; i < im->nblobs; i++) {
			jsonw_obj_open(&w, NULL);
			jsonw_str(&w, "digest", im->blobs[i].digest);
			jsonw_u64(&w, "size", im->blobs[i].size);
			jsonw_str(&w, "kind", im->blobs[i].config ? "config" : "layer");
			jsonw_obj_close(&w);
		}
		jsonw_arr_close(&w);
		jsonw_u64(&w, "bytes", im->bytes);
	} else {
		jsonw_str(&w, "url", ps->url);
		jsonw_str(&w, "digest", ps->digest);
	}
	jsonw_arr_open(&w, "hosts");
	for (int i = 0; i < ps->nhosts; i++) {
		struct pusher_host *h = &ps->hosts[i];
		ok += h->state == PUSHER_OK;
		jsonw_obj_open(&w, NULL);
		jsonw_str(&w, "host", h->name);
		jsonw_str(&w, "state", pusher_hstate_names[h->state]);
		jsonw_u64(&w, "bytes", h->have);
		jsonw_f64(&w, "seconds", h->ended > h->started ? h->ended - h->started : 0);
		if (h->state == PUSHER_OK)
			jsonw_str(&w, p->image ? "result" : "path", h->path);
		else
			jsonw_str(&w, "error", h->why);
		jsonw_obj_close(&w);
	}
	jsonw_arr_close(&w);
	jsonw_u64(&w, "ok", (uint64_t)ok);
	jsonw_u64(&w, "failed", (uint64_t)(ps->nhosts - ok));
	jsonw_obj_close(&w);
	printf("%s\n", w.p ? w.p : "{}");
	jsonw_free(&w);
}

/* Tells every host with the live table (drawn only on a terminal); returns how many ended ok. */
static int run_hosts(struct push *p, int announce)
{
	p->tty = isatty(1) && !p->json;
	return pusher_run_hosts(&p->p, announce);
}

static void print_failed(const struct push *p)
{
	for (int i = 0; i < p->p.nhosts; i++)
		if (p->p.hosts[i].state != PUSHER_OK)
			printf("  failed: %s: %s\n", p->p.hosts[i].name,
			       p->p.hosts[i].why[0] ? p->p.hosts[i].why : "not started");
}

/* The flags of --image. */
struct image_args {
	const char *ref, *platform, *creds, *auth_file;
	int all_platforms, plain_http;
};

/* Registers every blob first, so the supernode fetches them all at once; then waits for each. */
static int preheat_blobs(struct push *p, const struct image_plan *plan)
{
	char err[1024];
	char(*ids)[TASKID_MAX] = calloc((size_t)plan->nblobs + 1, sizeof *ids);
	int rc = ids ? DF_OK : DF_ERR;
	for (int i = 0; rc == DF_OK && i < plan->nblobs; i++)
		rc = pusher_preheat(&p->p, plan->blobs[i].url, plan->blobs[i].digest, plan->auth, ids[i], err,
				    sizeof err);
	for (int i = 0; rc == DF_OK && i < plan->nblobs; i++)
		rc = pusher_wait_complete(&p->p, ids[i], err, sizeof err);
	if (rc != DF_OK)
		log_user_error("push", "%s", ids ? err : "out of memory");
	free(ids);
	return rc;
}

/* Has every host fetch the resolved image's blobs into its store; prints the outcome. */
static int image_to_hosts(struct push *p, const struct image_plan *plan, const char *size)
{
	if (pusher_image_body(&p->p, plan) != DF_OK) {
		log_user_error("push", "out of memory");
		return DF_EXIT_FAIL;
	}
	int ok = run_hosts(p, 0);
	if (p->json) {
		print_json(p);
	} else {
		printf("%d/%d ok, %d failed; %d blob%s (%s) of %s/%s in each host's store\n", ok, p->p.nhosts,
		       p->p.nhosts - ok, plan->nblobs, plan->nblobs == 1 ? "" : "s", size, plan->ref.registry,
		       plan->ref.repo);
		print_failed(p);
	}
	return ok == p->p.nhosts ? DF_EXIT_OK : DF_EXIT_FAIL;
}

/* df push --image REF: resolve, preheat every blob at the supernode, then (with hosts) have each
 * host fetch them into its store. */
static int push_image(struct push *p, const struct image_args *ia)
{
	char err[1024], size[32];
	struct image_plan plan;
	struct image_cfg ic = {
		.loop = p->p.loop,
		.client = NULL,
		.ref = ia->ref,
		.creds = ia->creds,
		.auth_file = ia->auth_file,
		.platform = ia->platform,
		.all_platforms = ia->all_platforms,
		.plain_http = ia->plain_http,
		.timeout = p->df->cfg->get_timeout > 0 ? p->df->cfg->get_timeout : 60,
	};
	/* the registry is a source: [common] cacert and insecure, not the cluster's TLS */
	ic.client = daemon_client(p->df, p->p.loop, NULL, 0);
	if (!ic.client)
		return DF_EXIT_FAIL;
	int rc = image_resolve(&ic, &plan, err, sizeof err);
	if (rc != DF_OK) {
		log_user_error("push", "%s", err);
		http_client_free(ic.client);
		return DF_EXIT_FAIL;
	}
	p->image = &plan;
	progress_size(plan.bytes, size, sizeof size);
	if (!p->json)
		fprintf(stderr, "df: image %s/%s@%s%s%s: %d blob%s (%s)%s%s%s, via supernode %s\n", plan.ref.registry,
			plan.ref.repo, plan.digest, plan.platforms[0] ? " for " : "", plan.platforms, plan.nblobs,
			plan.nblobs == 1 ? "" : "s", size, plan.creds_from[0] ? "; credentials from " : "",
			plan.creds_from, plan.skipped ? "; foreign layers left out" : "", p->p.super);
	rc = preheat_blobs(p, &plan) == DF_OK ? DF_EXIT_OK : DF_EXIT_FAIL;
	/* the hosts register with the registry's authorization too: a token as fresh as can be, since
	 * tokens expire (Docker Hub's in 300 s) and the preheat may have taken longer */
	if (rc == DF_EXIT_OK && p->p.nhosts && strncmp(plan.auth, DF_LIT("Authorization: Bearer ")) == 0 &&
	    image_reauth(&ic, &plan, err, sizeof err) != DF_OK) {
		log_user_error("push", "%s", err);
		rc = DF_EXIT_FAIL;
	}
	http_client_free(ic.client);
	if (rc == DF_EXIT_OK && p->p.nhosts)
		rc = image_to_hosts(p, &plan, size);
	else if (rc == DF_EXIT_OK && p->json)
		print_json(p);
	else if (rc == DF_EXIT_OK)
		printf("preheated %s/%s@%s at %s: %d blob%s, %s\n", plan.ref.registry, plan.ref.repo, plan.digest,
		       p->p.super, plan.nblobs, plan.nblobs == 1 ? "" : "s", size);
	image_plan_free(&plan);
	p->image = NULL;
	return rc;
}

/* df push --preheat URL */
static int push_preheat(struct push *p, const char *url, const char *digest)
{
	char id[TASKID_MAX], err[1024];
	if (pusher_preheat(&p->p, url, digest ? digest : "", NULL, id, err, sizeof err) != DF_OK ||
	    pusher_wait_complete(&p->p, id, err, sizeof err) != DF_OK) {
		log_user_error("push", "%s", err);
		return DF_EXIT_FAIL;
	}
	if (!p->json)
		printf("preheated %s at %s (task %s)\n", url, p->p.super, id);
	return DF_EXIT_OK;
}

/* df push FILE: hash it, serve it to the supernode (the push's only source, at an address it can
 * reach), preheat, then tell the hosts. */
static int push_file(struct push *p, const char *file, const char *digest)
{
	struct pusher *ps = &p->p;
	struct df *df = p->df;
	char err[1024], id[TASKID_MAX];
	int rc = pusher_hash_file(ps, file, digest, err, sizeof err);
	if (rc != DF_OK) {
		log_user_error("push", "%s", err);
		return rc == DF_AGAIN ? DF_EXIT_DIGEST : DF_EXIT_USAGE;
	}
	if (!ps->dest[0]) {
		const char *slash = strrchr(file, '/');
		snprintf(ps->dest, sizeof ps->dest, "%s", slash ? slash + 1 : file);
	}
	/* the request is lines of text: a newline would cut the path (or add a line), so refuse */
	for (const char *c = ps->dest; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			log_user_error("push", "--dest '%.*s...': a control character (0x%02x) follows; refused",
				       (int)(c - ps->dest), ps->dest, (unsigned char)*c);
			return DF_EXIT_USAGE;
		}
	struct http_server_cfg sc = {.name = "df/" DF_VERSION};
	daemon_server_cfg(df, &sc);
	const char *listen = df->cfg->get_peer_listen[0] ? df->cfg->get_peer_listen : ":0";
	if (pusher_serve_file(ps, df->cfg->security_token, &sc, listen, df->cfg->get_advertise, err, sizeof err) !=
	    DF_OK) {
		log_user_error("push", "%s", err);
		return DF_EXIT_FAIL;
	}
	char size[32];
	progress_size(pusher_file_size(ps), size, sizeof size);
	if (!p->json)
		fprintf(stderr, "df: pushing %s (%s, %.19s…) to %d host%s via supernode %s\n", file, size, ps->digest,
			ps->nhosts, ps->nhosts == 1 ? "" : "s", ps->super);
	if (pusher_preheat(ps, ps->url, ps->digest, NULL, id, err, sizeof err) != DF_OK) {
		log_user_error("push", "%s", err);
		return DF_EXIT_FAIL;
	}
	int ok = run_hosts(p, 1);
	if (p->json) {
		print_json(p);
	} else {
		char sent[32];
		progress_size(pusher_file_sent(ps), sent, sizeof sent);
		printf("%d/%d ok, %d failed; this machine sent %s for a %s file\n", ok, ps->nhosts, ps->nhosts - ok,
		       sent, size);
		print_failed(p);
	}
	return ok == ps->nhosts ? DF_EXIT_OK : DF_EXIT_FAIL;
}

/* The flags: into p (hosts, dest, mode, parallel, timeout, json), the --image ones into ia, the
 * rest into *preheat_url and *digest. DF_EXIT_OK or the usage error's exit code. */
static int parse_flags(struct push *p, const struct opt_result *r, struct image_args *ia, const char **preheat_url,
		       const char **digest)
{
	struct pusher *ps = &p->p;
	char err[512];
	for (int i = 0; i < r->nvals; i++) {
		const char *a = r->vals[i].arg;
		switch (r->vals[i].id) {
		case OPT_GROUP:
			if (pusher_read_group(ps, a, err, sizeof err) != DF_OK)
				return cmd_usage("push", "%s", err);
			break;
		case OPT_HOST:
			if (pusher_add_host(ps, a, strlen(a)) != DF_OK)
				return cmd_usage("push", "bad --host '%s'", a);
			break;
		case OPT_DEST:
			if (snprintf(ps->dest, sizeof ps->dest, "%s", a) >= (int)sizeof ps->dest)
				return cmd_usage("push", "--dest '%.40s...': too long", a);
			break;
		case OPT_MODE:
			if (strspn(a, "01234567") != strlen(a) || strlen(a) > 5 || !a[0])
				return cmd_usage("push", "--mode '%s': expected an octal mode like 0644", a);
			snprintf(ps->mode, sizeof ps->mode, "%s", a);
			break;
		case OPT_PARALLEL:
			ps->parallel =
				strspn(a, "0123456789") == strlen(a) && strlen(a) <= 5 ? (int)strtol(a, NULL, 10) : 0;
			if (ps->parallel < 1 || ps->parallel > 10000)
				return cmd_usage("push", "--parallel '%s': expected 1 to 10000", a);
			break;
		case OPT_DIGEST: *digest = a; break;
		case OPT_JSON: p->json = 1; break;
		case OPT_PREHEAT: *preheat_url = a; break;
		case OPT_PTIMEOUT: ps->timeout = strtod(a, NULL); break;
		case OPT_IMAGE: ia->ref = a; break;
		case OPT_PLATFORM: ia->platform = a; break;
		case OPT_ALL_PLATFORMS: ia->all_platforms = 1; break;
		case OPT_CREDS: ia->creds = a; break;
		case OPT_AUTH_FILE: ia->auth_file = a; break;
		case OPT_PLAIN_HTTP: ia->plain_http = 1; break;
		}
	}
	return DF_EXIT_OK;
}

/* Which flags go together: DF_EXIT_OK or the usage error's exit code. */
static int check_flags(const struct push *p, const struct opt_result *r, const struct image_args *ia,
		       const char *preheat_url, const char *digest)
{
	if (ia->ref && (preheat_url || r->nargs))
		return cmd_usage("push", "%s", "--image takes no FILE and no --preheat URL");
	if (!ia->ref && (ia->platform || ia->all_platforms || ia->creds || ia->auth_file || ia->plain_http))
		return cmd_usage("push", "%s",
				 "--platform, --all-platforms, --creds, --auth-file and --plain-http go with --image");
	if (ia->creds)
		log_warn("--creds on the command line is visible to every local user (ps, /proc/PID/cmdline): "
			 "prefer --auth-file or $REGISTRY_AUTH_FILE");
	if (ia->platform && ia->all_platforms)
		return cmd_usage("push", "%s", "--platform or --all-platforms, not both");
	if (ia->ref && (p->p.dest[0] || digest))
		return cmd_usage("push", "%s", "--image puts blobs in each host's store: no --dest, no --digest");
	if (preheat_url && r->nargs)
		return cmd_usage("push", "--preheat takes a URL, not a FILE ('%s')", r->args[0]);
	if (!preheat_url && !ia->ref) {
		if (!r->nargs)
			return cmd_usage("push", "%s", "missing FILE (or --preheat URL, or --image REF)");
		if (!p->p.nhosts)
			return cmd_usage("push", "%s", "no hosts: give --group FILE or --host HOST");
	}
	if (!p->df->cfg->get_supernode[0])
		return cmd_usage("push", "%s", "needs a supernode: --supernode HOST:PORT (or [get] supernode)");
	if (p->p.duplicates)
		log_warn("push: %d host%s listed more than once: each host gets the file once", p->p.duplicates,
			 p->p.duplicates == 1 ? "" : "s");
	return DF_EXIT_OK;
}

/* The cluster's side of the engine: supernode, token, TLS, client. DF_EXIT_OK or an exit code. */
static int connect_cluster(struct push *p)
{
	struct df *df = p->df;
	struct pusher *ps = &p->p;
	snprintf(ps->super, sizeof ps->super, "%.*s", (int)strcspn(df->cfg->get_supernode, ", "),
		 df->cfg->get_supernode);
	if (daemon_token(df, 0) != DF_OK)
		return DF_EXIT_USAGE;
	int tls = daemon_cluster_tls(df);
	if (tls < 0)
		return DF_EXIT_USAGE;
	ps->scheme = tls ? "https" : "http";
	char tokbuf[AUTH_HEADER_MAX];
	snprintf(ps->tok, sizeof ps->tok, "%s", auth_header(df->cfg->security_token, tokbuf, sizeof tokbuf));
	ps->loop = ev_default_loop(0);
	ps->client = tls ? daemon_cluster_client(df, ps->loop, NULL, 0) : daemon_client(df, ps->loop, NULL, 0);
	return ps->client ? DF_EXIT_OK : DF_EXIT_FAIL;
}

static int run(struct df *df, struct opt_result *r)
{
	struct push p = {.df = df};
	const char *preheat_url = NULL, *digest = NULL;
	struct image_args ia = {0};
	p.p = (struct pusher){
		.parallel = 64, .timeout = 3600, .filter = df->cfg->get_filter, .on_change = draw, .ctx = &p};
	snprintf(p.p.mode, sizeof p.p.mode, "0644");
	int rc = parse_flags(&p, r, &ia, &preheat_url, &digest);
	if (rc == DF_EXIT_OK)
		rc = check_flags(&p, r, &ia, preheat_url, digest);
	if (rc == DF_EXIT_OK)
		rc = connect_cluster(&p);
	if (rc == DF_EXIT_OK && ia.ref)
		rc = push_image(&p, &ia);
	else if (rc == DF_EXIT_OK && preheat_url)
		rc = push_preheat(&p, preheat_url, digest);
	else if (rc == DF_EXIT_OK)
		rc = push_file(&p, r->args[0], digest);
	if (p.p.client)
		http_client_free(p.p.client);
	pusher_free(&p.p);
	daemon_close(df);
	return rc;
}

const struct cmd_desc cmd_push = {
	.name = "push",
	.summary = "put a file or an image's blobs on every host of a group through the swarm (or --preheat a URL)",
	.synopsis = "FILE (--group HOSTS | --host H...) [--dest PATH] [OPTIONS] | --image REF [--group HOSTS | --host "
		    "H...] | --preheat URL",
	.sections = sections,
	.opts = opts,
	.nopts = (int)DF_ARRAY_LEN(opts),
	.min_args = 0,
	.max_args = 1,
	.arg_name = "FILE",
	.run = run,
};
