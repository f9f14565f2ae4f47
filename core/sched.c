/* The scheduler's bookkeeping: peers and their handles, piece bitmaps, transfers in flight,
 * reports and blacklisting, silence expiry and the parked/woken lists. Choices are in sched_pick.c. */
#include "core/sched.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bitmap.h"
#include "core/sched_impl.h"

void sched_config_default(struct sched_config *c)
{
	c->max_down = 8;
	c->up_slots = 8;
	c->super_slots = 8;
	c->silence_ms = 30000;
	c->max_failures = 3;
	c->piece_size = 4u << 20;
	c->seed = 0x9e3779b97f4a7c15ULL;
	c->endgame = 0;
}

/* ---- intrusive lists of peer handles ---- */

static struct sched_link *lk(struct sched *s, int32_t i, int which)
{
	return &s->peers[i].link[which];
}

static void list_push(struct sched *s, struct sched_list *l, int which, int32_t i)
{
	struct sched_link *n = lk(s, i, which);
	n->prev = l->tail;
	n->next = SCHED_NIL;
	if (l->tail != SCHED_NIL)
		lk(s, l->tail, which)->next = i;
	else
		l->head = i;
	l->tail = i;
	l->len++;
}

static void list_unlink(struct sched *s, struct sched_list *l, int which, int32_t i)
{
	struct sched_link *n = lk(s, i, which);
	if (n->prev != SCHED_NIL)
		lk(s, n->prev, which)->next = n->next;
	else
		l->head = n->next;
	if (n->next != SCHED_NIL)
		lk(s, n->next, which)->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = SCHED_NIL;
	l->len--;
}

static void wait_leave(struct sched *s, int32_t i)
{
	struct sched_peer *p = &s->peers[i];
	if (p->wait == WAIT_PARKED)
		list_unlink(s, &s->park, LINK_WAIT, i);
	else if (p->wait == WAIT_WOKEN)
		list_unlink(s, &s->woken, LINK_WAIT, i);
	p->wait = WAIT_NONE;
}

static void wake(struct sched *s, int32_t i)
{
	if (s->peers[i].wait == WAIT_WOKEN)
		return;
	wait_leave(s, i);
	list_push(s, &s->woken, LINK_WAIT, i);
	s->peers[i].wait = WAIT_WOKEN;
}

/* ---- growth ---- */

static int grow_peers(struct sched *s)
{
	/* A task starts with room for 8 peers, not 64: a supernode holds thousands of small tasks that
	 * a few hosts seed, and 64 peers' rows cost 27 KiB each (make soak: 56 KiB per live task). */
	uint32_t oc = s->cap_peers, nc = oc ? oc * 2 : 8;
	uint32_t nqw = (nc + 63) / 64, nqs = (nqw + 63) / 64;
	size_t md = (size_t)s->cfg.max_down;
	struct sched_peer *peers = realloc(s->peers, nc * sizeof *peers);
	if (!peers)
		return DF_ERR;
	s->peers = peers;
	uint64_t *have = realloc(s->have, (size_t)nc * s->pw * 8);
	if (!have)
		return DF_ERR;
	s->have = have;
	struct sched_entry *ent = realloc(s->ent, nc * md * sizeof *ent);
	if (!ent)
		return DF_ERR;
	s->ent = ent;
	uint32_t *cg = realloc(s->cnt_ge, (2 * (size_t)nc + 3) * sizeof *cg);
	if (!cg)
		return DF_ERR;
	s->cnt_ge = cg;
	uint64_t *col = calloc((size_t)s->cap_pieces * nqw, 8);
	uint64_t *colsum = calloc((size_t)s->cap_pieces * nqs, 8);
	uint64_t *freeup = calloc(nqw, 8), *freesum = calloc(nqs, 8);
	if (!col || !colsum || !freeup || !freesum) {
		free(col), free(colsum), free(freeup), free(freesum);
		return DF_ERR;
	}
	/* Everything allocated: from here on nothing fails, so the struct stays consistent. */
	for (uint32_t p = 0; p < s->cap_pieces && oc; p++) {
		memcpy(col + (size_t)p * nqw, s->col + (size_t)p * s->qw, s->qw * 8);
		memcpy(colsum + (size_t)p * nqs, s->colsum + (size_t)p * s->qs, s->qs * 8);
	}
	if (oc) {
		memcpy(freeup, s->freeup, s->qw * 8);
		memcpy(freesum, s->freesum, s->qs * 8);
	}
	free(s->col), free(s->colsum), free(s->freeup), free(s->freesum);
	s->col = col, s->colsum = colsum, s->freeup = freeup, s->freesum = freesum;
	s->qw = nqw, s->qs = nqs;
	memset(s->have + (size_t)oc * s->pw, 0, (size_t)(nc - oc) * s->pw * 8);
	for (size_t e = oc * md; e < nc * md; e++)
		s->ent[e] =
			(struct sched_entry){.piece = -1, .up = SCHED_NIL, .up_prev = SCHED_NIL, .up_next = SCHED_NIL};
	for (size_t k = 2 * (size_t)oc + 3; k < 2 * (size_t)nc + 3; k++)
		s->cnt_ge[k] = 0;
	if (!oc) {
		s->cnt_ge[0] = s->npieces;
		s->cnt_ge[1] = s->cnt_ge[2] = 0;
	}
	for (uint32_t i = oc; i < nc; i++) {
		memset(&s->peers[i], 0, sizeof s->peers[i]);
		s->peers[i].link[0] = s->peers[i].link[1] = (struct sched_link){SCHED_NIL, SCHED_NIL};
		s->peers[i].up_head = SCHED_NIL;
		list_push(s, &s->freel, LINK_LRU, (int32_t)i);
	}
	s->cap_peers = nc;
	return DF_OK;
}

