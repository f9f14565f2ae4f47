/* The peer engine behind `df get`: register with a supernode, fetch assigned pieces from other
 * peers' piece servers (checked against the supernode's checksums), report, and finish with a
 * verified, atomically exported file; or fetch straight from the source when no supernode answers.
 *
 * How it works: one control request (register, then work) is in flight at a time, except that news
 * (a finished piece) sends a fresh work request at once, which the supernode treats as superseding
 * the one it holds. Piece fetches run concurrently, each writing through its own store piece
 * writer. Everything runs on the loop; swarm_get returns when the loop stops. */
#include "swarm/get.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/proto.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "store/store.h"
#include "swarm/auth.h"
#include "swarm/common.h"
#include "swarm/pieceserve.h"
#include "swarm/seeder.h"
#include "swarm/source.h"

#define MAX_FETCHES 16
#define MAX_SUPERNODES 8
#define CTL_TIMEOUT 30.0

enum mode { M_REGISTER, M_SWARM, M_DIRECT, M_FINISHING, M_DONE };

struct fetch {
	struct peer *pr;
	struct http_fetch *f;
	int active, writing;
	uint32_t piece, size, uploader;
	uint8_t sum[16];
	char addr[96];
	struct store_piece_writer w;
};

struct peer {
	struct df *df;
	struct get_job *job;
	struct ev_loop *loop;
	struct http_client *client;
	struct http_server *srv;
	struct pieceserve ps;
	enum mode mode;
	char id[TASKID_MAX];
	char supers[MAX_SUPERNODES][128];
	int nsupers, cur;
	char token_hdr[600];
	char src_headers[8192];     /* the job's headers as request lines */
	int handle;
	struct store_task *st;
	struct source *src;
	struct http_fetch *ctl;    /* the latest control request (older ones may still be held) */
	struct ctl *ctls;
	int ctl_is_register;
	char reports[16384];
	size_t rlen;
	struct fetch fetches[MAX_FETCHES];
	int nactive;
	uint64_t from_peers, from_super, from_source, resumed;
	char sup_sha256[80], sup_md5[40];
	char error[768];
	int exit_code;
	int mode_was_swarm;
	double started;
	ev_timer tick;
	struct rate_meter meter;
	int drew;
};

struct ctl;
static void send_work(struct peer *p);
static void cancel_ctls(struct peer *p);
static void start_direct(struct peer *p, const char *why);
static void finish_download(struct peer *p);

static void stop_with(struct peer *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void stop_with(struct peer *p, int code, const char *fmt, ...)
{
	if (p->mode == M_DONE)
		return;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(p->error, sizeof p->error, fmt, ap);
		va_end(ap);
	}
	p->exit_code = code;
	p->mode = M_DONE;
	for (int i = 0; i < MAX_FETCHES; i++) {
		struct fetch *f = &p->fetches[i];
		if (f->f)
			http_fetch_cancel(f->f);
		f->f = NULL;
		if (f->writing)
			store_piece_abort(&f->w);
		f->writing = f->active = 0;
	}
	cancel_ctls(p);
	source_free(p->src);
	p->src = NULL;
	ev_break(p->loop, EVBREAK_ALL);
}

static uint64_t done_bytes(struct peer *p)
{
	return p->st ? store_task_present_bytes(p->st) : 0;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	struct peer *p = DF_CONTAINER_OF(w, struct peer, tick);
	uint64_t done = done_bytes(p);
	rate_meter_update(&p->meter, done - p->resumed, swarm_now_ms(loop));
	if (!p->job->progress)
		return;
	struct progress pg = {
		.done = done, .total = p->st && store_task_length(p->st) > 0 ? (uint64_t)store_task_length(p->st) : 0,
		.from_peers = p->from_peers, .from_super = p->from_super,
		.from_source = p->src ? source_bytes(p->src) : p->from_source, .resumed = p->resumed, .rate = p->meter.rate,
	};
	char line[256];
	progress_line(&pg, 100, line, sizeof line);
	fprintf(stderr, "\r%-100s", line);
	p->drew = 1;
}

/* ---- store task ---- */

/* Opens or creates the task for what the supernode or source said; a stored task of another
 * version is dropped (never a mix of two versions). */
