/* Unit tests of df push --image's pure parts: image references as the engines normalize them,
 * platforms, manifests and indexes, WWW-Authenticate challenges, token answers, auth-file
 * entries, and the push receiver's blob request. */
#include <stdlib.h>

#include "core/base64.h"
#include "core/df.h"
#include "swarm/image_manifest.h"
#include "swarm/image_ref.h"
#include "swarm/pushrecv.h"
#include "swarm/regauth.h"
#include "test/unit/unit.h"

#define HEX64 "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
#define HEX64B "8c6a149cf32c196e56aa3eb73d21e9278e2482ded025938d14d9d19e97d17280"

static struct json_tok toks[4096];
static struct image_desc descs[64];

static void refs(void)
{
	struct { const char *in, *registry, *api, *repo, *tag, *digest; } ok[] = {
		{"alpine", "docker.io", "registry-1.docker.io", "library/alpine", "latest", ""},
		{"alpine:3.19", "docker.io", "registry-1.docker.io", "library/alpine", "3.19", ""},
		{"bitnami/redis:7", "docker.io", "registry-1.docker.io", "bitnami/redis", "7", ""},
		{"docker.io/alpine", "docker.io", "registry-1.docker.io", "library/alpine", "latest", ""},
		{"index.docker.io/library/alpine", "docker.io", "registry-1.docker.io", "library/alpine", "latest", ""},
		{"ghcr.io/org/team/app:v1.2", "ghcr.io", "ghcr.io", "org/team/app", "v1.2", ""},
		{"localhost/app", "localhost", "localhost", "app", "latest", ""},
		{"localhost:5000/app:t", "localhost:5000", "localhost:5000", "app", "t", ""},
		{"127.0.0.1:5000/df/test@sha256:" HEX64, "127.0.0.1:5000", "127.0.0.1:5000", "df/test", "", "sha256:" HEX64},
		{"Registry.Example.COM/a:T@sha256:" HEX64, "registry.example.com", "registry.example.com", "a", "T", "sha256:" HEX64},
		{"[::1]:5000/x", "[::1]:5000", "[::1]:5000", "x", "latest", ""},
		{"my-reg:5000/a__b/c.d-e", "my-reg:5000", "my-reg:5000", "a__b/c.d-e", "latest", ""},
	};
	for (size_t i = 0; i < DF_ARRAY_LEN(ok); i++) {
		struct image_ref r;
		const char *why = NULL;
		if (image_ref_parse(ok[i].in, strlen(ok[i].in), &r, &why) != DF_OK) {
			fprintf(stderr, "    %s: %s\n", ok[i].in, why);
			CHECK(0);
			continue;
		}
		CHECK_STR(r.registry, ok[i].registry);
		CHECK_STR(r.api, ok[i].api);
		CHECK_STR(r.repo, ok[i].repo);
		CHECK_STR(r.tag, ok[i].tag);
		CHECK_STR(r.digest, ok[i].digest);
	}
	const char *bad[] = {"", "Alpine", "alpine:", "alpine:-x", "alpine@sha256:12", ("alpine@md5:" HEX64), "a b", "reg.io/",
			     "reg.io//x", "reg.io/x/", "-reg.io/x", "reg-.io/x", "reg.io:99999/x", "reg.io:/x", "x:y:z", "reg.io/X",
			     "a\nb", "[zz]:1/x", "/x", "docker.io/a/../b"};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		struct image_ref r;
		const char *why = NULL;
		if (image_ref_parse(bad[i], strlen(bad[i]), &r, &why) != DF_ERR || !why) {
			fprintf(stderr, "    accepted: %s\n", bad[i]);
			CHECK(0);
		}
	}
	struct image_ref r;
	const char *why;
	CHECK_EQ(image_ref_parse("x@sha256:" HEX64, 9 + 64, &r, &why), DF_OK);
	CHECK_STR(image_ref_target(&r), "sha256:" HEX64);
	CHECK(image_host_loopback("127.0.0.1:5000"));
	CHECK(image_host_loopback("127.1.2.3"));
	CHECK(image_host_loopback("localhost:80"));
	CHECK(image_host_loopback("[::1]:5000"));
	CHECK(!image_host_loopback("127.0.0.1.evil.io"));
	CHECK(!image_host_loopback("127.0.0.256"));
	CHECK(!image_host_loopback("128.0.0.1"));
	CHECK(!image_host_loopback("localhost.evil.io"));
	CHECK(!image_host_loopback("[::2]:5000"));
	CHECK(!image_host_loopback("127.0.0"));
}

