/* Test tool: fetches a URL with df's HTTP client into a file, so shell tests can drive the client
 * against nginx and curl's peers. Prints the status and, on failure, the client's message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/monotime.h"
#include "core/ratelimit.h"
#include "net/http_client.h"

static const char usage[] =
	"usage: httpget [options] URL\n"
	"  -o FILE            write the body to FILE ('-' for stdout; default: discard)\n"
	"  -r START-[END]     ask for a byte range\n"
	"  -H 'Name: value'   extra request header (repeatable)\n"
	"  -X METHOD, -d BODY method and request body\n"
	"  -n N               fetch N times one after the other (connection reuse); -p N: N at once\n"
	"  --no-redirect, --max-redirects N, --proxy (honour http_proxy...), --fail (non-2xx is an error)\n"
	"  --connect-timeout S, --first-byte-timeout S, --idle-timeout S, --what NAME\n"
	"  --limit-rate BYTES, --pause-every BYTES (consumer pauses 20 ms every BYTES), --stats, -v\n";

struct job {
	struct app *a;
	struct http_fetch *f;
	int fd;
	int idx;
	uint64_t since_pause;
	ev_timer resume;
};

struct app {
	struct ev_loop *loop;
	struct http_client *cl;
	struct http_request rq;
	const char *out;
	int total, parallel, started, finished, failures;
	uint64_t pause_every;
	int verbose;
	struct job *jobs;
	char headers[8192];
};

static void start_one(struct app *a, struct job *j);

static int on_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct job *j = ctx;
	fprintf(stderr, "status %d %.*s\n", r->status, (int)r->reason.n, r->reason.p);
	if (r->has_range)
		fprintf(stderr, "content-range %llu-%llu/%lld\n", (unsigned long long)r->range.start,
			(unsigned long long)r->range.end, (long long)r->range.total);
	if (r->redirects)
		fprintf(stderr, "redirects %d url %s\n", r->redirects, r->url);
	if (j->a->verbose)
		for (size_t i = 0; i < r->nheaders; i++)
			fprintf(stderr, "< %.*s: %.*s\n", (int)r->headers[i].name.n, r->headers[i].name.p,
				(int)r->headers[i].value.n, r->headers[i].value.p);
	return DF_OK;
}

static void resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct job *j = DF_CONTAINER_OF(w, struct job, resume);
	http_fetch_resume(j->f);
}

static int on_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct job *j = ctx;
	while (j->fd >= 0 && len) {
		ssize_t w = write(j->fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "httpget: write: %s\n", strerror(errno));
			return DF_ERR;
		}
		data += w;
		len -= (size_t)w;
	}
	if (j->a->pause_every) {
		j->since_pause += len;
		if (j->since_pause >= j->a->pause_every) {
			j->since_pause = 0;
			ev_timer_set(&j->resume, 0.02, 0);
			ev_timer_start(j->a->loop, &j->resume);
			return DF_AGAIN;
		}
	}
	return DF_OK;
}

static void on_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	struct job *j = ctx;
	struct app *a = j->a;
	if (rc == DF_OK)
		fprintf(stderr, "done %llu bytes\n", (unsigned long long)http_fetch_received(f));
	else {
		fprintf(stderr, "httpget: %s\n", msg);
		a->failures++;
	}
	ev_timer_stop(a->loop, &j->resume);
	if (j->fd > 1)
		close(j->fd);
	j->fd = -1;
	a->finished++;
	if (a->started < a->total)
		start_one(a, j);
	else if (a->finished == a->total)
		ev_break(a->loop, EVBREAK_ALL);
}

static void start_one(struct app *a, struct job *j)
{
	j->fd = -1;
	j->since_pause = 0;
	if (a->out && !strcmp(a->out, "-")) {
		j->fd = 1;
	} else if (a->out) {
		char path[4096];
		if (a->parallel > 1)
			snprintf(path, sizeof path, "%s.%d", a->out, a->started);
		else
			snprintf(path, sizeof path, "%s", a->out);
		j->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (j->fd < 0) {
			fprintf(stderr, "httpget: %s: %s\n", path, strerror(errno));
			exit(1);
		}
	}
	a->started++;
	a->rq.ctx = j;
	char err[600];
	j->f = http_client_request(a->cl, &a->rq, err, sizeof err);
	if (!j->f) {
		fprintf(stderr, "httpget: %s\n", err);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct app a = {.total = 1, .parallel = 1};
	struct http_client_cfg cfg = {0};
	struct http_request *rq = &a.rq;
	rq->follow_redirects = 1;
	rq->on_response = on_response;
	rq->on_body = on_body;
	rq->on_done = on_done;
	long long rate = 0;
	int stats = 0;
	size_t hl = 0;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (o[0] != '-') {
			rq->url = o;
			continue;
		}
		if (!strcmp(o, "-v")) {
			a.verbose = 1;
			log_set_level(LOG_DEBUG);
			continue;
		}
		if (!strcmp(o, "--no-redirect")) {
			rq->follow_redirects = 0;
			continue;
		}
		if (!strcmp(o, "--proxy")) {
			rq->use_proxy = 1;
			continue;
		}
		if (!strcmp(o, "--fail")) {
			rq->fail_status = 1;
			continue;
		}
		if (!strcmp(o, "--stats")) {
			stats = 1;
			continue;
		}
		if (i + 1 >= argc) {
			fputs(usage, stderr);
			return 2;
		}
		const char *v = argv[++i];
		if (!strcmp(o, "-o"))
			a.out = v;
		else if (!strcmp(o, "-r")) {
			rq->range = 1;
			rq->range_start = atoll(v);
			const char *d = strchr(v, '-');
			rq->range_end = d && d[1] ? atoll(d + 1) : -1;
		} else if (!strcmp(o, "-H")) {
			int n = snprintf(a.headers + hl, sizeof a.headers - hl, "%s\r\n", v);
			if (n < 0 || (size_t)n >= sizeof a.headers - hl) {
				fputs("httpget: too many headers\n", stderr);
				return 2;
			}
			hl += (size_t)n;
			rq->headers = a.headers;
		} else if (!strcmp(o, "-X"))
			rq->method = v;
		else if (!strcmp(o, "-d")) {
			rq->body = v;
			rq->body_len = strlen(v);
		} else if (!strcmp(o, "-n"))
			a.total = atoi(v);
		else if (!strcmp(o, "-p"))
			a.parallel = atoi(v);
		else if (!strcmp(o, "--max-redirects"))
			rq->max_redirects = atoi(v);
		else if (!strcmp(o, "--connect-timeout"))
			rq->connect_timeout = atof(v);
		else if (!strcmp(o, "--first-byte-timeout"))
			rq->first_byte_timeout = atof(v);
		else if (!strcmp(o, "--idle-timeout"))
			rq->idle_timeout = atof(v);
		else if (!strcmp(o, "--what"))
			rq->what = v;
		else if (!strcmp(o, "--limit-rate"))
			rate = atoll(v);
		else if (!strcmp(o, "--pause-every"))
			a.pause_every = (uint64_t)atoll(v);
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!rq->url || a.total < 1 || a.parallel < 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (a.parallel > a.total)
		a.total = a.parallel;
	a.loop = ev_default_loop(EVFLAG_AUTO);
	struct ratelimit rl;
	if (rate > 0) {
		ratelimit_init(&rl, (uint64_t)rate, 0, monotime_now());
		cfg.rx_limit = &rl;
	}
	char err[600];
	a.cl = http_client_new(a.loop, &cfg, err, sizeof err);
	if (!a.cl) {
		fprintf(stderr, "httpget: %s\n", err);
		return 1;
	}
	a.jobs = calloc((size_t)a.parallel, sizeof *a.jobs);
	if (!a.jobs)
		return 1;
	for (int i = 0; i < a.parallel; i++) {
		a.jobs[i].a = &a;
		a.jobs[i].idx = i;
		ev_init(&a.jobs[i].resume, resume_cb);
		start_one(&a, &a.jobs[i]);
	}
	ev_run(a.loop, 0);
	if (stats) {
		struct http_client_stats st;
		http_client_get_stats(a.cl, &st);
		fprintf(stderr, "connects %llu reused %llu requests %llu bytes_in %llu\n", (unsigned long long)st.connects,
			(unsigned long long)st.reused, (unsigned long long)st.requests, (unsigned long long)st.bytes_in);
	}
	http_client_free(a.cl);
	free(a.jobs);
	return a.failures ? 1 : 0;
}
