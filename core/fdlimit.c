/* RLIMIT_NOFILE: raised once at start-up; read by the tables that keep files open. */
#include "core/fdlimit.h"

#include <sys/resource.h>

#define FD_LIMIT_CAP (1L << 20) /* "unlimited" counts as this: no table needs more */

long fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)FD_LIMIT_CAP)
		return FD_LIMIT_CAP;
	return (long)rl.rlim_cur;
}

long fd_limit_raise(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		/* Linux refuses an infinite NOFILE (it stops at fs.nr_open): ask for the cap instead */
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? (rlim_t)FD_LIMIT_CAP : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl); /* refused: the old soft limit stays, and fd_limit says so */
	}
	return fd_limit();
}

long fd_budget(int percent, long floor)
{
	long b = fd_limit() / 100 * percent;
	return b > floor ? b : floor;
}
