/* URLs for the client and the swarm: parse an absolute http(s) URL, resolve a redirect's Location
 * against it, normalize it for task ids (sorted query, named parameters dropped), match no_proxy. */
#include <errno.h>
#include <string.h>

#include "net/http_parse.h"

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int host_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
}

static int url_fail(const char **err, const char *why)
{
	if (err)
		*err = why;
	return DF_ERR;
}

/* Length of "scheme:" at s (without the colon), or 0 when s does not start with a scheme. */
static size_t scheme_len(const char *s, size_t n)
{
	if (!n || !is_alpha(s[0]))
		return 0;
	size_t i = 1;
	while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	return i < n && s[i] == ':' ? i : 0;
}

int http_url_parse(const char *s, size_t n, struct http_url *u, const char **err)
{
	memset(u, 0, sizeof *u);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return url_fail(err, "space or control character in URL");
	const char *hash = memchr(s, '#', n);
	if (hash)
		n = (size_t)(hash - s);
	size_t sl = scheme_len(s, n);
	if (!sl || n - sl < 3 || memcmp(s + sl, DF_LIT("://")) != 0)
		return url_fail(err, "not an absolute URL");
	u->scheme = (struct slice){s, sl};
	if (slice_caseeq(u->scheme, "https"))
		u->tls = 1;
	else if (!slice_caseeq(u->scheme, "http"))
		return url_fail(err, "unsupported URL scheme (only http and https)");
	size_t a = sl + 3, e = a;
	while (e < n && s[e] != '/' && s[e] != '?')
		e++;
	/* userinfo: up to the last '@' of the authority */
	for (size_t i = e; i > a; i--) {
		if (s[i - 1] == '@') {
			u->userinfo = (struct slice){s + a, i - 1 - a};
			a = i;
			break;
		}
	}
	size_t h = a, hend;
	if (h < e && s[h] == '[') {
		const char *rb = memchr(s + h, ']', e - h);
		if (!rb)
			return url_fail(err, "unterminated IPv6 address in URL");
		hend = (size_t)(rb - s);
		for (size_t i = h + 1; i < hend; i++)
			if (!(is_digit(s[i]) || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f') || s[i] == ':' ||
			      s[i] == '.'))
				return url_fail(err, "bad IPv6 address in URL");
		u->host = (struct slice){s + h + 1, hend - h - 1};
		u->ipv6 = 1;
		hend++;
	} else {
		hend = h;
		while (hend < e && host_char(s[hend]))
			hend++;
		u->host = (struct slice){s + h, hend - h};
	}
	if (!u->host.n)
		return url_fail(err, "no host in URL");
	u->port = u->tls ? 443 : 80;
	if (hend < e) {
		if (s[hend] != ':')
			return url_fail(err, "bad host in URL");
		unsigned long p = 0;
		size_t i = hend + 1;
		if (e - i > 5)
			return url_fail(err, "bad port in URL");
		for (; i < e; i++) {
			if (!is_digit(s[i]))
				return url_fail(err, "bad port in URL");
			p = p * 10 + (unsigned long)(s[i] - '0');
		}
		if (e > hend + 1) {
			if (p == 0 || p > 65535)
				return url_fail(err, "bad port in URL");
			u->port = (uint16_t)p;
			u->port_explicit = 1;
		}
	}
	const char *q = memchr(s + e, '?', n - e);
	size_t pend = q ? (size_t)(q - s) : n;
	u->path = (struct slice){s + e, pend - e};
	u->query = q ? (struct slice){q + 1, n - pend - 1} : (struct slice){s + n, 0};
	return DF_OK;
}

/* A bounded string builder: appends until cap, remembers overflow. */
struct sb {
	char *p;
	size_t n, cap;
	int over;
};

static void sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->over || n >= b->cap - b->n) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void sb_lower(struct sb *b, struct slice s)
{
	size_t at = b->n;
	sb_put(b, s.p, s.n);
	if (!b->over)
		for (size_t i = at; i < b->n; i++)
			if (b->p[i] >= 'A' && b->p[i] <= 'Z')
				b->p[i] = (char)(b->p[i] | 0x20);
}

