/* PEM files for TLS: decodes certificate chains, private keys and CA bundles with BearSSL's PEM,
 * X.509 and key decoders into the structures its engine takes. Runs before the loop, so it may allocate. */
#include "net/pem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/df.h"
#include "core/log.h"
#include "net/tls.h"

/* A distinguished name longer than this is refused (real ones are a few hundred bytes). */
#define PEM_DN_MAX 4096

void pem_sink_append(void *ctx, const void *p, size_t n)
{
	struct pem_sink *s = ctx;
	if (s->overflow || n > s->cap - s->len) {
		s->overflow = 1;
		return;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static size_t count_lines(const char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i] == '\n';
	return k;
}

int pem_decode(const char *text, size_t len, unsigned char *scratch, size_t cap, pem_fn fn, void *arg, char *err,
	       size_t errlen)
{
	br_pem_decoder_context pc;
	struct pem_sink s = {scratch, cap, 0, 0};
	size_t pos = 0, line = 1, begin_line = 0;
	int count = 0, inobj = 0, tail = 0;

	br_pem_decoder_init(&pc);
	/* A final newline is pushed after the text: the decoder acts on an END line only once it ends. */
	while (pos < len || !tail) {
		const char *p = pos < len ? text + pos : "\n";
		size_t avail = pos < len ? len - pos : 1;
		size_t n = br_pem_decoder_push(&pc, p, avail);
		/* Events come after the newline that ends their line: name that line, not the next. */
		size_t here = line;
		if (pos < len) {
			line += count_lines(p, n);
			pos += n;
			here = line - (n && p[n - 1] == '\n');
		} else if (n == 1) {
			tail = 1;
		}
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			s.len = 0;
			s.overflow = 0;
			br_pem_decoder_setdest(&pc, pem_sink_append, &s);
			inobj = 1;
			begin_line = here;
			break;
		case BR_PEM_END_OBJ:
			inobj = 0;
			if (s.overflow) {
				snprintf(err, errlen, "line %zu: PEM object larger than %zu bytes", begin_line, cap);
				return DF_ERR;
			}
			if (fn(arg, br_pem_decoder_name(&pc), scratch, s.len, err, errlen) != 0)
				return DF_ERR;
			count++;
			break;
		case BR_PEM_ERROR:
			snprintf(err, errlen, "line %zu: malformed PEM (bad base64 or headers)", here);
			return DF_ERR;
		default: break;
		}
	}
	if (inobj) {
		snprintf(err, errlen, "line %zu: PEM object has no END line", begin_line);
		return DF_ERR;
	}
	return count;
}

int pem_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail_errno;
	if (fstat(fd, &st) < 0)
		goto fail_errno;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail_errno;
	}
	if (st.st_size > (off_t)PEM_FILE_MAX) {
		snprintf(err, errlen, "larger than %u MB", PEM_FILE_MAX >> 20);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto fail_errno;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail_errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = 0;
	*text = buf;
	*len = got;
	return DF_OK;
fail_errno:
	snprintf(err, errlen, "%s", strerror(errno));
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return DF_ERR;
}

static int is_cert(const char *name)
{
	return strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0;
}

/* Runs pem_decode over text with a heap scratch buffer of PEM_OBJ_MAX bytes. */
static int decode_all(const char *text, size_t len, pem_fn fn, void *arg, char *err, size_t errlen)
{
	unsigned char *scratch = malloc(PEM_OBJ_MAX);
	if (!scratch) {
		snprintf(err, errlen, "out of memory");
		return DF_ERR;
	}
	int n = pem_decode(text, len, scratch, PEM_OBJ_MAX, fn, arg, err, errlen);
	free(scratch);
	return n;
}

/* ---- certificate chains ---- */

static int chain_add(void *arg, const char *name, const unsigned char *der, size_t len, char *err, size_t errlen)
{
	struct pem_chain *c = arg;
	if (!is_cert(name))
		return 0;
	br_x509_certificate *certs = realloc(c->certs, (c->n + 1) * sizeof *certs);
	unsigned char *copy = malloc(len ? len : 1);
	if (certs)
		c->certs = certs;
	if (!certs || !copy) {
		free(copy);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, der, len);
	c->certs[c->n].data = copy;
	c->certs[c->n].data_len = len;
	c->n++;
	return 0;
}

int pem_chain_parse(const char *text, size_t len, struct pem_chain *out, char *err, size_t errlen)
{
	out->certs = NULL;
	out->n = 0;
	if (decode_all(text, len, chain_add, out, err, errlen) < 0)
		goto fail;
	if (out->n == 0) {
		snprintf(err, errlen, "no CERTIFICATE in PEM");
		goto fail;
	}
	/* Decode the leaf now so that a broken certificate is reported here, not in every handshake. */
	br_x509_decoder_context dc;
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, out->certs[0].data, out->certs[0].data_len);
	if (!br_x509_decoder_get_pkey(&dc)) {
		snprintf(err, errlen, "cannot decode the first certificate: %s",
			 tls_strerror(br_x509_decoder_last_error(&dc)));
		goto fail;
	}
	return DF_OK;
