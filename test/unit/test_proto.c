/* Unit tests of core/proto and core/taskid: line reading (also split at every byte), assign and
 * report values, the bounded writer, bitmaps, ids, and the supernode's request bodies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/df.h"
#include "core/proto.h"
#include "core/taskid.h"
#include "test/unit/unit.h"

static void lines(void)
{
	const char *b = "task: url-00\r\n\n  length :  -1 \nwait\nassign: 3 100 000102030405060708090a0b0c0d0e0f 5 10.0.0.1:7";
	size_t pos = 0, len = strlen(b);
	struct proto_line l;
	CHECK_EQ(proto_next(b, len, &pos, &l), DF_OK);
	CHECK(slice_eq(l.key, "task") && slice_eq(l.val, "url-00"));
	CHECK_EQ(proto_next(b, len, &pos, &l), DF_OK);
	CHECK(slice_eq(l.key, "length") && slice_eq(l.val, "-1"));
	int64_t v;
	CHECK(proto_i64(l.val, &v) == DF_OK && v == -1);
	CHECK_EQ(proto_next(b, len, &pos, &l), DF_OK);
	CHECK(slice_eq(l.key, "wait") && l.val.n == 0);
	CHECK_EQ(proto_next(b, len, &pos, &l), DF_OK);
	CHECK(slice_eq(l.key, "assign"));
	struct proto_assign a;
	CHECK_EQ(proto_parse_assign(l.val, &a), DF_OK);
	CHECK_EQ(a.piece, 3);
	CHECK_EQ(a.size, 100);
	CHECK_EQ(a.sum.algo, DIGEST_PIECE_XXH3);
	CHECK_EQ(a.sum.bytes[15], 15);
	CHECK_EQ(a.uploader, 5);
	CHECK(slice_eq(a.addr, "10.0.0.1:7"));
	CHECK_EQ(proto_next(b, len, &pos, &l), DF_AGAIN);
}

static void bad_lines(void)
{
	struct proto_line l;
	size_t pos = 0;
	CHECK_EQ(proto_next("two words\n", 10, &pos, &l), DF_ERR);
	pos = 0;
	CHECK_EQ(proto_next(": x\n", 4, &pos, &l), DF_ERR);
	pos = 0;
	CHECK_EQ(proto_next("a\0b: c\n", 7, &pos, &l), DF_ERR);
	char *big = malloc(PROTO_MAX_LINE + 10);
	memset(big, 'a', PROTO_MAX_LINE + 10);
	big[0] = 'k';
	big[1] = ':';
	pos = 0;
	CHECK_EQ(proto_next(big, PROTO_MAX_LINE + 10, &pos, &l), DF_ERR);
	free(big);
	struct proto_assign a;
	CHECK_EQ(proto_parse_assign(slice_of("3 100 0001 1 x"), &a), DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("x 100 000102030405060708090a0b0c0d0e0f 1 y"), &a), DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("3 100 000102030405060708090a0b0c0d0e0f 1"), &a), DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("3 100 000102030405060708090a0b0c0d0e0f y z"), &a), DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("3 100 000102030405060708090a0b0c0d0e0f 1 y z"), &a), DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("99999999999 1 000102030405060708090a0b0c0d0e0f 1 y"), &a), DF_ERR);
	uint64_t u;
	CHECK_EQ(proto_u64(slice_of("18446744073709551616"), &u), DF_ERR);
	CHECK_EQ(proto_u64(slice_of("18446744073709551615"), &u), DF_OK);
	/* permission bits in octal, at most a bound (hand-offs 0777, pushes 07777) */
	unsigned m = 0;
	CHECK(proto_mode(slice_of("0640"), 0777, &m) == DF_OK && m == 0640);
	CHECK(proto_mode(slice_of("4755"), 07777, &m) == DF_OK && m == 04755);
	CHECK_EQ(proto_mode(slice_of("4755"), 0777, &m), DF_ERR);
	const char *bad_modes[] = {"", "8", "-1", "+644", " 644", "0x1ff", "77777777777777777777"};
	for (size_t i = 0; i < DF_ARRAY_LEN(bad_modes); i++)
		CHECK_EQ(proto_mode(slice_of(bad_modes[i]), 07777, &m), DF_ERR);
	CHECK_EQ(proto_u64(slice_of(""), &u), DF_ERR);
}