/* "scheme://host[:port]" of a parsed URL, without userinfo; lower_host for the normalized form. */
static void put_origin(struct sb *b, const struct http_url *u, int lower, int keep_default_port)
{
	if (lower)
		sb_lower(b, u->scheme);
	else
		sb_put(b, u->scheme.p, u->scheme.n);
	sb_put(b, DF_LIT("://"));
	if (u->ipv6)
		sb_put(b, DF_LIT("["));
	if (lower)
		sb_lower(b, u->host);
	else
		sb_put(b, u->host.p, u->host.n);
	if (u->ipv6)
		sb_put(b, DF_LIT("]"));
	if (u->port_explicit && (keep_default_port || u->port != (u->tls ? 443 : 80))) {
		char port[8];
		size_t k = sizeof port;
		unsigned p = u->port;
		do {
			port[--k] = (char)('0' + p % 10);
			p /= 10;
		} while (p);
		port[--k] = ':';
		sb_put(b, port + k, sizeof port - k);
	}
}

/* RFC 3986 5.2.4 remove_dot_segments on p[0..n) in place (it only shrinks): "." and ".." segments
 * go, ".." taking the segment before it; a path that ends in one keeps its trailing '/'. Returns
 * the new length. An object store takes "/a/../f" as a key of its own: a redirect to "../f" must
 * ask for "/f", as browsers and curl do. */
static size_t remove_dots(char *p, size_t n)
{
	size_t in = 0, o = 0;
	while (in < n) {
		size_t e = in + 1; /* the segment is p[in] == '/' up to the next '/' */
		while (e < n && p[e] != '/')
			e++;
		size_t len = e - in - 1;
		const char *seg = p + in + 1;
		int dot = len == 1 && seg[0] == '.', dotdot = len == 2 && seg[0] == '.' && seg[1] == '.';
		if (dot || dotdot) {
			if (dotdot)
				while (o > 0 && p[--o] != '/')
					;
			if (e == n) /* the last segment: the path ends with a '/' */
				p[o++] = '/';
		} else {
			memmove(p + o, p + in, e - in);
			o += e - in;
		}
		in = e;
	}
	return o;
}

int http_url_resolve(const char *base, struct slice loc, char *out, size_t cap)
{
	struct http_url u;
	if (!cap || http_url_parse(base, strlen(base), &u, NULL) != DF_OK)
		return DF_ERR;
	struct sb b = {out, 0, cap, 0};
	out[0] = 0;
	while (loc.n && (loc.p[0] == ' ' || loc.p[0] == '\t'))
		loc.p++, loc.n--;
	while (loc.n && (loc.p[loc.n - 1] == ' ' || loc.p[loc.n - 1] == '\t'))
		loc.n--;
	const char *hash = loc.n ? memchr(loc.p, '#', loc.n) : NULL;
	if (hash) /* a fragment is the client's own: never sent */
		loc.n = (size_t)(hash - loc.p);
	if (!loc.n) { /* the same resource again (RFC 3986 5.2.2: the base's path and query) */
		put_origin(&b, &u, 0, 1);
		sb_put(&b, u.path.n ? u.path.p : "/", u.path.n ? u.path.n : 1);
		if (u.query.n) {
			sb_put(&b, DF_LIT("?"));
			sb_put(&b, u.query.p, u.query.n);
		}
	} else if (scheme_len(loc.p, loc.n)) {
		sb_put(&b, loc.p, loc.n);
	} else if (loc.n >= 2 && loc.p[0] == '/' && loc.p[1] == '/') {
		sb_put(&b, u.scheme.p, u.scheme.n);
		sb_put(&b, DF_LIT(":"));
		sb_put(&b, loc.p, loc.n);
	} else {
		put_origin(&b, &u, 0, 1);
		if (loc.n && loc.p[0] == '/') {
			sb_put(&b, loc.p, loc.n);
		} else if (loc.n && loc.p[0] == '?') {
			sb_put(&b, u.path.n ? u.path.p : "/", u.path.n ? u.path.n : 1);
			sb_put(&b, loc.p, loc.n);
		} else {
			/* relative: replace the last segment of the base path */
			size_t dir = u.path.n;
			while (dir && u.path.p[dir - 1] != '/')
				dir--;
			if (dir)
				sb_put(&b, u.path.p, dir);
			else
				sb_put(&b, DF_LIT("/"));
			sb_put(&b, loc.p, loc.n);
		}
	}
	if (b.over)
		return DF_ERR;
	/* the path of what was put together, without its dot segments */
	struct http_url r;
	if (http_url_parse(out, b.n, &r, NULL) != DF_OK || !r.path.n)
		return (int)b.n; /* the caller's parse names what is wrong with it */
	size_t at = (size_t)(r.path.p - out), was = r.path.n, now = remove_dots(out + at, was);
	memmove(out + at + now, out + at + was, b.n - at - was + 1);
	return (int)(b.n - (was - now));
}

