/* The detached seeder: fork, new session, stdio to the store's seeder.log, a fresh HTTP client for
 * the engine (the parent's resolver threads do not survive fork), an idle check, leave on exit; and
 * the store's seeder.sock, through which later gets hand it their tasks (one seeder per store). */
#include "swarm/seeder.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/digest.h"
#include "core/log.h"
#include "core/monotime.h"
#include "core/proto.h"
#include "net/http_client.h"
#include "net/http_parse.h"
#include "net/loop.h"
#include "swarm/hostd.h"
#include "swarm/hostd_client.h"
#include "swarm/storegc.h"

#define ADOPT_MAX 32768   /* a hand-over request: the hand-off's lines (hostd.h) and config */
#define ADOPT_TIMEOUT 5.0 /* seconds a hand-over request may take to arrive */
#define ADOPT_CONNS 8     /* hand-overs read at once; more wait in the listen queue */
#define HAND_OVER_WAIT 3  /* seconds df get waits for the seeder's answer */

struct adoption {
	struct seeder *s;
	struct adoption *next;
	int fd;
	ev_io io;
	ev_timer to;
	size_t len;
	char buf[ADOPT_MAX];
	struct hostd_job_spec spec;
};

struct seeder {
	struct seeder_cfg c;
	struct http_client *client;
	ev_timer idle;
	ev_signal hup;
	struct loop_signals sig;
	double started;
	int leaving;
	int lfd; /* seeder.sock, or -1 */
	ev_io lio;
	ino_t lino;
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct adoption *adopting;
	int nadopting;
};

static void adopt_stop(struct seeder *s);

static void left(void *ctx)
{
	struct seeder *s = ctx;
	ev_break(s->c.loop, EVBREAK_ALL);
}

static void leave(struct seeder *s, const char *why)
{
	if (s->leaving)
		return;
	s->leaving = 1;
	log_info("seeder for %s: %s; leaving", s->c.shown, why);
	ev_timer_stop(s->c.loop, &s->idle);
	adopt_stop(s); /* the gets from now on start a seeder of their own */
	if (swarm_peer_leave(s->c.peer, left, s) != DF_OK)
		ev_break(s->c.loop, EVBREAK_ALL);
}

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct seeder *s = DF_CONTAINER_OF(w, struct seeder, idle);
	double last = swarm_peer_last_served(s->c.peer);
	if (last < s->started)
		last = s->started;
	if (monotime_now() - last > s->c.idle)
		leave(s, "idle");
}

static void on_signal(struct loop_signals *sig, int signum, int count, void *ctx)
{
	(void)sig;
	(void)signum;
	struct seeder *s = ctx;
	if (count > 1)
		ev_break(s->c.loop, EVBREAK_ALL);
	leave(s, "stopped by a signal");
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	struct seeder *s = DF_CONTAINER_OF(w, struct seeder, hup);
	if (s->c.on_sighup) {
		log_info("SIGHUP: reloading the configuration");
		s->c.on_sighup(s->c.sighup_ctx);
	}
}

static void write_pidfile(struct seeder *s)
{
	char path[4200], tmp[4300], buf[32];
	snprintf(path, sizeof path, "%s/seeder.pid", store_root(s->c.store));
	snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n || close(fd) != 0 || rename(tmp, path) != 0)
		unlink(tmp);
}

/* A seeder that leaves takes its pid out of seeder.pid, unless a later seeder's is there: a pid
 * left in it names, some day, another process (a script that stops the seeder by it would hit it). */
static void remove_pidfile(struct seeder *s)
{
	char path[4200], buf[32];
	snprintf(path, sizeof path, "%s/seeder.pid", store_root(s->c.store));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n > 0 && (buf[n] = 0, strtol(buf, NULL, 10) == (long)getpid()))
		unlink(path);
}

/* Every detached seeder of a store appends to one seeder.log: over months of gets it would grow
 * without end, so a seeder that finds it past SEEDER_LOG_MAX moves it to seeder.log.1 (replacing
 * the one before) and starts a new one. The two stay under twice the cap plus one seeder's lines. */
#define SEEDER_LOG_MAX (1 << 20)

