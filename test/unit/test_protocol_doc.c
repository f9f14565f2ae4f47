/* docs/PROTOCOL.md's examples against the code: task ids (normalization and hashing), the bitmap's
 * bit order, and register, work and heartbeat bodies, so the document an independent implementation
 * follows cannot drift from what df does. Run from the repository root (test/run.sh does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/df.h"
#include "core/proto.h"
#include "core/taskid.h"
#include "net/http_parse.h"
#include "test/unit/unit.h"

static char *doc;

/* The body of the fenced block ```TAG (the n-th such block), or NULL; malloc'd. */
static char *block(const char *tag, int n)
{
	char open[32];
	snprintf(open, sizeof open, "\n```%s\n", tag);
	const char *p = doc;
	for (int i = 0; p && i <= n; i++) {
		p = strstr(p, open);
		if (p)
			p += strlen(open);
	}
	if (!p)
		return NULL;
	const char *e = strstr(p, "```");
	return e ? strndup(p, (size_t)(e - p)) : NULL;
}

static void load(void)
{
	if (doc)
		return;
	FILE *f = fopen("docs/PROTOCOL.md", "rb");
	if (!f)
		return;
	static char buf[1 << 17];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	doc = buf;
}

static void id_of(const char *url, const char *filter, char out[TASKID_MAX], char *norm, size_t cap)
{
	int n = http_url_normalize(url, strlen(url), filter, norm, cap);
	if (n < 0) {
		out[0] = norm[0] = 0;
		return;
	}
	taskid_from_url(norm, (size_t)n, out);
}

static void task_ids(void)
{
	load();
	if (!doc)
		UNIT_SKIP("docs/PROTOCOL.md not found: run from the repository root");
	char *b = block("taskid", 0);
	CHECK(b != NULL);
	int rows = 0;
	for (char *save = NULL, *l = b ? strtok_r(b, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		char url[512], filter[64], want_norm[512], want_id[80], norm[512], id[TASKID_MAX];
		if (sscanf(l, "%511s %63s %511s %79s", url, filter, want_norm, want_id) != 4) {
			CHECK(!"a taskid row has four fields");
			continue;
		}
		id_of(url, strcmp(filter, "-") ? filter : NULL, id, norm, sizeof norm);
		if (strcmp(norm, want_norm) || strcmp(id, want_id))
			fprintf(stderr, "    %s: code says %s %s\n", url, norm, id);
		CHECK_STR(norm, want_norm);
		CHECK_STR(id, want_id);
		rows++;
	}
	CHECK(rows >= 4);
	free(b);
}

static void bitmaps(void)
{
	load();
	if (!doc)
		UNIT_SKIP("docs/PROTOCOL.md not found");
	char *b = block("bitmap", 0);
	CHECK(b != NULL);
	unsigned pieces = 0;
	char hex[64];
	int off = 0;
	if (b && sscanf(b, "%u %63s %n", &pieces, hex, &off) == 2 && pieces <= 64) {
		uint8_t bits[8] = {0};
		CHECK_EQ(proto_parse_bitmap(slice_of(hex), bits, pieces), DF_OK);
		int want[64] = {0}, v, k;
		for (const char *p = b + off; sscanf(p, "%d%n", &v, &k) == 1; p += k)
			if (v >= 0 && v < 64)
				want[v] = 1;
		for (unsigned i = 0; i < pieces; i++)
			CHECK_EQ(!!(bits[i / 8] & (0x80 >> (i % 8))), want[i]);
		char back[32];
		proto_hex_bitmap(bits, pieces, back);
		CHECK_STR(back, hex);
	} else {
		CHECK(!"the bitmap example reads 'PIECES HEX PIECE...'");
	}
	free(b);
}

static void bodies(void)
{
	load();
	if (!doc)
		UNIT_SKIP("docs/PROTOCOL.md not found");
	struct proto_err e;
	char *r = block("register", 0);
	CHECK(r != NULL);
	struct proto_register reg;
	if (r && proto_parse_register(r, strlen(r), &reg, &e) == DF_OK) {
		/* the example's task is the id its url and filter give */
		char url[512], filter[64], norm[512], id[TASKID_MAX];
		slice_copy(reg.url, url, sizeof url);
		slice_copy(reg.filter, filter, sizeof filter);
		id_of(url, filter[0] ? filter : NULL, id, norm, sizeof norm);
		if (!slice_eq(reg.task, id))
			fprintf(stderr, "    the register example's task should be %s\n", id);
		CHECK(slice_eq(reg.task, id));
		CHECK(reg.nheader == 1 && reg.replace == 3 && reg.nhave == 1 && reg.have[0].n == 4 && reg.host.n == PROTO_HOST_HEX);
	} else {
		CHECK(!"the register example parses");
	}
	free(r);
	char *w = block("work", 0);
	CHECK(w != NULL);
	size_t pos = 0;
	int n = 0, rc;
	struct proto_work_line wl;
	while (w && (rc = proto_next_work(w, strlen(w), &pos, &wl, &e)) == DF_OK)
		n++;
	CHECK(w && rc == DF_AGAIN && n == 5);
	free(w);
	char *h = block("heartbeat", 0);
	CHECK(h != NULL);
	struct proto_beat beat;
	pos = 0;
	CHECK(h && proto_next_beat(h, strlen(h), &pos, &beat, &e) == DF_OK && beat.peer == 3 && beat.secret.n == 32);
	free(h);
}

static const struct unit_test tests[] = {
	{"task_ids", task_ids},
	{"bitmaps", bitmaps},
	{"bodies", bodies},
};
UNIT_MAIN("protocol_doc", tests)
