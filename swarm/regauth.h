/* Registry authentication as the container engines do it, the pure parts: the WWW-Authenticate
 * challenge (Basic, or Bearer with realm/service/scope), the token server's answer, and the
 * credentials an auth file (docker config.json, containers auth.json) holds for a registry.
 * No sockets; fuzzed by test/fuzz/fuzz_regauth.c. The requests are swarm/regclient.c's. */
#ifndef DF_SWARM_REGAUTH_H
#define DF_SWARM_REGAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "core/slice.h"

enum regauth_scheme { REGAUTH_NONE, REGAUTH_BASIC, REGAUTH_BEARER };

struct regauth_challenge {
	enum regauth_scheme scheme;
	char realm[1024]; /* Bearer: the token server's URL; Basic: the realm's name */
	char service[256];
	char scope[1024]; /* "repository:NAME:pull" when the registry says which; "" otherwise */
	char error[64];   /* "insufficient_scope", "invalid_token" ... or "" */
};

/* Parses one WWW-Authenticate value, which may hold several challenges (RFC 9110 11.6.1): the
 * Bearer one is taken when there is one, else the Basic one. DF_OK; DF_AGAIN when it offers
 * neither scheme; DF_ERR when it is malformed, a parameter does not fit, or a Bearer challenge
 * has no realm. A later call only replaces a Basic result by a Bearer one, so the caller may feed
 * every WWW-Authenticate line of an answer into one struct (zeroed first). */
int regauth_challenge_parse(struct slice value, struct regauth_challenge *out);

/* A token server's JSON answer: "token" (or "access_token") into token (NUL-terminated) and
 * "expires_in" (seconds; 60 when absent, as the distribution spec says). The token must be
 * printable ASCII without blanks (it goes into a header line). toks[0..ntoks) is scratch. DF_OK,
 * or DF_ERR with *why. */
int regauth_token_parse(const char *body, size_t len, struct json_tok *toks, int ntoks, char *token, size_t cap,
			uint64_t *expires_in, const char **why);

/* The credentials an auth file holds for repository repo at registry (host[:port] as images name
 * it; docker.io also matches index.docker.io, registry-1.docker.io and docker's
 * "https://index.docker.io/v1/"): the most specific key of "auths" that is the registry, or a
 * "registry/namespace" prefix of registry/repo at a '/'. Keys with a scheme ("https://host/v1/")
 * count as their host. An entry's "auth" (base64 of user:password), else its "username" and
 * "password", become "user:password" in creds. DF_OK found; DF_AGAIN none (*why says so when the
 * file points at a credential helper instead); DF_ERR a malformed file or entry (*why). */
int regauth_file_find(const char *json, size_t len, const char *registry, const char *repo, struct json_tok *toks,
		      int ntoks, char *creds, size_t cap, const char **why);

/* "Authorization: Basic BASE64(creds)\r\n" into out. DF_ERR when creds (user:password) has no ':'
 * or a control character, or out is too small. */
int regauth_basic_line(const char *creds, char *out, size_t cap);

#endif
