/* Fuzz target for the swarm protocol's line reader and value parsers (core/proto). */
#include <stdint.h>
#include <string.h>

#include "core/df.h"
#include "core/proto.h"
#include "core/taskid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