static int open_task(struct peer *p, int64_t length, uint32_t piece_size, const char *etag, const char *lm)
{
	char err[512];
	struct store_task_info info = {
		.length = length, .piece_size = piece_size, .url = p->job->url, .etag = etag, .last_modified = lm,
	};
	char digest[80];
	if (p->job->digest.len) {
		digest_spec_format(&p->job->digest, digest, sizeof digest);
		info.digest = digest;
	}
	if (p->st) {
		const struct store_task_info *o = store_task_info(p->st);
		if (o->piece_size == piece_size && strcmp(o->etag, etag) == 0 && strcmp(o->last_modified, lm) == 0 &&
		    (length < 0 || o->length < 0 || o->length == length))
			return DF_OK;
		log_info("the stored copy of %s is another version; starting over", p->job->url);
		pieceserve_forget(&p->ps, p->id);
		store_task_close(p->st);
		p->st = NULL;
		p->resumed = 0;
		if (store_task_remove(p->df->store, p->id, err, sizeof err) != DF_OK) {
			stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, err);
			return DF_ERR;
		}
	}
	p->st = store_task_open(p->df->store, p->id, &info, STORE_CREATE, err, sizeof err);
	if (!p->st && errno == ESTALE && store_task_remove(p->df->store, p->id, NULL, 0) == DF_OK)
		p->st = store_task_open(p->df->store, p->id, &info, STORE_CREATE, err, sizeof err);
	if (!p->st) {
		stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, err);
		return DF_ERR;
	}
	if (!store_task_writable(p->st)) {
		stop_with(p, DF_EXIT_FAIL, "get %s: another df process is downloading it into %s", p->job->url,
			  store_root(p->df->store));
		return DF_ERR;
	}
	pieceserve_add_task(&p->ps, p->st);
	return DF_OK;
}

/* ---- reports ---- */

static void report(struct peer *p, const char *kind, uint32_t piece, uint32_t uploader, const char *why)
{
	int n = snprintf(p->reports + p->rlen, sizeof p->reports - p->rlen, "%s: %u %u%s%s\n", kind, piece, uploader,
			 why ? " " : "", why ? why : "");
	if (n > 0 && (size_t)n < sizeof p->reports - p->rlen)
		p->rlen += (size_t)n;
}

/* ---- piece fetches ---- */

static void fetch_end(struct fetch *f)
{
	struct peer *pr = f->pr;
	f->active = 0;
	f->f = NULL;
	pr->nactive--;
	if (pr->mode == M_DONE)
		return;
	if (store_task_complete(pr->st)) {
		finish_download(pr);
		return;
	}
	send_work(pr);
}

static int fetch_body(struct http_fetch *hf, const char *data, size_t len, void *ctx)
{
	(void)hf;
	struct fetch *f = ctx;
	char err[256];
	if (!f->writing)
		return DF_OK;
	if (store_piece_append(&f->w, data, len, err, sizeof err) != DF_OK) {
		if (errno == EINVAL)
			return DF_ERR; /* the uploader sent more than the piece holds: counted as a bad transfer */
		stop_with(f->pr, DF_EXIT_FAIL, "get %s: %s", f->pr->job->url, err);
		return DF_ERR;
	}
	return DF_OK;
}

static void fetch_done(struct http_fetch *hf, int rc, const char *msg, void *ctx)
{
	(void)hf;
	struct fetch *f = ctx;
	struct peer *p = f->pr;
	char err[256];
	if (!f->writing) {
		fetch_end(f);
		return;
	}
	f->writing = 0;
	if (rc != DF_OK) {
		store_piece_abort(&f->w);
		report(p, "fail", f->piece, f->uploader, msg ? msg : "transfer failed");
		log_debug("piece %u from %s failed: %s", f->piece, f->addr, msg);
	} else if (store_piece_finish(&f->w, f->sum, err, sizeof err) == DF_OK) {
		report(p, "ok", f->piece, f->uploader, NULL);
		if (strcmp(f->addr, "super") == 0)
			p->from_super += f->size;
		else
			p->from_peers += f->size;
	} else if (errno == EBADMSG) {
		log_warn("piece %u from %s does not match the supernode's checksum; refetching elsewhere", f->piece, f->addr);
		report(p, "bad", f->piece, f->uploader, NULL);
	} else {
		stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, err);
		return;
	}
	fetch_end(f);
}

