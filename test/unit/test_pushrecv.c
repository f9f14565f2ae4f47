/* Unit tests of pushrecv_resolve: pushed files land below the push directory and nowhere else. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/df.h"
#include "swarm/pushrecv.h"
#include "test/unit/unit.h"

static void resolve(void)
{
	char dir[512], out[1024], err[1024], outside[512], link[600], want[600];
	snprintf(dir, sizeof dir, "%s/push", unit_tmpdir());
	snprintf(outside, sizeof outside, "%s/outside", unit_tmpdir());
	mkdir(dir, 0755);
	mkdir(outside, 0755);
	CHECK_EQ(pushrecv_resolve(dir, "a/b/file.bin", out, sizeof out, err, sizeof err), DF_OK);
	snprintf(want, sizeof want, "%s/a/b/file.bin", dir);
	CHECK_STR(out, want);
	struct stat st;
	CHECK(stat(dir, &st) == 0 && stat(want, &st) != 0); /* folders made, the file not */
	snprintf(want, sizeof want, "%s/x", dir);
	CHECK_EQ(pushrecv_resolve(dir, want, out, sizeof out, err, sizeof err), DF_OK); /* absolute inside */
	CHECK_EQ(pushrecv_resolve(dir, "../escape", out, sizeof out, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "..") != NULL);
	CHECK_EQ(pushrecv_resolve(dir, "a/../../escape", out, sizeof out, err, sizeof err), DF_ERR);
	CHECK_EQ(pushrecv_resolve(dir, "/etc/passwd", out, sizeof out, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "outside") != NULL);
	snprintf(want, sizeof want, "%sx/file", dir); /* a sibling sharing the prefix */
	CHECK_EQ(pushrecv_resolve(dir, want, out, sizeof out, err, sizeof err), DF_ERR);
	CHECK_EQ(pushrecv_resolve(dir, "", out, sizeof out, err, sizeof err), DF_ERR);
	CHECK_EQ(pushrecv_resolve(dir, "a/b", out, sizeof out, err, sizeof err), DF_ERR); /* a directory */
	snprintf(link, sizeof link, "%s/ln", dir);
	CHECK(symlink(outside, link) == 0);
	CHECK_EQ(pushrecv_resolve(dir, "ln/file", out, sizeof out, err, sizeof err), DF_ERR);
	CHECK(strstr(err, "symbolic link") != NULL);
	CHECK_EQ(pushrecv_resolve(dir, "ln", out, sizeof out, err, sizeof err), DF_ERR);
	struct stat o;
	CHECK(stat(outside, &o) == 0);
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
	struct { const char *body, *why; } bad[] = {
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

static const struct unit_test tests[] = {{"resolve", resolve}, {"parse", parse}};
UNIT_MAIN("pushrecv", tests)
