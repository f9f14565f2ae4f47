/* `df get` on top of the peer engine: one download, a progress bar, the atomic export, a summary,
 * and the detached seeder. The swarm itself (register, pieces, reports, fallback) is swarm/peer.c. */
#include "swarm/get.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/monotime.h"
#include "core/progress.h"
#include "net/http_server.h"
#include "store/store.h"
#include "swarm/common.h"
#include "swarm/livecopy.h"
#include "swarm/outpath.h"
#include "swarm/peer.h"
#include "swarm/seeder.h"
#include "swarm/streamout.h"

struct get_run {
	struct df *df;
	struct get_job *job;
	struct ev_loop *loop;
	struct swarm_dl *w;    /* NULL once done */
	struct store_task *st; /* the engine's handle, valid until swarm_peer_free */
	struct swarm_dl_stats stats;
	int done, rc;
	char msg[768];
	char shown[2048]; /* the URL as messages show it (redacted) */
	double started;
	ev_timer tick;
	struct rate_meter meter;
	int drew;
	int signum;            /* SIGINT/SIGTERM that stopped it, or 0 */
	struct livecopy *live; /* -O written as the pieces land (keep: the store keeps its own) */
	int to_stdout;         /* -O - or a device, FIFO...: job->out_fd */
	const char *out_name;  /* "stdout" or the path, for messages */
	struct streamout *so;  /* to_stdout: job->out_fd written in order as the pieces land */
	char stop_err[320];    /* why the get stops before the end (the stream failed, no room for -O) */
	int room_checked;      /* -O's filesystem was checked for room (once the length is known) */
	ev_async so_drained;   /* the stream's thread wrote its last byte (or stopped) */
};

static void on_drained(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)revents;
	(void)w;
	ev_break(loop, EVBREAK_ALL);
}

/* From the stream's thread: wakes the loop (ev_async_send is the thread-safe way in). */
static void drained(void *arg)
{
	struct get_run *g = arg;
	ev_async_send(g->loop, &g->so_drained);
}

/* -O -: follows the task with the stream; a failure (the reader went away, the source changed
 * after bytes went out) stops the get. */
static void stream_follow(struct get_run *g, struct store_task *st)
{
	char err[256];
	if (g->stop_err[0] || streamout_follow(&g->so, st, g->job->out_fd, err, sizeof err) == DF_OK)
		return;
	snprintf(g->stop_err, sizeof g->stop_err, "%s: %s", g->out_name, err);
	ev_break(g->loop, EVBREAK_ALL);
}

static void on_signal(struct loop_signals *sig, int signum, int count, void *ctx)
{
	(void)sig;
	(void)count;
	struct get_run *g = ctx;
	g->signum = signum;
	ev_break(g->loop, EVBREAK_ALL);
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	struct get_run *g = DF_CONTAINER_OF(t, struct get_run, tick);
	struct store_task *st = g->w ? swarm_dl_task(g->w) : NULL;
	if (!st || !g->job->progress)
		return;
	struct swarm_dl_stats s;
	swarm_dl_stats(g->w, &s);
	uint64_t done = store_task_present_bytes(st);
	rate_meter_update(&g->meter, done - s.resumed, swarm_now_ms(loop));
	struct progress pg = {
		.done = done,
		.total = store_task_length(st) > 0 ? (uint64_t)store_task_length(st) : 0,
		.from_peers = s.from_peers,
		.from_super = s.from_super,
		.from_source = s.from_source,
		.resumed = s.resumed,
		.rate = g->meter.rate,
	};
	char line[256];
	progress_line(&pg, 100, line, sizeof line);
	fprintf(stderr, "\r%-100s", line);
	g->drew = 1;
}

/* Once the length is known: a store or -O filesystem without room for the file fails the get now,
 * not after filling it (best effort: room taken meanwhile still fails the write, with its cause). */