static void start_fetch(struct peer *p, const struct proto_assign *a)
{
	char err[256], url[512];
	if (store_task_has(p->st, a->piece)) {
		/* resumed piece the supernode could not vouch for at registration: check it now */
		uint8_t sum[16];
		int same = store_task_checksum(p->st, a->piece, sum) == DF_OK && memcmp(sum, a->sum, 16) == 0;
		report(p, same ? "ok" : "fail", a->piece, a->uploader, same ? NULL : "stale local piece");
		return;
	}
	struct fetch *f = NULL;
	for (int i = 0; i < MAX_FETCHES && !f; i++)
		if (!p->fetches[i].active)
			f = &p->fetches[i];
	if (!f) {
		report(p, "fail", a->piece, a->uploader, "downloader busy");
		return;
	}
	memset(f, 0, sizeof *f);
	f->pr = p;
	f->piece = a->piece;
	f->size = (uint32_t)a->size;
	f->uploader = a->uploader;
	memcpy(f->sum, a->sum, 16);
	if (slice_copy(a->addr, f->addr, sizeof f->addr) != 0) {
		report(p, "fail", a->piece, a->uploader, "bad address");
		return;
	}
	const char *host = strcmp(f->addr, "super") == 0 ? p->supers[p->cur] : f->addr;
	snprintf(url, sizeof url, "http://%s/v1/piece/%s/%u", host, p->id, f->piece);
	if (store_piece_begin(&f->w, p->st, f->piece, err, sizeof err) != DF_OK) {
		report(p, "fail", a->piece, a->uploader, "cannot write piece");
		return;
	}
	f->writing = 1;
	struct http_request req = {
		.url = url, .headers = p->token_hdr, .fail_status = 1, .what = "peer", .on_body = fetch_body,
		.on_done = fetch_done, .ctx = f, .connect_timeout = 5, .idle_timeout = p->df->cfg->get_timeout ? (double)p->df->cfg->get_timeout : 0,
	};
	f->active = 1;
	p->nactive++;
	f->f = http_client_request(p->client, &req, err, sizeof err);
	if (!f->f) {
		store_piece_abort(&f->w);
		f->writing = f->active = 0;
		p->nactive--;
		report(p, "fail", a->piece, a->uploader, err);
	}
}

/* ---- control answers ---- */

struct answer {
	char task[TASKID_MAX];
	int64_t peer, length;
	uint64_t piece_size;
	char version[400], state[32], digest[80], md5[40], error[512];
	int done, wait;
};

/* Splits "etag X" / "lm X" / "len N" into the store's validators. */
static void copy_capped(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void version_parts(const char *v, char *etag, size_t ecap, char *lm, size_t lcap)
{
	etag[0] = lm[0] = 0;
	if (strncmp(v, "etag ", 5) == 0)
		copy_capped(etag, ecap, v + 5);
	else if (strncmp(v, "lm ", 3) == 0)
		copy_capped(lm, lcap, v + 3);
}

static void parse_answer(struct peer *p, const char *body, size_t len, struct answer *a, int start_fetches)
{
	size_t pos = 0;
	struct proto_line l;
	struct proto_assign as[64];
	int nas = 0;
	memset(a, 0, sizeof *a);
	a->peer = -1;
	a->length = -2;
	while (proto_next(body, len, &pos, &l) == DF_OK) {
		if (slice_eq(l.key, "task")) slice_copy(l.val, a->task, sizeof a->task);
		else if (slice_eq(l.key, "peer")) proto_i64(l.val, &a->peer);
		else if (slice_eq(l.key, "length")) proto_i64(l.val, &a->length);
		else if (slice_eq(l.key, "piece-size")) proto_u64(l.val, &a->piece_size);
		else if (slice_eq(l.key, "version")) slice_copy(l.val, a->version, sizeof a->version);
		else if (slice_eq(l.key, "state")) slice_copy(l.val, a->state, sizeof a->state);
		else if (slice_eq(l.key, "digest")) slice_copy(l.val, a->digest, sizeof a->digest);
		else if (slice_eq(l.key, "md5")) slice_copy(l.val, a->md5, sizeof a->md5);
		else if (slice_eq(l.key, "error")) slice_copy(l.val, a->error, sizeof a->error);
		else if (slice_eq(l.key, "done")) a->done = 1;
		else if (slice_eq(l.key, "wait")) a->wait = 1;
		else if (slice_eq(l.key, "assign") && nas < 64 && proto_parse_assign(l.val, &as[nas]) == DF_OK) nas++;
	}
	if (a->digest[0])
		snprintf(p->sup_sha256, sizeof p->sup_sha256, "%s", a->digest);
	if (a->md5[0])
		snprintf(p->sup_md5, sizeof p->sup_md5, "%s", a->md5);
	if (p->st && a->length >= 0 && store_task_length(p->st) < 0) {
		char err[256];
		if (store_task_set_length(p->st, a->length, err, sizeof err) != DF_OK)
			stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, err);
	}
	if (start_fetches && p->mode == M_SWARM)
		for (int i = 0; i < nas && p->mode == M_SWARM; i++)
			start_fetch(p, &as[i]);
}

