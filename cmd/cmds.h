/* The busybox-style command list: one line per command, each defined in cmd/NAME.c as cmd_NAME.
 * Included by cmd/cmd.h (declarations) and main.c (the dispatch table). */
DF_CMD_DECLARE(get)
DF_CMD_DECLARE(supernode)
DF_CMD_DECLARE(push)
DF_CMD_DECLARE(status)
DF_CMD_DECLARE(config)
DF_CMD_DECLARE(proxy)
DF_CMD_DECLARE(gc)
