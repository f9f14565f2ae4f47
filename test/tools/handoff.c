/* Test tool: the client side of df proxy's hand-off socket (what df get sends when a df proxy runs
 * on the host): sends a request, prints every line the daemon answers, exits 0 after "done:", the
 * error's exit code after "error:", 1 when the daemon closes without either. Also a reference for
 * the exchange (swarm/hostd.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char usage[] = "usage: handoff SOCKET URL OUTPUT [-d DIGEST] [-H 'Name: value']... [--raw TEXT]\n";

int main(int argc, char **argv)
{
	if (argc < 4) {
		fputs(usage, stderr);
		return 2;
	}
	char req[65536];
	size_t len = 0;
	const char *raw = NULL;
	len += (size_t)snprintf(req + len, sizeof req - len, "url: %s\noutput: %s\n", argv[2], argv[3]);
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			len += (size_t)snprintf(req + len, sizeof req - len, "digest: %s\n", argv[++i]);
		else if (strcmp(argv[i], "-H") == 0 && i + 1 < argc)
			len += (size_t)snprintf(req + len, sizeof req - len, "header: %s\n", argv[++i]);
		else if (strcmp(argv[i], "--raw") == 0 && i + 1 < argc)
			raw = argv[++i];
		else {
			fputs(usage, stderr);
			return 2;
		}
		if (len >= sizeof req) {
			fputs("handoff: request too long\n", stderr);
			return 2;
		}
	}
	if (!raw)
		len += (size_t)snprintf(req + len, sizeof req - len, "\n");
	/* the daemon may answer (a refusal) and close before reading the request: read its answer then */
	signal(SIGPIPE, SIG_IGN);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "handoff: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	const char *out = raw ? raw : req;
	size_t olen = raw ? strlen(raw) : len;
	for (size_t off = 0; off < olen;) {
		ssize_t w = write(fd, out + off, olen - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	FILE *f = fdopen(fd, "r");
	char line[4096];
	int rc = 1;
	while (f && fgets(line, sizeof line, f)) {
		fputs(line, stdout);
		fflush(stdout);
		if (strncmp(line, "done:", 5) == 0)
			rc = 0;
		else if (strncmp(line, "error:", 6) == 0)
			rc = atoi(line + 6) ? atoi(line + 6) : 1;
	}
	return rc;
}
