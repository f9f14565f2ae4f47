/* Fuzz target: the listen/connect address parser of net/loop ("[::1]:80", ":8002", "host:port"). */
#include <stdlib.h>
#include <string.h>

#include "net/loop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[512], err[600];
	size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
	memcpy(s, data, n);
	s[n] = 0;
	struct addr a;
	int rc = addr_parse(s, &a, err, sizeof err);
	if (rc == DF_OK && strlen(a.host) >= sizeof a.host)
		abort();
	if (rc == DF_ERR && !err[0])
		abort();
	return 0;
}