fail:
	pem_chain_free(out);
	return DF_ERR;
}

void pem_chain_free(struct pem_chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->certs[i].data);
	free(c->certs);
	c->certs = NULL;
	c->n = 0;
}

/* ---- private keys ---- */

struct key_find {
	struct pem_key *key;
	int found;
};

static int key_add(void *arg, const char *name, const unsigned char *der, size_t len, char *err, size_t errlen)
{
	struct key_find *f = arg;
	if (f->found)
		return 0;
	if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0) {
		snprintf(err, errlen,
			 "encrypted private keys are not supported (decrypt with: openssl pkey -in KEY -out PLAIN)");
		return -1;
	}
	if (strcmp(name, "RSA PRIVATE KEY") && strcmp(name, "EC PRIVATE KEY") && strcmp(name, "PRIVATE KEY"))
		return 0;
	br_skey_decoder_init(&f->key->dec);
	br_skey_decoder_push(&f->key->dec, der, len);
	int e = br_skey_decoder_last_error(&f->key->dec);
	if (e) {
		snprintf(err, errlen, "cannot decode %s: %s", name, tls_strerror(e));
		return -1;
	}
	f->key->type = br_skey_decoder_key_type(&f->key->dec);
	if (f->key->type == BR_KEYTYPE_EC) {
		int curve = br_skey_decoder_get_ec(&f->key->dec)->curve;
		if (curve != BR_EC_secp256r1 && curve != BR_EC_secp384r1 && curve != BR_EC_secp521r1) {
			snprintf(err, errlen, "EC key on curve %d: only P-256, P-384 and P-521 are supported", curve);
			return -1;
		}
	} else if (f->key->type != BR_KEYTYPE_RSA) {
		snprintf(err, errlen, "unsupported key type (only RSA and EC)");
		return -1;
	}
	f->found = 1;
	return 0;
}

int pem_key_parse(const char *text, size_t len, struct pem_key *out, char *err, size_t errlen)
{
	struct key_find f = {out, 0};
	out->type = 0;
	if (decode_all(text, len, key_add, &f, err, errlen) < 0)
		return DF_ERR;
	if (!f.found) {
		snprintf(err, errlen, "no PRIVATE KEY in PEM");
		return DF_ERR;
	}
	return DF_OK;
}

/* ---- trust anchors ---- */

struct anchors_build {
	struct pem_anchors *a;
	size_t cap, skipped;
	int first_err;
	unsigned char dn[PEM_DN_MAX];
	struct pem_sink dnsink;
};

/* One allocation per anchor: the DN, then the key bytes; ta->dn.data is its base. */
static int anchor_from(br_x509_trust_anchor *ta, const unsigned char *dn, size_t dnlen, const br_x509_pkey *pk,
		       int is_ca)
{
	size_t klen = pk->key_type == BR_KEYTYPE_RSA ? pk->key.rsa.nlen + pk->key.rsa.elen : pk->key.ec.qlen;
	unsigned char *mem = malloc(dnlen + klen + 1);
	if (!mem)
		return DF_ERR;
	memcpy(mem, dn, dnlen);
	ta->dn.data = mem;
	ta->dn.len = dnlen;
	ta->flags = is_ca ? BR_X509_TA_CA : 0;
	ta->pkey.key_type = pk->key_type;
	unsigned char *k = mem + dnlen;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		memcpy(k, pk->key.rsa.n, pk->key.rsa.nlen);
		memcpy(k + pk->key.rsa.nlen, pk->key.rsa.e, pk->key.rsa.elen);
		ta->pkey.key.rsa.n = k;
		ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta->pkey.key.rsa.e = k + pk->key.rsa.nlen;
		ta->pkey.key.rsa.elen = pk->key.rsa.elen;
	} else {
		memcpy(k, pk->key.ec.q, pk->key.ec.qlen);
		ta->pkey.key.ec.curve = pk->key.ec.curve;
		ta->pkey.key.ec.q = k;
		ta->pkey.key.ec.qlen = pk->key.ec.qlen;
	}
	return DF_OK;
}

