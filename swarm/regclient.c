/* The registry API client (swarm/regclient.h): one GET at a time on the loop, the ping, the scheme
 * fallback and the token flow around it. Credentials and tokens are kept in memory and never
 * logged; messages name the registry and the status only. */
#include "swarm/regclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/df.h"
#include "core/log.h"
#include "swarm/image_ref.h"
#include "swarm/regauth.h"

#define TOKEN_ANSWER_MAX (1u << 20)
#define TOKEN_TOKS 256

struct regclient {
	struct regclient_cfg cfg;
	char api[256], repo[256], creds[1024];
	char base[300];  /* "" until a ping was answered */
	char auth[8192]; /* the Authorization line in use, or "" */
	int bearer;      /* auth came from a token server (a 401 may ask for a new one) */
};

/* One GET, waited for. */
struct sync {
	int done, rc, status;
	char msg[256], ctype[128], digest[80];
	struct regauth_challenge ch;
	int ch_rc; /* what regauth_challenge_parse said: DF_OK, DF_AGAIN none, DF_ERR */
	char *body;
	size_t len, cap, max;
	int over;
};

struct regclient *regclient_new(const struct regclient_cfg *cfg)
{
	struct regclient *rc = calloc(1, sizeof *rc);
	if (!rc)
		return NULL;
	rc->cfg = *cfg;
	snprintf(rc->api, sizeof rc->api, "%s", cfg->api);
	snprintf(rc->repo, sizeof rc->repo, "%s", cfg->repo);
	snprintf(rc->creds, sizeof rc->creds, "%s", cfg->creds ? cfg->creds : "");
	rc->cfg.api = rc->api;
	rc->cfg.repo = rc->repo;
	rc->cfg.creds = rc->creds;
	return rc;
}

void regclient_free(struct regclient *rc)
{
	if (!rc)
		return;
	/* the credentials and the token leave no copy in freed memory */
	explicit_bzero(rc->creds, sizeof rc->creds);
	explicit_bzero(rc->auth, sizeof rc->auth);
	free(rc);
}

const char *regclient_base(const struct regclient *rc)
{
	return rc->base;
}

const char *regclient_auth(const struct regclient *rc)
{
	return rc->auth;
}

static int on_response(struct http_fetch *f, const struct http_resp *r, void *ctx)
{
	(void)f;
	struct sync *s = ctx;
	s->status = r->status;
	struct slice ct = http_header_get(r->headers, r->nheaders, "content-type");
	struct slice dg = http_header_get(r->headers, r->nheaders, "docker-content-digest");
	if (slice_copy(ct, s->ctype, sizeof s->ctype) != 0)
		s->ctype[0] = 0;
	if (slice_copy(dg, s->digest, sizeof s->digest) != 0)
		s->digest[0] = 0;
	s->ch_rc = DF_AGAIN;
	for (size_t i = 0; i < r->nheaders; i++)
		if (slice_caseeq(r->headers[i].name, "www-authenticate")) {
			int c = regauth_challenge_parse(r->headers[i].value, &s->ch);
			if (c == DF_OK || (c == DF_ERR && s->ch_rc != DF_OK))
				s->ch_rc = c;
		}
	return DF_OK;
}

static int on_body(struct http_fetch *f, const char *data, size_t len, void *ctx)
{
	(void)f;
	struct sync *s = ctx;
	if (s->len + len > s->max) {
		s->over = 1;
		return DF_ERR;
	}
	if (s->len + len + 1 > s->cap) {
		size_t nc = DF_MAX(s->cap * 2, s->len + len + 1);
		char *nb = realloc(s->body, nc);
		if (!nb)
			return DF_ERR;
		s->body = nb;
		s->cap = nc;
	}
	memcpy(s->body + s->len, data, len);
	s->len += len;
	s->body[s->len] = 0;
	return DF_OK;
}

static void on_done(struct http_fetch *f, int rc, const char *msg, void *ctx)
{
	(void)f;
	struct sync *s = ctx;
	s->done = 1;
	s->rc = rc;
	snprintf(s->msg, sizeof s->msg, "%s", msg ? msg : "");
}

/* GETs url with headers (NULL: none), waiting for the whole answer. DF_OK when it was answered (any
 * status; s->status), DF_ERR when not (s->msg). */
