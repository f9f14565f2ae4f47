/* The swarm scheduler of one task: which peer fetches which piece from which other peer.
 * Pure: no sockets, no clock, no logging; time is the `now` (milliseconds) the caller passes in.
 *
 * How it is used. The supernode keeps one `struct sched` per task. Peers are small integer handles
 * the caller maps to addresses. A peer joins (optionally declaring the pieces it already has), then
 * asks for work: sched_assign hands out {piece, uploader} pairs, rarest piece first, from a peer
 * holder with a free upload slot, the supernode only when no peer holder is free. The peer reports
 * each transfer (ok / failed / bad) with sched_report and asks again; a peer that got fewer than
 * it has room for asks again at once. When sched_assign returns 0 the caller holds the peer's
 * request (long poll); after any event (a report, a join, a supernode piece, an expiry) it drains
 * sched_wakeable() and retries sched_assign for exactly those peers. Order matters for fairness:
 * after a report, serve the wakeable peers before the reporter's own next sched_assign, so peers
 * that waited get the slot just freed. Peers that stop talking are dropped by sched_expire. Not
 * thread-safe: one task's scheduler belongs to one event loop. Policy and tuning: SCHEDULER.md. */
#ifndef DF_SCHED_H
#define DF_SCHED_H

#include <stdint.h>

#include "core/df.h"

/* Tunables of one task's scheduler. sched_config_default gives the values the simulator tuned. */
struct sched_config {
	int max_down;        /* pieces in flight per downloader (1..64) */
	int up_slots;        /* concurrent uploads per peer (1..64) */
	int super_slots;     /* concurrent uploads of a supernode (1..1024) */
	int64_t silence_ms;  /* a peer not heard from for this long is dropped by sched_expire */
	int max_failures;    /* consecutive failed uploads before a peer is no longer used as uploader */
	uint32_t piece_size; /* bytes per piece, only for the byte counters of the status */
	uint64_t seed;       /* seeds the tie-breaking random choices (runs are reproducible) */
	int endgame;         /* 1: once all a downloader lacks is in flight, its pieces get a second
				* uploader (the first copy to arrive wins; the winner's ok ends the other) */
};

void sched_config_default(struct sched_config *c);

struct df_config;
/* Fills *c from the [supernode] keys of cfg (max_down, upload_slots, super_slots, peer_silence,
 * max_failures, piece_size, endgame). DF_ERR with "[supernode] KEY: why" in err for a value out of range. */
int sched_config_from(struct sched_config *c, const struct df_config *cfg, char *err, size_t errlen);

/* Result of one transfer, reported by its downloader. */
enum sched_result {
	SCHED_OK,     /* the piece arrived and matched the supernode's checksum: the downloader holds it */
	SCHED_FAILED, /* transfer error: counts against the uploader, the piece is handed out again */
	SCHED_BAD,    /* checksum mismatch: the uploader is never used again in this task */
};

/* Why sched_assign returned what it did (written through its `why` argument). */
enum sched_why {
	SCHED_ASSIGNED,    /* at least one assignment */
	SCHED_DONE,        /* the peer holds every piece and the piece count is final */
	SCHED_FULL,        /* the peer already has max_down pieces in flight */
	SCHED_WAIT_PIECES, /* what it lacks exists nowhere yet (the supernode is still fetching it) */
	SCHED_WAIT_SLOTS,  /* what it lacks exists, but every usable holder is busy */
};

struct sched_assignment {
	uint32_t piece;
	int32_t uploader; /* peer handle (possibly a supernode) */
};

struct sched;

/* A scheduler for a task of npieces pieces. npieces < 0 means "not known yet": the count starts at
 * 0 and grows (sched_grow, or a supernode's sched_peer_has) until sched_set_length fixes it.
 * Copies *cfg (NULL: defaults). Returns NULL with errno set (EINVAL for a bad config, ENOMEM).
 * Free with sched_free. Memory: two bitmaps of peers x pieces bits plus O(peers + pieces). */
struct sched *sched_new(const struct sched_config *cfg, int64_t npieces);
void sched_free(struct sched *s);

