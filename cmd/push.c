/* `df push FILE --group hosts.txt`: put a file on every host of a group through the swarm. The pusher
 * serves FILE once to the supernode (preheat), then tells each host's df proxy to fetch it P2P and
 * write it to --dest, showing live per-host progress. `df push --preheat URL` only warms the supernode.
 * `df push --image REF` preheats an image's blobs (resolved by swarm/image.c) and, with hosts, has
 * each host's df proxy fetch them into its store for its registry mirror. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/daemon.h"
#include "core/config.h"
#include "core/digest.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/proto.h"
#include "core/taskid.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "swarm/auth.h"
#include "swarm/common.h"
#include "swarm/image.h"

enum {
	OPT_GROUP = 1, OPT_HOST, OPT_DEST, OPT_MODE, OPT_PARALLEL, OPT_DIGEST, OPT_JSON, OPT_PREHEAT, OPT_PTIMEOUT, OPT_IMAGE,
	OPT_PLATFORM, OPT_ALL_PLATFORMS, OPT_CREDS, OPT_AUTH_FILE, OPT_PLAIN_HTTP,
};

static const struct opt_spec opts[] = {
	{"group", 'g', 1, OPT_GROUP, "FILE", "hosts, one host[:port] of its df proxy per line ('-': stdin; # comments)"},
	{"host", 0, 1, OPT_HOST, "HOST[:PORT]", "a host to push to (repeatable)"},
	{"dest", 'd', 1, OPT_DEST, "PATH", "where each host writes the file, below its push directory (default: FILE's name)"},
	{"mode", 'm', 1, OPT_MODE, "OCTAL", "file mode on the hosts (default 0644); setuid, setgid and sticky bits only where the host sets [proxy] push_special_modes"},
	{"parallel", 'P', 1, OPT_PARALLEL, "N", "hosts told at once (default 64)"},
	{"digest", 0, 1, OPT_DIGEST, "sha256:HEX", "FILE's sha256 when known (else computed)"},
	{"json", 0, 0, OPT_JSON, NULL, "print the result as JSON"},
	{"preheat", 0, 1, OPT_PREHEAT, "URL", "only make the supernode fetch URL (no hosts)"},
	{"push-timeout", 0, 1, OPT_PTIMEOUT, "SECONDS", "give up on a host after this long (default 3600)"},
	{"image", 0, 1, OPT_IMAGE, "REF", "an image ([REGISTRY/]REPO[:TAG][@sha256:HEX]): preheat its config and layers, and put them in each host's store for its df proxy"},
	{"platform", 0, 1, OPT_PLATFORM, "OS/ARCH[/VARIANT]", "--image: the manifest of a multi-platform image to take (default: this machine's)"},
	{"all-platforms", 0, 0, OPT_ALL_PLATFORMS, NULL, "--image: every platform's manifest"},
	{"creds", 0, 1, OPT_CREDS, "USER:PASSWORD", "--image: registry credentials (else --auth-file, $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, $DOCKER_CONFIG/config.json; else none)"},
	{"auth-file", 0, 1, OPT_AUTH_FILE, "FILE", "--image: registry credentials from this docker config.json / containers auth.json"},
	{"plain-http", 0, 0, OPT_PLAIN_HTTP, NULL, "--image: reach the registry over http when https is not answered (always so on loopback)"},
};
static const char *const sections[] = {"get", "security", NULL};

#define DEFAULT_PORT "65002"

enum hstate { H_WAIT, H_RUN, H_OK, H_FAIL };
static const char *const hstate_names[] = {"waiting", "fetching", "ok", "failed"};

struct host {
	struct push *ps;
	char name[256];
	enum hstate state;
	uint64_t have, total;
	struct rate_meter meter;
	char line[1024];
	size_t llen;
	char why[512];
	char path[1024];
	struct http_fetch *f;
	double started, ended;
	int status;
};

/* A supernode's short answer: its status and the first bytes of its body, NUL-terminated. */
struct sn_answer {
	int status;
	size_t len;
	char body[4096];
};

struct push {
	struct df *df;
	struct ev_loop *loop;
	struct http_client *client;  /* to hosts and the supernode (cluster TLS when on) */
	const char *scheme;
	char tok[AUTH_HEADER_MAX];
	struct host *hosts;
	int nhosts, next, running, parallel, done;
	char url[512], digest[80], dest[1024], mode[16];
	double timeout;
	int json, tty, drawn;
	int file_server;             /* the source is our own file server (not --preheat URL) */
	const char *path;            /* what hosts are POSTed: /v1/push, or /v1/blobs with body */
	char *body;                  /* a blob push's request (one for every host), or NULL */
	const struct image_plan *image;
	ev_timer tick;
	/* re-announcing the task while hosts fetch: a supernode restarted mid-push learns it again */
	ev_timer announce;
	char super[256], reg[16384];
	struct sn_answer ann;
	int ainflight;
	uint64_t announced;
};

/* ---- hosts ---- */

