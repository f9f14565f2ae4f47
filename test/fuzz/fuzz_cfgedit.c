/* Fuzz target: the engines' file editors (core/cfgedit). The input is tried as daemon.json, as a
 * hosts.toml, as containerd's config.toml and as registries.conf. What an edit writes must be read
 * back by the same editor as already done, its inverse must undo it, and for input without df's
 * entries the round trip must give back the input byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfgedit.h"

#define URL "http://127.0.0.1:65001"
#define BLOCK CFGEDIT_BEGIN "\n[host.\"" URL "\"]\n  capabilities = [\"pull\", \"resolve\"]\n" CFGEDIT_END "\n"

static char a[(1 << 16) + 4096], b[(1 << 16) + 4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *why = NULL;
	size_t an, bn;
	if (size > (1 << 16))
		return 0;
	int members = 0;
	int obj = cfgedit_json_object(s, size, &members, &why) == CFGEDIT_SAME;
	int rc = cfgedit_json_mirrors(s, size, URL, 0, a, sizeof a, &an, &why);
	if (rc == CFGEDIT_ERR && !why)
		abort();
	if (rc == CFGEDIT_CHANGED) {
		if (an != strlen(a) || cfgedit_json_object(a, an, &members, &why) != CFGEDIT_SAME ||
		    cfgedit_json_mirrors(a, an, URL, 0, b, sizeof b, &bn, &why) != CFGEDIT_SAME ||
		    cfgedit_json_mirrors(a, an, URL, 1, b, sizeof b, &bn, &why) != CFGEDIT_CHANGED)
			abort();
		/* no registry-mirrors member before, and others: the removal gives the input back */
		if (obj && members > 1 && !memmem(s, size, "registry-mirrors", 16) && (bn != size || memcmp(b, s, size) != 0))
			abort();
	}
	if (rc == CFGEDIT_SAME && cfgedit_json_mirrors(s, size, URL, 1, a, sizeof a, &an, &why) != CFGEDIT_CHANGED)
		abort(); /* present, so removable */

	rc = cfgedit_toml_put(s, size, BLOCK, URL, a, sizeof a, &an, &why);
	if (rc == CFGEDIT_ERR && !why)
		abort();
	if (rc == CFGEDIT_CHANGED) {
		if (an != strlen(a) || cfgedit_toml_put(a, an, BLOCK, URL, b, sizeof b, &bn, &why) != CFGEDIT_SAME ||
		    cfgedit_toml_remove(a, an, b, sizeof b, &bn, &why) != CFGEDIT_CHANGED)
			abort();
		int had = memmem(s, size, CFGEDIT_BEGIN_MARK, strlen(CFGEDIT_BEGIN_MARK)) != NULL;
		if (!had && (size == 0 || s[size - 1] == '\n') && (bn != size || memcmp(b, s, size) != 0))
			abort();
	}
	char path[256];
	int mirrors;
	if (cfgedit_containerd_config_path(s, size, path, sizeof path, &mirrors) == 1 && (!path[0] || strchr(path, ':')))
		abort();
	cfgedit_registries_has(s, size, "docker.io");
	return 0;
}
