/* Task identity: digest-based or URL-hash-based ids, and validation of ids read from the wire
 * (ids become file names in the store, so validation is a security check, not a nicety). */
#include "core/df.h"
#include "core/taskid.h"

#include <string.h>

void taskid_from_digest(const struct digest_spec *d, char out[TASKID_MAX])
{
	digest_hex(d->bytes, d->len, out);
}

void taskid_from_url(const char *normalized_url, size_t len, char out[TASKID_MAX])
{
	br_sha256_context c;
	uint8_t h[DIGEST_SHA256_LEN];
	br_sha256_init(&c);
	br_sha256_update(&c, DF_LIT("url:"));
	br_sha256_update(&c, normalized_url, len);
	br_sha256_out(&c, h);
	digest_hex(h, TASKID_URL_HEX / 2, out);
}

int taskid_valid(const char *s, size_t len)
{
	if (len != 2 * DIGEST_MD5_LEN && len != TASKID_URL_HEX && len != 2 * DIGEST_SHA256_LEN)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}
