/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Statements of many rows, what the round's batched writes share
 * (store_batch.c, store_counts.c): a statement holds 512, 128, 32, 8, 2
 * or 1 rows, so a batch of any length is a few statements of six sizes,
 * each prepared once per connection.  A server spends far more per
 * statement than per row: MariaDB took 17 s for a round of 200,000
 * counts at 100 rows per statement and 10 s at 500.
 */
#ifndef PERISKOP_BATCH_H
#define PERISKOP_BATCH_H

#include <stddef.h>

#include "store.h"

#define BATCH_CLASSES	6
#define BATCH_MAX	512

/* The statements; b's of class c is prepared in Q_BATCH + b * 6 + c. */
enum batch { B_BASE_GET, B_BASE_PUT, B_BASE_NEW, B_HEALTH_GET,
	B_HEALTH_PUT, B_OCC_ADD, B_COUNT_ };
_Static_assert(Q_BATCH + B_COUNT_ * BATCH_CLASSES <= Q_COUNT_,
    "more batch statements than slots");

/* A statement in the store's notation: head, the rows by sep, tail. */
struct batch_shape {
	const char	*head, *row, *sep, *tail;
	int		 nvalues;	/* per row */
	int		 nhead;		/* before the rows' */
	int		 nsurrogate;	/* per row, where ids are hashed */
};

extern const size_t batch_rows[BATCH_CLASSES];

/*
 * Rows with their order by identity, so that they go to the engine
 * sorted and two writers take their row locks in one order.
 */
struct rows {
	const void	*v;
	int		 health;	/* struct db_health, or db_count_row */
	size_t		*idx;		/* the rows sorted by identity */
	size_t		 n;
};

void		 rows_sort(struct rows *);
/*
 * The class of the statement for the n rows from at: the largest that
 * the rows left fill, that the engine takes, and whose values fit in a
 * few MB (one row always goes).  bytes(arg, i) is row i's size.
 */
int		 batch_class(struct db *, size_t n, size_t at,
		    size_t (*bytes)(const void *, size_t), const void *arg);
/* Runs statement b of shape sh in class c with its values. */
struct sql_rows	*batch_run(struct db *, enum batch b,
		    const struct batch_shape *sh, int c,
		    const struct sql_value *, char *, size_t, const char *what);

#endif
