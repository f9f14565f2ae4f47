/* The swarm protocol's text bodies (docs/PROTOCOL.md): "key: value" lines, parsed as pure functions
 * over the caller's buffer (values are slices into it) and written into a bounded buffer. */
#ifndef DF_PROTO_H
#define DF_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/digest.h"
#include "core/slice.h"

#define PROTO_MAX_LINE 8192

struct proto_line {
	struct slice key; /* lower-case by convention; compared exactly */
	struct slice val; /* leading/trailing blanks trimmed; may be empty */
};

/* Reads the line at *pos. Returns DF_OK with *line filled and *pos advanced, DF_AGAIN at the end of
 * the buffer (a last line without '\n' is still returned first), DF_ERR for a line with no ':' (a
 * bare word may stand alone), an empty key, one longer than PROTO_MAX_LINE, or a NUL byte: then
 * *line and *pos are left as they were (a caller must not read *line). Blank lines are skipped. */
int proto_next(const char *buf, size_t len, size_t *pos, struct proto_line *line);

/* The value of the first line whose key is key: DF_OK, or DF_ERR when no line before the end (or
 * before a line the reader refuses) has it. */
int proto_find(const char *buf, size_t len, const char *key, struct slice *val);

/* "assign: PIECE SIZE SUM UPLOADER ADDR"; SUM is xxh3-128 hex or "sha256:HEX" (digest_piece_parse) */
struct proto_assign {
	uint32_t piece;
	uint64_t size;
	struct digest_piece_sum sum;
	uint32_t uploader; /* the uploader's handle, echoed in the report */
	struct slice addr; /* "super" or "ADDR:PORT" of its piece server */
};
int proto_parse_assign(struct slice val, struct proto_assign *out);

/* "ok: PIECE UPLOADER [BODY_US]", "bad: PIECE UPLOADER", "fail: PIECE UPLOADER WHY..." */
struct proto_report {
	uint32_t piece;
	uint32_t uploader;
	struct slice why; /* fail only */
	int64_t body_us;  /* ok only: microseconds from the piece's first byte to its last; -1 if not said */
};
int proto_parse_report(struct slice val, struct proto_report *out);

/* Why a body was refused, for a 400 that names the cause: a static message, the 1-based line it was
 * found on (0: the body as a whole) and that line's key when the line itself parsed (else empty). */
struct proto_err {
	const char *why;
	unsigned line;
	struct slice key;
};
/* "WHAT: line N: KEY: WHY" into out (bytes of the key that are not printable shown as '?'). */
void proto_err_format(const struct proto_err *e, const char *what, char *out, size_t cap);

/* A peer's secret: 128 random bits as lower-case hex, given in the register answer and carried by
 * every later request of that registration (docs/PROTOCOL.md). */
/* The piece sizes a supernode may choose ([supernode] piece_size); a peer refuses others */
#define PROTO_PIECE_SIZE_MIN (16u << 10)
#define PROTO_PIECE_SIZE_MAX (256u << 20)
#define PROTO_SECRET_HEX 32
#define PROTO_HOST_HEX 32 /* a store's peer id ("host" in a registration) */

/* The registration body (POST /v1/register). Values are slices into the body; absent ones are
 * empty. The parser checks every line and the bounds below, so the caller may copy the values into
 * buffers of these sizes (each includes the NUL). */
#define PROTO_REG_URL_MAX 8180 /* a url line stays within PROTO_MAX_LINE (presigned URLs run long) */
#define PROTO_REG_FILTER_MAX 512
#define PROTO_REG_ADDR_MAX 64
#define PROTO_REG_HEADERS_MAX 8192 /* the header lines joined with CRLF, plus the NUL */
#define PROTO_REG_MAX_HEADERS 64
/* The bitmap of a registration comes in "have" lines of at most PROTO_HAVE_CHUNK hex digits each
 * (one line could not hold more than 32,768 pieces), in order, at most PROTO_REG_MAX_HAVE of them:
 * up to 4,096,000 pieces. */
#define PROTO_HAVE_CHUNK 8000
#define PROTO_REG_MAX_HAVE 128
/* A supernode's site id (16 lower-case hex digits, random per process) and the longest chain of
 * sites a registration may have come through: a tree of sites deeper than this is refused. */
