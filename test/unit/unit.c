/* The unit-test runner: runs a table of tests, counts failed checks per test, prints the summary.
 * Also owns a scratch directory so tests that touch disk clean up after themselves. */
#include "test/unit/unit.h"

#include <stdlib.h>
#include <unistd.h>

int unit_failed_checks;
static char tmpdir[256];

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
			fprintf(stderr, "test/tools/tls_certs.sh failed (run from the repository root; needs openssl)\n");
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
	int passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		int before = unit_failed_checks;
		tests[i].fn();
		int ok = unit_failed_checks == before;
		printf("  %s %s.%s\n", ok ? "ok  " : "FAIL", suite, tests[i].name);
		fflush(stdout);
		if (ok)
			passed++;
		else
			failed++;
	}
	if (tmpdir[0]) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	printf("%s: %d passed, %d failed\n", suite, passed, failed);
	return failed ? 1 : 0;
}