#define MAX_QUERY_PARAMS HTTP_URL_MAX_PARAMS

static int name_dropped(struct slice param, const char *drop)
{
	if (!drop)
		return 0;
	const char *eq = memchr(param.p, '=', param.n);
	struct slice name = {param.p, eq ? (size_t)(eq - param.p) : param.n};
	for (const char *d = drop; *d;) {
		while (*d == ',' || *d == ' ')
			d++;
		const char *e = d;
		while (*e && *e != ',' && *e != ' ')
			e++;
		if (e > d && name.n == (size_t)(e - d) && memcmp(name.p, d, name.n) == 0)
			return 1;
		d = e;
	}
	return 0;
}

static int slice_cmp(struct slice a, struct slice b)
{
	int c = memcmp(a.p, b.p, DF_MIN(a.n, b.n));
	if (c)
		return c;
	return a.n < b.n ? -1 : a.n > b.n;
}

/* Query parameters whose values are secrets wherever they appear: the signatures and credentials
 * of presigned URLs (S3, GCS, Azure SAS, Alibaba OSS, CloudFront) and tokens passed in URLs. */
static const char *const secret_params[] = {
	"x-amz-signature",
	"x-amz-credential",
	"x-amz-security-token",
	"x-goog-signature",
	"x-goog-credential",
	"x-oss-signature",
	"x-oss-credential",
	"x-oss-security-token",
	"signature",
	"sig",
	"token",
	"access_token",
	"id_token",
	"refresh_token",
	"auth",
	"api_key",
	"apikey",
	"key",
	"password",
	"passwd",
	"secret",
	"client_secret",
	"policy",
};

static int secret_param(struct slice param)
{
	const char *eq = memchr(param.p, '=', param.n);
	struct slice name = {param.p, eq ? (size_t)(eq - param.p) : param.n};
	for (size_t i = 0; i < sizeof secret_params / sizeof secret_params[0]; i++)
		if (slice_caseeq(name, secret_params[i]))
			return 1;
	return 0;
}

/* The normalized form; with secrets, the well-known secret parameters are dropped too. */
static int normalize(const char *url, size_t n, const char *drop, int secrets, char *out, size_t cap)
{
	struct http_url u;
	errno = EINVAL;
	if (!cap || http_url_parse(url, n, &u, NULL) != DF_OK)
		return DF_ERR;
	struct slice params[MAX_QUERY_PARAMS];
	size_t np = 0;
	for (size_t i = 0; i < u.query.n;) {
		size_t s = i;
		while (i < u.query.n && u.query.p[i] != '&')
			i++;
		struct slice p = {u.query.p + s, i - s};
		i++;
		if (!p.n || name_dropped(p, drop) || (secrets && secret_param(p)))
			continue;
		if (np == MAX_QUERY_PARAMS) {
			errno = E2BIG;
			return DF_ERR;
		}
		/* insertion sort: small n, and stable so equal parameters keep their order */
		size_t k = np++;
		while (k && slice_cmp(params[k - 1], p) > 0) {
			params[k] = params[k - 1];
			k--;
		}
		params[k] = p;
	}
	struct sb b = {out, 0, cap, 0};
	out[0] = 0;
	put_origin(&b, &u, 1, 0);
	if (u.path.n)
		sb_put(&b, u.path.p, u.path.n);
	else
		sb_put(&b, DF_LIT("/"));
	for (size_t k = 0; k < np; k++) {
		sb_put(&b, k ? "&" : DF_LIT("?"));
		sb_put(&b, params[k].p, params[k].n);
	}
	return b.over ? DF_ERR : (int)b.n;
}

