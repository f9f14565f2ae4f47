/* `df proxy --install ENGINE`: writes the mirror configuration of containerd, docker or podman/CRI-O
 * into the files those engines read (or, with uninstall, takes it out again), keeping the user's
 * content, a backup and idempotence. */
#ifndef DF_CMD_PROXY_INSTALL_H
#define DF_CMD_PROXY_INSTALL_H

#include "cmd/proxy_engines.h"

/* Installs (uninstall: removes) engine kind's configuration for e's upstreams in the files below
 * root ("" or "/": the system's own; else a directory that stands for / , e.g. a node's root
 * mounted in a container). dry_run: only say what would change. Prints each file it wrote,
 * changed, left or removed and what must be restarted. Returns an exit code: 0, 1 when a file
 * could not be read, parsed or written (the others are still done), 2 for a usage error. */
int proxy_install(const struct engines *e, enum engines_kind kind, const char *root, int uninstall, int dry_run);

#endif
