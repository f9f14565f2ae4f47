/* Fuzz target: registry authentication's parsers (swarm/regauth.c). The input is tried as a
 * WWW-Authenticate value, a token server's answer and an auth file. A Bearer challenge has a
 * realm; a token is printable ASCII without blanks; credentials are "user:password" without
 * control characters (they go into a header line). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/regauth.h"

#define NTOK 4096
static struct json_tok toks[NTOK];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct regauth_challenge c;
	memset(&c, 0, sizeof c);
	int rc = regauth_challenge_parse((struct slice){s, size}, &c);
	if (rc == DF_OK && (c.scheme == REGAUTH_NONE || (c.scheme == REGAUTH_BEARER && !c.realm[0])))
		abort();
	if (strlen(c.realm) >= sizeof c.realm || strlen(c.scope) >= sizeof c.scope)
		abort();
	char tok[512];
	uint64_t exp = 0;
	const char *why = NULL;
	if (regauth_token_parse(s, size, toks, NTOK, tok, sizeof tok, &exp, &why) == DF_OK) {
		if (!tok[0] || exp == 0)
			abort();
		for (const char *t = tok; *t; t++)
			if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f)
				abort();
	} else if (!why) {
		abort();
	}
	char creds[256];
	why = NULL;
	rc = regauth_file_find(s, size, "reg.io:5000", "team/app", toks, NTOK, creds, sizeof creds, &why);
	if (rc == DF_OK) {
		if (!strchr(creds, ':'))
			abort();
		for (const char *t = creds; *t; t++)
			if ((unsigned char)*t < 0x20 || *t == 0x7f)
				abort();
		char line[1024];
		if (regauth_basic_line(creds, line, sizeof line) == DF_OK && strstr(line, "\r\n") != line + strlen(line) - 2)
			abort();
	} else if (!why) {
		abort();
	}
	return 0;
}
