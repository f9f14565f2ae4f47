/* Unit tests of swarm/mancache: the manifest and tag file parsers, the Accept rule, and a store
 * that checks digests both ways, remembers tags, and survives a damaged file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/df.h"
#include "swarm/mancache.h"
#include "test/unit/unit.h"

#define EMPTY_SHA "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void parse(void)
{
	struct slice t, b;
	const char *ok = MANCACHE_MAGIC "application/vnd.oci.image.manifest.v1+json\n{}";
	CHECK_EQ(mancache_parse(ok, strlen(ok), &t, &b), DF_OK);
	CHECK(slice_eq(t, "application/vnd.oci.image.manifest.v1+json"));
	CHECK(slice_eq(b, "{}"));
	const char *empty_body = MANCACHE_MAGIC "a/b\n";
	CHECK_EQ(mancache_parse(empty_body, strlen(empty_body), &t, &b), DF_OK);
	CHECK_EQ(b.n, 0);
	const char *bad[] = {"", "df-manifest 2\na/b\n{}", MANCACHE_MAGIC "\n{}", MANCACHE_MAGIC "a b\n{}",
			     MANCACHE_MAGIC "a/b", MANCACHE_MAGIC "a/b\r\n{}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_EQ(mancache_parse(bad[i], strlen(bad[i]), &t, &b), DF_ERR);
	char out[72];
	const char *tag = MANCACHE_TAG_MAGIC ABC_SHA "\n";
	CHECK_EQ(mancache_parse_tag(tag, strlen(tag), out), DF_OK);
	CHECK(strcmp(out, ABC_SHA) == 0);
	const char *badtags[] = {MANCACHE_TAG_MAGIC ABC_SHA, MANCACHE_TAG_MAGIC ABC_SHA "\nx",
				 MANCACHE_TAG_MAGIC "sha256:BA7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n",
				 "df-mtag 2\n" ABC_SHA "\n"};
	for (size_t i = 0; i < sizeof badtags / sizeof badtags[0]; i++)
		CHECK_EQ(mancache_parse_tag(badtags[i], strlen(badtags[i]), out), DF_ERR);
}

static void accepts(void)
{
	struct slice oci = slice_of("application/vnd.oci.image.index.v1+json");
	struct slice a[2] = {slice_of("application/vnd.docker.distribution.manifest.v2+json; q=0.9, "
				      "application/vnd.docker.distribution.manifest.list.v2+json"),
			     slice_of(" application/vnd.oci.image.index.v1+json ;q=0.5")};
	CHECK_EQ(mancache_accepts(a, 0, oci), 1); /* no Accept: anything */
	CHECK_EQ(mancache_accepts(a, 1, oci), 0);
	CHECK_EQ(mancache_accepts(a, 2, oci), 1);
	CHECK_EQ(mancache_accepts(a, 1, slice_of("application/vnd.docker.distribution.manifest.v2+json")), 1);
	struct slice star = slice_of("*/*"), app = slice_of("application/*"), text = slice_of("text/*");
	CHECK_EQ(mancache_accepts(&star, 1, oci), 1);
	CHECK_EQ(mancache_accepts(&app, 1, oci), 1);
	CHECK_EQ(mancache_accepts(&text, 1, oci), 0);
	struct slice blank = slice_of(" , ");
	CHECK_EQ(mancache_accepts(&blank, 1, oci), 1);
}

static void store(void)
{
	char dir[] = "/tmp/df-mancache-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char sub[200];
	snprintf(sub, sizeof sub, "%s/m", dir);
	struct mancache *c = mancache_open(sub);
	CHECK(c != NULL);
	char *body = NULL, ct[256], d[72];
	size_t len = 0;
	CHECK_EQ(mancache_get(c, ABC_SHA, &body, &len, ct, sizeof ct), DF_ERR);
	CHECK_EQ(mancache_put(c, EMPTY_SHA, "a/b", "abc", 3), DF_ERR); /* not its digest */
	CHECK_EQ(mancache_put(c, ABC_SHA, "a b", "abc", 3), DF_ERR);   /* not a type */
	CHECK_EQ(mancache_put(c, "sha512:00", "a/b", "abc", 3), DF_ERR);
	CHECK_EQ(mancache_put(c, ABC_SHA, "application/x", "abc", 3), DF_OK);
	CHECK_EQ(mancache_get(c, ABC_SHA, &body, &len, ct, sizeof ct), DF_OK);
	CHECK_EQ(len, 3);
	CHECK(memcmp(body, "abc", 3) == 0);
	CHECK(strcmp(ct, "application/x") == 0);
	free(body);
	CHECK_EQ(mancache_get_tag(c, "h:1", "r", "v1", d), DF_ERR);
	CHECK_EQ(mancache_put_tag(c, "h:1", "r", "v1", ABC_SHA), DF_OK);
	CHECK_EQ(mancache_put_tag(c, "h:1", "r", "v1", "latest"), DF_ERR);
	CHECK_EQ(mancache_get_tag(c, "h:1", "r", "v1", d), DF_OK);
	CHECK(strcmp(d, ABC_SHA) == 0);
	CHECK_EQ(mancache_get_tag(c, "h:1", "r1", "v", d), DF_ERR); /* parts stay apart */
	CHECK_EQ(mancache_put_tag(c, "h:1", "r", "v1", EMPTY_SHA), DF_OK);
	CHECK_EQ(mancache_get_tag(c, "h:1", "r", "v1", d), DF_OK);
	CHECK(strcmp(d, EMPTY_SHA) == 0);
	mancache_free(c);
	/* a damaged copy is not served */
	char p[300];
	snprintf(p, sizeof p, "%s/sha256-%s", sub, &ABC_SHA[7]);
	FILE *f = fopen(p, "wb");
	fputs(MANCACHE_MAGIC "application/x\nabd", f);
	fclose(f);
	c = mancache_open(sub);
	CHECK_EQ(mancache_get(c, ABC_SHA, &body, &len, ct, sizeof ct), DF_ERR);
	/* too large for a manifest */
	char *big = calloc(1, MANCACHE_MAX_MANIFEST + 1);
	CHECK_EQ(mancache_put(c, ABC_SHA, "a/b", big, MANCACHE_MAX_MANIFEST + 1), DF_ERR);
	free(big);
	mancache_free(c);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
}

static const struct unit_test tests[] = {
	{"parse", parse},
	{"accepts", accepts},
	{"store", store},
};
UNIT_MAIN("mancache", tests)
