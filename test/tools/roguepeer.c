/* Test tool: a rogue uploader. It registers with a supernode for a task like any peer, claims every
 * piece the supernode has, keeps the registration alive with heartbeats, and answers the piece
 * requests it attracts badly, as the chosen mode says:
 *   short    200 with a Content-Length of half the piece, that many bytes, then the next request
 *   trickle  200 with the piece's length, then one byte every --trickle-ms (never finishes in time);
 *            with --burst N the first N bytes at once (a fetch the downloader's own --limit-rate
 *            holds back, then a trickle)
 *   silent   accepts the request and never answers
 *   404      "piece not here" for a piece it claimed
 *   hang1    serves the right bytes (from --file) but never answers its first request: a slow
 *            straggler, not a liar (the end game must ask elsewhere instead of waiting)
 * --rejoin S registers again under a new handle (no `replace`) every S seconds, as a rogue that was
 * blacklisted would. A real protocol participant, not a mock: it speaks to a real supernode and is
 * fetched from by real df processes. Prints "registered HANDLE" and "piece N MODE" lines on stdout. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/proto.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "swarm/auth.h"
#include "swarm/common.h"

static const char usage[] =
	"usage: roguepeer --supernode HOST:PORT --url URL --mode short|trickle|silent|404 [--token T]\n"
	"                 [--listen ADDR] [--trickle-ms MS] [--burst BYTES] [--rejoin SECONDS] [--file PATH (hang1)]\n";

enum mode { SHORT, TRICKLE, SILENT, NOTHERE, HANG1 };

struct app {
	struct ev_loop *loop;
	struct http_server *srv;
	struct http_client *cl;
	const char *super, *url;
	char id[TASKID_MAX];
	char token_hdr[600];
	enum mode mode;
	double trickle;
	uint32_t burst; /* trickle: bytes sent at once before the drip */
	const char *file;         /* the task's true bytes, for hang1 */
	int requests;
	int handle, claimed;      /* our handle; registered with every piece claimed */
	char secret[64];          /* our registration's secret (every later request carries it) */
	uint32_t pieces, piece_size;
	char *body;
	size_t blen;
	ev_timer beat, rejoin;
};

static void do_register(struct app *a, int replace, int claim);

static int reg_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct app *a = ctx;
	char *b = realloc(a->body, a->blen + len + 1);
	if (!b)
		return DF_ERR;
	memcpy(b + a->blen, data, len);
	a->body = b;
	a->blen += len;
	b[a->blen] = 0;
	return DF_OK;
}

static void reg_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct app *a = ctx;
	size_t pos = 0;
	struct proto_line l;
	int64_t v;
	uint64_t u;
	int was_claimed = a->claimed;
	if (rc != DF_OK) {
		fprintf(stderr, "roguepeer: register: %s\n", msg);
		goto out;
	}
	while (a->body && proto_next(a->body, a->blen, &pos, &l) == DF_OK) {
		if (slice_eq(l.key, "peer") && proto_i64(l.val, &v) == DF_OK)
			a->handle = (int)v;
		else if (slice_eq(l.key, "secret"))
			slice_copy(l.val, a->secret, sizeof a->secret);
		else if (slice_eq(l.key, "pieces") && proto_u64(l.val, &u) == DF_OK)
			a->pieces = (uint32_t)u;
		else if (slice_eq(l.key, "piece-size") && proto_u64(l.val, &u) == DF_OK)
			a->piece_size = (uint32_t)u;
	}
	printf("registered %d (%u pieces of %u)%s\n", a->handle, a->pieces, a->piece_size, was_claimed ? " claiming all" : "");
	fflush(stdout);
out:
	free(a->body);
	a->body = NULL;
	a->blen = 0;
	if (rc == DF_OK && !was_claimed && a->pieces)
		do_register(a, 1, 1); /* now that the piece count is known: claim them all */
}