/* Grows the piece count of a task whose length is not known yet (never shrinks; new pieces exist
 * nowhere until someone has them). DF_ERR (errno EINVAL) if the count is already final. */
int sched_grow(struct sched *s, uint32_t npieces);

/* Fixes the task's length: the piece count becomes ceil(total_bytes / piece_size), final, and the
 * last piece's size is used by the byte counters. DF_ERR (EINVAL) if that is fewer pieces than
 * are already known or the count was already fixed to another value. */
int sched_set_length(struct sched *s, uint64_t total_bytes);

/* Adds a peer and returns its handle (>= 0), or DF_ERR (errno ENOMEM; EINVAL for a second
 * supernode). have, if not NULL, is the peer's bitmap of pieces already held (resume), in
 * core/bitmap.h's order (the wire's and the store's), covering the current piece count. A supernode (is_supernode)
 * holds pieces as sched_peer_has announces them, is used as uploader last, never expires and is
 * never blacklisted. Handles of removed peers are reused, the longest-free first. */
int sched_peer_add(struct sched *s, int is_supernode, const uint8_t *have, int64_t now);

/* Removes a peer: its pieces stop counting, its in-flight downloads free their uploaders' slots and
 * its uploads in flight are forgotten (their downloaders are asked to wake: see sched_wakeable).
 * DF_ERR (EINVAL) for an unknown handle. */
int sched_peer_remove(struct sched *s, int peer);

/* "Peer now has piece n" outside an assignment: the supernode as its source download progresses,
 * or a peer that got a piece some other way. For a supernode, a piece beyond the current count
 * grows the count while the length is not final. DF_ERR (EINVAL) for a bad handle or piece. */
int sched_peer_has(struct sched *s, int peer, uint32_t piece);

/* Hands downloader `peer` up to max assignments (also bounded by max_down minus what it has in
 * flight) into out[] and returns how many, or DF_ERR (EINVAL) for an unknown handle. Each
 * assignment names a piece the peer neither holds nor is fetching, and an uploader that holds it,
 * is not blacklisted and had a free upload slot (now taken). why, if not NULL, tells why (see enum
 * sched_why). When 0 is returned for a WAIT reason the peer is parked: sched_wakeable will name it
 * once something it might use appears. Counts as hearing from the peer (sched_touch). */
int sched_assign(struct sched *s, int peer, int64_t now, struct sched_assignment *out, int max, enum sched_why *why);

/* Reports the end of the transfer of piece from uploader to downloader. OK: the downloader holds
 * the piece. FAILED: the uploader's failure count grows (blacklisted at max_failures in a row), it no
 * longer counts as holding the piece (a claim that failed is not believed again; the supernode's
 * always is) and the downloader will not be sent to it again for its next assignments. BAD: the uploader is
 * blacklisted at once with the reason recorded. Either way the uploader's slot is freed.
 * Returns DF_OK for the transfer in flight; DF_AGAIN for one the scheduler no longer tracks (it
 * was cancelled by a removal, perhaps handed out again from another uploader): an OK still records
 * the piece and ends any transfer of it still in flight to that downloader (the caller should drop
 * that one), a FAILED/BAD still counts against a known uploader. uploader may be -1 when the
 * caller no longer knows it (it was dropped): only an OK matters then. DF_ERR (EINVAL) for bad
 * handles or piece. Counts as hearing from the downloader. */
int sched_report(struct sched *s, int downloader, uint32_t piece, int uploader, enum sched_result r, int64_t now);
/* sched_report with what the downloader measured: body_us, the microseconds from the transfer's first
 * byte to its last (-1: not known). The measured rates size each peer's share of transfers. */
int sched_report_timed(struct sched *s, int downloader, uint32_t piece, int uploader, enum sched_result r, int64_t now,
		       int64_t body_us);

/* Ends the transfer of piece from uploader to downloader d without a verdict: the downloader could
 * not start it (it had no fetch slot free), so nobody is charged; the uploader's slot and d's
 * in-flight place are freed and the piece is handed out again. DF_OK for the transfer in flight,
 * DF_AGAIN for one the scheduler no longer tracks, DF_ERR (EINVAL) for bad handles or piece. */