static void check_room(struct get_run *g, struct store_task *st, int64_t length)
{
	if (g->room_checked || length <= 0 || !st)
		return;
	g->room_checked = 1;
	const char *dir = store_root(g->df->store);
	uint64_t have = store_task_present_bytes(st);
	/* the store's own filesystem first: a download that cannot fit there would fill it and fail */
	if (outpath_check_store_room(dir, (uint64_t)length, have, g->stop_err, sizeof g->stop_err) != DF_OK ||
	    (!g->to_stdout &&
	     outpath_check_room(g->job->output, dir, (uint64_t)length, have, g->stop_err, sizeof g->stop_err) != DF_OK))
		ev_break(g->loop, EVBREAK_ALL);
}

static void on_meta(struct swarm_dl *w, int64_t length, void *ctx)
{
	struct get_run *g = ctx;
	struct store_task *st = swarm_dl_task(w);
	check_room(g, st, length);
	if (g->stop_err[0])
		return;
	if (g->to_stdout && st) { /* a length not known yet (chunked) streams too */
		stream_follow(g, st);
		return;
	}
	/* -O written as the pieces land, when the store keeps its own copy (without keep, the store's
	 * file itself becomes -O at the end: nothing to copy) */
	if (length >= 0 && st && !g->to_stdout && g->df->cfg->get_keep)
		livecopy_follow(&g->live, st, AT_FDCWD, g->job->output);
}

static void on_piece(struct swarm_dl *w, uint32_t piece, void *ctx)
{
	struct get_run *g = ctx;
	struct store_task *st = swarm_dl_task(w);
	if (g->to_stdout && g->so && st) {
		stream_follow(g, st);
		streamout_piece(g->so, piece);
		return;
	}
	if (!g->live || !st)
		return;
	livecopy_follow(&g->live, st, AT_FDCWD, g->job->output);
	livecopy_piece(g->live, piece);
}

static void on_done(struct swarm_dl *w, int rc, int code, const char *msg, void *ctx)
{
	struct get_run *g = ctx;
	g->done = 1;
	g->rc = rc == DF_OK ? DF_EXIT_OK : code;
	snprintf(g->msg, sizeof g->msg, "%s", msg ? msg : "");
	g->st = swarm_dl_task(w);
	swarm_dl_stats(w, &g->stats);
	g->w = NULL;
	if (rc == DF_OK && g->so && g->st)
		stream_follow(g, g->st); /* a length learned at the body's end, with no piece after it */
	ev_break(g->loop, EVBREAK_ALL);
}

static int export_stdout(struct get_run *g)
{
	static char buf[1 << 16];
	char err[256];
	uint32_t n = store_task_piece_count(g->st);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = store_task_piece_len(g->st, i);
		for (uint32_t off = 0; off < len;) {
			uint32_t k = DF_MIN(len - off, (uint32_t)sizeof buf);
			if (store_piece_read(g->st, i, off, buf, k, err, sizeof err) != DF_OK) {
				log_user_error("get", "%s: %s", g->shown, err);
				return DF_ERR;
			}
			for (uint32_t w = 0; w < k;) {
				ssize_t r = write(g->job->out_fd, buf + w, k - w);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					log_user_error("get", "%s: %s: writing: %s", g->shown, g->out_name,
						       strerror(errno));
					return DF_ERR;
				}
				w += (uint32_t)r;
			}
			off += k;
		}
	}
	return DF_OK;
}

static void summary(struct get_run *g)
{
	char size[32], a[32], b[32], c[32], r[32];
	const struct swarm_dl_stats *s = &g->stats;
	uint64_t fetched = s->from_peers + s->from_super + s->from_source;
	progress_size((uint64_t)store_task_length(g->st), size, sizeof size);
	progress_size(s->from_peers, a, sizeof a);
	progress_size(s->from_super, b, sizeof b);
	progress_size(s->from_source, c, sizeof c);
	progress_size(s->resumed, r, sizeof r);
	log_info("saved %s (%s) in %.1fs: fetched %llu bytes (peers %s, supernode %s, source %s)%s%s%s",
		 strcmp(g->job->output, "-") == 0 ? "to stdout" : g->job->output, size, monotime_now() - g->started,
		 (unsigned long long)fetched, a, b, c, s->resumed ? ", resumed with " : "", s->resumed ? r : "",
		 s->resumed ? " already here" : "");
}

