/* Pure editors of the container engines' files that `df proxy --install` changes: docker's
 * daemon.json (its registry-mirrors), a block df marks as its own in containerd's hosts.toml, and
 * what df reads from containerd's config.toml and containers-registries.conf.
 *
 * How the edits keep the user's content: nothing is re-serialized. The input is checked (JSON
 * fully, TOML line by line), the bytes df adds are spliced in, and removing them takes out exactly
 * what was added, so an install followed by an uninstall gives back the original bytes (tested and
 * fuzzed). No I/O, no malloc: the caller passes the file's bytes and a buffer for the new ones. */
#ifndef DF_CFGEDIT_H
#define DF_CFGEDIT_H

#include <stddef.h>

#define CFGEDIT_MAX (1u << 20) /* larger inputs are refused: these files are a few KiB */

/* The lines that delimit df's block in a TOML file (each on a line of its own). */
#define CFGEDIT_BEGIN_MARK "# df proxy --install: begin"
#define CFGEDIT_BEGIN CFGEDIT_BEGIN_MARK " (df proxy --install ENGINE --uninstall removes this block)"
#define CFGEDIT_END "# df proxy --install: end"

enum cfgedit_rc {
	CFGEDIT_ERR = -1,    /* the input is malformed, too large, or out is too small: *why says which */
	CFGEDIT_SAME = 0,    /* nothing to change (out is not written) */
	CFGEDIT_CHANGED = 1, /* out holds the new content, *outlen bytes (NUL-terminated) */
	CFGEDIT_MANUAL = 2,  /* the mirror is configured there already without df's markers: left alone */
};

/* daemon.json. Adds url at the front of the top-level object's "registry-mirrors" array (the member
 * is created first in the object when absent; blank input becomes a new object), or with remove
 * takes it out (an entry equal to url with or without a trailing '/'), and the member with it when
 * it was its only entry. The input must be one JSON object (RFC 8259, nesting at most 64 deep, no
 * duplicate "registry-mirrors", an array of strings there). Returns enum cfgedit_rc (never MANUAL). */
int cfgedit_json_mirrors(const char *in, size_t n, const char *url, int remove, char *out, size_t cap, size_t *outlen,
			 const char **why);

/* Whether in is one JSON object (blanks around it allowed); its member count in *members.
 * Returns CFGEDIT_SAME when it is, CFGEDIT_ERR with *why otherwise. */
int cfgedit_json_object(const char *in, size_t n, int *members, const char **why);

/* A TOML file (containerd's hosts.toml). Puts block (whole lines starting with CFGEDIT_BEGIN and
 * ending with the CFGEDIT_END line and '\n') before the file's first [host."..."] table, so that
 * containerd, which tries hosts in file order, tries it first; at the end when there is none. A
 * block of df's already there is replaced (SAME when it is identical). When a table whose name is
 * host_table's components ("host" and the mirror URL, as [host."http://127.0.0.1:65001"] names
 * them) exists outside df's block, the file is left alone: CFGEDIT_MANUAL. */
int cfgedit_toml_put(const char *in, size_t n, const char *block, const char *mirror_url, char *out, size_t cap,
		     size_t *outlen, const char **why);

/* Takes df's block out of a TOML file (with the blank line that cfgedit_toml_put added). SAME
 * when there is none. */
int cfgedit_toml_remove(const char *in, size_t n, char *out, size_t cap, size_t *outlen, const char **why);

/* containerd's config.toml: the CRI registry's config_path ([plugins."io.containerd.grpc.v1.cri".registry]
 * of config version 2, [plugins."io.containerd.cri.v1.images".registry] of version 3,
 * [plugins.cri.registry] of version 1, or the same as dotted keys), its first entry when it is a
 * ':'-separated list, into out. Returns 1 when set, 0 when not, -1 when the file does not scan as
 * TOML or the value does not fit. *mirrors is set when the deprecated registry.mirrors tables are
 * used (containerd refuses them together with config_path). */
int cfgedit_containerd_config_path(const char *in, size_t n, char *out, size_t cap, int *mirrors);

/* containers-registries.conf: whether a [[registry]] table's prefix (or, without one, location) is
 * loc. 1 yes, 0 no, -1 when the file does not scan as TOML. */
int cfgedit_registries_has(const char *in, size_t n, const char *loc);

#endif
