/* A child site's supernode fetching through its parent site: a peer engine without a piece server
 * whose supernodes are the parents, and the via list that keeps a tree of sites free of loops. */
#include "swarm/parent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/df.h"
#include "core/log.h"
#include "swarm/common.h"
#include "swarm/peer.h"

#define PARENT_STALL 30.0           /* no piece byte from the parent site for this long: give up */
#define PARENT_MIN_PIECE_RATE 65536 /* as [get] min_piece_rate's default */

struct parent {
	struct parent_cfg cfg;
	struct swarm_peer *sp;
};

struct parent_fetch {
	struct parent *p;
	struct parent_fetch_cfg cfg;
	struct swarm_dl *w; /* NULL once it ended */
	char id[TASKID_MAX];
	char *shown;                                        /* the URL as messages show it */
	char below[PROTO_VIA_CAP];                          /* the sites below this one ("" none) */
	char via[PROTO_VIA_CAP];                            /* below + this site: the registration's via line */
	char parent[CONFIG_SUPERNODE_NAME_MAX], digest[80]; /* as the watcher last saw them */
};

struct parent *parent_new(const struct parent_cfg *cfg, char *err, size_t errlen)
{
	struct parent *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = *cfg;
	struct swarm_peer_cfg pc = {
		.loop = cfg->loop,
		.client = cfg->client,
		.cluster = cfg->client,
		.cluster_tls = cfg->cluster_tls,
		.server = NULL, /* a downloader only: the child's uplink is the link between sites */
		.store = cfg->store,
		.supernodes = cfg->parents,
		.token = cfg->token,
		.back_to_source = 0,
		.supernode_retry = cfg->retry,
		.min_piece_rate = PARENT_MIN_PIECE_RATE,
		.stall_timeout = PARENT_STALL,
		.piece_digest = cfg->piece_digest,
		.gc = cfg->gc,
		.no_seed = 1,
		.no_late = 1,
	};
	p->sp = swarm_peer_new(&pc, err, errlen);
	if (!p->sp) {
		free(p);
		return NULL;
	}
	return p;
}

void parent_free(struct parent *p)
{
	if (!p)
		return;
	swarm_peer_free(p->sp);
	free(p);
}

/* The engine speaks as `df get` does ("get URL: no supernode answered (...) and --no-back-to-source is
 * set"); the supernode's log and status say it of the parent site. */
static void reason_of(const struct parent_fetch *f, const char *msg, char *out, size_t cap)
{
	static const char nob[] = " and --no-back-to-source is set";
	size_t sl = strlen(f->shown);
	if (strncmp(msg, DF_LIT("get ")) == 0 && strncmp(msg + 4, f->shown, sl) == 0 &&
	    strncmp(msg + 4 + sl, DF_LIT(": ")) == 0)
		msg += 4 + sl + 2;
	size_t n = strlen(msg);
	if (n >= sizeof nob - 1 && strcmp(msg + n - (sizeof nob - 1), nob) == 0)
		n -= sizeof nob - 1;
	if (strncmp(msg, DF_LIT("no supernode answered")) == 0)
		snprintf(out, cap, "no parent answered%.*s", (int)(n - 21), msg + 21);
	else
		snprintf(out, cap, "%.*s", (int)n, msg);
}

static void fetch_meta(struct swarm_dl *dl, int64_t length, void *ctx)
{
	(void)dl;
	struct parent_fetch *f = ctx;
	f->cfg.on_meta(f->cfg.ctx, length);
}

static void fetch_piece(struct swarm_dl *dl, uint32_t piece, void *ctx)
{
	(void)dl;
	struct parent_fetch *f = ctx;
	f->cfg.on_piece(f->cfg.ctx, piece);
}

static void fetch_done(struct swarm_dl *dl, int rc, int exit_code, const char *msg, void *ctx)
{
	(void)dl;
	(void)exit_code;
	struct parent_fetch *f = ctx;
	char why[768];
	snprintf(f->parent, sizeof f->parent, "%s", swarm_dl_supernode(f->w));
	snprintf(f->digest, sizeof f->digest, "%s", swarm_dl_super_digest(f->w));
	f->w = NULL; /* the watcher is gone; the engine keeps the download until parent_fetch_free */
	if (rc != DF_OK)
		reason_of(f, msg ? msg : "failed", why, sizeof why);
	f->cfg.on_done(f->cfg.ctx, rc, rc == DF_OK ? NULL : why);
}

