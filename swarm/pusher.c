/* The sending end of `df push`: the pushed file's server, the preheat and re-announce at the
 * supernode, and the requests that tell each host's push receiver to fetch (swarm/pusher.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/digest.h"
#include "core/log.h"
#include "core/monotime.h"
#include "core/proto.h"
#include "net/http_parse.h"
#include "swarm/common.h"
#include "swarm/image.h"
#include "swarm/pusher.h"

#define DEFAULT_PORT "65002"
#define ANNOUNCE_EVERY 5.0

const char *const pusher_hstate_names[] = {"waiting", "fetching", "ok", "failed"};

/* ---- hosts ---- */

int pusher_host_parse(const char *s, size_t n, char *out, size_t cap)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (!n || *s == '#')
		return DF_AGAIN;
	/* df proxy's push port where none is given: a bare host, or an IPv6 address without brackets
	 * (two colons or more: it cannot carry a port) */
	char line[300], why[400];
	const char *colon = memchr(s, ':', n);
	int v6 = colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)) && *s != '[';
	int w = v6 ? snprintf(line, sizeof line, "[%.*s]:%s", (int)n, s, DEFAULT_PORT)
		: !colon || (*s == '[' && s[n - 1] == ']')
			? snprintf(line, sizeof line, "%.*s:%s", (int)n, s, DEFAULT_PORT)
			: snprintf(line, sizeof line, "%.*s", (int)n, s);
	struct addr a;
	if (w < 0 || (size_t)w >= sizeof line || addr_parse(line, &a, why, sizeof why) != DF_OK || !a.host[0] ||
	    !a.port)
		return DF_ERR;
	w = snprintf(out, cap, "%s", line);
	return w > 0 && (size_t)w < cap ? DF_OK : DF_ERR;
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)tolower((unsigned char)*s)) * 16777619u;
	return h;
}

/* Looks name up in the set of listed hosts; when absent, reserves its slot for index i (growing the
 * set to keep it at most half full). 1: listed already, 0: added, DF_ERR: out of memory. */
static int seen_add(struct pusher *p, const char *name, int i)
{
	if (2 * (size_t)(p->nhosts + 1) > p->seen_cap) {
		size_t cap = p->seen_cap ? 2 * p->seen_cap : 64;
		uint32_t *t = calloc(cap, sizeof *t);
		if (!t)
			return DF_ERR;
		for (int k = 0; k < p->nhosts; k++)
			for (size_t j = name_hash(p->hosts[k].name) & (cap - 1);; j = (j + 1) & (cap - 1))
				if (!t[j]) {
					t[j] = (uint32_t)k + 1;
					break;
				}
		free(p->seen);
		p->seen = t;
		p->seen_cap = cap;
	}
	for (size_t j = name_hash(name) & (p->seen_cap - 1);; j = (j + 1) & (p->seen_cap - 1)) {
		if (!p->seen[j]) {
			p->seen[j] = (uint32_t)i + 1;
			return 0;
		}
		if (strcasecmp(p->hosts[p->seen[j] - 1].name, name) == 0)
			return 1;
	}
}

int pusher_add_host(struct pusher *p, const char *s, size_t n)
{
	char name[sizeof p->hosts[0].name];
	int rc = pusher_host_parse(s, n, name, sizeof name);
	if (rc != DF_OK)
		return rc == DF_AGAIN ? DF_OK : DF_ERR;
	struct pusher_host *h = realloc(p->hosts, (size_t)(p->nhosts + 1) * sizeof *h);
	if (!h)
		return DF_ERR;
	p->hosts = h;
	rc = seen_add(p, name, p->nhosts); /* its slot names hosts[nhosts], filled below */
	if (rc == 1) {
		p->duplicates++;
		return DF_OK;
	}
	if (rc != 0)
		return DF_ERR;
	h = &p->hosts[p->nhosts++];
	memset(h, 0, sizeof *h);
	h->ps = p;
	snprintf(h->name, sizeof h->name, "%s", name);
	return DF_OK;
}

int pusher_read_group(struct pusher *p, const char *path, char *err, size_t errlen)
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
		if (pusher_add_host(p, line, strlen(line)) != DF_OK) {
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

static void changed(struct pusher *p)
{
	if (p->on_change)
		p->on_change(p);
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct pusher *p = DF_CONTAINER_OF(t, struct pusher, tick);
	for (int i = 0; i < p->nhosts; i++)
		if (p->hosts[i].state == PUSHER_RUN)
			rate_meter_update(&p->hosts[i].meter, p->hosts[i].have, swarm_now_ms(loop));
	changed(p);
}

/* ---- one host ---- */

static void start_next(struct pusher *p);

static void host_line(struct pusher_host *h, const char *line)
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
		h->state = PUSHER_OK;
		slice_copy(l.val, h->path, sizeof h->path);
	} else if (slice_eq(l.key, "error")) {
		h->state = PUSHER_FAIL;
		slice_copy(l.val, h->why, sizeof h->why);
	}
}

