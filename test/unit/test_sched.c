/* Unit tests of core/sched: rarest first, slot limits, supernode last, blacklisting, expiry, resume,
 * a growing piece count, wakeups, and a randomized run that re-derives every counter after each step. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/bitmap.h"
#include "core/df.h"
#include "core/sched.h"
#include "core/sched_impl.h"
#include "test/unit/unit.h"

static int check_invariants(const struct sched *s);

static struct sched_config cfg(int max_down, int up_slots, int super_slots)
{
	struct sched_config c;
	sched_config_default(&c);
	c.max_down = max_down;
	c.up_slots = up_slots;
	c.super_slots = super_slots;
	c.silence_ms = 1000;
	c.max_failures = 3;
	c.piece_size = 100;
	return c;
}

/* A supernode holding pieces [0, n). */
static int super_with(struct sched *s, uint32_t n)
{
	int sn = sched_peer_add(s, 1, NULL, 0);
	for (uint32_t p = 0; p < n; p++)
		sched_peer_has(s, sn, p);
	return sn;
}

static int peer_with(struct sched *s, const uint32_t *pieces, int n)
{
	uint8_t bm[64] = {0};
	for (int i = 0; i < n; i++)
		bitmap_set(bm, pieces[i]);
	return sched_peer_add(s, 0, bm, 0);
}

static void rarest_first(void)
{
	struct sched_config c = cfg(8, 4, 4);
	struct sched *s = sched_new(&c, 4);
	int sn = super_with(s, 4);
	int a = peer_with(s, (uint32_t[]){0, 1, 2}, 3);
	int b = peer_with(s, (uint32_t[]){0, 1}, 2);
	int e = peer_with(s, (uint32_t[]){0}, 1);
	CHECK_EQ(sched_piece_holders(s, 0), 3);
	CHECK_EQ(sched_piece_holders(s, 1), 2);
	CHECK_EQ(sched_piece_holders(s, 2), 1);
	CHECK_EQ(sched_piece_holders(s, 3), 0);
	int d = sched_peer_add(s, 0, NULL, 0);
	struct sched_assignment out[8];
	enum sched_why why;
	/* One at a time: 3 (only the supernode has it), then 2, 1, 0. */
	uint32_t want[] = {3, 2, 1, 0};
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(sched_assign(s, d, 1, out, 1, &why), 1);
		CHECK_EQ(why, SCHED_ASSIGNED);
		CHECK_EQ(out[0].piece, want[i]);
		CHECK(sched_peer_holds(s, out[0].uploader, out[0].piece));
	}
	CHECK_EQ(out[0].piece, 0);
	CHECK(out[0].uploader == a || out[0].uploader == b || out[0].uploader == e);
	CHECK_EQ(sched_assign(s, d, 1, out, 8, &why), 0);
	CHECK_EQ(why, SCHED_FULL);
	(void)sn;
	sched_free(s);
}

/* A downloader that streams from the start gets the lowest-numbered of its rarest candidates: in a
 * cold pull (the supernode alone holds everything) that is the file in order; pieces peers hold are
 * commoner, so rarity still goes first; a piece it lost counts as missing again. */
static void in_order(void)
{
	struct sched_config c = cfg(8, 4, 64);
	struct sched *s = sched_new(&c, 200);
	int sn = sched_peer_add(s, 1, NULL, 0);
	for (uint32_t i = 0; i < 200; i++) /* out of order, as several source streams land them */
		sched_peer_has(s, sn, i * 73 % 200);
	int d = sched_peer_add(s, 0, NULL, 0), e = sched_peer_add(s, 0, NULL, 0);
	CHECK_EQ(sched_peer_in_order(s, d, 1), DF_OK);
	struct sched_assignment out[8];
	enum sched_why why;
	CHECK_EQ(sched_assign(s, d, 1, out, 8, &why), 8);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(out[i].piece, (uint32_t)i);
		CHECK_EQ(out[i].uploader, sn);
	}
	for (uint32_t p = 0; p < 4; p++)
		CHECK_EQ(sched_report(s, d, p, sn, SCHED_OK, 2), DF_OK);
	CHECK_EQ(sched_assign(s, d, 3, out, 8, &why), 4);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(out[i].piece, (uint32_t)(8 + i));
	/* a downloader not in order is not steered to the start: among 200 equally rare pieces it gets
	 * none of d's (those are in flight or held: commoner), and not simply the next ones */
	CHECK_EQ(sched_assign(s, e, 3, out, 8, &why), 8);
	int next = 1;
	for (int i = 0; i < 8; i++) {
		CHECK(out[i].piece >= 12);
		next &= out[i].piece == (uint32_t)(12 + i);
	}
	CHECK(!next);
	sched_free(s);

	/* rarity first: a peer holds 0..99, so 100..199 (the supernode's alone) are rarer */
	s = sched_new(&c, 200);
	sn = super_with(s, 200);
	uint32_t held[100];
	for (uint32_t p = 0; p < 100; p++)
		held[p] = p;
	int a = peer_with(s, held, 100);
	d = sched_peer_add(s, 0, NULL, 0);
	CHECK_EQ(sched_peer_in_order(s, d, 1), DF_OK);
	CHECK_EQ(sched_assign(s, d, 1, out, 8, &why), 8);
	for (int i = 0; i < 8; i++) /* the rarer ones, past its window of 16: their ties in any order */
		CHECK(out[i].piece >= 100);
	(void)a;
	CHECK_EQ(sched_peer_in_order(s, sn, 1), DF_ERR);
	CHECK_EQ(sched_peer_in_order(s, 999, 1), DF_ERR);
	sched_free(s);

	/* a piece lost below where d's prefix had reached (an upload of it failed) is first again */
	s = sched_new(&c, 200);
	sn = super_with(s, 72);
	d = sched_peer_add(s, 0, NULL, 0);
	CHECK_EQ(sched_peer_in_order(s, d, 1), DF_OK);
	int64_t now = 1;
	for (uint32_t got = 0; got < 72; now++) {
		int n = sched_assign(s, d, now, out, 8, &why);
		CHECK_EQ(n, 8);
		for (int i = 0; i < n; i++) {
			CHECK_EQ(out[i].piece, got + (uint32_t)i);
			CHECK_EQ(sched_report(s, d, out[i].piece, sn, SCHED_OK, now), DF_OK);
		}
		got += (uint32_t)n;
	}
	e = sched_peer_add(s, 0, NULL, now);
	int lost = -1, n = sched_assign(s, e, now, out, 8, &why);
	for (int i = 0; i < n && lost < 0; i++)
		if (out[i].uploader == d && out[i].piece < 64) {
			lost = (int)out[i].piece;
			CHECK_EQ(sched_report(s, e, out[i].piece, d, SCHED_FAILED, now), DF_OK);
		}
	CHECK(lost >= 0);
	CHECK(!sched_peer_holds(s, d, (uint32_t)lost));
	for (uint32_t p = 72; p < 200; p++)
		sched_peer_has(s, sn, p);
	CHECK(sched_assign(s, d, now, out, 8, &why) >= 1);
	CHECK_EQ(out[0].piece, (uint32_t)lost);
	sched_free(s);
}

