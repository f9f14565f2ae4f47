/* The client side of the hand-off socket: builds the request, reads the daemon's answer lines
 * through a pure parser and reports one outcome; `df get` decides from it what to do next. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/df.h"
#include "core/proto.h"
#include "store/store.h"
#include "swarm/hostd_client.h"

/* The next space-separated field of s, advancing s past it. */
static struct slice field(struct slice *s)
{
	size_t i = 0;
	while (i < s->n && s->p[i] != ' ')
		i++;
	struct slice f = {s->p, i};
	s->p += i < s->n ? i + 1 : i;
	s->n -= i < s->n ? i + 1 : i;
	return f;
}

/* Exactly want decimal fields, each at least min (0, or -1 where "unknown" is allowed), nothing
 * after them. */
static int numbers(struct slice s, int64_t *out, int want, const int64_t *min)
{
	for (int i = 0; i < want; i++) {
		struct slice f = field(&s);
		if (proto_i64(f, &out[i]) != DF_OK || out[i] < min[i])
			return DF_ERR;
	}
	return s.n == 0 ? DF_OK : DF_ERR;
}

static int prefixed(const char *line, size_t len, const char *key, struct slice *rest)
{
	size_t k = strlen(key);
	if (len < k || memcmp(line, key, k) != 0)
		return 0;
	*rest = (struct slice){line + k, len - k};
	return 1;
}

int hostd_parse_answer(const char *line, size_t len, struct hostd_answer *a)
{
	struct hostd_answer t = {0};
	struct slice v;
	if (prefixed(line, len, "task: ", &v)) {
		if (!v.n || memchr(v.p, ' ', v.n))
			return DF_ERR;
		t.kind = HOSTD_ANS_TASK;
		t.msg = v;
	} else if (prefixed(line, len, "length: ", &v)) {
		t.kind = HOSTD_ANS_LENGTH;
		if (numbers(v, t.num, 1, (const int64_t[]){-1}) != DF_OK)
			return DF_ERR;
	} else if (prefixed(line, len, "progress: ", &v)) {
		/* the total is -1 while the source has not said */
		t.kind = HOSTD_ANS_PROGRESS;
		if (numbers(v, t.num, 2, (const int64_t[]){0, -1}) != DF_OK)
			return DF_ERR;
	} else if (prefixed(line, len, "done: ", &v)) {
		t.kind = HOSTD_ANS_DONE;
		if (numbers(v, t.num, 5, (const int64_t[]){0, 0, 0, 0, 0}) != DF_OK)
			return DF_ERR;
	} else if (prefixed(line, len, "error: ", &v)) {
		uint64_t code;
		struct slice c = field(&v);
		if (proto_u64(c, &code) != DF_OK || code < 1 || code > 125)
			return DF_ERR;
		t.exit_code = (int)code;
		t.msg = v;
		t.kind = HOSTD_ANS_ERROR;
		if (code == DF_EXIT_USAGE && v.n >= 8 && memcmp(v.p, DF_LIT("refused:")) == 0)
			t.kind = HOSTD_ANS_REFUSED;
	} else {
		t.kind = HOSTD_ANS_OTHER;
	}
	*a = t;
	return DF_OK;
}

int hostd_socket_path(const char *socket_path, const char *data_root, char *buf, size_t cap)
{
	char root[4096];
	int n;
	if (socket_path && socket_path[0]) {
		n = snprintf(buf, cap, "%s", socket_path);
	} else {
		if (data_root && data_root[0])
			snprintf(root, sizeof root, "%s", data_root);
		else if (store_default_root(root, sizeof root) != DF_OK)
			return DF_ERR;
		n = snprintf(buf, cap, "%s/proxy.sock", root);
	}
	return n > 0 && (size_t)n < cap ? DF_OK : DF_ERR;
}

size_t hostd_job_lines_cap(const char *url, const char *output, const char *const *headers, int nheaders)
{
	size_t cap = strlen(url) + strlen(output) + 128;
	for (int i = 0; i < nheaders; i++)
		cap += strlen(headers[i]) + 16;
	return cap;
}

void hostd_put_job(struct proto_buf *b, const char *url, const char *output, int mode, const char *const *headers,
		   int nheaders, const struct digest_spec *digest)
{
	proto_put(b, "url", "%s", url);
	proto_put(b, "output", "%s", output);
	if (mode >= 0)
		proto_put(b, "mode", "%04o", (unsigned)mode);
	for (int i = 0; i < nheaders; i++)
		proto_put(b, "header", "%s", headers[i]);
	if (digest && digest->len) {
		char d[80];
		digest_spec_format(digest, d, sizeof d);
		proto_put(b, "digest", "%s", d);
	}
}

