/* Unit tests of df proxy's pure parsers: registry API paths, ?ns=, upstream specs, the header lines
 * a proxy forwards both ways, and the hand-off request of the host daemon. */
#include <stdlib.h>

#include "swarm/hostd.h"
#include "swarm/registry_parse.h"
#include "unit.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static enum registry_kind kind(const char *path, struct registry_path *rp)
{
	return registry_parse_path(slice_of(path), rp);
}

static void test_paths(void)
{
	struct registry_path rp;
	CHECK_EQ(kind("/v2/", &rp), REG_BASE);
	CHECK_EQ(kind("/v2", &rp), REG_BASE);
	CHECK_EQ(kind("/v2x", &rp), REG_NONE);
	CHECK_EQ(kind("/v1/status", &rp), REG_NONE);
	CHECK_EQ(kind("/", &rp), REG_NONE);

	CHECK_EQ(kind("/v2/library/alpine/manifests/3.19", &rp), REG_MANIFEST);
	CHECK(slice_eq(rp.name, "library/alpine"));
	CHECK(slice_eq(rp.ref, "3.19"));
	CHECK_EQ(kind("/v2/a/b/c/manifests/sha256:" HEX64, &rp), REG_MANIFEST);
	CHECK(slice_eq(rp.name, "a/b/c"));
	CHECK(!rp.sha256);

	CHECK_EQ(kind("/v2/df/test/blobs/sha256:" HEX64, &rp), REG_BLOB);
	CHECK(slice_eq(rp.name, "df/test"));
	CHECK(slice_eq(rp.ref, "sha256:" HEX64));
	CHECK(rp.sha256);
	/* a repository may be called blobs or manifests: the last two components decide */
	CHECK_EQ(kind("/v2/blobs/manifests/latest", &rp), REG_MANIFEST);
	CHECK(slice_eq(rp.name, "blobs"));
	CHECK_EQ(kind("/v2/x/manifests/blobs/sha256:" HEX64, &rp), REG_BLOB);
	CHECK(slice_eq(rp.name, "x/manifests"));
	/* other digests are blobs, but not P2P ones */
	CHECK_EQ(kind("/v2/a/blobs/sha512:abcd", &rp), REG_BLOB);
	CHECK(!rp.sha256);
	CHECK_EQ(kind("/v2/a/blobs/sha256:" "0123", &rp), REG_BLOB);
	CHECK(!rp.sha256);
	CHECK_EQ(kind("/v2/a/blobs/sha256:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", &rp), REG_BLOB);
	CHECK(!rp.sha256); /* upper-case hex is not the canonical digest */

	/* the rest of the API is passed through */
	CHECK_EQ(kind("/v2/_catalog", &rp), REG_OTHER);
	CHECK_EQ(kind("/v2/library/alpine/tags/list", &rp), REG_OTHER);
	CHECK_EQ(kind("/v2/a/blobs/uploads/", &rp), REG_OTHER);
	CHECK_EQ(kind("/v2/a/blobs/uploads", &rp), REG_OTHER);

	/* malformed names and references are never forwarded */
	CHECK_EQ(kind("/v2/../etc/manifests/latest", &rp), REG_NONE);
	CHECK_EQ(kind("/v2/a/../b/manifests/latest", &rp), REG_NONE);
	CHECK_EQ(kind("/v2/Upper/manifests/latest", &rp), REG_NONE);
	CHECK_EQ(kind("/v2//a/manifests/latest", &rp), REG_NONE);
	CHECK_EQ(kind("/v2/a//b/manifests/latest", &rp), REG_NONE);
	CHECK_EQ(kind("/v2/a-/manifests/latest", &rp), REG_NONE);
	CHECK_EQ(kind("/v2/a/manifests/", &rp), REG_NONE);
	CHECK_EQ(kind("/v2/a/manifests/.hidden", &rp), REG_NONE);
	CHECK_EQ(kind("/v2/a/manifests/a%2fb", &rp), REG_NONE);
	CHECK_EQ(kind("/v2/a/blobs/notadigest", &rp), REG_NONE);
	CHECK_EQ(kind("/v2/a/blobs/sha256:", &rp), REG_NONE);
	CHECK_EQ(kind("/v2/a/blobs/:abc", &rp), REG_NONE);
	/* separators the spec allows */
	CHECK_EQ(kind("/v2/a.b_c__d---e/f/manifests/v1.0-rc_1", &rp), REG_MANIFEST);
	CHECK_EQ(kind("/v2/a___b/manifests/v1", &rp), REG_NONE);
}

