/* The cluster token on df's own HTTP links: requests carry "X-DF-Token: TOKEN"; servers compare it
 * in constant time. An empty configured token means open mode (labs). */
#ifndef DF_SWARM_AUTH_H
#define DF_SWARM_AUTH_H

#include "core/config.h"
#include "net/http_server.h"

/* Room for the header line auth_header writes with the longest token df accepts (and the NUL). */
#define AUTH_HEADER_MAX (sizeof "X-DF-Token: \r\n" + CONFIG_TOKEN_MAX)

/* 1 when req may proceed: no token configured, or the request carries the right one. Otherwise
 * answers 401 itself (and logs the client), returns 0. */
int auth_check(struct http_req *req, const char *token);

/* 1 when got equals want, compared in constant time (for want's length): tokens, peer secrets. */
int auth_same(struct slice got, const char *want);

/* The header line to add to outgoing requests ("X-DF-Token: T\r\n"), or "" in open mode, into buf
 * (AUTH_HEADER_MAX bytes hold any token the configuration accepts). */
const char *auth_header(const char *token, char *buf, size_t cap);

#endif
