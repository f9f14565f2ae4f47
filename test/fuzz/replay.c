/* Plain main() for every fuzz target: replays the files of its corpus directory (and each file
 * truncated at every length), so the ordinary build checks the parsers against the corpus in make test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A target whose every run is expensive (fuzz_sn_* build a supernode per input) may define this to
 * replay every Nth cut (and the whole file) instead of every one. */
extern const unsigned fuzz_replay_cut_step __attribute__((weak));

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	size_t step = &fuzz_replay_cut_step && fuzz_replay_cut_step ? fuzz_replay_cut_step : 1;
	for (size_t cut = 0; cut <= n; cut = cut < n && cut + step > n ? n : cut + step) {
		/* a fresh heap copy of exactly `cut` bytes, so ASan sees any read past the end */
		uint8_t *p = malloc(cut ? cut : 1);
		memcpy(p, buf, cut);
		LLVMFuzzerTestOneInput(p, cut);
		free(p);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0;
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		if (!d) {
			if (replay_file(argv[i]) == 0)
				files++;
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
			if (replay_file(path) == 0)
				files++;
		}
		closedir(d);
	}
	printf("replayed %d corpus files\n", files);
	return files > 0 ? 0 : 1;
}
