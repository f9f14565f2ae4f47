/* Fuzz target: what df get reads back from the hand-off socket (a daemon of the same user, but its
 * bytes are not to be trusted blindly), through hostd_follow, the reader hostd_handoff uses: the
 * input is the daemon's whole answer, read from a pipe. Each outcome must be consistent with it. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/df.h"
#include "swarm/hostd_client.h"

static void on_progress(int64_t done, int64_t total, void *ctx)
{
	(void)ctx;
	if (done < 0 || total < -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int p[2];
	if (size > 60000 || pipe(p) != 0) /* a pipe holds 64 KiB: the writer never blocks */
		return 0;
	if (size && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);
	struct hostd_handoff h = {.on_progress = on_progress};
	struct hostd_result res;
	memset(&res, 0xa5, sizeof res);
	res.msg[0] = 0;
	enum hostd_outcome o = hostd_follow(p[0], &h, &res);
	close(p[0]);
	switch (o) {
	case HOSTD_DONE:
		if (res.exit_code != DF_EXIT_OK || res.length < 0 || res.peers < 0 || res.source < 0)
			abort();
		break;
	case HOSTD_FAILED:
	case HOSTD_NOT_OURS:
		if (res.exit_code < 1 || res.exit_code > 125 || strlen(res.msg) >= sizeof res.msg)
			abort();
		if (o == HOSTD_NOT_OURS && (res.exit_code != DF_EXIT_USAGE || strncmp(res.msg, "refused:", 8) != 0))
			abort();
		if (!memmem(data, size, res.msg, strlen(res.msg)))
			abort();
		break;
	case HOSTD_LOST:
		break;
	default:
		abort();
	}
	return 0;
}