static int ctl_body_collect(struct http_fetch *f, const char *data, size_t len, void *ctx);

struct ctl {
	struct peer *p;
	struct ctl *next;          /* p->ctls: every control request in flight */
	struct http_fetch *f;
	int is_register;
	int status;
	char *body;
	size_t len;
};

static int ctl_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct ctl *c = ctx;
	c->status = r->status;
	return DF_OK;
}

static int ctl_body_collect(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct ctl *c = ctx;
	if (c->len + len > (1u << 20))
		return DF_ERR;
	char *b = realloc(c->body, c->len + len + 1);
	if (!b)
		return DF_ERR;
	c->body = b;
	memcpy(b + c->len, data, len);
	c->len += len;
	b[c->len] = 0;
	return DF_OK;
}

static void next_supernode_or_direct(struct peer *p, const char *why)
{
	log_warn("supernode %s: %s", p->supers[p->cur], why);
	if (++p->cur < p->nsupers) {
		p->mode = M_REGISTER;
		send_work(p);
		return;
	}
	p->cur = 0;
	if (!p->df->cfg->get_back_to_source) {
		stop_with(p, DF_EXIT_NOSUPER, "get %s: no supernode answered (%s) and --no-back-to-source is set", p->job->url, why);
		return;
	}
	start_direct(p, why);
}

static void on_registered(struct peer *p, struct answer *a, const char *body, size_t len)
{
	char etag[400], lm[400];
	if (a->peer < 0 || a->piece_size == 0 || strcmp(a->task, p->id) != 0) {
		next_supernode_or_direct(p, "malformed answer to register");
		return;
	}
	p->handle = (int)a->peer;
	version_parts(a->version, etag, sizeof etag, lm, sizeof lm);
	if (open_task(p, a->length, (uint32_t)a->piece_size, etag, lm) != DF_OK)
		return;
	p->mode = M_SWARM;
	parse_answer(p, body, len, a, 1);
	if (p->mode != M_SWARM)
		return;
	if (store_task_complete(p->st))
		finish_download(p);
	else
		send_work(p);
}

