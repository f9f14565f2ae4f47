/* A byte transport under HTTP and the piece protocol: plain TCP or TLS (BearSSL), behind one vtable,
 * so the code above never knows which it has. Non-blocking: calls return DF_AGAIN instead of waiting. */
#ifndef DF_TRANSPORT_H
#define DF_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

#include "core/df.h"

struct transport;

struct transport_ops {
	/* Reads up to len bytes. Returns bytes read (>0), 0 at a clean end of stream, DF_AGAIN when it
	 * must wait (see want()), DF_ERR on error (errno set; a TLS error leaves a message in t->err). */
	ssize_t (*read)(struct transport *t, void *buf, size_t len);
	/* Writes up to len bytes: bytes accepted (>0), DF_AGAIN, or DF_ERR. */
	ssize_t (*write)(struct transport *t, const void *buf, size_t len);
	/* Sends up to len bytes of file fd from *off (sendfile(2) for plain TCP; read+encrypt for TLS),
	 * advancing *off. Returns bytes sent (>0), DF_AGAIN, or DF_ERR. */
	ssize_t (*sendfile)(struct transport *t, int fd, off_t *off, size_t len);
	/* Pushes out any bytes buffered inside the transport (TLS records). DF_OK when all is out,
	 * DF_AGAIN while some wait for the socket, DF_ERR on error. */
	int (*flush)(struct transport *t);
	/* What the transport waits for after a DF_AGAIN: EV_READ and/or EV_WRITE (libev's bits). A TLS
	 * read may need the socket writable (handshake) and a write may need it readable. */
	int (*want)(struct transport *t);
	/* Bytes already decrypted and readable without waiting for the socket (0 for plain TCP). */
	size_t (*pending)(struct transport *t);
	/* Sends a clean end (TLS close_notify / shutdown(SHUT_WR)); best effort, never blocks. */
	void (*shutdown)(struct transport *t);
	/* Closes the socket and frees what the transport allocated (not the struct when embedded). */
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	int fd;
	const char *err; /* static message for the last DF_ERR that errno cannot express (TLS alerts) */
};

/* Plain TCP over a connected non-blocking socket; the struct may be embedded in a connection. */
void transport_plain_init(struct transport *t, int fd);

#endif