static int add_host(struct push *p, const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (!n || *s == '#')
		return DF_OK;
	struct host *h = realloc(p->hosts, (size_t)(p->nhosts + 1) * sizeof *h);
	if (!h || n >= sizeof h->name - 8)
		return DF_ERR;
	p->hosts = h;
	h = &p->hosts[p->nhosts++];
	memset(h, 0, sizeof *h);
	h->ps = p;
	snprintf(h->name, sizeof h->name, "%.*s", (int)n, s);
	/* a bare host (no port, or an IPv6 literal without brackets) gets df proxy's default port */
	if (!strchr(h->name, ':') || (h->name[0] != '[' && strchr(h->name, ':') != strrchr(h->name, ':')))
		snprintf(h->name + strlen(h->name), sizeof h->name - strlen(h->name), ":%s", DEFAULT_PORT);
	return DF_OK;
}

static int read_group(struct push *p, const char *path, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char line[1024];
	int lineno = 0;
	if (!f) {
		snprintf(err, errlen, "--group %s: %s", path, strerror(errno));
		return DF_ERR;
	}
	while (fgets(line, sizeof line, f)) {
		lineno++;
		line[strcspn(line, "\n")] = 0;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		if (add_host(p, line, strlen(line)) != DF_OK) {
			snprintf(err, errlen, "--group %s:%d: bad host '%s'", path, lineno, line);
			if (f != stdin)
				fclose(f);
			return DF_ERR;
		}
	}
	if (f != stdin)
		fclose(f);
	return DF_OK;
}

/* ---- output ---- */

static void draw(struct push *p)
{
	if (p->json)
		return;
	if (!p->tty) {
		/* not a terminal: one line per host as it ends */
		for (int i = 0; i < p->nhosts; i++) {
			struct host *h = &p->hosts[i];
			if ((h->state == H_OK || h->state == H_FAIL) && !h->status) {
				h->status = 1;
				printf("%-28s %-8s %s\n", h->name, hstate_names[h->state], h->state == H_OK ? h->path : h->why);
			}
		}
		fflush(stdout);
		return;
	}
	if (p->drawn)
		printf("\033[%dA", p->drawn);
	p->drawn = 0;
	for (int i = 0; i < p->nhosts; i++) {
		struct host *h = &p->hosts[i];
		char rate[32] = "";
		int pct = h->total ? (int)(h->have * 100 / h->total) : 0;
		if (h->state == H_RUN) {
			char sz[24];
			progress_size((uint64_t)h->meter.rate, sz, sizeof sz);
			snprintf(rate, sizeof rate, "%s/s", sz);
		}
		printf("\033[2K%-28s %-8s %3d%% %12s  %.60s\n", h->name, hstate_names[h->state], h->state == H_OK ? 100 : pct, rate,
		       h->state == H_FAIL ? h->why : "");
		p->drawn++;
	}
	fflush(stdout);
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct push *p = DF_CONTAINER_OF(t, struct push, tick);
	for (int i = 0; i < p->nhosts; i++)
		if (p->hosts[i].state == H_RUN)
			rate_meter_update(&p->hosts[i].meter, p->hosts[i].have, swarm_now_ms(loop));
	draw(p);
}

/* ---- one host ---- */

static void start_next(struct push *p);

static void host_line(struct host *h, const char *line)
{
	size_t pos = 0;
	struct proto_line l;
	if (proto_next(line, strlen(line), &pos, &l) != DF_OK)
		return;
	if (slice_eq(l.key, "progress")) {
		unsigned long long a = 0;
		long long b = 0;
		if (sscanf(l.val.p, "%llu %lld", &a, &b) == 2) {
			h->have = a;
			h->total = b > 0 ? (uint64_t)b : 0;
		}
	} else if (slice_eq(l.key, "ok")) {
		h->state = H_OK;
		slice_copy(l.val, h->path, sizeof h->path);
	} else if (slice_eq(l.key, "error")) {
		h->state = H_FAIL;
		slice_copy(l.val, h->why, sizeof h->why);
	}
}

static int host_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct host *h = ctx;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n') {
			h->line[h->llen] = 0;
			host_line(h, h->line);
			h->llen = 0;
		} else if (h->llen < sizeof h->line - 1) {
			h->line[h->llen++] = data[i];
		}
	}
	return DF_OK;
}

static int host_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct host *h = ctx;
	if (r->status == 401) {
		h->state = H_FAIL;
		snprintf(h->why, sizeof h->why, "auth refused (401): check [security] token");
		return DF_ERR;
	}
	if (r->status == 404) {
		h->state = H_FAIL;
		snprintf(h->why, sizeof h->why, "no df proxy push receiver there (404)");
		return DF_ERR;
	}
	return DF_OK; /* 403 and others carry "error: ..." lines */
}

