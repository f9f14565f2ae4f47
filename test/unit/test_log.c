/* Unit tests of core/log's repeated-warning counting: a flood from one call site prints a few lines
 * and one count per window, other call sites are unaffected, and the count is said at the flush. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "test/unit/unit.h"

static char captured[1 << 16];

/* Runs fn with stderr going to a file, then reads what it wrote into captured; returns its size. */
static long capture(void (*fn)(void))
{
	char path[512];
	snprintf(path, sizeof path, "%s/log.txt", unit_tmpdir());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	log_flush_repeats();
	dup2(saved, 2);
	close(saved);
	struct stat st;
	fstat(fd, &st);
	ssize_t n = pread(fd, captured, sizeof captured - 1, 0);
	captured[n > 0 ? n : 0] = 0;
	close(fd);
	return (long)st.st_size;
}

static int count(const char *needle)
{
	int n = 0;
	for (const char *p = captured; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void flood_fn(void)
{
	for (int i = 0; i < 100000; i++)
		log_warn("peer reports piece %d from super failed: peer answered 404", i);
}

static void flood(void)
{
	log_set_repeat_window(60);
	long size = capture(flood_fn);
	CHECK(size < 2000);
	CHECK_EQ(count("failed: peer answered 404\n"), 5);
	CHECK_EQ(count("(repeated 99995 times in the last"), 1);
	CHECK(strstr(captured, "piece 99999 from super failed: peer answered 404 (repeated") != NULL); /* the latest text */
}

static void windows_fn(void)
{
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 20; i++)
			log_warn("same warning %d", i);
		usleep(60000);
	}
}

static void windows(void)
{
	log_set_repeat_window(0.05);
	capture(windows_fn);
	/* each window: five lines, and the other fifteen counted once */
	CHECK_EQ(count("(repeated 15 times in the last"), 3);
	CHECK_EQ(count("same warning"), 3 * 5 + 3);
}

static void sites_fn(void)
{
	for (int i = 0; i < 10; i++) {
		log_warn("site a %d", i);
		log_warn("site b %d", i);
		log_error("an error %d", i);
	}
}

static void sites(void)
{
	log_set_repeat_window(60);
	capture(sites_fn);
	CHECK_EQ(count("site a"), 6);
	CHECK_EQ(count("site b"), 6);
	CHECK_EQ(count("(repeated 5 times"), 2);
	CHECK_EQ(count("an error"), 10); /* errors are not counted */
}

/* more call sites than the table has slots (64): colliding sites report their counts, none is lost */
static char site_fmts[200][32];

static void many_sites_fn(void)
{
	for (int i = 0; i < 200; i++)
		snprintf(site_fmts[i], sizeof site_fmts[i], "site %03d says %%d", i);
	for (int round = 0; round < 8; round++)
		for (int i = 0; i < 200; i++)
			log_msg(LOG_WARN, site_fmts[i], round);
}

static void many_sites(void)
{
	log_set_repeat_window(60);
	capture(many_sites_fn);
	/* every message is printed or counted: lines + counts == 1600 */
	long printed = 0, counted = 0;
	for (const char *p = captured; (p = strstr(p, "says ")); p++) {
		const char *eol = strchr(p, '\n');
		const char *rep = strstr(p, "(repeated ");
		if (rep && eol && rep < eol)
			counted += strtol(rep + 10, NULL, 10);
		else
			printed++;
	}
	CHECK_EQ(printed + counted, 1600);
	CHECK(strstr(captured, "site 199 says 7") != NULL || strstr(captured, "site 199 says 7 (repeated") != NULL);
}

static const struct unit_test tests[] = {
	{"flood", flood},
	{"windows", windows},
	{"sites", sites},
	{"many_sites", many_sites},
};
UNIT_MAIN("log", tests)