static int grow_pieces(struct sched *s, uint32_t n)
{
	if (n <= s->npieces)
		return DF_OK;
	if (n > s->cap_pieces) {
		uint32_t nc = s->cap_pieces ? s->cap_pieces : 64;
		while (nc < n)
			nc = nc > UINT32_MAX / 2 ? UINT32_MAX & ~63u : nc * 2;
		if (nc < n) {
			errno = EINVAL;
			return DF_ERR;
		}
		uint32_t npw = nc / 64;
		uint64_t *have = calloc((size_t)s->cap_peers * npw, 8);
		uint64_t *col = realloc(s->col, (size_t)nc * s->qw * 8);
		if (col)
			s->col = col;
		uint64_t *colsum = col ? realloc(s->colsum, (size_t)nc * s->qs * 8) : NULL;
		if (colsum)
			s->colsum = colsum;
		uint64_t *availbm = colsum ? realloc(s->availbm, npw * 8) : NULL;
		if (availbm)
			s->availbm = availbm;
		uint64_t *scratch = availbm ? realloc(s->scratch, nc * 8) : NULL;
		if (scratch)
			s->scratch = scratch;
		uint32_t **arrs[] = {&s->key, &s->nhold, &s->ninfl, &s->order, &s->pos};
		int ok = have && scratch;
		for (size_t a = 0; ok && a < DF_ARRAY_LEN(arrs); a++) {
			uint32_t *x = realloc(*arrs[a], nc * sizeof *x);
			if (x)
				*arrs[a] = x;
			else
				ok = 0;
		}
		if (!ok) {
			free(have);
			errno = ENOMEM;
			return DF_ERR;
		}
		for (uint32_t i = 0; i < s->cap_peers && s->pw; i++)
			memcpy(have + (size_t)i * npw, s->have + (size_t)i * s->pw, s->pw * 8);
		free(s->have);
		s->have = have;
		memset(s->col + (size_t)s->cap_pieces * s->qw, 0, (size_t)(nc - s->cap_pieces) * s->qw * 8);
		memset(s->colsum + (size_t)s->cap_pieces * s->qs, 0, (size_t)(nc - s->cap_pieces) * s->qs * 8);
		memset(s->availbm + s->pw, 0, (npw - s->pw) * 8);
		s->pw = npw;
		s->cap_pieces = nc;
	}
	for (uint32_t p = s->npieces; p < n; p++) {
		s->key[p] = s->nhold[p] = s->ninfl[p] = 0;
		s->order[p] = p; /* key 0 is the tail of order[], so appending keeps it grouped */
		s->pos[p] = p;
	}
	s->npieces = n;
	if (s->cnt_ge)
		s->cnt_ge[0] = n;
	return DF_OK;
}

struct sched *sched_new(const struct sched_config *cfg, int64_t npieces)
{
	struct sched *s = calloc(1, sizeof *s);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	if (cfg)
		s->cfg = *cfg;
	else
		sched_config_default(&s->cfg);
	const struct sched_config *c = &s->cfg;
	if (c->max_down < 1 || c->max_down > 64 || c->up_slots < 1 || c->up_slots > 64 || c->super_slots < 1 ||
	    c->super_slots > 1024 || c->max_failures < 1 || c->silence_ms < 1 || c->piece_size < 1 ||
	    npieces > (int64_t)INT32_MAX) {
		free(s);
		errno = EINVAL;
		return NULL;
	}
	s->super = SCHED_NIL;
	s->rng = c->seed ? c->seed : 1;
	s->lru = s->freel = s->park = s->woken = (struct sched_list){SCHED_NIL, SCHED_NIL, 0};
	s->final = npieces >= 0;
	/* The first capacity: 64 pieces (then forgotten: the count starts at 0), then 8 peers. */
	if (grow_pieces(s, 64) != DF_OK)
		goto fail;
	s->npieces = 0;
	if (grow_peers(s) != DF_OK)
		goto fail;
	if (npieces > 0 && grow_pieces(s, (uint32_t)npieces) != DF_OK)
		goto fail;
	s->last_bytes = c->piece_size;
	return s;
fail:
	sched_free(s);
	errno = ENOMEM;
	return NULL;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	free(s->peers), free(s->have), free(s->ent), free(s->col), free(s->colsum), free(s->freeup);
	free(s->freesum), free(s->availbm), free(s->key), free(s->nhold), free(s->ninfl), free(s->order);
	free(s->pos), free(s->cnt_ge), free(s->scratch);
	free(s);
}