static void host_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct host *h = ctx;
	struct push *p = h->ps;
	h->f = NULL;
	if (h->llen) { /* a last line without newline */
		h->line[h->llen] = 0;
		host_line(h, h->line);
		h->llen = 0;
	}
	if (h->state == H_RUN) {
		h->state = H_FAIL;
		snprintf(h->why, sizeof h->why, "%s", rc != DF_OK && msg ? msg : "the host ended without a result");
		if (rc != DF_OK && msg && (strstr(msg, "refused") || strstr(msg, "connect")))
			snprintf(h->why, sizeof h->why, "unreachable: %s", msg);
		if (rc != DF_OK && msg && strstr(msg, "timeout"))
			snprintf(h->why, sizeof h->why, "timeout: %s", msg);
	}
	h->ended = ev_now(p->loop);
	p->running--;
	p->done++;
	draw(p);
	if (p->done == p->nhosts)
		ev_break(p->loop, EVBREAK_ALL);
	else
		start_next(p);
}

static void start_host(struct push *p, struct host *h)
{
	char url[512], body[2048], err[256];
	struct proto_buf b;
	proto_buf_init(&b, body, sizeof body);
	proto_put(&b, "url", "%s", p->url);
	proto_put(&b, "digest", "%s", p->digest);
	proto_put(&b, "dest", "%s", p->dest);
	proto_put(&b, "mode", "%s", p->mode);
	snprintf(url, sizeof url, "%s://%s%s", p->scheme, h->name, p->path);
	struct http_request req = {
		.method = "POST", .url = url, .headers = p->tok, .body = p->body ? p->body : b.p,
		.body_len = p->body ? strlen(p->body) : b.len, .what = "host",
		.on_response = host_response, .on_body = host_body, .on_done = host_done, .ctx = h, .connect_timeout = 5,
		.first_byte_timeout = 30, .idle_timeout = p->timeout,
	};
	h->state = H_RUN;
	h->started = ev_now(p->loop);
	p->running++;
	h->f = http_client_request(p->client, &req, err, sizeof err);
	if (!h->f) {
		snprintf(h->why, sizeof h->why, "%s", err);
		h->state = H_FAIL;
		p->running--;
		p->done++;
	}
}

static void start_next(struct push *p)
{
	while (p->running < p->parallel && p->next < p->nhosts)
		start_host(p, &p->hosts[p->next++]);
	if (p->done == p->nhosts)
		ev_break(p->loop, EVBREAK_ALL);
}

/* ---- the pusher's file server ---- */

struct filesrv {
	const char *path;
	char hex[65];
	const char *token;
	uint64_t size;
	uint64_t served_requests;
};

static void on_file(struct http_req *req, void *ctx)
{
	struct filesrv *fs = ctx;
	if (!auth_check(req, fs->token))
		return;
	const struct http_head *h = http_req_head(req);
	if (h->path.n != 9 + 64 || memcmp(h->path.p + 9, fs->hex, 64) != 0) {
		http_reply(req, 404, NULL, "not pushed here\n", 16);
		return;
	}
	int fd = open(fs->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		http_reply(req, 410, NULL, "the file is gone\n", 17);
		return;
	}
	fs->served_requests++;
	http_reply_file_range(req, "Content-Type: application/octet-stream\r\nETag: \"df-push\"\r\n", fd, fs->size);
}

/* The local address that reaches host:port (a UDP "connect" sends nothing; the kernel picks the route). */
static int local_addr_toward(const char *hostport, char *out, size_t cap)
{
	char host[256], port[16];
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai = NULL;
	const char *colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof host)
		return DF_ERR;
	snprintf(host, sizeof host, "%.*s", (int)(colon - hostport), hostport);
	snprintf(port, sizeof port, "%s", colon + 1);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = 0;
	}
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return DF_ERR;
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int rc = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 ? DF_OK : DF_ERR;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	if (rc == DF_OK) {
		loop_sockaddr_str((struct sockaddr *)&ss, out, cap);
		char *c = strrchr(out, ':');
		if (c)
			*c = 0;
	}
	return rc;
}

/* ---- preheat: a registration makes the supernode fetch the file from its source ---- */

/* on_response and on_body of a request whose ctx is a struct sn_answer (the rest is cut) */
static int answer_resp(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	((struct sn_answer *)ctx)->status = r->status;
	return DF_OK;
}

static int answer_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct sn_answer *a = ctx;
	size_t n = DF_MIN(len, sizeof a->body - 1 - a->len);
	memcpy(a->body + a->len, data, n);
	a->len += n;
	a->body[a->len] = 0;
	return DF_OK;
}

struct preheat {
	struct ev_loop *loop;
	int rc;
	char msg[512];
	struct sn_answer a;
};

static void pre_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct preheat *ph = DF_CONTAINER_OF((struct sn_answer *)ctx, struct preheat, a);
	ph->rc = rc;
	snprintf(ph->msg, sizeof ph->msg, "%s", msg ? msg : "");
	ev_break(ph->loop, EVBREAK_ALL);
}

