/* TLS interception for named hosts (--mitm-host): a CONNECT to such a host gets its 200, then df ends
 * the client's TLS itself with a leaf certificate minted for the host from the user's CA, and serves
 * the https requests inside like absolute-form proxy requests (rules: P2P or forwarded over TLS).
 *
 * How it works. The CONNECT's socket is detached from the front server, answered, wrapped in a TLS
 * server transport presenting the host's leaf, and adopted by an inner HTTP server that has no
 * listener; each adopted connection carries its origin ("https://host:port"), which makes the URL of
 * every request read on it. Leaves share one P-256 key made at start and are minted once per host
 * into a small LRU cache; a connection copies its leaf, so an evicted entry is never in use. */
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "net/tls.h"
#include "net/x509_mint.h"
#include "swarm/httpproxy_int.h"

#define LEAF_CACHE 64
#define LEAF_DAYS 30      /* validity of a minted leaf */
#define LEAF_REMINT 86400 /* mint again when less than this is left */
#define EARLY_MAX 4096    /* bytes a client may send after CONNECT before it hears the 200 */

struct leaf {
	char host[X509_MINT_HOST_MAX + 1]; /* "" : free slot */
	int64_t expires;
	uint64_t used; /* LRU clock */
	size_t len;
	unsigned char *der;
};

struct httpproxy_mitm {
	struct httpproxy *hp;
	regex_t *rx;
	int nrx;
	struct x509_mint_ca ca;
	struct x509_mint_key key;
	struct tls_server_cfg *tls; /* the leaf key; each connection brings its leaf */
	struct http_server *srv;    /* no listener: serves the adopted TLS connections */
	struct leaf cache[LEAF_CACHE];
	uint64_t clock;
};

/* One intercepted connection, owned by the inner server (freed by conn_closed). */
struct mitm_conn {
	char origin[300];
};

static void conn_closed(void *ctx)
{
	free(ctx);
}

const char *httpproxy_mitm_origin(struct http_req *req)
{
	struct mitm_conn *mc = http_req_conn_ctx(req);
	return mc ? mc->origin : NULL;
}

int httpproxy_mitm_match(const struct httpproxy_mitm *m, const char *host)
{
	for (int i = 0; m && i < m->nrx; i++)
		if (regexec(&m->rx[i], host, 0, NULL, 0) == 0)
			return 1;
	return 0;
}

/* The cached leaf of host, minted now when absent or about to expire; NULL with why set. */
static const struct leaf *leaf_get(struct httpproxy_mitm *m, const char *host, const char **why)
{
	int64_t now = (int64_t)time(NULL);
	struct leaf *l = NULL, *lru = &m->cache[0];
	for (int i = 0; i < LEAF_CACHE && !l; i++) {
		if (strcmp(m->cache[i].host, host) == 0)
			l = &m->cache[i];
		else if (m->cache[i].used < lru->used)
			lru = &m->cache[i];
	}
	if (l && l->expires - now > LEAF_REMINT) {
		l->used = ++m->clock;
		return l;
	}
	if (!l)
		l = lru;
	unsigned char serial[16], der[X509_MINT_CERT_MAX];
	if (getrandom(serial, sizeof serial, GRND_NONBLOCK) != (ssize_t)sizeof serial) {
		*why = "no randomness for a serial number";
		return NULL;
	}
	struct x509_mint_req rq = {
		.host = host, .serial = serial, .not_before = now - 3600, .not_after = now + LEAF_DAYS * 86400};
	ssize_t n = x509_mint_leaf(&m->ca, &m->key.pk, &rq, der, sizeof der, why);
	if (n < 0)
		return NULL;
	unsigned char *copy = malloc((size_t)n);
	if (!copy) {
		*why = "out of memory";
		return NULL;
	}
	memcpy(copy, der, (size_t)n);
	free(l->der);
	l->der = copy;
	l->len = (size_t)n;
	l->expires = now + LEAF_DAYS * 86400;
	snprintf(l->host, sizeof l->host, "%s", host);
	l->used = ++m->clock;
	m->hp->st.mitm_minted++;
	log_info("mitm: minted a certificate for %s (%zu bytes)", host, l->len);
	return l;
}