/* Called when parked peers that hold everything must learn they are done. */
static void wake_done(struct sched *s)
{
	int32_t i = s->park.head;
	while (i != SCHED_NIL) {
		int32_t next = s->peers[i].link[LINK_WAIT].next;
		if (s->peers[i].nhave == s->npieces)
			wake(s, i);
		i = next;
	}
}

int sched_grow(struct sched *s, uint32_t npieces)
{
	if (s->final) {
		errno = EINVAL;
		return DF_ERR;
	}
	return grow_pieces(s, npieces);
}

int sched_set_length(struct sched *s, uint64_t total)
{
	uint64_t n = total / s->cfg.piece_size + (total % s->cfg.piece_size != 0);
	if (n > INT32_MAX || n < s->npieces || (s->final && n != s->npieces)) {
		errno = EINVAL;
		return DF_ERR;
	}
	if (grow_pieces(s, (uint32_t)n) != DF_OK)
		return DF_ERR;
	s->final = 1;
	s->last_bytes = n ? (uint32_t)(total - (n - 1) * s->cfg.piece_size) : 0;
	wake_done(s);
	return DF_OK;
}

/* ---- per-piece counters and per-peer slots ---- */

static int valid(const struct sched *s, int peer)
{
	return peer >= 0 && (uint32_t)peer < s->cap_peers && s->peers[peer].used;
}

static void freeup_update(struct sched *s, int32_t u)
{
	const struct sched_peer *p = &s->peers[u];
	uint32_t w = (uint32_t)u >> 6;
	if (sched_usable_holder(p) && p->nup < sched_slots(s, p)) {
		bm_set(s->freeup, (uint32_t)u);
		bm_set(s->freesum, w);
	} else {
		bm_clr(s->freeup, (uint32_t)u);
		if (!s->freeup[w])
			bm_clr(s->freesum, w);
	}
}

static void col_set(struct sched *s, uint32_t p, int32_t u)
{
	bm_set(s->col + (size_t)p * s->qw, (uint32_t)u);
	bm_set(s->colsum + (size_t)p * s->qs, (uint32_t)u >> 6);
}

static void col_clr(struct sched *s, uint32_t p, int32_t u)
{
	uint64_t *c = s->col + (size_t)p * s->qw;
	bm_clr(c, (uint32_t)u);
	if (!c[(uint32_t)u >> 6])
		bm_clr(s->colsum + (size_t)p * s->qs, (uint32_t)u >> 6);
}

/* u now holds p. */
static void gain(struct sched *s, int32_t u, uint32_t p)
{
	struct sched_peer *pe = &s->peers[u];
	uint64_t *h = sched_have(s, u);
	if (bm_get(h, p))
		return;
	bm_set(h, p);
	pe->nhave++;
	if (!pe->super)
		s->sum_have++;
	if (sched_usable_holder(pe)) {
		s->nhold[p]++;
		col_set(s, p, u);
	}
	sched_key_fix(s, p);
}

/* u no longer counts as holding p: a claim that failed. Not for the supernode (it fetched the piece). */
static void lose(struct sched *s, int32_t u, uint32_t p)
{
	struct sched_peer *pe = &s->peers[u];
	uint64_t *h = sched_have(s, u);
	if (pe->super || !bm_get(h, p))
		return;
	bm_clr(h, p);
	if (p < pe->seq_next)
		pe->seq_next = p;
	pe->nhave--;
	s->sum_have--;
	if (sched_usable_holder(pe)) {
		s->nhold[p]--;
		col_clr(s, p, u);
	}
	sched_key_fix(s, p);
}

