/* TEMPORARY stand-in for swarm/peer.c until the lead's peer engine lands on main: an engine that
 * starts no download, so df proxy relays every blob from its upstream. Deleted at that merge. */
#include <stdio.h>
#include <stdlib.h>

#include "swarm/peer.h"

struct swarm_peer {
	int unused;
};

struct swarm_peer *swarm_peer_new(const struct swarm_peer_cfg *cfg, char *err, size_t errlen)
{
	(void)cfg;
	struct swarm_peer *sp = calloc(1, sizeof *sp);
	if (!sp)
		snprintf(err, errlen, "out of memory");
	return sp;
}

void swarm_peer_free(struct swarm_peer *sp)
{
	free(sp);
}

struct swarm_dl *swarm_dl_start(struct swarm_peer *sp, const struct swarm_dl_cfg *cfg, char *err, size_t errlen)
{
	(void)sp;
	(void)cfg;
	snprintf(err, errlen, "the peer engine is not in this build yet");
	return NULL;
}

void swarm_dl_cancel(struct swarm_dl *dl)
{
	(void)dl;
}

struct store_task *swarm_dl_task(const struct swarm_dl *dl)
{
	(void)dl;
	return NULL;
}

void swarm_dl_stats(const struct swarm_dl *dl, struct swarm_dl_stats *out)
{
	(void)dl;
	(void)out;
}
