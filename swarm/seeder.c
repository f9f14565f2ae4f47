/* The detached seeder: fork, new session, stdio to the store's seeder.log, a fresh HTTP client for
 * the engine (the parent's resolver threads do not survive fork), an idle check, leave on exit. */
#include "swarm/seeder.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/monotime.h"
#include "net/http_client.h"
#include "net/loop.h"
#include "swarm/storegc.h"

struct seeder {
	struct seeder_cfg c;
	struct http_client *client;
	ev_timer idle;
	ev_signal hup;
	struct loop_signals sig;
	double started;
	int leaving;
};

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
	ev_run(cfg->loop, 0);
	if (gc_on)
		storegc_stop(&gc);
	swarm_peer_free(cfg->peer);
	store_close(cfg->store);
	_exit(0);
}