/* u's pieces stop counting as held by a usable uploader (blacklist, removal). */
static void unhold_all(struct sched *s, int32_t u)
{
	const uint64_t *h = sched_have(s, u);
	uint32_t words = (s->npieces + 63) / 64;
	for (uint32_t w = 0; w < words; w++)
		for (uint64_t m = h[w]; m; m &= m - 1) {
			uint32_t p = w * 64 + (uint32_t)__builtin_ctzll(m);
			if (!s->peers[u].super) {
				s->nhold[p]--;
				col_clr(s, p, u);
			}
			sched_key_fix(s, p);
		}
}

/* Brings peer i's transfer-time areas up to s->now, before its counts change: a transfer's rate
 * times the average count over its lifetime (not the count at its end) samples the link's rate. */
static void tally(struct sched *s, int32_t i)
{
	struct sched_peer *p = &s->peers[i];
	if (s->now > p->at) {
		p->uarea += (double)p->nup * (double)(s->now - p->at);
		p->darea += (double)p->ndown * (double)(s->now - p->at);
		p->at = s->now;
	}
}

void sched_start(struct sched *s, int32_t d, uint32_t p, int32_t u, int64_t now)
{
	if (now > s->now)
		s->now = now;
	tally(s, d);
	tally(s, u);
	struct sched_entry *e = sched_ents(s, d);
	int k = 0;
	while (e[k].piece >= 0)
		k++;
	int32_t idx = (int32_t)((size_t)d * (size_t)s->cfg.max_down + (size_t)k);
	struct sched_peer *up = &s->peers[u];
	e[k] = (struct sched_entry){.piece = (int32_t)p,
				    .up = u,
				    .up_prev = SCHED_NIL,
				    .up_next = up->up_head,
				    .since = now,
				    .ua0 = up->uarea,
				    .da0 = s->peers[d].darea};
	if (up->up_head != SCHED_NIL)
		s->ent[up->up_head].up_prev = idx;
	up->up_head = idx;
	up->nup++;
	s->peers[d].ndown++;
	freeup_update(s, u);
	s->ninfl[p]++;
	sched_key_fix(s, p);
	s->assignments++;
}

/* Ends the transfer in entry idx: frees the uploader's slot and the downloader's in-flight place. */
static void release(struct sched *s, int32_t idx)
{
	struct sched_entry *e = &s->ent[idx];
	int32_t d = (int32_t)((size_t)idx / (size_t)s->cfg.max_down);
	struct sched_peer *up = &s->peers[e->up];
	tally(s, d);
	tally(s, e->up);
	if (e->up_prev != SCHED_NIL)
		s->ent[e->up_prev].up_next = e->up_next;
	else
		up->up_head = e->up_next;
	if (e->up_next != SCHED_NIL)
		s->ent[e->up_next].up_prev = e->up_prev;
	up->nup--;
	s->peers[d].ndown--;
	freeup_update(s, e->up);
	uint32_t p = (uint32_t)e->piece;
	s->ninfl[p]--;
	sched_key_fix(s, p);
	*e = (struct sched_entry){.piece = -1, .up = SCHED_NIL, .up_prev = SCHED_NIL, .up_next = SCHED_NIL};
}

/* Does w lack some piece u holds? */
static int needs_from(const struct sched *s, int32_t w, int32_t u)
{
	const uint64_t *hw = sched_have(s, w), *hu = sched_have(s, u);
	uint32_t words = (s->npieces + 63) / 64;
	for (uint32_t i = 0; i < words; i++)
		if (hu[i] & ~hw[i])
			return 1;
	return 0;
}

/* u may have become useful (a free slot, a new piece): move parked peers that lack something u
 * holds to the woken list, about one per free slot; others looked at go to the back of the line. */
static void wake_for(struct sched *s, int32_t u)
{
	const struct sched_peer *up = &s->peers[u];
	if (!up->used || up->black || !up->nhave)
		return;
	int free_slots = sched_slots(s, up) - up->nup;
	int scan = DF_MIN(SCHED_WAKE_SCAN, s->park.len);
	for (int looked = 0; free_slots > 0 && looked < scan; looked++) {
		int32_t w = s->park.head;
		list_unlink(s, &s->park, LINK_WAIT, w);
		if (w != u && needs_from(s, w, u)) {
			list_push(s, &s->woken, LINK_WAIT, w);
			s->peers[w].wait = WAIT_WOKEN;
			s->peers[w].hint = u;
			free_slots--;
		} else {
			list_push(s, &s->park, LINK_WAIT, w);
		}
	}
}

static void blacklist(struct sched *s, int32_t u, const char *why)
{
	struct sched_peer *p = &s->peers[u];
	if (p->black || p->super)
		return;
	snprintf(p->why, sizeof p->why, "%s", why);
	unhold_all(s, u); /* before black is set: the counters still include it */
	p->black = 1;
	s->nblack++;
	freeup_update(s, u);
}

