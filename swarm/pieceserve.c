/* The piece server: parses /v1/piece/ID/N, finds the task (kept open after the first request, in
 * an LRU bounded by a share of RLIMIT_NOFILE), and answers with sendfile from the store; 404 when
 * the piece is not present, 503 when no descriptor is left even after closing idle handles. */
#include "swarm/pieceserve.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fdlimit.h"
#include "core/log.h"
#include "core/monotime.h"
#include "core/proto.h"
#include "core/taskid.h"
#include "swarm/auth.h"

#define PS_FDS_PER_TASK 2 /* a task handle holds its data and metadata files open */

static int find_slot(const struct pieceserve *ps, const char *id)
{
	for (int i = 0; i < ps->nopen; i++)
		if (strcmp(store_task_id(ps->open[i].task), id) == 0)
			return i;
	return -1;
}

static void drop_slot(struct pieceserve *ps, int i)
{
	store_task_close(ps->open[i].task);
	ps->open[i] = ps->open[--ps->nopen];
}

/* Closes the least recently used handle. DF_OK, or DF_ERR when none is open. */
static int evict_one(struct pieceserve *ps)
{
	if (ps->nopen == 0)
		return DF_ERR;
	int old = 0;
	for (int i = 1; i < ps->nopen; i++)
		if (ps->open[i].used < ps->open[old].used)
			old = i;
	drop_slot(ps, old);
	ps->evicted++;
	return DF_OK;
}

/* Makes room for one more handle: grows the array, or evicts once at max_open. */
static int make_room(struct pieceserve *ps)
{
	if (ps->nopen >= ps->max_open) {
		if (!ps->said_full) {
			ps->said_full = 1;
			log_info("piece server: %d tasks open, its share of the descriptor limit (RLIMIT_NOFILE %ld): "
				 "closing "
				 "the least recently used from now on (a higher `ulimit -n` keeps more open)",
				 ps->nopen, fd_limit());
		}
		while (ps->nopen >= ps->max_open)
			evict_one(ps);
	}
	if (ps->nopen < ps->cap)
		return DF_OK;
	int cap = ps->cap ? 2 * ps->cap : 16;
	struct ps_open *o = realloc(ps->open, (size_t)cap * sizeof *o);
	if (!o)
		return DF_ERR;
	ps->open = o;
	ps->cap = cap;
	return DF_OK;
}

static void keep(struct pieceserve *ps, struct store_task *t)
{
	ps->open[ps->nopen].task = t;
	ps->open[ps->nopen].used = ps->loop ? monotime_now() : 0;
	ps->open[ps->nopen].served = 0;
	ps->nopen++;
}

/* The open handle of task id, opened (and kept) when absent; NULL when the store has no such task
 * (errno ENOENT...) or no descriptor is left even after closing every idle handle (EMFILE). */
static struct store_task *find_task(struct pieceserve *ps, const char *id)
{
	int i = find_slot(ps, id);
	if (i >= 0) {
		ps->open[i].used = ps->open[i].served = monotime_now();
		return ps->open[i].task;
	}
	if (make_room(ps) != DF_OK)
		return NULL;
	struct store_task *t;
	while (!(t = store_task_open(ps->store, id, NULL, STORE_RDONLY, NULL, 0)) &&
	       (errno == EMFILE || errno == ENFILE)) {
		int saved = errno;
		if (evict_one(ps) != DF_OK) {
			errno = saved;
			return NULL;
		}
	}
	if (t) {
		keep(ps, t);
		ps->open[ps->nopen - 1].served = monotime_now();
	}
	return t;
}

void pieceserve_add_task(struct pieceserve *ps, struct store_task *t)
{
	for (int i = 0; i < ps->nopen; i++)
		if (ps->open[i].task == t)
			return;
	/* the same handle again from store_task_open counts a reference, closed in pieceserve_close */
	if (make_room(ps) == DF_OK && store_task_open(ps->store, store_task_id(t), NULL, 0, NULL, 0))
		keep(ps, t);
}

double pieceserve_last_use(const struct pieceserve *ps, const char *id)
{
	int i = find_slot(ps, id);
	return i >= 0 ? ps->open[i].served : 0;
}

void pieceserve_set_max_open(struct pieceserve *ps, int max_open)
{
	ps->max_open = max_open > 0 ? max_open : 1;
	while (ps->nopen > ps->max_open)
		evict_one(ps);
}

static const struct pieceserve_key *find_key(const struct pieceserve *ps, const char *id)
{
	for (int i = 0; i < ps->nkeys; i++)
		if (strcmp(ps->keys[i].id, id) == 0)
			return &ps->keys[i];
	return NULL;
}

int pieceserve_set_key(struct pieceserve *ps, const char *id, const char *key)
{
	struct pieceserve_key *k = (struct pieceserve_key *)find_key(ps, id);
	if (!key || !key[0]) {
		if (k)
			*k = ps->keys[--ps->nkeys];
		return DF_OK;
	}
	if (strlen(key) != PIECE_KEY_HEX || strspn(key, "0123456789abcdef") != PIECE_KEY_HEX ||
	    strlen(id) >= TASKID_MAX)
		return DF_ERR;
	if (!k) {
		if (ps->nkeys == ps->keys_cap) {
			int cap = ps->keys_cap ? 2 * ps->keys_cap : 16;
			struct pieceserve_key *p = realloc(ps->keys, (size_t)cap * sizeof *p);
			if (!p)
				return DF_ERR;
			ps->keys = p;
			ps->keys_cap = cap;
		}
		k = &ps->keys[ps->nkeys++];
		snprintf(k->id, sizeof k->id, "%s", id);
	}
	snprintf(k->key, sizeof k->key, "%s", key);
	return DF_OK;
}

