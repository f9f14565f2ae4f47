/* Configuration: defaults, ini file through inih, and the typed setters shared with flag parsing.
 * The key table is generated from core/config.def so code, flags and docs cannot drift apart. */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/df.h"
#include "core/digest.h"
#include "core/log.h"
#define INI_CALL_HANDLER_ON_NEW_SECTION 1
#include "ini.h"

const struct config_key config_keys[] = {
#define DF_CONFIG(sec, k, type, def, meta, help) \
	{#sec, #k, CFG_##type, def, meta, help, offsetof(struct df_config, sec##_##k)},
#include "core/config.def"
#undef DF_CONFIG
};
const size_t config_nkeys = DF_ARRAY_LEN(config_keys);

const char *const config_sections[] = {"common", "store", "security", "supernode", "get",
				       "proxy",  "push",  "status",   NULL};

const struct config_key *config_find(const char *section, const char *key)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].section, section) == 0 && strcmp(config_keys[i].key, key) == 0)
			return &config_keys[i];
	return NULL;
}

int config_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-')
		return DF_ERR;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return DF_ERR;
	unsigned shift = 0;
	switch (*end) {
	case 0: break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	default: return DF_ERR;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return DF_ERR;
	*out = (uint64_t)v << shift;
	return DF_OK;
}

int config_parse_quota(const char *s, uint64_t *bytes, unsigned *percent)
{
	size_t n = strlen(s);
	*bytes = 0;
	*percent = 0;
	if (n == 0)
		return DF_OK;
	if (s[n - 1] != '%')
		return config_parse_size(s, bytes);
	unsigned v = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 100)
			return DF_ERR;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (n == 1 || v < 1 || v > 100)
		return DF_ERR;
	*percent = v;
	return DF_OK;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"}, *const no[] = {"0", "no", "false", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return DF_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return DF_OK;
		}
	}
	return DF_ERR;
}

int config_set(struct df_config *c, const struct config_key *k, const char *value, char *err, size_t errlen)
{
	void *field = (char *)c + k->offset;
	if (k->offset == offsetof(struct df_config, common_log_level) && log_level_parse(value) < 0) {
		snprintf(err, errlen, "'%s' is not one of error, warn, info, debug", value);
		return DF_ERR;
	}
	if (k->offset == offsetof(struct df_config, security_token) && config_check_token(value, err, errlen) != DF_OK)
		return DF_ERR;
	if (k->offset == offsetof(struct df_config, security_piece_digest) && digest_piece_algo_parse(value) < 0) {
		snprintf(err, errlen, "'%s' is not one of xxh3, sha256", value);
		return DF_ERR;
	}
	uint64_t qb;
	unsigned qp;
	if (k->offset == offsetof(struct df_config, store_quota) && config_parse_quota(value, &qb, &qp) != DF_OK) {
		snprintf(err, errlen, "'%s' is neither a size (200G) nor a share of the filesystem (1%% to 100%%)",
			 value);
		return DF_ERR;
	}
	if (k->offset == offsetof(struct df_config, get_supernode) ||
	    k->offset == offsetof(struct df_config, supernode_parent)) {
		int n = 0;
		for (const char *v = value; *v;) {
			size_t len = strcspn(v, ", ");
			if (len >= CONFIG_SUPERNODE_NAME_MAX) {
				snprintf(err, errlen, "'%.*s...' is longer than %d characters", 40, v,
					 CONFIG_SUPERNODE_NAME_MAX - 1);
				return DF_ERR;
			}
			/* HOST:PORT, as the peer engine dials it (core/addr.h): no scheme, user or path */
			char one[CONFIG_SUPERNODE_NAME_MAX], why[300] = "";
			struct addr a;
			snprintf(one, sizeof one, "%.*s", (int)len, v);
			int bad = len && addr_parse(one, &a, why, sizeof why) != DF_OK;
			if (len && !bad && (!a.host[0] || !a.port)) {
				snprintf(why, sizeof why, "%s in '%s'", a.host[0] ? "port 0" : "no host", one);
				bad = 1;
			}
			if (bad) {
				snprintf(err, errlen, "'%s' is not HOST:PORT: %s", one, why);
				return DF_ERR;
			}
			n += len > 0;
			v += len;
			v += strspn(v, ", ");
		}
		if (n > CONFIG_MAX_SUPERNODES) {
			snprintf(err, errlen, "%d supernodes: at most %d (list the ones this host should use)", n,
				 CONFIG_MAX_SUPERNODES);
			return DF_ERR;
		}
	}
	switch (k->type) {
	case CFG_STR: {
		char *dup = strdup(value);
		if (!dup) {
			snprintf(err, errlen, "out of memory");
			return DF_ERR;
		}
		free(*(char **)field);
		*(char **)field = dup;
		return DF_OK;
	}
	case CFG_INT: {
		char *end;
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno || end == value || *end || v < 0) {
			snprintf(err, errlen, "'%s' is not a whole number >= 0", value);
			return DF_ERR;
		}
		*(long long *)field = v;
		return DF_OK;
	}
	case CFG_SIZE:
		if (config_parse_size(value, (uint64_t *)field) != DF_OK) {
			snprintf(err, errlen, "'%s' is not a size (a number with an optional k, M, G or T suffix)",
				 value);
			return DF_ERR;
		}
		return DF_OK;
	case CFG_BOOL:
		if (parse_bool(value, (int *)field) != DF_OK) {
			snprintf(err, errlen, "'%s' is not yes/no/true/false/on/off/1/0", value);
			return DF_ERR;
		}
		return DF_OK;
	}
	return DF_ERR;
}