static void avoid_add(struct sched *s, int32_t d, int32_t u)
{
	/* the supernode is the holder of last resort: avoiding it could leave a peer with nobody */
	if (u == s->super)
		return;
	struct sched_peer *p = &s->peers[d];
	p->avoid[p->avoid_next] = (struct sched_avoid){u, s->peers[u].gen};
	p->avoid_next = (uint8_t)((p->avoid_next + 1) % SCHED_AVOID);
}

/* Transfers a peer of rate c gets when the typical peer's rate is ref: n for a typical or faster
 * one, proportionally fewer (at least lo) for a slower one, so each of its transfers runs about as
 * fast as a typical one instead of holding a place at the other end at a fraction of its share. */
static int16_t sized(int n, double c, double ref, int lo)
{
	if (c <= 0 || ref <= 0 || c >= SCHED_SLOW * ref)
		return (int16_t)n; /* the rates are noisy: only a clearly slower peer gets fewer */
	return (int16_t)DF_MAX(lo, DF_MIN(n, (int)ceil(n * c / ref)));
}

/* A transfer of bytes from u to d took body_us. Its rate r times d's downloads in flight (this one
 * included) samples d's download rate (dcap: kept as the higher samples say, since a sample is low
 * when the uploaders were the limit). If r x d's downloads is near dcap, d's link was the limit and
 * r x u's uploads is only a lower bound of u's rate: it may raise u's estimate (ucap; or make the
 * first one), never lower it (a measured fast uploader that served a slow downloader is not taken for a
 * slow one). Otherwise u was the limit and
 * r x u's uploads is its rate: the estimate follows it. u's upload slots are then sized against the
 * peers' typical rate, so a slow uploader runs few transfers, each about as fast as anyone's, instead
 * of holding a place of eight downloaders at a tenth of their share for ten times as long. The counts
 * are averages over the transfer's life (tally), not the counts at its end. */
static void measure(struct sched *s, int32_t u, int32_t d, uint32_t bytes, int64_t body_us, double nu, double nd)
{
	struct sched_peer *p = &s->peers[u], *q = &s->peers[d];
	double r = (double)bytes * 1000.0 / (double)body_us;
	double down = r * nd, up = r * nu;
	/* the estimate that ranks uploaders and decides the supernode's place (tuned on it, issue 16):
	 * the rate times the uploads at the end */
	double end = r * (p->nup + 1);
	p->cap = p->cap > 0 ? 0.75 * p->cap + 0.25 * end : end;
	if (!p->super && p->cap > s->cap_max)
		s->cap_max = p->cap;
	q->dcap = q->dcap <= 0 ? down : q->dcap + (down > q->dcap ? SCHED_RISE : SCHED_FALL) * (down - q->dcap);
	s->xfer_ref = s->xfer_ref > 0 ? s->xfer_ref + SCHED_REF_W * (r - s->xfer_ref) : r;
	if (!q->super) {
		s->dcap_ref = s->dcap_ref > 0 ? s->dcap_ref + SCHED_REF_W * (q->dcap - s->dcap_ref) : q->dcap;
		/* until d's own uploads are measured (a slow one's first ends after a piece at its
		 * rate over its uploads: 1.7 s at 1.25 Mbit/s), a download rate far below the typical
		 * one hints at its upload slots: a host slow both ways runs few uploads from the start.
		 * Only far below (SCHED_HINT): early download samples are noisy, and at 0.5 the 1 MB
		 * piece row of the simulator lost 1% (5 seeds) */
		if (q->ucap <= 0 && q->dcap < SCHED_HINT * s->dcap_ref)
			q->uslots = sized(s->cfg.up_slots, q->dcap, s->dcap_ref, 1);
		/* a downloader far below the typical rate (a tenth: the slow hosts of item 4) would hold
		 * max_down places at fast uploaders, each running at its share of the slow link: fewer
		 * places, each as fast as the link allows. Only far below: the download estimate is a
		 * lower bound (its uploaders may have been the limit), and at 0.5 the rows with slow
		 * uplinks for everyone (--up 20) lost 10% to hosts held back by their uploaders. */
		q->dslots = q->dcap < SCHED_DSLOW * s->dcap_ref && s->xfer_ref > 0
				    ? (int16_t)DF_MAX(SCHED_DSLOTS_MIN,
						      DF_MIN(s->cfg.max_down, (int)ceil(q->dcap / s->xfer_ref) + 1))
				    : 0;
	}
	if (p->super)
		return;
	int dlimit = down >= SCHED_SAT * q->dcap;
	if (!dlimit || up > p->ucap)
		p->ucap = p->ucap > 0 ? p->ucap + SCHED_RATE_W * (up - p->ucap) : up;
	s->cap_ref = s->cap_ref > 0 ? s->cap_ref + SCHED_REF_W * (p->ucap - s->cap_ref) : p->ucap;
	p->uslots = sized(s->cfg.up_slots, p->ucap, s->cap_ref, 1);
	freeup_update(s, u);
}