static int anchor_add(void *arg, const char *name, const unsigned char *der, size_t len, char *err, size_t errlen)
{
	struct anchors_build *b = arg;
	br_x509_decoder_context dc;
	if (!is_cert(name))
		return 0;
	b->dnsink = (struct pem_sink){b->dn, sizeof b->dn, 0, 0};
	br_x509_decoder_init(&dc, pem_sink_append, &b->dnsink);
	br_x509_decoder_push(&dc, der, len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || b->dnsink.overflow) {
		/* A bundle may hold certificates BearSSL cannot use (other key types): skip, not fail. */
		if (!b->first_err)
			b->first_err = pk ? BR_ERR_X509_LIMIT_EXCEEDED : br_x509_decoder_last_error(&dc);
		b->skipped++;
		return 0;
	}
	if (b->a->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		br_x509_trust_anchor *ta = realloc(b->a->ta, cap * sizeof *ta);
		if (!ta)
			goto oom;
		b->a->ta = ta;
		b->cap = cap;
	}
	if (anchor_from(&b->a->ta[b->a->n], b->dn, b->dnsink.len, pk, br_x509_decoder_isCA(&dc)) < 0)
		goto oom;
	b->a->n++;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int pem_anchors_parse(const char *text, size_t len, struct pem_anchors *out, char *err, size_t errlen)
{
	struct anchors_build *b = calloc(1, sizeof *b);
	int rc = DF_ERR;
	out->ta = NULL;
	out->n = 0;
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return DF_ERR;
	}
	b->a = out;
	if (decode_all(text, len, anchor_add, b, err, errlen) < 0)
		goto done;
	if (out->n == 0) {
		if (b->skipped)
			snprintf(err, errlen, "no usable CA certificate (%zu could not be decoded: %s)", b->skipped,
				 tls_strerror(b->first_err));
		else
			snprintf(err, errlen, "no CERTIFICATE in PEM");
		goto done;
	}
	if (b->skipped)
		log_debug("tls: skipped %zu CA certificates BearSSL cannot decode (%s)", b->skipped,
			  tls_strerror(b->first_err));
	rc = DF_OK;
done:
	if (rc != DF_OK)
		pem_anchors_free(out);
	free(b);
	return rc;
}

void pem_anchors_free(struct pem_anchors *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->ta[i].dn.data);
	free(a->ta);
	a->ta = NULL;
	a->n = 0;
}

/* ---- from files ---- */

/* Each loader reads the file, parses it, and prefixes any error with the path. */
enum what { CHAIN, KEY, ANCHORS };

static int load(const char *path, enum what what, void *out, char *err, size_t errlen)
{
	char *text, why[256];
	size_t len;
	int rc;
	if (pem_read_file(path, &text, &len, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return DF_ERR;
	}
	switch (what) {
	case CHAIN: rc = pem_chain_parse(text, len, out, why, sizeof why); break;
	case KEY: rc = pem_key_parse(text, len, out, why, sizeof why); break;
	default: rc = pem_anchors_parse(text, len, out, why, sizeof why); break;
	}
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	free(text);
	return rc;
}

int pem_chain_load(const char *path, struct pem_chain *out, char *err, size_t errlen)
{
	return load(path, CHAIN, out, err, errlen);
}

int pem_key_load(const char *path, struct pem_key *out, char *err, size_t errlen)
{
	return load(path, KEY, out, err, errlen);
}

int pem_anchors_load(const char *path, struct pem_anchors *out, char *err, size_t errlen)
{
	return load(path, ANCHORS, out, err, errlen);
}

/* ---- key and certificate checks ---- */

static int same_unsigned(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	while (alen && !*a)
		a++, alen--;
	while (blen && !*b)
		b++, blen--;
	return alen == blen && memcmp(a, b, alen) == 0;
}

int pem_key_matches_cert(const struct pem_key *key, const unsigned char *der, size_t len, char *err, size_t errlen)
{
	br_x509_decoder_context dc;
	unsigned char buf[BR_EC_KBUF_PUB_MAX_SIZE > 512 ? BR_EC_KBUF_PUB_MAX_SIZE : 512];
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der, len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
	if (!pk) {
		snprintf(err, errlen, "cannot decode the certificate: %s",
			 tls_strerror(br_x509_decoder_last_error(&dc)));
		return DF_ERR;
	}
	if ((int)pk->key_type != key->type) {
		snprintf(err, errlen, "the key is %s but the certificate holds an %s key",
			 key->type == BR_KEYTYPE_RSA ? "RSA" : "EC", pk->key_type == BR_KEYTYPE_RSA ? "RSA" : "EC");
		return DF_ERR;
	}
	int same = 0;
	if (key->type == BR_KEYTYPE_RSA) {
		const br_rsa_private_key *sk = br_skey_decoder_get_rsa(&key->dec);
		br_rsa_compute_modulus modulus = br_rsa_compute_modulus_get_default();
		size_t n = modulus(NULL, sk);
		same = n && n <= sizeof buf && modulus(buf, sk) == n &&
		       same_unsigned(buf, n, pk->key.rsa.n, pk->key.rsa.nlen);
	} else {
		const br_ec_private_key *sk = br_skey_decoder_get_ec(&key->dec);
		br_ec_public_key pub;
		size_t n = br_ec_compute_pub(br_ec_get_default(), &pub, buf, sk);
		same = n && pub.curve == pk->key.ec.curve && pub.qlen == pk->key.ec.qlen &&
		       memcmp(pub.q, pk->key.ec.q, pub.qlen) == 0;
	}
	if (!same) {
		snprintf(err, errlen, "the private key does not match the certificate's public key");
		return DF_ERR;
	}
	return DF_OK;
}

int pem_cert_signer_key_type(const unsigned char *der, size_t len)
{
	br_x509_decoder_context dc;
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der, len);
	if (!br_x509_decoder_get_pkey(&dc))
		return 0;
	return br_x509_decoder_get_signer_key_type(&dc);
}