/* POST path with body to the supernode and wait for the answer. DF_OK with the body in ph. */
static int supernode_call(struct push *p, const char *super, const char *path, const char *body, struct preheat *ph)
{
	char url[512], err[256];
	memset(ph, 0, sizeof *ph);
	ph->loop = p->loop;
	snprintf(url, sizeof url, "%s://%s%s", p->scheme, super, path);
	struct http_request req = {
		.method = body ? "POST" : "GET", .url = url, .headers = p->tok, .body = body, .body_len = body ? strlen(body) : 0,
		.what = "supernode", .on_response = answer_resp, .on_body = answer_body, .on_done = pre_done, .ctx = &ph->a,
		.connect_timeout = 5, .first_byte_timeout = 300,
	};
	if (!http_client_request(p->client, &req, err, sizeof err)) {
		snprintf(ph->msg, sizeof ph->msg, "%s", err);
		return DF_ERR;
	}
	ev_run(p->loop, 0);
	if (ph->rc != DF_OK)
		return DF_ERR;
	if (ph->a.status != 200) {
		snprintf(ph->msg, sizeof ph->msg, "answered %d: %.*s", ph->a.status, (int)strcspn(ph->a.body, "\n"), ph->a.body);
		return DF_ERR;
	}
	return DF_OK;
}

/* "/v1/leave?task=ID&peer=N&secret=S" for the registration a register answer gave; DF_ERR when the
 * answer names none. */
static int leave_path(const struct sn_answer *a, char *path, size_t cap)
{
	struct slice task, peer, secret = {"", 0};
	uint64_t h;
	if (proto_find(a->body, a->len, "task", &task) != DF_OK || !taskid_valid(task.p, task.n) ||
	    proto_find(a->body, a->len, "peer", &peer) != DF_OK || proto_u64(peer, &h) != DF_OK)
		return DF_ERR;
	proto_find(a->body, a->len, "secret", &secret);
	if (secret.n && !taskid_valid(secret.p, secret.n)) /* lower-case hex: nothing to escape */
		return DF_ERR;
	snprintf(path, cap, "/v1/leave?task=%.*s&peer=%llu&secret=%.*s", (int)task.n, task.p, (unsigned long long)h,
		 (int)secret.n, secret.p);
	return DF_OK;
}

/* Appends a "header: Name: value" line to b for each of headers' CRLF-ended lines (NULL: none). */
static void put_headers(struct proto_buf *b, const char *headers)
{
	for (const char *h = headers; h && *h;) {
		size_t n = strcspn(h, "\r\n");
		if (n)
			proto_put(b, "header", "%.*s", (int)n, h);
		h += n;
		h += strspn(h, "\r\n");
	}
}

/* Registers url (digest optional; headers: lines the source wants, or NULL) with the supernode,
 * then leaves at once: the supernode keeps fetching from the source. Returns the task id in id. */
static int preheat(struct push *p, const char *super, const char *url, const char *digest, const char *headers,
		   char id[TASKID_MAX])
{
	struct preheat ph;
	char body[sizeof p->reg], path[256], err[256];
	struct digest_spec d = {0};
	struct proto_buf b;
	if (digest[0])
		digest_spec_parse(digest, strlen(digest), &d);
	if (swarm_task_id(url, p->df->cfg->get_filter, &d, id, err, sizeof err) != DF_OK) {
		log_user_error("push", "%s", err);
		return DF_ERR;
	}
	proto_buf_init(&b, body, sizeof body);
	proto_put(&b, "task", "%s", id);
	proto_put(&b, "url", "%s", url);
	if (digest[0])
		proto_put(&b, "digest", "%s", digest);
	/* a pushed FILE is served by our own file server, a cluster listener (token, TLS) */
	if (p->file_server)
		proto_put(&b, "source", "cluster");
	put_headers(&b, headers); /* the source's credentials: the supernode keeps them in memory only */
	proto_put(&b, "port", "0");
	if (b.overflow) {
		log_user_error("push", "preheat %s: the registration does not fit (headers too long)", url);
		return DF_ERR;
	}
	snprintf(p->reg, sizeof p->reg, "%s", body); /* for re-announcing */
	snprintf(p->super, sizeof p->super, "%s", super);
	if (supernode_call(p, super, "/v1/register", body, &ph) != DF_OK) {
		log_user_error("push", "preheat %s at supernode %s: %s", url, super, ph.msg);
		return DF_ERR;
	}
	if (leave_path(&ph.a, path, sizeof path) == DF_OK)
		supernode_call(p, super, path, "", &ph);
	return DF_OK;
}

/* Waits until the supernode has the whole task (its status JSON says so). */
static int wait_complete(struct push *p, const char *super, const char *id)
{
	char needle[128], path[128];
	snprintf(needle, sizeof needle, "\"id\":\"%s\"", id);
	snprintf(path, sizeof path, "/v1/status?format=json&task=%s", id);
	for (int i = 0; i < 36000; i++) {
		struct preheat ph;
		if (supernode_call(p, super, path, NULL, &ph) != DF_OK) {
			log_user_error("push", "supernode %s: %s", super, ph.msg);
			return DF_ERR;
		}
		/* the status of that one task (&task=) fits in the 4 KB kept of the answer, whatever else
		 * the supernode holds; a 1000-peer task is cut, but its state comes first */
		char *t = strstr(ph.a.body, needle);
		if (t) {
			char *st = strstr(t, "\"state\":\"");
			if (st && strncmp(st + 9, "complete", 8) == 0)
				return DF_OK;
			if (st && strncmp(st + 9, "failed", 6) == 0) {
				char *e = strstr(t, "\"error\":\"");
				log_user_error("push", "preheat failed at the supernode: %.*s", e ? (int)strcspn(e + 9, "\"") : 7,
					       e ? e + 9 : "unknown");
				return DF_ERR;
			}
		}
		usleep(100000);
	}
	return DF_ERR;
}

