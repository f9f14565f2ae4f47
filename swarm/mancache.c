/* Manifest copies for offline serving (mancache.h): one file per manifest digest and per tag in a
 * directory under the store, written atomically, bounded in size (oldest by mtime evicted). */
#include "swarm/mancache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/df.h"
#include "core/digest.h"
#include "core/log.h"
#include "swarm/registry_parse.h"

struct mancache {
	char dir[4096];
	uint64_t total; /* bytes of the files held, as far as this process knows */
};

int mancache_parse(const char *buf, size_t n, struct slice *ctype, struct slice *body)
{
	size_t ml = sizeof MANCACHE_MAGIC - 1;
	if (n < ml || memcmp(buf, MANCACHE_MAGIC, ml) != 0)
		return DF_ERR;
	const char *p = buf + ml, *nl = memchr(p, '\n', n - ml);
	if (!nl || nl == p || (size_t)(nl - p) > MANCACHE_TYPE_MAX)
		return DF_ERR;
	for (const char *q = p; q < nl; q++)
		if (*q <= ' ' || *q > '~')
			return DF_ERR;
	*ctype = (struct slice){p, (size_t)(nl - p)};
	*body = (struct slice){nl + 1, n - (size_t)(nl + 1 - buf)};
	return DF_OK;
}

int mancache_parse_tag(const char *buf, size_t n, char out[72])
{
	size_t ml = sizeof MANCACHE_TAG_MAGIC - 1;
	if (n != ml + 71 + 1 || memcmp(buf, MANCACHE_TAG_MAGIC, ml) != 0 || buf[n - 1] != '\n')
		return DF_ERR;
	struct slice d = {buf + ml, 71};
	if (!registry_digest_sha256(d))
		return DF_ERR;
	memcpy(out, d.p, 71);
	out[71] = 0;
	return DF_OK;
}

static struct slice trim(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return (struct slice){p, (size_t)(e - p)};
}

static int type_matches(struct slice want, struct slice ctype)
{
	if (want.n == 3 && memcmp(want.p, "*/*", 3) == 0)
		return 1;
	if (want.n == ctype.n && strncasecmp(want.p, ctype.p, ctype.n) == 0)
		return 1;
	/* "TYPE/ *" (no space): the same TYPE before the slash */
	if (want.n >= 2 && want.p[want.n - 1] == '*' && want.p[want.n - 2] == '/' && ctype.n > want.n - 1 &&
	    strncasecmp(want.p, ctype.p, want.n - 1) == 0)
		return 1;
	return 0;
}

int mancache_accepts(const struct slice *accept, size_t n, struct slice ctype)
{
	int any = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = accept[i].p, *end = p + accept[i].n;
		while (p < end) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			const char *ie = comma ? comma : end;
			const char *semi = memchr(p, ';', (size_t)(ie - p));
			struct slice want = trim(p, semi ? semi : ie);
			if (want.n) {
				any = 1;
				if (type_matches(want, ctype))
					return 1;
			}
			p = comma ? comma + 1 : end;
		}
	}
	return !any;
}

static void path_of(const struct mancache *c, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", c->dir, name);
}

/* Adds up the files held (at open, and after an eviction pass). */
static uint64_t scan_total(const struct mancache *c)
{
	uint64_t t = 0;
	DIR *d = opendir(c->dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		struct stat st;
		char p[4400];
		if (de->d_name[0] == '.')
			continue;
		path_of(c, de->d_name, p, sizeof p);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			t += (uint64_t)st.st_size;
	}
	if (d)
		closedir(d);
	return t;
}

/* Removes the least recently written file until the total fits in MANCACHE_MAX_TOTAL. */
static void evict(struct mancache *c)
{
	while (c->total > MANCACHE_MAX_TOTAL) {
		DIR *d = opendir(c->dir);
		struct dirent *de;
		char oldest[300] = "";
		struct timespec ot = {0, 0};
		while (d && (de = readdir(d))) {
			struct stat st;
			char p[4400];
			if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof oldest)
				continue;
			path_of(c, de->d_name, p, sizeof p);
			if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
			    (!oldest[0] || st.st_mtim.tv_sec < ot.tv_sec ||
			     (st.st_mtim.tv_sec == ot.tv_sec && st.st_mtim.tv_nsec < ot.tv_nsec))) {
				ot = st.st_mtim;
				snprintf(oldest, sizeof oldest, "%s", de->d_name);
			}
		}
		if (d)
			closedir(d);
		if (!oldest[0])
			return;
		char p[4400];
		path_of(c, oldest, p, sizeof p);
		unlink(p);
		c->total = scan_total(c);
	}
}

struct mancache *mancache_open(const char *dir)
{
	struct mancache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	snprintf(c->dir, sizeof c->dir, "%s", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_warn("manifest copies %s: %s", dir, strerror(errno));
		free(c);
		return NULL;
	}
	c->total = scan_total(c);
	return c;
}

void mancache_free(struct mancache *c)
{
	free(c);
}

