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
	CHECK_EQ(kind("/v2/a/blobs/sha256:"
		      "0123",
		      &rp),
		 REG_BLOB);
	CHECK(!rp.sha256);
	CHECK_EQ(kind("/v2/a/blobs/sha256:"
		      "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		      &rp),
		 REG_BLOB);
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
	CHECK_EQ(registry_query_ns(slice_of("ns=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
				   ns, sizeof ns),
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
	char ih[300];
	registry_upstream_image_host(&u, ih, sizeof ih); /* a label: images are named after the URL's host */
	CHECK_STR(ih, "quay.io");
	CHECK_EQ(UP("hub=https://registry-1.docker.io"), DF_OK);
	registry_upstream_image_host(&u, ih, sizeof ih);
	CHECK_STR(ih, "docker.io");
	CHECK_EQ(UP("docker.io=https://mirror.gcr.io"), DF_OK); /* a host name: the images' host */
	registry_upstream_image_host(&u, ih, sizeof ih);
	CHECK_STR(ih, "docker.io");
	CHECK_EQ(UP("localhost=http://127.0.0.1:5000"), DF_OK);
	registry_upstream_image_host(&u, ih, sizeof ih);
	CHECK_STR(ih, "localhost");
	CHECK_EQ(UP("http://127.0.0.1:5000"), DF_OK);
	registry_upstream_image_host(&u, ih, sizeof ih);
	CHECK_STR(ih, "127.0.0.1:5000");
	registry_upstream_image_host(&u, ih, 4);
	CHECK_STR(ih, "127");
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
	parse_req("GET /v2/ HTTP/1.1\r\nHost: mirror\r\nAccept: a/b\r\nAccept: c/d, e/f\r\nConnection: keep-alive, "
		  "X-Hop\r\n"
		  "X-Hop: 1\r\nKeep-Alive: 5\r\nProxy-Authorization: Basic x\r\nTE: trailers\r\nAuthorization: Bearer "
		  "t0k\r\n"
		  "Content-Length: 0\r\nCookie: c=1\r\nUser-Agent: containerd/1.6\r\nExpect: 100-continue\r\n\r\n",
		  &h, hdrs);
	int n = registry_request_headers(&h, 0, out, sizeof out);
	CHECK_EQ(n, (int)strlen(out));
	CHECK_STR(out, "Accept: a/b\r\nAccept: c/d, e/f\r\nAuthorization: Bearer t0k\r\nCookie: c=1\r\nUser-Agent: "
		       "containerd/1.6\r\n");
	n = registry_request_headers(&h, 1, out, sizeof out);
	CHECK_STR(out, "Authorization: Bearer t0k\r\nCookie: c=1\r\n");
	CHECK_EQ(registry_request_headers(&h, 0, out, 20), DF_ERR);
}

static void test_response_headers(void)
{
	struct http_head h;
	struct http_header hdrs[32];
	const char *raw =
		"HTTP/1.1 401 Unauthorized\r\nDate: x\r\nServer: reg\r\nContent-Length: 10\r\n"
		"Transfer-Encoding: chunked\r\nConnection: close\r\nWWW-Authenticate: Bearer realm=\"https://a/t\"\r\n"
		"Docker-Distribution-Api-Version: registry/2.0\r\nContent-Type: application/json\r\n\r\n";
	CHECK(http_parse_response(raw, strlen(raw), &h, hdrs, 32) > 0);
	char out[512];
	size_t n = registry_response_headers(h.headers, h.nheaders, out, sizeof out);
	CHECK_EQ(n, strlen(out));
	CHECK_STR(out,
		  "WWW-Authenticate: Bearer realm=\"https://a/t\"\r\nDocker-Distribution-Api-Version: registry/2.0\r\n"
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
		"output: /tmp/f\n",                 /* no url */
		"url: ftp://h/f\noutput: /tmp/f\n", /* not http */
		"url: http://h/f\n",                /* no output */
		"url: http://h/f\noutput: rel/f\n", /* relative output */
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

/* hostd_prepare: what job_start starts a download with; hostd_request_end: framing in pieces */
static void test_hostd_prepare(void)
{
	static struct hostd_job_spec s;
	const char *why = NULL;
	const char *ok = "url: http://h/f\nheader: Authorization: Bearer x\nheader: X-A: 1\ndigest: sha256:" HEX64
			 "\noutput: /tmp/f\n\nafter";
	size_t end = hostd_request_end(ok, strlen(ok), 0);
	CHECK_EQ(end, strlen(ok) - strlen("\nafter"));
	for (size_t cut = 0; cut < strlen(ok); cut++) /* found the same when the rest arrives later */
		CHECK_EQ(hostd_request_end(ok, strlen(ok), cut) ? hostd_request_end(ok, strlen(ok), cut) : end, end);
	CHECK_EQ(hostd_request_end(ok, end - 1, 0), 0);
	CHECK_EQ(hostd_prepare(ok, end, &s, &why), DF_OK);
	CHECK_STR(s.url, "http://h/f");
	CHECK_STR(s.output, "/tmp/f");
	CHECK_STR(s.headers, "Authorization: Bearer x\r\nX-A: 1\r\n");
	CHECK_EQ(s.headers_len, strlen(s.headers));
	CHECK_EQ(s.digest.len, 32);
	CHECK_EQ(s.mode, -1); /* none sent (an older client): the daemon's umask */
	/* the client's permission bits: octal, at most 0777 (no setuid, setgid or sticky bit) */
	const char *modes_ok[][2] = {{"0600", "384"}, {"640", "416"}, {"0", "0"}, {"0777", "511"}};
	for (size_t i = 0; i < DF_ARRAY_LEN(modes_ok); i++) {
		char r[128];
		int k = snprintf(r, sizeof r, "url: http://h/f\noutput: /f\nmode: %s\n", modes_ok[i][0]);
		CHECK_EQ(hostd_prepare(r, (size_t)k, &s, &why), DF_OK);
		CHECK_EQ(s.mode, atoi(modes_ok[i][1]));
	}
	const char *modes_bad[] = {"4755", "1777", "0800", "12345", "-1", "6o4", "0x1ff", ""};
	for (size_t i = 0; i < DF_ARRAY_LEN(modes_bad); i++) {
		char r[128];
		int k = snprintf(r, sizeof r, "url: http://h/f\noutput: /f\nmode: %s\n", modes_bad[i]);
		CHECK_EQ(hostd_prepare(r, (size_t)k, &s, &why), DF_ERR);
		CHECK(strstr(why, "mode") != NULL);
	}
	const char *bad_digest = "url: http://h/f\noutput: /f\ndigest: sha256:12\n";
	CHECK_EQ(hostd_prepare(bad_digest, strlen(bad_digest), &s, &why), DF_ERR);
	CHECK(strstr(why, "digest") != NULL);
	char big[20000];
	int n = snprintf(big, sizeof big, "url: http://h/f\noutput: /f\n");
	for (int i = 0; i < 30; i++)
		n += snprintf(big + n, sizeof big - (size_t)n, "header: X-%d: %0600d\n", i, 0);
	CHECK_EQ(hostd_prepare(big, (size_t)n, &s, &why), DF_ERR);
	CHECK_STR(why, "header lines too long");
}

/* registry_plan_request: the whole decision of the mirror's handler */
static void test_plan(void)
{
	struct registry_upstream ups[2];
	const char *why;
	CHECK_EQ(registry_upstream_parse("docker.io=https://registry-1.docker.io", 38, &ups[0], &why), DF_OK);
	CHECK_EQ(registry_upstream_parse("http://127.0.0.1:5000", 21, &ups[1], &why), DF_OK);
	struct http_head h;
	struct http_header hdrs[32];
	struct registry_plan p;
#define PLAN(raw, u, n) (parse_req(raw, &h, hdrs), registry_plan_request(ups, n, u, &h, h.path, h.query, &p))
	CHECK_EQ(PLAN("GET /v2/a/manifests/x?ns=127.0.0.1:5000&n=1 HTTP/1.1\r\n\r\n", NULL, 2), REG_ACT_RELAY);
	CHECK_STR(p.url, "http://127.0.0.1:5000/v2/a/manifests/x?n=1");
	CHECK(p.up == &ups[1] && p.kind == REG_MANIFEST && p.follow_redirects);
	CHECK_EQ(PLAN("HEAD /v2/a/manifests/x HTTP/1.1\r\n\r\n", NULL, 2), REG_ACT_RELAY);
	CHECK(p.up == &ups[0] && !p.follow_redirects);
	CHECK_EQ(PLAN("GET /v2/a/blobs/sha256:" HEX64 " HTTP/1.1\r\n\r\n", NULL, 2), REG_ACT_P2P);
	CHECK_EQ(p.digest.len, 32);
	CHECK_STR(p.url, "https://registry-1.docker.io/v2/a/blobs/sha256:" HEX64);
	CHECK_EQ(PLAN("HEAD /v2/a/blobs/sha256:" HEX64 " HTTP/1.1\r\n\r\n", NULL, 2), REG_ACT_HEAD);
	CHECK_EQ(PLAN("GET /v2/a/blobs/sha256:" HEX64 " HTTP/1.1\r\n\r\n", &ups[1], 2), REG_ACT_P2P);
	CHECK(p.up == &ups[1]);
	CHECK_EQ(PLAN("POST /v2/a/blobs/uploads/ HTTP/1.1\r\n\r\n", NULL, 2), REG_ACT_ERROR);
	CHECK_EQ(p.status, 405);
	CHECK_EQ(PLAN("POST /v2/a/blobs/uploads/ HTTP/1.1\r\n\r\n", &ups[1], 2), REG_ACT_ERROR);
	CHECK_EQ(p.status, 405);
	CHECK_EQ(PLAN("GET /v2/a/manifests/x?ns=%zz HTTP/1.1\r\n\r\n", NULL, 2), REG_ACT_ERROR);
	CHECK_EQ(p.status, 400);
	CHECK_EQ(PLAN("GET /v2/a/manifests/x?ns=quay.io HTTP/1.1\r\n\r\n", NULL, 2), REG_ACT_ERROR);
	CHECK_EQ(p.status, 404);
	CHECK_EQ(PLAN("GET /v2/ HTTP/1.1\r\n\r\n", NULL, 0), REG_ACT_ERROR);
	CHECK_EQ(p.status, 404);
	CHECK_EQ(PLAN("GET /v2/../x/manifests/y HTTP/1.1\r\n\r\n", NULL, 2), REG_ACT_ERROR);
	CHECK_EQ(p.status, 404);
#undef PLAN
}

static const struct unit_test tests[] = {
	{"hostd_prepare", test_hostd_prepare},
	{"plan", test_plan},
	{"paths", test_paths},
	{"ns", test_ns},
	{"upstreams", test_upstreams},
	{"request_headers", test_request_headers},
	{"response_headers", test_response_headers},
	{"hostd_request", test_hostd_request},
};
UNIT_MAIN("registry", tests)