int config_init(struct df_config *c)
{
	char err[128];
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < config_nkeys; i++)
		if (config_set(c, &config_keys[i], config_keys[i].def, err, sizeof err) != DF_OK)
			abort(); /* a default that does not parse is a bug in config.def, caught by every test */
	return DF_OK;
}

void config_free(struct df_config *c)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (config_keys[i].type == CFG_STR) {
			char **p = (char **)((char *)c + config_keys[i].offset);
			free(*p);
			*p = NULL;
		}
	free(c->file);
	c->file = NULL;
}

struct load_ctx {
	struct df_config *c;
	char *err;
	size_t errlen;
};

static int known_section(const char *s)
{
	for (size_t i = 0; config_sections[i]; i++)
		if (strcmp(config_sections[i], s) == 0)
			return 1;
	return 0;
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	char why[256];
	if (!name) { /* a new [section] line (INI_CALL_HANDLER_ON_NEW_SECTION) */
		if (known_section(section))
			return 1;
		snprintf(lc->err, lc->errlen, "unknown section [%s]", section);
		return 0;
	}
	if (!*section) {
		snprintf(lc->err, lc->errlen, "key '%s' outside any [section]", name);
		return 0;
	}
	if (!known_section(section)) {
		snprintf(lc->err, lc->errlen, "unknown section [%s]", section);
		return 0;
	}
	const struct config_key *k = config_find(section, name);
	if (!k) {
		snprintf(lc->err, lc->errlen, "[%s] %s: unknown key", section, name);
		return 0;
	}
	if (config_set(lc->c, k, value, why, sizeof why) != DF_OK) {
		snprintf(lc->err, lc->errlen, "[%s] %s: %s", section, name, why);
		return 0;
	}
	return 1;
}

int config_load_file(struct df_config *c, const char *path, char *err, size_t errlen)
{
	char why[384] = "";
	struct load_ctx lc = {c, why, sizeof why};
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return DF_ERR;
	}
	int line = ini_parse_file(f, on_ini, &lc);
	fclose(f);
	if (line != 0) {
		/* inih reports the first bad line; a syntax error leaves no detail of ours. */
		snprintf(err, errlen, "%s:%d: %s", path, line,
			 why[0] ? why : "syntax error (expected [section] or key = value)");
		return DF_ERR;
	}
	free(c->file);
	c->file = strdup(path);
	return DF_OK;
}

const char *config_pick_file(const char *explicit_path)
{
	if (explicit_path)
		return explicit_path;
	const char *env = getenv("DF_CONFIG");
	if (env && *env)
		return env;
	if (access("/etc/df/df.conf", F_OK) == 0)
		return "/etc/df/df.conf";
	return NULL;
}

void config_format_value(const struct df_config *c, const struct config_key *k, char *buf, size_t n)
{
	const void *field = (const char *)c + k->offset;
	switch (k->type) {
	case CFG_STR: snprintf(buf, n, "%s", *(char *const *)field ? *(char *const *)field : ""); break;
	case CFG_INT: snprintf(buf, n, "%lld", *(const long long *)field); break;
	case CFG_SIZE: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)field); break;
	case CFG_BOOL: snprintf(buf, n, "%s", *(const int *)field ? "yes" : "no"); break;
	}
}

