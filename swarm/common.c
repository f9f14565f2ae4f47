/* Helpers shared by the supernode and the peer: task ids, the loop clock in ms, body collection.
 * Kept apart so neither engine includes the other. */
#include "swarm/common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "core/monotime.h"
#include "core/proto.h"
#include "store/store.h"

int swarm_task_id(const char *url, const char *filter, const struct digest_spec *d, char out[TASKID_MAX], char *err,
		  size_t errlen)
{
	char norm[8192];
	if (d && d->len) {
		taskid_from_digest(d, out);
		return DF_OK;
	}
	if (strlen(url) >= PROTO_REG_URL_MAX) { /* the most a registration carries */
		snprintf(err, errlen, "a URL of %zu bytes: df takes at most %d", strlen(url), PROTO_REG_URL_MAX - 1);
		return DF_ERR;
	}
	int n = http_url_normalize(url, strlen(url), filter && filter[0] ? filter : NULL, norm, sizeof norm);
	if (n < 0) {
		int many = errno == E2BIG; /* said first: the URL is long, and the message may be cut */
		http_url_redact(url, strlen(url), filter && filter[0] ? filter : NULL, norm, sizeof norm);
		if (many)
			snprintf(err, errlen, "more than %d query parameters (the most a task id takes): '%s'",
				 HTTP_URL_MAX_PARAMS, norm);
		else {
			/* with the reason (a space a user pasted shows as the redaction mark, not as itself) */
			struct http_url u;
			const char *why = "not a URL";
			(void)http_url_parse(url, strlen(url), &u, &why);
			snprintf(err, errlen, "'%s' is not a URL df can fetch (%s%s)", norm, why,
				 strstr(why, "space") ? ": write a space as %20" : "");
		}
		return DF_ERR;
	}
	taskid_from_url(norm, (size_t)n, out);
	return DF_OK;
}

void swarm_msg_fit(char *dst, size_t cap, const char *src)
{
	static const char mid[] = " \xe2\x80\xa6 "; /* " … " */
	size_t n = strlen(src);
	if (!cap)
		return;
	if (n < cap || cap < 64) {
		snprintf(dst, cap, "%s", src);
		return;
	}
	size_t head = (cap - sizeof mid) / 3, tail = cap - sizeof mid - head; /* the cause gets two thirds */
	memcpy(dst, src, head);
	memcpy(dst + head, mid, sizeof mid - 1);
	memcpy(dst + head + sizeof mid - 1, src + n - tail, tail);
	dst[head + sizeof mid - 1 + tail] = 0;
}

char *swarm_url_shown_new(const char *url, const char *filter)
{
	char buf[8192];
	http_url_redact(url, strlen(url), filter && filter[0] ? filter : NULL, buf, sizeof buf);
	return strdup(buf);
}

int64_t swarm_now_ms(struct ev_loop *loop)
{
	(void)loop;
	return (int64_t)(monotime_now() * 1000.0);
}

struct body {
	char *p;
	size_t len, max;
	void (*done)(struct http_req *req, const char *body, size_t len, void *ctx);
	void *ctx;
	int too_big;
};

static int body_data(struct http_req *req, const char *data, size_t len, void *ctx)
{
	(void)req;
	struct body *b = ctx;
	if (b->too_big || b->len + len > b->max) {
		b->too_big = 1;
		return DF_OK; /* keep reading so the reply can go out on a clean connection */
	}
	char *p = realloc(b->p, b->len + len + 1);
	if (!p)
		return DF_ERR;
	b->p = p;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = 0;
	return DF_OK;
}

static void no_done(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	(void)ok;
	(void)ctx;
}

static void body_end(struct http_req *req, void *ctx)
{
	struct body *b = ctx;
	http_req_on_done(req, no_done, NULL); /* b is freed here, not by body_aborted */
	if (b->too_big)
		http_reply(req, 413, NULL, DF_LIT("request body too large\n"));
	else
		b->done(req, b->p ? b->p : "", b->len, b->ctx);
	free(b->p);
	free(b);
}

/* The exchange ended before the whole body arrived: on_end never runs, so free here. */
static void body_aborted(struct http_req *req, int ok, void *ctx)
{
	(void)req;
	(void)ok;
	struct body *b = ctx;
	free(b->p);
	free(b);
}

void swarm_read_body(struct http_req *req, size_t max,
		     void (*done)(struct http_req *req, const char *body, size_t len, void *ctx), void *ctx)
{
	struct body *b = calloc(1, sizeof *b);
	if (!b) {
		http_reply(req, 503, NULL, DF_LIT("out of memory\n"));
		return;
	}
	b->max = max;
	b->done = done;
	b->ctx = ctx;
	http_req_on_done(req, body_aborted, b);
	http_req_read_body(req, body_data, body_end, b);
}

void swarm_reply_metrics(struct http_req *req, void (*render)(FILE *f, void *ctx), void *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		http_reply(req, 503, NULL, DF_LIT("out of memory\n"));
		return;
	}
	render(f, ctx);
	metrics_put_process(f);
	if (fclose(f) != 0) {
		free(buf);
		http_reply(req, 503, NULL, DF_LIT("out of memory\n"));
		return;
	}
	http_reply(req, 200, "Content-Type: text/plain; version=0.0.4\r\n", buf, len);
	free(buf);
}

void swarm_reply_lines(struct http_req *req, const struct proto_buf *b)
{
	if (b->overflow) {
		http_reply(req, 500, NULL, DF_LIT("answer too large\n"));
		return;
	}
	http_reply(req, 200, "Content-Type: text/plain\r\n", b->p, b->len);
}

int swarm_same_version(const struct store_task_info *o, const char *etag, const char *lm)
{
	const char *oe = o->etag ? o->etag : "", *ol = o->last_modified ? o->last_modified : "";
	if (oe[0] && etag[0])
		return strcmp(oe, etag) == 0;
	if (ol[0] && lm[0])
		return strcmp(ol, lm) == 0;
	return !oe[0] && !ol[0] && !etag[0] && !lm[0];
}

int swarm_thread_start(pthread_t *th, pthread_mutex_t *mu, pthread_cond_t *cv, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	pthread_mutex_init(mu, NULL);
	pthread_cond_init(cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(th, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		pthread_cond_destroy(cv);
		pthread_mutex_destroy(mu);
	}
	return e;
}