static void close_output(struct get_job *job)
{
	if (job->out_fd > 2) {
		close(job->out_fd);
		job->out_fd = -1;
	}
}

struct leaving {
	struct ev_loop *loop;
	int done;
};

static void left(void *ctx)
{
	struct leaving *l = ctx;
	l->done = 1;
	ev_break(l->loop, EVBREAK_ALL);
}

static void give_up_leaving(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Tells the supernodes this process leaves every task it registered (at most a second), so nobody
 * is sent here for pieces and a rerun is not held up by this registration. */
static void leave_swarm(struct ev_loop *loop, struct swarm_peer *sp)
{
	ev_timer stop;
	struct leaving l = {loop, 0};
	ev_timer_init(&stop, give_up_leaving, 1.0, 0);
	if (swarm_peer_leave(sp, left, &l) == DF_OK && !l.done) {
		ev_timer_start(loop, &stop);
		ev_run(loop, 0);
		ev_timer_stop(loop, &stop);
	}
}

/* The store's running seeder takes this task's seeding (swarm/seeder.h): a host that runs many gets
 * keeps one seeder, not one process per get. 1 when it took it. */
static int hand_over_seeding(struct get_run *g, const char *fp)
{
	char err[512];
	if (seeder_hand_over(store_root(g->df->store), fp, g->job->url, g->job->headers, g->job->nheaders,
			     &g->job->digest, (double)g->df->cfg->get_seed_idle, err, sizeof err) != DF_OK) {
		log_debug("get %s: %s; a seeder of its own seeds it", g->shown, err);
		return 0;
	}
	log_info("get %s: the store's running seeder seeds it from now on", g->shown);
	return 1;
}

int swarm_get(struct df *df, struct get_job *job)
{
	struct get_run g = {.df = df,
			    .job = job,
			    .loop = df->loop,
			    .rc = DF_EXIT_FAIL,
			    .started = monotime_now(),
			    .to_stdout = job->out_fd >= 0,
			    .out_name = strcmp(job->output, "-") == 0 ? "stdout" : job->output};
	http_url_redact(job->url, strlen(job->url), df->cfg->get_filter[0] ? df->cfg->get_filter : NULL, g.shown,
			sizeof g.shown);
	struct http_server *srv = job->server;
	struct swarm_peer *sp = NULL;
	char err[512], headers[8192];
	int rc = DF_EXIT_FAIL;
	struct swarm_peer_cfg pc = {
		.loop = g.loop,
		.client = job->client,
		.cluster = job->cluster,
		.cluster_tls = job->cluster != NULL,
		.server = srv,
		.store = df->store,
		.supernodes = df->cfg->get_supernode,
		.token = df->cfg->security_token,
		.advertise = df->cfg->get_advertise,
		.filter = df->cfg->get_filter,
		.back_to_source = df->cfg->get_back_to_source,
		.supernode_retry = (double)df->cfg->get_supernode_retry,
		.piece_size = (uint32_t)df->cfg->supernode_piece_size,
		.timeout = (double)df->cfg->get_timeout,
		.min_piece_rate = df->cfg->get_min_piece_rate,
		.limit_rate = df->cfg->get_limit_rate,
		.stall_timeout = (double)df->cfg->get_stall_timeout,
		.piece_digest = (enum digest_piece_algo)digest_piece_algo_parse(df->cfg->security_piece_digest),
	};
	sp = swarm_peer_new(&pc, err, sizeof err);
	if (!sp) {
		log_user_error("get", "%s", err);
		goto out;
	}
	size_t hl = 0;
	headers[0] = 0;
	for (int i = 0; i < job->nheaders && hl < sizeof headers; i++)
		hl += (size_t)snprintf(headers + hl, sizeof headers - hl, "%s\r\n", job->headers[i]);
	struct swarm_dl_cfg dc = {.url = job->url,
				  .headers = headers,
				  .digest = job->digest,
				  .on_meta = on_meta,
				  .on_piece = on_piece,
				  .on_done = on_done,
				  .ctx = &g,
				  .in_order = g.to_stdout};
	g.w = swarm_dl_start(sp, &dc, err, sizeof err);
	if (!g.w) {
		log_user_error("get", "%s", err);
		rc = DF_EXIT_USAGE;
		goto out;
	}
	ev_timer_init(&g.tick, tick_cb, 0.2, 0.2);
	ev_timer_start(g.loop, &g.tick);
	struct loop_signals sig;
	loop_signals_start(g.loop, &sig, on_signal, &g);
	ev_run(g.loop, 0);
	loop_signals_stop(g.loop, &sig);
	ev_timer_stop(g.loop, &g.tick);
	if (g.drew)
		fprintf(stderr, "\r%-100s\r", "");
	if (g.stop_err[0]) {
		log_user_error("get", "%s: %s", g.shown, g.stop_err);
		rc = DF_EXIT_FAIL;
		if (g.w) {
			swarm_dl_cancel(g.w);
			g.w = NULL;
		}
		leave_swarm(g.loop, sp);
		goto out;
	}
	if (!g.done) {
		if (g.signum)
			log_user_error("get", "%s: interrupted (signal %d); run it again to resume", g.shown, g.signum);
		else
			log_user_error("get", "%s: stopped", g.shown);
		rc = g.signum ? 128 + g.signum : DF_EXIT_FAIL;
		if (g.w) {
			swarm_dl_cancel(g.w);
			g.w = NULL;
		}
		leave_swarm(g.loop, sp);
		goto out;
	}
	if (g.rc != DF_EXIT_OK) {
		fprintf(stderr, "df: %s\n", g.msg);
		rc = g.rc;
		leave_swarm(g.loop, sp);
		goto out;
	}
	int seeding = df->cfg->get_seed_idle > 0 && g.stats.via_supernode && df->cfg->get_keep, left = 0;
	char fp[65];
	seeder_fingerprint(df->cfg->get_supernode, df->cfg->security_token, df->cfg->security_cert,
			   df->cfg->security_key, df->cfg->security_ca, df->cfg->get_advertise, df->cfg->get_filter,
			   df->cfg->security_piece_digest, fp);
	struct seeder_cfg s = {
		.loop = g.loop,
		.peer = sp,
		.server = srv,
		.store = df->store,
		.shown = g.shown,
		.idle = (double)df->cfg->get_seed_idle,
		.cluster_cfg = job->cluster ? &job->cluster_cfg : NULL,
		.quota = df->cfg->store_quota,
		.max_idle = (uint64_t)df->cfg->store_max_idle,
		.on_sighup = job->on_sighup,
		.sighup_ctx = job->sighup_ctx,
		.fingerprint = fp,
		.filter = df->cfg->get_filter,
	};
	if (g.to_stdout && g.so) {
		/* the rest of the stream, the last byte now that the digest checked; the loop goes on
		 * serving peers (and heartbeats) while a slower reader drains it */
		ev_async_init(&g.so_drained, on_drained);
		ev_async_start(g.loop, &g.so_drained);
		loop_signals_start(g.loop, &sig, on_signal, &g);
		streamout_end(g.so, drained, &g);
		ev_run(g.loop, 0);
		loop_signals_stop(g.loop, &sig);
		int h = DF_ERR;
		if (g.signum)
			streamout_free(g.so); /* its write, if stuck, is cancelled */
		else
			h = streamout_finish(g.so, err, sizeof err);
		g.so = NULL;
		ev_async_stop(g.loop, &g.so_drained);
		if (g.signum) {
			log_user_error("get", "%s: interrupted (signal %d) while writing to %s", g.shown, g.signum,
				       g.out_name);
			rc = 128 + g.signum;
			leave_swarm(g.loop, sp);
			goto out;
		}
		if (h != DF_OK) {
			log_user_error("get", "%s: %s: %s", g.shown, g.out_name, err);
			leave_swarm(g.loop, sp);
			goto out;
		}
	} else if (g.to_stdout) {
		if (export_stdout(&g) != DF_OK) {
			leave_swarm(g.loop, sp);
			goto out;
		}
	} else {
		int h = DF_AGAIN;
		if (!df->cfg->get_keep) {
			/* nobody needs the store's copy after this: the file itself becomes the user's (no
			 * second copy of every byte), once the supernode knows not to send peers here */
			leave_swarm(g.loop, sp);
			left = 1;
			h = swarm_peer_hand_off(sp, g.st, job->output, err, sizeof err);
		}
		if (h == DF_AGAIN && g.live && !livecopy_follows(g.live, g.st)) {
			livecopy_free(g.live); /* of a version the engine dropped */
			g.live = NULL;
		}
		if (h == DF_AGAIN && g.live) {
			/* copied as the pieces landed: what landed last, the fsync and the rename */
			h = livecopy_finish(g.live, -1, err, sizeof err);
			g.live = NULL;
		}
		if (h == DF_AGAIN && seeding && hand_over_seeding(&g, fp))
			seeding = 0;
		if (h == DF_AGAIN && seeding) {
			/* The copy to -O (and its fsync: ~0.1 s per 64 MiB on ext4, far more on a busy disk)
			 * would stop this process serving the peers the supernode keeps sending here: the
			 * seeder takes over first and the copy runs in this process after the fork, with a
			 * descriptor of its own (docs/BENCH.md, "The symmetric N=20 row"). */
			struct store_export x;
			if (store_export_prepare(g.st, &x, err, sizeof err) != DF_OK) {
				log_user_error("get", "%s: %s", g.shown, err);
				goto out;
			}
			s.close_fd = x.in;
			if (seeder_detach(&s) == DF_OK) {
				/* the child owns the engine, the store task and their locks now: touch nothing
				 * of them; x is this process's own */
				if (store_export_run(&x, AT_FDCWD, job->output, -1, err, sizeof err) != DF_OK) {
					log_user_error("get", "%s: %s", g.shown, err);
					fflush(NULL);
					_exit(DF_EXIT_FAIL);
				}
				summary(&g);
				fflush(NULL);
				_exit(DF_EXIT_OK);
			}
			log_warn("cannot start the seeder: %s", strerror(errno));
			seeding = 0;
			s.close_fd = 0;
			h = store_export_run(&x, AT_FDCWD, job->output, -1, err, sizeof err);
		} else if (h == DF_AGAIN) {
			/* not seeding: the supernode stops sending peers here before the copy, not after */
			leave_swarm(g.loop, sp);
			left = 1;
			h = store_task_export(g.st, job->output, err, sizeof err);
		}
		if (h != DF_OK) {
			log_user_error("get", "%s: %s", g.shown, err);
			if (!left)
				leave_swarm(g.loop, sp);
			goto out;
		}
	}
	rc = DF_EXIT_OK;
	close_output(job); /* a FIFO's reader sees its end now, not when the seeder is done */
	summary(&g);
	if (seeding && hand_over_seeding(&g, fp))
		seeding = 0;
	if (seeding) {
		if (seeder_detach(&s) == DF_OK) {
			/* the child owns the engine, the store task and their locks now: touch nothing */
			fflush(NULL);
			_exit(DF_EXIT_OK);
		}
		log_warn("cannot start the seeder: %s", strerror(errno));
	}
	/* not seeding: tell the supernode, so nobody is sent here for pieces (at most a second) */
	if (!left)
		leave_swarm(g.loop, sp);
out:
	livecopy_free(g.live);
	streamout_free(g.so);
	close_output(job);
	swarm_peer_free(sp);
	return rc;
}
