/* Test tool: serves a directory with df's HTTP server so shell tests can point curl at it.
 * GET/HEAD files with Range via sendfile, a chunked stream produced on a timer, a file streamed
 * while it grows, uploads streamed to disk, a long-poll, counters; SIGTERM stops gracefully. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/monotime.h"
#include "core/ratelimit.h"
#include "net/http_parse.h"
#include "net/http_server.h"

static const char usage[] =
	"usage: httpserve --listen ADDR --root DIR [--upload DIR] [--limit-rate BYTES] [--head-timeout S]\n"
	"                 [--idle-timeout S] [--io-timeout S] [--max-conns N] [--buf BYTES] [--grace S]\n"
	"                 [--max-range BYTES] [-v]\n"
	"  GET /PATH                 file under DIR (Range, HEAD; a range answered with at most\n"
	"                            --max-range bytes, as some servers cap them)\n"
	"  GET /_chunked?n=N&step=S&ms=M  N bytes of 0-9a-z, chunked, S bytes every M ms\n"
	"  GET /_grow/PATH?size=N    PATH streamed with sendfile while it grows, until N bytes\n"
	"  PUT|POST /_upload/NAME    body streamed into the upload DIR; answers \"stored N\"\n"
	"  GET /_hold?ms=M           long-poll: answered M ms later\n"
	"  GET /_stats               accepted, requests, bytes_out, conns\n";

static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";

struct app {
	struct ev_loop *loop;
	struct http_server *srv;
	const char *root, *upload;
	double grace;
	struct ratelimit rate;
	uint64_t max_range; /* --max-range: a 206 carries at most this many bytes (0: no cap) */
};

/* A query parameter as a number, or def. */
static long long qnum(const struct http_req *req, const char *name, long long def)
{
	struct slice q = http_req_head(req)->query;
	size_t nl = strlen(name);
	for (size_t i = 0; i < q.n;) {
		size_t s = i;
		while (i < q.n && q.p[i] != '&')
			i++;
		if (i - s > nl && memcmp(q.p + s, name, nl) == 0 && q.p[s + nl] == '=') {
			char tmp[32];
			size_t l = DF_MIN(i - s - nl - 1, sizeof tmp - 1);
			memcpy(tmp, q.p + s + nl + 1, l);
			tmp[l] = 0;
			return atoll(tmp);
		}
		i++;
	}
	return def;
}

/* DIR + the request path after skip bytes, percent-decoded; refuses ".." segments. */
static int local_path(const struct http_req *req, size_t skip, const char *dir, char *out, size_t cap)
{
	struct slice p = http_req_head(req)->path;
	char dec[2048];
	size_t n = 0;
	for (size_t i = skip; i < p.n; i++) {
		char c = p.p[i];
		if (c == '%' && i + 2 < p.n) {
			char hx[3] = {p.p[i + 1], p.p[i + 2], 0};
			c = (char)strtol(hx, NULL, 16);
			i += 2;
		}
		if (!c || n + 1 >= sizeof dec)
			return DF_ERR;
		dec[n++] = c;
	}
	dec[n] = 0;
	if (strstr(dec, "..") && (strstr(dec, "/../") || !strncmp(dec, "../", 3) || !strcmp(dec, "..") ||
				  (n >= 3 && !strcmp(dec + n - 3, "/.."))))
		return DF_ERR;
	int k = snprintf(out, cap, "%s/%s", dir, dec[0] == '/' ? dec + 1 : dec);
	return k < 0 || (size_t)k >= cap ? DF_ERR : DF_OK;
}

static void text(struct http_req *req, int status, const char *msg)
{
	http_reply(req, status, "Content-Type: text/plain\r\n", msg, strlen(msg));
}

/* --- files ---------------------------------------------------------------------------------------- */

