/* A supernode built in memory for the fuzz targets fuzz_sn_*.c: the real engine (swarm/supernode.c)
 * on a real HTTP server, fed through a socketpair, so an input reaches exactly the code a request
 * reaches in `df supernode` (routing, token check, body reading, the pure parser, the apply step).
 *
 * Once per process: a store in a temporary directory with one complete content-addressed task (19
 * pieces of 16 KiB), a libev loop, and an HTTP client whose sources all go through an unreachable
 * loopback proxy (127.0.0.1:1): a registration of any other URL fails at its source at once, and no
 * input makes the fuzzer send a byte off this machine. Per input: a fresh server and supernode (so
 * runs do not depend on each other), two peers A and B registered for the task, the request, then
 * everything freed. In an input, "@T" stands for the task id and "@A"/"@B" for the peers' secrets
 * (which are random), so the fuzzer can reach what only their holders can. */
#ifndef DF_TEST_SN_HARNESS_H
#define DF_TEST_SN_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/df.h"
#include "core/log.h"
#include "core/proto.h"
#include "core/sched.h"
#include "core/taskid.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/transport.h"
#include "store/store.h"
#include "swarm/supernode.h"

#define SN_TOKEN "T"

/* A supernode per input costs milliseconds: make test replays every 16th cut of a corpus file (the
 * pure parsers get every cut in fuzz_proto). */
const unsigned fuzz_replay_cut_step = 16;

static struct {
	struct ev_loop *loop;
	struct store *store;
	struct http_client *client;
	char dir[64], task[TASKID_MAX], url[128];
	/* per input */
	struct http_server *srv;
	struct supernode *sn;
	int peer[2];
	char secret[2][PROTO_SECRET_HEX + 1];
} H;

static void sn_harness_cleanup(void)
{
	char cmd[128];
	if (H.store)
		store_close(H.store);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", H.dir);
	if (H.dir[0] && system(cmd) != 0)
		fprintf(stderr, "sn_harness: could not remove %s\n", H.dir);
}

static void sn_harness_die(const char *what, const char *why) __attribute__((noreturn));
static void sn_harness_die(const char *what, const char *why)
{
	fprintf(stderr, "sn_harness: %s: %s\n", what, why);
	abort();
}

static void sn_harness_init(void)
{
	char err[512], path[128];
	if (H.loop)
		return;
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_ERROR);
	const char *tmp = getenv("TMPDIR");
	snprintf(H.dir, sizeof H.dir, "%s/dftest-sn.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(H.dir))
		sn_harness_die(H.dir, strerror(errno));
	atexit(sn_harness_cleanup);
	snprintf(path, sizeof path, "%s/store", H.dir);
	if (!(H.store = store_open(path, err, sizeof err)))
		sn_harness_die("store", err);
	snprintf(path, sizeof path, "%s/file", H.dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		sn_harness_die(path, strerror(errno));
	for (uint32_t i = 0; i < 300 * 1024; i++)
		fputc((int)((i * 2654435761u) >> 24), f);
	fclose(f);
	struct store_task *t = store_import(H.store, path, 16384, err, sizeof err);
	if (!t)
		sn_harness_die("import", err);
	snprintf(H.task, sizeof H.task, "%s", store_task_id(t));
	store_task_close(t);
	snprintf(H.url, sizeof H.url, "http://127.0.0.1:1/file");
	H.loop = ev_default_loop(0);
	struct http_client_cfg cc = {
		.http_proxy = "http://127.0.0.1:1", .https_proxy = "http://127.0.0.1:1", .no_proxy = "",
		.connect_timeout = 1, .first_byte_timeout = 1, .idle_timeout = 1, .resolver_threads = 1,
	};
	if (!(H.client = http_client_new(H.loop, &cc, err, sizeof err)))
		sn_harness_die("client", err);
}

/* A plain transport the server may free when the connection ends (http_server_adopt takes it). */
struct sn_conn {
	struct transport t;
};
static struct transport_ops sn_conn_ops;
static void (*sn_plain_close)(struct transport *t);
static void sn_conn_close(struct transport *t)
{
	sn_plain_close(t);
	free(DF_CONTAINER_OF(t, struct sn_conn, t));
}

/* Replaces "@T", "@A", "@B" in in[0..n) into out (cap bytes); returns the length (cut at cap). */
static size_t sn_expand(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o < cap; i++) {
		const char *sub = NULL;
		if (in[i] == '@' && i + 1 < n)
			sub = in[i + 1] == 'T' ? H.task : in[i + 1] == 'A' ? H.secret[0] : in[i + 1] == 'B' ? H.secret[1] : NULL;
		if (!sub) {
			out[o++] = in[i];
			continue;
		}
		size_t k = DF_MIN(strlen(sub), cap - o);
		memcpy(out + o, sub, k);
		o += k;
		i++;
	}
	return o;
}

static int sn_ticked;
static void sn_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	sn_ticked = 1;
}

/* Sends one request (target must be a valid request-target for the answer to reach a handler) and
 * runs the loop until the answer is complete, or until nothing has happened for `quiet` seconds (a
 * held work request: then the client goes away). Everything a request does is local (a socketpair)
 * except a source fetch (to the refusing proxy, through the resolver thread): only registrations need
 * more than a millisecond. Returns the status (0: no answer); the answer in ans. */
