/* Fuzz target for the DER walk that finds IP addresses in a certificate's subjectAltName
 * (net/tls_x509.c tls_cert_has_ip): any bytes, IPv4 and IPv6 lookups. Run with make fuzz. */
#include <stdint.h>

#include "net/tls_x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char v4[4] = {127, 0, 0, 1};
	static const unsigned char v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	tls_cert_has_ip(data, size, v4, sizeof v4);
	tls_cert_has_ip(data, size, v6, sizeof v6);
	return 0;
}