static void h_file(struct http_req *req, void *ctx)
{
	struct app *a = ctx;
	char path[4096];
	if (local_path(req, 0, a->root, path, sizeof path) != DF_OK) {
		text(req, 403, "forbidden\n");
		return;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		text(req, 404, "no such file\n");
		return;
	}
	struct slice rv = http_req_header(req, "range");
	struct http_range r;
	uint64_t start, end, size = (uint64_t)st.st_size;
	if (a->max_range && rv.p && http_range_parse(rv, &r) == DF_OK &&
	    http_range_resolve(&r, size, &start, &end) == DF_OK && end - start + 1 > a->max_range) {
		/* a shorter range than asked, as RFC 9110 allows and some servers do */
		char hdr[256];
		end = start + a->max_range - 1;
		snprintf(hdr, sizeof hdr,
			 "Content-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nContent-Range: bytes "
			 "%llu-%llu/%llu\r\n",
			 (unsigned long long)start, (unsigned long long)end, (unsigned long long)size);
		http_reply_file(req, 206, hdr, fd, (off_t)start, end - start + 1);
		return;
	}
	http_reply_file_range(req, "Content-Type: application/octet-stream\r\n", fd, size);
}

/* --- a chunked stream produced on a timer --------------------------------------------------------- */

struct gen {
	ev_timer tick;
	struct app *a;
	struct http_req *req;
	uint64_t total, made, sent, step;
	double every;
	char buf[65536];
};

static void gen_produce(struct http_req *req, void *ctx)
{
	struct gen *g = ctx;
	while (g->sent < g->made) {
		size_t off = (size_t)(g->sent % 36);
		size_t n = (size_t)DF_MIN(g->made - g->sent, (uint64_t)sizeof g->buf - 36);
		for (size_t i = 0; i < n; i++)
			g->buf[i] = alphabet[(off + i) % 36];
		ssize_t w = http_reply_write(req, g->buf, n);
		if (w <= 0)
			return; /* full (called again) or failed (done follows) */
		g->sent += (uint64_t)w;
	}
	if (g->sent == g->total)
		http_reply_end(req);
}

static void gen_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct gen *g = DF_CONTAINER_OF(w, struct gen, tick);
	g->made = DF_MIN(g->total, g->made + g->step);
	if (g->made == g->total)
		ev_timer_stop(loop, w);
	http_reply_ready(g->req);
}

static void gen_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	struct gen *g = ctx;
	log_debug("chunked stream done ok=%d sent=%llu", ok, (unsigned long long)g->sent);
	ev_timer_stop(g->a->loop, &g->tick);
	free(g);
}

static void h_chunked(struct http_req *req, void *ctx)
{
	struct app *a = ctx;
	struct gen *g = calloc(1, sizeof *g);
	if (!g) {
		text(req, 500, "out of memory\n");
		return;
	}
	g->a = a;
	g->req = req;
	g->total = (uint64_t)qnum(req, "n", 100000);
	g->step = (uint64_t)qnum(req, "step", 0);
	g->every = (double)qnum(req, "ms", 10) / 1000.0;
	if (!g->step)
		g->step = g->total;
	g->made = DF_MIN(g->step, g->total);
	ev_timer_init(&g->tick, gen_tick, g->every, g->every);
	if (g->made < g->total)
		ev_timer_start(a->loop, &g->tick);
	http_req_on_done(req, gen_done, g);
	http_reply_start(req, 200, "Content-Type: text/plain\r\n", -1, gen_produce, g);
}

/* --- a file streamed while it grows (a piece still arriving) -------------------------------------- */

struct grow {
	ev_timer poll;
	struct app *a;
	struct http_req *req;
	int fd;
	uint64_t size, sent, avail;
};

static void grow_produce(struct http_req *req, void *ctx)
{
	struct grow *g = ctx;
	while (g->sent < g->avail) {
		ssize_t w = http_reply_sendfile(req, g->fd, (off_t)g->sent, (size_t)(g->avail - g->sent));
		if (w <= 0)
			return;
		g->sent += (uint64_t)w;
	}
	if (g->sent == g->size)
		http_reply_end(req);
}

