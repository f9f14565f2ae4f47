/* The process's descriptor limit, and the share of it a long-lived table of open files may use.
 * Tables that keep files open (the piece server's task handles) size themselves from here instead
 * of a fixed count, so a host with a higher limit keeps more open and none refuses work when full. */
#ifndef DF_FDLIMIT_H
#define DF_FDLIMIT_H

/* Raises RLIMIT_NOFILE's soft limit to its hard limit where allowed (call once at start-up, before
 * any loop runs). Returns the soft limit in force afterwards (RLIM_INFINITY reads as 1<<20). */
long fd_limit_raise(void);
/* The soft RLIMIT_NOFILE now (as fd_limit_raise counts it). */
long fd_limit(void);
/* Descriptors a table may keep open: `percent` of the soft limit, at least `floor`. */
long fd_budget(int percent, long floor);

#endif
