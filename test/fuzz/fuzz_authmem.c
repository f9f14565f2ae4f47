/* Fuzz target: the offline-serving authorization memory file (swarm/authmem.c authmem_parse): any
 * bytes parse without a fault, and every line handed over came from a complete, well-formed line. */
#include <stdlib.h>
#include <string.h>

#include "swarm/authmem.h"

static int check(void *arg, const struct authmem_entry *e)
{
	++*(int *)arg;
	if (e->when < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n = 0;
	int bad = authmem_parse((const char *)data, size, check, &n);
	if (bad < -1 || (bad == -1 && n != 0))
		abort();
	/* each good line is at least 67 bytes with its '\n' */
	if ((size_t)n * 67 > size)
		abort();
	return 0;
}
