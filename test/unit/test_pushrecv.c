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

static const struct unit_test tests[] = {{"resolve", resolve}};
UNIT_MAIN("pushrecv", tests)