static int get(struct regclient *rc, const char *url, const char *headers, size_t max, struct sync *s)
{
	char err[256];
	memset(s, 0, sizeof *s);
	s->max = max;
	struct http_request rq = {
		.method = "GET",
		.url = url,
		.headers = headers,
		.follow_redirects = 1,
		.what = "registry",
		.connect_timeout = rc->cfg.timeout,
		.first_byte_timeout = rc->cfg.timeout,
		.idle_timeout = rc->cfg.timeout,
		.on_response = on_response,
		.on_body = on_body,
		.on_done = on_done,
		.ctx = s,
	};
	if (!http_client_request(rc->cfg.client, &rq, err, sizeof err)) {
		snprintf(s->msg, sizeof s->msg, "%s", err);
		return DF_ERR;
	}
	while (!s->done)
		ev_run(rc->cfg.loop, EVRUN_ONCE);
	if (s->over) {
		snprintf(s->msg, sizeof s->msg, "%s answered more than %zu bytes", url, max);
		return DF_ERR;
	}
	if (!s->status)
		return DF_ERR;
	if (s->rc != DF_OK && s->status >= 200 && s->status <= 299)
		return DF_ERR; /* the body was cut */
	return DF_OK;
}

static void sync_free(struct sync *s)
{
	free(s->body);
	s->body = NULL;
}

/* "%XX" for what a query value cannot carry as it is. */
static void urlenc(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *in && o + 4 < cap; in++) {
		unsigned char c = (unsigned char)*in;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~:/", c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = 0;
}

/* Sets rc->auth for challenge ch. DF_OK or DF_ERR with err. */
static int authenticate(struct regclient *rc, const struct regauth_challenge *ch, char *err, size_t errlen)
{
	char basic[2048] = "";
	if (rc->creds[0] && regauth_basic_line(rc->creds, basic, sizeof basic) != DF_OK) {
		snprintf(err, errlen, "the credentials for %s are not user:password", rc->api);
		return DF_ERR;
	}
	if (ch->scheme == REGAUTH_BASIC) {
		if (!basic[0]) {
			snprintf(err, errlen,
				 "%s wants credentials (Basic): give --creds USER:PASSWORD or an auth file entry",
				 rc->api);
			return DF_ERR;
		}
		snprintf(rc->auth, sizeof rc->auth, "%s", basic);
		rc->bearer = 0;
		explicit_bzero(basic, sizeof basic);
		return DF_OK;
	}
	/* Bearer: a token for the scope the registry named, else pulling this repository */
	if (strncmp(ch->realm, DF_LIT("https://")) != 0 && strncmp(ch->realm, DF_LIT("http://")) != 0) {
		snprintf(err, errlen, "%s names a token realm that is not an http(s) URL", rc->api);
		return DF_ERR;
	}
	char scope[1024], service[800], escope[3200], url[6000];
	if (ch->scope[0])
		snprintf(scope, sizeof scope, "%s", ch->scope);
	else
		snprintf(scope, sizeof scope, "repository:%s:pull", rc->repo);
	urlenc(ch->service, service, sizeof service);
	urlenc(scope, escope, sizeof escope);
	snprintf(url, sizeof url, "%s%s%s%s%sscope=%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?",
		 service[0] ? "service=" : "", service, service[0] ? "&" : "", escope);
	struct sync s;
	int r = get(rc, url, basic[0] ? basic : NULL, TOKEN_ANSWER_MAX, &s);
	explicit_bzero(basic, sizeof basic);
	if (r != DF_OK) {
		snprintf(err, errlen, "token server of %s: %s", rc->api, s.msg[0] ? s.msg : "no answer");
		sync_free(&s);
		return DF_ERR;
	}
	if (s.status != 200) {
		snprintf(err, errlen, "the token server of %s answered %d%s", rc->api, s.status,
			 s.status == 401 || s.status == 403
				 ? rc->creds[0] ? ": the credentials were refused"
						: ": it wants credentials (--creds or an auth file)"
				 : "");
		sync_free(&s);
		return DF_ERR;
	}
	struct json_tok toks[TOKEN_TOKS];
	char token[7000];
	uint64_t expires;
	const char *why;
	if (regauth_token_parse(s.body ? s.body : "", s.len, toks, TOKEN_TOKS, token, sizeof token, &expires, &why) !=
	    DF_OK) {
		snprintf(err, errlen, "the token server of %s: %s", rc->api, why);
		sync_free(&s);
		return DF_ERR;
	}
	sync_free(&s);
	snprintf(rc->auth, sizeof rc->auth, "Authorization: Bearer %s\r\n", token);
	explicit_bzero(token, sizeof token);
	rc->bearer = 1;
	log_debug("registry %s: a token for %s, valid %llu s", rc->api, scope, (unsigned long long)expires);
	return DF_OK;
}

