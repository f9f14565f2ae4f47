/* The piece server: parses /v1/piece/ID/N, finds the task (kept open after the first request),
 * and answers with sendfile from the store; 404 when the piece is not present. */
#include "swarm/pieceserve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/proto.h"
#include "core/taskid.h"
#include "swarm/auth.h"

static struct store_task *find_task(struct pieceserve *ps, const char *id)
{
	for (int i = 0; i < ps->nopen; i++)
		if (strcmp(store_task_id(ps->open[i]), id) == 0)
			return ps->open[i];
	if (ps->nopen == (int)DF_ARRAY_LEN(ps->open))
		return NULL;
	struct store_task *t = store_task_open(ps->store, id, NULL, STORE_RDONLY, NULL, 0);
	if (t)
		ps->open[ps->nopen++] = t;
	return t;
}

void pieceserve_add_task(struct pieceserve *ps, struct store_task *t)
{
	for (int i = 0; i < ps->nopen; i++)
		if (ps->open[i] == t)
			return;
	/* the same handle again from store_task_open counts a reference, closed in pieceserve_close */
	if (ps->nopen < (int)DF_ARRAY_LEN(ps->open) && store_task_open(ps->store, store_task_id(t), NULL, 0, NULL, 0))
		ps->open[ps->nopen++] = t;
}

static void serve_corrupt(struct http_req *req, struct store_task *t, uint32_t n, uint32_t len)
{
	char *buf = malloc(len ? len : 1);
	if (!buf || store_piece_read(t, n, 0, buf, len, NULL, 0) != DF_OK) {
		free(buf);
		http_reply(req, 500, NULL, "read failed\n", 12);
		return;
	}
	for (uint32_t i = 0; i < len; i += 4096)
		buf[i] ^= 0x5a;
	http_reply(req, 200, "Content-Type: application/octet-stream\r\n", buf, len);
	free(buf);
}

static void on_piece(struct http_req *req, void *ctx)
{
	struct pieceserve *ps = ctx;
	const struct http_head *h = http_req_head(req);
	char id[TASKID_MAX];
	uint64_t n;
	ps->last_request = ev_now(ps->loop);
	if (!auth_check(req, ps->token)) {
		ps->refused++;
		return;
	}
	/* /v1/piece/ID/N */
	struct slice rest = {h->path.p + 10, h->path.n - 10};
	const char *slash = memchr(rest.p, '/', rest.n);
	if (!slash || slice_copy((struct slice){rest.p, (size_t)(slash - rest.p)}, id, sizeof id) != 0 ||
	    !taskid_valid(id, strlen(id)) ||
	    proto_u64((struct slice){slash + 1, rest.n - (size_t)(slash + 1 - rest.p)}, &n) != DF_OK || n > UINT32_MAX) {
		http_reply(req, 400, NULL, "expected /v1/piece/TASK/PIECE\n", 30);
		return;
	}
	struct store_task *t = find_task(ps, id);
	int fd;
	uint64_t off;
	uint32_t len;
	if (!t || store_piece_span(t, (uint32_t)n, &fd, &off, &len) != DF_OK) {
		http_reply(req, 404, NULL, "piece not here\n", 15);
		return;
	}
	ps->pieces_served++;
	ps->bytes_served += len;
	if (ps->corrupt) {
		serve_corrupt(req, t, (uint32_t)n, len);
		return;
	}
	int dup_fd = dup(fd);
	if (dup_fd < 0) {
		http_reply(req, 503, NULL, "out of file descriptors\n", 24);
		return;
	}
	http_reply_file(req, 200, "Content-Type: application/octet-stream\r\n", dup_fd, (off_t)off, len);
}

int pieceserve_init(struct pieceserve *ps, struct ev_loop *loop, struct http_server *srv, struct store *store, const char *token)
{
	memset(ps, 0, sizeof *ps);
	ps->loop = loop;
	ps->store = store;
	ps->token = token;
	const char *c = getenv("DF_TEST_CORRUPT_PIECES");
	ps->corrupt = c && strcmp(c, "1") == 0;
	if (ps->corrupt)
		log_warn("DF_TEST_CORRUPT_PIECES=1: this process serves corrupted pieces (tests only)");
	return http_server_route(srv, "GET", "/v1/piece/", on_piece, ps);
}

void pieceserve_forget(struct pieceserve *ps, const char *id)
{
	for (int i = 0; i < ps->nopen; i++)
		if (strcmp(store_task_id(ps->open[i]), id) == 0) {
			store_task_close(ps->open[i]);
			ps->open[i] = ps->open[--ps->nopen];
			return;
		}
}

void pieceserve_drop_readonly(struct pieceserve *ps, const char *id)
{
	for (int i = 0; i < ps->nopen; i++)
		if (strcmp(store_task_id(ps->open[i]), id) == 0) {
			if (!store_task_writable(ps->open[i]))
				pieceserve_forget(ps, id);
			return;
		}
}

void pieceserve_close(struct pieceserve *ps)
{
	for (int i = 0; i < ps->nopen; i++)
		store_task_close(ps->open[i]);
	ps->nopen = 0;
}
