/* Fuzz target for net/pem: PEM text through the chain, key and trust-anchor loaders, and a key and
 * certificate found in the same input through the key-match check. Run with make fuzz. */
#include <stdint.h>
#include <stdlib.h>

#include "core/df.h"
#include "net/pem.h"

static int count(void *arg, const char *name, const unsigned char *der, size_t len, char *err, size_t errlen)
{
	(void)name, (void)der, (void)err, (void)errlen;
	*(size_t *)arg += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pem_key key; /* parsed in place, never copied; large, so not on the stack */
	const char *text = (const char *)data;
	struct pem_chain chain;
	struct pem_anchors anchors;
	char err[256];
	int have_chain = pem_chain_parse(text, size, &chain, err, sizeof err) == DF_OK;
	if (have_chain && pem_key_parse(text, size, &key, err, sizeof err) == DF_OK) {
		pem_key_matches_cert(&key, chain.certs[0].data, chain.certs[0].data_len, err, sizeof err);
		pem_cert_signer_key_type(chain.certs[0].data, chain.certs[0].data_len);
	}
	if (have_chain)
		pem_chain_free(&chain);
	if (pem_anchors_parse(text, size, &anchors, err, sizeof err) == DF_OK)
		pem_anchors_free(&anchors);
	/* A tiny scratch buffer: the size limit path. */
	unsigned char small[64];
	size_t total = 0;
	pem_decode(text, size, small, sizeof small, count, &total, err, sizeof err);
	return 0;
}
