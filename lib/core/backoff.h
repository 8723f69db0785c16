/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Waits between tries, written once for every program: exponential with
 * a cap, optionally jittered; and periskop-run's restart policy on top.
 */
#ifndef PERISKOP_BACKOFF_H
#define PERISKOP_BACKOFF_H

#include <stdint.h>

/* min_ms doubled for each failure after the first, at most max_ms. */
int64_t	backoff_ms(int failures, int64_t min_ms, int64_t max_ms);
/* ms scaled by a factor drawn from [0.5, 1.5), so peers do not sync up. */
int64_t	backoff_jitter(int64_t ms);

/*
 * A supervised part: how long to wait before starting it again after
 * it ended.  A run of at least stable_ms starts the doubling over.
 */
struct restart {
	int64_t	min_ms, max_ms, stable_ms;
	int	failures;		/* quick ends in a row */
};

int64_t	restart_delay(struct restart *, double started_ms, double ended_ms);
/*
 * Whether a part's exit status says restarting cannot help: 64 (usage)
 * or 78 (configuration).  Everything is stopped instead.
 */
int	restart_hopeless(int status);

#endif
