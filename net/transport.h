/* A byte transport under HTTP and the piece protocol: plain TCP or TLS (BearSSL), behind one vtable,
 * so the code above never knows which it has. Non-blocking: calls return DF_AGAIN instead of waiting. */
#ifndef DF_TRANSPORT_H
#define DF_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

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
	 * read may need the socket writable (handshake) and a write may need it readable. 0 means "the
	 * direction of the call that said DF_AGAIN" (plain TCP); see transport_wait_events(). */
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

/* Writes the iovecs in order: one sendmsg(2) for plain TCP (head and body in one segment), successive
 * ops->write calls for other transports until one is short. Returns bytes accepted (>0), DF_AGAIN or
 * DF_ERR, like ops->write. */
ssize_t transport_writev(struct transport *t, const struct iovec *iov, int iovcnt);

/* The libev events to wait for after a call in direction dir (EV_READ for read, EV_WRITE for
 * write/sendfile/flush) returned DF_AGAIN. */
static inline int transport_wait_events(struct transport *t, int dir)
{
	int w = t->ops->want(t);
	return w ? w : dir;
}

#endif
