/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A target's count baselines as the store keeps them: one JSON array
 * per row, [["key", last_raw, accumulated, last_delta, updated], ...],
 * sorted by key, so that a round rewrites one row per target, not one
 * per target and key, and the engine's JSON functions still read it
 * (the view target_counts_view).
 */
#ifndef PERISKOP_PACKED_H
#define PERISKOP_PACKED_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct packed_count {
	const char	*key;		/* borrowed */
	int64_t		 last_raw;
	int64_t		 accumulated;
	int64_t		 last_delta;
	int64_t		 updated;	/* ms: the aggregator's clock */
};

/*
 * The entries read from rows: each row's document stays until
 * packed_reset, which the keys point into.
 */
struct packed {
	struct packed_count	*v;
	size_t			 n, cap;
	struct jdoc		**docs;
	size_t			 ndocs, capdocs;
};

/*
 * A row's bytes of JSON text holds at most about this many, so that a
 * statement of one row stays far below MySQL's 16 MB packet; an entry
 * longer than that is a row by itself.
 */
#define PACKED_ROW_BYTES	(1 << 20)

void	packed_init(struct packed *);
/* Forgets the entries and frees the documents; the arrays stay. */
void	packed_reset(struct packed *);
void	packed_release(struct packed *);
/*
 * Appends the entries of one row's text: -1 with a message saying at
 * which byte or element it is not such an array.
 */
int	packed_read(struct packed *, const char *text, size_t len, char *err,
	    size_t errlen);
/* The order of entries by key (strcmp), for qsort. */
int	packed_by_key(const void *, const void *);
/* Sorts the entries by key. */
void	packed_sort(struct packed *);
/* Writes v[0..n) as one row's array. */
void	packed_write(struct buf *, const struct packed_count *, size_t n);
/*
 * How many of v[at..n) the row from at takes: up to PACKED_ROW_BYTES of
 * text, and one at least.
 */
size_t	packed_row_take(const struct packed_count *, size_t at, size_t n);

#endif
