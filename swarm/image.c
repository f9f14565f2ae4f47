/* Resolving an image reference into blobs (swarm/image.h): the credentials' source, the manifest
 * (checked against its digest), the index's platform entries, the blob list. */
#include "swarm/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bearssl_hash.h"
#include "core/digest.h"
#include "core/df.h"
#include "core/log.h"
#include "swarm/image_manifest.h"
#include "swarm/regauth.h"
#include "swarm/regclient.h"

#define MANIFEST_MAX (4u << 20) /* containerd's limit too */
#define AUTHFILE_MAX (4u << 20)
#define MAX_DESC 1024
#define MAX_TOKS 65536

/* Reads a whole small file into a malloc'd buffer. DF_OK, DF_AGAIN when it does not exist, DF_ERR
 * with err. */
static int read_small(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	*buf = NULL;
	if (fd < 0 && errno == ENOENT)
		return DF_AGAIN;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > AUTHFILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, fd < 0 ? strerror(errno) : "not a regular file of at most 4 MiB");
		if (fd >= 0)
			close(fd);
		return DF_ERR;
	}
	*buf = malloc((size_t)st.st_size + 1);
	ssize_t n = *buf ? read(fd, *buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(*buf);
		*buf = NULL;
		return DF_ERR;
	}
	(*buf)[n] = 0;
	*len = (size_t)n;
	return DF_OK;
}

/* The credentials for r in the auth file at path: DF_OK (creds set), DF_AGAIN (none there, or no
 * such file), DF_ERR (err). */
static int creds_in_file(const char *path, const struct image_ref *r, char *creds, size_t cap, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int rc = read_small(path, &buf, &len, err, errlen);
	if (rc != DF_OK)
		return rc;
	struct json_tok *toks = malloc(MAX_TOKS * sizeof *toks);
	const char *why = "out of memory";
	rc = toks ? regauth_file_find(buf, len, r->registry, r->repo, toks, MAX_TOKS, creds, cap, &why) : DF_ERR;
	if (rc == DF_ERR)
		snprintf(err, errlen, "auth file %s: %s", path, why);
	else if (rc == DF_AGAIN)
		log_debug("auth file %s: %s: %s", path, r->registry, why);
	explicit_bzero(buf, len);
	free(buf);
	free(toks);
	return rc;
}

/* Where the credentials come from: --creds, --auth-file, else the first of the engines' files
 * that has an entry. */
static int find_creds(const struct image_cfg *cfg, const struct image_ref *r, char *creds, size_t cap, char *from,
		      size_t fromcap, char *err, size_t errlen)
{
	creds[0] = from[0] = 0;
	if (cfg->creds) {
		if (!strchr(cfg->creds, ':')) {
			snprintf(err, errlen, "--creds: expected USER:PASSWORD");
			return DF_ERR;
		}
		snprintf(creds, cap, "%s", cfg->creds);
		snprintf(from, fromcap, "--creds");
		return DF_OK;
	}
	if (cfg->auth_file) {
		int rc = creds_in_file(cfg->auth_file, r, creds, cap, err, errlen);
		if (rc == DF_AGAIN && access(cfg->auth_file, F_OK) != 0) {
			snprintf(err, errlen, "--auth-file %s: %s", cfg->auth_file, strerror(ENOENT));
			return DF_ERR;
		}
		if (rc == DF_OK)
			snprintf(from, fromcap, "%s", cfg->auth_file);
		return rc == DF_ERR ? DF_ERR : DF_OK;
	}
	char paths[3][512];
	int n = 0;
	const char *e;
	if ((e = getenv("REGISTRY_AUTH_FILE")) && e[0])
		snprintf(paths[n++], sizeof paths[0], "%s", e);
	if ((e = getenv("XDG_RUNTIME_DIR")) && e[0])
		snprintf(paths[n++], sizeof paths[0], "%s/containers/auth.json", e);
	if ((e = getenv("DOCKER_CONFIG")) && e[0])
		snprintf(paths[n++], sizeof paths[0], "%s/config.json", e);
	else if ((e = getenv("HOME")) && e[0])
		snprintf(paths[n++], sizeof paths[0], "%s/.docker/config.json", e);
	for (int i = 0; i < n; i++) {
		int rc = creds_in_file(paths[i], r, creds, cap, err, errlen);
		if (rc == DF_ERR)
			return DF_ERR;
		if (rc == DF_OK) {
			snprintf(from, fromcap, "%.*s", (int)sizeof paths[0] - 1, paths[i]);
			return DF_OK;
		}
	}
	return DF_OK; /* anonymous */
}

/* Fetches and parses the manifest or index named target; checks it against want (a digest) when
 * given, and names its digest in got. */
