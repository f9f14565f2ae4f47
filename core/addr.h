/* Addresses as users write them: one pure parser (core/addr.c) for listen addresses, supernode
 * lists, df push's hosts and CONNECT targets, so they all take and refuse the same forms. */
#ifndef DF_CORE_ADDR_H
#define DF_CORE_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "core/df.h"

/* A listen or connect address as written by a user: "[ADDR]:PORT", ":PORT" (every address), "PORT",
 * "HOST:PORT", "[::1]:PORT", "1.2.3.4:PORT". host is "" for ":PORT"; IPv6 without brackets. */
struct addr {
	char host[256];
	uint16_t port; /* 0 allowed: the kernel picks a free port */
	int ipv6;      /* the host was bracketed */
};

/* Pure parser of the forms above. DF_ERR with a message in err ("missing port in 'x'") when bad. */
int addr_parse(const char *s, struct addr *a, char *err, size_t errlen);

#endif