static void platforms(void)
{
	struct image_platform p;
	const char *why;
	char s[100];
	CHECK_EQ(image_platform_parse("linux/x86_64", &p, &why), DF_OK);
	image_platform_format(&p, s, sizeof s);
	CHECK_STR(s, "linux/amd64");
	CHECK_EQ(image_platform_parse("linux/aarch64/v8", &p, &why), DF_OK);
	image_platform_format(&p, s, sizeof s);
	CHECK_STR(s, "linux/arm64");
	CHECK_EQ(image_platform_parse("linux/arm", &p, &why), DF_OK);
	image_platform_format(&p, s, sizeof s);
	CHECK_STR(s, "linux/arm/v7");
	CHECK_EQ(image_platform_parse("linux", &p, &why), DF_ERR);
	CHECK_EQ(image_platform_parse("linux/", &p, &why), DF_ERR);
	CHECK_EQ(image_platform_parse("linux/amd64/v2/x", &p, &why), DF_ERR);
	CHECK_EQ(image_platform_parse("linux/am d64", &p, &why), DF_ERR);
	image_platform_of_machine("x86_64", &p);
	image_platform_format(&p, s, sizeof s);
	CHECK_STR(s, "linux/amd64");
	image_platform_of_machine("armv7l", &p);
	image_platform_format(&p, s, sizeof s);
	CHECK_STR(s, "linux/arm/v7");
	image_platform_of_machine("aarch64", &p);
	CHECK_EQ(image_platform_score(&p, "linux", "arm64", "v8"), 3); /* v8 is arm64's default */
	CHECK_EQ(image_platform_score(&p, "linux", "arm64", ""), 3);
	CHECK_EQ(image_platform_score(&p, "linux", "amd64", ""), 0);
	CHECK_EQ(image_platform_score(&p, "windows", "arm64", ""), 0);
	image_platform_of_machine("x86_64", &p);
	CHECK_EQ(image_platform_score(&p, "linux", "amd64", "v3"), 1); /* any variant beats none */
}

/* Leaves 4 KiB of the stack below this frame full of 'A' and no NUL: what a later call's unwritten
 * local buffer then holds. */
