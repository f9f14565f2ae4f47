/* Command-line parsing shared by all commands: command options, config keys as flags, global flags.
 * Two passes: the first finds --config so the file loads before any flag overrides it. */
#include "core/opt.h"

#include <stdlib.h>
#include <string.h>

#include "core/df.h"
#include "core/log.h"

static int section_on(const char *const *sections, const char *sec)
{
	if (strcmp(sec, "common") == 0)
		return 1;
	for (; sections && *sections; sections++)
		if (strcmp(*sections, sec) == 0)
			return 1;
	return 0;
}

/* "seed-idle" matches key "seed_idle". */
static int flag_matches_key(const char *flag, size_t n, const char *key)
{
	size_t i = 0;
	for (; i < n && key[i]; i++)
		if (!(flag[i] == key[i] || (flag[i] == '-' && key[i] == '_')))
			return 0;
	return i == n && key[i] == 0;
}

static const struct config_key *find_flag_key(const char *const *sections, const char *flag, size_t n)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (section_on(sections, config_keys[i].section) && flag_matches_key(flag, n, config_keys[i].key))
			return &config_keys[i];
	return NULL;
}

static const struct opt_spec *find_long(const struct opt_spec *s, int n, const char *name, size_t len)
{
	for (int i = 0; i < n; i++)
		if (strlen(s[i].name) == len && strncmp(s[i].name, name, len) == 0)
			return &s[i];
	return NULL;
}

static const struct opt_spec *find_short(const struct opt_spec *s, int n, char c)
{
	for (int i = 0; i < n; i++)
		if (s[i].short_name == c)
			return &s[i];
	return NULL;
}

void opt_result_free(struct opt_result *r)
{
	free(r->vals);
	free(r->args);
	memset(r, 0, sizeof *r);
}

/* First pass: the value of --config, or NULL. */
static const char *find_config_flag(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], DF_LIT("--config=")) == 0)
			return argv[i] + 9;
	}
	return NULL;
}

int opt_parse(int argc, char **argv, const char *const *sections, const struct opt_spec *specs, int nspecs,
	      struct df_config *cfg, struct opt_result *out, char *err, size_t errlen)
{
	char why[256];
	int quiet = 0;
	const char *level = NULL;
	memset(out, 0, sizeof *out);
	out->vals = calloc((size_t)argc + 1, sizeof *out->vals);
	out->args = calloc((size_t)argc + 1, sizeof *out->args);
	if (!out->vals || !out->args) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	const char *cfile = config_pick_file(find_config_flag(argc, argv));
	if (cfile && config_load_file(cfg, cfile, err, errlen) != DF_OK)
		goto fail;
	/* the cluster token: DF_TOKEN wins over the file, --token/--token-file over both */
	const char *envtok = getenv("DF_TOKEN");
	if (envtok && *envtok) {
		if (config_set(cfg, config_find("security", "token"), envtok, why, sizeof why) != DF_OK) {
			snprintf(err, errlen, "DF_TOKEN: %s", why);
			goto fail;
		}
		config_set(cfg, config_find("security", "token_file"), "", why, sizeof why);
	}