/* Registers; with replace, as the same peer again (keeps the handle); with claim, holding every piece. */
static void do_register(struct app *a, int replace, int claim)
{
	char mem[65536], url[512], err[256];
	struct proto_buf b;
	proto_buf_init(&b, mem, sizeof mem);
	proto_put(&b, "task", "%s", a->id);
	proto_put(&b, "url", "%s", a->url);
	proto_put(&b, "port", "%u", http_server_port(a->srv));
	if (replace && a->handle >= 0)
		proto_put(&b, "replace", "%d %s", a->handle, a->secret);
	if (claim && a->pieces) {
		char *hex = malloc((size_t)(a->pieces + 7) / 8 * 2 + 1);
		if (!hex)
			return;
		size_t n = (a->pieces + 7) / 8;
		for (size_t i = 0; i < n; i++)
			memcpy(hex + 2 * i, "ff", 3);
		proto_put(&b, "have", "%s", hex);
		free(hex);
	}
	a->claimed = claim;
	snprintf(url, sizeof url, "http://%s/v1/register", a->super);
	struct http_request req = {
		.method = "POST", .url = url, .headers = a->token_hdr, .body = b.p, .body_len = b.len, .fail_status = 1,
		.what = "supernode", .on_body = reg_body, .on_done = reg_done, .ctx = a,
	};
	if (!http_client_request(a->cl, &req, err, sizeof err))
		fprintf(stderr, "roguepeer: register: %s\n", err);
}

static int beat_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct app *a = ctx;
	if (memmem(data, len, "unknown", 7)) /* expired: announce again */
		do_register(a, 0, 0);
	return DF_OK;
}

static void beat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct app *a = DF_CONTAINER_OF(w, struct app, beat);
	char body[256], url[512], err[256];
	if (a->handle < 0)
		return;
	int n = snprintf(body, sizeof body, "task: %s %d %s\n", a->id, a->handle, a->secret);
	snprintf(url, sizeof url, "http://%s/v1/heartbeat", a->super);
	struct http_request req = {
		.method = "POST", .url = url, .headers = a->token_hdr, .body = body, .body_len = (size_t)n,
		.what = "supernode", .on_body = beat_body, .ctx = a,
	};
	http_client_request(a->cl, &req, err, sizeof err);
}

static void rejoin_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct app *a = DF_CONTAINER_OF(w, struct app, rejoin);
	a->claimed = 0;
	do_register(a, 0, 0); /* a fresh handle, then claims everything under it */
}

/* --- the piece server, misbehaving ----------------------------------------------------------------- */

struct drip {
	struct app *a;
	struct http_req *req;
	ev_timer t;
	int pending;
	uint32_t burst_left;
};

static void drip_write(struct http_req *req, void *ctx)
{
	static const char zeros[16384];
	struct drip *d = ctx;
	while (d->burst_left) {
		ssize_t n = http_reply_write(req, zeros, DF_MIN(d->burst_left, (uint32_t)sizeof zeros));
		if (n <= 0)
			return; /* called again when the socket has room */
		d->burst_left -= (uint32_t)n;
	}
	if (d->pending && http_reply_write(req, "x", 1) == 1)
		d->pending = 0;
}

static void drip_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct drip *d = DF_CONTAINER_OF(w, struct drip, t);
	d->pending = 1;
	http_reply_ready(d->req);
}

static void drip_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	(void)ok;
	struct drip *d = ctx;
	ev_timer_stop(d->a->loop, &d->t);
	free(d);
}