static int sn_request(const char *target, size_t tlen, const char *body, size_t len, char *ans, size_t cap, double quiet)
{
	int sv[2];
	char head[8192 + 256];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
		sn_harness_die("socketpair", strerror(errno));
	struct sn_conn *c = calloc(1, sizeof *c);
	if (!c)
		sn_harness_die("conn", "out of memory");
	transport_plain_init(&c->t, sv[0]);
	sn_plain_close = c->t.ops->close;
	sn_conn_ops = *c->t.ops;
	sn_conn_ops.close = sn_conn_close;
	c->t.ops = &sn_conn_ops;
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(40000), .sin_addr.s_addr = htonl(0x7f000001)};
	if (http_server_adopt(H.srv, &c->t, (struct sockaddr *)&from, NULL, NULL) != DF_OK)
		sn_harness_die("adopt", "refused");
	int hn = snprintf(head, sizeof head,
			  "POST %.*s HTTP/1.1\r\nHost: sn\r\nX-DF-Token: " SN_TOKEN "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			  (int)DF_MIN(tlen, 8192), target, len);
	size_t off = 0, total = (size_t)hn + len, got = 0;
	int eof = 0, progress = 1;
	ev_timer tick;
	ev_timer_init(&tick, sn_tick, quiet, 0);
	while (!eof && progress) {
		progress = 0;
		while (off < total) {
			const char *p = off < (size_t)hn ? head + off : body + (off - (size_t)hn);
			size_t n = off < (size_t)hn ? (size_t)hn - off : total - off;
			ssize_t w = write(sv[1], p, n);
			if (w <= 0)
				break;
			off += (size_t)w;
			progress = 1;
		}
		/* one loop iteration: it returns on the first events, or after the quiet time */
		sn_ticked = 0;
		ev_timer_set(&tick, quiet, 0);
		ev_timer_start(H.loop, &tick);
		ev_run(H.loop, EVRUN_ONCE);
		ev_timer_stop(H.loop, &tick);
		progress |= !sn_ticked;
		for (;;) {
			char buf[4096];
			ssize_t r = read(sv[1], buf, sizeof buf);
			if (r == 0)
				eof = 1;
			if (r <= 0)
				break;
			size_t k = DF_MIN((size_t)r, cap - 1 - got);
			memcpy(ans + got, buf, k);
			got += k;
			progress = 1;
		}
	}
	ans[got] = 0;
	close(sv[1]);
	for (int i = 0; i < 3; i++)
		ev_run(H.loop, EVRUN_NOWAIT); /* the server sees the client go */
	int status = 0;
	if (got > 12 && memcmp(ans, "HTTP/1.1 ", 9) == 0)
		status = atoi(ans + 9);
	return status;
}

/* An answer the protocol does not allow: says which, then aborts (the fuzzer's crash). */
static void sn_wrong(const char *what, int st, const char *ans) __attribute__((noreturn));
static void sn_wrong(const char *what, int st, const char *ans)
{
	fprintf(stderr, "sn_harness: %s: status %d, answer:\n%s\n", what, st, ans);
	abort();
}

/* The body of an answer (after the head), or "". */
static const char *sn_body(const char *ans)
{
	const char *b = strstr(ans, "\r\n\r\n");
	return b ? b + 4 : "";
}

/* A fresh server and supernode with peers A and B registered for the task. */
static void sn_begin(void)
{
	char err[512], ans[65536];
	sn_harness_init();
	if (!(H.srv = http_server_new(H.loop, &(struct http_server_cfg){.io_timeout = 5})))
		sn_harness_die("server", "out of memory");
	struct supernode_cfg c = {
		.loop = H.loop, .store = H.store, .server = H.srv, .client = H.client, .token = SN_TOKEN, .source_streams = 1,
		.piece_digest = DIGEST_PIECE_XXH3,
		.sources_public = 1, /* the sources are unreachable: a private-source check would refuse A and B */
	};
	sched_config_default(&c.sched);
	if (!(H.sn = supernode_new(&c, err, sizeof err)))
		sn_harness_die("supernode", err);
	for (int i = 0; i < 2; i++) {
		char body[512];
		int n = snprintf(body, sizeof body, "task: %s\nurl: %s\ndigest: sha256:%s\nport: %d\n", H.task, H.url, H.task,
				 9000 + i);
		int st = sn_request("/v1/register", 12, body, (size_t)n, ans, sizeof ans, 0.01);
		const char *b = sn_body(ans);
		struct slice v;
		uint64_t h = 0;
		if (st != 200 || proto_find(b, strlen(b), "peer", &v) != DF_OK || proto_u64(v, &h) != DF_OK ||
		    proto_find(b, strlen(b), "secret", &v) != DF_OK || slice_copy(v, H.secret[i], sizeof H.secret[i]) != 0)
			sn_harness_die("register", ans);
		H.peer[i] = (int)h;
	}
}

static void sn_end(void)
{
	supernode_free(H.sn);
	http_server_free(H.srv);
	H.sn = NULL;
	H.srv = NULL;
	ev_run(H.loop, EVRUN_NOWAIT);
}

#endif
