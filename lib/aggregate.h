/* SPDX-License-Identifier: Apache-2.0 */
/* The aggregation rules: scrape lines in, exact totals and events out. */
#ifndef PERISKOP_AGGREGATE_H
#define PERISKOP_AGGREGATE_H

#include <stddef.h>

#include "db.h"
#include "record.h"

struct agg_options {
	size_t	max_occurrences;	/* kept per key; default 100 */
};

/* Called after the commit that made the event true; rec is borrowed. */
typedef void (*agg_event_fn)(const struct event_rec *rec, void *arg);

/* The aggregator borrows db; fn may be NULL. */
struct aggregator	*aggregator_new(struct db *, const struct agg_options *,
			    agg_event_fn fn, void *arg);
void			 aggregator_free(struct aggregator *);

/*
 * Applies one record (targets, scrape, round; others are ignored) inside
 * the open transaction, opening one when none is; a round record commits
 * it.  Returns 0, or -1 with a message in err when the database failed
 * (the transaction is rolled back: nothing of it is stored, and the next
 * round is still exact because raw counts are stored with the totals).
 */
int	aggregator_apply(struct aggregator *, const struct record *,
	    char *err, size_t errlen);
/* Commits what is pending (end of input, SIGTERM).  0 or -1. */
int	aggregator_flush(struct aggregator *, char *err, size_t errlen);
/*
 * 1 while a transaction is open (it holds the database's write lock):
 * a caller waiting for input should flush after a short idle time.
 */
int	aggregator_pending(const struct aggregator *);

#endif
