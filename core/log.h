/* Logging for humans: levels, one-line user errors ("df: what: why"), timestamps for daemons.
 * The level and format are set once at start-up by main/opt; afterwards logging only reads them. */
#ifndef DF_LOG_H
#define DF_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Parses "error|warn|info|debug"; returns the level or -1. */
int log_level_parse(const char *s);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Daemons prefix every line with an ISO-8601 UTC timestamp and the level. */
void log_set_daemon(int on);

/* Warnings are counted per call site (format string): at most a few lines per window (10 s) each,
 * the rest said once as "... (repeated N times in the last S s)". log_set_repeat_window changes
 * the window (tests); log_flush_repeats says every pending count now (also run at exit). */
void log_set_repeat_window(double seconds);
void log_flush_repeats(void);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* The one shape of an error that reaches a user: "df: <what>: <why>" on stderr, one line,
 * printed whatever the level (even with -q). */
void log_user_error(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
