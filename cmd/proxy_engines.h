/* The container engines' side of df proxy: the mirror configuration containerd (certs.d hosts.toml),
 * podman/skopeo/buildah/CRI-O (a containers-registries.conf.d drop-in) and docker (daemon.json
 * registry-mirrors) read, as `df proxy --print-config` prints it and `--install` writes it. */
#ifndef DF_CMD_PROXY_ENGINES_H
#define DF_CMD_PROXY_ENGINES_H

#include <limits.h>
#include <stddef.h>

#include "core/config.h"
#include "swarm/registry_parse.h"

/* Where files go when no engine configuration says otherwise. */
#define ENGINES_CERTS_D "/etc/containerd/certs.d" /* containerd's documented hosts directory */
#define ENGINES_CONTAINERD_CONFIG "/etc/containerd/config.toml"
#define ENGINES_DROPIN_DIR "/etc/containers/registries.conf.d"
#define ENGINES_DROPIN "50-df-proxy.conf"
#define ENGINES_REGISTRIES_CONF "/etc/containers/registries.conf"
#define ENGINES_DAEMON_JSON "/etc/docker/daemon.json"
/* The upstream's CA, copied next to a hosts.toml (containerd reads a relative `ca` from there). */
#define ENGINES_CA_FILE "df-upstream-ca.crt"

enum engines_kind { ENGINES_CONTAINERD, ENGINES_DOCKER, ENGINES_PODMAN };

struct engines {
	const struct registry_upstream *ups; /* the upstreams df proxy serves; ups[0] is the default */
	int nups;
	char mirror[300];             /* host:port the engines dial (the listen address, a wildcard made loopback) */
	char cacert[PATH_MAX + 4200]; /* [common] cacert as an absolute path, or "" */
	int insecure;                 /* [common] insecure */
};

/* The address engines dial for listen address listen: a wildcard host made loopback. */
void engines_mirror_addr(const char *listen, char *out, size_t cap);

/* Fills e from the configuration and the upstreams (kept by reference). */
void engines_init(struct engines *e, const struct df_config *c, const struct registry_upstream *ups, int nups);

/* "containerd", "docker", "podman" (also "cri-o", "crio", "skopeo", "buildah"): DF_OK with *kind,
 * DF_ERR for anything else. */
int engines_parse(const char *name, enum engines_kind *kind);

/* df's block of upstream i's hosts.toml: the mirror as containerd's first host, between the
 * CFGEDIT_BEGIN and CFGEDIT_END lines. Returns the length, or DF_ERR when it does not fit. */
int engines_hosts_block(const struct engines *e, char *out, size_t cap);

/* The part of a hosts.toml df writes above its block when it writes the whole file: two comment
 * lines, `server` (the upstream: containerd's fallback), and for an https upstream `ca = "CA"`
 * (when ca is not NULL) or `skip_verify = true` with [common] insecure. */
int engines_hosts_top(const struct engines *e, int i, const char *ca, char *out, size_t cap);

/* Whether a hosts.toml without df's block holds only what engines_hosts_top writes (any values,
 * df's comment line among them), or nothing but blank lines: the file is df's own, so --install
 * writes it whole and --uninstall removes it. */
int engines_hosts_is_top(const char *s, size_t n);

/* The containers-registries.conf.d drop-in: the default upstream's host with the mirror in front.
 * Returns the length, or DF_ERR when it does not fit. */
int engines_podman_dropin(const struct engines *e, char *out, size_t cap);

/* The first line of that drop-in, by which --install knows its own file. */
#define ENGINES_DROPIN_HEAD "# df proxy: "

/* Prints the configuration of engine to stdout (and notes to stderr). Returns an exit code. */
int engines_print(const struct engines *e, enum engines_kind kind);

#endif