/* Every split of a body must give the same lines as the whole, up to the split line. */
static void split_everywhere(void)
{
	const char *b = "task: a\nok: 1 0\nfail: 2 7 connection reset\nbad: 3 9\n";
	size_t len = strlen(b);
	for (size_t cut = 0; cut <= len; cut++) {
		size_t pos = 0;
		struct proto_line l;
		int n = 0, rc;
		while ((rc = proto_next(b, cut, &pos, &l)) == DF_OK)
			n++;
		CHECK(rc == DF_AGAIN);
		CHECK(pos == cut);
		CHECK(n <= 4);
	}
	struct proto_report r;
	CHECK_EQ(proto_parse_report(slice_of("2 7 connection reset"), &r), DF_OK);
	CHECK(r.piece == 2 && r.uploader == 7 && slice_eq(r.why, "connection reset"));
	CHECK_EQ(proto_parse_report(slice_of("2 x"), &r), DF_ERR);
	CHECK_EQ(proto_parse_report(slice_of("2"), &r), DF_ERR);
}

/* The SUM field names its algorithm: bare 32 hex digits are xxh3-128, "sha256:" + 64 digits SHA-256;
 * anything between is refused (a peer must never take one for the other). */
static void assign_sums(void)
{
	const char *sha = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	char line[256], text[DIGEST_PIECE_TEXT_MAX];
	struct proto_assign a;
	snprintf(line, sizeof line, "7 262144 %s 2 10.0.0.9:65100", sha);
	CHECK_EQ(proto_parse_assign(slice_of(line), &a), DF_OK);
	CHECK_EQ(a.sum.algo, DIGEST_PIECE_SHA256);
	CHECK_EQ(a.piece, 7);
	CHECK_EQ(a.size, 262144);
	CHECK_EQ(a.uploader, 2);
	CHECK(slice_eq(a.addr, "10.0.0.9:65100"));
	CHECK_EQ(a.sum.bytes[0], 0xba);
	CHECK_EQ(a.sum.bytes[31], 0xad);
	digest_piece_format(&a.sum, text);
	CHECK_STR(text, sha);
	/* the same line split at every byte: a prefix parses only when it is a whole valid line */
	size_t len = strlen(line);
	for (size_t cut = 0; cut < len; cut++) {
		int rc = proto_parse_assign((struct slice){line, cut}, &a);
		CHECK(rc == DF_ERR || (cut > 0 && line[cut - 1] != ' '));
	}
	/* upper-case hex is read; the algorithm name is not case-folded */
	CHECK_EQ(proto_parse_assign(slice_of("1 5 sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD 0 super"), &a),
		 DF_OK);
	CHECK_EQ(a.sum.algo, DIGEST_PIECE_SHA256);
	CHECK_EQ(proto_parse_assign(slice_of("1 5 SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 0 super"), &a),
		 DF_ERR);
	/* 64 bare digits are not a SHA-256 (nor an xxh3), a prefix without digits is nothing */
	CHECK_EQ(proto_parse_assign(slice_of("1 5 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 0 super"), &a),
		 DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("1 5 sha256: 0 super"), &a), DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("1 5 sha256:000102030405060708090a0b0c0d0e0f 0 super"), &a), DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("1 5 xxh3:000102030405060708090a0b0c0d0e0f 0 super"), &a), DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("1 5 sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a 0 super"), &a),
		 DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("1 5 sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015adx 0 super"), &a),
		 DF_ERR);
	CHECK_EQ(proto_parse_assign(slice_of("1 5 sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 0 super"), &a),
		 DF_ERR);
	/* and xxh3 sums format back to bare hex */
	CHECK_EQ(proto_parse_assign(slice_of("1 5 000102030405060708090A0B0C0D0E0F 0 super"), &a), DF_OK);
	digest_piece_format(&a.sum, text);
	CHECK_STR(text, "000102030405060708090a0b0c0d0e0f");
}

