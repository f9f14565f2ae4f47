/* What an image reference stands for in blobs: df push --image resolves REF through the registry
 * API (following an index to the platform's manifest, or to every platform's) into the config and
 * layer blobs to preheat, their registry URLs and the Authorization line those URLs need. The
 * credentials come from --creds, an auth file, or the files the engines read. */
#ifndef DF_SWARM_IMAGE_H
#define DF_SWARM_IMAGE_H

#include <stdint.h>

#include "net/http_client.h"
#include "swarm/image_ref.h"

struct image_cfg {
	struct ev_loop *loop;
	struct http_client *client; /* with TLS for https registries */
	const char *ref;            /* [REGISTRY/]REPO[:TAG][@sha256:HEX] */
	const char *creds;          /* "user:password" (--creds), or NULL */
	/* an auth file (--auth-file), or NULL: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
	 * $DOCKER_CONFIG/config.json (~/.docker/config.json), the first that exists and has an entry */
	const char *auth_file;
	const char *platform; /* "os/arch[/variant]", or NULL: this machine's */
	int all_platforms;    /* every manifest of an index */
	int plain_http;       /* http allowed for a registry that is not on loopback */
	double timeout;       /* per registry request; 0: the client's */
};

struct image_blob {
	char digest[72]; /* "sha256:HEX" */
	uint64_t size;
	char url[1024]; /* BASE/v2/REPO/blobs/DIGEST */
	int config;     /* a config blob (else a layer) */
};

struct image_plan {
	struct image_ref ref;
	char digest[72];      /* the digest REF names now: the index's, or the manifest's */
	char platforms[1024]; /* the platforms taken from an index ("linux/amd64, ..."); "" without one */
	char creds_from[512]; /* "--creds", the auth file used, or "" (anonymous) */
	char auth[8192];      /* "Authorization: ...\r\n" for the blob URLs, or "" (memory only) */
	int manifests;        /* image manifests read */
	int skipped;          /* foreign layers left out (the registry does not hold them) */
	uint64_t bytes;       /* the blobs' sizes */
	int nblobs;
	struct image_blob *blobs; /* malloc'd; each digest once */
};

/* Resolves cfg->ref. DF_OK with out filled (free with image_plan_free), or DF_ERR with the cause in
 * err (a bad reference or platform, an unreadable auth file, the registry's refusal, no manifest
 * for the platform, a manifest that does not match its digest). Runs the loop until done. */
int image_resolve(const struct image_cfg *cfg, struct image_plan *out, char *err, size_t errlen);
void image_plan_free(struct image_plan *p);

/* Authorizes again as image_resolve did (the same credentials; a Bearer token is fetched anew:
 * tokens expire, Docker Hub's after 300 s), reading the manifest plan->digest names. DF_OK with
 * plan->auth replaced, or DF_ERR with err. */
int image_reauth(const struct image_cfg *cfg, struct image_plan *plan, char *err, size_t errlen);

#endif
