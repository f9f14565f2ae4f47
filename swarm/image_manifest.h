/* Image manifests and indexes (OCI image spec 1.1 and Docker's schema 2): which blobs an image is
 * made of, and which manifest of a multi-platform index fits a platform. Pure: the caller gives the
 * JSON token and descriptor arrays. Fuzzed by test/fuzz/fuzz_image_manifest.c. */
#ifndef DF_SWARM_IMAGE_MANIFEST_H
#define DF_SWARM_IMAGE_MANIFEST_H

#include <stdint.h>

#include "core/json.h"
#include "core/slice.h"
#include "swarm/image_ref.h"

/* What manifest requests accept, as one Accept header line with its CRLF: both indexes and both
 * manifests (never schema 1, which df does not read). */
#define IMAGE_ACCEPT                                                                                                   \
	"Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, " \
	"application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json\r\n"

struct image_desc {
	char media_type[128];
	char digest[72]; /* "sha256:HEX" (other algorithms are refused) */
	uint64_t size;
	char os[32], arch[32], variant[32]; /* an index entry's platform as written; "" when absent */
	int foreign;                        /* a layer with "urls" or a foreign media type: not in the registry */
};

enum image_doc_kind { IMAGE_DOC_MANIFEST = 1, IMAGE_DOC_INDEX };

struct image_doc {
	enum image_doc_kind kind;
	char media_type[128];
	struct image_desc config; /* a manifest's config blob */
	int n;                    /* a manifest's layers, or an index's manifests, in d[0..n) */
	struct image_desc *d;
};

/* Parses a manifest or an index (len bytes of body; content_type is the answer's Content-Type,
 * used when the document names no mediaType). toks[0..ntoks) is scratch for the JSON; the
 * descriptors go to d[0..cap) and out->d = d. DF_OK, or DF_ERR with *why (static text): not JSON,
 * schema 1, an unknown media type, a descriptor without a sha256 digest or a size, more than cap
 * descriptors. */
int image_doc_parse(const char *body, size_t len, struct slice content_type, struct json_tok *toks, int ntoks,
		    struct image_desc *d, int cap, struct image_doc *out, const char **why);

/* The entry of index doc that fits want best (image_platform_score), or -1 when none does. */
int image_doc_pick(const struct image_doc *doc, const struct image_platform *want);

#endif
