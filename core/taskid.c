/* Task identity: digest-based or URL-hash-based ids, and validation of ids read from the wire
 * (ids become file names in the store, so validation is a security check, not a nicety). */
#include "core/taskid.h"

#include <stdio.h>
#include <string.h>

void taskid_from_digest(const struct digest_spec *d, char out[TASKID_MAX])
{
	char hex[2 * DIGEST_SHA256_LEN + 1];
	digest_hex(d->bytes, d->len, hex);
	snprintf(out, TASKID_MAX, "%s-%s", d->algo, hex);
}

void taskid_from_url(const char *normalized_url, size_t len, char out[TASKID_MAX])
{
	uint8_t h[DIGEST_XXH128_LEN];
	char hex[2 * DIGEST_XXH128_LEN + 1];
	digest_xxh128(normalized_url, len, h);
	digest_hex(h, sizeof h, hex);
	snprintf(out, TASKID_MAX, "url-%s", hex);
}

int taskid_valid(const char *s, size_t len)
{
	static const struct { const char *prefix; size_t hexlen; } kinds[] = {
		{"url-", 32}, {"md5-", 32}, {"sha256-", 64},
	};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		size_t pl = strlen(kinds[k].prefix);
		if (len != pl + kinds[k].hexlen || strncmp(s, kinds[k].prefix, pl) != 0)
			continue;
		for (size_t i = pl; i < len; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
				return 0;
		return 1;
	}
	return 0;
}
