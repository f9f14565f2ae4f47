/* The clock every duration, deadline and expiry in df is measured on: seconds since an arbitrary
 * start on CLOCK_MONOTONIC, which never steps.
 *
 * Why not ev_now() or time(): both follow the wall clock, which steps when NTP corrects it, an admin
 * sets it or a VM resumes. A duration taken across a step is off by the whole step: stepped back an
 * hour, no stall, idle or expiry deadline fires for an hour; stepped forward, every one fires at
 * once (test/integration/clock_step.sh). The wall clock stays for what is shown or stored as a date
 * (log lines, file ages, last_gc_unix, token and certificate validity). */
#ifndef DF_MONOTIME_H
#define DF_MONOTIME_H

#include <time.h>

static inline double monotime_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