/* via = below + this site */
static void compose_via(struct parent_fetch *f)
{
	/* below holds PROTO_VIA_MAX - 1 sites at most (parent_fetch_start, parent_fetch_add_via) */
	if (snprintf(f->via, sizeof f->via, "%s%s%s", f->below, f->below[0] ? "," : "", f->p->cfg.site) >=
	    (int)sizeof f->via)
		f->via[0] = 0;
}

static unsigned count_sites(const char *list)
{
	unsigned n = list[0] ? 1 : 0;
	for (const char *c = list; *c; c++)
		n += *c == ',';
	return n;
}

struct parent_fetch *parent_fetch_start(struct parent *p, const struct parent_fetch_cfg *cfg, char *err, size_t errlen)
{
	const char *below = cfg->below ? cfg->below : "";
	if (count_sites(below) + 1 > PROTO_VIA_MAX) {
		snprintf(err, errlen, "the task came through %u sites already: a tree of sites is at most %d deep",
			 count_sites(below), PROTO_VIA_MAX);
		return NULL;
	}
	struct parent_fetch *f = calloc(1, sizeof *f);
	if (!f || !(f->shown = swarm_url_shown_new(cfg->url, cfg->filter))) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->p = p;
	f->cfg = *cfg;
	snprintf(f->below, sizeof f->below, "%s", below);
	compose_via(f);
	if (swarm_task_id(cfg->url, cfg->filter, &cfg->digest, f->id, err, errlen) != DF_OK) {
		parent_fetch_free(f);
		return NULL;
	}
	struct swarm_dl_cfg dc = {
		.url = cfg->url,
		.headers = cfg->headers,
		.digest = cfg->digest,
		.on_meta = fetch_meta,
		.on_piece = fetch_piece,
		.on_done = fetch_done,
		.ctx = f,
		.filter = cfg->filter ? cfg->filter : "",
		.via = f->via,
		.digest_elsewhere = 1, /* the supernode's digest thread checks the file as it lands */
	};
	/* an earlier fetch of the task that ended (failed, or complete before a new version) goes first:
	 * a new watcher would join it */
	swarm_peer_stop(p->sp, f->id);
	f->w = swarm_dl_start(p->sp, &dc, err, errlen);
	if (!f->w) {
		parent_fetch_free(f);
		return NULL;
	}
	return f;
}

void parent_fetch_free(struct parent_fetch *f)
{
	if (!f)
		return;
	if (f->w)
		swarm_dl_cancel(f->w);
	if (f->id[0])
		swarm_peer_stop(f->p->sp, f->id); /* the engine's handle on the store task goes too */
	free(f->shown);
	free(f);
}

void parent_fetch_add_via(struct parent_fetch *f, struct slice via)
{
	int changed = 0;
	for (size_t i = 0; i + PROTO_SITE_HEX <= via.n; i += PROTO_SITE_HEX + 1) {
		char site[PROTO_SITE_HEX + 1];
		memcpy(site, via.p + i, PROTO_SITE_HEX);
		site[PROTO_SITE_HEX] = 0;
		if (strcmp(site, f->p->cfg.site) == 0 || proto_via_has(slice_of(f->below), site))
			continue;
		if (count_sites(f->below) + 2 > PROTO_VIA_MAX)
			break; /* the parent refuses that depth anyway */
		size_t n = strlen(f->below);
		snprintf(f->below + n, sizeof f->below - n, "%s%s", n ? "," : "", site);
		changed = 1;
	}
	if (!changed)
		return;
	compose_via(f);
	if (f->w)
		swarm_dl_set_via(f->w, f->via);
}

const char *parent_fetch_parent(const struct parent_fetch *f)
{
	return f->w ? swarm_dl_supernode(f->w) : f->parent;
}

const char *parent_fetch_digest(const struct parent_fetch *f)
{
	return f->w ? swarm_dl_super_digest(f->w) : f->digest;
}
