/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 timestamps: parsing any client's form, writing one normal form. */
#ifndef PERISKOP_TIMEFMT_H
#define PERISKOP_TIMEFMT_H

#include <stdint.h>

/* Times are int64_t milliseconds since the Unix epoch, UTC. */
#define TIME_NONE	INT64_MIN	/* "absent" */
#define TIME_BUFSZ	32

/*
 * Parses an RFC 3339 date-time: "2018-09-13T16:23:30Z",
 * "2018-09-13T16:23:30.630Z", nine fractional digits, a lowercase 't'/'z',
 * a ' ' instead of 'T', and offsets such as "+02:00" or "-0530".
 * Fractions below a millisecond are truncated.  Returns 0, or -1 when s
 * is not such a timestamp (field ranges are checked, leap days too).
 */
int	time_parse(const char *s, int64_t *ms);
/* Writes "2018-09-13T16:23:30.630Z" (always 3 fractional digits) into buf. */
char	*time_format(int64_t ms, char buf[TIME_BUFSZ]);
/* The current wall-clock time. */
int64_t	 time_now(void);
/* Monotonic clock in milliseconds, for durations and timers. */
double	 time_mono_ms(void);

#endif