static void unlink_ctl(struct peer *p, struct ctl *c)
{
	for (struct ctl **pp = &p->ctls; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static void cancel_ctls(struct peer *p)
{
	while (p->ctls) {
		struct ctl *c = p->ctls;
		p->ctls = c->next;
		http_fetch_cancel(c->f);
		free(c->body);
		free(c);
	}
	p->ctl = NULL;
}

static void ctl_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct ctl *c = ctx;
	struct peer *p = c->p;
	struct answer a;
	int mine = p->ctl == f;
	unlink_ctl(p, c); /* from here on c is ours alone, whatever stop_with does */
	if (mine)
		p->ctl = NULL;
	if (p->mode == M_DONE)
		goto out;
	if (p->mode == M_FINISHING) {
		if (mine) /* the final report is through (or failed: the file is here all the same) */
			stop_with(p, DF_EXIT_OK, NULL);
		goto out;
	}
	if (rc != DF_OK) {
		if (c->is_register) {
			next_supernode_or_direct(p, msg ? msg : "failed");
		} else if (mine) {
			log_warn("supernode %s: %s; registering again", p->supers[p->cur], msg ? msg : "failed");
			p->mode = M_REGISTER;
			send_work(p);
		}
		goto out;
	}
	if (c->status == 502 || c->status == 400) {
		/* the supernode speaks for the source: its 404, its refusal */
		char *nl = c->body ? strchr(c->body, '\n') : NULL;
		if (nl)
			*nl = 0;
		stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, c->body ? c->body : "supernode refused");
		goto out;
	}
	if (c->status == 410) { /* the supernode forgot us (restart, silence): register again */
		if (mine) {
			p->mode = M_REGISTER;
			send_work(p);
		}
		goto out;
	}
	if (c->status != 200) {
		char why[96];
		snprintf(why, sizeof why, "answered %d", c->status);
		if (c->is_register)
			next_supernode_or_direct(p, why);
		goto out;
	}
	if (c->is_register) {
		parse_answer(p, c->body ? c->body : "", c->len, &a, 0);
		on_registered(p, &a, c->body ? c->body : "", c->len);
		goto out;
	}
	parse_answer(p, c->body ? c->body : "", c->len, &a, 1);
	if (p->mode != M_SWARM)
		goto out;
	if (a.error[0]) {
		stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, a.error);
		goto out;
	}
	if (store_task_complete(p->st) && p->nactive == 0)
		finish_download(p);
	else if (!p->ctl)
		send_work(p);
out:
	free(c->body);
	free(c);
}

static void send_ctl(struct peer *p, int is_register, const char *path, const char *body, size_t len)
{
	char url[512], err[256];
	struct ctl *c = calloc(1, sizeof *c);
	if (!c) {
		stop_with(p, DF_EXIT_FAIL, "get: out of memory");
		return;
	}
	c->p = p;
	c->is_register = is_register;
	snprintf(url, sizeof url, "http://%s%s", p->supers[p->cur], path);
	struct http_request req = {
		.method = "POST", .url = url, .headers = p->token_hdr, .body = body, .body_len = len,
		.what = "supernode", .on_response = ctl_response, .on_body = ctl_body_collect, .on_done = ctl_done, .ctx = c,
		.connect_timeout = 3, .first_byte_timeout = CTL_TIMEOUT, .idle_timeout = CTL_TIMEOUT,
	};
	struct http_fetch *f = http_client_request(p->client, &req, err, sizeof err);
	if (!f) {
		free(c);
		if (is_register)
			next_supernode_or_direct(p, err);
		else
			stop_with(p, DF_EXIT_FAIL, "get %s: supernode %s: %s", p->job->url, p->supers[p->cur], err);
		return;
	}
	c->f = f;
	c->next = p->ctls;
	p->ctls = c;
	p->ctl = f;
	p->ctl_is_register = is_register;
}

static void send_register(struct peer *p)
{
	char mem[65536];
	struct proto_buf b;
	proto_buf_init(&b, mem, sizeof mem);
	proto_put(&b, "task", "%s", p->id);
	proto_put(&b, "url", "%s", p->job->url);
	for (int i = 0; i < p->job->nheaders; i++)
		proto_put(&b, "header", "%s", p->job->headers[i]);
	if (p->job->digest.len) {
		char d[80];
		digest_spec_format(&p->job->digest, d, sizeof d);
		proto_put(&b, "digest", "%s", d);
	}
	if (p->df->cfg->get_filter[0])
		proto_put(&b, "filter", "%s", p->df->cfg->get_filter);
	proto_put(&b, "port", "%u", http_server_port(p->srv));
	if (p->df->cfg->get_advertise[0])
		proto_put(&b, "addr", "%s:%u", p->df->cfg->get_advertise, http_server_port(p->srv));
	if (p->st && store_task_present(p->st)) {
		size_t n;
		const uint8_t *bits = store_task_bitmap(p->st, &n);
		char *hex = malloc(2 * n + 1);
		if (hex) {
			digest_hex(bits, n, hex);
			proto_put(&b, "have", "%s", hex);
			free(hex);
		}
	}
	if (b.overflow) {
		stop_with(p, DF_EXIT_FAIL, "get %s: the registration does not fit (too many headers?)", p->job->url);
		return;
	}
	send_ctl(p, 1, "/v1/register", b.p, b.len);
}

