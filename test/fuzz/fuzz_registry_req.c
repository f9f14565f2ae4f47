/* Fuzz target: a request to df proxy's registry mirror as the handler takes it: the head is parsed
 * (net/http_parse), then registry_plan_request makes the whole decision registry_handle (and the
 * HTTP proxy's registry_serve, for one given upstream) carries out, then the header lines that go
 * upstream are built. An error answer is one of the mirror's own; a relay or P2P target is the
 * chosen configured upstream's URL followed by the client's path (never another host, never a
 * line break), P2P only for sha256 blob GETs (and their HEADs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/registry_parse.h"

static struct registry_upstream ups[2];

static void init(void)
{
	static int done;
	const char *why;
	if (done)
		return;
	done = 1;
	const char *a = "docker.io=https://registry-1.docker.io", *b = "http://127.0.0.1:5000";
	if (registry_upstream_parse(a, strlen(a), &ups[0], &why) != DF_OK || registry_upstream_parse(b, strlen(b), &ups[1], &why) != DF_OK)
		abort();
}

static void check(const struct http_head *h, const struct registry_upstream *given, const struct registry_plan *p)
{
	switch (p->act) {
	case REG_ACT_ERROR:
		if (!p->code || !p->msg || (p->status != 400 && p->status != 404 && p->status != 405 && p->status != 414))
			abort();
		return;
	case REG_ACT_P2P:
		if (!slice_eq(h->method, "GET") || p->kind != REG_BLOB || p->digest.len != 32)
			abort();
		break;
	case REG_ACT_HEAD:
		if (!slice_eq(h->method, "HEAD") || p->kind != REG_BLOB || p->digest.len != 32)
			abort();
		break;
	case REG_ACT_RELAY:
		if (p->kind == REG_NONE || (!slice_eq(h->method, "GET") && !slice_eq(h->method, "HEAD")))
			abort();
		if (p->follow_redirects != slice_eq(h->method, "GET"))
			abort();
		break;
	default:
		abort();
	}
	if (!p->up || (given && p->up != given) || (p->up != &ups[0] && p->up != &ups[1]))
		abort();
	size_t ul = strlen(p->up->url);
	if (strncmp(p->url, p->up->url, ul) != 0 || p->url[ul] != '/' || strpbrk(p->url, "\r\n \t"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char hdrs[16384], creds[8192];
	struct http_head h;
	struct http_header hv[64];
	struct registry_plan p;
	init();
	if (http_parse_request((const char *)data, size, &h, hv, 64) <= 0)
		return 0;
	/* the mirror's route: the upstream from ?ns= */
	registry_plan_request(ups, 2, NULL, &h, h.path, h.query, &p);
	check(&h, NULL, &p);
	/* the HTTP proxy's absolute-form request to a configured registry: the upstream given */
	registry_plan_request(ups, 2, &ups[1], &h, h.path, h.query, &p);
	check(&h, &ups[1], &p);
	/* no upstream configured */
	registry_plan_request(ups, 0, NULL, &h, h.path, h.query, &p);
	if (p.act != REG_ACT_ERROR)
		abort();
	int n = registry_request_headers(&h, 0, hdrs, sizeof hdrs);
	if (n >= 0 && (size_t)n != strlen(hdrs))
		abort();
	n = registry_request_headers(&h, 1, creds, sizeof creds);
	if (n >= 0 && (size_t)n != strlen(creds))
		abort();
	return 0;
}
