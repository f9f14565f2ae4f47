/* `df get URL`: wget-like download through the swarm, resumable, digest-checked.
 * Parses flags into a get_job; swarm/get.c does the work. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/daemon.h"
#include "core/config.h"
#include "core/log.h"
#include "core/monotime.h"
#include "core/progress.h"
#include "net/http_parse.h"
#include "store/store.h"
#include "swarm/common.h"
#include "swarm/get.h"
#include "swarm/hostd_client.h"
#include "swarm/outpath.h"

enum { OPT_OUT = 1, OPT_HEADER, OPT_MD5, OPT_DIGEST };

static const struct opt_spec opts[] = {
	{"output-document", 'O', 1, OPT_OUT, "FILE",
	 "write to FILE, put in place whole once verified (default: the URL's basename); '-' (stdout), a device "
	 "or a FIFO is written in order as it downloads, the last byte once verified"},
	{"header", 'H', 1, OPT_HEADER, "'NAME: VALUE'", "send this header to the source (repeatable; never logged)"},
	{"md5", 0, 1, OPT_MD5, "HEX", "expected MD5 of the file; also makes the task content-addressed"},
	{"digest", 0, 1, OPT_DIGEST, "ALGO:HEX", "expected digest, sha256:HEX or md5:HEX"},
};
static const char *const sections[] = {"get", "store", "security", NULL};

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

struct handoff_view {
	const struct get_job *job;
	double start;
	int drew;
};

static void handoff_progress(int64_t done, int64_t total, void *ctx)
{
	struct handoff_view *v = ctx;
	double el = monotime_now() - v->start;
	struct progress pg = {.done = (uint64_t)done,
			      .total = total > 0 ? (uint64_t)total : 0,
			      .rate = el > 0 ? (double)done / el : 0};
	char bar[256];
	progress_line(&pg, 100, bar, sizeof bar);
	fprintf(stderr, "\r%-100s", bar);
	v->drew = 1;
}

/* The host's df proxy owns the store and piece server when it runs: hand the job to it
 * (swarm/hostd_client.h) and follow its progress. Returns an exit code, or -1 when the download is
 * to run here (no daemon, not ours, or it stopped before the end: the engine resumes from the store). */
static int try_handoff(struct df *df, struct get_job *job, long *hung)
{
	char sock[4200];
	if (job->out_fd >= 0 || /* written here in order: stdout, a device, a FIFO */
	    hostd_socket_path(df->cfg->proxy_socket, df->cfg->common_data, sock, sizeof sock) != DF_OK)
		return -1;
	struct handoff_view v = {.job = job, .start = monotime_now()};
	struct hostd_handoff h = {
		.socket = sock,
		.url = job->url,
		.output = job->output,
		.headers = job->headers,
		.nheaders = job->nheaders,
		.digest = &job->digest,
		.on_progress = job->progress ? handoff_progress : NULL,
		.ctx = &v,
	};
	struct hostd_result res;
	char shown[2048]; /* the URL as messages show it (secrets redacted) */
	http_url_redact(job->url, strlen(job->url), df->cfg->get_filter[0] ? df->cfg->get_filter : NULL, shown,
			sizeof shown);
	enum hostd_outcome out = hostd_handoff(&h, &res);
	if (v.drew)
		fprintf(stderr, "\r%-100s\r", "");
	switch (out) {
	case HOSTD_DONE:
		log_info("saved %s (%lld bytes) in %.1fs through the host's df proxy: peers %lld, supernode %lld, "
			 "source %lld bytes",
			 job->output, (long long)res.length, monotime_now() - v.start, (long long)res.peers,
			 (long long)res.super, (long long)res.source);
		return DF_EXIT_OK;
	case HOSTD_FAILED: fprintf(stderr, "df: %s\n", res.msg); return res.exit_code;
	case HOSTD_LOST:
		fprintf(stderr, "df: get %s: the host's df proxy (%s) %s; downloading here\n", shown, sock,
			res.msg[0] ? res.msg : "stopped before the end");
		/* a proxy that died mid-copy left its temporary file next to the output: it is gone, so
		 * the file goes now, not an hour later (a live proxy, only hung, keeps it) */
		store_export_sweep_dead(AT_FDCWD, job->output, res.daemon_pid);
		if (res.daemon_pid > 0 && !store_pid_gone(res.daemon_pid))
			*hung = res.daemon_pid; /* alive: it may hold the task it was given */
		return -1;
	case HOSTD_NOT_OURS: log_debug("get %s: the host's df proxy: %s; downloading here", shown, res.msg); return -1;
	case HOSTD_NO_DAEMON:
	default: return -1;
	}
}