/* ---- re-announcing ---- */

#define ANNOUNCE_EVERY 5.0

static void left_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)rc;
	(void)msg;
	(void)ctx;
}

static void ann_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct push *p = DF_CONTAINER_OF((struct sn_answer *)ctx, struct push, ann);
	char url[768], err[256], path[256];
	p->ainflight = 0;
	if (rc != DF_OK || p->ann.status != 200) {
		log_debug("push: re-announce to %s: %s", p->super, rc != DF_OK && msg ? msg : "refused");
		return;
	}
	p->announced++;
	/* we are no peer: leave at once, so the supernode does not keep pieces "in flight" to us */
	if (leave_path(&p->ann, path, sizeof path) != DF_OK)
		return;
	snprintf(url, sizeof url, "%s://%s%s", p->scheme, p->super, path);
	struct http_request req = {
		.method = "POST", .url = url, .headers = p->tok, .what = "supernode", .on_done = left_done, .ctx = p,
		.connect_timeout = 5, .first_byte_timeout = 10,
	};
	http_client_request(p->client, &req, err, sizeof err);
}

/* Registers the task again (the same body as the preheat). The supernode knows it already, unless
 * it restarted since: then this makes it fetch from our file server again, so hosts that register
 * with it after the restart find the task there. */
static void announce_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	struct push *p = DF_CONTAINER_OF(t, struct push, announce);
	char url[512], err[256];
	if (p->ainflight)
		return;
	p->ann.len = 0;
	p->ann.status = 0;
	p->ann.body[0] = 0;
	snprintf(url, sizeof url, "%s://%s/v1/register", p->scheme, p->super);
	struct http_request req = {
		.method = "POST", .url = url, .headers = p->tok, .body = p->reg, .body_len = strlen(p->reg), .what = "supernode",
		.on_response = answer_resp, .on_body = answer_body, .on_done = ann_done, .ctx = &p->ann, .connect_timeout = 5,
		.first_byte_timeout = 30,
	};
	if (http_client_request(p->client, &req, err, sizeof err))
		p->ainflight = 1;
}

/* ---- the command ---- */

static int usage(const char *msg, const char *arg)
{
	fprintf(stderr, "df: push: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\nTry 'df push --help'.\n");
	return DF_EXIT_USAGE;
}

static void print_json(struct push *p)
{
	struct jsonw w;
	int ok = 0;
	jsonw_init(&w, 16u << 20);
	jsonw_obj_open(&w, NULL);
	if (p->image) {
		const struct image_plan *im = p->image;
		char ref[800];
		snprintf(ref, sizeof ref, "%s/%s%s%s%s%s", im->ref.registry, im->ref.repo, im->ref.tag[0] ? ":" : "", im->ref.tag,
			 im->ref.digest[0] ? "@" : "", im->ref.digest);
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
		jsonw_str(&w, "url", p->url);
		jsonw_str(&w, "digest", p->digest);
	}
	jsonw_arr_open(&w, "hosts");
	for (int i = 0; i < p->nhosts; i++) {
		struct host *h = &p->hosts[i];
		ok += h->state == H_OK;
		jsonw_obj_open(&w, NULL);
		jsonw_str(&w, "host", h->name);
		jsonw_str(&w, "state", hstate_names[h->state]);
		jsonw_u64(&w, "bytes", h->have);
		jsonw_f64(&w, "seconds", h->ended > h->started ? h->ended - h->started : 0);
		if (h->state == H_OK)
			jsonw_str(&w, p->image ? "result" : "path", h->path);
		else
			jsonw_str(&w, "error", h->why);
		jsonw_obj_close(&w);
	}
	jsonw_arr_close(&w);
	jsonw_u64(&w, "ok", (uint64_t)ok);
	jsonw_u64(&w, "failed", (uint64_t)(p->nhosts - ok));
	jsonw_obj_close(&w);
	printf("%s\n", w.p ? w.p : "{}");
	jsonw_free(&w);
}

/* Tells every host (at most --parallel at once) with the live table; returns how many ended ok. */
static int run_hosts(struct push *p, int announce)
{
	p->tty = isatty(1) && !p->json;
	ev_timer_init(&p->tick, tick_cb, 0.5, 0.5);
	ev_timer_start(p->loop, &p->tick);
	if (announce) {
		ev_timer_init(&p->announce, announce_cb, ANNOUNCE_EVERY, ANNOUNCE_EVERY);
		ev_timer_start(p->loop, &p->announce);
	}
	start_next(p);
	if (p->done < p->nhosts)
		ev_run(p->loop, 0);
	ev_timer_stop(p->loop, &p->tick);
	if (announce)
		ev_timer_stop(p->loop, &p->announce);
	draw(p);
	int ok = 0;
	for (int i = 0; i < p->nhosts; i++)
		ok += p->hosts[i].state == H_OK;
	return ok;
}