/* ---- public entry points ---- */

int sched_touch(struct sched *s, int peer, int64_t now)
{
	if (!valid(s, peer)) {
		errno = EINVAL;
		return DF_ERR;
	}
	struct sched_peer *p = &s->peers[peer];
	p->last_seen = now;
	if (now > s->now)
		s->now = now;
	if (!p->super) {
		list_unlink(s, &s->lru, LINK_LRU, peer);
		list_push(s, &s->lru, LINK_LRU, peer);
	}
	return DF_OK;
}

int sched_peer_add(struct sched *s, int is_supernode, const uint8_t *have, int64_t now)
{
	if (is_supernode && s->super != SCHED_NIL) {
		errno = EINVAL;
		return DF_ERR;
	}
	if (s->freel.head == SCHED_NIL && grow_peers(s) != DF_OK) {
		errno = ENOMEM;
		return DF_ERR;
	}
	int32_t u = s->freel.head;
	list_unlink(s, &s->freel, LINK_LRU, u);
	struct sched_peer *p = &s->peers[u];
	uint32_t gen = p->gen + 1;
	memset(p, 0, sizeof *p);
	p->gen = gen;
	p->used = 1;
	p->super = is_supernode ? 1 : 0;
	p->up_head = p->hint = SCHED_NIL;
	p->link[0] = p->link[1] = (struct sched_link){SCHED_NIL, SCHED_NIL};
	for (int k = 0; k < SCHED_AVOID; k++)
		p->avoid[k].peer = SCHED_NIL;
	p->last_seen = now;
	if (now > s->now)
		s->now = now;
	p->at = s->now;
	if (is_supernode)
		s->super = u;
	else
		list_push(s, &s->lru, LINK_LRU, u);
	s->npeers++;
	freeup_update(s, u);
	if (have) {
		for (uint32_t i = 0; i < s->npieces; i++)
			if (bitmap_get(have, i))
				gain(s, u, i);
		wake_for(s, u);
	}
	return u;
}

int sched_peer_remove(struct sched *s, int peer)
{
	if (!valid(s, peer)) {
		errno = EINVAL;
		return DF_ERR;
	}
	struct sched_peer *p = &s->peers[peer];
	wait_leave(s, peer);
	if (!p->super)
		list_unlink(s, &s->lru, LINK_LRU, peer);
	/* Its downloads: free the uploaders' slots, which may wake others. */
	struct sched_entry *e = sched_ents(s, peer);
	for (int k = 0; k < s->cfg.max_down; k++)
		if (e[k].piece >= 0) {
			int32_t u = e[k].up;
			release(s, (int32_t)((size_t)peer * (size_t)s->cfg.max_down + (size_t)k));
			wake_for(s, u);
		}
	/* Its uploads: the downloaders get their place back and are woken to fetch elsewhere. */
	while (p->up_head != SCHED_NIL) {
		int32_t idx = p->up_head;
		int32_t d = (int32_t)((size_t)idx / (size_t)s->cfg.max_down);
		release(s, idx);
		wake(s, d);
	}
	if (p->super)
		s->super = SCHED_NIL; /* first: availability re-keyed by unhold_all looks at s->super */
	if (!p->black)
		unhold_all(s, peer);
	else
		s->nblack--;
	memset(sched_have(s, peer), 0, (size_t)s->pw * 8);
	if (!p->super)
		s->sum_have -= p->nhave;
	p->used = 0;
	p->nhave = 0;
	freeup_update(s, peer);
	s->npeers--;
	list_push(s, &s->freel, LINK_LRU, peer);
	return DF_OK;
}

int sched_peer_has(struct sched *s, int peer, uint32_t piece)
{
	if (!valid(s, peer)) {
		errno = EINVAL;
		return DF_ERR;
	}
	if (piece >= s->npieces) {
		if (!s->peers[peer].super || s->final || piece == UINT32_MAX) {
			errno = EINVAL;
			return DF_ERR;
		}
		if (grow_pieces(s, piece + 1) != DF_OK)
			return DF_ERR;
	}
	gain(s, peer, piece);
	wake_for(s, peer);
	return DF_OK;
}