static void __attribute__((noinline)) dirty_stack(void)
{
	volatile char junk[4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = 'A';
}

/* An index entry (a registry's word) naming an os, architecture or variant longer than a platform
 * holds: no platform, score 0. Before, score's own copy of the name was left unwritten and the
 * lowering loop walked the stack's garbage past its end (under ASan: stack-buffer-overflow). */
static void platform_overlong(void)
{
	struct image_platform p;
	char name[100];
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = 0;
	image_platform_of_machine("x86_64", &p);
	dirty_stack();
	CHECK_EQ(image_platform_score(&p, "linux", name, ""), 0);
	dirty_stack();
	CHECK_EQ(image_platform_score(&p, name, "amd64", ""), 0);
	dirty_stack();
	CHECK_EQ(image_platform_score(&p, "linux", "amd64", name), 0);
	CHECK_EQ(image_platform_score(&p, "linux", "amd64", ""), 3);
	const char *why;
	char spec[120];
	snprintf(spec, sizeof spec, "linux/%s", name);
	dirty_stack();
	CHECK_EQ(image_platform_parse(spec, &p, &why), DF_ERR);
}

static const char index_doc[] =
	"{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.oci.image.index.v1+json\", \"manifests\": ["
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:" HEX64 "\", \"size\": 500,"
	" \"platform\": {\"architecture\": \"arm64\", \"os\": \"linux\", \"variant\": \"v8\"}},"
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:" HEX64B "\", \"size\": 501,"
	" \"platform\": {\"architecture\": \"amd64\", \"os\": \"linux\"}, \"annotations\": {\"a\": \"b\"}},"
	"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"sha256:" HEX64 "\", \"size\": 9,"
	" \"platform\": {\"architecture\": \"unknown\", \"os\": \"unknown\"}}]}";

static const char manifest_doc[] =
	"{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\","
	" \"config\": {\"mediaType\": \"application/vnd.docker.container.image.v1+json\", \"digest\": \"sha256:" HEX64 "\", \"size\": 7},"
	" \"layers\": [{\"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\", \"digest\": \"sha256:" HEX64B "\", \"size\": 100},"
	" {\"mediaType\": \"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\", \"digest\": \"sha256:" HEX64 "\", \"size\": 5,"
	" \"urls\": [\"https://mcr.microsoft.com/x\"]}]}";

static void manifests(void)
{
	struct image_doc d;
	const char *why = NULL;
	CHECK_EQ(image_doc_parse(index_doc, strlen(index_doc), slice_of(""), toks, 4096, descs, 64, &d, &why), DF_OK);
	CHECK_EQ(d.kind, IMAGE_DOC_INDEX);
	CHECK_EQ(d.n, 3);
	CHECK_STR(d.d[1].digest, "sha256:" HEX64B);
	CHECK_EQ(d.d[1].size, 501);
	CHECK_STR(d.d[0].variant, "v8");
	struct image_platform p;
	image_platform_of_machine("x86_64", &p);
	CHECK_EQ(image_doc_pick(&d, &p), 1);
	image_platform_of_machine("aarch64", &p);
	CHECK_EQ(image_doc_pick(&d, &p), 0);
	image_platform_of_machine("s390x", &p);
	CHECK_EQ(image_doc_pick(&d, &p), -1);
	CHECK_EQ(image_doc_parse(manifest_doc, strlen(manifest_doc), slice_of(""), toks, 4096, descs, 64, &d, &why), DF_OK);
	CHECK_EQ(d.kind, IMAGE_DOC_MANIFEST);
	CHECK_STR(d.config.digest, "sha256:" HEX64);
	CHECK_EQ(d.config.size, 7);
	CHECK_EQ(d.n, 2);
	CHECK(!d.d[0].foreign);
	CHECK(d.d[1].foreign);
	CHECK_EQ(image_doc_pick(&d, &p), -1); /* a manifest is no index */
	/* no mediaType: the Content-Type says, else the shape */
	const char *bare = "{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:" HEX64 "\", \"size\": 1}, \"layers\": []}";
	CHECK_EQ(image_doc_parse(bare, strlen(bare), slice_of("application/vnd.oci.image.manifest.v1+json; charset=utf-8"), toks, 4096, descs, 64, &d, &why), DF_OK);
	CHECK_STR(d.media_type, "application/vnd.oci.image.manifest.v1+json");
	CHECK_EQ(image_doc_parse(bare, strlen(bare), slice_of(""), toks, 4096, descs, 64, &d, &why), DF_OK);
	CHECK_EQ(d.kind, IMAGE_DOC_MANIFEST);
	CHECK_EQ(d.n, 0);
	struct { const char *doc, *why; } bad[] = {
		{"{\"schemaVersion\": 1, \"fsLayers\": []}", "schema 1"},
		{"{\"schemaVersion\": 2, \"mediaType\": \"text/html\", \"layers\": []}", "unknown mediaType"},
		{"{\"schemaVersion\": 2, \"layers\": [{\"digest\": \"sha256:" HEX64 "\", \"size\": 1}]}", "config"},
		{"{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha512:ab\", \"size\": 1}, \"layers\": []}", "sha256"},
		{"{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:" HEX64 "\"}, \"layers\": []}", "size"},
		{"{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:" HEX64 "\", \"size\": -1}, \"layers\": []}", "size"},
		{"{\"schemaVersion\": 2, \"manifests\": {}}", "manifests array"},
		{"{\"schemaVersion\": 2, \"manifests\": [{\"digest\": \"sha256:" HEX64 "\", \"size\": 1, \"platform\": 3}]}", "platform"},
		{"[]", "object"},
		{"{\"schemaVersion\": 2", "closed"},
	};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		why = NULL;
		if (image_doc_parse(bad[i].doc, strlen(bad[i].doc), slice_of(""), toks, 4096, descs, 64, &d, &why) != DF_ERR || !why ||
		    !strstr(why, bad[i].why)) {
			fprintf(stderr, "    %s: %s\n", bad[i].doc, why ? why : "accepted");
			CHECK(0);
		}
	}
	/* more descriptors than the caller has room for */
	CHECK_EQ(image_doc_parse(index_doc, strlen(index_doc), slice_of(""), toks, 4096, descs, 2, &d, &why), DF_ERR);
}

