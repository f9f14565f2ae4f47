/* The host's shared rate buckets: a page-sized file mapped MAP_SHARED, a magic word, one cache line
 * per bucket. Creating it races harmlessly (every process truncates it up to the same size and a
 * zero page is a valid state: no caps, full buckets); nothing in it is ever locked. */
#include "core/hostrate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/df.h"

#define HOSTRATE_MAGIC 0x3173657461726664ull /* "dfrates1" little-endian */

struct hostrate_file {
	_Atomic uint64_t magic;
	uint64_t pad[7];
	struct ratelimit_slot slot[8]; /* HOSTRATE_N used; room for more kinds in the same format */
};

const char *const hostrate_names[HOSTRATE_N] = {"upload", "download", "source"};

int hostrate_open(struct hostrate *h, const char *path, char *err, size_t errlen)
{
	_Static_assert(sizeof(struct hostrate_file) <= 4096, "the rates file is one page");
	memset(h, 0, sizeof *h);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || (st.st_size < 4096 && ftruncate(fd, 4096) != 0)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return DF_ERR;
	}
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		return DF_ERR;
	}
	h->map = m;
	uint64_t zero = 0;
	if (!atomic_compare_exchange_strong(&h->map->magic, &zero, HOSTRATE_MAGIC) && zero != HOSTRATE_MAGIC) {
		/* not ours (another format): start it over rather than read garbage as caps */
		memset(h->map->slot, 0, sizeof h->map->slot);
		atomic_store(&h->map->magic, HOSTRATE_MAGIC);
	}
	for (int k = 0; k < HOSTRATE_N; k++) {
		ratelimit_init_shared(&h->lim[k], &h->map->slot[k]);
		h->sampled[k] = atomic_load(&h->map->slot[k].bytes);
	}
	h->lim[HOSTRATE_SOURCE].also = &h->lim[HOSTRATE_DOWN];
	return DF_OK;
}

void hostrate_close(struct hostrate *h)
{
	if (h->map)
		munmap(h->map, 4096);
	h->map = NULL;
}

void hostrate_set(struct hostrate *h, enum hostrate_kind k, uint64_t rate)
{
	ratelimit_slot_set(&h->map->slot[k], rate);
}

uint64_t hostrate_cap(const struct hostrate *h, enum hostrate_kind k)
{
	return atomic_load(&h->map->slot[k].rate);
}

void hostrate_tick(struct hostrate *h, double now)
{
	double dt = now - h->sampled_at;
	for (int k = 0; k < HOSTRATE_N; k++) {
		uint64_t b = atomic_load(&h->map->slot[k].bytes);
		/* the first sample has no interval; a counter that went back was a started-over file */
		h->rate[k] = h->sampled_at > 0 && dt > 0 && b >= h->sampled[k] ? (double)(b - h->sampled[k]) / dt : 0;
		h->sampled[k] = b;
	}
	h->sampled_at = now;
}
