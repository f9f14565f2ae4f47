/* Addresses as users write them ([ADDR]:PORT, HOST:PORT, [IPv6]:PORT): one pure parser for listen
 * addresses, supernode lists, df push's hosts and CONNECT targets. */
#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int addr_fail(char *err, size_t errlen, const char *s, const char *why)
{
	snprintf(err, errlen, "%s in '%s'", why, s);
	return DF_ERR;
}

int addr_parse(const char *s, struct addr *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	size_t n = strlen(s);
	const char *port;
	if (n && strspn(s, "0123456789") == n) {
		port = s; /* "8002" alone: every address */
	} else if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb)
			return addr_fail(err, errlen, s, "missing ']'");
		size_t hl = (size_t)(rb - s - 1);
		if (!hl || hl >= sizeof a->host)
			return addr_fail(err, errlen, s, "bad IPv6 address");
		memcpy(a->host, s + 1, hl);
		struct in6_addr tmp;
		if (inet_pton(AF_INET6, a->host, &tmp) != 1)
			return addr_fail(err, errlen, s, "bad IPv6 address");
		a->ipv6 = 1;
		if (rb[1] != ':')
			return addr_fail(err, errlen, s, "missing port");
		port = rb + 2;
	} else {
		const char *c = strrchr(s, ':');
		if (!c)
			return addr_fail(err, errlen, s, "missing port");
		if (memchr(s, ':', (size_t)(c - s)))
			return addr_fail(err, errlen, s, "IPv6 address without brackets");
		size_t hl = (size_t)(c - s);
		if (hl >= sizeof a->host)
			return addr_fail(err, errlen, s, "host name too long");
		for (size_t i = 0; i < hl; i++) {
			char ch = s[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			      ch == '-' || ch == '.' || ch == '_'))
				return addr_fail(err, errlen, s, "bad host name");
		}
		memcpy(a->host, s, hl);
		port = c + 1;
	}
	size_t pl = strlen(port);
	if (!pl)
		return addr_fail(err, errlen, s, "missing port");
	long v = pl <= 5 && strspn(port, "0123456789") == pl ? strtol(port, NULL, 10) : -1;
	if (v < 0 || v > 65535)
		return addr_fail(err, errlen, s, "bad port");
	a->port = (uint16_t)v;
	return DF_OK;
}
