/* df proxy's copies of registry manifests for offline serving ([proxy] offline_serve, offline_tags):
 * each manifest the upstream passed through with 200, by its sha256 digest, with its Content-Type;
 * and which digest a (registry, repository, tag) last resolved to. Files under STORE/proxy-manifests.
 *
 * File formats (pure parsers below, fuzzed by test/fuzz/fuzz_mancache.c):
 *   manifest "sha256-HEX":  "df-manifest 1\n" CONTENT-TYPE "\n" then the manifest's bytes (whose
 *                           sha256 is HEX: checked again when it is read back)
 *   tag "tag-HEX" (HEX = sha256 of registry, repository, tag): "df-mtag 1\n" "sha256:HEX" "\n" */
#ifndef DF_SWARM_MANCACHE_H
#define DF_SWARM_MANCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/slice.h"

#define MANCACHE_MAGIC "df-manifest 1\n"
#define MANCACHE_TAG_MAGIC "df-mtag 1\n"
#define MANCACHE_MAX_MANIFEST (4u << 20) /* a registry refuses larger manifests (distribution's limit) */
#define MANCACHE_MAX_TOTAL (64u << 20)   /* all copies together; the least recently stored go first */
#define MANCACHE_TYPE_MAX 255

/* A manifest file's n bytes: its Content-Type (printable ASCII, 1..MANCACHE_TYPE_MAX bytes) and its
 * body (a slice into buf). DF_OK, or DF_ERR when it is not that format. Pure. */
int mancache_parse(const char *buf, size_t n, struct slice *ctype, struct slice *body);

/* A tag file's n bytes: the digest ("sha256:" and 64 lower-case hex) into out (NUL-terminated).
 * DF_OK, or DF_ERR when it is not that format. Pure. */
int mancache_parse_tag(const char *buf, size_t n, char out[72]);

/* Whether a manifest of media type ctype may answer a request whose Accept header values are
 * accept[0..n) (each a comma-separated list, parameters after ';' ignored): 1 when there are none,
 * when one is ctype, "TYPE/ *" of its type or "* / *" (no spaces), else 0. Pure. */
int mancache_accepts(const struct slice *accept, size_t n, struct slice ctype);

struct mancache;
/* The cache in directory dir (created, mode 0700). NULL with a warning when it cannot be. */
struct mancache *mancache_open(const char *dir);
void mancache_free(struct mancache *c);

/* Keeps body as the manifest of digest ("sha256:HEX", which must be its sha256) with ctype. DF_OK,
 * or DF_ERR (too large, not its digest, a bad type, cannot write). */
int mancache_put(struct mancache *c, const char *digest, const char *ctype, const void *body, size_t len);
/* The copy of digest: body (malloc'ed, the caller frees) and ctype. DF_OK, or DF_ERR when there is
 * none or it does not hash to digest any more. */
int mancache_get(struct mancache *c, const char *digest, char **body, size_t *len, char *ctype, size_t ctcap);

/* Remembers that tag of repo at host resolved to digest; DF_OK or DF_ERR. */
int mancache_put_tag(struct mancache *c, const char *host, const char *repo, const char *tag, const char *digest);
/* What it last resolved to, into out. DF_OK, or DF_ERR when unknown. */
int mancache_get_tag(struct mancache *c, const char *host, const char *repo, const char *tag, char out[72]);

#endif