static void redirect_stdio(struct seeder *s)
{
	char path[4200], old[4210];
	snprintf(path, sizeof path, "%s/seeder.log", store_root(s->c.store));
	struct stat st;
	if (stat(path, &st) == 0 && st.st_size > SEEDER_LOG_MAX) {
		snprintf(old, sizeof old, "%s.1", path);
		rename(path, old); /* a concurrent seeder may have moved it first: either way a new log */
	}
	int in = open("/dev/null", O_RDONLY), out = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (out < 0)
		out = open("/dev/null", O_WRONLY);
	if (in >= 0)
		dup2(in, 0);
	if (out >= 0) {
		dup2(out, 1);
		dup2(out, 2);
	}
	if (in > 2)
		close(in);
	if (out > 2)
		close(out);
}

/* ---- hand-overs: later gets' tasks ---- */

void seeder_fingerprint(const char *supernodes, const char *token, const char *cert, const char *key, const char *ca,
			const char *advertise, const char *filter, const char *piece_digest, char out[65])
{
	const char *parts[] = {supernodes, token, cert, key, ca, advertise, filter, piece_digest};
	br_sha256_context c;
	uint8_t h[32];
	br_sha256_init(&c);
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
		const char *p = parts[i] ? parts[i] : "";
		br_sha256_update(&c, p, strlen(p) + 1); /* with its NUL: ("ab","") differs from ("a","b") */
	}
	br_sha256_out(&c, h);
	digest_hex(h, sizeof h, out);
}

static void adoption_free(struct adoption *a)
{
	struct seeder *s = a->s;
	for (struct adoption **pp = &s->adopting; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	s->nadopting--;
	ev_io_stop(s->c.loop, &a->io);
	ev_timer_stop(s->c.loop, &a->to);
	close(a->fd);
	free(a);
}

static void adoption_answer(struct adoption *a, const char *fmt, const char *arg)
{
	char line[400];
	int n = snprintf(line, sizeof line, fmt, arg);
	if (n > 0) /* a few bytes to a fresh socket: they fit; a client gone is fine */
		(void)!send(a->fd, line, DF_MIN((size_t)n, sizeof line - 1), MSG_NOSIGNAL);
	adoption_free(a);
}

static void adopted_done(struct swarm_dl *w, int rc, int code, const char *msg, void *ctx)
{
	(void)w;
	(void)code;
	(void)ctx;
	if (rc != DF_OK)
		log_warn("seeder: a task handed over: %s", msg ? msg : "failed");
}

int seeder_parse_hand_over(const char *buf, size_t len, const char *fingerprint, struct hostd_job_spec *spec,
			   unsigned long *idle, const char **why)
{
	struct slice fp, iv;
	char num[16];
	*idle = 0;
	if (hostd_prepare(buf, len, spec, why) != DF_OK)
		return DF_ERR;
	if (proto_find(buf, len, "config", &fp) != DF_OK || !fingerprint || !slice_eq(fp, fingerprint)) {
		*why = "another configuration (supernodes, token, TLS, filter)";
		return DF_ERR;
	}
	if (proto_find(buf, len, "idle", &iv) == DF_OK) {
		char *end = NULL;
		unsigned long v = 0;
		/* too long for num: no digits were read, nothing below may look at num or end */
		if (slice_copy(iv, num, sizeof num) == 0 && num[0] >= '0' && num[0] <= '9')
			v = strtoul(num, &end, 10);
		if (!end || *end || v > SEEDER_IDLE_MAX) {
			*why = "idle: expected seconds (at most 10^8)";
			return DF_ERR;
		}
		*idle = v;
	}
	return DF_OK;
}

/* A whole request is in: the same configuration, then the task joins this engine (complete in the
 * store, it registers and seeds; a copy another process still holds is waited for as ever). */
static void adopt(struct adoption *a, size_t len)
{
	struct seeder *s = a->s;
	const char *why;
	char err[512];
	unsigned long idle;
	if (seeder_parse_hand_over(a->buf, len, s->c.fingerprint, &a->spec, &idle, &why) != DF_OK) {
		adoption_answer(a, "no: %s\n", why);
		return;
	}
	struct swarm_dl_cfg dc = {.url = a->spec.url,
				  .headers = a->spec.headers_len ? a->spec.headers : NULL,
				  .digest = a->spec.digest,
				  .on_done = adopted_done};
	if (!swarm_dl_start(s->c.peer, &dc, err, sizeof err)) {
		adoption_answer(a, "no: %s\n", err);
		return;
	}
	if ((double)idle > s->c.idle)
		s->c.idle = (double)idle; /* the get's own --seed-idle, when longer: this seeder stays for it */
	char shown[2048];
	http_url_redact(a->spec.url, strlen(a->spec.url), s->c.filter && s->c.filter[0] ? s->c.filter : NULL, shown,
			sizeof shown);
	log_info("seeding %s too (handed over by a df get)", shown);
	s->started = monotime_now(); /* its idle time counts from now */
	adoption_answer(a, "%s", "ok\n");
}

static void adopt_read(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	struct adoption *a = DF_CONTAINER_OF(w, struct adoption, io);
	for (;;) {
		ssize_t n = recv(a->fd, a->buf + a->len, sizeof a->buf - a->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			adoption_free(a); /* gone before its request ended */
			return;
		}
		size_t seen = a->len;
		a->len += (size_t)n;
		size_t end = hostd_request_end(a->buf, a->len, seen);
		if (end) {
			adopt(a, end);
			return;
		}
		if (a->len == sizeof a->buf) {
			adoption_answer(a, "no: %s\n", "request too long");
			return;
		}
	}
}

static void adopt_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	adoption_free(DF_CONTAINER_OF(w, struct adoption, to));
}