/* Pings /v2/: picks the scheme, and authenticates when the registry asks. */
static int ping(struct regclient *rc, char *err, size_t errlen)
{
	char url[400];
	struct sync s;
	snprintf(url, sizeof url, "https://%s/v2/", rc->api);
	int r = get(rc, url, NULL, 65536, &s);
	if (r != DF_OK && !s.status && (rc->cfg.plain_http || image_host_loopback(rc->api))) {
		/* https is not answered: as the engines do for a registry on this host (or when told) */
		char https_msg[256];
		snprintf(https_msg, sizeof https_msg, "%s", s.msg);
		sync_free(&s);
		snprintf(url, sizeof url, "http://%s/v2/", rc->api);
		r = get(rc, url, NULL, 65536, &s);
		if (r != DF_OK)
			snprintf(err, errlen, "registry %s: https: %s; http: %s", rc->api, https_msg,
				 s.msg[0] ? s.msg : "no answer");
	} else if (r != DF_OK) {
		snprintf(err, errlen, "registry %s: %s%s", rc->api, s.msg[0] ? s.msg : "no answer",
			 s.status ? "" : " (plain http only for a loopback registry or with --plain-http)");
	}
	if (r != DF_OK) {
		sync_free(&s);
		return DF_ERR;
	}
	snprintf(rc->base, sizeof rc->base, "%.*s", (int)(strlen(url) - 4), url); /* without "/v2/" */
	int st = s.status;
	struct regauth_challenge ch = s.ch;
	int ch_rc = s.ch_rc;
	sync_free(&s);
	if (st == 200)
		return DF_OK;
	if (st == 401 && ch_rc == DF_OK)
		return authenticate(rc, &ch, err, errlen);
	if (st == 401)
		snprintf(err, errlen, "registry %s answered 401 with %s challenge", rc->api,
			 ch_rc == DF_ERR ? "a malformed" : "no Basic or Bearer");
	else
		snprintf(err, errlen, "registry %s: /v2/ answered %d: not a registry API (distribution v2)?", rc->api,
			 st);
	return DF_ERR;
}

/* The registry's own words for an error status: {"errors":[{"code":"MANIFEST_UNKNOWN",...}]}. */
static void error_code(const struct sync *s, char *out, size_t cap)
{
	out[0] = 0;
	const char *c = s->body ? strstr(s->body, "\"code\"") : NULL;
	if (!c)
		return;
	c = strchr(c + 6, '"');
	if (!c)
		return;
	size_t n = strspn(c + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
	snprintf(out, cap, " %.*s", (int)DF_MIN(n, 40), c + 1);
}

int regclient_get(struct regclient *rc, const char *path, const char *extra, size_t max, struct regclient_resp *out,
		  char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!rc->base[0] && ping(rc, err, errlen) != DF_OK)
		return DF_ERR;
	for (int attempt = 0;; attempt++) {
		char url[2048], hdrs[16384];
		struct sync s;
		snprintf(url, sizeof url, "%s%s", rc->base, path);
		snprintf(hdrs, sizeof hdrs, "%s%s", rc->auth, extra ? extra : "");
		int r = get(rc, url, hdrs, max, &s);
		explicit_bzero(hdrs, sizeof hdrs);
		if (r != DF_OK) {
			snprintf(err, errlen, "registry %s: %s", rc->api, s.msg[0] ? s.msg : "no answer");
			sync_free(&s);
			return DF_ERR;
		}
		if (s.status == 401 && attempt == 0 && s.ch_rc == DF_OK && (!rc->auth[0] || rc->bearer)) {
			/* asked again (a registry whose /v2/ was open, or a token of another scope) */
			struct regauth_challenge ch = s.ch;
			sync_free(&s);
			if (authenticate(rc, &ch, err, errlen) != DF_OK)
				return DF_ERR;
			continue;
		}
		if (s.status < 200 || s.status > 299) {
			char code[48];
			error_code(&s, code, sizeof code);
			snprintf(err, errlen, "registry %s answered %d%s for %s%s", rc->api, s.status, code, path,
				 s.status == 401   ? rc->creds[0] ? ": the credentials were refused"
								  : ": it wants credentials (--creds or an auth file)"
				 : s.status == 404 ? ": no such image or tag"
						   : "");
			sync_free(&s);
			return DF_ERR;
		}
		out->status = s.status;
		snprintf(out->content_type, sizeof out->content_type, "%s", s.ctype);
		snprintf(out->digest, sizeof out->digest, "%s", s.digest);
		out->body = s.body ? s.body : calloc(1, 1);
		out->len = s.len;
		return out->body ? DF_OK : DF_ERR;
	}
}