static void grow_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct grow *g = DF_CONTAINER_OF(w, struct grow, poll);
	struct stat st;
	if (fstat(g->fd, &st) == 0 && (uint64_t)st.st_size > g->avail) {
		g->avail = DF_MIN((uint64_t)st.st_size, g->size);
		if (g->avail == g->size)
			ev_timer_stop(loop, w);
		http_reply_ready(g->req);
	}
}

static void grow_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	(void)ok;
	struct grow *g = ctx;
	ev_timer_stop(g->a->loop, &g->poll);
	close(g->fd);
	free(g);
}

static void h_grow(struct http_req *req, void *ctx)
{
	struct app *a = ctx;
	char path[4096];
	if (local_path(req, 6, a->root, path, sizeof path) != DF_OK) {
		text(req, 403, "forbidden\n");
		return;
	}
	struct grow *g = calloc(1, sizeof *g);
	if (!g || (g->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		free(g);
		text(req, 404, "no such file\n");
		return;
	}
	g->a = a;
	g->req = req;
	g->size = (uint64_t)qnum(req, "size", 0);
	ev_timer_init(&g->poll, grow_poll, 0.02, 0.02);
	ev_timer_start(a->loop, &g->poll);
	http_req_on_done(req, grow_done, g);
	http_reply_start(req, 200, NULL, (int64_t)g->size, grow_produce, g);
}

/* --- uploads -------------------------------------------------------------------------------------- */

struct upload {
	int fd;
	uint64_t n;
};

static int up_data(struct http_req *req, const char *data, size_t len, void *ctx)
{
	(void)req;
	struct upload *u = ctx;
	while (len) {
		ssize_t w = write(u->fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return DF_ERR;
		}
		data += w;
		len -= (size_t)w;
		u->n += (uint64_t)w;
	}
	return DF_OK;
}

static void up_end(struct http_req *req, void *ctx)
{
	struct upload *u = ctx;
	char msg[64];
	snprintf(msg, sizeof msg, "stored %llu\n", (unsigned long long)u->n);
	http_reply(req, 201, "Content-Type: text/plain\r\n", msg, strlen(msg));
}

static void up_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	struct upload *u = ctx;
	log_debug("upload done ok=%d bytes=%llu", ok, (unsigned long long)u->n);
	close(u->fd);
	free(u);
}

static void h_upload(struct http_req *req, void *ctx)
{
	struct app *a = ctx;
	char path[4096];
	if (!a->upload || local_path(req, 9, a->upload, path, sizeof path) != DF_OK ||
	    strchr(path + strlen(a->upload) + 1, '/')) {
		text(req, 403, "uploads not allowed here\n");
		return;
	}
	struct upload *u = calloc(1, sizeof *u);
	if (!u || (u->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		free(u);
		text(req, 500, "cannot create file\n");
		return;
	}
	http_req_on_done(req, up_done, u);
	http_req_read_body(req, up_data, up_end, u);
}

/* --- long-poll and counters ----------------------------------------------------------------------- */

struct hold {
	ev_timer t;
	struct app *a;
	struct http_req *req;
	long long ms;
};

static void hold_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct hold *h = DF_CONTAINER_OF(w, struct hold, t);
	char msg[64];
	snprintf(msg, sizeof msg, "held %lld ms\n", h->ms);
	text(h->req, 200, msg);
}

static void hold_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	struct hold *h = ctx;
	log_debug("hold done ok=%d", ok);
	ev_timer_stop(h->a->loop, &h->t);
	free(h);
}

static void h_hold(struct http_req *req, void *ctx)
{
	struct app *a = ctx;
	struct hold *h = calloc(1, sizeof *h);
	if (!h) {
		text(req, 500, "out of memory\n");
		return;
	}
	h->a = a;
	h->req = req;
	h->ms = qnum(req, "ms", 1000);
	ev_timer_init(&h->t, hold_fire, (double)h->ms / 1000.0, 0);
	ev_timer_start(a->loop, &h->t);
	http_req_on_done(req, hold_done, h);
}

