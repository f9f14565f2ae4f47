/* Fuzz target: the reports in the body of POST /v1/work (as peer A, with its secret), through the
 * supernode's real handler (test/fuzz/sn_harness.h builds the supernode; "@T", "@A", "@B" in the
 * input stand for the task id and peer A's and B's secrets). */
#include "test/fuzz/sn_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[1 << 17], ans[1 << 16];
	size_t n = sn_expand((const char *)data, size, in, sizeof in);
	sn_begin();
	char target[256];
	int tn = snprintf(target, sizeof target, "/v1/work?task=%s&peer=%d&secret=%s", H.task, H.peer[0], H.secret[0]);
	int st = sn_request(target, (size_t)tn, in, n, ans, sizeof ans, 0.001);
	if (st && st != 200 && st != 400 && st != 413)
		sn_wrong("unexpected answer", st, ans);
	if (st == 400 && strncmp(sn_body(ans), "work: ", 6) != 0)
		sn_wrong("unexpected answer", st, ans);
	sn_end();
	return 0;
}