void config_print_ini(const struct df_config *c, FILE *f)
{
	const char *cur = "";
	fprintf(f, "# effective configuration%s%s\n", c->file ? " from " : " (built-in defaults)",
		c->file ? c->file : "");
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		char v[1024];
		if (strcmp(cur, k->section) != 0) {
			fprintf(f, "\n[%s]\n", k->section);
			cur = k->section;
		}
		if (k->offset == offsetof(struct df_config, security_token) && c->security_token[0]) {
			fprintf(f, "%s = (set, not shown)\n", k->key);
			continue;
		}
		config_format_value(c, k, v, sizeof v);
		fprintf(f, "%s = %s\n", k->key, v);
	}
}

static const char *type_name(enum config_type t)
{
	static const char *const n[] = {"string", "integer", "size", "boolean"};
	return n[t];
}

void config_print_doc(FILE *f)
{
	const char *cur = "";
	fputs("# df configuration reference\n\n"
	      "Generated by `df config --doc` from core/config.def; a test fails when this file drifts.\n\n"
	      "df reads `--config FILE`, else `$DF_CONFIG`, else `/etc/df/df.conf` if it exists, else uses the\n"
	      "defaults below; it needs no file at all. Flags win over the file: every key is also the flag\n"
	      "`--key-name` (underscores become dashes) of the commands that read its section; booleans take\n"
	      "`--key`/`--no-key`. Sizes take k, M, G, T suffixes (powers of 1024). An unknown section or key,\n"
	      "or a bad value, stops df with the file, line and key.\n",
	      f);
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		if (strcmp(cur, k->section) != 0) {
			fprintf(f, "\n## [%s]\n\n| key | type | default | meaning |\n|---|---|---|---|\n", k->section);
			cur = k->section;
		}
		fprintf(f, "| `%s` | %s | `%s` | %s |\n", k->key, type_name(k->type), k->def, k->help);
	}
}

int config_check_token(const char *t, char *err, size_t errlen)
{
	size_t n = strlen(t);
	if (n > CONFIG_TOKEN_MAX) {
		snprintf(err, errlen, "the token is %zu bytes, longer than the %d df accepts", n, CONFIG_TOKEN_MAX);
		return DF_ERR;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f) {
			snprintf(err, errlen, "the token has a control character (byte %zu)", i + 1);
			return DF_ERR;
		}
	if (n && (t[0] == ' ' || t[n - 1] == ' ')) {
		snprintf(err, errlen, "the token starts or ends with a blank");
		return DF_ERR;
	}
	return DF_OK;
}

int config_resolve_token(struct df_config *c, char *err, size_t errlen)
{
	if (c->security_token[0] || !c->security_token_file[0])
		return DF_OK;
	const char *path = c->security_token_file;
	char line[CONFIG_TOKEN_MAX + 3], why[128]; /* room to see a line that is too long */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return DF_ERR;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen,
			 "token file %s: every local user may write it (mode %04o): chmod o-w, better 0600", path,
			 (unsigned)(st.st_mode & 07777));
		close(fd);
		return DF_ERR;
	}
	if (st.st_mode & S_IROTH)
		log_warn("token file %s: every local user may read it (mode %04o): chmod 0600", path,
			 (unsigned)(st.st_mode & 07777));
	FILE *f = fdopen(fd, "r");
	if (!f) {
		snprintf(err, errlen, "token file %s: %s", path, strerror(errno));
		close(fd);
		return DF_ERR;
	}
	if (!fgets(line, sizeof line, f))
		line[0] = 0;
	fclose(f);
	size_t n = strcspn(line, "\r\n");
	if (n > CONFIG_TOKEN_MAX) {
		snprintf(err, errlen, "token file %s: the token is longer than the %d bytes df accepts", path,
			 CONFIG_TOKEN_MAX);
		return DF_ERR;
	}
	line[n] = 0;
	if (!line[0]) {
		snprintf(err, errlen, "token file %s: empty", path);
		return DF_ERR;
	}
	if (config_check_token(line, why, sizeof why) != DF_OK) {
		snprintf(err, errlen, "token file %s: %s", path, why);
		return DF_ERR;
	}
	free(c->security_token);
	c->security_token = strdup(line);
	return c->security_token ? DF_OK : DF_ERR;
}