static int host_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct pusher_host *h = ctx;
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
	struct pusher_host *h = ctx;
	if (r->status == 401) {
		h->state = PUSHER_FAIL;
		snprintf(h->why, sizeof h->why, "auth refused (401): check [security] token");
		return DF_ERR;
	}
	if (r->status == 404) {
		h->state = PUSHER_FAIL;
		snprintf(h->why, sizeof h->why, "no df proxy push receiver there (404)");
		return DF_ERR;
	}
	return DF_OK; /* 403 and others carry "error: ..." lines */
}

static void host_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct pusher_host *h = ctx;
	struct pusher *p = h->ps;
	h->f = NULL;
	if (h->llen) { /* a last line without newline */
		h->line[h->llen] = 0;
		host_line(h, h->line);
		h->llen = 0;
	}
	if (h->state == PUSHER_RUN) {
		h->state = PUSHER_FAIL;
		snprintf(h->why, sizeof h->why, "%s", rc != DF_OK && msg ? msg : "the host ended without a result");
		if (rc != DF_OK && msg && (strstr(msg, "refused") || strstr(msg, "connect")))
			snprintf(h->why, sizeof h->why, "unreachable: %s", msg);
		if (rc != DF_OK && msg && strstr(msg, "timeout"))
			snprintf(h->why, sizeof h->why, "timeout: %s", msg);
	}
	h->ended = monotime_now();
	p->running--;
	p->done++;
	changed(p);
	if (p->done == p->nhosts)
		ev_break(p->loop, EVBREAK_ALL);
	else
		start_next(p);
}

static void start_host(struct pusher *p, struct pusher_host *h)
{
	char url[512], body[2048], err[256];
	struct proto_buf b;
	proto_buf_init(&b, body, sizeof body);
	proto_put(&b, "url", "%s", p->url);
	proto_put(&b, "digest", "%s", p->digest);
	proto_put(&b, "dest", "%s", p->dest);
	proto_put(&b, "mode", "%s", p->mode);
	snprintf(url, sizeof url, "%s://%s%s", p->scheme, h->name, p->path ? p->path : "/v1/push");
	struct http_request req = {
		.method = "POST",
		.url = url,
		.headers = p->tok,
		.body = p->body ? p->body : b.p,
		.body_len = p->body ? strlen(p->body) : b.len,
		.what = "host",
		.on_response = host_response,
		.on_body = host_body,
		.on_done = host_done,
		.ctx = h,
		.connect_timeout = 5,
		.first_byte_timeout = 30,
		.idle_timeout = p->timeout,
	};
	h->state = PUSHER_RUN;
	h->started = monotime_now();
	p->running++;
	h->f = http_client_request(p->client, &req, err, sizeof err);
	if (!h->f) {
		snprintf(h->why, sizeof h->why, "%s", err);
		h->state = PUSHER_FAIL;
		p->running--;
		p->done++;
	}
}

static void start_next(struct pusher *p)
{
	while (p->running < p->parallel && p->next < p->nhosts)
		start_host(p, &p->hosts[p->next++]);
	if (p->done == p->nhosts)
		ev_break(p->loop, EVBREAK_ALL);
}

/* ---- the pusher's file server ---- */

