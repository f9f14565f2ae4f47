/* The registry mirror's pure parsers: request paths of the distribution API, ?ns=, upstream specs
 * and the header lines a proxy forwards. Kept apart from the I/O so they can be fuzzed. */
#include "swarm/registry_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A repository name (distribution spec): components of [a-z0-9]+ joined by '.', '_', '__' or runs
 * of '-', separated by '/'; at most 255 bytes. */
int registry_name_valid(struct slice s)
{
	if (s.n == 0 || s.n > 255)
		return 0;
	size_t i = 0;
	for (;;) {
		/* one component */
		if (i >= s.n || !lower_alnum(s.p[i]))
			return 0;
		while (i < s.n && lower_alnum(s.p[i]))
			i++;
		while (i < s.n && s.p[i] != '/') {
			size_t sep = i;
			if (s.p[i] == '.' || s.p[i] == '_') {
				i++;
				if (s.p[sep] == '_' && i < s.n && s.p[i] == '_')
					i++;
			} else if (s.p[i] == '-') {
				while (i < s.n && s.p[i] == '-')
					i++;
			} else {
				return 0;
			}
			if (i >= s.n || !lower_alnum(s.p[i]))
				return 0;
			while (i < s.n && lower_alnum(s.p[i]))
				i++;
		}
		if (i == s.n)
			return 1;
		i++; /* '/' */
	}
}

/* A tag: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. */
int registry_tag_valid(struct slice s)
{
	if (s.n == 0 || s.n > 128)
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
			 (i > 0 && (c == '.' || c == '-'));
		if (!ok)
			return 0;
	}
	return 1;
}