/* Removes name below dirfd and everything in it (not through symbolic links; 16 levels at most,
 * more than a store has). Best effort. */
static void remove_tree(int dirfd, const char *name, int depth)
{
	int fd = depth < 16 ? openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d) {
		for (struct dirent *e; (e = readdir(d));)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
			    unlinkat(fd, e->d_name, 0) != 0 && (errno == EISDIR || errno == EPERM))
				remove_tree(fd, e->d_name, depth + 1);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* Whether another process of the store (the hung proxy) is downloading job's task: it holds the
 * task's writer lock and the task is not complete. A task it does not hold, or holds complete, is
 * done here as usual (a complete one is only copied out). */
static int task_held(struct df *df, const struct get_job *job)
{
	char id[TASKID_MAX], err[512];
	if (swarm_task_id(job->url, df->cfg->get_filter, &job->digest, id, err, sizeof err) != DF_OK ||
	    daemon_open_store(df) != DF_OK)
		return 0;
	struct store_task *t = store_task_open(df->store, id, NULL, 0, err, sizeof err);
	int held = t && !store_task_writable(t) && !store_task_complete(t);
	if (t)
		store_task_close(t);
	daemon_close(df);
	return held;
}

/* The host's df proxy hangs, and holds the task this get was to hand it (its writer lock: the
 * download here would wait for it, then fail). So this get runs in a store of its own,
 * DATA/private/PID, that it removes when it ends, keeping nothing (the file itself becomes the
 * output) and seeding nothing. The folder holds a file the get keeps locked: the private stores of
 * gets that died are removed here when their pid is gone and nobody holds that lock (a get in
 * another pid namespace does). Returns the lock's descriptor (path filled), or -1: the usual store. */
static int private_store(struct df *df, long hung, char *path, size_t cap)
{
	char root[4096], err[512], priv[4200];
	const char *data = df->cfg->common_data;
	if (!data[0] && store_default_root(root, sizeof root) == DF_OK)
		data = root;
	if (!data[0] || (size_t)snprintf(priv, sizeof priv, "%s/private", data) >= sizeof priv ||
	    (mkdir(data, 0700) != 0 && errno != EEXIST) || (mkdir(priv, 0700) != 0 && errno != EEXIST))
		return -1;
	int pfd = open(priv, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = pfd >= 0 ? fdopendir(dup(pfd)) : NULL;
	for (struct dirent *e; d && (e = readdir(d));) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		char lock[300];
		if (*end || pid <= 0 || pid == (long)getpid() || !store_pid_gone(pid))
			continue;
		snprintf(lock, sizeof lock, "%s/owner", e->d_name);
		int lfd = openat(pfd, lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) == 0) {
			log_info("removed %s/%s, the store of a df get that was stopped", priv, e->d_name);
			remove_tree(pfd, e->d_name, 0);
		}
		if (lfd >= 0)
			close(lfd);
	}
	if (d)
		closedir(d);
	if (pfd >= 0)
		close(pfd);
	char owner[4300];
	if ((size_t)snprintf(path, cap, "%s/%ld", priv, (long)getpid()) >= cap || mkdir(path, 0700) != 0 ||
	    (size_t)snprintf(owner, sizeof owner, "%s/owner", path) >= sizeof owner)
		return -1;
	int lfd = open(owner, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) != 0 ||
	    config_set(df->cfg, config_find("common", "data"), path, err, sizeof err) != DF_OK ||
	    config_set(df->cfg, config_find("get", "keep"), "no", err, sizeof err) != DF_OK ||
	    config_set(df->cfg, config_find("get", "seed_idle"), "0", err, sizeof err) != DF_OK) {
		if (lfd >= 0)
			close(lfd);
		remove_tree(AT_FDCWD, path, 0);
		return -1;
	}
	log_warn("the host's df proxy (pid %ld) hangs and holds this download's task: downloading into a store "
		 "of this get's own, %s, removed at the end",
		 hung, path);
	return lfd;
}

