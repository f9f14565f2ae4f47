/* The scheduler's choices: the rarity order of pieces, and for one downloader which pieces to fetch
 * (rarest first) from which holder (a random peer with a free slot, the supernode last).
 *
 * Cost of one sched_assign: the rarest-first walk visits pieces from the rare end of order[] and
 * skips the few the downloader holds or fetches (bounded; past the bound it gathers its missing
 * pieces word by word instead); each candidate piece costs one holder search, an AND of the piece's
 * holder bits with the free-slot bits through their summaries, O(peers / 4096) words. No step
 * scans all peers or all pieces one by one. */
#include <stdlib.h>

#include "core/sched_impl.h"

/* ---- rarity order: see sched_impl.h for the layout ---- */

static void swap_pos(struct sched *s, uint32_t i, uint32_t j)
{
	uint32_t a = s->order[i], b = s->order[j];
	s->order[i] = b, s->pos[b] = i;
	s->order[j] = a, s->pos[a] = j;
}

static void key_inc(struct sched *s, uint32_t p)
{
	uint32_t c = s->key[p];
	swap_pos(s, s->pos[p], s->cnt_ge[c + 1]);  /* first of bucket c, which becomes last of c+1 */
	s->cnt_ge[c + 1]++;
	s->key[p] = c + 1;
}

static void key_dec(struct sched *s, uint32_t p)
{
	uint32_t c = s->key[p];
	swap_pos(s, s->pos[p], s->cnt_ge[c] - 1);  /* last of bucket c, which becomes first of c-1 */
	s->cnt_ge[c]--;
	s->key[p] = c - 1;
}

void sched_key_fix(struct sched *s, uint32_t p)
{
	int avail = s->nhold[p] > 0 || (s->super != SCHED_NIL && bm_get(sched_have(s, s->super), p));
	uint32_t want = avail ? 1 + s->nhold[p] + s->ninfl[p] : 0;
	while (s->key[p] < want)
		key_inc(s, p);
	while (s->key[p] > want)
		key_dec(s, p);
	if (avail)
		bm_set(s->availbm, p);
	else
		bm_clr(s->availbm, p);
}

/* ---- holders ---- */

static int avoided(const struct sched *s, int32_t d, int32_t u)
{
	const struct sched_peer *p = &s->peers[d];
	for (int k = 0; k < SCHED_AVOID; k++)
		if (p->avoid[k].peer == u && p->avoid[k].gen == s->peers[u].gen)
			return 1;
	return 0;
}

/* A peer (not the supernode) holding p with a free upload slot, not avoided by d: the first one at
 * or after a random position, so load spreads; SCHED_NIL if none. */
static int32_t find_peer(struct sched *s, uint32_t p, int32_t d)
{
	const uint64_t *c = s->col + (size_t)p * s->qw, *cs = s->colsum + (size_t)p * s->qs;
	uint32_t r = (uint32_t)(sched_rand(s) % s->qw), rs = r / 64, rb = r % 64;
	for (uint32_t k = 0; k <= s->qs; k++) {
		uint32_t si = (rs + k) % s->qs;
		uint64_t m = cs[si] & s->freesum[si];
		if (k == 0)
			m &= ~0ULL << rb;  /* words at or after the start */
		else if (k == s->qs)
			m &= rb ? (1ULL << rb) - 1 : 0;  /* wrapped around: the words before it */
		for (; m; m &= m - 1) {
			uint32_t wi = si * 64 + (uint32_t)__builtin_ctzll(m);
			for (uint64_t b = c[wi] & s->freeup[wi]; b; b &= b - 1) {
				int32_t u = (int32_t)(wi * 64 + (uint32_t)__builtin_ctzll(b));
				if (!avoided(s, d, u))
					return u;
			}
		}
	}
	return SCHED_NIL;
}

/* Who uploads p to d: a free peer holder, else the supernode if it has p and a free slot. */
static int32_t holder(struct sched *s, uint32_t p, int32_t d)
{
	if (s->nhold[p]) {
		int32_t u = find_peer(s, p, d);
		if (u != SCHED_NIL)
			return u;
	}
	int32_t sn = s->super;
	if (sn != SCHED_NIL && s->peers[sn].nup < s->cfg.super_slots && bm_get(sched_have(s, sn), p) &&
	    !avoided(s, d, sn))
		return sn;
	return SCHED_NIL;
}

static int in_flight(const struct sched *s, int32_t d, uint32_t p)
{
	const struct sched_entry *e = sched_ents(s, d);
	for (int k = 0; k < s->cfg.max_down; k++)
		if (e[k].piece == (int32_t)p)
			return 1;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The slow path when the walk met too many pieces d already has: gather d's missing available
 * pieces word by word, sort them by key and try them in that order. */
static int pick_gather(struct sched *s, int32_t d, int64_t now, struct sched_assignment *out, int n, int room,
		       int *probed, int *candidates)
{
	const uint64_t *hd = sched_have(s, d);
	uint32_t words = (s->npieces + 63) / 64, cnt = 0;
	for (uint32_t w = 0; w < words; w++)
		for (uint64_t m = s->availbm[w] & ~hd[w]; m; m &= m - 1) {
			uint32_t p = w * 64 + (uint32_t)__builtin_ctzll(m);
			if (!in_flight(s, d, p))
				s->scratch[cnt++] = (uint64_t)s->key[p] << 32 | p;
		}
	qsort(s->scratch, cnt, sizeof *s->scratch, cmp_u64);
	for (uint32_t j = 0; j < cnt && n < room && *probed < SCHED_PROBES; j++) {
		uint32_t p = (uint32_t)s->scratch[j];
		(*candidates)++;
		int32_t u = holder(s, p, d);
		if (u == SCHED_NIL) {
			(*probed)++;
			continue;
		}
		sched_start(s, d, p, u, now);
		out[n++] = (struct sched_assignment){p, u};
	}
	return n;
}

int sched_pick(struct sched *s, int32_t d, int64_t now, struct sched_assignment *out, int room, enum sched_why *why)
{
	const uint64_t *hd = sched_have(s, d);
	int n = 0, probed = 0, candidates = 0;
	uint32_t skipped = 0, budget = 64 + 16 * (uint32_t)room;
	int64_t i = (int64_t)s->cnt_ge[1] - 1;  /* the rarest available piece */
	while (i >= 0 && n < room && probed < SCHED_PROBES) {
		uint32_t p = s->order[i];
		if (bm_get(hd, p) || in_flight(s, d, p)) {
			i--;
			if (++skipped > budget)
				break;
			continue;
		}
		candidates++;
		int32_t u = holder(s, p, d);
		if (u == SCHED_NIL) {
			i--;
			probed++;
			continue;
		}
		sched_start(s, d, p, u, now);  /* p moves one bucket up: another piece may now sit at i */
		out[n++] = (struct sched_assignment){p, u};
		if (s->order[i] == p)
			i--;
	}
	if (skipped > budget && n < room && probed < SCHED_PROBES)
		n = pick_gather(s, d, now, out, n, room, &probed, &candidates);
	if (!n)
		*why = candidates ? SCHED_WAIT_SLOTS : SCHED_WAIT_PIECES;
	return n;
}