static void on_file(struct http_req *req, void *ctx)
{
	struct pusher_file *fs = ctx;
	if (!auth_check(req, fs->token))
		return;
	const struct http_head *h = http_req_head(req);
	static const char prefix[] = "/v1/file/";
	if (h->path.n != sizeof prefix - 1 + 64 || memcmp(h->path.p + sizeof prefix - 1, fs->hex, 64) != 0) {
		http_reply(req, 404, NULL, DF_LIT("not pushed here\n"));
		return;
	}
	int fd = open(fs->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		http_reply(req, 410, NULL, DF_LIT("the file is gone\n"));
		return;
	}
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
	int rc = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
				 getsockname(fd, (struct sockaddr *)&ss, &sl) == 0
			 ? DF_OK
			 : DF_ERR;
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

int pusher_hash_file(struct pusher *p, const char *file, const char *want, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", file, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return DF_ERR;
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
	p->file.path = file;
	p->file.size = (uint64_t)st.st_size;
	digest_hex(sha, 32, p->file.hex);
	snprintf(p->digest, sizeof p->digest, "sha256:%s", p->file.hex);
	if (want) {
		struct digest_spec d;
		if (digest_spec_parse(want, strlen(want), &d) != DF_OK || d.len != 32 || memcmp(d.bytes, sha, 32)) {
			snprintf(err, errlen, "%s: its sha256 is %s, not %s", file, p->file.hex, want);
			return DF_AGAIN;
		}
	}
	return DF_OK;
}

int pusher_serve_file(struct pusher *p, const char *token, const struct http_server_cfg *sc, const char *listen,
		      const char *advertise, char *err, size_t errlen)
{
	p->file.token = token;
	p->srv = http_server_new(p->loop, sc);
	if (!p->srv) {
		snprintf(err, errlen, "out of memory");
		return DF_ERR;
	}
	if (http_server_listen(p->srv, listen, err, errlen) != DF_OK ||
	    http_server_route(p->srv, "GET", "/v1/file/", on_file, &p->file) != DF_OK)
		return DF_ERR;
	char addr[128];
	if (advertise && advertise[0])
		snprintf(addr, sizeof addr, "%s", advertise);
	else if (local_addr_toward(p->super, addr, sizeof addr) != DF_OK)
		snprintf(addr, sizeof addr, "127.0.0.1");
	const char *open = strchr(addr, ':') && addr[0] != '[' ? "[" : "", *close = open[0] ? "]" : "";
	snprintf(p->url, sizeof p->url, "%s://%s%s%s:%u/v1/file/%s", p->scheme, open, addr, close,
		 http_server_port(p->srv), p->file.hex);
	p->file_server = 1;
	return DF_OK;
}

uint64_t pusher_file_size(const struct pusher *p)
{
	return p->file.size;
}

uint64_t pusher_file_sent(const struct pusher *p)
{
	struct http_server_stats ss = {0};
	if (p->srv)
		http_server_get_stats(p->srv, &ss);
	return ss.bytes_out;
}

/* ---- preheat: a registration makes the supernode fetch the file from its source ---- */

/* on_response and on_body of a request whose ctx is a struct pusher_answer (the rest is cut) */
static int answer_resp(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	((struct pusher_answer *)ctx)->status = r->status;
	return DF_OK;
}

static int answer_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct pusher_answer *a = ctx;
	size_t n = DF_MIN(len, sizeof a->body - 1 - a->len);
	memcpy(a->body + a->len, data, n);
	a->len += n;
	a->body[a->len] = 0;
	return DF_OK;
}

struct call {
	struct ev_loop *loop;
	int rc;
	char msg[512];
	struct pusher_answer a;
};

static void call_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct call *c = DF_CONTAINER_OF((struct pusher_answer *)ctx, struct call, a);
	c->rc = rc;
	snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "");
	ev_break(c->loop, EVBREAK_ALL);
}

/* POST path with body (NULL: GET) to the supernode and wait for the answer. DF_OK with the body in c. */
static int supernode_call(struct pusher *p, const char *path, const char *body, struct call *c)
{
	char url[512], err[256];
	memset(c, 0, sizeof *c);
	c->loop = p->loop;
	snprintf(url, sizeof url, "%s://%s%s", p->scheme, p->super, path);
	struct http_request req = {
		.method = body ? "POST" : "GET",
		.url = url,
		.headers = p->tok,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.what = "supernode",
		.on_response = answer_resp,
		.on_body = answer_body,
		.on_done = call_done,
		.ctx = &c->a,
		.connect_timeout = 5,
		.first_byte_timeout = 300,
	};
	if (!http_client_request(p->client, &req, err, sizeof err)) {
		snprintf(c->msg, sizeof c->msg, "%s", err);
		return DF_ERR;
	}
	ev_run(p->loop, 0);
	if (c->rc != DF_OK)
		return DF_ERR;
	if (c->a.status != 200) {
		snprintf(c->msg, sizeof c->msg, "answered %d: %.*s", c->a.status, (int)strcspn(c->a.body, "\n"),
			 c->a.body);
		return DF_ERR;
	}
	return DF_OK;
}

/* "/v1/leave?task=ID&peer=N&secret=S" for the registration a register answer gave; DF_ERR when the
 * answer names none. */
static int leave_path(const struct pusher_answer *a, char *path, size_t cap)
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

int pusher_preheat(struct pusher *p, const char *url, const char *digest, const char *headers, char id[TASKID_MAX],
		   char *err, size_t errlen)
{
	struct call c;
	char body[sizeof p->reg], path[256];
	struct digest_spec d = {0};
	struct proto_buf b;
	if (digest[0])
		digest_spec_parse(digest, strlen(digest), &d);
	if (swarm_task_id(url, p->filter, &d, id, err, errlen) != DF_OK)
		return DF_ERR;
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
		char shown[2048];
		http_url_redact(url, strlen(url), p->filter, shown, sizeof shown);
		snprintf(err, errlen, "preheat %s: the registration does not fit (headers too long)", shown);
		return DF_ERR;
	}
	snprintf(p->reg, sizeof p->reg, "%s", body); /* for re-announcing */
	if (supernode_call(p, "/v1/register", body, &c) != DF_OK) {
		snprintf(err, errlen, "preheat %s at supernode %s: %s", url, p->super, c.msg);
		return DF_ERR;
	}
	if (leave_path(&c.a, path, sizeof path) == DF_OK)
		supernode_call(p, path, "", &c);
	return DF_OK;
}

