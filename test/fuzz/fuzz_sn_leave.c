/* Fuzz target: the query of POST /v1/leave (then peer B's heartbeat must find B still registered),
 * through the supernode's real handler (test/fuzz/sn_harness.h builds the supernode; "@T", "@A",
 * "@B" in the input stand for the task id and peer A's and B's secrets). */
#include "test/fuzz/sn_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[1 << 17], ans[1 << 16];
	size_t n = sn_expand((const char *)data, size, in, sizeof in);
	sn_begin();
	/* bytes a request line cannot carry are %-escaped, so that every input reaches the handler */
	static const char pre[] = "/v1/leave?";
	char target[3 * sizeof in / 8];
	size_t tn = sizeof pre - 1;
	memcpy(target, pre, tn);
	for (size_t i = 0; i < n && tn + 3 < sizeof target; i++) {
		unsigned char ch = (unsigned char)in[i];
		if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch && strchr("-._~!$&'()*+,;=:@/?%", ch)))
			target[tn++] = (char)ch;
		else
			tn += (size_t)snprintf(target + tn, 4, "%%%02X", ch);
	}
	int st = sn_request(target, tn, "", 0, ans, sizeof ans, 0.001);
	if (st == 403 && !strstr(sn_body(ans), "secret"))
		sn_wrong("unexpected answer", st, ans);
	if (st == 400 && strncmp(sn_body(ans), "query: ", 7) != 0)
		sn_wrong("unexpected answer", st, ans);
	/* whatever happened to A, B is still registered (no one else holds its secret) */
	char hb[256];
	int hn = snprintf(hb, sizeof hb, "task: %s %d %s\n", H.task, H.peer[1], H.secret[1]);
	st = sn_request("/v1/heartbeat", 13, hb, (size_t)hn, ans, sizeof ans, 0.001);
	if (st != 200 || strstr(sn_body(ans), "unknown"))
		sn_wrong("peer B is gone after someone else's leave", st, ans);
	sn_end();
	return 0;
}
