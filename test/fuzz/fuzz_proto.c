/* Fuzz target for the swarm protocol's line reader and value parsers (core/proto), and the
 * supernode's body parsers on their own (fuzz_sn_* drive them through the handlers): slices stay
 * inside the input, every refusal has a cause. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/df.h"
#include "core/proto.h"
#include "core/taskid.h"

static void inside(struct slice s, const char *p, size_t n)
{
	if (s.n && (s.p < p || s.p + s.n > p + n))
		abort();
}

static void bodies(const char *b, size_t size)
{
	struct proto_err e = {0};
	struct proto_register r;
	if (proto_parse_register(b, size, &r, &e) == DF_OK) {
		inside(r.task, b, size);
		inside(r.url, b, size);
		if (r.nhave > PROTO_REG_MAX_HAVE)
			abort();
		for (unsigned i = 0; i < r.nhave; i++)
			inside(r.have[i], b, size);
		inside(r.replace_secret, b, size);
		if (!r.task.n || !r.url.n || r.nheader > PROTO_REG_MAX_HEADERS || r.url.n >= PROTO_REG_URL_MAX)
			abort();
		for (unsigned i = 0; i < r.nheader; i++)
			inside(r.header[i], b, size);
	} else if (!e.why) {
		abort();
	}
	size_t pos = 0;
	int rc;
	struct proto_work_line w;
	while ((rc = proto_next_work(b, size, &pos, &w, &e)) == DF_OK)
		inside(w.r.why, b, size);
	if (rc == DF_ERR && !e.why)
		abort();
	struct proto_beat t;
	pos = 0;
	while ((rc = proto_next_beat(b, size, &pos, &t, &e)) == DF_OK) {
		inside(t.task, b, size);
		inside(t.secret, b, size);
	}
	if (rc == DF_ERR && !e.why)
		abort();
	struct proto_peer_ref q;
	if (proto_parse_peer_query((struct slice){b, size}, &q, &e) == DF_OK) {
		inside(q.task, b, size);
		inside(q.secret, b, size);
	}
	char out[256];
	proto_err_format(&e, "fuzz", out, sizeof out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bodies((const char *)data, size);
	const char *b = (const char *)data;
	size_t pos = 0;
	struct proto_line l;
	uint8_t bits[64];
	while (proto_next(b, size, &pos, &l) == DF_OK) {
		struct proto_assign a;
		struct proto_report r;
		int64_t v;
		(void)proto_parse_assign(l.val, &a);
		(void)proto_parse_report(l.val, &r);
		(void)proto_i64(l.val, &v);
		(void)proto_parse_bitmap(l.val, bits, (uint32_t)(l.val.n * 4 <= 512 ? l.val.n * 4 : 512));
		(void)taskid_valid(l.val.p, l.val.n);
	}
	return 0;
}