static void print_failed(const struct push *p)
{
	for (int i = 0; i < p->nhosts; i++)
		if (p->hosts[i].state != H_OK)
			printf("  failed: %s: %s\n", p->hosts[i].name, p->hosts[i].why[0] ? p->hosts[i].why : "not started");
}

/* The flags of --image. */
struct image_args {
	const char *ref, *platform, *creds, *auth_file;
	int all_platforms, plain_http;
};

/* df push --image REF: resolve, preheat every blob at the supernode, then (with hosts) have each
 * host fetch them into its store. */
static int push_image(struct push *p, const char *super, const struct image_args *ia)
{
	char err[1024], size[32];
	struct image_plan plan;
	struct image_cfg ic = {
		.loop = p->loop, .client = NULL, .ref = ia->ref, .creds = ia->creds, .auth_file = ia->auth_file,
		.platform = ia->platform, .all_platforms = ia->all_platforms, .plain_http = ia->plain_http,
		.timeout = p->df->cfg->get_timeout > 0 ? p->df->cfg->get_timeout : 60,
	};
	/* the registry is a source: [common] cacert and insecure, not the cluster's TLS */
	ic.client = daemon_client(p->df, p->loop, NULL, 0);
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
		fprintf(stderr, "df: image %s/%s@%s%s%s: %d blob%s (%s)%s%s%s, via supernode %s\n", plan.ref.registry, plan.ref.repo,
			plan.digest, plan.platforms[0] ? " for " : "", plan.platforms, plan.nblobs, plan.nblobs == 1 ? "" : "s", size,
			plan.creds_from[0] ? "; credentials from " : "", plan.creds_from,
			plan.skipped ? "; foreign layers left out" : "", super);
	/* every blob registered first, so the supernode fetches them all at once; then waited for */
	char (*ids)[TASKID_MAX] = calloc((size_t)plan.nblobs + 1, sizeof *ids);
	rc = ids ? DF_EXIT_OK : DF_EXIT_FAIL;
	for (int i = 0; rc == DF_EXIT_OK && i < plan.nblobs; i++)
		if (preheat(p, super, plan.blobs[i].url, plan.blobs[i].digest, plan.auth, ids[i]) != DF_OK)
			rc = DF_EXIT_FAIL;
	for (int i = 0; rc == DF_EXIT_OK && i < plan.nblobs; i++)
		if (wait_complete(p, super, ids[i]) != DF_OK)
			rc = DF_EXIT_FAIL;
	free(ids);
	/* the hosts register with the registry's authorization too: a token as fresh as can be, since
	 * tokens expire (Docker Hub's in 300 s) and the preheat may have taken longer */
	if (rc == DF_EXIT_OK && p->nhosts && strncmp(plan.auth, "Authorization: Bearer ", 22) == 0 &&
	    image_reauth(&ic, &plan, err, sizeof err) != DF_OK) {
		log_user_error("push", "%s", err);
		rc = DF_EXIT_FAIL;
	}
	http_client_free(ic.client);
	if (rc != DF_EXIT_OK || !p->nhosts) {
		if (rc == DF_EXIT_OK && p->json)
			print_json(p);
		else if (rc == DF_EXIT_OK)
			printf("preheated %s/%s@%s at %s: %d blob%s, %s\n", plan.ref.registry, plan.ref.repo, plan.digest, super,
			       plan.nblobs, plan.nblobs == 1 ? "" : "s", size);
		image_plan_free(&plan);
		p->image = NULL;
		return rc;
	}
	/* one request for every host: the blobs, and the lines the registry wants (memory only) */
	size_t cap = 4096 + sizeof plan.auth + (size_t)plan.nblobs * (sizeof plan.blobs[0].url + 128);
	p->body = malloc(cap);
	if (!p->body) {
		image_plan_free(&plan);
		p->image = NULL;
		return DF_EXIT_FAIL;
	}
	struct proto_buf b;
	proto_buf_init(&b, p->body, cap);
	proto_put(&b, "image", "%s/%s@%s", plan.ref.registry, plan.ref.repo, plan.digest);
	put_headers(&b, plan.auth);
	for (int i = 0; i < plan.nblobs; i++)
		proto_put(&b, "blob", "%s %llu %s", plan.blobs[i].digest, (unsigned long long)plan.blobs[i].size, plan.blobs[i].url);
	p->path = "/v1/blobs";
	int ok = run_hosts(p, 0);
	if (p->json) {
		print_json(p);
	} else {
		printf("%d/%d ok, %d failed; %d blob%s (%s) of %s/%s in each host's store\n", ok, p->nhosts, p->nhosts - ok,
		       plan.nblobs, plan.nblobs == 1 ? "" : "s", size, plan.ref.registry, plan.ref.repo);
		print_failed(p);
	}
	explicit_bzero(p->body, strlen(p->body));
	free(p->body);
	p->body = NULL;
	image_plan_free(&plan);
	p->image = NULL;
	return ok == p->nhosts ? DF_EXIT_OK : DF_EXIT_FAIL;
}

