/* Fuzz target: [store] quota values ("200G", "80%", "" ...): at most one of bytes / percent is set,
 * and a percent is 1 to 100. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/df.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[256];
	size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
	memcpy(s, data, n);
	s[n] = 0; /* config values are C strings */
	uint64_t bytes = 1;
	unsigned pct = 1;
	if (config_parse_quota(s, &bytes, &pct) == DF_OK && ((bytes && pct) || pct > 100))
		abort();
	return 0;
}
