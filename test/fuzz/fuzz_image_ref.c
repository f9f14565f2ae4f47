/* Fuzz target: image references and platforms (swarm/image_ref.c). An accepted reference has a
 * registry that is a host[:port], a repository the distribution grammar accepts, a tag or a sha256
 * digest; platform names come out normalized and bounded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/image_ref.h"
#include "swarm/registry_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct image_ref r;
	const char *why = NULL;
	if (image_ref_parse(s, size, &r, &why) == DF_OK) {
		if (!r.registry[0] || strchr(r.registry, '/') || !r.api[0] || !registry_name_valid(slice_of(r.repo)))
			abort();
		if (!r.tag[0] && !r.digest[0])
			abort();
		if (r.tag[0] && !registry_tag_valid(slice_of(r.tag)))
			abort();
		if (r.digest[0] && !registry_digest_sha256(slice_of(r.digest)))
			abort();
		image_host_loopback(r.registry);
	} else if (!why || !why[0]) {
		abort();
	}
	char *z = malloc(size + 1);
	memcpy(z, data, size);
	z[size] = 0;
	struct image_platform p;
	char out[100];
	if (image_platform_parse(z, &p, &why) == DF_OK) {
		if (!p.os[0] || !p.arch[0])
			abort();
		image_platform_format(&p, out, sizeof out);
		image_platform_score(&p, p.os, p.arch, p.variant);
	}
	image_platform_of_machine(z, &p);
	image_host_loopback(z);
	free(z);
	return 0;
}
