/* Image references and platforms (swarm/image_ref.h): the grammar of docker/distribution's
 * reference package and containerd's platform names, written as small checks over bytes. */
#include "swarm/image_ref.h"

#include <stdio.h>
#include <string.h>

#include "core/df.h"
#include "swarm/registry_parse.h"

/* host[:port]: DNS labels of [A-Za-z0-9-] joined by '.', or an IPv6 literal in brackets; a port of
 * 1 to 5 digits. */
static int valid_domain(struct slice d)
{
	size_t i = 0;
	if (d.n == 0 || d.n >= 256)
		return 0;
	if (d.p[0] == '[') {
		const char *rb = memchr(d.p, ']', d.n);
		if (!rb || rb == d.p + 1)
			return 0;
		for (const char *c = d.p + 1; c < rb; c++)
			if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F') ||
			      *c == ':'))
				return 0;
		i = (size_t)(rb - d.p) + 1;
	} else {
		int label = 0;
		for (; i < d.n && d.p[i] != ':'; i++) {
			char c = d.p[i];
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
				label++;
			} else if (c == '-' && label) {
				label++;
			} else if (c == '.' && label && d.p[i - 1] != '-') {
				label = 0;
			} else {
				return 0;
			}
		}
		if (!label || d.p[i - 1] == '-')
			return 0;
	}
	if (i == d.n)
		return 1;
	if (d.p[i] != ':' || d.n - i - 1 < 1 || d.n - i - 1 > 5)
		return 0;
	unsigned port = 0;
	for (size_t k = i + 1; k < d.n; k++) {
		if (d.p[k] < '0' || d.p[k] > '9')
			return 0;
		port = port * 10 + (unsigned)(d.p[k] - '0');
	}
	return port >= 1 && port <= 65535;
}

/* Whether the first component of a name is a registry: it has a '.' or a ':', is "localhost", or
 * has an upper-case letter (which no repository may have). */
static int looks_like_domain(struct slice c)
{
	if (slice_eq(c, "localhost") || memchr(c.p, '.', c.n) || memchr(c.p, ':', c.n))
		return 1;
	for (size_t i = 0; i < c.n; i++)
		if (c.p[i] >= 'A' && c.p[i] <= 'Z')
			return 1;
	return 0;
}

