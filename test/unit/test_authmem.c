/* Unit tests of swarm/authmem: the file parser (header, malformed and cut lines), keys that keep
 * their parts (and blobs) apart, validity windows, eviction of the oldest when full, and reload from disk. */
#include <stdio.h>
#include <string.h>

#include "core/df.h"
#include "swarm/authmem.h"
#include "test/unit/unit.h"

static int count_cb(void *arg, const struct authmem_entry *e)
{
	(void)e;
	++*(int *)arg;
	return 0;
}

static void parse(void)
{
	int n = 0;
	const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	char buf[512];
	snprintf(buf, sizeof buf, AUTHMEM_MAGIC "%s 1700000000\n%s x\nshort 1\n%s 5", hex, hex, hex);
	CHECK_EQ(authmem_parse(buf, strlen(buf), count_cb, &n), 3); /* bad time, short, cut last line */
	CHECK_EQ(n, 1);
	n = 0;
	CHECK_EQ(authmem_parse("df-authmem 2\n", 13, count_cb, &n), -1);
	CHECK_EQ(authmem_parse("", 0, count_cb, &n), -1);
	CHECK_EQ(authmem_parse(AUTHMEM_MAGIC, strlen(AUTHMEM_MAGIC), count_cb, &n), 0);
	CHECK_EQ(n, 0);
	/* upper-case hex is not the format */
	snprintf(buf, sizeof buf, AUTHMEM_MAGIC "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff 1\n");
	CHECK_EQ(authmem_parse(buf, strlen(buf), count_cb, &n), 1);
}

static void keys(void)
{
	uint8_t a[32], b[32], c[32];
	authmem_key("Authorization: x", 16, "reg:5000", 8, "private/app", 11, "sha256:1", 8, a);
	authmem_key("Authorization: x", 16, "reg:5000", 8, "public/app", 10, "sha256:1", 8, b);
	CHECK(memcmp(a, b, 32) != 0);
	authmem_key("Authorization: x", 16, "reg:5000", 8, "private/app", 11, "sha256:2", 8, b);
	CHECK(memcmp(a, b, 32) != 0); /* another blob of the same repository */
	/* moving bytes between parts changes the key */
	authmem_key("ab", 2, "c", 1, "d", 1, "e", 1, b);
	authmem_key("a", 1, "bc", 2, "d", 1, "e", 1, c);
	CHECK(memcmp(b, c, 32) != 0);
}

static void remember(void)
{
	char path[512];
	uint8_t k[5][32];
	snprintf(path, sizeof path, "%s/authmem", unit_tmpdir());
	for (int i = 0; i < 5; i++) {
		char r[8];
		snprintf(r, sizeof r, "r%d", i);
		authmem_key("", 0, "h", 1, r, strlen(r), "d", 1, k[i]);
	}
	struct authmem *m = authmem_open(path, 3);
	CHECK(m != NULL);
	CHECK_EQ(authmem_count(m), 0);
	CHECK_EQ(authmem_accept(m, k[0], 1000), DF_OK);
	CHECK_EQ(authmem_valid(m, k[0], 1000 + 86400, 86400), 1);
	CHECK_EQ(authmem_valid(m, k[0], 1001 + 86400, 86400), 0);
	CHECK_EQ(authmem_valid(m, k[0], 999, 86400), 0); /* from the future: a clock gone back */
	CHECK_EQ(authmem_valid(m, k[1], 1000, 86400), 0);
	CHECK_EQ(authmem_accept(m, k[1], 1100), DF_OK);
	CHECK_EQ(authmem_accept(m, k[2], 1200), DF_OK);
	CHECK_EQ(authmem_accept(m, k[0], 1300), DF_OK); /* k[0] refreshed: k[1] is now the oldest */
	CHECK_EQ(authmem_accept(m, k[3], 1400), DF_OK);
	CHECK_EQ(authmem_count(m), 3);
	CHECK_EQ(authmem_valid(m, k[1], 1400, 86400), 0);
	CHECK_EQ(authmem_valid(m, k[0], 1400, 86400), 1);
	authmem_free(m);
	/* a restart reads the same decisions back; the file holds no credential, only hashes */
	m = authmem_open(path, 3);
	CHECK(m != NULL);
	CHECK_EQ(authmem_count(m), 3);
	CHECK_EQ(authmem_valid(m, k[0], 1400, 86400), 1);
	CHECK_EQ(authmem_valid(m, k[2], 1400, 86400), 1);
	CHECK_EQ(authmem_valid(m, k[3], 1400, 86400), 1);
	/* a smaller bound keeps the most recent */
	authmem_free(m);
	m = authmem_open(path, 1);
	CHECK_EQ(authmem_count(m), 1);
	CHECK_EQ(authmem_valid(m, k[3], 1400, 86400), 1);
	authmem_free(m);
	/* a damaged file is not fatal */
	FILE *f = fopen(path, "w");
	fputs("garbage\n", f);
	fclose(f);
	m = authmem_open(path, 3);
	CHECK(m != NULL);
	CHECK_EQ(authmem_count(m), 0);
	authmem_free(m);
}

static const struct unit_test tests[] = {
	{"parse", parse},
	{"keys", keys},
	{"remember", remember},
};
UNIT_MAIN("authmem", tests)