/* SIGHUP in the detached seeder (the foreground df get keeps the default: a hang-up ends it) */
static void reload_seeder(void *ctx)
{
	daemon_reload(ctx);
}

static int run_here(struct df *df, struct get_job *job_in);

static int run(struct df *df, struct opt_result *r)
{
	struct get_job job = {0};
	char name[256];
	job.url = r->args[0];
	if (strncmp(job.url, DF_LIT("http://")) != 0 && strncmp(job.url, DF_LIT("https://")) != 0)
		return cmd_usage("get", "'%s': only http:// and https:// URLs are supported", job.url);
	for (int i = 0; i < r->nvals; i++) {
		const char *a = r->vals[i].arg;
		switch (r->vals[i].id) {
		case OPT_OUT: job.output = a; break;
		case OPT_HEADER:
			if (!strchr(a, ':') || a[0] == ':' || strpbrk(a, "\r\n"))
				return cmd_usage("get", "--header '%s': expected 'Name: value'", a);
			if (job.nheaders == GET_MAX_HEADERS)
				return cmd_usage("get", "%s", "too many --header options");
			job.headers[job.nheaders++] = a;
			break;
		case OPT_MD5: {
			char spec[80];
			snprintf(spec, sizeof spec, "md5:%s", a);
			if (digest_spec_parse(spec, strlen(spec), &job.digest) != DF_OK)
				return cmd_usage("get", "--md5 '%s': expected 32 hex digits", a);
			break;
		}
		case OPT_DIGEST: {
			/* as people paste it: "SHA256:..." and blanks around it are fine here (the protocol's
			 * parser, which registries' digests go through too, stays strict) */
			char spec[160];
			size_t b = strspn(a, " \t"), n = strlen(a + b);
			while (n && (a[b + n - 1] == ' ' || a[b + n - 1] == '\t' || a[b + n - 1] == '\n'))
				n--;
			if (n >= sizeof spec)
				n = sizeof spec - 1;
			memcpy(spec, a + b, n);
			spec[n] = 0;
			for (char *c = spec; *c && *c != ':'; c++)
				*c = (char)tolower((unsigned char)*c);
			if (digest_spec_parse(spec, n, &job.digest) != DF_OK)
				return cmd_usage("get",
						 "--digest '%s': expected sha256:HEX (64 digits) or md5:HEX (32)", a);
			break;
		}
		}
	}
	if (!job.output)
		job.output = default_output(job.url, name, sizeof name);
	/* the output is checked (and a device or FIFO opened) before anything is downloaded */
	char outpath[4096], oerr[4400];
	job.out_fd = -1;
	if (strcmp(job.output, "-") == 0) {
		job.out_fd = 1;
	} else if (outpath_prepare(job.output, outpath, sizeof outpath, &job.out_fd, oerr, sizeof oerr) != DF_OK) {
		log_user_error("get", "%s", oerr);
		return DF_EXIT_USAGE;
	} else {
		job.output = outpath;
	}
	job.progress = log_get_level() >= LOG_INFO && isatty(2);
	long hung = 0;
	int handed = try_handoff(df, &job, &hung);
	if (handed >= 0)
		return handed;
	char priv[4200] = "";
	int priv_lock = hung > 0 && task_held(df, &job) ? private_store(df, hung, priv, sizeof priv) : -1;
	int rc = run_here(df, &job);
	if (priv_lock >= 0) {
		remove_tree(AT_FDCWD, priv, 0);
		close(priv_lock);
	}
	return rc;
}

/* The download in this process, on the store of --data (or a private one: private_store). */
static int run_here(struct df *df, struct get_job *job_in)
{
	struct get_job job = *job_in;
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
	ratelimit_init(&rx, df->cfg->get_limit_rate, 0, monotime_now());
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
	.min_args = 1,
	.max_args = 1,
	.arg_name = "URL",
	.run = run,
};
