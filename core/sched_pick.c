/* The scheduler's choices: the rarity order of pieces, and for one downloader which pieces to fetch
 * from which uploader. docs/SCHEDULER.md says why; here is how.
 *
 * sched_pick runs up to four phases and stops as soon as the downloader's room is filled
 * (a downloader that streams from the start, sched_peer_in_order, first takes the lowest-numbered
 * of its rarest candidates: in_order below):
 *   0. woken for an uploader's free slot: the rarest piece that uploader has for it;
 *   1. rarest first: pieces from the rare end of order[], each with a holder search (a random free
 *      peer holder, else the supernode), until SCHED_RARE_PROBES pieces found no free holder;
 *   2. uploader first: free uploaders from a random one on, each offering its rarest piece the
 *      downloader lacks (at most SCHED_UPLOADERS tried);
 *   3. still nothing: the rarest-first walk resumes, to the end for a peer with nothing in flight
 *      (it would otherwise park while something was available), SCHED_MORE_PROBES more otherwise.
 * When no uploader anywhere has a free slot, it answers at once. Costs: a holder search is an AND
 * of the piece's holder bits with the free-slot bits through their summaries, O(peers / 4096)
 * words plus hits; the walk skips pieces the downloader holds, and past a bound gathers its missing
 * pieces word by word into a heap instead. No step visits every peer or every piece one by one. */
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
	swap_pos(s, s->pos[p], s->cnt_ge[c + 1]); /* first of bucket c, which becomes last of c+1 */
	s->cnt_ge[c + 1]++;
	s->key[p] = c + 1;
}

static void key_dec(struct sched *s, uint32_t p)
{
	uint32_t c = s->key[p];
	swap_pos(s, s->pos[p], s->cnt_ge[c] - 1); /* last of bucket c, which becomes first of c-1 */
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

/* Is a new transfer from a likely faster than one from b? Its expected rate is the uploader's
 * measured rate shared by one more upload; peers not measured yet count as the fastest known. */
static int faster(const struct sched *s, int32_t a, int32_t b)
{
	const struct sched_peer *pa = &s->peers[a], *pb = &s->peers[b];
	double ca = pa->cap > 0 ? pa->cap : s->cap_max > 0 ? s->cap_max : 1;
	double cb = pb->cap > 0 ? pb->cap : s->cap_max > 0 ? s->cap_max : 1;
	return ca * (pb->nup + 1) > cb * (pa->nup + 1);
}

/* A peer (not the supernode) holding p with a free upload slot, not avoided by d: of the first
 * SCHED_CHOICES at or after a random position (so load spreads), the one that would send fastest;
 * SCHED_NIL if none. */
static int32_t find_peer(struct sched *s, uint32_t p, int32_t d)
{
	const uint64_t *c = s->col + (size_t)p * s->qw, *cs = s->colsum + (size_t)p * s->qs;
	uint64_t any = 0;
	for (uint32_t si = 0; si < s->qs; si++)
		any |= cs[si] & s->freesum[si];
	if (!any)
		return SCHED_NIL; /* the common miss: no word has both a holder and a free peer */
	uint32_t r = (uint32_t)(((sched_rand(s) >> 32) * s->qw) >> 32), rs = r / 64, rb = r % 64;
	int32_t best = SCHED_NIL;
	int seen = 0;
	for (uint32_t k = 0; k <= s->qs; k++) {
		uint32_t si = (rs + k) % s->qs;
		uint64_t m = cs[si] & s->freesum[si];
		if (k == 0)
			m &= ~0ULL << rb; /* words at or after the start */
		else if (k == s->qs)
			m &= rb ? (1ULL << rb) - 1 : 0; /* wrapped around: the words before it */
		for (; m; m &= m - 1) {
			uint32_t wi = si * 64 + (uint32_t)__builtin_ctzll(m);
			for (uint64_t b = c[wi] & s->freeup[wi]; b; b &= b - 1) {
				int32_t u = (int32_t)(wi * 64 + (uint32_t)__builtin_ctzll(b));
				if (avoided(s, d, u))
					continue;
				if (best == SCHED_NIL || faster(s, u, best))
					best = u;
				if (++seen >= SCHED_CHOICES)
					return best;
			}
		}
	}
	return best;
}

/* Who uploads p to d: the free peer holder that would send fastest, else the supernode if it has p
 * and a free slot. The supernode comes first once it holds every piece (its link is no longer
 * needed for pieces no peer has), for a downloader at or behind the average, when its measured
 * rate per transfer beats the best free peer's (both measured): where peers' uplinks are the
 * limit it then uploads at its full rate, to those who would otherwise finish last. */
static int32_t holder(struct sched *s, uint32_t p, int32_t d)
{
	int32_t u = SCHED_NIL, sn = s->super;
	/* Every slot of every peer holder is taken by p alone: no need to look. */
	if (s->nhold[p] && s->ninfl[p] < s->nhold[p] * (uint32_t)s->cfg.up_slots)
		u = find_peer(s, p, d);
	int sn_free =
		sn != SCHED_NIL && s->peers[sn].nup < sched_slots(s, &s->peers[sn]) && bm_get(sched_have(s, sn), p);
	if (u == SCHED_NIL)
		return sn_free ? sn : SCHED_NIL;
	if (sn_free && s->final && s->peers[sn].nhave == s->npieces && s->npeers > 1 &&
	    (uint64_t)s->peers[d].nhave * (uint64_t)(s->npeers - 1) <= s->sum_have && s->peers[sn].cap > 0 &&
	    s->peers[u].cap > 0 && faster(s, sn, u))
		return sn;
	return u;
}

static int in_flight(const struct sched *s, int32_t d, uint32_t p)
{
	const struct sched_entry *e = sched_ents(s, d);
	for (int k = 0; k < s->cfg.max_down; k++)
		if (e[k].piece == (int32_t)p)
			return 1;
	return 0;
}

/* A binary min-heap over scratch[0..n): the gathered candidates, popped in key order as needed,
 * so a long list costs O(n) to build and O(log n) per piece actually tried. */
static void heap_down(uint64_t *h, uint32_t n, uint32_t i)
{
	uint64_t v = h[i];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && h[c + 1] < h[c])
			c++;
		if (h[c] >= v)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = v;
}

