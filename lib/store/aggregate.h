/* SPDX-License-Identifier: Apache-2.0 */
/* The aggregation rules: scrape lines in, exact totals and events out. */
#ifndef PERISKOP_AGGREGATE_H
#define PERISKOP_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "record.h"

struct agg_options {
	size_t			max_occurrences;  /* kept per key; default 100 */
	/*
	 * What db_prune deletes, checked every prune_every_ms (0: every
	 * ten minutes) by aggregator_idle, or after a commit when input
	 * has not paused for twice that; all zero never prunes.
	 * Occurrences older than retention.occurrences_ms are not stored.
	 */
	struct db_retention	retention;
	int64_t			prune_every_ms;
	/*
	 * How long a transaction that failed for a transient reason (lost
	 * connection, deadlock) is retried, with backoff, from the records
	 * spooled for it; 0: 60 s.
	 */
	int64_t			retry_ms;
	/*
	 * Told of each failed attempt before the wait, so an outage shows in
	 * the log while it lasts rather than only when the retries run out;
	 * may be NULL.
	 */
	void			(*on_retry)(const char *err, int64_t wait_ms);
	/*
	 * The clock rows are stored and pruned by, in ms; NULL: time_now.
	 * The input's times are the scrapes', never this clock.
	 */
	int64_t			(*clock)(void);
	/*
	 * The spike rule: with a threshold, a spike is an error's count in
	 * the window reaching it (spike.h), checked after each commit;
	 * without, far more than its average per transaction.
	 */
	uint64_t		spike_threshold;
	int64_t			spike_window_ms;
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
 * Engines that can lose a transaction (PostgreSQL going away, deadlock
 * victims) replay it from a spool file first, for up to retry_ms.
 */
int	aggregator_apply(struct aggregator *, const struct record *,
	    char *err, size_t errlen);
/* The same, spooling line (the record's text) rather than re-writing it. */
int	aggregator_apply_line(struct aggregator *, const struct record *,
	    const char *line, size_t len, char *err, size_t errlen);
/* Commits what is pending (end of input, SIGTERM).  0 or -1. */
int	aggregator_flush(struct aggregator *, char *err, size_t errlen);
/*
 * Housekeeping, for a caller with nothing to apply (the input paused or
 * ended): retention's pruning, at most once every prune_every_ms, after
 * a commit.  Its failure is retried next time; nothing inside a
 * transaction.
 */
void	aggregator_idle(struct aggregator *);
/*
 * 1 while a transaction is open (it holds the database's write lock):
 * a caller waiting for input should flush after a short idle time.
 */
int	aggregator_pending(const struct aggregator *);

/* Without a threshold, a spike: delta >= AGG_SPIKE_MIN and > AGG_SPIKE_FACTOR x the average. */
#define AGG_SPIKE_MIN		10
#define AGG_SPIKE_FACTOR	10

#endif
