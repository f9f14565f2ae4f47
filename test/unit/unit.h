/* The tiny unit-test runner every test/unit/test_*.c uses: a table of {name, fn} and checks
 * that record failures and go on. Its last line is "SUITE: N passed, N failed, N skipped". */
#ifndef DF_UNIT_H
#define DF_UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

extern int unit_failed_checks;

#define CHECK(c)                                                                                  \
	do {                                                                                      \
		if (!(c)) {                                                                       \
			unit_failed_checks++;                                                     \
			fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
		}                                                                                 \
	} while (0)
#define CHECK_EQ(a, b)                                                                                                \
	do {                                                                                                          \
		long long _a = (long long)(a), _b = (long long)(b);                                                   \
		if (_a != _b) {                                                                                       \
			unit_failed_checks++;                                                                         \
			fprintf(stderr, "    %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, _a, \
				_b);                                                                                  \
		}                                                                                                     \
	} while (0)
#define CHECK_STR(a, b)                                                                                         \
	do {                                                                                                    \
		const char *_a = (a), *_b = (b);                                                                \
		if (!_a || !_b || strcmp(_a, _b)) {                                                             \
			unit_failed_checks++;                                                                   \
			fprintf(stderr, "    %s:%d: %s == \"%s\" failed: got \"%s\"\n", __FILE__, __LINE__, #a, \
				_b ? _b : "(null)", _a ? _a : "(null)");                                        \
		}                                                                                               \
	} while (0)

/* Ends the current test as skipped (it could not run here: no IPv6, no privilege, ...), with the
 * reason printf-style. A skipped test is not counted as passed; a failed check before it still fails
 * the test. Use only inside a test function (it returns from it). */
#define UNIT_SKIP(...)                  \
	do {                            \
		unit_skip(__VA_ARGS__); \
		return;                 \
	} while (0)
void unit_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs every test (or those named in argv), prints one line each ("ok", "FAIL" or "skip" with the
 * reason) and the summary. Returns the exit code: 1 when a test failed, 77 when every test that ran
 * was skipped (test/run.sh reports SKIP), else 0. */
int unit_run(const char *suite, const struct unit_test *tests, size_t n, int argc, char **argv);

#define UNIT_MAIN(suite, table)                                                                \
	int main(int argc, char **argv)                                                        \
	{                                                                                      \
		return unit_run(suite, table, sizeof(table) / sizeof((table)[0]), argc, argv); \
	}

/* A fresh empty directory under $TMPDIR for this test binary; removed by unit_run at exit. */
const char *unit_tmpdir(void);

/* The path of a file of the test PKI (CAs, leaves, keys), made once per run under unit_tmpdir by
 * test/tools/tls_certs.sh (needs openssl; run from the repository root). The four most recent
 * results stay valid. */
const char *unit_pki(const char *name);

/* Test bytes for a file cut in pieces of piece_size: byte i of piece n is n * 7 + i (mod 256), so a
 * piece out of place or a shifted byte shows. unit_pattern_fill writes piece n's first len bytes to
 * buf; unit_pattern_file is 1 when the file at path is exactly length such bytes. */
void unit_pattern_fill(unsigned char *buf, uint32_t n, size_t len);
int unit_pattern_file(const char *path, uint64_t length, uint32_t piece_size);

#endif
