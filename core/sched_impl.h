/* Internals of core/sched shared by sched.c (peers, reports, lists) and sched_pick.c (choices).
 * Not a public header: only the two scheduler files and its unit tests include it.
 *
 * Data layout. have[] holds one row of piece bits per peer (pw words); col[] holds the transpose,
 * one row of peer bits per piece (qw words), but only for peers usable as uploaders (not the
 * supernode, not blacklisted), so finding a holder is an AND with freeup[] (peers with a free
 * upload slot). Both peer-indexed bitmaps carry a summary (one bit per non-zero word) so a search
 * touches O(peers / 4096) words plus the hits. Pieces sit in order[] grouped by key (0: nobody
 * usable has it; else 1 + peer holders + transfers in flight), highest key first, with cnt_ge[k]
 * = number of pieces with key >= k; a key moves by one with one swap, and rarest-first is a walk
 * from the end of the available part of order[] backwards. */
#ifndef DF_SCHED_IMPL_H
#define DF_SCHED_IMPL_H

#include <stdint.h>

#include "core/sched.h"

#define SCHED_NIL (-1)
#define SCHED_AVOID 4        /* uploaders a downloader recently failed with, skipped for it */
#define SCHED_WAKE_SCAN 32   /* parked peers looked at per wake event */
#define SCHED_RARE_PROBES 8  /* rarest pieces without a free holder tried before free uploaders */
#define SCHED_UPLOADERS 16   /* free uploaders tried per sched_assign */
#define SCHED_MORE_PROBES 16 /* last-phase probes for a peer that has transfers in flight */
#define SCHED_SUPER_MORE 1.5 /* supernode vs fastest peer, rate per transfer, for its second set of slots */
#define SCHED_ORDER_LOOK 256 /* pieces an in-order downloader's pick looks at from its first missing one */
#define SCHED_CHOICES 8      /* free holders of a piece compared before one is picked */
#define SCHED_RISE 0.5       /* EWMA weight of a download rate sample above the estimate */
#define SCHED_FALL 0.125     /* ... and below it (samples are lower bounds: the uploaders may be the limit) */
#define SCHED_RATE_W 0.25    /* EWMA weight of an upload rate sample */
#define SCHED_SAT 0.9  /* a transfer at this share of its downloader's rate or more: the downloader was the limit */
#define SCHED_SLOW 0.5 /* a peer under this share of the typical rate is held to proportionally fewer slots */
#define SCHED_REF_W (1.0 / 32) /* EWMA weight of one report in the peers' typical upload rate */
#define SCHED_HINT \
	0.4                /* a peer not yet measured as an uploader, downloading under this share of the
			  * typical download rate, gets upload slots sized by that rate */
#define SCHED_DSLOW 0.2    /* a downloader under this share of the typical download rate gets fewer places */
#define SCHED_DSLOTS_MIN 2 /* ... but at least this many */

struct sched_link {
	int32_t prev, next;
};

struct sched_list {
	int32_t head, tail;
	int32_t len;
};

enum { LINK_LRU = 0, LINK_WAIT = 1 }; /* which link of a peer a list threads through */
enum { WAIT_NONE, WAIT_PARKED, WAIT_WOKEN };

/* One piece in flight; entries of downloader d are ent[d * max_down .. + max_down). */
struct sched_entry {
	int32_t piece;            /* -1: free */
	int32_t up;               /* uploader handle */
	int32_t up_prev, up_next; /* the uploader's other uploads in flight */
	int64_t since;
	double ua0, da0; /* the uploader's and the downloader's transfer-time areas at the start */
};

struct sched_avoid {
	int32_t peer;
	uint32_t gen;
};

struct sched_peer {
	uint8_t used, super, black, wait;
	uint8_t in_order;  /* sched_peer_in_order */
	uint32_t seq_next; /* with in_order: no piece below this is missing (a lower bound) */
	int16_t ndown, nup;
	uint32_t gen; /* bumped at each reuse of the handle (avoid lists compare it) */
	uint32_t nhave;
	uint32_t fails; /* consecutive failed uploads */
	uint32_t fails_total;
	int64_t last_seen;
	uint64_t bytes_up, bytes_down;
	double cap; /* measured upload rate, bytes per ms (EWMA of per-transfer rate x uploads at its end); 0: none yet */
	double ucap;    /* measured upload rate for sizing its slots (uploads averaged over the transfer; measure()) */
	double dcap;    /* measured download rate, the same way (per-transfer rate x downloads) */
	int16_t uslots; /* upload slots sized by ucap (sched_slots); 0: the config's up_slots */
	int16_t dslots; /* transfers it may have in flight, sized by dcap; 0: the config's max_down */
	double uarea, darea; /* uploads and downloads in flight integrated over time (ms), up to `at` */
	int64_t at;
	struct sched_link link[2];
	int32_t up_head; /* first entry it uploads, or SCHED_NIL */
	int32_t hint;    /* the uploader whose free slot woke it, tried first; or SCHED_NIL */
	struct sched_avoid avoid[SCHED_AVOID];
	uint8_t avoid_next;
	char why[96];
};

