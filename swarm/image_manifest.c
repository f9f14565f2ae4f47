/* Manifests and indexes (swarm/image_manifest.h): the JSON read with core/json, each descriptor
 * checked as the registry itself would (sha256 digest, a size), the kind taken from mediaType. */
#include "swarm/image_manifest.h"

#include <stdio.h>
#include <string.h>

#include "core/df.h"
#include "swarm/registry_parse.h"

static const char *const index_types[] = {"application/vnd.oci.image.index.v1+json",
					  "application/vnd.docker.distribution.manifest.list.v2+json", NULL};
static const char *const manifest_types[] = {"application/vnd.oci.image.manifest.v1+json",
					     "application/vnd.docker.distribution.manifest.v2+json", NULL};

static int in_list(const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* A string member into out; "" when absent. DF_ERR when present but no string or too long. */
static int get_str(const char *b, const struct json_tok *t, int obj, const char *key, char *out, size_t cap)
{
	int i = json_get(b, t, obj, key);
	out[0] = 0;
	if (i < 0)
		return DF_OK;
	return json_string(b, t, i, out, cap) < 0 ? DF_ERR : DF_OK;
}

static int descriptor(const char *b, const struct json_tok *t, int obj, struct image_desc *d, const char **why)
{
	memset(d, 0, sizeof *d);
	if (t[obj].type != JSON_OBJECT) {
		*why = "a descriptor is not an object";
		return DF_ERR;
	}
	if (get_str(b, t, obj, "mediaType", d->media_type, sizeof d->media_type) != DF_OK) {
		*why = "a descriptor's mediaType is not a string (or too long)";
		return DF_ERR;
	}
	if (get_str(b, t, obj, "digest", d->digest, sizeof d->digest) != DF_OK ||
	    !registry_digest_sha256(slice_of(d->digest))) {
		*why = "a descriptor's digest is not sha256: and 64 lower-case hex digits";
		return DF_ERR;
	}
	if (json_u64(b, t, json_get(b, t, obj, "size"), &d->size) != DF_OK) {
		*why = "a descriptor has no size (a non-negative integer)";
		return DF_ERR;
	}
	int urls = json_get(b, t, obj, "urls");
	d->foreign = (urls >= 0 && t[urls].type == JSON_ARRAY && t[urls].size > 0) ||
		     strstr(d->media_type, ".foreign.") != NULL || strstr(d->media_type, "nondistributable") != NULL;
	int pf = json_get(b, t, obj, "platform");
	if (pf >= 0 && (t[pf].type != JSON_OBJECT || get_str(b, t, pf, "os", d->os, sizeof d->os) != DF_OK ||
			get_str(b, t, pf, "architecture", d->arch, sizeof d->arch) != DF_OK ||
			get_str(b, t, pf, "variant", d->variant, sizeof d->variant) != DF_OK)) {
		*why = "a descriptor's platform is not an object of short strings";
		return DF_ERR;
	}
	return DF_OK;
}

int image_doc_parse(const char *body, size_t len, struct slice content_type, struct json_tok *toks, int ntoks,
		    struct image_desc *d, int cap, struct image_doc *out, const char **why)
{
	memset(out, 0, sizeof *out);
	out->d = d;
	if (json_parse(body, len, toks, ntoks, why) < 0)
		return DF_ERR;
	if (toks[0].type != JSON_OBJECT) {
		*why = "not a JSON object";
		return DF_ERR;
	}
	uint64_t sv = 0;
	if (json_u64(body, toks, json_get(body, toks, 0, "schemaVersion"), &sv) != DF_OK || sv != 2) {
		*why = sv == 1 ? "a schema 1 manifest (deprecated; df reads schema 2 and OCI only)"
			       : "schemaVersion is not 2";
		return DF_ERR;
	}
	if (get_str(body, toks, 0, "mediaType", out->media_type, sizeof out->media_type) != DF_OK) {
		*why = "mediaType is not a string";
		return DF_ERR;
	}
	if (!out->media_type[0] && content_type.n) { /* OCI made mediaType optional at first */
		size_t n = content_type.n;
		const char *semi = memchr(content_type.p, ';', n);
		if (semi)
			n = (size_t)(semi - content_type.p);
		while (n && content_type.p[n - 1] == ' ')
			n--;
		snprintf(out->media_type, sizeof out->media_type, "%.*s", (int)DF_MIN(n, sizeof out->media_type - 1),
			 content_type.p);
	}
	int manifests = json_get(body, toks, 0, "manifests"), layers = json_get(body, toks, 0, "layers");
	if (in_list(out->media_type, index_types) || (!out->media_type[0] && manifests >= 0))
		out->kind = IMAGE_DOC_INDEX;
	else if (in_list(out->media_type, manifest_types) || (!out->media_type[0] && layers >= 0))
		out->kind = IMAGE_DOC_MANIFEST;
	if (!out->kind) {
		*why = "neither an image index nor an image manifest (unknown mediaType)";
		return DF_ERR;
	}
	int arr = out->kind == IMAGE_DOC_INDEX ? manifests : layers;
	if (arr < 0 || toks[arr].type != JSON_ARRAY) {
		*why = out->kind == IMAGE_DOC_INDEX ? "an index without a manifests array"
						    : "a manifest without a layers array";
		return DF_ERR;
	}
	if (out->kind == IMAGE_DOC_MANIFEST) {
		int cfg = json_get(body, toks, 0, "config");
		if (cfg < 0) {
			*why = "a manifest without a config";
			return DF_ERR;
		}
		if (descriptor(body, toks, cfg, &out->config, why) != DF_OK)
			return DF_ERR;
	}
	if (toks[arr].size > (uint32_t)cap) {
		*why = "more descriptors than df takes";
		return DF_ERR;
	}
	int i = arr + 1;
	for (uint32_t k = 0; k < toks[arr].size; k++, i = (int)toks[i].next)
		if (descriptor(body, toks, i, &d[k], why) != DF_OK)
			return DF_ERR;
	out->n = (int)toks[arr].size;
	return DF_OK;
}

int image_doc_pick(const struct image_doc *doc, const struct image_platform *want)
{
	int best = -1, score = 0;
	if (doc->kind != IMAGE_DOC_INDEX)
		return -1;
	for (int i = 0; i < doc->n; i++) {
		int s = image_platform_score(want, doc->d[i].os, doc->d[i].arch, doc->d[i].variant);
		if (s > score) {
			score = s;
			best = i;
		}
	}
	return best;
}
