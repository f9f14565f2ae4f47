/* Cluster-token checks for df's control and piece requests, in constant time so a wrong token's
 * timing says nothing about the right one. */
#include "swarm/auth.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

int auth_same(struct slice a, const char *b)
{
	size_t n = strlen(b);
	unsigned char diff = (unsigned char)(a.n != n);
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(b[i] ^ (i < a.n ? a.p[i] : 0));
	return diff == 0;
}

int auth_check(struct http_req *req, const char *token)
{
	if (!token || !token[0])
		return 1;
	struct slice got = http_req_header(req, "X-DF-Token");
	if (got.p && auth_same(got, token))
		return 1;
	char who[LOOP_ADDRSTR_MAX];
	const struct http_head *h = http_req_head(req);
	log_warn("refused %.*s %.*s from %s: %s cluster token", (int)h->method.n, h->method.p, (int)h->path.n,
		 h->path.p, loop_sockaddr_str(http_req_peer(req), who, sizeof who), got.p ? "wrong" : "no");
	http_reply(req, 401, NULL, DF_LIT("missing or wrong cluster token\n"));
	return 0;
}

const char *auth_header(const char *token, char *buf, size_t cap)
{
	if (!token || !token[0])
		return "";
	snprintf(buf, cap, "X-DF-Token: %s\r\n", token);
	return buf;
}