int sched_cancel(struct sched *s, int downloader, uint32_t piece, int uploader, int64_t now);

/* Marks downloader `peer` as one that streams the file to a reader from its start (a registry
 * client behind df proxy): among the pieces it could fetch that are equally rare, it is handed the
 * lowest-numbered first, so what it has grows as a prefix. Rarity still comes first: this only breaks
 * its ties (all of them in a cold pull, where the supernode alone holds every piece). DF_ERR (EINVAL)
 * for an unknown handle or the supernode. */
int sched_peer_in_order(struct sched *s, int peer, int on);

/* Stops using a peer as an uploader, with the reason shown by sched_peer_info (the caller knows
 * something the reports do not: the host was blacklisted under an earlier handle). It may still
 * download. DF_ERR (EINVAL) for an unknown handle or the supernode. */
int sched_blacklist(struct sched *s, int peer, const char *why);

/* Forgets the transfers to downloader d that were handed out before `before` (ms): the downloader
 * says it fetches nothing, so the answers that carried them were lost on the way. Frees their
 * uploaders' slots (no failure counted against anyone). Returns how many, or DF_ERR (EINVAL). */
int sched_forget_stale(struct sched *s, int d, int64_t before);

/* Records that the peer was heard from at `now`. DF_ERR (EINVAL) for an unknown handle. */
int sched_touch(struct sched *s, int peer, int64_t now);

/* Drops peers not heard from for more than silence_ms before now (never a supernode), as
 * sched_peer_remove does. Peers are kept in the order they were last heard from, so this costs
 * O(dropped); it assumes `now` never goes backwards between calls. Writes up to max dropped handles into out (so the caller can forget
 * their addresses) and returns how many; call again while it returns max. */
int sched_expire(struct sched *s, int64_t now, int *out, int max);

/* Parked peers (sched_assign returned 0 with a WAIT reason) that an event since may let be served:
 * a holder of something they lack got a free slot or a new piece. Writes up to max handles into
 * out, removes them from the wake list and returns how many. The caller retries sched_assign for
 * each (it parks again if it still gets nothing); a peer whose request is no longer parked at the
 * caller can be ignored. Cheap: only peers that need something from the uploader in question are
 * named, at most about one per freed slot. */
int sched_wakeable(struct sched *s, int *out, int max);

/* Status of one peer. */
struct sched_peer_info {
	int is_supernode;
	int blacklisted;
	const char *why;     /* why it is blacklisted ("" if not); valid until the peer is removed */
	uint32_t pieces;     /* pieces held */
	int down_inflight;   /* pieces it is fetching */
	int up_inflight;     /* pieces others are fetching from it */
	uint64_t bytes_down; /* bytes of pieces fetched through assignments (reported OK) */
	uint64_t bytes_up;   /* bytes of pieces others fetched from it (reported OK) */
	uint32_t failures;   /* failed or bad uploads, in total */
	int64_t last_seen;   /* the last `now` it was heard at */
	int parked;          /* its last sched_assign returned 0 and it waits */
};

/* Fills *out for a live peer; DF_ERR (EINVAL) for an unknown handle. */
int sched_peer_info(const struct sched *s, int peer, struct sched_peer_info *out);

/* Status of the task. */
struct sched_task_info {
	uint32_t npieces;
	int final;             /* piece count known */
	uint32_t available;    /* pieces somebody usable holds */
	uint32_t super_pieces; /* pieces the supernode holds (0 without a supernode) */
	int peers;             /* live peers, supernode included */
	int done;              /* peers holding every piece (final count only; supernode excluded) */
	int parked;            /* peers waiting for something to appear */
	int blacklisted;
	uint64_t assignments; /* handed out since the start */
	uint64_t searches;    /* holder and uploader searches since the start (the cost of assigning) */
};

void sched_task_info(const struct sched *s, struct sched_task_info *out);

/* How many usable non-supernode peers hold the piece (0 for a piece out of range). */
uint32_t sched_piece_holders(const struct sched *s, uint32_t piece);

/* 1 if the peer holds the piece, 0 if not or for bad arguments. */
int sched_peer_holds(const struct sched *s, int peer, uint32_t piece);

#endif