static void on_piece(struct http_req *req, void *ctx)
{
	struct app *a = ctx;
	struct slice p = http_req_head(req)->path;
	static const char *const names[] = {"short", "trickle", "silent", "404", "hang1"};
	printf("piece %.*s %s\n", (int)p.n, p.p, names[a->mode]);
	fflush(stdout);
	uint32_t size = a->piece_size ? a->piece_size : 262144;
	switch (a->mode) {
	case SHORT: {
		char *half = calloc(1, size / 2);
		if (!half || http_reply(req, 200, NULL, half, size / 2) != DF_OK)
			http_reply(req, 500, NULL, NULL, 0);
		free(half);
		break;
	}
	case TRICKLE: {
		struct drip *d = calloc(1, sizeof *d);
		if (!d) {
			http_reply(req, 500, NULL, NULL, 0);
			return;
		}
		d->a = a;
		d->req = req;
		d->burst_left = DF_MIN(a->burst, size - 1);
		ev_timer_init(&d->t, drip_tick, a->trickle, a->trickle);
		ev_timer_start(a->loop, &d->t);
		http_req_on_done(req, drip_done, d);
		http_reply_start(req, 200, NULL, size, drip_write, d);
		break;
	}
	case SILENT:
		break; /* the server's own io timeout ends it, long after any sane deadline */
	case NOTHERE:
		http_reply(req, 404, NULL, "piece not here\n", 15);
		break;
	case HANG1: {
		if (a->requests++ == 0)
			break; /* the straggler */
		const char *n = memrchr(p.p, '/', p.n);
		int fd = open(a->file, O_RDONLY);
		struct stat st;
		if (!n || fd < 0 || fstat(fd, &st) != 0) {
			if (fd >= 0)
				close(fd);
			http_reply(req, 500, NULL, NULL, 0);
			break;
		}
		uint64_t off = strtoull(n + 1, NULL, 10) * size;
		uint64_t len = off < (uint64_t)st.st_size ? DF_MIN((uint64_t)size, (uint64_t)st.st_size - off) : 0;
		http_reply_file(req, 200, NULL, fd, (off_t)off, len);
		break;
	}
	}
}

int main(int argc, char **argv)
{
	struct app a = {.handle = -1, .trickle = 20};
	const char *listen = "127.0.0.1:0", *mode = NULL, *token = "";
	double rejoin = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (!strcmp(o, "--supernode"))
			a.super = v;
		else if (!strcmp(o, "--url"))
			a.url = v;
		else if (!strcmp(o, "--mode"))
			mode = v;
		else if (!strcmp(o, "--token"))
			token = v;
		else if (!strcmp(o, "--listen"))
			listen = v;
		else if (!strcmp(o, "--trickle-ms"))
			a.trickle = atof(v) / 1000;
		else if (!strcmp(o, "--burst"))
			a.burst = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(o, "--file"))
			a.file = v;
		else if (!strcmp(o, "--rejoin"))
			rejoin = atof(v);
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!a.super || !a.url || !mode || (argc % 2) != 1) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(mode, "short"))
		a.mode = SHORT;
	else if (!strcmp(mode, "trickle"))
		a.mode = TRICKLE;
	else if (!strcmp(mode, "silent"))
		a.mode = SILENT;
	else if (!strcmp(mode, "404"))
		a.mode = NOTHERE;
	else if (!strcmp(mode, "hang1") && a.file)
		a.mode = HANG1;
	else {
		fputs(usage, stderr);
		return 2;
	}
	char err[512], tok[600];
	struct digest_spec none = {0};
	if (swarm_task_id(a.url, "", &none, a.id, err, sizeof err) != DF_OK) {
		fprintf(stderr, "roguepeer: %s\n", err);
		return 2;
	}
	snprintf(a.token_hdr, sizeof a.token_hdr, "%s", auth_header(token, tok, sizeof tok));
	a.loop = ev_default_loop(EVFLAG_AUTO);
	struct http_server_cfg scfg = {.name = "df-roguepeer", .io_timeout = 3600};
	a.srv = http_server_new(a.loop, &scfg);
	struct http_client_cfg ccfg = {0};
	a.cl = http_client_new(a.loop, &ccfg, err, sizeof err);
	if (!a.srv || !a.cl || http_server_listen(a.srv, listen, err, sizeof err) != DF_OK) {
		fprintf(stderr, "roguepeer: %s\n", a.srv && a.cl ? err : "cannot start");
		return 1;
	}
	http_server_route(a.srv, "GET", "/v1/piece/", on_piece, &a);
	ev_timer_init(&a.beat, beat_cb, 5, 5);
	ev_timer_start(a.loop, &a.beat);
	if (rejoin > 0) {
		ev_timer_init(&a.rejoin, rejoin_cb, rejoin, rejoin);
		ev_timer_start(a.loop, &a.rejoin);
	}
	printf("listening on port %u\n", http_server_port(a.srv));
	fflush(stdout);
	do_register(&a, 0, 0);
	ev_run(a.loop, 0);
	return 0;
}
