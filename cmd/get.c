/* `df get URL`: wget-like download through the swarm, resumable, digest-checked.
 * Parses flags into a get_job; swarm/get.c does the work. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/daemon.h"
#include "store/store.h"
#include "core/config.h"
#include "core/log.h"
#include "core/progress.h"
#include "swarm/get.h"

enum { OPT_OUT = 1, OPT_HEADER, OPT_MD5, OPT_DIGEST };

static const struct opt_spec opts[] = {
	{"output-document", 'O', 1, OPT_OUT, "FILE", "write to FILE ('-' for stdout; default: the URL's basename)"},
	{"header", 'H', 1, OPT_HEADER, "'NAME: VALUE'", "send this header to the source (repeatable; never logged)"},
	{"md5", 0, 1, OPT_MD5, "HEX", "expected MD5 of the file; also makes the task content-addressed"},
	{"digest", 0, 1, OPT_DIGEST, "ALGO:HEX", "expected digest, sha256:HEX or md5:HEX"},
};
static const char *const sections[] = {"get", "store", "security", NULL};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "df: get: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'df get --help'.\n");
	return DF_EXIT_USAGE;
}

/* The URL's last path segment without query, or "index.html" like wget when there is none. */
static const char *default_output(const char *url, char *buf, size_t cap)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t end = strcspn(p, "?#");
	const char *slash = NULL;
	for (size_t i = 0; i < end; i++)
		if (p[i] == '/')
			slash = p + i;
	if (!slash || slash + 1 == p + end)
		return "index.html";
	snprintf(buf, cap, "%.*s", (int)(p + end - slash - 1), slash + 1);
	if (!buf[0] || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0)
		return "index.html";
	return buf;
}

/* The host's df proxy owns the store and piece server when it runs: hand the job to it over its
 * unix socket (swarm/hostd.h) and follow its progress. Returns an exit code, or -1 when there is no
 * daemon to hand to (or it refused, or it stopped before the end), so the caller runs the engine itself. */
static int try_handoff(struct df *df, struct get_job *job)
{
	char path[4200], root[4096], out[8192], req[65536];
	if (strcmp(job->output, "-") == 0)
		return -1;
	if (df->cfg->proxy_socket[0]) {
		snprintf(path, sizeof path, "%s", df->cfg->proxy_socket);
	} else {
		if (df->cfg->common_data[0])
			snprintf(root, sizeof root, "%s", df->cfg->common_data);
		else if (store_default_root(root, sizeof root) != DF_OK)
			return -1;
		snprintf(path, sizeof path, "%s/proxy.sock", root);
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path || access(path, F_OK) != 0)
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1; /* a socket file left by a proxy that is gone */
	}
	/* the daemon writes the file: it needs an absolute path */
	if (job->output[0] == '/') {
		snprintf(out, sizeof out, "%s", job->output);
	} else {
		char cwd[4096];
		if (!getcwd(cwd, sizeof cwd)) {
			close(fd);
			return -1;
		}
		snprintf(out, sizeof out, "%s/%s", cwd, job->output);
	}
	size_t n = (size_t)snprintf(req, sizeof req, "url: %s\noutput: %s\n", job->url, out);
	for (int i = 0; i < job->nheaders && n < sizeof req; i++)
		n += (size_t)snprintf(req + n, sizeof req - n, "header: %s\n", job->headers[i]);
	if (job->digest.len && n < sizeof req) {
		char d[80];
		digest_spec_format(&job->digest, d, sizeof d);
		n += (size_t)snprintf(req + n, sizeof req - n, "digest: %s\n", d);
	}
	if (n + 2 > sizeof req) {
		close(fd);
		return -1;
	}
	req[n++] = '\n';
	for (size_t off = 0; off < n;) { /* a refusal may come before the request is read: EPIPE is fine */
		ssize_t w = write(fd, req + off, n - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	FILE *f = fdopen(fd, "r");
	char line[4096];
	int rc = DF_EXIT_FAIL, ended = 0, drew = 0;
	double start = ev_time();
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "progress: ", 10) == 0 && job->progress) {
			unsigned long long a = 0, b = 0;
			if (sscanf(line + 10, "%llu %llu", &a, &b) == 2) {
				struct progress pg = {.done = a, .total = b, .rate = ev_time() > start ? (double)a / (ev_time() - start) : 0};
				char bar[256];
				progress_line(&pg, 100, bar, sizeof bar);
				fprintf(stderr, "\r%-100s", bar);
				drew = 1;
			}
		} else if (strncmp(line, "done: ", 6) == 0) {
			unsigned long long len = 0, peers = 0, super = 0, source = 0, resumed = 0;
			sscanf(line + 6, "%llu %llu %llu %llu %llu", &len, &peers, &super, &source, &resumed);
			if (drew)
				fprintf(stderr, "\r%-100s\r", "");
			log_info("saved %s (%llu bytes) in %.1fs through the host's df proxy: peers %llu, supernode %llu, source %llu bytes",
				 job->output, len, ev_time() - start, peers, super, source);
			rc = DF_EXIT_OK;
			ended = 1;
			break;
		} else if (strncmp(line, "error: ", 7) == 0) {
			char *msg = NULL;
			long code = strtol(line + 7, &msg, 10);
			if (drew)
				fprintf(stderr, "\r%-100s\r", "");
			if (code == DF_EXIT_USAGE && strstr(msg, "refused")) {
				fclose(f);
				return -1; /* not ours to use (another user's daemon): run the engine here */
			}
			fprintf(stderr, "df: %s\n", msg && *msg == ' ' ? msg + 1 : line + 7);
			rc = code > 0 ? (int)code : DF_EXIT_FAIL;
			ended = 1;
			break;
		}
	}
	if (!ended) {
		/* the daemon died (a crash, kill -9, a restart): what it fetched is in the store, which is
		 * free now; the engine here resumes from it */
		fprintf(stderr, "df: get %s: the host's df proxy (%s) stopped before the end; downloading here\n", job->url, path);
		rc = -1;
	}
	if (f)
		fclose(f);
	else
		close(fd);
	return rc;
}