static void adopt_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)revents;
	struct seeder *s = DF_CONTAINER_OF(w, struct seeder, lio);
	while (s->nadopting < ADOPT_CONNS) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct adoption *a = NULL;
		/* the store is this user's: only this user (or root) hands tasks to its seeder */
		if (!hostd_peer_allowed(fd) || !(a = malloc(sizeof *a))) {
			close(fd);
			continue;
		}
		a->s = s;
		a->fd = fd;
		a->len = 0;
		a->next = s->adopting;
		s->adopting = a;
		s->nadopting++;
		ev_io_init(&a->io, adopt_read, fd, EV_READ);
		ev_io_start(loop, &a->io);
		ev_timer_init(&a->to, adopt_timeout, ADOPT_TIMEOUT, 0);
		ev_timer_start(loop, &a->to);
	}
}

/* Takes STORE_ROOT/seeder.sock (a newer seeder takes the name over: the gets after it go there). */
static void adopt_listen(struct seeder *s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char tmp[sizeof sa.sun_path];
	const char *root = store_root(s->c.store);
	s->lfd = -1;
	if ((size_t)snprintf(s->sock, sizeof s->sock, "%s/seeder.sock", root) >= sizeof s->sock ||
	    (size_t)snprintf(tmp, sizeof tmp, "%s/.seeder.sock.%ld", root, (long)getpid()) >= sizeof tmp) {
		log_info("seeder: the store's path is too long for a socket: later gets seed on their own");
		s->sock[0] = 0;
		return;
	}
	memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
	unlink(tmp);
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0 ||
	    rename(tmp, s->sock) != 0 || stat(s->sock, &st) != 0) {
		log_warn("seeder: %s: %s (later gets seed on their own)", s->sock, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		s->sock[0] = 0;
		return;
	}
	s->lfd = fd;
	s->lino = st.st_ino;
	ev_io_init(&s->lio, adopt_accept, fd, EV_READ);
	ev_io_start(s->c.loop, &s->lio);
}

static void adopt_stop(struct seeder *s)
{
	while (s->adopting)
		adoption_free(s->adopting);
	if (s->lfd < 0)
		return;
	ev_io_stop(s->c.loop, &s->lio);
	close(s->lfd);
	s->lfd = -1;
	struct stat st;
	if (stat(s->sock, &st) == 0 && st.st_ino == s->lino)
		unlink(s->sock); /* still ours: a newer seeder's stays */
}