static void upload_slots(void)
{
	struct sched_config c = cfg(4, 2, 4);
	struct sched *s = sched_new(&c, 10);
	int a = peer_with(s, (uint32_t[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10);
	int d[5];
	struct sched_assignment out[4];
	enum sched_why why;
	int got = 0;
	for (int i = 0; i < 5; i++) {
		d[i] = sched_peer_add(s, 0, NULL, 0);
		int n = sched_assign(s, d[i], 0, out, 4, &why);
		CHECK(n >= 0);
		for (int k = 0; k < n; k++)
			CHECK_EQ(out[k].uploader, a);
		got += n;
	}
	CHECK_EQ(got, 2);  /* two slots, whoever asked first takes them */
	struct sched_peer_info pi;
	sched_peer_info(s, a, &pi);
	CHECK_EQ(pi.up_inflight, 2);
	/* d[4] was refused: busy holders, parked. */
	CHECK_EQ(sched_assign(s, d[4], 0, out, 4, &why), 0);
	CHECK_EQ(why, SCHED_WAIT_SLOTS);
	sched_peer_info(s, d[4], &pi);
	CHECK(pi.parked);
	int w[8];
	CHECK_EQ(sched_wakeable(s, w, 8), 0);
	/* Finishing d[0]'s first transfer frees a slot and wakes one parked peer. */
	sched_peer_info(s, d[0], &pi);
	CHECK_EQ(pi.down_inflight, 2);
	struct sched_entry *e = sched_ents(s, d[0]);
	CHECK_EQ(sched_report(s, d[0], (uint32_t)e[0].piece, a, SCHED_OK, 5), DF_OK);
	/* a has one free slot, d[0] two (it holds a piece now): three of the four parked wake. */
	int nw = sched_wakeable(s, w, 8);
	CHECK_EQ(nw, 3);
	for (int i = 0; i < nw; i++)
		CHECK(w[i] != d[0] && w[i] != a);
	sched_peer_info(s, d[0], &pi);
	CHECK_EQ(pi.pieces, 1);
	CHECK_EQ(pi.bytes_down, 100);
	sched_peer_info(s, a, &pi);
	CHECK_EQ(pi.bytes_up, 100);
	CHECK_EQ(pi.up_inflight, 1);
	/* d[0] now holds a piece and has free slots: the woken peer may get it from a or from d[0]. */
	CHECK(sched_assign(s, w[0], 6, out, 4, &why) >= 1);
	sched_free(s);
}

static void supernode_last(void)
{
	struct sched_config c = cfg(1, 1, 4);
	struct sched *s = sched_new(&c, 2);
	int sn = super_with(s, 2);
	int a = peer_with(s, (uint32_t[]){0, 1}, 2);
	int b = sched_peer_add(s, 0, NULL, 0), e = sched_peer_add(s, 0, NULL, 0);
	struct sched_assignment out[1];
	CHECK_EQ(sched_assign(s, b, 0, out, 1, NULL), 1);
	CHECK_EQ(out[0].uploader, a);   /* the peer, although the supernode has both pieces free */
	CHECK_EQ(sched_assign(s, e, 0, out, 1, NULL), 1);
	CHECK_EQ(out[0].uploader, sn);  /* a's single slot is taken: now the supernode */
	sched_free(s);
}

/* Once the supernode holds every piece and its measured rate per transfer beats the free peer's,
 * a downloader at or behind the average gets it from the supernode (issue 16: the supernode idled
 * while slow peer uplinks were the limit). Only with measurements: unmeasured, the peer comes first. */
static void supernode_first_when_faster(void)
{
	struct sched_config c = cfg(1, 1, 4);
	struct sched *s = sched_new(&c, 4);
	int sn = super_with(s, 4);
	int a = peer_with(s, (uint32_t[]){0, 1, 2, 3}, 4);
	int b = sched_peer_add(s, 0, NULL, 0), e = sched_peer_add(s, 0, NULL, 0);
	struct sched_assignment out[1];
	CHECK_EQ(sched_assign(s, b, 0, out, 1, NULL), 1);
	CHECK_EQ(out[0].uploader, a);  /* nothing measured yet: peers before the supernode */
	uint32_t pb = out[0].piece;
	CHECK_EQ(sched_assign(s, e, 0, out, 1, NULL), 1);
	CHECK_EQ(out[0].uploader, sn);  /* a's one slot is taken */
	/* a sends 100 bytes in 100 ms (1 byte/ms), the supernode 100 bytes in 1 ms */
	CHECK_EQ(sched_report_timed(s, b, pb, a, SCHED_OK, 100, 100000), DF_OK);
	CHECK_EQ(sched_report_timed(s, e, out[0].piece, sn, SCHED_OK, 100, 1000), DF_OK);
	int g = sched_peer_add(s, 0, NULL, 101);
	CHECK_EQ(sched_assign(s, g, 102, out, 1, NULL), 1);
	CHECK_EQ(out[0].uploader, sn);  /* both measured, the supernode faster, g behind: the supernode */
	CHECK_EQ(check_invariants(s), 0);
	sched_free(s);
}

/* The end game: once all a downloader lacks is in flight, a second uploader is named for its oldest
 * piece; the first copy's ok ends the other transfer (its uploader's slot is free again). Off by
 * default: the same situation without it answers "full". */
static void endgame(void)
{
	for (int on = 0; on <= 1; on++) {
		struct sched_config c = cfg(2, 2, 2);
		c.endgame = on;
		struct sched *s = sched_new(&c, 2);
		sched_set_length(s, 200);
		int sn = super_with(s, 2);
		int a = peer_with(s, (uint32_t[]){0, 1}, 2);
		int b = sched_peer_add(s, 0, NULL, 0);
		struct sched_assignment out[2];
		CHECK_EQ(sched_assign(s, b, 0, out, 1, NULL), 1);
		CHECK_EQ(out[0].uploader, a);
		uint32_t p0 = out[0].piece;
		CHECK_EQ(sched_assign(s, b, 1, out, 1, NULL), 1);
		uint32_t p1 = out[0].piece;
		CHECK_EQ(sched_report(s, b, p1, out[0].uploader, SCHED_OK, 2), DF_OK);
		enum sched_why why;
		int n = sched_assign(s, b, 3, out, 2, &why);
		if (!on) {
			CHECK_EQ(n, 0);
			CHECK_EQ(why, SCHED_FULL);
			sched_free(s);
			continue;
		}
		CHECK_EQ(n, 1);
		CHECK(out[0].piece == p0 && out[0].uploader == sn);  /* the second copy, not from a */
		CHECK_EQ(check_invariants(s), 0);
		CHECK_EQ(sched_report(s, b, p0, sn, SCHED_OK, 4), DF_OK);  /* the supernode's copy wins */
		struct sched_peer_info pi;
		sched_peer_info(s, a, &pi);
		CHECK_EQ(pi.up_inflight, 0);  /* a's transfer, the loser, is over */
		sched_peer_info(s, b, &pi);
		CHECK(pi.down_inflight == 0 && pi.pieces == 2);
		CHECK_EQ(sched_report(s, b, p0, a, SCHED_OK, 5), DF_AGAIN);  /* a late report of the loser */
		CHECK_EQ(check_invariants(s), 0);
		sched_free(s);
	}
}

static void blacklist_bad(void)
{
	struct sched_config c = cfg(2, 4, 4);
	struct sched *s = sched_new(&c, 2);
	int sn = super_with(s, 2);
	int a = peer_with(s, (uint32_t[]){0, 1}, 2);
	int b = sched_peer_add(s, 0, NULL, 0);
	struct sched_assignment out[2];
	CHECK_EQ(sched_assign(s, b, 0, out, 2, NULL), 2);
	CHECK_EQ(out[0].uploader, a);
	CHECK_EQ(sched_report(s, b, out[0].piece, a, SCHED_BAD, 1), DF_OK);
	struct sched_peer_info pi;
	sched_peer_info(s, a, &pi);
	CHECK(pi.blacklisted);
	CHECK(strstr(pi.why, "bad copy of piece") != NULL);
	CHECK_EQ(pi.failures, 1);
	CHECK_EQ(sched_piece_holders(s, 0), 0);
	CHECK_EQ(sched_piece_holders(s, 1), 0);
	struct sched_task_info ti;
	sched_task_info(s, &ti);
	CHECK_EQ(ti.blacklisted, 1);
	/* a's other transfer still completes, and a is never named again: every later assignment, for b
	 * or newcomers, goes to the supernode or to b. */
	uint32_t bad_piece = out[0].piece;
	CHECK_EQ(sched_report(s, b, out[1].piece, a, SCHED_OK, 2), DF_OK);
	int n = sched_assign(s, b, 3, out, 2, NULL);
	CHECK_EQ(n, 1);
	CHECK(n == 1 && out[0].uploader == sn && out[0].piece == bad_piece);
	for (int i = 0; i < 6; i++) {
		int d = sched_peer_add(s, 0, NULL, 3);
		n = sched_assign(s, d, 3, out, 2, NULL);
		for (int k = 0; k < n; k++)
			CHECK(out[k].uploader != a);
	}
	/* A blacklisted peer may still download. */
	int x = sched_peer_add(s, 0, NULL, 3);
	CHECK(x >= 0);
	sched_free(s);
}

/* Fresh downloaders ask until uploader u is chosen (other transfers end OK, so the pieces u holds
 * become the rarer ones); returns the downloader with that transfer in flight and its piece in
 * *piece, or -1 when u is never chosen. */
static int fetch_from(struct sched *s, int u, int64_t now, uint32_t *piece)
{
	struct sched_assignment out[1];
	for (int tries = 0; tries < 200; tries++) {
		int d = sched_peer_add(s, 0, NULL, now);
		if (sched_assign(s, d, now, out, 1, NULL) != 1)
			continue;
		if (out[0].uploader == u) {
			*piece = out[0].piece;
			return d;
		}
		sched_report(s, d, out[0].piece, out[0].uploader, SCHED_OK, now);
	}
	return -1;
}

static void blacklist_failures(void)
{
	struct sched_config c = cfg(1, 8, 4);
	struct sched *s = sched_new(&c, 8);
	int sn = super_with(s, 8);
	int a = peer_with(s, (uint32_t[]){0, 1, 2, 3, 4, 5, 6, 7}, 8);
	struct sched_assignment out[1];
	struct sched_peer_info pi;
	uint32_t p0;
	/* A failure sends the same downloader elsewhere next time, without blacklisting yet, and the
	 * claim that failed is dropped: a is no longer a holder of that piece. */
	int d0 = sched_peer_add(s, 0, NULL, 0);
	CHECK_EQ(sched_assign(s, d0, 0, out, 1, NULL), 1);
	CHECK_EQ(out[0].uploader, a);
	p0 = out[0].piece;
	CHECK_EQ(sched_piece_holders(s, p0), 1);
	CHECK_EQ(sched_report(s, d0, p0, a, SCHED_FAILED, 1), DF_OK);
	CHECK(!sched_peer_holds(s, a, p0));
	CHECK_EQ(sched_piece_holders(s, p0), 0);
	sched_peer_info(s, a, &pi);
	CHECK_EQ(pi.pieces, 7);
	CHECK_EQ(sched_assign(s, d0, 1, out, 1, NULL), 1);
	CHECK_EQ(out[0].uploader, sn);
	sched_peer_info(s, a, &pi);
	CHECK(!pi.blacklisted);
	CHECK_EQ(pi.failures, 1);
	CHECK_EQ(check_invariants(s), 0);
	/* A success resets the streak. */
	uint32_t p;
	int d1 = fetch_from(s, a, 2, &p);
	CHECK(d1 >= 0);
	CHECK(p != p0);
	CHECK_EQ(sched_report(s, d1, p, a, SCHED_OK, 2), DF_OK);
	/* Three in a row from three downloaders: blacklisted, with the reason. */
	for (int i = 0; i < 3; i++) {
		sched_peer_info(s, a, &pi);
		CHECK(!pi.blacklisted);
		int d = fetch_from(s, a, 3, &p);
		CHECK(d >= 0);
		CHECK_EQ(sched_report(s, d, p, a, SCHED_FAILED, 4), DF_OK);
		CHECK(!sched_peer_holds(s, a, p));
	}
	sched_peer_info(s, a, &pi);
	CHECK(pi.blacklisted);
	CHECK(strstr(pi.why, "3 uploads in a row failed") != NULL);
	CHECK_EQ(pi.failures, 4);
	for (int i = 0; i < 20; i++) {
		int d = sched_peer_add(s, 0, NULL, 5);
		if (sched_assign(s, d, 5, out, 1, NULL) == 1)
			CHECK(out[0].uploader != a);
	}
	CHECK_EQ(check_invariants(s), 0);
	sched_free(s);
}

/* The caller blacklists a peer it knows to be bad (a new handle of a blacklisted piece server): no
 * longer an uploader, still a downloader; never the supernode. */
static void blacklist_by_caller(void)
{
	struct sched_config c = cfg(2, 4, 4);
	struct sched *s = sched_new(&c, 2);
	int sn = super_with(s, 2);
	int a = peer_with(s, (uint32_t[]){0, 1}, 2);
	CHECK_EQ(sched_blacklist(s, a, "registered again after: bad"), DF_OK);
	struct sched_peer_info pi;
	sched_peer_info(s, a, &pi);
	CHECK(pi.blacklisted);
	CHECK_STR(pi.why, "registered again after: bad");
	CHECK_EQ(sched_piece_holders(s, 0), 0);
	struct sched_assignment out[2];
	int d = sched_peer_add(s, 0, NULL, 0);
	CHECK_EQ(sched_assign(s, d, 0, out, 2, NULL), 2);
	CHECK(out[0].uploader == sn && out[1].uploader == sn);
	CHECK_EQ(sched_blacklist(s, sn, "no"), DF_ERR);
	CHECK_EQ(sched_blacklist(s, 99, "no"), DF_ERR);
	CHECK_EQ(check_invariants(s), 0);
	sched_free(s);
}

static void expiry(void)
{
	struct sched_config c = cfg(2, 4, 4);
	struct sched *s = sched_new(&c, 2);
	int sn = super_with(s, 2);
	int a = peer_with(s, (uint32_t[]){0, 1}, 2);
	int b = sched_peer_add(s, 0, NULL, 0);
	struct sched_assignment out[2];
	CHECK_EQ(sched_assign(s, b, 500, out, 2, NULL), 2);
	CHECK_EQ(out[0].uploader, a);
	CHECK_EQ(out[1].uploader, a);
	int dropped[4];
	CHECK_EQ(sched_expire(s, 1000, dropped, 4), 0);  /* a: 1000 ms silent, not more */
	sched_touch(s, b, 1400);
	CHECK_EQ(sched_expire(s, 1001, dropped, 4), 1);
	CHECK_EQ(dropped[0], a);
	struct sched_peer_info pi;
	CHECK_EQ(sched_peer_info(s, a, &pi), DF_ERR);
	CHECK_EQ(sched_piece_holders(s, 0), 0);
	/* b's two transfers from a are gone; b is named to be woken and gets both from the supernode. */
	sched_peer_info(s, b, &pi);
	CHECK_EQ(pi.down_inflight, 0);
	int w[4];
	CHECK_EQ(sched_wakeable(s, w, 4), 1);
	CHECK_EQ(w[0], b);
	CHECK_EQ(sched_assign(s, b, 1500, out, 2, NULL), 2);
	CHECK_EQ(out[0].uploader, sn);
	CHECK_EQ(out[1].uploader, sn);
	/* A late report about the cancelled transfer: stale, but the piece still counts. */
	CHECK_EQ(sched_report(s, b, 0, a, SCHED_OK, 1600), DF_AGAIN);
	CHECK(sched_peer_holds(s, b, 0));
	/* The supernode never expires; b does once silent. */
	CHECK_EQ(sched_expire(s, 10000, dropped, 4), 1);
	CHECK_EQ(dropped[0], b);
	CHECK_EQ(sched_peer_info(s, sn, &pi), DF_OK);
	/* The supernode's slots were freed by b's removal. */
	CHECK_EQ(pi.up_inflight, 0);
	sched_free(s);
}

static void resume_bitmap(void)
{
	struct sched_config c = cfg(8, 4, 4);
	struct sched *s = sched_new(&c, 12);
	super_with(s, 12);
	uint8_t bm[2] = {0xa0, 0x10}; /* pieces 0, 2, 11: most significant bit first */
	int a = sched_peer_add(s, 0, bm, 0);
	CHECK(sched_peer_holds(s, a, 0));
	CHECK(!sched_peer_holds(s, a, 1));
	CHECK(sched_peer_holds(s, a, 2));
	CHECK(sched_peer_holds(s, a, 11));
	CHECK_EQ(sched_piece_holders(s, 11), 1);
	struct sched_peer_info pi;
	sched_peer_info(s, a, &pi);
	CHECK_EQ(pi.pieces, 3);
	struct sched_assignment out[8];
	int got = 0;
	for (int round = 0; round < 3; round++) {
		int n = sched_assign(s, a, 0, out, 8, NULL);
		for (int k = 0; k < n; k++) {
			CHECK(out[k].piece != 0 && out[k].piece != 2 && out[k].piece != 11);
			sched_report(s, a, out[k].piece, out[k].uploader, SCHED_OK, 1);
			got++;
		}
	}
	CHECK_EQ(got, 9);
	enum sched_why why;
	CHECK_EQ(sched_assign(s, a, 2, out, 8, &why), 0);
	CHECK_EQ(why, SCHED_DONE);
	sched_free(s);
}

static void growing_count(void)
{
	struct sched_config c = cfg(4, 4, 4);
	struct sched *s = sched_new(&c, -1);
	int sn = sched_peer_add(s, 1, NULL, 0);
	int d = sched_peer_add(s, 0, NULL, 0);
	struct sched_assignment out[4];
	enum sched_why why;
	CHECK_EQ(sched_assign(s, d, 0, out, 4, &why), 0);
	CHECK_EQ(why, SCHED_WAIT_PIECES);
	/* The supernode's pieces grow the count; d is woken for them. */
	CHECK_EQ(sched_peer_has(s, sn, 0), DF_OK);
	CHECK_EQ(sched_peer_has(s, sn, 1), DF_OK);
	struct sched_task_info ti;
	sched_task_info(s, &ti);
	CHECK_EQ(ti.npieces, 2);
	CHECK(!ti.final);
	int w[4];
	CHECK_EQ(sched_wakeable(s, w, 4), 1);
	CHECK_EQ(sched_assign(s, d, 1, out, 4, &why), 2);
	/* An ordinary peer cannot grow the count. */
	CHECK_EQ(sched_peer_has(s, d, 5), DF_ERR);
	/* Growth with pieces nobody has: waits for them, across a capacity change. */
	CHECK_EQ(sched_grow(s, 200), DF_OK);
	sched_report(s, d, out[0].piece, sn, SCHED_OK, 2);
	sched_report(s, d, out[1].piece, sn, SCHED_OK, 2);
	CHECK(sched_peer_holds(s, d, 0) && sched_peer_holds(s, d, 1));
	CHECK_EQ(sched_assign(s, d, 3, out, 4, &why), 0);
	CHECK_EQ(why, SCHED_WAIT_PIECES);
	for (uint32_t p = 2; p < 250; p++)
		CHECK_EQ(sched_peer_has(s, sn, p), DF_OK);
	CHECK_EQ(sched_set_length(s, 249 * 100 + 7), DF_OK);  /* 250 pieces, the last of 7 bytes */
	CHECK_EQ(sched_set_length(s, 100), DF_ERR);
	CHECK_EQ(sched_grow(s, 300), DF_ERR);
	CHECK_EQ(sched_peer_has(s, sn, 250), DF_ERR);
	CHECK(sched_wakeable(s, w, 4) >= 1);
	for (int guard = 0; guard < 1000; guard++) {
		int n = sched_assign(s, d, 4, out, 4, &why);
		if (n <= 0)
			break;
		for (int k = 0; k < n; k++)
			sched_report(s, d, out[k].piece, out[k].uploader, SCHED_OK, 5);
	}
	CHECK_EQ(why, SCHED_DONE);
	struct sched_peer_info pi;
	sched_peer_info(s, d, &pi);
	CHECK_EQ(pi.pieces, 250);
	CHECK_EQ(pi.bytes_down, 249 * 100 + 7);
	sched_task_info(s, &ti);
	CHECK_EQ(ti.done, 1);
	CHECK_EQ(ti.super_pieces, 250);
	sched_free(s);
}

/* A peer parked for lack of pieces is named when the supernode gets one, and only then. */
static void wake_on_new_piece(void)
{
	struct sched_config c = cfg(4, 4, 2);
	struct sched *s = sched_new(&c, 8);
	int sn = sched_peer_add(s, 1, NULL, 0);
	int d[4];
	enum sched_why why;
	struct sched_assignment out[4];
	for (int i = 0; i < 4; i++) {
		d[i] = sched_peer_add(s, 0, NULL, 0);
		CHECK_EQ(sched_assign(s, d[i], 0, out, 4, &why), 0);
		CHECK_EQ(why, SCHED_WAIT_PIECES);
	}
	int w[8];
	CHECK_EQ(sched_wakeable(s, w, 8), 0);
	sched_peer_has(s, sn, 3);
	/* two free supernode slots: two of the four are woken, first parked first */
	CHECK_EQ(sched_wakeable(s, w, 8), 2);
	CHECK_EQ(w[0], d[0]);
	CHECK_EQ(w[1], d[1]);
	CHECK_EQ(sched_assign(s, w[0], 1, out, 4, NULL), 1);
	CHECK_EQ(out[0].piece, 3);
	CHECK_EQ(sched_assign(s, w[1], 1, out, 4, NULL), 1);
	CHECK_EQ(sched_assign(s, d[2], 1, out, 4, &why), 0);
	CHECK_EQ(why, SCHED_WAIT_SLOTS);
	struct sched_task_info ti;
	sched_task_info(s, &ti);
	CHECK_EQ(ti.parked, 2);
	/* d[0] finishing makes it a holder and frees a supernode slot: the two parked peers wake. */
	sched_report(s, w[0], 3, sn, SCHED_OK, 2);
	CHECK_EQ(sched_wakeable(s, w, 8), 2);
	sched_free(s);
}

static void bad_calls(void)
{
	struct sched_config c = cfg(2, 2, 2);
	c.max_down = 0;
	errno = 0;
	CHECK(sched_new(&c, 4) == NULL);
	CHECK_EQ(errno, EINVAL);
	c.max_down = 2;
	struct sched *s = sched_new(&c, 4);
	int sn = super_with(s, 4);
	CHECK_EQ(sched_peer_add(s, 1, NULL, 0), DF_ERR);  /* one supernode per task */
	int a = sched_peer_add(s, 0, NULL, 0), b = sched_peer_add(s, 0, NULL, 0);
	struct sched_assignment out[2];
	CHECK_EQ(sched_assign(s, 99, 0, out, 2, NULL), DF_ERR);
	CHECK_EQ(sched_assign(s, -1, 0, out, 2, NULL), DF_ERR);
	CHECK_EQ(sched_assign(s, a, 0, out, 1, NULL), 1);
	/* a failure blamed on a peer that was not the uploader: counted, the real transfer goes on */
	CHECK_EQ(sched_report(s, a, out[0].piece, b, SCHED_FAILED, 0), DF_AGAIN);
	struct sched_peer_info pi;
	sched_peer_info(s, a, &pi);
	CHECK_EQ(pi.down_inflight, 1);
	sched_peer_info(s, b, &pi);
	CHECK_EQ(pi.failures, 1);
	CHECK_EQ(sched_report(s, a, 7, sn, SCHED_OK, 0), DF_ERR);            /* no such piece */
	CHECK_EQ(sched_report(s, a, out[0].piece, a, SCHED_OK, 0), DF_ERR);  /* from itself */
	CHECK_EQ(sched_report(s, a, out[0].piece, sn, SCHED_OK, 0), DF_OK);
	CHECK_EQ(sched_report(s, a, out[0].piece, sn, SCHED_OK, 0), DF_AGAIN);  /* twice */
	CHECK_EQ(sched_peer_has(s, a, 4), DF_ERR);
	CHECK_EQ(sched_touch(s, 1000, 0), DF_ERR);
	CHECK_EQ(sched_peer_remove(s, a), DF_OK);
	CHECK_EQ(sched_peer_remove(s, a), DF_ERR);
	/* handles are reused longest-free first: not a at once */
	int x = sched_peer_add(s, 0, NULL, 0);
	CHECK(x >= 0 && x != a);
	sched_free(s);
	sched_free(NULL);
}

/* ---- randomized invariants ---- */

/* Recomputes every derived counter from the bitmaps and entries and compares. */
static int check_invariants(const struct sched *s)
{
	int bad = 0;
	uint32_t *nhold = calloc(s->npieces + 1, 4), *ninfl = calloc(s->npieces + 1, 4);
	int *nup = calloc(s->cap_peers, sizeof(int));
	for (uint32_t i = 0; i < s->cap_peers; i++) {
		const struct sched_peer *p = &s->peers[i];
		const uint64_t *h = sched_have(s, (int32_t)i);
		uint32_t cnt = 0;
		for (uint32_t q = 0; q < s->npieces; q++)
			if (bm_get(h, q)) {
				cnt++;
				if (sched_usable_holder(p))
					nhold[q]++;
				if (bm_get(s->col + (size_t)q * s->qw, i) != sched_usable_holder(p))
					bad |= 1;
			} else if (bm_get(s->col + (size_t)q * s->qw, i)) {
				bad |= 2;
			}
		if (cnt != p->nhave)
			bad |= 4;
		if (!p->used)
			continue;
		const struct sched_entry *e = sched_ents(s, (int32_t)i);
		int nd = 0;
		for (int k = 0; k < s->cfg.max_down; k++) {
			if (e[k].piece < 0)
				continue;
			nd++;
			ninfl[e[k].piece]++;
			nup[e[k].up]++;
			if (bm_get(h, (uint32_t)e[k].piece))
				bad |= 8;  /* fetching a piece it has */
			for (int k2 = 0; k2 < k; k2++)
				if (e[k2].piece == e[k].piece && (!s->cfg.endgame || e[k2].up == e[k].up))
					bad |= 16;  /* fetching a piece twice (the end game: from two uploaders) */
			/* from a peer that is gone; it may lack the piece: a failed claim is dropped while other
			 * transfers of it from that uploader are still under way (their reports end them) */
			if (!s->peers[e[k].up].used)
				bad |= 32;
		}
		if (nd != p->ndown || nd > s->cfg.max_down)
			bad |= 64;
	}
	for (uint32_t i = 0; i < s->cap_peers; i++) {
		const struct sched_peer *p = &s->peers[i];
		if (!p->used)
			continue;
		int slots = sched_slots(s, p);
		if (nup[i] != p->nup || (p->nup > slots && !p->uslots)) /* sized slots may shrink under it */
			bad |= 128;
		int fr = sched_usable_holder(p) && p->nup < slots;
		if (bm_get(s->freeup, i) != fr || (fr && !bm_get(s->freesum, i / 64)))
			bad |= 256;
	}
	uint32_t navail = 0;
	for (uint32_t q = 0; q < s->npieces; q++) {
		int avail = nhold[q] > 0 || (s->super != SCHED_NIL && bm_get(sched_have(s, s->super), q));
		navail += (uint32_t)avail;
		uint32_t key = avail ? 1 + nhold[q] + ninfl[q] : 0;
		if (nhold[q] != s->nhold[q] || ninfl[q] != s->ninfl[q] || key != s->key[q])
			bad |= 512;
		if (s->order[s->pos[q]] != q || bm_get(s->availbm, q) != avail)
			bad |= 1024;
		if (s->pos[q] >= s->cnt_ge[key] || (s->pos[q] < s->cnt_ge[key + 1]))
			bad |= 2048;  /* outside its bucket */
	}
	if (s->npieces && s->cnt_ge[1] != navail)
		bad |= 4096;
	free(nhold), free(ninfl), free(nup);
	return bad;
}

static void randomized(void)
{
	for (int run = 0; run < 12; run++) {
		struct sched_config c = cfg(1 + run % 4, 1 + run % 3, 1 + run % 5);
		c.seed = (uint64_t)run + 1;
		int grow = run % 3 == 0;
		uint32_t np = 1 + (uint32_t)(run * 37 % 150);
		struct sched *s = sched_new(&c, grow ? -1 : (int64_t)np);
		int sn = sched_peer_add(s, 1, NULL, 0);
		uint64_t r = 12345 + (uint64_t)run;
		int live[300], nlive = 0, bad = 0, assigned = 0;
		int64_t now = 0;
		uint32_t snext = 0;
		for (int step = 0; step < 4000 && !bad; step++) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			uint32_t x = (uint32_t)(r >> 33);
			now += x % 3;
			switch (x % 12) {
			case 0: /* join, maybe with pieces */
				if (nlive < 300) {
					uint8_t bm[32] = {0};
					for (uint32_t q = 0; q < s->npieces && q < 256; q++)
						if ((x >> (q % 13)) % 5 == 0)
							bitmap_set(bm, q);
					int h = sched_peer_add(s, 0, x % 2 ? bm : NULL, now);
					if (h >= 0 && x % 3 == 0) /* some stream from the start */
						CHECK_EQ(sched_peer_in_order(s, h, 1), DF_OK);
					if (h >= 0)
						live[nlive++] = h;
				}
				break;
			case 1: /* the supernode gets the next piece */
				if (grow ? snext < np : snext < s->npieces)
					sched_peer_has(s, sn, snext++);
				if (grow && snext == np && x % 7 == 0)
					sched_set_length(s, (uint64_t)np * c.piece_size);
				break;
			case 2: /* someone leaves */
				if (nlive) {
					int i = (int)(x / 11 % (uint32_t)nlive);
					sched_peer_remove(s, live[i]);
					live[i] = live[--nlive];
				}
				break;
			case 10: /* a report about something not (or no longer) in flight */
				if (nlive && s->npieces) {
					int d = live[x / 11 % (uint32_t)nlive];
					int u = (int)(x / 7 % (s->cap_peers + 1));
					enum sched_result res = (enum sched_result)(x / 3 % 3);
					sched_report(s, d, x / 5 % s->npieces, u, res, now);
				}
				break;
			case 3:
				if (nlive) {
					int dropped[8];
					now += 200;
					sched_touch(s, live[x / 11 % (uint32_t)nlive], now);
					sched_expire(s, now, dropped, 8);
					for (int i = 0; i < nlive; i++)
						if (!s->peers[live[i]].used)
							live[i--] = live[--nlive];
				}
				break;
			default: { /* assign, and report some transfers in flight */
				if (!nlive)
					break;
				int d = live[x / 11 % (uint32_t)nlive];
				struct sched_assignment out[8];
				enum sched_why why;
				int n = sched_assign(s, d, now, out, (int)(x % 5), &why);
				if (n < 0)
					bad |= 1 << 20;
				assigned += n;
				for (int k = 0; k < n; k++)
					if (out[k].uploader == d)
						bad |= 1 << 21;
				struct sched_entry *e = sched_ents(s, d);
				for (int k = 0; k < c.max_down; k++)
					if (e[k].piece >= 0 && (x >> (k + 8)) % 3 == 0) {
						enum sched_result res = (x >> 16) % 23 == 0 ? SCHED_BAD :
									(x >> 16) % 7 == 0 ? SCHED_FAILED : SCHED_OK;
						if (sched_report(s, d, (uint32_t)e[k].piece, e[k].up, res, now) != DF_OK)
							bad |= 1 << 22;
					}
				int w[16];
				int nw = sched_wakeable(s, w, 16);
				for (int i = 0; i < nw; i++)
					if (sched_assign(s, w[i], now, out, 8, NULL) < 0)
						bad |= 1 << 23;
			}
			}
			bad |= check_invariants(s);
		}
		if (bad)
			fprintf(stderr, "    run %d: invariant mask 0x%x\n", run, bad);
		CHECK_EQ(bad, 0);
		CHECK(assigned > 0);
		sched_free(s);
	}
}

/* The walk meets many pieces the downloader holds before one it lacks: the gather path answers. */
static void gather_path(void)
{
	struct sched_config c = cfg(4, 4, 4);
	struct sched *s = sched_new(&c, 1000);
	super_with(s, 1000);
	static uint8_t bm[125];
	memset(bm, 0xff, 112);  /* pieces 0..895 */
	int d = sched_peer_add(s, 0, bm, 0);
	/* the pieces d lacks are held by two more peers, so they are less rare than d's own */
	memset(bm, 0, sizeof bm);
	for (uint32_t q = 896; q < 1000; q++)
		bitmap_set(bm, q);
	sched_peer_add(s, 0, bm, 0);
	sched_peer_add(s, 0, bm, 0);
	struct sched_assignment out[4];
	CHECK_EQ(sched_assign(s, d, 0, out, 4, NULL), 4);
	for (int k = 0; k < 4; k++)
		CHECK(out[k].piece >= 896);
	CHECK_EQ(check_invariants(s), 0);
	sched_free(s);
}

/* Capacity grows past the first 64 peers (bitmaps re-strided) with everything still consistent;
 * the supernode can leave; fixing the length wakes parked peers that turn out to be done. */
static void many_peers(void)
{
	struct sched_config c = cfg(4, 4, 4);
	struct sched *s = sched_new(&c, -1);
	int sn = sched_peer_add(s, 1, NULL, 0);
	for (uint32_t p = 0; p < 100; p++)
		sched_peer_has(s, sn, p);
	int h[300];
	struct sched_assignment out[4];
	for (int i = 0; i < 300; i++) {
		uint8_t bm[13] = {0};
		for (uint32_t q = 0; q < 100; q++)
			if ((q * 7 + (uint32_t)i * 13) % 5 == 0)
				bitmap_set(bm, q);
		h[i] = sched_peer_add(s, 0, i % 3 ? bm : NULL, 0);
		CHECK(h[i] >= 0);
		sched_assign(s, h[i], 0, out, 4, NULL);
	}
	CHECK_EQ(check_invariants(s), 0);
	CHECK(s->cap_peers >= 301);
	/* one peer takes everything, and waits parked for more pieces of a length not yet known */
	for (int guard = 0; guard < 200; guard++) {
		for (int i = 0; i < 300; i++) {  /* every transfer in flight ends well */
			struct sched_entry *e = sched_ents(s, h[i]);
			for (int k = 0; k < c.max_down; k++)
				if (e[k].piece >= 0)
					CHECK_EQ(sched_report(s, h[i], (uint32_t)e[k].piece, e[k].up, SCHED_OK, 1), DF_OK);
		}
		if (sched_assign(s, h[7], 1, out, 4, NULL) == 0)
			break;
	}
	CHECK(sched_peer_holds(s, h[7], 99));
	struct sched_peer_info pi;
	sched_peer_info(s, h[7], &pi);
	CHECK_EQ(pi.pieces, 100);
	CHECK(pi.parked);
	int w[8];
	while (sched_wakeable(s, w, 8) > 0)
		;
	CHECK_EQ(sched_set_length(s, 100 * 100), DF_OK);
	int found = 0, n;
	while ((n = sched_wakeable(s, w, 8)) > 0)
		for (int i = 0; i < n; i++)
			found |= w[i] == h[7];
	CHECK(found);
	enum sched_why why;
	CHECK_EQ(sched_assign(s, h[7], 2, out, 4, &why), 0);
	CHECK_EQ(why, SCHED_DONE);
	/* the supernode leaves: pieces only it had become unavailable */
	CHECK_EQ(sched_peer_remove(s, sn), DF_OK);
	CHECK_EQ(check_invariants(s), 0);
	struct sched_task_info ti;
	sched_task_info(s, &ti);
	CHECK_EQ(ti.super_pieces, 0);
	CHECK(ti.available <= 100);
	CHECK_EQ(ti.peers, 300);
	CHECK(ti.searches > 0);
	/* and a new one may join */
	CHECK(sched_peer_add(s, 1, NULL, 3) >= 0);
	sched_free(s);
}

/* The [supernode] keys' defaults are the scheduler's defaults; a bad value names its key. */
static void from_config(void)
{
	struct df_config cf;
	struct sched_config a, b;
	char err[128];
	config_init(&cf);
	sched_config_default(&a);
	CHECK_EQ(sched_config_from(&b, &cf, err, sizeof err), DF_OK);
	CHECK(a.max_down == b.max_down && a.up_slots == b.up_slots && a.super_slots == b.super_slots);
	CHECK(a.silence_ms == b.silence_ms && a.max_failures == b.max_failures && a.piece_size == b.piece_size);
	char e2[128];
	CHECK_EQ(config_set(&cf, config_find("supernode", "upload_slots"), "0", e2, sizeof e2), DF_OK);
	CHECK_EQ(sched_config_from(&b, &cf, err, sizeof err), DF_ERR);
	CHECK_STR(err, "[supernode] upload_slots: 0 is outside 1-64");
	config_set(&cf, config_find("supernode", "upload_slots"), "2", e2, sizeof e2);
	config_set(&cf, config_find("supernode", "peer_silence"), "5", e2, sizeof e2);
	CHECK_EQ(sched_config_from(&b, &cf, err, sizeof err), DF_OK);
	CHECK_EQ(b.up_slots, 2);
	CHECK_EQ(b.silence_ms, 5000);
	config_free(&cf);
}

/* A peer that says it fetches nothing gets back the places of assignments whose answers were lost
 * (older than the cut-off), not those just handed out; no failure is counted against the uploader. */
static void forget_stale(void)
{
	struct sched_config c = cfg(2, 4, 4);
	struct sched *s = sched_new(&c, 3);
	int sn = super_with(s, 3);
	int d = sched_peer_add(s, 0, NULL, 0);
	struct sched_assignment out[4];
	enum sched_why why;
	CHECK_EQ(sched_assign(s, d, 1000, out, 1, &why), 1);   /* handed out at t=1000: lost */
	(void)out[0].piece; /* the lost one */
	CHECK_EQ(sched_assign(s, d, 9000, out, 1, &why), 1);   /* at t=9000: its answer may be on the way */
	uint32_t fresh = out[0].piece;
	CHECK_EQ(sched_assign(s, d, 9000, out, 4, &why), 0);
	CHECK_EQ(why, SCHED_FULL);
	CHECK_EQ(sched_forget_stale(s, d, 5000), 1);
	/* its place is free again: the lost piece is handed out anew, never the fresh one twice */
	CHECK_EQ(sched_assign(s, d, 9001, out, 4, &why), 1);
	CHECK(out[0].piece != fresh);
	CHECK_EQ(sched_forget_stale(s, d, 5000), 0);
	struct sched_peer_info pi;
	CHECK_EQ(sched_peer_info(s, sn, &pi), DF_OK);
	CHECK_EQ(pi.failures, 0);
	CHECK(!pi.blacklisted);
	CHECK_EQ(sched_forget_stale(s, 99, 5000), DF_ERR);
	CHECK_EQ(check_invariants(s), 0);
	sched_free(s);
}

/* A downloader with no fetch slot free hands an assignment back ("busy"): the uploader is not
 * charged (issue 14: "downloader busy" used to be a failure of the uploader), its slot and the
 * downloader's place are freed, and the piece is handed out again. */
static void cancel_busy(void)
{
	struct sched_config c = cfg(2, 1, 1);
	c.max_failures = 1;
	struct sched *s = sched_new(&c, 3);
	int sn = super_with(s, 3);
	int d = sched_peer_add(s, 0, NULL, 0);
	struct sched_assignment out[4];
	enum sched_why why;
	CHECK_EQ(sched_assign(s, d, 1000, out, 1, &why), 1);
	uint32_t busy = out[0].piece;
	CHECK_EQ(out[0].uploader, sn);
	CHECK_EQ(sched_assign(s, d, 1000, out, 1, &why), 0); /* the supernode's one slot is taken */
	CHECK_EQ(sched_cancel(s, d, busy, sn, 1001), DF_OK);
	CHECK_EQ(sched_cancel(s, d, busy, sn, 1001), DF_AGAIN); /* already handed back */
	struct sched_peer_info pi;
	CHECK_EQ(sched_peer_info(s, sn, &pi), DF_OK);
	CHECK_EQ(pi.failures, 0);
	CHECK(!pi.blacklisted);
	CHECK_EQ(sched_assign(s, d, 1002, out, 1, &why), 1); /* free again, from the same uploader */
	CHECK_EQ(out[0].uploader, sn);
	CHECK_EQ(sched_cancel(s, 99, busy, sn, 1003), DF_ERR);
	CHECK_EQ(sched_cancel(s, d, 99, sn, 1003), DF_ERR);
	CHECK_EQ(check_invariants(s), 0);
	sched_free(s);
}


/* One transfer: a new downloader fetches one piece and reports it with the body time its
 * uploader's rate gives (100 bytes in 1 ms; from `slow`, in 100 ms). Returns the uploader. */
static int measured_fetch(struct sched *s, int slow, int64_t *now)
{
	int d = sched_peer_add(s, 0, NULL, *now);
	struct sched_assignment out[1];
	CHECK_EQ(sched_assign(s, d, *now, out, 1, NULL), 1);
	int u = out[0].uploader;
	*now += 10;
	CHECK_EQ(sched_report_timed(s, d, out[0].piece, u, SCHED_OK, *now, u == slow ? 100000 : 1000), DF_OK);
	sched_peer_remove(s, d);
	return u;
}

/* Issue 16, slow hosts: an uploader measured at a small share of the typical peer's rate gets
 * proportionally fewer upload slots (here 1 of 4), so it cannot hold several downloaders' places at
 * a fraction of their share; the fast one keeps all of its slots. Before, both had 4. */
static void slow_uploader_slots(void)
{
	struct sched_config c = cfg(1, 4, 4);
	struct sched *s = sched_new(&c, 8);
	int fast = peer_with(s, (uint32_t[]){0, 1, 2, 3, 4, 5, 6, 7}, 8);
	int slow = peer_with(s, (uint32_t[]){0, 1, 2, 3, 4, 5, 6, 7}, 8);
	int64_t now = 1;
	/* both measured: five downloaders at once are shared between them */
	struct sched_assignment first[5];
	int ds[5];
	for (int i = 0; i < 5; i++) {
		ds[i] = sched_peer_add(s, 0, NULL, now);
		CHECK_EQ(sched_assign(s, ds[i], now, &first[i], 1, NULL), 1);
	}
	now += 10;
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(sched_report_timed(s, ds[i], first[i].piece, first[i].uploader, SCHED_OK, now,
					    first[i].uploader == slow ? 100000 : 1000),
			 DF_OK);
		sched_peer_remove(s, ds[i]);
	}
	int from_slow = 0;
	for (int i = 0; i < 200; i++)
		from_slow += measured_fetch(s, slow, &now) == slow;
	CHECK(from_slow < 20); /* measured slow: the faster one is preferred */
	CHECK_EQ(check_invariants(s), 0);
	/* eight downloaders at once: four places at the fast uploader, one at the slow one */
	struct sched_assignment out[1];
	int got[2] = {0, 0};
	for (int i = 0; i < 8; i++) {
		int d = sched_peer_add(s, 0, NULL, now);
		if (sched_assign(s, d, now, out, 1, NULL) == 1)
			got[out[0].uploader == slow]++;
	}
	struct sched_peer_info pf, ps;
	sched_peer_info(s, fast, &pf);
	sched_peer_info(s, slow, &ps);
	CHECK_EQ(pf.up_inflight, 4);
	CHECK_EQ(ps.up_inflight, 1);
	CHECK_EQ(got[0], 4);
	CHECK_EQ(got[1], 1);
	CHECK_EQ(check_invariants(s), 0);
	sched_free(s);
}