static int fetch_doc(struct regclient *rc, const struct image_ref *r, const char *target, const char *want,
		     struct json_tok *toks, struct image_desc *d, struct image_doc *doc, char **body, char got[72],
		     char *err, size_t errlen)
{
	char path[700];
	struct regclient_resp resp;
	snprintf(path, sizeof path, "/v2/%s/manifests/%s", r->repo, target);
	if (regclient_get(rc, path, IMAGE_ACCEPT, MANIFEST_MAX, &resp, err, errlen) != DF_OK)
		return DF_ERR;
	*body = resp.body;
	br_sha256_context c;
	uint8_t sum[32];
	char hex[65];
	br_sha256_init(&c);
	br_sha256_update(&c, resp.body, resp.len);
	br_sha256_out(&c, sum);
	digest_hex(sum, 32, hex);
	snprintf(got, 72, "sha256:%s", hex);
	/* by digest, the bytes must be those; by tag, the registry's own word must agree with them */
	const char *expect = want && want[0]                                                  ? want
			     : resp.digest[0] && strncmp(resp.digest, DF_LIT("sha256:")) == 0 ? resp.digest
											      : NULL;
	if (expect && strcmp(expect, got) != 0) {
		snprintf(err, errlen, "%s/%s@%s: the registry's manifest has digest %s, not %s", r->registry, r->repo,
			 target, got, expect);
		return DF_ERR;
	}
	const char *why;
	if (image_doc_parse(resp.body, resp.len, slice_of(resp.content_type), toks, MAX_TOKS, d, MAX_DESC, doc, &why) !=
	    DF_OK) {
		snprintf(err, errlen, "%s/%s@%s: %s", r->registry, r->repo, target, why);
		return DF_ERR;
	}
	return DF_OK;
}

static int add_blob(struct image_plan *p, const char *base, const struct image_desc *d, int config)
{
	if (d->foreign) {
		p->skipped++;
		return DF_OK;
	}
	for (int i = 0; i < p->nblobs; i++)
		if (strcmp(p->blobs[i].digest, d->digest) == 0)
			return DF_OK;
	struct image_blob *nb = realloc(p->blobs, (size_t)(p->nblobs + 1) * sizeof *nb);
	if (!nb)
		return DF_ERR;
	p->blobs = nb;
	struct image_blob *b = &p->blobs[p->nblobs++];
	memset(b, 0, sizeof *b);
	snprintf(b->digest, sizeof b->digest, "%s", d->digest);
	b->size = d->size;
	b->config = config;
	snprintf(b->url, sizeof b->url, "%s/v2/%s/blobs/%s", base, p->ref.repo, d->digest);
	p->bytes += d->size;
	return DF_OK;
}

static int add_manifest(struct image_plan *p, const char *base, const struct image_doc *m)
{
	p->manifests++;
	if (add_blob(p, base, &m->config, 1) != DF_OK)
		return DF_ERR;
	for (int i = 0; i < m->n; i++)
		if (add_blob(p, base, &m->d[i], 0) != DF_OK)
			return DF_ERR;
	return DF_OK;
}

