/* Who may have a task: the supernode hands a task whose source wants credentials only to the
 * registrants that source accepts (docs/SECURITY.md, "Private sources").
 *
 * How it is used: one access per supernode task, made with the URL of its anonymous probe (the
 * task's URL without credentials: userinfo and the --filter parameters dropped). access_admit for
 * each registration once the task's length is known: a source that answered the anonymous probe
 * with the file is public and everyone is admitted at once; otherwise each registrant is admitted
 * only after the source answers a one-byte Range request carrying that registrant's own URL and
 * headers with the same file (304 to If-None-Match with the task's ETag, or a 2xx stating the
 * task's length), and that answer is remembered per
 * credential hash for cfg.cache_seconds. Callbacks come from the loop, never inside an access_*
 * call. */
#ifndef DF_SWARM_ACCESS_H
#define DF_SWARM_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "net/http_client.h"

struct access;
struct access_wait;

struct access_cfg {
	struct ev_loop *loop;
	struct http_client *client; /* for the sources */
	double cache_seconds; /* a source's yes for one URL + header set stays good this long; 0: ask every time */
	int assume_public;    /* admit everyone without asking the source (test harnesses only) */
};

/* A new gate (cfg copied; the client must outlive it). probe_url is copied. NULL when out of memory. */
struct access *access_new(const struct access_cfg *cfg, const char *probe_url);
/* Cancels every pending decision (their callbacks never run) and frees. NULL is fine. */
void access_free(struct access *a);

/* Decides whether a registrant naming url with request lines headers ("Name: value\r\n"...) may have
 * the task, whose length is length (-1 unknown) and ETag etag ("" or NULL none: the checks then
 * fetch one byte; with it they are conditional, and 304 is the source's yes without a body). may_check 0 says url cannot speak for the task
 * (access_url_vouches): such a registrant is admitted only when the task is public. DF_OK: yes, now.
 * DF_AGAIN: *w is pending and cb(ctx, ok, why) runs once from the loop (why: the cause of a refusal,
 * for the registrant). DF_ERR: no, with the cause in why. */
int access_admit(struct access *a, const char *url, const char *headers, int64_t length, const char *etag,
		 int may_check, void (*cb)(void *ctx, int ok, const char *why), void *ctx, struct access_wait **w,
		 char *why, size_t whylen);
/* Forgets a pending decision: its callback never runs. */
void access_wait_cancel(struct access_wait *w);

/* "public", "private" or "unknown" (not probed yet), for status. */
const char *access_state(const struct access *a);

/* Whether a registrant's url may speak for a content-addressed task fetched from src_url: the same
 * URL (both normalized, minus the parameters named in filter), or a URL on the same origin (scheme,
 * host, port) whose path names the digest's hex (an OCI blob URL: the registry vouches for the
 * content). Any other URL proves nothing: its server may answer 2xx for anything. Pure. */
int access_url_vouches(const char *src_url, const char *url, const char *filter, const char *digest_hex);

#endif