int sched_assign(struct sched *s, int peer, int64_t now, struct sched_assignment *out, int max, enum sched_why *why)
{
	enum sched_why dummy;
	if (!why)
		why = &dummy;
	if (!valid(s, peer)) {
		errno = EINVAL;
		return DF_ERR;
	}
	sched_touch(s, peer, now);
	wait_leave(s, peer);
	struct sched_peer *p = &s->peers[peer];
	if (p->super || (s->final && p->nhave == s->npieces)) {
		*why = SCHED_DONE;
		return 0;
	}
	int room = DF_MIN(max, (p->dslots ? p->dslots : s->cfg.max_down) - p->ndown);
	int n = 0;
	if (room > 0 && p->ndown && p->nhave + (uint32_t)p->ndown >= s->npieces && s->final && s->cfg.endgame)
		n = sched_endgame(s, peer, now, out, room);
	if (n > 0) {
		*why = SCHED_ASSIGNED;
		return n;
	}
	if (room <= 0 || (p->ndown && p->nhave + (uint32_t)p->ndown >= s->npieces)) {
		*why = SCHED_FULL; /* its own transfers bring it back */
		return 0;
	}
	n = sched_pick(s, peer, now, out, room, why);
	if (n > 0) {
		*why = SCHED_ASSIGNED;
	} else {
		list_push(s, &s->park, LINK_WAIT, peer);
		p->wait = WAIT_PARKED;
	}
	return n;
}

int sched_report(struct sched *s, int d, uint32_t piece, int u, enum sched_result r, int64_t now)
{
	return sched_report_timed(s, d, piece, u, r, now, -1);
}

int sched_report_timed(struct sched *s, int d, uint32_t piece, int u, enum sched_result r, int64_t now, int64_t body_us)
{
	if (!valid(s, d) || piece >= s->npieces || u < SCHED_NIL || (u >= 0 && (uint32_t)u >= s->cap_peers) || u == d) {
		errno = EINVAL;
		return DF_ERR;
	}
	struct sched_entry *e = sched_ents(s, d);
	int k = 0;
	while (k < s->cfg.max_down && e[k].piece != (int32_t)piece)
		k++;
	for (int j = k + 1; j < s->cfg.max_down && k < s->cfg.max_down && e[k].up != u; j++)
		if (e[j].piece == (int32_t)piece && e[j].up == u)
			k = j; /* the end game: two uploaders of one piece; this report is about the one named */
	int32_t idx = k < s->cfg.max_down ? (int32_t)((size_t)d * (size_t)s->cfg.max_down + (size_t)k) : SCHED_NIL;
	/* The transfer the scheduler knows, or a stale one (cancelled by a removal, then perhaps
	 * handed out again from another uploader). */
	int exact = idx != SCHED_NIL && e[k].up == u;
	sched_touch(s, d, now);
	int uvalid = u != SCHED_NIL && valid(s, u);
	double nu = 1, nd = 1; /* u's uploads and d's downloads in flight, on average over the transfer */
	if (exact && r == SCHED_OK && body_us > 0) {
		tally(s, u);
		tally(s, d);
		int64_t span = now - e[k].since;
		nu = span > 0 ? (s->peers[u].uarea - e[k].ua0) / (double)span : s->peers[u].nup;
		nd = span > 0 ? (s->peers[d].darea - e[k].da0) / (double)span : s->peers[d].ndown;
		nu = DF_MAX(nu, 1.0), nd = DF_MAX(nd, 1.0);
	}
	if (r == SCHED_OK) {
		int32_t other = SCHED_NIL;
		if (idx != SCHED_NIL) { /* exact, or the same piece from elsewhere: no longer needed */
			other = e[k].up;
			release(s, idx);
		}
		/* the end game's other copy of this piece, if any: the loser, cancelled by the downloader */
		for (int j = 0; j < s->cfg.max_down; j++)
			if (e[j].piece == (int32_t)piece) {
				int32_t lu = e[j].up;
				release(s, (int32_t)((size_t)d * (size_t)s->cfg.max_down + (size_t)j));
				wake_for(s, lu);
			}
		gain(s, d, piece);
		if (exact) {
			uint32_t bytes = s->final && piece == s->npieces - 1 ? s->last_bytes : s->cfg.piece_size;
			s->peers[d].bytes_down += bytes;
			s->peers[u].bytes_up += bytes;
			s->peers[u].fails = 0;
			if (body_us > 0)
				measure(s, u, d, bytes, body_us, nu, nd);
		}
		wake_for(s, d);
		if (other != SCHED_NIL && other != u)
			wake_for(s, other);
	} else if (uvalid) {
		if (exact)
			release(s, idx);
		struct sched_peer *up = &s->peers[u];
		up->fails++;
		up->fails_total++;
		avoid_add(s, d, u);
		/* it said it had the piece and did not deliver: the claim is not believed again (a peer that
		 * really holds it gets it counted back when it re-registers) */
		lose(s, u, piece);
		char why[96];
		if (r == SCHED_BAD) {
			snprintf(why, sizeof why,
				 "sent a bad copy of piece %u (checksum mismatch, reported by peer %d)", piece, d);
			blacklist(s, u, why);
		} else if (up->fails >= (uint32_t)s->cfg.max_failures) {
			snprintf(why, sizeof why, "%u uploads in a row failed (the last: piece %u to peer %d)",
				 up->fails, piece, d);
			blacklist(s, u, why);
		}
	}
	if (uvalid)
		wake_for(s, u);
	return exact ? DF_OK : DF_AGAIN;
}

