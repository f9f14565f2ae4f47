/* Fuzz target: the body of POST /v1/heartbeat, through the supernode's real handler
 * (test/fuzz/sn_harness.h builds the supernode; "@T", "@A", "@B" in the input stand for the task
 * id and peer A's and B's secrets). */
#include "test/fuzz/sn_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[1 << 17], ans[1 << 16];
	size_t n = sn_expand((const char *)data, size, in, sizeof in);
	sn_begin();
	int st = sn_request("/v1/heartbeat", 13, in, n, ans, sizeof ans, 0.001);
	if (st && st != 200 && st != 400 && st != 413)
		sn_wrong("unexpected answer", st, ans);
	if (st == 400 && strncmp(sn_body(ans), "heartbeat: ", 11) != 0)
		sn_wrong("unexpected answer", st, ans);
	sn_end();
	return 0;
}