static void challenges(void)
{
	struct regauth_challenge c;
	memset(&c, 0, sizeof c);
	CHECK_EQ(regauth_challenge_parse(slice_of("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
						  "scope=\"repository:library/alpine:pull\""), &c), DF_OK);
	CHECK_EQ(c.scheme, REGAUTH_BEARER);
	CHECK_STR(c.realm, "https://auth.docker.io/token");
	CHECK_STR(c.service, "registry.docker.io");
	CHECK_STR(c.scope, "repository:library/alpine:pull");
	memset(&c, 0, sizeof c);
	CHECK_EQ(regauth_challenge_parse(slice_of("Basic realm=\"df-test\""), &c), DF_OK);
	CHECK_EQ(c.scheme, REGAUTH_BASIC);
	CHECK_STR(c.realm, "df-test");
	/* several challenges in one value, unusual spacing and case, escapes, token values */
	memset(&c, 0, sizeof c);
	CHECK_EQ(regauth_challenge_parse(slice_of("Negotiate abc==, basic realm=x ,  BEARER  Realm = \"http://t/\\\"q\\\"\" , error=invalid_token"), &c), DF_OK);
	CHECK_EQ(c.scheme, REGAUTH_BEARER);
	CHECK_STR(c.realm, "http://t/\"q\"");
	CHECK_STR(c.error, "invalid_token");
	/* Bearer beats a Basic found before it, across calls too */
	memset(&c, 0, sizeof c);
	CHECK_EQ(regauth_challenge_parse(slice_of("Basic realm=a"), &c), DF_OK);
	CHECK_EQ(regauth_challenge_parse(slice_of("Bearer realm=\"http://t\""), &c), DF_OK);
	CHECK_EQ(c.scheme, REGAUTH_BEARER);
	CHECK_EQ(regauth_challenge_parse(slice_of("Basic realm=b"), &c), DF_OK);
	CHECK_EQ(c.scheme, REGAUTH_BEARER);
	memset(&c, 0, sizeof c);
	CHECK_EQ(regauth_challenge_parse(slice_of("Negotiate"), &c), DF_AGAIN);
	CHECK_EQ(regauth_challenge_parse(slice_of(""), &c), DF_AGAIN);
	const char *bad[] = {"Bearer service=x", "Bearer realm=\"open", "Bearer realm=\"a\" junk", "@", "Bearer realm=\"a\\",
			     "Basic realm=\"a\x01\""};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		memset(&c, 0, sizeof c);
		if (regauth_challenge_parse(slice_of(bad[i]), &c) != DF_ERR) {
			fprintf(stderr, "    accepted: %s\n", bad[i]);
			CHECK(0);
		}
	}
	char longv[1200] = "Bearer realm=\"";
	memset(longv + 14, 'a', 1100);
	strcpy(longv + 1114, "\"");
	memset(&c, 0, sizeof c);
	CHECK_EQ(regauth_challenge_parse(slice_of(longv), &c), DF_ERR);
}

