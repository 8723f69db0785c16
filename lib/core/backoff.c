/* SPDX-License-Identifier: Apache-2.0 */
/* Exponential backoff, jitter, and the restart policy. */
#include <stdlib.h>
#include <sysexits.h>

#include "backoff.h"

int64_t
backoff_ms(int failures, int64_t min_ms, int64_t max_ms)
{
	int64_t	 ms = min_ms;
	int	 i;

	for (i = 1; i < failures && ms < max_ms; i++)
		ms *= 2;
	return ms < max_ms ? ms : max_ms;
}

int64_t
backoff_jitter(int64_t ms)
{
	return (int64_t)((double)ms * (0.5 + (double)random() /
	    ((double)RAND_MAX + 1)));
}

int64_t
restart_delay(struct restart *r, double started_ms, double ended_ms)
{
	if (ended_ms - started_ms >= (double)r->stable_ms)
		r->failures = 0;
	r->failures++;
	return backoff_ms(r->failures, r->min_ms, r->max_ms);
}

int
restart_hopeless(int status)
{
	return status == EX_USAGE || status == EX_CONFIG;
}