#define PROTO_SITE_HEX 16
#define PROTO_VIA_MAX 8
#define PROTO_VIA_CAP (PROTO_VIA_MAX * (PROTO_SITE_HEX + 1)) /* a via list's text with its NUL */
struct proto_register {
	struct slice task;                     /* a valid task id (taskid_valid) */
	struct slice url;                      /* non-empty */
	struct digest_spec digest;             /* len 0 when absent */
	struct slice filter, addr, port;       /* addr: no blanks; port: decimal 0..65535 */
	struct slice have[PROTO_REG_MAX_HAVE]; /* even-length hex chunks of the bitmap, in order (its
						     * length is checked later) */
	unsigned nhave;
	struct slice header[PROTO_REG_MAX_HEADERS]; /* "Name: value" lines for the source, no CR */
	unsigned nheader;
	struct slice host;           /* the store's peer id: PROTO_HOST_HEX lower-case hex digits, or empty */
	int64_t replace;             /* "replace: HANDLE SECRET": the earlier handle, or -1 */
	struct slice replace_secret; /* its secret (may be empty: then nothing is replaced) */
	int cluster_source;          /* "source: cluster": the source is a df listener (df push) */
	struct slice via;            /* "via: SITE[,SITE...]": a child site's supernode registering, after
	                                  * the sites the request came through (docs/PROTOCOL.md); empty: a peer */
	unsigned nvia;               /* sites in via (1..PROTO_VIA_MAX), 0 without */
	int in_order;                /* "order: sequential": the peer streams the file from its start
				      * (sched_peer_in_order); "order: any" or absent: 0 */
};
/* DF_OK with out filled, DF_ERR with err naming the line and cause (a line the reader refuses, a
 * value out of bounds, a missing task or url). Unknown keys are skipped. */
int proto_parse_register(const char *buf, size_t len, struct proto_register *out, struct proto_err *err);

/* Whether the via list (as proto_parse_register checked it) names site. Pure. */
int proto_via_has(struct slice via, const char *site);

/* The reports of a work body (POST /v1/work): "idle", "ok|fail|bad|busy: PIECE UPLOADER [WHY]".
 * busy: the downloader could not start the assignment (no fetch slot): nobody is charged. */
enum proto_work_kind { PROTO_WORK_IDLE, PROTO_WORK_OK, PROTO_WORK_FAIL, PROTO_WORK_BAD, PROTO_WORK_BUSY };
struct proto_work_line {
	enum proto_work_kind kind;
	struct proto_report r; /* not for idle */
};
/* The next report at *pos: DF_OK, DF_AGAIN at the end, DF_ERR with err (a line the reader refuses,
 * a report whose numbers do not parse). Unknown keys are skipped. A caller that must not act on
 * half a body checks the whole body first (to DF_AGAIN), then applies it. */
int proto_next_work(const char *buf, size_t len, size_t *pos, struct proto_work_line *out, struct proto_err *err);

/* A heartbeat line (POST /v1/heartbeat): "task: ID PEER SECRET". */
struct proto_beat {
	struct slice task; /* a valid task id */
	uint32_t peer;
	struct slice secret; /* empty when the line has none (an old peer: it gets "unknown") */
};
/* The next task line at *pos, as proto_next_work. */
int proto_next_beat(const char *buf, size_t len, size_t *pos, struct proto_beat *out, struct proto_err *err);

/* The query of /v1/work and /v1/leave: "task=ID&peer=N&secret=HEX", any order, others ignored. */
struct proto_peer_ref {
	struct slice task, secret; /* empty when absent */
	int64_t peer;              /* -1 when absent */
};
/* DF_OK, or DF_ERR with err for a task that is not a task id or a peer that is not a number. */
int proto_parse_peer_query(struct slice query, struct proto_peer_ref *out, struct proto_err *err);

/* Decimal numbers: u64 without sign, i64 allowing "-1". DF_OK or DF_ERR (empty, junk, overflow). */
int proto_u64(struct slice s, uint64_t *out);
int proto_i64(struct slice s, int64_t *out);
/* File permission bits in octal ("0644"): only octal digits, at most max (0777, 07777). DF_OK or
 * DF_ERR (empty, junk, over max). */
int proto_mode(struct slice s, unsigned max, unsigned *out);

/* A bounded output buffer: appends that do not fit set overflow and write nothing more. */
struct proto_buf {
	char *p;
	size_t len, cap;
	int overflow;
};
void proto_buf_init(struct proto_buf *b, char *mem, size_t cap);
void proto_put(struct proto_buf *b, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Bitmaps as lower-case hex, bit i = piece i, most significant bit first within a byte (as the store keeps them). */
void proto_hex_bitmap(const uint8_t *bits, uint32_t nbits, char *out /* (nbits+7)/8*2+1 */);
int proto_parse_bitmap(struct slice hex, uint8_t *bits, uint32_t nbits);

#endif