/* The request's bytes (malloc'd, *len set), or NULL. */
static char *build_request(const struct hostd_handoff *h, const char *output, size_t *len)
{
	size_t cap = hostd_job_lines_cap(h->url, output, h->headers, h->nheaders);
	char *mem = malloc(cap);
	if (!mem)
		return NULL;
	struct proto_buf b;
	proto_buf_init(&b, mem, cap);
	/* the file is this user's: the permissions a file created here would get, not the daemon's */
	mode_t um = umask(0);
	umask(um);
	hostd_put_job(&b, h->url, output, (int)(0666 & ~um), h->headers, h->nheaders, h->digest);
	if (b.overflow || b.len + 1 >= cap) {
		free(mem);
		return NULL;
	}
	mem[b.len++] = '\n';
	*len = b.len;
	return mem;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof sa.sun_path || access(path, F_OK) != 0)
		return -1;
	memcpy(sa.sun_path, path, n + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* a daemon that hangs with its backlog full, or never reads the request, must not hold this
	 * connect or write for ever (a unix socket's connect waits by the send timeout) */
	struct timeval tv = {.tv_sec = HOSTD_SILENCE};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd); /* a socket file left by a daemon that is gone */
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	/* a refusal may come before the request is read: a failed write is fine, the answer tells */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	signal(SIGPIPE, old);
}

/* Applies one answer line; returns the outcome when it ends the exchange, else -1. */
static int apply(const struct hostd_handoff *h, const struct hostd_answer *a, struct hostd_result *res)
{
	switch (a->kind) {
	case HOSTD_ANS_PROGRESS:
		if (h->on_progress)
			h->on_progress(a->num[0], a->num[1], h->ctx);
		return -1;
	case HOSTD_ANS_DONE:
		res->length = a->num[0];
		res->peers = a->num[1];
		res->super = a->num[2];
		res->source = a->num[3];
		res->resumed = a->num[4];
		res->exit_code = DF_EXIT_OK;
		return HOSTD_DONE;
	case HOSTD_ANS_ERROR:
	case HOSTD_ANS_REFUSED:
		res->exit_code = a->exit_code;
		snprintf(res->msg, sizeof res->msg, "%.*s", (int)DF_MIN(a->msg.n, sizeof res->msg - 1), a->msg.p);
		return a->kind == HOSTD_ANS_REFUSED ? HOSTD_NOT_OURS : HOSTD_FAILED;
	default: return -1;
	}
}

/* Reads lines until one ends the exchange or the daemon closes. A line longer than the buffer is
 * not one this protocol sends: it is skipped to its end. */
enum hostd_outcome hostd_follow(int fd, const struct hostd_handoff *h, struct hostd_result *res)
{
	char buf[4096];
	size_t have = 0;
	int skipping = 0;
	for (;;) {
		/* the daemon says something at least every 5 s while it works (hostd.c ALIVE_EVERY) */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int k = poll(&p, 1, HOSTD_SILENCE * 1000);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0) {
			snprintf(res->msg, sizeof res->msg, "said nothing for %d s (hung?)", HOSTD_SILENCE);
			return HOSTD_LOST;
		}
		ssize_t r = read(fd, buf + have, sizeof buf - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return HOSTD_LOST;
		have += (size_t)r;
		size_t start = 0;
		for (char *nl; (nl = memchr(buf + start, '\n', have - start));) {
			size_t len = (size_t)(nl - (buf + start));
			struct hostd_answer a;
			if (!skipping && hostd_parse_answer(buf + start, len, &a) == DF_OK) {
				int out = apply(h, &a, res);
				if (out >= 0)
					return (enum hostd_outcome)out;
			}
			skipping = 0;
			start += len + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == sizeof buf) {
			skipping = 1;
			have = 0;
		}
	}
}

enum hostd_outcome hostd_handoff(const struct hostd_handoff *h, struct hostd_result *res)
{
	char out[8192];
	size_t len = 0;
	char *req = NULL;
	enum hostd_outcome rc = HOSTD_NO_DAEMON;
	memset(res, 0, sizeof *res);
	if (h->output[0] == '/') {
		snprintf(out, sizeof out, "%s", h->output);
	} else {
		char cwd[4096];
		if (!getcwd(cwd, sizeof cwd)) {
			snprintf(res->msg, sizeof res->msg, "current directory: %s", strerror(errno));
			return HOSTD_NO_DAEMON;
		}
		if ((size_t)snprintf(out, sizeof out, "%s/%s", cwd, h->output) >= sizeof out) {
			snprintf(res->msg, sizeof res->msg, "output path too long");
			return HOSTD_NO_DAEMON;
		}
	}
	int fd = connect_unix(h->socket);
	if (fd < 0) {
		snprintf(res->msg, sizeof res->msg, "no df proxy answers on %s", h->socket);
		return HOSTD_NO_DAEMON;
	}
	struct ucred cr;
	socklen_t cl = sizeof cr;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0)
		res->daemon_pid = cr.pid;
	if (!(req = build_request(h, out, &len))) {
		snprintf(res->msg, sizeof res->msg, "out of memory");
		goto done;
	}
	send_all(fd, req, len);
	rc = hostd_follow(fd, h, res);
done:
	free(req);
	close(fd);
	return rc;
}
