/* Shared by the TLS unit tests: drive two non-blocking transports (client and server over a
 * socketpair) until bytes pass from one to the other. Included (not linked) by test_tls.c and
 * test_x509_mint.c, so everything here is static. */
#ifndef DF_TEST_TLS_HARNESS_H
#define DF_TEST_TLS_HARNESS_H

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/df.h"
#include "net/loop.h"
#include "net/transport.h"
#include "test/unit/unit.h"

/* Waits (at most 5 s: a stuck engine fails the test instead of hanging it) for what a and b want. */
static int wait_both(struct transport *a, struct transport *b)
{
	struct pollfd pf[2] = {{a->fd, 0, 0}, {b->fd, 0, 0}};
	struct transport *t[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		int w = t[i]->ops->want(t[i]);
		pf[i].events = (short)((w & EV_READ ? POLLIN : 0) | (w & EV_WRITE ? POLLOUT : 0));
	}
	int n = poll(pf, 2, 5000);
	if (n <= 0)
		fprintf(stderr, "    poll: %s\n", n == 0 ? "timeout: neither side can progress" : strerror(errno));
	return n > 0 ? DF_OK : DF_ERR;
}

/* Sends data[0..len) from a to b, a writing at most wmax and b reading at most rmax bytes a call,
 * and checks that b received exactly the bytes. Returns DF_OK, or DF_ERR with the causes printed. */
static int transfer(struct transport *a, struct transport *b, const unsigned char *data, size_t len, size_t wmax,
		    size_t rmax)
{
	unsigned char *out = malloc(len + 1);
	size_t wrote = 0, got = 0;
	int rc = DF_ERR;
	while (got < len) {
		int progress = 0;
		if (wrote < len) {
			ssize_t n = a->ops->write(a, data + wrote, DF_MIN(wmax, len - wrote));
			if (n > 0) {
				wrote += (size_t)n;
				progress = 1;
			} else if (n != DF_AGAIN) {
				fprintf(stderr, "    write: %s\n", a->err ? a->err : strerror(errno));
				goto done;
			}
		} else if (a->ops->flush(a) == DF_ERR) {
			fprintf(stderr, "    flush: %s\n", a->err);
			goto done;
		}
		ssize_t n = b->ops->read(b, out + got, DF_MIN(rmax, len - got));
		if (n > 0) {
			got += (size_t)n;
			progress = 1;
			/* pending() counts what one more read returns without the socket. */
			size_t pend = b->ops->pending(b);
			if (pend && got < len) {
				ssize_t m = b->ops->read(b, out + got, DF_MIN(pend, len - got));
				CHECK_EQ(m, DF_MIN(pend, len - got));
				if (m > 0)
					got += (size_t)m;
			}
		} else if (n == 0 || n != DF_AGAIN) {
			fprintf(stderr, "    read: %s\n", n == 0 ? "early end of stream" : b->err ? b->err : strerror(errno));
			goto done;
		}
		if (!progress && wait_both(a, b) < 0)
			goto done;
	}
	rc = memcmp(out, data, len) == 0 ? DF_OK : DF_ERR;
	if (rc != DF_OK)
		fprintf(stderr, "    received bytes differ from the bytes sent\n");
done:
	free(out);
	return rc;
}

#endif
