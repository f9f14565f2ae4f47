/* The unit-test runner: runs a table of tests, counts failed checks per test, prints the summary.
 * Also owns a scratch directory so tests that touch disk clean up after themselves. */
#include "test/unit/unit.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

int unit_failed_checks;
static char tmpdir[256];
static char skip_reason[256]; /* set by unit_skip during the current test */

void unit_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(skip_reason, sizeof skip_reason, fmt, ap);
	va_end(ap);
	if (!skip_reason[0])
		snprintf(skip_reason, sizeof skip_reason, "no reason given");
}

const char *unit_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/dfunit.XXXXXX", base && *base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return tmpdir;
}

const char *unit_pki(const char *name)
{
	static char pki[512], buf[4][600];
	static int k;
	if (!pki[0]) {
		char cmd[700];
		snprintf(pki, sizeof pki, "%s/pki", unit_tmpdir());
		snprintf(cmd, sizeof cmd, "sh test/tools/tls_certs.sh '%s' >/dev/null 2>&1", pki);
		if (system(cmd) != 0) {
			fprintf(stderr,
				"test/tools/tls_certs.sh failed (run from the repository root; needs openssl)\n");
			exit(2);
		}
	}
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", pki, name);
	return buf[k];
}

static int selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int unit_run(const char *suite, const struct unit_test *tests, size_t n, int argc, char **argv)
{
	static int depth; /* test_unit.c runs unit_run inside a test: only the outer run cleans up */
	int passed = 0, failed = 0, skipped = 0;
	char outer_skip[sizeof skip_reason]; /* the state of the test that called us, if nested */
	memcpy(outer_skip, skip_reason, sizeof outer_skip);
	depth++;
	for (size_t i = 0; i < n; i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		int before = unit_failed_checks;
		skip_reason[0] = 0;
		tests[i].fn();
		if (unit_failed_checks != before) {
			printf("  FAIL %s.%s\n", suite, tests[i].name);
			failed++;
		} else if (skip_reason[0]) {
			printf("  skip %s.%s (%s)\n", suite, tests[i].name, skip_reason);
			skipped++;
		} else {
			printf("  ok   %s.%s\n", suite, tests[i].name);
			passed++;
		}
		fflush(stdout);
	}
	memcpy(skip_reason, outer_skip, sizeof skip_reason);
	if (--depth == 0 && tmpdir[0]) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	printf("%s: %d passed, %d failed, %d skipped\n", suite, passed, failed, skipped);
	return failed ? 1 : !passed && skipped ? 77 : 0;
}

void unit_pattern_fill(unsigned char *buf, uint32_t n, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(n * 7 + i);
}

int unit_pattern_file(const char *path, uint64_t length, uint32_t piece_size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	int ok = 1;
	uint64_t i = 0;
	for (int c; (c = getc(f)) != EOF; i++)
		ok &= (unsigned char)c == (unsigned char)((i / piece_size) * 7 + i % piece_size);
	fclose(f);
	return ok && i == length;
}
