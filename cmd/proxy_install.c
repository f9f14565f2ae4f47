/* `df proxy --install ENGINE [--uninstall] [--dry-run] [--root DIR]`: the engines' files, edited
 * with care for what the user has in them.
 *
 * How a file is changed: read whole (at most 1 MiB), edited by the pure functions of core/cfgedit
 * (the user's bytes are kept; df's own part is marked or recognisable), written to a temporary file
 * beside it with the original's mode and owner, fsynced and renamed over it, so a crash leaves the
 * old file or the new one. The first change of a file df did not create keeps FILE.df-backup (never
 * overwritten). Running it twice changes nothing; --uninstall takes out exactly what it added and
 * drops the backup when the file is back to it. */
#include "cmd/cmd.h"
#include "cmd/proxy_install.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cfgedit.h"
#include "core/df.h"

#define BUF (CFGEDIT_MAX + 65536)
#define BACKUP ".df-backup"

struct inst {
	const struct engines *e;
	char root[PATH_MAX]; /* without a trailing '/'; "" for the system's own files */
	int uninstall, dry;
	int rc;          /* DF_EXIT_FAIL once a file could not be handled */
	int changed;     /* files written or removed (or that would be) */
	char *a, *b, *c; /* buffers of BUF bytes: a file, its new content, a third (a backup) */
};

/* A path into out; -1 (errno ENAMETOOLONG) when it does not fit. */
static int pathf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static void failed(struct inst *in, const char *fmt, const char *path, const char *why)
{
	fprintf(stderr, "df: proxy: ");
	fprintf(stderr, fmt, path, why);
	fprintf(stderr, "\n");
	in->rc = DF_EXIT_FAIL;
}

/* path below the root */
static void at(const struct inst *in, const char *path, char *out, size_t cap)
{
	pathf(out, cap, "%s%s", in->root, path);
}

/* 1 read into buf (n bytes, NUL-terminated), 0 absent, -1 error (errno; too large: EFBIG) */
static int read_all(const char *path, char *buf, size_t cap, size_t *n)
{
	*n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (errno == 0 || S_ISDIR(st.st_mode))
			errno = EISDIR;
		close(fd);
		return -1;
	}
	for (;;) {
		if (*n + 1 >= cap) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		ssize_t r = read(fd, buf + *n, cap - 1 - *n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		*n += (size_t)r;
	}
	close(fd);
	buf[*n] = 0;
	return *n > CFGEDIT_MAX ? (errno = EFBIG, -1) : 1;
}

