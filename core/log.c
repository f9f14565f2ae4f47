/* Logging for humans: levels, one-line user errors, timestamps for daemons.
 * Writes straight to stderr with one write() per line so lines of concurrent processes never interleave. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Set once at start-up (before any loop runs); read-only afterwards. */
static enum log_level level = LOG_INFO;
static int daemon_mode;

static const char *const names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	return -1;
}

void log_set_level(enum log_level lvl) { level = lvl; }
enum log_level log_get_level(void) { return level; }
void log_set_daemon(int on) { daemon_mode = on; }

static void emit(const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];
	size_t n = 0;
	if (daemon_mode) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ ", ts.tv_nsec / 1000000);
	}
	int k = snprintf(line + n, sizeof line - n, "%s", prefix);
	if (k > 0)
		n += (size_t)k;
	if (n < sizeof line) {
		k = vsnprintf(line + n, sizeof line - n, fmt, ap);
		if (k > 0)
			n += (size_t)k;
	}
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	ssize_t w = write(2, line, n);
	(void)w;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const prefix_daemon[] = {"ERROR ", "WARN  ", "INFO  ", "DEBUG "};
	static const char *const prefix_user[] = {"df: error: ", "df: warning: ", "df: ", "df: debug: "};
	if (lvl > level)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit(daemon_mode ? prefix_daemon[lvl] : prefix_user[lvl], fmt, ap);
	va_end(ap);
}

void log_user_error(const char *what, const char *fmt, ...)
{
	char prefix[512];
	snprintf(prefix, sizeof prefix, "%sdf: %s: ", daemon_mode ? "ERROR " : "", what);
	va_list ap;
	va_start(ap, fmt);
	emit(prefix, fmt, ap);
	va_end(ap);
}