int httpproxy_mitm_start(struct httpproxy_mitm *m, struct http_req *req, const char *host, int ipv6, uint16_t port)
{
	const char *why = NULL;
	const struct leaf *l = leaf_get(m, host, &why);
	if (!l) {
		log_info("mitm: CONNECT %s: no certificate (%s): tunneled untouched", host, why);
		return DF_ERR;
	}
	struct mitm_conn *mc = malloc(sizeof *mc);
	if (!mc) {
		m->hp->st.mitm_failed++;
		http_reply(req, 503, NULL, DF_LIT("df proxy: out of memory\n"));
		return DF_OK;
	}
	if (port == 443)
		snprintf(mc->origin, sizeof mc->origin, ipv6 ? "https://[%s]" : "https://%s", host);
	else
		snprintf(mc->origin, sizeof mc->origin, ipv6 ? "https://[%s]:%u" : "https://%s:%u", host, port);
	struct sockaddr_storage peer;
	const struct sockaddr *pa = http_req_peer(req);
	memcpy(&peer, pa, pa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	unsigned char early[EARLY_MAX];
	size_t got = 0;
	int fd;
	if (http_req_detach(req, &fd, (char *)early, sizeof early, &got) != DF_OK) {
		free(mc);
		m->hp->st.mitm_failed++;
		http_reply(req, 400, "Content-Type: text/plain\r\n",
			   DF_LIT("df proxy: CONNECT cannot be intercepted here\n"));
		return DF_OK;
	}
	/* The 200 goes out before the TLS session starts. A fresh connection's socket buffer takes these
	 * bytes at once; a client that left it full of unread replies is dropped rather than waited for. */
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	ssize_t w = send(fd, ok, sizeof ok - 1, MSG_NOSIGNAL);
	struct transport *t =
		w == (ssize_t)sizeof ok - 1 ? tls_server_new_leaf(m->tls, fd, l->der, l->len, early, got) : NULL;
	if (!t) {
		log_info("mitm: CONNECT %s: %s", mc->origin,
			 w != (ssize_t)sizeof ok - 1 ? "the client does not read" : "out of memory");
		close(fd);
		free(mc);
		m->hp->st.mitm_failed++;
		return DF_OK;
	}
	if (http_server_adopt(m->srv, t, (const struct sockaddr *)&peer, conn_closed, mc) != DF_OK) {
		free(mc);
		m->hp->st.mitm_failed++;
		return DF_OK;
	}
	m->hp->st.mitm_tunnels++;
	return DF_OK;
}

/* A request read inside an intercepted tunnel: origin-form, for the tunnel's origin. */
static void handle(struct http_req *req, void *ctx)
{
	struct httpproxy_mitm *m = ctx;
	const struct http_head *h = http_req_head(req);
	m->hp->st.mitm_requests++;
	if (!h->target.n || h->target.p[0] != '/') {
		static const char msg[] = "df proxy: requests inside an intercepted tunnel name a path (origin-form)\n";
		http_reply(req, 400, "Content-Type: text/plain\r\n", msg, sizeof msg - 1);
		return;
	}
	httpproxy_forward(m->hp, req);
}

struct httpproxy_mitm *httpproxy_mitm_new(struct httpproxy *hp, char *err, size_t errlen)
{
	const struct httpproxy_cfg *cfg = &hp->cfg;
	struct httpproxy_mitm *m = calloc(1, sizeof *m);
	unsigned char seed[32], kder[200];
	if (!m || !(m->rx = calloc((size_t)cfg->nmitm, sizeof *m->rx))) {
		snprintf(err, errlen, "http proxy: out of memory");
		free(m);
		return NULL;
	}
	m->hp = hp;
	for (int i = 0; i < cfg->nmitm; i++) {
		/* the whole host name: "example.com" must not take "example.com.evil.net" */
		char anchored[1024];
		snprintf(anchored, sizeof anchored, "^(%s)$", cfg->mitm_hosts[i]);
		int rc = regcomp(&m->rx[i], anchored, REG_EXTENDED | REG_NOSUB | REG_ICASE);
		if (rc != 0) {
			char why[256];
			regerror(rc, &m->rx[i], why, sizeof why);
			snprintf(err, errlen, "--mitm-host '%s': %s", cfg->mitm_hosts[i], why);
			goto fail;
		}
		m->nrx++;
	}
	if (!cfg->ca_cert || !cfg->ca_cert[0] || !cfg->ca_key || !cfg->ca_key[0]) {
		snprintf(err, errlen,
			 "--mitm-host needs --ca-cert and --ca-key (the CA that signs the certificates df shows)");
		goto fail;
	}
	if (x509_mint_ca_load(&m->ca, cfg->ca_cert, cfg->ca_key, err, errlen) != DF_OK)
		goto fail;
	size_t kn = 0;
	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed ||
	    x509_mint_keygen(&m->key, seed, sizeof seed) != DF_OK ||
	    !(kn = x509_mint_key_der(&m->key, kder, sizeof kder))) {
		snprintf(err, errlen, "mitm: cannot make the certificates' key: %s", strerror(errno ? errno : EIO));
		goto fail;
	}
	m->tls = tls_server_cfg_new_key(kder, kn, err, errlen);
	struct http_server_cfg scfg = {.name = NULL};
	if (!m->tls || !(m->srv = http_server_new(cfg->loop, &scfg)) ||
	    http_server_route(m->srv, NULL, "", handle, m) != DF_OK) {
		if (m->tls)
			snprintf(err, errlen, "http proxy: out of memory");
		goto fail;
	}
	explicit_bzero(seed, sizeof seed);
	explicit_bzero(kder, sizeof kder);
	return m;
fail:
	explicit_bzero(seed, sizeof seed);
	explicit_bzero(kder, sizeof kder);
	httpproxy_mitm_free(m);
	return NULL;
}

void httpproxy_mitm_free(struct httpproxy_mitm *m)
{
	if (!m)
		return;
	if (m->srv)
		http_server_free(m->srv); /* closes the connections first: they use tls and nothing else here */
	tls_server_cfg_free(m->tls);
	for (int i = 0; i < LEAF_CACHE; i++)
		free(m->cache[i].der);
	for (int i = 0; i < m->nrx; i++)
		regfree(&m->rx[i]);
	free(m->rx);
	explicit_bzero(&m->key, sizeof m->key);
	explicit_bzero(&m->ca, sizeof m->ca);
	free(m);
}