/* Sends what there is to say: the registration, or a work request with the pending reports. */
static void send_work(struct peer *p)
{
	char path[256];
	if (p->mode == M_REGISTER) {
		cancel_ctls(p);
		send_register(p);
		return;
	}
	if (p->mode != M_SWARM && p->mode != M_FINISHING)
		return;
	if (p->ctl && !p->rlen)
		return; /* a request is held at the supernode and there is no news */
	snprintf(path, sizeof path, "/v1/work?task=%s&peer=%d", p->id, p->handle);
	/* an old held request stays open; the supernode answers it "wait" and the new one counts */
	send_ctl(p, 0, path, p->reports, p->rlen);
	p->rlen = 0;
}

/* ---- direct from the source ---- */

static struct store_task *direct_meta(void *ctx, const struct source_meta *m, char *msg, size_t msglen)
{
	struct peer *p = ctx;
	uint32_t ps = p->st ? store_task_piece_size(p->st) : (uint32_t)p->df->cfg->supernode_piece_size;
	(void)msg;
	(void)msglen;
	if (open_task(p, m->length, ps, m->etag, m->last_modified) != DF_OK)
		return NULL;
	return p->st;
}

static void direct_piece(void *ctx, uint32_t piece, uint32_t len)
{
	(void)piece;
	struct peer *p = ctx;
	p->from_source += len;
}

static void direct_done(void *ctx, int rc, const char *msg)
{
	struct peer *p = ctx;
	if (p->src)
		p->from_source = source_bytes(p->src);
	if (rc != DF_OK) {
		stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, msg);
		return;
	}
	finish_download(p);
}

static void start_direct(struct peer *p, const char *why)
{
	char err[512];
	if (why)
		log_warn("no supernode answered (%s); fetching %s straight from the source", why, p->job->url);
	p->mode = M_DIRECT;
	struct source_cfg c = {
		.loop = p->loop, .client = p->client, .url = p->job->url, .headers = p->src_headers,
		.piece_size = p->st ? store_task_piece_size(p->st) : (uint32_t)p->df->cfg->supernode_piece_size,
		.streams = 4, .task = p->st, .on_meta = direct_meta, .on_piece = direct_piece, .on_done = direct_done, .ctx = p,
	};
	p->src = source_start(&c, err, sizeof err);
	if (!p->src)
		stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, err);
}

/* ---- the end ---- */

static int check_digest(struct peer *p)
{
	char err[512], want_hex[65], got_hex[65];
	struct digest_spec want = p->job->digest;
	if (!want.len && p->sup_sha256[0])
		digest_spec_parse(p->sup_sha256, strlen(p->sup_sha256), &want);
	if (!want.len)
		return DF_OK;
	uint8_t md5[16], sha[32];
	if (store_task_file_digests(p->st, md5, sha, err, sizeof err) != DF_OK) {
		stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, err);
		return DF_ERR;
	}
	const uint8_t *got = want.len == 16 ? md5 : sha;
	if (memcmp(got, want.bytes, want.len) == 0) {
		store_task_set_digests(p->st, md5, sha, NULL, 0);
		return DF_OK;
	}
	digest_hex(want.bytes, want.len, want_hex);
	digest_hex(got, want.len, got_hex);
	stop_with(p, DF_EXIT_DIGEST, "get %s: digest mismatch: expected %s:%s, got %s:%s", p->job->url, want.algo, want_hex,
		  want.algo, got_hex);
	/* never serve or export these bytes */
	pieceserve_forget(&p->ps, p->id);
	store_task_close(p->st);
	p->st = NULL;
	store_task_remove(p->df->store, p->id, NULL, 0);
	return DF_ERR;
}