static int resolve(const struct image_cfg *cfg, struct regclient *rc, struct json_tok *toks, struct image_desc *top,
		   struct image_desc *sub, struct image_plan *out, char *err, size_t errlen)
{
	struct image_ref *r = &out->ref;
	struct image_doc doc, m;
	char *body = NULL, *mbody = NULL, got[72];
	if (fetch_doc(rc, r, image_ref_target(r), r->digest, toks, top, &doc, &body, out->digest, err, errlen) != DF_OK)
		goto fail;
	const char *base = regclient_base(rc);
	if (doc.kind == IMAGE_DOC_MANIFEST) {
		if (add_manifest(out, base, &doc) != DF_OK)
			goto oom;
		free(body);
		return DF_OK;
	}
	/* an index: the platform's manifest, or every one */
	struct image_platform want;
	const char *why;
	if (cfg->platform) {
		if (image_platform_parse(cfg->platform, &want, &why) != DF_OK) {
			snprintf(err, errlen, "--platform %s: %s", cfg->platform, why);
			goto fail;
		}
	} else {
		struct utsname u;
		image_platform_of_machine(uname(&u) == 0 ? u.machine : "x86_64", &want);
	}
	int pick = cfg->all_platforms ? -1 : image_doc_pick(&doc, &want);
	if (!cfg->all_platforms && pick < 0) {
		char pf[100];
		int w = 0;
		image_platform_format(&want, pf, sizeof pf);
		w = snprintf(err, errlen, "%s/%s: no manifest for %s in the index (it has", r->registry, r->repo, pf);
		for (int i = 0; i < doc.n && w > 0 && (size_t)w < errlen; i++)
			w += snprintf(err + w, errlen - (size_t)w, " %s/%s%s%s", doc.d[i].os[0] ? doc.d[i].os : "?",
				      doc.d[i].arch[0] ? doc.d[i].arch : "?", doc.d[i].variant[0] ? "/" : "",
				      doc.d[i].variant);
		if (w > 0 && (size_t)w < errlen)
			snprintf(err + w, errlen - (size_t)w, "); choose one with --platform or take --all-platforms");
		goto fail;
	}
	for (int i = 0; i < doc.n; i++) {
		if (!cfg->all_platforms && i != pick)
			continue;
		const struct image_desc *e = &top[i];
		if (fetch_doc(rc, r, e->digest, e->digest, toks, sub, &m, &mbody, got, err, errlen) != DF_OK)
			goto fail;
		if (m.kind != IMAGE_DOC_MANIFEST) {
			snprintf(err, errlen, "%s/%s@%s: an index inside an index (not followed)", r->registry, r->repo,
				 e->digest);
			goto fail;
		}
		if (add_manifest(out, base, &m) != DF_OK)
			goto oom;
		free(mbody);
		mbody = NULL;
		size_t pl = strlen(out->platforms);
		snprintf(out->platforms + pl, sizeof out->platforms - pl, "%s%s/%s%s%s", pl ? ", " : "",
			 e->os[0] ? e->os : "?", e->arch[0] ? e->arch : "?", e->variant[0] ? "/" : "", e->variant);
	}
	free(body);
	return DF_OK;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	free(body);
	free(mbody);
	return DF_ERR;
}

/* A registry client for r with the credentials cfg leads to (their source named in from). NULL
 * with err. */
static struct regclient *client_for(const struct image_cfg *cfg, const struct image_ref *r, char *from, size_t fromcap,
				    char *err, size_t errlen)
{
	char creds[2048];
	if (find_creds(cfg, r, creds, sizeof creds, from, fromcap, err, errlen) != DF_OK)
		return NULL;
	struct regclient_cfg rcfg = {
		.loop = cfg->loop,
		.client = cfg->client,
		.api = r->api,
		.repo = r->repo,
		.creds = creds,
		.plain_http = cfg->plain_http,
		.timeout = cfg->timeout,
	};
	struct regclient *rc = regclient_new(&rcfg);
	explicit_bzero(creds, sizeof creds);
	if (!rc)
		snprintf(err, errlen, "out of memory");
	return rc;
}

int image_resolve(const struct image_cfg *cfg, struct image_plan *out, char *err, size_t errlen)
{
	const char *why;
	memset(out, 0, sizeof *out);
	if (image_ref_parse(cfg->ref, strlen(cfg->ref), &out->ref, &why) != DF_OK) {
		snprintf(err, errlen, "image %s: %s", cfg->ref, why);
		return DF_ERR;
	}
	struct regclient *rc = client_for(cfg, &out->ref, out->creds_from, sizeof out->creds_from, err, errlen);
	if (!rc)
		return DF_ERR;
	struct json_tok *toks = malloc(MAX_TOKS * sizeof *toks);
	struct image_desc *top = malloc(MAX_DESC * sizeof *top), *sub = malloc(MAX_DESC * sizeof *sub);
	int r = DF_ERR;
	if (!toks || !top || !sub)
		snprintf(err, errlen, "out of memory");
	else
		r = resolve(cfg, rc, toks, top, sub, out, err, errlen);
	if (r == DF_OK)
		snprintf(out->auth, sizeof out->auth, "%s", regclient_auth(rc));
	else
		image_plan_free(out);
	regclient_free(rc);
	free(toks);
	free(top);
	free(sub);
	return r;
}

int image_reauth(const struct image_cfg *cfg, struct image_plan *plan, char *err, size_t errlen)
{
	char from[512], path[700];
	struct regclient_resp resp;
	struct regclient *rc = client_for(cfg, &plan->ref, from, sizeof from, err, errlen);
	if (!rc)
		return DF_ERR;
	snprintf(path, sizeof path, "/v2/%s/manifests/%s", plan->ref.repo, plan->digest);
	int r = regclient_get(rc, path, IMAGE_ACCEPT, MANIFEST_MAX, &resp, err, errlen);
	if (r == DF_OK) {
		free(resp.body);
		snprintf(plan->auth, sizeof plan->auth, "%s", regclient_auth(rc));
	}
	regclient_free(rc);
	return r;
}

void image_plan_free(struct image_plan *p)
{
	free(p->blobs);
	p->blobs = NULL;
	p->nblobs = 0;
	explicit_bzero(p->auth, sizeof p->auth);
}
