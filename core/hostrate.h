/* The host-wide rate caps: one small file, STORE/rates, mapped shared by every df process that uses
 * the store (df proxy, each df get and its detached seeder, a supernode), holding one shared token
 * bucket per kind of traffic (core/ratelimit.h's ratelimit_slot). A process's uploads and downloads
 * take from these buckets, so the caps hold for the host's processes together.
 *
 * The caps themselves live in the file too: each process writes its configured caps when it opens
 * the file and when it reloads its configuration (SIGHUP), and every process reads them at every
 * grant. So the last df process to start or reload sets the host's caps: the processes of one host
 * are meant to read one config file. Bytes are counted even without a cap (the current rates). */
#ifndef DF_HOSTRATE_H
#define DF_HOSTRATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/ratelimit.h"

enum hostrate_kind {
	HOSTRATE_UP,     /* [common] upload_rate: pieces this host serves to peers */
	HOSTRATE_DOWN,   /* [common] download_rate: everything this host downloads */
	HOSTRATE_SOURCE, /* [supernode] source_rate: a supernode's back-to-source bytes (also downloads) */
	HOSTRATE_N
};

extern const char *const hostrate_names[HOSTRATE_N]; /* "upload", "download", "source" */

struct hostrate_file;

struct hostrate {
	struct hostrate_file *map;
	/* take from these: lim[HOSTRATE_SOURCE] also takes from lim[HOSTRATE_DOWN] */
	struct ratelimit lim[HOSTRATE_N];
	/* the current rates, from the shared byte counters sampled by hostrate_tick */
	double sampled_at;
	uint64_t sampled[HOSTRATE_N];
	double rate[HOSTRATE_N];
};

/* Maps (creating it if needed) the rates file at path. DF_ERR with "PATH: cause" in err. */
int hostrate_open(struct hostrate *h, const char *path, char *err, size_t errlen);
void hostrate_close(struct hostrate *h);
/* Writes one cap (bytes per second, 0 = none) for every process of the host. */
void hostrate_set(struct hostrate *h, enum hostrate_kind k, uint64_t rate);
uint64_t hostrate_cap(const struct hostrate *h, enum hostrate_kind k);
/* Samples the byte counters at `now` (seconds, any clock); call about once a second. The rate of
 * each kind over the last interval is then in h->rate[k] (bytes per second, all processes). */
void hostrate_tick(struct hostrate *h, double now);

#endif