int seeder_hand_over(const char *store_root, const char *fingerprint, const char *url, const char *const *headers,
		     int nheaders, const struct digest_spec *digest, double idle, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/seeder.sock", store_root) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "store path too long for a socket");
		return DF_ERR;
	}
	/* the hand-off request's lines (the output is not used), the configuration and the idle time */
	size_t cap = hostd_job_lines_cap(url, "/dev/null", headers, nheaders) + 128;
	char *req = cap <= ADOPT_MAX ? malloc(cap) : NULL;
	int fd = req ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1, rc = DF_ERR;
	if (fd < 0) {
		snprintf(err, errlen, "%s", req ? strerror(errno) : "request too long, or out of memory");
		goto out;
	}
	/* a seeder that hangs holds nothing here for long: the connect, the request and the answer */
	struct timeval tv = {.tv_sec = HAND_OVER_WAIT};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		snprintf(err, errlen, "no seeder runs for this store (%s)", strerror(errno));
		goto out;
	}
	struct proto_buf b;
	proto_buf_init(&b, req, cap);
	hostd_put_job(&b, url, "/dev/null", -1, headers, nheaders, digest);
	proto_put(&b, "config", "%s", fingerprint);
	proto_put(&b, "idle", "%.0f", idle);
	if (b.overflow || b.len + 1 >= cap) {
		snprintf(err, errlen, "request too long");
		goto out;
	}
	req[b.len++] = '\n';
	for (size_t off = 0; off < b.len;) {
		ssize_t w = send(fd, req + off, b.len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "sending to the seeder: %s", w < 0 ? strerror(errno) : "closed");
			goto out;
		}
		off += (size_t)w;
	}
	char ans[400];
	size_t have = 0;
	while (have < sizeof ans - 1 && !memchr(ans, '\n', have)) {
		ssize_t r = recv(fd, ans + have, sizeof ans - 1 - have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	ans[have] = 0;
	ans[strcspn(ans, "\r\n")] = 0;
	if (strcmp(ans, "ok") == 0)
		rc = DF_OK;
	else
		snprintf(err, errlen, "the store's seeder %s", have ? ans : "did not answer");
out:
	if (fd >= 0)
		close(fd);
	free(req);
	return rc;
}

int seeder_detach(const struct seeder_cfg *cfg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return DF_ERR;
	if (pid > 0)
		return DF_OK;
	/* the child */
	struct seeder s = {.c = *cfg, .lfd = -1};
	char err[256];
	if (cfg->close_fd > 0)
		close(cfg->close_fd); /* the parent's (df get's copy to -O): held for the seeder's life otherwise */
	setsid();
	redirect_stdio(&s);
	log_set_daemon(1);
	ev_loop_fork(cfg->loop);
	write_pidfile(&s);
	struct http_client_cfg cc = {0};
	s.client = http_client_new(cfg->loop, &cc, err, sizeof err);
	if (!s.client) {
		log_error("seeder: %s", err);
		_exit(1);
	}
	struct http_client *cluster = NULL;
	if (cfg->cluster_cfg && !(cluster = http_client_new(cfg->loop, cfg->cluster_cfg, err, sizeof err))) {
		log_error("seeder: %s", err);
		_exit(1);
	}
	swarm_peer_set_client(cfg->peer, s.client, cluster);
	s.started = monotime_now();
	log_info("seeding %s on port %u until idle for %.0f s", cfg->shown, http_server_port(cfg->server), cfg->idle);
	ev_timer_init(&s.idle, idle_cb, 1, 1);
	ev_timer_start(cfg->loop, &s.idle);
	loop_signals_start(cfg->loop, &s.sig, on_signal, &s);
	struct storegc gc;
	int gc_on = storegc_init(&gc, cfg->loop, cfg->store, cfg->quota, cfg->max_idle, err, sizeof err) == DF_OK;
	if (gc_on) {
		/* no release hook: the task this seeder serves stays (it leaves when idle anyway) */
		storegc_start(&gc, storegc_interval(gc.max_idle));
	} else {
		log_warn("seeder: no store GC: %s", err);
	}
	/* a hang-up must not end a detached process: it reloads, or is ignored */
	ev_signal_init(&s.hup, hup_cb, SIGHUP);
	ev_signal_start(cfg->loop, &s.hup);
	ev_unref(cfg->loop);
	adopt_listen(&s);
	ev_run(cfg->loop, 0);
	adopt_stop(&s);
	if (gc_on)
		storegc_stop(&gc);
	swarm_peer_free(cfg->peer);
	remove_pidfile(&s);
	store_close(cfg->store);
	_exit(0);
}
