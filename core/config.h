/* The configuration of a df process: one struct generated from core/config.def, filled from defaults,
 * then an ini file (inih), then flags. Every setter reports file, line and key on a bad value. */
#ifndef DF_CONFIG_H
#define DF_CONFIG_H

#include <stdint.h>
#include <stdio.h>

enum config_type { CFG_STR, CFG_INT, CFG_SIZE, CFG_BOOL };

typedef char *config_STR;
typedef long long config_INT;
typedef uint64_t config_SIZE;
typedef int config_BOOL;

struct df_config {
#define DF_CONFIG(sec, key, type, def, meta, help) config_##type sec##_##key;
#include "core/config.def"
#undef DF_CONFIG
	char *file;     /* the file loaded, or NULL */
	int token_argv; /* the token was given with --token on the command line (visible in ps) */
};

/* The longest cluster token df accepts (bytes). Every outgoing request carries it in one header
 * line built in a fixed buffer (AUTH_HEADER_MAX in swarm/auth.h); a longer token is refused when the
 * configuration is read, never cut. */
#define CONFIG_TOKEN_MAX 512

struct config_key {
	const char *section;
	const char *key;
	enum config_type type;
	const char *def;
	const char *metavar;
	const char *help;
	size_t offset;
};

extern const struct config_key config_keys[];
extern const size_t config_nkeys;
/* Every section a config file may name, including ones with no keys yet. */
extern const char *const config_sections[];

/* Fills every key with its default. Returns DF_OK. Free with config_free. */
int config_init(struct df_config *c);
void config_free(struct df_config *c);

/* Looks a key up; NULL if the section has no such key. */
const struct config_key *config_find(const char *section, const char *key);

/* Parses value into key k of c. On error writes the cause into err and returns DF_ERR. */
int config_set(struct df_config *c, const struct config_key *k, const char *value, char *err, size_t errlen);

/* Loads an ini file over the current values. On error err reads "FILE:LINE: [sec] key: cause". */
int config_load_file(struct df_config *c, const char *path, char *err, size_t errlen);

/* Which file to load: explicit (--config) wins, then $DF_CONFIG, then /etc/df/df.conf if it exists.
 * Returns NULL when none applies (defaults only). */
const char *config_pick_file(const char *explicit_path);

/* Writes key k's value as config text ("4194304", "yes") into buf. */
void config_format_value(const struct df_config *c, const struct config_key *k, char *buf, size_t n);

/* Writes the effective configuration as an ini file. */
void config_print_ini(const struct df_config *c, FILE *f);
/* Writes the reference (docs/config.md) generated from the key table. */
void config_print_doc(FILE *f);

/* Parses "10", "10k", "4M", "2G" (powers of 1024); returns DF_OK or DF_ERR. */
int config_parse_size(const char *s, uint64_t *out);

/* [get] supernode lists at most this many, each at most CONFIG_SUPERNODE_NAME_MAX - 1 characters
 * (checked when the value is set, so a longer list is an error, never silently cut). */
#define CONFIG_MAX_SUPERNODES 8
#define CONFIG_SUPERNODE_NAME_MAX 128

/* Parses a store quota: "" or "0" (none), a size ("200G"), or a share of the filesystem ("80%",
 * 1 to 100). Sets *bytes or *percent, the other to 0. DF_OK or DF_ERR. */
int config_parse_quota(const char *s, uint64_t *bytes, unsigned *percent);

/* The cluster token: token, else the first line of token_file; "" when none. Returns DF_ERR with err
 * set when token_file cannot be read, is writable by every local user, or holds no valid token (see
 * config_check_token); logs a warning when every local user can read it. The result is written into
 * c->security_token. */
int config_resolve_token(struct df_config *c, char *err, size_t errlen);

/* DF_OK when t may be a cluster token: at most CONFIG_TOKEN_MAX bytes, no control characters, no
 * blank at either end (HTTP would strip it, and the token would never match). "" (open mode) is
 * valid. Otherwise DF_ERR with the cause in err. */
int config_check_token(const char *t, char *err, size_t errlen);

#endif
