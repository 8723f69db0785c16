/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The threshold rule for spikes: an error's occurrences within a sliding
 * window, counted in memory per service and key, and the moment the
 * count reaches the threshold.  Held in buckets (SPIKE_BUCKETS per
 * window), so the window is exact to a bucket's width.
 */
#ifndef PERISKOP_SPIKE_H
#define PERISKOP_SPIKE_H

#include <stdint.h>

#define SPIKE_BUCKETS	30

struct spike;

struct spike	*spike_new(uint64_t threshold, int64_t window_ms);
void		 spike_free(struct spike *);

/*
 * Adds n occurrences of the error at time at (ms).  Returns the count
 * in the window that ends at at; *crossed is 1 when this addition took
 * it from below the threshold to at least the threshold (so a spike
 * fires once, and again only after the count fell below it).
 */
uint64_t	 spike_add(struct spike *, const char *service, const char *key,
		    int64_t at, uint64_t n, int *crossed);

/*
 * Parses "N/DURATION" ("100/5m"): N >= 1, the duration at least
 * SPIKE_BUCKETS ms.  0, or -1 with err.
 */
int		 spike_parse(const char *s, uint64_t *threshold,
		    int64_t *window_ms, char *err, size_t errlen);

#endif