int sched_cancel(struct sched *s, int d, uint32_t piece, int u, int64_t now)
{
	if (!valid(s, d) || piece >= s->npieces || !valid(s, u) || u == d) {
		errno = EINVAL;
		return DF_ERR;
	}
	sched_touch(s, d, now);
	struct sched_entry *e = sched_ents(s, d);
	for (int k = 0; k < s->cfg.max_down; k++)
		if (e[k].piece == (int32_t)piece && e[k].up == u) {
			release(s, (int32_t)((size_t)d * (size_t)s->cfg.max_down + (size_t)k));
			wake_for(s, u);
			return DF_OK;
		}
	return DF_AGAIN;
}

int sched_peer_in_order(struct sched *s, int peer, int on)
{
	if (!valid(s, peer) || s->peers[peer].super) {
		errno = EINVAL;
		return DF_ERR;
	}
	s->peers[peer].in_order = on ? 1 : 0;
	return DF_OK;
}

int sched_blacklist(struct sched *s, int peer, const char *why)
{
	if (!valid(s, peer) || s->peers[peer].super) {
		errno = EINVAL;
		return DF_ERR;
	}
	blacklist(s, peer, why);
	return DF_OK;
}

int sched_forget_stale(struct sched *s, int d, int64_t before)
{
	if (!valid(s, d)) {
		errno = EINVAL;
		return DF_ERR;
	}
	struct sched_entry *e = sched_ents(s, d);
	int n = 0;
	for (int k = 0; k < s->cfg.max_down; k++)
		if (e[k].piece >= 0 && e[k].since < before) {
			int32_t u = e[k].up;
			release(s, (int32_t)((size_t)d * (size_t)s->cfg.max_down + (size_t)k));
			wake_for(s, u);
			n++;
		}
	return n;
}

int sched_expire(struct sched *s, int64_t now, int *out, int max)
{
	int n = 0;
	while (n < max && s->lru.head != SCHED_NIL) {
		int32_t i = s->lru.head;
		if (now - s->peers[i].last_seen <= s->cfg.silence_ms)
			break;
		sched_peer_remove(s, i);
		out[n++] = i;
	}
	return n;
}

int sched_wakeable(struct sched *s, int *out, int max)
{
	int n = 0;
	while (n < max && s->woken.head != SCHED_NIL) {
		int32_t i = s->woken.head;
		list_unlink(s, &s->woken, LINK_WAIT, i);
		s->peers[i].wait = WAIT_NONE;
		out[n++] = i;
	}
	return n;
}

int sched_peer_info(const struct sched *s, int peer, struct sched_peer_info *o)
{
	if (!valid(s, peer)) {
		errno = EINVAL;
		return DF_ERR;
	}
	const struct sched_peer *p = &s->peers[peer];
	*o = (struct sched_peer_info){
		.is_supernode = p->super,
		.blacklisted = p->black,
		.why = p->why,
		.pieces = p->nhave,
		.down_inflight = p->ndown,
		.up_inflight = p->nup,
		.bytes_down = p->bytes_down,
		.bytes_up = p->bytes_up,
		.failures = p->fails_total,
		.last_seen = p->last_seen,
		.parked = p->wait != WAIT_NONE,
	};
	return DF_OK;
}

void sched_task_info(const struct sched *s, struct sched_task_info *o)
{
	int done = 0;
	for (uint32_t i = 0; s->final && i < s->cap_peers; i++)
		if (s->peers[i].used && !s->peers[i].super && s->peers[i].nhave == s->npieces)
			done++;
	*o = (struct sched_task_info){
		.npieces = s->npieces,
		.final = s->final,
		.available = s->npieces ? s->cnt_ge[1] : 0,
		.super_pieces = s->super != SCHED_NIL ? s->peers[s->super].nhave : 0,
		.peers = s->npeers,
		.done = done,
		.parked = s->park.len + s->woken.len,
		.blacklisted = s->nblack,
		.assignments = s->assignments,
		.searches = s->searches,
	};
}

uint32_t sched_piece_holders(const struct sched *s, uint32_t piece)
{
	return piece < s->npieces ? s->nhold[piece] : 0;
}

int sched_peer_holds(const struct sched *s, int peer, uint32_t piece)
{
	return valid(s, peer) && piece < s->npieces && bm_get(sched_have(s, peer), piece);
}