#define REDACTED "REDACTED"

int http_url_redact(const char *url, size_t n, const char *drop, char *out, size_t cap)
{
	struct http_url u;
	struct sb b = {out, 0, cap, 0};
	if (!cap)
		return DF_ERR;
	out[0] = 0;
	if (http_url_parse(url, n, &u, NULL) != DF_OK) {
		/* not a URL df fetches: show it up to where a secret could start (or a control byte) */
		size_t k = 0;
		while (k < n && !memchr("?@#", url[k], 3) && (unsigned char)url[k] > ' ' && url[k] != 0x7f)
			k++;
		sb_put(&b, url, k);
		if (k < n)
			sb_put(&b, "[" REDACTED "]", sizeof REDACTED + 1);
		return b.over ? DF_ERR : (int)b.n;
	}
	const char *hash = memchr(url, '#', n);
	const char *end = hash ? hash : url + n, *p = url;
	if (u.userinfo.n) {
		sb_put(&b, url, (size_t)(u.userinfo.p - url));
		sb_put(&b, REDACTED, sizeof REDACTED - 1);
		p = u.userinfo.p + u.userinfo.n;
	}
	if (!u.query.n) {
		sb_put(&b, p, (size_t)(end - p));
		return b.over ? DF_ERR : (int)b.n;
	}
	sb_put(&b, p, (size_t)(u.query.p - p));
	for (size_t i = 0;; i++) { /* every parameter, empty ones included ("a&&b") */
		size_t st = i;
		while (i < u.query.n && u.query.p[i] != '&')
			i++;
		struct slice prm = {u.query.p + st, i - st};
		if (st)
			sb_put(&b, DF_LIT("&"));
		if (prm.n && (name_dropped(prm, drop) || secret_param(prm))) {
			const char *eq = memchr(prm.p, '=', prm.n);
			sb_put(&b, prm.p, eq ? (size_t)(eq - prm.p) + 1 : prm.n);
			if (eq)
				sb_put(&b, REDACTED, sizeof REDACTED - 1);
		} else {
			sb_put(&b, prm.p, prm.n);
		}
		if (i >= u.query.n)
			break;
	}
	return b.over ? DF_ERR : (int)b.n;
}

int http_url_normalize(const char *url, size_t n, const char *drop, char *out, size_t cap)
{
	return normalize(url, n, drop, 0, out, cap);
}

int http_url_anonymous(const char *url, size_t n, const char *drop, char *out, size_t cap)
{
	return normalize(url, n, drop, 1, out, cap);
}

int http_no_proxy_match(const char *list, struct slice host)
{
	if (!list || !host.n)
		return 0;
	if (host.p[host.n - 1] == '.') /* "example.com." is "example.com" */
		host.n--;
	for (const char *d = list; *d;) {
		while (*d == ',' || *d == ' ' || *d == '\t')
			d++;
		const char *e = d;
		while (*e && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		struct slice ent = {d, (size_t)(e - d)};
		d = e;
		if (!ent.n)
			continue;
		if (ent.n == 1 && ent.p[0] == '*')
			return 1;
		if (ent.p[0] == '[') { /* [::1] or [::1]:port */
			const char *rb = memchr(ent.p, ']', ent.n);
			if (!rb)
				continue;
			ent = (struct slice){ent.p + 1, (size_t)(rb - ent.p) - 1};
		} else {
			/* a single colon is a port; several mean a bare IPv6 address */
			const char *c = memchr(ent.p, ':', ent.n);
			if (c && !memchr(c + 1, ':', ent.n - (size_t)(c - ent.p) - 1))
				ent.n = (size_t)(c - ent.p);
		}
		if (ent.n && ent.p[0] == '.')
			ent.p++, ent.n--;
		if (ent.n && ent.p[ent.n - 1] == '.')
			ent.n--;
		if (!ent.n)
			continue;
		if (host.n == ent.n && strncasecmp(host.p, ent.p, ent.n) == 0)
			return 1;
		if (host.n > ent.n && host.p[host.n - ent.n - 1] == '.' &&
		    strncasecmp(host.p + host.n - ent.n, ent.p, ent.n) == 0)
			return 1;
	}
	return 0;
}
