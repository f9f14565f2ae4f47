/* Unit tests of the push receiver's destinations: pushed files land below the push directory and
 * nowhere else, even when a folder is swapped for a symlink while the download runs; a refused
 * request leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/df.h"
#include "store/store.h"
#include "swarm/pushrecv.h"
#include "test/unit/unit.h"

static char dir[512], outside[512];
static int dirfd_;

static void setup(void)
{
	snprintf(dir, sizeof dir, "%s/push", unit_tmpdir());
	snprintf(outside, sizeof outside, "%s/outside", unit_tmpdir());
	mkdir(dir, 0755);
	mkdir(outside, 0755);
	if (!dirfd_)
		dirfd_ = open(dir, O_RDONLY | O_DIRECTORY);
}

#define HEX64 "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"

/* pushrecv_parse_request: what the handler accepts before anything touches the disk */
static void parse(void)
{
	static struct pushrecv_request rq;
	const char *why = NULL;
	const char *ok = "url: http://h/f\ndigest: sha256:" HEX64 "\ndest: a/b\nmode: 0755\nfuture: ignored\n";
	CHECK_EQ(pushrecv_parse_request(ok, strlen(ok), &rq, &why), DF_OK);
	CHECK_STR(rq.url, "http://h/f");
	CHECK_STR(rq.dest, "a/b");
	CHECK_EQ(rq.mode, 0755);
	CHECK_EQ(rq.digest.len, 32);
	const char *dflt = "url: http://h/f\r\ndigest: sha256:" HEX64 "\r\n";
	CHECK_EQ(pushrecv_parse_request(dflt, strlen(dflt), &rq, &why), DF_OK);
	CHECK_EQ(rq.mode, 0644);
	CHECK_STR(rq.dest, "");
	struct {
		const char *body, *why;
	} bad[] = {
		{"digest: sha256:" HEX64 "\n", "no url"},
		{"url: http://h/f\n", "digest"},
		{"url: http://h/f\ndigest: sha256:12\n", "digest"},
		{"url: http://h/f\ndigest: sha256:" HEX64 "\nmode: 10000\n", "mode"},
		{"url: http://h/f\ndigest: sha256:" HEX64 "\nmode: 0x1ff\n", "mode"},
		{"url: http://h/f\ndigest: sha256:" HEX64 "\nmode: -1\n", "mode"},
		{"url: http://h/f\ndigest: sha256:" HEX64 "\nmode:\n", "mode"},
		/* found by fuzz_push_body: a CR inside the url line would reach the source request */
		{"url: http://h/f\rX-Evil: 1\ndigest: sha256:" HEX64 "\n", "control character"},
		{"url: http://h/f\ndigest: sha256:" HEX64 "\ndest: a\tb\n", "control character"},
		/* a bad line after good ones was skipped silently, with the lines after it */
		{"url: http://h/f\ndigest: sha256:" HEX64 "\nbad line\nmode: 0600\n", "malformed"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		CHECK_EQ(pushrecv_parse_request(bad[i].body, strlen(bad[i].body), &rq, &why), DF_ERR);
		CHECK(why && strstr(why, bad[i].why));
	}
	/* a value over its buffer is refused, not left at an earlier line's value */
	static char big[6000];
	int n = snprintf(big, sizeof big, "url: http://h/short\ndigest: sha256:" HEX64 "\nurl: http://h/");
	memset(big + n, 'a', 5000);
	n += 5000;
	CHECK_EQ(pushrecv_parse_request(big, (size_t)n, &rq, &why), DF_ERR);
	CHECK(strstr(why, "too long") != NULL);
}

static int target(const char *dest, struct push_target *tg, char *err, size_t errlen)
{
	return pushrecv_open_target(dirfd_, dir, dest, tg, err, errlen);
}

static void resolve(void)
{
	char err[1024], link[600], want[600];
	struct push_target tg;
	setup();
	CHECK_EQ(target("a/b/file.bin", &tg, err, sizeof err), DF_OK);
	snprintf(want, sizeof want, "%s/a/b/file.bin", dir);
	CHECK_STR(tg.path, want);
	CHECK_STR(tg.name, "file.bin");
	struct stat st;
	snprintf(want, sizeof want, "%s/a/b", dir);
	CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode)); /* folders made, the file not */
	snprintf(want, sizeof want, "%s/a/b/file.bin", dir);
	CHECK(stat(want, &st) != 0);
	pushrecv_target_close(&tg);
	snprintf(want, sizeof want, "%s/x", dir);
	CHECK_EQ(target(want, &tg, err, sizeof err), DF_OK); /* absolute inside */
	pushrecv_target_close(&tg);
	CHECK_EQ(target("../escape", &tg, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "..") != NULL);
	CHECK_EQ(target("a/../../escape", &tg, err, sizeof err), DF_ERR);
	CHECK_EQ(target("/etc/passwd", &tg, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "outside") != NULL);
	snprintf(want, sizeof want, "%sx/file", dir); /* a sibling sharing the prefix */
	CHECK_EQ(target(want, &tg, err, sizeof err), DF_ERR);
	CHECK_EQ(target("", &tg, err, sizeof err), DF_ERR);
	CHECK_EQ(target("a/b", &tg, err, sizeof err), DF_ERR); /* a directory */
	CHECK(strstr(err, "is a directory") != NULL);
	snprintf(want, sizeof want, "%s/fifo", dir); /* a rename would replace it with a regular file */
	CHECK(mkfifo(want, 0600) == 0);
	CHECK_EQ(target("fifo", &tg, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "not a regular file") != NULL);
	CHECK_EQ(target("a/nl\nname", &tg, err, sizeof err), DF_ERR); /* control characters */
	CHECK(strstr(err, "control character") != NULL);
	snprintf(link, sizeof link, "%s/ln", dir);
	CHECK(symlink(outside, link) == 0);
	CHECK_EQ(target("ln/file", &tg, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK_EQ(target("ln", &tg, err, sizeof err), DF_ERR);
	CHECK_EQ(target("ln/deeper/file", &tg, err, sizeof err), DF_ERR);
	struct stat o;
	CHECK(stat(outside, &o) == 0);
	snprintf(want, sizeof want, "%s/deeper", outside);
	CHECK(stat(want, &o) != 0);
	CHECK_EQ(tg.dirfd, -1);
}

/* A refused request makes no folder (a/../../x once left push/a behind). */
static void refused_leaves_nothing(void)
{
	char err[1024], p[600], longname[400];
	struct push_target tg;
	struct stat st;
	setup();
	CHECK_EQ(target("new1/../../x", &tg, err, sizeof err), DF_ERR);
	snprintf(p, sizeof p, "%s/new1", dir);
	CHECK(stat(p, &st) != 0);
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	snprintf(p, sizeof p, "new2/%s", longname);
	CHECK_EQ(target(p, &tg, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "too long") != NULL);
	CHECK_EQ(target("new2/x\x7f", &tg, err, sizeof err), DF_ERR);
	snprintf(p, sizeof p, "%s/new2", dir);
	CHECK(stat(p, &st) != 0);
	snprintf(p, sizeof p, "%s/afile", dir);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	CHECK_EQ(target("afile/sub/x", &tg, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "not a directory") != NULL);
	CHECK_EQ(tg.dirfd, -1);
}

/* The race: the request is checked, then a folder on the way is replaced by a symlink to outside
 * before the download ends. The file lands in the folder that was checked, never outside. */
struct written {
	int called, rc;
};

static void on_written(void *ctx, int rc, const char *msg)
{
	(void)msg;
	struct written *w = ctx;
	w->called = 1;
	w->rc = rc;
}

/* pushrecv_write to its end (the copy runs on the exporter's thread; the loop takes its answer). */
static int write_now(const struct push_target *tg, struct store_task *t, unsigned mode)
{
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	struct written w = {0};
	char e[512];
	if (!pushrecv_write(loop, tg, t, mode, on_written, &w, e, sizeof e))
		return DF_ERR;
	while (!w.called)
		ev_run(loop, EVRUN_ONCE);
	return w.rc;
}

static void swap_for_symlink(void)
{
	char err[1024], p[600], q[600];
	struct push_target tg;
	struct stat st;
	setup();
	struct store *s = store_open(unit_tmpdir(), err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	struct store_task_info info = {.length = 1000, .piece_size = 1024};
	struct store_task *t = store_task_open(s, "ab", &info, STORE_CREATE, err, sizeof err);
	CHECK(t != NULL);
	if (!t)
		return;
	char buf[1000];
	memset(buf, 'x', sizeof buf);
	CHECK_EQ(store_piece_write(t, 0, buf, sizeof buf, NULL, err, sizeof err), DF_OK);
	CHECK_EQ(target("race/sub/f.bin", &tg, err, sizeof err), DF_OK);
	/* meanwhile: race/ moved away, and a link to outside put in its place */
	snprintf(p, sizeof p, "%s/race", dir);
	snprintf(q, sizeof q, "%s/race.moved", dir);
	CHECK_EQ(rename(p, q), 0);
	CHECK_EQ(symlink(outside, p), 0);
	snprintf(q, sizeof q, "%s/sub", outside);
	mkdir(q, 0755);
	CHECK_EQ(write_now(&tg, t, 0640), DF_OK);
	pushrecv_target_close(&tg);
	snprintf(q, sizeof q, "%s/sub/f.bin", outside);
	CHECK(stat(q, &st) != 0); /* nothing outside */
	snprintf(q, sizeof q, "%s/race.moved/sub/f.bin", dir);
	CHECK(stat(q, &st) == 0 && st.st_size == 1000 && (st.st_mode & 07777) == 0640);
	/* and the folder itself replaced (sub removed, a link in its place): the write fails */
	CHECK_EQ(target("race2/sub/f.bin", &tg, err, sizeof err), DF_OK);
	snprintf(p, sizeof p, "%s/race2/sub", dir);
	CHECK_EQ(rmdir(p), 0);
	CHECK_EQ(symlink(outside, p), 0);
	CHECK_EQ(write_now(&tg, t, 0644), DF_ERR);
	pushrecv_target_close(&tg);
	snprintf(q, sizeof q, "%s/f.bin", outside);
	CHECK(stat(q, &st) != 0);
	store_task_close(t);
	store_close(s);
}

static const struct unit_test tests[] = {{"resolve", resolve},
					 {"parse", parse},
					 {"refused_leaves_nothing", refused_leaves_nothing},
					 {"swap_for_symlink", swap_for_symlink}};
UNIT_MAIN("pushrecv", tests)
