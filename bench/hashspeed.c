/* tools/hashspeed: how fast df's digests run on this machine (MB/s of one core), so a benchmark
 * can tell how much of a download's time is hashing: xxh3-128 per piece, MD5 + SHA-256 per file.
 *
 * Hashes a buffer already in memory (no I/O), repeated until about --seconds of CPU have passed,
 * with the same functions df calls (core/digest.h). Prints one markdown row per digest, or with
 * --row one line "xxh128 MD5 SHA256 MD5+SHA256 SHA256-portable" in MB/s for scripts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/digest.h"

#define BUF_SIZE (4u << 20)

enum { H_XXH, H_MD5, H_SHA, H_FILE, H_SHA_SW, H_N };
static const char *const names[H_N] = {"xxh3-128 (per piece)", "MD5", "SHA-256 (SHA extensions when the CPU has them)",
				       "MD5 + SHA-256 (whole file)", "SHA-256, BearSSL's portable code"};

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes per CPU second of one digest over buf, for about `seconds` of CPU. */
static double measure(int kind, const uint8_t *buf, double seconds)
{
	struct digest_xxh128_ctx *x = malloc(sizeof *x); /* large and aligned: not on the stack */
	struct digest_file_ctx f;
	br_md5_context m;
	br_sha256_context s;
	uint8_t out[64];
	double bytes = 0, t0 = cpu_now(), t = t0;
	if (!x)
		return 0;
	while (t - t0 < seconds) {
		switch (kind) {
		case H_XXH:
			digest_xxh128_init(x);
			digest_xxh128_update(x, buf, BUF_SIZE);
			digest_xxh128_final(x, out);
			break;
		case H_MD5:
			br_md5_init(&m);
			br_md5_update(&m, buf, BUF_SIZE);
			br_md5_out(&m, out);
			break;
		case H_SHA:
		case H_SHA_SW:
			br_sha256_init(&s);
			digest_sha256_update(&s, buf, BUF_SIZE);
			br_sha256_out(&s, out);
			break;
		default:
			digest_file_init(&f);
			digest_file_update(&f, buf, BUF_SIZE);
			digest_file_final(&f, out, out + 16);
			break;
		}
		bytes += BUF_SIZE;
		t = cpu_now();
	}
	free(x);
	return bytes / (t - t0);
}

int main(int argc, char **argv)
{
	int row = 0;
	double seconds = 0.5;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--row") == 0) {
			row = 1;
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else {
			fprintf(stderr, "usage: hashspeed [--row] [--seconds CPU_SECONDS_EACH]\n");
			return 2;
		}
	}
	if (seconds <= 0)
		seconds = 0.5;
	uint8_t *buf = malloc(BUF_SIZE);
	if (!buf) {
		fprintf(stderr, "hashspeed: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < BUF_SIZE; i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	double mbs[H_N];
	for (int k = 0; k < H_N; k++) {
		int accel = digest_sha256_set_accel(k != H_SHA_SW);
		mbs[k] = measure(k, buf, seconds) / 1e6;
		digest_sha256_set_accel(accel);
	}
	free(buf);
	if (row) {
		printf("%.0f %.0f %.0f %.0f %.0f\n", mbs[H_XXH], mbs[H_MD5], mbs[H_SHA], mbs[H_FILE], mbs[H_SHA_SW]);
		return 0;
	}
	printf("| digest | MB/s (one core) | CPU s per GB |\n|---|---:|---:|\n");
	for (int k = 0; k < H_N; k++)
		printf("| %s | %.0f | %.2f |\n", names[k], mbs[k], mbs[k] > 0 ? 1e3 / mbs[k] : 0);
	return 0;
}
