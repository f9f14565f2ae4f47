/* Remembered authorization decisions for offline serving (authmem.h): a bounded table of
 * SHA-256(credential, host, repository, blob) -> time accepted, kept in a text file under the store. */
#include "swarm/authmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/df.h"
#include "core/digest.h"
#include "core/log.h"

struct authmem {
	char *path;
	int max, n;
	struct authmem_entry *e;
};

static int lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* One line (without its '\n'): 64 hex, ' ', 1 to 18 decimal digits. */
static int parse_line(const char *p, size_t n, struct authmem_entry *e)
{
	if (n < 66 || n > 65 + 18 || p[64] != ' ')
		return DF_ERR;
	for (size_t i = 0; i < 64; i++)
		if (!lower_hex(p[i]))
			return DF_ERR;
	if (digest_unhex(p, 64, e->key, 32) != DF_OK)
		return DF_ERR;
	int64_t t = 0;
	for (size_t i = 65; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return DF_ERR;
		t = t * 10 + (p[i] - '0'); /* 18 digits cannot overflow */
	}
	e->when = t;
	return DF_OK;
}

int authmem_parse(const char *buf, size_t n, int (*cb)(void *arg, const struct authmem_entry *e), void *arg)
{
	size_t ml = sizeof AUTHMEM_MAGIC - 1;
	if (n < ml || memcmp(buf, AUTHMEM_MAGIC, ml) != 0)
		return -1;
	int bad = 0;
	size_t i = ml;
	while (i < n) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (buf + i)) : n - i;
		struct authmem_entry e;
		/* a last line without its '\n' is a write cut short: not trusted */
		if (!nl || parse_line(buf + i, len, &e) != DF_OK)
			bad++;
		else if (cb(arg, &e))
			break;
		i += len + 1;
	}
	return bad;
}

void authmem_key(const char *creds, size_t cn, const char *host, size_t hn, const char *repo, size_t rn,
		 const char *digest, size_t dn, uint8_t out[32])
{
	br_sha256_context c;
	const char *parts[4] = {creds, host, repo, digest};
	size_t lens[4] = {cn, hn, rn, dn};
	br_sha256_init(&c);
	br_sha256_update(&c, "df-authmem", 10);
	for (int i = 0; i < 4; i++) {
		uint8_t len[8];
		for (int j = 0; j < 8; j++)
			len[j] = (uint8_t)((uint64_t)lens[i] >> (8 * j));
		br_sha256_update(&c, len, sizeof len);
		br_sha256_update(&c, parts[i], lens[i]);
	}
	br_sha256_out(&c, out);
}

static struct authmem_entry *find(const struct authmem *m, const uint8_t key[32])
{
	for (int i = 0; i < m->n; i++)
		if (memcmp(m->e[i].key, key, 32) == 0)
			return &m->e[i];
	return NULL;
}

/* Puts key at when: updates it, or adds it evicting the oldest when full (unless keep_newer and
 * every held one is newer: loading keeps the most recent). NULL when nothing was put. */
static struct authmem_entry *put(struct authmem *m, const uint8_t key[32], int64_t when, int keep_newer)
{
	struct authmem_entry *e = find(m, key);
	if (!e) {
		if (m->n < m->max) {
			e = &m->e[m->n++];
		} else {
			e = &m->e[0];
			for (int i = 1; i < m->n; i++)
				if (m->e[i].when < e->when)
					e = &m->e[i];
			if (keep_newer && e->when >= when)
				return NULL;
		}
		memcpy(e->key, key, 32);
		e->when = when;
	} else if (when > e->when) {
		e->when = when;
	}
	return e;
}

static int load_one(void *arg, const struct authmem_entry *e)
{
	put(arg, e->key, e->when, 1);
	return 0;
}

struct authmem *authmem_open(const char *path, int max)
{
	struct authmem *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->max = max > 0 ? max : AUTHMEM_DEFAULT_MAX;
	m->path = strdup(path);
	m->e = calloc((size_t)m->max, sizeof *m->e);
	if (!m->path || !m->e) {
		authmem_free(m);
		return NULL;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno != ENOENT)
			log_warn("authorization memory %s: %s; starting empty", path, strerror(errno));
		return m;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n < cap)
			break;
		char *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap *= 2;
	}
	fclose(f);
	if (!buf) {
		log_warn("authorization memory %s: too large or out of memory; starting empty", path);
		return m;
	}
	int bad = authmem_parse(buf, n, load_one, m);
	free(buf);
	if (bad < 0)
		log_warn("authorization memory %s: not a df-authmem file; starting empty", path);
	else if (bad > 0)
		log_warn("authorization memory %s: %d malformed lines skipped", path, bad);
	return m;
}

void authmem_free(struct authmem *m)
{
	if (!m)
		return;
	free(m->path);
	free(m->e);
	free(m);
}

/* Writes the table to path.tmp, then renames it over path (a reader never sees half a file). */
static int save(const struct authmem *m)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", m->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("authorization memory %s: %s", tmp, strerror(errno));
		return DF_ERR;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return DF_ERR;
	}
	fputs(AUTHMEM_MAGIC, f);
	for (int i = 0; i < m->n; i++) {
		char hex[65];
		digest_hex(m->e[i].key, 32, hex);
		fprintf(f, "%s %lld\n", hex, (long long)m->e[i].when);
	}
	int bad = ferror(f);
	if (fclose(f) != 0 || bad || rename(tmp, m->path) != 0) {
		log_warn("authorization memory %s: cannot write it: %s", m->path, strerror(errno));
		unlink(tmp);
		return DF_ERR;
	}
	return DF_OK;
}

int authmem_accept(struct authmem *m, const uint8_t key[32], int64_t now)
{
	struct authmem_entry *old = find(m, key);
	if (old && now - old->when < 60 && now >= old->when)
		return DF_OK;            /* fresh enough: spare the disk a write per blob */
	put(m, key, now, 0)->when = now; /* also when the clock went back */
	return save(m);
}

int authmem_valid(const struct authmem *m, const uint8_t key[32], int64_t now, int64_t window)
{
	const struct authmem_entry *e = find(m, key);
	return e && e->when <= now && now - e->when <= window;
}

int authmem_count(const struct authmem *m)
{
	return m->n;
}
