/* Shared vocabulary of every df module: return codes, small macros, the per-process context.
 * Everything here is dependency-free so core/, net/, store/ and cmd/ can all include it. */
#ifndef DF_H
#define DF_H

#include <stddef.h>
#include <stdint.h>

/* One set of return codes for the whole code base; the reason travels in errno or a detail string. */
#define DF_OK 0
#define DF_ERR (-1)
#define DF_AGAIN (-2)

#define DF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DF_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define DF_MIN(a, b) ((a) < (b) ? (a) : (b))
/* A string literal as the two arguments (pointer, length without the NUL) of a call such as
 * memcmp(p, DF_LIT("HTTP/")) or http_reply(req, 404, NULL, DF_LIT("no such task\n")), so no length
 * is counted by hand. The "" on both sides refuse anything but a literal. Only for functions: a
 * function-like macro would see one argument. */
#define DF_LIT(s) ("" s ""), (sizeof(s) - 1)
#define DF_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Exit codes every command documents (`df --help`, README's Use section). */
enum df_exit {
	DF_EXIT_OK = 0,
	DF_EXIT_FAIL = 1,    /* the work failed: network, source, disk */
	DF_EXIT_USAGE = 2,   /* bad flags, bad config */
	DF_EXIT_DIGEST = 3,  /* the data did not match the expected digest */
	DF_EXIT_NOSUPER = 4, /* no supernode reachable and back-to-source refused */
};

struct df_config;
struct cmd_desc;
struct hostrate;

/* The one context of a df process, passed explicitly as the first argument. The loop and the store
 * are opened by the commands that need them; the command layer keeps its own state beside it
 * (struct daemon_ctx in cmd/daemon.h embeds this). */
struct df {
	struct df_config *cfg;
	const char *cmd;             /* command name, for messages: "get" */
	struct ev_loop *loop;        /* NULL until a command starts one */
	struct store *store;         /* NULL until a command opens one */
	struct hostrate *rates;      /* the host's shared rate caps (STORE/rates), opened with the store */
	const struct cmd_desc *desc; /* the command and its arguments, to parse them again on reload */
	int argc;
	char **argv;
};

#endif