static void h_stats(struct http_req *req, void *ctx)
{
	struct app *a = ctx;
	struct http_server_stats st;
	http_server_get_stats(a->srv, &st);
	char msg[256];
	snprintf(msg, sizeof msg, "accepted %llu\nrequests %llu\nbytes_out %llu\nconns %d\n",
		 (unsigned long long)st.accepted, (unsigned long long)st.requests, (unsigned long long)st.bytes_out,
		 st.conns);
	text(req, 200, msg);
}

/* --- main ----------------------------------------------------------------------------------------- */

static void stopped(struct http_server *s, void *ctx)
{
	(void)s;
	struct app *a = ctx;
	ev_break(a->loop, EVBREAK_ALL);
}

static void on_signal(struct loop_signals *sig, int signum, int count, void *ctx)
{
	(void)sig;
	struct app *a = ctx;
	fprintf(stderr, "httpserve: signal %d, stopping%s\n", signum, count > 1 ? " now" : "");
	http_server_shutdown(a->srv, count > 1 ? 0 : a->grace, stopped, a);
}

int main(int argc, char **argv)
{
	struct app a = {.grace = 5};
	struct http_server_cfg cfg = {.name = "df-httpserve"};
	const char *listen = NULL;
	long long rate = 0;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "-v")) {
			log_set_level(LOG_DEBUG);
			continue;
		}
		if (!v) {
			fputs(usage, stderr);
			return 2;
		}
		i++;
		if (!strcmp(o, "--listen"))
			listen = v;
		else if (!strcmp(o, "--root"))
			a.root = v;
		else if (!strcmp(o, "--upload"))
			a.upload = v;
		else if (!strcmp(o, "--limit-rate"))
			rate = atoll(v);
		else if (!strcmp(o, "--head-timeout"))
			cfg.head_timeout = atof(v);
		else if (!strcmp(o, "--idle-timeout"))
			cfg.idle_timeout = atof(v);
		else if (!strcmp(o, "--io-timeout"))
			cfg.io_timeout = atof(v);
		else if (!strcmp(o, "--max-conns"))
			cfg.max_conns = atoi(v);
		else if (!strcmp(o, "--buf"))
			cfg.buf_size = (size_t)atol(v);
		else if (!strcmp(o, "--grace"))
			a.grace = atof(v);
		else if (!strcmp(o, "--max-range"))
			a.max_range = (uint64_t)atoll(v);
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!listen || !a.root) {
		fputs(usage, stderr);
		return 2;
	}
	a.loop = ev_default_loop(EVFLAG_AUTO);
	if (rate > 0) {
		ratelimit_init(&a.rate, (uint64_t)rate, 0, monotime_now());
		cfg.tx_limit = &a.rate;
	}
	a.srv = http_server_new(a.loop, &cfg);
	char err[512];
	if (!a.srv || http_server_listen(a.srv, listen, err, sizeof err) != DF_OK) {
		fprintf(stderr, "httpserve: %s\n", a.srv ? err : "out of memory");
		return 1;
	}
	http_server_route(a.srv, "GET", "/", h_file, &a);
	http_server_route(a.srv, "GET", "/_chunked", h_chunked, &a);
	http_server_route(a.srv, "GET", "/_grow/", h_grow, &a);
	http_server_route(a.srv, "PUT", "/_upload/", h_upload, &a);
	http_server_route(a.srv, "POST", "/_upload/", h_upload, &a);
	http_server_route(a.srv, "GET", "/_hold", h_hold, &a);
	http_server_route(a.srv, "GET", "/_stats", h_stats, &a);
	struct loop_signals sig;
	loop_signals_start(a.loop, &sig, on_signal, &a);
	printf("listening on port %u\n", http_server_port(a.srv));
	fflush(stdout);
	ev_run(a.loop, 0);
	loop_signals_stop(a.loop, &sig);
	http_server_free(a.srv);
	fprintf(stderr, "httpserve: stopped\n");
	return 0;
}
