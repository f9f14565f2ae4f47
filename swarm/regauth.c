/* Registry authentication, the pure parts (swarm/regauth.h): RFC 9110's challenge grammar, the
 * token answer of the distribution spec's token flow, and the auth files' "auths" map. */
#include "swarm/regauth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/base64.h"
#include "core/df.h"

static int tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static size_t token_at(struct slice v, size_t i)
{
	size_t j = i;
	while (j < v.n && tchar(v.p[j]))
		j++;
	return j - i;
}

static size_t skip_ws(struct slice v, size_t i)
{
	while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t'))
		i++;
	return i;
}

/* A quoted-string at v.p[i] ('"'), unescaped into out. Returns the index after it, or 0 when it is
 * malformed or does not fit. */
static size_t quoted(struct slice v, size_t i, char *out, size_t cap)
{
	size_t o = 0;
	for (i++; i < v.n; i++) {
		char c = v.p[i];
		if (c == '"') {
			out[o] = 0;
			return i + 1;
		}
		if (c == '\\') {
			if (++i >= v.n)
				return 0;
			c = v.p[i];
		}
		if ((unsigned char)c < 0x20 && c != '\t')
			return 0;
		if (o + 1 >= cap)
			return 0;
		out[o++] = c;
	}
	return 0;
}

int regauth_challenge_parse(struct slice v, struct regauth_challenge *out)
{
	struct regauth_challenge cur;
	int found = 0;
	size_t i = 0;
	for (;;) {
		while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
			i++;
		if (i >= v.n)
			break;
		size_t sl = token_at(v, i);
		if (!sl)
			return DF_ERR;
		memset(&cur, 0, sizeof cur);
		struct slice scheme = {v.p + i, sl};
		cur.scheme = slice_caseeq(scheme, "bearer")  ? REGAUTH_BEARER
			     : slice_caseeq(scheme, "basic") ? REGAUTH_BASIC
							     : REGAUTH_NONE;
		i += sl;
		/* the parameters: name = value pairs separated by commas, until a token that is not
		 * followed by '=' (the next challenge's scheme) */
		for (;;) {
			size_t j = skip_ws(v, i);
			size_t nl = token_at(v, j);
			if (!nl)
				break;
			struct slice name = {v.p + j, nl};
			size_t k = skip_ws(v, j + nl);
			if (k >= v.n || v.p[k] != '=')
				break; /* the next challenge */
			k = skip_ws(v, k + 1);
			char val[1024];
			if (k >= v.n || v.p[k] == '=' || v.p[k] == ',') {
				/* token68 ("Negotiate abc=="): its '=' padding, no value */
				while (k < v.n && v.p[k] == '=')
					k++;
				val[0] = 0;
			} else if (v.p[k] == '"') {
				k = quoted(v, k, val, sizeof val);
				if (!k)
					return DF_ERR;
			} else {
				size_t vl = token_at(v, k);
				if (!vl || vl >= sizeof val)
					return DF_ERR;
				memcpy(val, v.p + k, vl);
				val[vl] = 0;
				k += vl;
			}
			char *dst = slice_caseeq(name, "realm")     ? cur.realm
				    : slice_caseeq(name, "service") ? cur.service
				    : slice_caseeq(name, "scope")   ? cur.scope
				    : slice_caseeq(name, "error")   ? cur.error
								    : NULL;
			size_t dcap = dst == cur.service ? sizeof cur.service
				      : dst == cur.error ? sizeof cur.error
							 : sizeof cur.realm;
			if (dst && cur.scheme != REGAUTH_NONE && snprintf(dst, dcap, "%s", val) >= (int)dcap)
				return DF_ERR;
			k = skip_ws(v, k);
			i = k;
			if (k < v.n && v.p[k] == ',') {
				i = k + 1;
				continue;
			}
			if (k < v.n)
				return DF_ERR; /* a value followed by something other than a comma */
			break;
		}
		if (cur.scheme == REGAUTH_BEARER && !cur.realm[0])
			return DF_ERR;
		if (cur.scheme == REGAUTH_BEARER && out->scheme != REGAUTH_BEARER) {
			*out = cur;
			found = 1;
		} else if (cur.scheme == REGAUTH_BASIC && out->scheme == REGAUTH_NONE) {
			*out = cur;
			found = 1;
		} else if (cur.scheme != REGAUTH_NONE) {
			found = 1;
		}
	}
	return found ? DF_OK : DF_AGAIN;
}

int regauth_token_parse(const char *body, size_t len, struct json_tok *toks, int ntoks, char *token, size_t cap,
			uint64_t *expires_in, const char **why)
{
	token[0] = 0;
	if (json_parse(body, len, toks, ntoks, why) < 0)
		return DF_ERR;
	int t = json_get(body, toks, 0, "token");
	if (t < 0)
		t = json_get(body, toks, 0, "access_token");
	if (t < 0) {
		*why = "no token in the answer";
		return DF_ERR;
	}
	int n = json_string(body, toks, t, token, cap);
	if (n <= 0) {
		*why = n == 0 ? "an empty token" : "the token is no string or too long";
		token[0] = 0;
		return DF_ERR;
	}
	for (int i = 0; i < n; i++)
		if ((unsigned char)token[i] <= ' ' || (unsigned char)token[i] >= 0x7f) {
			*why = "the token has a blank, control or non-ASCII character";
			token[0] = 0;
			return DF_ERR;
		}
	*expires_in = 60;
	int e = json_get(body, toks, 0, "expires_in");
	uint64_t v;
	if (e >= 0 && json_u64(body, toks, e, &v) == DF_OK && v > 0)
		*expires_in = v;
	return DF_OK;
}

