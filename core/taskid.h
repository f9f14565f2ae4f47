/* Task identity (docs/PROTOCOL.md): content-addressed when the digest is known, else a hash of the
 * normalized URL. The supernode and every peer compute it the same way, without talking. */
#ifndef DF_TASKID_H
#define DF_TASKID_H

#include <stddef.h>

#include "core/digest.h"

#define TASKID_MAX 80 /* "sha256-" + 64 hex + NUL fits */

/* id = "sha256-HEX" or "md5-HEX" from a digest spec. */
void taskid_from_digest(const struct digest_spec *d, char out[TASKID_MAX]);
/* id = "url-" + xxh3-128 hex of the normalized URL (the caller normalizes). */
void taskid_from_url(const char *normalized_url, size_t len, char out[TASKID_MAX]);
/* True when s is a well-formed id (safe as a file name: [a-z0-9-], bounded length). */
int taskid_valid(const char *s, size_t len);

#endif
