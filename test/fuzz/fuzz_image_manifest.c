/* Fuzz target: image manifests and indexes (swarm/image_manifest.c). Whatever the bytes, the parse
 * ends; an accepted document has its kind, at most the room given in descriptors, and every
 * descriptor a sha256 digest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/image_manifest.h"
#include "swarm/registry_parse.h"

#define NTOK 8192
#define NDESC 64
static struct json_tok toks[NTOK];
static struct image_desc descs[NDESC];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_doc d;
	const char *why = NULL;
	if (image_doc_parse((const char *)data, size, slice_of("application/vnd.oci.image.manifest.v1+json"), toks, NTOK, descs,
			    NDESC, &d, &why) != DF_OK) {
		if (!why || !why[0])
			abort();
		return 0;
	}
	if ((d.kind != IMAGE_DOC_INDEX && d.kind != IMAGE_DOC_MANIFEST) || d.n < 0 || d.n > NDESC || d.d != descs)
		abort();
	if (d.kind == IMAGE_DOC_MANIFEST && !registry_digest_sha256(slice_of(d.config.digest)))
		abort();
	for (int i = 0; i < d.n; i++)
		if (!registry_digest_sha256(slice_of(d.d[i].digest)))
			abort();
	struct image_platform p;
	image_platform_of_machine("x86_64", &p);
	int k = image_doc_pick(&d, &p);
	if (k >= d.n || (k >= 0 && d.kind != IMAGE_DOC_INDEX))
		abort();
	return 0;
}