/* Where a rarest-first walk over d's candidate pieces stands, so it can be resumed. */
struct walk {
	int64_t i;        /* next position in order[] (walking down to the more common) */
	uint32_t skipped; /* pieces passed that d holds or fetches */
	uint32_t budget;  /* past this many, switch to the gathered list */
	int gathered;     /* walking scratch[j..cnt) instead of order[] */
	uint32_t cnt;     /* candidates left in the scratch heap */
	int candidates;   /* pieces d could fetch if a holder were free */
	int done;         /* every candidate was tried */
};

/* The walk met too many pieces d already has: gather d's missing available pieces word by word
 * into a heap by key, and go on from that instead. */
static void gather(struct sched *s, int32_t d, struct walk *w)
{
	const uint64_t *hd = sched_have(s, d);
	uint32_t words = (s->npieces + 63) / 64, cnt = 0;
	for (uint32_t k = 0; k < words; k++)
		for (uint64_t m = s->availbm[k] & ~hd[k]; m; m &= m - 1) {
			uint32_t p = k * 64 + (uint32_t)__builtin_ctzll(m);
			if (!in_flight(s, d, p))
				s->scratch[cnt++] = (uint64_t)s->key[p] << 32 | p;
		}
	for (uint32_t i = cnt / 2; i-- > 0;)
		heap_down(s->scratch, cnt, i);
	w->gathered = 1;
	w->cnt = cnt;
}

/* Rarest first: tries d's candidate pieces in key order, each with its best holder, until room is
 * filled or `probes` candidates had no free holder. Returns the new count of out[]. */
static int walk(struct sched *s, int32_t d, int64_t now, struct sched_assignment *out, int n, int room, struct walk *w,
		uint32_t probes)
{
	const uint64_t *hd = sched_have(s, d);
	uint32_t failed = 0;
	while (n < room && failed < probes) {
		uint32_t p;
		if (w->gathered) {
			if (!w->cnt) {
				w->done = 1;
				break;
			}
			p = (uint32_t)s->scratch[0];
			s->scratch[0] = s->scratch[--w->cnt];
			heap_down(s->scratch, w->cnt, 0);
		} else {
			if (w->i < 0) {
				w->done = 1;
				break;
			}
			p = s->order[w->i];
			if (bm_get(hd, p) || in_flight(s, d, p)) {
				w->i--;
				if (++w->skipped > w->budget)
					gather(s, d, w);
				continue;
			}
		}
		w->candidates++;
		s->searches++;
		int32_t u = holder(s, p, d);
		if (u == SCHED_NIL) {
			if (!w->gathered)
				w->i--;
			failed++;
			continue;
		}
		sched_start(s, d, p, u, now); /* p moves one bucket up: another piece may now sit at i */
		out[n++] = (struct sched_assignment){p, u};
		if (!w->gathered && s->order[w->i] == p)
			w->i--;
	}
	return n;
}

