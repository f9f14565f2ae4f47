/* Fuzz target: the body of POST /v1/register, through the supernode's real handler
 * (test/fuzz/sn_harness.h builds the supernode; "@T", "@A", "@B" in the input stand for the task
 * id and peer A's and B's secrets). */
#include "test/fuzz/sn_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[1 << 17], ans[1 << 16];
	size_t n = sn_expand((const char *)data, size, in, sizeof in);
	sn_begin();
	int st = sn_request("/v1/register", 12, in, n, ans, sizeof ans, 0.01);
	/* answered with a status the protocol names, and every refusal names its cause */
	if (st && st != 200 && st != 400 && st != 413 && st != 502 && st != 503)
		sn_wrong("unexpected answer", st, ans);
	if (st == 400 && strncmp(sn_body(ans), "register", 8) != 0)
		sn_wrong("unexpected answer", st, ans);
	sn_end();
	return 0;
}