/* A name longer than out fits is none any platform has: DF_ERR, out "". */
static int lower_copy(struct slice s, char *out, size_t cap)
{
	if (slice_copy(s, out, cap) != 0) {
		out[0] = 0; /* slice_copy wrote nothing: the loop below would walk what the stack held */
		return DF_ERR;
	}
	for (char *c = out; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return DF_OK;
}

int image_ref_parse(const char *s, size_t n, struct image_ref *out, const char **why)
{
	memset(out, 0, sizeof *out);
	if (n == 0 || n > 512) {
		*why = n ? "longer than 512 bytes" : "empty";
		return DF_ERR;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) {
			*why = "a blank or control character";
			return DF_ERR;
		}
	struct slice rest = {s, n};
	const char *at = memchr(s, '@', n);
	if (at) {
		struct slice dg = {at + 1, (size_t)(s + n - at - 1)};
		if (!registry_digest_sha256(dg)) {
			*why = "the digest after '@' is not sha256: and 64 lower-case hex digits";
			return DF_ERR;
		}
		slice_copy(dg, out->digest, sizeof out->digest);
		rest.n = (size_t)(at - s);
	}
	const char *slash = memchr(rest.p, '/', rest.n);
	struct slice domain = SLICE_LIT("docker.io");
	if (slash && looks_like_domain((struct slice){rest.p, (size_t)(slash - rest.p)})) {
		domain = (struct slice){rest.p, (size_t)(slash - rest.p)};
		if (!valid_domain(domain)) {
			*why = "the registry is not a host[:port]";
			return DF_ERR;
		}
		rest.p = slash + 1;
		rest.n -= domain.n + 1;
	}
	/* a tag: after the last ':' of what is left (a registry's port went with the domain) */
	const char *colon = NULL;
	for (size_t i = 0; i < rest.n; i++)
		if (rest.p[i] == ':')
			colon = rest.p + i;
	struct slice name = rest;
	if (colon) {
		struct slice tag = {colon + 1, (size_t)(rest.p + rest.n - colon - 1)};
		name.n = (size_t)(colon - rest.p);
		if (!registry_tag_valid(tag)) {
			*why = "the tag is not [A-Za-z0-9_][A-Za-z0-9._-]{0,127}";
			return DF_ERR;
		}
		slice_copy(tag, out->tag, sizeof out->tag);
	}
	if (!registry_name_valid(name)) {
		*why = "the repository is not lower-case [a-z0-9] components joined by '.', '_', '-' and '/'";
		return DF_ERR;
	}
	lower_copy(domain, out->registry, sizeof out->registry);
	if (strcmp(out->registry, "index.docker.io") == 0)
		snprintf(out->registry, sizeof out->registry, "docker.io");
	int hub = strcmp(out->registry, "docker.io") == 0;
	int w = snprintf(out->repo, sizeof out->repo, "%s%.*s", hub && !memchr(name.p, '/', name.n) ? "library/" : "",
			 (int)name.n, name.p);
	if (w < 0 || (size_t)w >= sizeof out->repo) {
		*why = "the repository is too long";
		return DF_ERR;
	}
	snprintf(out->api, sizeof out->api, "%s", hub ? "registry-1.docker.io" : out->registry);
	if (!out->tag[0] && !out->digest[0])
		snprintf(out->tag, sizeof out->tag, "latest");
	return DF_OK;
}

const char *image_ref_target(const struct image_ref *r)
{
	return r->digest[0] ? r->digest : r->tag;
}

int image_host_loopback(const char *hp)
{
	size_t hl = strlen(hp);
	if (hp[0] == '[') {
		const char *rb = strchr(hp, ']');
		return rb && rb - hp == 4 && strncmp(hp, DF_LIT("[::1]")) == 0;
	}
	const char *colon = strchr(hp, ':');
	if (colon)
		hl = (size_t)(colon - hp);
	if (hl == 9 && strncmp(hp, DF_LIT("localhost")) == 0)
		return 1;
	/* 127.a.b.c, each part 0-255 */
	if (hl < 9 || strncmp(hp, DF_LIT("127.")) != 0)
		return 0;
	int parts = 1;
	unsigned v = 0;
	int digits = 0;
	for (size_t i = 4; i <= hl; i++) {
		if (i == hl || hp[i] == '.') {
			if (!digits || v > 255)
				return 0;
			parts++;
			v = 0;
			digits = 0;
		} else if (hp[i] >= '0' && hp[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(hp[i] - '0');
			digits++;
		} else {
			return 0;
		}
	}
	return parts == 4;
}

/* containerd's normalization: the names several tools use for one architecture become one. */
static void normalize(const char *os, const char *arch, const char *variant, struct image_platform *p)
{
	struct slice a = slice_of(arch), v = slice_of(variant);
	if (lower_copy(slice_of(os), p->os, sizeof p->os) != DF_OK || lower_copy(a, p->arch, sizeof p->arch) != DF_OK ||
	    lower_copy(v, p->variant, sizeof p->variant) != DF_OK) {
		memset(p, 0, sizeof *p); /* an index entry's overlong name (a registry's word): no platform */
		return;
	}
	if (strcmp(p->os, "macos") == 0)
		snprintf(p->os, sizeof p->os, "darwin");
	if (strcmp(p->arch, "i386") == 0 || strcmp(p->arch, "i686") == 0) {
		snprintf(p->arch, sizeof p->arch, "386");
		p->variant[0] = 0;
	} else if (strcmp(p->arch, "x86_64") == 0 || strcmp(p->arch, "x86-64") == 0 || strcmp(p->arch, "amd64") == 0) {
		snprintf(p->arch, sizeof p->arch, "amd64");
		if (strcmp(p->variant, "v1") == 0)
			p->variant[0] = 0;
	} else if (strcmp(p->arch, "aarch64") == 0 || strcmp(p->arch, "arm64") == 0) {
		snprintf(p->arch, sizeof p->arch, "arm64");
		if (strcmp(p->variant, "8") == 0 || strcmp(p->variant, "v8") == 0)
			p->variant[0] = 0;
	} else if (strcmp(p->arch, "armhf") == 0) {
		snprintf(p->arch, sizeof p->arch, "arm");
		snprintf(p->variant, sizeof p->variant, "v7");
	} else if (strcmp(p->arch, "armel") == 0) {
		snprintf(p->arch, sizeof p->arch, "arm");
		snprintf(p->variant, sizeof p->variant, "v6");
	} else if (strcmp(p->arch, "arm") == 0) {
		if (!p->variant[0] || strcmp(p->variant, "7") == 0)
			snprintf(p->variant, sizeof p->variant, "v7");
		else if (strlen(p->variant) == 1 && p->variant[0] >= '5' && p->variant[0] <= '8')
			snprintf(p->variant, sizeof p->variant, "v%c", p->variant[0]);
	}
}

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int image_platform_parse(const char *s, struct image_platform *out, const char **why)
{
	char os[32], arch[32], variant[32] = "";
	const char *a = strchr(s, '/');
	const char *v = a ? strchr(a + 1, '/') : NULL;
	memset(out, 0, sizeof *out);
	if (!a || !name_ok(s, (size_t)(a - s)) || !name_ok(a + 1, v ? (size_t)(v - a - 1) : strlen(a + 1)) ||
	    (v && !name_ok(v + 1, strlen(v + 1)))) {
		*why = "expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm/v7";
		return DF_ERR;
	}
	snprintf(os, sizeof os, "%.*s", (int)(a - s), s);
	snprintf(arch, sizeof arch, "%.*s", v ? (int)(v - a - 1) : (int)strlen(a + 1), a + 1);
	if (v)
		snprintf(variant, sizeof variant, "%s", v + 1);
	normalize(os, arch, variant, out);
	return DF_OK;
}

void image_platform_of_machine(const char *machine, struct image_platform *out)
{
	char arch[32], variant[32] = "";
	snprintf(arch, sizeof arch, "%s", machine);
	if (strncmp(arch, DF_LIT("armv")) == 0 && arch[4] >= '5' &&
	    arch[4] <= '8') { /* armv7l, armv6l, armv8l (32-bit) */
		snprintf(variant, sizeof variant, "v%c", arch[4]);
		snprintf(arch, sizeof arch, "arm");
	}
	normalize("linux", arch, variant, out);
}

int image_platform_score(const struct image_platform *want, const char *os, const char *arch, const char *variant)
{
	struct image_platform c;
	normalize(os ? os : "", arch ? arch : "", variant ? variant : "", &c);
	if (strcmp(c.os, want->os) != 0 || strcmp(c.arch, want->arch) != 0)
		return 0;
	if (strcmp(c.variant, want->variant) == 0)
		return 3;
	if (!want->variant[0])
		return 1; /* any variant will do, the exact "none" is better */
	return 0;
}

void image_platform_format(const struct image_platform *p, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
}
