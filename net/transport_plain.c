/* The plain TCP transport: the vtable of net/transport.h over a non-blocking socket, with sendfile(2)
 * for file regions and sendmsg(2) for gathered writes. Holds no state beyond the fd. */
#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/transport.h"

static ssize_t plain_read(struct transport *t, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(t->fd, buf, len);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? DF_AGAIN : DF_ERR;
	}
}

static ssize_t plain_write(struct transport *t, const void *buf, size_t len)
{
	for (;;) {
		/* MSG_NOSIGNAL: a peer that went away is an EPIPE error, not a signal */
		ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(t->fd, buf, len); /* pipes in tests */
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? DF_AGAIN : DF_ERR;
	}
}

static ssize_t plain_sendfile(struct transport *t, int fd, off_t *off, size_t len)
{
	for (;;) {
		ssize_t n = sendfile(t->fd, fd, off, len);
		if (n >= 0)
			return n; /* 0: the file ended before off + len; the caller decides */
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? DF_AGAIN : DF_ERR;
	}
}

static int plain_flush(struct transport *t)
{
	(void)t;
	return DF_OK;
}

static int plain_want(struct transport *t)
{
	(void)t;
	return 0; /* whatever the call that said DF_AGAIN was waiting for */
}

static size_t plain_pending(struct transport *t)
{
	(void)t;
	return 0;
}

static void plain_shutdown(struct transport *t)
{
	if (t->fd >= 0)
		shutdown(t->fd, SHUT_WR);
}

static void plain_close(struct transport *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static const struct transport_ops plain_ops = {
	.read = plain_read,
	.write = plain_write,
	.sendfile = plain_sendfile,
	.flush = plain_flush,
	.want = plain_want,
	.pending = plain_pending,
	.shutdown = plain_shutdown,
	.close = plain_close,
};

void transport_plain_init(struct transport *t, int fd)
{
	t->ops = &plain_ops;
	t->fd = fd;
	t->err = NULL;
}

ssize_t transport_writev(struct transport *t, const struct iovec *iov, int iovcnt)
{
	if (t->ops == &plain_ops) {
		struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
		for (;;) {
			ssize_t n = sendmsg(t->fd, &m, MSG_NOSIGNAL);
			if (n < 0 && errno == ENOTSOCK)
				n = writev(t->fd, iov, iovcnt);
			if (n >= 0)
				return n;
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? DF_AGAIN : DF_ERR;
		}
	}
	/* TLS buffers records anyway: one write per iovec, stopping at the first short one */
	ssize_t total = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue;
		ssize_t n = t->ops->write(t, iov[i].iov_base, iov[i].iov_len);
		if (n < 0)
			return total ? total : n;
		total += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	return total;
}