/* A digest: ALGO:ENCODED, algo [a-z0-9]+ with [+._-] separators, encoded [a-zA-Z0-9=_-]+. */
static int valid_digest(struct slice s)
{
	const char *colon = memchr(s.p, ':', s.n);
	if (!colon || colon == s.p || s.n > 200)
		return 0;
	size_t alen = (size_t)(colon - s.p);
	for (size_t i = 0; i < alen; i++) {
		char c = s.p[i];
		if (!lower_alnum(c) && !((c == '+' || c == '.' || c == '_' || c == '-') && i > 0 && i + 1 < alen))
			return 0;
	}
	size_t elen = s.n - alen - 1;
	if (elen == 0)
		return 0;
	for (size_t i = alen + 1; i < s.n; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '=' ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int registry_digest_sha256(struct slice s)
{
	if (s.n != 7 + 64 || memcmp(s.p, DF_LIT("sha256:")) != 0)
		return 0;
	for (size_t i = 7; i < s.n; i++)
		if (!((s.p[i] >= '0' && s.p[i] <= '9') || (s.p[i] >= 'a' && s.p[i] <= 'f')))
			return 0;
	return 1;
}

enum registry_kind registry_parse_path(struct slice path, struct registry_path *out)
{
	memset(out, 0, sizeof *out);
	out->kind = REG_NONE;
	if (path.n < 3 || memcmp(path.p, DF_LIT("/v2")) != 0)
		return REG_NONE;
	if (path.n == 3 || (path.n == 4 && path.p[3] == '/')) {
		out->kind = REG_BASE;
		return REG_BASE;
	}
	if (path.p[3] != '/')
		return REG_NONE; /* "/v2x" */
	struct slice rest = {path.p + 4, path.n - 4};
	/* REF is the last component, the one before it says what it is, the rest is the name */
	const char *last = NULL, *prev = NULL;
	for (size_t i = 0; i < rest.n; i++)
		if (rest.p[i] == '/') {
			prev = last;
			last = rest.p + i;
		}
	out->kind = REG_OTHER;
	if (!last || !prev)
		return REG_OTHER;
	struct slice ref = {last + 1, (size_t)(rest.p + rest.n - last - 1)};
	struct slice word = {prev + 1, (size_t)(last - prev - 1)};
	struct slice name = {rest.p, (size_t)(prev - rest.p)};
	enum registry_kind k = slice_eq(word, "manifests") ? REG_MANIFEST
			       : slice_eq(word, "blobs")   ? REG_BLOB
							   : REG_OTHER;
	if (k == REG_OTHER)
		return REG_OTHER;
	if (k == REG_BLOB && slice_eq(ref, "uploads"))
		return REG_OTHER; /* "/v2/NAME/blobs/uploads/" is a push */
	if (!registry_name_valid(name) ||
	    !(k == REG_BLOB ? valid_digest(ref) : registry_tag_valid(ref) || valid_digest(ref))) {
		out->kind = REG_NONE;
		return REG_NONE;
	}
	out->kind = k;
	out->name = name;
	out->ref = ref;
	out->sha256 = k == REG_BLOB && registry_digest_sha256(ref);
	return k;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Calls back for each "key[=value]" parameter of a query; stops when fn returns non-zero. */
static int each_param(struct slice q, int (*fn)(struct slice key, struct slice val, struct slice whole, void *ctx),
		      void *ctx)
{
	size_t i = 0;
	while (i < q.n) {
		size_t j = i;
		while (j < q.n && q.p[j] != '&')
			j++;
		struct slice whole = {q.p + i, j - i};
		const char *eq = memchr(whole.p, '=', whole.n);
		struct slice key = {whole.p, eq ? (size_t)(eq - whole.p) : whole.n};
		struct slice val =
			eq ? (struct slice){eq + 1, whole.n - key.n - 1} : (struct slice){whole.p + whole.n, 0};
		if (whole.n) {
			int r = fn(key, val, whole, ctx);
			if (r)
				return r;
		}
		i = j + 1;
	}
	return 0;
}

struct ns_find {
	char *out;
	size_t cap;
	int rc;
};

static int ns_param(struct slice key, struct slice val, struct slice whole, void *ctx)
{
	(void)whole;
	struct ns_find *f = ctx;
	if (!slice_eq(key, "ns"))
		return 0;
	size_t o = 0;
	f->rc = DF_ERR;
	for (size_t i = 0; i < val.n; i++) {
		char c = val.p[i];
		if (c == '%') {
			int h = i + 2 < val.n ? hexval(val.p[i + 1]) : -1,
			    l = i + 2 < val.n ? hexval(val.p[i + 2]) : -1;
			if (h < 0 || l < 0)
				return 1;
			c = (char)(h * 16 + l);
			i += 2;
		}
		/* a registry host[:port]: no controls, no blanks, nothing that would leave a URL's authority */
		if ((unsigned char)c <= ' ' || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '@' || c == '\\' ||
		    o + 1 >= f->cap)
			return 1;
		f->out[o++] = c;
	}
	if (o == 0)
		return 1;
	f->out[o] = 0;
	f->rc = DF_OK;
	return 1;
}

int registry_query_ns(struct slice query, char *out, size_t cap)
{
	struct ns_find f = {out, cap, DF_AGAIN};
	if (cap)
		out[0] = 0;
	each_param(query, ns_param, &f);
	return f.rc;
}

struct strip {
	char *out;
	size_t cap, len;
	int overflow;
};

static int strip_param(struct slice key, struct slice val, struct slice whole, void *ctx)
{
	(void)val;
	struct strip *s = ctx;
	if (slice_eq(key, "ns"))
		return 0;
	size_t need = whole.n + (s->len ? 1 : 0);
	if (s->len + need + 1 > s->cap) {
		s->overflow = 1;
		return 1;
	}
	if (s->len)
		s->out[s->len++] = '&';
	memcpy(s->out + s->len, whole.p, whole.n);
	s->len += whole.n;
	return 0;
}

int registry_query_strip_ns(struct slice query, char *out, size_t cap)
{
	struct strip s = {out, cap, 0, 0};
	if (!cap)
		return DF_ERR;
	each_param(query, strip_param, &s);
	if (s.overflow)
		return DF_ERR;
	out[s.len] = 0;
	return (int)s.len;
}

int registry_upstream_parse(const char *spec, size_t n, struct registry_upstream *u, const char **err)
{
	struct http_url url;
	memset(u, 0, sizeof *u);
	const char *eq = memchr(spec, '=', n);
	const char *us = spec;
	size_t un = n;
	if (eq && !memchr(spec, '/', (size_t)(eq - spec))) {
		size_t nn = (size_t)(eq - spec);
		if (nn == 0 || nn >= sizeof u->name) {
			*err = "empty or long name before '='";
			return DF_ERR;
		}
		memcpy(u->name, spec, nn);
		u->name[nn] = 0;
		us = eq + 1;
		un = n - nn - 1;
	}
	if (http_url_parse(us, un, &url, err) != DF_OK)
		return DF_ERR;
	if (url.userinfo.n || url.query.n) {
		*err = "credentials or a query in a registry URL";
		return DF_ERR;
	}
	if (url.path.n > 1 || (url.path.n == 1 && url.path.p[0] != '/')) {
		*err = "a registry URL has no path (df adds /v2/...)";
		return DF_ERR;
	}
	const char *lb = url.ipv6 ? "[" : "", *rb = url.ipv6 ? "]" : "";
	char hostport[280];
	if (url.port_explicit)
		snprintf(hostport, sizeof hostport, "%s%.*s%s:%u", lb, (int)url.host.n, url.host.p, rb, url.port);
	else
		snprintf(hostport, sizeof hostport, "%s%.*s%s", lb, (int)url.host.n, url.host.p, rb);
	for (char *p = hostport; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	int w = snprintf(u->url, sizeof u->url, "%s://%s", url.tls ? "https" : "http", hostport);
	if (w < 0 || (size_t)w >= sizeof u->url) {
		*err = "URL too long";
		return DF_ERR;
	}
	if (!u->name[0]) {
		/* Docker Hub: images are named docker.io/..., the API lives at registry-1.docker.io */
		const char *nm = strcmp(hostport, "registry-1.docker.io") == 0 ? "docker.io" : hostport;
		snprintf(u->name, sizeof u->name, "%.*s", (int)sizeof u->name - 1, nm);
	}
	return DF_OK;
}

void registry_upstream_image_host(const struct registry_upstream *u, char *out, size_t cap)
{
	const char *h = u->name;
	if (!strchr(h, '.') && !strchr(h, ':') && strcmp(h, "localhost") != 0) {
		const char *hp = strstr(u->url, "://");
		h = hp ? hp + 3 : u->url;
		if (strcmp(h, "registry-1.docker.io") == 0)
			h = "docker.io";
	}
	if (cap)
		snprintf(out, cap, "%s", h);
}

int registry_upstream_match(const struct registry_upstream *u, const char *ns)
{
	if (strcasecmp(u->name, ns) == 0)
		return 1;
	const char *hp = strstr(u->url, "://");
	return hp && strcasecmp(hp + 3, ns) == 0;
}

/* Whether header name is hop-by-hop (RFC 9110 7.6.1) or one the proxy's own server or client sets. */
static int hop_by_hop(struct slice name)
{
	static const char *const hop[] = {"connection",
					  "keep-alive",
					  "proxy-connection",
					  "proxy-authorization",
					  "proxy-authenticate",
					  "te",
					  "trailer",
					  "transfer-encoding",
					  "upgrade",
					  "content-length",
					  NULL};
	for (int i = 0; hop[i]; i++)
		if (slice_caseeq(name, hop[i]))
			return 1;
	return 0;
}

/* Whether the Connection header(s) of the message list name as a hop-by-hop header. */
static int named_by_connection(const struct http_header *hdrs, size_t n, struct slice name)
{
	char tok[64];
	if (slice_copy(name, tok, sizeof tok) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (slice_caseeq(hdrs[i].name, "connection") && http_token_in_list(hdrs[i].value, tok))
			return 1;
	return 0;
}

static int put_line(char *out, size_t cap, size_t *len, const struct http_header *h)
{
	size_t need = h->name.n + 2 + h->value.n + 2;
	if (*len + need + 1 > cap)
		return DF_ERR;
	memcpy(out + *len, h->name.p, h->name.n);
	*len += h->name.n;
	memcpy(out + *len, DF_LIT(": "));
	*len += 2;
	memcpy(out + *len, h->value.p, h->value.n);
	*len += h->value.n;
	memcpy(out + *len, DF_LIT("\r\n"));
	*len += 2;
	out[*len] = 0;
	return DF_OK;
}

int registry_request_headers(const struct http_head *h, int only_credentials, char *out, size_t cap)
{
	size_t len = 0;
	if (!cap)
		return DF_ERR;
	out[0] = 0;
	for (size_t i = 0; i < h->nheaders; i++) {
		const struct http_header *hd = &h->headers[i];
		if (only_credentials) {
			if (!slice_caseeq(hd->name, "authorization") && !slice_caseeq(hd->name, "cookie"))
				continue;
		} else if (hop_by_hop(hd->name) || slice_caseeq(hd->name, "host") || slice_caseeq(hd->name, "expect") ||
			   named_by_connection(h->headers, h->nheaders, hd->name)) {
			continue;
		}
		if (memchr(hd->value.p, '\r', hd->value.n) || memchr(hd->value.p, '\n', hd->value.n))
			continue; /* the parser never gives these; never let one split a line upstream */
		if (put_line(out, cap, &len, hd) != DF_OK)
			return DF_ERR;
	}
	return (int)len;
}

size_t registry_response_headers(const struct http_header *hdrs, size_t n, char *out, size_t cap)
{
	size_t len = 0;
	if (cap)
		out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		const struct http_header *hd = &hdrs[i];
		if (hop_by_hop(hd->name) || slice_caseeq(hd->name, "date") || slice_caseeq(hd->name, "server") ||
		    named_by_connection(hdrs, n, hd->name))
			continue;
		if (memchr(hd->value.p, '\r', hd->value.n) || memchr(hd->value.p, '\n', hd->value.n))
			continue;
		put_line(out, cap, &len, hd); /* a line that does not fit is left out */
	}
	return len;
}

static enum registry_action plan_error(struct registry_plan *p, int status, const char *code, const char *msg)
{
	p->act = REG_ACT_ERROR;
	p->status = status;
	p->code = code;
	p->msg = msg;
	return p->act;
}

enum registry_action registry_plan_request(const struct registry_upstream *ups, int nups,
					   const struct registry_upstream *u, const struct http_head *h,
					   struct slice path, struct slice query, struct registry_plan *out)
{
	struct registry_plan *p = out;
	memset(p, 0, sizeof *p);
	int is_get = slice_eq(h->method, "GET"), is_head = slice_eq(h->method, "HEAD");
	if (!u) { /* the mirror's own route: pick the upstream by ?ns= */
		char ns[256];
		if (!is_get && !is_head)
			return plan_error(p, 405, "UNSUPPORTED", "a pull-through mirror: only GET and HEAD");
		int rc = registry_query_ns(query, ns, sizeof ns);
		if (rc == DF_ERR)
			return plan_error(p, 400, "UNSUPPORTED", "malformed ns parameter");
		if (nups <= 0)
			return plan_error(p, 404, "NAME_UNKNOWN", "no upstream registry configured (--registry)");
		if (rc == DF_AGAIN)
			u = &ups[0];
		for (int i = 0; !u && i < nups; i++)
			if (registry_upstream_match(&ups[i], ns))
				u = &ups[i];
		/* a 404 sends containerd on to the next host of its hosts.toml: the registry itself */
		if (!u)
			return plan_error(p, 404, "NAME_UNKNOWN",
					  "the registry named by ns is not one this mirror serves");
	}
	p->up = u;
	struct registry_path rp;
	p->kind = registry_parse_path(path, &rp);
	if (p->kind == REG_NONE)
		return plan_error(p, 404, "NAME_INVALID", "not a registry API path df proxy serves");
	if (!is_get && !is_head)
		return plan_error(p, 405, "UNSUPPORTED", "a pull-through mirror: only GET and HEAD");
	char q[1024];
	int ql = registry_query_strip_ns(query, q, sizeof q);
	int n = ql < 0 ? -1
		       : snprintf(p->url, sizeof p->url, "%s%.*s%s%s", u->url, (int)path.n, path.p, ql > 0 ? "?" : "",
				  ql > 0 ? q : "");
	if (n < 0 || (size_t)n >= sizeof p->url)
		return plan_error(p, 414, "UNSUPPORTED", "request target too long");
	if (rp.kind == REG_BLOB && rp.sha256 && digest_spec_parse(rp.ref.p, rp.ref.n, &p->digest) == DF_OK) {
		/* a blob HEAD too: a client told to go to storage by the upstream's 307 would fetch there */
		p->act = is_get ? REG_ACT_P2P : REG_ACT_HEAD;
		return p->act;
	}
	/* any other HEAD that the upstream answers with a redirect goes back as it is: presigned storage
	 * URLs are signed for GET, so following with HEAD would fail where the client's own GET works */
	p->follow_redirects = is_get;
	p->act = REG_ACT_RELAY;
	return p->act;
}