static void test_ns(void)
{
	char ns[64], q[128];
	CHECK_EQ(registry_query_ns(slice_of("ns=127.0.0.1%3A5000"), ns, sizeof ns), DF_OK);
	CHECK_STR(ns, "127.0.0.1:5000");
	CHECK_EQ(registry_query_ns(slice_of("n=10&ns=docker.io&last=x"), ns, sizeof ns), DF_OK);
	CHECK_STR(ns, "docker.io");
	CHECK_EQ(registry_query_ns(slice_of("n=10"), ns, sizeof ns), DF_AGAIN);
	CHECK_EQ(registry_query_ns(slice_of(""), ns, sizeof ns), DF_AGAIN);
	CHECK_EQ(registry_query_ns(slice_of("nsx=a"), ns, sizeof ns), DF_AGAIN);
	CHECK_EQ(registry_query_ns(slice_of("ns="), ns, sizeof ns), DF_ERR);
	CHECK_EQ(registry_query_ns(slice_of("ns=a%2"), ns, sizeof ns), DF_ERR);
	CHECK_EQ(registry_query_ns(slice_of("ns=a%00b"), ns, sizeof ns), DF_ERR);
	CHECK_EQ(registry_query_ns(slice_of("ns=evil.com%2Fx"), ns, sizeof ns), DF_ERR);
	CHECK_EQ(registry_query_ns(slice_of("ns=user%40evil.com"), ns, sizeof ns), DF_ERR);
	CHECK_EQ(registry_query_ns(slice_of("ns=a%20b"), ns, sizeof ns), DF_ERR);
	CHECK_EQ(registry_query_ns(slice_of("ns=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), ns, sizeof ns),
		 DF_ERR);

	CHECK_EQ(registry_query_strip_ns(slice_of("ns=docker.io"), q, sizeof q), 0);
	CHECK_STR(q, "");
	CHECK_EQ(registry_query_strip_ns(slice_of("n=10&ns=docker.io&last=b"), q, sizeof q), 11);
	CHECK_STR(q, "n=10&last=b");
	CHECK_EQ(registry_query_strip_ns(slice_of("ns=a&&ns=b&x"), q, sizeof q), 1);
	CHECK_STR(q, "x");
	CHECK_EQ(registry_query_strip_ns(slice_of("abcdefgh"), q, 4), DF_ERR);
}

static void test_upstreams(void)
{
	struct registry_upstream u;
	const char *why;
#define UP(s) registry_upstream_parse(s, strlen(s), &u, &why)
	CHECK_EQ(UP("http://127.0.0.1:5000"), DF_OK);
	CHECK_STR(u.name, "127.0.0.1:5000");
	CHECK_STR(u.url, "http://127.0.0.1:5000");
	CHECK(registry_upstream_match(&u, "127.0.0.1:5000"));
	CHECK(!registry_upstream_match(&u, "127.0.0.1:5001"));
	CHECK(!registry_upstream_match(&u, "127.0.0.1"));
	CHECK_EQ(UP("https://Registry-1.Docker.IO/"), DF_OK);
	CHECK_STR(u.name, "docker.io");
	CHECK_STR(u.url, "https://registry-1.docker.io");
	CHECK(registry_upstream_match(&u, "docker.io"));
	CHECK(registry_upstream_match(&u, "registry-1.docker.io"));
	CHECK_EQ(UP("quay=https://quay.io"), DF_OK);
	CHECK_STR(u.name, "quay");
	CHECK_STR(u.url, "https://quay.io");
	CHECK(registry_upstream_match(&u, "quay.io"));
	CHECK_EQ(UP("http://[::1]:5000"), DF_OK);
	CHECK_STR(u.name, "[::1]:5000");
	CHECK_STR(u.url, "http://[::1]:5000");
	CHECK_EQ(UP("ftp://x"), DF_ERR);
	CHECK_EQ(UP("http://h/v2"), DF_ERR);
	CHECK_EQ(UP("http://u:p@h"), DF_ERR);
	CHECK_EQ(UP("http://h?x=1"), DF_ERR);
	CHECK_EQ(UP("=http://h"), DF_ERR);
	CHECK_EQ(UP("registry.example.com"), DF_ERR);
#undef UP
}

static void parse_req(const char *raw, struct http_head *h, struct http_header *hdrs)
{
	CHECK(http_parse_request(raw, strlen(raw), h, hdrs, 32) > 0);
}

static void test_request_headers(void)
{
	struct http_head h;
	struct http_header hdrs[32];
	char out[512];
	parse_req("GET /v2/ HTTP/1.1\r\nHost: mirror\r\nAccept: a/b\r\nAccept: c/d, e/f\r\nConnection: keep-alive, X-Hop\r\n"
		  "X-Hop: 1\r\nKeep-Alive: 5\r\nProxy-Authorization: Basic x\r\nTE: trailers\r\nAuthorization: Bearer t0k\r\n"
		  "Content-Length: 0\r\nCookie: c=1\r\nUser-Agent: containerd/1.6\r\nExpect: 100-continue\r\n\r\n",
		  &h, hdrs);
	int n = registry_request_headers(&h, 0, out, sizeof out);
	CHECK_EQ(n, (int)strlen(out));
	CHECK_STR(out, "Accept: a/b\r\nAccept: c/d, e/f\r\nAuthorization: Bearer t0k\r\nCookie: c=1\r\nUser-Agent: containerd/1.6\r\n");
	n = registry_request_headers(&h, 1, out, sizeof out);
	CHECK_STR(out, "Authorization: Bearer t0k\r\nCookie: c=1\r\n");
	CHECK_EQ(registry_request_headers(&h, 0, out, 20), DF_ERR);
}

static void test_response_headers(void)
{
	struct http_head h;
	struct http_header hdrs[32];
	const char *raw = "HTTP/1.1 401 Unauthorized\r\nDate: x\r\nServer: reg\r\nContent-Length: 10\r\n"
			  "Transfer-Encoding: chunked\r\nConnection: close\r\nWWW-Authenticate: Bearer realm=\"https://a/t\"\r\n"
			  "Docker-Distribution-Api-Version: registry/2.0\r\nContent-Type: application/json\r\n\r\n";
	CHECK(http_parse_response(raw, strlen(raw), &h, hdrs, 32) > 0);
	char out[512];
	size_t n = registry_response_headers(h.headers, h.nheaders, out, sizeof out);
	CHECK_EQ(n, strlen(out));
	CHECK_STR(out, "WWW-Authenticate: Bearer realm=\"https://a/t\"\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
		       "Content-Type: application/json\r\n");
	/* what does not fit is left out, whole lines only */
	n = registry_response_headers(h.headers, h.nheaders, out, 80);
	CHECK_EQ(n, strlen(out));
	CHECK_STR(out, "WWW-Authenticate: Bearer realm=\"https://a/t\"\r\nContent-Type: application/json\r\n");
}

static void test_hostd_request(void)
{
	struct hostd_request rq;
	const char *why = NULL;
	const char *ok = "url: http://h/f\nheader: Authorization: Bearer x\nheader: X-A: 1\ndigest: sha256:" HEX64
			 "\noutput: /tmp/f\nfuture: ignored\n";
	CHECK_EQ(hostd_parse_request(ok, strlen(ok), &rq, &why), DF_OK);
	CHECK(slice_eq(rq.url, "http://h/f"));
	CHECK(slice_eq(rq.output, "/tmp/f"));
	CHECK(slice_eq(rq.digest, "sha256:" HEX64));
	CHECK_EQ(rq.nheaders, 2);
	CHECK(slice_eq(rq.headers[0], "Authorization: Bearer x"));
	const char *bad[] = {
		"output: /tmp/f\n",                         /* no url */
		"url: ftp://h/f\noutput: /tmp/f\n",          /* not http */
		"url: http://h/f\n",                         /* no output */
		"url: http://h/f\noutput: rel/f\n",          /* relative output */
		"url: http://h/f\noutput: /f\nheader: nocolon\n",
		"url: http://h/f\noutput: /f\nheader: : v\n",
		"url: http://h/f\rX: y\noutput: /f\n",
		"url http://h/f\noutput: /f\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		CHECK_EQ(hostd_parse_request(bad[i], strlen(bad[i]), &rq, &why), DF_ERR);
		CHECK(why != NULL);
	}
}

static const struct unit_test tests[] = {
	{"paths", test_paths},
	{"ns", test_ns},
	{"upstreams", test_upstreams},
	{"request_headers", test_request_headers},
	{"response_headers", test_response_headers},
	{"hostd_request", test_hostd_request},
};
UNIT_MAIN("registry", tests)