static int hub(const char *h, size_t n)
{
	static const char *const names[] = {"docker.io", "index.docker.io", "registry-1.docker.io", NULL};
	for (int i = 0; names[i]; i++)
		if (strlen(names[i]) == n && strncasecmp(h, names[i], n) == 0)
			return 1;
	return 0;
}

/* How specifically key (a member name of "auths") matches registry/repo: 0 not at all, else the
 * length of what it matched (longer is more specific). */
static int key_match(const char *key, size_t kn, const char *registry, const char *repo)
{
	if (kn >= 8 && strncasecmp(key, DF_LIT("https://")) == 0) {
		key += 8;
		kn -= 8;
		kn = strcspn(key, "/") < kn ? strcspn(key, "/") : kn; /* docker's "https://index.docker.io/v1/" */
	} else if (kn >= 7 && strncasecmp(key, DF_LIT("http://")) == 0) {
		key += 7;
		kn -= 7;
		kn = strcspn(key, "/") < kn ? strcspn(key, "/") : kn;
	}
	while (kn && key[kn - 1] == '/')
		kn--;
	size_t hn = strcspn(key, "/");
	if (hn > kn)
		hn = kn;
	int host_ok = (hn == strlen(registry) && strncasecmp(key, registry, hn) == 0) ||
		      (hub(registry, strlen(registry)) && hub(key, hn));
	if (!host_ok || !hn)
		return 0;
	if (hn == kn)
		return (int)hn;
	/* "registry/namespace[/repo]": a prefix of repo at a '/' */
	size_t pn = kn - hn - 1;
	if (strncmp(key + hn + 1, repo, pn) != 0 || (repo[pn] != 0 && repo[pn] != '/'))
		return 0;
	return (int)kn;
}

static int creds_ok(const char *c, size_t n)
{
	if (!memchr(c, ':', n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
			return 0;
	return 1;
}

int regauth_file_find(const char *json, size_t len, const char *registry, const char *repo, struct json_tok *toks,
		      int ntoks, char *creds, size_t cap, const char **why)
{
	creds[0] = 0;
	if (json_parse(json, len, toks, ntoks, why) < 0)
		return DF_ERR;
	if (toks[0].type != JSON_OBJECT) {
		*why = "not a JSON object";
		return DF_ERR;
	}
	int auths = json_get(json, toks, 0, "auths");
	int helper = json_get(json, toks, 0, "credsStore") >= 0 || json_get(json, toks, 0, "credHelpers") >= 0;
	int best = -1, best_len = 0;
	if (auths >= 0 && toks[auths].type == JSON_OBJECT) {
		uint32_t i = (uint32_t)auths + 1;
		for (uint32_t m = 0; m < toks[auths].size; m++) {
			char key[512];
			int kl = json_string(json, toks, (int)i, key, sizeof key);
			int v = (int)i + 1;
			int score = kl > 0 ? key_match(key, (size_t)kl, registry, repo) : 0;
			if (score > best_len) {
				best_len = score;
				best = v;
			}
			i = toks[v].next;
		}
	} else if (auths >= 0) {
		*why = "\"auths\" is not an object";
		return DF_ERR;
	}
	if (best < 0) {
		*why = helper ? "no entry in \"auths\"; the file names a credential helper (credsStore/credHelpers), "
				"which df does not run: give --creds"
			      : "no entry for the registry";
		return DF_AGAIN;
	}
	if (toks[best].type != JSON_OBJECT) {
		*why = "the registry's entry is not an object";
		return DF_ERR;
	}
	int a = json_get(json, toks, best, "auth");
	char enc[4096];
	int el = a >= 0 ? json_string(json, toks, a, enc, sizeof enc) : -1;
	if (el > 0) {
		int n = base64_decode(enc, (size_t)el, (uint8_t *)creds, cap - 1);
		if (n < 0 || !creds_ok(creds, (size_t)n)) {
			*why = "the registry's \"auth\" is not base64 of user:password";
			creds[0] = 0;
			return DF_ERR;
		}
		creds[n] = 0;
		return DF_OK;
	}
	char user[512], pass[2048];
	if (json_string(json, toks, json_get(json, toks, best, "username"), user, sizeof user) > 0 &&
	    json_string(json, toks, json_get(json, toks, best, "password"), pass, sizeof pass) >= 0) {
		int n = snprintf(creds, cap, "%s:%s", user, pass);
		if (n < 0 || (size_t)n >= cap || strchr(user, ':') || !creds_ok(creds, (size_t)n)) {
			*why = "the registry's username or password is too long or has a ':' or control character";
			creds[0] = 0;
			return DF_ERR;
		}
		return DF_OK;
	}
	*why = json_get(json, toks, best, "identitytoken") >= 0
		       ? "the registry's entry holds an identity token (not supported: give --creds)"
		       : "the registry's entry has neither \"auth\" nor username and password";
	return helper ? DF_AGAIN : DF_ERR;
}

int regauth_basic_line(const char *creds, char *out, size_t cap)
{
	static const char pre[] = "Authorization: Basic ";
	size_t n = strlen(creds);
	if (!creds_ok(creds, n) || cap < sizeof pre + 2)
		return DF_ERR;
	memcpy(out, pre, sizeof pre - 1);
	int w = base64_encode(creds, n, out + sizeof pre - 1, cap - (sizeof pre - 1) - 2);
	if (w < 0) {
		out[0] = 0;
		return DF_ERR;
	}
	memcpy(out + sizeof pre - 1 + (size_t)w, "\r\n", 3);
	return DF_OK;
}
