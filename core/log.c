/* Logging for humans: levels, one-line user errors, timestamps for daemons.
 * Writes straight to stderr with one write() per line so lines of concurrent processes never interleave.
 *
 * Repeated warnings: a long-lived process must not fill its disk with one warning said per event
 * (a supernode once logged 5.2 million identical lines, 698 MB in 10 minutes). Each warning's call
 * site (its format string) may print REPEAT_BURST lines per window; further ones are counted and
 * said once, with the latest text, as "... (repeated N times in the last S s)" when the window has
 * passed (at that call site's next warning, at any later log line, or at exit). */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
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

void log_set_level(enum log_level lvl)
{
	level = lvl;
}
enum log_level log_get_level(void)
{
	return level;
}
void log_set_daemon(int on)
{
	daemon_mode = on;
}

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

#define REPEAT_BURST 5  /* lines one call site prints per window before counting */
#define REPEAT_SLOTS 64 /* call sites tracked at once; a collision reports the old one first */
#define REPEAT_TEXT 512 /* bytes of the latest suppressed text kept for the summary */

struct repeat {
	const char *fmt;          /* the call site; NULL for a free slot */
	double start;             /* monotonic seconds the window began */
	unsigned printed;         /* lines printed in this window */
	unsigned long suppressed; /* lines counted instead */
	char last[REPEAT_TEXT];   /* the latest suppressed line's text */
};

static struct repeat repeats[REPEAT_SLOTS];
static double repeat_window = 10.0;
static int repeat_exit_hooked;
static pthread_mutex_t repeat_mu = PTHREAD_MUTEX_INITIALIZER;

void log_set_repeat_window(double seconds)
{
	repeat_window = seconds;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void say(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *prefix, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(prefix, fmt, ap);
	va_end(ap);
}

static const char *warn_prefix(void)
{
	return daemon_mode ? "WARN  " : "df: warning: ";
}

/* Says slot r's count, if any, and starts its window again at now. Under repeat_mu. */
static void repeat_report(struct repeat *r, double now)
{
	if (r->suppressed)
		say(warn_prefix(), "%s (repeated %lu times in the last %.0f s)", r->last, r->suppressed,
		    now - r->start);
	r->start = now;
	r->printed = 0;
	r->suppressed = 0;
}

/* Reports every slot whose window has passed (or all of them, at exit). Under repeat_mu. */
static void repeat_sweep(double now, int all)
{
	for (int i = 0; i < REPEAT_SLOTS; i++)
		if (repeats[i].fmt && repeats[i].suppressed && (all || now - repeats[i].start >= repeat_window))
			repeat_report(&repeats[i], now);
}

void log_flush_repeats(void)
{
	pthread_mutex_lock(&repeat_mu);
	repeat_sweep(mono_now(), 1);
	pthread_mutex_unlock(&repeat_mu);
}

static void flush_at_exit(void)
{
	log_flush_repeats();
}

/* A fork while another thread (a hasher) holds the lock must not leave the child's copy locked. */
static void lock_mu(void)
{
	pthread_mutex_lock(&repeat_mu);
}
static void unlock_mu(void)
{
	pthread_mutex_unlock(&repeat_mu);
}
static void hook_fork(void)
{
	pthread_atfork(lock_mu, unlock_mu, unlock_mu);
}
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* 1 when this warning is printed, 0 when it is counted (its text kept for the summary). */
static int repeat_admit(const char *fmt, va_list ap)
{
	double now = mono_now();
	struct repeat *r = &repeats[((uintptr_t)fmt >> 3) % REPEAT_SLOTS];
	if (!repeat_exit_hooked) {
		repeat_exit_hooked = 1;
		atexit(flush_at_exit);
	}
	repeat_sweep(now, 0);
	if (r->fmt != fmt) {
		if (r->fmt)
			repeat_report(r, now);
		r->fmt = fmt;
		r->start = now;
		r->printed = 0;
	} else if (now - r->start >= repeat_window) {
		repeat_report(r, now);
	}
	if (r->printed < REPEAT_BURST) {
		r->printed++;
		return 1;
	}
	r->suppressed++;
	vsnprintf(r->last, sizeof r->last, fmt, ap);
	return 0;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const prefix_daemon[] = {"ERROR ", "WARN  ", "INFO  ", "DEBUG "};
	static const char *const prefix_user[] = {"df: error: ", "df: warning: ", "df: ", "df: debug: "};
	if (lvl > level)
		return;
	va_list ap;
	pthread_once(&fork_once, hook_fork);
	pthread_mutex_lock(&repeat_mu);
	if (lvl == LOG_WARN) {
		va_start(ap, fmt);
		int print = repeat_admit(fmt, ap);
		va_end(ap);
		if (!print) {
			pthread_mutex_unlock(&repeat_mu);
			return;
		}
	} else if (repeat_exit_hooked) {
		repeat_sweep(mono_now(), 0);
	}
	va_start(ap, fmt);
	emit(daemon_mode ? prefix_daemon[lvl] : prefix_user[lvl], fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&repeat_mu);
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
