/* Unit tests of the unit runner itself (test/unit/unit.c): a skipped test is reported "skip" with
 * its reason and is not counted as passed, a failed check wins over a later skip, and the exit code
 * tells test/run.sh which of FAIL, SKIP and ok to record. Inner runs write to a file, not to this
 * binary's own output, so run.sh never mistakes their lines for ours. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "test/unit/unit.h"

static void t_pass(void) { CHECK(1); }
static void t_fail(void) { CHECK(0); }
static void t_skip(void) { UNIT_SKIP("no %s here", "widget"); }
static void t_fail_then_skip(void)
{
	CHECK(0);
	UNIT_SKIP("too late");
}

/* Runs the table as its own suite with stdout into a file; returns unit_run's exit code and the
 * output in out. The failed checks of the inner tests do not count against this binary's tests. */
static int inner(const struct unit_test *t, size_t n, char *out, size_t cap)
{
	char path[300];
	snprintf(path, sizeof path, "%s/inner.out", unit_tmpdir());
	int saved_checks = unit_failed_checks;
	fflush(stdout);
	int keep = dup(1), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (keep < 0 || fd < 0) {
		CHECK(!"cannot redirect stdout");
		return -1;
	}
	dup2(fd, 1);
	close(fd);
	char *argv[] = {"inner", NULL};
	int rc = unit_run("inner", t, n, 1, argv);
	fflush(stdout);
	dup2(keep, 1);
	close(keep);
	unit_failed_checks = saved_checks;
	FILE *f = fopen(path, "r");
	size_t got = f ? fread(out, 1, cap - 1, f) : 0;
	out[got] = 0;
	if (f)
		fclose(f);
	return rc;
}

static void skip_is_not_pass(void)
{
	char out[2048];
	const struct unit_test t[] = {{"p", t_pass}, {"s", t_skip}};
	CHECK_EQ(inner(t, 2, out, sizeof out), 0);
	CHECK(strstr(out, "  ok   inner.p\n") != NULL);
	CHECK(strstr(out, "  skip inner.s (no widget here)\n") != NULL);
	CHECK(strstr(out, "inner: 1 passed, 0 failed, 1 skipped\n") != NULL);
}

static void all_skipped_is_77(void)
{
	char out[2048];
	const struct unit_test t[] = {{"s", t_skip}};
	CHECK_EQ(inner(t, 1, out, sizeof out), 77);
	CHECK(strstr(out, "inner: 0 passed, 0 failed, 1 skipped\n") != NULL);
}

static void failure_wins(void)
{
	char out[2048];
	const struct unit_test t[] = {{"p", t_pass}, {"f", t_fail}, {"fs", t_fail_then_skip}, {"s", t_skip}};
	CHECK_EQ(inner(t, 4, out, sizeof out), 1);
	CHECK(strstr(out, "  FAIL inner.f\n") != NULL);
	CHECK(strstr(out, "  FAIL inner.fs\n") != NULL);
	CHECK(strstr(out, "inner: 1 passed, 2 failed, 1 skipped\n") != NULL);
}

static const struct unit_test tests[] = {
	{"skip_is_not_pass", skip_is_not_pass}, {"all_skipped_is_77", all_skipped_is_77}, {"failure_wins", failure_wins}};
UNIT_MAIN("unit", tests)