/* A fast uploader whose transfer ran slowly because its downloader's link was the limit (the
 * downloader's other transfers were as slow) is not taken for a slow uploader: its slots stay. The
 * slow downloader gets fewer places and, not yet measured as an uploader, fewer upload slots. */
static void slow_downloader_not_uploader(void)
{
	struct sched_config c = cfg(4, 4, 4);
	struct sched *s = sched_new(&c, 64);
	uint32_t all[64];
	for (uint32_t i = 0; i < 64; i++)
		all[i] = i;
	int a = peer_with(s, all, 64), b = peer_with(s, all, 64);
	int64_t now = 1;
	/* typical transfers first: a and b each send 100 bytes in 1 ms to two downloaders at a time */
	for (int i = 0; i < 50; i++) {
		int d1 = sched_peer_add(s, 0, NULL, now), d2 = sched_peer_add(s, 0, NULL, now);
		struct sched_assignment o1, o2;
		CHECK_EQ(sched_assign(s, d1, now, &o1, 1, NULL), 1);
		CHECK_EQ(sched_assign(s, d2, now, &o2, 1, NULL), 1);
		CHECK(o1.uploader != o2.uploader);
		now += 10;
		CHECK_EQ(sched_report_timed(s, d1, o1.piece, o1.uploader, SCHED_OK, now, 1000), DF_OK);
		CHECK_EQ(sched_report_timed(s, d2, o2.piece, o2.uploader, SCHED_OK, now, 1000), DF_OK);
		sched_peer_remove(s, d1);
		sched_peer_remove(s, d2);
	}
	/* a downloader whose own link is slow (4 bytes/ms): four transfers at once, each 100 bytes in
	 * 100 ms; as many as it runs share that link */
	int d = sched_peer_add(s, 0, NULL, now);
	struct sched_assignment out[4];
	int n = 0;
	for (int round = 0; round < 16; round++) {
		n = sched_assign(s, d, now, out, 4, NULL);
		CHECK(round > 0 || n == 4);
		now += 25 * n;
		for (int k = 0; k < n; k++)
			CHECK_EQ(sched_report_timed(s, d, out[k].piece, out[k].uploader, SCHED_OK, now, 25000 * n),
				 DF_OK);
	}
	CHECK_EQ(sched_slots(s, &s->peers[a]), 4);
	CHECK_EQ(sched_slots(s, &s->peers[b]), 4);
	/* d itself, at 4% of the typical download rate: fewer places (each of its transfers runs at
	 * its link's share anyway, and four held four places at fast uploaders), and until its own
	 * uploads are measured, one upload slot instead of four (issue 16, slow hosts) */
	CHECK_EQ(n, 2);
	CHECK_EQ(sched_slots(s, &s->peers[d]), 1);
	CHECK_EQ(check_invariants(s), 0);
	sched_free(s);
}

static const struct unit_test tests[] = {
	{"rarest_first", rarest_first},
	{"in_order", in_order},
	{"upload_slots", upload_slots},
	{"supernode_last", supernode_last},
	{"supernode_first_when_faster", supernode_first_when_faster},
	{"endgame", endgame},
	{"blacklist_bad", blacklist_bad},
	{"blacklist_failures", blacklist_failures},
	{"blacklist_by_caller", blacklist_by_caller},
	{"expiry", expiry},
	{"resume_bitmap", resume_bitmap},
	{"growing_count", growing_count},
	{"wake_on_new_piece", wake_on_new_piece},
	{"bad_calls", bad_calls},
	{"randomized", randomized},
	{"gather_path", gather_path},
	{"many_peers", many_peers},
	{"from_config", from_config},
	{"forget_stale", forget_stale},
	{"cancel_busy", cancel_busy},
	{"slow_uploader_slots", slow_uploader_slots},
	{"slow_downloader_not_uploader", slow_downloader_not_uploader},
};

UNIT_MAIN("sched", tests)
