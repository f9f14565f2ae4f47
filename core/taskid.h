/* Task identity (docs/PROTOCOL.md): content-addressed when the digest is known, else a hash of the
 * normalized URL. The supernode and every peer compute it the same way, without talking. */
#ifndef DF_TASKID_H
#define DF_TASKID_H

#include <stddef.h>

#include "core/digest.h"

/* Ids are lower-case hex, so they are file names in the store as they are. The kinds differ in
 * length, so they never collide: md5 32 digits, URL 48, sha256 64. */
#define TASKID_MAX 65
#define TASKID_URL_HEX 48

/* id = the digest's hex (a sha256 id equals the id store_import gives the same bytes). */
void taskid_from_digest(const struct digest_spec *d, char out[TASKID_MAX]);
/* id = the first 48 hex digits of sha256("url:" + normalized URL) (the caller normalizes). */
void taskid_from_url(const char *normalized_url, size_t len, char out[TASKID_MAX]);
/* True when s is a well-formed id (safe as a file name: [a-z0-9-], bounded length). */
int taskid_valid(const char *s, size_t len);

#endif
