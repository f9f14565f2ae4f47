/* TLS settings shared by every connection of one side: trust anchors, certificate chains and keys,
 * loaded from PEM files once, before the loop, with errors that name the file and the cause. */
#include <stdio.h>
#include <stdlib.h>

#include "core/df.h"
#include "net/tls_int.h"

struct tls_client_cfg *tls_client_cfg_new(const char *cafile, int insecure, char *err, size_t errlen)
{
	struct tls_client_cfg *cfg = calloc(1, sizeof *cfg);
	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cfg->insecure = insecure;
	if (!insecure && pem_anchors_load(cafile ? cafile : TLS_SYSTEM_CAFILE, &cfg->anchors, err, errlen) < 0) {
		free(cfg);
		return NULL;
	}
	return cfg;
}

/* Loads chain and key, checks they belong together; shared by both sides. */
static int load_identity(const char *cert_path, const char *key_path, struct pem_chain *chain, struct pem_key *key,
			 int *issuer_type, char *err, size_t errlen)
{
	char why[256];
	if (pem_chain_load(cert_path, chain, err, errlen) < 0)
		return DF_ERR;
	if (pem_key_load(key_path, key, err, errlen) < 0)
		goto fail;
	if (pem_key_matches_cert(key, chain->certs[0].data, chain->certs[0].data_len, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s in %s", key_path, why, cert_path);
		goto fail;
	}
	*issuer_type = pem_cert_signer_key_type(chain->certs[0].data, chain->certs[0].data_len);
	return DF_OK;
fail:
	pem_chain_free(chain);
	return DF_ERR;
}

int tls_client_cfg_set_cert(struct tls_client_cfg *cfg, const char *cert_pem_path, const char *key_pem_path, char *err,
			    size_t errlen)
{
	if (cfg->has_cert) {
		pem_chain_free(&cfg->chain);
		cfg->has_cert = 0;
	}
	if (load_identity(cert_pem_path, key_pem_path, &cfg->chain, &cfg->key, &cfg->cert_issuer_key_type, err,
			  errlen) < 0)
		return DF_ERR;
	cfg->has_cert = 1;
	return DF_OK;
}

void tls_client_cfg_free(struct tls_client_cfg *cfg)
{
	if (!cfg)
		return;
	pem_anchors_free(&cfg->anchors);
	pem_chain_free(&cfg->chain);
	free(cfg);
}

struct tls_server_cfg *tls_server_cfg_new(const char *cert_pem_path, const char *key_pem_path, char *err, size_t errlen)
{
	struct tls_server_cfg *cfg = calloc(1, sizeof *cfg);
	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (load_identity(cert_pem_path, key_pem_path, &cfg->chain, &cfg->key, &cfg->cert_issuer_key_type, err,
			  errlen) < 0) {
		free(cfg);
		return NULL;
	}
	return cfg;
}

struct tls_server_cfg *tls_server_cfg_new_key(const unsigned char *key_der, size_t len, char *err, size_t errlen)
{
	struct tls_server_cfg *cfg = calloc(1, sizeof *cfg);
	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	br_skey_decoder_init(&cfg->key.dec);
	br_skey_decoder_push(&cfg->key.dec, key_der, len);
	int e = br_skey_decoder_last_error(&cfg->key.dec);
	cfg->key.type = e ? 0 : br_skey_decoder_key_type(&cfg->key.dec);
	if (cfg->key.type != BR_KEYTYPE_RSA && cfg->key.type != BR_KEYTYPE_EC) {
		snprintf(err, errlen, "cannot decode the private key: %s", e ? tls_strerror(e) : "not RSA or EC");
		tls_server_cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

int tls_server_cfg_require_client_ca(struct tls_server_cfg *cfg, const char *cafile, char *err, size_t errlen)
{
	struct pem_anchors a;
	if (pem_anchors_load(cafile, &a, err, errlen) < 0)
		return DF_ERR;
	pem_anchors_free(&cfg->client_cas);
	cfg->client_cas = a;
	return DF_OK;
}

void tls_server_cfg_free(struct tls_server_cfg *cfg)
{
	if (!cfg)
		return;
	pem_chain_free(&cfg->chain);
	pem_anchors_free(&cfg->client_cas);
	free(cfg);
}
