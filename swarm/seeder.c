/* The detached seeder: fork, new session, stdio to the store's seeder.log, a fresh HTTP client
 * (the parent's resolver threads do not survive fork), heartbeats, an idle check, leave on exit. */
#include "swarm/seeder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/proto.h"
#include "net/http_client.h"
#include "net/loop.h"

#define HEARTBEAT 10.0

struct seeder {
	struct seeder_cfg c;
	struct http_client *client;
	ev_timer beat, idle;
	struct loop_signals sig;
	double started;
	int leaving;
};

static void post(struct seeder *s, const char *path, const char *body, void (*done)(struct http_fetch *, int, const char *, void *),
		 int (*on_body)(struct http_fetch *, const char *, size_t, void *))
{
	char url[512], err[256];
	snprintf(url, sizeof url, "http://%s%s", s->c.supernode, path);
	struct http_request req = {
		.method = "POST", .url = url, .headers = s->c.token_hdr, .body = body, .body_len = strlen(body),
		.what = "supernode", .on_body = on_body, .on_done = done, .ctx = s, .connect_timeout = 3,
		.first_byte_timeout = 5,
	};
	if (!http_client_request(s->client, &req, err, sizeof err) && done)
		done(NULL, DF_ERR, err, s);
}

static void left(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)rc;
	(void)msg;
	struct seeder *s = ctx;
	ev_break(s->c.loop, EVBREAK_ALL);
}

static void leave(struct seeder *s, const char *why)
{
	char path[256];
	if (s->leaving)
		return;
	s->leaving = 1;
	log_info("seeder for %s: %s; leaving", s->c.url, why);
	snprintf(path, sizeof path, "/v1/leave?task=%s&peer=%d", store_task_id(s->c.task), s->c.handle);
	post(s, path, "", left, NULL);
}

static int beat_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct seeder *s = ctx;
	/* "unknown: ID": the supernode forgot us (restart); stop rather than serve unannounced */
	if (len >= 8 && memcmp(data, "unknown:", 8) == 0)
		leave(s, "the supernode no longer knows this peer");
	return DF_OK;
}

static void beat_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	(void)ctx;
	if (rc != DF_OK)
		log_warn("heartbeat: %s", msg);
}

static void beat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct seeder *s = DF_CONTAINER_OF(w, struct seeder, beat);
	char body[128];
	snprintf(body, sizeof body, "task: %s %d\n", store_task_id(s->c.task), s->c.handle);
	post(s, "/v1/heartbeat", body, beat_done, beat_body);
}

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct seeder *s = DF_CONTAINER_OF(w, struct seeder, idle);
	double last = s->c.ps->last_request > s->started ? s->c.ps->last_request : s->started;
	if (ev_now(loop) - last > s->c.idle)
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

static void redirect_stdio(struct seeder *s)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/seeder.log", store_root(s->c.store));
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

int seeder_detach(const struct seeder_cfg *cfg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return DF_ERR;
	if (pid > 0)
		return DF_OK;
	/* the child */
	struct seeder s = {.c = *cfg};
	char err[256];
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
	s.started = ev_now(cfg->loop);
	log_info("seeding %s (task %.12s) on port %u until idle for %.0f s", cfg->url, store_task_id(cfg->task),
		 http_server_port(cfg->server), cfg->idle);
	ev_timer_init(&s.beat, beat_cb, HEARTBEAT, HEARTBEAT);
	ev_timer_start(cfg->loop, &s.beat);
	ev_timer_init(&s.idle, idle_cb, 1, 1);
	ev_timer_start(cfg->loop, &s.idle);
	loop_signals_start(cfg->loop, &s.sig, on_signal, &s);
	ev_run(cfg->loop, 0);
	store_task_close(cfg->task);
	store_close(cfg->store);
	_exit(0);
}