/* Writes parts to dir/name through name.tmp and a rename (a reader never sees half a file). */
static int write_file(struct mancache *c, const char *name, const char *head, const void *body, size_t len)
{
	char p[4400], tmp[4500];
	path_of(c, name, p, sizeof p);
	snprintf(tmp, sizeof tmp, "%s.tmp", p);
	FILE *f = fopen(tmp, "wbx");
	if (!f && errno == EEXIST && unlink(tmp) == 0)
		f = fopen(tmp, "wbx");
	if (!f) {
		log_warn("manifest copies: cannot write %s: %s", tmp, strerror(errno));
		return DF_ERR;
	}
	fputs(head, f);
	if (len)
		fwrite(body, 1, len, f);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad || rename(tmp, p) != 0) {
		log_warn("manifest copies: cannot write %s: %s", p, strerror(errno));
		unlink(tmp);
		return DF_ERR;
	}
	c->total += strlen(head) + len;
	evict(c);
	return DF_OK;
}

/* Reads dir/name whole (at most max bytes) into a malloc'ed buffer. */
static char *read_file(const struct mancache *c, const char *name, size_t max, size_t *n)
{
	char p[4400];
	path_of(c, name, p, sizeof p);
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(max + 1);
	size_t r = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (!buf || r > max) {
		free(buf);
		return NULL;
	}
	*n = r;
	return buf;
}

static int digest_name(const char *digest, char *out, size_t cap)
{
	if (!registry_digest_sha256(slice_of(digest)))
		return DF_ERR;
	snprintf(out, cap, "sha256-%s", digest + 7);
	return DF_OK;
}

static int body_is(const char *digest, const void *body, size_t len)
{
	br_sha256_context s;
	uint8_t h[32];
	char hex[65];
	br_sha256_init(&s);
	digest_sha256_update(&s, body, len);
	br_sha256_out(&s, h);
	digest_hex(h, 32, hex);
	return strcmp(hex, digest + 7) == 0;
}

int mancache_put(struct mancache *c, const char *digest, const char *ctype, const void *body, size_t len)
{
	char name[80], head[sizeof MANCACHE_MAGIC + MANCACHE_TYPE_MAX + 2];
	struct slice t, b;
	if (len > MANCACHE_MAX_MANIFEST || digest_name(digest, name, sizeof name) != DF_OK ||
	    !body_is(digest, body, len))
		return DF_ERR;
	snprintf(head, sizeof head, MANCACHE_MAGIC "%s\n", ctype);
	if (mancache_parse(head, strlen(head), &t, &b) != DF_OK || t.n != strlen(ctype))
		return DF_ERR;
	return write_file(c, name, head, body, len);
}

int mancache_get(struct mancache *c, const char *digest, char **body, size_t *len, char *ctype, size_t ctcap)
{
	char name[80];
	size_t n;
	struct slice t, b;
	if (digest_name(digest, name, sizeof name) != DF_OK)
		return DF_ERR;
	char *buf = read_file(c, name, MANCACHE_MAX_MANIFEST + sizeof MANCACHE_MAGIC + MANCACHE_TYPE_MAX + 1, &n);
	if (!buf)
		return DF_ERR;
	if (mancache_parse(buf, n, &t, &b) != DF_OK || !body_is(digest, b.p, b.n) || slice_copy(t, ctype, ctcap) != 0) {
		log_warn("manifest copies: %s/%s is damaged; not served", c->dir, name);
		free(buf);
		return DF_ERR;
	}
	memmove(buf, b.p, b.n);
	*body = buf;
	*len = b.n;
	return DF_OK;
}

/* "tag-HEX": HEX a sha256 over the length-prefixed host, repository and tag. */
static void tag_name(const char *host, const char *repo, const char *tag, char out[80])
{
	br_sha256_context s;
	uint8_t h[32];
	char hex[65];
	const char *parts[3] = {host, repo, tag};
	br_sha256_init(&s);
	br_sha256_update(&s, "df-mtag", 7);
	for (int i = 0; i < 3; i++) {
		uint8_t l[8];
		size_t n = strlen(parts[i]);
		for (int j = 0; j < 8; j++)
			l[j] = (uint8_t)((uint64_t)n >> (8 * j));
		br_sha256_update(&s, l, sizeof l);
		br_sha256_update(&s, parts[i], n);
	}
	br_sha256_out(&s, h);
	digest_hex(h, 32, hex);
	snprintf(out, 80, "tag-%s", hex);
}

int mancache_put_tag(struct mancache *c, const char *host, const char *repo, const char *tag, const char *digest)
{
	char name[80], head[128], cur[72];
	if (!registry_digest_sha256(slice_of(digest)))
		return DF_ERR;
	if (mancache_get_tag(c, host, repo, tag, cur) == DF_OK && strcmp(cur, digest) == 0)
		return DF_OK; /* unchanged: no write per pull */
	tag_name(host, repo, tag, name);
	snprintf(head, sizeof head, MANCACHE_TAG_MAGIC "%s\n", digest);
	return write_file(c, name, head, NULL, 0);
}

int mancache_get_tag(struct mancache *c, const char *host, const char *repo, const char *tag, char out[72])
{
	char name[80];
	size_t n;
	tag_name(host, repo, tag, name);
	char *buf = read_file(c, name, 256, &n);
	if (!buf)
		return DF_ERR;
	int rc = mancache_parse_tag(buf, n, out);
	free(buf);
	return rc;
}
