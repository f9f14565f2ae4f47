/* What minting needs besides the encoder: the user's CA (certificate and key from PEM files, checked
 * once before the loop) and the one P-256 key pair every minted leaf certifies. */
#include <stdio.h>
#include <string.h>

#include "core/df.h"
#include "net/pem.h"
#include "net/tls.h"
#include "net/x509_mint.h"

/* Days from 0000-01-01 (BearSSL's day zero) to 1970-01-01. */
#define DAYS_TO_EPOCH 719528

/* The subject DN, CA flag and end of validity of the CA certificate der. */
static int ca_from_cert(struct x509_mint_ca *ca, const unsigned char *der, size_t len, char *err, size_t errlen)
{
	struct pem_sink s = {ca->dn, sizeof ca->dn, 0, 0};
	br_x509_decoder_context dc;
	br_x509_decoder_init(&dc, pem_sink_append, &s);
	br_x509_decoder_push(&dc, der, len);
	if (!br_x509_decoder_get_pkey(&dc)) {
		snprintf(err, errlen, "cannot decode the certificate: %s",
			 tls_strerror(br_x509_decoder_last_error(&dc)));
		return DF_ERR;
	}
	if (s.overflow || !s.len) {
		snprintf(err, errlen, "the certificate's subject name is empty or longer than %d bytes",
			 X509_MINT_DN_MAX);
		return DF_ERR;
	}
	if (!br_x509_decoder_isCA(&dc)) {
		snprintf(err, errlen, "not a CA certificate (its basicConstraints do not say CA:TRUE)");
		return DF_ERR;
	}
	ca->dn_len = s.len;
	ca->not_after = ((int64_t)dc.notafter_days - DAYS_TO_EPOCH) * 86400 + dc.notafter_seconds;
	return DF_OK;
}

int x509_mint_ca_load(struct x509_mint_ca *ca, const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	struct pem_chain chain = {0};
	char why[256];
	int rc = DF_ERR;
	memset(ca, 0, sizeof *ca);
	if (pem_chain_load(cert_path, &chain, err, errlen) != DF_OK)
		return DF_ERR;
	if (ca_from_cert(ca, chain.certs[0].data, chain.certs[0].data_len, why, sizeof why) != DF_OK) {
		snprintf(err, errlen, "%s: %s", cert_path, why);
		goto out;
	}
	if (pem_key_load(key_path, &ca->key, err, errlen) != DF_OK)
		goto out;
	if (pem_key_matches_cert(&ca->key, chain.certs[0].data, chain.certs[0].data_len, why, sizeof why) != DF_OK) {
		snprintf(err, errlen, "%s: %s in %s", key_path, why, cert_path);
		goto out;
	}
	rc = DF_OK;
out:
	pem_chain_free(&chain);
	return rc;
}

int x509_mint_keygen(struct x509_mint_key *k, const void *seed, size_t seedlen)
{
	br_hmac_drbg_context rng;
	if (seedlen < 32)
		return DF_ERR;
	br_hmac_drbg_init(&rng, &br_sha256_vtable, seed, seedlen);
	if (!br_ec_keygen(&rng.vtable, br_ec_get_default(), &k->sk, k->skbuf, BR_EC_secp256r1))
		return DF_ERR;
	if (!br_ec_compute_pub(br_ec_get_default(), &k->pk, k->pkbuf, &k->sk))
		return DF_ERR;
	return DF_OK;
}

size_t x509_mint_key_der(const struct x509_mint_key *k, unsigned char *out, size_t cap)
{
	size_t n = br_encode_ec_raw_der(NULL, &k->sk, &k->pk);
	if (!n || n > cap)
		return 0;
	return br_encode_ec_raw_der(out, &k->sk, &k->pk);
}