static int run(struct df *df, struct opt_result *r)
{
	struct push p = {.df = df, .parallel = 64, .timeout = 3600, .path = "/v1/push"};
	const char *file = NULL, *preheat_url = NULL, *digest_arg = NULL;
	struct image_args ia = {0};
	char err[512];
	int rc = DF_EXIT_FAIL;
	snprintf(p.mode, sizeof p.mode, "0644");
	for (int i = 0; i < r->nvals; i++) {
		const char *a = r->vals[i].arg;
		switch (r->vals[i].id) {
		case OPT_GROUP:
			if (read_group(&p, a, err, sizeof err) != DF_OK)
				return usage("%s", err);
			break;
		case OPT_HOST:
			if (add_host(&p, a, strlen(a)) != DF_OK)
				return usage("bad --host '%s'", a);
			break;
		case OPT_DEST:
			if (snprintf(p.dest, sizeof p.dest, "%s", a) >= (int)sizeof p.dest)
				return usage("--dest '%.40s...': too long", a);
			break;
		case OPT_MODE:
			if (strspn(a, "01234567") != strlen(a) || strlen(a) > 5 || !a[0])
				return usage("--mode '%s': expected an octal mode like 0644", a);
			snprintf(p.mode, sizeof p.mode, "%s", a);
			break;
		case OPT_PARALLEL:
			p.parallel = strspn(a, "0123456789") == strlen(a) && strlen(a) <= 5 ? (int)strtol(a, NULL, 10) : 0;
			if (p.parallel < 1 || p.parallel > 10000)
				return usage("--parallel '%s': expected 1 to 10000", a);
			break;
		case OPT_DIGEST: digest_arg = a; break;
		case OPT_JSON: p.json = 1; break;
		case OPT_PREHEAT: preheat_url = a; break;
		case OPT_PTIMEOUT: p.timeout = atof(a); break;
		case OPT_IMAGE: ia.ref = a; break;
		case OPT_PLATFORM: ia.platform = a; break;
		case OPT_ALL_PLATFORMS: ia.all_platforms = 1; break;
		case OPT_CREDS: ia.creds = a; break;
		case OPT_AUTH_FILE: ia.auth_file = a; break;
		case OPT_PLAIN_HTTP: ia.plain_http = 1; break;
		}
	}
	if (ia.ref && (preheat_url || r->nargs))
		return usage("%s", "--image takes no FILE and no --preheat URL");
	if (!ia.ref && (ia.platform || ia.all_platforms || ia.creds || ia.auth_file || ia.plain_http))
		return usage("%s", "--platform, --all-platforms, --creds, --auth-file and --plain-http go with --image");
	if (ia.creds)
		log_warn("--creds on the command line is visible to every local user (ps, /proc/PID/cmdline): "
			 "prefer --auth-file or $REGISTRY_AUTH_FILE");
	if (ia.platform && ia.all_platforms)
		return usage("%s", "--platform or --all-platforms, not both");
	if (ia.ref && (p.dest[0] || digest_arg))
		return usage("%s", "--image puts blobs in each host's store: no --dest, no --digest");
	if (preheat_url && r->nargs)
		return usage("--preheat takes a URL, not a FILE ('%s')", r->args[0]);
	if (!preheat_url && !ia.ref) {
		if (r->nargs != 1)
			return usage("%s", r->nargs ? "takes one FILE" : "missing FILE (or --preheat URL, or --image REF)");
		file = r->args[0];
		if (!p.nhosts)
			return usage("%s", "no hosts: give --group FILE or --host HOST");
	}
	if (!df->cfg->get_supernode[0])
		return usage("%s", "needs a supernode: --supernode HOST:PORT (or [get] supernode)");
	char super[256];
	snprintf(super, sizeof super, "%.*s", (int)strcspn(df->cfg->get_supernode, ", "), df->cfg->get_supernode);
	if (daemon_token(df, 0) != DF_OK)
		return DF_EXIT_USAGE;
	int tls = daemon_cluster_tls(df);
	if (tls < 0)
		return DF_EXIT_USAGE;
	p.scheme = tls ? "https" : "http";
	char tokbuf[AUTH_HEADER_MAX];
	snprintf(p.tok, sizeof p.tok, "%s", auth_header(df->cfg->security_token, tokbuf, sizeof tokbuf));
	p.loop = ev_default_loop(0);
	p.client = tls ? daemon_cluster_client(df, p.loop, NULL, 0) : daemon_client(df, p.loop, NULL, 0);
	if (!p.client)
		goto out;
	char id[TASKID_MAX];
	if (ia.ref) {
		rc = push_image(&p, super, &ia);
		goto out;
	}
	if (preheat_url) {
		if (preheat(&p, super, preheat_url, digest_arg ? digest_arg : "", NULL, id) == DF_OK && wait_complete(&p, super, id) == DF_OK) {
			if (!p.json)
				printf("preheated %s at %s (task %s)\n", preheat_url, super, id);
			rc = DF_EXIT_OK;
		}
		goto out;
	}
	/* the file: its size and sha256 (read once; BearSSL hashes about 120 MB/s per core) */
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_user_error("push", "%s: %s", file, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		rc = DF_EXIT_USAGE;
		goto out;
	}
	struct digest_file_ctx dc;
	uint8_t md5[16], sha[32];
	static char buf[1 << 16];
	ssize_t n;
	digest_file_init(&dc);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		digest_file_update(&dc, buf, (size_t)n);
	close(fd);
	digest_file_final(&dc, md5, sha);
	struct filesrv fs = {.path = file, .token = df->cfg->security_token, .size = (uint64_t)st.st_size};
	digest_hex(sha, 32, fs.hex);
	snprintf(p.digest, sizeof p.digest, "sha256:%s", fs.hex);
	if (digest_arg) {
		struct digest_spec want;
		if (digest_spec_parse(digest_arg, strlen(digest_arg), &want) != DF_OK || want.len != 32 || memcmp(want.bytes, sha, 32)) {
			log_user_error("push", "%s: its sha256 is %s, not %s", file, fs.hex, digest_arg);
			rc = DF_EXIT_DIGEST;
			goto out;
		}
	}
	if (!p.dest[0]) {
		const char *slash = strrchr(file, '/');
		snprintf(p.dest, sizeof p.dest, "%s", slash ? slash + 1 : file);
	}
	/* the request is lines of text: a newline would cut the path (or add a line), so refuse */
	for (const char *c = p.dest; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			log_user_error("push", "--dest '%.*s...': a control character (0x%02x) follows; refused", (int)(c - p.dest),
				       p.dest, (unsigned char)*c);
			rc = DF_EXIT_USAGE;
			goto out;
		}
	/* serve the file to the supernode (the push's only source), at an address it can reach */
	struct http_server_cfg sc = {.name = "df/" DF_VERSION};
	daemon_server_cfg(df, &sc);
	struct http_server *srv = http_server_new(p.loop, &sc);
	const char *listen = df->cfg->get_peer_listen[0] ? df->cfg->get_peer_listen : ":0";
	if (!srv || http_server_listen(srv, listen, err, sizeof err) != DF_OK ||
	    http_server_route(srv, "GET", "/v1/file/", on_file, &fs) != DF_OK) {
		log_user_error("push", "%s", srv ? err : "out of memory");
		if (srv)
			http_server_free(srv);
		goto out;
	}
	char addr[128];
	if (df->cfg->get_advertise[0])
		snprintf(addr, sizeof addr, "%s", df->cfg->get_advertise);
	else if (local_addr_toward(super, addr, sizeof addr) != DF_OK)
		snprintf(addr, sizeof addr, "127.0.0.1");
	if (strchr(addr, ':') && addr[0] != '[')
		snprintf(p.url, sizeof p.url, "%s://[%s]:%u/v1/file/%s", p.scheme, addr, http_server_port(srv), fs.hex);
	else
		snprintf(p.url, sizeof p.url, "%s://%s:%u/v1/file/%s", p.scheme, addr, http_server_port(srv), fs.hex);
	char size[32];
	progress_size(fs.size, size, sizeof size);
	if (!p.json)
		fprintf(stderr, "df: pushing %s (%s, sha256:%.12s…) to %d host%s via supernode %s\n", file, size, fs.hex, p.nhosts,
			p.nhosts == 1 ? "" : "s", super);
	p.file_server = 1;
	if (preheat(&p, super, p.url, p.digest, NULL, id) != DF_OK) {
		http_server_free(srv);
		goto out;
	}
	int ok = run_hosts(&p, 1);
	struct http_server_stats ss;
	http_server_get_stats(srv, &ss);
	if (p.json) {
		print_json(&p);
	} else {
		char sent[32];
		progress_size(ss.bytes_out, sent, sizeof sent);
		printf("%d/%d ok, %d failed; this machine sent %s for a %s file\n", ok, p.nhosts, p.nhosts - ok, sent, size);
		print_failed(&p);
	}
	rc = ok == p.nhosts ? DF_EXIT_OK : DF_EXIT_FAIL;
	http_server_free(srv);
out:
	if (p.client)
		http_client_free(p.client);
	free(p.hosts);
	daemon_close(df);
	return rc;
}

const struct cmd_desc cmd_push = {
	.name = "push",
	.summary = "put a file or an image's blobs on every host of a group through the swarm (or --preheat a URL)",
	.synopsis = "FILE (--group HOSTS | --host H...) [--dest PATH] [OPTIONS] | --image REF [--group HOSTS | --host H...] | --preheat URL",
	.sections = sections,
	.opts = opts,
	.nopts = (int)DF_ARRAY_LEN(opts),
	.run = run,
};