/* SIGHUP in the detached seeder (the foreground df get keeps the default: a hang-up ends it) */
static void reload_seeder(void *ctx)
{
	daemon_reload(ctx);
}

static int run(struct df *df, struct opt_result *r)
{
	struct get_job job = {0};
	char name[256];
	if (r->nargs == 0)
		return usage_error("%s", "missing URL");
	if (r->nargs > 1)
		return usage_error("takes one URL, got also '%s'", r->args[1]);
	job.url = r->args[0];
	if (strncmp(job.url, "http://", 7) != 0 && strncmp(job.url, "https://", 8) != 0)
		return usage_error("'%s': only http:// and https:// URLs are supported", job.url);
	for (int i = 0; i < r->nvals; i++) {
		const char *a = r->vals[i].arg;
		switch (r->vals[i].id) {
		case OPT_OUT: job.output = a; break;
		case OPT_HEADER:
			if (!strchr(a, ':') || a[0] == ':' || strpbrk(a, "\r\n"))
				return usage_error("--header '%s': expected 'Name: value'", a);
			if (job.nheaders == GET_MAX_HEADERS)
				return usage_error("%s", "too many --header options");
			job.headers[job.nheaders++] = a;
			break;
		case OPT_MD5: {
			char spec[80];
			snprintf(spec, sizeof spec, "md5:%s", a);
			if (digest_spec_parse(spec, strlen(spec), &job.digest) != DF_OK)
				return usage_error("--md5 '%s': expected 32 hex digits", a);
			break;
		}
		case OPT_DIGEST:
			if (digest_spec_parse(a, strlen(a), &job.digest) != DF_OK)
				return usage_error("--digest '%s': expected sha256:HEX (64 digits) or md5:HEX (32)", a);
			break;
		}
	}
	if (!job.output)
		job.output = default_output(job.url, name, sizeof name);
	job.progress = log_get_level() >= LOG_INFO && isatty(2);
	int handed = try_handoff(df, &job);
	if (handed >= 0)
		return handed;
	if (daemon_token(df, 0) != DF_OK)
		return DF_EXIT_USAGE;
	int tls = daemon_cluster_tls(df);
	if (tls < 0)
		return DF_EXIT_USAGE;
	if (daemon_open_store(df) != DF_OK)
		return DF_EXIT_FAIL;
	df->loop = ev_default_loop(0);
	struct http_server_cfg sc = {.name = "df/" DF_VERSION};
	char err[512];
	daemon_server_cfg(df, &sc);
	daemon_cluster_client_cfg(df, &job.cluster_cfg);
	job.server = http_server_new(df->loop, &sc);
	if (!job.server || daemon_listen_peer(df, job.server, NULL, err, sizeof err) != DF_OK) {
		log_user_error("get", "%s", job.server ? err : "out of memory");
		if (job.server)
			http_server_free(job.server);
		daemon_close(df);
		return job.server ? DF_EXIT_USAGE : DF_EXIT_FAIL;
	}
	struct ratelimit rx;
	ratelimit_init(&rx, df->cfg->get_limit_rate, 0, ev_now(df->loop));
	/* --limit-rate and the host's download cap, for sources and (cluster TLS) peers alike */
	struct ratelimit *lim = daemon_rx(df, df->cfg->get_limit_rate ? &rx : NULL);
	job.client = daemon_client(df, df->loop, lim, (double)df->cfg->get_timeout);
	if (tls)
		job.cluster = daemon_cluster_client(df, df->loop, lim, (double)df->cfg->get_timeout);
	job.on_sighup = reload_seeder;
	job.sighup_ctx = df;
	int rc = DF_EXIT_FAIL;
	if (job.client && (!tls || job.cluster))
		rc = swarm_get(df, &job);
	if (job.cluster)
		http_client_free(job.cluster);
	if (job.client)
		http_client_free(job.client);
	http_server_free(job.server);
	daemon_close(df);
	return rc;
}

const struct cmd_desc cmd_get = {
	.name = "get",
	.summary = "download a URL through the swarm (wget-like; resumes; verifies)",
	.synopsis = "URL [-O FILE] [OPTIONS]",
	.sections = sections,
	.opts = opts,
	.nopts = (int)DF_ARRAY_LEN(opts),
	.run = run,
};
