/* The mirror configuration of each container engine for the upstreams df proxy serves: what
 * `--print-config` prints and `--install` writes (cmd/proxy_install.c), generated in one place. */
#include "cmd/proxy_engines.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfgedit.h"
#include "core/df.h"
#include "net/loop.h"

void engines_mirror_addr(const char *listen, char *out, size_t cap)
{
	struct addr a;
	char err[128];
	if (addr_parse(listen, &a, err, sizeof err) != DF_OK) {
		snprintf(out, cap, "%s", listen);
		return;
	}
	if (!a.host[0] || strcmp(a.host, "0.0.0.0") == 0 || strcmp(a.host, "::") == 0)
		snprintf(out, cap, "127.0.0.1:%u", a.port);
	else if (a.ipv6)
		snprintf(out, cap, "[%s]:%u", a.host, a.port);
	else
		snprintf(out, cap, "%s:%u", a.host, a.port);
}

void engines_init(struct engines *e, const struct df_config *c, const struct registry_upstream *ups, int nups)
{
	memset(e, 0, sizeof *e);
	e->ups = ups;
	e->nups = nups;
	engines_mirror_addr(c->proxy_listen, e->mirror, sizeof e->mirror);
	e->insecure = c->common_insecure;
	if (c->common_cacert[0]) {
		/* containerd reads the file itself, from its own working directory: never a relative path */
		char abs[PATH_MAX], cwd[PATH_MAX];
		if (realpath(c->common_cacert, abs))
			snprintf(e->cacert, sizeof e->cacert, "%s", abs);
		else if (c->common_cacert[0] != '/' && getcwd(cwd, sizeof cwd))
			snprintf(e->cacert, sizeof e->cacert, "%s/%s", cwd, c->common_cacert);
		else
			snprintf(e->cacert, sizeof e->cacert, "%s", c->common_cacert);
	}
}

int engines_parse(const char *name, enum engines_kind *kind)
{
	if (strcmp(name, "containerd") == 0)
		*kind = ENGINES_CONTAINERD;
	else if (strcmp(name, "docker") == 0)
		*kind = ENGINES_DOCKER;
	else if (strcmp(name, "podman") == 0 || strcmp(name, "skopeo") == 0 || strcmp(name, "buildah") == 0 ||
		 strcmp(name, "cri-o") == 0 || strcmp(name, "crio") == 0)
		*kind = ENGINES_PODMAN;
	else
		return DF_ERR;
	return DF_OK;
}

static int fits(int n, size_t cap)
{
	return n >= 0 && (size_t)n < cap ? n : DF_ERR;
}

int engines_hosts_block(const struct engines *e, char *out, size_t cap)
{
	return fits(snprintf(out, cap, "%s\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n%s\n",
			     CFGEDIT_BEGIN, e->mirror, CFGEDIT_END),
		    cap);
}

int engines_hosts_top(const struct engines *e, int i, const char *ca, char *out, size_t cap)
{
	const struct registry_upstream *u = &e->ups[i];
	int tls = strncmp(u->url, DF_LIT("https://")) == 0;
	char extra[4200] = "";
	if (tls && e->insecure)
		snprintf(extra, sizeof extra, "skip_verify = true\n");
	else if (tls && ca && ca[0])
		snprintf(extra, sizeof extra, "ca = \"%s\"\n", ca); /* the fallback verifies the upstream with it */
	return fits(
		snprintf(out, cap,
			 "# df proxy: containerd pulls through df proxy first and from `server` (the registry itself)\n"
			 "# df proxy: whenever df proxy refuses, fails or is down. From df proxy "
			 "--print-config/--install.\n"
			 "server = \"%s\"\n%s",
			 u->url, extra),
		cap);
}

int engines_hosts_is_top(const char *s, size_t n)
{
	static const char *const ok[] = {"# df proxy: ", "server = ", "ca = ", "skip_verify = "};
	size_t i = 0;
	int lines = 0, head = 0;
	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n, k;
		if (e > i && !(e == i + 1 && s[i] == '\r')) {
			for (k = 0; k < DF_ARRAY_LEN(ok); k++)
				if (e - i >= strlen(ok[k]) && memcmp(s + i, ok[k], strlen(ok[k])) == 0)
					break;
			if (k == DF_ARRAY_LEN(ok))
				return 0;
			lines++;
			head |= k == 0;
		}
		i = e + 1;
	}
	return !lines || head; /* a bare `server = ` line may be the user's own */
}

int engines_podman_dropin(const struct engines *e, char *out, size_t cap)
{
	char host[300];
	const struct registry_upstream *u = &e->ups[0];
	registry_upstream_image_host(u, host, sizeof host);
	return fits(snprintf(out, cap,
			     ENGINES_DROPIN_HEAD
			     "pulls of %s/... try df proxy first, then the registry itself (podman,\n"
			     "# skopeo, buildah, CRI-O). From df proxy --print-config/--install podman. Only this "
			     "registry's\n"
			     "# table: unqualified-search-registries and the other registries stay as the system sets "
			     "them.\n"
			     "[[registry]]\nlocation = \"%s\"\n%s\n[[registry.mirror]]\nlocation = \"%s\"\ninsecure = "
			     "true\n",
			     host, host, strncmp(u->url, DF_LIT("http://")) == 0 ? "insecure = true\n" : "", e->mirror),
		    cap);
}

int engines_print(const struct engines *e, enum engines_kind kind)
{
	char buf[8192], top[4608], block[1024], host[300];
	if (kind == ENGINES_CONTAINERD) {
		printf("# containerd: one hosts.toml per upstream registry, in the directory named by\n"
		       "#   [plugins.\"io.containerd.grpc.v1.cri\".registry] config_path = \"%s\"\n"
		       "# (ctr: --hosts-dir %s). df proxy --install containerd writes them.\n",
		       ENGINES_CERTS_D, ENGINES_CERTS_D);
		if (engines_hosts_block(e, block, sizeof block) < 0)
			return DF_EXIT_USAGE;
		for (int i = 0; i < e->nups; i++) {
			size_t n;
			const char *why;
			registry_upstream_image_host(&e->ups[i], host, sizeof host);
			if (engines_hosts_top(e, i, e->cacert, top, sizeof top) < 0 ||
			    cfgedit_toml_put(top, strlen(top), block, NULL, buf, sizeof buf, &n, &why) !=
				    CFGEDIT_CHANGED)
				return DF_EXIT_USAGE;
			printf("\n# %s/%s/hosts.toml\n%s", ENGINES_CERTS_D, host, buf);
		}
		return DF_EXIT_OK;
	}
	if (kind == ENGINES_DOCKER) {
		fprintf(stderr,
			"# %s (then reload dockerd: systemctl reload docker). Docker mirrors Docker Hub only, so\n"
			"# the first --registry must be https://registry-1.docker.io; dockerd falls back to Docker\n"
			"# Hub whenever the mirror fails or is down. 127.0.0.0/8 may be plain http.\n",
			ENGINES_DAEMON_JSON);
		printf("{\n  \"registry-mirrors\": [\"http://%s\"]\n}\n", e->mirror);
		return DF_EXIT_OK;
	}
	if (engines_podman_dropin(e, buf, sizeof buf) < 0)
		return DF_EXIT_USAGE;
	printf("# %s/%s (podman, skopeo, buildah, CRI-O). These clients send no ?ns=, so df proxy\n"
	       "# serves them its first --registry only; credentials for an authenticated upstream go in the\n"
	       "# auth file under \"%s\" too.\n%s",
	       ENGINES_DROPIN_DIR, ENGINES_DROPIN, e->mirror, buf);
	return DF_EXIT_OK;
}