struct sched {
	struct sched_config cfg;
	uint32_t npieces, cap_pieces, pw; /* pieces, capacity (multiple of 64), words per have row */
	int final;
	uint32_t last_bytes;        /* size of the last piece once the length is known */
	uint32_t cap_peers, qw, qs; /* peer capacity (8, 16, 32, then multiples of 64), words, summary words */
	int32_t super;              /* the supernode's handle or SCHED_NIL */
	int npeers, nblack;
	struct sched_peer *peers;
	uint64_t *have;                              /* cap_peers x pw */
	struct sched_entry *ent;                     /* cap_peers x max_down */
	uint64_t *col, *colsum;                      /* cap_pieces x qw, cap_pieces x qs */
	uint64_t *freeup, *freesum;                  /* qw, qs */
	uint64_t *availbm;                           /* pw: pieces with key > 0 */
	uint32_t *key, *nhold, *ninfl, *order, *pos; /* per piece */
	uint32_t *cnt_ge;                            /* 2 * cap_peers + 3 */
	uint64_t *scratch;                           /* cap_pieces, for the gather path of sched_pick */
	struct sched_list lru, freel, park, woken;
	uint64_t rng;
	uint64_t assignments, searches;
	int64_t now;       /* the latest time a call passed in */
	double cap_max;    /* the highest measured peer upload rate (not the supernode's) */
	double cap_ref;    /* the peers' typical upload rate (EWMA of the uploader's estimate over reports) */
	double dcap_ref;   /* the peers' typical download rate (EWMA of the downloader's estimate) */
	double xfer_ref;   /* the typical rate of one transfer (EWMA over reports) */
	uint64_t sum_have; /* pieces held, summed over peers that are not the supernode */
};

static inline int bm_get(const uint64_t *b, uint32_t i)
{
	return (int)((b[i >> 6] >> (i & 63)) & 1);
}
static inline void bm_set(uint64_t *b, uint32_t i)
{
	b[i >> 6] |= 1ULL << (i & 63);
}
static inline void bm_clr(uint64_t *b, uint32_t i)
{
	b[i >> 6] &= ~(1ULL << (i & 63));
}

static inline uint64_t *sched_have(const struct sched *s, int32_t peer)
{
	return s->have + (size_t)peer * s->pw;
}
static inline struct sched_entry *sched_ents(const struct sched *s, int32_t peer)
{
	return s->ent + (size_t)peer * (size_t)s->cfg.max_down;
}

static inline uint64_t sched_rand(struct sched *s)
{
	uint64_t x = s->rng; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline int sched_usable_holder(const struct sched_peer *p)
{
	return p->used && !p->super && !p->black;
}

/* Upload slots of peer p: up_slots for a peer; for the supernode super_slots, twice that once it
 * holds every piece (its link is no longer needed for pieces no peer has) if its measured rate per
 * transfer is several times the fastest peer's: peers' uplinks are the limit, and each of its
 * transfers shares the downloader's link with the others, so it needs more to keep its own busy. */
static inline int sched_slots(const struct sched *s, const struct sched_peer *p)
{
	if (!p->super)
		return p->uslots ? p->uslots : s->cfg.up_slots;
	int more = s->final && p->nhave == s->npieces && p->cap > 0 && s->cap_max > 0 &&
		   p->cap * s->cfg.up_slots > SCHED_SUPER_MORE * s->cap_max * s->cfg.super_slots;
	return s->cfg.super_slots * (more ? 2 : 1);
}

/* sched.c: takes a free upload slot of u for piece p to downloader d (all checked by the caller). */
void sched_start(struct sched *s, int32_t d, uint32_t p, int32_t u, int64_t now);
/* sched_pick.c: moves piece p to the key its counters say, keeping order[] and availbm right. */
void sched_key_fix(struct sched *s, uint32_t p);
/* sched_pick.c: the end game: second uploaders for d's pieces in flight, up to room; returns how many. */
int sched_endgame(struct sched *s, int32_t d, int64_t now, struct sched_assignment *out, int room);
/* sched_pick.c: chooses up to room transfers for d; returns how many, *why set when 0. */
int sched_pick(struct sched *s, int32_t d, int64_t now, struct sched_assignment *out, int room, enum sched_why *why);

#endif
