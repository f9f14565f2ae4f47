/* Pure parsers of the registry mirror: what a /v2/ request path asks for (base, manifest, blob),
 * containerd's ?ns= parameter, the upstream list ("[NAME=]URL,..."), and which request and response
 * header lines a proxy passes on. No sockets, no malloc: slices into the caller's buffers. */
#ifndef DF_SWARM_REGISTRY_PARSE_H
#define DF_SWARM_REGISTRY_PARSE_H

#include <stddef.h>

#include "core/digest.h"
#include "core/slice.h"
#include "net/http_parse.h"

enum registry_kind {
	REG_NONE,     /* not a registry API path (or a malformed one) */
	REG_BASE,     /* /v2/ */
	REG_MANIFEST, /* /v2/NAME/manifests/REF */
	REG_BLOB,     /* /v2/NAME/blobs/DIGEST */
	REG_OTHER,    /* any other /v2/... (tags/list, _catalog, referrers, uploads) */
};

struct registry_path {
	enum registry_kind kind;
	struct slice name; /* repository, may hold slashes ("library/alpine"); manifests and blobs */
	struct slice ref;  /* tag or digest (manifests), digest (blobs) */
	int sha256;        /* a blob whose digest is "sha256:" and 64 lower-case hex digits */
};

/* Classifies a request path (no query). A manifest or blob path with a bad repository name or
 * reference is REG_NONE: it is never forwarded. Always returns the kind (also in out->kind). */
enum registry_kind registry_parse_path(struct slice path, struct registry_path *out);

/* The distribution spec's grammar: a repository name (components of [a-z0-9]+ joined by '.', '_',
 * '__' or runs of '-', separated by '/'; at most 255 bytes), a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}),
 * and a sha256 digest ("sha256:" and 64 lower-case hex digits). 1 when s is one, else 0. */
int registry_name_valid(struct slice s);
int registry_tag_valid(struct slice s);
int registry_digest_sha256(struct slice s);

/* Containerd's upstream hint: the percent-decoded value of the "ns" query parameter into out
 * (NUL-terminated). DF_OK, DF_AGAIN when there is none, DF_ERR when it is malformed or too long. */
int registry_query_ns(struct slice query, char *out, size_t cap);

/* The query without its "ns" parameters, into out (NUL-terminated, possibly empty). Returns the
 * length or DF_ERR when it does not fit. */
int registry_query_strip_ns(struct slice query, char *out, size_t cap);

/* One upstream registry as configured: "[NAME=]URL" with URL http(s)://HOST[:PORT] (no path). */
struct registry_upstream {
	char name[256]; /* what ?ns= must say: NAME, else HOST[:PORT] as written; docker.io for Docker Hub */
	char url[300];  /* "http(s)://host[:port]" without a trailing slash */
};

/* Parses the n bytes of spec. DF_ERR with *err set ("not an http(s) URL", "has a path"). */
int registry_upstream_parse(const char *spec, size_t n, struct registry_upstream *u, const char **err);

/* The registry host images from u are named after ("HOST[:PORT]/repo:tag"): what containerd's
 * certs.d/ directory, its ?ns= and a registries.conf location must say. NAME when it is a host
 * name (it holds a '.' or a ':', or is "localhost": the engines' rule for an image name's first
 * component), else the URL's host[:port]; docker.io for Docker Hub's registry-1.docker.io. Into
 * out (NUL-terminated, cut to cap). */
void registry_upstream_image_host(const struct registry_upstream *u, char *out, size_t cap);

/* Whether ns names upstream u (its name, or the host[:port] of its URL; case-insensitive). */
int registry_upstream_match(const struct registry_upstream *u, const char *ns);

/* Request header lines a proxy forwards upstream: every end-to-end header of h as "Name: value\r\n",
 * without the hop-by-hop ones (Connection and those it names, Keep-Alive, Proxy-*, TE, Trailer,
 * Transfer-Encoding, Upgrade), Host, Content-Length and Expect (the client sets its own). With
 * only_credentials, just Authorization and Cookie. Returns the length written (NUL-terminated) or
 * DF_ERR when it does not fit. */
int registry_request_headers(const struct http_head *h, int only_credentials, char *out, size_t cap);

/* Response header lines a proxy passes back to its client: every end-to-end header without the
 * hop-by-hop ones, Content-Length, Date and Server (the proxy's server writes its own). Lines that
 * would not fit are left out. Returns the length written (NUL-terminated). */
size_t registry_response_headers(const struct http_header *hdrs, size_t n, char *out, size_t cap);

/* What the mirror does with one request: the whole decision of registry_handle/registry_serve, as a
 * pure function so it is fuzzed as the handler runs it (test/fuzz/fuzz_registry_req.c). */
enum registry_action {
	REG_ACT_ERROR, /* answer status with the distribution API error code and df's own message */
	REG_ACT_P2P,   /* a sha256 blob GET: authorize at url, then serve from the swarm (digest) */
	REG_ACT_RELAY, /* pass through to url (follow_redirects for GET, not for HEAD) */
	REG_ACT_HEAD,  /* a sha256 blob HEAD: authorized at url like REG_ACT_P2P, answered with the headers
			* that blob's GET gets from df (never the upstream's redirect to storage) */
};
struct registry_plan {
	enum registry_action act;
	int status;                /* REG_ACT_ERROR */
	const char *code, *msg;    /* REG_ACT_ERROR: static strings, never request data */
	enum registry_kind kind;   /* of the path (counters) */
	int follow_redirects;      /* REG_ACT_RELAY */
	struct digest_spec digest; /* REG_ACT_P2P, REG_ACT_HEAD */
	const struct registry_upstream *up;
	char url[2048]; /* the upstream URL: the upstream's, the path, the query without ns */
};

/* Plans a request with head h (method and headers), target path and query. u: the upstream to use,
 * or NULL to pick one of ups[0..nups) by containerd's ?ns= (the first when there is none; only GET
 * and HEAD are considered then). Always fills out and returns out->act. */
enum registry_action registry_plan_request(const struct registry_upstream *ups, int nups,
					   const struct registry_upstream *u, const struct http_head *h,
					   struct slice path, struct slice query, struct registry_plan *out);

#endif