/* The rarest piece u holds that d lacks and is not fetching, among the first 64 such from a random
 * word on; SCHED_NIL if none. */
static int64_t rarest_from(struct sched *s, int32_t u, int32_t d)
{
	const uint64_t *hu = sched_have(s, u), *hd = sched_have(s, d);
	uint32_t words = (s->npieces + 63) / 64, w0 = (uint32_t)(((sched_rand(s) >> 32) * words) >> 32);
	int64_t best = SCHED_NIL;
	uint32_t best_key = UINT32_MAX, looked = 0;
	for (uint32_t t = 0; t < words && looked < 64; t++) {
		uint32_t k = (w0 + t) % words;
		for (uint64_t m = hu[k] & ~hd[k]; m && looked < 64; m &= m - 1) {
			uint32_t p = k * 64 + (uint32_t)__builtin_ctzll(m);
			if (in_flight(s, d, p))
				continue;
			looked++;
			if (s->key[p] < best_key) {
				best_key = s->key[p];
				best = p;
			}
		}
	}
	return best;
}

/* Uploader first: peers with a free slot, from a random one on, each offering d the rarest piece it
 * has that d lacks. Cheap when few uploaders are free (the steady state: usually just the one whose
 * transfer to d ended), and it keeps idle uploaders from idling while rare pieces are busy. */
static int by_uploader(struct sched *s, int32_t d, int64_t now, struct sched_assignment *out, int n, int room)
{
	uint32_t r = (uint32_t)(((sched_rand(s) >> 32) * s->qw) >> 32), rs = r / 64, rb = r % 64, tries = 0;
	for (uint32_t k = 0; k <= s->qs && n < room && tries < SCHED_UPLOADERS; k++) {
		uint32_t si = (rs + k) % s->qs;
		uint64_t m = s->freesum[si];
		if (k == 0)
			m &= ~0ULL << rb;
		else if (k == s->qs)
			m &= rb ? (1ULL << rb) - 1 : 0;
		for (; m && n < room && tries < SCHED_UPLOADERS; m &= m - 1) {
			uint32_t wi = si * 64 + (uint32_t)__builtin_ctzll(m);
			for (uint64_t b = s->freeup[wi]; b && n < room && tries < SCHED_UPLOADERS; b &= b - 1) {
				int32_t u = (int32_t)(wi * 64 + (uint32_t)__builtin_ctzll(b));
				if (u == d || !s->peers[u].nhave || avoided(s, d, u))
					continue;
				tries++;
				s->searches++;
				int64_t p = rarest_from(s, u, d);
				if (p == SCHED_NIL)
					continue;
				sched_start(s, d, (uint32_t)p, u, now);
				out[n++] = (struct sched_assignment){(uint32_t)p, u};
			}
		}
	}
	return n;
}

int sched_endgame(struct sched *s, int32_t d, int64_t now, struct sched_assignment *out, int room)
{
	const struct sched_entry *e = sched_ents(s, d);
	int n = 0, md = s->cfg.max_down;
	uint64_t tried_mask = 0;
	/* oldest first: those most likely stuck behind a slow or departed uploader */
	while (n < room) {
		int best = -1;
		for (int k = 0; k < md; k++) {
			if (e[k].piece < 0 || (best >= 0 && e[k].since >= e[best].since))
				continue;
			int copies = 0;
			for (int j = 0; j < md; j++)
				copies += e[j].piece == e[k].piece;
			int tried = 0;
			for (int j = 0; j < n; j++)
				tried |= out[j].piece == (uint32_t)e[k].piece;
			if (copies == 1 && !tried && !(tried_mask >> k & 1))
				best = k;
		}
		if (best < 0)
			break;
		tried_mask |= 1ULL << best;
		uint32_t p = (uint32_t)e[best].piece;
		int32_t cur = e[best].up;
		s->searches++;
		/* another uploader than the current one: hide its free slot from the search for a moment */
		int was_free = cur != s->super && bm_get(s->freeup, (uint32_t)cur);
		if (was_free)
			bm_clr(s->freeup, (uint32_t)cur);
		int32_t u = holder(s, p, d);
		if (was_free)
			bm_set(s->freeup, (uint32_t)cur);
		if (u == SCHED_NIL || u == cur)
			continue;
		sched_start(s, d, p, u, now);
		out[n++] = (struct sched_assignment){p, u};
	}
	return n;
}

