/* Small pieces the swarm engines share: the task id of a URL or digest, clocks, and a bounded
 * request-body collector for the line-oriented control bodies. */
#ifndef DF_SWARM_COMMON_H
#define DF_SWARM_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "core/digest.h"
#include "core/taskid.h"
#include "net/http_server.h"

/* Starts a worker thread with its mutex and condition (initialized here, destroyed again when the
 * thread cannot start) and every signal blocked: the loop's thread takes SIGINT and SIGTERM (they
 * stop a get), and a SIGPIPE raised by the worker's own write stays pending there (the write gets
 * EPIPE). pthread_create's result. */
int swarm_thread_start(pthread_t *th, pthread_mutex_t *mu, pthread_cond_t *cv, void *(*fn)(void *), void *arg);

/* The task id for url (normalized, minus the query parameters named in filter, comma-separated)
 * or for digest when d->len > 0. DF_OK, or DF_ERR with the cause in err (a URL that will not parse). */
int swarm_task_id(const char *url, const char *filter, const struct digest_spec *d, char out[TASKID_MAX], char *err,
		  size_t errlen);

/* url as df shows and stores it (http_url_redact: the filter's parameters, well-known signature and
 * token parameters and userinfo replaced by REDACTED), newly allocated (the caller frees it); NULL
 * when out of memory. The real URL stays in memory only, for fetching. */
char *swarm_url_shown_new(const char *url, const char *filter);

/* src into dst (cap bytes, NUL-terminated); when it does not fit, its start and its end with " … "
 * between: a message that names a long URL (a presigned one runs to kilobytes) keeps its cause,
 * which comes last. */
void swarm_msg_fit(char *dst, size_t cap, const char *src);

/* Whether stored validators name the version given. A supernode names a version by one validator
 * (its ETag, else its Last-Modified) while a source answers with both: the strongest one both sides
 * have decides, so going from the swarm to the source (or back, or to a parent site) keeps the
 * pieces. Pure. */
struct store_task_info;
int swarm_same_version(const struct store_task_info *o, const char *etag, const char *lm);

/* Milliseconds of the loop's clock, for the scheduler. */
int64_t swarm_now_ms(struct ev_loop *loop);

/* Reads a whole (small) request body into memory, then calls done(req, body, len, ctx); a body over
 * max bytes gets 413. The body is freed after done returns. */
void swarm_read_body(struct http_req *req, size_t max,
		     void (*done)(struct http_req *req, const char *body, size_t len, void *ctx), void *ctx);

/* Replies 200 with the Prometheus text render(f, ctx) writes (core/metrics.h), or 503 when out of
 * memory: the one /metrics answer of the supernode and df proxy. */
void swarm_reply_metrics(struct http_req *req, void (*render)(FILE *f, void *ctx), void *ctx);

/* Replies 200 text/plain with the proto buffer, or 500 when it overflowed. */
struct proto_buf;
void swarm_reply_lines(struct http_req *req, const struct proto_buf *b);

#endif