/* The request's X-DF-Piece-Key equals key, compared in constant time. */
static int key_matches(struct http_req *req, const char *key)
{
	struct slice got = http_req_header(req, "X-DF-Piece-Key");
	unsigned char diff = (unsigned char)(got.n != PIECE_KEY_HEX);
	for (size_t i = 0; i < PIECE_KEY_HEX; i++)
		diff |= (unsigned char)(key[i] ^ (i < got.n ? got.p[i] : 0));
	return got.p && diff == 0;
}

#ifdef DF_TEST_ROGUE
/* Only in the test tool df_rogue (built from this file with -DDF_TEST_ROGUE, see the Makefile):
 * a piece server that flips bytes, for the tests of bad uploaders. Never in df itself. */
static void serve_corrupt(struct http_req *req, struct store_task *t, uint32_t n, uint32_t len)
{
	char *buf = malloc(len ? len : 1);
	if (!buf || store_piece_read(t, n, 0, buf, len, NULL, 0) != DF_OK) {
		free(buf);
		http_reply(req, 500, NULL, DF_LIT("read failed\n"));
		return;
	}
	for (uint32_t i = 0; i < len; i += 4096)
		buf[i] ^= 0x5a;
	http_reply(req, 200, "Content-Type: application/octet-stream\r\n", buf, len);
	free(buf);
}
#endif

static void on_piece(struct http_req *req, void *ctx)
{
	struct pieceserve *ps = ctx;
	const struct http_head *h = http_req_head(req);
	char id[TASKID_MAX];
	uint64_t n;
	ps->last_request = monotime_now();
	if (!auth_check(req, ps->token)) {
		ps->refused++;
		return;
	}
	/* /v1/piece/ID/N */
	struct slice rest = {h->path.p + 10, h->path.n - 10};
	const char *slash = memchr(rest.p, '/', rest.n);
	if (!slash || slice_copy((struct slice){rest.p, (size_t)(slash - rest.p)}, id, sizeof id) != 0 ||
	    !taskid_valid(id, strlen(id)) ||
	    proto_u64((struct slice){slash + 1, rest.n - (size_t)(slash + 1 - rest.p)}, &n) != DF_OK ||
	    n > UINT32_MAX) {
		http_reply(req, 400, NULL, DF_LIT("expected /v1/piece/TASK/PIECE\n"));
		return;
	}
	/* a task this process was given no key for is not served at all: a task id is no secret */
	const struct pieceserve_key *k = find_key(ps, id);
	if (!k) {
		http_reply(req, 404, NULL, DF_LIT("piece not here\n"));
		return;
	}
	if (!key_matches(req, k->key)) {
		char who[LOOP_ADDRSTR_MAX];
		ps->refused++;
		log_warn("refused piece %llu of task %.12s from %s: %s piece key", (unsigned long long)n, id,
			 loop_sockaddr_str(http_req_peer(req), who, sizeof who),
			 http_req_header(req, "X-DF-Piece-Key").p ? "wrong" : "no");
		http_reply(req, 403, NULL, DF_LIT("missing or wrong piece key: register for the task\n"));
		return;
	}
	struct store_task *t = find_task(ps, id);
	int fd;
	uint64_t off;
	uint32_t len;
	if (!t && (errno == EMFILE || errno == ENFILE || errno == ENOMEM)) {
		http_reply(req, 503, NULL, DF_LIT("out of file descriptors\n"));
		return;
	}
	if (!t || store_piece_span(t, (uint32_t)n, &fd, &off, &len) != DF_OK) {
		http_reply(req, 404, NULL, DF_LIT("piece not here\n"));
		return;
	}
	ps->pieces_served++;
	ps->bytes_served += len;
#ifdef DF_TEST_ROGUE
	serve_corrupt(req, t, (uint32_t)n, len);
	return;
#endif
	int dup_fd = dup(fd);
	if (dup_fd < 0) {
		http_reply(req, 503, NULL, DF_LIT("out of file descriptors\n"));
		return;
	}
	http_reply_file(req, 200, "Content-Type: application/octet-stream\r\n", dup_fd, (off_t)off, len);
}

int pieceserve_init(struct pieceserve *ps, struct ev_loop *loop, struct http_server *srv, struct store *store,
		    const char *token)
{
	memset(ps, 0, sizeof *ps);
	ps->loop = loop;
	ps->store = store;
	ps->token = token;
	pieceserve_set_max_open(ps, (int)(fd_budget(25, 64) / PS_FDS_PER_TASK));
#ifdef DF_TEST_ROGUE
	log_warn("df_rogue: this process serves corrupted pieces (a test tool)");
#endif
	return srv ? http_server_route(srv, "GET", "/v1/piece/", on_piece, ps) : DF_OK;
}

void pieceserve_forget(struct pieceserve *ps, const char *id)
{
	int i = find_slot(ps, id);
	if (i >= 0)
		drop_slot(ps, i);
}

void pieceserve_drop_readonly(struct pieceserve *ps, const char *id)
{
	int i = find_slot(ps, id);
	if (i >= 0 && !store_task_writable(ps->open[i].task))
		drop_slot(ps, i);
}

void pieceserve_close(struct pieceserve *ps)
{
	free(ps->keys);
	ps->keys = NULL;
	ps->nkeys = ps->keys_cap = 0;
	for (int i = 0; i < ps->nopen; i++)
		store_task_close(ps->open[i].task);
	free(ps->open);
	ps->open = NULL;
	ps->nopen = ps->cap = 0;
}
