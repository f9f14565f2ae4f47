/* The scheduler's settings from the [supernode] section of the configuration, checked once so a
 * bad value stops the supernode at start-up with the key named, not later inside the loop. */
#include <stdio.h>

#include "core/config.h"
#include "core/sched.h"

static int in_range(long long v, long long lo, long long hi, const char *key, char *err, size_t errlen)
{
	if (v >= lo && v <= hi)
		return DF_OK;
	snprintf(err, errlen, "[supernode] %s: %lld is outside %lld-%lld", key, v, lo, hi);
	return DF_ERR;
}

int sched_config_from(struct sched_config *c, const struct df_config *cfg, char *err, size_t errlen)
{
	sched_config_default(c);
	if (in_range(cfg->supernode_max_down, 1, 64, "max_down", err, errlen) != DF_OK ||
	    in_range(cfg->supernode_upload_slots, 1, 64, "upload_slots", err, errlen) != DF_OK ||
	    in_range(cfg->supernode_super_slots, 1, 1024, "super_slots", err, errlen) != DF_OK ||
	    in_range(cfg->supernode_peer_silence, 1, 86400, "peer_silence", err, errlen) != DF_OK ||
	    in_range(cfg->supernode_max_failures, 1, 1000, "max_failures", err, errlen) != DF_OK ||
	    in_range((long long)cfg->supernode_piece_size, 0, UINT32_MAX, "piece_size", err, errlen) != DF_OK)
		return DF_ERR;
	c->max_down = (int)cfg->supernode_max_down;
	c->up_slots = (int)cfg->supernode_upload_slots;
	c->super_slots = (int)cfg->supernode_super_slots;
	c->silence_ms = cfg->supernode_peer_silence * 1000;
	c->max_failures = (int)cfg->supernode_max_failures;
	c->endgame = cfg->supernode_endgame ? 1 : 0;
	if (cfg->supernode_piece_size) /* 0: chosen per task; the supernode sets it then */
		c->piece_size = (uint32_t)cfg->supernode_piece_size;
	return DF_OK;
}
