/* Remembered authorization decisions for df proxy's offline serving ([proxy] offline_serve): which
 * (credential, registry host, repository) an upstream registry accepted, and when. Only a SHA-256 of
 * them is kept, never a credential, in a small text file under the store (survives restarts).
 *
 * File format (pure parser authmem_parse, fuzzed by test/fuzz/fuzz_authmem.c):
 *   "df-authmem 1\n" then one line per decision: 64 lower-case hex digits, one space, the Unix time
 *   in seconds it was last accepted, "\n". A malformed line is skipped (counted), not fatal. */
#ifndef DF_SWARM_AUTHMEM_H
#define DF_SWARM_AUTHMEM_H

#include <stddef.h>
#include <stdint.h>

#define AUTHMEM_MAGIC "df-authmem 1\n"
#define AUTHMEM_DEFAULT_MAX 16384 /* about 1.3 MB on disk; one entry per (credential, repository, blob) */

struct authmem_entry {
	uint8_t key[32];
	int64_t when; /* Unix seconds */
};

/* Parses the n bytes of buf, calling cb for each well-formed line (cb returns 0 to go on, non-zero
 * to stop). Returns the number of malformed lines skipped, or -1 when the header is not
 * AUTHMEM_MAGIC. Pure: no allocation, no I/O. */
int authmem_parse(const char *buf, size_t n, int (*cb)(void *arg, const struct authmem_entry *e), void *arg);

/* The key of a decision: SHA-256 over creds (the client's Authorization/Cookie lines, "" for none),
 * the registry's host:port, the repository and the blob's digest, each length-prefixed so that no
 * two sets of parts meet. The digest is part of it: a yes for one blob of a repository says nothing
 * about another blob this host holds (a registry answers 404 for a blob not in the repository). */
void authmem_key(const char *creds, size_t cn, const char *host, size_t hn, const char *repo, size_t rn,
		 const char *digest, size_t dn, uint8_t out[32]);

struct authmem;
/* Loads path (missing: empty; unreadable or a bad header: empty, with a warning), keeping at most max
 * entries (the most recent). NULL only when out of memory. */
struct authmem *authmem_open(const char *path, int max);
void authmem_free(struct authmem *m);
/* Records that key was accepted at now; written to disk when it is new or its time moved by a
 * minute or more (the oldest entry is evicted when full). DF_OK, or DF_ERR when writing failed. */
int authmem_accept(struct authmem *m, const uint8_t key[32], int64_t now);
/* 1 when key was accepted at most window seconds before now, else 0. */
int authmem_valid(const struct authmem *m, const uint8_t key[32], int64_t now, int64_t window);
/* How many decisions are held. */
int authmem_count(const struct authmem *m);

#endif