static void writer(void)
{
	char mem[32];
	struct proto_buf b;
	proto_buf_init(&b, mem, sizeof mem);
	proto_put(&b, "length", "%d", 42);
	proto_put(&b, "wait", NULL);
	CHECK_STR(mem, "length: 42\nwait\n");
	proto_put(&b, "x", "%s", "a very long value that does not fit");
	CHECK(b.overflow);
	CHECK_STR(mem, "length: 42\nwait\n");
}

static void bitmaps(void)
{
	uint8_t bits[2] = {0x05, 0x80}, back[2];
	char hex[5];
	proto_hex_bitmap(bits, 9, hex);
	CHECK_STR(hex, "0580");
	CHECK_EQ(proto_parse_bitmap(slice_of("0580"), back, 9), DF_OK);
	CHECK(back[0] == 5 && back[1] == 0x80);
	CHECK_EQ(proto_parse_bitmap(slice_of("05c0"), back, 9), DF_ERR);
	CHECK_EQ(proto_parse_bitmap(slice_of("05"), back, 9), DF_ERR);
}

static void ids(void)
{
	char id[TASKID_MAX];
	taskid_from_url("http://h/f", 10, id);
	CHECK_EQ(strlen(id), TASKID_URL_HEX);
	CHECK(taskid_valid(id, strlen(id)));
	struct digest_spec d;
	const char *s = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	digest_spec_parse(s, strlen(s), &d);
	taskid_from_digest(&d, id);
	CHECK_STR(id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(taskid_valid(id, strlen(id)));
	CHECK(!taskid_valid("../../etc/passwd0000000000000000", 32));
	CHECK(!taskid_valid("BA7816BF8F01CFEA414140DE5DAE2223", 32));
	CHECK(!taskid_valid("ba7816bf8f01cfea414140de5dae222", 31));
	CHECK(!taskid_valid("", 0));
}

#define SHA "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* The error of body b under parse, formatted as the supernode sends it. */
static const char *reg_err(const char *b)
{
	static char out[256];
	struct proto_register r;
	struct proto_err e;
	if (proto_parse_register(b, strlen(b), &r, &e) == DF_OK)
		return "ok";
	proto_err_format(&e, "register", out, sizeof out);
	return out;
}

static void registrations(void)
{
	const char *b = "task: " SHA "\nurl: http://h/f\ndigest: sha256:" SHA "\nheader: A: b\n\nheader: C: d\n"
			"port: 8\naddr: 10.0.0.1:8\nhave: 00ff\nreplace: 3 0011\nunknown: x\n"
			"host: 0123456789abcdef0123456789abcdef\n";
	struct proto_register r;
	struct proto_err e;
	CHECK_EQ(proto_parse_register(b, strlen(b), &r, &e), DF_OK);
	CHECK(slice_eq(r.task, SHA) && slice_eq(r.url, "http://h/f") && r.digest.len == 32);
	CHECK(r.nheader == 2 && slice_eq(r.header[0], "A: b") && slice_eq(r.header[1], "C: d"));
	CHECK(slice_eq(r.port, "8") && slice_eq(r.addr, "10.0.0.1:8") && r.nhave == 1 && slice_eq(r.have[0], "00ff"));
	CHECK(r.replace == 3 && slice_eq(r.replace_secret, "0011"));
	CHECK(slice_eq(r.host, "0123456789abcdef0123456789abcdef"));
	CHECK_STR(reg_err("host: 0123\n"), "register: line 1: host: not a store id (32 hex digits)");
	/* a bitmap in several have lines (one line holds at most 32,000 pieces), in order, 128 at most */
	const char *mh = "task: " SHA "\nurl: http://h/f\nhave: 00ff\nhave: a0\nhave: 01\n";
	CHECK_EQ(proto_parse_register(mh, strlen(mh), &r, &e), DF_OK);
	CHECK(r.nhave == 3 && slice_eq(r.have[0], "00ff") && slice_eq(r.have[1], "a0") && slice_eq(r.have[2], "01"));
	static char manyhave[8192];
	int k = snprintf(manyhave, sizeof manyhave, "task: " SHA "\nurl: http://h/f\n");
	for (int i = 0; i < PROTO_REG_MAX_HAVE + 1; i++)
		k += snprintf(manyhave + k, sizeof manyhave - (size_t)k, "have: 00\n");
	CHECK_EQ(proto_parse_register(manyhave, (size_t)k, &r, &e), DF_ERR);
	char msg[256];
	proto_err_format(&e, "register", msg, sizeof msg);
	CHECK(strstr(msg, "too many have lines") != NULL);
	CHECK_EQ(r.cluster_source, 0);
	const char *cs = "task: " SHA "\nurl: http://h/v1/file/x\nsource: cluster\n";
	CHECK_EQ(proto_parse_register(cs, strlen(cs), &r, &e), DF_OK);
	CHECK_EQ(r.cluster_source, 1);
	CHECK_STR(reg_err("source: origin\n"), "register: line 1: source: not 'cluster'");
	/* order: a peer that streams the file from its start */
	CHECK_EQ(r.in_order, 0);
	const char *ob = "task: " SHA "\nurl: http://h/f\norder: sequential\n";
	CHECK_EQ(proto_parse_register(ob, strlen(ob), &r, &e), DF_OK);
	CHECK_EQ(r.in_order, 1);
	const char *oa = "task: " SHA "\nurl: http://h/f\norder: sequential\norder: any\n";
	CHECK_EQ(proto_parse_register(oa, strlen(oa), &r, &e), DF_OK);
	CHECK_EQ(r.in_order, 0);
	CHECK_STR(reg_err("order: backwards\n"), "register: line 1: order: not 'sequential' or 'any'");
	/* via: the sites a child supernode's registration came through (issue 17) */
	CHECK_EQ(r.nvia, 0);
	const char *vb = "task: " SHA "\nurl: http://h/f\nvia: 0123456789abcdef,fedcba9876543210\n";
	CHECK_EQ(proto_parse_register(vb, strlen(vb), &r, &e), DF_OK);
	CHECK(r.nvia == 2 && slice_eq(r.via, "0123456789abcdef,fedcba9876543210"));
	CHECK(proto_via_has(r.via, "fedcba9876543210") && proto_via_has(r.via, "0123456789abcdef"));
	CHECK(!proto_via_has(r.via, "0123456789abcdee") && !proto_via_has(r.via, "23456789abcdef,f"));
	const char *why = "register: line 1: via: not 'SITE[,SITE...]' (up to 8 sites of 16 lower-case hex digits)";
	CHECK_STR(reg_err("via: 0123456789ABCDEF\n"), why);
	CHECK_STR(reg_err("via: 0123456789abcdef,\n"), why);
	CHECK_STR(reg_err("via: 0123456789abcde\n"), why);
	CHECK_STR(reg_err("via: 0123456789abcdef 0123456789abcdef\n"), why);
	CHECK_STR(reg_err("via:\n"), why);
	char deep[256] = "via: ";
	for (int i = 0; i < PROTO_VIA_MAX; i++)
		strcat(deep, i ? ",0123456789abcdef" : "0123456789abcdef");
	CHECK_STR(reg_err(deep), "register: needs task and url"); /* 8 sites: fine */
	strcat(deep, ",0123456789abcdef");
	CHECK_STR(reg_err(deep), why);
	/* every error names the line and the cause, and the reader's own refusals too (issue 13: the
	 * cause of "a b" was printed from a line the reader never filled) */
	CHECK_STR(reg_err("a b\n"), "register: line 1: not a 'key: value' line");
	CHECK_STR(reg_err("task: 00\nurl: x\n"), "register: line 1: task: not a task id");
	CHECK_STR(reg_err("url: x\n\n\nheader: a\rb\n"), "register: line 4: header: contains a CR");
	CHECK_STR(reg_err("url: x\n: y\n"), "register: line 2: empty key");
	CHECK_STR(reg_err("url: x\n"), "register: needs task and url");
	CHECK_STR(reg_err("port: 65536\n"), "register: line 1: port: not a port number");
	CHECK_STR(reg_err("have: 0g\n"), "register: line 1: have: not a hex bitmap");
	CHECK_STR(reg_err("have: 000\n"), "register: line 1: have: not a hex bitmap");
	CHECK_STR(reg_err("addr: a b\n"), "register: line 1: addr: not an address (blanks, or longer than 63 bytes)");
	CHECK_STR(reg_err("replace: -1 x\n"), "register: line 1: replace: not 'HANDLE SECRET'");
	CHECK_STR(reg_err("digest: md5:zz\n"), "register: line 1: digest: not a digest (sha256:HEX or md5:HEX)");
	CHECK_STR(reg_err("\x01\x7f: v\n"), "register: needs task and url"); /* odd keys are unknown keys */
	char nul[] = "task: 00\0\nurl: y\n";
	CHECK_EQ(proto_parse_register(nul, sizeof nul - 1, &r, &e), DF_ERR);
	CHECK(e.line == 1 && strstr(e.why, "NUL") && e.key.n == 0);
	/* too many headers */
	char many[4096] = "";
	for (int i = 0; i < PROTO_REG_MAX_HEADERS + 1; i++)
		strcat(many, "header: a: b\n");
	CHECK(strstr(reg_err(many), "line 65: header: too many"));
	/* cut anywhere: never reads past the cut, and the whole parses */
	for (size_t cut = 0; cut <= strlen(b); cut++)
		proto_parse_register(b, cut, &r, &e);
}

static void work_bodies(void)
{
	const char *b = "idle\nok: 1 0\nwhat: ever\nok: 4 2 81234\nok: 5 2 later\nfail: 2 7 connection reset\nbad: 3 9\n";
	size_t pos = 0;
	struct proto_work_line w;
	struct proto_err e;
	CHECK_EQ(proto_next_work(b, strlen(b), &pos, &w, &e), DF_OK);
	CHECK_EQ(w.kind, PROTO_WORK_IDLE);
	CHECK_EQ(proto_next_work(b, strlen(b), &pos, &w, &e), DF_OK);
	CHECK(w.kind == PROTO_WORK_OK && w.r.piece == 1 && w.r.uploader == 0 && w.r.body_us == -1);
	CHECK_EQ(proto_next_work(b, strlen(b), &pos, &w, &e), DF_OK);
	CHECK(w.kind == PROTO_WORK_OK && w.r.piece == 4 && w.r.uploader == 2 && w.r.body_us == 81234);
	CHECK_EQ(proto_next_work(b, strlen(b), &pos, &w, &e), DF_OK);
	CHECK(w.kind == PROTO_WORK_OK && w.r.piece == 5 && w.r.body_us == -1);  /* not a number: ignored */
	CHECK_EQ(proto_next_work(b, strlen(b), &pos, &w, &e), DF_OK);
	CHECK(w.kind == PROTO_WORK_FAIL && w.r.piece == 2 && slice_eq(w.r.why, "connection reset") && w.r.body_us == -1);
	CHECK_EQ(proto_next_work(b, strlen(b), &pos, &w, &e), DF_OK);
	CHECK(w.kind == PROTO_WORK_BAD && w.r.uploader == 9);
	CHECK_EQ(proto_next_work(b, strlen(b), &pos, &w, &e), DF_AGAIN);
	/* a downloader handing an assignment back (no fetch slot): not a failure of the uploader */
	const char *busy = "busy: 4 2\n";
	pos = 0;
	CHECK_EQ(proto_next_work(busy, strlen(busy), &pos, &w, &e), DF_OK);
	CHECK(w.kind == PROTO_WORK_BUSY && w.r.piece == 4 && w.r.uploader == 2);
	const char *bad = "ok: 1 0\n\nbad: x 1\n";
	pos = 0;
	CHECK_EQ(proto_next_work(bad, strlen(bad), &pos, &w, &e), DF_OK);
	CHECK_EQ(proto_next_work(bad, strlen(bad), &pos, &w, &e), DF_ERR);
	char out[128];
	proto_err_format(&e, "work", out, sizeof out);
	CHECK_STR(out, "work: line 3: bad: not 'PIECE UPLOADER [WHY]'");
	pos = 0;
	CHECK_EQ(proto_next_work("ok 1 2\n", 7, &pos, &w, &e), DF_ERR);
	CHECK(e.line == 1 && e.key.n == 0);
}

static void beats_and_queries(void)
{
	const char *b = "task: " SHA " 3 00ff\ntask: " SHA " 4\n";
	size_t pos = 0;
	struct proto_beat t;
	struct proto_err e;
	CHECK_EQ(proto_next_beat(b, strlen(b), &pos, &t, &e), DF_OK);
	CHECK(slice_eq(t.task, SHA) && t.peer == 3 && slice_eq(t.secret, "00ff"));
	CHECK_EQ(proto_next_beat(b, strlen(b), &pos, &t, &e), DF_OK);
	CHECK(t.peer == 4 && t.secret.n == 0);
	CHECK_EQ(proto_next_beat(b, strlen(b), &pos, &t, &e), DF_AGAIN);
	pos = 0;
	CHECK_EQ(proto_next_beat("task: zz 1 2\n", 13, &pos, &t, &e), DF_ERR);
	pos = 0;
	const char *extra = "task: " SHA " 1 2 3\n";
	CHECK_EQ(proto_next_beat(extra, strlen(extra), &pos, &t, &e), DF_ERR);
	struct proto_peer_ref q;
	CHECK_EQ(proto_parse_peer_query(slice_of("x=1&peer=7&task=" SHA "&secret=ab&&z"), &q, &e), DF_OK);
	CHECK(q.peer == 7 && slice_eq(q.task, SHA) && slice_eq(q.secret, "ab"));
	CHECK_EQ(proto_parse_peer_query(slice_of(""), &q, &e), DF_OK);
	CHECK(q.peer == -1 && q.task.n == 0 && q.secret.n == 0);
	CHECK_EQ(proto_parse_peer_query(slice_of("peer=-1"), &q, &e), DF_ERR);
	CHECK_EQ(proto_parse_peer_query(slice_of("task=../x"), &q, &e), DF_ERR);
	struct slice v;
	CHECK(proto_find("a: 1\nsecret: s\n", 15, "secret", &v) == DF_OK && slice_eq(v, "s"));
	CHECK_EQ(proto_find("a b\nsecret: s\n", 14, "secret", &v), DF_ERR);
}

static const struct unit_test tests[] = {
	{"lines", lines},
	{"bad_lines", bad_lines},
	{"split_everywhere", split_everywhere},
	{"assign_sums", assign_sums},
	{"writer", writer},
	{"bitmaps", bitmaps},
	{"ids", ids},
	{"registrations", registrations},
	{"work_bodies", work_bodies},
	{"beats_and_queries", beats_and_queries},
};
UNIT_MAIN("proto", tests)