static int export_stdout(struct peer *p)
{
	static char buf[1 << 16];
	char err[256];
	uint32_t n = store_task_piece_count(p->st);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = store_task_piece_len(p->st, i);
		for (uint32_t off = 0; off < len;) {
			uint32_t k = DF_MIN(len - off, (uint32_t)sizeof buf);
			if (store_piece_read(p->st, i, off, buf, k, err, sizeof err) != DF_OK) {
				stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, err);
				return DF_ERR;
			}
			for (uint32_t w = 0; w < k;) {
				ssize_t r = write(1, buf + w, k - w);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					stop_with(p, DF_EXIT_FAIL, "get %s: writing to stdout: %s", p->job->url, strerror(errno));
					return DF_ERR;
				}
				w += (uint32_t)r;
			}
			off += k;
		}
	}
	return DF_OK;
}

static void finish_download(struct peer *p)
{
	char err[512];
	if (p->mode == M_DONE || p->mode == M_FINISHING)
		return;
	if (p->nactive) /* the last pieces are still being written */
		return;
	int via_swarm = p->mode == M_SWARM;
	p->mode_was_swarm = via_swarm;
	p->mode = M_FINISHING;
	if (check_digest(p) != DF_OK)
		return;
	if (strcmp(p->job->output, "-") == 0) {
		if (export_stdout(p) != DF_OK)
			return;
	} else if (store_task_export(p->st, p->job->output, err, sizeof err) != DF_OK) {
		stop_with(p, DF_EXIT_FAIL, "get %s: %s", p->job->url, err);
		return;
	}
	p->exit_code = DF_EXIT_OK;
	if (via_swarm && p->rlen) {
		/* the supernode must learn we hold the last pieces before we seed: ctl_done stops the loop */
		send_work(p);
		return;
	}
	stop_with(p, DF_EXIT_OK, NULL);
}

/* ---- set-up ---- */

static int parse_supernodes(struct peer *p, const char *list)
{
	const char *s = list;
	while (*s && p->nsupers < MAX_SUPERNODES) {
		size_t n = strcspn(s, ", ");
		if (n && n < sizeof p->supers[0]) {
			memcpy(p->supers[p->nsupers], s, n);
			p->supers[p->nsupers++][n] = 0;
		}
		s += n;
		while (*s == ',' || *s == ' ')
			s++;
	}
	return p->nsupers;
}

static int listen_peer(struct peer *p, char *err, size_t errlen)
{
	struct df_config *c = p->df->cfg;
	if (c->get_peer_listen[0])
		return http_server_listen(p->srv, c->get_peer_listen, err, errlen);
	unsigned lo = 0, hi = 0;
	if (sscanf(c->get_port_range, "%u-%u", &lo, &hi) != 2 || lo == 0 || hi < lo || hi > 65535) {
		snprintf(err, errlen, "--port-range '%s': expected LOW-HIGH", c->get_port_range);
		return DF_ERR;
	}
	/* start at a pid-dependent port so concurrent peers on one host rarely collide */
	unsigned span = hi - lo + 1, start = (unsigned)getpid() % span;
	for (unsigned i = 0; i < span; i++) {
		char addr[32];
		snprintf(addr, sizeof addr, ":%u", lo + (start + i) % span);
		if (http_server_listen(p->srv, addr, err, errlen) == DF_OK)
			return DF_OK;
	}
	snprintf(err, errlen, "no free port in %s for the piece server (--port-range)", c->get_port_range);
	return DF_ERR;
}

static void summary(struct peer *p)
{
	char size[32], a[32], b[32], c[32], r[32];
	double secs = ev_time() - p->started;
	uint64_t fetched = p->from_peers + p->from_super + p->from_source;
	progress_size((uint64_t)store_task_length(p->st), size, sizeof size);
	progress_size(p->from_peers, a, sizeof a);
	progress_size(p->from_super, b, sizeof b);
	progress_size(p->from_source, c, sizeof c);
	progress_size(p->resumed, r, sizeof r);
	log_info("saved %s (%s) in %.1fs: fetched %llu bytes (peers %s, supernode %s, source %s)%s%s%s",
		 strcmp(p->job->output, "-") == 0 ? "to stdout" : p->job->output, size, secs, (unsigned long long)fetched, a, b, c,
		 p->resumed ? ", resumed with " : "", p->resumed ? r : "", p->resumed ? " already here" : "");
}