	int only_args = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (only_args || a[0] != '-' || a[1] == 0) {
			out->args[out->nargs++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = 1;
			continue;
		}
		if (a[1] != '-') { /* short options, possibly bundled: -qO file, -Ofile */
			for (char *p = a + 1; *p; p++) {
				if (*p == 'h') {
					out->help = 1;
					continue;
				}
				if (*p == 'q') {
					quiet = 1;
					continue;
				}
				const struct opt_spec *s = find_short(specs, nspecs, *p);
				if (!s) {
					snprintf(err, errlen, "unknown option -%c", *p);
					goto fail;
				}
				struct opt_value *v = &out->vals[out->nvals++];
				v->id = s->id;
				if (s->takes_arg) {
					if (p[1])
						v->arg = p + 1;
					else if (i + 1 < argc)
						v->arg = argv[++i];
					else {
						snprintf(err, errlen, "option -%c needs an argument (%s)", *p,
							 s->metavar);
						goto fail;
					}
					break;
				}
			}
			continue;
		}
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t n = eq ? (size_t)(eq - name) : strlen(name);
		const char *val = eq ? eq + 1 : NULL;
#define NEED_VAL(what)                                                                                             \
	do {                                                                                                       \
		if (!val) {                                                                                        \
			if (i + 1 >= argc) {                                                                       \
				snprintf(err, errlen, "option --%.*s needs an argument (%s)", (int)n, name, what); \
				goto fail;                                                                         \
			}                                                                                          \
			val = argv[++i];                                                                           \
		}                                                                                                  \
	} while (0)
		if (n == 4 && strncmp(name, DF_LIT("help")) == 0) {
			out->help = 1;
			continue;
		}
		if (n == 6 && strncmp(name, DF_LIT("config")) == 0) {
			NEED_VAL("FILE");
			continue;
		}
		if (n == 5 && strncmp(name, DF_LIT("quiet")) == 0) {
			quiet = 1;
			continue;
		}
		const struct opt_spec *s = find_long(specs, nspecs, name, n);
		if (s) {
			struct opt_value *v = &out->vals[out->nvals++];
			v->id = s->id;
			if (s->takes_arg) {
				NEED_VAL(s->metavar);
				v->arg = val;
			} else if (val) {
				snprintf(err, errlen, "option --%s takes no argument", s->name);
				goto fail;
			}
			continue;
		}
		const struct config_key *k = find_flag_key(sections, name, n);
		if (!k && n > 3 && strncmp(name, DF_LIT("no-")) == 0) {
			k = find_flag_key(sections, name + 3, n - 3);
			if (k && k->type == CFG_BOOL && !val) {
				config_set(cfg, k, "no", why, sizeof why);
				continue;
			}
			k = NULL;
		}
		if (!k) {
			snprintf(err, errlen, "unknown option --%.*s", (int)n, name);
			goto fail;
		}
		if (k->type == CFG_BOOL && !val)
			val = "yes";
		NEED_VAL(k->metavar);
		if (config_set(cfg, k, val, why, sizeof why) != DF_OK) {
			snprintf(err, errlen, "option --%.*s: %s", (int)n, name, why);
			goto fail;
		}
		if (strcmp(k->section, "security") == 0 &&
		    (strcmp(k->key, "token") == 0 || strcmp(k->key, "token_file") == 0)) {
			/* one source for the token: the flag replaces what the file or DF_TOKEN said */
			int tok = k->key[5] == 0;
			config_set(cfg, config_find("security", tok ? "token_file" : "token"), "", why, sizeof why);
			cfg->token_argv = tok && val[0];
		}
		if (strcmp(k->key, "log_level") == 0)
			level = val;
#undef NEED_VAL
	}
	if (!level)
		level = cfg->common_log_level;
	int lvl = log_level_parse(level);
	if (lvl < 0) {
		snprintf(err, errlen, "log level '%s' is not one of error, warn, info, debug", level);
		goto fail;
	}
	log_set_level(quiet ? LOG_ERROR : (enum log_level)lvl);
	return DF_OK;
fail:
	opt_result_free(out);
	return DF_ERR;
}

void opt_print_help(FILE *f, const char *cmd, const char *synopsis, const char *summary, const char *const *sections,
		    const struct opt_spec *specs, int nspecs)
{
	char left[96];
	fprintf(f, "Usage: df %s %s\n\n%s\n\nOptions:\n", cmd, synopsis, summary);
	for (int i = 0; i < nspecs; i++) {
		const struct opt_spec *s = &specs[i];
		if (s->short_name)
			snprintf(left, sizeof left, "-%c, --%s%s%s", s->short_name, s->name, s->takes_arg ? " " : "",
				 s->takes_arg ? s->metavar : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", s->name, s->takes_arg ? " " : "",
				 s->takes_arg ? s->metavar : "");
		fprintf(f, "  %-30s %s\n", left, s->help);
	}
	fprintf(f, "  %-30s %s\n  %-30s %s\n  %-30s %s\n", "    --config FILE",
		"config file (else $DF_CONFIG, else /etc/df/df.conf)", "-q, --quiet", "only errors", "-h, --help",
		"this help");
	fprintf(f, "\nSettings (flag or config file key; defaults in brackets):\n");
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		if (!section_on(sections, k->section))
			continue;
		char flag[64];
		size_t j = 0;
		for (; k->key[j] && j < sizeof flag - 1; j++)
			flag[j] = k->key[j] == '_' ? '-' : k->key[j];
		flag[j] = 0;
		int shadowed = 0; /* a command option of the same name says it better, once */
		for (int o = 0; o < nspecs && !shadowed; o++)
			shadowed = strcmp(specs[o].name, flag) == 0;
		if (shadowed)
			continue;
		if (k->type == CFG_BOOL)
			snprintf(left, sizeof left, "    --[no-]%s", flag);
		else
			snprintf(left, sizeof left, "    --%s %s", flag, k->metavar);
		fprintf(f, "  %-30s [%s] %s%s%s%s\n", left, k->section, k->help, k->def[0] ? " (" : "", k->def,
			k->def[0] ? ")" : "");
	}
}