static int mkdirs(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s", dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Writes data as path: a temporary file beside it (the mode and owner of like, else 0644), fsync,
 * rename, fsync of the directory. */
static int write_atomic(const char *path, const char *data, size_t n, const struct stat *like)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	pathf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if (slash && dir[0] && mkdirs(dir) != 0)
		return -1;
	pathf(tmp, sizeof tmp, "%s.df-tmp.%ld", path, (long)getpid());
	mode_t mode = like ? like->st_mode & 07777 : 0644;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	int ok = fchmod(fd, mode) == 0; /* past the umask */
	if (ok && like && geteuid() == 0 && fchown(fd, like->st_uid, like->st_gid) != 0)
		ok = 0;
	for (size_t off = 0; ok && off < n;) {
		ssize_t w = write(fd, data + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			ok = 0;
		else
			off += (size_t)w;
	}
	int e = errno;
	if (!ok || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		e = errno;
		if (ok)
			fd = -1;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	int dfd = open(slash && dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Puts the new content of path in place (or, dry, shows it). how: "new", "changed"... */
static int put_file(struct inst *in, const char *path, const char *data, size_t n, const struct stat *like,
		    const char *how)
{
	in->changed++;
	if (in->dry) {
		printf("would write %s (%s):\n", path, how);
		fwrite(data, 1, n, stdout);
		if (n && data[n - 1] != '\n')
			putchar('\n');
		return 0;
	}
	if (write_atomic(path, data, n, like) != 0) {
		failed(in, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	printf("wrote %s (%s)\n", path, how);
	return 0;
}

static int remove_file(struct inst *in, const char *path, const char *how)
{
	in->changed++;
	if (in->dry) {
		printf("would remove %s (%s)\n", path, how);
		return 0;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		failed(in, "cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	printf("removed %s (%s)\n", path, how);
	return 0;
}

/* Before df first changes a file it did not write: FILE.df-backup with the original, never
 * replaced afterwards (it is the state before df). */
static int backup_once(struct inst *in, const char *path, const char *data, size_t n, const struct stat *st)
{
	char bk[PATH_MAX];
	pathf(bk, sizeof bk, "%s" BACKUP, path);
	if (access(bk, F_OK) == 0)
		return 0;
	if (in->dry) {
		printf("would keep the original as %s\n", bk);
		return 0;
	}
	if (write_atomic(bk, data, n, st) != 0) {
		failed(in, "cannot write the backup %s: %s", bk, strerror(errno));
		return -1;
	}
	printf("kept the original as %s\n", bk);
	return 0;
}

/* After an uninstall wrote data as path: the backup goes when the file is back to it. */
static void drop_backup_if_same(struct inst *in, const char *path, const char *data, size_t n)
{
	char bk[PATH_MAX];
	size_t bn;
	pathf(bk, sizeof bk, "%s" BACKUP, path);
	int r = read_all(bk, in->c, BUF, &bn);
	if (r == 1 && bn == n && memcmp(in->c, data, n) == 0)
		remove_file(in, bk, "the file is back to it");
	else if (r == 1)
		printf("kept %s: the file changed since df's install\n", bk);
}

/* ---- containerd ---- */

/* The config file of a running containerd (its -c/--config), when one runs; else "". */
static void running_containerd_config(char *out, size_t cap, long *pid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	out[0] = 0;
	*pid = 0;
	if (!d)
		return;
	while (!out[0] && (de = readdir(d))) {
		char p[300], comm[64], cmd[4096];
		size_t n;
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof p, "/proc/%s/comm", de->d_name);
		if (read_all(p, comm, sizeof comm, &n) != 1 || strcmp(comm, "containerd\n") != 0)
			continue;
		snprintf(p, sizeof p, "/proc/%s/cmdline", de->d_name);
		if (read_all(p, cmd, sizeof cmd, &n) != 1)
			continue;
		*pid = strtol(de->d_name, NULL, 10);
		for (size_t i = 0; i < n; i += strlen(cmd + i) + 1) {
			const char *a = cmd + i, *next = i + strlen(a) + 1 < n ? a + strlen(a) + 1 : NULL;
			if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && next && next[0] == '/')
				snprintf(out, cap, "%s", next);
			else if (strncmp(a, DF_LIT("--config=")) == 0 && a[9] == '/')
				snprintf(out, cap, "%s", a + 9);
		}
		if (!out[0])
			snprintf(out, cap, "%s", ENGINES_CONTAINERD_CONFIG); /* its default */
	}
	closedir(d);
}

/* The hosts directory (below the root) containerd reads, and what the user must know about it. */
static void containerd_hosts_dir(struct inst *in, char *dir, size_t cap)
{
	char conf[PATH_MAX], path[PATH_MAX], cp[PATH_MAX];
	long pid = 0;
	size_t n;
	int mirrors = 0, found = 0;
	conf[0] = 0;
	if (!in->root[0])
		running_containerd_config(conf, sizeof conf, &pid);
	if (!conf[0])
		snprintf(conf, sizeof conf, "%s", ENGINES_CONTAINERD_CONFIG);
	at(in, conf, path, sizeof path);
	int r = read_all(path, in->a, BUF, &n);
	if (r == 1) {
		found = cfgedit_containerd_config_path(in->a, n, cp, sizeof cp, &mirrors);
		if (found < 0)
			printf("note: %s does not scan as TOML; using containerd's default %s\n", path,
			       ENGINES_CERTS_D);
	} else if (r < 0) {
		printf("note: cannot read %s (%s); using containerd's default %s\n", path, strerror(errno),
		       ENGINES_CERTS_D);
	}
	if (found == 1 && cp[0] == '/') {
		at(in, cp, dir, cap);
		if (pid)
			printf("containerd (pid %ld) reads %s: config_path %s\n", pid, path, cp);
		else
			printf("containerd reads %s: config_path %s\n", path, cp);
	} else {
		at(in, ENGINES_CERTS_D, dir, cap);
		if (!in->uninstall)
			printf("note: %s sets no config_path. containerd 2 (config version 3) reads %s by default;\n"
			       "  containerd 1's CRI (kubelet's pulls) only with\n"
			       "    [plugins.\"io.containerd.grpc.v1.cri\".registry]\n      config_path = \"%s\"\n"
			       "  in its config: add it and restart containerd.\n",
			       path, ENGINES_CERTS_D, ENGINES_CERTS_D);
	}
	if (mirrors)
		printf("warning: %s configures registry.mirrors, which containerd refuses together with config_path:\n"
		       "  move those mirrors into hosts.toml files\n",
		       path);
}

/* The upstream's CA beside the hosts.toml, for the `ca` of df's own file. */
static int put_ca(struct inst *in, const char *hostdir)
{
	char path[PATH_MAX];
	size_t n, m;
	pathf(path, sizeof path, "%s/" ENGINES_CA_FILE, hostdir);
	if (read_all(in->e->cacert, in->b, BUF, &n) != 1) {
		failed(in, "cannot read --cacert %s: %s", in->e->cacert, strerror(errno));
		return -1;
	}
	int r = read_all(path, in->c, BUF, &m);
	if (r == 1 && m == n && memcmp(in->b, in->c, n) == 0)
		return 0;
	return put_file(in, path, in->b, n, NULL, r == 1 ? "changed: the upstream's CA" : "new: the upstream's CA");
}

static void containerd_install_one(struct inst *in, const char *dir, int i, const char *block)
{
	char host[300], hostdir[PATH_MAX], path[PATH_MAX], top[8192];
	const struct engines *e = in->e;
	size_t n, m;
	const char *why;
	struct stat st;
	registry_upstream_image_host(&e->ups[i], host, sizeof host);
	pathf(hostdir, sizeof hostdir, "%s/%s", dir, host);
	pathf(path, sizeof path, "%s/hosts.toml", hostdir);
	int r = read_all(path, in->a, BUF, &n);
	if (r < 0) {
		failed(in, "cannot read %s: %s", path, strerror(errno));
		return;
	}
	int tls_ca = strncmp(e->ups[i].url, DF_LIT("https://")) == 0 && e->cacert[0] && !e->insecure;
	/* df's own file (absent, or only what df writes): written whole, with server and ca */
	int own = r == 0;
	int rr = r == 1 ? cfgedit_toml_remove(in->a, n, in->b, BUF, &m, &why) : CFGEDIT_ERR;
	if (rr == CFGEDIT_CHANGED)
		own = engines_hosts_is_top(in->b, m);
	else if (rr == CFGEDIT_SAME)
		own = engines_hosts_is_top(in->a, n);
	if (own) {
		if (tls_ca && put_ca(in, hostdir) != 0) /* first: it uses in->b */
			return;
		if (engines_hosts_top(e, i, tls_ca ? ENGINES_CA_FILE : NULL, top, sizeof top) < 0 ||
		    cfgedit_toml_put(top, strlen(top), block, NULL, in->b, BUF, &m, &why) != CFGEDIT_CHANGED) {
			failed(in, "%s: %s", path, "the configuration does not fit");
			return;
		}
		if (r == 1 && m == n && memcmp(in->a, in->b, n) == 0)
			printf("unchanged %s\n", path);
		else
			put_file(in, path, in->b, m, r == 1 && stat(path, &st) == 0 ? &st : NULL,
				 r == 1 ? "changed" : "new");
		return;
	}
	char url[320];
	snprintf(url, sizeof url, "http://%s", e->mirror);
	int rc = cfgedit_toml_put(in->a, n, block, url, in->b, BUF, &m, &why);
	if (rc == CFGEDIT_ERR) {
		failed(in, "%s: %s: left as it is", path, why);
	} else if (rc == CFGEDIT_SAME) {
		printf("unchanged %s\n", path);
	} else if (rc == CFGEDIT_MANUAL) {
		printf("left %s: it names df proxy (%s) already, without df's markers\n", path, url);
	} else if (stat(path, &st) == 0 && backup_once(in, path, in->a, n, &st) == 0) {
		put_file(in, path, in->b, m, &st, "changed: df proxy first, the file's hosts after it");
		if (tls_ca)
			printf("note: %s is your own: df left its server and ca as they are\n", path);
	}
}

static void containerd_uninstall_one(struct inst *in, const char *hostdir)
{
	char path[PATH_MAX], ca[PATH_MAX];
	size_t n, m;
	const char *why;
	pathf(path, sizeof path, "%s/hosts.toml", hostdir);
	int r = read_all(path, in->a, BUF, &n);
	if (r <= 0) {
		if (r < 0 && errno != ENOTDIR)
			failed(in, "cannot read %s: %s", path, strerror(errno));
		return;
	}
	int rc = cfgedit_toml_remove(in->a, n, in->b, BUF, &m, &why);
	if (rc == CFGEDIT_ERR) {
		failed(in, "%s: %s: left as it is", path, why);
		return;
	}
	if (rc == CFGEDIT_SAME)
		return; /* not df's */
	if (engines_hosts_is_top(in->b, m)) {
		pathf(ca, sizeof ca, "%s/" ENGINES_CA_FILE, hostdir);
		if (remove_file(in, path, "df's own") == 0 && access(ca, F_OK) == 0)
			remove_file(in, ca, "df's copy of the upstream's CA");
		if (!in->dry)
			rmdir(hostdir); /* only when empty */
		return;
	}
	struct stat st;
	if (stat(path, &st) == 0 && put_file(in, path, in->b, m, &st, "df's block taken out") == 0 && !in->dry)
		drop_backup_if_same(in, path, in->b, m);
}

static void containerd(struct inst *in)
{
	char dir[PATH_MAX], block[1024];
	containerd_hosts_dir(in, dir, sizeof dir);
	if (in->uninstall) {
		/* every host directory: the upstreams may have changed since the install */
		DIR *d = opendir(dir);
		struct dirent *de;
		if (!d) {
			if (errno != ENOENT)
				failed(in, "cannot read %s: %s", dir, strerror(errno));
			return;
		}
		while ((de = readdir(d))) {
			char hostdir[PATH_MAX];
			if (de->d_name[0] == '.')
				continue;
			pathf(hostdir, sizeof hostdir, "%s/%s", dir, de->d_name);
			containerd_uninstall_one(in, hostdir);
		}
		closedir(d);
		return;
	}
	if (engines_hosts_block(in->e, block, sizeof block) < 0) {
		failed(in, "%s: %s", "hosts.toml", "the mirror address is too long");
		return;
	}
	for (int i = 0; i < in->e->nups; i++)
		containerd_install_one(in, dir, i, block);
	printf("ctr: --hosts-dir %s\n", dir);
}

/* ---- docker ---- */

static void docker(struct inst *in)
{
	char path[PATH_MAX], url[320];
	const struct engines *e = in->e;
	size_t n, m;
	const char *why;
	struct stat st;
	at(in, ENGINES_DAEMON_JSON, path, sizeof path);
	snprintf(url, sizeof url, "http://%s", e->mirror);
	int r = read_all(path, in->a, BUF, &n);
	if (r < 0) {
		failed(in, "cannot read %s: %s", path, strerror(errno));
		return;
	}
	int rc = cfgedit_json_mirrors(in->a, n, url, in->uninstall, in->b, BUF, &m, &why);
	if (rc == CFGEDIT_ERR) {
		failed(in, "%s: %s: left as it is", path, why);
		return;
	}
	if (rc == CFGEDIT_SAME) {
		if (r == 1)
			printf("unchanged %s\n", path);
		return;
	}
	char bk[PATH_MAX];
	pathf(bk, sizeof bk, "%s" BACKUP, path);
	int members = 1;
	if (in->uninstall && access(bk, F_OK) != 0 && cfgedit_json_object(in->b, m, &members, &why) == CFGEDIT_SAME &&
	    members == 0) {
		remove_file(in, path, "df had written it");
	} else if (r == 0) {
		put_file(in, path, in->b, m, NULL, "new");
	} else if (stat(path, &st) == 0 && (in->uninstall || backup_once(in, path, in->a, n, &st) == 0) &&
		   put_file(in, path, in->b, m, &st,
			    in->uninstall ? "df proxy's mirror taken out"
					  : "changed: df proxy first in registry-mirrors") == 0 &&
		   in->uninstall && !in->dry) {
		drop_backup_if_same(in, path, in->b, m);
	}
}

/* ---- podman, skopeo, buildah, CRI-O ---- */

/* Other registries.conf files with a table for the same registry: ours replaces one read before it
 * (the drop-ins are read in name order after the main file) and is replaced by one read after. */
static void podman_conflicts(struct inst *in, const char *host)
{
	char path[PATH_MAX], dir[PATH_MAX];
	size_t n;
	at(in, ENGINES_REGISTRIES_CONF, path, sizeof path);
	if (read_all(path, in->a, BUF, &n) == 1 && cfgedit_registries_has(in->a, n, host) == 1)
		printf("note: %s has a [[registry]] table for %s: while df's drop-in is there, it replaces that table\n"
		       "  (its mirrors and settings)\n",
		       path, host);
	at(in, ENGINES_DROPIN_DIR, dir, sizeof dir);
	struct dirent **list;
	int k = scandir(dir, &list, NULL, alphasort);
	for (int j = 0; j < k; j++) {
		const char *name = list[j]->d_name;
		size_t l = strlen(name);
		if (strcmp(name, ENGINES_DROPIN) != 0 && l > 5 && strcmp(name + l - 5, ".conf") == 0) {
			pathf(path, sizeof path, "%s/%s", dir, name);
			if (read_all(path, in->a, BUF, &n) == 1 && cfgedit_registries_has(in->a, n, host) == 1)
				printf(strcmp(name, ENGINES_DROPIN) > 0
					       ? "warning: %s, read after df's drop-in, has its own table for %s: df "
						 "proxy is not used for it\n"
					       : "note: %s has a [[registry]] table for %s: df's drop-in, read after "
						 "it, replaces it\n",
				       path, host);
		}
		free(list[j]);
	}
	if (k >= 0)
		free(list);
}

static void podman(struct inst *in)
{
	char path[PATH_MAX], bk[PATH_MAX], host[300];
	size_t n, m;
	struct stat st;
	at(in, ENGINES_DROPIN_DIR "/" ENGINES_DROPIN, path, sizeof path);
	pathf(bk, sizeof bk, "%s" BACKUP, path);
	registry_upstream_image_host(&in->e->ups[0], host, sizeof host);
	if (!in->uninstall)
		podman_conflicts(in, host); /* first: it reads into in->a */
	int r = read_all(path, in->a, BUF, &n);
	if (r < 0) {
		failed(in, "cannot read %s: %s", path, strerror(errno));
		return;
	}
	int own = r == 1 && strncmp(in->a, ENGINES_DROPIN_HEAD, strlen(ENGINES_DROPIN_HEAD)) == 0;
	if (in->uninstall) {
		if (!own)
			return;
		if (access(bk, F_OK) == 0) { /* a file of that name was there before df's */
			in->changed++;
			if (in->dry) {
				printf("would restore %s from %s\n", path, bk);
			} else if (rename(bk, path) != 0) {
				failed(in, "cannot restore %s: %s", path, strerror(errno));
			} else {
				printf("restored %s from %s\n", path, bk);
			}
		} else {
			remove_file(in, path, "df's drop-in");
		}
	} else {
		int len = engines_podman_dropin(in->e, in->b, BUF);
		if (len < 0) {
			failed(in, "%s: %s", path, "the configuration does not fit");
			return;
		}
		m = (size_t)len;
		if (r == 1 && m == n && memcmp(in->a, in->b, n) == 0)
			printf("unchanged %s\n", path);
		else if (r == 0 || own)
			put_file(in, path, in->b, m, NULL, r ? "changed" : "new");
		else if (stat(path, &st) == 0 && backup_once(in, path, in->a, n, &st) == 0)
			put_file(in, path, in->b, m, &st, "replaced: it was not df's");
	}
}

int proxy_install(const struct engines *e, enum engines_kind kind, const char *root, int uninstall, int dry_run)
{
	char host[300];
	if (kind == ENGINES_DOCKER && !uninstall) {
		registry_upstream_image_host(&e->ups[0], host, sizeof host);
		if (strcmp(host, "docker.io") != 0) {
			return cmd_usage(
				"proxy",
				"--install docker: docker mirrors Docker Hub only, and df proxy serves docker "
				"its first upstream, %s: make https://registry-1.docker.io the first --registry",
				e->ups[0].url);
		}
	}
	struct inst in = {.e = e, .uninstall = uninstall, .dry = dry_run, .rc = DF_EXIT_OK};
	if (root && root[0]) {
		if (root[0] != '/' && !realpath(root, in.root)) {
			return cmd_usage("proxy", "--root %s: %s", root, strerror(errno));
		}
		if (root[0] == '/')
			snprintf(in.root, sizeof in.root, "%s", root);
		size_t l = strlen(in.root);
		while (l && in.root[l - 1] == '/')
			in.root[--l] = 0;
	}
	in.a = malloc(BUF);
	in.b = malloc(BUF);
	in.c = malloc(BUF);
	if (!in.a || !in.b || !in.c) {
		fprintf(stderr, "df: proxy: out of memory\n");
		in.rc = DF_EXIT_FAIL;
	} else if (kind == ENGINES_CONTAINERD) {
		containerd(&in);
	} else if (kind == ENGINES_DOCKER) {
		docker(&in);
	} else {
		podman(&in);
	}
	static const char *const restart[] = {
		[ENGINES_CONTAINERD] = "nothing: containerd reads hosts.toml at every pull",
		[ENGINES_DOCKER] = "reload dockerd: systemctl reload docker (SIGHUP reloads registry-mirrors)",
		[ENGINES_PODMAN] =
			"nothing for podman, skopeo and buildah (read at every command); CRI-O: systemctl reload crio",
	};
	if (in.changed)
		printf("%s: %s\n", in.dry ? "then restart" : "restart", restart[kind]);
	else if (in.rc == DF_EXIT_OK)
		printf("nothing to change\n");
	free(in.a);
	free(in.b);
	free(in.c);
	fflush(stdout);
	return in.rc;
}