static void tokens(void)
{
	char tok[64];
	uint64_t exp = 0;
	const char *why;
	const char *a = "{\"token\": \"abc.def-ghi_\", \"expires_in\": 300, \"issued_at\": \"2026-01-01T00:00:00Z\"}";
	CHECK_EQ(regauth_token_parse(a, strlen(a), toks, 4096, tok, sizeof tok, &exp, &why), DF_OK);
	CHECK_STR(tok, "abc.def-ghi_");
	CHECK_EQ(exp, 300);
	const char *b = "{\"access_token\": \"xyz\"}";
	CHECK_EQ(regauth_token_parse(b, strlen(b), toks, 4096, tok, sizeof tok, &exp, &why), DF_OK);
	CHECK_STR(tok, "xyz");
	CHECK_EQ(exp, 60);
	const char *bad[] = {"{}", "{\"token\": \"\"}", "{\"token\": \"a b\"}", "{\"token\": \"a\\r\\nX-Evil: 1\"}", "{\"token\": 5}",
			     "not json", "{\"token\": \"\\u00e9\"}"};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++)
		CHECK_EQ(regauth_token_parse(bad[i], strlen(bad[i]), toks, 4096, tok, sizeof tok, &exp, &why), DF_ERR);
	char tiny[4];
	CHECK_EQ(regauth_token_parse(a, strlen(a), toks, 4096, tiny, sizeof tiny, &exp, &why), DF_ERR);
}

static int find(const char *file, const char *registry, const char *repo, char *creds)
{
	const char *why = NULL;
	int rc = regauth_file_find(file, strlen(file), registry, repo, toks, 4096, creds, 256, &why);
	if (rc != DF_OK && !why)
		return -100;
	return rc;
}

static void authfiles(void)
{
	char creds[256], enc[64];
	base64_encode("u:p", 3, enc, sizeof enc);
	char f[1024];
	snprintf(f, sizeof f,
		 "{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"%s\"}, \"reg.io:5000\": {\"auth\": \"dTI6cDI=\"},"
		 " \"reg.io:5000/team\": {\"auth\": \"dTM6cDM=\"}, \"http://other.io/v2/\": {\"username\": \"u4\", \"password\": \"p:4\"}}}",
		 enc);
	CHECK_EQ(find(f, "docker.io", "library/alpine", creds), DF_OK);
	CHECK_STR(creds, "u:p");
	CHECK_EQ(find(f, "reg.io:5000", "x/y", creds), DF_OK);
	CHECK_STR(creds, "u2:p2");
	CHECK_EQ(find(f, "reg.io:5000", "team/app", creds), DF_OK); /* the namespace's entry is more specific */
	CHECK_STR(creds, "u3:p3");
	CHECK_EQ(find(f, "reg.io:5000", "teamx/app", creds), DF_OK); /* a prefix only at a '/' */
	CHECK_STR(creds, "u2:p2");
	CHECK_EQ(find(f, "other.io", "a", creds), DF_OK);
	CHECK_STR(creds, "u4:p:4");
	CHECK_EQ(find(f, "reg.io", "x", creds), DF_AGAIN); /* another port is another registry */
	CHECK_EQ(find(f, "io", "x", creds), DF_AGAIN);
	CHECK_EQ(find("{\"auths\": {}, \"credsStore\": \"desktop\"}", "reg.io", "x", creds), DF_AGAIN);
	CHECK_EQ(find("{}", "reg.io", "x", creds), DF_AGAIN);
	CHECK_EQ(find("{\"auths\": {\"reg.io\": {}}, \"credHelpers\": {\"reg.io\": \"ecr\"}}", "reg.io", "x", creds), DF_AGAIN);
	CHECK_EQ(find("{\"auths\": {\"reg.io\": {\"identitytoken\": \"x\"}}}", "reg.io", "x", creds), DF_ERR);
	CHECK_EQ(find("{\"auths\": {\"reg.io\": {\"auth\": \"!!\"}}}", "reg.io", "x", creds), DF_ERR);
	CHECK_EQ(find("{\"auths\": {\"reg.io\": {\"auth\": \"dXNlcg==\"}}}", "reg.io", "x", creds), DF_ERR); /* "user": no ':' */
	CHECK_EQ(find("{\"auths\": {\"reg.io\": {\"auth\": \"dTpwDQo=\"}}}", "reg.io", "x", creds), DF_ERR);  /* "u:p\r\n" */
	CHECK_EQ(find("{\"auths\": []}", "reg.io", "x", creds), DF_ERR);
	CHECK_EQ(find("{\"auths\": ", "reg.io", "x", creds), DF_ERR);
	char line[128];
	CHECK_EQ(regauth_basic_line("u:p", line, sizeof line), DF_OK);
	CHECK_STR(line, "Authorization: Basic dTpw\r\n");
	CHECK_EQ(regauth_basic_line("nocolon", line, sizeof line), DF_ERR);
	CHECK_EQ(regauth_basic_line("u:p\r\nX: y", line, sizeof line), DF_ERR);
	CHECK_EQ(regauth_basic_line("u:p", line, 26), DF_ERR);
}