/* For a downloader that streams from the start: the rarest key among its candidates (from the rare
 * end of order[], as the walk, at most SCHED_ORDER_LOOK looked at), then the pieces with that key
 * from its first missing one up to 2 x max_down ahead of it, in index order, each with a holder
 * search. Only that window: in a swarm of streaming peers, ties broken in index order all the way
 * drew everyone to the same pieces (simulator, N = 1,000 with 10% slow hosts, five seeds: the
 * others at 1.25x the bound on average against 1.22x; with the window 1.22x). */
static int in_order(struct sched *s, int32_t d, int64_t now, struct sched_assignment *out, int n, int room)
{
	struct sched_peer *pd = &s->peers[d];
	const uint64_t *hd = sched_have(s, d);
	uint32_t kmin = 0, looked = 0;
	for (int64_t i = (int64_t)s->cnt_ge[1] - 1; i >= 0 && looked < SCHED_ORDER_LOOK; i--, looked++) {
		uint32_t p = s->order[i];
		if (!bm_get(hd, p) && !in_flight(s, d, p)) {
			kmin = s->key[p];
			break;
		}
	}
	if (!kmin)
		return n;
	while (pd->seq_next < s->npieces && bm_get(hd, pd->seq_next))
		pd->seq_next++;
	uint32_t words = (s->npieces + 63) / 64;
	uint64_t end = (uint64_t)pd->seq_next + 2 * (uint64_t)s->cfg.max_down;
	for (uint32_t k = pd->seq_next / 64; k < words && n < room && (uint64_t)k * 64 < end; k++)
		for (uint64_t m = s->availbm[k] & ~hd[k]; m && n < room; m &= m - 1) {
			uint32_t p = k * 64 + (uint32_t)__builtin_ctzll(m);
			if (p >= end)
				return n;
			if (s->key[p] != kmin || in_flight(s, d, p))
				continue;
			s->searches++;
			int32_t u = holder(s, p, d);
			if (u == SCHED_NIL)
				continue;
			sched_start(s, d, p, u, now);
			out[n++] = (struct sched_assignment){p, u};
		}
	return n;
}

int sched_pick(struct sched *s, int32_t d, int64_t now, struct sched_assignment *out, int room, enum sched_why *why)
{
	struct walk w = {.i = (int64_t)s->cnt_ge[1] - 1, .budget = 64 + 16 * (uint32_t)room};
	int n = 0;
	/* No uploader anywhere has a free slot (the usual answer under contention): say so at once. */
	uint64_t any = 0;
	for (uint32_t k = 0; k < s->qs; k++)
		any |= s->freesum[k];
	int32_t sn = s->super;
	if (!any && (sn == SCHED_NIL || s->peers[sn].nup >= sched_slots(s, &s->peers[sn]))) {
		const struct sched_peer *p = &s->peers[d];
		*why = s->cnt_ge[1] > p->nhave + (uint32_t)p->ndown ? SCHED_WAIT_SLOTS : SCHED_WAIT_PIECES;
		return 0;
	}
	if (s->peers[d].in_order)
		n = in_order(s, d, now, out, n, room);
	/* 0: woken for an uploader's free slot: that uploader's rarest piece for d */
	int32_t h = s->peers[d].hint;
	s->peers[d].hint = SCHED_NIL;
	if (n < room && h != SCHED_NIL && h != d && bm_get(s->freeup, (uint32_t)h) && !avoided(s, d, h)) {
		s->searches++;
		int64_t p = rarest_from(s, h, d);
		if (p != SCHED_NIL) {
			sched_start(s, d, (uint32_t)p, h, now);
			out[n++] = (struct sched_assignment){(uint32_t)p, h};
		}
	}
	/* 1: the rarest few pieces, from a free peer or else the supernode (new pieces go out first) */
	n = walk(s, d, now, out, n, room, &w, SCHED_RARE_PROBES);
	/* 2: whatever free uploaders can give */
	if (n < room && !w.done)
		n = by_uploader(s, d, now, out, n, room);
	/* 3: nothing yet: more holder searches before parking; all of them for a peer with nothing in
	 * flight, which nothing but a wakeup would bring back */
	if (!n && !w.done)
		n = walk(s, d, now, out, n, room, &w, s->peers[d].ndown ? SCHED_MORE_PROBES : UINT32_MAX);
	if (!n)
		*why = w.candidates ? SCHED_WAIT_SLOTS : SCHED_WAIT_PIECES;
	return n;
}
