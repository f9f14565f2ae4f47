/* Image references and platforms as the container engines read them: "[REGISTRY/]REPO[:TAG][@DIGEST]"
 * with Docker Hub's shorthand ("alpine" is docker.io/library/alpine:latest, served by
 * registry-1.docker.io), and "OS/ARCH[/VARIANT]" with the engines' names for the same machine.
 * Pure functions, fuzzed by test/fuzz/fuzz_image_ref.c. */
#ifndef DF_SWARM_IMAGE_REF_H
#define DF_SWARM_IMAGE_REF_H

#include <stddef.h>

#include "core/df.h"

struct image_ref {
	char registry[256]; /* host[:port] as images are named, lower case: "docker.io", "127.0.0.1:5000" */
	char api[256];      /* host[:port] the registry API answers at: registry-1.docker.io for docker.io */
	char repo[256];     /* "library/alpine" */
	char tag[129];      /* "latest" when neither a tag nor a digest is given; "" with a digest alone */
	char digest[72];    /* "sha256:HEX" or "" */
};

/* Parses n bytes of s (the engines' grammar; only sha256 digests). DF_OK, or DF_ERR with *why
 * (static text naming the part that is wrong). */
int image_ref_parse(const char *s, size_t n, struct image_ref *out, const char **why);

/* What a manifest request names: the digest when there is one, else the tag. */
const char *image_ref_target(const struct image_ref *r);

/* Whether host[:port] (lower case, as in image_ref.registry) is a loopback address: "localhost",
 * 127.0.0.0/8 or ::1, with any port. Engines reach those over plain http when https is not answered. */
int image_host_loopback(const char *hostport);

struct image_platform {
	char os[32], arch[32], variant[32]; /* normalized: amd64, arm64 (variant "" for v8), arm v7, 386 ... */
};

/* Parses "OS/ARCH[/VARIANT]" (names normalized: x86_64 is amd64, aarch64 arm64, arm defaults to
 * v7). DF_OK, or DF_ERR with *why. */
int image_platform_parse(const char *s, struct image_platform *out, const char **why);

/* The platform of a machine that uname(2) calls machine (x86_64, aarch64, armv7l ...), os linux. */
void image_platform_of_machine(const char *machine, struct image_platform *out);

/* How well a manifest list entry (os, arch, variant as the index says them) fits want: 0 not at
 * all, higher is better (an exact variant beats a missing one). */
int image_platform_score(const struct image_platform *want, const char *os, const char *arch, const char *variant);

/* "os/arch[/variant]" into out. */
void image_platform_format(const struct image_platform *p, char *out, size_t cap);

#endif