/* The string value after key (a quoted key with its colon and opening quote) in s, or NULL. */
static const char *json_str_after(const char *s, const char *key)
{
	const char *k = s ? strstr(s, key) : NULL;
	return k ? k + strlen(key) : NULL;
}

int pusher_wait_complete(struct pusher *p, const char *id, char *err, size_t errlen)
{
	char needle[128], path[128];
	snprintf(needle, sizeof needle, "\"id\":\"%s\"", id);
	snprintf(path, sizeof path, "/v1/status?format=json&task=%s", id);
	for (int i = 0; i < 36000; i++) {
		struct call c;
		if (supernode_call(p, path, NULL, &c) != DF_OK) {
			snprintf(err, errlen, "supernode %s: %s", p->super, c.msg);
			return DF_ERR;
		}
		/* the status of that one task (&task=) fits in the 4 KB kept of the answer, whatever else
		 * the supernode holds; a 1000-peer task is cut, but its state comes first */
		const char *t = strstr(c.a.body, needle);
		const char *st = json_str_after(t, "\"state\":\""), *e = json_str_after(t, "\"error\":\"");
		if (st && strncmp(st, DF_LIT("complete\"")) == 0)
			return DF_OK;
		if (st && strncmp(st, DF_LIT("failed\"")) == 0) {
			snprintf(err, errlen, "preheat failed at the supernode: %.*s", e ? (int)strcspn(e, "\"") : 7,
				 e ? e : "unknown");
			return DF_ERR;
		}
		usleep(100000);
	}
	snprintf(err, errlen, "supernode %s: task %s not complete after an hour", p->super, id);
	return DF_ERR;
}

/* ---- re-announcing ---- */

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
	struct pusher *p = DF_CONTAINER_OF((struct pusher_answer *)ctx, struct pusher, ann);
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
		.method = "POST",
		.url = url,
		.headers = p->tok,
		.what = "supernode",
		.on_done = left_done,
		.ctx = p,
		.connect_timeout = 5,
		.first_byte_timeout = 10,
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
	struct pusher *p = DF_CONTAINER_OF(t, struct pusher, announce);
	char url[512], err[256];
	if (p->ainflight)
		return;
	p->ann.len = 0;
	p->ann.status = 0;
	p->ann.body[0] = 0;
	snprintf(url, sizeof url, "%s://%s/v1/register", p->scheme, p->super);
	struct http_request req = {
		.method = "POST",
		.url = url,
		.headers = p->tok,
		.body = p->reg,
		.body_len = strlen(p->reg),
		.what = "supernode",
		.on_response = answer_resp,
		.on_body = answer_body,
		.on_done = ann_done,
		.ctx = &p->ann,
		.connect_timeout = 5,
		.first_byte_timeout = 30,
	};
	if (http_client_request(p->client, &req, err, sizeof err))
		p->ainflight = 1;
}

/* ---- telling the hosts ---- */

int pusher_image_body(struct pusher *p, const struct image_plan *plan)
{
	size_t cap = 4096 + sizeof plan->auth + (size_t)plan->nblobs * (sizeof plan->blobs[0].url + 128);
	p->body = malloc(cap);
	if (!p->body)
		return DF_ERR;
	struct proto_buf b;
	proto_buf_init(&b, p->body, cap);
	proto_put(&b, "image", "%s/%s@%s", plan->ref.registry, plan->ref.repo, plan->digest);
	put_headers(&b, plan->auth);
	for (int i = 0; i < plan->nblobs; i++)
		proto_put(&b, "blob", "%s %llu %s", plan->blobs[i].digest, (unsigned long long)plan->blobs[i].size,
			  plan->blobs[i].url);
	p->path = "/v1/blobs";
	return DF_OK;
}

int pusher_run_hosts(struct pusher *p, int announce)
{
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
	changed(p);
	int ok = 0;
	for (int i = 0; i < p->nhosts; i++)
		ok += p->hosts[i].state == PUSHER_OK;
	return ok;
}

void pusher_free(struct pusher *p)
{
	if (p->srv)
		http_server_free(p->srv);
	p->srv = NULL;
	if (p->body) {
		explicit_bzero(p->body, strlen(p->body));
		free(p->body);
		p->body = NULL;
	}
	free(p->hosts);
	free(p->seen);
	p->seen = NULL;
	p->seen_cap = 0;
	p->hosts = NULL;
	p->nhosts = 0;
}
