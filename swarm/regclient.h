/* A client of one repository's registry API, authenticating the way the container engines do:
 * it pings /v2/, answers a 401's challenge (Basic with the credentials, or Bearer: a token for
 * repository:NAME:pull from the realm, with the credentials when there are any, anonymously
 * otherwise), and asks again once when a later answer is 401. https first; http when https is not
 * answered and the registry is on a loopback address (or plain_http allows it anywhere).
 *
 * Each call runs the loop until its answer is in: for one-shot commands (df push --image), not for
 * daemons. The parsing is swarm/regauth.c's. */
#ifndef DF_SWARM_REGCLIENT_H
#define DF_SWARM_REGCLIENT_H

#include <stddef.h>

#include "net/http_client.h"

struct regclient;

struct regclient_cfg {
	struct ev_loop *loop;
	struct http_client *client; /* with TLS for https ([common] cacert, insecure) */
	const char *api;            /* host[:port] of the registry API */
	const char *repo;           /* the repository (the token's scope) */
	const char *creds;          /* "user:password", or NULL / "" for none */
	int plain_http;             /* http allowed for any host when https is not answered */
	double timeout;             /* per request; 0: the client's */
};

/* A new client (cfg's strings copied). NULL when out of memory. */
struct regclient *regclient_new(const struct regclient_cfg *cfg);
void regclient_free(struct regclient *rc);

struct regclient_resp {
	int status;
	char content_type[128];
	char digest[80]; /* Docker-Content-Digest, or "" */
	char *body;      /* malloc'd, NUL-terminated; the caller frees it */
	size_t len;
};

/* GETs path ("/v2/NAME/manifests/REF") with extra header lines (or NULL), authenticating as
 * needed; a body over max bytes is refused. DF_OK with a 2xx answer in out, or DF_ERR with the
 * cause in err (unreachable, credentials refused or needed, the registry's status and error code). */
int regclient_get(struct regclient *rc, const char *path, const char *extra, size_t max, struct regclient_resp *out,
		  char *err, size_t errlen);

/* The base URL requests go to ("https://host:port"), once a request was answered. */
const char *regclient_base(const struct regclient *rc);
/* The header line that authorizes requests for the repository now ("Authorization: ...\r\n"), or
 * "" when the registry asked for none. */
const char *regclient_auth(const struct regclient *rc);

#endif