int swarm_get(struct df *df, struct get_job *job)
{
	struct peer *p = calloc(1, sizeof *p);
	char err[512];
	int rc = DF_EXIT_FAIL;
	if (!p) {
		log_user_error("get", "out of memory");
		return DF_EXIT_FAIL;
	}
	p->df = df;
	p->job = job;
	p->loop = df->loop;
	p->started = ev_time();
	p->exit_code = DF_EXIT_FAIL;
	if (swarm_task_id(job->url, df->cfg->get_filter, &job->digest, p->id, err, sizeof err) != DF_OK) {
		log_user_error("get", "%s", err);
		free(p);
		return DF_EXIT_USAGE;
	}
	size_t hl = 0;
	for (int i = 0; i < job->nheaders; i++)
		hl += (size_t)snprintf(p->src_headers + hl, sizeof p->src_headers - hl, "%s\r\n", job->headers[i]);
	snprintf(p->token_hdr, sizeof p->token_hdr, "%s", auth_header(df->cfg->security_token, p->token_hdr, sizeof p->token_hdr));
	p->client = job->client;
	struct http_server_cfg sc = {.name = "df/" DF_VERSION};
	p->srv = http_server_new(p->loop, &sc);
	if (!p->client || !p->srv) {
		log_user_error("get", "%s", p->client ? "out of memory" : err);
		goto out;
	}
	if (listen_peer(p, err, sizeof err) != DF_OK) {
		log_user_error("get", "%s", err);
		rc = DF_EXIT_USAGE;
		goto out;
	}
	pieceserve_init(&p->ps, p->loop, p->srv, df->store, df->cfg->security_token);
	/* a task already in the store: resume it (or export it at once once the version is confirmed) */
	p->st = store_task_open(df->store, p->id, NULL, 0, NULL, 0);
	if (p->st && !store_task_writable(p->st) && !store_task_complete(p->st)) {
		log_user_error("get", "%s: another df process is downloading it into %s", job->url, store_root(df->store));
		goto out;
	}
	if (p->st) {
		p->resumed = store_task_present_bytes(p->st);
		pieceserve_add_task(&p->ps, p->st);
		if (p->resumed)
			log_info("resumed: %llu bytes of %s already in the store", (unsigned long long)p->resumed, job->url);
	}
	ev_timer_init(&p->tick, tick_cb, 0.2, 0.2);
	ev_timer_start(p->loop, &p->tick);
	if (p->st && store_task_complete(p->st) && job->digest.len) {
		finish_download(p); /* content-addressed and complete: nothing to ask anyone */
	} else if (parse_supernodes(p, df->cfg->get_supernode) > 0) {
		p->mode = M_REGISTER;
		send_work(p);
	} else {
		start_direct(p, NULL);
	}
	if (p->mode != M_DONE)
		ev_run(p->loop, 0);
	ev_timer_stop(p->loop, &p->tick);
	if (p->drew)
		fprintf(stderr, "\r%-100s\r", "");
	rc = p->exit_code;
	if (rc != DF_EXIT_OK) {
		fprintf(stderr, "df: %s\n", p->error[0] ? p->error : "get failed");
		goto out;
	}
	summary(p);
	if (df->cfg->get_seed_idle > 0 && p->nsupers && p->mode_was_swarm && p->st) {
		struct seeder_cfg s = {
			.loop = p->loop, .server = p->srv, .ps = &p->ps, .store = df->store, .task = p->st,
			.supernode = p->supers[p->cur], .handle = p->handle, .token_hdr = p->token_hdr,
			.idle = (double)df->cfg->get_seed_idle, .url = job->url,
		};
		if (seeder_detach(&s) == DF_OK) {
			/* the child owns the store task and its locks now: leave them as they are */
			fflush(NULL);
			_exit(DF_EXIT_OK);
		}
		log_warn("cannot start the seeder: %s", strerror(errno));
	}
out:
	cancel_ctls(p);
	if (p->st)
		store_task_close(p->st);
	pieceserve_close(&p->ps);
	if (p->srv)
		http_server_free(p->srv);
	free(p);
	return rc;
}