static void blob_requests(void)
{
	static struct pushrecv_blobs rq;
	const char *why = NULL;
	const char *ok = "image: reg.io/a@sha256:" HEX64 "\nheader: Authorization: Bearer t0k\nheader: X-A: 1\n"
			 "blob: sha256:" HEX64 " 1234 http://reg.io/v2/a/blobs/sha256:" HEX64 "\n"
			 "blob: sha256:" HEX64B " 0 https://reg.io/v2/a/blobs/sha256:" HEX64B "\nfuture: ignored\n";
	CHECK_EQ(pushrecv_parse_blobs(ok, strlen(ok), &rq, &why), DF_OK);
	CHECK_EQ(rq.n, 2);
	CHECK_STR(rq.headers, "Authorization: Bearer t0k\r\nX-A: 1\r\n");
	CHECK_EQ(rq.blob[0].size, 1234);
	CHECK(slice_eq(rq.blob[1].url, "https://reg.io/v2/a/blobs/sha256:" HEX64B));
	CHECK(slice_eq(rq.image, "reg.io/a@sha256:" HEX64));
	struct { const char *body, *why; } bad[] = {
		{"image: x\n", "no blob"},
		{"blob: sha256:" HEX64 " 1 ftp://x/y\n", "blob:"},
		{"blob: sha256:" HEX64 " x http://x/y\n", "blob:"},
		{"blob: md5:0123456789abcdef0123456789abcdef 1 http://x/y\n", "blob:"},
		{"blob: sha256:" HEX64 " 1\n", "blob:"},
		{"header: Authorization\nblob: sha256:" HEX64 " 1 http://x/y\n", "header:"},
		{"header: Bad Name: v\nblob: sha256:" HEX64 " 1 http://x/y\n", "header:"},
		{"header: A: b\rX-Evil: 1\nblob: sha256:" HEX64 " 1 http://x/y\n", "control"},
		{"no colon line\n", "malformed"},
	};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad); i++) {
		why = NULL;
		if (pushrecv_parse_blobs(bad[i].body, strlen(bad[i].body), &rq, &why) != DF_ERR || !why || !strstr(why, bad[i].why)) {
			fprintf(stderr, "    %s: %s\n", bad[i].body, why ? why : "accepted");
			CHECK(0);
		}
	}
	/* too many blobs, too many header bytes */
	size_t cap = (PUSH_MAX_BLOBS + 1) * 120 + 1;
	char *big = malloc(cap);
	size_t w = 0;
	for (int i = 0; i <= PUSH_MAX_BLOBS; i++)
		w += (size_t)snprintf(big + w, cap - w, "blob: sha256:" HEX64 " 1 http://x/y\n");
	CHECK_EQ(pushrecv_parse_blobs(big, w, &rq, &why), DF_ERR);
	CHECK(strstr(why, "too many") != NULL);
	w = 0;
	for (int i = 0; i < 400; i++)
		w += (size_t)snprintf(big + w, cap - w, "header: X-Long: %060d\n", i);
	w += (size_t)snprintf(big + w, cap - w, "blob: sha256:" HEX64 " 1 http://x/y\n");
	CHECK_EQ(pushrecv_parse_blobs(big, w, &rq, &why), DF_ERR);
	CHECK(strstr(why, "too long") != NULL);
	free(big);
}

static const struct unit_test tests[] = {
	{"refs", refs}, {"platforms", platforms}, {"platform_overlong", platform_overlong}, {"manifests", manifests}, {"challenges", challenges},
	{"tokens", tokens}, {"authfiles", authfiles}, {"blob_requests", blob_requests},
};
UNIT_MAIN("image", tests)
